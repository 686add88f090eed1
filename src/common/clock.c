/* clock.c - see clock.h. */
#include "clock.h"

#include <errno.h>
#include <time.h>

static uint64_t ts_us (clockid_t id)
{
    struct timespec ts;
    clock_gettime (id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t zpar__now_us (void)
{
    return ts_us (CLOCK_REALTIME);
}

double zpar__now_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t zpar__mono_us (void)
{
    return ts_us (CLOCK_MONOTONIC);
}

double zpar__mono_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void zpar__sleep_s (double secs)
{
    struct timespec ts;
    if (secs <= 0)
        return;
    ts.tv_sec = (time_t)secs;
    ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
    while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
        ;
}
