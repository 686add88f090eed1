/* engine-farm.c - many engines in one process, real protocol and sockets,
 * to load one controller with thousands (bench/many.sh, t0936).
 *
 *   engine-farm -n N --connection-file DIR/engine.json [--relay DIR]...
 *               [--status FILE] [--time-limit S] [--io-threads K] [--fresh-resend 1]
 *               [--go FILE]
 *
 * Each of the N engines does on the wire what `zpar engine` does: it
 * registers on a DEALER of its own (sent again on it after 1, 2, 4, then
 * every 8 s until answered, a fresh one to register again, as the engine
 * does; with --fresh-resend 1 a fresh one at every resend, as engines did
 * before), takes its routing identity, id, heartbeat period and addresses
 * from the signed reply, connects its mux, task and control DEALERs and
 * its heart's pong DEALER under that identity, its ping SUB and its IOPub
 * PUB; it echoes every ping of its controller's session byte for byte,
 * registers again on a nudge or a new session, answers every task on the
 * queue it came from with a signed ok result (status ok, exit 0, its pid
 * and host, the attempt and flags of the task), a work-stealing abort
 * with COUNT 0 (the task already ran), abort and interrupt on control with
 * COUNT 0, and shutdown with COUNT 1, then unregisters and closes that
 * engine.  Each engine has its own signer (session).  With --relay DIR
 * (once per relay) engine i joins through relay i * R / N, on its ipc
 * endpoints, as `zpar engine --relay` does.
 *
 * What it does NOT exercise: the engine's task runner, runner and keeper
 * (no process is forked, no task runs, no output or task status is
 * published, no fence), its heart thread (the echo is done by the one
 * loop: a farm process that is starved delays every pong of its
 * engines), the address candidates (the connection file's addresses are
 * used as written) and Curve.  It measures the controller and the relays,
 * not the engine.
 *
 * --go FILE stages the start: the registration DEALERs are connected, the
 * status says "ready 1", and all registrations go once FILE exists (the
 * clock of all_registered_s starts then, after the farm's own start).
 * One loop: an epoll set of every socket's ZMQ_FD (edge-triggered: each
 * socket is drained and its ZMQ_EVENTS checked again after every send on
 * it), a signalfd and a 50 ms tick (resends, the status file); the socket
 * and file limits are raised for 7 sockets (14 files) per engine.
 * --status FILE is rewritten every half second (and at the end) with "key
 * value" lines: engines, registered (now), registered_ever, all_registered_s
 * (from the start until every engine had its first reply, -1 before),
 * registrations_sent, registered_again, nudges, new_session, pings, tasks,
 * engines_with_tasks, control, dropped.  Ends on SIGTERM/SIGINT, at
 * --time-limit, or when every engine was shut down, printing the status.
 * Exit 0, 1 on a setup error, 2 on usage.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "conn.h"
#include "error.h"
#include "msg.h"
#include "netlimit.h"
#include "proto_batch.h"
#include "proto_control.h"
#include "proto_hb.h"
#include "proto_registrar.h"
#include "proto_result.h"
#include "proto_task.h"
#include "relay/relay.h"
#include "route.h"
#include "wire.h"

enum { S_REG, S_MUX, S_TASK, S_CTL, S_PING, S_PONG, S_N };

#define RESEND_US   1000000u
#define TICK_MS     50
#define STATUS_US   500000u
#define MAX_RELAYS  4096
#define FILES_PER_E 14 /* 7 sockets: a mailbox and a connection each */

typedef struct farm farm_t;
typedef struct feng feng_t;
typedef struct {
    feng_t *e;
    int k;
    int dirty; /* on the list of sockets to drain again */
} sref_t;

struct feng {
    farm_t *f;
    const zpar_conninfo_t *ci; /* the controller's or a relay's addresses */
    int relayed;
    void *s[S_N];
    void *iopub;
    sref_t ref[S_N];
    zpar_signer_t *signer;
    char uuid[40];
    uint32_t id;
    zpar_route_t route;
    uint64_t session; /* the controller's, from the registration reply */
    int connected, ever, stopped;
    uint64_t next_reg_us, ivl_us;
    uint64_t tasks;
    char addr[S_N][ZPAR_ADDR_MAX];
    char addr_iopub[ZPAR_ADDR_MAX];
};

struct farm {
    int n;
    feng_t *e;
    zpar_conninfo_t ci;
    zpar_conninfo_t *rci; /* one per relay */
    int nrelays;
    void *zctx;
    int ep, sfd;
    zpar_msg_t *rx, *tx;
    char host[256];
    uint64_t t0, all_at;
    sref_t **dirty;
    int ndirty;
    int registered, ever, stopped;
    int fresh_resend; /* --fresh-resend: a new socket per resend (engines before issue 11) */
    const char *go;   /* --go: the registrations wait for this file */
    int ready;        /* the registration sockets are open (with --go) */
    uint64_t regs_sent, again, nudges, new_session, pings, tasks, control, dropped;
};

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

/* A fresh registration DEALER for e (the old one closed). */
static int reg_open (feng_t *e)
{
    close_sock (e, S_REG);
    if (!(e->s[S_REG] = mksock (e, ZMQ_DEALER, e->ci->addr[ZPAR_EP_REGISTRAR], NULL)) ||
        watch (e, S_REG) < 0)
        return -1;
    return 0;
}

/* A registration: on a fresh socket (fresh: a new one), or again on the
 * same one (the resend, as the engine does). */
static void reg_send (feng_t *e, int fresh)
{
    farm_t *f = e->f;
    zpar_proto_reg_engine_t req = {0};
    /* repeats on the same socket back off (1, 2, 4, then every 8 s), as
     * the engine's do */
    e->ivl_us = fresh || !e->s[S_REG] || !e->ivl_us
                    ? RESEND_US
                    : (e->ivl_us < 8 * RESEND_US ? 2 * e->ivl_us : e->ivl_us);
    e->next_reg_us = zpar__mono_us () + e->ivl_us;
    if ((fresh || !e->s[S_REG]) && reg_open (e) < 0)
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
    reg_send (e, 1);
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
    zpar_batch_iter_t it;
    zpar_error_t err;
    zpar_hdr_t h;
    const void *body;
    size_t blen;
    int rc;
    zpar_msg_t *item = zpar__msg_create (ZPAR_MSG_NONE);
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

/* Drain socket k of e, and again while ZMQ_EVENTS says it holds more. */
static void drain (feng_t *e, int k)
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

/* ------------------------------------------------------------- the run */

static void write_status (farm_t *f, const char *path, FILE *also)
{
    uint64_t busy = 0;
    char tmp[4096];
    FILE *fp = NULL;
    for (int i = 0; i < f->n; i++)
        busy += f->e[i].tasks > 0;
    if (path && snprintf (tmp, sizeof (tmp), "%s.tmp", path) < (int)sizeof (tmp))
        fp = fopen (tmp, "w");
    for (int pass = 0; pass < 2; pass++) {
        FILE *o = pass ? also : fp;
        if (!o)
            continue;
        fprintf (o,
                 "engines %d\nregistered %d\nregistered_ever %d\nall_registered_s %.3f\n"
                 "registrations_sent %lu\nregistered_again %lu\nnudges %lu\nnew_session %lu\n"
                 "pings %lu\ntasks %lu\nengines_with_tasks %lu\ncontrol %lu\ndropped %lu\n"
                 "shut_down %d\nready %d\n",
                 f->n, f->registered, f->ever, f->all_at ? (double)(f->all_at - f->t0) / 1e6 : -1.0,
                 (unsigned long)f->regs_sent, (unsigned long)f->again, (unsigned long)f->nudges,
                 (unsigned long)f->new_session, (unsigned long)f->pings, (unsigned long)f->tasks,
                 (unsigned long)busy, (unsigned long)f->control, (unsigned long)f->dropped,
                 f->stopped, f->ready);
    }
    if (fp && fclose (fp) == 0)
        (void)rename (tmp, path);
}

static void make_uuid (char *buf)
{
    uint8_t r[16] = {0};
    (void)getrandom (r, sizeof (r), 0);
    for (size_t i = 0; i < sizeof (r); i++)
        snprintf (buf + 2 * i, 3, "%02x", r[i]);
}

static int setup (farm_t *f, int io_threads)
{
    struct rlimit rl;
    sigset_t mask;
    zpar_error_t err;
    long need = (long)f->n * FILES_PER_E + 256;
    if (getrlimit (RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit (RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need) {
            fprintf (stderr, "engine-farm: %d engines need %ld open files, the limit is %ld\n",
                     f->n, need, (long)rl.rlim_cur);
            return -1;
        }
    }
    if (gethostname (f->host, sizeof (f->host) - 1) < 0)
        strcpy (f->host, "localhost");
    if (!(f->zctx = zmq_ctx_new ()) || zmq_ctx_set (f->zctx, ZMQ_MAX_SOCKETS, f->n * 8 + 64) < 0 ||
        zmq_ctx_set (f->zctx, ZMQ_IO_THREADS, io_threads) < 0 ||
        (f->ep = epoll_create1 (EPOLL_CLOEXEC)) < 0 || !(f->rx = zpar__msg_create (0)) ||
        !(f->tx = zpar__msg_create (0)) || !(f->e = calloc ((size_t)f->n, sizeof (*f->e))) ||
        !(f->dirty = calloc ((size_t)f->n * S_N + 1, sizeof (*f->dirty)))) {
        fprintf (stderr, "engine-farm: setup: %s\n", strerror (errno));
        return -1;
    }
    sigemptyset (&mask);
    sigaddset (&mask, SIGTERM);
    sigaddset (&mask, SIGINT);
    sigprocmask (SIG_BLOCK, &mask, NULL);
    {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        if ((f->sfd = signalfd (-1, &mask, SFD_CLOEXEC)) < 0 ||
            epoll_ctl (f->ep, EPOLL_CTL_ADD, f->sfd, &ev) < 0)
            return -1;
    }
    for (int i = 0; i < f->n; i++) {
        feng_t *e = &f->e[i];
        e->f = f;
        e->relayed = f->nrelays > 0;
        e->ci = f->nrelays ? &f->rci[(long)i * f->nrelays / f->n] : &f->ci;
        make_uuid (e->uuid);
        if (!(e->signer = zpar__signer_create (f->ci.key, 0))) {
            zpar__errprintf (&err, "signer: %s", strerror (errno));
            fprintf (stderr, "engine-farm: %s\n", err.text);
            return -1;
        }
    }
    return 0;
}

static int usage (void)
{
    fprintf (stderr, "usage: engine-farm -n N --connection-file FILE [--relay DIR]... [--status "
                     "FILE] [--time-limit S] [--io-threads K] [--fresh-resend 0|1] [--go FILE]\n");
    return 2;
}

int main (int argc, char **argv)
{
    static farm_t farm;
    farm_t *f = &farm;
    const char *conn = NULL, *status = NULL, *relays[MAX_RELAYS];
    double limit = 0;
    int io_threads = 1;
    uint64_t next_status = 0;
    zpar_error_t err;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage ();
        if (!strcmp (a, "-n"))
            f->n = atoi (v);
        else if (!strcmp (a, "--connection-file"))
            conn = v;
        else if (!strcmp (a, "--relay") && f->nrelays < MAX_RELAYS)
            relays[f->nrelays++] = v;
        else if (!strcmp (a, "--status"))
            status = v;
        else if (!strcmp (a, "--time-limit"))
            limit = atof (v);
        else if (!strcmp (a, "--io-threads"))
            io_threads = atoi (v);
        else if (!strcmp (a, "--fresh-resend"))
            f->fresh_resend = atoi (v);
        else if (!strcmp (a, "--go"))
            f->go = v;
        else
            return usage ();
        i++;
    }
    if (f->n <= 0 || !conn || io_threads < 1)
        return usage ();
    if (zpar__conn_read (conn, &f->ci, &err) < 0) {
        fprintf (stderr, "engine-farm: %s\n", err.text);
        return 1;
    }
    if (f->nrelays && !(f->rci = calloc ((size_t)f->nrelays, sizeof (*f->rci))))
        return 1;
    for (int r = 0; r < f->nrelays; r++) {
        f->rci[r] = f->ci;
        if (zpar__relay_engine_addrs (relays[r], &f->rci[r]) < 0) {
            fprintf (stderr, "engine-farm: --relay %s: %s\n", relays[r], strerror (errno));
            return 1;
        }
    }
    if (setup (f, io_threads) < 0)
        return 1;
    for (int i = 0; f->go && i < f->n; i++) /* staged: the sockets first */
        if (reg_open (&f->e[i]) < 0)
            return 1;
    if ((f->ready = f->go != NULL))
        write_status (f, status, NULL);
    for (int t = 0; f->go && access (f->go, F_OK) < 0 && t < limit * 1000 / TICK_MS; t++)
        usleep (TICK_MS * 1000);
    f->t0 = zpar__mono_us ();
    for (int i = 0; i < f->n; i++) /* the start storm: all at once */
        reg_send (&f->e[i], !f->go);
    for (int quit = 0; !quit;) {
        struct epoll_event evs[256];
        uint64_t now;
        int n = epoll_wait (f->ep, evs, 256, TICK_MS);
        for (int i = 0; i < n; i++) {
            sref_t *r = evs[i].data.ptr;
            if (!r)
                quit = 1;
            else
                drain (r->e, r->k);
        }
        while (f->ndirty > 0) { /* sockets sent on: what they hold */
            sref_t *r = f->dirty[--f->ndirty];
            if (!r)
                continue;
            r->dirty = 0;
            drain (r->e, r->k);
        }
        now = zpar__mono_us ();
        if (n == 0 || now >= next_status) {
            for (int i = 0; i < f->n; i++) {
                feng_t *e = &f->e[i];
                if (!e->connected && !e->stopped && now >= e->next_reg_us)
                    reg_send (e, f->fresh_resend);
            }
        }
        if (now >= next_status) {
            write_status (f, status, NULL);
            next_status = now + STATUS_US;
        }
        if ((limit > 0 && now - f->t0 > (uint64_t)(limit * 1e6)) || f->stopped == f->n)
            quit = 1;
    }
    write_status (f, status, stdout);
    for (int i = 0; i < f->n; i++) {
        disconnect (&f->e[i]);
        close_sock (&f->e[i], S_REG);
        zpar__signer_destroy (f->e[i].signer);
    }
    zmq_ctx_term (f->zctx);
    return 0;
}
