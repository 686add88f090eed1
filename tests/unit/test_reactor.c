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
