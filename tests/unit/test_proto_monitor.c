/* test_proto_monitor.c - the schedulers' monitor records (proto_monitor.h):
 * items packed per thread and sent as one message at a flush or when the
 * pack is full; the hub's reader: every item back in order, and malformed
 * records (bad head, unknown kind, cut items, short payloads, a header of
 * another version) refused with a reason. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "proto_monitor.h"
#include "tap.h"
#include "wire.h"

/* The frames of message m as a scheduler receives them (delim 1). */
static int frames_of (void *a, void *b, zpar_signer_t *s, zpar_msg_t *m, zpar_frames_t *f)
{
    m->nenv = 0;
    zpar__msg_push_ident (m, "c", 1);
    if (zpar__wire_send (a, s, m, 0) < 0 || zpar__frames_recv (b, f, 0) < 0)
        return -1;
    return zpar__frames_check (NULL, f, NULL, NULL);
}

static int recv_record (void *sock, zmq_msg_t *rec)
{
    zmq_msg_init (rec);
    return zmq_msg_recv (rec, sock, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

static void test_round_trip (void *ctx)
{
    uint8_t key[ZPAR_KEY_LEN];
    void *pub = zmq_socket (ctx, ZMQ_PAIR), *sub = zmq_socket (ctx, ZMQ_PAIR);
    void *a = zmq_socket (ctx, ZMQ_PAIR), *b = zmq_socket (ctx, ZMQ_PAIR);
    zpar_signer_t *s;
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_TASK), *r = zpar__msg_create (ZPAR_MSG_RESULT);
    zpar_frames_t f;
    zpar_hdr_t h;
    zpar_monitor_item_t it;
    zpar_error_t err;
    zmq_msg_t rec;
    size_t off = 0;
    int rc;

    memset (key, 3, sizeof (key));
    s = zpar__signer_create (key, 0);
    ok (zmq_bind (sub, "inproc://mon") == 0 && zmq_connect (pub, "inproc://mon") == 0 &&
            zmq_bind (b, "inproc://in") == 0 && zmq_connect (a, "inproc://in") == 0,
        "socket pairs");
    m->hdr.task = 11;
    m->hdr.client = 4;
    m->hdr.time_us = 123456789;
    zpar__msg_add_str (m, ZPAR_F_SYMBOL, "noop");
    ok (frames_of (a, b, s, m, &f) == 0, "a request as received");
    ok (zpar__monitor_copy (pub, ZPAR_MON_TASK_IN, &f, NULL) == 0, "task_in packed");
    h = m->hdr;
    h.engine = 9;
    ok (zpar__monitor_copy (pub, ZPAR_MON_TASK_RUN, &f, &h) == 0, "task_run packed");
    r->hdr.task = 11;
    r->hdr.engine = 9;
    zpar__msg_add_u64 (r, ZPAR_F_STATUS, 1);
    ok (zpar__monitor_send_msg (pub, NULL, ZPAR_MON_TASK_OUT, r) == 0, "task_out packed");
    ok (zpar__monitor_pending (pub) > 0 && recv_record (sub, &rec) < 0, "nothing sent before "
                                                                        "the flush");
    zmq_msg_close (&rec);
    ok (zpar__monitor_flush (pub) == 0 && zpar__monitor_pending (pub) == 0, "flushed");
    ok (zpar__monitor_flush (pub) == 0, "an empty flush sends nothing");
    zmq_sleep (0);
    ok (recv_record (sub, &rec) == 0 && !zmq_msg_more (&rec), "one message, one frame");
    rc = zpar__monitor_next (zmq_msg_data (&rec), zmq_msg_size (&rec), &off, &it, &err);
    ok (rc == 1 && it.kind == ZPAR_MON_TASK_IN && it.hdr.task == 11 && it.hdr.client == 4 &&
            it.hdr.time_us != 0 && it.packed && it.len == ZPAR_HDR_LEN + m->len,
        "item 1: task_in with its header");
    ok (zpar__msg_unpack (r, it.packed, it.len, &err) == 0 && r->hdr.task == 11 &&
            r->len == m->len && memcmp (r->body, m->body, m->len) == 0,
        "its request unpacks to the body received");
    rc = zpar__monitor_next (zmq_msg_data (&rec), zmq_msg_size (&rec), &off, &it, &err);
    ok (rc == 1 && it.kind == ZPAR_MON_TASK_RUN && it.hdr.task == 11 && it.hdr.engine == 9 &&
            !it.packed,
        "item 2: task_run, task and engine only");
    rc = zpar__monitor_next (zmq_msg_data (&rec), zmq_msg_size (&rec), &off, &it, &err);
    ok (rc == 1 && it.kind == ZPAR_MON_TASK_OUT && it.hdr.task == 11 &&
            zpar__msg_unpack (r, it.packed, it.len, &err) == 0 &&
            zpar__msg_u64_or (r, ZPAR_F_STATUS, 0) == 1,
        "item 3: task_out with its status");
    ok (zpar__monitor_next (zmq_msg_data (&rec), zmq_msg_size (&rec), &off, &it, &err) == 0,
        "then the end");
    zmq_msg_close (&rec);

    /* a full pack goes without a flush */
    {
        int sent = 0;
        size_t got = 0;
        for (int i = 0; i < 5000 && !sent; i++) {
            (void)zpar__monitor_copy (pub, ZPAR_MON_TASK_IN, &f, NULL);
            if (recv_record (sub, &rec) == 0) {
                sent = 1;
                got = zmq_msg_size (&rec);
            }
            zmq_msg_close (&rec);
        }
        ok (sent && got <= ZPAR_MONITOR_PACK_MAX, "a full pack is sent by itself (%zu bytes)", got);
        (void)zpar__monitor_flush (pub);
    }

    /* bad parameters */
    ok (zpar__monitor_copy (NULL, ZPAR_MON_TASK_IN, &f, NULL) < 0 && errno == EINVAL,
        "copy to NULL: EINVAL");
    ok (zpar__monitor_copy (pub, ZPAR_MON_NONE, &f, NULL) < 0 && errno == EINVAL,
        "copy kind NONE: EINVAL");
    ok (zpar__monitor_copy (pub, ZPAR_MON_TASK_IN, NULL, NULL) < 0 && errno == EINVAL,
        "copy NULL frames: EINVAL");
    ok (zpar__monitor_send_msg (pub, s, ZPAR_MON_KIND_MAX, m) < 0 && errno == EINVAL,
        "send kind MAX: EINVAL");
    ok (zpar__monitor_next (NULL, 0, &off, &it, &err) < 0 && errno == EINVAL, "next NULL: EINVAL");
    ok (zpar__monitor_pending (pub) == 0, "nothing left");
    zpar__frames_close (&f);
    zpar__msg_destroy (m);
    zpar__msg_destroy (r);
    zpar__signer_destroy (s);
    zmq_close (pub);
    zmq_close (sub);
    zmq_close (a);
    zmq_close (b);
}

/* A record of one item of kind with payload p (plen bytes, claimed len). */
static size_t record (uint8_t *out, int kind, const void *p, size_t plen, uint32_t claimed)
{
    memcpy (out, "ZM\x01\x00", 4);
    out[4] = (uint8_t)kind;
    for (int i = 0; i < 4; i++)
        out[5 + i] = (uint8_t)(claimed >> (8 * i));
    memcpy (out + 9, p, plen);
    return 9 + plen;
}

static int refused (const void *buf, size_t len, const char *what)
{
    zpar_monitor_item_t it;
    zpar_error_t err = {{0}};
    size_t off = 0;
    int rc;
    while ((rc = zpar__monitor_next (buf, len, &off, &it, &err)) == 1)
        ;
    ok (rc < 0 && errno == EPROTO && err.text[0], "%s: refused (%s)", what, err.text);
    return rc < 0;
}

static void test_malformed (void)
{
    uint8_t hdr[ZPAR_HDR_LEN] = {0}, buf[256], run[12] = {0};
    zpar_hdr_t h = {.version = ZPAR_PROTO_VERSION, .type = ZPAR_MSG_TASK, .task = 5};
    size_t n;

    zpar__hdr_encode (&h, hdr);
    refused ("XM\x01\x00", 4, "a bad head");
    refused ("ZM", 2, "a head cut short");
    n = record (buf, 9, hdr, sizeof (hdr), sizeof (hdr));
    refused (buf, n, "an unknown kind");
    n = record (buf, ZPAR_MON_TASK_IN, hdr, sizeof (hdr), sizeof (hdr) + 10);
    refused (buf, n, "an item longer than the record");
    n = record (buf, ZPAR_MON_TASK_IN, hdr, 20, 20);
    refused (buf, n, "a request without its header");
    n = record (buf, ZPAR_MON_TASK_RUN, run, 8, 8);
    refused (buf, n, "a task_run of 8 bytes");
    n = record (buf, ZPAR_MON_TASK_IN, hdr, sizeof (hdr), sizeof (hdr));
    refused (buf, n - 3 - ZPAR_HDR_LEN, "an item head cut short");
    h.version = ZPAR_PROTO_VERSION + 1;
    zpar__hdr_encode (&h, hdr);
    n = record (buf, ZPAR_MON_TASK_OUT, hdr, sizeof (hdr), sizeof (hdr));
    refused (buf, n, "a header of another protocol version");
    {
        /* a good item, then a bad one: the good one is read first */
        zpar_monitor_item_t it;
        zpar_error_t err;
        size_t off = 0;
        h.version = ZPAR_PROTO_VERSION;
        zpar__hdr_encode (&h, hdr);
        n = record (buf, ZPAR_MON_TASK_IN, hdr, sizeof (hdr), sizeof (hdr));
        buf[n++] = 77;
        ok (zpar__monitor_next (buf, n, &off, &it, &err) == 1 && it.hdr.task == 5 &&
                zpar__monitor_next (buf, n, &off, &it, &err) < 0,
            "items before a bad one are read, then the record is refused");
    }
    ok (zpar__monitor_kind ("task_in", 7) == ZPAR_MON_TASK_IN &&
            zpar__monitor_kind ("task", 4) == ZPAR_MON_NONE &&
            strcmp (zpar__monitor_tag (ZPAR_MON_KIND_MAX), "?") == 0,
        "kind names");
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    plan (NO_PLAN);
    test_round_trip (ctx);
    test_malformed ();
    zmq_ctx_term (ctx);
    return done_testing ();
}
