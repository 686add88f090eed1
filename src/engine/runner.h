/* runner.h - running one task at a time in a child process (internal).
 *
 * A runner belongs to one engine (one thread) and to one reactor (given at
 * creation).  It runs
 *   - command tasks in a child process (a clone(CLONE_VM | CLONE_VFORK)
 *     spawn, runner_cmd.c), stdin from /dev/null, stdout and stderr on
 *     pipes, in a new process group;
 *   - function tasks by fork()ing the engine (after dlopen()ing the library
 *     once: handles are cached by path for the runner's life) and calling
 *     the symbol in the child, in a new process group; the return value and
 *     the zpar_fn_output() bytes come back on a third pipe;
 *   - inline function tasks by calling the symbol in the calling process
 *     (no isolation, no timeout, no output capture).
 *
 * The runner never blocks: while a child runs it has watchers on the
 * reactor (the child's pipes, a pidfd for its exit, one timer for timeout,
 * kill grace and pipe drain), and it calls the done callback from the
 * reactor when the task has finished.  zpar__runner_wait() runs the reactor
 * for a caller that has nothing else to do (the unit test).
 *
 * Signals: the runner installs no signal handler in the engine and needs
 * no SIGCHLD: the child's exit is seen through pidfd_open(2) (Linux >=
 * 5.3; without it the runner polls for the exit every 20 ms).  Children
 * start with an empty signal mask and default dispositions, whatever the
 * engine blocks (a function child then sets its own SIGTERM/SIGINT
 * handler for zpar_fn_cancelled: see runner_fn.c).
 * Children never touch ZeroMQ.  Several runners may live in one process.
 *
 * Containment (doc/engine.md): every child leads a process group of its
 * own and has SIGKILL as its parent-death signal (it fires when the thread
 * that started the child ends: start tasks only from a thread that lives
 * as long as the engine).  Whenever a task ends, whatever is left in its
 * group is killed.  With a keeper (zpar__runner_set_keeper) the runner
 * lists each task's group with it while the task runs, so that the group
 * is killed even when the engine is killed with SIGKILL.
 */
#ifndef ZPAR__RUNNER_H
#define ZPAR__RUNNER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "keeper.h"
#include "reactor.h"
#include "zpar.h"

#define ZPAR_RUNNER_DEFAULT_CAP   (1024u * 1024) /* stdout/stderr bytes kept */
#define ZPAR_RUNNER_TERM_GRACE_MS 1000           /* SIGTERM -> SIGKILL on timeout */

/* What to run.  Strings are borrowed for the duration of zpar__runner_start. */
typedef struct {
    zpar_task_kind_t kind; /* ZPAR_TASK_COMMAND or ZPAR_TASK_FUNCTION */
    char *const *argv;     /* command: NULL-terminated, argv[0] searched in PATH */
    char *const *env;      /* NULL-terminated "NAME=VALUE" additions, or NULL */
    const char *cwd;       /* working directory, or NULL */
    uint64_t timeout_ms;   /* 0: none */
    const char *lib;       /* function: shared object path */
    const char *symbol;    /* function: a zpar_task_fn */
    const void *input;     /* function input */
    size_t input_len;
    int inline_fn;     /* function: call in this process */
    size_t output_cap; /* bytes of stdout and of stderr kept (0: default) */
    uint64_t task_id;  /* names the overflow files; 0: no overflow file */

    /* command: the timeout's first signal (0: SIGTERM) and the time before
     * SIGKILL (0: ZPAR_RUNNER_TERM_GRACE_MS) */
    int stop_signal;
    uint64_t stop_grace_ms;

    /* resources (engine_res.h): the task's SLOT strings, leader first
     * (nslots 0: none; the task runs as before), and its memory limit in
     * bytes (0: none; used only with slots).  The child gets the CPU
     * affinity, memory limit and environment of their plan. */
    const char *const *slots;
    size_t nslots;
    uint64_t memory;

    /* command: MPI ranks (0: not MPI).  With ranks the command runs as one
     * MPI job over the slots' engines (mpi_launch.h): the child is the
     * launcher (srun or mpirun), every rank starts through zpar-rank. */
    unsigned ranks;
} zpar_run_spec_t;

/* A growing byte buffer. */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} zpar_runbuf_t;

/* The outcome of the last task.  Owned by the runner, valid until the next
 * zpar__runner_start / zpar__runner_clear. */
typedef struct {
    zpar_status_t status;
    int exit_code;                    /* exit status or function return value; -1 if none */
    int signal;                       /* terminating signal; 0 if none */
    uint64_t started_us, finished_us; /* CLOCK_REALTIME, microseconds */
    uint64_t wall_us, utime_us, stime_us;
    uint64_t maxrss_kb;
    pid_t pid;          /* child pid (0 for inline / not started) */
    zpar_runbuf_t out;  /* stdout, first output_cap bytes */
    zpar_runbuf_t err;  /* stderr, first output_cap bytes */
    int truncated;      /* bit 0: stdout was cut, bit 1: stderr */
    char out_file[512]; /* where the whole stdout went when cut, else "" */
    char err_file[512];
    zpar_runbuf_t output; /* function output */
    char error[512];      /* human text when status is not ok, else "" */
} zpar_run_result_t;

typedef struct zpar_runner zpar_runner_t;

/* Streamed output: called from the reactor for every chunk read from the
 * child's stdout (stream 1) or stderr (2), before capping. */
typedef void (*zpar_runner_output_f) (void *arg, int stream, const void *data, size_t len);

/* Called from the reactor when a task that was running in a child has
 * finished (its result is ready: zpar__runner_result).  Not called for a
 * task that zpar__runner_start finished at once (it returned 1), nor by
 * zpar__runner_kill.  The callback may clear the result and start the next
 * task. */
typedef void (*zpar_runner_done_f) (zpar_runner_t *r, void *arg);

/* Create a runner on reactor `reactor` (borrowed: it must outlive the
 * runner) for engine id `engine`, launcher rank (-1: none), MPI
 * communicator (or NULL).  cancelled, if non-NULL, is what inline
 * functions see through zpar_fn_cancelled (e.g. the engine's stop flag);
 * they also see a pending SIGTERM, SIGINT or SIGHUP (blocked by the
 * program).
 * NULL with errno (EINVAL: no reactor; ENOMEM) and err. */
zpar_runner_t *zpar__runner_create (zpar_reactor_t *reactor, uint32_t engine, int rank,
                                    void *mpi_comm, volatile sig_atomic_t *cancelled,
                                    zpar_error_t *err);

/* Kill (SIGKILL) and reap a running child, close everything, remove the
 * runner's watchers, unload nothing (libraries stay mapped).  NULL-safe,
 * keeps errno. */
void zpar__runner_destroy (zpar_runner_t *r);

/* Change the engine id seen by later tasks (after re-registration). */
void zpar__runner_set_engine (zpar_runner_t *r, uint32_t engine);

/* Tell keeper k (borrowed, or NULL: none) about every task's process
 * group from now on; forked children close its descriptor. */
void zpar__runner_set_keeper (zpar_runner_t *r, zpar_keeper_t *k);

void zpar__runner_set_output_cb (zpar_runner_t *r, zpar_runner_output_f cb, void *arg);
void zpar__runner_set_done_cb (zpar_runner_t *r, zpar_runner_done_f cb, void *arg);

/* Start a task.  Returns 1 when it is already finished (inline function,
 * or it could not start: status ERROR with the reason in result->error),
 * 0 when a child is running, -1 with EINVAL (r or spec NULL) or EBUSY (a
 * task is running or its result was not cleared).  A peer's bad task
 * (NULL or empty argv, no library, unknown kind) is an ERROR result, not -1. */
int zpar__runner_start (zpar_runner_t *r, const zpar_run_spec_t *spec);

/* 1 while a child is running (started and not finished). */
int zpar__runner_busy (const zpar_runner_t *r);

/* 1 when a result is ready (finished, not cleared). */
int zpar__runner_done (const zpar_runner_t *r);

/* The result once done, else NULL. */
const zpar_run_result_t *zpar__runner_result (const zpar_runner_t *r);

/* Take ownership of the output buffers of the result (so that the caller
 * can hand them on without a copy); the result keeps empty buffers. */
zpar_run_result_t *zpar__runner_result_mut (zpar_runner_t *r);

/* Forget the result (frees its buffers); the runner is idle again. */
void zpar__runner_clear (zpar_runner_t *r);

/* Interrupt the running task: SIGINT to its process group, then SIGKILL
 * after grace_ms if it is still alive.  Its status becomes ABORTED.
 * 0, or -1 ESRCH when nothing is running. */
int zpar__runner_interrupt (zpar_runner_t *r, unsigned grace_ms);

/* Stop the running task the way its timeout would, without blocking: its
 * stop signal (ZPAR_F_STOP_SIGNAL; SIGTERM by default, and always for a
 * function task) to its process group, SIGKILL after its stop grace; the
 * done callback comes when it has ended, status ABORTED with reason `why`.
 * 0, or -1 ESRCH when nothing is running (or the child has already
 * exited). */
int zpar__runner_stop (zpar_runner_t *r, const char *why);

/* Stop the running task without blocking: SIGTERM to its process group
 * (a function task sees zpar_fn_cancelled), SIGKILL after grace_ms if it
 * is still alive; the done callback comes when it has ended, status
 * ABORTED with reason `why`.  0, or -1 ESRCH when nothing is running (or
 * the child has already exited). */
int zpar__runner_cancel (zpar_runner_t *r, unsigned grace_ms, const char *why);

/* Kill the running task's process group with SIGKILL and reap it (blocks
 * until the child is gone, which SIGKILL makes immediate).  Its status
 * becomes ABORTED with reason `why`.  0, or -1 ESRCH if nothing runs. */
int zpar__runner_kill (zpar_runner_t *r, const char *why);

/* The same after a grace period: SIGTERM to the group, up to grace_ms for
 * the child to end (blocking), then SIGKILL.  For an engine that stops. */
int zpar__runner_terminate (zpar_runner_t *r, unsigned grace_ms, const char *why);

/* Run the runner's reactor until the current task finishes or timeout
 * seconds pass (< 0: forever).  Other watchers of the reactor run too.
 * 0 when done, -1 ETIMEDOUT / ESRCH (nothing started) / EINVAL. */
int zpar__runner_wait (zpar_runner_t *r, double timeout);

#endif
