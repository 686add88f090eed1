/* attack-iopub - keyless messages into IOPub never reach a client.
 *
 *   attack-iopub CONNECTION_FILE N SIZE
 *
 * Connects, without using the key, a subscriber to iopub_client and a
 * publisher to iopub_engine, plus (with the key, as a client would) a
 * verifying subscriber.  Publishes N unsigned and N forged (signed with
 * another key) STREAM messages of SIZE bytes for topic c1.e1, then N
 * messages signed with the cluster key for topic c2.e2 (what an engine
 * does), then an end marker.  Prints
 *   "forged_seen=F signed_seen=S keyed_accepted=A keyed_forged=K sent=N"
 * F and S: what the keyless subscriber received of each; A: what the
 * client accepted; K: forged messages the client accepted.  Exit 0 when
 * the end marker arrived, 1 on a timeout, 2 on a usage or set-up error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "conn.h"
#include "ids.h"
#include "proto_iopub.h"
#include "wire.h"

#define END_TASK 999999u

static void *mksock (void *ctx, int type, const char *ep)
{
    void *s = zmq_socket (ctx, type);
    int zero = 0;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (s, ZMQ_SNDHWM, &zero, sizeof (zero));
    zmq_setsockopt (s, ZMQ_RCVHWM, &zero, sizeof (zero));
    if (type == ZMQ_SUB)
        zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect (s, ep) < 0) {
        fprintf (stderr, "attack-iopub: connect %s: %s\n", ep, zmq_strerror (errno));
        exit (2);
    }
    return s;
}

static void publish (void *pub, zpar_signer_t *s, uint32_t who, uint64_t task, const void *data,
                     size_t len)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_STREAM);
    zpar_proto_stream_t st = {
        .h = {.task = zpar__tid (task), .engine = zpar__eid (who), .client = zpar__cid (who)},
        .stream = ZPAR_STREAM_STDOUT,
        .data = data,
        .len = len};
    if (m && zpar__proto_stream_encode (m, &st) == 0)
        (void)zpar__wire_send_chan (pub, s, ZPAR_CHAN_IOPUB, m, 0);
    zpar__msg_destroy (m);
}

/* Unsigned: the right frames, a signature of zeros. */
static void publish_unsigned (void *pub, const void *data, size_t len)
{
    uint8_t sig[ZPAR_SIG_LEN] = {0}, hdr[ZPAR_HDR_LEN] = {0};
    zmq_send (pub, "c1.e1", 5, ZMQ_SNDMORE);
    zmq_send (pub, ZPAR_PROTO_DELIM, strlen (ZPAR_PROTO_DELIM), ZMQ_SNDMORE);
    zmq_send (pub, sig, sizeof (sig), ZMQ_SNDMORE);
    zmq_send (pub, hdr, sizeof (hdr), ZMQ_SNDMORE);
    zmq_send (pub, data, len, 0);
}

/* Read what is there.  Keyless: count by topic; keyed: verify. */
static void drain_keyless (void *sub, long *forged, long *signed_, int *end)
{
    zmq_msg_t part;
    zmq_msg_init (&part);
    while (zmq_msg_recv (&part, sub, ZMQ_DONTWAIT) >= 0) {
        int first = 1, more;
        char topic[16] = "";
        size_t tl = 0;
        do {
            if (first) {
                tl = zmq_msg_size (&part) < sizeof (topic) - 1 ? zmq_msg_size (&part) : 0;
                memcpy (topic, zmq_msg_data (&part), tl);
                topic[tl] = '\0';
                first = 0;
            }
            more = zmq_msg_more (&part);
            if (more)
                zmq_msg_recv (&part, sub, 0);
        } while (more);
        if (strcmp (topic, "c1.e1") == 0)
            (*forged)++;
        else if (strcmp (topic, "c2.e2") == 0)
            (*signed_)++;
        else if (strcmp (topic, "c3.e3") == 0)
            *end = 1;
    }
    zmq_msg_close (&part);
}

static void drain_keyed (void *sub, zpar_signer_t *s, zpar_msg_t *m, long *accepted, long *forged,
                         int *end, int *probe)
{
    for (;;) {
        zpar_error_t err;
        if (zpar__wire_recv_chan (sub, s, ZPAR_CHAN_IOPUB, m, ZMQ_DONTWAIT, &err) < 0) {
            if (errno == EAGAIN)
                return;
            continue; /* dropped by the client's own checks */
        }
        if (m->hdr.client == 3)
            *end = 1;
        else if (m->hdr.client == 2)
            (*accepted)++;
        else if (m->hdr.client == 1)
            (*forged)++;
        else if (m->hdr.client == 4)
            *probe = 1;
    }
}

int main (int argc, char **argv)
{
    zpar_conninfo_t ci;
    zpar_error_t err;
    uint8_t other[ZPAR_KEY_LEN];
    zpar_signer_t *eng, *forger, *cli;
    zpar_msg_t *in;
    void *ctx, *pub, *ksub, *lsub;
    long n, size, forged_seen = 0, signed_seen = 0, accepted = 0, kforged = 0;
    int end_k = 0, end_l = 0, probe = 0, probe_l = 0;
    char *data;
    double deadline;

    if (argc != 4 || (n = strtol (argv[2], NULL, 10)) <= 0 ||
        (size = strtol (argv[3], NULL, 10)) <= 0) {
        fprintf (stderr, "usage: attack-iopub CONNECTION_FILE N SIZE\n");
        return 2;
    }
    if (zpar__conn_read (argv[1], &ci, &err) < 0) {
        fprintf (stderr, "attack-iopub: %s\n", err.text);
        return 2;
    }
    memset (other, 0x5a, sizeof (other));
    eng = zpar__signer_create (ci.key, 0);
    forger = zpar__signer_create (other, 0);
    cli = zpar__signer_create (ci.key, 0);
    in = zpar__msg_create (ZPAR_MSG_NONE);
    data = malloc ((size_t)size);
    if (!eng || !forger || !cli || !in || !data)
        return 2;
    memset (data, 'A', (size_t)size);
    ctx = zmq_ctx_new ();
    ksub = mksock (ctx, ZMQ_SUB, ci.addr[ZPAR_EP_IOPUB_CLIENT]);
    lsub = mksock (ctx, ZMQ_SUB, ci.addr[ZPAR_EP_IOPUB_CLIENT]);
    pub = mksock (ctx, ZMQ_PUB, ci.addr[ZPAR_EP_IOPUB_ENGINE]);

    /* signed probes (client 4) until both subscribers hear one */
    deadline = zpar__mono_s () + 20;
    while ((!probe || !probe_l) && zpar__mono_s () < deadline) {
        zmq_msg_t part;
        publish (pub, eng, 4, 1, "probe", 5);
        zpar__sleep_s (0.02);
        drain_keyed (ksub, cli, in, &accepted, &kforged, &end_k, &probe);
        zmq_msg_init (&part);
        while (zmq_msg_recv (&part, lsub, ZMQ_DONTWAIT) >= 0)
            probe_l = 1;
        zmq_msg_close (&part);
    }
    if (!probe || !probe_l) {
        fprintf (stderr, "attack-iopub: the subscribers never joined\n");
        return 1;
    }
    zpar__sleep_s (0.1);
    drain_keyless (lsub, &forged_seen, &signed_seen, &end_l);
    drain_keyed (ksub, cli, in, &accepted, &kforged, &end_k, &probe);

    for (long i = 0; i < n; i++) {
        publish_unsigned (pub, data, (size_t)size);
        publish (pub, forger, 1, (uint64_t)i + 1, data, (size_t)size);
        drain_keyless (lsub, &forged_seen, &signed_seen, &end_l);
        drain_keyed (ksub, cli, in, &accepted, &kforged, &end_k, &probe);
    }
    for (long i = 0; i < n; i++) {
        publish (pub, eng, 2, (uint64_t)i + 1, data, (size_t)size);
        drain_keyless (lsub, &forged_seen, &signed_seen, &end_l);
        drain_keyed (ksub, cli, in, &accepted, &kforged, &end_k, &probe);
    }
    deadline = zpar__mono_s () + 30;
    while ((!end_k || !end_l) && zpar__mono_s () < deadline) {
        publish (pub, eng, 3, END_TASK, "end", 3);
        zpar__sleep_s (0.05);
        drain_keyless (lsub, &forged_seen, &signed_seen, &end_l);
        drain_keyed (ksub, cli, in, &accepted, &kforged, &end_k, &probe);
    }
    printf ("forged_seen=%ld signed_seen=%ld keyed_accepted=%ld keyed_forged=%ld sent=%ld\n",
            forged_seen, signed_seen, accepted, kforged, n);
    zmq_close (pub);
    zmq_close (ksub);
    zmq_close (lsub);
    zmq_ctx_term (ctx);
    return end_k && end_l ? 0 : 1;
}
