/* test_client_resync.c - the client library against a fake hub that loses
 * tasks and restarts (a new session, as a restarted controller has):
 * zpar_client_sync submits again (RESUBMIT, same id and request) the tasks
 * the hub does not know and only those; after a restart the client
 * registers again by itself (zpar_client_reconnects), waits through the
 * hub's "recovering" answers, takes done results from the records, and
 * submits again the tasks the new hub does not know; a lost controller is
 * waited for reconnect_timeout, then EHOSTDOWN, never a hang.  No
 * controller, no engines: a thread with the registrar's and the task
 * queue's sockets answers through the typed codecs. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "conn.h"
#include "proto_batch.h"
#include "proto_registrar.h"
#include "proto_result.h"
#include "proto_task.h"
#include "reactor.h"
#include "tap.h"
#include "wire.h"
#include "zpar.h"

#define MAXT 64

typedef struct {
    void *ctx;
    void *reg, *other[5];
    char addr[6][ZPAR_ADDR_MAX];
    zpar_signer_t *signer;
    uint8_t key[ZPAR_KEY_LEN];
    zpar_reactor_t *r;
    zpar_msg_t *in, *out;
    pthread_t thread;
    pthread_mutex_t lock;
    /* under lock */
    int stop, answer, swallow; /* swallow: the next N tasks are "lost" */
    int recovering;            /* RESULT answers EAGAIN while > 0 (counts down) */
    int registrations, resubmits, bad_resubmits, syncs;
    int next_client;
    uint64_t known[MAXT]; /* tasks the hub has */
    int nknown;
    uint64_t done[MAXT]; /* of those, finished (a record) */
    int ndone;
} fakehub_t;

static int has (const uint64_t *v, int n, uint64_t id)
{
    for (int i = 0; i < n; i++)
        if (v[i] == id)
            return 1;
    return 0;
}

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

/* Fill r for a RESULT query about id (lock held); *buf: the record. */
static void result_of (fakehub_t *h, uint64_t id, zpar_proto_query_reply_t *r, uint8_t **buf)
{
    size_t len = 0;
    r->task = zpar__tid (id);
    if (h->recovering > 0) {
        h->recovering--;
        r->errnum = EAGAIN;
        r->error = "controller recovering after a restart: ask again";
    } else if (!has (h->known, h->nknown, id)) {
        r->errnum = ENOENT;
        r->error = "no such task";
    } else if (has (h->done, h->ndone, id)) {
        zpar_proto_result_t res;
        zpar_msg_t *rec = zpar__msg_create (ZPAR_MSG_RESULT);
        zpar__proto_result_error (&res, zpar__tid (id), zpar__eid (1), zpar__cid (7),
                                  ZPAR_STATUS_OK, NULL);
        res.stdout_buf = "fake\n";
        res.stdout_len = 5;
        if (rec && zpar__proto_result_encode (rec, &res) == 0 &&
            zpar__msg_pack (rec, buf, &len) == 0) {
            r->state = ZPAR_TASK_STATE_DONE;
            r->record = *buf;
            r->record_len = len;
        }
        zpar__msg_destroy (rec);
    } else {
        r->state = ZPAR_TASK_STATE_RUNNING;
        if (h->ndone < MAXT)
            h->done[h->ndone++] = id; /* done the next time it is asked about */
    }
}

static void answer_query (fakehub_t *h, const zpar_msg_t *m)
{
    zpar_proto_query_t q;
    zpar_proto_query_reply_t r = {0};
    zpar_proto_mem_t mem = {0};
    zpar_tid_t unknown[MAXT];
    uint8_t *buf = NULL;
    zpar_error_t err;

    if (!h->answer || zpar__proto_query_decode (m, &q, &err) < 0)
        return;
    r.h.task = q.h.task;
    r.kind = q.kind;
    if (q.kind == ZPAR_QUERY_RESULT)
        result_of (h, q.task.v, &r, &buf);
    else if (q.kind == ZPAR_QUERY_RESUBMIT) {
        zpar_msg_t *t = zpar__msg_create (ZPAR_MSG_NONE);
        h->resubmits++;
        r.task = q.task;
        /* the request must be the task's own, with its id */
        if (!t || zpar__msg_unpack (t, q.record, q.record_len, &err) < 0 ||
            t->hdr.type != ZPAR_MSG_TASK || t->hdr.task != q.task.v)
            h->bad_resubmits++;
        else if (!has (h->known, h->nknown, q.task.v) && h->nknown < MAXT) {
            h->known[h->nknown++] = q.task.v;
            r.count = 1;
        }
        zpar__msg_destroy (t);
    } else if (q.kind == ZPAR_QUERY_SYNC) {
        const zpar_tid_t *ids;
        size_t n;
        h->syncs++;
        if (zpar__proto_query_ids (m, &mem, &ids, &n, &err) == 0) {
            for (size_t i = 0; i < n; i++) {
                if (has (h->known, h->nknown, ids[i].v))
                    r.count++;
                else if (r.nids < MAXT)
                    unknown[r.nids++] = ids[i];
            }
            r.ids = unknown;
        }
    }
    if (zpar__proto_query_reply_encode (h->out, &r) == 0)
        reply (h, m);
    zpar__proto_mem_free (&mem);
    free (buf);
}

static void on_reg (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    fakehub_t *h = arg;
    zpar_error_t err;
    (void)r, (void)w, (void)revents;
    pthread_mutex_lock (&h->lock);
    while (zpar__wire_recv_chan (h->reg, h->signer, ZPAR_CHAN_REGISTRAR, h->in, ZMQ_DONTWAIT,
                                 &err) == 0) {
        if (h->in->hdr.type == ZPAR_MSG_REGISTER_CLIENT && h->answer) {
            zpar_proto_reg_client_reply_t rep = {0};
            h->registrations++;
            rep.id = zpar__cid ((uint32_t)h->next_client++);
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
    pthread_mutex_unlock (&h->lock);
}

/* A task reaches the hub, but for those swallowed (lock held). */
static void took (fakehub_t *h, uint64_t id)
{
    if (h->swallow > 0)
        h->swallow--;
    else if (h->nknown < MAXT)
        h->known[h->nknown++] = id;
}

/* The task queue: tasks become known, but for those swallowed; a batch
 * of them (the client packs its submits) counts as its items. */
static void on_task (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    fakehub_t *h = arg;
    zpar_error_t err;
    (void)r, (void)w, (void)revents;
    pthread_mutex_lock (&h->lock);
    while (zpar__wire_recv_chan (h->other[1], h->signer, ZPAR_CHAN_TASK, h->in, ZMQ_DONTWAIT,
                                 &err) == 0) {
        if (h->in->hdr.type == ZPAR_MSG_BATCH) {
            zpar_batch_iter_t it;
            zpar_hdr_t ih;
            const void *body;
            size_t blen;
            int rc;
            if (zpar__batch_iter_msg (&it, h->in, &err) < 0)
                continue;
            while ((rc = zpar__batch_next (&it, &ih, &body, &blen, &err)) != 0)
                if (rc > 0 && ih.type == ZPAR_MSG_TASK)
                    took (h, ih.task);
        } else if (h->in->hdr.type == ZPAR_MSG_TASK)
            took (h, h->in->hdr.task);
    }
    pthread_mutex_unlock (&h->lock);
}

static void on_tick (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    fakehub_t *h = arg;
    (void)w, (void)revents;
    pthread_mutex_lock (&h->lock);
    if (h->stop)
        zpar__reactor_stop (r);
    pthread_mutex_unlock (&h->lock);
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
    pthread_mutex_init (&h->lock, NULL);
    h->answer = 1;
    h->next_client = 7;
    for (int i = 0; i < ZPAR_KEY_LEN; i++)
        h->key[i] = (uint8_t)(i * 7 + 3);
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
    if (!(w = zpar__zmq_watcher_create (h->r, h->other[1], ZPAR_EV_IN, on_task, h)))
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

/* A restart: a new session (a new signer), and the hub forgets what was
 * not committed (the tasks not done, when forget is set); "recovering"
 * answers for the next `recovering` RESULT questions. */
static void fakehub_restart (fakehub_t *h, int forget, int recovering)
{
    zpar_signer_t *s = zpar__signer_create (h->key, 0);
    pthread_mutex_lock (&h->lock);
    zpar__signer_destroy (h->signer);
    h->signer = s;
    if (forget) {
        int n = 0;
        for (int i = 0; i < h->nknown; i++)
            if (has (h->done, h->ndone, h->known[i]))
                h->known[n++] = h->known[i];
        h->nknown = n;
    }
    h->recovering = recovering;
    pthread_mutex_unlock (&h->lock);
}

static int get (fakehub_t *h, int *field)
{
    int v;
    pthread_mutex_lock (&h->lock);
    v = *field;
    pthread_mutex_unlock (&h->lock);
    return v;
}

static void set (fakehub_t *h, int *field, int v)
{
    pthread_mutex_lock (&h->lock);
    *field = v;
    pthread_mutex_unlock (&h->lock);
}

static void fakehub_stop (fakehub_t *h)
{
    set (h, &h->stop, 1);
    pthread_join (h->thread, NULL);
    zpar__reactor_destroy (h->r);
    zmq_close (h->reg);
    for (int i = 0; i < 5; i++)
        zmq_close (h->other[i]);
    zmq_ctx_term (h->ctx);
    zpar__signer_destroy (h->signer);
    zpar__msg_destroy (h->in);
    zpar__msg_destroy (h->out);
    pthread_mutex_destroy (&h->lock);
}

static double since (uint64_t t0)
{
    return (double)(zpar__mono_us () - t0) / 1e6;
}

static zpar_future_t *submit_echo (zpar_client_t *c)
{
    const char *argv[] = {"echo", "x", NULL};
    zpar_task_t *t = zpar_task_command (argv);
    zpar_future_t *f = zpar_submit (c, t, NULL);
    zpar_task_destroy (t);
    return f;
}

int main (void)
{
    char dir[] = "/tmp/test_client_resync.XXXXXX", path[PATH_MAX];
    fakehub_t h;
    zpar_client_opts_t o;
    zpar_client_t *c;
    zpar_future_t *f[6];
    zpar_error_t err = {{0}};
    uint64_t t0;
    int rc, okn;

    plan (NO_PLAN);
    if (!mkdtemp (dir))
        return 1;
    snprintf (path, sizeof (path), "%s/client.json", dir);
    if (fakehub_start (&h, path) < 0) {
        ok (0, "fake hub started");
        return done_testing ();
    }
    ok (zpar_client_reconnects (NULL) == 0, "reconnects of no client: 0");
    ok (zpar_client_sync (NULL, 1.0, &err) < 0 && errno == EINVAL, "sync without a client: EINVAL");
    zpar_client_opts_init (&o);
    o.connection_file = path;
    o.reconnect_timeout = NAN;
    c = zpar_client_connect_opts (&o, &err);
    ok (c == NULL && errno == EINVAL && strstr (err.text, "reconnect_timeout"),
        "reconnect_timeout NaN: EINVAL (%s)", err.text);
    memset (&err, 0, sizeof (err));
    zpar_client_opts_init (&o);
    o.connection_file = path;
    o.connect_timeout = 0.4;
    o.ping_period = 0.1;
    o.reconnect_timeout = 3.0;
    c = zpar_client_connect_opts (&o, &err);
    ok (c != NULL && zpar_client_id (c) == 7, "connected to the fake hub as client 7 (%s)",
        err.text);
    if (!c)
        goto out;
    ok (zpar_client_sync (c, 1.0, &err) == 0, "sync with nothing submitted: at once (%s)",
        err.text);

    /* sync: 4 tasks, the hub "loses" the first 2 (accepted by a controller
     * that died before recording them) */
    set (&h, &h.swallow, 2);
    for (int i = 0; i < 4; i++)
        f[i] = submit_echo (c);
    ok (f[0] && f[1] && f[2] && f[3], "4 tasks submitted");
    t0 = zpar__mono_us ();
    rc = zpar_client_sync (c, 10.0, &err);
    ok (rc == 0, "sync: the hub confirmed every task (%s, %.2f s)", rc < 0 ? err.text : "ok",
        since (t0));
    ok (get (&h, &h.resubmits) == 2 && get (&h, &h.bad_resubmits) == 0,
        "... after the 2 it did not know were submitted again, with their own request and id "
        "(resubmits %d)",
        get (&h, &h.resubmits));
    ok (get (&h, &h.nknown) == 4, "... and the hub knows all 4");
    ok (zpar_client_sync (c, 1.0, &err) == 0 && get (&h, &h.resubmits) == 2,
        "a second sync asks nothing again");

    /* the controller restarts: it forgets what is not done, answers
     * "recovering" 5 times; two more tasks submitted meanwhile, the hub
     * swallows one of them */
    set (&h, &h.swallow, 1);
    fakehub_restart (&h, 1, 5);
    f[4] = submit_echo (c);
    f[5] = submit_echo (c);
    t0 = zpar__mono_us ();
    rc = zpar_client_wait_all (c, 20.0, &err);
    ok (rc == 0, "after a restart, wait_all completes every future by itself (%s, %.2f s)",
        rc < 0 ? err.text : "ok", since (t0));
    okn = 0;
    for (int i = 0; i < 6; i++) {
        const zpar_result_t *r = zpar_future_result (f[i]);
        okn += r && zpar_result_status (r) == ZPAR_STATUS_OK &&
               zpar_result_id (r).id == zpar_future_id (f[i]).id;
    }
    ok (okn == 6, "... each with its own ok result from the records (%d of 6)", okn);
    ok (zpar_client_reconnects (c) == 1, "... the client registered again once (%u)",
        zpar_client_reconnects (c));
    ok (get (&h, &h.registrations) == 2 && zpar_client_id (c) == 8,
        "... and took the new number the hub gave (client %u)", zpar_client_id (c));
    ok (get (&h, &h.resubmits) == 2 + 5 && get (&h, &h.bad_resubmits) == 0,
        "... the 5 tasks the new hub did not know were submitted again (resubmits %d)",
        get (&h, &h.resubmits) - 2);
    ok (get (&h, &h.recovering) == 0, "... after the recovering answers were waited through");
    for (int i = 0; i < 6; i++)
        zpar_future_destroy (f[i]);

    /* a lost controller: the call keeps trying for reconnect_timeout */
    f[0] = submit_echo (c);
    set (&h, &h.answer, 0);
    t0 = zpar__mono_us ();
    errno = 0;
    rc = zpar_future_wait (f[0], 2.0, &err);
    ok (rc < 0 && errno == EHOSTDOWN && strstr (err.text, "still trying"),
        "a wait that ends while the controller is lost: EHOSTDOWN, not a timeout (%s)", err.text);
    t0 = zpar__mono_us ();
    errno = 0;
    rc = zpar_future_wait (f[0], 30.0, &err);
    ok (rc < 0 && errno == EHOSTDOWN && strstr (err.text, "lost the controller"),
        "a long wait: EHOSTDOWN once reconnect_timeout is over (%s)", err.text);
    ok (since (t0) >= 2.5 && since (t0) < 10.0,
        "... after about ping + 2 x connect_timeout + reconnect_timeout (%.2f s)", since (t0));
    errno = 0;
    ok (zpar_client_sync (c, 1.0, &err) < 0 && (errno == EHOSTDOWN || errno == ETIMEDOUT),
        "sync with a lost controller fails clearly (%s)", err.text);
    set (&h, &h.answer, 1);
    rc = zpar_client_sync (c, 10.0, &err);
    ok (rc == 0, "the controller answers again: sync confirms the task (%s)",
        rc < 0 ? err.text : "ok");
    ok (zpar_client_reconnects (c) == 1, "... the same controller: no new registration (%u)",
        zpar_client_reconnects (c));
    zpar_future_destroy (f[0]);
    zpar_client_destroy (c);

    /* reconnect_timeout < 0: the old behaviour, EHOSTDOWN as soon as lost */
    o.reconnect_timeout = -1;
    c = zpar_client_connect_opts (&o, &err);
    ok (c != NULL, "connected with reconnect_timeout < 0");
    if (c) {
        f[0] = submit_echo (c);
        set (&h, &h.answer, 0);
        t0 = zpar__mono_us ();
        errno = 0;
        rc = zpar_future_wait (f[0], 30.0, &err);
        ok (rc < 0 && errno == EHOSTDOWN && since (t0) < 2.5,
            "... a lost controller is EHOSTDOWN at once (%.2f s: %s)", since (t0), err.text);
        set (&h, &h.answer, 1);
        zpar_future_destroy (f[0]);
        zpar_client_destroy (c);
    }

    /* the controller comes back on other ports: its connection file (same
     * key) says where; the client finds it there, registers, and submits
     * again the task the new one does not know */
    o.reconnect_timeout = 20;
    c = zpar_client_connect_opts (&o, &err);
    ok (c != NULL, "connected again");
    if (c) {
        static fakehub_t h2;
        f[0] = submit_echo (c);
        ok (zpar_client_sync (c, 5.0, &err) == 0, "a task recorded by the first hub (%s)",
            err.text);
        if (fakehub_start (&h2, path) < 0) {
            ok (0, "a second fake hub started");
            zpar_future_destroy (f[0]);
            zpar_client_destroy (c);
            goto out;
        }
        set (&h2, &h2.next_client, 20);
        fakehub_stop (&h); /* its sockets close: nobody at the old address */
        h.stop = -1;
        t0 = zpar__mono_us ();
        rc = zpar_client_wait_all (c, 20.0, &err);
        ok (rc == 0 && zpar_future_result (f[0]) &&
                zpar_result_status (zpar_future_result (f[0])) == ZPAR_STATUS_OK,
            "the task completes through the hub at the new address (%s, %.2f s)",
            rc < 0 ? err.text : "ok", since (t0));
        ok (zpar_client_id (c) == 20 && get (&h2, &h2.registrations) == 1 &&
                get (&h2, &h2.resubmits) == 1,
            "... after registering with it (client %u) and submitting the task again (%d)",
            zpar_client_id (c), get (&h2, &h2.resubmits));
        zpar_future_destroy (f[0]);
        zpar_client_destroy (c);
        fakehub_stop (&h2);
    }
out:
    if (h.stop != -1)
        fakehub_stop (&h);
    unlink (path);
    rmdir (dir);
    return done_testing ();
}
