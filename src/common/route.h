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

typedef struct {
    uint8_t b[ZPAR_ROUTE_LEN];
} zpar_route_t;

/* A fresh random routing identity for engine id (non-zero). */
int zpar__route_make (zpar_eid_t id, zpar_route_t *r);

/* The engine a routing identity names if data is one by its layout
 * (length, tag, non-zero id), else id 0.  Says nothing about whether it
 * is the engine's current identity: see zpar__routes_check. */
zpar_eid_t zpar__route_engine (const void *data, size_t len);

/* Copy data into r if it is a routing identity by its layout; -1 EPROTO
 * if not, EINVAL for NULL. */
int zpar__route_parse (const void *data, size_t len, zpar_route_t *r);

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

#endif
