/* reactor.c - see reactor.h.
 *
 * Watchers live in one array per reactor; the poll set is rebuilt only when
 * a watcher is started, stopped or changed.  Timers are few (a loop has a
 * handful: heartbeat, flush, retry), so the next one is found by a scan.
 * Watchers destroyed from inside a callback are freed once the iteration
 * is over, so that the dispatch loop never touches freed memory.
 *
 * The wait is poll(2) over the fds and the ZeroMQ sockets' ZMQ_FD, not
 * zmq_poll: zmq_poll asks every socket for ZMQ_EVENTS before it sleeps
 * and again after (each a getpid and a poll of the socket's mailbox in
 * libzmq), twice per socket per wake-up.  ZMQ_FD only says that a
 * socket's state may have changed, and a socket's state also changes when
 * the program itself calls it (a send processes the socket's pending
 * commands, which can make it readable without its fd ever signalling).
 * So ZMQ_EVENTS is read
 *   - for a socket whose fd is readable after the wait, and
 *   - for every socket before a wait that follows callbacks (any callback
 *     may have used any socket) or that starts a run_once (the caller's
 *     own code may have), and then the wait does not sleep if one is
 *     ready.
 * A wake-up that ran callbacks so costs one ZMQ_EVENTS per socket plus
 * one per socket that signalled, instead of two per socket.  Readiness
 * stays level-triggered as before.
 */
#include "reactor.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"

typedef enum {
    W_ZMQ,
    W_FD,
    W_TIMER,
    W_SIGNAL,
} wkind_t;

struct zpar_watcher {
    zpar_reactor_t *r;
    wkind_t kind;
    int active;
    int dead;   /* destroyed, to be freed after the iteration */
    int events; /* ZPAR_EV_* for io watchers */
    void *sock;
    int fd; /* fd watchers, the signalfd of signal watchers, ZMQ_FD of zmq ones */
    int signum;
    uint64_t due_us;    /* timers: next expiry (monotonic) */
    uint64_t repeat_us; /* timers: period, 0 = once */
    zpar_watcher_f cb;
    void *arg;
    int pollidx; /* index in the poll set, -1 if none */
};

struct zpar_reactor {
    zpar_watcher_t **w;
    size_t n, cap;
    struct pollfd *items;
    zpar_watcher_t **itemw; /* watcher of each poll item */
    int *zready;            /* ZPAR_EV_* a zmq item's ZMQ_EVENTS gave, this iteration */
    size_t nitems, itemcap;
    int dirty;   /* poll set must be rebuilt */
    int recheck; /* read every zmq socket's ZMQ_EVENTS before waiting */
    int stop;
    int depth; /* > 0 while dispatching */
    int ndead;
    uint64_t now_us;
};

zpar_reactor_t *zpar__reactor_create (void)
{
    zpar_reactor_t *r = calloc (1, sizeof (*r));
    if (!r)
        return NULL;
    r->dirty = 1;
    r->now_us = zpar__mono_us ();
    return r;
}

static void watcher_free (zpar_watcher_t *w)
{
    if (w->kind == W_SIGNAL && w->fd >= 0)
        close (w->fd);
    free (w);
}

void zpar__reactor_destroy (zpar_reactor_t *r)
{
    int saved = errno;
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        watcher_free (r->w[i]);
    free (r->w);
    free (r->items);
    free (r->itemw);
    free (r->zready);
    free (r);
    errno = saved;
}

uint64_t zpar__reactor_now_us (const zpar_reactor_t *r)
{
    return r->now_us;
}

void zpar__reactor_now_update (zpar_reactor_t *r)
{
    r->now_us = zpar__mono_us ();
}

void zpar__reactor_stop (zpar_reactor_t *r)
{
    if (r)
        r->stop = 1;
}

int zpar__reactor_stopped (const zpar_reactor_t *r)
{
    return r ? r->stop : 1;
}

static zpar_watcher_t *watcher_new (zpar_reactor_t *r, wkind_t kind, zpar_watcher_f cb, void *arg)
{
    zpar_watcher_t *w;
    if (!r || !cb) {
        errno = EINVAL;
        return NULL;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        zpar_watcher_t **nw = realloc (r->w, cap * sizeof (*nw));
        if (!nw)
            return NULL;
        r->w = nw;
        r->cap = cap;
    }
    if (!(w = calloc (1, sizeof (*w))))
        return NULL;
    w->r = r;
    w->kind = kind;
    w->cb = cb;
    w->arg = arg;
    w->fd = -1;
    w->pollidx = -1;
    r->w[r->n++] = w;
    return w;
}

zpar_watcher_t *zpar__zmq_watcher_create (zpar_reactor_t *r, void *sock, int events,
                                          zpar_watcher_f cb, void *arg)
{
    zpar_watcher_t *w;
    int fd = -1;
    size_t len = sizeof (fd);
    if (!sock) {
        errno = EINVAL;
        return NULL;
    }
    if (zmq_getsockopt (sock, ZMQ_FD, &fd, &len) < 0)
        return NULL;
    if (!(w = watcher_new (r, W_ZMQ, cb, arg)))
        return NULL;
    w->sock = sock;
    w->fd = fd;
    w->events = events;
    return w;
}

zpar_watcher_t *zpar__fd_watcher_create (zpar_reactor_t *r, int fd, int events, zpar_watcher_f cb,
                                         void *arg)
{
    zpar_watcher_t *w;
    if (fd < 0) {
        errno = EINVAL;
        return NULL;
    }
    if (!(w = watcher_new (r, W_FD, cb, arg)))
        return NULL;
    w->fd = fd;
    w->events = events;
    return w;
}

zpar_watcher_t *zpar__timer_watcher_create (zpar_reactor_t *r, uint64_t after_ms,
                                            uint64_t repeat_ms, zpar_watcher_f cb, void *arg)
{
    zpar_watcher_t *w = watcher_new (r, W_TIMER, cb, arg);
    if (!w)
        return NULL;
    w->due_us = zpar__mono_us () + after_ms * 1000u;
    w->repeat_us = repeat_ms * 1000u;
    return w;
}

zpar_watcher_t *zpar__signal_watcher_create (zpar_reactor_t *r, int signum, zpar_watcher_f cb,
                                             void *arg)
{
    zpar_watcher_t *w;
    sigset_t set;
    if (!r || signum <= 0 || signum >= NSIG) {
        errno = EINVAL;
        return NULL;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (r->w[i]->kind == W_SIGNAL && !r->w[i]->dead && r->w[i]->signum == signum) {
            errno = EEXIST;
            return NULL;
        }
    }
    sigemptyset (&set);
    sigaddset (&set, signum);
    if ((errno = pthread_sigmask (SIG_BLOCK, &set, NULL)) != 0)
        return NULL;
    if (!(w = watcher_new (r, W_SIGNAL, cb, arg)))
        return NULL;
    w->signum = signum;
    w->events = ZPAR_EV_IN;
    if ((w->fd = signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        int e = errno;
        r->n--;
        free (w);
        errno = e;
        return NULL;
    }
    return w;
}

void zpar__watcher_start (zpar_watcher_t *w)
{
    if (!w || w->dead || w->active)
        return;
    w->active = 1;
    if (w->kind != W_TIMER)
        w->r->dirty = 1;
}

void zpar__watcher_stop (zpar_watcher_t *w)
{
    if (!w || !w->active)
        return;
    w->active = 0;
    if (w->kind != W_TIMER)
        w->r->dirty = 1;
}

int zpar__watcher_active (const zpar_watcher_t *w)
{
    return w && w->active;
}

void zpar__watcher_set_events (zpar_watcher_t *w, int events)
{
    if (!w || w->kind == W_TIMER || w->kind == W_SIGNAL || w->events == events)
        return;
    w->events = events;
    if (w->kind == W_ZMQ) {
        /* its fd is watched whatever it wants; ask it again */
        w->r->recheck = 1;
    } else if (w->pollidx >= 0 && (size_t)w->pollidx < w->r->nitems && !w->r->dirty) {
        short ev = 0;
        if (events & ZPAR_EV_IN)
            ev |= POLLIN;
        if (events & ZPAR_EV_OUT)
            ev |= POLLOUT;
        w->r->items[w->pollidx].events = ev;
    } else {
        w->r->dirty = 1;
    }
}

void zpar__timer_watcher_reset (zpar_watcher_t *w, uint64_t after_ms, uint64_t repeat_ms)
{
    if (!w || w->kind != W_TIMER || w->dead)
        return;
    w->due_us = zpar__mono_us () + after_ms * 1000u;
    w->repeat_us = repeat_ms * 1000u;
    w->active = 1;
}

void zpar__watcher_set_arg (zpar_watcher_t *w, void *arg)
{
    if (w)
        w->arg = arg;
}

static void reap_dead (zpar_reactor_t *r)
{
    size_t j = 0;
    if (!r->ndead)
        return;
    for (size_t i = 0; i < r->n; i++) {
        if (r->w[i]->dead)
            watcher_free (r->w[i]);
        else
            r->w[j++] = r->w[i];
    }
    r->n = j;
    r->ndead = 0;
    r->dirty = 1;
}

void zpar__watcher_destroy (zpar_watcher_t *w)
{
    int saved = errno;
    zpar_reactor_t *r;
    if (!w || w->dead)
        return;
    r = w->r;
    zpar__watcher_stop (w);
    w->dead = 1;
    r->ndead++;
    r->dirty = 1;
    if (r->depth == 0)
        reap_dead (r);
    errno = saved;
}

static int rebuild (zpar_reactor_t *r)
{
    size_t k = 0;
    if (r->cap > r->itemcap) {
        struct pollfd *it = realloc (r->items, r->cap * sizeof (*it));
        zpar_watcher_t **iw;
        int *zr;
        if (!it)
            return -1;
        r->items = it;
        if (!(iw = realloc (r->itemw, r->cap * sizeof (*iw))))
            return -1;
        r->itemw = iw;
        if (!(zr = realloc (r->zready, r->cap * sizeof (*zr))))
            return -1;
        r->zready = zr;
        r->itemcap = r->cap;
    }
    for (size_t i = 0; i < r->n; i++) {
        zpar_watcher_t *w = r->w[i];
        w->pollidx = -1;
        if (!w->active || w->dead || w->kind == W_TIMER)
            continue;
        memset (&r->items[k], 0, sizeof (r->items[k]));
        r->items[k].fd = w->fd;
        if (w->kind == W_ZMQ)
            r->items[k].events = POLLIN; /* ZMQ_FD: "look again" */
        if (w->kind != W_ZMQ && (w->events & ZPAR_EV_IN))
            r->items[k].events |= POLLIN;
        if (w->kind != W_ZMQ && (w->events & ZPAR_EV_OUT))
            r->items[k].events |= POLLOUT;
        r->zready[k] = 0;
        r->itemw[k] = w;
        w->pollidx = (int)k;
        k++;
    }
    r->nitems = k;
    r->dirty = 0;
    r->recheck = 1;
    return 0;
}

/* Milliseconds until the first active timer is due (-1: no timer). */
static long next_timer_ms (zpar_reactor_t *r, int *any_active)
{
    uint64_t first = UINT64_MAX;
    for (size_t i = 0; i < r->n; i++) {
        zpar_watcher_t *w = r->w[i];
        if (!w->active || w->dead)
            continue;
        *any_active = 1;
        if (w->kind == W_TIMER && w->due_us < first)
            first = w->due_us;
    }
    if (first == UINT64_MAX)
        return -1;
    if (first <= r->now_us)
        return 0;
    return (long)((first - r->now_us + 999) / 1000);
}

static int fire_signal (zpar_watcher_t *w)
{
    struct signalfd_siginfo si;
    int calls = 0;
    while (read (w->fd, &si, sizeof (si)) == (ssize_t)sizeof (si)) {
        if (!w->active || w->dead)
            break;
        w->cb (w->r, w, (int)si.ssi_signo, w->arg);
        calls++;
    }
    return calls;
}

/* The ZPAR_EV_* a zmq watcher wants that its socket has now (ZMQ_EVENTS),
 * -1 with errno if libzmq fails (ETERM: its context is ending). */
static int zmq_ready (zpar_watcher_t *w)
{
    uint32_t ev = 0;
    size_t len = sizeof (ev);
    int rev = 0;
    if (zmq_getsockopt (w->sock, ZMQ_EVENTS, &ev, &len) < 0)
        return -1;
    if ((ev & ZMQ_POLLIN) && (w->events & ZPAR_EV_IN))
        rev |= ZPAR_EV_IN;
    if ((ev & ZMQ_POLLOUT) && (w->events & ZPAR_EV_OUT))
        rev |= ZPAR_EV_OUT;
    return rev;
}

static int dispatch (zpar_reactor_t *r)
{
    int calls = 0;
    size_t nitems = r->nitems;
    r->depth++;
    /* io watchers first, in poll-set order */
    for (size_t k = 0; k < nitems; k++) {
        struct pollfd *it = &r->items[k];
        zpar_watcher_t *w = r->itemw[k];
        int rev = 0;
        if (w->kind == W_ZMQ) {
            rev = r->zready[k];
            r->zready[k] = 0;
        } else if (it->revents) {
            if (it->revents & POLLIN)
                rev |= ZPAR_EV_IN;
            if (it->revents & POLLOUT)
                rev |= ZPAR_EV_OUT;
            if (it->revents & ~(POLLIN | POLLOUT | POLLPRI))
                rev |= ZPAR_EV_ERR;
        }
        it->revents = 0;
        if (!rev || !w->active || w->dead)
            continue;
        if (w->kind == W_SIGNAL) {
            calls += fire_signal (w);
        } else {
            w->cb (r, w, rev, w->arg);
            calls++;
        }
        if (r->stop)
            break;
    }
    /* what a stop left undispatched is asked again next time */
    if (nitems)
        memset (r->zready, 0, nitems * sizeof (*r->zready));
    /* then timers that are due (n may grow while we call: new timers wait
     * for the next iteration) */
    if (!r->stop) {
        size_t n = r->n;
        zpar__reactor_now_update (r);
        for (size_t i = 0; i < n; i++) {
            zpar_watcher_t *w = r->w[i];
            if (w->kind != W_TIMER || !w->active || w->dead || w->due_us > r->now_us)
                continue;
            if (w->repeat_us) {
                w->due_us += w->repeat_us;
                if (w->due_us <= r->now_us) /* we fell behind: no burst */
                    w->due_us = r->now_us + w->repeat_us;
            } else {
                w->active = 0;
            }
            w->cb (r, w, 0, w->arg);
            calls++;
            if (r->stop)
                break;
        }
    }
    r->depth--;
    if (r->depth == 0)
        reap_dead (r);
    /* the callbacks may have used any socket: ask them all again before
     * the next wait */
    if (calls)
        r->recheck = 1;
    return calls;
}

static int iterate (zpar_reactor_t *r, long timeout_ms, int *idle)
{
    int any = 0, n, ready = 0;
    long tmo;
    zpar__reactor_now_update (r);
    if (r->dirty && rebuild (r) < 0)
        return -1;
    tmo = next_timer_ms (r, &any);
    *idle = !any;
    if (!any) {
        if (timeout_ms > 0)
            (void)poll (NULL, 0, (int)timeout_ms);
        return 0;
    }
    if (timeout_ms >= 0 && (tmo < 0 || timeout_ms < tmo))
        tmo = timeout_ms;
    if (r->recheck) {
        r->recheck = 0;
        for (size_t k = 0; k < r->nitems; k++) {
            int rev = 0;
            if (r->itemw[k]->kind == W_ZMQ && (rev = zmq_ready (r->itemw[k])) < 0) {
                r->recheck = 1;
                return -1;
            }
            r->zready[k] = rev;
            ready |= rev;
        }
        if (ready)
            tmo = 0;
    }
    if (tmo > INT32_MAX)
        tmo = INT32_MAX;
    n = poll (r->nitems ? r->items : NULL, (nfds_t)r->nitems, (int)tmo);
    if (n < 0) {
        if (errno != EINTR)
            return -1;
        if (!ready)
            return 0;
        n = 0;
        for (size_t k = 0; k < r->nitems; k++)
            r->items[k].revents = 0;
    }
    /* a zmq socket whose fd signalled: its pending commands change what
     * it has */
    for (size_t k = 0; n > 0 && k < r->nitems; k++) {
        int rev;
        if (!r->items[k].revents)
            continue;
        n--;
        if (r->itemw[k]->kind != W_ZMQ)
            continue;
        if ((rev = zmq_ready (r->itemw[k])) < 0) {
            r->recheck = 1;
            return -1;
        }
        r->zready[k] = rev;
    }
    return dispatch (r);
}

int zpar__reactor_run_once (zpar_reactor_t *r, long timeout_ms)
{
    int idle;
    if (!r) {
        errno = EINVAL;
        return -1;
    }
    /* the caller's own code may have used the sockets since */
    r->recheck = 1;
    return iterate (r, timeout_ms, &idle);
}

int zpar__reactor_run (zpar_reactor_t *r)
{
    if (!r) {
        errno = EINVAL;
        return -1;
    }
    r->stop = 0;
    r->recheck = 1;
    while (!r->stop) {
        int idle;
        if (iterate (r, -1, &idle) < 0)
            return -1;
        if (idle)
            break;
    }
    return 0;
}

static void sigset_zpar (sigset_t *set)
{
    sigemptyset (set);
    sigaddset (set, SIGINT);
    sigaddset (set, SIGTERM);
    sigaddset (set, SIGHUP);
    sigaddset (set, SIGCHLD);
}

int zpar__reactor_block_signals (void)
{
    sigset_t set;
    sigset_zpar (&set);
    if ((errno = pthread_sigmask (SIG_BLOCK, &set, NULL)) != 0)
        return -1;
    return 0;
}

void zpar__reactor_child_sigmask (sigset_t *set)
{
    sigemptyset (set);
}
