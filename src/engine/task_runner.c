/* task_runner.c - the engine's task queue: tasks in, one at a time through
 * the runner, results out (through task_runner_out.c), control requests
 * answered, held and dropped tasks.  See task_runner.h and doc/engine.md. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "log.h"
#include "msg.h"
#include "proto_control.h"
#include "proto_iopub.h"
#include "proto_result.h"
#include "proto_task.h"
#include "runner.h"
#include "task_runner_int.h"

static const char *qname[ZPAR_ENGINE_NQ] = {"mux", "task", "control"};

/* A message to answer req with: same routing envelope. */
static zpar_msg_t *answer (zpar_task_runner_t *tr, const zpar_msg_t *req, zpar_msg_type_t type)
{
    zpar_msg_t *m = zpar__tr_msg_get (tr, type);
    if (m && zpar__msg_set_envelope (m, req->nenv, req->env) < 0) {
        zpar__tr_msg_put (tr, m);
        return NULL;
    }
    return m;
}

/* ------------------------------------------------------------- results */

/* The IOPub header of what concerns task t. */
static zpar_proto_hdr_t iopub_hdr (const zpar_task_runner_t *tr, const zpar_proto_task_t *t)
{
    zpar_proto_hdr_t h = {.task = t->h.task, .engine = zpar__eid (tr->id), .client = t->h.client};
    return h;
}

static void publish_status (zpar_task_runner_t *tr, const zpar_proto_task_t *t,
                            zpar_task_event_t event, zpar_status_t status)
{
    zpar_proto_task_status_t st = {.h = iopub_hdr (tr, t), .event = event, .status = status};
    zpar_msg_t *m;
    if (!tr->ops.publish || !(m = zpar__tr_msg_get (tr, ZPAR_MSG_TASK_STATUS)))
        return;
    if (zpar__proto_task_status_encode (m, &st) == 0)
        tr->ops.publish (tr->ops.arg, m);
    zpar__tr_msg_put (tr, m);
}

/* Streamed output of the running task -> IOPub. */
static void on_output (void *arg, int stream, const void *data, size_t len)
{
    zpar_task_runner_t *tr = arg;
    zpar_proto_stream_t st;
    zpar_msg_t *m;
    uint64_t *off = &tr->streamed[stream == 2], at = *off;

    *off += len; /* a piece not published is a gap the subscribers see */
    if (!tr->ops.publish || !tr->cur || !(m = zpar__tr_msg_get (tr, ZPAR_MSG_STREAM)))
        return;
    memset (&st, 0, sizeof (st));
    st.h = iopub_hdr (tr, &tr->cur->t);
    st.stream = stream == 2 ? ZPAR_STREAM_STDERR : ZPAR_STREAM_STDOUT;
    st.data = data;
    st.len = len;
    st.offset = at;
    st.has_offset = 1;
    if (zpar__proto_stream_encode (m, &st) == 0)
        tr->ops.publish (tr->ops.arg, m);
    zpar__tr_msg_put (tr, m);
}

static uint64_t task_attempt (const zpar_proto_task_t *t)
{
    uint64_t a = t->attempt;
    if (!a)
        a = t->h.flags & 0xffu;
    return a ? a : 1;
}

/* The fields every result of task t has. */
static void result_init (const zpar_task_runner_t *tr, const zpar_proto_task_t *t,
                         zpar_status_t status, zpar_proto_result_t *res)
{
    memset (res, 0, sizeof (*res));
    res->h.task = t->h.task;
    res->h.engine = zpar__eid (tr->id);
    res->h.client = t->h.client;
    res->h.flags = t->h.flags;
    res->status = status;
    res->exit_code = -1;
    res->host = tr->host;
    res->attempt = task_attempt (t);
}

/* Encode res as the answer to task entry t and send it.  Takes nothing. */
static void send_result_of (zpar_task_runner_t *tr, const qent_t *t, const zpar_proto_result_t *res)
{
    zpar_msg_t *m = answer (tr, t->m, ZPAR_MSG_RESULT);
    if (!m || zpar__proto_result_encode (m, res) < 0) {
        zpar__err ("result of task %" PRIu64 " lost: %s", t->t.h.task.v, strerror (errno));
        zpar__tr_msg_put (tr, m);
        return;
    }
    zpar__tr_send_result (tr, t->q, m);
}

/* The keeper fenced the running task (no word from the controller for the
 * fence limit: doc/engine.md, "Fencing"): its result says the engine died,
 * so that the controller runs it again if it had not already; it is not
 * held any more (not in HELD). */
static void send_fenced (zpar_task_runner_t *tr, qent_t *cur, const zpar_run_result_t *r)
{
    zpar_proto_result_t res;
    char msg[160];
    uint64_t task = cur->t.h.task.v;

    snprintf (msg, sizeof (msg),
              "fenced: no word from the controller for %u ms; the controller "
              "runs it again",
              zpar__keeper_limit_ms (tr->keeper));
    zpar__warn ("task %u.%u %s", zpar__tid_client (cur->t.h.task).v, zpar__tid_seq (cur->t.h.task),
                msg);
    result_init (tr, &cur->t, ZPAR_STATUS_ENGINE_DIED, &res);
    res.ran = 1;
    res.signal = (uint64_t)r->signal;
    res.wall_us = r->wall_us;
    res.started_us = r->started_us;
    res.finished_us = r->finished_us;
    res.pid = (uint64_t)r->pid;
    res.error = msg;
    if (!tr->cur_inline)
        publish_status (tr, &cur->t, ZPAR_TASK_EVENT_FINISHED, ZPAR_STATUS_ENGINE_DIED);
    {
        /* alone, now: if it cannot go, the outbox marks it fenced */
        int hold = tr->hold;
        tr->hold = 0;
        send_result_of (tr, cur, &res);
        tr->hold = hold;
    }
    if (tr->outbox.tail && tr->outbox.tail->m->hdr.task == task)
        tr->outbox.tail->fenced = 1;
    zpar__runner_clear (tr->runner);
    zpar__tr_qent_free (tr, cur);
    tr->cur = NULL;
    tr->fenced++;
}

/* The running task finished: send its result, forget it. */
static void complete (zpar_task_runner_t *tr)
{
    const zpar_run_result_t *r = zpar__runner_result (tr->runner);
    qent_t *cur = tr->cur;
    zpar_proto_result_t res;

    if (!cur || !r) {
        zpar__runner_clear (tr->runner);
        return;
    }
    if (tr->cur_dropped) {
        zpar__info ("task %u.%u dropped: its result (%s) is not sent",
                    zpar__tid_client (cur->t.h.task).v, zpar__tid_seq (cur->t.h.task),
                    zpar_status_name (r->status));
        zpar__runner_clear (tr->runner);
        zpar__tr_qent_free (tr, cur);
        tr->cur = NULL;
        tr->cur_dropped = 0;
        return;
    }
    /* the keeper's note for this group is consumed whatever the status (a
     * task that ended by itself just before the fence keeps its result) */
    if (r->pid > 0 && zpar__keeper_fenced (tr->keeper, r->pid) &&
        r->status == ZPAR_STATUS_SIGNALED) {
        send_fenced (tr, cur, r);
        return;
    }
    result_init (tr, &cur->t, r->status, &res);
    res.exit_code = r->exit_code;
    res.ran = 1;
    res.signal = (uint64_t)r->signal;
    res.wall_us = r->wall_us;
    res.utime_us = r->utime_us;
    res.stime_us = r->stime_us;
    res.maxrss_kb = r->maxrss_kb;
    res.started_us = r->started_us;
    res.finished_us = r->finished_us;
    res.pid = (uint64_t)(r->pid > 0 ? r->pid : getpid ());
    res.stdout_buf = r->out.data;
    res.stdout_len = r->out.len;
    res.stderr_buf = r->err.data;
    res.stderr_len = r->err.len;
    res.output = r->output.data;
    res.output_len = r->output.len;
    res.truncated = (unsigned)r->truncated;
    res.error = r->error[0] ? r->error : NULL;
    if (r->status == ZPAR_STATUS_ERROR)
        zpar__info ("task %u.%u: %s", zpar__tid_client (cur->t.h.task).v,
                    zpar__tid_seq (cur->t.h.task), r->error);
    if (!tr->cur_inline)
        publish_status (tr, &cur->t, ZPAR_TASK_EVENT_FINISHED, r->status);
    send_result_of (tr, cur, &res);
    zpar__runner_clear (tr->runner);
    zpar__tr_qent_free (tr, cur);
    tr->cur = NULL;
    tr->done++;
}

/* --------------------------------------------------------------- tasks */

/* Start tr->cur.  1 when it finished at once. */
static int start_one (zpar_task_runner_t *tr)
{
    const zpar_proto_task_t *t = &tr->cur->t;
    zpar_run_spec_t s;
    int rc;

    memset (&s, 0, sizeof (s));
    s.kind = t->kind;
    s.timeout_ms = t->timeout_ms;
    s.stop_signal = (int)t->stop_signal;
    s.stop_grace_ms = t->stop_grace_ms;
    s.output_cap = t->output_cap > OUTPUT_CAP_MAX ? OUTPUT_CAP_MAX : (size_t)t->output_cap;
    s.task_id = t->h.task.v;
    /* the runner only reads the strings (the spec's types are exec's) */
    if (t->kind == ZPAR_TASK_COMMAND)
        s.argv = (char *const *)t->argv;
    else {
        s.lib = t->lib;
        s.symbol = t->symbol;
        s.input = t->input;
        s.input_len = t->input_len;
        s.inline_fn = t->inline_fn;
    }
    if (t->envc)
        s.env = (char *const *)t->env;
    s.cwd = t->cwd;
    /* resources: the engines reserved for it (engine_res.h), MPI ranks
     * (mpi_launch.h) */
    s.slots = t->slots;
    s.nslots = t->nslots;
    s.memory = t->memory;
    s.ranks = t->ranks > UINT_MAX ? UINT_MAX : (unsigned)t->ranks;
    tr->cur_inline = t->kind == ZPAR_TASK_FUNCTION && t->inline_fn;
    tr->cur_dropped = 0;
    if (!tr->cur_inline)
        publish_status (tr, t, ZPAR_TASK_EVENT_STARTED, 0);
    rc = zpar__runner_start (tr->runner, &s);
    if (rc < 0) {
        /* cannot happen (we only start when idle) */
        zpar__err ("runner: %s", strerror (errno));
        return 0;
    }
    return rc == 1;
}

/* The keeper fenced (no word from the controller for the fence limit):
 * the controller may have given our tasks to other engines meanwhile, so
 * none starts until the engine has registered again and the fence ended
 * (doc/engine.md, "Fencing").  A command or isolated task asks the keeper
 * (one non-blocking read); an inline one, which the keeper cannot fence,
 * only looks at what was read already (the hot path stays free of system
 * calls). */
static int fence_holds (zpar_task_runner_t *tr)
{
    const zpar_proto_task_t *t = &tr->queue.head->t;
    int held;
    if (!tr->keeper)
        return 0;
    if (t->kind == ZPAR_TASK_FUNCTION && t->inline_fn)
        held = zpar__keeper_fence_flag (tr->keeper);
    else
        held = zpar__keeper_fence_seen (tr->keeper);
    if (held && tr->ops.fenced)
        tr->ops.fenced (tr->ops.arg);
    return held;
}

void zpar__task_runner_kick (zpar_task_runner_t *tr)
{
    if (tr && tr->queue.head && !tr->cur && !tr->stopped)
        zpar__timer_watcher_reset (tr->w_kick, 0, 0);
}

/* Start the queued tasks while they finish at once (inline ones).  Their
 * results wait for the end of the turn (zpar__tr_release), or go when the
 * first of them has waited ZPAR_TR_READY_BUDGET_US (a long stream of
 * inline tasks still reports). */
static void start_next (zpar_task_runner_t *tr)
{
    while (!tr->cur && tr->queue.head && !tr->stopped && !fence_holds (tr)) {
        tr->cur = zpar__tr_ql_pop (&tr->queue);
        tr->streamed[0] = tr->streamed[1] = 0;
        if (start_one (tr))
            complete (tr);
        if (tr->nready && zpar__mono_us () - tr->ready_since >= ZPAR_TR_READY_BUDGET_US)
            zpar__tr_flush_ready (tr);
    }
}

static void on_kick (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_task_runner_t *tr = arg;
    (void)r;
    (void)w;
    (void)revents;
    zpar__tr_hold (tr);
    start_next (tr);
    zpar__tr_release (tr);
}

static void on_done (zpar_runner_t *runner, void *arg)
{
    zpar_task_runner_t *tr = arg;
    (void)runner;
    zpar__tr_hold (tr);
    complete (tr);
    start_next (tr);
    zpar__tr_release (tr);
}

/* ------------------------------------------------------------ handlers */

/* Queue t after the tasks of its priority or higher (FIFO within a
 * priority): with several tasks prefetched, a higher-priority one that
 * arrives later does not wait behind them.  O(1) when it goes last (equal
 * priorities, the common case). */
static void queue_by_priority (zpar_task_runner_t *tr, qent_t *t)
{
    qent_t **pp = &tr->queue.head;
    if (!tr->queue.tail || tr->queue.tail->t.priority >= t->t.priority) {
        zpar__tr_ql_push (&tr->queue, t);
        return;
    }
    while (*pp && (*pp)->t.priority >= t->t.priority)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    tr->queue.len++;
}

static int on_task (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t **mp)
{
    zpar_error_t err;
    qent_t *t = calloc (1, sizeof (*t));

    if (!t) {
        zpar__err ("out of memory: task %" PRIu64 " dropped", (*mp)->hdr.task);
        return -1;
    }
    t->m = *mp;
    t->q = q;
    if (zpar__proto_task_decode (t->m, &t->t, &err) < 0) {
        /* answer it: the client would wait for ever */
        zpar_proto_result_t res;
        zpar__warn ("%s: malformed task %" PRIu64 ": %s", qname[q], t->m->hdr.task, err.text);
        zpar__proto_result_error (&res, zpar__tid (t->m->hdr.task), zpar__eid (tr->id),
                                  zpar__cid (t->m->hdr.client), ZPAR_STATUS_ERROR, err.text);
        res.h.flags = t->m->hdr.flags;
        res.host = tr->host;
        send_result_of (tr, t, &res);
        free (t);
        errno = EPROTO;
        return -1;
    }
    *mp = NULL;
    queue_by_priority (tr, t);
    if (!tr->cur && !tr->stopped)
        zpar__timer_watcher_reset (tr->w_kick, 0, 0);
    return 0;
}

/* Remove a queued task and answer it ABORTED.  1 if it was queued. */
static uint64_t abort_queued (zpar_task_runner_t *tr, zpar_tid_t task)
{
    qent_t **pp = &tr->queue.head, *prev = NULL;
    while (*pp) {
        qent_t *t = *pp;
        if (zpar__tid_eq (t->t.h.task, task)) {
            zpar_proto_result_t res;
            *pp = t->next;
            if (tr->queue.tail == t)
                tr->queue.tail = prev;
            tr->queue.len--;
            result_init (tr, &t->t, ZPAR_STATUS_ABORTED, &res);
            res.error = "aborted before it ran";
            send_result_of (tr, t, &res);
            zpar__tr_qent_free (tr, t);
            return 1;
        }
        prev = t;
        pp = &t->next;
    }
    return 0;
}

/* CONTROL_REPLY with COUNT on queue q. */
static void reply (zpar_task_runner_t *tr, zpar_engine_queue_t q, const zpar_msg_t *req,
                   const zpar_proto_control_t *c, uint64_t count)
{
    zpar_proto_control_reply_t rep = {
        .h = {.task = c->h.task, .engine = zpar__eid (tr->id), .client = c->h.client},
        .count = count,
    };
    zpar_msg_t *m = answer (tr, req, ZPAR_MSG_CONTROL_REPLY);
    if (!m)
        return;
    if (zpar__proto_control_reply_encode (m, &rep) < 0 || tr->ops.send (tr->ops.arg, q, m) < 0)
        zpar__warn ("%s reply not sent: %s", qname[q], strerror (errno));
    zpar__tr_msg_put (tr, m);
}

/* ABORT on the control queue: take a queued task out.  A running task is
 * not touched (COUNT 0: use interrupt). */
static int on_abort (zpar_task_runner_t *tr, zpar_engine_queue_t q, const zpar_msg_t *m,
                     const zpar_proto_control_t *c)
{
    reply (tr, q, m, c, abort_queued (tr, c->h.task));
    return 0;
}

/* The task scheduler asks for a task back (work stealing): give it back
 * (an aborted result on the task queue) if it has not started, else say so
 * with a control reply on the same queue. */
static int on_steal (zpar_task_runner_t *tr, zpar_engine_queue_t q, const zpar_msg_t *m,
                     const zpar_proto_control_t *c)
{
    if (!abort_queued (tr, c->h.task))
        reply (tr, q, m, c, 0);
    return 0;
}

/* INTERRUPT: of the running task, or of the one it names (stopped as its
 * timeout would stop it).  On the task queue, from the task scheduler
 * (an engine of the task's set died): a task still queued is taken out
 * too (answered "aborted"). */
static int on_interrupt (zpar_task_runner_t *tr, zpar_engine_queue_t q, const zpar_msg_t *m,
                         const zpar_proto_control_t *c)
{
    int did;
    if (q == ZPAR_ENGINE_Q_TASK && !c->only_task) {
        zpar__warn ("task queue: INTERRUPT naming no task dropped");
        errno = EPROTO;
        return -1;
    }
    did = q == ZPAR_ENGINE_Q_TASK && abort_queued (tr, zpar__tid (c->only_task));
    did =
        did || (c->only_task ? tr->cur && !tr->cur_inline && tr->cur->t.h.task.v == c->only_task &&
                                   zpar__runner_stop (tr->runner, "stopped on request") == 0
                             : zpar__runner_interrupt (tr->runner, INTERRUPT_GRACE_MS) == 0);
    if (did)
        zpar__info (c->only_task ? "stopping the running task" : "interrupting the running task");
    reply (tr, q, m, c, did ? 1 : 0);
    return 0;
}

static int on_shutdown (zpar_task_runner_t *tr, zpar_engine_queue_t q, const zpar_msg_t *m,
                        const zpar_proto_control_t *c)
{
    zpar__info ("shutdown requested");
    reply (tr, q, m, c, 1);
    if (tr->ops.shutdown)
        tr->ops.shutdown (tr->ops.arg);
    return 0;
}

typedef int (*control_f) (zpar_task_runner_t *tr, zpar_engine_queue_t q, const zpar_msg_t *m,
                          const zpar_proto_control_t *c);

/* What each queue accepts: tasks (on_task), or control requests (a
 * control_f, called with the decoded request). */
static const struct {
    zpar_engine_queue_t q;
    zpar_msg_type_t type;
    control_f fn; /* NULL: a task */
} handlers[] = {
    {ZPAR_ENGINE_Q_MUX, ZPAR_MSG_TASK, NULL},
    {ZPAR_ENGINE_Q_TASK, ZPAR_MSG_TASK, NULL},
    {ZPAR_ENGINE_Q_TASK, ZPAR_MSG_ABORT, on_steal},
    {ZPAR_ENGINE_Q_TASK, ZPAR_MSG_INTERRUPT, on_interrupt},
    {ZPAR_ENGINE_Q_CONTROL, ZPAR_MSG_ABORT, on_abort},
    {ZPAR_ENGINE_Q_CONTROL, ZPAR_MSG_INTERRUPT, on_interrupt},
    {ZPAR_ENGINE_Q_CONTROL, ZPAR_MSG_SHUTDOWN, on_shutdown},
};

int zpar__task_runner_recv (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t **mp)
{
    zpar_proto_control_t c;
    zpar_error_t err;

    if (!tr || !mp || !*mp || (unsigned)q >= ZPAR_ENGINE_NQ) {
        errno = EINVAL;
        return -1;
    }
    /* every request names the engine it is for: a request signed for
     * another engine is not ours, wherever it came from.  Only the task
     * queue of the "pure" scheduler, which forwards the client's request
     * as it is to whichever engine is next, names none (engine 0) */
    if (tr->id && (*mp)->hdr.engine != tr->id &&
        !(q == ZPAR_ENGINE_Q_TASK && (*mp)->hdr.engine == 0 && (*mp)->hdr.type == ZPAR_MSG_TASK)) {
        zpar__warn ("%s: %s for engine %u dropped (we are engine %u)", qname[q],
                    zpar__msg_type_name ((*mp)->hdr.type), (*mp)->hdr.engine, tr->id);
        errno = EPERM;
        return -1;
    }
    for (size_t i = 0; i < sizeof (handlers) / sizeof (handlers[0]); i++) {
        if (handlers[i].q != q || handlers[i].type != (*mp)->hdr.type)
            continue;
        if (!handlers[i].fn)
            return on_task (tr, q, mp);
        if (zpar__proto_control_decode (*mp, &c, &err) < 0) {
            zpar__warn ("%s: malformed %s dropped: %s", qname[q],
                        zpar__msg_type_name ((*mp)->hdr.type), err.text);
            errno = EPROTO;
            return -1;
        }
        return handlers[i].fn (tr, q, *mp, &c);
    }
    zpar__warn ("%s: unexpected %s dropped", qname[q], zpar__msg_type_name ((*mp)->hdr.type));
    errno = EPROTO;
    return -1;
}

/* ----------------------------------------------------------- lifecycle */

zpar_task_runner_t *zpar__task_runner_create (zpar_reactor_t *r, const zpar_task_runner_ops_t *ops,
                                              const zpar_task_runner_opts_t *opts,
                                              zpar_error_t *err)
{
    zpar_task_runner_t *tr;

    if (!r || !ops || !ops->send || !opts) {
        zpar__errnoprintf (err, EINVAL, "task runner: missing reactor, callbacks or options");
        return NULL;
    }
    if (!(tr = calloc (1, sizeof (*tr)))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    tr->reactor = r;
    tr->ops = *ops;
    if (!(tr->batch = zpar__batch_create ())) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        goto error;
    }
    snprintf (tr->host, sizeof (tr->host), "%s", opts->host ? opts->host : "");
    if (!(tr->runner =
              zpar__runner_create (r, 0, opts->rank, opts->mpi_comm, opts->cancelled, err)))
        goto error;
    zpar__runner_set_keeper (tr->runner, opts->keeper);
    tr->keeper = opts->keeper;
    zpar__runner_set_output_cb (tr->runner, on_output, tr);
    zpar__runner_set_done_cb (tr->runner, on_done, tr);
    if (!(tr->w_kick = zpar__timer_watcher_create (r, 0, 0, on_kick, tr)) ||
        !(tr->w_retry =
              zpar__timer_watcher_create (r, OUTBOX_RETRY_MS, 0, zpar__tr_retry_outbox, tr))) {
        zpar__errnoprintf (err, errno, "task runner: %s", strerror (errno));
        goto error;
    }
    return tr;
error:
    zpar__task_runner_destroy (tr);
    return NULL;
}

void zpar__task_runner_destroy (zpar_task_runner_t *tr)
{
    int saved = errno;
    if (!tr)
        return;
    (void)zpar__task_runner_stop (tr);
    zpar__runner_destroy (tr->runner);
    zpar__watcher_destroy (tr->w_kick);
    zpar__watcher_destroy (tr->w_retry);
    zpar__tr_ql_free (&tr->queue);
    zpar__tr_ql_free (&tr->outbox);
    for (size_t i = 0; i < tr->nready; i++)
        zpar__msg_destroy (tr->ready[i]);
    zpar__batch_destroy (tr->batch);
    for (unsigned i = 0; i < RECENT_MAX; i++)
        zpar__msg_destroy (tr->recent[i].m);
    if (tr->cur) {
        zpar__proto_task_clear (&tr->cur->t);
        zpar__msg_destroy (tr->cur->m);
        free (tr->cur);
    }
    for (int i = 0; i < tr->npool; i++)
        zpar__msg_destroy (tr->pool[i]);
    free (tr);
    errno = saved;
}

void zpar__task_runner_set_batching (zpar_task_runner_t *tr, int on)
{
    if (tr) {
        zpar__tr_flush_ready (tr);
        tr->batching = on && tr->ops.send_batch != NULL;
    }
}

uint64_t zpar__task_runner_batched (const zpar_task_runner_t *tr, uint64_t *batches)
{
    if (batches)
        *batches = tr ? tr->batches : 0;
    return tr ? tr->batched : 0;
}

void zpar__task_runner_set_engine (zpar_task_runner_t *tr, uint32_t id)
{
    if (tr) {
        tr->id = id;
        zpar__runner_set_engine (tr->runner, id);
    }
}

int zpar__task_runner_stop (zpar_task_runner_t *tr)
{
    int killed = 0;
    if (!tr)
        return 0;
    tr->stopped = 1;
    zpar__watcher_stop (tr->w_kick);
    if (tr->runner && zpar__runner_busy (tr->runner)) {
        zpar__info ("killing the running task");
        (void)zpar__runner_terminate (tr->runner, STOP_GRACE_MS, "the engine stopped");
        killed = 1;
    }
    if (tr->runner)
        zpar__runner_clear (tr->runner);
    if (tr->cur) {
        zpar__tr_qent_free (tr, tr->cur);
        tr->cur = NULL;
    }
    return killed;
}

size_t zpar__task_runner_queued (const zpar_task_runner_t *tr)
{
    return tr ? tr->queue.len : 0;
}

size_t zpar__task_runner_outbox (const zpar_task_runner_t *tr)
{
    return tr ? tr->outbox.len : 0;
}

uint64_t zpar__task_runner_done (const zpar_task_runner_t *tr)
{
    return tr ? tr->done : 0;
}

size_t zpar__task_runner_held (const zpar_task_runner_t *tr, zpar_tid_t *ids, size_t max)
{
    size_t n = 0;
    if (!tr)
        return 0;
    if (tr->cur && !tr->cur_dropped) {
        if (ids && n < max)
            ids[n] = tr->cur->t.h.task;
        n++;
    }
    for (const qent_t *t = tr->queue.head; t; t = t->next) {
        if (ids && n < max)
            ids[n] = t->t.h.task;
        n++;
    }
    for (size_t i = 0; i < tr->nready; i++) {
        if (ids && n < max)
            ids[n] = zpar__tid (tr->ready[i]->hdr.task);
        n++;
    }
    /* delivered = the controller has it: until then the task is ours */
    for (const qent_t *o = tr->outbox.head; o; o = o->next) {
        if (!o->m->hdr.task || o->fenced)
            continue; /* fenced: its result says so, the controller runs it again */
        if (ids && n < max)
            ids[n] = zpar__tid (o->m->hdr.task);
        n++;
    }
    return n;
}

int zpar__task_runner_drop (zpar_task_runner_t *tr, zpar_tid_t task)
{
    int held = 0;
    if (!tr || !task.v) {
        errno = EINVAL;
        return -1;
    }
    if (zpar__tr_ql_remove (tr, &tr->queue, task, 0))
        held = 1;
    if (zpar__tr_ql_remove (tr, &tr->outbox, task, 1))
        held = 1;
    if (zpar__tr_ready_remove (tr, task))
        held = 1;
    if (zpar__tr_recent_forget (tr, task))
        held = 1;
    if (tr->cur && zpar__tid_eq (tr->cur->t.h.task, task)) {
        held = 1;
        if (!tr->cur_dropped) {
            tr->cur_dropped = 1;
            zpar__info ("task %u.%u dropped: the controller gave it to another engine or has its "
                        "result; ending its process group",
                        zpar__tid_client (task).v, zpar__tid_seq (task));
            (void)zpar__runner_cancel (tr->runner, DROP_GRACE_MS, "dropped");
        }
    }
    if (held)
        tr->dropped++;
    return held;
}
