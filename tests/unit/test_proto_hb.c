/* test_proto_hb.c - the heartbeat ping codec: round trip, byte order,
 * every wrong length, seq 0, bad parameters. */
#include <errno.h>
#include <string.h>

#include "proto_hb.h"
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
    return done_testing ();
}
