/* sched_lb_state.h - the load-balanced policy's state (private to
 * sched_lb.c, sched_lb_engine.c, sched_lb_adopt.c and sched_lb_state.c;
 * nothing else includes it).
 *
 * A task is in exactly one place: the ready heap (priority order), the
 * parked list (ready, but no engine it may run on can take it now), the
 * waiting map (dependencies not met), or the running map (sent to an
 * engine, also listed in that engine's out list, oldest first).  Engines
 * with spare capacity sit in one stack per outstanding count, validated
 * lazily (see zpar__lb_idle_push).  Decisions that are not dispatches or
 * steals wait in a FIFO of actions.
 */
#ifndef ZPAR__SCHED_LB_STATE_H
#define ZPAR__SCHED_LB_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "idmap.h"
#include "sched_lb.h"

#define FINISHED_MAX (1u << 16) /* remembered outcomes; older ones are asked of the hub */
#define HWM_MAX      65536u
#define SETTLE_MIN   4096u /* tasks held at once that make the tables worth rebuilding */

typedef struct lbtask {
    void *payload;
    uint64_t id;
    uint32_t client;
    uint32_t timeout_s; /* its timeout in seconds (rounded up), 0: none (backfill, sched_gang.c) */
    int64_t priority;
    uint64_t order;
    unsigned retries_left;
    unsigned attempts;
    uint32_t *targets;
    size_t ntargets;
    uint32_t unmet;       /* dependencies not met yet */
    uint32_t engine;      /* running on, 0 if not */
    uint32_t last_engine; /* where it last ran */
    uint32_t undo_last;   /* last_engine before the current dispatch */
    int undo_connected;   /* its engine's connected flag before it */
    int aborted;
    int in_heap;
    int stealing;          /* asked its engine to give it back (not started yet) */
    int unstealable;       /* its engine had started it when we asked */
    unsigned fenced;       /* times its engine fenced it while we counted the engine alive */
    unsigned disp_attempt; /* the attempt its running dispatch carries (0: adopted, unknown) */
    struct gtask *gang;    /* a resource task (sched_gang.c), NULL: a plain one */
} lbtask_t;

typedef struct {
    int alive;
    int in_idle;       /* level + 1 of its live idle-stack entry, 0 none */
    int connected;     /* a send to it has succeeded, or it has answered */
    int waiting;       /* registered but its task socket not connected yet */
    uint64_t retry_us; /* when to try it again */
    lbtask_t **out;    /* tasks sent to it, oldest first (the first is running) */
    unsigned nout;
    unsigned outcap;
    unsigned outstanding;
    int filling; /* has been below the low mark since it was last full */
    int held;    /* held or reserved by a resource task: no plain task (sched_gang.c) */
} lbengine_t;

typedef struct {
    lbtask_t **v;
    size_t n;
    size_t cap;
} heap_t;

typedef struct {
    uint32_t *v;
    size_t n;
    size_t cap;
} idlestack_t;

typedef struct waiter {
    lbtask_t *t;
    struct waiter *next;
} waiter_t;

struct zpar_sched_lb {
    unsigned hwm;
    unsigned low; /* a full engine takes tasks again below this (hwm/2 from 8) */
    zpar_sched_lb_free_f free_f;
    void *free_arg;

    lbengine_t *engines; /* indexed by engine id */
    uint32_t nengines;   /* array size */
    unsigned nlive;
    idlestack_t *idle; /* [hwm] stacks of engine ids, by outstanding count */
    heap_t ready;
    lbtask_t **parked; /* ready tasks no allowed engine can take now (targets) */
    size_t nparked;
    size_t parkedcap;
    zpar_idmap_t *queued;   /* id -> task (ready, parked or waiting) */
    zpar_idmap_t *running;  /* id -> task */
    zpar_idmap_t *waiting;  /* dep id -> waiter list */
    zpar_idmap_t *finished; /* id -> (void *)1 ok, (void *)2 not ok */
    uint64_t *arch;         /* outcomes moved out of finished at a settle: ids, sorted */
    uint8_t *arch_ok;       /* their outcomes, 1 ok, 2 not ok */
    size_t narch;
    uint64_t order;
    unsigned nwaiting;  /* engines in the waiting state */
    unsigned nstealing; /* steal requests in flight */
    uint64_t stolen;
    uint64_t duplicates;  /* results dropped: the task is elsewhere or answered */
    uint64_t dup_submits; /* submissions dropped: the task id is queued, running or done */
    uint64_t adopted;     /* tasks adopted from engines that registered again */
    uint64_t fenced;      /* fenced results of live engines, queued again */
    int paused;           /* a dispatch could not be sent: wait for the next event */
    size_t held_peak;     /* most tasks queued + running at once since the last settle */
    uint64_t settles;     /* times the grown tables were rebuilt small (zpar__lb_settle) */

    struct zpar_gang *gang; /* resource tasks (sched_gang.c), NULL until needed */
    int gang_active;        /* resource tasks queued, or a reservation held */
    uint64_t now_us;        /* zpar__sched_lb_now */

    zpar_sched_lb_action_t *acts; /* answers and hub questions, FIFO */
    size_t acthead;
    size_t nacts;
    size_t actcap;
};

/* The ready heap: higher priority first, then submission order.  push:
 * 0 / -1 ENOMEM; pop: NULL when empty. */
int zpar__lb_heap_push (heap_t *h, lbtask_t *t);
lbtask_t *zpar__lb_heap_pop (heap_t *h);
/* Take t (in the heap) out of it, O(n). */
void zpar__lb_heap_remove (heap_t *h, lbtask_t *t);

/* A zeroed action at the end of the FIFO (NULL: ENOMEM); the first one
 * out (1), or 0 when empty. */
zpar_sched_lb_action_t *zpar__lb_act_push (zpar_sched_lb_t *s);
int zpar__lb_act_pop (zpar_sched_lb_t *s, zpar_sched_lb_action_t *act);

/* 1 if task t may run on engine eid (it names no engine, or this one). */
int zpar__lb_engine_ok_for (const lbtask_t *t, uint32_t eid);

/* Put a live engine with spare capacity in the stack of its outstanding
 * count (no-op if it is already there, waiting, or full). */
void zpar__lb_idle_push (zpar_sched_lb_t *s, uint32_t eid);

/* An engine's list of tasks sent to it (out_add may drop a task when out
 * of memory: only stealing uses the list). */
void zpar__lb_out_add (lbengine_t *e, lbtask_t *t);
void zpar__lb_out_del (lbengine_t *e, lbtask_t *t);

/* Least-load pick: an idle engine when the task may go anywhere (O(1)),
 * else the allowed live engine with the fewest outstanding tasks (not the
 * one it last ran on, on a tie).  0: none can take it now. */
uint32_t zpar__lb_pick_engine (zpar_sched_lb_t *s, const lbtask_t *t);

/* Add t to the parked list (0 / -1 ENOMEM); remove it (1 if it was
 * there). */
int zpar__lb_park (zpar_sched_lb_t *s, lbtask_t *t);
int zpar__lb_park_del (zpar_sched_lb_t *s, lbtask_t *t);

/* Work stealing: the newest task, not its engine's first (that one is
 * running), not targeted and not asked for before, of the engine with the
 * most tasks sent to it (at least 2); *eid set to that engine.  NULL:
 * nothing to steal. */
lbtask_t *zpar__lb_steal_candidate (zpar_sched_lb_t *s, uint32_t *eid);

/* A new task from its description (payload taken on success); NULL
 * ENOMEM. */
lbtask_t *zpar__lb_task_new (zpar_sched_lb_t *s, const zpar_sched_lb_task_t *in);

/* Take queued task t out of the ready heap or the parked list (and the
 * queued map): 1, or 0 when it waits for dependencies (it stays). */
int zpar__lb_unqueue (zpar_sched_lb_t *s, lbtask_t *t);

/* The outcome of finished task id: 1 ok, 2 not ok, 0 not remembered
 * (the finished map, then the archive a settle made of it). */
unsigned zpar__lb_finished_get (const zpar_sched_lb_t *s, uint64_t id);
/* Forget every remembered outcome (older ones are asked of the hub). */
void zpar__lb_finished_reset (zpar_sched_lb_t *s);

/* After a burst (held_peak >= SETTLE_MIN) and when the policy holds no
 * task and no action: the task maps, the ready heap, the parked list, the
 * action FIFO and idle engines' out lists, grown with the burst, are
 * rebuilt at their small size and the freed heap is given back to the
 * system (malloc_trim, every arena).  The outcomes of finished tasks are
 * all kept (dependency checks, duplicate submissions, late results): the
 * map's entries move to the sorted archive (9 bytes each instead of the
 * map's 21 to 32).  No-op otherwise. */
void zpar__lb_settle (zpar_sched_lb_t *s);

/* sched_lb.c, for sched_lb_engine.c: */

/* Put t in the ready heap (out of memory: answered ERROR and freed). */
void zpar__lb_make_ready (zpar_sched_lb_t *s, lbtask_t *t);
/* Answer t's client with status and text, take it out of the queued map,
 * free it, and record it finished not ok (its dependents fail). */
void zpar__lb_fail_task (zpar_sched_lb_t *s, lbtask_t *t, zpar_status_t status, const char *text);
/* Every parked task back to the ready heap (an engine came). */
void zpar__lb_unpark_all (zpar_sched_lb_t *s);
/* Engine eid can take more tasks: the parked tasks it may run back to the
 * ready heap, oldest first, as many as it has free slots. */
void zpar__lb_unpark_for (zpar_sched_lb_t *s, uint32_t eid);
/* Task t (out of the running map) goes back to the queue: its engine did
 * not run it for reasons not the task's, so it was no attempt. */
void zpar__lb_requeue_unrun (zpar_sched_lb_t *s, lbtask_t *t);

/* Task t goes to engine eid now: the bookkeeping of a dispatch (t out of
 * the queued map into the running one, eid's outstanding count and out
 * list) and the DISPATCH action in *act. */
static inline void zpar__lb_start_on (zpar_sched_lb_t *s, lbtask_t *t, uint32_t eid,
                                      zpar_sched_lb_action_t *act)
{
    lbengine_t *e = &s->engines[eid];
    t->undo_last = t->last_engine;
    t->undo_connected = e->connected;
    e->connected = 1;
    zpar__lb_out_add (e, t);
    t->attempts++;
    t->engine = eid;
    t->last_engine = eid;
    e->outstanding++;
    zpar__lb_idle_push (s, eid);
    zpar__idmap_del (s->queued, t->id);
    zpar__idmap_put (s->running, t->id, t);
    memset (act, 0, sizeof (*act));
    act->kind = ZPAR_SCHED_LB_ACT_DISPATCH;
    act->task = zpar__tid (t->id);
    act->engine = zpar__eid (eid);
    act->client = zpar__cid (t->client);
    act->attempt = t->attempts;
    t->disp_attempt = t->attempts;
    act->payload = t->payload;
}

/* Ask engine eid to give back task t (not started there yet): t marked,
 * counted, the STEAL action in *act. */
static inline void zpar__lb_steal_act (zpar_sched_lb_t *s, lbtask_t *t, uint32_t eid,
                                       zpar_sched_lb_action_t *act)
{
    t->stealing = 1;
    s->nstealing++;
    memset (act, 0, sizeof (*act));
    act->kind = ZPAR_SCHED_LB_ACT_STEAL;
    act->task = zpar__tid (t->id);
    act->engine = zpar__eid (eid);
    act->client = zpar__cid (t->client);
    act->attempt = t->attempts;
    act->payload = t->payload;
}

/* ---- sched_gang.c: resource tasks (the plain fast path never calls
 * these unless s->gang is set or the task has t->gang) */

/* A resource task's part: a copy of in->res; NULL ENOMEM. */
struct gtask *zpar__gang_task_new (const zpar_resources_t *res);
void zpar__gang_task_free (struct gtask *g);
/* An engine's resources (zpar__sched_lb_engine_res). */
int zpar__gang_engine_res (zpar_sched_lb_t *s, uint32_t eid, unsigned cores, const char *slot,
                           uint64_t node_mem);
/* Engine eid came up (again) / is gone: its holds end, placement is
 * looked at again. */
void zpar__gang_engine_up (zpar_sched_lb_t *s, uint32_t eid);
void zpar__gang_engine_gone (zpar_sched_lb_t *s, uint32_t eid);
/* Resource task t is ready to run: into the resource queue (out of
 * memory: answered ERROR and freed). */
void zpar__gang_ready (zpar_sched_lb_t *s, lbtask_t *t);
/* Take t out of the resource queue: 1 if it was there. */
int zpar__gang_unready (zpar_sched_lb_t *s, lbtask_t *t);
/* The next placement of a resource task (a DISPATCH), a steal from an
 * engine reserved for one, or an answer for one no engine set can ever
 * hold: 1 with act filled, 0 if none now. */
int zpar__gang_next (zpar_sched_lb_t *s, zpar_sched_lb_action_t *act);
/* A plain task t that found no free engine: an engine reserved for a
 * resource task that t, by its timeout, ends before the reservation can
 * start (backfill), or 0. */
uint32_t zpar__gang_backfill (zpar_sched_lb_t *s, const lbtask_t *t);
/* The same for the first of the ready plain tasks (past the head, which
 * found no engine) that may backfill: taken out of the heap, *eid set;
 * NULL if none (the scan looks at BACKFILL_SCAN tasks, and not again
 * until a task is submitted). */
lbtask_t *zpar__gang_backfill_any (zpar_sched_lb_t *s, uint32_t *eid);
/* Resource task t stops running on its engines (finished, queued again,
 * its leader died): they are released. */
void zpar__gang_off (zpar_sched_lb_t *s, lbtask_t *t);
/* The engine of resource task t's running set that died while it ran
 * (its leader was told to stop it: zpar__gang_engine_gone), 0 if none;
 * into text, what its answer says of it when no retry is left. */
uint32_t zpar__gang_lost (zpar_sched_lb_t *s, const lbtask_t *t, char *text, size_t size);
/* Resource task t, adopted running on engine eid (a controller restart:
 * the engines of its set are not known): eid and, for a task on one
 * node, idle engines of its node up to what it asks for are held again
 * (best effort) until its result. */
void zpar__gang_adopted (zpar_sched_lb_t *s, lbtask_t *t, uint32_t eid);
/* Engine eid's outstanding count reached 0. */
static inline void zpar__gang_engine_idle (zpar_sched_lb_t *s, uint32_t eid);
/* Resource tasks that wait for more engines (the tick looks at them). */
unsigned zpar__gang_waiting (const zpar_sched_lb_t *s);
void zpar__gang_tick (zpar_sched_lb_t *s);
/* The stop of running task t (an engine of its set died) could not be
 * queued or sent: zpar__gang_tick sends it again (zpar__gang_waiting
 * counts it, so that the ticks go on). */
void zpar__gang_stop_failed (zpar_sched_lb_t *s, lbtask_t *t);
/* A queued resource task taken out (destroy frees them), NULL: none. */
lbtask_t *zpar__gang_pop (zpar_sched_lb_t *s);
void zpar__gang_destroy (zpar_sched_lb_t *s);

/* The first member of struct zpar_gang (sched_gang.c). */
struct zpar_gang_head {
    int dirty; /* something changed that may let a resource task start */
};
static inline void zpar__gang_engine_idle (zpar_sched_lb_t *s, uint32_t eid)
{
    (void)eid;
    ((struct zpar_gang_head *)s->gang)->dirty = 1;
}

#endif
