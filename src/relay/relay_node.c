/* relay_node.c - a node's relay under `zpar run`.  See relay_node.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "log.h"
#include "relay_node.h"
#include "subproc.h"

int zpar__relay_mode_parse (const char *text, zpar_relay_mode_t *mode, zpar_error_t *err)
{
    const char *env = getenv ("ZPAR_RELAY");
    const char *what = text ? "--relay" : "ZPAR_RELAY";
    if (!text)
        text = env && *env ? env : "auto";
    if (!strcmp (text, "auto"))
        *mode = ZPAR_RELAY_AUTO;
    else if (!strcmp (text, "always"))
        *mode = ZPAR_RELAY_ALWAYS;
    else if (!strcmp (text, "never"))
        *mode = ZPAR_RELAY_NEVER;
    else
        return zpar__errnoprintf (err, EINVAL, "%s %s: say auto, always or never", what, text);
    return 0;
}

int zpar__relay_controller_node_min (void)
{
    const char *env = getenv ("ZPAR_RELAY_CONTROLLER_NODE");
    int v;
    char extra;
    /* a number and nothing after it */
    return env && sscanf (env, "%d%c", &v, &extra) == 1 && v >= 0 ? v
                                                                  : ZPAR_RELAY_CONTROLLER_NODE_MIN;
}

int zpar__relay_wanted (zpar_relay_mode_t mode, int controller_node, int local_size,
                        const char *scheme)
{
    int engines = local_size - (controller_node ? 1 : 0), min;
    if (mode == ZPAR_RELAY_NEVER || engines < 1 || (scheme && !strcmp (scheme, "pure")))
        return 0;
    if (mode == ZPAR_RELAY_ALWAYS)
        return 1;
    if (!controller_node)
        return engines >= 2;
    min = zpar__relay_controller_node_min ();
    return min > 0 && engines >= min;
}

struct zpar_relay_child {
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pid_t pid;    /* the relay now, 0: none */
    int stopping; /* zpar__relay_child_stop was called */
    int tie_w;    /* our end of the tie */
    char exe[PATH_MAX], conn[PATH_MAX], dir[PATH_MAX], iface[128];
    unsigned starts;
    unsigned restart_ms; /* wait before starting it again ($ZPAR_RELAY_RESTART_MS) */
};

static pid_t spawn (zpar_relay_child_t *c, int tie_r)
{
    char *argv[10];
    int n = 0;
    zpar_subproc_opts_t so = {.argv = argv, .flags = ZPAR_SUBPROC_STDIN_NULL, .tie_fd = tie_r};
    zpar_error_t err;
    pid_t pid;
    argv[n++] = c->exe;
    argv[n++] = "relay";
    argv[n++] = "--connection-file";
    argv[n++] = c->conn;
    argv[n++] = "--dir";
    argv[n++] = c->dir;
    if (c->iface[0]) {
        argv[n++] = "--interface";
        argv[n++] = c->iface;
    }
    argv[n] = NULL;
    if ((pid = zpar__subproc_spawn (&so, &err)) < 0)
        zpar__err ("relay: cannot start: %s", err.text);
    return pid;
}

/* Keep the relay running: start it again when it dies, at most once a
 * second, until stopped. */
static void *keep (void *arg)
{
    zpar_relay_child_t *c = arg;
    pthread_mutex_lock (&c->lock);
    while (!c->stopping) {
        struct timespec ts;
        pid_t pid = c->pid;
        int st = 0;
        pthread_mutex_unlock (&c->lock);
        if (pid > 0)
            (void)waitpid (pid, &st, 0);
        pthread_mutex_lock (&c->lock);
        c->pid = 0;
        if (c->stopping)
            break;
        if (pid > 0)
            zpar__warn ("relay (pid %d) ended (%s %d): starting it again in %u ms; its engines "
                        "register again through it",
                        (int)pid, WIFSIGNALED (st) ? "signal" : "exit status",
                        WIFSIGNALED (st) ? WTERMSIG (st) : WEXITSTATUS (st), c->restart_ms);
        clock_gettime (CLOCK_REALTIME, &ts);
        ts.tv_sec += c->restart_ms / 1000;
        ts.tv_nsec += (long)(c->restart_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!c->stopping && pthread_cond_timedwait (&c->cond, &c->lock, &ts) != ETIMEDOUT)
            ;
        if (c->stopping)
            break;
        /* the tie's read end is passed as a dup (the child closes ours) */
        {
            int w, r;
            if (zpar__tie_create (&w, &r) == 0) {
                close (c->tie_w);
                c->tie_w = w;
                c->pid = spawn (c, r);
                close (r);
            }
        }
        c->starts++;
        if (c->pid <= 0) {
            c->pid = 0;
            zpar__err ("relay: not started again; the engines of this node are lost");
            break;
        }
    }
    pthread_mutex_unlock (&c->lock);
    return NULL;
}

zpar_relay_child_t *zpar__relay_child_start (const zpar_conninfo_t *ci, const char *dir,
                                             const char *interface, zpar_error_t *err)
{
    zpar_relay_child_t *c = calloc (1, sizeof (*c));
    ssize_t n;
    int tie_r = -1;
    if (!c) {
        zpar__errprintf (err, "relay: out of memory");
        return NULL;
    }
    c->tie_w = -1;
    {
        const char *env = getenv ("ZPAR_RELAY_RESTART_MS");
        char *end;
        unsigned long v = env && *env ? strtoul (env, &end, 10) : 1000;
        c->restart_ms = env && *env && *end == '\0' && v <= 600000 ? (unsigned)v : 1000;
    }
    pthread_mutex_init (&c->lock, NULL);
    pthread_cond_init (&c->cond, NULL);
    snprintf (c->dir, sizeof (c->dir), "%s", dir);
    snprintf (c->iface, sizeof (c->iface), "%s", interface ? interface : "");
    if ((n = readlink ("/proc/self/exe", c->exe, sizeof (c->exe) - 1)) <= 0) {
        zpar__errprintf (err, "relay: cannot find this program: %s", strerror (errno));
        goto error;
    }
    c->exe[n] = '\0';
    if (snprintf (c->conn, sizeof (c->conn), "%s.json", dir) >= (int)sizeof (c->conn)) {
        zpar__errnoprintf (err, ENAMETOOLONG, "relay: %s: name too long", dir);
        goto error;
    }
    if (zpar__conn_write (c->conn, ci, err) < 0)
        goto error;
    if (zpar__tie_create (&c->tie_w, &tie_r) < 0) {
        zpar__errprintf (err, "relay: cannot create a tie: %s", strerror (errno));
        goto error;
    }
    c->pid = spawn (c, tie_r);
    close (tie_r);
    if (c->pid <= 0) {
        zpar__errprintf (err, "relay: cannot start %s relay", c->exe);
        goto error;
    }
    c->starts = 1;
    if (pthread_create (&c->tid, NULL, keep, c) != 0) {
        zpar__errprintf (err, "relay: cannot start its keeper thread");
        kill (c->pid, SIGKILL);
        (void)waitpid (c->pid, NULL, 0);
        goto error;
    }
    return c;
error:
    if (c->tie_w >= 0)
        close (c->tie_w);
    pthread_mutex_destroy (&c->lock);
    pthread_cond_destroy (&c->cond);
    free (c);
    return NULL;
}

void zpar__relay_child_stop (zpar_relay_child_t *c)
{
    if (!c)
        return;
    pthread_mutex_lock (&c->lock);
    c->stopping = 1;
    if (c->pid > 0)
        kill (c->pid, SIGTERM);
    pthread_cond_broadcast (&c->cond);
    pthread_mutex_unlock (&c->lock);
    pthread_join (c->tid, NULL);
    if (c->tie_w >= 0)
        close (c->tie_w);
    (void)unlink (c->conn);
    pthread_mutex_destroy (&c->lock);
    pthread_cond_destroy (&c->cond);
    free (c);
}
