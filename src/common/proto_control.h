/* proto_control.h - typed codec of the control messages (doc/protocol.md,
 * "Control", "Work stealing"): ABORT, INTERRUPT, SHUTDOWN (header only) and
 * CONTROL_REPLY.  The encode/decode/ownership contract is in
 * proto_common.h.
 */
#ifndef ZPAR__PROTO_CONTROL_H
#define ZPAR__PROTO_CONTROL_H

#include "proto_common.h"

/* The three requests, numbered as their message types. */
typedef enum {
    ZPAR_CONTROL_ABORT = ZPAR_MSG_ABORT,         /* h.task: the task to abort / take back */
    ZPAR_CONTROL_INTERRUPT = ZPAR_MSG_INTERRUPT, /* h.engine: interrupt its running task */
    ZPAR_CONTROL_SHUTDOWN = ZPAR_MSG_SHUTDOWN,   /* h.engine: stop */
} zpar_control_op_t;

typedef struct {
    zpar_proto_hdr_t h;
    zpar_control_op_t op; /* the message type */
    /* TASK_ID, INTERRUPT only: stop this task (= h.task) if it is the one
     * the engine runs, as its timeout would (its stop signal, SIGKILL after
     * its stop grace), and nothing else; 0: not sent (the running task,
     * whichever it is, gets SIGINT) */
    uint64_t only_task;
} zpar_proto_control_t;

typedef struct {
    zpar_proto_hdr_t h;   /* h.task, h.client of the request; h.engine = who answers */
    uint64_t count;       /* COUNT: 1 if something was done (absent decodes as 0) */
    zpar_eid_t engine;    /* ENGINE_ID: the engine running the task, 0: not sent */
    int errnum;           /* ERRNO, 0: not sent */
    const char *error;    /* ERROR, NULL: not sent */
    zpar_proto_mem_t mem; /* private */
} zpar_proto_control_reply_t;

/* Decode accepts any of the three request types; only_task is encoded for
 * INTERRUPT only (EINVAL for another type). */
int zpar__proto_control_encode (zpar_msg_t *m, const zpar_proto_control_t *c);
int zpar__proto_control_decode (const zpar_msg_t *m, zpar_proto_control_t *c, zpar_error_t *err);

int zpar__proto_control_reply_encode (zpar_msg_t *m, const zpar_proto_control_reply_t *r);
int zpar__proto_control_reply_decode (const zpar_msg_t *m, zpar_proto_control_reply_t *r,
                                      zpar_error_t *err);
/* NULL-safe, keeps errno. */
void zpar__proto_control_reply_clear (zpar_proto_control_reply_t *r);

#endif
