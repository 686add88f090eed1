/* proto_record.c - the compact stored form of a packed message. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "proto_record.h"

#define FORM_VERSION 1
#define RAW_FORM     0
#define FIELD_HEAD   6

static uint64_t getn (const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

static void putn (uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static size_t put_varint (uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static int get_varint (const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64 && *pos < len; shift += 7) {
        uint8_t b = p[(*pos)++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

static size_t varint_len (uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint64_t zigzag (uint64_t v, uint64_t base)
{
    int64_t d = (int64_t)(v - base);
    return ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
}

static uint64_t unzigzag (uint64_t z, uint64_t base)
{
    return base + ((z >> 1) ^ (~(z & 1) + 1));
}

int zpar__record_compact (const void *pv, size_t len, uint64_t base_us, uint8_t *out,
                          size_t *outlen)
{
    const uint8_t *p = pv, *b;
    size_t o = 0, pos = 0, blen;
    if ((!p && len) || !out || !outlen) {
        errno = EINVAL;
        return -1;
    }
    if (len < ZPAR_HDR_LEN || getn (p, 2) != ZPAR_PROTO_VERSION)
        goto raw;
    out[o++] = FORM_VERSION;
    o += put_varint (out + o, getn (p + 2, 2));  /* type */
    o += put_varint (out + o, getn (p + 4, 4));  /* flags */
    o += put_varint (out + o, getn (p + 40, 4)); /* engine */
    o += put_varint (out + o, getn (p + 44, 4)); /* client */
    o += put_varint (out + o, zigzag (getn (p + 32, 8), base_us));
    b = p + ZPAR_HDR_LEN;
    blen = len - ZPAR_HDR_LEN;
    while (pos < blen) {
        uint64_t key, flen;
        if (blen - pos < FIELD_HEAD)
            goto bad;
        key = getn (b + pos, 2);
        flen = getn (b + pos + 2, 4);
        if (flen > blen - pos - FIELD_HEAD)
            goto bad;
        pos += FIELD_HEAD;
        if (flen == 8) {
            uint64_t v = getn (b + pos, 8), z = zigzag (v, base_us);
            if (varint_len (z) < varint_len (v)) {
                o += put_varint (out + o, key << 2 | 2);
                o += put_varint (out + o, z);
            } else {
                o += put_varint (out + o, key << 2 | 1);
                o += put_varint (out + o, v);
            }
        } else {
            o += put_varint (out + o, key << 2);
            o += put_varint (out + o, flen);
            memcpy (out + o, b + pos, flen);
            o += flen;
        }
        pos += flen;
    }
    *outlen = o;
    return 0;
bad:
raw:
    /* not a packed message: kept as it is */
    out[0] = RAW_FORM;
    if (len)
        memcpy (out + 1, p, len);
    *outlen = len + 1;
    return 0;
}

int zpar__record_expand (const void *cv, size_t clen, uint64_t task, uint64_t base_us,
                         uint8_t **out, size_t *outlen)
{
    const uint8_t *c = cv;
    uint64_t type, flags, engine, client, t;
    size_t pos = 1, o = ZPAR_HDR_LEN, cap;
    uint8_t *m;
    if (!c || !out || !outlen) {
        errno = EINVAL;
        return -1;
    }
    *out = NULL;
    if (clen >= 1 && c[0] == RAW_FORM) {
        if (!(m = malloc (clen > 1 ? clen - 1 : 1))) {
            errno = ENOMEM;
            return -1;
        }
        memcpy (m, c + 1, clen - 1);
        *out = m;
        *outlen = clen - 1;
        return 0;
    }
    if (clen < 1 || c[0] != FORM_VERSION || get_varint (c, clen, &pos, &type) < 0 ||
        get_varint (c, clen, &pos, &flags) < 0 || get_varint (c, clen, &pos, &engine) < 0 ||
        get_varint (c, clen, &pos, &client) < 0 || get_varint (c, clen, &pos, &t) < 0 ||
        type > UINT16_MAX || flags > UINT32_MAX || engine > UINT32_MAX || client > UINT32_MAX)
        goto bad;
    /* each field grows by at most 6 + 8 - 2 bytes; a generous bound */
    cap = ZPAR_HDR_LEN + 8 * clen + 16;
    if (!(m = malloc (cap))) {
        errno = ENOMEM;
        return -1;
    }
    memset (m, 0, ZPAR_HDR_LEN);
    putn (m, ZPAR_PROTO_VERSION, 2);
    putn (m + 2, type, 2);
    putn (m + 4, flags, 4);
    putn (m + 24, task, 8);
    putn (m + 32, unzigzag (t, base_us), 8);
    putn (m + 40, engine, 4);
    putn (m + 44, client, 4);
    while (pos < clen) {
        uint64_t kv, v;
        unsigned mode;
        if (get_varint (c, clen, &pos, &kv) < 0 || (kv >> 2) > UINT16_MAX)
            goto bad_free;
        mode = (unsigned)(kv & 3);
        if (o + FIELD_HEAD + 8 > cap)
            goto bad_free;
        putn (m + o, kv >> 2, 2);
        if (mode == 0) {
            if (get_varint (c, clen, &pos, &v) < 0 || v > clen - pos || o + FIELD_HEAD + v > cap)
                goto bad_free;
            putn (m + o + 2, v, 4);
            memcpy (m + o + FIELD_HEAD, c + pos, v);
            pos += v;
            o += FIELD_HEAD + v;
        } else if (mode == 1 || mode == 2) {
            if (get_varint (c, clen, &pos, &v) < 0)
                goto bad_free;
            putn (m + o + 2, 8, 4);
            putn (m + o + FIELD_HEAD, mode == 2 ? unzigzag (v, base_us) : v, 8);
            o += FIELD_HEAD + 8;
        } else
            goto bad_free;
    }
    *out = m;
    *outlen = o;
    return 0;
bad_free:
    free (m);
bad:
    errno = EPROTO;
    return -1;
}
