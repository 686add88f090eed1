/* tap.h - a small Test Anything Protocol emitter for zpar's unit tests.
 *
 *   plan (NO_PLAN);            ok (cond, "name %d", i);   is_int (a, b, "name");
 *   is_str (a, b, "name");     diag ("text");             done_testing ();
 *
 * Output goes to stdout and is read by automake's tap-driver.sh.
 * done_testing() returns the exit status: 0 when every test passed.
 */
#ifndef ZPAR_TAP_H
#define ZPAR_TAP_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NO_PLAN (-1)

/* Clocks for the waits of a test (every wait has a deadline): monotonic
 * seconds and milliseconds, and the milliseconds left until deadline (0
 * once past; at most cap when cap > 0, for a wait that looks again). */
static inline double tap_now_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int64_t tap_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int tap_left_ms (int64_t deadline, int cap)
{
    int64_t l = deadline - tap_now_ms ();
    if (l < 0)
        return 0;
    return cap > 0 && l > cap ? cap : (int)l;
}

static int tap_planned = NO_PLAN;
static int tap_run;
static int tap_failed;

static inline void plan (int n)
{
    tap_planned = n;
    if (n >= 0)
        printf ("1..%d\n", n);
}

static inline void diag (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
static inline void diag (const char *fmt, ...)
{
    va_list ap;
    printf ("# ");
    va_start (ap, fmt);
    vprintf (fmt, ap);
    va_end (ap);
    printf ("\n");
    fflush (stdout);
}

static inline int tap_vok (int cond, const char *file, int line, const char *fmt, va_list ap)
{
    tap_run++;
    if (!cond)
        tap_failed++;
    printf ("%sok %d - ", cond ? "" : "not ", tap_run);
    vprintf (fmt, ap);
    printf ("\n");
    if (!cond)
        printf ("#   failed at %s:%d\n", file, line);
    fflush (stdout);
    return cond;
}

static inline int tap_ok (int cond, const char *file, int line, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
static inline int tap_ok (int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int r;
    va_start (ap, fmt);
    r = tap_vok (cond, file, line, fmt, ap);
    va_end (ap);
    return r;
}

#define ok(cond, ...) tap_ok (!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                                     \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        if (!ok (g_ == w_, __VA_ARGS__))                                                           \
            diag ("  got %lld, want %lld", g_, w_);                                                \
    } while (0)

#define is_str(got, want, ...)                                                                     \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        if (!ok (g_ && w_ && strcmp (g_, w_) == 0, __VA_ARGS__))                                   \
            diag ("  got '%s', want '%s'", g_ ? g_ : "(null)", w_ ? w_ : "(null)");                \
    } while (0)

static inline int done_testing (void)
{
    if (tap_planned == NO_PLAN)
        printf ("1..%d\n", tap_run);
    fflush (stdout);
    return tap_failed ? 1 : 0;
}

#endif
