/* sched_lb_pipe.c - the load-balanced scheduler's side of its pipe from
 * the hub: engines up (with the tasks they hold, adopted) and down,
 * outcomes of dependencies, tasks an earlier controller recorded queued
 * again. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "proto_pipe.h"
#include "proto_task.h"
#include "sched_lb_io_int.h"

typedef void (*pipe_handler_f) (zpar_sched_lb_io_t *io, const zpar_pipe_msg_t *pm);

/* The frames of a recorded request, as the hub sends it (header + body);
 * 0 / -1 when it is not a load-balanced task request. */
static int recorded_frames (const void *req, size_t len, zpar_frames_t *f, zpar_hdr_t *h)
{
    zpar_pipe_msg_t rq = {.kind = ZPAR_PIPE_REQUEUE, .data = req, .len = len};
    zpar_error_t err;
    if (zpar__pipe_requeue_frames (&rq, f) < 0)
        return -1;
    if (zpar__frames_check (NULL, f, h, &err) < 0 || h->type != ZPAR_MSG_TASK || h->engine != 0) {
        zpar__frames_close (f);
        return -1;
    }
    return 0;
}

/* The tasks an engine that registered again holds: outstanding there. */
static void adopt_list (zpar_sched_lb_io_t *io, const zpar_pipe_msg_t *pm)
{
    size_t pos = 0, reqlen;
    uint64_t task;
    const void *req;
    while (zpar__pipe_adopt_next (pm, &pos, &task, &req, &reqlen) == 1) {
        zpar_sched_lb_task_t t = {.id = zpar__tid (task)};
        zpar_proto_task_t pt = {0};
        payload_t *p = NULL;
        zpar_frames_t f;
        zpar_hdr_t h;
        if (reqlen && recorded_frames (req, reqlen, &f, &h) == 0 &&
            (p = zpar__lbio_task_payload (io, &f, &h, &pt, &t)) && t.id.v != task) {
            zpar__lbio_payload_free (p, NULL);
            zpar__proto_task_clear (&pt);
            p = NULL;
            t = (zpar_sched_lb_task_t){.id = zpar__tid (task)};
        }
        if (zpar__sched_lb_adopt (io->policy, zpar__eid (pm->engine), &t) < 0) {
            zpar__warn ("task scheduler: task %llu held by engine %u not adopted: %s",
                        (unsigned long long)task, pm->engine,
                        errno == EBUSY ? "it is outstanding elsewhere or finished"
                                       : strerror (errno));
            zpar__lbio_payload_free (p, NULL);
        }
        if (p)
            zpar__proto_task_clear (&pt);
    }
}

static void on_up (zpar_sched_lb_io_t *io, const zpar_pipe_msg_t *pm)
{
    const zpar_route_t *was = zpar__routes_get (io->routes, zpar__eid (pm->engine));
    if (was && memcmp (was->b, pm->route.b, sizeof (was->b)) == 0 &&
        zpar__sched_lb_engine_again (io->policy, zpar__eid (pm->engine)) == 0) {
        /* the same engine, alive, connected again (the hub keeps its
         * routing identity): its tasks are not lost, those it holds come
         * in the same message; maybe through another relay now */
        (void)zpar__routes_set (io->routes, &pm->route);
        if (pm->adopt_len)
            adopt_list (io, pm);
        return;
    }
    if (zpar__routes_set (io->routes, &pm->route) < 0) {
        zpar__err ("task scheduler: engine %u: cannot record its routing identity", pm->engine);
        return;
    }
    (void)zpar__sched_lb_engine_up (io->policy, zpar__eid (pm->engine));
    /* in the same message: nothing was dispatched in between */
    if (pm->adopt_len)
        adopt_list (io, pm);
}

/* What an engine that registers holds, just before its "up". */
static void on_res (zpar_sched_lb_io_t *io, const zpar_pipe_msg_t *pm)
{
    char slot[ZPAR_SLOT_MAX];
    if (pm->len >= sizeof (slot))
        return;
    memcpy (slot, pm->data, pm->len);
    slot[pm->len] = '\0';
    if (zpar__sched_lb_engine_res (io->policy, zpar__eid (pm->engine), pm->cores, slot,
                                   pm->node_mem) < 0)
        zpar__warn ("task scheduler: engine %u: its resources not kept: %s", pm->engine,
                    strerror (errno));
}

static void on_adopt (zpar_sched_lb_io_t *io, const zpar_pipe_msg_t *pm)
{
    adopt_list (io, pm);
}

static void on_down (zpar_sched_lb_io_t *io, const zpar_pipe_msg_t *pm)
{
    (void)zpar__sched_lb_engine_down (io->policy, zpar__eid (pm->engine), "died");
}

static void on_done (zpar_sched_lb_io_t *io, const zpar_pipe_msg_t *pm)
{
    (void)zpar__sched_lb_dep_done (io->policy, zpar__tid (pm->task), pm->ok);
}

/* A task recorded by an earlier controller that never finished: queue
 * it again; its answer goes to the records (the client that submitted it
 * is gone; `zpar wait`/`result` read them). */
static void on_requeue (zpar_sched_lb_io_t *io, const zpar_pipe_msg_t *pm)
{
    zpar_frames_t f;
    zpar_hdr_t h;
    if (recorded_frames (pm->data, pm->len, &f, &h) < 0)
        return; /* only load-balanced task requests */
    zpar__lbio_new_task (io, &f, &h);
}

/* ------------------------------------------------------------ the hub's pace
 *
 * The scheduler hands the hub what changes a task's record (the monitor
 * items) over an unbounded inproc socket; a hub slower than the scheduler
 * (its records, a busy disk, a thread that gets less of the cores) would
 * let them pile up there without bound.  So the hub tells how many it took
 * in ("rec", every ZPAR_PIPE_RECORDED_EVERY), and while the scheduler is
 * more than hub_max items ahead it stops reading results: they wait in the
 * engines' sockets, engines wait for work, clients for results (and their
 * windows keep new tasks in the clients).  Clients are still read (an
 * abort is answered at once).  Reading resumes when the hub is back to
 * half of it, or when the hub has said nothing new for
 * ZPAR_LBIO_HUB_STALL_US (an item lost on the way, or a hub that is
 * stuck: the count is then not waited for; it is a bound on memory, never
 * a reason to stop). */

static void hub_release (zpar_sched_lb_io_t *io)
{
    io->hub_held = 0;
    zpar__watcher_stop (io->w_hub);
    zpar__watcher_start (io->w_engine);
    /* what came meanwhile: the socket's fd will not signal it again */
    zpar__lbio_engine_drain (io);
}

/* Held: release when the hub caught up or stopped telling. */
static void hub_look (zpar_sched_lb_io_t *io)
{
    uint64_t now = zpar__reactor_now_us (io->reactor);
    if (!io->hub_held)
        return;
    if (io->hub_items != io->held_seen) {
        io->held_seen = io->hub_items;
        io->held_us = now;
    }
    if (io->mon_items - io->hub_items <= io->hub_max / 2)
        hub_release (io);
    else if (now - io->held_us >= ZPAR_LBIO_HUB_STALL_US) {
        zpar__debug ("task scheduler: the hub said nothing for %u ms; results read again",
                     ZPAR_LBIO_HUB_STALL_US / 1000);
        io->hub_items = io->mon_items; /* not waited for any more */
        hub_release (io);
    }
}

static void hub_timer_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    (void)r;
    (void)w;
    (void)revents;
    hub_look (arg);
}

int zpar__lbio_hub_behind (zpar_sched_lb_io_t *io)
{
    if (io->hub_held)
        return 1;
    if (!io->hub_max || io->mon_items - io->hub_items <= io->hub_max)
        return 0;
    if (!io->w_hub &&
        !(io->w_hub = zpar__timer_watcher_create (io->reactor, 5, 5, hub_timer_cb, io)))
        return 0; /* no memory: not held */
    io->hub_held = 1;
    io->hub_holds++;
    io->held_us = zpar__reactor_now_us (io->reactor);
    io->held_seen = io->hub_items;
    zpar__watcher_stop (io->w_engine);
    zpar__timer_watcher_reset (io->w_hub, 5, 5);
    return 1;
}

static void on_recorded (zpar_sched_lb_io_t *io, const zpar_pipe_msg_t *pm)
{
    /* never ahead of what was sent (a count from before a restart of the
     * scheduler's counting cannot be) */
    io->hub_items = pm->task < io->mon_items ? pm->task : io->mon_items;
    hub_look (io);
}

/* The hub's commands (pure ignores them all but $TERM and "rec"). */
static const pipe_handler_f pipe_handlers[ZPAR_PIPE_KIND_MAX] = {
    [ZPAR_PIPE_UP] = on_up,           [ZPAR_PIPE_DOWN] = on_down,   [ZPAR_PIPE_DONE] = on_done,
    [ZPAR_PIPE_REQUEUE] = on_requeue, [ZPAR_PIPE_ADOPT] = on_adopt, [ZPAR_PIPE_RES] = on_res,
};

void zpar__lbio_pipe_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_sched_lb_io_t *io = arg;
    (void)w;
    (void)revents;
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        zpar_pipe_msg_t pm;
        zpar_error_t err;
        if (zpar__pipe_recv (io->pipe, &f, &pm, ZMQ_DONTWAIT, &err) < 0) {
            int e = errno;
            zpar__frames_close (&f);
            if (e != EPROTO)
                break;
            zpar__warn ("task scheduler: hub pipe: %s", err.text);
            continue;
        }
        if (pm.kind == ZPAR_PIPE_TERM) {
            zpar__frames_close (&f);
            zpar__reactor_stop (r);
            return;
        }
        if (pm.kind == ZPAR_PIPE_RECORDED)
            on_recorded (io, &pm);
        else if (!io->pure && pipe_handlers[pm.kind])
            pipe_handlers[pm.kind](io, &pm);
        zpar__frames_close (&f);
    }
    if (!io->pure)
        zpar__lbio_run_actions (io);
}
