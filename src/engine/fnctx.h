/* fnctx.h - the context a function task sees (internal).
 *
 * struct zpar_fn_ctx is opaque to task functions (they use the zpar_fn_*
 * accessors of include/zpar.h, defined in fnctx.c and exported from
 * libzpar).  The engine's runner fills it in directly through the inline
 * helpers below, so that it needs no hidden symbol of libzpar.
 *
 * Ownership: ctx->out is malloc'd by zpar_fn_output(); whoever runs the
 * task frees it with zpar__fn_ctx_fini() (or takes it and sets it NULL).
 */
#ifndef ZPAR__FNCTX_H
#define ZPAR__FNCTX_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zpar.h"

/* Upper bound of a function's output (it travels in one message body). */
#define ZPAR_FN_OUTPUT_MAX (192u * 1024 * 1024)

struct zpar_fn_ctx {
    uint8_t *out; /* output so far (malloc'd), NULL if none */
    size_t len;
    size_t cap;
    uint32_t engine;
    int rank;
    void *mpi_comm;
    /* Non-zero when the task is asked to stop (timeout, interrupt, engine
     * shutdown): a flag set by the engine, or from the function child's
     * own signal handler. */
    volatile sig_atomic_t *cancelled;
    /* Also cancelled when SIGTERM, SIGINT or SIGHUP is pending (inline tasks: the
     * program blocks them and the engine's loop cannot run meanwhile). */
    int pending_cancels;
};

static inline void zpar__fn_ctx_init (struct zpar_fn_ctx *c, uint32_t engine, int rank,
                                      void *mpi_comm, volatile sig_atomic_t *cancelled)
{
    memset (c, 0, sizeof (*c));
    c->engine = engine;
    c->rank = rank;
    c->mpi_comm = mpi_comm;
    c->cancelled = cancelled;
}

/* Free the output buffer (NULL-safe). */
static inline void zpar__fn_ctx_fini (struct zpar_fn_ctx *c)
{
    if (c) {
        free (c->out);
        c->out = NULL;
        c->len = c->cap = 0;
    }
}

#endif
