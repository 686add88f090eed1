/* test_iopub.c - the IOPub forwarder: signed STREAM / TASK_STATUS messages
 * from publishers reach every subscriber untouched, in order; unsigned,
 * forged, replayed, mis-topicked, wrong-type and malformed ones are dropped
 * and counted; it stops cleanly; bad parameters.  Subscriptions: with no
 * subscriber the engines publish nothing (filtered at the source: nothing
 * reaches the forwarder); a client's own topic brings its messages only; a
 * late subscriber gets what is published after it joined; subscribers gone,
 * the engines are asked for nothing again; hostile traffic on the clients'
 * side is dropped and counted, with bounded tracking; ZPAR_IOPUB_FILTER=0
 * asks for everything. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
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

/* A signed STREAM of task from engine 3 for client c. */
static int send_for (void *pub, zpar_signer_t *s, unsigned c, uint64_t task, const char *text)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_STREAM);
    zpar_proto_stream_t st = {
        .h = {.task = zpar__tid (task), .engine = zpar__eid (3), .client = zpar__cid (c)},
        .stream = ZPAR_STREAM_STDOUT,
        .data = text,
        .len = strlen (text)};
    int rc = -1;
    if (m && zpar__proto_stream_encode (m, &st) == 0)
        rc = zpar__wire_send_chan (pub, s, ZPAR_CHAN_IOPUB, m, 0);
    zpar__msg_destroy (m);
    return rc;
}

static void pause_ms (int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep (&ts, NULL);
}

/* Until the forwarder asks the engines for want topics (5 s at most). */
static int wait_upstream (zpar_iopub_t *io, uint64_t want)
{
    for (int i = 0; i < 500; i++) {
        if (zpar__iopub_upstream (io) == want)
            return 0;
        pause_ms (10);
    }
    return -1;
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

static int wait_joined_for (void *pub, zpar_signer_t *ps, unsigned c, void *sub, zpar_signer_t *ss);
static void test_filter (void *ctx, const uint8_t *key);

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
    test_filter (ctx, key);
    zpar__signer_destroy (ps);
    zpar__signer_destroy (forger);
    zpar__signer_destroy (ss[0]);
    zpar__signer_destroy (ss[1]);
    zmq_ctx_term (ctx);
    return done_testing ();
}

/* Publish probes (task 0) for client c until sub sees one, then drain. */
static int wait_joined_for (void *pub, zpar_signer_t *ps, unsigned c, void *sub, zpar_signer_t *ss)
{
    int tmo = 20, rc = -1;
    uint64_t task;
    char text[64];
    zmq_setsockopt (sub, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    for (int i = 0; i < 500 && rc < 0; i++) {
        send_for (pub, ps, c, 0, "probe");
        if (recv_stream (sub, ss, &task, text, sizeof (text)) == 0 && task == 0)
            rc = 0;
    }
    while (rc == 0 && recv_stream (sub, ss, &task, text, sizeof (text)) == 0)
        ;
    tmo = 2000;
    zmq_setsockopt (sub, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    return rc;
}

/* Messages of task `task` received on sub within ms (others ignored). */
static int count_task (void *sub, zpar_signer_t *ss, uint64_t task, int ms)
{
    int tmo = ms, n = 0;
    uint64_t t;
    char text[64];
    zmq_setsockopt (sub, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    while (recv_stream (sub, ss, &t, text, sizeof (text)) == 0)
        n += t == task;
    return n;
}

static void test_filter (void *ctx, const uint8_t *key)
{
    char eng[ZPAR_ADDR_MAX] = "tcp://127.0.0.1:*", cli[ZPAR_ADDR_MAX] = "tcp://127.0.0.1:*";
    zpar_signer_t *ps = zpar__signer_create (key, 0), *s1 = zpar__signer_create (key, 0),
                  *s2 = zpar__signer_create (key, 0);
    zpar_iopub_t *io;
    zpar_error_t err;
    void *pub, *mine, *all, *raw;
    uint64_t f0, d0;
    char topic[32];
    int n7, n8;

    if (!(io = zpar__iopub_start (ctx, eng, cli, sizeof (eng), key, &err))) {
        ok (0, "start a second forwarder: %s", err.text);
        return;
    }
    pub = sock (ctx, ZMQ_PUB, eng, 0);
    pause_ms (300); /* connected */
    is_int (zpar__iopub_upstream (io), 0, "no subscriber: the engines are asked for nothing");
    for (int i = 1; i <= 50; i++)
        send_for (pub, ps, 7, (uint64_t)i, "unheard");
    pause_ms (300);
    is_int (zpar__iopub_forwarded (io) + zpar__iopub_dropped (io), 0,
            "no subscriber: 50 messages published, none reached the forwarder");

    /* a client subscribed to its own output (client 7) */
    mine = sock (ctx, ZMQ_SUB, cli, 0);
    zmq_setsockopt (mine, ZMQ_UNSUBSCRIBE, "", 0);
    zmq_setsockopt (mine, ZMQ_SUBSCRIBE, "c7.", 3);
    ok (wait_upstream (io, 1) == 0, "a subscriber to c7.: the engines are asked for one topic");
    ok (wait_joined_for (pub, ps, 7, mine, s1) == 0, "it gets client 7's messages");
    f0 = zpar__iopub_forwarded (io);
    for (int i = 0; i < 20; i++) {
        send_for (pub, ps, 8, 100, "other");
        send_for (pub, ps, 7, 101, "own");
    }
    n7 = count_task (mine, s1, 101, 500);
    is_int (n7, 20, "client 7's 20 messages reach it");
    is_int (zpar__iopub_forwarded (io) - f0, 20,
            "client 8's 20 messages never reached the forwarder (filtered by the engine)");

    /* a late subscriber to everything */
    all = sock (ctx, ZMQ_SUB, cli, 0);
    ok (wait_upstream (io, 2) == 0, "a late subscriber to everything: two topics asked for");
    ok (wait_joined_for (pub, ps, 8, all, s2) == 0, "it gets output published after it joined");
    (void)count_task (mine, s1, 0, 100); /* the probes */
    for (int i = 0; i < 10; i++)
        send_for (pub, ps, 8, 200, "late");
    n8 = count_task (all, s2, 200, 500);
    is_int (n8, 10, "the late subscriber gets client 8's 10 messages");
    is_int (count_task (mine, s1, 200, 200), 0, "client 7's subscriber does not");

    /* gone: nothing asked for again */
    zmq_close (all);
    ok (wait_upstream (io, 1) == 0, "the subscriber to everything gone: one topic again");
    zmq_close (mine);
    ok (wait_upstream (io, 0) == 0, "every subscriber gone: the engines are asked for nothing");

    /* hostile traffic on the clients' side */
    d0 = zpar__iopub_dropped (io);
    raw = sock (ctx, ZMQ_XSUB, cli, 0);
    pause_ms (200);
    zmq_send (raw, "\x05junk", 5, 0);
    zmq_send (raw, "aa", 2, ZMQ_SNDMORE);
    zmq_send (raw, "bb", 2, 0);
    zmq_send (raw, "\x01zz", 3, 0); /* matches no engine topic */
    zmq_send (raw, "\0c99.", 5, 0); /* never subscribed */
    for (int i = 0; i < 1000; i++) {
        int n = snprintf (topic + 1, sizeof (topic) - 1, "c%d.", i);
        topic[0] = 1;
        zmq_send (raw, topic, (size_t)n + 1, 0);
    }
    ok (wait_upstream (io, 257) == 0, "1,000 distinct topics: 256 tracked, then everything");
    is_int (zpar__iopub_dropped (io) - d0, 2,
            "a data message and a multipart one: dropped, counted");
    mine = sock (ctx, ZMQ_SUB, cli, 0);
    ok (wait_joined_for (pub, ps, 9, mine, s1) == 0, "the forwarder still forwards");
    zmq_close (mine);
    zmq_close (raw);
    zpar__iopub_stop (io);

    /* no filtering */
    setenv ("ZPAR_IOPUB_FILTER", "0", 1);
    snprintf (eng, sizeof (eng), "tcp://127.0.0.1:*");
    snprintf (cli, sizeof (cli), "tcp://127.0.0.1:*");
    io = zpar__iopub_start (ctx, eng, cli, sizeof (eng), key, &err);
    unsetenv ("ZPAR_IOPUB_FILTER");
    if (!io)
        diag ("%s", err.text);
    ok (io && wait_upstream (io, 1) == 0, "ZPAR_IOPUB_FILTER=0: everything asked for (%llu)",
        (unsigned long long)zpar__iopub_upstream (io));
    zmq_close (pub);
    if (io) {
        pub = sock (ctx, ZMQ_PUB, eng, 0);
        for (int i = 0; i < 200 && zpar__iopub_forwarded (io) == 0; i++) {
            send_for (pub, ps, 7, 1, "x");
            pause_ms (10);
        }
        ok (zpar__iopub_forwarded (io) > 0, "and forwarded with no subscriber");
        zmq_close (pub);
        zpar__iopub_stop (io);
    }
    zpar__signer_destroy (ps);
    zpar__signer_destroy (s1);
    zpar__signer_destroy (s2);
}
