/* sched_direct.c - the MUX and control relays. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "admit.h"
#include "clock.h"
#include "error.h"
#include "log.h"
#include "proto_control.h"
#include "proto_monitor.h"
#include "proto_pipe.h"
#include "proto_result.h"
#include "reactor.h"
#include "route.h"
#include "sched_direct.h"
#include "sockutil.h"
#include "wire.h"
#include "zpar.h"

#define DRAIN_MAX 2048
/* A message for a registered engine whose connection is not up yet (it
 * connects its MUX and control sockets once its registration is answered,
 * so a request may come first) is held and tried again every RETRY_MS for
 * at most HOLD_MS, then answered "not connected"; at most HOLD_MAX held. */
#define HOLD_MAX 1024
#define HOLD_MS  3000
#define RETRY_MS 5

typedef struct {
    zpar_frames_t f;  /* engine side: [routing identity, client identity, ...] */
    zmq_msg_t e0, c1; /* the client's name of the engine, the client's identity */
    zpar_hdr_t h;
    uint64_t deadline_us;
} held_t;

struct zpar_sched_direct {
    zpar_sched_direct_kind_t kind;
    const char *name;
    void *client;  /* ROUTER, clients connect */
    void *engine;  /* ROUTER, engines connect */
    void *monitor; /* PUB to the hub */
    void *inject;  /* PAIR from the hub */
    zpar_signer_t *signer;
    zpar_chan_t chan;      /* ZPAR_CHAN_MUX or ZPAR_CHAN_CONTROL */
    zpar_routes_t *routes; /* engine id -> the routing identity the hub gave it */
    zpar_reactor_t *reactor;
    pthread_t thread;
    int started;
    volatile uint64_t dropped;
    zpar_droplog_t droplog; /* rate-limited drop warnings (this thread's) */
    held_t *held;           /* HOLD_MAX slots, the first nheld in arrival order */
    int nheld;
    zpar_watcher_t *w_retry;
    uint64_t injected; /* routes taken from the inject pipe (catch_up) */
};

static int type_allowed (zpar_sched_direct_t *d, int type, int from_client)
{
    if (d->kind == ZPAR_SCHED_DIRECT_MUX)
        return from_client ? type == ZPAR_MSG_TASK : (type == ZPAR_MSG_RESULT);
    if (from_client)
        return type == ZPAR_MSG_ABORT || type == ZPAR_MSG_INTERRUPT || type == ZPAR_MSG_SHUTDOWN;
    return type == ZPAR_MSG_CONTROL_REPLY || type == ZPAR_MSG_RESULT;
}

static void swap01 (zpar_frames_t *f)
{
    zmq_msg_t tmp = f->part[0];
    f->part[0] = f->part[1];
    f->part[1] = tmp;
}

/* The engine named by a client is not connected: answer for it (and,
 * for a task, tell the hub so that its record is finished).  engine,
 * client: the two routing identities. */
/* Answer a request at once: refused (why: the controller refuses new
 * tasks, admit.h; not recorded), or its engine is not connected (why
 * NULL; the result is recorded). */
static void reply_error (zpar_sched_direct_t *d, zmq_msg_t *engine, zmq_msg_t *client,
                         const zpar_hdr_t *h, const char *why)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_tid_t task = zpar__tid (h->task);
    zpar_eid_t eid = zpar__eid (h->engine);
    zpar_cid_t cid = zpar__cid (h->client);
    int errnum = why ? ENOSPC : EHOSTUNREACH;
    char text[ZPAR_ERROR_TEXT_MAX + 16];
    int rc;

    if (!m)
        return;
    if (why)
        snprintf (text, sizeof (text), "%s", why);
    else
        snprintf (text, sizeof (text), "engine %u is not connected (it died, or never registered)",
                  h->engine);
    if (d->kind == ZPAR_SCHED_DIRECT_MUX) {
        zpar_proto_result_t r;
        zpar__proto_result_error (&r, task, eid, cid, ZPAR_STATUS_ERROR, text);
        r.errnum = errnum;
        rc = zpar__proto_result_encode (m, &r);
    } else {
        zpar_proto_control_reply_t r = {
            .h = {.task = task, .engine = eid, .client = cid},
            .error = text,
            .errnum = errnum,
        };
        rc = zpar__proto_control_reply_encode (m, &r);
    }
    if (rc == 0 && zpar__msg_push_ident (m, zmq_msg_data (client), zmq_msg_size (client)) == 0 &&
        zpar__msg_push_ident (m, zmq_msg_data (engine), zmq_msg_size (engine)) == 0 &&
        zpar__wire_send_chan (d->client, d->signer, d->chan, m, ZMQ_DONTWAIT) == 0 && !why &&
        d->kind == ZPAR_SCHED_DIRECT_MUX)
        (void)zpar__monitor_send_msg (d->monitor, d->signer, ZPAR_MON_MUX_OUT, m);
    (void)zpar__monitor_flush (d->monitor);
    zpar__msg_destroy (m);
}

static void drop (zpar_sched_direct_t *d, const char *side, const char *why)
{
    d->dropped++;
    d->droplog.who = d->name;
    zpar__droplog (&d->droplog, zpar__drop_kind (errno), "%s: %s message dropped: %s", d->name,
                   side, why);
}

/* Receive and verify one message with two routing frames.  0 with f and
 * h filled, 1 when a bad message was dropped, -1 when nothing is left. */
static int recv_checked (zpar_sched_direct_t *d, void *sock, int from_client, zpar_frames_t *f,
                         zpar_hdr_t *h, uint8_t *via)
{
    const char *side = from_client ? "client" : "engine";
    zpar_error_t err;
    if (zpar__frames_recv (sock, f, ZMQ_DONTWAIT) < 0) {
        if (errno == EPROTO) {
            drop (d, side, "too many frames");
            return 1;
        }
        return -1;
    }
    if (zpar__frames_check_chan (d->signer, d->chan, f, h, &err) < 0) {
        drop (d, side, err.text);
        zpar__frames_close (f);
        return 1;
    }
    /* an engine's message through its relay: [relay id, engine, client, ...] */
    if (via && !from_client)
        (void)zpar__route_frames_strip (f, via);
    if (f->delim != 2 || !type_allowed (d, h->type, from_client)) {
        snprintf (err.text, sizeof (err.text), "unexpected %s with %d routing frames",
                  zpar__msg_type_name (h->type), f->delim);
        drop (d, side, err.text);
        zpar__frames_close (f);
        return 1;
    }
    return 0;
}

/* "e<decimal id>" -> id; 0 if it is not one. */
static uint32_t parse_name (const zmq_msg_t *m)
{
    const char *p = zmq_msg_data ((zmq_msg_t *)m);
    size_t len = zmq_msg_size ((zmq_msg_t *)m);
    uint64_t id = 0;
    if (len < 2 || len > 11 || p[0] != 'e')
        return 0;
    for (size_t i = 1; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        id = id * 10 + (uint64_t)(p[i] - '0');
    }
    return id <= UINT32_MAX ? (uint32_t)id : 0;
}

/* Replace frame i of f by len bytes of data.  0 / -1. */
static int replace_part (zpar_frames_t *f, int i, const void *data, size_t len)
{
    zmq_msg_close (&f->part[i]);
    if (zmq_msg_init_size (&f->part[i], len) < 0) {
        zmq_msg_init (&f->part[i]);
        return -1;
    }
    memcpy (zmq_msg_data (&f->part[i]), data, len);
    return 0;
}

/* Is a message for engine id held already?  (Later ones wait behind it:
 * the engine gets them in the order the clients sent them.) */
static int held_for (zpar_sched_direct_t *d, uint32_t id)
{
    for (int i = 0; i < d->nheld; i++)
        if (d->held[i].h.engine == id)
            return 1;
    return 0;
}

/* Send f (routed) to its engine; f stays intact (a copy is sent).  0
 * when sent, or when it cannot be sent for another reason (dropped, as
 * any send of this relay); -1 EHOSTUNREACH when the engine's connection
 * is not there. */
static int try_send (zpar_sched_direct_t *d, zpar_frames_t *f)
{
    zpar_frames_t copy;
    if (zpar__frames_copy (&copy, f) < 0)
        return 0;
    if (zpar__frames_send (d->engine, &copy, 0, ZMQ_DONTWAIT) < 0 && errno == EHOSTUNREACH)
        return -1;
    return 0;
}

/* Hold f (its parts move into the slot; f is left empty) until the
 * engine's connection is up or HOLD_MS passed; answered at once when
 * every slot is taken. */
static void hold (zpar_sched_direct_t *d, zpar_frames_t *f, zmq_msg_t *e0, zmq_msg_t *c1,
                  const zpar_hdr_t *h)
{
    held_t *x;
    if (d->nheld >= HOLD_MAX) {
        reply_error (d, e0, c1, h, NULL);
        return;
    }
    x = &d->held[d->nheld++];
    x->f = *f;
    f->n = 0;
    zmq_msg_init (&x->e0);
    zmq_msg_copy (&x->e0, e0);
    zmq_msg_init (&x->c1);
    zmq_msg_copy (&x->c1, c1);
    x->h = *h;
    x->deadline_us = zpar__now_us () + (uint64_t)HOLD_MS * 1000;
    if (!zpar__watcher_active (d->w_retry))
        zpar__timer_watcher_reset (d->w_retry, RETRY_MS, RETRY_MS);
}

static void held_free (held_t *x)
{
    zpar__frames_close (&x->f);
    zmq_msg_close (&x->e0);
    zmq_msg_close (&x->c1);
}

static void inject_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg);

/* The hub gives an engine's route on the inject pipe before its
 * registration reply, but when the pipe and a socket are ready at once the
 * socket may be read first: the engine's first message (a result it sends
 * again after a controller restart) or a client's task for it would find
 * no route (dropped as stale, or answered "not connected").  Read the pipe
 * once, then look again.  1 if it held anything. */
static int catch_up (zpar_sched_direct_t *d, int *piped)
{
    uint64_t before = d->injected;
    if (*piped)
        return 0;
    *piped = 1;
    inject_cb (d->reactor, NULL, 0, d);
    return d->injected != before;
}

/* Try the held messages again, in order; answer those whose time is up
 * or whose engine the hub forgot. */
static void retry_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_sched_direct_t *d = arg;
    uint64_t now = zpar__now_us ();
    uint32_t stuck[HOLD_MAX];
    int nstuck = 0, keep = 0, piped = 0;
    (void)r, (void)w, (void)revents;
    for (int i = 0; i < d->nheld; i++) {
        held_t *x = &d->held[i];
        const zpar_route_t *route = zpar__routes_get (d->routes, zpar__eid (x->h.engine));
        uint8_t via[ZPAR_RELAY_ID_LEN];
        int behind = 0;
        if (!route && catch_up (d, &piped))
            route = zpar__routes_get (d->routes, zpar__eid (x->h.engine));
        for (int k = 0; k < nstuck && !behind; k++)
            behind = stuck[k] == x->h.engine;
        /* the engine may have registered again since (or behind another
         * relay): its current routing stack */
        if (route && !behind) {
            (void)zpar__route_frames_strip (&x->f, via);
            if (zpar__route_frames_set (&x->f, route) == 0 && try_send (d, &x->f) == 0) {
                held_free (x);
                continue;
            }
        }
        if (!route || now >= x->deadline_us) {
            reply_error (d, &x->e0, &x->c1, &x->h, NULL);
            held_free (x);
            continue;
        }
        if (!behind)
            stuck[nstuck++] = x->h.engine;
        d->held[keep++] = *x;
    }
    d->nheld = keep;
    if (keep == 0)
        zpar__watcher_stop (d->w_retry);
}

static void client_drain (void *arg)
{
    zpar_sched_direct_t *d = arg;
    int piped = 0;
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        zpar_hdr_t h;
        zmq_msg_t e0, c1;
        char why[ZPAR_ERROR_TEXT_MAX];
        uint32_t id;
        const zpar_route_t *route;
        int rc = recv_checked (d, d->client, 1, &f, &h, NULL);
        if (rc < 0)
            break;
        if (rc > 0)
            continue;
        /* the client names the engine "e<id>", the id the request is
         * signed for (header.engine) */
        if ((id = parse_name (&f.part[1])) == 0 || id != h.engine) {
            errno = EPERM;
            drop (d, "client", "the routing frame does not name the engine it is signed for");
            zpar__frames_close (&f);
            continue;
        }
        /* a new task while the controller refuses them: answered, not run
         * and not recorded */
        if (d->kind == ZPAR_SCHED_DIRECT_MUX && zpar__admit_refused (why, sizeof (why))) {
            reply_error (d, &f.part[1], &f.part[0], &h, why);
            zpar__frames_close (&f);
            continue;
        }
        if (d->kind == ZPAR_SCHED_DIRECT_MUX)
            (void)zpar__monitor_copy (d->monitor, ZPAR_MON_MUX_IN, &f, NULL);
        swap01 (&f);
        /* keep the identities for an answer if the engine is not there */
        zmq_msg_init (&e0);
        zmq_msg_copy (&e0, &f.part[0]);
        zmq_msg_init (&c1);
        zmq_msg_copy (&c1, &f.part[1]);
        /* route to the identity the hub gave that engine, nobody else */
        if (!(route = zpar__routes_get (d->routes, zpar__eid (id))) && catch_up (d, &piped))
            route = zpar__routes_get (d->routes, zpar__eid (id));
        if (!route)
            reply_error (d, &e0, &c1, &h, NULL);
        else if (zpar__route_frames_set (&f, route) < 0)
            zpar__frames_close (&f);
        else if (held_for (d, id) || try_send (d, &f) < 0)
            hold (d, &f, &e0, &c1, &h);
        zpar__frames_close (&f);
        zmq_msg_close (&e0);
        zmq_msg_close (&c1);
    }
    (void)zpar__monitor_flush (d->monitor); /* this drain's records: one message */
}

static void engine_drain (void *arg)
{
    zpar_sched_direct_t *d = arg;
    int piped = 0;
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        zpar_hdr_t h;
        uint8_t via[ZPAR_RELAY_ID_LEN];
        int rc = recv_checked (d, d->engine, 0, &f, &h, via);
        zpar_eid_t eid;
        char name[16];
        int n;
        if (rc < 0)
            break;
        if (rc > 0)
            continue;
        /* from the routing identity the hub gave the engine that signed
         * it; the client sees the engine's name "e<id>" */
        eid = zpar__routes_check_via (d->routes, zmq_msg_data (&f.part[0]),
                                      zmq_msg_size (&f.part[0]), via);
        if ((eid.v == 0 || eid.v != h.engine) && catch_up (d, &piped))
            eid = zpar__routes_check_via (d->routes, zmq_msg_data (&f.part[0]),
                                          zmq_msg_size (&f.part[0]), via);
        n = snprintf (name, sizeof (name), "e%u", eid.v);
        if (eid.v == 0 || eid.v != h.engine || replace_part (&f, 0, name, (size_t)n) < 0) {
            if (eid.v != h.engine && h.engine &&
                zpar__route_engine (zmq_msg_data (&f.part[0]), zmq_msg_size (&f.part[0])).v ==
                    h.engine)
                /* signed by the engine it names, from a connection of an
                 * earlier registration: stale, not forged (not counted) */
                zpar__debug ("%s: stale message of engine %u dropped (an earlier connection "
                             "of it)",
                             d->name, h.engine);
            else {
                errno = EPERM;
                drop (d, "engine", "not from the routing identity of the engine it names");
            }
            zpar__frames_close (&f);
            continue;
        }
        if (d->kind == ZPAR_SCHED_DIRECT_MUX)
            (void)zpar__monitor_copy (d->monitor, ZPAR_MON_MUX_OUT, &f, NULL);
        else if (h.type == ZPAR_MSG_RESULT)
            (void)zpar__monitor_copy (d->monitor, ZPAR_MON_CTL_OUT, &f, NULL);
        swap01 (&f);
        (void)zpar__frames_send (d->client, &f, 0, ZMQ_DONTWAIT);
    }
    (void)zpar__monitor_flush (d->monitor); /* this drain's records: one message */
}

/* Hub -> engine: [engine identity, frames...]; ["$TERM"] stops. */
static void inject_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_sched_direct_t *d = arg;
    (void)w;
    (void)revents;
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        zpar_route_t route;
        int term, rc;
        if (zpar__frames_recv (d->inject, &f, ZMQ_DONTWAIT) < 0)
            break;
        if ((rc = zpar__pipe_inject_route (&f, &route)) != 0) {
            if (rc < 0 || zpar__routes_set (d->routes, &route) < 0)
                zpar__warn ("%s: bad route on the hub's inject pipe dropped", d->name);
            d->injected++;
            zpar__frames_close (&f);
            continue;
        }
        term = zpar__pipe_inject_is_term (&f);
        if (term == 1) {
            zpar__frames_close (&f);
            zpar__reactor_stop (r);
            return;
        }
        if (term == 0) {
            /* [identity, ...]: through the engine's relay if it has one */
            const zpar_route_t *to =
                f.n > 0
                    ? zpar__routes_get (d->routes, zpar__route_engine (zmq_msg_data (&f.part[0]),
                                                                       zmq_msg_size (&f.part[0])))
                    : NULL;
            if (to && zpar__route_relayed (to) &&
                !memcmp (to->b, zmq_msg_data (&f.part[0]), ZPAR_ROUTE_LEN) &&
                zpar__route_frames_set (&f, to) < 0)
                zpar__warn ("%s: cannot route through a relay", d->name);
            (void)zpar__frames_send (d->engine, &f, 0, ZMQ_DONTWAIT);
        } else
            zpar__warn ("%s: bad message on the hub's inject pipe dropped", d->name);
        zpar__frames_close (&f);
    }
}

static void *direct_thread (void *arg)
{
    zpar_sched_direct_t *d = arg;
    (void)pthread_setname_np (pthread_self (),
                              d->kind == ZPAR_SCHED_DIRECT_MUX ? "zpar-mux" : "zpar-control");
    if (zpar__reactor_run (d->reactor) < 0)
        zpar__err ("%s: event loop failed: %s", d->name, strerror (errno));
    return NULL;
}

/* A turn of a socket (sockutil.h): when zpar reads and writes it itself
 * (zrouter.h), its I/O first, then the drain, then what the drain left
 * keeps its descriptor readable. */
static void client_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    (void)zpar__sock_turn (((zpar_sched_direct_t *)arg)->client, client_drain, arg,
                           ZPAR_TURN_DONE_AFTER);
    (void)r, (void)w, (void)revents;
}

static void engine_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    (void)zpar__sock_turn (((zpar_sched_direct_t *)arg)->engine, engine_drain, arg,
                           ZPAR_TURN_DONE_AFTER);
    (void)r, (void)w, (void)revents;
}

zpar_sched_direct_t *zpar__sched_direct_start (void *ctx, zpar_sched_direct_kind_t kind,
                                               char *client_ep, char *engine_ep, size_t epsize,
                                               const char *monitor_ep, const char *inject_ep,
                                               const uint8_t *key, zpar_error_t *err)
{
    zpar_sched_direct_t *d;
    zpar_watcher_t *wc, *we, *wi;
    int zero = 0;
    char iep[128];

    if (kind != ZPAR_SCHED_DIRECT_MUX && kind != ZPAR_SCHED_DIRECT_CONTROL) {
        zpar__errnoprintf (err, EINVAL, "unknown direct scheduler kind %d", (int)kind);
        return NULL;
    }
    if (!(d = calloc (1, sizeof (*d)))) {
        zpar__errprintf (err, "out of memory");
        return NULL;
    }
    d->kind = kind;
    d->name = kind == ZPAR_SCHED_DIRECT_MUX ? "mux" : "control";
    d->chan = kind == ZPAR_SCHED_DIRECT_MUX ? ZPAR_CHAN_MUX : ZPAR_CHAN_CONTROL;
    if (!(d->signer = zpar__signer_create (key, 0)) || !(d->reactor = zpar__reactor_create ()) ||
        !(d->routes = zpar__routes_create ()) || !(d->held = calloc (HOLD_MAX, sizeof (held_t)))) {
        zpar__errprintf (err, "cannot create the %s scheduler: %s", d->name, strerror (errno));
        goto error;
    }
    if (!(d->client = zpar__bind_task_router (ctx, ZPAR_CURVE_CLIENT, 0, client_ep, epsize, err)) ||
        !(d->engine = zpar__bind_task_router (ctx, ZPAR_CURVE_ENGINE, 1, engine_ep, epsize, err)))
        goto error;
    snprintf (iep, sizeof (iep), "%s", inject_ep);
    if (!(d->inject = zpar__bind_socket (ctx, ZMQ_PAIR, iep, sizeof (iep), err)))
        goto error;
    if (!(d->monitor = zmq_socket (ctx, ZMQ_PUB))) {
        zpar__errprintf (err, "cannot create monitor socket");
        goto error;
    }
    zmq_setsockopt (d->monitor, ZMQ_SNDHWM, &zero, sizeof (zero));
    zmq_setsockopt (d->monitor, ZMQ_LINGER, &zero, sizeof (zero));
    if (zmq_connect (d->monitor, monitor_ep) < 0) {
        zpar__errprintf (err, "cannot connect monitor %s: %s", monitor_ep, zmq_strerror (errno));
        goto error;
    }
    if (!(wc = zpar__sock_watcher_create (d->reactor, d->client, client_cb, d)) ||
        !(we = zpar__sock_watcher_create (d->reactor, d->engine, engine_cb, d)) ||
        !(wi = zpar__zmq_watcher_create (d->reactor, d->inject, ZPAR_EV_IN, inject_cb, d)) ||
        !(d->w_retry = zpar__timer_watcher_create (d->reactor, RETRY_MS, RETRY_MS, retry_cb, d))) {
        zpar__errprintf (err, "cannot set up the %s event loop", d->name);
        goto error;
    }
    zpar__watcher_start (wc);
    zpar__watcher_start (we);
    zpar__watcher_start (wi);
    if (pthread_create (&d->thread, NULL, direct_thread, d) != 0) {
        zpar__errprintf (err, "cannot start %s thread", d->name);
        goto error;
    }
    d->started = 1;
    return d;
error:
    zpar__sched_direct_stop (d);
    return NULL;
}

void zpar__sched_direct_stop (zpar_sched_direct_t *d)
{
    if (!d)
        return;
    if (d->started)
        pthread_join (d->thread, NULL);
    for (int i = 0; d->held && i < d->nheld; i++)
        held_free (&d->held[i]);
    free (d->held);
    zpar__reactor_destroy (d->reactor);
    zpar__close_socket (d->client);
    zpar__close_socket (d->engine);
    zpar__close_socket (d->inject);
    zpar__close_socket (d->monitor);
    zpar__routes_destroy (d->routes);
    zpar__signer_destroy (d->signer);
    free (d);
}

uint64_t zpar__sched_direct_dropped (const zpar_sched_direct_t *d)
{
    return d ? d->dropped : 0;
}
