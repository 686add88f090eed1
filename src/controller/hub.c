/* hub.c - registrar, notifications, heartbeat monitor, traffic monitor and
 * task records. */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "error.h"
#include "hub.h"
#include "log.h"
#include "zpar.h"

#define FLUSH_US 50000
#define DRAIN_MAX 4096

typedef struct {
    uint8_t state; /* ZPAR_REC_PENDING / RUNNING */
    uint8_t direct;
    uint32_t engine;
    uint32_t client;
} live_t;

static zpar_hub_engine_t *engine_slot (zpar_hub_t *h, uint32_t id)
{
    if (id == 0 || id > (1u << 24))
        return NULL;
    if (id >= h->nengines) {
        uint32_t n = h->nengines ? h->nengines : 16;
        zpar_hub_engine_t *ne;
        while (n <= id)
            n *= 2;
        if (!(ne = realloc (h->engines, n * sizeof (*ne))))
            return NULL;
        memset (ne + h->nengines, 0, (n - h->nengines) * sizeof (*ne));
        h->engines = ne;
        h->nengines = n;
    }
    return &h->engines[id];
}

static zpar_hub_engine_t *engine_get (zpar_hub_t *h, uint32_t id)
{
    if (id == 0 || id >= h->nengines || !h->engines[id].registered)
        return NULL;
    return &h->engines[id];
}

static void notify (zpar_hub_t *h, uint32_t engine, const char *event)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NOTIFY);
    if (!m)
        return;
    zpar__msg_push_ident (m, "notify", 6);
    m->hdr.engine = engine;
    zpar__msg_add_str (m, ZPAR_F_EVENT, event);
    (void)zpar__wire_send (h->notify, h->signer, m, ZMQ_DONTWAIT);
    zpar__msg_destroy (m);
}

static void taskq_send (zpar_hub_t *h, const char *cmd, const void *a, size_t alen,
                        const void *b, size_t blen)
{
    zmq_send (h->taskq_pipe, cmd, strlen (cmd), ZMQ_SNDMORE);
    zmq_send (h->taskq_pipe, a, alen, b ? ZMQ_SNDMORE : 0);
    if (b)
        zmq_send (h->taskq_pipe, b, blen, 0);
}

static void tell_done (zpar_hub_t *h, uint64_t id, int ok)
{
    uint8_t v = ok ? 1 : 2;
    taskq_send (h, "done", &id, sizeof (id), &v, 1);
}

/* --------------------------------------------------------------- records */

static void record_finish (zpar_hub_t *h, const zpar_msg_t *m, int from_direct)
{
    uint64_t status = zpar__msg_u64_or (m, ZPAR_F_STATUS, ZPAR_STATUS_ERROR);
    live_t *l = zpar__idmap_del (h->live, m->hdr.task);
    uint8_t *buf;
    size_t len;

    if (l) {
        if (l->state == ZPAR_REC_PENDING && h->n_pending)
            h->n_pending--;
        else if (l->state == ZPAR_REC_RUNNING && h->n_running)
            h->n_running--;
        if (l->state == ZPAR_REC_RUNNING) {
            zpar_hub_engine_t *e = engine_get (h, l->engine);
            if (e && e->outstanding)
                e->outstanding--;
        }
        free (l);
    }
    if (status == ZPAR_STATUS_OK)
        h->n_ok++;
    else
        h->n_notok++;
    if (zpar__msg_pack (m, &buf, &len) == 0) {
        (void)zpar__store_put_result (h->store, m->hdr.task, m->hdr.engine, (int)status, buf, len,
                                      zpar__now_us ());
        free (buf);
    }
    if (from_direct)
        tell_done (h, m->hdr.task, status == ZPAR_STATUS_OK);
}

static void record_submit (zpar_hub_t *h, const zpar_msg_t *m, int direct)
{
    live_t *l = zpar__idmap_get (h->live, m->hdr.task);
    uint8_t *buf;
    size_t len;
    if (m->hdr.task == 0)
        return;
    if (!l) {
        if (!(l = calloc (1, sizeof (*l))))
            return;
        l->state = direct ? ZPAR_REC_RUNNING : ZPAR_REC_PENDING;
        l->direct = (uint8_t)direct;
        l->engine = direct ? m->hdr.engine : 0;
        l->client = m->hdr.client;
        if (zpar__idmap_put (h->live, m->hdr.task, l) < 0) {
            free (l);
            return;
        }
        if (direct) {
            zpar_hub_engine_t *e = engine_get (h, l->engine);
            h->n_running++;
            if (e)
                e->outstanding++;
        }
        else
            h->n_pending++;
    }
    if (zpar__msg_pack (m, &buf, &len) == 0) {
        (void)zpar__store_put_request (h->store, m->hdr.task, m->hdr.client, l->engine, buf, len,
                                       m->hdr.time_us);
        free (buf);
    }
}

static void record_running (zpar_hub_t *h, const zpar_msg_t *m)
{
    live_t *l = zpar__idmap_get (h->live, m->hdr.task);
    zpar_hub_engine_t *e;
    if (!l)
        return;
    if (l->state == ZPAR_REC_PENDING) {
        if (h->n_pending)
            h->n_pending--;
        h->n_running++;
    }
    else if ((e = engine_get (h, l->engine)) && e->outstanding)
        e->outstanding--;
    l->state = ZPAR_REC_RUNNING;
    l->engine = m->hdr.engine;
    if ((e = engine_get (h, l->engine)))
        e->outstanding++;
    (void)zpar__store_put_running (h->store, m->hdr.task, m->hdr.engine, zpar__now_us ());
}

static void handle_monitor (zpar_hub_t *h, zpar_msg_t *scratch)
{
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        zpar_error_t err;
        char tag[16] = "";
        size_t tl;
        if (zpar__frames_recv (h->monitor, &f, ZMQ_DONTWAIT) < 0)
            return;
        tl = zmq_msg_size (&f.part[0]);
        if (tl < sizeof (tag))
            memcpy (tag, zmq_msg_data (&f.part[0]), tl);
        if (zpar__frames_check (NULL, &f, NULL, &err) < 0
            || zpar__frames_decode (&f, scratch, &err) < 0) {
            zpar__warn ("hub: bad monitor message (%s): %s", tag, err.text);
            zpar__frames_close (&f);
            continue;
        }
        if (!strcmp (tag, "mux_in"))
            record_submit (h, scratch, 1);
        else if (!strcmp (tag, "task_in"))
            record_submit (h, scratch, 0);
        else if (!strcmp (tag, "task_run"))
            record_running (h, scratch);
        else if (!strcmp (tag, "mux_out") || !strcmp (tag, "ctl_out"))
            record_finish (h, scratch, 1);
        else if (!strcmp (tag, "task_out"))
            record_finish (h, scratch, 0);
        zpar__frames_close (&f);
    }
}

/* ------------------------------------------------------------- engines */

static void engine_died (zpar_hub_t *h, zpar_hub_engine_t *e, const char *why)
{
    size_t pos = 0, n = 0, cap = 0;
    uint64_t id, *ids = NULL;
    live_t *l;
    uint32_t eid = e->id;

    if (!e->alive)
        return;
    e->alive = 0;
    if (!strcmp (why, "unregistered"))
        zpar__info ("engine %u (%s pid %d) %s", eid, e->host, e->pid, why);
    else
        zpar__warn ("engine %u (%s pid %d) %s", eid, e->host, e->pid, why);
    taskq_send (h, "down", &eid, sizeof (eid), NULL, 0);
    notify (h, eid, "died");
    /* direct tasks that were on it fail; load-balanced ones are the task
     * scheduler's business (retry or engine-died answer) */
    while ((l = zpar__idmap_next (h->live, &pos, &id))) {
        if (l->direct && l->engine == eid) {
            if (n == cap) {
                uint64_t *ni = realloc (ids, (cap = cap ? cap * 2 : 16) * sizeof (*ni));
                if (!ni)
                    break;
                ids = ni;
            }
            ids[n++] = id;
        }
    }
    for (size_t i = 0; i < n; i++) {
        zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_RESULT);
        char text[128];
        if (!m)
            continue;
        l = zpar__idmap_get (h->live, ids[i]);
        m->hdr.task = ids[i];
        m->hdr.engine = eid;
        m->hdr.client = l ? l->client : 0;
        m->hdr.time_us = zpar__now_us ();
        snprintf (text, sizeof (text), "engine %u died while running this task", eid);
        zpar__msg_add_u64 (m, ZPAR_F_STATUS, ZPAR_STATUS_ENGINE_DIED);
        zpar__msg_add_u64 (m, ZPAR_F_EXIT, (uint64_t)-1);
        zpar__msg_add_str (m, ZPAR_F_ERROR, text);
        record_finish (h, m, 1);
        zpar__msg_destroy (m);
    }
    free (ids);
    e->outstanding = 0;
}

static void add_addrs (zpar_hub_t *h, zpar_msg_t *r, int engine_side)
{
    const zpar_conninfo_t *ci = &h->ci;
    zpar__msg_add_str (r, ZPAR_F_ADDR_MUX, ci->addr[engine_side ? ZPAR_EP_MUX_ENGINE : ZPAR_EP_MUX_CLIENT]);
    zpar__msg_add_str (r, ZPAR_F_ADDR_TASK, ci->addr[engine_side ? ZPAR_EP_TASK_ENGINE : ZPAR_EP_TASK_CLIENT]);
    zpar__msg_add_str (r, ZPAR_F_ADDR_CONTROL,
                       ci->addr[engine_side ? ZPAR_EP_CONTROL_ENGINE : ZPAR_EP_CONTROL_CLIENT]);
    zpar__msg_add_str (r, ZPAR_F_ADDR_IOPUB, ci->addr[engine_side ? ZPAR_EP_IOPUB_ENGINE : ZPAR_EP_IOPUB_CLIENT]);
    zpar__msg_add_str (r, ZPAR_F_TASK_SCHEME, h->scheme);
    if (engine_side) {
        zpar__msg_add_str (r, ZPAR_F_ADDR_HB_PING, ci->addr[ZPAR_EP_HB_PING]);
        zpar__msg_add_str (r, ZPAR_F_ADDR_HB_PONG, ci->addr[ZPAR_EP_HB_PONG]);
        zpar__msg_add_u64 (r, ZPAR_F_HB_PERIOD_MS, (uint64_t)h->hb_period_ms);
        zpar__msg_add_u64 (r, ZPAR_F_HB_MISSES, (uint64_t)h->hb_misses);
    }
    else
        zpar__msg_add_str (r, ZPAR_F_ADDR_NOTIFY, ci->addr[ZPAR_EP_NOTIFY]);
}

static void reply (zpar_hub_t *h, zpar_msg_t *req, zpar_msg_t *r)
{
    zpar__msg_set_envelope (r, req->nenv, req->env);
    r->hdr.task = req->hdr.task;
    if (zpar__wire_send (h->registrar, h->signer, r, ZMQ_DONTWAIT) < 0)
        zpar__debug ("hub: reply to a vanished peer dropped");
}

static void reply_error (zpar_hub_t *h, zpar_msg_t *req, int type, int errnum, const char *text)
{
    zpar_msg_t *r = zpar__msg_create ((zpar_msg_type_t)type);
    if (!r)
        return;
    zpar__msg_add_str (r, ZPAR_F_ERROR, text);
    zpar__msg_add_u64 (r, ZPAR_F_ERRNO, (uint64_t)errnum);
    reply (h, req, r);
    zpar__msg_destroy (r);
}

static void register_engine (zpar_hub_t *h, zpar_msg_t *m)
{
    uint64_t want = zpar__msg_u64_or (m, ZPAR_F_ENGINE_ID, 0);
    char *host = zpar__msg_get_str (m, ZPAR_F_HOST);
    char *uuid = zpar__msg_get_str (m, ZPAR_F_ENGINE_UUID);
    uint32_t id = 0;
    zpar_hub_engine_t *e;
    zpar_msg_t *r;

    if (!uuid || !*uuid) {
        reply_error (h, m, ZPAR_MSG_REGISTER_ENGINE_REPLY, EINVAL, "registration without an engine uuid");
        goto done;
    }
    /* the same engine registering again (lost controller, resend) keeps its id */
    for (uint32_t i = 1; i < h->nengines; i++) {
        if (h->engines[i].registered && strcmp (h->engines[i].uuid, uuid) == 0) {
            id = i;
            break;
        }
    }
    if (!id && want && want < (1u << 24)) {
        zpar_hub_engine_t *w = engine_get (h, (uint32_t)want);
        if (!w || !w->alive)
            id = (uint32_t)want;
    }
    if (!id) {
        do
            id = ++h->next_engine;
        while (engine_get (h, id) && engine_get (h, id)->alive);
    }
    if (id > h->next_engine)
        h->next_engine = id;
    if (!(e = engine_slot (h, id))) {
        reply_error (h, m, ZPAR_MSG_REGISTER_ENGINE_REPLY, ENOMEM, "controller out of memory");
        goto done;
    }
    {
        int was_alive = e->alive;
        memset (e, 0, sizeof (*e));
        e->id = id;
        e->registered = 1;
        e->alive = 1;
        snprintf (e->host, sizeof (e->host), "%s", host ? host : "?");
        snprintf (e->uuid, sizeof (e->uuid), "%s", uuid);
        e->pid = (int)zpar__msg_u64_or (m, ZPAR_F_PID, 0);
        e->rank = (int)(int64_t)zpar__msg_u64_or (m, ZPAR_F_RANK, (uint64_t)-1);
        e->last_beat_us = zpar__mono_us ();
        if (m->nenv > 0)
            e->reg_ident = m->env[0];
        if (!(r = zpar__msg_create (ZPAR_MSG_REGISTER_ENGINE_REPLY)))
            goto done;
        r->hdr.engine = id;
        add_addrs (h, r, 1);
        reply (h, m, r);
        zpar__msg_destroy (r);
        if (!was_alive) {
            zpar__info ("engine %u registered (%s pid %d rank %d)", id, e->host, e->pid, e->rank);
            taskq_send (h, "up", &id, sizeof (id), NULL, 0);
            notify (h, id, "registered");
        }
        else
            zpar__debug ("engine %u registered again", id);
    }
done:
    free (host);
    free (uuid);
}

static void register_client (zpar_hub_t *h, zpar_msg_t *m)
{
    uint64_t num = 0;
    zpar_msg_t *r;
    if (zpar__store_next_counter (h->store, "client", &num) < 0 || num == 0 || num > 0xffffffffu) {
        reply_error (h, m, ZPAR_MSG_REGISTER_CLIENT_REPLY, EIO, "cannot assign a client number");
        return;
    }
    if (!(r = zpar__msg_create (ZPAR_MSG_REGISTER_CLIENT_REPLY)))
        return;
    r->hdr.client = (uint32_t)num;
    zpar__msg_add_u64 (r, ZPAR_F_CLIENT_ID, num);
    add_addrs (h, r, 0);
    reply (h, m, r);
    zpar__msg_destroy (r);
}

/* ------------------------------------------------------------- queries */

static void query_engines (zpar_hub_t *h, zpar_msg_t *m, zpar_msg_t *r)
{
    zpar_msg_t *e = zpar__msg_create (ZPAR_MSG_NOTIFY);
    if (!e)
        return;
    for (uint32_t i = 1; i < h->nengines; i++) {
        zpar_hub_engine_t *x = &h->engines[i];
        uint8_t *buf;
        size_t len;
        if (!x->registered)
            continue;
        zpar__msg_reset (e, ZPAR_MSG_NOTIFY);
        e->hdr.engine = i;
        zpar__msg_add_u64 (e, ZPAR_F_ENGINE_ID, i);
        zpar__msg_add_str (e, ZPAR_F_HOST, x->host);
        zpar__msg_add_u64 (e, ZPAR_F_PID, (uint64_t)x->pid);
        zpar__msg_add_u64 (e, ZPAR_F_RANK, (uint64_t)(int64_t)x->rank);
        zpar__msg_add_str (e, ZPAR_F_STATE, !x->alive ? "dead" : x->outstanding ? "busy" : "idle");
        zpar__msg_add_u64 (e, ZPAR_F_OUTSTANDING, x->outstanding);
        if (zpar__msg_pack (e, &buf, &len) == 0) {
            zpar__msg_add_bytes (r, ZPAR_F_RECORD, buf, len);
            free (buf);
        }
    }
    zpar__msg_destroy (e);
    (void)m;
}

static void query_task (zpar_hub_t *h, zpar_msg_t *m, zpar_msg_t *r, int want_request)
{
    uint64_t id = zpar__msg_u64_or (m, ZPAR_F_TASK_ID, 0);
    live_t *l = zpar__idmap_get (h->live, id);
    int state, status;
    uint8_t *req = NULL, *res = NULL;
    size_t reqlen = 0, reslen = 0;

    zpar__msg_add_u64 (r, ZPAR_F_TASK_ID, id);
    if (zpar__store_get (h->store, id, &state, &status, &req, &reqlen, &res, &reslen) < 0) {
        if (l) {
            zpar__msg_add_str (r, ZPAR_F_STATE, l->state == ZPAR_REC_PENDING ? "pending" : "running");
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
    }
    else if (state == ZPAR_REC_DONE && res) {
        zpar__msg_add_str (r, ZPAR_F_STATE, "done");
        zpar__msg_add_bytes (r, ZPAR_F_RECORD, res, reslen);
    }
    else
        zpar__msg_add_str (r, ZPAR_F_STATE, state == ZPAR_REC_RUNNING ? "running" : "pending");
    free (req);
    free (res);
}

static void handle_query (zpar_hub_t *h, zpar_msg_t *m)
{
    char *q = zpar__msg_get_str (m, ZPAR_F_QUERY);
    zpar_msg_t *r = zpar__msg_create (ZPAR_MSG_QUERY_REPLY);
    if (!q || !r) {
        if (r)
            reply_error (h, m, ZPAR_MSG_QUERY_REPLY, EINVAL, "query without a query name");
        goto done;
    }
    zpar__msg_add_str (r, ZPAR_F_QUERY, q);
    if (!strcmp (q, "engines"))
        query_engines (h, m, r);
    else if (!strcmp (q, "status")) {
        zpar__msg_add_u64 (r, ZPAR_F_PENDING, h->n_pending);
        zpar__msg_add_u64 (r, ZPAR_F_RUNNING, h->n_running);
        zpar__msg_add_u64 (r, ZPAR_F_COMPLETED, h->n_ok);
        zpar__msg_add_u64 (r, ZPAR_F_FAILED, h->n_notok);
        zpar__msg_add_u64 (r, ZPAR_F_DROPPED,
                           h->dropped + zpar__signer_stats (h->signer)->malformed
                               + zpar__signer_stats (h->signer)->badsig
                               + zpar__signer_stats (h->signer)->replayed
                               + (h->extra_dropped ? h->extra_dropped (h->extra_arg) : 0));
    }
    else if (!strcmp (q, "result"))
        query_task (h, m, r, 0);
    else if (!strcmp (q, "request"))
        query_task (h, m, r, 1);
    else if (!strcmp (q, "purge")) {
        uint64_t id = zpar__msg_u64_or (m, ZPAR_F_TASK_ID, 0);
        long n = zpar__store_purge (h->store, id);
        zpar__msg_add_u64 (r, ZPAR_F_COUNT, n < 0 ? 0 : (uint64_t)n);
        if (n >= 0) {
            uint64_t ok, notok;
            if (zpar__store_counts (h->store, &ok, &notok) == 0) {
                h->n_ok = ok;
                h->n_notok = notok;
            }
        }
    }
    else if (!strcmp (q, "shutdown")) {
        zpar__info ("shutdown requested by client %u", m->hdr.client);
        h->stopping = 1;
    }
    else {
        zpar__msg_destroy (r);
        r = NULL;
        reply_error (h, m, ZPAR_MSG_QUERY_REPLY, EINVAL, "unknown query");
        goto done;
    }
    reply (h, m, r);
done:
    zpar__msg_destroy (r);
    free (q);
}

static void handle_registrar (zpar_hub_t *h, zpar_msg_t *m)
{
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_error_t err;
        if (zpar__wire_recv (h->registrar, h->signer, m, ZMQ_DONTWAIT, &err) < 0) {
            if (errno == EAGAIN)
                return;
            if (errno == EINTR || errno == ETERM)
                return;
            zpar__warn ("registrar: %s", err.text);
            continue;
        }
        if (m->nenv != 1) {
            h->dropped++;
            continue;
        }
        switch (m->hdr.type) {
        case ZPAR_MSG_REGISTER_ENGINE:
            register_engine (h, m);
            break;
        case ZPAR_MSG_REGISTER_CLIENT:
            register_client (h, m);
            break;
        case ZPAR_MSG_QUERY:
            handle_query (h, m);
            break;
        case ZPAR_MSG_UNREGISTER: {
            zpar_hub_engine_t *e = engine_get (h, m->hdr.engine);
            if (e && e->alive && e->reg_ident.len == m->env[0].len
                && memcmp (e->reg_ident.data, m->env[0].data, e->reg_ident.len) == 0) {
                engine_died (h, e, "unregistered");
                notify (h, e->id, "unregistered");
            }
            break;
        }
        default:
            h->dropped++;
            zpar__warn ("registrar: unexpected %s message dropped", zpar__msg_type_name (m->hdr.type));
        }
    }
}

/* ----------------------------------------------------------- heartbeat */

static void send_ping (zpar_hub_t *h)
{
    /* seq, time, and our session: engines that see another session know
     * a new controller took over and register again */
    uint64_t v[3] = {++h->hb_seq, zpar__now_us (), zpar__signer_session (h->signer)};
    zmq_send (h->hb_ping, v, sizeof (v), ZMQ_DONTWAIT);
}

static void handle_pong (zpar_hub_t *h)
{
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        char id[24];
        size_t len;
        unsigned long eid;
        char *end;
        zpar_hub_engine_t *e;
        if (zpar__frames_recv (h->hb_pong, &f, ZMQ_DONTWAIT) < 0) {
            if (errno == EPROTO) {
                h->dropped++;
                continue;
            }
            return;
        }
        len = zmq_msg_size (&f.part[0]);
        if (f.n != 2 || len < 2 || len >= sizeof (id) || zmq_msg_size (&f.part[1]) != 24) {
            h->dropped++;
            zpar__frames_close (&f);
            continue;
        }
        memcpy (id, zmq_msg_data (&f.part[0]), len);
        id[len] = '\0';
        eid = id[0] == 'e' ? strtoul (id + 1, &end, 10) : 0;
        if (eid && *end == '\0' && (e = engine_get (h, (uint32_t)eid)) && e->alive)
            e->last_beat_us = zpar__mono_us ();
        zpar__frames_close (&f);
    }
}

static void check_hearts (zpar_hub_t *h)
{
    uint64_t now = zpar__mono_us ();
    uint64_t limit = (uint64_t)h->hb_period_ms * 1000u * (uint64_t)h->hb_misses;
    for (uint32_t i = 1; i < h->nengines; i++) {
        zpar_hub_engine_t *e = &h->engines[i];
        if (e->alive && now - e->last_beat_us > limit + (uint64_t)h->hb_period_ms * 500u) {
            char why[96];
            snprintf (why, sizeof (why), "missed %d heartbeats: declared dead", h->hb_misses);
            engine_died (h, e, why);
        }
    }
}

/* ------------------------------------------------------------ shutdown */

void zpar__hub_shutdown_engines (zpar_hub_t *h)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_SHUTDOWN);
    if (!m)
        return;
    for (uint32_t i = 1; i < h->nengines; i++) {
        char ident[16];
        int n;
        if (!h->engines[i].alive)
            continue;
        n = snprintf (ident, sizeof (ident), "e%u", i);
        zpar__msg_reset (m, ZPAR_MSG_SHUTDOWN);
        zpar__msg_push_ident (m, ident, (size_t)n);
        zpar__msg_push_ident (m, "hub", 3);
        m->hdr.engine = i;
        (void)zpar__wire_send (h->ctl_inject, h->signer, m, ZMQ_DONTWAIT);
        /* and through the registrar: an engine that has just registered
         * may not have connected its control socket yet, and a ROUTER
         * drops what it cannot route */
        if (h->engines[i].reg_ident.len) {
            zpar__msg_reset (m, ZPAR_MSG_SHUTDOWN);
            zpar__msg_set_envelope (m, 1, &h->engines[i].reg_ident);
            m->hdr.engine = i;
            (void)zpar__wire_send (h->registrar, h->signer, m, ZMQ_DONTWAIT);
        }
    }
    zpar__msg_destroy (m);
    notify (h, 0, "shutdown");
}

int zpar__hub_wait_engines_gone (zpar_hub_t *h, int timeout_ms)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    uint64_t deadline = zpar__mono_us () + (uint64_t)timeout_ms * 1000u;
    uint64_t resend = zpar__mono_us () + 100000u;
    int alive = 0;
    if (!m)
        return -1;
    for (;;) {
        zmq_pollitem_t it = {h->registrar, 0, ZMQ_POLLIN, 0};
        uint64_t now = zpar__mono_us ();
        alive = 0;
        for (uint32_t i = 1; i < h->nengines; i++)
            if (h->engines[i].alive)
                alive++;
        if (!alive || now >= deadline)
            break;
        if (now >= resend) {
            zpar__hub_shutdown_engines (h);
            resend = now + 100000u;
        }
        if (zmq_poll (&it, 1, 20) > 0)
            handle_registrar (h, m); /* UNREGISTER marks them gone */
    }
    zpar__msg_destroy (m);
    if (alive)
        zpar__warn ("%d engine(s) did not confirm the shutdown", alive);
    return alive;
}

void zpar__hub_free_state (zpar_hub_t *h)
{
    size_t pos = 0;
    live_t *l;
    if (h->live) {
        while ((l = zpar__idmap_next (h->live, &pos, NULL)))
            free (l);
        zpar__idmap_destroy (h->live);
        h->live = NULL;
    }
    free (h->engines);
    h->engines = NULL;
    h->nengines = 0;
}

static void handle_taskq (zpar_hub_t *h)
{
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        if (zpar__frames_recv (h->taskq_pipe, &f, ZMQ_DONTWAIT) < 0)
            return;
        if (f.n == 2 && zmq_msg_size (&f.part[0]) == 4
            && memcmp (zmq_msg_data (&f.part[0]), "dep?", 4) == 0
            && zmq_msg_size (&f.part[1]) == 8) {
            uint64_t id;
            int state, status;
            memcpy (&id, zmq_msg_data (&f.part[1]), 8);
            if (!zpar__idmap_get (h->live, id)
                && zpar__store_get (h->store, id, &state, &status, NULL, NULL, NULL, NULL) == 0
                && state == ZPAR_REC_DONE)
                tell_done (h, id, status == ZPAR_STATUS_OK);
        }
        zpar__frames_close (&f);
    }
}

static void requeue_one (void *arg, uint64_t id, int state, uint32_t engine, const void *req,
                         size_t len)
{
    zpar_hub_t *h = arg;
    (void)state;
    (void)engine;
    /* only load-balanced requests (header engine 0) are taken again: the
     * task scheduler checks; direct tasks belong to their engine */
    if (!req || len < ZPAR_HDR_LEN)
        return;
    zpar__debug ("task %llu: recorded but not finished by the previous controller",
                 (unsigned long long)id);
    taskq_send (h, "req", req, len, NULL, 0);
}

int zpar__hub_run (zpar_hub_t *h)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_msg_t *scratch = zpar__msg_create (ZPAR_MSG_NONE);
    uint64_t next_ping = zpar__mono_us ();
    uint64_t next_flush = next_ping + FLUSH_US;
    zmq_pollitem_t items[5] = {
        {h->registrar, 0, ZMQ_POLLIN, 0},
        {h->hb_pong, 0, ZMQ_POLLIN, 0},
        {h->monitor, 0, ZMQ_POLLIN, 0},
        {h->taskq_pipe, 0, ZMQ_POLLIN, 0},
        {NULL, h->sigfd, ZMQ_POLLIN, 0},
    };
    int nitems = h->sigfd >= 0 ? 5 : 4;
    int busy_since_trim = 0;

    if (!m || !scratch) {
        zpar__msg_destroy (m);
        zpar__msg_destroy (scratch);
        return -1;
    }
    if (!(h->live = zpar__idmap_create ())) {
        zpar__msg_destroy (m);
        zpar__msg_destroy (scratch);
        return -1;
    }
    (void)zpar__store_counts (h->store, &h->n_ok, &h->n_notok);
    /* tasks an earlier controller recorded but never finished: the
     * load-balanced ones are queued again (records persist, no submitted
     * task is lost across a controller restart) */
    (void)zpar__store_unfinished (h->store, requeue_one, h);
    while (!h->stopping) {
        uint64_t now = zpar__mono_us ();
        long timeout;
        uint64_t next = next_ping < next_flush ? next_ping : next_flush;
        timeout = next > now ? (long)((next - now) / 1000) : 0;
        if (zmq_poll (items, nitems, timeout) < 0 && errno != EINTR)
            break;
        if (items[2].revents & ZMQ_POLLIN)
            handle_monitor (h, scratch);
        if (items[0].revents & ZMQ_POLLIN)
            handle_registrar (h, m);
        if (items[1].revents & ZMQ_POLLIN)
            handle_pong (h);
        if (items[3].revents & ZMQ_POLLIN)
            handle_taskq (h);
        if (nitems == 5 && (items[4].revents & ZMQ_POLLIN)) {
            char c;
            if (read (h->sigfd, &c, 1) >= 0) {
                zpar__info ("signal received: shutting down");
                h->stopping = 1;
            }
        }
        now = zpar__mono_us ();
        if (now >= next_ping) {
            check_hearts (h);
            send_ping (h);
            next_ping = now + (uint64_t)h->hb_period_ms * 1000u;
        }
        if (now >= next_flush || zpar__store_batched (h->store) >= ZPAR_STORE_BATCH) {
            zpar_error_t err;
            if (zpar__store_batched (h->store))
                busy_since_trim = 1;
            if (zpar__store_flush (h->store, &err) < 0)
                zpar__err ("%s", err.text);
            next_flush = now + FLUSH_US;
            /* after a burst, when nothing is live any more, give the freed
             * heap back to the system: the controller's memory follows its
             * live tasks, not the tasks it has seen */
            if (busy_since_trim && zpar__idmap_size (h->live) == 0) {
                malloc_trim (0);
                busy_since_trim = 0;
            }
        }
    }
    /* drain what the schedulers already reported, so no record is lost */
    handle_monitor (h, scratch);
    (void)zpar__store_flush (h->store, NULL);
    zpar__msg_destroy (m);
    zpar__msg_destroy (scratch);
    return 0;
}
