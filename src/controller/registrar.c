/* registrar.c - registration, unregistration and queries. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "log.h"
#include "proto_pipe.h"
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

/* The id an engine registering with uuid (asking for want, 0: any) gets.
 * Ids are kept in the records (uuid -> id, and the highest id given), so
 * that after a controller restart an engine gets its id back and no other
 * process gets it. */
static zpar_eid_t pick_engine_id (zpar_hub_t *h, const char *uuid, zpar_eid_t want)
{
    zpar_hub_engine_t *e;
    zpar_eid_t known;
    uint32_t id;
    /* the same engine registering again (lost controller, resend) keeps its id */
    if ((e = zpar__hub_engine_by_uuid (h, uuid)))
        return e->id;
    /* ... also after a controller restart */
    if (h->records && zpar__records_engine_get (h->records, uuid, &known) == 0 && known.v &&
        known.v <= ZPAR_HUB_ENGINE_ID_MAX &&
        (!(e = zpar__hub_engine_get (h, known)) || e->state != ZPAR_HUB_ENGINE_ALIVE))
        return known;
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

/* m comes from the socket (and relay) e registered from: its registrar
 * DEALER identity and, behind a relay, that relay. */
static int same_peer (const zpar_hub_engine_t *e, const zpar_msg_t *m)
{
    const zpar_ident_t *last = m->nenv > 0 ? &m->env[m->nenv - 1] : NULL;
    if (!last || e->reg_ident.len != last->len ||
        memcmp (e->reg_ident.data, last->data, e->reg_ident.len) != 0)
        return 0;
    if (m->nenv == 1)
        return !zpar__route_relayed (&e->route);
    return m->nenv == 2 && zpar__route_relayed (&e->route) && m->env[0].len == ZPAR_RELAY_ID_LEN &&
           memcmp (e->route.via, m->env[0].data, ZPAR_RELAY_ID_LEN) == 0;
}

/* A repeat of a registration from the same socket (the engine sends again
 * every second until it has a reply; a controller answering a start storm
 * can be slower): the engine takes the first reply that comes on that
 * socket and every reply names the same id and identity, so the repeat is
 * answered alike and acted on no further (no new watch, no tasks queued
 * again, nothing recorded).  1 when it was one (reply encoded in r). */
static int repeat_of (zpar_hub_t *h, const zpar_proto_reg_engine_t *rq, const zpar_msg_t *m,
                      zpar_msg_t *r, int *rc)
{
    zpar_proto_reg_engine_reply_t rep = {0};
    zpar_hub_engine_t *e = zpar__hub_engine_by_uuid (h, rq->uuid);
    if (!e || e->state != ZPAR_HUB_ENGINE_ALIVE || !same_peer (e, m))
        return 0;
    h->reg_repeats++;
    rep.h.engine = e->id;
    rep.route = e->route;
    fill_addrs (h, rep.addr, 1);
    rep.scheme = scheme (h);
    rep.hb_period_ms = (uint64_t)h->hb_period_ms;
    rep.hb_misses = (uint64_t)h->hb_misses;
    *rc = zpar__proto_reg_engine_reply_encode (r, &rep);
    zpar__debug ("engine %u: registration repeated (answered again)", e->id.v);
    return 1;
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
    zpar_tid_t *drop = NULL;
    size_t ndrop = 0;
    int was_alive, rc;

    if (zpar__proto_reg_engine_decode (m, &rq, &err) < 0)
        return engine_refused (r, EINVAL, err.text);
    if (!rq.uuid || !*rq.uuid) {
        rc = engine_refused (r, EINVAL, "registration without an engine uuid");
        goto done;
    }
    if (repeat_of (h, &rq, m, r, &rc))
        goto done;
    if (rq.want.v > ZPAR_HUB_ENGINE_ID_MAX) {
        snprintf (err.text, sizeof (err.text),
                  "engine id %u refused: engine ids go from 1 to %u; start the engine without "
                  "--id, or with a smaller one",
                  rq.want.v, ZPAR_HUB_ENGINE_ID_MAX);
        rc = engine_refused (r, EINVAL, err.text);
        goto done;
    }
    /* an engine behind a relay costs us no file: the relay's connections
     * carry it (doc/protocol.md, "Relays") */
    if (!(m->nenv == 2 && zpar__relay_id_is (m->env[0].data, m->env[0].len)) &&
        zpar__hub_engine_room (h, err.text, sizeof (err.text)) < 0) {
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
    if (h->records && zpar__records_engine_put (h->records, rq.uuid, id, h->next_engine) < 0)
        zpar__warn ("engine %u: its id could not be recorded: %s", id.v, strerror (errno));
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
    /* behind a relay: the registration came as [relay id, its DEALER]
     * (doc/protocol.md, "Relays"); the relay it came through now */
    memset (route.via, 0, sizeof (route.via));
    if (m->nenv == 2 && zpar__relay_id_is (m->env[0].data, m->env[0].len))
        memcpy (route.via, m->env[0].data, sizeof (route.via));
    zpar__hub_engine_set_uuid (h, e, NULL); /* out of the index, in again below */
    free (e->res);
    memset (e, 0, sizeof (*e));
    e->id = id;
    e->route = route;
    e->state = ZPAR_HUB_ENGINE_ALIVE;
    snprintf (e->host, sizeof (e->host), "%s", rq.host ? rq.host : "?");
    zpar__hub_engine_set_uuid (h, e, rq.uuid);
    e->pid = (int)rq.pid;
    zpar__hub_engine_proc (e);
    e->rank = rq.rank;
    zpar__hub_engine_res (e, &rq);
    if (m->nenv > 0)
        e->reg_ident = m->env[m->nenv - 1];
    rep.h.engine = id;
    rep.route = e->route;
    fill_addrs (h, rep.addr, 1);
    rep.scheme = scheme (h);
    rep.hb_period_ms = (uint64_t)h->hb_period_ms;
    rep.hb_misses = (uint64_t)h->hb_misses;
    if (h->recovering)
        h->last_register_us = h->r ? zpar__reactor_now_us (h->r) : zpar__mono_us ();
    /* the tasks it holds: adopted, or to drop (C3) */
    if (rq.nheld && zpar__hub_engine_held (h, e, was_alive, rq.held, rq.nheld, &drop, &ndrop) < 0) {
        rc = engine_refused (r, ENOMEM, "controller out of memory");
        goto done;
    }
    rep.drop = drop;
    rep.ndrop = ndrop;
    rc = zpar__proto_reg_engine_reply_encode (r, &rep);
    if (!was_alive) {
        zpar__info ("engine %u registered (%s pid %d rank %d)", id.v, e->host, e->pid, e->rank);
        zpar__hub_engine_up (h, e);
    } else {
        /* a suspect engine that registers again answers again (it was
         * stopped past its fence: the heartbeat will not say it) */
        if (e->suspect)
            zpar__info ("engine %u (%s pid %d) answers again: it registered again after a "
                        "silence",
                        id.v, e->host, e->pid);
        else
            zpar__debug ("engine %u registered again", id.v);
        /* its heart is watched from now, as at its first registration */
        zpar__hub_engine_watch (h, e);
        zpar__hub_engine_again (h, e);
        /* it may have come back through another relay (a relay restarted) */
        if (h->mux_inject)
            (void)zpar__pipe_send_route (h->mux_inject, &e->route, 0);
        if (h->ctl_inject)
            (void)zpar__pipe_send_route (h->ctl_inject, &e->route, 0);
    }
done:
    free (drop);
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
    if (e->state == ZPAR_HUB_ENGINE_ALIVE && same_peer (e, m)) {
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
        if (h->recovering) {
            /* an engine may still report it, a client submit it again */
            rep->errnum = EAGAIN;
            rep->error = "controller recovering after a restart: ask again";
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

/* Whether the task records are being saved (the reply borrows text). */
static void query_records_health (zpar_hub_t *h, zpar_proto_query_reply_t *rep,
                                  zpar_records_health_t *rh)
{
    if (!h->records || zpar__records_health (h->records, rh) < 0 || !rh->since_us)
        return;
    rep->records_since_us = rh->since_us;
    rep->records_unsaved = rh->unsaved;
    rep->records_bytes = rh->bytes;
    rep->records_limit = rh->limit;
    rep->records_refusing = (uint64_t)rh->refusing;
    rep->records_error = rh->error;
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
    rep->duplicates = zpar__hub_duplicates (h); /* over the records' life */
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
    if (n < 0 && errno == ENOSPC) {
        rep->errnum = ENOSPC;
        rep->error = "the task records are not being saved (see zpar status): purge once they are";
    }
    if (n >= 0 && zpar__records_counts (h->records, &ok, &notok) == 0) {
        h->n_ok = ok;
        h->n_notok = notok;
    }
}

/* The state of a task the hub knows (live or recorded): 1 with *state,
 * 0 unknown, -1 the records cannot say (EIO). */
static int known (zpar_hub_t *h, zpar_tid_t id, zpar_task_state_t *state)
{
    int st, status, live_state;
    if (zpar__hub_task_live (h, id, &live_state)) {
        *state = task_state (live_state);
        return 1;
    }
    if (zpar__records_get (h->records, id, &st, &status, NULL, NULL, NULL, NULL) == 0) {
        *state = task_state (st);
        return 1;
    }
    return errno == ENOENT ? 0 : -1;
}

/* RESUBMIT: queue the task if the hub does not know it; the reply waits
 * until its record is committed (*defer). */
static void query_resubmit (zpar_hub_t *h, const zpar_proto_query_t *q,
                            zpar_proto_query_reply_t *rep, int *defer)
{
    zpar_msg_t *t = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_task_state_t state;
    zpar_error_t err;
    int k;

    rep->task = q->task;
    if (!t) {
        rep->errnum = ENOMEM;
        rep->error = "controller out of memory";
        return;
    }
    if (zpar__msg_unpack (t, q->record, q->record_len, &err) < 0 || t->hdr.type != ZPAR_MSG_TASK ||
        t->hdr.task != q->task.v) {
        rep->errnum = EINVAL;
        rep->error = "resubmit: the record is not the request of this task";
        goto done;
    }
    if (t->hdr.engine != 0) {
        rep->errnum = EINVAL;
        rep->error = "resubmit: only load-balanced tasks (submit a direct task to its engine)";
        goto done;
    }
    zpar__hub_drain_monitor (h);
    if ((k = known (h, q->task, &state)) < 0) {
        rep->errnum = EIO;
        rep->error = "resubmit: the task records cannot be read";
        goto done;
    }
    if (k && !zpar__hub_task_orphan (h, q->task)) {
        rep->count = 0;
        rep->state = state;
        *defer = 1; /* a live task's record may still be in the batch */
        goto done;
    }
    if ((k = zpar__hub_resubmit (h, &t->hdr, q->record, q->record_len)) < 0) {
        rep->errnum = errno;
        rep->error = "resubmit: cannot queue the task";
        goto done;
    }
    /* an orphan (held by an engine, never recorded) is known from now on */
    rep->count = k == 0;
    rep->state = k == 0 ? ZPAR_TASK_STATE_PENDING : ZPAR_TASK_STATE_RUNNING;
    *defer = 1;
done:
    zpar__msg_destroy (t);
}

/* The records are writing a backlog after a full disk: what is asked now
 * is answered once it is written (the reply is deferred). */
static int catching_up (zpar_hub_t *h)
{
    zpar_records_health_t rh;
    return zpar__records_health (h->records, &rh) == 0 && rh.catching_up;
}

/* SYNC: which of these tasks does the hub know?  The reply waits until
 * the records hold them (*defer). */
static void query_sync (zpar_hub_t *h, const zpar_msg_t *m, zpar_proto_query_reply_t *rep,
                        zpar_proto_mem_t *mem, int *defer)
{
    const zpar_tid_t *ids;
    zpar_tid_t *unknown;
    zpar_error_t err;
    size_t n, nu = 0;
    int all_live = 1;

    if (zpar__proto_query_ids (m, mem, &ids, &n, &err) < 0) {
        rep->errnum = EINVAL;
        rep->error = "sync: no valid task ids";
        return;
    }
    if (!(unknown = zpar__proto_mem_alloc (mem, n * sizeof (*unknown)))) {
        rep->errnum = ENOMEM;
        rep->error = "controller out of memory";
        return;
    }
    zpar__hub_drain_monitor (h);
    for (size_t i = 0; i < n && all_live; i++)
        all_live = zpar__hub_task_live (h, ids[i], NULL);
    /* the ones not live are looked up in the records: commit them first */
    if (!all_live && h->records && zpar__records_flush (h->records, &err) < 0 && !catching_up (h)) {
        zpar_records_health_t rh;
        char *text = zpar__proto_mem_alloc (mem, ZPAR_ERROR_TEXT_MAX + 64);
        int known_failure = zpar__records_health (h->records, &rh) == 0 && rh.since_us;
        rep->errnum = known_failure && rh.errnum ? rh.errnum : EIO;
        if (text)
            snprintf (text, ZPAR_ERROR_TEXT_MAX + 64,
                      "not acknowledged: the task records are not being saved (%s)",
                      known_failure ? rh.error : err.text);
        rep->error = text ? text : "the task records cannot be saved: nothing is acknowledged";
        return;
    }
    for (size_t i = 0; i < n; i++) {
        zpar_task_state_t state;
        int k = known (h, ids[i], &state);
        if (k < 0) {
            rep->errnum = EIO;
            rep->error = "the task records cannot be read";
            return;
        }
        /* an orphan is not durable until its client resubmits it */
        if (k && !zpar__hub_task_orphan (h, ids[i]))
            rep->count++;
        else
            unknown[nu++] = ids[i];
    }
    rep->ids = unknown;
    rep->nids = nu;
    *defer = 1;
}

static int handle_query (zpar_hub_t *h, const zpar_msg_t *m, zpar_msg_t *r)
{
    zpar_proto_query_t q;
    zpar_proto_query_reply_t rep = {0};
    zpar_records_health_t rh;
    zpar_proto_mem_t mem = {0};
    uint8_t *req = NULL, *res = NULL;
    int rc, defer = 0;

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
        query_records_health (h, &rep, &rh);
        break;
    case ZPAR_QUERY_RESULT:
    case ZPAR_QUERY_REQUEST:
        query_task (h, q.task, &rep, &req, &res);
        break;
    case ZPAR_QUERY_PURGE:
        query_purge (h, q.task, &rep);
        break;
    case ZPAR_QUERY_RESUBMIT:
        query_resubmit (h, &q, &rep, &defer);
        break;
    case ZPAR_QUERY_SYNC:
        query_sync (h, m, &rep, &mem, &defer);
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
    zpar__proto_mem_free (&mem);
    return rc < 0 ? rc : defer;
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
    int rc;
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
    if ((rc = handlers[i].fn (h, req, r)) < 0 || !r) {
        zpar__msg_destroy (r);
        return 0;
    }
    (void)zpar__msg_set_envelope (r, req->nenv, req->env);
    r->hdr.task = req->hdr.task;
    if (rc == 1) {
        /* it acknowledges records: sent once they are committed */
        (void)zpar__hub_defer_reply (h, r);
        return 0;
    }
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
        /* [peer] or, from an engine behind a relay, [relay id, peer] */
        if (m->nenv != 1 && (m->nenv != 2 || !zpar__relay_id_is (m->env[0].data, m->env[0].len))) {
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
