/* cluster_ops.h - cluster operations on top of the launch back ends
 * (launcher.h): start a cluster in a directory and stop whatever runs
 * there, as `zpar cluster start` and `zpar cluster stop` do (internal).
 *
 * Errors: -1 with errno and the user's text in err (NULL allowed); the
 * report says what was found, for the caller's messages. */
#ifndef ZPAR__CLUSTER_OPS_H
#define ZPAR__CLUSTER_OPS_H

#include <limits.h>

#include "launcher.h"

#define ZPAR_CLUSTER_MAX_LOGS 3

typedef enum {
    ZPAR_STOPPED_NONE = 0,
    ZPAR_STOPPED_BATCH, /* the job a batch back end (mpi, slurm, pbs) recorded in dir */
    ZPAR_STOPPED_LOCAL, /* the local back end's processes recorded in dir (info says more) */
    ZPAR_STOPPED_CONN,  /* a controller started by hand, through its connection file */
    ZPAR_STOPPED_STALE, /* nothing ran: dir's stale connection files were removed */
} zpar_stopped_t;

typedef struct {
    char dir[PATH_MAX];   /* the cluster directory */
    char conn[PATH_MAX];  /* start: the client connection file; stop: the one used */
    const char *launcher; /* the back end's name */
    int stale;            /* start: the records of a dead cluster in dir were removed */
    int usage;            /* start failed on the user's input (directory, cluster running) */
    char logs[ZPAR_CLUSTER_MAX_LOGS][PATH_MAX]; /* start failed: the logs that tell why */
    zpar_stopped_t stopped;                     /* stop: what was stopped (also on failure) */
    zpar_launch_info_t info;                    /* the back end's report; info.note: a warning */
} zpar_cluster_report_t;

/* Start o->engines engines and a controller with the back end launcher
 * ("local", "mpi", "slurm", "pbs") in dir_opt (NULL: the default cluster
 * directory, zpar__cluster_dir_prepare), refusing (EBUSY) when a local
 * cluster already runs there.  A batch job's connection file is linked as
 * dir/client.json.  On failure what was started is ended.  o->dir is set
 * by the call. */
int zpar__cluster_start (const char *launcher, const char *dir_opt, zpar_launch_opts_t *o,
                         zpar_cluster_report_t *rep, zpar_error_t *err);

/* Stop the cluster of dir_opt, or else of conn_opt / $ZPAR_CONNECTION_FILE
 * (its directory), or else the default cluster directory: a job a batch
 * back end recorded there, the local back end's processes, or a controller
 * started by hand, through its connection file.  timeout: seconds for a
 * clean exit.  errno: ENOENT (nothing to stop), EINVAL (not a connection
 * file, no cluster directory), ESRCH (its controller is gone: not ours to
 * clean up), EHOSTUNREACH (it did not answer), ETIMEDOUT, ENOEXEC (an
 * unknown launcher record), or the back end's. */
int zpar__cluster_stop (const char *dir_opt, const char *conn_opt, double timeout,
                        zpar_cluster_report_t *rep, zpar_error_t *err);

/* The last lines (at most 16 KiB) of a file, malloc'd into *text (free()). */
int zpar__file_tail (const char *path, int lines, char **text);

#endif
