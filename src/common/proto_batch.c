/* proto_batch.c - the batch message: builder and reader (proto_batch.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "le.h"
#include "netlimit.h"
#include "proto_batch.h"
#include "proto_check.h"

/* field header: u16 key, u32 length */
#define FIELD_HDR 6
/* what the data sockets' size limit leaves for the body frame */
#define FRAME_SLACK 4096

struct zpar_batch {
    uint8_t *buf; /* the batch body: ZPAR_F_ITEM fields */
    size_t len;
    size_t cap;
    size_t limit; /* the most body bytes a batch may take */
    size_t n;
    size_t off[ZPAR_BATCH_MAX]; /* where each item's header starts in buf */
    zpar_hdr_t hdr[ZPAR_BATCH_MAX];
};

int zpar__no_engine_batch (void)
{
    const char *e = getenv ("ZPAR_NO_ENGINE_BATCH");
    return e && *e && strcmp (e, "0") != 0;
}

zpar_batch_t *zpar__batch_create (void)
{
    zpar_batch_t *b = calloc (1, sizeof (*b));
    int64_t lim;

    if (!b)
        return NULL;
    lim = zpar__netlimit_data () - FRAME_SLACK;
    if (lim > (int64_t)ZPAR_MAX_BODY)
        lim = ZPAR_MAX_BODY;
    b->limit = lim > 0 ? (size_t)lim : 0;
    return b;
}

void zpar__batch_destroy (zpar_batch_t *b)
{
    if (b) {
        int saved = errno;
        free (b->buf);
        free (b);
        errno = saved;
    }
}

void zpar__batch_reset (zpar_batch_t *b)
{
    if (b) {
        b->len = 0;
        b->n = 0;
    }
}

size_t zpar__batch_count (const zpar_batch_t *b)
{
    return b ? b->n : 0;
}

size_t zpar__batch_bytes (const zpar_batch_t *b)
{
    return b ? b->len : 0;
}

int zpar__batch_add (zpar_batch_t *b, const zpar_hdr_t *hdr, const void *body, size_t blen)
{
    size_t need;

    if (!b || !hdr || (blen && !body) || hdr->type == ZPAR_MSG_BATCH ||
        !zpar__msg_type_known (hdr->type) || blen > ZPAR_MAX_BODY ||
        zpar__msg_body_check (body, blen, NULL) < 0) {
        errno = EINVAL;
        return -1;
    }
    need = FIELD_HDR + ZPAR_HDR_LEN + blen;
    if (b->n >= ZPAR_BATCH_MAX || (b->n > 0 && b->len + need > b->limit)) {
        errno = ENOSPC;
        return -1;
    }
    if (b->len + need > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 4096;
        uint8_t *nb;
        while (ncap < b->len + need)
            ncap *= 2;
        if (!(nb = realloc (b->buf, ncap)))
            return -1;
        b->buf = nb;
        b->cap = ncap;
    }
    put16 (b->buf + b->len, ZPAR_F_ITEM);
    put32 (b->buf + b->len + 2, (uint32_t)(ZPAR_HDR_LEN + blen));
    b->off[b->n] = b->len + FIELD_HDR;
    b->hdr[b->n] = *hdr;
    b->hdr[b->n].version = ZPAR_PROTO_VERSION;
    /* the header bytes are written at send, once stamped */
    if (blen)
        memcpy (b->buf + b->len + FIELD_HDR + ZPAR_HDR_LEN, body, blen);
    b->len += need;
    b->n++;
    return 0;
}

int zpar__batch_add_msg (zpar_batch_t *b, const zpar_msg_t *m)
{
    if (!m) {
        errno = EINVAL;
        return -1;
    }
    return zpar__batch_add (b, &m->hdr, m->body, m->len);
}

int zpar__batch_add_frames (zpar_batch_t *b, const zpar_frames_t *f, const zpar_hdr_t *hdr)
{
    zpar_hdr_t h;
    zmq_msg_t *hp, *bp;
    int d;

    if (!f || (d = f->delim) < 0 || f->n != d + 4) {
        errno = EINVAL;
        return -1;
    }
    /* zmq_msg_data/size take non-const pointers; nothing is modified */
    hp = (zmq_msg_t *)&f->part[d + 2];
    bp = (zmq_msg_t *)&f->part[d + 3];
    if (!hdr) {
        if (zmq_msg_size (hp) != ZPAR_HDR_LEN) {
            errno = EINVAL;
            return -1;
        }
        zpar__hdr_decode (zmq_msg_data (hp), &h);
        hdr = &h;
    }
    return zpar__batch_add (b, hdr, zmq_msg_data (bp), zmq_msg_size (bp));
}

int zpar__batch_send (zpar_batch_t *b, void *sock, zpar_signer_t *s, zpar_chan_t chan, int nenv,
                      const zpar_ident_t *env, int flags, size_t *sent)
{
    zpar_hdr_t bh;
    int rc;
    size_t n;

    if (sent)
        *sent = 0;
    if (!b || !sock || !s || chan >= ZPAR_CHAN_MAX) {
        zpar__batch_reset (b);
        errno = EINVAL;
        return -1;
    }
    if ((n = b->n) == 0)
        return 0;
    if (chan == ZPAR_CHAN_ANY)
        chan = zpar__flags_chan (b->hdr[0].flags);
    if (n == 1) {
        size_t at = b->off[0] + ZPAR_HDR_LEN;
        rc = zpar__wire_send_raw (sock, s, chan, nenv, env, &b->hdr[0], b->buf + at, b->len - at,
                                  flags);
    } else {
        memset (&bh, 0, sizeof (bh));
        bh.version = ZPAR_PROTO_VERSION;
        bh.type = ZPAR_MSG_BATCH;
        bh.engine = b->hdr[0].engine;
        bh.client = b->hdr[0].client;
        for (size_t i = 0; i < n; i++) {
            zpar_hdr_t *h = &b->hdr[i];
            /* the batch names an engine or a client only when every item does */
            if (h->engine != bh.engine)
                bh.engine = 0;
            if (h->client != bh.client)
                bh.client = 0;
            h->flags = zpar__flags_with_chan (h->flags, chan);
            zpar__signer_stamp (s, h);
            zpar__hdr_encode (h, b->buf + b->off[i]);
        }
        rc = zpar__wire_send_raw (sock, s, chan, nenv, env, &bh, b->buf, b->len, flags);
    }
    zpar__batch_reset (b);
    if (rc == 0 && sent)
        *sent = n;
    return rc;
}

int zpar__batch_send_route (zpar_batch_t *b, void *sock, zpar_signer_t *s, zpar_chan_t chan,
                            const zpar_frames_t *f, int flags, size_t *sent)
{
    zpar_ident_t env[ZPAR_MAX_ENVELOPE];
    int nenv = 0;

    if (f) {
        if (f->delim < 0 || f->delim > ZPAR_MAX_ENVELOPE) {
            zpar__batch_reset (b);
            if (sent)
                *sent = 0;
            errno = EINVAL;
            return -1;
        }
        for (int i = 0; i < f->delim; i++) {
            zmq_msg_t *p = (zmq_msg_t *)&f->part[i];
            size_t l = zmq_msg_size (p);
            if (l > ZPAR_MAX_IDENT) {
                zpar__batch_reset (b);
                if (sent)
                    *sent = 0;
                errno = EINVAL;
                return -1;
            }
            env[i].len = l;
            memcpy (env[i].data, zmq_msg_data (p), l);
        }
        nenv = f->delim;
    }
    return zpar__batch_send (b, sock, s, chan, nenv, env, flags, sent);
}

int zpar__batch_iter_init (zpar_batch_iter_t *it, const zpar_hdr_t *hdr, const void *body,
                           size_t blen, zpar_error_t *err)
{
    const uint8_t *p = body;
    size_t pos = 0, n = 0;

    if (!it || !hdr || hdr->type != ZPAR_MSG_BATCH)
        return zpar__errnoprintf (err, EINVAL, "not a batch");
    memset (it, 0, sizeof (*it));
    if (blen && !p)
        return zpar__errnoprintf (err, EPROTO, "batch without a body");
    while (pos < blen) {
        uint32_t len;
        if (blen - pos < FIELD_HDR)
            return zpar__errnoprintf (err, EPROTO, "batch: truncated field at offset %zu", pos);
        len = get32 (p + pos + 2);
        if (get16 (p + pos) != ZPAR_F_ITEM)
            return zpar__errnoprintf (err, EPROTO, "batch: field %u is not an item",
                                      get16 (p + pos));
        if (len > blen - pos - FIELD_HDR)
            return zpar__errnoprintf (err, EPROTO, "batch: item at offset %zu claims %u bytes", pos,
                                      len);
        if (++n > ZPAR_BATCH_MAX)
            return zpar__errnoprintf (err, EPROTO, "batch of more than %d items", ZPAR_BATCH_MAX);
        pos += FIELD_HDR + (size_t)len;
    }
    if (n < 2)
        return zpar__errnoprintf (err, EPROTO, "batch of %zu item%s", n, n == 1 ? "" : "s");
    it->body = p;
    it->len = blen;
    it->chan = zpar__flags_chan (hdr->flags);
    it->items = n;
    return 0;
}

int zpar__batch_iter_frames (zpar_batch_iter_t *it, const zpar_frames_t *f, zpar_error_t *err)
{
    zpar_hdr_t h;
    zmq_msg_t *hp, *bp;
    int d;

    if (!f || (d = f->delim) < 0 || f->n != d + 4)
        return zpar__errnoprintf (err, EINVAL, "frames not checked");
    hp = (zmq_msg_t *)&f->part[d + 2];
    bp = (zmq_msg_t *)&f->part[d + 3];
    if (zmq_msg_size (hp) != ZPAR_HDR_LEN)
        return zpar__errnoprintf (err, EINVAL, "frames not checked");
    zpar__hdr_decode (zmq_msg_data (hp), &h);
    return zpar__batch_iter_init (it, &h, zmq_msg_data (bp), zmq_msg_size (bp), err);
}

int zpar__batch_iter_msg (zpar_batch_iter_t *it, const zpar_msg_t *m, zpar_error_t *err)
{
    if (!m)
        return zpar__errnoprintf (err, EINVAL, "no message");
    return zpar__batch_iter_init (it, &m->hdr, m->body, m->len, err);
}

int zpar__batch_next (zpar_batch_iter_t *it, zpar_hdr_t *hdr, const void **body, size_t *blen,
                      zpar_error_t *err)
{
    const uint8_t *p;
    size_t len, i;

    if (!it || !it->body || it->pos >= it->len)
        return 0;
    len = get32 (it->body + it->pos + 2);
    p = it->body + it->pos + FIELD_HDR;
    it->pos += FIELD_HDR + len;
    i = it->index++;
    if (len < ZPAR_HDR_LEN) {
        it->bad++;
        return zpar__errnoprintf (err, EPROTO, "batch item %zu: %zu bytes, shorter than a header",
                                  i, len);
    }
    zpar__hdr_decode (p, hdr);
    if (hdr->version != ZPAR_PROTO_VERSION || !zpar__msg_type_known (hdr->type)) {
        it->bad++;
        return zpar__errnoprintf (err, EPROTO, "batch item %zu: version %u type %u", i,
                                  hdr->version, hdr->type);
    }
    if (hdr->type == ZPAR_MSG_BATCH) {
        it->bad++;
        return zpar__errnoprintf (err, EPROTO, "batch item %zu is a batch", i);
    }
    if (zpar__flags_chan (hdr->flags) != it->chan) {
        it->bad++;
        return zpar__errnoprintf (
            err, EPROTO, "batch item %zu signed for the %s channel in a %s batch", i,
            zpar__chan_name (zpar__flags_chan (hdr->flags)), zpar__chan_name (it->chan));
    }
    if (zpar__msg_body_check (p + ZPAR_HDR_LEN, len - ZPAR_HDR_LEN, err) < 0) {
        it->bad++;
        return -1;
    }
    *body = p + ZPAR_HDR_LEN;
    *blen = len - ZPAR_HDR_LEN;
    return 1;
}

static int frame_put (zpar_frames_t *out, const void *data, size_t len)
{
    zmq_msg_t *p = &out->part[out->n];
    if (zmq_msg_init_size (p, len) < 0)
        return -1;
    if (len)
        memcpy (zmq_msg_data (p), data, len);
    out->n++;
    return 0;
}

int zpar__batch_item_frames (const zpar_frames_t *route, const zpar_hdr_t *hdr, const void *body,
                             size_t blen, zpar_frames_t *out)
{
    static const uint8_t nosig[ZPAR_SIG_LEN];
    uint8_t h[ZPAR_HDR_LEN];
    int nr = route ? route->delim : 0;

    if (!out)
        goto inval;
    out->n = 0;
    out->delim = -1;
    if (!hdr || (blen && !body) || nr < 0 || nr > ZPAR_MAX_ENVELOPE)
        goto inval;
    for (int i = 0; i < nr; i++) {
        zmq_msg_init (&out->part[i]);
        if (zmq_msg_copy (&out->part[i], (zmq_msg_t *)&route->part[i]) < 0) {
            zmq_msg_close (&out->part[i]);
            goto fail;
        }
        out->n++;
    }
    zpar__hdr_encode (hdr, h);
    if (frame_put (out, ZPAR_PROTO_DELIM, strlen (ZPAR_PROTO_DELIM)) < 0 ||
        frame_put (out, nosig, sizeof (nosig)) < 0 || frame_put (out, h, sizeof (h)) < 0 ||
        frame_put (out, body, blen) < 0)
        goto fail;
    out->delim = nr;
    return 0;
inval:
    errno = EINVAL;
    return -1;
fail:
    zpar__frames_close (out);
    errno = ENOMEM;
    return -1;
}

int zpar__batch_item_msg (const zpar_hdr_t *hdr, const void *body, size_t blen, zpar_msg_t *m,
                          zpar_error_t *err)
{
    uint8_t h[ZPAR_HDR_LEN];
    if (!hdr || !m)
        return zpar__errnoprintf (err, EINVAL, "no item");
    zpar__hdr_encode (hdr, h);
    return zpar__msg_decode (m, h, sizeof (h), body, blen, err);
}

int zpar__batch_check (const zpar_msg_t *m, zpar_error_t *err)
{
    zpar_batch_iter_t it;
    zpar_msg_t *item;
    zpar_hdr_t h;
    const void *body;
    size_t blen;
    int rc;

    if (zpar__batch_iter_msg (&it, m, err) < 0)
        return -1;
    if (!(item = zpar__msg_create (ZPAR_MSG_NONE)))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    while ((rc = zpar__batch_next (&it, &h, &body, &blen, err)) == 1) {
        if (zpar__batch_item_msg (&h, body, blen, item, err) < 0 ||
            zpar__proto_check (item, err) < 0) {
            rc = -1;
            break;
        }
    }
    zpar__msg_destroy (item);
    if (rc < 0)
        errno = EPROTO;
    return rc < 0 ? -1 : 0;
}
