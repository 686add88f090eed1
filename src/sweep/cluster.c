/* cluster.c - the cluster a sweep run uses. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "conn.h"
#include "error.h"
#include "launcher.h"

/* Bounds on the private cluster's commands (seconds). */
#define CLUSTER_START_TIMEOUT 120.0
#define CLUSTER_STOP_TIMEOUT  30.0

void zpar__sweep_private_stop (zpar_sweep_private_t *pc, zpar_sweep_log_t *log, int quiet)
{
    const zpar_launcher_t *l = zpar__launcher_find ("local");
    zpar_error_t e = {{0}};
    if (!pc || !pc->started)
        return;
    pc->started = 0;
    /* a start that failed has cleaned up after itself (ENOENT) */
    if (!l || (l->stop (pc->dir, CLUSTER_STOP_TIMEOUT, NULL, &e) < 0 && errno != ENOENT)) {
        if (!quiet)
            zpar__sweep_warn (log,
                              "could not stop the private cluster in %s (its processes are "
                              "listed in %s/pids)%s%s",
                              pc->dir, pc->dir, e.text[0] ? ": " : "", e.text);
    }
    /* whatever is left of it stops now (the tie, subproc.h) */
    if (pc->tie_fd > 0) {
        close (pc->tie_fd);
        pc->tie_fd = 0;
    }
}

/* Start a private local cluster of n engines through the local launcher;
 * on success pc->conn names its client connection file. */
static int private_start (zpar_sweep_private_t *pc, const zpar_sweep_spec_t *spec, unsigned n,
                          const char *exe, zpar_sweep_log_t *log, zpar_launch_cancel_f cancel,
                          void *cancel_arg, zpar_error_t *err)
{
    const zpar_launcher_t *l = zpar__launcher_find ("local");
    const char *outdir = zpar__sweep_spec_output_dir (spec);
    zpar_launch_opts_t o;
    zpar_launch_info_t info;
    zpar_error_t why = {{0}};

    if (!l)
        return zpar__errnoprintf (err, ENOSYS, "no local launcher in this zpar");
    if (n == 0) {
        long c = sysconf (_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (unsigned)c : 1;
    }
    /* ipc:// endpoints must stay under ~100 bytes: keep the dir short */
    if (strlen (outdir) + sizeof ("/.cluster") < 80) {
        static const char *records[] = {"tasks.sqlite", "tasks.sqlite-wal", "tasks.sqlite-shm"};
        char pids[PATH_MAX + 32];
        snprintf (pc->dir, sizeof (pc->dir), "%s/.cluster", outdir);
        if (zpar__mkdir_p (pc->dir, 0700) < 0)
            return zpar__errprintf (err, "cannot create %s: %s", pc->dir, strerror (errno));
        /* a cluster left by a run that was killed: stop it first (we hold
         * the journal lock, so no live run owns it) */
        snprintf (pids, sizeof (pids), "%s/pids", pc->dir);
        if (access (pids, F_OK) == 0) {
            zpar__sweep_note (log, "stopping a private cluster left by an earlier run in %s",
                              pc->dir);
            (void)l->stop (pc->dir, CLUSTER_STOP_TIMEOUT, NULL, NULL);
        }
        /* and its task records: a new controller in this directory would
         * queue again the tasks they show unfinished, behind the journal's
         * back (the journal decides what runs again) */
        for (size_t i = 0; i < sizeof (records) / sizeof (records[0]); i++) {
            snprintf (pids, sizeof (pids), "%s/%s", pc->dir, records[i]);
            (void)unlink (pids);
        }
    } else {
        const char *tmp = getenv ("TMPDIR");
        snprintf (pc->dir, sizeof (pc->dir), "%s/zpar-sweep-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp (pc->dir))
            return zpar__errprintf (err, "cannot create a directory for the private cluster: %s",
                                    strerror (errno));
    }
    zpar__sweep_note (log, "no cluster running: starting a private one with %u engines (%s)", n,
                      pc->dir);
    zpar__launch_opts_init (&o);
    o.engines = (int)n;
    o.dir = pc->dir;
    o.self = exe;
    o.timeout = CLUSTER_START_TIMEOUT;
    o.cancel = cancel;
    o.cancel_arg = cancel_arg;
    o.tie = 1;       /* it dies with this process, however this process ends */
    pc->started = 1; /* from here on, stop it whatever happens */
    if (l->start (&o, pc->conn, sizeof (pc->conn), &info, &why) < 0) {
        int e = errno;
        zpar__sweep_private_stop (pc, log, 1);
        if (e == ECANCELED)
            return zpar__errnoprintf (err, EINTR, "interrupted while starting the private cluster");
        if (e == ETIMEDOUT)
            return zpar__errnoprintf (err, EHOSTUNREACH,
                                      "the private cluster did not start within %.0f s (%s)",
                                      CLUSTER_START_TIMEOUT, why.text);
        return zpar__errnoprintf (err, EHOSTUNREACH, "could not start a private cluster in %s: %s",
                                  pc->dir, why.text);
    }
    pc->tie_fd = info.tie_fd;
    return 0;
}

zpar_client_t *zpar__sweep_connect (const zpar_sweep_run_opts_t *opts,
                                    const zpar_sweep_spec_t *spec, zpar_sweep_private_t *pc,
                                    zpar_sweep_log_t *log, zpar_launch_cancel_f cancel,
                                    void *cancel_arg, zpar_error_t *err)
{
    char path[PATH_MAX];
    const char *env = getenv ("ZPAR_CONNECTION_FILE");
    zpar_client_t *c;

    if (!opts || !spec || !pc || !log) {
        zpar__errnoprintf (err, EINVAL, "invalid argument");
        return NULL;
    }
    if (opts->connection_file || (env && *env))
        return zpar_client_connect (opts->connection_file ? opts->connection_file : env, err);
    /* the running local or job cluster, unless its controller is a dead
     * process of this host (then the cluster is not running) */
    if (zpar_connection_file_find (NULL, path, sizeof (path), NULL) == 0 &&
        zpar_connection_file_stale (path, NULL) == 0)
        return zpar_client_connect (path, err);
    if (!opts->private_cluster) {
        zpar_connection_file_find (NULL, path, sizeof (path), err);
        errno = EHOSTUNREACH;
        return NULL;
    }
    if (private_start (pc, spec, opts->engines, opts->zpar_exe, log, cancel, cancel_arg, err) < 0)
        return NULL;
    if (!(c = zpar_client_connect (pc->conn, err)))
        zpar__sweep_private_stop (pc, log, 0);
    return c;
}
