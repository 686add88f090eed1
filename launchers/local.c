/* local.c - the local launch back end: a controller and N engines as
 * background processes of this machine, recorded in <dir>/pids.
 *
 * The pids file has one line per process the start launched:
 *     controller <pid> <starttime>
 *     engine <n> <pid> <starttime>
 * where starttime is field 22 of /proc/<pid>/stat, so that a recycled pid
 * is never mistaken for ours.  Only processes recorded there, still
 * running zpar (checked in /proc/<pid>/cmdline) are ever signalled.  The
 * pids file, created with O_EXCL, doubles as a lock against a concurrent
 * start in the same directory.
 *
 * With o->tie the controller and engines are tied to the starting process
 * (subproc.h): they watch a pipe whose write end only the starter holds,
 * and stop (SIGTERM, then SIGKILL after ZPAR_TIE_GRACE s) when it closes,
 * i.e. when the starter dies, even by SIGKILL, or closes info->tie_fd.
 * Without it (`zpar cluster start`) the cluster outlives the command. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "common.h"
#include "conn.h"
#include "error.h"
#include "subproc.h"
#include "zpar.h"

/* After a shutdown request, once the controller is gone, the engines get
 * this much longer (one the controller had declared dead never got it). */
#define ENGINE_GRACE 2.0
/* How long a stop gives the controller to answer the shutdown request. */
#define SHUTDOWN_CONNECT_TIMEOUT 3.0

typedef struct {
    int is_controller;
    unsigned n; /* engine number */
    pid_t pid;
    unsigned long long start;
} proc_rec_t;

typedef struct {
    proc_rec_t *v;
    size_t n, cap;
} proc_list_t;

/* ------------------------------------------------------------------ /proc */

/* Field 22 (starttime) and the state letter of /proc/<pid>/stat. */
static int proc_stat (pid_t pid, unsigned long long *start, char *state)
{
    char path[64], buf[1024], *p;
    FILE *f;
    size_t len;
    snprintf (path, sizeof (path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen (path, "r")))
        return -1;
    len = fread (buf, 1, sizeof (buf) - 1, f);
    fclose (f);
    buf[len] = '\0';
    if (!(p = strrchr (buf, ')')))
        return -1;
    p++;
    while (*p == ' ')
        p++;
    if (state)
        *state = *p;
    /* p is at field 3; skip to field 22 */
    for (int field = 3; field < 22; field++) {
        p = strchr (p, ' ');
        if (!p)
            return -1;
        p++;
    }
    if (start)
        *start = strtoull (p, NULL, 10);
    return 0;
}

/* 1 if pid is alive (not a zombie), runs a zpar binary as controller or
 * engine, and (when start != 0) started at start. */
static int proc_is_ours (pid_t pid, unsigned long long start)
{
    char path[64], buf[4096], state = '?';
    unsigned long long st = 0;
    const char *base, *arg1;
    size_t len;
    FILE *f;

    if (pid <= 1 || proc_stat (pid, &st, &state) < 0 || state == 'Z' || state == 'X')
        return 0;
    if (start && st != start)
        return 0;
    snprintf (path, sizeof (path), "/proc/%d/cmdline", (int)pid);
    if (!(f = fopen (path, "r")))
        return 0;
    len = fread (buf, 1, sizeof (buf) - 1, f);
    fclose (f);
    buf[len] = '\0';
    if (!len)
        return 0;
    base = strrchr (buf, '/');
    base = base ? base + 1 : buf;
    if (!strstr (base, "zpar"))
        return 0;
    arg1 = buf + strlen (buf) + 1;
    if (arg1 >= buf + len)
        return 0;
    return !strcmp (arg1, "controller") || !strcmp (arg1, "engine");
}

/* ------------------------------------------------------------------ pids file */

static int list_add (proc_list_t *l, int is_controller, unsigned n, pid_t pid,
                     unsigned long long start)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        proc_rec_t *nv = realloc (l->v, ncap * sizeof (*nv));
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n].is_controller = is_controller;
    l->v[l->n].n = n;
    l->v[l->n].pid = pid;
    l->v[l->n].start = start;
    l->n++;
    return 0;
}

/* Read <dir>/pids.  -1 ENOENT if there is none. */
static int pids_read (const char *dir, proc_list_t *l)
{
    char line[256], path[PATH_MAX];
    FILE *f;
    snprintf (path, sizeof (path), "%s/pids", dir);
    if (!(f = fopen (path, "r")))
        return -1;
    while (fgets (line, sizeof (line), f)) {
        unsigned n = 0;
        int pid = 0;
        unsigned long long st = 0;
        if (sscanf (line, "controller %d %llu", &pid, &st) >= 1 && pid > 1)
            list_add (l, 1, 0, pid, st);
        else if (sscanf (line, "engine %u %d %llu", &n, &pid, &st) >= 2 && pid > 1)
            list_add (l, 0, n, pid, st);
    }
    fclose (f);
    return 0;
}

/* Record pid in l and in the pids file fd. */
static int record (int fd, proc_list_t *l, int is_controller, unsigned n, pid_t pid)
{
    unsigned long long st = 0;
    char line[128];
    int len;
    /* the child may not have exec'd yet, but its starttime is already fixed */
    (void)proc_stat (pid, &st, NULL);
    if (list_add (l, is_controller, n, pid, st) < 0)
        return -1;
    if (is_controller)
        len = snprintf (line, sizeof (line), "controller %d %llu\n", (int)pid, st);
    else
        len = snprintf (line, sizeof (line), "engine %u %d %llu\n", n, (int)pid, st);
    return write (fd, line, (size_t)len) == len ? 0 : -1;
}

static size_t count_alive (const proc_list_t *l)
{
    size_t alive = 0;
    for (size_t i = 0; i < l->n; i++)
        if (proc_is_ours (l->v[i].pid, l->v[i].start))
            alive++;
    return alive;
}

static void signal_alive (const proc_list_t *l, int sig)
{
    for (size_t i = 0; i < l->n; i++)
        if (proc_is_ours (l->v[i].pid, l->v[i].start))
            kill (l->v[i].pid, sig);
}

/* Reap those of l that are our children and exited (a start in this
 * process), quietly; others' children are none of our business. */
static void reap (const proc_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        (void)waitpid (l->v[i].pid, NULL, WNOHANG);
}

/* Wait until none of l is alive, at most timeout seconds. */
static int wait_gone (const proc_list_t *l, double timeout)
{
    double end = zpar__mono_s () + timeout;
    for (;;) {
        reap (l);
        if (count_alive (l) == 0)
            return 0;
        if (zpar__mono_s () >= end)
            return -1;
        zpar__sleep_s (0.01);
    }
}

/* After a shutdown request: wait for everything to exit, but once the
 * controller is gone give the engines only ENGINE_GRACE more seconds. */
static int wait_shutdown (const proc_list_t *l, double timeout)
{
    double now = zpar__mono_s (), end = now + timeout, ctl_gone_at = 0;
    for (;;) {
        int ctl_alive = 0;
        reap (l);
        if (count_alive (l) == 0)
            return 0;
        now = zpar__mono_s ();
        for (size_t i = 0; i < l->n; i++)
            if (l->v[i].is_controller && proc_is_ours (l->v[i].pid, l->v[i].start))
                ctl_alive = 1;
        if (!ctl_alive && ctl_gone_at == 0)
            ctl_gone_at = now;
        if (now >= end || (ctl_gone_at > 0 && now - ctl_gone_at >= ENGINE_GRACE))
            return -1;
        zpar__sleep_s (0.01);
    }
}

/* SIGTERM, then SIGKILL after grace seconds: only the recorded processes.
 * Returns how many needed SIGKILL. */
static size_t terminate (const proc_list_t *l, double grace)
{
    size_t killed = 0;
    if (count_alive (l) == 0)
        return 0;
    signal_alive (l, SIGTERM);
    if (wait_gone (l, grace) == 0)
        return 0;
    killed = count_alive (l);
    signal_alive (l, SIGKILL);
    (void)wait_gone (l, 2.0);
    return killed;
}

static void remove_files (const char *dir)
{
    static const char *names[] = {"pids", "client.json", "engine.json"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++) {
        snprintf (path, sizeof (path), "%s/%s", dir, names[i]);
        (void)unlink (path);
    }
}

/* Stop the children this process started (they cannot have been recycled:
 * they are not reaped yet, so no cmdline check is needed or even possible
 * before they exec). */
static void kill_children (const proc_list_t *l)
{
    double end = zpar__mono_s () + 2.0;
    size_t left = 0;
    for (size_t i = 0; i < l->n; i++)
        kill (l->v[i].pid, SIGTERM);
    for (;;) {
        left = 0;
        for (size_t i = 0; i < l->n; i++)
            if (waitpid (l->v[i].pid, NULL, WNOHANG) == 0)
                left++;
        if (!left || zpar__mono_s () >= end)
            break;
        zpar__sleep_s (0.01);
    }
    for (size_t i = 0; left && i < l->n; i++)
        if (waitpid (l->v[i].pid, NULL, WNOHANG) == 0) {
            kill (l->v[i].pid, SIGKILL);
            waitpid (l->v[i].pid, NULL, 0);
        }
}

/* ------------------------------------------------------------------ running? */

int zpar__local_running (const char *dir, const char *dir_opt, int *stale, zpar_error_t *err)
{
    char path[PATH_MAX], host[256] = "";
    proc_list_t l = {0};
    zpar_conninfo_t ci;
    int running = 0;

    if (stale)
        *stale = 0;
    if (!dir) {
        errno = EINVAL;
        return zpar__errprintf (err, "no cluster directory");
    }
    if (pids_read (dir, &l) == 0) {
        for (size_t i = 0; i < l.n; i++)
            if (proc_is_ours (l.v[i].pid, l.v[i].start)) {
                zpar__errprintf (err,
                                 "a cluster is already running in %s (%s pid %d): use it "
                                 "(zpar status), stop it with 'zpar cluster stop%s%s', or "
                                 "start another with --dir DIR",
                                 dir, l.v[i].is_controller ? "controller" : "engine",
                                 (int)l.v[i].pid, dir_opt ? " --dir " : "", dir_opt ? dir_opt : "");
                running = 1;
                break;
            }
        if (!running) {
            remove_files (dir);
            if (stale)
                *stale = 1;
        }
        free (l.v);
        return running;
    }
    snprintf (path, sizeof (path), "%s/client.json", dir);
    if (access (path, F_OK) == 0) {
        gethostname (host, sizeof (host) - 1);
        memset (&ci, 0, sizeof (ci));
        if (zpar__conn_read (path, &ci, NULL) == 0 && ci.pid > 0 && !strcmp (ci.host, host) &&
            kill (ci.pid, 0) == 0) {
            zpar__errprintf (err,
                             "a controller (pid %d) started by hand is running in %s: use it, "
                             "stop it with 'zpar stop', or pass --dir DIR",
                             ci.pid, dir);
            return 1;
        }
        if (ci.pid > 0 && strcmp (ci.host, host) && ci.host[0]) {
            zpar__errprintf (err,
                             "%s belongs to a controller on host %s: pass --dir DIR for a "
                             "cluster on this host",
                             path, ci.host);
            return 1;
        }
        remove_files (dir);
    }
    return 0;
}

/* ------------------------------------------------------------------ start */

static int cancelled (const zpar_launch_opts_t *o)
{
    return o->cancel && o->cancel (o->cancel_arg);
}

static void set_log (zpar_launch_info_t *info, const char *dir, const proc_rec_t *r)
{
    if (!info)
        return;
    if (!r || r->is_controller)
        snprintf (info->log, sizeof (info->log), "%s/controller.log", dir);
    else
        snprintf (info->log, sizeof (info->log), "%s/engine-%u.log", dir, r->n);
}

/* A recorded child that exited: its record (and wait status), or NULL. */
static const proc_rec_t *exited_child (const proc_list_t *l, int *status)
{
    for (size_t i = 0; i < l->n; i++)
        if (waitpid (l->v[i].pid, status, WNOHANG) == l->v[i].pid)
            return &l->v[i];
    return NULL;
}

typedef struct {
    const proc_list_t *l;
    const char *dir;
    zpar_launch_info_t *info;
} start_check_t;

/* During the wait for the engines: did one of our processes exit? */
static int check_children (void *arg, zpar_error_t *err)
{
    start_check_t *sc = arg;
    const proc_rec_t *gone;
    int status = 0;
    if (!(gone = exited_child (sc->l, &status)))
        return 0;
    if (gone->is_controller)
        zpar__errnoprintf (err, ECHILD, "the controller exited during start-up");
    else
        zpar__errnoprintf (
            err, ECHILD, "engine %u exited during start-up (%s %d): see %s/engine-%u.log", gone->n,
            WIFEXITED (status) ? "status" : "signal",
            WIFEXITED (status) ? WEXITSTATUS (status) : WTERMSIG (status), sc->dir, gone->n);
    set_log (sc->info, sc->dir, gone);
    return -1;
}

static pid_t start_proc (const char *self, char **argv, const char *log, int tie_fd,
                         zpar_error_t *err)
{
    zpar_subproc_opts_t so = {.argv = argv,
                              .out = log,
                              .err = log,
                              .flags = ZPAR_SUBPROC_SETSID | ZPAR_SUBPROC_STDIN_NULL,
                              .tie_fd = tie_fd};
    argv[0] = (char *)self;
    return zpar__subproc_spawn (&so, err);
}

static int local_start (const zpar_launch_opts_t *o, char *conn, size_t size,
                        zpar_launch_info_t *info, zpar_error_t *err)
{
    char self[PATH_MAX], client_path[PATH_MAX], engine_path[PATH_MAX], pids_path[PATH_MAX];
    char log[PATH_MAX], idbuf[32];
    proc_list_t l = {0};
    zpar_client_t *client = NULL;
    int fd = -1, status = 0, e, tie_w = -1, tie_r = -1;
    zpar_error_t why = {{0}};
    double end;

    if (info)
        memset (info, 0, sizeof (*info));
    if (!o || o->engines < 1 || !o->dir || !o->dir[0] || !(o->timeout > 0) || !conn || !size)
        return zpar__errnoprintf (err, EINVAL,
                                  "local launch: give engines >= 1, a directory and a timeout");
    if (o->tie && !info)
        return zpar__errnoprintf (err, EINVAL, "local launch: a tie needs info for its end");
    if (zpar__launch_self (o->self, self, sizeof (self), err) < 0)
        return -1;
    if (zpar__mkdir_p (o->dir, 0700) < 0)
        return zpar__errprintf (err, "cannot create %s: %s", o->dir, strerror (errno));
    if (zpar__dir_check_private (o->dir, "cluster directory", err) < 0)
        return -1;
    snprintf (client_path, sizeof (client_path), "%s/client.json", o->dir);
    snprintf (engine_path, sizeof (engine_path), "%s/engine.json", o->dir);
    snprintf (pids_path, sizeof (pids_path), "%s/pids", o->dir);
    if (snprintf (conn, size, "%s", client_path) >= (int)size)
        return zpar__errnoprintf (err, ENAMETOOLONG, "%s: path too long", client_path);
    if ((e = zpar__local_running (o->dir, NULL, NULL, &why)) != 0) {
        if (e > 0)
            errno = EBUSY;
        return zpar__errprintf (err, "%s", why.text);
    }
    if ((fd = open (pids_path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600)) < 0) {
        if (errno == EEXIST)
            return zpar__errnoprintf (err, EBUSY,
                                      "another 'zpar cluster start' is starting a cluster in %s: "
                                      "wait for it, or pass --dir DIR",
                                      o->dir);
        return zpar__errprintf (err, "cannot create %s: %s", pids_path, strerror (errno));
    }
    end = zpar__mono_s () + o->timeout;
    if (o->tie && zpar__tie_create (&tie_w, &tie_r) < 0) {
        zpar__errprintf (err, "cannot create the tie to this process: %s", strerror (errno));
        goto fail;
    }

    /* the controller */
    {
        char *cargv[14];
        int k = 1;
        pid_t pid;
        cargv[k++] = "controller";
        cargv[k++] = "--dir";
        cargv[k++] = (char *)o->dir;
        if (o->scheme) {
            cargv[k++] = "--scheme";
            cargv[k++] = (char *)o->scheme;
        }
        if (o->ip) {
            cargv[k++] = "--ip";
            cargv[k++] = (char *)o->ip;
        }
        if (o->interface) {
            cargv[k++] = "--interface";
            cargv[k++] = (char *)o->interface;
        }
        if (o->curve)
            cargv[k++] = "--curve";
        cargv[k] = NULL;
        snprintf (log, sizeof (log), "%s/controller.log", o->dir);
        if ((pid = start_proc (self, cargv, log, tie_r > 2 ? tie_r : 0, err)) < 0) {
            zpar__errprintf (err, "cannot start the controller: %s", strerror (errno));
            goto fail;
        }
        record (fd, &l, 1, 0, pid);
    }
    /* its client.json, written once every socket is bound */
    for (;;) {
        zpar_conninfo_t ci;
        if (access (client_path, R_OK) == 0 && zpar__conn_read (client_path, &ci, NULL) == 0 &&
            ci.pid == l.v[0].pid && access (engine_path, R_OK) == 0)
            break;
        if (waitpid (l.v[0].pid, &status, WNOHANG) == l.v[0].pid) {
            zpar__errnoprintf (err, ECHILD,
                               "the controller exited during start-up (%s %d): see "
                               "%s/controller.log",
                               WIFEXITED (status) ? "status" : "signal",
                               WIFEXITED (status) ? WEXITSTATUS (status) : WTERMSIG (status),
                               o->dir);
            set_log (info, o->dir, NULL);
            goto fail;
        }
        if (cancelled (o)) {
            zpar__errnoprintf (err, ECANCELED, "interrupted");
            goto fail;
        }
        if (zpar__mono_s () >= end) {
            zpar__errnoprintf (err, ETIMEDOUT, "the controller did not write %s within %g s",
                               client_path, o->timeout);
            set_log (info, o->dir, NULL);
            goto fail;
        }
        zpar__sleep_s (0.005);
    }
    /* the engines */
    for (int i = 1; i <= o->engines; i++) {
        char *eargv[] = {NULL, "engine", "--connection-file", engine_path, "--id", idbuf, NULL};
        pid_t pid;
        snprintf (idbuf, sizeof (idbuf), "%d", i);
        snprintf (log, sizeof (log), "%s/engine-%d.log", o->dir, i);
        if ((pid = start_proc (self, eargv, log, tie_r > 2 ? tie_r : 0, err)) < 0) {
            zpar__errprintf (err, "cannot start engine %d: %s", i, strerror (errno));
            goto fail;
        }
        record (fd, &l, 0, (unsigned)i, pid);
    }
    close (fd);
    fd = -1;
    if (tie_r >= 0) {
        close (tie_r);
        tie_r = -1;
    }
    /* wait for them to register */
    if (zpar__launch_connect (client_path, end, o, &client, &why) < 0) {
        zpar__errnoprintf (err, errno == ETIMEDOUT ? EHOSTUNREACH : errno,
                           "cannot connect to the new controller: %s", why.text);
        set_log (info, o->dir, NULL);
        goto fail;
    }
    {
        start_check_t sc = {.l = &l, .dir = o->dir, .info = info};
        if (zpar__launch_wait_engines (client, o->engines, end, o, check_children, &sc, err) < 0) {
            if (errno != ECANCELED && errno != ECHILD) {
                if (errno == ETIMEDOUT) {
                    /* the reason is in err->text: copy it first (the
                     * same buffer cannot be both source and target) */
                    zpar_error_t reason = {.text = ""};
                    if (err)
                        snprintf (reason.text, sizeof (reason.text), "%s", err->text);
                    zpar__errnoprintf (err, ETIMEDOUT, "%s within %g s", reason.text, o->timeout);
                }
                set_log (info, o->dir, NULL);
            }
            goto fail;
        }
    }
    zpar_client_destroy (client);
    free (l.v);
    if (info)
        info->tie_fd = tie_w > 2 ? tie_w : 0;
    return 0;

fail:
    e = errno;
    zpar_client_destroy (client);
    if (fd >= 0)
        close (fd);
    if (tie_r >= 0)
        close (tie_r);
    if (tie_w >= 0)
        close (tie_w);
    kill_children (&l);
    remove_files (o->dir);
    free (l.v);
    errno = e;
    return -1;
}

/* ------------------------------------------------------------------ stop */

static int local_stop (const char *dir, double timeout, zpar_launch_info_t *info, zpar_error_t *err)
{
    char conn[PATH_MAX], host[256] = "";
    zpar_launch_info_t dummy;
    proc_list_t l = {0};
    int ctl_alive = 0;
    size_t alive;

    if (!info)
        info = &dummy;
    memset (info, 0, sizeof (*info));
    if (!dir || !(timeout >= 0))
        return zpar__errnoprintf (err, EINVAL, "local stop: give a directory and a timeout");
    /* the pids file says what to kill: only from a directory of ours */
    if (zpar__dir_check_private (dir, "cluster directory", err) < 0 && errno != ENOENT)
        return -1;
    if (pids_read (dir, &l) < 0)
        return zpar__errnoprintf (err, ENOENT, "no local cluster recorded in %s", dir);
    gethostname (host, sizeof (host) - 1);
    snprintf (conn, sizeof (conn), "%s/client.json", dir);
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].is_controller && proc_is_ours (l.v[i].pid, l.v[i].start)) {
            ctl_alive = 1;
            info->controller = l.v[i].pid;
        }
    /* a controller restarted by hand (zpar controller --reuse) is not in
     * the pids file, but it wrote its pid into the connection file */
    if (!ctl_alive) {
        zpar_conninfo_t ci;
        unsigned long long start = 0;
        if (zpar__conn_read (conn, &ci, NULL) == 0 && ci.pid > 0 && !strcmp (ci.host, host) &&
            kill (ci.pid, 0) == 0) {
            ctl_alive = 1;
            info->controller = ci.pid;
            /* it is part of what this stop ends: counted and waited for */
            if (proc_stat (ci.pid, &start, NULL) == 0 && proc_is_ours (ci.pid, start))
                (void)list_add (&l, 1, 0, ci.pid, start);
        }
    }
    info->found = count_alive (&l); /* before the shutdown request: they exit fast */
    if (ctl_alive)
        info->shut = zpar__launch_shutdown (conn, SHUTDOWN_CONNECT_TIMEOUT, info->note);
    if (info->shut && info->found)
        (void)wait_shutdown (&l, timeout);
    if (count_alive (&l))
        info->killed = terminate (&l, 2.0);
    if ((alive = count_alive (&l))) {
        free (l.v);
        return zpar__errnoprintf (err, EBUSY,
                                  "%zu recorded process(es) survived SIGKILL; %s/pids left in "
                                  "place",
                                  alive, dir);
    }
    remove_files (dir);
    free (l.v);
    return 0;
}

int zpar__launch_stop_conn (const char *conn, double timeout, zpar_launch_info_t *info,
                            zpar_error_t *err)
{
    char host[256] = "";
    zpar_launch_info_t dummy;
    zpar_conninfo_t ci;
    proc_list_t l = {0};

    if (!info)
        info = &dummy;
    memset (info, 0, sizeof (*info));
    if (!conn || !(timeout >= 0))
        return zpar__errnoprintf (err, EINVAL, "give a connection file and a timeout");
    if (access (conn, F_OK) < 0)
        return zpar__errnoprintf (err, ENOENT, "%s does not exist", conn);
    if (zpar__conn_read (conn, &ci, err) < 0) {
        errno = EINVAL;
        return -1;
    }
    gethostname (host, sizeof (host) - 1);
    if (ci.pid > 0 && !strcmp (ci.host, host)) {
        info->controller = ci.pid;
        if (kill (ci.pid, 0) < 0 && errno == ESRCH)
            return zpar__errnoprintf (err, ESRCH, "the controller of %s (pid %d) is not running",
                                      conn, ci.pid);
        list_add (&l, 1, 0, ci.pid, 0);
    }
    info->found = 1;
    if (!(info->shut = zpar__launch_shutdown (conn, SHUTDOWN_CONNECT_TIMEOUT, info->note))) {
        free (l.v);
        return zpar__errnoprintf (err, EHOSTUNREACH, "%s", info->note);
    }
    if (l.n && wait_gone (&l, timeout) < 0) {
        free (l.v);
        return zpar__errnoprintf (err, ETIMEDOUT,
                                  "the controller (pid %d) is still running %g s after shutdown; "
                                  "see its log, or kill it",
                                  (int)ci.pid, timeout);
    }
    free (l.v);
    return 0;
}

const zpar_launcher_t zpar__launcher_local = {"local", local_start, local_stop};
