/* relay.c - the per-node relay.  See relay.h and doc/protocol.md,
 * "Relays". */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "addrpick.h"
#include "clock.h"
#include "curve.h"
#include "error.h"
#include "log.h"
#include "netlimit.h"
#include "reactor.h"
#include "relay.h"
#include "route.h"
#include "wire.h"
#include "zpar.h"

#define DRAIN_MAX 4096
/* The relay's PUB to the controller's IOPub SUB carries the output of all
 * the node's engines: room for 1,000 messages of each of 64 engines. */
#define IOPUB_UP_SNDHWM (ZPAR_NETLIMIT_PUB_SNDHWM * 64)

/* One forwarded endpoint: a downstream socket bound on ipc, its upstream
 * peer connected to the controller. */
typedef struct {
    zpar_endpoint_t ep;
    const char *name; /* the ipc file's name */
    int down_type;    /* bound for the engines */
    int up_type;      /* connected to the controller */
    zpar_net_role_t up_role, down_role;
    int hb; /* on the heartbeat thread */
} pair_spec_t;

static const pair_spec_t specs[] = {
    {ZPAR_EP_REGISTRAR, "registrar", ZMQ_ROUTER, ZMQ_DEALER, ZPAR_NET_CONTROL, ZPAR_NET_CONTROL, 0},
    {ZPAR_EP_MUX_ENGINE, "mux", ZMQ_ROUTER, ZMQ_DEALER, ZPAR_NET_DATA, ZPAR_NET_DATA, 0},
    {ZPAR_EP_TASK_ENGINE, "task", ZMQ_ROUTER, ZMQ_DEALER, ZPAR_NET_DATA, ZPAR_NET_DATA, 0},
    {ZPAR_EP_CONTROL_ENGINE, "control", ZMQ_ROUTER, ZMQ_DEALER, ZPAR_NET_DATA, ZPAR_NET_DATA, 0},
    {ZPAR_EP_IOPUB_ENGINE, "iopub", ZMQ_SUB, ZMQ_PUB, ZPAR_NET_PUB, ZPAR_NET_IOPUB, 0},
    {ZPAR_EP_HB_PING, "hb_ping", ZMQ_PUB, ZMQ_SUB, ZPAR_NET_CONTROL, ZPAR_NET_PUB, 1},
    {ZPAR_EP_HB_PONG, "hb_pong", ZMQ_ROUTER, ZMQ_DEALER, ZPAR_NET_CONTROL, ZPAR_NET_CONTROL, 1},
};
#define NPAIRS ((int)(sizeof (specs) / sizeof (specs[0])))

/* A message for an engine that is not connected to us (yet). */
typedef struct held {
    struct held *next;
    zpar_frames_t f;
    uint64_t until; /* mono us: dropped after */
} held_t;

typedef struct {
    const pair_spec_t *spec;
    void *down, *up;
    zpar_watcher_t *w_down, *w_up;
    uint64_t n_up, n_down, dropped;
    /* what came for an engine whose connection to us is not up yet: an
     * engine that registers connects its queues once it has the reply,
     * and the controller may send it a task before (through us, its
     * ROUTER cannot tell); kept in order, sent when it connects */
    held_t *held, **held_tail;
    size_t nheld;
    zpar_watcher_t *w_retry; /* the loop's: runs while something is held */
} pair_t;

/* One loop: the main one (queues, registrar, IOPub) or the heartbeat's. */
typedef struct {
    void *zctx;
    zpar_reactor_t *r;
    pair_t pairs[NPAIRS];
    int npairs;
    int stop_fd; /* eventfd: the heartbeat loop stops when it is readable */
    zpar_watcher_t *w_stop;
    zpar_watcher_t *w_retry; /* the held messages, every RETRY_MS */
} loop_t;

typedef struct {
    zpar_conninfo_t ci;
    char dir[PATH_MAX];
    uint8_t id[ZPAR_RELAY_ID_LEN];
    loop_t main, hb;
    pthread_t hb_tid;
    int hb_started;
    zpar_watcher_t *w_sig[2];
} relay_t;

/* ------------------------------------------------------------- forward */

/* A message to an engine not connected yet is held this long at most. */
#define HOLD_US  10000000u
#define RETRY_MS 10

/* Send f down to the engine its first frame names: 0 sent, 1 that engine
 * is not connected (f untouched), -1 failed (f closed). */
static int send_down (pair_t *p, zpar_frames_t *f)
{
    if (p->spec->down_type == ZMQ_ROUTER && f->n > 1) {
        if (zmq_msg_send (&f->part[0], p->down, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
            return errno == EHOSTUNREACH ? 1 : (zpar__frames_close (f), -1);
        return zpar__frames_send (p->down, f, 1, ZMQ_DONTWAIT);
    }
    return zpar__frames_send (p->down, f, 0, ZMQ_DONTWAIT);
}

static int held_for (const pair_t *p, zpar_frames_t *f)
{
    for (const held_t *h = p->held; h; h = h->next)
        if (zmq_msg_size (&h->f.part[0]) == zmq_msg_size (&f->part[0]) &&
            !memcmp (zmq_msg_data ((zmq_msg_t *)&h->f.part[0]), zmq_msg_data (&f->part[0]),
                     zmq_msg_size (&f->part[0])))
            return 1;
    return 0;
}

static void hold (pair_t *p, zpar_frames_t *f, uint64_t now)
{
    held_t *h = calloc (1, sizeof (*h));
    if (!h) {
        zpar__frames_close (f);
        p->dropped++;
        return;
    }
    h->f = *f; /* the parts move (zmq_msg_t holds no pointer to itself) */
    f->n = 0;
    h->until = now + HOLD_US;
    if (!p->held)
        p->held_tail = &p->held;
    *p->held_tail = h;
    p->held_tail = &h->next;
    p->nheld++;
    if (p->w_retry && !zpar__watcher_active (p->w_retry))
        zpar__watcher_start (p->w_retry);
}

/* Try the held messages again, in order; drop the expired ones. */
static void retry_held (pair_t *p, uint64_t now)
{
    held_t **pp = &p->held, *h;
    while ((h = *pp)) {
        int rc = send_down (p, &h->f);
        if (rc == 1 && now < h->until) {
            pp = &h->next;
            continue;
        }
        if (rc != 0) {
            if (rc == 1)
                zpar__frames_close (&h->f);
            p->dropped++;
        } else
            p->n_down++;
        *pp = h->next;
        free (h);
        p->nheld--;
    }
    p->held_tail = pp;
}

/* Move every message waiting on from to to, as it is.  A message with
 * more frames than the protocol allows is consumed and counted. */
static void forward (pair_t *p, void *from, void *to, uint64_t *count)
{
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        if (zpar__frames_recv (from, &f, ZMQ_DONTWAIT) < 0) {
            if (errno == EPROTO) {
                p->dropped++;
                continue;
            }
            break;
        }
        /* DEALER and ROUTER queues are unbounded (HWM 0): this does not
         * block; downstream, a message for an engine not connected yet
         * (or behind one held for it) is held */
        if (to == p->down) {
            int rc;
            uint64_t now = zpar__mono_us ();
            if (f.n > 1 && p->held && held_for (p, &f))
                rc = 1;
            else
                rc = send_down (p, &f);
            if (rc == 1)
                hold (p, &f, now);
            else if (rc < 0)
                p->dropped++;
            else
                (*count)++;
        } else if (zpar__frames_send (to, &f, 0, ZMQ_DONTWAIT) < 0)
            p->dropped++;
        else
            (*count)++;
    }
}

static void on_down (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    pair_t *p = arg;
    (void)r, (void)w, (void)revents;
    forward (p, p->down, p->up, &p->n_up);
}

static void on_up (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    pair_t *p = arg;
    (void)r, (void)w, (void)revents;
    forward (p, p->up, p->down, &p->n_down);
}

/* ------------------------------------------------------------- sockets */

int zpar__relay_endpoint (const char *dir, zpar_endpoint_t ep, char *buf, size_t size)
{
    int n;
    for (int i = 0; i < NPAIRS; i++) {
        if (specs[i].ep != ep)
            continue;
        n = snprintf (buf, size, "ipc://%s/%s", dir, specs[i].name);
        /* sun_path holds 107 bytes and the NUL */
        if (n < 0 || (size_t)n >= size || (size_t)n - 6 > 107) {
            errno = ENAMETOOLONG;
            return -1;
        }
        return 0;
    }
    errno = EINVAL;
    return -1;
}

int zpar__relay_engine_addrs (const char *dir, zpar_conninfo_t *ci)
{
    for (int i = 0; i < NPAIRS; i++)
        if (zpar__relay_endpoint (dir, specs[i].ep, ci->addr[specs[i].ep], ZPAR_ADDR_MAX) < 0)
            return -1;
    memset (&ci->curve, 0, sizeof (ci->curve));
    return 0;
}

static void *mksock (relay_t *rl, loop_t *l, int type, zpar_net_role_t role, const char *addr,
                     int bind, zpar_error_t *err)
{
    void *s = zmq_socket (l->zctx, type);
    int zero = 0, one = 1;
    if (!s) {
        zpar__errprintf (err, "relay: cannot create a socket: %s", zmq_strerror (errno));
        return NULL;
    }
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    (void)zpar__netlimit_apply (s, role);
    if (type == ZMQ_DEALER || type == ZMQ_ROUTER) {
        zmq_setsockopt (s, ZMQ_SNDHWM, &zero, sizeof (zero));
        zmq_setsockopt (s, ZMQ_RCVHWM, &zero, sizeof (zero));
    }
    if (type == ZMQ_SUB)
        zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0);
    if (bind) {
        /* the private directory protects the ipc side: an engine that
         * registers again may come back with its identity before its old
         * connection is gone */
        int backlog = ZPAR_LISTEN_BACKLOG; /* the node's engines start together */
        if (type == ZMQ_ROUTER) {
            zmq_setsockopt (s, ZMQ_ROUTER_HANDOVER, &one, sizeof (one));
            zmq_setsockopt (s, ZMQ_ROUTER_MANDATORY, &one, sizeof (one));
        }
        zmq_setsockopt (s, ZMQ_BACKLOG, &backlog, sizeof (backlog));
        if (zmq_bind (s, addr) < 0) {
            zpar__errprintf (err, "relay: cannot bind %s: %s", addr, zmq_strerror (errno));
            zmq_close (s);
            return NULL;
        }
        return s;
    }
    if (type == ZMQ_DEALER)
        zmq_setsockopt (s, ZMQ_ROUTING_ID, rl->id, sizeof (rl->id));
    if (type == ZMQ_PUB) {
        int hwm = IOPUB_UP_SNDHWM;
        zmq_setsockopt (s, ZMQ_SNDHWM, &hwm, sizeof (hwm));
    }
    if (zpar__curve_client (s, &rl->ci.curve, ZPAR_CURVE_ENGINE) < 0 || zmq_connect (s, addr) < 0) {
        zpar__errprintf (err, "relay: cannot connect to %s: %s", addr, zmq_strerror (errno));
        zmq_close (s);
        return NULL;
    }
    return s;
}

static int open_pair (relay_t *rl, loop_t *l, const pair_spec_t *spec, zpar_error_t *err)
{
    pair_t *p = &l->pairs[l->npairs];
    char down[ZPAR_ADDR_MAX];
    memset (p, 0, sizeof (*p));
    p->spec = spec;
    if (zpar__relay_endpoint (rl->dir, spec->ep, down, sizeof (down)) < 0)
        return zpar__errprintf (err, "relay: the directory %s is too long for an ipc endpoint",
                                rl->dir);
    if (!(p->down = mksock (rl, l, spec->down_type, spec->down_role, down, 1, err)) ||
        !(p->up = mksock (rl, l, spec->up_type, spec->up_role, rl->ci.addr[spec->ep], 0, err)))
        return -1;
    l->npairs++;
    /* a PUB reads nothing worth forwarding (subscriptions stay local) */
    if (spec->down_type != ZMQ_PUB) {
        if (!(p->w_down = zpar__zmq_watcher_create (l->r, p->down, ZPAR_EV_IN, on_down, p)))
            return zpar__errprintf (err, "relay: out of memory");
        zpar__watcher_start (p->w_down);
    }
    if (spec->up_type != ZMQ_PUB) {
        if (!(p->w_up = zpar__zmq_watcher_create (l->r, p->up, ZPAR_EV_IN, on_up, p)))
            return zpar__errprintf (err, "relay: out of memory");
        zpar__watcher_start (p->w_up);
    }
    return 0;
}

static void on_retry (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    loop_t *l = arg;
    int more = 0;
    (void)revents;
    for (int i = 0; i < l->npairs; i++)
        if (l->pairs[i].held) {
            retry_held (&l->pairs[i], zpar__reactor_now_us (r));
            more |= l->pairs[i].held != NULL;
        }
    if (!more)
        zpar__watcher_stop (w);
}

static void close_loop (loop_t *l)
{
    for (int i = 0; i < l->npairs; i++) {
        held_t *h;
        while ((h = l->pairs[i].held)) {
            l->pairs[i].held = h->next;
            zpar__frames_close (&h->f);
            free (h);
        }
        if (l->pairs[i].down)
            zmq_close (l->pairs[i].down);
        if (l->pairs[i].up)
            zmq_close (l->pairs[i].up);
    }
    l->npairs = 0;
    zpar__reactor_destroy (l->r); /* and its watchers */
    l->r = NULL;
    if (l->stop_fd >= 0)
        close (l->stop_fd);
    l->stop_fd = -1;
    if (l->zctx)
        zmq_ctx_term (l->zctx);
    l->zctx = NULL;
}

static int open_loop (relay_t *rl, loop_t *l, int hb, zpar_error_t *err)
{
    l->stop_fd = -1;
    if (!(l->zctx = zmq_ctx_new ()) || !(l->r = zpar__reactor_create ()))
        return zpar__errprintf (err, "relay: cannot create a ZeroMQ context or a reactor");
    for (int i = 0; i < NPAIRS; i++)
        if (specs[i].hb == hb && open_pair (rl, l, &specs[i], err) < 0)
            return -1;
    if (!(l->w_retry = zpar__timer_watcher_create (l->r, RETRY_MS, RETRY_MS, on_retry, l)))
        return zpar__errprintf (err, "relay: out of memory");
    for (int i = 0; i < l->npairs; i++)
        l->pairs[i].w_retry = l->w_retry;
    return 0;
}

/* ---------------------------------------------------------------- loops */

static void on_stop (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    (void)w, (void)revents, (void)arg;
    zpar__reactor_stop (r);
}

static void *hb_main (void *arg)
{
    loop_t *l = arg;
    (void)zpar__reactor_run (l->r);
    return NULL;
}

static void on_signal (zpar_reactor_t *r, zpar_watcher_t *w, int signum, void *arg)
{
    (void)w, (void)arg;
    zpar__info ("signal %d: stopping", signum);
    zpar__reactor_stop (r);
}

static void cleanup (relay_t *rl)
{
    if (rl->hb_started) {
        uint64_t one = 1;
        if (write (rl->hb.stop_fd, &one, sizeof (one)) != (ssize_t)sizeof (one))
            zpar__warn ("relay: cannot stop the heartbeat thread: %s", strerror (errno));
        pthread_join (rl->hb_tid, NULL);
    }
    close_loop (&rl->hb);
    close_loop (&rl->main);
    /* the ipc files: nobody is to connect to a relay that is gone */
    for (int i = 0; i < NPAIRS; i++) {
        char path[PATH_MAX];
        snprintf (path, sizeof (path), "%s/%s", rl->dir, specs[i].name);
        (void)unlink (path);
    }
    (void)rmdir (rl->dir); /* when it is ours and empty */
}

int zpar__relay_run (const zpar_relay_opts_t *opts, zpar_error_t *err)
{
    static const int sigs[2] = {SIGTERM, SIGINT};
    relay_t *rl;
    zpar_pick_t pick;
    int rc = -1;
    char hex[2 * ZPAR_RELAY_ID_LEN + 1];

    if (!opts || !opts->dir || (!opts->conninfo && !opts->connection_file))
        return zpar__errnoprintf (err, EINVAL, "relay: no directory or no connection information");
    if (!(rl = calloc (1, sizeof (*rl))))
        return zpar__errprintf (err, "relay: out of memory");
    rl->main.stop_fd = rl->hb.stop_fd = -1;
    snprintf (rl->dir, sizeof (rl->dir), "%s", opts->dir);
    if (opts->conninfo)
        rl->ci = *opts->conninfo;
    else if (zpar__conn_read (opts->connection_file, &rl->ci, err) < 0)
        goto done;
    if (zpar__conn_pick (&rl->ci, opts->interface, &pick, err) < 0)
        goto done;
    if (zpar__mkdir_p (rl->dir, 0700) < 0) {
        zpar__errprintf (err, "relay: cannot create %s: %s", rl->dir, strerror (errno));
        goto done;
    }
    if (zpar__dir_check_private (rl->dir, "relay directory", err) < 0 ||
        zpar__relay_id_make (rl->id) < 0)
        goto done;
    if (open_loop (rl, &rl->main, 0, err) < 0 || open_loop (rl, &rl->hb, 1, err) < 0)
        goto done;
    for (int i = 0; i < 2; i++) {
        if (!(rl->w_sig[i] = zpar__signal_watcher_create (rl->main.r, sigs[i], on_signal, rl))) {
            zpar__errprintf (err, "relay: cannot watch signal %d", sigs[i]);
            goto done;
        }
        zpar__watcher_start (rl->w_sig[i]);
    }
    if ((rl->hb.stop_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
        !(rl->hb.w_stop =
              zpar__fd_watcher_create (rl->hb.r, rl->hb.stop_fd, ZPAR_EV_IN, on_stop, NULL))) {
        zpar__errprintf (err, "relay: cannot create the heartbeat thread's stop: %s",
                         strerror (errno));
        goto done;
    }
    zpar__watcher_start (rl->hb.w_stop);
    /* the sockets move to the thread: pthread_create is the barrier */
    if (pthread_create (&rl->hb_tid, NULL, hb_main, &rl->hb) != 0) {
        zpar__errprintf (err, "relay: cannot start the heartbeat thread");
        goto done;
    }
    rl->hb_started = 1;
    sodium_bin2hex (hex, sizeof (hex), rl->id + 1, ZPAR_RELAY_ID_LEN - 1);
    zpar__info ("relay R%.8s ready: %s (%s) -> ipc://%s (pid %d)", hex,
                rl->ci.addr[ZPAR_EP_REGISTRAR], pick.why[pick.cur], rl->dir, (int)getpid ());
    if (zpar__reactor_run (rl->main.r) < 0) {
        zpar__errprintf (err, "relay: poll failed: %s", zmq_strerror (errno));
        goto done;
    }
    rc = 0;
    {
        uint64_t up = 0, down = 0, dropped = 0;
        for (int i = 0; i < rl->main.npairs; i++) {
            up += rl->main.pairs[i].n_up;
            down += rl->main.pairs[i].n_down;
            dropped += rl->main.pairs[i].dropped;
        }
        zpar__info ("relay stopping: %llu messages up, %llu down, %llu dropped",
                    (unsigned long long)up, (unsigned long long)down, (unsigned long long)dropped);
    }
done:
    cleanup (rl);
    free (rl);
    return rc;
}

/* ------------------------------------------------------------ directory */

int zpar__relay_dir (const zpar_conninfo_t *ci, const char *host, char *buf, size_t size,
                     zpar_error_t *err)
{
    const char *xdg = getenv ("XDG_RUNTIME_DIR");
    char base[PATH_MAX];
    uint8_t h[8];
    char hex[2 * sizeof (h) + 1];
    int n;

    if (!ci || !host || !buf)
        return zpar__errnoprintf (err, EINVAL, "relay directory: bad parameters");
    if (sodium_init () < 0 || crypto_generichash (h, sizeof (h), (const unsigned char *)host,
                                                  strlen (host), ci->key, sizeof (ci->key)) != 0)
        return zpar__errnoprintf (err, EIO, "relay directory: cannot hash");
    sodium_bin2hex (hex, sizeof (hex), h, sizeof (h));
    if (!(xdg && *xdg == '/' && strlen (xdg) < 60)) {
        /* no runtime directory: one directory of ours in /tmp, which the
         * relay removes when it stops (a shared parent would stay) */
        n = snprintf (buf, size, "/tmp/zpar-relay-%u-%s", (unsigned)geteuid (), hex);
        if (n < 0 || (size_t)n >= size)
            return zpar__errnoprintf (err, ENAMETOOLONG, "relay directory: name too long");
        return 0;
    }
    n = snprintf (base, sizeof (base), "%s/zpar-relay", xdg);
    if (n < 0 || (size_t)n >= sizeof (base))
        return zpar__errnoprintf (err, ENAMETOOLONG, "relay directory: name too long");
    if (zpar__mkdir_p (base, 0700) < 0)
        return zpar__errnoprintf (err, errno, "relay directory: cannot create %s: %s", base,
                                  strerror (errno));
    if (zpar__dir_check_private (base, "relay directory", err) < 0)
        return -1;
    n = snprintf (buf, size, "%s/%s", base, hex);
    if (n < 0 || (size_t)n >= size)
        return zpar__errnoprintf (err, ENAMETOOLONG, "relay directory: name too long");
    return 0;
}
