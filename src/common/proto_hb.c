/* proto_hb.c - see proto_hb.h. */
#include "proto_hb.h"

#include <errno.h>

#include "error.h"

static void put64 (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64 (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void zpar__proto_ping_encode (const zpar_proto_ping_t *p, uint8_t out[ZPAR_HB_PING_LEN])
{
    put64 (out, p->seq);
    put64 (out + 8, p->time_us);
    put64 (out + 16, p->session);
}

int zpar__proto_ping_decode (const void *buf, size_t len, zpar_proto_ping_t *p, zpar_error_t *err)
{
    if (!buf || !p) {
        errno = EINVAL;
        return zpar__errprintf (err, "ping: no buffer or no output");
    }
    if (len != ZPAR_HB_PING_LEN) {
        errno = EPROTO;
        return zpar__errprintf (err, "ping: %zu bytes, not %d", len, ZPAR_HB_PING_LEN);
    }
    p->seq = get64 (buf);
    p->time_us = get64 ((const uint8_t *)buf + 8);
    p->session = get64 ((const uint8_t *)buf + 16);
    if (p->seq == 0) {
        errno = EPROTO;
        return zpar__errprintf (err, "ping: seq 0");
    }
    return 0;
}
