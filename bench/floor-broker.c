/* floor-broker.c - the raw libzmq floor for zpar's queues.
 *
 *   client DEALER --tcp--> broker ROUTER | broker DEALER --tcp--> worker DEALER (echo)
 *
 * Three processes (forked from this one), all on tcp loopback.  The broker is
 * a zmq_poll loop that drains every ready socket before polling again (what
 * zpar's relays do); the worker echoes every message it gets, envelope and
 * all.  Measures:
 *
 *   rtt   ping-pong: one message in flight, N round trips, median and p99
 *   tput  pipelined: N messages, up to WINDOW in flight, the client drains
 *         all ready replies per poll; messages (round trips) per second
 *
 * Output: "key value" lines (floor_rtt_median_us, floor_rtt_p99_us,
 * floor_tput_msgs, floor_broker_rss_kb), read by bench/run.sh.
 *
 *   rate  with -R RATE: -n N messages sent at RATE per second, each when
 *         its time comes (replies drained as they come), and the broker's
 *         CPU (/proc/PID/task/TID/schedstat, all its threads) and context
 *         switches per message over that phase ("floor_rate_broker_cpu_us",
 *         "floor_rate_broker_switches", the same for the worker): what
 *         libzmq alone costs a process that relays each message from one
 *         TCP peer to another and its answer back, at a low fixed rate.
 *         The ping-pong phase reports the same per round trip
 *         ("floor_rtt_broker_cpu_us", "floor_rtt_broker_switches").
 *
 *   -b own  the broker without libzmq (one thread, epoll, its own TCP I/O
 *         and ZMTP 3.0 with the NULL mechanism, src/common/zmtp.c), to the same
 *         libzmq client and worker: what relaying costs without libzmq's I/O
 *         thread.  The same output; -b zmq (the default) is the broker above.
 *
 *   cmds  with -c N (instead of the phases above): two workers, each
 *         spawning /bin/true (posix_spawn, waitpid) for every message it
 *         gets before echoing it, and N messages pipelined through the
 *         broker, up to 8 in flight (4 per worker, the depth of zpar's
 *         prefetch): the command floor of a dispatcher, a client, a relay
 *         and two workers on these cores with no per-task work but the
 *         relaying ("floor_cmds_per_s"; the CPU per command of the
 *         broker, of each worker's loop and of the client, and of the
 *         commands themselves: "floor_cmds_broker_cpu_us",
 *         "floor_cmds_worker_cpu_us" (both workers), "floor_cmds_client_cpu_us",
 *         "floor_cmds_cmd_cpu_us").
 *
 * Every payload carries a counter and every reply is checked against the
 * message sent; a mismatch (or a lost reply) ends the run with status 1
 * (with -c the replies of the two workers may come in either order: their
 * count is checked).
 *
 * usage: floor-broker [-r ROUNDTRIPS] [-t MESSAGES] [-s PAYLOAD_BYTES] [-p BASEPORT]
 *                     [-R RATE [-n N]] [-b zmq|own]
 * (without -p the broker binds to ports the system picks).  With FLOOR_SWITCHES
 * set in the environment it also prints every thread's context switches
 * ("floor_switches ROLE/THREAD VOLUNTARY NONVOLUNTARY", over its whole life).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "zmtp.h"

#define WINDOW 5000

static double now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die (const char *what)
{
    fprintf (stderr, "floor-broker: %s: %s\n", what, zmq_strerror (zmq_errno ()));
    exit (1);
}

static void *mksock (void *ctx, int type)
{
    void *s = zmq_socket (ctx, type);
    int hwm = 0, linger = 0; /* unlimited: a ROUTER must not drop replies */
    if (!s)
        die ("zmq_socket");
    zmq_setsockopt (s, ZMQ_SNDHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (s, ZMQ_RCVHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof (linger));
    return s;
}

/* Forward every message ready on from to to; returns -1 on term. */
static int drain (void *from, void *to)
{
    for (;;) {
        zmq_msg_t m;
        int more;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, from, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&m);
            return errno == EAGAIN ? 0 : -1;
        }
        more = zmq_msg_more (&m);
        if (zmq_msg_send (&m, to, more ? ZMQ_SNDMORE : 0) < 0) {
            zmq_msg_close (&m);
            return -1;
        }
    }
}

/* the port a socket is bound to (from its last endpoint), or -1 */
static int bound_port (void *s)
{
    char ep[256];
    size_t len = sizeof (ep);
    const char *colon;
    if (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, ep, &len) < 0 || !(colon = strrchr (ep, ':')))
        return -1;
    return atoi (colon + 1);
}

/* The broker: binds its two sockets (to port and port + 1, or to ports the
 * system picks when port is 0: no clash with whatever else runs here) and
 * writes the two ports to fd, then forwards until killed. */
static void pin_broker (void)
{
    if (getenv ("FLOOR_BROKER_CPU")) {
        /* every thread of the broker (its own and libzmq's I/O thread,
         * which inherits the mask) on one core, as mpirun binds a rank */
        cpu_set_t set;
        CPU_ZERO (&set);
        CPU_SET (atoi (getenv ("FLOOR_BROKER_CPU")), &set);
        if (sched_setaffinity (0, sizeof (set), &set) < 0)
            perror ("floor-broker: sched_setaffinity");
    }
}

static void broker (int port, int fd)
{
    void *ctx;
    pin_broker ();
    ctx = zmq_ctx_new ();
    void *front = mksock (ctx, ZMQ_ROUTER), *back = mksock (ctx, ZMQ_DEALER);
    char a[64];
    int ports[2];
    if (port > 0)
        snprintf (a, sizeof (a), "tcp://127.0.0.1:%d", port);
    else
        snprintf (a, sizeof (a), "tcp://127.0.0.1:*");
    if (zmq_bind (front, a) < 0)
        die ("bind front");
    if (port > 0)
        snprintf (a, sizeof (a), "tcp://127.0.0.1:%d", port + 1);
    if (zmq_bind (back, a) < 0)
        die ("bind back");
    ports[0] = bound_port (front);
    ports[1] = bound_port (back);
    if (ports[0] < 0 || ports[1] < 0 || write (fd, ports, sizeof (ports)) != sizeof (ports))
        die ("report the ports");
    close (fd);
    for (;;) {
        zmq_pollitem_t it[2] = {{front, 0, ZMQ_POLLIN, 0}, {back, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll (it, 2, -1) < 0)
            break;
        if ((it[0].revents & ZMQ_POLLIN) && drain (front, back) < 0)
            break;
        if ((it[1].revents & ZMQ_POLLIN) && drain (back, front) < 0)
            break;
    }
    _exit (0);
}

/* ---- the own broker (-b own): its own TCP I/O and ZMTP, one thread, epoll ----
 *
 * What the libzmq broker does, without libzmq: the front speaks ZMTP as a
 * ROUTER (a message from a front connection goes on with that connection's
 * routing id as its first frame), the back as a DEALER (round robin over the
 * worker connections; a reply's first frame names the front connection it
 * goes back to, and is removed).  Sockets are non-blocking, level-triggered
 * in one epoll set; each readable socket is read once per wake-up, every
 * complete frame relayed into its destination's output buffer, and all
 * output written after the wake-up's events are handled (EPOLLOUT watched
 * only while some output is left). */

#define OWN_FRAME_MAX (1 << 20) /* a bigger frame drops its connection */
#define OWN_READ_ROOM 65536     /* free room in an input buffer for each read */

enum own_side { OWN_FRONT, OWN_BACK };
enum own_phase { OWN_LISTEN, OWN_GREETING, OWN_READY, OWN_TRAFFIC };

/* bytes p[off, len) of a buffer of cap */
struct own_buf {
    unsigned char *p;
    size_t off, len, cap;
};

struct own_conn {
    int fd;
    enum own_side side;
    enum own_phase phase;
    struct own_buf in, out;
    unsigned char id[ZPAR_ZMTP_IDENTITY_MAX]; /* a front connection's routing id */
    size_t id_len;
    /* a message partly relayed: where its next frames go */
    int in_msg, to_pending, discard;
    struct own_conn *dest;
    int dirty, watch_out, dead;
    struct own_conn *next, *next_dirty, *next_dead;
};

struct own {
    int ep;
    struct own_conn *conns, *dirty, *dead_list, *rr;
    uint32_t next_id;
    /* messages from the front while no worker is there yet */
    struct own_buf pending;
};

static void own_die (const char *what)
{
    fprintf (stderr, "floor-broker: own broker: %s: %s\n", what, strerror (errno));
    _exit (1);
}

/* room for n more bytes after b->len (moving the data to the front first) */
static void own_reserve (struct own_buf *b, size_t n)
{
    if (b->off > 0 && b->off == b->len)
        b->off = b->len = 0;
    if (b->cap - b->len >= n)
        return;
    if (b->off > 0) {
        memmove (b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len >= n)
            return;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n)
        cap *= 2;
    if (!(b->p = realloc (b->p, cap)))
        own_die ("realloc");
    b->cap = cap;
}

static void own_append (struct own_buf *b, const void *data, size_t n)
{
    own_reserve (b, n);
    memcpy (b->p + b->len, data, n);
    b->len += n;
}

static void own_mark_dirty (struct own *o, struct own_conn *c)
{
    if (!c->dirty && !c->dead) {
        c->dirty = 1;
        c->next_dirty = o->dirty;
        o->dirty = c;
    }
}

static void own_watch (struct own *o, struct own_conn *c, int out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl (o->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        own_die ("epoll_ctl");
    c->watch_out = out;
}

/* Drop a connection: closed now, freed after this wake-up's events (an
 * event for it may still be in hand); messages on their way to it go
 * nowhere. */
static void own_drop (struct own *o, struct own_conn *c)
{
    if (c->dead)
        return;
    c->dead = 1;
    epoll_ctl (o->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close (c->fd);
    for (struct own_conn *x = o->conns; x; x = x->next)
        if (x->dest == c) {
            x->dest = NULL;
            x->discard = 1;
        }
    if (o->rr == c)
        o->rr = NULL;
    c->next_dead = o->dead_list;
    o->dead_list = c;
}

static void own_reap (struct own *o)
{
    while (o->dead_list) {
        struct own_conn *c = o->dead_list, **pp;
        o->dead_list = c->next_dead;
        for (pp = &o->conns; *pp; pp = &(*pp)->next)
            if (*pp == c) {
                *pp = c->next;
                break;
            }
        free (c->in.p);
        free (c->out.p);
        free (c);
    }
}

/* write what c has to send; EPOLLOUT watched only while some is left */
static void own_flush (struct own *o, struct own_conn *c)
{
    while (c->out.off < c->out.len) {
        ssize_t n = send (c->fd, c->out.p + c->out.off, c->out.len - c->out.off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->watch_out)
                own_watch (o, c, 1);
            return;
        }
        if (n < 0) {
            own_drop (o, c);
            return;
        }
        c->out.off += n;
    }
    c->out.off = c->out.len = 0;
    if (c->watch_out)
        own_watch (o, c, 0);
}

/* the next worker connection after the last one used, or NULL */
static struct own_conn *own_next_back (struct own *o)
{
    struct own_conn *start = o->rr && !o->rr->dead ? o->rr->next : o->conns;
    for (int pass = 0; pass < 2; pass++) {
        for (struct own_conn *c = pass ? o->conns : start; c; c = c->next) {
            if (c->side == OWN_BACK && c->phase == OWN_TRAFFIC && !c->dead)
                return o->rr = c;
            if (pass && c == start)
                break;
        }
    }
    return NULL;
}

/* the front connection with routing id (id, n): a linear search, as a
 * bench has one client (a hash table belongs here for many) */
static struct own_conn *own_find_front (struct own *o, const unsigned char *id, size_t n)
{
    for (struct own_conn *c = o->conns; c; c = c->next)
        if (c->side == OWN_FRONT && c->phase == OWN_TRAFFIC && !c->dead && c->id_len == n &&
            memcmp (c->id, id, n) == 0)
            return c;
    return NULL;
}

/* A message frame (header and body, frame bytes at f) from c in traffic:
 * relay it.  Returns 0, or -1 to drop c. */
static int own_relay (struct own *o, struct own_conn *c, const unsigned char *f, size_t flen,
                      int flags, const unsigned char *body, size_t size)
{
    if (c->side == OWN_FRONT) {
        if (!c->in_msg) {
            /* a new message: to a worker (or held until one comes), the
             * routing id first */
            unsigned char h[ZPAR_ZMTP_HEADER_MAX];
            size_t hl = zpar__zmtp_header_encode (h, ZPAR_ZMTP_MORE, c->id_len);
            struct own_conn *b = own_next_back (o);
            struct own_buf *to = b ? &b->out : &o->pending;
            c->dest = b;
            c->to_pending = !b;
            c->discard = 0;
            own_append (to, h, hl);
            own_append (to, c->id, c->id_len);
        }
        if (c->dest) {
            own_append (&c->dest->out, f, flen);
            own_mark_dirty (o, c->dest);
        } else if (c->to_pending)
            own_append (&o->pending, f, flen);
        c->in_msg = (flags & ZPAR_ZMTP_MORE) != 0;
        return 0;
    }
    /* from a worker: the first frame names the front connection */
    if (!c->in_msg) {
        if (!(flags & ZPAR_ZMTP_MORE))
            return 0; /* a routing id alone: nothing to route */
        c->dest = own_find_front (o, body, size);
        c->to_pending = 0;
        c->discard = !c->dest;
        c->in_msg = 1;
        return 0;
    }
    if (c->dest) {
        own_append (&c->dest->out, f, flen);
        own_mark_dirty (o, c->dest);
    }
    c->in_msg = (flags & ZPAR_ZMTP_MORE) != 0;
    return 0;
}

/* The peer's READY: check its socket type against ours, give a front
 * connection its routing id, and let held messages go to a new worker.
 * Returns 0, or -1 to drop c. */
static int own_ready (struct own *o, struct own_conn *c, const unsigned char *body, size_t size)
{
    struct zpar__zmtp_ready r;
    const char *ok = c->side == OWN_FRONT ? " DEALER REQ ROUTER " : " DEALER REP ROUTER ";
    char word[ZPAR_ZMTP_SOCKET_TYPE_MAX + 3];
    if (zpar__zmtp_ready_decode (body, size, &r) < 0)
        return -1;
    snprintf (word, sizeof (word), " %s ", r.socket_type);
    if (!strstr (ok, word))
        return -1;
    if (c->side == OWN_FRONT) {
        if (r.identity_len > 0 && r.identity[0] != 0) {
            /* the peer's own routing id (ids starting with 0 are the
             * broker's to give); a second peer with the same one is
             * refused, as a ROUTER does */
            if (own_find_front (o, r.identity, r.identity_len))
                return -1;
            memcpy (c->id, r.identity, r.identity_len);
            c->id_len = r.identity_len;
        } else {
            uint32_t n = ++o->next_id;
            c->id[0] = 0;
            c->id[1] = n >> 24;
            c->id[2] = n >> 16;
            c->id[3] = n >> 8;
            c->id[4] = n;
            c->id_len = 5;
        }
    }
    c->phase = OWN_TRAFFIC;
    if (c->side == OWN_BACK && o->pending.len > o->pending.off) {
        own_append (&c->out, o->pending.p + o->pending.off, o->pending.len - o->pending.off);
        o->pending.off = o->pending.len = 0;
        o->rr = c;
        for (struct own_conn *x = o->conns; x; x = x->next)
            if (x->to_pending) {
                x->to_pending = 0;
                x->dest = c;
            }
        own_mark_dirty (o, c);
    }
    return 0;
}

/* Everything complete in c's input: the greeting, READY, then frames.
 * Returns 0, or -1 to drop c. */
static int own_parse (struct own *o, struct own_conn *c)
{
    struct own_buf *b = &c->in;
    for (;;) {
        const unsigned char *p = b->p + b->off;
        size_t avail = b->len - b->off;
        uint64_t size;
        int flags, hl;
        if (c->phase == OWN_GREETING) {
            unsigned char r[64];
            size_t rl;
            int g = zpar__zmtp_greeting_check (p, avail);
            if (g <= 0)
                return g;
            b->off += g;
            rl =
                zpar__zmtp_ready_encode (r, sizeof (r), c->side == OWN_FRONT ? "ROUTER" : "DEALER");
            own_append (&c->out, r, rl);
            own_mark_dirty (o, c);
            c->phase = OWN_READY;
            continue;
        }
        if ((hl = zpar__zmtp_header_decode (p, avail, &flags, &size)) <= 0)
            return hl;
        if (size > OWN_FRAME_MAX)
            return -1;
        if (avail < hl + size) {
            own_reserve (b, hl + size - avail);
            return 0;
        }
        b->off += hl + size;
        if (c->phase == OWN_READY) {
            /* the first frame must be the peer's READY */
            if (!(flags & ZPAR_ZMTP_COMMAND) || own_ready (o, c, p + hl, size) < 0)
                return -1;
        } else if (flags & ZPAR_ZMTP_COMMAND) {
            /* PING (ZMTP 3.1 heartbeats) gets its PONG; others ignored */
            unsigned char pong[ZPAR_ZMTP_HEADER_MAX + 32];
            size_t pl = zpar__zmtp_pong_encode (pong, sizeof (pong), p + hl, size);
            if (pl > 0) {
                own_append (&c->out, pong, pl);
                own_mark_dirty (o, c);
            }
        } else if (own_relay (o, c, p, hl + size, flags, p + hl, size) < 0)
            return -1;
    }
}

static void own_readable (struct own *o, struct own_conn *c)
{
    ssize_t n;
    own_reserve (&c->in, OWN_READ_ROOM);
    do
        n = recv (c->fd, c->in.p + c->in.len, c->in.cap - c->in.len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) { /* EOF, ECONNRESET, ... */
        own_drop (o, c);
        return;
    }
    c->in.len += n;
    if (own_parse (o, c) < 0)
        own_drop (o, c);
}

static void own_accept (struct own *o, struct own_conn *l)
{
    for (;;) {
        int fd = accept4 (l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
        struct own_conn *c;
        unsigned char g[ZPAR_ZMTP_GREETING_SIZE];
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return; /* EAGAIN, or out of files: try again on the next event */
        }
        setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
        if (!(c = calloc (1, sizeof (*c))))
            own_die ("calloc");
        c->fd = fd;
        c->side = l->side;
        c->phase = OWN_GREETING;
        c->next = o->conns;
        o->conns = c;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl (o->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            own_die ("epoll_ctl");
        zpar__zmtp_greeting (g);
        own_append (&c->out, g, sizeof (g));
        own_mark_dirty (o, c);
    }
}

/* a listening socket on 127.0.0.1:port (0: the system picks); its port */
static int own_listen (struct own *o, struct own_conn *l, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons (port)};
    socklen_t alen = sizeof (a);
    int one = 1;
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if ((l->fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        own_die ("socket");
    setsockopt (l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof (one));
    if (bind (l->fd, (struct sockaddr *)&a, sizeof (a)) < 0 || listen (l->fd, 128) < 0)
        own_die ("bind");
    if (getsockname (l->fd, (struct sockaddr *)&a, &alen) < 0)
        own_die ("getsockname");
    l->phase = OWN_LISTEN;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
    if (epoll_ctl (o->ep, EPOLL_CTL_ADD, l->fd, &ev) < 0)
        own_die ("epoll_ctl");
    return ntohs (a.sin_port);
}

/* The own broker: as broker(), with its own TCP I/O and ZMTP. */
static void own_broker (int port, int fd)
{
    struct own o = {0};
    struct own_conn front = {.side = OWN_FRONT}, back = {.side = OWN_BACK};
    struct epoll_event ev[64];
    int ports[2];
    pin_broker ();
    if ((o.ep = epoll_create1 (EPOLL_CLOEXEC)) < 0)
        own_die ("epoll_create1");
    ports[0] = own_listen (&o, &front, port);
    ports[1] = own_listen (&o, &back, port > 0 ? port + 1 : 0);
    if (write (fd, ports, sizeof (ports)) != sizeof (ports))
        own_die ("report the ports");
    close (fd);
    for (;;) {
        int n = epoll_wait (o.ep, ev, 64, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            own_die ("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct own_conn *c = ev[i].data.ptr;
            if (c->phase == OWN_LISTEN) {
                own_accept (&o, c);
                continue;
            }
            if (c->dead)
                continue;
            if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                own_readable (&o, c);
            if ((ev[i].events & EPOLLOUT) && !c->dead)
                own_mark_dirty (&o, c);
        }
        while (o.dirty) {
            struct own_conn *c = o.dirty;
            o.dirty = c->next_dirty;
            c->dirty = 0;
            if (!c->dead)
                own_flush (&o, c);
        }
        own_reap (&o);
    }
}

static void worker (int port)
{
    void *ctx = zmq_ctx_new ();
    void *s = mksock (ctx, ZMQ_DEALER);
    char a[64];
    snprintf (a, sizeof (a), "tcp://127.0.0.1:%d", port);
    if (zmq_connect (s, a) < 0)
        die ("connect worker");
    for (;;) {
        zmq_msg_t m;
        int more;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, s, 0) < 0)
            break;
        more = zmq_msg_more (&m);
        if (zmq_msg_send (&m, s, more ? ZMQ_SNDMORE : 0) < 0)
            break;
    }
    _exit (0);
}

/* A thread's voluntary and involuntary context switches from its status
 * file; -1 if it cannot be read. */
static int thread_switches (const char *status, long *vol, long *inv)
{
    char line[256];
    FILE *f = fopen (status, "r");
    if (!f)
        return -1;
    while (fgets (line, sizeof (line), f)) {
        if (strncmp (line, "voluntary_ctxt_switches:", 24) == 0)
            *vol = atol (line + 24);
        else if (strncmp (line, "nonvoluntary_ctxt_switches:", 27) == 0)
            *inv = atol (line + 27);
    }
    fclose (f);
    return 0;
}

/* Call fn (DIR, arg) for every thread of process pid, DIR being its
 * /proc/PID/task/TID directory. */
static void each_thread (pid_t pid, void (*fn) (const char *dir, void *arg), void *arg)
{
    char path[300];
    DIR *d;
    struct dirent *e;
    snprintf (path, sizeof (path), "/proc/%d/task", (int)pid);
    if (!(d = opendir (path)))
        return;
    while ((e = readdir (d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf (path, sizeof (path), "/proc/%d/task/%s", (int)pid, e->d_name);
        fn (path, arg);
    }
    closedir (d);
}

/* each_thread: "floor_switches ROLE/COMM VOLUNTARY NONVOLUNTARY" */
static void print_thread (const char *dir, void *arg)
{
    const char *role = arg;
    char path[340], comm[64];
    long vol = -1, inv = -1;
    FILE *f;
    snprintf (path, sizeof (path), "%s/comm", dir);
    if (!(f = fopen (path, "r")))
        return;
    if (!fgets (comm, sizeof (comm), f))
        comm[0] = 0;
    fclose (f);
    comm[strcspn (comm, "\n")] = 0;
    for (char *c = comm; *c; c++)
        if (*c == ' ')
            *c = '_';
    snprintf (path, sizeof (path), "%s/status", dir);
    if (thread_switches (path, &vol, &inv) == 0)
        printf ("floor_switches %s/%s %ld %ld\n", role, comm, vol, inv);
}

/* Print every thread of process pid as "floor_switches ROLE/COMM VOLUNTARY
 * NONVOLUNTARY" (context switches over its life, /proc/PID/task/TID/status):
 * how many times each thread slept and was woken, and was preempted. */
static void print_switches (const char *role, pid_t pid)
{
    each_thread (pid, print_thread, (void *)role);
}

struct usage {
    double cpu_ns, switches;
};

/* each_thread: add the thread's CPU time and context switches */
static void add_thread (const char *dir, void *arg)
{
    struct usage *u = arg;
    char path[340];
    long vol = 0, inv = 0;
    FILE *f;
    snprintf (path, sizeof (path), "%s/schedstat", dir);
    if ((f = fopen (path, "r"))) {
        unsigned long long ns;
        if (fscanf (f, "%llu", &ns) == 1)
            u->cpu_ns += (double)ns;
        fclose (f);
    }
    snprintf (path, sizeof (path), "%s/status", dir);
    if (thread_switches (path, &vol, &inv) == 0)
        u->switches += vol + inv;
}

/* CPU time (ns, every thread: /proc/PID/task/TID/schedstat) and context
 * switches (voluntary + involuntary) of process pid so far. */
static void proc_usage (pid_t pid, double *cpu_ns, double *switches)
{
    struct usage u = {0, 0};
    each_thread (pid, add_thread, &u);
    *cpu_ns = u.cpu_ns;
    *switches = u.switches;
}

/* Payloads carry a counter (the first 8 bytes, or fewer when the payload
 * is shorter) over a fixed pattern: stamp message number n into p. */
extern char **environ;

/* The command worker: /bin/true for each message, then the echo.  Its
 * own CPU and its children's go to the parent through the pipe fd when
 * it is told to stop (SIGTERM ends the loop through a blocked recv). */
static volatile sig_atomic_t stop_cmd_worker;

static void on_stop (int sig)
{
    (void)sig;
    stop_cmd_worker = 1;
}

static void cmd_worker (int port, int fd)
{
    void *ctx = zmq_ctx_new ();
    void *s = mksock (ctx, ZMQ_DEALER);
    char a[64], *args[] = {"/bin/true", NULL};
    struct sigaction sa;
    struct rusage self, kids;
    double v[2];

    memset (&sa, 0, sizeof (sa));
    sa.sa_handler = on_stop;
    sigaction (SIGTERM, &sa, NULL);
    snprintf (a, sizeof (a), "tcp://127.0.0.1:%d", port);
    if (zmq_connect (s, a) < 0)
        die ("connect worker");
    while (!stop_cmd_worker) {
        zmq_msg_t m[8];
        int n = 0, more = 1, st;
        pid_t pid;
        while (more && n < 8) {
            zmq_msg_init (&m[n]);
            if (zmq_msg_recv (&m[n], s, 0) < 0)
                goto out;
            more = zmq_msg_more (&m[n]);
            n++;
        }
        if (posix_spawn (&pid, args[0], NULL, NULL, args, environ) != 0 ||
            waitpid (pid, &st, 0) != pid)
            die ("spawn /bin/true");
        for (int i = 0; i < n; i++)
            if (zmq_msg_send (&m[i], s, i + 1 < n ? ZMQ_SNDMORE : 0) < 0)
                goto out;
    }
out:
    getrusage (RUSAGE_SELF, &self);
    getrusage (RUSAGE_CHILDREN, &kids);
    v[0] = (self.ru_utime.tv_sec + self.ru_stime.tv_sec) * 1e6 + self.ru_utime.tv_usec +
           self.ru_stime.tv_usec;
    v[1] = (kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) * 1e6 + kids.ru_utime.tv_usec +
           kids.ru_stime.tv_usec;
    (void)!write (fd, v, sizeof (v));
    _exit (0);
}

static double self_cpu_us (void)
{
    struct rusage u;
    getrusage (RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
}

/* -c N: N messages through the broker to two command workers, 8 in
 * flight; prints the floor_cmds_* lines. */
static int cmds_phase (pid_t pb, int back_port, void *s, long n)
{
    int wfd[2][2], size = 16;
    pid_t pw[2];
    char payload[16], buf[32];
    long sent = 0, got = 0;
    double t0, t, bc0, bs0, bc1, bs1, cc0, cc1, wv[2][2] = {{0, 0}, {0, 0}};

    memset (payload, 'c', sizeof (payload));
    for (int w = 0; w < 2; w++) {
        if (pipe (wfd[w]) < 0)
            die ("pipe");
        if ((pw[w] = fork ()) == 0) {
            prctl (PR_SET_PDEATHSIG, SIGKILL);
            close (wfd[w][0]);
            cmd_worker (back_port, wfd[w][1]);
        }
        close (wfd[w][1]);
    }
    /* both workers connected: the broker's DEALER deals to whoever is
     * connected, so wait until a burst of 8 came back from both */
    {
        int rcvto = 10000, both = 0;
        zmq_setsockopt (s, ZMQ_RCVTIMEO, &rcvto, sizeof (rcvto));
        for (int round = 0; round < 50 && !both; round++) {
            usleep (20000);
            for (int i = 0; i < 8; i++)
                zmq_send (s, payload, size, 0);
            for (int i = 0; i < 8; i++)
                if (zmq_recv (s, buf, sizeof (buf), 0) < 0) {
                    fprintf (stderr, "floor-broker: no command echo within 10 s\n");
                    return 1;
                }
            both = round >= 5;
        }
    }
    proc_usage (pb, &bc0, &bs0);
    cc0 = self_cpu_us ();
    t0 = now ();
    while (got < n) {
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        int k;
        while (sent < n && sent - got < 8) {
            if (zmq_send (s, payload, size, ZMQ_DONTWAIT) < 0)
                break;
            sent++;
        }
        if (zmq_poll (&it, 1, 10000) <= 0)
            die ("commands: no reply within 10 s");
        while ((k = zmq_recv (s, buf, sizeof (buf), ZMQ_DONTWAIT)) >= 0) {
            if (k != size || memcmp (buf, payload, size) != 0) {
                fprintf (stderr, "floor-broker: a command's reply is not its message\n");
                exit (1);
            }
            got++;
        }
    }
    t = now () - t0;
    cc1 = self_cpu_us ();
    proc_usage (pb, &bc1, &bs1);
    for (int w = 0; w < 2; w++) {
        kill (pw[w], SIGTERM);
        if (read (wfd[w][0], wv[w], sizeof (wv[w])) != sizeof (wv[w]))
            fprintf (stderr, "floor-broker: worker %d gave no CPU figures\n", w);
        waitpid (pw[w], NULL, 0);
        close (wfd[w][0]);
    }
    printf ("floor_cmds_per_s %.0f\n", n / t);
    printf ("floor_cmds_broker_cpu_us %.1f\n", (bc1 - bc0) / 1e3 / n);
    printf ("floor_cmds_broker_switches %.2f\n", (bs1 - bs0) / n);
    printf ("floor_cmds_client_cpu_us %.1f\n", (cc1 - cc0) / n);
    /* the workers' whole lives, warm-up included: a few hundred more of n */
    printf ("floor_cmds_worker_cpu_us %.1f\n", (wv[0][0] + wv[1][0]) / n);
    printf ("floor_cmds_cmd_cpu_us %.1f\n", (wv[0][1] + wv[1][1]) / n);
    return 0;
}

static void stamp (char *p, int size, uint64_t n)
{
    memcpy (p, &n, size < 8 ? (size_t)size : 8);
}

/* The reply (got bytes in buf) must be message number n, intact: the
 * replies come back in the order sent (one client, one worker, one path
 * each way).  A mismatch ends the run (the children die with this
 * process). */
static void verify (const char *buf, int got, char *expect, int size, uint64_t n)
{
    stamp (expect, size, n);
    if (got != size || memcmp (buf, expect, size) != 0) {
        fprintf (stderr, "floor-broker: reply %llu is not the message sent (%d bytes, %d sent)\n",
                 (unsigned long long)n, got, size);
        exit (1);
    }
}

static int cmp_d (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main (int argc, char **argv)
{
    long rtts = 20000, msgs = 200000, paced = 2000, cmds = 0;
    double rate = 0, bc0, bs0, bc1, bs1, wc0, ws0, wc1, ws1;
    int size = 64, port = 0, opt, pfd[2], ports[2], own = 0, n;
    pid_t pb, pw;
    void *ctx, *s;
    char a[64], *payload, *expect, *buf;
    double *lat, t0, t;
    long i, sent, got;
    uint64_t seq_sent = 0, seq_got = 0; /* messages sent, replies checked */

    while ((opt = getopt (argc, argv, "r:t:s:p:R:n:b:c:")) != -1) {
        switch (opt) {
        case 'b':
            if (strcmp (optarg, "own") == 0)
                own = 1;
            else if (strcmp (optarg, "zmq") != 0) {
                fprintf (stderr, "floor-broker: -b zmq or -b own\n");
                return 2;
            }
            break;
        case 'r':
            rtts = atol (optarg);
            break;
        case 't':
            msgs = atol (optarg);
            break;
        case 's':
            size = atoi (optarg);
            break;
        case 'p':
            port = atoi (optarg);
            break;
        case 'R':
            rate = atof (optarg);
            break;
        case 'n':
            paced = atol (optarg);
            break;
        case 'c':
            cmds = atol (optarg);
            break;
        default:
            fprintf (stderr,
                     "usage: floor-broker [-r N] [-t N] [-s BYTES] [-p PORT] [-R RATE [-n N]] "
                     "[-b zmq|own] [-c COMMANDS]\n");
            return 2;
        }
    }
    if (rtts < 1 || msgs < 1 || size < 1 || size > 1000000 || rate < 0 || paced < 1 || cmds < 0)
        return 2;
    if (port < 0)
        port = 0;

    /* the children die with this process, whatever happens to it */
    if (pipe (pfd) < 0) {
        perror ("floor-broker: pipe");
        return 1;
    }
    if ((pb = fork ()) == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        close (pfd[0]);
        if (own)
            own_broker (port, pfd[1]);
        else
            broker (port, pfd[1]);
    }
    close (pfd[1]);
    if (pb < 0 || read (pfd[0], ports, sizeof (ports)) != sizeof (ports)) {
        fprintf (stderr, "floor-broker: the broker did not start\n");
        if (pb > 0)
            kill (pb, SIGKILL);
        return 1;
    }
    close (pfd[0]);
    if (cmds > 0) {
        int rc;
        ctx = zmq_ctx_new ();
        s = mksock (ctx, ZMQ_DEALER);
        snprintf (a, sizeof (a), "tcp://127.0.0.1:%d", ports[0]);
        if (zmq_connect (s, a) < 0)
            die ("connect client");
        rc = cmds_phase (pb, ports[1], s, cmds);
        kill (pb, SIGTERM);
        waitpid (pb, NULL, 0);
        zmq_close (s);
        zmq_ctx_term (ctx);
        return rc;
    }
    if ((pw = fork ()) == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        worker (ports[1]);
    }

    ctx = zmq_ctx_new ();
    s = mksock (ctx, ZMQ_DEALER);
    snprintf (a, sizeof (a), "tcp://127.0.0.1:%d", ports[0]);
    if (zmq_connect (s, a) < 0)
        die ("connect client");
    payload = malloc (size);
    expect = malloc (size);
    buf = malloc (size + 1);
    lat = calloc (rtts, sizeof (double));
    if (!payload || !expect || !buf || !lat) {
        perror ("floor-broker: malloc");
        return 1;
    }
    for (i = 0; i < size; i++)
        payload[i] = expect[i] = (char)(i * 7 + 1);

    /* warm-up (and wait for every connection to be up): bounded */
    {
        int rcvto = 10000;
        zmq_setsockopt (s, ZMQ_RCVTIMEO, &rcvto, sizeof (rcvto));
        for (i = 0; i < 200; i++) {
            stamp (payload, size, seq_sent++);
            zmq_send (s, payload, size, 0);
            if ((n = zmq_recv (s, buf, size + 1, 0)) < 0) {
                fprintf (stderr, "floor-broker: no echo within 10 s\n");
                kill (pb, SIGKILL);
                kill (pw, SIGKILL);
                return 1;
            }
            verify (buf, n, expect, size, seq_got++);
        }
    }

    /* ping-pong */
    proc_usage (pb, &bc0, &bs0);
    for (i = 0; i < rtts; i++) {
        stamp (payload, size, seq_sent++);
        t0 = now ();
        zmq_send (s, payload, size, 0);
        if ((n = zmq_recv (s, buf, size + 1, 0)) < 0)
            die ("recv rtt");
        lat[i] = now () - t0;
        verify (buf, n, expect, size, seq_got++);
    }
    proc_usage (pb, &bc1, &bs1);
    printf ("floor_rtt_broker_cpu_us %.1f\n", (bc1 - bc0) / 1e3 / rtts);
    printf ("floor_rtt_broker_switches %.2f\n", (bs1 - bs0) / rtts);
    qsort (lat, rtts, sizeof (double), cmp_d);
    printf ("floor_rtt_median_us %.1f\n", lat[rtts / 2] * 1e6);
    printf ("floor_rtt_p99_us %.1f\n", lat[(long)(rtts * 0.99)] * 1e6);
    fflush (stdout);

    /* pipelined */
    sent = got = 0;
    t0 = now ();
    while (got < msgs) {
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        while (sent < msgs && sent - got < WINDOW) {
            stamp (payload, size, seq_sent);
            if (zmq_send (s, payload, size, ZMQ_DONTWAIT) < 0)
                break;
            seq_sent++;
            sent++;
        }
        if (zmq_poll (&it, 1, 10000) <= 0)
            die ("pipelined: no reply within 10 s");
        while ((n = zmq_recv (s, buf, size + 1, ZMQ_DONTWAIT)) >= 0) {
            verify (buf, n, expect, size, seq_got++);
            got++;
        }
    }
    t = now () - t0;
    printf ("floor_tput_msgs %.0f\n", msgs / t);

    if (rate > 0) {
        /* paced: message i leaves at t0 + i / rate; the client sleeps in
         * zmq_poll until the next is due or a reply comes */
        sent = got = 0;
        proc_usage (pb, &bc0, &bs0);
        proc_usage (pw, &wc0, &ws0);
        t0 = now ();
        while (got < paced) {
            zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
            double due = t0 + sent / rate, wait_ms;
            t = now ();
            if (sent < paced && t >= due) {
                stamp (payload, size, seq_sent++);
                if (zmq_send (s, payload, size, 0) < 0)
                    die ("send paced");
                sent++;
                continue;
            }
            wait_ms = sent < paced ? (due - t) * 1e3 : 10000;
            if (zmq_poll (&it, 1, (long)wait_ms + (sent < paced)) < 0)
                die ("poll paced");
            if (sent == paced && !(it.revents & ZMQ_POLLIN))
                die ("paced: no reply within 10 s");
            while ((n = zmq_recv (s, buf, size + 1, ZMQ_DONTWAIT)) >= 0) {
                verify (buf, n, expect, size, seq_got++);
                got++;
            }
        }
        t = now () - t0;
        proc_usage (pb, &bc1, &bs1);
        proc_usage (pw, &wc1, &ws1);
        printf ("floor_rate_per_s %.0f\n", paced / t);
        printf ("floor_rate_broker_cpu_us %.1f\n", (bc1 - bc0) / 1e3 / paced);
        printf ("floor_rate_broker_switches %.2f\n", (bs1 - bs0) / paced);
        printf ("floor_rate_worker_cpu_us %.1f\n", (wc1 - wc0) / 1e3 / paced);
        printf ("floor_rate_worker_switches %.2f\n", (ws1 - ws0) / paced);
    }
    {
        /* the broker's resident memory after all that: a floor for the controller's */
        char path[64], line[256];
        FILE *f;
        snprintf (path, sizeof (path), "/proc/%d/status", (int)pb);
        if ((f = fopen (path, "r"))) {
            while (fgets (line, sizeof (line), f))
                if (strncmp (line, "VmRSS:", 6) == 0)
                    printf ("floor_broker_rss_kb %ld\n", atol (line + 6));
            fclose (f);
        }
    }

    if (getenv ("FLOOR_SWITCHES")) {
        print_switches ("client", getpid ());
        print_switches ("broker", pb);
        print_switches ("worker", pw);
    }
    kill (pb, SIGTERM);
    kill (pw, SIGTERM);
    waitpid (pb, NULL, 0);
    waitpid (pw, NULL, 0);
    zmq_close (s);
    zmq_ctx_term (ctx);
    return 0;
}
