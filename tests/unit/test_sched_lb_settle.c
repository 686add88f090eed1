/* test_sched_lb_settle.c - the load-balanced policy after a burst: its
 * grown tables are rebuilt small once it holds no task, and what it must
 * remember (the outcomes of recent tasks: dependencies, duplicate
 * submissions, late results) it still answers. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "sched_lb.h"
#include "tap.h"

#define E(n) zpar__eid (n)
#define T(n) zpar__tid (n)

#define BURST 6000 /* above the policy's SETTLE_MIN (4096) */

static int freed;

static void payload_free (void *p, void *arg)
{
    (void)arg;
    freed++;
    free (p);
}

static int submit (zpar_sched_lb_t *s, uint64_t id, const zpar_tid_t *after, size_t nafter)
{
    uint64_t *p = malloc (sizeof (*p));
    zpar_sched_lb_task_t t = {.id = T (id), .after = after, .nafter = nafter, .payload = p};
    *p = id;
    return zpar__sched_lb_submit (s, &t);
}

/* Run everything to its end, each dispatch answered at once (ids that
 * are multiples of fail_every fail; 0: none).  The results delivered. */
static int run_all (zpar_sched_lb_t *s, uint64_t fail_every, int *answers)
{
    zpar_sched_lb_action_t act;
    int results = 0, progress = 1;
    while (progress) {
        uint64_t disp[64][2];
        int n = 0;
        progress = 0;
        while (zpar__sched_lb_next_action (s, &act) == 1) {
            progress = 1;
            if (act.kind == ZPAR_SCHED_LB_ACT_DISPATCH && n < 64) {
                disp[n][0] = act.task.v;
                disp[n++][1] = act.engine.v;
            } else if (act.kind == ZPAR_SCHED_LB_ACT_ANSWER) {
                (*answers)++;
                free (act.payload);
            }
        }
        for (int k = 0; k < n; k++) {
            zpar_status_t st =
                fail_every && disp[k][0] % fail_every == 0 ? ZPAR_STATUS_FAILED : ZPAR_STATUS_OK;
            if (zpar__sched_lb_result (s, T (disp[k][0]), E ((uint32_t)disp[k][1]), st) ==
                ZPAR_SCHED_LB_DELIVER)
                results++;
            progress = 1;
        }
    }
    return results;
}

static void test_settle (void)
{
    zpar_sched_lb_t *s = zpar__sched_lb_create (4, payload_free, NULL);
    zpar_sched_lb_stats_t st;
    zpar_sched_lb_action_t act;
    int answers = 0, results = 0, submitted = 0;
    zpar_tid_t dep;

    freed = 0;
    zpar__sched_lb_engine_up (s, E (1));
    zpar__sched_lb_engine_up (s, E (2));

    /* a few tasks at a time: nothing grows, nothing is rebuilt */
    for (uint64_t id = 1; id <= 100; id++) {
        submitted += submit (s, id, NULL, 0) == 0;
        results += run_all (s, 0, &answers);
    }
    zpar__sched_lb_stats (s, &st);
    ok (results == 100 && st.settles == 0, "settle: a trickle of tasks rebuilds nothing (%llu)",
        (unsigned long long)st.settles);

    /* a burst (every 7th fails) */
    for (uint64_t id = 1001; id < 1001 + BURST; id++)
        submitted += submit (s, id, NULL, 0) == 0;
    results = run_all (s, 7, &answers);
    zpar__sched_lb_stats (s, &st);
    ok (results + answers == BURST, "settle: the burst finished (%d results, %d answers)", results,
        answers);
    ok (st.settles == 1, "settle: the tables were rebuilt once after the burst (%llu)",
        (unsigned long long)st.settles);
    ok (st.running == 0 && st.ready == 0 && st.waiting == 0, "settle: nothing held");

    /* what it remembers: a dependency on a burst task that succeeded runs
     * at once (no question to the hub) */
    dep = T (1001 + 1);
    submit (s, 50001, &dep, 1);
    ok (zpar__sched_lb_next_action (s, &act) == 1 && act.kind == ZPAR_SCHED_LB_ACT_DISPATCH &&
            act.task.v == 50001,
        "settle: after a succeeded burst task, a dependent is dispatched");
    ok (zpar__sched_lb_result (s, T (50001), act.engine, ZPAR_STATUS_OK) == ZPAR_SCHED_LB_DELIVER,
        "settle: and its result delivered");
    /* one on a burst task that failed is answered "dependency" */
    dep = T (1008); /* 7 * 144: failed */
    submit (s, 50002, &dep, 1);
    ok (zpar__sched_lb_next_action (s, &act) == 1 && act.kind == ZPAR_SCHED_LB_ACT_ANSWER &&
            act.task.v == 50002 && act.status == ZPAR_STATUS_DEPENDENCY,
        "settle: after a failed burst task, a dependent is answered dependency");
    if (act.kind == ZPAR_SCHED_LB_ACT_ANSWER)
        free (act.payload);
    while (zpar__sched_lb_next_action (s, &act) == 1)
        if (act.kind == ZPAR_SCHED_LB_ACT_ANSWER)
            free (act.payload);
    /* a burst task submitted again is a duplicate, not run twice */
    zpar__sched_lb_stats (s, &st);
    {
        uint64_t before = st.dup_submits;
        submit (s, 1001 + 100, NULL, 0);
        zpar__sched_lb_stats (s, &st);
        ok (st.dup_submits == before + 1 && zpar__sched_lb_next_action (s, &act) == 0,
            "settle: a finished burst task submitted again is dropped as a duplicate");
    }
    /* a late result of a burst task is swallowed */
    ok (zpar__sched_lb_result (s, T (1001 + 200), E (1), ZPAR_STATUS_OK) == ZPAR_SCHED_LB_SWALLOW,
        "settle: a late result of a burst task is swallowed");
    /* every outcome of the burst is still known: late results swallowed */
    {
        int swallowed = 0;
        for (uint64_t id = 1001; id < 1001 + BURST; id++)
            swallowed +=
                zpar__sched_lb_result (s, T (id), E (2), ZPAR_STATUS_OK) == ZPAR_SCHED_LB_SWALLOW;
        ok (swallowed == BURST, "settle: every burst task's outcome is remembered (%d)", swallowed);
    }
    /* an unknown dependency is still asked of the hub */
    dep = T (999999);
    submit (s, 50003, &dep, 1);
    ok (zpar__sched_lb_next_action (s, &act) == 1 && act.kind == ZPAR_SCHED_LB_ACT_ASK_HUB &&
            act.task.v == 999999,
        "settle: an unknown dependency is asked of the hub");
    zpar__sched_lb_dep_done (s, T (999999), 1);
    (void)run_all (s, 0, &answers);

    /* the rebuilt tables take a second burst */
    for (uint64_t id = 100001; id < 100001 + BURST; id++)
        submitted += submit (s, id, NULL, 0) == 0;
    results = run_all (s, 0, &answers);
    zpar__sched_lb_stats (s, &st);
    ok (results == BURST, "settle: a second burst ran on the rebuilt tables (%d)", results);
    ok (st.settles == 2, "settle: rebuilt again after it (%llu)", (unsigned long long)st.settles);
    zpar__sched_lb_destroy (s);
    ok (freed + answers >= submitted, "settle: every payload let go");
}

int main (void)
{
    plan (NO_PLAN);
    test_settle ();
    return done_testing ();
}
