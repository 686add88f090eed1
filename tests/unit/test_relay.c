/* test_relay.c - the relay's pieces: the routing stack through a relay
 * (route.h), the internal codecs that carry it (proto_pipe, proto_hb),
 * the relay's endpoints and node rule (relay.h, relay_node.h), and a real
 * relay forwarding between a stand-in controller and engine sockets. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "conn.h"
#include "proto_hb.h"
#include "proto_pipe.h"
#include "relay/relay.h"
#include "relay/relay_node.h"
#include "route.h"
#include "tap.h"
#include "wire.h"

static void add (zpar_frames_t *f, const void *data, size_t len)
{
    zmq_msg_init_size (&f->part[f->n], len);
    memcpy (zmq_msg_data (&f->part[f->n]), data, len);
    f->n++;
}

static int part_is (zpar_frames_t *f, int i, const void *data, size_t len)
{
    return i < f->n && zmq_msg_size (&f->part[i]) == len &&
           !memcmp (zmq_msg_data (&f->part[i]), data, len);
}

static void test_stack (void)
{
    zpar_route_t a, b, got;
    uint8_t r1[ZPAR_RELAY_ID_LEN], r2[ZPAR_RELAY_ID_LEN], packed[ZPAR_ROUTE_PACKED_MAX];
    uint8_t none[ZPAR_RELAY_ID_LEN] = {0};
    zpar_routes_t *t = zpar__routes_create ();
    zpar_frames_t f = {.n = 0, .delim = -1};

    memset (&a, 0, sizeof (a));
    memset (&b, 0, sizeof (b));
    ok (zpar__route_make (zpar__eid (5), &a) == 0 && zpar__route_make (zpar__eid (6), &b) == 0 &&
            zpar__relay_id_make (r1) == 0 && zpar__relay_id_make (r2) == 0,
        "routes and relay ids drawn");
    ok (zpar__relay_id_is (r1, sizeof (r1)) && !zpar__relay_id_is (a.b, sizeof (a.b)) &&
            !zpar__relay_id_is (r1, sizeof (r1) - 1),
        "a relay id is known by its layout");
    memcpy (a.via, r1, sizeof (r1));
    ok (zpar__route_relayed (&a) && !zpar__route_relayed (&b), "engine 5 behind relay 1, 6 not");

    is_int ((int)zpar__route_pack (&a, packed), ZPAR_ROUTE_PACKED_MAX,
            "a relayed route packs to 38");
    ok (zpar__route_unpack (packed, ZPAR_ROUTE_PACKED_MAX, &got) == 0 &&
            !memcmp (&got, &a, sizeof (a)),
        "and unpacks the same");
    is_int ((int)zpar__route_pack (&b, packed), ZPAR_ROUTE_LEN, "a direct one to 21");
    ok (zpar__route_unpack (packed, ZPAR_ROUTE_LEN, &got) == 0 && !zpar__route_relayed (&got) &&
            !memcmp (got.b, b.b, ZPAR_ROUTE_LEN),
        "and unpacks without a relay");
    packed[ZPAR_ROUTE_LEN] = 'X';
    ok (zpar__route_unpack (packed, ZPAR_ROUTE_PACKED_MAX, &got) < 0 && errno == EPROTO,
        "a packed route whose relay part is no relay id is refused");
    ok (zpar__route_unpack (packed, ZPAR_ROUTE_LEN + 3, &got) < 0, "so is a wrong length");

    zpar__routes_set (t, &a);
    zpar__routes_set (t, &b);
    is_int ((int)zpar__routes_check_via (t, a.b, ZPAR_ROUTE_LEN, r1).v, 5,
            "engine 5 is heard through its relay");
    is_int ((int)zpar__routes_check_via (t, a.b, ZPAR_ROUTE_LEN, none).v, 0, "not directly");
    is_int ((int)zpar__routes_check_via (t, a.b, ZPAR_ROUTE_LEN, r2).v, 0,
            "nor through another relay");
    is_int ((int)zpar__routes_check_via (t, b.b, ZPAR_ROUTE_LEN, none).v, 6,
            "engine 6 is heard directly");
    is_int ((int)zpar__routes_check_via (t, b.b, ZPAR_ROUTE_LEN, r1).v, 0,
            "not through a relay it is not behind");

    /* [relay, engine, client, ZPAR1, sig, hdr, body] -> [engine, client, ...] */
    add (&f, r1, sizeof (r1));
    add (&f, a.b, ZPAR_ROUTE_LEN);
    add (&f, "c7", 2);
    add (&f, "ZPAR1", 5);
    add (&f, "s", 1);
    add (&f, "h", 1);
    add (&f, "b", 1);
    f.delim = 3;
    is_int ((int)zpar__routes_check_frames (t, &f).v, 5, "a relayed message is engine 5's");
    ok (f.n == 6 && f.delim == 2 && part_is (&f, 0, a.b, ZPAR_ROUTE_LEN) &&
            part_is (&f, 1, "c7", 2) && part_is (&f, 2, "ZPAR1", 5),
        "and its relay frame is gone: it looks direct");
    {
        uint8_t via[ZPAR_RELAY_ID_LEN];
        ok (zpar__route_frames_strip (&f, via) == 0 && via[0] == 0 && f.n == 6,
            "a direct message has nothing to strip");
    }
    /* sending: [name, client, ...] -> [relay, engine, client, ...] */
    ok (zpar__route_frames_set (&f, &a) == 0 && f.n == 7 && f.delim == 3 &&
            part_is (&f, 0, r1, sizeof (r1)) && part_is (&f, 1, a.b, ZPAR_ROUTE_LEN) &&
            part_is (&f, 2, "c7", 2),
        "to an engine behind a relay: the relay id, then its identity");
    zpar__frames_close (&f);
    f.n = 0;
    f.delim = -1;
    for (int i = 0; i < ZPAR_MAX_PARTS; i++)
        add (&f, "x", 1);
    ok (zpar__route_frames_set (&f, &a) < 0 && errno == EMSGSIZE,
        "no room for the relay frame: refused, not overrun");
    zpar__frames_close (&f);
    zpar__routes_destroy (t);
}

static void test_codecs (void)
{
    zpar_route_t a;
    zpar_hb_pipe_msg_t w = {.kind = ZPAR_HB_PIPE_WATCH, .engine = 9, .gen = 2, .pid = 77}, d;
    uint8_t buf[ZPAR_HB_PIPE_LEN];
    zpar_pipe_msg_t up, got;
    zpar_frames_t f;
    zpar_error_t err;

    memset (&a, 0, sizeof (a));
    zpar__route_make (zpar__eid (9), &a);
    zpar__relay_id_make (a.via);
    w.route = a;
    ok (zpar__hb_pipe_encode (&w, buf) == 0 &&
            zpar__hb_pipe_decode (buf, sizeof (buf), &d, &err) == 0 &&
            !memcmp (&d.route, &a, sizeof (a)) && d.pid == 77,
        "heartbeat pipe: WATCH carries the engine's relay");
    buf[24 + ZPAR_ROUTE_LEN] = 'Q';
    ok (zpar__hb_pipe_decode (buf, sizeof (buf), &d, &err) < 0, "a bad relay id in it is refused");

    memset (&up, 0, sizeof (up));
    up.kind = ZPAR_PIPE_UP;
    up.engine = 9;
    up.route = a;
    ok (zpar__pipe_encode (&up, &f) == 0 && zpar__pipe_decode (&f, &got, &err) == 0 &&
            got.kind == ZPAR_PIPE_UP && !memcmp (&got.route, &a, sizeof (a)),
        "scheduler pipe: up carries the engine's relay");
    zpar__frames_close (&f);
}

static void test_node (void)
{
    zpar_conninfo_t ci, e;
    zpar_relay_mode_t m;
    zpar_error_t err;
    char d1[256], d2[256], d3[256], ep[ZPAR_ADDR_MAX];

    ok (zpar__relay_mode_parse ("always", &m, &err) == 0 && m == ZPAR_RELAY_ALWAYS,
        "--relay=always");
    ok (zpar__relay_mode_parse ("sometimes", &m, &err) < 0 && errno == EINVAL,
        "a bad mode is refused");
    unsetenv ("ZPAR_RELAY");
    ok (zpar__relay_mode_parse (NULL, &m, &err) == 0 && m == ZPAR_RELAY_AUTO, "default: auto");
    setenv ("ZPAR_RELAY", "never", 1);
    ok (zpar__relay_mode_parse (NULL, &m, &err) == 0 && m == ZPAR_RELAY_NEVER, "ZPAR_RELAY");
    unsetenv ("ZPAR_RELAY");

    ok (zpar__relay_wanted (ZPAR_RELAY_AUTO, 0, 4, "leastload"), "auto: 4 engines on another node");
    ok (!zpar__relay_wanted (ZPAR_RELAY_AUTO, 0, 1, "leastload"), "auto: not for one engine");
    ok (!zpar__relay_wanted (ZPAR_RELAY_AUTO, 1, 5, "leastload"),
        "auto: not on the controller's node");
    ok (zpar__relay_wanted (ZPAR_RELAY_ALWAYS, 1, 2, "leastload"),
        "always: the controller's node too");
    ok (!zpar__relay_wanted (ZPAR_RELAY_ALWAYS, 1, 1, "leastload"), "always: not with no engine");
    ok (!zpar__relay_wanted (ZPAR_RELAY_ALWAYS, 0, 4, "pure"), "never with the pure scheme");
    ok (!zpar__relay_wanted (ZPAR_RELAY_NEVER, 0, 8, "leastload"), "never");
    /* the controller's node from ZPAR_RELAY_CONTROLLER_NODE_MIN engines on */
    unsetenv ("ZPAR_RELAY_CONTROLLER_NODE");
    ok (zpar__relay_controller_node_min () == ZPAR_RELAY_CONTROLLER_NODE_MIN,
        "the controller's node: %d engines by default", ZPAR_RELAY_CONTROLLER_NODE_MIN);
    ok (!zpar__relay_wanted (ZPAR_RELAY_AUTO, 1, ZPAR_RELAY_CONTROLLER_NODE_MIN, "leastload"),
        "auto: not on the controller's node with one engine less than that");
    ok (zpar__relay_wanted (ZPAR_RELAY_AUTO, 1, ZPAR_RELAY_CONTROLLER_NODE_MIN + 1, "leastload"),
        "auto: the controller's node with that many engines");
    ok (!zpar__relay_wanted (ZPAR_RELAY_AUTO, 1, 1001, "pure"),
        "auto: not the controller's node with the pure scheme");
    ok (!zpar__relay_wanted (ZPAR_RELAY_NEVER, 1, 1001, "leastload"),
        "never: not the controller's node with 1,000 engines");
    setenv ("ZPAR_RELAY_CONTROLLER_NODE", "4", 1);
    ok (zpar__relay_wanted (ZPAR_RELAY_AUTO, 1, 5, "leastload") &&
            !zpar__relay_wanted (ZPAR_RELAY_AUTO, 1, 4, "leastload"),
        "ZPAR_RELAY_CONTROLLER_NODE=4: from 4 engines on");
    setenv ("ZPAR_RELAY_CONTROLLER_NODE", "0", 1);
    ok (!zpar__relay_wanted (ZPAR_RELAY_AUTO, 1, 1001, "leastload") &&
            zpar__relay_wanted (ZPAR_RELAY_AUTO, 0, 1000, "leastload"),
        "ZPAR_RELAY_CONTROLLER_NODE=0: never the controller's node, other nodes still");
    setenv ("ZPAR_RELAY_CONTROLLER_NODE", "many", 1);
    ok (zpar__relay_controller_node_min () == ZPAR_RELAY_CONTROLLER_NODE_MIN,
        "a bad ZPAR_RELAY_CONTROLLER_NODE: the default");
    unsetenv ("ZPAR_RELAY_CONTROLLER_NODE");

    memset (&ci, 0, sizeof (ci));
    memset (ci.key, 7, sizeof (ci.key));
    {
        static char run[] = "/tmp/zpar-test-relay-run-XXXXXX";
        if (mkdtemp (run))
            setenv ("XDG_RUNTIME_DIR", run, 1); /* removed at the end */
    }
    ok (zpar__relay_dir (&ci, "h2", d1, sizeof (d1), &err) == 0 &&
            zpar__relay_dir (&ci, "h2", d2, sizeof (d2), &err) == 0 && !strcmp (d1, d2),
        "the node's relay directory is the same for every rank of the node (%s)", d1);
    ok (zpar__relay_dir (&ci, "h3", d3, sizeof (d3), &err) == 0 && strcmp (d1, d3),
        "and another on another node");
    memset (ci.key, 8, sizeof (ci.key));
    ok (zpar__relay_dir (&ci, "h2", d3, sizeof (d3), &err) == 0 && strcmp (d1, d3),
        "and another for another cluster");
    {
        char base[300];
        snprintf (base, sizeof (base), "%s/zpar-relay", getenv ("XDG_RUNTIME_DIR"));
        ok (!strncmp (d1, base, strlen (base)), "under $XDG_RUNTIME_DIR/zpar-relay");
        rmdir (base);
        rmdir (getenv ("XDG_RUNTIME_DIR"));
    }
    {
        /* no runtime directory: one directory of its own in /tmp, not a
         * shared parent that stays when the relay is gone */
        char want[64];
        struct stat st;
        unsetenv ("XDG_RUNTIME_DIR");
        snprintf (want, sizeof (want), "/tmp/zpar-relay-%u-", (unsigned)geteuid ());
        ok (zpar__relay_dir (&ci, "h2", d3, sizeof (d3), &err) == 0 &&
                !strncmp (d3, want, strlen (want)) && strlen (d3) == strlen (want) + 16 &&
                !strchr (d3 + 5, '/'),
            "without XDG_RUNTIME_DIR: /tmp/zpar-relay-UID-HASH (%s)", d3);
        ok (stat (d3, &st) < 0 && errno == ENOENT, "and nothing created in /tmp by the naming");
    }

    ok (zpar__relay_endpoint ("/r", ZPAR_EP_TASK_ENGINE, ep, sizeof (ep)) == 0 &&
            !strcmp (ep, "ipc:///r/task"),
        "the task endpoint: ipc:///r/task");
    ok (zpar__relay_endpoint ("/r", ZPAR_EP_TASK_CLIENT, ep, sizeof (ep)) < 0 && errno == EINVAL,
        "a client endpoint is none of the relay's");
    {
        char longdir[200];
        memset (longdir, 'd', sizeof (longdir) - 1);
        longdir[0] = '/';
        longdir[sizeof (longdir) - 1] = '\0';
        ok (zpar__relay_endpoint (longdir, ZPAR_EP_HB_PONG, ep, sizeof (ep)) < 0 &&
                errno == ENAMETOOLONG,
            "an ipc path too long for a socket is refused");
    }
    memset (&e, 0, sizeof (e));
    snprintf (e.addr[ZPAR_EP_TASK_CLIENT], ZPAR_ADDR_MAX, "tcp://1.2.3.4:5");
    snprintf (e.curve.server_public, sizeof (e.curve.server_public), "x");
    ok (zpar__relay_engine_addrs ("/r", &e) == 0 &&
            !strcmp (e.addr[ZPAR_EP_REGISTRAR], "ipc:///r/registrar") &&
            !strcmp (e.addr[ZPAR_EP_HB_PING], "ipc:///r/hb_ping") &&
            !strcmp (e.addr[ZPAR_EP_TASK_CLIENT], "tcp://1.2.3.4:5") && !e.curve.server_public[0],
        "an engine's addresses point at the relay, the Curve keys cleared");
}

/* ------------------------------------------------- a relay at work */

typedef struct {
    zpar_relay_opts_t o;
    zpar_error_t err;
    int rc;
} relay_arg_t;

static void *relay_main (void *arg)
{
    relay_arg_t *a = arg;
    a->rc = zpar__relay_run (&a->o, &a->err);
    return NULL;
}

static void *bind_any (void *ctx, int type, char *addr)
{
    void *s = zmq_socket (ctx, type);
    size_t len = ZPAR_ADDR_MAX;
    int zero = 0;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    if (zmq_bind (s, "tcp://127.0.0.1:*") < 0)
        return NULL;
    zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, addr, &len);
    return s;
}

static void *conn_to (void *ctx, int type, const char *addr, const char *ident)
{
    void *s = zmq_socket (ctx, type);
    int zero = 0, tmo = 3000;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (s, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    if (ident)
        zmq_setsockopt (s, ZMQ_ROUTING_ID, ident, strlen (ident));
    if (type == ZMQ_SUB)
        zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0);
    zmq_connect (s, addr);
    return s;
}

/* receive a message of up to 4 frames into bufs; the frame count */
static int recv_parts (void *s, char bufs[][64], size_t *lens)
{
    int n = 0, more = 1;
    while (more && n < 4) {
        int r = zmq_recv (s, bufs[n], 63, 0);
        if (r < 0)
            return -1;
        lens[n++] = (size_t)r;
        more = 0;
        size_t ml = sizeof (more);
        zmq_getsockopt (s, ZMQ_RCVMORE, &more, &ml);
    }
    return n;
}

static void test_forward (void)
{
    void *ctx = zmq_ctx_new ();
    zpar_conninfo_t ci;
    char dir[] = "/tmp/zpar-test-relay-XXXXXX", rdir[300], ep[ZPAR_ADDR_MAX];
    char bufs[4][64], rid[ZPAR_RELAY_ID_LEN];
    size_t lens[4];
    void *reg, *task, *ping, *pong, *iopub, *mux, *ctl, *e_task, *e_new, *e_ping, *e_iopub;
    relay_arg_t a;
    pthread_t tid;
    int n, got;
    sigset_t set;

    sigemptyset (&set);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGINT);
    pthread_sigmask (SIG_BLOCK, &set, NULL); /* the relay reads them from a signalfd */
    memset (&ci, 0, sizeof (ci));
    memset (ci.key, 3, sizeof (ci.key));
    reg = bind_any (ctx, ZMQ_ROUTER, ci.addr[ZPAR_EP_REGISTRAR]);
    mux = bind_any (ctx, ZMQ_ROUTER, ci.addr[ZPAR_EP_MUX_ENGINE]);
    task = bind_any (ctx, ZMQ_ROUTER, ci.addr[ZPAR_EP_TASK_ENGINE]);
    ctl = bind_any (ctx, ZMQ_ROUTER, ci.addr[ZPAR_EP_CONTROL_ENGINE]);
    pong = bind_any (ctx, ZMQ_ROUTER, ci.addr[ZPAR_EP_HB_PONG]);
    ping = bind_any (ctx, ZMQ_PUB, ci.addr[ZPAR_EP_HB_PING]);
    iopub = bind_any (ctx, ZMQ_SUB, ci.addr[ZPAR_EP_IOPUB_ENGINE]);
    zmq_setsockopt (iopub, ZMQ_SUBSCRIBE, "", 0);
    {
        int tmo = 3000;
        zmq_setsockopt (task, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
        zmq_setsockopt (iopub, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    }
    ok (reg && mux && task && ctl && pong && ping && iopub && mkdtemp (dir),
        "a stand-in controller");
    snprintf (rdir, sizeof (rdir), "%s/relay", dir);
    memset (&a, 0, sizeof (a));
    a.o.conninfo = &ci;
    a.o.dir = rdir;
    a.rc = -2;
    ok (pthread_create (&tid, NULL, relay_main, &a) == 0, "a relay started");

    zpar__relay_endpoint (rdir, ZPAR_EP_TASK_ENGINE, ep, sizeof (ep));
    e_task = conn_to (ctx, ZMQ_DEALER, ep, "Eengine-1");
    zmq_send (e_task, "result", 6, 0);
    n = recv_parts (task, bufs, lens);
    ok (n == 3 && lens[0] == ZPAR_RELAY_ID_LEN && bufs[0][0] == 'R' && lens[1] == 9 &&
            !memcmp (bufs[1], "Eengine-1", 9) && lens[2] == 6 && !memcmp (bufs[2], "result", 6),
        "up: the controller sees [relay id, engine identity, message]");
    memcpy (rid, bufs[0], sizeof (rid));
    zmq_send (task, rid, sizeof (rid), ZMQ_SNDMORE);
    zmq_send (task, "Eengine-1", 9, ZMQ_SNDMORE);
    zmq_send (task, "task", 4, 0);
    n = zmq_recv (e_task, bufs[0], 63, 0);
    ok (n == 4 && !memcmp (bufs[0], "task", 4),
        "down: [relay id, engine identity, message] reaches that engine");

    /* a task for an engine that connects only afterwards is held */
    zmq_send (task, rid, sizeof (rid), ZMQ_SNDMORE);
    zmq_send (task, "Eengine-2", 9, ZMQ_SNDMORE);
    zmq_send (task, "early", 5, 0);
    zmq_send (task, rid, sizeof (rid), ZMQ_SNDMORE);
    zmq_send (task, "Eengine-2", 9, ZMQ_SNDMORE);
    zmq_send (task, "later", 5, 0);
    usleep (100000);
    e_new = conn_to (ctx, ZMQ_DEALER, ep, "Eengine-2");
    n = zmq_recv (e_new, bufs[0], 63, 0);
    got = zmq_recv (e_new, bufs[1], 63, 0);
    ok (n == 5 && !memcmp (bufs[0], "early", 5) && got == 5 && !memcmp (bufs[1], "later", 5),
        "a message for an engine not connected yet waits for it, in order");

    /* pings down, output up (PUB/SUB: send until the subscription is there) */
    zpar__relay_endpoint (rdir, ZPAR_EP_HB_PING, ep, sizeof (ep));
    e_ping = conn_to (ctx, ZMQ_SUB, ep, NULL);
    got = 0;
    for (int i = 0; i < 100 && !got; i++) {
        zmq_send (ping, "ping", 4, 0);
        got = zmq_recv (e_ping, bufs[0], 63, ZMQ_DONTWAIT) == 4;
        if (!got)
            usleep (30000);
    }
    ok (got, "pings reach the engines");
    zpar__relay_endpoint (rdir, ZPAR_EP_IOPUB_ENGINE, ep, sizeof (ep));
    e_iopub = conn_to (ctx, ZMQ_PUB, ep, NULL);
    got = 0;
    for (int i = 0; i < 100 && !got; i++) {
        zmq_send (e_iopub, "c1.e1", 5, ZMQ_SNDMORE);
        zmq_send (e_iopub, "out", 3, 0);
        usleep (30000);
        while (recv_parts (iopub, bufs, lens) == 2 && lens[0] == 5) {
            got = !memcmp (bufs[0], "c1.e1", 5) && lens[1] == 3;
            {
                int zero = 0;
                zmq_setsockopt (iopub, ZMQ_RCVTIMEO, &zero, sizeof (zero));
            }
        }
    }
    ok (got, "output reaches the controller with its topic frame");

    kill (getpid (), SIGTERM);
    pthread_join (tid, NULL);
    is_int (a.rc, 0, "SIGTERM stops the relay");
    {
        struct stat st;
        ok (stat (rdir, &st) < 0 && errno == ENOENT, "and its ipc files and directory are gone");
    }
    zmq_close (e_task);
    zmq_close (e_new);
    zmq_close (e_ping);
    zmq_close (e_iopub);
    zmq_close (reg);
    zmq_close (mux);
    zmq_close (task);
    zmq_close (ctl);
    zmq_close (pong);
    zmq_close (ping);
    zmq_close (iopub);
    zmq_ctx_term (ctx);
    rmdir (dir);
}

int main (void)
{
    plan (NO_PLAN);
    test_stack ();
    test_codecs ();
    test_node ();
    test_forward ();
    done_testing ();
}
