/* sched_lb.c - the load-balanced scheduling policy. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "log.h"
#include "sched_lb.h"
#include "sched_lb_state.h"

static void free_payload (zpar_sched_lb_t *s, void *payload)
{
    if (payload && s->free_f)
        s->free_f (payload, s->free_arg);
}

/* ---------------------------------------------------------------- tasks */

/* inlined where it is called, as it was before resource tasks: the
 * per-task path pays no call for it */
static inline __attribute__ ((always_inline)) void task_free (zpar_sched_lb_t *s, lbtask_t *t)
{
    if (t) {
        free_payload (s, t->payload);
        free (t->targets);
        if (__builtin_expect (t->gang != NULL, 0))
            zpar__gang_task_free (t->gang);
        free (t);
    }
}

/* Answer the task's client ourselves: its payload goes to the caller. */
static void answer (zpar_sched_lb_t *s, lbtask_t *t, zpar_status_t status, const char *text)
{
    zpar_sched_lb_action_t *a = zpar__lb_act_push (s);
    if (!a) {
        zpar__err ("task scheduler: out of memory, task %llu not answered",
                   (unsigned long long)t->id);
        free_payload (s, t->payload);
        t->payload = NULL;
        return;
    }
    a->kind = ZPAR_SCHED_LB_ACT_ANSWER;
    a->task = zpar__tid (t->id);
    a->client = zpar__cid (t->client);
    a->engine = zpar__eid (t->last_engine);
    a->attempt = t->attempts;
    a->status = status;
    snprintf (a->text, sizeof (a->text), "%s", text);
    a->payload = t->payload;
    t->payload = NULL;
}

static void ask_hub (zpar_sched_lb_t *s, uint64_t dep)
{
    zpar_sched_lb_action_t *a = zpar__lb_act_push (s);
    if (a) {
        a->kind = ZPAR_SCHED_LB_ACT_ASK_HUB;
        a->task = zpar__tid (dep);
    }
}

static void mark_finished (zpar_sched_lb_t *s, uint64_t id, int ok);

void zpar__lb_fail_task (zpar_sched_lb_t *s, lbtask_t *t, zpar_status_t status, const char *text)
{
    uint64_t id = t->id;
    answer (s, t, status, text);
    zpar__idmap_del (s->queued, id);
    task_free (s, t);
    mark_finished (s, id, 0);
}

static void dep_text (char *text, size_t size, uint64_t dep)
{
    char ids[32];
    zpar_task_id_format ((zpar_task_id_t){dep}, ids, sizeof (ids));
    snprintf (text, size, "task %s, which this task runs after, did not succeed", ids);
}

void zpar__lb_make_ready (zpar_sched_lb_t *s, lbtask_t *t)
{
    if (__builtin_expect (t->gang != NULL, 0)) {
        zpar__gang_ready (s, t);
        return;
    }
    if (zpar__lb_heap_push (&s->ready, t) < 0)
        zpar__lb_fail_task (s, t, ZPAR_STATUS_ERROR, "scheduler out of memory");
}

static void park (zpar_sched_lb_t *s, lbtask_t *t)
{
    if (zpar__lb_park (s, t) < 0)
        zpar__lb_fail_task (s, t, ZPAR_STATUS_ERROR, "scheduler out of memory");
}

void zpar__lb_unpark_all (zpar_sched_lb_t *s)
{
    size_t n = s->nparked;
    s->nparked = 0;
    for (size_t i = 0; i < n; i++)
        zpar__lb_make_ready (s, s->parked[i]);
}

/* Engine eid can take more tasks: give the parked tasks it may run
 * another chance, oldest first, as many as it has free slots. */
void zpar__lb_unpark_for (zpar_sched_lb_t *s, uint32_t eid)
{
    lbengine_t *e = &s->engines[eid];
    size_t j = 0, i;
    unsigned room;
    if (!s->nparked || !e->alive || e->waiting || e->outstanding >= s->hwm)
        return;
    room = s->hwm - e->outstanding;
    for (i = 0; i < s->nparked; i++) {
        lbtask_t *t = s->parked[i];
        if (room && zpar__lb_engine_ok_for (t, eid)) {
            room--;
            zpar__lb_make_ready (s, t);
        } else
            s->parked[j++] = t;
    }
    s->nparked = j;
}

static void mark_finished (zpar_sched_lb_t *s, uint64_t id, int ok)
{
    waiter_t *w;
    if (zpar__idmap_size (s->finished) + s->narch >= FINISHED_MAX)
        /* start afresh (and give the memory back): older outcomes are
         * asked of the hub, which has them all in its records */
        zpar__lb_finished_reset (s);
    zpar__idmap_put (s->finished, id, (void *)(uintptr_t)(ok ? 1 : 2));
    w = zpar__idmap_del (s->waiting, id);
    while (w) {
        waiter_t *next = w->next;
        lbtask_t *t = w->t;
        free (w);
        if (!t->aborted) {
            if (ok) {
                if (t->unmet && --t->unmet == 0)
                    zpar__lb_make_ready (s, t);
            } else if (t->unmet) {
                char text[128];
                dep_text (text, sizeof (text), id);
                if (--t->unmet == 0)
                    zpar__lb_fail_task (s, t, ZPAR_STATUS_DEPENDENCY, text);
                else {
                    /* its other waits free it when they end */
                    t->aborted = 1;
                    zpar__idmap_del (s->queued, t->id);
                    answer (s, t, ZPAR_STATUS_DEPENDENCY, text);
                    mark_finished (s, t->id, 0);
                }
            }
        } else if (t->unmet && --t->unmet == 0)
            task_free (s, t);
        w = next;
    }
}

/* -------------------------------------------------------------- the API */

zpar_sched_lb_t *zpar__sched_lb_create (unsigned hwm, zpar_sched_lb_free_f free_f, void *arg)
{
    zpar_sched_lb_t *s;
    if (hwm > HWM_MAX) {
        errno = EINVAL;
        return NULL;
    }
    if (!(s = calloc (1, sizeof (*s))))
        return NULL;
    s->hwm = hwm ? hwm : ZPAR_SCHED_LB_DEFAULT_HWM;
    s->low = s->hwm >= 8 ? s->hwm / 2 : s->hwm;
    s->free_f = free_f;
    s->free_arg = arg;
    if (!(s->idle = calloc (s->hwm, sizeof (*s->idle))) || !(s->queued = zpar__idmap_create ()) ||
        !(s->running = zpar__idmap_create ()) || !(s->waiting = zpar__idmap_create ()) ||
        !(s->finished = zpar__idmap_create ()))
        goto error;
    return s;
error:
    zpar__sched_lb_destroy (s);
    errno = ENOMEM;
    return NULL;
}

static void free_waiters (zpar_sched_lb_t *s)
{
    size_t pos = 0;
    waiter_t *w;
    while ((w = zpar__idmap_next (s->waiting, &pos, NULL))) {
        while (w) {
            waiter_t *n = w->next;
            lbtask_t *t = w->t;
            if (t->unmet && --t->unmet == 0 && !t->in_heap)
                task_free (s, t);
            free (w);
            w = n;
        }
    }
}

void zpar__sched_lb_destroy (zpar_sched_lb_t *s)
{
    size_t pos = 0;
    lbtask_t *t;
    int saved = errno;
    if (!s)
        return;
    if (s->running)
        while ((t = zpar__idmap_next (s->running, &pos, NULL)))
            task_free (s, t);
    for (size_t i = 0; i < s->ready.n; i++)
        task_free (s, s->ready.v[i]);
    for (size_t i = 0; i < s->nparked; i++)
        task_free (s, s->parked[i]);
    while ((t = zpar__gang_pop (s)))
        task_free (s, t);
    if (s->waiting)
        free_waiters (s);
    for (size_t i = 0; i < s->nacts; i++)
        free_payload (s, s->acts[s->acthead + i].kind == ZPAR_SCHED_LB_ACT_ANSWER
                             ? s->acts[s->acthead + i].payload
                             : NULL);
    free (s->acts);
    free (s->ready.v);
    free (s->parked);
    for (unsigned lvl = 0; s->idle && lvl < s->hwm; lvl++)
        free (s->idle[lvl].v);
    free (s->idle);
    for (uint32_t eid = 0; s->engines && eid < s->nengines; eid++)
        free (s->engines[eid].out);
    free (s->engines);
    zpar__idmap_destroy (s->queued);
    zpar__idmap_destroy (s->running);
    zpar__idmap_destroy (s->waiting);
    zpar__idmap_destroy (s->finished);
    free (s->arch);
    free (s->arch_ok);
    zpar__gang_destroy (s);
    free (s);
    errno = saved;
}

/* Task t, outstanding on engine eid, goes back to the queue: the engine
 * did not run it (or was told to stop it) for reasons not the task's, so
 * it was no attempt. */
void zpar__lb_requeue_unrun (zpar_sched_lb_t *s, lbtask_t *t)
{
    if (t->gang)
        zpar__gang_off (s, t);
    t->engine = 0;
    if (t->stealing && s->nstealing)
        s->nstealing--;
    t->stealing = 0;
    if (t->attempts)
        t->attempts--;
    zpar__idmap_put (s->queued, t->id, t);
    zpar__lb_make_ready (s, t);
}

int zpar__sched_lb_submit (zpar_sched_lb_t *s, const zpar_sched_lb_task_t *in)
{
    lbtask_t *t;

    if (!s || !in || (in->ntargets && !in->targets) || (in->nafter && !in->after)) {
        errno = EINVAL;
        return -1;
    }
    s->paused = 0;
    if (in->id.v &&
        (zpar__idmap_get (s->queued, in->id.v) || zpar__idmap_get (s->running, in->id.v) ||
         zpar__lb_finished_get (s, in->id.v))) {
        /* the same task again (a resubmission racing the original): the
         * one we have stands */
        s->dup_submits++;
        free_payload (s, in->payload);
        return 0;
    }
    if (!(t = zpar__lb_task_new (s, in)))
        return -1;
    if (t->id == 0) {
        /* the answer is the outcome */
        answer (s, t, ZPAR_STATUS_ERROR, "missing task id");
        task_free (s, t);
        return 0;
    }
    zpar__idmap_put (s->queued, t->id, t);
    {
        size_t held = zpar__idmap_size (s->queued) + zpar__idmap_size (s->running);
        if (held > s->held_peak)
            s->held_peak = held;
    }
    for (size_t i = 0; i < in->nafter; i++) {
        uint64_t dep = in->after[i].v;
        unsigned st = zpar__lb_finished_get (s, dep);
        waiter_t *w;
        if (st == 1)
            continue;
        if (st == 2) {
            char text[128];
            dep_text (text, sizeof (text), dep);
            /* waits registered so far free the task when they end */
            t->aborted = t->unmet > 0;
            if (t->unmet) {
                zpar__idmap_del (s->queued, t->id);
                answer (s, t, ZPAR_STATUS_DEPENDENCY, text);
                mark_finished (s, t->id, 0);
            } else
                zpar__lb_fail_task (s, t, ZPAR_STATUS_DEPENDENCY, text);
            return 0;
        }
        if (!(w = malloc (sizeof (*w))))
            continue;
        w->t = t;
        w->next = zpar__idmap_get (s->waiting, dep);
        zpar__idmap_put (s->waiting, dep, w);
        t->unmet++;
        ask_hub (s, dep);
    }
    if (t->unmet == 0)
        zpar__lb_make_ready (s, t);
    return 0;
}

int zpar__sched_lb_result (zpar_sched_lb_t *s, zpar_tid_t task, zpar_eid_t engine,
                           zpar_status_t status)
{
    return zpar__sched_lb_result_at (s, task, engine, status, 0);
}

int zpar__sched_lb_result_at (zpar_sched_lb_t *s, zpar_tid_t task, zpar_eid_t engine,
                              zpar_status_t status, unsigned attempt)
{
    uint64_t tid = task.v;
    uint32_t eid = engine.v;
    lbtask_t *t;
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    s->paused = 0;
    t = zpar__idmap_get (s->running, tid);
    if (t && eid && t->engine == eid && status == ZPAR_STATUS_ENGINE_DIED && attempt &&
        t->disp_attempt && attempt != (t->disp_attempt > 0xffu ? 0xffu : t->disp_attempt)) {
        /* the fence of an earlier dispatch to this engine (taken for dead,
         * the task given back to it since): stale, the task runs on */
        zpar__info ("task %llu: a fence of an earlier run on engine %u dropped (it runs there "
                    "again)",
                    (unsigned long long)t->id, eid);
        s->duplicates++;
        return ZPAR_SCHED_LB_SWALLOW;
    }
    if (t && eid && t->engine == eid) {
        lbengine_t *e = &s->engines[eid];
        char lost_text[160];
        uint32_t lost = __builtin_expect (t->gang != NULL, 0)
                            ? zpar__gang_lost (s, t, lost_text, sizeof (lost_text))
                            : 0;
        e->connected = 1;
        zpar__idmap_del (s->running, tid);
        zpar__lb_out_del (e, t);
        if (e->outstanding)
            e->outstanding--;
        if (__builtin_expect (t->gang != NULL, 0))
            zpar__gang_off (s, t);
        else if (e->outstanding == 0 && s->gang)
            zpar__gang_engine_idle (s, eid);
        zpar__lb_idle_push (s, eid);
        t->engine = 0;
        zpar__lb_unpark_for (s, eid);
        if (t->stealing) {
            if (s->nstealing)
                s->nstealing--;
            t->stealing = 0;
            if (status == ZPAR_STATUS_ABORTED) {
                /* given back before it started: not an attempt */
                if (t->attempts)
                    t->attempts--;
                s->stolen++;
                zpar__idmap_put (s->queued, t->id, t);
                zpar__lb_make_ready (s, t);
                return ZPAR_SCHED_LB_SWALLOW;
            }
        }
        if (lost && status != ZPAR_STATUS_OK) {
            /* stopped because an engine of its set died: that death is
             * the attempt's end (doc/architecture.md "Faults") */
            if (t->retries_left > 0) {
                t->retries_left--;
                zpar__info ("task %llu: stopped (engine %u of its set died), retrying",
                            (unsigned long long)t->id, lost);
                zpar__idmap_put (s->queued, t->id, t);
                zpar__lb_make_ready (s, t);
            } else
                zpar__lb_fail_task (s, t, ZPAR_STATUS_ENGINE_DIED, lost_text);
            return ZPAR_SCHED_LB_SWALLOW;
        }
        if (status == ZPAR_STATUS_ENGINE_DIED && t->fenced < ZPAR_SCHED_LB_FENCE_MAX) {
            /* the engine itself says it died: it fenced the task (no word
             * from us for its fence limit, doc/engine.md "Fencing"), a
             * protective kill, not an attempt; we count the engine alive
             * (it was only slow to hear us): the task goes back to the
             * queue, no retry used */
            t->fenced++;
            zpar__info ("task %llu: fenced by engine %u, queued again (not an attempt)",
                        (unsigned long long)t->id, eid);
            s->fenced++;
            zpar__lb_requeue_unrun (s, t);
            return ZPAR_SCHED_LB_SWALLOW;
        }
        if (status != ZPAR_STATUS_OK && status != ZPAR_STATUS_ABORTED && t->retries_left > 0) {
            t->retries_left--;
            zpar__info ("task %llu failed on engine %u (%s), retrying", (unsigned long long)t->id,
                        eid, zpar_status_name (status));
            zpar__idmap_put (s->queued, t->id, t);
            zpar__lb_make_ready (s, t);
            return ZPAR_SCHED_LB_SWALLOW;
        }
        task_free (s, t);
    } else if (t) {
        /* outstanding on another engine: that one's result will count */
        s->duplicates++;
        return ZPAR_SCHED_LB_SWALLOW;
    } else if (zpar__lb_finished_get (s, tid)) {
        /* a late result for a task already answered (e.g. its engine was
         * declared dead, then came back): the first answer stands */
        s->duplicates++;
        return ZPAR_SCHED_LB_SWALLOW;
    } else if ((t = zpar__idmap_get (s->queued, tid))) {
        /* it waits to run again, and here is its result: it is done --
         * unless the result says it did not run to its end (ABORTED, or
         * ENGINE_DIED: the engine fenced it, doc/engine.md "Fencing") */
        if (status == ZPAR_STATUS_ABORTED || status == ZPAR_STATUS_ENGINE_DIED ||
            !zpar__lb_unqueue (s, t)) {
            s->duplicates++;
            return ZPAR_SCHED_LB_SWALLOW;
        }
        task_free (s, t);
    }
    mark_finished (s, tid, status == ZPAR_STATUS_OK);
    return ZPAR_SCHED_LB_DELIVER;
}

static lbtask_t *stealing_task (zpar_sched_lb_t *s, uint64_t tid)
{
    lbtask_t *t = zpar__idmap_get (s->running, tid);
    if (!t || !t->stealing) {
        errno = ENOENT;
        return NULL;
    }
    return t;
}

int zpar__sched_lb_steal_refused (zpar_sched_lb_t *s, zpar_tid_t task)
{
    uint64_t tid = task.v;
    lbtask_t *t;
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    s->paused = 0;
    if (!(t = stealing_task (s, tid)))
        return -1;
    t->stealing = 0;
    t->unstealable = 1;
    if (s->nstealing)
        s->nstealing--;
    return 0;
}

int zpar__sched_lb_steal_failed (zpar_sched_lb_t *s, zpar_tid_t task)
{
    return zpar__sched_lb_steal_refused (s, task);
}

int zpar__sched_lb_stop_failed (zpar_sched_lb_t *s, zpar_tid_t task)
{
    lbtask_t *t;
    if (!s || !s->gang || !(t = zpar__idmap_get (s->running, task.v)) || !t->gang) {
        errno = s ? ENOENT : EINVAL;
        return -1;
    }
    zpar__gang_stop_failed (s, t);
    return 0;
}

int zpar__sched_lb_dep_done (zpar_sched_lb_t *s, zpar_tid_t task, int ok)
{
    uint64_t tid = task.v;
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    s->paused = 0;
    if (!zpar__lb_finished_get (s, tid))
        mark_finished (s, tid, ok);
    return 0;
}

int zpar__sched_lb_abort (zpar_sched_lb_t *s, zpar_tid_t task, int *aborted, zpar_eid_t *running_on)
{
    uint64_t tid = task.v;
    lbtask_t *t, *r;
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    s->paused = 0;
    t = zpar__idmap_get (s->queued, tid);
    r = zpar__idmap_get (s->running, tid);
    if (aborted)
        *aborted = t ? 1 : 0;
    if (running_on)
        *running_on = zpar__eid (r ? r->engine : 0);
    if (t && !t->aborted) {
        t->aborted = 1;
        zpar__idmap_del (s->queued, t->id);
        answer (s, t, ZPAR_STATUS_ABORTED, "aborted before it ran");
        mark_finished (s, t->id, 0);
        /* in the heap: freed when it comes out; waiting: freed when its
         * waits end; parked: now */
        if (!t->in_heap && (zpar__lb_park_del (s, t) || (t->gang && zpar__gang_unready (s, t))))
            task_free (s, t);
    }
    return 0;
}

/* The next dispatch, in priority order: 1 with act filled, 0 if nothing
 * can go now. */
static int dispatch_one (zpar_sched_lb_t *s, zpar_sched_lb_action_t *act)
{
    while (!s->paused && s->ready.n) {
        lbtask_t *t = zpar__lb_heap_pop (&s->ready);
        uint32_t eid;
        if (t->aborted) {
            task_free (s, t);
            continue;
        }
        eid = zpar__lb_pick_engine (s, t);
        if (!eid && s->gang && t->timeout_s && !t->ntargets)
            eid = zpar__gang_backfill (s, t);
        if (!eid) {
            if (!t->ntargets) {
                /* nobody free: put it back and wait for capacity */
                zpar__lb_heap_push (&s->ready, t);
                if (s->gang && (t = zpar__gang_backfill_any (s, &eid))) {
                    zpar__lb_start_on (s, t, eid, act);
                    return 1;
                }
                return 0;
            }
            park (s, t);
            continue;
        }
        zpar__lb_start_on (s, t, eid, act);
        return 1;
    }
    return 0;
}

/* Work stealing.  With more than one task outstanding per engine, an
 * engine can hold a queued task that has not started while another
 * engine sits idle.  When an engine is idle and nothing is ready, ask the
 * busiest engine to give back its newest not-yet-started task. */
static int steal_one (zpar_sched_lb_t *s, zpar_sched_lb_action_t *act)
{
    unsigned idle = 0;
    uint32_t vid = 0;
    lbtask_t *t;

    if (s->hwm < 2 || s->ready.n)
        return 0;
    for (uint32_t eid = 1; eid < s->nengines; eid++) {
        lbengine_t *e = &s->engines[eid];
        if (e->alive && !e->waiting && e->outstanding == 0 && !e->held)
            idle++;
    }
    if (idle <= s->nstealing)
        return 0;
    if (!(t = zpar__lb_steal_candidate (s, &vid)))
        return 0;
    zpar__lb_steal_act (s, t, vid, act);
    return 1;
}

int zpar__sched_lb_next_action (zpar_sched_lb_t *s, zpar_sched_lb_action_t *act)
{
    if (!s || !act) {
        errno = EINVAL;
        return -1;
    }
    if (zpar__lb_act_pop (s, act))
        return 1;
    /* paused (a send failed on a reachable engine): resource tasks wait
     * for the next change too, or a task whose send keeps failing would be
     * placed again at once, for ever */
    if (__builtin_expect (s->gang_active, 0) && !s->paused && zpar__gang_next (s, act))
        return 1;
    if (dispatch_one (s, act))
        return 1;
    if (zpar__lb_act_pop (s, act)) /* out-of-memory answers while parking */
        return 1;
    if (steal_one (s, act))
        return 1;
    act->kind = ZPAR_SCHED_LB_ACT_NONE;
    /* nothing left to do: if a burst grew the tables and it is over, they
     * shrink back */
    zpar__lb_settle (s);
    return 0;
}
