/* sessions-flood - many short-lived clients at a controller's registrar.
 *
 *   sessions-flood CONNECTION_FILE N
 *
 * Sends one signed "status" query from each of N fresh sessions (a new
 * signer each: a new random session id, seq 1, as every `zpar status` or
 * `zpar submit` call is), draining the replies as they come, then reports
 * "sent=N answered=K".  Exit 0 when every query was answered within the
 * time limit, 1 otherwise, 2 on a usage or set-up error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

#include "clock.h"
#include "conn.h"
#include "proto_registrar.h"
#include "wire.h"

static long drain (void *sock, zpar_signer_t *rx, zpar_msg_t *in, long timeout_ms)
{
    long got = 0;
    for (;;) {
        zpar_error_t err;
        if (timeout_ms > 0) {
            int rcv = (int)timeout_ms;
            zmq_setsockopt (sock, ZMQ_RCVTIMEO, &rcv, sizeof (rcv));
        }
        if (zpar__wire_recv_chan (sock, rx, ZPAR_CHAN_REGISTRAR, in,
                                  timeout_ms > 0 ? 0 : ZMQ_DONTWAIT, &err) < 0) {
            if (errno == EAGAIN)
                return got;
            continue;
        }
        if (in->hdr.type == ZPAR_MSG_QUERY_REPLY)
            got++;
        if (timeout_ms > 0)
            return got;
    }
}

int main (int argc, char **argv)
{
    zpar_conninfo_t ci;
    zpar_error_t err;
    void *ctx, *sock;
    zpar_signer_t *rx;
    zpar_msg_t *m, *in;
    long n, answered = 0;
    double deadline;

    if (argc != 3 || (n = strtol (argv[2], NULL, 10)) <= 0) {
        fprintf (stderr, "usage: sessions-flood CONNECTION_FILE N\n");
        return 2;
    }
    if (zpar__conn_read (argv[1], &ci, &err) < 0) {
        fprintf (stderr, "sessions-flood: %s\n", err.text);
        return 2;
    }
    ctx = zmq_ctx_new ();
    sock = zmq_socket (ctx, ZMQ_DEALER);
    if (!sock || zmq_connect (sock, ci.addr[ZPAR_EP_REGISTRAR]) < 0) {
        fprintf (stderr, "sessions-flood: connect: %s\n", zmq_strerror (errno));
        return 2;
    }
    rx = zpar__signer_create (ci.key, 0);
    m = zpar__msg_create (ZPAR_MSG_QUERY);
    in = zpar__msg_create (ZPAR_MSG_NONE);
    if (!rx || !m || !in)
        return 2;
    deadline = zpar__mono_s () + 120;
    for (long i = 0; i < n && zpar__mono_s () < deadline; i++) {
        zpar_signer_t *s = zpar__signer_create (ci.key, 0);
        zpar_proto_query_t q = {0};
        if (!s)
            return 2;
        q.kind = ZPAR_QUERY_STATUS;
        q.h.task = zpar__tid ((uint64_t)i + 1);
        zpar__msg_reset (m, ZPAR_MSG_QUERY);
        if (zpar__proto_query_encode (m, &q) < 0 ||
            zpar__wire_send_chan (sock, s, ZPAR_CHAN_REGISTRAR, m, 0) < 0) {
            fprintf (stderr, "sessions-flood: send: %s\n", zmq_strerror (errno));
            return 2;
        }
        zpar__signer_destroy (s);
        answered += drain (sock, rx, in, 0);
        /* keep at most 1,000 queries in flight: the point is many
         * sessions, not a queue that outgrows the time limit */
        while ((long)i + 1 - answered > 1000) {
            long got = drain (sock, rx, in, 5000);
            if (got == 0)
                break;
            answered += got;
        }
    }
    deadline = zpar__mono_s () + 30;
    while (answered < n && zpar__mono_s () < deadline) {
        long got = drain (sock, rx, in, 1000);
        answered += got;
    }
    printf ("sent=%ld answered=%ld\n", n, answered);
    zpar__msg_destroy (m);
    zpar__msg_destroy (in);
    zpar__signer_destroy (rx);
    zmq_close (sock);
    zmq_ctx_term (ctx);
    return answered == n ? 0 : 1;
}
