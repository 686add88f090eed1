/* proto_pipe.c - the hub <-> scheduler pipes, as typed messages. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "error.h"
#include "msg.h"
#include "proto_pipe.h"
#include "proto_task.h"

static const char *const names[ZPAR_PIPE_KIND_MAX] = {
    [ZPAR_PIPE_RES] = "res",        [ZPAR_PIPE_UP] = "up",       [ZPAR_PIPE_DOWN] = "down",
    [ZPAR_PIPE_DONE] = "done",      [ZPAR_PIPE_REQUEUE] = "req", [ZPAR_PIPE_TERM] = "$TERM",
    [ZPAR_PIPE_DEP_QUERY] = "dep?", [ZPAR_PIPE_ADOPT] = "adopt", [ZPAR_PIPE_RECORDED] = "rec",
};

#define ADOPT_ENTRY_HDR 12 /* task u64, len u32 */

/* Check an adopt list: whole entries, each request empty or at least a
 * header.  0 / -1. */
static int adopt_list_ok (const uint8_t *p, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        uint32_t n;
        if (len - pos < ADOPT_ENTRY_HDR)
            return -1;
        memcpy (&n, p + pos + 8, 4);
        pos += ADOPT_ENTRY_HDR;
        if ((n && n < ZPAR_HDR_LEN) || n > len - pos)
            return -1;
        pos += n;
    }
    return 0;
}

const char *zpar__pipe_kind_name (zpar_pipe_kind_t kind)
{
    if ((int)kind <= ZPAR_PIPE_NONE || kind >= ZPAR_PIPE_KIND_MAX)
        return "?";
    return names[kind];
}

static int add_part (zpar_frames_t *f, const void *data, size_t len)
{
    if (zmq_msg_init_size (&f->part[f->n], len) < 0)
        return -1;
    if (len)
        memcpy (zmq_msg_data (&f->part[f->n]), data, len);
    f->n++;
    return 0;
}

/* A RES message's fields: cores at least 1, a SLOT string naming the
 * engine.  0 / -1. */
static int res_ok (const zpar_pipe_msg_t *m)
{
    char text[ZPAR_SLOT_MAX];
    zpar_proto_slot_t slot;
    if (!m->engine || m->cores == 0 || m->cores > ZPAR_RES_MAX_CORES || !m->data || !m->len ||
        m->len >= sizeof (text) || memchr (m->data, '\0', m->len))
        return -1;
    memcpy (text, m->data, m->len);
    text[m->len] = '\0';
    if (zpar__proto_slot_parse (text, &slot, NULL) < 0 || slot.engine.v != m->engine)
        return -1;
    return 0;
}

int zpar__pipe_encode (const zpar_pipe_msg_t *m, zpar_frames_t *f)
{
    const char *cmd;
    uint8_t ok;
    int rc;

    if (f) {
        f->n = 0;
        f->delim = -1;
    }
    if (!m || !f || (int)m->kind <= ZPAR_PIPE_NONE || m->kind >= ZPAR_PIPE_KIND_MAX ||
        (m->kind == ZPAR_PIPE_REQUEUE && (!m->data || m->len < ZPAR_HDR_LEN)) ||
        (m->kind == ZPAR_PIPE_UP &&
         zpar__route_engine (m->route.b, sizeof (m->route.b)).v != m->engine) ||
        (m->adopt_len && !m->adopt) ||
        ((m->kind == ZPAR_PIPE_UP || m->kind == ZPAR_PIPE_ADOPT) && m->adopt_len &&
         adopt_list_ok (m->adopt, m->adopt_len) < 0) ||
        (m->kind == ZPAR_PIPE_ADOPT && (!m->adopt_len || !m->engine)) ||
        (m->kind == ZPAR_PIPE_RES && res_ok (m) < 0)) {
        errno = EINVAL;
        return -1;
    }
    cmd = names[m->kind];
    rc = add_part (f, cmd, strlen (cmd));
    switch (m->kind) {
    case ZPAR_PIPE_UP:
        if (rc == 0)
            rc = add_part (f, &m->engine, sizeof (m->engine));
        if (rc == 0) {
            uint8_t packed[ZPAR_ROUTE_PACKED_MAX];
            rc = add_part (f, packed, zpar__route_pack (&m->route, packed));
        }
        if (rc == 0 && m->adopt_len)
            rc = add_part (f, m->adopt, m->adopt_len);
        break;
    case ZPAR_PIPE_ADOPT:
        if (rc == 0)
            rc = add_part (f, &m->engine, sizeof (m->engine));
        if (rc == 0)
            rc = add_part (f, m->adopt, m->adopt_len);
        break;
    case ZPAR_PIPE_RES:
        if (rc == 0)
            rc = add_part (f, &m->engine, sizeof (m->engine));
        if (rc == 0)
            rc = add_part (f, &m->cores, sizeof (m->cores));
        if (rc == 0)
            rc = add_part (f, m->data, m->len);
        if (rc == 0)
            rc = add_part (f, &m->node_mem, sizeof (m->node_mem));
        break;
    case ZPAR_PIPE_DOWN:
        if (rc == 0)
            rc = add_part (f, &m->engine, sizeof (m->engine));
        break;
    case ZPAR_PIPE_DONE:
        ok = m->ok ? 1 : 2;
        if (rc == 0)
            rc = add_part (f, &m->task, sizeof (m->task));
        if (rc == 0)
            rc = add_part (f, &ok, 1);
        break;
    case ZPAR_PIPE_DEP_QUERY:
    case ZPAR_PIPE_RECORDED:
        if (rc == 0)
            rc = add_part (f, &m->task, sizeof (m->task));
        break;
    case ZPAR_PIPE_REQUEUE:
        if (rc == 0)
            rc = add_part (f, m->data, m->len);
        break;
    default:
        break;
    }
    if (rc < 0) {
        zpar__frames_close (f);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

static int frame_is (const zpar_frames_t *f, int i, size_t len)
{
    return zmq_msg_size ((zmq_msg_t *)&f->part[i]) == len;
}

int zpar__pipe_decode (const zpar_frames_t *f, zpar_pipe_msg_t *m, zpar_error_t *err)
{
    zpar_frames_t *g = (zpar_frames_t *)f; /* zmq's accessors are not const */
    const char *cmd;
    size_t len;
    int kind = ZPAR_PIPE_NONE;

    if (!f || !m) {
        errno = EINVAL;
        return zpar__errprintf (err, "invalid argument");
    }
    memset (m, 0, sizeof (*m));
    if (f->n < 1 || f->n > ZPAR_MAX_PARTS)
        return zpar__errnoprintf (err, EPROTO, "empty pipe message");
    cmd = zmq_msg_data (&g->part[0]);
    len = zmq_msg_size (&g->part[0]);
    for (int k = ZPAR_PIPE_NONE + 1; k < ZPAR_PIPE_KIND_MAX; k++) {
        if (strlen (names[k]) == len && memcmp (names[k], cmd, len) == 0) {
            kind = k;
            break;
        }
    }
    switch (kind) {
    case ZPAR_PIPE_UP:
        if ((f->n != 3 && f->n != 4) || !frame_is (f, 1, 4) ||
            zpar__route_unpack (zmq_msg_data (&g->part[2]), zmq_msg_size (&g->part[2]), &m->route) <
                0)
            goto malformed;
        memcpy (&m->engine, zmq_msg_data (&g->part[1]), 4);
        if (zpar__route_engine (m->route.b, sizeof (m->route.b)).v != m->engine)
            goto malformed;
        if (f->n == 4) {
            m->adopt = zmq_msg_data (&g->part[3]);
            m->adopt_len = zmq_msg_size (&g->part[3]);
            if (!m->adopt_len || adopt_list_ok (m->adopt, m->adopt_len) < 0)
                goto malformed;
        }
        break;
    case ZPAR_PIPE_ADOPT:
        if (f->n != 3 || !frame_is (f, 1, 4))
            goto malformed;
        memcpy (&m->engine, zmq_msg_data (&g->part[1]), 4);
        m->adopt = zmq_msg_data (&g->part[2]);
        m->adopt_len = zmq_msg_size (&g->part[2]);
        if (!m->engine || !m->adopt_len || adopt_list_ok (m->adopt, m->adopt_len) < 0)
            goto malformed;
        break;
    case ZPAR_PIPE_RES:
        if (f->n != 5 || !frame_is (f, 1, 4) || !frame_is (f, 2, 4) || !frame_is (f, 4, 8))
            goto malformed;
        memcpy (&m->engine, zmq_msg_data (&g->part[1]), 4);
        memcpy (&m->cores, zmq_msg_data (&g->part[2]), 4);
        m->data = zmq_msg_data (&g->part[3]);
        m->len = zmq_msg_size (&g->part[3]);
        memcpy (&m->node_mem, zmq_msg_data (&g->part[4]), 8);
        if (res_ok (m) < 0)
            goto malformed;
        break;
    case ZPAR_PIPE_DOWN:
        if (f->n != 2 || !frame_is (f, 1, 4))
            goto malformed;
        memcpy (&m->engine, zmq_msg_data (&g->part[1]), 4);
        break;
    case ZPAR_PIPE_DONE: {
        uint8_t ok;
        if (f->n != 3 || !frame_is (f, 1, 8) || !frame_is (f, 2, 1))
            goto malformed;
        memcpy (&m->task, zmq_msg_data (&g->part[1]), 8);
        ok = *(const uint8_t *)zmq_msg_data (&g->part[2]);
        if (ok != 1 && ok != 2)
            goto malformed;
        m->ok = ok == 1;
        break;
    }
    case ZPAR_PIPE_DEP_QUERY:
    case ZPAR_PIPE_RECORDED:
        if (f->n != 2 || !frame_is (f, 1, 8))
            goto malformed;
        memcpy (&m->task, zmq_msg_data (&g->part[1]), 8);
        break;
    case ZPAR_PIPE_REQUEUE:
        if (f->n != 2 || zmq_msg_size (&g->part[1]) < ZPAR_HDR_LEN)
            goto malformed;
        m->data = zmq_msg_data (&g->part[1]);
        m->len = zmq_msg_size (&g->part[1]);
        break;
    case ZPAR_PIPE_TERM:
        if (f->n != 1)
            goto malformed;
        break;
    default:
        return zpar__errnoprintf (err, EPROTO, "unknown pipe command (%zu bytes)", len);
    }
    m->kind = (zpar_pipe_kind_t)kind;
    return 0;
malformed:
    memset (m, 0, sizeof (*m));
    return zpar__errnoprintf (err, EPROTO, "malformed pipe message '%s' (%d frames)", names[kind],
                              f->n);
}

int zpar__pipe_send (void *sock, const zpar_pipe_msg_t *m, int flags)
{
    zpar_frames_t f;
    if (!sock) {
        errno = EINVAL;
        return -1;
    }
    if (zpar__pipe_encode (m, &f) < 0)
        return -1;
    return zpar__frames_send (sock, &f, 0, flags); /* closes f whatever happens */
}

int zpar__pipe_send_res (void *sock, uint32_t engine, unsigned cores, const char *slot,
                         uint64_t node_mem, int flags)
{
    zpar_pipe_msg_t m = {.kind = ZPAR_PIPE_RES,
                         .engine = engine,
                         .cores = cores,
                         .data = slot,
                         .node_mem = node_mem};
    if (!slot) {
        errno = EINVAL;
        return -1;
    }
    m.len = strlen (slot);
    return zpar__pipe_send (sock, &m, flags);
}

int zpar__pipe_send_up (void *sock, const zpar_route_t *route, int flags)
{
    zpar_pipe_msg_t m = {.kind = ZPAR_PIPE_UP};
    if (!route) {
        errno = EINVAL;
        return -1;
    }
    m.route = *route;
    m.engine = zpar__route_engine (route->b, sizeof (route->b)).v;
    return zpar__pipe_send (sock, &m, flags);
}

int zpar__pipe_send_down (void *sock, uint32_t engine, int flags)
{
    zpar_pipe_msg_t m = {.kind = ZPAR_PIPE_DOWN, .engine = engine};
    return zpar__pipe_send (sock, &m, flags);
}

int zpar__pipe_send_done (void *sock, uint64_t task, int ok, int flags)
{
    zpar_pipe_msg_t m = {.kind = ZPAR_PIPE_DONE, .task = task, .ok = ok};
    return zpar__pipe_send (sock, &m, flags);
}

int zpar__pipe_send_requeue (void *sock, const void *req, size_t len, int flags)
{
    zpar_pipe_msg_t m = {.kind = ZPAR_PIPE_REQUEUE, .data = req, .len = len};
    return zpar__pipe_send (sock, &m, flags);
}

int zpar__pipe_send_term (void *sock, int flags)
{
    zpar_pipe_msg_t m = {.kind = ZPAR_PIPE_TERM};
    return zpar__pipe_send (sock, &m, flags);
}

int zpar__pipe_send_dep_query (void *sock, uint64_t task, int flags)
{
    zpar_pipe_msg_t m = {.kind = ZPAR_PIPE_DEP_QUERY, .task = task};
    return zpar__pipe_send (sock, &m, flags);
}

int zpar__pipe_send_recorded (void *sock, uint64_t count, int flags)
{
    zpar_pipe_msg_t m = {.kind = ZPAR_PIPE_RECORDED, .task = count};
    return zpar__pipe_send (sock, &m, flags);
}

int zpar__pipe_adopt_add (uint8_t **buf, size_t *len, uint64_t task, const void *req, size_t reqlen)
{
    uint8_t *nb;
    uint32_t n = (uint32_t)reqlen;
    if (!buf || !len || !task || (reqlen && !req) || (reqlen && reqlen < ZPAR_HDR_LEN) ||
        reqlen > UINT32_MAX || (*len && !*buf)) {
        errno = EINVAL;
        return -1;
    }
    if (!(nb = realloc (*buf, *len + ADOPT_ENTRY_HDR + reqlen))) {
        errno = ENOMEM;
        return -1;
    }
    memcpy (nb + *len, &task, 8);
    memcpy (nb + *len + 8, &n, 4);
    if (reqlen)
        memcpy (nb + *len + ADOPT_ENTRY_HDR, req, reqlen);
    *buf = nb;
    *len += ADOPT_ENTRY_HDR + reqlen;
    return 0;
}

int zpar__pipe_adopt_next (const zpar_pipe_msg_t *m, size_t *pos, uint64_t *task, const void **req,
                           size_t *reqlen)
{
    const uint8_t *p;
    uint32_t n;
    if (!m || !pos || !task || !req || !reqlen) {
        errno = EINVAL;
        return -1;
    }
    if (*pos >= m->adopt_len)
        return 0;
    p = (const uint8_t *)m->adopt + *pos;
    if (m->adopt_len - *pos < ADOPT_ENTRY_HDR) {
        errno = EPROTO;
        return -1;
    }
    memcpy (task, p, 8);
    memcpy (&n, p + 8, 4);
    if (n > m->adopt_len - *pos - ADOPT_ENTRY_HDR) {
        errno = EPROTO;
        return -1;
    }
    *req = n ? p + ADOPT_ENTRY_HDR : NULL;
    *reqlen = n;
    *pos += ADOPT_ENTRY_HDR + n;
    return 1;
}

int zpar__pipe_send_up_adopt (void *sock, const zpar_route_t *route, const void *list, size_t len,
                              int flags)
{
    zpar_pipe_msg_t m = {.kind = ZPAR_PIPE_UP, .adopt = list, .adopt_len = len};
    if (!route) {
        errno = EINVAL;
        return -1;
    }
    m.route = *route;
    m.engine = zpar__route_engine (route->b, sizeof (route->b)).v;
    return zpar__pipe_send (sock, &m, flags);
}

int zpar__pipe_send_adopt (void *sock, uint32_t engine, const void *list, size_t len, int flags)
{
    zpar_pipe_msg_t m = {
        .kind = ZPAR_PIPE_ADOPT, .engine = engine, .adopt = list, .adopt_len = len};
    return zpar__pipe_send (sock, &m, flags);
}

int zpar__pipe_recv (void *sock, zpar_frames_t *f, zpar_pipe_msg_t *m, int flags, zpar_error_t *err)
{
    if (!sock || !f || !m) {
        errno = EINVAL;
        return zpar__errprintf (err, "invalid argument");
    }
    if (zpar__frames_recv (sock, f, flags) < 0) {
        if (errno == EPROTO)
            zpar__errprintf (err, "too many frames");
        return -1;
    }
    return zpar__pipe_decode (f, m, err);
}

int zpar__pipe_requeue_frames (const zpar_pipe_msg_t *m, zpar_frames_t *f)
{
    static const uint8_t sig[ZPAR_SIG_LEN];
    const uint8_t *buf;

    if (f) {
        f->n = 0;
        f->delim = -1;
    }
    if (!m || !f || m->kind != ZPAR_PIPE_REQUEUE || !m->data || m->len < ZPAR_HDR_LEN) {
        errno = EINVAL;
        return -1;
    }
    buf = m->data;
    if (add_part (f, "hub", 3) < 0 ||
        add_part (f, ZPAR_PROTO_DELIM, strlen (ZPAR_PROTO_DELIM)) < 0 ||
        add_part (f, sig, sizeof (sig)) < 0 || add_part (f, buf, ZPAR_HDR_LEN) < 0 ||
        add_part (f, buf + ZPAR_HDR_LEN, m->len - ZPAR_HDR_LEN) < 0) {
        zpar__frames_close (f);
        errno = ENOMEM;
        return -1;
    }
    f->delim = 1;
    return 0;
}

int zpar__pipe_inject_is_term (const zpar_frames_t *f)
{
    zpar_frames_t *g = (zpar_frames_t *)f;
    if (!f || f->n < 1) {
        errno = EPROTO;
        return -1;
    }
    if (f->n == 1) {
        if (zmq_msg_size (&g->part[0]) == 5 && memcmp (zmq_msg_data (&g->part[0]), "$TERM", 5) == 0)
            return 1;
        errno = EPROTO;
        return -1;
    }
    return 0;
}

int zpar__pipe_send_route (void *sock, const zpar_route_t *route, int flags)
{
    zpar_frames_t f = {.n = 0, .delim = -1};
    if (!sock || !route || zpar__route_engine (route->b, sizeof (route->b)).v == 0) {
        errno = EINVAL;
        return -1;
    }
    uint8_t packed[ZPAR_ROUTE_PACKED_MAX];
    if (add_part (&f, "$ROUTE", 6) < 0 ||
        add_part (&f, packed, zpar__route_pack (route, packed)) < 0) {
        zpar__frames_close (&f);
        errno = ENOMEM;
        return -1;
    }
    return zpar__frames_send (sock, &f, 0, flags); /* closes f whatever happens */
}

int zpar__pipe_inject_route (const zpar_frames_t *f, zpar_route_t *route)
{
    zpar_frames_t *g = (zpar_frames_t *)f;
    if (!f || !route || f->n < 1) {
        errno = EINVAL;
        return -1;
    }
    if (zmq_msg_size (&g->part[0]) != 6 || memcmp (zmq_msg_data (&g->part[0]), "$ROUTE", 6) != 0)
        return 0;
    if (f->n != 2 ||
        zpar__route_unpack (zmq_msg_data (&g->part[1]), zmq_msg_size (&g->part[1]), route) < 0) {
        errno = EPROTO;
        return -1;
    }
    return 1;
}
