/* runner.c - running one task at a time in a child process. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "error.h"
#include "fnctx.h"
#include "log.h"
#include "msg.h"
#include "runner.h"

extern char **environ;

#define DRAIN_GRACE_US 2000000u /* after the child exits, wait this long for pipe EOF */
#define READ_ROUNDS 16          /* reads per stream per wakeup (fairness) */
#define KEEP_BUF_MAX (4u * 1024 * 1024) /* buffers larger than this are freed on clear */

enum { ST_IDLE = 0, ST_RUNNING, ST_DONE };
enum { FD_OUT = 0, FD_ERR = 1, FD_RES = 2, NFD = 3 };

typedef struct dlent {
    char *path;
    void *handle;
    struct dlent *next;
} dlent_t;

struct zpar_runner {
    uint32_t engine;
    int rank;
    void *mpi_comm;
    volatile sig_atomic_t *cancelled;
    zpar_runner_output_f cb;
    void *cbarg;
    struct sigaction old_chld;
    dlent_t *libs;

    int state;
    int is_fn;
    pid_t pid;
    int fd[NFD];        /* read ends, -1 when closed */
    int ofd[2];         /* overflow files, -1 when not open */
    int reaped;
    int wstatus;
    struct rusage ru;
    uint64_t start_mono;
    uint64_t end_mono;
    uint64_t timeout_ms;
    uint64_t timeout_at; /* mono us, 0: none */
    uint64_t kill_at;
    uint64_t drain_at;
    int timed_out;
    int interrupted;
    int killed;
    char kill_why[128];
    size_t cap;
    uint64_t task_id;
    zpar_runbuf_t fnres; /* what the function child wrote on its result pipe */
    zpar_run_result_t res;
};

static int chld_pipe[2] = {-1, -1};
static zpar_runner_t *the_runner;
static volatile sig_atomic_t child_cancel; /* in a function child */

static void on_sigchld (int sig)
{
    int saved = errno;
    (void)sig;
    if (chld_pipe[1] >= 0)
        (void)!write (chld_pipe[1], "c", 1);
    errno = saved;
}

static void on_child_cancel (int sig)
{
    (void)sig;
    child_cancel = 1;
}

static int buf_append (zpar_runbuf_t *b, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    if (b->len + len > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        uint8_t *nb;
        while (ncap < b->len + len)
            ncap *= 2;
        if (!(nb = realloc (b->data, ncap)))
            return -1;
        b->data = nb;
        b->cap = ncap;
    }
    memcpy (b->data + b->len, data, len);
    b->len += len;
    return 0;
}

static void buf_reset (zpar_runbuf_t *b)
{
    if (b->cap > KEEP_BUF_MAX) {
        free (b->data);
        b->data = NULL;
        b->cap = 0;
    }
    b->len = 0;
}

static void buf_free (zpar_runbuf_t *b)
{
    free (b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void close_fd (int *fd)
{
    if (*fd >= 0) {
        close (*fd);
        *fd = -1;
    }
}

/* A pipe whose read end (p[0], ours) is non-blocking; both ends close-on-exec
 * (the child's end is dup2'ed onto 1/2, which clears the flag there). */
static int mkpipe (int p[2])
{
    if (pipe2 (p, O_CLOEXEC) < 0)
        return -1;
    if (fcntl (p[0], F_SETFL, O_NONBLOCK) < 0) {
        close (p[0]);
        close (p[1]);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ lifecycle */

zpar_runner_t *zpar__runner_create (uint32_t engine, int rank, void *mpi_comm,
                                    volatile sig_atomic_t *cancelled, zpar_error_t *err)
{
    zpar_runner_t *r;
    struct sigaction sa;

    if (the_runner) {
        zpar__errnoprintf (err, EBUSY, "a task runner already exists in this process");
        return NULL;
    }
    if (!(r = calloc (1, sizeof (*r)))) {
        zpar__errprintf (err, "out of memory");
        return NULL;
    }
    r->engine = engine;
    r->rank = rank;
    r->mpi_comm = mpi_comm;
    r->cancelled = cancelled;
    r->pid = 0;
    for (int i = 0; i < NFD; i++)
        r->fd[i] = -1;
    r->ofd[0] = r->ofd[1] = -1;
    if (pipe2 (chld_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        zpar__errprintf (err, "cannot create the SIGCHLD pipe: %s", strerror (errno));
        free (r);
        return NULL;
    }
    memset (&sa, 0, sizeof (sa));
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset (&sa.sa_mask);
    if (sigaction (SIGCHLD, &sa, &r->old_chld) < 0) {
        int e = errno;
        close_fd (&chld_pipe[0]);
        close_fd (&chld_pipe[1]);
        free (r);
        zpar__errnoprintf (err, e, "cannot install the SIGCHLD handler: %s", strerror (e));
        return NULL;
    }
    the_runner = r;
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
    buf_free (&r->res.out);
    buf_free (&r->res.err);
    buf_free (&r->res.output);
    buf_free (&r->fnres);
    while (r->libs) {
        dlent_t *d = r->libs;
        r->libs = d->next;
        /* libraries stay loaded: a function may have left threads or
         * atexit handlers behind; unloading them is never safe */
        free (d->path);
        free (d);
    }
    (void)sigaction (SIGCHLD, &r->old_chld, NULL);
    close_fd (&chld_pipe[0]);
    close_fd (&chld_pipe[1]);
    the_runner = NULL;
    free (r);
    errno = saved;
}

void zpar__runner_set_engine (zpar_runner_t *r, uint32_t engine)
{
    if (r)
        r->engine = engine;
}

void zpar__runner_set_output_cb (zpar_runner_t *r, zpar_runner_output_f cb, void *arg)
{
    if (r) {
        r->cb = cb;
        r->cbarg = arg;
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
    buf_reset (&s->out);
    buf_reset (&s->err);
    buf_reset (&s->output);
    buf_reset (&r->fnres);
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

/* ------------------------------------------------------------- helpers */

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
    r->cap = spec->output_cap ? spec->output_cap : ZPAR_RUNNER_DEFAULT_CAP;
    r->task_id = spec->task_id;
    r->res.started_us = zpar__now_us ();
    r->start_mono = zpar__mono_us ();
}

/* Finish now with status ERROR: the task could not start. */
static int fail_now (zpar_runner_t *r, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static int fail_now (zpar_runner_t *r, const char *fmt, ...)
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

/* environ with the additions (overriding the same names).  *envp is
 * environ itself when there are none.  -1 EINVAL with the bad entry. */
static int build_env (char *const *add, char ***envp, const char **bad)
{
    size_t nenv = 0, nadd = 0, k = 0;
    char **v;

    *envp = environ;
    if (!add || !add[0])
        return 0;
    for (; add[nadd]; nadd++) {
        const char *eq = strchr (add[nadd], '=');
        if (!eq || eq == add[nadd]) {
            *bad = add[nadd];
            errno = EINVAL;
            return -1;
        }
    }
    while (environ && environ[nenv])
        nenv++;
    if (!(v = malloc ((nenv + nadd + 1) * sizeof (*v))))
        return -1;
    for (size_t i = 0; i < nenv; i++) {
        const char *e = environ[i];
        size_t nl = strcspn (e, "=");
        int overridden = 0;
        for (size_t j = 0; j < nadd && !overridden; j++)
            if (strncmp (add[j], e, nl) == 0 && add[j][nl] == '=')
                overridden = 1;
        if (!overridden)
            v[k++] = environ[i];
    }
    for (size_t j = 0; j < nadd; j++)
        v[k++] = add[j];
    v[k] = NULL;
    *envp = v;
    return 0;
}

static const char *cwd_problem (const char *cwd, char *buf, size_t size)
{
    struct stat st;
    if (!cwd)
        return NULL;
    if (stat (cwd, &st) < 0)
        snprintf (buf, size, "%s", strerror (errno));
    else if (!S_ISDIR (st.st_mode))
        snprintf (buf, size, "not a directory");
    else if (access (cwd, X_OK) < 0)
        snprintf (buf, size, "%s", strerror (errno));
    else
        return NULL;
    return buf;
}

/* ------------------------------------------------------------- command */

static int start_command (zpar_runner_t *r, const zpar_run_spec_t *spec)
{
    static const int defsigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGHUP,
                                  SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM};
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t set;
    char **envp = NULL;
    const char *bad = NULL;
    char why[128];
    pid_t pid;
    int rc;

    if (!spec->argv || !spec->argv[0])
        return fail_now (r, "command task without a command (empty argv)");
    if (!spec->argv[0][0])
        return fail_now (r, "command task with an empty command name");
    if (build_env (spec->env, &envp, &bad) < 0) {
        if (errno == EINVAL)
            return fail_now (r, "bad environment entry '%s': give NAME=VALUE", bad);
        return fail_now (r, "cannot build the environment: %s", strerror (errno));
    }
    if (mkpipe (po) < 0 || mkpipe (pe) < 0) {
        int e = errno;
        close_fd (&po[0]);
        close_fd (&po[1]);
        if (envp != environ)
            free (envp);
        return fail_now (r, "cannot create pipes: %s", strerror (e));
    }
    posix_spawn_file_actions_init (&fa);
    posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2 (&fa, po[1], 1);
    posix_spawn_file_actions_adddup2 (&fa, pe[1], 2);
    if (spec->cwd && *spec->cwd)
        posix_spawn_file_actions_addchdir_np (&fa, spec->cwd);
    posix_spawnattr_init (&at);
    posix_spawnattr_setflags (&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
                                       | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup (&at, 0);
    sigemptyset (&set);
    posix_spawnattr_setsigmask (&at, &set);
    for (size_t i = 0; i < sizeof (defsigs) / sizeof (defsigs[0]); i++)
        sigaddset (&set, defsigs[i]);
    posix_spawnattr_setsigdefault (&at, &set);

    rc = posix_spawnp (&pid, spec->argv[0], &fa, &at, spec->argv, envp);

    posix_spawnattr_destroy (&at);
    posix_spawn_file_actions_destroy (&fa);
    if (envp != environ)
        free (envp);
    close_fd (&po[1]);
    close_fd (&pe[1]);
    if (rc != 0) {
        close_fd (&po[0]);
        close_fd (&pe[0]);
        if (cwd_problem (spec->cwd && *spec->cwd ? spec->cwd : NULL, why, sizeof (why)))
            return fail_now (r, "cannot change to the working directory %s (%s)", spec->cwd,
                             why);
        if (rc == ENOENT)
            return fail_now (r, "command not found: %s (%s)", spec->argv[0], strerror (rc));
        if (rc == EACCES)
            return fail_now (r, "cannot execute %s (%s)", spec->argv[0], strerror (rc));
        return fail_now (r, "cannot start %s (%s)", spec->argv[0], strerror (rc));
    }
    r->pid = pid;
    r->res.pid = pid;
    r->fd[FD_OUT] = po[0];
    r->fd[FD_ERR] = pe[0];
    r->fd[FD_RES] = -1;
    if (spec->timeout_ms)
        r->timeout_at = r->start_mono + spec->timeout_ms * 1000u;
    r->state = ST_RUNNING;
    return 0;
}

/* ------------------------------------------------------------ function */

static void *dl_get (zpar_runner_t *r, const char *path, char *why, size_t size)
{
    dlent_t *d;
    void *h;

    for (d = r->libs; d; d = d->next)
        if (strcmp (d->path, path) == 0)
            return d->handle;
    (void)dlerror ();
    if (!(h = dlopen (path, RTLD_NOW | RTLD_LOCAL))) {
        const char *e = dlerror ();
        snprintf (why, size, "%s", e ? e : "unknown dlopen error");
        return NULL;
    }
    if (!(d = calloc (1, sizeof (*d))) || !(d->path = strdup (path))) {
        free (d);
        snprintf (why, size, "out of memory");
        /* the handle stays loaded (refcounted by the dynamic linker) */
        return h;
    }
    d->handle = h;
    d->next = r->libs;
    r->libs = d;
    return h;
}

static uint64_t tv_us (struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static int run_inline (zpar_runner_t *r, zpar_task_fn *fn, const zpar_run_spec_t *spec)
{
    struct zpar_fn_ctx ctx;
    struct rusage ru0, ru1;
    int rc;

    zpar__fn_ctx_init (&ctx, r->engine, r->rank, r->mpi_comm, r->cancelled);
    getrusage (RUSAGE_THREAD, &ru0);
    rc = fn (&ctx, spec->input_len ? spec->input : "", spec->input_len);
    getrusage (RUSAGE_THREAD, &ru1);
    r->res.finished_us = zpar__now_us ();
    r->res.wall_us = zpar__mono_us () - r->start_mono;
    r->res.utime_us = tv_us (ru1.ru_utime) - tv_us (ru0.ru_utime);
    r->res.stime_us = tv_us (ru1.ru_stime) - tv_us (ru0.ru_stime);
    getrusage (RUSAGE_SELF, &ru1);
    r->res.maxrss_kb = (uint64_t)ru1.ru_maxrss;
    /* hand the function's buffer over without a copy */
    buf_free (&r->res.output);
    r->res.output.data = ctx.out;
    r->res.output.len = ctx.len;
    r->res.output.cap = ctx.cap;
    r->res.exit_code = rc;
    if (rc == 0)
        r->res.status = ZPAR_STATUS_OK;
    else {
        r->res.status = ZPAR_STATUS_FAILED;
        snprintf (r->res.error, sizeof (r->res.error), "%s returned %d", spec->symbol, rc);
    }
    r->state = ST_DONE;
    return 1;
}

static void write_all (int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write (fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

/* In the forked child: never returns, never touches ZeroMQ. */
static void __attribute__ ((noreturn))
child_function (zpar_runner_t *r, zpar_task_fn *fn, const zpar_run_spec_t *spec, int po,
                int pe, int pr)
{
    static const int defsigs[] = {SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM};
    struct zpar_fn_ctx ctx;
    struct sigaction sa;
    sigset_t none;
    int devnull, rc;
    uint8_t hdr[5];

    (void)setpgid (0, 0);
    memset (&sa, 0, sizeof (sa));
    sigemptyset (&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < sizeof (defsigs) / sizeof (defsigs[0]); i++)
        (void)sigaction (defsigs[i], &sa, NULL);
    /* SIGTERM (timeout) and SIGINT (interrupt) ask the function to stop
     * (zpar_fn_cancelled); a second one, or SIGKILL after the grace
     * period, ends it. */
    sa.sa_handler = on_child_cancel;
    sa.sa_flags = SA_RESETHAND;
    (void)sigaction (SIGTERM, &sa, NULL);
    (void)sigaction (SIGINT, &sa, NULL);
    sigemptyset (&none);
    (void)sigprocmask (SIG_SETMASK, &none, NULL);
    if ((devnull = open ("/dev/null", O_RDONLY)) >= 0) {
        dup2 (devnull, 0);
        if (devnull > 2)
            close (devnull);
    }
    dup2 (po, 1);
    dup2 (pe, 2);
    if (spec->cwd && *spec->cwd && chdir (spec->cwd) < 0) {
        char msg[600];
        int n = snprintf (msg, sizeof (msg), "Ecannot change to the working directory %s (%s)",
                          spec->cwd, strerror (errno));
        write_all (pr, msg, n > 0 && (size_t)n < sizeof (msg) ? (size_t)n : sizeof (msg) - 1);
        _exit (127);
    }
    if (spec->env)
        for (size_t i = 0; spec->env[i]; i++)
            (void)putenv (spec->env[i]);
    zpar__fn_ctx_init (&ctx, r->engine, r->rank, r->mpi_comm, &child_cancel);
    rc = fn (&ctx, spec->input_len ? spec->input : "", spec->input_len);
    fflush (stdout);
    fflush (stderr);
    hdr[0] = 'R';
    for (int i = 0; i < 4; i++)
        hdr[1 + i] = (uint8_t)((uint32_t)rc >> (8 * i));
    write_all (pr, hdr, sizeof (hdr));
    if (ctx.len)
        write_all (pr, ctx.out, ctx.len);
    _exit (rc == 0 ? 0 : 1);
}

static int start_function (zpar_runner_t *r, const zpar_run_spec_t *spec)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, pr[2] = {-1, -1};
    char why[512];
    zpar_task_fn *fn;
    void *h;
    pid_t pid;

    if (!spec->lib || !*spec->lib)
        return fail_now (r, "function task without a library");
    if (!spec->symbol || !*spec->symbol)
        return fail_now (r, "function task without a symbol");
    if (!(h = dl_get (r, spec->lib, why, sizeof (why))))
        return fail_now (r, "cannot load the library %s: %s", spec->lib, why);
    (void)dlerror ();
    if (!(fn = (zpar_task_fn *)dlsym (h, spec->symbol))) {
        const char *e = dlerror ();
        return fail_now (r, "no symbol %s in %s: %s", spec->symbol, spec->lib,
                         e ? e : "the symbol is NULL");
    }
    if (spec->inline_fn)
        return run_inline (r, fn, spec);
    {
        const char *bad = NULL;
        for (size_t i = 0; spec->env && spec->env[i]; i++) {
            const char *eq = strchr (spec->env[i], '=');
            if (!eq || eq == spec->env[i]) {
                bad = spec->env[i];
                break;
            }
        }
        if (bad)
            return fail_now (r, "bad environment entry '%s': give NAME=VALUE", bad);
    }
    if (cwd_problem (spec->cwd && *spec->cwd ? spec->cwd : NULL, why, sizeof (why)))
        return fail_now (r, "cannot change to the working directory %s (%s)", spec->cwd, why);
    if (mkpipe (po) < 0 || mkpipe (pe) < 0 || mkpipe (pr) < 0) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            close_fd (&po[i]);
            close_fd (&pe[i]);
            close_fd (&pr[i]);
        }
        return fail_now (r, "cannot create pipes: %s", strerror (e));
    }
    fflush (stdout);
    fflush (stderr);
    r->is_fn = 1;
    pid = fork ();
    if (pid == 0)
        child_function (r, fn, spec, po[1], pe[1], pr[1]);
    close_fd (&po[1]);
    close_fd (&pe[1]);
    close_fd (&pr[1]);
    if (pid < 0) {
        int e = errno;
        close_fd (&po[0]);
        close_fd (&pe[0]);
        close_fd (&pr[0]);
        return fail_now (r, "cannot fork: %s", strerror (e));
    }
    (void)setpgid (pid, pid); /* also done in the child: no race with killpg */
    r->pid = pid;
    r->res.pid = pid;
    r->fd[FD_OUT] = po[0];
    r->fd[FD_ERR] = pe[0];
    r->fd[FD_RES] = pr[0];
    if (spec->timeout_ms)
        r->timeout_at = r->start_mono + spec->timeout_ms * 1000u;
    r->state = ST_RUNNING;
    return 0;
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
        return start_command (r, spec);
    case ZPAR_TASK_FUNCTION:
        return start_function (r, spec);
    default:
        return fail_now (r, "unknown task kind %d", (int)spec->kind);
    }
}

/* ------------------------------------------------------- output capture */

static void overflow_open (zpar_runner_t *r, int idx)
{
    char dir[PATH_MAX - 64], *path = idx == 0 ? r->res.out_file : r->res.err_file;
    size_t psize = sizeof (r->res.out_file);
    int fd;

    if (r->ofd[idx] >= 0 || r->task_id == 0 || path[0] == '\x01')
        return;
    if (zpar__zpar_dir (dir, sizeof (dir)) < 0)
        goto fail;
    if (strlen (dir) + 8 >= sizeof (dir))
        goto fail;
    strcat (dir, "/output");
    if (zpar__mkdir_p (dir, 0700) < 0)
        goto fail;
    snprintf (path, psize, "%s/%u.%u.%s", dir, (unsigned)(r->task_id >> 32),
              (unsigned)(r->task_id & 0xffffffffu), idx == 0 ? "out" : "err");
    if ((fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        goto fail;
    r->ofd[idx] = fd;
    return;
fail:
    zpar__warn ("cannot write the overflow of task %u.%u's %s: %s",
                (unsigned)(r->task_id >> 32), (unsigned)(r->task_id & 0xffffffffu),
                idx == 0 ? "stdout" : "stderr", strerror (errno));
    path[0] = '\x01'; /* do not try again for this task */
    path[1] = '\0';
}

static void ofd_write (zpar_runner_t *r, int idx, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (r->ofd[idx] >= 0 && len > 0) {
        ssize_t n = write (r->ofd[idx], p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            zpar__warn ("overflow file write: %s", strerror (errno));
            close_fd (&r->ofd[idx]);
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

static void keep (zpar_runner_t *r, int idx, const uint8_t *data, size_t len)
{
    zpar_runbuf_t *b = idx == 0 ? &r->res.out : &r->res.err;
    size_t room = b->len < r->cap ? r->cap - b->len : 0;

    if (len <= room && !(r->res.truncated & (1 << idx))) {
        (void)buf_append (b, data, len);
        return;
    }
    if (!(r->res.truncated & (1 << idx))) {
        (void)buf_append (b, data, room);
        r->res.truncated |= 1 << idx;
        overflow_open (r, idx);
        ofd_write (r, idx, b->data, b->len);
        ofd_write (r, idx, data + room, len - room);
        return;
    }
    ofd_write (r, idx, data, len);
}

static void read_fd (zpar_runner_t *r, int idx)
{
    uint8_t buf[65536];

    for (int k = 0; k < READ_ROUNDS && r->fd[idx] >= 0;) {
        ssize_t n = read (r->fd[idx], buf, sizeof (buf));
        if (n > 0) {
            if (idx == FD_RES) {
                if (r->fnres.len + (size_t)n <= ZPAR_FN_OUTPUT_MAX + 16)
                    (void)buf_append (&r->fnres, buf, (size_t)n);
            }
            else {
                if (r->cb)
                    r->cb (r->cbarg, idx + 1, buf, (size_t)n);
                keep (r, idx, buf, (size_t)n);
            }
            if ((size_t)n < sizeof (buf))
                break;
            k++;
            continue;
        }
        if (n == 0) {
            close_fd (&r->fd[idx]);
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            close_fd (&r->fd[idx]);
        break;
    }
}

/* -------------------------------------------------------------- finish */

static void killgroup (zpar_runner_t *r, int sig)
{
    if (r->pid <= 0)
        return;
    if (killpg (r->pid, sig) < 0 && !r->reaped)
        (void)kill (r->pid, sig);
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
        r->drain_at = r->end_mono + DRAIN_GRACE_US;
        r->timeout_at = r->kill_at = 0;
    }
}

static const char *signame (int sig)
{
    const char *s = strsignal (sig);
    return s ? s : "unknown signal";
}

static void finish (zpar_runner_t *r)
{
    zpar_run_result_t *s = &r->res;
    int st = r->wstatus;
    int have_rc = 0, rc = 0;
    const uint8_t *fr = r->fnres.data;

    for (int i = 0; i < NFD; i++)
        close_fd (&r->fd[i]);
    close_fd (&r->ofd[0]);
    close_fd (&r->ofd[1]);
    if (s->out_file[0] == '\x01')
        s->out_file[0] = '\0';
    if (s->err_file[0] == '\x01')
        s->err_file[0] = '\0';
    s->wall_us = r->end_mono - r->start_mono;
    s->utime_us = tv_us (r->ru.ru_utime);
    s->stime_us = tv_us (r->ru.ru_stime);
    s->maxrss_kb = (uint64_t)r->ru.ru_maxrss;
    s->exit_code = -1;
    s->signal = 0;
    if (WIFSIGNALED (st))
        s->signal = WTERMSIG (st);
    else if (WIFEXITED (st))
        s->exit_code = WEXITSTATUS (st);

    if (r->is_fn && r->fnres.len >= 5 && fr[0] == 'R') {
        have_rc = 1;
        rc = (int)((uint32_t)fr[1] | (uint32_t)fr[2] << 8 | (uint32_t)fr[3] << 16
                   | (uint32_t)fr[4] << 24);
        buf_reset (&s->output);
        (void)buf_append (&s->output, fr + 5, r->fnres.len - 5);
    }

    if (r->killed) {
        s->status = ZPAR_STATUS_ABORTED;
        snprintf (s->error, sizeof (s->error), "%s", r->kill_why);
    }
    else if (r->timed_out) {
        s->status = ZPAR_STATUS_TIMEOUT;
        snprintf (s->error, sizeof (s->error), "timed out after %.1f s",
                  (double)r->timeout_ms / 1000.0);
    }
    else if (r->interrupted) {
        s->status = ZPAR_STATUS_ABORTED;
        snprintf (s->error, sizeof (s->error), "interrupted");
    }
    else if (s->signal) {
        s->status = ZPAR_STATUS_SIGNALED;
        if (s->signal == SIGKILL)
            snprintf (s->error, sizeof (s->error),
                      "killed by signal 9 (%s): out of memory, or killed from outside",
                      signame (SIGKILL));
        else
            snprintf (s->error, sizeof (s->error), "killed by signal %d (%s)%s", s->signal,
                      signame (s->signal), WCOREDUMP (st) ? ", core dumped" : "");
    }
    else if (r->is_fn && r->fnres.len >= 1 && fr[0] == 'E') {
        s->status = ZPAR_STATUS_ERROR;
        snprintf (s->error, sizeof (s->error), "%.*s", (int)(r->fnres.len - 1), fr + 1);
    }
    else if (have_rc) {
        s->exit_code = rc;
        s->status = rc == 0 ? ZPAR_STATUS_OK : ZPAR_STATUS_FAILED;
        if (rc)
            snprintf (s->error, sizeof (s->error), "the function returned %d", rc);
    }
    else if (s->exit_code == 0)
        s->status = ZPAR_STATUS_OK;
    else {
        s->status = ZPAR_STATUS_FAILED;
        snprintf (s->error, sizeof (s->error), "%s with status %d",
                  r->is_fn ? "the function exited" : "exited", s->exit_code);
    }
    r->pid = 0;
    r->state = ST_DONE;
}

/* ------------------------------------------------------------ event loop */

int zpar__runner_pollitems (zpar_runner_t *r, zmq_pollitem_t *items, int max)
{
    int n = 0;
    if (!r || !items || max < ZPAR_RUNNER_POLLITEMS || r->state != ST_RUNNING)
        return 0;
    if (!r->reaped) {
        items[n].socket = NULL;
        items[n].fd = chld_pipe[0];
        items[n].events = ZMQ_POLLIN;
        items[n].revents = 0;
        n++;
    }
    for (int i = 0; i < NFD; i++) {
        if (r->fd[i] >= 0) {
            items[n].socket = NULL;
            items[n].fd = r->fd[i];
            items[n].events = ZMQ_POLLIN;
            items[n].revents = 0;
            n++;
        }
    }
    return n;
}

uint64_t zpar__runner_deadline (const zpar_runner_t *r)
{
    uint64_t d = 0;
    if (!r || r->state != ST_RUNNING)
        return 0;
    if (r->timeout_at && (!d || r->timeout_at < d))
        d = r->timeout_at;
    if (r->kill_at && (!d || r->kill_at < d))
        d = r->kill_at;
    if (r->drain_at && (!d || r->drain_at < d))
        d = r->drain_at;
    return d;
}

static int ready (const zmq_pollitem_t *items, int n, int fd)
{
    if (!items)
        return 1;
    for (int i = 0; i < n; i++)
        if (items[i].socket == NULL && items[i].fd == fd)
            return (items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) != 0;
    return 0;
}

int zpar__runner_handle (zpar_runner_t *r, const zmq_pollitem_t *items, int n)
{
    uint64_t now;
    int chld;

    if (!r || r->state != ST_RUNNING)
        return 0;
    chld = ready (items, n, chld_pipe[0]);
    if (chld) {
        char buf[64];
        while (read (chld_pipe[0], buf, sizeof (buf)) > 0)
            ;
    }
    for (int i = 0; i < NFD; i++)
        if (r->fd[i] >= 0 && ready (items, n, r->fd[i]))
            read_fd (r, i);
    if (chld || (r->fd[FD_OUT] < 0 && r->fd[FD_ERR] < 0))
        try_reap (r, 0);
    if (r->reaped) {
        /* the child is gone: take what is left in the pipes */
        for (int i = 0; i < NFD; i++)
            if (r->fd[i] >= 0)
                read_fd (r, i);
    }
    now = zpar__mono_us ();
    if (!r->reaped) {
        if (r->timeout_at && now >= r->timeout_at) {
            r->timed_out = 1;
            r->timeout_at = 0;
            killgroup (r, SIGTERM);
            r->kill_at = now + ZPAR_RUNNER_TERM_GRACE_MS * 1000u;
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
            return 1;
        }
    }
    return 0;
}

int zpar__runner_interrupt (zpar_runner_t *r, unsigned grace_ms)
{
    if (!r || r->state != ST_RUNNING || r->reaped) {
        errno = ESRCH;
        return -1;
    }
    r->interrupted = 1;
    killgroup (r, SIGINT);
    r->kill_at = zpar__mono_us () + (uint64_t)grace_ms * 1000u;
    return 0;
}

int zpar__runner_kill (zpar_runner_t *r, const char *why)
{
    if (!r || r->state != ST_RUNNING) {
        errno = ESRCH;
        return -1;
    }
    r->killed = 1;
    snprintf (r->kill_why, sizeof (r->kill_why), "%s", why ? why : "killed");
    killgroup (r, SIGKILL);
    try_reap (r, 1);
    for (int i = 0; i < NFD; i++)
        if (r->fd[i] >= 0)
            read_fd (r, i);
    finish (r);
    return 0;
}

int zpar__runner_wait (zpar_runner_t *r, double timeout)
{
    uint64_t end = timeout < 0 ? 0 : zpar__mono_us () + (uint64_t)(timeout * 1e6);

    if (!r || r->state == ST_IDLE) {
        errno = ESRCH;
        return -1;
    }
    while (r->state == ST_RUNNING) {
        zmq_pollitem_t items[ZPAR_RUNNER_POLLITEMS];
        int n = zpar__runner_pollitems (r, items, ZPAR_RUNNER_POLLITEMS);
        uint64_t now = zpar__mono_us (), d = zpar__runner_deadline (r);
        long ms = -1;
        if (end && (!d || end < d))
            d = end;
        if (d)
            ms = d > now ? (long)((d - now + 999) / 1000) : 0;
        if (zmq_poll (items, n, ms) < 0 && errno != EINTR)
            return -1;
        if (zpar__runner_handle (r, items, n))
            break;
        if (end && zpar__mono_us () >= end && r->state == ST_RUNNING) {
            errno = ETIMEDOUT;
            return -1;
        }
    }
    return 0;
}
