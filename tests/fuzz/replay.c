/* replay.c - run a fuzz target over its committed corpus, as a TAP test.
 *
 *   replay_<target> [FILE|DIR]...
 *
 * Without arguments it reads $srcdir/tests/fuzz/corpus/<target>/ (srcdir is
 * set by make check; FUZZ_TARGET is defined at build time).  Each file is
 * one test: "ok" when the target returned on it.  A crash, a sanitizer
 * report or an invariant failure (abort) ends the program, which the TAP
 * driver reports as an error naming the file being replayed (printed first
 * as a diagnostic).  A missing or empty corpus is a failure.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET must name the target"
#endif

static int ntests;
static int nfailed;

static int cmp (const void *a, const void *b)
{
    return strcmp (*(char *const *)a, *(char *const *)b);
}

static void replay_file (const char *path, const char *name)
{
    FILE *f = fopen (path, "rb");
    uint8_t *buf = NULL;
    long len;

    ntests++;
    if (!f || fseek (f, 0, SEEK_END) < 0 || (len = ftell (f)) < 0 || fseek (f, 0, SEEK_SET) < 0 ||
        !(buf = malloc (len ? (size_t)len : 1)) || fread (buf, 1, (size_t)len, f) != (size_t)len) {
        printf ("not ok %d - %s: cannot read: %s\n", ntests, name, strerror (errno));
        nfailed++;
        free (buf);
        if (f)
            fclose (f);
        return;
    }
    fclose (f);
    printf ("# replaying %s (%ld bytes)\n", name, len);
    fflush (stdout);
    (void)LLVMFuzzerTestOneInput (buf, (size_t)len);
    free (buf);
    printf ("ok %d - %s\n", ntests, name);
    fflush (stdout);
}

static void replay_dir (const char *dir)
{
    DIR *d = opendir (dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;

    if (!d) {
        ntests++;
        nfailed++;
        printf ("not ok %d - corpus %s: %s\n", ntests, dir, strerror (errno));
        return;
    }
    while ((e = readdir (d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            if (!(names = realloc (names, cap * sizeof (*names))))
                abort ();
        }
        if (!(names[n++] = strdup (e->d_name)))
            abort ();
    }
    closedir (d);
    qsort (names, n, sizeof (*names), cmp);
    if (n == 0) {
        ntests++;
        nfailed++;
        printf ("not ok %d - corpus %s is empty\n", ntests, dir);
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen (dir) + strlen (names[i]) + 2;
        char *path = malloc (l);
        if (!path)
            abort ();
        snprintf (path, l, "%s/%s", dir, names[i]);
        replay_file (path, names[i]);
        free (path);
        free (names[i]);
    }
    free (names);
}

static void replay (const char *path)
{
    struct stat st;
    if (stat (path, &st) == 0 && S_ISDIR (st.st_mode))
        replay_dir (path);
    else
        replay_file (path, path);
}

int main (int argc, char **argv)
{
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            replay (argv[i]);
    } else {
        const char *srcdir = getenv ("srcdir");
        char dir[4096];
        snprintf (dir, sizeof (dir), "%s/tests/fuzz/corpus/%s", srcdir ? srcdir : ".", FUZZ_TARGET);
        replay (dir);
    }
    printf ("1..%d\n", ntests);
    return nfailed ? 1 : 0;
}
