/* test_sched_gang.c - resource tasks in the load-balanced policy
 * (sched_gang.c), without any socket: placement on one node, the engines
 * held while the task runs, MPI ranks over nodes, a task no set can ever
 * hold, reservation against a stream of plain tasks (no starvation),
 * backfill only with tasks whose timeout ends before the reservation can
 * start, and engines of a set that die. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_lb.h"
#include "tap.h"

#define E(n) zpar__eid (n)
#define T(n) zpar__tid (n)
#define SEC  1000000ull

static zpar_sched_lb_t *s;
static uint64_t now;
static char got[4096];  /* the actions of the last drain, as tokens */
static char text[4096]; /* the last answer's text */
static char hosts[64][32];

static void free_payload (void *p, void *arg)
{
    (void)arg;
    free (p);
}

/* Engine e on host h with cores, GPUs ("-" none), memory and its node's
 * memory (0: unknown). */
static void up_node (uint32_t e, const char *h, unsigned cores, const char *gpus, uint64_t mem,
                     uint64_t node_mem)
{
    char slot[128];
    snprintf (slot, sizeof (slot), "%u %s %s %s %llu", e, h, "-", gpus, (unsigned long long)mem);
    snprintf (hosts[e], sizeof (hosts[e]), "%s", h);
    if (zpar__sched_lb_engine_res (s, E (e), cores, slot, node_mem) < 0 ||
        zpar__sched_lb_engine_up (s, E (e)))
        diag ("engine %u did not come up", e);
}

static void up (uint32_t e, const char *h, unsigned cores, const char *gpus, uint64_t mem)
{
    up_node (e, h, cores, gpus, mem, 0);
}

/* Drain the actions into got: "d<task>@<engine>[/<slot engines>]",
 * "s<task>@<engine>", "x<task>@<engine>" (stop), "a<task>:<status>". */
static const char *drain (void)
{
    zpar_sched_lb_action_t a;
    size_t n = 0;
    got[0] = '\0';
    zpar__sched_lb_now (s, now);
    while (zpar__sched_lb_next_action (s, &a) == 1 && n < sizeof (got) - 64) {
        if (n)
            got[n++] = ' ';
        switch (a.kind) {
        case ZPAR_SCHED_LB_ACT_DISPATCH:
            n += (size_t)snprintf (got + n, sizeof (got) - n, "d%llu@%u",
                                   (unsigned long long)a.task.v, a.engine.v);
            for (size_t i = 0; i < a.nslots; i++) {
                unsigned eid = 0;
                sscanf (a.slots[i], "%u", &eid);
                n += (size_t)snprintf (got + n, sizeof (got) - n, "%c%u", i ? ',' : '/', eid);
            }
            break;
        case ZPAR_SCHED_LB_ACT_STEAL:
            n += (size_t)snprintf (got + n, sizeof (got) - n, "s%llu@%u",
                                   (unsigned long long)a.task.v, a.engine.v);
            break;
        case ZPAR_SCHED_LB_ACT_STOP:
            n += (size_t)snprintf (got + n, sizeof (got) - n, "x%llu@%u",
                                   (unsigned long long)a.task.v, a.engine.v);
            break;
        case ZPAR_SCHED_LB_ACT_ANSWER:
            n += (size_t)snprintf (got + n, sizeof (got) - n, "a%llu:%s",
                                   (unsigned long long)a.task.v, zpar_status_name (a.status));
            snprintf (text, sizeof (text), "%s", a.text);
            free (a.payload);
            break;
        default:
            n += (size_t)snprintf (got + n, sizeof (got) - n, "?");
        }
    }
    return got;
}

static void sub (uint64_t id, const zpar_resources_t *r, uint64_t timeout_ms, unsigned retries)
{
    zpar_sched_lb_task_t t = {.id = T (id),
                              .client = zpar__cid (1),
                              .retries = retries,
                              .payload = malloc (8),
                              .res = r,
                              .timeout_ms = timeout_ms};
    if (zpar__sched_lb_submit (s, &t) < 0)
        diag ("task %llu not submitted", (unsigned long long)id);
}

static void res (uint64_t id, uint32_t e, zpar_status_t st)
{
    (void)zpar__sched_lb_result (s, T (id), E (e), st);
}

static void fresh (unsigned hwm)
{
    zpar__sched_lb_destroy (s);
    s = zpar__sched_lb_create (hwm, free_payload, NULL);
    now = 100 * SEC;
    zpar__sched_lb_now (s, now);
}

/* The engines of the dispatch of task id in got ("d7@3/3,4,5"): *n of
 * them into set; 0 if there is no such dispatch. */
static int set_of (uint64_t id, uint32_t *set, unsigned *n)
{
    char key[32];
    const char *p;
    unsigned e;
    *n = 0;
    snprintf (key, sizeof (key), "d%llu@", (unsigned long long)id);
    if (!(p = strstr (got, key)) || (p != got && p[-1] != ' ') || !(p = strchr (p, '/')))
        return 0;
    while (sscanf (p + 1, "%u", &e) == 1) {
        set[(*n)++] = e;
        p += 1 + strspn (p + 1, "0123456789");
        if (*p != ',')
            break;
    }
    return 1;
}

static int same_host (const uint32_t *set, unsigned n)
{
    for (unsigned i = 1; i < n; i++)
        if (strcmp (hosts[set[i]], hosts[set[0]]))
            return 0;
    return n > 0;
}

/* Plain dispatches in got: how many, and how many to an engine of set. */
static int plain_on (const uint32_t *set, unsigned n, int *clash)
{
    char copy[sizeof (got)];
    int count = 0;
    *clash = 0;
    snprintf (copy, sizeof (copy), "%s", got);
    for (char *tok = strtok (copy, " "); tok; tok = strtok (NULL, " ")) {
        unsigned task, eng;
        if (strchr (tok, '/') || sscanf (tok, "d%u@%u", &task, &eng) != 2)
            continue;
        count++;
        for (unsigned i = 0; i < n; i++)
            *clash += set[i] == eng;
    }
    return count;
}

static void test_place (void)
{
    zpar_resources_t r3 = {.cores = 3};
    uint32_t set[64];
    unsigned n;
    int clash;
    fresh (1);
    for (uint32_t e = 1; e <= 8; e++)
        up (e, e <= 4 ? "a" : "b", 1, "-", 1u << 30);
    drain ();
    sub (1, &r3, 0, 0);
    drain ();
    ok (set_of (1, set, &n) && n == 3 && same_host (set, n) && strncmp (got, "d1@", 3) == 0 &&
            (unsigned)atoi (got + 3) == set[0],
        "a 3-core task on 1-core engines: 3 engines of one node, sent to the first (%s)", got);
    for (uint64_t id = 10; id < 20; id++)
        sub (id, NULL, 0, 0);
    drain ();
    ok (plain_on (set, n, &clash) == 5 && clash == 0,
        "5 plain tasks go to the 5 engines not held, none to the 3 held (%s)", got);
    res (1, set[0], ZPAR_STATUS_OK);
    drain ();
    ok (plain_on (set, n, &clash) == 3 && clash == 3,
        "its result releases the 3: they take plain tasks (%s)", got);
}

static void test_gpus_mem (void)
{
    zpar_resources_t g2 = {.gpus = 2}, big = {.memory = 5ull << 30}, c2 = {.cores = 2};
    uint32_t set[64];
    unsigned n;
    fresh (1);
    up (1, "a", 4, "-", 2ull << 30);
    up (2, "a", 4, "cuda:0", 2ull << 30);
    up (3, "b", 4, "cuda:0", 2ull << 30);
    up (4, "b", 4, "cuda:1", 2ull << 30);
    up (5, "b", 4, "-", 2ull << 30);
    drain ();
    sub (1, &g2, 0, 0);
    drain ();
    ok (set_of (1, set, &n) && n == 2 && same_host (set, n) && !strcmp (hosts[set[0]], "b") &&
            set[0] != 5 && set[1] != 5,
        "2 GPUs: the two GPU engines of node b (%s)", got);
    sub (2, &c2, 0, 0);
    drain ();
    ok (set_of (2, set, &n) && n == 1, "2 cores on a 4-core engine: that engine alone (%s)", got);
    sub (3, &big, 0, 0);
    drain ();
    ok (strstr (got, "d3@") == NULL, "5 GiB on nodes of 4 and 6 GiB: waits for the free ones");
    res (1, 3, ZPAR_STATUS_OK);
    drain ();
    ok (set_of (3, set, &n) && n == 3 && !strcmp (hosts[set[0]], "b"),
        "then gets 3 engines of node b (6 GiB) (%s)", got);
}

/* Engines that each report the whole node's memory as their share (4
 * engines started apart on one node of 4 GiB): the node's memory still
 * bounds what its running tasks ask for together. */
static void test_node_memory (void)
{
    zpar_resources_t m3 = {.memory = 3ull << 30}, m2 = {.memory = 2ull << 30},
                     m5 = {.memory = 5ull << 30}, mpi = {.ranks = 2, .memory = 2ull << 30};
    uint32_t set[64];
    unsigned n;
    fresh (1);
    for (uint32_t e = 1; e <= 4; e++)
        up_node (e, "a", 1, "-", 4ull << 30, 4ull << 30);
    drain ();
    sub (1, &m3, 0, 0);
    sub (2, &m3, 0, 0);
    drain ();
    ok (set_of (1, set, &n) && n == 1 && strstr (got, "d2@") == NULL,
        "3 GiB twice on a node of 4 GiB whose engines each say 4 GiB: one runs, one waits (%s)",
        got);
    sub (3, &m2, 0, 0);
    drain ();
    ok (strstr (got, "d3@") == NULL,
        "2 GiB more waits too: the reservation of the 3 GiB one keeps its memory (%s)", got);
    res (1, set[0], ZPAR_STATUS_OK);
    drain ();
    ok (strstr (got, "d2@") != NULL && strstr (got, "d3@") == NULL,
        "the first done: the second starts, 2 GiB still do not fit beside it (%s)", got);
    set_of (2, set, &n);
    res (2, set[0], ZPAR_STATUS_OK);
    drain ();
    ok (strstr (got, "d3@") != NULL, "then the 2 GiB one (%s)", got);
    sub (4, &m5, 0, 0);
    now += 3 * SEC;
    drain ();
    ok (strstr (got, "a4:error") != NULL && strstr (text, "4294967296") != NULL,
        "5 GiB fails at once: the largest node has 4 GiB, whatever its engines say (%s: %s)", got,
        text);
    fresh (1);
    for (uint32_t e = 1; e <= 4; e++)
        up_node (e, "a", 1, "-", 4ull << 30, e == 3 ? 3ull << 30 : 4ull << 30);
    sub (5, &m3, 0, 0);
    sub (6, &mpi, 0, 0);
    drain ();
    ok (strstr (got, "d5@") != NULL && strstr (got, "d6@") == NULL,
        "an MPI task's memory counts on its leader's node; the node's memory is the least "
        "reported (%s)",
        got);
    /* the engine that saw the least is gone: the node is bounded by those
     * still there (one engine's small word does not bound it for good) */
    fresh (1);
    for (uint32_t e = 1; e <= 4; e++)
        up_node (e, "a", 1, "-", 4ull << 30, e == 4 ? 1ull << 30 : 4ull << 30);
    (void)zpar__sched_lb_engine_down (s, E (4), "died");
    drain ();
    sub (7, &m3, 0, 0);
    drain ();
    ok (strstr (got, "d7@") != NULL,
        "the engine that saw 1 GiB died: 3 GiB fit on the node its others see as 4 GiB (%s)", got);
}

static void test_mpi (void)
{
    zpar_resources_t r = {.ranks = 4, .ranks_per_node = 2}, r3 = {.ranks = 3, .nodes = 3};
    uint32_t set[64];
    unsigned n;
    fresh (1);
    for (uint32_t e = 1; e <= 9; e++)
        up (e, e <= 3 ? "a" : e <= 6 ? "b" : "c", 1, "-", 0);
    drain ();
    sub (1, &r, 0, 0);
    drain ();
    ok (set_of (1, set, &n) && n == 4 && !strcmp (hosts[set[0]], hosts[set[1]]) &&
            !strcmp (hosts[set[2]], hosts[set[3]]) && strcmp (hosts[set[0]], hosts[set[2]]),
        "4 ranks, 2 per node: 2 engines on each of 2 nodes, in rank order (%s)", got);
    res (1, set[0], ZPAR_STATUS_OK);
    drain ();
    sub (2, &r3, 0, 0);
    drain ();
    ok (set_of (2, set, &n) && n == 3 && strcmp (hosts[set[0]], hosts[set[1]]) &&
            strcmp (hosts[set[1]], hosts[set[2]]) && strcmp (hosts[set[0]], hosts[set[2]]),
        "3 ranks over 3 nodes: one on each (%s)", got);
}

static void test_never (void)
{
    zpar_resources_t r8 = {.cores = 8}, g1 = {.gpus = 1}, m = {.ranks = 9};
    fresh (1);
    for (uint32_t e = 1; e <= 8; e++)
        up (e, e <= 4 ? "a" : "b", 1, "-", 0);
    drain ();
    sub (1, &r8, 0, 0);
    drain ();
    ok (strlen (got) == 0 && zpar__sched_lb_waiting_engines (s) == 1,
        "8 cores, nodes of 4, engines just came: it waits for more (%s)", got);
    now += 3 * SEC;
    zpar__sched_lb_tick (s, now);
    drain ();
    ok (!strcmp (got, "a1:error") && strstr (text, "needs 8 cores on one node; the largest node "
                                                   "has 4"),
        "no engine for 2 s: answered at once: %s (%s)", text, got);
    sub (2, &g1, 0, 0);
    drain ();
    ok (!strcmp (got, "a2:error") &&
            strstr (text, "needs 1 GPUs on one node; the largest node has 0"),
        "1 GPU on nodes without: %s", text);
    sub (3, &m, 0, 0);
    drain ();
    ok (!strcmp (got, "a3:error") && strstr (text, "9 MPI ranks"), "9 ranks on 8 engines: %s",
        text);
    ok (zpar__sched_lb_waiting_engines (s) == 0, "nothing waits");

    /* it could be held, then engines die and it no longer can */
    {
        zpar_resources_t r4 = {.cores = 4};
        for (uint64_t id = 10; id < 18; id++)
            sub (id, NULL, 0, 0); /* every engine busy: the 4-core task waits */
        drain ();
        sub (4, &r4, 0, 0);
        drain ();
        ok (strstr (got, "a4") == NULL, "a 4-core task waits while it can be held (%s)", got);
        (void)zpar__sched_lb_engine_down (s, E (1), "died");
        (void)zpar__sched_lb_engine_down (s, E (5), "died");
        drain ();
        ok (strstr (got, "a4:error") != NULL &&
                strstr (text, "needs 4 cores on one node; the largest node has 3"),
            "an engine of each node dies: answered at once (%s: %s)", got, text);
    }
}

/* What the drain in got sent to engines 1 and 2 (plain tasks, in order
 * per engine) and asked back: steals are answered "aborted" (the engine
 * had not started them). */
static uint64_t fifo[3][256];
static unsigned fhead[3], ftail[3];

static void track (void)
{
    char copy[sizeof (got)];
    snprintf (copy, sizeof (copy), "%s", got);
    for (char *tok = strtok (copy, " "); tok; tok = strtok (NULL, " ")) {
        unsigned task, eng;
        if (!strchr (tok, '/') && sscanf (tok, "d%u@%u", &task, &eng) == 2 && eng <= 2)
            fifo[eng][ftail[eng]++ % 256] = task;
        else if (sscanf (tok, "s%u@%u", &task, &eng) == 2 && eng <= 2) {
            /* out of the engine's list: it gives it back */
            for (unsigned i = fhead[eng]; i < ftail[eng]; i++)
                if (fifo[eng][i % 256] == task) {
                    for (unsigned j = i; j + 1 < ftail[eng]; j++)
                        fifo[eng][j % 256] = fifo[eng][(j + 1) % 256];
                    ftail[eng]--;
                    break;
                }
            res (task, eng, ZPAR_STATUS_ABORTED);
        }
    }
}

/* A stream of plain tasks keeps both engines of node a busy, never both
 * idle at once (hwm 2: one running and one queued on each; each round one
 * task ends on one engine and a new one comes).  A 2-core task comes:
 * without a reservation it would wait forever.  It reserves: the queued
 * tasks are asked back, no new plain task goes to the two engines, and it
 * starts once their running tasks end. */
static void test_starvation (void)
{
    zpar_resources_t c2 = {.cores = 2};
    uint64_t next = 100;
    uint32_t set[64];
    unsigned n = 0;
    int started = 0, round, plain_after = 0;
    fresh (2);
    memset (fhead, 0, sizeof (fhead));
    memset (ftail, 0, sizeof (ftail));
    up (1, "a", 1, "-", 0);
    up (2, "a", 1, "-", 0);
    drain ();
    for (int i = 0; i < 4; i++)
        sub (next++, NULL, 0, 0);
    drain ();
    track ();
    sub (1, &c2, 0, 0);
    for (round = 0; round < 40 && !started; round++) {
        uint32_t eng = 1 + (uint32_t)(round % 2);
        sub (next++, NULL, 0, 0);
        drain ();
        if (set_of (1, set, &n)) {
            started = 1;
            break;
        }
        if (strstr (got, "d1"))
            diag ("%s", got);
        track ();
        if (fhead[eng] < ftail[eng]) {
            uint64_t id = fifo[eng][fhead[eng]++ % 256];
            res (id, eng, ZPAR_STATUS_OK);
        }
    }
    for (unsigned e = 1; e <= 2; e++)
        plain_after += (int)(ftail[e] - fhead[e]);
    ok (started && n == 2, "under a stream of plain tasks it starts after %d round(s) (%s)", round,
        got);
    ok (started && plain_after == 0, "nothing else is outstanding on its engines then");
}

/* Backfill: engine 1 runs a task with a 100 s timeout, engine 2 is idle;
 * both are reserved for a 2-core task.  A plain task with a 10 s timeout
 * may run on engine 2 (it ends before the reservation can start); one
 * with 1000 s or none may not. */
static void test_backfill (void)
{
    zpar_resources_t c2 = {.cores = 2};
    fresh (1);
    up (1, "a", 1, "-", 0);
    up (2, "a", 1, "-", 0);
    up (3, "b", 1, "-", 0);
    drain ();
    sub (10, NULL, 100000, 0);
    sub (11, NULL, 100000, 0);
    sub (12, NULL, 100000, 0);
    drain ();
    res (11, 2, ZPAR_STATUS_OK); /* engine 2 idle; 10 on 1, 12 on 3 (or so) */
    sub (1, &c2, 0, 0);
    drain ();
    ok (strstr (got, "d1@") == NULL, "the 2-core task waits (reserved) (%s)", got);
    sub (20, NULL, 0, 0);
    drain ();
    ok (strstr (got, "d20") == NULL, "a plain task without a timeout does not backfill (%s)", got);
    sub (21, NULL, 1000000, 0);
    drain ();
    ok (strstr (got, "d21") == NULL, "one with a 1000 s timeout does not (%s)", got);
    sub (22, NULL, 10000, 0);
    drain ();
    ok (strstr (got, "d22@") != NULL, "one with a 10 s timeout backfills (%s)", got);
}

static void test_deaths (void)
{
    zpar_resources_t c2 = {.cores = 2};
    uint32_t set[64], set2[64];
    unsigned n, n2;
    char want[64];
    int verdict;
    fresh (1);
    for (uint32_t e = 1; e <= 4; e++)
        up (e, e <= 2 ? "a" : "b", 1, "-", 0);
    drain ();
    sub (1, &c2, 0, 1);
    drain ();
    ok (set_of (1, set, &n) && n == 2, "2-core task placed (%s)", got);
    (void)zpar__sched_lb_engine_down (s, E (set[0]), "died");
    drain ();
    ok (set_of (1, set2, &n2) && n2 == 2 && strcmp (hosts[set2[0]], hosts[set[0]]),
        "its leader dies: retried on the other node (%s)", got);
    sub (5, NULL, 0, 0);
    drain ();
    ok (strstr (got, "d5@") != NULL, "the survivor of the first set is released (%s)", got);
    (void)zpar__sched_lb_engine_down (s, E (set2[1]), "died");
    drain ();
    snprintf (want, sizeof (want), "x1@%u", set2[0]);
    ok (!strcmp (got, want), "a member dies: its leader is told to stop the task (%s)", got);
    sub (6, NULL, 0, 0);
    drain ();
    ok (strstr (got, "d6@") == NULL,
        "the leader stays held until the stopped run's result (nothing runs beside it) (%s)", got);
    verdict = zpar__sched_lb_result (s, T (1), E (set2[0]), ZPAR_STATUS_SIGNALED);
    drain ();
    snprintf (want, sizeof (want), "engine %u (host %s) of its set died", set2[1], hosts[set2[1]]);
    ok (verdict == ZPAR_SCHED_LB_SWALLOW && strstr (got, "a1:engine-died") && strstr (text, want),
        "no retry left: the stopped run's result is answered \"engine died\", naming the member "
        "(%s: %s)",
        got, text);
    ok (strstr (got, "d6@") != NULL, "and its leader is released (%s)", got);
}

/* The stop for the leader could not be sent (its socket full, or
 * reconnecting): asked again at a later tick, not before 100 ms, once. */
static void test_stop_again (void)
{
    zpar_resources_t c2 = {.cores = 2};
    uint32_t set[64];
    unsigned n;
    char want[64];
    fresh (1);
    for (uint32_t e = 1; e <= 2; e++)
        up (e, "a", 1, "-", 0);
    drain ();
    sub (1, &c2, 0, 0);
    drain ();
    ok (set_of (1, set, &n) && n == 2, "2-core task placed (%s)", got);
    (void)zpar__sched_lb_engine_down (s, E (set[1]), "died");
    drain ();
    snprintf (want, sizeof (want), "x1@%u", set[0]);
    ok (!strcmp (got, want), "a member dies: the stop to the leader (%s)", got);
    ok (zpar__sched_lb_stop_failed (s, T (1)) == 0 && zpar__sched_lb_waiting_engines (s) > 0,
        "its send failed: counted as waiting (the ticks go on)");
    ok (zpar__sched_lb_stop_failed (s, T (99)) < 0 && errno == ENOENT,
        "stop failed for a task not running: ENOENT");
    zpar__sched_lb_tick (s, now);
    drain ();
    ok (!strcmp (got, want), "the next tick: the stop asked again (%s)", got);
    zpar__sched_lb_tick (s, now);
    drain ();
    ok (!strcmp (got, ""), "once (%s)", got);
    ok (zpar__sched_lb_stop_failed (s, T (1)) == 0, "failed again");
    now += 20000;
    zpar__sched_lb_tick (s, now);
    drain ();
    ok (!strcmp (got, ""), "not again within 100 ms (%s)", got);
    now += 100000;
    zpar__sched_lb_tick (s, now);
    drain ();
    ok (!strcmp (got, want), "after 100 ms: asked again (%s)", got);
    (void)zpar__sched_lb_result (s, T (1), E (set[0]), ZPAR_STATUS_SIGNALED);
    drain ();
    ok (zpar__sched_lb_waiting_engines (s) == 0, "its result came: nothing waits");
}

/* A member of a running set dies; the task has a retry: the leader stops
 * it, and it runs once more, on engines that are all alive; a second
 * member's death before the stop's result asks no second stop. */
static void test_member_retry (void)
{
    zpar_resources_t c2 = {.cores = 2}, c3 = {.cores = 3};
    uint32_t set[64], set2[64];
    unsigned n, n2;
    char want[64];
    int verdict;
    fresh (1);
    for (uint32_t e = 1; e <= 6; e++)
        up (e, e <= 3 ? "a" : "b", 1, "-", 0);
    drain ();
    sub (1, &c3, 0, 1);
    drain ();
    ok (set_of (1, set, &n) && n == 3, "3-core task placed (%s)", got);
    (void)zpar__sched_lb_engine_down (s, E (set[1]), "died");
    (void)zpar__sched_lb_engine_down (s, E (set[2]), "died");
    drain ();
    snprintf (want, sizeof (want), "x1@%u", set[0]);
    ok (!strcmp (got, want), "two members die: one stop, to the leader (%s)", got);
    verdict = zpar__sched_lb_result (s, T (1), E (set[0]), ZPAR_STATUS_SIGNALED);
    drain ();
    ok (verdict == ZPAR_SCHED_LB_SWALLOW && set_of (1, set2, &n2) && n2 == 3 &&
            strcmp (hosts[set2[0]], hosts[set[0]]) && strstr (got, "a1") == NULL,
        "the stopped run's result is swallowed, the task runs again on the other node (%s)", got);
    sub (2, &c2, 0, 0);
    sub (3, NULL, 0, 0);
    drain ();
    ok (strstr (got, "d2@") == NULL && strstr (got, "d3@") != NULL,
        "the first set's leader is free again (a plain task), the 2-core task cannot start (%s)",
        got);
    verdict = zpar__sched_lb_result (s, T (1), E (set2[0]), ZPAR_STATUS_OK);
    ok (verdict == ZPAR_SCHED_LB_DELIVER, "the second run's result is its answer");
    drain ();
    ok (set_of (2, set, &n) && n == 2, "its set is released: the 2-core task starts (%s)", got);
}

/* ---- a small cluster run to its end: every dispatch in got starts a run
 * (its engines must all be free), and each step ends the oldest run */
#define SIM_RUNS 64
#define SIM_IDS  512
static struct {
    uint64_t id;
    uint32_t eng[16];
    unsigned n;
} runs[SIM_RUNS];
static unsigned nruns, clashes;
static int busy[64];
static unsigned starts[SIM_IDS], answers[SIM_IDS], started_at[SIM_IDS], sim_round;

static void sim_reset (void)
{
    nruns = clashes = 0;
    memset (busy, 0, sizeof (busy));
    memset (starts, 0, sizeof (starts));
    memset (answers, 0, sizeof (answers));
}

/* The runs the last drain started, and its answers. */
static void sim_take (void)
{
    char copy[sizeof (got)];
    snprintf (copy, sizeof (copy), "%s", got);
    for (char *tok = strtok (copy, " "); tok; tok = strtok (NULL, " ")) {
        unsigned task, eng;
        uint32_t set[16];
        unsigned n = 0;
        if (sscanf (tok, "a%u", &task) == 1 && task < SIM_IDS) {
            answers[task]++;
            continue;
        }
        if (sscanf (tok, "d%u@%u", &task, &eng) != 2 || task >= SIM_IDS || nruns == SIM_RUNS)
            continue;
        if (strchr (tok, '/')) {
            char *p = strchr (tok, '/');
            while (n < 16 && sscanf (p + 1, "%u", &set[n]) == 1) {
                n++;
                if (!(p = strchr (p + 1, ',')))
                    break;
            }
        } else
            set[n++] = eng;
        runs[nruns].id = task;
        runs[nruns].n = n;
        for (unsigned i = 0; i < n; i++) {
            runs[nruns].eng[i] = set[i];
            clashes += busy[set[i]]++ > 0;
        }
        nruns++;
        if (!starts[task]++)
            started_at[task] = sim_round;
    }
}

/* End the oldest run (its result: ok). */
static void sim_end_oldest (void)
{
    if (!nruns)
        return;
    for (unsigned i = 0; i < runs[0].n; i++)
        busy[runs[0].eng[i]]--;
    if (zpar__sched_lb_result (s, T (runs[0].id), E (runs[0].eng[0]), ZPAR_STATUS_OK) ==
        ZPAR_SCHED_LB_DELIVER)
        answers[runs[0].id]++;
    memmove (&runs[0], &runs[1], (nruns - 1) * sizeof (runs[0]));
    nruns--;
}

/* Several big tasks wait at once, with a stream of 2-core and plain tasks
 * behind them: no starvation (each big task starts while the stream goes
 * on), no deadlock (no two tasks each holding part of the engines the
 * other needs: every task ends), nothing oversubscribed, each run once. */
static void test_many_big (void)
{
    zpar_resources_t c2 = {.cores = 2}, c3 = {.cores = 3}, c4 = {.cores = 4}, mpi = {.ranks = 6};
    unsigned round, done = 0, twice = 0, total;
    uint64_t next = 100;
    fresh (1);
    sim_reset ();
    for (uint32_t e = 1; e <= 8; e++)
        up (e, e <= 4 ? "a" : "b", 1, "-", 0);
    drain ();
    /* a 2-core task runs on each node first: no 4-core task can start */
    sub (1, &c2, 0, 0);
    sub (2, &c2, 0, 0);
    drain ();
    sim_take ();
    sub (3, &c4, 0, 0);
    sub (4, &c4, 0, 0);
    sub (5, &c3, 0, 0);
    sub (6, &mpi, 0, 0);
    sub (7, &c4, 0, 0);
    for (round = 0; round < 200; round++) {
        sim_round = round;
        if (round < 60) { /* the stream: a 2-core task and a plain one each step */
            sub (next++, &c2, 0, 0);
            sub (next++, NULL, 0, 0);
        }
        drain ();
        sim_take ();
        if (!nruns)
            break;
        sim_end_oldest ();
    }
    total = (unsigned)next;
    for (unsigned id = 1; id < total; id++) {
        if (id >= 8 && id < 100)
            continue;
        done += answers[id] == 1 && starts[id] == 1;
        twice += starts[id] > 1 || answers[id] > 1;
    }
    ok (starts[3] == 1 && starts[4] == 1 && starts[5] == 1 && starts[6] == 1 && starts[7] == 1,
        "the 4-, 3-core and 6-rank tasks each started once (%u %u %u %u %u)", starts[3], starts[4],
        starts[5], starts[6], starts[7]);
    ok (starts[3] && starts[4] && starts[5] && starts[6] && starts[7] && started_at[3] < 60 &&
            started_at[4] < 60 && started_at[5] < 60 && started_at[6] < 60 && started_at[7] < 60,
        "each started while the stream of 2-core tasks went on (steps %u %u %u %u %u, of 60)",
        started_at[3], started_at[4], started_at[5], started_at[6], started_at[7]);
    ok (done == total - 100 + 7 && twice == 0 && nruns == 0,
        "every task ran to its end once (%u of %u; %u twice; %u still running after %u steps)",
        done, total - 100 + 7, twice, nruns, round);
    ok (clashes == 0, "no engine ever ran two tasks at once (%u)", clashes);
}

/* A controller restart: engine 2 comes back holding a 2-core task.  It
 * is adopted (never dispatched again) and holds engine 2 and another idle
 * engine of its node until its result. */
static void test_adopt (void)
{
    zpar_resources_t c2 = {.cores = 2};
    zpar_sched_lb_task_t t = {
        .id = T (7), .client = zpar__cid (1), .payload = malloc (8), .res = &c2};
    int clash;
    uint32_t two[2] = {2, 0};
    fresh (1);
    for (uint32_t e = 1; e <= 4; e++)
        up (e, "a", 1, "-", 0);
    drain ();
    ok (zpar__sched_lb_adopt (s, E (2), &t) == 0, "a 2-core task adopted on engine 2");
    for (uint64_t id = 20; id < 23; id++)
        sub (id, NULL, 0, 0);
    drain ();
    ok (plain_on (two, 1, &clash) == 2 && clash == 0 && strstr (got, "d7") == NULL,
        "3 plain tasks: 2 go, not to engine 2, and the adopted task is not sent again (%s)", got);
    res (7, 2, ZPAR_STATUS_OK);
    drain ();
    ok (plain_on (two, 0, &clash) == 1, "its result releases its engines: the third goes (%s)",
        got);
}

/* A resource task whose send fails on a reachable engine (its body with
 * the slots too large, no memory): the policy pauses as for a plain task,
 * instead of placing it again on the same set at once, for ever. */
static void test_send_failed (void)
{
    zpar_resources_t r2 = {.cores = 2};
    uint32_t set[64];
    unsigned n;
    fresh (1);
    for (uint32_t e = 1; e <= 4; e++)
        up (e, "a", 1, "-", 1u << 30);
    drain ();
    sub (1, &r2, 0, 1);
    drain ();
    ok (set_of (1, set, &n) && n == 2, "a 2-core task placed (%s)", got);
    ok (zpar__sched_lb_dispatch_failed (s, T (1), E (set[0]), 0, now) == 0,
        "its send failed, the engine reachable");
    drain ();
    ok (strstr (got, "d1@") == NULL, "not placed again at once: the policy waits (%s)", got);
    up (5, "a", 1, "-", 1u << 30);
    drain ();
    ok (set_of (1, set, &n) && n == 2 && strstr (strstr (got, "d1@") + 1, "d1@") == NULL,
        "an engine coming up: placed once more, once (%s)", got);
}

int main (void)
{
    plan (NO_PLAN);
    test_place ();
    test_gpus_mem ();
    test_node_memory ();
    test_stop_again ();
    test_mpi ();
    test_never ();
    test_starvation ();
    test_backfill ();
    test_deaths ();
    test_member_retry ();
    test_many_big ();
    test_adopt ();
    test_send_failed ();
    zpar__sched_lb_destroy (s);
    return done_testing ();
}
