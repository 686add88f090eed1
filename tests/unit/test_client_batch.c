/* test_client_batch.c - libzpar's packing of load-balanced submits into
 * batches, against a fake controller (a thread with the registrar's and the
 * task queue's sockets; no hub, no engines): a lone submit followed by a
 * poll goes alone, at once; submits made between polls go as one batch, in
 * order, at the next poll, at zpar_flush, at ZPAR_BATCH_MAX, at the
 * destruction of a pending future or of the client, or when a submit finds
 * the oldest one older than the age bound; ZPAR_CLIENT_NO_BATCH and
 * $ZPAR_CLIENT_BATCH=0 send each submit alone.  The other way: results
 * coming in batches fulfil each future once; a duplicate, a short item, an
 * item of a type the task queue does not carry and a batch whose structure
 * is broken are dropped without harm.  The done callback is called once per
 * future as it ends, never for a duplicate; zpar_client_wake from another
 * thread ends a zpar_client_poll at once.  zpar_submit_many submits in
 * order and stops at a bad task; the done queue gives every future that
 * ended once, in order, with its status, less those destroyed meanwhile. */
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
#include "proto_batch.h"
#include "proto_registrar.h"
#include "proto_result.h"
#include "reactor.h"
#include "tap.h"
#include "wire.h"
#include "zpar.h"

#define MAXM 4096 /* messages recorded */
#define MAXT 8192 /* task ids recorded */

typedef struct {
    int type;     /* TASK, BATCH, ... */
    int items;    /* 1, or the batch's items */
    size_t first; /* its task ids: ids[first .. first + items) */
} rec_t;

typedef struct {
    void *ctx, *reg, *task;
    char addr[2][ZPAR_ADDR_MAX];
    zpar_signer_t *signer;
    uint8_t key[ZPAR_KEY_LEN];
    zpar_reactor_t *r;
    zpar_msg_t *in, *out;
    pthread_t thread;
    pthread_mutex_t lock;
    /* under lock */
    int stop, answer; /* answer: send results for every task received */
    rec_t m[MAXM];
    int nm;
    uint64_t ids[MAXT];
    size_t nids, answered;
    zpar_ident_t client; /* routing identity of the client's task socket */
} fake_t;

static void *bind_any (fake_t *h, char *addr)
{
    void *s = zmq_socket (h->ctx, ZMQ_ROUTER);
    size_t len = ZPAR_ADDR_MAX;
    int zero = 0;
    if (!s || zmq_bind (s, "tcp://127.0.0.1:*") < 0 ||
        zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, addr, &len) < 0)
        return NULL;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    return s;
}

static void on_reg (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    fake_t *h = arg;
    zpar_error_t err;
    (void)r, (void)w, (void)revents;
    while (zpar__wire_recv_chan (h->reg, h->signer, ZPAR_CHAN_REGISTRAR, h->in, ZMQ_DONTWAIT,
                                 &err) == 0) {
        zpar_proto_reg_client_reply_t rep = {0};
        if (h->in->hdr.type != ZPAR_MSG_REGISTER_CLIENT)
            continue;
        rep.id = zpar__cid (5);
        rep.h.client = rep.id;
        for (int k = 0; k < ZPAR_ADDR_COUNT; k++)
            rep.addr[k] = h->addr[1]; /* every queue: the task socket */
        rep.scheme = ZPAR_SCHEME_LEASTLOAD;
        if (zpar__proto_reg_client_reply_encode (h->out, &rep) == 0) {
            zpar__msg_set_envelope (h->out, h->in->nenv, h->in->env);
            zpar__wire_send_chan (h->reg, h->signer, ZPAR_CHAN_REGISTRAR, h->out, ZMQ_DONTWAIT);
        }
    }
}

static void record (fake_t *h, int type, int items)
{
    if (h->nm < MAXM)
        h->m[h->nm++] = (rec_t){.type = type, .items = items, .first = h->nids - (size_t)items};
}

static void on_task (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    fake_t *h = arg;
    zpar_error_t err;
    (void)r, (void)w, (void)revents;
    pthread_mutex_lock (&h->lock);
    while (zpar__wire_recv_chan (h->task, h->signer, ZPAR_CHAN_TASK, h->in, ZMQ_DONTWAIT, &err) ==
           0) {
        if (h->in->nenv == 1)
            h->client = h->in->env[0];
        if (h->in->hdr.type == ZPAR_MSG_BATCH) {
            zpar_batch_iter_t it;
            zpar_hdr_t ih;
            const void *body;
            size_t blen;
            int rc, n = 0;
            if (zpar__batch_iter_msg (&it, h->in, &err) < 0) {
                record (h, -1, 0);
                continue;
            }
            while ((rc = zpar__batch_next (&it, &ih, &body, &blen, &err)) != 0)
                if (rc > 0 && h->nids < MAXT) {
                    h->ids[h->nids++] = ih.task;
                    n++;
                }
            record (h, ZPAR_MSG_BATCH, n);
        } else if (h->nids < MAXT) {
            h->ids[h->nids++] = h->in->hdr.task;
            record (h, h->in->hdr.type, 1);
        }
    }
    pthread_mutex_unlock (&h->lock);
}

/* An item (header || body) of a result for task id, appended to batch m. */
static void add_result_item (zpar_msg_t *m, uint64_t id)
{
    zpar_proto_result_t res;
    zpar_msg_t *r = zpar__msg_create (ZPAR_MSG_RESULT);
    uint8_t buf[4096];
    zpar__proto_result_error (&res, zpar__tid (id), zpar__eid (1), zpar__cid (5), ZPAR_STATUS_OK,
                              NULL);
    if (r && zpar__proto_result_encode (r, &res) == 0 && r->len + ZPAR_HDR_LEN <= sizeof (buf)) {
        r->hdr.flags = zpar__flags_with_chan (r->hdr.flags, ZPAR_CHAN_TASK);
        r->hdr.task = id;
        zpar__hdr_encode (&r->hdr, buf);
        memcpy (buf + ZPAR_HDR_LEN, r->body, r->len);
        zpar__msg_add_bytes (m, ZPAR_F_ITEM, buf, ZPAR_HDR_LEN + r->len);
    }
    zpar__msg_destroy (r);
}

static void send_batch (fake_t *h, zpar_msg_t *m)
{
    zpar__msg_set_envelope (m, 1, &h->client);
    zpar__wire_send_chan (h->task, h->signer, ZPAR_CHAN_TASK, m, ZMQ_DONTWAIT);
}

/* Answer the tasks received and not answered yet: in batches of up to 100
 * results, each batch also carrying the first result again (a
 * duplicate), a short item and an item of a type the task queue does not
 * carry (a TASK); then a batch of one item (broken: under 2).  Lock held. */
static void answer_all (fake_t *h)
{
    while (h->answered < h->nids) {
        zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_BATCH), *bad;
        size_t k = h->nids - h->answered < 100 ? h->nids - h->answered : 100;
        uint8_t shortitem[10] = {1, 2, 3};
        for (size_t i = 0; i < k; i++)
            add_result_item (m, h->ids[h->answered + i]);
        add_result_item (m, h->ids[h->answered]);
        zpar__msg_add_bytes (m, ZPAR_F_ITEM, shortitem, sizeof (shortitem));
        {
            zpar_hdr_t th = {.version = ZPAR_PROTO_VERSION, .type = ZPAR_MSG_TASK};
            uint8_t buf[ZPAR_HDR_LEN];
            th.flags = zpar__flags_with_chan (0, ZPAR_CHAN_TASK);
            th.task = h->ids[h->answered];
            zpar__hdr_encode (&th, buf);
            zpar__msg_add_bytes (m, ZPAR_F_ITEM, buf, sizeof (buf));
        }
        send_batch (h, m);
        zpar__msg_destroy (m);
        if ((bad = zpar__msg_create (ZPAR_MSG_BATCH))) {
            add_result_item (bad, h->ids[h->answered]);
            send_batch (h, bad);
            zpar__msg_destroy (bad);
        }
        h->answered += k;
    }
}

static void on_tick (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    fake_t *h = arg;
    (void)w, (void)revents;
    pthread_mutex_lock (&h->lock);
    if (h->answer)
        answer_all (h);
    if (h->stop)
        zpar__reactor_stop (r);
    pthread_mutex_unlock (&h->lock);
}

static void *fake_main (void *arg)
{
    fake_t *h = arg;
    zpar__reactor_run (h->r);
    return NULL;
}

static int fake_start (fake_t *h, const char *path)
{
    zpar_conninfo_t ci;
    zpar_error_t err;
    zpar_watcher_t *w;
    memset (h, 0, sizeof (*h));
    pthread_mutex_init (&h->lock, NULL);
    for (int i = 0; i < ZPAR_KEY_LEN; i++)
        h->key[i] = (uint8_t)(i * 5 + 1);
    if (!(h->ctx = zmq_ctx_new ()) || !(h->reg = bind_any (h, h->addr[0])) ||
        !(h->task = bind_any (h, h->addr[1])))
        return -1;
    if (!(h->signer = zpar__signer_create (h->key, 0)) || !(h->r = zpar__reactor_create ()) ||
        !(h->in = zpar__msg_create (ZPAR_MSG_NONE)) || !(h->out = zpar__msg_create (ZPAR_MSG_NONE)))
        return -1;
    if (!(w = zpar__zmq_watcher_create (h->r, h->reg, ZPAR_EV_IN, on_reg, h)))
        return -1;
    zpar__watcher_start (w);
    if (!(w = zpar__zmq_watcher_create (h->r, h->task, ZPAR_EV_IN, on_task, h)))
        return -1;
    zpar__watcher_start (w);
    if (!(w = zpar__timer_watcher_create (h->r, 5, 5, on_tick, h)))
        return -1;
    zpar__watcher_start (w);
    memset (&ci, 0, sizeof (ci));
    for (int i = 0; i < ZPAR_EP_COUNT; i++)
        snprintf (ci.addr[i], ZPAR_ADDR_MAX, "%s", h->addr[0]);
    memcpy (ci.key, h->key, ZPAR_KEY_LEN);
    snprintf (ci.host, sizeof (ci.host), "fake.invalid");
    ci.pid = 1;
    if (zpar__conn_write (path, &ci, &err) < 0)
        return -1;
    return pthread_create (&h->thread, NULL, fake_main, h) == 0 ? 0 : -1;
}

static void fake_stop (fake_t *h)
{
    pthread_mutex_lock (&h->lock);
    h->stop = 1;
    pthread_mutex_unlock (&h->lock);
    pthread_join (h->thread, NULL);
    zpar__reactor_destroy (h->r);
    zmq_close (h->reg);
    zmq_close (h->task);
    zmq_ctx_term (h->ctx);
    zpar__signer_destroy (h->signer);
    zpar__msg_destroy (h->in);
    zpar__msg_destroy (h->out);
    pthread_mutex_destroy (&h->lock);
}

/* Forget what was recorded. */
static void fake_clear (fake_t *h)
{
    pthread_mutex_lock (&h->lock);
    h->nm = 0;
    h->nids = h->answered = 0;
    pthread_mutex_unlock (&h->lock);
}

/* Wait up to ms for the fake to have received at least n task ids; the
 * number it has. */
static size_t wait_ids (fake_t *h, size_t n, int ms)
{
    size_t got = 0;
    for (int i = 0; i <= ms; i++) {
        pthread_mutex_lock (&h->lock);
        got = h->nids;
        pthread_mutex_unlock (&h->lock);
        if (got >= n)
            break;
        usleep (1000);
    }
    return got;
}

static rec_t rec (fake_t *h, int i)
{
    rec_t r = {0};
    pthread_mutex_lock (&h->lock);
    if (i < h->nm)
        r = h->m[i];
    pthread_mutex_unlock (&h->lock);
    return r;
}

static int nmsgs (fake_t *h)
{
    int n;
    pthread_mutex_lock (&h->lock);
    n = h->nm;
    pthread_mutex_unlock (&h->lock);
    return n;
}

static zpar_task_t *task;

static zpar_future_t *sub (zpar_client_t *c)
{
    return zpar_submit (c, task, NULL);
}

static zpar_client_t *connect_to (const char *path, unsigned flags)
{
    zpar_client_opts_t o;
    zpar_error_t err;
    zpar_client_t *c;
    zpar_client_opts_init (&o);
    o.connection_file = path;
    o.connect_timeout = 5;
    o.ping_period = -1;
    o.flags = flags;
    if (!(c = zpar_client_connect_opts (&o, &err)))
        diag ("connect: %s", err.text);
    return c;
}

/* ids[first..first+n) of the fake are the futures' ids, in order. */
static int same_ids (fake_t *h, size_t first, zpar_future_t **f, size_t n)
{
    int same = 1;
    pthread_mutex_lock (&h->lock);
    for (size_t i = 0; i < n; i++)
        same &= first + i < h->nids && h->ids[first + i] == zpar_future_id (f[i]).id;
    pthread_mutex_unlock (&h->lock);
    return same;
}

static void test_packing (fake_t *h, const char *path)
{
    zpar_future_t *f[300];
    zpar_client_t *c;
    zpar_error_t err;
    rec_t r;
    int ok1;

    setenv ("ZPAR_CLIENT_BATCH_AGE_US", "0", 1); /* no age bound: determinism */
    if (!(c = connect_to (path, 0))) {
        ok (0, "connected");
        return;
    }
    ok (zpar_flush (c, &err) == 0 && nmsgs (h) == 0, "flush with nothing pending: 0, nothing sent");

    /* a lone submit, then a poll: one ordinary message */
    f[0] = sub (c);
    ok (f[0] && wait_ids (h, 1, 50) == 0, "a lone submit is not sent by itself");
    ok (zpar_client_poll (c, 0, &err) >= 0 && wait_ids (h, 1, 2000) == 1,
        "... the next poll sends it");
    r = rec (h, 0);
    ok (r.type == ZPAR_MSG_TASK && r.items == 1 && same_ids (h, 0, f, 1),
        "... alone, as an ordinary task message (type %d)", r.type);
    zpar_future_destroy (f[0]);
    fake_clear (h);

    /* five submits, then zpar_flush: one batch of five, in order */
    for (int i = 0; i < 5; i++)
        f[i] = sub (c);
    ok (wait_ids (h, 1, 50) == 0, "5 submits: nothing sent before a flush");
    ok (zpar_flush (c, &err) == 0 && wait_ids (h, 5, 2000) == 5, "zpar_flush sends them");
    r = rec (h, 0);
    ok (nmsgs (h) == 1 && r.type == ZPAR_MSG_BATCH && r.items == 5 && same_ids (h, 0, f, 5),
        "... as one batch of 5 items, in the order submitted");
    for (int i = 0; i < 5; i++)
        zpar_future_destroy (f[i]);
    fake_clear (h);

    /* 300 submits: 256 go at once (ZPAR_BATCH_MAX), 44 at the wait */
    for (int i = 0; i < 300; i++)
        f[i] = sub (c);
    ok (wait_ids (h, 256, 2000) == 256, "300 submits: the first %d go without a poll",
        ZPAR_BATCH_MAX);
    r = rec (h, 0);
    ok (r.type == ZPAR_MSG_BATCH && r.items == ZPAR_BATCH_MAX && nmsgs (h) == 1,
        "... as one full batch");
    pthread_mutex_lock (&h->lock);
    h->answer = 1; /* results from now on, in batches with junk */
    pthread_mutex_unlock (&h->lock);
    ok (zpar_client_wait_all (c, 10.0, &err) == 0, "wait_all: every future done (%s)",
        zpar_client_outstanding (c) ? err.text : "ok");
    r = rec (h, 1);
    ok (nmsgs (h) == 2 && r.type == ZPAR_MSG_BATCH && r.items == 44 && same_ids (h, 0, f, 300),
        "... the other 44 went as one batch when it began; all 300 in order");
    ok1 = 1;
    for (int i = 0; i < 300; i++) {
        const zpar_result_t *res = zpar_future_result (f[i]);
        ok1 &= res && zpar_result_status (res) == ZPAR_STATUS_OK &&
               zpar_result_id (res).id == zpar_future_id (f[i]).id;
    }
    ok (ok1 && zpar_client_outstanding (c) == 0,
        "results in batches (with a duplicate, a short item, a TASK item and a broken batch "
        "each time): each future has its own result");
    for (int i = 0; i < 300; i++)
        zpar_future_destroy (f[i]);
    pthread_mutex_lock (&h->lock);
    h->answer = 0;
    pthread_mutex_unlock (&h->lock);
    ok (zpar_client_poll (c, 0.05, &err) >= 0, "polling after the junk: fine");
    fake_clear (h);

    /* a pending future destroyed: its task goes */
    f[0] = sub (c);
    f[1] = sub (c);
    zpar_future_destroy (f[1]);
    ok (wait_ids (h, 2, 2000) == 2 && rec (h, 0).items == 2,
        "destroying a pending future sends the pending batch (both tasks, one batch)");
    zpar_future_destroy (f[0]);
    fake_clear (h);

    /* the client destroyed with tasks pending: they go */
    for (int i = 0; i < 3; i++) {
        f[i] = sub (c);
    }
    zpar_client_destroy (c);
    ok (wait_ids (h, 3, 2000) == 3 && rec (h, 0).items == 3,
        "zpar_client_destroy sends the pending tasks first");
    for (int i = 0; i < 3; i++)
        zpar_future_destroy (f[i]);
    fake_clear (h);
}

static void test_age_and_off (fake_t *h, const char *path)
{
    zpar_future_t *f[4];
    zpar_client_t *c;

    /* the age bound: a submit 5 ms after the first sends both */
    setenv ("ZPAR_CLIENT_BATCH_AGE_US", "2000", 1);
    if ((c = connect_to (path, 0))) {
        f[0] = sub (c);
        usleep (5000);
        f[1] = sub (c);
        ok (wait_ids (h, 2, 2000) == 2 && rec (h, 0).items == 2,
            "a submit finding the oldest pending older than the bound sends the batch, no poll");
        zpar_future_destroy (f[0]);
        zpar_future_destroy (f[1]);
        zpar_client_destroy (c);
    }
    fake_clear (h);
    unsetenv ("ZPAR_CLIENT_BATCH_AGE_US");

    /* off: every submit alone, at once */
    if ((c = connect_to (path, ZPAR_CLIENT_NO_BATCH))) {
        for (int i = 0; i < 3; i++)
            f[i] = sub (c);
        ok (wait_ids (h, 3, 2000) == 3 && nmsgs (h) == 3 && rec (h, 2).type == ZPAR_MSG_TASK,
            "ZPAR_CLIENT_NO_BATCH: 3 submits, 3 messages at once");
        for (int i = 0; i < 3; i++)
            zpar_future_destroy (f[i]);
        zpar_client_destroy (c);
    }
    fake_clear (h);
    setenv ("ZPAR_CLIENT_BATCH", "0", 1);
    if ((c = connect_to (path, 0))) {
        for (int i = 0; i < 3; i++)
            f[i] = sub (c);
        ok (wait_ids (h, 3, 2000) == 3 && nmsgs (h) == 3,
            "$ZPAR_CLIENT_BATCH=0: 3 submits, 3 messages at once");
        for (int i = 0; i < 3; i++)
            zpar_future_destroy (f[i]);
        zpar_client_destroy (c);
    }
    unsetenv ("ZPAR_CLIENT_BATCH");
    fake_clear (h);
}

/* The window ($ZPAR_CLIENT_WINDOW): no more than the window of a client's
 * load-balanced tasks go to the controller unanswered; the others wait in
 * the client, in order, and go as results come back; a held task aborted
 * is answered at once without reaching the controller; destroying the
 * client or a held future sends what is held (a task once submitted runs);
 * zpar_client_sync sends everything. */
/* Connect, submit n tasks into f[0..n) and poll once: the client, or
 * NULL. */
static zpar_client_t *submit_n (const char *path, zpar_future_t **f, int n)
{
    zpar_client_t *c = connect_to (path, 0);
    for (int i = 0; c && i < n; i++)
        f[i] = sub (c);
    if (c)
        (void)zpar_client_poll (c, 0, NULL);
    return c;
}

/* Destroy f[0..n) (NULL ones skipped), then c. */
static void destroy_n (zpar_client_t *c, zpar_future_t **f, int n)
{
    while (n-- > 0)
        zpar_future_destroy (f[n]);
    zpar_client_destroy (c);
}

static void test_window (fake_t *h, const char *path)
{
    zpar_future_t *f[40];
    zpar_client_t *c;
    zpar_error_t err;
    uint64_t t0;
    int inorder = 1, aborted = 0, rc;

    setenv ("ZPAR_CLIENT_WINDOW", "10", 1);
    if ((c = submit_n (path, f, 25))) {
        ok (wait_ids (h, 11, 300) == 10, "window 10: 25 submits, 10 reach the controller");
        t0 = zpar__mono_us ();
        rc = zpar_client_abort (c, zpar_future_id (f[24]), &err);
        ok (rc == 0 && zpar_future_done (f[24]) &&
                zpar_result_status (zpar_future_result (f[24])) == ZPAR_STATUS_ABORTED &&
                zpar__mono_us () - t0 < 1000000,
            "a held task aborted: answered at once, aborted");
        pthread_mutex_lock (&h->lock);
        h->answer = 1;
        pthread_mutex_unlock (&h->lock);
        ok (zpar_client_wait_all (c, 10, &err) == 0, "wait_all: the held tasks go as results come");
        pthread_mutex_lock (&h->lock);
        for (size_t i = 0; i < h->nids; i++) {
            inorder &= i < 24 && h->ids[i] == zpar_future_id (f[i]).id;
            aborted |= h->ids[i] == zpar_future_id (f[24]).id;
        }
        ok (h->nids == 24 && inorder && !aborted,
            "24 tasks reached the controller once each, in order, the aborted one never");
        h->answer = 0;
        pthread_mutex_unlock (&h->lock);
        destroy_n (c, f, 25);
    }
    fake_clear (h);

    setenv ("ZPAR_CLIENT_WINDOW", "3", 1);
    if ((c = submit_n (path, f, 8))) {
        ok (wait_ids (h, 4, 300) == 3, "window 3: 8 submits, 3 sent");
        zpar_future_destroy (f[7]);
        ok (wait_ids (h, 5, 300) == 4, "a held future destroyed: its task is sent");
        destroy_n (c, f, 7);
        ok (wait_ids (h, 9, 2000) == 8, "the client destroyed: every held task is sent");
    }
    fake_clear (h);
    unsetenv ("ZPAR_CLIENT_WINDOW");
}

/* ---- zpar_client_on_done, zpar_client_wake */

static zpar_future_t *done_seen[64];
static int ndone, done_notdone;

static void on_done (void *arg, zpar_future_t *f)
{
    (void)arg;
    if (!zpar_future_done (f))
        done_notdone++;
    if (ndone < 64)
        done_seen[ndone] = f;
    ndone++;
}

static void *wake_later (void *arg)
{
    usleep (100000);
    (void)zpar_client_wake (arg);
    return NULL;
}

static void test_done_and_wake (fake_t *h, const char *path)
{
    zpar_future_t *f[50];
    zpar_client_t *c;
    pthread_t th;
    uint64_t t0;
    int once = 1;

    errno = 0;
    ok (zpar_client_wake (NULL) < 0 && errno == EINVAL, "zpar_client_wake (NULL): EINVAL");
    errno = 0;
    ok (zpar_client_on_done (NULL, on_done, NULL) < 0 && errno == EINVAL,
        "zpar_client_on_done (NULL): EINVAL");
    if ((c = connect_to (path, 0))) {
        errno = 0;
        ok (zpar_client_wake (c) < 0 && errno == EINVAL, "a client not WAKEABLE: wake is EINVAL");
        zpar_client_destroy (c);
    }
    if (!(c = connect_to (path, ZPAR_CLIENT_WAKEABLE)))
        return;
    ok (zpar_client_on_done (c, on_done, NULL) == 0, "on_done set");
    for (int i = 0; i < 50; i++)
        f[i] = sub (c);
    pthread_mutex_lock (&h->lock);
    h->answer = 1;
    pthread_mutex_unlock (&h->lock);
    t0 = zpar__mono_us ();
    while (ndone < 50 && zpar__mono_us () - t0 < 10000000)
        (void)zpar_client_poll (c, 1.0, NULL);
    (void)zpar_client_poll (c, 0.2, NULL); /* the duplicates the fake sends */
    for (int i = 0; i < 50; i++) {
        int seen = 0;
        for (int j = 0; j < ndone && j < 64; j++)
            seen += done_seen[j] == f[i];
        once &= seen == 1;
    }
    ok (ndone == 50 && once && !done_notdone,
        "the done callback: once per future, each done when called, none for a duplicate "
        "(%d calls)",
        ndone);
    pthread_mutex_lock (&h->lock);
    h->answer = 0;
    pthread_mutex_unlock (&h->lock);

    t0 = zpar__mono_us ();
    ok (zpar_client_wake (c) == 0 && zpar_client_wake (c) == 0 &&
            zpar_client_poll (c, 10.0, NULL) == 0 && zpar__mono_us () - t0 < 2000000,
        "a wake-up given before the poll: the poll returns at once");
    t0 = zpar__mono_us ();
    if (pthread_create (&th, NULL, wake_later, c) == 0) {
        int n = zpar_client_poll (c, 10.0, NULL);
        uint64_t us = zpar__mono_us () - t0;
        pthread_join (th, NULL);
        ok (n == 0 && us >= 90000 && us < 3000000,
            "a wake-up from another thread ends a 10 s poll (%.3f s)", us / 1e6);
    }
    t0 = zpar__mono_us ();
    ok (zpar_client_poll (c, 0.3, NULL) == 0 && zpar__mono_us () - t0 >= 250000,
        "the wake-up is used up: the next poll waits its time");
    ok (zpar_client_on_done (c, NULL, NULL) == 0, "on_done unset");
    destroy_n (c, f, 50);
    fake_clear (h);
}

/* ---- zpar_submit_many, zpar_client_collect_done, zpar_client_take_done */

static void test_many (fake_t *h, const char *path)
{
    enum { N = 40 };
    const zpar_task_t *ts[N];
    zpar_future_t *f[N], *got[N + 1];
    zpar_task_id_t ids[N];
    int st[N + 1], inorder = 1, allok = 1;
    size_t k, n = 0;
    zpar_client_t *c;
    uint64_t t0;

    errno = 0;
    ok (zpar_submit_many (NULL, ts, 1, f, NULL, NULL) == 0 && errno == EINVAL,
        "zpar_submit_many (NULL client): 0, EINVAL");
    errno = 0;
    ok (zpar_client_collect_done (NULL, 1) < 0 && errno == EINVAL,
        "zpar_client_collect_done (NULL): EINVAL");
    errno = 0;
    ok (zpar_client_take_done (NULL, got, st, 1) == 0 && errno == EINVAL,
        "zpar_client_take_done (NULL): 0, EINVAL");
    if (!(c = connect_to (path, 0)))
        return;
    for (int i = 0; i < N; i++)
        ts[i] = task;
    ts[2] = NULL;
    errno = 0;
    ok (zpar_submit_many (c, ts, 5, f, ids, NULL) == 2 && errno == EINVAL && !f[2] && !f[4],
        "a bad task stops zpar_submit_many there: 2 submitted, the rest NULL");
    zpar_future_destroy (f[0]);
    zpar_future_destroy (f[1]);
    ts[2] = task;
    ok (zpar_client_collect_done (c, 1) == 0, "collect_done on");
    ok (zpar_submit_many (c, ts, N, f, ids, NULL) == N, "zpar_submit_many: %d submitted", N);
    (void)zpar_client_poll (c, 0, NULL);
    ok (wait_ids (h, N + 2, 5000) == N + 2 && same_ids (h, 2, f, N),
        "the tasks reached the controller in order, with the ids given");
    for (int i = 0; i < N; i++)
        inorder &= ids[i].id == zpar_future_id (f[i]).id;
    ok (inorder, "ids[i] is the id of fs[i]");
    ok (zpar_client_take_done (c, got, st, N) == 0, "nothing ended: nothing taken");
    pthread_mutex_lock (&h->lock);
    h->answer = 1;
    pthread_mutex_unlock (&h->lock);
    t0 = zpar__mono_us ();
    while (zpar_client_outstanding (c) > 0 && zpar__mono_us () - t0 < 10000000)
        (void)zpar_client_poll (c, 1.0, NULL);
    (void)zpar_client_poll (c, 0.2, NULL); /* the duplicates the fake sends */
    zpar_future_destroy (f[7]);            /* queued: leaves the queue */
    f[7] = NULL;
    while ((k = zpar_client_take_done (c, got + n, st + n, 9)) > 0)
        n += k;
    for (size_t i = 0, j = 0; i < N; i++) {
        if (!f[i])
            continue;
        inorder &= j < n && got[j] == f[i];
        allok &= j < n && st[j] == ZPAR_STATUS_OK;
        j++;
    }
    ok (n == N - 1 && inorder && allok,
        "the done queue: each future once, in order, status ok, less the one destroyed (%zu)", n);
    ok (zpar_client_take_done (c, got, st, N) == 0, "taken: the queue is empty");
    pthread_mutex_lock (&h->lock);
    h->answer = 0;
    pthread_mutex_unlock (&h->lock);
    destroy_n (c, f, N);
    fake_clear (h);

    /* futures left in the queue outlive their client; collect_done 0 empties it */
    if (!(c = connect_to (path, 0)))
        return;
    (void)zpar_client_collect_done (c, 1);
    ok (zpar_submit_many (c, ts, 10, f, NULL, NULL) == 10, "10 more");
    pthread_mutex_lock (&h->lock);
    h->answer = 1;
    pthread_mutex_unlock (&h->lock);
    t0 = zpar__mono_us ();
    while (zpar_client_outstanding (c) > 0 && zpar__mono_us () - t0 < 10000000)
        (void)zpar_client_poll (c, 1.0, NULL);
    ok (zpar_client_take_done (c, got, NULL, 1) == 1 && got[0] == f[0],
        "one taken, without the statuses");
    (void)zpar_client_collect_done (c, 0);
    ok (zpar_client_take_done (c, got, st, N) == 0, "collect_done off: the queue emptied");
    (void)zpar_client_collect_done (c, 1);
    ok (zpar_submit_many (c, ts, 5, f + 10, NULL, NULL) == 5, "5 more, left in the queue");
    t0 = zpar__mono_us ();
    while (zpar_client_outstanding (c) > 0 && zpar__mono_us () - t0 < 10000000)
        (void)zpar_client_poll (c, 1.0, NULL);
    pthread_mutex_lock (&h->lock);
    h->answer = 0;
    pthread_mutex_unlock (&h->lock);
    zpar_future_destroy (f[12]); /* out of the queue; then the client, then the others */
    zpar_client_destroy (c);
    for (int i = 0; i < 15; i++)
        if (i != 12)
            zpar_future_destroy (f[i]);
    fake_clear (h);
}

int main (void)
{
    char dir[] = "/tmp/test_client_batch.XXXXXX", path[PATH_MAX];
    const char *argv[] = {"true", NULL};
    zpar_error_t err;
    fake_t h;

    plan (NO_PLAN);
    errno = 0;
    ok (zpar_flush (NULL, &err) < 0 && errno == EINVAL, "zpar_flush (NULL): EINVAL");
    if (!mkdtemp (dir))
        return 1;
    snprintf (path, sizeof (path), "%s/client.json", dir);
    if (fake_start (&h, path) < 0) {
        ok (0, "fake controller started");
        return done_testing ();
    }
    task = zpar_task_command (argv);
    test_packing (&h, path);
    test_age_and_off (&h, path);
    test_window (&h, path);
    test_done_and_wake (&h, path);
    test_many (&h, path);
    zpar_task_destroy (task);
    fake_stop (&h);
    unlink (path);
    rmdir (dir);
    return done_testing ();
}
