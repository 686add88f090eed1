/* test_zrouter.c - the ROUTER socket that does its own TCP I/O (zrouter.h)
 * against real libzmq DEALER peers and raw TCP sockets: binding, routing
 * identities (given, generated, in use), mandatory and silent routing,
 * large and oversized frames, messages of too many frames, peers that do
 * not speak ZMTP, many messages with the receive queue's limit, peers that
 * go away, and the wire layer's calls (zpar__sock_send, zpar__frames_recv)
 * on a zrouter.
 *
 * The zrouter is driven as its owner drives it: poll(2) on its descriptor,
 * then zpar__zrouter_io.  Every wait has a deadline. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "tap.h"
#include "wire.h"
#include "zrouter.h"

#define WAIT_MS  10000 /* for what must happen */
#define QUIET_MS 300   /* for what must not */
#define NMAX     16
#define MANY     20000
#define BIG      (1024 * 1024)

static void *ctx;
static uint64_t max_queued; /* the most messages seen waiting in a zrouter */

static void io (zpar_zrouter_t *z)
{
    zpar_zrouter_stats_t st;
    if (zpar__zrouter_io (z) < 0)
        diag ("zpar__zrouter_io: %s", strerror (errno));
    zpar__zrouter_stats (z, &st);
    if (st.queued > max_queued)
        max_queued = st.queued;
}

#include "zrouter_tap.h"

/* A DEALER connected to ep, with routing identity id (NULL: none). */
static void *dealer (const char *ep, const char *id)
{
    int zero = 0;
    void *d = zmq_socket (ctx, ZMQ_DEALER);
    if (!d)
        return NULL;
    zmq_setsockopt (d, ZMQ_LINGER, &zero, sizeof (zero));
    if (id)
        zmq_setsockopt (d, ZMQ_ROUTING_ID, id, strlen (id));
    if (zmq_connect (d, ep) < 0) {
        zmq_close (d);
        return NULL;
    }
    return d;
}

/* Send the n frames f[] on libzmq socket d. */
static int dl_send (void *d, int n, const char *const *f)
{
    for (int i = 0; i < n; i++)
        if (zmq_send (d, f[i], strlen (f[i]), i < n - 1 ? ZMQ_SNDMORE : 0) < 0)
            return -1;
    return 0;
}

/* Send [id, f[0], ..., f[n-1]] through z: 0, or the first failure. */
static int zr_send (zpar_zrouter_t *z, const void *id, size_t idlen, int n, const char *const *f)
{
    if (zpar__zrouter_send (z, id, idlen, n > 0) < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (zpar__zrouter_send (z, f[i], strlen (f[i]), i < n - 1) < 0)
            return -1;
    return 0;
}

/* A message [frames...] from d arrives as [id, frames...]. */
static int arrives_from (zpar_zrouter_t *z, const char *id, const char *what)
{
    zmq_msg_t part[NMAX];
    int n, good;
    if (zr_recv (z, part, NMAX, &n, WAIT_MS) < 0) {
        diag ("%s: %s", what, strerror (errno));
        return 0;
    }
    good = n == 2 && frame_is_str (&part[0], id) && frame_is_str (&part[1], what);
    if (!good)
        diag ("%s: got %d frames", what, n);
    parts_close (part, n);
    return good;
}

/* Turn z until its counter (an offset into the stats) is above was. */
#define WAIT_STAT(z, field, cmp, was)                                                              \
    do {                                                                                           \
        int64_t dl_ = tap_now_ms () + WAIT_MS;                                                     \
        while (!(stats (z).field cmp (was)) && tap_now_ms () < dl_)                                \
            turn ((z), tap_left_ms (dl_, 50));                                                     \
    } while (0)

static zpar_zrouter_t *bind_any (char *ep, size_t size, int64_t maxmsg, int mandatory)
{
    zpar_error_t err;
    zpar_zrouter_t *z;
    snprintf (ep, size, "tcp://127.0.0.1:*");
    if (!(z = zpar__zrouter_bind (ep, size, maxmsg, mandatory, &err)))
        diag ("bind: %s", err.text);
    return z;
}

/* A ZMTP 3.0 NULL greeting; mech is the mechanism's name. */
static size_t greeting (unsigned char *g, const char *mech)
{
    memset (g, 0, 64);
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3;
    g[11] = 0;
    memcpy (g + 12, mech, strlen (mech));
    return 64;
}

/* A READY command frame with Socket-Type type and Identity id. */
static size_t ready (unsigned char *p, const char *type, const char *id)
{
    size_t n = 2;
    const char *props[2][2] = {{"Socket-Type", type}, {"Identity", id}};
    p[n++] = 5;
    memcpy (p + n, "READY", 5);
    n += 5;
    for (int i = 0; i < 2; i++) {
        size_t nl = strlen (props[i][0]), vl = strlen (props[i][1]);
        p[n++] = (unsigned char)nl;
        memcpy (p + n, props[i][0], nl);
        n += nl;
        p[n++] = 0;
        p[n++] = 0;
        p[n++] = 0;
        p[n++] = (unsigned char)vl;
        memcpy (p + n, props[i][1], vl);
        n += vl;
    }
    p[0] = 0x04; /* a command, short */
    p[1] = (unsigned char)(n - 2);
    return n;
}

/* ------------------------------------------------------------ checks */

/* 1: what bind takes, what it leaves to libzmq, what fails. */
static void check_bind (void)
{
    char ep[256], ep2[256];
    unsigned port = 0;
    zpar_error_t err;
    zpar_zrouter_t *z, *z2;
    int e;

    z = bind_any (ep, sizeof (ep), 1024, 1);
    ok (z && sscanf (ep, "tcp://127.0.0.1:%u", &port) == 1 && port > 0 && port < 65536,
        "1: tcp://127.0.0.1:* binds a port (%s)", ep);

    snprintf (ep2, sizeof (ep2), "tcp://*:*");
    z2 = zpar__zrouter_bind (ep2, sizeof (ep2), 1024, 1, &err);
    ok (z2 && strncmp (ep2, "tcp://0.0.0.0:", 14) == 0 && strcmp (ep2 + 14, "0") != 0,
        "1: tcp://*:* binds every address (%s)", z2 ? ep2 : err.text);
    zpar__zrouter_destroy (z2);

    snprintf (ep2, sizeof (ep2), "ipc:///tmp/x");
    errno = 0;
    z2 = zpar__zrouter_bind (ep2, sizeof (ep2), 1024, 1, &err);
    e = errno;
    ok (!z2 && e == EINVAL, "1: ipc:// is left to libzmq (EINVAL: %s)", strerror (e));
    zpar__zrouter_destroy (z2);

    snprintf (ep2, sizeof (ep2), "tcp://somehostname:*");
    errno = 0;
    z2 = zpar__zrouter_bind (ep2, sizeof (ep2), 1024, 1, &err);
    e = errno;
    ok (!z2 && e == EINVAL, "1: a host name is left to libzmq (EINVAL: %s)", strerror (e));
    zpar__zrouter_destroy (z2);

    snprintf (ep2, sizeof (ep2), "tcp://127.0.0.1:%u", port);
    errno = 0;
    z2 = zpar__zrouter_bind (ep2, sizeof (ep2), 1024, 1, &err);
    e = errno;
    ok (z && !z2 && e != EINVAL && e != 0, "1: a port in use fails, not as EINVAL (%s: %s)",
        strerror (e), z2 ? "bound" : err.text);
    zpar__zrouter_destroy (z2);
    zpar__zrouter_destroy (z);
}

/* 2: a DEALER with an identity; 3: one without. */
static void check_identity (zpar_zrouter_t *z, const char *ep, void *a)
{
    const char *three[] = {"one", "two-two", "three-three-three"};
    const char *xy[] = {"x", "y"};
    zmq_msg_t part[NMAX], anon_id[2];
    int n, rc;
    void *d[2];

    ok (dl_send (a, 3, three) == 0, "2: peer-A sends 3 frames");
    rc = zr_recv (z, part, NMAX, &n, WAIT_MS);
    ok (rc == 0 && n == 4, "2: received as 4 frames (rc %d, %d frames)", rc, rc == 0 ? n : 0);
    ok (rc == 0 && n >= 1 && frame_is_str (&part[0], "peer-A"), "2: frame 0 is peer-A");
    ok (rc == 0 && n == 4 && frame_is_str (&part[1], three[0]) &&
            frame_is_str (&part[2], three[1]) && frame_is_str (&part[3], three[2]),
        "2: the frames are the ones sent");
    if (rc == 0)
        parts_close (part, n);

    ok (zr_send (z, "peer-A", 6, 2, xy) == 0, "2: reply [peer-A, x, y] sent");
    rc = dl_recv (z, a, part, NMAX, &n, WAIT_MS);
    ok (rc == 0 && n == 2 && frame_is_str (&part[0], "x") && frame_is_str (&part[1], "y"),
        "2: peer-A receives [x, y] (%d frames)", rc == 0 ? n : 0);
    if (rc == 0)
        parts_close (part, n);

    {
        char longid[256];
        const char *hi[] = {"long"}, *r[] = {"long-reply"};
        void *l;
        memset (longid, 'L', 255);
        longid[255] = 0;
        l = dealer (ep, longid);
        ok (l && dl_send (l, 1, hi) == 0 && arrives_from (z, longid, "long"),
            "2: an identity of 255 bytes is kept whole");
        ok (l && zr_send (z, longid, 255, 1, r) == 0 && dl_gets (z, l, r[0]),
            "2: and replies reach it");
        zmq_close (l);
    }

    for (int i = 0; i < 2; i++) {
        const char *hi[] = {"anonymous"};
        d[i] = dealer (ep, NULL);
        zmq_msg_init (&anon_id[i]);
        rc = d[i] ? dl_send (d[i], 1, hi) : -1;
        if (rc == 0)
            rc = zr_recv (z, part, NMAX, &n, WAIT_MS);
        ok (rc == 0 && n == 2 && zmq_msg_size (&part[0]) == 5 &&
                ((unsigned char *)zmq_msg_data (&part[0]))[0] == 0 &&
                frame_is_str (&part[1], "anonymous"),
            "3: a DEALER without identity %d is named with 5 bytes, the first 0 (%zu bytes)", i,
            rc == 0 && n > 0 ? zmq_msg_size (&part[0]) : 0);
        if (rc == 0) {
            zmq_msg_copy (&anon_id[i], &part[0]);
            parts_close (part, n);
        }
    }
    ok (zmq_msg_size (&anon_id[0]) == 5 &&
            !frame_is (&anon_id[0], zmq_msg_data (&anon_id[1]), zmq_msg_size (&anon_id[1])),
        "3: two of them are named differently");
    for (int i = 0; i < 2; i++) {
        const char *back[] = {i ? "back-1" : "back-0"};
        ok (zr_send (z, zmq_msg_data (&anon_id[i]), zmq_msg_size (&anon_id[i]), 1, back) == 0 &&
                dl_gets (z, d[i], back[0]),
            "3: a reply to the generated identity %d arrives", i);
        zmq_msg_close (&anon_id[i]);
        zmq_close (d[i]);
    }
}

/* 4: a second peer with the identity of a connected one is refused. */
static void check_twins (zpar_zrouter_t *z, const char *ep)
{
    const char *one[] = {"from-first"}, *two[] = {"from-second"}, *again[] = {"again-first"};
    const char *to[] = {"to-twin"};
    zpar_zrouter_stats_t s0;
    void *t1, *t2;

    WAIT_STAT (z, peers, <=, 1); /* peer-A only: the ones before have gone */
    t1 = dealer (ep, "twin");
    ok (t1 && dl_send (t1, 1, one) == 0 && arrives_from (z, "twin", one[0]),
        "4: the first twin is received");
    s0 = stats (z);
    t2 = dealer (ep, "twin");
    ok (t2 && dl_send (t2, 1, two) == 0, "4: the second twin connects and sends");
    WAIT_STAT (z, refused, >, s0.refused);
    ok (stats (z).refused > s0.refused, "4: the second twin is refused (refused %llu -> %llu)",
        (unsigned long long)s0.refused, (unsigned long long)stats (z).refused);
    ok (zr_quiet (z), "4: nothing of the second twin arrives");
    ok (stats (z).peers == s0.peers, "4: peers stay %u (%u)", s0.peers, stats (z).peers);
    ok (zr_send (z, "twin", 4, 1, to) == 0 && dl_gets (z, t1, to[0]), "4: the first gets a reply");
    ok (dl_quiet (z, t2), "4: the second gets nothing");
    ok (dl_send (t1, 1, again) == 0 && arrives_from (z, "twin", again[0]),
        "4: the first still sends");
    zmq_close (t2);
    zmq_close (t1);
}

/* 5: an unknown identity, mandatory and not. */
static void check_unknown (zpar_zrouter_t *z, void *a)
{
    char ep[256];
    const char *after[] = {"after-1", "after-2"}, *fine[] = {"fine"};
    /* the dropped message's second frame names a peer: it must not be
     * taken for the start of another message */
    const char *leak[] = {"nm", "leak"};
    const char *hi[] = {"hi"};
    zmq_msg_t part[NMAX];
    zpar_zrouter_t *zn;
    void *d;
    int n, rc;

    errno = 0;
    rc = zpar__zrouter_send (z, "nobody", 6, 1);
    ok (rc == -1 && errno == EHOSTUNREACH, "5: mandatory: unknown identity is EHOSTUNREACH (%s)",
        strerror (errno));
    errno = 0;
    rc = zpar__zrouter_send (z, "nobody", 6, 0);
    ok (rc == -1 && errno == EHOSTUNREACH, "5: mandatory: so is an identity frame alone");
    ok (zr_send (z, "peer-A", 6, 2, after) == 0, "5: mandatory: the next message is sent");
    rc = dl_recv (z, a, part, NMAX, &n, WAIT_MS);
    ok (rc == 0 && n == 2 && frame_is_str (&part[0], after[0]) && frame_is_str (&part[1], after[1]),
        "5: mandatory: it arrives intact (%d frames)", rc == 0 ? n : 0);
    if (rc == 0)
        parts_close (part, n);
    ok (dl_quiet (z, a), "5: mandatory: and nothing else");

    zn = bind_any (ep, sizeof (ep), 1024, 0);
    d = zn ? dealer (ep, "nm") : NULL;
    ok (d && dl_send (d, 1, hi) == 0 && arrives_from (zn, "nm", "hi"),
        "5: silent: a peer is connected");
    errno = 0;
    rc = zn ? zr_send (zn, "nobody", 6, 2, leak) : -1;
    ok (rc == 0, "5: silent: a message to an unknown identity is taken (%s)",
        rc ? strerror (errno) : "0");
    ok (zn && zr_send (zn, "nm", 2, 1, fine) == 0 && dl_gets (zn, d, "fine"),
        "5: silent: the next message arrives intact");
    ok (zn && dl_quiet (zn, d), "5: silent: and nothing of the dropped one");
    zmq_close (d);
    zpar__zrouter_destroy (zn);
}

static void pattern (unsigned char *p, size_t len, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

/* 6: large frames both ways; a frame above maxmsg. */
static void check_large (zpar_zrouter_t *z, const char *ep)
{
    enum { COPIES = 8 };
    unsigned char *big = malloc (BIG), *exp = malloc (BIG);
    char sep[256];
    zmq_msg_t part[NMAX];
    zpar_zrouter_stats_t st;
    zpar_zrouter_t *zs;
    int n, rc, sent = 0, got = 0, hwm = 1, rbuf = 65536;
    uint64_t pend = 0;
    void *d = zmq_socket (ctx, ZMQ_DEALER), *okp, *bigp;
    int zero = 0;

    /* the DEALER reads little at a time: what the zrouter writes waits */
    zmq_setsockopt (d, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (d, ZMQ_ROUTING_ID, "large", 5);
    zmq_setsockopt (d, ZMQ_RCVHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (d, ZMQ_RCVBUF, &rbuf, sizeof (rbuf));
    zmq_connect (d, ep);

    pattern (big, BIG, 1);
    ok (zmq_send (d, big, BIG, 0) == BIG, "6: a DEALER sends a frame of 1 MiB");
    rc = zr_recv (z, part, NMAX, &n, WAIT_MS);
    ok (rc == 0 && n == 2 && frame_is_str (&part[0], "large") && frame_is (&part[1], big, BIG),
        "6: it is received byte for byte (%zu bytes)",
        rc == 0 && n == 2 ? zmq_msg_size (&part[1]) : 0);
    if (rc == 0)
        parts_close (part, n);

    for (int i = 0; i < COPIES; i++) {
        pattern (big, BIG, 100 + i);
        if (zpar__zrouter_send (z, "large", 5, 1) == 0 && zpar__zrouter_send (z, big, BIG, 0) == 0)
            sent++;
        if ((st = stats (z)).out_pending > pend)
            pend = st.out_pending;
    }
    ok (sent == COPIES, "6: %d frames of 1 MiB sent back", sent);
    ok (pend > 0, "6: what the kernel did not take waits (%llu bytes at most)",
        (unsigned long long)pend);
    for (int i = 0; i < COPIES; i++) {
        pattern (exp, BIG, 100 + i);
        rc = dl_recv (z, d, part, NMAX, &n, WAIT_MS);
        if (rc == 0 && n == 1 && frame_is (&part[0], exp, BIG))
            got++;
        else
            diag ("copy %d: rc %d, %d frames, %zu bytes", i, rc, rc == 0 ? n : 0,
                  rc == 0 ? zmq_msg_size (&part[0]) : 0);
        if (rc == 0)
            parts_close (part, n);
    }
    ok (got == COPIES, "6: the DEALER receives all %d byte for byte", got);
    ok (stats (z).out_pending == 0, "6: nothing waits to be written then (%llu)",
        (unsigned long long)stats (z).out_pending);
    zmq_close (d);

    /* a frame above maxmsg */
    zs = bind_any (sep, sizeof (sep), 1024, 1);
    okp = zs ? dealer (sep, "ok-peer") : NULL;
    bigp = zs ? dealer (sep, "big-peer") : NULL;
    {
        const char *hi[] = {"hi"};
        ok (okp && bigp && dl_send (okp, 1, hi) == 0 && arrives_from (zs, "ok-peer", "hi") &&
                dl_send (bigp, 1, hi) == 0 && arrives_from (zs, "big-peer", "hi"),
            "6: two peers of a zrouter with maxmsg 1024");
    }
    if (!zs || !okp || !bigp) {
        zmq_close (okp);
        zmq_close (bigp);
        zpar__zrouter_destroy (zs);
        free (big);
        free (exp);
        return;
    }
    st = stats (zs);
    ok (st.peers == 2 && st.oversized == 0, "6: %u peers, %llu oversized", st.peers,
        (unsigned long long)st.oversized);
    pattern (big, 4096, 7);
    ok (zmq_send (bigp, big, 4096, 0) == 4096, "6: one sends a frame of 4096 bytes");
    WAIT_STAT (zs, oversized, >, 0);
    WAIT_STAT (zs, peers, <, 2);
    st = stats (zs);
    ok (st.oversized == 1, "6: its connection is closed as oversized (%llu)",
        (unsigned long long)st.oversized);
    ok (st.peers == 1, "6: one peer left (%u)", st.peers);
    ok (zr_quiet (zs), "6: nothing of the large frame is received");
    pattern (big, 1024, 8);
    ok (zmq_send (okp, big, 1024, 0) == 1024, "6: the other sends a frame of exactly maxmsg");
    rc = zr_recv (zs, part, NMAX, &n, WAIT_MS);
    ok (rc == 0 && n == 2 && frame_is_str (&part[0], "ok-peer") && frame_is (&part[1], big, 1024),
        "6: it is received");
    if (rc == 0)
        parts_close (part, n);
    {
        const char *r[] = {"still-here"};
        ok (zr_send (zs, "ok-peer", 7, 1, r) == 0 && dl_gets (zs, okp, r[0]),
            "6: and the other gets replies");
    }
    ok (stats (zs).oversized == 1, "6: oversized stays 1");
    zmq_close (okp);
    zmq_close (bigp);
    zpar__zrouter_destroy (zs);
    free (big);
    free (exp);
}

/* 7: more frames than ZPAR_ZROUTER_PARTS. */
static void check_parts (zpar_zrouter_t *z, void *a)
{
    const char *f[] = {"f1",  "f2",  "f3",  "f4",  "f5",  "f6",  "f7",  "f8",  "f9",  "f10",
                       "f11", "f12", "f13", "f14", "f15", "f16", "f17", "f18", "f19", "f20"};
    const char *next[] = {"next"};
    zmq_msg_t part[NMAX];
    int n, rc, good;

    /* identity + 8 frames: one more than kept */
    ok (dl_send (a, ZPAR_ZROUTER_PARTS, f) == 0, "7: a message of %d frames (with the identity)",
        ZPAR_ZROUTER_PARTS + 1);
    errno = 0;
    rc = zr_recv (z, part, NMAX, &n, WAIT_MS);
    ok (rc == -1 && errno == EPROTO && n == 0, "7: it is EPROTO (rc %d, %s, %d frames)", rc,
        strerror (errno), n);
    if (rc == 0)
        parts_close (part, n);
    ok (dl_send (a, 1, next) == 0 && arrives_from (z, "peer-A", "next"),
        "7: the next message of the peer is received");

    ok (dl_send (a, 20, f) == 0, "7: a message of 21 frames");
    errno = 0;
    rc = zr_recv (z, part, NMAX, &n, WAIT_MS);
    ok (rc == -1 && errno == EPROTO, "7: it is EPROTO (%s)", strerror (errno));
    if (rc == 0)
        parts_close (part, n);

    /* identity + 7 frames: all kept */
    ok (dl_send (a, ZPAR_ZROUTER_PARTS - 1, f) == 0, "7: a message of %d frames",
        ZPAR_ZROUTER_PARTS);
    rc = zr_recv (z, part, NMAX, &n, WAIT_MS);
    good = rc == 0 && n == ZPAR_ZROUTER_PARTS && frame_is_str (&part[0], "peer-A");
    for (int i = 1; good && i < n; i++)
        good = frame_is_str (&part[i], f[i - 1]);
    ok (good, "7: it is received whole (%d frames)", rc == 0 ? n : 0);
    if (rc == 0)
        parts_close (part, n);

    /* fewer room than frames at the receive */
    ok (dl_send (a, 3, f) == 0, "7: a message of 4 frames");
    errno = 0;
    rc = zr_recv (z, part, 2, &n, WAIT_MS);
    ok (rc == -1 && errno == EPROTO, "7: received into room for 2 it is EPROTO (%s)",
        strerror (errno));
    if (rc == 0)
        parts_close (part, n);
    ok (dl_send (a, 1, next) == 0 && arrives_from (z, "peer-A", "next"),
        "7: the next message of the peer is received");
}

/* 8: peers that do not speak ZMTP 3 NULL. */
static void check_garbage (zpar_zrouter_t *z, const char *ep)
{
    unsigned char junk[64], g[64];
    zpar_zrouter_stats_t s0;
    int fd;

    WAIT_STAT (z, peers, <=, 1);
    s0 = stats (z);

    memset (junk, 'G', sizeof (junk));
    memcpy (junk, "GET / HTTP/1.0\r\n", 16);
    fd = raw_connect (ep, 0);
    ok (fd >= 0 && send (fd, junk, sizeof (junk), MSG_NOSIGNAL) == (ssize_t)sizeof (junk),
        "8: a raw connection writes 64 bytes of junk");
    ok (fd >= 0 && raw_closed (z, fd), "8: it is closed");
    ok (stats (z).refused > s0.refused, "8: counted as refused (%llu -> %llu)",
        (unsigned long long)s0.refused, (unsigned long long)stats (z).refused);
    if (fd >= 0)
        close (fd);

    s0 = stats (z);
    greeting (g, "CURVE");
    fd = raw_connect (ep, 0);
    ok (fd >= 0 && send (fd, g, sizeof (g), MSG_NOSIGNAL) == (ssize_t)sizeof (g),
        "8: a raw connection greets with the CURVE mechanism");
    ok (fd >= 0 && raw_closed (z, fd), "8: it is closed");
    ok (stats (z).refused > s0.refused, "8: counted as refused");
    if (fd >= 0)
        close (fd);

    s0 = stats (z);
    {
        unsigned char out[256];
        size_t len = greeting (out, "NULL");
        len += ready (out + len, "PUB", "pub");
        fd = raw_connect (ep, 0);
        ok (fd >= 0 && send (fd, out, len, MSG_NOSIGNAL) == (ssize_t)len,
            "8: a raw connection says it is a PUB socket");
    }
    ok (fd >= 0 && raw_closed (z, fd), "8: it is closed");
    ok (stats (z).refused > s0.refused, "8: counted as refused");
    if (fd >= 0)
        close (fd);
    ok (stats (z).peers == s0.peers, "8: peers stay %u", s0.peers);
}

/* 9: many messages at once, the receive queue's limit, and back. */
static void check_many (zpar_zrouter_t *z, const char *ep)
{
    enum { SIZE = 8 };
    /* a read of the shared buffer is parsed whole: at most this many
     * messages of SIZE bytes above the limit (2 bytes of header each) */
    const uint64_t slack = 65536 / (SIZE + 2) + 1;
    unsigned char buf[SIZE];
    void *d = zmq_socket (ctx, ZMQ_DEALER);
    int zero = 0, sent = 0, n, rc, in_order = 1, echoed = 0;
    uint32_t next = 0;
    uint64_t held;
    int64_t deadline;
    zmq_msg_t part[NMAX];

    zmq_setsockopt (d, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (d, ZMQ_SNDHWM, &zero, sizeof (zero));
    zmq_setsockopt (d, ZMQ_RCVHWM, &zero, sizeof (zero));
    zmq_setsockopt (d, ZMQ_ROUTING_ID, "many", 4);
    zmq_connect (d, ep);
    max_queued = 0;

    memset (buf, 'm', sizeof (buf));
    deadline = tap_now_ms () + WAIT_MS;
    while (sent < MANY && tap_now_ms () < deadline) {
        buf[0] = (unsigned char)(sent >> 24);
        buf[1] = (unsigned char)(sent >> 16);
        buf[2] = (unsigned char)(sent >> 8);
        buf[3] = (unsigned char)sent;
        if (zmq_send (d, buf, SIZE, ZMQ_DONTWAIT) == SIZE)
            sent++;
        else
            turn (z, 1);
    }
    ok (sent == MANY, "9: a DEALER sends %d messages without waiting", sent);

    /* nobody receives: the zrouter reads up to its limit, then no more */
    WAIT_STAT (z, queued, >=, (uint64_t)ZPAR_ZROUTER_QUEUE);
    held = stats (z).queued;
    ok (held >= ZPAR_ZROUTER_QUEUE, "9: %llu messages wait to be received",
        (unsigned long long)held);
    for (int i = 0; i < 50; i++)
        turn (z, 5);
    ok (stats (z).queued == held, "9: with the queue full nothing more is read (%llu)",
        (unsigned long long)stats (z).queued);

    /* receive them all, in order, and echo each */
    deadline = tap_now_ms () + 4 * WAIT_MS;
    while (next < MANY && tap_now_ms () < deadline) {
        if (zpar__zrouter_recv (z, part, NMAX, &n) < 0) {
            if (errno != EAGAIN) {
                diag ("receive %u: %s", next, strerror (errno));
                in_order = 0;
                break;
            }
            turn (z, tap_left_ms (deadline, 50));
            continue;
        }
        if (n != 2 || !frame_is_str (&part[0], "many") || zmq_msg_size (&part[1]) != SIZE) {
            diag ("message %u: %d frames", next, n);
            in_order = 0;
        } else {
            const unsigned char *p = zmq_msg_data (&part[1]);
            uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
            if (v != next && in_order) {
                diag ("message %u carries %u", next, v);
                in_order = 0;
            }
            if (zpar__zrouter_send (z, "many", 4, 1) == 0 &&
                zpar__zrouter_send (z, p, SIZE, 0) == 0)
                echoed++;
        }
        parts_close (part, n);
        next++;
    }
    ok (next == MANY && in_order, "9: all %u received, in order", next);
    ok (max_queued >= ZPAR_ZROUTER_QUEUE && max_queued <= ZPAR_ZROUTER_QUEUE + slack,
        "9: at most %llu waited (limit %d + %llu)", (unsigned long long)max_queued,
        ZPAR_ZROUTER_QUEUE, (unsigned long long)slack);
    ok (echoed == MANY, "9: %d echoed", echoed);

    next = 0;
    in_order = 1;
    while (next < MANY) {
        rc = dl_recv (z, d, part, NMAX, &n, WAIT_MS);
        if (rc < 0) {
            diag ("echo %u: %s", next, strerror (errno));
            break;
        }
        if (n != 1 || zmq_msg_size (&part[0]) != SIZE) {
            in_order = 0;
        } else {
            const unsigned char *p = zmq_msg_data (&part[0]);
            uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
            if (v != next && in_order) {
                diag ("echo %u carries %u", next, v);
                in_order = 0;
            }
        }
        parts_close (part, n);
        next++;
    }
    ok (next == MANY && in_order, "9: the DEALER receives all %u echoes, in order", next);
    ok (stats (z).queued == 0 && stats (z).out_pending == 0, "9: nothing is left waiting");
    zmq_close (d);
}

/* 10: peers that go away. */
static void check_gone (zpar_zrouter_t *z, const char *ep)
{
    const char *hello[] = {"hello"};
    zpar_zrouter_stats_t s0;
    unsigned char out[512];
    size_t len;
    void *d;
    int fd, rc;

    WAIT_STAT (z, peers, <=, 1);
    d = dealer (ep, "gone");
    ok (d && dl_send (d, 1, hello) == 0 && arrives_from (z, "gone", "hello"),
        "10: a peer is connected");
    s0 = stats (z);
    zmq_close (d);
    WAIT_STAT (z, peers, <, s0.peers);
    ok (stats (z).peers == s0.peers - 1, "10: closed, it is a peer no more (%u -> %u)", s0.peers,
        stats (z).peers);
    ok (stats (z).closed > s0.closed, "10: counted as closed");
    errno = 0;
    rc = zpar__zrouter_send (z, "gone", 4, 1);
    ok (rc == -1 && errno == EHOSTUNREACH, "10: sending to it is EHOSTUNREACH (%s)",
        strerror (errno));

    /* a peer whose last message and end of stream come together */
    s0 = stats (z);
    len = greeting (out, "NULL");
    len += ready (out + len, "DEALER", "half");
    out[len++] = 0; /* a short frame, last */
    out[len++] = 10;
    memcpy (out + len, "last words", 10);
    len += 10;
    fd = raw_connect (ep, 0);
    ok (fd >= 0 && send (fd, out, len, MSG_NOSIGNAL) == (ssize_t)len && shutdown (fd, SHUT_WR) == 0,
        "10: a raw ZMTP peer sends one message and ends its stream");
    ok (arrives_from (z, "half", "last words"), "10: its message is received");
    WAIT_STAT (z, peers, <=, s0.peers);
    ok (stats (z).peers == s0.peers, "10: and it is a peer no more (%u, was %u)", stats (z).peers,
        s0.peers);
    errno = 0;
    rc = zpar__zrouter_send (z, "half", 4, 1);
    ok (rc == -1 && errno == EHOSTUNREACH, "10: sending to it is EHOSTUNREACH (%s)",
        rc == 0 ? "sent" : strerror (errno));
    if (rc == 0)
        (void)zpar__zrouter_send (z, "x", 1, 0);
    if (fd >= 0)
        close (fd);
    d = dealer (ep, "half");
    ok (d && dl_send (d, 1, hello) == 0 && arrives_from (z, "half", "hello"),
        "10: a new peer takes its identity");
    zmq_close (d);
}

/* 11: the wire layer's calls on a zrouter. */
static void check_wire (zpar_zrouter_t *z, void *a)
{
    void *plain = zmq_socket (ctx, ZMQ_ROUTER);
    zmq_msg_t m, part[NMAX];
    zpar_frames_t f;
    int rc, n;

    ok (zpar__zrouter_of (z) == z, "11: zpar__zrouter_of a zrouter is itself");
    ok (plain && zpar__zrouter_of (plain) == NULL, "11: zpar__zrouter_of a libzmq socket is NULL");
    ok (zpar__zrouter_of (NULL) == NULL, "11: zpar__zrouter_of NULL is NULL");

    rc = zpar__sock_send (z, "peer-A", 6, ZMQ_SNDMORE);
    ok (rc == 6, "11: zpar__sock_send of the identity gives 6 (%d)", rc);
    zmq_msg_init_size (&m, 5);
    memcpy (zmq_msg_data (&m), "hello", 5);
    rc = zpar__sock_msg_send (&m, z, ZMQ_DONTWAIT);
    ok (rc == 5 && zmq_msg_size (&m) == 0,
        "11: zpar__sock_msg_send gives 5 and leaves the message empty (%d)", rc);
    zmq_msg_close (&m);
    rc = dl_recv (z, a, part, NMAX, &n, WAIT_MS);
    ok (rc == 0 && n == 1 && frame_is_str (&part[0], "hello"), "11: peer-A receives it");
    if (rc == 0)
        parts_close (part, n);

    errno = 0;
    rc = zpar__sock_send (z, "nobody", 6, ZMQ_SNDMORE);
    ok (rc == -1 && errno == EHOSTUNREACH, "11: zpar__sock_send to nobody is EHOSTUNREACH (%s)",
        strerror (errno));
    zmq_msg_init_size (&m, 6);
    memcpy (zmq_msg_data (&m), "nobody", 6);
    errno = 0;
    rc = zpar__sock_msg_send (&m, z, ZMQ_SNDMORE);
    ok (rc == -1 && errno == EHOSTUNREACH && zmq_msg_size (&m) == 6,
        "11: zpar__sock_msg_send to nobody is EHOSTUNREACH, the message kept");
    zmq_msg_close (&m);

    errno = 0;
    rc = zpar__frames_recv (z, &f, ZMQ_DONTWAIT);
    ok (rc == -1 && errno == EAGAIN, "11: zpar__frames_recv with nothing waiting is EAGAIN");
    ok (zpar__sock_send (a, "via-wire", 8, 0) == 8, "11: zpar__sock_send on a libzmq socket");
    {
        int64_t deadline = tap_now_ms () + WAIT_MS;
        while ((rc = zpar__frames_recv (z, &f, ZMQ_DONTWAIT)) < 0 && errno == EAGAIN &&
               tap_now_ms () < deadline)
            turn (z, tap_left_ms (deadline, 50));
    }
    ok (rc == 0 && f.n == 2 && frame_is_str (&f.part[0], "peer-A") &&
            frame_is_str (&f.part[1], "via-wire"),
        "11: zpar__frames_recv on the zrouter gives the message (%d frames)", rc == 0 ? f.n : 0);
    if (rc == 0)
        zpar__frames_close (&f);
    zmq_close (plain);
}

/* The first command named name in the stream s (len bytes, after the
 * greeting): its body's offset, or 0 when not there (yet). */
static size_t find_command (const unsigned char *s, size_t len, const char *name)
{
    size_t off = 64, nl = strlen (name);
    while (off + 2 <= len) {
        size_t hl = s[off] & 0x02 ? 9 : 2, sz = 0;
        if (off + hl > len)
            return 0;
        if (hl == 2)
            sz = s[off + 1];
        else
            for (int i = 0; i < 8; i++)
                sz = sz << 8 | s[off + 1 + i];
        if (off + hl + sz > len)
            return 0;
        if ((s[off] & 0x04) && sz > nl && s[off + hl] == nl && !memcmp (s + off + hl + 1, name, nl))
            return off + hl;
        off += hl + sz;
    }
    return 0;
}

/* 12: a peer that writes one byte at a time; PING. */
static void check_bytewise (zpar_zrouter_t *z, const char *ep)
{
    unsigned char out[1024], in[4096], big[300];
    size_t len, got = 0, pong = 0;
    int fd, one = 1, rc, n, wrote = 1;
    zmq_msg_t part[NMAX];
    int64_t deadline;

    pattern (big, sizeof (big), 12);
    len = greeting (out, "NULL");
    len += ready (out + len, "DEALER", "bytes");
    out[len++] = 0x01; /* short, more */
    out[len++] = 3;
    memcpy (out + len, "abc", 3);
    len += 3;
    out[len++] = 0x02; /* long, last */
    memset (out + len, 0, 6);
    out[len + 6] = sizeof (big) >> 8;
    out[len + 7] = sizeof (big) & 0xff;
    len += 8;
    memcpy (out + len, big, sizeof (big));
    len += sizeof (big);
    /* PING: TTL 0, context "ctx1" */
    out[len++] = 0x04;
    out[len++] = 11;
    memcpy (out + len, "\x04PING\0\0ctx1", 11);
    len += 11;

    fd = raw_connect (ep, 0);
    if (fd >= 0)
        (void)setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
    for (size_t i = 0; fd >= 0 && i < len && wrote; i++) {
        wrote = send (fd, out + i, 1, MSG_NOSIGNAL) == 1;
        turn (z, 20);
    }
    ok (fd >= 0 && wrote, "12: a raw ZMTP peer writes %zu bytes one at a time", len);
    rc = zr_recv (z, part, NMAX, &n, WAIT_MS);
    ok (rc == 0 && n == 3 && frame_is_str (&part[0], "bytes") && frame_is_str (&part[1], "abc") &&
            frame_is (&part[2], big, sizeof (big)),
        "12: its message [abc, 300 bytes] is received whole (%d frames)", rc == 0 ? n : 0);
    if (rc == 0)
        parts_close (part, n);

    deadline = tap_now_ms () + WAIT_MS;
    while (fd >= 0 && !(pong = find_command (in, got, "PONG")) && tap_now_ms () < deadline) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                              {.fd = zpar__zrouter_fd (z), .events = POLLIN}};
        ssize_t r;
        (void)poll (p, 2, tap_left_ms (deadline, 50));
        io (z);
        r = recv (fd, in + got, sizeof (in) - got, MSG_DONTWAIT);
        if (r > 0)
            got += (size_t)r;
        else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            break;
    }
    ok (got >= 64 && in[0] == 0xff && find_command (in, got, "READY"),
        "12: it is greeted and told READY (%zu bytes)", got);
    ok (pong && got >= pong + 9 && !memcmp (in + pong + 5, "ctx1", 4),
        "12: its PING is answered with PONG and its context");
    if (fd >= 0)
        close (fd);
}

/* A process holds at most 16 zrouters: the next bind says ENOSPC (its
 * caller binds a libzmq socket instead), and a slot given back is used
 * again. */
static void check_registry (void)
{
    zpar_zrouter_t *zs[17] = {0};
    zpar_error_t err;
    int n = 0, e = 0;
    for (n = 0; n < 17; n++) {
        char ep[256] = "tcp://127.0.0.1:*";
        if (!(zs[n] = zpar__zrouter_bind (ep, sizeof (ep), 1024, 1, &err))) {
            e = errno;
            break;
        }
    }
    ok (n == 16 && e == ENOSPC,
        "registry: 16 zrouters bound, the 17th refused with ENOSPC (%d, %s)", n, strerror (e));
    if (n > 0) {
        char ep[256] = "tcp://127.0.0.1:*";
        zpar__zrouter_destroy (zs[n - 1]);
        zs[n - 1] = zpar__zrouter_bind (ep, sizeof (ep), 1024, 1, &err);
        ok (zs[n - 1] != NULL && zpar__zrouter_of (zs[n - 1]) == zs[n - 1],
            "registry: a slot given back is used again");
    }
    for (int i = 0; i < 17; i++)
        zpar__zrouter_destroy (zs[i]);
}

int main (void)
{
    char ep[256];
    zpar_zrouter_t *z;
    void *a;

    plan (NO_PLAN);
    ctx = zmq_ctx_new ();
    check_bind ();
    check_registry ();

    /* the zrouter of most checks: mandatory, frames up to 2 MiB */
    z = bind_any (ep, sizeof (ep), 2 * BIG, 1);
    a = z ? dealer (ep, "peer-A") : NULL;
    if (!z || !a) {
        ok (0, "a zrouter and a DEALER");
        zmq_close (a);
        zpar__zrouter_destroy (z);
        zmq_ctx_term (ctx);
        return done_testing ();
    }
    check_identity (z, ep, a);
    check_twins (z, ep);
    check_unknown (z, a);
    check_large (z, ep);
    check_parts (z, a);
    check_garbage (z, ep);
    check_many (z, ep);
    check_gone (z, ep);
    check_wire (z, a);
    check_bytewise (z, ep);

    zmq_close (a);
    zpar__zrouter_destroy (z);
    zmq_ctx_term (ctx);
    return done_testing ();
}
