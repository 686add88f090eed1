/* reactor.c - see reactor.h.
 *
 * Watchers live in one array per reactor; the poll set is rebuilt only when
 * a watcher is started, stopped or changed.  Timers are few (a loop has a
 * handful: heartbeat, flush, retry), so the next one is found by a scan.
 * Watchers destroyed from inside a callback are freed once the iteration
 * is over, so that the dispatch loop never touches freed memory.
 */
#include "reactor.h"

#include <errno.h>
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
    int fd; /* fd watchers, and the signalfd of signal watchers */
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
    zmq_pollitem_t *items;
    zpar_watcher_t **itemw; /* watcher of each poll item */
    size_t nitems, itemcap;
    int dirty; /* poll set must be rebuilt */
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
    if (!sock) {
        errno = EINVAL;
        return NULL;
    }
    if (!(w = watcher_new (r, W_ZMQ, cb, arg)))
        return NULL;
    w->sock = sock;
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
    if (w->pollidx >= 0 && (size_t)w->pollidx < w->r->nitems && !w->r->dirty) {
        short ev = 0;
        if (events & ZPAR_EV_IN)
            ev |= ZMQ_POLLIN;
        if (events & ZPAR_EV_OUT)
            ev |= ZMQ_POLLOUT;
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
        zmq_pollitem_t *it = realloc (r->items, r->cap * sizeof (*it));
        zpar_watcher_t **iw;
        if (!it)
            return -1;
        r->items = it;
        if (!(iw = realloc (r->itemw, r->cap * sizeof (*iw))))
            return -1;
        r->itemw = iw;
        r->itemcap = r->cap;
    }
    for (size_t i = 0; i < r->n; i++) {
        zpar_watcher_t *w = r->w[i];
        w->pollidx = -1;
        if (!w->active || w->dead || w->kind == W_TIMER)
            continue;
        memset (&r->items[k], 0, sizeof (r->items[k]));
        if (w->kind == W_ZMQ)
            r->items[k].socket = w->sock;
        else
            r->items[k].fd = w->fd;
        if (w->events & ZPAR_EV_IN)
            r->items[k].events |= ZMQ_POLLIN;
        if (w->events & ZPAR_EV_OUT)
            r->items[k].events |= ZMQ_POLLOUT;
        r->itemw[k] = w;
        w->pollidx = (int)k;
        k++;
    }
    r->nitems = k;
    r->dirty = 0;
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

static int dispatch (zpar_reactor_t *r, int npolled)
{
    int calls = 0;
    size_t nitems = r->nitems;
    r->depth++;
    /* io watchers first, in poll-set order */
    for (size_t k = 0; npolled > 0 && k < nitems; k++) {
        zmq_pollitem_t *it = &r->items[k];
        zpar_watcher_t *w = r->itemw[k];
        int rev = 0;
        if (!it->revents)
            continue;
        if (it->revents & ZMQ_POLLIN)
            rev |= ZPAR_EV_IN;
        if (it->revents & ZMQ_POLLOUT)
            rev |= ZPAR_EV_OUT;
        if (it->revents & ZMQ_POLLERR)
            rev |= ZPAR_EV_ERR;
        it->revents = 0;
        if (!w->active || w->dead)
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
    return calls;
}

static int iterate (zpar_reactor_t *r, long timeout_ms, int *idle)
{
    int any = 0, n;
    long tmo;
    zpar__reactor_now_update (r);
    if (r->dirty && rebuild (r) < 0)
        return -1;
    tmo = next_timer_ms (r, &any);
    *idle = !any;
    if (!any) {
        if (timeout_ms > 0)
            (void)zmq_poll (NULL, 0, timeout_ms);
        return 0;
    }
    if (timeout_ms >= 0 && (tmo < 0 || timeout_ms < tmo))
        tmo = timeout_ms;
    n = zmq_poll (r->nitems ? r->items : NULL, (int)r->nitems, tmo);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return -1;
    }
    return dispatch (r, n);
}

int zpar__reactor_run_once (zpar_reactor_t *r, long timeout_ms)
{
    int idle;
    if (!r) {
        errno = EINVAL;
        return -1;
    }
    return iterate (r, timeout_ms, &idle);
}

int zpar__reactor_run (zpar_reactor_t *r)
{
    if (!r) {
        errno = EINVAL;
        return -1;
    }
    r->stop = 0;
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
