/* fnctx.c - what a function task sees: the zpar_fn_* functions of zpar.h.
 * Exported from libzpar; the engine resolves them for the task libraries
 * it dlopen()s. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fnctx.h"
#include "zpar.h"

ZPAR_API int zpar_fn_output (zpar_fn_ctx_t *ctx, const void *data, size_t len)
{
    if (!ctx || (!data && len)) {
        errno = EINVAL;
        return -1;
    }
    if (len == 0)
        return 0;
    if (len > ZPAR_FN_OUTPUT_MAX - ctx->len) {
        errno = EMSGSIZE;
        return -1;
    }
    if (ctx->len + len > ctx->cap) {
        size_t ncap = ctx->cap ? ctx->cap : 256;
        uint8_t *nb;
        while (ncap < ctx->len + len)
            ncap *= 2;
        if (!(nb = realloc (ctx->out, ncap)))
            return -1;
        ctx->out = nb;
        ctx->cap = ncap;
    }
    memcpy (ctx->out + ctx->len, data, len);
    ctx->len += len;
    return 0;
}

ZPAR_API zpar_engine_id_t zpar_fn_engine (const zpar_fn_ctx_t *ctx)
{
    zpar_engine_id_t e = {ctx ? ctx->engine : 0};
    return e;
}

ZPAR_API int zpar_fn_rank (const zpar_fn_ctx_t *ctx)
{
    return ctx ? ctx->rank : -1;
}

ZPAR_API int zpar_fn_cancelled (const zpar_fn_ctx_t *ctx)
{
    sigset_t pending;
    if (!ctx)
        return 0;
    if (ctx->cancelled && *ctx->cancelled)
        return 1;
    if (ctx->pending_cancels && sigpending (&pending) == 0 &&
        (sigismember (&pending, SIGTERM) == 1 || sigismember (&pending, SIGINT) == 1))
        return 1;
    return 0;
}

ZPAR_API void *zpar_fn_mpi_comm (const zpar_fn_ctx_t *ctx)
{
    return ctx ? ctx->mpi_comm : NULL;
}
