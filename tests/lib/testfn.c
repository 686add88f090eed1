/* testfn.c - task functions for zpar's tests (built as testfn.so).
 *
 *   zt_noop   returns 0
 *   zt_echo   outputs its input
 *   zt_fail   returns 3
 *   zt_segv   writes to an unmapped address (SIGSEGV)
 *   zt_abort  calls abort() (SIGABRT)
 *   zt_sleep  sleeps for the number of seconds in its input (text), in
 *             10 ms steps, returning 4 early when cancelled
 *   zt_rank   outputs "engine=<id> rank=<rank>"
 *   zt_print  writes its input to stdout and "err\n" to stderr
 *   zt_getenv outputs the value of the environment variable its input
 *             names ("(unset)" when it is not set) and the number of CPUs
 *             it may run on: "VALUE cpus=N"
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zpar.h"

#define ZT_EXPORT __attribute__ ((visibility ("default")))

ZT_EXPORT int zt_noop (zpar_fn_ctx_t *ctx, const void *in, size_t len);
ZT_EXPORT int zt_echo (zpar_fn_ctx_t *ctx, const void *in, size_t len);
ZT_EXPORT int zt_fail (zpar_fn_ctx_t *ctx, const void *in, size_t len);
ZT_EXPORT int zt_segv (zpar_fn_ctx_t *ctx, const void *in, size_t len);
ZT_EXPORT int zt_abort (zpar_fn_ctx_t *ctx, const void *in, size_t len);
ZT_EXPORT int zt_sleep (zpar_fn_ctx_t *ctx, const void *in, size_t len);
ZT_EXPORT int zt_rank (zpar_fn_ctx_t *ctx, const void *in, size_t len);
ZT_EXPORT int zt_print (zpar_fn_ctx_t *ctx, const void *in, size_t len);
ZT_EXPORT int zt_getenv (zpar_fn_ctx_t *ctx, const void *in, size_t len);

int zt_noop (zpar_fn_ctx_t *ctx, const void *in, size_t len)
{
    (void)ctx;
    (void)in;
    (void)len;
    return 0;
}

int zt_echo (zpar_fn_ctx_t *ctx, const void *in, size_t len)
{
    return zpar_fn_output (ctx, in, len) < 0 ? 1 : 0;
}

int zt_fail (zpar_fn_ctx_t *ctx, const void *in, size_t len)
{
    (void)ctx;
    (void)in;
    (void)len;
    return 3;
}

int zt_segv (zpar_fn_ctx_t *ctx, const void *in, size_t len)
{
    /* an unmapped address that is not NULL: a real SIGSEGV also under
     * UBSan, which stops a NULL store before it faults */
    volatile char *volatile p = (volatile char *)(uintptr_t)8;
    (void)ctx;
    (void)in;
    (void)len;
    *p = 1;
    raise (SIGSEGV); /* in case the store was optimised away */
    return 0;
}

int zt_abort (zpar_fn_ctx_t *ctx, const void *in, size_t len)
{
    (void)ctx;
    (void)in;
    (void)len;
    abort ();
}

int zt_sleep (zpar_fn_ctx_t *ctx, const void *in, size_t len)
{
    char buf[64];
    double sec;
    struct timespec step = {0, 10 * 1000 * 1000};

    if (len >= sizeof (buf))
        len = sizeof (buf) - 1;
    memcpy (buf, in, len);
    buf[len] = '\0';
    sec = atof (buf);
    for (double t = 0; t < sec; t += 0.01) {
        if (zpar_fn_cancelled (ctx))
            return 4;
        nanosleep (&step, NULL);
    }
    return 0;
}

int zt_rank (zpar_fn_ctx_t *ctx, const void *in, size_t len)
{
    char buf[64];
    int n;
    (void)in;
    (void)len;
    n = snprintf (buf, sizeof (buf), "engine=%u rank=%d", zpar_fn_engine (ctx).id,
                  zpar_fn_rank (ctx));
    return zpar_fn_output (ctx, buf, (size_t)n) < 0 ? 1 : 0;
}

int zt_print (zpar_fn_ctx_t *ctx, const void *in, size_t len)
{
    (void)ctx;
    fwrite (in, 1, len, stdout);
    fputs ("err\n", stderr);
    return 0;
}

int zt_getenv (zpar_fn_ctx_t *ctx, const void *in, size_t len)
{
    char name[256], buf[512];
    const char *v;
    cpu_set_t cs;
    int n;
    if (len >= sizeof (name))
        return 2;
    memcpy (name, in, len);
    name[len] = '\0';
    v = getenv (name);
    n = snprintf (buf, sizeof (buf), "%s cpus=%d", v ? v : "(unset)",
                  sched_getaffinity (0, sizeof (cs), &cs) == 0 ? CPU_COUNT (&cs) : -1);
    return zpar_fn_output (ctx, buf, n > 0 && (size_t)n < sizeof (buf) ? (size_t)n : 0) < 0 ? 1 : 0;
}
