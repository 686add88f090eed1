/* zrouter.h - a ROUTER socket that does its own TCP I/O (ZMTP 3.0, NULL
 * mechanism), for the task scheduler; also a PUB and an XSUB, for the
 * heartbeat and IOPub (zpar_zrouter_mode_t).
 *
 * Why: a task crosses the controller as four TCP messages.  Through libzmq
 * each is handed between libzmq's I/O thread and the scheduler's thread
 * (mailbox signals, wake-ups, ~67 system calls per round trip); at a
 * thousand tasks a second that hand-off, not zpar's own work, is most of
 * the controller's CPU (doc/benchmarks.md, "Issue 11").  A zrouter is read
 * and written by the thread that owns it, from its own reactor: one
 * epoll(7) descriptor over the listening socket and every connection.
 * And a connection costs the controller ~0.5 KiB here against ~26 KiB
 * resident through libzmq (its pipes and batch buffers), which is why the
 * heartbeat's and IOPub's sockets, that every engine connects to, are
 * zrouters too.
 *
 * What it keeps of a libzmq ROUTER bound with zpar's options (sockutil.h):
 *  - the wire: libzmq DEALER (and REQ, ROUTER) peers connect to it as to a
 *    libzmq ROUTER, ZMTP 3.0 or 3.1, NULL mechanism; PING is answered;
 *  - routing identities: the peer's Identity property, or 5 bytes made here
 *    (0, then a 32-bit counter) when it sets none; a second peer claiming
 *    the identity of a connected one is refused (no handover);
 *  - received messages start with the sender's identity frame; a message
 *    sent starts with the identity of the peer it goes to: an unknown one is
 *    EHOSTUNREACH when the socket is mandatory (ZMQ_ROUTER_MANDATORY), else
 *    the message is dropped silently;
 *  - limits (netlimit.h): a frame announced larger than maxmsg closes its
 *    connection before any of it is held; a message of more frames than
 *    ZPAR_ZROUTER_PARTS is received as EPROTO (as zpar__frames_recv reports
 *    it for libzmq); a peer that does not speak ZMTP, or another mechanism,
 *    is closed.
 *
 * What it does not do: Curve (a cluster with Curve keys binds libzmq
 * sockets), ipc:// and inproc:// endpoints, connecting.  Output is never
 * dropped (the HWM 0 of zpar's data sockets): what a peer does not read
 * waits in its connection's buffer.  Input is read only while fewer than
 * ZPAR_ZROUTER_QUEUE messages wait to be received: a peer that sends more
 * than the owner takes is held back by TCP, not buffered here.
 *
 * Most code never calls these functions: the wire layer (wire.h, route.h,
 * proto_batch.h) sends with zpar__sock_send and zpar__sock_msg_send and
 * receives with zpar__frames_recv, which take a libzmq socket or a zrouter
 * alike (a zrouter is a void * to them as a libzmq socket is).
 *
 * Thread-safety: one thread uses a zrouter (create and destroy may happen on
 * another, before and after).
 */
#ifndef ZPAR__ZROUTER_H
#define ZPAR__ZROUTER_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "zpar/error.h"

typedef struct zpar_zrouter zpar_zrouter_t;

/* Frames kept of one received message (identity frame included); more make
 * the message EPROTO at receive. */
#define ZPAR_ZROUTER_PARTS 8
/* Received messages waiting for the owner before connections are read no
 * further. */
#define ZPAR_ZROUTER_QUEUE 8192

/* What a zrouter is to its peers. */
typedef enum {
    /* A ROUTER (all of the above): DEALER, REQ and ROUTER peers. */
    ZPAR_ZROUTER_ROUTER = 0,
    /* A PUB: SUB and XSUB peers.  Nothing is received (their subscriptions
     * are kept per connection: up to ZPAR_ZROUTER_SUBS prefixes of up to
     * ZPAR_ZROUTER_TOPIC bytes, counted; a peer that asks for more gets
     * everything, which its SUB filters again as libzmq's does).  A message
     * sent goes to every peer subscribed to a prefix of its first frame;
     * a peer with ZPAR_ZROUTER_PUB_BACKLOG bytes unread already loses it
     * (as a libzmq PUB drops at its high-water mark: a stopped subscriber
     * costs a bounded buffer). */
    ZPAR_ZROUTER_PUB,
    /* An XSUB: PUB and XPUB peers.  Messages are received without an
     * identity frame.  A message sent goes to every peer; a subscription
     * sent (one frame: 1 then the prefix; 0 then the prefix cancels it) is
     * remembered, counted, and sent again to every peer that connects
     * later (up to ZPAR_ZROUTER_XSUBS distinct prefixes: beyond, a new one
     * reaches only the peers connected now); a cancel of a prefix it
     * remembers goes on only when its count falls to 0, as libzmq's XSUB
     * does. */
    ZPAR_ZROUTER_XSUB,
} zpar_zrouter_mode_t;

#define ZPAR_ZROUTER_SUBS        32
#define ZPAR_ZROUTER_TOPIC       255
#define ZPAR_ZROUTER_PUB_BACKLOG (64 * 1024)
#define ZPAR_ZROUTER_XSUBS       4096

/* Bind a zrouter to ep ("tcp://HOST:PORT": HOST an IPv4 or [IPv6] address
 * or *, PORT a number or * for any) and write the bound endpoint (as
 * ZMQ_LAST_ENDPOINT writes it: "tcp://0.0.0.0:PORT" for *) into ep (epsize
 * bytes).  maxmsg: the largest frame accepted (bytes, > 0).  mandatory: sends
 * to an unknown identity fail (EHOSTUNREACH) instead of being dropped.
 * NULL with err and errno: EINVAL for an endpoint it does not take, ENOSPC
 * when the process has 16 zrouters already (for either the caller may bind
 * a libzmq socket instead), or the bind's errno. */
zpar_zrouter_t *zpar__zrouter_bind (char *ep, size_t epsize, int64_t maxmsg, int mandatory,
                                    zpar_error_t *err);

/* The same for a zrouter of the given mode (mandatory: ROUTER only). */
zpar_zrouter_t *zpar__zrouter_bind_mode (char *ep, size_t epsize, int64_t maxmsg,
                                         zpar_zrouter_mode_t mode, int mandatory,
                                         zpar_error_t *err);

/* Close every connection and free everything.  NULL-safe. */
void zpar__zrouter_destroy (zpar_zrouter_t *z);

/* The descriptor to watch for input (POLLIN): readable when the zrouter has
 * work (a connection to accept, read or write) or messages to receive.
 * Call zpar__zrouter_io when it is. */
int zpar__zrouter_fd (const zpar_zrouter_t *z);

/* Do the I/O that is ready without blocking: accept, read complete
 * messages into the receive queue (up to ZPAR_ZROUTER_QUEUE), write what
 * waits, close what failed; then receive, then zpar__zrouter_done.  0, or
 * -1 with errno when epoll itself fails.  z NULL: nothing to do, 0 (as
 * zpar__zrouter_done: both may be given zpar__zrouter_of (sock)). */
int zpar__zrouter_io (zpar_zrouter_t *z);

/* The owner has received what it takes for now: the descriptor stays
 * readable while messages wait (or connections wait to be read and there
 * is room), so a reactor calls back.  Call it after the messages that
 * zpar__zrouter_io queued were received (or left for later); between the
 * two, the descriptor does not signal for them (no system call per
 * message to say so). */
void zpar__zrouter_done (zpar_zrouter_t *z);

/* Receive the next message: its frames into part[] (at most nmax; each
 * initialised here, the caller closes them), their number in *n.  0; -1
 * EAGAIN when none is waiting, EPROTO when it had more than nmax frames
 * (nothing returned). */
int zpar__zrouter_recv (zpar_zrouter_t *z, zmq_msg_t *part, int nmax, int *n);

/* Send one frame of a message; more: another frame follows.  The first
 * frame names the peer.  0, or -1: EHOSTUNREACH (mandatory, no such peer;
 * nothing of the message is sent), EINVAL.  A connection that fails while
 * written is closed; the message is then lost as it would be with libzmq. */
int zpar__zrouter_send (zpar_zrouter_t *z, const void *data, size_t len, int more);

/* The connection the message received last came on: a number > 0 that
 * names it for as long as it is open (not reused before 2^31 others), or
 * -1 when nothing was received yet.  What libzmq's ZMQ_SRCFD is to the
 * heartbeat, without the reuse of a descriptor's number. */
int zpar__zrouter_last_src (const zpar_zrouter_t *z);

/* Remember the connections that close (after their READY), for
 * zpar__zrouter_closed; off by default.  What libzmq's socket monitor's
 * DISCONNECTED is to the heartbeat. */
void zpar__zrouter_track_closed (zpar_zrouter_t *z, int on);

/* Up to max connections closed since the last call into src[] (their
 * numbers as zpar__zrouter_last_src gave them), returning how many; none
 * while messages received before the close wait to be received (so that
 * the owner takes a connection's last messages before its close).  At most
 * 65,536 are remembered between calls; older ones are forgotten. */
int zpar__zrouter_closed (zpar_zrouter_t *z, int *src, int max);

/* Counters, for logs and tests. */
typedef struct {
    uint64_t accepted;    /* connections accepted */
    uint64_t refused;     /* closed at the handshake: not ZMTP, mechanism,
                           * socket type, identity in use */
    uint64_t oversized;   /* closed for a frame above maxmsg */
    uint64_t closed;      /* closed, for any reason (those above too) */
    unsigned peers;       /* connections with an identity now */
    uint64_t queued;      /* messages waiting to be received */
    uint64_t out_pending; /* bytes waiting to be written, over all peers */
    uint64_t pub_dropped; /* PUB: messages a peer lost to its backlog */
} zpar_zrouter_stats_t;
void zpar__zrouter_stats (const zpar_zrouter_t *z, zpar_zrouter_stats_t *st);

/* The zrouter that sock is, or NULL when it is a libzmq socket (or NULL).
 * One comparison when the process has no zrouter. */
zpar_zrouter_t *zpar__zrouter_of (const void *sock);

/* zmq_send and zmq_msg_send for a libzmq socket or a zrouter: flags
 * ZMQ_SNDMORE and ZMQ_DONTWAIT (a zrouter never blocks).  The return values
 * and errors are libzmq's: the bytes sent, or -1; a message sent is left
 * empty. */
int zpar__sock_send (void *sock, const void *data, size_t len, int flags);
int zpar__sock_msg_send (zmq_msg_t *m, void *sock, int flags);

#endif
