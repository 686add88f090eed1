/* proto_record.h - the stored form of a task's request and result in the
 * task records (internal; records.c).
 *
 * The hub receives a request or a result packed (zpar__msg_pack: the
 * 48-byte header || the body of fields "key u16, length u32, value").
 * The records keep it in a compact form that gives back the same packed
 * message, with two exceptions documented here: the header's session and
 * seq (the sender's replay counters, meaningless once stored) come back
 * as 0, and its task id comes back as the one the caller gives (the
 * record's row id).  The compact form:
 *
 *   version 1 (u8)
 *   type, flags, engine, client (varints), time_us as a zigzag varint of
 *   its difference to the base time the caller gives
 *   then each field of the body, in order (repeated fields kept):
 *     varint (key << 2 | mode), then
 *       mode 0: varint length, the value's bytes
 *       mode 1: a u64 value (8 bytes) as a varint
 *       mode 2: a u64 value as a zigzag varint of its difference to the
 *               base time (timestamps: a few bytes instead of 8)
 *
 * Bytes that are not a packed message of this protocol version (shorter
 * than a header, another version, a malformed body) are kept as they
 * are: 0 (u8), then the bytes.
 *
 * A no-op request shrinks from 128 to about 50 bytes, its result from
 * 210 to about 45.  Nothing is interpreted: any well-formed body round
 * trips.  Errors: -1 with errno (EINVAL bad arguments, EPROTO a packed
 * message or compact form that is malformed, ENOMEM).
 */
#ifndef ZPAR__PROTO_RECORD_H
#define ZPAR__PROTO_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* The most bytes the compact form of a len-byte packed message takes. */
#define ZPAR_RECORD_MAX(len) ((len) + (len) / 64 + 64)

/* Write the compact form of packed message p (len bytes) into out (room
 * for ZPAR_RECORD_MAX (len) bytes); *outlen its length.  -1 EINVAL only
 * (anything else is kept, raw if need be). */
int zpar__record_compact (const void *p, size_t len, uint64_t base_us, uint8_t *out,
                          size_t *outlen);

/* The packed message back from the compact form c (clen bytes), with
 * task id task: malloc'd in *out (the caller frees), *outlen. */
int zpar__record_expand (const void *c, size_t clen, uint64_t task, uint64_t base_us, uint8_t **out,
                         size_t *outlen);

#endif
