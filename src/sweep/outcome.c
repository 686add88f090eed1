/* outcome.c - what a task's result means for its point. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "outcome.h"

int zpar__sweep_outcome (const zpar_sweep_result_info_t *in, zpar_sweep_outcome_t *out)
{
    zpar_status_t st;
    char errtext[sizeof (out->error)];

    if (!in || !out) {
        errno = EINVAL;
        return -1;
    }
    memset (out, 0, sizeof (*out));
    errtext[0] = '\0';
    if (in->error && *in->error)
        snprintf (errtext, sizeof (errtext), "%s", in->error);
    if (in->truncated) {
        size_t k = strlen (errtext);
        snprintf (errtext + k, sizeof (errtext) - k, "%s%s truncated at %zu MiB", k ? "; " : "",
                  in->truncated == 3   ? "stdout and stderr"
                  : in->truncated == 1 ? "stdout"
                                       : "stderr",
                  in->cap_mib);
    }
    snprintf (out->error, sizeof (out->error), "%s", errtext);

    st = in->status;
    /* SIGTERM, SIGINT or SIGHUP come from outside the point: the walltime,
     * scancel, a pre-emption, a shutdown racing the task's end.  Like an
     * abort, that is not the point's fault: it runs again next time. */
    if (st == ZPAR_STATUS_SIGNALED &&
        (in->signal == SIGTERM || in->signal == SIGINT || in->signal == SIGHUP))
        st = ZPAR_STATUS_ABORTED;
    /* so is the loss of its engine (a node died, the job ended under it)
     * once the task's own retries are spent */
    if (st == ZPAR_STATUS_ENGINE_DIED)
        st = ZPAR_STATUS_ABORTED;
    switch (st) {
    case ZPAR_STATUS_OK:
        out->state = ZPAR_JSTATE_SUCCEEDED;
        break;
    case ZPAR_STATUS_ABORTED:
        out->state = ZPAR_JSTATE_PENDING;
        if (!out->error[0])
            snprintf (out->error, sizeof (out->error), "aborted");
        snprintf (out->what, sizeof (out->what), "aborted before it finished (will run again)");
        break;
    default:
        out->state = ZPAR_JSTATE_FAILED;
        if (st == ZPAR_STATUS_FAILED)
            snprintf (out->what, sizeof (out->what), "exit code %d", in->exit_code);
        else if (st == ZPAR_STATUS_SIGNALED)
            snprintf (out->what, sizeof (out->what), "killed by signal %d (%s)", in->signal,
                      strsignal (in->signal));
        else if (st == ZPAR_STATUS_TIMEOUT) {
            snprintf (out->what, sizeof (out->what), "timed out after %gs", in->timeout);
            if (!out->error[0])
                snprintf (out->error, sizeof (out->error), "%s", out->what);
        } else
            snprintf (out->what, sizeof (out->what), "%s%s%s", zpar_status_name (st),
                      errtext[0] ? ": " : "", errtext);
        if (!out->error[0] && st != ZPAR_STATUS_FAILED && st != ZPAR_STATUS_SIGNALED)
            snprintf (out->error, sizeof (out->error), "%s", zpar_status_name (st));
        break;
    }
    return 0;
}
