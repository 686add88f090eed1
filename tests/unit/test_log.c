/* test_log.c - every log line starts with its UTC time in ISO 8601 with
 * milliseconds, then "zpar[<role> <pid>] <level>: text"; levels filter;
 * errno is kept.  Reads what it wrote from stderr redirected to a file. */
#include "config.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

/* The clock the log reads (gettimeofday's), in whole seconds: time()
 * may read a coarser clock that lags it by a tick, and a line written
 * just after a second began would look later than "after". */
static time_t now_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

int main (void)
{
    char path[] = "/tmp/test_log.XXXXXX";
    int fd = mkstemp (path), saved = dup (2);
    char line[1024], want[128];
    regex_t re;
    regmatch_t m[8];
    FILE *f;
    int nlines = 0, nmatch = 0, errno_kept;
    time_t before = now_s (), after;

    ok (fd >= 0 && saved >= 0, "a log file");
    ok (regcomp (&re,
                 "^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\\.[0-9]{3}Z "
                 "zpar\\[tester ([0-9]+)\\] (info|warning|error): ",
                 REG_EXTENDED) == 0,
        "the line pattern compiles");
    zpar__log_set_role ("tester");
    zpar__log_set_level (ZPAR_LOG_INFO);
    fflush (stderr);
    dup2 (fd, 2);
    errno = 4321;
    zpar__info ("hello %d", 1);
    errno_kept = errno == 4321;
    zpar__warn ("hello %d", 2);
    zpar__err ("hello %d", 3);
    zpar__debug ("not written: above the level");
    fflush (stderr);
    dup2 (saved, 2);
    after = now_s ();
    ok (errno_kept, "logging keeps errno");

    ok ((f = fopen (path, "r")) != NULL, "read the log back");
    snprintf (want, sizeof (want), "%d", (int)getpid ());
    while (f && fgets (line, sizeof (line), f)) {
        struct tm tm = {0};
        time_t t;
        nlines++;
        if (regexec (&re, line, 8, m, 0) != 0) {
            diag ("no timestamp: %s", line);
            continue;
        }
        tm.tm_year = atoi (line + m[1].rm_so) - 1900;
        tm.tm_mon = atoi (line + m[2].rm_so) - 1;
        tm.tm_mday = atoi (line + m[3].rm_so);
        tm.tm_hour = atoi (line + m[4].rm_so);
        tm.tm_min = atoi (line + m[5].rm_so);
        tm.tm_sec = atoi (line + m[6].rm_so);
        t = timegm (&tm); /* read as UTC: a local time would be off by the zone */
        if (t < before || t > after) {
            diag ("time %lld not within [%lld, %lld]: %s", (long long)t, (long long)before,
                  (long long)after, line);
            continue;
        }
        if ((size_t)(m[7].rm_eo - m[7].rm_so) != strlen (want) ||
            strncmp (line + m[7].rm_so, want, strlen (want)) != 0)
            continue;
        nmatch++;
    }
    if (f)
        fclose (f);
    is_int (nlines, 3, "three lines: info, warning, error (debug filtered)");
    is_int (nmatch, 3, "each starts with the UTC time (ms), role, pid and level");
    regfree (&re);
    unlink (path);
    return done_testing ();
}
