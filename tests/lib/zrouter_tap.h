/* zrouter_tap.h - what the zrouter tests share: a zrouter driven as its
 * owner drives it (poll(2) on its descriptor, then zpar__zrouter_io), and
 * messages received from it and from libzmq peers, every wait with a
 * deadline.
 *
 * Included by one test file each: the includer defines, before including,
 * WAIT_MS (the deadline of what must happen), QUIET_MS (how long nothing
 * must come) and NMAX (frames kept of a message), and declares
 * `static void io (zpar_zrouter_t *z)', its I/O turn (zpar__zrouter_io and
 * what the test records of it). */
#ifndef ZPAR_TESTS_ZROUTER_TAP_H
#define ZPAR_TESTS_ZROUTER_TAP_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
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

/* Turn z until the raw connection fd is closed by it (end of file or a
 * reset), reading what it sends meanwhile.  1 when it was. */
static int raw_closed (zpar_zrouter_t *z, int fd)
{
    int64_t deadline = tap_now_ms () + WAIT_MS;
    while (tap_now_ms () < deadline) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                              {.fd = zpar__zrouter_fd (z), .events = POLLIN}};
        char buf[4096];
        (void)poll (p, 2, tap_left_ms (deadline, 50));
        io (z);
        if (p[0].revents) {
            ssize_t r = recv (fd, buf, sizeof (buf), MSG_DONTWAIT);
            if (r == 0)
                return 1;
            if (r < 0 && errno == ECONNRESET) {
                diag ("closed with a reset");
                return 1;
            }
        }
    }
    return 0;
}

/* d receives exactly the one-frame message s. */
static int dl_gets (zpar_zrouter_t *z, void *d, const char *s)
{
    zmq_msg_t part[NMAX];
    int n, good;
    if (dl_recv (z, d, part, NMAX, &n, WAIT_MS) < 0) {
        diag ("%s: %s", s, strerror (errno));
        return 0;
    }
    good = n == 1 && frame_is_str (&part[0], s);
    if (!good)
        diag ("%s: got %d frames, the first of %zu bytes", s, n, zmq_msg_size (&part[0]));
    parts_close (part, n);
    return good;
}

/* d receives nothing for QUIET_MS. */
static int dl_quiet (zpar_zrouter_t *z, void *d)
{
    zmq_msg_t part[NMAX];
    int n;
    if (dl_recv (z, d, part, NMAX, &n, QUIET_MS) < 0)
        return errno == ETIMEDOUT;
    diag ("unexpected message of %d frames", n);
    parts_close (part, n);
    return 0;
}

/* z receives nothing for QUIET_MS. */
static int zr_quiet (zpar_zrouter_t *z)
{
    zmq_msg_t part[NMAX];
    int n;
    if (zr_recv (z, part, NMAX, &n, QUIET_MS) < 0)
        return errno == ETIMEDOUT;
    diag ("unexpected message of %d frames, the last of %zu bytes", n,
          n ? zmq_msg_size (&part[n - 1]) : 0);
    parts_close (part, n);
    return 0;
}

/* A raw TCP connection to ep (tcp://127.0.0.1:PORT) with a receive
 * buffer of rcvbuf bytes (0: the system's), or -1. */
static int raw_connect (const char *ep, int rcvbuf)
{
    struct sockaddr_in in = {.sin_family = AF_INET};
    unsigned port;
    int fd;
    if (sscanf (ep, "tcp://127.0.0.1:%u", &port) != 1)
        return -1;
    in.sin_port = htons ((uint16_t)port);
    in.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if ((fd = socket (AF_INET, SOCK_STREAM, 0)) < 0)
        return -1;
    if (rcvbuf > 0)
        (void)setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof (rcvbuf));
    if (connect (fd, (struct sockaddr *)&in, sizeof (in)) < 0) {
        close (fd);
        return -1;
    }
    return fd;
}

#endif
