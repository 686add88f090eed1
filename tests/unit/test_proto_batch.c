/* test_proto_batch.c - the batch message (proto_batch.h): round trip over
 * real sockets, a lone item sent as an ordinary message, the builder's
 * bounds, and hostile batches (broken structure dropped whole; a nested
 * batch, an item of another channel, a short item, an item with a broken
 * body dropped alone). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "msg.h"
#include "proto_batch.h"
#include "proto_check.h"
#include "tap.h"
#include "wire.h"

static uint8_t key[ZPAR_KEY_LEN];

/* a hand-made body, to write what no builder would */
typedef struct {
    uint8_t buf[64 * 1024];
    size_t len;
} raw_t;

static void raw_field (raw_t *r, uint16_t k, const void *data, size_t len)
{
    r->buf[r->len] = (uint8_t)k;
    r->buf[r->len + 1] = (uint8_t)(k >> 8);
    for (int i = 0; i < 4; i++)
        r->buf[r->len + 2 + i] = (uint8_t)(len >> (8 * i));
    memcpy (r->buf + r->len + 6, data, len);
    r->len += 6 + len;
}

/* an item: header of type/channel/task + body of m */
static void raw_item (raw_t *r, zpar_msg_type_t type, zpar_chan_t chan, uint64_t task,
                      const zpar_msg_t *m)
{
    uint8_t it[ZPAR_HDR_LEN + 1024];
    zpar_hdr_t h = m->hdr;
    h.version = ZPAR_PROTO_VERSION;
    h.type = (uint16_t)type;
    h.task = task;
    h.flags = zpar__flags_with_chan (0, chan);
    zpar__hdr_encode (&h, it);
    memcpy (it + ZPAR_HDR_LEN, m->body, m->len);
    raw_field (r, ZPAR_F_ITEM, it, ZPAR_HDR_LEN + m->len);
}

static zpar_msg_t *task_msg (uint64_t id, const char *arg)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_TASK);
    m->hdr.task = id;
    m->hdr.engine = 3;
    zpar__msg_add_u64 (m, ZPAR_F_KIND, 1);
    zpar__msg_add_str (m, ZPAR_F_ARGV, arg);
    return m;
}

/* sign and send a hand-made batch body on channel chan */
static void send_raw_batch (void *sock, zpar_signer_t *s, zpar_chan_t chan, const raw_t *r)
{
    zpar_hdr_t h;
    memset (&h, 0, sizeof (h));
    h.type = ZPAR_MSG_BATCH;
    zpar__wire_send_raw (sock, s, chan, 0, NULL, &h, r->buf, r->len, 0);
}

/* receive a batch and read it: items accepted (their task ids in ids[]),
 * -1 when the batch was dropped whole */
static int read_batch (void *sock, zpar_signer_t *s, zpar_chan_t chan, uint64_t *ids, size_t *bad,
                       char *why, size_t whylen)
{
    zpar_frames_t f;
    zpar_hdr_t h;
    zpar_batch_iter_t it;
    zpar_error_t err;
    const void *body;
    size_t blen;
    int n = 0, rc;

    why[0] = '\0';
    if (zpar__frames_recv (sock, &f, 0) < 0)
        return -2;
    if (zpar__frames_check_chan (s, chan, &f, &h, &err) < 0 ||
        zpar__batch_iter_frames (&it, &f, &err) < 0) {
        snprintf (why, whylen, "%s", err.text);
        zpar__frames_close (&f);
        return -1;
    }
    while ((rc = zpar__batch_next (&it, &h, &body, &blen, &err)) != 0) {
        if (rc < 0)
            snprintf (why, whylen, "%s", err.text);
        else
            ids[n++] = h.task;
    }
    *bad = it.bad;
    zpar__frames_close (&f);
    return n;
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    void *a = zmq_socket (ctx, ZMQ_PAIR), *b = zmq_socket (ctx, ZMQ_PAIR);
    zpar_signer_t *sa, *sb;
    zpar_batch_t *bt;
    zpar_msg_t *m1 = task_msg (101, "one"), *m2 = task_msg (102, "two"), *m3 = task_msg (103, "");
    zpar_msg_t *r = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_frames_t f, g;
    zpar_hdr_t h;
    zpar_batch_iter_t it;
    zpar_error_t err;
    const void *body;
    size_t blen, sent, bad;
    uint64_t ids[ZPAR_BATCH_MAX + 8];
    char why[256];
    raw_t *raw = calloc (1, sizeof (*raw));
    int n;

    plan (NO_PLAN);
    memset (key, 5, sizeof (key));
    zmq_bind (a, "inproc://batch");
    zmq_connect (b, "inproc://batch");
    sa = zpar__signer_create (key, 0);
    sb = zpar__signer_create (key, 0);
    bt = zpar__batch_create ();
    ok (sa && sb && bt && raw, "signers and builder created");

    /* ---- round trip of three items, added three ways ---- */
    ok (zpar__batch_add_msg (bt, m1) == 0, "add from a message");
    ok (zpar__batch_add (bt, &m2->hdr, m2->body, m2->len) == 0, "add from header + body");
    /* the third from received frames, with a header override */
    zpar__wire_send_chan (a, sa, ZPAR_CHAN_TASK, m3, 0);
    zpar__frames_recv (b, &f, 0);
    ok (zpar__frames_check_chan (sb, ZPAR_CHAN_TASK, &f, &h, &err) == 0, "frames checked");
    h.engine = 7;
    ok (zpar__batch_add_frames (bt, &f, &h) == 0, "add from frames");
    zpar__frames_close (&f);
    is_int ((int)zpar__batch_count (bt), 3, "three items held");
    ok (zpar__batch_bytes (bt) > 3 * (6 + ZPAR_HDR_LEN), "bytes counted");
    {
        zpar_ident_t route = {.len = 5, .data = "route"};
        ok (zpar__batch_send (bt, b, sb, ZPAR_CHAN_TASK, 1, &route, 0, &sent) == 0 && sent == 3,
            "batch of 3 sent");
    }
    is_int ((int)zpar__batch_count (bt), 0, "builder empty after send");
    ok (zpar__frames_recv (a, &f, 0) == 0, "batch received");
    n = zpar__frames_check_chan (sa, ZPAR_CHAN_TASK, &f, &h, &err);
    ok (n == 0, "batch verifies: %s", n == 0 ? "yes" : err.text);
    is_int (h.type, ZPAR_MSG_BATCH, "one message of type batch");
    is_str (zpar__msg_type_name (h.type), "batch", "type name");
    is_str (zpar__msg_field_name (ZPAR_F_ITEM), "item", "field name");
    is_int (f.delim, 1, "routing frame kept");
    is_int ((int)h.engine, 0, "items name different engines: batch names none");
    ok (zpar__batch_iter_frames (&it, &f, &err) == 0 && it.items == 3, "iterated: 3 items");
    {
        uint64_t seen[3] = {0};
        uint64_t seqs[3] = {0};
        int i = 0, rc;
        while ((rc = zpar__batch_next (&it, &h, &body, &blen, &err)) == 1 && i < 3) {
            seen[i] = h.task;
            seqs[i] = h.seq;
            ok (zpar__flags_chan (h.flags) == ZPAR_CHAN_TASK, "item %d signed for task", i);
            ok (h.session == zpar__signer_session (sb), "item %d stamped by the sender", i);
            if (i == 2)
                is_int ((int)h.engine, 7, "header override kept");
            /* as frames a handler takes */
            ok (zpar__batch_item_frames (&f, &h, body, blen, &g) == 0 && g.delim == 1,
                "item %d as frames", i);
            ok (zpar__frames_decode (&g, r, &err) == 0 && r->nenv == 1 && r->hdr.task == seen[i] &&
                    r->hdr.type == ZPAR_MSG_TASK,
                "item %d frames decode with the batch's routing", i);
            if (i == 0) {
                char *s = zpar__msg_get_str (r, ZPAR_F_ARGV);
                is_str (s, "one", "item body intact");
                free (s);
                /* a forwarder re-signs it: then it verifies alone */
                zpar__frames_resign (sb, &g, &h);
                ok (zpar__frames_send (b, &g, 0, 0) == 0, "re-signed item forwarded");
            } else
                zpar__frames_close (&g);
            ok (zpar__batch_item_msg (&h, body, blen, r, &err) == 0 &&
                    zpar__proto_check (r, &err) == 0,
                "item %d decodes and passes its codec", i);
            i++;
        }
        ok (rc == 0 && i == 3, "end of batch");
        ok (seen[0] == 101 && seen[1] == 102 && seen[2] == 103, "items in order");
        ok (seqs[0] && seqs[1] > seqs[0] && seqs[2] > seqs[1], "items get their own seqs");
        is_int ((int)it.bad, 0, "no item dropped");
    }
    /* the batch as a decoded message passes proto_check */
    ok (zpar__frames_decode (&f, r, &err) == 0 && zpar__proto_check (r, &err) == 0,
        "proto_check accepts the batch");
    zpar__frames_close (&f);
    /* the re-signed item */
    ok (zpar__wire_recv_chan (a, sa, ZPAR_CHAN_TASK, r, 0, &err) == 0 && r->hdr.task == 101,
        "a re-signed item verifies alone");

    /* ---- one item goes as an ordinary message ---- */
    zpar__batch_add_msg (bt, m2);
    ok (zpar__batch_send (bt, b, sb, ZPAR_CHAN_TASK, 0, NULL, 0, &sent) == 0 && sent == 1,
        "lone item sent");
    ok (zpar__wire_recv_chan (a, sa, ZPAR_CHAN_TASK, r, 0, &err) == 0, "received alone");
    ok (r->hdr.type == ZPAR_MSG_TASK && r->hdr.task == 102, "as an ordinary task message");
    /* nothing: nothing sent */
    ok (zpar__batch_send (bt, b, sb, ZPAR_CHAN_TASK, 0, NULL, 0, &sent) == 0 && sent == 0,
        "empty builder sends nothing");
    ok (zmq_recv (a, why, sizeof (why), ZMQ_DONTWAIT) < 0 && errno == EAGAIN, "nothing arrived");
    /* send with the routing of received frames */
    zpar__msg_push_ident (m1, "peer", 4);
    zpar__wire_send_chan (a, sa, ZPAR_CHAN_TASK, m1, 0);
    zpar__frames_recv (b, &f, 0);
    zpar__frames_check_chan (sb, ZPAR_CHAN_TASK, &f, &h, &err);
    zpar__batch_add_msg (bt, m1);
    zpar__batch_add_msg (bt, m2);
    ok (zpar__batch_send_route (bt, b, sb, ZPAR_CHAN_TASK, &f, 0, &sent) == 0 && sent == 2,
        "sent with the routing of received frames");
    zpar__frames_close (&f);
    ok (zpar__wire_recv_chan (a, sa, ZPAR_CHAN_TASK, r, 0, &err) == 0 && r->nenv == 1 &&
            r->env[0].len == 4 && memcmp (r->env[0].data, "peer", 4) == 0 &&
            r->hdr.type == ZPAR_MSG_BATCH && r->hdr.engine == 3,
        "routing frame in front; common engine named");

    /* ---- builder bounds ---- */
    ok (zpar__batch_add (bt, &(zpar_hdr_t){.type = ZPAR_MSG_BATCH}, NULL, 0) < 0 && errno == EINVAL,
        "a batch cannot be an item");
    ok (zpar__batch_add (bt, &(zpar_hdr_t){.type = 99}, NULL, 0) < 0 && errno == EINVAL,
        "unknown type refused");
    ok (zpar__batch_add (bt, &m1->hdr, "\x01\x00\x09\x00\x00\x00", 6) < 0 && errno == EINVAL,
        "malformed body refused");
    for (n = 0; n < ZPAR_BATCH_MAX; n++)
        if (zpar__batch_add_msg (bt, m1) < 0)
            break;
    is_int (n, ZPAR_BATCH_MAX, "%d items taken", ZPAR_BATCH_MAX);
    ok (zpar__batch_add_msg (bt, m1) < 0 && errno == ENOSPC, "one more: ENOSPC");
    ok (zpar__batch_send (bt, b, sb, ZPAR_CHAN_TASK, 0, NULL, 0, &sent) == 0 &&
            sent == ZPAR_BATCH_MAX,
        "full batch sent");
    n = read_batch (a, sa, ZPAR_CHAN_TASK, ids, &bad, why, sizeof (why));
    is_int (n, ZPAR_BATCH_MAX, "full batch read whole");
    zpar__batch_destroy (bt);
    /* a small size limit: the builder splits before it */
    setenv ("ZPAR_MAX_MSG_SIZE", "64K", 1);
    bt = zpar__batch_create ();
    unsetenv ("ZPAR_MAX_MSG_SIZE");
    {
        zpar_msg_t *big = zpar__msg_create (ZPAR_MSG_RESULT);
        static uint8_t blob[100 * 1024];
        zpar__msg_add_bytes (big, ZPAR_F_OUTPUT, blob, 25 * 1024);
        ok (zpar__batch_add_msg (bt, big) == 0 && zpar__batch_add_msg (bt, big) == 0,
            "two 25 KiB items under a 64 KiB limit");
        ok (zpar__batch_add_msg (bt, big) < 0 && errno == ENOSPC, "a third: ENOSPC (oversized)");
        zpar__batch_reset (bt);
        zpar__msg_clear_body (big);
        zpar__msg_add_bytes (big, ZPAR_F_OUTPUT, blob, sizeof (blob));
        ok (zpar__batch_add_msg (bt, big) == 0, "a first item above the limit is taken (alone)");
        ok (zpar__batch_add_msg (bt, m1) < 0 && errno == ENOSPC, "and nothing after it");
        zpar__batch_reset (bt);
        zpar__msg_destroy (big);
    }

    /* ---- hostile batches ---- */
    /* a good one by hand, to show the reader itself */
    raw->len = 0;
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 1, m1);
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 2, m2);
    send_raw_batch (b, sb, ZPAR_CHAN_TASK, raw);
    n = read_batch (a, sa, ZPAR_CHAN_TASK, ids, &bad, why, sizeof (why));
    ok (n == 2 && bad == 0 && ids[0] == 1 && ids[1] == 2, "hand-made batch read");
    /* nested: a batch item inside a batch is dropped alone */
    {
        raw_t *inner = calloc (1, sizeof (*inner));
        raw_item (inner, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 50, m1);
        raw_item (inner, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 51, m2);
        raw->len = 0;
        raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 1, m1);
        {
            uint8_t it2[ZPAR_HDR_LEN + sizeof (inner->buf)];
            zpar_hdr_t ih = {.version = 1, .type = ZPAR_MSG_BATCH, .task = 9};
            ih.flags = zpar__flags_with_chan (0, ZPAR_CHAN_TASK);
            zpar__hdr_encode (&ih, it2);
            memcpy (it2 + ZPAR_HDR_LEN, inner->buf, inner->len);
            raw_field (raw, ZPAR_F_ITEM, it2, ZPAR_HDR_LEN + inner->len);
        }
        raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 3, m2);
        send_raw_batch (b, sb, ZPAR_CHAN_TASK, raw);
        n = read_batch (a, sa, ZPAR_CHAN_TASK, ids, &bad, why, sizeof (why));
        ok (n == 2 && bad == 1 && ids[0] == 1 && ids[1] == 3,
            "nested batch: that item dropped, the others kept (%s)", why);
        free (inner);
    }
    /* an item of another channel */
    raw->len = 0;
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 1, m1);
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_MUX, 2, m2);
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 3, m2);
    send_raw_batch (b, sb, ZPAR_CHAN_TASK, raw);
    n = read_batch (a, sa, ZPAR_CHAN_TASK, ids, &bad, why, sizeof (why));
    ok (n == 2 && bad == 1 && ids[0] == 1 && ids[1] == 3, "item of another channel dropped (%s)",
        why);
    /* a short item */
    raw->len = 0;
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 1, m1);
    raw_field (raw, ZPAR_F_ITEM, "short", 5);
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 3, m2);
    send_raw_batch (b, sb, ZPAR_CHAN_TASK, raw);
    n = read_batch (a, sa, ZPAR_CHAN_TASK, ids, &bad, why, sizeof (why));
    ok (n == 2 && bad == 1 && ids[1] == 3, "short item dropped (%s)", why);
    /* an item of an unknown type, an item whose body does not parse */
    raw->len = 0;
    raw_item (raw, (zpar_msg_type_t)99, ZPAR_CHAN_TASK, 1, m1);
    {
        uint8_t it2[ZPAR_HDR_LEN + 6];
        zpar_hdr_t ih = {.version = 1, .type = ZPAR_MSG_TASK, .task = 2};
        ih.flags = zpar__flags_with_chan (0, ZPAR_CHAN_TASK);
        zpar__hdr_encode (&ih, it2);
        memcpy (it2 + ZPAR_HDR_LEN, "\x02\x00\xff\x00\x00\x00", 6); /* claims 255 bytes */
        raw_field (raw, ZPAR_F_ITEM, it2, sizeof (it2));
    }
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 3, m2);
    send_raw_batch (b, sb, ZPAR_CHAN_TASK, raw);
    n = read_batch (a, sa, ZPAR_CHAN_TASK, ids, &bad, why, sizeof (why));
    ok (n == 1 && bad == 2 && ids[0] == 3, "unknown type and broken body dropped (%s)", why);
    /* proto_check refuses a batch with a bad item */
    ok (zpar__frames_recv (a, &f, ZMQ_DONTWAIT) < 0 && errno == EAGAIN, "nothing left over");
    send_raw_batch (b, sb, ZPAR_CHAN_TASK, raw);
    ok (zpar__wire_recv_chan (a, sa, ZPAR_CHAN_TASK, r, 0, &err) == 0 &&
            zpar__proto_check (r, &err) < 0 && errno == EPROTO,
        "proto_check refuses it: %s", err.text);
    /* broken structure: the whole batch is dropped */
    raw->len = 0;
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 1, m1);
    send_raw_batch (b, sb, ZPAR_CHAN_TASK, raw);
    n = read_batch (a, sa, ZPAR_CHAN_TASK, ids, &bad, why, sizeof (why));
    ok (n == -1, "batch of one item dropped (%s)", why);
    raw->len = 0;
    send_raw_batch (b, sb, ZPAR_CHAN_TASK, raw);
    n = read_batch (a, sa, ZPAR_CHAN_TASK, ids, &bad, why, sizeof (why));
    ok (n == -1, "empty batch dropped (%s)", why);
    raw->len = 0;
    for (int i = 0; i <= ZPAR_BATCH_MAX; i++)
        raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, (uint64_t)i + 1, m3);
    send_raw_batch (b, sb, ZPAR_CHAN_TASK, raw);
    n = read_batch (a, sa, ZPAR_CHAN_TASK, ids, &bad, why, sizeof (why));
    ok (n == -1, "%d items dropped whole (%s)", ZPAR_BATCH_MAX + 1, why);
    raw->len = 0;
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 1, m1);
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 2, m1);
    raw_field (raw, ZPAR_F_DATA, "x", 1);
    send_raw_batch (b, sb, ZPAR_CHAN_TASK, raw);
    n = read_batch (a, sa, ZPAR_CHAN_TASK, ids, &bad, why, sizeof (why));
    ok (n == -1, "a field other than item: dropped whole (%s)", why);
    raw->len = 0;
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 1, m1);
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_TASK, 2, m1);
    raw->len -= 3; /* the last item runs past the body */
    send_raw_batch (b, sb, ZPAR_CHAN_TASK, raw);
    n = read_batch (a, sa, ZPAR_CHAN_TASK, ids, &bad, why, sizeof (why));
    ok (n == -1, "truncated batch dropped whole (%s)", why);
    /* a batch signed for another channel is dropped by the channel check */
    raw->len = 0;
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_MUX, 1, m1);
    raw_item (raw, ZPAR_MSG_TASK, ZPAR_CHAN_MUX, 2, m1);
    send_raw_batch (b, sb, ZPAR_CHAN_MUX, raw);
    n = read_batch (a, sa, ZPAR_CHAN_TASK, ids, &bad, why, sizeof (why));
    ok (n == -1, "batch of another channel dropped (%s)", why);
    /* iterating a non-batch */
    ok (zpar__batch_iter_init (&it, &m1->hdr, m1->body, m1->len, &err) < 0 && errno == EINVAL,
        "a task is not a batch");
    ok (zpar__batch_next (NULL, &h, &body, &blen, &err) == 0, "next (NULL): end");

    zpar__batch_destroy (bt);
    zpar__batch_destroy (NULL);
    zpar__msg_destroy (m1);
    zpar__msg_destroy (m2);
    zpar__msg_destroy (m3);
    zpar__msg_destroy (r);
    zpar__signer_destroy (sa);
    zpar__signer_destroy (sb);
    free (raw);
    zmq_close (a);
    zmq_close (b);
    zmq_ctx_term (ctx);
    return done_testing ();
}
