/* engine.c - a zpar engine: registration with the controller, its
 * sockets, controller loss, and the event loop (src/common/reactor.h).
 *
 * The engine's parts, each on the one reactor of the engine's thread:
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

#include "addrpick.h"
#include "conn.h"
#include "curve.h"
#include "engine.h"
#include "error.h"
#include "heart.h"
#include "keeper.h"
#include "log.h"
#include "msg.h"
#include "netlimit.h"
#include "proto_control.h"
#include "proto_registrar.h"
#include "reactor.h"
#include "route.h"
#include "task_runner.h"
#include "wire.h"
#include "zpar.h"

#define REG_RESEND_MS        1000u /* resend a registration after 1 s */
#define LINGER_MS            1000
#define UNREGISTER_LINGER_MS 500

static const char *qname[ZPAR_ENGINE_NQ] = {"mux", "task", "control"};
/* the channel each queue's messages are signed for, both ways */
static const zpar_chan_t qchan[ZPAR_ENGINE_NQ] = {ZPAR_CHAN_MUX, ZPAR_CHAN_TASK, ZPAR_CHAN_CONTROL};

typedef struct {
    const zpar_engine_opts_t *opts;
    zpar_error_t *err;
    int rc;
    zpar_conninfo_t ci;
    zpar_pick_t pick;  /* the controller's addresses to try (addrpick.h) */
    unsigned attempts; /* registrations sent before the first reply */
    void *zctx;
    zpar_signer_t *signer;
    zpar_reactor_t *reactor;
    zpar_task_runner_t *tr;
    zpar_keeper_t *keeper; /* kills our tasks' groups if we die (keeper.h) */
    zpar_heart_t *heart;
    char host[256];
    char uuid[40];
    zpar_route_t route; /* our routing identity, from the registration reply */
    uint32_t id;
    int registered_once;
    int connected;

    void *reg; /* DEALER to the registrar */
    zpar_watcher_t *w_reg;
    zpar_watcher_t *w_resend; /* registration resend, while not connected */
    zpar_watcher_t *w_giveup; /* first registration's deadline */
    zpar_watcher_t *w_sig[3]; /* SIGTERM, SIGINT, SIGHUP */

    void *sock[ZPAR_ENGINE_NQ]; /* DEALERs: mux, task, control */
    zpar_watcher_t *w_sock[ZPAR_ENGINE_NQ];
    void *iopub; /* PUB */
    char addr[ZPAR_ENGINE_NQ][ZPAR_ADDR_MAX];
    char addr_iopub[ZPAR_ADDR_MAX];
    char addr_ping[ZPAR_ADDR_MAX];
    char addr_pong[ZPAR_ADDR_MAX];
    uint64_t hb_period_ms;
    unsigned hb_misses;
    uint64_t ctl_session;  /* session of the controller we registered with */
    uint64_t reg_at;       /* mono us of the last registration reply */
    uint64_t resend_since; /* the controller was lost: results sent since then go again */
    int refencing;         /* registering again after a fence: its reply ends it */
    zpar_watcher_t *w_fence;
    zpar_watcher_t *w_keeper; /* the keeper's notes */

    zpar_msg_t *rx;
    volatile sig_atomic_t stop; /* also what inline tasks see as cancelled */
    int signaled;
} eng_t;

/* ------------------------------------------------------------- sockets */

static void close_sock (void **s)
{
    if (*s) {
        zmq_close (*s);
        *s = NULL;
    }
}

static void *mksock (eng_t *e, int type, const char *addr, const zpar_route_t *ident, int linger)
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

static void stop_engine (eng_t *e)
{
    e->stop = 1;
    zpar__reactor_stop (e->reactor);
}

/* Receive into e->rx a message signed for channel chan; 0, or -1 when
 * nothing more is ready. */
static int recv_one (eng_t *e, void *sock, zpar_chan_t chan, const char *what)
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

static void tr_publish (void *arg, zpar_msg_t *m)
{
    eng_t *e = arg;
    if (e->connected && e->iopub)
        (void)zpar__wire_send_chan (e->iopub, e->signer, ZPAR_CHAN_IOPUB, m, ZMQ_DONTWAIT);
}

static void tr_shutdown (void *arg)
{
    stop_engine (arg);
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
           recv_one (e, e->sock[q], qchan[q], qname[q]) == 0)
        (void)zpar__task_runner_recv (e->tr, q, &e->rx);
}

/* --------------------------------------------------------- registration */

static void on_reg (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg);

static int reg_send (eng_t *e)
{
    zpar_proto_reg_engine_t req;
    zpar_tid_t *held = NULL;
    size_t nheld, nsent;
    zpar_msg_t *m;
    int rc = -1;

    memset (&req, 0, sizeof (req));
    /* a fresh socket per attempt: nothing stale queued, no stale reply */
    zpar__watcher_destroy (e->w_reg);
    e->w_reg = NULL;
    close_sock (&e->reg);
    if (!(e->reg = mksock (e, ZMQ_DEALER, e->ci.addr[ZPAR_EP_REGISTRAR], NULL, 0)))
        return -1;
    if (!(e->w_reg = zpar__zmq_watcher_create (e->reactor, e->reg, ZPAR_EV_IN, on_reg, e)))
        return -1;
    zpar__watcher_start (e->w_reg);
    if (!(m = zpar__msg_create (ZPAR_MSG_REGISTER_ENGINE)))
        return -1;
    req.h.engine = zpar__eid (e->id);
    req.host = e->host;
    req.pid = (uint64_t)getpid ();
    req.rank = e->opts->rank >= 0 ? e->opts->rank : -1;
    req.want = zpar__eid (e->id ? e->id : e->opts->want_id);
    req.uuid = e->uuid;
    /* the tasks we hold: the controller adopts them or tells us to drop
     * them (doc/protocol.md, HELD / DROP) */
    nheld = zpar__task_runner_held (e->tr, NULL, 0);
    /* and the results we send again once registered: the lost controller
     * may not have recorded them; adopted, they are taken when they come
     * instead of the task being queued again at the end of the recovery
     * window */
    nsent = e->resend_since ? zpar__task_runner_sent_since (e->tr, e->resend_since, NULL, 0) : 0;
    if (nheld + nsent > 0) {
        if ((held = calloc (nheld + nsent, sizeof (*held)))) {
            req.nheld = zpar__task_runner_held (e->tr, held, nheld);
            if (nsent)
                req.nheld +=
                    zpar__task_runner_sent_since (e->tr, e->resend_since, held + req.nheld, nsent);
            if (req.nheld > nheld + nsent)
                req.nheld = nheld + nsent;
        }
        /* else out of memory: the controller retries them elsewhere */
        req.held = held;
    }
    if (zpar__proto_reg_engine_encode (m, &req) == 0)
        rc = zpar__wire_send_chan (e->reg, e->signer, ZPAR_CHAN_REGISTRAR, m, ZMQ_DONTWAIT);
    zpar__msg_destroy (m);
    free (held);
    if (rc < 0 && errno != EAGAIN)
        zpar__warn ("registration: send failed: %s", zmq_strerror (errno));
    return 0;
}

static void on_resend (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    eng_t *e = arg;
    (void)r;
    (void)w;
    (void)revents;
    if (e->connected)
        return;
    /* before the first answer: the best address, then each in turn */
    if (!e->registered_once) {
        (void)zpar__conn_pick_attempt (&e->ci, &e->pick, ++e->attempts);
        if (e->attempts == 10 || e->attempts % 60 == 0)
            zpar__warn ("no answer from the controller after %u attempts; now trying %s (%s)",
                        e->attempts, e->ci.addr[ZPAR_EP_REGISTRAR], e->pick.why[e->pick.cur]);
    }
    (void)reg_send (e);
}

static void on_giveup (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    eng_t *e = arg;
    (void)r;
    (void)w;
    (void)revents;
    if (e->registered_once)
        return;
    {
        char tried[1024];
        const char *ep = e->ci.addr[ZPAR_EP_REGISTRAR];
        zpar__conn_pick_describe (&e->pick, ep, e->pick.tried, 1, tried, sizeof (tried));
        zpar__err ("no answer from the controller within %.1f s; tried %s; connection %s",
                   e->opts->register_timeout, tried,
                   e->opts->connection_file ? e->opts->connection_file : "from the launcher");
        zpar__conn_pick_describe (&e->pick, ep, e->pick.tried, 0, tried, sizeof (tried));
        zpar__errnoprintf (e->err, EHOSTUNREACH,
                           "no answer from the controller within %.1f s at %s: is it running and "
                           "reachable from here? (--interface / ZPAR_INTERFACE choose)",
                           e->opts->register_timeout, tried);
    }
    e->rc = -1;
    stop_engine (e);
}

static int copy_addr (const zpar_proto_reg_engine_reply_t *rep, zpar_addr_kind_t k, char *dst,
                      const char *what)
{
    const char *a = rep->addr[k];
    if (!a || !*a || strlen (a) >= ZPAR_ADDR_MAX) {
        zpar__err ("registration reply without a valid %s address", what);
        return -1;
    }
    strcpy (dst, a);
    return 0;
}

static void disconnect (eng_t *e)
{
    for (int i = 0; i < ZPAR_ENGINE_NQ; i++) {
        zpar__watcher_destroy (e->w_sock[i]);
        e->w_sock[i] = NULL;
        close_sock (&e->sock[i]);
    }
    close_sock (&e->iopub);
    zpar__heart_destroy (e->heart);
    e->heart = NULL;
    e->connected = 0;
}

/* Closing the queue sockets drops what they still hold (linger 0). */
static void discard_queued (eng_t *e)
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
static void drain_queues (eng_t *e)
{
    for (int q = 0; q < ZPAR_ENGINE_NQ; q++)
        while (e->sock[q] && !e->stop && recv_one (e, e->sock[q], qchan[q], qname[q]) == 0)
            (void)zpar__task_runner_recv (e->tr, (zpar_engine_queue_t)q, &e->rx);
}

/* Register again (the controller was lost, declared us dead, or the
 * keeper fenced): report what we hold; the reply says what to drop. */
static void register_again (eng_t *e)
{
    e->ctl_session = 0;
    drain_queues (e);
    /* what we sent since a little before the lost controller's last ping
     * may be lost with it: it commits its records every 50 ms, but an
     * overloaded one can be seconds late; go back the death limit and 1 s
     * more (a result it did record is in DROP, and forgotten) */
    if (!e->resend_since) {
        uint64_t last = zpar__heart_last_ping_us (e->heart),
                 back = 1000000u + (uint64_t)e->hb_period_ms * 1000u * (e->hb_misses + 1u);
        e->resend_since = last > back ? last - back : 1;
    }
    /* a fence seen before this registration ends with its reply */
    if (zpar__keeper_fence_seen (e->keeper))
        e->refencing = 1;
    /* what the queue sockets still hold for the lost controller is thrown
     * away, not delivered to a new one under our old routing identity
     * (which it would drop): it is sent again after we register */
    discard_queued (e);
    disconnect (e); /* destroys the heart */
    (void)reg_send (e);
    zpar__timer_watcher_reset (e->w_resend, REG_RESEND_MS, REG_RESEND_MS);
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
    register_again (e);
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
    register_again (e);
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

static int connect_queues (eng_t *e)
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
        if (!(e->sock[q] = mksock (e, ZMQ_DEALER, e->addr[q], &e->route, LINGER_MS)) ||
            !(e->w_sock[q] =
                  zpar__zmq_watcher_create (e->reactor, e->sock[q], ZPAR_EV_IN, on_queue, e)))
            goto error;
        zpar__watcher_start (e->w_sock[q]);
    }
    if (!(e->iopub = mksock (e, ZMQ_PUB, e->addr_iopub, &e->route, LINGER_MS)))
        goto error;
    if (!(e->heart = zpar__heart_create (e->reactor, e->zctx, &ho, &err))) {
        zpar__err ("%s", err.text);
        goto error;
    }
    return 0;
error:
    disconnect (e);
    return -1;
}

/* Fencing (doc/engine.md): the keeper kills our tasks' groups after
 * HB_MISSES periods minus half a period without a ping, a period before
 * the controller's death limit ((HB_MISSES + 0.5) periods); ZPAR_FENCE=0
 * turns it off.  A registration reply is word from the controller: tick. */
static void set_fence (eng_t *e)
{
    const char *env = getenv ("ZPAR_FENCE");
    uint64_t period = e->hb_period_ms, limit = period * e->hb_misses;
    limit = limit > period / 2 ? limit - period / 2 : 0;
    if (env && *env && strcmp (env, "0") == 0)
        limit = 0;
    if (!e->keeper)
        return;
    if (limit > INT32_MAX)
        limit = INT32_MAX;
    if (period > INT32_MAX)
        period = INT32_MAX;
    if (zpar__keeper_limit_ms (e->keeper) != (uint32_t)limit) {
        if (limit)
            zpar__info ("fencing: tasks are killed after %" PRIu64
                        " ms without word from the controller",
                        limit);
        else
            zpar__info ("fencing off (ZPAR_FENCE=0)");
    }
    (void)zpar__keeper_fence_limit (e->keeper, (uint32_t)limit, (uint32_t)period);
    (void)zpar__keeper_tick (e->keeper);
}

/* The engine-side addresses of our connection information instead of
 * the reply's (zpar_engine_opts_t.own_addrs). */
static void use_own_addrs (eng_t *e)
{
    snprintf (e->addr[ZPAR_ENGINE_Q_MUX], ZPAR_ADDR_MAX, "%s", e->ci.addr[ZPAR_EP_MUX_ENGINE]);
    snprintf (e->addr[ZPAR_ENGINE_Q_TASK], ZPAR_ADDR_MAX, "%s", e->ci.addr[ZPAR_EP_TASK_ENGINE]);
    snprintf (e->addr[ZPAR_ENGINE_Q_CONTROL], ZPAR_ADDR_MAX, "%s",
              e->ci.addr[ZPAR_EP_CONTROL_ENGINE]);
    snprintf (e->addr_iopub, ZPAR_ADDR_MAX, "%s", e->ci.addr[ZPAR_EP_IOPUB_ENGINE]);
    snprintf (e->addr_ping, ZPAR_ADDR_MAX, "%s", e->ci.addr[ZPAR_EP_HB_PING]);
    snprintf (e->addr_pong, ZPAR_ADDR_MAX, "%s", e->ci.addr[ZPAR_EP_HB_PONG]);
}

/* What the registrar says: SHUTDOWN, or the reply to our registration. */
static void handle_reg_reply (eng_t *e, zpar_msg_t *m)
{
    zpar_proto_reg_engine_reply_t rep;
    zpar_proto_control_t c;
    zpar_error_t err;
    char role[32];

    if (m->hdr.type == ZPAR_MSG_SHUTDOWN && zpar__proto_control_decode (m, &c, &err) == 0) {
        /* the hub also says shutdown here: this socket is connected from
         * the first registration on, the queues only after the reply */
        if (!e->stop)
            zpar__info ("shutdown requested (registrar)");
        stop_engine (e);
        return;
    }
    if (m->hdr.type != ZPAR_MSG_REGISTER_ENGINE_REPLY) {
        zpar__debug ("registrar: unexpected %s ignored", zpar__msg_type_name (m->hdr.type));
        return;
    }
    if (e->connected)
        return; /* a late duplicate */
    if (zpar__proto_reg_engine_reply_decode (m, &rep, &err) < 0) {
        zpar__err ("registration reply malformed: %s (retrying)", err.text);
        return;
    }
    if (rep.h.engine.v == 0) {
        zpar__err ("the controller refused registration: %s (retrying)",
                   rep.error ? rep.error : "no reason given");
        goto done;
    }
    e->ctl_session = m->hdr.session; /* the controller's incarnation */
    if (copy_addr (&rep, ZPAR_ADDR_MUX, e->addr[ZPAR_ENGINE_Q_MUX], "mux") < 0 ||
        copy_addr (&rep, ZPAR_ADDR_TASK, e->addr[ZPAR_ENGINE_Q_TASK], "task") < 0 ||
        copy_addr (&rep, ZPAR_ADDR_CONTROL, e->addr[ZPAR_ENGINE_Q_CONTROL], "control") < 0 ||
        copy_addr (&rep, ZPAR_ADDR_IOPUB, e->addr_iopub, "iopub") < 0 ||
        copy_addr (&rep, ZPAR_ADDR_HB_PING, e->addr_ping, "heartbeat ping") < 0 ||
        copy_addr (&rep, ZPAR_ADDR_HB_PONG, e->addr_pong, "heartbeat pong") < 0)
        goto done;
    if (e->opts->own_addrs)
        use_own_addrs (e);                   /* behind the node's relay: its endpoints */
    for (int q = 0; q < ZPAR_ENGINE_NQ; q++) /* the address that answered, for every socket */
        zpar__conn_pick_rehost (&e->pick, e->addr[q], ZPAR_ADDR_MAX);
    zpar__conn_pick_rehost (&e->pick, e->addr_iopub, ZPAR_ADDR_MAX);
    zpar__conn_pick_rehost (&e->pick, e->addr_ping, ZPAR_ADDR_MAX);
    zpar__conn_pick_rehost (&e->pick, e->addr_pong, ZPAR_ADDR_MAX);
    e->hb_period_ms = rep.hb_period_ms ? rep.hb_period_ms : 1000;
    e->hb_misses = rep.hb_misses ? (unsigned)rep.hb_misses : 3;
    if (e->id && e->id != rep.h.engine.v)
        zpar__warn ("the controller gave engine id %u instead of %u", rep.h.engine.v, e->id);
    e->id = rep.h.engine.v;
    e->route = rep.route; /* checked by the codec: it names e->id */
    snprintf (role, sizeof (role), "engine %u", e->id);
    zpar__log_set_role (role);
    zpar__task_runner_set_engine (e->tr, e->id);
    if (connect_queues (e) < 0) {
        zpar__err ("cannot connect to the controller's queues (retrying)");
        goto done;
    }
    e->connected = 1;
    zpar__watcher_stop (e->w_resend);
    set_fence (e);
    zpar__info ("%s as engine %u (host %s, pid %d%s%s%s, scheduler %s)",
                e->registered_once ? "registered again" : "registered", e->id, e->host,
                (int)getpid (), e->opts->bind_report ? ", " : "",
                e->opts->bind_report ? "bound to " : "",
                e->opts->bind_report ? e->opts->bind_report : "",
                zpar__scheme_name (rep.scheme) ? zpar__scheme_name (rep.scheme) : "?");
    e->registered_once = 1;
    e->reg_at = zpar__mono_us ();
    zpar__watcher_stop (e->w_giveup);
    /* held tasks the controller gave to another engine, or has the result
     * of: kill and forget them (no result); the others are adopted */
    for (size_t i = 0; i < rep.ndrop; i++)
        if (zpar__task_runner_drop (e->tr, rep.drop[i]) == 1)
            zpar__info ("task %u.%u dropped at the controller's word",
                        zpar__tid_client (rep.drop[i]).v, zpar__tid_seq (rep.drop[i]));
    if (e->resend_since) {
        size_t n = zpar__task_runner_resend (e->tr, e->resend_since);
        e->resend_since = 0;
        if (n)
            zpar__info ("sent again %zu result(s) the lost controller may not have recorded", n);
    }
    if (e->refencing) {
        /* the controller knows what is still ours (the rest was dropped
         * above): the fence ends, the queue runs */
        e->refencing = 0;
        (void)zpar__keeper_resume (e->keeper);
        zpar__info ("fence over: the controller has our tasks' state");
        zpar__task_runner_kick (e->tr);
    }
    zpar__task_runner_flush (e->tr);
done:
    zpar__proto_reg_engine_reply_clear (&rep);
}

static void on_reg (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    eng_t *e = arg;
    void *sock = e->reg;
    (void)r;
    (void)revents;
    /* the socket may be replaced (a failed connect): stop with it */
    while (e->reg == sock && e->w_reg == w && !e->stop &&
           recv_one (e, sock, ZPAR_CHAN_REGISTRAR, "registrar") == 0)
        handle_reg_reply (e, e->rx);
}

static void unregister (eng_t *e)
{
    zpar_proto_unregister_t u = {.h = {.engine = zpar__eid (e->id)}};
    zpar_msg_t *m;
    int linger = UNREGISTER_LINGER_MS;
    if (!e->reg || !e->id || !(m = zpar__msg_create (ZPAR_MSG_UNREGISTER)))
        return;
    zmq_setsockopt (e->reg, ZMQ_LINGER, &linger, sizeof (linger));
    if (zpar__proto_unregister_encode (m, &u) == 0)
        (void)zpar__wire_send_chan (e->reg, e->signer, ZPAR_CHAN_REGISTRAR, m, ZMQ_DONTWAIT);
    zpar__msg_destroy (m);
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
    stop_engine (e);
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
    disconnect (e);
    zpar__watcher_destroy (e->w_reg);
    close_sock (&e->reg);
    zpar__msg_destroy (e->rx);
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
    if (!(e->w_resend =
              zpar__timer_watcher_create (e->reactor, REG_RESEND_MS, REG_RESEND_MS, on_resend, e)))
        return zpar__errprintf (err, "engine: out of memory");
    zpar__watcher_start (e->w_resend);
    if (!(e->w_fence = zpar__timer_watcher_create (e->reactor, 0, 0, on_fence, e)) ||
        (e->keeper && !(e->w_keeper = zpar__fd_watcher_create (
                            e->reactor, zpar__keeper_fd (e->keeper), ZPAR_EV_IN, on_keeper, e))))
        return zpar__errprintf (err, "engine: out of memory");
    if (e->w_keeper)
        zpar__watcher_start (e->w_keeper);
    if (opts->register_timeout > 0) {
        if (!(e->w_giveup = zpar__timer_watcher_create (
                  e->reactor, (uint64_t)(opts->register_timeout * 1000.0), 0, on_giveup, e)))
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
    if (reg_send (e) < 0) {
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
        unregister (e);
    }
    zpar__info ("engine %u exiting (%" PRIu64 " tasks run)", e->id, zpar__task_runner_done (e->tr));
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
