/* clock.h - the clocks of zpar (internal): one place for time.
 *
 * Wall clock (CLOCK_REALTIME) for what is recorded or sent (timestamps in
 * messages, records, journals); monotonic clock (CLOCK_MONOTONIC) for every
 * timeout, deadline and duration.
 */
#ifndef ZPAR__CLOCK_H
#define ZPAR__CLOCK_H

#include <stdint.h>

/* Microseconds since the epoch (CLOCK_REALTIME). */
uint64_t zpar__now_us (void);
/* Seconds since the epoch, as a double (for journals and reports). */
double zpar__now_s (void);

/* Monotonic microseconds / seconds (arbitrary origin). */
uint64_t zpar__mono_us (void);
double zpar__mono_s (void);

/* Sleep for secs seconds (restarted after a signal).  Nothing if <= 0. */
void zpar__sleep_s (double secs);

#endif
