/* test_hb_thread_order.c - the heartbeat thread applies what the hub told
 * it before it judges the pongs waiting: in a start storm the hub queues
 * thousands of WATCHes, and an engine that registered, connected and
 * echoed a ping before the thread had read its WATCH must be counted, not
 * told to register again (the nudge).  N engines are watched at once
 * (ZPAR_TEST_ENGINES, default 20,000); the last one's pong is sent right
 * after its WATCH; no nudge may come back. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "hb_thread.h"
#include "proto_hb.h"
#include "route.h"
#include "tap.h"

#define SESSION 0x5e55104ull

static void *bound (void *ctx, int type, const char *ep)
{
    void *s = zmq_socket (ctx, type);
    int zero = 0;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    if (!s || zmq_bind (s, ep) < 0) {
        printf ("Bail out! bind %s: %s\n", ep, zmq_strerror (errno));
        exit (1);
    }
    return s;
}

int main (void)
{
    const char *s = getenv ("ZPAR_TEST_ENGINES");
    uint32_t n = s && atoi (s) > 1 ? (uint32_t)atoi (s) : 20000, last;
    void *ctx = zmq_ctx_new (), *sub, *dealer, *pipe;
    void *ping = bound (ctx, ZMQ_PUB, "inproc://hb-order-ping");
    void *pong = bound (ctx, ZMQ_ROUTER, "inproc://hb-order-pong");
    zpar_hb_thread_t *t;
    zpar_route_t route;
    zpar_error_t err;
    uint8_t buf[64];
    int zero = 0, got = -1, tmo = 3000, nudged = 0;

    t = zpar__hb_thread_start (ctx, ctx, &ping, &pong, 300, 3, SESSION, &err);
    ok (t != NULL, "heartbeat thread started");
    if (!t)
        return done_testing ();
    pipe = zpar__hb_thread_pipe (t);
    last = n;
    zpar__route_make (zpar__eid (last), &route);
    sub = zmq_socket (ctx, ZMQ_SUB);
    dealer = zmq_socket (ctx, ZMQ_DEALER);
    zmq_setsockopt (sub, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (dealer, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "", 0);
    zmq_setsockopt (sub, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    zmq_setsockopt (dealer, ZMQ_ROUTING_ID, route.b, sizeof (route.b));
    zmq_setsockopt (dealer, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    zmq_connect (sub, "inproc://hb-order-ping");
    zmq_connect (dealer, "inproc://hb-order-pong");
    /* a ping of this controller to echo later */
    got = zmq_recv (sub, buf, sizeof (buf), 0);
    ok (got == ZPAR_HB_PING_LEN, "a ping came (%d bytes)", got);
    /* the storm: every WATCH at once, the last engine's pong right after
     * its WATCH */
    for (uint32_t e = 1; e <= n; e++) {
        zpar_hb_pipe_msg_t m = {.kind = ZPAR_HB_PIPE_WATCH, .engine = e, .gen = e};
        zpar__route_make (zpar__eid (e), &m.route);
        if (e == last)
            m.route = route;
        if (zpar__hb_pipe_send (pipe, &m, 0) < 0)
            break;
    }
    zmq_send (dealer, buf, (size_t)got, 0);
    /* a nudge would come within a period or two */
    tmo = 1000;
    zmq_setsockopt (dealer, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    while (zmq_recv (dealer, buf, sizeof (buf), 0) >= 0)
        nudged += !memcmp (buf, ZPAR_HB_RREG, ZPAR_HB_RREG_LEN);
    is_int (nudged, 0, "the engine whose pong came behind %u WATCHes is counted, not nudged", n);
    is_int ((long)zpar__hb_thread_nudged (t), 0, "no nudge sent");
    zmq_close (sub);
    zmq_close (dealer);
    zpar__hb_thread_stop (t);
    zmq_ctx_term (ctx);
    return done_testing ();
}
