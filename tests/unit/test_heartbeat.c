/* test_heartbeat.c - the heartbeat bookkeeping driven with explicit time:
 * missed beats, late pongs, engines that restart; suspects and their
 * revival; a late monitor excusing its engines; the bounded nudge table;
 * the socket glue over inproc sockets (pongs counted, dropped, nudged with
 * zparRREG); bad parameters. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "heartbeat.h"
#include "proto_hb.h"
#include "route.h"
#include "tap.h"

#define MS 1000u /* microseconds */

typedef struct {
    int n;
    uint32_t ids[16];
} dead_t;

static void on_dead (void *arg, zpar_eid_t engine)
{
    dead_t *d = arg;
    if (d->n < 16)
        d->ids[d->n] = engine.v;
    d->n++;
}

/* A table of beats: period 100 ms, 3 misses: dead after 350 ms without
 * an echo.  Pings go out every 100 ms; the engine echoes one of them. */
static void test_table (void)
{
    static const struct {
        const char *what;
        uint64_t echoed_ms; /* the ping sent then is echoed; 0: none */
        uint64_t check_ms;
        int dead;
    } cases[] = {
        {"silent, checked at 100 ms: alive", 0, 100, 0},
        {"silent, checked at 350 ms: alive (grace)", 0, 350, 0},
        {"silent, checked at 351 ms: dead", 0, 351, 1},
        {"silent, checked at 10 s: dead", 0, 10000, 1},
        {"echoes the 300 ms ping, checked at 600 ms: alive", 300, 600, 0},
        {"echoes the 300 ms ping, checked at 650 ms: alive", 300, 650, 0},
        {"echoes the 300 ms ping, checked at 651 ms: dead", 300, 651, 1},
        {"echoes the 1 s ping, checked at 1.2 s: alive", 1000, 1200, 0},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        zpar_heartbeat_t *hb = zpar__heartbeat_create (100, 3);
        dead_t d = {0};
        uint64_t t0 = 5000 * MS; /* any origin */
        int rc, counted = 1;
        zpar__heartbeat_watch (hb, zpar__eid (4), t0);
        for (uint64_t t = 100; t <= cases[i].check_ms; t += 100) {
            uint64_t seq = zpar__heartbeat_ping (hb, t0 + t * MS);
            if (t == cases[i].echoed_ms)
                counted = zpar__heartbeat_pong (hb, zpar__eid (4), seq) == 1;
        }
        rc = zpar__heartbeat_expire (hb, t0 + cases[i].check_ms * MS, on_dead, &d);
        ok (counted && rc == cases[i].dead && d.n == cases[i].dead && (!d.n || d.ids[0] == 4) &&
                zpar__heartbeat_watched (hb, zpar__eid (4)) == !cases[i].dead,
            "%s", cases[i].what);
        zpar__heartbeat_destroy (hb);
    }
}

/* Which echoes count: period 100 ms, 3 misses, five pings sent. */
static void test_late (void)
{
    zpar_heartbeat_t *hb = zpar__heartbeat_create (100, 3);
    static const struct {
        const char *what;
        uint64_t seq;
        int counts;
    } cases[] = {
        {"the last ping", 5, 1},
        {"the ping before", 4, 1},
        {"a ping 3 periods old (misses)", 2, 1},
        {"a ping 4 periods old: late, counts from its send time", 1, 1},
        {"a ping never sent", 6, 0},
        {"seq 0", 0, 0},
    };
    zpar__heartbeat_watch (hb, zpar__eid (1), 0);
    for (int k = 1; k <= 5; k++)
        zpar__heartbeat_ping (hb, (uint64_t)k * 100 * MS);
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
        is_int (zpar__heartbeat_pong (hb, zpar__eid (1), cases[i].seq), cases[i].counts,
                "echo of %s: %s", cases[i].what, cases[i].counts ? "counts" : "ignored");
    /* the engine restarts (registers again at 1 s): echoes of pings sent
     * before do not make its beat older than its registration */
    zpar__heartbeat_watch (hb, zpar__eid (1), 1000 * MS);
    is_int (zpar__heartbeat_pong (hb, zpar__eid (1), 5), 1, "after a restart an older echo counts");
    for (int k = 11; k <= 13; k++)
        zpar__heartbeat_ping (hb, (uint64_t)k * 100 * MS);
    is_int (zpar__heartbeat_expire (hb, 1350 * MS, NULL, NULL), 0,
            "but its beat stays at the registration (alive at 1.35 s)");
    is_int (zpar__heartbeat_expire (hb, 1351 * MS, NULL, NULL), 1,
            "dead at 1.351 s (3 pings since, none echoed)");
    zpar__heartbeat_destroy (hb);

    /* the window of echoes that count: misses x ZPAR_HEARTBEAT_COLLECTIVE_FACTOR
     * pings back (an engine on a starved machine echoes late) */
    hb = zpar__heartbeat_create (100, 3);
    zpar__heartbeat_watch (hb, zpar__eid (1), 0);
    for (int k = 1; k <= 40; k++)
        zpar__heartbeat_ping (hb, (uint64_t)k * 100 * MS);
    is_int (zpar__heartbeat_pong (hb, zpar__eid (1), 40 - 3 * ZPAR_HEARTBEAT_COLLECTIVE_FACTOR), 1,
            "echo of a ping 30 periods old: counts");
    is_int (zpar__heartbeat_pong (hb, zpar__eid (1), 39 - 3 * ZPAR_HEARTBEAT_COLLECTIVE_FACTOR), 0,
            "echo of a ping 31 periods old: ignored");
    zpar__heartbeat_destroy (hb);
}

/* The hub stalls (starved of CPU, a long disk write): it sends no ping
 * for 2 s, then reads the engine's echoes late.  Misses are counted in
 * pings, so the engine, which answered every ping it got, stays alive;
 * an engine that stops answering dies once misses pings go unanswered. */
static void test_hub_stall (void)
{
    zpar_heartbeat_t *hb = zpar__heartbeat_create (100, 3);
    uint64_t seq = 0;
    zpar__heartbeat_watch (hb, zpar__eid (1), 0);
    zpar__heartbeat_watch (hb, zpar__eid (2), 0);
    for (int k = 1; k <= 5; k++) {
        seq = zpar__heartbeat_ping (hb, (uint64_t)k * 100 * MS);
        zpar__heartbeat_pong (hb, zpar__eid (1), seq);
        zpar__heartbeat_pong (hb, zpar__eid (2), seq);
    }
    /* nothing from 0.5 s to 2.5 s: the hub was not running */
    is_int (zpar__heartbeat_expire (hb, 2500 * MS, NULL, NULL), 0,
            "after a 2 s stall of the hub, no engine is declared dead");
    ok (zpar__heartbeat_watched (hb, zpar__eid (1)) && zpar__heartbeat_watched (hb, zpar__eid (2)),
        "both still watched");
    /* the hub runs again; engine 2 has really stopped */
    for (int k = 26; k <= 28; k++) {
        seq = zpar__heartbeat_ping (hb, (uint64_t)k * 100 * MS);
        zpar__heartbeat_pong (hb, zpar__eid (1), seq);
    }
    is_int (zpar__heartbeat_expire (hb, 2900 * MS, NULL, NULL), 1,
            "the engine that missed the 3 pings since dies");
    ok (zpar__heartbeat_watched (hb, zpar__eid (1)) && !zpar__heartbeat_watched (hb, zpar__eid (2)),
        "and only that one");
    zpar__heartbeat_destroy (hb);
}

static void test_several (void)
{
    zpar_heartbeat_t *hb = zpar__heartbeat_create (1000, 2);
    dead_t d = {0};
    uint64_t seq = 0;
    for (uint32_t e = 1; e <= 5; e++)
        ok (zpar__heartbeat_watch (hb, zpar__eid (e), 0) == 0, "watch engine %u", e);
    ok (zpar__heartbeat_watch (hb, zpar__eid (1000), 0) == 0,
        "watch engine 1000 (the table grows)");
    /* 6 .. 8 answer all along (the silent ones are no majority) */
    for (uint32_t e = 6; e <= 8; e++)
        zpar__heartbeat_watch (hb, zpar__eid (e), 0);
    /* engines 2 and 4 answer, the others do not */
    for (int k = 1; k <= 5; k++) {
        seq = zpar__heartbeat_ping (hb, (uint64_t)k * 1000 * MS);
        zpar__heartbeat_pong (hb, zpar__eid (2), seq);
        zpar__heartbeat_pong (hb, zpar__eid (4), seq);
        for (uint32_t e = 6; e <= 8; e++)
            zpar__heartbeat_pong (hb, zpar__eid (e), seq);
    }
    is_int (seq, 5, "pings are numbered from 1");
    is_int (zpar__heartbeat_expire (hb, 5000 * MS, on_dead, &d), 4,
            "four engines missed their beats");
    ok (d.n == 4 && d.ids[0] == 1 && d.ids[1] == 3 && d.ids[2] == 5 && d.ids[3] == 1000,
        "in engine order: 1 3 5 1000");
    ok (zpar__heartbeat_watched (hb, zpar__eid (2)) && zpar__heartbeat_watched (hb, zpar__eid (4)),
        "2 and 4 are still watched");
    d.n = 0;
    is_int (zpar__heartbeat_expire (hb, 5000 * MS, on_dead, &d), 0,
            "a dead engine is reported once");

    /* late pongs: a dead engine's answers do not bring it back */
    is_int (zpar__heartbeat_pong (hb, zpar__eid (1), 5), 0, "a pong from a dead engine is ignored");
    ok (!zpar__heartbeat_watched (hb, zpar__eid (1)), "the dead engine stays unwatched");
    is_int (zpar__heartbeat_pong (hb, zpar__eid (77), 5), 0,
            "a pong from an unknown engine is ignored");
    /* an echo of an older ping read late does not move the beat back */
    is_int (zpar__heartbeat_pong (hb, zpar__eid (2), 4), 1, "an echo of the previous ping counts");
    is_int (zpar__heartbeat_expire (hb, 7500 * MS, NULL, NULL), 0,
            "but does not move the last beat back");

    for (uint32_t e = 6; e <= 8; e++)
        zpar__heartbeat_unwatch (hb, zpar__eid (e));
    /* restart: the engine registers again and is watched from then on */
    ok (zpar__heartbeat_watch (hb, zpar__eid (1), 6000 * MS) == 0,
        "engine 1 restarts (watched again)");
    seq = zpar__heartbeat_ping (hb, 6500 * MS);
    is_int (zpar__heartbeat_pong (hb, zpar__eid (1), seq), 1, "its pongs count again");
    seq = zpar__heartbeat_ping (hb, 8000 * MS);
    zpar__heartbeat_pong (hb, zpar__eid (2), seq);
    zpar__heartbeat_pong (hb, zpar__eid (4), seq);
    seq = zpar__heartbeat_ping (hb, 9000 * MS);
    zpar__heartbeat_pong (hb, zpar__eid (2), seq);
    zpar__heartbeat_pong (hb, zpar__eid (4), seq);
    d.n = 0;
    is_int (zpar__heartbeat_expire (hb, 9000 * MS, on_dead, &d), 0,
            "alive at 9 s (last beat 6.5 s)");
    is_int (zpar__heartbeat_expire (hb, 9001 * MS, on_dead, &d), 1, "dead at 9.001 s");
    /* unwatch: an engine that unregistered is never declared dead */
    ok (zpar__heartbeat_unwatch (hb, zpar__eid (2)) == 0 &&
            !zpar__heartbeat_watched (hb, zpar__eid (2)),
        "unwatch engine 2");
    ok (zpar__heartbeat_unwatch (hb, zpar__eid (999999)) == 0,
        "unwatching an engine never watched is fine");
    for (int k = 10; k <= 12; k++)
        zpar__heartbeat_ping (hb, (uint64_t)k * 1000 * MS);
    d.n = 0;
    zpar__heartbeat_expire (hb, 100000 * MS, on_dead, &d);
    ok (d.n == 1 && d.ids[0] == 4, "later only engine 4 dies, not the unwatched 2");

    /* the time never goes backwards for expire either */
    ok (zpar__heartbeat_watch (hb, zpar__eid (9), 200000 * MS) == 0, "watch engine 9 at 200 s");
    is_int (zpar__heartbeat_expire (hb, 100 * MS, NULL, NULL), 0,
            "a check before its watch kills nothing");

    is_int (zpar__heartbeat_ping (hb, 300000 * MS), 12, "the ping sequence counts up");
    is_int (zpar__heartbeat_period_ms (hb), 1000, "period");
    is_int (zpar__heartbeat_misses (hb), 2, "misses");
    zpar__heartbeat_destroy (hb);
}

static void test_sockets (void)
{
    void *ctx = zmq_ctx_new ();
    void *router = zmq_socket (ctx, ZMQ_ROUTER), *dealer = zmq_socket (ctx, ZMQ_DEALER);
    void *pa = zmq_socket (ctx, ZMQ_PAIR), *pb = zmq_socket (ctx, ZMQ_PAIR);
    void *bad = zmq_socket (ctx, ZMQ_DEALER), *guess = zmq_socket (ctx, ZMQ_DEALER);
    zpar_heartbeat_t *hb = zpar__heartbeat_create (100, 3);
    zpar_route_t r3, g3;
    uint64_t echo[3] = {1, 42, 0xabcdef}, other[3] = {1, 42, 0x123}, got[3] = {0};
    zpar_heartbeat_pongs_t st = {0};
    char buf[16];
    int n, zero = 0, tmo = 2000;

    zmq_setsockopt (router, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (dealer, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (bad, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (guess, ZMQ_LINGER, &zero, sizeof (zero));
    /* engine 3's identity is the one the registrar drew; the old name
     * "e3" and another draw for engine 3 are no one's */
    zpar__route_make (zpar__eid (3), &r3);
    zpar__route_make (zpar__eid (3), &g3);
    zmq_setsockopt (dealer, ZMQ_ROUTING_ID, r3.b, sizeof (r3.b));
    zmq_setsockopt (bad, ZMQ_ROUTING_ID, "e3", 2);
    zmq_setsockopt (guess, ZMQ_ROUTING_ID, g3.b, sizeof (g3.b));
    zmq_bind (router, "inproc://pong");
    zmq_connect (dealer, "inproc://pong");
    zmq_connect (bad, "inproc://pong");
    zmq_connect (guess, "inproc://pong");
    zmq_bind (pa, "inproc://ping");
    zmq_connect (pb, "inproc://ping");

    ok (zpar__heartbeat_set_route (hb, &r3) < 0 && errno == EINVAL,
        "set_route of an engine not watched: EINVAL");
    ok (zpar__heartbeat_set_route (hb, NULL) < 0 && errno == EINVAL, "set_route NULL: EINVAL");
    zpar__heartbeat_watch (hb, zpar__eid (3), 0);
    ok (zpar__heartbeat_set_route (hb, &r3) == 0, "engine 3's routing identity set");
    ok (zpar__heartbeat_send_ping (hb, pa, 0xabcdef, 340 * MS, 42) == 0, "send a ping");
    n = zmq_recv (pb, got, sizeof (got), 0);
    ok (n == 24 && got[0] == 1 && got[1] == 42 && got[2] == 0xabcdef,
        "the ping is seq, time, session");

    zmq_send (dealer, echo, sizeof (echo), 0); /* good */
    zmq_send (dealer, echo, 5, 0);             /* wrong size */
    zmq_send (bad, echo, sizeof (echo), 0);    /* the old name e3 */
    zmq_send (guess, echo, sizeof (echo), 0);  /* a guessed identity for engine 3 */
    zmq_send (dealer, echo, sizeof (echo), ZMQ_SNDMORE);
    zmq_send (dealer, echo, sizeof (echo), 0);   /* too many frames */
    zmq_send (dealer, other, sizeof (other), 0); /* another session */
    n = 0;
    for (int k = 0; k < 200 && st.received < 6; k++) {
        n += zpar__heartbeat_recv_pongs (hb, router, 100, 400 * MS, NULL, NULL, &st);
        if (st.received < 6)
            nanosleep (&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    is_int (n, 2, "two malformed pongs (size, frames) are dropped");
    is_int ((int)st.dropped, 2, "and added to the dropped count");
    is_int ((int)st.uncounted, 3,
            "two from identities the registrar never gave, one of another session: not counted");
    is_int ((int)st.nudged, 3, "each of those identities is nudged to register again");
    is_int (zpar__heartbeat_expire (hb, 600 * MS, NULL, NULL), 0,
            "the good pong counted (alive at 600 ms)");
    zmq_setsockopt (bad, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    zmq_setsockopt (guess, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    zmq_setsockopt (dealer, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    n = zmq_recv (bad, buf, sizeof (buf), 0);
    ok (zpar__proto_hb_is_rreg (buf, n > 0 ? (size_t)n : 0), "the unknown identity got zparRREG");
    n = zmq_recv (guess, buf, sizeof (buf), 0);
    ok (zpar__proto_hb_is_rreg (buf, n > 0 ? (size_t)n : 0), "the guessed identity got zparRREG");
    n = zmq_recv (dealer, buf, sizeof (buf), 0);
    ok (zpar__proto_hb_is_rreg (buf, n > 0 ? (size_t)n : 0),
        "the echo of another session got zparRREG");

    /* at most once a period per identity */
    zmq_send (bad, echo, sizeof (echo), 0);
    for (int k = 0; k < 200 && st.received < 7; k++) {
        zpar__heartbeat_recv_pongs (hb, router, 100, 450 * MS, NULL, NULL, &st);
        if (st.received < 7)
            nanosleep (&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    is_int ((int)st.nudged, 3, "a second pong within the period: no second nudge");
    zmq_send (bad, echo, sizeof (echo), 0);
    for (int k = 0; k < 200 && st.received < 8; k++) {
        zpar__heartbeat_recv_pongs (hb, router, 100, 501 * MS, NULL, NULL, &st);
        if (st.received < 8)
            nanosleep (&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    is_int ((int)st.nudged, 4, "a period later: nudged again");
    n = zmq_recv (bad, buf, sizeof (buf), 0);
    ok (zpar__proto_hb_is_rreg (buf, n > 0 ? (size_t)n : 0), "and it got it");

    /* an engine declared dead is nudged when its pongs come back */
    zpar__heartbeat_unwatch (hb, zpar__eid (3));
    zmq_send (dealer, echo, sizeof (echo), 0);
    for (int k = 0; k < 200 && st.received < 9; k++) {
        zpar__heartbeat_recv_pongs (hb, router, 100, 2000 * MS, NULL, NULL, &st);
        if (st.received < 9)
            nanosleep (&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    n = zmq_recv (dealer, buf, sizeof (buf), 0);
    ok (zpar__proto_hb_is_rreg (buf, n > 0 ? (size_t)n : 0),
        "a pong of an engine no longer watched (declared dead): zparRREG");
    is_int (zpar__heartbeat_recv_pongs (NULL, router, 1, 0, NULL, NULL, NULL), 0,
            "recv with NULL: nothing");
    errno = 0;
    ok (zpar__heartbeat_send_ping (hb, NULL, 0, 0, 0) < 0 && errno == EINVAL,
        "send_ping NULL socket: EINVAL");

    zpar__heartbeat_destroy (hb);
    zmq_close (router);
    zmq_close (dealer);
    zmq_close (bad);
    zmq_close (guess);
    zmq_close (pa);
    zmq_close (pb);
    zmq_ctx_term (ctx);
}

static void test_bad_params (void)
{
    zpar_heartbeat_t *hb = zpar__heartbeat_create (10, 1);
    struct {
        const char *what;
        int rc;
    } cases[] = {
        {"watch NULL", zpar__heartbeat_watch (NULL, zpar__eid (1), 0)},
        {"watch engine 0", zpar__heartbeat_watch (hb, zpar__eid (0), 0)},
        {"watch engine too large",
         zpar__heartbeat_watch (hb, zpar__eid (ZPAR_HEARTBEAT_MAX_ENGINE + 1), 0)},
        {"unwatch NULL", zpar__heartbeat_unwatch (NULL, zpar__eid (1))},
        {"unwatch engine 0", zpar__heartbeat_unwatch (hb, zpar__eid (0))},
        {"pong NULL", zpar__heartbeat_pong (NULL, zpar__eid (1), 1)},
        {"pong engine 0", zpar__heartbeat_pong (hb, zpar__eid (0), 1)},
        {"expire NULL", zpar__heartbeat_expire (NULL, 0, NULL, NULL)},
        {"check NULL", zpar__heartbeat_check (NULL, 0, NULL, NULL)},
    };
    errno = 0;
    ok (zpar__heartbeat_create (0, 3) == NULL && errno == EINVAL, "create period 0: EINVAL");
    ok (zpar__heartbeat_create (100, 0) == NULL && errno == EINVAL, "create misses 0: EINVAL");
    ok (zpar__heartbeat_create (-5, 3) == NULL && errno == EINVAL,
        "create negative period: EINVAL");
    ok (zpar__heartbeat_create (100, ZPAR_HEARTBEAT_MAX_MISSES + 1) == NULL && errno == EINVAL,
        "create too many misses: EINVAL");
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
        ok (cases[i].rc == -1, "bad parameter: %s -> -1", cases[i].what);
    ok (!zpar__heartbeat_watched (NULL, zpar__eid (1)) &&
            !zpar__heartbeat_watched (hb, zpar__eid (0)),
        "watched: 0 for bad parameters");
    is_int (zpar__heartbeat_ping (NULL, 0), 0, "ping NULL: 0");
    zpar__heartbeat_destroy (hb);
    zpar__heartbeat_destroy (NULL);
    ok (1, "destroy NULL is a no-op");
}

typedef struct {
    int n;
    zpar_heartbeat_event_t ev[16];
    uint32_t id[16];
    uint64_t silent[16], missed[16];
} events_t;

static void on_event (void *arg, zpar_eid_t engine, zpar_heartbeat_event_t ev, uint64_t silent_us,
                      uint64_t missed)
{
    events_t *e = arg;
    if (e->n < 16) {
        e->ev[e->n] = ev;
        e->id[e->n] = engine.v;
        e->silent[e->n] = silent_us;
        e->missed[e->n] = missed;
    }
    e->n++;
}

/* alive -> suspect -> (revived | dead), with the reasons (silence, pings
 * unanswered) the hub logs. */
static void test_suspect (void)
{
    zpar_heartbeat_t *hb = zpar__heartbeat_create (100, 3);
    events_t e = {0};
    uint64_t s1, s2, s3;

    zpar__heartbeat_watch (hb, zpar__eid (5), 0);
    zpar__heartbeat_watch (hb, zpar__eid (6), 0);
    s1 = zpar__heartbeat_ping (hb, 0);
    zpar__heartbeat_pong (hb, zpar__eid (5), s1);
    zpar__heartbeat_pong (hb, zpar__eid (6), s1);
    s2 = zpar__heartbeat_ping (hb, 100 * MS);
    zpar__heartbeat_pong (hb, zpar__eid (6), s2); /* 5 leaves ping 2 unanswered */
    s3 = zpar__heartbeat_ping (hb, 200 * MS);
    zpar__heartbeat_pong (hb, zpar__eid (6), s3);
    is_int (zpar__heartbeat_check (hb, 300 * MS, on_event, &e), 0, "nobody dead at 300 ms");
    ok (e.n == 1 && e.ev[0] == ZPAR_HEARTBEAT_SUSPECT && e.id[0] == 5,
        "engine 5 (ping 2 unanswered, silent 300 ms) is suspect, engine 6 is not");
    ok (e.silent[0] == 300 * MS && e.missed[0] == 2,
        "with its silence (300 ms) and 2 pings missed");
    e.n = 0;
    zpar__heartbeat_check (hb, 320 * MS, on_event, &e);
    is_int (e.n, 0, "a suspect is reported once");
    is_int (zpar__heartbeat_pong (hb, zpar__eid (5), s3), 2,
            "its echo of the last ping revives it (pong returns 2)");
    ok (zpar__heartbeat_gap_us (hb, zpar__eid (5)) == 200 * MS,
        "the gap between its beats: 200 ms");
    is_int (zpar__heartbeat_pong (hb, zpar__eid (5), s3), 1, "the next echo is plain");
    /* now 5 stays silent to the end */
    for (int k = 3; k <= 7; k++)
        zpar__heartbeat_ping (hb, (uint64_t)k * 100 * MS);
    e.n = 0;
    is_int (zpar__heartbeat_check (hb, 760 * MS, on_event, &e), 2, "both silent: dead at 760 ms");
    ok (e.n == 2 && e.ev[0] == ZPAR_HEARTBEAT_DEAD && e.ev[1] == ZPAR_HEARTBEAT_DEAD,
        "dead without being reported suspect again in the same check");
    ok (e.silent[0] == 560 * MS && e.missed[0] == 5, "engine 5: silent 560 ms, 5 pings unanswered");
    is_int (zpar__heartbeat_pong (hb, zpar__eid (5), 7), 0, "a dead engine's pong does not count");
    is_int (zpar__heartbeat_check (hb, 5000 * MS, NULL, NULL), 0, "dead ones are not re-reported");
    zpar__heartbeat_destroy (hb);
}

/* The monitor's own lateness is not held against the engines. */
static void test_excuse (void)
{
    zpar_heartbeat_t *hb = zpar__heartbeat_create (100, 1);
    zpar__heartbeat_watch (hb, zpar__eid (2), 0);
    zpar__heartbeat_ping (hb, 0);
    zpar__heartbeat_ping (hb, 100 * MS);
    /* the monitor slept 1 s: the engine's silence is mostly ours */
    zpar__heartbeat_excuse (hb, 1000 * MS, 1100 * MS);
    is_int (zpar__heartbeat_check (hb, 1100 * MS, NULL, NULL), 0,
            "after 1 s of our lateness, the engine is not dead");
    is_int (zpar__heartbeat_check (hb, 1151 * MS, NULL, NULL), 1,
            "still silent 150 ms after we are back: dead");
    zpar__heartbeat_excuse (NULL, 1, 1);
    zpar__heartbeat_destroy (hb);
}

/* The nudge table: once a period per identity, fixed memory. */
static void test_nudge_table (void)
{
    zpar_heartbeat_t *hb = zpar__heartbeat_create (100, 3);
    int first = 0, again = 0;
    char id[32];
    ok (zpar__heartbeat_nudge_due (hb, "abc", 3, 1000 * MS) == 1, "a new identity: nudge");
    ok (zpar__heartbeat_nudge_due (hb, "abc", 3, 1050 * MS) == 0, "50 ms later: not again");
    ok (zpar__heartbeat_nudge_due (hb, "abd", 3, 1050 * MS) == 1, "another identity: nudge");
    ok (zpar__heartbeat_nudge_due (hb, "abc", 3, 1100 * MS) == 1, "a period later: again");
    /* a flood of distinct identities: each answered once (the table is
     * fixed: the size of the structure does not depend on it) */
    for (int i = 0; i < 100000; i++) {
        snprintf (id, sizeof (id), "flood-%d", i);
        first += zpar__heartbeat_nudge_due (hb, id, strlen (id), 2000 * MS);
    }
    is_int (first, 100000, "100,000 distinct identities: one nudge each");
    for (int i = 0; i < 100; i++) {
        snprintf (id, sizeof (id), "flood-%d", 99999 - i);
        again += zpar__heartbeat_nudge_due (hb, id, strlen (id), 2010 * MS);
    }
    ok (again < 100, "the most recent ones are remembered within the period (%d of 100 again)",
        again);
    ok (zpar__heartbeat_nudge_due (NULL, "a", 1, 0) == 0, "NULL: no");
    zpar__heartbeat_destroy (hb);
}

/* Most engines silent together: nobody dies on silence until 10 times the
 * limit; a closed connection still kills at once; a reconnection saves. */
static void test_collective (void)
{
    zpar_heartbeat_t *hb = zpar__heartbeat_create (100, 3); /* limit 350 ms */
    events_t e = {0};
    uint64_t seq = 0;
    int dead;
    for (uint32_t i = 1; i <= 10; i++)
        zpar__heartbeat_watch (hb, zpar__eid (i), 0);
    /* 1..4 answer, 5..10 (six of ten) fall silent together */
    for (int k = 1; k <= 10; k++) {
        seq = zpar__heartbeat_ping (hb, (uint64_t)k * 100 * MS);
        for (uint32_t i = 1; i <= 4; i++)
            zpar__heartbeat_pong (hb, zpar__eid (i), seq);
    }
    dead = zpar__heartbeat_check (hb, 1000 * MS, on_event, &e);
    is_int (dead, 0,
            "six of ten silent for 1 s (limit 350 ms): none dead, the silence is collective");
    is_int ((int)zpar__heartbeat_collective (hb), 6, "the collective silence is reported (6)");
    is_int (e.n, 6, "each is suspect");
    /* engine 7's connection closes: the kernel says it is gone */
    zpar__heartbeat_pong_fd (hb, zpar__eid (7), 42);
    zpar__heartbeat_pong_fd (hb, zpar__eid (8), 43);
    is_int (zpar__heartbeat_closed (hb, 42), 1, "connection 42 closed: engine 7 marked");
    is_int (zpar__heartbeat_closed (hb, 44), 0, "a connection nobody pongs on: nobody marked");
    zpar__heartbeat_closed (hb, 43);
    zpar__heartbeat_pong_fd (hb, zpar__eid (8), 45); /* 8 reconnected and answered */
    e.n = 0;
    dead = zpar__heartbeat_check (hb, 1100 * MS, on_event, &e);
    ok (dead == 0 && e.n == 1 && e.ev[0] == ZPAR_HEARTBEAT_CLOSED && e.id[0] == 7,
        "engine 7's closed connection is reported at the next check, engine 8 (reconnected) not");
    ok (zpar__heartbeat_watched (hb, zpar__eid (7)), "a closed connection alone kills nobody");
    e.n = 0;
    zpar__heartbeat_check (hb, 1200 * MS, on_event, &e);
    is_int (e.n, 0, "it is reported once");
    e.n = 0;
    is_int (zpar__heartbeat_check (hb, 3500 * MS, on_event, &e), 0,
            "still none dead on silence at 10 times the limit");
    e.n = 0;
    dead = zpar__heartbeat_check (hb, 3600 * MS, on_event, &e);
    is_int (dead, 6, "past 10 times the limit: the six silent ones are dead");
    /* a collective silence ends: the stragglers are judged on their silence
     * after it, not before */
    zpar__heartbeat_destroy (hb);
    hb = zpar__heartbeat_create (100, 3);
    for (uint32_t i = 1; i <= 10; i++)
        zpar__heartbeat_watch (hb, zpar__eid (i), 0);
    for (int k = 1; k <= 18; k++) {
        seq = zpar__heartbeat_ping (hb, (uint64_t)k * 100 * MS);
        for (uint32_t i = 1; i <= 4; i++)
            zpar__heartbeat_pong (hb, zpar__eid (i), seq);
        if (k == 18) /* 5..8 come back at 1.8 s */
            for (uint32_t i = 5; i <= 8; i++)
                zpar__heartbeat_pong (hb, zpar__eid (i), seq);
        zpar__heartbeat_check (hb, (uint64_t)k * 100 * MS + 50 * MS, NULL, NULL);
    }
    ok (zpar__heartbeat_watched (hb, zpar__eid (9)) && zpar__heartbeat_watched (hb, zpar__eid (10)),
        "1.8 s of collective silence: 9 and 10, still silent when it ends, are alive");
    is_int ((int)zpar__heartbeat_collective (hb), 0, "the collective silence is over");
    for (int k = 19; k <= 24; k++) {
        seq = zpar__heartbeat_ping (hb, (uint64_t)k * 100 * MS);
        for (uint32_t i = 1; i <= 8; i++)
            zpar__heartbeat_pong (hb, zpar__eid (i), seq);
    }
    is_int (zpar__heartbeat_check (hb, 2200 * MS, NULL, NULL), 0,
            "not dead 350 ms after it ended (the limit)");
    is_int (zpar__heartbeat_check (hb, 2201 * MS, NULL, NULL), 2,
            "dead once silent past the limit after it");
    /* a minority silent: the normal rule */
    zpar__heartbeat_destroy (hb);
    hb = zpar__heartbeat_create (100, 3);
    for (uint32_t i = 1; i <= 10; i++)
        zpar__heartbeat_watch (hb, zpar__eid (i), 0);
    for (int k = 1; k <= 10; k++) {
        seq = zpar__heartbeat_ping (hb, (uint64_t)k * 100 * MS);
        for (uint32_t i = 1; i <= 6; i++)
            zpar__heartbeat_pong (hb, zpar__eid (i), seq);
    }
    is_int (zpar__heartbeat_check (hb, 1000 * MS, NULL, NULL), 4,
            "four of ten silent: no collective silence, dead at the limit");
    is_int ((int)zpar__heartbeat_collective (hb), 0, "and none reported");
    zpar__heartbeat_destroy (hb);
}

static int fake_alive (void *arg, uint32_t pid)
{
    return pid == *(uint32_t *)arg;
}

/* The kernel's word on a local engine: a process that runs is slow, not
 * dead, until the long bound; one that does not (stopped, gone) dies at
 * the limit. */
static void test_slow (void)
{
    zpar_heartbeat_t *hb = zpar__heartbeat_create (100, 3);
    uint32_t running = 111;
    events_t e = {0};
    zpar__heartbeat_set_alive (hb, fake_alive, &running);
    for (uint32_t i = 1; i <= 6; i++)
        zpar__heartbeat_watch (hb, zpar__eid (i), 0);
    ok (zpar__heartbeat_set_pid (hb, zpar__eid (1), 111) == 0, "engine 1: pid 111, running");
    ok (zpar__heartbeat_set_pid (hb, zpar__eid (2), 222) == 0, "engine 2: pid 222, stopped");
    ok (zpar__heartbeat_set_pid (hb, zpar__eid (99), 1) < 0 && errno == EINVAL,
        "set_pid of an engine not watched: EINVAL");
    for (int k = 1; k <= 5; k++) {
        uint64_t seq = zpar__heartbeat_ping (hb, (uint64_t)k * 100 * MS);
        for (uint32_t i = 3; i <= 6; i++)
            zpar__heartbeat_pong (hb, zpar__eid (i), seq);
    }
    zpar__heartbeat_check (hb, 300 * MS, NULL, NULL);
    is_int (zpar__heartbeat_check (hb, 500 * MS, on_event, &e), 1,
            "past the limit: engine 2 (process not running) dies");
    ok (zpar__heartbeat_watched (hb, zpar__eid (1)) && !zpar__heartbeat_watched (hb, zpar__eid (2)),
        "engine 1 (its process runs) does not");
    {
        int slow = 0;
        for (int k = 0; k < e.n && k < 16; k++)
            if (e.ev[k] == ZPAR_HEARTBEAT_SLOW && e.id[k] == 1)
                slow++;
        is_int (slow, 1, "engine 1 is reported slow");
    }
    e.n = 0;
    zpar__heartbeat_check (hb, 600 * MS, on_event, &e);
    is_int (e.n, 0, "once");
    is_int (zpar__heartbeat_check (hb, 3500 * MS, NULL, NULL), 0, "alive at 10 limits");
    is_int (zpar__heartbeat_check (hb, 3501 * MS, NULL, NULL), 1, "dead past 10 limits");
    zpar__heartbeat_destroy (hb);
}

/* Behind a relay (one host, a start storm): an engine whose process runs
 * is slow, not dead, while another engine of its relay answers (the path
 * works); when every engine of the relay is silent, the relay is lost and
 * they die at the limit whatever their processes do. */
static void test_slow_relayed (void)
{
    zpar_heartbeat_t *hb = zpar__heartbeat_create (100, 3);
    uint32_t running = 111;
    events_t e = {0};
    zpar_route_t r[7];
    zpar__heartbeat_set_alive (hb, fake_alive, &running);
    for (uint32_t i = 1; i <= 6; i++) {
        zpar__heartbeat_watch (hb, zpar__eid (i), 0);
        zpar__route_make (zpar__eid (i), &r[i]);
        memset (r[i].via, 0, sizeof (r[i].via));
        r[i].via[0] = 'R';
        r[i].via[1] = i <= 3 ? 1 : 2; /* relay 1: engines 1-3; relay 2: 4-6 */
        zpar__heartbeat_set_route (hb, &r[i]);
        zpar__heartbeat_set_pid (hb, zpar__eid (i), 111);
    }
    zpar__heartbeat_set_pid (hb, zpar__eid (3), 333); /* its process is gone */
    for (int k = 1; k <= 5; k++) {
        uint64_t seq = zpar__heartbeat_ping (hb, (uint64_t)k * 100 * MS);
        /* relay 1: engine 2 answers, 1 and 3 do not; relay 2: nobody */
        zpar__heartbeat_pong (hb, zpar__eid (2), seq);
    }
    zpar__heartbeat_check (hb, 300 * MS, NULL, NULL);
    is_int (zpar__heartbeat_check (hb, 500 * MS, on_event, &e), 4,
            "past the limit: 3 (process gone) and relay 2's three engines die");
    ok (zpar__heartbeat_watched (hb, zpar__eid (1)) && zpar__heartbeat_watched (hb, zpar__eid (2)),
        "engine 1 (process runs, its relay answers for engine 2) does not");
    {
        int slow = 0;
        for (int k = 0; k < e.n && k < 16; k++)
            slow += e.ev[k] == ZPAR_HEARTBEAT_SLOW && e.id[k] == 1;
        is_int (slow, 1, "engine 1 is reported slow");
    }
    for (int k = 6; k <= 9; k++) /* engine 2 falls silent too */
        zpar__heartbeat_ping (hb, (uint64_t)k * 100 * MS);
    is_int (zpar__heartbeat_check (hb, 900 * MS, NULL, NULL), 2,
            "then engine 2 is silent too: the relay is lost, 1 and 2 die at the limit");
    zpar__heartbeat_destroy (hb);
}

int main (void)
{
    test_slow ();
    test_slow_relayed ();
    test_collective ();
    test_suspect ();
    test_excuse ();
    test_nudge_table ();
    test_table ();
    test_late ();
    test_hub_stall ();
    test_several ();
    test_sockets ();
    test_bad_params ();
    return done_testing ();
}
