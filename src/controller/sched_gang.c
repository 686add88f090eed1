/* sched_gang.c - resource tasks in the load-balanced policy (doc/sweeps.md
 * "Resources", doc/protocol.md "Resources").
 *
 * An engine is a slot of one node (its HOST): its cores, GPUs and memory
 * share come with its registration (zpar__sched_lb_engine_res).  A task
 * that asks for more than one core (cores, gpus, memory) is placed on a
 * set of engines of ONE node that together hold them; an MPI task
 * (ranks) on ranks x k engines (k engines per rank, so that a rank's
 * engines hold its cores) over the nodes it asks for.  The set's first
 * engine, the leader, gets the task with one SLOT per engine; every
 * engine of the set is held (e->held: no plain task goes to it) until the
 * task's result is back.
 *
 * Resource tasks wait in their own queue (priority, then submission
 * order), apart from the plain tasks' heap: a plain task pays nothing for
 * them (one flag per engine checked where an engine is picked).
 *
 * Reservation: the first resource task of the queue that cannot start now
 * reserves a set (the one with the fewest tasks outstanding): its engines
 * get no new plain task, and the tasks queued on them that have not
 * started are asked back (steals), so the set drains and the task starts
 * however many plain tasks keep coming (no starvation).  The set may take
 * engines another resource task holds while it runs: they pass to the
 * reservation at that task's end, so a stream of smaller resource tasks
 * cannot keep a bigger one waiting either.  There is one reservation at
 * a time and a set is taken whole or not at all (start), so two resource
 * tasks never each hold part of what the other waits for (no deadlock).  The start is
 * bounded when every task on the set has a timeout: B = the time of the
 * reservation + the largest, over its engines, sum of the timeouts of the
 * tasks outstanding there (+ BACKFILL_MARGIN_US each for the stop grace).
 * Backfill: a plain task with a timeout t may run on an idle engine of
 * the reservation when now + t + BACKFILL_MARGIN_US <= B: it ends before
 * the reservation could start.  A later resource task may start on
 * engines outside the reservation.
 *
 * A task no set of live engines could ever hold fails at once ("needs 8
 * cores on one node; the largest node has 4"), once no engine has come up
 * for SETTLE_US (a cluster that is still registering gets that long).
 *
 * An engine of a running set that dies: the leader -- the task is
 * retried or answered like any task whose engine died, the others
 * released (the leader's keeper kills the task's process group, its MPI
 * launcher with it, which ends the ranks on every host); another engine
 * (a member) -- the task cannot go on with part of its resources gone (an
 * MPI job has lost the host of a rank, or will): the leader is told to
 * stop it (ZPAR_SCHED_LB_ACT_STOP: SIGTERM, then SIGKILL, to the launcher
 * and so to every rank), the other engines stay held until the stopped
 * run's result (nothing else starts beside ranks that may still be
 * stopping), and that result counts as the engine's death: the task runs
 * again within its retries, else is answered "engine died" naming the
 * member (zpar__gang_lost).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto_task.h"
#include "sched_gang_int.h"
#include "sched_lb.h"
#include "sched_lb_state.h"

#define SETTLE_US          2000000u /* no engine up for this long: the engines are all here */
#define BACKFILL_MARGIN_US 2000000u /* a timeout's stop grace and the round trips */
#define BACKFILL_SCAN      1024     /* ready tasks looked at for one that may backfill */
#define QUEUE_SCAN         64       /* resource tasks looked at in one pass */

static struct zpar_gang *gang (zpar_sched_lb_t *s)
{
    if (!s->gang && (s->gang = calloc (1, sizeof (struct zpar_gang))))
        s->gang->owner = s;
    return s->gang;
}

struct gtask *zpar__gang_task_new (const zpar_resources_t *res)
{
    struct gtask *g = calloc (1, sizeof (*g));
    if (g)
        g->r = *res;
    return g;
}

void zpar__gang_task_free (struct gtask *g)
{
    if (g) {
        free (g->set);
        free (g);
    }
}

static void set_active (struct zpar_gang *g)
{
    g->owner->gang_active = g->nq > 0 || g->resv != NULL;
}

/* ------------------------------------------------------------ engines */

static uint32_t node_of (struct zpar_gang *g, const char *host)
{
    gnode_t *nn;
    for (uint32_t i = 0; i < g->nnodes; i++)
        if (!strcmp (g->nodes[i].host, host))
            return i + 1;
    if (!(nn = realloc (g->nodes, (g->nnodes + 1) * sizeof (*nn))))
        return 0;
    g->nodes = nn;
    memset (&nn[g->nnodes], 0, sizeof (*nn));
    if (!(nn[g->nnodes].host = strdup (host)))
        return 0;
    return ++g->nnodes;
}

int zpar__gang_node_mem_ok (struct zpar_gang *g, const lbtask_t *t, uint32_t node, uint64_t memory,
                            int mode)
{
    const gnode_t *nd;
    uint64_t used;
    const lbtask_t *rv = g->resv;
    if (!memory || !node || node > g->nnodes || !(nd = &g->nodes[node - 1])->mem_total)
        return 1;
    if (mode != ZPAR_GANG_FREE_NOW)
        return memory <= nd->mem_total;
    used = nd->mem_used;
    /* a reservation keeps its memory free of the others' new tasks (an
     * MPI task's too: its memory counts on its leader's node) */
    if (rv && rv != t && rv->gang->nset && zpar__gang_node (g, rv->gang->set[0]) == node)
        used = rv->gang->r.memory <= UINT64_MAX - used ? used + rv->gang->r.memory : UINT64_MAX;
    return used <= nd->mem_total && memory <= nd->mem_total - used;
}

static unsigned count_gpus (const char *gpus)
{
    unsigned n = 1;
    if (!strcmp (gpus, "-"))
        return 0;
    for (; *gpus; gpus++)
        n += *gpus == ',';
    return n;
}

/* g->eng has an entry for eid (new ones zeroed, with room to grow by
 * half again): 0 / -1 ENOMEM. */
static int eng_room (struct zpar_gang *g, uint32_t eid)
{
    size_t want = (size_t)eid + 1 + eid / 2;
    gengine_t *grown;
    if (eid < g->neng)
        return 0;
    if (!(grown = realloc (g->eng, want * sizeof (*grown))))
        return -1;
    memset (grown + g->neng, 0, (want - g->neng) * sizeof (*grown));
    g->eng = grown;
    g->neng = (uint32_t)want;
    return 0;
}

int zpar__gang_engine_res (zpar_sched_lb_t *s, uint32_t eid, unsigned cores, const char *slot,
                           uint64_t node_mem)
{
    struct zpar_gang *g = gang (s);
    zpar_proto_slot_t ps;
    gengine_t *e;
    char *copy;
    if (!g)
        return -1;
    if (zpar__proto_slot_parse (slot, &ps, NULL) < 0 || ps.engine.v != eid) {
        errno = EINVAL;
        return -1;
    }
    if (eng_room (g, eid) < 0)
        return -1;
    if (!(copy = strdup (slot)))
        return -1;
    e = &g->eng[eid];
    free (e->slot);
    e->slot = copy;
    e->node = node_of (g, ps.host);
    e->cores = cores ? cores : 1;
    e->gpus = count_gpus (ps.gpus);
    e->mem = ps.mem;
    /* the node's memory: the least any of its engines saw (engines of one
     * host under different limits: the smallest bounds them all) */
    e->node_mem = node_mem;
    if (e->node && node_mem) {
        gnode_t *nd = &g->nodes[e->node - 1];
        if (!nd->mem_total || node_mem < nd->mem_total)
            nd->mem_total = node_mem;
    }
    return 0;
}

/* Engine e is gone: its word no longer bounds its node's memory (one
 * engine that saw a small amount, misconfigured or of another job, would
 * otherwise bound the node for good): the least of those still there. */
static void node_mem_gone (struct zpar_gang *g, gengine_t *e)
{
    uint64_t was = e->node_mem, m = 0;
    gnode_t *nd;
    e->node_mem = 0;
    if (!was || !e->node || e->node > g->nnodes || (nd = &g->nodes[e->node - 1])->mem_total != was)
        return;
    for (uint32_t i = 0; i < g->neng; i++)
        if (g->eng[i].node == e->node && g->eng[i].node_mem && (!m || g->eng[i].node_mem < m))
            m = g->eng[i].node_mem;
    nd->mem_total = m;
}

static int in_set (const lbtask_t *t, uint32_t eid)
{
    for (unsigned i = 0; t && i < t->gang->nset; i++)
        if (t->gang->set[i] == eid)
            return 1;
    return 0;
}

static void release (zpar_sched_lb_t *s, lbtask_t *t)
{
    struct zpar_gang *g = s->gang;
    struct gtask *gt = t->gang;
    for (unsigned i = 0; i < gt->nset; i++) {
        uint32_t eid = gt->set[i];
        gengine_t *e = zpar__gang_ge (g, eid);
        if (e && e->holder == t) {
            e->holder = NULL;
            if (g->resv && g->resv != t && in_set (g->resv, eid))
                e->holder = g->resv; /* reserved while t ran: it stays held */
            else if (eid < s->nengines) {
                s->engines[eid].held = 0;
                zpar__lb_idle_push (s, eid);
                zpar__lb_unpark_for (s, eid);
            }
        }
    }
    if (gt->mem_node && gt->mem_node <= g->nnodes) {
        gnode_t *nd = &g->nodes[gt->mem_node - 1];
        nd->mem_used -= gt->mem_added < nd->mem_used ? gt->mem_added : nd->mem_used;
    }
    gt->mem_node = 0;
    gt->mem_added = 0;
    if (gt->stop_due && g->stops_due)
        g->stops_due--;
    gt->stop_due = 0;
    gt->nset = 0;
    gt->reserved = 0;
    gt->lost = 0;
    if (g->resv == t)
        g->resv = NULL;
    g->head.dirty = 1;
    set_active (g);
}

void zpar__gang_off (zpar_sched_lb_t *s, lbtask_t *t)
{
    if (s->gang && t->gang && t->gang->nset)
        release (s, t);
}

void zpar__gang_engine_up (zpar_sched_lb_t *s, uint32_t eid)
{
    struct zpar_gang *g = s->gang;
    gengine_t *e = zpar__gang_ge (g, eid);
    if (e)
        e->holder = NULL;
    g->last_up_us = s->now_us;
    g->engines_gen++;
    g->head.dirty = 1;
}

/* A stop that could not be sent is sent again this long after. */
#define STOP_RETRY_US 100000u

static void stop_push (zpar_sched_lb_t *s, lbtask_t *t);

void zpar__gang_engine_gone (zpar_sched_lb_t *s, uint32_t eid)
{
    struct zpar_gang *g = s->gang;
    gengine_t *e = zpar__gang_ge (g, eid);
    lbtask_t *t = e ? e->holder : NULL;
    g->engines_gen++;
    g->head.dirty = 1;
    if (e)
        node_mem_gone (g, e);
    if (g->resv && g->resv != t && in_set (g->resv, eid))
        release (s, g->resv); /* reserved again at the next look */
    if (!t)
        return;
    e->holder = NULL;
    if (t->gang->reserved) {
        release (s, t); /* reserved again at the next look */
        return;
    }
    /* a member of a running set (the leader's case is the caller's): it
     * leaves the set, and the leader is told to stop the task (once) */
    for (unsigned i = 1; i < t->gang->nset; i++)
        if (t->gang->set[i] == eid) {
            memmove (&t->gang->set[i], &t->gang->set[i + 1],
                     (t->gang->nset - i - 1) * sizeof (uint32_t));
            t->gang->nset--;
            break;
        }
    if (!t->gang->lost && t->engine && t->engine != eid) {
        t->gang->lost = eid;
        zpar__info ("task %llu: engine %u of its set died while it ran: engine %u stops it",
                    (unsigned long long)t->id, eid, t->engine);
        stop_push (s, t);
    }
}

/* Tell t's leader to stop t (an engine of its set died); when that
 * cannot be queued now, zpar__gang_tick tries again. */
static void stop_push (zpar_sched_lb_t *s, lbtask_t *t)
{
    zpar_sched_lb_action_t *act = zpar__lb_act_push (s);
    if (!act) {
        zpar__gang_stop_failed (s, t);
        return;
    }
    act->kind = ZPAR_SCHED_LB_ACT_STOP;
    act->task = zpar__tid (t->id);
    act->engine = zpar__eid (t->engine);
    act->client = zpar__cid (t->client);
    act->attempt = t->attempts;
}

void zpar__gang_stop_failed (zpar_sched_lb_t *s, lbtask_t *t)
{
    if (!t || !t->gang || !t->gang->lost || t->gang->stop_due)
        return;
    t->gang->stop_due = 1;
    s->gang->stops_due++;
}

uint32_t zpar__gang_lost (zpar_sched_lb_t *s, const lbtask_t *t, char *text, size_t size)
{
    struct zpar_gang *g = s->gang;
    uint32_t eid = t->gang && t->gang->nset ? t->gang->lost : 0;
    uint32_t node = eid ? zpar__gang_node (g, eid) : 0;
    if (eid)
        snprintf (text, size,
                  "engine %u (host %s) of its set died while it ran; the task was stopped "
                  "(attempt %u, no retries left)",
                  eid, node && node <= g->nnodes ? g->nodes[node - 1].host : "?", t->attempts);
    return eid;
}

/* ------------------------------------------------------------ the queue */

void zpar__gang_ready (zpar_sched_lb_t *s, lbtask_t *t)
{
    struct zpar_gang *g = gang (s);
    size_t i;
    if (g && g->nq == g->qcap) {
        size_t nc = g->qcap ? g->qcap * 2 : 16;
        lbtask_t **nq = realloc (g->q, nc * sizeof (*nq));
        if (nq) {
            g->q = nq;
            g->qcap = nc;
        }
    }
    if (!g || g->nq == g->qcap) {
        zpar__gang_task_free (t->gang);
        t->gang = NULL; /* so that make_ready does not come back here */
        zpar__lb_fail_task (s, t, ZPAR_STATUS_ERROR, "scheduler out of memory");
        return;
    }
    for (i = g->nq; i > 0; i--) {
        lbtask_t *o = g->q[i - 1];
        if (o->priority > t->priority || (o->priority == t->priority && o->order < t->order))
            break;
        g->q[i] = o;
    }
    g->q[i] = t;
    g->nq++;
    g->head.dirty = 1;
    set_active (g);
}

int zpar__gang_unready (zpar_sched_lb_t *s, lbtask_t *t)
{
    struct zpar_gang *g = s->gang;
    for (size_t i = 0; g && i < g->nq; i++)
        if (g->q[i] == t) {
            memmove (&g->q[i], &g->q[i + 1], (g->nq - i - 1) * sizeof (*g->q));
            g->nq--;
            if (t->gang->nset)
                release (s, t);
            set_active (g);
            return 1;
        }
    return 0;
}

/* ------------------------------------------------------------ decisions */

/* Mark the engines of g->pick[0..k) held by t (running or reserved). */
static int hold (zpar_sched_lb_t *s, lbtask_t *t, unsigned k, int reserved)
{
    struct zpar_gang *g = s->gang;
    struct gtask *gt = t->gang;
    uint32_t *set = realloc (gt->set, k * sizeof (*set));
    if (!set)
        return -1;
    memcpy (set, g->pick, k * sizeof (*set));
    gt->set = set;
    gt->nset = k;
    gt->reserved = reserved;
    for (unsigned i = 0; i < k; i++) {
        gengine_t *x = zpar__gang_ge (g, set[i]);
        if (!x || !x->slot) {
            char slot[64];
            snprintf (slot, sizeof (slot), "%u ? - - 0", set[i]);
            if (zpar__gang_engine_res (s, set[i], 1, slot, 0) < 0)
                return -1;
            x = zpar__gang_ge (g, set[i]);
            x->node = 0; /* still a node of its own */
        }
        if (!x->holder || !reserved)
            x->holder = t; /* reserved while another task runs there: it comes at that one's end */
        s->engines[set[i]].held = 1;
    }
    /* a running task's memory is drawn from its leader's node */
    if (!reserved && gt->r.memory && !gt->mem_node && (gt->mem_node = g->eng[set[0]].node)) {
        /* saturated: a client may ask any 64-bit amount, and a sum that
         * wrapped would let later tasks in */
        gnode_t *nd = &g->nodes[gt->mem_node - 1];
        gt->mem_added =
            gt->r.memory <= UINT64_MAX - nd->mem_used ? gt->r.memory : UINT64_MAX - nd->mem_used;
        nd->mem_used += gt->mem_added;
    }
    return 0;
}

/* When the reservation of t can start at the latest: now + the largest
 * sum, over its engines, of the timeouts of the tasks outstanding there
 * (UINT64_MAX when one has none). */
static uint64_t resv_end (zpar_sched_lb_t *s, const lbtask_t *t)
{
    uint64_t worst = 0;
    for (unsigned i = 0; i < t->gang->nset; i++) {
        const lbengine_t *e = &s->engines[t->gang->set[i]];
        const lbtask_t *h = s->gang->eng[t->gang->set[i]].holder;
        uint64_t sum = 0;
        if (h && h != t) { /* held by a running resource task until its end */
            if (!h->timeout_s)
                return UINT64_MAX;
            sum += h->timeout_s * 1000000ull + BACKFILL_MARGIN_US;
        }
        if (e->outstanding > e->nout)
            return UINT64_MAX; /* a task we lost track of (out list short of memory) */
        for (unsigned j = 0; j < e->nout; j++) {
            if (!e->out[j]->timeout_s)
                return UINT64_MAX;
            sum += e->out[j]->timeout_s * 1000000ull + BACKFILL_MARGIN_US;
        }
        worst = sum > worst ? sum : worst;
    }
    return s->now_us + worst;
}

/* A steal of a task queued on an engine of the reservation that has not
 * started: 1 with act, 0 if none. */
static int steal_back (zpar_sched_lb_t *s, zpar_sched_lb_action_t *act)
{
    lbtask_t *r = s->gang->resv;
    for (unsigned i = 0; r && i < r->gang->nset; i++) {
        uint32_t eid = r->gang->set[i];
        lbengine_t *e = &s->engines[eid];
        for (unsigned j = e->nout; e->alive && j-- > 1;) {
            lbtask_t *c = e->out[j];
            if (c->stealing || c->unstealable || c->ntargets || c->gang)
                continue;
            zpar__lb_steal_act (s, c, eid, act);
            return 1;
        }
    }
    return 0;
}

static void unqueue_at (struct zpar_gang *g, size_t i)
{
    memmove (&g->q[i], &g->q[i + 1], (g->nq - i - 1) * sizeof (*g->q));
    g->nq--;
}

/* Start t on g->pick[0..k): DISPATCH to the leader with the slots. */
static int start (zpar_sched_lb_t *s, lbtask_t *t, unsigned k, zpar_sched_lb_action_t *act)
{
    struct zpar_gang *g = s->gang;
    if (t->gang->nset)
        release (s, t); /* its reservation, maybe elsewhere */
    if (k > g->slotcap) {
        const char **v = realloc (g->slotv, k * sizeof (*v));
        if (!v)
            return -1;
        g->slotv = v;
        g->slotcap = k;
    }
    if (hold (s, t, k, 0) < 0) {
        release (s, t);
        return -1;
    }
    for (unsigned i = 0; i < k; i++)
        g->slotv[i] = g->eng[t->gang->set[i]].slot;
    zpar__lb_start_on (s, t, t->gang->set[0], act);
    act->slots = g->slotv;
    act->nslots = k;
    return 0;
}

void zpar__gang_adopted (zpar_sched_lb_t *s, lbtask_t *t, uint32_t eid)
{
    struct zpar_gang *g = gang (s);
    unsigned k = 0, cores = 0, need;
    size_t n = 0;
    if (!g || t->gang->nset || zpar__gang_candidates (s, t, ZPAR_GANG_FREE_NOW, &n) < 0)
        return;
    need = t->gang->r.ranks ? 1 : (t->gang->r.cores ? t->gang->r.cores : 1);
    g->pick[k++] = eid; /* the leader first, then idle engines of its node */
    cores = zpar__gang_cores (g, eid);
    for (size_t i = 0; i < n && cores < need; i++)
        if (g->tmp[i] != eid && zpar__gang_node (g, g->tmp[i]) == zpar__gang_node (g, eid)) {
            g->pick[k++] = g->tmp[i];
            cores += zpar__gang_cores (g, g->tmp[i]);
        }
    if (hold (s, t, k, 0) < 0)
        release (s, t);
}

int zpar__gang_next (zpar_sched_lb_t *s, zpar_sched_lb_action_t *act)
{
    struct zpar_gang *g = s->gang;
    int reserving = 0;
    if (g->resv && steal_back (s, act))
        return 1;
    if (!g->head.dirty)
        return 0;
    g->head.dirty = 0;
    g->nwait = 0;
    for (size_t i = 0; i < g->nq && i < QUEUE_SCAN; i++) {
        lbtask_t *t = g->q[i];
        char text[160];
        size_t n;
        unsigned k;
        if (zpar__gang_candidates (s, t, ZPAR_GANG_FREE_NOW, &n) < 0)
            break;
        if ((k = zpar__gang_choose (s, t, n, ZPAR_GANG_FREE_NOW))) {
            unqueue_at (g, i);
            if (start (s, t, k, act) < 0) {
                t->gang->nset = 0;
                zpar__lb_fail_task (s, t, ZPAR_STATUS_ERROR, "scheduler out of memory");
                g->head.dirty = 1;
                set_active (g);
                return zpar__lb_act_pop (s, act);
            }
            g->head.dirty = 1; /* another may start too */
            set_active (g);
            return 1;
        }
        /* can a set of live engines ever hold it? (asked again only when
         * engines came or went) */
        if (t->gang->fits_gen != g->engines_gen + 1) {
            if (!zpar__gang_never (s, t, text, sizeof (text)))
                t->gang->fits_gen = g->engines_gen + 1;
            else if (s->now_us < g->last_up_us + SETTLE_US) {
                g->nwait++; /* engines may still be coming */
                continue;
            } else {
                unqueue_at (g, i);
                if (t->gang->nset)
                    release (s, t);
                zpar__info ("task %llu: %s", (unsigned long long)t->id, text);
                zpar__lb_fail_task (s, t, ZPAR_STATUS_ERROR, text);
                g->head.dirty = 1;
                set_active (g);
                return zpar__lb_act_pop (s, act);
            }
        }
        if (reserving)
            continue; /* the first one that waits reserves; the others may start elsewhere */
        reserving = 1;
        if (g->resv == t)
            continue;
        if (g->resv)
            release (s, g->resv);
        if (zpar__gang_candidates (s, t, ZPAR_GANG_RESERVABLE, &n) == 0 &&
            (k = zpar__gang_choose (s, t, n, ZPAR_GANG_RESERVABLE)) && hold (s, t, k, 1) == 0) {
            g->resv = t;
            g->resv_end_us = resv_end (s, t);
            zpar__debug ("task %llu: %u engine(s) reserved from engine %u",
                         (unsigned long long)t->id, k, t->gang->set[0]);
        } else if (t->gang->nset)
            release (s, t);
    }
    set_active (g);
    return g->resv ? steal_back (s, act) : 0;
}

/* An idle engine of the reservation, 0 if none. */
static uint32_t resv_idle (zpar_sched_lb_t *s)
{
    lbtask_t *r = s->gang->resv;
    for (unsigned i = 0; r && i < r->gang->nset; i++) {
        uint32_t eid = r->gang->set[i];
        const lbengine_t *e = &s->engines[eid];
        if (e->alive && !e->waiting && e->outstanding == 0 && s->gang->eng[eid].holder == r)
            return eid;
    }
    return 0;
}

static int fits_before (const zpar_sched_lb_t *s, const lbtask_t *t)
{
    const struct zpar_gang *g = s->gang;
    return g->resv && g->resv_end_us != UINT64_MAX && t->timeout_s && !t->ntargets &&
           s->now_us + t->timeout_s * 1000000ull + BACKFILL_MARGIN_US <= g->resv_end_us;
}

uint32_t zpar__gang_backfill (zpar_sched_lb_t *s, const lbtask_t *t)
{
    return fits_before (s, t) ? resv_idle (s) : 0;
}

lbtask_t *zpar__gang_backfill_any (zpar_sched_lb_t *s, uint32_t *eid)
{
    struct zpar_gang *g = s->gang;
    lbtask_t *best = NULL;
    size_t n;
    if (!g->resv || g->resv_end_us == UINT64_MAX || g->bf_order == s->order ||
        !(*eid = resv_idle (s)))
        return NULL;
    n = s->ready.n < BACKFILL_SCAN ? s->ready.n : BACKFILL_SCAN;
    for (size_t i = 0; i < n; i++) {
        lbtask_t *t = s->ready.v[i];
        if (t->aborted || !fits_before (s, t))
            continue;
        if (!best || t->priority > best->priority ||
            (t->priority == best->priority && t->order < best->order))
            best = t;
    }
    if (!best) {
        g->bf_order = s->order; /* not again until a task comes */
        return NULL;
    }
    zpar__lb_heap_remove (&s->ready, best);
    return best;
}

unsigned zpar__gang_waiting (const zpar_sched_lb_t *s)
{
    return s->gang->nwait + s->gang->stops_due;
}

void zpar__gang_tick (zpar_sched_lb_t *s)
{
    struct zpar_gang *g = s->gang;
    if (g->nwait)
        g->head.dirty = 1;
    if (g->stops_due && s->now_us >= g->stop_retry_us) {
        /* the stops that could not be sent: once more (a full or
         * reconnecting socket, no memory), at most every STOP_RETRY_US */
        size_t pos = 0;
        uint64_t id;
        lbtask_t *t;
        g->stops_due = 0;
        g->stop_retry_us = s->now_us + STOP_RETRY_US;
        while ((t = zpar__idmap_next (s->running, &pos, &id)))
            if (t->gang && t->gang->stop_due) {
                t->gang->stop_due = 0;
                zpar__info ("task %llu: its stop for engine %u sent again",
                            (unsigned long long)t->id, t->engine);
                stop_push (s, t);
            }
    }
}

lbtask_t *zpar__gang_pop (zpar_sched_lb_t *s)
{
    struct zpar_gang *g = s->gang;
    if (!g || !g->nq)
        return NULL;
    return g->q[--g->nq];
}

void zpar__gang_destroy (zpar_sched_lb_t *s)
{
    struct zpar_gang *g = s->gang;
    if (!g)
        return;
    for (uint32_t i = 0; i < g->neng; i++)
        free (g->eng[i].slot);
    for (uint32_t i = 0; i < g->nnodes; i++)
        free (g->nodes[i].host);
    free (g->eng);
    free (g->nodes);
    free (g->q);
    free (g->slotv);
    free (g->tmp);
    free (g->pick);
    free (g);
    s->gang = NULL;
}
