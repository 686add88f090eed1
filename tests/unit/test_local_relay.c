/* test_local_relay.c - whether a local cluster's engines go through a
 * relay, and where its endpoints are (launchers/local_relay.h), and the
 * pids file of a local cluster with its relay (local_procs.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher.h"
#include "local_procs.h"
#include "local_relay.h"
#include "tap.h"

/* every other field 0 / NULL, as zpar__launch_opts_init leaves them */
static zpar_launch_opts_t opts (int engines, const char *relay, const char *scheme, const char *dir)
{
    return (zpar_launch_opts_t){.engines = engines, .relay = relay, .scheme = scheme, .dir = dir};
}

int main (void)
{
    char rdir[PATH_MAX], want[PATH_MAX], longdir[200];
    zpar_error_t err;
    zpar_launch_opts_t o;

    plan (NO_PLAN);
    unsetenv ("ZPAR_RELAY");
    unsetenv ("ZPAR_RELAY_CONTROLLER_NODE");
    snprintf (want, sizeof (want), "%s", "/c/relay");

    o = opts (255, NULL, NULL, "/c");
    ok (zpar__local_relay_dir (&o, "/c/engine.json", rdir, sizeof (rdir), &err) == 0 && !rdir[0],
        "auto, 255 engines: direct");
    o = opts (256, NULL, NULL, "/c");
    ok (zpar__local_relay_dir (&o, "/c/engine.json", rdir, sizeof (rdir), &err) == 0 &&
            !strcmp (rdir, want),
        "auto, 256 engines: through the relay in DIR/relay (%s)", rdir);
    o = opts (1000, "never", NULL, "/c");
    ok (zpar__local_relay_dir (&o, "/c/engine.json", rdir, sizeof (rdir), &err) == 0 && !rdir[0],
        "never: direct");
    o = opts (1, "always", NULL, "/c");
    ok (zpar__local_relay_dir (&o, "/c/engine.json", rdir, sizeof (rdir), &err) == 0 &&
            !strcmp (rdir, want),
        "always: even one engine");
    o = opts (1000, NULL, "pure", "/c");
    ok (zpar__local_relay_dir (&o, "/c/engine.json", rdir, sizeof (rdir), &err) == 0 && !rdir[0],
        "the pure scheme: never");
    setenv ("ZPAR_RELAY_CONTROLLER_NODE", "4", 1);
    o = opts (4, NULL, NULL, "/c");
    ok (zpar__local_relay_dir (&o, "/c/engine.json", rdir, sizeof (rdir), &err) == 0 &&
            !strcmp (rdir, want),
        "ZPAR_RELAY_CONTROLLER_NODE=4: 4 engines through the relay");
    setenv ("ZPAR_RELAY_CONTROLLER_NODE", "0", 1);
    o = opts (1000, NULL, NULL, "/c");
    ok (zpar__local_relay_dir (&o, "/c/engine.json", rdir, sizeof (rdir), &err) == 0 && !rdir[0],
        "ZPAR_RELAY_CONTROLLER_NODE=0: never under auto");
    unsetenv ("ZPAR_RELAY_CONTROLLER_NODE");
    setenv ("ZPAR_RELAY", "always", 1);
    o = opts (1, NULL, NULL, "/c");
    ok (zpar__local_relay_dir (&o, "/c/engine.json", rdir, sizeof (rdir), &err) == 0 &&
            !strcmp (rdir, want),
        "ZPAR_RELAY=always when --relay is not given");
    unsetenv ("ZPAR_RELAY");
    o = opts (100, "sometimes", NULL, "/c");
    ok (zpar__local_relay_dir (&o, "/c/engine.json", rdir, sizeof (rdir), &err) < 0 &&
            errno == EINVAL && strstr (err.text, "auto, always or never"),
        "a bad mode: EINVAL (%s)", err.text);
    memset (longdir, 'd', sizeof (longdir) - 1);
    longdir[0] = '/';
    longdir[sizeof (longdir) - 1] = '\0';
    o = opts (300, NULL, NULL, longdir);
    ok (zpar__local_relay_dir (&o, "/nonexistent/engine.json", rdir, sizeof (rdir), &err) < 0 &&
            !rdir[0],
        "DIR/relay too long for ipc: the node's relay directory, from the cluster's key "
        "(none here: an error)");
    ok (zpar__local_relay_dir (NULL, "/c/engine.json", rdir, sizeof (rdir), &err) < 0 &&
            errno == EINVAL,
        "no options: EINVAL");

    /* the pids file with a relay line */
    {
        char tmp[] = "/tmp/zpar-test-local-relay-XXXXXX", path[PATH_MAX];
        zpar_proc_list_t l = {0}, r = {0};
        int fd;
        if (!mkdtemp (tmp)) {
            diag ("mkdtemp: %s", strerror (errno));
            return 1;
        }
        snprintf (path, sizeof (path), "%s/pids", tmp);
        fd = open (path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        ok (fd >= 0 && zpar__procs_record (fd, &l, 1, 0, getpid ()) == 0 &&
                zpar__procs_record (fd, &l, 2, 0, getpid ()) == 0 &&
                zpar__procs_record (fd, &l, 0, 1, getpid ()) == 0,
            "controller, relay and engine recorded");
        close (fd);
        ok (zpar__procs_read (tmp, &r) == 0 && r.n == 3 && r.v[0].is_controller &&
                r.v[1].is_relay && !r.v[1].is_controller && !r.v[2].is_relay && r.v[2].n == 1,
            "and read back: the relay as a relay");
        ok (zpar__procs_alive (&r, 1) == 0,
            "this test program is none of zpar's processes (cmdline checked)");
        unlink (path);
        rmdir (tmp);
        free (l.v);
        free (r.v);
    }
    done_testing ();
}
