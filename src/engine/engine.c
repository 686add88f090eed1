/* engine.c - a zpar engine: its sockets, controller loss, and the event
 * loop (src/common/reactor.h).
 *
 * The engine's parts, each on the one reactor of the engine's thread:
 *   engine_reg.c   registration with the controller (engine_int.h)
 *   heart.c        echoes pings (its own proxy thread), reports loss
 *   task_runner.c  the task queue, results, control requests, IOPub
 *   runner*.c      one task at a time in a child process
 * This file owns the sockets and passes what they deliver on.  SIGTERM and
 * SIGINT (and SIGHUP) come through signal watchers (the program blocks
 * them).  See
 * doc/engine.md. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <zmq.h>

#include "curve.h"
#include "engine_int.h"
#include "error.h"
#include "log.h"
#include "netlimit.h"
#include "zpar.h"

static const char *qname[ZPAR_ENGINE_NQ] = {"mux", "task", "control"};
/* the channel each queue's messages are signed for, both ways */
static const zpar_chan_t qchan[ZPAR_ENGINE_NQ] = {ZPAR_CHAN_MUX, ZPAR_CHAN_TASK, ZPAR_CHAN_CONTROL};

/* ------------------------------------------------------------- sockets */

void zpar__eng_close_sock (void **s)
{
    if (*s) {
        zmq_close (*s);
        *s = NULL;
    }
}

void *zpar__eng_mksock (eng_t *e, int type, const char *addr, const zpar_route_t *ident, int linger)
{
    void *s = zmq_socket (e->zctx, type);
    if (!s)
        return NULL;
    zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof (linger));
    if (ident)
        zmq_setsockopt (s, ZMQ_ROUTING_ID, ident->b, sizeof (ident->b));
    (void)zpar__netlimit_apply (s, type == ZMQ_PUB ? ZPAR_NET_PUB : ZPAR_NET_DATA);
    if (zpar__curve_client (s, &e->ci.curve, ZPAR_CURVE_ENGINE) < 0) {
        zpar__err ("cannot set the CURVE keys for %s: %s", addr ? addr : "?", zmq_strerror (errno));
        zmq_close (s);
        return NULL;
    }
    if (addr && zmq_connect (s, addr) < 0) {
        zpar__err ("cannot connect to %s: %s", addr, zmq_strerror (errno));
        zmq_close (s);
        return NULL;
    }
    return s;
}

void zpar__eng_stop (eng_t *e)
{
    e->stop = 1;
    zpar__reactor_stop (e->reactor);
}

/* Receive into e->rx a message signed for channel chan; 0, or -1 when
 * nothing more is ready. */
int zpar__eng_recv_one (eng_t *e, void *sock, zpar_chan_t chan, const char *what)
{
    zpar_error_t err;
    for (;;) {
        if (!e->rx && !(e->rx = zpar__msg_create (ZPAR_MSG_NONE)))
            return -1;
        if (zpar__wire_recv_chan (sock, e->signer, chan, e->rx, ZMQ_DONTWAIT, &err) == 0)
            return 0;
        if (errno == EAGAIN || errno == EINTR)
            return -1;
        zpar__warn ("%s: message dropped: %s", what, err.text);
    }
}

/* ------------------------------------------------- task runner's needs */

static int tr_send (void *arg, zpar_engine_queue_t q, zpar_msg_t *m)
{
    eng_t *e = arg;
    if (!e->connected || !e->sock[q]) {
        errno = ENOTCONN;
        return -1;
    }
    /* a result, and no ping for the heart's limit: the controller may be
     * gone (we keep our connection, on_heart_lost): the result waits in
     * the outbox rather than in a connection a new controller would not
     * take it from; it goes once the pings come back, or after we
     * registered again */
    if (m->hdr.type == ZPAR_MSG_RESULT && e->heart &&
        zpar__mono_us () - zpar__heart_last_ping_us (e->heart) > zpar__heart_limit_us (e->heart)) {
        errno = ENOTCONN;
        return -1;
    }
    return zpar__wire_send_chan (e->sock[q], e->signer, qchan[q], m, ZMQ_DONTWAIT);
}

/* The connection checks of tr_send: 0 when a result may go on q now. */
static int can_send_result (eng_t *e, zpar_engine_queue_t q)
{
    if (!e->connected || !e->sock[q]) {
        errno = ENOTCONN;
        return -1;
    }
    if (e->heart &&
        zpar__mono_us () - zpar__heart_last_ping_us (e->heart) > zpar__heart_limit_us (e->heart)) {
        errno = ENOTCONN;
        return -1;
    }
    return 0;
}

/* Results of the task queue as one batch (the task runner's send_batch;
 * only results go this way). */
static int tr_send_batch (void *arg, zpar_engine_queue_t q, zpar_batch_t *b, int nenv,
                          const zpar_ident_t *env)
{
    eng_t *e = arg;
    if (can_send_result (e, q) < 0) {
        zpar__batch_reset (b);
        return -1;
    }
    return zpar__batch_send (b, e->sock[q], e->signer, qchan[q], nenv, env, ZMQ_DONTWAIT, NULL);
}

static void tr_publish (void *arg, zpar_msg_t *m)
{
    eng_t *e = arg;
    if (e->connected && e->iopub)
        (void)zpar__wire_send_chan (e->iopub, e->signer, ZPAR_CHAN_IOPUB, m, ZMQ_DONTWAIT);
}

static void tr_shutdown (void *arg)
{
    zpar__eng_stop (arg);
}

/* Hand e->rx, received on queue q, to the task runner; a batch item by
 * item, each as if it had come alone with the batch's routing envelope
 * (doc/protocol.md, "Batches"): the runner's checks apply to each, and a
 * bad item is dropped alone. */
static void deliver (eng_t *e, zpar_engine_queue_t q)
{
    zpar_batch_iter_t it;
    zpar_error_t err;
    zpar_hdr_t h;
    const void *body;
    size_t blen;
    int rc;

    if (e->rx->hdr.type != ZPAR_MSG_BATCH) {
        (void)zpar__task_runner_recv (e->tr, q, &e->rx);
        return;
    }
    if (zpar__batch_iter_msg (&it, e->rx, &err) < 0) {
        zpar__warn ("%s: batch dropped: %s", qname[q], err.text);
        return;
    }
    while ((rc = zpar__batch_next (&it, &h, &body, &blen, &err)) != 0) {
        if (rc < 0) {
            zpar__warn ("%s: batch item dropped: %s", qname[q], err.text);
            continue;
        }
        if (!e->item && !(e->item = zpar__msg_create (ZPAR_MSG_NONE))) {
            zpar__err ("%s: out of memory: batch item %" PRIu64 " dropped", qname[q], h.task);
            continue;
        }
        if (zpar__batch_item_msg (&h, body, blen, e->item, &err) < 0 ||
            zpar__msg_set_envelope (e->item, e->rx->nenv, e->rx->env) < 0) {
            zpar__warn ("%s: batch item dropped: %s", qname[q], err.text);
            continue;
        }
        /* takes e->item when it keeps it */
        (void)zpar__task_runner_recv (e->tr, q, &e->item);
    }
}

/* A queue socket is readable: hand everything over. */
static void on_queue (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    eng_t *e = arg;
    zpar_engine_queue_t q;
    (void)r;
    (void)revents;
    for (q = 0; q < ZPAR_ENGINE_NQ && e->w_sock[q] != w; q++)
        ;
    while (q < ZPAR_ENGINE_NQ && e->connected && !e->stop &&
           zpar__eng_recv_one (e, e->sock[q], qchan[q], qname[q]) == 0)
        deliver (e, q);
}

void zpar__eng_disconnect (eng_t *e)
{
    for (int i = 0; i < ZPAR_ENGINE_NQ; i++) {
        zpar__watcher_destroy (e->w_sock[i]);
        e->w_sock[i] = NULL;
        zpar__eng_close_sock (&e->sock[i]);
    }
    zpar__eng_close_sock (&e->iopub);
    zpar__heart_destroy (e->heart);
    e->heart = NULL;
    e->connected = 0;
}

/* Closing the queue sockets drops what they still hold (linger 0). */
void zpar__eng_discard_queued (eng_t *e)
{
    int zero = 0;
    for (int i = 0; i < ZPAR_ENGINE_NQ; i++)
        if (e->sock[i])
            (void)zmq_setsockopt (e->sock[i], ZMQ_LINGER, &zero, sizeof (zero));
    if (e->iopub)
        (void)zmq_setsockopt (e->iopub, ZMQ_LINGER, &zero, sizeof (zero));
}

/* Take in what the queue sockets hold before they are closed: a task the
 * controller already sent us is held (and reported) rather than lost. */
void zpar__eng_drain_queues (eng_t *e)
{
    for (int q = 0; q < ZPAR_ENGINE_NQ; q++)
        while (e->sock[q] && !e->stop &&
               zpar__eng_recv_one (e, e->sock[q], qchan[q], qname[q]) == 0)
            deliver (e, (zpar_engine_queue_t)q);
}

static void on_heart_lost (zpar_heart_t *h, zpar_heart_loss_t why, void *arg)
{
    eng_t *e = arg;
    uint64_t now = zpar__mono_us ();
    switch (why) {
    case ZPAR_HEART_NEW_CONTROLLER:
        zpar__warn ("a new controller answers at the same address: registering again as engine %u",
                    e->id);
        break;
    case ZPAR_HEART_NUDGED:
        zpar__warn ("the controller does not count our heartbeats (it declared us dead): "
                    "registering again as engine %u",
                    e->id);
        break;
    case ZPAR_HEART_RESUMED:
        /* the hub nudges us if it declared us dead meanwhile; if it did
         * not, our tasks and their results are still good */
        zpar__warn ("the controller's pings reached us late (this engine was stopped, starved "
                    "or cut off for longer than the heartbeat death limit): waiting for the "
                    "controller's word");
        return;
    default:
        zpar__warn ("no heartbeat from the controller for %.1f s: waiting for it (the "
                    "connection comes back by itself)",
                    (double)(now - zpar__heart_last_ping_us (h)) / 1e6);
        return;
    }
    zpar__eng_register_again (e);
}

/* The keeper fenced our tasks (a task held back, or its note): register
 * again, once per fence (doc/engine.md, "Fencing"). */
static void on_fence (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    eng_t *e = arg;
    (void)r, (void)w, (void)revents;
    if (e->stop || e->refencing || !zpar__keeper_fence_seen (e->keeper))
        return;
    zpar__warn ("the keeper fenced our tasks (no word from the controller for %u ms): registering "
                "again; nothing more runs until the controller says what is still ours",
                zpar__keeper_limit_ms (e->keeper));
    zpar__eng_register_again (e);
}

/* The keeper's notes came: a fence began? */
static void on_keeper (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    eng_t *e = arg;
    (void)r, (void)w, (void)revents;
    (void)zpar__keeper_read_notes (e->keeper);
    if (zpar__keeper_gone (e->keeper)) {
        zpar__watcher_stop (w); /* said by the next add */
        return;
    }
    if (zpar__keeper_fence_flag (e->keeper) && !e->refencing)
        zpar__timer_watcher_reset (e->w_fence, 0, 0);
}

static void tr_fenced (void *arg)
{
    zpar__timer_watcher_reset (((eng_t *)arg)->w_fence, 0, 0);
}

int zpar__eng_connect_queues (eng_t *e)
{
    zpar_heart_opts_t ho = {
        .ping_addr = e->addr_ping,
        .curve = &e->ci.curve,
        .pong_addr = e->addr_pong,
        .ident = (const char *)e->route.b,
        .ident_len = sizeof (e->route.b),
        .period_ms = e->hb_period_ms,
        .misses = e->hb_misses,
        .session = e->ctl_session,
        .keeper_fd = zpar__keeper_fd (e->keeper),
        .no_hold = e->opts->own_addrs,
        .lost = on_heart_lost,
        .arg = e,
    };
    zpar_error_t err;
    /* control first: the reactor serves watchers in the order they were
     * made, and an abort must be seen before the tasks of the same wake-up */
    static const zpar_engine_queue_t order[ZPAR_ENGINE_NQ] = {
        ZPAR_ENGINE_Q_CONTROL, ZPAR_ENGINE_Q_MUX, ZPAR_ENGINE_Q_TASK};
    for (int i = 0; i < ZPAR_ENGINE_NQ; i++) {
        zpar_engine_queue_t q = order[i];
        if (!(e->sock[q] = zpar__eng_mksock (e, ZMQ_DEALER, e->addr[q], &e->route, LINGER_MS)) ||
            !(e->w_sock[q] =
                  zpar__zmq_watcher_create (e->reactor, e->sock[q], ZPAR_EV_IN, on_queue, e)))
            goto error;
        zpar__watcher_start (e->w_sock[q]);
    }
    if (!(e->iopub = zpar__eng_mksock (e, ZMQ_PUB, e->addr_iopub, &e->route, LINGER_MS)))
        goto error;
    if (!(e->heart = zpar__heart_create (e->reactor, e->zctx, &ho, &err))) {
        zpar__err ("%s", err.text);
        goto error;
    }
    return 0;
error:
    zpar__eng_disconnect (e);
    return -1;
}

/* ----------------------------------------------------------------- run */

static void on_signal (zpar_reactor_t *r, zpar_watcher_t *w, int signum, void *arg)
{
    eng_t *e = arg;
    (void)r;
    (void)w;
    if (!e->signaled)
        zpar__info ("signal %d: stopping", signum);
    e->signaled = signum;
    zpar__eng_stop (e);
}

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
    zpar__task_runner_destroy (e->tr);
    zpar__eng_disconnect (e);
    zpar__watcher_destroy (e->w_reg);
    zpar__eng_close_sock (&e->reg);
    zpar__msg_destroy (e->rx);
    zpar__msg_destroy (e->item);
    zpar__reactor_destroy (e->reactor); /* and the remaining watchers */
    zpar__signer_destroy (e->signer);
    if (e->zctx)
        zmq_ctx_term (e->zctx);
    zpar__keeper_stop (e->keeper); /* after the tasks: nothing is left to kill */
}

/* The reactor, the signal watchers (first: before any thread), timers. */
static int setup (eng_t *e, zpar_error_t *err)
{
    /* SIGHUP too: the program blocks it, and its default action (a closed
     * terminal, a killed session) ended the engine */
    static const int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
    const zpar_engine_opts_t *opts = e->opts;
    zpar_task_runner_opts_t to = {
        .host = e->host,
        .rank = opts->rank,
        .mpi_comm = opts->mpi_comm,
        .cancelled = &e->stop,
        .keeper = e->keeper,
    };
    zpar_task_runner_ops_t ops = {
        .send = tr_send,
        .send_batch = tr_send_batch,
        .publish = tr_publish,
        .shutdown = tr_shutdown,
        .fenced = tr_fenced,
        .arg = e,
    };

    if (!(e->reactor = zpar__reactor_create ()))
        return zpar__errprintf (err, "engine: out of memory");
    for (int i = 0; i < 3; i++) {
        if (!(e->w_sig[i] = zpar__signal_watcher_create (e->reactor, sigs[i], on_signal, e)))
            return zpar__errprintf (err, "engine: cannot watch signal %d: %s", sigs[i],
                                    strerror (errno));
        zpar__watcher_start (e->w_sig[i]);
    }
    if (!(e->signer = zpar__signer_create (e->ci.key, 0)))
        return zpar__errprintf (err, "engine: cannot create the message signer: %s",
                                strerror (errno));
    if (!(e->zctx = zmq_ctx_new ()))
        return zpar__errprintf (err, "engine: cannot create a ZeroMQ context: %s",
                                zmq_strerror (errno));
    if (!(e->tr = zpar__task_runner_create (e->reactor, &ops, &to, err)))
        return -1;
    if (!(e->w_resend = zpar__timer_watcher_create (e->reactor, REG_RESEND_MS, REG_RESEND_MS,
                                                    zpar__eng_on_resend, e)))
        return zpar__errprintf (err, "engine: out of memory");
    zpar__watcher_start (e->w_resend);
    if (!(e->w_fence = zpar__timer_watcher_create (e->reactor, 0, 0, on_fence, e)) ||
        (e->keeper && !(e->w_keeper = zpar__fd_watcher_create (
                            e->reactor, zpar__keeper_fd (e->keeper), ZPAR_EV_IN, on_keeper, e))))
        return zpar__errprintf (err, "engine: out of memory");
    if (e->w_keeper)
        zpar__watcher_start (e->w_keeper);
    if (opts->register_timeout > 0) {
        if (!(e->w_giveup = zpar__timer_watcher_create (e->reactor,
                                                        (uint64_t)(opts->register_timeout * 1000.0),
                                                        0, zpar__eng_on_giveup, e)))
            return zpar__errprintf (err, "engine: out of memory");
        zpar__watcher_start (e->w_giveup);
    }
    return 0;
}

int zpar__engine_run (const zpar_engine_opts_t *opts, zpar_error_t *err)
{
    eng_t eng, *e = &eng;

    if (!opts || (!opts->conninfo && !opts->connection_file))
        return zpar__errnoprintf (err, EINVAL, "engine: no connection information given");
    memset (e, 0, sizeof (*e));
    e->opts = opts;
    e->err = err;
    if (opts->conninfo)
        e->ci = *opts->conninfo;
    else if (zpar__conn_read (opts->connection_file, &e->ci, err) < 0)
        return -1;
    if (zpar__conn_pick (&e->ci, opts->interface, &e->pick, err) < 0 ||
        zpar__zmq_version_check (err) < 0)
        return -1;
    if (gethostname (e->host, sizeof (e->host) - 1) < 0)
        snprintf (e->host, sizeof (e->host), "localhost");
    make_uuid (e->uuid, sizeof (e->uuid));
    {
        /* before the ZeroMQ threads: the keeper is forked */
        zpar_error_t kerr;
        if (!(e->keeper = zpar__keeper_start (&kerr)))
            zpar__warn ("%s: task processes are contained by their parent-death signal only",
                        kerr.text);
    }

    if (setup (e, err) < 0) {
        e->rc = -1;
        goto done;
    }
    zpar__info ("registering with the controller at %s (%s%s)", e->ci.addr[ZPAR_EP_REGISTRAR],
                e->pick.why[0], e->pick.n > 1 ? "; the others in turn if it does not answer" : "");
    if (zpar__eng_reg_send (e) < 0) {
        zpar__errprintf (err, "engine: cannot connect to %s: %s", e->ci.addr[ZPAR_EP_REGISTRAR],
                         zmq_strerror (errno));
        e->rc = -1;
        goto done;
    }
    if (zpar__reactor_run (e->reactor) < 0) {
        zpar__errprintf (err, "engine: poll failed: %s", zmq_strerror (errno));
        e->rc = -1;
    }
done:
    (void)zpar__task_runner_stop (e->tr);
    if (e->rc == 0) {
        zpar__task_runner_flush (e->tr);
        zpar__eng_unregister (e);
    }
    {
        uint64_t nb, nr = zpar__task_runner_batched (e->tr, &nb);
        zpar__info ("engine %u exiting (%" PRIu64 " tasks run; %" PRIu64 " results sent in %" PRIu64
                    " batches)",
                    e->id, zpar__task_runner_done (e->tr), nr, nb);
    }
    cleanup (e);
    return e->rc;
}

int zpar__engine_connection_file (const char *given, char *buf, size_t size, zpar_error_t *err)
{
    const char *env = getenv ("ZPAR_ENGINE_CONNECTION_FILE");
    if (given)
        snprintf (buf, size, "%s", given);
    else if (env && *env)
        snprintf (buf, size, "%s", env);
    else if (size < 16 || zpar__cluster_dir (buf, size - 16) < 0) {
        zpar_error_t why = {{0}};
        zpar__zpar_dir_error (&why);
        return zpar__errnoprintf (err, EINVAL, "%s (or pass --connection-file)", why.text);
    } else
        strcat (buf, "/engine.json");
    if (access (buf, R_OK) < 0)
        return zpar__errnoprintf (err, errno,
                                  "cannot read the connection file %s: %s: start a controller "
                                  "first ('zpar controller' or 'zpar cluster start'), or pass "
                                  "--connection-file DIR/engine.json",
                                  buf, strerror (errno));
    return 0;
}
