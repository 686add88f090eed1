/* test_sched_client_batch.c - the load-balanced scheduler and clients'
 * batches, over inproc ZeroMQ with a fake hub (pipe, monitor), a client and
 * an engine: a batch of tasks is split and each task handled as if it came
 * alone (queued, dispatched, copied to the hub); a batch of aborts is
 * answered item by item, and the "aborted" results of one round reach the
 * client as one batch signed by the scheduler; while new tasks are refused
 * every item of a batch is refused, the refusals in one batch; hostile
 * batches (broken structure, an item of another channel, a batch in a
 * batch, a short item, a result item from a client, a forged signature)
 * are dropped and counted, the good items beside them handled; with the
 * pure scheme, items are re-signed and forwarded one by one. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "admit.h"
#include "msg.h"
#include "proto_batch.h"
#include "proto_control.h"
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
static zpar_route_t route1;

static zpar_msg_t *abort_msg (uint64_t id)
{
    zpar_proto_control_t c = {.h = {.task = {id}, .client = {1}}, .op = ZPAR_CONTROL_ABORT};
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_ABORT);
    if (m && zpar__proto_control_encode (m, &c) < 0) {
        zpar__msg_destroy (m);
        return NULL;
    }
    return m;
}

static int wait_dropped (zpar_sched_lb_io_t *io, uint64_t want)
{
    for (int i = 0; i < 300 && zpar__sched_lb_io_dropped (io) < want; i++)
        usleep (10000);
    return zpar__sched_lb_io_dropped (io) == want;
}

static void test_leastload (void)
{
    char cep[64] = "inproc://cb-client", eep[64] = "inproc://cb-engine";
    zpar_signer_t *cs = zpar__signer_create (key, 0), *es = zpar__signer_create (key, 0);
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_sched_lb_io_t *io;
    zpar_error_t err;
    void *mon, *pipe, *client, *engine;
    uint64_t ids[16], got[16], d0;
    size_t n;
    int msgs;

    io =
        sfx_lb_start (ctx, "cb", "leastload", 4, cep, eep, sizeof (cep), key, 1, &mon, &pipe, &err);
    if (!ok (io != NULL, "leastload scheduler started"))
        diag ("%s", err.text);
    client = sfx_peer (ctx, ZMQ_DEALER, "c1", 2, cep);
    engine = sfx_peer (ctx, ZMQ_DEALER, route1.b, sizeof (route1.b), eep);

    /* no engine yet: a batch of 3 tasks is queued; a batch of 3 aborts
     * answers each, the "aborted" results in one batch */
    ids[0] = 301, ids[1] = 302, ids[2] = 303;
    ok (sfx_send_tasks (client, cs, ids, 3) == 0, "a batch of 3 tasks, no engine up");
    {
        zpar_batch_t *b = zpar__batch_create ();
        int aborted = 0;
        for (int i = 0; i < 3; i++) {
            zpar_msg_t *a = abort_msg (ids[i]);
            zpar__batch_add_msg (b, a);
            zpar__msg_destroy (a);
        }
        ok (zpar__batch_send (b, client, cs, ZPAR_CHAN_TASK, 0, NULL, 0, NULL) == 0,
            "a batch of 3 aborts of them");
        zpar__batch_destroy (b);
        for (int i = 0; i < 3; i++) {
            zpar_proto_control_reply_t r;
            if (zpar__wire_recv_chan (client, cs, ZPAR_CHAN_TASK, m, 0, &err) == 0 &&
                m->hdr.type == ZPAR_MSG_CONTROL_REPLY &&
                zpar__proto_control_reply_decode (m, &r, &err) == 0) {
                aborted += r.count == 1 && r.h.task.v == ids[i];
                zpar__proto_control_reply_clear (&r);
            }
        }
        ok (aborted == 3, "each abort item is answered alone, in order, count 1 (%d)", aborted);
        n = sfx_recv_ids (client, cs, ZPAR_MSG_RESULT, got, 3, &msgs, m);
        ok (n == 3 && msgs == 1 && got[0] == 301 && got[2] == 303,
            "the 3 'aborted' results of that round come as one batch (%d message)", msgs);
    }

    /* refused: every item of a batch, the refusals in one batch */
    zpar__admit_refuse ("records full (test)");
    ids[0] = 311, ids[1] = 312, ids[2] = 313, ids[3] = 314;
    ok (sfx_send_tasks (client, cs, ids, 4) == 0, "a batch of 4 tasks while new tasks are refused");
    n = sfx_recv_ids (client, cs, ZPAR_MSG_RESULT, got, 4, &msgs, m);
    ok (n == 4 && msgs == 1 && got[0] == 311 && got[3] == 314,
        "4 refusals, in one batch (%d message)", msgs);
    zpar__admit_refuse (NULL);

    /* an engine: a batch of 4 tasks reaches it, each task as if alone */
    ok (zpar__pipe_send_up (pipe, &route1, 0) == 0, "hub: engine 1 up");
    ids[0] = 321, ids[1] = 322, ids[2] = 323, ids[3] = 324;
    ok (sfx_send_tasks (client, cs, ids, 4) == 0, "a batch of 4 tasks");
    n = sfx_recv_ids (engine, es, ZPAR_MSG_TASK, got, 4, &msgs, m);
    ok (n == 4 && got[0] == 321 && got[3] == 324,
        "the engine gets the 4 tasks, in order, signed by the scheduler (%d messages)", msgs);
    {
        /* the engine answers the four, back to back: the client gets each
         * once (those of one drain in one batch) */
        sfx_answer_ok (engine, es, ids, 4, "c1", 2);
        n = sfx_recv_ids (client, cs, ZPAR_MSG_RESULT, got, 4, &msgs, m);
        ok (n == 4 && got[0] == 321 && got[3] == 324,
            "the engine answers the 4: the client gets the 4 results, in order (%d messages)",
            msgs);
    }

    /* hostile batches: dropped and counted, good items beside them handled */
    d0 = zpar__sched_lb_io_dropped (io);
    {
        zpar_msg_t *b = zpar__msg_create (ZPAR_MSG_BATCH);
        sfx_raw_item (b, sfx_task_msg (331), ZPAR_CHAN_TASK);
        b->nenv = 0;
        ok (zpar__wire_send_chan (client, cs, ZPAR_CHAN_TASK, b, 0) == 0,
            "a batch of one item (broken structure)");
        ok (wait_dropped (io, d0 + 1), "is dropped whole and counted");
        zpar__msg_destroy (b);
    }
    {
        zpar_msg_t *b = zpar__msg_create (ZPAR_MSG_BATCH),
                   *inner = zpar__msg_create (ZPAR_MSG_BATCH);
        zpar_proto_result_t r;
        zpar_msg_t *rm = zpar__msg_create (ZPAR_MSG_RESULT);
        uint8_t shortitem[12] = {1};
        sfx_raw_item (b, sfx_task_msg (341), ZPAR_CHAN_TASK);
        sfx_raw_item (b, sfx_task_msg (342), ZPAR_CHAN_MUX); /* another channel */
        sfx_raw_item (inner, sfx_task_msg (343), ZPAR_CHAN_TASK);
        sfx_raw_item (inner, sfx_task_msg (344), ZPAR_CHAN_TASK);
        sfx_raw_item (b, inner, ZPAR_CHAN_TASK); /* a batch in a batch */
        zpar__msg_add_bytes (b, ZPAR_F_ITEM, shortitem, sizeof (shortitem));
        zpar__proto_result_error (&r, zpar__tid (345), zpar__eid (1), zpar__cid (1), ZPAR_STATUS_OK,
                                  NULL);
        zpar__proto_result_encode (rm, &r);
        sfx_raw_item (b, rm, ZPAR_CHAN_TASK); /* a result from a client */
        sfx_raw_item (b, sfx_task_msg (346), ZPAR_CHAN_TASK);
        b->nenv = 0;
        ok (zpar__wire_send_chan (client, cs, ZPAR_CHAN_TASK, b, 0) == 0,
            "a batch: task, task of the mux channel, batch, short item, result, task");
        int dropped = wait_dropped (io, d0 + 5);
        ok (dropped, "the 4 bad items are dropped alone and counted (%llu)",
            (unsigned long long)(zpar__sched_lb_io_dropped (io) - d0 - 1));
        ok (sfx_recv_ids (engine, es, ZPAR_MSG_TASK, got, 2, &msgs, m) == 2 && got[0] == 341 &&
                got[1] == 346,
            "the 2 good tasks beside them reach the engine");
        zpar__msg_destroy (b);
    }
    {
        /* a batch signed with another key: dropped whole */
        uint8_t other[ZPAR_KEY_LEN];
        zpar_signer_t *fs;
        memset (other, 0x5a, sizeof (other));
        fs = zpar__signer_create (other, 0);
        ids[0] = 351, ids[1] = 352;
        ok (sfx_send_tasks (client, fs, ids, 2) == 0, "a batch of 2 tasks with a forged signature");
        ok (wait_dropped (io, d0 + 6), "is dropped and counted");
        zpar__signer_destroy (fs);
    }
    ids[0] = 361, ids[1] = 362;
    ok (sfx_send_tasks (client, cs, ids, 2) == 0 &&
            sfx_recv_ids (engine, es, ZPAR_MSG_TASK, got, 2, &msgs, m) == 2 && got[0] == 361,
        "the scheduler still serves: the next batch reaches the engine");

    ok (zpar__pipe_send_term (pipe, 0) == 0, "hub: $TERM");
    zpar__sched_lb_io_stop (io);
    zmq_close (pipe);
    zmq_close (client);
    zmq_close (engine);
    zmq_close (mon);
    zpar__msg_destroy (m);
    zpar__signer_destroy (cs);
    zpar__signer_destroy (es);
}

/* $ZPAR_SCHED_CLIENT_BATCH=0: the answers of a round go alone, each
 * validly signed (recv_ids checks every signature). */
static void test_off (void)
{
    char cep[64] = "inproc://cbo-client", eep[64] = "inproc://cbo-engine";
    zpar_signer_t *cs = zpar__signer_create (key, 0);
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_sched_lb_io_t *io;
    zpar_error_t err;
    void *mon, *pipe, *client;
    uint64_t ids[3] = {501, 502, 503}, got[3];
    size_t n;
    int msgs;

    setenv ("ZPAR_SCHED_CLIENT_BATCH", "0", 1);
    io = sfx_lb_start (ctx, "cbo", "leastload", 4, cep, eep, sizeof (cep), key, 0, &mon, &pipe,
                       &err);
    if (!ok (io != NULL, "off: scheduler started"))
        diag ("%s", err.text);
    client = sfx_peer (ctx, ZMQ_DEALER, "c1", 2, cep);
    zpar__admit_refuse ("records full (test)");
    ok (sfx_send_tasks (client, cs, ids, 3) == 0, "off: a batch of 3 tasks while refused");
    n = sfx_recv_ids (client, cs, ZPAR_MSG_RESULT, got, 3, &msgs, m);
    ok (n == 3 && msgs == 3 && got[0] == 501 && got[2] == 503,
        "off: 3 refusals, each alone (%d messages)", msgs);
    zpar__admit_refuse (NULL);
    ok (zpar__pipe_send_term (pipe, 0) == 0, "off: $TERM");
    zpar__sched_lb_io_stop (io);
    unsetenv ("ZPAR_SCHED_CLIENT_BATCH");
    zmq_close (pipe);
    zmq_close (client);
    zmq_close (mon);
    zpar__msg_destroy (m);
    zpar__signer_destroy (cs);
}

static void test_pure (void)
{
    char cep[64] = "inproc://cbp-client", eep[64] = "inproc://cbp-engine";
    zpar_signer_t *cs = zpar__signer_create (key, 0), *es = zpar__signer_create (key, 0);
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_sched_lb_io_t *io;
    zpar_error_t err;
    void *mon, *pipe, *client, *engine;
    uint64_t ids[2] = {401, 402}, got[2];
    int msgs;

    io = sfx_lb_start (ctx, "cbp", "pure", 4, cep, eep, sizeof (cep), key, 0, &mon, &pipe, &err);
    if (!ok (io != NULL, "pure scheduler started"))
        diag ("%s", err.text);
    client = sfx_peer (ctx, ZMQ_DEALER, "c1", 2, cep);
    engine = sfx_peer (ctx, ZMQ_DEALER, NULL, 0, eep);
    ok (sfx_send_tasks (client, cs, ids, 2) == 0, "pure: a batch of 2 tasks");
    ok (sfx_recv_ids (engine, es, ZPAR_MSG_TASK, got, 2, &msgs, m) == 2 && msgs == 2 &&
            got[0] == 401 && got[1] == 402,
        "pure: the engine gets 2 messages, each validly signed");
    ok (zpar__pipe_send_term (pipe, 0) == 0, "pure: $TERM");
    zpar__sched_lb_io_stop (io);
    zmq_close (pipe);
    zmq_close (client);
    zmq_close (engine);
    zmq_close (mon);
    zpar__msg_destroy (m);
    zpar__signer_destroy (cs);
    zpar__signer_destroy (es);
}

int main (void)
{
    plan (NO_PLAN);
    for (int i = 0; i < ZPAR_KEY_LEN; i++)
        key[i] = (uint8_t)(i * 3 + 7);
    ctx = zmq_ctx_new ();
    zpar__route_make (zpar__eid (1), &route1);
    test_leastload ();
    test_off ();
    test_pure ();
    zmq_ctx_term (ctx);
    return done_testing ();
}
