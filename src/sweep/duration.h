/* duration.h - parsing human durations ("90", "2.5", "30s", "10m", "1h30m").
 * Internal. */
#ifndef ZPAR__SWEEP_DURATION_H
#define ZPAR__SWEEP_DURATION_H

#include "zpar/error.h"

/* Parse s as a duration in seconds.  Accepted: a plain non-negative number
 * ("90", "2.5"), or one or more <number><unit> groups with units in
 * strictly decreasing order among d, h, m, s ("30s", "10m", "2h", "1h30m",
 * "1d12h", "1.5h").  No spaces, no signs.  On success stores the seconds in
 * *secs and returns 0; otherwise returns -1 with errno = EINVAL and *secs
 * unchanged. */
int zpar__duration_parse (const char *s, double *secs);

/* The same, also accepting milliseconds ("500ms"), for command-line
 * options: -1 with EINVAL and the user's text in err (NULL allowed). */
int zpar__duration_parse_text (const char *s, double *secs, zpar_error_t *err);

#endif
