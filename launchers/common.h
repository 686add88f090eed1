/* common.h - what the launch back ends share (internal to launchers/).
 *
 * The "launcher" state file (mpi, slurm, pbs): "<name> <id>\n<conn>\n" in
 * the cluster directory.  Waiting for a cluster to be ready.  The shutdown
 * request.  Batch submission (slurm.c and pbs.c describe their system with
 * a zpar_batch_t; common.c submits, waits and cancels).
 */
#ifndef ZPAR__LAUNCH_COMMON_H
#define ZPAR__LAUNCH_COMMON_H

#include <stddef.h>
#include <stdio.h>

#include "launcher.h"
#include "zpar.h"

extern const zpar_launcher_t zpar__launcher_local;
extern const zpar_launcher_t zpar__launcher_mpi;
extern const zpar_launcher_t zpar__launcher_slurm;
extern const zpar_launcher_t zpar__launcher_pbs;

/* Write / read <dir>/launcher.  read: name (size 16) and id (size 256);
 * -1 ENOENT when there is none, EINVAL when it is malformed. */
int zpar__launch_state_write (const char *dir, const char *name, const char *id, const char *conn);
int zpar__launch_state_read (const char *dir, char *name, char *id);

/* Path of this program (/proc/self/exe) when self is NULL, else self. */
int zpar__launch_self (const char *self, char *buf, size_t size, zpar_error_t *err);

/* Wait until conn exists and a client sees n live engines, at most
 * timeout seconds; o->cancel is polled.  0 / -1 ETIMEDOUT, ECANCELED. */
int zpar__launch_wait_ready (const char *conn, int n, double timeout, const zpar_launch_opts_t *o,
                             zpar_error_t *err);

/* Connect to conn, trying again until deadline (zpar__mono_s).  0, or -1
 * with ETIMEDOUT, ECANCELED (o->cancel; o may be NULL). */
int zpar__launch_connect (const char *conn, double deadline, const zpar_launch_opts_t *o,
                          zpar_client_t **c, zpar_error_t *err);

/* Called between waits of zpar__launch_wait_engines: -1 (with errno and
 * err set) stops the wait. */
typedef int (*zpar_launch_check_f) (void *arg, zpar_error_t *err);

/* Wait until c sees n live engines, until deadline (zpar__mono_s).  0, or
 * -1 with ETIMEDOUT ("only K of N engines registered"), ECANCELED,
 * EHOSTUNREACH (the controller is lost), or what check said. */
int zpar__launch_wait_engines (zpar_client_t *c, int n, double deadline,
                               const zpar_launch_opts_t *o, zpar_launch_check_f check, void *arg,
                               zpar_error_t *err);

/* Ask the controller of conn to shut down, giving it connect_timeout
 * seconds to answer (0, or ZPAR_CONNECT_TIMEOUT set: the library's
 * default).  1 accepted, 0 not (note, size ZPAR_ERROR_TEXT_MAX,
 * says why). */
int zpar__launch_shutdown (const char *conn, double connect_timeout, char *note);

/* A batch system. */
typedef struct {
    const char *name;     /* "slurm" */
    const char *what;     /* for messages: "Slurm (sbatch)" */
    const char *cancel;   /* "scancel" */
    const char *log_name; /* job output file name in dir, e.g. "job-%j.out" */
    /* write the job script's body (after the shebang and comment) */
    void (*script) (FILE *f, const zpar_launch_opts_t *o);
    /* submission argv up to (not including) the extra args and the script;
     * bufs are scratch strings the argv may point into (4 x 128 bytes) */
    int (*submit_argv) (const zpar_launch_opts_t *o, const char *log, char **argv, int max,
                        char bufs[4][128]);
    /* 1 while the job is queued or running, from the query's output */
    int (*active) (const char *id);
} zpar_batch_t;

int zpar__batch_start (const zpar_batch_t *b, const zpar_launch_opts_t *o, char *conn, size_t size,
                       zpar_launch_info_t *info, zpar_error_t *err);
int zpar__batch_stop (const zpar_batch_t *b, const char *dir, double timeout,
                      zpar_launch_info_t *info, zpar_error_t *err);

/* Run argv and capture its stdout (size bytes), at most timeout seconds.
 * Its exit code, or -1 (could not run: errno). */
int zpar__launch_capture (char *const argv[], char *out, size_t size, double timeout);

/* The connection file of batch job id: $ZPAR_DIR/job-<id>/client.json. */
int zpar__launch_job_conn (const char *jobid, char *conn, size_t size);

#endif
