/* sockutil.c - small helpers for the controller's sockets. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "error.h"
#include "sockutil.h"
#include "zrouter.h"

static zpar_net_role_t role_of (int type)
{
    switch (type) {
    case ZMQ_PUB:
        return ZPAR_NET_PUB;
    case ZMQ_SUB:
        return ZPAR_NET_IOPUB;
    default:
        return ZPAR_NET_DATA;
    }
}

/* The Curve keys of each ZeroMQ context that has some (a process runs one
 * controller, tests a few): its sockets are bound as CURVE servers. */
#define CURVE_CTX_MAX 8
static struct {
    void *ctx;
    zpar_curve_keys_t keys;
} curve_ctx[CURVE_CTX_MAX];
static pthread_mutex_t curve_lock = PTHREAD_MUTEX_INITIALIZER;

int zpar__sockutil_set_curve (void *ctx, const zpar_curve_keys_t *k)
{
    int rc = -1, on = zpar__curve_on (k);
    if (!ctx) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock (&curve_lock);
    for (int i = 0; i < CURVE_CTX_MAX; i++) {
        if (curve_ctx[i].ctx == ctx) {
            if (on)
                curve_ctx[i].keys = *k;
            else
                memset (&curve_ctx[i], 0, sizeof (curve_ctx[i]));
            rc = 0;
            break;
        }
    }
    for (int i = 0; rc < 0 && on && i < CURVE_CTX_MAX; i++) {
        if (!curve_ctx[i].ctx) {
            curve_ctx[i].ctx = ctx;
            curve_ctx[i].keys = *k;
            rc = 0;
        }
    }
    pthread_mutex_unlock (&curve_lock);
    if (rc < 0 && !on)
        rc = 0;
    else if (rc < 0)
        errno = ENOSPC;
    return rc;
}

/* The Curve keys of ctx, or NULL when it has none.  Call with curve_lock
 * held, and use them before it is released. */
static const zpar_curve_keys_t *curve_keys_locked (const void *ctx)
{
    for (int i = 0; i < CURVE_CTX_MAX; i++)
        if (curve_ctx[i].ctx == ctx)
            return &curve_ctx[i].keys;
    return NULL;
}

/* Make s a CURVE server when ctx has keys; 0 when it has none. */
static int curve_setup (void *ctx, void *s, const char *side)
{
    const zpar_curve_keys_t *k;
    int rc = 0;
    pthread_mutex_lock (&curve_lock);
    if ((k = curve_keys_locked (ctx)))
        rc = zpar__curve_server (s, k, side);
    pthread_mutex_unlock (&curve_lock);
    return rc;
}

/* 1 when ctx has Curve keys, else 0. */
static int curve_on (void *ctx)
{
    int on;
    pthread_mutex_lock (&curve_lock);
    on = curve_keys_locked (ctx) != NULL;
    pthread_mutex_unlock (&curve_lock);
    return on;
}

void *zpar__bind_socket (void *ctx, int type, char *ep, size_t epsize, zpar_error_t *err)
{
    return zpar__bind_socket_ex (ctx, type, role_of (type), ZPAR_CURVE_ANY, ep, epsize, err);
}

void *zpar__bind_socket_side (void *ctx, int type, const char *side, char *ep, size_t epsize,
                              zpar_error_t *err)
{
    return zpar__bind_socket_ex (ctx, type, role_of (type), side, ep, epsize, err);
}

void *zpar__bind_socket_role (void *ctx, int type, zpar_net_role_t role, char *ep, size_t epsize,
                              zpar_error_t *err)
{
    return zpar__bind_socket_ex (ctx, type, role, ZPAR_CURVE_ANY, ep, epsize, err);
}

void *zpar__bind_socket_ex (void *ctx, int type, zpar_net_role_t role, const char *side, char *ep,
                            size_t epsize, zpar_error_t *err)
{
    void *s = zmq_socket (ctx, type);
    int zero = 0, one = 1;
    size_t len = epsize;
    if (!s) {
        zpar__errprintf (err, "cannot create socket: %s", zmq_strerror (errno));
        return NULL;
    }
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (s, ZMQ_SNDHWM, &zero, sizeof (zero));
    zmq_setsockopt (s, ZMQ_RCVHWM, &zero, sizeof (zero));
    /* before the bind: a bound endpoint's listener keeps the options of
     * the moment it was bound, and gives them to every connection it
     * accepts (an HWM set later reaches no engine's pipe) */
    if ((type == ZMQ_SUB || type == ZMQ_XSUB) && strncmp (ep, "inproc://", 9) != 0) {
        int hwm = ZPAR_NETLIMIT_IOPUB_RCVHWM;
        zmq_setsockopt (s, ZMQ_RCVHWM, &hwm, sizeof (hwm));
    }
    if (strncmp (ep, "inproc://", 9) != 0 && zpar__netlimit_apply (s, role) < 0) {
        zpar__errprintf (err, "cannot set the limits of %s: %s", ep, zmq_strerror (errno));
        zmq_close (s);
        return NULL;
    }
    /* No ZMQ_ROUTER_HANDOVER: a second peer claiming a connected engine's
     * identity is refused, so nobody can hijack an engine's routing; an
     * engine that restarts gets its identity back once its old connection
     * is gone (TCP reset, or the heartbeat declares it dead). */
    (void)one;
    if (strncmp (ep, "inproc://", 9) != 0 && curve_setup (ctx, s, side) < 0) {
        zpar__errprintf (err, "cannot make %s a CURVE server: %s", ep, zmq_strerror (errno));
        zmq_close (s);
        return NULL;
    }
    /* a start storm: thousands of engines connect at once, 7 connections
     * each; with libzmq's backlog of 100 the kernel drops the SYNs beyond
     * it and the peers try again a second later (doc/benchmarks.md,
     * "Issue 11: thousands of engines"); the kernel caps it at somaxconn */
    if (strncmp (ep, "inproc://", 9) != 0) {
        int backlog = ZPAR_LISTEN_BACKLOG;
        (void)zmq_setsockopt (s, ZMQ_BACKLOG, &backlog, sizeof (backlog));
    }
    if (zmq_bind (s, ep) < 0) {
        int e = errno;
        zpar__errnoprintf (err, e, "cannot bind %s: %s", ep, zmq_strerror (e));
        zmq_close (s);
        return NULL;
    }
    if (strncmp (ep, "inproc://", 9) != 0 && zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, ep, &len) < 0) {
        zpar__errprintf (err, "cannot read bound endpoint: %s", zmq_strerror (errno));
        zmq_close (s);
        return NULL;
    }
    return s;
}

void *zpar__bind_task_router (void *ctx, const char *side, int mandatory, char *ep, size_t epsize,
                              zpar_error_t *err)
{
    return zpar__bind_router (ctx, ZPAR_NET_DATA, side, mandatory, ep, epsize, err);
}

void *zpar__bind_router (void *ctx, zpar_net_role_t role, const char *side, int mandatory, char *ep,
                         size_t epsize, zpar_error_t *err)
{
    return zpar__bind_own (ctx, ZMQ_ROUTER, role, side, mandatory, ep, epsize, err);
}

void *zpar__bind_own (void *ctx, int type, zpar_net_role_t role, const char *side, int mandatory,
                      char *ep, size_t epsize, zpar_error_t *err)
{
    const char *env = getenv ("ZPAR_TASK_IO");
    zpar_zrouter_mode_t mode = type == ZMQ_PUB    ? ZPAR_ZROUTER_PUB
                               : type == ZMQ_XSUB ? ZPAR_ZROUTER_XSUB
                                                  : ZPAR_ZROUTER_ROUTER;
    void *s;
    if (type != ZMQ_ROUTER && type != ZMQ_PUB && type != ZMQ_XSUB) {
        zpar__errnoprintf (err, EINVAL, "%s: no socket of type %d of zpar's own", ep, type);
        return NULL;
    }
    if (!curve_on (ctx) && !(env && strcmp (env, "zmq") == 0)) {
        zpar_error_t e;
        zpar_zrouter_t *z =
            zpar__zrouter_bind_mode (ep, epsize, zpar__netlimit_for (role), mode, mandatory, &e);
        if (z)
            return z;
        if (errno != EINVAL && errno != ENOSPC) { /* an endpoint it takes, not bound */
            if (err)
                *err = e;
            return NULL;
        }
    }
    if (!(s = zpar__bind_socket_ex (ctx, type, role, side, ep, epsize, err)))
        return NULL;
    if (mandatory && type == ZMQ_ROUTER) {
        int one = 1;
        (void)zmq_setsockopt (s, ZMQ_ROUTER_MANDATORY, &one, sizeof (one));
    }
    return s;
}

int zpar__sock_turn (void *sock, zpar_sock_drain_f drain, void *arg, zpar_turn_done_t done)
{
    zpar_zrouter_t *z = zpar__zrouter_of (sock);
    int rc = zpar__zrouter_io (z), e = errno; /* z NULL: 0 */
    drain (arg);
    if (done == ZPAR_TURN_DONE_AFTER)
        zpar__zrouter_done (z);
    errno = e;
    return rc;
}

zpar_watcher_t *zpar__sock_watcher_create (zpar_reactor_t *r, void *sock, zpar_watcher_f cb,
                                           void *arg)
{
    zpar_zrouter_t *z = zpar__zrouter_of (sock);
    if (z)
        return zpar__fd_watcher_create (r, zpar__zrouter_fd (z), ZPAR_EV_IN, cb, arg);
    return zpar__zmq_watcher_create (r, sock, ZPAR_EV_IN, cb, arg);
}

void zpar__close_socket (void *sock)
{
    zpar_zrouter_t *z = zpar__zrouter_of (sock);
    if (z) {
        zpar__zrouter_destroy (z);
        return;
    }
    if (sock) {
        int zero = 0;
        zmq_setsockopt (sock, ZMQ_LINGER, &zero, sizeof (zero));
        zmq_close (sock);
    }
}

void zpar__socket_settle (void *sock)
{
    int events;
    size_t len = sizeof (events);
    /* ZMQ_EVENTS processes the commands waiting in the socket's mailbox,
     * among them the ends of the pipes of closed connections */
    if (sock && !zpar__zrouter_of (sock)) /* a zrouter frees its own at once */
        (void)zmq_getsockopt (sock, ZMQ_EVENTS, &events, &len);
}
