/* test_droplog.c - rate-limited drop warnings: the first drop of a quiet
 * period is written in full, later ones only counted, one summary line per
 * interval; kinds from errno; flush; bad parameters.  Reads what it wrote
 * from stderr redirected to a file. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "tap.h"

static int count_lines (const char *path, const char *needle)
{
    FILE *f = fopen (path, "r");
    char line[1024];
    int n = 0;
    if (!f)
        return -1;
    while (fgets (line, sizeof (line), f))
        if (strstr (line, needle))
            n++;
    fclose (f);
    return n;
}

int main (void)
{
    char path[] = "/tmp/test_droplog.XXXXXX";
    int fd = mkstemp (path), saved = dup (2);
    zpar_droplog_t d = ZPAR_DROPLOG_INIT ("tester");

    ok (fd >= 0 && saved >= 0, "a log file");
    is_int (zpar__drop_kind (EPROTO), ZPAR_DROP_MALFORMED, "EPROTO: malformed");
    is_int (zpar__drop_kind (EPERM), ZPAR_DROP_BADSIG, "EPERM: bad signature");
    is_int (zpar__drop_kind (EALREADY), ZPAR_DROP_REPLAYED, "EALREADY: replayed");
    is_int (zpar__drop_kind (EBADMSG), ZPAR_DROP_UNEXPECTED, "others: unexpected");

    setenv ("ZPAR_DROP_LOG_INTERVAL", "1", 1);
    zpar__log_set_level (ZPAR_LOG_WARN);
    fflush (stderr);
    dup2 (fd, 2);
    for (int i = 0; i < 10000; i++) {
        errno = 1234;
        zpar__droplog (&d, i % 3 ? ZPAR_DROP_BADSIG : ZPAR_DROP_MALFORMED, "first drop %d", i);
        if (errno != 1234)
            break;
    }
    zpar__sleep_s (1.1);
    zpar__droplog (&d, ZPAR_DROP_REPLAYED, "not written");
    zpar__droplog (&d, ZPAR_DROP_REPLAYED, "not written");
    zpar__droplog_flush (&d);
    zpar__droplog_flush (&d);
    zpar__droplog (NULL, ZPAR_DROP_BADSIG, "x");
    zpar__droplog (&d, (zpar_drop_kind_t)99, "x");
    zpar__droplog_flush (NULL);
    fflush (stderr);
    dup2 (saved, 2);

    is_int (count_lines (path, "tester:"), 2, "the summaries carry the name, the reason line not");
    is_int (count_lines (path, "first drop 0 (further drops are summarised every 1 s)"), 1,
            "the first drop is written in full, once");
    is_int (count_lines (path, "first drop 1"), 0, "later drops are not");
    is_int (count_lines (path, "not written"), 0, "nor are drops within an interval");
    is_int (count_lines (path, "tester: dropped 10000 messages"), 1,
            "one summary line after the interval, with the count");
    is_int (count_lines (path, "(3333 malformed, 6666 bad signature, 1 replayed, 0 unexpected)"), 1,
            "split by kind");
    is_int (count_lines (path, "tester: dropped 1 messages"), 1, "flush writes the rest");
    is_int (count_lines (path, "zpar["), 3, "3 lines for 10,002 drops");
    ok (d.total == 10002, "every drop recorded (%llu)", (unsigned long long)d.total);
    unlink (path);
    return done_testing ();
}
