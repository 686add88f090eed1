/* sched_lb_state.c - the load-balanced policy's data structures: the
 * ready heap, the action FIFO, the least-load engine stacks and pick, the
 * engines' out lists, the parked list, and the read-only accessors. */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "sched_lb_state.h"

static int before (const lbtask_t *a, const lbtask_t *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority;
    return a->order < b->order;
}

int zpar__lb_heap_push (heap_t *h, lbtask_t *t)
{
    size_t i;
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 1024;
        lbtask_t **nv = realloc (h->v, nc * sizeof (*nv));
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

lbtask_t *zpar__lb_heap_pop (heap_t *h)
{
    lbtask_t *top, *last;
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

void zpar__lb_heap_remove (heap_t *h, lbtask_t *t)
{
    size_t i;
    lbtask_t *last;
    for (i = 0; i < h->n && h->v[i] != t; i++)
        ;
    if (i == h->n)
        return;
    t->in_heap = 0;
    last = h->v[--h->n];
    if (i == h->n)
        return;
    /* put last at i, then sift it up or down */
    while (i > 0 && before (last, h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    for (;;) {
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
    h->v[i] = last;
}

zpar_sched_lb_action_t *zpar__lb_act_push (zpar_sched_lb_t *s)
{
    zpar_sched_lb_action_t *a;
    if (s->acthead && s->acthead + s->nacts == s->actcap) {
        memmove (s->acts, s->acts + s->acthead, s->nacts * sizeof (*s->acts));
        s->acthead = 0;
    }
    if (s->acthead + s->nacts == s->actcap) {
        size_t nc = s->actcap ? s->actcap * 2 : 64;
        zpar_sched_lb_action_t *n = realloc (s->acts, nc * sizeof (*n));
        if (!n)
            return NULL;
        s->acts = n;
        s->actcap = nc;
    }
    a = &s->acts[s->acthead + s->nacts++];
    memset (a, 0, sizeof (*a));
    return a;
}

int zpar__lb_act_pop (zpar_sched_lb_t *s, zpar_sched_lb_action_t *act)
{
    if (!s->nacts)
        return 0;
    *act = s->acts[s->acthead++];
    if (--s->nacts == 0)
        s->acthead = 0;
    return 1;
}

int zpar__lb_engine_ok_for (const lbtask_t *t, uint32_t eid)
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
 * level of its live entry (level + 1; 0 = none), older entries are stale.
 *
 * An engine that was full (hwm outstanding) takes untargeted tasks again
 * once it is below the low mark, and is then filled up to hwm: at
 * saturation it gets hwm - low + 1 tasks in one batch instead of one
 * message per result (a wake-up of the scheduler's I/O thread, the
 * engine's I/O thread and its main thread per task).  It still holds at
 * least low - 1 tasks it has not started, and an engine below the mark
 * takes tasks as before, so a lone task goes at once. */
void zpar__lb_idle_push (zpar_sched_lb_t *s, uint32_t eid)
{
    lbengine_t *e = &s->engines[eid];
    unsigned lvl = e->outstanding;
    idlestack_t *st;
    if (lvl >= s->hwm) {
        e->filling = 0;
        return;
    }
    if (lvl < s->low)
        e->filling = 1;
    else if (!e->filling)
        return;
    if (!e->alive || e->waiting || e->in_idle == (int)lvl + 1 || e->held)
        return;
    st = &s->idle[lvl];
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

void zpar__lb_out_add (lbengine_t *e, lbtask_t *t)
{
    if (e->nout == e->outcap) {
        unsigned nc = e->outcap ? e->outcap * 2 : 8;
        lbtask_t **n = realloc (e->out, nc * sizeof (*n));
        if (!n)
            return; /* only stealing needs the list: it skips this task */
        e->out = n;
        e->outcap = nc;
    }
    e->out[e->nout++] = t;
}

void zpar__lb_out_del (lbengine_t *e, lbtask_t *t)
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
uint32_t zpar__lb_pick_engine (zpar_sched_lb_t *s, const lbtask_t *t)
{
    uint32_t best = 0;
    unsigned best_out = 0;
    if (!t->ntargets) {
        for (unsigned lvl = 0; lvl < s->hwm; lvl++) {
            idlestack_t *st = &s->idle[lvl];
            while (st->n) {
                uint32_t eid = st->v[--st->n];
                lbengine_t *e = &s->engines[eid];
                if (e->in_idle != (int)lvl + 1)
                    continue; /* stale: it moved to another level */
                e->in_idle = 0;
                if (e->alive && !e->waiting && e->outstanding == lvl && !e->held)
                    return eid;
            }
        }
        return 0;
    }
    for (uint32_t eid = 1; eid < s->nengines; eid++) {
        lbengine_t *e = &s->engines[eid];
        if (!e->alive || e->waiting || e->outstanding >= s->hwm || e->held ||
            !zpar__lb_engine_ok_for (t, eid))
            continue;
        if (!best || e->outstanding < best_out ||
            (e->outstanding == best_out && best == t->last_engine)) {
            best = eid;
            best_out = e->outstanding;
        }
    }
    return best;
}

int zpar__lb_park_del (zpar_sched_lb_t *s, lbtask_t *t)
{
    for (size_t i = 0; i < s->nparked; i++) {
        if (s->parked[i] == t) {
            memmove (&s->parked[i], &s->parked[i + 1], (s->nparked - i - 1) * sizeof (*s->parked));
            s->nparked--;
            return 1;
        }
    }
    return 0;
}

unsigned zpar__sched_lb_hwm (const zpar_sched_lb_t *s)
{
    return s ? s->hwm : 0;
}

void zpar__sched_lb_set_low (zpar_sched_lb_t *s, unsigned low)
{
    if (!s)
        return;
    s->low = low && low < s->hwm ? low : s->hwm;
    /* engines between the marks now: as if refilling (no task is held back) */
    for (uint32_t eid = 1; eid < s->nengines; eid++) {
        s->engines[eid].filling = 1;
        zpar__lb_idle_push (s, eid);
    }
}

unsigned zpar__sched_lb_waiting_engines (const zpar_sched_lb_t *s)
{
    if (!s)
        return 0;
    return s->nwaiting + (s->gang ? zpar__gang_waiting (s) : 0);
}

void zpar__sched_lb_now (zpar_sched_lb_t *s, uint64_t now_us)
{
    if (s)
        s->now_us = now_us;
}

int zpar__sched_lb_engine_res (zpar_sched_lb_t *s, zpar_eid_t engine, unsigned cores,
                               const char *slot, uint64_t node_mem)
{
    if (!s || engine.v == 0 || engine.v > ZPAR_SCHED_LB_MAX_ENGINE || !slot) {
        errno = EINVAL;
        return -1;
    }
    return zpar__gang_engine_res (s, engine.v, cores, slot, node_mem);
}

unsigned zpar__sched_lb_outstanding (const zpar_sched_lb_t *s, zpar_eid_t engine)
{
    uint32_t eid = engine.v;
    if (!s || eid == 0 || eid >= s->nengines || !s->engines[eid].alive)
        return 0;
    return s->engines[eid].outstanding;
}

void zpar__sched_lb_stats (const zpar_sched_lb_t *s, zpar_sched_lb_stats_t *st)
{
    size_t pos = 0;
    lbtask_t *t;
    if (!st)
        return;
    memset (st, 0, sizeof (*st));
    if (!s)
        return;
    for (size_t i = 0; i < s->ready.n; i++)
        if (!s->ready.v[i]->aborted)
            st->ready++;
    st->parked = s->nparked;
    while ((t = zpar__idmap_next (s->queued, &pos, NULL)))
        if (t->unmet)
            st->waiting++;
    st->running = zpar__idmap_size (s->running);
    st->stealing = s->nstealing;
    st->stolen = s->stolen;
    st->engines = s->nlive;
    st->duplicates = s->duplicates;
    st->dup_submits = s->dup_submits;
    st->adopted = s->adopted;
    st->fenced = s->fenced;
    st->settles = s->settles;
}

uint64_t zpar__sched_lb_dropped_dups (const zpar_sched_lb_t *s)
{
    return s ? s->duplicates + s->dup_submits : 0;
}

lbtask_t *zpar__lb_steal_candidate (zpar_sched_lb_t *s, uint32_t *eid)
{
    lbengine_t *victim = NULL;
    lbtask_t *t = NULL;
    for (uint32_t id = 1; id < s->nengines; id++) {
        lbengine_t *e = &s->engines[id];
        if (e->alive && e->nout >= 2 && (!victim || e->nout > victim->nout)) {
            /* its newest task that may still be waiting */
            for (unsigned i = e->nout; i-- > 1;) {
                lbtask_t *c = e->out[i];
                if (!c->stealing && !c->unstealable && !c->ntargets && !c->gang) {
                    victim = e;
                    *eid = id;
                    t = c;
                    break;
                }
            }
        }
    }
    return t;
}

int zpar__lb_park (zpar_sched_lb_t *s, lbtask_t *t)
{
    if (s->nparked == s->parkedcap) {
        size_t nc = s->parkedcap ? s->parkedcap * 2 : 64;
        lbtask_t **n = realloc (s->parked, nc * sizeof (*n));
        if (!n)
            return -1;
        s->parked = n;
        s->parkedcap = nc;
    }
    s->parked[s->nparked++] = t;
    return 0;
}

/* A new task from its description (payload taken on success); NULL
 * ENOMEM. */
lbtask_t *zpar__lb_task_new (zpar_sched_lb_t *s, const zpar_sched_lb_task_t *in)
{
    lbtask_t *t = calloc (1, sizeof (*t));
    if (!t)
        return NULL;
    if (in->ntargets) {
        if (!(t->targets = malloc (in->ntargets * sizeof (*t->targets)))) {
            free (t);
            errno = ENOMEM;
            return NULL;
        }
        for (size_t i = 0; i < in->ntargets; i++)
            t->targets[i] = in->targets[i].v;
        t->ntargets = in->ntargets;
    }
    t->payload = in->payload;
    t->id = in->id.v;
    t->client = in->client.v;
    t->priority = in->priority;
    t->retries_left = in->retries;
    t->order = ++s->order;
    if (__builtin_expect (in->timeout_ms != 0, 0))
        t->timeout_s = in->timeout_ms > 4294967295000ull
                           ? UINT32_MAX
                           : (uint32_t)((in->timeout_ms + 999) / 1000);
    if (__builtin_expect (in->res != NULL, 0) &&
        (in->res->cores > 1 || in->res->gpus || in->res->memory || in->res->ranks) &&
        !(t->gang = zpar__gang_task_new (in->res))) {
        free (t->targets);
        free (t);
        errno = ENOMEM;
        return NULL;
    }
    return t;
}

/* Take queued task t out of the ready heap or the parked list: 1, or 0
 * when it waits for dependencies (it stays). */
int zpar__lb_unqueue (zpar_sched_lb_t *s, lbtask_t *t)
{
    if (t->unmet)
        return 0;
    if (t->in_heap)
        zpar__lb_heap_remove (&s->ready, t);
    else if (!zpar__lb_park_del (s, t) && !(t->gang && zpar__gang_unready (s, t)))
        return 0;
    zpar__idmap_del (s->queued, t->id);
    return 1;
}

/* A fresh empty map in place of *m (kept when out of memory). */
static void idmap_renew (zpar_idmap_t **m)
{
    zpar_idmap_t *n;
    if (zpar__idmap_size (*m) || !(n = zpar__idmap_create ()))
        return;
    zpar__idmap_destroy (*m);
    *m = n;
}

unsigned zpar__lb_finished_get (const zpar_sched_lb_t *s, uint64_t id)
{
    size_t lo = 0, hi = s->narch;
    uintptr_t v = (uintptr_t)zpar__idmap_get (s->finished, id);
    if (v)
        return (unsigned)v;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->arch[mid] == id)
            return s->arch_ok[mid];
        if (s->arch[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

void zpar__lb_finished_reset (zpar_sched_lb_t *s)
{
    /* a new map gives the memory back */
    zpar_idmap_t *n = zpar__idmap_create ();
    if (n) {
        zpar__idmap_destroy (s->finished);
        s->finished = n;
    } else
        zpar__idmap_clear (s->finished);
    free (s->arch);
    free (s->arch_ok);
    s->arch = NULL;
    s->arch_ok = NULL;
    s->narch = 0;
}

typedef struct {
    uint64_t id;
    uint8_t ok;
} outcome_t;

static int outcome_cmp (const void *a, const void *b)
{
    uint64_t x = ((const outcome_t *)a)->id, y = ((const outcome_t *)b)->id;
    return x < y ? -1 : x > y;
}

/* Move the finished map's entries into the sorted archive (a map entry
 * wins over an archived one of the same id).  Out of memory: unchanged. */
static void finished_archive (zpar_sched_lb_t *s)
{
    size_t n = zpar__idmap_size (s->finished), pos = 0, i = 0, j = 0, k = 0;
    outcome_t *v;
    uint64_t *na;
    uint8_t *nok;
    zpar_idmap_t *fresh;
    void *val;
    uint64_t id;
    if (!n)
        return;
    v = malloc (n * sizeof (*v));
    na = malloc ((n + s->narch) * sizeof (*na));
    nok = malloc (n + s->narch);
    fresh = zpar__idmap_create ();
    if (!v || !na || !nok || !fresh) {
        free (v);
        free (na);
        free (nok);
        zpar__idmap_destroy (fresh);
        return;
    }
    while ((val = zpar__idmap_next (s->finished, &pos, &id))) {
        v[i].id = id;
        v[i++].ok = (uint8_t)(uintptr_t)val;
    }
    qsort (v, n, sizeof (*v), outcome_cmp);
    for (i = 0; i < n || j < s->narch;) {
        if (j == s->narch || (i < n && v[i].id <= s->arch[j])) {
            if (j < s->narch && s->arch[j] == v[i].id)
                j++;
            na[k] = v[i].id;
            nok[k++] = v[i++].ok;
        } else {
            na[k] = s->arch[j];
            nok[k++] = s->arch_ok[j++];
        }
    }
    free (v);
    free (s->arch);
    free (s->arch_ok);
    s->arch = na;
    s->arch_ok = nok;
    s->narch = k;
    zpar__idmap_destroy (s->finished);
    s->finished = fresh;
}

void zpar__lb_settle (zpar_sched_lb_t *s)
{
    if (s->held_peak < SETTLE_MIN || s->nacts || s->ready.n || s->nparked ||
        zpar__idmap_size (s->queued) || zpar__idmap_size (s->running) ||
        zpar__idmap_size (s->waiting))
        return;
    idmap_renew (&s->queued);
    idmap_renew (&s->running);
    idmap_renew (&s->waiting);
    finished_archive (s);
    free (s->ready.v);
    s->ready.v = NULL;
    s->ready.cap = 0;
    free (s->parked);
    s->parked = NULL;
    s->parkedcap = 0;
    free (s->acts);
    s->acts = NULL;
    s->actcap = 0;
    s->acthead = 0;
    for (uint32_t eid = 0; s->engines && eid < s->nengines; eid++) {
        lbengine_t *e = &s->engines[eid];
        if (!e->nout) {
            free (e->out);
            e->out = NULL;
            e->outcap = 0;
        }
    }
    s->held_peak = 0;
    s->settles++;
    /* every arena, this thread's included */
    malloc_trim (0);
}
