/* relay_node.h - a node's relay under `zpar run` (relay.h is the relay
 * itself): whether the node's engines go through one, and its process.
 *
 * The rule (--relay, $ZPAR_RELAY): `never`; `always` (every node with an
 * engine); `auto`, the default: every node that runs two engines or more
 * and is not the controller's node, and the controller's node when it
 * runs ZPAR_RELAY_CONTROLLER_NODE_MIN engines or more
 * ($ZPAR_RELAY_CONTROLLER_NODE; 0: never).  A direct engine costs the
 * controller 7 connections (~6.5 KiB, 7 files), a relayed one ~3 KiB and
 * the node's relay ~250-350 KiB; a relay adds a hop to every message
 * (doc/benchmarks.md, "Issue 11: the controller's node, direct up to 256
 * engines").
 * Every rank of a node decides the same
 * from what each knows after the wire-up: the mode, the node's number of
 * ranks, and whether the controller runs here (its host name).  The
 * node's first local rank starts the relay; the node's engines find it in
 * the directory zpar__relay_dir names (the same in every process of the
 * node, from the cluster key and the host name).  The `pure` task scheme
 * never uses one (its DEALER hands tasks to whatever peer connects).
 *
 * Errors: 0 / -1 with errno and err.
 */
#ifndef ZPAR__RELAY_NODE_H
#define ZPAR__RELAY_NODE_H

#include "conn.h"
#include "zpar/error.h"

typedef enum {
    ZPAR_RELAY_AUTO = 0,
    ZPAR_RELAY_ALWAYS,
    ZPAR_RELAY_NEVER,
} zpar_relay_mode_t;

/* text ("auto", "always", "never"), else $ZPAR_RELAY when text is NULL,
 * else auto.  -1 EINVAL with err for another word. */
int zpar__relay_mode_parse (const char *text, zpar_relay_mode_t *mode, zpar_error_t *err);

/* auto: the controller's node goes through a relay from this many
 * engines.  Below it its engines connect straight to the controller: at
 * most 255 of them take ~1.7 MiB and ~1,800 files of it, and spare the
 * node the relay's memory (~300 KiB per engine) and every message its hop
 * (+60 % round trip, -36 % pipelined tasks on this machine); above, the
 * files and pings of direct engines grow with them. */
#define ZPAR_RELAY_CONTROLLER_NODE_MIN 256

/* The threshold in force: $ZPAR_RELAY_CONTROLLER_NODE (a number >= 0; 0
 * never relays the controller's node under auto) if set and valid, else
 * ZPAR_RELAY_CONTROLLER_NODE_MIN. */
int zpar__relay_controller_node_min (void);

/* 1 if the engines of this node go through a relay: mode, whether the
 * controller runs on this node, how many ranks the node runs (the
 * controller's included), the task scheme ("pure" never). */
int zpar__relay_wanted (zpar_relay_mode_t mode, int controller_node, int local_size,
                        const char *scheme);

typedef struct zpar_relay_child zpar_relay_child_t;

/* Start this node's relay: `zpar relay` (this program) in a child process
 * tied to this one (it stops when we die), with the controller's
 * connection information ci written next to dir (mode 0600), started
 * again when it dies (after $ZPAR_RELAY_RESTART_MS milliseconds, default
 * 1000) until zpar__relay_child_stop.
 * interface: as zpar_relay_opts_t.  NULL with err if it cannot start. */
zpar_relay_child_t *zpar__relay_child_start (const zpar_conninfo_t *ci, const char *dir,
                                             const char *interface, zpar_error_t *err);

/* Stop it (SIGTERM, then wait) and free it.  NULL-safe. */
void zpar__relay_child_stop (zpar_relay_child_t *c);

#endif
