/* heart.c - the engine's heartbeat: a proxy thread echoes pings, the
 * reactor watches its capture for controller loss.  See heart.h. */
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
#include "log.h"
#include "netlimit.h"
#include "proto_hb.h"

#define HB_MIN_LIMIT_US 2000000u /* never declare the controller lost sooner */

/* What the thread owns once started. */
typedef struct {
    void *sub;     /* hb_ping */
    void *dealer;  /* hb_pong, the routing identity the registrar gave us */
    void *capture; /* PUB -> our SUB */
    void *control; /* PAIR <- our PAIR */
} proxy_t;

struct zpar_heart {
    zpar_reactor_t *reactor;
    proxy_t px;
    pthread_t thread;
    int running;
    void *capture; /* SUB, ours */
    void *control; /* PAIR, ours */
    zpar_watcher_t *w_capture;
    zpar_watcher_t *w_limit;
    uint64_t limit_us;
    uint64_t session;
    uint64_t last_ping; /* mono us */
    int changed;        /* a ping from another session */
    int lost;           /* the callback was called */
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

static void *proxy_main (void *arg)
{
    proxy_t *px = arg;
    int rc;
    /* zmq_proxy returns on any interrupted poll: go on */
    do
        rc = zmq_proxy_steerable (px->sub, px->dealer, px->capture, px->control);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        zpar__err ("heart stopped: %s", zmq_strerror (errno));
    zmq_close (px->sub);
    zmq_close (px->dealer);
    zmq_close (px->capture);
    zmq_close (px->control);
    return NULL;
}

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

/* Read every copy of a ping that the proxy made. */
static void drain (zpar_heart_t *h)
{
    zmq_msg_t m;
    int got = 0;
    zmq_msg_init (&m);
    while (zmq_msg_recv (&m, h->capture, ZMQ_DONTWAIT) >= 0) {
        zpar_proto_ping_t p;
        if (h->session &&
            zpar__proto_ping_decode (zmq_msg_data (&m), zmq_msg_size (&m), &p, NULL) == 0 &&
            p.session != h->session)
            h->changed = 1;
        got = 1;
    }
    zmq_msg_close (&m);
    if (got)
        h->last_ping = zpar__mono_us ();
}

/* Lost?  Then call back (last: the callback may destroy h), else wait
 * until the limit comes. */
static void check (zpar_heart_t *h)
{
    uint64_t now = zpar__mono_us (), due = h->last_ping + h->limit_us;

    if (h->lost)
        return;
    if (h->changed || now > due) {
        h->lost = 1;
        zpar__watcher_stop (h->w_limit);
        zpar__watcher_stop (h->w_capture);
        h->cb (h, h->changed ? ZPAR_HEART_NEW_CONTROLLER : ZPAR_HEART_SILENT, h->arg);
        return;
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
    if (h->changed)
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
    char cap_ep[64], ctl_ep[64];
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
    if (h->limit_us < HB_MIN_LIMIT_US)
        h->limit_us = HB_MIN_LIMIT_US;

    gen = atomic_fetch_add (&heart_gen, 1);
    snprintf (cap_ep, sizeof (cap_ep), "inproc://zpar-hb-capture-%d-%u", (int)getpid (), gen);
    snprintf (ctl_ep, sizeof (ctl_ep), "inproc://zpar-hb-control-%d-%u", (int)getpid (), gen);
    if (!(h->capture = mksock (zctx, ZMQ_SUB, NULL, 0)) || zmq_bind (h->capture, cap_ep) < 0 ||
        !(h->control = mksock (zctx, ZMQ_PAIR, NULL, 0)) || zmq_bind (h->control, ctl_ep) < 0 ||
        !(h->px.capture = mksock (zctx, ZMQ_PUB, NULL, 0)) ||
        zmq_connect (h->px.capture, cap_ep) < 0 ||
        !(h->px.control = mksock (zctx, ZMQ_PAIR, NULL, 0)) ||
        zmq_connect (h->px.control, ctl_ep) < 0 || !(h->px.sub = mksock (zctx, ZMQ_SUB, NULL, 0)) ||
        zpar__curve_client (h->px.sub, o->curve, ZPAR_CURVE_ENGINE) < 0 ||
        zmq_connect (h->px.sub, o->ping_addr) < 0 ||
        !(h->px.dealer = mksock (zctx, ZMQ_DEALER, o->ident, o->ident_len)) ||
        zpar__curve_client (h->px.dealer, o->curve, ZPAR_CURVE_ENGINE) < 0 ||
        zmq_connect (h->px.dealer, o->pong_addr) < 0)
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
        e = pthread_create (&h->thread, NULL, proxy_main, &h->px);
        pthread_sigmask (SIG_SETMASK, &old, NULL);
        if (e != 0) {
            errno = e;
            goto error;
        }
    }
    h->running = 1;
    h->last_ping = zpar__mono_us ();
    zpar__watcher_start (h->w_capture);
    zpar__watcher_start (h->w_limit);
    return h;
error:
    e = errno;
    zpar__errnoprintf (err, e, "cannot start the heart: %s", zmq_strerror (e));
    close_sock (&h->px.sub);
    close_sock (&h->px.dealer);
    close_sock (&h->px.capture);
    close_sock (&h->px.control);
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
