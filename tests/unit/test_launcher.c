/* test_launcher.c - the launch back ends' interface: lookup, the state
 * records, bad parameters, and (with $ZPAR, the built program) a real local
 * cluster: start, a second start refused, cancel, stop. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "launcher.h"
#include "tap.h"

static char tmp[] = "/tmp/zpar-test-launcher-XXXXXX";

static void put (const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    FILE *f;
    snprintf (path, sizeof (path), "%s/%s", dir, name);
    if ((f = fopen (path, "w"))) {
        fputs (text, f);
        fclose (f);
    }
}

static int exists (const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf (path, sizeof (path), "%s/%s", dir, name);
    return access (path, F_OK) == 0;
}

static int always (void *arg)
{
    (void)arg;
    return 1;
}

int main (void)
{
    const zpar_launcher_t *local, *l;
    zpar_launch_opts_t o;
    zpar_launch_info_t info;
    zpar_error_t err;
    char dir[PATH_MAX], conn[PATH_MAX], name[16], id[256];
    const char *zpar = getenv ("ZPAR");
    int stale = -1;

    plan (NO_PLAN);
    if (!mkdtemp (tmp))
        return 1;

    /* lookup */
    ok ((local = zpar__launcher_find ("local")) != NULL, "find local");
    ok (zpar__launcher_find ("mpi") && zpar__launcher_find ("slurm") && zpar__launcher_find ("pbs"),
        "find mpi, slurm, pbs");
    ok (local && !strcmp (local->name, "local") && local->start && local->stop,
        "local is complete");
    errno = 0;
    ok (!zpar__launcher_find ("nope") && errno == ENOENT, "unknown name: NULL ENOENT");
    ok (!zpar__launcher_find (NULL), "NULL name: NULL");
    memset (&o, 0xff, sizeof (o));
    zpar__launch_opts_init (&o);
    ok (o.engines == 0 && !o.dir && !o.cancel && o.timeout == 0, "opts_init zeroes");

    /* state records */
    snprintf (dir, sizeof (dir), "%s/state", tmp);
    mkdir (dir, 0700);
    errno = 0;
    ok (!zpar__launcher_of (dir) && errno == ENOENT, "nothing recorded: ENOENT");
    ok (zpar__launch_state_write (dir, "mpi", "1234", "/x/client.json") == 0, "state_write");
    ok (zpar__launch_state_read (dir, name, id) == 0 && !strcmp (name, "mpi") &&
            !strcmp (id, "1234"),
        "state_read gives it back");
    ok ((l = zpar__launcher_of (dir)) && !strcmp (l->name, "mpi"), "launcher_of: mpi");
    put (dir, "launcher", "martian 1\n");
    errno = 0;
    ok (!zpar__launcher_of (dir) && errno == EINVAL, "unknown record: EINVAL");
    put (dir, "launcher", "\n");
    errno = 0;
    ok (zpar__launch_state_read (dir, name, id) < 0 && errno == EINVAL, "malformed record: EINVAL");
    unlink (strcat (strcpy (conn, dir), "/launcher"));
    put (dir, "pids", "controller 999999999 1\n");
    ok ((l = zpar__launcher_of (dir)) && l == local, "pids file: local");
    ok (zpar__local_running (dir, NULL, &stale, &err) == 0 && stale == 1,
        "dead recorded cluster: not running, stale");
    ok (!exists (dir, "pids"), "its records are removed");
    ok (zpar__local_running (dir, NULL, &stale, &err) == 0 && stale == 0, "empty dir: not running");

    /* bad parameters */
    {
        struct {
            const char *what;
            int engines;
            const char *dir;
            double timeout;
        } bad[] = {
            {"0 engines", 0, dir, 10}, {"negative engines", -1, dir, 10},
            {"no dir", 1, NULL, 10},   {"empty dir", 1, "", 10},
            {"no timeout", 1, dir, 0}, {"negative timeout", 1, dir, -1},
        };
        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
            zpar__launch_opts_init (&o);
            o.engines = bad[i].engines;
            o.dir = bad[i].dir;
            o.timeout = bad[i].timeout;
            errno = 0;
            ok (local->start (&o, conn, sizeof (conn), &info, &err) < 0 && errno == EINVAL,
                "local start, %s: EINVAL", bad[i].what);
        }
        zpar__launch_opts_init (&o);
        o.engines = 1;
        o.dir = dir;
        o.timeout = 1;
        errno = 0;
        ok (local->start (&o, NULL, 0, NULL, &err) < 0 && errno == EINVAL,
            "no conn buffer: EINVAL");
        errno = 0;
        ok (local->start (NULL, conn, sizeof (conn), NULL, &err) < 0 && errno == EINVAL,
            "NULL opts: EINVAL");
        errno = 0;
        ok (local->stop (NULL, 1, NULL, &err) < 0 && errno == EINVAL, "stop NULL dir: EINVAL");
        errno = 0;
        ok (local->stop (dir, 1, &info, &err) < 0 && errno == ENOENT,
            "stop, nothing there: ENOENT");
        errno = 0;
        ok (zpar__launcher_find ("mpi")->stop (dir, 1, NULL, &err) < 0 && errno == ENOENT,
            "mpi stop, nothing there: ENOENT");
        errno = 0;
        ok (zpar__launch_stop_conn (NULL, 1, NULL, &err) < 0 && errno == EINVAL,
            "stop_conn NULL: EINVAL");
        snprintf (conn, sizeof (conn), "%s/none.json", dir);
        errno = 0;
        ok (zpar__launch_stop_conn (conn, 1, NULL, &err) < 0 && errno == ENOENT,
            "stop_conn missing file: ENOENT");
        put (dir, "bad.json", "not json");
        snprintf (conn, sizeof (conn), "%s/bad.json", dir);
        errno = 0;
        ok (zpar__launch_stop_conn (conn, 1, NULL, &err) < 0 && errno == EINVAL,
            "stop_conn garbage file: EINVAL");
        errno = 0;
        ok (zpar__local_running (NULL, NULL, NULL, &err) < 0 && errno == EINVAL,
            "local_running NULL dir: EINVAL");
        snprintf (conn, sizeof (conn), "%s/never.json", dir);
        errno = 0;
        ok (zpar__launch_wait_ready (conn, 1, 0.2, NULL, &err) < 0 && errno == ETIMEDOUT,
            "wait_ready without a file: ETIMEDOUT (%s)", err.text);
    }

    /* a real local cluster */
    if (!zpar || access (zpar, X_OK) < 0) {
        diag ("ZPAR not set: skipping the live local cluster");
        rmdir (dir);
        return done_testing ();
    }
    snprintf (dir, sizeof (dir), "%s/c", tmp);
    zpar__launch_opts_init (&o);
    o.engines = 2;
    o.dir = dir;
    o.self = zpar;
    o.timeout = 60;
    o.cancel = always;
    errno = 0;
    ok (local->start (&o, conn, sizeof (conn), &info, &err) < 0 && errno == ECANCELED,
        "start cancelled at once: ECANCELED");
    ok (!exists (dir, "pids") && !exists (dir, "client.json"),
        "a cancelled start leaves no records");
    o.cancel = NULL;
    if (!ok (local->start (&o, conn, sizeof (conn), &info, &err) == 0, "start 2 engines"))
        diag ("%s", err.text);
    ok (exists (dir, "client.json") && exists (dir, "pids"), "client.json and pids written");
    ok (strstr (conn, "/client.json") != NULL, "conn names client.json: %s", conn);
    errno = 0;
    ok (local->start (&o, conn, sizeof (conn), &info, &err) < 0 && errno == EBUSY,
        "second start: EBUSY");
    ok (strstr (err.text, "already running") != NULL, "says so: %s", err.text);
    ok (zpar__local_running (dir, NULL, &stale, &err) == 1, "local_running: 1");
    ok ((l = zpar__launcher_of (dir)) == local, "launcher_of: local");
    ok (local->stop (dir, 10, &info, &err) == 0, "stop");
    ok (info.found == 3 && info.shut == 1 && info.killed == 0,
        "found 3, shut down cleanly (found %zu shut %d killed %zu)", info.found, info.shut,
        info.killed);
    ok (!exists (dir, "pids") && !exists (dir, "client.json"), "stop removes the records");
    if (system ("rm -rf /tmp/zpar-test-launcher-*/c /tmp/zpar-test-launcher-*/state") != 0)
        diag ("cleanup failed");
    rmdir (tmp);
    return done_testing ();
}
