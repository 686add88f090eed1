/* sched_lb.h - the load-balanced scheduling policy (internal).
 *
 * A plain data structure driven by function calls: no sockets, no
 * threads, no clock of its own.  sched_lb_io.c feeds it the events of the
 * task sockets and the hub pipe and carries out its decisions; the unit
 * test drives it directly.
 *
 * Policy (leastload):
 *   - A task goes to the live engine with the fewest outstanding tasks,
 *     below the per-engine high-water mark (hwm, default 16, so an engine
 *     never waits a round trip for its next task).  Engines with spare
 *     capacity sit in one stack per outstanding count, so the pick is O(1)
 *     for a task that may go anywhere.
 *   - Priorities: higher first, FIFO within a priority.
 *   - Targets: a task that names engines goes to the least loaded of them
 *     (on a tie, not the engine it last ran on); when none of them can
 *     take it now it is parked until an engine comes up or one of its
 *     engines frees a slot.
 *   - Dependencies: a task waits until every task it runs after has
 *     succeeded; if one did not, it is answered with status "dependency".
 *     The outcome of a dependency the policy does not remember is asked of
 *     the hub (ASK_HUB), which answers through zpar__sched_lb_dep_done.
 *   - Retries: a task that fails on an engine, or whose engine dies, runs
 *     again while it has retries left; else it is answered ("engine died"
 *     for a dead engine, the engine's own result for a failure).
 *   - Work stealing: when an engine is idle and nothing is ready, the
 *     busiest engine is asked to give back its newest task that has not
 *     started (STEAL); if it had not started, its result is "aborted" and
 *     the task is queued again, not counted as an attempt.
 *
 * Payloads: each task carries an opaque payload (the io layer's frames).
 * From a successful zpar__sched_lb_submit on, the policy owns it: it
 * hands it back to the caller in an ANSWER action (the caller frees it
 * after answering) and frees it with free_f in every other case (a result
 * that finishes the task, an abort, destroy).  DISPATCH and STEAL actions
 * only lend it.
 *
 * Decisions come out as actions the caller drains with
 * zpar__sched_lb_next_action after each batch of events.
 *
 * Errors: 0 / -1 with errno; no side effect on failure.
 */
#ifndef ZPAR__SCHED_LB_H
#define ZPAR__SCHED_LB_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "zpar.h"

typedef struct zpar_sched_lb zpar_sched_lb_t;

/* Tasks outstanding per engine by default. */
#define ZPAR_SCHED_LB_DEFAULT_HWM 16

/* Highest engine id accepted. */
#define ZPAR_SCHED_LB_MAX_ENGINE (1u << 24)

/* How many times a task fenced by an engine we count alive goes back to
 * the queue without counting as an attempt (zpar__sched_lb_result): a
 * safety net only; a fence is never the task's doing, and it ends when
 * the machine is less loaded (an engine that hears no ping at all also
 * sends no pong: the hub declares it dead, and its fenced results are
 * then duplicates). */
#define ZPAR_SCHED_LB_FENCE_MAX 1000

/* How long an engine whose task socket is not connected yet waits before
 * it is tried again (microseconds). */
#define ZPAR_SCHED_LB_RETRY_US 5000u

typedef void (*zpar_sched_lb_free_f) (void *payload, void *arg);

/* A task, as submitted.  The arrays are copied. */
typedef struct {
    zpar_tid_t id;             /* non-zero */
    zpar_cid_t client;         /* client number (for answers) */
    int64_t priority;          /* higher first */
    unsigned retries;          /* extra attempts allowed */
    const zpar_eid_t *targets; /* engines allowed (none: any) */
    size_t ntargets;
    const zpar_tid_t *after; /* tasks that must succeed first */
    size_t nafter;
    void *payload; /* opaque, see above */
    /* Resources (copied; NULL or one core: a plain task): placed on a
     * set of engines (sched_gang.h).  timeout_ms (0: none) bounds how
     * long it runs: only a task with one may backfill a reservation. */
    const zpar_resources_t *res;
    uint64_t timeout_ms;
} zpar_sched_lb_task_t;

typedef enum {
    ZPAR_SCHED_LB_ACT_NONE = 0,
    /* send payload to engine; attempt is its 1-based attempt number.  If
     * the send fails, call zpar__sched_lb_dispatch_failed (the io layer
     * sends a round's dispatches together at its end, and gives the tasks
     * of a failed send back last dispatched first, so that each undo
     * finds the state its dispatch left). */
    ZPAR_SCHED_LB_ACT_DISPATCH = 1,
    /* ask engine to give task back if it has not started it; if the ask
     * cannot be sent, call zpar__sched_lb_steal_failed. */
    ZPAR_SCHED_LB_ACT_STEAL = 2,
    /* answer the task's client ourselves with status and text; the task
     * is finished and payload is the caller's now. */
    ZPAR_SCHED_LB_ACT_ANSWER = 3,
    /* ask the hub whether task (a dependency) has finished. */
    ZPAR_SCHED_LB_ACT_ASK_HUB = 4,
    /* ask engine (the leader of a resource task's set) to stop task, queued
     * or running (SIGTERM, then SIGKILL to its process group): an engine
     * of its set died.  Its result comes back as any result does and
     * decides (zpar__sched_lb_result); if the ask cannot be sent, call
     * zpar__sched_lb_stop_failed (it is asked again later). */
    ZPAR_SCHED_LB_ACT_STOP = 5,
} zpar_sched_lb_act_kind_t;

typedef struct {
    zpar_sched_lb_act_kind_t kind;
    zpar_tid_t task;
    zpar_eid_t engine;    /* DISPATCH: to; STEAL: from; ANSWER: where it last ran (0: nowhere) */
    zpar_cid_t client;    /* the task's client number (not for ASK_HUB) */
    unsigned attempt;     /* DISPATCH: this attempt; ANSWER: attempts made */
    zpar_status_t status; /* ANSWER */
    char text[160];       /* ANSWER */
    void *payload;        /* DISPATCH, STEAL: lent; ANSWER: given (may be NULL) */
    /* DISPATCH of a resource task: the SLOT strings of the engines it
     * holds, engine (the leader) first (lent until the next call;
     * nslots 0 for a plain task) */
    const char *const *slots;
    size_t nslots;
} zpar_sched_lb_action_t;

/* What to do with a result that came back from an engine. */
typedef enum {
    ZPAR_SCHED_LB_DELIVER = 0, /* send it to its client (and the monitor) */
    ZPAR_SCHED_LB_SWALLOW = 1, /* drop it: the task runs again, or it was answered already */
} zpar_sched_lb_verdict_t;

/* Counters, for tests and status. */
typedef struct {
    size_t ready;         /* in the ready queue */
    size_t parked;        /* ready, but no allowed engine can take them now */
    size_t waiting;       /* waiting for dependencies */
    size_t running;       /* sent to an engine, no result yet */
    unsigned stealing;    /* steal requests in flight */
    uint64_t stolen;      /* tasks moved from a busy engine to an idle one */
    unsigned engines;     /* live engines */
    uint64_t duplicates;  /* results dropped (the task was elsewhere, or answered) */
    uint64_t dup_submits; /* submissions dropped (the id was queued, running or done) */
    uint64_t adopted;     /* tasks adopted from engines that registered again */
    uint64_t fenced;      /* fenced results of live engines: queued again, no attempt */
    uint64_t settles;     /* times the tables grown by a burst were rebuilt small */
} zpar_sched_lb_stats_t;

/* Create with hwm tasks outstanding per engine (0: the default).  free_f
 * (may be NULL) frees payloads the policy lets go of.  NULL with errno
 * (EINVAL: hwm above 65536; ENOMEM). */
zpar_sched_lb_t *zpar__sched_lb_create (unsigned hwm, zpar_sched_lb_free_f free_f, void *arg);

/* Free everything, payloads included (through free_f).  NULL-safe. */
void zpar__sched_lb_destroy (zpar_sched_lb_t *s);

unsigned zpar__sched_lb_hwm (const zpar_sched_lb_t *s);

/* The low mark: an engine that had hwm tasks outstanding takes untargeted
 * tasks again when it has fewer than low, and is then given up to hwm
 * (default hwm / 2 from a hwm of 8, else hwm: no hysteresis).  low is
 * clamped to 1..hwm; 0 or hwm turns the hysteresis off. */
void zpar__sched_lb_set_low (zpar_sched_lb_t *s, unsigned low);

/* What engine holds, before its engine_up (the hub's "res"): its core
 * count (0: 1), its SLOT string (proto_task.h), whose HOST groups the
 * engines of a node, and the memory of its whole node in bytes (0:
 * unknown; the smallest any engine of the node reported bounds the memory
 * the node's running tasks may ask for together).  Absent: one core, a
 * node of its own.  -1 EINVAL (a malformed slot, another engine's),
 * ENOMEM. */
int zpar__sched_lb_engine_res (zpar_sched_lb_t *s, zpar_eid_t engine, unsigned cores,
                               const char *slot, uint64_t node_mem);

/* The time now (monotonic microseconds), for reservations and for how
 * long a task no engine set can hold waits for more engines: set before
 * each round of events (0 until then). */
void zpar__sched_lb_now (zpar_sched_lb_t *s, uint64_t now_us);

/* An engine registered (again: a re-registered engine's tasks are treated
 * as lost, as if it had died).  Parked tasks get another chance.
 * -1 EINVAL for engine 0 or above ZPAR_SCHED_LB_MAX_ENGINE, ENOMEM. */
int zpar__sched_lb_engine_up (zpar_sched_lb_t *s, zpar_eid_t engine);

/* An engine we count alive connected again (the same engine: it
 * registered again with the routing identity it had, after closing its
 * sockets): what was sent to it before cannot arrive any more, so every
 * task outstanding on it goes back to the queue, with no attempt counted
 * and no retry used (those it still holds are adopted again right after,
 * zpar__sched_lb_adopt).  -1 ENOENT if it is not a live engine, EINVAL. */
int zpar__sched_lb_engine_again (zpar_sched_lb_t *s, zpar_eid_t engine);

/* An engine died or unregistered: its tasks are retried elsewhere within
 * their budget, else answered ZPAR_STATUS_ENGINE_DIED.  why goes to the
 * log.  -1 ENOENT if it is not a live engine, EINVAL for bad arguments. */
int zpar__sched_lb_engine_down (zpar_sched_lb_t *s, zpar_eid_t engine, const char *why);

/* Queue a task.  On success the policy owns t->payload.  A task id of 0
 * is answered ZPAR_STATUS_ERROR (the call still succeeds: the answer is
 * the outcome).  A task id already queued, running or finished (one the
 * policy remembers) is a second copy of the same task (a client that
 * submitted it again after a controller restart): it is dropped and
 * counted (stats dup_submits), never run twice.  -1 EINVAL (NULL, an
 * array count without its array), ENOMEM: the payload stays the
 * caller's. */
int zpar__sched_lb_submit (zpar_sched_lb_t *s, const zpar_sched_lb_task_t *t);

/* A result came back for task from engine with status.  Returns the
 * verdict, -1 EINVAL for bad arguments.  The first result of a task
 * stands: a result for a task outstanding on another engine, or already
 * answered, is swallowed and counted (stats duplicates).  A result for a
 * task that waits to run again (its engine was taken for dead, or it was
 * queued after a controller restart) finishes it there (no second run),
 * unless it says "aborted" (then it is swallowed and counted).  A result
 * for a task the policy does not know (a controller restart) is
 * delivered: the hub records the first one only.  ZPAR_STATUS_ENGINE_DIED
 * from the engine the task is outstanding on is a fence (the engine heard
 * nothing from us for its fence limit and killed the task, doc/engine.md
 * "Fencing"): a protective kill, not an attempt: the task goes back to the
 * queue (swallowed, stats fenced), no retry used, at most
 * ZPAR_SCHED_LB_FENCE_MAX times per task. */
int zpar__sched_lb_result (zpar_sched_lb_t *s, zpar_tid_t task, zpar_eid_t engine,
                           zpar_status_t status);
/* The same with the attempt the result's header carries (bits 0-7 of its
 * flags: the dispatch it answers; 0: unknown).  A fence (ENGINE_DIED) of
 * an earlier dispatch of the task to the same engine than the one running
 * there now (the engine was taken for dead, the task queued again and
 * given back to it, then its outbox delivered the old fence) is stale:
 * swallowed and counted with the duplicates, the task runs on. */
int zpar__sched_lb_result_at (zpar_sched_lb_t *s, zpar_tid_t task, zpar_eid_t engine,
                              zpar_status_t status, unsigned attempt);

/* Engine (live) registered again and says it holds task t->id, running
 * or queued on it: count it outstanding there (adopted, no second run;
 * never stolen back).  If the policy queues the task, it is taken out of
 * the queue; if it does not know it, t (with its payload: the recorded
 * request) makes it.  On success the policy owns t->payload (may be NULL
 * when the policy has the task).  -1 with errno, the payload stays the
 * caller's: EBUSY the task is outstanding on another engine, waits for a
 * dependency or is finished (the engine should not run it: the caller
 * counts the conflict); ENOENT engine not live, or task unknown and no
 * payload given; EINVAL, ENOMEM. */
int zpar__sched_lb_adopt (zpar_sched_lb_t *s, zpar_eid_t engine, const zpar_sched_lb_task_t *t);

/* The engine answered a steal: the task had started, it stays there. */
int zpar__sched_lb_steal_refused (zpar_sched_lb_t *s, zpar_tid_t task);

/* The STEAL action for task could not be sent. */
int zpar__sched_lb_steal_failed (zpar_sched_lb_t *s, zpar_tid_t task);

/* The STOP action for task could not be sent: it is sent again at a later
 * zpar__sched_lb_tick (zpar__sched_lb_waiting_engines counts it).  -1
 * ENOENT if task is not running. */
int zpar__sched_lb_stop_failed (zpar_sched_lb_t *s, zpar_tid_t task);

/* The DISPATCH action of task to engine could not be sent.  unreachable:
 * the engine's socket is not connected (EHOSTUNREACH: not yet, or for a
 * moment while it reconnects; deaths are the hub's to declare): the
 * engine is tried again after ZPAR_SCHED_LB_RETRY_US (see
 * zpar__sched_lb_tick).  Otherwise (the
 * socket is full) dispatching pauses until the next event.  now_us:
 * monotonic time.  -1 ENOENT if task is not running on engine. */
int zpar__sched_lb_dispatch_failed (zpar_sched_lb_t *s, zpar_tid_t task, zpar_eid_t engine,
                                    int unreachable, uint64_t now_us);

/* Engines waiting to be tried again (call zpar__sched_lb_tick every
 * ZPAR_SCHED_LB_RETRY_US while this is non-zero). */
unsigned zpar__sched_lb_waiting_engines (const zpar_sched_lb_t *s);

/* Make engines whose retry time has come eligible again. */
void zpar__sched_lb_tick (zpar_sched_lb_t *s, uint64_t now_us);

/* The hub says task finished (ok: succeeded).  Ignored if the policy
 * already knows its outcome. */
int zpar__sched_lb_dep_done (zpar_sched_lb_t *s, zpar_tid_t task, int ok);

/* A client asks to abort task.  A queued task (ready, parked or waiting)
 * is answered ZPAR_STATUS_ABORTED and *aborted set to 1; a running one is
 * left alone and *running_on set to its engine (0 otherwise).  Either
 * pointer may be NULL. */
int zpar__sched_lb_abort (zpar_sched_lb_t *s, zpar_tid_t task, int *aborted,
                          zpar_eid_t *running_on);

/* The next decision, 1 if one was written to *act, 0 if there is none
 * left for now.  Answers and hub questions come first, in the order they
 * arose; then dispatches (priority order), then steals. */
int zpar__sched_lb_next_action (zpar_sched_lb_t *s, zpar_sched_lb_action_t *act);

/* Tasks outstanding on engine (0 if unknown). */
unsigned zpar__sched_lb_outstanding (const zpar_sched_lb_t *s, zpar_eid_t engine);

/* The counters (ready and waiting are counted by a walk of the queue:
 * O(queued tasks), not for every event). */
void zpar__sched_lb_stats (const zpar_sched_lb_t *s, zpar_sched_lb_stats_t *st);

/* The drops counted as duplicates, stats' duplicates + dup_submits, in
 * O(1) (read after every batch of events).  0 for NULL. */
uint64_t zpar__sched_lb_dropped_dups (const zpar_sched_lb_t *s);

#endif
