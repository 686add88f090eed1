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
    f->id = zpar__client_next_id (c);
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
            rc = zpar__errnoprintf (err, ETIMEDOUT, "task %s did not finish within %.1f s", ids,
                                    timeout);
            break;
        }
        if (zpar__client_pump (c, left) < 0) {
            rc = zpar__errprintf (err, "poll failed: %s", zmq_strerror (errno));
            break;
        }
        if ((rc = zpar__client_wait_check (c, err)) < 0)
            break;
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
        zpar_result_destroy (f->result);
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
            rc = zpar__errnoprintf (err, ETIMEDOUT, "%zu tasks did not finish within %.1f s",
                                    c->outstanding, timeout);
            break;
        }
        if (zpar__client_pump (c, left) < 0) {
            rc = zpar__errprintf (err, "poll failed: %s", zmq_strerror (errno));
            break;
        }
        if ((rc = zpar__client_wait_check (c, err)) < 0)
            break;
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
        if ((n = zpar__client_pump (c, timeout == 0 ? 0 : zpar__client_left_ms (deadline))) < 0) {
            n = zpar__errprintf (err, "poll failed: %s", zmq_strerror (errno));
            break;
        }
        if (zpar__client_wait_check (c, err) < 0) {
            n = -1;
            break;
        }
    } while (n == 0 && timeout != 0 && zpar__client_left_ms (deadline) != 0);
    zpar__client_wait_end (c);
    return n;
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
    req->hdr.task = zpar__client_next_id (c); /* correlates the reply */
    zpar__msg_add_str (req, ZPAR_F_QUERY, name);
    if (id)
        zpar__msg_add_u64 (req, ZPAR_F_TASK_ID, id);
    rep = zpar__client_call (c, S_REG, req, ZPAR_MSG_QUERY_REPLY, c->connect_timeout, err);
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
        if ((alive = count_alive (c, err)) < 0 || alive >= (int)n)
            break;
        if ((left = zpar__client_left_ms (deadline)) == 0) {
            alive = zpar__errnoprintf (
                err, ETIMEDOUT, "only %d of %u engines registered within %g s", alive, n, timeout);
            break;
        }
        /* an engine event (registered, died) wakes us early */
        wait = left < 0 || left > WAIT_ENGINES_POLL_MS ? WAIT_ENGINES_POLL_MS : left;
        if (zpar__client_pump (c, wait) < 0) {
            alive = zpar__errprintf (err, "poll failed: %s", zmq_strerror (errno));
            break;
        }
        if ((alive = zpar__client_wait_check (c, err)) < 0)
            break;
    }
    zpar__client_wait_end (c);
    return alive;
}

ZPAR_API zpar_result_t *zpar_client_fetch_result (zpar_client_t *c, zpar_task_id_t id,
                                                  zpar_error_t *err)
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

ZPAR_API zpar_future_t *zpar_client_resubmit (zpar_client_t *c, zpar_task_id_t id,
                                              zpar_error_t *err)
{
    zpar_msg_t *rep;
    zpar_task_t t;
    size_t len;
    const void *p;
    zpar_future_t *f;

    if (!(rep = query (c, "request", id.id, err)))
        return NULL;
    if (!(p = zpar__msg_get_bytes (rep, ZPAR_F_RECORD, &len)) ||
        !(t.fields = zpar__msg_create (ZPAR_MSG_TASK)) ||
        zpar__msg_unpack (t.fields, p, len, err) < 0) {
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
    req->hdr.task = task ? task : zpar__client_next_id (c);
    req->hdr.client = c->num;
    req->hdr.engine = engine;
    if (engine) {
        char ident[16];
        int n = snprintf (ident, sizeof (ident), "e%u", engine);
        zpar__msg_push_ident (req, ident, (size_t)n);
    }
    rep = zpar__client_call (c, which, req, ZPAR_MSG_CONTROL_REPLY, c->connect_timeout, err);
    zpar__msg_destroy (req);
    if (rep && zpar__msg_count (rep, ZPAR_F_ERRNO)) {
        char *text = zpar__msg_get_str (rep, ZPAR_F_ERROR);
        zpar__errnoprintf (err, (int)zpar__msg_u64_or (rep, ZPAR_F_ERRNO, EIO), "%s",
                           text ? text : "error");
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
    return zpar__errnoprintf (err, ESRCH,
                              "the task is not queued (it is running or finished): "
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
