/* test_hb_thread_flood.c - nothing the heartbeat thread and the hub say to
 * each other is lost when thousands of engines change state at once: N
 * engines (ZPAR_TEST_ENGINES, default 5,000) are watched in one burst sent
 * without waiting, as the hub sends; none of them ever answers; the hub's
 * end of the pipe is not read until every one of them must have been
 * declared dead (a hub busy with a start storm, or one relay's loss at
 * 10,000 engines).  Every WATCH must have been taken and every engine's
 * DEAD must come, once.  With the pipe's default high-water mark (1,000
 * each side) the thread's events beyond it were dropped: those engines
 * stayed alive in the hub forever. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "hb_thread.h"
#include "proto_hb.h"
#include "route.h"
#include "tap.h"

#define BAIL(...)                                                                                  \
    do {                                                                                           \
        printf ("Bail out! " __VA_ARGS__);                                                         \
        printf ("\n");                                                                             \
        return 1;                                                                                  \
    } while (0)
#define SESSION   0x5e55105ull
#define PERIOD_MS 50
#define MISSES    3

int main (void)
{
    const char *s = getenv ("ZPAR_TEST_ENGINES");
    uint32_t n = s && atoi (s) > 1 ? (uint32_t)atoi (s) : 5000, refused = 0, dead = 0, twice = 0;
    void *ctx = zmq_ctx_new (), *pipe;
    void *ping = zmq_socket (ctx, ZMQ_PUB), *pong = zmq_socket (ctx, ZMQ_ROUTER);
    int zero = 0;
    uint8_t *seen = calloc (n + 1, 1);
    zpar_hb_thread_t *t;
    zpar_error_t err;
    uint64_t end;

    if (!ping || !pong || zmq_setsockopt (ping, ZMQ_LINGER, &zero, sizeof (zero)) < 0 ||
        zmq_setsockopt (pong, ZMQ_LINGER, &zero, sizeof (zero)) < 0 ||
        zmq_bind (ping, "inproc://hb-flood-ping") < 0 ||
        zmq_bind (pong, "inproc://hb-flood-pong") < 0)
        BAIL ("the heartbeat's sockets: %s", zmq_strerror (errno));
    t = zpar__hb_thread_start (ctx, ctx, &ping, &pong, PERIOD_MS, MISSES, SESSION, &err);
    ok (t != NULL && seen != NULL, "heartbeat thread started");
    if (!t || !seen)
        return done_testing ();
    pipe = zpar__hb_thread_pipe (t);
    for (uint32_t e = 1; e <= n; e++) {
        zpar_hb_pipe_msg_t m = {.kind = ZPAR_HB_PIPE_WATCH, .engine = e, .gen = e};
        zpar__route_make (zpar__eid (e), &m.route);
        if (zpar__hb_pipe_send (pipe, &m, ZMQ_DONTWAIT) < 0)
            refused++;
    }
    is_int (refused, 0, "%u WATCHes sent at once without waiting: none refused", n);
    /* all silent together: dead at 10 times the limit (heartbeat.h), well
     * within this wait; the hub reads nothing meanwhile */
    usleep ((useconds_t)PERIOD_MS * 1000u * (MISSES + 1) * 10u * 2u);
    end = zpar__mono_us () + 10000000u;
    while (dead < n && zpar__mono_us () < end) {
        zpar_hb_pipe_msg_t m;
        int tmo = 200;
        zmq_setsockopt (pipe, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
        if (zpar__hb_pipe_recv (pipe, &m, 0, &err) < 0) {
            if (errno == EAGAIN)
                continue;
            break;
        }
        if (m.kind != ZPAR_HB_PIPE_DEAD || m.engine == 0 || m.engine > n)
            continue;
        if (seen[m.engine]++)
            twice++;
        else
            dead++;
    }
    is_int (dead, n, "every one of the %u silent engines was declared dead to the hub", n);
    is_int (twice, 0, "and each once");
    zpar__hb_thread_stop (t);
    zmq_ctx_term (ctx);
    free (seen);
    return done_testing ();
}
