/* iopub.c - the IOPub forwarder: engines' PUBs -> SUB | verify | PUB ->
 * clients' SUBs. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "error.h"
#include "ids.h"
#include "iopub.h"
#include "log.h"
#include "proto_iopub.h"
#include "reactor.h"
#include "sockutil.h"
#include "wire.h"

#define DRAIN_MAX 4096

struct zpar_iopub {
    void *sub;             /* bound: engines connect */
    void *pub;             /* bound: clients connect */
    void *pipe;            /* the thread's end of the control pipe */
    void *pipe_own;        /* the owner's end */
    zpar_signer_t *signer; /* used by the thread only */
    zpar_droplog_t droplog;
    pthread_t tid;
    int started;
    uint64_t forwarded; /* written by the thread, read atomically */
    uint64_t dropped;
};

static void count (uint64_t *c)
{
    __atomic_add_fetch (c, 1, __ATOMIC_RELAXED);
}

/* The IOPub rules on top of the wire checks: one topic frame that names the
 * signed header's client and engine, and an IOPub message type.  A valid
 * signature does not make the topic right: it is not signed. */
static int iopub_rules (const zpar_frames_t *f, const zpar_hdr_t *h, zpar_error_t *err)
{
    char topic[32];
    int n;
    if (h->type != ZPAR_MSG_STREAM && h->type != ZPAR_MSG_TASK_STATUS)
        return zpar__errnoprintf (err, EBADMSG, "%s message on IOPub",
                                  zpar__msg_type_name (h->type));
    n = zpar__proto_iopub_topic (topic, sizeof (topic), zpar__cid (h->client),
                                 zpar__eid (h->engine));
    if (f->delim != 1 || n < 0 || zmq_msg_size ((zmq_msg_t *)&f->part[0]) != (size_t)n ||
        memcmp (zmq_msg_data ((zmq_msg_t *)&f->part[0]), topic, (size_t)n) != 0)
        return zpar__errnoprintf (err, EBADMSG, "IOPub topic does not match the header");
    return 0;
}

static void drop (zpar_iopub_t *io, int errnum, const char *why)
{
    count (&io->dropped);
    zpar__droplog (&io->droplog, zpar__drop_kind (errnum), "iopub: message dropped: %s", why);
}

/* Verify and forward whole messages until SUB has none left. */
static void on_sub (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_iopub_t *io = arg;
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        zpar_hdr_t h;
        zpar_error_t err;
        if (zpar__frames_recv (io->sub, &f, ZMQ_DONTWAIT) < 0) {
            if (errno != EPROTO)
                return; /* EAGAIN between messages: a message is atomic */
            drop (io, EPROTO, "too many frames");
            continue;
        }
        if (zpar__frames_check_chan (io->signer, ZPAR_CHAN_IOPUB, &f, &h, &err) < 0 ||
            iopub_rules (&f, &h, &err) < 0) {
            drop (io, errno, err.text);
            zpar__frames_close (&f);
            continue;
        }
        /* PUB never blocks: a subscriber at its high-water mark loses it */
        (void)zpar__frames_send (io->pub, &f, 0, 0); /* closes the frames on failure */
        count (&io->forwarded);
    }
    (void)r, (void)w, (void)revents;
}

static void on_pipe (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_iopub_t *io = arg;
    char buf[8];
    while (zmq_recv (io->pipe, buf, sizeof (buf), ZMQ_DONTWAIT) >= 0)
        zpar__reactor_stop (r);
    (void)w, (void)revents;
}

static void *iopub_thread (void *arg)
{
    zpar_iopub_t *io = arg;
    zpar_reactor_t *r = zpar__reactor_create ();
    zpar_watcher_t *ws = NULL, *wp = NULL;
    (void)pthread_setname_np (pthread_self (), "zpar-iopub");
    if (!r || !(ws = zpar__zmq_watcher_create (r, io->sub, ZPAR_EV_IN, on_sub, io)) ||
        !(wp = zpar__zmq_watcher_create (r, io->pipe, ZPAR_EV_IN, on_pipe, io))) {
        zpar__err ("iopub: cannot set up its loop: %s", strerror (errno));
        /* still wait for the stop, so that the owner's join returns */
        char buf[8];
        (void)zmq_recv (io->pipe, buf, sizeof (buf), 0);
    } else {
        zpar__watcher_start (ws);
        zpar__watcher_start (wp);
        if (zpar__reactor_run (r) < 0)
            zpar__err ("iopub: loop failed: %s", strerror (errno));
    }
    zpar__droplog_flush (&io->droplog);
    zpar__reactor_destroy (r);
    return NULL;
}

zpar_iopub_t *zpar__iopub_start (void *ctx, char *engine_ep, char *client_ep, size_t epsize,
                                 const uint8_t *key, zpar_error_t *err)
{
    zpar_iopub_t *io;
    char pipe_ep[64];
    int zero = 0;
    if (!ctx || !engine_ep || !client_ep || !key) {
        zpar__errnoprintf (err, EINVAL, "iopub: invalid argument");
        return NULL;
    }
    if (!(io = calloc (1, sizeof (*io)))) {
        zpar__errprintf (err, "out of memory");
        return NULL;
    }
    io->droplog = (zpar_droplog_t)ZPAR_DROPLOG_INIT ("iopub");
    if (!(io->signer = zpar__signer_create (key, 0))) {
        zpar__errprintf (err, "iopub: cannot create a signer: %s", strerror (errno));
        goto error;
    }
    snprintf (pipe_ep, sizeof (pipe_ep), "inproc://zpar-iopub-%p", (void *)io);
    if (!(io->sub =
              zpar__bind_socket_side (ctx, ZMQ_SUB, ZPAR_CURVE_ENGINE, engine_ep, epsize, err)) ||
        !(io->pub =
              zpar__bind_socket_side (ctx, ZMQ_PUB, ZPAR_CURVE_CLIENT, client_ep, epsize, err)) ||
        !(io->pipe = zpar__bind_socket (ctx, ZMQ_PAIR, pipe_ep, sizeof (pipe_ep), err)))
        goto error;
    zmq_setsockopt (io->sub, ZMQ_SUBSCRIBE, "", 0);
    if (!(io->pipe_own = zmq_socket (ctx, ZMQ_PAIR)) ||
        zmq_setsockopt (io->pipe_own, ZMQ_LINGER, &zero, sizeof (zero)) < 0 ||
        zmq_connect (io->pipe_own, pipe_ep) < 0) {
        zpar__errprintf (err, "cannot connect the iopub control pipe: %s", zmq_strerror (errno));
        goto error;
    }
    if ((errno = pthread_create (&io->tid, NULL, iopub_thread, io)) != 0) {
        zpar__errprintf (err, "cannot start the iopub thread: %s", strerror (errno));
        goto error;
    }
    io->started = 1;
    return io;
error:
    zpar__iopub_stop (io);
    return NULL;
}

void zpar__iopub_stop (zpar_iopub_t *io)
{
    if (!io)
        return;
    if (io->started) {
        zmq_send (io->pipe_own, "$TERM", 5, 0);
        pthread_join (io->tid, NULL);
    }
    zpar__close_socket (io->sub);
    zpar__close_socket (io->pub);
    zpar__close_socket (io->pipe);
    zpar__close_socket (io->pipe_own);
    zpar__signer_destroy (io->signer);
    free (io);
}

uint64_t zpar__iopub_forwarded (const zpar_iopub_t *io)
{
    return io ? __atomic_load_n (&io->forwarded, __ATOMIC_RELAXED) : 0;
}

uint64_t zpar__iopub_dropped (const zpar_iopub_t *io)
{
    return io ? __atomic_load_n (&io->dropped, __ATOMIC_RELAXED) : 0;
}
