/* netlimit.h - size and queue limits of the sockets that face the network.
 *
 * Anybody who can reach a bound port can connect and send frames before a
 * signature is ever checked, and libzmq allocates each frame at the size
 * its header announces.  These limits bound what a peer without the key
 * can make a zpar process hold:
 *
 *  - ZMQ_MAXMSGSIZE on every socket that receives from the network: a frame
 *    announced larger than the limit closes that connection before its body
 *    is allocated.  The limit depends on what the channel carries (its role,
 *    below); the data channels' limit is the protocol's own (ZPAR_MAX_BODY
 *    plus room for the other frames), or lower with $ZPAR_MAX_MSG_SIZE.
 *  - a finite ZMQ_SNDHWM on PUB sockets: a subscriber that does not read
 *    loses messages (PUB drops at the high-water mark) instead of growing
 *    the publisher.  Other sockets keep HWM 0: dropping tasks or results is
 *    never safe.
 *
 * Nothing here needs a lock; the environment is read at each call.
 */
#ifndef ZPAR__NETLIMIT_H
#define ZPAR__NETLIMIT_H

#include <stdint.h>

#include "msg.h"

/* Data channels (tasks, results, query replies): the protocol's body limit
 * plus 64 KiB for the routing, signature and header frames. */
#define ZPAR_NETLIMIT_DATA_MAX ((int64_t)ZPAR_MAX_BODY + 65536)
/* The lowest $ZPAR_MAX_MSG_SIZE honoured. */
#define ZPAR_NETLIMIT_DATA_MIN ((int64_t)64 * 1024)
/* Registration, queries, heartbeats, notifications: small messages. */
#define ZPAR_NETLIMIT_CONTROL ((int64_t)1024 * 1024)
/* IOPub: output is published in chunks of at most 64 KiB. */
#define ZPAR_NETLIMIT_IOPUB ((int64_t)256 * 1024)
/* What a PUB socket receives: subscriptions (topic prefixes). */
#define ZPAR_NETLIMIT_SUBSCRIBE ((int64_t)1024)
/* Send high-water mark of PUB sockets, in messages per subscriber. */
#define ZPAR_NETLIMIT_PUB_SNDHWM 1000
/* Receive high-water mark of the controller's IOPub SUB, in messages per
 * publisher: when the forwarder falls behind (every message is verified),
 * the connection is read no further (TCP flow control) and the publisher's
 * PUB drops at its own mark, instead of the controller queueing. */
#define ZPAR_NETLIMIT_IOPUB_RCVHWM 100
/* The listen backlog of every socket bound on tcp or ipc (the controller's,
 * a relay's): room for a start storm of engines connecting at once (the
 * kernel caps it at net.core.somaxconn). */
#define ZPAR_LISTEN_BACKLOG 4096

typedef enum {
    ZPAR_NET_DATA = 0, /* tasks, results, replies: the data limit */
    ZPAR_NET_CONTROL,  /* registrar, heartbeat, notifications */
    ZPAR_NET_IOPUB,    /* output streams and task status */
    ZPAR_NET_PUB,      /* a PUB: receives subscriptions, finite send HWM */
} zpar_net_role_t;

/* Parse a size: decimal bytes with an optional K, M or G suffix (binary
 * units, case-insensitive, optional trailing "iB"/"B").  0 with *bytes set;
 * -1 with EINVAL (not a size) or ERANGE (zero or above 2^62). */
int zpar__netlimit_parse (const char *s, int64_t *bytes);

/* The data channels' limit: $ZPAR_MAX_MSG_SIZE when it parses (clamped to
 * [ZPAR_NETLIMIT_DATA_MIN, ZPAR_NETLIMIT_DATA_MAX]), else
 * ZPAR_NETLIMIT_DATA_MAX.  An unparsable value is ignored with a warning. */
int64_t zpar__netlimit_data (void);

/* The maximum message size of a socket of role: the role's limit, never
 * above the data limit.  -1 with EINVAL for an unknown role. */
int64_t zpar__netlimit_for (zpar_net_role_t role);

/* Set ZMQ_MAXMSGSIZE (and for ZPAR_NET_PUB also ZMQ_SNDHWM) on sock.
 * Call before bind or connect: libzmq copies options into its listeners
 * and connections when they are made.  0 / -1 with errno (EINVAL for a
 * NULL socket or an unknown role, or zmq's). */
int zpar__netlimit_apply (void *sock, zpar_net_role_t role);

#endif
