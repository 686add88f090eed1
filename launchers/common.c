/* common.c - what the launch back ends share (see common.h, launcher.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "common.h"
#include "conn.h"
#include "error.h"
#include "subproc.h"
#include "zpar.h"

static const zpar_launcher_t *const launchers[] = {
    &zpar__launcher_local,
    &zpar__launcher_mpi,
    &zpar__launcher_slurm,
    &zpar__launcher_pbs,
};

void zpar__launch_opts_init (zpar_launch_opts_t *o)
{
    if (o)
        memset (o, 0, sizeof (*o));
}

const zpar_launcher_t *zpar__launcher_find (const char *name)
{
    for (size_t i = 0; name && i < sizeof (launchers) / sizeof (launchers[0]); i++)
        if (!strcmp (launchers[i]->name, name))
            return launchers[i];
    errno = ENOENT;
    return NULL;
}

const zpar_launcher_t *zpar__launcher_of (const char *dir)
{
    char name[16], id[256], path[PATH_MAX];
    const zpar_launcher_t *l;

    if (!dir) {
        errno = EINVAL;
        return NULL;
    }
    if (zpar__launch_state_read (dir, name, id) == 0) {
        if (!(l = zpar__launcher_find (name)))
            errno = EINVAL;
        return l;
    }
    if (errno != ENOENT)
        return NULL;
    snprintf (path, sizeof (path), "%s/pids", dir);
    if (access (path, F_OK) == 0)
        return &zpar__launcher_local;
    errno = ENOENT;
    return NULL;
}

int zpar__launch_state_write (const char *dir, const char *name, const char *id, const char *conn)
{
    char path[PATH_MAX];
    FILE *f;
    snprintf (path, sizeof (path), "%s/launcher", dir);
    if (!(f = fopen (path, "w")))
        return -1;
    fprintf (f, "%s %s\n%s\n", name, id, conn);
    return fclose (f);
}

int zpar__launch_state_read (const char *dir, char *name, char *id)
{
    char path[PATH_MAX], line[512];
    FILE *f;
    snprintf (path, sizeof (path), "%s/launcher", dir);
    if (!(f = fopen (path, "r")))
        return -1;
    if (!fgets (line, sizeof (line), f) || sscanf (line, "%15s %255s", name, id) != 2) {
        fclose (f);
        errno = EINVAL;
        return -1;
    }
    fclose (f);
    return 0;
}

int zpar__launch_self (const char *self, char *buf, size_t size, zpar_error_t *err)
{
    ssize_t len;
    if (self) {
        if (snprintf (buf, size, "%s", self) >= (int)size)
            return zpar__errnoprintf (err, ENAMETOOLONG, "%s: path too long", self);
        return 0;
    }
    if ((len = readlink ("/proc/self/exe", buf, size - 1)) < 0)
        return zpar__errprintf (err, "cannot find this program (/proc/self/exe): %s",
                                strerror (errno));
    buf[len] = '\0';
    return 0;
}

static int cancelled (const zpar_launch_opts_t *o)
{
    return o && o->cancel && o->cancel (o->cancel_arg);
}

/* How long one zpar_client_wait_engines call may block, so that cancel is
 * polled often enough. */
#define WAIT_SLICE 0.1

int zpar__launch_connect (const char *conn, double deadline, const zpar_launch_opts_t *o,
                          zpar_client_t **c, zpar_error_t *err)
{
    zpar_client_opts_t co;
    zpar_error_t e = {{0}};

    zpar_client_opts_init (&co);
    co.connection_file = conn;
    while (!(*c = zpar_client_connect_opts (&co, &e))) {
        if (cancelled (o))
            return zpar__errnoprintf (err, ECANCELED, "interrupted");
        if (zpar__mono_s () > deadline)
            return zpar__errnoprintf (err, ETIMEDOUT, "cannot reach the controller: %s", e.text);
        zpar__sleep_s (0.05);
    }
    return 0;
}

int zpar__launch_wait_engines (zpar_client_t *c, int n, double deadline,
                               const zpar_launch_opts_t *o, zpar_launch_check_f check, void *arg,
                               zpar_error_t *err)
{
    for (;;) {
        double left = deadline - zpar__mono_s ();
        zpar_error_t e = {{0}};
        if (zpar_client_wait_engines (
                c, (unsigned)n, left < WAIT_SLICE ? (left > 0 ? left : 0) : WAIT_SLICE, &e) >= 0)
            return 0;
        if (errno != ETIMEDOUT)
            return zpar__errnoprintf (err, errno == EHOSTDOWN ? EHOSTUNREACH : errno,
                                      "the controller does not answer: %s", e.text);
        if (cancelled (o))
            return zpar__errnoprintf (err, ECANCELED, "interrupted");
        if (zpar__mono_s () >= deadline) {
            int alive = zpar_client_engines_alive (c, NULL);
            return zpar__errnoprintf (err, ETIMEDOUT, "only %d of %d engines registered", alive, n);
        }
        if (check && check (arg, err) < 0)
            return -1;
    }
}

int zpar__launch_wait_ready (const char *conn, int n, double timeout, const zpar_launch_opts_t *o,
                             zpar_error_t *err)
{
    double deadline = zpar__mono_s () + timeout;
    zpar_client_t *c = NULL;
    int rc;

    while (access (conn, R_OK) < 0) {
        if (cancelled (o))
            return zpar__errnoprintf (err, ECANCELED, "interrupted");
        if (zpar__mono_s () > deadline)
            return zpar__errnoprintf (err, ETIMEDOUT, "no connection file %s after %.0f s", conn,
                                      timeout);
        zpar__sleep_s (0.02);
    }
    if (zpar__launch_connect (conn, deadline, o, &c, err) < 0)
        return -1;
    rc = zpar__launch_wait_engines (c, n, deadline, o, NULL, NULL, err);
    if (rc < 0 && errno == ETIMEDOUT) {
        zpar_error_t why = {.text = ""}; /* not the target buffer itself */
        if (err)
            snprintf (why.text, sizeof (why.text), "%s", err->text);
        zpar__errnoprintf (err, ETIMEDOUT, "%s after %.0f s", why.text, timeout);
    }
    zpar_client_destroy (c);
    return rc;
}

int zpar__launch_shutdown (const char *conn, double connect_timeout, char *note)
{
    zpar_error_t err = {{0}};
    zpar_client_opts_t co;
    zpar_client_t *c;
    int ok = 0;

    zpar_client_opts_init (&co);
    co.connection_file = conn;
    /* ZPAR_CONNECT_TIMEOUT, when the user set it, wins */
    if (!getenv ("ZPAR_CONNECT_TIMEOUT"))
        co.connect_timeout = connect_timeout;
    if (note)
        note[0] = '\0';
    if ((c = zpar_client_connect_opts (&co, &err))) {
        if (zpar_client_shutdown (c, &err) == 0)
            ok = 1;
        else if (note)
            snprintf (note, ZPAR_ERROR_TEXT_MAX, "the controller did not accept shutdown: %s",
                      err.text);
        zpar_client_destroy (c);
    } else if (note)
        snprintf (note, ZPAR_ERROR_TEXT_MAX, "cannot reach the controller (%s)", err.text);
    return ok;
}

int zpar__launch_capture (char *const argv[], char *out, size_t size, double timeout)
{
    zpar_subproc_opts_t so = {.argv = argv, .flags = ZPAR_SUBPROC_STDIN_NULL};
    int st;
    if (zpar__subproc_capture (&so, out, size, timeout, NULL, NULL, &st, NULL) < 0)
        return -1;
    return zpar__subproc_exit_code (st);
}

int zpar__launch_job_conn (const char *jobid, char *conn, size_t size)
{
    char base[PATH_MAX];
    if (zpar__zpar_dir (base, sizeof (base)) < 0)
        return -1;
    snprintf (conn, size, "%s/job-%s/client.json", base, jobid);
    return 0;
}

/* ---------------------------------------------------------------- batch */

#define QUERY_TIMEOUT 60.0

int zpar__batch_start (const zpar_batch_t *b, const zpar_launch_opts_t *o, char *conn, size_t size,
                       zpar_launch_info_t *info, zpar_error_t *err)
{
    char script[PATH_MAX], out[512], log[PATH_MAX], self[PATH_MAX];
    char bufs[4][128];
    char *argv[80];
    zpar_launch_opts_t oo = *o;
    int a, rc;
    FILE *f;
    double deadline = zpar__mono_s () + o->timeout;

    if (zpar__launch_self (o->self, self, sizeof (self), err) < 0)
        return -1;
    oo.self = self;
    snprintf (script, sizeof (script), "%s/job.sh", o->dir);
    snprintf (log, sizeof (log), "%s/%s", o->dir, b->log_name);
    if (!(f = fopen (script, "w")))
        return zpar__errprintf (err, "cannot write %s: %s", script, strerror (errno));
    fprintf (f, "#!/bin/sh\n# generated by zpar cluster start --launcher %s\n", b->name);
    /* --interface: for the controller and the engines of 'zpar run' (it
     * was checked, zpar__cli_set_interface: no quote in it) */
    if (o->interface)
        fprintf (f, "ZPAR_INTERFACE='%s'\nexport ZPAR_INTERFACE\n", o->interface);
    b->script (f, &oo);
    fclose (f);
    chmod (script, 0700);
    a = b->submit_argv (&oo, log, argv, 70, bufs);
    for (int i = 0; i < o->nextra && a < 76; i++)
        argv[a++] = o->extra[i];
    argv[a++] = script;
    argv[a] = NULL;
    if ((rc = zpar__launch_capture (argv, out, sizeof (out), QUERY_TIMEOUT)) != 0 || !out[0])
        return zpar__errnoprintf (err, EIO, "%s failed (exit %d): is %s installed and configured?",
                                  argv[0], rc < 0 ? 127 : rc, b->what);
    out[strcspn (out, "; \t\r\n")] = '\0';
    zpar__launch_job_conn (out, conn, size);
    zpar__launch_state_write (o->dir, b->name, out, conn);
    if (info)
        snprintf (info->log, sizeof (info->log), "%s", log);
    /* wait for the job's controller, watching that the job is still there */
    while (access (conn, R_OK) < 0) {
        if (cancelled (o))
            return zpar__errnoprintf (err, ECANCELED, "interrupted");
        if (zpar__mono_s () > deadline)
            return zpar__errnoprintf (err, ETIMEDOUT,
                                      "job %s did not start its controller within %.0f s (still "
                                      "queued?); end it with 'zpar cluster stop'",
                                      out, o->timeout);
        if (!b->active (out))
            return zpar__errnoprintf (err, ECHILD,
                                      "job %s ended before its controller was ready: see "
                                      "%s/job-*.out",
                                      out, o->dir);
        zpar__sleep_s (0.1);
    }
    return zpar__launch_wait_ready (
        conn, o->engines, deadline - zpar__mono_s () > 1 ? deadline - zpar__mono_s () : 1, o, err);
}

int zpar__batch_stop (const zpar_batch_t *b, const char *dir, double timeout,
                      zpar_launch_info_t *info, zpar_error_t *err)
{
    char name[16], id[256], conn[PATH_MAX], path[PATH_MAX];
    char *argv[3];
    char out[256];
    double deadline = zpar__mono_s () + timeout;
    int shut;

    if (zpar__launch_state_read (dir, name, id) < 0 || strcmp (name, b->name))
        return zpar__errnoprintf (err, ENOENT, "no %s job recorded in %s", b->name, dir);
    snprintf (conn, sizeof (conn), "%s/client.json", dir);
    shut = zpar__launch_shutdown (conn, 0, NULL);
    if (info) {
        info->shut = shut;
        info->found = b->active (id);
    }
    /* give the job a moment to end by itself after the shutdown request */
    while (b->active (id) && zpar__mono_s () < deadline - timeout / 2)
        zpar__sleep_s (0.1);
    if (b->active (id)) {
        argv[0] = (char *)b->cancel;
        argv[1] = id;
        argv[2] = NULL;
        zpar__launch_capture (argv, out, sizeof (out), QUERY_TIMEOUT);
        if (info)
            info->killed = 1;
    }
    while (b->active (id)) {
        if (zpar__mono_s () > deadline)
            return zpar__errnoprintf (err, ETIMEDOUT, "job %s is still in the queue", id);
        zpar__sleep_s (0.1);
    }
    snprintf (path, sizeof (path), "%s/launcher", dir);
    unlink (conn);
    unlink (path);
    return 0;
}
