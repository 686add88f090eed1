/* cluster.c - the cluster a sweep run uses. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster.h"
#include "conn.h"
#include "error.h"

/* Bounds on the private cluster's commands (seconds). */
#define CLUSTER_START_TIMEOUT 120.0
#define CLUSTER_STOP_TIMEOUT  30.0

/* Run argv (stdin from /dev/null, stdout captured into out when out is not
 * NULL, stderr inherited) for at most timeout seconds.  Its wait status, or
 * -1 with errno (ETIMEDOUT, EINTR when cancel said so, or a spawn error). */
static int run_child (char *const argv[], char *out, size_t outsize, double timeout,
                      zpar_subproc_cancel_f cancel, void *arg)
{
    zpar_subproc_opts_t o = {.argv = argv, .flags = ZPAR_SUBPROC_STDIN_NULL};
    int status = 0;
    if (zpar__subproc_capture (&o, out, out ? outsize : 0, timeout, cancel, arg, &status, NULL) <
        0) {
        if (errno == ECANCELED)
            errno = EINTR;
        return -1;
    }
    return status;
}

static int self_exe (const char *opt, char *buf, size_t size)
{
    ssize_t n;
    if (opt) {
        snprintf (buf, size, "%s", opt);
        return 0;
    }
    if ((n = readlink ("/proc/self/exe", buf, size - 1)) < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

void zpar__sweep_private_stop (zpar_sweep_private_t *pc, zpar_sweep_log_t *log, int quiet)
{
    char *argv[] = {pc ? pc->exe : NULL, "cluster", "stop", "--dir", pc ? pc->dir : NULL, NULL};
    int st;
    char pids[PATH_MAX + 16], conn[PATH_MAX + 16];
    if (!pc || !pc->started)
        return;
    pc->started = 0;
    /* a start that failed has cleaned up after itself */
    snprintf (pids, sizeof (pids), "%s/pids", pc->dir);
    snprintf (conn, sizeof (conn), "%s/client.json", pc->dir);
    if (access (pids, F_OK) < 0 && access (conn, F_OK) < 0)
        return;
    st = run_child (argv, NULL, 0, CLUSTER_STOP_TIMEOUT, NULL, NULL);
    if (!quiet && (st < 0 || !WIFEXITED (st) || WEXITSTATUS (st) != 0))
        zpar__sweep_warn (log,
                          "could not stop the private cluster in %s (its processes are listed "
                          "in %s/pids)",
                          pc->dir, pc->dir);
}

/* Start a private local cluster of n engines; on success pc->conn names
 * its client connection file. */
static int private_start (zpar_sweep_private_t *pc, const zpar_sweep_spec_t *spec, unsigned n,
                          const char *exe, zpar_sweep_log_t *log, zpar_subproc_cancel_f cancel,
                          void *cancel_arg, zpar_error_t *err)
{
    const char *outdir = zpar__sweep_spec_output_dir (spec);
    char nbuf[16], out[4096];
    char *line, *save = NULL, *last = NULL;
    int st;

    if (self_exe (exe, pc->exe, sizeof (pc->exe)) < 0)
        return zpar__errprintf (err, "cannot find the zpar program: %s", strerror (errno));
    if (n == 0) {
        long c = sysconf (_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (unsigned)c : 1;
    }
    snprintf (nbuf, sizeof (nbuf), "%u", n);
    /* ipc:// endpoints must stay under ~100 bytes: keep the dir short */
    if (strlen (outdir) + sizeof ("/.cluster") < 80) {
        snprintf (pc->dir, sizeof (pc->dir), "%s/.cluster", outdir);
        if (zpar__mkdir_p (pc->dir, 0700) < 0)
            return zpar__errprintf (err, "cannot create %s: %s", pc->dir, strerror (errno));
        /* a cluster left by a run that was killed: stop it first (we hold
         * the journal lock, so no live run owns it) */
        if (access (pc->dir, F_OK) == 0) {
            char path[PATH_MAX + 16];
            snprintf (path, sizeof (path), "%s/pids", pc->dir);
            if (access (path, F_OK) == 0) {
                char *argv[] = {pc->exe, "cluster", "stop", "--dir", pc->dir, NULL};
                zpar__sweep_note (log, "stopping a private cluster left by an earlier run in %s",
                                  pc->dir);
                (void)run_child (argv, NULL, 0, CLUSTER_STOP_TIMEOUT, cancel, cancel_arg);
            }
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
    {
        char *argv[] = {pc->exe, "cluster", "start", "-n", nbuf, "--dir", pc->dir, NULL};
        pc->started = 1; /* from here on, stop it whatever happens */
        st = run_child (argv, out, sizeof (out), CLUSTER_START_TIMEOUT, cancel, cancel_arg);
    }
    if (st < 0 || !WIFEXITED (st) || WEXITSTATUS (st) != 0) {
        int e = st < 0 ? errno : 0;
        zpar__sweep_private_stop (pc, log, 1);
        if (e == EINTR)
            return zpar__errnoprintf (err, EINTR, "interrupted while starting the private cluster");
        if (e == ETIMEDOUT)
            return zpar__errnoprintf (err, EHOSTUNREACH,
                                      "the private cluster did not start within %.0f s",
                                      CLUSTER_START_TIMEOUT);
        return zpar__errnoprintf (err, EHOSTUNREACH,
                                  "could not start a private cluster (%s cluster start -n %u "
                                  "--dir %s failed)",
                                  pc->exe, n, pc->dir);
    }
    for (line = strtok_r (out, "\r\n", &save); line; line = strtok_r (NULL, "\r\n", &save))
        if (*line)
            last = line;
    if (last && last[0] == '/' && access (last, R_OK) == 0)
        snprintf (pc->conn, sizeof (pc->conn), "%s", last);
    else
        snprintf (pc->conn, sizeof (pc->conn), "%s/client.json", pc->dir);
    return 0;
}

zpar_client_t *zpar__sweep_connect (const zpar_sweep_run_opts_t *opts,
                                    const zpar_sweep_spec_t *spec, zpar_sweep_private_t *pc,
                                    zpar_sweep_log_t *log, zpar_subproc_cancel_f cancel,
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
