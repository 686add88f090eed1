/* registrar.c - registration, unregistration and queries. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "log.h"
#include "proto_registrar.h"
#include "registrar.h"
#include "zpar.h"

zpar_engine_state_t zpar__registrar_state (const zpar_hub_engine_t *e)
{
    if (!e || e->state != ZPAR_HUB_ENGINE_ALIVE)
        return ZPAR_ENGINE_DEAD;
    return e->outstanding ? ZPAR_ENGINE_BUSY : ZPAR_ENGINE_IDLE;
}

/* The addresses handed out: the engine side or the client side. */
static void fill_addrs (const zpar_hub_t *h, const char **addr, int engine_side)
{
    const zpar_conninfo_t *ci = &h->ci;
    addr[ZPAR_ADDR_MUX] = ci->addr[engine_side ? ZPAR_EP_MUX_ENGINE : ZPAR_EP_MUX_CLIENT];
    addr[ZPAR_ADDR_TASK] = ci->addr[engine_side ? ZPAR_EP_TASK_ENGINE : ZPAR_EP_TASK_CLIENT];
    addr[ZPAR_ADDR_CONTROL] =
        ci->addr[engine_side ? ZPAR_EP_CONTROL_ENGINE : ZPAR_EP_CONTROL_CLIENT];
    addr[ZPAR_ADDR_IOPUB] = ci->addr[engine_side ? ZPAR_EP_IOPUB_ENGINE : ZPAR_EP_IOPUB_CLIENT];
    if (engine_side) {
        addr[ZPAR_ADDR_HB_PING] = ci->addr[ZPAR_EP_HB_PING];
        addr[ZPAR_ADDR_HB_PONG] = ci->addr[ZPAR_EP_HB_PONG];
    } else
        addr[ZPAR_ADDR_NOTIFY] = ci->addr[ZPAR_EP_NOTIFY];
}

static zpar_task_scheme_t scheme (const zpar_hub_t *h)
{
    zpar_task_scheme_t s = ZPAR_SCHEME_LEASTLOAD;
    if (h->scheme)
        (void)zpar__scheme_parse (h->scheme, &s);
    return s;
}

/* The id an engine registering with uuid (asking for want, 0: any) gets. */
static zpar_eid_t pick_engine_id (zpar_hub_t *h, const char *uuid, zpar_eid_t want)
{
    zpar_hub_engine_t *e;
    uint32_t id;
    /* the same engine registering again (lost controller, resend) keeps its id */
    for (uint32_t i = 0; i < h->nengines; i++) {
        if (h->engines[i]->state != ZPAR_HUB_ENGINE_UNKNOWN &&
            strcmp (h->engines[i]->uuid, uuid) == 0)
            return h->engines[i]->id;
    }
    if (want.v) {
        e = zpar__hub_engine_get (h, want);
        if (!e || e->state != ZPAR_HUB_ENGINE_ALIVE)
            return want;
    }
    /* the next id, back to 1 after the highest: the ids of dead engines
     * are given again rather than the table growing without end */
    for (uint32_t n = 0; n < ZPAR_HUB_ENGINE_ID_MAX; n++) {
        id = h->next_engine >= ZPAR_HUB_ENGINE_ID_MAX ? 1 : h->next_engine + 1;
        h->next_engine = id;
        if (!(e = zpar__hub_engine_get (h, zpar__eid (id))) || e->state != ZPAR_HUB_ENGINE_ALIVE)
            return zpar__eid (id);
    }
    return zpar__eid (0); /* every id is taken by a live engine */
}

static int engine_refused (zpar_msg_t *r, int errnum, const char *text)
{
    zpar_proto_reg_engine_reply_t rep = {.errnum = errnum, .error = text};
    return zpar__proto_reg_engine_reply_encode (r, &rep);
}

static int register_engine (zpar_hub_t *h, const zpar_msg_t *m, zpar_msg_t *r)
{
    zpar_proto_reg_engine_t rq;
    zpar_proto_reg_engine_reply_t rep = {0};
    zpar_hub_engine_t *e;
    zpar_error_t err;
    zpar_eid_t id;
    zpar_route_t route;
    int was_alive, rc;

    if (zpar__proto_reg_engine_decode (m, &rq, &err) < 0)
        return engine_refused (r, EINVAL, err.text);
    if (!rq.uuid || !*rq.uuid) {
        rc = engine_refused (r, EINVAL, "registration without an engine uuid");
        goto done;
    }
    if (rq.want.v > ZPAR_HUB_ENGINE_ID_MAX) {
        snprintf (err.text, sizeof (err.text),
                  "engine id %u refused: engine ids go from 1 to %u; start the engine without "
                  "--id, or with a smaller one",
                  rq.want.v, ZPAR_HUB_ENGINE_ID_MAX);
        rc = engine_refused (r, EINVAL, err.text);
        goto done;
    }
    if (zpar__hub_engine_room (h, err.text, sizeof (err.text)) < 0) {
        rc = engine_refused (r, EMFILE, err.text);
        goto done;
    }
    id = pick_engine_id (h, rq.uuid, rq.want);
    if (id.v == 0) {
        rc = engine_refused (r, EBUSY, "the controller has no free engine id: too many engines");
        goto done;
    }
    if (id.v > h->next_engine)
        h->next_engine = id.v;
    if (!(e = zpar__hub_engine_slot (h, id))) {
        rc = engine_refused (r, ENOMEM, "controller out of memory");
        goto done;
    }
    was_alive = e->state == ZPAR_HUB_ENGINE_ALIVE;
    /* the routing identity: kept while the same engine registers again
     * alive (a duplicate of a registration whose reply it has not seen
     * yet, or one that lost us for a moment: its reply must name the
     * identity the schedulers route to), else drawn afresh */
    if (was_alive && strcmp (e->uuid, rq.uuid) == 0 &&
        zpar__route_engine (e->route.b, sizeof (e->route.b)).v == id.v)
        route = e->route;
    else if (zpar__route_make (id, &route) < 0) {
        rc = engine_refused (r, EIO, "controller cannot draw a routing identity");
        goto done;
    }
    memset (e, 0, sizeof (*e));
    e->id = id;
    e->route = route;
    e->state = ZPAR_HUB_ENGINE_ALIVE;
    snprintf (e->host, sizeof (e->host), "%s", rq.host ? rq.host : "?");
    snprintf (e->uuid, sizeof (e->uuid), "%s", rq.uuid);
    e->pid = (int)rq.pid;
    e->rank = rq.rank;
    if (m->nenv > 0)
        e->reg_ident = m->env[0];
    rep.h.engine = id;
    rep.route = e->route;
    fill_addrs (h, rep.addr, 1);
    rep.scheme = scheme (h);
    rep.hb_period_ms = (uint64_t)h->hb_period_ms;
    rep.hb_misses = (uint64_t)h->hb_misses;
    rc = zpar__proto_reg_engine_reply_encode (r, &rep);
    if (!was_alive) {
        zpar__info ("engine %u registered (%s pid %d rank %d)", id.v, e->host, e->pid, e->rank);
        zpar__hub_engine_up (h, e);
    } else {
        zpar__debug ("engine %u registered again", id.v);
        /* its heart is watched from now, as at its first registration */
        zpar__hub_engine_watch (h, e);
    }
done:
    zpar__proto_reg_engine_clear (&rq);
    return rc;
}

static int register_client (zpar_hub_t *h, const zpar_msg_t *m, zpar_msg_t *r)
{
    zpar_proto_reg_client_reply_t rep = {0};
    uint64_t num = 0;
    (void)m;
    if (zpar__records_next_counter (h->records, "client", &num) < 0 || num == 0 ||
        num > 0xffffffffu) {
        rep.errnum = EIO;
        rep.error = "cannot assign a client number";
        return zpar__proto_reg_client_reply_encode (r, &rep);
    }
    rep.id = zpar__cid ((uint32_t)num);
    rep.h.client = rep.id;
    fill_addrs (h, rep.addr, 0);
    rep.scheme = scheme (h);
    return zpar__proto_reg_client_reply_encode (r, &rep);
}

static void unregister (zpar_hub_t *h, const zpar_msg_t *m)
{
    zpar_proto_unregister_t u;
    zpar_hub_engine_t *e;
    if (zpar__proto_unregister_decode (m, &u, NULL) < 0 ||
        !(e = zpar__hub_engine_get (h, u.h.engine)))
        return;
    /* only the engine itself (its registrar identity) may unregister it */
    if (e->state == ZPAR_HUB_ENGINE_ALIVE && m->nenv > 0 && e->reg_ident.len == m->env[0].len &&
        memcmp (e->reg_ident.data, m->env[0].data, e->reg_ident.len) == 0) {
        zpar__hub_engine_died (h, e, "unregistered");
        zpar__hub_notify (h, e->id, ZPAR_NOTIFY_UNREGISTERED);
    }
}

/* ------------------------------------------------------------- queries */

static int by_id (const void *a, const void *b)
{
    const zpar_proto_engine_info_t *x = a, *y = b;
    return x->id.v < y->id.v ? -1 : x->id.v > y->id.v;
}

static int query_engines (zpar_hub_t *h, zpar_proto_query_reply_t *rep)
{
    zpar_proto_engine_info_t *list = calloc (h->nengines ? h->nengines : 1, sizeof (*list));
    size_t n = 0;
    if (!list)
        return -1;
    for (uint32_t i = 0; i < h->nengines; i++) {
        const zpar_hub_engine_t *x = h->engines[i];
        if (x->state == ZPAR_HUB_ENGINE_UNKNOWN)
            continue;
        list[n].id = x->id;
        list[n].host = x->host;
        list[n].pid = (uint64_t)x->pid;
        list[n].rank = x->rank;
        list[n].state = zpar__registrar_state (x);
        list[n].outstanding = x->outstanding;
        n++;
    }
    qsort (list, n, sizeof (*list), by_id);
    rep->engines = list;
    rep->nengines = n;
    return 0;
}

static zpar_task_state_t task_state (int rec_state)
{
    switch (rec_state) {
    case ZPAR_REC_PENDING:
        return ZPAR_TASK_STATE_PENDING;
    case ZPAR_REC_RUNNING:
        return ZPAR_TASK_STATE_RUNNING;
    default:
        return ZPAR_TASK_STATE_DONE;
    }
}

/* Fill rep for a "result" or "request" query of task id; *req and *res
 * receive the blobs rep points to (the caller frees them). */
static void query_task (zpar_hub_t *h, zpar_tid_t id, zpar_proto_query_reply_t *rep, uint8_t **req,
                        uint8_t **res)
{
    int state, status, live_state;
    int live = zpar__hub_task_live (h, id, &live_state);
    size_t reqlen = 0, reslen = 0;
    int want_request = rep->kind == ZPAR_QUERY_REQUEST;

    rep->task = id;
    if (zpar__records_get (h->records, id, &state, &status, req, &reqlen, res, &reslen) < 0) {
        if (live) {
            rep->state = task_state (live_state);
            return;
        }
        rep->errnum = ENOENT;
        rep->error = "no such task";
        return;
    }
    if (want_request) {
        if (*req) {
            rep->record = *req;
            rep->record_len = reqlen;
        } else {
            rep->errnum = ENOENT;
            rep->error = "the request of this task was not recorded";
        }
    } else if (state == ZPAR_REC_DONE && *res) {
        rep->state = ZPAR_TASK_STATE_DONE;
        rep->record = *res;
        rep->record_len = reslen;
    } else
        rep->state = state == ZPAR_REC_RUNNING ? ZPAR_TASK_STATE_RUNNING : ZPAR_TASK_STATE_PENDING;
}

static void query_status (zpar_hub_t *h, zpar_proto_query_reply_t *rep)
{
    uint64_t dropped = h->dropped;
    if (h->signer) {
        const zpar_wire_stats_t *st = zpar__signer_stats (h->signer);
        dropped += st->malformed + st->badsig + st->replayed;
    }
    if (h->extra_dropped)
        dropped += h->extra_dropped (h->extra_arg);
    rep->pending = h->n_pending;
    rep->running = h->n_running;
    rep->completed = h->n_ok;
    rep->failed = h->n_notok;
    rep->dropped = dropped;
}

static void query_purge (zpar_hub_t *h, zpar_tid_t id, zpar_proto_query_reply_t *rep)
{
    long n = zpar__records_purge (h->records, id);
    uint64_t ok, notok;
    rep->count = n < 0 ? 0 : (uint64_t)n;
    if (n >= 0 && zpar__records_counts (h->records, &ok, &notok) == 0) {
        h->n_ok = ok;
        h->n_notok = notok;
    }
}

static int handle_query (zpar_hub_t *h, const zpar_msg_t *m, zpar_msg_t *r)
{
    zpar_proto_query_t q;
    zpar_proto_query_reply_t rep = {0};
    uint8_t *req = NULL, *res = NULL;
    int rc;

    if (zpar__proto_query_decode (m, &q, NULL) < 0) {
        rep.errnum = EINVAL;
        rep.error = zpar__proto_query_named (m) ? "unknown query" : "query without a query name";
        return zpar__proto_query_reply_encode (r, &rep);
    }
    rep.kind = q.kind;
    switch (q.kind) {
    case ZPAR_QUERY_ENGINES:
        if (query_engines (h, &rep) < 0)
            return -1;
        break;
    case ZPAR_QUERY_STATUS:
        query_status (h, &rep);
        break;
    case ZPAR_QUERY_RESULT:
    case ZPAR_QUERY_REQUEST:
        query_task (h, q.task, &rep, &req, &res);
        break;
    case ZPAR_QUERY_PURGE:
        query_purge (h, q.task, &rep);
        break;
    case ZPAR_QUERY_SHUTDOWN: {
        char why[64];
        snprintf (why, sizeof (why), "shutdown requested by client %u", m->hdr.client);
        zpar__hub_stop (h, why);
        break;
    }
    default:
        break;
    }
    rc = zpar__proto_query_reply_encode (r, &rep);
    free ((void *)rep.engines);
    free (req);
    free (res);
    return rc;
}

/* Message type -> handler: fills reply r (NULL: no reply due). */
typedef int (*handler_f) (zpar_hub_t *h, const zpar_msg_t *req, zpar_msg_t *r);

static int unregister_handler (zpar_hub_t *h, const zpar_msg_t *req, zpar_msg_t *r)
{
    (void)r;
    unregister (h, req);
    return 0;
}

static const struct {
    zpar_msg_type_t type;
    handler_f fn;
    int replies;
} handlers[] = {
    {ZPAR_MSG_REGISTER_ENGINE, register_engine, 1},
    {ZPAR_MSG_REGISTER_CLIENT, register_client, 1},
    {ZPAR_MSG_QUERY, handle_query, 1},
    {ZPAR_MSG_UNREGISTER, unregister_handler, 0},
};

int zpar__registrar_handle (zpar_hub_t *h, const zpar_msg_t *req, zpar_msg_t **reply)
{
    zpar_msg_t *r = NULL;
    size_t i;
    if (!h || !req || !reply) {
        errno = EINVAL;
        return -1;
    }
    *reply = NULL;
    for (i = 0; i < sizeof (handlers) / sizeof (handlers[0]); i++)
        if (handlers[i].type == req->hdr.type)
            break;
    if (i == sizeof (handlers) / sizeof (handlers[0])) {
        h->dropped++;
        errno = EPROTO;
        return -1;
    }
    /* out of memory: no reply, the peer asks again */
    if (handlers[i].replies && !(r = zpar__msg_create (ZPAR_MSG_NONE)))
        return 0;
    if (handlers[i].fn (h, req, r) < 0 || !r) {
        zpar__msg_destroy (r);
        return 0;
    }
    (void)zpar__msg_set_envelope (r, req->nenv, req->env);
    r->hdr.task = req->hdr.task;
    *reply = r;
    return 0;
}

int zpar__registrar_recv (zpar_hub_t *h, zpar_msg_t *m, int max)
{
    /* rate-limited drop warnings: the registrar runs in the hub's thread */
    static zpar_droplog_t drops = ZPAR_DROPLOG_INIT ("registrar");
    int n = 0;
    if (!h || !h->registrar || !m)
        return 0;
    for (int k = 0; k < max; k++) {
        zpar_error_t err;
        zpar_msg_t *r;
        if (zpar__wire_recv_chan (h->registrar, h->signer, ZPAR_CHAN_REGISTRAR, m, ZMQ_DONTWAIT,
                                  &err) < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ETERM)
                break;
            zpar__droplog (&drops, zpar__drop_kind (errno), "registrar: %s", err.text);
            continue;
        }
        n++;
        if (m->nenv != 1) {
            h->dropped++;
            continue;
        }
        if (zpar__registrar_handle (h, m, &r) < 0) {
            zpar__droplog (&drops, ZPAR_DROP_UNEXPECTED, "registrar: unexpected %s message dropped",
                           zpar__msg_type_name (m->hdr.type));
            continue;
        }
        if (r && zpar__wire_send_chan (h->registrar, h->signer, ZPAR_CHAN_REGISTRAR, r,
                                       ZMQ_DONTWAIT) < 0)
            zpar__debug ("hub: reply to a vanished peer dropped");
        zpar__msg_destroy (r);
    }
    return n;
}
