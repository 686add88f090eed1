/* sockutil.c - small helpers for the controller's sockets. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "error.h"
#include "sockutil.h"

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

void *zpar__bind_socket (void *ctx, int type, char *ep, size_t epsize, zpar_error_t *err)
{
    return zpar__bind_socket_role (ctx, type, role_of (type), ep, epsize, err);
}

void *zpar__bind_socket_role (void *ctx, int type, zpar_net_role_t role, char *ep, size_t epsize,
                              zpar_error_t *err)
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
    if (type == ZMQ_SUB && strncmp (ep, "inproc://", 9) != 0) {
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

void zpar__close_socket (void *sock)
{
    if (sock) {
        int zero = 0;
        zmq_setsockopt (sock, ZMQ_LINGER, &zero, sizeof (zero));
        zmq_close (sock);
    }
}
