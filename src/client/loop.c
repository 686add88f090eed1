/* loop.c - the client's reactor: socket watchers, dispatch, synchronous
 * requests, controller-loss pings and polling for other clients' tasks. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "client.h"
#include "clock.h"
#include "error.h"

#define DRAIN_MAX              4096
#define REMOTE_BACKOFF_MIN_US  5000ULL
#define REMOTE_BACKOFF_MAX_US  200000ULL
#define RESYNC_BACKOFF_MAX_US  1000000ULL /* own tasks polled after a restart */
#define REMOTE_ENOENT_GRACE_US 1000000ULL /* the hub learns of a new task a moment later */
#define TICK_MAX_MS            1000

uint64_t zpar__client_next_id (zpar_client_t *c)
{
    return ((uint64_t)c->num << 32) | (++c->seq & 0xffffffffu);
}

long zpar__client_left_ms (uint64_t deadline_us)
{
    uint64_t now = zpar__mono_us ();
    if (deadline_us == 0)
        return -1;
    if (now >= deadline_us)
        return 0;
    return (long)((deadline_us - now + 999) / 1000);
}

static void ping_now (zpar_client_t *c);

void zpar__client_ping (zpar_client_t *c)
{
    ping_now (c);
}

/* The message just received, handed over (c->in is replaced by a fresh
 * one).  NULL if no memory: the caller drops the message. */
static zpar_msg_t *take_in (zpar_client_t *c)
{
    zpar_msg_t *fresh = zpar__msg_create (ZPAR_MSG_NONE), *m;
    if (!fresh)
        return NULL;
    m = c->in;
    c->in = fresh;
    return m;
}

/* ------------------------------------------------------------- events */

static void on_result (zpar_client_t *c)
{
    zpar_future_t *f = zpar__idmap_get (c->futures, c->in->hdr.task);
    zpar_result_t *r;
    zpar_msg_t *m;
    if (!f || f->result || f->err_no || !(m = take_in (c)))
        return;
    m->nenv = 0;
    r = zpar__result_from_msg (m);
    if (f->engine && zpar__result_unreachable (r) && zpar__client_doubt (c, f, r))
        return; /* "engine not connected" right after a controller restart? */
    zpar__client_complete (c, f, r);
}

static void on_notify (zpar_client_t *c, zpar_msg_t *m)
{
    zpar_proto_notify_t n;
    zpar_error_t err;
    uint32_t engine;
    const char *ev;
    if (zpar__proto_notify_decode (m, &n, &err) < 0)
        return; /* malformed: dropped */
    engine = n.h.engine.v;
    if (n.event == ZPAR_NOTIFY_REGISTERED)
        zpar__client_window_engine (c, engine, 1); /* the window grows with the cluster */
    else if (n.event == ZPAR_NOTIFY_DIED || n.event == ZPAR_NOTIFY_UNREGISTERED)
        zpar__client_window_engine (c, engine, 0);
    if (n.event == ZPAR_NOTIFY_DIED || n.event == ZPAR_NOTIFY_UNREGISTERED) {
        uint64_t ids[64];
        size_t k;
        char text[128];
        snprintf (text, sizeof (text), "engine %u died while this task was on it", engine);
        /* found first, completed after: completing runs the program's done
         * callback, which may destroy or submit futures, and so change the
         * map under a walk (a completed future no longer matches: the
         * walks end) */
        size_t done;
        do {
            size_t pos = 0;
            zpar_future_t *f;
            k = done = 0;
            while (k < 64 && (f = zpar__idmap_next (c->futures, &pos, NULL)))
                if (!f->result && !f->err_no && f->engine && f->engine == engine)
                    ids[k++] = f->id;
            for (size_t i = 0; i < k; i++)
                if ((f = zpar__idmap_get (c->futures, ids[i])) && !f->result && !f->err_no) {
                    zpar__client_complete (
                        c, f, zpar__result_make (f->id, f->engine, ZPAR_STATUS_ENGINE_DIED, text));
                    /* the callback may have destroyed it: look again */
                    f = zpar__idmap_get (c->futures, ids[i]);
                    done += !f || f->result;
                }
        } while (k == 64 && done > 0);
    }
    if (c->ev_cb && (ev = zpar__notify_event_name (n.event)))
        c->ev_cb (c->ev_arg, (zpar_engine_id_t){engine}, ev);
}

static void on_stream (zpar_client_t *c, zpar_msg_t *m)
{
    zpar_proto_stream_t st;
    zpar_error_t err;
    if (!c->out_cb || zpar__proto_stream_decode (m, &st, &err) < 0)
        return;
    c->out_offset = st.has_offset && st.offset <= INT64_MAX ? (int64_t)st.offset : -1;
    c->out_cb (c->out_arg, (zpar_engine_id_t){st.h.engine.v}, (zpar_task_id_t){st.h.task.v},
               (int)st.stream, st.data, st.len);
    c->out_offset = -1;
}

/* Arm the tick for `due` (monotonic us) unless it is due earlier. */
void zpar__client_tick_at (zpar_client_t *c, uint64_t due)
{
    uint64_t now = zpar__mono_us (), ms;
    if (!c->waiting || (zpar__watcher_active (c->tick) && c->tick_due_us <= due))
        return;
    ms = due > now ? (due - now + 999) / 1000 : 0;
    if (ms > TICK_MAX_MS)
        ms = TICK_MAX_MS;
    c->tick_due_us = now + ms * 1000;
    zpar__timer_watcher_reset (c->tick, ms, 0);
}

void zpar__client_remote_again (zpar_client_t *c, zpar_future_t *f, uint64_t now)
{
    uint64_t max = f->resync ? RESYNC_BACKOFF_MAX_US : REMOTE_BACKOFF_MAX_US;
    if (f->backoff_us < REMOTE_BACKOFF_MIN_US)
        f->backoff_us = REMOTE_BACKOFF_MIN_US;
    f->next_poll_us = now + f->backoff_us;
    f->backoff_us *= 2;
    if (f->backoff_us > max)
        f->backoff_us = max;
    zpar__client_tick_at (c, f->next_poll_us);
}

/* The hub's answer about a remote future's task. */
static void on_remote_reply (zpar_client_t *c, zpar_future_t *f, zpar_msg_t *m)
{
    uint64_t now = zpar__mono_us ();
    zpar_proto_query_reply_t qr;
    zpar_error_t perr;
    char ids[32], text[ZPAR_ERROR_TEXT_MAX];

    f->query = 0;
    if (f->result || f->err_no)
        return;
    zpar_task_id_format ((zpar_task_id_t){f->id}, ids, sizeof (ids));
    if (zpar__proto_query_reply_decode (m, &qr, &perr) < 0) {
        snprintf (text, sizeof (text), "the controller's answer about task %s is malformed", ids);
        zpar__client_remote_fail (c, f, EPROTO, text);
        return;
    }
    if (f->resync || f->qkind == ZPAR_QUERY_RESUBMIT)
        zpar__client_resync_reply (c, f, &qr);
    else if (qr.errnum == EAGAIN || qr.errnum == EBUSY)
        zpar__client_remote_again (c, f, now); /* the controller is recovering */
    else if (qr.errnum == ENOENT && now - f->created_us < REMOTE_ENOENT_GRACE_US)
        zpar__client_remote_again (c, f, now);
    else if (qr.errnum == ENOENT) {
        snprintf (text, sizeof (text),
                  "no task %s in this cluster (ids come from 'zpar submit'; a new cluster "
                  "does not know an earlier one's tasks)",
                  ids);
        zpar__client_remote_fail (c, f, ENOENT, text);
    } else if (qr.errnum) {
        snprintf (text, sizeof (text), "the controller says about task %s: %s", ids,
                  qr.error ? qr.error : "error");
        zpar__client_remote_fail (c, f, qr.errnum, text);
    } else if (qr.record) {
        zpar_msg_t *rm = zpar__msg_create (ZPAR_MSG_NONE);
        if (!rm || zpar__msg_unpack (rm, qr.record, qr.record_len, &perr) < 0) {
            zpar__msg_destroy (rm);
            snprintf (text, sizeof (text), "the controller's record of task %s is malformed", ids);
            zpar__client_remote_fail (c, f, EPROTO, text);
        } else
            zpar__client_complete (c, f, zpar__result_from_msg (rm));
    } else
        zpar__client_remote_again (c, f, now); /* pending or running */
    zpar__proto_query_reply_clear (&qr);
}

static void on_query_reply (zpar_client_t *c, zpar_msg_t *m)
{
    zpar_future_t *f;
    if (c->ping_id && m->hdr.task == c->ping_id) {
        c->ping_id = 0;
        return;
    }
    if ((f = zpar__idmap_del (c->queries, m->hdr.task)) && f->query == m->hdr.task)
        on_remote_reply (c, f, m);
}

/* Handle the message in c->in. */
static void dispatch_msg (zpar_client_t *c)
{
    zpar_msg_t *m = c->in;
    if (c->want_type && m->hdr.type == c->want_type &&
        (c->want_task == 0 || m->hdr.task == c->want_task)) {
        zpar_msg_t *got = take_in (c);
        if (got) {
            zpar__msg_destroy (c->got);
            c->got = got;
        }
        c->got_reply = 1;
        return;
    }
    switch (m->hdr.type) {
    case ZPAR_MSG_RESULT:
        on_result (c);
        break;
    case ZPAR_MSG_NOTIFY:
        on_notify (c, m);
        break;
    case ZPAR_MSG_STREAM:
        on_stream (c, m);
        break;
    case ZPAR_MSG_QUERY_REPLY:
        on_query_reply (c, m);
        break;
    case ZPAR_MSG_REGISTER_CLIENT_REPLY:
        zpar__client_on_reregistered (c, m);
        break;
    default:
        break;
    }
}

/* The item types a batch may carry on socket which (each as it would
 * come alone on that socket). */
static int item_allowed (int which, int type)
{
    switch (which) {
    case S_TASK:
    case S_MUX:
        return type == ZPAR_MSG_RESULT || type == ZPAR_MSG_CONTROL_REPLY;
    case S_CTL:
        return type == ZPAR_MSG_CONTROL_REPLY;
    case S_IOPUB:
        return type == ZPAR_MSG_STREAM;
    case S_NOTIFY:
        return type == ZPAR_MSG_NOTIFY;
    default:
        return 0;
    }
}

/* c->in is a batch (checked, like any message, by its signature): handle
 * each item as the same message arriving alone, with the batch's routing
 * frames.  An item that is malformed or of a type this socket does not
 * carry is dropped alone (counted); a batch whose structure is broken is
 * dropped whole.  Returns the number of items handled. */
static int split_batch (zpar_client_t *c, int which)
{
    zpar_batch_iter_t it;
    zpar_msg_t *b = c->in;
    zpar_hdr_t h;
    zpar_error_t err;
    const void *body;
    size_t blen;
    int rc, n = 0;

    if (!c->spare && !(c->spare = zpar__msg_create (ZPAR_MSG_NONE)))
        return 0; /* out of memory: dropped */
    /* the batch moves aside; each item is decoded into c->in in turn */
    c->in = c->spare;
    c->spare = b;
    if (zpar__batch_iter_msg (&it, b, &err) < 0) {
        c->items_dropped++;
        return 0;
    }
    while ((rc = zpar__batch_next (&it, &h, &body, &blen, &err)) != 0) {
        if (rc < 0 || !item_allowed (which, h.type) ||
            zpar__batch_item_msg (&h, body, blen, c->in, &err) < 0) {
            c->items_dropped++;
            continue;
        }
        zpar__msg_set_envelope (c->in, b->nenv, b->env);
        n++;
        dispatch_msg (c);
    }
    return n;
}

static void on_socket (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_client_t *c = arg;
    void *sock = NULL;
    zpar_chan_t chan = ZPAR_CHAN_ANY;
    int which = -1;
    (void)r;
    (void)revents;
    for (int i = 0; i < S_COUNT; i++)
        if (c->w[i] == w) {
            sock = c->sock[i];
            chan = zpar__client_chan (i);
            which = i;
        }
    if (!sock)
        return;
    c->depth++;
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_error_t err;
        if (zpar__wire_recv_chan (sock, c->signer, chan, c->in, ZMQ_DONTWAIT, &err) < 0) {
            if (errno == EAGAIN)
                break;
            continue; /* dropped (forged, malformed, replayed) */
        }
        c->heard_us = zpar__mono_us ();
        c->ping_failures = 0;
        c->lost = 0; /* it answers again */
        c->lost_since_us = 0;
        if (which == S_REG) {
            c->hub_heard_us = c->heard_us;
            zpar__client_hub_session (c, c->in->hdr.session);
        } else if (which == S_NOTIFY && c->in->hdr.session != c->hub_session)
            ping_now (c); /* a restarted hub?  its reply will tell */
        if (c->in->hdr.type == ZPAR_MSG_BATCH) {
            c->handled += split_batch (c, which);
            continue;
        }
        c->handled++;
        dispatch_msg (c);
    }
    c->depth--;
}

/* ------------------------------------------------------------- requests */

int zpar__client_query_send (zpar_client_t *c, zpar_query_kind_t kind, uint64_t task, uint64_t corr)
{
    zpar_proto_query_t q = {0};
    zpar_msg_t *req = zpar__msg_create (ZPAR_MSG_QUERY);
    int rc;
    if (!req)
        return -1;
    q.h.client = zpar__cid (c->num);
    q.h.task = zpar__tid (corr);
    q.kind = kind;
    q.task = zpar__tid (task);
    rc = zpar__proto_query_encode (req, &q);
    if (rc == 0)
        rc = zpar__wire_send_chan (c->sock[S_REG], c->signer, ZPAR_CHAN_REGISTRAR, req,
                                   ZMQ_DONTWAIT);
    zpar__msg_destroy (req);
    return rc;
}

/* ------------------------------------------------------------- the tick */

/* Send a ping unless one is in flight. */
static void ping_now (zpar_client_t *c)
{
    if (c->ping_id)
        return;
    c->ping_id = zpar__client_next_id (c);
    c->ping_sent_us = zpar__mono_us ();
    if (zpar__client_query_send (c, ZPAR_QUERY_STATUS, 0, c->ping_id) < 0)
        c->ping_id = 0; /* could not even queue it: try again at the next tick */
}

static uint64_t ping_period_us (const zpar_client_t *c)
{
    return (uint64_t)(c->ping_period * 1e6);
}

static uint64_t timeout_us (const zpar_client_t *c)
{
    return (uint64_t)(c->connect_timeout * 1e6);
}

/* Controller liveness: ask a hub silent for ping_period (its answer also
 * carries its session: a restarted controller is found this way even
 * while results flow); two questions without an answer for
 * connect_timeout each mean it is lost.  A lost controller is asked again
 * every connect_timeout (the sockets reconnect by themselves: a
 * controller restarted on the same ports answers).  Returns when to look
 * again (monotonic us). */
static uint64_t tick_ping (zpar_client_t *c, uint64_t now)
{
    if (c->ping_period <= 0)
        return UINT64_MAX;
    if (c->ping_id == 0) {
        if (!c->lost && now - c->hub_heard_us < ping_period_us (c))
            return c->hub_heard_us + ping_period_us (c);
    } else if (now - c->ping_sent_us < timeout_us (c)) {
        return c->ping_sent_us + timeout_us (c);
    } else if (!c->lost && ++c->ping_failures >= 2) {
        c->lost = 1;
        c->lost_since_us = now;
    }
    if (c->lost)
        zpar__client_conn_recheck (c);
    c->ping_id = 0;
    ping_now (c);
    return now + (c->ping_id ? timeout_us (c) : 100000);
}

/* Remote futures: ask the hub about those due.  Returns the next due time. */
static uint64_t tick_remote (zpar_client_t *c, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    size_t pos = 0;
    zpar_future_t *f;
    if (!c->nremote || c->lost)
        return next; /* a lost controller is only pinged */
    while ((f = zpar__idmap_next (c->futures, &pos, NULL))) {
        if (!f->remote || f->result || f->err_no || f->doubt || f->no_poll)
            continue;
        if (f->query && now - f->query_sent_us >= timeout_us (c)) {
            /* unanswered (lost with a controller that died): ask again */
            zpar__idmap_del (c->queries, f->query);
            f->query = 0;
            f->next_poll_us = now;
        }
        if (f->query)
            continue;
        if (f->next_poll_us <= now) {
            uint64_t corr = zpar__client_next_id (c);
            if (zpar__idmap_put (c->queries, corr, f) < 0)
                continue;
            if (zpar__client_query_send (c, ZPAR_QUERY_RESULT, f->id, corr) < 0) {
                zpar__idmap_del (c->queries, corr);
                f->next_poll_us = now + REMOTE_BACKOFF_MAX_US;
            } else {
                f->query = corr;
                f->qkind = ZPAR_QUERY_RESULT;
                f->query_sent_us = now;
            }
        }
        if (!f->query && f->next_poll_us < next)
            next = f->next_poll_us;
    }
    return next;
}

static void on_tick (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_client_t *c = arg;
    uint64_t now = zpar__mono_us (), next, t;
    (void)r;
    (void)revents;
    if (!c->waiting)
        return;
    next = tick_ping (c, now);
    if ((t = tick_remote (c, now)) < next)
        next = t;
    if ((t = zpar__client_resync_tick (c, now)) < next)
        next = t;
    if ((t = zpar__client_doubt_tick (c, now)) < next)
        next = t;
    if (next == UINT64_MAX)
        next = now + (uint64_t)TICK_MAX_MS * 1000;
    t = next > now ? (next - now + 999) / 1000 : 0;
    if (t > TICK_MAX_MS)
        t = TICK_MAX_MS;
    c->tick_due_us = now + t * 1000;
    zpar__timer_watcher_reset (w, t, 0);
}

/* ------------------------------------------------------------- the loop */

int zpar__client_loop_init (zpar_client_t *c)
{
    for (int i = 0; i < S_COUNT; i++) {
        if (!c->sock[i] || c->w[i])
            continue;
        if (!(c->w[i] = zpar__zmq_watcher_create (c->r, c->sock[i], ZPAR_EV_IN, on_socket, c)))
            return -1;
        if (i != S_CTL && i != S_MUX && (i != S_IOPUB || c->out_cb))
            zpar__watcher_start (c->w[i]);
    }
    if (!c->tick && !(c->tick = zpar__timer_watcher_create (c->r, 0, 0, on_tick, c)))
        return -1;
    return 0;
}

void zpar__client_watch (zpar_client_t *c, int which, int on, int drop)
{
    if (which < 0 || which >= S_COUNT || !c->w[which])
        return;
    if (on) {
        zpar__watcher_start (c->w[which]);
        return;
    }
    zpar__watcher_stop (c->w[which]);
    if (drop && c->sock[which]) {
        zmq_msg_t m;
        zmq_msg_init (&m);
        while (zmq_msg_recv (&m, c->sock[which], ZMQ_DONTWAIT) >= 0)
            ;
        zmq_msg_close (&m);
    }
}

int zpar__client_pump (zpar_client_t *c, long timeout_ms)
{
    if (c->depth > 0) {
        errno = EDEADLK;
        return -1;
    }
    /* the submits made since the last pump go before we look for results
     * (a failed send keeps them pending for the next pump), with those
     * the window holds as far as results made room */
    zpar__client_window_release (c, 0);
    (void)zpar__client_flush (c);
    c->handled = 0;
    c->interrupted = 0;
    errno = 0;
    if (zpar__reactor_run_once (c->r, timeout_ms) < 0) {
        if (errno != EINTR)
            return -1;
        c->interrupted = 1;
    } else if (errno == EINTR)
        c->interrupted = 1; /* the reactor swallows EINTR: a signal handler ran */
    return c->handled;
}

int zpar__client_wait_begin (zpar_client_t *c, zpar_error_t *err)
{
    if (c->depth > 0)
        return zpar__errnoprintf (err, EDEADLK,
                                  "a waiting zpar call was made from inside a callback of the "
                                  "same client");
    if (c->waiting++ == 0) {
        uint64_t now = zpar__mono_us (), due = UINT64_MAX;
        /* the clock of the question in flight runs only while we wait:
         * between waits its answer may sit unread, so the time outside a
         * wait does not count against it (a caller polling in short steps
         * still sees a silent controller as lost) */
        if (c->ping_id && c->wait_end_us && now > c->wait_end_us)
            c->ping_sent_us += now - c->wait_end_us;
        /* arm the tick for the first thing it has to do (not at once: a
         * quick wait should cost no extra wake-up) */
        if (c->nremote || c->rereg_us || c->ndoubt)
            due = now;
        else if (c->ping_period > 0 && c->ping_id)
            due = c->ping_sent_us + timeout_us (c);
        else if (c->ping_period > 0)
            due = c->hub_heard_us + ping_period_us (c);
        if (due != UINT64_MAX) {
            uint64_t ms = due > now ? (due - now + 999) / 1000 : 0;
            if (ms > TICK_MAX_MS)
                ms = TICK_MAX_MS;
            c->tick_due_us = now + ms * 1000;
            zpar__timer_watcher_reset (c->tick, ms, 0);
        }
    }
    return 0;
}

int zpar__client_wait_step (zpar_client_t *c, long timeout_ms, zpar_error_t *err)
{
    int n = zpar__client_pump (c, timeout_ms);
    if (n < 0)
        return zpar__errprintf (err, "poll failed: %s", zmq_strerror (errno));
    if (zpar__client_wait_check (c, err) < 0)
        return -1;
    return n;
}

static int lost_error (zpar_client_t *c, zpar_error_t *err, const char *when)
{
    double secs = (double)(zpar__mono_us () - c->lost_since_us) / 1e6;
    /* the next wait tries again from the start */
    c->lost = 0;
    c->lost_since_us = 0;
    c->ping_failures = 0;
    return zpar__errnoprintf (err, EHOSTDOWN,
                              "lost the controller (%s): no answer for %.0f s (%s); results are "
                              "kept by the controller: fetch them later with 'zpar wait ID' / "
                              "'zpar result ID'",
                              c->ci.addr[ZPAR_EP_REGISTRAR], 2 * c->connect_timeout + secs, when);
}

int zpar__client_wait_check (zpar_client_t *c, zpar_error_t *err)
{
    char when[96];
    if (!c->lost)
        return 0;
    if (c->reconnect_timeout > 0 &&
        zpar__mono_us () - c->lost_since_us < (uint64_t)(c->reconnect_timeout * 1e6))
        return 0; /* keep trying: a restarted controller answers on the same ports */
    snprintf (when, sizeof (when), "waited %g s more for it to come back", c->reconnect_timeout);
    return lost_error (c, err, c->reconnect_timeout > 0 ? when : "not waited for");
}

int zpar__client_wait_lost (zpar_client_t *c, zpar_error_t *err)
{
    if (!c->lost)
        return 0;
    return lost_error (c, err, "still trying when this wait ended");
}

void zpar__client_wait_end (zpar_client_t *c)
{
    if (c->waiting > 0 && --c->waiting == 0) {
        zpar__watcher_stop (c->tick);
        c->wait_end_us = zpar__mono_us ();
    }
}

static zpar_msg_t *call_wait (zpar_client_t *c, int which, zpar_msg_t *req, int rtype,
                              double timeout, uint64_t deadline, zpar_error_t *err)
{
    zpar_msg_t *r;

    c->want_type = rtype;
    c->want_task = req->hdr.task;
    c->got_reply = 0;
    zpar__msg_destroy (c->got);
    c->got = NULL;
    if (zpar__wire_send_chan (c->sock[which], c->signer, zpar__client_chan (which), req, 0) < 0) {
        int e = errno;
        c->want_type = 0;
        zpar__errnoprintf (err, e, "cannot send to the controller: %s", zmq_strerror (e));
        return NULL;
    }
    while (!c->got_reply) {
        long left = zpar__client_left_ms (deadline);
        if (left <= 0) {
            c->want_type = 0;
            zpar__errnoprintf (err, EHOSTUNREACH,
                               "the controller did not answer within %g s (is it running? %s)",
                               timeout, c->ci.addr[ZPAR_EP_REGISTRAR]);
            return NULL;
        }
        if (zpar__client_pump (c, left) < 0) {
            int e = errno;
            c->want_type = 0;
            zpar__errnoprintf (err, e, "poll failed: %s", zmq_strerror (e));
            return NULL;
        }
    }
    c->want_type = 0;
    r = c->got;
    c->got = NULL;
    if (!r)
        zpar__errnoprintf (err, ENOMEM, "lost the controller's reply (out of memory)");
    return r;
}

zpar_msg_t *zpar__client_call (zpar_client_t *c, int which, zpar_msg_t *req, int rtype,
                               double timeout, zpar_error_t *err)
{
    uint64_t deadline = zpar__mono_us () + (uint64_t)(timeout * 1e6);
    zpar_msg_t *r;

    if (c->depth > 0) {
        zpar__errnoprintf (err, EDEADLK,
                           "a waiting zpar call was made from inside a callback of the same "
                           "client");
        return NULL;
    }
    /* pending submits first: the request may name them (abort, sync) */
    zpar__client_window_release (c, 0);
    (void)zpar__client_flush (c);
    if (which == S_CTL)
        zpar__client_watch (c, S_CTL, 1, 0); /* for this call only */
    r = call_wait (c, which, req, rtype, timeout, deadline, err);
    /* a late reply waits in the socket; the next call drops it */
    if (which == S_CTL)
        zpar__client_watch (c, S_CTL, 0, 0);
    return r;
}
