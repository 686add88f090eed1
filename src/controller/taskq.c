/* taskq.c - the load-balanced task scheduler. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "error.h"
#include "idmap.h"
#include "log.h"
#include "sockutil.h"
#include "taskq.h"
#include "wire.h"
#include "zpar.h"

#define DRAIN_MAX 4096
#define FINISHED_MAX (1u << 16) /* remembered outcomes; older ones are asked of the hub */
#define ATTEMPT_MASK 0xffu

typedef struct qtask {
    zpar_frames_t f; /* [client id, delim, sig, hdr, body] */
    zpar_hdr_t hdr;
    uint64_t id;
    int64_t priority;
    uint64_t order;
    unsigned retries_left;
    unsigned attempts;
    uint32_t *targets;
    size_t ntargets;
    uint64_t *after;
    size_t nafter;
    size_t unmet;
    uint32_t engine;      /* running on, 0 if not */
    uint32_t last_engine; /* where it last ran */
    int aborted;
    int in_heap;
    int stealing;     /* asked its engine to give it back (not started yet) */
    int unstealable;  /* its engine had started it when we asked */
} qtask_t;

typedef struct {
    int alive;
    int in_idle;
    int connected;      /* a send to it has succeeded, or it has answered */
    int waiting;        /* registered but its task socket not connected yet */
    uint64_t retry_us;  /* when to try it again (monotonic) */
    qtask_t **out;      /* tasks sent to it, oldest first (the first is running) */
    unsigned nout;
    unsigned outcap;
    unsigned outstanding;
    char ident[16];
    size_t identlen;
} qengine_t;

typedef struct {
    qtask_t **v;
    size_t n;
    size_t cap;
} heap_t;

typedef struct {
    uint32_t *v;
    size_t n;
    size_t cap;
} idlestack_t;

typedef struct waiter {
    qtask_t *t;
    struct waiter *next;
} waiter_t;

struct zpar_taskq {
    int pure;
    unsigned hwm;
    void *client;
    void *engine;
    void *monitor;
    void *pipe;
    zpar_signer_t *signer;
    pthread_t thread;
    int started;
    volatile uint64_t dropped;

    qengine_t *engines; /* indexed by engine id */
    uint32_t nengines;  /* array size */
    idlestack_t *idle;  /* [hwm] stacks of engine ids, by outstanding count */
    heap_t ready;
    qtask_t **parked; /* ready tasks no current engine may take (targets) */
    size_t nparked;
    size_t parkedcap;
    zpar_idmap_t *queued;   /* id -> qtask (ready, parked or waiting) */
    zpar_idmap_t *running;  /* id -> qtask */
    zpar_idmap_t *waiting;  /* dep id -> waiter list */
    zpar_idmap_t *finished; /* id -> (void *)1 ok, (void *)2 not ok */
    uint64_t order;
    zpar_msg_t *scratch;
    unsigned nwaiting; /* engines in the waiting state */
    unsigned nstealing; /* steal requests in flight */
    uint64_t stolen;    /* tasks moved from a busy engine's queue to an idle one */
};

/* ------------------------------------------------------------------ heap */

static int before (const qtask_t *a, const qtask_t *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority;
    return a->order < b->order;
}

static int heap_push (heap_t *h, qtask_t *t)
{
    size_t i;
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 1024;
        qtask_t **nv = realloc (h->v, nc * sizeof (*nv));
        if (!nv)
            return -1;
        h->v = nv;
        h->cap = nc;
    }
    i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before (t, h->v[p]))
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = t;
    t->in_heap = 1;
    return 0;
}

static qtask_t *heap_pop (heap_t *h)
{
    qtask_t *top, *last;
    size_t i = 0;
    if (h->n == 0)
        return NULL;
    top = h->v[0];
    last = h->v[--h->n];
    while (1) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before (h->v[c + 1], h->v[c]))
            c++;
        if (!before (h->v[c], last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    top->in_heap = 0;
    return top;
}

/* ---------------------------------------------------------------- tasks */

static void task_free (qtask_t *t)
{
    if (t) {
        zpar__frames_close (&t->f);
        free (t->targets);
        free (t->after);
        free (t);
    }
}

static void monitor_frames (zpar_taskq_t *q, const char *tag, zpar_frames_t *f, const zpar_hdr_t *h)
{
    zmq_msg_t m;
    uint8_t hb[ZPAR_HDR_LEN];
    if (zmq_send (q->monitor, tag, strlen (tag), ZMQ_SNDMORE) < 0)
        return;
    for (int i = f->delim; i < f->n; i++) {
        int more = i < f->n - 1 ? ZMQ_SNDMORE : 0;
        if (h && i == f->delim + 2) {
            zpar__hdr_encode (h, hb);
            zmq_send (q->monitor, hb, sizeof (hb), more);
            continue;
        }
        zmq_msg_init (&m);
        zmq_msg_copy (&m, &f->part[i]);
        if (zmq_msg_send (&m, q->monitor, more) < 0)
            zmq_msg_close (&m);
    }
}

/* Send a result we produce ourselves to the task's client and the hub. */
static void answer (zpar_taskq_t *q, qtask_t *t, zpar_status_t status, const char *text)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_RESULT);
    if (!m)
        return;
    m->hdr.task = t->id;
    m->hdr.client = t->hdr.client;
    m->hdr.engine = t->last_engine;
    zpar__msg_add_u64 (m, ZPAR_F_STATUS, (uint64_t)status);
    zpar__msg_add_u64 (m, ZPAR_F_EXIT, (uint64_t)-1);
    zpar__msg_add_str (m, ZPAR_F_ERROR, text);
    zpar__msg_add_u64 (m, ZPAR_F_ATTEMPT, t->attempts);
    zpar__msg_push_ident (m, zmq_msg_data (&t->f.part[0]), zmq_msg_size (&t->f.part[0]));
    (void)zpar__wire_send (q->client, q->signer, m, ZMQ_DONTWAIT);
    m->nenv = 0;
    zpar__msg_push_ident (m, "task_out", 8);
    (void)zpar__wire_send (q->monitor, q->signer, m, ZMQ_DONTWAIT);
    zpar__msg_destroy (m);
}

static void mark_finished (zpar_taskq_t *q, uint64_t id, int ok);

static void fail_task (zpar_taskq_t *q, qtask_t *t, zpar_status_t status, const char *text)
{
    uint64_t id = t->id;
    answer (q, t, status, text);
    zpar__idmap_del (q->queued, id);
    task_free (t);
    mark_finished (q, id, 0);
}

static int engine_ok_for (const qtask_t *t, uint32_t eid)
{
    if (!t->ntargets)
        return 1;
    for (size_t i = 0; i < t->ntargets; i++)
        if (t->targets[i] == eid)
            return 1;
    return 0;
}

/* Engines with spare capacity sit in one stack per outstanding count
 * (level 0: idle, ..., hwm-1), so the least-loaded engine is found in
 * O(1).  Entries are validated lazily: an engine's in_idle records the
 * level of its live entry (level + 1; 0 = none), older entries are stale. */
static void idle_push (zpar_taskq_t *q, uint32_t eid)
{
    qengine_t *e = &q->engines[eid];
    unsigned lvl = e->outstanding;
    idlestack_t *st;
    if (!e->alive || e->waiting || lvl >= q->hwm || e->in_idle == (int)lvl + 1)
        return;
    st = &q->idle[lvl];
    if (st->n == st->cap) {
        size_t nc = st->cap ? st->cap * 2 : 64;
        uint32_t *n = realloc (st->v, nc * sizeof (*n));
        if (!n)
            return;
        st->v = n;
        st->cap = nc;
    }
    st->v[st->n++] = eid;
    e->in_idle = (int)lvl + 1;
}

static void out_add (qengine_t *e, qtask_t *t)
{
    if (e->nout == e->outcap) {
        unsigned nc = e->outcap ? e->outcap * 2 : 8;
        qtask_t **n = realloc (e->out, nc * sizeof (*n));
        if (!n)
            return; /* only stealing needs the list: it skips this task */
        e->out = n;
        e->outcap = nc;
    }
    e->out[e->nout++] = t;
}

static void out_del (qengine_t *e, qtask_t *t)
{
    for (unsigned i = 0; i < e->nout; i++) {
        if (e->out[i] == t) {
            memmove (&e->out[i], &e->out[i + 1], (e->nout - i - 1) * sizeof (*e->out));
            e->nout--;
            return;
        }
    }
}

/* Least-load pick: an idle engine when the task may go anywhere, else
 * the allowed live engine with the fewest outstanding tasks. */
static uint32_t pick_engine (zpar_taskq_t *q, const qtask_t *t)
{
    uint32_t best = 0;
    unsigned best_out = 0;
    if (!t->ntargets) {
        for (unsigned lvl = 0; lvl < q->hwm; lvl++) {
            idlestack_t *st = &q->idle[lvl];
            while (st->n) {
                uint32_t eid = st->v[--st->n];
                qengine_t *e = &q->engines[eid];
                if (e->in_idle != (int)lvl + 1)
                    continue; /* stale: it moved to another level */
                e->in_idle = 0;
                if (e->alive && !e->waiting && e->outstanding == lvl)
                    return eid;
            }
        }
        return 0;
    }
    for (uint32_t eid = 1; eid < q->nengines; eid++) {
        qengine_t *e = &q->engines[eid];
        if (!e->alive || e->waiting || e->outstanding >= q->hwm || !engine_ok_for (t, eid))
            continue;
        if (!best || e->outstanding < best_out || (e->outstanding == best_out && best == t->last_engine)) {
            best = eid;
            best_out = e->outstanding;
        }
    }
    return best;
}

static void park (zpar_taskq_t *q, qtask_t *t)
{
    if (q->nparked == q->parkedcap) {
        size_t nc = q->parkedcap ? q->parkedcap * 2 : 64;
        qtask_t **n = realloc (q->parked, nc * sizeof (*n));
        if (!n) {
            fail_task (q, t, ZPAR_STATUS_ERROR, "scheduler out of memory");
            return;
        }
        q->parked = n;
        q->parkedcap = nc;
    }
    q->parked[q->nparked++] = t;
}

static void unpark_all (zpar_taskq_t *q)
{
    for (size_t i = 0; i < q->nparked; i++)
        heap_push (&q->ready, q->parked[i]);
    q->nparked = 0;
}

static int send_to_engine (zpar_taskq_t *q, qtask_t *t, uint32_t eid)
{
    qengine_t *e = &q->engines[eid];
    zpar_frames_t copy;
    zpar_hdr_t h = t->hdr;

    h.engine = eid;
    h.flags = (h.flags & ~ATTEMPT_MASK) | ((t->attempts + 1) > ATTEMPT_MASK ? ATTEMPT_MASK : (t->attempts + 1));
    if (zpar__frames_resign (q->signer, &t->f, &h) < 0)
        return -1;
    if (zpar__frames_copy (&copy, &t->f) < 0)
        return -1;
    if (zmq_send (q->engine, e->ident, e->identlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        zpar__frames_close (&copy);
        return -1;
    }
    if (zpar__frames_send (q->engine, &copy, 0, ZMQ_DONTWAIT) < 0)
        return -1;
    e->connected = 1;
    out_add (e, t);
    t->attempts++;
    t->engine = eid;
    t->last_engine = eid;
    e->outstanding++;
    idle_push (q, eid);
    zpar__idmap_del (q->queued, t->id);
    zpar__idmap_put (q->running, t->id, t);
    monitor_frames (q, "task_run", &t->f, &h);
    return 0;
}

static void engine_gone (zpar_taskq_t *q, uint32_t eid, const char *why);

/* Work stealing.  With more than one task outstanding per engine (the
 * high-water mark), an engine can hold a queued task that has not started
 * while another engine sits idle.  When an engine goes idle and nothing is
 * ready, ask the busiest engine to give back its newest not-yet-started
 * task (an ABORT on the task queue); the engine answers with an "aborted"
 * result if the task had not started (we requeue it: it goes to the idle
 * engine) or a control reply if it had (we leave it). */
static void steal (zpar_taskq_t *q)
{
    unsigned idle = 0;
    if (q->hwm < 2 || q->ready.n)
        return;
    for (uint32_t eid = 1; eid < q->nengines; eid++) {
        qengine_t *e = &q->engines[eid];
        if (e->alive && !e->waiting && e->outstanding == 0)
            idle++;
    }
    while (idle > q->nstealing) {
        qengine_t *victim = NULL;
        uint32_t vid = 0;
        qtask_t *t = NULL;
        zpar_msg_t *m;
        for (uint32_t eid = 1; eid < q->nengines; eid++) {
            qengine_t *e = &q->engines[eid];
            if (e->alive && e->nout >= 2 && (!victim || e->nout > victim->nout)) {
                /* its newest task that may still be waiting */
                for (unsigned i = e->nout; i-- > 1;) {
                    qtask_t *c = e->out[i];
                    if (!c->stealing && !c->unstealable && !c->ntargets) {
                        victim = e;
                        vid = eid;
                        t = c;
                        break;
                    }
                }
            }
        }
        if (!t || !(m = zpar__msg_create (ZPAR_MSG_ABORT)))
            return;
        m->hdr.task = t->id;
        m->hdr.client = t->hdr.client;
        m->hdr.engine = vid;
        zpar__msg_push_ident (m, victim->ident, victim->identlen);
        zpar__msg_push_ident (m, "sched", 5);
        if (zpar__wire_send (q->engine, q->signer, m, ZMQ_DONTWAIT) == 0) {
            t->stealing = 1;
            q->nstealing++;
        }
        else
            t->unstealable = 1;
        zpar__msg_destroy (m);
    }
}

static void dispatch (zpar_taskq_t *q)
{
    while (q->ready.n) {
        qtask_t *t = heap_pop (&q->ready);
        uint32_t eid;
        if (t->aborted) {
            task_free (t);
            continue;
        }
        eid = pick_engine (q, t);
        if (!eid) {
            if (!t->ntargets) {
                /* nobody free: put it back and wait for capacity */
                heap_push (&q->ready, t);
                return;
            }
            park (q, t);
            continue;
        }
        if (send_to_engine (q, t, eid) < 0) {
            int e = errno;
            qengine_t *en = &q->engines[eid];
            heap_push (&q->ready, t);
            if (e != EHOSTUNREACH) {
                idle_push (q, eid);
                return;
            }
            if (en->connected)
                engine_gone (q, eid, "disconnected");
            else {
                /* registered with the hub, but its task socket is not
                 * connected yet: try it again in a moment */
                en->waiting = 1;
                en->retry_us = zpar__mono_us () + 5000;
                q->nwaiting++;
            }
        }
    }
}

static void make_ready (zpar_taskq_t *q, qtask_t *t)
{
    if (heap_push (&q->ready, t) < 0)
        fail_task (q, t, ZPAR_STATUS_ERROR, "scheduler out of memory");
}

static void mark_finished (zpar_taskq_t *q, uint64_t id, int ok)
{
    waiter_t *w;
    if (zpar__idmap_size (q->finished) >= FINISHED_MAX) {
        /* start afresh (and give the memory back): older outcomes are
         * asked of the hub, which has them all in its records */
        zpar_idmap_t *n = zpar__idmap_create ();
        if (n) {
            zpar__idmap_destroy (q->finished);
            q->finished = n;
        }
        else
            zpar__idmap_clear (q->finished);
    }
    zpar__idmap_put (q->finished, id, (void *)(uintptr_t)(ok ? 1 : 2));
    w = zpar__idmap_del (q->waiting, id);
    while (w) {
        waiter_t *next = w->next;
        qtask_t *t = w->t;
        free (w);
        if (!t->aborted) {
            if (ok) {
                if (t->unmet && --t->unmet == 0)
                    make_ready (q, t);
            }
            else if (t->unmet) {
                char text[128], ids[32];
                zpar_task_id_format ((zpar_task_id_t){id}, ids, sizeof (ids));
                snprintf (text, sizeof (text), "task %s, which this task runs after, did not succeed",
                          ids);
                t->unmet = 0;
                fail_task (q, t, ZPAR_STATUS_DEPENDENCY, text);
            }
        }
        else if (t->unmet && --t->unmet == 0)
            task_free (t);
        w = next;
    }
}

static void engine_gone (zpar_taskq_t *q, uint32_t eid, const char *why)
{
    qengine_t *e;
    size_t pos = 0, n = 0, cap = 0;
    uint64_t id, *ids = NULL;
    qtask_t *t;

    if (eid == 0 || eid >= q->nengines || !q->engines[eid].alive)
        return;
    e = &q->engines[eid];
    e->alive = 0;
    e->outstanding = 0;
    if (e->waiting && q->nwaiting)
        q->nwaiting--;
    e->waiting = 0;
    e->nout = 0;
    while ((t = zpar__idmap_next (q->running, &pos, &id))) {
        if (t->engine != eid)
            continue;
        if (n == cap) {
            uint64_t *ni = realloc (ids, (cap = cap ? cap * 2 : 16) * sizeof (*ni));
            if (!ni)
                break;
            ids = ni;
        }
        ids[n++] = id;
    }
    for (size_t i = 0; i < n; i++) {
        t = zpar__idmap_del (q->running, ids[i]);
        t->engine = 0;
        if (t->stealing && q->nstealing)
            q->nstealing--;
        t->stealing = 0;
        if (t->retries_left > 0) {
            t->retries_left--;
            zpar__info ("task %llu: engine %u %s, retrying elsewhere", (unsigned long long)t->id,
                        eid, why);
            zpar__idmap_put (q->queued, t->id, t);
            make_ready (q, t);
        }
        else {
            char text[160];
            snprintf (text, sizeof (text), "engine %u died while running this task (attempt %u, no retries left)",
                      eid, t->attempts);
            fail_task (q, t, ZPAR_STATUS_ENGINE_DIED, text);
        }
    }
    free (ids);
}

static void engine_up (zpar_taskq_t *q, uint32_t eid)
{
    if (eid == 0 || eid > 1u << 24)
        return;
    if (eid >= q->nengines) {
        uint32_t n = q->nengines ? q->nengines : 16;
        qengine_t *ne;
        while (n <= eid)
            n *= 2;
        if (!(ne = realloc (q->engines, n * sizeof (*ne))))
            return;
        memset (ne + q->nengines, 0, (n - q->nengines) * sizeof (*ne));
        q->engines = ne;
        q->nengines = n;
    }
    if (q->engines[eid].alive)
        engine_gone (q, eid, "re-registered"); /* a restart: its old tasks are lost */
    q->engines[eid].alive = 1;
    q->engines[eid].outstanding = 0;
    q->engines[eid].connected = 0;
    if (q->engines[eid].waiting && q->nwaiting)
        q->nwaiting--;
    q->engines[eid].waiting = 0;
    q->engines[eid].identlen = (size_t)snprintf (q->engines[eid].ident, sizeof (q->engines[eid].ident), "e%u", eid);
    idle_push (q, eid);
    unpark_all (q);
}

/* ------------------------------------------------------------ messages */

static void drop (zpar_taskq_t *q, const char *side, const char *why)
{
    q->dropped++;
    zpar__warn ("task scheduler: %s message dropped: %s", side, why);
}

static void ask_hub_dep (zpar_taskq_t *q, uint64_t dep)
{
    zmq_send (q->pipe, "dep?", 4, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (q->pipe, &dep, sizeof (dep), ZMQ_DONTWAIT);
}

static void handle_abort (zpar_taskq_t *q, zpar_frames_t *f, const zpar_hdr_t *h)
{
    qtask_t *t = zpar__idmap_get (q->queued, h->task);
    qtask_t *r = zpar__idmap_get (q->running, h->task);
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_CONTROL_REPLY);
    if (t && !t->aborted) {
        t->aborted = 1;
        zpar__idmap_del (q->queued, t->id);
        answer (q, t, ZPAR_STATUS_ABORTED, "aborted before it ran");
        mark_finished (q, t->id, 0);
        if (!t->in_heap) {
            /* parked or waiting: remove from parked now; waiting lists free it later */
            for (size_t i = 0; i < q->nparked; i++) {
                if (q->parked[i] == t) {
                    q->parked[i] = q->parked[--q->nparked];
                    task_free (t);
                    break;
                }
            }
        }
    }
    if (m) {
        m->hdr.task = h->task;
        m->hdr.client = h->client;
        zpar__msg_add_u64 (m, ZPAR_F_COUNT, t ? 1 : 0);
        if (r)
            zpar__msg_add_u64 (m, ZPAR_F_ENGINE_ID, r->engine);
        zpar__msg_push_ident (m, zmq_msg_data (&f->part[0]), zmq_msg_size (&f->part[0]));
        (void)zpar__wire_send (q->client, q->signer, m, ZMQ_DONTWAIT);
        zpar__msg_destroy (m);
    }
}

static void new_task (zpar_taskq_t *q, zpar_frames_t *f, const zpar_hdr_t *h)
{
    zpar_error_t err;
    qtask_t *t;
    zpar_msg_t *m = q->scratch;
    size_t n;

    if (zpar__frames_decode (f, m, &err) < 0) {
        drop (q, "client", err.text);
        zpar__frames_close (f);
        return;
    }
    if (!(t = calloc (1, sizeof (*t)))) {
        zpar__frames_close (f);
        return;
    }
    t->f = *f;
    f->n = 0;
    t->hdr = *h;
    t->id = h->task;
    t->order = ++q->order;
    t->priority = (int64_t)zpar__msg_u64_or (m, ZPAR_F_PRIORITY, 0);
    t->retries_left = (unsigned)zpar__msg_u64_or (m, ZPAR_F_RETRIES, 0);
    if ((n = zpar__msg_count (m, ZPAR_F_TARGET))) {
        if ((t->targets = calloc (n, sizeof (*t->targets)))) {
            for (size_t i = 0; i < n; i++) {
                uint64_t v = 0;
                zpar__msg_get_u64_at (m, ZPAR_F_TARGET, i, &v);
                t->targets[i] = (uint32_t)v;
            }
            t->ntargets = n;
        }
    }
    monitor_frames (q, "task_in", &t->f, NULL);
    if (t->id == 0 || zpar__idmap_get (q->queued, t->id) || zpar__idmap_get (q->running, t->id)) {
        fail_task (q, t, ZPAR_STATUS_ERROR, "duplicate or missing task id");
        return;
    }
    zpar__idmap_put (q->queued, t->id, t);
    if ((n = zpar__msg_count (m, ZPAR_F_AFTER))) {
        for (size_t i = 0; i < n; i++) {
            uint64_t dep = 0;
            uintptr_t st;
            zpar__msg_get_u64_at (m, ZPAR_F_AFTER, i, &dep);
            st = (uintptr_t)zpar__idmap_get (q->finished, dep);
            if (st == 1)
                continue;
            if (st == 2) {
                char text[128], ids[32];
                zpar_task_id_format ((zpar_task_id_t){dep}, ids, sizeof (ids));
                snprintf (text, sizeof (text), "task %s, which this task runs after, did not succeed",
                          ids);
                /* undo waits registered so far: they free themselves later */
                t->aborted = t->unmet > 0;
                if (t->unmet) {
                    zpar__idmap_del (q->queued, t->id);
                    answer (q, t, ZPAR_STATUS_DEPENDENCY, text);
                    mark_finished (q, t->id, 0);
                }
                else
                    fail_task (q, t, ZPAR_STATUS_DEPENDENCY, text);
                return;
            }
            {
                waiter_t *w = malloc (sizeof (*w));
                if (!w)
                    continue;
                w->t = t;
                w->next = zpar__idmap_get (q->waiting, dep);
                zpar__idmap_put (q->waiting, dep, w);
                t->unmet++;
                ask_hub_dep (q, dep);
            }
        }
    }
    if (t->unmet == 0)
        make_ready (q, t);
}

static void from_client (zpar_taskq_t *q)
{
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        zpar_hdr_t h;
        zpar_error_t err;
        if (zpar__frames_recv (q->client, &f, ZMQ_DONTWAIT) < 0) {
            if (errno == EPROTO) {
                drop (q, "client", "too many frames");
                continue;
            }
            return;
        }
        if (zpar__frames_check (q->signer, &f, &h, &err) < 0) {
            drop (q, "client", err.text);
            zpar__frames_close (&f);
            continue;
        }
        if (f.delim != 1 || (h.type != ZPAR_MSG_TASK && h.type != ZPAR_MSG_ABORT)) {
            drop (q, "client", "not a task or abort request");
            zpar__frames_close (&f);
            continue;
        }
        if (q->pure) {
            monitor_frames (q, "task_in", &f, NULL);
            (void)zpar__frames_send (q->engine, &f, 0, ZMQ_DONTWAIT);
            continue;
        }
        if (h.type == ZPAR_MSG_ABORT) {
            handle_abort (q, &f, &h);
            zpar__frames_close (&f);
            continue;
        }
        new_task (q, &f, &h);
    }
}

static void from_engine (zpar_taskq_t *q)
{
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        zpar_hdr_t h;
        zpar_error_t err;
        qtask_t *t;
        int from = q->pure ? 0 : 1;
        uint64_t status;

        if (zpar__frames_recv (q->engine, &f, ZMQ_DONTWAIT) < 0) {
            if (errno == EPROTO) {
                drop (q, "engine", "too many frames");
                continue;
            }
            return;
        }
        if (zpar__frames_check (q->signer, &f, &h, &err) < 0) {
            drop (q, "engine", err.text);
            zpar__frames_close (&f);
            continue;
        }
        if (f.delim != from + 1 || (h.type != ZPAR_MSG_RESULT && !(h.type == ZPAR_MSG_CONTROL_REPLY && !q->pure))) {
            drop (q, "engine", "not a result");
            zpar__frames_close (&f);
            continue;
        }
        if (h.type == ZPAR_MSG_CONTROL_REPLY) {
            /* answer to a steal: the task had already started */
            t = zpar__idmap_get (q->running, h.task);
            if (t && t->stealing) {
                t->stealing = 0;
                t->unstealable = 1;
                if (q->nstealing)
                    q->nstealing--;
            }
            zpar__frames_close (&f);
            continue;
        }
        if (q->pure) {
            monitor_frames (q, "task_out", &f, NULL);
            (void)zpar__frames_send (q->client, &f, 0, ZMQ_DONTWAIT);
            continue;
        }
        if (zpar__frames_decode (&f, q->scratch, &err) < 0) {
            drop (q, "engine", err.text);
            zpar__frames_close (&f);
            continue;
        }
        status = zpar__msg_u64_or (q->scratch, ZPAR_F_STATUS, ZPAR_STATUS_ERROR);
        t = zpar__idmap_get (q->running, h.task);
        if (t && h.engine && t->engine == h.engine) {
            qengine_t *e = &q->engines[t->engine];
            e->connected = 1;
            zpar__idmap_del (q->running, h.task);
            out_del (e, t);
            if (e->outstanding)
                e->outstanding--;
            idle_push (q, t->engine);
            t->engine = 0;
            if (t->stealing) {
                if (q->nstealing)
                    q->nstealing--;
                t->stealing = 0;
                if (status == ZPAR_STATUS_ABORTED) {
                    /* given back before it started: not an attempt */
                    if (t->attempts)
                        t->attempts--;
                    q->stolen++;
                    zpar__idmap_put (q->queued, t->id, t);
                    make_ready (q, t);
                    zpar__frames_close (&f);
                    continue;
                }
            }
            if (status != ZPAR_STATUS_OK && status != ZPAR_STATUS_ABORTED && t->retries_left > 0) {
                t->retries_left--;
                zpar__info ("task %llu failed on engine %u (%s), retrying",
                            (unsigned long long)t->id, h.engine,
                            zpar_status_name ((zpar_status_t)status));
                zpar__idmap_put (q->queued, t->id, t);
                make_ready (q, t);
                zpar__frames_close (&f);
                continue;
            }
            task_free (t);
        }
        else if (zpar__idmap_get (q->finished, h.task)) {
            /* a late result for a task already answered (e.g. its engine
             * was declared dead, then came back): the first answer stands */
            zpar__frames_close (&f);
            continue;
        }
        monitor_frames (q, "task_out", &f, NULL);
        mark_finished (q, h.task, status == ZPAR_STATUS_OK);
        (void)zpar__frames_send (q->client, &f, from, ZMQ_DONTWAIT);
    }
}

static void requeue_recorded (zpar_taskq_t *q, const uint8_t *buf, size_t len)
{
    zpar_frames_t f;
    zpar_hdr_t h;
    uint8_t sig[ZPAR_SIG_LEN] = {0};
    zpar_error_t err;
    const void *parts[5] = {"hub", ZPAR_PROTO_DELIM, sig, buf, buf + ZPAR_HDR_LEN};
    size_t sizes[5] = {3, strlen (ZPAR_PROTO_DELIM), ZPAR_SIG_LEN, ZPAR_HDR_LEN, len - ZPAR_HDR_LEN};
    f.n = 0;
    f.delim = 1;
    for (int i = 0; i < 5; i++) {
        if (zmq_msg_init_size (&f.part[i], sizes[i]) < 0) {
            zpar__frames_close (&f);
            return;
        }
        memcpy (zmq_msg_data (&f.part[i]), parts[i], sizes[i]);
        f.n++;
    }
    if (zpar__frames_check (NULL, &f, &h, &err) < 0 || h.type != ZPAR_MSG_TASK || h.engine != 0) {
        zpar__frames_close (&f); /* only load-balanced task requests */
        return;
    }
    f.delim = 1;
    new_task (q, &f, &h);
}

static int from_hub (zpar_taskq_t *q)
{
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        const char *cmd;
        size_t len;
        if (zpar__frames_recv (q->pipe, &f, ZMQ_DONTWAIT) < 0)
            return 0;
        cmd = zmq_msg_data (&f.part[0]);
        len = zmq_msg_size (&f.part[0]);
        if (len == 5 && memcmp (cmd, "$TERM", 5) == 0) {
            zpar__frames_close (&f);
            return 1;
        }
        if (!q->pure && len == 3 && memcmp (cmd, "req", 3) == 0 && f.n == 2
            && zmq_msg_size (&f.part[1]) >= ZPAR_HDR_LEN) {
            /* a task recorded by an earlier controller that never finished:
             * queue it again; its answer goes to the records (the client
             * that submitted it is gone; `zpar wait`/`result` read them) */
            requeue_recorded (q, zmq_msg_data (&f.part[1]), zmq_msg_size (&f.part[1]));
            zpar__frames_close (&f);
            continue;
        }
        if (!q->pure && f.n >= 2) {
            if (len == 2 && memcmp (cmd, "up", 2) == 0 && zmq_msg_size (&f.part[1]) == 4) {
                uint32_t eid;
                memcpy (&eid, zmq_msg_data (&f.part[1]), 4);
                engine_up (q, eid);
            }
            else if (len == 4 && memcmp (cmd, "down", 4) == 0 && zmq_msg_size (&f.part[1]) == 4) {
                uint32_t eid;
                memcpy (&eid, zmq_msg_data (&f.part[1]), 4);
                engine_gone (q, eid, "died");
            }
            else if (len == 4 && memcmp (cmd, "done", 4) == 0 && f.n == 3
                     && zmq_msg_size (&f.part[1]) == 8 && zmq_msg_size (&f.part[2]) == 1) {
                uint64_t id;
                memcpy (&id, zmq_msg_data (&f.part[1]), 8);
                if (!zpar__idmap_get (q->finished, id))
                    mark_finished (q, id, *(uint8_t *)zmq_msg_data (&f.part[2]) == 1);
            }
        }
        zpar__frames_close (&f);
    }
    return 0;
}

static void *taskq_thread (void *arg)
{
    zpar_taskq_t *q = arg;
    zmq_pollitem_t items[3] = {
        {q->client, 0, ZMQ_POLLIN, 0},
        {q->engine, 0, ZMQ_POLLIN, 0},
        {q->pipe, 0, ZMQ_POLLIN, 0},
    };
    while (1) {
        if (zmq_poll (items, 3, q->nwaiting ? 5 : -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (q->nwaiting) {
            uint64_t now = zpar__mono_us ();
            for (uint32_t eid = 1; eid < q->nengines; eid++) {
                qengine_t *e = &q->engines[eid];
                if (e->waiting && now >= e->retry_us) {
                    e->waiting = 0;
                    q->nwaiting--;
                    idle_push (q, eid);
                }
            }
        }
        if ((items[2].revents & ZMQ_POLLIN) && from_hub (q))
            break;
        if (items[1].revents & ZMQ_POLLIN)
            from_engine (q);
        if (items[0].revents & ZMQ_POLLIN)
            from_client (q);
        if (!q->pure) {
            dispatch (q);
            steal (q);
        }
    }
    return NULL;
}

zpar_taskq_t *zpar__taskq_start (void *ctx, const char *scheme, unsigned hwm, char *client_ep,
                                 char *engine_ep, size_t epsize, const char *monitor_ep,
                                 const char *pipe_ep, const uint8_t *key, zpar_error_t *err)
{
    zpar_taskq_t *q = calloc (1, sizeof (*q));
    int zero = 0, one = 1;
    char pep[128];

    if (!q) {
        zpar__errprintf (err, "out of memory");
        return NULL;
    }
    if (scheme && strcmp (scheme, "pure") == 0)
        q->pure = 1;
    else if (scheme && strcmp (scheme, "leastload") != 0) {
        zpar__errnoprintf (err, EINVAL, "unknown task scheme '%s': use leastload or pure", scheme);
        free (q);
        return NULL;
    }
    if (!hwm) {
        const char *env = getenv ("ZPAR_HWM");
        hwm = env && atoi (env) > 0 ? (unsigned)atoi (env) : ZPAR_TASKQ_DEFAULT_HWM;
    }
    q->hwm = hwm;
    if (!(q->idle = calloc (hwm, sizeof (*q->idle)))) {
        zpar__errprintf (err, "out of memory");
        goto error;
    }
    if (!(q->signer = zpar__signer_create (key, 0)) || !(q->scratch = zpar__msg_create (0))
        || !(q->queued = zpar__idmap_create ()) || !(q->running = zpar__idmap_create ())
        || !(q->waiting = zpar__idmap_create ()) || !(q->finished = zpar__idmap_create ())) {
        zpar__errprintf (err, "out of memory");
        goto error;
    }
    if (!(q->client = zpar__bind_socket (ctx, ZMQ_ROUTER, client_ep, epsize, err))
        || !(q->engine = zpar__bind_socket (ctx, q->pure ? ZMQ_DEALER : ZMQ_ROUTER, engine_ep,
                                            epsize, err)))
        goto error;
    if (!q->pure)
        zmq_setsockopt (q->engine, ZMQ_ROUTER_MANDATORY, &one, sizeof (one));
    snprintf (pep, sizeof (pep), "%s", pipe_ep);
    if (!(q->pipe = zpar__bind_socket (ctx, ZMQ_PAIR, pep, sizeof (pep), err)))
        goto error;
    if (!(q->monitor = zmq_socket (ctx, ZMQ_PUB))) {
        zpar__errprintf (err, "cannot create monitor socket");
        goto error;
    }
    zmq_setsockopt (q->monitor, ZMQ_SNDHWM, &zero, sizeof (zero));
    zmq_setsockopt (q->monitor, ZMQ_LINGER, &zero, sizeof (zero));
    if (zmq_connect (q->monitor, monitor_ep) < 0) {
        zpar__errprintf (err, "cannot connect monitor: %s", zmq_strerror (errno));
        goto error;
    }
    if (pthread_create (&q->thread, NULL, taskq_thread, q) != 0) {
        zpar__errprintf (err, "cannot start the task scheduler thread");
        goto error;
    }
    q->started = 1;
    return q;
error:
    zpar__taskq_stop (q);
    return NULL;
}

static void free_waiters (zpar_taskq_t *q)
{
    size_t pos = 0;
    waiter_t *w;
    while ((w = zpar__idmap_next (q->waiting, &pos, NULL))) {
        while (w) {
            waiter_t *n = w->next;
            qtask_t *t = w->t;
            if (t->unmet && --t->unmet == 0 && !t->in_heap)
                task_free (t);
            free (w);
            w = n;
        }
    }
}

void zpar__taskq_stop (zpar_taskq_t *q)
{
    size_t pos = 0;
    qtask_t *t;
    if (!q)
        return;
    if (q->started)
        pthread_join (q->thread, NULL);
    zpar__close_socket (q->client);
    zpar__close_socket (q->engine);
    zpar__close_socket (q->pipe);
    zpar__close_socket (q->monitor);
    if (q->running)
        while ((t = zpar__idmap_next (q->running, &pos, NULL)))
            task_free (t);
    for (size_t i = 0; i < q->ready.n; i++)
        task_free (q->ready.v[i]);
    for (size_t i = 0; i < q->nparked; i++)
        task_free (q->parked[i]);
    if (q->waiting)
        free_waiters (q);
    free (q->ready.v);
    free (q->parked);
    for (unsigned lvl = 0; q->idle && lvl < q->hwm; lvl++)
        free (q->idle[lvl].v);
    free (q->idle);
    for (uint32_t eid = 0; q->engines && eid < q->nengines; eid++)
        free (q->engines[eid].out);
    free (q->engines);
    zpar__idmap_destroy (q->queued);
    zpar__idmap_destroy (q->running);
    zpar__idmap_destroy (q->waiting);
    zpar__idmap_destroy (q->finished);
    zpar__msg_destroy (q->scratch);
    zpar__signer_destroy (q->signer);
    free (q);
}

uint64_t zpar__taskq_dropped (const zpar_taskq_t *q)
{
    return q ? q->dropped : 0;
}
