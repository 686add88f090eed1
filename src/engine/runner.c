/* runner.c - running one task at a time in a child process: lifecycle,
 * the child's watchers on the reactor (pipes, pidfd, one timer), the
 * outcome, interrupt and kill.  See runner.h and runner_int.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "log.h"
#include "runner_int.h"

#define DRAIN_GRACE_US  2000000u /* after the child exits, wait this long for pipe EOF */
#define EXIT_POLL_MS    20u      /* without a pidfd: look for the child's exit this often */
#define KEEPER_FLUSH_MS 10u      /* a reaped group leaves the keeper's list this soon at most */

static void on_timer (zpar_reactor_t *reactor, zpar_watcher_t *w, int revents, void *arg);

/* ------------------------------------------------------------ lifecycle */

/* ZPAR_TASK_NICE: 0-19 (more is 19), else the default, with a warning. */
static int task_nice_env (void)
{
    const char *s = getenv ("ZPAR_TASK_NICE");
    char *end;
    long v;

    if (!s || !*s)
        return ZPAR_TASK_NICE_DEFAULT;
    errno = 0;
    v = strtol (s, &end, 10);
    if (errno || *end || v < 0) {
        zpar__warn ("ZPAR_TASK_NICE=%s is not a number from 0 to 19: tasks get nice +%d", s,
                    ZPAR_TASK_NICE_DEFAULT);
        return ZPAR_TASK_NICE_DEFAULT;
    }
    return v > 19 ? 19 : (int)v;
}

int zpar__runner_task_nice (const zpar_runner_t *r)
{
    int cur;

    if (r->task_nice <= 0)
        return ZPAR_NO_NICE;
    errno = 0;
    cur = getpriority (PRIO_PROCESS, 0);
    if ((cur == -1 && errno) || cur >= 19)
        return ZPAR_NO_NICE;
    return cur + r->task_nice > 19 ? 19 : cur + r->task_nice;
}

void zpar__runner_child_nice (int nice)
{
    char txt[4];
    size_t n = 0;
    int fd;

    (void)setpriority (PRIO_PROCESS, 0, nice);
    if (nice < 0 || nice > 19 || getsid (0) != getpid ())
        return;
    if (nice >= 10)
        txt[n++] = (char)('0' + nice / 10);
    txt[n++] = (char)('0' + nice % 10);
    txt[n++] = '\n';
    if ((fd = open ("/proc/self/autogroup", O_WRONLY | O_CLOEXEC)) >= 0) {
        (void)!write (fd, txt, n);
        (void)close (fd);
    }
}

zpar_runner_t *zpar__runner_create (zpar_reactor_t *reactor, uint32_t engine, int rank,
                                    void *mpi_comm, volatile sig_atomic_t *cancelled,
                                    zpar_error_t *err)
{
    zpar_runner_t *r;

    if (!reactor) {
        zpar__errnoprintf (err, EINVAL, "a task runner needs a reactor");
        return NULL;
    }
    if (!(r = calloc (1, sizeof (*r)))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    r->reactor = reactor;
    r->engine = engine;
    r->rank = rank;
    r->mpi_comm = mpi_comm;
    r->cancelled = cancelled;
    r->task_nice = task_nice_env ();
    r->pidfd = -1;
    for (int i = 0; i < NFD; i++)
        r->fd[i] = -1;
    r->ofd[0] = r->ofd[1] = -1;
    if (!(r->w_timer = zpar__timer_watcher_create (reactor, 0, 0, on_timer, r))) {
        int e = errno;
        free (r);
        zpar__errnoprintf (err, e, "cannot create the runner's timer: %s", strerror (e));
        return NULL;
    }
    r->res.exit_code = -1;
    return r;
}

void zpar__runner_destroy (zpar_runner_t *r)
{
    int saved = errno;
    if (!r)
        return;
    if (r->state == ST_RUNNING)
        (void)zpar__runner_kill (r, "the engine is stopping");
    zpar__runner_clear (r);
    zpar__runbuf_free (&r->res.out);
    zpar__runbuf_free (&r->res.err);
    zpar__runbuf_free (&r->res.output);
    zpar__runbuf_free (&r->fnres);
    zpar__watcher_destroy (r->w_timer);
    zpar__runner_free_libs (r);
    free (r);
    errno = saved;
}

void zpar__runner_set_no_pidfd (zpar_runner_t *r, int on)
{
    if (r)
        r->no_pidfd = on;
}

void zpar__runner_set_engine (zpar_runner_t *r, uint32_t engine)
{
    if (r)
        r->engine = engine;
}

void zpar__runner_set_keeper (zpar_runner_t *r, zpar_keeper_t *k)
{
    if (r)
        r->keeper = k;
}

void zpar__runner_set_output_cb (zpar_runner_t *r, zpar_runner_output_f cb, void *arg)
{
    if (r) {
        r->cb = cb;
        r->cbarg = arg;
    }
}

void zpar__runner_set_done_cb (zpar_runner_t *r, zpar_runner_done_f cb, void *arg)
{
    if (r) {
        r->done_cb = cb;
        r->done_arg = arg;
    }
}

int zpar__runner_busy (const zpar_runner_t *r)
{
    return r && r->state == ST_RUNNING;
}

int zpar__runner_done (const zpar_runner_t *r)
{
    return r && r->state == ST_DONE;
}

const zpar_run_result_t *zpar__runner_result (const zpar_runner_t *r)
{
    return r && r->state == ST_DONE ? &r->res : NULL;
}

zpar_run_result_t *zpar__runner_result_mut (zpar_runner_t *r)
{
    return r && r->state == ST_DONE ? &r->res : NULL;
}

void zpar__runner_clear (zpar_runner_t *r)
{
    zpar_run_result_t *s;
    if (!r || r->state == ST_RUNNING)
        return;
    s = &r->res;
    zpar__runbuf_reset (&s->out);
    zpar__runbuf_reset (&s->err);
    zpar__runbuf_reset (&s->output);
    zpar__runbuf_reset (&r->fnres);
    s->status = ZPAR_STATUS_PENDING;
    s->exit_code = -1;
    s->signal = 0;
    s->started_us = s->finished_us = s->wall_us = s->utime_us = s->stime_us = 0;
    s->maxrss_kb = 0;
    s->pid = 0;
    s->truncated = 0;
    s->out_file[0] = s->err_file[0] = s->error[0] = '\0';
    r->state = ST_IDLE;
}

/* --------------------------------------------------------------- start */

uint64_t zpar__runner_tv_us (struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static void begin (zpar_runner_t *r, const zpar_run_spec_t *spec)
{
    zpar__runner_clear (r);
    r->is_fn = 0;
    r->pid = 0;
    r->reaped = 0;
    r->wstatus = 0;
    memset (&r->ru, 0, sizeof (r->ru));
    r->timed_out = r->interrupted = r->killed = 0;
    r->kill_why[0] = '\0';
    r->timeout_at = r->kill_at = r->drain_at = 0;
    r->timeout_ms = spec->timeout_ms;
    r->stop_signal = spec->stop_signal;
    r->stop_grace_ms = spec->stop_grace_ms;
    r->cap = spec->output_cap ? spec->output_cap : ZPAR_RUNNER_DEFAULT_CAP;
    r->task_id = spec->task_id;
    r->mem_limit = 0;
    r->res.started_us = zpar__now_us ();
    r->start_mono = zpar__mono_us ();
}

int zpar__runner_fail_now (zpar_runner_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (r->res.error, sizeof (r->res.error), fmt, ap);
    va_end (ap);
    r->res.status = ZPAR_STATUS_ERROR;
    r->res.exit_code = -1;
    r->res.finished_us = zpar__now_us ();
    r->res.wall_us = zpar__mono_us () - r->start_mono;
    r->state = ST_DONE;
    return 1;
}

int zpar__runner_start (zpar_runner_t *r, const zpar_run_spec_t *spec)
{
    if (!r || !spec) {
        errno = EINVAL;
        return -1;
    }
    if (r->state != ST_IDLE) {
        errno = EBUSY;
        return -1;
    }
    begin (r, spec);
    switch (spec->kind) {
    case ZPAR_TASK_COMMAND:
        return zpar__runner_start_command (r, spec);
    case ZPAR_TASK_FUNCTION:
        return zpar__runner_start_function (r, spec);
    default:
        return zpar__runner_fail_now (r, "unknown task kind %d", (int)spec->kind);
    }
}

/* ------------------------------------------------------- the child's end */

static void killgroup (zpar_runner_t *r, int sig)
{
    if (r->pid <= 0)
        return;
    if (killpg (r->pid, sig) < 0 && !r->reaped)
        (void)kill (r->pid, sig);
}

static void unwatch_pid (zpar_runner_t *r)
{
    zpar__watcher_destroy (r->w_pid);
    r->w_pid = NULL;
    zpar__runner_close_fd (&r->pidfd);
}

static void unwatch (zpar_runner_t *r)
{
    for (int i = 0; i < NFD; i++) {
        zpar__watcher_destroy (r->w_fd[i]);
        r->w_fd[i] = NULL;
    }
    unwatch_pid (r);
    zpar__watcher_stop (r->w_timer);
}

/* Read pipe idx; forget its watcher once it is closed. */
static void read_pipe (zpar_runner_t *r, int idx)
{
    zpar__runner_read_fd (r, idx);
    if (r->fd[idx] < 0 && r->w_fd[idx]) {
        zpar__watcher_destroy (r->w_fd[idx]);
        r->w_fd[idx] = NULL;
    }
}

static void try_reap (zpar_runner_t *r, int block)
{
    int st;
    pid_t p;

    if (r->pid <= 0 || r->reaped)
        return;
    do
        p = wait4 (r->pid, &st, block ? 0 : WNOHANG, &r->ru);
    while (p < 0 && errno == EINTR);
    if (p == r->pid || (p < 0 && errno == ECHILD)) {
        r->reaped = 1;
        r->wstatus = p == r->pid ? st : 0;
        r->end_mono = zpar__mono_us ();
        r->res.finished_us = zpar__now_us ();
        /* anything the task left behind in its process group goes too */
        (void)killpg (r->pid, SIGKILL);
        if (r->listed) {
            (void)zpar__keeper_remove_soon (r->keeper, r->listed);
            r->listed = 0;
        }
        r->drain_at = r->end_mono + DRAIN_GRACE_US;
        r->timeout_at = r->kill_at = 0;
        unwatch_pid (r);
    }
}

static const char *signame (int sig)
{
    const char *s = strsignal (sig);
    return s ? s : "unknown signal";
}

/* A task with a memory limit (engine_res.h) that failed or was killed
 * may have hit it: say what it was, in the error text. */
static void note_memory_limit (zpar_run_result_t *s, uint64_t limit)
{
    size_t len = strlen (s->error);
    char size[32];
    if (limit % (1024 * 1024) == 0)
        snprintf (size, sizeof (size), "%llu MiB", (unsigned long long)(limit >> 20));
    else
        snprintf (size, sizeof (size), "%llu bytes", (unsigned long long)limit);
    snprintf (s->error + len, sizeof (s->error) - len, "%s(its memory limit is %s)", len ? " " : "",
              size);
}

static void finish (zpar_runner_t *r)
{
    zpar_run_result_t *s = &r->res;
    int st = r->wstatus;
    int have_rc = 0, rc = 0;
    const uint8_t *fr = r->fnres.data;

    unwatch (r);
    for (int i = 0; i < NFD; i++)
        zpar__runner_close_fd (&r->fd[i]);
    zpar__runner_close_fd (&r->ofd[0]);
    zpar__runner_close_fd (&r->ofd[1]);
    if (s->out_file[0] == '\x01')
        s->out_file[0] = '\0';
    if (s->err_file[0] == '\x01')
        s->err_file[0] = '\0';
    s->wall_us = r->end_mono - r->start_mono;
    s->utime_us = zpar__runner_tv_us (r->ru.ru_utime);
    s->stime_us = zpar__runner_tv_us (r->ru.ru_stime);
    s->maxrss_kb = (uint64_t)r->ru.ru_maxrss;
    s->exit_code = -1;
    s->signal = 0;
    if (WIFSIGNALED (st))
        s->signal = WTERMSIG (st);
    else if (WIFEXITED (st))
        s->exit_code = WEXITSTATUS (st);

    if (r->is_fn && r->fnres.len >= 5 && fr[0] == 'R') {
        have_rc = 1;
        rc = (int)((uint32_t)fr[1] | (uint32_t)fr[2] << 8 | (uint32_t)fr[3] << 16 |
                   (uint32_t)fr[4] << 24);
        zpar__runbuf_reset (&s->output);
        (void)zpar__runbuf_append (&s->output, fr + 5, r->fnres.len - 5);
    }

    if (r->killed) {
        s->status = ZPAR_STATUS_ABORTED;
        snprintf (s->error, sizeof (s->error), "%s", r->kill_why);
    } else if (r->timed_out) {
        s->status = ZPAR_STATUS_TIMEOUT;
        snprintf (s->error, sizeof (s->error), "timed out after %.1f s",
                  (double)r->timeout_ms / 1000.0);
    } else if (r->interrupted) {
        s->status = ZPAR_STATUS_ABORTED;
        snprintf (s->error, sizeof (s->error), "interrupted");
    } else if (s->signal) {
        s->status = ZPAR_STATUS_SIGNALED;
        if (s->signal == SIGKILL)
            snprintf (s->error, sizeof (s->error),
                      "killed by signal 9 (%s): out of memory, or killed from outside",
                      signame (SIGKILL));
        else
            snprintf (s->error, sizeof (s->error), "killed by signal %d (%s)%s", s->signal,
                      signame (s->signal), WCOREDUMP (st) ? ", core dumped" : "");
    } else if (r->is_fn && r->fnres.len >= 1 && fr[0] == 'E') {
        s->status = ZPAR_STATUS_ERROR;
        snprintf (s->error, sizeof (s->error), "%.*s", (int)(r->fnres.len - 1), fr + 1);
    } else if (have_rc) {
        s->exit_code = rc;
        s->status = rc == 0 ? ZPAR_STATUS_OK : ZPAR_STATUS_FAILED;
        if (rc)
            snprintf (s->error, sizeof (s->error), "the function returned %d", rc);
    } else if (s->exit_code == 0)
        s->status = ZPAR_STATUS_OK;
    else {
        s->status = ZPAR_STATUS_FAILED;
        snprintf (s->error, sizeof (s->error), "%s with status %d",
                  r->is_fn ? "the function exited" : "exited", s->exit_code);
    }
    if (r->mem_limit && (s->status == ZPAR_STATUS_SIGNALED || s->status == ZPAR_STATUS_FAILED))
        note_memory_limit (s, r->mem_limit);
    r->pid = 0;
    r->state = ST_DONE;
    /* its removal from the keeper's list waits for the next task's add,
     * at most KEEPER_FLUSH_MS (on_timer) */
    if (zpar__keeper_pending (r->keeper))
        zpar__timer_watcher_reset (r->w_timer, KEEPER_FLUSH_MS, 0);
}

/* ------------------------------------------------------------ the loop */

static void arm_timer (zpar_runner_t *r, uint64_t now)
{
    uint64_t d = 0;
#define AT(t)                                                                                      \
    do {                                                                                           \
        uint64_t t_ = (t);                                                                         \
        if (t_ && (!d || t_ < d))                                                                  \
            d = t_;                                                                                \
    } while (0)
    AT (r->timeout_at);
    AT (r->kill_at);
    if (r->reaped)
        AT (r->drain_at);
    else if (r->pidfd < 0)
        AT (now + EXIT_POLL_MS * 1000u);
#undef AT
    if (d)
        zpar__timer_watcher_reset (r->w_timer, d > now ? (d - now + 999) / 1000 : 0, 0);
    else
        zpar__watcher_stop (r->w_timer);
}

/* Whatever happened (a pipe, the exit, a timer): move the task on, and
 * tell the owner when it has finished. */
static void step (zpar_runner_t *r)
{
    uint64_t now;

    if (r->state != ST_RUNNING)
        return;
    if (!r->reaped && (r->pidfd < 0 || (r->fd[FD_OUT] < 0 && r->fd[FD_ERR] < 0)))
        try_reap (r, 0);
    if (r->reaped) {
        /* the child is gone: take what is left in the pipes */
        for (int i = 0; i < NFD; i++)
            if (r->fd[i] >= 0)
                read_pipe (r, i);
    }
    now = zpar__mono_us ();
    if (!r->reaped) {
        if (r->timeout_at && now >= r->timeout_at) {
            r->timed_out = 1;
            r->timeout_at = 0;
            /* a function child turns SIGTERM into zpar_fn_cancelled */
            killgroup (r, r->stop_signal && !r->is_fn ? r->stop_signal : SIGTERM);
            r->kill_at =
                now + (r->stop_grace_ms ? r->stop_grace_ms : ZPAR_RUNNER_TERM_GRACE_MS) * 1000u;
        }
        if (r->kill_at && now >= r->kill_at) {
            r->kill_at = 0;
            killgroup (r, SIGKILL);
        }
    }
    if (r->reaped) {
        int open = r->fd[FD_OUT] >= 0 || r->fd[FD_ERR] >= 0 || r->fd[FD_RES] >= 0;
        if (!open || now >= r->drain_at) {
            finish (r);
            if (r->done_cb)
                r->done_cb (r, r->done_arg);
            return;
        }
    }
    arm_timer (r, now);
}

/* One pipe is readable: read every open one (a command's exit closes them
 * all at once: one wake-up, not one per pipe; a read that finds nothing
 * costs a system call, a wake-up costs two context switches). */
static void on_pipe (zpar_reactor_t *reactor, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_runner_t *r = arg;
    (void)reactor;
    (void)w;
    (void)revents;
    for (int i = 0; i < NFD; i++)
        if (r->fd[i] >= 0)
            read_pipe (r, i);
    step (r);
}

static void on_exit_fd (zpar_reactor_t *reactor, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_runner_t *r = arg;
    (void)reactor;
    (void)w;
    (void)revents;
    try_reap (r, 0);
    step (r);
}

static void on_timer (zpar_reactor_t *reactor, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_runner_t *r = arg;
    (void)reactor;
    (void)w;
    (void)revents;
    if (r->state != ST_RUNNING) {
        /* no task started since the last one was reaped: its removal
         * from the keeper's list goes now */
        (void)zpar__keeper_flush (r->keeper);
        return;
    }
    step (r);
}

static int pidfd_of (pid_t pid)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall (SYS_pidfd_open, pid, 0);
    if (fd >= 0)
        (void)fcntl (fd, F_SETFD, FD_CLOEXEC);
    return fd;
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

int zpar__runner_child_started (zpar_runner_t *r)
{
    int e;

    r->state = ST_RUNNING;
    if (r->keeper && zpar__keeper_add (r->keeper, r->pid) == 0)
        r->listed = r->pid;
    if (r->timeout_ms)
        r->timeout_at = r->start_mono + r->timeout_ms * 1000u;
    /* a pidfd becomes readable when the child exits (also if it already
     * has: it stays a zombie until we reap it) */
    r->pidfd = r->no_pidfd ? -1 : pidfd_of (r->pid);
    if (r->pidfd >= 0) {
        if (!(r->w_pid = zpar__fd_watcher_create (r->reactor, r->pidfd, ZPAR_EV_IN, on_exit_fd, r)))
            goto error;
        zpar__watcher_start (r->w_pid);
    } else if (errno != ENOSYS && errno != ESRCH)
        zpar__debug ("pidfd_open: %s: polling for the task's exit", strerror (errno));
    for (int i = 0; i < NFD; i++) {
        if (r->fd[i] < 0)
            continue;
        if (!(r->w_fd[i] = zpar__fd_watcher_create (r->reactor, r->fd[i], ZPAR_EV_IN, on_pipe, r)))
            goto error;
        zpar__watcher_start (r->w_fd[i]);
    }
    arm_timer (r, zpar__mono_us ());
    return 0;
error:
    e = errno;
    killgroup (r, SIGKILL);
    try_reap (r, 1);
    finish (r);
    return zpar__runner_fail_now (r, "cannot watch the task's process: %s", strerror (e));
}

/* ------------------------------------------------------------- control */

/* Signal the running child's group, SIGKILL after grace_ms: interrupted
 * (why NULL) or killed for why. */
static int signal_task (zpar_runner_t *r, int sig, unsigned grace_ms, const char *why)
{
    if (!r || r->state != ST_RUNNING || r->reaped) {
        errno = ESRCH;
        return -1;
    }
    if (why) {
        r->killed = 1;
        snprintf (r->kill_why, sizeof (r->kill_why), "%s", why);
    } else
        r->interrupted = 1;
    killgroup (r, sig);
    r->kill_at = zpar__mono_us () + (uint64_t)grace_ms * 1000u;
    arm_timer (r, zpar__mono_us ());
    return 0;
}

int zpar__runner_interrupt (zpar_runner_t *r, unsigned grace_ms)
{
    return signal_task (r, SIGINT, grace_ms, NULL);
}

int zpar__runner_stop (zpar_runner_t *r, const char *why)
{
    if (!r) {
        errno = ESRCH;
        return -1;
    }
    return signal_task (r, r->stop_signal && !r->is_fn ? r->stop_signal : SIGTERM,
                        r->stop_grace_ms ? r->stop_grace_ms : ZPAR_RUNNER_TERM_GRACE_MS,
                        why ? why : "stopped");
}

int zpar__runner_cancel (zpar_runner_t *r, unsigned grace_ms, const char *why)
{
    return signal_task (r, SIGTERM, grace_ms, why ? why : "cancelled");
}

int zpar__runner_kill (zpar_runner_t *r, const char *why)
{
    return zpar__runner_terminate (r, 0, why);
}

int zpar__runner_terminate (zpar_runner_t *r, unsigned grace_ms, const char *why)
{
    if (!r || r->state != ST_RUNNING) {
        errno = ESRCH;
        return -1;
    }
    r->killed = 1;
    snprintf (r->kill_why, sizeof (r->kill_why), "%s", why ? why : "killed");
    if (grace_ms && !r->reaped) {
        struct timespec step = {0, 5 * 1000 * 1000};
        uint64_t end = zpar__mono_us () + (uint64_t)grace_ms * 1000u;
        killgroup (r, SIGTERM);
        for (;;) {
            try_reap (r, 0);
            if (r->reaped || zpar__mono_us () >= end)
                break;
            nanosleep (&step, NULL);
        }
    }
    if (!r->reaped)
        killgroup (r, SIGKILL);
    try_reap (r, 1);
    for (int i = 0; i < NFD; i++)
        if (r->fd[i] >= 0)
            read_pipe (r, i);
    finish (r);
    return 0;
}

int zpar__runner_wait (zpar_runner_t *r, double timeout)
{
    uint64_t end;

    if (!r || r->state == ST_IDLE) {
        errno = ESRCH;
        return -1;
    }
    end = timeout < 0 ? 0 : zpar__mono_us () + (uint64_t)(timeout * 1e6);
    while (r->state == ST_RUNNING) {
        long ms = -1;
        if (end) {
            uint64_t now = zpar__mono_us ();
            if (now >= end) {
                errno = ETIMEDOUT;
                return -1;
            }
            ms = (long)((end - now + 999) / 1000);
        }
        if (zpar__reactor_run_once (r->reactor, ms) < 0)
            return -1;
    }
    return 0;
}
