/* heart.c - the engine's heartbeat: a thread with its own reactor echoes
 * pings and passes the hub's nudge on; the engine's reactor watches its
 * capture for controller loss.  See heart.h. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "error.h"
#include "heart.h"
#include "keeper.h"
#include "log.h"
#include "netlimit.h"
#include "proto_hb.h"

#define HB_MIN_LIMIT_US 2000000u /* never declare the controller lost sooner */

/* What the heart thread publishes on the capture besides the pings (8
 * bytes each): the hub's nudge, as it came (proto_hb.h), and our own "the
 * silence was ours" (never on the wire). */
#define NUDGE     ZPAR_HB_RREG
#define NUDGE_LEN ZPAR_HB_RREG_LEN
#define GAP       "zparGAP!"

/* What the thread owns once started. */
typedef struct {
    void *sub;     /* hb_ping */
    void *dealer;  /* hb_pong, the routing identity the registrar gave us */
    void *capture; /* PUB -> our SUB */
    void *control; /* PAIR <- our PAIR */
    void *mon;     /* PAIR <- the ping SUB's monitor: connected / disconnected */
    int keeper_fd; /* tick the keeper on every ping (keeper.h), -1: none */
    int gone;      /* the ping connection closed and did not come back */
    int no_hold;   /* zpar_heart_opts_t.no_hold */
    zpar_reactor_t *r;
    uint64_t death_us; /* the hub's death limit: (misses + 0.5) periods */
    unsigned misses;
    uint64_t last_rx;       /* mono us of the last ping received, 0: none yet */
    zpar_proto_ping_t last; /* that ping */
    uint64_t tick_us;       /* the freeze watch's period */
    uint64_t last_tick;     /* mono us of its last tick */
    int frozen;             /* this process did not run for longer than the death limit */
} pulse_t;

struct zpar_heart {
    zpar_reactor_t *reactor;
    pulse_t px;
    pthread_t thread;
    int running;
    void *capture; /* SUB, ours */
    void *control; /* PAIR, ours */
    zpar_watcher_t *w_capture;
    zpar_watcher_t *w_limit;
    uint64_t limit_us;
    uint64_t session;
    uint64_t last_ping;   /* mono us */
    uint64_t quiet_until; /* mono us: nudges before this are for our previous registration */
    int changed;          /* a ping from another session */
    int nudged;           /* the hub asked us to register again */
    int gap;              /* the pings reached us late: we were stopped or cut off */
    int silent;           /* SILENT was reported and no ping came since */
    int lost;             /* the callback was called for a loss (NEW_CONTROLLER, NUDGED) */
    zpar_heart_lost_f cb;
    void *arg;
};

static atomic_uint heart_gen;

static void close_sock (void **s)
{
    if (*s) {
        zmq_close (*s);
        *s = NULL;
    }
}

/* ------------------------------------------------------ the heart thread */

static void publish (pulse_t *px, const char *what)
{
    (void)zmq_send (px->capture, what, NUDGE_LEN, ZMQ_DONTWAIT);
}

/* Was the silence before ping p ours?  This process did not run for longer
 * than the hub's death limit (SIGSTOP, a frozen node: the freeze watch saw
 * it), or the limit passed since the previous ping reached us and either
 * the hub sent p on time (it was queued while we did not read, or held up
 * by the network) or more than `misses` pings never reached us (cut off).
 * A hub that was late itself sent p late and one ping only: not our
 * silence. */
static int silence_was_ours (const pulse_t *px, const zpar_proto_ping_t *p, uint64_t now)
{
    uint64_t sent_gap;
    if (px->frozen)
        return 1;
    if (!px->last_rx || now - px->last_rx <= px->death_us || p->session != px->last.session ||
        p->seq <= px->last.seq)
        return 0;
    sent_gap = p->time_us > px->last.time_us ? p->time_us - px->last.time_us : 0;
    return sent_gap < px->death_us || p->seq - px->last.seq > px->misses;
}

/* Pings: echo each at once (nothing else before it), then copy it to the
 * capture and look at the silence before it. */
static void on_ping (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    pulse_t *px = arg;
    zmq_msg_t m, echo;
    (void)r;
    (void)w;
    (void)revents;
    zmq_msg_init (&m);
    while (zmq_msg_recv (&m, px->sub, ZMQ_DONTWAIT) >= 0) {
        zpar_proto_ping_t p;
        uint64_t now;
        zmq_msg_init (&echo);
        if (zmq_msg_copy (&echo, &m) < 0 || zmq_msg_send (&echo, px->dealer, ZMQ_DONTWAIT) < 0)
            zmq_msg_close (&echo);
        if (px->keeper_fd >= 0)
            (void)zpar__keeper_tick_fd (px->keeper_fd); /* the controller was heard */
        now = zpar__mono_us ();
        if (zpar__proto_ping_decode (zmq_msg_data (&m), zmq_msg_size (&m), &p, NULL) == 0) {
            if (silence_was_ours (px, &p, now))
                publish (px, GAP);
            px->frozen = 0;
            px->last = p;
            px->last_rx = now;
        }
        if (zmq_msg_send (&m, px->capture, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&m);
            zmq_msg_init (&m);
        }
    }
    zmq_msg_close (&m);
}

/* What the hub sends on hb_pong: the nudge (one 8-byte frame), passed on;
 * anything else is dropped. */
static void on_pong (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    pulse_t *px = arg;
    char buf[16];
    int n;
    (void)r;
    (void)w;
    (void)revents;
    while ((n = zmq_recv (px->dealer, buf, sizeof (buf), ZMQ_DONTWAIT)) >= 0)
        if (n <= (int)sizeof (buf) && zpar__proto_hb_is_rreg (buf, (size_t)n))
            publish (px, NUDGE);
}

/* The freeze watch: a tick that comes more than the death limit after the
 * one before means the whole process was stopped (every thread is). */
static void on_tick (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    pulse_t *px = arg;
    uint64_t now = zpar__mono_us ();
    (void)r;
    (void)w;
    (void)revents;
    if (px->last_tick && now - px->last_tick > px->death_us)
        px->frozen = 1;
    px->last_tick = now;
}

/* The ping SUB's monitor.  A controller that died closed its TCP
 * connections: DISCONNECTED, and until the next ping (or registration
 * reply) the keeper holds (no fencing: the tasks run on and the next
 * controller adopts them).  A reconnection alone does not end the hold: a
 * TCP connect can succeed with no controller behind it (a listener's
 * backlog as it closes).  A
 * partition or a stopped controller closes nothing: the keeper fences. */
static void on_monitor (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    pulse_t *px = arg;
    zmq_msg_t m;
    (void)r;
    (void)w;
    (void)revents;
    zmq_msg_init (&m);
    while (zmq_msg_recv (&m, px->mon, ZMQ_DONTWAIT) >= 0) {
        int more = zmq_msg_more (&m);
        if (zmq_msg_size (&m) == 6) {
            uint16_t ev;
            memcpy (&ev, zmq_msg_data (&m), sizeof (ev));
            if (ev == ZMQ_EVENT_DISCONNECTED && !px->gone) {
                px->gone = 1;
                if (px->no_hold)
                    zpar__info ("the relay's heartbeat connection closed: the tasks are fenced "
                                "as usual if no ping comes");
                else {
                    if (px->keeper_fd >= 0)
                        (void)zpar__keeper_hold_fd (px->keeper_fd);
                    zpar__info ("the controller's heartbeat connection closed: tasks are not "
                                "fenced until it is back");
                }
            } else if (ev == ZMQ_EVENT_CONNECTED)
                px->gone = 0; /* the hold ends with the next ping, not here: a
                                 connection is not word from a controller */
        }
        /* the second frame (the address) */
        while (more && zmq_msg_recv (&m, px->mon, ZMQ_DONTWAIT) >= 0)
            more = zmq_msg_more (&m);
    }
    zmq_msg_close (&m);
}

static void on_control (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    pulse_t *px = arg;
    char buf[16];
    (void)w;
    (void)revents;
    while (zmq_recv (px->control, buf, sizeof (buf), ZMQ_DONTWAIT) >= 0)
        zpar__reactor_stop (r); /* TERMINATE */
}

static void *heart_main (void *arg)
{
    pulse_t *px = arg;
    zpar_watcher_t *w[5] = {NULL, NULL, NULL, NULL, NULL};
    uint64_t tick_ms = px->tick_us / 1000u ? px->tick_us / 1000u : 1;
    /* the pings first: the reactor serves watchers in the order they were
     * made; the freeze watch before the pings, so that a ping that comes
     * with the first tick after a stop sees it */
    px->last_tick = zpar__mono_us ();
    if (!(w[0] = zpar__timer_watcher_create (px->r, tick_ms, tick_ms, on_tick, px)) ||
        !(w[1] = zpar__zmq_watcher_create (px->r, px->sub, ZPAR_EV_IN, on_ping, px)) ||
        !(w[2] = zpar__zmq_watcher_create (px->r, px->dealer, ZPAR_EV_IN, on_pong, px)) ||
        !(w[3] = zpar__zmq_watcher_create (px->r, px->control, ZPAR_EV_IN, on_control, px)) ||
        !(w[4] = zpar__zmq_watcher_create (px->r, px->mon, ZPAR_EV_IN, on_monitor, px)))
        zpar__err ("heart stopped: out of memory");
    else {
        for (int i = 0; i < 5; i++)
            zpar__watcher_start (w[i]);
        if (zpar__reactor_run (px->r) < 0)
            zpar__err ("heart stopped: %s", zmq_strerror (errno));
    }
    zpar__reactor_destroy (px->r); /* and the watchers */
    px->r = NULL;
    /* the monitor stops first, while its reader is still open: libzmq's
     * I/O thread sends monitor events with a blocking send, and one sent
     * to a monitor whose reader is gone blocks that thread -- and every
     * socket of the context with it -- for good (an engine resumed after
     * SIGSTOP, its connections closing as it registered again, never
     * connected anew) */
    (void)zmq_socket_monitor (px->sub, NULL, 0);
    zmq_close (px->sub);
    zmq_close (px->mon);
    zmq_close (px->dealer);
    zmq_close (px->capture);
    zmq_close (px->control);
    return NULL;
}

/* ------------------------------------------------------ the engine's side */

static void *mksock (void *zctx, int type, const char *ident, size_t ident_len)
{
    int zero = 0;
    void *s = zmq_socket (zctx, type);
    if (!s)
        return NULL;
    (void)zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    if (ident &&
        zmq_setsockopt (s, ZMQ_ROUTING_ID, ident, ident_len ? ident_len : strlen (ident)) < 0) {
        zmq_close (s);
        return NULL;
    }
    /* pings in, nothing in: small messages only */
    if ((type == ZMQ_SUB || type == ZMQ_DEALER) && zpar__netlimit_apply (s, ZPAR_NET_CONTROL) < 0) {
        zmq_close (s);
        return NULL;
    }
    if (type == ZMQ_SUB && zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0) < 0) {
        zmq_close (s);
        return NULL;
    }
    return s;
}

/* Read what the heart thread copied to the capture: pings and notes. */
static void drain (zpar_heart_t *h)
{
    zmq_msg_t m;
    int got = 0;
    zmq_msg_init (&m);
    while (zmq_msg_recv (&m, h->capture, ZMQ_DONTWAIT) >= 0) {
        zpar_proto_ping_t p;
        if (zmq_msg_size (&m) == NUDGE_LEN) {
            if (memcmp (zmq_msg_data (&m), NUDGE, NUDGE_LEN) == 0 &&
                zpar__mono_us () >= h->quiet_until)
                h->nudged = 1;
            else if (memcmp (zmq_msg_data (&m), GAP, NUDGE_LEN) == 0)
                h->gap = 1;
            continue;
        }
        if (h->session &&
            zpar__proto_ping_decode (zmq_msg_data (&m), zmq_msg_size (&m), &p, NULL) == 0 &&
            p.session != h->session) {
            h->changed = 1; /* not a ping of ours: last_ping stays (what we sent since
                               may be lost, zpar__heart_last_ping_us) */
            continue;
        }
        got = 1;
    }
    zmq_msg_close (&m);
    if (got) {
        h->last_ping = zpar__mono_us ();
        h->silent = 0;
    }
}

/* Lost (a new controller, or the hub's nudge)?  Then call back (last: the
 * callback may destroy h).  A silence or a late ping only warns (once per
 * silence): the connection comes back by itself (libzmq reconnects), a new
 * controller shows in the pings, and a hub that declared us dead nudges us;
 * dropping the connection of an engine the hub still counts (a starved
 * machine) would only lose its tasks.  Else wait until the limit comes. */
static void check (zpar_heart_t *h)
{
    uint64_t now = zpar__mono_us (), due = h->last_ping + h->limit_us;

    if (h->lost)
        return;
    if (h->changed || h->nudged) {
        h->lost = 1;
        zpar__watcher_stop (h->w_limit);
        zpar__watcher_stop (h->w_capture);
        h->cb (h, h->changed ? ZPAR_HEART_NEW_CONTROLLER : ZPAR_HEART_NUDGED, h->arg);
        return;
    }
    if (h->gap) {
        h->gap = 0;
        h->cb (h, ZPAR_HEART_RESUMED, h->arg); /* a warning: h lives on */
    }
    if (now > due) {
        if (!h->silent) {
            h->silent = 1;
            h->cb (h, ZPAR_HEART_SILENT, h->arg); /* a warning: h lives on */
        }
        due = now + h->limit_us;
    }
    zpar__timer_watcher_reset (h->w_limit, (due - now) / 1000 + 1, 0);
}

static void on_capture (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_heart_t *h = arg;
    (void)r;
    (void)w;
    (void)revents;
    drain (h);
    if (h->changed || h->nudged || h->gap)
        check (h);
}

static void on_limit (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_heart_t *h = arg;
    (void)r;
    (void)w;
    (void)revents;
    drain (h); /* pings that came while the loop was busy (an inline task) */
    check (h);
}

zpar_heart_t *zpar__heart_create (zpar_reactor_t *r, void *zctx, const zpar_heart_opts_t *o,
                                  zpar_error_t *err)
{
    char cap_ep[64], ctl_ep[64], mon_ep[64];
    zpar_heart_t *h;
    uint64_t period_us;
    unsigned gen, misses;
    int e;

    if (!r || !zctx || !o || !o->ping_addr || !o->pong_addr || !o->ident || !o->lost) {
        zpar__errnoprintf (err, EINVAL, "heart: missing reactor, context, address or callback");
        return NULL;
    }
    if (!(h = calloc (1, sizeof (*h)))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    h->reactor = r;
    h->cb = o->lost;
    h->arg = o->arg;
    h->session = o->session;
    period_us = (o->period_ms ? o->period_ms : 1000) * 1000u;
    misses = o->misses ? o->misses : 3;
    h->limit_us = period_us * misses + period_us;
    h->px.misses = misses;
    h->px.death_us = period_us * misses + period_us / 2;
    h->px.tick_us = period_us / 2;
    if (h->limit_us < HB_MIN_LIMIT_US)
        h->limit_us = HB_MIN_LIMIT_US;

    gen = atomic_fetch_add (&heart_gen, 1);
    snprintf (cap_ep, sizeof (cap_ep), "inproc://zpar-hb-capture-%d-%u", (int)getpid (), gen);
    snprintf (ctl_ep, sizeof (ctl_ep), "inproc://zpar-hb-control-%d-%u", (int)getpid (), gen);
    snprintf (mon_ep, sizeof (mon_ep), "inproc://zpar-hb-monitor-%d-%u", (int)getpid (), gen);
    h->px.keeper_fd = o->keeper_fd > 0 ? o->keeper_fd : -1;
    h->px.no_hold = o->no_hold;
    if (!(h->capture = mksock (zctx, ZMQ_SUB, NULL, 0)) || zmq_bind (h->capture, cap_ep) < 0 ||
        !(h->control = mksock (zctx, ZMQ_PAIR, NULL, 0)) || zmq_bind (h->control, ctl_ep) < 0 ||
        !(h->px.capture = mksock (zctx, ZMQ_PUB, NULL, 0)) ||
        zmq_connect (h->px.capture, cap_ep) < 0 ||
        !(h->px.control = mksock (zctx, ZMQ_PAIR, NULL, 0)) ||
        zmq_connect (h->px.control, ctl_ep) < 0 || !(h->px.sub = mksock (zctx, ZMQ_SUB, NULL, 0)) ||
        zmq_socket_monitor (h->px.sub, mon_ep, ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) < 0 ||
        !(h->px.mon = mksock (zctx, ZMQ_PAIR, NULL, 0)) || zmq_connect (h->px.mon, mon_ep) < 0 ||
        zpar__curve_client (h->px.sub, o->curve, ZPAR_CURVE_ENGINE) < 0 ||
        zmq_connect (h->px.sub, o->ping_addr) < 0 ||
        !(h->px.dealer = mksock (zctx, ZMQ_DEALER, o->ident, o->ident_len)) ||
        zpar__curve_client (h->px.dealer, o->curve, ZPAR_CURVE_ENGINE) < 0 ||
        zmq_connect (h->px.dealer, o->pong_addr) < 0)
        goto error;
    if (!(h->px.r = zpar__reactor_create ()))
        goto error;
    if (!(h->w_capture = zpar__zmq_watcher_create (r, h->capture, ZPAR_EV_IN, on_capture, h)) ||
        !(h->w_limit = zpar__timer_watcher_create (r, h->limit_us / 1000 + 1, 0, on_limit, h)))
        goto error;
    /* the sockets move to the thread (pthread_create is a full barrier);
     * it runs with every signal blocked */
    {
        sigset_t all, old;
        sigfillset (&all);
        pthread_sigmask (SIG_SETMASK, &all, &old);
        e = pthread_create (&h->thread, NULL, heart_main, &h->px);
        pthread_sigmask (SIG_SETMASK, &old, NULL);
        if (e != 0) {
            errno = e;
            goto error;
        }
    }
    h->running = 1;
    h->last_ping = zpar__mono_us ();
    h->quiet_until = h->last_ping + period_us;
    zpar__watcher_start (h->w_capture);
    zpar__watcher_start (h->w_limit);
    return h;
error:
    e = errno;
    zpar__errnoprintf (err, e, "cannot start the heart: %s", zmq_strerror (e));
    if (h->px.sub)
        (void)zmq_socket_monitor (h->px.sub, NULL, 0);
    close_sock (&h->px.sub);
    close_sock (&h->px.mon);
    close_sock (&h->px.dealer);
    close_sock (&h->px.capture);
    close_sock (&h->px.control);
    zpar__reactor_destroy (h->px.r);
    h->px.r = NULL;
    zpar__heart_destroy (h);
    errno = e;
    return NULL;
}

void zpar__heart_destroy (zpar_heart_t *h)
{
    int saved = errno;
    if (!h)
        return;
    if (h->running) {
        /* the pipe exists (inproc, connected before the thread started): this
         * does not block; it fails only when the thread is already gone */
        (void)zmq_send (h->control, "TERMINATE", 9, ZMQ_DONTWAIT);
        pthread_join (h->thread, NULL);
    }
    zpar__watcher_destroy (h->w_capture);
    zpar__watcher_destroy (h->w_limit);
    close_sock (&h->capture);
    close_sock (&h->control);
    free (h);
    errno = saved;
}

uint64_t zpar__heart_last_ping_us (const zpar_heart_t *h)
{
    return h ? h->last_ping : 0;
}

uint64_t zpar__heart_limit_us (const zpar_heart_t *h)
{
    return h ? h->limit_us : 0;
}
