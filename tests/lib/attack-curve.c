/* attack-curve - who can complete a connection to a controller's sockets.
 *
 *   attack-curve CONNECTION_FILE MODE [TIMEOUT_MS]
 *
 * For each of the twelve endpoints of CONNECTION_FILE, connect a socket of
 * the type a peer would use (DEALER to a ROUTER, SUB to a PUB, PUB to the
 * IOPub SUB) and watch its handshake (zmq_socket_monitor) for TIMEOUT_MS
 * (default 3000).  MODE is the credentials:
 *   plain   no CURVE at all (NULL mechanism)
 *   random  a fresh CURVE key pair, with the server's public key
 *   client  the client key pair of the file (client.json)
 *   engine  the engine key pair of the file (engine.json)
 * Whatever the handshake, each socket then sends three garbage messages.
 * Prints one line per endpoint, "ep=NAME result=connected|refused|none",
 * then "connected=C refused=R none=N".  Exit 0 when every endpoint gave a
 * result, 2 on a usage or set-up error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "conn.h"
#include "curve.h"

/* The side each endpoint belongs to (what the controller's ZAP expects). */
static int peer_type (zpar_endpoint_t ep)
{
    switch (ep) {
    case ZPAR_EP_NOTIFY:
    case ZPAR_EP_HB_PING:
    case ZPAR_EP_IOPUB_CLIENT:
        return ZMQ_SUB;
    case ZPAR_EP_IOPUB_ENGINE:
        return ZMQ_PUB;
    default:
        return ZMQ_DEALER;
    }
}

/* The next handshake verdict on the monitor: 1 connected, 0 refused,
 * -1 none within the timeout. */
static int verdict (void *mon, int timeout_ms)
{
    zmq_setsockopt (mon, ZMQ_RCVTIMEO, &timeout_ms, sizeof (timeout_ms));
    for (;;) {
        zmq_msg_t m;
        uint16_t ev;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, mon, 0) < 0) {
            zmq_msg_close (&m);
            return -1;
        }
        memcpy (&ev, zmq_msg_data (&m), sizeof (ev));
        zmq_msg_close (&m);
        zmq_msg_init (&m);
        (void)zmq_msg_recv (&m, mon, 0); /* the endpoint frame */
        zmq_msg_close (&m);
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            return 1;
        if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
            ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
            ev == ZMQ_EVENT_DISCONNECTED)
            return 0;
    }
}

int main (int argc, char **argv)
{
    zpar_conninfo_t ci;
    zpar_curve_keys_t k;
    zpar_error_t err;
    const char *mode;
    int timeout_ms = 3000, zero = 0, n[3] = {0, 0, 0};
    void *ctx;

    if (argc < 3 || argc > 4) {
        fprintf (stderr, "usage: attack-curve CONNECTION_FILE plain|random|client|engine [MS]\n");
        return 2;
    }
    mode = argv[2];
    if (argc == 4)
        timeout_ms = atoi (argv[3]);
    if (zpar__conn_read (argv[1], &ci, &err) < 0) {
        fprintf (stderr, "attack-curve: %s\n", err.text);
        return 2;
    }
    memset (&k, 0, sizeof (k));
    if (!strcmp (mode, "random")) {
        if (zpar__curve_generate (&k, &err) < 0) {
            fprintf (stderr, "attack-curve: %s\n", err.text);
            return 2;
        }
        /* our own pair as "client", the real server's public key */
        snprintf (k.server_public, sizeof (k.server_public), "%s",
                  ci.curve.server_public[0] ? ci.curve.server_public : k.server_public);
    } else if (!strcmp (mode, "client") || !strcmp (mode, "engine"))
        k = ci.curve;
    else if (strcmp (mode, "plain")) {
        fprintf (stderr, "attack-curve: unknown mode %s\n", mode);
        return 2;
    }
    ctx = zmq_ctx_new ();
    for (int ep = 0; ep < ZPAR_EP_COUNT; ep++) {
        void *s = zmq_socket (ctx, peer_type (ep)), *mon = zmq_socket (ctx, ZMQ_PAIR);
        char monep[64];
        const char *side = strcmp (mode, "engine") ? ZPAR_CURVE_CLIENT : ZPAR_CURVE_ENGINE;
        int v;

        snprintf (monep, sizeof (monep), "inproc://attack-curve-mon-%d", ep);
        zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
        zmq_setsockopt (mon, ZMQ_LINGER, &zero, sizeof (zero));
        if (peer_type (ep) == ZMQ_SUB)
            zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0);
        if (strcmp (mode, "plain") && zpar__curve_client (s, &k, side) < 0) {
            fprintf (stderr, "attack-curve: curve keys: %s\n", zmq_strerror (errno));
            return 2;
        }
        if (zmq_socket_monitor (s, monep, ZMQ_EVENT_ALL) < 0 || zmq_connect (mon, monep) < 0 ||
            zmq_connect (s, ci.addr[ep]) < 0) {
            fprintf (stderr, "attack-curve: %s: %s\n", ci.addr[ep], zmq_strerror (errno));
            return 2;
        }
        v = verdict (mon, timeout_ms);
        if (peer_type (ep) != ZMQ_SUB)
            for (int i = 0; i < 3; i++)
                (void)zmq_send (s, "garbage from attack-curve", 25, ZMQ_DONTWAIT);
        printf ("ep=%s result=%s\n", zpar__endpoint_name (ep),
                v > 0    ? "connected"
                : v == 0 ? "refused"
                         : "none");
        n[v > 0 ? 0 : v == 0 ? 1 : 2]++;
        zmq_socket_monitor (s, NULL, 0);
        zmq_close (s);
        zmq_close (mon);
    }
    printf ("connected=%d refused=%d none=%d\n", n[0], n[1], n[2]);
    zmq_ctx_term (ctx);
    return 0;
}
