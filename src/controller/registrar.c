/* registrar.c - registration, unregistration and queries. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "log.h"
#include "registrar.h"
#include "zpar.h"

const char *zpar__registrar_state_name (const zpar_hub_engine_t *e)
{
    if (!e || e->state != ZPAR_ENGINE_ALIVE)
        return "dead";
    return e->outstanding ? "busy" : "idle";
}

static zpar_msg_t *error_reply (zpar_msg_type_t type, int errnum, const char *text)
{
    zpar_msg_t *r = zpar__msg_create (type);
    if (!r)
        return NULL;
    if (zpar__msg_add_str (r, ZPAR_F_ERROR, text) < 0 ||
        zpar__msg_add_u64 (r, ZPAR_F_ERRNO, (uint64_t)errnum) < 0) {
        zpar__msg_destroy (r);
        return NULL;
    }
    return r;
}

static void add_addrs (zpar_hub_t *h, zpar_msg_t *r, int engine_side)
{
    const zpar_conninfo_t *ci = &h->ci;
    zpar__msg_add_str (r, ZPAR_F_ADDR_MUX,
                       ci->addr[engine_side ? ZPAR_EP_MUX_ENGINE : ZPAR_EP_MUX_CLIENT]);
    zpar__msg_add_str (r, ZPAR_F_ADDR_TASK,
                       ci->addr[engine_side ? ZPAR_EP_TASK_ENGINE : ZPAR_EP_TASK_CLIENT]);
    zpar__msg_add_str (r, ZPAR_F_ADDR_CONTROL,
                       ci->addr[engine_side ? ZPAR_EP_CONTROL_ENGINE : ZPAR_EP_CONTROL_CLIENT]);
    zpar__msg_add_str (r, ZPAR_F_ADDR_IOPUB,
                       ci->addr[engine_side ? ZPAR_EP_IOPUB_ENGINE : ZPAR_EP_IOPUB_CLIENT]);
    zpar__msg_add_str (r, ZPAR_F_TASK_SCHEME, h->scheme ? h->scheme : "leastload");
    if (engine_side) {
        zpar__msg_add_str (r, ZPAR_F_ADDR_HB_PING, ci->addr[ZPAR_EP_HB_PING]);
        zpar__msg_add_str (r, ZPAR_F_ADDR_HB_PONG, ci->addr[ZPAR_EP_HB_PONG]);
        zpar__msg_add_u64 (r, ZPAR_F_HB_PERIOD_MS, (uint64_t)h->hb_period_ms);
        zpar__msg_add_u64 (r, ZPAR_F_HB_MISSES, (uint64_t)h->hb_misses);
    } else
        zpar__msg_add_str (r, ZPAR_F_ADDR_NOTIFY, ci->addr[ZPAR_EP_NOTIFY]);
}

/* The id an engine registering with uuid (asking for want, 0: any) gets. */
static uint32_t pick_engine_id (zpar_hub_t *h, const char *uuid, uint64_t want)
{
    zpar_hub_engine_t *e;
    uint32_t id;
    /* the same engine registering again (lost controller, resend) keeps its id */
    for (uint32_t i = 1; i < h->nengines; i++) {
        if (h->engines[i].state != ZPAR_ENGINE_UNKNOWN && strcmp (h->engines[i].uuid, uuid) == 0)
            return i;
    }
    if (want && want < (1u << 24)) {
        e = zpar__hub_engine_get (h, (uint32_t)want);
        if (!e || e->state != ZPAR_ENGINE_ALIVE)
            return (uint32_t)want;
    }
    do
        id = ++h->next_engine;
    while ((e = zpar__hub_engine_get (h, id)) && e->state == ZPAR_ENGINE_ALIVE);
    return id;
}

static zpar_msg_t *register_engine (zpar_hub_t *h, const zpar_msg_t *m)
{
    uint64_t want = zpar__msg_u64_or (m, ZPAR_F_ENGINE_ID, 0);
    char *host = zpar__msg_get_str (m, ZPAR_F_HOST);
    char *uuid = zpar__msg_get_str (m, ZPAR_F_ENGINE_UUID);
    zpar_hub_engine_t *e;
    zpar_msg_t *r = NULL;
    uint32_t id;
    int was_alive;

    if (!uuid || !*uuid) {
        r = error_reply (ZPAR_MSG_REGISTER_ENGINE_REPLY, EINVAL,
                         "registration without an engine uuid");
        goto done;
    }
    id = pick_engine_id (h, uuid, want);
    if (id > h->next_engine)
        h->next_engine = id;
    if (!(e = zpar__hub_engine_slot (h, id))) {
        r = error_reply (ZPAR_MSG_REGISTER_ENGINE_REPLY, ENOMEM, "controller out of memory");
        goto done;
    }
    was_alive = e->state == ZPAR_ENGINE_ALIVE;
    memset (e, 0, sizeof (*e));
    e->id = id;
    e->state = ZPAR_ENGINE_ALIVE;
    snprintf (e->host, sizeof (e->host), "%s", host ? host : "?");
    snprintf (e->uuid, sizeof (e->uuid), "%s", uuid);
    e->pid = (int)zpar__msg_u64_or (m, ZPAR_F_PID, 0);
    e->rank = (int)(int64_t)zpar__msg_u64_or (m, ZPAR_F_RANK, (uint64_t)-1);
    if (m->nenv > 0)
        e->reg_ident = m->env[0];
    if ((r = zpar__msg_create (ZPAR_MSG_REGISTER_ENGINE_REPLY))) {
        r->hdr.engine = id;
        add_addrs (h, r, 1);
    }
    if (!was_alive) {
        zpar__info ("engine %u registered (%s pid %d rank %d)", id, e->host, e->pid, e->rank);
        zpar__hub_engine_up (h, e);
    } else {
        zpar__debug ("engine %u registered again", id);
        /* its heart is watched from now, as at its first registration */
        (void)zpar__heartbeat_watch (h->hb, id,
                                     h->r ? zpar__reactor_now_us (h->r) : zpar__mono_us ());
    }
done:
    free (host);
    free (uuid);
    return r;
}

static zpar_msg_t *register_client (zpar_hub_t *h, const zpar_msg_t *m)
{
    uint64_t num = 0;
    zpar_msg_t *r;
    (void)m;
    if (zpar__records_next_counter (h->records, "client", &num) < 0 || num == 0 ||
        num > 0xffffffffu)
        return error_reply (ZPAR_MSG_REGISTER_CLIENT_REPLY, EIO, "cannot assign a client number");
    if (!(r = zpar__msg_create (ZPAR_MSG_REGISTER_CLIENT_REPLY)))
        return NULL;
    r->hdr.client = (uint32_t)num;
    zpar__msg_add_u64 (r, ZPAR_F_CLIENT_ID, num);
    add_addrs (h, r, 0);
    return r;
}

static void unregister (zpar_hub_t *h, const zpar_msg_t *m)
{
    zpar_hub_engine_t *e = zpar__hub_engine_get (h, m->hdr.engine);
    /* only the engine itself (its registrar identity) may unregister it */
    if (e && e->state == ZPAR_ENGINE_ALIVE && m->nenv > 0 && e->reg_ident.len == m->env[0].len &&
        memcmp (e->reg_ident.data, m->env[0].data, e->reg_ident.len) == 0) {
        zpar__hub_engine_died (h, e, "unregistered");
        zpar__hub_notify (h, e->id, "unregistered");
    }
}

/* ------------------------------------------------------------- queries */

static void query_engines (zpar_hub_t *h, zpar_msg_t *r)
{
    zpar_msg_t *e = zpar__msg_create (ZPAR_MSG_NOTIFY);
    if (!e)
        return;
    for (uint32_t i = 1; i < h->nengines; i++) {
        zpar_hub_engine_t *x = &h->engines[i];
        uint8_t *buf;
        size_t len;
        if (x->state == ZPAR_ENGINE_UNKNOWN)
            continue;
        zpar__msg_reset (e, ZPAR_MSG_NOTIFY);
        e->hdr.engine = i;
        zpar__msg_add_u64 (e, ZPAR_F_ENGINE_ID, i);
        zpar__msg_add_str (e, ZPAR_F_HOST, x->host);
        zpar__msg_add_u64 (e, ZPAR_F_PID, (uint64_t)x->pid);
        zpar__msg_add_u64 (e, ZPAR_F_RANK, (uint64_t)(int64_t)x->rank);
        zpar__msg_add_str (e, ZPAR_F_STATE, zpar__registrar_state_name (x));
        zpar__msg_add_u64 (e, ZPAR_F_OUTSTANDING, x->outstanding);
        if (zpar__msg_pack (e, &buf, &len) == 0) {
            zpar__msg_add_bytes (r, ZPAR_F_RECORD, buf, len);
            free (buf);
        }
    }
    zpar__msg_destroy (e);
}

static const char *live_state_name (int state)
{
    return state == ZPAR_REC_PENDING ? "pending" : "running";
}

static void query_task (zpar_hub_t *h, const zpar_msg_t *m, zpar_msg_t *r, int want_request)
{
    uint64_t id = zpar__msg_u64_or (m, ZPAR_F_TASK_ID, 0);
    int state, status, live_state;
    int live = zpar__hub_task_live (h, id, &live_state);
    uint8_t *req = NULL, *res = NULL;
    size_t reqlen = 0, reslen = 0;

    zpar__msg_add_u64 (r, ZPAR_F_TASK_ID, id);
    if (zpar__records_get (h->records, id, &state, &status, &req, &reqlen, &res, &reslen) < 0) {
        if (live) {
            zpar__msg_add_str (r, ZPAR_F_STATE, live_state_name (live_state));
            return;
        }
        zpar__msg_add_u64 (r, ZPAR_F_ERRNO, ENOENT);
        zpar__msg_add_str (r, ZPAR_F_ERROR, "no such task");
        return;
    }
    if (want_request) {
        if (req)
            zpar__msg_add_bytes (r, ZPAR_F_RECORD, req, reqlen);
        else {
            zpar__msg_add_u64 (r, ZPAR_F_ERRNO, ENOENT);
            zpar__msg_add_str (r, ZPAR_F_ERROR, "the request of this task was not recorded");
        }
    } else if (state == ZPAR_REC_DONE && res) {
        zpar__msg_add_str (r, ZPAR_F_STATE, "done");
        zpar__msg_add_bytes (r, ZPAR_F_RECORD, res, reslen);
    } else
        zpar__msg_add_str (r, ZPAR_F_STATE, live_state_name (state));
    free (req);
    free (res);
}

static void query_status (zpar_hub_t *h, zpar_msg_t *r)
{
    uint64_t dropped = h->dropped;
    if (h->signer) {
        const zpar_wire_stats_t *st = zpar__signer_stats (h->signer);
        dropped += st->malformed + st->badsig + st->replayed;
    }
    if (h->extra_dropped)
        dropped += h->extra_dropped (h->extra_arg);
    zpar__msg_add_u64 (r, ZPAR_F_PENDING, h->n_pending);
    zpar__msg_add_u64 (r, ZPAR_F_RUNNING, h->n_running);
    zpar__msg_add_u64 (r, ZPAR_F_COMPLETED, h->n_ok);
    zpar__msg_add_u64 (r, ZPAR_F_FAILED, h->n_notok);
    zpar__msg_add_u64 (r, ZPAR_F_DROPPED, dropped);
}

static void query_purge (zpar_hub_t *h, const zpar_msg_t *m, zpar_msg_t *r)
{
    uint64_t id = zpar__msg_u64_or (m, ZPAR_F_TASK_ID, 0);
    long n = zpar__records_purge (h->records, id);
    zpar__msg_add_u64 (r, ZPAR_F_COUNT, n < 0 ? 0 : (uint64_t)n);
    if (n >= 0) {
        uint64_t ok, notok;
        if (zpar__records_counts (h->records, &ok, &notok) == 0) {
            h->n_ok = ok;
            h->n_notok = notok;
        }
    }
}

typedef enum { Q_ENGINES, Q_STATUS, Q_RESULT, Q_REQUEST, Q_PURGE, Q_SHUTDOWN } query_t;

static const struct {
    const char *name;
    query_t q;
} queries[] = {
    {"engines", Q_ENGINES}, {"status", Q_STATUS}, {"result", Q_RESULT},
    {"request", Q_REQUEST}, {"purge", Q_PURGE},   {"shutdown", Q_SHUTDOWN},
};

static zpar_msg_t *handle_query (zpar_hub_t *h, const zpar_msg_t *m)
{
    char *name = zpar__msg_get_str (m, ZPAR_F_QUERY);
    zpar_msg_t *r = NULL;
    size_t i;

    if (!name) {
        r = error_reply (ZPAR_MSG_QUERY_REPLY, EINVAL, "query without a query name");
        goto done;
    }
    for (i = 0; i < sizeof (queries) / sizeof (queries[0]); i++)
        if (!strcmp (name, queries[i].name))
            break;
    if (i == sizeof (queries) / sizeof (queries[0])) {
        r = error_reply (ZPAR_MSG_QUERY_REPLY, EINVAL, "unknown query");
        goto done;
    }
    if (!(r = zpar__msg_create (ZPAR_MSG_QUERY_REPLY)))
        goto done;
    zpar__msg_add_str (r, ZPAR_F_QUERY, name);
    switch (queries[i].q) {
    case Q_ENGINES:
        query_engines (h, r);
        break;
    case Q_STATUS:
        query_status (h, r);
        break;
    case Q_RESULT:
        query_task (h, m, r, 0);
        break;
    case Q_REQUEST:
        query_task (h, m, r, 1);
        break;
    case Q_PURGE:
        query_purge (h, m, r);
        break;
    case Q_SHUTDOWN: {
        char why[64];
        snprintf (why, sizeof (why), "shutdown requested by client %u", m->hdr.client);
        zpar__hub_stop (h, why);
        break;
    }
    }
done:
    free (name);
    return r;
}

int zpar__registrar_handle (zpar_hub_t *h, const zpar_msg_t *req, zpar_msg_t **reply)
{
    zpar_msg_t *r = NULL;
    if (!h || !req || !reply) {
        errno = EINVAL;
        return -1;
    }
    *reply = NULL;
    switch (req->hdr.type) {
    case ZPAR_MSG_REGISTER_ENGINE:
        r = register_engine (h, req);
        break;
    case ZPAR_MSG_REGISTER_CLIENT:
        r = register_client (h, req);
        break;
    case ZPAR_MSG_QUERY:
        r = handle_query (h, req);
        break;
    case ZPAR_MSG_UNREGISTER:
        unregister (h, req);
        return 0;
    default:
        h->dropped++;
        errno = EPROTO;
        return -1;
    }
    if (r) {
        (void)zpar__msg_set_envelope (r, req->nenv, req->env);
        r->hdr.task = req->hdr.task;
    }
    *reply = r;
    return 0;
}

int zpar__registrar_recv (zpar_hub_t *h, zpar_msg_t *m, int max)
{
    int n = 0;
    if (!h || !h->registrar || !m)
        return 0;
    for (int k = 0; k < max; k++) {
        zpar_error_t err;
        zpar_msg_t *r;
        if (zpar__wire_recv (h->registrar, h->signer, m, ZMQ_DONTWAIT, &err) < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ETERM)
                break;
            zpar__warn ("registrar: %s", err.text);
            continue;
        }
        n++;
        if (m->nenv != 1) {
            h->dropped++;
            continue;
        }
        if (zpar__registrar_handle (h, m, &r) < 0) {
            zpar__warn ("registrar: unexpected %s message dropped",
                        zpar__msg_type_name (m->hdr.type));
            continue;
        }
        if (r && zpar__wire_send (h->registrar, h->signer, r, ZMQ_DONTWAIT) < 0)
            zpar__debug ("hub: reply to a vanished peer dropped");
        zpar__msg_destroy (r);
    }
    return n;
}
