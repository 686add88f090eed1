/* heartbeat.h - the hub's heartbeat monitor.
 *
 * Every period the hub publishes a ping [seq, wall time, the controller's
 * session] (three u64, host order) on its hb_ping PUB socket; every engine
 * echoes it on the hb_pong ROUTER under the routing identity the registrar
 * gave it (route.h); a pong from any other identity counts for nothing.  An engine's
 * last beat is the time the hub sent the newest ping it echoed; an engine
 * is dead when its last beat is older than misses periods plus half a
 * period AND it echoed none of the last misses pings sent: misses are
 * counted in pings, so a hub that stalls (no pings sent, pongs read late)
 * never declares an engine dead for its own silence.
 *
 * The bookkeeping is a plain data structure driven by calls that carry the
 * time explicitly (monotonic microseconds), so it can be tested without
 * sockets or clocks:
 *
 *   zpar__heartbeat_watch    an engine (re)registered: watch it from now
 *   zpar__heartbeat_ping     a ping is sent now: its sequence number
 *   zpar__heartbeat_pong     an engine echoed ping seq
 *   zpar__heartbeat_expire   the engines that missed too many beats; they
 *                            are no longer watched
 *   zpar__heartbeat_unwatch  an engine left (unregistered, or dead)
 *
 * Ignored pongs: from an engine that is not watched (never registered,
 * declared dead, unregistered: a dead engine must register again), and
 * late ones, echoing a ping older than the last misses + 1 pings (they
 * say nothing about the engine now) or a ping never sent.
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
#include "route.h"

/* Engine ids are 1 .. ZPAR_HEARTBEAT_MAX_ENGINE. */
#define ZPAR_HEARTBEAT_MAX_ENGINE (1u << 24)
/* At most this many missed beats (the window of pings remembered). */
#define ZPAR_HEARTBEAT_MAX_MISSES 1000

typedef struct zpar_heartbeat zpar_heartbeat_t;

/* period_ms > 0 and 0 < misses <= ZPAR_HEARTBEAT_MAX_MISSES.  NULL with
 * errno (EINVAL, ENOMEM). */
zpar_heartbeat_t *zpar__heartbeat_create (int period_ms, int misses);
/* NULL-safe, keeps errno. */
void zpar__heartbeat_destroy (zpar_heartbeat_t *hb);

int zpar__heartbeat_period_ms (const zpar_heartbeat_t *hb);
int zpar__heartbeat_misses (const zpar_heartbeat_t *hb);

/* Watch engine (1 .. ZPAR_HEARTBEAT_MAX_ENGINE) as if it had beaten at
 * now_us.  Watching a watched engine restarts its clock. */
int zpar__heartbeat_watch (zpar_heartbeat_t *hb, zpar_eid_t engine, uint64_t now_us);
/* The routing identity the watched engine route names must send its pongs
 * from (zpar__heartbeat_recv_pongs counts no other).  -1 EINVAL if that
 * engine is not watched. */
int zpar__heartbeat_set_route (zpar_heartbeat_t *hb, const zpar_route_t *route);
/* Stop watching engine (no error if it was not watched). */
int zpar__heartbeat_unwatch (zpar_heartbeat_t *hb, zpar_eid_t engine);
/* 1 if engine is watched, 0 if not (or bad parameters). */
int zpar__heartbeat_watched (const zpar_heartbeat_t *hb, zpar_eid_t engine);

/* A ping is sent at now_us: returns its sequence number (1, 2, ...), 0 for
 * NULL. */
uint64_t zpar__heartbeat_ping (zpar_heartbeat_t *hb, uint64_t now_us);

/* engine echoed ping seq.  Returns 1 if it counted (the engine's last beat
 * is then at least that ping's time), 0 if it was ignored (engine not
 * watched, a late or unknown ping), -1 EINVAL. */
int zpar__heartbeat_pong (zpar_heartbeat_t *hb, zpar_eid_t engine, uint64_t seq);

/* Called once per engine found dead by zpar__heartbeat_expire. */
typedef void (*zpar_heartbeat_dead_f) (void *arg, zpar_eid_t engine);
/* Every watched engine whose last beat is older than misses periods plus
 * half a period at now_us is unwatched, then cb is called for it (in
 * engine order; cb may call any heartbeat function).  Returns the number
 * of engines found dead, -1 EINVAL. */
int zpar__heartbeat_expire (zpar_heartbeat_t *hb, uint64_t now_us, zpar_heartbeat_dead_f cb,
                            void *arg);

/* --- socket glue --- */

/* Send a ping (zpar__heartbeat_ping at now_us) with the wall time and the
 * controller's session on the PUB socket sock.  0 / -1 errno (from zmq;
 * EAGAIN if it would block). */
int zpar__heartbeat_send_ping (zpar_heartbeat_t *hb, void *sock, uint64_t session, uint64_t now_us,
                               uint64_t wall_us);

/* Read the pongs waiting on the ROUTER socket sock (at most max), each
 * [identity, the 24-byte ping echoed], and count them.  Pongs that are
 * malformed (frames, sizes), come from an identity that is not a watched
 * engine's routing identity (zpar__heartbeat_set_route) or echo another session
 * than the last ping's are dropped: their number is returned (and added to
 * *dropped when non-NULL). */
int zpar__heartbeat_recv_pongs (zpar_heartbeat_t *hb, void *sock, int max, uint64_t *dropped);

#endif
