/* test_task_runner_batch.c - the engine's task queue sending the results
 * of the task queue in batches (zpar__task_runner_set_batching), without
 * sockets: fake send and send_batch callbacks record what goes.
 *   - inline tasks of one wake-up: their results go as one batch;
 *   - a task naming another engine among them (an item of a batch of
 *     tasks the engine splits): only that one is refused;
 *   - results for two clients: one batch per client envelope;
 *   - a long stream of inline tasks still reports (the time budget);
 *   - not connected: the results wait in the outbox, are held, and go
 *     once each when connected again;
 *   - batching off (the default, the "pure" scheme): one by one.
 * Needs tests/lib/.libs/testfn.so (skipped when absent). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "engine/task_runner.h"
#include "msg.h"
#include "proto_batch.h"
#include "proto_result.h"
#include "proto_task.h"
#include "reactor.h"
#include "tap.h"
#include "wire.h"
#include "zpar.h"

#define MAXREC 256

static zpar_reactor_t *reactor;
static int connected = 1;
static int nsingle, nbatch;
static size_t batch_sizes[MAXREC];
static uint64_t tasks[MAXREC]; /* every result's task, in the order sent */
static char envs[MAXREC][8];   /* and its envelope's first frame */
static int ntasks;
static char lib[512];

static void record (uint64_t task, int nenv, const zpar_ident_t *env)
{
    if (ntasks < MAXREC) {
        tasks[ntasks] = task;
        snprintf (envs[ntasks], sizeof (envs[0]), "%.*s", nenv ? (int)env[0].len : 0,
                  nenv ? (const char *)env[0].data : "");
        ntasks++;
    }
}

static int fake_send (void *arg, zpar_engine_queue_t q, zpar_msg_t *m)
{
    (void)arg;
    (void)q;
    if (!connected) {
        errno = ENOTCONN;
        return -1;
    }
    nsingle++;
    if (m->hdr.type == ZPAR_MSG_RESULT)
        record (m->hdr.task, m->nenv, m->env);
    return 0;
}

/* Read the batch back as a receiver would. */
static int fake_send_batch (void *arg, zpar_engine_queue_t q, zpar_batch_t *b, int nenv,
                            const zpar_ident_t *env)
{
    void *ctx = arg;
    (void)q;
    (void)ctx;
    if (!connected) {
        zpar__batch_reset (b);
        errno = ENOTCONN;
        return -1;
    }
    if (nbatch < MAXREC)
        batch_sizes[nbatch] = zpar__batch_count (b);
    nbatch++;
    /* the items themselves: the builder holds them until it is sent; a
     * real send stamps and signs them, here we only count and record */
    {
        static uint8_t key[ZPAR_KEY_LEN];
        zpar_signer_t *s = zpar__signer_create (key, 0);
        void *zctx = zmq_ctx_new ();
        void *a = zmq_socket (zctx, ZMQ_PAIR), *r = zmq_socket (zctx, ZMQ_PAIR);
        zpar_frames_t f;
        zpar_hdr_t h;
        zpar_batch_iter_t it;
        zpar_error_t err;
        const void *body;
        size_t blen;
        zmq_bind (a, "inproc://trb");
        zmq_connect (r, "inproc://trb");
        if (zpar__batch_send (b, a, s, ZPAR_CHAN_TASK, nenv, env, 0, NULL) == 0 &&
            zpar__frames_recv (r, &f, 0) == 0) {
            if (zpar__frames_check_chan (s, ZPAR_CHAN_TASK, &f, &h, &err) == 0 &&
                zpar__batch_iter_frames (&it, &f, &err) == 0)
                while (zpar__batch_next (&it, &h, &body, &blen, &err) == 1)
                    if (h.type == ZPAR_MSG_RESULT)
                        record (h.task, nenv, env);
            zpar__frames_close (&f);
        }
        zmq_close (a);
        zmq_close (r);
        zmq_ctx_term (zctx);
        zpar__signer_destroy (s);
    }
    return 0;
}

static zpar_msg_t *fn_task (uint64_t id, const char *sym, const char *input, const char *client)
{
    zpar_proto_task_t t = {
        .h = {.task = zpar__tid (id), .client = zpar__cid (1), .engine = zpar__eid (3)},
        .kind = ZPAR_TASK_FUNCTION,
        .lib = lib,
        .symbol = sym,
        .input = input,
        .input_len = input ? strlen (input) : 0,
        .inline_fn = 1,
    };
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_TASK);
    (void)zpar__msg_push_ident (m, client, strlen (client));
    if (zpar__proto_task_encode (m, &t) < 0)
        diag ("task encode: %s", strerror (errno));
    return m;
}

static int give (zpar_task_runner_t *tr, zpar_msg_t *m)
{
    int rc = zpar__task_runner_recv (tr, ZPAR_ENGINE_Q_TASK, &m);
    zpar__msg_destroy (m);
    return rc;
}

static void run_until (int want, unsigned ms)
{
    uint64_t end = zpar__mono_us () + ms * 1000u;
    while (ntasks < want && zpar__mono_us () < end)
        (void)zpar__reactor_run_once (reactor, 10);
}

static void reset (void)
{
    nsingle = nbatch = ntasks = 0;
}

static int count_task (uint64_t id)
{
    int n = 0;
    for (int i = 0; i < ntasks; i++)
        n += tasks[i] == id;
    return n;
}

int main (void)
{
    zpar_task_runner_ops_t ops = {.send = fake_send, .send_batch = fake_send_batch};
    zpar_task_runner_opts_t to = {.host = "testhost", .rank = -1};
    zpar_error_t err = {{0}};
    zpar_task_runner_t *tr;
    const char *bd = getenv ("builddir");
    zpar_tid_t held[16];

    plan (NO_PLAN);
    snprintf (lib, sizeof (lib), "%s/tests/lib/.libs/testfn.so", bd ? bd : ".");
    if (access (lib, R_OK) < 0) {
        ok (1, "# SKIP %s not built", lib);
        return done_testing ();
    }
    ok (zpar__reactor_block_signals () == 0, "signals blocked as in the zpar program");
    reactor = zpar__reactor_create ();
    tr = zpar__task_runner_create (reactor, &ops, &to, &err);
    if (!ok (reactor && tr, "task runner created"))
        return done_testing ();
    zpar__task_runner_set_engine (tr, 3);

    /* batching off (the default): one by one */
    for (uint64_t id = 1; id <= 3; id++)
        give (tr, fn_task (id, "zt_noop", NULL, "c1"));
    run_until (3, 5000);
    ok (ntasks == 3 && nsingle == 3 && nbatch == 0, "batching off: 3 results, one by one");

    /* on: the inline tasks of one wake-up answer in one batch */
    zpar__task_runner_set_batching (tr, 1);
    reset ();
    for (uint64_t id = 11; id <= 15; id++)
        give (tr, fn_task (id, "zt_noop", NULL, "c1"));
    run_until (5, 5000);
    ok (ntasks == 5 && nbatch == 1 && batch_sizes[0] == 5 && nsingle == 0,
        "5 inline tasks: their results in one batch of 5 (%d batches, %d alone)", nbatch, nsingle);
    ok (count_task (11) == 1 && count_task (15) == 1 && strcmp (envs[0], "c1") == 0,
        "each result once, with the task's envelope");

    /* a task naming another engine among them: only that one refused */
    reset ();
    for (uint64_t id = 21; id <= 24; id++) {
        zpar_msg_t *m = fn_task (id, "zt_noop", NULL, "c1");
        int rc;
        if (id == 22)
            m->hdr.engine = 4;
        errno = 0;
        rc = give (tr, m);
        if (id == 22)
            ok (rc < 0 && errno == EPERM, "task 22, for engine 4, refused");
    }
    run_until (3, 5000);
    ok (ntasks == 3 && count_task (21) == 1 && count_task (22) == 0 && count_task (23) == 1 &&
            count_task (24) == 1,
        "the 3 others run, each answered once");

    /* two clients: one batch per envelope */
    reset ();
    give (tr, fn_task (31, "zt_noop", NULL, "c1"));
    give (tr, fn_task (32, "zt_noop", NULL, "c1"));
    give (tr, fn_task (33, "zt_noop", NULL, "c2"));
    give (tr, fn_task (34, "zt_noop", NULL, "c2"));
    run_until (4, 5000);
    ok (ntasks == 4 && nbatch == 2 && batch_sizes[0] == 2 && batch_sizes[1] == 2,
        "two clients: two batches of 2");
    ok (tasks[0] == 31 && strcmp (envs[0], "c1") == 0 && tasks[2] == 33 &&
            strcmp (envs[2], "c2") == 0,
        "each result with its own client's envelope");

    /* a long stream reports: 10 ms tasks, a 1 ms budget */
    reset ();
    for (uint64_t id = 41; id <= 46; id++)
        give (tr, fn_task (id, "zt_sleep", "0.01", "c1"));
    run_until (6, 10000);
    ok (ntasks == 6 && nbatch + nsingle >= 3,
        "6 tasks of 10 ms: results went in %d sends, not one at the end", nbatch + nsingle);

    /* not connected: results wait in the outbox, held, then go once */
    reset ();
    connected = 0;
    for (uint64_t id = 51; id <= 54; id++)
        give (tr, fn_task (id, "zt_noop", NULL, "c1"));
    run_until (4, 300);
    ok (ntasks == 0 && zpar__task_runner_outbox (tr) == 4,
        "not connected: 4 results in the outbox");
    ok (zpar__task_runner_held (tr, held, 16) == 4, "and held (reported at registration)");
    connected = 1;
    zpar__task_runner_flush (tr);
    ok (ntasks == 4 && count_task (51) == 1 && count_task (54) == 1 &&
            zpar__task_runner_outbox (tr) == 0,
        "connected again: each goes once");

    /* a higher priority prefetched later runs before the queued ones (all
     * five are queued before the first starts) */
    reset ();
    give (tr, fn_task (61, "zt_noop", NULL, "c1"));
    {
        zpar_msg_t *m;
        zpar_proto_task_t t = {
            .h = {.task = zpar__tid (0), .client = zpar__cid (1), .engine = zpar__eid (3)},
            .kind = ZPAR_TASK_FUNCTION,
            .lib = lib,
            .symbol = "zt_noop",
            .inline_fn = 1,
        };
        const uint64_t ids[4] = {62, 63, 64, 65};
        const int64_t prio[4] = {0, 5, 10, 5};
        for (int i = 0; i < 4; i++) {
            t.h.task = zpar__tid (ids[i]);
            t.priority = prio[i];
            m = zpar__msg_create (ZPAR_MSG_TASK);
            (void)zpar__msg_push_ident (m, "c1", 2);
            (void)zpar__proto_task_encode (m, &t);
            give (tr, m);
        }
    }
    run_until (5, 5000);
    ok (ntasks == 5 && tasks[0] == 64 && tasks[1] == 63 && tasks[2] == 65 && tasks[3] == 61 &&
            tasks[4] == 62,
        "queued by priority, FIFO within one: 64 63 65 61 62 (got %llu %llu %llu %llu %llu)",
        (unsigned long long)tasks[0], (unsigned long long)tasks[1], (unsigned long long)tasks[2],
        (unsigned long long)tasks[3], (unsigned long long)tasks[4]);

    {
        uint64_t nb, nr = zpar__task_runner_batched (tr, &nb);
        ok (nr >= 9 && nb >= 3, "counters: %llu results in %llu batches", (unsigned long long)nr,
            (unsigned long long)nb);
    }
    zpar__task_runner_destroy (tr);
    zpar__reactor_destroy (reactor);
    return done_testing ();
}
