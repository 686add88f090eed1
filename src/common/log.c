/* log.c - the one logging function of zpar. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

static int log_level = -1;
static char log_role[64] = "zpar";

void zpar__log_set_level (int level)
{
    log_level = level;
}

int zpar__log_get_level (void)
{
    return log_level;
}

void zpar__log_set_role (const char *role)
{
    snprintf (log_role, sizeof (log_role), "%s", role ? role : "zpar");
}

void zpar__log (zpar_log_level_t level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    char buf[1024];
    int saved = errno;
    va_list ap;
    int n;

    struct timeval tv;
    struct tm tm;

    if ((int)level > log_level)
        return;
    /* UTC, ISO 8601 with milliseconds: lines of the controller and of
     * engines on other hosts sort and compare without a time zone */
    (void)gettimeofday (&tv, NULL);
    (void)gmtime_r (&tv.tv_sec, &tm);
    n = snprintf (buf, sizeof (buf),
                  "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ zpar[%s %d] %s: ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  (int)(tv.tv_usec / 1000), log_role, (int)getpid (), names[level]);
    if (n < 0 || (size_t)n >= sizeof (buf))
        n = 0;
    va_start (ap, fmt);
    (void)vsnprintf (buf + n, sizeof (buf) - (size_t)n, fmt, ap);
    va_end (ap);
    fprintf (stderr, "%s\n", buf);
    errno = saved;
}

#define DROPLOG_DEFAULT_S 10

zpar_drop_kind_t zpar__drop_kind (int errnum)
{
    switch (errnum) {
    case EPROTO:
        return ZPAR_DROP_MALFORMED;
    case EPERM:
        return ZPAR_DROP_BADSIG;
    case EALREADY:
        return ZPAR_DROP_REPLAYED;
    default:
        return ZPAR_DROP_UNEXPECTED;
    }
}

static uint64_t droplog_interval_us (void)
{
    const char *env = getenv ("ZPAR_DROP_LOG_INTERVAL");
    long s = env ? strtol (env, NULL, 10) : 0;
    if (s <= 0 || s > 86400)
        s = DROPLOG_DEFAULT_S;
    return (uint64_t)s * 1000000u;
}

static void droplog_summary (zpar_droplog_t *d, uint64_t now)
{
    uint64_t sum = 0;
    for (int k = 0; k < ZPAR_DROP_NKINDS; k++)
        sum += d->n[k];
    if (sum) {
        zpar__log (ZPAR_LOG_WARN,
                   "%s: dropped %llu messages in the last %llu s (%llu malformed, %llu bad "
                   "signature, %llu replayed, %llu unexpected)",
                   d->who ? d->who : "zpar", (unsigned long long)sum,
                   (unsigned long long)((now - d->window_us + 999999u) / 1000000u),
                   (unsigned long long)d->n[ZPAR_DROP_MALFORMED],
                   (unsigned long long)d->n[ZPAR_DROP_BADSIG],
                   (unsigned long long)d->n[ZPAR_DROP_REPLAYED],
                   (unsigned long long)d->n[ZPAR_DROP_UNEXPECTED]);
        d->lines++;
    }
    memset (d->n, 0, sizeof (d->n));
}

void zpar__droplog (zpar_droplog_t *d, zpar_drop_kind_t kind, const char *fmt, ...)
{
    int saved = errno;
    uint64_t now;

    if (!d || (int)kind < 0 || kind >= ZPAR_DROP_NKINDS)
        return;
    if (!d->interval_us)
        d->interval_us = droplog_interval_us ();
    now = zpar__mono_us ();
    d->total++;
    if (!d->window_us || now - d->window_us >= 2 * d->interval_us) {
        /* a quiet period: say why in full, open an interval */
        droplog_summary (d, now); /* what an earlier interval still held */
        d->window_us = now;
        if (fmt && ZPAR_LOG_WARN <= log_level) {
            char buf[512];
            va_list ap;
            va_start (ap, fmt);
            (void)vsnprintf (buf, sizeof (buf), fmt, ap);
            va_end (ap);
            zpar__log (ZPAR_LOG_WARN, "%s (further drops are summarised every %llu s)", buf,
                       (unsigned long long)(d->interval_us / 1000000u));
        }
        d->lines++;
        errno = saved;
        return;
    }
    d->n[kind]++;
    if (now - d->window_us >= d->interval_us) {
        droplog_summary (d, now);
        d->window_us = now;
    }
    errno = saved;
}

void zpar__droplog_flush (zpar_droplog_t *d)
{
    if (d && d->window_us) {
        droplog_summary (d, zpar__mono_us ());
        d->window_us = 0;
    }
}

int zpar__log_level_parse (const char *s)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (!s || !*s)
        return -2;
    if (s[0] >= '0' && s[0] <= '9' && !s[1])
        return s[0] - '0' > 3 ? 3 : s[0] - '0';
    for (int i = 0; i < 4; i++)
        if (!strncasecmp (s, names[i], strlen (names[i])))
            return i;
    if (!strcasecmp (s, "none") || !strcasecmp (s, "off") || !strcasecmp (s, "quiet"))
        return -1;
    return -2;
}
