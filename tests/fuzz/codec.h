/* codec.h - the shared body of the typed-codec fuzz targets
 * (fuzz_proto_task.c, _result, _control, _registrar, _iopub).
 *
 * A target lists its codecs with FUZZ_CODEC and calls fuzz_codecs().
 * Input: a packed message (48-byte header + body, see zpar__msg_pack).
 * The header's type picks the codec of that type; any other type picks
 * codec (type % n) and the header is made to carry that codec's type (and
 * protocol version 1), so that every input reaches a typed decoder.
 * Invariants, for every input:
 *   - zpar__proto_check agrees with the typed decoder (both accept or both
 *     refuse), and a refusal comes with a reason;
 *   - what decodes encodes again, the encoding decodes, and encoding that
 *     gives the same body and header ids (decode o encode is stable);
 *   - the decoded struct is cleared without leaking (ASan's leak check).
 */
#ifndef ZPAR_FUZZ_CODEC_H
#define ZPAR_FUZZ_CODEC_H

#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "msg.h"
#include "proto_check.h"

typedef struct {
    zpar_msg_type_t type;
    const char *name;
    size_t size; /* of the typed struct */
    int (*decode) (const zpar_msg_t *m, void *x, zpar_error_t *err);
    int (*encode) (zpar_msg_t *m, const void *x);
    void (*clear) (void *x);
} fuzz_codec_t;

static inline void fuzz_codec_noclear (void *x)
{
    (void)x;
}

/* Wrappers with one signature for zpar__proto_<name>_{decode,encode,clear}. */
#define FUZZ_CODEC_FNS(name, T)                                                                    \
    static int fuzz_dec_##name (const zpar_msg_t *m, void *x, zpar_error_t *err)                   \
    {                                                                                              \
        return zpar__proto_##name##_decode (m, (T *)x, err);                                       \
    }                                                                                              \
    static int fuzz_enc_##name (zpar_msg_t *m, const void *x)                                      \
    {                                                                                              \
        return zpar__proto_##name##_encode (m, (const T *)x);                                      \
    }
#define FUZZ_CODEC_CLEAR(name, T)                                                                  \
    static void fuzz_clr_##name (void *x)                                                          \
    {                                                                                              \
        zpar__proto_##name##_clear ((T *)x);                                                       \
    }
#define FUZZ_CODEC(type, name, T)                                                                  \
    {                                                                                              \
        type, #name, sizeof (T), fuzz_dec_##name, fuzz_enc_##name, fuzz_clr_##name                 \
    }
#define FUZZ_CODEC_NOCLEAR(type, name, T)                                                          \
    {                                                                                              \
        type, #name, sizeof (T), fuzz_dec_##name, fuzz_enc_##name, fuzz_codec_noclear              \
    }

static inline int fuzz_same_msg (const zpar_msg_t *a, const zpar_msg_t *b)
{
    return a->hdr.type == b->hdr.type && a->hdr.task == b->hdr.task &&
           a->hdr.engine == b->hdr.engine && a->hdr.client == b->hdr.client &&
           a->hdr.flags == b->hdr.flags && a->len == b->len &&
           (a->len == 0 || memcmp (a->body, b->body, a->len) == 0);
}

static inline void fuzz_codecs (const fuzz_codec_t *codecs, size_t n, const uint8_t *data,
                                size_t size)
{
    uint8_t hdr[ZPAR_HDR_LEN] = {0};
    const fuzz_codec_t *c = NULL;
    zpar_msg_t *m, *m2, *m3;
    zpar_error_t err, cerr;
    unsigned type;
    void *x, *x2;
    int rc, crc;

    memcpy (hdr, data, size < ZPAR_HDR_LEN ? size : ZPAR_HDR_LEN);
    type = (unsigned)(hdr[2] | (hdr[3] << 8));
    for (size_t i = 0; i < n; i++)
        if (codecs[i].type == type)
            c = &codecs[i];
    if (!c)
        c = &codecs[type % n];
    hdr[0] = ZPAR_PROTO_VERSION;
    hdr[1] = 0;
    hdr[2] = (uint8_t)c->type;
    hdr[3] = (uint8_t)(c->type >> 8);
    FUZZ_CHECK ((m = zpar__msg_create (ZPAR_MSG_NONE)) != NULL);
    if (zpar__msg_decode (m, hdr, ZPAR_HDR_LEN, size > ZPAR_HDR_LEN ? data + ZPAR_HDR_LEN : NULL,
                          size > ZPAR_HDR_LEN ? size - ZPAR_HDR_LEN : 0, &err) < 0) {
        zpar__msg_destroy (m); /* not a field list: the typed layer never sees it */
        return;
    }
    FUZZ_CHECK ((x = calloc (1, c->size)) != NULL && (x2 = calloc (1, c->size)) != NULL);
    err.text[0] = cerr.text[0] = '\0';
    rc = c->decode (m, x, &err);
    crc = zpar__proto_check (m, &cerr);
    if ((rc == 0) != (crc == 0))
        fprintf (stderr, "%s: decode %d (%s), proto_check %d (%s)\n", c->name, rc, err.text, crc,
                 cerr.text);
    FUZZ_CHECK ((rc == 0) == (crc == 0));
    if (rc < 0) {
        FUZZ_CHECK (err.text[0] != '\0');
    } else {
        FUZZ_CHECK ((m2 = zpar__msg_create (ZPAR_MSG_NONE)) != NULL);
        FUZZ_CHECK ((m3 = zpar__msg_create (ZPAR_MSG_NONE)) != NULL);
        rc = c->encode (m2, x);
        if (rc != 0)
            fprintf (stderr, "%s: a decoded message does not encode: %s\n", c->name,
                     strerror (errno));
        FUZZ_CHECK (rc == 0);
        FUZZ_CHECK (m2->hdr.type == c->type);
        rc = c->decode (m2, x2, &err);
        if (rc != 0)
            fprintf (stderr, "%s: its encoding does not decode: %s\n", c->name, err.text);
        FUZZ_CHECK (rc == 0);
        FUZZ_CHECK (c->encode (m3, x2) == 0);
        if (!fuzz_same_msg (m2, m3))
            fprintf (stderr, "%s: encode(decode(encode(x))) differs from encode(x)\n", c->name);
        FUZZ_CHECK (fuzz_same_msg (m2, m3));
        c->clear (x2);
        zpar__msg_destroy (m3);
        zpar__msg_destroy (m2);
    }
    c->clear (x);
    free (x2);
    free (x);
    zpar__msg_destroy (m);
}

#endif
