/* heartbeat.h - the hub's heartbeat monitor.
 *
 * Every period the hub publishes a ping (sequence number, wall time, the
 * controller's session) on its hb_ping PUB socket; every engine answers on
 * the hb_pong ROUTER with its identity "e<id>".  An engine that has not
 * answered for misses periods (plus half a period of grace) is dead.
 *
 * The bookkeeping is a plain data structure driven by calls that carry the
 * time explicitly (monotonic microseconds), so it can be tested without
 * sockets or clocks:
 *
 *   zpar__heartbeat_watch     an engine (re)registered: watch it from now
 *   zpar__heartbeat_pong      a pong arrived from an engine
 *   zpar__heartbeat_next_ping the next ping's sequence number
 *   zpar__heartbeat_expire    collect the engines that missed too many
 *                             beats; they are no longer watched
 *   zpar__heartbeat_unwatch   an engine left (unregistered, or dead)
 *
 * A pong from an engine that is not watched (never registered, declared
 * dead, unregistered) is ignored: a dead engine must register again.
 *
 * The socket glue (zpar__heartbeat_send_ping, zpar__heartbeat_recv_pongs)
 * is at the end.  A zpar_heartbeat_t belongs to one thread (the hub's).
 * Errors: 0 / -1 with errno (EINVAL bad parameter, ENOMEM).
 */
#ifndef ZPAR__HEARTBEAT_H
#define ZPAR__HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"

/* Engine ids are 1 .. ZPAR_HEARTBEAT_MAX_ENGINE. */
#define ZPAR_HEARTBEAT_MAX_ENGINE (1u << 24)

typedef struct zpar_heartbeat zpar_heartbeat_t;

/* period_ms > 0 and misses > 0.  NULL with errno (EINVAL, ENOMEM). */
zpar_heartbeat_t *zpar__heartbeat_create (int period_ms, int misses);
/* NULL-safe, keeps errno. */
void zpar__heartbeat_destroy (zpar_heartbeat_t *hb);

int zpar__heartbeat_period_ms (const zpar_heartbeat_t *hb);
int zpar__heartbeat_misses (const zpar_heartbeat_t *hb);

/* Watch engine (1 .. ZPAR_HEARTBEAT_MAX_ENGINE) as if it had just
 * answered at now_us.  Watching a watched engine restarts its clock. */
int zpar__heartbeat_watch (zpar_heartbeat_t *hb, zpar_eid_t engine, uint64_t now_us);
/* Stop watching engine (no error if it was not watched). */
int zpar__heartbeat_unwatch (zpar_heartbeat_t *hb, zpar_eid_t engine);
/* 1 if engine is watched, 0 if not (or bad parameters). */
int zpar__heartbeat_watched (const zpar_heartbeat_t *hb, zpar_eid_t engine);

/* A pong from engine arrived at now_us.  Returns 1 if it counted (the
 * engine is watched), 0 if it was ignored, -1 EINVAL. */
int zpar__heartbeat_pong (zpar_heartbeat_t *hb, zpar_eid_t engine, uint64_t now_us);

/* Sequence number of the next ping (1, 2, ...). */
uint64_t zpar__heartbeat_next_ping (zpar_heartbeat_t *hb);

/* Called once per engine found dead by zpar__heartbeat_expire. */
typedef void (*zpar_heartbeat_dead_f) (void *arg, zpar_eid_t engine);
/* Every watched engine whose last beat is older than misses periods plus
 * half a period at now_us is unwatched, then cb is called for it (in
 * engine order; cb may call any heartbeat function).  Returns the number
 * of engines found dead, -1 EINVAL. */
int zpar__heartbeat_expire (zpar_heartbeat_t *hb, uint64_t now_us, zpar_heartbeat_dead_f cb,
                            void *arg);

/* --- socket glue --- */

/* Publish ping seq (zpar__heartbeat_next_ping) with the wall time and the
 * controller's session on the PUB socket sock.  0 / -1 errno (from zmq;
 * EAGAIN if it would block). */
int zpar__heartbeat_send_ping (zpar_heartbeat_t *hb, void *sock, uint64_t session,
                               uint64_t wall_us);

/* Read every pong waiting on the ROUTER socket sock (at most max), each
 * [identity "e<id>", 24-byte echo], and count them at now_us.  Returns the
 * number of malformed messages dropped (also added to *dropped when
 * non-NULL). */
int zpar__heartbeat_recv_pongs (zpar_heartbeat_t *hb, void *sock, uint64_t now_us, int max,
                                uint64_t *dropped);

#endif
