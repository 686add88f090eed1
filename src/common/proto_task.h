/* proto_task.h - typed codec of the TASK request (doc/protocol.md,
 * "Tasks").  The encode/decode/ownership contract is in proto_common.h.
 *
 * Header: h.task, h.client; h.engine is the target engine of a direct
 * task (0 until the task scheduler picks one); h.flags bits 0-7 carry the
 * attempt number set by the task scheduler.
 */
#ifndef ZPAR__PROTO_TASK_H
#define ZPAR__PROTO_TASK_H

#include "proto_common.h"
#include "zpar.h"

typedef struct {
    zpar_proto_hdr_t h;
    zpar_task_kind_t kind; /* KIND, required: command or function */
    /* command: ARGV (argc strings; decode NULL-terminates) */
    const char *const *argv;
    size_t argc;
    /* ENV "NAME=VALUE" (envc strings; decode NULL-terminates) */
    const char *const *env;
    size_t envc;
    const char *cwd;         /* CWD, NULL: absent */
    uint64_t timeout_ms;     /* TIMEOUT_MS, 0: none (not sent) */
    uint64_t retries;        /* RETRIES, 0: not sent */
    const zpar_tid_t *after; /* AFTER, nafter ids */
    size_t nafter;
    const zpar_eid_t *targets; /* TARGET, ntargets ids (each must fit 32 bits) */
    size_t ntargets;
    int64_t priority; /* PRIORITY, 0: not sent */
    /* function: LIB, SYMBOL (NULL when absent: the runner reports it) and
     * INPUT (borrowed from the message; always sent for a function) */
    const char *lib;
    const char *symbol;
    const void *input;
    size_t input_len;
    int inline_fn;        /* INLINE (0/1) */
    uint64_t attempt;     /* ATTEMPT, 0: not sent */
    uint64_t output_cap;  /* OUTPUT_CAP, 0: default (not sent) */
    int all_engines;      /* ALL_ENGINES (0/1) */
    zpar_proto_mem_t mem; /* private: what decode allocated */

    /* STOP_SIGNAL (1..64; 0: not sent, SIGTERM) and STOP_GRACE (ms; 0: not
     * sent, 1 s): what a command task's timeout sends, and how long before
     * SIGKILL */
    uint64_t stop_signal;
    uint64_t stop_grace_ms;
} zpar_proto_task_t;

int zpar__proto_task_encode (zpar_msg_t *m, const zpar_proto_task_t *t);
int zpar__proto_task_decode (const zpar_msg_t *m, zpar_proto_task_t *t, zpar_error_t *err);
/* Free what decode allocated and zero t.  NULL-safe, keeps errno. */
void zpar__proto_task_clear (zpar_proto_task_t *t);

#endif
