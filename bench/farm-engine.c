/* farm-engine.c - one engine of bench/engine-farm on the wire: its
 * sockets, its registration, its answers to pings, tasks and control
 * requests.  See engine-farm.c and farm.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "error.h"
#include "farm.h"
#include "netlimit.h"
#include "proto_batch.h"
#include "proto_control.h"
#include "proto_hb.h"
#include "proto_registrar.h"
#include "proto_result.h"
#include "proto_task.h"

static const zpar_chan_t qchan[S_N] = {
    [S_REG] = ZPAR_CHAN_REGISTRAR, [S_MUX] = ZPAR_CHAN_MUX,  [S_TASK] = ZPAR_CHAN_TASK,
    [S_CTL] = ZPAR_CHAN_CONTROL,   [S_PING] = ZPAR_CHAN_ANY, [S_PONG] = ZPAR_CHAN_ANY,
};

/* ------------------------------------------------------------- sockets */

static int watch (feng_t *e, int k)
{
    int fd;
    size_t len = sizeof (fd);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &e->ref[k]};
    e->ref[k] = (sref_t){.e = e, .k = k};
    if (zmq_getsockopt (e->s[k], ZMQ_FD, &fd, &len) < 0 ||
        epoll_ctl (e->f->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -1;
    return 0;
}

static void close_sock (feng_t *e, int k)
{
    int fd;
    size_t len = sizeof (fd);
    if (!e->s[k])
        return;
    if (zmq_getsockopt (e->s[k], ZMQ_FD, &fd, &len) == 0)
        (void)epoll_ctl (e->f->ep, EPOLL_CTL_DEL, fd, NULL);
    zmq_close (e->s[k]);
    e->s[k] = NULL;
    if (e->ref[k].dirty) /* the list holds it: forget it there */
        for (int i = 0; i < e->f->ndirty; i++)
            if (e->f->dirty[i] == &e->ref[k])
                e->f->dirty[i] = NULL;
    e->ref[k].dirty = 0;
}

static void *mksock (feng_t *e, int type, const char *addr, const zpar_route_t *ident)
{
    void *s = zmq_socket (e->f->zctx, type);
    int zero = 0;
    if (!s)
        return NULL;
    (void)zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    if (ident)
        (void)zmq_setsockopt (s, ZMQ_ROUTING_ID, ident->b, sizeof (ident->b));
    /* the limits of the engine's sockets: its heart's are the control ones */
    (void)zpar__netlimit_apply (s, type == ZMQ_PUB                              ? ZPAR_NET_PUB
                                   : type == ZMQ_SUB || addr == e->addr[S_PONG] ? ZPAR_NET_CONTROL
                                                                                : ZPAR_NET_DATA);
    if (type == ZMQ_SUB)
        (void)zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect (s, addr) < 0) {
        fprintf (stderr, "engine-farm: cannot connect to %s: %s\n", addr, zmq_strerror (errno));
        zmq_close (s);
        return NULL;
    }
    return s;
}

/* A send on a socket may take in the signal of what came to it: drain it
 * again before the loop sleeps. */
static void mark (feng_t *e, int k)
{
    if (!e->s[k] || e->ref[k].dirty)
        return;
    e->ref[k].dirty = 1;
    e->f->dirty[e->f->ndirty++] = &e->ref[k];
}

static int send_on (feng_t *e, int k, zpar_msg_t *m)
{
    int rc = zpar__wire_send_chan (e->s[k], e->signer, qchan[k], m, ZMQ_DONTWAIT);
    if (rc < 0)
        e->f->dropped++;
    mark (e, k);
    return rc;
}

static void disconnect (feng_t *e)
{
    for (int k = S_MUX; k < S_N; k++)
        close_sock (e, k);
    if (e->iopub)
        zmq_close (e->iopub);
    e->iopub = NULL;
    if (e->connected)
        e->f->registered--;
    e->connected = 0;
}

/* ------------------------------------------------------- registration */

int farm_reg_open (feng_t *e)
{
    close_sock (e, S_REG);
    if (!(e->s[S_REG] = mksock (e, ZMQ_DEALER, e->ci->addr[ZPAR_EP_REGISTRAR], NULL)) ||
        watch (e, S_REG) < 0)
        return -1;
    return 0;
}

/* A registration: on a fresh socket (fresh: a new one), or again on the
 * same one (the resend, as the engine does). */
void farm_reg_send (feng_t *e, int fresh)
{
    farm_t *f = e->f;
    zpar_proto_reg_engine_t req = {0};
    /* repeats on the same socket back off (1, 2, 4, then every 8 s), as
     * the engine's do */
    e->ivl_us = fresh || !e->s[S_REG] || !e->ivl_us
                    ? RESEND_US
                    : (e->ivl_us < 8 * RESEND_US ? 2 * e->ivl_us : e->ivl_us);
    e->next_reg_us = zpar__mono_us () + e->ivl_us;
    if ((fresh || !e->s[S_REG]) && farm_reg_open (e) < 0)
        return;
    req.h.engine = zpar__eid (e->id);
    req.host = f->host;
    req.pid = (uint64_t)getpid ();
    req.rank = -1;
    req.want = zpar__eid (e->id);
    req.uuid = e->uuid;
    zpar__msg_reset (f->tx, ZPAR_MSG_REGISTER_ENGINE);
    if (zpar__proto_reg_engine_encode (f->tx, &req) == 0 && send_on (e, S_REG, f->tx) == 0)
        f->regs_sent++;
}

static void register_again (feng_t *e)
{
    e->f->again++;
    disconnect (e);
    farm_reg_send (e, 1);
}

static int connect_queues (feng_t *e)
{
    static const int dealers[] = {S_CTL, S_MUX, S_TASK, S_PONG};
    for (size_t i = 0; i < sizeof (dealers) / sizeof (dealers[0]); i++) {
        int k = dealers[i];
        if (!(e->s[k] = mksock (e, ZMQ_DEALER, e->addr[k], &e->route)) || watch (e, k) < 0)
            return -1;
    }
    if (!(e->s[S_PING] = mksock (e, ZMQ_SUB, e->addr[S_PING], NULL)) || watch (e, S_PING) < 0 ||
        !(e->iopub = mksock (e, ZMQ_PUB, e->addr_iopub, &e->route)))
        return -1;
    return 0;
}

static int take_addr (char *dst, const char *src)
{
    if (!src || !*src || strlen (src) >= ZPAR_ADDR_MAX)
        return -1;
    strcpy (dst, src);
    return 0;
}

static void on_reply (feng_t *e, zpar_msg_t *m)
{
    farm_t *f = e->f;
    zpar_proto_reg_engine_reply_t rep;
    zpar_error_t err;
    int bad;
    if (m->hdr.type == ZPAR_MSG_SHUTDOWN) {
        disconnect (e);
        close_sock (e, S_REG);
        if (!e->stopped)
            f->stopped++;
        e->stopped = 1;
        return;
    }
    if (m->hdr.type != ZPAR_MSG_REGISTER_ENGINE_REPLY || e->connected)
        return;
    if (zpar__proto_reg_engine_reply_decode (m, &rep, &err) < 0) {
        f->dropped++;
        return;
    }
    if (rep.h.engine.v == 0) /* refused: the resend tries again */
        goto done;
    if (e->relayed) {
        bad = take_addr (e->addr[S_MUX], e->ci->addr[ZPAR_EP_MUX_ENGINE]) |
              take_addr (e->addr[S_TASK], e->ci->addr[ZPAR_EP_TASK_ENGINE]) |
              take_addr (e->addr[S_CTL], e->ci->addr[ZPAR_EP_CONTROL_ENGINE]) |
              take_addr (e->addr[S_PING], e->ci->addr[ZPAR_EP_HB_PING]) |
              take_addr (e->addr[S_PONG], e->ci->addr[ZPAR_EP_HB_PONG]) |
              take_addr (e->addr_iopub, e->ci->addr[ZPAR_EP_IOPUB_ENGINE]);
    } else {
        bad = take_addr (e->addr[S_MUX], rep.addr[ZPAR_ADDR_MUX]) |
              take_addr (e->addr[S_TASK], rep.addr[ZPAR_ADDR_TASK]) |
              take_addr (e->addr[S_CTL], rep.addr[ZPAR_ADDR_CONTROL]) |
              take_addr (e->addr[S_PING], rep.addr[ZPAR_ADDR_HB_PING]) |
              take_addr (e->addr[S_PONG], rep.addr[ZPAR_ADDR_HB_PONG]) |
              take_addr (e->addr_iopub, rep.addr[ZPAR_ADDR_IOPUB]);
    }
    if (bad) {
        f->dropped++;
        goto done;
    }
    e->id = rep.h.engine.v;
    e->route = rep.route;
    e->session = m->hdr.session;
    if (connect_queues (e) < 0) {
        disconnect (e);
        goto done;
    }
    e->connected = 1;
    f->registered++;
    if (!e->ever && ++f->ever == f->n)
        f->all_at = zpar__mono_us ();
    e->ever = 1;
done:
    zpar__proto_reg_engine_reply_clear (&rep);
}

/* ---------------------------------------------------------- the queues */

static void answer_control (feng_t *e, int k, zpar_msg_t *req, uint64_t count)
{
    farm_t *f = e->f;
    zpar_proto_control_reply_t rep = {
        .h = {.task = zpar__tid (req->hdr.task),
              .engine = zpar__eid (e->id),
              .client = zpar__cid (req->hdr.client)},
        .count = count,
    };
    zpar__msg_reset (f->tx, ZPAR_MSG_CONTROL_REPLY);
    if (zpar__msg_set_envelope (f->tx, req->nenv, req->env) == 0 &&
        zpar__proto_control_reply_encode (f->tx, &rep) == 0)
        (void)send_on (e, k, f->tx);
    f->control++;
}

static void answer_task (feng_t *e, int k, zpar_msg_t *req)
{
    farm_t *f = e->f;
    zpar_proto_task_t t;
    zpar_proto_result_t res;
    zpar_error_t err;
    uint64_t now = zpar__now_us ();
    if (zpar__proto_task_decode (req, &t, &err) < 0) {
        f->dropped++;
        return;
    }
    memset (&res, 0, sizeof (res));
    res.h.task = t.h.task;
    res.h.engine = zpar__eid (e->id);
    res.h.client = t.h.client;
    res.h.flags = t.h.flags;
    res.status = ZPAR_STATUS_OK;
    res.exit_code = 0;
    res.ran = 1;
    res.pid = (uint64_t)getpid ();
    res.host = f->host;
    res.started_us = res.finished_us = now;
    res.attempt = t.attempt ? t.attempt : ((t.h.flags & 0xffu) ? (t.h.flags & 0xffu) : 1);
    zpar__proto_task_clear (&t);
    zpar__msg_reset (f->tx, ZPAR_MSG_RESULT);
    if (zpar__msg_set_envelope (f->tx, req->nenv, req->env) == 0 &&
        zpar__proto_result_encode (f->tx, &res) == 0 && send_on (e, k, f->tx) == 0) {
        e->tasks++;
        f->tasks++;
    }
}

/* A batch of tasks (doc/protocol.md, "Batches"): each item answered as
 * the same task alone, with the batch's envelope; a bad item is dropped. */
static void answer_batch (feng_t *e, int k, zpar_msg_t *m)
{
    zpar_msg_t *item = zpar__msg_create (ZPAR_MSG_NONE);
    const void *body;
    size_t blen;
    zpar_batch_iter_t it;
    zpar_hdr_t h;
    zpar_error_t err;
    int rc;
    if (!item || zpar__batch_iter_msg (&it, m, &err) < 0) {
        e->f->dropped++;
        zpar__msg_destroy (item);
        return;
    }
    while ((rc = zpar__batch_next (&it, &h, &body, &blen, &err)) != 0) {
        if (rc < 0 || h.type != ZPAR_MSG_TASK || h.engine != e->id ||
            zpar__batch_item_msg (&h, body, blen, item, &err) < 0 ||
            zpar__msg_set_envelope (item, m->nenv, m->env) < 0) {
            e->f->dropped++;
            continue;
        }
        answer_task (e, k, item);
    }
    zpar__msg_destroy (item);
}

static void on_message (feng_t *e, int k, zpar_msg_t *m)
{
    switch (k) {
    case S_REG:
        on_reply (e, m);
        break;
    case S_MUX:
    case S_TASK:
        if (m->hdr.type == ZPAR_MSG_TASK)
            answer_task (e, k, m);
        else if (m->hdr.type == ZPAR_MSG_BATCH)
            answer_batch (e, k, m);
        else if (k == S_TASK && m->hdr.type == ZPAR_MSG_ABORT)
            answer_control (e, k, m, 0); /* stealing: it already ran */
        break;
    case S_CTL:
        if (m->hdr.engine != e->id)
            break;
        if (m->hdr.type == ZPAR_MSG_SHUTDOWN) {
            zpar_proto_unregister_t u = {.h = {.engine = zpar__eid (e->id)}};
            int linger = 500;
            answer_control (e, k, m, 1);
            zpar__msg_reset (e->f->tx, ZPAR_MSG_UNREGISTER);
            if (e->s[S_REG] && zpar__proto_unregister_encode (e->f->tx, &u) == 0) {
                (void)zmq_setsockopt (e->s[S_REG], ZMQ_LINGER, &linger, sizeof (linger));
                (void)send_on (e, S_REG, e->f->tx);
            }
            on_reply (e, m); /* stops it as a shutdown on the registrar does */
        } else if (m->hdr.type == ZPAR_MSG_ABORT || m->hdr.type == ZPAR_MSG_INTERRUPT)
            answer_control (e, k, m, 0);
        break;
    }
}

static void on_ping (feng_t *e)
{
    farm_t *f = e->f;
    uint8_t buf[64];
    int n;
    while (e->s[S_PING] && (n = zmq_recv (e->s[S_PING], buf, sizeof (buf), ZMQ_DONTWAIT)) >= 0) {
        uint64_t session = 0;
        if (n != ZPAR_HB_PING_LEN)
            continue;
        for (int i = 7; i >= 0; i--)
            session = session << 8 | buf[16 + i];
        if (session != e->session) {
            f->new_session++;
            register_again (e);
            return;
        }
        f->pings++;
        if (zmq_send (e->s[S_PONG], buf, (size_t)n, ZMQ_DONTWAIT) < 0)
            f->dropped++;
        mark (e, S_PONG);
    }
}

static void on_pong (feng_t *e)
{
    char buf[64];
    int n;
    while (e->s[S_PONG] && (n = zmq_recv (e->s[S_PONG], buf, sizeof (buf), ZMQ_DONTWAIT)) >= 0)
        if (n == ZPAR_HB_RREG_LEN && memcmp (buf, ZPAR_HB_RREG, ZPAR_HB_RREG_LEN) == 0) {
            e->f->nudges++;
            register_again (e);
            return;
        }
}

void farm_drain (feng_t *e, int k)
{
    farm_t *f = e->f;
    zpar_error_t err;
    for (;;) {
        void *s = e->s[k];
        int ev = 0;
        size_t len = sizeof (ev);
        if (!s)
            return;
        if (k == S_PING)
            on_ping (e);
        else if (k == S_PONG)
            on_pong (e);
        else
            for (;;) {
                if (e->s[k] != s)
                    return; /* replaced or closed by what it delivered */
                if (zpar__wire_recv_chan (s, e->signer, qchan[k], f->rx, ZMQ_DONTWAIT, &err) < 0) {
                    if (errno == EAGAIN || errno == EINTR)
                        break;
                    f->dropped++;
                    continue;
                }
                on_message (e, k, f->rx);
            }
        if (e->s[k] != s || zmq_getsockopt (s, ZMQ_EVENTS, &ev, &len) < 0 || !(ev & ZMQ_POLLIN))
            return;
    }
}

void farm_close (feng_t *e)
{
    disconnect (e);
    close_sock (e, S_REG);
}
