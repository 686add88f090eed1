/* test_hb_thread_own.c - the heartbeat thread on zpar's own ping and pong
 * sockets (zrouter.h: a PUB and a ROUTER that do their own TCP I/O), with
 * libzmq engines on the other side: a SUB for the pings and a DEALER,
 * whose routing identity is the engine's route, that echoes them.
 *
 *  1. pings reach a SUB through the own PUB, and a SUB that connects later;
 *  2. a watched engine that echoes is counted: no SUSPECT, no DEAD;
 *  3. an identity never watched gets the re-register nudge back through
 *     the own ROUTER;
 *  4. the kernel's word: a watched engine's connection closes, CLOSED
 *     comes well before the silence limit, then GONE (it answered the
 *     probe on no other connection);
 *  5. an engine that closes its connection and connects again (the same
 *     identity) answers the probe: no GONE. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "hb_thread.h"
#include "proto_hb.h"
#include "route.h"
#include "tap.h"
#include "zrouter.h"

#define SESSION   0x5e55106ull
#define PERIOD_MS 200
#define MISSES    3
#define MAXMSG    65536
#define NDEALERS  4
#define NEVENTS   256

/* A fake engine's DEALER and what it was sent. */
typedef struct {
    void *sock;
    int echo; /* echo every ping on it */
    int rreg; /* nudges received */
} dealer_t;

typedef struct {
    zpar_hb_pipe_kind_t kind;
    uint32_t engine;
    uint32_t silent_ms;
    int64_t at_ms;
} event_t;

typedef struct {
    void *ctx;
    void *pipe; /* the hub's end */
    void *sub;  /* the engines' pings */
    char pong_ep[64];
    dealer_t d[NDEALERS];
    int pings; /* received on sub */
    int bad_pings;
    event_t ev[NEVENTS];
    int nev;
} fake_t;

static void *dealer_open (fake_t *f, const zpar_route_t *route)
{
    void *s = zmq_socket (f->ctx, ZMQ_DEALER);
    int zero = 0;
    if (!s || zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero)) < 0 ||
        zmq_setsockopt (s, ZMQ_ROUTING_ID, route->b, sizeof (route->b)) < 0 ||
        zmq_connect (s, f->pong_ep) < 0) {
        printf ("Bail out! a DEALER to %s: %s\n", f->pong_ep, zmq_strerror (errno));
        exit (1);
    }
    return s;
}

static void dealer_close (dealer_t *d)
{
    if (d->sock)
        zmq_close (d->sock);
    d->sock = NULL;
    d->echo = 0;
}

static void *sub_open (fake_t *f, const char *ep)
{
    void *s = zmq_socket (f->ctx, ZMQ_SUB);
    int zero = 0;
    if (!s || zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero)) < 0 ||
        zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0) < 0 || zmq_connect (s, ep) < 0) {
        printf ("Bail out! a SUB to %s: %s\n", ep, zmq_strerror (errno));
        exit (1);
    }
    return s;
}

/* Is p a ping of this controller? */
static int ping_ok (const void *p, int len)
{
    zpar_proto_ping_t ping;
    return len == ZPAR_HB_PING_LEN && zpar__proto_ping_decode (p, (size_t)len, &ping, NULL) == 0 &&
           ping.session == SESSION;
}

/* Run the fake engines and the hub's ear until deadline (tap_now_ms), or
 * until an event kind for engine comes (kind 0: never): every ping on sub
 * is echoed on every echoing DEALER, what the DEALERs get is counted,
 * the pipe's events are logged.  The time of the awaited event, or -1. */
static int64_t pump (fake_t *f, int64_t deadline, zpar_hb_pipe_kind_t kind, uint32_t engine)
{
    for (;;) {
        zmq_pollitem_t it[2 + NDEALERS];
        int n = 0, left = tap_left_ms (deadline, 50);
        it[n++] = (zmq_pollitem_t){.socket = f->sub, .events = ZMQ_POLLIN};
        it[n++] = (zmq_pollitem_t){.socket = f->pipe, .events = ZMQ_POLLIN};
        for (int k = 0; k < NDEALERS; k++)
            if (f->d[k].sock)
                it[n++] = (zmq_pollitem_t){.socket = f->d[k].sock, .events = ZMQ_POLLIN};
        if (zmq_poll (it, n, left) < 0 && errno != EINTR) {
            printf ("Bail out! zmq_poll: %s\n", zmq_strerror (errno));
            exit (1);
        }
        for (;;) {
            uint8_t buf[64];
            int got = zmq_recv (f->sub, buf, sizeof (buf), ZMQ_DONTWAIT);
            if (got < 0)
                break;
            if (!ping_ok (buf, got)) {
                f->bad_pings++;
                continue;
            }
            f->pings++;
            for (int k = 0; k < NDEALERS; k++)
                if (f->d[k].sock && f->d[k].echo)
                    (void)zmq_send (f->d[k].sock, buf, (size_t)got, ZMQ_DONTWAIT);
        }
        for (int k = 0; k < NDEALERS; k++)
            for (;;) {
                uint8_t buf[64];
                int got;
                if (!f->d[k].sock ||
                    (got = zmq_recv (f->d[k].sock, buf, sizeof (buf), ZMQ_DONTWAIT)) < 0)
                    break;
                f->d[k].rreg += zpar__proto_hb_is_rreg (buf, got > 0 ? (size_t)got : 0);
            }
        for (;;) {
            zpar_hb_pipe_msg_t m;
            zpar_error_t err;
            if (zpar__hb_pipe_recv (f->pipe, &m, ZMQ_DONTWAIT, &err) < 0) {
                if (errno == EPROTO)
                    continue;
                break;
            }
            if (f->nev < NEVENTS)
                f->ev[f->nev++] = (event_t){m.kind, m.engine, m.silent_ms, tap_now_ms ()};
            if (kind && m.kind == kind && m.engine == engine)
                return f->ev[f->nev - 1].at_ms;
        }
        if (tap_now_ms () >= deadline)
            return -1;
    }
}

/* Events of kind for engine logged since index from. */
static int count_events (const fake_t *f, int from, zpar_hb_pipe_kind_t kind, uint32_t engine)
{
    int c = 0;
    for (int k = from; k < f->nev; k++)
        c += f->ev[k].kind == kind && f->ev[k].engine == engine;
    return c;
}

static void watch (fake_t *f, uint32_t engine, const zpar_route_t *route, int unwatch)
{
    zpar_hb_pipe_msg_t m = {.kind = unwatch ? ZPAR_HB_PIPE_UNWATCH : ZPAR_HB_PIPE_WATCH,
                            .engine = engine};
    if (!unwatch) {
        m.gen = engine;
        m.pid = (uint32_t)getpid ();
        m.route = *route;
    }
    if (zpar__hb_pipe_send (f->pipe, &m, 0) < 0) {
        printf ("Bail out! the heartbeat pipe: %s\n", zmq_strerror (errno));
        exit (1);
    }
}

int main (void)
{
    fake_t f = {0};
    char ping_ep[64] = "tcp://127.0.0.1:*";
    zpar_zrouter_t *zping, *zpong;
    void *ping, *pong;
    zpar_hb_thread_t *t;
    zpar_route_t r1 = {0}, r2 = {0}, stranger = {0}; /* route_make leaves via as it is */
    zpar_error_t err;
    int64_t t0, at, deadline;
    int mark;
    uint64_t pongs0;

    f.ctx = zmq_ctx_new ();
    snprintf (f.pong_ep, sizeof (f.pong_ep), "tcp://127.0.0.1:*");
    zping = zpar__zrouter_bind_mode (ping_ep, sizeof (ping_ep), MAXMSG, ZPAR_ZROUTER_PUB, 0, &err);
    zpong = zpar__zrouter_bind_mode (f.pong_ep, sizeof (f.pong_ep), MAXMSG, ZPAR_ZROUTER_ROUTER, 0,
                                     &err);
    if (!f.ctx || !zping || !zpong) {
        printf ("Bail out! own sockets: %s\n", err.text);
        return 1;
    }
    diag ("ping %s, pong %s", ping_ep, f.pong_ep);
    ping = zping;
    pong = zpong;
    t = zpar__hb_thread_start (f.ctx, f.ctx, &ping, &pong, PERIOD_MS, MISSES, SESSION, &err);
    ok (t != NULL, "heartbeat thread started on zpar's own PUB and ROUTER");
    ok (ping == NULL && pong == NULL, "it took both");
    if (!t)
        return done_testing ();
    f.pipe = zpar__hb_thread_pipe (t);
    zpar__route_make (zpar__eid (1), &r1);
    zpar__route_make (zpar__eid (2), &r2);
    zpar__route_make (zpar__eid (99), &stranger);

    /* 1. pings through the own PUB */
    f.sub = sub_open (&f, ping_ep);
    deadline = tap_now_ms () + 2000;
    while (f.pings < 3 && tap_now_ms () < deadline)
        (void)pump (&f, tap_now_ms () + 50, 0, 0);
    ok (f.pings >= 3, "pings reach a SUB through the own PUB (%d in <= 2 s)", f.pings);
    is_int (f.bad_pings, 0, "each one a ping of this controller's session");
    {
        void *late = sub_open (&f, ping_ep);
        uint8_t buf[64];
        int got = -1, tmo = 2000;
        zmq_setsockopt (late, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
        got = zmq_recv (late, buf, sizeof (buf), 0);
        ok (got > 0 && ping_ok (buf, got), "a SUB connected later gets pings too (%d bytes)", got);
        zmq_close (late);
    }

    /* 2. a watched engine that echoes is counted */
    watch (&f, 1, &r1, 0);
    f.d[0].sock = dealer_open (&f, &r1);
    f.d[0].echo = 1;
    pongs0 = zpar__hb_thread_pongs (t);
    mark = f.nev;
    (void)pump (&f, tap_now_ms () + 7 * PERIOD_MS + PERIOD_MS / 2, 0, 0);
    is_int (count_events (&f, mark, ZPAR_HB_PIPE_SUSPECT, 1), 0,
            "engine 1 echoing for 7 periods: no SUSPECT");
    is_int (count_events (&f, mark, ZPAR_HB_PIPE_DEAD, 1), 0, "and no DEAD");
    ok (zpar__hb_thread_pongs (t) >= pongs0 + 3, "its pongs are read (%llu -> %llu)",
        (unsigned long long)pongs0, (unsigned long long)zpar__hb_thread_pongs (t));
    is_int (f.d[0].rreg, 0, "it is counted, not nudged");

    /* 3. a stranger is nudged through the own ROUTER */
    f.d[2].sock = dealer_open (&f, &stranger);
    f.d[2].echo = 1;
    deadline = tap_now_ms () + 2000;
    while (!f.d[2].rreg && tap_now_ms () < deadline)
        (void)pump (&f, tap_now_ms () + 50, 0, 0);
    ok (f.d[2].rreg > 0, "an identity never watched that echoes gets the nudge back (%d)",
        f.d[2].rreg);
    ok (zpar__hb_thread_nudged (t) > 0, "the thread counts it (%llu nudged)",
        (unsigned long long)zpar__hb_thread_nudged (t));
    dealer_close (&f.d[2]);

    /* 4. the kernel's word: engine 1's connection closes */
    mark = f.nev;
    dealer_close (&f.d[0]);
    t0 = tap_now_ms ();
    at = pump (&f, t0 + 3000, ZPAR_HB_PIPE_CLOSED, 1);
    ok (at >= 0 && at - t0 <= 500,
        "engine 1's connection closed: CLOSED comes before the silence limit (%lld ms)",
        (long long)(at >= 0 ? at - t0 : -1));
    diag ("CLOSED %lld ms after the close (silence limit %d ms)",
          (long long)(at >= 0 ? at - t0 : -1), MISSES * PERIOD_MS + PERIOD_MS / 2);
    at = pump (&f, t0 + 3000, ZPAR_HB_PIPE_GONE, 1);
    ok (at >= 0, "then GONE: it answered the probe on no other connection (%lld ms)",
        (long long)(at >= 0 ? at - t0 : -1));
    diag ("GONE %lld ms after the close", (long long)(at >= 0 ? at - t0 : -1));
    is_int (count_events (&f, mark, ZPAR_HB_PIPE_DEAD, 1), 0,
            "not DEAD on silence before that (its process runs)");
    watch (&f, 1, NULL, 1); /* as the hub does for a GONE engine */

    /* 5. engine 2 closes its connection and connects again */
    watch (&f, 2, &r2, 0);
    f.d[1].sock = dealer_open (&f, &r2);
    f.d[1].echo = 1;
    (void)pump (&f, tap_now_ms () + 5 * PERIOD_MS, 0, 0);
    is_int (f.d[1].rreg, 0, "engine 2 echoes and is counted");
    mark = f.nev;
    dealer_close (&f.d[1]);
    f.d[1].sock = dealer_open (&f, &r2);
    f.d[1].echo = 1;
    pongs0 = zpar__hb_thread_pongs (t);
    t0 = tap_now_ms ();
    at = pump (&f, t0 + 3000, ZPAR_HB_PIPE_GONE, 2);
    ok (at < 0, "engine 2 connected again with its identity: no GONE in 3 s");
    is_int (count_events (&f, mark, ZPAR_HB_PIPE_DEAD, 2), 0, "and no DEAD");
    is_int (f.d[1].rreg, 0, "its new connection's pongs are counted, not nudged");
    ok (zpar__hb_thread_pongs (t) >= pongs0 + 5, "they came (%llu -> %llu pongs)",
        (unsigned long long)pongs0, (unsigned long long)zpar__hb_thread_pongs (t));
    diag ("engine 2: %d CLOSED, %d SUSPECT after its reconnection",
          count_events (&f, mark, ZPAR_HB_PIPE_CLOSED, 2),
          count_events (&f, mark, ZPAR_HB_PIPE_SUSPECT, 2));

    zpar__hb_thread_stop (t);
    for (int k = 0; k < NDEALERS; k++)
        dealer_close (&f.d[k]);
    zmq_close (f.sub);
    zmq_ctx_term (f.ctx);
    return done_testing ();
}
