/* proto_result.h - typed codec of the RESULT message (doc/protocol.md,
 * "Tasks"), and the one helper that builds the result zpar itself makes for
 * a task that could not run (engine not connected, engine died, dependency
 * failed, aborted while queued...).  The encode/decode/ownership contract
 * is in proto_common.h.
 *
 * Header: h.task and h.client of the task, h.engine = the engine that ran
 * it (or would have), h.flags copied from the task.
 */
#ifndef ZPAR__PROTO_RESULT_H
#define ZPAR__PROTO_RESULT_H

#include "proto_common.h"
#include "zpar.h"

typedef struct {
    zpar_proto_hdr_t h;
    zpar_status_t status; /* STATUS, required, OK..DEPENDENCY */
    int exit_code;        /* EXIT, -1 = none (2^64-1 on the wire; absent decodes as -1) */
    /* ran: the engine ran the task, so these are sent (all of them, even
     * 0); decode sets ran when PID is present */
    int ran;
    uint64_t signal;      /* SIGNAL */
    uint64_t wall_us;     /* WALL_US */
    uint64_t utime_us;    /* UTIME_US */
    uint64_t stime_us;    /* STIME_US */
    uint64_t maxrss_kb;   /* MAXRSS_KB */
    uint64_t started_us;  /* STARTED_US */
    uint64_t finished_us; /* FINISHED_US */
    uint64_t pid;         /* PID */
    const char *host;     /* HOST, NULL: absent */
    /* STDOUT, STDERR, OUTPUT: borrowed from the message; sent when len > 0 */
    const void *stdout_buf;
    size_t stdout_len;
    const void *stderr_buf;
    size_t stderr_len;
    const void *output;
    size_t output_len;
    unsigned truncated;    /* TRUNCATED bit 0 stdout, bit 1 stderr; 0: not sent */
    const char *error;     /* ERROR, NULL: absent (an empty one is not sent) */
    uint64_t attempt;      /* ATTEMPT, 0: not sent */
    uint64_t submitted_us; /* SUBMITTED_US, 0: not sent */
    int errnum;            /* ERRNO, 0: not sent */
    zpar_proto_mem_t mem;  /* private: what decode allocated */
} zpar_proto_result_t;

int zpar__proto_result_encode (zpar_msg_t *m, const zpar_proto_result_t *r);
int zpar__proto_result_decode (const zpar_msg_t *m, zpar_proto_result_t *r, zpar_error_t *err);
/* Free what decode allocated and zero r.  NULL-safe, keeps errno. */
void zpar__proto_result_clear (zpar_proto_result_t *r);

/* The STATUS of a RESULT without decoding the rest (the hub and the
 * scheduler need only that of the frames they forward or store):
 * ZPAR_STATUS_ERROR when absent or malformed. */
zpar_status_t zpar__proto_result_status (const zpar_msg_t *m);

/* Fill r (zeroed first) as the result of task `task` of client `client`
 * that did not run on engine `engine`: status, no exit status, error text
 * (borrowed, may be NULL).  Set r->attempt or r->errnum after it when
 * needed, then encode.  Nothing to clear. */
void zpar__proto_result_error (zpar_proto_result_t *r, zpar_tid_t task, zpar_eid_t engine,
                               zpar_cid_t client, zpar_status_t status, const char *text);

/* The two steps in one: encode that error result into m.  0 / -1 errno. */
int zpar__proto_result_encode_error (zpar_msg_t *m, zpar_tid_t task, zpar_eid_t engine,
                                     zpar_cid_t client, zpar_status_t status, const char *text);

#endif
