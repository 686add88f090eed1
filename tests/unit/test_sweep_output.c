/* test_sweep_output.c - what a sweep run prints (runlog.h: notes,
 * warnings, the progress line, durations) and the files it writes
 * (outfiles.h: directories, output files), with bad parameters. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfiles.h"
#include "runlog.h"
#include "tap.h"

static char dir[] = "/tmp/zpar-test-sweep-output.XXXXXX";

static char *path_of (const char *name)
{
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf (buf[i], sizeof (buf[i]), "%s/%s", dir, name);
    return buf[i];
}

static char *slurp (const char *path, size_t *len)
{
    static char buf[4096];
    FILE *f = fopen (path, "r");
    size_t n;
    if (!f)
        return NULL;
    n = fread (buf, 1, sizeof (buf) - 1, f);
    buf[n] = '\0';
    fclose (f);
    if (len)
        *len = n;
    return buf;
}

/* Everything written to the FILE so far. */
static char *logged (FILE *f)
{
    static char buf[4096];
    long n;
    fflush (f);
    n = ftell (f);
    rewind (f);
    n = (long)fread (buf, 1, n > 0 && n < (long)sizeof (buf) ? (size_t)n : 0, f);
    buf[n > 0 ? n : 0] = '\0';
    fseek (f, 0, SEEK_END);
    return buf;
}

static void test_runlog (void)
{
    zpar_sweep_log_t l;
    FILE *f = tmpfile ();
    char buf[32];
    static const struct {
        double s;
        const char *text;
    } durations[] = {
        {0, "0s"},       {59.4, "59s"},   {60, "1m00s"}, {187, "3m07s"},
        {3600, "1h00m"}, {7500, "2h05m"}, {-1, "?"},     {2e9, "?"},
    };

    if (!f) {
        ok (0, "tmpfile");
        return;
    }
    zpar__sweep_log_init (&l, f, 0);
    ok (l.log == f && !l.live && !l.quiet, "a file is not live");
    zpar__sweep_note (&l, "hello %d", 1);
    zpar__sweep_warn (&l, "careful %s", "now");
    zpar__sweep_progress_line (&l, "sweep x: %d done", 3);
    is_str (logged (f), "zpar: hello 1\nzpar: careful now\nzpar: sweep x: 3 done\n",
            "notes, warnings and progress are lines");

    /* a live line is rewritten in place, then cleared before a note */
    l.live = 1;
    rewind (f);
    if (ftruncate (fileno (f), 0) < 0)
        diag ("ftruncate failed");
    zpar__sweep_progress_line (&l, "p%d", 1);
    zpar__sweep_progress_line (&l, "p%d", 2);
    ok (l.line_dirty, "a live progress line leaves the line dirty");
    zpar__sweep_note (&l, "note");
    ok (!l.line_dirty, "a note clears it");
    is_str (logged (f), "\rp1\033[K\rp2\033[K\r\033[Kzpar: note\n",
            "live progress: \\r, text, erase to the end; cleared before the note");
    zpar__sweep_log_clear (&l);
    is_str (logged (f), "\rp1\033[K\rp2\033[K\r\033[Kzpar: note\n",
            "clear with nothing on screen writes nothing");

    /* quiet: only warnings */
    rewind (f);
    if (ftruncate (fileno (f), 0) < 0)
        diag ("ftruncate failed");
    zpar__sweep_log_init (&l, f, 1);
    zpar__sweep_note (&l, "not shown");
    zpar__sweep_progress_line (&l, "not shown");
    zpar__sweep_warn (&l, "shown");
    is_str (logged (f), "zpar: shown\n", "quiet: warnings only");
    fclose (f);

    zpar__sweep_log_init (&l, NULL, 1);
    ok (l.log == stderr, "NULL log: stderr");

    for (size_t i = 0; i < sizeof (durations) / sizeof (durations[0]); i++) {
        zpar__sweep_fmt_duration (durations[i].s, buf, sizeof (buf));
        is_str (buf, durations[i].text, "duration %g s", durations[i].s);
    }
}

static void test_outfiles (void)
{
    zpar_sweep_dircache_t dc;
    struct stat st;
    size_t len;
    char *text, longp[5000];

    memset (&dc, 0, sizeof (dc));
    ok (zpar__sweep_ensure_dir (&dc, path_of ("a/b/c")) == 0 &&
            stat (path_of ("a/b/c"), &st) == 0 && S_ISDIR (st.st_mode),
        "ensure_dir makes the directories");
    rmdir (path_of ("a/b/c"));
    ok (zpar__sweep_ensure_dir (&dc, path_of ("a/b/c")) == 0 && stat (path_of ("a/b/c"), &st) < 0,
        "the same directory again costs nothing (remembered, not remade)");
    ok (zpar__sweep_ensure_dir (&dc, path_of ("a/b/d")) == 0 && stat (path_of ("a/b/d"), &st) == 0,
        "another directory is made");

    ok (zpar__sweep_write_output (&dc, path_of ("out/1.out"), "hello\n", 6, NULL, 0) == 0,
        "write an output file, parents made");
    text = slurp (path_of ("out/1.out"), &len);
    ok (text && len == 6 && strcmp (text, "hello\n") == 0, "its content");
    ok (zpar__sweep_write_output (&dc, path_of ("out/1.out"), "ab", 2, "cd", 2) == 0,
        "replace it with two parts");
    text = slurp (path_of ("out/1.out"), &len);
    ok (text && len == 4 && strcmp (text, "abcd") == 0, "replaced, both parts in order");
    ok (zpar__sweep_write_output (&dc, path_of ("out/1.out"), NULL, 0, NULL, 0) == 0 &&
            access (path_of ("out/1.out"), F_OK) < 0,
        "no output: the file of an earlier run is removed");
    ok (zpar__sweep_write_output (&dc, path_of ("out/none.out"), NULL, 0, NULL, 0) == 0 &&
            access (path_of ("out/none.out"), F_OK) < 0,
        "no output, no file: none made");

    memset (longp, 'x', sizeof (longp) - 1);
    longp[0] = '/';
    longp[sizeof (longp) - 1] = '\0';
    longp[sizeof (longp) - 10] = '/';
    errno = 0;
    ok (zpar__sweep_write_output (&dc, longp, "x", 1, NULL, 0) < 0 && errno == ENAMETOOLONG,
        "a parent directory longer than PATH_MAX: ENAMETOOLONG");
    (void)zpar__sweep_write_output (&dc, path_of ("out/file"), "x", 1, NULL, 0);
    errno = 0;
    ok (zpar__sweep_write_output (&dc, path_of ("out/file/x"), "x", 1, NULL, 0) < 0 && errno != 0,
        "a parent that is not a directory: -1 with errno (%s)", strerror (errno));

    errno = 0;
    ok (zpar__sweep_ensure_dir (NULL, "x") < 0 && errno == EINVAL, "ensure_dir: NULL cache");
    errno = 0;
    ok (zpar__sweep_ensure_dir (&dc, NULL) < 0 && errno == EINVAL, "ensure_dir: NULL dir");
    errno = 0;
    ok (zpar__sweep_write_output (NULL, "x", "x", 1, NULL, 0) < 0 && errno == EINVAL,
        "write: NULL cache");
    errno = 0;
    ok (zpar__sweep_write_output (&dc, NULL, "x", 1, NULL, 0) < 0 && errno == EINVAL,
        "write: NULL path");
    errno = 0;
    ok (zpar__sweep_write_output (&dc, path_of ("y"), NULL, 3, NULL, 0) < 0 && errno == EINVAL,
        "write: NULL data with a length");
    errno = 0;
    ok (zpar__sweep_write_output (&dc, path_of ("y"), "x", 1, NULL, 3) < 0 && errno == EINVAL,
        "write: NULL more with a length");
}

int main (void)
{
    char cmd[300];
    plan (NO_PLAN);
    if (!mkdtemp (dir)) {
        ok (0, "mkdtemp");
        return done_testing ();
    }
    test_runlog ();
    test_outfiles ();
    snprintf (cmd, sizeof (cmd), "rm -rf '%s'", dir);
    if (system (cmd) != 0)
        diag ("could not remove %s", dir);
    return done_testing ();
}
