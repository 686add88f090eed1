/* launch.c - the mpi, slurm and pbs launch back ends. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "error.h"
#include "launcher.h"
#include "zpar.h"

static double now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap (double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep (&ts, NULL);
}

int zpar__launch_wait_ready (const char *conn, int n, double timeout, zpar_error_t *err)
{
    double deadline = now () + timeout;
    zpar_client_t *c = NULL;

    while (access (conn, R_OK) < 0) {
        if (now () > deadline)
            return zpar__errnoprintf (err, ETIMEDOUT,
                                      "no connection file %s after %.0f s", conn, timeout);
        nap (0.02);
    }
    while (!c) {
        zpar_error_t e;
        if ((c = zpar_client_connect (conn, &e)))
            break;
        if (now () > deadline)
            return zpar__errnoprintf (err, ETIMEDOUT, "cannot reach the controller: %s", e.text);
        nap (0.05);
    }
    while (1) {
        zpar_engine_info_t *list = NULL;
        size_t cnt = 0, alive = 0;
        if (zpar_client_engines (c, &list, &cnt, NULL) == 0) {
            for (size_t i = 0; i < cnt; i++)
                if (strcmp (list[i].state, "dead") != 0)
                    alive++;
            free (list);
            if ((int)alive >= n)
                break;
        }
        if (now () > deadline) {
            zpar_client_destroy (c);
            return zpar__errnoprintf (err, ETIMEDOUT, "only %zu of %d engines registered after %.0f s",
                                      alive, n, timeout);
        }
        nap (0.01);
    }
    zpar_client_destroy (c);
    return 0;
}

/* Run argv, capture its stdout into out (truncated to size).  Returns the
 * exit status, or -1. */
static int run_capture (char *const argv[], char *out, size_t size, const char *logpath)
{
    int fd[2];
    pid_t pid;
    int st;
    size_t n = 0;
    ssize_t r;

    if (pipe (fd) < 0)
        return -1;
    if ((pid = fork ()) < 0) {
        close (fd[0]);
        close (fd[1]);
        return -1;
    }
    if (pid == 0) {
        int lf = logpath ? open (logpath, O_WRONLY | O_CREAT | O_APPEND, 0600) : -1;
        dup2 (fd[1], 1);
        if (lf >= 0)
            dup2 (lf, 2);
        close (fd[0]);
        execvp (argv[0], argv);
        fprintf (stderr, "zpar: cannot run %s: %s\n", argv[0], strerror (errno));
        _exit (127);
    }
    close (fd[1]);
    while (n + 1 < size && (r = read (fd[0], out + n, size - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close (fd[0]);
    while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
}

static int write_state (const char *dir, const char *name, const char *id, const char *conn)
{
    char path[PATH_MAX];
    FILE *f;
    snprintf (path, sizeof (path), "%s/launcher", dir);
    if (!(f = fopen (path, "w")))
        return -1;
    fprintf (f, "%s %s\n%s\n", name, id, conn);
    return fclose (f);
}

static int read_state (const char *dir, char *name, char *id, size_t idsize)
{
    char path[PATH_MAX], line[512];
    FILE *f;
    snprintf (path, sizeof (path), "%s/launcher", dir);
    if (!(f = fopen (path, "r")))
        return -1;
    if (!fgets (line, sizeof (line), f) || sscanf (line, "%15s %255s", name, id) != 2) {
        fclose (f);
        errno = EINVAL;
        return -1;
    }
    (void)idsize;
    fclose (f);
    return 0;
}

static int job_conn_path (const char *jobid, char *conn, size_t size)
{
    char base[PATH_MAX];
    if (zpar__zpar_dir (base, sizeof (base)) < 0)
        return -1;
    snprintf (conn, size, "%s/job-%s/client.json", base, jobid);
    return 0;
}

/* ------------------------------------------------------------------ mpi */

static int mpi_start (const zpar_launch_opts_t *o, char *conn, size_t size, zpar_error_t *err)
{
    char np[16], log[PATH_MAX], pid_s[32];
    char *argv[64];
    int a = 0;
    pid_t pid;

    snprintf (np, sizeof (np), "%d", o->engines + 1);
    snprintf (log, sizeof (log), "%s/mpirun.log", o->dir);
    snprintf (conn, size, "%s/client.json", o->dir);
    unlink (conn);
    argv[a++] = "mpirun";
    argv[a++] = "-n";
    argv[a++] = np;
    argv[a++] = "--oversubscribe";
    for (int i = 0; i < o->nextra && a < 50; i++)
        argv[a++] = o->extra[i];
    argv[a++] = (char *)o->self;
    argv[a++] = "run";
    argv[a++] = "--dir";
    argv[a++] = (char *)o->dir;
    argv[a] = NULL;
    if ((pid = fork ()) < 0)
        return zpar__errprintf (err, "fork: %s", strerror (errno));
    if (pid == 0) {
        int fd = open (log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open ("/dev/null", O_RDONLY);
        setsid ();
        if (nul >= 0)
            dup2 (nul, 0);
        if (fd >= 0) {
            dup2 (fd, 1);
            dup2 (fd, 2);
        }
        execvp (argv[0], argv);
        _exit (127);
    }
    snprintf (pid_s, sizeof (pid_s), "%d", (int)pid);
    write_state (o->dir, "mpi", pid_s, conn);
    if (zpar__launch_wait_ready (conn, o->engines, o->timeout, err) < 0) {
        kill (pid, SIGTERM);
        return -1;
    }
    return 0;
}

static int mpi_stop (const char *dir, double timeout, zpar_error_t *err)
{
    char name[16], id[256];
    pid_t pid;
    double deadline = now () + timeout;
    if (read_state (dir, name, id, sizeof (id)) < 0)
        return zpar__errprintf (err, "no mpi launch recorded in %s", dir);
    pid = (pid_t)atoi (id);
    if (pid <= 0)
        return zpar__errnoprintf (err, EINVAL, "bad pid in %s/launcher", dir);
    while (kill (pid, 0) == 0 && now () < deadline) {
        int st;
        if (waitpid (pid, &st, WNOHANG) == pid)
            break;
        nap (0.05);
    }
    if (kill (pid, 0) == 0) {
        kill (pid, SIGTERM);
        nap (1.0);
        kill (pid, SIGKILL);
    }
    return 0;
}

/* ---------------------------------------------------------------- batch */

static int job_active (const char *kind, const char *id)
{
    char out[256];
    char *argv[8];
    int a = 0;
    if (!strcmp (kind, "slurm")) {
        argv[a++] = "squeue";
        argv[a++] = "-h";
        argv[a++] = "-j";
        argv[a++] = (char *)id;
        argv[a++] = "-o";
        argv[a++] = "%T";
    }
    else {
        argv[a++] = "qstat";
        argv[a++] = (char *)id;
    }
    argv[a] = NULL;
    if (run_capture (argv, out, sizeof (out), NULL) != 0)
        return 0;
    if (!strcmp (kind, "slurm")) {
        out[strcspn (out, "\r\n")] = '\0';
        return out[0] && strstr ("PENDING RUNNING CONFIGURING COMPLETING SUSPENDED", out) != NULL;
    }
    /* qstat: a header, a rule, then "ID NAME USER TIME S QUEUE"; C (and F
     * in PBS Pro) mean finished, and a finished job may linger in qstat */
    {
        char jid[128], name[128], user[128], t[64], state[8] = "";
        const char *line = out;
        for (int k = 0; k < 2 && line; k++) {
            line = strchr (line, '\n');
            if (line)
                line++;
        }
        if (!line || sscanf (line, "%127s %127s %127s %63s %7s", jid, name, user, t, state) != 5)
            return 0;
        return strcmp (state, "C") != 0 && strcmp (state, "F") != 0;
    }
}

static int batch_start (const char *kind, const zpar_launch_opts_t *o, char *conn, size_t size,
                        zpar_error_t *err)
{
    char script[PATH_MAX], out[512], log[PATH_MAX], ntasks[32], timearg[64], part[128];
    char *argv[80];
    int a = 0, rc;
    FILE *f;
    double deadline = now () + o->timeout;

    snprintf (script, sizeof (script), "%s/job.sh", o->dir);
    snprintf (log, sizeof (log), "%s/job-%s.out", o->dir, !strcmp (kind, "slurm") ? "%j" : "pbs");
    if (!(f = fopen (script, "w")))
        return zpar__errprintf (err, "cannot write %s: %s", script, strerror (errno));
    fprintf (f, "#!/bin/sh\n# generated by zpar cluster start --launcher %s\n", kind);
    if (!strcmp (kind, "slurm"))
        fprintf (f, "exec srun --kill-on-bad-exit=0 '%s' run %s\n", o->self, o->run_args ? o->run_args : "");
    else
        fprintf (f,
                 "cd \"${PBS_O_WORKDIR:-.}\"\n"
                 "if [ -n \"${PBS_NODEFILE:-}\" ]; then\n"
                 "  exec mpirun --hostfile \"$PBS_NODEFILE\" '%s' run %s\n"
                 "else\n"
                 "  # qsub wrappers over Slurm give no node file: use srun\n"
                 "  exec srun --kill-on-bad-exit=0 '%s' run %s\n"
                 "fi\n",
                 o->self, o->run_args ? o->run_args : "", o->self, o->run_args ? o->run_args : "");
    fclose (f);
    chmod (script, 0700);
    if (!strcmp (kind, "slurm")) {
        snprintf (ntasks, sizeof (ntasks), "--ntasks=%d", o->engines + 1);
        argv[a++] = "sbatch";
        argv[a++] = "--parsable";
        argv[a++] = "--job-name=zpar-cluster";
        argv[a++] = ntasks;
        argv[a++] = "--output";
        argv[a++] = log;
        if (o->time) {
            snprintf (timearg, sizeof (timearg), "--time=%s", o->time);
            argv[a++] = timearg;
        }
        if (o->partition) {
            snprintf (part, sizeof (part), "--partition=%s", o->partition);
            argv[a++] = part;
        }
    }
    else {
        snprintf (ntasks, sizeof (ntasks), "nodes=1:ppn=%d", o->engines + 1);
        argv[a++] = "qsub";
        argv[a++] = "-N";
        argv[a++] = "zpar-cluster";
        argv[a++] = "-l";
        argv[a++] = ntasks;
        argv[a++] = "-j";
        argv[a++] = "oe";
        argv[a++] = "-o";
        argv[a++] = log;
        if (o->time) {
            snprintf (timearg, sizeof (timearg), "walltime=%s", o->time);
            argv[a++] = "-l";
            argv[a++] = timearg;
        }
        if (o->partition) {
            argv[a++] = "-q";
            argv[a++] = (char *)o->partition;
        }
    }
    for (int i = 0; i < o->nextra && a < 76; i++)
        argv[a++] = o->extra[i];
    argv[a++] = script;
    argv[a] = NULL;
    if ((rc = run_capture (argv, out, sizeof (out), NULL)) != 0 || !out[0])
        return zpar__errnoprintf (err, EIO, "%s failed (exit %d): is %s installed and configured?",
                                  argv[0], rc, !strcmp (kind, "slurm") ? "Slurm (sbatch)" : "PBS (qsub)");
    out[strcspn (out, "; \t\r\n")] = '\0';
    job_conn_path (out, conn, size);
    write_state (o->dir, kind, out, conn);
    /* wait for the job's controller, watching that the job is still there */
    while (access (conn, R_OK) < 0) {
        if (now () > deadline)
            return zpar__errnoprintf (err, ETIMEDOUT,
                                      "job %s did not start its controller within %.0f s (still queued?); "
                                      "end it with 'zpar cluster stop'", out, o->timeout);
        if (!job_active (kind, out))
            return zpar__errnoprintf (err, EIO, "job %s ended before its controller was ready: see %s/job-*.out",
                                      out, o->dir);
        nap (0.1);
    }
    return zpar__launch_wait_ready (conn, o->engines, deadline - now () > 1 ? deadline - now () : 1, err);
}

static int batch_stop (const char *kind, const char *dir, double timeout, zpar_error_t *err)
{
    char name[16], id[256];
    char *argv[4];
    char out[256];
    double deadline = now () + timeout;
    if (read_state (dir, name, id, sizeof (id)) < 0)
        return zpar__errprintf (err, "no %s job recorded in %s", kind, dir);
    /* give the job a moment to end by itself after the shutdown request */
    while (job_active (kind, id) && now () < deadline - timeout / 2)
        nap (0.1);
    if (job_active (kind, id)) {
        argv[0] = !strcmp (kind, "slurm") ? "scancel" : "qdel";
        argv[1] = id;
        argv[2] = NULL;
        run_capture (argv, out, sizeof (out), NULL);
    }
    while (job_active (kind, id)) {
        if (now () > deadline)
            return zpar__errnoprintf (err, ETIMEDOUT, "job %s is still in the queue", id);
        nap (0.1);
    }
    return 0;
}

static int slurm_start (const zpar_launch_opts_t *o, char *conn, size_t size, zpar_error_t *err)
{
    return batch_start ("slurm", o, conn, size, err);
}

static int slurm_stop (const char *dir, double timeout, zpar_error_t *err)
{
    return batch_stop ("slurm", dir, timeout, err);
}

static int pbs_start (const zpar_launch_opts_t *o, char *conn, size_t size, zpar_error_t *err)
{
    return batch_start ("pbs", o, conn, size, err);
}

static int pbs_stop (const char *dir, double timeout, zpar_error_t *err)
{
    return batch_stop ("pbs", dir, timeout, err);
}

static const zpar_launcher_t launchers[] = {
    {"mpi", mpi_start, mpi_stop},
    {"slurm", slurm_start, slurm_stop},
    {"pbs", pbs_start, pbs_stop},
};

const zpar_launcher_t *zpar__launcher_find (const char *name)
{
    for (size_t i = 0; name && i < sizeof (launchers) / sizeof (launchers[0]); i++)
        if (!strcmp (launchers[i].name, name))
            return &launchers[i];
    return NULL;
}
