/* keeper.c - the engine's keeper process: kills the engine's task groups
 * when the engine is gone.  See keeper.h and doc/engine.md
 * ("Containment"). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "keeper.h"
#include "log.h"

#define KEEPER_MAX     4096 /* task groups listed at once */
#define KEEPER_WAIT_MS 1000 /* zpar__keeper_stop: wait this long for the exit */

struct zpar_keeper {
    int fd;
    pid_t pid;
    int gone; /* the keeper was found gone (said once) */
};

/* ------------------------------------------------------- the keeper */

/* Async-signal-safe: write s and the decimal n to fd 2. */
static void say (const char *s, long n, const char *t)
{
    char num[24];
    int i = (int)sizeof (num);
    unsigned long u = n < 0 ? 0 : (unsigned long)n;
    do {
        num[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u && i > 0);
    (void)!write (2, s, strlen (s));
    (void)!write (2, num + i, sizeof (num) - (size_t)i);
    (void)!write (2, t, strlen (t));
}

static void close_others (int keep)
{
    /* everything but stderr and our socket */
    int null = open ("/dev/null", O_RDWR);
    if (null >= 0) {
        (void)dup2 (null, 0);
        (void)dup2 (null, 1);
        if (null > 2 && null != keep)
            (void)close (null);
    }
    if (keep > 3 && close_range (3, (unsigned)keep - 1, 0) < 0)
        for (int fd = 3; fd < keep; fd++)
            (void)close (fd);
    if (close_range ((unsigned)keep + 1, ~0u, 0) < 0)
        for (int fd = keep + 1; fd < 4096; fd++)
            (void)close (fd);
}

static void __attribute__ ((noreturn)) keeper_main (int fd)
{
    static pid_t groups[KEEPER_MAX];
    size_t n = 0, have = 0;
    int32_t buf[256];
    struct sigaction sa;
    sigset_t none;
    long killed = 0;

    (void)setsid ();
    (void)prctl (PR_SET_NAME, "zpar-keeper", 0, 0, 0);
    (void)!chdir ("/");
    close_others (fd);
    memset (&sa, 0, sizeof (sa));
    sigemptyset (&sa.sa_mask);
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP)
            continue;
        sa.sa_handler = (s == SIGTERM || s == SIGINT || s == SIGHUP) ? SIG_IGN : SIG_DFL;
        (void)sigaction (s, &sa, NULL);
    }
    sigemptyset (&none);
    (void)sigprocmask (SIG_SETMASK, &none, NULL);

    for (;;) {
        ssize_t r = read (fd, (char *)buf + have, sizeof (buf) - have);
        size_t nrec;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* end-of-file (or an error): the engine is gone */
        have += (size_t)r;
        nrec = have / sizeof (buf[0]);
        for (size_t i = 0; i < nrec; i++) {
            int32_t v = buf[i];
            if (v > 0 && n < KEEPER_MAX)
                groups[n++] = (pid_t)v;
            else if (v < 0)
                for (size_t j = 0; j < n; j++)
                    if (groups[j] == (pid_t)-v) {
                        groups[j] = groups[--n];
                        break;
                    }
        }
        have -= nrec * sizeof (buf[0]);
        if (have)
            memmove (buf, (char *)buf + nrec * sizeof (buf[0]), have);
    }
    for (size_t j = 0; j < n; j++)
        if (kill (-groups[j], SIGKILL) == 0)
            killed++;
    if (killed)
        say ("zpar keeper: the engine is gone: killed ", killed, " task process group(s)\n");
    _exit (0);
}

/* ------------------------------------------------------- the engine */

zpar_keeper_t *zpar__keeper_start (zpar_error_t *err)
{
    zpar_keeper_t *k;
    int sv[2], e;
    pid_t pid;

    if (!(k = calloc (1, sizeof (*k)))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        e = errno;
        free (k);
        zpar__errnoprintf (err, e, "keeper: socketpair: %s", strerror (e));
        return NULL;
    }
    pid = fork ();
    if (pid == 0) {
        (void)close (sv[0]);
        keeper_main (sv[1]);
    }
    e = errno;
    (void)close (sv[1]);
    if (pid < 0) {
        (void)close (sv[0]);
        free (k);
        zpar__errnoprintf (err, e, "keeper: fork: %s", strerror (e));
        return NULL;
    }
    k->fd = sv[0];
    k->pid = pid;
    return k;
}

static int tell (zpar_keeper_t *k, int32_t v)
{
    ssize_t n;
    do
        n = send (k->fd, &v, sizeof (v), MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof (v))
        return 0;
    if (n >= 0) /* cannot happen on a stream with room for 4 bytes */
        errno = EAGAIN;
    if (!k->gone && errno != EAGAIN) {
        k->gone = 1;
        zpar__warn ("the engine's keeper (pid %d) is gone (%s): task processes are contained by "
                    "their parent-death signal only",
                    (int)k->pid, strerror (errno));
    }
    return -1;
}

int zpar__keeper_add (zpar_keeper_t *k, pid_t pgid)
{
    if (!k || pgid <= 0) {
        errno = EINVAL;
        return -1;
    }
    return tell (k, (int32_t)pgid);
}

int zpar__keeper_remove (zpar_keeper_t *k, pid_t pgid)
{
    if (!k || pgid <= 0) {
        errno = EINVAL;
        return -1;
    }
    return tell (k, -(int32_t)pgid);
}

int zpar__keeper_fd (const zpar_keeper_t *k)
{
    return k ? k->fd : -1;
}

pid_t zpar__keeper_pid (const zpar_keeper_t *k)
{
    return k ? k->pid : 0;
}

void zpar__keeper_stop (zpar_keeper_t *k)
{
    int saved = errno;
    struct timespec step = {0, 5 * 1000 * 1000};
    pid_t p = 0;

    if (!k)
        return;
    (void)close (k->fd);
    for (int i = 0; i < KEEPER_WAIT_MS / 5; i++) {
        do
            p = waitpid (k->pid, NULL, WNOHANG);
        while (p < 0 && errno == EINTR);
        if (p != 0)
            break;
        nanosleep (&step, NULL);
    }
    if (p == 0) {
        (void)kill (k->pid, SIGKILL);
        while (waitpid (k->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    free (k);
    errno = saved;
}
