/* test_heart.c - the engine's heart against a fake hub (a PUB for pings
 * and a ROUTER for pongs, inproc), on a reactor: pings are echoed, loss by
 * silence and by a new controller session is reported once; with a real
 * keeper, pings keep a task group alive past the fence limit, silence
 * fences it (the hold on a closed ping connection is covered by
 * tests/system/t0902-engine-outbox.sh). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "engine/heart.h"
#include "engine/keeper.h"
#include "reactor.h"
#include "tap.h"

static int lost_calls;
static zpar_heart_loss_t lost_why;

static void on_lost (zpar_heart_t *h, zpar_heart_loss_t why, void *arg)
{
    (void)h;
    (void)arg;
    lost_calls++;
    lost_why = why;
}

static void ping_at (void *pub, uint64_t seq, uint64_t session, uint64_t time_us)
{
    uint64_t v[3] = {seq, time_us, session};
    (void)zmq_send (pub, v, sizeof (v), ZMQ_DONTWAIT);
}

static void ping (void *pub, uint64_t seq, uint64_t session)
{
    ping_at (pub, seq, session, zpar__now_us ());
}

/* The hub's nudge to routing identity ident. */
static void nudge (void *router, const char *ident)
{
    (void)zmq_send (router, ident, strlen (ident), ZMQ_SNDMORE);
    (void)zmq_send (router, "zparRREG", 8, 0);
}

/* Run the reactor ms, pinging every 100 ms with seq from *seq. */
static void beat_for (zpar_reactor_t *r, void *pub, uint64_t *seq, unsigned ms)
{
    uint64_t end = zpar__mono_us () + ms * 1000u, next = 0;
    while (zpar__mono_us () < end && !lost_calls) {
        if (zpar__mono_us () >= next) {
            ping (pub, ++*seq, 77);
            next = zpar__mono_us () + 100000u;
        }
        (void)zpar__reactor_run_once (r, 10);
    }
}

static void sleep_ms (unsigned ms)
{
    struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep (&t, NULL);
}

/* Ping every 20 ms until the ROUTER gets an echo from ident (or 5 s). */
static int echoed (zpar_reactor_t *r, void *pub, void *router, const char *ident, uint64_t session)
{
    uint64_t end = zpar__mono_us () + 5000000u, seq = 0;
    while (zpar__mono_us () < end) {
        char id[32], body[64];
        int n;
        ping (pub, ++seq, session);
        (void)zpar__reactor_run_once (r, 20);
        while ((n = zmq_recv (router, id, sizeof (id), ZMQ_DONTWAIT)) >= 0) {
            int len = zmq_recv (router, body, sizeof (body), 0);
            uint64_t s;
            memcpy (&s, body + 16, 8);
            if (n == (int)strlen (ident) && memcmp (id, ident, (size_t)n) == 0 && len == 24 &&
                s == session)
                return 1;
        }
    }
    return 0;
}

static void run_for (zpar_reactor_t *r, unsigned ms)
{
    uint64_t end = zpar__mono_us () + ms * 1000u;
    while (zpar__mono_us () < end && !lost_calls)
        (void)zpar__reactor_run_once (r, 10);
}

/* A "task": a child in a process group of its own that waits to be killed. */
static pid_t group_task (void)
{
    pid_t p = fork ();
    if (p == 0) {
        (void)setpgid (0, 0);
        for (;;)
            pause ();
    }
    if (p > 0)
        (void)setpgid (p, p);
    return p;
}

/* Did task p die (reaped) within ms, running reactor r and pinging on pub
 * every 50 ms when pub is not NULL? */
static int died_within (zpar_reactor_t *r, void *pub, uint64_t *seq, unsigned ms)
{
    uint64_t end = zpar__mono_us () + ms * 1000u, next = 0;
    (void)seq;
    while (zpar__mono_us () < end) {
        if (pub && zpar__mono_us () >= next) {
            ping (pub, ++*seq, 77);
            next = zpar__mono_us () + 50000u;
        }
        (void)zpar__reactor_run_once (r, 10);
        if (waitpid (-1, NULL, WNOHANG) > 0)
            return 1;
    }
    return 0;
}

static void end_task (pid_t p)
{
    (void)kill (p, SIGKILL);
    while (waitpid (p, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* Fencing with a real keeper: the heart ticks it on every ping (a task
 * lives on past the fence limit), silence fences; a new heart after the
 * fence (the engine registered again) keeps the next task alive. */
static void test_fencing (void *ctx, zpar_reactor_t *r, void *router)
{
    zpar_error_t err = {{0}};
    zpar_keeper_t *k = zpar__keeper_start (&err);
    void *pub = zmq_socket (ctx, ZMQ_PUB);
    char ep[128];
    size_t eplen = sizeof (ep);
    int zero = 0;
    uint64_t seq = 1000;
    pid_t t;
    zpar_heart_opts_t o = {
        .pong_addr = "inproc://t-pong",
        .ident = "e30",
        .period_ms = 100,
        .misses = 3,
        .session = 77,
        .lost = on_lost,
    };
    zpar_heart_t *h;

    (void)zmq_setsockopt (pub, ZMQ_LINGER, &zero, sizeof (zero));
    ok (k && pub && zmq_bind (pub, "tcp://127.0.0.1:*") == 0 &&
            zmq_getsockopt (pub, ZMQ_LAST_ENDPOINT, ep, &eplen) == 0,
        "fencing: a keeper, a hub PUB on TCP (%s)", ep);
    o.ping_addr = ep;
    o.keeper_fd = zpar__keeper_fd (k);
    lost_calls = 0;
    h = zpar__heart_create (r, ctx, &o, &err);
    ok (h && echoed (r, pub, router, "e30", 77), "a heart with the keeper beats");
    t = group_task ();
    ok (t > 0 && zpar__keeper_add (k, t) == 0 && zpar__keeper_fence_limit (k, 300, 100) == 0 &&
            zpar__keeper_tick (k) == 0,
        "a task group listed, fence limit 300 ms");
    ok (!died_within (r, pub, &seq, 1200), "pinged every 50 ms: alive four limits later");
    ok (died_within (r, NULL, &seq, 3000), "no ping (the hub runs on, silent): fenced");
    ok (zpar__keeper_fenced (k, t) == 1, "the keeper says so");
    /* the engine registers again with a new heart (the old one reported
     * the silence) */
    zpar__heart_destroy (h);
    lost_calls = 0;
    h = zpar__heart_create (r, ctx, &o, &err);
    ok (h && echoed (r, pub, router, "e30", 77), "a new heart, pings again");
    t = group_task ();
    /* the registration reply is word from the controller: the engine ticks
     * (before it starts a task: the heart's own tick may come later) and,
     * the controller having said which tasks are still its own, ends the
     * fence (a tick alone does not: keeper.h) */
    ok (t > 0 && zpar__keeper_tick (k) == 0 && zpar__keeper_fence_limit (k, 1000, 100) == 0 &&
            zpar__keeper_resume (k) == 0 && zpar__keeper_add (k, t) == 0,
        "a new task group listed after the fence ended, fence limit 1 s");
    ok (!died_within (r, pub, &seq, 600), "alive while pinged");
    ok (died_within (r, NULL, &seq, 4000), "silent again: fenced");
    zpar__heart_destroy (h);
    zmq_close (pub);
    zpar__keeper_stop (k);
    end_task (t);
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    void *pub = zmq_socket (ctx, ZMQ_PUB);
    void *router = zmq_socket (ctx, ZMQ_ROUTER);
    zpar_reactor_t *r = zpar__reactor_create ();
    zpar_heart_opts_t o = {
        .ping_addr = "inproc://t-ping",
        .pong_addr = "inproc://t-pong",
        .ident = "e5",
        .period_ms = 100,
        .misses = 3,
        .session = 77,
        .lost = on_lost,
    };
    zpar_error_t err = {{0}};
    zpar_heart_t *h;
    uint64_t t0, last;

    plan (NO_PLAN);
    ok (ctx && pub && router && r, "context, fake hub sockets, reactor");
    ok (zmq_bind (pub, o.ping_addr) == 0 && zmq_bind (router, o.pong_addr) == 0, "fake hub bound");

    /* bad parameters */
    {
        zpar_heart_opts_t bad[5];
        const char *what[5] = {"no ping address", "no pong address", "no ident", "no callback",
                               "all fine but no reactor"};
        for (int i = 0; i < 5; i++)
            bad[i] = o;
        bad[0].ping_addr = NULL;
        bad[1].pong_addr = NULL;
        bad[2].ident = NULL;
        bad[3].lost = NULL;
        for (int i = 0; i < 4; i++)
            ok (zpar__heart_create (r, ctx, &bad[i], &err) == NULL && errno == EINVAL,
                "create, %s: EINVAL", what[i]);
        ok (zpar__heart_create (NULL, ctx, &bad[4], &err) == NULL && errno == EINVAL,
            "create, %s: EINVAL", what[4]);
        ok (zpar__heart_create (r, NULL, &o, &err) == NULL && errno == EINVAL,
            "create, no context: EINVAL");
        ok (zpar__heart_create (r, ctx, NULL, &err) == NULL && errno == EINVAL,
            "create, no options: EINVAL");
        zpar__heart_destroy (NULL);
        ok (1, "destroy(NULL) is a no-op");
        is_int ((int)zpar__heart_last_ping_us (NULL), 0, "last_ping(NULL) is 0");
    }

    /* echo, and silence */
    h = zpar__heart_create (r, ctx, &o, &err);
    ok (h != NULL, "heart created");
    if (!h) {
        diag ("%s", err.text);
        return done_testing ();
    }
    ok (zpar__heart_limit_us (h) == 2000000u, "limit: 3 x 100 ms + 100 ms, at least 2 s");
    t0 = zpar__mono_us ();
    ok (echoed (r, pub, router, "e5", 77), "a ping comes back on the ROUTER from e5");
    /* the copies reach our capture SUB once its inproc subscription is in */
    for (int i = 0; i < 100 && zpar__heart_last_ping_us (h) < t0; i++) {
        ping (pub, 500 + (uint64_t)i, 77);
        run_for (r, 20);
    }
    last = zpar__heart_last_ping_us (h);
    ok (last >= t0, "the capture saw the pings");
    is_int (lost_calls, 0, "no loss while pings come");
    run_for (r, 4000);
    is_int (lost_calls, 1, "silence: loss reported once");
    ok (lost_why == ZPAR_HEART_SILENT, "reason: silent");
    ok (zpar__mono_us () - last >= 2000000u, "not before the limit");
    run_for (r, 300);
    is_int (lost_calls, 1, "not reported again");
    /* a silence is a warning: the heart goes on (no reconnect), and a
     * later loss is still reported */
    lost_calls = 0;
    {
        /* the pings lost meanwhile make it "resumed": a warning too */
        int resumed = 0;
        for (int i = 0; i < 20; i++) {
            ping (pub, 700 + (uint64_t)i, 77);
            run_for (r, 20);
            if (lost_calls == 1 && lost_why == ZPAR_HEART_RESUMED) {
                resumed++;
                lost_calls = 0;
            }
        }
        ok (lost_calls == 0 && resumed <= 1, "pings again after the silence: no loss reported");
    }
    ok (zpar__heart_last_ping_us (h) > last, "the heart still sees the pings");
    lost_calls = 0;
    ping (pub, 800, 78);
    run_for (r, 300);
    is_int (lost_calls, 1, "after the silence, a ping from session 78: reported");
    ok (lost_why == ZPAR_HEART_NEW_CONTROLLER, "reason: new controller");
    zpar__heart_destroy (h);

    /* a new controller */
    lost_calls = 0;
    o.ident = "e6";
    h = zpar__heart_create (r, ctx, &o, &err);
    ok (h && echoed (r, pub, router, "e6", 77), "second heart beats");
    ping (pub, 1000, 78);
    run_for (r, 1000);
    is_int (lost_calls, 1, "ping from session 78: loss reported");
    ok (lost_why == ZPAR_HEART_NEW_CONTROLLER, "reason: new controller");
    zpar__heart_destroy (h);

    /* the hub's nudge: passed on once the first period is over */
    {
        uint64_t seq = 2000;
        lost_calls = 0;
        o.ident = "e7";
        h = zpar__heart_create (r, ctx, &o, &err);
        ok (h && echoed (r, pub, router, "e7", 77), "third heart beats");
        beat_for (r, pub, &seq, 200); /* nudges of the first period are for an earlier heart */
        nudge (router, "e7");
        beat_for (r, pub, &seq, 600);
        is_int (lost_calls, 1, "a nudge on the pong DEALER: reported");
        ok (lost_why == ZPAR_HEART_NUDGED, "reason: nudged");
        zpar__heart_destroy (h);

        /* the pings reached us late although the hub sent them on time:
         * queued while we were not reading (stopped, held by the network) */
        lost_calls = 0;
        o.ident = "e8";
        h = zpar__heart_create (r, ctx, &o, &err);
        ok (h && echoed (r, pub, router, "e8", 77), "fourth heart beats");
        beat_for (r, pub, &seq, 300);
        is_int (lost_calls, 0, "pings on time: nothing reported");
        {
            uint64_t t = zpar__now_us ();
            ping_at (pub, ++seq, 77, t);
            run_for (r, 50);
            sleep_ms (600);                        /* past the death limit of 3 x 100 + 50 ms */
            ping_at (pub, ++seq, 77, t + 100000u); /* sent 100 ms after the one before */
            run_for (r, 300);
        }
        is_int (lost_calls, 1, "a ping sent on time that reached us 600 ms late: reported");
        ok (lost_why == ZPAR_HEART_RESUMED, "reason: resumed (the silence was ours)");
        /* a warning only: the heart goes on, the hub's nudge still counts */
        lost_calls = 0;
        beat_for (r, pub, &seq, 300);
        is_int (lost_calls, 0, "pings on time again: nothing more reported");
        nudge (router, "e8");
        beat_for (r, pub, &seq, 300);
        is_int (lost_calls, 1, "after the late ping, the nudge: reported");
        ok (lost_why == ZPAR_HEART_NUDGED, "reason: nudged");
        zpar__heart_destroy (h);

        /* more pings than the misses lost: we were cut off */
        lost_calls = 0;
        o.ident = "e9";
        h = zpar__heart_create (r, ctx, &o, &err);
        ok (h && echoed (r, pub, router, "e9", 77), "fifth heart beats");
        beat_for (r, pub, &seq, 300);
        sleep_ms (600);
        seq += 6; /* six pings that never came */
        beat_for (r, pub, &seq, 300);
        is_int (lost_calls, 1, "pings lost past the misses: reported");
        ok (lost_why == ZPAR_HEART_RESUMED, "reason: resumed");
        zpar__heart_destroy (h);

        /* the hub itself was late: one ping, sent late; not ours */
        lost_calls = 0;
        o.ident = "e10";
        h = zpar__heart_create (r, ctx, &o, &err);
        ok (h && echoed (r, pub, router, "e10", 77), "sixth heart beats");
        beat_for (r, pub, &seq, 300);
        {
            uint64_t end = zpar__mono_us () + 600000u;
            while (zpar__mono_us () < end) /* we run, the hub sends nothing */
                (void)zpar__reactor_run_once (r, 10);
        }
        beat_for (r, pub, &seq, 300);
        is_int (lost_calls, 0, "a hub 600 ms late (we ran meanwhile): nothing reported");
        zpar__heart_destroy (h);
    }

    test_fencing (ctx, r, router);

    zpar__reactor_destroy (r);
    zmq_close (pub);
    zmq_close (router);
    zmq_ctx_term (ctx);
    return done_testing ();
}
