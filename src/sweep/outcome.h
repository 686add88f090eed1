/* outcome.h - what a task's result means for its point.  Internal.
 *
 * A result's status becomes a journal state: ok is SUCCEEDED; a failure
 * of the point itself (exit code, a signal it raised, its timeout, a
 * command that cannot run) is FAILED; what comes from outside the point
 * (abort, the loss of its engine once its retries are spent, SIGTERM,
 * SIGINT or SIGHUP: the walltime, scancel, a pre-emption) is PENDING: it
 * runs again next time.
 */
#ifndef ZPAR__SWEEP_OUTCOME_H
#define ZPAR__SWEEP_OUTCOME_H

#include <stddef.h>

#include "journal.h"
#include "zpar.h"

typedef struct {
    zpar_status_t status;
    int exit_code;     /* -1 when none */
    int signal;        /* 0 when none */
    const char *error; /* the result's explanation, or NULL */
    int truncated;     /* bits: 1 stdout, 2 stderr (zpar_result_truncated) */
    size_t cap_mib;    /* the output cap, for the truncation note */
    double timeout;    /* the sweep's timeout (seconds), for the message */
} zpar_sweep_result_info_t;

typedef struct {
    zpar_jstate_t state; /* ZPAR_JSTATE_SUCCEEDED, _FAILED or _PENDING */
    char what[256];      /* why it did not succeed, for people ("exit code 3",
                            "killed by signal 11 (...)", ...); "" when it did */
    char error[512];     /* the journal's error column; "" for none */
} zpar_sweep_outcome_t;

/* Fill *out from *in.  0, or -1 with EINVAL (NULL). */
int zpar__sweep_outcome (const zpar_sweep_result_info_t *in, zpar_sweep_outcome_t *out);

#endif
