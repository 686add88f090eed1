/* fuzz_proto_hb.c - fuzz target for the heartbeat ping codec (proto_hb.c).
 *
 * Input: one ping frame, any length.  Invariants: only a 24-byte frame with
 * a non-zero seq decodes; a refusal has a reason; what decodes encodes back
 * to the same bytes.  The same bytes as a heartbeat pipe frame: only
 * ZPAR_HB_PIPE_LEN bytes decode, a refusal has a reason, what decodes
 * encodes back to the same bytes (the route of a WATCH only).
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "proto_hb.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zpar_proto_ping_t p;
    zpar_error_t err;
    uint8_t out[ZPAR_HB_PING_LEN];

    err.text[0] = '\0';
    if (zpar__proto_ping_decode (data, size, &p, &err) == 0) {
        FUZZ_CHECK (size == ZPAR_HB_PING_LEN && p.seq != 0);
        zpar__proto_ping_encode (&p, out);
        FUZZ_CHECK (memcmp (out, data, ZPAR_HB_PING_LEN) == 0);
    } else {
        FUZZ_CHECK (err.text[0] != '\0');
    }

    zpar_hb_pipe_msg_t m;
    uint8_t pout[ZPAR_HB_PIPE_LEN];
    err.text[0] = '\0';
    if (zpar__hb_pipe_decode (data, size, &m, &err) == 0) {
        FUZZ_CHECK (size == ZPAR_HB_PIPE_LEN);
        FUZZ_CHECK (zpar__hb_pipe_encode (&m, pout) == 0);
        FUZZ_CHECK (memcmp (pout, data, 20) == 0);
        if (m.kind == ZPAR_HB_PIPE_WATCH)
            FUZZ_CHECK (memcmp (pout, data, ZPAR_HB_PIPE_LEN) == 0);
    } else {
        FUZZ_CHECK (err.text[0] != '\0');
    }
    return 0;
}
