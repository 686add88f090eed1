/* bench/sched-policy.c - the load-balanced policy alone (sched_lb.h), no
 * sockets: N plain one-core tasks on 2 engines that reported their
 * resources (as every engine of a cluster does), hwm 16, submitted 32 at
 * a time, each batch's dispatches answered at once.  Deterministic: run
 * it under `valgrind --tool=callgrind` and divide the instructions by N
 * for the policy's cost per plain task (doc/benchmarks.md, "Resources per
 * task").  Usage: sched-policy [N] (default 100000). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "sched_lb.h"
#include "zpar.h"

static void payload_free (void *p, void *arg)
{
    (void)arg;
    free (p);
}

int main (int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)strtoul (argv[1], NULL, 10) : 100000, done = 0, next = 1;
    zpar_sched_lb_t *s = zpar__sched_lb_create (16, payload_free, NULL);
    zpar_sched_lb_action_t a;
    uint64_t task[64];
    uint32_t engine[64];
    if (!s || n == 0)
        return 2;
    (void)zpar__sched_lb_engine_res (s, zpar__eid (1), 1, "1 node - - 0", 0);
    (void)zpar__sched_lb_engine_res (s, zpar__eid (2), 1, "2 node - - 0", 0);
    (void)zpar__sched_lb_engine_up (s, zpar__eid (1));
    (void)zpar__sched_lb_engine_up (s, zpar__eid (2));
    while (done < n) {
        unsigned k = 0;
        for (int i = 0; i < 32 && next <= n; i++, next++) {
            zpar_sched_lb_task_t t = {
                .id = zpar__tid (next), .client = zpar__cid (1), .payload = malloc (16)};
            if (zpar__sched_lb_submit (s, &t) < 0)
                return 1;
        }
        while (zpar__sched_lb_next_action (s, &a) == 1)
            if (a.kind == ZPAR_SCHED_LB_ACT_DISPATCH && k < 64) {
                task[k] = a.task.v;
                engine[k++] = a.engine.v;
            }
        if (k == 0)
            return 1; /* nothing dispatched: the policy is stuck */
        for (unsigned i = 0; i < k; i++, done++)
            (void)zpar__sched_lb_result (s, zpar__tid (task[i]), zpar__eid (engine[i]),
                                         ZPAR_STATUS_OK);
    }
    zpar__sched_lb_destroy (s);
    printf ("%u tasks\n", done);
    return 0;
}
