/* engine_reg.c - the engine's registration with the controller (see
 * engine_int.h): the request with the tasks it holds, resends and the
 * first one's deadline (every address tried is named), the reply (the
 * addresses that answered, the id, the fence limit, the tasks to drop,
 * the results to send again), registering again and unregistering.
 * doc/protocol.md has the messages, doc/engine.md the behaviour. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "engine_int.h"
#include "engine_res.h"
#include "error.h"
#include "log.h"
#include "proto_batch.h"
#include "proto_control.h"
#include "proto_registrar.h"
#include "proto_task.h"
#include "zpar.h"

static void on_reg (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg);

/* What we hold (doc/protocol.md "Resources"): the probe of engine_res.h;
 * the defaults (one core, not bound, no GPU) are not sent.  A probe that
 * fails is said once and nothing is sent (one core). */
static void add_resources (zpar_proto_reg_engine_t *req, zpar_engine_res_t *res)
{
    static int warned;
    zpar_error_t err;
    if (zpar__engine_res_probe (res, &err) < 0) {
        if (!warned++)
            zpar__warn ("registration: resources not reported: %s", err.text);
        return;
    }
    req->cores = res->cores > 1 ? res->cores : 0;
    req->cpuset = strcmp (res->cpuset, "-") ? res->cpuset : NULL;
    req->gpu_names = strcmp (res->gpus, "-") ? res->gpus : NULL;
    req->mem_share = res->mem_share;
    req->node_mem = res->node_mem;
    if (!zpar__proto_engine_res_valid (req->cores, req->cpuset, req->gpu_names)) {
        if (!warned++)
            zpar__warn ("registration: resources not reported (cpuset \"%s\", GPUs \"%s\")",
                        res->cpuset, res->gpus);
        req->cores = 0;
        req->cpuset = req->gpu_names = NULL;
    }
}

/* The registration request on e->reg (what we hold, our uuid...). */
static int send_request (eng_t *e)
{
    zpar_proto_reg_engine_t req;
    zpar_engine_res_t res;
    zpar_tid_t *held = NULL;
    size_t nheld, nsent;
    zpar_msg_t *m;
    int rc = -1;

    memset (&req, 0, sizeof (req));
    if (!(m = zpar__msg_create (ZPAR_MSG_REGISTER_ENGINE)))
        return -1;
    req.h.engine = zpar__eid (e->id);
    req.host = e->host;
    req.pid = (uint64_t)getpid ();
    req.rank = e->opts->rank >= 0 ? e->opts->rank : -1;
    req.want = zpar__eid (e->id ? e->id : e->opts->want_id);
    req.uuid = e->uuid;
    add_resources (&req, &res);
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

int zpar__eng_reg_send (eng_t *e)
{
    /* a fresh socket for a new registration: nothing stale queued, no
     * reply to an earlier one */
    zpar__watcher_destroy (e->w_reg);
    e->w_reg = NULL;
    zpar__eng_close_sock (&e->reg);
    if (!(e->reg = zpar__eng_mksock (e, ZMQ_DEALER, e->ci.addr[ZPAR_EP_REGISTRAR], NULL, 0)))
        return -1;
    if (!(e->w_reg = zpar__zmq_watcher_create (e->reactor, e->reg, ZPAR_EV_IN, on_reg, e)))
        return -1;
    zpar__watcher_start (e->w_reg);
    e->repeats = e->wait = 0;
    return send_request (e);
}

void zpar__eng_on_resend (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    eng_t *e = arg;
    (void)r;
    (void)w;
    (void)revents;
    char was[ZPAR_ADDR_MAX];
    if (e->connected)
        return;
    snprintf (was, sizeof (was), "%s", e->ci.addr[ZPAR_EP_REGISTRAR]);
    /* before the first answer: the best address, then each in turn */
    if (!e->registered_once) {
        (void)zpar__conn_pick_attempt (&e->ci, &e->pick, ++e->attempts);
        if (e->attempts == 10 || e->attempts % 60 == 0)
            zpar__warn ("no answer from the controller after %u attempts; now trying %s (%s)",
                        e->attempts, e->ci.addr[ZPAR_EP_REGISTRAR], e->pick.why[e->pick.cur]);
    }
    /* the same address: send again on the same socket, so that a reply
     * on its way is still taken (a controller answering thousands of
     * engines in a start storm may take more than the second); the
     * registrar answers a repeat from the same socket as the first, without
     * acting on it again (doc/protocol.md, "Registration") */
    if (e->reg && strcmp (was, e->ci.addr[ZPAR_EP_REGISTRAR]) == 0) {
        /* and less and less often (1, 2, 4, then every 8 s): the request
         * is not lost on its connection, the controller is busy */
        if (e->wait > 1) {
            e->wait--;
            return;
        }
        e->wait = 1u << (e->repeats < 3 ? e->repeats : 3);
        if (e->wait > REG_REPEAT_MAX_TICKS)
            e->wait = REG_REPEAT_MAX_TICKS;
        e->repeats++;
        (void)send_request (e);
    } else
        (void)zpar__eng_reg_send (e);
}

void zpar__eng_on_giveup (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
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
    zpar__eng_stop (e);
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

/* Register again (the controller was lost, declared us dead, or the
 * keeper fenced): report what we hold; the reply says what to drop. */
void zpar__eng_register_again (eng_t *e)
{
    e->ctl_session = 0;
    zpar__eng_drain_queues (e);
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
    zpar__eng_discard_queued (e);
    zpar__eng_disconnect (e); /* destroys the heart */
    (void)zpar__eng_reg_send (e);
    zpar__timer_watcher_reset (e->w_resend, REG_RESEND_MS, REG_RESEND_MS);
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
        zpar__eng_stop (e);
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
    /* the leastload scheduler splits batches of results; "pure" hands
     * what engines send to the clients as it is */
    zpar__task_runner_set_batching (e->tr, rep.scheme == ZPAR_SCHEME_LEASTLOAD &&
                                               !zpar__no_engine_batch ());
    if (zpar__eng_connect_queues (e) < 0) {
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
           zpar__eng_recv_one (e, sock, ZPAR_CHAN_REGISTRAR, "registrar") == 0)
        handle_reg_reply (e, e->rx);
}

void zpar__eng_unregister (eng_t *e)
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
