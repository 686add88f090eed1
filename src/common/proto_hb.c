/* proto_hb.c - see proto_hb.h. */
#include "proto_hb.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

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

int zpar__proto_hb_is_rreg (const void *buf, size_t len)
{
    return buf && len == ZPAR_HB_RREG_LEN && memcmp (buf, ZPAR_HB_RREG, ZPAR_HB_RREG_LEN) == 0;
}

static void put32 (uint8_t *p, uint32_t v)
{
    memcpy (p, &v, 4); /* host order: the pipe never leaves the process */
}

static uint32_t get32 (const uint8_t *p)
{
    uint32_t v;
    memcpy (&v, p, 4);
    return v;
}

int zpar__hb_pipe_encode (const zpar_hb_pipe_msg_t *m, uint8_t out[ZPAR_HB_PIPE_LEN])
{
    if (!m || !out || m->kind <= ZPAR_HB_PIPE_NONE || m->kind >= ZPAR_HB_PIPE_KIND_MAX) {
        errno = EINVAL;
        return -1;
    }
    memset (out, 0, ZPAR_HB_PIPE_LEN);
    out[0] = (uint8_t)m->kind;
    put32 (out + 4, m->engine);
    put32 (out + 8, m->gen);
    put32 (out + 12, m->silent_ms);
    put32 (out + 16, m->missed);
    if (m->kind == ZPAR_HB_PIPE_WATCH) {
        put32 (out + 20, m->pid);
        memcpy (out + 24, m->route.b, ZPAR_ROUTE_LEN);
        memcpy (out + 24 + ZPAR_ROUTE_LEN, m->route.via, ZPAR_RELAY_ID_LEN);
    }
    return 0;
}

int zpar__hb_pipe_decode (const void *buf, size_t len, zpar_hb_pipe_msg_t *m, zpar_error_t *err)
{
    const uint8_t *p = buf;
    if (!buf || !m) {
        errno = EINVAL;
        return zpar__errprintf (err, "heartbeat pipe: no buffer or no output");
    }
    memset (m, 0, sizeof (*m));
    errno = EPROTO;
    if (len != ZPAR_HB_PIPE_LEN)
        return zpar__errprintf (err, "heartbeat pipe: %zu bytes, not %d", len, ZPAR_HB_PIPE_LEN);
    if (p[0] == ZPAR_HB_PIPE_NONE || p[0] >= ZPAR_HB_PIPE_KIND_MAX)
        return zpar__errprintf (err, "heartbeat pipe: unknown kind %u", p[0]);
    if (p[1] || p[2] || p[3])
        return zpar__errprintf (err, "heartbeat pipe: padding not zero");
    m->kind = (zpar_hb_pipe_kind_t)p[0];
    m->engine = get32 (p + 4);
    m->gen = get32 (p + 8);
    m->silent_ms = get32 (p + 12);
    m->missed = get32 (p + 16);
    m->pid = get32 (p + 20);
    memcpy (m->route.b, p + 24, ZPAR_ROUTE_LEN);
    memcpy (m->route.via, p + 24 + ZPAR_ROUTE_LEN, ZPAR_RELAY_ID_LEN);
    if (m->route.via[0] && !zpar__route_relayed (&m->route))
        return zpar__errprintf (err, "heartbeat pipe: a relay id that is none");
    if (m->kind != ZPAR_HB_PIPE_TERM && m->engine == 0)
        return zpar__errprintf (err, "heartbeat pipe: %s without an engine",
                                m->kind == ZPAR_HB_PIPE_WATCH ? "watch" : "event");
    if (m->kind == ZPAR_HB_PIPE_WATCH &&
        zpar__route_engine (m->route.b, sizeof (m->route.b)).v != m->engine)
        return zpar__errprintf (err,
                                "heartbeat pipe: watch of engine %u with a route naming "
                                "another",
                                m->engine);
    errno = 0;
    return 0;
}

int zpar__hb_pipe_send (void *sock, const zpar_hb_pipe_msg_t *m, int flags)
{
    uint8_t buf[ZPAR_HB_PIPE_LEN];
    if (!sock || zpar__hb_pipe_encode (m, buf) < 0) {
        errno = EINVAL;
        return -1;
    }
    return zmq_send (sock, buf, sizeof (buf), flags) < 0 ? -1 : 0;
}

int zpar__hb_pipe_recv (void *sock, zpar_hb_pipe_msg_t *m, int flags, zpar_error_t *err)
{
    zmq_msg_t f;
    int rc, more;
    if (!sock || !m) {
        errno = EINVAL;
        return -1;
    }
    zmq_msg_init (&f);
    if (zmq_msg_recv (&f, sock, flags) < 0) {
        zmq_msg_close (&f);
        return -1;
    }
    more = zmq_msg_more (&f);
    rc = zpar__hb_pipe_decode (zmq_msg_data (&f), zmq_msg_size (&f), m, err);
    zmq_msg_close (&f);
    if (more) {
        /* a message of several frames is not ours: swallow the rest */
        do {
            zmq_msg_init (&f);
            if (zmq_msg_recv (&f, sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close (&f);
                break;
            }
            more = zmq_msg_more (&f);
            zmq_msg_close (&f);
        } while (more);
        errno = EPROTO;
        return zpar__errprintf (err, "heartbeat pipe: more than one frame");
    }
    return rc;
}
