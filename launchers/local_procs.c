/* local_procs.c - the processes of a local cluster.  See local_procs.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "local_procs.h"

/* ------------------------------------------------------------------ /proc */

/* Field 22 (starttime) and the state letter of /proc/<pid>/stat. */
int zpar__proc_stat (pid_t pid, unsigned long long *start, char *state)
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
 * engine or relay, and (when start != 0) started at start. */
int zpar__proc_is_ours (pid_t pid, unsigned long long start)
{
    char path[64], buf[4096], state = '?';
    unsigned long long st = 0;
    const char *base, *arg1;
    size_t len;
    FILE *f;

    if (pid <= 1 || zpar__proc_stat (pid, &st, &state) < 0 || state == 'Z' || state == 'X')
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
    return !strcmp (arg1, "controller") || !strcmp (arg1, "engine") || !strcmp (arg1, "relay");
}

/* ------------------------------------------------------------------ pids file */

/* kind: 0 an engine, 1 the controller, 2 the relay */
int zpar__procs_add (zpar_proc_list_t *l, int kind, unsigned n, pid_t pid, unsigned long long start)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        zpar_proc_rec_t *nv = realloc (l->v, ncap * sizeof (*nv));
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n].is_controller = kind == 1;
    l->v[l->n].is_relay = kind == 2;
    l->v[l->n].n = n;
    l->v[l->n].pid = pid;
    l->v[l->n].start = start;
    l->n++;
    return 0;
}

/* Read <dir>/pids.  -1 ENOENT if there is none. */
int zpar__procs_read (const char *dir, zpar_proc_list_t *l)
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
            zpar__procs_add (l, 1, 0, pid, st);
        else if (sscanf (line, "relay %d %llu", &pid, &st) >= 1 && pid > 1)
            zpar__procs_add (l, 2, 0, pid, st);
        else if (sscanf (line, "engine %u %d %llu", &n, &pid, &st) >= 2 && pid > 1)
            zpar__procs_add (l, 0, n, pid, st);
    }
    fclose (f);
    return 0;
}

/* Record pid in l and in the pids file fd (kind as zpar__procs_add). */
int zpar__procs_record (int fd, zpar_proc_list_t *l, int kind, unsigned n, pid_t pid)
{
    unsigned long long st = 0;
    char line[128];
    int len;
    /* the child may not have exec'd yet, but its starttime is already fixed */
    (void)zpar__proc_stat (pid, &st, NULL);
    if (zpar__procs_add (l, kind, n, pid, st) < 0)
        return -1;
    if (kind == 1)
        len = snprintf (line, sizeof (line), "controller %d %llu\n", (int)pid, st);
    else if (kind == 2)
        len = snprintf (line, sizeof (line), "relay %d %llu\n", (int)pid, st);
    else
        len = snprintf (line, sizeof (line), "engine %u %d %llu\n", n, (int)pid, st);
    return write (fd, line, (size_t)len) == len ? 0 : -1;
}

/* relay 0: not counting the relay (it runs until told to stop) */
size_t zpar__procs_alive (const zpar_proc_list_t *l, int relay)
{
    size_t alive = 0;
    for (size_t i = 0; i < l->n; i++)
        if ((relay || !l->v[i].is_relay) && zpar__proc_is_ours (l->v[i].pid, l->v[i].start))
            alive++;
    return alive;
}

void zpar__procs_signal (const zpar_proc_list_t *l, int sig)
{
    for (size_t i = 0; i < l->n; i++)
        if (zpar__proc_is_ours (l->v[i].pid, l->v[i].start))
            kill (l->v[i].pid, sig);
}

/* Reap those of l that are our children and exited (a start in this
 * process), quietly; others' children are none of our business. */
void zpar__procs_reap (const zpar_proc_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        (void)waitpid (l->v[i].pid, NULL, WNOHANG);
}

/* Wait until none of l is alive, at most timeout seconds. */
int zpar__procs_wait_gone (const zpar_proc_list_t *l, double timeout)
{
    double end = zpar__mono_s () + timeout;
    for (;;) {
        zpar__procs_reap (l);
        if (zpar__procs_alive (l, 1) == 0)
            return 0;
        if (zpar__mono_s () >= end)
            return -1;
        zpar__sleep_s (0.01);
    }
}