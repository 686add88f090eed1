/* subproc.h - the one subprocess helper of zpar (internal).
 *
 * Everything zpar starts as a separate program (the local launcher's
 * controller and engines, mpirun, sbatch/qsub/squeue/qstat/scancel/qdel,
 * the command of `zpar run CMD`, the sweep runner's helpers) goes through
 * zpar__subproc_spawn:
 *
 *   - argv[0] is searched in PATH when it has no '/' (posix_spawnp);
 *   - the child starts with an EMPTY signal mask and default dispositions
 *     for every signal (whatever the parent blocked or ignored, e.g. the
 *     signals zpar's main() blocks for the reactor's signal watchers);
 *   - optionally in a new session (setsid) or process group, in another
 *     directory, with extra environment variables, stdin from /dev/null,
 *     stdout and/or stderr into log files;
 *   - file descriptors above 2 are closed in the child (unless
 *     ZPAR_SUBPROC_KEEP_FDS), so that no socket, pipe or lock of the parent
 *     leaks into it.
 *
 * The helper uses posix_spawn (no fork of a multi-threaded process, no
 * allocation in the child), so it is safe to call from any thread.  A
 * program that cannot be executed (not found, not executable) makes spawn
 * fail with errno (ENOENT, EACCES, ...) rather than a child exiting 127.
 *
 * Reaping: the caller owns the child; it must reap it with
 * zpar__subproc_wait (or waitpid) unless it ignores SIGCHLD.
 */
#ifndef ZPAR__SUBPROC_H
#define ZPAR__SUBPROC_H

#include <stddef.h>
#include <sys/types.h>

#include "zpar/error.h"

enum {
    ZPAR_SUBPROC_SETSID = 1,     /* new session (and process group): the child leads it */
    ZPAR_SUBPROC_SETPGRP = 2,    /* new process group only (same session) */
    ZPAR_SUBPROC_STDIN_NULL = 4, /* stdin from /dev/null (default: inherited) */
    ZPAR_SUBPROC_APPEND = 8,     /* open out/err files to append (default: truncate) */
    ZPAR_SUBPROC_KEEP_FDS = 16,  /* do not close descriptors above 2 in the child */
};

typedef struct {
    char *const *argv; /* program and arguments, NULL-terminated (required) */
    char *const *env;  /* "NAME=VALUE" entries added to (or replacing in) the
                          inherited environment, NULL-terminated; or NULL */
    const char *cwd;   /* directory to run in, or NULL: the caller's */
    const char *out;   /* stdout into this file (created 0600), or NULL: inherited
                          (zpar__subproc_capture ignores it: stdout is the pipe) */
    const char *err;   /* stderr into this file, or NULL: inherited.  The same
                          path as out: both go to one file */
    int flags;         /* ZPAR_SUBPROC_* */
    int tie_fd;        /* > 2: the read end of a tie (zpar__tie_create), passed to
                          the child as descriptor ZPAR_TIE_CHILD_FD with
                          ZPAR_TIE_FD=3 in its environment; 0: none */
} zpar_subproc_opts_t;

/* Start o->argv.  Returns the child's pid, or -1 with errno (EINVAL: no
 * argv; ENOENT/EACCES/...: cannot run the program or open a log file;
 * ENOMEM) and a message in err. */
pid_t zpar__subproc_spawn (const zpar_subproc_opts_t *o, zpar_error_t *err);

/* Wait for the child pid to end, at most timeout seconds (< 0: no limit,
 * 0: just check).  0 when it ended (its wait status in *status when
 * status is not NULL; it is reaped), -1 with errno ETIMEDOUT when it is
 * still running, ECHILD when pid is not a child of ours (or was reaped
 * already), EINVAL for pid <= 0. */
int zpar__subproc_wait (pid_t pid, double timeout, int *status);

/* Send sig to the child's process group when the child leads one (it was
 * started with SETSID or SETPGRP), else to the child alone.  0 / -1 with
 * errno (ESRCH: gone, EINVAL: pid <= 0 or bad signal). */
int zpar__subproc_kill (pid_t pid, int sig);

/* Called about every 20 ms while zpar__subproc_capture waits; a non-zero
 * return stops the wait (the child is killed). */
typedef int (*zpar_subproc_cancel_f) (void *arg);

/* Run o->argv with its stdout into a pipe, keep the first size-1 bytes in
 * out (NUL-terminated; out may be NULL when size is 0), and wait for it to
 * exit, at most timeout seconds (< 0: no limit).  Grandchildren that keep
 * the pipe open do not hold the call: reading stops once the child has
 * exited.  0 when the child exited (wait status in *status if not NULL),
 * -1 with errno: ETIMEDOUT (timeout), ECANCELED (cancel returned
 * non-zero) -- in both cases the child (its group when it leads one) got
 * SIGKILL and was reaped -- or a spawn error; err gets the message. */
int zpar__subproc_capture (const zpar_subproc_opts_t *o, char *out, size_t size, double timeout,
                           zpar_subproc_cancel_f cancel, void *arg, int *status, zpar_error_t *err);

/* ---------------------------------------------------------------- ties
 *
 * A tie makes a child die with the process that started it (its
 * "starter"), however the starter ends (SIGKILL included) and whatever
 * session or process group the child has moved to.  It is a pipe: the
 * starter keeps the write end (close-on-exec, and never passed to any
 * child); each tied child gets the read end as descriptor 3 and
 * ZPAR_TIE_FD=3 in its environment, and watches it (zpar__tie_watch).  When
 * the starter dies, the kernel closes the write end and every tied child
 * reads end-of-file: it gets SIGTERM (its normal, clean stop: a controller
 * saves its records, an engine kills its tasks) and, if it is still alive
 * ZPAR_TIE_GRACE seconds later, SIGKILL.  The starter can also end the tie
 * on purpose by closing the write end.
 *
 * Why not PR_SET_PDEATHSIG: it must be set in the child between fork and
 * exec (posix_spawn cannot), it fires when the starting *thread* exits,
 * not the process, and it does not reach the child's own children.  A
 * pipe needs none of that and survives setsid. */

#define ZPAR_TIE_ENV      "ZPAR_TIE_FD"
#define ZPAR_TIE_CHILD_FD 3
#define ZPAR_TIE_GRACE    10.0

/* Create a tie: *wfd is the starter's end, *rfd the end to pass to the
 * children (zpar_subproc_opts_t.tie_fd); both close-on-exec.  Close *rfd
 * once the children are started; closing *wfd ends the tie (the children
 * stop).  0, or -1 with errno (EMFILE...). */
int zpar__tie_create (int *wfd, int *rfd);

/* In a program that may have been started tied: when ZPAR_TIE_FD is set in
 * the environment, remove it from the environment (so that the program's
 * own children are not tied), make the descriptor close-on-exec, and start
 * a watcher thread that waits for end-of-file on it, then sends SIGTERM to
 * this process and, ZPAR_TIE_GRACE seconds later, SIGKILL.  Call it early,
 * from the main thread, after the signals the program watches are blocked
 * (the thread keeps the mask it is created with).  0 when there is no tie
 * or the watch runs; -1 with errno (EBADF: the variable names no open
 * descriptor; pthread_create's errno) and err. */
int zpar__tie_watch (zpar_error_t *err);

/* A wait status as a shell exit code: the exit status, or 128 + the
 * signal number. */
int zpar__subproc_exit_code (int status);

#endif
