/* fuzz_proto_batch.c - fuzz target for the batch reader (proto_batch.c).
 *
 * Input: a packed message (48-byte header + body, see zpar__msg_pack);
 * the header is made a batch (type 12, protocol version 1), its channel
 * kept.  Invariants, for every input:
 *   - zpar__batch_check accepts exactly when the reader accepts the
 *     structure, drops no item, and every item passes its codec;
 *   - every item the reader returns decodes (zpar__batch_item_msg) and
 *     becomes frames that zpar__frames_decode takes;
 *   - the items the reader returns, added to a builder, all fit (at most
 *     ZPAR_BATCH_MAX of them);
 *   - nothing leaks (ASan's leak check).
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "msg.h"
#include "proto_batch.h"
#include "proto_check.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    uint8_t hb[ZPAR_HDR_LEN];
    zpar_msg_t *m, *item;
    zpar_batch_t *b;
    zpar_batch_iter_t it;
    zpar_error_t err;
    zpar_hdr_t h;
    const void *body;
    size_t blen, good = 0, codec_ok = 0;
    int rc, structure;

    if (size < ZPAR_HDR_LEN)
        return 0;
    memcpy (hb, data, ZPAR_HDR_LEN);
    hb[0] = 1;
    hb[1] = 0;
    hb[2] = ZPAR_MSG_BATCH;
    hb[3] = 0;
    m = zpar__msg_create (ZPAR_MSG_NONE);
    item = zpar__msg_create (ZPAR_MSG_NONE);
    b = zpar__batch_create ();
    FUZZ_CHECK (m && item && b);
    if (zpar__msg_decode (m, hb, ZPAR_HDR_LEN, data + ZPAR_HDR_LEN, size - ZPAR_HDR_LEN, &err) < 0)
        goto out;
    structure = zpar__batch_iter_msg (&it, m, &err);
    if (structure == 0) {
        FUZZ_CHECK (it.items >= 2 && it.items <= ZPAR_BATCH_MAX);
        while ((rc = zpar__batch_next (&it, &h, &body, &blen, &err)) != 0) {
            zpar_frames_t f;
            if (rc < 0)
                continue;
            good++;
            FUZZ_CHECK (h.type != ZPAR_MSG_BATCH);
            FUZZ_CHECK (zpar__batch_item_msg (&h, body, blen, item, &err) == 0);
            if (zpar__proto_check (item, &err) == 0)
                codec_ok++;
            FUZZ_CHECK (zpar__batch_item_frames (NULL, &h, body, blen, &f) == 0);
            FUZZ_CHECK (zpar__frames_decode (&f, item, &err) == 0);
            zpar__frames_close (&f);
            FUZZ_CHECK (zpar__batch_add (b, &h, body, blen) == 0);
        }
        FUZZ_CHECK (good + it.bad == it.items);
        FUZZ_CHECK (zpar__batch_count (b) == good);
    }
    rc = zpar__proto_check (m, &err);
    FUZZ_CHECK (rc == 0 ? (structure == 0 && it.bad == 0 && codec_ok == good)
                        : (structure < 0 || it.bad > 0 || codec_ok < good));
out:
    zpar__batch_destroy (b);
    zpar__msg_destroy (item);
    zpar__msg_destroy (m);
    return 0;
}
