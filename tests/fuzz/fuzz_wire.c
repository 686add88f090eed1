/* fuzz_wire.c - fuzz target for the wire codec (msg.c) and the frame
 * checks of wire.c.
 *
 * Input: first byte selects the entry point, the rest is its input.
 *   mode 0  zpar__msg_unpack (rest) - a packed record (header + body)
 *   mode 1  zpar__msg_decode (header = rest[0..n), body = rest[n..]) with
 *           n = second byte (any header length, most of them wrong)
 *   mode 2  rest is split into frames (u16 little-endian length, then the
 *           bytes; the last frame takes what is left), checked with
 *           zpar__frames_check without a signer (structure only), then
 *           decoded with zpar__frames_decode
 *   mode 3  same frames, checked with a signer: the harness signs header
 *           and body itself with the fixed key when the signature frame
 *           has the right size, so the header and replay checks are reached
 * Invariants: a decoded message packs back to exactly the bytes it came
 * from and unpacks again to the same fields; every getter stays in bounds.
 */
#include "config.h"

#include <sodium.h>
#include <string.h>
#include <zmq.h>

#include "frames.h"
#include "fuzz.h"
#include "msg.h"
#include "wire.h"

static const uint8_t fuzz_key[ZPAR_KEY_LEN] = "zpar-fuzz-key-0123456789abcdef!";

static void exercise (const zpar_msg_t *m)
{
    zpar_msg_t *again;
    zpar_error_t err;
    uint8_t *buf;
    size_t len;

    for (size_t i = 0; i < m->nfields; i++) {
        zpar_field_t key = m->fields[i].key;
        size_t n = zpar__msg_count (m, key), blen;
        const uint8_t *b;
        uint64_t v;
        char *s;

        FUZZ_CHECK (n >= 1);
        b = zpar__msg_get_bytes_at (m, key, n - 1, &blen);
        FUZZ_CHECK (b != NULL);
        FUZZ_CHECK (b >= m->body && b + blen <= m->body + m->len);
        if (zpar__msg_get_u64 (m, key, &v) == 0) {
            FUZZ_CHECK (zpar__msg_get_bytes (m, key, &blen) != NULL);
            FUZZ_CHECK (blen == 8);
        }
        if ((s = zpar__msg_get_str (m, key)))
            free (s);
    }
    (void)zpar__msg_type_name (m->hdr.type);
    FUZZ_CHECK (zpar__msg_pack (m, &buf, &len) == 0);
    FUZZ_CHECK (len == ZPAR_HDR_LEN + m->len);
    again = zpar__msg_create (ZPAR_MSG_NONE);
    FUZZ_CHECK (again != NULL);
    FUZZ_CHECK (zpar__msg_unpack (again, buf, len, &err) == 0);
    FUZZ_CHECK (again->nfields == m->nfields && again->len == m->len);
    FUZZ_CHECK (memcmp (&again->hdr, &m->hdr, sizeof (m->hdr)) == 0);
    FUZZ_CHECK (m->len == 0 || memcmp (again->body, m->body, m->len) == 0);
    zpar__msg_destroy (again);
    free (buf);
}

static void frames (const uint8_t *p, size_t n, int sign)
{
    static zpar_signer_t *signer;
    zpar_frames_t f;
    zpar_hdr_t hdr;
    zpar_error_t err;
    zpar_msg_t *m;

    fuzz_frames_split (p, n, &f);
    if (sign && !signer)
        signer = zpar__signer_create (fuzz_key, UINT64_C (1) << 62);
    if (sign) {
        /* a valid signature for whatever header and body the input has */
        for (int d = 0; d + 3 < f.n; d++) {
            if (zmq_msg_size (&f.part[d]) == strlen (ZPAR_PROTO_DELIM) &&
                memcmp (zmq_msg_data (&f.part[d]), ZPAR_PROTO_DELIM, 5) == 0) {
                crypto_auth_hmacsha256_state st;
                if (zmq_msg_size (&f.part[d + 1]) != ZPAR_SIG_LEN ||
                    zmq_msg_size (&f.part[d + 2]) != ZPAR_HDR_LEN)
                    break;
                crypto_auth_hmacsha256_init (&st, fuzz_key, ZPAR_KEY_LEN);
                crypto_auth_hmacsha256_update (&st, zmq_msg_data (&f.part[d + 2]), ZPAR_HDR_LEN);
                crypto_auth_hmacsha256_update (&st, zmq_msg_data (&f.part[d + 3]),
                                               zmq_msg_size (&f.part[d + 3]));
                crypto_auth_hmacsha256_final (&st, zmq_msg_data (&f.part[d + 1]));
                break;
            }
        }
    }
    if (zpar__frames_check (sign ? signer : NULL, &f, &hdr, &err) == 0) {
        FUZZ_CHECK (f.delim >= 0 && f.delim + 4 == f.n);
        FUZZ_CHECK ((m = zpar__msg_create (ZPAR_MSG_NONE)) != NULL);
        if (zpar__frames_decode (&f, m, &err) == 0) {
            FUZZ_CHECK (m->hdr.type == hdr.type && m->hdr.seq == hdr.seq);
            FUZZ_CHECK (m->nenv == f.delim);
            exercise (m);
        }
        zpar__msg_destroy (m);
    }
    zpar__frames_close (&f);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zpar_msg_t *m;
    zpar_error_t err;
    uint8_t *buf;
    size_t len;

    if (size < 1)
        return 0;
    switch (data[0] & 3) {
    case 0:
        FUZZ_CHECK ((m = zpar__msg_create (ZPAR_MSG_NONE)) != NULL);
        if (zpar__msg_unpack (m, data + 1, size - 1, &err) == 0) {
            exercise (m);
            FUZZ_CHECK (zpar__msg_pack (m, &buf, &len) == 0);
            FUZZ_CHECK (len == size - 1 && memcmp (buf, data + 1, len) == 0);
            free (buf);
        }
        zpar__msg_destroy (m);
        break;
    case 1:
        if (size < 2)
            return 0;
        FUZZ_CHECK ((m = zpar__msg_create (ZPAR_MSG_NONE)) != NULL);
        {
            size_t hlen = data[1] <= size - 2 ? data[1] : size - 2;
            if (zpar__msg_decode (m, data + 2, hlen, data + 2 + hlen, size - 2 - hlen, &err) == 0) {
                FUZZ_CHECK (hlen == ZPAR_HDR_LEN);
                exercise (m);
            }
        }
        zpar__msg_destroy (m);
        break;
    default:
        frames (data + 1, size - 1, data[0] & 1);
        break;
    }
    return 0;
}
