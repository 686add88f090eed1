/* sched_lb_out.c - the load-balanced scheduler's dispatches, sent in
 * batches (doc/protocol.md, "Batches"): the tasks one round of the policy's
 * actions gives an engine go to it as one message signed once.
 *
 * A round (zpar__lbio_run_actions) queues its DISPATCH actions here, one
 * slot per (engine, client routing identity): a batch travels with one
 * set of routing frames, and the engine answers each task with the
 * routing frames the task came with.  At the end of the round every slot
 * is sent: one task as an ordinary message (re-signed as before), more as
 * batches of at most ZPAR_BATCH_MAX within the size limit.  A send that
 * fails gives its tasks back to the policy (zpar__sched_lb_dispatch_failed,
 * the last dispatched first, so its undo is exact); the round then goes
 * on with what the policy decides next.  A large task (its body over
 * BATCH_ITEM_MAX) goes alone at once, and a steal first sends what waits
 * for that engine, so the engine sees the task before the request to give
 * it back. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "proto_batch.h"
#include "proto_monitor.h"
#include "proto_task.h"
#include "route.h"
#include "sched_lb_io_int.h"
#include "zrouter.h"

#define ATTEMPT_MASK 0xffu
/* a task body larger than this is sent alone: batching saves nothing */
#define BATCH_ITEM_MAX (64u * 1024)
/* engines (x clients) with tasks waiting in one round; more: send all */
#define SLOTS_MAX 1024

struct lbslot {
    uint32_t engine;
    size_t n, cap;
    payload_t **pl;  /* lent by the policy for the round */
    zpar_hdr_t *hdr; /* each task's header as dispatched */
};

/* The header task p goes to engine with. */
static zpar_hdr_t dispatch_hdr (const payload_t *p, const zpar_sched_lb_action_t *act)
{
    zpar_hdr_t h = p->hdr;
    h.engine = act->engine.v;
    h.flags =
        (h.flags & ~ATTEMPT_MASK) | (act->attempt > ATTEMPT_MASK ? ATTEMPT_MASK : act->attempt);
    /* signed for this engine (header.engine) on the task channel */
    h.flags = zpar__flags_with_chan (h.flags, ZPAR_CHAN_TASK);
    return h;
}

/* One task alone: signed for the engine and sent with its client's
 * routing frame, as it came. */
static int send_one (zpar_sched_lb_io_t *io, const zpar_route_t *route, payload_t *p, zpar_hdr_t *h)
{
    if (zpar__route_send_stack (io->engine, route, ZMQ_DONTWAIT) < 0)
        return -1;
    if ((p->idlen && zpar__sock_send (io->engine, zpar__payload_id (p), p->idlen,
                                      ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) ||
        zpar__wire_send_raw (io->engine, io->signer, ZPAR_CHAN_TASK, 0, NULL, h,
                             zpar__payload_body (p), p->blen, ZMQ_DONTWAIT) < 0)
        return -1;
    if (zpar__monitor_item (io->monitor, ZPAR_MON_TASK_RUN, h, NULL, 0) == 0)
        io->mon_items++;
    io->sent_alone++;
    return 0;
}

/* Items [from, to) of slot s as one batch (the builder holds them). */
static int send_batch (zpar_sched_lb_io_t *io, const zpar_route_t *route, struct lbslot *s,
                       size_t from, size_t to)
{
    size_t sent = 0;
    const payload_t *p = s->pl[from];
    zpar_ident_t env;

    /* the routing frame of the tasks' client, as each would carry alone
     * (zpar__lbio_dispatch sends a longer identity alone) */
    env.len = p->idlen;
    memcpy (env.data, zpar__payload_id (p), p->idlen);
    if (zpar__route_send_stack (io->engine, route, ZMQ_DONTWAIT) < 0) {
        zpar__batch_reset (io->batch);
        return -1;
    }
    if (zpar__batch_send (io->batch, io->engine, io->signer, ZPAR_CHAN_TASK, p->idlen ? 1 : 0, &env,
                          ZMQ_DONTWAIT, &sent) < 0)
        return -1;
    for (size_t i = from; i < to; i++)
        if (zpar__monitor_item (io->monitor, ZPAR_MON_TASK_RUN, &s->hdr[i], NULL, 0) == 0)
            io->mon_items++;
    io->batches++;
    io->sent_batched += to - from;
    return 0;
}

/* Give tasks [from, to) of slot s back to the policy, last first. */
static void failed (zpar_sched_lb_io_t *io, struct lbslot *s, size_t from, size_t to, int e)
{
    uint64_t now = zpar__reactor_now_us (io->reactor);
    for (size_t i = to; i > from; i--)
        (void)zpar__sched_lb_dispatch_failed (io->policy, zpar__tid (s->hdr[i - 1].task),
                                              zpar__eid (s->engine), e == EHOSTUNREACH, now);
}

/* Send items [from, to) of slot s (the builder holds them when more than
 * one): 0, or -1 with errno. */
static int send_range (zpar_sched_lb_io_t *io, const zpar_route_t *route, struct lbslot *s,
                       size_t from, size_t to)
{
    if (to - from == 1) {
        zpar__batch_reset (io->batch);
        return send_one (io, route, s->pl[from], &s->hdr[from]);
    }
    return send_batch (io, route, s, from, to);
}

/* Send slot s; the number of tasks that could not be sent (given back).
 * Once a send fails, the rest of the slot is given back too (the engine's
 * connection is the same for all). */
static size_t flush_slot (zpar_sched_lb_io_t *io, struct lbslot *s)
{
    const zpar_route_t *route = zpar__routes_get (io->routes, zpar__eid (s->engine));
    size_t nfail = 0, from = 0, i = 0, n = s->n;

    s->n = 0;
    if (!route) {
        failed (io, s, 0, n, EHOSTUNREACH);
        return n;
    }
    if (n == 1) {
        if (send_one (io, route, s->pl[0], &s->hdr[0]) < 0) {
            failed (io, s, 0, 1, errno);
            return 1;
        }
        return 0;
    }
    zpar__batch_reset (io->batch);
    while (i <= n) {
        int full = 0, bad = 0;
        if (i < n) {
            if (zpar__batch_add (io->batch, &s->hdr[i], zpar__payload_body (s->pl[i]),
                                 s->pl[i]->blen) == 0) {
                i++;
                continue;
            }
            if (errno == ENOSPC)
                full = 1;
            else
                bad = 1;
        }
        /* the end, the batch is full, or item i cannot go: send what waits */
        if (i > from && send_range (io, route, s, from, i) < 0) {
            failed (io, s, from, n, errno);
            return nfail + n - from;
        }
        from = i;
        if (bad) {
            /* not batchable (cannot be: the client's body was checked
             * when it came): alone, as it came */
            zpar__batch_reset (io->batch);
            if (send_one (io, route, s->pl[i], &s->hdr[i]) < 0) {
                failed (io, s, i, n, errno);
                return nfail + n - i;
            }
            from = ++i;
        } else if (!full)
            break;
        /* full: item i again, into the emptied builder */
    }
    return nfail;
}

size_t zpar__lbio_flush_dispatches (zpar_sched_lb_io_t *io)
{
    size_t nfail = 0;
    for (size_t k = 0; k < io->nslots; k++)
        nfail += flush_slot (io, &io->slots[k]);
    io->nslots = 0;
    return nfail;
}

void zpar__lbio_flush_engine (zpar_sched_lb_io_t *io, zpar_eid_t engine, size_t *nfail)
{
    for (size_t k = 0; k < io->nslots; k++)
        if (io->slots[k].engine == engine.v && io->slots[k].n)
            *nfail += flush_slot (io, &io->slots[k]);
}

/* The slot of (engine, client identity of p), made if need be. */
static struct lbslot *slot_for (zpar_sched_lb_io_t *io, uint32_t engine, payload_t *p)
{
    struct lbslot *s;

    for (size_t k = io->nslots; k > 0; k--) {
        s = &io->slots[k - 1];
        if (s->engine == engine && s->n == 0)
            return s; /* sent already (a steal): use it again */
        if (s->engine == engine && s->pl[0]->idlen == p->idlen &&
            memcmp (zpar__payload_id (s->pl[0]), zpar__payload_id (p), p->idlen) == 0)
            return s;
    }
    if (io->nslots == io->cslots) {
        size_t nc = io->cslots ? io->cslots * 2 : 8;
        struct lbslot *ns;
        if (nc > SLOTS_MAX)
            return NULL;
        if (!(ns = realloc (io->slots, nc * sizeof (*ns))))
            return NULL;
        memset (ns + io->cslots, 0, (nc - io->cslots) * sizeof (*ns));
        io->slots = ns;
        io->cslots = nc;
    }
    s = &io->slots[io->nslots++];
    s->engine = engine;
    s->n = 0;
    return s;
}

/* A resource task: alone, its body with the SLOT fields of the engines
 * it holds (they are not kept: a retry gets the slots of its new set). */
static int send_slots (zpar_sched_lb_io_t *io, const zpar_route_t *route, payload_t *p,
                       zpar_hdr_t *h, const zpar_sched_lb_action_t *act)
{
    uint8_t *body;
    size_t blen;
    int rc = -1;
    if (zpar__proto_task_body_slots (zpar__payload_body (p), p->blen, act->slots, act->nslots,
                                     &body, &blen) < 0)
        return -1;
    if (zpar__route_send_stack (io->engine, route, ZMQ_DONTWAIT) == 0 &&
        (!p->idlen || zpar__sock_send (io->engine, zpar__payload_id (p), p->idlen,
                                       ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) &&
        zpar__wire_send_raw (io->engine, io->signer, ZPAR_CHAN_TASK, 0, NULL, h, body, blen,
                             ZMQ_DONTWAIT) == 0) {
        if (zpar__monitor_item (io->monitor, ZPAR_MON_TASK_RUN, h, NULL, 0) == 0)
            io->mon_items++;
        io->sent_alone++;
        rc = 0;
    }
    free (body);
    return rc;
}

int zpar__lbio_dispatch (zpar_sched_lb_io_t *io, const zpar_sched_lb_action_t *act, size_t *nfail)
{
    payload_t *p = act->payload;
    zpar_hdr_t h = dispatch_hdr (p, act);
    const zpar_route_t *route = zpar__routes_get (io->routes, act->engine);
    struct lbslot *s;

    if (!route) {
        errno = EHOSTUNREACH;
        return -1;
    }
    if (act->nslots) {
        zpar__lbio_flush_engine (io, act->engine, nfail);
        return send_slots (io, route, p, &h, act);
    }
    /* large, a client identity longer than a batch's routing frame may
     * be, or no room to keep it: alone, now (after what waits for the
     * engine, to keep the order) */
    if (p->blen > BATCH_ITEM_MAX || p->idlen > ZPAR_MAX_IDENT || !io->batch ||
        !(s = slot_for (io, act->engine.v, p))) {
        zpar__lbio_flush_engine (io, act->engine, nfail);
        return send_one (io, route, p, &h);
    }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 4;
        payload_t **npl = realloc (s->pl, nc * sizeof (*npl));
        zpar_hdr_t *nh;
        if (npl)
            s->pl = npl;
        if (!npl || !(nh = realloc (s->hdr, nc * sizeof (*nh)))) {
            zpar__lbio_flush_engine (io, act->engine, nfail);
            return send_one (io, route, p, &h);
        }
        s->hdr = nh;
        s->cap = nc;
    }
    s->pl[s->n] = p;
    s->hdr[s->n] = h;
    s->n++;
    return 0;
}

void zpar__lbio_out_free (zpar_sched_lb_io_t *io)
{
    for (size_t k = 0; k < io->cslots; k++) {
        free (io->slots[k].pl);
        free (io->slots[k].hdr);
    }
    free (io->slots);
    io->slots = NULL;
    io->nslots = io->cslots = 0;
    zpar__batch_destroy (io->batch);
    io->batch = NULL;
}
