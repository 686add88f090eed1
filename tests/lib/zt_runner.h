/* zt_runner.h - running one task on a runner to its end, for the unit
 * tests of the runner (header only; needs tap.h and engine/runner.h). */
#ifndef ZT_RUNNER_H
#define ZT_RUNNER_H

#include <errno.h>
#include <string.h>

#include "engine/runner.h"
#include "tap.h"

/* Start spec on r and wait up to timeout seconds for its end (a task
 * still running then is killed).  The result (owned by r), or NULL when
 * it could not start. */
static inline const zpar_run_result_t *zt_runner_run (zpar_runner_t *r, zpar_run_spec_t *spec,
                                                      double timeout)
{
    int rc;
    zpar__runner_clear (r);
    if ((rc = zpar__runner_start (r, spec)) < 0) {
        diag ("start failed: %s", strerror (errno));
        return NULL;
    }
    if (rc == 0 && zpar__runner_wait (r, timeout) < 0) {
        diag ("wait failed: %s", strerror (errno));
        (void)zpar__runner_kill (r, "test timeout");
    }
    return zpar__runner_result (r);
}

/* A captured stream as a NUL-terminated string (copied into a static
 * buffer: valid until the next call; cut at 8 KiB). */
static inline const char *zt_runbuf_text (const zpar_runbuf_t *b)
{
    static char buf[8192];
    size_t n = b->len < sizeof (buf) - 1 ? b->len : sizeof (buf) - 1;
    memcpy (buf, b->data ? (const char *)b->data : "", n);
    buf[n] = '\0';
    return buf;
}

#endif
