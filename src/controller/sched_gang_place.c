/* sched_gang_place.c - where a resource task may run: the engines it
 * may use, grouped by node, and the set it gets (sched_gang.c has the
 * model). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_gang_int.h"

/* ------------------------------------------------------------ placement */

/* Whether engine eid may be in t's set: now (idle, not held by another),
 * for a reservation (not reserved by another; held by a running resource
 * task is fine: it comes at that task's end), or ever (alive). */
static int usable (zpar_sched_lb_t *s, const lbtask_t *t, uint32_t eid, int mode)
{
    const lbengine_t *e = &s->engines[eid];
    gengine_t *x = zpar__gang_ge (s->gang, eid);
    if (!e->alive || !zpar__lb_engine_ok_for (t, eid))
        return 0;
    if (mode == ZPAR_GANG_EVER)
        return 1;
    if (x && x->holder && x->holder != t &&
        (mode != ZPAR_GANG_RESERVABLE || x->holder->gang->reserved))
        return 0; /* a reservation may take an engine at the end of the task that holds it */
    return mode == ZPAR_GANG_RESERVABLE || (!e->waiting && e->outstanding == 0);
}

static int grow (struct zpar_gang *g, size_t n)
{
    uint32_t *a, *b;
    if (n <= g->tmpcap)
        return 0;
    if (!(a = realloc (g->tmp, n * sizeof (*a))))
        return -1;
    g->tmp = a;
    if (!(b = realloc (g->pick, n * sizeof (*b))))
        return -1;
    g->pick = b;
    g->tmpcap = n;
    return 0;
}

static zpar_sched_lb_t *sort_s; /* qsort's context (one thread) */

/* by node, then fewest outstanding, then id */
static int by_node_load (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    uint32_t nx = zpar__gang_node (sort_s->gang, x), ny = zpar__gang_node (sort_s->gang, y);
    unsigned ox = sort_s->engines[x].outstanding, oy = sort_s->engines[y].outstanding;
    if (nx != ny)
        return nx < ny ? -1 : 1;
    if (ox != oy)
        return ox < oy ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* The usable engines, grouped by node: *n of them in g->tmp. */
int zpar__gang_candidates (zpar_sched_lb_t *s, const lbtask_t *t, int mode, size_t *n)
{
    struct zpar_gang *g = s->gang;
    *n = 0;
    if (grow (g, s->nengines) < 0)
        return -1;
    for (uint32_t eid = 1; eid < s->nengines; eid++)
        if (usable (s, t, eid, mode))
            g->tmp[(*n)++] = eid;
    sort_s = s;
    qsort (g->tmp, *n, sizeof (uint32_t), by_node_load);
    return 0;
}

/* A set on one node's engines c[0..n) for a non-MPI task: into out,
 * its size, 0 if they cannot hold it.  *load: their outstanding tasks. */
static unsigned fit_node (zpar_sched_lb_t *s, const zpar_resources_t *r, const uint32_t *c,
                          size_t n, uint32_t *out, unsigned *load)
{
    unsigned cores = 0, gpus = 0, k = 0, need = r->cores ? r->cores : 1;
    uint64_t mem = 0, memknown = 0;
    for (size_t i = 0; i < n; i++) {
        gengine_t *x = zpar__gang_ge (s->gang, c[i]);
        memknown += x ? x->mem : 0;
    }
    *load = 0;
    /* the engines with GPUs first while GPUs are wanted, then any */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            gengine_t *x = zpar__gang_ge (s->gang, c[i]);
            unsigned eg = x ? x->gpus : 0;
            int taken = 0;
            if (cores >= need && gpus >= r->gpus && (!r->memory || !memknown || mem >= r->memory))
                goto done;
            if (pass == 0 && !(eg && gpus < r->gpus))
                continue;
            for (unsigned j = 0; j < k; j++)
                taken |= out[j] == c[i];
            if (taken)
                continue;
            out[k++] = c[i];
            cores += zpar__gang_cores (s->gang, c[i]);
            gpus += eg;
            mem += x ? x->mem : 0;
            *load += s->engines[c[i]].outstanding;
        }
    if (!(cores >= need && gpus >= r->gpus && (!r->memory || !memknown || mem >= r->memory)))
        return 0;
done:
    return k;
}

/* Engines per rank of an MPI task: enough of the smallest engines for its
 * cores per rank. */
static unsigned per_rank (zpar_sched_lb_t *s, const zpar_resources_t *r, const uint32_t *c,
                          size_t n)
{
    unsigned least = 0;
    if (r->cores <= 1)
        return 1;
    for (size_t i = 0; i < n; i++) {
        unsigned k = zpar__gang_cores (s->gang, c[i]);
        if (!least || k < least)
            least = k;
    }
    return least ? (r->cores + least - 1) / least : 1;
}

/* Choose a set for t among g->tmp[0..n) (grouped by node) into g->pick:
 * its size, 0 when none.  Non-MPI: the node whose set has the fewest
 * tasks outstanding; MPI: ranks x k engines, k per rank on one node,
 * over the nodes asked for (the fullest nodes first). */
unsigned zpar__gang_choose (zpar_sched_lb_t *s, const lbtask_t *t, size_t n)
{
    struct zpar_gang *g = s->gang;
    const zpar_resources_t *r = &t->gang->r;
    unsigned best = 0, best_load = 0;
    uint32_t *tmpset;
    size_t i = 0;

    if (!r->ranks) {
        if (!(tmpset = malloc ((n + 1) * sizeof (*tmpset))))
            return 0;
        while (i < n) {
            size_t j = i;
            unsigned k, load;
            while (j < n && zpar__gang_node (g, g->tmp[j]) == zpar__gang_node (g, g->tmp[i]))
                j++;
            k = fit_node (s, r, g->tmp + i, j - i, tmpset, &load);
            if (k && (!best || load < best_load)) {
                memcpy (g->pick, tmpset, k * sizeof (*tmpset));
                best = k;
                best_load = load;
            }
            i = j;
        }
        free (tmpset);
        return best;
    }
    {
        unsigned k = per_rank (s, r, g->tmp, n), placed = 0, nodes_used = 0;
        unsigned want_nodes = r->nodes, rpn = r->ranks_per_node;
        if (want_nodes && !rpn)
            rpn = (r->ranks + want_nodes - 1) / want_nodes;
        while (i < n && placed < r->ranks) {
            size_t j = i;
            unsigned cap, take;
            while (j < n && zpar__gang_node (g, g->tmp[j]) == zpar__gang_node (g, g->tmp[i]))
                j++;
            cap = (unsigned)((j - i) / k);
            take = r->ranks - placed;
            if (rpn) {
                if (cap < rpn && cap < take) {
                    i = j;
                    continue;
                }
                if (take > rpn)
                    take = rpn;
            } else if (take > cap)
                take = cap;
            if (take) {
                memcpy (g->pick + placed * k, g->tmp + i, (size_t)take * k * sizeof (uint32_t));
                placed += take;
                nodes_used++;
            }
            i = j;
        }
        if (placed < r->ranks || (want_nodes && nodes_used != want_nodes))
            return 0;
        return placed * k;
    }
}

/* Why no set of live engines can ever hold t (into text), or 0 if one
 * can. */
int zpar__gang_never (zpar_sched_lb_t *s, const lbtask_t *t, char *text, size_t size)
{
    struct zpar_gang *g = s->gang;
    const zpar_resources_t *r = &t->gang->r;
    size_t n, i = 0;
    unsigned most_cores = 0, most_gpus = 0, engines = 0;
    uint64_t most_mem = 0;
    if (zpar__gang_candidates (s, t, ZPAR_GANG_EVER, &n) < 0 || n == 0)
        return 0; /* no engine: wait for them */
    if (zpar__gang_choose (s, t, n))
        return 0;
    while (i < n) {
        size_t j = i;
        unsigned c = 0, gp = 0;
        uint64_t m = 0;
        while (j < n && zpar__gang_node (g, g->tmp[j]) == zpar__gang_node (g, g->tmp[i])) {
            gengine_t *x = zpar__gang_ge (g, g->tmp[j]);
            c += zpar__gang_cores (g, g->tmp[j]);
            gp += x ? x->gpus : 0;
            m += x ? x->mem : 0;
            j++;
        }
        most_cores = c > most_cores ? c : most_cores;
        most_gpus = gp > most_gpus ? gp : most_gpus;
        most_mem = m > most_mem ? m : most_mem;
        i = j;
    }
    engines = (unsigned)n;
    if (r->ranks)
        snprintf (text, size,
                  "needs %u MPI ranks (%u cores each%s%s); the %u engines can never hold them",
                  r->ranks, r->cores ? r->cores : 1, r->nodes ? ", on the nodes asked for" : "",
                  r->ranks_per_node ? ", ranks per node as asked" : "", engines);
    else if (r->gpus > most_gpus)
        snprintf (text, size, "needs %u GPUs on one node; the largest node has %u", r->gpus,
                  most_gpus);
    else if (r->cores > most_cores)
        snprintf (text, size, "needs %u cores on one node; the largest node has %u", r->cores,
                  most_cores);
    else
        snprintf (text, size, "needs %llu bytes of memory on one node; the largest node has %llu",
                  (unsigned long long)r->memory, (unsigned long long)most_mem);
    return 1;
}
