/* test_proto_hb.c - the heartbeat ping codec: round trip, byte order,
 * every wrong length, seq 0, bad parameters; the nudge frame; the
 * heartbeat pipe codec (hub <-> heartbeat thread): round trip of every
 * kind, and every malformed frame. */
#include <errno.h>
#include <string.h>

#include "proto_hb.h"
#include "route.h"
#include "tap.h"

int main (void)
{
    zpar_proto_ping_t p = {0x0102030405060708ull, 1700000000123456ull, 0xfeedfacecafebeefull}, q;
    uint8_t buf[ZPAR_HB_PING_LEN + 1];
    zpar_error_t err;
    int bad = 0;

    zpar__proto_ping_encode (&p, buf);
    ok (buf[0] == 0x08 && buf[7] == 0x01, "seq is little-endian on the wire");
    ok (zpar__proto_ping_decode (buf, ZPAR_HB_PING_LEN, &q, &err) == 0, "decodes");
    ok (q.seq == p.seq && q.time_us == p.time_us && q.session == p.session, "round trip");
    for (size_t len = 0; len <= sizeof (buf); len++) {
        if (len == ZPAR_HB_PING_LEN)
            continue;
        if (zpar__proto_ping_decode (buf, len, &q, &err) == 0 || errno != EPROTO)
            bad++;
    }
    is_int (bad, 0, "every other length is EPROTO");
    memset (buf, 0, 8);
    ok (zpar__proto_ping_decode (buf, ZPAR_HB_PING_LEN, &q, &err) < 0 && errno == EPROTO &&
            strstr (err.text, "seq 0"),
        "seq 0 is EPROTO: %s", err.text);
    ok (zpar__proto_ping_decode (NULL, ZPAR_HB_PING_LEN, &q, &err) < 0 && errno == EINVAL,
        "NULL buffer is EINVAL");
    ok (zpar__proto_ping_decode (buf, ZPAR_HB_PING_LEN, NULL, NULL) < 0 && errno == EINVAL,
        "NULL output is EINVAL (and NULL err is fine)");

    /* the nudge */
    ok (zpar__proto_hb_is_rreg ("zparRREG", 8), "zparRREG is the nudge");
    ok (!zpar__proto_hb_is_rreg ("zparRREG", 7) && !zpar__proto_hb_is_rreg ("zparRREGx", 9) &&
            !zpar__proto_hb_is_rreg ("zparrreg", 8) && !zpar__proto_hb_is_rreg (NULL, 8),
        "nothing else is");

    /* the pipe */
    {
        zpar_hb_pipe_msg_t m = {0}, d;
        uint8_t f[ZPAR_HB_PIPE_LEN + 1];
        int kinds_ok = 0, lens_bad = 0;
        zpar__route_make (zpar__eid (77), &m.route);
        for (int k = ZPAR_HB_PIPE_WATCH; k < ZPAR_HB_PIPE_KIND_MAX; k++) {
            m.kind = (zpar_hb_pipe_kind_t)k;
            m.engine = 77;
            m.gen = 9;
            m.silent_ms = 3600;
            m.missed = 3;
            m.pid = 4242;
            if (zpar__hb_pipe_encode (&m, f) == 0 &&
                zpar__hb_pipe_decode (f, ZPAR_HB_PIPE_LEN, &d, &err) == 0 && d.kind == m.kind &&
                d.engine == 77 && d.gen == 9 && d.silent_ms == 3600 && d.missed == 3 &&
                (k != ZPAR_HB_PIPE_WATCH ||
                 (d.pid == 4242 && memcmp (d.route.b, m.route.b, ZPAR_ROUTE_LEN) == 0)))
                kinds_ok++;
        }
        is_int (kinds_ok, ZPAR_HB_PIPE_KIND_MAX - 1, "every pipe kind round-trips");
        m.kind = ZPAR_HB_PIPE_DEAD;
        zpar__hb_pipe_encode (&m, f);
        for (size_t len = 0; len <= sizeof (f); len++)
            if (len != ZPAR_HB_PIPE_LEN &&
                (zpar__hb_pipe_decode (f, len, &d, &err) == 0 || errno != EPROTO))
                lens_bad++;
        is_int (lens_bad, 0, "every other length is EPROTO");
        f[0] = 0;
        ok (zpar__hb_pipe_decode (f, ZPAR_HB_PIPE_LEN, &d, &err) < 0 && errno == EPROTO,
            "kind 0: EPROTO (%s)", err.text);
        f[0] = ZPAR_HB_PIPE_KIND_MAX;
        ok (zpar__hb_pipe_decode (f, ZPAR_HB_PIPE_LEN, &d, &err) < 0 && errno == EPROTO,
            "unknown kind: EPROTO (%s)", err.text);
        f[0] = ZPAR_HB_PIPE_DEAD;
        f[2] = 1;
        ok (zpar__hb_pipe_decode (f, ZPAR_HB_PIPE_LEN, &d, &err) < 0 && errno == EPROTO,
            "padding not zero: EPROTO (%s)", err.text);
        m.engine = 0;
        zpar__hb_pipe_encode (&m, f);
        ok (zpar__hb_pipe_decode (f, ZPAR_HB_PIPE_LEN, &d, &err) < 0 && errno == EPROTO,
            "an event without an engine: EPROTO (%s)", err.text);
        m.kind = ZPAR_HB_PIPE_WATCH;
        m.engine = 78;
        zpar__hb_pipe_encode (&m, f);
        ok (zpar__hb_pipe_decode (f, ZPAR_HB_PIPE_LEN, &d, &err) < 0 && errno == EPROTO,
            "a watch whose route names another engine: EPROTO (%s)", err.text);
        m.kind = ZPAR_HB_PIPE_TERM;
        m.engine = 0;
        ok (zpar__hb_pipe_encode (&m, f) == 0 &&
                zpar__hb_pipe_decode (f, ZPAR_HB_PIPE_LEN, &d, &err) == 0 &&
                d.kind == ZPAR_HB_PIPE_TERM,
            "term needs no engine");
        m.kind = ZPAR_HB_PIPE_KIND_MAX;
        ok (zpar__hb_pipe_encode (&m, f) < 0 && errno == EINVAL, "encode an unknown kind: EINVAL");
        ok (zpar__hb_pipe_encode (NULL, f) < 0 && errno == EINVAL, "encode NULL: EINVAL");
        ok (zpar__hb_pipe_decode (NULL, 4, &d, NULL) < 0 && errno == EINVAL, "decode NULL: EINVAL");
        ok (zpar__hb_pipe_send (NULL, &m, 0) < 0 && errno == EINVAL, "send on NULL: EINVAL");
    }
    return done_testing ();
}
