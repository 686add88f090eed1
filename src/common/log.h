/* log.h - the one logging function of zpar (internal).
 *
 * Library code (libzpar) never prints: it logs only when the program has
 * installed a sink with zpar__log_set_level() (the zpar program does).
 * Messages go to stderr as one line each,
 *   "<UTC time> zpar[<role> <pid>] <level>: text"
 * the time in ISO 8601 with milliseconds ("2026-12-01T17:50:01.123Z").
 */
#ifndef ZPAR__LOG_H
#define ZPAR__LOG_H

#include <stdint.h>

typedef enum {
    ZPAR_LOG_ERR = 0,
    ZPAR_LOG_WARN = 1,
    ZPAR_LOG_INFO = 2,
    ZPAR_LOG_DEBUG = 3,
} zpar_log_level_t;

/* Set the level; messages above it are dropped.  Default: no output at all
 * (level -1) so that libzpar stays silent inside user programs. */
void zpar__log_set_level (int level);
int zpar__log_get_level (void);

/* A level from its name, as ZPAR_LOG gives it: "error", "warn", "info",
 * "debug" (a prefix match, any case), a digit 0-3 (higher: 3), or "none" /
 * "off" / "quiet" (-1).  Returns -2 for anything else. */
int zpar__log_level_parse (const char *s);

/* Name printed in front of each line ("controller", "engine 3", ...). */
void zpar__log_set_role (const char *role);

void zpar__log (zpar_log_level_t level, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#define zpar__err(...)   zpar__log (ZPAR_LOG_ERR, __VA_ARGS__)
#define zpar__warn(...)  zpar__log (ZPAR_LOG_WARN, __VA_ARGS__)
#define zpar__info(...)  zpar__log (ZPAR_LOG_INFO, __VA_ARGS__)
#define zpar__debug(...) zpar__log (ZPAR_LOG_DEBUG, __VA_ARGS__)

/* Rate-limited warnings about dropped messages.
 *
 * A peer without the key can send thousands of bad messages a second; one
 * warning each would flood the log.  A drop log writes the first drop of a
 * quiet period in full (its reason), then only counts, and writes one
 * summary line per interval while drops go on:
 *   "<who>: dropped N messages in the last 10 s (M malformed, K bad
 *    signature, R replayed, U unexpected)".
 * The summary of the last interval is written by the next drop after it,
 * or by zpar__droplog_flush (call it when the owner stops).
 *
 * A drop log belongs to one thread.  ZPAR_DROPLOG_INIT gives a ready one;
 * the interval is 10 s, or $ZPAR_DROP_LOG_INTERVAL seconds (read once). */
typedef enum {
    ZPAR_DROP_MALFORMED = 0,
    ZPAR_DROP_BADSIG,
    ZPAR_DROP_REPLAYED,
    ZPAR_DROP_UNEXPECTED,
    ZPAR_DROP_NKINDS,
} zpar_drop_kind_t;

typedef struct {
    const char *who;              /* prefix of the summary line (static string) */
    uint64_t interval_us;         /* 0: the default, set at the first drop */
    uint64_t window_us;           /* monotonic start of the current interval, 0: quiet */
    uint64_t n[ZPAR_DROP_NKINDS]; /* drops not yet written */
    uint64_t total;               /* every drop ever recorded */
    uint64_t lines;               /* lines written */
} zpar_droplog_t;

#define ZPAR_DROPLOG_INIT(who)                                                                     \
    {                                                                                              \
        (who), 0, 0, {0}, 0, 0                                                                     \
    }

/* The kind of a drop from the errno of zpar__wire_recv/zpar__frames_check:
 * EPROTO malformed, EPERM bad signature, EALREADY replayed, else
 * unexpected. */
zpar_drop_kind_t zpar__drop_kind (int errnum);

/* Record one drop of kind; fmt (may be NULL) is its reason, written only
 * when this drop opens a quiet period.  NULL d or a bad kind: nothing.
 * Keeps errno. */
void zpar__droplog (zpar_droplog_t *d, zpar_drop_kind_t kind, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Write the summary of drops not yet written, if any.  NULL-safe. */
void zpar__droplog_flush (zpar_droplog_t *d);

#endif
