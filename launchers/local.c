/* local.c - the local launch back end: a controller and N engines as
 * background processes of this machine, recorded in <dir>/pids
 * (local_procs.h).  The pids file, created with O_EXCL, doubles as a lock
 * against a concurrent start in the same directory.
 *
 * With o->tie the controller and engines are tied to the starting process
 * (subproc.h): they watch a pipe whose write end only the starter holds,
 * and stop (SIGTERM, then SIGKILL after ZPAR_TIE_GRACE s) when it closes,
 * i.e. when the starter dies, even by SIGKILL, or closes info->tie_fd.
 * Without it (`zpar cluster start`) the cluster outlives the command.
 * The engines' relay, when they have one: local_relay.h; a stop ends it
 * after the controller and the engines. */
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
#include "local_procs.h"
#include "local_relay.h"
#include "subproc.h"
#include "zpar.h"

/* After a shutdown request, once the controller is gone, the engines get
 * this much longer (one the controller had declared dead never got it). */
#define ENGINE_GRACE 2.0
/* How long a stop gives the controller to answer the shutdown request. */
#define SHUTDOWN_CONNECT_TIMEOUT 3.0

/* After a shutdown request: wait for the controller and the engines to
 * exit (the relay stays until told), but once the controller is gone give
 * the engines only ENGINE_GRACE more seconds. */
static int wait_shutdown (const zpar_proc_list_t *l, double timeout)
{
    double now = zpar__mono_s (), end = now + timeout, ctl_gone_at = 0;
    for (;;) {
        int ctl_alive = 0;
        zpar__procs_reap (l);
        if (zpar__procs_alive (l, 0) == 0)
            return 0;
        now = zpar__mono_s ();
        for (size_t i = 0; i < l->n; i++)
            if (l->v[i].is_controller && zpar__proc_is_ours (l->v[i].pid, l->v[i].start))
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
static size_t terminate (const zpar_proc_list_t *l, double grace)
{
    size_t killed = 0;
    if (zpar__procs_alive (l, 1) == 0)
        return 0;
    zpar__procs_signal (l, SIGTERM);
    if (zpar__procs_wait_gone (l, grace) == 0)
        return 0;
    killed = zpar__procs_alive (l, 1);
    zpar__procs_signal (l, SIGKILL);
    (void)zpar__procs_wait_gone (l, 2.0);
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
static void kill_children (const zpar_proc_list_t *l)
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
    zpar_proc_list_t l = {0};
    zpar_conninfo_t ci;
    int running = 0;

    if (stale)
        *stale = 0;
    if (!dir) {
        errno = EINVAL;
        return zpar__errprintf (err, "no cluster directory");
    }
    if (zpar__procs_read (dir, &l) == 0) {
        for (size_t i = 0; i < l.n; i++)
            if (zpar__proc_is_ours (l.v[i].pid, l.v[i].start)) {
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

static void set_log (zpar_launch_info_t *info, const char *dir, const zpar_proc_rec_t *r)
{
    if (!info)
        return;
    if (!r || r->is_controller)
        snprintf (info->log, sizeof (info->log), "%s/controller.log", dir);
    else
        snprintf (info->log, sizeof (info->log), "%s/engine-%u.log", dir, r->n);
}

/* A recorded child that exited: its record (and wait status), or NULL. */
static const zpar_proc_rec_t *exited_child (const zpar_proc_list_t *l, int *status)
{
    for (size_t i = 0; i < l->n; i++)
        if (waitpid (l->v[i].pid, status, WNOHANG) == l->v[i].pid)
            return &l->v[i];
    return NULL;
}

typedef struct {
    const zpar_proc_list_t *l;
    const char *dir;
    zpar_launch_info_t *info;
} start_check_t;

/* During the wait for the engines: did one of our processes exit? */
static int check_children (void *arg, zpar_error_t *err)
{
    start_check_t *sc = arg;
    const zpar_proc_rec_t *gone;
    int status = 0;
    if (!(gone = exited_child (sc->l, &status)))
        return 0;
    if (gone->is_controller)
        zpar__errnoprintf (err, ECHILD, "the controller exited during start-up");
    else if (gone->is_relay)
        zpar__errnoprintf (err, ECHILD, "the relay exited during start-up: see %s/relay.log",
                           sc->dir);
    else
        zpar__errnoprintf (
            err, ECHILD, "engine %u exited during start-up (%s %d): see %s/engine-%u.log", gone->n,
            WIFEXITED (status) ? "status" : "signal",
            WIFEXITED (status) ? WEXITSTATUS (status) : WTERMSIG (status), sc->dir, gone->n);
    set_log (sc->info, sc->dir, gone);
    return -1;
}

static pid_t start_proc (const char *self, char **argv, char *const *env, const char *log,
                         int tie_fd, zpar_error_t *err)
{
    zpar_subproc_opts_t so = {.argv = argv,
                              .env = env,
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
    char log[PATH_MAX], idbuf[32], rdir[PATH_MAX], lsize[48];
    char *eenv[] = {lsize, NULL};
    zpar_proc_list_t l = {0};
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
        if ((pid = start_proc (self, cargv, NULL, log, tie_r > 2 ? tie_r : 0, err)) < 0) {
            zpar__errprintf (err, "cannot start the controller: %s", strerror (errno));
            goto fail;
        }
        zpar__procs_record (fd, &l, 1, 0, pid);
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
    /* the relay, when the engines go through one (local_relay.h) */
    if (zpar__local_relay_dir (o, engine_path, rdir, sizeof (rdir), err) < 0)
        goto fail;
    if (rdir[0]) {
        pid_t pid =
            zpar__local_relay_spawn (self, o, engine_path, rdir, tie_r > 2 ? tie_r : 0, err);
        if (pid < 0 || (zpar__procs_record (fd, &l, 2, 0, pid),
                        zpar__local_relay_wait (pid, rdir, end, o, err) < 0)) {
            if (info && errno != ECANCELED)
                snprintf (info->log, sizeof (info->log), "%s/relay.log", o->dir);
            goto fail;
        }
    }
    /* the engines, all of this node: each reports its share of the
     * node's memory (src/engine/engine_res.h) */
    snprintf (lsize, sizeof (lsize), "ZPAR_ENGINE_LOCAL_SIZE=%d", o->engines);
    for (int i = 1; i <= o->engines; i++) {
        char *eargv[] = {NULL, "engine", "--connection-file", engine_path, "--id", idbuf, NULL,
                         rdir, NULL};
        pid_t pid;
        if (rdir[0])
            eargv[6] = "--relay";
        snprintf (idbuf, sizeof (idbuf), "%d", i);
        snprintf (log, sizeof (log), "%s/engine-%d.log", o->dir, i);
        if ((pid = start_proc (self, eargv, eenv, log, tie_r > 2 ? tie_r : 0, err)) < 0) {
            zpar__errprintf (err, "cannot start engine %d: %s", i, strerror (errno));
            goto fail;
        }
        zpar__procs_record (fd, &l, 0, (unsigned)i, pid);
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
    zpar_proc_list_t l = {0};
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
    if (zpar__procs_read (dir, &l) < 0)
        return zpar__errnoprintf (err, ENOENT, "no local cluster recorded in %s", dir);
    gethostname (host, sizeof (host) - 1);
    snprintf (conn, sizeof (conn), "%s/client.json", dir);
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].is_controller && zpar__proc_is_ours (l.v[i].pid, l.v[i].start)) {
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
            if (zpar__proc_stat (ci.pid, &start, NULL) == 0 && zpar__proc_is_ours (ci.pid, start))
                (void)zpar__procs_add (&l, 1, 0, ci.pid, start);
        }
    }
    info->found = zpar__procs_alive (&l, 1); /* before the shutdown request: they exit fast */
    if (ctl_alive)
        info->shut = zpar__launch_shutdown (conn, SHUTDOWN_CONNECT_TIMEOUT, info->note);
    if (info->shut && info->found)
        (void)wait_shutdown (&l, timeout);
    if (zpar__procs_alive (&l, 1))
        info->killed = terminate (&l, 2.0);
    if ((alive = zpar__procs_alive (&l, 1))) {
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
    zpar_proc_list_t l = {0};

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
        zpar__procs_add (&l, 1, 0, ci.pid, 0);
    }
    info->found = 1;
    if (!(info->shut = zpar__launch_shutdown (conn, SHUTDOWN_CONNECT_TIMEOUT, info->note))) {
        free (l.v);
        return zpar__errnoprintf (err, EHOSTUNREACH, "%s", info->note);
    }
    if (l.n && zpar__procs_wait_gone (&l, timeout) < 0) {
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
