/* relay.c - the MUX and control schedulers. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "error.h"
#include "log.h"
#include "relay.h"
#include "sockutil.h"
#include "wire.h"
#include "zpar.h"

#define DRAIN_MAX 2048

struct zpar_relay {
    zpar_relay_kind_t kind;
    const char *name;
    void *client;  /* ROUTER, clients connect */
    void *engine;  /* ROUTER, engines connect */
    void *monitor; /* PUB to the hub */
    void *inject;  /* PAIR from the hub */
    zpar_signer_t *signer;
    pthread_t thread;
    int started;
    volatile uint64_t dropped;
};

static void monitor_copy (zpar_relay_t *r, const char *tag, zpar_frames_t *f)
{
    zmq_msg_t m;
    if (zmq_send (r->monitor, tag, strlen (tag), ZMQ_SNDMORE) < 0)
        return;
    for (int i = f->delim; i < f->n; i++) {
        zmq_msg_init (&m);
        zmq_msg_copy (&m, &f->part[i]);
        if (zmq_msg_send (&m, r->monitor, i < f->n - 1 ? ZMQ_SNDMORE : 0) < 0)
            zmq_msg_close (&m);
    }
}

static int type_allowed (zpar_relay_t *r, int type, int from_client)
{
    if (r->kind == ZPAR_RELAY_MUX)
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

/* The engine named by a client is not connected: answer for it. */
static void reply_unreachable (zpar_relay_t *r, zpar_frames_t *f, const zpar_hdr_t *h)
{
    zpar_msg_t *m = zpar__msg_create (r->kind == ZPAR_RELAY_MUX ? ZPAR_MSG_RESULT
                                                                 : ZPAR_MSG_CONTROL_REPLY);
    char text[160];
    if (!m)
        return;
    /* after swap01, part[0] is the engine identity, part[1] the client */
    zpar__msg_push_ident (m, zmq_msg_data (&f->part[1]), zmq_msg_size (&f->part[1]));
    zpar__msg_push_ident (m, zmq_msg_data (&f->part[0]), zmq_msg_size (&f->part[0]));
    m->hdr.task = h->task;
    m->hdr.client = h->client;
    m->hdr.engine = h->engine;
    snprintf (text, sizeof (text), "engine %u is not connected (it died, or never registered)",
              h->engine);
    zpar__msg_add_u64 (m, ZPAR_F_STATUS, ZPAR_STATUS_ERROR);
    zpar__msg_add_u64 (m, ZPAR_F_EXIT, (uint64_t)-1);
    zpar__msg_add_str (m, ZPAR_F_ERROR, text);
    zpar__msg_add_u64 (m, ZPAR_F_ERRNO, EHOSTUNREACH);
    if (zpar__wire_send (r->client, r->signer, m, ZMQ_DONTWAIT) == 0 && r->kind == ZPAR_RELAY_MUX) {
        /* tell the hub too, so that the task's record is finished */
        m->nenv = 0;
        zpar__msg_push_ident (m, "mux_out", 7);
        (void)zpar__wire_send (r->monitor, r->signer, m, ZMQ_DONTWAIT);
    }
    zpar__msg_destroy (m);
}

static void drop (zpar_relay_t *r, const char *side, zpar_error_t *err)
{
    r->dropped++;
    zpar__warn ("%s: %s message dropped: %s", r->name, side, err->text);
}

static void from_client (zpar_relay_t *r)
{
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        zpar_hdr_t h;
        zpar_error_t err;
        if (zpar__frames_recv (r->client, &f, ZMQ_DONTWAIT) < 0) {
            if (errno == EPROTO) {
                snprintf (err.text, sizeof (err.text), "too many frames");
                drop (r, "client", &err);
                continue;
            }
            return;
        }
        if (zpar__frames_check (r->signer, &f, &h, &err) < 0) {
            drop (r, "client", &err);
            zpar__frames_close (&f);
            continue;
        }
        if (f.delim != 2 || !type_allowed (r, h.type, 1)) {
            snprintf (err.text, sizeof (err.text), "unexpected %s with %d routing frames",
                      zpar__msg_type_name (h.type), f.delim);
            drop (r, "client", &err);
            zpar__frames_close (&f);
            continue;
        }
        if (r->kind == ZPAR_RELAY_MUX)
            monitor_copy (r, "mux_in", &f);
        swap01 (&f);
        {
            zmq_msg_t e0;
            zmq_msg_init (&e0);
            zmq_msg_copy (&e0, &f.part[0]);
            zmq_msg_t c1;
            zmq_msg_init (&c1);
            zmq_msg_copy (&c1, &f.part[1]);
            if (zpar__frames_send (r->engine, &f, 0, ZMQ_DONTWAIT) < 0) {
                zpar_frames_t g;
                g.n = 2;
                g.delim = -1;
                g.part[0] = e0;
                g.part[1] = c1;
                if (errno == EHOSTUNREACH)
                    reply_unreachable (r, &g, &h);
                zpar__frames_close (&g);
            }
            else {
                zmq_msg_close (&e0);
                zmq_msg_close (&c1);
            }
        }
    }
}

static void from_engine (zpar_relay_t *r)
{
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        zpar_hdr_t h;
        zpar_error_t err;
        if (zpar__frames_recv (r->engine, &f, ZMQ_DONTWAIT) < 0) {
            if (errno == EPROTO) {
                snprintf (err.text, sizeof (err.text), "too many frames");
                drop (r, "engine", &err);
                continue;
            }
            return;
        }
        if (zpar__frames_check (r->signer, &f, &h, &err) < 0) {
            drop (r, "engine", &err);
            zpar__frames_close (&f);
            continue;
        }
        if (f.delim != 2 || !type_allowed (r, h.type, 0)) {
            snprintf (err.text, sizeof (err.text), "unexpected %s with %d routing frames",
                      zpar__msg_type_name (h.type), f.delim);
            drop (r, "engine", &err);
            zpar__frames_close (&f);
            continue;
        }
        if (r->kind == ZPAR_RELAY_MUX || h.type == ZPAR_MSG_RESULT)
            monitor_copy (r, r->kind == ZPAR_RELAY_MUX ? "mux_out" : "ctl_out", &f);
        swap01 (&f);
        (void)zpar__frames_send (r->client, &f, 0, ZMQ_DONTWAIT);
    }
}

/* Hub -> engine: [engine identity, frames...]; "$TERM" alone stops. */
static int from_hub (zpar_relay_t *r)
{
    zpar_frames_t f;
    if (zpar__frames_recv (r->inject, &f, ZMQ_DONTWAIT) < 0)
        return 0;
    if (f.n == 1 && zmq_msg_size (&f.part[0]) == 5
        && memcmp (zmq_msg_data (&f.part[0]), "$TERM", 5) == 0) {
        zpar__frames_close (&f);
        return 1;
    }
    (void)zpar__frames_send (r->engine, &f, 0, ZMQ_DONTWAIT);
    return 0;
}

static void *relay_thread (void *arg)
{
    zpar_relay_t *r = arg;
    zmq_pollitem_t items[3] = {
        {r->client, 0, ZMQ_POLLIN, 0},
        {r->engine, 0, ZMQ_POLLIN, 0},
        {r->inject, 0, ZMQ_POLLIN, 0},
    };
    while (1) {
        if (zmq_poll (items, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            from_client (r);
        if (items[1].revents & ZMQ_POLLIN)
            from_engine (r);
        if ((items[2].revents & ZMQ_POLLIN) && from_hub (r))
            break;
    }
    return NULL;
}

zpar_relay_t *zpar__relay_start (void *ctx, zpar_relay_kind_t kind, char *client_ep,
                                 char *engine_ep, size_t epsize, const char *monitor_ep,
                                 const char *inject_ep, const uint8_t *key, zpar_error_t *err)
{
    zpar_relay_t *r = calloc (1, sizeof (*r));
    int one = 1, zero = 0;
    char iep[128];

    if (!r) {
        zpar__errprintf (err, "out of memory");
        return NULL;
    }
    r->kind = kind;
    r->name = kind == ZPAR_RELAY_MUX ? "mux" : "control";
    if (!(r->signer = zpar__signer_create (key, 0))) {
        zpar__errprintf (err, "cannot create signer");
        goto error;
    }
    if (!(r->client = zpar__bind_socket (ctx, ZMQ_ROUTER, client_ep, epsize, err))
        || !(r->engine = zpar__bind_socket (ctx, ZMQ_ROUTER, engine_ep, epsize, err)))
        goto error;
    zmq_setsockopt (r->engine, ZMQ_ROUTER_MANDATORY, &one, sizeof (one));
    snprintf (iep, sizeof (iep), "%s", inject_ep);
    if (!(r->inject = zpar__bind_socket (ctx, ZMQ_PAIR, iep, sizeof (iep), err)))
        goto error;
    if (!(r->monitor = zmq_socket (ctx, ZMQ_PUB))) {
        zpar__errprintf (err, "cannot create monitor socket");
        goto error;
    }
    zmq_setsockopt (r->monitor, ZMQ_SNDHWM, &zero, sizeof (zero));
    zmq_setsockopt (r->monitor, ZMQ_LINGER, &zero, sizeof (zero));
    if (zmq_connect (r->monitor, monitor_ep) < 0) {
        zpar__errprintf (err, "cannot connect monitor %s: %s", monitor_ep, zmq_strerror (errno));
        goto error;
    }
    if (pthread_create (&r->thread, NULL, relay_thread, r) != 0) {
        zpar__errprintf (err, "cannot start %s thread", r->name);
        goto error;
    }
    r->started = 1;
    return r;
error:
    zpar__relay_stop (r);
    return NULL;
}

void zpar__relay_stop (zpar_relay_t *r)
{
    if (!r)
        return;
    if (r->started) {
        /* the inject PAIR's peer is the hub; we use a private socket to
         * deliver $TERM only when the hub has gone: the hub sends it */
        pthread_join (r->thread, NULL);
    }
    zpar__close_socket (r->client);
    zpar__close_socket (r->engine);
    zpar__close_socket (r->inject);
    zpar__close_socket (r->monitor);
    zpar__signer_destroy (r->signer);
    free (r);
}

uint64_t zpar__relay_dropped (const zpar_relay_t *r)
{
    return r ? r->dropped : 0;
}
