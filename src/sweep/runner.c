/* runner.c - running a sweep on a zpar cluster; status and report. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "error.h"
#include "journal.h"
#include "report.h"
#include "runner.h"
#include "spec.h"
#include "zpar.h"

/* How often the live line is refreshed, and the log line written. */
#define LIVE_PERIOD_S 0.2
#define GATHER_NS 2000000 /* 2 ms: results gathered per wake-up when the window is full */
#define LOG_PERIOD_S 5.0
/* Probe the controller after this long without any event. */
#define PROBE_IDLE_S 5.0
/* Points examined per dispatch burst before results are looked at again. */
#define BURST 1024
/* Failed points listed in the summary. */
#define LIST_FAILED_MAX 10
#define LIST_REMOVED_MAX 5
/* Bounds on the private cluster's commands (seconds). */
#define CLUSTER_START_TIMEOUT 120.0
#define CLUSTER_STOP_TIMEOUT 30.0

static double mono_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ signals */

static volatile sig_atomic_t stop_signal;

static void on_signal (int sig)
{
    stop_signal = sig;
}

typedef struct {
    int installed;
    struct sigaction old_int, old_term;
} sigsave_t;

static void signals_install (sigsave_t *s)
{
    struct sigaction sa;
    memset (&sa, 0, sizeof (sa));
    sa.sa_handler = on_signal;
    sigemptyset (&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: let poll() return EINTR */
    stop_signal = 0;
    sigaction (SIGINT, &sa, &s->old_int);
    sigaction (SIGTERM, &sa, &s->old_term);
    s->installed = 1;
}

static void signals_restore (sigsave_t *s)
{
    if (s->installed) {
        sigaction (SIGINT, &s->old_int, NULL);
        sigaction (SIGTERM, &s->old_term, NULL);
        s->installed = 0;
    }
}

/* ------------------------------------------------------------ output */

typedef struct {
    FILE *log;
    int quiet;
    int live; /* a terminal: one line rewritten with \r */
    int line_dirty;
} out_t;

static void note (out_t *o, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* One line "zpar: ..." on the log, clearing a live progress line first. */
static void vline (out_t *o, const char *fmt, va_list ap) __attribute__ ((format (printf, 2, 0)));
static void vline (out_t *o, const char *fmt, va_list ap)
{
    if (o->line_dirty) {
        fputs ("\r\033[K", o->log);
        o->line_dirty = 0;
    }
    fputs ("zpar: ", o->log);
    vfprintf (o->log, fmt, ap);
    fputc ('\n', o->log);
    fflush (o->log);
}

static void note (out_t *o, const char *fmt, ...)
{
    va_list ap;
    if (o->quiet)
        return;
    va_start (ap, fmt);
    vline (o, fmt, ap);
    va_end (ap);
}

/* Always printed (errors and warnings during a run). */
static void warnx (out_t *o, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void warnx (out_t *o, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vline (o, fmt, ap);
    va_end (ap);
}

static void fmt_duration (double s, char *buf, size_t size)
{
    long t = (long)(s + 0.5);
    if (s < 0 || s > 1e9)
        snprintf (buf, size, "?");
    else if (t < 60)
        snprintf (buf, size, "%lds", t);
    else if (t < 3600)
        snprintf (buf, size, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf (buf, size, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
}

/* ------------------------------------------------------------ files */

/* mkdir -p, remembering the last directory made so that the common case
 * (every point in the same directory) costs nothing. */
typedef struct {
    char last[2][PATH_MAX];
} dircache_t;

static int ensure_dir (dircache_t *dc, int slot, const char *dir)
{
    if (strcmp (dc->last[slot], dir) == 0)
        return 0;
    if (zpar__mkdir_p (dir, 0777) < 0)
        return -1;
    snprintf (dc->last[slot], sizeof (dc->last[slot]), "%s", dir);
    return 0;
}

static int ensure_parent (dircache_t *dc, const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr (path, '/');
    size_t n;
    if (!slash || slash == path)
        return 0;
    n = (size_t)(slash - path);
    if (n >= sizeof (dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy (dir, path, n);
    dir[n] = '\0';
    return ensure_dir (dc, 1, dir);
}

static int write_all (int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write (fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Write (replace) path with data, then append more (may be NULL). */
static int write_file (dircache_t *dc, const char *path, const void *data, size_t len,
                       const void *more, size_t mlen)
{
    int fd, e;
    if (len == 0 && mlen == 0) {
        /* no output, no file (and none left from an earlier run): creating
         * two empty files per point costs more than a short task */
        if (unlink (path) < 0 && errno != ENOENT)
            return -1;
        return 0;
    }
    if (ensure_parent (dc, path) < 0)
        return -1;
    if ((fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0)
        return -1;
    if ((len && write_all (fd, data, len) < 0) || (mlen && write_all (fd, more, mlen) < 0)) {
        e = errno;
        close (fd);
        errno = e;
        return -1;
    }
    return close (fd);
}

/* ------------------------------------------------------------ children */

/* Run argv with stdout into a pipe (up to outsize-1 bytes kept in out when
 * out is not NULL) and stderr inherited; wait at most timeout seconds (then
 * SIGKILL) or until a stop signal when stoppable.  Daemons that inherit the
 * pipe do not hold us: we stop reading once the child has exited.  Returns
 * the child's wait status, or -1 (errno ETIMEDOUT, EINTR, or from fork). */
static int run_child (char *const argv[], char *out, size_t outsize, double timeout,
                      int stoppable)
{
    int pfd[2], status = 0;
    size_t used = 0;
    pid_t pid;
    double deadline = mono_s () + timeout;
    int exited = 0;

    if (pipe2 (pfd, O_CLOEXEC) < 0)
        return -1;
    if ((pid = fork ()) < 0) {
        int e = errno;
        close (pfd[0]);
        close (pfd[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        int devnull = open ("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2 (devnull, 0);
        dup2 (pfd[1], 1);
        signal (SIGINT, SIG_DFL);
        signal (SIGTERM, SIG_DFL);
        execv (argv[0], argv);
        fprintf (stderr, "zpar: cannot run %s: %s\n", argv[0], strerror (errno));
        _exit (127);
    }
    close (pfd[1]);
    fcntl (pfd[0], F_SETFL, O_NONBLOCK);
    for (;;) {
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        double left = deadline - mono_s ();
        int pr;
        if (!exited && waitpid (pid, &status, WNOHANG) == pid)
            exited = 1;
        if (left <= 0 || (stoppable && stop_signal)) {
            if (!exited) {
                kill (pid, SIGKILL);
                waitpid (pid, &status, 0);
            }
            close (pfd[0]);
            errno = left <= 0 ? ETIMEDOUT : EINTR;
            return -1;
        }
        pr = poll (&p, 1, exited ? 0 : (int)(left > 0.1 ? 100 : left * 1000 + 1));
        if (pr > 0) {
            char buf[512];
            ssize_t n = read (pfd[0], buf, sizeof (buf));
            if (n > 0) {
                if (out && used + 1 < outsize) {
                    size_t k = (size_t)n < outsize - 1 - used ? (size_t)n : outsize - 1 - used;
                    memcpy (out + used, buf, k);
                    used += k;
                }
                continue;
            }
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                if (!exited) { /* EOF: wait for the exit */
                    while (waitpid (pid, &status, WNOHANG) == 0) {
                        if (mono_s () > deadline || (stoppable && stop_signal))
                            break;
                        usleep (20000);
                    }
                    if (waitpid (pid, &status, WNOHANG) == 0)
                        continue; /* handled at the top (timeout / stop) */
                }
                break;
            }
        }
        else if (exited)
            break; /* exited and nothing more to read now */
    }
    close (pfd[0]);
    if (out)
        out[used] = '\0';
    return status;
}

/* ------------------------------------------------------------ cluster */

typedef struct {
    int started;                 /* a private cluster is ours to stop */
    char exe[PATH_MAX];
    char dir[PATH_MAX];
    char conn[PATH_MAX];
} private_t;

static int self_exe (const char *opt, char *buf, size_t size)
{
    ssize_t n;
    if (opt) {
        snprintf (buf, size, "%s", opt);
        return 0;
    }
    if ((n = readlink ("/proc/self/exe", buf, size - 1)) < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

static void private_stop (private_t *pc, out_t *o, int quiet)
{
    char *argv[] = {pc->exe, "cluster", "stop", "--dir", pc->dir, NULL};
    int st;
    char pids[PATH_MAX + 16], conn[PATH_MAX + 16];
    if (!pc->started)
        return;
    pc->started = 0;
    /* a start that failed has cleaned up after itself */
    snprintf (pids, sizeof (pids), "%s/pids", pc->dir);
    snprintf (conn, sizeof (conn), "%s/client.json", pc->dir);
    if (access (pids, F_OK) < 0 && access (conn, F_OK) < 0)
        return;
    st = run_child (argv, NULL, 0, CLUSTER_STOP_TIMEOUT, 0);
    if (!quiet && (st < 0 || !WIFEXITED (st) || WEXITSTATUS (st) != 0))
        warnx (o, "could not stop the private cluster in %s (its processes are listed in "
                  "%s/pids)", pc->dir, pc->dir);
}

/* Start a private local cluster of n engines; on success pc->conn names
 * its client connection file. */
static int private_start (private_t *pc, const zpar_sweep_spec_t *spec, unsigned n,
                          const char *exe, out_t *o, zpar_error_t *err)
{
    const char *outdir = zpar__sweep_spec_output_dir (spec);
    char nbuf[16], out[4096];
    char *line, *save = NULL, *last = NULL;
    int st;

    if (self_exe (exe, pc->exe, sizeof (pc->exe)) < 0)
        return zpar__errprintf (err, "cannot find the zpar program: %s", strerror (errno));
    if (n == 0) {
        long c = sysconf (_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (unsigned)c : 1;
    }
    snprintf (nbuf, sizeof (nbuf), "%u", n);
    /* ipc:// endpoints must stay under ~100 bytes: keep the dir short */
    if (strlen (outdir) + sizeof ("/.cluster") < 80) {
        snprintf (pc->dir, sizeof (pc->dir), "%s/.cluster", outdir);
        if (zpar__mkdir_p (pc->dir, 0700) < 0)
            return zpar__errprintf (err, "cannot create %s: %s", pc->dir, strerror (errno));
        /* a cluster left by a run that was killed: stop it first (we hold
         * the journal lock, so no live run owns it) */
        if (access (pc->dir, F_OK) == 0) {
            char path[PATH_MAX + 16];
            snprintf (path, sizeof (path), "%s/pids", pc->dir);
            if (access (path, F_OK) == 0) {
                char *argv[] = {pc->exe, "cluster", "stop", "--dir", pc->dir, NULL};
                note (o, "stopping a private cluster left by an earlier run in %s", pc->dir);
                (void)run_child (argv, NULL, 0, CLUSTER_STOP_TIMEOUT, 1);
            }
        }
    }
    else {
        const char *tmp = getenv ("TMPDIR");
        snprintf (pc->dir, sizeof (pc->dir), "%s/zpar-sweep-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp (pc->dir))
            return zpar__errprintf (err, "cannot create a directory for the private cluster: %s",
                                    strerror (errno));
    }
    note (o, "no cluster running: starting a private one with %u engines (%s)", n, pc->dir);
    {
        char *argv[] = {pc->exe, "cluster", "start", "-n", nbuf, "--dir", pc->dir, NULL};
        pc->started = 1; /* from here on, stop it whatever happens */
        st = run_child (argv, out, sizeof (out), CLUSTER_START_TIMEOUT, 1);
    }
    if (st < 0 || !WIFEXITED (st) || WEXITSTATUS (st) != 0) {
        int e = st < 0 ? errno : 0;
        private_stop (pc, o, 1);
        if (e == EINTR)
            return zpar__errnoprintf (err, EINTR, "interrupted while starting the private cluster");
        if (e == ETIMEDOUT)
            return zpar__errnoprintf (err, EHOSTUNREACH,
                                      "the private cluster did not start within %.0f s",
                                      CLUSTER_START_TIMEOUT);
        return zpar__errnoprintf (err, EHOSTUNREACH,
                                  "could not start a private cluster (%s cluster start -n %u "
                                  "--dir %s failed)", pc->exe, n, pc->dir);
    }
    for (line = strtok_r (out, "\r\n", &save); line; line = strtok_r (NULL, "\r\n", &save))
        if (*line)
            last = line;
    if (last && last[0] == '/' && access (last, R_OK) == 0)
        snprintf (pc->conn, sizeof (pc->conn), "%s", last);
    else
        snprintf (pc->conn, sizeof (pc->conn), "%s/client.json", pc->dir);
    return 0;
}

/* A connection file found by the usual search whose controller is a dead
 * process of this host: the cluster is not running. */
static int conn_stale (const char *path)
{
    zpar_conninfo_t ci;
    char host[256];
    if (zpar__conn_read (path, &ci, NULL) < 0)
        return 1;
    if (ci.pid <= 0 || gethostname (host, sizeof (host)) < 0)
        return 0;
    host[sizeof (host) - 1] = '\0';
    if (strcmp (host, ci.host) != 0)
        return 0;
    return kill (ci.pid, 0) < 0 && errno == ESRCH;
}

/* Connect as opts say.  *pc tells whether a private cluster was started. */
static zpar_client_t *connect_cluster (const zpar_sweep_run_opts_t *opts,
                                       const zpar_sweep_spec_t *spec, private_t *pc, out_t *o,
                                       zpar_error_t *err)
{
    char path[PATH_MAX];
    const char *env = getenv ("ZPAR_CONNECTION_FILE");
    zpar_client_t *c;

    if (opts->connection_file || (env && *env))
        return zpar_client_connect (opts->connection_file ? opts->connection_file : env, err);
    if (zpar__conn_resolve (NULL, path, sizeof (path), NULL) == 0 && !conn_stale (path))
        return zpar_client_connect (path, err);
    if (!opts->private_cluster) {
        zpar__conn_resolve (NULL, path, sizeof (path), err);
        errno = EHOSTUNREACH;
        return NULL;
    }
    if (private_start (pc, spec, opts->engines, opts->zpar_exe, o, err) < 0)
        return NULL;
    if (!(c = zpar_client_connect (pc->conn, err)))
        private_stop (pc, o, 0);
    return c;
}

/* ------------------------------------------------------------ lock */

static int lock_journal (const char *jpath, zpar_error_t *err)
{
    char path[PATH_MAX];
    int fd;
    if (snprintf (path, sizeof (path), "%s.lock", jpath) >= (int)sizeof (path))
        return zpar__errnoprintf (err, ENAMETOOLONG, "%s: path too long", jpath);
    if ((fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0666)) < 0)
        return zpar__errprintf (err, "cannot create %s: %s", path, strerror (errno));
    if (flock (fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close (fd);
        if (e == EWOULDBLOCK)
            return zpar__errnoprintf (err, e, "another zpar sweep run is using the journal %s",
                                      jpath);
        return zpar__errnoprintf (err, e, "cannot lock %s: %s", path, strerror (e));
    }
    return fd;
}

/* ------------------------------------------------------------ the run */

typedef struct {
    zpar_future_t *f;
    zpar_sweep_task_t *task;
} slot_t;

typedef struct {
    uint64_t total;       /* points in the sweep */
    uint64_t skipped_ok;  /* succeeded in an earlier run */
    uint64_t skipped_bad; /* failed in an earlier run, not retried */
    uint64_t ok, failed, lost;
    uint64_t seen;        /* points taken from the iterator */
    size_t running;
} counts_t;

typedef struct {
    const zpar_sweep_run_opts_t *opts;
    zpar_sweep_spec_t *spec;
    zpar_journal_t *j;
    zpar_client_t *c;
    zpar_sweep_iter_t *it;
    out_t o;
    dircache_t dc;
    slot_t *slots;
    size_t *freelist; /* indexes of free slots */
    size_t nfree, window;
    counts_t n;
    double t0, t_first, last_progress, last_event;
    int iter_done;
    char *failed_list[LIST_FAILED_MAX];
    size_t nfailed_list;
    int runtime_error; /* journal or file problem: reported, the run goes on */
} run_t;

static void progress (run_t *r, int force)
{
    double now = mono_s (), el, rate;
    uint64_t done = r->n.ok + r->n.failed + r->n.lost;
    uint64_t accounted = r->n.skipped_ok + r->n.skipped_bad + done + r->n.running;
    uint64_t left = r->n.total > accounted ? r->n.total - accounted : 0;
    char eta[32], elapsed[32];

    if (r->o.quiet)
        return;
    if (!force && now - r->last_progress < (r->o.live ? LIVE_PERIOD_S : LOG_PERIOD_S))
        return;
    r->last_progress = now;
    el = r->t_first > 0 ? now - r->t_first : 0;
    rate = el > 0 ? (double)done / el : 0;
    if (rate > 0)
        fmt_duration ((double)(left + r->n.running) / rate, eta, sizeof (eta));
    else
        snprintf (eta, sizeof (eta), "?");
    fmt_duration (now - r->t0, elapsed, sizeof (elapsed));
    if (r->o.live) {
        fprintf (r->o.log,
                 "\r%s: %" PRIu64 " done, %" PRIu64 " failed, %zu running, %" PRIu64
                 " left | %.1f points/s | ETA %s\033[K",
                 zpar__sweep_spec_name (r->spec), r->n.ok, r->n.failed + r->n.lost, r->n.running,
                 left, rate, eta);
        r->o.line_dirty = 1;
    }
    else
        fprintf (r->o.log,
                 "zpar: sweep %s: %" PRIu64 " done, %" PRIu64 " failed, %zu running, %" PRIu64
                 " left, %.1f points/s, ETA %s (%s elapsed)\n",
                 zpar__sweep_spec_name (r->spec), r->n.ok, r->n.failed + r->n.lost, r->n.running,
                 left, rate, eta, elapsed);
    fflush (r->o.log);
}

static void journal_problem (run_t *r, const zpar_error_t *e)
{
    if (!r->runtime_error)
        warnx (&r->o, "journal: %s", e->text);
    r->runtime_error = 1;
}

/* Submit one point. 0 dispatched, -1 runtime error (reported; point not
 * run), -2 the cluster is gone. */
static int dispatch (run_t *r, zpar_sweep_task_t *task)
{
    const zpar_sweep_run_opts_t *opts = r->opts;
    zpar_task_t *t;
    zpar_future_t *f;
    zpar_error_t e;
    char tid[32];
    size_t s;
    double timeout = zpar__sweep_spec_timeout (r->spec);
    int retries = zpar__sweep_spec_retries (r->spec);
    (void)opts;

    if (ensure_dir (&r->dc, 0, task->workdir) < 0) {
        warnx (&r->o, "point %" PRIu64 ": cannot create its workdir %s: %s", task->index,
               task->workdir, strerror (errno));
        r->runtime_error = 1;
        return -1;
    }
    if (!(t = zpar_task_command ((const char *const *)task->argv)))
        goto nomem;
    for (size_t i = 0; i < task->nenv; i++) {
        char *eq = strchr (task->env[i], '=');
        int rc;
        if (!eq)
            continue;
        *eq = '\0';
        rc = zpar_task_setenv (t, task->env[i], eq + 1);
        *eq = '=';
        if (rc < 0)
            goto nomem_t;
    }
    if (zpar_task_set_cwd (t, task->workdir) < 0
        || (timeout > 0 && zpar_task_set_timeout (t, timeout) < 0)
        || (retries > 0 && zpar_task_set_retries (t, (unsigned)retries) < 0)
        || zpar_task_set_output_cap (t, ZPAR_SWEEP_OUTPUT_CAP) < 0)
        goto nomem_t;
    f = zpar_submit (r->c, t, &e);
    zpar_task_destroy (t);
    if (!f) {
        warnx (&r->o, "cannot submit point %" PRIu64 ": %s", task->index, e.text);
        return -2;
    }
    zpar_task_id_format (zpar_future_id (f), tid, sizeof (tid));
    {
        zpar_journal_dispatch_t d = {
            .key = task->key,
            .index = task->index,
            .params_json = task->params_json,
            .stdout_path = task->stdout_path,
            .stderr_path = task->stderr_path,
            .task_id = tid,
        };
        if (zpar__journal_dispatched (r->j, &d, &e) < 0)
            journal_problem (r, &e);
    }
    s = r->freelist[--r->nfree];
    r->slots[s].f = f;
    r->slots[s].task = task;
    r->n.running++;
    if (r->t_first == 0)
        r->t_first = mono_s ();
    return 0;
nomem_t:
    zpar_task_destroy (t);
nomem:
    warnx (&r->o, "point %" PRIu64 ": out of memory", task->index);
    r->runtime_error = 1;
    return -1;
}

static void remember_failed (run_t *r, const zpar_sweep_task_t *task, const char *what)
{
    char *s;
    if (r->nfailed_list >= LIST_FAILED_MAX)
        return;
    if (asprintf (&s, "point %" PRIu64 " %s: %s (stderr: %s)", task->index, task->params_json,
                  what, task->stderr_path) >= 0)
        r->failed_list[r->nfailed_list++] = s;
}

/* A result has arrived in slot s. */
static void finish (run_t *r, size_t s)
{
    slot_t *sl = &r->slots[s];
    const zpar_result_t *res = zpar_future_result (sl->f);
    zpar_sweep_task_t *task = sl->task;
    zpar_status_t st = zpar_result_status (res);
    size_t olen = 0, elen = 0;
    const void *out = zpar_result_stdout (res, &olen);
    const void *errb = zpar_result_stderr (res, &elen);
    int trunc = zpar_result_truncated (res);
    const char *rerr = zpar_result_error (res);
    char engine[16], what[256], errtext[512];
    zpar_journal_result_t jr;
    zpar_error_t e;

    /* output files (both created, even when empty) */
    if (strcmp (task->stdout_path, task->stderr_path) == 0) {
        if (write_file (&r->dc, task->stdout_path, out, olen, errb, elen) < 0) {
            warnx (&r->o, "cannot write %s: %s", task->stdout_path, strerror (errno));
            r->runtime_error = 1;
        }
    }
    else if (write_file (&r->dc, task->stdout_path, out, olen, NULL, 0) < 0
             || write_file (&r->dc, task->stderr_path, errb, elen, NULL, 0) < 0) {
        warnx (&r->o, "point %" PRIu64 ": cannot write its output files: %s", task->index,
               strerror (errno));
        r->runtime_error = 1;
    }

    snprintf (engine, sizeof (engine), "%u", zpar_result_engine (res).id);
    errtext[0] = '\0';
    if (rerr && *rerr)
        snprintf (errtext, sizeof (errtext), "%s", rerr);
    if (trunc) {
        size_t k = strlen (errtext);
        snprintf (errtext + k, sizeof (errtext) - k, "%s%s truncated at %zu MiB", k ? "; " : "",
                  trunc == 3 ? "stdout and stderr" : trunc == 1 ? "stdout" : "stderr",
                  ZPAR_SWEEP_OUTPUT_CAP >> 20);
    }
    memset (&jr, 0, sizeof (jr));
    jr.key = task->key;
    jr.exit_code = zpar_result_exit_code (res);
    jr.signal = zpar_result_signal (res);
    jr.wall_s = zpar_result_wall (res);
    jr.max_rss_kb = zpar_result_maxrss_kb (res);
    jr.engine = zpar_result_engine (res).id ? engine : NULL;
    jr.host = zpar_result_host (res);
    if (jr.host && !*jr.host)
        jr.host = NULL;
    jr.error = errtext[0] ? errtext : NULL;

    /* SIGTERM, SIGINT or SIGHUP come from outside the point: the walltime,
     * scancel, a pre-emption, a shutdown racing the task's end.  Like an
     * abort, that is not the point's fault: it runs again next time. */
    if (st == ZPAR_STATUS_SIGNALED
        && (jr.signal == SIGTERM || jr.signal == SIGINT || jr.signal == SIGHUP))
        st = ZPAR_STATUS_ABORTED;
    /* so is the loss of its engine (a node died, the job ended under it)
     * once the task's own retries are spent */
    if (st == ZPAR_STATUS_ENGINE_DIED)
        st = ZPAR_STATUS_ABORTED;
    switch (st) {
    case ZPAR_STATUS_OK:
        jr.state = ZPAR_JSTATE_SUCCEEDED;
        r->n.ok++;
        break;
    case ZPAR_STATUS_ABORTED:
        /* not the point's fault: it runs again next time */
        jr.state = ZPAR_JSTATE_PENDING;
        r->n.lost++;
        if (!jr.error)
            jr.error = "aborted";
        remember_failed (r, task, "aborted before it finished (will run again)");
        break;
    default:
        jr.state = ZPAR_JSTATE_FAILED;
        r->n.failed++;
        if (st == ZPAR_STATUS_FAILED)
            snprintf (what, sizeof (what), "exit code %d", jr.exit_code);
        else if (st == ZPAR_STATUS_SIGNALED)
            snprintf (what, sizeof (what), "killed by signal %d (%s)", jr.signal,
                      strsignal (jr.signal));
        else if (st == ZPAR_STATUS_TIMEOUT) {
            snprintf (what, sizeof (what), "timed out after %gs",
                      zpar__sweep_spec_timeout (r->spec));
            if (!jr.error)
                jr.error = what;
        }
        else
            snprintf (what, sizeof (what), "%s%s%s", zpar_status_name (st),
                      errtext[0] ? ": " : "", errtext);
        if (!jr.error && st != ZPAR_STATUS_FAILED && st != ZPAR_STATUS_SIGNALED)
            jr.error = zpar_status_name (st);
        remember_failed (r, task, what);
        break;
    }
    if (zpar__journal_finished (r->j, &jr, &e) < 0)
        journal_problem (r, &e);
    zpar_future_destroy (sl->f);
    zpar__sweep_task_destroy (task);
    sl->f = NULL;
    sl->task = NULL;
    r->freelist[r->nfree++] = s;
    r->n.running--;
}

/* Hand the results that have arrived to finish().  Results can arrive in
 * any call that reads the sockets (poll, queue status, abort), so this
 * looks at the futures rather than at what the last poll returned. */
static void collect (run_t *r)
{
    size_t pending = zpar_client_outstanding (r->c);
    size_t arrived;
    if (r->n.running == 0)
        return;
    /* our own client: outstanding counts our futures only */
    arrived = r->opts->client ? r->n.running
              : r->n.running > pending ? r->n.running - pending : 0;
    for (size_t s = 0; s < r->window && arrived > 0; s++) {
        if (r->slots[s].f && zpar_future_done (r->slots[s].f)) {
            finish (r, s);
            if (!r->opts->client)
                arrived--;
        }
    }
}

/* Fill the window.  Returns -2 when the cluster is gone. */
static int fill (run_t *r)
{
    zpar_error_t e;
    for (int k = 0; k < BURST && r->nfree > 0 && !r->iter_done && !stop_signal; k++) {
        const zpar_sweep_point_t *pt = zpar__sweep_iter_next (r->it);
        zpar_sweep_task_t *task;
        zpar_jstate_t js;
        int rc;
        if (!pt) {
            r->iter_done = 1;
            break;
        }
        r->n.seen++;
        if (!(task = zpar__sweep_spec_task (r->spec, pt, &e))) {
            warnx (&r->o, "point %" PRIu64 ": %s", pt->index, e.text);
            r->runtime_error = 1;
            continue;
        }
        if (zpar__journal_current_add (r->j, task->key, &e) < 0
            || zpar__journal_lookup (r->j, task->key, &js, NULL, &e) < 0) {
            journal_problem (r, &e);
            js = ZPAR_JSTATE_ABSENT;
        }
        if (js == ZPAR_JSTATE_SUCCEEDED) {
            r->n.skipped_ok++;
            zpar__sweep_task_destroy (task);
            continue;
        }
        if (js == ZPAR_JSTATE_FAILED && !r->opts->retry_failed) {
            r->n.skipped_bad++;
            zpar__sweep_task_destroy (task);
            continue;
        }
        if ((rc = dispatch (r, task)) < 0) {
            zpar__sweep_task_destroy (task);
            if (rc == -2)
                return -2;
        }
    }
    return 0;
}

static int print_removed (const zpar_journal_row_t *row, void *arg)
{
    run_t *r = arg;
    note (&r->o, "  removed: point %" PRIu64 " %s (%s)", row->index,
          row->params_json ? row->params_json : "{}", zpar__journal_state_name (row->state));
    return 0;
}

static int count_removed (const zpar_journal_row_t *row, void *arg)
{
    (void)row;
    (*(uint64_t *)arg)++;
    return 0;
}

/* Abort what we submitted and is still queued (an interrupted run on a
 * cluster that is not ours). */
static void abort_outstanding (run_t *r)
{
    for (size_t s = 0; s < r->window; s++)
        if (r->slots[s].f && !zpar_future_done (r->slots[s].f))
            (void)zpar_client_abort (r->c, zpar_future_id (r->slots[s].f), NULL);
}

static unsigned default_window (zpar_client_t *c)
{
    zpar_engine_info_t *list = NULL;
    size_t n = 0, live = 0;
    if (zpar_client_engines (c, &list, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++)
            if (strcmp (list[i].state, "dead") != 0)
                live++;
        free (list);
    }
    return live * ZPAR_SWEEP_WINDOW_PER_ENGINE > ZPAR_SWEEP_WINDOW_MIN
               ? (unsigned)(live * ZPAR_SWEEP_WINDOW_PER_ENGINE)
               : ZPAR_SWEEP_WINDOW_MIN;
}

int zpar__sweep_run (const zpar_sweep_run_opts_t *opts, zpar_error_t *err)
{
    run_t r;
    private_t pc;
    sigsave_t sigs = {0};
    zpar_error_t e;
    char *jpath = NULL;
    int lockfd = -1, rc = ZPAR_SWEEP_EXIT_FAILED, requeued = 0, changed = 0, lost_cluster = 0;
    int own_client = 0, sig = 0;

    memset (&r, 0, sizeof (r));
    memset (&pc, 0, sizeof (pc));
    r.opts = opts;
    if (!opts || !opts->sweep_path) {
        zpar__errnoprintf (err, EINVAL, "no sweep file");
        return ZPAR_SWEEP_EXIT_BAD_INPUT;
    }
    r.o.log = opts->log ? opts->log : stderr;
    r.o.quiet = opts->quiet;
    r.o.live = !opts->quiet && isatty (fileno (r.o.log));
    r.t0 = mono_s ();

    if (!(r.spec = zpar__sweep_spec_load (opts->sweep_path, err)))
        return errno == ENOMEM ? ZPAR_SWEEP_EXIT_FAILED : ZPAR_SWEEP_EXIT_BAD_INPUT;
    if (!(jpath = opts->journal_path ? strdup (opts->journal_path)
                                     : zpar__sweep_spec_journal_path (r.spec))) {
        zpar__errprintf (err, "out of memory");
        goto done;
    }
    if ((lockfd = lock_journal (jpath, err)) < 0)
        goto done;
    if (!(r.j = zpar__journal_open (jpath, zpar__sweep_spec_name (r.spec), err))) {
        rc = errno == EEXIST ? ZPAR_SWEEP_EXIT_BAD_INPUT : ZPAR_SWEEP_EXIT_FAILED;
        goto done;
    }
    if (opts->handle_signals)
        signals_install (&sigs);
    else
        stop_signal = 0;

    /* the cluster */
    if (opts->client)
        r.c = opts->client;
    else {
        if (!(r.c = connect_cluster (opts, r.spec, &pc, &r.o, err))) {
            rc = errno == EINTR && stop_signal ? 128 + stop_signal : ZPAR_SWEEP_EXIT_UNREACHABLE;
            goto done;
        }
        own_client = 1;
    }
    r.window = opts->window ? opts->window : default_window (r.c);
    if (!(r.slots = calloc (r.window, sizeof (*r.slots)))
        || !(r.freelist = calloc (r.window, sizeof (*r.freelist)))
        || !(r.it = zpar__sweep_spec_iter_create (r.spec))) {
        zpar__errprintf (err, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < r.window; i++)
        r.freelist[i] = r.window - 1 - i;
    r.nfree = r.window;

    if (zpar__journal_begin_run (r.j, zpar__sweep_spec_file_hash (r.spec), &requeued, &changed,
                                 err) < 0
        || zpar__journal_current_clear (r.j, err) < 0)
        goto done;
    if (requeued)
        note (&r.o, "%d points interrupted in an earlier run will run again", requeued);
    if (changed)
        note (&r.o, "the sweep file changed since the last run: new and changed points will run");
    r.n.total = zpar__sweep_spec_count (r.spec);

    if (zpar__mkdir_p (zpar__sweep_spec_output_dir (r.spec), 0777) < 0) {
        zpar__errprintf (err, "cannot create the output directory %s: %s",
                         zpar__sweep_spec_output_dir (r.spec), strerror (errno));
        goto done;
    }

    /* the loop */
    r.last_event = mono_s ();
    for (;;) {
        int nev;
        if (stop_signal)
            break;
        if (fill (&r) == -2) {
            lost_cluster = 1;
            break;
        }
        if (r.iter_done && r.n.running == 0)
            break;
        /* wait only when there is nothing to dispatch now; then let results
         * gather for a moment, so that one wake-up handles many of them
         * (waking per result costs more than the work on a busy node) */
        if (r.nfree > 0 && !r.iter_done)
            nev = zpar_client_poll (r.c, 0, &e);
        else {
            struct timespec gather = {0, GATHER_NS};
            nanosleep (&gather, NULL);
            nev = zpar_client_poll (r.c, 0, &e);
            if (nev == 0)
                nev = zpar_client_poll (r.c, LIVE_PERIOD_S, &e);
        }
        if (nev < 0 && errno != EINTR) {
            warnx (&r.o, "%s", e.text);
            lost_cluster = 1;
            break;
        }
        if (nev > 0)
            r.last_event = mono_s ();
        else if (r.n.running > 0 && mono_s () - r.last_event > PROBE_IDLE_S) {
            zpar_queue_status_t qs;
            if (zpar_client_queue_status (r.c, &qs, &e) < 0) {
                if (errno == EHOSTUNREACH) {
                    warnx (&r.o, "lost the cluster: %s", e.text);
                    lost_cluster = 1;
                    break;
                }
            }
            r.last_event = mono_s ();
        }
        collect (&r);
        if (zpar__journal_tick (r.j, &e) < 0)
            journal_problem (&r, &e);
        progress (&r, 0);
    }
    sig = stop_signal;
    if (sig) {
        note (&r.o, "interrupted by signal %d: stopping (%zu points were running; they will run "
                    "again next time)", sig, r.n.running);
        /* on a shared cluster, take our queued tasks back; a caller that
         * handed us its client (zpar run) shuts its cluster down itself */
        if (!pc.started && !lost_cluster && !opts->client)
            abort_outstanding (&r);
    }
    if (zpar__journal_flush (r.j, &e) < 0)
        journal_problem (&r, &e);

    if (!r.o.quiet && r.o.line_dirty) {
        fputs ("\r\033[K", r.o.log);
        r.o.line_dirty = 0;
    }

    /* removed points (only known once every point has been seen) */
    if (r.iter_done) {
        uint64_t nrem = 0;
        if (zpar__journal_foreach_removed (r.j, count_removed, &nrem, &e) < 0)
            journal_problem (&r, &e);
        else if (nrem) {
            note (&r.o, "%" PRIu64 " point%s in the journal %s no longer in the sweep (removed):",
                  nrem, nrem > 1 ? "s" : "", nrem > 1 ? "are" : "is");
            if (nrem <= LIST_REMOVED_MAX)
                (void)zpar__journal_foreach_removed (r.j, print_removed, &r, NULL);
            else
                note (&r.o, "  (see zpar sweep status)");
        }
    }

    /* summary */
    for (size_t i = 0; i < r.nfailed_list; i++)
        note (&r.o, "%s", r.failed_list[i]);
    if (r.n.failed + r.n.lost > r.nfailed_list && r.nfailed_list)
        note (&r.o, "... and %" PRIu64 " more (zpar sweep report)",
              r.n.failed + r.n.lost - r.nfailed_list);
    {
        char extra[128] = "";
        if (r.n.skipped_bad)
            snprintf (extra, sizeof (extra),
                      ", %" PRIu64 " skipped (failed before; --retry-failed runs them)",
                      r.n.skipped_bad);
        note (&r.o,
              "%" PRIu64 " points: %" PRIu64 " succeeded, %" PRIu64 " failed, %" PRIu64
              " skipped (already done)%s in %.1f s",
              r.n.total, r.n.ok, r.n.failed + r.n.lost, r.n.skipped_ok, extra, mono_s () - r.t0);
    }
    if (sig)
        rc = 128 + sig;
    else if (lost_cluster) {
        zpar__errnoprintf (err, EHOSTUNREACH, "lost the cluster; the journal has been saved, "
                                              "run again to resume");
        rc = ZPAR_SWEEP_EXIT_UNREACHABLE;
    }
    else if (r.iter_done && r.n.failed == 0 && r.n.lost == 0 && r.n.skipped_bad == 0
             && !r.runtime_error && r.n.ok + r.n.skipped_ok == r.n.total)
        rc = ZPAR_SWEEP_EXIT_OK;
    else {
        rc = ZPAR_SWEEP_EXIT_FAILED;
        if (r.runtime_error)
            zpar__errprintf (err, "some points could not be run or recorded (see above)");
        else
            zpar__errprintf (err, "%" PRIu64 " points did not succeed",
                             r.n.failed + r.n.lost + r.n.skipped_bad);
    }

done:
    if (r.slots) {
        for (size_t s = 0; s < r.window; s++) {
            zpar_future_destroy (r.slots[s].f);
            zpar__sweep_task_destroy (r.slots[s].task);
        }
    }
    free (r.slots);
    free (r.freelist);
    for (size_t i = 0; i < r.nfailed_list; i++)
        free (r.failed_list[i]);
    zpar__sweep_iter_destroy (r.it);
    if (own_client)
        zpar_client_destroy (r.c);
    private_stop (&pc, &r.o, 0);
    zpar__journal_close (r.j);
    if (lockfd >= 0)
        close (lockfd);
    signals_restore (&sigs);
    zpar__sweep_spec_destroy (r.spec);
    free (jpath);
    return rc;
}

/* ------------------------------------------------------------ status */

/* Open the journal for reading: an in-memory empty one when the file does
 * not exist (nothing ran yet; the file is not created). */
static zpar_journal_t *open_for_read (const zpar_sweep_spec_t *spec, const char *opt,
                                      char **jpath, int *exists, zpar_error_t *err)
{
    if (!(*jpath = opt ? strdup (opt) : zpar__sweep_spec_journal_path (spec))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    *exists = access (*jpath, F_OK) == 0;
    return zpar__journal_open (*exists ? *jpath : ":memory:", zpar__sweep_spec_name (spec), err);
}

typedef struct {
    uint64_t n;
    FILE *out;
    int json, first;
} removed_t;

static int list_removed (const zpar_journal_row_t *row, void *arg)
{
    removed_t *rm = arg;
    rm->n++;
    if (rm->json) {
        fprintf (rm->out, "%s{\"index\": %" PRIu64 ", \"params\": %s, \"state\": \"%s\"}",
                 rm->first ? "" : ", ", row->index, row->params_json ? row->params_json : "{}",
                 zpar__journal_state_name (row->state));
        rm->first = 0;
    }
    else
        fprintf (rm->out, "  removed: point %" PRIu64 " %s (%s)\n", row->index,
                 row->params_json ? row->params_json : "{}",
                 zpar__journal_state_name (row->state));
    return 0;
}

int zpar__sweep_status (const char *sweep_path, const char *journal_path, int json, FILE *out,
                        zpar_error_t *err)
{
    zpar_sweep_spec_t *spec;
    zpar_journal_t *j = NULL;
    zpar_sweep_iter_t *it = NULL;
    const zpar_sweep_point_t *pt;
    char *jpath = NULL;
    int exists = 0, rc = ZPAR_SWEEP_EXIT_FAILED;
    uint64_t counts[ZPAR_JSTATE_COUNT] = {0}, total = 0;
    removed_t rm = {0, out, json, 1};

    if (!(spec = zpar__sweep_spec_load (sweep_path, err)))
        return errno == ENOMEM ? ZPAR_SWEEP_EXIT_FAILED : ZPAR_SWEEP_EXIT_BAD_INPUT;
    if (!(j = open_for_read (spec, journal_path, &jpath, &exists, err))) {
        rc = errno == EEXIST ? ZPAR_SWEEP_EXIT_BAD_INPUT : ZPAR_SWEEP_EXIT_FAILED;
        goto done;
    }
    if (!(it = zpar__sweep_spec_iter_create (spec))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        goto done;
    }
    if (zpar__journal_current_clear (j, err) < 0)
        goto done;
    while ((pt = zpar__sweep_iter_next (it))) {
        zpar_sweep_task_t *task = zpar__sweep_spec_task (spec, pt, err);
        zpar_jstate_t st;
        int bad;
        if (!task)
            goto done;
        bad = zpar__journal_current_add (j, task->key, err) < 0
              || zpar__journal_lookup (j, task->key, &st, NULL, err) < 0;
        zpar__sweep_task_destroy (task);
        if (bad)
            goto done;
        counts[st]++;
        total++;
    }
    if (json) {
        fprintf (out, "{\"sweep\": ");
        /* names are [A-Za-z0-9_.-]: no escaping needed */
        fprintf (out, "\"%s\", \"points\": %" PRIu64 ", \"succeeded\": %" PRIu64
                      ", \"failed\": %" PRIu64 ", \"running\": %" PRIu64 ", \"pending\": %" PRIu64
                      ", \"not_run\": %" PRIu64 ", \"removed\": [",
                 zpar__sweep_spec_name (spec), total, counts[ZPAR_JSTATE_SUCCEEDED],
                 counts[ZPAR_JSTATE_FAILED], counts[ZPAR_JSTATE_RUNNING],
                 counts[ZPAR_JSTATE_PENDING], counts[ZPAR_JSTATE_ABSENT]);
        if (zpar__journal_foreach_removed (j, list_removed, &rm, err) < 0)
            goto done;
        fprintf (out, "]}\n");
    }
    else {
        fprintf (out, "sweep %s (%s): %" PRIu64 " points\n", zpar__sweep_spec_name (spec),
                 zpar__sweep_spec_path (spec), total);
        fprintf (out, "  succeeded  %" PRIu64 "\n", counts[ZPAR_JSTATE_SUCCEEDED]);
        fprintf (out, "  failed     %" PRIu64 "\n", counts[ZPAR_JSTATE_FAILED]);
        fprintf (out, "  running    %" PRIu64 "\n", counts[ZPAR_JSTATE_RUNNING]);
        fprintf (out, "  pending    %" PRIu64 "\n", counts[ZPAR_JSTATE_PENDING]);
        fprintf (out, "  not run    %" PRIu64 "\n", counts[ZPAR_JSTATE_ABSENT]);
        if (zpar__journal_foreach_removed (j, list_removed, &rm, err) < 0)
            goto done;
        fprintf (out, "  removed    %" PRIu64 "  (in the journal, no longer in the sweep)\n",
                 rm.n);
        fprintf (out, "journal: %s%s\n", jpath, exists ? "" : " (none yet)");
    }
    if (fflush (out) != 0 || ferror (out)) {
        zpar__errnoprintf (err, EIO, "cannot write the status");
        goto done;
    }
    rc = 0;
done:
    zpar__sweep_iter_destroy (it);
    zpar__journal_close (j);
    zpar__sweep_spec_destroy (spec);
    free (jpath);
    return rc;
}

/* ------------------------------------------------------------ report */

int zpar__sweep_report (const char *sweep_path, const char *journal_path,
                        zpar_report_format_t fmt, const char *out_path, zpar_error_t *err)
{
    zpar_sweep_spec_t *spec;
    zpar_journal_t *j = NULL;
    char *jpath = NULL, *tmp = NULL;
    int exists = 0, rc = ZPAR_SWEEP_EXIT_FAILED;
    FILE *f = NULL;
    int to_stdout = !out_path || strcmp (out_path, "-") == 0;

    if (!(spec = zpar__sweep_spec_load (sweep_path, err)))
        return errno == ENOMEM ? ZPAR_SWEEP_EXIT_FAILED : ZPAR_SWEEP_EXIT_BAD_INPUT;
    if (!(j = open_for_read (spec, journal_path, &jpath, &exists, err))) {
        rc = errno == EEXIST ? ZPAR_SWEEP_EXIT_BAD_INPUT : ZPAR_SWEEP_EXIT_FAILED;
        goto done;
    }
    if (to_stdout)
        f = stdout;
    else {
        int fd;
        if (asprintf (&tmp, "%s.XXXXXX", out_path) < 0) {
            tmp = NULL;
            zpar__errnoprintf (err, ENOMEM, "out of memory");
            goto done;
        }
        if ((fd = mkstemp (tmp)) < 0 || !(f = fdopen (fd, "w"))) {
            zpar__errprintf (err, "cannot create %s: %s", tmp, strerror (errno));
            if (fd >= 0)
                close (fd);
            free (tmp);
            tmp = NULL;
            goto done;
        }
        fchmod (fd, 0644);
    }
    if (zpar__report_write (f, fmt, spec, j, err) < 0)
        goto done;
    if (to_stdout) {
        if (fflush (f) != 0) {
            zpar__errnoprintf (err, EIO, "cannot write the report: %s", strerror (errno));
            goto done;
        }
    }
    else {
        int bad = fflush (f) != 0 || fsync (fileno (f)) < 0;
        bad = fclose (f) != 0 || bad;
        f = NULL;
        if (bad || rename (tmp, out_path) < 0) {
            zpar__errprintf (err, "cannot write %s: %s", out_path, strerror (errno));
            goto done;
        }
        free (tmp);
        tmp = NULL;
    }
    rc = 0;
done:
    if (f && !to_stdout)
        fclose (f);
    if (tmp) {
        unlink (tmp);
        free (tmp);
    }
    zpar__journal_close (j);
    zpar__sweep_spec_destroy (spec);
    free (jpath);
    return rc;
}
