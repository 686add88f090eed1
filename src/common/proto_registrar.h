/* proto_registrar.h - typed codecs of the registrar's messages
 * (doc/protocol.md, "Registration", "Queries"): REGISTER_ENGINE(_REPLY),
 * REGISTER_CLIENT(_REPLY), UNREGISTER, QUERY(_REPLY).  Names on the wire
 * (task scheme, query, engine and task states) are enums here.  The
 * encode/decode/ownership contract is in proto_common.h.
 */
#ifndef ZPAR__PROTO_REGISTRAR_H
#define ZPAR__PROTO_REGISTRAR_H

#include "proto_common.h"
#include "route.h"

/* TASK_SCHEME */
typedef enum {
    ZPAR_SCHEME_NONE = 0, /* absent */
    ZPAR_SCHEME_LEASTLOAD = 1,
    ZPAR_SCHEME_PURE = 2,
} zpar_task_scheme_t;

/* The addresses a registration reply hands out (ADDR_* fields). */
typedef enum {
    ZPAR_ADDR_MUX = 0,
    ZPAR_ADDR_TASK,
    ZPAR_ADDR_CONTROL,
    ZPAR_ADDR_IOPUB,
    ZPAR_ADDR_HB_PING, /* engines only */
    ZPAR_ADDR_HB_PONG, /* engines only */
    ZPAR_ADDR_NOTIFY,  /* clients only */
    ZPAR_ADDR_COUNT,
} zpar_addr_kind_t;

/* STATE of an engine record */
typedef enum {
    ZPAR_ENGINE_STATE_NONE = 0, /* absent */
    ZPAR_ENGINE_IDLE = 1,
    ZPAR_ENGINE_BUSY = 2,
    ZPAR_ENGINE_DEAD = 3,
} zpar_engine_state_t;

/* STATE of a task in a result query reply */
typedef enum {
    ZPAR_TASK_STATE_NONE = 0, /* absent */
    ZPAR_TASK_STATE_PENDING = 1,
    ZPAR_TASK_STATE_RUNNING = 2,
    ZPAR_TASK_STATE_DONE = 3,
} zpar_task_state_t;

/* QUERY */
typedef enum {
    ZPAR_QUERY_NONE = 0, /* absent (an error reply) */
    ZPAR_QUERY_ENGINES = 1,
    ZPAR_QUERY_STATUS = 2,
    ZPAR_QUERY_RESULT = 3,
    ZPAR_QUERY_REQUEST = 4,
    ZPAR_QUERY_PURGE = 5,
    ZPAR_QUERY_SHUTDOWN = 6,
    ZPAR_QUERY_RESUBMIT = 7, /* a task the client submitted again after a restart */
    ZPAR_QUERY_SYNC = 8,     /* are these tasks durable (committed to the records)? */
} zpar_query_kind_t;

/* Wire names of the enums ("leastload", "idle", "engines"...); NULL when
 * out of range.  name -> value: 0 / -1 EINVAL when unknown. */
const char *zpar__scheme_name (zpar_task_scheme_t s);
int zpar__scheme_parse (const char *name, zpar_task_scheme_t *s);
const char *zpar__engine_state_name (zpar_engine_state_t s);
const char *zpar__task_state_name (zpar_task_state_t s);
const char *zpar__query_name (zpar_query_kind_t q);

/* REGISTER_ENGINE: h.engine = the id held before, 0 the first time.
 * held: the tasks the engine holds and has not finished (running or queued
 * on it), one HELD field each; absent = none (what an older engine sends).
 * A task id 0 in HELD is malformed. */
typedef struct {
    zpar_proto_hdr_t h;
    const char *host;       /* HOST, NULL: not sent */
    uint64_t pid;           /* PID */
    int rank;               /* RANK, -1: none (2^64-1 on the wire; absent decodes as -1) */
    zpar_eid_t want;        /* ENGINE_ID wanted, 0: any */
    const char *uuid;       /* ENGINE_UUID, NULL: not sent */
    const zpar_tid_t *held; /* HELD, nheld ids (decode: owned by the struct) */
    size_t nheld;
    zpar_proto_mem_t mem;
    /* What the engine holds (doc/protocol.md "Resources"); absent: 1 core,
     * not bound, no GPU, memory unknown.  CORES (0: not sent;
     * ..ZPAR_RES_MAX_CORES), CPUSET and GPU_NAMES (NULL: not sent; the
     * syntax of zpar__proto_cpuset_ok / zpar__proto_gpus_ok, else
     * malformed), MEM_SHARE bytes (0: not sent), NODE_MEMORY bytes of its
     * whole node (0: not sent). */
    uint64_t cores;
    const char *cpuset;
    const char *gpu_names;
    uint64_t mem_share;
    uint64_t node_mem;
} zpar_proto_reg_engine_t;

/* REGISTER_ENGINE_REPLY: h.engine = the assigned id.  Accepted (h.engine
 * != 0): addr[MUX..HB_PONG] required, route (ROUTE, required: the routing
 * identity the engine uses on its queue and heartbeat sockets, naming
 * h.engine), scheme, hb_period_ms, hb_misses (0: not sent), drop (DROP,
 * one field per id: held tasks the engine must kill and forget without a
 * result; absent = none; every held task not in drop is adopted).  Refused
 * (h.engine == 0): error, errnum (drop is not sent).  A task id 0 in DROP
 * is malformed. */
typedef struct {
    zpar_proto_hdr_t h;
    zpar_route_t route;
    const char *addr[ZPAR_ADDR_COUNT];
    uint64_t hb_period_ms;
    uint64_t hb_misses;
    zpar_task_scheme_t scheme;
    const zpar_tid_t *drop; /* DROP, ndrop ids (decode: owned by the struct) */
    size_t ndrop;
    int errnum;        /* ERRNO, 0: not sent */
    const char *error; /* ERROR, NULL: not sent */
    zpar_proto_mem_t mem;
} zpar_proto_reg_engine_reply_t;

/* REGISTER_CLIENT and UNREGISTER (h.engine) carry only a header. */
typedef struct {
    zpar_proto_hdr_t h;
} zpar_proto_reg_client_t;

typedef struct {
    zpar_proto_hdr_t h;
} zpar_proto_unregister_t;

/* REGISTER_CLIENT_REPLY: accepted (no error, no errnum): id (CLIENT_ID,
 * also in h.client) and addr[MUX..IOPUB] and addr[NOTIFY] required, scheme.
 * Refused: error, errnum. */
typedef struct {
    zpar_proto_hdr_t h;
    zpar_cid_t id;
    const char *addr[ZPAR_ADDR_COUNT];
    zpar_task_scheme_t scheme;
    int errnum;
    const char *error;
    zpar_proto_mem_t mem;
} zpar_proto_reg_client_reply_t;

/* QUERY: h.task is the correlation id echoed by the reply.
 *   RESUBMIT  task (TASK_ID) and record (RECORD: the packed task request,
 *             header + body, whose header names the same task), both
 *             required
 *   SYNC      ids (TASK_ID, one field per id, at least one, none 0);
 *             task is the first of them after decoding
 *   others    task (TASK_ID, 0: not sent)
 * Decode borrows record from m and does not fill ids (no allocation): read
 * them with zpar__proto_query_ids. */
typedef struct {
    zpar_proto_hdr_t h;
    zpar_query_kind_t kind; /* QUERY, required */
    zpar_tid_t task;        /* TASK_ID, 0: not sent */
    const zpar_tid_t *ids;  /* SYNC (encode): nids task ids */
    size_t nids;
    const void *record; /* RESUBMIT: the packed request */
    size_t record_len;
} zpar_proto_query_t;

/* One engine of an "engines" reply (a RECORD holding a packed NOTIFY
 * message with these fields and header.engine = id). */
typedef struct {
    zpar_eid_t id;             /* ENGINE_ID */
    const char *host;          /* HOST, NULL: absent */
    uint64_t pid;              /* PID */
    int rank;                  /* RANK, -1 none */
    zpar_engine_state_t state; /* STATE */
    uint64_t outstanding;      /* OUTSTANDING */
} zpar_proto_engine_info_t;

/* QUERY_REPLY.  What is sent depends on kind:
 *   ENGINES   one RECORD per engines[i]
 *   STATUS    pending, running, completed, failed, dropped, duplicates; and
 *             while the task records are not being saved (records_since_us
 *             != 0): records_since_us, _unsaved, _bytes, _limit, _refusing
 *             and records_error
 *   RESULT    TASK_ID, STATE (when not NONE), RECORD = packed result (when set)
 *   REQUEST   TASK_ID, RECORD = packed task request (when set)
 *   PURGE     COUNT
 *   SHUTDOWN  nothing
 *   RESUBMIT  TASK_ID, COUNT (1: queued now, 0: the task was known),
 *             STATE (when known: its state)
 *   SYNC      COUNT (how many of the ids asked about are durable: live or
 *             recorded, and committed), one TASK_ID per id the controller
 *             does not know (ids, nids; owned by r): the client submits
 *             those again
 * and, for any kind (also NONE), ERRNO and ERROR when set.  Decode fills
 * every field present; engines (owned by r) only for ENGINES, record
 * (borrowed from m) for the other kinds. */
typedef struct {
    zpar_proto_hdr_t h;
    zpar_query_kind_t kind;
    int errnum;
    const char *error;
    uint64_t pending, running, completed, failed, dropped;
    uint64_t duplicates;       /* DUPLICATES (status): results and submissions dropped because
                                  their task had one already, held tasks engines dropped */
    uint64_t records_since_us; /* 0: the records are saved (the others then absent) */
    uint64_t records_unsaved, records_bytes, records_limit, records_refusing;
    const char *records_error;
    zpar_tid_t task;
    zpar_task_state_t state;
    const void *record;
    size_t record_len;
    uint64_t count;
    const zpar_proto_engine_info_t *engines;
    size_t nengines;
    const zpar_tid_t *ids; /* SYNC: the unknown ids */
    size_t nids;
    zpar_proto_mem_t mem;
} zpar_proto_query_reply_t;

int zpar__proto_reg_engine_encode (zpar_msg_t *m, const zpar_proto_reg_engine_t *r);
int zpar__proto_reg_engine_decode (const zpar_msg_t *m, zpar_proto_reg_engine_t *r,
                                   zpar_error_t *err);
void zpar__proto_reg_engine_clear (zpar_proto_reg_engine_t *r);

int zpar__proto_reg_engine_reply_encode (zpar_msg_t *m, const zpar_proto_reg_engine_reply_t *r);
int zpar__proto_reg_engine_reply_decode (const zpar_msg_t *m, zpar_proto_reg_engine_reply_t *r,
                                         zpar_error_t *err);
void zpar__proto_reg_engine_reply_clear (zpar_proto_reg_engine_reply_t *r);

int zpar__proto_reg_client_encode (zpar_msg_t *m, const zpar_proto_reg_client_t *r);
int zpar__proto_reg_client_decode (const zpar_msg_t *m, zpar_proto_reg_client_t *r,
                                   zpar_error_t *err);

int zpar__proto_reg_client_reply_encode (zpar_msg_t *m, const zpar_proto_reg_client_reply_t *r);
int zpar__proto_reg_client_reply_decode (const zpar_msg_t *m, zpar_proto_reg_client_reply_t *r,
                                         zpar_error_t *err);
void zpar__proto_reg_client_reply_clear (zpar_proto_reg_client_reply_t *r);

int zpar__proto_unregister_encode (zpar_msg_t *m, const zpar_proto_unregister_t *u);
int zpar__proto_unregister_decode (const zpar_msg_t *m, zpar_proto_unregister_t *u,
                                   zpar_error_t *err);

int zpar__proto_query_encode (zpar_msg_t *m, const zpar_proto_query_t *q);
int zpar__proto_query_decode (const zpar_msg_t *m, zpar_proto_query_t *q, zpar_error_t *err);
/* The task ids of a decoded SYNC query m (every TASK_ID field), as an
 * array allocated in mem (the caller frees mem with zpar__proto_mem_free).
 * 0 / -1 EPROTO (none, or an id 0), ENOMEM. */
int zpar__proto_query_ids (const zpar_msg_t *m, zpar_proto_mem_t *mem, const zpar_tid_t **ids,
                           size_t *nids, zpar_error_t *err);
/* For the error reply to a query that failed to decode: 1 if it names a
 * query at all (an unknown one), 0 if it names none. */
int zpar__proto_query_named (const zpar_msg_t *m);

int zpar__proto_query_reply_encode (zpar_msg_t *m, const zpar_proto_query_reply_t *r);
int zpar__proto_query_reply_decode (const zpar_msg_t *m, zpar_proto_query_reply_t *r,
                                    zpar_error_t *err);
void zpar__proto_query_reply_clear (zpar_proto_query_reply_t *r);

#endif
