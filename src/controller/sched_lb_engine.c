/* sched_lb_engine.c - the load-balanced policy's engines: one coming up,
 * connecting again, going down (its tasks retried or answered), waiting
 * for its task socket, and a dispatch that could not be sent to it. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "log.h"
#include "sched_lb.h"
#include "sched_lb_state.h"

/* The ids of the tasks running on engine eid (*n of them; NULL when none,
 * or as many as memory allowed); the caller frees the array.  Collected
 * first: the caller then takes them out of s->running. */
static uint64_t *running_on (zpar_sched_lb_t *s, uint32_t eid, size_t *n)
{
    size_t pos = 0, cap = 0;
    uint64_t id, *ids = NULL;
    lbtask_t *t;
    *n = 0;
    while ((t = zpar__idmap_next (s->running, &pos, &id))) {
        if (t->engine != eid)
            continue;
        if (*n == cap) {
            uint64_t *ni = realloc (ids, (cap = cap ? cap * 2 : 16) * sizeof (*ni));
            if (!ni)
                break;
            ids = ni;
        }
        ids[(*n)++] = id;
    }
    return ids;
}

static void engine_gone (zpar_sched_lb_t *s, uint32_t eid, const char *why)
{
    lbengine_t *e = &s->engines[eid];
    size_t n = 0;
    uint64_t *ids;
    lbtask_t *t;

    e->alive = 0;
    if (s->nlive)
        s->nlive--;
    e->outstanding = 0;
    if (e->waiting && s->nwaiting)
        s->nwaiting--;
    e->waiting = 0;
    e->nout = 0;
    if (s->gang)
        zpar__gang_engine_gone (s, eid);
    ids = running_on (s, eid, &n);
    for (size_t i = 0; i < n; i++) {
        t = zpar__idmap_del (s->running, ids[i]);
        if (t->gang)
            zpar__gang_off (s, t);
        t->engine = 0;
        if (t->stealing && s->nstealing)
            s->nstealing--;
        t->stealing = 0;
        if (t->retries_left > 0) {
            t->retries_left--;
            zpar__info ("task %llu: engine %u %s, retrying elsewhere", (unsigned long long)t->id,
                        eid, why);
            zpar__idmap_put (s->queued, t->id, t);
            zpar__lb_make_ready (s, t);
        } else {
            char text[160];
            snprintf (text, sizeof (text),
                      "engine %u died while running this task (attempt %u, no retries left)", eid,
                      t->attempts);
            zpar__lb_fail_task (s, t, ZPAR_STATUS_ENGINE_DIED, text);
        }
    }
    free (ids);
}

/* Engine eid (alive) starts afresh: nothing outstanding, its task
 * connection to be seen again, idle, and the parked tasks looked at. */
static void ready_again (zpar_sched_lb_t *s, uint32_t eid)
{
    lbengine_t *e = &s->engines[eid];
    e->outstanding = 0;
    e->connected = 0;
    if (e->waiting && s->nwaiting)
        s->nwaiting--;
    e->waiting = 0;
    if (s->gang)
        zpar__gang_engine_idle (s, eid); /* a resource task may start on it */
    zpar__lb_idle_push (s, eid);
    zpar__lb_unpark_all (s);
}

int zpar__sched_lb_engine_up (zpar_sched_lb_t *s, zpar_eid_t engine)
{
    uint32_t eid = engine.v;
    lbengine_t *e;
    if (!s || eid == 0 || eid > ZPAR_SCHED_LB_MAX_ENGINE) {
        errno = EINVAL;
        return -1;
    }
    s->paused = 0;
    if (eid >= s->nengines) {
        uint32_t n = s->nengines ? s->nengines : 16;
        lbengine_t *ne;
        while (n <= eid)
            n *= 2;
        if (!(ne = realloc (s->engines, n * sizeof (*ne)))) {
            errno = ENOMEM;
            return -1;
        }
        memset (ne + s->nengines, 0, (n - s->nengines) * sizeof (*ne));
        s->engines = ne;
        s->nengines = n;
    }
    e = &s->engines[eid];
    if (e->alive)
        engine_gone (s, eid, "re-registered"); /* a restart: its old tasks are lost */
    e->alive = 1;
    e->held = 0;
    s->nlive++;
    if (s->gang)
        zpar__gang_engine_up (s, eid);
    ready_again (s, eid);
    return 0;
}

int zpar__sched_lb_engine_again (zpar_sched_lb_t *s, zpar_eid_t engine)
{
    uint32_t eid = engine.v;
    lbengine_t *e;
    size_t n = 0;
    uint64_t *ids;
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    if (eid == 0 || eid >= s->nengines || !s->engines[eid].alive) {
        errno = ENOENT;
        return -1;
    }
    s->paused = 0;
    e = &s->engines[eid];
    ids = running_on (s, eid, &n);
    for (size_t i = 0; i < n; i++)
        zpar__lb_requeue_unrun (s, zpar__idmap_del (s->running, ids[i]));
    free (ids);
    if (n)
        zpar__info ("engine %u connected again: %zu task(s) sent to it go back to the queue "
                    "(those it holds are adopted again)",
                    eid, n);
    e->nout = 0;
    ready_again (s, eid);
    return 0;
}

int zpar__sched_lb_engine_down (zpar_sched_lb_t *s, zpar_eid_t engine, const char *why)
{
    uint32_t eid = engine.v;
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    s->paused = 0;
    if (eid == 0 || eid >= s->nengines || !s->engines[eid].alive) {
        errno = ENOENT;
        return -1;
    }
    engine_gone (s, eid, why ? why : "died");
    return 0;
}

int zpar__sched_lb_dispatch_failed (zpar_sched_lb_t *s, zpar_tid_t task, zpar_eid_t engine,
                                    int unreachable, uint64_t now_us)
{
    uint64_t tid = task.v;
    uint32_t eid = engine.v;
    lbtask_t *t;
    lbengine_t *e;
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    t = zpar__idmap_get (s->running, tid);
    if (!t || !eid || t->engine != eid) {
        errno = ENOENT;
        return -1;
    }
    /* undo the dispatch */
    e = &s->engines[eid];
    if (t->gang)
        zpar__gang_off (s, t);
    zpar__idmap_del (s->running, tid);
    zpar__lb_out_del (e, t);
    if (t->attempts)
        t->attempts--;
    if (e->outstanding)
        e->outstanding--;
    t->engine = 0;
    t->last_engine = t->undo_last;
    e->connected = t->undo_connected;
    zpar__idmap_put (s->queued, t->id, t);
    zpar__lb_make_ready (s, t);
    if (!unreachable) {
        zpar__lb_idle_push (s, eid);
        s->paused = 1;
    } else {
        /* registered with the hub, but its task socket is not connected
         * (yet, or for a moment: it reconnects); deaths are the hub's to
         * declare (engine_down): try it again in a moment */
        /* several tasks of one round may fail together (a batch) */
        if (!e->waiting)
            s->nwaiting++;
        e->waiting = 1;
        e->retry_us = now_us + ZPAR_SCHED_LB_RETRY_US;
    }
    return 0;
}

void zpar__sched_lb_tick (zpar_sched_lb_t *s, uint64_t now_us)
{
    if (s && s->gang) {
        s->now_us = now_us;
        zpar__gang_tick (s);
    }
    if (!s || !s->nwaiting)
        return;
    s->paused = 0;
    for (uint32_t eid = 1; eid < s->nengines; eid++) {
        lbengine_t *e = &s->engines[eid];
        if (e->waiting && now_us >= e->retry_us) {
            e->waiting = 0;
            s->nwaiting--;
            zpar__lb_idle_push (s, eid);
            zpar__lb_unpark_for (s, eid);
        }
    }
}
