/* runner_fn.c - function tasks: the symbol of a shared object, called in
 * a forked child (isolated) or in the engine itself (inline).  See
 * runner.h.
 *
 * The forked child is a task process, not the engine: it sets the default
 * disposition of the signals a task may meet, and turns the first SIGTERM
 * (timeout) or SIGINT (interrupt) into zpar_fn_cancelled() == 1 with a
 * one-shot handler (a second one, or the SIGKILL after the grace period,
 * ends it); then it clears the signal mask it inherited from the engine.
 * Like a command task it leads a process group of its own and has SIGKILL
 * as its parent-death signal (doc/engine.md, "Containment"). */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"
#include "engine_res.h"
#include "fnctx.h"
#include "reactor.h"
#include "runner_int.h"

static volatile sig_atomic_t child_cancel; /* in a function child */

static void on_child_cancel (int sig)
{
    (void)sig;
    child_cancel = 1;
}

void zpar__runner_free_libs (zpar_runner_t *r)
{
    while (r->libs) {
        dlent_t *d = r->libs;
        r->libs = d->next;
        /* libraries stay loaded: a function may have left threads or
         * atexit handlers behind; unloading them is never safe */
        free (d->path);
        free (d);
    }
}

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

static int run_inline (zpar_runner_t *r, zpar_task_fn *fn, const zpar_run_spec_t *spec)
{
    struct zpar_fn_ctx ctx;
    struct rusage ru0, ru1;
    int rc;

    zpar__fn_ctx_init (&ctx, r->engine, r->rank, r->mpi_comm, r->cancelled);
    ctx.pending_cancels = 1; /* the engine blocks SIGTERM/SIGINT: see them pending */
    getrusage (RUSAGE_THREAD, &ru0);
    rc = fn (&ctx, spec->input_len ? spec->input : "", spec->input_len);
    getrusage (RUSAGE_THREAD, &ru1);
    r->res.finished_us = zpar__now_us ();
    r->res.wall_us = zpar__mono_us () - r->start_mono;
    r->res.utime_us = zpar__runner_tv_us (ru1.ru_utime) - zpar__runner_tv_us (ru0.ru_utime);
    r->res.stime_us = zpar__runner_tv_us (ru1.ru_stime) - zpar__runner_tv_us (ru0.ru_stime);
    getrusage (RUSAGE_SELF, &ru1);
    r->res.maxrss_kb = (uint64_t)ru1.ru_maxrss;
    /* hand the function's buffer over without a copy */
    zpar__runbuf_free (&r->res.output);
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
child_function (zpar_runner_t *r, zpar_task_fn *fn, const zpar_run_spec_t *spec, pid_t parent,
                int nice, int po, int pe, int pr, const zpar_res_plan_t *res)
{
    static const int defsigs[] = {SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM};
    struct zpar_fn_ctx ctx;
    struct sigaction sa;
    sigset_t none;
    int devnull, rc;
    uint8_t hdr[5];

    /* SIGKILL when the engine's thread that forked us ends; if the engine
     * is already gone, do not run */
    (void)prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid () != parent)
        _exit (127);
    /* its own session (and CPU share under autogroup), unless the engine
     * already made us a group leader (then its session: a group anyway) */
    if (setsid () < 0)
        (void)setpgid (0, 0);
    /* below the control plane (doc/engine.md) */
    if (nice != ZPAR_NO_NICE)
        zpar__runner_child_nice (nice);
    /* the keeper must see the engine go, not wait for us */
    if (zpar__keeper_fd (r->keeper) >= 0)
        (void)close (zpar__keeper_fd (r->keeper));
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
    zpar__reactor_child_sigmask (&none);
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
    if (res) {
        /* the task's resources (engine_res.h): its plan's environment
         * holds the task's ENV entries too */
        char *const *e = zpar__engine_res_plan_env (res);
        zpar_res_stage_t stage;
        if (zpar__engine_res_apply_child (res, &stage) < 0) {
            char msg[ZPAR_RES_CPUSET_MAX + 128];
            int n, en = errno;
            if (stage == ZPAR_RES_STAGE_CPUSET)
                n = snprintf (msg, sizeof (msg), "Ecannot bind to cpus %s (%s)",
                              zpar__engine_res_plan_cpuset (res), strerror (en));
            else
                n = snprintf (msg, sizeof (msg), "Ecannot set a memory limit of %llu bytes (%s)",
                              (unsigned long long)zpar__engine_res_plan_memory (res),
                              strerror (en));
            write_all (pr, msg, n > 0 && (size_t)n < sizeof (msg) ? (size_t)n : sizeof (msg) - 1);
            _exit (127);
        }
        for (; e && *e; e++)
            (void)putenv (*e);
    } else if (spec->env)
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

int zpar__runner_start_function (zpar_runner_t *r, const zpar_run_spec_t *spec)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, pr[2] = {-1, -1};
    char why[512];
    zpar_task_fn *fn;
    zpar_res_plan_t *res = NULL;
    void *h;
    pid_t pid, parent;
    int nice;

    if (!spec->lib || !*spec->lib)
        return zpar__runner_fail_now (r, "function task without a library");
    if (!spec->symbol || !*spec->symbol)
        return zpar__runner_fail_now (r, "function task without a symbol");
    if (!(h = dl_get (r, spec->lib, why, sizeof (why))))
        return zpar__runner_fail_now (r, "cannot load the library %s: %s", spec->lib, why);
    (void)dlerror ();
    if (!(fn = (zpar_task_fn *)dlsym (h, spec->symbol))) {
        const char *e = dlerror ();
        return zpar__runner_fail_now (r, "no symbol %s in %s: %s", spec->symbol, spec->lib,
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
            return zpar__runner_fail_now (r, "bad environment entry '%s': give NAME=VALUE", bad);
    }
    if (zpar__runner_cwd_problem (spec->cwd && *spec->cwd ? spec->cwd : NULL, why, sizeof (why)))
        return zpar__runner_fail_now (r, "cannot change to the working directory %s (%s)",
                                      spec->cwd, why);
    if (spec->nslots) {
        zpar_error_t rerr;
        if (!(res = zpar__engine_res_plan (spec->slots, spec->nslots, spec->memory, spec->env, NULL,
                                           &rerr)))
            return zpar__runner_fail_now (r, "%s", rerr.text);
        r->mem_limit = zpar__engine_res_plan_memory (res);
    }
    if (zpar__runner_pipe (po) < 0 || zpar__runner_pipe (pe) < 0 || zpar__runner_pipe (pr) < 0) {
        int e = errno;
        zpar__engine_res_plan_destroy (res);
        for (int i = 0; i < 2; i++) {
            zpar__runner_close_fd (&po[i]);
            zpar__runner_close_fd (&pe[i]);
            zpar__runner_close_fd (&pr[i]);
        }
        return zpar__runner_fail_now (r, "cannot create pipes: %s", strerror (e));
    }
    fflush (stdout);
    fflush (stderr);
    r->is_fn = 1;
    parent = getpid ();
    nice = zpar__runner_task_nice (r);
    pid = fork ();
    if (pid == 0)
        child_function (r, fn, spec, parent, nice, po[1], pe[1], pr[1], res);
    zpar__engine_res_plan_destroy (res);
    zpar__runner_close_fd (&po[1]);
    zpar__runner_close_fd (&pe[1]);
    zpar__runner_close_fd (&pr[1]);
    if (pid < 0) {
        int e = errno;
        zpar__runner_close_fd (&po[0]);
        zpar__runner_close_fd (&pe[0]);
        zpar__runner_close_fd (&pr[0]);
        return zpar__runner_fail_now (r, "cannot fork: %s", strerror (e));
    }
    (void)setpgid (pid, pid); /* also done in the child: no race with killpg */
    r->pid = pid;
    r->res.pid = pid;
    r->fd[FD_OUT] = po[0];
    r->fd[FD_ERR] = pe[0];
    r->fd[FD_RES] = pr[0];
    return zpar__runner_child_started (r);
}
