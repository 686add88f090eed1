/* test_sched_payload.c - the load-balanced scheduler keeps a queued task
 * compact (header, client identity, body) and makes its message again
 * when it sends it: the engine gets the body as the client sent it,
 * validly signed, behind the client's routing identity (a short one and
 * the longest one taken), and a task answered by the scheduler itself
 * (abort) reaches its client.  A longer identity is dropped at intake. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define LONG_ID ZPAR_MAX_IDENT /* the longest routing identity taken */

static uint8_t key[ZPAR_KEY_LEN];
static void *ctx;

static size_t slots_seen; /* SLOT fields of the tasks the engine got */

/* A command task whose argv names it ("task-<id>"), with nslots SLOT
 * fields (only the scheduler may set them). */
static int send_task_slots (void *sock, zpar_signer_t *sg, uint64_t id, size_t nslots)
{
    char name[32];
    const char *argv[] = {"echo", name, NULL};
    const char *slots[] = {"9 elsewhere 0-63 cuda:0 0", "8 elsewhere - - 0"};
    zpar_proto_task_t t = {
        .h = {.task = {id}, .client = {1}},
        .kind = ZPAR_TASK_COMMAND,
        .argv = argv,
        .argc = 2,
        .slots = slots,
        .nslots = nslots,
    };
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_TASK);
    int rc;
    snprintf (name, sizeof (name), "task-%llu", (unsigned long long)id);
    rc = zpar__proto_task_encode (m, &t) == 0
             ? zpar__wire_send_chan (sock, sg, ZPAR_CHAN_TASK, m, 0)
             : -1;
    zpar__msg_destroy (m);
    return rc;
}

static int send_task (void *sock, zpar_signer_t *sg, uint64_t id)
{
    return send_task_slots (sock, sg, id, 0);
}

/* Whether a task's header + body name it as send_task made it. */
static int body_ok (const zpar_hdr_t *h, const void *body, size_t blen)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_proto_task_t t;
    zpar_error_t err;
    uint8_t hb[ZPAR_HDR_LEN];
    char want[32];
    int good = 0;
    zpar__hdr_encode (h, hb);
    snprintf (want, sizeof (want), "task-%llu", (unsigned long long)h->task);
    if (zpar__msg_decode (m, hb, sizeof (hb), body, blen, &err) == 0 &&
        zpar__proto_task_decode (m, &t, &err) == 0) {
        good = t.argc == 2 && strcmp (t.argv[1], want) == 0 && t.h.task.v == h->task;
        slots_seen += t.nslots;
        zpar__proto_task_clear (&t);
    }
    zpar__msg_destroy (m);
    return good;
}

/* Where recv_tasks puts the tasks whose body is intact. */
struct got {
    uint64_t *ids;
    size_t max, *n;
};

static void take_task (void *arg, const zpar_hdr_t *h, const void *body, size_t blen)
{
    struct got *g = arg;
    if (*g->n < g->max && body_ok (h, body, blen))
        g->ids[(*g->n)++] = h->task;
}

/* The next message on an engine's socket (checked: a valid signature):
 * its type, the routing identity it came behind (*idlen bytes into id),
 * and the ids of the tasks it carries whose body is intact. */
static int recv_tasks (void *sock, zpar_signer_t *sg, uint64_t *ids, size_t max, size_t *n,
                       uint8_t *id, size_t *idlen)
{
    struct got g = {ids, max, n};
    *n = 0;
    return sfx_recv_items (sock, sg, ZPAR_CHAN_TASK, take_task, &g, id, idlen);
}

int main (void)
{
    char cep[64] = "inproc://p-client", eep[64] = "inproc://p-engine";
    zpar_error_t err;
    zpar_sched_lb_io_t *io;
    zpar_signer_t *cs, *es;
    zpar_route_t route1;
    void *mon, *pipe, *client, *lclient, *xclient, *eng1;
    uint8_t lid[LONG_ID], xid[LONG_ID + 1], id[256];
    uint64_t ids[16];
    size_t n = 0, idlen = 0;
    int type;

    plan (NO_PLAN);
    memset (key, 7, sizeof (key));
    memset (lid, 'L', sizeof (lid));
    memset (xid, 'X', sizeof (xid));
    (void)zpar__route_make (zpar__eid (1), &route1);
    ctx = zmq_ctx_new ();
    cs = zpar__signer_create (key, 0);
    es = zpar__signer_create (key, 0);

    io = sfx_lb_start (ctx, "p", "leastload", 8, cep, eep, sizeof (cep), key, 1, &mon, &pipe, &err);
    if (!ok (io != NULL, "leastload scheduler started"))
        diag ("%s", err.text);
    client = sfx_peer (ctx, ZMQ_DEALER, "c1", 2, cep);
    lclient = sfx_peer (ctx, ZMQ_DEALER, lid, sizeof (lid), cep);
    xclient = sfx_peer (ctx, ZMQ_DEALER, xid, sizeof (xid), cep);
    eng1 = sfx_peer (ctx, ZMQ_DEALER, route1.b, sizeof (route1.b), eep);

    /* ---- a task answered by the scheduler: its client, from the payload */
    ok (send_task (client, cs, 30) == 0, "client c1 submits task 30 (no engine yet)");
    {
        zpar_proto_control_t c = {.h = {.task = {30}, .client = {1}}, .op = ZPAR_CONTROL_ABORT};
        zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_ABORT);
        zpar_msg_t *r = zpar__msg_create (ZPAR_MSG_NONE);
        int got_result = 0, got_reply = 0;
        zpar__proto_control_encode (m, &c);
        ok (zpar__wire_send_chan (client, cs, ZPAR_CHAN_TASK, m, 0) == 0, "and aborts it");
        for (int k = 0; k < 4 && !(got_result && got_reply); k++) {
            if (zpar__wire_recv_chan (client, cs, ZPAR_CHAN_TASK, r, 0, &err) < 0)
                break;
            if (r->hdr.type == ZPAR_MSG_RESULT && r->hdr.task == 30) {
                zpar_proto_result_t res;
                if (zpar__proto_result_decode (r, &res, &err) == 0) {
                    got_result = res.status == ZPAR_STATUS_ABORTED;
                    zpar__proto_result_clear (&res);
                }
            } else if (r->hdr.type == ZPAR_MSG_CONTROL_REPLY)
                got_reply = 1;
            else if (r->hdr.type == ZPAR_MSG_BATCH)
                got_result = got_reply = 1; /* both in one (not expected) */
        }
        ok (got_result, "c1 gets task 30's 'aborted' result (the identity kept in the payload)");
        ok (got_reply, "and the abort's reply");
        zpar__msg_destroy (m);
        zpar__msg_destroy (r);
    }

    /* ---- queued, then dispatched: made again from the compact payload */
    for (uint64_t t = 31; t <= 33; t++)
        send_task (client, cs, t);
    for (uint64_t t = 41; t <= 42; t++)
        send_task (lclient, cs, t);
    send_task (xclient, cs, 51);
    usleep (100000); /* queued: no engine yet */
    ok (zpar__sched_lb_io_dropped (io) == 1, "a client identity over %d bytes: dropped, counted",
        LONG_ID);
    ok (zpar__pipe_send_up (pipe, &route1, 0) == 0, "hub: engine 1 up");
    {
        int batch_c1 = 0, batch_l = 0, other = 0;
        for (int k = 0; k < 2; k++) {
            type = recv_tasks (eng1, es, ids, 16, &n, id, &idlen);
            if (type == ZPAR_MSG_BATCH && n == 3 && ids[0] == 31 && ids[2] == 33 && idlen == 2 &&
                memcmp (id, "c1", 2) == 0)
                batch_c1 = 1;
            else if (type == ZPAR_MSG_BATCH && n == 2 && ids[0] == 41 && ids[1] == 42 &&
                     idlen == LONG_ID && memcmp (id, lid, LONG_ID) == 0)
                batch_l = 1;
            else {
                diag ("unexpected: type %d, %zu tasks, identity of %zu bytes", type, n, idlen);
                other++;
            }
        }
        ok (batch_c1, "tasks 31-33 reach the engine as one batch behind c1, bodies intact");
        ok (batch_l, "tasks 41, 42 of a client with a %d-byte identity: one batch behind it",
            LONG_ID);
        ok (other == 0, "nothing else");
        ok (recv_tasks (eng1, es, ids, 16, &n, id, &idlen) < 0 && n == 0, "and no task 51");
    }

    /* ---- a client may not place: the SLOT fields it sends are dropped */
    slots_seen = 0;
    ok (send_task_slots (client, cs, 60, 2) == 0, "c1 submits task 60 with two SLOT fields");
    type = recv_tasks (eng1, es, ids, 16, &n, id, &idlen);
    ok (n == 1 && ids[0] == 60 && slots_seen == 0,
        "the engine gets task 60, body otherwise intact, without the slots (%zu seen)", slots_seen);

    ok (zpar__pipe_send_term (pipe, 0) == 0, "hub: $TERM");
    zpar__sched_lb_io_stop (io);
    zmq_close (pipe);
    zmq_close (client);
    zmq_close (lclient);
    zmq_close (xclient);
    zmq_close (eng1);
    zmq_close (mon);
    zpar__signer_destroy (cs);
    zpar__signer_destroy (es);
    zmq_ctx_term (ctx);
    return done_testing ();
}
