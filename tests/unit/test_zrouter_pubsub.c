/* test_zrouter_pubsub.c - the own-I/O socket's PUB and XSUB modes
 * (zrouter.h, zpar_zrouter_mode_t) against real libzmq peers over TCP:
 * a PUB's prefix filtering, multi-frame messages, unsubscribing, more
 * subscriptions than it keeps, a subscriber that stops reading (its
 * backlog, pub_dropped, the others unaffected), peers of a wrong socket
 * type; an XSUB's messages without an identity frame, its subscriptions
 * replayed to PUB peers that connect later and their counted cancels, the
 * connection a message came on (zpar__zrouter_last_src); and a ROUTER's
 * connections closed (zpar__zrouter_track_closed, zpar__zrouter_closed).
 *
 * The zrouter is driven as its owner drives it: poll(2) on its descriptor,
 * then zpar__zrouter_io.  Every wait has a deadline. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "tap.h"
#include "zrouter.h"

#define WAIT_MS  10000 /* for what must happen */
#define QUIET_MS 300   /* for what must not */
#define NMAX     16
#define MSG      1024 /* the size of a message of the backlog check */

static void *ctx;

static void io (zpar_zrouter_t *z)
{
    if (zpar__zrouter_io (z) < 0)
        diag ("zpar__zrouter_io: %s", strerror (errno));
}

#include "zrouter_tap.h"

/* Turn z until the condition holds or WAIT_MS passed. */
#define TURN_UNTIL(z, cond)                                                                        \
    do {                                                                                           \
        int64_t dl_ = tap_now_ms () + WAIT_MS;                                                     \
        while (!(cond) && tap_now_ms () < dl_)                                                     \
            turn ((z), tap_left_ms (dl_, 50));                                                     \
    } while (0)

/* Receive and drop what s has until it is quiet for QUIET_MS. */
static void zs_drain (zpar_zrouter_t *z, void *s)
{
    zmq_msg_t part[NMAX];
    int n;
    while (dl_recv (z, s, part, NMAX, &n, QUIET_MS) == 0)
        parts_close (part, n);
}

/* Receive and drop what z has until it is quiet for QUIET_MS. */
static void zr_drain (zpar_zrouter_t *z)
{
    zmq_msg_t part[NMAX];
    int n;
    while (zr_recv (z, part, NMAX, &n, QUIET_MS) == 0)
        parts_close (part, n);
}

/* z receives exactly the one-frame message str next; *src: where it came
 * from (may be NULL). */
static int zr_gets (zpar_zrouter_t *z, const char *str, int *src)
{
    zmq_msg_t part[NMAX];
    int n, good;
    if (zr_recv (z, part, NMAX, &n, WAIT_MS) < 0) {
        diag ("%s: %s", str, strerror (errno));
        return 0;
    }
    good = n == 1 && frame_is_str (&part[0], str);
    if (!good)
        diag ("waited for %s: got %d frames, the first \"%.*s\"", str, n,
              (int)zmq_msg_size (&part[0]), (const char *)zmq_msg_data (&part[0]));
    if (src)
        *src = zpar__zrouter_last_src (z);
    parts_close (part, n);
    return good;
}

/* Send the n frames f[] through z (PUB, XSUB: no identity frame). */
static int zr_send (zpar_zrouter_t *z, int n, const char *const *f)
{
    for (int i = 0; i < n; i++)
        if (zpar__zrouter_send (z, f[i], strlen (f[i]), i < n - 1) < 0)
            return -1;
    return 0;
}

static int zr_send1 (zpar_zrouter_t *z, const char *s)
{
    return zr_send (z, 1, &s);
}

/* A one-frame subscription (on 1) or cancel (on 0) of prefix t, through
 * an XSUB zrouter or a libzmq XSUB. */
static int zr_sub (zpar_zrouter_t *z, int on, const char *t)
{
    unsigned char f[64];
    size_t len = strlen (t);
    f[0] = on ? 1 : 0;
    memcpy (f + 1, t, len);
    return zpar__zrouter_send (z, f, len + 1, 0);
}

static int zs_sub (void *s, int on, const char *t)
{
    unsigned char f[64];
    size_t len = strlen (t);
    f[0] = on ? 1 : 0;
    memcpy (f + 1, t, len);
    return zmq_send (s, f, len + 1, 0) == (int)(len + 1) ? 0 : -1;
}

/* A libzmq socket of the given type, linger 0, connected to ep. */
static void *peer (int type, const char *ep)
{
    int zero = 0;
    void *s = zmq_socket (ctx, type);
    if (!s)
        return NULL;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    if (zmq_connect (s, ep) < 0) {
        zmq_close (s);
        return NULL;
    }
    return s;
}

/* A SUB connected to ep, subscribed to prefix t (NULL: to nothing). */
static void *sub (const char *ep, const char *t)
{
    void *s = peer (ZMQ_SUB, ep);
    if (s && t)
        zmq_setsockopt (s, ZMQ_SUBSCRIBE, t, strlen (t));
    return s;
}

static zpar_zrouter_t *bind_mode (char *ep, size_t size, zpar_zrouter_mode_t mode)
{
    zpar_error_t err;
    zpar_zrouter_t *z;
    snprintf (ep, size, "tcp://127.0.0.1:*");
    if (!(z = zpar__zrouter_bind_mode (ep, size, 2 * 1024 * 1024, mode, 0, &err)))
        diag ("bind: %s", err.text);
    return z;
}

/* A PUB zrouter's subscriber s has its subscription in place: z publishes
 * probe until s receives one (then what else s has is dropped).  1 when
 * it did within WAIT_MS. */
static int sub_ready (zpar_zrouter_t *z, void *s, const char *probe)
{
    int64_t deadline = tap_now_ms () + WAIT_MS;
    zmq_msg_t part[NMAX];
    int n;
    while (tap_now_ms () < deadline) {
        if (zr_send1 (z, probe) < 0)
            return 0;
        if (dl_recv (z, s, part, NMAX, &n, 20) == 0) {
            parts_close (part, n);
            zs_drain (z, s);
            return 1;
        }
    }
    diag ("no %s came", probe);
    return 0;
}

/* An XSUB zrouter's subscription reached the libzmq PUB p: p publishes
 * probe until z receives one (then what else z has is dropped). */
static int pub_ready (zpar_zrouter_t *z, void *p, const char *probe)
{
    int64_t deadline = tap_now_ms () + WAIT_MS;
    zmq_msg_t part[NMAX];
    int n;
    while (tap_now_ms () < deadline) {
        if (zmq_send (p, probe, strlen (probe), 0) < 0)
            return 0;
        if (zr_recv (z, part, NMAX, &n, 20) == 0) {
            parts_close (part, n);
            zr_drain (z);
            return 1;
        }
    }
    diag ("no %s came", probe);
    return 0;
}

/* ------------------------------------------------------------ checks */

/* 1: a PUB and its SUBs: prefixes, frames, unsubscribing, broadcast. */
static void check_pub (zpar_zrouter_t *z, const char *ep)
{
    const char *three[] = {"abc", "two", "three-three"};
    void *all = sub (ep, ""), *ab = sub (ep, "ab"), *none = sub (ep, NULL);
    void *xab = peer (ZMQ_XSUB, ep);
    zmq_msg_t part[NMAX];
    unsigned char *big = malloc (200000);
    int n, rc;

    ok (all && ab && none && xab && big, "1: SUB peers (\"\", \"ab\", none) and an XSUB connect");
    if (!all || !ab || !none || !xab || !big)
        goto out;
    ok (zs_sub (xab, 1, "ab") == 0, "1: the XSUB subscribes to \"ab\" by a message");
    ok (sub_ready (z, all, "probe"), "1: the SUB of \"\" receives a probe");
    ok (sub_ready (z, ab, "ab-probe"), "1: the SUB of \"ab\" receives an ab probe");
    ok (sub_ready (z, xab, "ab-probe"), "1: the XSUB of \"ab\" receives an ab probe");
    zs_drain (z, all);
    zs_drain (z, ab);
    zs_drain (z, none);
    TURN_UNTIL (z, stats (z).peers >= 4);
    ok (stats (z).peers == 4, "1: 4 peers (%u)", stats (z).peers);

    ok (zr_send (z, 3, three) == 0, "1: [abc, two, three-three] published");
    for (int i = 0; i < 3; i++) {
        void *s = i == 0 ? all : i == 1 ? ab : xab;
        const char *who = i == 0 ? "\"\"" : i == 1 ? "\"ab\"" : "the XSUB's \"ab\"";
        rc = dl_recv (z, s, part, NMAX, &n, WAIT_MS);
        ok (rc == 0 && n == 3 && frame_is_str (&part[0], three[0]) &&
                frame_is_str (&part[1], three[1]) && frame_is_str (&part[2], three[2]),
            "1: the subscriber of %s receives it, its 3 frames intact (%d frames)", who,
            rc == 0 ? n : 0);
        if (rc == 0)
            parts_close (part, n);
    }

    for (size_t i = 0; i < 200000; i++)
        big[i] = (unsigned char)(i * 7 + i / 251);
    memcpy (big, "big", 3);
    rc = zpar__zrouter_send (z, "big", 3, 1);
    if (rc == 0)
        rc = zpar__zrouter_send (z, big, 200000, 0);
    ok (rc == 0, "1: [big, 200000 bytes] published");
    rc = dl_recv (z, all, part, NMAX, &n, WAIT_MS);
    ok (rc == 0 && n == 2 && frame_is_str (&part[0], "big") && frame_is (&part[1], big, 200000),
        "1: the SUB of \"\" receives it whole (%d frames)", rc == 0 ? n : 0);
    if (rc == 0)
        parts_close (part, n);

    ok (zr_send1 (z, "xy") == 0 && zr_send1 (z, "ab-end") == 0, "1: xy, then ab-end published");
    ok (dl_gets (z, all, "xy") && dl_gets (z, all, "ab-end"),
        "1: the SUB of \"\" receives xy and ab-end");
    ok (dl_gets (z, ab, "ab-end"), "1: the SUB of \"ab\" receives ab-end, not xy before it");
    ok (dl_gets (z, xab, "ab-end"),
        "1: the XSUB of \"ab\" (which does not filter) receives ab-end, not xy: the PUB filtered");
    ok (dl_quiet (z, none), "1: the SUB of nothing receives nothing");
    ok (dl_quiet (z, ab) && dl_quiet (z, xab), "1: nor the others anything more");

    /* unsubscribing, and a new prefix to know when it took effect */
    zmq_setsockopt (ab, ZMQ_UNSUBSCRIBE, "ab", 2);
    zmq_setsockopt (ab, ZMQ_SUBSCRIBE, "zz", 2);
    ok (sub_ready (z, ab, "zz-probe"), "1: the SUB unsubscribes \"ab\" and subscribes \"zz\"");
    zs_drain (z, all);
    ok (zr_send1 (z, "ab-gone") == 0 && zr_send1 (z, "zz-end") == 0,
        "1: ab-gone, then zz-end published");
    ok (dl_gets (z, ab, "zz-end"), "1: it receives zz-end, not ab-gone before it");
    ok (dl_gets (z, xab, "ab-gone") && dl_quiet (z, xab),
        "1: the XSUB of \"ab\" receives ab-gone only");
    ok (dl_gets (z, all, "ab-gone") && dl_gets (z, all, "zz-end"),
        "1: the SUB of \"\" receives both");

    ok (zs_sub (xab, 0, "ab") == 0 && zs_sub (xab, 1, "zz") == 0,
        "1: the XSUB cancels \"ab\" and subscribes \"zz\" by messages");
    ok (sub_ready (z, xab, "zz-probe"), "1: it receives a zz probe");
    ok (zr_send1 (z, "ab-gone2") == 0 && zr_send1 (z, "zz-end2") == 0 &&
            dl_gets (z, xab, "zz-end2"),
        "1: the PUB sends it zz-end2, not ab-gone2 before it");

    for (int i = 0; i < 20; i++)
        turn (z, 5);
    errno = 0;
    rc = zpar__zrouter_recv (z, part, NMAX, &n);
    ok (rc == -1 && errno == EAGAIN && stats (z).queued == 0,
        "1: a PUB receives nothing though its peers sent subscriptions (%s, %llu queued)",
        rc == 0 ? "a message" : strerror (errno), (unsigned long long)stats (z).queued);
    if (rc == 0)
        parts_close (part, n);
out:
    free (big);
    zmq_close (all);
    zmq_close (ab);
    zmq_close (none);
    zmq_close (xab);
}

/* 2: a subscriber of more prefixes than a PUB keeps gets what its
 * subscriptions accept (a SUB) or everything (an XSUB). */
static void check_many_subs (zpar_zrouter_t *z, const char *ep)
{
    void *s = sub (ep, NULL), *x = peer (ZMQ_XSUB, ep);
    char t[16];

    ok (s && x, "2: a SUB and an XSUB connect");
    if (!s || !x)
        goto out;
    for (int i = 0; i <= ZPAR_ZROUTER_SUBS; i++) {
        snprintf (t, sizeof (t), "k%02d", i);
        zmq_setsockopt (s, ZMQ_SUBSCRIBE, t, strlen (t));
        (void)zs_sub (x, 1, t);
    }
    snprintf (t, sizeof (t), "k%02d-probe", ZPAR_ZROUTER_SUBS);
    ok (sub_ready (z, s, t), "2: the SUB of %d prefixes receives a message of its last (%s)",
        ZPAR_ZROUTER_SUBS + 1, t);
    ok (sub_ready (z, x, t), "2: so does the XSUB of as many");
    zs_drain (z, s);
    snprintf (t, sizeof (t), "k%02d-x", ZPAR_ZROUTER_SUBS);
    ok (zr_send1 (z, t) == 0 && dl_gets (z, s, t) && dl_gets (z, x, t), "2: %s reaches both", t);
    ok (zr_send1 (z, "k05-x") == 0 && dl_gets (z, s, "k05-x") && dl_gets (z, x, "k05-x"),
        "2: k05-x (an early prefix) reaches both");
    ok (zr_send1 (z, "other") == 0 && zr_send1 (z, "k00-end") == 0,
        "2: other, then k00-end published");
    ok (dl_gets (z, s, "k00-end"), "2: the SUB receives k00-end, not other: its SUB filters");
    ok (dl_gets (z, x, "other") && dl_gets (z, x, "k00-end"),
        "2: the XSUB receives both: beyond %d prefixes a peer gets everything", ZPAR_ZROUTER_SUBS);
out:
    zmq_close (s);
    zmq_close (x);
}

/* What a ZMTP 3.0 peer of socket type type (3 letters) says when it
 * connects: the NULL greeting, READY with its Socket-Type; then, when sub,
 * the frame [1] (a subscription to everything). */
static size_t raw_hello (unsigned char *p, const char *type, int sub)
{
    static const char prop[] = "Socket-Type";
    size_t n = 64, start, tl = strlen (type);
    memset (p, 0, 64);
    p[0] = 0xff;
    p[9] = 0x7f;
    p[10] = 3;
    memcpy (p + 12, "NULL", 4);
    start = n;
    p[n++] = 0x04; /* a short command */
    p[n++] = 0;    /* its size, below */
    p[n++] = 5;
    memcpy (p + n, "READY", 5);
    n += 5;
    p[n++] = sizeof (prop) - 1;
    memcpy (p + n, prop, sizeof (prop) - 1);
    n += sizeof (prop) - 1;
    p[n++] = 0;
    p[n++] = 0;
    p[n++] = 0;
    p[n++] = (unsigned char)tl;
    memcpy (p + n, type, tl);
    n += tl;
    p[start + 1] = (unsigned char)(n - start - 2);
    if (sub) {
        p[n++] = 0x00; /* a short frame, last */
        p[n++] = 1;
        p[n++] = 1; /* subscribe, to the empty prefix */
    }
    return n;
}

/* 3: a subscriber that stops reading costs its backlog, not the others. */
static void check_stopped (void)
{
    enum { PHASE_B = 600, STEP = 16 };
    char ep[256];
    zpar_zrouter_t *z = bind_mode (ep, sizeof (ep), ZPAR_ZROUTER_PUB);
    unsigned char hello[128], msg[MSG];
    const uint64_t bound = ZPAR_ZROUTER_PUB_BACKLOG + MSG + 9; /* 9: a long frame's header */
    uint64_t max_pending = 0, d0;
    size_t len;
    int fd = -1, sent = 0, got = 0, zero = 0, n;
    int64_t deadline;
    void *s = NULL;
    zmq_msg_t part[NMAX];

    ok (z != NULL, "3: a PUB zrouter");
    if (!z)
        return;
    len = raw_hello (hello, "SUB", 1);
    fd = raw_connect (ep, 4096);
    ok (fd >= 0 && send (fd, hello, len, MSG_NOSIGNAL) == (ssize_t)len,
        "3: a raw ZMTP SUB (4 KiB receive buffer) subscribes to everything, then reads no more");
    TURN_UNTIL (z, stats (z).peers >= 1);
    ok (stats (z).peers == 1, "3: it is a peer");

    /* publish until it lost some, then as much again */
    memset (msg, 'm', sizeof (msg));
    deadline = tap_now_ms () + WAIT_MS;
    while (sent < 20000 && tap_now_ms () < deadline) {
        uint64_t p;
        if (zpar__zrouter_send (z, msg, sizeof (msg), 0) < 0)
            break;
        sent++;
        turn (z, 0);
        if ((p = stats (z).out_pending) > max_pending)
            max_pending = p;
        if (stats (z).pub_dropped > 0 && stats (z).pub_dropped >= (uint64_t)sent / 2 && sent > 2000)
            break;
    }
    ok (stats (z).pub_dropped > 0, "3: of %d messages of %d bytes it lost %llu", sent, MSG,
        (unsigned long long)stats (z).pub_dropped);
    ok (max_pending > 0 && max_pending <= bound,
        "3: at most %llu bytes waited for it (backlog %d + a message: %llu)",
        (unsigned long long)max_pending, ZPAR_ZROUTER_PUB_BACKLOG, (unsigned long long)bound);

    /* a SUB that reads, meanwhile */
    s = peer (ZMQ_SUB, ep);
    if (s) {
        zmq_setsockopt (s, ZMQ_RCVHWM, &zero, sizeof (zero));
        zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0);
    }
    ok (s && sub_ready (z, s, "probe"), "3: a SUB that reads connects");
    d0 = stats (z).pub_dropped;
    max_pending = 0;
    sent = 0;
    deadline = tap_now_ms () + 3 * WAIT_MS;
    while (s && sent < PHASE_B && tap_now_ms () < deadline) {
        uint64_t p;
        msg[0] = (unsigned char)(sent >> 8);
        msg[1] = (unsigned char)sent;
        if (zpar__zrouter_send (z, msg, sizeof (msg), 0) < 0)
            break;
        sent++;
        turn (z, 0);
        if ((p = stats (z).out_pending) > max_pending)
            max_pending = p;
        /* every STEP messages, the reader catches up */
        while (got < sent && (sent % STEP == 0 || sent == PHASE_B) &&
               dl_recv (z, s, part, NMAX, &n, WAIT_MS) == 0) {
            const unsigned char *d = zmq_msg_data (&part[0]);
            int good = n == 1 && zmq_msg_size (&part[0]) == MSG &&
                       d[0] == (unsigned char)(got >> 8) && d[1] == (unsigned char)got;
            if (!good)
                diag ("message %d: %d frames of %zu bytes", got, n, zmq_msg_size (&part[0]));
            parts_close (part, n);
            if (!good)
                break;
            got++;
        }
    }
    ok (sent == PHASE_B && got == PHASE_B, "3: the SUB that reads receives all %d of %d, in order",
        got, sent);
    ok (s && zr_send1 (z, "last") == 0 && dl_gets (z, s, "last"),
        "3: and the last message published");
    ok (stats (z).pub_dropped >= d0 + PHASE_B,
        "3: the stopped peer lost them all meanwhile (%llu more lost)",
        (unsigned long long)(stats (z).pub_dropped - d0));
    ok (max_pending <= 2 * bound, "3: at most %llu bytes waited over both peers",
        (unsigned long long)max_pending);
    ok (stats (z).peers == 2, "3: both are peers still (%u)", stats (z).peers);
    zmq_close (s);
    if (fd >= 0)
        close (fd);
    zpar__zrouter_destroy (z);
}

/* 4: peers of a wrong socket type are refused.  A libzmq peer gives up
 * itself when it reads the zrouter's READY (before it sends its own); a raw
 * one sends its READY first and is refused by the zrouter. */
static void check_wrong_type (void)
{
    char ep[256], ep2[256];
    zpar_zrouter_t *zp = bind_mode (ep, sizeof (ep), ZPAR_ZROUTER_PUB);
    zpar_zrouter_t *zx = bind_mode (ep2, sizeof (ep2), ZPAR_ZROUTER_XSUB);
    unsigned char hello[128];
    size_t len;
    void *d = NULL, *s = NULL;
    int fd;

    ok (zp && zx, "4: a PUB and an XSUB zrouter");
    if (!zp || !zx)
        goto out;
    d = peer (ZMQ_DEALER, ep);
    TURN_UNTIL (zp, stats (zp).accepted > 0 && stats (zp).closed == stats (zp).accepted);
    ok (d && stats (zp).accepted > 0 && stats (zp).closed == stats (zp).accepted,
        "4: a libzmq DEALER connecting to the PUB is closed (accepted %llu, closed %llu)",
        (unsigned long long)stats (zp).accepted, (unsigned long long)stats (zp).closed);
    ok (zr_send1 (zp, "to-all") == 0 && dl_quiet (zp, d), "4: it receives nothing published");
    ok (stats (zp).peers == 0, "4: the PUB has no peer (%u)", stats (zp).peers);

    s = sub (ep2, "");
    TURN_UNTIL (zx, stats (zx).accepted > 0 && stats (zx).closed == stats (zx).accepted);
    ok (s && stats (zx).accepted > 0 && stats (zx).closed == stats (zx).accepted,
        "4: a libzmq SUB connecting to the XSUB is closed (accepted %llu, closed %llu)",
        (unsigned long long)stats (zx).accepted, (unsigned long long)stats (zx).closed);
    ok (zr_send1 (zx, "to-all") == 0 && dl_quiet (zx, s), "4: it receives nothing sent");
    ok (stats (zx).peers == 0, "4: the XSUB has no peer (%u)", stats (zx).peers);

    for (int i = 0; i < 2; i++) {
        zpar_zrouter_t *z = i ? zx : zp;
        const char *type = i ? "SUB" : "DEALER";
        uint64_t r0 = stats (z).refused;
        len = raw_hello (hello, type, i);
        fd = raw_connect (i ? ep2 : ep, 65536);
        ok (fd >= 0 && send (fd, hello, len, MSG_NOSIGNAL) == (ssize_t)len,
            "4: a raw ZMTP peer says it is a %s to the %s", type, i ? "XSUB" : "PUB");
        ok (fd >= 0 && raw_closed (z, fd), "4: the zrouter closes it");
        ok (stats (z).refused > r0 && stats (z).peers == 0,
            "4: counted as refused (%llu -> %llu), no peer", (unsigned long long)r0,
            (unsigned long long)stats (z).refused);
        if (fd >= 0)
            close (fd);
    }
out:
    zmq_close (d);
    zmq_close (s);
    zpar__zrouter_destroy (zp);
    zpar__zrouter_destroy (zx);
}

/* 5: an XSUB and its PUB peers. */
static void check_xsub (void)
{
    char ep[256];
    zpar_zrouter_t *z = bind_mode (ep, sizeof (ep), ZPAR_ZROUTER_XSUB);
    const char *three[] = {"m1", "frame-two", "frame-three"};
    void *p1 = NULL, *p2 = NULL;
    zmq_msg_t part[NMAX];
    int n, rc, src1 = -1, src1b = -1, src2 = -1, twice = 0, t1 = 0;
    int64_t deadline;

    ok (z != NULL, "5: an XSUB zrouter");
    if (!z)
        return;
    ok (zpar__zrouter_last_src (z) == -1, "5: last_src is -1 before anything was received");
    ok (zr_sub (z, 1, "") == 0, "5: it subscribes to everything before any peer connects");
    p1 = peer (ZMQ_PUB, ep);
    ok (p1 && pub_ready (z, p1, "probe"), "5: a PUB that connects later is told: its probe comes");
    if (!p1)
        goto out;

    for (int i = 0; i < 3; i++)
        zmq_send (p1, three[i], strlen (three[i]), i < 2 ? ZMQ_SNDMORE : 0);
    rc = zr_recv (z, part, NMAX, &n, WAIT_MS);
    ok (rc == 0 && n == 3 && frame_is_str (&part[0], three[0]) &&
            frame_is_str (&part[1], three[1]) && frame_is_str (&part[2], three[2]),
        "5: [m1, frame-two, frame-three] arrives as sent, no identity frame (%d frames)",
        rc == 0 ? n : 0);
    if (rc == 0) {
        src1 = zpar__zrouter_last_src (z);
        parts_close (part, n);
    }
    ok (src1 > 0, "5: last_src names its connection (%d)", src1);
    rc = zmq_send (p1, "m2", 2, 0) == 2 && zr_gets (z, "m2", &src1b);
    ok (rc && src1b == src1, "5: a second message of that PUB has the same last_src (%d)", src1b);

    /* only t1 now: once two t1 probes come in a row, the cancel of ""
     * took effect (a t2 probe went between them) */
    ok (zr_sub (z, 0, "") == 0 && zr_sub (z, 1, "t1") == 0,
        "5: it cancels \"\" and subscribes to \"t1\"");
    deadline = tap_now_ms () + WAIT_MS;
    while (!twice && tap_now_ms () < deadline) {
        zmq_send (p1, "t2-probe", 8, 0);
        zmq_send (p1, "t1-probe", 8, 0);
        while (zr_recv (z, part, NMAX, &n, 20) == 0) {
            int is_t1 = n == 1 && frame_is_str (&part[0], "t1-probe");
            twice = twice || (is_t1 && t1);
            t1 = is_t1;
            parts_close (part, n);
        }
    }
    ok (twice, "5: the PUB stops sending t2");
    zr_drain (z);
    ok (zmq_send (p1, "t2-late", 7, 0) == 7 && zmq_send (p1, "t1-late", 7, 0) == 7 &&
            zr_gets (z, "t1-late", NULL),
        "5: t2-late, then t1-late sent: t1-late arrives, not t2-late before it");
    ok (zr_quiet (z), "5: nothing more");

    p2 = peer (ZMQ_PUB, ep);
    ok (p2 && pub_ready (z, p2, "t1-from-2"),
        "5: a second PUB that connects after is told \"t1\": its t1 probe comes");
    if (!p2)
        goto out;
    rc = zmq_send (p2, "t2-late2", 8, 0) == 8 && zmq_send (p2, "t1-late2", 8, 0) == 8 &&
         zr_gets (z, "t1-late2", &src2);
    ok (rc, "5: and not t2: t1-late2 arrives, not t2-late2 before it");
    ok (src2 > 0 && src2 != src1, "5: last_src differs between the two PUBs (%d, %d)", src1, src2);
    rc = zmq_send (p1, "t1-again", 8, 0) == 8 && zr_gets (z, "t1-again", &src1b);
    ok (rc && src1b == src1, "5: the first PUB's message again has its last_src (%d)", src1b);

    /* counted: two subscriptions, one cancel: still subscribed */
    ok (zr_sub (z, 1, "t3") == 0 && zr_sub (z, 1, "t3") == 0 && zr_sub (z, 0, "t3") == 0 &&
            zr_sub (z, 1, "sync3") == 0,
        "5: \"t3\" subscribed twice, cancelled once (then \"sync3\")");
    ok (pub_ready (z, p1, "sync3"), "5: the first PUB has them");
    ok (pub_ready (z, p2, "sync3"), "5: and the second");
    ok (zmq_send (p1, "t3-1", 4, 0) == 4 && zr_gets (z, "t3-1", NULL),
        "5: t3 still arrives from the first");
    ok (zmq_send (p2, "t3-2", 4, 0) == 4 && zr_gets (z, "t3-2", NULL), "5: and from the second");
    ok (zr_sub (z, 0, "t3") == 0 && zr_sub (z, 1, "sync4") == 0,
        "5: \"t3\" cancelled again (then \"sync4\")");
    ok (pub_ready (z, p1, "sync4") && pub_ready (z, p2, "sync4"), "5: both PUBs have it");
    ok (zmq_send (p1, "t3-gone", 7, 0) == 7 && zmq_send (p1, "t1-after", 8, 0) == 8 &&
            zr_gets (z, "t1-after", NULL),
        "5: t3 no more: t1-after arrives, not t3-gone before it");
    ok (zmq_send (p2, "t3-gone2", 8, 0) == 8 && zr_quiet (z), "5: nor from the second");
    ok (stats (z).peers == 2, "5: 2 peers (%u)", stats (z).peers);
out:
    zmq_close (p1);
    zmq_close (p2);
    zpar__zrouter_destroy (z);
}

/* Turn z until zpar__zrouter_closed gives something, or ms passed: how
 * many it gave (into src). */
static int closed_within (zpar_zrouter_t *z, int *src, int max, int ms)
{
    int64_t deadline = tap_now_ms () + ms;
    int n;
    while ((n = zpar__zrouter_closed (z, src, max)) == 0 && tap_now_ms () < deadline)
        turn (z, tap_left_ms (deadline, 50));
    return n;
}

/* 6: a ROUTER's connections closed, for the owner. */
static void check_closed (void)
{
    char ep[256];
    zpar_zrouter_t *z = bind_mode (ep, sizeof (ep), ZPAR_ZROUTER_ROUTER);
    void *a = NULL, *b = NULL, *c = NULL;
    zmq_msg_t part[NMAX];
    int src[8], sa = -1, sb = -1, sc = -1, n, rc, got;
    uint64_t c0;

    ok (z != NULL, "6: a ROUTER zrouter");
    if (!z)
        return;

    /* not tracked */
    c = peer (ZMQ_DEALER, ep);
    rc = c ? (int)zmq_send (c, "from-c", 6, 0) : -1;
    if (rc >= 0 && (rc = zr_recv (z, part, NMAX, &n, WAIT_MS)) == 0) {
        sc = zpar__zrouter_last_src (z);
        parts_close (part, n);
    }
    ok (rc == 0 && sc > 0, "6: a DEALER's message is received (src %d)", sc);
    c0 = stats (z).closed;
    zmq_close (c);
    TURN_UNTIL (z, stats (z).closed > c0);
    ok (stats (z).closed > c0, "6: it closes");
    ok (closed_within (z, src, 8, QUIET_MS) == 0, "6: without track_closed nothing is returned");

    zpar__zrouter_track_closed (z, 1);
    a = peer (ZMQ_DEALER, ep);
    b = peer (ZMQ_DEALER, ep);
    ok (a && b && zmq_send (a, "from-a", 6, 0) == 6 && zmq_send (b, "from-b", 6, 0) == 6,
        "6: two DEALERs send a message each");
    for (int i = 0; i < 2; i++) {
        rc = zr_recv (z, part, NMAX, &n, WAIT_MS);
        if (rc == 0 && n == 2 && frame_is_str (&part[1], "from-a"))
            sa = zpar__zrouter_last_src (z);
        else if (rc == 0 && n == 2 && frame_is_str (&part[1], "from-b"))
            sb = zpar__zrouter_last_src (z);
        if (rc == 0)
            parts_close (part, n);
    }
    ok (sa > 0 && sb > 0 && sa != sb && sa != sc && sb != sc,
        "6: both received, from different connections (%d, %d)", sa, sb);

    zmq_close (a);
    a = NULL;
    got = closed_within (z, src, 8, WAIT_MS);
    ok (got == 1 && src[0] == sa, "6: A closed: closed() gives exactly A's %d (%d: %d)", sa, got,
        got > 0 ? src[0] : -1);
    ok (closed_within (z, src, 8, QUIET_MS) == 0, "6: and then nothing more (B is open)");

    /* a closed connection's last message comes first */
    ok (b && zmq_send (b, "b-last", 6, 0) == 6, "6: B sends another message");
    TURN_UNTIL (z, stats (z).queued > 0);
    ok (stats (z).queued == 1, "6: it waits to be received (%llu)",
        (unsigned long long)stats (z).queued);
    c0 = stats (z).closed;
    zmq_close (b);
    b = NULL;
    TURN_UNTIL (z, stats (z).closed > c0);
    ok (stats (z).closed > c0, "6: B closes, seen by the zrouter");
    for (int i = 0; i < 10; i++)
        turn (z, 5);
    ok (zpar__zrouter_closed (z, src, 8) == 0,
        "6: while B's message waits, closed() gives nothing");
    rc = zr_recv (z, part, NMAX, &n, WAIT_MS);
    ok (rc == 0 && n == 2 && frame_is_str (&part[1], "b-last") && zpar__zrouter_last_src (z) == sb,
        "6: B's last message is received, from B's %d", sb);
    if (rc == 0)
        parts_close (part, n);
    got = zpar__zrouter_closed (z, src, 8);
    ok (got == 1 && src[0] == sb, "6: then closed() gives exactly B's %d (%d: %d)", sb, got,
        got > 0 ? src[0] : -1);
    ok (zpar__zrouter_closed (z, src, 8) == 0, "6: once");
    zmq_close (a);
    zmq_close (b);
    zpar__zrouter_destroy (z);
}

int main (void)
{
    char ep[256];
    zpar_zrouter_t *z;

    plan (NO_PLAN);
    ctx = zmq_ctx_new ();
    z = bind_mode (ep, sizeof (ep), ZPAR_ZROUTER_PUB);
    ok (z != NULL, "a PUB zrouter (%s)", ep);
    if (z) {
        check_pub (z, ep);
        check_many_subs (z, ep);
        zpar__zrouter_destroy (z);
    }
    check_stopped ();
    check_wrong_type ();
    check_xsub ();
    check_closed ();
    zmq_ctx_term (ctx);
    return done_testing ();
}
