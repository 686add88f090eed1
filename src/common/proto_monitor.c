/* proto_monitor.c - the schedulers' records to the hub's monitor socket:
 * items packed per thread, one message per flush. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "error.h"
#include "proto_monitor.h"

#define HEAD_LEN  4
#define ITEM_HEAD 5
static const uint8_t head[HEAD_LEN] = {'Z', 'M', 1, 0};

static const char *const tags[ZPAR_MON_KIND_MAX] = {
    [ZPAR_MON_TASK_IN] = "task_in",   [ZPAR_MON_TASK_RUN] = "task_run",
    [ZPAR_MON_TASK_OUT] = "task_out", [ZPAR_MON_MUX_IN] = "mux_in",
    [ZPAR_MON_MUX_OUT] = "mux_out",   [ZPAR_MON_CTL_OUT] = "ctl_out",
};

/* this thread's pack: the socket it goes to, the bytes so far */
static __thread struct {
    void *sock;
    uint8_t *buf;
    size_t len, cap;
} pack;

static int kind_ok (zpar_monitor_kind_t kind)
{
    return (int)kind > ZPAR_MON_NONE && kind < ZPAR_MON_KIND_MAX;
}

const char *zpar__monitor_tag (zpar_monitor_kind_t kind)
{
    return kind_ok (kind) ? tags[kind] : "?";
}

zpar_monitor_kind_t zpar__monitor_kind (const void *tag, size_t len)
{
    if (!tag)
        return ZPAR_MON_NONE;
    for (int k = ZPAR_MON_NONE + 1; k < ZPAR_MON_KIND_MAX; k++)
        if (strlen (tags[k]) == len && memcmp (tags[k], tag, len) == 0)
            return (zpar_monitor_kind_t)k;
    return ZPAR_MON_NONE;
}

static void put32 (uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64 (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t getn (const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

static void free_buf (void *data, void *hint)
{
    (void)hint;
    free (data);
}

int zpar__monitor_flush (void *sock)
{
    zmq_msg_t m;
    int rc;
    if (!sock) {
        errno = EINVAL;
        return -1;
    }
    if (pack.sock != sock || pack.len <= HEAD_LEN)
        return 0;
    /* the buffer goes to libzmq as it is: the hub's close frees it */
    if (zmq_msg_init_data (&m, pack.buf, pack.len, free_buf, NULL) < 0) {
        free (pack.buf);
        rc = -1;
    } else if ((rc = zmq_msg_send (&m, sock, ZMQ_DONTWAIT)) < 0) {
        int e = errno;
        zmq_msg_close (&m);
        errno = e;
    }
    pack.buf = NULL;
    pack.len = pack.cap = 0;
    pack.sock = NULL;
    return rc < 0 ? -1 : 0;
}

size_t zpar__monitor_pending (void *sock)
{
    return sock && pack.sock == sock && pack.len > HEAD_LEN ? pack.len : 0;
}

/* Room for an item of plen payload bytes in sock's pack: a pointer to
 * its head (filled by the caller after), NULL ENOMEM / send error. */
static uint8_t *reserve (void *sock, zpar_monitor_kind_t kind, size_t plen)
{
    size_t need = ITEM_HEAD + plen;
    uint8_t *p;
    if (plen > UINT32_MAX) {
        errno = EMSGSIZE;
        return NULL;
    }
    /* another socket's pack, or no room: it goes first (dropped if it
     * cannot be sent: PUB drops when full anyway) */
    if (pack.sock && (pack.sock != sock || pack.len + need > ZPAR_MONITOR_PACK_MAX))
        (void)zpar__monitor_flush (pack.sock);
    if (!pack.buf) {
        size_t cap = 4096;
        while (cap < HEAD_LEN + need)
            cap *= 2;
        if (!(pack.buf = malloc (cap)))
            return NULL;
        memcpy (pack.buf, head, HEAD_LEN);
        pack.len = HEAD_LEN;
        pack.cap = cap;
        pack.sock = sock;
    } else if (pack.len + need > pack.cap) {
        size_t cap = pack.cap * 2;
        uint8_t *nb;
        while (cap < pack.len + need)
            cap *= 2;
        if (!(nb = realloc (pack.buf, cap)))
            return NULL;
        pack.buf = nb;
        pack.cap = cap;
    }
    p = pack.buf + pack.len;
    p[0] = (uint8_t)kind;
    put32 (p + 1, (uint32_t)plen);
    pack.len += need;
    return p + ITEM_HEAD;
}

/* Append an item: header hb (encoded) and body; a TASK_RUN keeps only
 * the task id and the engine. */
static int append (void *sock, zpar_monitor_kind_t kind, const zpar_hdr_t *h, const uint8_t *hb,
                   const void *body, size_t blen)
{
    uint8_t *p;
    if (kind == ZPAR_MON_TASK_RUN) {
        uint64_t task = h ? h->task : getn (hb + 24, 8);
        uint32_t engine = h ? h->engine : (uint32_t)getn (hb + 40, 4);
        if (!(p = reserve (sock, kind, ZPAR_MONITOR_RUN_LEN)))
            return -1;
        put64 (p, task);
        put32 (p + 8, engine);
    } else {
        if (!(p = reserve (sock, kind, ZPAR_HDR_LEN + blen)))
            return -1;
        if (h)
            zpar__hdr_encode (h, p);
        else
            memcpy (p, hb, ZPAR_HDR_LEN);
        if (blen)
            memcpy (p + ZPAR_HDR_LEN, body, blen);
    }
    if (pack.len >= ZPAR_MONITOR_PACK_MAX)
        return zpar__monitor_flush (sock);
    return 0;
}

int zpar__monitor_copy (void *sock, zpar_monitor_kind_t kind, zpar_frames_t *f,
                        const zpar_hdr_t *hdr)
{
    int d;
    if (!sock || !f || !kind_ok (kind) || f->delim < 0 || f->n < f->delim + 4 ||
        zmq_msg_size (&f->part[f->delim + 2]) != ZPAR_HDR_LEN) {
        errno = EINVAL;
        return -1;
    }
    d = f->delim;
    return append (sock, kind, hdr, zmq_msg_data (&f->part[d + 2]), zmq_msg_data (&f->part[d + 3]),
                   zmq_msg_size (&f->part[d + 3]));
}

int zpar__monitor_send_msg (void *sock, zpar_signer_t *s, zpar_monitor_kind_t kind, zpar_msg_t *m)
{
    (void)s;
    if (!sock || !m || !kind_ok (kind)) {
        errno = EINVAL;
        return -1;
    }
    return append (sock, kind, &m->hdr, NULL, m->body, m->len);
}

int zpar__monitor_item (void *sock, zpar_monitor_kind_t kind, const zpar_hdr_t *h, const void *body,
                        size_t blen)
{
    if (!sock || !h || !kind_ok (kind) || (blen && !body)) {
        errno = EINVAL;
        return -1;
    }
    return append (sock, kind, h, NULL, body, blen);
}

int zpar__monitor_next (const void *buf, size_t len, size_t *off, zpar_monitor_item_t *it,
                        zpar_error_t *err)
{
    const uint8_t *b = buf, *p;
    size_t plen;
    int kind;
    if (!buf || !off || !it) {
        errno = EINVAL;
        return zpar__errprintf (err, "invalid argument");
    }
    memset (it, 0, sizeof (*it));
    if (*off == 0) {
        if (len < HEAD_LEN || memcmp (b, head, HEAD_LEN) != 0)
            return zpar__errnoprintf (err, EPROTO, "monitor record: bad head (%zu bytes)", len);
        *off = HEAD_LEN;
    }
    if (*off >= len)
        return 0;
    if (len - *off < ITEM_HEAD)
        return zpar__errnoprintf (err, EPROTO, "monitor record: item cut at offset %zu", *off);
    p = b + *off;
    kind = p[0];
    plen = (size_t)getn (p + 1, 4);
    if (!kind_ok ((zpar_monitor_kind_t)kind))
        return zpar__errnoprintf (err, EPROTO, "monitor record: unknown kind %d at offset %zu",
                                  kind, *off);
    if (plen > len - *off - ITEM_HEAD)
        return zpar__errnoprintf (err, EPROTO,
                                  "monitor record: item of %zu bytes at offset %zu, %zu left", plen,
                                  *off, len - *off - ITEM_HEAD);
    p += ITEM_HEAD;
    it->kind = (zpar_monitor_kind_t)kind;
    if (kind == ZPAR_MON_TASK_RUN) {
        if (plen != ZPAR_MONITOR_RUN_LEN)
            return zpar__errnoprintf (err, EPROTO, "monitor record: task_run of %zu bytes", plen);
        it->hdr.task = getn (p, 8);
        it->hdr.engine = (uint32_t)getn (p + 8, 4);
    } else {
        if (plen < ZPAR_HDR_LEN)
            return zpar__errnoprintf (err, EPROTO, "monitor record: %s of %zu bytes, no header",
                                      tags[kind], plen);
        it->hdr.version = (uint16_t)getn (p, 2);
        it->hdr.type = (uint16_t)getn (p + 2, 2);
        it->hdr.flags = (uint32_t)getn (p + 4, 4);
        it->hdr.session = getn (p + 8, 8);
        it->hdr.seq = getn (p + 16, 8);
        it->hdr.task = getn (p + 24, 8);
        it->hdr.time_us = getn (p + 32, 8);
        it->hdr.engine = (uint32_t)getn (p + 40, 4);
        it->hdr.client = (uint32_t)getn (p + 44, 4);
        if (it->hdr.version != ZPAR_PROTO_VERSION)
            return zpar__errnoprintf (err, EPROTO, "monitor record: %s of protocol version %u",
                                      tags[kind], it->hdr.version);
        it->packed = p;
        it->len = plen;
    }
    *off += ITEM_HEAD + plen;
    return 1;
}
