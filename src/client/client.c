/* client.c - submission, futures, waits, hub queries and control. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "client.h"
#include "clock.h"
#include "error.h"
#include "proto_control.h"

/* -------------------------------------------------------------- submit */

/* The routing identity of engine e on the MUX and control relays. */
static int push_engine_ident (zpar_msg_t *m, uint32_t engine)
{
    char ident[16];
    int n = snprintf (ident, sizeof (ident), "e%u", engine);
    return zpar__msg_push_ident (m, ident, (size_t)n);
}

static zpar_future_t *submit_request (zpar_client_t *c, uint32_t engine,
                                      const zpar_proto_task_t *req, zpar_error_t *err)
{
    zpar_future_t *f;
    zpar_proto_task_t p = *req;
    zpar_msg_t *m = c->out;
    int which = engine ? S_MUX : S_TASK, rc;

    if (!(f = calloc (1, sizeof (*f)))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    f->c = c;
    f->id = zpar__client_next_id (c);
    f->engine = engine;
    memset (&p.h, 0, sizeof (p.h));
    p.h.task = zpar__tid (f->id);
    p.h.client = zpar__cid (c->num);
    p.h.engine = zpar__eid (engine);
    f->created_us = zpar__mono_us ();
    m->nenv = 0;
    /* the request is kept (packed) until the result arrives: a restarted
     * controller that does not know the task gets it again (resync.c) */
    if (zpar__proto_task_encode (m, &p) < 0 || zpar__msg_pack (m, &f->req, &f->req_len) < 0 ||
        (engine && push_engine_ident (m, engine) < 0)) {
        int e = errno;
        free (f->req);
        free (f);
        zpar__errnoprintf (err, e, "cannot encode the task: %s", strerror (e));
        return NULL;
    }
    if (zpar__idmap_put (c->futures, f->id, f) < 0) {
        free (f->req);
        free (f);
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    if (engine)
        zpar__client_watch (c, S_MUX, 1, 0); /* its result comes there (loop.c) */
    if (!engine && zpar__client_window_hold (c, f, &p))
        rc = 0; /* the window is full: it goes when results make room (window.c) */
    else if (!engine && c->pend)
        rc = zpar__client_pend (c, f, m); /* goes with the next batch (pack.c) */
    else
        rc = zpar__wire_send_chan (c->sock[which], c->signer, zpar__client_chan (which), m, 0);
    m->nenv = 0;
    if (rc == 0 && !engine && !f->held)
        zpar__client_window_sent (c, f, &p);
    if (rc < 0) {
        int e = errno;
        zpar__idmap_del (c->futures, f->id);
        free (f->req);
        free (f);
        zpar__errnoprintf (err, e, "cannot send the task: %s", zmq_strerror (e));
        return NULL;
    }
    c->outstanding++;
    return f;
}

static zpar_future_t *submit (zpar_client_t *c, uint32_t engine, const zpar_task_t *t,
                              zpar_error_t *err)
{
    if (!c || !t) {
        errno = EINVAL;
        zpar__errprintf (err, "no client or no task");
        return NULL;
    }
    return submit_request (c, engine, &t->p, err);
}

ZPAR_API zpar_future_t *zpar_submit (zpar_client_t *c, const zpar_task_t *t, zpar_error_t *err)
{
    return submit (c, 0, t, err);
}

ZPAR_API zpar_future_t *zpar_submit_to (zpar_client_t *c, zpar_engine_id_t e, const zpar_task_t *t,
                                        zpar_error_t *err)
{
    if (e.id == 0) {
        errno = EINVAL;
        zpar__errprintf (err, "engine ids start at 1");
        return NULL;
    }
    return submit (c, e.id, t, err);
}

ZPAR_API zpar_task_id_t zpar_future_id (const zpar_future_t *f)
{
    return (zpar_task_id_t){f ? f->id : 0};
}

ZPAR_API zpar_task_id_t zpar_client_next_task_id (const zpar_client_t *c, unsigned n)
{
    /* as zpar__client_next_id numbers them: one per submission */
    if (!c || n == 0)
        return (zpar_task_id_t){0};
    return (zpar_task_id_t){((uint64_t)c->num << 32) | ((c->seq + n) & 0xffffffffu)};
}

ZPAR_API int zpar_future_done (const zpar_future_t *f)
{
    return f && (f->result || f->err_no) ? 1 : 0;
}

/* A wait's deadline (monotonic us; 0: none). */
static uint64_t deadline_of (double timeout)
{
    return timeout < 0 ? 0 : zpar__mono_us () + (uint64_t)(timeout * 1e6);
}

ZPAR_API int zpar_future_wait (zpar_future_t *f, double timeout, zpar_error_t *err)
{
    uint64_t deadline = deadline_of (timeout);
    zpar_client_t *c;
    int rc = 0;
    if (!f) {
        errno = EINVAL;
        return zpar__errprintf (err, "no future");
    }
    if (f->result)
        return 0;
    if (f->err_no)
        return zpar__errnoprintf (err, f->err_no, "%s", f->err_text);
    if (!(c = f->c))
        return zpar__errnoprintf (err, ENOTCONN, "the client of this task was destroyed");
    if (zpar__client_wait_begin (c, err) < 0)
        return -1;
    while (!f->result && !f->err_no) {
        long left = zpar__client_left_ms (deadline);
        if (left == 0) {
            char ids[32];
            zpar_task_id_format ((zpar_task_id_t){f->id}, ids, sizeof (ids));
            /* a wait with time to wait says the controller is lost; a mere
             * look (timeout 0) says only that the task is not done */
            if (timeout == 0 || (rc = zpar__client_wait_lost (c, err)) == 0)
                rc = zpar__errnoprintf (err, ETIMEDOUT, "task %s did not finish within %.1f s", ids,
                                        timeout);
            break;
        }
        if ((rc = zpar__client_wait_step (c, left, err)) < 0)
            break;
        rc = 0;
    }
    zpar__client_wait_end (c);
    if (rc == 0 && f->err_no)
        rc = zpar__errnoprintf (err, f->err_no, "%s", f->err_text);
    return rc;
}

ZPAR_API const zpar_result_t *zpar_future_result (const zpar_future_t *f)
{
    return f ? f->result : NULL;
}

ZPAR_API void zpar_future_destroy (zpar_future_t *f)
{
    if (f) {
        int saved = errno;
        zpar_client_t *c = f->c;
        if (c) {
            zpar__client_window_forget (c, f);
            zpar__client_window_done (c, f);
            zpar__client_pend_forget (c, f);
            zpar__client_done_forget (c, f);
            zpar__idmap_del (c->futures, f->id);
            if (f->query)
                zpar__idmap_del (c->queries, f->query);
            if (!f->result && !f->err_no) {
                if (c->outstanding)
                    c->outstanding--;
                if (f->remote && c->nremote)
                    c->nremote--;
            }
        }
        if (f->doubt && c && c->ndoubt)
            c->ndoubt--;
        zpar_result_destroy (f->doubt);
        zpar_result_destroy (f->result);
        free (f->req);
        free (f);
        errno = saved;
    }
}

ZPAR_API zpar_future_t *zpar_client_future_for (zpar_client_t *c, zpar_task_id_t id,
                                                zpar_error_t *err)
{
    zpar_future_t *f;
    char ids[32];
    if (!c || id.id == 0) {
        errno = EINVAL;
        zpar__errprintf (err, "no client or no task id");
        return NULL;
    }
    zpar_task_id_format (id, ids, sizeof (ids));
    if (zpar__idmap_get (c->futures, id.id)) {
        zpar__errnoprintf (err, EEXIST, "this client already has a future for task %s", ids);
        return NULL;
    }
    if (!(f = calloc (1, sizeof (*f)))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    f->c = c;
    f->id = id.id;
    f->remote = 1;
    f->created_us = f->next_poll_us = zpar__mono_us ();
    f->backoff_us = 5000;
    if (zpar__idmap_put (c->futures, f->id, f) < 0) {
        free (f);
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    c->outstanding++;
    c->nremote++;
    return f;
}

ZPAR_API int zpar_client_wait_all (zpar_client_t *c, double timeout, zpar_error_t *err)
{
    uint64_t deadline = deadline_of (timeout);
    int rc = 0;
    if (!c) {
        errno = EINVAL;
        return zpar__errprintf (err, "no client");
    }
    if (!c->outstanding)
        return 0;
    if (zpar__client_wait_begin (c, err) < 0)
        return -1;
    while (c->outstanding) {
        long left = zpar__client_left_ms (deadline);
        if (left == 0) {
            if (timeout == 0 || (rc = zpar__client_wait_lost (c, err)) == 0)
                rc = zpar__errnoprintf (err, ETIMEDOUT, "%zu tasks did not finish within %.1f s",
                                        c->outstanding, timeout);
            break;
        }
        if ((rc = zpar__client_wait_step (c, left, err)) < 0)
            break;
        rc = 0;
    }
    zpar__client_wait_end (c);
    return rc;
}

ZPAR_API int zpar_client_poll (zpar_client_t *c, double timeout, zpar_error_t *err)
{
    uint64_t deadline = deadline_of (timeout);
    int n = 0;
    if (!c) {
        errno = EINVAL;
        return zpar__errprintf (err, "no client");
    }
    if (zpar__client_wait_begin (c, err) < 0)
        return -1;
    do {
        /* the tick may wake us with nothing handled: go on until an event
         * arrives or the time is up */
        n = zpar__client_wait_step (c, timeout == 0 ? 0 : zpar__client_left_ms (deadline), err);
        if (n < 0)
            break;
    } while (n == 0 && timeout != 0 && !c->interrupted && zpar__client_left_ms (deadline) != 0);
    zpar__client_wait_end (c);
    return n;
}

ZPAR_API size_t zpar_client_outstanding (const zpar_client_t *c)
{
    return c ? c->outstanding : 0;
}

/* ------------------------------------------------------------- queries */

/* Ask the hub; on success *qr holds the reply decoded from *repm (its
 * record bytes point into *repm: free both with query_done). */
static int query (zpar_client_t *c, zpar_query_kind_t kind, uint64_t id, zpar_msg_t **repm,
                  zpar_proto_query_reply_t *qr, zpar_error_t *err)
{
    zpar_proto_query_t q = {0};
    zpar_msg_t *req, *rep;
    zpar_error_t perr;
    char ids[32];

    *repm = NULL;
    memset (qr, 0, sizeof (*qr));
    if (!c) {
        errno = EINVAL;
        return zpar__errprintf (err, "no client");
    }
    if (!(req = zpar__msg_create (ZPAR_MSG_QUERY)))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    q.h.task = zpar__tid (zpar__client_next_id (c)); /* correlates the reply */
    q.h.client = zpar__cid (c->num);
    q.kind = kind;
    q.task = zpar__tid (id);
    if (zpar__proto_query_encode (req, &q) < 0) {
        int e = errno;
        zpar__msg_destroy (req);
        return zpar__errnoprintf (err, e, "cannot encode the query: %s", strerror (e));
    }
    rep = zpar__client_call (c, S_REG, req, ZPAR_MSG_QUERY_REPLY, c->connect_timeout, err);
    zpar__msg_destroy (req);
    if (!rep)
        return -1;
    if (zpar__proto_query_reply_decode (rep, qr, &perr) < 0) {
        zpar__msg_destroy (rep);
        return zpar__errnoprintf (err, EPROTO, "the controller's reply is malformed: %s",
                                  perr.text);
    }
    if (qr->errnum) {
        int e = qr->errnum;
        zpar_task_id_format ((zpar_task_id_t){id}, ids, sizeof (ids));
        if (e == ENOENT)
            zpar__errnoprintf (err, e, "no task %s in this cluster", ids);
        else
            zpar__errnoprintf (err, e, "the controller says: %s", qr->error ? qr->error : "error");
        zpar__proto_query_reply_clear (qr);
        zpar__msg_destroy (rep);
        errno = e;
        return -1;
    }
    *repm = rep;
    return 0;
}

static void query_done (zpar_msg_t *rep, zpar_proto_query_reply_t *qr)
{
    zpar__proto_query_reply_clear (qr);
    zpar__msg_destroy (rep);
}

ZPAR_API int zpar_client_engines (zpar_client_t *c, zpar_engine_info_t **list, size_t *n,
                                  zpar_error_t *err)
{
    zpar_proto_query_reply_t qr;
    zpar_msg_t *rep;
    zpar_engine_info_t *out;
    if (!list || !n) {
        errno = EINVAL;
        return zpar__errprintf (err, "no output list");
    }
    if (query (c, ZPAR_QUERY_ENGINES, 0, &rep, &qr, err) < 0)
        return -1;
    if (!(out = calloc (qr.nengines ? qr.nengines : 1, sizeof (*out)))) {
        query_done (rep, &qr);
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < qr.nengines; i++) {
        const zpar_proto_engine_info_t *e = &qr.engines[i];
        const char *state = zpar__engine_state_name (e->state);
        out[i].id.id = e->id.v;
        out[i].pid = (int)e->pid;
        out[i].rank = e->rank;
        out[i].outstanding = (unsigned)e->outstanding;
        snprintf (out[i].host, sizeof (out[i].host), "%s", e->host ? e->host : "");
        snprintf (out[i].state, sizeof (out[i].state), "%s", state ? state : "");
    }
    *list = out;
    *n = qr.nengines;
    query_done (rep, &qr);
    return 0;
}

ZPAR_API int zpar_client_queue_status (zpar_client_t *c, zpar_queue_status_t *st, zpar_error_t *err)
{
    zpar_proto_query_reply_t qr;
    zpar_msg_t *rep;
    if (query (c, ZPAR_QUERY_STATUS, 0, &rep, &qr, err) < 0)
        return -1;
    if (st) {
        st->pending = qr.pending;
        st->running = qr.running;
        st->completed = qr.completed;
        st->failed = qr.failed;
        st->dropped = qr.dropped;
        st->duplicates = qr.duplicates;
        st->records_unsaved_since_us = qr.records_since_us;
        st->records_unsaved = qr.records_since_us ? qr.records_unsaved : 0;
        st->records_unsaved_bytes = qr.records_since_us ? qr.records_bytes : 0;
        st->records_limit_bytes = qr.records_since_us ? qr.records_limit : 0;
        st->records_refusing = qr.records_since_us && qr.records_refusing;
        snprintf (st->records_error, sizeof (st->records_error), "%s",
                  qr.records_since_us && qr.records_error ? qr.records_error : "");
    }
    query_done (rep, &qr);
    return 0;
}

static int count_alive (zpar_client_t *c, zpar_error_t *err)
{
    zpar_engine_info_t *list = NULL;
    size_t n = 0, alive = 0;
    if (zpar_client_engines (c, &list, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp (list[i].state, "dead") != 0)
            alive++;
    free (list);
    return alive > INT32_MAX ? INT32_MAX : (int)alive;
}

ZPAR_API int zpar_client_engines_alive (zpar_client_t *c, zpar_error_t *err)
{
    if (!c) {
        errno = EINVAL;
        return zpar__errprintf (err, "no client");
    }
    return count_alive (c, err);
}

/* How often wait_engines asks the hub when no notification wakes it. */
#define WAIT_ENGINES_POLL_MS 10

ZPAR_API int zpar_client_wait_engines (zpar_client_t *c, unsigned n, double timeout,
                                       zpar_error_t *err)
{
    uint64_t deadline = deadline_of (timeout);
    int alive = -1;
    if (!c || n > INT32_MAX) {
        errno = EINVAL;
        return zpar__errprintf (err, c ? "too many engines" : "no client");
    }
    if (zpar__client_wait_begin (c, err) < 0)
        return -1;
    for (;;) {
        long left, wait;
        if ((alive = count_alive (c, err)) >= (int)n)
            break;
        if (alive < 0 && errno != EHOSTUNREACH)
            break;
        /* no answer: the controller may be restarting; ask again while the
         * wait lasts (a lost one ends it with EHOSTDOWN) */
        if ((left = zpar__client_left_ms (deadline)) == 0) {
            if (alive < 0)
                break; /* err says the controller did not answer */
            alive = zpar__errnoprintf (
                err, ETIMEDOUT, "only %d of %u engines registered within %g s", alive, n, timeout);
            break;
        }
        /* an engine event (registered, died) wakes us early */
        wait = left < 0 || left > WAIT_ENGINES_POLL_MS ? WAIT_ENGINES_POLL_MS : left;
        if ((alive = zpar__client_wait_step (c, wait, err)) < 0)
            break;
    }
    zpar__client_wait_end (c);
    return alive;
}

#define FETCH_ENOENT_GRACE_US 1000000ULL
#define FETCH_ENOENT_RETRY_MS 20

ZPAR_API zpar_result_t *zpar_client_fetch_result (zpar_client_t *c, zpar_task_id_t id,
                                                  zpar_error_t *err)
{
    zpar_proto_query_reply_t qr;
    zpar_msg_t *rep, *rm;
    zpar_error_t perr;
    if (id.id == 0) {
        errno = EINVAL;
        zpar__errprintf (err, "no task id");
        return NULL;
    }
    {
        /* the hub learns of a task a moment after its submission (through
         * the scheduler): give an unknown id a second to appear */
        uint64_t until = zpar__mono_us () + FETCH_ENOENT_GRACE_US;
        while (query (c, ZPAR_QUERY_RESULT, id.id, &rep, &qr, err) < 0) {
            if (errno != ENOENT || zpar__mono_us () >= until)
                return NULL;
            if (zpar__client_pump (c, FETCH_ENOENT_RETRY_MS) < 0) {
                zpar__errprintf (err, "poll failed: %s", zmq_strerror (errno));
                return NULL;
            }
        }
    }
    if (!qr.record) {
        query_done (rep, &qr);
        return zpar__result_make (id.id, 0, ZPAR_STATUS_PENDING, NULL);
    }
    if (!(rm = zpar__msg_create (ZPAR_MSG_NONE)) ||
        zpar__msg_unpack (rm, qr.record, qr.record_len, &perr) < 0) {
        zpar__msg_destroy (rm);
        query_done (rep, &qr);
        zpar__errnoprintf (err, EPROTO, "the controller's record of the task is malformed");
        return NULL;
    }
    query_done (rep, &qr);
    return zpar__result_from_msg (rm);
}

ZPAR_API zpar_future_t *zpar_client_resubmit (zpar_client_t *c, zpar_task_id_t id,
                                              zpar_error_t *err)
{
    zpar_proto_query_reply_t qr;
    zpar_proto_task_t t = {0};
    zpar_msg_t *rep, *rm = NULL;
    zpar_error_t perr;
    zpar_future_t *f = NULL;

    if (query (c, ZPAR_QUERY_REQUEST, id.id, &rep, &qr, err) < 0)
        return NULL;
    if (!qr.record || !(rm = zpar__msg_create (ZPAR_MSG_NONE)) ||
        zpar__msg_unpack (rm, qr.record, qr.record_len, &perr) < 0 ||
        zpar__proto_task_decode (rm, &t, &perr) < 0) {
        errno = ENOENT;
        zpar__errprintf (err, "the request of that task is not recorded");
    } else
        f = submit_request (c, 0, &t, err);
    zpar__proto_task_clear (&t);
    zpar__msg_destroy (rm);
    query_done (rep, &qr);
    return f;
}

ZPAR_API int zpar_client_purge (zpar_client_t *c, zpar_task_id_t id, zpar_error_t *err)
{
    zpar_proto_query_reply_t qr;
    zpar_msg_t *rep;
    if (query (c, ZPAR_QUERY_PURGE, id.id, &rep, &qr, err) < 0)
        return -1;
    query_done (rep, &qr);
    return 0;
}

ZPAR_API int zpar_client_shutdown (zpar_client_t *c, zpar_error_t *err)
{
    zpar_proto_query_reply_t qr;
    zpar_msg_t *rep;
    if (query (c, ZPAR_QUERY_SHUTDOWN, 0, &rep, &qr, err) < 0)
        return -1;
    query_done (rep, &qr);
    return 0;
}

/* Send a control request (to the task scheduler, or an engine through the
 * control relay) and decode its reply into *r.  0 / -1. */
static int control_req (zpar_client_t *c, int which, uint32_t engine, zpar_control_op_t op,
                        uint64_t task, uint64_t only_task, zpar_proto_control_reply_t *r,
                        zpar_error_t *err)
{
    zpar_proto_control_t q = {.only_task = only_task};
    zpar_msg_t *req = zpar__msg_create ((zpar_msg_type_t)op), *rep;
    zpar_error_t perr;
    memset (r, 0, sizeof (*r));
    if (!req)
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    q.h.task = zpar__tid (task ? task : zpar__client_next_id (c));
    q.h.client = zpar__cid (c->num);
    q.h.engine = zpar__eid (engine);
    q.op = op;
    if (zpar__proto_control_encode (req, &q) < 0 ||
        (engine && push_engine_ident (req, engine) < 0)) {
        int e = errno;
        zpar__msg_destroy (req);
        return zpar__errnoprintf (err, e, "cannot encode the request: %s", strerror (e));
    }
    rep = zpar__client_call (c, which, req, ZPAR_MSG_CONTROL_REPLY, c->connect_timeout, err);
    zpar__msg_destroy (req);
    if (!rep)
        return -1;
    if (zpar__proto_control_reply_decode (rep, r, &perr) < 0) {
        zpar__msg_destroy (rep);
        return zpar__errnoprintf (err, EPROTO, "the controller's reply is malformed: %s",
                                  perr.text);
    }
    zpar__msg_destroy (rep);
    if (r->errnum) {
        int e = r->errnum;
        zpar__errnoprintf (err, e, "%s", r->error ? r->error : "error");
        zpar__proto_control_reply_clear (r);
        errno = e;
        return -1;
    }
    return 0;
}

static int control (zpar_client_t *c, int which, uint32_t engine, zpar_control_op_t op,
                    uint64_t task, zpar_proto_control_reply_t *r, zpar_error_t *err)
{
    return control_req (c, which, engine, op, task, 0, r, err);
}

/* INTERRUPT of one task only, on its engine (zpar_client_stop). */
static int control_only (zpar_client_t *c, uint32_t engine, uint64_t task,
                         zpar_proto_control_reply_t *r, zpar_error_t *err)
{
    return control_req (c, S_CTL, engine, ZPAR_CONTROL_INTERRUPT, task, task, r, err);
}

/* Take the task back if it is still queued (the controller's queue, or
 * its engine's).  1 taken back, 0 not (*engine: the engine it went to,
 * when known), -1 with err. */
static int take_back (zpar_client_t *c, zpar_task_id_t id, uint32_t *engine, zpar_error_t *err)
{
    zpar_proto_control_reply_t r;
    uint64_t n;
    zpar_future_t *f;
    *engine = 0;
    if (!c || id.id == 0) {
        errno = EINVAL;
        return zpar__errprintf (err, "no client or no task id");
    }
    f = zpar__idmap_get (c->futures, id.id);
    if (f && zpar__client_window_abort (c, f))
        return 1; /* it waited in the window: never sent, answered here */
    if (f && f->engine)
        *engine = f->engine;
    else {
        if (control (c, S_TASK, 0, ZPAR_CONTROL_ABORT, id.id, &r, err) < 0)
            return -1;
        *engine = r.engine.v;
        n = r.count;
        zpar__proto_control_reply_clear (&r);
        if (n)
            return 1;
    }
    if (*engine) {
        if (control (c, S_CTL, *engine, ZPAR_CONTROL_ABORT, id.id, &r, err) < 0)
            return -1;
        n = r.count;
        zpar__proto_control_reply_clear (&r);
        if (n)
            return 1;
    }
    return 0;
}

ZPAR_API int zpar_client_abort (zpar_client_t *c, zpar_task_id_t id, zpar_error_t *err)
{
    uint32_t engine;
    int rc = take_back (c, id, &engine, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    return zpar__errnoprintf (err, ESRCH,
                              "the task is not queued (it is running or finished): "
                              "interrupt its engine instead");
}

ZPAR_API int zpar_client_stop (zpar_client_t *c, zpar_task_id_t id, zpar_error_t *err)
{
    zpar_proto_control_reply_t r;
    uint32_t engine;
    uint64_t n = 0;
    int rc = take_back (c, id, &engine, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (engine) {
        if (control_only (c, engine, id.id, &r, err) < 0)
            return -1;
        n = r.count;
        zpar__proto_control_reply_clear (&r);
    }
    if (n)
        return 0;
    return zpar__errnoprintf (err, ESRCH, "the task is neither queued nor running (it has ended)");
}

ZPAR_API int zpar_client_interrupt (zpar_client_t *c, zpar_engine_id_t e, zpar_error_t *err)
{
    zpar_proto_control_reply_t r;
    if (!c || e.id == 0) {
        errno = EINVAL;
        return zpar__errprintf (err, "no client or no engine");
    }
    if (control (c, S_CTL, e.id, ZPAR_CONTROL_INTERRUPT, 0, &r, err) < 0)
        return -1;
    zpar__proto_control_reply_clear (&r);
    return 0;
}
