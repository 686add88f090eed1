/* test_reactor.c - the event loop: zmq, fd, timer and signal watchers,
 * destroying watchers from callbacks, stop, run_once, bad parameters. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "reactor.h"
#include "tap.h"

typedef struct {
    int calls;
    int last_rev;
    zpar_watcher_t *other; /* destroyed by the callback, if set */
    int stop_after;
} counter_t;

static void count_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    counter_t *c = arg;
    c->calls++;
    c->last_rev = revents;
    if (c->other) {
        zpar__watcher_destroy (c->other);
        c->other = NULL;
    }
    if (c->stop_after && c->calls >= c->stop_after)
        zpar__reactor_stop (r);
    (void)w;
}

static void drain_zmq (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    counter_t *c = arg;
    void **sock = (void **)((char *)arg + sizeof (counter_t));
    char buf[16];
    while (zmq_recv (*sock, buf, sizeof (buf), ZMQ_DONTWAIT) >= 0)
        c->calls++;
    c->last_rev = revents;
    zpar__reactor_stop (r);
    (void)w;
}

static void self_destroy (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    int *n = arg;
    (*n)++;
    zpar__watcher_destroy (w);
    (void)r;
    (void)revents;
}

/* The lost edge: a message arrives for `in` while the program itself
 * uses the socket (ZMQ_EVENTS, as a send would), which processes the
 * socket's pending commands: the socket is readable but its ZMQ_FD never
 * signals again.  The reactor must still call its watcher. */
typedef struct {
    void *out, *in;
    int got, sent;
} edge_t;

static void consume_edge (void *in)
{
    uint32_t ev = 0;
    size_t len = sizeof (ev);
    (void)zmq_getsockopt (in, ZMQ_EVENTS, &ev, &len);
}

static void edge_send_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    edge_t *e = arg;
    (void)r;
    (void)w;
    (void)revents;
    if (zmq_send (e->out, "x", 1, 0) == 1)
        e->sent++;
    consume_edge (e->in);
}

static void edge_recv_one (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    edge_t *e = arg;
    char buf[4];
    (void)w;
    (void)revents;
    /* one message per call: level-triggered, called again while more */
    if (zmq_recv (e->in, buf, sizeof (buf), ZMQ_DONTWAIT) >= 0)
        e->got++;
    if (e->got >= 3)
        zpar__reactor_stop (r);
}

static void stop_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    int *fired = arg;
    (void)w;
    (void)revents;
    *fired = 1;
    zpar__reactor_stop (r);
}

int main (void)
{
    zpar_reactor_t *r;
    zpar_watcher_t *t1, *t2, *fw, *sw;
    counter_t c1 = {0}, c2 = {0};
    int p[2];
    uint64_t t0;

    /* bad parameters */
    ok (zpar__reactor_run (NULL) < 0 && errno == EINVAL, "run(NULL) is EINVAL");
    ok (zpar__reactor_run_once (NULL, 0) < 0 && errno == EINVAL, "run_once(NULL) is EINVAL");
    ok (zpar__timer_watcher_create (NULL, 1, 0, count_cb, NULL) == NULL && errno == EINVAL,
        "timer on NULL reactor is EINVAL");
    zpar__reactor_destroy (NULL);
    zpar__watcher_destroy (NULL);
    zpar__watcher_start (NULL);
    zpar__watcher_stop (NULL);
    ok (1, "NULL-safe destroy/start/stop");

    r = zpar__reactor_create ();
    ok (r != NULL, "reactor created");
    ok (zpar__timer_watcher_create (r, 1, 0, NULL, NULL) == NULL && errno == EINVAL,
        "watcher without callback is EINVAL");
    ok (zpar__fd_watcher_create (r, -1, ZPAR_EV_IN, count_cb, NULL) == NULL && errno == EINVAL,
        "fd watcher on -1 is EINVAL");
    ok (zpar__zmq_watcher_create (r, NULL, ZPAR_EV_IN, count_cb, NULL) == NULL && errno == EINVAL,
        "zmq watcher on NULL socket is EINVAL");
    ok (zpar__signal_watcher_create (r, 0, count_cb, NULL) == NULL && errno == EINVAL,
        "signal 0 is EINVAL");

    /* nothing active: run returns at once */
    ok (zpar__reactor_run (r) == 0, "run with no watcher returns 0");

    /* a one-shot timer fires once, then the loop has nothing left */
    t1 = zpar__timer_watcher_create (r, 20, 0, count_cb, &c1);
    zpar__watcher_start (t1);
    t0 = zpar__mono_us ();
    ok (zpar__reactor_run (r) == 0, "run with a one-shot timer returns");
    is_int (c1.calls, 1, "one-shot timer fired once");
    ok (zpar__mono_us () - t0 >= 19000, "not before its time");
    ok (!zpar__watcher_active (t1), "one-shot timer stopped itself");

    /* a repeating timer, stopped by its callback after 3 calls */
    c1 = (counter_t){.stop_after = 3};
    zpar__timer_watcher_reset (t1, 1, 2);
    ok (zpar__reactor_run (r) == 0 && c1.calls == 3, "repeating timer fired 3 times then stopped");
    zpar__watcher_stop (t1);

    /* a callback destroys another watcher that is also due */
    c1 = (counter_t){0};
    c2 = (counter_t){0};
    zpar__timer_watcher_reset (t1, 0, 0);
    t2 = zpar__timer_watcher_create (r, 0, 0, count_cb, &c2);
    zpar__watcher_start (t2);
    c1.other = t2;
    zpar__reactor_run (r);
    is_int (c1.calls, 1, "first timer ran");
    is_int (c2.calls, 0, "the timer it destroyed did not run");

    /* a watcher that destroys itself */
    {
        int n = 0;
        zpar_watcher_t *w = zpar__timer_watcher_create (r, 0, 1, self_destroy, &n);
        zpar__watcher_start (w);
        zpar__reactor_run (r);
        is_int (n, 1, "self-destroying repeating timer ran once");
    }

    /* fd watcher */
    ok (pipe (p) == 0, "pipe");
    c1 = (counter_t){.stop_after = 1};
    fw = zpar__fd_watcher_create (r, p[0], ZPAR_EV_IN, count_cb, &c1);
    zpar__watcher_start (fw);
    is_int (zpar__reactor_run_once (r, 0), 0, "run_once(0) with nothing readable makes no call");
    ok (write (p[1], "x", 1) == 1, "write");
    ok (zpar__reactor_run (r) == 0 && c1.calls == 1 && (c1.last_rev & ZPAR_EV_IN),
        "fd watcher called with ZPAR_EV_IN");
    zpar__watcher_destroy (fw);
    close (p[0]);
    close (p[1]);

    /* run_once waits at most its timeout */
    {
        zpar_watcher_t *idle = zpar__timer_watcher_create (r, 10000, 0, count_cb, &c1);
        zpar__watcher_start (idle);
        t0 = zpar__mono_us ();
        is_int (zpar__reactor_run_once (r, 30), 0, "run_once(30) times out with no call");
        ok (zpar__mono_us () - t0 >= 25000 && zpar__mono_us () - t0 < 2000000,
            "and waited about 30 ms");
        zpar__watcher_destroy (idle);
    }

    /* zmq watcher */
    {
        void *ctx = zmq_ctx_new ();
        void *a = zmq_socket (ctx, ZMQ_PAIR), *b = zmq_socket (ctx, ZMQ_PAIR);
        struct {
            counter_t c;
            void *sock;
        } st = {{0}, b};
        zpar_watcher_t *zw;
        ok (zmq_bind (a, "inproc://t") == 0 && zmq_connect (b, "inproc://t") == 0, "pair");
        zw = zpar__zmq_watcher_create (r, b, ZPAR_EV_IN, drain_zmq, &st);
        zpar__watcher_start (zw);
        zmq_send (a, "hi", 2, 0);
        zmq_send (a, "ho", 2, 0);
        ok (zpar__reactor_run (r) == 0 && st.c.calls == 2 && (st.c.last_rev & ZPAR_EV_IN),
            "zmq watcher drained 2 messages");
        zpar__watcher_set_events (zw, ZPAR_EV_OUT);
        st.c.calls = 0;
        ok (zpar__reactor_run (r) == 0 && (st.c.last_rev & ZPAR_EV_OUT), "EV_OUT reported");
        zpar__watcher_destroy (zw);
        zmq_close (a);
        zmq_close (b);
        zmq_ctx_term (ctx);
    }

    /* level-triggered zmq readiness over TCP, whatever used the socket:
     * ZMQ_FD signals only when the reader had found its pipe empty, so
     * a socket the program read without draining is readable with a
     * silent fd */
    {
        void *ctx = zmq_ctx_new ();
        edge_t e = {zmq_socket (ctx, ZMQ_PAIR), zmq_socket (ctx, ZMQ_PAIR), 0, 0};
        char ep[256], buf[4];
        size_t eplen = sizeof (ep);
        zpar_watcher_t *zw, *ts, *guard;
        int fired = 0, n, tries;
        ok (zmq_bind (e.out, "tcp://127.0.0.1:*") == 0 &&
                zmq_getsockopt (e.out, ZMQ_LAST_ENDPOINT, ep, &eplen) == 0 &&
                zmq_connect (e.in, ep) == 0,
            "a TCP pair");
        /* 1: the program read one of two messages before run_once */
        zmq_send (e.out, "x", 1, 0);
        zmq_send (e.out, "x", 1, 0);
        for (tries = 0; tries < 2000 && zmq_recv (e.in, buf, sizeof (buf), ZMQ_DONTWAIT) < 0;
             tries++)
            usleep (1000);
        usleep (20000); /* the second one is in the socket too */
        zw = zpar__zmq_watcher_create (r, e.in, ZPAR_EV_IN, edge_recv_one, &e);
        zpar__watcher_start (zw);
        e.got = 0;
        n = zpar__reactor_run_once (r, 500);
        ok (tries < 2000 && n == 1 && e.got == 1,
            "run_once: the rest of a socket the program read is delivered");
        /* 2: three messages, one read per call: called again while any */
        for (int i = 0; i < 3; i++)
            zmq_send (e.out, "x", 1, 0);
        e.got = 0;
        guard = zpar__timer_watcher_create (r, 2000, 0, stop_cb, &fired);
        zpar__watcher_start (guard);
        ok (zpar__reactor_run (r) == 0 && e.got == 3 && !fired,
            "a callback that leaves messages is called again until none");
        zpar__watcher_destroy (guard);
        /* 3: messages sent while the reader reads one per call */
        e.got = 0;
        fired = 0;
        ts = zpar__timer_watcher_create (r, 1, 2, edge_send_cb, &e);
        guard = zpar__timer_watcher_create (r, 3000, 0, stop_cb, &fired);
        zpar__watcher_start (ts);
        zpar__watcher_start (guard);
        ok (zpar__reactor_run (r) == 0 && e.got == 3 && !fired,
            "messages that arrive while others wait are all delivered");
        zpar__watcher_destroy (ts);
        zpar__watcher_destroy (guard);
        zpar__watcher_destroy (zw);
        zmq_close (e.out);
        zmq_close (e.in);
        zmq_ctx_term (ctx);
    }

    /* signal watcher: SIGUSR1 to ourselves */
    c1 = (counter_t){.stop_after = 1};
    sw = zpar__signal_watcher_create (r, SIGUSR1, count_cb, &c1);
    ok (sw != NULL, "signal watcher created");
    ok (zpar__signal_watcher_create (r, SIGUSR1, count_cb, &c1) == NULL && errno == EEXIST,
        "second watcher of the same signal is EEXIST");
    zpar__watcher_start (sw);
    kill (getpid (), SIGUSR1);
    ok (zpar__reactor_run (r) == 0 && c1.calls == 1 && c1.last_rev == SIGUSR1,
        "signal watcher called with the signal number");
    zpar__watcher_destroy (sw);

    /* stop from a callback leaves run at once, even with watchers active */
    c1 = (counter_t){.stop_after = 1};
    t1 = zpar__timer_watcher_create (r, 0, 1000, count_cb, &c1);
    zpar__watcher_start (t1);
    ok (zpar__reactor_run (r) == 0 && c1.calls == 1 && zpar__reactor_stopped (r),
        "stop returns from run with a repeating timer still active");

    zpar__reactor_destroy (r);
    ok (zpar__reactor_block_signals () == 0, "block_signals");
    return done_testing ();
}
