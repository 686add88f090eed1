/* mpi.c - the mpi launch back end: `mpirun -n N+1 zpar run` in the
 * background (own session, output in <dir>/mpirun.log); stop: shutdown,
 * then wait for mpirun, SIGTERM and SIGKILL if it lingers. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "common.h"
#include "error.h"
#include "subproc.h"

static int mpi_start (const zpar_launch_opts_t *o, char *conn, size_t size,
                      zpar_launch_info_t *info, zpar_error_t *err)
{
    char np[16], log[PATH_MAX], pid_s[32], self[PATH_MAX];
    char *argv[64];
    int a = 0;
    pid_t pid;
    zpar_subproc_opts_t so = {.argv = argv, .flags = ZPAR_SUBPROC_SETSID | ZPAR_SUBPROC_STDIN_NULL};

    if (zpar__launch_self (o->self, self, sizeof (self), err) < 0)
        return -1;
    snprintf (np, sizeof (np), "%d", o->engines + 1);
    snprintf (log, sizeof (log), "%s/mpirun.log", o->dir);
    snprintf (conn, size, "%s/client.json", o->dir);
    unlink (conn);
    argv[a++] = "mpirun";
    argv[a++] = "-n";
    argv[a++] = np;
    argv[a++] = "--oversubscribe";
    for (int i = 0; i < o->nextra && a < 50; i++)
        argv[a++] = o->extra[i];
    argv[a++] = self;
    argv[a++] = "run";
    if (o->curve)
        argv[a++] = "--curve";
    if (o->interface) {
        argv[a++] = "--interface";
        argv[a++] = (char *)o->interface;
    }
    if (o->relay) {
        argv[a++] = "--relay";
        argv[a++] = (char *)o->relay;
    }
    argv[a++] = "--dir";
    argv[a++] = (char *)o->dir;
    argv[a] = NULL;
    so.out = so.err = log;
    if (info)
        snprintf (info->log, sizeof (info->log), "%s", log);
    if ((pid = zpar__subproc_spawn (&so, err)) < 0)
        return -1;
    snprintf (pid_s, sizeof (pid_s), "%d", (int)pid);
    zpar__launch_state_write (o->dir, "mpi", pid_s, conn);
    if (zpar__launch_wait_ready (conn, o->engines, o->timeout, o, err) < 0) {
        int e = errno;
        zpar__subproc_kill (pid, SIGTERM);
        (void)zpar__subproc_wait (pid, 5.0, NULL);
        errno = e;
        return -1;
    }
    return 0;
}

static int mpi_stop (const char *dir, double timeout, zpar_launch_info_t *info, zpar_error_t *err)
{
    char name[16], id[256], conn[PATH_MAX], path[PATH_MAX];
    pid_t pid;
    double deadline = zpar__mono_s () + timeout;

    if (zpar__launch_state_read (dir, name, id) < 0 || strcmp (name, "mpi"))
        return zpar__errnoprintf (err, ENOENT, "no mpi launch recorded in %s", dir);
    pid = (pid_t)atoi (id);
    if (pid <= 0)
        return zpar__errnoprintf (err, EINVAL, "bad pid in %s/launcher", dir);
    snprintf (conn, sizeof (conn), "%s/client.json", dir);
    if (info) {
        info->shut = zpar__launch_shutdown (conn, 0, NULL);
        info->found = kill (pid, 0) == 0;
    } else
        (void)zpar__launch_shutdown (conn, 0, NULL);
    /* mpirun is our child when this process started it */
    while (zpar__mono_s () < deadline) {
        if (zpar__subproc_wait (pid, 0.05, NULL) == 0)
            break;
        if (errno == ECHILD) {
            if (kill (pid, 0) < 0)
                break;
            zpar__sleep_s (0.05);
        }
    }
    if (kill (pid, 0) == 0) {
        kill (pid, SIGTERM);
        zpar__sleep_s (1.0);
        kill (pid, SIGKILL);
        if (info)
            info->killed = 1;
    }
    snprintf (path, sizeof (path), "%s/launcher", dir);
    unlink (conn);
    unlink (path);
    return 0;
}

const zpar_launcher_t zpar__launcher_mpi = {"mpi", mpi_start, mpi_stop};
