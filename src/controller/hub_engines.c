/* hub_engines.c - the hub's engine table (by id and by uuid), an
 * engine coming up or dying, and the shutdown of every engine (hub.h).
 * The loop, the monitor and the records: hub.c. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "error.h"
#include "hub.h"
#include "hub_int.h"
#include "log.h"
#include "proto_control.h"
#include "proto_pipe.h"
#include "proto_task.h"
#include "registrar.h"
#include "zpar.h"

/* ---------------------------------------------------------- engine table */

zpar_hub_engine_t *zpar__hub_engine_slot (zpar_hub_t *h, zpar_eid_t eid)
{
    zpar_hub_engine_t *e;
    if (eid.v == 0 || eid.v > ZPAR_HUB_ENGINE_ID_MAX) {
        errno = EINVAL;
        return NULL;
    }
    if (!h->engine_ids && !(h->engine_ids = zpar__idmap_create ()))
        return NULL;
    if ((e = zpar__idmap_get (h->engine_ids, eid.v)))
        return e;
    if (h->nengines == h->engines_cap) {
        uint32_t n = h->engines_cap ? h->engines_cap * 2 : 16;
        zpar_hub_engine_t **ne = realloc (h->engines, n * sizeof (*ne));
        if (!ne)
            return NULL;
        h->engines = ne;
        h->engines_cap = n;
    }
    if (!(e = calloc (1, sizeof (*e))))
        return NULL;
    e->id = eid;
    if (zpar__idmap_put (h->engine_ids, eid.v, e) < 0) {
        free (e);
        return NULL;
    }
    h->engines[h->nengines++] = e;
    return e;
}

zpar_hub_engine_t *zpar__hub_engine_get (zpar_hub_t *h, zpar_eid_t id)
{
    zpar_hub_engine_t *e;
    if (id.v == 0 || !h->engine_ids || !(e = zpar__idmap_get (h->engine_ids, id.v)) ||
        e->state == ZPAR_HUB_ENGINE_UNKNOWN)
        return NULL;
    return e;
}

/* FNV-1a, never 0 (the idmap's empty key) */
static uint64_t fnv1a (const char *s)
{
    uint64_t x = 0xcbf29ce484222325ull;
    for (; *s; s++)
        x = (x ^ (uint8_t)*s) * 0x100000001b3ull;
    return x ? x : 1;
}

static uint64_t uuid_key (const zpar_hub_t *h, const char *uuid)
{
    uint64_t k = h->uuid_hash ? h->uuid_hash (uuid) : fnv1a (uuid);
    return k ? k : 1;
}

zpar_hub_engine_t *zpar__hub_engine_by_uuid (zpar_hub_t *h, const char *uuid)
{
    zpar_hub_engine_t *e;
    if (!h || !uuid || !*uuid)
        return NULL;
    if (h->engine_uuids && (e = zpar__idmap_get (h->engine_uuids, uuid_key (h, uuid))) &&
        e->state != ZPAR_HUB_ENGINE_UNKNOWN && !strcmp (e->uuid, uuid))
        return e;
    if (!h->uuid_unindexed)
        return NULL;
    for (uint32_t i = 0; i < h->nengines; i++)
        if (h->engines[i]->state != ZPAR_HUB_ENGINE_UNKNOWN && !strcmp (h->engines[i]->uuid, uuid))
            return h->engines[i];
    return NULL;
}

void zpar__hub_engine_set_uuid (zpar_hub_t *h, zpar_hub_engine_t *e, const char *uuid)
{
    zpar_hub_engine_t *o;
    uint64_t k;
    if (e->uuid[0] && h->engine_uuids &&
        zpar__idmap_get (h->engine_uuids, (k = uuid_key (h, e->uuid))) == e)
        (void)zpar__idmap_del (h->engine_uuids, k);
    snprintf (e->uuid, sizeof (e->uuid), "%s", uuid ? uuid : "");
    if (!e->uuid[0])
        return;
    k = uuid_key (h, e->uuid);
    /* a hash another holds: it stays, and lookups that miss scan */
    if ((!h->engine_uuids && !(h->engine_uuids = zpar__idmap_create ())) ||
        ((o = zpar__idmap_get (h->engine_uuids, k)) && o != e) ||
        zpar__idmap_put (h->engine_uuids, k, e) < 0)
        h->uuid_unindexed++;
}

unsigned zpar__hub_engines_alive (const zpar_hub_t *h)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < h->nengines; i++)
        if (h->engines[i]->state == ZPAR_HUB_ENGINE_ALIVE)
            n++;
    return n;
}

void zpar__hub_notify (zpar_hub_t *h, zpar_eid_t engine, zpar_notify_event_t event)
{
    zpar_proto_notify_t n = {.h.engine = engine, .event = event};
    zpar_msg_t *m;
    if (!h->notify || !(m = zpar__msg_create (ZPAR_MSG_NOTIFY)))
        return;
    if (zpar__proto_notify_encode (m, &n) == 0)
        (void)zpar__wire_send_chan (h->notify, h->signer, ZPAR_CHAN_NOTIFY, m, ZMQ_DONTWAIT);
    zpar__msg_destroy (m);
}

/* ---------------------------------------------------------------- engines */

void zpar__hub_engine_res (zpar_hub_engine_t *e, const zpar_proto_reg_engine_t *rq)
{
    char buf[ZPAR_SLOT_CPUSET_MAX + ZPAR_SLOT_GPUS_MAX + 2];
    free (e->res);
    e->res = NULL;
    e->cores = rq->cores ? (uint32_t)rq->cores : 1;
    e->mem_share = rq->mem_share;
    e->node_mem = rq->node_mem;
    if (rq->cpuset || rq->gpu_names) {
        snprintf (buf, sizeof (buf), "%s %s", rq->cpuset ? rq->cpuset : "-",
                  rq->gpu_names ? rq->gpu_names : "-");
        e->res = strdup (buf); /* out of memory: reported as not bound, no GPU */
    }
}

/* Tell the task scheduler what e holds, before "up" (proto_pipe.h). */
static void send_res (zpar_hub_t *h, const zpar_hub_engine_t *e)
{
    char slot[ZPAR_SLOT_MAX];
    const char *host = zpar__proto_slot_host_ok (e->host) ? e->host : "?";
    snprintf (slot, sizeof (slot), "%u %s %s %llu", e->id.v, host, e->res ? e->res : "- -",
              (unsigned long long)e->mem_share);
    if (zpar__pipe_send_res (h->lb_pipe, e->id.v, e->cores ? e->cores : 1, slot, e->node_mem, 0) <
        0)
        zpar__warn ("engine %u: its resources not told to the task scheduler: %s", e->id.v,
                    strerror (errno));
}

void zpar__hub_engine_up (zpar_hub_t *h, zpar_hub_engine_t *e)
{
    e->state = ZPAR_HUB_ENGINE_ALIVE;
    zpar__hub_engine_watch (h, e);
    /* the relays and the task scheduler route to e->route from now on
     * (before the engine hears its registration reply) */
    if (h->mux_inject)
        (void)zpar__pipe_send_route (h->mux_inject, &e->route, 0);
    if (h->ctl_inject)
        (void)zpar__pipe_send_route (h->ctl_inject, &e->route, 0);
    /* with the tasks it holds that it keeps (zpar__hub_engine_held), in
     * the same message */
    if (h->lb_pipe) {
        send_res (h, e);
        (void)zpar__pipe_send_up_adopt (h->lb_pipe, &e->route, h->adopt_list, h->adopt_len, 0);
    }
    free (h->adopt_list);
    h->adopt_list = NULL;
    h->adopt_len = 0;
    zpar__hub_notify (h, e->id, ZPAR_NOTIFY_REGISTERED);
}

static void fail_direct (zpar_hub_t *h, zpar_tid_t task, zpar_eid_t eid)
{
    char text[128];
    snprintf (text, sizeof (text), "engine %u died while running this task", eid.v);
    zpar__hub_fail_direct (h, task, eid, text);
}

void zpar__hub_engine_died (zpar_hub_t *h, zpar_hub_engine_t *e, const char *why)
{
    size_t pos = 0, n = 0, cap = 0;
    uint64_t id, *ids = NULL;
    live_t *l;
    zpar_eid_t eid = e->id;

    if (e->state != ZPAR_HUB_ENGINE_ALIVE)
        return;
    e->state = ZPAR_HUB_ENGINE_DEAD;
    zpar__hub_engine_unwatch (h, e);
    if (!strcmp (why, "unregistered"))
        zpar__info ("engine %u (%s pid %d) %s", eid.v, e->host, e->pid, why);
    else
        zpar__warn ("engine %u (%s pid %d) %s", eid.v, e->host, e->pid, why);
    if (h->lb_pipe)
        (void)zpar__pipe_send_down (h->lb_pipe, eid.v, 0);
    zpar__hub_notify (h, eid, ZPAR_NOTIFY_DIED);
    /* direct tasks that were on it fail; load-balanced ones are the task
     * scheduler's business (retry or engine-died answer) */
    while ((l = zpar__idmap_next (h->live, &pos, &id))) {
        if ((l->direct || l->orphan) && zpar__eid_eq (l->engine, eid)) {
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
        l = zpar__idmap_get (h->live, ids[i]);
        if (l && l->orphan) {
            /* never recorded: forgotten, its client submits it again */
            zpar__idmap_del (h->live, ids[i]);
            if (h->n_running)
                h->n_running--;
            free (l);
        } else
            fail_direct (h, zpar__tid (ids[i]), eid);
    }
    free (ids);
    e->outstanding = 0;
}

/* --------------------------------------------------------------- shutdown */

void zpar__hub_shutdown_engines (zpar_hub_t *h)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_SHUTDOWN);
    if (!m)
        return;
    for (uint32_t i = 0; i < h->nengines; i++) {
        const zpar_hub_engine_t *e = h->engines[i];
        zpar_proto_control_t c = {.h.engine = e->id, .op = ZPAR_CONTROL_SHUTDOWN};
        if (e->state != ZPAR_HUB_ENGINE_ALIVE)
            continue;
        zpar__msg_reset (m, ZPAR_MSG_SHUTDOWN);
        zpar__msg_push_ident (m, e->route.b, sizeof (e->route.b)); /* the relay adds its frame */
        zpar__msg_push_ident (m, "hub", 3);
        if (h->ctl_inject && zpar__proto_control_encode (m, &c) == 0)
            (void)zpar__wire_send_chan (h->ctl_inject, h->signer, ZPAR_CHAN_CONTROL, m,
                                        ZMQ_DONTWAIT);
        /* and through the registrar: an engine that has just registered
         * may not have connected its control socket yet, and a ROUTER
         * drops what it cannot route */
        if (e->reg_ident.len && h->registrar) {
            zpar__msg_reset (m, ZPAR_MSG_SHUTDOWN);
            zpar_ident_t env[2];
            int n = 0;
            if (zpar__route_relayed (&e->route)) {
                env[n].len = ZPAR_RELAY_ID_LEN;
                memcpy (env[n++].data, e->route.via, ZPAR_RELAY_ID_LEN);
            }
            env[n++] = e->reg_ident;
            zpar__msg_set_envelope (m, n, env);
            if (zpar__proto_control_encode (m, &c) == 0)
                (void)zpar__wire_send_chan (h->registrar, h->signer, ZPAR_CHAN_REGISTRAR, m,
                                            ZMQ_DONTWAIT);
        }
    }
    zpar__msg_destroy (m);
    zpar__hub_notify (h, zpar__eid (0), ZPAR_NOTIFY_SHUTDOWN);
}

int zpar__hub_wait_engines_gone (zpar_hub_t *h, int timeout_ms)
{
    uint64_t deadline = zpar__mono_us () + (uint64_t)timeout_ms * 1000u;
    uint64_t resend = zpar__mono_us () + 100000u;
    unsigned alive = 0;
    if (!h->r || !h->w[W_REGISTRAR]) {
        errno = EINVAL;
        return -1;
    }
    /* only the registrar now: UNREGISTER marks the engines gone */
    for (int i = 0; i < W_COUNT; i++)
        if (i != W_REGISTRAR)
            zpar__watcher_stop (h->w[i]);
    zpar__watcher_start (h->w[W_REGISTRAR]);
    for (;;) {
        uint64_t now = zpar__mono_us ();
        alive = zpar__hub_engines_alive (h);
        if (!alive || now >= deadline)
            break;
        if (now >= resend) {
            zpar__hub_shutdown_engines (h);
            resend = now + 100000u;
        }
        if (zpar__reactor_run_once (h->r, 20) < 0)
            break;
    }
    if (alive)
        zpar__warn ("%u engine(s) did not confirm the shutdown", alive);
    else if (h->records && h->incarnation)
        /* a clean stop: no engine holds a task of ours; the next
         * controller on these records needs no recovery window */
        (void)zpar__records_counter_raise (h->records, "clean_stop", h->incarnation);
    return (int)alive;
}
