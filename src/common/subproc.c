/* subproc.c - the one subprocess helper (see subproc.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "reactor.h"
#include "subproc.h"

extern char **environ;

/* How long the capture loop sleeps at most between checks (ms). */
#define CHECK_MS 20
/* At most this much is read from the pipe after the child has exited (a
 * grandchild that keeps writing must not hold us). */
#define DRAIN_MAX (1 << 20)

/* environ with o->env's entries added or replaced.  *envp is environ
 * itself when there is nothing to add; otherwise a malloc'd array of
 * borrowed strings. */
static int build_env (char *const *extra, char ***envp)
{
    size_t n = 0, k = 0, e = 0;
    char **v;

    *envp = environ;
    if (!extra || !extra[0])
        return 0;
    while (environ && environ[n])
        n++;
    while (extra[e])
        e++;
    if (!(v = calloc (n + e + 1, sizeof (*v))))
        return -1;
    for (size_t i = 0; i < n; i++)
        v[k++] = environ[i];
    for (size_t j = 0; j < e; j++) {
        const char *eq = strchr (extra[j], '=');
        size_t len;
        size_t i;
        if (!eq || eq == extra[j]) {
            free (v);
            errno = EINVAL;
            return -1;
        }
        len = (size_t)(eq - extra[j]) + 1; /* "NAME=" */
        for (i = 0; i < k; i++)
            if (!strncmp (v[i], extra[j], len))
                break;
        v[i] = extra[j];
        if (i == k)
            k++;
    }
    v[k] = NULL;
    *envp = v;
    return 0;
}

/* close fd when it is >= 0, keeping errno */
static void close_fd (int fd)
{
    int e = errno;
    if (fd >= 0)
        close (fd);
    errno = e;
}

/* spawn with stdout into fd capture_fd when it is >= 0 */
static pid_t spawn (const zpar_subproc_opts_t *o, int capture_fd, zpar_error_t *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t set;
    char **envp = NULL;
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    int oflags = O_WRONLY | O_CREAT | O_APPEND;
    pid_t pid = -1;
    int rc, tie = -1;
    char tie_env[32];
    char *const *extra = o ? o->env : NULL;
    char **tie_extra = NULL;

    if (!o || !o->argv || !o->argv[0] || !o->argv[0][0]) {
        zpar__errnoprintf (err, EINVAL, "no program to run");
        return -1;
    }
    if (o->tie_fd > 2) {
        /* a copy above the child's descriptor 3, so that dup2 always
         * moves it there (and clears close-on-exec on the child's copy) */
        size_t ne = 0;
        if ((tie = fcntl (o->tie_fd, F_DUPFD_CLOEXEC, ZPAR_TIE_CHILD_FD + 1)) < 0) {
            zpar__errprintf (err, "cannot run %s: the tie descriptor: %s", o->argv[0],
                             strerror (errno));
            return -1;
        }
        while (o->env && o->env[ne])
            ne++;
        if (!(tie_extra = calloc (ne + 2, sizeof (*tie_extra)))) {
            close_fd (tie);
            zpar__errnoprintf (err, ENOMEM, "cannot run %s: out of memory", o->argv[0]);
            return -1;
        }
        for (size_t i = 0; i < ne; i++)
            tie_extra[i] = o->env[i];
        snprintf (tie_env, sizeof (tie_env), "%s=%d", ZPAR_TIE_ENV, ZPAR_TIE_CHILD_FD);
        tie_extra[ne] = tie_env;
        extra = tie_extra;
    }
    if (build_env (extra, &envp) < 0) {
        zpar__errprintf (err, "cannot run %s: %s", o->argv[0],
                         errno == EINVAL ? "bad environment entry (give NAME=VALUE)"
                                         : strerror (errno));
        free (tie_extra);
        close_fd (tie);
        return -1;
    }
    if (!(o->flags & ZPAR_SUBPROC_APPEND))
        oflags |= O_TRUNC;
    if ((rc = posix_spawn_file_actions_init (&fa)) != 0)
        goto out_env;
    if ((rc = posix_spawnattr_init (&at)) != 0) {
        posix_spawn_file_actions_destroy (&fa);
        goto out_env;
    }
    if (tie >= 0)
        rc = posix_spawn_file_actions_adddup2 (&fa, tie, ZPAR_TIE_CHILD_FD);
    if (rc == 0 && (o->flags & ZPAR_SUBPROC_STDIN_NULL))
        rc = posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0 && capture_fd >= 0)
        rc = posix_spawn_file_actions_adddup2 (&fa, capture_fd, 1);
    else if (rc == 0 && o->out)
        rc = posix_spawn_file_actions_addopen (&fa, 1, o->out, oflags, 0600);
    if (rc == 0 && o->err) {
        if (o->out && capture_fd < 0 && !strcmp (o->out, o->err))
            rc = posix_spawn_file_actions_adddup2 (&fa, 1, 2);
        else
            rc = posix_spawn_file_actions_addopen (&fa, 2, o->err, oflags, 0600);
    }
    /* after the opens, so that relative log paths are the caller's */
    if (rc == 0 && o->cwd)
        rc = posix_spawn_file_actions_addchdir_np (&fa, o->cwd);
    if (rc == 0 && !(o->flags & ZPAR_SUBPROC_KEEP_FDS))
        rc = posix_spawn_file_actions_addclosefrom_np (&fa, tie >= 0 ? ZPAR_TIE_CHILD_FD + 1 : 3);
    if (o->flags & ZPAR_SUBPROC_SETSID)
        flags |= POSIX_SPAWN_SETSID;
    else if (o->flags & ZPAR_SUBPROC_SETPGRP) {
        flags |= POSIX_SPAWN_SETPGROUP;
        if (rc == 0)
            rc = posix_spawnattr_setpgroup (&at, 0);
    }
    if (rc == 0)
        rc = posix_spawnattr_setflags (&at, flags);
    zpar__reactor_child_sigmask (&set);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask (&at, &set);
    /* every signal a program can catch or ignore (not glibc's internal
     * ones between 31 and SIGRTMIN) */
    sigemptyset (&set);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP && (sig < 32 || sig >= SIGRTMIN))
            sigaddset (&set, sig);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault (&at, &set);
    if (rc == 0)
        rc = posix_spawnp (&pid, o->argv[0], &fa, &at, o->argv, envp);
    posix_spawnattr_destroy (&at);
    posix_spawn_file_actions_destroy (&fa);
out_env:
    if (envp != environ)
        free (envp);
    free (tie_extra);
    close_fd (tie);
    if (rc != 0) {
        zpar__errnoprintf (err, rc, "cannot run %s: %s", o->argv[0], strerror (rc));
        return -1;
    }
    return pid;
}

pid_t zpar__subproc_spawn (const zpar_subproc_opts_t *o, zpar_error_t *err)
{
    return spawn (o, -1, err);
}

static int pidfd_open (pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall (SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

static void close_keep_errno (int fd)
{
    int e = errno;
    if (fd >= 0)
        close (fd);
    errno = e;
}

/* milliseconds until deadline (capped at cap; deadline < 0: cap) */
static int ms_left (double deadline, int cap)
{
    double left;
    if (deadline < 0)
        return cap;
    left = (deadline - zpar__mono_s ()) * 1000.0;
    if (left <= 0)
        return 0;
    if (cap >= 0 && left > cap)
        return cap;
    return left > INT_MAX - 1 ? INT_MAX - 1 : (int)left + 1;
}

int zpar__subproc_wait (pid_t pid, double timeout, int *status)
{
    double deadline = timeout < 0 ? -1 : zpar__mono_s () + timeout;
    int pfd = -1, st = 0;

    if (pid <= 0) {
        errno = EINVAL;
        return -1;
    }
    for (;;) {
        pid_t r = waitpid (pid, &st, WNOHANG);
        int ms;
        if (r == pid) {
            close_keep_errno (pfd);
            if (status)
                *status = st;
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            close_keep_errno (pfd);
            return -1;
        }
        if (r < 0)
            continue;
        if ((ms = ms_left (deadline, -1)) == 0) {
            close_keep_errno (pfd);
            errno = ETIMEDOUT;
            return -1;
        }
        if (pfd < 0)
            pfd = pidfd_open (pid);
        if (pfd >= 0) {
            struct pollfd p = {.fd = pfd, .events = POLLIN};
            (void)poll (&p, 1, ms);
        } else
            zpar__sleep_s ((ms < 0 || ms > 10 ? 10 : ms) / 1000.0);
    }
}

int zpar__subproc_kill (pid_t pid, int sig)
{
    if (pid <= 0) {
        errno = EINVAL;
        return -1;
    }
    if (getpgid (pid) == pid)
        return kill (-pid, sig);
    return kill (pid, sig);
}

/* read what is there; 0 on EOF or error, 1 when more may come */
static int pipe_read (int fd, char *out, size_t size, size_t *used, size_t *total)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read (fd, buf, sizeof (buf));
        if (n > 0) {
            if (out && *used + 1 < size) {
                size_t k = (size_t)n < size - 1 - *used ? (size_t)n : size - 1 - *used;
                memcpy (out + *used, buf, k);
                *used += k;
            }
            *total += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && errno == EAGAIN;
    }
}

int zpar__subproc_capture (const zpar_subproc_opts_t *o, char *out, size_t size, double timeout,
                           zpar_subproc_cancel_f cancel, void *arg, int *status, zpar_error_t *err)
{
    double deadline = timeout < 0 ? -1 : zpar__mono_s () + timeout;
    size_t used = 0, total = 0;
    int p[2], pfd, st = 0, why = 0, lost = 0;
    pid_t pid;

    if (out && size)
        out[0] = '\0';
    if ((out && !size) || (!out && size)) {
        errno = EINVAL;
        return zpar__errprintf (err, "capture buffer: give both out and size, or neither");
    }
    if (pipe2 (p, O_CLOEXEC) < 0)
        return zpar__errprintf (err, "cannot create a pipe: %s", strerror (errno));
    if ((pid = spawn (o, p[1], err)) < 0) {
        int e = errno;
        close (p[0]);
        close (p[1]);
        errno = e;
        return -1;
    }
    close (p[1]);
    fcntl (p[0], F_SETFL, O_NONBLOCK);
    pfd = pidfd_open (pid);
    for (;;) {
        struct pollfd fds[2] = {{.fd = p[0], .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
        pid_t r = waitpid (pid, &st, WNOHANG);
        int ms;
        if (r == pid || (r < 0 && errno != EINTR)) {
            /* exited: take what is already in the pipe, no more */
            lost = r < 0 ? errno : 0; /* ECHILD: reaped elsewhere (SIGCHLD ignored) */
            if (p[0] >= 0)
                while (total < DRAIN_MAX && pipe_read (p[0], out, size, &used, &total)) {
                    struct pollfd q = {.fd = p[0], .events = POLLIN};
                    if (poll (&q, 1, 0) <= 0)
                        break;
                }
            break;
        }
        if (cancel && cancel (arg)) {
            why = ECANCELED;
            break;
        }
        if ((ms = ms_left (deadline, CHECK_MS)) == 0) {
            why = ETIMEDOUT;
            break;
        }
        if (poll (fds, pfd >= 0 ? 2 : 1, ms) > 0 && p[0] >= 0 && fds[0].revents) {
            if (!pipe_read (p[0], out, size, &used, &total)) {
                close (p[0]); /* EOF: wait for the exit alone */
                p[0] = -1;
            }
        }
    }
    if (out && size)
        out[used] = '\0';
    close_keep_errno (p[0]);
    close_keep_errno (pfd);
    if (why) {
        zpar__subproc_kill (pid, SIGKILL);
        while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
            ;
        errno = why;
        return zpar__errprintf (err, "%s %s", o->argv[0],
                                why == ETIMEDOUT ? "timed out" : "was cancelled");
    }
    if (lost) {
        errno = lost;
        return zpar__errprintf (err, "cannot wait for %s: %s", o->argv[0], strerror (lost));
    }
    if (status)
        *status = st;
    return 0;
}

int zpar__subproc_exit_code (int status)
{
    if (WIFEXITED (status))
        return WEXITSTATUS (status);
    if (WIFSIGNALED (status))
        return 128 + WTERMSIG (status);
    return -1;
}

/* ---------------------------------------------------------------- ties */

int zpar__tie_create (int *wfd, int *rfd)
{
    int p[2];
    if (!wfd || !rfd) {
        errno = EINVAL;
        return -1;
    }
    if (pipe2 (p, O_CLOEXEC) < 0)
        return -1;
    /* never 0-2 (a caller with a closed stdio): those are not passed */
    for (int i = 0; i < 2; i++)
        if (p[i] <= 2) {
            int d = fcntl (p[i], F_DUPFD_CLOEXEC, 3);
            if (d < 0) {
                close_fd (p[0]);
                close_fd (p[1]);
                return -1;
            }
            close (p[i]);
            p[i] = d;
        }
    *rfd = p[0];
    *wfd = p[1];
    return 0;
}

/* The watcher: blocks in read() until the starter's end is closed. */
static void *tie_thread (void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[64];
    double end;
    for (;;) {
        ssize_t n = read (fd, buf, sizeof (buf));
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            break;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            (void)poll (&p, 1, -1);
        }
    }
    (void)kill (getpid (), SIGTERM);
    end = zpar__mono_s () + ZPAR_TIE_GRACE;
    while (zpar__mono_s () < end)
        zpar__sleep_s (0.1);
    (void)kill (getpid (), SIGKILL);
    return NULL;
}

int zpar__tie_watch (zpar_error_t *err)
{
    const char *v = getenv (ZPAR_TIE_ENV);
    pthread_attr_t at;
    pthread_t th;
    char *end = NULL;
    long fd;
    int rc;

    if (!v)
        return 0;
    errno = 0;
    fd = strtol (v, &end, 10);
    (void)unsetenv (ZPAR_TIE_ENV);
    if (errno || end == v || *end || fd < 0 || fd > INT_MAX || fcntl ((int)fd, F_GETFD) < 0)
        return zpar__errnoprintf (err, EBADF, "%s=%s names no open descriptor: not tied",
                                  ZPAR_TIE_ENV, v);
    (void)fcntl ((int)fd, F_SETFD, FD_CLOEXEC);
    if ((rc = pthread_attr_init (&at)) != 0)
        return zpar__errnoprintf (err, rc, "cannot watch the tie: %s", strerror (rc));
    (void)pthread_attr_setdetachstate (&at, PTHREAD_CREATE_DETACHED);
    (void)pthread_attr_setstacksize (&at, 64 * 1024);
    rc = pthread_create (&th, &at, tie_thread, (void *)(intptr_t)fd);
    pthread_attr_destroy (&at);
    if (rc != 0)
        return zpar__errnoprintf (err, rc, "cannot watch the tie: %s", strerror (rc));
    return 0;
}
