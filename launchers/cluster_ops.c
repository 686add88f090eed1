/* cluster_ops.c - start a cluster in a directory, stop whatever runs there
 * (cluster_ops.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster_ops.h"
#include "conn.h"
#include "error.h"

#define TAIL_MAX 16384

int zpar__file_tail (const char *path, int lines, char **text)
{
    FILE *f = fopen (path, "r");
    char *buf;
    long size, from = 0;
    int seen = 0;
    if (!f)
        return -1;
    fseek (f, 0, SEEK_END);
    size = ftell (f);
    if (size > 0) {
        from = size > TAIL_MAX ? size - TAIL_MAX : 0;
        fseek (f, from, SEEK_SET);
    }
    if (size <= 0 || !(buf = malloc ((size_t)(size - from) + 1))) {
        fclose (f);
        errno = size <= 0 ? ENODATA : ENOMEM;
        return -1;
    }
    size = (long)fread (buf, 1, (size_t)(size - from), f);
    fclose (f);
    buf[size] = '\0';
    for (from = size - 1; from >= 0; from--)
        if (buf[from] == '\n' && from != size - 1 && ++seen >= lines)
            break;
    memmove (buf, buf + from + 1, (size_t)(size - from));
    *text = buf;
    return 0;
}

int zpar__cluster_start (const char *launcher, const char *dir_opt, zpar_launch_opts_t *o,
                         zpar_cluster_report_t *rep, zpar_error_t *err)
{
    const zpar_launcher_t *l = zpar__launcher_find (launcher);
    int local = launcher && !strcmp (launcher, "local");
    char link[PATH_MAX + 16];
    int rc;

    memset (rep, 0, sizeof (*rep));
    rep->usage = 1;
    if (!l)
        return zpar__errnoprintf (err, EINVAL, "%s: unknown launcher", launcher ? launcher : "");
    rep->launcher = l->name;
    if (zpar__cluster_dir_prepare (dir_opt, rep->dir, sizeof (rep->dir), err) < 0)
        return -1;
    if ((rc = zpar__local_running (rep->dir, dir_opt, &rep->stale, err)) != 0) {
        if (rc > 0)
            errno = EBUSY;
        return -1;
    }
    rep->usage = 0;
    o->dir = rep->dir;
    if (l->start (o, rep->conn, sizeof (rep->conn), &rep->info, err) < 0) {
        int e = errno;
        if (!local) /* the local back end has ended what it started */
            (void)l->stop (rep->dir, 10.0, NULL, NULL);
        if (local && e == ETIMEDOUT) {
            snprintf (rep->logs[0], PATH_MAX, "%s/controller.log", rep->dir);
            for (int i = 1; i <= o->engines && i < ZPAR_CLUSTER_MAX_LOGS; i++)
                snprintf (rep->logs[i], PATH_MAX, "%s/engine-%d.log", rep->dir, i);
        } else if (local && e != ECANCELED)
            snprintf (rep->logs[0], PATH_MAX, "%s", rep->info.log);
        errno = e;
        return -1;
    }
    /* a batch job's connection file lives elsewhere: link it from dir so
     * that zpar commands here find it */
    snprintf (link, sizeof (link), "%s/client.json", rep->dir);
    if (strcmp (link, rep->conn) != 0) {
        unlink (link);
        if (symlink (rep->conn, link) < 0)
            snprintf (rep->info.note, sizeof (rep->info.note), "cannot link %s to %s: %s", link,
                      rep->conn, strerror (errno));
    }
    return 0;
}

/* The directory and connection file stop works on. */
static int stop_paths (const char *dir_opt, const char *conn_opt, zpar_cluster_report_t *rep,
                       zpar_error_t *err)
{
    const char *env = getenv ("ZPAR_CONNECTION_FILE");
    if (dir_opt)
        snprintf (rep->dir, sizeof (rep->dir), "%s", dir_opt);
    else if (conn_opt || (env && *env)) {
        char *slash;
        snprintf (rep->dir, sizeof (rep->dir), "%s", conn_opt ? conn_opt : env);
        if ((slash = strrchr (rep->dir, '/')))
            *slash = '\0';
        else
            snprintf (rep->dir, sizeof (rep->dir), ".");
    } else if (zpar__cluster_dir (rep->dir, sizeof (rep->dir)) < 0)
        return zpar__zpar_dir_error (err);
    if (conn_opt)
        snprintf (rep->conn, sizeof (rep->conn), "%s", conn_opt);
    else if (env && *env && !dir_opt)
        snprintf (rep->conn, sizeof (rep->conn), "%s", env);
    else
        snprintf (rep->conn, sizeof (rep->conn), "%s/client.json", rep->dir);
    return 0;
}

int zpar__cluster_stop (const char *dir_opt, const char *conn_opt, double timeout,
                        zpar_cluster_report_t *rep, zpar_error_t *err)
{
    const zpar_launcher_t *l;
    char mine[PATH_MAX + 16];

    memset (rep, 0, sizeof (*rep));
    if (stop_paths (dir_opt, conn_opt, rep, err) < 0) {
        errno = EINVAL;
        return -1;
    }
    if ((l = zpar__launcher_of (rep->dir))) {
        /* what a back end recorded: a batch job, or local processes */
        rep->launcher = l->name;
        rep->stopped = strcmp (l->name, "local") ? ZPAR_STOPPED_BATCH : ZPAR_STOPPED_LOCAL;
        if (rep->stopped == ZPAR_STOPPED_BATCH && timeout < 30)
            timeout = 30;
        return l->stop (rep->dir, timeout, &rep->info, err);
    }
    if (errno == EINVAL)
        return zpar__errnoprintf (err, ENOEXEC, "%s/launcher: unknown launcher record", rep->dir);
    /* a controller started by hand (or by zpar run): through its file */
    rep->stopped = ZPAR_STOPPED_CONN;
    if (zpar__launch_stop_conn (rep->conn, timeout, &rep->info, err) == 0)
        return 0;
    rep->stopped = ZPAR_STOPPED_NONE;
    snprintf (mine, sizeof (mine), "%s/client.json", rep->dir);
    if (errno == ENOENT)
        return zpar__errnoprintf (err, ENOENT,
                                  "no cluster to stop: neither %s/pids nor %s exists (pass --dir "
                                  "DIR or --connection-file FILE for a cluster elsewhere)",
                                  rep->dir, rep->conn);
    if (errno == ESRCH && !strcmp (mine, rep->conn)) {
        (void)zpar__local_running (rep->dir, NULL, NULL, NULL); /* removes the stale files */
        rep->stopped = ZPAR_STOPPED_STALE;
        return 0;
    }
    if (errno == ESRCH)
        return zpar__errnoprintf (err, ESRCH,
                                  "the controller of %s (pid %d) is not running; nothing to stop "
                                  "(remove the stale file if you like)",
                                  rep->conn, (int)rep->info.controller);
    return -1;
}
