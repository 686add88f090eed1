/* runner.h - running one task at a time in a child process (internal).
 *
 * A runner belongs to one engine (one thread).  It runs
 *   - command tasks with posix_spawnp(), stdin from /dev/null, stdout and
 *     stderr on pipes, in a new process group;
 *   - function tasks by fork()ing the engine (after dlopen()ing the library
 *     once: handles are cached by path for the runner's life) and calling
 *     the symbol in the child, in a new process group; the return value and
 *     the zpar_fn_output() bytes come back on a third pipe;
 *   - inline function tasks by calling the symbol in the calling process
 *     (no isolation, no timeout, no output capture).
 *
 * The runner never blocks: the engine adds the runner's descriptors to its
 * own zmq_poll() (zpar__runner_pollitems), calls zpar__runner_handle() after
 * each poll, and wakes at zpar__runner_deadline() for timeouts and kill
 * grace periods.  zpar__runner_wait() does all that for a caller with no
 * loop of its own (the unit test).
 *
 * SIGCHLD: zpar__runner_create installs a process-wide SIGCHLD handler that
 * writes to a self-pipe (one runner per process); destroy restores the old
 * action.  Children never touch ZeroMQ.
 */
#ifndef ZPAR__RUNNER_H
#define ZPAR__RUNNER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zmq.h>

#include "zpar.h"

#define ZPAR_RUNNER_DEFAULT_CAP (1024u * 1024) /* stdout/stderr bytes kept */
#define ZPAR_RUNNER_TERM_GRACE_MS 1000         /* SIGTERM -> SIGKILL on timeout */
#define ZPAR_RUNNER_POLLITEMS 4                /* most items pollitems() fills */

/* What to run.  Strings are borrowed for the duration of zpar__runner_start. */
typedef struct {
    zpar_task_kind_t kind;      /* ZPAR_TASK_COMMAND or ZPAR_TASK_FUNCTION */
    char *const *argv;          /* command: NULL-terminated, argv[0] searched in PATH */
    char *const *env;           /* NULL-terminated "NAME=VALUE" additions, or NULL */
    const char *cwd;            /* working directory, or NULL */
    uint64_t timeout_ms;        /* 0: none */
    const char *lib;            /* function: shared object path */
    const char *symbol;         /* function: a zpar_task_fn */
    const void *input;          /* function input */
    size_t input_len;
    int inline_fn;              /* function: call in this process */
    size_t output_cap;          /* bytes of stdout and of stderr kept (0: default) */
    uint64_t task_id;           /* names the overflow files; 0: no overflow file */
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
    int exit_code;       /* exit status or function return value; -1 if none */
    int signal;          /* terminating signal; 0 if none */
    uint64_t started_us, finished_us; /* CLOCK_REALTIME, microseconds */
    uint64_t wall_us, utime_us, stime_us;
    uint64_t maxrss_kb;
    pid_t pid;           /* child pid (0 for inline / not started) */
    zpar_runbuf_t out;   /* stdout, first output_cap bytes */
    zpar_runbuf_t err;   /* stderr, first output_cap bytes */
    int truncated;       /* bit 0: stdout was cut, bit 1: stderr */
    char out_file[512];  /* where the whole stdout went when cut, else "" */
    char err_file[512];
    zpar_runbuf_t output; /* function output */
    char error[512];     /* human text when status is not ok, else "" */
} zpar_run_result_t;

typedef struct zpar_runner zpar_runner_t;

/* Streamed output: called from zpar__runner_handle for every chunk read
 * from the child's stdout (stream 1) or stderr (2), before capping. */
typedef void (*zpar_runner_output_f) (void *arg, int stream, const void *data, size_t len);

/* Create a runner for engine id `engine`, launcher rank (-1: none), MPI
 * communicator (or NULL).  cancelled, if non-NULL, is what inline
 * functions see through zpar_fn_cancelled (e.g. the engine's stop flag).
 * Installs the SIGCHLD handler.  NULL with errno (EBUSY: a runner exists). */
zpar_runner_t *zpar__runner_create (uint32_t engine, int rank, void *mpi_comm,
                                    volatile sig_atomic_t *cancelled, zpar_error_t *err);

/* Kill (SIGKILL) and reap a running child, close everything, unload
 * nothing (libraries stay mapped), restore SIGCHLD.  NULL-safe. */
void zpar__runner_destroy (zpar_runner_t *r);

/* Change the engine id seen by later tasks (after re-registration). */
void zpar__runner_set_engine (zpar_runner_t *r, uint32_t engine);

void zpar__runner_set_output_cb (zpar_runner_t *r, zpar_runner_output_f cb, void *arg);

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

/* Fill up to max (>= ZPAR_RUNNER_POLLITEMS) poll items with the runner's
 * descriptors (SIGCHLD pipe, child's pipes).  Returns how many. */
int zpar__runner_pollitems (zpar_runner_t *r, zmq_pollitem_t *items, int max);

/* Handle whatever is ready among those items (revents), plus timers.
 * Items may be NULL (then everything is tried non-blocking).  Returns 1
 * when the running task finished during this call, else 0. */
int zpar__runner_handle (zpar_runner_t *r, const zmq_pollitem_t *items, int n);

/* Monotonic time (zpar__mono_us) of the next timer, 0 if none. */
uint64_t zpar__runner_deadline (const zpar_runner_t *r);

/* Interrupt the running task: SIGINT to its process group, then SIGKILL
 * after grace_ms if it is still alive.  Its status becomes ABORTED.
 * 0, or -1 ESRCH when nothing is running. */
int zpar__runner_interrupt (zpar_runner_t *r, unsigned grace_ms);

/* Kill the running task's process group with SIGKILL and reap it (blocks
 * until the child is gone, which SIGKILL makes immediate).  Its status
 * becomes ABORTED with reason `why`.  0, or -1 ESRCH if nothing runs. */
int zpar__runner_kill (zpar_runner_t *r, const char *why);

/* Run until the current task finishes or timeout seconds pass (< 0:
 * forever).  0 when done, -1 ETIMEDOUT / ESRCH (nothing started). */
int zpar__runner_wait (zpar_runner_t *r, double timeout);

#endif
