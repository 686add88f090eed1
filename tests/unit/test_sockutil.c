/* test_sockutil.c - the controller's bound sockets get the network limits
 * of their role (maximum message size, PUB send HWM, IOPub SUB receive
 * HWM), inproc ones none; a ROUTER is a zrouter unless Curve keys or
 * ZPAR_TASK_IO=zmq say otherwise, and Curve keys make CURVE servers; a
 * socket's turn (zpar__sock_turn) does a zrouter's I/O before the drain
 * and its done after, or leaves the done to the drain; bad parameters. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "conn.h"
#include "curve.h"
#include "sockutil.h"
#include "tap.h"
#include "wire.h"
#include "zrouter.h"

#define WAIT_MS 5000

/* 1 when sock (a libzmq socket or a zrouter) has input within ms. */
static int readable (void *sock, int ms)
{
    zpar_zrouter_t *z = zpar__zrouter_of (sock);
    zmq_pollitem_t it = {z ? NULL : sock, z ? zpar__zrouter_fd (z) : 0, ZMQ_POLLIN, 0};
    return zmq_poll (&it, 1, ms) == 1;
}

/* A drain for zpar__sock_turn that takes up to take messages (-1: all)
 * and notes what waited in the zrouter's queue when it started. */
typedef struct {
    void *sock;
    int take;
    int calls;
    int got;
    uint64_t queued_at_start;
} drain_t;

static void drain (void *arg)
{
    drain_t *d = arg;
    zpar_zrouter_t *z = zpar__zrouter_of (d->sock);
    d->calls++;
    d->queued_at_start = 0;
    if (z) {
        zpar_zrouter_stats_t st;
        zpar__zrouter_stats (z, &st);
        d->queued_at_start = st.queued;
    }
    for (int i = 0; d->take < 0 || i < d->take; i++) {
        zpar_frames_t f;
        if (zpar__frames_recv (d->sock, &f, ZMQ_DONTWAIT) < 0)
            break;
        zpar__frames_close (&f);
        d->got++;
    }
}

/* Turn sock (done after the drain) until the drain has got n messages in
 * all, within WAIT_MS. */
static void turn_until (drain_t *d, int n)
{
    int64_t deadline = tap_now_ms () + WAIT_MS;
    while (d->got < n && tap_now_ms () < deadline) {
        (void)readable (d->sock, tap_left_ms (deadline, 0));
        (void)zpar__sock_turn (d->sock, drain, d, ZPAR_TURN_DONE_AFTER);
    }
}

static void *dealer (void *ctx, const char *ep)
{
    int zero = 0;
    void *d = zmq_socket (ctx, ZMQ_DEALER);
    if (d) {
        zmq_setsockopt (d, ZMQ_LINGER, &zero, sizeof (zero));
        if (zmq_connect (d, ep) < 0) {
            zmq_close (d);
            d = NULL;
        }
    }
    return d;
}

static int mechanism (void *s)
{
    int v = -1;
    size_t l = sizeof (v);
    return zmq_getsockopt (s, ZMQ_MECHANISM, &v, &l) == 0 ? v : -1;
}

/* zpar__sock_turn on a zrouter: the I/O, the drain, the done (or not). */
static void test_turn_zrouter (void *ctx)
{
    char ep[ZPAR_ADDR_MAX] = "tcp://127.0.0.1:*";
    zpar_error_t err;
    void *s = zpar__bind_router (ctx, ZPAR_NET_DATA, ZPAR_CURVE_ANY, 0, ep, sizeof (ep), &err);
    zpar_zrouter_t *z = zpar__zrouter_of (s);
    void *p = dealer (ctx, ep);
    drain_t d = {.sock = s, .take = -1};
    int64_t deadline;
    int rc;

    ok (z != NULL, "a ROUTER without Curve keys is a zrouter (%s)", s ? ep : err.text);
    if (!z || !p) {
        zpar__close_socket (s);
        if (p)
            zmq_close (p);
        return;
    }
    (void)zmq_send (p, "one", 3, 0);
    turn_until (&d, 1);
    ok (d.got == 1 && d.queued_at_start == 1,
        "a turn does the zrouter's I/O before the drain (got %d, %llu queued at its start)", d.got,
        (unsigned long long)d.queued_at_start);
    ok (!readable (s, 0), "all taken: the descriptor is quiet after the turn");

    /* the drain takes nothing: zpar__zrouter_done after it signals what waits */
    (void)zmq_send (p, "two", 3, 0);
    (void)zmq_send (p, "three", 5, 0);
    d.take = 0;
    deadline = tap_now_ms () + WAIT_MS;
    do {
        (void)readable (s, tap_left_ms (deadline, 0));
        (void)zpar__sock_turn (s, drain, &d, ZPAR_TURN_DONE_AFTER);
    } while (d.queued_at_start < 2 && tap_now_ms () < deadline);
    ok (d.queued_at_start == 2 && readable (s, 0),
        "ZPAR_TURN_DONE_AFTER: what the drain left keeps the descriptor readable (%llu)",
        (unsigned long long)d.queued_at_start);

    /* the drain takes both and, as told, leaves the done to itself: the
     * turn does not call it, so the descriptor still says "waiting" */
    d.take = -1;
    d.got = 0;
    rc = zpar__sock_turn (s, drain, &d, ZPAR_TURN_DONE_IN_DRAIN);
    ok (rc == 0 && d.got == 2 && readable (s, 0),
        "ZPAR_TURN_DONE_IN_DRAIN: the turn leaves zpar__zrouter_done to the drain (got %d)", d.got);
    zpar__zrouter_done (z);
    ok (!readable (s, 0), "the drain's own done quiets it");

    zmq_close (p);
    zpar__close_socket (s);
}

/* zpar__sock_turn on a libzmq ROUTER: the drain only. */
static void test_turn_zmq (void *ctx)
{
    char ep[ZPAR_ADDR_MAX] = "tcp://127.0.0.1:*";
    zpar_error_t err;
    void *s, *p;
    drain_t d = {.take = -1};

    setenv ("ZPAR_TASK_IO", "zmq", 1);
    s = zpar__bind_router (ctx, ZPAR_NET_DATA, ZPAR_CURVE_ANY, 0, ep, sizeof (ep), &err);
    unsetenv ("ZPAR_TASK_IO");
    ok (s && !zpar__zrouter_of (s), "ZPAR_TASK_IO=zmq: a libzmq ROUTER (%s)", s ? ep : err.text);
    if (!s)
        return;
    d.sock = s;
    if ((p = dealer (ctx, ep))) {
        (void)zmq_send (p, "one", 3, 0);
        turn_until (&d, 1);
        zmq_close (p);
    }
    ok (d.got == 1, "a turn of a libzmq socket runs the drain (got %d in %d calls)", d.got,
        d.calls);
    zpar__close_socket (s);
}

/* Curve keys on ctx: its ROUTERs are libzmq CURVE servers; without, zrouters. */
static void test_curve (void *ctx)
{
    zpar_curve_keys_t k;
    zpar_error_t err;
    char ep[ZPAR_ADDR_MAX];
    void *s;

    ok (zpar__sockutil_set_curve (NULL, NULL) < 0 && errno == EINVAL, "set_curve NULL: EINVAL");
    if (!zpar__curve_available () || zpar__curve_generate (&k, &err) < 0) {
        diag ("no CURVE in this libzmq: its cases skipped");
        return;
    }
    ok (zpar__sockutil_set_curve (ctx, &k) == 0, "set Curve keys");
    strcpy (ep, "tcp://127.0.0.1:*");
    s = zpar__bind_router (ctx, ZPAR_NET_DATA, ZPAR_CURVE_ENGINE, 1, ep, sizeof (ep), &err);
    ok (s && !zpar__zrouter_of (s) && mechanism (s) == ZMQ_CURVE,
        "with Curve keys a ROUTER is a libzmq CURVE server");
    zpar__close_socket (s);
    strcpy (ep, "tcp://127.0.0.1:*");
    s = zpar__bind_socket (ctx, ZMQ_PUB, ep, sizeof (ep), &err);
    ok (s && mechanism (s) == ZMQ_CURVE, "and so is a PUB");
    zpar__close_socket (s);
    strcpy (ep, "inproc://test-sockutil-curve");
    s = zpar__bind_socket (ctx, ZMQ_PAIR, ep, sizeof (ep), &err);
    ok (s && mechanism (s) == ZMQ_NULL, "but not an inproc socket");
    zpar__close_socket (s);

    ok (zpar__sockutil_set_curve (ctx, NULL) == 0, "Curve keys forgotten");
    strcpy (ep, "tcp://127.0.0.1:*");
    s = zpar__bind_router (ctx, ZPAR_NET_DATA, ZPAR_CURVE_ENGINE, 1, ep, sizeof (ep), &err);
    ok (s && zpar__zrouter_of (s), "without them a ROUTER is a zrouter again");
    zpar__close_socket (s);
    strcpy (ep, "tcp://127.0.0.1:*");
    s = zpar__bind_socket (ctx, ZMQ_PUB, ep, sizeof (ep), &err);
    ok (s && mechanism (s) == ZMQ_NULL, "and a PUB is not a CURVE server");
    zpar__close_socket (s);
}

static int64_t maxmsg (void *s)
{
    int64_t v = -2;
    size_t l = sizeof (v);
    return zmq_getsockopt (s, ZMQ_MAXMSGSIZE, &v, &l) == 0 ? v : -2;
}

static int hwm (void *s, int opt)
{
    int v = -2;
    size_t l = sizeof (v);
    return zmq_getsockopt (s, opt, &v, &l) == 0 ? v : -2;
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    static const struct {
        int type;
        int role; /* -1: from the type */
        int64_t max;
        int sndhwm;
        int rcvhwm;
        const char *what;
    } table[] = {
        {ZMQ_ROUTER, -1, ZPAR_NETLIMIT_DATA_MAX, 0, 0, "ROUTER: data limit, no HWM"},
        {ZMQ_PUB, -1, ZPAR_NETLIMIT_SUBSCRIBE, ZPAR_NETLIMIT_PUB_SNDHWM, 0,
         "PUB: subscription limit, finite send HWM"},
        {ZMQ_SUB, -1, ZPAR_NETLIMIT_IOPUB, 0, ZPAR_NETLIMIT_IOPUB_RCVHWM,
         "SUB: IOPub limit, finite receive HWM"},
        {ZMQ_ROUTER, ZPAR_NET_CONTROL, ZPAR_NETLIMIT_CONTROL, 0, 0, "ROUTER as control"},
    };
    zpar_error_t err;
    void *s;

    unsetenv ("ZPAR_MAX_MSG_SIZE");
    for (size_t i = 0; i < sizeof (table) / sizeof (table[0]); i++) {
        char ep[ZPAR_ADDR_MAX] = "tcp://127.0.0.1:*";
        s = table[i].role < 0
                ? zpar__bind_socket (ctx, table[i].type, ep, sizeof (ep), &err)
                : zpar__bind_socket_role (ctx, table[i].type, (zpar_net_role_t)table[i].role, ep,
                                          sizeof (ep), &err);
        ok (s && maxmsg (s) == table[i].max && hwm (s, ZMQ_SNDHWM) == table[i].sndhwm &&
                hwm (s, ZMQ_RCVHWM) == table[i].rcvhwm && !strstr (ep, ":*"),
            "%s (max %lld, snd %d, rcv %d, %s)", table[i].what, s ? (long long)maxmsg (s) : 0LL,
            s ? hwm (s, ZMQ_SNDHWM) : 0, s ? hwm (s, ZMQ_RCVHWM) : 0, ep);
        zpar__close_socket (s);
    }
    {
        char ep[64] = "inproc://test-sockutil";
        s = zpar__bind_socket (ctx, ZMQ_PAIR, ep, sizeof (ep), &err);
        ok (s && maxmsg (s) == -1, "inproc: no limit");
        zpar__close_socket (s);
    }
    setenv ("ZPAR_MAX_MSG_SIZE", "1M", 1);
    {
        char ep[ZPAR_ADDR_MAX] = "tcp://127.0.0.1:*";
        s = zpar__bind_socket (ctx, ZMQ_ROUTER, ep, sizeof (ep), &err);
        ok (s && maxmsg (s) == 1 << 20, "ZPAR_MAX_MSG_SIZE lowers the data limit");
        zpar__close_socket (s);
    }
    unsetenv ("ZPAR_MAX_MSG_SIZE");
    {
        char ep[ZPAR_ADDR_MAX] = "nonsense://x";
        ok (zpar__bind_socket (ctx, ZMQ_ROUTER, ep, sizeof (ep), &err) == NULL,
            "a bad endpoint: NULL (%s)", err.text);
        strcpy (ep, "tcp://127.0.0.1:*");
        ok (zpar__bind_socket_role (ctx, ZMQ_ROUTER, (zpar_net_role_t)42, ep, sizeof (ep), &err) ==
                NULL,
            "an unknown role: NULL (%s)", err.text);
    }
    zpar__close_socket (NULL);
    ok (1, "close NULL is a no-op");
    unsetenv ("ZPAR_TASK_IO");
    test_turn_zrouter (ctx);
    test_turn_zmq (ctx);
    test_curve (ctx);
    zmq_ctx_term (ctx);
    return done_testing ();
}
