/* sched_gang_int.h - the state of sched_gang.c, shared with its placement
 * (sched_gang_place.c).  Private to those two files. */
#ifndef ZPAR__SCHED_GANG_INT_H
#define ZPAR__SCHED_GANG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sched_lb_state.h"

typedef struct {
    uint32_t node;     /* index + 1 in g->nodes; 0: unknown */
    unsigned cores;    /* >= 1 */
    unsigned gpus;     /* count */
    uint64_t mem;      /* bytes, 0: unknown */
    uint64_t node_mem; /* its node's memory as it saw it (bytes), 0: none told, or gone */
    char *slot;        /* its SLOT string */
    lbtask_t *holder;  /* the resource task that holds or reserves it */
} gengine_t;

/* A node: its memory, as a pool that its running resource tasks draw
 * on (their memory: requests together never more than mem_total). */
typedef struct {
    char *host;
    uint64_t mem_total; /* bytes: the least its live engines reported; 0: unknown */
    uint64_t mem_used;  /* bytes asked by the tasks running there */
} gnode_t;

struct gtask {
    zpar_resources_t r;
    uint32_t mem_node;  /* running: the node its memory is counted on (index + 1), 0: none */
    uint64_t mem_added; /* what it added to that node's mem_used (a saturated sum: no more
                           than was there to add), taken off again at its end */
    uint32_t *set;      /* engines it holds (running) or reserves, leader first */
    unsigned nset;
    int reserved;  /* set is a reservation, not running */
    uint32_t lost; /* running: an engine of the set that died (its leader stops it), 0 none */
    int stop_due;  /* its leader's stop is still to be sent (it could not be: zpar__gang_tick) */
    uint64_t fits_gen; /* engines_gen + 1 when some set of live engines was seen to hold it */
};

struct zpar_gang {
    struct zpar_gang_head head;
    zpar_sched_lb_t *owner;
    gengine_t *eng; /* by engine id */
    uint32_t neng;
    gnode_t *nodes; /* node index - 1 -> its host and memory */
    uint32_t nnodes;
    lbtask_t **q; /* ready resource tasks, in order */
    size_t nq, qcap;
    lbtask_t *resv;       /* the task holding the reservation */
    uint64_t resv_end_us; /* B, UINT64_MAX: unbounded */
    uint64_t last_up_us;
    uint64_t engines_gen;   /* counts engines coming and going */
    uint64_t bf_order;      /* s->order when a backfill scan last found nothing */
    unsigned nwait;         /* queued tasks no set can hold now (waiting for engines) */
    unsigned stops_due;     /* running tasks whose stop is still to be sent (stop_due) */
    uint64_t stop_retry_us; /* when they are sent again at the earliest (monotonic) */
    const char **slotv;
    size_t slotcap;
    uint32_t *tmp, *pick; /* scratch: candidates, chosen set */
    size_t tmpcap;
};

static inline gengine_t *zpar__gang_ge (struct zpar_gang *g, uint32_t eid)
{
    return eid < g->neng ? &g->eng[eid] : NULL;
}

/* An engine without a "res": one core, a node of its own. */
static inline uint32_t zpar__gang_node (struct zpar_gang *g, uint32_t eid)
{
    gengine_t *e = zpar__gang_ge (g, eid);
    return e && e->node ? e->node : 0x80000000u + eid;
}

static inline unsigned zpar__gang_cores (struct zpar_gang *g, uint32_t eid)
{
    gengine_t *e = zpar__gang_ge (g, eid);
    return e ? e->cores : 1;
}

/* How an engine may be in a task's set: idle now and not held by
 * another; not held by another (a reservation); alive (ever). */
enum { ZPAR_GANG_FREE_NOW = 0, ZPAR_GANG_RESERVABLE = 1, ZPAR_GANG_EVER = 2 };

/* Whether node (index + 1; 0 or an engine of no node: unknown) has
 * `memory` bytes for t in that mode: FREE_NOW, beside what its running
 * tasks and the reservation of another task there asked; else (it could,
 * once they are done) within its memory.  A node of unknown memory
 * always has. */
int zpar__gang_node_mem_ok (struct zpar_gang *g, const lbtask_t *t, uint32_t node, uint64_t memory,
                            int mode);

/* The engines t may use in that mode, grouped by node, the least loaded
 * first: *n of them in g->tmp.  0 / -1 ENOMEM. */
int zpar__gang_candidates (zpar_sched_lb_t *s, const lbtask_t *t, int mode, size_t *n);
/* A set for t among g->tmp[0..n) (found in that mode) into g->pick: its
 * size, 0 when none. */
unsigned zpar__gang_choose (zpar_sched_lb_t *s, const lbtask_t *t, size_t n, int mode);
/* 1 with the reason in text when no set of live engines can ever hold t;
 * 0 if one can (or there is no engine yet). */
int zpar__gang_never (zpar_sched_lb_t *s, const lbtask_t *t, char *text, size_t size);

#endif
