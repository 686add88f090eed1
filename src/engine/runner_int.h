/* runner_int.h - what the files of the task runner share (internal to
 * runner.c, runner_io.c, runner_cmd.c and runner_fn.c; see runner.h).
 *
 *   runner.c      lifecycle, start, the child's watchers, finish, control
 *   runner_io.c   byte buffers, output capture and overflow files
 *   runner_cmd.c  command tasks (posix_spawnp) and what they share with
 *                 function tasks (environment, working directory checks)
 *   runner_fn.c   function tasks (dlopen cache, fork, inline calls)
 */
#ifndef ZPAR__RUNNER_INT_H
#define ZPAR__RUNNER_INT_H

#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "keeper.h"
#include "reactor.h"
#include "runner.h"

#define ZPAR_RUNNER_KEEP_BUF_MAX (4u * 1024 * 1024) /* larger buffers are freed on clear */

enum { ST_IDLE = 0, ST_RUNNING, ST_DONE };
enum { FD_OUT = 0, FD_ERR = 1, FD_RES = 2, NFD = 3 };

typedef struct dlent {
    char *path;
    void *handle;
    struct dlent *next;
} dlent_t;

struct zpar_runner {
    zpar_reactor_t *reactor;
    uint32_t engine;
    int rank;
    void *mpi_comm;
    volatile sig_atomic_t *cancelled;
    zpar_runner_output_f cb;
    void *cbarg;
    zpar_runner_done_f done_cb;
    void *done_arg;
    dlent_t *libs;
    zpar_keeper_t *keeper; /* borrowed, or NULL */
    pid_t listed;          /* the group the keeper lists for us, 0: none */
    int task_nice;         /* what a task child adds to its nice value, 0: nothing */

    int state;
    int is_fn;
    pid_t pid;
    int pidfd;    /* -1: none (then w_timer polls for the exit) */
    int no_pidfd; /* tests: behave as on a kernel without pidfd */
    int fd[NFD];  /* read ends, -1 when closed */
    int ofd[2];   /* overflow files, -1 when not open */
    zpar_watcher_t *w_fd[NFD];
    zpar_watcher_t *w_pid;
    zpar_watcher_t *w_timer; /* timeout, kill grace, pipe drain, exit poll */
    int reaped;
    int wstatus;
    struct rusage ru;
    uint64_t start_mono;
    uint64_t end_mono;
    uint64_t timeout_ms;
    int stop_signal;        /* 0: SIGTERM */
    uint64_t stop_grace_ms; /* 0: ZPAR_RUNNER_TERM_GRACE_MS */
    uint64_t timeout_at;    /* mono us, 0: none */
    uint64_t kill_at;
    uint64_t drain_at;
    int timed_out;
    int interrupted;
    int killed;
    char kill_why[128];
    size_t cap;
    uint64_t task_id;
    uint64_t mem_limit;  /* the task's memory limit in bytes (engine_res.h), 0: none */
    zpar_runbuf_t fnres; /* what the function child wrote on its result pipe */
    zpar_run_result_t res;
};

/* runner_io.c */
int zpar__runbuf_append (zpar_runbuf_t *b, const void *data, size_t len);
void zpar__runbuf_reset (zpar_runbuf_t *b); /* empty; frees a large buffer */
void zpar__runbuf_free (zpar_runbuf_t *b);
void zpar__runner_close_fd (int *fd);
/* A pipe whose read end (p[0], ours) is non-blocking; both ends close-on-exec. */
int zpar__runner_pipe (int p[2]);
/* Read what is ready on the child's pipe idx (FD_*), without blocking:
 * streams go to the output callback and the capped buffers (overflow file
 * past the cap), the result pipe to r->fnres.  Closes the fd on EOF. */
void zpar__runner_read_fd (zpar_runner_t *r, int idx);

/* runner.c */
/* Finish now with status ERROR: the task could not start.  Returns 1. */
int zpar__runner_fail_now (zpar_runner_t *r, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* A child was started (r->pid and r->fd[] set): watch it.  Returns 0, or 1
 * after killing it when it cannot be watched (result ERROR). */
int zpar__runner_child_started (zpar_runner_t *r);
uint64_t zpar__runner_tv_us (struct timeval tv);
/* ZPAR_TASK_NICE unless set, in a task child's nice value: the engine's
 * (calling thread's) plus this, at most 19. */
#define ZPAR_TASK_NICE_DEFAULT 19
/* The nice value a task child is to set: the calling thread's plus
 * r->task_nice, at most 19; ZPAR_NO_NICE: leave it (0, or already 19). */
#define ZPAR_NO_NICE (-100)
int zpar__runner_task_nice (const zpar_runner_t *r);
/* In a task child (async-signal-safe: system calls only): set our nice
 * value, and our session's autogroup's (/proc/self/autogroup) when we lead
 * a session of our own; failures are ignored. */
void zpar__runner_child_nice (int nice);
/* For the unit test: on = do without pidfds (the 20 ms exit poll). */
void zpar__runner_set_no_pidfd (zpar_runner_t *r, int on);

/* runner_cmd.c */
int zpar__runner_start_command (zpar_runner_t *r, const zpar_run_spec_t *spec);
/* How command children are made from now on: "clone3" (clone3 with
 * CLONE_CLEAR_SIGHAND, x86-64), "clone" (clone, the child asks every
 * signal's disposition; also after clone3 was refused once, or with
 * ZPAR_SPAWN_CLONE3=0 in the environment) or "fork" (AddressSanitizer
 * builds). */
const char *zpar__runner_spawn_how (void);
/* For the unit test: 0 = the plain clone from now on, 1 = clone3 again. */
void zpar__runner_set_spawn_clone3 (int on);
/* environ without the entries drop (may be NULL) says 1 for, with the
 * additions (overriding the same names).  *envp is environ itself when
 * nothing is dropped or added, else an array to free (its strings are
 * environ's and add's).  -1 EINVAL with the bad entry. */
int zpar__runner_build_env (char *const *add, int (*drop) (const char *), char ***envp,
                            const char **bad);
/* NULL if cwd (may be NULL) is a usable directory, else the reason in buf. */
const char *zpar__runner_cwd_problem (const char *cwd, char *buf, size_t size);

/* runner_fn.c */
int zpar__runner_start_function (zpar_runner_t *r, const zpar_run_spec_t *spec);
void zpar__runner_free_libs (zpar_runner_t *r);

#endif
