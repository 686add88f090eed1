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
 * An engine is suspect when it left the ping before the last unanswered
 * (silent for more than 1.5 periods): reported once, logged by the hub,
 * nothing else changes; a pong from a suspect engine revives it (an
 * event too).  The heartbeat thread (hb_thread.c) drives this structure:
 * it reads the pongs waiting before it checks, so that a thread that ran
 * late never judges engines on pongs it has not read, and a tick that
 * fires late by more than half a period excuses the engines for the
 * lateness (zpar__heartbeat_excuse).
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
 * is at the end.  A zpar_heartbeat_t belongs to one thread (the heartbeat
 * thread's).
 * Errors: 0 / -1 with errno (EINVAL bad parameter, ENOMEM).
 */
#ifndef ZPAR__HEARTBEAT_H
#define ZPAR__HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "route.h"

/* Engine ids are 1 .. ZPAR_HEARTBEAT_MAX_ENGINE. */
/* Slots of the nudge table (identities nudged in the last period): fixed. */
#define ZPAR_HEARTBEAT_NUDGE_SLOTS 1024
/* Collective silence: when at least ZPAR_HEARTBEAT_COLLECTIVE_MIN watched
 * engines, and more than half of them, are silent (suspect or worse) at
 * once, the cause is far more likely this machine or its network than the
 * engines (1,000 engines on 2 cores under load all went silent together):
 * none is declared dead on silence while it lasts, and its time and pings
 * are excused (when it ends, each is judged on its silence after it),
 * unless an engine has been silent ZPAR_HEARTBEAT_COLLECTIVE_FACTOR times
 * the limit in all. */
#define ZPAR_HEARTBEAT_COLLECTIVE_MIN    3
#define ZPAR_HEARTBEAT_COLLECTIVE_FACTOR 10
#define ZPAR_HEARTBEAT_MAX_ENGINE        (1u << 24)
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
 * is then at least that ping's time), 2 if it counted and the engine was
 * suspect (it no longer is), 0 if it was ignored (engine not watched, a
 * late or unknown ping), -1 EINVAL. */
int zpar__heartbeat_pong (zpar_heartbeat_t *hb, zpar_eid_t engine, uint64_t seq);

/* Called once per engine found dead by zpar__heartbeat_expire. */
typedef void (*zpar_heartbeat_dead_f) (void *arg, zpar_eid_t engine);
/* Every watched engine whose last beat is older than misses periods plus
 * half a period at now_us is unwatched, then cb is called for it (in
 * engine order; cb may call any heartbeat function).  Returns the number
 * of engines found dead, -1 EINVAL. */
int zpar__heartbeat_expire (zpar_heartbeat_t *hb, uint64_t now_us, zpar_heartbeat_dead_f cb,
                            void *arg);

typedef enum {
    ZPAR_HEARTBEAT_SUSPECT = 1, /* the ping before the last unanswered */
    ZPAR_HEARTBEAT_REVIVED = 2, /* a suspect engine answered */
    ZPAR_HEARTBEAT_DEAD = 3,    /* misses pings unanswered, silent past the limit */
    ZPAR_HEARTBEAT_SLOW = 5,    /* past the limit, but its local process runs: not dead yet */
    ZPAR_HEARTBEAT_CLOSED = 4,  /* its connection closed (zpar__heartbeat_closed): still watched */
} zpar_heartbeat_event_t;

/* silent_us: how long the engine had been silent (for REVIVED, the gap
 * between its last two beats); missed: pings sent since the last one it
 * echoed (0 for REVIVED). */
typedef void (*zpar_heartbeat_event_f) (void *arg, zpar_eid_t engine, zpar_heartbeat_event_t ev,
                                        uint64_t silent_us, uint64_t missed);

/* zpar__heartbeat_expire, plus suspects, closed connections and the
 * collective-silence rule (above): every watched engine silent for
 * more than 1.5 periods that left a ping unanswered is reported SUSPECT
 * once (until it answers or is watched again).  Returns the number found
 * dead, -1 EINVAL. */
int zpar__heartbeat_check (zpar_heartbeat_t *hb, uint64_t now_us, zpar_heartbeat_event_f cb,
                           void *arg);

/* The number of silent engines at the last check if they were the
 * collective silence above, else 0. */
uint32_t zpar__heartbeat_collective (const zpar_heartbeat_t *hb);

/* The kernel's word: engine's pongs come on connection fd (a TCP socket's
 * descriptor in the pong socket, ZMQ_SRCFD); a pong on another one clears
 * a "closed" mark.  -1 EINVAL. */
int zpar__heartbeat_pong_fd (zpar_heartbeat_t *hb, zpar_eid_t engine, int fd);
/* Connection fd closed (the pong socket's monitor said
 * ZMQ_EVENT_DISCONNECTED): the watched engine whose pongs came on it is
 * marked; the next zpar__heartbeat_check reports it CLOSED, once, unless a
 * pong on another connection came first (it reconnected).  A closed
 * connection alone proves nothing (an engine that reconnects closes its
 * own): the engine stays watched; its owner may find the process gone
 * (the hub does, for engines on this host).  Returns the number of
 * engines marked. */
int zpar__heartbeat_closed (zpar_heartbeat_t *hb, int fd);
/* Is watched engine eid's connection closed, with no pong on another since
 * (it did not reconnect)?  1 / 0 (not watched, or open); *silent_us (may
 * be NULL): its silence at now_us. */
int zpar__heartbeat_is_closed (const zpar_heartbeat_t *hb, zpar_eid_t eid, uint64_t *silent_us,
                               uint64_t now_us);

/* The gap between engine's last two beats (set when a pong moved its
 * last beat). */
uint64_t zpar__heartbeat_gap_us (const zpar_heartbeat_t *hb, zpar_eid_t engine);

/* The monitor itself was late by late_us (its timer fired that much after
 * it was due): that much of every watched engine's silence is excused
 * (not counted against the limit; the collective bound counts it). */
void zpar__heartbeat_excuse (zpar_heartbeat_t *hb, uint64_t late_us, uint64_t now_us);

/* May the routing identity ident (len bytes) be sent a re-register nudge
 * at now_us?  1 (and it is recorded) unless it was nudged less than a
 * period ago.  The table has ZPAR_HEARTBEAT_NUDGE_SLOTS slots indexed by a
 * keyed hash of the identity: its memory is fixed, whatever the number of
 * identities; two identities sharing a slot may each be nudged more
 * often, never less than once a period. */
int zpar__heartbeat_nudge_due (zpar_heartbeat_t *hb, const void *ident, size_t len,
                               uint64_t now_us);

/* The kernel's word on engines of this host: alive (arg, pid) says 1 if
 * the process exists and runs (not stopped, not a zombie).  An engine with
 * a pid (zpar__heartbeat_set_pid) past the silence limit whose process
 * alive() says runs is slow, not dead: reported SLOW once per silence, and
 * declared dead only at ZPAR_HEARTBEAT_COLLECTIVE_FACTOR limits.  Behind a
 * relay only while another engine of that relay answers (the path works);
 * when all of a relay's engines are silent the relay is lost, and they die
 * at the limit whatever their processes do.  alive() is asked once per
 * process per check (thousands of engines may share one process). */
typedef int (*zpar_heartbeat_alive_f) (void *arg, uint32_t pid);
void zpar__heartbeat_set_alive (zpar_heartbeat_t *hb, zpar_heartbeat_alive_f alive, void *arg);
/* The watched engine's pid on this host (0: none).  -1 EINVAL if it is
 * not watched. */
int zpar__heartbeat_set_pid (zpar_heartbeat_t *hb, zpar_eid_t engine, uint32_t pid);

/* Whether zpar__heartbeat_recv_pongs sends nudges (default 1). */
void zpar__heartbeat_set_nudge (zpar_heartbeat_t *hb, int on);

/* --- socket glue --- */

/* Send a ping (zpar__heartbeat_ping at now_us) with the wall time and the
 * controller's session on the PUB socket sock.  0 / -1 errno (from zmq;
 * EAGAIN if it would block). */
int zpar__heartbeat_send_ping (zpar_heartbeat_t *hb, void *sock, uint64_t session, uint64_t now_us,
                               uint64_t wall_us);

typedef struct {
    uint64_t received;  /* messages read */
    uint64_t dropped;   /* malformed */
    uint64_t uncounted; /* well-formed, from an identity not counted */
    uint64_t nudged;    /* re-register nudges sent */
} zpar_heartbeat_pongs_t;

/* Read the pongs waiting on the ROUTER socket sock (at most max), each
 * [identity, the 24-byte ping echoed], and count them.  Malformed ones
 * (frames, sizes) are dropped.  A well-formed pong from an identity that
 * is not a watched engine's routing identity (zpar__heartbeat_set_route:
 * an engine declared dead, unwatched, or never registered) or echoing
 * another session than the last ping's is not counted and answered with
 * the re-register nudge [identity, "zparRREG"] when
 * zpar__heartbeat_nudge_due says so (at now_us).  A pong that revives a
 * suspect engine calls cb (REVIVED).  Returns the number of malformed
 * messages; *st (when non-NULL) is added to. */
int zpar__heartbeat_recv_pongs (zpar_heartbeat_t *hb, void *sock, int max, uint64_t now_us,
                                zpar_heartbeat_event_f cb, void *arg, zpar_heartbeat_pongs_t *st);

#endif
