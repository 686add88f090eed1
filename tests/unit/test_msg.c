/* test_msg.c - the wire codec: round trips, typed getters, strict decoding. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "tap.h"

static void test_roundtrip (void)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_TASK);
    zpar_msg_t *d = zpar__msg_create (ZPAR_MSG_NONE);
    uint8_t *buf;
    size_t len, blen;
    uint64_t v;
    char *s;
    const void *b;

    m->hdr.task = 0x100000002ull;
    m->hdr.engine = 7;
    m->hdr.client = 1;
    ok (zpar__msg_add_str (m, ZPAR_F_ARGV, "echo") == 0, "add argv[0]");
    ok (zpar__msg_add_str (m, ZPAR_F_ARGV, "a b\"c") == 0, "add argv[1]");
    ok (zpar__msg_add_u64 (m, ZPAR_F_TIMEOUT_MS, 1500) == 0, "add u64");
    ok (zpar__msg_add_bytes (m, ZPAR_F_INPUT, "\0\1\2", 3) == 0, "add bytes with NUL");
    ok (zpar__msg_add_bytes (m, ZPAR_F_CWD, NULL, 0) == 0, "add empty field");
    ok (zpar__msg_pack (m, &buf, &len) == 0, "pack");
    ok (zpar__msg_unpack (d, buf, len, NULL) == 0, "unpack");
    is_int (d->hdr.type, ZPAR_MSG_TASK, "type survives");
    ok (d->hdr.task == 0x100000002ull, "task id survives");
    is_int (d->hdr.engine, 7, "engine survives");
    is_int (zpar__msg_count (d, ZPAR_F_ARGV), 2, "two argv fields");
    s = zpar__msg_get_str_at (d, ZPAR_F_ARGV, 1);
    is_str (s, "a b\"c", "argv[1] round trips");
    free (s);
    ok (zpar__msg_get_u64 (d, ZPAR_F_TIMEOUT_MS, &v) == 0 && v == 1500, "u64 round trips");
    b = zpar__msg_get_bytes (d, ZPAR_F_INPUT, &blen);
    ok (b && blen == 3 && memcmp (b, "\0\1\2", 3) == 0, "bytes round trip");
    errno = 0;
    ok (zpar__msg_get_str (d, ZPAR_F_INPUT) == NULL && errno == EPROTO, "str with NUL refused");
    ok (zpar__msg_get_u64 (d, ZPAR_F_ARGV, &v) < 0 && errno == EPROTO,
        "u64 of wrong length refused");
    ok (zpar__msg_get_str (d, ZPAR_F_LIB) == NULL && errno == ENOENT, "absent field is ENOENT");
    b = zpar__msg_get_bytes (d, ZPAR_F_CWD, &blen);
    ok (b != NULL && blen == 0, "empty field present");
    ok (zpar__msg_u64_or (d, ZPAR_F_RETRIES, 42) == 42, "default for absent u64");
    free (buf);
    zpar__msg_destroy (m);
    zpar__msg_destroy (d);
}

static void test_malformed (void)
{
    zpar_msg_t *d = zpar__msg_create (ZPAR_MSG_NONE);
    uint8_t hdr[ZPAR_HDR_LEN];
    zpar_hdr_t h = {.version = ZPAR_PROTO_VERSION, .type = ZPAR_MSG_TASK};
    zpar_error_t err;
    uint8_t body[16];

    zpar__hdr_encode (&h, hdr);
    ok (zpar__msg_decode (d, hdr, ZPAR_HDR_LEN - 1, NULL, 0, &err) < 0 && errno == EPROTO,
        "short header refused");
    h.version = 9;
    zpar__hdr_encode (&h, hdr);
    ok (zpar__msg_decode (d, hdr, ZPAR_HDR_LEN, NULL, 0, &err) < 0, "wrong version refused: %s",
        err.text);
    h.version = ZPAR_PROTO_VERSION;
    h.type = 999;
    zpar__hdr_encode (&h, hdr);
    ok (zpar__msg_decode (d, hdr, ZPAR_HDR_LEN, NULL, 0, &err) < 0, "unknown type refused");
    h.type = ZPAR_MSG_TASK;
    zpar__hdr_encode (&h, hdr);
    /* field claims more bytes than there are */
    memset (body, 0, sizeof (body));
    body[0] = 2;
    body[2] = 0xff;
    body[3] = 0xff;
    ok (zpar__msg_decode (d, hdr, ZPAR_HDR_LEN, body, 10, &err) < 0 && errno == EPROTO,
        "overlong field refused: %s", err.text);
    ok (zpar__msg_decode (d, hdr, ZPAR_HDR_LEN, body, 3, &err) < 0,
        "truncated field header refused");
    body[2] = 4;
    body[3] = 0;
    ok (zpar__msg_decode (d, hdr, ZPAR_HDR_LEN, body, 10, &err) == 0, "well-formed body accepted");
    /* every truncation of a valid body is either accepted or cleanly refused */
    {
        int crashes = 0;
        for (size_t n = 0; n < 10; n++)
            if (zpar__msg_decode (d, hdr, ZPAR_HDR_LEN, body, n, &err) == 0 && d->nfields > 1)
                crashes++;
        ok (crashes == 0, "truncations never yield phantom fields");
    }
    /* random garbage never crashes */
    {
        srand (7);
        for (int i = 0; i < 20000; i++) {
            uint8_t g[64];
            size_t n = (size_t)(rand () % 64);
            for (size_t k = 0; k < n; k++)
                g[k] = (uint8_t)rand ();
            (void)zpar__msg_decode (d, hdr, ZPAR_HDR_LEN, g, n, NULL);
            (void)zpar__msg_unpack (d, g, n, NULL);
        }
        ok (1, "20000 random bodies decoded without a crash");
    }
    zpar__msg_destroy (d);
}

static void test_badparams (void)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_TASK);
    ok (zpar__msg_add_str (m, ZPAR_F_ARGV, NULL) < 0 && errno == EINVAL, "NULL string refused");
    ok (zpar__msg_add_bytes (NULL, ZPAR_F_ARGV, "x", 1) < 0 && errno == EINVAL, "NULL msg refused");
    ok (zpar__msg_add_bytes (m, ZPAR_F_ARGV, NULL, 3) < 0 && errno == EINVAL,
        "NULL data with length refused");
    ok (zpar__msg_unpack (m, "x", 1, NULL) < 0 && errno == EPROTO, "short packed message refused");
    zpar__msg_destroy (NULL);
    ok (1, "destroy(NULL) is a no-op");
    is_str (zpar__msg_type_name (ZPAR_MSG_RESULT), "result", "type name");
    is_str (zpar__msg_type_name (12345), "unknown", "unknown type name");
    zpar__msg_destroy (m);
}

int main (void)
{
    plan (NO_PLAN);
    test_roundtrip ();
    test_malformed ();
    test_badparams ();
    return done_testing ();
}
