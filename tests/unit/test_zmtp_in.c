/* test_zmtp_in.c - a zrouter connection's input (zmtp_in.h) without
 * sockets: a good stream fed at once and a byte at a time (READY with and
 * without Identity, PING, messages, a message of too many frames), a table
 * of streams that must fail and why, a failed stream staying failed, a
 * stream given up half read. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "zmtp.h"
#include "zmtp_in.h"

/* the owner */
typedef struct {
    int refuse, send_fails;
    int readies, pongs, msgs;
    char type[32];
    unsigned char id[ZPAR_ZMTP_IDENTITY_MAX];
    size_t idlen;
    unsigned char pong[64];
    size_t pong_len;
    zpar_zmtp_inmsg_t *last;
} owner_t;

static int o_ready (void *arg, const struct zpar__zmtp_ready *r, const unsigned char **id,
                    size_t *idlen)
{
    owner_t *o = arg;
    o->readies++;
    snprintf (o->type, sizeof (o->type), "%s", r->socket_type);
    if (o->refuse)
        return -1;
    if (r->identity_len == 0) {
        memcpy (o->id, "\0\0\0\0\7", 5);
        o->idlen = 5;
    } else {
        memcpy (o->id, r->identity, r->identity_len);
        o->idlen = r->identity_len;
    }
    *id = o->id;
    *idlen = o->idlen;
    return 0;
}

static int o_send (void *arg, const unsigned char *frame, size_t len)
{
    owner_t *o = arg;
    o->pongs++;
    memcpy (o->pong, frame, len);
    o->pong_len = len;
    return o->send_fails ? -1 : 0;
}

static void o_message (void *arg, zpar_zmtp_inmsg_t *m)
{
    owner_t *o = arg;
    o->msgs++;
    zpar__zmtp_inmsg_free (o->last);
    o->last = m;
}

static const zpar_zmtp_in_ops_t ops = {o_ready, o_send, o_message, NULL};

/* a stream being written */
typedef struct {
    unsigned char b[16384];
    size_t n;
} st_t;

static void put (st_t *s, const void *p, size_t len)
{
    memcpy (s->b + s->n, p, len);
    s->n += len;
}

static void greeting (st_t *s)
{
    s->n = 0;
    zpar__zmtp_greeting (s->b);
    s->n = ZPAR_ZMTP_GREETING_SIZE;
}

static void command (st_t *s, const char *name, const void *data, size_t len, int flags)
{
    unsigned char nl = (unsigned char)strlen (name);
    s->n += zpar__zmtp_header_encode (s->b + s->n, ZPAR_ZMTP_COMMAND | flags, 1 + nl + len);
    put (s, &nl, 1);
    put (s, name, nl);
    put (s, data, len);
}

static void prop (unsigned char *p, size_t *n, const char *name, const char *value)
{
    size_t nl = strlen (name), vl = strlen (value);
    p[(*n)++] = (unsigned char)nl;
    memcpy (p + *n, name, nl);
    *n += nl;
    p[(*n)++] = 0;
    p[(*n)++] = 0;
    p[(*n)++] = (unsigned char)(vl >> 8);
    p[(*n)++] = (unsigned char)vl;
    memcpy (p + *n, value, vl);
    *n += vl;
}

static void ready (st_t *s, const char *type, const char *id)
{
    unsigned char p[600];
    size_t n = 0;
    prop (p, &n, "Socket-Type", type);
    if (id)
        prop (p, &n, "Identity", id);
    command (s, "READY", p, n, 0);
}

static void frame (st_t *s, const void *p, size_t len, int more)
{
    s->n += zpar__zmtp_header_encode (s->b + s->n, more ? ZPAR_ZMTP_MORE : 0, len);
    put (s, p, len);
}

static int part_is (zmq_msg_t *m, const void *p, size_t len)
{
    return zmq_msg_size (m) == len && memcmp (zmq_msg_data (m), p, len) == 0;
}

static const unsigned char ping[] = {0, 50, 'a', 'b'};

static void check_good (int bytewise)
{
    const char *how = bytewise ? "a byte at a time" : "at once";
    owner_t o = {0};
    zpar_zmtp_in_t in;
    st_t s;
    int rc = 0;
    unsigned char big[1000];

    memset (big, 'z', sizeof (big));
    greeting (&s);
    command (&s, "PING", ping, sizeof (ping), 0); /* before READY: answered */
    ready (&s, "DEALER", "eng-1");
    frame (&s, "", 0, 1);
    frame (&s, "abc", 3, 1);
    frame (&s, big, sizeof (big), 0); /* a long frame */
    command (&s, "PONG", "ab", 2, 0); /* ignored */
    frame (&s, "x", 1, 0);
    zpar__zmtp_in_init (&in, 1000, &ops, &o);
    if (bytewise)
        for (size_t i = 0; i < s.n && rc == 0; i++) {
            rc = zpar__zmtp_in_feed (&in, s.b + i, 1);
            if (i == ZPAR_ZMTP_GREETING_SIZE - 2)
                ok (!zpar__zmtp_in_open (&in) && o.readies == 0,
                    "%s: a greeting cut short waits for the rest", how);
        }
    else
        rc = zpar__zmtp_in_feed (&in, s.b, s.n);
    is_int (rc, 0, "%s: a good stream is taken", how);
    ok (zpar__zmtp_in_open (&in), "%s: open after READY", how);
    is_int (zpar__zmtp_in_error (&in), ZPAR_ZMTP_IN_OK, "%s: no error", how);
    ok (o.readies == 1 && strcmp (o.type, "DEALER") == 0 && o.idlen == 5 &&
            memcmp (o.id, "eng-1", 5) == 0,
        "%s: READY gives DEALER and the Identity", how);
    ok (o.pongs == 1 && o.pong_len == 2 + 1 + 4 + 2 && o.pong[0] == ZPAR_ZMTP_COMMAND &&
            memcmp (o.pong + 3, "PONG", 4) == 0 && memcmp (o.pong + 7, "ab", 2) == 0,
        "%s: PING is answered with PONG and its context", how);
    is_int (o.msgs, 2, "%s: two messages", how);
    ok (o.last && o.last->n == 2 && !o.last->overflow && part_is (&o.last->part[0], "eng-1", 5) &&
            part_is (&o.last->part[1], "x", 1),
        "%s: the last is [identity, x]", how);
    zpar__zmtp_in_fini (&in);
    zpar__zmtp_inmsg_free (o.last);
}

static void check_parts (void)
{
    owner_t o = {0};
    zpar_zmtp_in_t in;
    st_t s;

    greeting (&s);
    ready (&s, "REQ", NULL);
    for (int i = 0; i < 9; i++)
        frame (&s, "f", 1, i < 8);
    frame (&s, "g", 1, 1);
    frame (&s, "h", 1, 0);
    zpar__zmtp_in_init (&in, 16, &ops, &o);
    is_int (zpar__zmtp_in_feed (&in, s.b, s.n), 0, "9 frames, then 2: taken");
    ok (o.readies == 1 && strcmp (o.type, "REQ") == 0 && o.idlen == 5,
        "READY without Identity: the owner's");
    is_int (o.msgs, 2, "two messages");
    ok (o.last && o.last->n == 3 && !o.last->overflow && part_is (&o.last->part[1], "g", 1) &&
            part_is (&o.last->part[2], "h", 1),
        "the message after the long one is whole");
    zpar__zmtp_inmsg_free (o.last);
    o.last = NULL;
    /* the long one alone */
    greeting (&s);
    ready (&s, "ROUTER", "r");
    for (int i = 0; i < 9; i++)
        frame (&s, "f", 1, i < 8);
    zpar__zmtp_in_fini (&in);
    zpar__zmtp_in_init (&in, 16, &ops, &o);
    (void)zpar__zmtp_in_feed (&in, s.b, s.n);
    ok (o.last && o.last->n == ZPAR_ZROUTER_PARTS && o.last->overflow,
        "a message of 9 frames keeps %d parts and is marked overflow", ZPAR_ZROUTER_PARTS);
    zpar__zmtp_inmsg_free (o.last);
    zpar__zmtp_in_fini (&in);
}

enum {
    B_NOTZMTP,
    B_VERSION2,
    B_PLAIN,
    B_EARLY,
    B_PUB,
    B_TWICE,
    B_NOTYPE,
    B_OVERSIZED,
    B_HUGE,
    B_CMD_BIG,
    B_CMD_MORE,
    B_CMD_IN_MSG,
    B_RESERVED,
    B_ERROR,
    B_REFUSE,
    B_SEND_FAILS,
    B_BAD_PING,
    B_COUNT
};

static void bad_stream (int k, st_t *s, owner_t *o)
{
    static unsigned char cmd[ZPAR_ZMTP_IN_CMD_MAX];
    greeting (s);
    switch (k) {
    case B_NOTZMTP:
        memcpy (s->b, "GET / HTTP/1.0\r\n", 16);
        break;
    case B_VERSION2:
        s->b[10] = 2;
        break;
    case B_PLAIN:
        memcpy (s->b + 12, "PLAIN", 5);
        break;
    case B_EARLY:
        frame (s, "x", 1, 0);
        break;
    case B_PUB:
        ready (s, "PUB", NULL);
        break;
    case B_TWICE:
        ready (s, "DEALER", NULL);
        ready (s, "DEALER", NULL);
        break;
    case B_NOTYPE:
        command (s, "READY", "", 0, 0);
        break;
    case B_OVERSIZED:
        ready (s, "DEALER", NULL);
        frame (s, "0123456789abcdef", 16, 1);
        frame (s, "0123456789abcdefg", 17, 0);
        break;
    case B_HUGE:
        ready (s, "DEALER", NULL);
        s->n += zpar__zmtp_header_encode (s->b + s->n, 0, UINT64_MAX);
        break;
    case B_CMD_BIG:
        ready (s, "DEALER", NULL);
        command (s, "X", cmd, sizeof (cmd) - 1, 0);
        break;
    case B_CMD_MORE:
        ready (s, "DEALER", NULL);
        command (s, "PING", ping, sizeof (ping), ZPAR_ZMTP_MORE);
        break;
    case B_CMD_IN_MSG:
        ready (s, "DEALER", NULL);
        frame (s, "a", 1, 1);
        command (s, "PING", ping, sizeof (ping), 0);
        break;
    case B_RESERVED:
        ready (s, "DEALER", NULL);
        put (s, "\x10\x01x", 3);
        break;
    case B_ERROR:
        ready (s, "DEALER", NULL);
        command (s, "ERROR", "\003bye", 4, 0);
        break;
    case B_REFUSE:
        o->refuse = 1;
        ready (s, "DEALER", "taken");
        break;
    case B_SEND_FAILS:
        o->send_fails = 1;
        ready (s, "DEALER", NULL);
        command (s, "PING", ping, sizeof (ping), 0);
        break;
    case B_BAD_PING:
        ready (s, "DEALER", NULL);
        command (s, "PING", "x", 1, 0);
        break;
    }
}

static void check_bad (void)
{
    static const struct {
        const char *what;
        zpar_zmtp_in_err_t why;
    } bad[B_COUNT] = {
        [B_NOTZMTP] = {"not ZMTP", ZPAR_ZMTP_IN_REFUSED},
        [B_VERSION2] = {"ZMTP 2", ZPAR_ZMTP_IN_REFUSED},
        [B_PLAIN] = {"mechanism PLAIN", ZPAR_ZMTP_IN_REFUSED},
        [B_EARLY] = {"a data frame before READY", ZPAR_ZMTP_IN_MALFORMED},
        [B_PUB] = {"READY from a PUB", ZPAR_ZMTP_IN_REFUSED},
        [B_TWICE] = {"READY twice", ZPAR_ZMTP_IN_REFUSED},
        [B_NOTYPE] = {"READY without Socket-Type", ZPAR_ZMTP_IN_REFUSED},
        [B_OVERSIZED] = {"a frame of maxmsg + 1 bytes", ZPAR_ZMTP_IN_OVERSIZED},
        [B_HUGE] = {"a frame of 2^64 - 1 bytes", ZPAR_ZMTP_IN_OVERSIZED},
        [B_CMD_BIG] = {"a command above 8 KiB", ZPAR_ZMTP_IN_MALFORMED},
        [B_CMD_MORE] = {"a command with MORE", ZPAR_ZMTP_IN_MALFORMED},
        [B_CMD_IN_MSG] = {"a command within a message", ZPAR_ZMTP_IN_MALFORMED},
        [B_RESERVED] = {"a reserved flag bit", ZPAR_ZMTP_IN_MALFORMED},
        [B_ERROR] = {"ERROR", ZPAR_ZMTP_IN_MALFORMED},
        [B_REFUSE] = {"READY the owner refuses", ZPAR_ZMTP_IN_REFUSED},
        [B_SEND_FAILS] = {"PING whose PONG cannot go", ZPAR_ZMTP_IN_FAILED},
        [B_BAD_PING] = {"a PING without its TTL", ZPAR_ZMTP_IN_MALFORMED},
    };
    static st_t s;
    for (int k = 0; k < B_COUNT; k++)
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            owner_t o = {0};
            zpar_zmtp_in_t in;
            int rc = 0;
            bad_stream (k, &s, &o);
            zpar__zmtp_in_init (&in, 16, &ops, &o);
            if (bytewise)
                for (size_t i = 0; i < s.n && rc == 0; i++)
                    rc = zpar__zmtp_in_feed (&in, s.b + i, 1);
            else
                rc = zpar__zmtp_in_feed (&in, s.b, s.n);
            if (!ok (rc == -1 && zpar__zmtp_in_error (&in) == bad[k].why && o.msgs == 0,
                     "%s (%s): fails, reason %d", bad[k].what, bytewise ? "bytewise" : "at once",
                     bad[k].why))
                diag ("  rc %d, reason %d, %d messages", rc, zpar__zmtp_in_error (&in), o.msgs);
            /* and stays failed: a good frame changes nothing */
            o.readies = o.pongs = 0;
            rc = zpar__zmtp_in_feed (&in, (const unsigned char *)"\x00\x01x", 3);
            ok (rc == -1 && zpar__zmtp_in_error (&in) == bad[k].why && !zpar__zmtp_in_open (&in) &&
                    o.msgs == 0 && o.readies == 0 && o.pongs == 0,
                "%s (%s): stays failed", bad[k].what, bytewise ? "bytewise" : "at once");
            zpar__zmtp_in_fini (&in);
            zpar__zmtp_inmsg_free (o.last);
        }
}

/* given up with a command and a message half read: nothing leaks (the
 * sanitizer build says so) and the stream is failed */
static void check_fini (void)
{
    owner_t o = {0};
    zpar_zmtp_in_t in;
    st_t s;

    greeting (&s);
    ready (&s, "DEALER", "e");
    frame (&s, "abc", 3, 1);
    frame (&s, "defgh", 5, 0);
    zpar__zmtp_in_init (&in, 100, &ops, &o);
    is_int (zpar__zmtp_in_feed (&in, s.b, s.n - 2), 0, "a message half read");
    zpar__zmtp_in_fini (&in);
    is_int (zpar__zmtp_in_feed (&in, s.b + s.n - 2, 2), -1, "after fini: failed");
    is_int (o.msgs, 0, "the half-read message never came");
    zpar__zmtp_in_fini (&in); /* twice */

    greeting (&s);
    ready (&s, "DEALER", "e");
    command (&s, "PING", ping, sizeof (ping), 0);
    zpar__zmtp_in_init (&in, 100, &ops, &o);
    is_int (zpar__zmtp_in_feed (&in, s.b, s.n - 1), 0, "a command half read");
    zpar__zmtp_in_fini (&in);
    is_int (o.pongs, 0, "its PONG never went");
}

int main (void)
{
    plan (NO_PLAN);
    check_good (0);
    check_good (1);
    check_parts ();
    check_bad ();
    check_fini ();
    return done_testing ();
}
