/* task_runner_out.c - the task runner's messages, lists and results
 * leaving the engine: the message pool, the task and outbox lists, the
 * outbox and its retry, the results kept after sending
 * (zpar__task_runner_resend).  See task_runner.h and task_runner_int.h. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "msg.h"
#include "proto_task.h"
#include "task_runner_int.h"

/* ------------------------------------------------------------ messages */

zpar_msg_t *zpar__tr_msg_get (zpar_task_runner_t *tr, zpar_msg_type_t type)
{
    if (tr->npool > 0) {
        zpar_msg_t *m = tr->pool[--tr->npool];
        zpar__msg_reset (m, type);
        return m;
    }
    return zpar__msg_create (type);
}

void zpar__tr_msg_put (zpar_task_runner_t *tr, zpar_msg_t *m)
{
    if (!m)
        return;
    if (tr->npool < POOL_MAX && m->cap <= 1024 * 1024)
        tr->pool[tr->npool++] = m;
    else
        zpar__msg_destroy (m);
}

void zpar__tr_ql_push (qlist_t *l, qent_t *t)
{
    t->next = NULL;
    if (l->tail)
        l->tail->next = t;
    else
        l->head = t;
    l->tail = t;
    l->len++;
}

qent_t *zpar__tr_ql_pop (qlist_t *l)
{
    qent_t *t = l->head;
    if (t) {
        l->head = t->next;
        if (!l->head)
            l->tail = NULL;
        l->len--;
        t->next = NULL;
    }
    return t;
}

void zpar__tr_ql_free (qlist_t *l)
{
    qent_t *t;
    while ((t = zpar__tr_ql_pop (l))) {
        zpar__proto_task_clear (&t->t);
        zpar__msg_destroy (t->m);
        free (t);
    }
}

void zpar__tr_qent_free (zpar_task_runner_t *tr, qent_t *t)
{
    zpar__proto_task_clear (&t->t);
    zpar__tr_msg_put (tr, t->m);
    free (t);
}

/* ------------------------------------------------------------- results */

void zpar__tr_retry_outbox (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    (void)r;
    (void)w;
    (void)revents;
    zpar__task_runner_flush (arg);
}

/* Keep result m, just sent on q: the controller may die before it has
 * recorded it (zpar__task_runner_resend).  Takes m: kept as it is (the
 * send left it whole), or, when its buffer is much larger than the
 * result (a pooled buffer grown by an earlier big one), copied to its
 * size and given back to the pool; the slot's previous result goes back
 * to the pool. */
static void keep_recent (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t *m)
{
    unsigned i = tr->nrecent++ % RECENT_MAX;
    uint8_t *buf;
    size_t len;
    zpar__tr_msg_put (tr, tr->recent[i].m);
    tr->recent[i].m = NULL;
    tr->recent[i].q = q;
    tr->recent[i].at_us = zpar__mono_us ();
    if (m->cap <= RECENT_SLACK + 2 * m->len) {
        tr->recent[i].m = m;
        return;
    }
    if (zpar__msg_pack (m, &buf, &len) == 0) {
        if ((tr->recent[i].m = zpar__msg_create (ZPAR_MSG_NONE)) &&
            (zpar__msg_unpack (tr->recent[i].m, buf, len, NULL) < 0 ||
             zpar__msg_set_envelope (tr->recent[i].m, m->nenv, m->env) < 0)) {
            zpar__msg_destroy (tr->recent[i].m);
            tr->recent[i].m = NULL;
        }
        free (buf);
    }
    zpar__tr_msg_put (tr, m);
}

size_t zpar__task_runner_sent_since (const zpar_task_runner_t *tr, uint64_t since_us,
                                     zpar_tid_t *ids, size_t max)
{
    uint64_t now = zpar__mono_us ();
    size_t n = 0;
    if (!tr)
        return 0;
    for (unsigned i = 0; i < RECENT_MAX; i++) {
        const zpar_msg_t *m = tr->recent[i].m;
        if (!m || !m->hdr.task || tr->recent[i].at_us < since_us ||
            now - tr->recent[i].at_us > RECENT_US)
            continue;
        if (ids && n < max)
            ids[n] = zpar__tid (m->hdr.task);
        n++;
    }
    return n;
}

int zpar__tr_recent_forget (zpar_task_runner_t *tr, zpar_tid_t task)
{
    int n = 0;
    for (unsigned i = 0; i < RECENT_MAX; i++)
        if (tr->recent[i].m && tr->recent[i].m->hdr.task == task.v) {
            zpar__msg_destroy (tr->recent[i].m);
            tr->recent[i].m = NULL;
            n++;
        }
    return n;
}

size_t zpar__task_runner_resend (zpar_task_runner_t *tr, uint64_t since_us)
{
    uint64_t now = zpar__mono_us ();
    size_t n = 0;
    if (!tr)
        return 0;
    for (unsigned k = 0; k < RECENT_MAX; k++) {
        /* oldest first */
        unsigned i = (tr->nrecent + k) % RECENT_MAX;
        zpar_msg_t *m = tr->recent[i].m;
        qent_t *o;
        tr->recent[i].m = NULL;
        if (!m)
            continue;
        if (tr->recent[i].at_us < since_us || now - tr->recent[i].at_us > RECENT_US ||
            !(o = calloc (1, sizeof (*o)))) {
            zpar__msg_destroy (m);
            continue;
        }
        o->m = m;
        o->q = tr->recent[i].q;
        zpar__tr_ql_push (&tr->outbox, o);
        n++;
    }
    zpar__task_runner_flush (tr);
    return n;
}

/* Results in ready go to the end of the outbox (in order). */
static void ready_to_outbox (zpar_task_runner_t *tr, size_t from)
{
    for (size_t i = from; i < tr->nready; i++) {
        qent_t *o = calloc (1, sizeof (*o));
        if (!o) {
            zpar__err ("out of memory: result of task %" PRIu64 " lost", tr->ready[i]->hdr.task);
            zpar__msg_destroy (tr->ready[i]);
            continue;
        }
        o->m = tr->ready[i];
        o->q = ZPAR_ENGINE_Q_TASK;
        zpar__tr_ql_push (&tr->outbox, o);
    }
    tr->nready = 0;
    if (tr->outbox.head && !zpar__watcher_active (tr->w_retry))
        zpar__timer_watcher_reset (tr->w_retry, OUTBOX_RETRY_MS, 0);
}

static int same_env (const zpar_msg_t *a, const zpar_msg_t *b)
{
    if (a->nenv != b->nenv)
        return 0;
    for (int i = 0; i < a->nenv; i++)
        if (a->env[i].len != b->env[i].len ||
            memcmp (a->env[i].data, b->env[i].data, a->env[i].len))
            return 0;
    return 1;
}

void zpar__tr_flush_ready (zpar_task_runner_t *tr)
{
    size_t from = 0;
    if (!tr->nready)
        return;
    if (tr->outbox.head) {
        /* after what waits already */
        ready_to_outbox (tr, 0);
        return;
    }
    while (from < tr->nready) {
        size_t to = from + 1;
        int rc;
        while (to < tr->nready && same_env (tr->ready[from], tr->ready[to]))
            to++;
        if (to - from == 1)
            rc = tr->ops.send (tr->ops.arg, ZPAR_ENGINE_Q_TASK, tr->ready[from]);
        else {
            size_t i;
            zpar__batch_reset (tr->batch);
            for (i = from; i < to; i++)
                if (zpar__batch_add_msg (tr->batch, tr->ready[i]) < 0)
                    break;
            to = i > from + 1 ? i : from + 1; /* what fits; the rest next */
            if (to == from + 1) {
                zpar__batch_reset (tr->batch);
                rc = tr->ops.send (tr->ops.arg, ZPAR_ENGINE_Q_TASK, tr->ready[from]);
            } else {
                rc = tr->ops.send_batch (tr->ops.arg, ZPAR_ENGINE_Q_TASK, tr->batch,
                                         tr->ready[from]->nenv, tr->ready[from]->env);
                if (rc == 0) {
                    tr->batches++;
                    tr->batched += to - from;
                }
            }
        }
        if (rc < 0) {
            ready_to_outbox (tr, from);
            return;
        }
        for (size_t i = from; i < to; i++)
            keep_recent (tr, ZPAR_ENGINE_Q_TASK, tr->ready[i]);
        from = to;
    }
    tr->nready = 0;
}

void zpar__tr_hold (zpar_task_runner_t *tr)
{
    tr->hold++;
}

void zpar__tr_release (zpar_task_runner_t *tr)
{
    if (tr->hold && --tr->hold == 0)
        zpar__tr_flush_ready (tr);
}

void zpar__task_runner_flush (zpar_task_runner_t *tr)
{
    if (!tr)
        return;
    ready_to_outbox (tr, 0);
    while (tr->outbox.head) {
        qent_t *o = tr->outbox.head;
        o->m->hdr.engine = tr->id;
        if (tr->ops.send (tr->ops.arg, o->q, o->m) < 0)
            break;
        (void)zpar__tr_ql_pop (&tr->outbox);
        keep_recent (tr, o->q, o->m);
        free (o);
    }
    if (tr->outbox.head && !zpar__watcher_active (tr->w_retry))
        zpar__timer_watcher_reset (tr->w_retry, OUTBOX_RETRY_MS, 0);
}

/* Send m (a result) on queue q, or keep it for later.  Takes m. */
void zpar__tr_send_result (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t *m)
{
    qent_t *o;
    /* inside a turn of the loop: with the other results of the turn */
    if (tr->hold && tr->batching && q == ZPAR_ENGINE_Q_TASK) {
        if (!tr->nready)
            tr->ready_since = zpar__mono_us ();
        tr->ready[tr->nready++] = m;
        if (tr->nready == ZPAR_BATCH_MAX)
            zpar__tr_flush_ready (tr);
        return;
    }
    if (!tr->outbox.head && tr->ops.send (tr->ops.arg, q, m) == 0) {
        keep_recent (tr, q, m);
        return;
    }
    if (!(o = calloc (1, sizeof (*o)))) {
        zpar__err ("out of memory: result of task %" PRIu64 " lost", m->hdr.task);
        zpar__msg_destroy (m);
        return;
    }
    o->m = m;
    o->q = q;
    zpar__tr_ql_push (&tr->outbox, o);
    if (!zpar__watcher_active (tr->w_retry))
        zpar__timer_watcher_reset (tr->w_retry, OUTBOX_RETRY_MS, 0);
}

/* Take the entries of task out of list l (freed); how many. */
int zpar__tr_ready_remove (zpar_task_runner_t *tr, zpar_tid_t task)
{
    size_t k = 0;
    int n = 0;
    for (size_t i = 0; i < tr->nready; i++) {
        if (tr->ready[i]->hdr.task == task.v) {
            zpar__tr_msg_put (tr, tr->ready[i]);
            n++;
        } else
            tr->ready[k++] = tr->ready[i];
    }
    tr->nready = k;
    return n;
}

int zpar__tr_ql_remove (zpar_task_runner_t *tr, qlist_t *l, zpar_tid_t task, int outbox)
{
    qent_t **pp = &l->head, *prev = NULL;
    int n = 0;
    while (*pp) {
        qent_t *t = *pp;
        if (outbox ? t->m->hdr.task == task.v : zpar__tid_eq (t->t.h.task, task)) {
            *pp = t->next;
            if (l->tail == t)
                l->tail = prev;
            l->len--;
            if (outbox) {
                zpar__tr_msg_put (tr, t->m);
                free (t);
            } else
                zpar__tr_qent_free (tr, t);
            n++;
            continue;
        }
        prev = t;
        pp = &t->next;
    }
    return n;
}
