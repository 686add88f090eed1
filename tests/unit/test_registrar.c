/* test_registrar.c - the registrar without sockets: engine and client
 * registration, re-registration, unregistration, every query, wrong
 * requests and bad parameters, on a hub whose sockets are all NULL. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admit.h"
#include "hub.h"
#include "hub_fixture.h"
#include "registrar.h"
#include "tap.h"
#include "zpar.h"

static char tmpdir[] = "/tmp/zpar-test-registrar-XXXXXX";

static zpar_msg_t *request (zpar_msg_type_t type, const char *peer)
{
    zpar_msg_t *m = zpar__msg_create (type);
    if (m && peer)
        zpar__msg_push_ident (m, peer, strlen (peer));
    return m;
}

static zpar_msg_t *engine_req (const char *peer, const char *uuid, uint64_t want)
{
    hfx_engine_t e = {.uuid = uuid, .host = "node7", .pid = 4242, .rank = 3, .want = want};
    return hfx_engine_req (peer, &e);
}

static zpar_msg_t *query_req (const char *name, uint64_t task)
{
    zpar_msg_t *m = request (ZPAR_MSG_QUERY, "client-a");
    if (name)
        zpar__msg_add_str (m, ZPAR_F_QUERY, name);
    if (task)
        zpar__msg_add_u64 (m, ZPAR_F_TASK_ID, task);
    m->hdr.task = 555; /* the reply carries it back */
    return m;
}

/* Handle req (destroyed) and return the reply (NULL if none). */
static zpar_msg_t *handle (zpar_hub_t *h, zpar_msg_t *req)
{
    zpar_msg_t *r = NULL;
    if (zpar__registrar_handle (h, req, &r) < 0)
        r = NULL;
    zpar__msg_destroy (req);
    return r;
}

static char *str_field (const zpar_msg_t *m, zpar_field_t f)
{
    static char buf[256];
    char *s = m ? zpar__msg_get_str (m, f) : NULL;
    snprintf (buf, sizeof (buf), "%s", s ? s : "(none)");
    free (s);
    return buf;
}

/* The state the "engines" query reports for engine id. */
static const char *engine_state (zpar_hub_t *h, uint32_t id)
{
    static char state[32];
    zpar_msg_t *r = handle (h, query_req ("engines", 0)), *e = zpar__msg_create (ZPAR_MSG_NONE);
    snprintf (state, sizeof (state), "(absent)");
    for (size_t i = 0; r && i < zpar__msg_count (r, ZPAR_F_RECORD); i++) {
        size_t len;
        const void *p = zpar__msg_get_bytes_at (r, ZPAR_F_RECORD, i, &len);
        if (zpar__msg_unpack (e, p, len, NULL) == 0 &&
            zpar__msg_u64_or (e, ZPAR_F_ENGINE_ID, 0) == id)
            snprintf (state, sizeof (state), "%s", str_field (e, ZPAR_F_STATE));
    }
    zpar__msg_destroy (r);
    zpar__msg_destroy (e);
    return state;
}

static void test_engines (zpar_hub_t *h)
{
    zpar_msg_t *r, *u;
    uint32_t id1, id2;
    zpar_route_t route1 = {{0}, {0}};

    r = handle (h, engine_req ("peer-1", "uuid-1", 0));
    ok (r && r->hdr.type == ZPAR_MSG_REGISTER_ENGINE_REPLY, "an engine registers");
    id1 = r ? r->hdr.engine : 0;
    ok (id1 >= 1, "it gets an id (%u)", id1);
    ok (r && r->nenv == 1 && r->env[0].len == 6 && memcmp (r->env[0].data, "peer-1", 6) == 0,
        "the reply is addressed to the peer");
    is_str (str_field (r, ZPAR_F_ADDR_MUX), "tcp://mux-engine", "with the engine-side MUX address");
    is_str (str_field (r, ZPAR_F_ADDR_HB_PING), "tcp://hb-ping", "and the heartbeat addresses");
    ok (r && zpar__msg_u64_or (r, ZPAR_F_HB_PERIOD_MS, 0) == 100, "and the heartbeat period");
    {
        size_t len = 0;
        const void *p = r ? zpar__msg_get_bytes (r, ZPAR_F_ROUTE, &len) : NULL;
        zpar_hub_engine_t *e = zpar__hub_engine_get (h, zpar__eid (id1));
        ok (p && zpar__route_engine (p, len).v == id1 && e &&
                memcmp (e->route.b, p, ZPAR_ROUTE_LEN) == 0,
            "and a routing identity naming it, the one the hub keeps");
        if (p && len == ZPAR_ROUTE_LEN)
            memcpy (route1.b, p, len);
    }
    zpar__msg_destroy (r);
    ok (zpar__hub_engine_watched (zpar__hub_engine_get (h, zpar__eid (id1))),
        "its heart is watched");
    is_int (zpar__hub_engines_alive (h), 1, "one engine is alive");
    is_str (engine_state (h, id1), "idle", "the engines query lists it idle");

    r = handle (h, engine_req ("peer-1b", "uuid-1", 0));
    ok (r && r->hdr.engine == id1, "the same uuid registering again keeps its id");
    {
        size_t len = 0;
        const void *p = r ? zpar__msg_get_bytes (r, ZPAR_F_ROUTE, &len) : NULL;
        ok (p && len == ZPAR_ROUTE_LEN && memcmp (p, route1.b, len) == 0,
            "and, still alive, its routing identity (a duplicate gets the same reply)");
    }
    zpar__msg_destroy (r);
    is_int (zpar__hub_engines_alive (h), 1, "still one engine");
    {
        /* the same registration repeated from the same socket (peer-1b):
         * answered alike, acted on no further (no new heartbeat watch) */
        zpar_hub_engine_t *e = zpar__hub_engine_get (h, zpar__eid (id1));
        uint32_t gen = e ? e->hb_gen : 0;
        uint64_t reps = h->reg_repeats;
        size_t len = 0;
        const void *p;
        r = handle (h, engine_req ("peer-1b", "uuid-1", 0));
        p = r ? zpar__msg_get_bytes (r, ZPAR_F_ROUTE, &len) : NULL;
        ok (r && r->hdr.engine == id1 && p && len == ZPAR_ROUTE_LEN &&
                memcmp (p, route1.b, len) == 0 && r->nenv == 1 && r->env[0].len == 7 &&
                memcmp (r->env[0].data, "peer-1b", 7) == 0,
            "a repeat from the same socket gets the same reply");
        ok (h->reg_repeats == reps + 1 && e && e->hb_gen == gen,
            "counted as a repeat, and not watched afresh");
        zpar__msg_destroy (r);
        r = handle (h, engine_req ("peer-1c", "uuid-1", 0));
        ok (r && r->hdr.engine == id1 && h->reg_repeats == reps + 1 && e && e->hb_gen != gen,
            "from another socket it is a registration again (watched afresh)");
        zpar__msg_destroy (r);
    }

    r = handle (h, engine_req ("peer-2", "uuid-2", 9));
    id2 = r ? r->hdr.engine : 0;
    is_int (id2, 9, "an engine asking for a free id gets it");
    zpar__msg_destroy (r);
    r = handle (h, engine_req ("peer-3", "uuid-3", 9));
    ok (r && r->hdr.engine != 9 && r->hdr.engine != id1,
        "a live engine's id is not given twice (%u)", r ? r->hdr.engine : 0);
    zpar__msg_destroy (r);
    is_int (zpar__hub_engines_alive (h), 3, "three engines alive");

    r = handle (h, engine_req ("peer-4", NULL, 0));
    ok (r && zpar__msg_u64_or (r, ZPAR_F_ERRNO, 0) == EINVAL,
        "a registration without uuid: EINVAL");
    zpar__msg_destroy (r);

    /* unregistration: only from the engine's own registrar identity */
    u = request (ZPAR_MSG_UNREGISTER, "somebody-else");
    u->hdr.engine = id2;
    ok (handle (h, u) == NULL, "UNREGISTER has no reply");
    is_str (engine_state (h, id2), "idle", "another peer cannot unregister an engine");
    u = request (ZPAR_MSG_UNREGISTER, "peer-2");
    u->hdr.engine = id2;
    ok (handle (h, u) == NULL, "the engine unregisters");
    is_str (engine_state (h, id2), "dead", "it is listed dead");
    ok (!zpar__hub_engine_watched (zpar__hub_engine_get (h, zpar__eid (id2))),
        "its heart is no longer watched");
    is_int (zpar__hub_engines_alive (h), 2, "two engines alive");

    /* it comes back (restart): same uuid, same id, alive again */
    r = handle (h, engine_req ("peer-2c", "uuid-2", 0));
    ok (r && r->hdr.engine == id2, "the engine registers again with its id");
    zpar__msg_destroy (r);
    is_str (engine_state (h, id2), "idle", "it is alive again");
    ok (zpar__hub_engine_watched (zpar__hub_engine_get (h, zpar__eid (id2))), "and watched again");

    /* a heart that stops: dead through the engine table */
    zpar__hub_engine_died (h, zpar__hub_engine_get (h, zpar__eid (id1)),
                           "missed 3 heartbeats: declared dead");
    is_str (engine_state (h, id1), "dead", "an engine whose heart stopped is listed dead");
    ok (zpar__hub_engine_get (h, zpar__eid (12345)) == NULL,
        "an unknown engine is not in the table");
}

static void test_clients (zpar_hub_t *h)
{
    zpar_msg_t *r1 = handle (h, request (ZPAR_MSG_REGISTER_CLIENT, "c1"));
    zpar_msg_t *r2 = handle (h, request (ZPAR_MSG_REGISTER_CLIENT, "c2"));
    ok (r1 && r1->hdr.type == ZPAR_MSG_REGISTER_CLIENT_REPLY, "a client registers");
    ok (r1 && r2 &&
            zpar__msg_u64_or (r2, ZPAR_F_CLIENT_ID, 0) ==
                zpar__msg_u64_or (r1, ZPAR_F_CLIENT_ID, 0) + 1,
        "the next client gets the next number");
    ok (r1 && r1->hdr.client == zpar__msg_u64_or (r1, ZPAR_F_CLIENT_ID, 0),
        "the number is in the header too");
    is_str (str_field (r1, ZPAR_F_ADDR_MUX), "tcp://mux-client",
            "clients get the client-side addresses");
    is_str (str_field (r1, ZPAR_F_ADDR_NOTIFY), "tcp://notify", "and the notification address");
    is_str (str_field (r1, ZPAR_F_TASK_SCHEME), "leastload", "and the scheme");
    zpar__msg_destroy (r1);
    zpar__msg_destroy (r2);
}

static void test_queries (zpar_hub_t *h)
{
    zpar_msg_t *r;
    const char res[] = "a packed result";
    size_t len;
    const void *p;

    r = handle (h, query_req ("status", 0));
    ok (r && r->hdr.type == ZPAR_MSG_QUERY_REPLY && r->hdr.task == 555, "status query answered");
    ok (r && zpar__msg_u64_or (r, ZPAR_F_COMPLETED, 99) == 0 &&
            zpar__msg_u64_or (r, ZPAR_F_DROPPED, 99) == 1,
        "nothing completed; the one wrong message dropped");
    zpar__msg_destroy (r);

    r = handle (h, query_req ("result", 31));
    ok (r && zpar__msg_u64_or (r, ZPAR_F_ERRNO, 0) == ENOENT, "result of an unknown task: ENOENT");
    zpar__msg_destroy (r);

    zpar__records_put_request (h->records, zpar__tid (31), zpar__cid (1), zpar__eid (0), "req", 3,
                               NULL, 0, 1);
    r = handle (h, query_req ("result", 31));
    is_str (str_field (r, ZPAR_F_STATE), "pending", "a recorded task is pending");
    zpar__msg_destroy (r);
    r = handle (h, query_req ("request", 31));
    ok (r && (p = zpar__msg_get_bytes (r, ZPAR_F_RECORD, &len)) && len == 3 &&
            !memcmp (p, "req", 3),
        "its request is returned as recorded");
    zpar__msg_destroy (r);
    zpar__records_put_result (h->records, zpar__tid (31), zpar__eid (1), ZPAR_STATUS_OK, res,
                              sizeof (res), NULL, 0, 2);
    r = handle (h, query_req ("result", 31));
    is_str (str_field (r, ZPAR_F_STATE), "done", "then done");
    ok (r && (p = zpar__msg_get_bytes (r, ZPAR_F_RECORD, &len)) && len == sizeof (res) &&
            !memcmp (p, res, len),
        "with its result as recorded");
    zpar__msg_destroy (r);

    r = handle (h, query_req ("purge", 31));
    is_int (r ? zpar__msg_u64_or (r, ZPAR_F_COUNT, 99) : 99, 1, "purge deletes the finished task");
    zpar__msg_destroy (r);
    r = handle (h, query_req ("result", 31));
    ok (r && zpar__msg_u64_or (r, ZPAR_F_ERRNO, 0) == ENOENT, "it is gone");
    zpar__msg_destroy (r);

    r = handle (h, query_req ("no-such-query", 0));
    ok (r && zpar__msg_u64_or (r, ZPAR_F_ERRNO, 0) == EINVAL && r->hdr.task == 555,
        "an unknown query: EINVAL, still answered");
    zpar__msg_destroy (r);
    r = handle (h, query_req (NULL, 0));
    ok (r && zpar__msg_u64_or (r, ZPAR_F_ERRNO, 0) == EINVAL, "a query without a name: EINVAL");
    zpar__msg_destroy (r);

    ok (!h->stopping, "the hub runs");
    r = handle (h, query_req ("shutdown", 0));
    ok (r && r->hdr.type == ZPAR_MSG_QUERY_REPLY, "shutdown is answered");
    ok (h->stopping, "and stops the hub");
    zpar__msg_destroy (r);
}

/* Engine ids asked for: up to ZPAR_HUB_ENGINE_ID_MAX, in a table whose
 * size follows the engines, not their ids. */
static void test_engine_ids (zpar_hub_t *h)
{
    static const uint64_t too_high[] = {ZPAR_HUB_ENGINE_ID_MAX + 1, 1048575, 1u << 24, 4294967295u};
    uint32_t n0 = h->nengines;
    zpar_msg_t *r;

    for (size_t i = 0; i < sizeof (too_high) / sizeof (too_high[0]); i++) {
        char uuid[32];
        snprintf (uuid, sizeof (uuid), "uuid-high-%zu", i);
        r = handle (h, engine_req ("peer-h", uuid, too_high[i]));
        ok (r && r->hdr.engine == 0 && zpar__msg_u64_or (r, ZPAR_F_ERRNO, 0) == EINVAL &&
                strstr (str_field (r, ZPAR_F_ERROR), "refused"),
            "id %llu refused: %s", (unsigned long long)too_high[i], str_field (r, ZPAR_F_ERROR));
        zpar__msg_destroy (r);
    }
    is_int (h->nengines, n0, "refused engines take no slot");
    r = handle (h, engine_req ("peer-max", "uuid-max", ZPAR_HUB_ENGINE_ID_MAX));
    is_int (r ? r->hdr.engine : 0, ZPAR_HUB_ENGINE_ID_MAX, "the highest id is given");
    zpar__msg_destroy (r);
    is_int (h->nengines, n0 + 1, "one more slot, not %u", ZPAR_HUB_ENGINE_ID_MAX);
    ok (zpar__hub_engine_get (h, zpar__eid (ZPAR_HUB_ENGINE_ID_MAX)) != NULL, "found by id");
    errno = 0;
    ok (zpar__hub_engine_slot (h, zpar__eid (ZPAR_HUB_ENGINE_ID_MAX + 1)) == NULL &&
            errno == EINVAL,
        "no slot above the highest id: EINVAL");
    ok (zpar__hub_engine_slot (h, zpar__eid (0)) == NULL && errno == EINVAL, "nor for id 0");

    /* the next id after the highest wraps to a free one */
    h->next_engine = ZPAR_HUB_ENGINE_ID_MAX;
    r = handle (h, engine_req ("peer-wrap", "uuid-wrap", 0));
    ok (r && r->hdr.engine >= 1 && r->hdr.engine < ZPAR_HUB_ENGINE_ID_MAX &&
            zpar__hub_engine_get (h, zpar__eid (r->hdr.engine)) &&
            !strcmp (zpar__hub_engine_get (h, zpar__eid (r->hdr.engine))->uuid, "uuid-wrap"),
        "after the highest id, a free low id is given (%u)", r ? r->hdr.engine : 0);
    zpar__msg_destroy (r);
}

/* The open-files room (issue 11): only engines straight to the controller
 * take files; one behind a relay comes as [relay id, its DEALER] and is
 * never refused for files, nor counted against the direct ones. */
static void test_fd_room (zpar_hub_t *h)
{
    uint8_t relay[ZPAR_RELAY_ID_LEN];
    long alive = 0;
    zpar_msg_t *m, *r;
    for (uint32_t i = 0; i < h->nengines; i++)
        alive += h->engines[i]->state == ZPAR_HUB_ENGINE_ALIVE &&
                 !zpar__route_relayed (&h->engines[i]->route);
    /* room for exactly one more direct engine */
    h->fd_base = 10;
    h->fd_limit = h->fd_base + (alive + 1) * ZPAR_HUB_FDS_PER_ENGINE + ZPAR_HUB_FDS_RESERVE;
    memset (relay, 0x5a, sizeof (relay));
    relay[0] = ZPAR_RELAY_TAG;
    for (int i = 0; i < 3; i++) {
        char uuid[32];
        snprintf (uuid, sizeof (uuid), "uuid-relayed-%d", i);
        m = zpar__msg_create (ZPAR_MSG_REGISTER_ENGINE);
        zpar__msg_push_ident (m, relay, sizeof (relay));
        zpar__msg_push_ident (m, "dealer", 6);
        zpar__msg_add_str (m, ZPAR_F_ENGINE_UUID, uuid);
        zpar__msg_add_str (m, ZPAR_F_HOST, "node8");
        r = handle (h, m);
        ok (r && r->hdr.engine != 0, "an engine behind a relay takes no file: registered (%d)", i);
        zpar__msg_destroy (r);
    }
    r = handle (h, engine_req ("peer-fd1", "uuid-fd1", 0));
    ok (r && r->hdr.engine != 0, "the relayed ones take no room from a direct engine");
    zpar__msg_destroy (r);
    r = handle (h, engine_req ("peer-fd2", "uuid-fd2", 0));
    ok (r && r->hdr.engine == 0 && zpar__msg_u64_or (r, ZPAR_F_ERRNO, 0) == EMFILE,
        "one direct engine more than the files allow: refused EMFILE");
    zpar__msg_destroy (r);
    h->fd_limit = 0;
}

static void test_bad (zpar_hub_t *h)
{
    zpar_msg_t *r = (zpar_msg_t *)1, *m = request (ZPAR_MSG_TASK, "x");
    uint64_t dropped = h->dropped;
    errno = 0;
    ok (zpar__registrar_handle (h, m, &r) < 0 && errno == EPROTO && r == NULL,
        "a TASK on the registrar: EPROTO, no reply");
    is_int (h->dropped, dropped + 1, "and counted as dropped");
    errno = 0;
    ok (zpar__registrar_handle (NULL, m, &r) < 0 && errno == EINVAL, "NULL hub: EINVAL");
    ok (zpar__registrar_handle (h, NULL, &r) < 0 && errno == EINVAL, "NULL request: EINVAL");
    ok (zpar__registrar_handle (h, m, NULL) < 0 && errno == EINVAL, "NULL reply: EINVAL");
    zpar__msg_destroy (m);
    is_int (zpar__registrar_state (NULL), ZPAR_ENGINE_DEAD, "state of NULL: dead");
    is_int (zpar__registrar_recv (h, NULL, 10), 0, "recv without a socket: nothing");
    ok (zpar__hub_init (NULL) < 0 && errno == EINVAL, "hub init NULL: EINVAL");
}

/* ------------------------------------------------------------ restart */

static zpar_msg_t *held_req (const char *peer, const char *uuid, const uint64_t *held, size_t n)
{
    hfx_engine_t e = {
        .uuid = uuid, .host = "node7", .pid = 4242, .rank = 3, .held = held, .nheld = n};
    return hfx_engine_req (peer, &e);
}

static zpar_msg_t *released_reply;
static int nreleased;

static void on_released (void *arg, const zpar_msg_t *reply)
{
    (void)arg;
    nreleased++;
    zpar__msg_destroy (released_reply);
    released_reply = zpar__msg_create (ZPAR_MSG_NONE);
    if (released_reply) {
        uint8_t *buf;
        size_t len;
        if (zpar__msg_pack (reply, &buf, &len) == 0) {
            (void)zpar__msg_unpack (released_reply, buf, len, NULL);
            free (buf);
        }
    }
}

static zpar_msg_t *resubmit_req (uint64_t id, const void *req, size_t len)
{
    zpar_msg_t *m = query_req ("resubmit", id);
    zpar__msg_add_bytes (m, ZPAR_F_RECORD, req, len);
    return m;
}

static zpar_msg_t *sync_req (const uint64_t *ids, size_t n)
{
    zpar_msg_t *m = query_req ("sync", 0);
    for (size_t i = 0; i < n; i++)
        zpar__msg_add_u64 (m, ZPAR_F_TASK_ID, ids[i]);
    return m;
}

static void hub_setup (zpar_hub_t *h, const char *path)
{
    memset (h, 0, sizeof (*h));
    snprintf (h->ci.addr[ZPAR_EP_MUX_ENGINE], ZPAR_ADDR_MAX, "tcp://mux-engine");
    snprintf (h->ci.addr[ZPAR_EP_MUX_CLIENT], ZPAR_ADDR_MAX, "tcp://mux-client");
    snprintf (h->ci.addr[ZPAR_EP_HB_PING], ZPAR_ADDR_MAX, "tcp://hb-ping");
    snprintf (h->ci.addr[ZPAR_EP_NOTIFY], ZPAR_ADDR_MAX, "tcp://notify");
    h->scheme = "leastload";
    h->hb_period_ms = 100;
    h->hb_misses = 3;
    h->released = on_released;
    h->records = zpar__records_open (path, NULL);
}

/* A controller restarted on the records of one that died: what the
 * engines hold is adopted or dropped (C3), the recovery window (C4),
 * RESUBMIT and SYNC (C5), engine ids kept. */
static void test_restart (void)
{
    zpar_hub_t h;
    zpar_msg_t *r;
    char path[256];
    uint8_t *req41, *req42, *req50;
    size_t len41, len42, len50;
    uint32_t id_r0, id_r1;
    int state;

    snprintf (path, sizeof (path), "%s/restart.sqlite", tmpdir);
    req41 = hfx_pack_task (41, 0, &len41);
    req42 = hfx_pack_task (42, 5, &len42);
    req50 = hfx_pack_task (50, 0, &len50);
    ok (req41 && req42 && req50, "restart: task requests packed");

    /* the first controller: two engines, tasks 41 (load-balanced) and 42
     * (direct) unfinished, 43 done */
    hub_setup (&h, path);
    ok (h.records && zpar__hub_init (&h) == 0 && !h.recovering,
        "a first controller has no recovery window");
    r = handle (&h, engine_req ("p0", "uuid-r0", 0));
    id_r0 = r ? r->hdr.engine : 0;
    zpar__msg_destroy (r);
    r = handle (&h, engine_req ("p1", "uuid-r1", 0));
    id_r1 = r ? r->hdr.engine : 0;
    zpar__msg_destroy (r);
    zpar__records_put_request (h.records, zpar__tid (41), zpar__cid (7), zpar__eid (0), req41,
                               len41, NULL, 0, 1);
    zpar__records_put_running (h.records, zpar__tid (41), zpar__eid (id_r1), 2);
    zpar__records_put_request (h.records, zpar__tid (42), zpar__cid (7), zpar__eid (5), req42,
                               len42, NULL, 0, 1);
    zpar__records_put_request (h.records, zpar__tid (43), zpar__cid (7), zpar__eid (0), req41,
                               len41, NULL, 0, 1);
    zpar__records_put_result (h.records, zpar__tid (43), zpar__eid (id_r0), ZPAR_STATUS_OK, "res",
                              3, NULL, 0, 3);
    zpar__hub_free_state (&h);
    zpar__records_close (h.records); /* as good as a SIGKILL after the flush */

    /* the restarted controller */
    hub_setup (&h, path);
    ok (h.records && zpar__hub_init (&h) == 0 && h.recovering, "a restarted controller recovers");
    is_int (h.n_recovered, 2, "two unfinished tasks recovered from the records");
    ok (zpar__hub_task_live (&h, zpar__tid (41), &state) && state == ZPAR_REC_RUNNING,
        "task 41 is live (running, as recorded)");
    is_int (h.recover_ms, 400, "the window lasts (misses + 1) heartbeat periods");

    r = handle (&h, engine_req ("pn", "uuid-new", 0));
    ok (r && r->hdr.engine != id_r0 && r->hdr.engine != id_r1 && r->hdr.engine > 0,
        "a new engine gets an id no earlier engine had (%u; earlier %u, %u)", r ? r->hdr.engine : 0,
        id_r0, id_r1);
    zpar__msg_destroy (r);

    {
        static const uint64_t held[] = {41, 43, 99};
        r = handle (&h, held_req ("p1b", "uuid-r1", held, 3));
    }
    ok (r && r->hdr.engine == id_r1, "an engine from before the restart gets its id back");
    is_str (hfx_drops (r), "43", "it is told to drop a finished task");
    zpar__msg_destroy (r);
    ok (zpar__hub_task_live (&h, zpar__tid (41), &state) && state == ZPAR_REC_RUNNING &&
            !zpar__hub_task_orphan (&h, zpar__tid (41)),
        "task 41 is adopted: running there");
    ok (h.n_adopted == 2 && zpar__hub_task_live (&h, zpar__tid (99), &state) &&
            state == ZPAR_REC_RUNNING && zpar__hub_task_orphan (&h, zpar__tid (99)),
        "task 99, which no record shows, runs on there too (an orphan)");
    is_int (zpar__hub_engine_get (&h, zpar__eid (id_r1))->outstanding, 2,
            "the engine counts both, once");
    {
        static const uint64_t held[] = {41};
        r = handle (&h, held_req ("p0b", "uuid-r0", held, 1));
    }
    is_str (hfx_drops (r), "41", "another engine holding the same task drops it");
    zpar__msg_destroy (r);
    zpar__hub_engine_died (&h, zpar__hub_engine_get (&h, zpar__eid (id_r0)), "test");

    r = handle (&h, query_req ("result", 77));
    ok (r && zpar__msg_u64_or (r, ZPAR_F_ERRNO, 0) == EAGAIN,
        "during the window, an unknown task: EAGAIN (%s)", str_field (r, ZPAR_F_ERROR));
    zpar__msg_destroy (r);

    nreleased = 0;
    ok (handle (&h, resubmit_req (50, req50, len50)) == NULL && nreleased == 0,
        "resubmit of an unknown task: the reply waits for the records");
    ok (zpar__hub_task_live (&h, zpar__tid (50), &state) && state == ZPAR_REC_PENDING,
        "the task is live (pending)");
    ok (zpar__hub_flush (&h, NULL) == 0 && nreleased == 1 &&
            zpar__msg_u64_or (released_reply, ZPAR_F_COUNT, 9) == 1 &&
            released_reply->hdr.task == 555,
        "after the commit: queued (count 1)");
    ok (handle (&h, resubmit_req (41, req41, len41)) == NULL && nreleased == 2 &&
            zpar__msg_u64_or (released_reply, ZPAR_F_COUNT, 9) == 0 &&
            !strcmp (str_field (released_reply, ZPAR_F_STATE), "running"),
        "resubmit of a known task: known (count 0), its state");
    r = handle (&h, resubmit_req (51, req50, len50));
    ok (r && zpar__msg_u64_or (r, ZPAR_F_ERRNO, 0) == EINVAL,
        "resubmit whose request names another task: EINVAL");
    zpar__msg_destroy (r);
    r = handle (&h, resubmit_req (42, req42, len42));
    ok (r && zpar__msg_u64_or (r, ZPAR_F_ERRNO, 0) == EINVAL,
        "resubmit of a direct task: EINVAL (%s)", str_field (r, ZPAR_F_ERROR));
    zpar__msg_destroy (r);

    zpar__hub_end_recovery (&h);
    ok (!h.recovering, "the window closes");
    {
        int st = 0, status = 0;
        ok (!zpar__hub_task_live (&h, zpar__tid (42), NULL) &&
                zpar__records_get (h.records, zpar__tid (42), &st, &status, NULL, NULL, NULL,
                                   NULL) == 0 &&
                st == ZPAR_REC_DONE && status == ZPAR_STATUS_ENGINE_DIED,
            "the direct task nobody reported is answered engine-died");
    }
    ok (zpar__hub_task_live (&h, zpar__tid (50), &state) && state == ZPAR_REC_PENDING,
        "the resubmitted task nobody reported is queued");
    ok (zpar__hub_task_live (&h, zpar__tid (99), NULL), "the orphan stays (its engine runs it)");
    r = handle (&h, query_req ("result", 77));
    ok (r && zpar__msg_u64_or (r, ZPAR_F_ERRNO, 0) == ENOENT, "after it, an unknown task: ENOENT");
    zpar__msg_destroy (r);

    {
        static const uint64_t ids[] = {41, 43, 50, 77, 42};
        size_t len = 0;
        const void *p;
        nreleased = 0;
        ok (handle (&h, sync_req (ids, 5)) == NULL && nreleased == 1,
            "sync of tasks not all live: answered after a commit");
        is_int (zpar__msg_u64_or (released_reply, ZPAR_F_COUNT, 0), 4, "four are known");
        ok (zpar__msg_count (released_reply, ZPAR_F_TASK_ID) == 1 &&
                (p = zpar__msg_get_bytes (released_reply, ZPAR_F_TASK_ID, &len)) && len == 8 &&
                zpar__msg_u64_or (released_reply, ZPAR_F_TASK_ID, 0) == 77,
            "task 77 is unknown");
    }
    {
        static const uint64_t ids[] = {99};
        uint8_t *req99;
        size_t len99;
        nreleased = 0;
        ok (handle (&h, sync_req (ids, 1)) == NULL && nreleased == 1 &&
                zpar__msg_u64_or (released_reply, ZPAR_F_COUNT, 9) == 0 &&
                zpar__msg_u64_or (released_reply, ZPAR_F_TASK_ID, 0) == 99,
            "sync calls the orphan unknown (not durable: no record has its request)");
        req99 = hfx_pack_task (99, 0, &len99);
        ok (req99 && handle (&h, resubmit_req (99, req99, len99)) == NULL &&
                zpar__hub_flush (&h, NULL) == 0 && nreleased == 2 &&
                zpar__msg_u64_or (released_reply, ZPAR_F_COUNT, 9) == 0 &&
                !strcmp (str_field (released_reply, ZPAR_F_STATE), "running"),
            "its client resubmits it: known, running where it is (not queued again)");
        ok (!zpar__hub_task_orphan (&h, zpar__tid (99)) &&
                zpar__records_get (h.records, zpar__tid (99), &state, &(int){0}, NULL, NULL, NULL,
                                   NULL) == 0 &&
                state == ZPAR_REC_RUNNING,
            "it is recorded now, running");
        ok (handle (&h, sync_req (ids, 1)) == NULL && nreleased == 3 &&
                zpar__msg_u64_or (released_reply, ZPAR_F_COUNT, 9) == 1,
            "and sync calls it durable");
        free (req99);
    }
    {
        static const uint64_t ids[] = {41};
        nreleased = 0;
        zpar__records_put_running (h.records, zpar__tid (50), zpar__eid (id_r0), 4);
        ok (handle (&h, sync_req (ids, 1)) == NULL && nreleased == 0,
            "sync of a live task: waits while the records have a batch");
        ok (zpar__hub_flush (&h, NULL) == 0 && nreleased == 1 &&
                zpar__msg_u64_or (released_reply, ZPAR_F_COUNT, 0) == 1,
            "released by the next commit");
    }
    r = handle (&h, query_req ("sync", 0));
    ok (r && zpar__msg_u64_or (r, ZPAR_F_ERRNO, 0) == EINVAL, "sync without ids: EINVAL");
    zpar__msg_destroy (r);
    r = handle (&h, query_req ("status", 0));
    ok (r && zpar__msg_u64_or (r, ZPAR_F_DUPLICATES, 0) == 2,
        "status counts the held tasks dropped as duplicates");
    zpar__msg_destroy (r);

    zpar__msg_destroy (released_reply);
    released_reply = NULL;
    zpar__hub_free_state (&h);
    zpar__records_close (h.records);
    free (req41);
    free (req42);
    free (req50);
    hfx_unlink_db (path);
}

/* The records cannot be saved (a database that may not grow, as on a full
 * disk): a SYNC waiting for them is answered "not acknowledged" with the
 * reason, status says so, tasks in the unsaved batch are found, and past
 * the bound new tasks are refused (admit.h) until the records are saved. */
static void test_disk_full (void)
{
    zpar_hub_t h;
    zpar_msg_t *r;
    char path[256];
    static char big[65536];
    uint8_t *req60;
    size_t len60;
    zpar_hdr_t hd = {0};
    static const uint64_t ids[] = {60};

    snprintf (path, sizeof (path), "%s/full.sqlite", tmpdir);
    memset (big, 'o', sizeof (big));
    setenv ("ZPAR_RECORDS_SPILL_DIR", tmpdir, 1); /* not /dev/shm */
    req60 = hfx_pack_task (60, 0, &len60);
    hub_setup (&h, path);
    ok (req60 && h.records && zpar__hub_init (&h) == 0, "full: a hub");
    hd.task = 60;
    hd.client = 1;
    ok (zpar__hub_resubmit (&h, &hd, req60, len60) == 0 && zpar__hub_flush (&h, NULL) == 0,
        "full: task 60 recorded");
    ok (zpar__records_test_max_pages (h.records, 1) == 0, "full: the records may not grow");
    ok (zpar__records_put_result (h.records, zpar__tid (60), zpar__eid (1), ZPAR_STATUS_OK, "R", 1,
                                  big, sizeof (big), 5) == 0,
        "full: its result (64 KiB) waits in the batch");
    nreleased = 0;
    ok (handle (&h, sync_req (ids, 1)) == NULL && nreleased == 0, "full: a sync waits");
    ok (zpar__hub_flush (&h, NULL) < 0 && nreleased == 1,
        "full: the write fails, the sync is answered");
    ok (released_reply && zpar__msg_u64_or (released_reply, ZPAR_F_ERRNO, 0) == ENOSPC &&
            strstr (str_field (released_reply, ZPAR_F_ERROR), "not being saved") &&
            zpar__msg_u64_or (released_reply, ZPAR_F_COUNT, 0) == 0,
        "full: not acknowledged, ENOSPC: %s",
        released_reply ? str_field (released_reply, ZPAR_F_ERROR) : "?");
    nreleased = 0;
    r = handle (&h, sync_req (ids, 1));
    if (!r && nreleased == 0)
        (void)zpar__hub_flush (&h, NULL);
    ok ((r && zpar__msg_u64_or (r, ZPAR_F_ERRNO, 0) == ENOSPC) ||
            (nreleased == 1 && zpar__msg_u64_or (released_reply, ZPAR_F_ERRNO, 0) == ENOSPC),
        "full: a later sync is not acknowledged either");
    zpar__msg_destroy (r);
    r = handle (&h, query_req ("status", 0));
    ok (r && zpar__msg_u64_or (r, ZPAR_F_RECORDS_SINCE_US, 0) > 0 &&
            zpar__msg_u64_or (r, ZPAR_F_RECORDS_UNSAVED, 0) >= 1 &&
            zpar__msg_u64_or (r, ZPAR_F_RECORDS_BYTES, 0) >= sizeof (big) &&
            zpar__msg_u64_or (r, ZPAR_F_RECORDS_REFUSING, 9) == 0 &&
            strstr (str_field (r, ZPAR_F_RECORDS_ERROR), "full"),
        "full: status says the records are not saved: %s",
        r ? str_field (r, ZPAR_F_RECORDS_ERROR) : "?");
    zpar__msg_destroy (r);
    r = handle (&h, query_req ("result", 60));
    ok (r && zpar__msg_u64_or (r, ZPAR_F_ERRNO, 0) == 0 &&
            !strcmp (str_field (r, ZPAR_F_STATE), "done") &&
            zpar__msg_count (r, ZPAR_F_RECORD) == 1,
        "full: the task whose result is not saved is found, done");
    zpar__msg_destroy (r);
    ok (zpar__admit_refused (NULL, 0) == 0, "full: under the bound, new tasks are accepted");
    zpar__records_set_limit (h.records, 4096);
    ok (zpar__admit_refused (NULL, 0) == 1, "full: past the bound, new tasks are refused");
    r = handle (&h, query_req ("status", 0));
    ok (r && zpar__msg_u64_or (r, ZPAR_F_RECORDS_REFUSING, 0) == 1 &&
            zpar__msg_u64_or (r, ZPAR_F_RECORDS_LIMIT, 0) == 4096,
        "full: status says so");
    zpar__msg_destroy (r);
    ok (zpar__records_test_max_pages (h.records, 1000000) == 0, "full: room again");
    usleep ((ZPAR_RECORDS_RETRY_MS + 100) * 1000);
    ok (zpar__hub_flush (&h, NULL) == 0, "full: the batch is written");
    ok (zpar__admit_refused (NULL, 0) == 0, "full: new tasks are accepted again");
    r = handle (&h, query_req ("status", 0));
    ok (r && zpar__msg_count (r, ZPAR_F_RECORDS_SINCE_US) == 0, "full: status says nothing more");
    zpar__msg_destroy (r);
    /* full again, with a backlog bigger than one write: a sync asked while
     * it is written waits for it, it is not refused */
    ok (zpar__records_test_max_pages (h.records, 1) == 0, "full: full again");
    for (uint64_t i = 1000; i < 1000 + 3 * ZPAR_RECORDS_CATCHUP + 500; i++)
        (void)zpar__records_put_running (h.records, zpar__tid (i), zpar__eid (1), 6);
    ok (zpar__hub_flush (&h, NULL) < 0, "full: not saved");
    ok (zpar__records_test_max_pages (h.records, 1000000) == 0, "full: room again");
    usleep ((ZPAR_RECORDS_RETRY_MS + 100) * 1000);
    {
        static const uint64_t unknown[] = {61};
        int n = 0;
        nreleased = 0;
        r = handle (&h, sync_req (unknown, 1));
        ok (r == NULL && nreleased == 0, "full: a sync while the backlog is written waits");
        zpar__msg_destroy (r);
        while (zpar__hub_flush (&h, NULL) < 0 && n++ < 10)
            ;
        ok (nreleased == 1 && zpar__msg_u64_or (released_reply, ZPAR_F_ERRNO, 0) == 0 &&
                zpar__msg_u64_or (released_reply, ZPAR_F_TASK_ID, 0) == 61,
            "full: answered once it is written (task 61 unknown)");
    }
    zpar__msg_destroy (released_reply);
    released_reply = NULL;
    zpar__hub_free_state (&h);
    zpar__records_close (h.records);
    free (req60);
    hfx_unlink_db (path);
    snprintf (path, sizeof (path), "%s/zpar-%u", tmpdir, (unsigned)getuid ());
    rmdir (path);
    unsetenv ("ZPAR_RECORDS_SPILL_DIR");
}

int main (void)
{
    zpar_hub_t h;
    zpar_error_t err;
    char path[256];

    if (!mkdtemp (tmpdir)) {
        perror ("mkdtemp");
        return 1;
    }
    snprintf (path, sizeof (path), "%s/tasks.sqlite", tmpdir);
    memset (&h, 0, sizeof (h));
    snprintf (h.ci.addr[ZPAR_EP_MUX_ENGINE], ZPAR_ADDR_MAX, "tcp://mux-engine");
    snprintf (h.ci.addr[ZPAR_EP_MUX_CLIENT], ZPAR_ADDR_MAX, "tcp://mux-client");
    snprintf (h.ci.addr[ZPAR_EP_HB_PING], ZPAR_ADDR_MAX, "tcp://hb-ping");
    snprintf (h.ci.addr[ZPAR_EP_NOTIFY], ZPAR_ADDR_MAX, "tcp://notify");
    h.scheme = "leastload";
    ok (zpar__hub_init (&h) < 0 && errno == EINVAL, "hub init without heartbeat settings: EINVAL");
    h.hb_period_ms = 100;
    h.hb_misses = 3;
    ok ((h.records = zpar__records_open (path, &err)) != NULL, "open the records");
    ok (zpar__hub_init (&h) == 0, "hub init");
    test_engines (&h);
    test_clients (&h);
    {
        /* one wrong message, counted in the status query */
        zpar_msg_t *r = NULL, *m = request (ZPAR_MSG_RESULT, "x");
        (void)zpar__registrar_handle (&h, m, &r);
        zpar__msg_destroy (m);
    }
    test_queries (&h);
    test_engine_ids (&h);
    test_fd_room (&h);
    test_bad (&h);
    test_restart ();
    test_disk_full ();
    zpar__hub_free_state (&h);
    zpar__hub_free_state (NULL);
    zpar__records_close (h.records);
    hfx_unlink_db (path);
    rmdir (tmpdir);
    return done_testing ();
}
