/* engine.c - a zpar engine: registration, heart, task queue, one task at a
 * time through the runner, IOPub output, control, and controller loss.
 *
 * One thread runs everything in one zmq_poll loop (the engine's sockets,
 * its signal pipe, the runner's SIGCHLD pipe and the running child's
 * pipes), except the heart: a zmq_proxy_steerable thread that echoes pings
 * from the hub's PUB to its ROUTER with no application code in the path,
 * and copies them (capture PUB, never blocks) so that the loop can tell
 * that the controller is alive.  See doc/engine.md. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <zmq.h>

#include "conn.h"
#include "engine.h"
#include "error.h"
#include "log.h"
#include "msg.h"
#include "runner.h"
#include "wire.h"
#include "zpar.h"

#define REG_RESEND_US 1000000u     /* resend a registration after 1 s */
#define INTERRUPT_GRACE_MS 2000u   /* SIGINT -> SIGKILL */
#define OUTBOX_RETRY_US 100000u    /* retry results that could not be sent */
#define HB_MIN_LIMIT_US 2000000u   /* never declare the controller lost sooner */
#define LINGER_MS 1000
#define POOL_MAX 64
#define MAX_ITEMS (8 + ZPAR_RUNNER_POLLITEMS)

enum { Q_MUX = 0, Q_TASK = 1, Q_CONTROL = 2, NQ = 3 };
static const char *qname[NQ] = {"mux", "task", "control"};

typedef struct qent {
    zpar_msg_t *m;
    int q; /* Q_MUX or Q_TASK: where the result goes */
    struct qent *next;
} qent_t;

typedef struct {
    void *sub;     /* hb_ping */
    void *dealer;  /* hb_pong, identity e<id> */
    void *capture; /* PUB -> our SUB */
    void *control; /* PAIR <- our PAIR */
} heart_t;

typedef struct {
    const zpar_engine_opts_t *opts;
    zpar_conninfo_t ci;
    void *zctx;
    zpar_signer_t *signer;
    zpar_runner_t *runner;
    char host[256];
    char uuid[40];
    char ident[16]; /* "e<id>" */
    uint32_t id;
    int registered_once;
    int connected;

    void *reg;              /* DEALER to the registrar */
    uint64_t reg_sent;      /* mono us of the last REGISTER_ENGINE */
    uint64_t reg_give_up;   /* mono us, 0: never */

    void *sock[NQ];         /* DEALERs: mux, task, control */
    void *iopub;            /* PUB */
    char addr[NQ][ZPAR_ADDR_MAX];
    char addr_iopub[ZPAR_ADDR_MAX];
    char addr_ping[ZPAR_ADDR_MAX];
    char addr_pong[ZPAR_ADDR_MAX];

    heart_t heart;
    pthread_t heart_thread;
    int heart_running;
    void *hb_capture;       /* SUB */
    void *hb_control;       /* PAIR */
    uint64_t hb_period_us;
    unsigned hb_misses;
    uint64_t last_ping;     /* mono us */
    uint64_t ctl_session;   /* session of the controller we registered with */
    int ctl_changed;        /* pings now come from another controller */
    unsigned heart_gen;

    qent_t *qhead, *qtail;  /* tasks received, not started */
    size_t qlen;
    qent_t *cur;            /* the task running (or finished, result pending) */
    int cur_inline;

    qent_t *outhead, *outtail; /* results waiting for a connection */
    size_t outlen;

    zpar_msg_t *rx;
    zpar_msg_t *pool[POOL_MAX];
    int npool;
    uint64_t tasks_done;
    int stop;
} eng_t;

static volatile sig_atomic_t eng_signaled;
static int sig_pipe[2] = {-1, -1};

static void on_signal (int sig)
{
    int saved = errno;
    eng_signaled = sig;
    if (sig_pipe[1] >= 0)
        (void)!write (sig_pipe[1], "s", 1);
    errno = saved;
}

/* ------------------------------------------------------------ messages */

static zpar_msg_t *msg_get (eng_t *e, zpar_msg_type_t type)
{
    if (e->npool > 0) {
        zpar_msg_t *m = e->pool[--e->npool];
        zpar__msg_reset (m, type);
        return m;
    }
    return zpar__msg_create (type);
}

static void msg_put (eng_t *e, zpar_msg_t *m)
{
    if (!m)
        return;
    if (e->npool < POOL_MAX && m->cap <= 1024 * 1024)
        e->pool[e->npool++] = m;
    else
        zpar__msg_destroy (m);
}

static void copy_envelope (zpar_msg_t *dst, const zpar_msg_t *src)
{
    (void)zpar__msg_set_envelope (dst, src->nenv, src->env);
}

/* ------------------------------------------------------------- sockets */

static void close_sock (void **s)
{
    if (*s) {
        zmq_close (*s);
        *s = NULL;
    }
}

static void *mksock (eng_t *e, int type, const char *addr, const char *ident, int linger)
{
    void *s = zmq_socket (e->zctx, type);
    if (!s)
        return NULL;
    zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof (linger));
    if (ident)
        zmq_setsockopt (s, ZMQ_ROUTING_ID, ident, strlen (ident));
    if (addr && zmq_connect (s, addr) < 0) {
        zpar__err ("cannot connect to %s: %s", addr, zmq_strerror (errno));
        zmq_close (s);
        return NULL;
    }
    return s;
}

/* --------------------------------------------------------------- heart */

static void *heart_main (void *arg)
{
    heart_t *h = arg;
    int rc;
    /* signals are blocked in this thread; EINTR is still retried, since
     * zmq_proxy returns on any interrupted poll */
    do
        rc = zmq_proxy_steerable (h->sub, h->dealer, h->capture, h->control);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        zpar__err ("heart stopped: %s", zmq_strerror (errno));
    zmq_close (h->sub);
    zmq_close (h->dealer);
    zmq_close (h->capture);
    zmq_close (h->control);
    return NULL;
}

static int heart_start (eng_t *e)
{
    char cap_ep[64], ctl_ep[64];
    heart_t *h = &e->heart;
    int zero = 0;

    e->heart_gen++;
    snprintf (cap_ep, sizeof (cap_ep), "inproc://zpar-hb-capture-%u", e->heart_gen);
    snprintf (ctl_ep, sizeof (ctl_ep), "inproc://zpar-hb-control-%u", e->heart_gen);
    memset (h, 0, sizeof (*h));
    if (!(e->hb_capture = zmq_socket (e->zctx, ZMQ_SUB))
        || zmq_setsockopt (e->hb_capture, ZMQ_SUBSCRIBE, "", 0) < 0
        || zmq_setsockopt (e->hb_capture, ZMQ_LINGER, &zero, sizeof (zero)) < 0
        || zmq_bind (e->hb_capture, cap_ep) < 0
        || !(e->hb_control = zmq_socket (e->zctx, ZMQ_PAIR))
        || zmq_setsockopt (e->hb_control, ZMQ_LINGER, &zero, sizeof (zero)) < 0
        || zmq_bind (e->hb_control, ctl_ep) < 0)
        goto error;
    if (!(h->capture = mksock (e, ZMQ_PUB, cap_ep, NULL, 0))
        || !(h->control = mksock (e, ZMQ_PAIR, ctl_ep, NULL, 0))
        || !(h->sub = zmq_socket (e->zctx, ZMQ_SUB))
        || zmq_setsockopt (h->sub, ZMQ_SUBSCRIBE, "", 0) < 0
        || zmq_setsockopt (h->sub, ZMQ_LINGER, &zero, sizeof (zero)) < 0
        || zmq_connect (h->sub, e->addr_ping) < 0
        || !(h->dealer = mksock (e, ZMQ_DEALER, e->addr_pong, e->ident, 0)))
        goto error;
    /* the sockets move to the heart thread (pthread_create is a full
     * barrier); it runs with every signal blocked (SIGCHLD, SIGTERM go to
     * the main thread) */
    {
        sigset_t all, old;
        int prc;
        sigfillset (&all);
        pthread_sigmask (SIG_SETMASK, &all, &old);
        prc = pthread_create (&e->heart_thread, NULL, heart_main, h);
        pthread_sigmask (SIG_SETMASK, &old, NULL);
        if (prc != 0)
            goto error;
    }
    e->heart_running = 1;
    return 0;
error:
    zpar__err ("cannot start the heart: %s", zmq_strerror (errno));
    close_sock (&h->sub);
    close_sock (&h->dealer);
    close_sock (&h->capture);
    close_sock (&h->control);
    close_sock (&e->hb_capture);
    close_sock (&e->hb_control);
    return -1;
}

static void heart_stop (eng_t *e)
{
    if (e->heart_running) {
        (void)zmq_send (e->hb_control, "TERMINATE", 9, ZMQ_DONTWAIT);
        pthread_join (e->heart_thread, NULL);
        e->heart_running = 0;
    }
    close_sock (&e->hb_capture);
    close_sock (&e->hb_control);
}

static void heart_drain (eng_t *e)
{
    zmq_msg_t m;
    int got = 0;
    if (!e->hb_capture)
        return;
    zmq_msg_init (&m);
    while (zmq_msg_recv (&m, e->hb_capture, ZMQ_DONTWAIT) >= 0) {
        /* pings carry the controller's session: another one means a new
         * controller took over the same ports, which does not know us */
        if (zmq_msg_size (&m) == 24 && e->ctl_session) {
            uint64_t session;
            memcpy (&session, (const uint8_t *)zmq_msg_data (&m) + 16, 8);
            if (session != e->ctl_session)
                e->ctl_changed = 1;
        }
        got = 1;
    }
    zmq_msg_close (&m);
    if (got)
        e->last_ping = zpar__mono_us ();
}

/* --------------------------------------------------------- registration */

static int reg_send (eng_t *e)
{
    zpar_msg_t *m;
    int linger = 0;
    int rc = -1;

    /* a fresh socket per attempt: nothing stale queued, no stale reply */
    close_sock (&e->reg);
    if (!(e->reg = mksock (e, ZMQ_DEALER, e->ci.addr[ZPAR_EP_REGISTRAR], NULL, linger)))
        return -1;
    if (!(m = msg_get (e, ZPAR_MSG_REGISTER_ENGINE)))
        return -1;
    m->hdr.engine = e->id;
    if (zpar__msg_add_str (m, ZPAR_F_HOST, e->host) == 0
        && zpar__msg_add_u64 (m, ZPAR_F_PID, (uint64_t)getpid ()) == 0
        && zpar__msg_add_u64 (m, ZPAR_F_RANK,
                              e->opts->rank >= 0 ? (uint64_t)e->opts->rank : UINT64_MAX) == 0
        && zpar__msg_add_u64 (m, ZPAR_F_ENGINE_ID, e->id ? e->id : e->opts->want_id) == 0
        && zpar__msg_add_str (m, ZPAR_F_ENGINE_UUID, e->uuid) == 0)
        rc = zpar__wire_send (e->reg, e->signer, m, ZMQ_DONTWAIT);
    msg_put (e, m);
    e->reg_sent = zpar__mono_us ();
    if (rc < 0 && errno != EAGAIN)
        zpar__warn ("registration: send failed: %s", zmq_strerror (errno));
    return 0;
}

static void flush_outbox (eng_t *e);

static int copy_addr (const zpar_msg_t *m, zpar_field_t key, char *dst, const char *what)
{
    char *s = zpar__msg_get_str (m, key);
    if (!s || !*s || strlen (s) >= ZPAR_ADDR_MAX) {
        zpar__err ("registration reply without a valid %s address", what);
        free (s);
        return -1;
    }
    strcpy (dst, s);
    free (s);
    return 0;
}

static void disconnect (eng_t *e)
{
    for (int i = 0; i < NQ; i++)
        close_sock (&e->sock[i]);
    close_sock (&e->iopub);
    heart_stop (e);
    e->connected = 0;
}

static int connect_queues (eng_t *e)
{
    static const int types[NQ] = {ZMQ_DEALER, ZMQ_DEALER, ZMQ_DEALER};
    for (int i = 0; i < NQ; i++)
        if (!(e->sock[i] = mksock (e, types[i], e->addr[i], e->ident, LINGER_MS)))
            goto error;
    if (!(e->iopub = mksock (e, ZMQ_PUB, e->addr_iopub, e->ident, LINGER_MS)))
        goto error;
    if (heart_start (e) < 0)
        goto error;
    return 0;
error:
    disconnect (e);
    return -1;
}

static void handle_reg_reply (eng_t *e, zpar_msg_t *m)
{
    char *scheme = NULL;

    if (m->hdr.type == ZPAR_MSG_SHUTDOWN) {
        /* the hub also says shutdown here: this socket is connected from
         * the first registration on, the queues only after the reply */
        if (!e->stop)
            zpar__info ("shutdown requested (registrar)");
        e->stop = 1;
        return;
    }
    if (m->hdr.type != ZPAR_MSG_REGISTER_ENGINE_REPLY) {
        zpar__debug ("registrar: unexpected %s ignored", zpar__msg_type_name (m->hdr.type));
        return;
    }
    if (e->connected)
        return; /* a late duplicate */
    if (m->hdr.engine != 0)
        e->ctl_session = m->hdr.session; /* the controller's incarnation */
    if (m->hdr.engine == 0) {
        char *text = zpar__msg_get_str (m, ZPAR_F_ERROR);
        zpar__err ("the controller refused registration: %s (retrying)",
                   text ? text : "no reason given");
        free (text);
        return;
    }
    if (copy_addr (m, ZPAR_F_ADDR_MUX, e->addr[Q_MUX], "mux") < 0
        || copy_addr (m, ZPAR_F_ADDR_TASK, e->addr[Q_TASK], "task") < 0
        || copy_addr (m, ZPAR_F_ADDR_CONTROL, e->addr[Q_CONTROL], "control") < 0
        || copy_addr (m, ZPAR_F_ADDR_IOPUB, e->addr_iopub, "iopub") < 0
        || copy_addr (m, ZPAR_F_ADDR_HB_PING, e->addr_ping, "heartbeat ping") < 0
        || copy_addr (m, ZPAR_F_ADDR_HB_PONG, e->addr_pong, "heartbeat pong") < 0)
        return;
    e->hb_period_us = zpar__msg_u64_or (m, ZPAR_F_HB_PERIOD_MS, 1000) * 1000u;
    e->hb_misses = (unsigned)zpar__msg_u64_or (m, ZPAR_F_HB_MISSES, 3);
    if (e->hb_period_us == 0)
        e->hb_period_us = 1000000u;
    if (e->hb_misses == 0)
        e->hb_misses = 3;
    if (e->id && e->id != m->hdr.engine)
        zpar__warn ("the controller gave engine id %u instead of %u", m->hdr.engine, e->id);
    e->id = m->hdr.engine;
    snprintf (e->ident, sizeof (e->ident), "e%u", e->id);
    {
        char role[32];
        snprintf (role, sizeof (role), "engine %u", e->id);
        zpar__log_set_role (role);
    }
    zpar__runner_set_engine (e->runner, e->id);
    if (connect_queues (e) < 0) {
        zpar__err ("cannot connect to the controller's queues (retrying)");
        return;
    }
    scheme = zpar__msg_get_str (m, ZPAR_F_TASK_SCHEME);
    e->connected = 1;
    e->last_ping = zpar__mono_us ();
    zpar__info ("%s as engine %u (host %s, pid %d%s%s%s, scheduler %s)",
                e->registered_once ? "registered again" : "registered", e->id, e->host,
                (int)getpid (), e->opts->bind_report ? ", " : "",
                e->opts->bind_report ? "bound to " : "",
                e->opts->bind_report ? e->opts->bind_report : "", scheme ? scheme : "?");
    free (scheme);
    e->registered_once = 1;
    e->reg_give_up = 0;
    flush_outbox (e);
}

static void drain_reg (eng_t *e)
{
    zpar_error_t err;
    for (;;) {
        if (!e->reg)
            return;
        if (!e->rx && !(e->rx = zpar__msg_create (ZPAR_MSG_NONE)))
            return;
        if (zpar__wire_recv (e->reg, e->signer, e->rx, ZMQ_DONTWAIT, &err) < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            zpar__warn ("registrar: message dropped: %s", err.text);
            continue;
        }
        handle_reg_reply (e, e->rx);
    }
}

static void controller_lost (eng_t *e)
{
    if (e->ctl_changed)
        zpar__warn ("a new controller answers at the same address: registering again as engine %u",
                    e->id);
    else
        zpar__warn ("no heartbeat from the controller for %.1f s: reconnecting as engine %u",
                    (double)(zpar__mono_us () - e->last_ping) / 1e6, e->id);
    e->ctl_changed = 0;
    e->ctl_session = 0;
    disconnect (e);
    (void)reg_send (e);
}

/* ------------------------------------------------------------- results */

static int send_on (eng_t *e, int q, zpar_msg_t *m)
{
    if (!e->connected || !e->sock[q]) {
        errno = ENOTCONN;
        return -1;
    }
    return zpar__wire_send (e->sock[q], e->signer, m, ZMQ_DONTWAIT);
}

/* Send m (a result) on queue q, or keep it for later.  Takes m. */
static void send_result (eng_t *e, int q, zpar_msg_t *m)
{
    qent_t *o;
    if (!e->outhead && send_on (e, q, m) == 0) {
        msg_put (e, m);
        return;
    }
    if (!(o = calloc (1, sizeof (*o)))) {
        zpar__err ("out of memory: result of task %" PRIu64 " lost", m->hdr.task);
        zpar__msg_destroy (m);
        return;
    }
    o->m = m;
    o->q = q;
    if (e->outtail)
        e->outtail->next = o;
    else
        e->outhead = o;
    e->outtail = o;
    e->outlen++;
}

static void flush_outbox (eng_t *e)
{
    while (e->outhead && e->connected) {
        qent_t *o = e->outhead;
        o->m->hdr.engine = e->id;
        if (send_on (e, o->q, o->m) < 0)
            return;
        e->outhead = o->next;
        if (!e->outhead)
            e->outtail = NULL;
        e->outlen--;
        msg_put (e, o->m);
        free (o);
    }
}

static void publish_status (eng_t *e, const zpar_msg_t *task, const char *event, int status)
{
    char topic[48];
    zpar_msg_t *m;
    int n;

    if (!e->connected || !e->iopub || !(m = msg_get (e, ZPAR_MSG_TASK_STATUS)))
        return;
    n = snprintf (topic, sizeof (topic), "c%u.e%u", task->hdr.client, e->id);
    (void)zpar__msg_push_ident (m, topic, (size_t)n);
    m->hdr.task = task->hdr.task;
    m->hdr.client = task->hdr.client;
    m->hdr.engine = e->id;
    (void)zpar__msg_add_str (m, ZPAR_F_EVENT, event);
    if (status)
        (void)zpar__msg_add_u64 (m, ZPAR_F_STATUS, (uint64_t)status);
    (void)zpar__wire_send (e->iopub, e->signer, m, ZMQ_DONTWAIT);
    msg_put (e, m);
}

/* Streamed output of the running task -> IOPub. */
static void on_output (void *arg, int stream, const void *data, size_t len)
{
    eng_t *e = arg;
    char topic[48];
    zpar_msg_t *m;
    int n;

    if (!e->connected || !e->iopub || !e->cur || !(m = msg_get (e, ZPAR_MSG_STREAM)))
        return;
    n = snprintf (topic, sizeof (topic), "c%u.e%u", e->cur->m->hdr.client, e->id);
    (void)zpar__msg_push_ident (m, topic, (size_t)n);
    m->hdr.task = e->cur->m->hdr.task;
    m->hdr.client = e->cur->m->hdr.client;
    m->hdr.engine = e->id;
    if (zpar__msg_add_u64 (m, ZPAR_F_STREAM, (uint64_t)stream) == 0
        && zpar__msg_add_bytes (m, ZPAR_F_DATA, data, len) == 0)
        (void)zpar__wire_send (e->iopub, e->signer, m, ZMQ_DONTWAIT);
    msg_put (e, m);
}

static uint64_t task_attempt (const zpar_msg_t *t)
{
    uint64_t a = zpar__msg_u64_or (t, ZPAR_F_ATTEMPT, 0);
    if (!a)
        a = t->hdr.flags & 0xffu;
    return a ? a : 1;
}

/* The RESULT header and the fields every result has. */
static zpar_msg_t *result_begin (eng_t *e, const zpar_msg_t *t, zpar_status_t status)
{
    zpar_msg_t *m = msg_get (e, ZPAR_MSG_RESULT);
    if (!m)
        return NULL;
    copy_envelope (m, t);
    m->hdr.task = t->hdr.task;
    m->hdr.client = t->hdr.client;
    m->hdr.engine = e->id;
    m->hdr.flags = t->hdr.flags;
    (void)zpar__msg_add_u64 (m, ZPAR_F_STATUS, (uint64_t)status);
    (void)zpar__msg_add_str (m, ZPAR_F_HOST, e->host);
    (void)zpar__msg_add_u64 (m, ZPAR_F_ATTEMPT, task_attempt (t));
    return m;
}

static void add_buf (zpar_msg_t *m, zpar_field_t key, const zpar_runbuf_t *b)
{
    if (b->len)
        (void)zpar__msg_add_bytes (m, key, b->data, b->len);
}

/* The running task finished: send its result, forget it. */
static void complete (eng_t *e)
{
    const zpar_run_result_t *r = zpar__runner_result (e->runner);
    qent_t *cur = e->cur;
    zpar_msg_t *m;

    if (!cur || !r) {
        zpar__runner_clear (e->runner);
        return;
    }
    if ((m = result_begin (e, cur->m, r->status))) {
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
        if (!e->cur_inline)
            publish_status (e, cur->m, "finished", (int)r->status);
        send_result (e, cur->q, m);
    }
    else
        zpar__err ("out of memory: result of task %" PRIu64 " lost", cur->m->hdr.task);
    zpar__runner_clear (e->runner);
    msg_put (e, cur->m);
    free (cur);
    e->cur = NULL;
    e->tasks_done++;
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

static void start_one (eng_t *e)
{
    const zpar_msg_t *t = e->cur->m;
    zpar_run_spec_t s;
    char **argv = NULL, **env = NULL;
    char *cwd = NULL, *lib = NULL, *sym = NULL;
    int rc;

    memset (&s, 0, sizeof (s));
    s.kind = (zpar_task_kind_t)zpar__msg_u64_or (t, ZPAR_F_KIND, 0);
    s.timeout_ms = zpar__msg_u64_or (t, ZPAR_F_TIMEOUT_MS, 0);
    s.output_cap = (size_t)zpar__msg_u64_or (t, ZPAR_F_OUTPUT_CAP, ZPAR_RUNNER_DEFAULT_CAP);
    if (s.output_cap > 128u * 1024 * 1024)
        s.output_cap = 128u * 1024 * 1024;
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
    e->cur_inline = s.kind == ZPAR_TASK_FUNCTION && s.inline_fn;
    if (!e->cur_inline)
        publish_status (e, t, "started", 0);
    rc = zpar__runner_start (e->runner, &s);
    free_strv (argv);
    free_strv (env);
    free (cwd);
    free (lib);
    free (sym);
    if (rc < 0) {
        /* cannot happen (we only start when idle): answer anyway */
        zpar__err ("runner: %s", strerror (errno));
        return;
    }
    if (rc == 1)
        complete (e);
}

static void start_next (eng_t *e)
{
    while (!e->cur && e->qhead && !e->stop) {
        e->cur = e->qhead;
        e->qhead = e->cur->next;
        if (!e->qhead)
            e->qtail = NULL;
        e->qlen--;
        e->cur->next = NULL;
        start_one (e);
    }
}

static void enqueue (eng_t *e, zpar_msg_t *m, int q)
{
    qent_t *t = calloc (1, sizeof (*t));
    if (!t) {
        zpar__err ("out of memory: task %" PRIu64 " dropped", m->hdr.task);
        msg_put (e, m);
        return;
    }
    t->m = m;
    t->q = q;
    if (e->qtail)
        e->qtail->next = t;
    else
        e->qhead = t;
    e->qtail = t;
    e->qlen++;
}

/* ------------------------------------------------------------- control */

static void control_reply (eng_t *e, const zpar_msg_t *req, uint64_t count)
{
    zpar_msg_t *m = msg_get (e, ZPAR_MSG_CONTROL_REPLY);
    if (!m)
        return;
    copy_envelope (m, req);
    m->hdr.task = req->hdr.task;
    m->hdr.client = req->hdr.client;
    m->hdr.engine = e->id;
    (void)zpar__msg_add_u64 (m, ZPAR_F_COUNT, count);
    if (send_on (e, Q_CONTROL, m) < 0)
        zpar__warn ("control reply not sent: %s", zmq_strerror (errno));
    msg_put (e, m);
}

static uint64_t abort_queued (eng_t *e, uint64_t task)
{
    qent_t **pp = &e->qhead, *prev = NULL;
    while (*pp) {
        qent_t *t = *pp;
        if (t->m->hdr.task == task) {
            zpar_msg_t *m;
            *pp = t->next;
            if (e->qtail == t)
                e->qtail = prev;
            e->qlen--;
            if ((m = result_begin (e, t->m, ZPAR_STATUS_ABORTED))) {
                (void)zpar__msg_add_u64 (m, ZPAR_F_EXIT, UINT64_MAX);
                (void)zpar__msg_add_str (m, ZPAR_F_ERROR, "aborted before it ran");
                send_result (e, t->q, m);
            }
            msg_put (e, t->m);
            free (t);
            return 1;
        }
        prev = t;
        pp = &t->next;
    }
    return 0;
}

/* The task scheduler asks for a task back (work stealing): give it back
 * (an aborted result on the task queue) if it has not started, else say so
 * with a control reply on the same queue. */
static void handle_steal (eng_t *e, zpar_msg_t *m)
{
    zpar_msg_t *r;
    if (abort_queued (e, m->hdr.task))
        return;
    if (!(r = msg_get (e, ZPAR_MSG_CONTROL_REPLY)))
        return;
    copy_envelope (r, m);
    r->hdr.task = m->hdr.task;
    r->hdr.client = m->hdr.client;
    r->hdr.engine = e->id;
    (void)zpar__msg_add_u64 (r, ZPAR_F_COUNT, 0);
    if (send_on (e, Q_TASK, r) < 0)
        zpar__warn ("steal reply not sent: %s", zmq_strerror (errno));
    msg_put (e, r);
}

static void handle_control (eng_t *e, zpar_msg_t *m)
{
    switch (m->hdr.type) {
    case ZPAR_MSG_ABORT:
        control_reply (e, m, abort_queued (e, m->hdr.task));
        break;
    case ZPAR_MSG_INTERRUPT: {
        int did = zpar__runner_interrupt (e->runner, INTERRUPT_GRACE_MS) == 0;
        if (did)
            zpar__info ("interrupting the running task");
        control_reply (e, m, did ? 1 : 0);
        break;
    }
    case ZPAR_MSG_SHUTDOWN:
        zpar__info ("shutdown requested");
        control_reply (e, m, 1);
        e->stop = 1;
        break;
    default:
        zpar__warn ("control: unexpected %s dropped", zpar__msg_type_name (m->hdr.type));
    }
}

/* Receive everything ready on queue socket q. */
static void drain_queue (eng_t *e, int q)
{
    zpar_error_t err;
    while (e->connected && e->sock[q]) {
        if (!e->rx && !(e->rx = zpar__msg_create (ZPAR_MSG_NONE)))
            return;
        if (zpar__wire_recv (e->sock[q], e->signer, e->rx, ZMQ_DONTWAIT, &err) < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            zpar__warn ("%s: message dropped: %s", qname[q], err.text);
            continue;
        }
        if (q == Q_CONTROL) {
            handle_control (e, e->rx);
            continue;
        }
        if (q == Q_TASK && e->rx->hdr.type == ZPAR_MSG_ABORT) {
            handle_steal (e, e->rx);
            continue;
        }
        if (e->rx->hdr.type != ZPAR_MSG_TASK) {
            zpar__warn ("%s: unexpected %s dropped", qname[q],
                        zpar__msg_type_name (e->rx->hdr.type));
            continue;
        }
        enqueue (e, e->rx, q);
        e->rx = NULL;
        if (e->npool > 0)
            e->rx = e->pool[--e->npool];
    }
}

/* ----------------------------------------------------------------- run */

static void make_uuid (char *buf, size_t size)
{
    uint8_t r[16];
    size_t i;
    if (getrandom (r, sizeof (r), 0) != (ssize_t)sizeof (r)) {
        uint64_t t = zpar__now_us () ^ ((uint64_t)getpid () << 32);
        memcpy (r, &t, 8);
        t = zpar__mono_us ();
        memcpy (r + 8, &t, 8);
    }
    for (i = 0; i < sizeof (r) && 2 * i + 2 < size; i++)
        snprintf (buf + 2 * i, 3, "%02x", r[i]);
}

static void cleanup (eng_t *e)
{
    qent_t *t;
    disconnect (e);
    close_sock (&e->reg);
    zpar__runner_destroy (e->runner);
    e->runner = NULL;
    while ((t = e->qhead)) {
        e->qhead = t->next;
        zpar__msg_destroy (t->m);
        free (t);
    }
    while ((t = e->outhead)) {
        e->outhead = t->next;
        zpar__msg_destroy (t->m);
        free (t);
    }
    if (e->cur) {
        zpar__msg_destroy (e->cur->m);
        free (e->cur);
        e->cur = NULL;
    }
    zpar__msg_destroy (e->rx);
    for (int i = 0; i < e->npool; i++)
        zpar__msg_destroy (e->pool[i]);
    e->npool = 0;
    zpar__signer_destroy (e->signer);
    if (e->zctx)
        zmq_ctx_term (e->zctx);
}

static void unregister (eng_t *e)
{
    zpar_msg_t *m;
    int linger = 500;
    if (!e->reg || !e->id || !(m = msg_get (e, ZPAR_MSG_UNREGISTER)))
        return;
    m->hdr.engine = e->id;
    zmq_setsockopt (e->reg, ZMQ_LINGER, &linger, sizeof (linger));
    (void)zpar__wire_send (e->reg, e->signer, m, ZMQ_DONTWAIT);
    msg_put (e, m);
}

int zpar__engine_run (const zpar_engine_opts_t *opts, zpar_error_t *err)
{
    eng_t eng, *e = &eng;
    struct sigaction sa, old_term, old_int, old_pipe;
    int rc = -1;

    if (!opts || (!opts->conninfo && !opts->connection_file))
        return zpar__errnoprintf (err, EINVAL, "engine: no connection information given");
    memset (e, 0, sizeof (*e));
    e->opts = opts;
    if (opts->conninfo)
        e->ci = *opts->conninfo;
    else if (zpar__conn_read (opts->connection_file, &e->ci, err) < 0)
        return -1;
    if (zpar__zmq_version_check (err) < 0)
        return -1;
    if (gethostname (e->host, sizeof (e->host) - 1) < 0)
        snprintf (e->host, sizeof (e->host), "localhost");
    make_uuid (e->uuid, sizeof (e->uuid));

    if (pipe2 (sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return zpar__errprintf (err, "engine: cannot create a pipe: %s", strerror (errno));
    eng_signaled = 0;
    memset (&sa, 0, sizeof (sa));
    sigemptyset (&sa.sa_mask);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction (SIGTERM, &sa, &old_term);
    sigaction (SIGINT, &sa, &old_int);
    sa.sa_handler = SIG_IGN;
    sigaction (SIGPIPE, &sa, &old_pipe);

    if (!(e->signer = zpar__signer_create (e->ci.key, 0))) {
        zpar__errprintf (err, "engine: cannot create the message signer: %s", strerror (errno));
        goto done;
    }
    if (!(e->zctx = zmq_ctx_new ())) {
        zpar__errprintf (err, "engine: cannot create a ZeroMQ context: %s", zmq_strerror (errno));
        goto done;
    }
    if (!(e->runner = zpar__runner_create (0, opts->rank, opts->mpi_comm, &eng_signaled, err)))
        goto done;
    zpar__runner_set_output_cb (e->runner, on_output, e);
    if (opts->register_timeout > 0)
        e->reg_give_up = zpar__mono_us () + (uint64_t)(opts->register_timeout * 1e6);
    zpar__info ("registering with the controller at %s", e->ci.addr[ZPAR_EP_REGISTRAR]);
    if (reg_send (e) < 0) {
        zpar__errprintf (err, "engine: cannot connect to %s: %s", e->ci.addr[ZPAR_EP_REGISTRAR],
                         zmq_strerror (errno));
        goto done;
    }

    while (!e->stop && !eng_signaled) {
        zmq_pollitem_t items[MAX_ITEMS];
        int n = 0, nrun, isig, ireg = -1, iq[NQ] = {-1, -1, -1}, icap = -1;
        uint64_t now = zpar__mono_us (), d, limit;
        long ms;

        items[isig = n++] = (zmq_pollitem_t){NULL, sig_pipe[0], ZMQ_POLLIN, 0};
        if (e->reg)
            items[ireg = n++] = (zmq_pollitem_t){e->reg, 0, ZMQ_POLLIN, 0};
        if (e->connected) {
            for (int q = 0; q < NQ; q++)
                items[iq[q] = n++] = (zmq_pollitem_t){e->sock[q], 0, ZMQ_POLLIN, 0};
            items[icap = n++] = (zmq_pollitem_t){e->hb_capture, 0, ZMQ_POLLIN, 0};
        }
        nrun = zpar__runner_pollitems (e->runner, items + n, MAX_ITEMS - n);

        /* the next timer */
        d = zpar__runner_deadline (e->runner);
        limit = e->hb_period_us * e->hb_misses + e->hb_period_us;
        if (limit < HB_MIN_LIMIT_US)
            limit = HB_MIN_LIMIT_US;
#define AT(t) do { uint64_t t_ = (t); if (t_ && (!d || t_ < d)) d = t_; } while (0)
        if (!e->connected) {
            AT (e->reg_sent + REG_RESEND_US);
            AT (e->reg_give_up);
        }
        else {
            AT (e->last_ping + limit);
            if (e->outhead)
                AT (now + OUTBOX_RETRY_US);
        }
#undef AT
        ms = !d ? -1 : d > now ? (long)((d - now + 999) / 1000) : 0;
        if (zmq_poll (items, n + nrun, ms) < 0) {
            if (errno != EINTR) {
                zpar__errprintf (err, "engine: poll failed: %s", zmq_strerror (errno));
                goto done;
            }
            continue;
        }
        if (items[isig].revents) {
            char buf[16];
            while (read (sig_pipe[0], buf, sizeof (buf)) > 0)
                ;
        }
        if (eng_signaled)
            break;
        if (ireg >= 0 && items[ireg].revents)
            drain_reg (e);
        if (e->connected) {
            /* control first: an abort must see the queue before it runs */
            if (iq[Q_CONTROL] >= 0 && items[iq[Q_CONTROL]].revents)
                drain_queue (e, Q_CONTROL);
            if (iq[Q_MUX] >= 0 && items[iq[Q_MUX]].revents)
                drain_queue (e, Q_MUX);
            if (iq[Q_TASK] >= 0 && items[iq[Q_TASK]].revents)
                drain_queue (e, Q_TASK);
            if (icap >= 0 && items[icap].revents)
                heart_drain (e);
        }
        if (e->stop)
            break;
        if (zpar__runner_handle (e->runner, items + n, nrun))
            complete (e);
        start_next (e);
        if (e->connected)
            flush_outbox (e);

        now = zpar__mono_us ();
        if (!e->connected) {
            if (e->reg_give_up && now >= e->reg_give_up && !e->registered_once) {
                zpar__errnoprintf (err, EHOSTUNREACH,
                                   "no answer from the controller at %s within %.1f s: is it "
                                   "running? (check the connection file %s)",
                                   e->ci.addr[ZPAR_EP_REGISTRAR], opts->register_timeout,
                                   opts->connection_file ? opts->connection_file : "given");
                goto done;
            }
            if (now >= e->reg_sent + REG_RESEND_US)
                (void)reg_send (e);
        }
        else {
            heart_drain (e); /* pings that came while an inline task ran */
            if (now > e->last_ping + limit || e->ctl_changed)
                controller_lost (e);
        }
    }
    rc = 0;
    if (eng_signaled)
        zpar__info ("signal %d: stopping", (int)eng_signaled);
done:
    if (e->runner && zpar__runner_busy (e->runner)) {
        zpar__info ("killing the running task");
        (void)zpar__runner_kill (e->runner, "the engine stopped");
    }
    if (rc == 0) {
        flush_outbox (e);
        unregister (e);
    }
    zpar__info ("engine %u exiting (%" PRIu64 " tasks run)", e->id, e->tasks_done);
    cleanup (e);
    sigaction (SIGTERM, &old_term, NULL);
    sigaction (SIGINT, &old_int, NULL);
    sigaction (SIGPIPE, &old_pipe, NULL);
    close (sig_pipe[0]);
    close (sig_pipe[1]);
    sig_pipe[0] = sig_pipe[1] = -1;
    return rc;
}
