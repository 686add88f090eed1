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
 * See doc/protocol.md, "Heartbeat".
 */
#ifndef ZPAR__PROTO_HB_H
#define ZPAR__PROTO_HB_H

#include <stddef.h>
#include <stdint.h>

#include "zpar/error.h"

#define ZPAR_HB_PING_LEN 24

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

#endif
