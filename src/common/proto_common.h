/* proto_common.h - what every typed codec (proto_*.h) shares.
 *
 * The codec layers (doc/protocol.md, "Codec layers"):
 *   msg.c          the field frame layer: header + a body of (key, length,
 *                  bytes) fields, with bounds-checked getters;
 *   wire.c         signing, verification, replay protection, socket I/O;
 *   proto_*.c      one typed codec per message kind: a C struct <-> the
 *                  fields of one message type.
 *
 * Encoders: int zpar__proto_X_encode (zpar_msg_t *m, const X_t *x)
 *   set m's type and its task / engine / client / flags header fields from
 *   x->h, and replace m's body with the fields of x.  m's routing envelope
 *   is kept (IOPub and notify encoders set their topic frame instead).  The
 *   session, seq and time fields are stamped by zpar__wire_send.
 *   0, or -1 with errno EINVAL (bad parameter), ENOMEM, EMSGSIZE; on
 *   failure m's body is left empty.
 *
 * Decoders: int zpar__proto_X_decode (const zpar_msg_t *m, X_t *x,
 *                                     zpar_error_t *err)
 *   fill x from m (x is overwritten without being freed: clear it first if
 *   it holds an earlier decode).  Strict and bounds-checked: a message of
 *   another type, a u64 field that is not 8 bytes, a string containing a
 *   NUL, an id out of range, an unknown enum value or name, a missing
 *   required field: -1 with errno EPROTO and the reason in err (the one
 *   malformed path).  -1 EINVAL for NULL m or x, ENOMEM.  On failure x is
 *   left cleared (nothing to free).
 *   Ownership: strings and lists (argv, env, after, targets, engine
 *   records) are copies owned by x, NUL-terminated, freed by
 *   zpar__proto_X_clear (x).  Byte fields (input, stdout, stderr, output,
 *   data, record) are NOT copied: they point into m's body and are valid
 *   while m lives and is not reset or reused.
 *   Fields of other message kinds and unknown keys are ignored (forward
 *   compatibility); a single-valued field that repeats counts by its first
 *   occurrence (as the msg.h getters do).
 *
 * Thread-safety: none needed (no shared state).
 */
#ifndef ZPAR__PROTO_COMMON_H
#define ZPAR__PROTO_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "msg.h"
#include "zpar/error.h"

/* The header fields a codec sets and reads (the rest belongs to wire.c). */
typedef struct {
    zpar_tid_t task;
    zpar_eid_t engine;
    zpar_cid_t client;
    uint32_t flags; /* tasks and results: attempt number in bits 0-7 */
} zpar_proto_hdr_t;

/* Memory a decoded struct owns (private to the codecs). */
typedef struct {
    void **p;
    size_t n;
    size_t cap;
} zpar_proto_mem_t;

/* ------------------------------------------------------------------
 * Internal helpers of the proto_*.c files.  Getters return 1 when the
 * field is present, 0 when absent (output untouched), -1 with EPROTO and
 * err filled when malformed (or ENOMEM). */

void zpar__proto_mem_free (zpar_proto_mem_t *mem);
void *zpar__proto_mem_alloc (zpar_proto_mem_t *mem, size_t size);

/* Check m's type; fill h from its header. */
int zpar__proto_begin_decode (const zpar_msg_t *m, zpar_msg_type_t type, zpar_proto_hdr_t *h,
                              zpar_error_t *err);
/* Set m's type and header ids and empty its body (keeps the envelope). */
void zpar__proto_begin_encode (zpar_msg_t *m, zpar_msg_type_t type, const zpar_proto_hdr_t *h);

int zpar__proto_u64 (const zpar_msg_t *m, zpar_field_t key, uint64_t *v, zpar_error_t *err);
/* u64 that must fit 32 bits (engine ids, client numbers, counts). */
int zpar__proto_u32 (const zpar_msg_t *m, zpar_field_t key, uint32_t *v, zpar_error_t *err);
/* String copied into mem, NUL-terminated; EPROTO if it contains a NUL. */
int zpar__proto_str (const zpar_msg_t *m, zpar_field_t key, zpar_proto_mem_t *mem, const char **s,
                     zpar_error_t *err);
/* All occurrences of a string field as a NULL-terminated array in mem. */
int zpar__proto_strv (const zpar_msg_t *m, zpar_field_t key, zpar_proto_mem_t *mem,
                      const char *const **v, size_t *n, zpar_error_t *err);
/* All occurrences of a u64 field (u32 when max32) as an array in mem. */
int zpar__proto_u64v (const zpar_msg_t *m, zpar_field_t key, zpar_proto_mem_t *mem, uint64_t **v,
                      size_t *n, zpar_error_t *err);
/* Bytes borrowed from m. */
int zpar__proto_bytes (const zpar_msg_t *m, zpar_field_t key, const void **p, size_t *len);

/* A string field naming one of names[1..n-1] (names[0] unused): *v is its
 * index.  An unknown name is malformed. */
int zpar__proto_enum (const zpar_msg_t *m, zpar_field_t key, const char *const *names, int n,
                      int *v, zpar_error_t *err);

/* Missing required field: the malformed path. */
int zpar__proto_missing (zpar_error_t *err, zpar_field_t key);

/* Encoding: append only when the previous appends succeeded (*rc == 0). */
void zpar__proto_put_u64 (int *rc, zpar_msg_t *m, zpar_field_t key, uint64_t v);
void zpar__proto_put_str (int *rc, zpar_msg_t *m, zpar_field_t key, const char *s);
void zpar__proto_put_bytes (int *rc, zpar_msg_t *m, zpar_field_t key, const void *p, size_t len);
/* Finish an encoder: on failure empty m's body and return -1. */
int zpar__proto_end_encode (zpar_msg_t *m, int rc);

#endif
