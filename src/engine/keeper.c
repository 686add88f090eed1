/* keeper.c - the engine's keeper process: kills the engine's task groups
 * when the engine is gone.  See keeper.h and doc/engine.md
 * ("Containment"). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

#define KEEPER_MAX         4096 /* task groups listed at once */
#define KEEPER_WAIT_MS     1000 /* zpar__keeper_stop: wait this long for the exit */
#define KEEPER_FENCED_MAX  64   /* fence notes kept until their task is reaped */
#define KEEPER_PENDING_MAX 32   /* removals held for the next record (see remove_soon) */

/* The records on the socket: two int32, {op, value}, one per packet
 * (SOCK_SEQPACKET: the engine's thread and its heart's write whole
 * records, never interleaved). */
enum {
    KEEPER_OP_ADD = 1,    /* engine -> keeper: list group value */
    KEEPER_OP_REMOVE = 2, /* take group value off the list */
    KEEPER_OP_TICK = 3,   /* the controller was heard now */
    KEEPER_OP_HOLD = 4,   /* the controller is gone: no fencing until a tick */
    KEEPER_OP_LIMIT = 5,  /* the fence limit, ms (0: fencing off) */
    KEEPER_OP_PERIOD = 6, /* the heartbeat period, ms */
    KEEPER_OP_FENCED = 7, /* keeper -> engine: group value was fenced (0: a fence began) */
    KEEPER_OP_RESUME = 8, /* the controller knows us anew: the fence ends */
};

struct zpar_keeper {
    int fd;
    pid_t pid;
    int gone;                        /* the keeper was found gone (said once) */
    pid_t fenced[KEEPER_FENCED_MAX]; /* groups the keeper said it fenced */
    size_t nfenced;
    int fence_seen;                      /* the keeper said a fence began; not yet resumed */
    int eof;                             /* its end of the socket closed (the keeper is gone) */
    uint32_t limit_ms;                   /* the fence limit set (0: off) */
    int32_t pending[KEEPER_PENDING_MAX]; /* groups to take off, not yet sent */
    size_t npending;
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

/* Monotonic milliseconds (async-signal-safe). */
static int64_t mono_ms (void)
{
    struct timespec ts;
    (void)clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Tell the engine group g was fenced (before it is killed: the engine,
 * when it reaps the task, finds the note). */
static void note_fenced (int fd, pid_t g)
{
    int32_t rec[2] = {KEEPER_OP_FENCED, (int32_t)g};
    (void)send (fd, rec, sizeof (rec), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Fence: tell the engine a fence began (first: the note that matters
 * most), then kill every listed group, telling the engine each one
 * first. */
static void fence (int fd, pid_t *groups, size_t *n, int64_t silent_ms)
{
    long killed = 0;
    note_fenced (fd, 0);
    for (size_t j = 0; j < *n; j++) {
        note_fenced (fd, groups[j]);
        if (kill (-groups[j], SIGKILL) == 0)
            killed++;
    }
    *n = 0;
    if (killed)
        say ("zpar keeper: no word from the controller for ", (long)silent_ms,
             " ms: fenced (killed) the engine's task process group(s)\n");
}

static void __attribute__ ((noreturn)) keeper_main (int fd)
{
    static pid_t groups[KEEPER_MAX];
    size_t n = 0;
    int32_t rec[2];
    struct sigaction sa;
    sigset_t none;
    long killed = 0;
    /* fencing (keeper.h): off until the engine sets a limit and ticks */
    int64_t limit_ms = 0, period_ms = 1000, last_tick = 0, last_wake = 0, waited = -1;
    int hold = 0, fenced = 0;

    /* the dispositions first: once it leads its session (what a watcher
     * can see), SIGTERM, SIGINT and SIGHUP are already ignored */
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
    (void)setsid ();
    (void)prctl (PR_SET_NAME, "zpar-keeper", 0, 0, 0);
    (void)!chdir ("/");
    close_others (fd);

    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int armed = limit_ms > 0 && last_tick && !hold && !fenced;
        int timeout = -1, pr;
        ssize_t r;
        int64_t now;

        if (armed) {
            /* wake at least every fifth of the limit: a wake much later
             * than asked means this process (the node) did not run */
            int64_t due = last_tick + limit_ms - mono_ms ();
            int64_t step = limit_ms / 5 > 0 ? limit_ms / 5 : 1;
            timeout = (int)(due < 0 ? 0 : due < step ? due : step);
        }
        last_wake = mono_ms ();
        waited = timeout;
        pr = poll (&pfd, 1, timeout);
        now = mono_ms ();
        if (pr < 0 && errno != EINTR)
            break;
        if (armed && waited >= 0 && now - last_wake > waited + period_ms) {
            /* our own timer fired late by more than a period: the whole
             * node stalled; that lateness is nobody's silence (the
             * controller does the same for itself) */
            last_tick += now - last_wake - waited;
        }
        if (pr > 0) {
            r = recv (fd, rec, sizeof (rec), 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break; /* end-of-file (or an error): the engine is gone */
            if (r != (ssize_t)sizeof (rec))
                continue;
            switch (rec[0]) {
            case KEEPER_OP_ADD:
                if (rec[1] <= 0)
                    break;
                if (fenced) {
                    /* still no word from the controller: it does not run */
                    note_fenced (fd, (pid_t)rec[1]);
                    (void)kill (-(pid_t)rec[1], SIGKILL);
                } else if (n < KEEPER_MAX)
                    groups[n++] = (pid_t)rec[1];
                break;
            case KEEPER_OP_REMOVE:
                for (size_t j = 0; j < n; j++)
                    if (groups[j] == (pid_t)rec[1]) {
                        groups[j] = groups[--n];
                        break;
                    }
                break;
            case KEEPER_OP_TICK:
                /* a tick does not end a fence: the pings that piled up
                 * while the engine was stopped or cut off are no word
                 * from the controller about the tasks; the engine ends
                 * it (RESUME) once it registered again */
                last_tick = now;
                hold = 0;
                break;
            case KEEPER_OP_RESUME:
                last_tick = now;
                hold = fenced = 0;
                break;
            case KEEPER_OP_HOLD:
                hold = 1;
                break;
            case KEEPER_OP_LIMIT:
                limit_ms = rec[1] > 0 ? rec[1] : 0;
                if (!limit_ms)
                    fenced = 0; /* fencing off ends a fence too */
                break;
            case KEEPER_OP_PERIOD:
                period_ms = rec[1] > 0 ? rec[1] : 1000;
                break;
            default:
                break;
            }
        }
        if (limit_ms > 0 && last_tick && !hold && !fenced && now - last_tick >= limit_ms) {
            fenced = 1;
            fence (fd, groups, &n, now - last_tick);
        }
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
    if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
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

static int send_rec (int fd, int32_t op, int32_t v)
{
    int32_t rec[2] = {op, v};
    ssize_t n;
    do
        n = send (fd, rec, sizeof (rec), MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof (rec))
        return 0;
    if (n >= 0) /* cannot happen on a packet socket */
        errno = EAGAIN;
    return -1;
}

/* Send the pending removals and then {op, v} (op 0: none), in one system
 * call: the keeper wakes once for all of them. */
static int send_with_pending (zpar_keeper_t *k, int32_t op, int32_t v)
{
    int32_t rec[KEEPER_PENDING_MAX + 1][2];
    struct mmsghdr mm[KEEPER_PENDING_MAX + 1];
    struct iovec iov[KEEPER_PENDING_MAX + 1];
    size_t n = 0, done = 0;
    for (size_t i = 0; i < k->npending; i++, n++) {
        rec[n][0] = KEEPER_OP_REMOVE;
        rec[n][1] = k->pending[i];
    }
    if (op) {
        rec[n][0] = op;
        rec[n][1] = v;
        n++;
    }
    k->npending = 0;
    memset (mm, 0, n * sizeof (mm[0]));
    for (size_t i = 0; i < n; i++) {
        iov[i].iov_base = rec[i];
        iov[i].iov_len = sizeof (rec[i]);
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    while (done < n) {
        int r = sendmmsg (k->fd, mm + done, (unsigned)(n - done), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EAGAIN;
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

static int tell (zpar_keeper_t *k, int32_t op, int32_t v)
{
    if ((k->npending ? send_with_pending (k, op, v) : send_rec (k->fd, op, v)) == 0)
        return 0;
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
    return tell (k, KEEPER_OP_ADD, (int32_t)pgid);
}

int zpar__keeper_remove (zpar_keeper_t *k, pid_t pgid)
{
    if (!k || pgid <= 0) {
        errno = EINVAL;
        return -1;
    }
    return tell (k, KEEPER_OP_REMOVE, (int32_t)pgid);
}

int zpar__keeper_remove_soon (zpar_keeper_t *k, pid_t pgid)
{
    if (!k || pgid <= 0) {
        errno = EINVAL;
        return -1;
    }
    if (k->npending == KEEPER_PENDING_MAX && zpar__keeper_flush (k) < 0)
        return -1;
    k->pending[k->npending++] = (int32_t)pgid;
    return 0;
}

int zpar__keeper_pending (const zpar_keeper_t *k)
{
    return k ? (int)k->npending : 0;
}

int zpar__keeper_flush (zpar_keeper_t *k)
{
    if (!k || !k->npending)
        return 0;
    return tell (k, 0, 0);
}

int zpar__keeper_fence_limit (zpar_keeper_t *k, uint32_t limit_ms, uint32_t period_ms)
{
    if (!k || limit_ms > INT32_MAX || period_ms > INT32_MAX) {
        errno = EINVAL;
        return -1;
    }
    k->limit_ms = limit_ms;
    if (tell (k, KEEPER_OP_PERIOD, (int32_t)period_ms) < 0 ||
        tell (k, KEEPER_OP_LIMIT, (int32_t)limit_ms) < 0)
        return -1;
    return 0;
}

uint32_t zpar__keeper_limit_ms (const zpar_keeper_t *k)
{
    return k ? k->limit_ms : 0;
}

int zpar__keeper_tick_fd (int fd)
{
    return fd < 0 ? (errno = EINVAL, -1) : send_rec (fd, KEEPER_OP_TICK, 0);
}

int zpar__keeper_hold_fd (int fd)
{
    return fd < 0 ? (errno = EINVAL, -1) : send_rec (fd, KEEPER_OP_HOLD, 0);
}

int zpar__keeper_tick (zpar_keeper_t *k)
{
    return k ? tell (k, KEEPER_OP_TICK, 0) : (errno = EINVAL, -1);
}

int zpar__keeper_hold (zpar_keeper_t *k)
{
    return k ? tell (k, KEEPER_OP_HOLD, 0) : (errno = EINVAL, -1);
}

int zpar__keeper_resume (zpar_keeper_t *k)
{
    if (!k) {
        errno = EINVAL;
        return -1;
    }
    (void)zpar__keeper_read_notes (k);
    k->fence_seen = 0;
    return tell (k, KEEPER_OP_RESUME, 0);
}

int zpar__keeper_gone (const zpar_keeper_t *k)
{
    return !k || k->gone || k->eof;
}

int zpar__keeper_fence_flag (const zpar_keeper_t *k)
{
    return k ? k->fence_seen : 0;
}

int zpar__keeper_fence_seen (zpar_keeper_t *k)
{
    if (!k)
        return 0;
    (void)zpar__keeper_read_notes (k);
    return k->fence_seen;
}

size_t zpar__keeper_read_notes (zpar_keeper_t *k)
{
    int32_t rec[2];
    ssize_t r;
    size_t got = 0;
    if (!k || k->gone || k->eof)
        return 0;
    for (;;) {
        r = recv (k->fd, rec, sizeof (rec), MSG_DONTWAIT);
        if (r == 0) {
            k->eof = 1; /* end-of-file: the keeper exited */
            break;
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                k->eof = 1;
            break;
        }
        if (r != (ssize_t)sizeof (rec) || rec[0] != KEEPER_OP_FENCED || rec[1] < 0)
            continue;
        got++;
        if (rec[1] == 0) {
            k->fence_seen = 1;
            continue;
        }
        if (k->nfenced == KEEPER_FENCED_MAX) /* the oldest note goes */
            memmove (k->fenced, k->fenced + 1, sizeof (k->fenced[0]) * --k->nfenced);
        k->fenced[k->nfenced++] = (pid_t)rec[1];
    }
    return got;
}

int zpar__keeper_fenced (zpar_keeper_t *k, pid_t pgid)
{
    if (!k || pgid <= 0)
        return 0;
    (void)zpar__keeper_read_notes (k);
    for (size_t i = 0; i < k->nfenced; i++)
        if (k->fenced[i] == pgid) {
            k->fenced[i] = k->fenced[--k->nfenced];
            return 1;
        }
    return 0;
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
    (void)zpar__keeper_flush (k); /* nothing dead left listed */
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
