/* launcher.h - launch back ends: how a controller and N engines get
 * running, and how they are ended (internal).
 *
 *   local  controller and engines as background processes on this machine,
 *          recorded in <dir>/pids                              (local.c)
 *   mpi    `mpirun -n N+1 zpar run` in the background          (mpi.c)
 *   slurm  `sbatch` of a job whose step is `srun zpar run`     (slurm.c)
 *   pbs    `qsub` of a job whose script is `mpirun --hostfile $PBS_NODEFILE
 *          zpar run`                                            (pbs.c)
 *
 * Their common part (the "launcher" state file, waiting for the engines,
 * batch submission) is in common.c.
 *
 * Every back end's start returns once the client connection file exists
 * and N engines have registered (or fails: timeout, cancel, a process or
 * job that ended), and records in the cluster directory what it started
 * (local: file "pids"; the others: file "launcher": "<name> <id>") so that
 * stop, even from another process, knows what to end.  On failure start
 * has already ended what it started.
 *
 * Library use (e.g. the sweep runner's private cluster):
 *
 *   const zpar_launcher_t *l = zpar__launcher_find ("local");
 *   zpar_launch_opts_t o;
 *   zpar__launch_opts_init (&o);
 *   o.engines = 4; o.dir = dir; o.timeout = 60;
 *   if (l->start (&o, conn, sizeof (conn), NULL, &err) < 0) ...
 *   ... zpar_client_connect (conn, &err) ...
 *   l->stop (dir, 10, NULL, &err);
 *
 * Errors: 0 / -1 with errno and a message in err (NULL allowed):
 * EINVAL (bad options), EBUSY (local: a cluster already runs in dir, or
 * another start is under way there), ETIMEDOUT, ECANCELED (o->cancel said
 * so), ECHILD (a controller/engine/job ended during start-up),
 * EHOSTUNREACH (the controller does not answer), ENOENT (stop: nothing
 * recorded in dir), or the errno of a failed system call.
 */
#ifndef ZPAR__LAUNCHER_H
#define ZPAR__LAUNCHER_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "zpar/error.h"

/* Polled while start/stop wait (about every 10-100 ms); non-zero: give up
 * (start fails with ECANCELED after ending what it started). */
typedef int (*zpar_launch_cancel_f) (void *arg);

typedef struct {
    int engines;           /* N (>= 1) */
    const char *dir;       /* state directory for this cluster (created) */
    const char *self;      /* path of the zpar program; NULL: this program */
    const char *time;      /* walltime for batch systems (e.g. "30", "01:00:00"), or NULL */
    const char *partition; /* partition / queue, or NULL */
    char *const *extra;    /* extra arguments for sbatch / qsub / mpirun */
    int nextra;
    const char *run_args;        /* extra arguments for `zpar run` (e.g. "--bind none") */
    double timeout;              /* seconds to wait for the engines (> 0) */
    const char *scheme;          /* local: the controller's --scheme, or NULL */
    const char *ip;              /* local: the controller's --ip, or NULL */
    const char *interface;       /* the controller's (zpar run's) --interface, or NULL */
    int curve;                   /* 1: CurveZMQ on every socket (controller / run --curve) */
    const char *relay;           /* the engines' relays: "auto", "always" or "never" (local:
                                    local_relay.h; mpi: zpar run --relay; slurm, pbs: the
                                    caller puts it in run_args); NULL: $ZPAR_RELAY, else auto */
    zpar_launch_cancel_f cancel; /* or NULL */
    void *cancel_arg;
    int tie; /* local: 1 = the controller and engines die with the process
                that starts them (a tie, subproc.h); the start hands the
                tie's end to the caller in info->tie_fd (info required) */
} zpar_launch_opts_t;

/* What start or stop found, for the caller's messages. */
typedef struct {
    char log[PATH_MAX];             /* start failed: the log that tells why ("" if none) */
    int shut;                       /* stop: the controller accepted the shutdown request */
    size_t found;                   /* stop: recorded processes (jobs) still running at the start */
    size_t killed;                  /* stop: of them, how many needed SIGKILL */
    pid_t controller;               /* stop: the controller's pid when known, else 0 */
    char note[ZPAR_ERROR_TEXT_MAX]; /* stop: a warning for the user (the controller
                                       did not answer the shutdown request...) or "" */
    int tie_fd; /* start with o->tie: the tie's end (> 2), now the caller's: while it
                   is open the cluster may live; closing it (or the caller's death)
                   stops the cluster.  0: none */
} zpar_launch_info_t;

typedef struct {
    const char *name;
    /* Start; write the client connection file's path into conn (size).
     * info (may be NULL) receives the log to show on failure. */
    int (*start) (const zpar_launch_opts_t *o, char *conn, size_t size, zpar_launch_info_t *info,
                  zpar_error_t *err);
    /* Shut down and end what start recorded in dir: ask the controller to
     * shut down, wait at most timeout seconds, then end what is left
     * (SIGTERM/SIGKILL, scancel/qdel) and remove the state files.  ENOENT
     * when nothing is recorded in dir. */
    int (*stop) (const char *dir, double timeout, zpar_launch_info_t *info, zpar_error_t *err);
} zpar_launcher_t;

/* Every field 0 / NULL. */
void zpar__launch_opts_init (zpar_launch_opts_t *o);

/* The back end called name ("local", "mpi", "slurm", "pbs"), or NULL. */
const zpar_launcher_t *zpar__launcher_find (const char *name);

/* The back end that started the cluster recorded in dir (its "pids" or
 * "launcher" file), or NULL (errno ENOENT: none recorded; EINVAL: an
 * unknown record). */
const zpar_launcher_t *zpar__launcher_of (const char *dir);

/* Local back end only: is a cluster running in dir?  1 (err says which
 * process and how to stop it), 0 (no; the records of a dead one are
 * removed and *stale set to 1), -1 with errno.  dir_opt is the --dir the
 * user gave (for the message), or NULL. */
int zpar__local_running (const char *dir, const char *dir_opt, int *stale, zpar_error_t *err);

/* Stop a controller that no launcher recorded (started by hand) through
 * its connection file conn: ask it to shut down and, when it is a process
 * of this host, wait at most timeout seconds for it to exit.  0, or -1:
 * ENOENT (no such file), EINVAL (not a connection file), ESRCH (its pid
 * is gone: info->controller says which), EHOSTUNREACH (it did not answer
 * the shutdown request), ETIMEDOUT (still running after timeout). */
int zpar__launch_stop_conn (const char *conn, double timeout, zpar_launch_info_t *info,
                            zpar_error_t *err);

#endif
