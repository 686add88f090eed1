/* sched_lb_io.c - the load-balanced task scheduler's thread and sockets:
 * clients' and engines' messages, the policy's actions carried out.  The
 * hub's commands: sched_lb_pipe.c. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "admit.h"
#include "error.h"
#include "log.h"
#include "proto_control.h"
#include "proto_monitor.h"
#include "proto_pipe.h"
#include "proto_result.h"
#include "proto_task.h"
#include "reactor.h"
#include "route.h"
#include "sched_lb.h"
#include "sched_lb_io.h"
#include "sched_lb_io_int.h"
#include "sockutil.h"
#include "wire.h"
#include "zpar.h"
#include "zrouter.h"

void zpar__lbio_payload_free (void *p, void *arg)
{
    (void)arg;
    free (p);
}

static void drop (zpar_sched_lb_io_t *io, const char *side, const char *why)
{
    io->dropped++;
    io->droplog.who = "task scheduler";
    zpar__droplog (&io->droplog, zpar__drop_kind (errno), "task scheduler: %s message dropped: %s",
                   side, why);
}

void zpar__lbio_drop (zpar_sched_lb_io_t *io, const char *side, const char *why)
{
    drop (io, side, why);
}

/* ------------------------------------------------------------ actions */

/* Ask an engine, on its task queue, to give a task back (STEAL, an
 * ABORT: it answers "aborted" if the task had not started, with a control
 * reply if it had) or to stop it (STOP, an INTERRUPT naming the task: its
 * result comes back as any other; the control reply is dropped as a
 * refused steal of a task not being stolen). */
static int ask_engine (zpar_sched_lb_io_t *io, const zpar_sched_lb_action_t *act)
{
    int stop = act->kind == ZPAR_SCHED_LB_ACT_STOP;
    zpar_proto_control_t c = {
        .h = {.task = act->task, .engine = act->engine, .client = act->client},
        .op = stop ? ZPAR_CONTROL_INTERRUPT : ZPAR_CONTROL_ABORT,
        .only_task = stop ? act->task.v : 0,
    };
    const zpar_route_t *route = zpar__routes_get (io->routes, act->engine);
    zpar_msg_t *m;
    int rc = -1;
    if (!route) {
        errno = EHOSTUNREACH;
        return -1;
    }
    if (!(m = zpar__msg_create (stop ? ZPAR_MSG_INTERRUPT : ZPAR_MSG_ABORT)))
        return -1;
    if (zpar__proto_control_encode (m, &c) == 0 &&
        (!zpar__route_relayed (route) ||
         zpar__msg_push_ident (m, route->via, sizeof (route->via)) == 0) &&
        zpar__msg_push_ident (m, route->b, sizeof (route->b)) == 0 &&
        zpar__msg_push_ident (m, "sched", 5) == 0)
        rc = zpar__wire_send_chan (io->engine, io->signer, ZPAR_CHAN_TASK, m, ZMQ_DONTWAIT);
    zpar__msg_destroy (m);
    return rc;
}

/* A result we produce ourselves, to the task's client and the hub. */
static void answer (zpar_sched_lb_io_t *io, const zpar_sched_lb_action_t *act)
{
    payload_t *p = act->payload;
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_RESULT);
    zpar_proto_result_t res;

    zpar__proto_result_error (&res, act->task, act->engine, act->client, act->status, act->text);
    res.attempt = act->attempt;
    if (m && zpar__proto_result_encode (m, &res) == 0) {
        if (p && p->idlen > 0) /* with the client's other results of this round */
            zpar__lbio_to_client_msg (io, zpar__payload_id (p), p->idlen, m);
        if (zpar__monitor_send_msg (io->monitor, io->signer, ZPAR_MON_TASK_OUT, m) == 0)
            io->mon_items++;
    }
    zpar__msg_destroy (m);
    zpar__lbio_payload_free (p, NULL);
}

static void retry_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg);

/* Carry out what the policy decided. */
void zpar__lbio_run_actions (zpar_sched_lb_io_t *io)
{
    zpar_sched_lb_action_t act;
    size_t nfail;
    zpar__sched_lb_now (io->policy, zpar__reactor_now_us (io->reactor));
    /* a round: the actions, then the tasks it dispatched sent together;
     * tasks that could not be sent went back to the policy: its next
     * decisions make another round */
    do {
        nfail = 0;
        while (zpar__sched_lb_next_action (io->policy, &act) == 1) {
            switch (act.kind) {
            case ZPAR_SCHED_LB_ACT_DISPATCH:
                if (zpar__lbio_dispatch (io, &act, &nfail) < 0) {
                    (void)zpar__sched_lb_dispatch_failed (io->policy, act.task, act.engine,
                                                          errno == EHOSTUNREACH,
                                                          zpar__reactor_now_us (io->reactor));
                    nfail++;
                }
                break;
            case ZPAR_SCHED_LB_ACT_STEAL:
                /* the task asked back goes first */
                zpar__lbio_flush_engine (io, act.engine, &nfail);
                if (ask_engine (io, &act) < 0)
                    (void)zpar__sched_lb_steal_failed (io->policy, act.task);
                break;
            case ZPAR_SCHED_LB_ACT_STOP:
                zpar__lbio_flush_engine (io, act.engine, &nfail);
                if (ask_engine (io, &act) < 0) {
                    zpar__warn ("task %llu: the stop for engine %u not sent: %s (sent again "
                                "later)",
                                (unsigned long long)act.task.v, act.engine.v, strerror (errno));
                    (void)zpar__sched_lb_stop_failed (io->policy, act.task);
                }
                break;
            case ZPAR_SCHED_LB_ACT_ANSWER:
                answer (io, &act);
                break;
            case ZPAR_SCHED_LB_ACT_ASK_HUB:
                (void)zpar__pipe_send_dep_query (io->pipe, act.task.v, ZMQ_DONTWAIT);
                break;
            default:
                break;
            }
        }
        nfail += zpar__lbio_flush_dispatches (io);
    } while (nfail);
    /* engines registered but not connected yet: look again every 5 ms */
    if (zpar__sched_lb_waiting_engines (io->policy)) {
        if (!zpar__watcher_active (io->w_retry))
            zpar__timer_watcher_reset (io->w_retry, ZPAR_SCHED_LB_RETRY_US / 1000,
                                       ZPAR_SCHED_LB_RETRY_US / 1000);
    } else if (zpar__watcher_active (io->w_retry))
        zpar__watcher_stop (io->w_retry);
    zpar__lbio_clients_flush (io);
    /* O(1): the full stats walk the queue (20,000 tasks pipelined) */
    io->duplicates = zpar__sched_lb_dropped_dups (io->policy) + io->stale;
    /* what this round recorded goes to the hub as one message */
    (void)zpar__monitor_flush (io->monitor);
}

static void retry_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_sched_lb_io_t *io = arg;
    (void)w;
    (void)revents;
    zpar__sched_lb_tick (io->policy, zpar__reactor_now_us (r));
    zpar__lbio_run_actions (io);
}

/* ------------------------------------------------------------ clients */

static void handle_abort (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h)
{
    zpar_proto_control_reply_t rep = {
        .h = {.task = zpar__tid (h->task), .client = zpar__cid (h->client)},
    };
    zpar_msg_t *m;
    int aborted = 0;

    (void)zpar__sched_lb_abort (io->policy, rep.h.task, &aborted, &rep.engine);
    rep.count = (uint64_t)aborted;
    if (!(m = zpar__msg_create (ZPAR_MSG_CONTROL_REPLY)))
        return;
    if (zpar__proto_control_reply_encode (m, &rep) == 0 &&
        zpar__msg_push_ident (m, zmq_msg_data (&f->part[0]), zmq_msg_size (&f->part[0])) == 0)
        (void)zpar__wire_send_chan (io->client, io->signer, ZPAR_CHAN_TASK, m, ZMQ_DONTWAIT);
    zpar__msg_destroy (m);
}

/* While the controller refuses new tasks (admit.h): answer the request
 * at once with an error result, neither run nor recorded.  1 if refused
 * (f closed). */
static int refused (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h)
{
    char why[ZPAR_ERROR_TEXT_MAX];
    zpar_proto_result_t res;
    zpar_msg_t *m;
    if (!zpar__admit_refused (why, sizeof (why)))
        return 0;
    zpar__proto_result_error (&res, zpar__tid (h->task), zpar__eid (0), zpar__cid (h->client),
                              ZPAR_STATUS_ERROR, why);
    res.errnum = ENOSPC;
    if ((m = zpar__msg_create (ZPAR_MSG_RESULT)) && zpar__proto_result_encode (m, &res) == 0)
        zpar__lbio_to_client_msg (io, zmq_msg_data (&f->part[0]), zmq_msg_size (&f->part[0]), m);
    zpar__msg_destroy (m);
    zpar__frames_close (f);
    return 1;
}

/* Decode a task request (f: checked, delim 1) into t and a compact
 * payload (a copy: f is left intact); *pt holds t's arrays (clear it).
 * NULL when f is not a task (dropped, f closed) or out of memory (f
 * closed). */
static payload_t *task_payload (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h,
                                zpar_proto_task_t *pt, zpar_sched_lb_task_t *t)
{
    zpar_error_t err;
    payload_t *p;
    size_t idlen, blen;

    if (zpar__frames_decode (f, io->scratch, &err) < 0 ||
        zpar__proto_task_decode (io->scratch, pt, &err) < 0) {
        drop (io, "client", err.text);
        zpar__frames_close (f);
        return NULL;
    }
    /* frames_decode checked the layout: [id..., delim, sig, hdr, body] */
    idlen = f->delim > 0 ? zmq_msg_size (&f->part[0]) : 0;
    blen = zmq_msg_size (&f->part[f->delim + 3]);
    if (idlen > UINT32_MAX || blen > UINT32_MAX || !(p = malloc (sizeof (*p) + idlen + blen))) {
        zpar__proto_task_clear (pt);
        zpar__frames_close (f);
        return NULL;
    }
    p->hdr = *h;
    p->idlen = (uint32_t)idlen;
    if (idlen)
        memcpy (p->data, zmq_msg_data (&f->part[0]), idlen);
    p->blen = (uint32_t)zpar__proto_task_body_copy (io->scratch, pt, p->data + idlen);
    *t = (zpar_sched_lb_task_t){
        .id = pt->h.task,
        .client = pt->h.client,
        .priority = pt->priority,
        .retries = (unsigned)pt->retries,
        .targets = pt->targets,
        .ntargets = pt->ntargets,
        .after = pt->after,
        .nafter = pt->nafter,
        .payload = p,
        .timeout_ms = pt->timeout_ms,
        .res = zpar__proto_task_res (pt, &io->res) ? &io->res : NULL, /* the policy copies it */
    };
    return p;
}

payload_t *zpar__lbio_task_payload (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h,
                                    zpar_proto_task_t *pt, zpar_sched_lb_task_t *t)
{
    payload_t *p = task_payload (io, f, h, pt, t);
    if (p)
        zpar__frames_close (f);
    return p;
}

/* A task request (f: checked, delim 1): hand it to the policy. */
void zpar__lbio_new_task (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h)
{
    zpar_proto_task_t pt;
    payload_t *p;
    zpar_sched_lb_task_t t;

    if (refused (io, f, h) || !(p = task_payload (io, f, h, &pt, &t)))
        return;
    if (zpar__monitor_copy (io->monitor, ZPAR_MON_TASK_IN, f, NULL) == 0)
        io->mon_items++;
    zpar__frames_close (f); /* the frames go back to libzmq now */
    if (zpar__sched_lb_submit (io->policy, &t) < 0) {
        zpar__err ("task scheduler: task %llu dropped: %s", (unsigned long long)t.id.v,
                   strerror (errno));
        zpar__lbio_payload_free (p, NULL);
    }
    zpar__proto_task_clear (&pt);
}

/* Messages are dispatched by type (or pipe command) through tables of
 * handlers.  A message handler owns the frames it is given. */
typedef void (*msg_handler_f) (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h);

static void on_task (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h)
{
    zpar__lbio_new_task (io, f, h);
}

static void on_abort (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h)
{
    handle_abort (io, f, h);
    zpar__frames_close (f);
}

/* pure: requests go to the engines as they are, round robin */
static void on_pure_request (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h)
{
    if (refused (io, f, h))
        return;
    if (zpar__monitor_copy (io->monitor, ZPAR_MON_TASK_IN, f, NULL) == 0)
        io->mon_items++;
    (void)zpar__frames_send (io->engine, f, 0, ZMQ_DONTWAIT); /* closes the frames on failure */
}

/* An engine's result: the policy says whether it goes to its client. */
static void on_result (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h)
{
    zpar_error_t err;
    uint64_t status;
    if (zpar__frames_decode (f, io->scratch, &err) < 0) {
        drop (io, "engine", err.text);
        zpar__frames_close (f);
        return;
    }
    status = zpar__proto_result_status (io->scratch);
    if (zpar__sched_lb_result_at (io->policy, zpar__tid (h->task), zpar__eid (h->engine),
                                  (zpar_status_t)status,
                                  h->flags & 0xffu) == ZPAR_SCHED_LB_SWALLOW) {
        zpar__frames_close (f);
        return;
    }
    if (zpar__monitor_copy (io->monitor, ZPAR_MON_TASK_OUT, f, NULL) == 0)
        io->mon_items++;
    if (io->pass && io->npass < ZPAR_BATCH_MAX) {
        /* an item of an engine's batch: held until the batch is done
         * (handle_batch: the batch goes on as it came if every item does) */
        io->pass[io->npass++] = *f;
        f->n = 0;
        return;
    }
    zpar__lbio_to_client (io, f, 1); /* with the client's other results of this drain */
}

/* The answer to a steal when the task had already started. */
static void on_steal_refused (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h)
{
    (void)zpar__sched_lb_steal_refused (io->policy, zpar__tid (h->task));
    zpar__frames_close (f);
}

static void on_pure_result (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h)
{
    (void)h;
    if (zpar__monitor_copy (io->monitor, ZPAR_MON_TASK_OUT, f, NULL) == 0)
        io->mon_items++;
    (void)zpar__frames_send (io->client, f, 0, ZMQ_DONTWAIT); /* closes the frames on failure */
}

/* [scheme][message type] */
static const msg_handler_f client_handlers[2][ZPAR_MSG_TYPE_MAX] = {
    {[ZPAR_MSG_TASK] = on_task,
     [ZPAR_MSG_ABORT] = on_abort,
     [ZPAR_MSG_BATCH] = zpar__lbio_client_batch},
    {[ZPAR_MSG_TASK] = on_pure_request,
     [ZPAR_MSG_ABORT] = on_pure_request,
     [ZPAR_MSG_BATCH] = zpar__lbio_client_batch},
};
static const msg_handler_f engine_handlers[2][ZPAR_MSG_TYPE_MAX] = {
    {[ZPAR_MSG_RESULT] = on_result, [ZPAR_MSG_CONTROL_REPLY] = on_steal_refused},
    {[ZPAR_MSG_RESULT] = on_pure_result},
};

int zpar__lbio_client_type_ok (const zpar_sched_lb_io_t *io, int type)
{
    return type > 0 && type < ZPAR_MSG_TYPE_MAX && type != ZPAR_MSG_BATCH &&
           client_handlers[io->pure][type] != NULL;
}

void zpar__lbio_client_item (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h)
{
    zpar_hdr_t sh = *h;
    /* pure forwards requests as they are: an item needs a signature */
    if (io->pure && zpar__frames_resign (io->signer, f, &sh) < 0) {
        zpar__frames_close (f);
        return;
    }
    client_handlers[io->pure][h->type](io, f, &sh);
}

/* Drain sock: verify each message, check its routing frames (delim) and
 * hand it to the handler of its type, or drop it. */
/* Whether engine message f comes from the routing identity of the engine
 * it names.  An identity this thread does not know yet may be in a hub
 * command still waiting in the pipe (an engine that registers gets its
 * reply, with its identity, after the hub told us; when both are ready at
 * once the engine's message is read first): read the pipe once, then
 * check again. */
static int route_ok (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h, int *piped,
                     const uint8_t *via)
{
    const void *id = zmq_msg_data (&f->part[0]);
    size_t len = zmq_msg_size (&f->part[0]);
    if (zpar__routes_check_via (io->routes, id, len, via).v == h->engine)
        return 1;
    if (*piped || !h->engine || zpar__route_engine (id, len).v != h->engine)
        return 0;
    *piped = 1;
    zpar__lbio_pipe_cb (io->reactor, io->w_pipe, 0, io);
    return zpar__routes_check_via (io->routes, id, len, via).v == h->engine;
}

/* One checked message f (relay frame stripped) to the handler of its
 * type, or dropped.  Takes f. */
static void handle (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h, const char *side,
                    int delim, const msg_handler_f *handlers, const char *expected, int *piped,
                    const uint8_t *via)
{
    if (f->delim != delim || h->type >= ZPAR_MSG_TYPE_MAX || !handlers[h->type]) {
        errno = ENOMSG; /* counted as unexpected */
        drop (io, side, expected);
        zpar__frames_close (f);
        return;
    }
    /* leastload, from an engine: the routing identity the hub gave the
     * engine that signed it, nobody else's */
    if (handlers == engine_handlers[0] && !route_ok (io, f, h, piped, via)) {
        if (h->engine &&
            zpar__route_engine (zmq_msg_data (&f->part[0]), zmq_msg_size (&f->part[0])).v ==
                h->engine) {
            /* signed by the engine it names, through a connection of
             * an earlier registration (what its queue sockets held
             * when a restarted controller came up): stale, not forged
             * (counted with the duplicates); the engine sends again
             * what matters once registered */
            io->stale++;
            zpar__debug ("task scheduler: stale message of engine %u dropped (an earlier "
                         "connection of it)",
                         h->engine);
        } else {
            errno = EPERM;
            drop (io, side, "not from the routing identity of the engine it names");
        }
        zpar__frames_close (f);
        return;
    }
    handlers[h->type](io, f, h);
}

/* A batch (checked; relay frame stripped): each item handled as if it
 * had come alone with the batch's routing frames (doc/protocol.md,
 * "Batches"); a bad item is dropped alone.  Takes f. */
static void handle_batch (zpar_sched_lb_io_t *io, zpar_frames_t *f, const char *side, int delim,
                          const msg_handler_f *handlers, const char *expected, int *piped,
                          const uint8_t *via)
{
    zpar_batch_iter_t it;
    zpar_error_t err;
    zpar_hdr_t ih;
    const void *body;
    size_t blen;
    int rc;

    if (f->delim != delim) {
        errno = ENOMSG;
        drop (io, side, expected);
        zpar__frames_close (f);
        return;
    }
    if (zpar__batch_iter_frames (&it, f, &err) < 0) {
        errno = EPROTO;
        drop (io, side, err.text);
        zpar__frames_close (f);
        return;
    }
    /* results the policy lets through are held in io->pass: when every
     * item of the batch is (the usual case), the engine's batch goes to
     * its client as it came, signed by the engine, and nothing is signed
     * again; else each goes with the client's other messages */
    if (!io->pass_buf)
        io->pass_buf = calloc (ZPAR_BATCH_MAX, sizeof (*io->pass_buf));
    io->pass = io->pass_buf;
    io->npass = 0;
    while ((rc = zpar__batch_next (&it, &ih, &body, &blen, &err)) != 0) {
        zpar_frames_t item;
        if (rc < 0) {
            errno = EPROTO;
            drop (io, side, err.text);
            continue;
        }
        if (zpar__batch_item_frames (f, &ih, body, blen, &item) < 0) {
            drop (io, side, "out of memory");
            continue;
        }
        handle (io, &item, &ih, side, delim, handlers, expected, piped, via);
    }
    io->pass = NULL;
    if (io->npass && io->npass == it.items) {
        for (size_t i = 0; i < io->npass; i++)
            zpar__frames_close (&io->pass_buf[i]);
        io->passed_whole++;
        (void)zpar__frames_send (io->client, f, 1, ZMQ_DONTWAIT); /* closes f on failure */
    } else {
        for (size_t i = 0; i < io->npass; i++)
            zpar__lbio_to_client (io, &io->pass_buf[i], 1);
        zpar__frames_close (f);
    }
    io->npass = 0;
}

/* Drain sock: verify each message, check its routing frames (delim) and
 * hand it to the handler of its type, or drop it; a batch item by item. */
static void drain (zpar_sched_lb_io_t *io, void *sock, const char *side, int delim,
                   const msg_handler_f *handlers, const char *expected)
{
    int piped = 0;
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        zpar_hdr_t h;
        zpar_error_t err;
        uint8_t via[ZPAR_RELAY_ID_LEN] = {0};
        if (zpar__frames_recv (sock, &f, ZMQ_DONTWAIT) < 0) {
            if (errno == EPROTO) {
                drop (io, side, "too many frames");
                continue;
            }
            break;
        }
        if (zpar__frames_check_chan (io->signer, ZPAR_CHAN_TASK, &f, &h, &err) < 0) {
            drop (io, side, err.text);
            zpar__frames_close (&f);
            continue;
        }
        /* through a relay: [relay id, engine, ...] (route.h) */
        if (handlers == engine_handlers[0])
            (void)zpar__route_frames_strip (&f, via);
        /* an engine's batch is split here (each item checked as the
         * message alone); a client's goes to its handler
         * (sched_lb_client.c) */
        if (h.type == ZPAR_MSG_BATCH && handlers == engine_handlers[0])
            handle_batch (io, &f, side, delim, handlers, expected, &piped, via);
        else
            handle (io, &f, &h, side, delim, handlers, expected, &piped, via);
    }
    /* what this drain left in a zrouter's queue keeps its fd readable */
    zpar__zrouter_done (zpar__zrouter_of (sock));
    if (!io->pure)
        zpar__lbio_run_actions (io);
    /* this drain's records go to the hub as one message (run_actions
     * flushed already; a second flush of an empty pack costs nothing) */
    (void)zpar__monitor_flush (io->monitor);
    zpar__lbio_clients_flush (io);
}

static void client_drain (void *arg)
{
    zpar_sched_lb_io_t *io = arg;
    drain (io, io->client, "client", 1, client_handlers[io->pure], "not a task or abort request");
}

void zpar__lbio_engine_drain (zpar_sched_lb_io_t *io)
{
    /* while the hub is far behind, results wait in the engines' sockets
     * (sched_lb_pipe.c) */
    if (zpar__lbio_hub_behind (io))
        return;
    /* leastload: [engine, client, ...]; pure (DEALER): [client, ...] */
    drain (io, io->engine, "engine", io->pure ? 1 : 2, engine_handlers[io->pure], "not a result");
}

static void engine_drain (void *arg)
{
    zpar__lbio_engine_drain (arg);
}

/* A turn of sock (sockutil.h): its I/O when zpar does it (zrouter.h), then
 * its drain.  The drain calls zpar__zrouter_done itself: the hub pipe runs
 * the engine drain without I/O too (sched_lb_pipe.c).  A failed I/O is
 * logged after the drain, which took what earlier turns queued. */
static void sock_turn (zpar_sched_lb_io_t *io, void *sock, zpar_sock_drain_f drain_f)
{
    if (zpar__sock_turn (sock, drain_f, io, ZPAR_TURN_DONE_IN_DRAIN) < 0)
        zpar__warn ("task scheduler: %s socket: %s", sock == io->client ? "client" : "engine",
                    strerror (errno));
}

static void client_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_sched_lb_io_t *io = arg;
    (void)r;
    (void)w;
    (void)revents;
    sock_turn (io, io->client, client_drain);
}

static void engine_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_sched_lb_io_t *io = arg;
    (void)r;
    (void)w;
    (void)revents;
    sock_turn (io, io->engine, engine_drain);
}

/* ------------------------------------------------------------ lifecycle */

static void *sched_thread (void *arg)
{
    zpar_sched_lb_io_t *io = arg;
    (void)pthread_setname_np (pthread_self (), "zpar-sched");
    if (zpar__reactor_run (io->reactor) < 0)
        zpar__err ("task scheduler: event loop failed: %s", strerror (errno));
    return NULL;
}

zpar_sched_lb_io_t *zpar__sched_lb_io_start (void *ctx, const char *scheme, unsigned hwm,
                                             char *client_ep, char *engine_ep, size_t epsize,
                                             const char *monitor_ep, const char *pipe_ep,
                                             const uint8_t *key, zpar_error_t *err)
{
    zpar_sched_lb_io_t *io = calloc (1, sizeof (*io));
    int zero = 0;
    char pep[128];

    if (!io) {
        zpar__errprintf (err, "out of memory");
        return NULL;
    }
    if (scheme && strcmp (scheme, "pure") == 0)
        io->pure = 1;
    else if (scheme && strcmp (scheme, "leastload") != 0) {
        zpar__errnoprintf (err, EINVAL, "unknown task scheme '%s': use leastload or pure", scheme);
        free (io);
        return NULL;
    }
    if (!hwm) {
        const char *env = getenv ("ZPAR_HWM");
        hwm = env && atoi (env) > 0 ? (unsigned)atoi (env) : ZPAR_SCHED_LB_DEFAULT_HWM;
    }
    {
        const char *env = getenv ("ZPAR_SCHED_HUB_BACKLOG");
        io->hub_max = env && *env ? strtoull (env, NULL, 10) : ZPAR_LBIO_HUB_MAX;
    }
    if (!(io->policy = zpar__sched_lb_create (hwm, zpar__lbio_payload_free, NULL))) {
        zpar__errprintf (err, "cannot create the scheduling policy: %s", strerror (errno));
        goto error;
    }
    {
        /* ZPAR_HWM_LOW: the refill mark (sched_lb.h); 0 = refill per task */
        const char *env = getenv ("ZPAR_HWM_LOW");
        if (env && *env)
            zpar__sched_lb_set_low (io->policy, (unsigned)atoi (env));
    }
    if (!(io->signer = zpar__signer_create (key, 0)) || !(io->scratch = zpar__msg_create (0)) ||
        (!zpar__no_engine_batch () && !(io->batch = zpar__batch_create ())) ||
        !(io->routes = zpar__routes_create ()) || !(io->reactor = zpar__reactor_create ())) {
        zpar__errprintf (err, "out of memory");
        goto error;
    }
    if (io->pure) { /* libzmq's own round robin */
        if (!(io->client = zpar__bind_socket_side (ctx, ZMQ_ROUTER, ZPAR_CURVE_CLIENT, client_ep,
                                                   epsize, err)) ||
            !(io->engine = zpar__bind_socket_side (ctx, ZMQ_DEALER, ZPAR_CURVE_ENGINE, engine_ep,
                                                   epsize, err)))
            goto error;
    } else if (!(io->client =
                     zpar__bind_task_router (ctx, ZPAR_CURVE_CLIENT, 0, client_ep, epsize, err)) ||
               !(io->engine =
                     zpar__bind_task_router (ctx, ZPAR_CURVE_ENGINE, 1, engine_ep, epsize, err)))
        goto error;
    snprintf (pep, sizeof (pep), "%s", pipe_ep);
    if (!(io->pipe = zpar__bind_socket (ctx, ZMQ_PAIR, pep, sizeof (pep), err)))
        goto error;
    if (!(io->monitor = zmq_socket (ctx, ZMQ_PUB))) {
        zpar__errprintf (err, "cannot create monitor socket");
        goto error;
    }
    zmq_setsockopt (io->monitor, ZMQ_SNDHWM, &zero, sizeof (zero));
    zmq_setsockopt (io->monitor, ZMQ_LINGER, &zero, sizeof (zero));
    if (zmq_connect (io->monitor, monitor_ep) < 0) {
        zpar__errprintf (err, "cannot connect monitor: %s", zmq_strerror (errno));
        goto error;
    }
    if (!(io->w_client = zpar__sock_watcher_create (io->reactor, io->client, client_cb, io)) ||
        !(io->w_engine = zpar__sock_watcher_create (io->reactor, io->engine, engine_cb, io)) ||
        !(io->w_pipe = zpar__zmq_watcher_create (io->reactor, io->pipe, ZPAR_EV_IN,
                                                 zpar__lbio_pipe_cb, io)) ||
        !(io->w_retry = zpar__timer_watcher_create (io->reactor, ZPAR_SCHED_LB_RETRY_US / 1000,
                                                    ZPAR_SCHED_LB_RETRY_US / 1000, retry_cb, io))) {
        zpar__errprintf (err, "cannot set up the task scheduler's event loop");
        goto error;
    }
    zpar__watcher_start (io->w_client);
    zpar__watcher_start (io->w_engine);
    zpar__watcher_start (io->w_pipe);
    if (pthread_create (&io->thread, NULL, sched_thread, io) != 0) {
        zpar__errprintf (err, "cannot start the task scheduler thread");
        goto error;
    }
    io->started = 1;
    return io;
error:
    zpar__sched_lb_io_stop (io);
    return NULL;
}

void zpar__sched_lb_io_stop (zpar_sched_lb_io_t *io)
{
    if (!io)
        return;
    if (io->started)
        pthread_join (io->thread, NULL);
    if (io->started && io->hub_holds)
        zpar__info ("task scheduler: results held back %llu times while the hub was behind",
                    (unsigned long long)io->hub_holds);
    if (io->started && (io->batches || io->sent_alone))
        zpar__info ("task scheduler: %llu tasks sent to engines in %llu batches, %llu alone; "
                    "%llu result batches passed on whole",
                    (unsigned long long)io->sent_batched, (unsigned long long)io->batches,
                    (unsigned long long)io->sent_alone, (unsigned long long)io->passed_whole);
    zpar__reactor_destroy (io->reactor); /* and its watchers */
    zpar__lbio_clients_destroy (io);
    zpar__close_socket (io->client);
    zpar__close_socket (io->engine);
    zpar__close_socket (io->pipe);
    zpar__close_socket (io->monitor);
    zpar__sched_lb_destroy (io->policy);
    zpar__msg_destroy (io->scratch);
    zpar__lbio_out_free (io);
    free (io->pass_buf);
    zpar__routes_destroy (io->routes);
    zpar__signer_destroy (io->signer);
    free (io);
}

uint64_t zpar__sched_lb_io_dropped (const zpar_sched_lb_io_t *io)
{
    return io ? io->dropped : 0;
}

uint64_t zpar__sched_lb_io_duplicates (const zpar_sched_lb_io_t *io)
{
    return io ? io->duplicates : 0;
}

int zpar__sched_lb_io_own (const zpar_sched_lb_io_t *io)
{
    return io && zpar__zrouter_of (io->client) && zpar__zrouter_of (io->engine);
}
