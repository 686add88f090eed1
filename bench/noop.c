/* noop.c - the no-op task function for bench/zpar-bench (built as noop.so
 * by bench/run.sh).  Measures the runtime's per-task overhead, nothing else. */
#include "zpar.h"

int noop (zpar_fn_ctx_t *ctx, const void *in, size_t len);

int noop (zpar_fn_ctx_t *ctx, const void *in, size_t len)
{
    (void)ctx;
    (void)in;
    (void)len;
    return 0;
}
