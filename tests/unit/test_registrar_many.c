/* test_registrar_many.c - the registrar with many engines, without
 * sockets: a start storm of N engines (ZPAR_TEST_ENGINES, default 5,000)
 * registering through 100 relays, each registration repeated on its socket
 * (answered alike, acted on no further), then every engine registering
 * again from a new socket (same id, same routing identity), a few dying
 * and coming back, and ids of dead engines given again to new uuids.  The
 * same storm runs again with every uuid hashed alike (the uuid index's
 * collisions; ZPAR_TEST_COLLIDE engines, default 2,000, 0: not run), where
 * the answers must be the same.  Run under callgrind it
 * gives the registrar's instructions per registration (doc/benchmarks.md,
 * "Issue 11: 10,000 engines registering"). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"
#include "registrar.h"
#include "route.h"
#include "tap.h"
#include "zpar.h"

static char tmpdir[] = "/tmp/zpar-test-regmany-XXXXXX";

static void bail (const char *what)
{
    printf ("Bail out! %s: %s\n", what, strerror (errno));
    exit (1);
}

/* A registration of uuid from socket peer behind relay k (-1: direct). */
static zpar_msg_t *engine_req (int relay, const char *peer, const char *uuid)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_REGISTER_ENGINE);
    if (relay >= 0) {
        uint8_t id[ZPAR_RELAY_ID_LEN];
        memset (id, 0, sizeof (id));
        id[0] = ZPAR_RELAY_TAG;
        id[1] = (uint8_t)(relay + 1);
        id[2] = (uint8_t)((relay + 1) >> 8);
        zpar__msg_push_ident (m, id, sizeof (id));
    }
    zpar__msg_push_ident (m, peer, strlen (peer));
    zpar__msg_add_str (m, ZPAR_F_ENGINE_UUID, uuid);
    zpar__msg_add_str (m, ZPAR_F_HOST, "node7");
    zpar__msg_add_u64 (m, ZPAR_F_PID, 4242);
    zpar__msg_add_u64 (m, ZPAR_F_RANK, 3);
    return m;
}

/* The engine id of the reply to req (destroyed), 0 if refused; the
 * routing identity into route when given. */
static uint32_t handle (zpar_hub_t *h, zpar_msg_t *req, zpar_route_t *route)
{
    zpar_msg_t *r = NULL;
    uint32_t id = 0;
    if (zpar__registrar_handle (h, req, &r) == 0 && r) {
        id = r->hdr.engine;
        if (route) {
            size_t len = 0;
            const void *p = zpar__msg_get_bytes (r, ZPAR_F_ROUTE, &len);
            memset (route, 0, sizeof (*route));
            if (p && len <= sizeof (route->b))
                memcpy (route->b, p, len);
        }
    }
    zpar__msg_destroy (req);
    zpar__msg_destroy (r);
    return id;
}

static void names (int i, int gen, char *uuid, char *peer)
{
    snprintf (uuid, 40, "%08x-4e5a-4b1c-9f00-%012d", (unsigned)i * 2654435761u, i);
    snprintf (peer, 40, "dealer-%d-%d", i, gen);
}

/* The storm on hub h; every check is one line for all engines. */
static void storm (zpar_hub_t *h, int n, const char *what)
{
    uint32_t *ids = calloc ((size_t)n, sizeof (*ids));
    zpar_route_t *routes = calloc ((size_t)n, sizeof (*routes));
    char uuid[40], peer[40];
    int bad = 0, dup = 0, i;
    uint64_t rep0 = h->reg_repeats;

    if (!ids || !routes)
        bail ("out of memory");
    for (i = 0; i < n; i++) {
        names (i, 0, uuid, peer);
        ids[i] = handle (h, engine_req (i % 100, peer, uuid), &routes[i]);
        bad += ids[i] == 0;
    }
    ok (bad == 0, "%s: %d engines registered", what, n);
    /* every id once */
    {
        uint8_t *seen = calloc (ZPAR_HUB_ENGINE_ID_MAX + 1u, 1);
        for (i = 0; seen && i < n; i++)
            dup += ids[i] && seen[ids[i]]++;
        free (seen);
    }
    ok (dup == 0, "%s: each with an id of its own", what);
    is_int (zpar__hub_engines_alive (h), n, "%s: all alive", what);
    /* the repeats, on the same socket: the same answer, nothing acted on */
    for (i = 0, bad = 0; i < n; i++) {
        zpar_route_t rt;
        names (i, 0, uuid, peer);
        bad += handle (h, engine_req (i % 100, peer, uuid), &rt) != ids[i] ||
               memcmp (&rt.b, &routes[i].b, sizeof (rt.b)) != 0;
    }
    ok (bad == 0, "%s: every repeat answered alike", what);
    is_int ((long)(h->reg_repeats - rep0), n, "%s: and counted as repeats", what);
    /* again from a new socket (an engine that lost us): same id, same
     * routing identity */
    for (i = 0, bad = 0; i < n; i++) {
        zpar_route_t rt;
        names (i, 1, uuid, peer);
        bad += handle (h, engine_req (i % 100, peer, uuid), &rt) != ids[i] ||
               memcmp (&rt.b, &routes[i].b, sizeof (rt.b)) != 0;
    }
    ok (bad == 0, "%s: registering again from a new socket keeps the id and identity", what);
    is_int ((long)(h->reg_repeats - rep0), n, "%s: those are not repeats", what);
    /* one in ten dies and comes back: its id again */
    for (i = 0; i < n; i += 10)
        zpar__hub_engine_died (h, zpar__hub_engine_get (h, zpar__eid (ids[i])), "test");
    is_int (zpar__hub_engines_alive (h), n - (n + 9) / 10, "%s: a tenth died", what);
    for (i = 0, bad = 0; i < n; i += 10) {
        names (i, 2, uuid, peer);
        bad += handle (h, engine_req (i % 100, peer, uuid), NULL) != ids[i];
    }
    ok (bad == 0, "%s: the dead come back with their ids", what);
    is_int (zpar__hub_engines_alive (h), n, "%s: all alive again", what);
    free (ids);
    free (routes);
}

/* Slots of dead engines given to new uuids: the old uuid is no longer
 * found (it registers again under another id), the new one is. */
static void reuse (zpar_hub_t *h, const char *what)
{
    char uuid[40], peer[40];
    uint32_t id, id2, again;
    names (900000, 0, uuid, peer);
    id = handle (h, engine_req (-1, peer, uuid), NULL);
    zpar__hub_engine_died (h, zpar__hub_engine_get (h, zpar__eid (id)), "test");
    /* the id after the highest wraps over the live ones to the dead one */
    h->next_engine = id - 1;
    names (900001, 0, uuid, peer);
    id2 = handle (h, engine_req (-1, peer, uuid), NULL);
    ok (id2 == id, "%s: a dead engine's id goes to a new uuid (%u, %u)", what, id, id2);
    names (900000, 1, uuid, peer);
    again = handle (h, engine_req (-1, peer, uuid), NULL);
    ok (again != 0 && again != id, "%s: the old uuid then gets another id (%u)", what, again);
    names (900001, 1, uuid, peer);
    ok (handle (h, engine_req (-1, peer, uuid), NULL) == id,
        "%s: and the new uuid keeps the slot's id", what);
}

/* Every uuid the same hash: the index holds one engine, the others are
 * found by looking through the table. */
static uint64_t one_hash (const char *uuid)
{
    (void)uuid;
    return 42;
}

static void run (int n, int collide)
{
    zpar_hub_t h;
    zpar_error_t err;
    char path[256], what[64];
    snprintf (what, sizeof (what), "%s", collide ? "all uuids hashed alike" : "uuid index");
    snprintf (path, sizeof (path), "%s/tasks-%d.sqlite", tmpdir, collide);
    memset (&h, 0, sizeof (h));
    snprintf (h.ci.addr[ZPAR_EP_MUX_ENGINE], ZPAR_ADDR_MAX, "tcp://mux-engine");
    snprintf (h.ci.addr[ZPAR_EP_HB_PING], ZPAR_ADDR_MAX, "tcp://hb-ping");
    h.scheme = "leastload";
    h.hb_period_ms = 100;
    h.hb_misses = 3;
    if (collide)
        h.uuid_hash = one_hash;
    if (!(h.records = zpar__records_open (path, &err)) || zpar__hub_init (&h) < 0)
        bail (err.text);
    storm (&h, n, what);
    reuse (&h, what);
    if (collide)
        ok (h.uuid_unindexed > 0, "%s: engines left out of the index (%llu)", what,
            (unsigned long long)h.uuid_unindexed);
    else
        is_int ((long)h.uuid_unindexed, 0, "%s: every engine in the index", what);
    zpar__hub_free_state (&h);
    zpar__records_close (h.records);
    unlink (path);
    snprintf (path, sizeof (path), "%s/tasks-%d.sqlite-wal", tmpdir, collide);
    unlink (path);
    snprintf (path, sizeof (path), "%s/tasks-%d.sqlite-shm", tmpdir, collide);
    unlink (path);
}

int main (void)
{
    const char *s = getenv ("ZPAR_TEST_ENGINES");
    int n = s && atoi (s) > 0 ? atoi (s) : 5000;
    if (!mkdtemp (tmpdir))
        bail ("mkdtemp");
    run (n, 0);
    s = getenv ("ZPAR_TEST_COLLIDE"); /* quadratic: fewer (0: none) */
    if (!s || atoi (s) > 0)
        run (s ? atoi (s) : n < 2000 ? n : 2000, 1);
    rmdir (tmpdir);
    return done_testing ();
}
