/* test_sched_hub_pace.c - the task scheduler keeps pace with the hub
 * (sched_lb_pipe.c, "the hub's pace"), over inproc ZeroMQ with a fake hub
 * (pipe, monitor), a client and an engine, $ZPAR_SCHED_HUB_BACKLOG=30:
 * while the scheduler's monitor items (task_in, task_run, task_out) are
 * more than 30 ahead of what the hub said it took in ("rec"), the
 * engine's results wait in its socket; "rec" lets them through; a client
 * is still read meanwhile (an abort is answered at once); a hub that says
 * nothing holds them back only ZPAR_LBIO_HUB_STALL_US, never for good. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

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

static double now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ids[0..n) = first, first + 1, ... */
static uint64_t *span (uint64_t *ids, uint64_t first, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ids[i] = first + i;
    return ids;
}

/* Up to n results (lone or batch items) on the client, waiting at most
 * ms for each message: how many came. */
static size_t results (void *client, zpar_signer_t *cs, size_t n, int ms, zpar_msg_t *m)
{
    zmq_setsockopt (client, ZMQ_RCVTIMEO, &ms, sizeof (ms));
    return sfx_recv_ids (client, cs, ZPAR_MSG_RESULT, NULL, n, NULL, m);
}

int main (void)
{
    char cep[64] = "inproc://hp-client", eep[64] = "inproc://hp-engine";
    zpar_signer_t *cs, *es;
    zpar_msg_t *m;
    zpar_sched_lb_io_t *io;
    zpar_route_t route1;
    zpar_error_t err;
    void *mon, *pipe, *client, *engine;
    uint64_t ids[32];
    double t0, held_ms;

    plan (NO_PLAN);
    for (int i = 0; i < ZPAR_KEY_LEN; i++)
        key[i] = (uint8_t)(i * 5 + 3);
    ctx = zmq_ctx_new ();
    cs = zpar__signer_create (key, 0);
    es = zpar__signer_create (key, 0);
    m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar__route_make (zpar__eid (1), &route1);
    setenv ("ZPAR_SCHED_HUB_BACKLOG", "30", 1);
    io = sfx_lb_start (ctx, "hp", "leastload", 64, cep, eep, sizeof (cep), key, 1, &mon, &pipe,
                       &err);
    client = sfx_peer (ctx, ZMQ_DEALER, "c1", 2, cep);
    engine = sfx_peer (ctx, ZMQ_DEALER, route1.b, sizeof (route1.b), eep);
    if (!ok (io != NULL, "scheduler started, hub backlog bound 30 items"))
        diag ("%s", err.text);
    ok (zpar__pipe_send_up (pipe, &route1, 0) == 0, "hub: engine 1 up");

    /* 20 tasks: 20 task_in + 20 task_run items, the hub told of none */
    ok (sfx_send_tasks (client, cs, span (ids, 1001, 20), 20) == 0 &&
            sfx_recv_ids (engine, es, ZPAR_MSG_TASK, NULL, 20, NULL, m) == 20,
        "20 tasks reach the engine (40 monitor items, the hub said nothing)");
    sfx_answer_ok (engine, es, ids, 20, "c1", 2);
    ok (results (client, cs, 1, 120, m) == 0,
        "their results wait in the engine's socket while the hub is 40 items behind");
    {
        /* a task waiting on a dependency nobody knows, then its abort: the
         * client is read while results are held */
        zpar_tid_t after = zpar__tid (999999);
        zpar_msg_t *t = sfx_task_msg_full (1100, 0, &after, 1, 0);
        zpar_proto_control_t c = {.h = {.task = {1100}, .client = {1}}, .op = ZPAR_CONTROL_ABORT};
        zpar_msg_t *a = zpar__msg_create (ZPAR_MSG_ABORT);
        zpar_proto_control_reply_t rep = {0};
        int answered = 0;
        zpar__proto_control_encode (a, &c);
        zpar__wire_send_chan (client, cs, ZPAR_CHAN_TASK, t, 0);
        zpar__wire_send_chan (client, cs, ZPAR_CHAN_TASK, a, 0);
        t0 = now_ms ();
        for (int i = 0; i < 5 && !answered; i++) {
            int tmo = 100;
            zmq_setsockopt (client, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
            if (zpar__wire_recv_chan (client, cs, ZPAR_CHAN_TASK, m, 0, &err) == 0 &&
                m->hdr.type == ZPAR_MSG_CONTROL_REPLY &&
                zpar__proto_control_reply_decode (m, &rep, &err) == 0) {
                answered = rep.count == 1;
                zpar__proto_control_reply_clear (&rep);
            }
        }
        ok (answered && now_ms () - t0 < 200,
            "an abort from the client is answered meanwhile (%.0f ms)", now_ms () - t0);
        zpar__msg_destroy (t);
        zpar__msg_destroy (a);
    }
    ok (zpar__pipe_send_recorded (pipe, 40, 0) == 0, "hub: rec 40 (caught up)");
    {
        size_t got = results (client, cs, 21, 2000, m);
        ok (got == 21,
            "the 20 results reach the client once the hub caught up (%zu with the "
            "aborted one)",
            got);
    }

    /* 20 more: 60 items beyond what the hub said; it says nothing */
    ok (sfx_send_tasks (client, cs, span (ids, 2001, 20), 20) == 0 &&
            sfx_recv_ids (engine, es, ZPAR_MSG_TASK, NULL, 20, NULL, m) == 20,
        "20 more tasks reach the engine");
    t0 = now_ms ();
    sfx_answer_ok (engine, es, ids, 20, "c1", 2);
    ok (results (client, cs, 20, 3000, m) == 20,
        "a hub that says nothing does not hold the results back for good");
    held_ms = now_ms () - t0;
    ok (held_ms >= 150, "they were held back a while first (%.0f ms)", held_ms);

    ok (sfx_lb_stop (io, mon, pipe) == 0, "hub: $TERM, the scheduler stopped");
    zmq_close (client);
    zmq_close (engine);
    zpar__msg_destroy (m);
    zpar__signer_destroy (cs);
    zpar__signer_destroy (es);
    unsetenv ("ZPAR_SCHED_HUB_BACKLOG");
    zmq_ctx_term (ctx);
    return done_testing ();
}
