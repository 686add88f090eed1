/* test_sched_io.c - the schedulers' threads and sockets over inproc
 * ZeroMQ, with a fake hub (pipe and monitor), a client and an engine:
 * sched_lb_io (dispatch, result, dependency answer, engine death, abort,
 * garbage, stop) and sched_direct (MUX forward both ways, an unreachable
 * engine, the hub's inject pipe, control replies, wrong types), and their
 * bad parameters. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "msg.h"
#include "proto_control.h"
#include "proto_monitor.h"
#include "proto_pipe.h"
#include "proto_result.h"
#include "proto_task.h"
#include "route.h"
#include "sched_direct.h"
#include "sched_fixture.h"
#include "sched_lb_io.h"
#include "tap.h"
#include "wire.h"

static uint8_t key[ZPAR_KEY_LEN];
static void *ctx;
/* the channel the helpers sign for and check (the socket under test's) */
static zpar_chan_t chan = ZPAR_CHAN_TASK;
/* engine 1's routing identity, as the hub would give it */
static zpar_route_t route1;

static void *peer (int type, const char *ident, const char *ep)
{
    return sfx_peer (ctx, type, ident, ident ? strlen (ident) : 0, ep);
}

/* A signed task request; to: routing frame first (direct), or none. */
static int send_task (void *sock, zpar_signer_t *sg, const char *to, uint64_t id,
                      const zpar_tid_t *after, size_t nafter)
{
    /* direct: signed for the engine it names */
    uint32_t eng = to && to[0] == 'e' ? (uint32_t)strtoul (to + 1, NULL, 10) : 0;
    zpar_msg_t *m = sfx_task_msg_full (id, 0, after, nafter, eng);
    int rc = m ? 0 : -1;
    if (rc == 0 && to)
        rc = zpar__msg_push_ident (m, to, strlen (to));
    if (rc == 0)
        rc = zpar__wire_send_chan (sock, sg, chan, m, 0);
    zpar__msg_destroy (m);
    return rc;
}

static int send_result (void *sock, zpar_signer_t *sg, const char *to, uint64_t id, uint32_t eng,
                        zpar_status_t st)
{
    zpar_proto_result_t r;
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_RESULT);
    int rc;
    zpar__proto_result_error (&r, zpar__tid (id), zpar__eid (eng), zpar__cid (1), st, NULL);
    rc = zpar__proto_result_encode (m, &r);
    if (rc == 0)
        rc = zpar__msg_push_ident (m, to, strlen (to));
    if (rc == 0)
        rc = zpar__wire_send_chan (sock, sg, chan, m, 0);
    zpar__msg_destroy (m);
    return rc;
}

/* Receive one message; 0 with m decoded, -1 on timeout or error. */
static int recv_msg (void *sock, zpar_signer_t *sg, zpar_msg_t *m)
{
    zpar_error_t err;
    if (zpar__wire_recv_chan (sock, sg, chan, m, 0, &err) < 0) {
        diag ("receive: %s (%s)", strerror (errno), errno == EAGAIN ? "timeout" : err.text);
        return -1;
    }
    return 0;
}

/* The next item of the monitor's records (several may come in one
 * message): its kind, ZPAR_MON_NONE on timeout.  TASK_RUN: m's header
 * holds the task and the engine. */
static zpar_monitor_kind_t recv_mon (void *mon, zpar_msg_t *m)
{
    static zmq_msg_t rec;
    static int have;
    static size_t off;
    zpar_monitor_item_t it;
    zpar_error_t err;
    int rc;
    for (;;) {
        if (!have) {
            zmq_msg_init (&rec);
            if (zmq_msg_recv (&rec, mon, 0) < 0) {
                zmq_msg_close (&rec);
                return ZPAR_MON_NONE;
            }
            have = 1;
            off = 0;
        }
        rc = zpar__monitor_next (zmq_msg_data (&rec), zmq_msg_size (&rec), &off, &it, &err);
        if (rc == 1)
            break;
        if (rc < 0)
            diag ("monitor: %s", err.text);
        zmq_msg_close (&rec);
        have = 0;
    }
    if (it.packed) {
        if (zpar__msg_unpack (m, it.packed, it.len, &err) < 0)
            diag ("monitor item: %s", err.text);
    } else {
        zpar__msg_reset (m, ZPAR_MSG_NONE);
        m->hdr = it.hdr;
    }
    return it.kind;
}

/* PUB/SUB: copies sent before the monitor's subscription reached the
 * scheduler are lost (the hub's loop sees to it at once; this test's
 * thread does not).  Send throw-away work until a copy comes back, then
 * drain. via: the routing frame for a direct scheduler, NULL for the
 * task scheduler (a task id 0 is answered at once). */
static int warm_up (void *mon, void *client, zpar_signer_t *cs, const char *via)
{
    int tmo = 50, got = 0;
    zmq_setsockopt (mon, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    for (int i = 0; i < 100 && !got; i++) {
        zpar_frames_t f;
        send_task (client, cs, via, 0, NULL, 0);
        if (zpar__frames_recv (client, &f, 0) == 0) /* the error answer */
            zpar__frames_close (&f);
        for (;;) {
            zmq_msg_t rec;
            zmq_msg_init (&rec);
            if (zmq_msg_recv (&rec, mon, 0) < 0) {
                zmq_msg_close (&rec);
                break;
            }
            got = 1;
            zmq_msg_close (&rec);
        }
    }
    tmo = 5000;
    zmq_setsockopt (mon, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    return got;
}

static uint64_t status_of (const zpar_msg_t *m)
{
    return zpar__msg_u64_or (m, ZPAR_F_STATUS, 0);
}

static void test_lb (void)
{
    char cep[64] = "inproc://lb-client", eep[64] = "inproc://lb-engine";
    zpar_error_t err;
    zpar_sched_lb_io_t *io;
    zpar_signer_t *cs = zpar__signer_create (key, 0), *es = zpar__signer_create (key, 0);
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    void *mon, *pipe, *client, *engine, *thief;
    zpar_frames_t f;
    zpar_pipe_msg_t pm;
    zpar_tid_t dep = {9};

    io =
        sfx_lb_start (ctx, "lb", "leastload", 4, cep, eep, sizeof (cep), key, 1, &mon, &pipe, &err);
    zmq_setsockopt (mon, ZMQ_RCVTIMEO, &(int){5000}, sizeof (int));
    if (!ok (io != NULL, "leastload scheduler started"))
        diag ("%s", err.text);
    chan = ZPAR_CHAN_TASK;
    client = peer (ZMQ_DEALER, "c1", cep);
    engine = sfx_peer (ctx, ZMQ_DEALER, route1.b, sizeof (route1.b), eep);
    thief = peer (ZMQ_DEALER, "e1", eep); /* the old, predictable name */

    ok (warm_up (mon, client, cs, NULL), "monitor copies flow");
    ok (zpar__pipe_send_up (pipe, &route1, 0) == 0, "hub: engine 1 up");
    {
        uint64_t before = zpar__sched_lb_io_dropped (io);
        chan = ZPAR_CHAN_MUX;
        ok (send_task (client, cs, NULL, 100, NULL, 0) == 0, "a task signed for the mux channel");
        chan = ZPAR_CHAN_TASK;
        for (int i = 0; i < 200 && zpar__sched_lb_io_dropped (io) == before; i++)
            usleep (10000);
        ok (zpar__sched_lb_io_dropped (io) == before + 1,
            "is dropped by the task scheduler (another channel)");
    }
    ok (send_task (client, cs, NULL, 101, NULL, 0) == 0, "client submits task 101");
    ok (recv_msg (engine, es, m) == 0 && m->hdr.type == ZPAR_MSG_TASK && m->hdr.task == 101 &&
            m->hdr.engine == 1 && (m->hdr.flags & 0xff) == 1 && m->nenv == 1 &&
            m->env[0].len == 2 && memcmp (m->env[0].data, "c1", 2) == 0,
        "engine 1 gets it, re-signed, attempt 1, behind the client's identity");
    ok (recv_mon (mon, m) == ZPAR_MON_TASK_IN && m->hdr.task == 101, "monitor: task_in");
    ok (recv_mon (mon, m) == ZPAR_MON_TASK_RUN && m->hdr.engine == 1,
        "monitor: task_run on engine 1");
    ok (send_result (engine, es, "c1", 101, 1, ZPAR_STATUS_OK) == 0, "engine answers");
    ok (recv_msg (client, cs, m) == 0 && m->hdr.type == ZPAR_MSG_RESULT && m->hdr.task == 101 &&
            status_of (m) == ZPAR_STATUS_OK,
        "the client gets the engine's result");
    ok (recv_mon (mon, m) == ZPAR_MON_TASK_OUT && m->hdr.task == 101, "monitor: task_out");

    /* a dependency the scheduler does not know: it asks the hub */
    ok (send_task (client, cs, NULL, 102, &dep, 1) == 0, "task 102 runs after 9");
    ok (zpar__pipe_recv (pipe, &f, &pm, 0, &err) == 0 && pm.kind == ZPAR_PIPE_DEP_QUERY &&
            pm.task == 9,
        "the hub is asked about task 9");
    zpar__frames_close (&f);
    ok (zpar__pipe_send_done (pipe, 9, 0, 0) == 0, "hub: 9 did not succeed");
    ok (recv_msg (client, cs, m) == 0 && m->hdr.task == 102 &&
            status_of (m) == ZPAR_STATUS_DEPENDENCY,
        "task 102 is answered 'dependency'");

    /* engine death without retries */
    ok (send_task (client, cs, NULL, 103, NULL, 0) == 0 && recv_msg (engine, es, m) == 0 &&
            m->hdr.task == 103,
        "task 103 on engine 1");
    ok (zpar__pipe_send_down (pipe, 1, 0) == 0, "hub: engine 1 died");
    ok (recv_msg (client, cs, m) == 0 && m->hdr.task == 103 &&
            status_of (m) == ZPAR_STATUS_ENGINE_DIED && m->hdr.engine == 1,
        "task 103 is answered 'engine died'");

    /* abort of a task nobody has */
    {
        zpar_proto_control_t c = {.h = {.task = {555}, .client = {1}}, .op = ZPAR_CONTROL_ABORT};
        zpar_proto_control_reply_t r;
        zpar__proto_control_encode (m, &c);
        m->nenv = 0;
        ok (zpar__wire_send_chan (client, cs, chan, m, 0) == 0 && recv_msg (client, cs, m) == 0 &&
                zpar__proto_control_reply_decode (m, &r, &err) == 0 && r.count == 0 &&
                r.engine.v == 0 && r.h.task.v == 555,
            "abort of an unknown task: count 0");
        zpar__proto_control_reply_clear (&r);
    }

    /* garbage is dropped and counted */
    zmq_send (client, "junk", 4, 0);
    ok (send_task (client, cs, NULL, 104, NULL, 0) == 0, "task 104 after garbage, no engine up");
    ok (zpar__pipe_send_up (pipe, &route1, 0) == 0 && recv_msg (engine, es, m) == 0 &&
            m->hdr.task == 104,
        "engine 1 registers again and gets task 104");
    ok (send_result (engine, es, "c1", 104, 1, ZPAR_STATUS_OK) == 0 &&
            recv_msg (client, cs, m) == 0 && m->hdr.task == 104 && status_of (m) == ZPAR_STATUS_OK,
        "its result reaches the client");
    ok (zpar__sched_lb_io_dropped (io) >= 1, "garbage counted (%llu dropped)",
        (unsigned long long)zpar__sched_lb_io_dropped (io));
    {
        /* a result signed by a key holder but sent from an identity that
         * is not engine 1's is not taken for engine 1's */
        uint64_t before = zpar__sched_lb_io_dropped (io);
        ok (send_result (thief, es, "c1", 104, 1, ZPAR_STATUS_OK) == 0, "a result from 'e1'");
        for (int i = 0; i < 200 && zpar__sched_lb_io_dropped (io) == before; i++)
            usleep (10000);
        ok (zpar__sched_lb_io_dropped (io) == before + 1, "is dropped (not engine 1's identity)");
        zmq_setsockopt (thief, ZMQ_RCVTIMEO, &(int){100}, sizeof (int));
        ok (recv_msg (thief, es, m) < 0, "the peer named e1 got no task");
    }

    ok (zpar__pipe_send_term (pipe, 0) == 0, "hub: $TERM");
    zpar__sched_lb_io_stop (io);
    ok (1, "stopped");
    zmq_close (pipe);
    zmq_close (client);
    zmq_close (engine);
    zmq_close (thief);
    zmq_close (mon);
    zpar__msg_destroy (m);
    zpar__signer_destroy (cs);
    zpar__signer_destroy (es);
}

static void test_direct (zpar_sched_direct_kind_t kind)
{
    const char *name = kind == ZPAR_SCHED_DIRECT_MUX ? "mux" : "control";
    char cep[64], eep[64], mep[64], iep[64];
    zpar_error_t err;
    zpar_sched_direct_t *d;
    zpar_signer_t *cs = zpar__signer_create (key, 0), *es = zpar__signer_create (key, 0);
    zpar_signer_t *hs = zpar__signer_create (key, 0);
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    void *mon, *inject, *client, *engine, *thief;
    int tmo = 5000;

    snprintf (cep, sizeof (cep), "inproc://%s-client", name);
    snprintf (eep, sizeof (eep), "inproc://%s-engine", name);
    snprintf (mep, sizeof (mep), "inproc://%s-mon", name);
    snprintf (iep, sizeof (iep), "inproc://%s-inject", name);
    mon = zmq_socket (ctx, ZMQ_SUB);
    zmq_setsockopt (mon, ZMQ_SUBSCRIBE, "", 0);
    zmq_setsockopt (mon, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    zmq_bind (mon, mep);
    d = zpar__sched_direct_start (ctx, kind, cep, eep, sizeof (cep), mep, iep, key, &err);
    if (!ok (d != NULL, "%s: started", name))
        diag ("%s", err.text);
    chan = kind == ZPAR_SCHED_DIRECT_MUX ? ZPAR_CHAN_MUX : ZPAR_CHAN_CONTROL;
    inject = peer (ZMQ_PAIR, NULL, iep);
    client = peer (ZMQ_DEALER, "c1", cep);
    thief = peer (ZMQ_DEALER, "e1", eep); /* the old, predictable name, first */
    engine = sfx_peer (ctx, ZMQ_DEALER, route1.b, sizeof (route1.b), eep);
    ok (zpar__pipe_send_route (inject, &route1, 0) == 0, "%s: the hub gives engine 1's route",
        name);

    if (kind == ZPAR_SCHED_DIRECT_MUX) {
        ok (warm_up (mon, client, cs, "e9"), "mux: monitor copies flow");
        ok (send_task (client, cs, "e1", 201, NULL, 0) == 0, "mux: a task for engine e1");
        ok (recv_msg (engine, es, m) == 0 && m->hdr.task == 201 && m->nenv == 1 &&
                memcmp (m->env[0].data, "c1", 2) == 0,
            "mux: the engine gets it behind the client's identity");
        ok (recv_mon (mon, m) == ZPAR_MON_MUX_IN && m->hdr.task == 201, "mux: monitor mux_in");
        ok (send_result (engine, es, "c1", 201, 1, ZPAR_STATUS_OK) == 0 &&
                recv_msg (client, cs, m) == 0 && m->hdr.task == 201 && m->nenv == 1 &&
                memcmp (m->env[0].data, "e1", 2) == 0,
            "mux: the client gets the result behind the engine's identity");
        ok (recv_mon (mon, m) == ZPAR_MON_MUX_OUT && m->hdr.task == 201, "mux: monitor mux_out");
        {
            uint64_t before = zpar__sched_direct_dropped (d);
            ok (send_task (client, cs, "e2", 210, NULL, 0) == 0, "mux: a task for engine 2...");
            zpar__msg_reset (m, ZPAR_MSG_NONE);
            {
                static const char *const argv[] = {"true", NULL};
                zpar_proto_task_t t = {.h = {.task = {211}, .client = {1}, .engine = {2}},
                                       .kind = ZPAR_TASK_COMMAND,
                                       .argv = argv,
                                       .argc = 1};
                zpar__proto_task_encode (m, &t);
                m->nenv = 0;
                zpar__msg_push_ident (m, "e1", 2);
                ok (zpar__wire_send_chan (client, cs, ZPAR_CHAN_MUX, m, 0) == 0,
                    "mux: ... and one signed for engine 2 routed to e1");
            }
            ok (recv_msg (client, cs, m) == 0 && m->hdr.task == 210 &&
                    zpar__msg_u64_or (m, ZPAR_F_ERRNO, 0) == EHOSTUNREACH,
                "mux: engine 2 has no route: EHOSTUNREACH");
            for (int i = 0; i < 200 && zpar__sched_direct_dropped (d) == before; i++)
                usleep (10000);
            ok (zpar__sched_direct_dropped (d) == before + 1,
                "mux: the task signed for another engine than its route is dropped");
            (void)recv_mon (mon, m);
            (void)recv_mon (mon, m);
            ok (send_result (thief, es, "c1", 201, 1, ZPAR_STATUS_OK) == 0,
                "mux: a result from 'e1'");
            for (int i = 0; i < 200 && zpar__sched_direct_dropped (d) == before + 1; i++)
                usleep (10000);
            ok (zpar__sched_direct_dropped (d) == before + 2,
                "mux: is dropped (not engine 1's routing identity)");
            zmq_setsockopt (thief, ZMQ_RCVTIMEO, &(int){100}, sizeof (int));
            ok (recv_msg (thief, es, m) < 0, "mux: the peer named e1 got nothing");
        }
        ok (send_task (client, cs, "e9", 202, NULL, 0) == 0 && recv_msg (client, cs, m) == 0 &&
                m->hdr.type == ZPAR_MSG_RESULT && m->hdr.task == 202 &&
                status_of (m) == ZPAR_STATUS_ERROR &&
                zpar__msg_u64_or (m, ZPAR_F_ERRNO, 0) == EHOSTUNREACH,
            "mux: a task for an engine not connected is answered EHOSTUNREACH");
        ok (recv_mon (mon, m) == ZPAR_MON_MUX_IN && m->hdr.task == 202 &&
                recv_mon (mon, m) == ZPAR_MON_MUX_OUT && m->hdr.task == 202 &&
                status_of (m) == ZPAR_STATUS_ERROR,
            "mux: the hub sees the task and the answer (mux_in, mux_out)");
    } else {
        zpar_proto_control_t c = {.h = {.task = {7}, .client = {1}, .engine = {9}},
                                  .op = ZPAR_CONTROL_ABORT};
        zpar_proto_control_reply_t r;
        zpar__proto_control_encode (m, &c);
        m->nenv = 0;
        zpar__msg_push_ident (m, "e9", 2);
        ok (zpar__wire_send_chan (client, cs, chan, m, 0) == 0 && recv_msg (client, cs, m) == 0 &&
                zpar__proto_control_reply_decode (m, &r, &err) == 0 && r.errnum == EHOSTUNREACH &&
                r.error != NULL,
            "control: an abort for an engine not connected is answered EHOSTUNREACH");
        zpar__proto_control_reply_clear (&r);
    }

    /* a type the channel does not carry is dropped */
    {
        uint64_t before = zpar__sched_direct_dropped (d);
        zpar_proto_control_t c = {.h = {.task = {8}, .engine = {1}}, .op = ZPAR_CONTROL_SHUTDOWN};
        if (kind == ZPAR_SCHED_DIRECT_MUX) {
            zpar__proto_control_encode (m, &c);
            m->nenv = 0;
            zpar__msg_push_ident (m, "e1", 2);
            zpar__wire_send_chan (client, cs, chan, m, 0);
        } else
            send_task (client, cs, "e1", 203, NULL, 0);
        /* the hub's inject pipe: forwarded as it is */
        m->nenv = 0;
        zpar__proto_control_encode (m, &c);
        zpar__msg_push_ident (m, route1.b, sizeof (route1.b));
        ok (zpar__wire_send_chan (inject, hs, chan, m, 0) == 0,
            "%s: the hub injects a shutdown for engine 1", name);
        ok (recv_msg (engine, es, m) == 0 && m->hdr.type == ZPAR_MSG_SHUTDOWN && m->nenv == 0,
            "%s: the engine gets the hub's message (and not the wrong-type one)", name);
        for (int i = 0; i < 200 && zpar__sched_direct_dropped (d) == before; i++)
            usleep (10000);
        ok (zpar__sched_direct_dropped (d) == before + 1, "%s: the wrong type was dropped", name);
    }

    ok (zpar__pipe_send_term (inject, 0) == 0, "%s: $TERM", name);
    zpar__sched_direct_stop (d);
    ok (1, "%s: stopped", name);
    zmq_close (inject);
    zmq_close (client);
    zmq_close (engine);
    zmq_close (thief);
    zmq_close (mon);
    zpar__msg_destroy (m);
    zpar__signer_destroy (cs);
    zpar__signer_destroy (es);
    zpar__signer_destroy (hs);
}

static void test_bad_params (void)
{
    char cep[64] = "inproc://bad-client", eep[64] = "inproc://bad-engine";
    char cep2[64] = "inproc://bad-client", eep2[64] = "inproc://bad-engine2";
    zpar_error_t err;
    zpar_sched_lb_io_t *io;
    zpar_sched_direct_t *d;

    errno = 0;
    ok (zpar__sched_lb_io_start (ctx, "roundrobin", 0, cep, eep, sizeof (cep), "inproc://x",
                                 "inproc://bad-pipe", key, &err) == NULL &&
            errno == EINVAL,
        "unknown scheme: EINVAL (%s)", err.text);
    ok (zpar__sched_direct_start (ctx, (zpar_sched_direct_kind_t)7, cep, eep, sizeof (cep),
                                  "inproc://x", "inproc://bad-inject", key, &err) == NULL &&
            errno == EINVAL,
        "unknown direct kind: EINVAL (%s)", err.text);
    /* an endpoint already bound */
    io = zpar__sched_lb_io_start (ctx, "pure", 0, cep, eep, sizeof (cep), "inproc://x",
                                  "inproc://bad-pipe", key, &err);
    ok (io != NULL, "pure scheduler started");
    d = zpar__sched_direct_start (ctx, ZPAR_SCHED_DIRECT_MUX, cep2, eep2, sizeof (cep2),
                                  "inproc://x", "inproc://bad-inject", key, &err);
    ok (d == NULL && err.text[0], "a bound endpoint is refused: %s", err.text);
    {
        /* pure: round robin, frames forwarded as they are */
        zpar_signer_t *cs = zpar__signer_create (key, 0), *es = zpar__signer_create (key, 0);
        zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
        void *client = peer (ZMQ_DEALER, "c1", cep), *engine = peer (ZMQ_DEALER, "e1", eep);
        chan = ZPAR_CHAN_TASK;
        ok (send_task (client, cs, NULL, 301, NULL, 0) == 0 && recv_msg (engine, es, m) == 0 &&
                m->hdr.task == 301 && m->hdr.engine == 0 && m->nenv == 1,
            "pure: the engine gets the task as the client sent it");
        ok (send_result (engine, es, "c1", 301, 1, ZPAR_STATUS_OK) == 0 &&
                recv_msg (client, cs, m) == 0 && m->hdr.task == 301 && m->nenv == 0,
            "pure: the client gets the result");
        zmq_close (client);
        zmq_close (engine);
        zpar__msg_destroy (m);
        zpar__signer_destroy (cs);
        zpar__signer_destroy (es);
    }
    {
        void *pipe = peer (ZMQ_PAIR, NULL, "inproc://bad-pipe");
        zpar__pipe_send_term (pipe, 0);
        zpar__sched_lb_io_stop (io);
        zmq_close (pipe);
    }
    zpar__sched_lb_io_stop (NULL);
    zpar__sched_direct_stop (NULL);
    ok (zpar__sched_lb_io_dropped (NULL) == 0 && zpar__sched_direct_dropped (NULL) == 0,
        "NULL-safe stop and counters");
}

int main (void)
{
    plan (NO_PLAN);
    memset (key, 5, sizeof (key));
    (void)zpar__route_make (zpar__eid (1), &route1);
    ctx = zmq_ctx_new ();
    test_lb ();
    test_direct (ZPAR_SCHED_DIRECT_MUX);
    test_direct (ZPAR_SCHED_DIRECT_CONTROL);
    test_bad_params ();
    zmq_ctx_term (ctx);
    return done_testing ();
}
