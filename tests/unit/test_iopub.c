/* test_iopub.c - the IOPub forwarder: signed STREAM / TASK_STATUS messages
 * from publishers reach every subscriber untouched, in order; unsigned,
 * forged, replayed, mis-topicked, wrong-type and malformed ones are dropped
 * and counted; it stops cleanly; bad parameters. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "conn.h"
#include "ids.h"
#include "iopub.h"
#include "proto_iopub.h"
#include "tap.h"
#include "wire.h"
#include "zpar.h"

static void *sock (void *ctx, int type, const char *ep, int bind)
{
    void *s = zmq_socket (ctx, type);
    int zero = 0, tmo = 5000;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (s, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    if (type == ZMQ_SUB)
        zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0);
    if (bind ? zmq_bind (s, ep) : zmq_connect (s, ep)) {
        zmq_close (s);
        return NULL;
    }
    return s;
}

/* A signed STREAM of task, from engine 3 for client 7, data text. */
static int send_stream (void *pub, zpar_signer_t *s, uint64_t task, const char *text)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_STREAM);
    zpar_proto_stream_t st = {.h = {.task = zpar__tid (task),
                                    .engine = zpar__eid (task ? 3 : 0),
                                    .client = zpar__cid (task ? 7 : 0)},
                              .stream = ZPAR_STREAM_STDOUT,
                              .data = text,
                              .len = strlen (text)};
    int rc = -1;
    if (m && zpar__proto_stream_encode (m, &st) == 0)
        rc = zpar__wire_send_chan (pub, s, ZPAR_CHAN_IOPUB, m, 0);
    zpar__msg_destroy (m);
    return rc;
}

/* Receive one message on sub; 0 with *task and text, -1 on timeout. */
static int recv_stream (void *sub, zpar_signer_t *s, uint64_t *task, char *text, size_t size)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_proto_stream_t st;
    zpar_error_t err;
    int rc = -1;
    if (m && zpar__wire_recv_chan (sub, s, ZPAR_CHAN_IOPUB, m, 0, &err) == 0 &&
        zpar__proto_stream_decode (m, &st, &err) == 0) {
        *task = st.h.task.v;
        snprintf (text, size, "%.*s", (int)st.len, (const char *)st.data);
        rc = 0;
    }
    zpar__msg_destroy (m);
    return rc;
}

/* Publish probes (task 0) until sub sees one, then drain the others. */
static int wait_joined (void *pub, zpar_signer_t *ps, void *sub, zpar_signer_t *ss)
{
    int tmo = 20, rc = -1;
    uint64_t task;
    char text[64];
    zmq_setsockopt (sub, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    for (int i = 0; i < 500 && rc < 0; i++) {
        send_stream (pub, ps, 0, "sync");
        if (recv_stream (sub, ss, &task, text, sizeof (text)) == 0 && task == 0)
            rc = 0;
    }
    while (rc == 0 && recv_stream (sub, ss, &task, text, sizeof (text)) == 0)
        ;
    tmo = 5000;
    zmq_setsockopt (sub, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    return rc;
}

/* Sign a message of type into raw frames (through an inproc pair). */
static int capture (void *ctx, zpar_signer_t *s, int type, uint64_t task, zpar_frames_t *f)
{
    static int n;
    char ep[64];
    void *a, *b;
    zpar_msg_t *m = zpar__msg_create ((zpar_msg_type_t)type);
    zpar_proto_stream_t st = {
        .h = {.task = zpar__tid (task), .engine = zpar__eid (3), .client = zpar__cid (7)},
        .stream = ZPAR_STREAM_STDOUT,
        .data = "captured",
        .len = 8};
    int rc = -1;
    snprintf (ep, sizeof (ep), "inproc://capture-%d", n++);
    a = sock (ctx, ZMQ_PAIR, ep, 1);
    b = sock (ctx, ZMQ_PAIR, ep, 0);
    if (m && zpar__proto_stream_encode (m, &st) == 0) {
        m->hdr.type = (uint16_t)type;
        if (zpar__wire_send_chan (b, s, ZPAR_CHAN_IOPUB, m, 0) == 0 &&
            zpar__frames_recv (a, f, 0) == 0)
            rc = 0;
    }
    zpar__msg_destroy (m);
    zmq_close (a);
    zmq_close (b);
    return rc;
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    char eng[ZPAR_ADDR_MAX] = "tcp://127.0.0.1:*", cli[ZPAR_ADDR_MAX] = "tcp://127.0.0.1:*";
    char bad1[ZPAR_ADDR_MAX] = "nonsense://x", bad2[ZPAR_ADDR_MAX] = "tcp://127.0.0.1:*";
    uint8_t key[ZPAR_KEY_LEN], other[ZPAR_KEY_LEN];
    zpar_signer_t *ps, *forger, *ss[2];
    zpar_frames_t f, g;
    zpar_iopub_t *io;
    zpar_error_t err;
    void *pub, *sub[2];
    uint64_t dropped0;
    int ok_all = 1, bad = 0;

    memset (key, 7, sizeof (key));
    memset (other, 9, sizeof (other));
    ps = zpar__signer_create (key, 0);
    forger = zpar__signer_create (other, 0);
    ss[0] = zpar__signer_create (key, 0);
    ss[1] = zpar__signer_create (key, 0);
    ok (ps && forger && ss[0] && ss[1], "signers");

    ok ((io = zpar__iopub_start (ctx, eng, cli, sizeof (eng), key, &err)) != NULL,
        "start the forwarder");
    if (!io) {
        diag ("%s", err.text);
        return done_testing ();
    }
    ok (strstr (eng, ":*") == NULL && strstr (cli, ":*") == NULL,
        "the bound ports are written back (%s, %s)", eng, cli);
    pub = sock (ctx, ZMQ_PUB, eng, 0);
    sub[0] = sock (ctx, ZMQ_SUB, cli, 0);
    sub[1] = sock (ctx, ZMQ_SUB, cli, 0);
    ok (pub && sub[0] && sub[1], "an engine publisher and two client subscribers connect");
    ok (wait_joined (pub, ps, sub[0], ss[0]) == 0 && wait_joined (pub, ps, sub[1], ss[1]) == 0,
        "both subscribers are joined");
    dropped0 = zpar__iopub_dropped (io);
    is_int (dropped0, 0, "signed probes are not dropped");

    /* 100 good messages, each followed by a bad one of some kind */
    for (int i = 1; i <= 100; i++) {
        char body[16];
        snprintf (body, sizeof (body), "msg %d", i);
        send_stream (pub, ps, (uint64_t)i, body);
        switch (i % 6) {
        case 0: /* unsigned: topic, delimiter, garbage */
            zmq_send (pub, "c7.e3", 5, ZMQ_SNDMORE);
            zmq_send (pub, ZPAR_PROTO_DELIM, strlen (ZPAR_PROTO_DELIM), ZMQ_SNDMORE);
            zmq_send (pub, "nosig", 5, ZMQ_SNDMORE);
            zmq_send (pub, "nohdr", 5, ZMQ_SNDMORE);
            zmq_send (pub, "body", 4, 0);
            break;
        case 1: /* signed with another key */
            send_stream (pub, forger, 1000 + (uint64_t)i, "forged");
            break;
        case 2: /* a replay of a good message */
            if (capture (ctx, ps, ZPAR_MSG_STREAM, 2000 + (uint64_t)i, &f) == 0 &&
                zpar__frames_copy (&g, &f) == 0) {
                zpar__frames_send (pub, &f, 0, 0);
                zpar__frames_send (pub, &g, 0, 0); /* the second copy is the bad one */
            }
            break;
        case 3: /* good signature, topic of another client */
            if (capture (ctx, ps, ZPAR_MSG_STREAM, 3000 + (uint64_t)i, &f) == 0) {
                zpar__send_more (pub, "c8.e3", 5);
                zpar__frames_send (pub, &f, 1, 0);
            }
            break;
        case 4: /* good signature, not an IOPub type */
            if (capture (ctx, ps, ZPAR_MSG_RESULT, 4000 + (uint64_t)i, &f) == 0)
                zpar__frames_send (pub, &f, 0, 0);
            break;
        default: /* too many frames */
            for (int k = 0; k < 12; k++)
                zmq_send (pub, "x", 1, k < 11 ? ZMQ_SNDMORE : 0);
            break;
        }
        bad++;
    }
    for (int s = 0; s < 2; s++) {
        int i = 1;
        uint64_t task;
        char text[64];
        while (i <= 100) {
            char want[16];
            if (recv_stream (sub[s], ss[s], &task, text, sizeof (text)) < 0) {
                ok_all = 0;
                diag ("subscriber %d: message %d did not come", s + 1, i);
                break;
            }
            if (task == 0 || (task >= 2000 && task < 3000))
                continue; /* a late probe, the original of a replay */
            snprintf (want, sizeof (want), "msg %d", i);
            if (task != (uint64_t)i || strcmp (text, want) != 0) {
                ok_all = 0;
                diag ("subscriber %d, message %d: task %llu '%s'", s + 1, i,
                      (unsigned long long)task, text);
                break;
            }
            i++;
        }
    }
    ok (ok_all, "100 good messages reach both subscribers intact and in order");
    {
        int tmo = 300;
        uint64_t task;
        char text[64];
        zmq_setsockopt (sub[0], ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
        ok (recv_stream (sub[0], ss[0], &task, text, sizeof (text)) < 0, "and nothing else");
    }
    is_int (zpar__iopub_dropped (io) - dropped0, bad,
            "unsigned, forged, replayed, mis-topicked, wrong-type, malformed: all dropped (%d)",
            bad);
    ok (zpar__iopub_forwarded (io) >= 100, "the forwarder counted the good ones (%llu)",
        (unsigned long long)zpar__iopub_forwarded (io));
    zpar__iopub_stop (io);
    ok (1, "the forwarder stops");

    errno = 0;
    ok (zpar__iopub_start (ctx, bad1, bad2, sizeof (bad1), key, &err) == NULL,
        "a bad endpoint: NULL (%s)", err.text);
    ok (zpar__iopub_start (NULL, bad2, bad2, sizeof (bad2), key, &err) == NULL && errno == EINVAL,
        "no context: NULL, EINVAL");
    ok (zpar__iopub_start (ctx, bad2, bad2, sizeof (bad2), NULL, &err) == NULL && errno == EINVAL,
        "no key: NULL, EINVAL");
    ok (zpar__iopub_start (ctx, NULL, bad2, sizeof (bad2), key, &err) == NULL && errno == EINVAL,
        "no endpoint: NULL, EINVAL");
    zpar__iopub_stop (NULL);
    ok (1, "stop NULL is a no-op");
    is_int (zpar__iopub_forwarded (NULL), 0, "forwarded of NULL: 0");
    is_int (zpar__iopub_dropped (NULL), 0, "dropped of NULL: 0");

    zmq_close (pub);
    zmq_close (sub[0]);
    zmq_close (sub[1]);
    zpar__signer_destroy (ps);
    zpar__signer_destroy (forger);
    zpar__signer_destroy (ss[0]);
    zpar__signer_destroy (ss[1]);
    zmq_ctx_term (ctx);
    return done_testing ();
}
