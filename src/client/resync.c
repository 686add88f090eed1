/* resync.c - riding through a controller restart, and zpar_client_sync.
 *
 * Every message from the hub carries its session (a random number drawn
 * when the controller starts).  A new session on the registrar socket means
 * a restarted controller (`zpar controller --reuse`, a restarted rank 0):
 * the sockets have reconnected by themselves to the same ports, but what
 * the old controller had in flight is gone.  The client then
 *
 *   - registers again and takes the number the hub gives (client numbers
 *     come from the records: a new one is never an old one, so the ids of
 *     new tasks cannot collide; results are routed by the connection, not
 *     the number, and the old tasks' results are read from the records);
 *   - polls the hub about every unfinished future (QUERY result): done →
 *     the result is taken from the record; pending, running or "recovering"
 *     (EAGAIN, the hub's recovery window) → asked again later; unknown →
 *     after a grace (a task still queued in our socket reaches the new hub
 *     a moment later) the packed request kept by the future is submitted
 *     again with the same task id (QUERY resubmit: the hub queues it only
 *     if the id is unknown).
 *
 * A lost controller (no answer) is pinged until it answers or the caller's
 * time or the reconnect timeout runs out (loop.c).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "client.h"
#include "clock.h"
#include "error.h"

#define RESYNC_ENOENT_GRACE_US 2000000ULL /* a task in our socket reaches the hub */
#define RESUBMIT_MAX           8          /* per future: a hub that keeps forgetting */
#define SYNC_CHUNK             4096       /* ids per SYNC question */
#define SYNC_RETRY_MS          100
#define DOUBT_WAIT_US          1000000ULL  /* a ping's answer tells of a restart */
#define DOUBT_WINDOW_US        30000000ULL /* engines register again after a restart */
#define DIRECT_RETRY_MAX       30

static uint64_t timeout_us (const zpar_client_t *c)
{
    return (uint64_t)(c->connect_timeout * 1e6);
}

static int send_register (zpar_client_t *c)
{
    zpar_proto_reg_client_t q = {0};
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_REGISTER_CLIENT);
    int rc = -1;
    if (m && zpar__proto_reg_client_encode (m, &q) == 0)
        rc = zpar__wire_send_chan (c->sock[S_REG], c->signer, ZPAR_CHAN_REGISTRAR, m, ZMQ_DONTWAIT);
    zpar__msg_destroy (m);
    c->rereg_us = zpar__mono_us ();
    return rc;
}

void zpar__client_hub_session (zpar_client_t *c, uint64_t session)
{
    uint64_t now = zpar__mono_us ();
    size_t pos = 0;
    zpar_future_t *f;

    if (!session || session == c->hub_session)
        return;
    if (!c->hub_session) {
        c->hub_session = session; /* the first answer: the registration */
        return;
    }
    c->hub_session = session;
    c->resync_us = now;
    c->ping_id = 0;
    /* questions to the old controller: ask the new one */
    while ((f = zpar__idmap_next (c->futures, &pos, NULL))) {
        if (f->query) {
            zpar__idmap_del (c->queries, f->query);
            f->query = 0;
        }
        if (f->result || f->err_no || f->held)
            continue; /* a held task was never sent: it goes to the new one (window.c) */
        if (!f->remote) {
            f->remote = 1;
            c->nremote++;
        }
        f->resync = f->req != NULL; /* ours: may be submitted again */
        /* a direct task sent again after a doubt: its result went down
         * with that controller; the hub's record is all there is now */
        f->no_poll = 0;
        f->next_poll_us = now;
        f->backoff_us = 0;
    }
    (void)send_register (c);
    zpar__client_tick_at (c, now);
}

void zpar__client_on_reregistered (zpar_client_t *c, zpar_msg_t *m)
{
    static const zpar_addr_kind_t kinds[5] = {ZPAR_ADDR_MUX, ZPAR_ADDR_TASK, ZPAR_ADDR_CONTROL,
                                              ZPAR_ADDR_IOPUB, ZPAR_ADDR_NOTIFY};
    static const int slot[5] = {S_MUX, S_TASK, S_CTL, S_IOPUB, S_NOTIFY};
    zpar_proto_reg_client_reply_t r;
    zpar_error_t perr;
    uint32_t old = c->num;

    if (!c->rereg_us)
        return; /* not asked for (a duplicate): ignored */
    if (zpar__proto_reg_client_reply_decode (m, &r, &perr) < 0)
        return; /* malformed: asked again by the tick */
    if (r.error || r.errnum) {
        zpar__proto_reg_client_reply_clear (&r);
        return; /* refused: asked again by the tick */
    }
    c->rereg_us = 0;
    c->num = r.id.v;
    for (int i = 0; i < 5; i++) {
        char addr[ZPAR_ADDR_MAX];
        if (!r.addr[kinds[i]])
            continue;
        snprintf (addr, sizeof (addr), "%s", r.addr[kinds[i]]);
        zpar__conn_pick_rehost (&c->pick, addr, sizeof (addr));
        if (strcmp (addr, c->addr[i]) != 0 &&
            zpar__client_reconnect_socket (c, slot[i], addr, c->addr[i]) == 0)
            snprintf (c->addr[i], sizeof (c->addr[i]), "%s", addr);
    }
    if (c->out_cb && c->mine_only && old != c->num) {
        char topic[32];
        snprintf (topic, sizeof (topic), "c%u.", c->num);
        zmq_setsockopt (c->sock[S_IOPUB], ZMQ_SUBSCRIBE, topic, strlen (topic));
    }
    c->reconnects++;
    zpar__proto_reg_client_reply_clear (&r);
}

uint64_t zpar__client_resync_tick (zpar_client_t *c, uint64_t now)
{
    if (!c->rereg_us)
        return UINT64_MAX;
    if (!c->lost && now - c->rereg_us >= timeout_us (c))
        (void)send_register (c); /* unanswered: again */
    return c->rereg_us + timeout_us (c);
}

int zpar__client_resubmit_send (zpar_client_t *c, zpar_future_t *f, uint64_t corr)
{
    zpar_proto_query_t q = {0};
    zpar_msg_t *req;
    int rc = -1;
    if (!f->req) {
        errno = ENOENT;
        return -1;
    }
    if (!(req = zpar__msg_create (ZPAR_MSG_QUERY)))
        return -1;
    q.h.client = zpar__cid (c->num);
    q.h.task = zpar__tid (corr);
    q.kind = ZPAR_QUERY_RESUBMIT;
    q.task = zpar__tid (f->id);
    q.record = f->req;
    q.record_len = f->req_len;
    if (zpar__proto_query_encode (req, &q) == 0)
        rc = zpar__wire_send_chan (c->sock[S_REG], c->signer, ZPAR_CHAN_REGISTRAR, req,
                                   ZMQ_DONTWAIT);
    zpar__msg_destroy (req);
    return rc;
}

/* A direct task goes again to its engine through the MUX relay, the way
 * it went first (the hub takes only load-balanced ones): if that engine is
 * gone, the relay answers with an error result.  0 / -1. */
static int resend_direct (zpar_client_t *c, zpar_future_t *f, uint64_t now)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_error_t perr;
    char ident[16];
    int n = snprintf (ident, sizeof (ident), "e%u", f->engine), rc = -1;
    if (m && zpar__msg_unpack (m, f->req, f->req_len, &perr) == 0 &&
        zpar__msg_push_ident (m, ident, (size_t)n) == 0) {
        zpar__client_watch (c, S_MUX, 1, 0);
        rc = zpar__wire_send_chan (c->sock[S_MUX], c->signer, ZPAR_CHAN_MUX, m, ZMQ_DONTWAIT);
    }
    zpar__msg_destroy (m);
    if (rc == 0) {
        f->resubmits++;
        f->created_us = now;
        zpar__client_remote_again (c, f, now); /* its result comes, or the hub has it */
    }
    return rc;
}

/* ------------------------------------------------------------- doubts */

/* Why a direct task may be answered "engine not connected" while its
 * engine is fine: the controller restarted and the task reached the new
 * one (it sat in our socket, or was sent just then) before the engine
 * registered with it again.  The answer is held a moment and the hub asked
 * how it is: when a restart was seen (now or in the last DOUBT_WINDOW_US),
 * the task is sent again (same id; the relay did not send it anywhere),
 * until its engine is back or the window is over; else the answer stands. */
int zpar__client_doubt (zpar_client_t *c, zpar_future_t *f, zpar_result_t *r)
{
    uint64_t now = zpar__mono_us ();
    if (f->doubt) {
        /* already in doubt: this is the same answer again (the hub's
         * record of it, read at a resync): the tick decides, once */
        zpar_result_destroy (r);
        return 1;
    }
    if (!f->req || f->resubmits >= DIRECT_RETRY_MAX ||
        (c->resync_us && now - c->resync_us >= DOUBT_WINDOW_US && f->created_us > c->resync_us &&
         !c->lost))
        return 0; /* a live controller without a recent restart: it stands */
    f->doubt = r;
    f->doubt_until_us = now + DOUBT_WAIT_US;
    c->ndoubt++;
    zpar__client_ping (c);
    zpar__client_tick_at (c, f->doubt_until_us);
    return 1;
}

uint64_t zpar__client_doubt_tick (zpar_client_t *c, uint64_t now)
{
    uint64_t next = UINT64_MAX, ids[64];
    size_t pos = 0, k = 0;
    zpar_future_t *f;
    if (!c->ndoubt)
        return next;
    /* the due ones found first, decided after: completing runs the
     * program's done callback, which may destroy or submit futures, and so
     * change the map under a walk */
    while ((f = zpar__idmap_next (c->futures, &pos, NULL))) {
        if (!f->doubt)
            continue;
        if (now < f->doubt_until_us || c->lost || c->rereg_us ||
            (c->ping_id && now - c->ping_sent_us < timeout_us (c))) {
            /* not yet, or the hub has not told us how it is yet */
            uint64_t due = now < f->doubt_until_us ? f->doubt_until_us : now + 100000;
            if (due < next)
                next = due;
            continue;
        }
        if (k == 64) {
            next = now; /* more are due: the next tick at once */
            break;
        }
        ids[k++] = f->id;
    }
    for (size_t i = 0; i < k; i++) {
        zpar_result_t *r;
        if (!(f = zpar__idmap_get (c->futures, ids[i])) || !f->doubt)
            continue;
        r = f->doubt;
        f->doubt = NULL;
        c->ndoubt--;
        if (c->resync_us && now - c->resync_us < DOUBT_WINDOW_US &&
            resend_direct (c, f, now) == 0) {
            zpar_result_destroy (r); /* sent again: its engine may be back */
            f->no_poll = 1;          /* the hub holds that answer: do not read it */
        } else
            zpar__client_complete (c, f, r);
    }
    return next;
}

/* Submit f again (RESUBMIT; a direct task to its engine), its answer
 * routed back to f.  0 / -1. */
static int resubmit (zpar_client_t *c, zpar_future_t *f, uint64_t now)
{
    uint64_t corr;
    if (f->engine)
        return resend_direct (c, f, now);
    corr = zpar__client_next_id (c);
    if (zpar__idmap_put (c->queries, corr, f) < 0)
        return -1;
    if (zpar__client_resubmit_send (c, f, corr) < 0) {
        zpar__idmap_del (c->queries, corr);
        return -1;
    }
    f->query = corr;
    f->qkind = ZPAR_QUERY_RESUBMIT;
    f->query_sent_us = now;
    f->resubmits++;
    f->created_us = now; /* a fresh grace before "unknown" is believed again */
    return 0;
}

void zpar__client_resync_reply (zpar_client_t *c, zpar_future_t *f,
                                const zpar_proto_query_reply_t *qr)
{
    uint64_t now = zpar__mono_us (), since;
    char ids[32], text[ZPAR_ERROR_TEXT_MAX];
    int e = qr->errnum;

    zpar_task_id_format ((zpar_task_id_t){f->id}, ids, sizeof (ids));
    if (f->qkind == ZPAR_QUERY_RESUBMIT) {
        f->qkind = ZPAR_QUERY_RESULT;
        if (e && e != EEXIST && e != EAGAIN && e != EBUSY) {
            snprintf (text, sizeof (text),
                      "task %s was lost by a restarted controller, which refused to take it "
                      "again: %s",
                      ids, qr->error ? qr->error : strerror (e));
            zpar__client_remote_fail (c, f, e, text);
        } else if (f->remote)
            zpar__client_remote_again (c, f, now); /* queued (or known): ask about it */
        return;
    }
    if (e == EAGAIN || e == EBUSY) {
        zpar__client_remote_again (c, f, now); /* recovering: ask again later */
        return;
    }
    if (e == ENOENT) {
        since = c->resync_us > f->created_us ? c->resync_us : f->created_us;
        if (now - since < RESYNC_ENOENT_GRACE_US)
            zpar__client_remote_again (c, f, now);
        else if (f->resubmits < RESUBMIT_MAX && resubmit (c, f, now) == 0)
            ; /* its answer comes back here */
        else {
            snprintf (text, sizeof (text),
                      "task %s was lost by a restarted controller and could not be submitted "
                      "again",
                      ids);
            zpar__client_remote_fail (c, f, ENOENT, text);
        }
        return;
    }
    if (e) {
        snprintf (text, sizeof (text), "the controller says about task %s: %s", ids,
                  qr->error ? qr->error : strerror (e));
        zpar__client_remote_fail (c, f, e, text);
        return;
    }
    if (qr->record) {
        zpar_msg_t *rm = zpar__msg_create (ZPAR_MSG_NONE);
        zpar_error_t perr;
        if (!rm || zpar__msg_unpack (rm, qr->record, qr->record_len, &perr) < 0) {
            zpar__msg_destroy (rm);
            snprintf (text, sizeof (text), "the controller's record of task %s is malformed", ids);
            zpar__client_remote_fail (c, f, EPROTO, text);
        } else {
            zpar_result_t *r = zpar__result_from_msg (rm);
            /* recorded "engine not connected": the same doubt as on the socket */
            if (!(f->engine && zpar__result_unreachable (r) && zpar__client_doubt (c, f, r)))
                zpar__client_complete (c, f, r);
        }
        return;
    }
    zpar__client_remote_again (c, f, now); /* pending or running */
}

/* ------------------------------------------------------------- sync */

/* Ask the hub whether ids[0..n) are durable: marks the known ones synced
 * and submits again those it does not know (past their grace).  The
 * number still not confirmed, or -1 with err (EAGAIN: recovering, ask
 * again; EHOSTUNREACH: no answer). */
static int sync_chunk (zpar_client_t *c, zpar_future_t **fs, zpar_tid_t *ids, size_t n,
                       double timeout, zpar_error_t *err)
{
    zpar_proto_query_t q = {0};
    zpar_proto_query_reply_t qr;
    zpar_msg_t *req = zpar__msg_create (ZPAR_MSG_QUERY), *rep;
    zpar_error_t perr;
    uint64_t now;
    int left = 0;

    if (!req)
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    q.h.client = zpar__cid (c->num);
    q.h.task = zpar__tid (zpar__client_next_id (c));
    q.kind = ZPAR_QUERY_SYNC;
    q.ids = ids;
    q.nids = n;
    if (zpar__proto_query_encode (req, &q) < 0) {
        int e = errno;
        zpar__msg_destroy (req);
        return zpar__errnoprintf (err, e, "cannot encode the question: %s", strerror (e));
    }
    rep = zpar__client_call (c, S_REG, req, ZPAR_MSG_QUERY_REPLY, timeout, err);
    zpar__msg_destroy (req);
    if (!rep)
        return -1;
    if (zpar__proto_query_reply_decode (rep, &qr, &perr) < 0) {
        zpar__msg_destroy (rep);
        return zpar__errnoprintf (err, EPROTO, "the controller's reply is malformed: %s",
                                  perr.text);
    }
    if (qr.errnum) {
        int e = qr.errnum;
        zpar__errnoprintf (err, e, "the controller says: %s", qr.error ? qr.error : strerror (e));
        zpar__proto_query_reply_clear (&qr);
        zpar__msg_destroy (rep);
        errno = e;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        fs[i]->synced = 1;
    now = zpar__mono_us ();
    for (size_t k = 0; k < qr.nids; k++) {
        zpar_future_t *f = NULL;
        for (size_t i = 0; i < n && !f; i++)
            if (ids[i].v == qr.ids[k].v)
                f = fs[i];
        if (!f)
            continue;
        f->synced = 0;
        left++;
        if (f->result || f->err_no || f->query)
            continue; /* done meanwhile, or a question in flight */
        if (now - (c->resync_us > f->created_us ? c->resync_us : f->created_us) <
            RESYNC_ENOENT_GRACE_US)
            continue; /* maybe still on its way: ask again */
        if (f->resubmits >= RESUBMIT_MAX || resubmit (c, f, now) < 0) {
            char ids_text[32], text[ZPAR_ERROR_TEXT_MAX];
            zpar_task_id_format ((zpar_task_id_t){f->id}, ids_text, sizeof (ids_text));
            snprintf (text, sizeof (text),
                      "task %s is unknown to the controller and could not be submitted again",
                      ids_text);
            zpar__client_remote_fail (c, f, ENOENT, text);
        }
    }
    zpar__proto_query_reply_clear (&qr);
    zpar__msg_destroy (rep);
    return left;
}

ZPAR_API int zpar_client_sync (zpar_client_t *c, double timeout, zpar_error_t *err)
{
    uint64_t deadline = timeout < 0 ? 0 : zpar__mono_us () + (uint64_t)(timeout * 1e6);
    zpar_future_t **fs = NULL;
    zpar_tid_t *ids = NULL;
    size_t cap = 0;
    int rc = 0;

    if (!c) {
        errno = EINVAL;
        return zpar__errprintf (err, "no client");
    }
    if (zpar__client_wait_begin (c, err) < 0)
        return -1;
    /* every task submitted so far is to be confirmed: the window's too */
    zpar__client_window_release (c, 1);
    for (;;) {
        size_t n = 0, pos = 0, unconfirmed = 0;
        zpar_future_t *f;
        long left;
        /* this client's tasks without a result, not yet confirmed */
        while ((f = zpar__idmap_next (c->futures, &pos, NULL))) {
            if (!f->req || f->synced || f->result || f->err_no)
                continue;
            if (n == cap) {
                size_t ncap = cap ? 2 * cap : 64;
                zpar_future_t **nf = realloc (fs, ncap * sizeof (*nf));
                zpar_tid_t *ni = nf ? realloc (ids, ncap * sizeof (*ni)) : NULL;
                if (nf)
                    fs = nf;
                if (!ni) {
                    rc = zpar__errnoprintf (err, ENOMEM, "out of memory");
                    goto done;
                }
                ids = ni;
                cap = ncap;
            }
            fs[n] = f;
            ids[n++] = zpar__tid (f->id);
        }
        if (n == 0)
            break;
        if ((left = zpar__client_left_ms (deadline)) == 0) {
            if ((rc = zpar__client_wait_lost (c, err)) == 0)
                rc = zpar__errnoprintf (err, ETIMEDOUT,
                                        "the controller did not confirm %zu tasks recorded "
                                        "within %g s",
                                        n, timeout);
            break;
        }
        for (size_t i = 0; i < n; i += SYNC_CHUNK) {
            size_t k = n - i < SYNC_CHUNK ? n - i : SYNC_CHUNK;
            double t = c->connect_timeout;
            int r;
            if (left > 0 && (double)left / 1000.0 < t)
                t = (double)left / 1000.0;
            r = sync_chunk (c, fs + i, ids + i, k, t, err);
            if (r < 0 && errno != EAGAIN && errno != EBUSY && errno != EHOSTUNREACH) {
                rc = -1;
                goto done;
            }
            if (r != 0)
                unconfirmed++;
        }
        if (unconfirmed) {
            /* recovering, no answer, or ids on their way: look again soon
             * (results and resubmit answers are taken in meanwhile) */
            long wait = left < 0 || left > SYNC_RETRY_MS ? SYNC_RETRY_MS : left;
            if (zpar__client_wait_step (c, wait, err) < 0) {
                rc = -1;
                break;
            }
        }
    }
done:
    zpar__client_wait_end (c);
    free (fs);
    free (ids);
    return rc;
}
