/* iopub.c - the IOPub proxy: engines' PUBs -> SUB | PUB -> clients' SUBs. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "error.h"
#include "iopub.h"
#include "log.h"
#include "reactor.h"
#include "sockutil.h"

#define DRAIN_MAX 4096

struct zpar_iopub {
    void *sub;      /* bound: engines connect */
    void *pub;      /* bound: clients connect */
    void *pipe;     /* the thread's end of the control pipe */
    void *pipe_own; /* the owner's end */
    pthread_t tid;
    int started;
    volatile uint64_t forwarded;
};

/* Forward whole messages, part by part, until SUB has none left. */
static void on_sub (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_iopub_t *io = arg;
    for (int k = 0; k < DRAIN_MAX; k++) {
        int more;
        do {
            zmq_msg_t part;
            zmq_msg_init (&part);
            if (zmq_msg_recv (&part, io->sub, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close (&part);
                return; /* EAGAIN between messages: a message is atomic */
            }
            more = zmq_msg_more (&part);
            if (zmq_msg_send (&part, io->pub, more ? ZMQ_SNDMORE : 0) < 0)
                zmq_msg_close (&part);
        } while (more);
        io->forwarded++;
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
    zpar__reactor_destroy (r);
    return NULL;
}

zpar_iopub_t *zpar__iopub_start (void *ctx, char *engine_ep, char *client_ep, size_t epsize,
                                 zpar_error_t *err)
{
    zpar_iopub_t *io = calloc (1, sizeof (*io));
    char pipe_ep[64];
    int zero = 0;
    if (!io) {
        zpar__errprintf (err, "out of memory");
        return NULL;
    }
    snprintf (pipe_ep, sizeof (pipe_ep), "inproc://zpar-iopub-%p", (void *)io);
    if (!(io->sub = zpar__bind_socket (ctx, ZMQ_SUB, engine_ep, epsize, err)) ||
        !(io->pub = zpar__bind_socket (ctx, ZMQ_PUB, client_ep, epsize, err)) ||
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
    free (io);
}

uint64_t zpar__iopub_forwarded (const zpar_iopub_t *io)
{
    return io ? io->forwarded : 0;
}
