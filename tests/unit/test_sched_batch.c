/* test_sched_batch.c - the load-balanced task scheduler and batches, over
 * inproc ZeroMQ with a fake hub (pipe and monitor), clients and engines:
 *   - the tasks one round gives an engine go as one batch (a lone task as
 *     an ordinary message);
 *   - a batch of results is split: each result reaches its client once,
 *     re-signed; an item naming another engine is dropped alone and
 *     counted, a duplicate item is counted as a duplicate;
 *   - hostile batches (nested, a batch of one) are dropped and counted;
 *   - an engine that dies with a batch in flight: every task of it runs
 *     again once, elsewhere, none lost. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "msg.h"
#include "proto_batch.h"
#include "proto_monitor.h"
#include "proto_pipe.h"
#include "proto_result.h"
#include "proto_task.h"
#include "route.h"
#include "sched_fixture.h"
#include "sched_lb_io.h"
#include "tap.h"
#include "wire.h"

static uint8_t key[ZPAR_KEY_LEN];
static void *ctx;
static zpar_route_t route1, route2;

static int send_task (void *sock, zpar_signer_t *sg, uint64_t id, uint64_t retries)
{
    zpar_msg_t *m = sfx_task_msg_full (id, retries, NULL, 0, 0);
    int rc = m ? zpar__wire_send_chan (sock, sg, ZPAR_CHAN_TASK, m, 0) : -1;
    zpar__msg_destroy (m);
    return rc;
}

static zpar_msg_t *result_msg (uint64_t id, uint32_t eng, unsigned attempt)
{
    zpar_proto_result_t r;
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_RESULT);
    zpar__proto_result_error (&r, zpar__tid (id), zpar__eid (eng), zpar__cid (1), ZPAR_STATUS_OK,
                              NULL);
    r.attempt = attempt;
    r.h.flags = attempt;
    zpar__proto_result_encode (m, &r);
    return m;
}

/* Where recv_tasks puts the tasks a message carries. */
struct got {
    uint64_t *ids;
    unsigned *attempts;
    size_t max, *n;
};

static void take_task (void *arg, const zpar_hdr_t *h, const void *body, size_t blen)
{
    struct got *g = arg;
    (void)body, (void)blen;
    if (*g->n < g->max) {
        g->attempts[*g->n] = h->flags & 0xff;
        g->ids[(*g->n)++] = h->task;
    }
}

/* Receive the next message on sock as frames: its type, and the task ids
 * it carries (one, or a batch's), at most max; -1 on timeout. */
static int recv_tasks (void *sock, zpar_signer_t *sg, uint64_t *ids, unsigned *attempts, size_t max,
                       size_t *n)
{
    struct got g = {ids, attempts, max, n};
    *n = 0;
    return sfx_recv_items (sock, sg, ZPAR_CHAN_TASK, take_task, &g, NULL, NULL);
}

/* Wait (at most 2 s) until counter() moves from before. */
static uint64_t settle (zpar_sched_lb_io_t *io, uint64_t (*counter) (const zpar_sched_lb_io_t *),
                        uint64_t want)
{
    for (int i = 0; i < 200 && counter (io) < want; i++)
        usleep (10000);
    return counter (io);
}

/* The results a client receives until nothing comes for 500 ms (alone
 * or in batches, each verified): their task ids. */
static size_t collect (void *client, zpar_signer_t *cs, uint64_t *got, size_t max)
{
    uint64_t ids[ZPAR_BATCH_MAX];
    unsigned att[ZPAR_BATCH_MAX];
    size_t k = 0, n;
    zmq_setsockopt (client, ZMQ_RCVTIMEO, &(int){500}, sizeof (int));
    while (recv_tasks (client, cs, ids, att, ZPAR_BATCH_MAX, &n) >= 0)
        for (size_t i = 0; i < n && k < max; i++)
            got[k++] = ids[i];
    return k;
}

static int has (const uint64_t *ids, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

int main (void)
{
    char cep[64] = "inproc://b-client", eep[64] = "inproc://b-engine";
    zpar_error_t err;
    zpar_sched_lb_io_t *io;
    zpar_signer_t *cs, *es;
    zpar_batch_t *b;
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    void *mon, *pipe, *client, *eng1, *eng2;
    uint64_t ids[16];
    unsigned att[16];
    size_t n;
    int type;
    zpar_ident_t c1 = {.len = 2, .data = "c1"};

    plan (NO_PLAN);
    memset (key, 5, sizeof (key));
    (void)zpar__route_make (zpar__eid (1), &route1);
    (void)zpar__route_make (zpar__eid (2), &route2);
    ctx = zmq_ctx_new ();
    cs = zpar__signer_create (key, 0);
    es = zpar__signer_create (key, 0);
    b = zpar__batch_create ();

    io = sfx_lb_start (ctx, "b", "leastload", 4, cep, eep, sizeof (cep), key, 1, &mon, &pipe, &err);
    if (!ok (io != NULL, "leastload scheduler started"))
        diag ("%s", err.text);
    client = sfx_peer (ctx, ZMQ_DEALER, "c1", 2, cep);
    eng1 = sfx_peer (ctx, ZMQ_DEALER, route1.b, sizeof (route1.b), eep);
    eng2 = sfx_peer (ctx, ZMQ_DEALER, route2.b, sizeof (route2.b), eep);

    /* ---- a round's tasks for one engine: one batch ---- */
    for (uint64_t id = 11; id <= 13; id++)
        send_task (client, cs, id, 1);
    usleep (100000); /* queued: no engine yet */
    ok (zpar__pipe_send_up (pipe, &route1, 0) == 0, "hub: engine 1 up");
    type = recv_tasks (eng1, es, ids, att, 16, &n);
    ok (type == ZPAR_MSG_BATCH && n == 3 && ids[0] == 11 && ids[1] == 12 && ids[2] == 13,
        "engine 1 gets tasks 11-13 as one batch (type %d, %zu items)", type, n);
    ok (att[0] == 1 && att[1] == 1 && att[2] == 1, "each item carries its attempt");
    send_task (client, cs, 14, 1);
    type = recv_tasks (eng1, es, ids, att, 16, &n);
    ok (type == ZPAR_MSG_TASK && n == 1 && ids[0] == 14, "a lone task goes as a task message");

    /* ---- a batch of results: split, each to its client once ---- */
    {
        uint64_t drop0 = zpar__sched_lb_io_dropped (io);
        uint64_t dup0 = zpar__sched_lb_io_duplicates (io);
        zpar_msg_t *r;
        r = result_msg (11, 1, 1), zpar__batch_add_msg (b, r), zpar__msg_destroy (r);
        r = result_msg (12, 1, 1), zpar__batch_add_msg (b, r), zpar__msg_destroy (r);
        /* an item naming engine 2, from engine 1's connection */
        r = result_msg (13, 2, 1), zpar__batch_add_msg (b, r), zpar__msg_destroy (r);
        /* task 11 again: a duplicate */
        r = result_msg (11, 1, 1), zpar__batch_add_msg (b, r), zpar__msg_destroy (r);
        r = result_msg (13, 1, 1), zpar__batch_add_msg (b, r), zpar__msg_destroy (r);
        ok (zpar__batch_send (b, eng1, es, ZPAR_CHAN_TASK, 1, &c1, 0, NULL) == 0,
            "engine 1 sends 5 results in one batch");
        {
            uint64_t got[8];
            size_t k = collect (client, cs, got, 8);
            ok (k == 3 && has (got, k, 11) && has (got, k, 12) && has (got, k, 13),
                "the client gets results 11, 12, 13, each once, verified (%zu results)", k);
        }
        ok (settle (io, zpar__sched_lb_io_dropped, drop0 + 1) == drop0 + 1,
            "the item naming engine 2 is dropped alone and counted");
        ok (settle (io, zpar__sched_lb_io_duplicates, dup0 + 1) == dup0 + 1,
            "the second result of 11 counts as a duplicate");
    }

    /* ---- hostile batches from an engine ---- */
    {
        uint64_t drop0 = zpar__sched_lb_io_dropped (io);
        zpar_hdr_t h = {.type = ZPAR_MSG_BATCH};
        uint8_t body[2 * (6 + ZPAR_HDR_LEN)];
        zpar_hdr_t ih = {.version = 1, .type = ZPAR_MSG_BATCH, .engine = 1};
        /* two items that are batches themselves */
        ih.flags = zpar__flags_with_chan (0, ZPAR_CHAN_TASK);
        for (int i = 0; i < 2; i++) {
            uint8_t *p = body + i * (6 + ZPAR_HDR_LEN);
            p[0] = ZPAR_F_ITEM, p[1] = 0, p[2] = ZPAR_HDR_LEN, p[3] = p[4] = p[5] = 0;
            zpar__hdr_encode (&ih, p + 6);
        }
        ok (zpar__wire_send_raw (eng1, es, ZPAR_CHAN_TASK, 1, &c1, &h, body, sizeof (body), 0) == 0,
            "engine 1 sends a batch of batches");
        ok (settle (io, zpar__sched_lb_io_dropped, drop0 + 2) == drop0 + 2,
            "both nested items dropped and counted");
        h = (zpar_hdr_t){.type = ZPAR_MSG_BATCH};
        ok (zpar__wire_send_raw (eng1, es, ZPAR_CHAN_TASK, 1, &c1, &h, body, 6 + ZPAR_HDR_LEN, 0) ==
                0,
            "engine 1 sends a batch of one item");
        ok (settle (io, zpar__sched_lb_io_dropped, drop0 + 3) == drop0 + 3,
            "dropped whole and counted");
        ok (collect (client, cs, ids, 16) == 0, "nothing reached the client");
    }

    /* ---- an engine dies with a batch in flight ---- */
    /* 21-23 fill engine 1 (hwm 4, 14 runs there), 24-26 wait; the results
     * of 21-23 in one batch free three slots in one round: 24-26 go as
     * one batch */
    for (uint64_t id = 21; id <= 26; id++)
        send_task (client, cs, id, 1);
    {
        uint64_t all[8];
        size_t k = 0;
        while (k < 3 && recv_tasks (eng1, es, ids, att, 16, &n) >= 0)
            for (size_t i = 0; i < n && k < 8; i++)
                all[k++] = ids[i];
        ok (k == 3 && all[0] == 21 && all[1] == 22 && all[2] == 23,
            "engine 1 gets 21-23 (as they came), 24-26 wait");
        for (size_t i = 0; i < k; i++) {
            zpar_msg_t *r = result_msg (all[i], 1, 1);
            zpar__batch_add_msg (b, r);
            zpar__msg_destroy (r);
        }
        ok (zpar__batch_send (b, eng1, es, ZPAR_CHAN_TASK, 1, &c1, 0, NULL) == 0,
            "engine 1 answers 21-23 in one batch");
        (void)collect (client, cs, ids, 16);
    }
    type = recv_tasks (eng1, es, ids, att, 16, &n);
    ok (type == ZPAR_MSG_BATCH && n == 3 && ids[0] == 24 && ids[2] == 26,
        "engine 1 gets 24-26 as one batch (type %d, %zu items)", type, n);
    ok (zpar__pipe_send_down (pipe, 1, 0) == 0, "hub: engine 1 died");
    ok (zpar__pipe_send_up (pipe, &route2, 0) == 0, "hub: engine 2 up");
    {
        uint64_t all[16];
        size_t k = 0;
        int twice = 0;
        zmq_setsockopt (eng2, ZMQ_RCVTIMEO, &(int){1000}, sizeof (int));
        while (k < 4 && (type = recv_tasks (eng2, es, ids, att, 16, &n)) >= 0)
            for (size_t i = 0; i < n && k < 16; i++) {
                twice |= has (all, k, ids[i]);
                ok (att[i] == 2, "task %llu: attempt 2", (unsigned long long)ids[i]);
                all[k++] = ids[i];
            }
        ok (k == 4 && !twice && has (all, k, 14) && has (all, k, 24) && has (all, k, 25) &&
                has (all, k, 26),
            "engine 2 gets 14, 24, 25, 26, each once (%zu)", k);
        zmq_setsockopt (eng2, ZMQ_RCVTIMEO, &(int){200}, sizeof (int));
        ok (recv_tasks (eng2, es, ids, att, 16, &n) < 0, "and nothing more");
        zmq_setsockopt (eng1, ZMQ_RCVTIMEO, &(int){200}, sizeof (int));
        ok (recv_tasks (eng1, es, ids, att, 16, &n) < 0, "engine 1 got nothing more");
        /* engine 2 answers them in one batch: 4 results, each once */
        for (size_t i = 0; i < k; i++) {
            zpar_msg_t *r = result_msg (all[i], 2, 2);
            zpar__batch_add_msg (b, r);
            zpar__msg_destroy (r);
        }
        ok (zpar__batch_send (b, eng2, es, ZPAR_CHAN_TASK, 1, &c1, 0, NULL) == 0,
            "engine 2 answers in one batch");
        {
            /* every item goes through: the engine's batch as it came */
            zpar_frames_t f;
            zpar_hdr_t h;
            zpar_batch_iter_t it;
            uint64_t got[8];
            size_t g = 0;
            const void *body;
            size_t blen;
            zmq_setsockopt (client, ZMQ_RCVTIMEO, &(int){2000}, sizeof (int));
            ok (zpar__frames_recv (client, &f, 0) == 0 &&
                    zpar__frames_check_chan (cs, ZPAR_CHAN_TASK, &f, &h, &err) == 0 &&
                    h.type == ZPAR_MSG_BATCH && h.session == zpar__signer_session (es),
                "the client gets engine 2's batch as it came (signed by the engine)");
            if (zpar__batch_iter_frames (&it, &f, &err) == 0)
                while (g < 8 && zpar__batch_next (&it, &h, &body, &blen, &err) == 1)
                    got[g++] = h.task;
            zpar__frames_close (&f);
            g += collect (client, cs, got + g, 8 - g);
            ok (g == 4 && has (got, g, 14) && has (got, g, 24) && has (got, g, 25) &&
                    has (got, g, 26),
                "the client gets the 4 results, each once (%zu)", g);
        }
    }

    ok (zpar__pipe_send_term (pipe, 0) == 0, "hub: $TERM");
    zpar__sched_lb_io_stop (io);
    zmq_close (pipe);
    zmq_close (client);
    zmq_close (eng1);
    zmq_close (eng2);
    zmq_close (mon);
    zpar__batch_destroy (b);
    zpar__msg_destroy (m);
    zpar__signer_destroy (cs);
    zpar__signer_destroy (es);
    zmq_ctx_term (ctx);
    return done_testing ();
}
