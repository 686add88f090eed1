/* engine-register - one engine registration asking for a given id, as a
 * peer holding the key may send (the engine's own --id is limited by the
 * CLI; the controller must refuse what it cannot hold).
 *
 *   engine-register CONNECTION_FILE ID [MUX_AFTER_MS]
 *
 * Sends one signed REGISTER_ENGINE (a fresh uuid, ENGINE_ID = ID) to the
 * registrar and prints the reply as "engine=N errnum=E error=TEXT".  Exit
 * 0 when a reply came within 10 s, 1 when none did, 2 on a usage or set-up
 * error.
 *
 * With MUX_AFTER_MS, an engine that is slow to connect: once registered
 * it waits that long, then connects its MUX socket (with the routing
 * identity of the reply, as an engine does), and prints "mux: TYPE" for
 * the first message that arrives on it within 10 s, or "mux: nothing". */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "conn.h"
#include "proto_registrar.h"
#include "wire.h"

/* Connect the MUX socket after ms, print what comes first on it. */
static void late_mux (void *ctx, const zpar_proto_reg_engine_reply_t *rep, int ms)
{
    void *mux = zmq_socket (ctx, ZMQ_DEALER);
    int tmo = 10000, zero = 0;
    zpar_msg_t *in = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_error_t err;

    usleep ((useconds_t)ms * 1000);
    if (!mux || !in) {
        printf ("mux: cannot create\n");
        return;
    }
    zmq_setsockopt (mux, ZMQ_ROUTING_ID, rep->route.b, sizeof (rep->route.b));
    zmq_setsockopt (mux, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    zmq_setsockopt (mux, ZMQ_LINGER, &zero, sizeof (zero));
    if (zmq_connect (mux, rep->addr[ZPAR_ADDR_MUX]) < 0)
        printf ("mux: connect %s: %s\n", rep->addr[ZPAR_ADDR_MUX], zmq_strerror (errno));
    else if (zpar__wire_recv (mux, NULL, in, 0, &err) < 0)
        printf ("mux: nothing\n");
    else
        printf ("mux: %s\n", zpar__msg_type_name (in->hdr.type));
    zpar__msg_destroy (in);
    zmq_close (mux);
}

int main (int argc, char **argv)
{
    zpar_conninfo_t ci;
    zpar_error_t err;
    zpar_proto_reg_engine_t rq = {0};
    zpar_proto_reg_engine_reply_t rep;
    zpar_signer_t *s;
    zpar_msg_t *m, *in;
    void *ctx, *sock;
    char uuid[64];
    unsigned long long want;
    char *end;
    double deadline;
    int tmo = 1000;

    if (argc < 3 || argc > 4 || (want = strtoull (argv[2], &end, 10), *end) || want > UINT32_MAX ||
        (argc == 4 && atoi (argv[3]) < 0)) {
        fprintf (stderr,
                 "usage: engine-register CONNECTION_FILE ID (0 .. 4294967295) [MUX_AFTER_MS]\n");
        return 2;
    }
    if (zpar__conn_read (argv[1], &ci, &err) < 0) {
        fprintf (stderr, "engine-register: %s\n", err.text);
        return 2;
    }
    ctx = zmq_ctx_new ();
    sock = zmq_socket (ctx, ZMQ_DEALER);
    zmq_setsockopt (sock, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    if (!sock || zmq_connect (sock, ci.addr[ZPAR_EP_REGISTRAR]) < 0) {
        fprintf (stderr, "engine-register: connect: %s\n", zmq_strerror (errno));
        return 2;
    }
    s = zpar__signer_create (ci.key, 0);
    m = zpar__msg_create (ZPAR_MSG_REGISTER_ENGINE);
    in = zpar__msg_create (ZPAR_MSG_NONE);
    if (!s || !m || !in)
        return 2;
    snprintf (uuid, sizeof (uuid), "engine-register-%d-%" PRIu64, (int)getpid (), zpar__now_us ());
    rq.host = "attacker";
    rq.pid = 1;
    rq.rank = -1;
    rq.want = zpar__eid ((uint32_t)want);
    rq.uuid = uuid;
    if (zpar__proto_reg_engine_encode (m, &rq) < 0 ||
        zpar__wire_send_chan (sock, s, ZPAR_CHAN_REGISTRAR, m, 0) < 0) {
        fprintf (stderr, "engine-register: send: %s\n", zmq_strerror (errno));
        return 2;
    }
    deadline = zpar__mono_s () + 10;
    while (zpar__mono_s () < deadline) {
        if (zpar__wire_recv_chan (sock, s, ZPAR_CHAN_REGISTRAR, in, 0, &err) < 0)
            continue;
        if (in->hdr.type != ZPAR_MSG_REGISTER_ENGINE_REPLY)
            continue;
        if (zpar__proto_reg_engine_reply_decode (in, &rep, &err) < 0) {
            printf ("malformed reply: %s\n", err.text);
            return 1;
        }
        printf ("engine=%u errnum=%d error=%s\n", rep.h.engine.v, rep.errnum,
                rep.error ? rep.error : "");
        fflush (stdout);
        if (argc == 4 && rep.errnum == 0)
            late_mux (ctx, &rep, atoi (argv[3]));
        zpar__proto_reg_engine_reply_clear (&rep);
        zpar__msg_destroy (m);
        zpar__msg_destroy (in);
        zpar__signer_destroy (s);
        zmq_close (sock);
        zmq_ctx_term (ctx);
        return 0;
    }
    printf ("no reply\n");
    return 1;
}
