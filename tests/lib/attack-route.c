/* attack-route - an engine's routing identity and the channel a message
 * is signed for.
 *
 *   attack-route claim CONNECTION_FILE MAXID SECONDS [STOPFILE]
 *
 * Without the key (only the addresses of the connection file are used):
 * for every engine id 1..MAXID, claims the identities an engine could
 * get - the old name "e<id>", and the layout of a routing identity
 * ('E', the id) with zero and with random bytes - on mux_engine,
 * task_engine, control_engine and hb_pong, before any engine registers,
 * and echoes every heartbeat ping under all of them.  After SECONDS (or
 * as soon as STOPFILE exists),
 * prints "claim received=R pongs=P identities=I" (R: messages the queues
 * sent to it, P: pongs it sent) and exits 0 if R is 0, 1 if it received
 * anything.
 *
 *   attack-route replay CONNECTION_FILE ENGINE MARKER
 *
 * With the key, as a client whose traffic is captured: signs a direct
 * task for engine ENGINE on the mux channel and a load-balanced task on
 * the task channel, both appending a line to the file MARKER, captures
 * their frames, delivers each once where it belongs (its result must come
 * back: the capture is valid), then injects the captured frames on every
 * other channel: mux_client, task_client, control_client (routed to
 * "e<ENGINE>" where the relay needs it), the registrar, iopub_engine.
 * Prints "replay original=O answered=A" (O: results of the deliveries,
 * A: answers to the injections) and exits 0 if O is 2 and A is 0, 1
 * otherwise; the caller checks that MARKER has two lines.
 *
 * Exit 2 on a usage or set-up error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "conn.h"
#include "ids.h"
#include "proto_task.h"
#include "route.h"
#include "wire.h"

#define MAX_IDS 16

static void *ctx;

static void *mksock (int type, const char *ep, const void *ident, size_t len)
{
    void *s = zmq_socket (ctx, type);
    int zero = 0;
    if (!s) {
        fprintf (stderr, "attack-route: socket: %s\n", zmq_strerror (errno));
        exit (2);
    }
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    if (ident)
        zmq_setsockopt (s, ZMQ_ROUTING_ID, ident, len);
    if (type == ZMQ_SUB)
        zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect (s, ep) < 0) {
        fprintf (stderr, "attack-route: connect %s: %s\n", ep, zmq_strerror (errno));
        exit (2);
    }
    return s;
}

/* Drain sock; the number of messages it held. */
static long drain (void *sock)
{
    long n = 0;
    zmq_msg_t m;
    zmq_msg_init (&m);
    while (zmq_msg_recv (&m, sock, ZMQ_DONTWAIT) >= 0) {
        if (!zmq_msg_more (&m))
            n++;
    }
    zmq_msg_close (&m);
    return n;
}

static int claim (const zpar_conninfo_t *ci, unsigned maxid, double seconds, const char *stop)
{
    static const int eps[3] = {ZPAR_EP_MUX_ENGINE, ZPAR_EP_TASK_ENGINE, ZPAR_EP_CONTROL_ENGINE};
    void *q[MAX_IDS * 3][3], *pong[MAX_IDS * 3], *ping;
    long received = 0, pongs = 0;
    int nid = 0;
    double end;

    for (unsigned id = 1; id <= maxid; id++) {
        uint8_t idents[3][ZPAR_ROUTE_LEN];
        size_t lens[3];
        lens[0] = (size_t)snprintf ((char *)idents[0], sizeof (idents[0]), "e%u", id);
        /* the layout of a routing identity: the tag and the id in clear,
         * then zeros, or random bytes */
        memset (idents[1], 0, sizeof (idents[1]));
        idents[1][0] = ZPAR_ROUTE_TAG;
        for (int b = 0; b < 4; b++)
            idents[1][1 + b] = (uint8_t)(id >> (8 * b));
        lens[1] = ZPAR_ROUTE_LEN;
        {
            zpar_route_t r;
            (void)zpar__route_make (zpar__eid (id), &r);
            memcpy (idents[2], r.b, ZPAR_ROUTE_LEN);
            lens[2] = ZPAR_ROUTE_LEN;
        }
        for (int k = 0; k < 3; k++, nid++) {
            for (int e = 0; e < 3; e++)
                q[nid][e] = mksock (ZMQ_DEALER, ci->addr[eps[e]], idents[k], lens[k]);
            pong[nid] = mksock (ZMQ_DEALER, ci->addr[ZPAR_EP_HB_PONG], idents[k], lens[k]);
        }
    }
    ping = mksock (ZMQ_SUB, ci->addr[ZPAR_EP_HB_PING], NULL, 0);
    printf ("claim identities=%d ready\n", nid);
    fflush (stdout);
    end = zpar__mono_s () + seconds;
    while (zpar__mono_s () < end && !(stop && access (stop, F_OK) == 0)) {
        zmq_pollitem_t it = {.socket = ping, .events = ZMQ_POLLIN};
        uint8_t buf[64];
        int n;
        (void)zmq_poll (&it, 1, 20);
        /* echo every ping, as an engine's heart does, under every identity */
        while ((n = zmq_recv (ping, buf, sizeof (buf), ZMQ_DONTWAIT)) >= 0) {
            for (int i = 0; i < nid; i++)
                if (zmq_send (pong[i], buf, (size_t)(n < (int)sizeof (buf) ? n : (int)sizeof (buf)),
                              ZMQ_DONTWAIT) >= 0)
                    pongs++;
        }
        for (int i = 0; i < nid; i++)
            for (int e = 0; e < 3; e++)
                received += drain (q[i][e]);
    }
    printf ("claim received=%ld pongs=%ld identities=%d\n", received, pongs, nid);
    for (int i = 0; i < nid; i++) {
        for (int e = 0; e < 3; e++)
            zmq_close (q[i][e]);
        zmq_close (pong[i]);
    }
    zmq_close (ping);
    return received ? 1 : 0;
}

/* Sign m for chan and capture its frames (what a sniffer sees). */
static int capture (zpar_signer_t *s, zpar_chan_t chan, zpar_msg_t *m, zpar_frames_t *f)
{
    static int n;
    void *a = zmq_socket (ctx, ZMQ_PAIR), *b = zmq_socket (ctx, ZMQ_PAIR);
    char ep[64];
    int rc = -1;
    snprintf (ep, sizeof (ep), "inproc://capture-%d", n++);
    zmq_bind (a, ep);
    zmq_connect (b, ep);
    if (zpar__wire_send_chan (b, s, chan, m, 0) == 0 && zpar__frames_recv (a, f, 0) == 0)
        rc = 0;
    zmq_close (a);
    zmq_close (b);
    return rc;
}

/* Send prefix (if any) then a copy of captured frames f. */
static void inject (void *sock, const char *prefix, zpar_frames_t *f)
{
    zpar_frames_t c;
    if (zpar__frames_copy (&c, f) < 0)
        return;
    if (prefix && zmq_send (sock, prefix, strlen (prefix), ZMQ_SNDMORE) < 0) {
        zpar__frames_close (&c);
        return;
    }
    if (zpar__frames_send (sock, &c, 0, 0) < 0)
        zpar__frames_close (&c);
}

/* Messages waiting on sock within seconds. */
static long answers (void *sock, double seconds)
{
    zmq_pollitem_t it = {.socket = sock, .events = ZMQ_POLLIN};
    long n = 0;
    double end = zpar__mono_s () + seconds;
    while (zpar__mono_s () < end) {
        (void)zmq_poll (&it, 1, 20);
        n += drain (sock);
    }
    return n;
}

static int replay (const zpar_conninfo_t *ci, uint32_t engine, const char *marker)
{
    zpar_signer_t *s = zpar__signer_create (ci->key, 0);
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_TASK);
    zpar_frames_t fmux, ftask;
    char cmd[2][4200], name[16];
    const char *argv[2][4];
    void *mux, *task, *ctl, *reg, *pub;
    long original = 0, answered = 0;
    const uint32_t client = 0xfffffff1u; /* a client number nobody uses */

    if (!s || !m)
        return 2;
    snprintf (name, sizeof (name), "e%u", engine);
    for (int i = 0; i < 2; i++) {
        snprintf (cmd[i], sizeof (cmd[i]), "echo %s >> '%s'", i ? "task" : "mux", marker);
        argv[i][0] = "sh";
        argv[i][1] = "-c";
        argv[i][2] = cmd[i];
        argv[i][3] = NULL;
    }
    {
        zpar_proto_task_t t = {
            .h = {.task = zpar__tid (((uint64_t)client << 32) | 1u),
                  .engine = zpar__eid (engine),
                  .client = zpar__cid (client)},
            .kind = ZPAR_TASK_COMMAND,
            .argv = argv[0],
            .argc = 3,
        };
        if (zpar__proto_task_encode (m, &t) < 0 || capture (s, ZPAR_CHAN_MUX, m, &fmux) < 0)
            return 2;
        t.h.task = zpar__tid (((uint64_t)client << 32) | 2u);
        t.h.engine = zpar__eid (0);
        t.argv = argv[1];
        if (zpar__proto_task_encode (m, &t) < 0 || capture (s, ZPAR_CHAN_TASK, m, &ftask) < 0)
            return 2;
    }
    mux = mksock (ZMQ_DEALER, ci->addr[ZPAR_EP_MUX_CLIENT], NULL, 0);
    task = mksock (ZMQ_DEALER, ci->addr[ZPAR_EP_TASK_CLIENT], NULL, 0);
    ctl = mksock (ZMQ_DEALER, ci->addr[ZPAR_EP_CONTROL_CLIENT], NULL, 0);
    reg = mksock (ZMQ_DEALER, ci->addr[ZPAR_EP_REGISTRAR], NULL, 0);
    pub = mksock (ZMQ_PUB, ci->addr[ZPAR_EP_IOPUB_ENGINE], NULL, 0);
    zpar__sleep_s (0.3); /* let the connections come up */

    /* each once where it belongs: both run (the capture is valid) */
    inject (mux, name, &fmux);
    original += answers (mux, 5.0) > 0;
    inject (task, NULL, &ftask);
    original += answers (task, 5.0) > 0;

    /* then on every other channel */
    inject (task, NULL, &fmux);
    inject (ctl, name, &fmux);
    inject (reg, NULL, &fmux);
    inject (mux, name, &ftask);
    inject (ctl, name, &ftask);
    inject (reg, NULL, &ftask);
    {
        char topic[32];
        snprintf (topic, sizeof (topic), "c%u.%s", client, name);
        inject (pub, topic, &fmux);
        inject (pub, topic, &ftask);
    }
    answered += answers (mux, 3.0);
    answered += answers (task, 0.5);
    answered += answers (ctl, 0.5);
    answered += answers (reg, 0.5);
    printf ("replay original=%ld answered=%ld\n", original, answered);
    zpar__frames_close (&fmux);
    zpar__frames_close (&ftask);
    zmq_close (mux);
    zmq_close (task);
    zmq_close (ctl);
    zmq_close (reg);
    zmq_close (pub);
    zpar__msg_destroy (m);
    zpar__signer_destroy (s);
    return original == 2 && answered == 0 ? 0 : 1;
}

static void usage (void)
{
    fprintf (stderr, "usage: attack-route claim CONNECTION_FILE MAXID SECONDS [STOPFILE]\n"
                     "       attack-route replay CONNECTION_FILE ENGINE MARKER\n");
    exit (2);
}

int main (int argc, char **argv)
{
    zpar_conninfo_t ci;
    zpar_error_t err;
    int rc;

    if (argc != 5 && !(argc == 6 && strcmp (argv[1], "claim") == 0))
        usage ();
    if (zpar__conn_read (argv[2], &ci, &err) < 0) {
        fprintf (stderr, "attack-route: %s\n", err.text);
        return 2;
    }
    ctx = zmq_ctx_new ();
    if (strcmp (argv[1], "claim") == 0) {
        unsigned long maxid = strtoul (argv[3], NULL, 10);
        double seconds = strtod (argv[4], NULL);
        if (maxid < 1 || maxid > MAX_IDS || seconds <= 0)
            usage ();
        memset (ci.key, 0, sizeof (ci.key)); /* keyless */
        rc = claim (&ci, (unsigned)maxid, seconds, argc == 6 ? argv[5] : NULL);
    } else if (strcmp (argv[1], "replay") == 0) {
        unsigned long engine = strtoul (argv[3], NULL, 10);
        if (engine < 1 || engine > UINT32_MAX)
            usage ();
        rc = replay (&ci, (uint32_t)engine, argv[4]);
    } else
        usage ();
    zmq_ctx_term (ctx);
    return rc;
}
