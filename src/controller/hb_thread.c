/* hb_thread.c - the heartbeat thread: pings out, pongs in, suspects and
 * deaths to the hub.  See hb_thread.h. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "error.h"
#include "hb_thread.h"
#include "heartbeat.h"
#include "log.h"
#include "proto_hb.h"
#include "reactor.h"
#include "sockutil.h"
#include "zrouter.h"

#define DRAIN_MAX 4096
/* A closed connection (the kernel's word): ping again this long after it
 * (libzmq reconnects a live engine within 100 ms), then give the engine
 * probe_wait_us to answer. */
#define PROBE_AFTER_MS 200u
/* Pongs are read at most this often (and at every tick): with thousands
 * of engines their echoes trickle in after each ping, and a wake-up per
 * few pongs cost more than the pongs (doc/benchmarks.md, "Issue 11"). */
#define PONG_BATCH_MS 50u
/* Log at most one "late" line per this many microseconds. */
#define LATE_LOG_US 10000000u

struct zpar_hb_thread {
    void *ping;     /* PUB, bound: a zrouter (zrouter.h) or libzmq's */
    void *pong;     /* ROUTER, bound: the same */
    void *pipe;     /* the thread's end */
    void *pipe_hub; /* the hub's end */
    void *mon;      /* PAIR: the pong socket's monitor events (libzmq's) */
    zpar_heartbeat_t *hb;
    zpar_reactor_t *r;
    uint64_t session;
    int period_ms;
    uint64_t last_tick_us;
    uint64_t late_logged_us;
    uint64_t late_max_us; /* the worst lateness since the last line */
    uint32_t collective;  /* engines silent together at the last tick (0: no) */
    uint32_t *gen;        /* gen[engine]: of the WATCH being served (0: none) */
    uint64_t *closed_at;  /* closed_at[engine]: when its connection closed (0: open) */
    uint32_t ngen;
    zpar_watcher_t *w_probe;      /* the closed connections' probe */
    uint64_t probe_ping_us;       /* when the probe ping of this round went (0: not yet) */
    uint64_t probe_wait_us;       /* how long an engine has to answer it */
    zpar_watcher_t *w_hello;      /* a ping soon after an engine is watched */
    zpar_watcher_t *w_pong;       /* the pong socket (stopped for PONG_BATCH_MS after a read) */
    zpar_watcher_t *w_pong_again; /* restarts it */
    pthread_t tid;
    int started;
    zpar_heartbeat_pongs_t st;                   /* thread-local tally */
    uint64_t pongs, dropped, nudged, late_ticks; /* published atomically */
    int nudge;                                   /* set by the owner, read atomically */
};

static void publish (zpar_hb_thread_t *t)
{
    __atomic_store_n (&t->pongs, t->st.received, __ATOMIC_RELAXED);
    __atomic_store_n (&t->dropped, t->st.dropped, __ATOMIC_RELAXED);
    __atomic_store_n (&t->nudged, t->st.nudged, __ATOMIC_RELAXED);
}

static uint32_t gen_of (const zpar_hb_thread_t *t, zpar_eid_t e)
{
    return e.v < t->ngen ? t->gen[e.v] : 0;
}

static int set_gen (zpar_hb_thread_t *t, uint32_t engine, uint32_t gen)
{
    if (engine >= t->ngen) {
        uint32_t n = t->ngen ? t->ngen : 64;
        uint32_t *ng;
        uint64_t *nc;
        while (n <= engine)
            n *= 2;
        if (!(ng = realloc (t->gen, n * sizeof (*ng))))
            return -1;
        t->gen = ng;
        if (!(nc = realloc (t->closed_at, n * sizeof (*nc))))
            return -1;
        t->closed_at = nc;
        memset (ng + t->ngen, 0, (n - t->ngen) * sizeof (*ng));
        memset (nc + t->ngen, 0, (n - t->ngen) * sizeof (*nc));
        t->ngen = n;
    }
    t->gen[engine] = gen;
    t->closed_at[engine] = 0;
    return 0;
}

/* A watched engine's connection closed: probe it (on_probe). */
static void probe_arm (zpar_hb_thread_t *t, uint32_t engine)
{
    if (engine >= t->ngen || !t->gen[engine] || !t->w_probe)
        return;
    t->closed_at[engine] = zpar__reactor_now_us (t->r);
    if (!zpar__watcher_active (t->w_probe))
        zpar__timer_watcher_reset (t->w_probe, PROBE_AFTER_MS, 0);
}

/* An event of heartbeat.c: to the hub.  The pipe is inproc without a
 * high-water mark (zpar__bind_socket): thousands of engines may die or
 * come at once, and an event lost would leave its engine alive in the hub
 * (test_hb_thread_flood); an event that cannot be queued (out of memory)
 * is logged. */
static void on_event (void *arg, zpar_eid_t engine, zpar_heartbeat_event_t ev, uint64_t silent_us,
                      uint64_t missed)
{
    zpar_hb_thread_t *t = arg;
    zpar_hb_pipe_msg_t m = {
        .engine = engine.v,
        .gen = gen_of (t, engine),
        .silent_ms = silent_us / 1000u > UINT32_MAX ? UINT32_MAX : (uint32_t)(silent_us / 1000u),
        .missed = missed > UINT32_MAX ? UINT32_MAX : (uint32_t)missed,
    };
    m.kind = ev == ZPAR_HEARTBEAT_SLOW      ? ZPAR_HB_PIPE_SLOW
             : ev == ZPAR_HEARTBEAT_DEAD    ? ZPAR_HB_PIPE_DEAD
             : ev == ZPAR_HEARTBEAT_CLOSED  ? ZPAR_HB_PIPE_CLOSED
             : ev == ZPAR_HEARTBEAT_REVIVED ? ZPAR_HB_PIPE_REVIVED
                                            : ZPAR_HB_PIPE_SUSPECT;
    /* CLOSED leaves it watched: the hub may find its process gone (an
     * engine of this host), else the probe decides */
    if (ev == ZPAR_HEARTBEAT_DEAD)
        (void)set_gen (t, engine.v, 0);
    else if (ev == ZPAR_HEARTBEAT_CLOSED)
        probe_arm (t, engine.v);
    if (zpar__hb_pipe_send (t->pipe, &m, ZMQ_DONTWAIT) < 0)
        zpar__err ("heartbeat: cannot tell the hub about engine %u: %s", engine.v,
                   zmq_strerror (errno));
}

static void read_pongs (zpar_hb_thread_t *t);

/* A ping PROBE_AFTER_MS after engines were watched (registered): the echo
 * tells which connection is theirs, so that a close is known from their
 * first moments, not only after their first regular ping. */
static void on_hello (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_hb_thread_t *t = arg;
    uint64_t now = zpar__reactor_now_us (r);
    (void)w, (void)revents;
    if (zpar__heartbeat_send_ping (t->hb, t->ping, t->session, now, zpar__now_us ()) < 0 &&
        errno != EAGAIN)
        zpar__warn ("heartbeat: cannot send a ping: %s", zmq_strerror (errno));
}

/* The closed connections' probe, in rounds: a ping PROBE_AFTER_MS after
 * the first close of the round, then, probe_wait_us later, every engine
 * whose connection closed before that ping and that answered nothing on
 * another connection since is GONE: its process ended (the kernel closed
 * its connection) or it cannot reach us any more.  An engine that closed
 * its own connection to register again, or that libzmq reconnected,
 * answers the ping.  Engines closed during a round wait for the next. */
static void on_probe (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_hb_thread_t *t = arg;
    uint64_t now = zpar__reactor_now_us (r);
    int later = 0;
    (void)revents;
    if (!t->probe_ping_us) {
        t->probe_ping_us = now;
        if (zpar__heartbeat_send_ping (t->hb, t->ping, t->session, now, zpar__now_us ()) < 0 &&
            errno != EAGAIN)
            zpar__warn ("heartbeat: cannot send a ping: %s", zmq_strerror (errno));
        zpar__timer_watcher_reset (w, t->probe_wait_us / 1000u, 0);
        return;
    }
    read_pongs (t); /* what came meanwhile */
    for (uint32_t e = 1; e < t->ngen; e++) {
        uint64_t silent = 0;
        zpar_hb_pipe_msg_t m = {.kind = ZPAR_HB_PIPE_GONE, .engine = e};
        if (!t->closed_at[e])
            continue;
        if (!t->gen[e] || !zpar__heartbeat_is_closed (t->hb, zpar__eid (e), &silent, now)) {
            t->closed_at[e] = 0; /* not watched, or it answered on a new connection */
            continue;
        }
        if (t->closed_at[e] > t->probe_ping_us) {
            later = 1;
            continue;
        }
        m.gen = t->gen[e];
        m.silent_ms = (uint32_t)(silent / 1000u > UINT32_MAX ? UINT32_MAX : silent / 1000u);
        t->closed_at[e] = 0; /* still watched: the hub decides (and unwatches) */
        if (zpar__hb_pipe_send (t->pipe, &m, ZMQ_DONTWAIT) < 0)
            zpar__err ("heartbeat: cannot tell the hub about engine %u: %s", e,
                       zmq_strerror (errno));
    }
    t->probe_ping_us = 0;
    if (later)
        zpar__timer_watcher_reset (w, PROBE_AFTER_MS, 0);
}

/* The kernel's word: does process pid of this host exist and run (R, S,
 * D, I: not stopped, traced, a zombie or gone)? */
static int process_runs (void *arg, uint32_t pid)
{
    char path[64], buf[512], *p;
    FILE *f;
    size_t n;
    (void)arg;
    snprintf (path, sizeof (path), "/proc/%u/stat", pid);
    if (!(f = fopen (path, "r")))
        return 0;
    n = fread (buf, 1, sizeof (buf) - 1, f);
    fclose (f);
    buf[n] = '\0';
    if (!(p = strrchr (buf, ')')) || p[1] != ' ')
        return 0;
    return p[2] == 'R' || p[2] == 'S' || p[2] == 'D' || p[2] == 'I';
}

/* What the hub said (WATCH, UNWATCH, TERM), all of it: called before the
 * pongs are read, so that an engine that registered is watched before its
 * first pong is judged (in a start storm thousands of WATCHes wait in the
 * pipe while the engines' pongs come in: read first, they were answered
 * with the nudge, and the engines registered again). */
static void apply_pipe (zpar_hb_thread_t *t)
{
    zpar_reactor_t *r = t->r;
    for (;;) {
        zpar_hb_pipe_msg_t m;
        zpar_error_t err;
        if (zpar__hb_pipe_recv (t->pipe, &m, ZMQ_DONTWAIT, &err) < 0) {
            if (errno == EPROTO) {
                zpar__warn ("heartbeat: bad message from the hub: %s", err.text);
                continue;
            }
            break;
        }
        switch (m.kind) {
        case ZPAR_HB_PIPE_WATCH:
            if (zpar__heartbeat_watch (t->hb, zpar__eid (m.engine), zpar__reactor_now_us (r)) < 0 ||
                zpar__heartbeat_set_route (t->hb, &m.route) < 0 ||
                zpar__heartbeat_set_pid (t->hb, zpar__eid (m.engine), m.pid) < 0 ||
                set_gen (t, m.engine, m.gen) < 0)
                zpar__err ("heartbeat: cannot watch engine %u: %s", m.engine, strerror (errno));
            /* a ping soon (on_hello) */
            else if (t->w_hello && !zpar__watcher_active (t->w_hello))
                zpar__timer_watcher_reset (t->w_hello, PROBE_AFTER_MS, 0);
            break;
        case ZPAR_HB_PIPE_UNWATCH:
            (void)zpar__heartbeat_unwatch (t->hb, zpar__eid (m.engine));
            (void)set_gen (t, m.engine, 0);
            break;
        case ZPAR_HB_PIPE_TERM:
            zpar__reactor_stop (r);
            return;
        default:
            zpar__warn ("heartbeat: unexpected %d from the hub", (int)m.kind);
            break;
        }
    }
}

/* The kernel's word: connections closed (as zpar__heartbeat_pong_fd
 * named them).  It is news now, not at the next tick: the hub looks for
 * the process (an engine of this host), the probe does the rest. */
static void conns_closed (zpar_hb_thread_t *t, const int *fds, int n)
{
    int closed = 0;
    for (int k = 0; k < n; k++)
        if (zpar__heartbeat_closed (t->hb, fds[k]) > 0) {
            zpar__debug ("heartbeat: connection %d closed", fds[k]);
            closed++;
        }
    if (closed)
        (void)zpar__heartbeat_check (t->hb, zpar__reactor_now_us (t->r), on_event, t);
}

static void read_pongs (zpar_hb_thread_t *t)
{
    zpar_zrouter_t *z = zpar__zrouter_of (t->pong);
    int fds[256], n;
    if (zpar__zrouter_io (z) < 0)
        zpar__warn ("heartbeat: pong connections: %s", strerror (errno));
    apply_pipe (t);
    zpar__heartbeat_set_nudge (t->hb, __atomic_load_n (&t->nudge, __ATOMIC_RELAXED));
    (void)zpar__heartbeat_recv_pongs (t->hb, t->pong, DRAIN_MAX, zpar__reactor_now_us (t->r),
                                      on_event, t, &t->st);
    publish (t);
    /* zpar's own pong socket: the connections closed since, once their
     * last pongs were read (they tell which engine each was) */
    while ((n = zpar__zrouter_closed (z, fds, (int)(sizeof (fds) / sizeof (fds[0])))) > 0)
        conns_closed (t, fds, n);
    zpar__zrouter_done (z);
}

static void on_pong (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_hb_thread_t *t = arg;
    read_pongs (t);
    /* the next ones in a while, together */
    if (t->w_pong_again) {
        zpar__watcher_stop (w);
        zpar__timer_watcher_reset (t->w_pong_again, PONG_BATCH_MS, 0);
    }
    (void)r, (void)revents;
}

static void on_pong_again (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_hb_thread_t *t = arg;
    read_pongs (t);
    zpar__watcher_start (t->w_pong);
    (void)r, (void)w, (void)revents;
}

/* The ping socket, when zpar does its I/O: connections, subscriptions,
 * what waits to be written. */
static void on_ping_io (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_hb_thread_t *t = arg;
    zpar_zrouter_t *z = zpar__zrouter_of (t->ping);
    if (zpar__zrouter_io (z) < 0)
        zpar__warn ("heartbeat: ping connections: %s", strerror (errno));
    zpar__zrouter_done (z);
    (void)r, (void)w, (void)revents;
}

/* libzmq's pong socket's monitor: [u16 event, u32 value (the fd)],
 * [endpoint]. */
static void on_mon (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_hb_thread_t *t = arg;
    int nfds = 0;
    int fds[DRAIN_MAX];
    for (int k = 0; k < DRAIN_MAX; k++) {
        zmq_msg_t f;
        uint16_t ev = 0;
        uint32_t fd = 0;
        int more;
        zmq_msg_init (&f);
        if (zmq_msg_recv (&f, t->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&f);
            break;
        }
        if (zmq_msg_size (&f) == 6) {
            memcpy (&ev, zmq_msg_data (&f), 2);
            memcpy (&fd, (const uint8_t *)zmq_msg_data (&f) + 2, 4);
        }
        more = zmq_msg_more (&f);
        zmq_msg_close (&f);
        while (more) {
            zmq_msg_init (&f);
            if (zmq_msg_recv (&f, t->mon, ZMQ_DONTWAIT) < 0)
                more = 0;
            else
                more = zmq_msg_more (&f);
            zmq_msg_close (&f);
        }
        if (ev == ZMQ_EVENT_DISCONNECTED && fd <= INT32_MAX)
            fds[nfds++] = (int)fd;
    }
    if (!nfds)
        return;
    /* first the pongs still queued (they are read in batches): the last
     * ones may have come on the connection that just closed, and they
     * tell which engine it was */
    read_pongs (t);
    conns_closed (t, fds, nfds);
    (void)r, (void)w, (void)revents;
}

static void on_pipe (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    apply_pipe (arg);
    (void)r, (void)w, (void)revents;
}

static void on_tick (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_hb_thread_t *t = arg;
    uint64_t now = zpar__reactor_now_us (r), period = (uint64_t)t->period_ms * 1000u;

    /* what the engines said while we waited, before judging them */
    read_pongs (t);
    if (t->last_tick_us && now - t->last_tick_us > period + period / 2) {
        uint64_t late = now - t->last_tick_us - period;
        __atomic_add_fetch (&t->late_ticks, 1, __ATOMIC_RELAXED);
        zpar__heartbeat_excuse (t->hb, late, now);
        if (late > t->late_max_us)
            t->late_max_us = late;
        if (now - t->late_logged_us >= LATE_LOG_US) {
            zpar__warn ("heartbeat: the controller ran %.1f s late (this machine is overloaded?): "
                        "engines are not blamed for that time",
                        (double)t->late_max_us / 1e6);
            t->late_logged_us = now;
            t->late_max_us = 0;
        }
    }
    t->last_tick_us = now;
    (void)zpar__heartbeat_check (t->hb, now, on_event, t);
    {
        uint32_t c = zpar__heartbeat_collective (t->hb);
        if (c && !t->collective)
            zpar__warn ("heartbeat: %u engines fell silent together: more likely this machine or "
                        "its network than the engines; none is declared dead on silence before "
                        "%d times the limit (%.1f s)",
                        c, ZPAR_HEARTBEAT_COLLECTIVE_FACTOR,
                        ZPAR_HEARTBEAT_COLLECTIVE_FACTOR * (zpar__heartbeat_misses (t->hb) + 0.5) *
                            t->period_ms / 1e3);
        else if (!c && t->collective)
            zpar__info ("heartbeat: the collective silence is over");
        t->collective = c;
    }
    if (zpar__heartbeat_send_ping (t->hb, t->ping, t->session, now, zpar__now_us ()) < 0 &&
        errno != EAGAIN)
        zpar__warn ("heartbeat: cannot send a ping: %s", zmq_strerror (errno));
    (void)w, (void)revents;
}

static void *hb_main (void *arg)
{
    zpar_hb_thread_t *t = arg;
    zpar_watcher_t *wp = NULL, *wq = NULL, *wt = NULL, *wm = NULL, *wi = NULL;
    (void)pthread_setname_np (pthread_self (), "zpar-hb");
    if (!(wp = zpar__sock_watcher_create (t->r, t->pong, on_pong, t)) ||
        (zpar__zrouter_of (t->ping) &&
         !(wi = zpar__sock_watcher_create (t->r, t->ping, on_ping_io, t))) ||
        (t->mon && !(wm = zpar__zmq_watcher_create (t->r, t->mon, ZPAR_EV_IN, on_mon, t))) ||
        !(wq = zpar__zmq_watcher_create (t->r, t->pipe, ZPAR_EV_IN, on_pipe, t)) ||
        !(wt = zpar__timer_watcher_create (t->r, 0, (uint64_t)t->period_ms, on_tick, t)) ||
        !(t->w_probe = zpar__timer_watcher_create (t->r, PROBE_AFTER_MS, 0, on_probe, t)) ||
        !(t->w_hello = zpar__timer_watcher_create (t->r, PROBE_AFTER_MS, 0, on_hello, t)) ||
        !(t->w_pong_again =
              zpar__timer_watcher_create (t->r, PONG_BATCH_MS, 0, on_pong_again, t))) {
        zpar__err ("heartbeat: cannot set up its loop: %s", strerror (errno));
        /* still wait for the stop, so that the owner's join returns */
        for (;;) {
            zpar_hb_pipe_msg_t m;
            if (zpar__hb_pipe_recv (t->pipe, &m, 0, NULL) == 0 && m.kind == ZPAR_HB_PIPE_TERM)
                break;
            if (errno == ETERM)
                break;
        }
    } else {
        t->w_pong = wp;
        zpar__watcher_start (wp);
        zpar__watcher_start (wq);
        zpar__watcher_start (wt);
        if (wm)
            zpar__watcher_start (wm);
        if (wi)
            zpar__watcher_start (wi);
        if (zpar__reactor_run (t->r) < 0)
            zpar__err ("heartbeat: loop failed: %s", strerror (errno));
    }
    zpar__watcher_destroy (wp);
    zpar__watcher_destroy (wq);
    zpar__watcher_destroy (wt);
    zpar__watcher_destroy (wm);
    zpar__watcher_destroy (wi);
    zpar__watcher_destroy (t->w_probe);
    t->w_probe = NULL;
    zpar__watcher_destroy (t->w_hello);
    t->w_hello = NULL;
    zpar__watcher_destroy (t->w_pong_again);
    t->w_pong_again = NULL;
    t->w_pong = NULL;
    publish (t);
    return NULL;
}

zpar_hb_thread_t *zpar__hb_thread_start (void *ctx, void *sock_ctx, void **ping, void **pong,
                                         int period_ms, int misses, uint64_t session,
                                         zpar_error_t *err)
{
    zpar_hb_thread_t *t;
    char ep[64];
    int zero = 0;
    void *pi = ping ? *ping : NULL, *po = pong ? *pong : NULL;
    if (ping)
        *ping = NULL;
    if (pong)
        *pong = NULL;
    if (!ctx || !sock_ctx || !pi || !po || period_ms <= 0 || misses <= 0 ||
        misses > ZPAR_HEARTBEAT_MAX_MISSES) {
        zpar__close_socket (pi);
        zpar__close_socket (po);
        zpar__errnoprintf (err, EINVAL, "heartbeat thread: invalid argument");
        return NULL;
    }
    if (!(t = calloc (1, sizeof (*t)))) {
        zpar__close_socket (pi);
        zpar__close_socket (po);
        zpar__errprintf (err, "out of memory");
        return NULL;
    }
    t->ping = pi;
    t->pong = po;
    t->session = session;
    t->period_ms = period_ms;
    t->nudge = 1;
    /* an engine that lives answers the probe in a round trip; a busy one
     * gets a period (at least 0.5 s, at most 2 s) */
    t->probe_wait_us = (uint64_t)(period_ms < 500    ? 500
                                  : period_ms > 2000 ? 2000
                                                     : period_ms) *
                       1000u;
    if (!(t->hb = zpar__heartbeat_create (period_ms, misses)) ||
        !(t->r = zpar__reactor_create ())) {
        zpar__errprintf (err, "heartbeat thread: %s", strerror (errno));
        goto error;
    }
    zpar__heartbeat_set_alive (t->hb, process_runs, NULL);
    snprintf (ep, sizeof (ep), "inproc://zpar-hb-%p", (void *)t);
    if (!(t->pipe = zpar__bind_socket (ctx, ZMQ_PAIR, ep, sizeof (ep), err)))
        goto error;
    if (!(t->pipe_hub = zmq_socket (ctx, ZMQ_PAIR)) ||
        zmq_setsockopt (t->pipe_hub, ZMQ_LINGER, &zero, sizeof (zero)) < 0 ||
        zmq_connect (t->pipe_hub, ep) < 0) {
        zpar__errprintf (err, "cannot connect the heartbeat pipe: %s", zmq_strerror (errno));
        goto error;
    }
    /* the kernel's word on closed connections (best effort: without it,
     * deaths are found by silence alone): zpar's own socket tells it, a
     * libzmq one through its monitor */
    snprintf (ep, sizeof (ep), "inproc://zpar-hb-mon-%p", (void *)t);
    if (zpar__zrouter_of (t->pong))
        zpar__zrouter_track_closed (zpar__zrouter_of (t->pong), 1);
    else if (zmq_socket_monitor (t->pong, ep, ZMQ_EVENT_DISCONNECTED) == 0 &&
             (t->mon = zmq_socket (sock_ctx, ZMQ_PAIR)) &&
             (zmq_setsockopt (t->mon, ZMQ_LINGER, &zero, sizeof (zero)) < 0 ||
              zmq_connect (t->mon, ep) < 0)) {
        zpar__warn ("heartbeat: no monitor of closed connections: %s", zmq_strerror (errno));
        zpar__close_socket (t->mon);
        t->mon = NULL;
    }
    if ((errno = pthread_create (&t->tid, NULL, hb_main, t)) != 0) {
        zpar__errprintf (err, "cannot start the heartbeat thread: %s", strerror (errno));
        goto error;
    }
    t->started = 1;
    return t;
error:
    zpar__hb_thread_stop (t);
    return NULL;
}

void zpar__hb_thread_set_nudge (zpar_hb_thread_t *t, int on)
{
    if (t)
        __atomic_store_n (&t->nudge, on ? 1 : 0, __ATOMIC_RELAXED);
}

void *zpar__hb_thread_pipe (zpar_hb_thread_t *t)
{
    return t ? t->pipe_hub : NULL;
}

void zpar__hb_thread_stop (zpar_hb_thread_t *t)
{
    int saved = errno;
    if (!t)
        return;
    if (t->started) {
        zpar_hb_pipe_msg_t m = {.kind = ZPAR_HB_PIPE_TERM};
        (void)zpar__hb_pipe_send (t->pipe_hub, &m, 0);
        pthread_join (t->tid, NULL);
    }
    zpar__close_socket (t->ping);
    if (t->pong && !zpar__zrouter_of (t->pong))
        (void)zmq_socket_monitor (t->pong, NULL, 0);
    zpar__close_socket (t->pong);
    zpar__close_socket (t->mon);
    zpar__close_socket (t->pipe);
    zpar__close_socket (t->pipe_hub);
    zpar__reactor_destroy (t->r);
    zpar__heartbeat_destroy (t->hb);
    free (t->gen);
    free (t->closed_at);
    free (t);
    errno = saved;
}

uint64_t zpar__hb_thread_pongs (const zpar_hb_thread_t *t)
{
    return t ? __atomic_load_n (&t->pongs, __ATOMIC_RELAXED) : 0;
}

uint64_t zpar__hb_thread_dropped (const zpar_hb_thread_t *t)
{
    return t ? __atomic_load_n (&t->dropped, __ATOMIC_RELAXED) : 0;
}

uint64_t zpar__hb_thread_nudged (const zpar_hb_thread_t *t)
{
    return t ? __atomic_load_n (&t->nudged, __ATOMIC_RELAXED) : 0;
}

uint64_t zpar__hb_thread_late_ticks (const zpar_hb_thread_t *t)
{
    return t ? __atomic_load_n (&t->late_ticks, __ATOMIC_RELAXED) : 0;
}
