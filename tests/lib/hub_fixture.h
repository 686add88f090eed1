/* hub_fixture.h - what the hub's unit tests share (test_registrar,
 * test_hub_held, test_hub_hostlost): an engine's registration through the
 * registrar of a hub without sockets, the tasks it is told to drop, a
 * packed task request, and removing the records' database.  Test code
 * only: these never emit a test line.  Needs src/controller on the
 * include path and libzpar_core. */
#ifndef ZPAR_HUB_FIXTURE_H
#define ZPAR_HUB_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "msg.h"

/* What an engine says when it registers. */
typedef struct {
    const char *uuid;     /* ENGINE_UUID; NULL: none */
    const char *host;     /* HOST */
    uint64_t pid;         /* PID */
    uint64_t rank;        /* RANK */
    uint64_t want;        /* ENGINE_ID, the id it asks for; 0: none */
    const uint64_t *held; /* HELD: the tasks it holds, held[0..nheld) */
    size_t nheld;
} hfx_engine_t;

/* A REGISTER_ENGINE request from peer (its routing identity) as e says;
 * the caller destroys it.  NULL when it cannot be made. */
zpar_msg_t *hfx_engine_req (const char *peer, const hfx_engine_t *e);

/* hfx_engine_req handled by the registrar of h: its reply (NULL if none,
 * or when the request cannot be made); the caller destroys it. */
zpar_msg_t *hfx_engine_register (zpar_hub_t *h, const char *peer, const hfx_engine_t *e);

/* The DROP ids of a registration reply r, as "a,b,c" ("" for none or a
 * NULL r), in a static buffer. */
const char *hfx_drops (const zpar_msg_t *r);

/* A packed command task request "true" for task id from client 7,
 * addressed to engine (a direct task; 0: load-balanced).  The caller
 * frees it; NULL when it cannot be made. */
uint8_t *hfx_pack_task (uint64_t id, uint32_t engine, size_t *len);

/* Remove the records' database path and its -wal and -shm files. */
void hfx_unlink_db (const char *path);

#endif
