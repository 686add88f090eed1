/* relay.h - the per-node relay: one process that carries the traffic of
 * a node's engines to the controller (doc/protocol.md, "Relays").
 *
 * Upstream, the relay connects to the controller's engine-facing
 * endpoints (registrar, mux, task, control, hb_ping, hb_pong, iopub; at
 * the address zpar__conn_pick chooses, as an engine would), one socket
 * each, its DEALERs under one routing identity of its own (the
 * relay id, route.h: 'R' and 16 random bytes, drawn at each start).
 * Downstream, it binds the same set on ipc:// in a private directory
 * (mode 0700), where the node's engines connect instead (an engine is
 * told the directory: zpar__relay_engine_addrs).  It forwards in both
 * directions without reading the messages: an engine's frames go up as
 * they are (the controller's ROUTER adds the relay id in front of the
 * engine's identity), and what comes down names the engine by its
 * identity (the controller's ROUTER took the relay id off).  Signing is
 * end to end: the relay has no use for the cluster key and checks nothing
 * but the number of frames.  Heartbeats are forwarded like the rest, on a
 * thread with a ZeroMQ context of its own, so that task traffic never
 * delays a ping or a pong.
 *
 * Errors: 0 / -1 with errno and err.
 */
#ifndef ZPAR__RELAY_H
#define ZPAR__RELAY_H

#include <stddef.h>

#include "conn.h"
#include "zpar/error.h"

typedef struct {
    /* upstream: the controller's endpoints (engine.json), as given (or
     * read from connection_file when conninfo is NULL) */
    const zpar_conninfo_t *conninfo;
    const char *connection_file;
    /* downstream: the private directory of the ipc endpoints (created
     * 0700 if missing, refused if another user can change it) */
    const char *dir;
    /* NAME|CIDR to reach the controller by, or NULL: $ZPAR_INTERFACE, else
     * zpar__conn_pick's choice (addrpick.h) */
    const char *interface;
} zpar_relay_opts_t;

/* Run the relay until SIGTERM or SIGINT (the caller blocks them, as the
 * zpar program does).  0 when stopped by a signal, -1 with err when it
 * cannot start (directory refused, bind failed, bad connection file). */
int zpar__relay_run (const zpar_relay_opts_t *opts, zpar_error_t *err);

/* The downstream endpoint of controller endpoint ep in dir
 * ("ipc://DIR/NAME") into buf; -1 EINVAL (an endpoint that is not an
 * engine's) or ENAMETOOLONG (ipc paths are limited to 107 bytes). */
int zpar__relay_endpoint (const char *dir, zpar_endpoint_t ep, char *buf, size_t size);

/* Point an engine's connection information at the relay in dir: every
 * engine-facing address becomes the relay's ipc endpoint, and the Curve
 * keys are cleared (the private directory is the ipc side's protection).
 * 0 / -1 as zpar__relay_endpoint. */
int zpar__relay_engine_addrs (const char *dir, zpar_conninfo_t *ci);

/* The directory of this node's relay for a cluster: the same in every
 * process of the node that knows the cluster key and the host name, and
 * no other cluster's: $XDG_RUNTIME_DIR/zpar-relay/HASH when that is set,
 * else /tmp/zpar-relay-UID-HASH (HASH: 16 hex digits of a keyed hash of
 * the host name under the cluster key), one directory that the relay
 * creates 0700 and removes when it stops, so that nothing stays in /tmp.
 * Under $XDG_RUNTIME_DIR creates the parent 0700 and checks it is
 * private.  -1 with errno and err. */
int zpar__relay_dir (const zpar_conninfo_t *ci, const char *host, char *buf, size_t size,
                     zpar_error_t *err);

#endif
