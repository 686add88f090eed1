/* iopub.c - the IOPub forwarder: engines' PUBs -> XSUB | verify | XPUB ->
 * clients' SUBs, the clients' subscriptions forwarded the other way. */
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
#include "zrouter.h"

#define DRAIN_MAX 4096
#define SUBS_MAX  256 /* distinct client topics tracked; beyond: everything */
#define TOPIC_MAX 48  /* a tracked topic's length; longer: everything */
#define KEY_MAX   16  /* "c" + 10 digits + "." */

/* One distinct topic the clients subscribe to, and the topic the engines
 * are asked for on its behalf (its key: "" or "c<client>."). */
typedef struct {
    char topic[TOPIC_MAX];
    size_t tlen;
    char key[KEY_MAX];
} csub_t;

struct zpar_iopub {
    void *sub;             /* XSUB, bound: engines connect (a zrouter, zrouter.h, or libzmq's) */
    void *pub;             /* XPUB, bound: clients connect */
    void *pipe;            /* the thread's end of the control pipe */
    void *pipe_own;        /* the owner's end */
    zpar_signer_t *signer; /* used by the thread only */
    zpar_droplog_t droplog;
    pthread_t tid;
    int started;
    uint64_t forwarded; /* written by the thread, read atomically */
    uint64_t dropped;
    uint64_t upstream; /* topics asked of the engines (the thread's, read atomically) */
    /* the thread's: the clients' distinct topics, and what the engines
     * are asked for (keys; all: everything, "") */
    csub_t csub[SUBS_MAX];
    size_t ncsub;
    char up[SUBS_MAX][KEY_MAX];
    size_t nup;
    int up_all;
    int want_all;   /* no filtering: ZPAR_IOPUB_FILTER=0, or too many topics */
    int in_garbage; /* dropping the rest of a multipart message on XPUB */
};

static unsigned pipe_serial;

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

/* The key of topic t (n bytes): what to ask the engines so that every
 * message matching t reaches us.  Topics are "c<client>.e<engine>": a
 * topic of the form "c<digits>." (and anything longer starting so) needs
 * "c<digits>."; a prefix of many clients' topics ("", "c", "c12") needs
 * everything (""); anything else matches nothing (returns 0: no key). */
static int topic_key (const char *t, size_t n, char key[KEY_MAX])
{
    size_t d = 1;
    if (n == 0 || (n == 1 && t[0] == 'c')) {
        key[0] = '\0';
        return 1;
    }
    if (t[0] != 'c')
        return 0;
    while (d < n && t[d] >= '0' && t[d] <= '9')
        d++;
    if (d == n) { /* "c12": a prefix of c12., c120., ... */
        key[0] = '\0';
        return 1;
    }
    if (d == 1 || t[d] != '.' || d > 11)
        return 0;
    memcpy (key, t, d + 1);
    key[d + 1] = '\0';
    return 1;
}

/* Tell the engines (through XSUB) about a change of what we want. */
static void up_send (zpar_iopub_t *io, int on, const char *key)
{
    char m[KEY_MAX + 1];
    size_t n = strlen (key);
    m[0] = on ? 1 : 0;
    memcpy (m + 1, key, n);
    (void)zpar__sock_send (io->sub, m, n + 1, ZMQ_DONTWAIT);
}

/* Bring what the engines are asked for in line with the clients' topics:
 * everything when asked for or when some client wants it, else one
 * "c<client>." per client wanting its own. */
static void up_sync (zpar_iopub_t *io)
{
    int all = io->want_all;
    for (size_t i = 0; i < io->ncsub && !all; i++)
        all = io->csub[i].key[0] == '\0';
    if (all != io->up_all) {
        up_send (io, all, "");
        io->up_all = all;
    }
    /* drop the keys nobody needs any more */
    for (size_t j = 0; j < io->nup;) {
        int need = 0;
        for (size_t i = 0; i < io->ncsub && !need; i++)
            need = strcmp (io->csub[i].key, io->up[j]) == 0;
        if (need) {
            j++;
            continue;
        }
        up_send (io, 0, io->up[j]);
        memcpy (io->up[j], io->up[--io->nup], KEY_MAX);
    }
    /* add the new ones */
    for (size_t i = 0; i < io->ncsub; i++) {
        size_t j;
        if (io->csub[i].key[0] == '\0')
            continue;
        for (j = 0; j < io->nup && strcmp (io->csub[i].key, io->up[j]) != 0; j++)
            ;
        if (j < io->nup || io->nup == SUBS_MAX)
            continue;
        memcpy (io->up[io->nup++], io->csub[i].key, KEY_MAX);
        up_send (io, 1, io->csub[i].key);
    }
    __atomic_store_n (&io->upstream, (uint64_t)io->nup + (uint64_t)io->up_all, __ATOMIC_RELAXED);
}

/* A client's (un)subscription notice from XPUB: the first subscriber to a
 * topic, or the last one gone (XPUB tells only those). */
static void on_notice (zpar_iopub_t *io, const unsigned char *d, size_t n)
{
    const char *t = (const char *)d + 1;
    size_t tl = n - 1, i;
    char key[KEY_MAX];
    if (!topic_key (t, tl, key))
        return; /* matches nothing the engines publish */
    for (i = 0; i < io->ncsub; i++)
        if (io->csub[i].tlen == tl && memcmp (io->csub[i].topic, t, tl) == 0)
            break;
    if (d[0] == 1 && i == io->ncsub) {
        if (tl >= TOPIC_MAX || io->ncsub == SUBS_MAX) {
            /* too many or too long to track: everything, from now on */
            io->want_all = 1;
        } else {
            memcpy (io->csub[i].topic, t, tl);
            io->csub[i].tlen = tl;
            memcpy (io->csub[i].key, key, KEY_MAX);
            io->ncsub++;
        }
    } else if (d[0] == 0 && i < io->ncsub)
        io->csub[i] = io->csub[--io->ncsub];
    up_sync (io);
}

/* What the clients' side sends us: subscription notices.  Anything else
 * (a peer sending data, a multipart message) is dropped and counted. */
static void on_pub (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_iopub_t *io = arg;
    for (int k = 0; k < DRAIN_MAX; k++) {
        zmq_msg_t m;
        int more, was_garbage;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, io->pub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&m);
            return;
        }
        more = zmq_msg_more (&m);
        was_garbage = io->in_garbage;
        io->in_garbage = more;
        if (!was_garbage && !more && zmq_msg_size (&m) >= 1 &&
            (*(unsigned char *)zmq_msg_data (&m) <= 1))
            on_notice (io, zmq_msg_data (&m), zmq_msg_size (&m));
        else if (!was_garbage)
            drop (io, EBADMSG, "not a subscription on the clients' side");
        zmq_msg_close (&m);
    }
    (void)r, (void)w, (void)revents;
}

/* Verify and forward whole messages until SUB has none left (or
 * DRAIN_MAX: the rest keeps the socket readable). */
static void drain_sub (void *arg)
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
}

static void on_sub (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_iopub_t *io = arg;
    if (zpar__sock_turn (io->sub, drain_sub, io, ZPAR_TURN_DONE_AFTER) < 0)
        zpar__warn ("iopub: engines' connections: %s", strerror (errno));
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
    zpar_watcher_t *ws = NULL, *wp = NULL, *wc = NULL;
    (void)pthread_setname_np (pthread_self (), "zpar-iopub");
    if (!r || !(ws = zpar__sock_watcher_create (r, io->sub, on_sub, io)) ||
        !(wc = zpar__zmq_watcher_create (r, io->pub, ZPAR_EV_IN, on_pub, io)) ||
        !(wp = zpar__zmq_watcher_create (r, io->pipe, ZPAR_EV_IN, on_pipe, io))) {
        zpar__err ("iopub: cannot set up its loop: %s", strerror (errno));
        /* still wait for the stop, so that the owner's join returns */
        char buf[8];
        (void)zmq_recv (io->pipe, buf, sizeof (buf), 0);
    } else {
        zpar__watcher_start (ws);
        zpar__watcher_start (wc);
        zpar__watcher_start (wp);
        up_sync (io); /* everything, if not filtering */
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
    const char *filter = getenv ("ZPAR_IOPUB_FILTER");
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
    io->want_all = filter && strcmp (filter, "0") == 0;
    if (!(io->signer = zpar__signer_create (key, 0))) {
        zpar__errprintf (err, "iopub: cannot create a signer: %s", strerror (errno));
        goto error;
    }
    /* a name never used before: a closed socket's inproc name is freed
     * later, by libzmq's reaper (a new forwarder may reuse io's address) */
    snprintf (pipe_ep, sizeof (pipe_ep), "inproc://zpar-iopub-%p-%u", (void *)io,
              __atomic_add_fetch (&pipe_serial, 1, __ATOMIC_RELAXED));
    if (!(io->sub = zpar__bind_own (ctx, ZMQ_XSUB, ZPAR_NET_IOPUB, ZPAR_CURVE_ENGINE, 0, engine_ep,
                                    epsize, err)) ||
        !(io->pub = zpar__bind_socket_ex (ctx, ZMQ_XPUB, ZPAR_NET_PUB, ZPAR_CURVE_CLIENT, client_ep,
                                          epsize, err)) ||
        !(io->pipe = zpar__bind_socket (ctx, ZMQ_PAIR, pipe_ep, sizeof (pipe_ep), err)))
        goto error;
    /* the XSUB's receive limit (ZPAR_NETLIMIT_IOPUB_RCVHWM) is set by
     * zpar__bind_socket_ex before the bind: set now, it would reach no
     * engine's connection */
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

uint64_t zpar__iopub_upstream (const zpar_iopub_t *io)
{
    return io ? __atomic_load_n (&io->upstream, __ATOMIC_RELAXED) : 0;
}
