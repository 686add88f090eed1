/* controller.c - set up the hub and the schedulers, run, tear down. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "controller.h"
#include "error.h"
#include "hub.h"
#include "log.h"
#include "sched_direct.h"
#include "sched_lb_io.h"
#include "sockutil.h"
#include "store.h"
#include "wire.h"

static int sigpipe_w = -1;

static void on_signal (int sig)
{
    int saved = errno;
    char c = (char)sig;
    if (sigpipe_w >= 0)
        (void)!write (sigpipe_w, &c, 1);
    errno = saved;
}

void zpar__controller_request_stop (void)
{
    on_signal (SIGTERM);
}

/* The address others should use to reach a socket bound to "*". */
static int advertised_ip (char *buf, size_t size)
{
    struct ifaddrs *ifs, *i;
    const char *env = getenv ("ZPAR_ADVERTISE_IP");
    if (env && *env) {
        snprintf (buf, size, "%s", env);
        return 0;
    }
    if (getifaddrs (&ifs) < 0)
        return -1;
    for (i = ifs; i; i = i->ifa_next) {
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)i->ifa_addr;
            if (ntohl (a->sin_addr.s_addr) >> 24 == 127)
                continue;
            inet_ntop (AF_INET, &a->sin_addr, buf, (socklen_t)size);
            freeifaddrs (ifs);
            return 0;
        }
    }
    freeifaddrs (ifs);
    snprintf (buf, size, "127.0.0.1");
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
    zpar_sched_lb_io_t *taskq;
} sched_t;

static uint64_t sched_dropped (void *arg)
{
    sched_t *s = arg;
    return zpar__sched_direct_dropped (s->mux) + zpar__sched_direct_dropped (s->ctl)
           + zpar__sched_lb_io_dropped (s->taskq);
}

static void *iopub_thread (void *arg)
{
    void **socks = arg;
    zmq_proxy_steerable (socks[0], socks[1], NULL, socks[2]);
    return NULL;
}

int zpar__controller_run (const zpar_controller_opts_t *o, zpar_error_t *err)
{
    zpar_hub_t hub;
    sched_t sched = {0};
    zpar_conninfo_t ci, bind;
    char dir[PATH_MAX], path[PATH_MAX], dbpath[PATH_MAX], ip[64] = "127.0.0.1", adv[64];
    char inproc[ZPAR_EP_COUNT][64];
    void *iopub_sub = NULL, *iopub_pub = NULL, *iopub_ctl = NULL, *iopub_ctl_peer = NULL;
    void *iopub_socks[3];
    pthread_t iopub_tid;
    int iopub_started = 0;
    int pipefd[2] = {-1, -1};
    int rc = -1;
    struct sigaction sa, old_term, old_int;
    const char *env;

    memset (&hub, 0, sizeof (hub));
    memset (&ci, 0, sizeof (ci));
    hub.sigfd = -1;
    if (zpar__zmq_version_check (err) < 0)
        return -1;
    if (sodium_init () < 0)
        return zpar__errprintf (err, "cannot initialise libsodium");
    if (o->dir)
        snprintf (dir, sizeof (dir), "%s", o->dir);
    else if (zpar__cluster_dir (dir, sizeof (dir)) < 0)
        return zpar__errprintf (err, "cannot form the cluster directory");
    if (zpar__mkdir_p (dir, 0700) < 0)
        return zpar__errprintf (err, "cannot create %s: %s", dir, strerror (errno));
    if (o->ip && *o->ip)
        snprintf (ip, sizeof (ip), "%s", o->ip);
    if (strcmp (ip, "*") == 0 || strcmp (ip, "0.0.0.0") == 0) {
        snprintf (ip, sizeof (ip), "*");
        advertised_ip (adv, sizeof (adv));
    }
    else
        snprintf (adv, sizeof (adv), "%s", ip);

    /* addresses: reuse a previous file (same ports and key) or fresh */
    if (o->reuse) {
        if (zpar__conn_read (o->reuse, &ci, err) < 0)
            return -1;
        zpar__info ("reusing the addresses and key of %s", o->reuse);
    }
    else {
        randombytes_buf (ci.key, sizeof (ci.key));
        for (int i = 0; i < ZPAR_EP_COUNT; i++)
            snprintf (ci.addr[i], ZPAR_ADDR_MAX, "tcp://%s:*", ip);
    }
    bind = ci;
    if (o->reuse && strcmp (ip, "*") == 0) {
        for (int i = 0; i < ZPAR_EP_COUNT; i++) {
            const char *colon = strrchr (ci.addr[i], ':');
            snprintf (bind.addr[i], ZPAR_ADDR_MAX, "tcp://*:%s", colon ? colon + 1 : "*");
        }
    }
    gethostname (ci.host, sizeof (ci.host) - 1);
    ci.pid = (int)getpid ();
    snprintf (ci.scheme, sizeof (ci.scheme), "%s", o->scheme ? o->scheme : "leastload");
    snprintf (ci.job, sizeof (ci.job), "%s", o->job ? o->job : "local");

    hub.hb_period_ms = o->hb_period_ms > 0 ? o->hb_period_ms : 0;
    if (!hub.hb_period_ms && (env = getenv ("ZPAR_HB_PERIOD_MS")))
        hub.hb_period_ms = atoi (env);
    if (hub.hb_period_ms <= 0)
        hub.hb_period_ms = 1000;
    hub.hb_misses = o->hb_misses > 0 ? o->hb_misses : 0;
    if (!hub.hb_misses && (env = getenv ("ZPAR_HB_MISSES")))
        hub.hb_misses = atoi (env);
    if (hub.hb_misses <= 0)
        hub.hb_misses = 3;
    hub.scheme = ci.scheme;

    if (!(hub.ctx = zmq_ctx_new ()))
        return zpar__errprintf (err, "cannot create a ZeroMQ context");
    zmq_ctx_set (hub.ctx, ZMQ_IO_THREADS, 1);
    zmq_ctx_set (hub.ctx, ZMQ_BLOCKY, 0);
    if (!(hub.signer = zpar__signer_create (ci.key, 0))) {
        zpar__errprintf (err, "cannot create a signer");
        goto done;
    }
    snprintf (dbpath, sizeof (dbpath), "%s", o->db_path ? o->db_path : "");
    if (!*dbpath)
        snprintf (dbpath, sizeof (dbpath), "%s/tasks.sqlite", dir);
    if (!(hub.store = zpar__store_open (dbpath, err)))
        goto done;

    /* inproc plumbing first: monitor (hub binds), pipes (schedulers bind) */
    snprintf (inproc[0], 64, "inproc://zpar-monitor");
    snprintf (inproc[1], 64, "inproc://zpar-taskq-pipe");
    snprintf (inproc[2], 64, "inproc://zpar-mux-inject");
    snprintf (inproc[3], 64, "inproc://zpar-ctl-inject");
    snprintf (inproc[4], 64, "inproc://zpar-iopub-ctl");
    if (!(hub.monitor = zpar__bind_socket (hub.ctx, ZMQ_SUB, inproc[0], 64, err)))
        goto done;
    zmq_setsockopt (hub.monitor, ZMQ_SUBSCRIBE, "", 0);

    if (!(hub.registrar = zpar__bind_socket (hub.ctx, ZMQ_ROUTER, bind.addr[ZPAR_EP_REGISTRAR], ZPAR_ADDR_MAX, err))
        || !(hub.notify = zpar__bind_socket (hub.ctx, ZMQ_PUB, bind.addr[ZPAR_EP_NOTIFY], ZPAR_ADDR_MAX, err))
        || !(hub.hb_ping = zpar__bind_socket (hub.ctx, ZMQ_PUB, bind.addr[ZPAR_EP_HB_PING], ZPAR_ADDR_MAX, err))
        || !(hub.hb_pong = zpar__bind_socket (hub.ctx, ZMQ_ROUTER, bind.addr[ZPAR_EP_HB_PONG], ZPAR_ADDR_MAX, err)))
        goto done;
    if (!(sched.mux = zpar__sched_direct_start (hub.ctx, ZPAR_SCHED_DIRECT_MUX, bind.addr[ZPAR_EP_MUX_CLIENT],
                                         bind.addr[ZPAR_EP_MUX_ENGINE], ZPAR_ADDR_MAX, inproc[0],
                                         inproc[2], ci.key, err))
        || !(sched.ctl = zpar__sched_direct_start (hub.ctx, ZPAR_SCHED_DIRECT_CONTROL, bind.addr[ZPAR_EP_CONTROL_CLIENT],
                                            bind.addr[ZPAR_EP_CONTROL_ENGINE], ZPAR_ADDR_MAX, inproc[0],
                                            inproc[3], ci.key, err))
        || !(sched.taskq = zpar__sched_lb_io_start (hub.ctx, ci.scheme, o->hwm, bind.addr[ZPAR_EP_TASK_CLIENT],
                                              bind.addr[ZPAR_EP_TASK_ENGINE], ZPAR_ADDR_MAX, inproc[0],
                                              inproc[1], ci.key, err)))
        goto done;
    if (!(hub.taskq_pipe = zmq_socket (hub.ctx, ZMQ_PAIR)) || zmq_connect (hub.taskq_pipe, inproc[1]) < 0
        || !(hub.mux_inject = zmq_socket (hub.ctx, ZMQ_PAIR)) || zmq_connect (hub.mux_inject, inproc[2]) < 0
        || !(hub.ctl_inject = zmq_socket (hub.ctx, ZMQ_PAIR)) || zmq_connect (hub.ctl_inject, inproc[3]) < 0) {
        zpar__errprintf (err, "cannot connect the scheduler pipes: %s", zmq_strerror (errno));
        goto done;
    }
    /* IOPub: SUB (engines' PUBs connect) -> PUB (clients' SUBs connect) */
    if (!(iopub_sub = zpar__bind_socket (hub.ctx, ZMQ_SUB, bind.addr[ZPAR_EP_IOPUB_ENGINE], ZPAR_ADDR_MAX, err))
        || !(iopub_pub = zpar__bind_socket (hub.ctx, ZMQ_PUB, bind.addr[ZPAR_EP_IOPUB_CLIENT], ZPAR_ADDR_MAX, err))
        || !(iopub_ctl = zpar__bind_socket (hub.ctx, ZMQ_PAIR, inproc[4], 64, err)))
        goto done;
    zmq_setsockopt (iopub_sub, ZMQ_SUBSCRIBE, "", 0);
    if (!(iopub_ctl_peer = zmq_socket (hub.ctx, ZMQ_PAIR)) || zmq_connect (iopub_ctl_peer, inproc[4]) < 0) {
        zpar__errprintf (err, "cannot connect the iopub control pipe");
        goto done;
    }
    iopub_socks[0] = iopub_sub;
    iopub_socks[1] = iopub_pub;
    iopub_socks[2] = iopub_ctl;
    if (pthread_create (&iopub_tid, NULL, iopub_thread, iopub_socks) != 0) {
        zpar__errprintf (err, "cannot start the iopub thread");
        goto done;
    }
    iopub_started = 1;

    /* what we advertise: the bound endpoints, with "*" made reachable */
    for (int i = 0; i < ZPAR_EP_COUNT; i++) {
        snprintf (ci.addr[i], ZPAR_ADDR_MAX, "%s", bind.addr[i]);
        advertise (ci.addr[i], ZPAR_ADDR_MAX, adv);
    }
    hub.ci = ci;
    hub.extra_dropped = sched_dropped;
    hub.extra_arg = &sched;

    /* signals: a self-pipe the hub polls */
    if (pipe2 (pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
        zpar__errprintf (err, "pipe: %s", strerror (errno));
        goto done;
    }
    sigpipe_w = pipefd[1];
    hub.sigfd = pipefd[0];
    memset (&sa, 0, sizeof (sa));
    sa.sa_handler = on_signal;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGTERM, &sa, &old_term);
    sigaction (SIGINT, &sa, &old_int);
    signal (SIGPIPE, SIG_IGN);

    /* connection files last: their existence means "ready" */
    snprintf (path, sizeof (path), "%s/engine.json", dir);
    if (zpar__conn_write (path, &ci, err) < 0)
        goto signals;
    snprintf (path, sizeof (path), "%s/client.json", dir);
    if (zpar__conn_write (path, &ci, err) < 0)
        goto signals;
    zpar__info ("controller ready: %s (registration %s, scheme %s, heartbeat %d ms x %d)", path,
                ci.addr[ZPAR_EP_REGISTRAR], ci.scheme, hub.hb_period_ms, hub.hb_misses);
    if (o->ready)
        o->ready (o->ready_arg, &ci);

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
    }
signals:
    sigaction (SIGTERM, &old_term, NULL);
    sigaction (SIGINT, &old_int, NULL);
done:
    if (hub.taskq_pipe)
        zmq_send (hub.taskq_pipe, "$TERM", 5, 0);
    if (hub.mux_inject)
        zmq_send (hub.mux_inject, "$TERM", 5, 0);
    if (hub.ctl_inject)
        zmq_send (hub.ctl_inject, "$TERM", 5, 0);
    zpar__sched_lb_io_stop (sched.taskq);
    zpar__sched_direct_stop (sched.mux);
    zpar__sched_direct_stop (sched.ctl);
    if (iopub_started) {
        zmq_send (iopub_ctl_peer, "TERMINATE", 9, 0);
        pthread_join (iopub_tid, NULL);
    }
    zpar__close_socket (iopub_sub);
    zpar__close_socket (iopub_pub);
    zpar__close_socket (iopub_ctl);
    zpar__close_socket (iopub_ctl_peer);
    zpar__close_socket (hub.registrar);
    zpar__close_socket (hub.notify);
    zpar__close_socket (hub.hb_ping);
    zpar__close_socket (hub.hb_pong);
    zpar__close_socket (hub.monitor);
    zpar__close_socket (hub.taskq_pipe);
    zpar__close_socket (hub.mux_inject);
    zpar__close_socket (hub.ctl_inject);
    zpar__store_close (hub.store);
    zpar__signer_destroy (hub.signer);
    zpar__hub_free_state (&hub);
    if (hub.ctx)
        zmq_ctx_term (hub.ctx);
    sigpipe_w = -1;
    if (pipefd[0] >= 0)
        close (pipefd[0]);
    if (pipefd[1] >= 0)
        close (pipefd[1]);
    return rc;
}
