/* sched_lb_client.c - the load-balanced scheduler's batches with clients
 * (doc/protocol.md, "Batches"):
 *
 *   - a client's batch of requests is split and each item handled exactly
 *     as the same request arriving alone with the batch's routing frame
 *     (refused while new tasks are refused, an abort answered, a task to
 *     the policy); a malformed item, or one that is not a task or an
 *     abort, is dropped alone and counted;
 *   - the messages for clients that one drain produces (the engines'
 *     results the policy lets through, the scheduler's own answers) are
 *     held per client and sent when the drain ends: one message as it
 *     came (an engine's result keeps the engine's signature; an item of
 *     an engine's batch is re-signed), more as one batch signed once.
 *
 * Everything runs in the scheduler's thread.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "proto_batch.h"
#include "sched_lb_io_int.h"
#include "wire.h"

/* Clients held at once: a drain that reaches more sends what it has. */
#define OUTBOX_CLIENTS 64

typedef struct {
    zpar_ident_t ident; /* the client's routing identity */
    zpar_frames_t lone; /* the first message, as frames (n 0: none) */
    int lone_from;      /* lone's routing frame (frames before it are not sent) */
    zpar_batch_t *b;    /* the items, once there are two or more */
} outbox_t;

struct zpar_lbio_clients {
    outbox_t box[OUTBOX_CLIENTS];
    int n;
    int off;                       /* $ZPAR_SCHED_CLIENT_BATCH=0: every message to a client alone */
    uint64_t batches, items;       /* sent as batches, and the items in them */
    uint64_t sent;                 /* messages sent to clients (batches and lone) */
    uint64_t in_batches, in_items; /* batches received from clients, their items */
};

static zpar_lbio_clients_t *clients (zpar_sched_lb_io_t *io);

/* ------------------------------------------------------------ requests */

void zpar__lbio_client_batch (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h)
{
    zpar_batch_iter_t it;
    zpar_error_t err;
    zpar_hdr_t ih;
    const void *body;
    size_t blen;
    int rc;
    (void)h;
    if (zpar__batch_iter_frames (&it, f, &err) < 0) {
        errno = EPROTO;
        zpar__lbio_drop (io, "client", err.text);
        zpar__frames_close (f);
        return;
    }
    if (clients (io)) {
        io->clients->in_batches++;
        io->clients->in_items += it.items;
    }
    while ((rc = zpar__batch_next (&it, &ih, &body, &blen, &err)) != 0) {
        zpar_frames_t item;
        if (rc < 0) {
            errno = EPROTO;
            zpar__lbio_drop (io, "client", err.text);
            continue;
        }
        if (!zpar__lbio_client_type_ok (io, ih.type)) {
            errno = EPROTO;
            zpar__lbio_drop (io, "client", "batch item: not a task or abort request");
            continue;
        }
        if (zpar__batch_item_frames (f, &ih, body, blen, &item) < 0) {
            zpar__lbio_drop (io, "client", "batch item: out of memory");
            continue;
        }
        zpar__lbio_client_item (io, &item, &ih); /* takes the item's frames */
    }
    zpar__frames_close (f);
}

/* ------------------------------------------------------------ to clients */

static zpar_lbio_clients_t *clients (zpar_sched_lb_io_t *io)
{
    if (!io->clients && (io->clients = calloc (1, sizeof (*io->clients)))) {
        const char *v = getenv ("ZPAR_SCHED_CLIENT_BATCH");
        io->clients->off = v && strcmp (v, "0") == 0;
    }
    return io->clients;
}

/* Send box's messages and empty it (its builder is kept). */
static void box_send (zpar_sched_lb_io_t *io, zpar_lbio_clients_t *cl, outbox_t *box)
{
    size_t n = box->b ? zpar__batch_count (box->b) : 0;
    if (n || box->lone.n)
        cl->sent++;
    if (n) {
        if (zpar__batch_send (box->b, io->client, io->signer, ZPAR_CHAN_TASK, 1, &box->ident,
                              ZMQ_DONTWAIT, NULL) == 0 &&
            n > 1) {
            cl->batches++;
            cl->items += n;
        }
    } else if (box->lone.n) {
        /* as today: an engine's result goes with the engine's signature */
        (void)zpar__frames_send (io->client, &box->lone, box->lone_from, ZMQ_DONTWAIT);
    }
    zpar__frames_close (&box->lone);
}

static int sig_is_zero (const zpar_frames_t *f)
{
    const uint8_t *s = zmq_msg_data ((zmq_msg_t *)&f->part[f->delim + 1]);
    uint8_t acc = 0;
    if (zmq_msg_size ((zmq_msg_t *)&f->part[f->delim + 1]) != ZPAR_SIG_LEN)
        return 1;
    for (int i = 0; i < ZPAR_SIG_LEN; i++)
        acc |= s[i];
    return acc == 0;
}

/* The box of the client with this routing identity (a new one if none);
 * NULL when out of memory. */
static outbox_t *box_of (zpar_sched_lb_io_t *io, const void *id, size_t len)
{
    zpar_lbio_clients_t *cl = clients (io);
    outbox_t *box;
    if (!cl || cl->off || len == 0 || len > ZPAR_MAX_IDENT)
        return NULL;
    for (int i = 0; i < cl->n; i++)
        if (cl->box[i].ident.len == len && memcmp (cl->box[i].ident.data, id, len) == 0)
            return &cl->box[i];
    if (cl->n == OUTBOX_CLIENTS)
        zpar__lbio_clients_flush (io); /* many clients in one drain: send what is held */
    box = &cl->box[cl->n];
    if (!box->b && !(box->b = zpar__batch_create ()))
        return NULL;
    cl->n++;
    box->ident.len = len;
    memcpy (box->ident.data, id, len);
    return box;
}

/* Add an item to box's builder; a full builder is sent first. */
static int box_add (zpar_sched_lb_io_t *io, outbox_t *box, const zpar_frames_t *f,
                    const zpar_msg_t *m)
{
    for (int tries = 0; tries < 2; tries++) {
        int rc = f ? zpar__batch_add_frames (box->b, f, NULL) : zpar__batch_add_msg (box->b, m);
        if (rc == 0)
            return 0;
        if (errno != ENOSPC)
            return -1;
        box_send (io, clients (io), box);
    }
    return -1;
}

/* The lone message becomes the builder's first item. */
static int box_unlone (zpar_sched_lb_io_t *io, outbox_t *box)
{
    int rc;
    if (!box->lone.n)
        return 0;
    rc = box_add (io, box, &box->lone, NULL);
    zpar__frames_close (&box->lone);
    return rc;
}

/* f to its client at once, alone: as it came, or re-signed when it is an
 * item of a batch (no valid signature).  Takes f. */
static void send_alone (zpar_sched_lb_io_t *io, zpar_frames_t *f, int from)
{
    if (f->delim >= 0 && f->n == f->delim + 4 && sig_is_zero (f)) {
        zpar_hdr_t h;
        if (zmq_msg_size (&f->part[f->delim + 2]) != ZPAR_HDR_LEN) {
            zpar__frames_close (f);
            return;
        }
        zpar__hdr_decode (zmq_msg_data (&f->part[f->delim + 2]), &h);
        h.flags = zpar__flags_with_chan (h.flags, ZPAR_CHAN_TASK);
        if (zpar__frames_resign (io->signer, f, &h) < 0) {
            zpar__frames_close (f);
            return;
        }
    }
    (void)zpar__frames_send (io->client, f, from, ZMQ_DONTWAIT);
}

void zpar__lbio_to_client (zpar_sched_lb_io_t *io, zpar_frames_t *f, int from)
{
    outbox_t *box;
    if (f->delim < 0 || from >= f->delim || f->n != f->delim + 4 ||
        !(box = box_of (io, zmq_msg_data (&f->part[from]), zmq_msg_size (&f->part[from])))) {
        send_alone (io, f, from);
        return;
    }
    if (!box->lone.n && zpar__batch_count (box->b) == 0 && !sig_is_zero (f)) {
        box->lone = *f; /* held as it came: the frames move */
        box->lone_from = from;
        f->n = 0;
        return;
    }
    if (box_unlone (io, box) < 0 || box_add (io, box, f, NULL) < 0)
        zpar__lbio_drop (io, "engine", "a result for a client could not be batched");
    zpar__frames_close (f);
}

void zpar__lbio_to_client_msg (zpar_sched_lb_io_t *io, const void *id, size_t len, zpar_msg_t *m)
{
    outbox_t *box = box_of (io, id, len);
    if (!box) {
        m->nenv = 0;
        if (zpar__msg_push_ident (m, id, len) == 0)
            (void)zpar__wire_send_chan (io->client, io->signer, ZPAR_CHAN_TASK, m, ZMQ_DONTWAIT);
        return;
    }
    if (box_unlone (io, box) < 0 || box_add (io, box, NULL, m) < 0)
        zpar__lbio_drop (io, "client", "an answer to a client could not be batched");
}

void zpar__lbio_clients_flush (zpar_sched_lb_io_t *io)
{
    zpar_lbio_clients_t *cl = io->clients;
    if (!cl)
        return;
    for (int i = 0; i < cl->n; i++)
        box_send (io, cl, &cl->box[i]);
    cl->n = 0;
}

void zpar__lbio_clients_destroy (zpar_sched_lb_io_t *io)
{
    zpar_lbio_clients_t *cl = io ? io->clients : NULL;
    if (!cl)
        return;
    zpar__info ("task scheduler: from clients %llu batches of %llu requests; to clients %llu "
                "messages, %llu of them batches of %llu results",
                (unsigned long long)cl->in_batches, (unsigned long long)cl->in_items,
                (unsigned long long)cl->sent, (unsigned long long)cl->batches,
                (unsigned long long)cl->items);
    for (int i = 0; i < OUTBOX_CLIENTS; i++) {
        zpar__frames_close (&cl->box[i].lone);
        zpar__batch_destroy (cl->box[i].b);
    }
    free (cl);
    io->clients = NULL;
}

void zpar__lbio_clients_stats (const zpar_sched_lb_io_t *io, uint64_t *batches, uint64_t *items)
{
    const zpar_lbio_clients_t *cl = io ? io->clients : NULL;
    *batches = cl ? cl->batches : 0;
    *items = cl ? cl->items : 0;
}
