/* proto_pipe.h - the hub <-> scheduler pipes, as typed messages (internal).
 *
 * The controller's hub and its schedulers are threads of one process that
 * talk over inproc PAIR sockets.  Two kinds of pipe:
 *
 * The task scheduler pipe (the scheduler binds, the hub connects):
 *
 *   hub -> sched  ["up",    engine u32, route]        ZPAR_PIPE_UP
 *                 ["up",    engine u32, route, list]  ZPAR_PIPE_UP, adopting
 *                 ["adopt", engine u32, list]         ZPAR_PIPE_ADOPT
 *                 ["down",  engine u32]               ZPAR_PIPE_DOWN
 *                 ["done",  task u64, ok u8]          ZPAR_PIPE_DONE (ok: 1 yes, 2 no)
 *                 ["req",   request]                  ZPAR_PIPE_REQUEUE
 *                 ["$TERM"]                           ZPAR_PIPE_TERM
 *                 ["rec",   count u64]                ZPAR_PIPE_RECORDED
 *                 ["res",   engine u32, cores u32, slot, node_mem u64] ZPAR_PIPE_RES
 *   sched -> hub  ["dep?",  task u64]                 ZPAR_PIPE_DEP_QUERY
 *
 *   "up": an engine registered, with the routing identity it was given
 *   (route.h, packed: ZPAR_ROUTE_LEN bytes naming the engine, followed by
 *   the relay id when it is behind a relay); "down": it died or unregistered; "done": a
 *   task finished outside the scheduler (direct task, or an outcome the
 *   scheduler asked about); "req": a load-balanced task an earlier
 *   controller recorded but never finished, as stored (header + body, see
 *   zpar__msg_pack), to be queued again; "$TERM": stop; "dep?": has this
 *   task (a dependency) finished?  The hub answers with "done" if its
 *   records say so, and says nothing otherwise.  "rec": how many of the
 *   task scheduler's monitor items (task_in, task_run, task_out) the hub
 *   has taken in so far (sent every ZPAR_PIPE_RECORDED_EVERY items; the
 *   scheduler stops reading results while the hub is far behind, so the
 *   records waiting for the hub stay bounded).
 *
 *   "res": what an engine that registers holds, sent just before its
 *   "up": its core count (at least 1) and its SLOT string (proto_task.h:
 *   "ENGINE_ID HOST CPUSET GPUS MEMBYTES", naming the engine).
 *
 *   Adoption (an engine that registers again reports the tasks it holds;
 *   doc/protocol.md "Controller restart"): "list" is a sequence of
 *   entries [task u64, len u32, request (len bytes)]: each task is running
 *   on the engine and the scheduler counts it outstanding there, with its
 *   recorded request (header + body) when the scheduler may not have it
 *   (len 0: it has it).  "up" with a list: the engine came up holding
 *   them (one message, so nothing is dispatched in between); "adopt": an
 *   engine that is up already.  Read a list with zpar__pipe_adopt_next.
 *
 * The relay inject pipes (each direct scheduler binds one, the hub
 * connects): [engine identity, wire message frames...] is forwarded to
 * that engine as it is; ["$ROUTE", route] tells the relay the routing
 * identity of the engine it names (clients name engines "e<id>"; the
 * relay routes to the identity the hub gave); ["$TERM"] stops the relay.
 *
 * Integers are in host byte order: the pipes never leave the process.
 * Decoding is strict: a wrong command, frame count or frame size is
 * malformed (-1 EPROTO with a reason).
 */
#ifndef ZPAR__PROTO_PIPE_H
#define ZPAR__PROTO_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include "route.h"
#include "wire.h"
#include "zpar/error.h"

typedef enum {
    ZPAR_PIPE_NONE = 0,
    ZPAR_PIPE_UP = 1,        /* engine */
    ZPAR_PIPE_DOWN = 2,      /* engine */
    ZPAR_PIPE_DONE = 3,      /* task, ok */
    ZPAR_PIPE_REQUEUE = 4,   /* data, len */
    ZPAR_PIPE_TERM = 5,      /* - */
    ZPAR_PIPE_DEP_QUERY = 6, /* task */
    ZPAR_PIPE_ADOPT = 7,     /* engine, adopt list */
    ZPAR_PIPE_RECORDED = 8,  /* task: the count */
    ZPAR_PIPE_RES = 9,       /* engine, cores, data/len: its SLOT string */
    ZPAR_PIPE_KIND_MAX = 10,
} zpar_pipe_kind_t;

typedef struct {
    zpar_pipe_kind_t kind;
    uint32_t engine;    /* UP, DOWN */
    zpar_route_t route; /* UP: the engine's routing identity (naming engine) */
    uint64_t task;      /* DONE, DEP_QUERY; RECORDED: the count */
    int ok;             /* DONE: 1 the task succeeded, 0 it did not */
    const void *data;   /* REQUEUE: the recorded request (borrowed; see decode) */
    size_t len;         /* REQUEUE: its length, at least ZPAR_HDR_LEN */
    const void *adopt;  /* UP (optional), ADOPT (required): the adopt list (borrowed) */
    size_t adopt_len;   /* its length (0: none) */
    uint32_t cores;     /* RES: at least 1 (data, len: the SLOT string, not NUL-terminated) */
    uint64_t node_mem;  /* RES: bytes of the engine's whole node, 0: unknown */
} zpar_pipe_msg_t;

/* The command word of a kind ("up", "$TERM"...), "?" for an unknown one. */
const char *zpar__pipe_kind_name (zpar_pipe_kind_t kind);

/* Encode m into fresh frames f (f->delim = -1; the caller closes f or
 * sends it with zpar__frames_send).  -1 with EINVAL (NULL, unknown kind,
 * REQUEUE shorter than a header) or ENOMEM; f is then empty. */
int zpar__pipe_encode (const zpar_pipe_msg_t *m, zpar_frames_t *f);

/* Decode frames f into m.  m->data points into f: valid while f is open.
 * -1 with EPROTO and the reason in err (if non-NULL) when f is not a
 * well-formed pipe message; EINVAL for NULL arguments. */
int zpar__pipe_decode (const zpar_frames_t *f, zpar_pipe_msg_t *m, zpar_error_t *err);

/* Encode and send m on sock (flags: 0 or ZMQ_DONTWAIT).  0 / -1 errno. */
int zpar__pipe_send (void *sock, const zpar_pipe_msg_t *m, int flags);

/* Shorthands for the hub and the schedulers. */
int zpar__pipe_send_up (void *sock, const zpar_route_t *route, int flags);
int zpar__pipe_send_down (void *sock, uint32_t engine, int flags);
int zpar__pipe_send_done (void *sock, uint64_t task, int ok, int flags);
int zpar__pipe_send_requeue (void *sock, const void *req, size_t len, int flags);
int zpar__pipe_send_term (void *sock, int flags);
int zpar__pipe_send_dep_query (void *sock, uint64_t task, int flags);
int zpar__pipe_send_recorded (void *sock, uint64_t count, int flags);
/* slot: a SLOT string naming engine (EINVAL otherwise, or cores 0);
 * node_mem: the bytes of its whole node (0: unknown). */
int zpar__pipe_send_res (void *sock, uint32_t engine, unsigned cores, const char *slot,
                         uint64_t node_mem, int flags);

/* The hub says "rec" after this many more monitor items. */
#define ZPAR_PIPE_RECORDED_EVERY 1024u

/* Append the entry (task, request) to the adopt list *buf of *len bytes
 * (realloc'd; start with NULL, 0; the caller frees it).  req may be NULL
 * when reqlen is 0; else reqlen is at least ZPAR_HDR_LEN.  0 / -1 EINVAL,
 * ENOMEM (*buf unchanged). */
int zpar__pipe_adopt_add (uint8_t **buf, size_t *len, uint64_t task, const void *req,
                          size_t reqlen);
/* The entry of m's adopt list at *pos (start at 0; advanced): 1 with
 * *task, *req (NULL when reqlen is 0; points into the message) and
 * *reqlen set, 0 at the end, -1 EPROTO (a malformed list; decode has
 * checked it already). */
int zpar__pipe_adopt_next (const zpar_pipe_msg_t *m, size_t *pos, uint64_t *task, const void **req,
                           size_t *reqlen);
/* Send "up" with an adopt list (list NULL / 0: plain "up"), or "adopt". */
int zpar__pipe_send_up_adopt (void *sock, const zpar_route_t *route, const void *list, size_t len,
                              int flags);
int zpar__pipe_send_adopt (void *sock, uint32_t engine, const void *list, size_t len, int flags);

/* Receive one message from sock into f and decode it into m (m->data
 * points into f; close f when done, also after an error).  -1 with EAGAIN
 * when nothing is ready (ZMQ_DONTWAIT), EPROTO (malformed, err says why;
 * the message was consumed). */
int zpar__pipe_recv (void *sock, zpar_frames_t *f, zpar_pipe_msg_t *m, int flags,
                     zpar_error_t *err);

/* The frames of the task request a REQUEUE message carries, as if a
 * client with the routing identity "hub" had sent it: ["hub", "ZPAR1",
 * zero signature, header, body] (f->delim = 1).  The signature is not
 * valid: check the result with zpar__frames_check (NULL, ...), which also
 * decodes the header.  -1 with EINVAL (NULL, shorter than a header) or
 * ENOMEM; f is then empty. */
int zpar__pipe_requeue_frames (const zpar_pipe_msg_t *m, zpar_frames_t *f);

/* Relay inject pipe: 1 if f is the stop command ["$TERM"], 0 if it is a
 * message to forward to an engine ([identity, frames...], two frames or
 * more), -1 EPROTO if it is neither. */
int zpar__pipe_inject_is_term (const zpar_frames_t *f);

/* Relay inject pipe: send ["$ROUTE", route]; 0 / -1 errno. */
int zpar__pipe_send_route (void *sock, const zpar_route_t *route, int flags);
/* 1 if f is a ["$ROUTE", route] command (route filled), 0 if it is not,
 * -1 EPROTO if it is one but malformed. */
int zpar__pipe_inject_route (const zpar_frames_t *f, zpar_route_t *route);

#endif
