/* client.c - connecting, submitting, waiting, querying. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "client.h"
#include "conn.h"
#include "error.h"
#include "idmap.h"
#include "wire.h"
#include "zpar.h"

enum { S_REG, S_MUX, S_TASK, S_CTL, S_IOPUB, S_NOTIFY, S_COUNT };

struct zpar_future {
    zpar_client_t *c;
    uint64_t id;
    uint32_t engine; /* direct target, 0 if load-balanced */
    zpar_result_t *result;
};

struct zpar_client {
    void *ctx;
    void *sock[S_COUNT];
    zpar_signer_t *signer;
    zpar_conninfo_t ci;
    uint32_t num;
    uint64_t seq;
    zpar_idmap_t *futures; /* id -> future (outstanding and done, until destroyed) */
    size_t outstanding;
    zpar_msg_t *in;
    zpar_output_f out_cb;
    void *out_arg;
    zpar_engine_event_f ev_cb;
    void *ev_arg;
    /* the reply a synchronous call is waiting for */
    int want_type;
    uint64_t want_task;
    zpar_msg_t *got;
};

static double now_s (void)
{
    return (double)zpar__mono_us () / 1e6;
}

static void *new_socket (zpar_client_t *c, int type, const char *ep)
{
    void *s = zmq_socket (c->ctx, type);
    int zero = 0;
    if (!s)
        return NULL;
    zmq_setsockopt (s, ZMQ_SNDHWM, &zero, sizeof (zero));
    zmq_setsockopt (s, ZMQ_RCVHWM, &zero, sizeof (zero));
    if (zmq_connect (s, ep) < 0) {
        zmq_close (s);
        return NULL;
    }
    return s;
}

/* ------------------------------------------------------------- events */

static void complete (zpar_client_t *c, zpar_future_t *f, zpar_result_t *r)
{
    if (!r)
        return;
    if (f->result) {
        zpar_result_destroy (r); /* a late duplicate: the first answer stands */
        return;
    }
    f->result = r;
    if (c->outstanding)
        c->outstanding--;
}

static void on_result (zpar_client_t *c, zpar_msg_t *m)
{
    zpar_future_t *f = zpar__idmap_get (c->futures, m->hdr.task);
    zpar_msg_t *copy;
    uint8_t *buf;
    size_t len;
    if (!f || f->result)
        return;
    if (zpar__msg_pack (m, &buf, &len) < 0)
        return;
    copy = zpar__msg_create (ZPAR_MSG_RESULT);
    if (copy && zpar__msg_unpack (copy, buf, len, NULL) == 0)
        complete (c, f, zpar__result_from_msg (copy));
    else
        zpar__msg_destroy (copy);
    free (buf);
}

static void on_notify (zpar_client_t *c, zpar_msg_t *m)
{
    char *ev = zpar__msg_get_str (m, ZPAR_F_EVENT);
    if (!ev)
        return;
    if (!strcmp (ev, "died") || !strcmp (ev, "unregistered")) {
        size_t pos = 0;
        zpar_future_t *f;
        char text[128];
        snprintf (text, sizeof (text), "engine %u died while this task was on it", m->hdr.engine);
        while ((f = zpar__idmap_next (c->futures, &pos, NULL)))
            if (!f->result && f->engine && f->engine == m->hdr.engine)
                complete (c, f, zpar__result_make (f->id, f->engine, ZPAR_STATUS_ENGINE_DIED, text));
    }
    if (c->ev_cb)
        c->ev_cb (c->ev_arg, (zpar_engine_id_t){m->hdr.engine}, ev);
    free (ev);
}

static void on_stream (zpar_client_t *c, zpar_msg_t *m)
{
    size_t len;
    const void *data;
    if (!c->out_cb || m->hdr.type != ZPAR_MSG_STREAM)
        return;
    if (!(data = zpar__msg_get_bytes (m, ZPAR_F_DATA, &len)))
        return;
    c->out_cb (c->out_arg, (zpar_engine_id_t){m->hdr.engine}, (zpar_task_id_t){m->hdr.task},
               (int)zpar__msg_u64_or (m, ZPAR_F_STREAM, 1), data, len);
}

/* Handle one received message; returns 1 if it is the awaited reply. */
static int dispatch_msg (zpar_client_t *c, int which, zpar_msg_t *m)
{
    if (c->want_type && m->hdr.type == c->want_type
        && (c->want_task == 0 || m->hdr.task == c->want_task)) {
        uint8_t *buf;
        size_t len;
        if (zpar__msg_pack (m, &buf, &len) == 0) {
            zpar__msg_destroy (c->got);
            c->got = zpar__msg_create (ZPAR_MSG_NONE);
            if (c->got && zpar__msg_unpack (c->got, buf, len, NULL) < 0) {
                zpar__msg_destroy (c->got);
                c->got = NULL;
            }
            free (buf);
        }
        return 1;
    }
    switch (m->hdr.type) {
    case ZPAR_MSG_RESULT:
        on_result (c, m);
        break;
    case ZPAR_MSG_NOTIFY:
        on_notify (c, m);
        break;
    case ZPAR_MSG_STREAM:
    case ZPAR_MSG_TASK_STATUS:
        on_stream (c, m);
        break;
    default:
        break;
    }
    (void)which;
    return 0;
}

/* Poll all sockets once, waiting up to timeout_ms for the first event. */
static int pump (zpar_client_t *c, long timeout_ms, int *got_reply)
{
    zmq_pollitem_t items[S_COUNT];
    int n = 0, handled = 0;
    for (int i = 0; i < S_COUNT; i++) {
        items[i].socket = c->sock[i];
        items[i].fd = 0;
        items[i].events = ZMQ_POLLIN;
        items[i].revents = 0;
    }
    if ((n = zmq_poll (items, S_COUNT, timeout_ms)) < 0)
        return errno == EINTR ? 0 : -1;
    if (n == 0)
        return 0;
    for (int i = 0; i < S_COUNT; i++) {
        if (!(items[i].revents & ZMQ_POLLIN))
            continue;
        for (int k = 0; k < 4096; k++) {
            zpar_error_t err;
            if (zpar__wire_recv (c->sock[i], c->signer, c->in, ZMQ_DONTWAIT, &err) < 0) {
                if (errno == EAGAIN)
                    break;
                continue; /* dropped (forged, malformed, replayed) */
            }
            handled++;
            if (dispatch_msg (c, i, c->in) && got_reply)
                *got_reply = 1;
        }
    }
    return handled;
}

ZPAR_API int zpar_client_poll (zpar_client_t *c, double timeout, zpar_error_t *err)
{
    int n;
    if (!c) {
        errno = EINVAL;
        return zpar__errprintf (err, "no client");
    }
    n = pump (c, timeout < 0 ? -1 : (long)(timeout * 1000.0), NULL);
    if (n < 0)
        return zpar__errprintf (err, "poll failed: %s", zmq_strerror (errno));
    return n;
}

/* Send req on socket which, then wait for a reply of type rtype. */
static zpar_msg_t *call (zpar_client_t *c, int which, zpar_msg_t *req, int rtype, double timeout,
                         zpar_error_t *err)
{
    double deadline = now_s () + timeout;
    int got = 0;
    zpar_msg_t *r;

    c->want_type = rtype;
    c->want_task = req->hdr.task;
    zpar__msg_destroy (c->got);
    c->got = NULL;
    if (zpar__wire_send (c->sock[which], c->signer, req, 0) < 0) {
        c->want_type = 0;
        zpar__errprintf (err, "cannot send to the controller: %s", zmq_strerror (errno));
        return NULL;
    }
    while (!got) {
        double left = deadline - now_s ();
        if (left <= 0) {
            c->want_type = 0;
            zpar__errnoprintf (err, EHOSTUNREACH,
                               "the controller did not answer within %.0f s (is it running? %s)",
                               timeout, c->ci.addr[ZPAR_EP_REGISTRAR]);
            return NULL;
        }
        if (pump (c, (long)(left * 1000.0) + 1, &got) < 0)
            break;
    }
    c->want_type = 0;
    r = c->got;
    c->got = NULL;
    if (!r)
        zpar__errprintf (err, "lost the controller's reply");
    return r;
}

static double connect_timeout (void)
{
    const char *e = getenv ("ZPAR_CONNECT_TIMEOUT");
    double t = e ? atof (e) : 0;
    return t > 0 ? t : 10.0;
}

/* ------------------------------------------------------------- connect */

ZPAR_API zpar_client_t *zpar_client_connect (const char *connection_file, zpar_error_t *err)
{
    zpar_client_t *c = calloc (1, sizeof (*c));
    char path[4096];
    zpar_msg_t *req = NULL, *rep = NULL;
    char *addr[5] = {NULL};
    zpar_field_t keys[5] = {ZPAR_F_ADDR_MUX, ZPAR_F_ADDR_TASK, ZPAR_F_ADDR_CONTROL, ZPAR_F_ADDR_IOPUB,
                            ZPAR_F_ADDR_NOTIFY};
    int type[5] = {ZMQ_DEALER, ZMQ_DEALER, ZMQ_DEALER, ZMQ_SUB, ZMQ_SUB};
    int slot[5] = {S_MUX, S_TASK, S_CTL, S_IOPUB, S_NOTIFY};
    double tmo = connect_timeout ();

    if (!c) {
        zpar__errprintf (err, "out of memory");
        return NULL;
    }
    if (zpar__zmq_version_check (err) < 0)
        goto error;
    if (zpar__conn_resolve (connection_file, path, sizeof (path), err) < 0
        || zpar__conn_read (path, &c->ci, err) < 0)
        goto error;
    if (!(c->ctx = zmq_ctx_new ()) || !(c->signer = zpar__signer_create (c->ci.key, 0))
        || !(c->futures = zpar__idmap_create ()) || !(c->in = zpar__msg_create (ZPAR_MSG_NONE))) {
        zpar__errprintf (err, "out of memory");
        goto error;
    }
    zmq_ctx_set (c->ctx, ZMQ_BLOCKY, 0);
    if (!(c->sock[S_REG] = new_socket (c, ZMQ_DEALER, c->ci.addr[ZPAR_EP_REGISTRAR]))) {
        zpar__errprintf (err, "cannot connect to %s: %s", c->ci.addr[ZPAR_EP_REGISTRAR], zmq_strerror (errno));
        goto error;
    }
    if (!(req = zpar__msg_create (ZPAR_MSG_REGISTER_CLIENT)))
        goto error;
    if (!(rep = call (c, S_REG, req, ZPAR_MSG_REGISTER_CLIENT_REPLY, tmo, err)))
        goto error;
    if (zpar__msg_count (rep, ZPAR_F_ERROR)) {
        char *e = zpar__msg_get_str (rep, ZPAR_F_ERROR);
        zpar__errnoprintf (err, EPROTO, "the controller refused this client: %s", e ? e : "?");
        free (e);
        goto error;
    }
    c->num = (uint32_t)zpar__msg_u64_or (rep, ZPAR_F_CLIENT_ID, 0);
    for (int i = 0; i < 5; i++) {
        if (!(addr[i] = zpar__msg_get_str (rep, keys[i]))) {
            zpar__errnoprintf (err, EPROTO, "the controller's registration reply lacks an address");
            goto error;
        }
        if (!(c->sock[slot[i]] = new_socket (c, type[i], addr[i]))) {
            zpar__errprintf (err, "cannot connect to %s: %s", addr[i], zmq_strerror (errno));
            goto error;
        }
    }
    zmq_setsockopt (c->sock[S_NOTIFY], ZMQ_SUBSCRIBE, "", 0);
    zpar__msg_destroy (req);
    zpar__msg_destroy (rep);
    for (int i = 0; i < 5; i++)
        free (addr[i]);
    return c;
error:
    zpar__msg_destroy (req);
    zpar__msg_destroy (rep);
    for (int i = 0; i < 5; i++)
        free (addr[i]);
    zpar_client_destroy (c);
    return NULL;
}

ZPAR_API void zpar_client_destroy (zpar_client_t *c)
{
    size_t pos = 0;
    zpar_future_t *f;
    int linger = 5000;
    if (!c)
        return;
    if (c->futures) {
        while ((f = zpar__idmap_next (c->futures, &pos, NULL)))
            f->c = NULL;
        zpar__idmap_destroy (c->futures);
    }
    for (int i = 0; i < S_COUNT; i++) {
        if (c->sock[i]) {
            /* let queued submissions leave before we go */
            zmq_setsockopt (c->sock[i], ZMQ_LINGER, &linger, sizeof (linger));
            zmq_close (c->sock[i]);
        }
    }
    if (c->ctx)
        zmq_ctx_term (c->ctx);
    zpar__signer_destroy (c->signer);
    zpar__msg_destroy (c->in);
    zpar__msg_destroy (c->got);
    free (c);
}

ZPAR_API uint32_t zpar_client_id (const zpar_client_t *c)
{
    return c ? c->num : 0;
}

ZPAR_API int zpar_client_on_output (zpar_client_t *c, zpar_output_f cb, void *arg, int mine_only)
{
    char topic[32];
    if (!c) {
        errno = EINVAL;
        return -1;
    }
    if (c->out_cb) {
        zmq_setsockopt (c->sock[S_IOPUB], ZMQ_UNSUBSCRIBE, "", 0);
        snprintf (topic, sizeof (topic), "c%u.", c->num);
        zmq_setsockopt (c->sock[S_IOPUB], ZMQ_UNSUBSCRIBE, topic, strlen (topic));
    }
    c->out_cb = cb;
    c->out_arg = arg;
    if (cb) {
        if (mine_only) {
            snprintf (topic, sizeof (topic), "c%u.", c->num);
            zmq_setsockopt (c->sock[S_IOPUB], ZMQ_SUBSCRIBE, topic, strlen (topic));
        }
        else
            zmq_setsockopt (c->sock[S_IOPUB], ZMQ_SUBSCRIBE, "", 0);
    }
    return 0;
}

ZPAR_API int zpar_client_on_engine_event (zpar_client_t *c, zpar_engine_event_f cb, void *arg)
{
    if (!c) {
        errno = EINVAL;
        return -1;
    }
    c->ev_cb = cb;
    c->ev_arg = arg;
    return 0;
}

/* -------------------------------------------------------------- submit */

static zpar_future_t *submit (zpar_client_t *c, uint32_t engine, const zpar_task_t *t,
                              zpar_error_t *err)
{
    zpar_future_t *f;
    zpar_msg_t *m = t ? t->fields : NULL;
    int which = engine ? S_MUX : S_TASK;

    if (!c || !t) {
        errno = EINVAL;
        zpar__errprintf (err, "no client or no task");
        return NULL;
    }
    if (!(f = calloc (1, sizeof (*f)))) {
        zpar__errprintf (err, "out of memory");
        return NULL;
    }
    f->c = c;
    f->id = ((uint64_t)c->num << 32) | (++c->seq & 0xffffffffu);
    f->engine = engine;
    m->hdr.type = ZPAR_MSG_TASK;
    m->hdr.task = f->id;
    m->hdr.client = c->num;
    m->hdr.engine = engine;
    m->hdr.flags = 0;
    m->nenv = 0;
    if (engine) {
        char ident[16];
        int n = snprintf (ident, sizeof (ident), "e%u", engine);
        zpar__msg_push_ident (m, ident, (size_t)n);
    }
    if (zpar__idmap_put (c->futures, f->id, f) < 0) {
        free (f);
        zpar__errprintf (err, "out of memory");
        return NULL;
    }
    if (zpar__wire_send (c->sock[which], c->signer, m, 0) < 0) {
        int e = errno;
        m->nenv = 0;
        zpar__idmap_del (c->futures, f->id);
        free (f);
        zpar__errnoprintf (err, e, "cannot send the task: %s", zmq_strerror (e));
        return NULL;
    }
    m->nenv = 0;
    c->outstanding++;
    return f;
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

ZPAR_API int zpar_future_done (const zpar_future_t *f)
{
    return f && f->result ? 1 : 0;
}

ZPAR_API int zpar_future_wait (zpar_future_t *f, double timeout, zpar_error_t *err)
{
    double deadline = now_s () + timeout;
    if (!f) {
        errno = EINVAL;
        return zpar__errprintf (err, "no future");
    }
    while (!f->result) {
        double left = deadline - now_s ();
        if (!f->c)
            return zpar__errnoprintf (err, ENOTCONN, "the client of this task was destroyed");
        if (timeout >= 0 && left <= 0) {
            char ids[32];
            zpar_task_id_format ((zpar_task_id_t){f->id}, ids, sizeof (ids));
            return zpar__errnoprintf (err, ETIMEDOUT, "task %s did not finish within %.1f s", ids, timeout);
        }
        if (pump (f->c, timeout < 0 ? 1000 : (long)(left * 1000.0) + 1, NULL) < 0)
            return zpar__errprintf (err, "poll failed: %s", zmq_strerror (errno));
    }
    return 0;
}

ZPAR_API const zpar_result_t *zpar_future_result (const zpar_future_t *f)
{
    return f ? f->result : NULL;
}

ZPAR_API void zpar_future_destroy (zpar_future_t *f)
{
    if (f) {
        int saved = errno;
        if (f->c) {
            zpar__idmap_del (f->c->futures, f->id);
            if (!f->result && f->c->outstanding)
                f->c->outstanding--;
        }
        zpar_result_destroy (f->result);
        free (f);
        errno = saved;
    }
}

ZPAR_API int zpar_client_wait_all (zpar_client_t *c, double timeout, zpar_error_t *err)
{
    double deadline = now_s () + timeout;
    if (!c) {
        errno = EINVAL;
        return zpar__errprintf (err, "no client");
    }
    while (c->outstanding) {
        double left = deadline - now_s ();
        if (timeout >= 0 && left <= 0)
            return zpar__errnoprintf (err, ETIMEDOUT, "%zu tasks did not finish within %.1f s",
                                      c->outstanding, timeout);
        if (pump (c, timeout < 0 ? 1000 : (long)(left * 1000.0) + 1, NULL) < 0)
            return zpar__errprintf (err, "poll failed: %s", zmq_strerror (errno));
    }
    return 0;
}

ZPAR_API size_t zpar_client_outstanding (const zpar_client_t *c)
{
    return c ? c->outstanding : 0;
}

/* ------------------------------------------------------------- queries */

static zpar_msg_t *query (zpar_client_t *c, const char *name, uint64_t id, zpar_error_t *err)
{
    zpar_msg_t *req, *rep;
    if (!c) {
        errno = EINVAL;
        zpar__errprintf (err, "no client");
        return NULL;
    }
    if (!(req = zpar__msg_create (ZPAR_MSG_QUERY)))
        return NULL;
    req->hdr.client = c->num;
    req->hdr.task = ((uint64_t)c->num << 32) | (++c->seq & 0xffffffffu); /* correlates the reply */
    zpar__msg_add_str (req, ZPAR_F_QUERY, name);
    if (id)
        zpar__msg_add_u64 (req, ZPAR_F_TASK_ID, id);
    rep = call (c, S_REG, req, ZPAR_MSG_QUERY_REPLY, connect_timeout (), err);
    zpar__msg_destroy (req);
    if (rep && zpar__msg_count (rep, ZPAR_F_ERRNO)) {
        int e = (int)zpar__msg_u64_or (rep, ZPAR_F_ERRNO, EIO);
        char *text = zpar__msg_get_str (rep, ZPAR_F_ERROR);
        char ids[32];
        zpar_task_id_format ((zpar_task_id_t){id}, ids, sizeof (ids));
        if (e == ENOENT)
            zpar__errnoprintf (err, e, "no task %s in this cluster", ids);
        else
            zpar__errnoprintf (err, e, "the controller says: %s", text ? text : "error");
        free (text);
        zpar__msg_destroy (rep);
        errno = e;
        return NULL;
    }
    return rep;
}

ZPAR_API int zpar_client_engines (zpar_client_t *c, zpar_engine_info_t **list, size_t *n,
                                  zpar_error_t *err)
{
    zpar_msg_t *rep = query (c, "engines", 0, err);
    zpar_msg_t *e;
    size_t cnt;
    zpar_engine_info_t *out;
    if (!rep)
        return -1;
    if (!list || !n) {
        zpar__msg_destroy (rep);
        errno = EINVAL;
        return zpar__errprintf (err, "no output list");
    }
    cnt = zpar__msg_count (rep, ZPAR_F_RECORD);
    if (!(out = calloc (cnt ? cnt : 1, sizeof (*out))) || !(e = zpar__msg_create (ZPAR_MSG_NONE))) {
        free (out);
        zpar__msg_destroy (rep);
        return zpar__errprintf (err, "out of memory");
    }
    for (size_t i = 0; i < cnt; i++) {
        size_t len;
        const void *p = zpar__msg_get_bytes_at (rep, ZPAR_F_RECORD, i, &len);
        char *s;
        if (zpar__msg_unpack (e, p, len, NULL) < 0)
            continue;
        out[i].id.id = (uint32_t)zpar__msg_u64_or (e, ZPAR_F_ENGINE_ID, 0);
        out[i].pid = (int)zpar__msg_u64_or (e, ZPAR_F_PID, 0);
        out[i].rank = (int)(int64_t)zpar__msg_u64_or (e, ZPAR_F_RANK, (uint64_t)-1);
        out[i].outstanding = (unsigned)zpar__msg_u64_or (e, ZPAR_F_OUTSTANDING, 0);
        if ((s = zpar__msg_get_str (e, ZPAR_F_HOST))) {
            snprintf (out[i].host, sizeof (out[i].host), "%s", s);
            free (s);
        }
        if ((s = zpar__msg_get_str (e, ZPAR_F_STATE))) {
            snprintf (out[i].state, sizeof (out[i].state), "%s", s);
            free (s);
        }
    }
    zpar__msg_destroy (e);
    zpar__msg_destroy (rep);
    *list = out;
    *n = cnt;
    return 0;
}

ZPAR_API int zpar_client_queue_status (zpar_client_t *c, zpar_queue_status_t *st, zpar_error_t *err)
{
    zpar_msg_t *rep = query (c, "status", 0, err);
    if (!rep)
        return -1;
    if (st) {
        st->pending = zpar__msg_u64_or (rep, ZPAR_F_PENDING, 0);
        st->running = zpar__msg_u64_or (rep, ZPAR_F_RUNNING, 0);
        st->completed = zpar__msg_u64_or (rep, ZPAR_F_COMPLETED, 0);
        st->failed = zpar__msg_u64_or (rep, ZPAR_F_FAILED, 0);
        st->dropped = zpar__msg_u64_or (rep, ZPAR_F_DROPPED, 0);
    }
    zpar__msg_destroy (rep);
    return 0;
}

ZPAR_API zpar_result_t *zpar_client_fetch_result (zpar_client_t *c, zpar_task_id_t id, zpar_error_t *err)
{
    zpar_msg_t *rep, *rm;
    size_t len;
    const void *p;
    if (id.id == 0) {
        errno = EINVAL;
        zpar__errprintf (err, "no task id");
        return NULL;
    }
    if (!(rep = query (c, "result", id.id, err)))
        return NULL;
    if (!(p = zpar__msg_get_bytes (rep, ZPAR_F_RECORD, &len))) {
        zpar__msg_destroy (rep);
        return zpar__result_make (id.id, 0, ZPAR_STATUS_PENDING, NULL);
    }
    if (!(rm = zpar__msg_create (ZPAR_MSG_NONE)) || zpar__msg_unpack (rm, p, len, err) < 0) {
        zpar__msg_destroy (rm);
        zpar__msg_destroy (rep);
        return NULL;
    }
    zpar__msg_destroy (rep);
    return zpar__result_from_msg (rm);
}

ZPAR_API zpar_future_t *zpar_client_resubmit (zpar_client_t *c, zpar_task_id_t id, zpar_error_t *err)
{
    zpar_msg_t *rep;
    zpar_task_t t;
    size_t len;
    const void *p;
    zpar_future_t *f;

    if (!(rep = query (c, "request", id.id, err)))
        return NULL;
    if (!(p = zpar__msg_get_bytes (rep, ZPAR_F_RECORD, &len)) || !(t.fields = zpar__msg_create (ZPAR_MSG_TASK))
        || zpar__msg_unpack (t.fields, p, len, err) < 0) {
        zpar__msg_destroy (rep);
        errno = ENOENT;
        zpar__errprintf (err, "the request of that task is not recorded");
        return NULL;
    }
    zpar__msg_destroy (rep);
    t.kind = (zpar_task_kind_t)zpar__msg_u64_or (t.fields, ZPAR_F_KIND, ZPAR_TASK_COMMAND);
    f = submit (c, 0, &t, err);
    zpar__msg_destroy (t.fields);
    return f;
}

ZPAR_API int zpar_client_purge (zpar_client_t *c, zpar_task_id_t id, zpar_error_t *err)
{
    zpar_msg_t *rep = query (c, "purge", id.id, err);
    if (!rep)
        return -1;
    zpar__msg_destroy (rep);
    return 0;
}

ZPAR_API int zpar_client_shutdown (zpar_client_t *c, zpar_error_t *err)
{
    zpar_msg_t *rep = query (c, "shutdown", 0, err);
    if (!rep)
        return -1;
    zpar__msg_destroy (rep);
    return 0;
}

static zpar_msg_t *control (zpar_client_t *c, int which, uint32_t engine, int type, uint64_t task,
                            zpar_error_t *err)
{
    zpar_msg_t *req = zpar__msg_create ((zpar_msg_type_t)type), *rep;
    if (!req)
        return NULL;
    req->hdr.task = task ? task : (((uint64_t)c->num << 32) | (++c->seq & 0xffffffffu));
    req->hdr.client = c->num;
    req->hdr.engine = engine;
    if (engine) {
        char ident[16];
        int n = snprintf (ident, sizeof (ident), "e%u", engine);
        zpar__msg_push_ident (req, ident, (size_t)n);
    }
    rep = call (c, which, req, ZPAR_MSG_CONTROL_REPLY, connect_timeout (), err);
    zpar__msg_destroy (req);
    if (rep && zpar__msg_count (rep, ZPAR_F_ERRNO)) {
        char *text = zpar__msg_get_str (rep, ZPAR_F_ERROR);
        zpar__errnoprintf (err, (int)zpar__msg_u64_or (rep, ZPAR_F_ERRNO, EIO), "%s", text ? text : "error");
        free (text);
        zpar__msg_destroy (rep);
        return NULL;
    }
    return rep;
}

ZPAR_API int zpar_client_abort (zpar_client_t *c, zpar_task_id_t id, zpar_error_t *err)
{
    zpar_msg_t *rep;
    uint64_t n, engine = 0;
    zpar_future_t *f;
    if (!c || id.id == 0) {
        errno = EINVAL;
        return zpar__errprintf (err, "no client or no task id");
    }
    f = zpar__idmap_get (c->futures, id.id);
    if (f && f->engine)
        engine = f->engine;
    else {
        if (!(rep = control (c, S_TASK, 0, ZPAR_MSG_ABORT, id.id, err)))
            return -1;
        n = zpar__msg_u64_or (rep, ZPAR_F_COUNT, 0);
        engine = zpar__msg_u64_or (rep, ZPAR_F_ENGINE_ID, 0);
        zpar__msg_destroy (rep);
        if (n)
            return 0;
    }
    if (engine) {
        if (!(rep = control (c, S_CTL, (uint32_t)engine, ZPAR_MSG_ABORT, id.id, err)))
            return -1;
        n = zpar__msg_u64_or (rep, ZPAR_F_COUNT, 0);
        zpar__msg_destroy (rep);
        if (n)
            return 0;
    }
    return zpar__errnoprintf (err, ESRCH, "the task is not queued (it is running or finished): "
                                          "interrupt its engine instead");
}

ZPAR_API int zpar_client_interrupt (zpar_client_t *c, zpar_engine_id_t e, zpar_error_t *err)
{
    zpar_msg_t *rep;
    if (!c || e.id == 0) {
        errno = EINVAL;
        return zpar__errprintf (err, "no client or no engine");
    }
    if (!(rep = control (c, S_CTL, e.id, ZPAR_MSG_INTERRUPT, 0, err)))
        return -1;
    zpar__msg_destroy (rep);
    return 0;
}
