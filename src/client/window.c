/* window.c - the client's window: how many of its load-balanced tasks a
 * client keeps in the controller at once (client.h, "window.c").
 *
 * A burst of submits beyond the window waits here, each task as the
 * packed request its future keeps anyway (f->req), linked in submission
 * order through the futures; nothing more per held task.  The pump sends
 * the oldest ones as results make room (zpar__client_pump, before it
 * sends the pending batch), so a program that waits (zpar_future_wait,
 * zpar_client_wait_all, zpar_client_poll...) keeps the engines fed
 * without ever blocking in a submit.
 *
 * Why in the client: the controller then holds at most the window of
 * each client's tasks, and the three things a bound in the controller
 * would break hold by construction: an abort never waits behind a
 * backlog (a held task is answered here; the controller's socket is never
 * backed up), a controller restart finds no task of ours in a socket (a
 * held task was never sent: it goes to the new controller as any new
 * task, and resync.c polls only what was sent), and tasks waiting on
 * absent engines cannot fill the bound (tasks with targets and no
 * dependencies are not counted; the rest depend only on tasks submitted
 * before them, which went first).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "client.h"
#include "clock.h"

/* Whether t counts in the window: not a task bound to engines without
 * dependencies (it may wait for an engine that is not there yet). */
static int counts (const zpar_proto_task_t *t)
{
    return !(t->ntargets > 0 && t->nafter == 0);
}

/* f into the line of held tasks: at its end, or at its head (front). */
static void link_held (zpar_client_t *c, zpar_future_t *f, int front)
{
    zpar_future_t **near = front ? &c->held_head : &c->held_tail;
    zpar_future_t **far = front ? &c->held_tail : &c->held_head;
    f->held = 1;
    f->held_prev = front ? NULL : *near;
    f->held_next = front ? *near : NULL;
    if (*near) {
        if (front)
            (*near)->held_prev = f;
        else
            (*near)->held_next = f;
    } else
        *far = f;
    *near = f;
    c->nheld++;
}

int zpar__client_window_hold (zpar_client_t *c, zpar_future_t *f, const zpar_proto_task_t *t)
{
    if (!c->window || !counts (t) || (c->inflight < c->window && !c->nheld))
        return 0;
    link_held (c, f, 0);
    return 1;
}

void zpar__client_window_sent (zpar_client_t *c, zpar_future_t *f, const zpar_proto_task_t *t)
{
    if (t && !counts (t))
        return;
    f->counted = 1;
    c->inflight++;
}

void zpar__client_window_done (zpar_client_t *c, zpar_future_t *f)
{
    if (!f->counted)
        return;
    f->counted = 0;
    if (c->inflight)
        c->inflight--;
}

static void unlink_held (zpar_client_t *c, zpar_future_t *f)
{
    if (f->held_prev)
        f->held_prev->held_next = f->held_next;
    else
        c->held_head = f->held_next;
    if (f->held_next)
        f->held_next->held_prev = f->held_prev;
    else
        c->held_tail = f->held_prev;
    f->held_prev = f->held_next = NULL;
    f->held = 0;
    c->nheld--;
}

/* Send f's kept request: into the pending batch (pack.c), or alone when
 * batching is off.  0 / -1. */
static int send_held (zpar_client_t *c, zpar_future_t *f)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_error_t perr;
    int rc = -1;
    if (m && f->req && zpar__msg_unpack (m, f->req, f->req_len, &perr) == 0) {
        if (c->pend)
            rc = zpar__client_pend (c, f, m);
        else
            rc = zpar__wire_send_chan (c->sock[S_TASK], c->signer, ZPAR_CHAN_TASK, m, ZMQ_DONTWAIT);
    }
    zpar__msg_destroy (m);
    return rc;
}

void zpar__client_window_release (zpar_client_t *c, int all)
{
    while (c->held_head && (all || c->inflight < c->window)) {
        zpar_future_t *f = c->held_head;
        uint64_t was = f->created_us;
        unlink_held (c, f);
        /* sent now: the pending batch's age and a restart's grace count
         * from here */
        f->created_us = zpar__mono_us ();
        if (send_held (c, f) < 0) {
            /* back at the head of the line: the next occasion */
            f->created_us = was;
            link_held (c, f, 1);
            return;
        }
        zpar__client_window_sent (c, f, NULL);
    }
}

int zpar__client_window_abort (zpar_client_t *c, zpar_future_t *f)
{
    zpar_result_t *r;
    if (!f->held)
        return 0;
    r = zpar__result_make (f->id, 0, ZPAR_STATUS_ABORTED,
                           "aborted before it was sent to the controller (it waited in the "
                           "client's window)");
    if (!r)
        return 0; /* no memory: it stays held, the controller is asked */
    unlink_held (c, f);
    zpar__client_complete (c, f, r);
    return 1;
}

void zpar__client_window_forget (zpar_client_t *c, zpar_future_t *f)
{
    zpar_msg_t *m;
    zpar_error_t perr;
    if (!f->held)
        return;
    unlink_held (c, f);
    /* after what is pending, alone: its future is gone, nothing counts it */
    (void)zpar__client_flush (c);
    m = zpar__msg_create (ZPAR_MSG_NONE);
    if (m && f->req && zpar__msg_unpack (m, f->req, f->req_len, &perr) == 0)
        (void)zpar__wire_send_chan (c->sock[S_TASK], c->signer, ZPAR_CHAN_TASK, m, ZMQ_DONTWAIT);
    zpar__msg_destroy (m);
}
