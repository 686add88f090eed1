/* proto_hb.h - the heartbeat ping codec (internal).
 *
 * The hub publishes a ping every heartbeat period on hb_ping; each engine's
 * heart echoes it byte for byte on hb_pong (a zmq_proxy: no code in the
 * path), so the ping is one fixed 24-byte frame, unsigned, little-endian:
 *
 *   u64 seq       the hub's ping counter, from 1
 *   u64 time_us   the hub's wall clock when it sent the ping
 *   u64 session   the hub's signer session: an engine that sees another
 *                 session knows a new controller took over
 *
 * The re-register nudge (controller -> engine, on hb_pong): the
 * controller answers a well-formed pong from a routing identity it does
 * not count (an engine declared dead, one it never registered, or an
 * echo of another controller's session) with one frame of the 8 bytes
 * "zparRREG", at most once per heartbeat period per identity: the engine
 * registers again.
 *
 * The heartbeat pipe (inside the controller, hub <-> heartbeat thread,
 * inproc PAIR, host byte order, one frame of ZPAR_HB_PIPE_LEN bytes):
 *
 *   u8 kind, u8[3] zero, u32 engine, u32 gen, u32 silent_ms, u32 missed,
 *   u32 pid, route (ZPAR_ROUTE_LEN bytes), relay id (ZPAR_RELAY_ID_LEN
 *   bytes, zero when the engine is behind no relay) -- pid, route, relay in WATCH only
 *   (zeros otherwise)
 *
 *   hub -> thread   WATCH    engine, gen, pid, route   watch it from now
 *                            (again); pid: its process when it runs on
 *                            this host (0: elsewhere, or unknown)
 *                   UNWATCH  engine               stop watching it
 *                   TERM                          stop the thread
 *   thread -> hub   SUSPECT  engine, gen, silent_ms, missed
 *                   REVIVED  engine, gen, silent_ms   a suspect answered
 *                   DEAD     engine, gen, silent_ms, missed
 *                   CLOSED   engine, gen, silent_ms, missed   its connection
 *                            closed (the hub checks its process)
 *                   SLOW     engine, gen, silent_ms, missed   past the limit,
 *                            but its process on this host runs
 *
 * gen is the hub's number for one WATCH of an engine, echoed in the
 * events, so that an event about an earlier registration of the same
 * engine (crossing a new WATCH in the pipe) is recognised and ignored.
 *
 * See doc/protocol.md, "Heartbeat".
 */
#ifndef ZPAR__PROTO_HB_H
#define ZPAR__PROTO_HB_H

#include <stddef.h>
#include <stdint.h>

#include "route.h"
#include "zpar/error.h"

#define ZPAR_HB_PING_LEN 24

/* The re-register nudge frame. */
#define ZPAR_HB_RREG     "zparRREG"
#define ZPAR_HB_RREG_LEN 8

/* 1 if buf is the nudge frame, else 0. */
int zpar__proto_hb_is_rreg (const void *buf, size_t len);

typedef struct {
    uint64_t seq;
    uint64_t time_us;
    uint64_t session;
} zpar_proto_ping_t;

/* Write p into out (ZPAR_HB_PING_LEN bytes). */
void zpar__proto_ping_encode (const zpar_proto_ping_t *p, uint8_t out[ZPAR_HB_PING_LEN]);

/* Decode a ping frame.  0, or -1 with EPROTO (wrong length, seq 0) and the
 * reason in err; EINVAL for NULL arguments. */
int zpar__proto_ping_decode (const void *buf, size_t len, zpar_proto_ping_t *p, zpar_error_t *err);

/* --- the heartbeat pipe (inside the controller) --- */

typedef enum {
    ZPAR_HB_PIPE_NONE = 0,
    ZPAR_HB_PIPE_WATCH = 1,
    ZPAR_HB_PIPE_UNWATCH = 2,
    ZPAR_HB_PIPE_TERM = 3,
    ZPAR_HB_PIPE_SUSPECT = 4,
    ZPAR_HB_PIPE_REVIVED = 5,
    ZPAR_HB_PIPE_DEAD = 6,
    ZPAR_HB_PIPE_CLOSED = 7,
    ZPAR_HB_PIPE_SLOW = 8,
    ZPAR_HB_PIPE_GONE = 9, /* its connection closed and it answered no ping since */
    ZPAR_HB_PIPE_KIND_MAX = 10,
} zpar_hb_pipe_kind_t;

#define ZPAR_HB_PIPE_LEN (24 + ZPAR_ROUTE_LEN + ZPAR_RELAY_ID_LEN)

typedef struct {
    zpar_hb_pipe_kind_t kind;
    uint32_t engine;
    uint32_t gen;
    uint32_t silent_ms;
    uint32_t missed;
    uint32_t pid;       /* WATCH: the engine's pid on this host, 0: not here */
    zpar_route_t route; /* WATCH */
} zpar_hb_pipe_msg_t;

/* Write m into out.  -1 EINVAL for NULL or an unknown kind. */
int zpar__hb_pipe_encode (const zpar_hb_pipe_msg_t *m, uint8_t out[ZPAR_HB_PIPE_LEN]);
/* Decode one frame.  -1 with EPROTO (length, kind, engine 0 where one is
 * needed, non-zero padding) and the reason in err; EINVAL for NULL. */
int zpar__hb_pipe_decode (const void *buf, size_t len, zpar_hb_pipe_msg_t *m, zpar_error_t *err);
/* Encode and send m as one frame on sock (flags 0 or ZMQ_DONTWAIT).
 * 0 / -1 errno. */
int zpar__hb_pipe_send (void *sock, const zpar_hb_pipe_msg_t *m, int flags);
/* Receive one frame from sock and decode it.  -1 EAGAIN (nothing ready
 * with ZMQ_DONTWAIT), EPROTO (malformed: consumed, err says why). */
int zpar__hb_pipe_recv (void *sock, zpar_hb_pipe_msg_t *m, int flags, zpar_error_t *err);

#endif
