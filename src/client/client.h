/* client.h - internals shared by the client library's files.
 *
 *   connect.c  options, finding the connection file, stale-controller
 *              check, registration, sockets, destroy
 *   loop.c     the client's reactor: socket watchers, message dispatch,
 *              synchronous requests, the tick timer (controller-loss
 *              pings, polling the hub for other clients' tasks)
 *   client.c   submission, futures, waits, hub queries and control
 *   pack.c     load-balanced submits packed into batches, zpar_flush
 *   task.c     task descriptions;  result.c  results
 *
 * Everything runs in the calling thread, inside the API calls: the reactor
 * is driven with zpar__reactor_run_once (client_pump) and never runs on
 * its own.
 */
#ifndef ZPAR__CLIENT_H
#define ZPAR__CLIENT_H

#include <errno.h>
#include <stdint.h>

#include "addrpick.h"
#include "conn.h"
#include "idmap.h"
#include "msg.h"
#include "proto_batch.h"
#include "proto_iopub.h"
#include "proto_registrar.h"
#include "proto_result.h"
#include "proto_task.h"
#include "reactor.h"
#include "wire.h"
#include "zpar.h"

/* A task description: the typed request (proto_task.h) whose strings and
 * lists point into the arrays below, which the task owns. */
struct zpar_task {
    zpar_proto_task_t p;
    char **argv, **env;
    zpar_tid_t *after;
    zpar_eid_t *targets;
    char *cwd, *lib, *symbol;
    void *input;
};

/* A result: the decoded RESULT (proto_result.h), whose byte fields point
 * into m; or, made up by the library (m NULL), its fields alone. */
struct zpar_result {
    zpar_msg_t *m;
    zpar_proto_result_t p;
    char *own_error; /* p.error of a made-up result */
};

/* Sockets of a client, in the order the reactor polls them. */
enum { S_REG, S_MUX, S_TASK, S_CTL, S_IOPUB, S_NOTIFY, S_COUNT };

/* The channel the messages of socket which are signed for (both ways). */
static inline zpar_chan_t zpar__client_chan (int which)
{
    static const zpar_chan_t chan[S_COUNT] = {
        [S_REG] = ZPAR_CHAN_REGISTRAR, [S_MUX] = ZPAR_CHAN_MUX,     [S_TASK] = ZPAR_CHAN_TASK,
        [S_CTL] = ZPAR_CHAN_CONTROL,   [S_IOPUB] = ZPAR_CHAN_IOPUB, [S_NOTIFY] = ZPAR_CHAN_NOTIFY,
    };
    return which >= 0 && which < S_COUNT ? chan[which] : ZPAR_CHAN_ANY;
}

struct zpar_future {
    zpar_client_t *c; /* NULL once the client is destroyed */
    uint64_t id;
    uint32_t engine; /* direct target, 0 if load-balanced */
    zpar_result_t *result;
    /* a task of another client (zpar_client_future_for): polled at the hub */
    int remote;
    uint64_t created_us;   /* monotonic */
    uint64_t next_poll_us; /* monotonic; when to ask the hub again */
    uint64_t backoff_us;
    uint64_t query;          /* correlation id of the question in flight, 0 if none */
    uint64_t query_sent_us;  /* when it was sent (monotonic): asked again when lost */
    zpar_query_kind_t qkind; /* its kind (RESULT, RESUBMIT) */
    int err_no;              /* final error (ENOENT: unknown id), 0 if none */
    char err_text[ZPAR_ERROR_TEXT_MAX];
    /* a task of this client: its packed request (header + body), kept
     * until the result arrives to submit it again, with the same id,
     * should a restarted controller not know it (resync.c) */
    uint8_t *req;
    size_t req_len;
    int resync;    /* polled at the hub since a controller restart */
    int resubmits; /* times submitted again */
    int synced;    /* the hub confirmed it durable (zpar_client_sync) */
    /* a direct task answered "engine not connected": held here while the
     * controller may have restarted (its engines register again) */
    zpar_result_t *doubt;
    uint64_t doubt_until_us; /* decide then (monotonic) */
    int no_poll;             /* sent again after a doubt: its result comes, not the hub's */
    int pending;             /* its request waits in c->pend, not sent yet (pack.c) */
    /* the client's window (window.c): held here, not sent yet, because the
     * window was full; or counted in the window (sent, not done) */
    int held;
    int counted;
    zpar_future_t *held_prev, *held_next;
    /* in the client's done queue (many.c), between done_prev and done_next */
    int done_queued;
    zpar_future_t *done_prev, *done_next;
};

/* A submit sends the pending batch once its oldest task is this old
 * (pack.c): the bound for a program that submits slowly without polling.
 * $ZPAR_CLIENT_BATCH_AGE_US changes it (0: no such bound). */
#define ZPAR_CLIENT_BATCH_AGE_US 1000u

struct zpar_client {
    void *ctx;
    void *sock[S_COUNT];
    zpar_reactor_t *r;
    zpar_watcher_t *w[S_COUNT];
    zpar_watcher_t *tick; /* pings and remote-future polls, while waiting */
    uint64_t tick_due_us; /* when the tick is armed for (monotonic) */
    zpar_signer_t *signer;
    zpar_conninfo_t ci;
    zpar_pick_t pick; /* which of the controller's addresses (addrpick.h) */
    char path[4096];
    uint32_t num;
    uint64_t seq;
    zpar_idmap_t *futures; /* id -> future (outstanding and done, until destroyed) */
    zpar_idmap_t *queries; /* correlation id -> remote future asking the hub */
    size_t outstanding;
    size_t nremote;    /* remote futures not done */
    zpar_msg_t *in;    /* the message being received */
    zpar_msg_t *spare; /* a batch being split (its items go through in) */
    zpar_msg_t *out;   /* scratch for submissions */
    int depth;         /* > 0 while the reactor dispatches (callbacks run) */
    int handled;       /* messages handled by the current pump */
    int interrupted;   /* the current pump was interrupted by a signal */
    zpar_output_f out_cb;
    void *out_arg;
    int64_t out_offset; /* the piece out_cb is given: its offset, or -1 */
    zpar_engine_event_f ev_cb;
    void *ev_arg;
    /* the reply a synchronous call is waiting for */
    int want_type;
    uint64_t want_task;
    int got_reply;
    zpar_msg_t *got;
    int no_linger; /* destroy drops queued messages (a failed connect) */
    /* options */
    double connect_timeout;
    double ping_period; /* <= 0: no controller-loss detection */
    /* controller liveness (monotonic us) */
    int waiting;           /* > 0 inside a waiting call: the tick timer runs */
    uint64_t heard_us;     /* last message from the controller */
    uint64_t hub_heard_us; /* last message from the hub (registrar socket) */
    uint64_t ping_id;      /* correlation id of the ping in flight, 0 if none */
    uint64_t ping_sent_us;
    uint64_t wait_end_us; /* when the last wait ended (monotonic), 0: none yet */
    int ping_failures;
    int lost;                 /* set by the tick: the controller stopped answering */
    uint64_t lost_since_us;   /* when it was found lost (monotonic), 0: not lost */
    double reconnect_timeout; /* seconds a lost controller is waited for; 0: not at all */
    /* controller restarts (resync.c) */
    uint64_t hub_session;        /* the hub's session: its replies carry it */
    uint64_t resync_us;          /* when the last restart was seen (monotonic), 0: never */
    uint64_t rereg_us;           /* a registration with the new hub in flight since, 0: none */
    unsigned reconnects;         /* restarted controllers registered with again */
    size_t ndoubt;               /* futures holding a doubted result */
    int mine_only;               /* output subscription: this client's tasks only */
    char addr[5][ZPAR_ADDR_MAX]; /* the queue addresses the hub gave us */
    /* load-balanced submits not sent yet (pack.c); pend NULL: batching
     * off, every submit sent at once */
    zpar_batch_t *pend;
    zpar_future_t *pendf[ZPAR_BATCH_MAX]; /* their futures, in order */
    size_t npend;
    uint64_t pend_since_us; /* when the oldest was submitted (monotonic) */
    uint64_t pend_age_us;   /* a submit sends them once the oldest is this old; 0: never */
    uint64_t items_dropped; /* items of received batches dropped (malformed, wrong type) */
    /* the window (window.c): load-balanced tasks sent and not done, at
     * most c->window (0: no bound); the others wait here, in order.
     * c->window = max(window_base, window_per_engine x the live engines
     * known in c->engines) */
    size_t window;
    size_t window_base;
    size_t window_per_engine;
    zpar_idmap_t *engines; /* engine id -> (void *)1: live engines known */
    size_t inflight;
    size_t nheld;
    zpar_future_t *held_head, *held_tail;
    /* done.c: the done callback; the wake-up eventfd (-1: none, the
     * client was not made with ZPAR_CLIENT_WAKEABLE) */
    zpar_done_f done_cb;
    void *done_arg;
    int wake_fd;
    /* many.c: the done queue (zpar_client_collect_done), oldest first */
    int collect_done;
    zpar_future_t *done_head, *done_tail;
};

/* ---- loop.c */

/* Create the reactor's watchers for every open socket and the tick timer.
 * Every socket is watched except those that can only hold what nobody
 * waits for: the control socket (replies to zpar__client_call on it, which
 * watches it for the call's length), IOPub while no output callback
 * subscribes (zpar_client_on_output) and MUX until the client first sends
 * a direct task (it carries only their results; watched from then on).
 * An idle socket in the poll set costs every wait of the client two system
 * calls per wake-up (zmq_poll asks each socket for ZMQ_EVENTS).
 * 0 / -1 ENOMEM. */
int zpar__client_loop_init (zpar_client_t *c);

/* Watch socket which (on) or leave what arrives on it in the socket (off).
 * Off drops what the socket already holds when drop is set. */
void zpar__client_watch (zpar_client_t *c, int which, int on, int drop);

/* A fresh correlation id / task sequence number. */
uint64_t zpar__client_next_id (zpar_client_t *c);

/* Run the reactor once, waiting at most timeout_ms (-1 forever) for the
 * first event.  Returns the number of messages handled, -1 with errno
 * (EDEADLK inside a callback); c->interrupted tells whether a signal
 * interrupted the wait. */
int zpar__client_pump (zpar_client_t *c, long timeout_ms);

/* Waiting calls bracket their loop with begin/end: between them the tick
 * timer pings a silent controller and polls remote futures.
 * zpar__client_wait_check returns -1 with EHOSTDOWN (err set) once the
 * controller is lost, and forgets the loss (the next wait tries again). */
int zpar__client_wait_begin (zpar_client_t *c, zpar_error_t *err);
int zpar__client_wait_check (zpar_client_t *c, zpar_error_t *err);
/* A wait whose own time ran out: -1 EHOSTDOWN (err set) if the controller
 * is lost at that moment (the wait reports that, not a timeout), else 0. */
int zpar__client_wait_lost (zpar_client_t *c, zpar_error_t *err);
/* One step of a wait: pump for at most timeout_ms, then check for a lost
 * controller.  The number of messages handled, or -1 with err (polling
 * failed, or EHOSTDOWN: the controller is lost). */
int zpar__client_wait_step (zpar_client_t *c, long timeout_ms, zpar_error_t *err);
void zpar__client_wait_end (zpar_client_t *c);

/* Send req on socket which, then wait up to timeout seconds for a reply of
 * type rtype with req's task id.  The reply (caller frees), or NULL with
 * EHOSTUNREACH (no answer), EDEADLK, or a send error. */
zpar_msg_t *zpar__client_call (zpar_client_t *c, int which, zpar_msg_t *req, int rtype,
                               double timeout, zpar_error_t *err);

/* Send a QUERY (kind, task id) with correlation id corr without waiting;
 * the reply is routed to the remote future registered under corr in
 * c->queries, or to the ping.  0 / -1. */
int zpar__client_query_send (zpar_client_t *c, zpar_query_kind_t kind, uint64_t task,
                             uint64_t corr);

/* Ask the hub how it is (a ping) unless a question is in flight. */
void zpar__client_ping (zpar_client_t *c);

/* Arm the tick for due (monotonic us) unless it is due earlier. */
void zpar__client_tick_at (zpar_client_t *c, uint64_t due);

/* ---- done.c */

/* Complete f with r (takes r; a second result is dropped), then call the
 * done callback. */
void zpar__client_complete (zpar_client_t *c, zpar_future_t *f, zpar_result_t *r);

/* Create the wake-up eventfd (c->wake_fd) and watch it in the client's
 * reactor.  0 / -1 with errno (c->wake_fd, if made, is closed with c). */
int zpar__client_wake_init (zpar_client_t *c);

/* Milliseconds to wait in a loop with the given deadline (monotonic us,
 * 0 = none): -1 / 0.. */
long zpar__client_left_ms (uint64_t deadline_us);

/* ---- pack.c */

/* Add f's request m (encoded, header and body) to the pending batch,
 * sending it first when full and after when its oldest is old enough.
 * 0 / -1 (the pending batch could not be sent to make room: f is not
 * added). */
int zpar__client_pend (zpar_client_t *c, zpar_future_t *f, const zpar_msg_t *m);

/* Send the pending batch, if any.  0 / -1 with errno (the tasks stay
 * pending and go at the next occasion). */
int zpar__client_flush (zpar_client_t *c);

/* f is destroyed: send its pending task first (a task once submitted
 * runs, whatever becomes of its future), or forget it if that fails. */
void zpar__client_pend_forget (zpar_client_t *c, zpar_future_t *f);

/* ---- window.c */

/* The window: a load-balanced submit goes to the controller only while
 * fewer than c->window of this client's load-balanced tasks are there
 * unfinished; the others wait in the client, in submission order, and go
 * as results come back (the next pump).  So a burst waits in the client,
 * not in the controller's memory; an abort of a task held here is
 * answered here; a task held here was never sent, so a controller restart
 * has nothing of it to lose or to run twice.  Tasks bound to engines
 * (targets) without dependencies are neither counted nor held (they may
 * wait long for an engine that is not there yet).
 *
 * The bound scales with the cluster: max(base, K x engines), base =
 * $ZPAR_CLIENT_WINDOW or 4,096 (0: no bound at all), K = 2 x the
 * per-engine prefetch ($ZPAR_HWM if set here, else the scheduler's default
 * 16), engines = the live engines this client knows of: those that
 * answered one of its load-balanced tasks or registered while it was
 * connected, less those the controller said died or unregistered.  A
 * small cluster keeps the base bound on a burst; a large one gets enough
 * tasks to fill every engine's prefetch twice over. */
#define ZPAR_CLIENT_WINDOW_DEFAULT  4096u
#define ZPAR_CLIENT_WINDOW_PREFETCH 16u /* ZPAR_SCHED_LB_DEFAULT_HWM */

/* The window for base, k per engine, and engines known: max(base, k x
 * engines), saturating at SIZE_MAX; 0 if base is 0 (no bound). */
static inline size_t zpar__client_window_size (size_t base, size_t k, size_t engines)
{
    if (!base)
        return 0;
    if (k && engines > SIZE_MAX / k)
        return SIZE_MAX;
    return k * engines > base ? k * engines : base;
}

/* Engine e is live (it answered one of our tasks, or registered: live set)
 * or gone (died, unregistered: live clear); the window follows.  No memory
 * for it: the window stays as it was. */
void zpar__client_window_engine (zpar_client_t *c, uint32_t e, int live);

/* Whether a load-balanced task t must wait in the client (the window is
 * full, or others wait already); if so f is held (appended, f->held). */
int zpar__client_window_hold (zpar_client_t *c, zpar_future_t *f, const zpar_proto_task_t *t);

/* f's task went to the controller: counted (if t is counted). */
void zpar__client_window_sent (zpar_client_t *c, zpar_future_t *f, const zpar_proto_task_t *t);

/* f is done (result, failure) or destroyed: no longer counted. */
void zpar__client_window_done (zpar_client_t *c, zpar_future_t *f);

/* Send held tasks while the window has room (all of them with all set:
 * zpar_client_sync, zpar_client_destroy).  A task that cannot be sent
 * stays held, first in line. */
void zpar__client_window_release (zpar_client_t *c, int all);

/* f is held: answered here as aborted, never sent.  1 if it was held
 * (f completed), 0 if not. */
int zpar__client_window_abort (zpar_client_t *c, zpar_future_t *f);

/* f is being destroyed while held: its task is sent now (a task once
 * submitted runs, whatever becomes of its future), not counted. */
void zpar__client_window_forget (zpar_client_t *c, zpar_future_t *f);

/* ---- resync.c */

/* A message from the hub (registrar socket) carrying session: a session
 * other than c->hub_session means the controller was restarted: register
 * with it again and poll every unfinished future at the hub.  Runs inside
 * dispatch (sends, never waits). */
void zpar__client_hub_session (zpar_client_t *c, uint64_t session);

/* The registration reply to zpar__client_hub_session's REGISTER_CLIENT
 * (in c->in): take the new client number and addresses. */
void zpar__client_on_reregistered (zpar_client_t *c, zpar_msg_t *m);

/* The tick's part: send the registration again when unanswered.  Returns
 * when to look again (monotonic us, UINT64_MAX: nothing to do). */
uint64_t zpar__client_resync_tick (zpar_client_t *c, uint64_t now);

/* The hub's answer about a future polled since a restart (f->resync):
 * done → completed from the record; pending/running or recovering →
 * asked again later; unknown (past the grace) → submitted again
 * (RESUBMIT, same id); other errors fail the future.  qr: decoded. */
void zpar__client_resync_reply (zpar_client_t *c, zpar_future_t *f,
                                const zpar_proto_query_reply_t *qr);

/* 1 if r says its engine was not connected (the direct relay's answer). */
static inline int zpar__result_unreachable (const zpar_result_t *r)
{
    return r && r->p.status == ZPAR_STATUS_ERROR && r->p.errnum == EHOSTUNREACH;
}

/* A result for f, a direct task, saying its engine is not connected
 * (takes r): 1 if it is held in doubt (the controller may just have
 * restarted: the task is sent again once its engine is back; r is
 * destroyed when f is in doubt already), 0 if it stands (the caller
 * completes f with it). */
int zpar__client_doubt (zpar_client_t *c, zpar_future_t *f, zpar_result_t *r);

/* The tick's part for doubted results: send the task again (a controller
 * restart was seen since) or let the result stand.  Returns when to look
 * again (monotonic us, UINT64_MAX: nothing to do). */
uint64_t zpar__client_doubt_tick (zpar_client_t *c, uint64_t now);

/* Send f's request again (RESUBMIT) with correlation corr.  0 / -1. */
int zpar__client_resubmit_send (zpar_client_t *c, zpar_future_t *f, uint64_t corr);

/* Ask again in a while (backoff); the tick is armed for it. */
void zpar__client_remote_again (zpar_client_t *c, zpar_future_t *f, uint64_t now);

/* Record a final error for a polled future (done.c), then call the done
 * callback. */
void zpar__client_remote_fail (zpar_client_t *c, zpar_future_t *f, int e, const char *text);

/* The done queue (many.c): f appended if the client collects (called as
 * the done callback is); f taken out if it is queued (its destroy). */
void zpar__client_done_queue (zpar_client_t *c, zpar_future_t *f);
void zpar__client_done_forget (zpar_client_t *c, zpar_future_t *f);

/* Connect socket slot to addr instead of its old address.  0 / -1. */
int zpar__client_reconnect_socket (zpar_client_t *c, int slot, const char *addr, const char *old);

/* While the controller is lost: read the connection file again; when a
 * controller restarted elsewhere (same key, another registrar address)
 * wrote it, connect the registrar socket there. */
void zpar__client_conn_recheck (zpar_client_t *c);

/* ---- result.c */

/* Decode a RESULT message into a result (takes ownership of m; a
 * malformed one gives a result with status ERROR saying so).  NULL ENOMEM. */
zpar_result_t *zpar__result_from_msg (zpar_msg_t *m);

/* A result made up by the library (engine died, task pending...): no
 * message behind it.  NULL ENOMEM. */
zpar_result_t *zpar__result_make (uint64_t id, uint32_t engine, zpar_status_t st,
                                  const char *error);

#endif
