/* task_runner.c - the engine's task queue: tasks in, one at a time through
 * the runner, results out, control requests answered.  See task_runner.h
 * and doc/engine.md. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "msg.h"
#include "runner.h"
#include "task_runner.h"

#define INTERRUPT_GRACE_MS 2000u /* SIGINT -> SIGKILL */
#define OUTBOX_RETRY_MS    100u  /* retry results that could not be sent */
#define OUTPUT_CAP_MAX     (128u * 1024 * 1024)
#define POOL_MAX           64

typedef struct qent {
    zpar_msg_t *m;
    zpar_engine_queue_t q; /* where the answer goes */
    struct qent *next;
} qent_t;

typedef struct {
    qent_t *head, *tail;
    size_t len;
} qlist_t;

struct zpar_task_runner {
    zpar_reactor_t *reactor;
    zpar_task_runner_ops_t ops;
    zpar_runner_t *runner;
    zpar_watcher_t *w_kick;  /* zero-delay: start the next task */
    zpar_watcher_t *w_retry; /* outbox retry */
    char host[256];
    uint32_t id;
    qlist_t queue; /* tasks received, not started */
    qent_t *cur;   /* the task running (or finished, result pending) */
    int cur_inline;
    qlist_t outbox; /* results waiting to be sent */
    zpar_msg_t *pool[POOL_MAX];
    int npool;
    uint64_t done;
    int stopped;
};

static const char *qname[ZPAR_ENGINE_NQ] = {"mux", "task", "control"};

/* ------------------------------------------------------------ messages */

static zpar_msg_t *msg_get (zpar_task_runner_t *tr, zpar_msg_type_t type)
{
    if (tr->npool > 0) {
        zpar_msg_t *m = tr->pool[--tr->npool];
        zpar__msg_reset (m, type);
        return m;
    }
    return zpar__msg_create (type);
}

static void msg_put (zpar_task_runner_t *tr, zpar_msg_t *m)
{
    if (!m)
        return;
    if (tr->npool < POOL_MAX && m->cap <= 1024 * 1024)
        tr->pool[tr->npool++] = m;
    else
        zpar__msg_destroy (m);
}

static void ql_push (qlist_t *l, qent_t *t)
{
    t->next = NULL;
    if (l->tail)
        l->tail->next = t;
    else
        l->head = t;
    l->tail = t;
    l->len++;
}

static qent_t *ql_pop (qlist_t *l)
{
    qent_t *t = l->head;
    if (t) {
        l->head = t->next;
        if (!l->head)
            l->tail = NULL;
        l->len--;
        t->next = NULL;
    }
    return t;
}

static void ql_free (qlist_t *l)
{
    qent_t *t;
    while ((t = ql_pop (l))) {
        zpar__msg_destroy (t->m);
        free (t);
    }
}

/* An answer to req: same envelope, task and client, our engine id. */
static zpar_msg_t *answer (zpar_task_runner_t *tr, const zpar_msg_t *req, zpar_msg_type_t type)
{
    zpar_msg_t *m = msg_get (tr, type);
    if (!m)
        return NULL;
    (void)zpar__msg_set_envelope (m, req->nenv, req->env);
    m->hdr.task = req->hdr.task;
    m->hdr.client = req->hdr.client;
    m->hdr.engine = tr->id;
    return m;
}

/* ------------------------------------------------------------- results */

static void retry_outbox (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    (void)r;
    (void)w;
    (void)revents;
    zpar__task_runner_flush (arg);
}

void zpar__task_runner_flush (zpar_task_runner_t *tr)
{
    if (!tr)
        return;
    while (tr->outbox.head) {
        qent_t *o = tr->outbox.head;
        o->m->hdr.engine = tr->id;
        if (tr->ops.send (tr->ops.arg, o->q, o->m) < 0)
            break;
        (void)ql_pop (&tr->outbox);
        msg_put (tr, o->m);
        free (o);
    }
    if (tr->outbox.head && !zpar__watcher_active (tr->w_retry))
        zpar__timer_watcher_reset (tr->w_retry, OUTBOX_RETRY_MS, 0);
}

/* Send m (a result) on queue q, or keep it for later.  Takes m. */
static void send_result (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t *m)
{
    qent_t *o;
    if (!tr->outbox.head && tr->ops.send (tr->ops.arg, q, m) == 0) {
        msg_put (tr, m);
        return;
    }
    if (!(o = calloc (1, sizeof (*o)))) {
        zpar__err ("out of memory: result of task %" PRIu64 " lost", m->hdr.task);
        zpar__msg_destroy (m);
        return;
    }
    o->m = m;
    o->q = q;
    ql_push (&tr->outbox, o);
    if (!zpar__watcher_active (tr->w_retry))
        zpar__timer_watcher_reset (tr->w_retry, OUTBOX_RETRY_MS, 0);
}

static void publish (zpar_task_runner_t *tr, zpar_msg_t *m, const zpar_msg_t *task)
{
    char topic[48];
    int n = snprintf (topic, sizeof (topic), "c%u.e%u", task->hdr.client, tr->id);
    (void)zpar__msg_push_ident (m, topic, (size_t)n);
    m->hdr.task = task->hdr.task;
    m->hdr.client = task->hdr.client;
    m->hdr.engine = tr->id;
    tr->ops.publish (tr->ops.arg, m);
}

static void publish_status (zpar_task_runner_t *tr, const zpar_msg_t *task, const char *event,
                            int status)
{
    zpar_msg_t *m;
    if (!tr->ops.publish || !(m = msg_get (tr, ZPAR_MSG_TASK_STATUS)))
        return;
    (void)zpar__msg_add_str (m, ZPAR_F_EVENT, event);
    if (status)
        (void)zpar__msg_add_u64 (m, ZPAR_F_STATUS, (uint64_t)status);
    publish (tr, m, task);
    msg_put (tr, m);
}

/* Streamed output of the running task -> IOPub. */
static void on_output (void *arg, int stream, const void *data, size_t len)
{
    zpar_task_runner_t *tr = arg;
    zpar_msg_t *m;

    if (!tr->ops.publish || !tr->cur || !(m = msg_get (tr, ZPAR_MSG_STREAM)))
        return;
    if (zpar__msg_add_u64 (m, ZPAR_F_STREAM, (uint64_t)stream) == 0 &&
        zpar__msg_add_bytes (m, ZPAR_F_DATA, data, len) == 0)
        publish (tr, m, tr->cur->m);
    msg_put (tr, m);
}

static uint64_t task_attempt (const zpar_msg_t *t)
{
    uint64_t a = zpar__msg_u64_or (t, ZPAR_F_ATTEMPT, 0);
    if (!a)
        a = t->hdr.flags & 0xffu;
    return a ? a : 1;
}

/* The RESULT header and the fields every result has. */
static zpar_msg_t *result_begin (zpar_task_runner_t *tr, const zpar_msg_t *t, zpar_status_t status)
{
    zpar_msg_t *m = answer (tr, t, ZPAR_MSG_RESULT);
    if (!m)
        return NULL;
    m->hdr.flags = t->hdr.flags;
    (void)zpar__msg_add_u64 (m, ZPAR_F_STATUS, (uint64_t)status);
    (void)zpar__msg_add_str (m, ZPAR_F_HOST, tr->host);
    (void)zpar__msg_add_u64 (m, ZPAR_F_ATTEMPT, task_attempt (t));
    return m;
}

static void add_buf (zpar_msg_t *m, zpar_field_t key, const zpar_runbuf_t *b)
{
    if (b->len)
        (void)zpar__msg_add_bytes (m, key, b->data, b->len);
}

/* The running task finished: send its result, forget it. */
static void complete (zpar_task_runner_t *tr)
{
    const zpar_run_result_t *r = zpar__runner_result (tr->runner);
    qent_t *cur = tr->cur;
    zpar_msg_t *m;

    if (!cur || !r) {
        zpar__runner_clear (tr->runner);
        return;
    }
    if ((m = result_begin (tr, cur->m, r->status))) {
        /* -1 (no exit status) is 2^64-1 on the wire */
        (void)zpar__msg_add_u64 (m, ZPAR_F_EXIT, (uint64_t)(int64_t)r->exit_code);
        (void)zpar__msg_add_u64 (m, ZPAR_F_SIGNAL, (uint64_t)r->signal);
        (void)zpar__msg_add_u64 (m, ZPAR_F_WALL_US, r->wall_us);
        (void)zpar__msg_add_u64 (m, ZPAR_F_UTIME_US, r->utime_us);
        (void)zpar__msg_add_u64 (m, ZPAR_F_STIME_US, r->stime_us);
        (void)zpar__msg_add_u64 (m, ZPAR_F_MAXRSS_KB, r->maxrss_kb);
        (void)zpar__msg_add_u64 (m, ZPAR_F_STARTED_US, r->started_us);
        (void)zpar__msg_add_u64 (m, ZPAR_F_FINISHED_US, r->finished_us);
        (void)zpar__msg_add_u64 (m, ZPAR_F_PID, (uint64_t)(r->pid > 0 ? r->pid : getpid ()));
        add_buf (m, ZPAR_F_STDOUT, &r->out);
        add_buf (m, ZPAR_F_STDERR, &r->err);
        add_buf (m, ZPAR_F_OUTPUT, &r->output);
        if (r->truncated)
            (void)zpar__msg_add_u64 (m, ZPAR_F_TRUNCATED, (uint64_t)r->truncated);
        if (r->error[0])
            (void)zpar__msg_add_str (m, ZPAR_F_ERROR, r->error);
        if (r->status == ZPAR_STATUS_ERROR)
            zpar__info ("task %u.%u: %s", (unsigned)(cur->m->hdr.task >> 32),
                        (unsigned)(cur->m->hdr.task & 0xffffffffu), r->error);
        if (!tr->cur_inline)
            publish_status (tr, cur->m, "finished", (int)r->status);
        send_result (tr, cur->q, m);
    } else
        zpar__err ("out of memory: result of task %" PRIu64 " lost", cur->m->hdr.task);
    zpar__runner_clear (tr->runner);
    msg_put (tr, cur->m);
    free (cur);
    tr->cur = NULL;
    tr->done++;
}

/* --------------------------------------------------------------- tasks */

static void free_strv (char **v)
{
    if (v) {
        for (size_t i = 0; v[i]; i++)
            free (v[i]);
        free (v);
    }
}

static char **get_strv (const zpar_msg_t *m, zpar_field_t key)
{
    size_t n = zpar__msg_count (m, key);
    char **v;
    if (n == 0)
        return NULL;
    if (!(v = calloc (n + 1, sizeof (*v))))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = zpar__msg_get_str_at (m, key, i))) {
            free_strv (v);
            return NULL;
        }
    return v;
}

/* Start tr->cur.  1 when it finished at once. */
static int start_one (zpar_task_runner_t *tr)
{
    const zpar_msg_t *t = tr->cur->m;
    zpar_run_spec_t s;
    char **argv = NULL, **env = NULL;
    char *cwd = NULL, *lib = NULL, *sym = NULL;
    int rc;

    memset (&s, 0, sizeof (s));
    s.kind = (zpar_task_kind_t)zpar__msg_u64_or (t, ZPAR_F_KIND, 0);
    s.timeout_ms = zpar__msg_u64_or (t, ZPAR_F_TIMEOUT_MS, 0);
    s.output_cap = (size_t)zpar__msg_u64_or (t, ZPAR_F_OUTPUT_CAP, ZPAR_RUNNER_DEFAULT_CAP);
    if (s.output_cap > OUTPUT_CAP_MAX)
        s.output_cap = OUTPUT_CAP_MAX;
    s.task_id = t->hdr.task;
    if (s.kind == ZPAR_TASK_COMMAND)
        s.argv = argv = get_strv (t, ZPAR_F_ARGV);
    else {
        s.lib = lib = zpar__msg_get_str (t, ZPAR_F_LIB);
        s.symbol = sym = zpar__msg_get_str (t, ZPAR_F_SYMBOL);
        s.input = zpar__msg_get_bytes (t, ZPAR_F_INPUT, &s.input_len);
        s.inline_fn = zpar__msg_u64_or (t, ZPAR_F_INLINE, 0) != 0;
    }
    if (zpar__msg_count (t, ZPAR_F_ENV))
        s.env = env = get_strv (t, ZPAR_F_ENV);
    s.cwd = cwd = zpar__msg_get_str (t, ZPAR_F_CWD);
    tr->cur_inline = s.kind == ZPAR_TASK_FUNCTION && s.inline_fn;
    if (!tr->cur_inline)
        publish_status (tr, t, "started", 0);
    rc = zpar__runner_start (tr->runner, &s);
    free_strv (argv);
    free_strv (env);
    free (cwd);
    free (lib);
    free (sym);
    if (rc < 0) {
        /* cannot happen (we only start when idle) */
        zpar__err ("runner: %s", strerror (errno));
        return 0;
    }
    return rc == 1;
}

static void start_next (zpar_task_runner_t *tr)
{
    while (!tr->cur && tr->queue.head && !tr->stopped) {
        tr->cur = ql_pop (&tr->queue);
        if (start_one (tr))
            complete (tr);
    }
}

static void on_kick (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    (void)r;
    (void)w;
    (void)revents;
    start_next (arg);
}

static void on_done (zpar_runner_t *runner, void *arg)
{
    zpar_task_runner_t *tr = arg;
    (void)runner;
    complete (tr);
    start_next (tr);
}

/* ------------------------------------------------------------ handlers */

static int on_task (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t **mp)
{
    qent_t *t = calloc (1, sizeof (*t));
    if (!t) {
        zpar__err ("out of memory: task %" PRIu64 " dropped", (*mp)->hdr.task);
        return -1;
    }
    t->m = *mp;
    t->q = q;
    *mp = NULL;
    ql_push (&tr->queue, t);
    if (!tr->cur && !tr->stopped)
        zpar__timer_watcher_reset (tr->w_kick, 0, 0);
    return 0;
}

/* Remove a queued task and answer it ABORTED.  1 if it was queued. */
static uint64_t abort_queued (zpar_task_runner_t *tr, uint64_t task)
{
    qent_t **pp = &tr->queue.head, *prev = NULL;
    while (*pp) {
        qent_t *t = *pp;
        if (t->m->hdr.task == task) {
            zpar_msg_t *m;
            *pp = t->next;
            if (tr->queue.tail == t)
                tr->queue.tail = prev;
            tr->queue.len--;
            if ((m = result_begin (tr, t->m, ZPAR_STATUS_ABORTED))) {
                (void)zpar__msg_add_u64 (m, ZPAR_F_EXIT, UINT64_MAX);
                (void)zpar__msg_add_str (m, ZPAR_F_ERROR, "aborted before it ran");
                send_result (tr, t->q, m);
            }
            msg_put (tr, t->m);
            free (t);
            return 1;
        }
        prev = t;
        pp = &t->next;
    }
    return 0;
}

/* CONTROL_REPLY with COUNT on queue q. */
static void reply (zpar_task_runner_t *tr, zpar_engine_queue_t q, const zpar_msg_t *req,
                   uint64_t count)
{
    zpar_msg_t *m = answer (tr, req, ZPAR_MSG_CONTROL_REPLY);
    if (!m)
        return;
    (void)zpar__msg_add_u64 (m, ZPAR_F_COUNT, count);
    if (tr->ops.send (tr->ops.arg, q, m) < 0)
        zpar__warn ("%s reply not sent: %s", qname[q], strerror (errno));
    msg_put (tr, m);
}

static int on_abort (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t **mp)
{
    reply (tr, q, *mp, abort_queued (tr, (*mp)->hdr.task));
    return 0;
}

/* The task scheduler asks for a task back (work stealing): give it back
 * (an aborted result on the task queue) if it has not started, else say so
 * with a control reply on the same queue. */
static int on_steal (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t **mp)
{
    if (!abort_queued (tr, (*mp)->hdr.task))
        reply (tr, q, *mp, 0);
    return 0;
}

static int on_interrupt (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t **mp)
{
    int did = zpar__runner_interrupt (tr->runner, INTERRUPT_GRACE_MS) == 0;
    if (did)
        zpar__info ("interrupting the running task");
    reply (tr, q, *mp, did ? 1 : 0);
    return 0;
}

static int on_shutdown (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t **mp)
{
    zpar__info ("shutdown requested");
    reply (tr, q, *mp, 1);
    if (tr->ops.shutdown)
        tr->ops.shutdown (tr->ops.arg);
    return 0;
}

/* What each queue accepts. */
static const struct {
    zpar_engine_queue_t q;
    zpar_msg_type_t type;
    int (*fn) (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t **mp);
} handlers[] = {
    {ZPAR_ENGINE_Q_MUX, ZPAR_MSG_TASK, on_task},
    {ZPAR_ENGINE_Q_TASK, ZPAR_MSG_TASK, on_task},
    {ZPAR_ENGINE_Q_TASK, ZPAR_MSG_ABORT, on_steal},
    {ZPAR_ENGINE_Q_CONTROL, ZPAR_MSG_ABORT, on_abort},
    {ZPAR_ENGINE_Q_CONTROL, ZPAR_MSG_INTERRUPT, on_interrupt},
    {ZPAR_ENGINE_Q_CONTROL, ZPAR_MSG_SHUTDOWN, on_shutdown},
};

int zpar__task_runner_recv (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t **mp)
{
    if (!tr || !mp || !*mp || (unsigned)q >= ZPAR_ENGINE_NQ) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < sizeof (handlers) / sizeof (handlers[0]); i++)
        if (handlers[i].q == q && handlers[i].type == (*mp)->hdr.type)
            return handlers[i].fn (tr, q, mp);
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
    snprintf (tr->host, sizeof (tr->host), "%s", opts->host ? opts->host : "");
    if (!(tr->runner =
              zpar__runner_create (r, 0, opts->rank, opts->mpi_comm, opts->cancelled, err)))
        goto error;
    zpar__runner_set_output_cb (tr->runner, on_output, tr);
    zpar__runner_set_done_cb (tr->runner, on_done, tr);
    if (!(tr->w_kick = zpar__timer_watcher_create (r, 0, 0, on_kick, tr)) ||
        !(tr->w_retry = zpar__timer_watcher_create (r, OUTBOX_RETRY_MS, 0, retry_outbox, tr))) {
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
    ql_free (&tr->queue);
    ql_free (&tr->outbox);
    if (tr->cur) {
        zpar__msg_destroy (tr->cur->m);
        free (tr->cur);
    }
    for (int i = 0; i < tr->npool; i++)
        zpar__msg_destroy (tr->pool[i]);
    free (tr);
    errno = saved;
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
        (void)zpar__runner_kill (tr->runner, "the engine stopped");
        killed = 1;
    }
    if (tr->runner)
        zpar__runner_clear (tr->runner);
    if (tr->cur) {
        msg_put (tr, tr->cur->m);
        free (tr->cur);
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
