/* msg.h - the field frame layer of the zpar wire codec: one message format
 * for every channel.  Signing and socket I/O are wire.h; the typed codec of
 * each message kind (a C struct <-> these fields) is proto_*.h, and code
 * outside src/common/proto_* uses those rather than the field functions
 * below (doc/protocol.md, "Codec layers").
 *
 * A zpar message on the wire (doc/protocol.md is the specification):
 *
 *   [routing frames...]  envelope added/removed by ROUTER sockets
 *   "ZPAR1"              delimiter and protocol version
 *   SIGNATURE            32 bytes, HMAC-SHA256(key, HEADER || BODY)
 *   HEADER               48 bytes, fixed layout, little-endian
 *   BODY                 a sequence of fields: u16 key, u32 length, bytes
 *
 * zpar_msg_t is a transparent internal struct: code inside zpar reads the
 * header fields directly and uses the typed getters for body fields, which
 * are bounds-checked against the decoded frame.  A received message owns a
 * copy of its body.
 *
 * Thread-safety: a zpar_msg_t and a zpar_signer_t belong to one thread.
 */
#ifndef ZPAR__MSG_H
#define ZPAR__MSG_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "zpar/error.h"

#define ZPAR_PROTO_DELIM   "ZPAR1"
#define ZPAR_PROTO_VERSION 1
#define ZPAR_SIG_LEN       32
#define ZPAR_HDR_LEN       48
#define ZPAR_KEY_LEN       32
#define ZPAR_MAX_ENVELOPE  4
#define ZPAR_MAX_IDENT     64
#define ZPAR_MAX_BODY      (256u * 1024 * 1024)
#define ZPAR_MAX_FIELDS    65536

typedef enum {
    ZPAR_MSG_NONE = 0,
    /* registrar (hub ROUTER) */
    ZPAR_MSG_REGISTER_ENGINE = 1,
    ZPAR_MSG_REGISTER_ENGINE_REPLY = 2,
    ZPAR_MSG_REGISTER_CLIENT = 3,
    ZPAR_MSG_REGISTER_CLIENT_REPLY = 4,
    ZPAR_MSG_UNREGISTER = 5,
    ZPAR_MSG_QUERY = 6,
    ZPAR_MSG_QUERY_REPLY = 7,
    /* shell: MUX and task queues */
    ZPAR_MSG_TASK = 10,
    ZPAR_MSG_RESULT = 11,
    /* several messages of one channel signed once (proto_batch.h) */
    ZPAR_MSG_BATCH = 12,
    /* control queue */
    ZPAR_MSG_ABORT = 20,
    ZPAR_MSG_INTERRUPT = 21,
    ZPAR_MSG_SHUTDOWN = 22,
    ZPAR_MSG_CONTROL_REPLY = 23,
    /* IOPub */
    ZPAR_MSG_STREAM = 30,
    ZPAR_MSG_TASK_STATUS = 31,
    /* notification PUB */
    ZPAR_MSG_NOTIFY = 40,
    ZPAR_MSG_TYPE_MAX = 41,
} zpar_msg_type_t;

/* Body field keys.  A key may repeat (lists: argv, env, after, targets). */
typedef enum {
    ZPAR_F_NONE = 0,
    /* task request */
    ZPAR_F_KIND = 1,         /* u64 zpar_task_kind_t */
    ZPAR_F_ARGV = 2,         /* str, repeated */
    ZPAR_F_ENV = 3,          /* str "NAME=VALUE", repeated */
    ZPAR_F_CWD = 4,          /* str */
    ZPAR_F_TIMEOUT_MS = 5,   /* u64, 0 = none */
    ZPAR_F_RETRIES = 6,      /* u64 */
    ZPAR_F_AFTER = 7,        /* u64 task id, repeated */
    ZPAR_F_TARGET = 8,       /* u64 engine id, repeated */
    ZPAR_F_PRIORITY = 9,     /* u64 (int64 two's complement) */
    ZPAR_F_LIB = 10,         /* str */
    ZPAR_F_SYMBOL = 11,      /* str */
    ZPAR_F_INPUT = 12,       /* bytes */
    ZPAR_F_INLINE = 13,      /* u64 bool */
    ZPAR_F_ATTEMPT = 14,     /* u64, 1-based attempt number */
    ZPAR_F_OUTPUT_CAP = 15,  /* u64 bytes of stdout/stderr kept in the result */
    ZPAR_F_ALL_ENGINES = 16, /* u64: task is part of a run on every engine */
    ZPAR_F_STOP_SIGNAL = 17, /* u64: the signal a timeout sends first (absent: SIGTERM) */
    ZPAR_F_STOP_GRACE = 18,  /* u64: then SIGKILL after this long (absent: 1000) */
    /* task result */
    ZPAR_F_STATUS = 20, /* u64 zpar_status_t */
    ZPAR_F_EXIT = 21,   /* u64 (int) exit status */
    ZPAR_F_SIGNAL = 22, /* u64 signal number */
    ZPAR_F_WALL_US = 23,
    ZPAR_F_UTIME_US = 24,
    ZPAR_F_STIME_US = 25,
    ZPAR_F_MAXRSS_KB = 26,
    ZPAR_F_HOST = 27,   /* str */
    ZPAR_F_STDOUT = 28, /* bytes */
    ZPAR_F_STDERR = 29, /* bytes */
    ZPAR_F_OUTPUT = 30, /* bytes (function task output) */
    ZPAR_F_ERROR = 31,  /* str */
    ZPAR_F_STARTED_US = 32,
    ZPAR_F_FINISHED_US = 33,
    ZPAR_F_PID = 34,
    ZPAR_F_TRUNCATED = 35, /* u64 bit 0: stdout, bit 1: stderr */
    ZPAR_F_SUBMITTED_US = 36,
    /* registration */
    ZPAR_F_ENGINE_ID = 40,
    ZPAR_F_CLIENT_ID = 41,
    ZPAR_F_RANK = 42,
    ZPAR_F_ADDR_MUX = 43,
    ZPAR_F_ADDR_TASK = 44,
    ZPAR_F_ADDR_CONTROL = 45,
    ZPAR_F_ADDR_IOPUB = 46,
    ZPAR_F_ADDR_HB_PING = 47,
    ZPAR_F_ADDR_HB_PONG = 48,
    ZPAR_F_ADDR_NOTIFY = 49,
    ZPAR_F_HB_PERIOD_MS = 50,
    ZPAR_F_HB_MISSES = 51,
    ZPAR_F_TASK_SCHEME = 52, /* str "leastload" | "pure" */
    ZPAR_F_STATE = 53,       /* str */
    ZPAR_F_ENGINE_UUID = 54, /* str */
    ZPAR_F_ROUTE = 55,       /* bytes: the engine's routing identity (route.h) */
    ZPAR_F_HELD = 56,        /* u64 task id, repeated: tasks an engine holds unfinished */
    ZPAR_F_DROP = 57,        /* u64 task id, repeated: tasks the engine must kill and forget */
    /* streams / status / notify */
    ZPAR_F_STREAM = 60, /* u64 1 = stdout, 2 = stderr */
    ZPAR_F_DATA = 61,   /* bytes */
    ZPAR_F_EVENT = 62,  /* str */
    ZPAR_F_OFFSET = 63, /* u64: where DATA starts in its stream */
    /* query */
    ZPAR_F_QUERY = 70,   /* str: "engines", "status", "result", "request", "purge", "shutdown",
                            "resubmit", "sync" */
    ZPAR_F_TASK_ID = 71, /* u64, repeated */
    ZPAR_F_COUNT = 72,   /* u64 */
    ZPAR_F_RECORD = 73,  /* bytes: an encoded sub-message (header+body), repeated */
    ZPAR_F_PENDING = 74,
    ZPAR_F_RUNNING = 75,
    ZPAR_F_COMPLETED = 76,
    ZPAR_F_FAILED = 77,
    ZPAR_F_DROPPED = 78,
    ZPAR_F_OUTSTANDING = 79,
    ZPAR_F_ERRNO = 80,
    ZPAR_F_DUPLICATES = 81, /* u64: duplicates dropped (status) */
    /* status, while the task records are not being saved */
    ZPAR_F_RECORDS_SINCE_US = 90, /* u64: wall clock of the first failed write */
    ZPAR_F_RECORDS_UNSAVED = 91,  /* u64: records waiting in memory */
    ZPAR_F_RECORDS_BYTES = 92,    /* u64: their memory */
    ZPAR_F_RECORDS_LIMIT = 93,    /* u64: the bound on that memory */
    ZPAR_F_RECORDS_REFUSING = 94, /* u64 bool: new tasks refused (bound reached) */
    ZPAR_F_RECORDS_ERROR = 95,    /* str: the last write failure */
    /* batch */
    ZPAR_F_ITEM = 100, /* bytes: HEADER || BODY of one message, repeated (proto_batch.h) */
    /* resources (doc/protocol.md "Resources"); task request: absent = default */
    ZPAR_F_CORES = 110,          /* u64: cores (default 1); registration: the engine's cores */
    ZPAR_F_GPUS = 111,           /* u64: GPUs (default 0) */
    ZPAR_F_MEMORY = 112,         /* u64: bytes (default 0: no limit) */
    ZPAR_F_RANKS = 113,          /* u64: MPI ranks (default 0: not MPI) */
    ZPAR_F_NODES = 114,          /* u64: nodes the ranks span (0: any) */
    ZPAR_F_RANKS_PER_NODE = 115, /* u64: ranks on each node (0: any) */
    ZPAR_F_SLOT = 116,           /* str, repeated, scheduler -> leader: "ENGINE_ID HOST CPUSET GPUS
                                    MEMBYTES", one per reserved engine, the leader first */
    /* registration: what the engine holds */
    ZPAR_F_CPUSET = 117,      /* str: hwloc list "0-3,8", "-" not bound */
    ZPAR_F_GPU_NAMES = 118,   /* str: "cuda:0,cuda:1", "-" none */
    ZPAR_F_MEM_SHARE = 119,   /* u64: bytes of its node's memory (0: unknown) */
    ZPAR_F_NODE_MEMORY = 120, /* u64: bytes of memory of its whole node (0: unknown) */
} zpar_field_t;

/* The channel a message is signed for, in bits 8-15 of header.flags
 * (bits 0-7: the attempt of a task).  A sender stamps the channel of the
 * socket it sends on (zpar__wire_send_chan) and the signature covers it;
 * a receiver that names its channel (zpar__wire_recv_chan,
 * zpar__frames_check_chan) drops a message signed for another, so a
 * message captured on one channel cannot be replayed on another.
 * ZPAR_CHAN_ANY: not stamped / not checked (the controller's inproc
 * pipes). */
typedef enum {
    ZPAR_CHAN_ANY = 0,
    ZPAR_CHAN_REGISTRAR = 1,
    ZPAR_CHAN_MUX = 2,
    ZPAR_CHAN_TASK = 3,
    ZPAR_CHAN_CONTROL = 4,
    ZPAR_CHAN_IOPUB = 5,
    ZPAR_CHAN_NOTIFY = 6,
    ZPAR_CHAN_MAX = 7,
} zpar_chan_t;

#define ZPAR_FLAGS_CHAN_SHIFT 8
#define ZPAR_FLAGS_CHAN_MASK  0xff00u

/* The fixed header, decoded. */
typedef struct {
    uint16_t version;
    uint16_t type; /* zpar_msg_type_t */
    uint32_t flags;
    uint64_t session; /* sender's random session id */
    uint64_t seq;     /* sender's per-session counter, from 1 */
    uint64_t task;    /* task id, 0 if none */
    uint64_t time_us; /* sender's wall clock, microseconds since epoch */
    uint32_t engine;  /* engine id (target or source), 0 if none */
    uint32_t client;  /* client number, 0 if none */
} zpar_hdr_t;

typedef struct {
    uint16_t key;
    uint32_t off;
    uint32_t len;
} zpar_fieldref_t;

typedef struct {
    size_t len;
    uint8_t data[ZPAR_MAX_IDENT];
} zpar_ident_t;

typedef struct zpar_msg {
    zpar_hdr_t hdr;
    int nenv; /* routing frames before the delimiter */
    zpar_ident_t env[ZPAR_MAX_ENVELOPE];
    uint8_t *body;
    size_t len;
    size_t cap;
    zpar_fieldref_t *fields;
    size_t nfields;
    size_t fcap;
} zpar_msg_t;

/* Create an empty message of the given type.  NULL with ENOMEM. */
zpar_msg_t *zpar__msg_create (zpar_msg_type_t type);

/* NULL-safe, keeps errno. */
void zpar__msg_destroy (zpar_msg_t *m);

/* Reset a message to empty (keeps its buffers) and set its type. */
void zpar__msg_reset (zpar_msg_t *m, zpar_msg_type_t type);

/* Append body fields.  0 on success, -1 with ENOMEM / EINVAL (too large). */
int zpar__msg_add_bytes (zpar_msg_t *m, zpar_field_t key, const void *data, size_t len);
int zpar__msg_add_str (zpar_msg_t *m, zpar_field_t key, const char *s);
int zpar__msg_add_u64 (zpar_msg_t *m, zpar_field_t key, uint64_t v);

/* Set the routing envelope (the first frames sent).  -1 EINVAL if too long. */
int zpar__msg_set_envelope (zpar_msg_t *m, int n, const zpar_ident_t *ids);
int zpar__msg_push_ident (zpar_msg_t *m, const void *id, size_t len);

/* Typed getters on the first (or idx-th) occurrence of key.
 * get_str returns a NUL-terminated copy owned by the caller (free()), or NULL
 * (ENOENT absent, EPROTO contains NUL, ENOMEM).  get_u64 returns 0/-1
 * (ENOENT, EPROTO if the length is not 8).  get_bytes returns a pointer into
 * the message (valid while it lives) and its length, NULL if absent.
 * count returns the number of occurrences. */
char *zpar__msg_get_str (const zpar_msg_t *m, zpar_field_t key);
char *zpar__msg_get_str_at (const zpar_msg_t *m, zpar_field_t key, size_t idx);
int zpar__msg_get_u64 (const zpar_msg_t *m, zpar_field_t key, uint64_t *v);
int zpar__msg_get_u64_at (const zpar_msg_t *m, zpar_field_t key, size_t idx, uint64_t *v);
uint64_t zpar__msg_u64_or (const zpar_msg_t *m, zpar_field_t key, uint64_t dflt);
const void *zpar__msg_get_bytes (const zpar_msg_t *m, zpar_field_t key, size_t *len);
const void *zpar__msg_get_bytes_at (const zpar_msg_t *m, zpar_field_t key, size_t idx, size_t *len);
size_t zpar__msg_count (const zpar_msg_t *m, zpar_field_t key);

/* Write m's body without the fields of key (in the same order) to out,
 * which has room for m->len bytes.  Returns the length written. */
size_t zpar__msg_body_without (const zpar_msg_t *m, zpar_field_t key, uint8_t *out);

/* Strictly decode a header frame and a body frame into m (reset first).
 * -1 with EPROTO and a reason in err on any malformation. */
int zpar__msg_decode (zpar_msg_t *m, const void *hdr, size_t hlen, const void *body, size_t blen,
                      zpar_error_t *err);

/* Encode the header of m into out (ZPAR_HDR_LEN bytes). */
void zpar__hdr_encode (const zpar_hdr_t *h, uint8_t out[ZPAR_HDR_LEN]);

/* Decode ZPAR_HDR_LEN bytes into *h, without checking anything. */
void zpar__hdr_decode (const uint8_t in[ZPAR_HDR_LEN], zpar_hdr_t *h);

/* Check that body (blen bytes) is a well-formed sequence of fields, at
 * most ZPAR_MAX_FIELDS of them, without copying it.  0 / -1 EPROTO (err). */
int zpar__msg_body_check (const void *body, size_t blen, zpar_error_t *err);

/* Serialize header+body into one malloc'd buffer (for storing records and
 * nesting in ZPAR_F_RECORD); decode it back with zpar__msg_unpack. */
int zpar__msg_pack (const zpar_msg_t *m, uint8_t **buf, size_t *len);
int zpar__msg_unpack (zpar_msg_t *m, const void *buf, size_t len, zpar_error_t *err);

/* Empty the body (fields) of m; keep its header and envelope. */
void zpar__msg_clear_body (zpar_msg_t *m);

/* The channel of a header's flags; flags with the channel replaced. */
static inline zpar_chan_t zpar__flags_chan (uint32_t flags)
{
    return (zpar_chan_t)((flags & ZPAR_FLAGS_CHAN_MASK) >> ZPAR_FLAGS_CHAN_SHIFT);
}

static inline uint32_t zpar__flags_with_chan (uint32_t flags, zpar_chan_t chan)
{
    return (flags & ~ZPAR_FLAGS_CHAN_MASK) |
           (((uint32_t)chan << ZPAR_FLAGS_CHAN_SHIFT) & ZPAR_FLAGS_CHAN_MASK);
}

/* "registrar", "mux", "task", "control", "iopub", "notify", "any". */
const char *zpar__chan_name (zpar_chan_t chan);

const char *zpar__msg_type_name (int type);
/* 1 when type is a message type of this protocol, else 0. */
int zpar__msg_type_known (int type);
/* The lower-case name of a field key ("argv", "host"...), "unknown". */
const char *zpar__msg_field_name (int key);

#endif
