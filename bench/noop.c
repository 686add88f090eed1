/* noop.c - the no-op task function for bench/zpar-bench (built as noop.so
 * by bench/run.sh).  Measures the runtime's per-task overhead, nothing else.
 * stamp: the same, returning the time it ran (CLOCK_MONOTONIC, ns, 8
 * bytes) as its output, so that a driver on the same host splits a round
 * trip into the way there and the way back (zpar-bench rtt-split). */
#include <stdint.h>
#include <time.h>

#include "zpar.h"

int noop (zpar_fn_ctx_t *ctx, const void *in, size_t len);
int stamp (zpar_fn_ctx_t *ctx, const void *in, size_t len);

int stamp (zpar_fn_ctx_t *ctx, const void *in, size_t len)
{
    struct timespec ts;
    uint64_t ns;
    (void)in;
    (void)len;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return zpar_fn_output (ctx, &ns, sizeof (ns)) < 0;
}

int noop (zpar_fn_ctx_t *ctx, const void *in, size_t len)
{
    (void)ctx;
    (void)in;
    (void)len;
    return 0;
}
