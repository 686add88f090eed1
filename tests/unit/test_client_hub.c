/* test_client_hub.c - the client library's loop against a fake hub (a
 * thread with the registrar's sockets, answering through the typed codecs):
 * futures for other clients' tasks (pending, then done; unknown ids after
 * their grace second), controller-loss detection (EHOSTDOWN when the hub
 * stops answering, forgotten once it answers again), waiting for engines.
 * No controller, no engines. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "conn.h"
#include "proto_registrar.h"
#include "proto_result.h"
#include "reactor.h"
#include "tap.h"
#include "wire.h"
#include "zpar.h"

#define KNOWN_TASK      ((9ULL << 32) | 1) /* "9.1": finished after PENDING_ANSWERS */
#define PENDING_ANSWERS 3
#define NEVER_TASK      ((9ULL << 32) | 2) /* "9.2": always running */

typedef struct {
    void *ctx;
    void *reg, *other[5];
    char addr[6][ZPAR_ADDR_MAX];
    zpar_signer_t *signer;
    zpar_reactor_t *r;
    zpar_msg_t *in, *out;
    uint8_t key[ZPAR_KEY_LEN];
    int answer;        /* atomic: 1 = answer queries */
    int stop;          /* atomic */
    int result_asked;  /* atomic: "result" queries about KNOWN_TASK */
    int engines_alive; /* atomic: engines the "engines" query lists */
    pthread_t thread;
} fakehub_t;

static void *bind_any (fakehub_t *h, int type, char *addr)
{
    void *s = zmq_socket (h->ctx, type);
    size_t len = ZPAR_ADDR_MAX;
    int zero = 0;
    if (!s || zmq_bind (s, "tcp://127.0.0.1:*") < 0 ||
        zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, addr, &len) < 0)
        return NULL;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    return s;
}

static void reply (fakehub_t *h, const zpar_msg_t *req)
{
    zpar__msg_set_envelope (h->out, req->nenv, req->env);
    zpar__wire_send_chan (h->reg, h->signer, ZPAR_CHAN_REGISTRAR, h->out, ZMQ_DONTWAIT);
}

static void answer_query (fakehub_t *h, const zpar_msg_t *m)
{
    zpar_proto_query_t q;
    zpar_proto_query_reply_t r = {0};
    zpar_proto_engine_info_t eng[4];
    zpar_msg_t *rec = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    zpar_error_t err;

    if (!__atomic_load_n (&h->answer, __ATOMIC_SEQ_CST) ||
        zpar__proto_query_decode (m, &q, &err) < 0)
        return;
    r.h.task = q.h.task;
    r.h.client = q.h.client;
    r.kind = q.kind;
    if (q.kind == ZPAR_QUERY_RESULT) {
        r.task = q.task;
        if (q.task.v == KNOWN_TASK &&
            __atomic_add_fetch (&h->result_asked, 1, __ATOMIC_SEQ_CST) > PENDING_ANSWERS) {
            zpar_proto_result_t res;
            zpar__proto_result_error (&res, q.task, zpar__eid (1), zpar__cid (9), ZPAR_STATUS_OK,
                                      NULL);
            res.stdout_buf = "fake\n";
            res.stdout_len = 5;
            rec = zpar__msg_create (ZPAR_MSG_RESULT);
            if (rec && zpar__proto_result_encode (rec, &res) == 0 &&
                zpar__msg_pack (rec, &buf, &len) == 0) {
                r.state = ZPAR_TASK_STATE_DONE;
                r.record = buf;
                r.record_len = len;
            }
        } else if (q.task.v == KNOWN_TASK || q.task.v == NEVER_TASK)
            r.state = ZPAR_TASK_STATE_RUNNING;
        else {
            r.errnum = ENOENT;
            r.error = "no such task";
        }
    } else if (q.kind == ZPAR_QUERY_ENGINES) {
        int n = __atomic_load_n (&h->engines_alive, __ATOMIC_SEQ_CST);
        memset (eng, 0, sizeof (eng));
        for (int i = 0; i < 4; i++) {
            eng[i].id = zpar__eid ((uint32_t)i + 1);
            eng[i].host = "fake";
            eng[i].rank = -1;
            eng[i].state = i < n ? ZPAR_ENGINE_IDLE : ZPAR_ENGINE_DEAD;
        }
        r.engines = eng;
        r.nengines = 4;
    }
    if (zpar__proto_query_reply_encode (h->out, &r) == 0)
        reply (h, m);
    free (buf);
    zpar__msg_destroy (rec);
}

static void on_reg (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    fakehub_t *h = arg;
    zpar_error_t err;
    (void)r, (void)w, (void)revents;
    while (zpar__wire_recv_chan (h->reg, h->signer, ZPAR_CHAN_REGISTRAR, h->in, ZMQ_DONTWAIT,
                                 &err) == 0) {
        if (h->in->hdr.type == ZPAR_MSG_REGISTER_CLIENT) {
            zpar_proto_reg_client_reply_t rep = {0};
            rep.id = zpar__cid (7);
            rep.h.client = rep.id;
            rep.addr[ZPAR_ADDR_MUX] = h->addr[1];
            rep.addr[ZPAR_ADDR_TASK] = h->addr[2];
            rep.addr[ZPAR_ADDR_CONTROL] = h->addr[3];
            rep.addr[ZPAR_ADDR_IOPUB] = h->addr[4];
            rep.addr[ZPAR_ADDR_NOTIFY] = h->addr[5];
            rep.scheme = ZPAR_SCHEME_LEASTLOAD;
            if (zpar__proto_reg_client_reply_encode (h->out, &rep) == 0)
                reply (h, h->in);
        } else if (h->in->hdr.type == ZPAR_MSG_QUERY)
            answer_query (h, h->in);
    }
}

static void on_tick (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    fakehub_t *h = arg;
    (void)w, (void)revents;
    if (__atomic_load_n (&h->stop, __ATOMIC_SEQ_CST))
        zpar__reactor_stop (r);
}

static void *hub_main (void *arg)
{
    fakehub_t *h = arg;
    zpar__reactor_run (h->r);
    return NULL;
}

static int fakehub_start (fakehub_t *h, const char *path)
{
    static const int types[5] = {ZMQ_ROUTER, ZMQ_ROUTER, ZMQ_ROUTER, ZMQ_PUB, ZMQ_PUB};
    zpar_conninfo_t ci;
    zpar_error_t err;
    zpar_watcher_t *w;

    memset (h, 0, sizeof (*h));
    h->answer = 1;
    h->engines_alive = 1;
    for (int i = 0; i < ZPAR_KEY_LEN; i++)
        h->key[i] = (uint8_t)(i * 13 + 5);
    if (!(h->ctx = zmq_ctx_new ()) || !(h->reg = bind_any (h, ZMQ_ROUTER, h->addr[0])))
        return -1;
    for (int i = 0; i < 5; i++)
        if (!(h->other[i] = bind_any (h, types[i], h->addr[i + 1])))
            return -1;
    if (!(h->signer = zpar__signer_create (h->key, 0)) || !(h->r = zpar__reactor_create ()) ||
        !(h->in = zpar__msg_create (ZPAR_MSG_NONE)) || !(h->out = zpar__msg_create (ZPAR_MSG_NONE)))
        return -1;
    if (!(w = zpar__zmq_watcher_create (h->r, h->reg, ZPAR_EV_IN, on_reg, h)))
        return -1;
    zpar__watcher_start (w);
    if (!(w = zpar__timer_watcher_create (h->r, 20, 20, on_tick, h)))
        return -1;
    zpar__watcher_start (w);
    memset (&ci, 0, sizeof (ci));
    for (int i = 0; i < ZPAR_EP_COUNT; i++)
        snprintf (ci.addr[i], ZPAR_ADDR_MAX, "%s", h->addr[0]);
    memcpy (ci.key, h->key, ZPAR_KEY_LEN);
    snprintf (ci.host, sizeof (ci.host), "fakehub.invalid");
    ci.pid = 1;
    if (zpar__conn_write (path, &ci, &err) < 0) {
        diag ("%s", err.text);
        return -1;
    }
    return pthread_create (&h->thread, NULL, hub_main, h) == 0 ? 0 : -1;
}

static void fakehub_stop (fakehub_t *h)
{
    __atomic_store_n (&h->stop, 1, __ATOMIC_SEQ_CST);
    pthread_join (h->thread, NULL);
    zpar__reactor_destroy (h->r);
    zmq_close (h->reg);
    for (int i = 0; i < 5; i++)
        zmq_close (h->other[i]);
    zmq_ctx_term (h->ctx);
    zpar__signer_destroy (h->signer);
    zpar__msg_destroy (h->in);
    zpar__msg_destroy (h->out);
}

static double since (uint64_t t0)
{
    return (double)(zpar__mono_us () - t0) / 1e6;
}

int main (void)
{
    char dir[] = "/tmp/test_client_hub.XXXXXX", path[PATH_MAX];
    fakehub_t h;
    zpar_client_opts_t o;
    zpar_client_t *c;
    zpar_future_t *f;
    zpar_error_t err = {{0}};
    uint64_t t0;
    int rc;

    plan (NO_PLAN);
    if (!mkdtemp (dir))
        return 1;
    snprintf (path, sizeof (path), "%s/client.json", dir);
    if (fakehub_start (&h, path) < 0) {
        ok (0, "fake hub started");
        return done_testing ();
    }
    zpar_client_opts_init (&o);
    o.connection_file = path;
    o.connect_timeout = 0.4;
    o.ping_period = 0.1;
    o.reconnect_timeout = -1; /* EHOSTDOWN once lost (test_client_resync waits it through) */
    c = zpar_client_connect_opts (&o, &err);
    ok (c != NULL && zpar_client_id (c) == 7, "connected to the fake hub as client 7 (%s)",
        err.text);
    if (!c)
        goto out;

    /* a task of another client, running for 3 answers, then done */
    f = zpar_client_future_for (c, (zpar_task_id_t){KNOWN_TASK}, &err);
    ok (f != NULL && zpar_client_outstanding (c) == 1, "future_for a task of client 9");
    ok (zpar_future_done (f) == 0, "... not done before anyone waits");
    rc = zpar_future_wait (f, 5.0, &err);
    ok (rc == 0 && zpar_future_done (f), "... done once the hub has its result (%s)", err.text);
    {
        const zpar_result_t *r = zpar_future_result (f);
        size_t len = 0;
        const char *so = zpar_result_stdout (r, &len);
        ok (r && zpar_result_status (r) == ZPAR_STATUS_OK && len == 5 &&
                !memcmp (so, "fake\n", 5) && zpar_result_id (r).id == KNOWN_TASK,
            "... with the hub's record (status ok, stdout, id)");
    }
    ok (__atomic_load_n (&h.result_asked, __ATOMIC_SEQ_CST) == PENDING_ANSWERS + 1,
        "... after asking the hub %d times (not more)", PENDING_ANSWERS + 1);
    ok (zpar_client_outstanding (c) == 0, "... and nothing is outstanding");
    errno = 0;
    ok (zpar_client_future_for (c, (zpar_task_id_t){KNOWN_TASK}, NULL) == NULL && errno == EEXIST,
        "a second future for the same id is EEXIST");
    zpar_future_destroy (f);

    /* an id the hub does not know: ENOENT after the grace second */
    f = zpar_client_future_for (c, (zpar_task_id_t){(9ULL << 32) | 99}, &err);
    t0 = zpar__mono_us ();
    errno = 0;
    rc = zpar_future_wait (f, 5.0, &err);
    ok (rc < 0 && errno == ENOENT && strstr (err.text, "no task 9.99"),
        "an unknown id: ENOENT (%s)", err.text);
    ok (since (t0) >= 0.9 && since (t0) < 3.0, "... after about a second (%.2f s)", since (t0));
    ok (zpar_future_done (f) == 1 && zpar_future_result (f) == NULL,
        "... the future is done, without a result");
    errno = 0;
    ok (zpar_future_wait (f, 0, NULL) < 0 && errno == ENOENT, "... and says so again");
    zpar_future_destroy (f);

    /* fetch_result: an unknown id is ENOENT after the grace second too */
    {
        zpar_result_t *r;
        int e;
        double took;
        t0 = zpar__mono_us ();
        errno = 0;
        r = zpar_client_fetch_result (c, (zpar_task_id_t){(9ULL << 32) | 98}, &err);
        e = errno;
        took = since (t0);
        ok (r == NULL && e == ENOENT && took >= 0.9 && took < 3.0,
            "fetch_result of an unknown id: ENOENT after %.2f s", took);
        zpar_result_destroy (r);
    }

    /* engines */
    __atomic_store_n (&h.engines_alive, 2, __ATOMIC_SEQ_CST);
    ok (zpar_client_engines_alive (c, &err) == 2, "engines_alive counts 2 of 4 (2 dead)");
    ok (zpar_client_wait_engines (c, 2, 2.0, &err) == 2, "wait_engines for 2: 2 (%s)", err.text);
    t0 = zpar__mono_us ();
    errno = 0;
    rc = zpar_client_wait_engines (c, 3, 0.3, &err);
    ok (rc < 0 && errno == ETIMEDOUT && strstr (err.text, "only 2 of 3"),
        "wait_engines for 3 of 2: ETIMEDOUT (%s)", err.text);
    ok (since (t0) >= 0.28 && since (t0) < 2.0, "... after the timeout (%.2f s)", since (t0));
    errno = 0;
    ok (zpar_client_wait_engines (c, 0, 0, &err) == 2, "wait_engines for 0: at once");

    /* controller loss: the hub stops answering */
    f = zpar_client_future_for (c, (zpar_task_id_t){NEVER_TASK}, &err);
    ok (zpar_future_wait (f, 0.3, &err) < 0 && errno == ETIMEDOUT,
        "a running task with a live hub: ETIMEDOUT");
    __atomic_store_n (&h.answer, 0, __ATOMIC_SEQ_CST);
    t0 = zpar__mono_us ();
    errno = 0;
    rc = zpar_future_wait (f, 20.0, &err);
    ok (rc < 0 && errno == EHOSTDOWN && strstr (err.text, "lost the controller"),
        "the hub stops answering: EHOSTDOWN (%s)", err.text);
    ok (since (t0) >= 0.7 && since (t0) < 4.0,
        "... after about ping_period + 2 x connect_timeout (%.2f s)", since (t0));
    errno = 0;
    ok (zpar_client_poll (c, 20.0, &err) < 0 && errno == EHOSTDOWN,
        "zpar_client_poll also fails with EHOSTDOWN");
    __atomic_store_n (&h.answer, 1, __ATOMIC_SEQ_CST);
    rc = zpar_client_poll (c, 1.5, &err);
    ok (rc >= 0, "the hub answers again: the loss is forgotten (poll %d: %s)", rc,
        rc < 0 ? err.text : "ok");
    /* a caller that polls in short steps (the sweep runner polls every
     * 0.2 s) must see the loss too: time between its waits is short, and
     * each new wait must not restart the clock of the question in flight */
    __atomic_store_n (&h.answer, 0, __ATOMIC_SEQ_CST);
    t0 = zpar__mono_us ();
    rc = 0;
    while (rc >= 0 && since (t0) < 10.0)
        rc = zpar_client_poll (c, 0.05, &err);
    ok (rc < 0 && errno == EHOSTDOWN, "polling in 50 ms steps: EHOSTDOWN too (%s)",
        rc < 0 ? err.text : "never");
    ok (since (t0) < 4.0, "... as soon as one long wait would (%.2f s)", since (t0));
    __atomic_store_n (&h.answer, 1, __ATOMIC_SEQ_CST);
    rc = zpar_client_poll (c, 1.5, &err);
    ok (rc >= 0, "and the loss is forgotten when it answers again (%s)", rc < 0 ? err.text : "ok");
    zpar_future_destroy (f);
    ok (zpar_client_outstanding (c) == 0, "destroyed futures are not outstanding");
    zpar_client_destroy (c);
out:
    fakehub_stop (&h);
    unlink (path);
    rmdir (dir);
    return done_testing ();
}
