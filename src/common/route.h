/* route.h - engine routing identities (internal).
 *
 * The controller's ROUTER sockets (task, mux and control queues, hb_pong)
 * route to an engine by the routing identity of its DEALERs.  That
 * identity is no name an engine picks: the registrar draws a fresh one at
 * random for each engine (zpar__route_make) and sends it in the signed
 * register_engine_reply, so only a holder of the cluster key learns it,
 * and a peer without the key cannot claim it before the engine connects.
 *
 * Layout (ZPAR_ROUTE_LEN = 21 bytes): 'E', the engine id (u32
 * little-endian), 16 random bytes.  The id in clear lets a receiver find
 * the engine in O(1); the random part is what proves the identity
 * (compared in constant time against the table).
 *
 * zpar_routes_t is the table engine id -> its current routing identity
 * that each scheduler, relay and the hub keep.  Belongs to one thread.
 * Errors: 0 / -1 with errno (EINVAL bad parameter, ENOMEM).
 */
#ifndef ZPAR__ROUTE_H
#define ZPAR__ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"

#define ZPAR_ROUTE_LEN  21
#define ZPAR_ROUTE_TAG  'E'
#define ZPAR_ROUTE_RAND 16

/* A relay's routing identity (doc/protocol.md, "Relays"): 'R' and 16
 * random bytes, the identity of its upstream DEALERs.  An engine behind a
 * relay is reached by the routing stack [relay id, engine identity]. */
#define ZPAR_RELAY_ID_LEN 17
#define ZPAR_RELAY_TAG    'R'

typedef struct {
    uint8_t b[ZPAR_ROUTE_LEN];
    /* the relay the engine is behind (via[0] == ZPAR_RELAY_TAG), or none
     * (all zero): carried inside the controller only, never in ROUTE */
    uint8_t via[ZPAR_RELAY_ID_LEN];
} zpar_route_t;

/* The packed form of a route inside the controller (its pipes): the
 * identity, then the relay id when there is one. */
#define ZPAR_ROUTE_PACKED_MAX (ZPAR_ROUTE_LEN + ZPAR_RELAY_ID_LEN)

/* A fresh random routing identity for engine id (non-zero), not through
 * a relay (via all zero). */
int zpar__route_make (zpar_eid_t id, zpar_route_t *r);

/* The engine a routing identity names if data is one by its layout
 * (length, tag, non-zero id), else id 0.  Says nothing about whether it
 * is the engine's current identity: see zpar__routes_check. */
zpar_eid_t zpar__route_engine (const void *data, size_t len);

/* Copy data into r if it is a routing identity by its layout; -1 EPROTO
 * if not, EINVAL for NULL. */
int zpar__route_parse (const void *data, size_t len, zpar_route_t *r);

/* 1 if data is a relay id by its layout. */
int zpar__relay_id_is (const void *data, size_t len);
/* 1 if r names a relay (r->via is a relay id). */
int zpar__route_relayed (const zpar_route_t *r);
/* A fresh random relay id into out[ZPAR_RELAY_ID_LEN]; 0 / -1 EIO. */
int zpar__relay_id_make (uint8_t *out);

/* Pack r into out (ZPAR_ROUTE_PACKED_MAX bytes): its length (21 or 38). */
size_t zpar__route_pack (const zpar_route_t *r, uint8_t *out);
/* The reverse: -1 EPROTO unless data is a routing identity, optionally
 * followed by a relay id. */
int zpar__route_unpack (const void *data, size_t len, zpar_route_t *r);

typedef struct zpar_routes zpar_routes_t;

zpar_routes_t *zpar__routes_create (void);
/* NULL-safe, keeps errno. */
void zpar__routes_destroy (zpar_routes_t *t);

/* Set (or replace) the routing identity of the engine r names. */
int zpar__routes_set (zpar_routes_t *t, const zpar_route_t *r);
/* Forget engine id's identity (no error if it had none). */
int zpar__routes_del (zpar_routes_t *t, zpar_eid_t id);
/* Engine id's current identity, NULL if none (or bad parameters). */
const zpar_route_t *zpar__routes_get (const zpar_routes_t *t, zpar_eid_t id);
/* The engine whose current identity data is (constant-time comparison of
 * the random part), id 0 if it is no engine's. */
zpar_eid_t zpar__routes_check (const zpar_routes_t *t, const void *data, size_t len);

/* Receiving from an engine, directly ([identity, ...]) or through a
 * relay ([relay id, identity, ...]).  Strip f (zpar_frames_t *, wire.h)
 * of its relay frame when the first of at least two frames before the
 * delimiter is a relay id: 1 (the id copied to via), else 0 (via zeroed);
 * f then looks as if the engine had sent it directly. */
int zpar__route_frames_strip (void *frames, uint8_t *via);
/* The engine whose current route is the identity data, through the relay
 * via (all zero: directly), id 0 if it is nobody's: an engine behind a
 * relay is heard only through that relay, and one without only directly. */
zpar_eid_t zpar__routes_check_via (const zpar_routes_t *t, const void *data, size_t len,
                                   const uint8_t *via);
/* Both: strip f, then check its frame 0 against t with the relay found. */
zpar_eid_t zpar__routes_check_frames (const zpar_routes_t *t, void *frames);

/* Sending to an engine.  Replace frame 0 of f (zpar_frames_t *) by r's
 * stack: the identity, preceded by the relay id when r is relayed.
 * 0 / -1 (ENOMEM, EMSGSIZE: no room for the frame). */
int zpar__route_frames_set (void *frames, const zpar_route_t *r);
/* Send r's stack as the first frames of a message (ZMQ_SNDMORE added). */
int zpar__route_send_stack (void *sock, const zpar_route_t *r, int flags);

#endif
