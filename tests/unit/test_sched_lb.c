/* test_sched_lb.c - the load-balanced policy, without any socket.
 *
 * Each case is a table of steps (an event, then the actions the policy
 * decides, drained and written as tokens):
 *
 *   d<task>@<engine>[#attempt]   DISPATCH (attempt shown when above 1)
 *   x<task>@<engine>             DISPATCH whose send the test makes fail
 *   s<task>@<engine>             STEAL
 *   a<task>:<status>             ANSWER (zpar_status_name)
 *   h<task>                      ASK_HUB
 *
 * An expectation starting with '~' compares the tokens in any order (for
 * answers whose order follows a hash map).  NULL: do not drain. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_lb.h"
#include "tap.h"

#define E(n) zpar__eid (n)
#define T(n) zpar__tid (n)

enum op { END = 0, UP, DOWN, SUB, RES, DEP, ABORT, REFUSE, FAIL, TICK, STATS, ADOPT, DUPS, AGAIN };

typedef struct {
    enum op op;
    uint64_t a;          /* task or engine */
    uint64_t b;          /* RES: engine; SUB: priority; DEP: ok; FAIL: unreachable; TICK: now */
    int c;               /* SUB: retries; RES: status; FAIL: engine */
    const char *targets; /* SUB */
    const char *after;   /* SUB */
    const char *expect;  /* actions after the step */
    long want;           /* RES: verdict; ABORT: aborted*1000+engine; DOWN/UP: rc;
                            STATS: ready*10000+parked*1000+waiting*100+running;
                            ADOPT: 0 or the errno; DUPS: results*100+submits */
} step_t;

typedef struct {
    const char *name;
    unsigned hwm;
    step_t steps[40];
} case_t;

#define S_UP(e, x)                                                                                 \
    {                                                                                              \
        UP, e, 0, 0, NULL, NULL, x, 0                                                              \
    }
/* engine e, alive, connected again (zpar__sched_lb_engine_again) */
#define S_AGAIN(e, x, rc)                                                                          \
    {                                                                                              \
        AGAIN, e, 0, 0, NULL, NULL, x, rc                                                          \
    }
#define S_DOWN(e, x, rc)                                                                           \
    {                                                                                              \
        DOWN, e, 0, 0, NULL, NULL, x, rc                                                           \
    }
#define S_SUB(id, x)                                                                               \
    {                                                                                              \
        SUB, id, 0, 0, NULL, NULL, x, 0                                                            \
    }
#define S_SUBX(id, prio, retries, targets, after, x)                                               \
    {                                                                                              \
        SUB, id, (uint64_t)(prio), retries, targets, after, x, 0                                   \
    }
#define S_RES(id, e, st, verdict, x)                                                               \
    {                                                                                              \
        RES, id, e, ZPAR_STATUS_##st, NULL, NULL, x, ZPAR_SCHED_LB_##verdict                       \
    }
#define S_DEP(id, ok, x)                                                                           \
    {                                                                                              \
        DEP, id, ok, 0, NULL, NULL, x, 0                                                           \
    }
#define S_ABORT(id, aborted, on, x)                                                                \
    {                                                                                              \
        ABORT, id, 0, 0, NULL, NULL, x, (aborted)*1000 + (on)                                      \
    }
#define S_REFUSE(id, x)                                                                            \
    {                                                                                              \
        REFUSE, id, 0, 0, NULL, NULL, x, 0                                                         \
    }
/* the next dispatch to engine e fails (unreachable: EHOSTUNREACH) */
#define S_FAIL(e, unreachable)                                                                     \
    {                                                                                              \
        FAIL, 0, unreachable, e, NULL, NULL, NULL, 0                                               \
    }
#define S_TICK(now, x)                                                                             \
    {                                                                                              \
        TICK, 0, now, 0, NULL, NULL, x, 0                                                          \
    }
#define S_STATS(ready, parked, waiting, running)                                                   \
    {                                                                                              \
        STATS, 0, 0, 0, NULL, NULL, NULL,                                                          \
            (ready)*10000 + (parked)*1000 + (waiting)*100 + (running)                              \
    }

/* engine e registers again holding task id (pl: with its recorded
 * request as payload); want: 0 or the errno */
#define S_ADOPT(id, e, pl, err, x)                                                                 \
    {                                                                                              \
        ADOPT, id, e, pl, NULL, NULL, x, err                                                       \
    }
/* duplicates counted: results dropped, submissions dropped */
#define S_DUPS(res, sub)                                                                           \
    {                                                                                              \
        DUPS, 0, 0, 0, NULL, NULL, NULL, (res)*100 + (sub)                                         \
    }

static const case_t cases[] = {
    {"least load: the engine with the fewest outstanding tasks",
     4,
     {S_UP (1, ""), S_SUB (1, "d1@1"), S_SUB (2, "d2@1"), S_SUB (3, "d3@1"),
      /* engine 2 comes up empty (and asks in vain for queued work) */
      S_UP (2, "s3@1"), S_REFUSE (3, "s2@1"), S_REFUSE (2, ""),
      /* the next tasks go there until it has as many */
      S_SUB (4, "d4@2"), S_SUB (5, "d5@2"), S_SUB (6, "d6@2"),
      /* both at 3 (the latest to reach a level is picked first), then at hwm */
      S_SUB (7, "d7@2"), S_SUB (8, "d8@1"), S_SUB (9, ""), S_STATS (1, 0, 0, 8),
      /* a result frees a slot: the waiting task goes there */
      S_RES (1, 1, OK, DELIVER, "d9@1"), S_STATS (0, 0, 0, 8)}},
    {"hwm: never more than hwm tasks outstanding per engine",
     2,
     {S_UP (1, ""), S_SUB (1, "d1@1"), S_SUB (2, "d2@1"), S_SUB (3, ""), S_SUB (4, ""),
      S_STATS (2, 0, 0, 2), S_RES (2, 1, OK, DELIVER, "d3@1"), S_RES (1, 1, OK, DELIVER, "d4@1")}},
    {"hwm 1: one task per engine, nothing to steal",
     1,
     {S_UP (1, ""), S_SUB (1, "d1@1"), S_SUB (2, ""), S_UP (2, "d2@2"), S_UP (3, ""),
      S_STATS (0, 0, 0, 2)}},
    {"stealing: an idle engine takes a queued task from a busy one",
     4,
     {S_UP (1, ""), S_SUB (1, "d1@1"), S_SUB (2, "d2@1"), S_SUB (3, "d3@1"), S_SUB (4, "d4@1"),
      /* engine 2 idles: the newest task of engine 1 is asked back */
      S_UP (2, "s4@1"),
      /* given back before it started: it goes to engine 2, same attempt */
      S_RES (4, 1, ABORTED, SWALLOW, "d4@2"),
      /* nobody idle any more */
      S_RES (4, 2, OK, DELIVER, "s3@1"), S_REFUSE (3, "s2@1"), S_REFUSE (2, ""),
      S_STATS (0, 0, 0, 3)}},
    {"stealing: a task already started stays; targeted tasks are not stolen",
     4,
     {S_UP (1, ""), S_SUBX (1, 0, 0, "1", NULL, "d1@1"), S_SUBX (2, 0, 0, "1", NULL, "d2@1"),
      S_SUB (3, "d3@1"), S_UP (2, "s3@1"), S_REFUSE (3, ""),
      /* engine 2 still idle, but nothing left to ask for */
      S_SUB (4, "d4@2")}},
    {"targets: a task goes only to the engines it names",
     4,
     {S_UP (1, ""), S_UP (2, ""), S_SUBX (1, 0, 0, "2", NULL, "d1@2"),
      S_SUBX (2, 0, 0, "1", NULL, "d2@1"), S_SUBX (3, 0, 0, "2", NULL, "d3@2"),
      /* engine 3 is not up: parked until it is */
      S_SUBX (4, 0, 0, "3", NULL, ""), S_STATS (0, 1, 0, 3), S_UP (3, "d4@3"),
      S_STATS (0, 0, 0, 4)}},
    {"targets: a task parked behind a busy target goes when the target frees a slot",
     2,
     {S_UP (1, ""), S_UP (2, ""), S_SUBX (1, 0, 0, "2", NULL, "d1@2"),
      S_SUBX (2, 0, 0, "2", NULL, "d2@2"), S_SUBX (3, 0, 0, "2", NULL, ""),
      /* untargeted work is not held up by the parked task */
      S_SUB (4, "d4@1"), S_STATS (0, 1, 0, 3), S_RES (1, 2, OK, DELIVER, "d3@2"),
      S_STATS (0, 0, 0, 3)}},
    {"priorities: higher first, FIFO within a priority",
     1,
     {S_UP (1, ""), S_SUB (1, "d1@1"), S_SUBX (2, 0, 0, NULL, NULL, ""),
      S_SUBX (3, 5, 0, NULL, NULL, ""), S_SUBX (4, 5, 0, NULL, NULL, ""),
      S_SUBX (5, -1, 0, NULL, NULL, ""), S_SUBX (6, 5, 0, NULL, NULL, ""),
      S_RES (1, 1, OK, DELIVER, "d3@1"), S_RES (3, 1, OK, DELIVER, "d4@1"),
      S_RES (4, 1, OK, DELIVER, "d6@1"), S_RES (6, 1, OK, DELIVER, "d2@1"),
      S_RES (2, 1, OK, DELIVER, "d5@1"), S_RES (5, 1, OK, DELIVER, "")}},
    {"dependencies: a task waits until the tasks it runs after succeeded",
     4,
     {S_UP (1, ""), S_SUB (1, "d1@1"), S_SUBX (2, 0, 0, NULL, "1", "h1"),
      S_SUBX (3, 0, 0, NULL, "1,2", "h1 h2"), S_STATS (0, 0, 2, 1),
      S_RES (1, 1, OK, DELIVER, "d2@1"), S_RES (2, 1, OK, DELIVER, "d3@1"),
      /* an outcome already known: no wait, no question */
      S_SUBX (4, 0, 0, NULL, "1,2", "d4@1")}},
    {"dependencies: a task fails with 'dependency' when one did not succeed",
     4,
     {S_UP (1, ""), S_SUB (1, "d1@1"), S_SUBX (2, 0, 0, NULL, "1", "h1"),
      S_SUBX (3, 0, 0, NULL, "2", "h2"),
      S_RES (1, 1, FAILED, DELIVER, "a2:dependency-failed a3:dependency-failed"),
      S_SUBX (4, 0, 0, NULL, "1", "a4:dependency-failed"),
      S_SUBX (5, 0, 0, NULL, "3", "a5:dependency-failed"), S_STATS (0, 0, 0, 0)}},
    {"dependencies: outcomes the hub knows",
     4,
     {S_UP (1, ""), S_SUBX (1, 0, 0, NULL, "99", "h99"), S_DEP (99, 1, "d1@1"), S_DEP (99, 0, ""),
      S_SUBX (2, 0, 0, NULL, "98,99", "h98"), S_DEP (98, 0, "a2:dependency-failed"),
      /* the first outcome stands */
      S_DEP (98, 1, ""), S_SUBX (3, 0, 0, NULL, "98", "a3:dependency-failed")}},
    {"dependencies: a task after one that fails while others are still pending",
     4,
     {S_UP (1, ""), S_SUBX (1, 0, 0, NULL, "50", "h50"), S_SUBX (2, 0, 0, NULL, "50,51", "h50 h51"),
      S_DEP (51, 0, "a2:dependency-failed"), S_DEP (50, 1, "d1@1"), S_STATS (0, 0, 0, 1)}},
    {"retries: a failed task runs again while it has retries left",
     4,
     {S_UP (1, ""), S_SUBX (1, 0, 2, NULL, NULL, "d1@1"), S_RES (1, 1, FAILED, SWALLOW, "d1@1#2"),
      S_RES (1, 1, TIMEOUT, SWALLOW, "d1@1#3"), S_RES (1, 1, FAILED, DELIVER, ""),
      /* an interrupted (aborted) task is not retried */
      S_SUBX (2, 0, 2, NULL, NULL, "d2@1"), S_RES (2, 1, ABORTED, DELIVER, ""),
      /* a success ends it */
      S_SUBX (3, 0, 2, NULL, NULL, "d3@1"), S_RES (3, 1, OK, DELIVER, "")}},
    {"retries: on a tie a retry avoids the engine it failed on",
     4,
     {S_UP (1, ""), S_UP (2, ""), S_SUBX (1, 0, 1, "1,2", NULL, "d1@1"),
      S_RES (1, 1, SIGNALED, SWALLOW, "d1@2#2"), S_RES (1, 2, FAILED, DELIVER, "")}},
    {"engine death: retried elsewhere within budget, else 'engine died'",
     4,
     {S_UP (1, ""), S_SUBX (1, 0, 1, NULL, NULL, "d1@1"), S_SUBX (2, 0, 0, NULL, NULL, "d2@1"),
      S_UP (2, "s2@1"), S_REFUSE (2, ""), S_DOWN (1, "~d1@2#2 a2:engine-died", 0),
      S_DOWN (2, "a1:engine-died", 0),
      /* a late result from a dead engine: the first answer stands */
      S_RES (1, 1, OK, SWALLOW, ""), S_RES (2, 2, OK, SWALLOW, ""), S_STATS (0, 0, 0, 0)}},
    {"fencing: a fenced task's result (engine died) is queued again, not an attempt, or a "
     "dropped duplicate",
     4,
     {/* from the engine that owns it, which we count alive: run again, no
       * attempt counted, no retry used (none left here) */
      S_UP (1, ""), S_SUBX (1, 0, 0, NULL, NULL, "d1@1"),
      S_RES (1, 1, ENGINE_DIED, SWALLOW, "d1@1"), S_STATS (0, 0, 0, 1),
      S_RES (1, 1, ENGINE_DIED, SWALLOW, "d1@1"), S_RES (1, 1, OK, DELIVER, ""), S_DUPS (0, 0),
      S_STATS (0, 0, 0, 0),
      /* the engine was declared dead first and the retry waits for an
       * engine: the fenced result does not end the task */
      S_SUBX (2, 0, 1, NULL, NULL, "d2@1"), S_DOWN (1, "", 0), S_STATS (1, 0, 0, 0),
      S_RES (2, 1, ENGINE_DIED, SWALLOW, ""), S_STATS (1, 0, 0, 0), S_UP (2, "d2@2#2"),
      /* the retry runs elsewhere: a duplicate too */
      S_RES (2, 1, ENGINE_DIED, SWALLOW, ""), S_RES (2, 2, OK, DELIVER, ""), S_DUPS (2, 0),
      S_STATS (0, 0, 0, 0)}},
    {"engine death: a retried task waits for an engine to come",
     4,
     {S_UP (1, ""), S_SUBX (1, 0, 3, NULL, NULL, "d1@1"), S_DOWN (1, "", 0), S_STATS (1, 0, 0, 0),
      S_DOWN (1, "", -1), S_UP (2, "d1@2#2"),
      /* re-registration: its tasks are lost, as if it had died */
      S_UP (2, "d1@2#3"), S_RES (1, 2, OK, DELIVER, "")}},
    {"engines coming and going",
     4,
     {S_UP (3, ""), S_DOWN (3, "", 0), S_DOWN (3, "", -1), S_DOWN (7, "", -1), S_SUB (1, ""),
      S_UP (3, "d1@3"), S_UP (5, ""), S_DOWN (3, "a1:engine-died", 0), S_SUB (2, "d2@5"),
      S_UP (16, ""), S_UP (1000, ""), S_SUBX (3, 0, 0, "1000", NULL, "d3@1000")}},
    {"abort: queued tasks are answered, running ones are left alone",
     1,
     {S_UP (1, ""), S_SUB (1, "d1@1"), S_SUB (2, ""), S_ABORT (2, 1, 0, "a2:aborted"),
      S_ABORT (2, 0, 0, ""), S_ABORT (1, 0, 1, ""), S_ABORT (999, 0, 0, ""),
      /* parked */
      S_SUBX (3, 0, 0, "9", NULL, ""), S_ABORT (3, 1, 0, "a3:aborted"),
      /* waiting */
      S_SUBX (4, 0, 0, NULL, "77", "h77"), S_ABORT (4, 1, 0, "a4:aborted"), S_DEP (77, 1, ""),
      /* a dependency aborted */
      S_SUB (6, ""), S_SUBX (5, 0, 0, NULL, "6", "h6"),
      S_ABORT (6, 1, 0, "a6:aborted a5:dependency-failed"), S_STATS (0, 0, 0, 1),
      S_RES (1, 1, OK, DELIVER, ""), S_STATS (0, 0, 0, 0)}},
    {"duplicate task ids are dropped and counted, a missing one is answered with an error",
     4,
     {S_UP (1, ""), S_SUB (1, "d1@1"), S_SUB (1, ""), S_SUB (0, "a0:error"), S_STATS (0, 0, 0, 1),
      S_DUPS (0, 1), S_RES (1, 1, OK, DELIVER, ""),
      /* finished: a late copy does not run again */
      S_SUB (1, ""), S_DUPS (0, 2), S_STATS (0, 0, 0, 0)}},
    {"a result from an engine for a task given to another engine is dropped and counted",
     1,
     {S_UP (1, ""), S_UP (2, ""), S_SUBX (1, 0, 1, NULL, NULL, "d1@2"), S_DOWN (2, "d1@1#2", 0),
      S_UP (2, ""), S_RES (1, 2, OK, SWALLOW, ""), S_DUPS (1, 0), S_RES (1, 1, OK, DELIVER, ""),
      S_RES (1, 1, OK, SWALLOW, ""), S_RES (1, 2, OK, SWALLOW, ""), S_DUPS (3, 0),
      S_STATS (0, 0, 0, 0)}},
    {"a result for a task waiting to run again finishes it (no second run)",
     1,
     {S_UP (1, ""), S_SUBX (1, 0, 1, NULL, NULL, "d1@1"), S_SUBX (2, 0, 1, NULL, NULL, ""),
      S_DOWN (1, "", 0), S_STATS (2, 0, 0, 0), S_RES (1, 1, OK, DELIVER, ""),
      /* "aborted" from a dead engine is not an outcome */
      S_RES (2, 1, ABORTED, SWALLOW, ""), S_STATS (1, 0, 0, 0), S_DUPS (1, 0), S_UP (3, "d2@3"),
      S_RES (2, 3, OK, DELIVER, ""), S_STATS (0, 0, 0, 0)}},
    {"adoption after a controller restart: the task runs on where it is",
     2,
     {S_UP (1, ""), S_ADOPT (5, 1, 1, 0, ""), S_STATS (0, 0, 0, 1),
      /* the client's copy of the same task is not run again */
      S_SUB (5, ""), S_DUPS (0, 1), S_SUB (6, "d6@1"), S_SUB (7, ""),
      /* adopted tasks are never stolen back */
      S_UP (2, "d7@2"), S_RES (6, 1, OK, DELIVER, ""), S_RES (5, 1, OK, DELIVER, ""),
      S_ADOPT (5, 1, 1, EBUSY, ""), S_ADOPT (8, 1, 0, ENOENT, ""), S_ADOPT (9, 4, 1, ENOENT, ""),
      S_RES (7, 2, OK, DELIVER, ""), S_STATS (0, 0, 0, 0)}},
    {"adoption of a task queued again (its engine was taken for dead and came back)",
     1,
     {S_UP (1, ""), S_SUBX (1, 0, 1, NULL, NULL, "d1@1"), S_DOWN (1, "", 0),
      S_ADOPT (1, 1, 0, ENOENT, NULL), S_UP (1, NULL), S_ADOPT (1, 1, 0, 0, ""),
      S_STATS (0, 0, 0, 1), S_ADOPT (1, 1, 1, 0, ""), S_RES (1, 1, OK, DELIVER, ""),
      S_STATS (0, 0, 0, 0), S_DUPS (0, 0)}},
    {"adoption conflict: a task outstanding on another engine stays there",
     4,
     {S_UP (1, ""), S_UP (2, ""), S_SUB (1, "d1@2"), S_ADOPT (1, 1, 0, EBUSY, ""),
      S_RES (1, 1, OK, SWALLOW, ""), S_RES (1, 2, OK, DELIVER, ""), S_DUPS (1, 0),
      /* waiting for a dependency: not adoptable */
      S_SUBX (3, 0, 0, NULL, "77", "h77"), S_ADOPT (3, 1, 0, EBUSY, ""), S_DEP (77, 1, "d3@2"),
      S_RES (3, 2, OK, DELIVER, "")}},
    {"dispatch failures: an engine not connected yet is tried again later",
     4,
     {S_UP (1, ""), S_FAIL (1, 1), S_SUB (1, "x1@1"), S_STATS (1, 0, 0, 0), S_TICK (3000, ""),
      S_TICK (6000, "d1@1"),
      /* connected, then unreachable for a moment (it reconnects): not a
       * death (the hub declares deaths), tried again later */
      S_FAIL (1, 1), S_SUB (2, "x2@1"), S_STATS (1, 0, 0, 1), S_TICK (9000, ""),
      S_TICK (12000, "d2@1"), S_RES (1, 1, OK, DELIVER, ""), S_RES (2, 1, OK, DELIVER, ""),
      S_DOWN (1, "", 0), S_UP (2, ""),
      /* a full socket: dispatching pauses until the next event */
      S_FAIL (2, 0), S_SUB (3, "x3@2"), S_TICK (15000, ""), S_DEP (12345, 1, "d3@2")}},
    {"an engine we count alive connects again: what was sent to it goes back to the queue, "
     "no attempt counted; what it holds is adopted",
     4,
     {S_UP (1, ""), S_SUBX (1, 0, 0, NULL, NULL, "d1@1"), S_SUBX (2, 0, 0, NULL, NULL, "d2@1"),
      S_SUBX (3, 0, 0, NULL, NULL, "d3@1"),
      /* it holds 1 only (2 and 3 were in flight): 1 adopted, 2 and 3 sent
       * again, first attempt still */
      S_AGAIN (1, NULL, 0), S_ADOPT (1, 1, 0, 0, "~d2@1 d3@1"), S_STATS (0, 0, 0, 3),
      S_AGAIN (1, "~d1@1 d2@1 d3@1", 0), S_RES (1, 1, OK, DELIVER, ""),
      S_RES (2, 1, OK, DELIVER, ""), S_RES (3, 1, OK, DELIVER, ""), S_DUPS (0, 0),
      S_STATS (0, 0, 0, 0), S_AGAIN (7, "", -1), S_DOWN (1, "", 0), S_AGAIN (1, "", -1),
      S_AGAIN (0, "", -1)}},
    {"refill from the low mark: a full engine (hwm 8) takes tasks again below 4, then up to 8 in "
     "one round; below the mark a task goes at once",
     8,
     {S_UP (1, ""), S_SUB (1, "d1@1"), S_SUB (2, "d2@1"), S_SUB (3, "d3@1"), S_SUB (4, "d4@1"),
      S_SUB (5, "d5@1"), S_SUB (6, "d6@1"), S_SUB (7, "d7@1"), S_SUB (8, "d8@1"), S_SUB (9, ""),
      S_SUB (10, ""), S_SUB (11, ""), S_SUB (12, ""), S_SUB (13, ""), S_SUB (14, ""),
      /* 7, 6, 5, 4 outstanding: nothing yet */
      S_RES (1, 1, OK, DELIVER, ""), S_RES (2, 1, OK, DELIVER, ""), S_RES (3, 1, OK, DELIVER, ""),
      S_RES (4, 1, OK, DELIVER, ""),
      /* 3: filled up to 8 at once */
      S_RES (5, 1, OK, DELIVER, "d9@1 d10@1 d11@1 d12@1 d13@1"), S_STATS (1, 0, 0, 8),
      S_RES (6, 1, OK, DELIVER, ""), S_RES (7, 1, OK, DELIVER, ""), S_RES (8, 1, OK, DELIVER, ""),
      S_RES (9, 1, OK, DELIVER, ""), S_RES (10, 1, OK, DELIVER, "d14@1"),
      /* below the mark and not full: each new task goes at once */
      S_SUB (15, "d15@1"), S_SUB (16, "d16@1"), S_SUB (17, "d17@1"), S_SUB (18, "d18@1"),
      /* full again: the next waits; a second engine, idle, takes it */
      S_SUB (19, ""), S_UP (2, "d19@2"), S_SUB (20, "d20@2"), S_RES (11, 1, OK, DELIVER, ""),
      S_STATS (0, 0, 0, 9)}},
};

/* ------------------------------------------------------------ harness */

static int submitted, freed, answered;

static void payload_free (void *p, void *arg)
{
    (void)arg;
    freed++;
    free (p);
}

static size_t parse_ids (const char *s, uint64_t *v, size_t max)
{
    size_t n = 0;
    while (s && *s && n < max) {
        char *end;
        v[n++] = strtoull (s, &end, 10);
        s = *end == ',' ? end + 1 : end;
        if (end == s && *s)
            break;
    }
    return n;
}

static int failnext_engine;
static int failnext_unreachable;
static uint64_t now_us = 1000;

static void drain (zpar_sched_lb_t *s, char *out, size_t size)
{
    zpar_sched_lb_action_t act;
    size_t len = 0;
    out[0] = 0;
    while (zpar__sched_lb_next_action (s, &act) == 1) {
        char tok[96];
        switch (act.kind) {
        case ZPAR_SCHED_LB_ACT_DISPATCH:
            if (!act.payload || *(uint64_t *)act.payload != act.task.v)
                diag ("dispatch of %llu with the wrong payload", (unsigned long long)act.task.v);
            if (failnext_engine && (uint32_t)failnext_engine == act.engine.v) {
                snprintf (tok, sizeof (tok), "x%llu@%u", (unsigned long long)act.task.v,
                          act.engine.v);
                if (zpar__sched_lb_dispatch_failed (s, act.task, act.engine, failnext_unreachable,
                                                    now_us) < 0)
                    diag ("dispatch_failed refused");
                failnext_engine = 0;
            } else if (act.attempt > 1)
                snprintf (tok, sizeof (tok), "d%llu@%u#%u", (unsigned long long)act.task.v,
                          act.engine.v, act.attempt);
            else
                snprintf (tok, sizeof (tok), "d%llu@%u", (unsigned long long)act.task.v,
                          act.engine.v);
            break;
        case ZPAR_SCHED_LB_ACT_STEAL:
            snprintf (tok, sizeof (tok), "s%llu@%u", (unsigned long long)act.task.v, act.engine.v);
            break;
        case ZPAR_SCHED_LB_ACT_ANSWER:
            snprintf (tok, sizeof (tok), "a%llu:%s", (unsigned long long)act.task.v,
                      zpar_status_name (act.status));
            if (!act.text[0])
                diag ("answer without text");
            if (act.payload) {
                answered++;
                free (act.payload);
            }
            break;
        case ZPAR_SCHED_LB_ACT_ASK_HUB:
            snprintf (tok, sizeof (tok), "h%llu", (unsigned long long)act.task.v);
            break;
        default:
            snprintf (tok, sizeof (tok), "?%d", (int)act.kind);
        }
        len += (size_t)snprintf (out + len, size - len, "%s%s", len ? " " : "", tok);
        if (len >= size)
            break;
    }
}

static int cmp_str (const void *a, const void *b)
{
    return strcmp (*(char *const *)a, *(char *const *)b);
}

/* Sort the space-separated tokens of s in place. */
static void sort_tokens (char *s)
{
    char *tok[64], copy[512], *save = NULL, *t;
    size_t n = 0, len = 0;
    snprintf (copy, sizeof (copy), "%s", s);
    for (t = strtok_r (copy, " ", &save); t && n < 64; t = strtok_r (NULL, " ", &save))
        tok[n++] = t;
    qsort (tok, n, sizeof (*tok), cmp_str);
    s[0] = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf (s + len, "%s%s", i ? " " : "", tok[i]);
}

static void run_case (const case_t *c)
{
    zpar_sched_lb_t *s = zpar__sched_lb_create (c->hwm, payload_free, NULL);
    int good = 1;

    submitted = freed = answered = 0;
    failnext_engine = 0;
    now_us = 1000;
    if (!ok (s != NULL, "%s: created", c->name))
        return;
    for (int i = 0; i < 40 && c->steps[i].op != END; i++) {
        const step_t *st = &c->steps[i];
        char got[512], want[512];
        long rc = 0;
        int aborted = -1;
        zpar_eid_t on = {99};

        switch (st->op) {
        case UP:
            rc = zpar__sched_lb_engine_up (s, zpar__eid ((uint32_t)st->a));
            break;
        case DOWN:
            rc = zpar__sched_lb_engine_down (s, zpar__eid ((uint32_t)st->a), "died");
            break;
        case AGAIN:
            rc = zpar__sched_lb_engine_again (s, zpar__eid ((uint32_t)st->a));
            break;
        case SUB: {
            zpar_tid_t after[8];
            zpar_eid_t targets[8];
            uint64_t tv[8], av[8];
            uint64_t *p = malloc (sizeof (*p));
            size_t nt = parse_ids (st->targets, tv, 8);
            size_t na = parse_ids (st->after, av, 8);
            zpar_sched_lb_task_t t = {.id = zpar__tid (st->a),
                                      .client = zpar__cid (7),
                                      .priority = (int64_t)st->b,
                                      .retries = (unsigned)st->c,
                                      .targets = targets,
                                      .ntargets = nt,
                                      .after = after,
                                      .nafter = na,
                                      .payload = p};
            for (size_t k = 0; k < nt; k++)
                targets[k] = zpar__eid ((uint32_t)tv[k]);
            for (size_t k = 0; k < na; k++)
                after[k] = zpar__tid (av[k]);
            *p = st->a;
            rc = zpar__sched_lb_submit (s, &t);
            if (rc == 0)
                submitted++;
            else
                free (p);
            break;
        }
        case RES:
            rc = zpar__sched_lb_result (s, zpar__tid (st->a), zpar__eid ((uint32_t)st->b),
                                        (zpar_status_t)st->c);
            if (rc != st->want) {
                good = 0;
                diag ("step %d: verdict %ld, expected %ld", i, rc, st->want);
            }
            rc = 0;
            break;
        case DEP:
            rc = zpar__sched_lb_dep_done (s, zpar__tid (st->a), (int)st->b);
            break;
        case ABORT:
            rc = zpar__sched_lb_abort (s, zpar__tid (st->a), &aborted, &on);
            if (aborted * 1000 + (long)on.v != st->want) {
                good = 0;
                diag ("step %d: abort gave aborted %d on %u", i, aborted, on.v);
            }
            break;
        case REFUSE:
            rc = zpar__sched_lb_steal_refused (s, zpar__tid (st->a));
            break;
        case ADOPT: {
            uint64_t *p = st->c ? malloc (sizeof (*p)) : NULL;
            zpar_sched_lb_task_t t = {
                .id = zpar__tid (st->a), .client = zpar__cid (7), .payload = p};
            if (p)
                *p = st->a;
            rc = zpar__sched_lb_adopt (s, zpar__eid ((uint32_t)st->b), &t);
            if (rc == 0 && p)
                submitted++;
            else
                free (p);
            if ((rc == 0 ? 0 : errno) != st->want) {
                good = 0;
                diag ("step %d: adopt returned %ld (%s), expected %s", i, rc,
                      rc ? strerror (errno) : "ok", st->want ? strerror ((int)st->want) : "ok");
            }
            rc = 0;
            break;
        }
        case DUPS: {
            zpar_sched_lb_stats_t ss;
            zpar__sched_lb_stats (s, &ss);
            if ((long)(ss.duplicates * 100 + ss.dup_submits) != st->want ||
                zpar__sched_lb_dropped_dups (s) != ss.duplicates + ss.dup_submits) {
                good = 0;
                diag ("step %d: duplicates %llu results, %llu submissions, expected %ld", i,
                      (unsigned long long)ss.duplicates, (unsigned long long)ss.dup_submits,
                      st->want);
            }
            break;
        }
        case FAIL:
            failnext_engine = st->c;
            failnext_unreachable = (int)st->b;
            break;
        case TICK:
            now_us = st->b;
            zpar__sched_lb_tick (s, now_us);
            break;
        case STATS: {
            zpar_sched_lb_stats_t ss;
            long v;
            zpar__sched_lb_stats (s, &ss);
            v = (long)(ss.ready * 10000 + ss.parked * 1000 + ss.waiting * 100 + ss.running);
            if (v != st->want) {
                good = 0;
                diag ("step %d: stats ready %zu parked %zu waiting %zu running %zu, expected %ld",
                      i, ss.ready, ss.parked, ss.waiting, ss.running, st->want);
            }
            break;
        }
        default:
            break;
        }
        if (st->op != RES && st->op != ABORT && st->op != STATS && st->op != DUPS &&
            rc != (st->op == DOWN || st->op == AGAIN ? st->want : 0)) {
            good = 0;
            diag ("step %d: returned %ld", i, rc);
        }
        if (!st->expect)
            continue;
        drain (s, got, sizeof (got));
        snprintf (want, sizeof (want), "%s", st->expect[0] == '~' ? st->expect + 1 : st->expect);
        if (st->expect[0] == '~') {
            sort_tokens (got);
            sort_tokens (want);
        }
        if (strcmp (got, want) != 0) {
            good = 0;
            diag ("step %d: actions '%s', expected '%s'", i, got, want);
        }
    }
    ok (good, "%s", c->name);
    zpar__sched_lb_destroy (s);
    ok (freed + answered == submitted,
        "%s: every payload let go once (%d freed, %d answered, %d submitted)", c->name, freed,
        answered, submitted);
}

/* The answers carry what the io layer needs to build the result. */
static void test_answers (void)
{
    zpar_sched_lb_t *s = zpar__sched_lb_create (0, payload_free, NULL);
    zpar_sched_lb_action_t act;
    zpar_tid_t dep = {0x100000002ull};
    zpar_sched_lb_task_t t = {.id = {5}, .client = {42}, .retries = 1};

    submitted = freed = answered = 0;
    ok (zpar__sched_lb_hwm (s) == ZPAR_SCHED_LB_DEFAULT_HWM, "hwm 0 means the default (%u)",
        zpar__sched_lb_hwm (s));
    zpar__sched_lb_engine_up (s, E (3));
    t.payload = malloc (1);
    zpar__sched_lb_submit (s, &t);
    ok (zpar__sched_lb_next_action (s, &act) == 1 && act.kind == ZPAR_SCHED_LB_ACT_DISPATCH &&
            act.client.v == 42 && act.attempt == 1 && act.payload == t.payload,
        "dispatch carries client, attempt and payload");
    ok (zpar__sched_lb_outstanding (s, E (3)) == 1 && zpar__sched_lb_outstanding (s, E (4)) == 0,
        "outstanding counted per engine");
    zpar__sched_lb_engine_down (s, E (3), "died");
    zpar__sched_lb_engine_up (s, E (4));
    ok (zpar__sched_lb_next_action (s, &act) == 1 && act.attempt == 2 && act.engine.v == 4,
        "retried on engine 4 as attempt 2");
    zpar__sched_lb_engine_down (s, E (4), "died");
    ok (zpar__sched_lb_next_action (s, &act) == 1 && act.kind == ZPAR_SCHED_LB_ACT_ANSWER &&
            act.status == ZPAR_STATUS_ENGINE_DIED && act.engine.v == 4 && act.attempt == 2 &&
            act.client.v == 42 && act.payload == t.payload && strstr (act.text, "engine 4 died"),
        "engine died answer: %s", act.text);
    free (act.payload);

    t.id = T (6);
    t.after = &dep;
    t.nafter = 1;
    t.payload = malloc (1);
    zpar__sched_lb_submit (s, &t);
    ok (zpar__sched_lb_next_action (s, &act) == 1 && act.kind == ZPAR_SCHED_LB_ACT_ASK_HUB &&
            act.task.v == dep.v,
        "the hub is asked about the dependency");
    zpar__sched_lb_dep_done (s, dep, 0);
    ok (zpar__sched_lb_next_action (s, &act) == 1 && act.status == ZPAR_STATUS_DEPENDENCY &&
            act.engine.v == 0 && act.attempt == 0 && strstr (act.text, "did not succeed"),
        "dependency answer: %s", act.text);
    free (act.payload);
    ok (zpar__sched_lb_next_action (s, &act) == 0 && act.kind == ZPAR_SCHED_LB_ACT_NONE,
        "nothing left");
    zpar__sched_lb_destroy (s);
    ok (freed == 0, "answered payloads are the caller's");
}

/* An engine fences a task, is taken for dead, registers again and gets
 * the task back; the fence of the first run, delivered late, is stale:
 * the task runs on (it is not queued a third time). */
static void test_stale_fence (void)
{
    zpar_sched_lb_t *s = zpar__sched_lb_create (0, payload_free, NULL);
    zpar_sched_lb_action_t act;
    zpar_sched_lb_task_t t = {.id = {7}, .client = {42}, .retries = 2};

    zpar__sched_lb_engine_up (s, E (3));
    t.payload = malloc (1);
    zpar__sched_lb_submit (s, &t);
    ok (zpar__sched_lb_next_action (s, &act) == 1 && act.engine.v == 3 && act.attempt == 1,
        "stale fence: dispatched to engine 3 (attempt 1)");
    zpar__sched_lb_engine_down (s, E (3), "died");
    zpar__sched_lb_engine_up (s, E (3));
    ok (zpar__sched_lb_next_action (s, &act) == 1 && act.engine.v == 3 && act.attempt == 2,
        "engine 3 dead and back: the task again there (attempt 2)");
    is_int (zpar__sched_lb_result_at (s, T (7), E (3), ZPAR_STATUS_ENGINE_DIED, 1),
            ZPAR_SCHED_LB_SWALLOW, "the fence of attempt 1 is swallowed");
    ok (zpar__sched_lb_next_action (s, &act) == 0 && zpar__sched_lb_outstanding (s, E (3)) == 1,
        "and the task is not queued again: it runs on on engine 3");
    ok (zpar__sched_lb_result_at (s, T (7), E (3), ZPAR_STATUS_OK, 2) != ZPAR_SCHED_LB_SWALLOW &&
            zpar__sched_lb_outstanding (s, E (3)) == 0,
        "its result (attempt 2) finishes it");
    zpar__sched_lb_destroy (s); /* the payload was let go with the task */
}

/* A queue of work, engines dying and coming back, results in any order:
 * every task is finished exactly once and every payload let go once. */
static void test_churn (void)
{
    zpar_sched_lb_t *s = zpar__sched_lb_create (3, payload_free, NULL);
    zpar_sched_lb_action_t act;
    int delivered = 0, answers = 0, ntasks = 400;
    uint64_t running[64][2];
    int nrun = 0;
    unsigned seed = 12345;

    submitted = freed = answered = 0;
    for (uint32_t e = 1; e <= 5; e++)
        zpar__sched_lb_engine_up (s, E (e));
    for (int i = 1; i <= ntasks; i++) {
        uint64_t *p = malloc (sizeof (*p));
        zpar_eid_t tg = E ((uint32_t)(i % 7 == 0 ? 1 + i % 5 : 0));
        zpar_sched_lb_task_t t = {.id = T ((uint64_t)i),
                                  .priority = i % 3,
                                  .retries = (unsigned)(i % 2),
                                  .targets = &tg,
                                  .ntargets = tg.v ? 1 : 0,
                                  .payload = p};
        *p = (uint64_t)i;
        if (zpar__sched_lb_submit (s, &t) == 0)
            submitted++;
    }
    for (int round = 0; round < 100000 && delivered + answers < ntasks; round++) {
        while (zpar__sched_lb_next_action (s, &act) == 1) {
            if (act.kind == ZPAR_SCHED_LB_ACT_DISPATCH && nrun < 64) {
                running[nrun][0] = act.task.v;
                running[nrun++][1] = act.engine.v;
            } else if (act.kind == ZPAR_SCHED_LB_ACT_STEAL)
                zpar__sched_lb_steal_refused (s, act.task);
            else if (act.kind == ZPAR_SCHED_LB_ACT_ANSWER) {
                answers++;
                answered++;
                free (act.payload);
            }
        }
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 16) % 50 == 0) {
            uint32_t e = 1 + (seed >> 8) % 5;
            for (int k = 0; k < nrun;) {
                if (running[k][1] == e) {
                    running[k][0] = running[nrun - 1][0];
                    running[k][1] = running[--nrun][1];
                } else
                    k++;
            }
            zpar__sched_lb_engine_down (s, E (e), "died");
            zpar__sched_lb_engine_up (s, E (e));
            continue;
        }
        if (nrun) {
            int k = (int)((seed >> 16) % (unsigned)nrun);
            zpar_status_t st = (seed >> 4) % 4 == 0 ? ZPAR_STATUS_FAILED : ZPAR_STATUS_OK;
            if (zpar__sched_lb_result (s, T (running[k][0]), E ((uint32_t)running[k][1]), st) ==
                ZPAR_SCHED_LB_DELIVER)
                delivered++;
            running[k][0] = running[nrun - 1][0];
            running[k][1] = running[--nrun][1];
        }
    }
    ok (delivered + answers == ntasks, "churn: %d tasks finished (%d results, %d answers)",
        delivered + answers, delivered, answers);
    zpar__sched_lb_destroy (s);
    ok (freed + answered == submitted, "churn: every payload let go once");
}

static void test_bad_params (void)
{
    zpar_sched_lb_t *s = zpar__sched_lb_create (2, payload_free, NULL);
    zpar_sched_lb_action_t act;
    zpar_sched_lb_stats_t st;
    int p;
    struct {
        const char *what;
        zpar_sched_lb_task_t t;
    } subs[] = {
        {"targets count without targets", {.id = {1}, .ntargets = 2, .payload = &p}},
        {"after count without after", {.id = {1}, .nafter = 1, .payload = &p}},
    };
    struct {
        const char *what;
        int rc;
    } calls[] = {
        {"create hwm 70000", zpar__sched_lb_create (70000, NULL, NULL) ? 0 : -1},
        {"engine_up NULL", zpar__sched_lb_engine_up (NULL, E (1))},
        {"engine_up 0", zpar__sched_lb_engine_up (s, E (0))},
        {"engine_up above the maximum",
         zpar__sched_lb_engine_up (s, E (ZPAR_SCHED_LB_MAX_ENGINE + 1))},
        {"engine_down NULL", zpar__sched_lb_engine_down (NULL, E (1), "x")},
        {"engine_down 0", zpar__sched_lb_engine_down (s, E (0), "x")},
        {"engine_down unknown", zpar__sched_lb_engine_down (s, E (12), "x")},
        {"submit NULL policy", zpar__sched_lb_submit (NULL, &subs[0].t)},
        {"submit NULL task", zpar__sched_lb_submit (s, NULL)},
        {"result NULL", zpar__sched_lb_result (NULL, T (1), E (1), ZPAR_STATUS_OK)},
        {"steal_refused NULL", zpar__sched_lb_steal_refused (NULL, T (1))},
        {"steal_refused unknown", zpar__sched_lb_steal_refused (s, T (1))},
        {"steal_failed unknown", zpar__sched_lb_steal_failed (s, T (1))},
        {"dispatch_failed NULL", zpar__sched_lb_dispatch_failed (NULL, T (1), E (1), 1, 0)},
        {"dispatch_failed unknown", zpar__sched_lb_dispatch_failed (s, T (1), E (1), 1, 0)},
        {"dep_done NULL", zpar__sched_lb_dep_done (NULL, T (1), 1)},
        {"abort NULL", zpar__sched_lb_abort (NULL, T (1), NULL, NULL)},
        {"next_action NULL policy", zpar__sched_lb_next_action (NULL, &act)},
        {"next_action NULL action", zpar__sched_lb_next_action (s, NULL)},
        {"adopt NULL policy", zpar__sched_lb_adopt (NULL, E (1), &subs[0].t)},
        {"adopt NULL task", zpar__sched_lb_adopt (s, E (1), NULL)},
        {"adopt engine 0", zpar__sched_lb_adopt (s, E (0), &subs[0].t)},
        {"adopt task 0", zpar__sched_lb_adopt (s, E (1), &(zpar_sched_lb_task_t){.id = {0}})},
        {"adopt on an unknown engine",
         zpar__sched_lb_adopt (s, E (3), &(zpar_sched_lb_task_t){.id = {4}, .payload = &p})},
    };
    submitted = freed = answered = 0;
    for (size_t i = 0; i < sizeof (calls) / sizeof (calls[0]); i++)
        ok (calls[i].rc == -1, "%s: refused", calls[i].what);
    /* errno is checked call by call (the table above evaluates them all first) */
    ok (zpar__sched_lb_engine_up (s, E (0)) < 0 && errno == EINVAL, "engine_up 0: EINVAL");
    ok (zpar__sched_lb_engine_down (s, E (12), "x") < 0 && errno == ENOENT,
        "engine_down unknown: ENOENT");
    ok (zpar__sched_lb_create (70000, NULL, NULL) == NULL && errno == EINVAL,
        "create hwm 70000: EINVAL");
    ok (zpar__sched_lb_submit (s, NULL) < 0 && errno == EINVAL, "submit NULL: EINVAL");
    ok (zpar__sched_lb_steal_refused (s, T (1)) < 0 && errno == ENOENT,
        "steal_refused unknown: ENOENT");
    ok (zpar__sched_lb_dispatch_failed (s, T (1), E (1), 0, 0) < 0 && errno == ENOENT,
        "dispatch_failed unknown: ENOENT");
    ok (zpar__sched_lb_next_action (s, NULL) < 0 && errno == EINVAL, "next_action NULL: EINVAL");
    ok (zpar__sched_lb_adopt (s, E (0), &subs[0].t) < 0 && errno == EINVAL,
        "adopt engine 0: EINVAL");
    ok (zpar__sched_lb_adopt (s, E (3), &(zpar_sched_lb_task_t){.id = {4}, .payload = &p}) < 0 &&
            errno == ENOENT,
        "adopt on an engine that is not up: ENOENT (the payload stays the caller's)");
    for (size_t i = 0; i < sizeof (subs) / sizeof (subs[0]); i++)
        ok (zpar__sched_lb_submit (s, &subs[i].t) < 0 && errno == EINVAL, "submit with %s: EINVAL",
            subs[i].what);
    zpar__sched_lb_stats (s, &st);
    ok (st.ready == 0 && st.parked == 0 && st.waiting == 0 && st.running == 0 && st.engines == 0 &&
            freed == 0,
        "no side effect of refused calls");
    ok (zpar__sched_lb_next_action (s, &act) == 0, "no action from refused calls");
    zpar__sched_lb_stats (NULL, &st);
    ok (st.ready == 0 && st.engines == 0, "stats of NULL are zero");
    ok (zpar__sched_lb_outstanding (NULL, E (1)) == 0 &&
            zpar__sched_lb_waiting_engines (NULL) == 0 && zpar__sched_lb_hwm (NULL) == 0 &&
            zpar__sched_lb_dropped_dups (NULL) == 0,
        "getters of NULL are zero");
    zpar__sched_lb_tick (NULL, 0);
    zpar__sched_lb_destroy (NULL);
    zpar__sched_lb_destroy (s);
    ok (1, "NULL-safe tick and destroy");
}

int main (void)
{
    plan (NO_PLAN);
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
        run_case (&cases[i]);
    test_answers ();
    test_stale_fence ();
    test_churn ();
    test_bad_params ();
    return done_testing ();
}
