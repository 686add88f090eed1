/* test_heart.c - the engine's heart against a fake hub (a PUB for pings
 * and a ROUTER for pongs, inproc), on a reactor: pings are echoed, loss by
 * silence and by a new controller session is reported once. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "engine/heart.h"
#include "reactor.h"
#include "tap.h"

static int lost_calls;
static zpar_heart_loss_t lost_why;

static void on_lost (zpar_heart_t *h, zpar_heart_loss_t why, void *arg)
{
    (void)h;
    (void)arg;
    lost_calls++;
    lost_why = why;
}

static void ping (void *pub, uint64_t seq, uint64_t session)
{
    uint64_t v[3] = {seq, zpar__now_us (), session};
    (void)zmq_send (pub, v, sizeof (v), ZMQ_DONTWAIT);
}

/* Ping every 20 ms until the ROUTER gets an echo from ident (or 5 s). */
static int echoed (zpar_reactor_t *r, void *pub, void *router, const char *ident, uint64_t session)
{
    uint64_t end = zpar__mono_us () + 5000000u, seq = 0;
    while (zpar__mono_us () < end) {
        char id[32], body[64];
        int n;
        ping (pub, ++seq, session);
        (void)zpar__reactor_run_once (r, 20);
        while ((n = zmq_recv (router, id, sizeof (id), ZMQ_DONTWAIT)) >= 0) {
            int len = zmq_recv (router, body, sizeof (body), 0);
            uint64_t s;
            memcpy (&s, body + 16, 8);
            if (n == (int)strlen (ident) && memcmp (id, ident, (size_t)n) == 0 && len == 24 &&
                s == session)
                return 1;
        }
    }
    return 0;
}

static void run_for (zpar_reactor_t *r, unsigned ms)
{
    uint64_t end = zpar__mono_us () + ms * 1000u;
    while (zpar__mono_us () < end && !lost_calls)
        (void)zpar__reactor_run_once (r, 10);
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    void *pub = zmq_socket (ctx, ZMQ_PUB);
    void *router = zmq_socket (ctx, ZMQ_ROUTER);
    zpar_reactor_t *r = zpar__reactor_create ();
    zpar_heart_opts_t o = {
        .ping_addr = "inproc://t-ping",
        .pong_addr = "inproc://t-pong",
        .ident = "e5",
        .period_ms = 100,
        .misses = 3,
        .session = 77,
        .lost = on_lost,
    };
    zpar_error_t err = {{0}};
    zpar_heart_t *h;
    uint64_t t0, last;

    plan (NO_PLAN);
    ok (ctx && pub && router && r, "context, fake hub sockets, reactor");
    ok (zmq_bind (pub, o.ping_addr) == 0 && zmq_bind (router, o.pong_addr) == 0, "fake hub bound");

    /* bad parameters */
    {
        zpar_heart_opts_t bad[5];
        const char *what[5] = {"no ping address", "no pong address", "no ident", "no callback",
                               "all fine but no reactor"};
        for (int i = 0; i < 5; i++)
            bad[i] = o;
        bad[0].ping_addr = NULL;
        bad[1].pong_addr = NULL;
        bad[2].ident = NULL;
        bad[3].lost = NULL;
        for (int i = 0; i < 4; i++)
            ok (zpar__heart_create (r, ctx, &bad[i], &err) == NULL && errno == EINVAL,
                "create, %s: EINVAL", what[i]);
        ok (zpar__heart_create (NULL, ctx, &bad[4], &err) == NULL && errno == EINVAL,
            "create, %s: EINVAL", what[4]);
        ok (zpar__heart_create (r, NULL, &o, &err) == NULL && errno == EINVAL,
            "create, no context: EINVAL");
        ok (zpar__heart_create (r, ctx, NULL, &err) == NULL && errno == EINVAL,
            "create, no options: EINVAL");
        zpar__heart_destroy (NULL);
        ok (1, "destroy(NULL) is a no-op");
        is_int ((int)zpar__heart_last_ping_us (NULL), 0, "last_ping(NULL) is 0");
    }

    /* echo, and silence */
    h = zpar__heart_create (r, ctx, &o, &err);
    ok (h != NULL, "heart created");
    if (!h) {
        diag ("%s", err.text);
        return done_testing ();
    }
    ok (zpar__heart_limit_us (h) == 2000000u, "limit: 3 x 100 ms + 100 ms, at least 2 s");
    t0 = zpar__mono_us ();
    ok (echoed (r, pub, router, "e5", 77), "a ping comes back on the ROUTER from e5");
    /* the copies reach our capture SUB once its inproc subscription is in */
    for (int i = 0; i < 100 && zpar__heart_last_ping_us (h) < t0; i++) {
        ping (pub, 500 + (uint64_t)i, 77);
        run_for (r, 20);
    }
    last = zpar__heart_last_ping_us (h);
    ok (last >= t0, "the capture saw the pings");
    is_int (lost_calls, 0, "no loss while pings come");
    run_for (r, 4000);
    is_int (lost_calls, 1, "silence: loss reported once");
    ok (lost_why == ZPAR_HEART_SILENT, "reason: silent");
    ok (zpar__mono_us () - last >= 2000000u, "not before the limit");
    run_for (r, 300);
    is_int (lost_calls, 1, "not reported again");
    zpar__heart_destroy (h);

    /* a new controller */
    lost_calls = 0;
    o.ident = "e6";
    h = zpar__heart_create (r, ctx, &o, &err);
    ok (h && echoed (r, pub, router, "e6", 77), "second heart beats");
    ping (pub, 1000, 78);
    run_for (r, 1000);
    is_int (lost_calls, 1, "ping from session 78: loss reported");
    ok (lost_why == ZPAR_HEART_NEW_CONTROLLER, "reason: new controller");
    zpar__heart_destroy (h);

    zpar__reactor_destroy (r);
    zmq_close (pub);
    zmq_close (router);
    zmq_ctx_term (ctx);
    return done_testing ();
}
