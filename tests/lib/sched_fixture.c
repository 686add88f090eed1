/* sched_fixture.c - fake peers and messages for the scheduler tests (see
 * sched_fixture.h). */
#include "config.h"

#include "sched_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "proto_batch.h"
#include "proto_result.h"
#include "proto_task.h"

void *sfx_peer (void *ctx, int type, const void *ident, size_t len, const char *ep)
{
    void *s = zmq_socket (ctx, type);
    int tmo = 5000, zero = 0;
    zmq_setsockopt (s, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    if (ident)
        zmq_setsockopt (s, ZMQ_ROUTING_ID, ident, len);
    if (type == ZMQ_SUB)
        zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect (s, ep) < 0) {
        printf ("# connect %s: %s\n", ep, zmq_strerror (errno));
        fflush (stdout);
    }
    return s;
}

zpar_msg_t *sfx_task_msg_full (uint64_t id, uint64_t retries, const zpar_tid_t *after,
                               size_t nafter, uint32_t engine)
{
    static const char *const argv[] = {"true", NULL};
    zpar_proto_task_t t = {
        .h = {.task = {id}, .client = {1}},
        .kind = ZPAR_TASK_COMMAND,
        .argv = argv,
        .argc = 1,
        .after = after,
        .nafter = nafter,
        .retries = retries,
    };
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_TASK);
    if (engine)
        t.h.engine = zpar__eid (engine);
    if (m && zpar__proto_task_encode (m, &t) < 0) {
        zpar__msg_destroy (m);
        return NULL;
    }
    return m;
}

zpar_msg_t *sfx_task_msg (uint64_t id)
{
    return sfx_task_msg_full (id, 0, NULL, 0, 0);
}

void sfx_raw_item (zpar_msg_t *b, zpar_msg_t *m, zpar_chan_t chan)
{
    uint8_t *buf;
    if (!m)
        return;
    buf = malloc (ZPAR_HDR_LEN + m->len + 1);
    m->hdr.flags = zpar__flags_with_chan (m->hdr.flags, chan);
    zpar__hdr_encode (&m->hdr, buf);
    memcpy (buf + ZPAR_HDR_LEN, m->body, m->len);
    zpar__msg_add_bytes (b, ZPAR_F_ITEM, buf, ZPAR_HDR_LEN + m->len);
    free (buf);
    zpar__msg_destroy (m);
}

int sfx_recv_items (void *sock, zpar_signer_t *sg, zpar_chan_t chan, sfx_item_fn fn, void *arg,
                    uint8_t *id, size_t *idlen)
{
    zpar_frames_t f;
    zpar_hdr_t h;
    zpar_error_t err;
    int type;
    if (idlen)
        *idlen = 0;
    if (zpar__frames_recv (sock, &f, 0) < 0)
        return -1;
    if (zpar__frames_check_chan (sg, chan, &f, &h, &err) < 0) {
        printf ("# receive: %s\n", err.text);
        fflush (stdout);
        zpar__frames_close (&f);
        return -1;
    }
    if (idlen) {
        *idlen = f.delim == 1 ? zmq_msg_size (&f.part[0]) : 0;
        if (*idlen && *idlen <= SFX_ID_MAX)
            memcpy (id, zmq_msg_data (&f.part[0]), *idlen);
    }
    type = h.type;
    if (h.type == ZPAR_MSG_BATCH) {
        zpar_batch_iter_t it;
        const void *body;
        size_t blen;
        if (zpar__batch_iter_frames (&it, &f, &err) == 0)
            while (zpar__batch_next (&it, &h, &body, &blen, &err) == 1)
                fn (arg, &h, body, blen);
    } else
        fn (arg, &h, zmq_msg_data (&f.part[f.delim + 3]), zmq_msg_size (&f.part[f.delim + 3]));
    zpar__frames_close (&f);
    return type;
}

int sfx_send_tasks (void *sock, zpar_signer_t *sg, const uint64_t *ids, size_t n)
{
    zpar_batch_t *b = zpar__batch_create ();
    int rc = b ? 0 : -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        zpar_msg_t *m = sfx_task_msg (ids[i]);
        rc = m ? zpar__batch_add_msg (b, m) : -1;
        zpar__msg_destroy (m);
    }
    if (rc == 0)
        rc = zpar__batch_send (b, sock, sg, ZPAR_CHAN_TASK, 0, NULL, 0, NULL);
    zpar__batch_destroy (b);
    return rc;
}

size_t sfx_recv_ids (void *sock, zpar_signer_t *sg, int type, uint64_t *ids, size_t n, int *msgs,
                     zpar_msg_t *m)
{
    size_t got = 0;
    zpar_error_t err;
    int nm = 0;
    while (got < n && zpar__wire_recv_chan (sock, sg, ZPAR_CHAN_TASK, m, 0, &err) == 0) {
        nm++;
        if (m->hdr.type == ZPAR_MSG_BATCH) {
            zpar_batch_iter_t it;
            zpar_hdr_t h;
            const void *body;
            size_t blen;
            int rc;
            if (zpar__batch_iter_msg (&it, m, &err) < 0)
                continue;
            while ((rc = zpar__batch_next (&it, &h, &body, &blen, &err)) != 0)
                if (rc > 0 && h.type == type && got < n) {
                    if (ids)
                        ids[got] = h.task;
                    got++;
                }
        } else if (m->hdr.type == type) {
            if (ids)
                ids[got] = m->hdr.task;
            got++;
        }
    }
    if (msgs)
        *msgs = nm;
    return got;
}

int sfx_answer_ok (void *engine, zpar_signer_t *sg, const uint64_t *ids, size_t n,
                   const void *client, size_t clen)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        zpar_proto_result_t r;
        zpar_msg_t *rm = zpar__msg_create (ZPAR_MSG_RESULT);
        zpar__proto_result_error (&r, zpar__tid (ids[i]), zpar__eid (1), zpar__cid (1),
                                  ZPAR_STATUS_OK, NULL);
        rc = rm && zpar__proto_result_encode (rm, &r) == 0 &&
                     zpar__msg_push_ident (rm, client, clen) == 0 &&
                     zpar__wire_send_chan (engine, sg, ZPAR_CHAN_TASK, rm, 0) == 0
                 ? 0
                 : -1;
        zpar__msg_destroy (rm);
    }
    return rc;
}
