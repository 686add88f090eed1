/* test_sockutil.c - the controller's bound sockets get the network limits
 * of their role (maximum message size, PUB send HWM, IOPub SUB receive
 * HWM), inproc ones none; a ROUTER is a zrouter unless Curve keys or
 * ZPAR_TASK_IO=zmq say otherwise, and Curve keys make CURVE servers; bad
 * parameters. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "conn.h"
#include "curve.h"
#include "sockutil.h"
#include "tap.h"
#include "zrouter.h"

static int mechanism (void *s)
{
    int v = -1;
    size_t l = sizeof (v);
    return zmq_getsockopt (s, ZMQ_MECHANISM, &v, &l) == 0 ? v : -1;
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
    test_curve (ctx);
    zmq_ctx_term (ctx);
    return done_testing ();
}
