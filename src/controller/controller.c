/* controller.c - set up the sockets and threads of the hub, the
 * schedulers and the IOPub proxy; run the hub; tear down.  SIGTERM and
 * SIGINT (and zpar__controller_request_stop) stop the hub through watchers
 * on its reactor: no signal handler is installed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zmq.h>

#include "addrpick.h"
#include "controller.h"
#include "corepin.h"
#include "curve.h"
#include "error.h"
#include "hb_thread.h"
#include "hub.h"
#include "iopub.h"
#include "log.h"
#include "proto_pipe.h"
#include "reactor.h"
#include "records.h"
#include "sched_direct.h"
#include "sched_lb_io.h"
#include "sockutil.h"
#include "wire.h"

/* Answer the pongs of engines not counted with the re-register nudge
 * (doc/protocol.md, "Heartbeat"): engines older than the nudge do not
 * expect anything on hb_pong. */
#define HB_NUDGE 1

/* The write end of the running controller's stop eventfd (-1: none). */
static int stop_fd = -1;

void zpar__controller_request_stop (void)
{
    int fd = __atomic_load_n (&stop_fd, __ATOMIC_SEQ_CST);
    uint64_t one = 1;
    if (fd >= 0) {
        int saved = errno;
        (void)!write (fd, &one, sizeof (one));
        errno = saved;
    }
}

static void on_stop_fd (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    uint64_t v;
    int fd = __atomic_load_n (&stop_fd, __ATOMIC_SEQ_CST);
    if (fd >= 0 && read (fd, &v, sizeof (v)) == (ssize_t)sizeof (v))
        zpar__hub_stop (arg, "stop requested: shutting down");
    (void)r, (void)w, (void)revents;
}

static void on_signal (zpar_reactor_t *r, zpar_watcher_t *w, int signum, void *arg)
{
    char why[64];
    snprintf (why, sizeof (why), "signal %d received: shutting down", signum);
    zpar__hub_stop (arg, why);
    (void)r, (void)w;
}

/* What to bind (ip: "*" or one address) and the address others should
 * use to reach a socket bound to "*" (adv), with the candidates engines
 * choose from (ci->candidates, addrpick.h).  An --interface (or
 * ZPAR_INTERFACE) that matches nothing here is an error. */
static int plan_ip (const zpar_controller_opts_t *o, char *ip, size_t ipsize, char *adv,
                    size_t advsize, char *cands, size_t csize, zpar_error_t *err)
{
    const char *env = getenv ("ZPAR_ADVERTISE_IP");
    zpar_ifspec_t spec;
    zpar_cands_t l;
    char why[128], errtext[ZPAR_ERROR_TEXT_MAX];
    int has_spec;

    cands[0] = '\0';
    if ((has_spec = zpar__ifspec_get (o->interface, &spec, err)) < 0)
        return -1;
    if (o->ip && *o->ip && o->interface && *o->interface && strcmp (o->ip, "*") &&
        strcmp (o->ip, "0.0.0.0"))
        return zpar__errnoprintf (err, EINVAL,
                                  "give --ip ADDR (bind one address) or --interface (choose "
                                  "among every interface's), not both");
    snprintf (ip, ipsize, "%s", o->ip && *o->ip ? o->ip : has_spec ? "*" : "127.0.0.1");
    if (strcmp (ip, "*") != 0 && strcmp (ip, "0.0.0.0") != 0) {
        snprintf (adv, advsize, "%s", ip);
        return 0;
    }
    snprintf (ip, ipsize, "*");
    if (zpar__cands_controller (has_spec ? &spec : NULL, o->nodes, &l, why, sizeof (why), err) <
        0) {
        if (!has_spec && errno == ENETDOWN) {
            snprintf (adv, advsize, "127.0.0.1"); /* nothing but loopback: as before */
            return 0;
        }
        if (!has_spec)
            return -1;
        snprintf (errtext, sizeof (errtext), "%s", err ? err->text : "");
        return zpar__errnoprintf (
            err, ENODEV, "%s%s: %s",
            o->interface && *o->interface ? "--interface " : "ZPAR_INTERFACE=",
            o->interface && *o->interface ? o->interface : getenv ("ZPAR_INTERFACE"), errtext);
    }
    (void)zpar__cands_format (&l, cands, csize);
    if (env && *env) {
        snprintf (adv, advsize, "%s", env);
        cands[0] = '\0'; /* the site says which: engines take it as it is */
        zpar__info ("advertising %s (ZPAR_ADVERTISE_IP)", adv);
        return 0;
    }
    zpar__ip_format (l.c[0].ip, adv, advsize);
    zpar__info ("listening on every interface; advertising %s (%s), candidates %s", adv, why,
                cands);
    return 0;
}

/* Rewrite "tcp://0.0.0.0:port" (what ZMQ_LAST_ENDPOINT reports for "*")
 * into an address a peer can connect to. */
static void advertise (char *ep, size_t size, const char *ip)
{
    const char *colon = strrchr (ep, ':');
    char port[16];
    if (strncmp (ep, "tcp://0.0.0.0:", 14) != 0 || !colon)
        return;
    snprintf (port, sizeof (port), "%s", colon + 1);
    snprintf (ep, size, "tcp://%s:%s", ip, port);
}

typedef struct {
    zpar_sched_direct_t *mux;
    zpar_sched_direct_t *ctl;
    zpar_sched_lb_io_t *lb;
    zpar_iopub_t *iopub;
    zpar_hb_thread_t *hbt;
} sched_t;

static uint64_t sched_dropped (void *arg)
{
    sched_t *s = arg;
    return zpar__sched_direct_dropped (s->mux) + zpar__sched_direct_dropped (s->ctl) +
           zpar__sched_lb_io_dropped (s->lb) + zpar__iopub_dropped (s->iopub) +
           zpar__hb_thread_dropped (s->hbt);
}

/* Raise the open-files limit to the hard limit (the controller holds
 * ZPAR_HUB_FDS_PER_ENGINE per engine) and say what it allows.  Returns the
 * soft limit now in force (0: unknown). */
static long raise_nofile (void)
{
    struct rlimit rl;
    rlim_t want;
    FILE *f;
    long nr_open = 0;
    if (getrlimit (RLIMIT_NOFILE, &rl) < 0)
        return 0;
    want = rl.rlim_max;
    /* an unlimited hard limit still stops at the kernel's nr_open */
    if ((f = fopen ("/proc/sys/fs/nr_open", "r"))) {
        if (fscanf (f, "%ld", &nr_open) != 1)
            nr_open = 0;
        fclose (f);
    }
    if (nr_open > 0 && (want == RLIM_INFINITY || want > (rlim_t)nr_open))
        want = (rlim_t)nr_open;
    if (rl.rlim_cur != RLIM_INFINITY && want > rl.rlim_cur) {
        struct rlimit nl = {want, rl.rlim_max};
        if (setrlimit (RLIMIT_NOFILE, &nl) == 0)
            rl.rlim_cur = want;
        else
            zpar__warn ("cannot raise the open-files limit from %llu to %llu: %s",
                        (unsigned long long)rl.rlim_cur, (unsigned long long)want,
                        strerror (errno));
    }
    if (rl.rlim_cur == RLIM_INFINITY)
        return 0;
    zpar__info ("open files: limit %llu (hard %llu): room for about %llu engines (%d files each)",
                (unsigned long long)rl.rlim_cur,
                rl.rlim_max == RLIM_INFINITY ? 0ull : (unsigned long long)rl.rlim_max,
                rl.rlim_cur > 128
                    ? (unsigned long long)(rl.rlim_cur - 128) / ZPAR_HUB_FDS_PER_ENGINE
                    : 0ull,
                ZPAR_HUB_FDS_PER_ENGINE);
    return (long)rl.rlim_cur;
}

static uint64_t sched_duplicates (void *arg)
{
    sched_t *s = arg;
    return zpar__sched_lb_io_duplicates (s->lb);
}

/* Heartbeat settings: option, else environment, else default. */
static int setting (int opt, const char *env_name, int dflt)
{
    const char *env;
    int v = opt > 0 ? opt : 0;
    if (!v && (env = getenv (env_name)))
        v = atoi (env);
    return v > 0 ? v : dflt;
}

/* The addresses to bind (*bind) and to advertise (*ci, endpoints filled
 * once bound): a previous connection file's (same ports and key), or
 * fresh ones.  ip: the interface, "*" for all. */
static int plan_addresses (const zpar_controller_opts_t *o, const char *ip, zpar_conninfo_t *ci,
                           zpar_conninfo_t *bind, zpar_error_t *err)
{
    memset (ci, 0, sizeof (*ci));
    if (o->reuse) {
        if (zpar__conn_read (o->reuse, ci, err) < 0)
            return -1;
        zpar__info ("reusing the addresses and key of %s", o->reuse);
    } else {
        randombytes_buf (ci->key, sizeof (ci->key));
        for (int i = 0; i < ZPAR_EP_COUNT; i++)
            snprintf (ci->addr[i], ZPAR_ADDR_MAX, "tcp://%s:*", ip);
    }
    *bind = *ci;
    if (o->reuse && strcmp (ip, "*") == 0) {
        for (int i = 0; i < ZPAR_EP_COUNT; i++) {
            const char *colon = strrchr (ci->addr[i], ':');
            snprintf (bind->addr[i], ZPAR_ADDR_MAX, "tcp://*:%s", colon ? colon + 1 : "*");
        }
    }
    memset (&bind->curve, 0, sizeof (bind->curve));
    gethostname (ci->host, sizeof (ci->host) - 1);
    ci->pid = (int)getpid ();
    snprintf (ci->scheme, sizeof (ci->scheme), "%s", o->scheme ? o->scheme : "leastload");
    snprintf (ci->job, sizeof (ci->job), "%s", o->job ? o->job : "local");
    return 0;
}

/* The Curve keys of a controller with --curve, or restarting (--reuse) from
 * a connection file with CURVE keys: those of <dir>/controller.json when it
 * restarts and that file has them, so that engines and clients keep their
 * keys; else fresh ones.  Otherwise none. */
static int plan_curve (const zpar_controller_opts_t *o, const char *dir, zpar_conninfo_t *ci,
                       zpar_error_t *err)
{
    char path[PATH_MAX];
    zpar_conninfo_t old;
    zpar_error_t rerr;

    /* a restart of a Curve controller stays Curve: its peers expect it */
    if (!o->curve && !(o->reuse && zpar__curve_on (&ci->curve))) {
        memset (&ci->curve, 0, sizeof (ci->curve));
        return 0;
    }
    snprintf (path, sizeof (path), "%s/controller.json", dir);
    if (o->reuse && access (path, F_OK) == 0) {
        if (zpar__conn_read (path, &old, &rerr) == 0 &&
            zpar__curve_key_valid (old.curve.server_secret) && old.curve.client_secret[0] &&
            old.curve.engine_secret[0]) {
            ci->curve = old.curve;
            zpar__info ("reusing the CURVE keys of %s", path);
            return 0;
        }
        zpar__warn ("cannot reuse the CURVE keys of %s: new keys (engines and clients must read "
                    "the new connection files)",
                    path);
    }
    return zpar__curve_generate (&ci->curve, err);
}

/* Write engine.json and client.json (each with its side's keys only) and,
 * with Curve, controller.json (every key: for --reuse).  The files are 0600. */
static int write_conn_files (const char *dir, const zpar_conninfo_t *ci, zpar_error_t *err)
{
    char path[PATH_MAX];
    zpar_conninfo_t view = *ci;
    if (zpar__curve_on (&ci->curve)) {
        snprintf (path, sizeof (path), "%s/controller.json", dir);
        if (zpar__conn_write (path, ci, err) < 0)
            return -1;
    }
    (void)zpar__curve_view (&ci->curve, ZPAR_CURVE_ENGINE, &view.curve);
    snprintf (path, sizeof (path), "%s/engine.json", dir);
    if (zpar__conn_write (path, &view, err) < 0)
        return -1;
    (void)zpar__curve_view (&ci->curve, ZPAR_CURVE_CLIENT, &view.curve);
    snprintf (path, sizeof (path), "%s/client.json", dir);
    return zpar__conn_write (path, &view, err);
}

/* The reactor of the hub's thread, with its SIGTERM/SIGINT watchers and
 * the stop eventfd.  Made before any thread starts, so that every thread
 * of the controller inherits the blocked signals. */
static int watch_stops (zpar_hub_t *hub, int no_signals, int *efd, zpar_error_t *err)
{
    static const int sigs[] = {SIGTERM, SIGINT};
    zpar_watcher_t *w;
    if (!(hub->r = zpar__reactor_create ()))
        return zpar__errprintf (err, "cannot create the hub's reactor: %s", strerror (errno));
    for (size_t i = 0; !no_signals && i < sizeof (sigs) / sizeof (sigs[0]); i++) {
        if (!(w = zpar__signal_watcher_create (hub->r, sigs[i], on_signal, hub)))
            return zpar__errprintf (err, "cannot watch signal %d: %s", sigs[i], strerror (errno));
        zpar__watcher_start (w);
    }
    if ((*efd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        return zpar__errprintf (err, "eventfd: %s", strerror (errno));
    if (!(w = zpar__fd_watcher_create (hub->r, *efd, ZPAR_EV_IN, on_stop_fd, hub)))
        return zpar__errprintf (err, "cannot watch the stop eventfd: %s", strerror (errno));
    zpar__watcher_start (w);
    __atomic_store_n (&stop_fd, *efd, __ATOMIC_SEQ_CST);
    return 0;
}

int zpar__controller_run (const zpar_controller_opts_t *o, zpar_error_t *err)
{
    zpar_hub_t hub;
    sched_t sched = {0};
    zpar_iopub_t *iopub = NULL;
    zpar_hb_thread_t *hbt = NULL;
    void *hb_ping = NULL, *hb_pong = NULL, *hb_ctx = NULL;
    zpar_curve_zap_t *zap = NULL, *hb_zap = NULL;
    zpar_conninfo_t ci, bind, view;
    char dir[PATH_MAX], path[PATH_MAX], dbpath[PATH_MAX], ip[64], adv[64];
    char cands[ZPAR_CANDS_TEXT_MAX];
    const char *mon_ep = "inproc://zpar-monitor", *lb_ep = "inproc://zpar-sched-lb-pipe";
    const char *mux_ep = "inproc://zpar-mux-inject", *ctl_ep = "inproc://zpar-ctl-inject";
    char mon_bind[64];
    int efd = -1;
    int rc = -1;
    int pin_cpu = -1;
    cpu_set_t pin_saved;
    bool pinned = false;

    memset (&hub, 0, sizeof (hub));
    /* glibc raises its trim threshold whenever a large block is freed (a
     * table that grew), and malloc_trim gives back the top of no thread's
     * arena: after a burst the task scheduler's arena (its queued tasks)
     * stayed resident, ~6 MB.  A fixed threshold (glibc's initial 128 KiB)
     * gives the top back as it is freed (doc/benchmarks.md, "The
     * scheduler's queue"). */
    (void)mallopt (M_TRIM_THRESHOLD, 128 * 1024);
    if (zpar__zmq_version_check (err) < 0)
        return -1;
    if (sodium_init () < 0)
        return zpar__errprintf (err, "cannot initialise libsodium");
    if (zpar__cluster_dir_prepare (o->dir, dir, sizeof (dir), err) < 0)
        return -1;
    if (plan_ip (o, ip, sizeof (ip), adv, sizeof (adv), cands, sizeof (cands), err) < 0)
        return -1;
    if (plan_addresses (o, ip, &ci, &bind, err) < 0 || plan_curve (o, dir, &ci, err) < 0)
        return -1;
    snprintf (ci.candidates, sizeof (ci.candidates), "%s", cands);
    /* the pure scheme's task queue is a DEALER: it hands each task to
     * whichever peer is connected, registered or not, key or not; only
     * CurveZMQ's handshake keeps keyless peers off it */
    if (strcmp (ci.scheme, "pure") == 0 && !zpar__curve_on (&ci.curve))
        return zpar__errnoprintf (err, EPERM,
                                  "--scheme pure needs --curve: its task queue hands tasks to any "
                                  "peer that connects, with the key or not, and only --curve keeps "
                                  "peers without the engine key off it");

    hub.hb_period_ms = setting (o->hb_period_ms, "ZPAR_HB_PERIOD_MS", 1000);
    hub.hb_misses = setting (o->hb_misses, "ZPAR_HB_MISSES", 3);
    if (hub.hb_misses > ZPAR_HEARTBEAT_MAX_MISSES) {
        zpar__warn ("heartbeat misses %d: at most %d", hub.hb_misses, ZPAR_HEARTBEAT_MAX_MISSES);
        hub.hb_misses = ZPAR_HEARTBEAT_MAX_MISSES;
    }
    hub.scheme = ci.scheme;
    hub.fd_limit = raise_nofile ();
    if (watch_stops (&hub, o->no_signals, &efd, err) < 0)
        goto done;

    if (!(hub.ctx = zmq_ctx_new ())) {
        zpar__errprintf (err, "cannot create a ZeroMQ context");
        goto done;
    }
    zmq_ctx_set (hub.ctx, ZMQ_IO_THREADS, 1);
    zmq_ctx_set (hub.ctx, ZMQ_BLOCKY, 0);
    /* the schedulers' threads and this context's I/O thread on one core
     * (corepin.h); before the context's first socket starts its threads */
    if ((pin_cpu = zpar__corepin_choose ()) >= 0 && zpar__corepin_ctx (hub.ctx, pin_cpu) < 0) {
        zpar__debug ("cannot pin libzmq's threads to CPU %d: %s", pin_cpu, zmq_strerror (errno));
        pin_cpu = -1;
    }
    /* Curve: the ZAP handler first, then every socket a CURVE server */
    if (zpar__curve_on (&ci.curve) &&
        (!(zap = zpar__curve_zap_start (hub.r, hub.ctx, &ci.curve, err)) ||
         zpar__sockutil_set_curve (hub.ctx, &ci.curve) < 0)) {
        if (zap)
            zpar__errprintf (err, "cannot set the CURVE keys: %s", strerror (errno));
        goto done;
    }
    /* the heartbeat's sockets in a context of their own: its I/O thread
     * carries pings and pongs only, never queued behind task traffic (one
     * I/O thread busy with tasks delayed pings by seconds with 1,000
     * engines) */
    if (!(hb_ctx = zmq_ctx_new ())) {
        zpar__errprintf (err, "cannot create a ZeroMQ context");
        goto done;
    }
    zmq_ctx_set (hb_ctx, ZMQ_IO_THREADS, 1);
    zmq_ctx_set (hb_ctx, ZMQ_BLOCKY, 0);
    if (zpar__curve_on (&ci.curve) &&
        (!(hb_zap = zpar__curve_zap_start (hub.r, hb_ctx, &ci.curve, err)) ||
         zpar__sockutil_set_curve (hb_ctx, &ci.curve) < 0)) {
        if (hb_zap)
            zpar__errprintf (err, "cannot set the CURVE keys: %s", strerror (errno));
        goto done;
    }
    if (!(hub.signer = zpar__signer_create (ci.key, 0))) {
        zpar__errprintf (err, "cannot create a signer");
        goto done;
    }
    snprintf (dbpath, sizeof (dbpath), "%s", o->db_path ? o->db_path : "");
    if (!*dbpath)
        snprintf (dbpath, sizeof (dbpath), "%s/tasks.sqlite", dir);
    if (!(hub.records = zpar__records_open (dbpath, err)))
        goto done;

    /* inproc plumbing first: monitor (hub binds), pipes (schedulers bind) */
    snprintf (mon_bind, sizeof (mon_bind), "%s", mon_ep);
    if (!(hub.monitor = zpar__bind_socket (hub.ctx, ZMQ_SUB, mon_bind, sizeof (mon_bind), err)))
        goto done;
    zmq_setsockopt (hub.monitor, ZMQ_SUBSCRIBE, "", 0);

    if (!(hub.registrar = zpar__bind_router (hub.ctx, ZPAR_NET_CONTROL, ZPAR_CURVE_ANY, 0,
                                             bind.addr[ZPAR_EP_REGISTRAR], ZPAR_ADDR_MAX, err)) ||
        !(hub.notify = zpar__bind_socket_side (hub.ctx, ZMQ_PUB, ZPAR_CURVE_CLIENT,
                                               bind.addr[ZPAR_EP_NOTIFY], ZPAR_ADDR_MAX, err)) ||
        !(hb_ping = zpar__bind_own (hb_ctx, ZMQ_PUB, ZPAR_NET_PUB, ZPAR_CURVE_ENGINE, 0,
                                    bind.addr[ZPAR_EP_HB_PING], ZPAR_ADDR_MAX, err)) ||
        !(hb_pong = zpar__bind_own (hb_ctx, ZMQ_ROUTER, ZPAR_NET_CONTROL, ZPAR_CURVE_ENGINE, 0,
                                    bind.addr[ZPAR_EP_HB_PONG], ZPAR_ADDR_MAX, err)))
        goto done;
    /* the heartbeat on a thread of its own: task traffic cannot delay it */
    if (!(hbt = zpar__hb_thread_start (hub.ctx, hb_ctx, &hb_ping, &hb_pong, hub.hb_period_ms,
                                       hub.hb_misses, zpar__signer_session (hub.signer), err)))
        goto done;
    hub.hb_pipe = zpar__hb_thread_pipe (hbt);
    zpar__hb_thread_set_nudge (hbt, HB_NUDGE);
    sched.hbt = hbt;
    if (pin_cpu >= 0 && zpar__corepin_enter (pin_cpu, &pin_saved) < 0) {
        zpar__debug ("cannot pin the schedulers to CPU %d: %s", pin_cpu, strerror (errno));
        pin_cpu = -1;
    }
    pinned = pin_cpu >= 0; /* the schedulers' threads inherit the CPU */
    if (!(sched.mux = zpar__sched_direct_start (
              hub.ctx, ZPAR_SCHED_DIRECT_MUX, bind.addr[ZPAR_EP_MUX_CLIENT],
              bind.addr[ZPAR_EP_MUX_ENGINE], ZPAR_ADDR_MAX, mon_ep, mux_ep, ci.key, err)) ||
        !(sched.ctl = zpar__sched_direct_start (
              hub.ctx, ZPAR_SCHED_DIRECT_CONTROL, bind.addr[ZPAR_EP_CONTROL_CLIENT],
              bind.addr[ZPAR_EP_CONTROL_ENGINE], ZPAR_ADDR_MAX, mon_ep, ctl_ep, ci.key, err)) ||
        !(sched.lb = zpar__sched_lb_io_start (
              hub.ctx, ci.scheme, o->hwm, bind.addr[ZPAR_EP_TASK_CLIENT],
              bind.addr[ZPAR_EP_TASK_ENGINE], ZPAR_ADDR_MAX, mon_ep, lb_ep, ci.key, err)))
        goto done;
    if (pinned) {
        zpar__corepin_leave (&pin_saved);
        pinned = false;
        zpar__debug ("schedulers and libzmq's I/O thread on CPU %d", pin_cpu);
    }
    if (!(hub.lb_pipe = zmq_socket (hub.ctx, ZMQ_PAIR)) || zmq_connect (hub.lb_pipe, lb_ep) < 0 ||
        !(hub.mux_inject = zmq_socket (hub.ctx, ZMQ_PAIR)) ||
        zmq_connect (hub.mux_inject, mux_ep) < 0 ||
        !(hub.ctl_inject = zmq_socket (hub.ctx, ZMQ_PAIR)) ||
        zmq_connect (hub.ctl_inject, ctl_ep) < 0) {
        zpar__errprintf (err, "cannot connect the scheduler pipes: %s", zmq_strerror (errno));
        goto done;
    }
    if (!(iopub = zpar__iopub_start (hub.ctx, bind.addr[ZPAR_EP_IOPUB_ENGINE],
                                     bind.addr[ZPAR_EP_IOPUB_CLIENT], ZPAR_ADDR_MAX, ci.key, err)))
        goto done;
    sched.iopub = iopub;

    /* what we advertise: the bound endpoints, with "*" made reachable */
    for (int i = 0; i < ZPAR_EP_COUNT; i++) {
        snprintf (ci.addr[i], ZPAR_ADDR_MAX, "%s", bind.addr[i]);
        advertise (ci.addr[i], ZPAR_ADDR_MAX, adv);
    }
    hub.ci = ci;
    memset (&hub.ci.curve, 0, sizeof (hub.ci.curve)); /* the hub needs the addresses only */
    hub.extra_dropped = sched_dropped;
    hub.extra_duplicates = sched_duplicates;
    hub.extra_arg = &sched;
    if (zpar__hub_init (&hub) < 0) {
        zpar__errprintf (err, "cannot set up the hub: %s", strerror (errno));
        goto done;
    }

    /* connection files last: their existence means "ready" */
    if (write_conn_files (dir, &ci, err) < 0)
        goto done;
    snprintf (path, sizeof (path), "%s/client.json", dir);
    zpar__info ("controller ready: %s (registration %s, scheme %s, task I/O %s, heartbeat %d ms x "
                "%d%s)",
                path, ci.addr[ZPAR_EP_REGISTRAR], ci.scheme,
                zpar__sched_lb_io_own (sched.lb) ? "zpar" : "libzmq", hub.hb_period_ms,
                hub.hb_misses, zap ? ", CURVE" : "");
    /* what engines need (wire-up of zpar run): the engine's keys only */
    view = ci;
    (void)zpar__curve_view (&ci.curve, ZPAR_CURVE_ENGINE, &view.curve);
    if (o->ready)
        o->ready (o->ready_arg, &view);

    rc = zpar__hub_run (&hub);
    if (rc < 0)
        zpar__errprintf (err, "hub loop failed: %s", strerror (errno));

    /* shutdown: engines first, then the schedulers */
    zpar__hub_shutdown_engines (&hub);
    (void)zpar__hub_wait_engines_gone (&hub, 3000);
    if (!o->reuse) {
        snprintf (path, sizeof (path), "%s/client.json", dir);
        unlink (path);
        snprintf (path, sizeof (path), "%s/engine.json", dir);
        unlink (path);
        snprintf (path, sizeof (path), "%s/controller.json", dir);
        unlink (path);
    }
done:
    if (pinned)
        zpar__corepin_leave (&pin_saved); /* a scheduler failed to start */
    __atomic_store_n (&stop_fd, -1, __ATOMIC_SEQ_CST);
    if (hub.lb_pipe)
        (void)zpar__pipe_send_term (hub.lb_pipe, 0);
    if (hub.mux_inject)
        (void)zpar__pipe_send_term (hub.mux_inject, 0);
    if (hub.ctl_inject)
        (void)zpar__pipe_send_term (hub.ctl_inject, 0);
    zpar__sched_lb_io_stop (sched.lb);
    zpar__sched_direct_stop (sched.mux);
    zpar__sched_direct_stop (sched.ctl);
    sched.iopub = NULL;
    zpar__iopub_stop (iopub);
    sched.hbt = NULL;
    hub.hb_pipe = NULL;
    zpar__hb_thread_stop (hbt); /* closes its sockets and the pipe */
    zpar__close_socket (hb_ping);
    zpar__close_socket (hb_pong);
    zpar__close_socket (hub.registrar);
    zpar__close_socket (hub.notify);
    zpar__close_socket (hub.monitor);
    zpar__close_socket (hub.lb_pipe);
    zpar__close_socket (hub.mux_inject);
    zpar__close_socket (hub.ctl_inject);
    zpar__curve_zap_stop (zap);
    zpar__curve_zap_stop (hb_zap);
    if (hub.ctx)
        (void)zpar__sockutil_set_curve (hub.ctx, NULL);
    if (hb_ctx) {
        (void)zpar__sockutil_set_curve (hb_ctx, NULL);
        zmq_ctx_term (hb_ctx);
    }
    sodium_memzero (&ci.curve, sizeof (ci.curve));
    zpar__records_close (hub.records);
    zpar__signer_destroy (hub.signer);
    zpar__hub_free_state (&hub);
    zpar__reactor_destroy (hub.r);
    if (hub.ctx)
        zmq_ctx_term (hub.ctx);
    if (efd >= 0)
        close (efd);
    return rc;
}
