/* hub_fixture.c - registrations and task requests for the hub's unit
 * tests (see hub_fixture.h). */
#include "config.h"

#include "hub_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto_task.h"
#include "registrar.h"

zpar_msg_t *hfx_engine_req (const char *peer, const hfx_engine_t *e)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_REGISTER_ENGINE);
    if (!m)
        return NULL;
    zpar__msg_push_ident (m, peer, strlen (peer));
    if (e->uuid)
        zpar__msg_add_str (m, ZPAR_F_ENGINE_UUID, e->uuid);
    zpar__msg_add_str (m, ZPAR_F_HOST, e->host);
    zpar__msg_add_u64 (m, ZPAR_F_PID, e->pid);
    zpar__msg_add_u64 (m, ZPAR_F_RANK, e->rank);
    if (e->want)
        zpar__msg_add_u64 (m, ZPAR_F_ENGINE_ID, e->want);
    for (size_t i = 0; i < e->nheld; i++)
        zpar__msg_add_u64 (m, ZPAR_F_HELD, e->held[i]);
    return m;
}

zpar_msg_t *hfx_engine_register (zpar_hub_t *h, const char *peer, const hfx_engine_t *e)
{
    zpar_msg_t *m = hfx_engine_req (peer, e), *r = NULL;
    if (!m)
        return NULL;
    if (zpar__registrar_handle (h, m, &r) < 0)
        r = NULL;
    zpar__msg_destroy (m);
    return r;
}

const char *hfx_drops (const zpar_msg_t *r)
{
    static char buf[128];
    size_t n = r ? zpar__msg_count (r, ZPAR_F_DROP) : 0, pos = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && pos < sizeof (buf) - 24; i++) {
        uint64_t v = 0;
        (void)zpar__msg_get_u64_at (r, ZPAR_F_DROP, i, &v);
        pos += (size_t)snprintf (buf + pos, sizeof (buf) - pos, "%s%llu", i ? "," : "",
                                 (unsigned long long)v);
    }
    return buf;
}

uint8_t *hfx_pack_task (uint64_t id, uint32_t engine, size_t *len)
{
    static const char *const argv[] = {"true"};
    zpar_proto_task_t t = {
        .h = {.task = {id}, .engine = {engine}, .client = {7}},
        .kind = ZPAR_TASK_COMMAND,
        .argv = argv,
        .argc = 1,
    };
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_TASK);
    uint8_t *buf = NULL;
    if (!m || zpar__proto_task_encode (m, &t) < 0 || zpar__msg_pack (m, &buf, len) < 0)
        buf = NULL;
    zpar__msg_destroy (m);
    return buf;
}

void hfx_unlink_db (const char *path)
{
    char side[512];
    unlink (path);
    snprintf (side, sizeof (side), "%s-wal", path);
    unlink (side);
    snprintf (side, sizeof (side), "%s-shm", path);
    unlink (side);
}
