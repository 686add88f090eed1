/* sched_lb_adopt.c - the load-balanced policy's part in a controller
 * restart: tasks an engine that registered again holds are adopted
 * (counted outstanding there, never run a second time). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "idmap.h"
#include "sched_lb.h"
#include "sched_lb_state.h"

int zpar__sched_lb_adopt (zpar_sched_lb_t *s, zpar_eid_t engine, const zpar_sched_lb_task_t *in)
{
    uint32_t eid = engine.v;
    lbengine_t *e;
    lbtask_t *t;
    if (!s || !in || !in->id.v || !eid || (in->ntargets && !in->targets) ||
        (in->nafter && !in->after)) {
        errno = EINVAL;
        return -1;
    }
    if (eid >= s->nengines || !s->engines[eid].alive) {
        errno = ENOENT;
        return -1;
    }
    s->paused = 0;
    e = &s->engines[eid];
    if ((t = zpar__idmap_get (s->running, in->id.v))) {
        if (t->engine != eid) {
            errno = EBUSY;
            return -1;
        }
        t->unstealable = 1;
        if (in->payload && s->free_f)
            s->free_f (in->payload, s->free_arg);
        return 0;
    }
    if ((t = zpar__idmap_get (s->queued, in->id.v))) {
        if (t->aborted || !zpar__lb_unqueue (s, t)) {
            errno = EBUSY;
            return -1;
        }
        if (in->payload && s->free_f)
            s->free_f (in->payload, s->free_arg);
    } else if (zpar__lb_finished_get (s, in->id.v)) {
        errno = EBUSY;
        return -1;
    } else if (!in->payload) {
        errno = ENOENT;
        return -1;
    } else if (!(t = zpar__lb_task_new (s, in)))
        return -1;
    t->attempts++;
    t->disp_attempt = 0; /* the engine's own number: unknown here */
    t->engine = eid;
    t->last_engine = eid;
    t->unstealable = 1;
    zpar__lb_out_add (e, t);
    e->outstanding++;
    zpar__idmap_put (s->running, t->id, t);
    if (t->gang)
        zpar__gang_adopted (s, t, eid);
    zpar__lb_idle_push (s, eid);
    s->adopted++;
    return 0;
}
