/* zrouter_tap.h - what the zrouter tests share: a zrouter driven as its
 * owner drives it (poll(2) on its descriptor, then zpar__zrouter_io), and
 * messages received from it and from libzmq peers, every wait with a
 * deadline.
 *
 * Included by one test file each: the includer defines, before including,
 * `static void io (zpar_zrouter_t *z)', its I/O turn (zpar__zrouter_io and
 * what the test records of it). */
#ifndef ZPAR_TESTS_ZROUTER_TAP_H
#define ZPAR_TESTS_ZROUTER_TAP_H

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <zmq.h>

#include "tap.h"
#include "zrouter.h"

static void io (zpar_zrouter_t *z);

static zpar_zrouter_stats_t stats (zpar_zrouter_t *z)
{
    zpar_zrouter_stats_t st;
    zpar__zrouter_stats (z, &st);
    return st;
}

/* One turn of the owner's loop: wait up to ms for the descriptor, then do
 * the I/O. */
static void turn (zpar_zrouter_t *z, int ms)
{
    struct pollfd p = {.fd = zpar__zrouter_fd (z), .events = POLLIN};
    (void)poll (&p, 1, ms);
    io (z);
}

/* The next message the zrouter receives, within ms: 0, or -1 with errno
 * (ETIMEDOUT when none came; EPROTO as zpar__zrouter_recv says). */
static int zr_recv (zpar_zrouter_t *z, zmq_msg_t *part, int nmax, int *n, int ms)
{
    int64_t deadline = tap_now_ms () + ms;
    for (;;) {
        if (zpar__zrouter_recv (z, part, nmax, n) == 0)
            return 0;
        if (errno != EAGAIN)
            return -1;
        if (tap_now_ms () >= deadline) {
            errno = ETIMEDOUT;
            return -1;
        }
        turn (z, tap_left_ms (deadline, 50));
    }
}

/* The next whole message of libzmq socket d, within ms, turning z meanwhile
 * (what the zrouter has to write may wait for it): at most nmax frames
 * kept, the others read and dropped.  0, or -1 ETIMEDOUT. */
static int dl_recv (zpar_zrouter_t *z, void *d, zmq_msg_t *part, int nmax, int *n, int ms)
{
    int64_t deadline = tap_now_ms () + ms;
    *n = 0;
    for (;;) {
        zmq_pollitem_t it[2] = {{d, 0, ZMQ_POLLIN, 0}, {NULL, zpar__zrouter_fd (z), ZMQ_POLLIN, 0}};
        zmq_msg_init (&part[0]);
        if (zmq_msg_recv (&part[0], d, ZMQ_DONTWAIT) >= 0)
            break;
        zmq_msg_close (&part[0]);
        if (errno != EAGAIN)
            return -1;
        if (tap_now_ms () >= deadline) {
            errno = ETIMEDOUT;
            return -1;
        }
        (void)zmq_poll (it, 2, tap_left_ms (deadline, 50));
        io (z);
    }
    *n = 1;
    /* the other frames of a message come with its first */
    while (zmq_msg_more (&part[*n - 1])) {
        zmq_msg_t spill, *p = *n < nmax ? &part[*n] : &spill;
        zmq_msg_init (p);
        if (zmq_msg_recv (p, d, 0) < 0) {
            zmq_msg_close (p);
            break;
        }
        if (p == &spill)
            zmq_msg_close (p);
        else
            (*n)++;
    }
    return 0;
}

static void parts_close (zmq_msg_t *part, int n)
{
    for (int i = 0; i < n; i++)
        zmq_msg_close (&part[i]);
}

static int frame_is (zmq_msg_t *m, const void *p, size_t len)
{
    return zmq_msg_size (m) == len && memcmp (zmq_msg_data (m), p, len) == 0;
}

static int frame_is_str (zmq_msg_t *m, const char *s)
{
    return frame_is (m, s, strlen (s));
}

#endif
