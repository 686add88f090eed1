/* ids.h - typed ids: engine, task and client ids wrapped in one-member
 * structs (as nng does), so that the compiler rejects passing an engine id
 * where a task id is expected.  Internal; the public API has its own
 * zpar_task_id_t / zpar_engine_id_t in include/zpar.h.
 *
 * On the wire (doc/protocol.md) an engine id and a client number are u32
 * header fields and u64 body fields; a task id is u64:
 * (client number << 32) | sequence.  0 means "none" for all three.
 */
#ifndef ZPAR__IDS_H
#define ZPAR__IDS_H

#include <stdint.h>

typedef struct {
    uint32_t v;
} zpar_eid_t; /* engine id */

/* Engine ids are 1 .. ZPAR_ENGINE_ID_MAX: a controller refuses an engine
 * asking for a higher one (its tables must not follow ids a peer picks). */
#define ZPAR_ENGINE_ID_MAX 65535u

typedef struct {
    uint64_t v;
} zpar_tid_t; /* task id */

typedef struct {
    uint32_t v;
} zpar_cid_t; /* client number */

static inline zpar_eid_t zpar__eid (uint32_t v)
{
    return (zpar_eid_t){v};
}

static inline zpar_tid_t zpar__tid (uint64_t v)
{
    return (zpar_tid_t){v};
}

static inline zpar_cid_t zpar__cid (uint32_t v)
{
    return (zpar_cid_t){v};
}

/* The task id of a client's seq-th task. */
static inline zpar_tid_t zpar__tid_make (zpar_cid_t c, uint32_t seq)
{
    return (zpar_tid_t){((uint64_t)c.v << 32) | seq};
}

/* The client that submitted task t, and its sequence number there. */
static inline zpar_cid_t zpar__tid_client (zpar_tid_t t)
{
    return (zpar_cid_t){(uint32_t)(t.v >> 32)};
}

static inline uint32_t zpar__tid_seq (zpar_tid_t t)
{
    return (uint32_t)(t.v & 0xffffffffu);
}

static inline int zpar__eid_eq (zpar_eid_t a, zpar_eid_t b)
{
    return a.v == b.v;
}

static inline int zpar__tid_eq (zpar_tid_t a, zpar_tid_t b)
{
    return a.v == b.v;
}

static inline int zpar__cid_eq (zpar_cid_t a, zpar_cid_t b)
{
    return a.v == b.v;
}

#endif
