/* route.c - engine routing identities.  See route.h. */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "idmap.h"
#include "route.h"
#include "wire.h"
#include "zrouter.h"

struct zpar_routes {
    zpar_idmap_t *map; /* engine id -> zpar_route_t * */
};

static void put32 (uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32 (const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int zpar__route_make (zpar_eid_t id, zpar_route_t *r)
{
    if (!r || id.v == 0) {
        errno = EINVAL;
        return -1;
    }
    if (sodium_init () < 0) {
        errno = EIO;
        return -1;
    }
    r->b[0] = ZPAR_ROUTE_TAG;
    put32 (r->b + 1, id.v);
    randombytes_buf (r->b + 5, ZPAR_ROUTE_RAND);
    memset (r->via, 0, sizeof (r->via)); /* straight to the controller */
    return 0;
}

zpar_eid_t zpar__route_engine (const void *data, size_t len)
{
    const uint8_t *p = data;
    if (!p || len != ZPAR_ROUTE_LEN || p[0] != ZPAR_ROUTE_TAG)
        return zpar__eid (0);
    return zpar__eid (get32 (p + 1));
}

int zpar__route_parse (const void *data, size_t len, zpar_route_t *r)
{
    if (!data || !r) {
        errno = EINVAL;
        return -1;
    }
    if (zpar__route_engine (data, len).v == 0) {
        errno = EPROTO;
        return -1;
    }
    memcpy (r->b, data, ZPAR_ROUTE_LEN);
    return 0;
}

zpar_routes_t *zpar__routes_create (void)
{
    zpar_routes_t *t = calloc (1, sizeof (*t));
    if (!t)
        return NULL;
    if (!(t->map = zpar__idmap_create ())) {
        free (t);
        errno = ENOMEM;
        return NULL;
    }
    return t;
}

void zpar__routes_destroy (zpar_routes_t *t)
{
    if (t) {
        int saved = errno;
        size_t pos = 0;
        uint64_t id;
        void *v;
        while ((v = zpar__idmap_next (t->map, &pos, &id)))
            free (v);
        zpar__idmap_destroy (t->map);
        free (t);
        errno = saved;
    }
}

int zpar__routes_set (zpar_routes_t *t, const zpar_route_t *r)
{
    zpar_eid_t id;
    zpar_route_t *v;
    if (!t || !r || (id = zpar__route_engine (r->b, sizeof (r->b))).v == 0) {
        errno = EINVAL;
        return -1;
    }
    if ((v = zpar__idmap_get (t->map, id.v))) {
        *v = *r;
        return 0;
    }
    if (!(v = malloc (sizeof (*v))))
        return -1;
    *v = *r;
    if (zpar__idmap_put (t->map, id.v, v) < 0) {
        free (v);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

int zpar__routes_del (zpar_routes_t *t, zpar_eid_t id)
{
    if (!t || id.v == 0) {
        errno = EINVAL;
        return -1;
    }
    free (zpar__idmap_del (t->map, id.v));
    return 0;
}

const zpar_route_t *zpar__routes_get (const zpar_routes_t *t, zpar_eid_t id)
{
    if (!t || id.v == 0)
        return NULL;
    return zpar__idmap_get (t->map, id.v);
}

zpar_eid_t zpar__routes_check (const zpar_routes_t *t, const void *data, size_t len)
{
    zpar_eid_t id = zpar__route_engine (data, len);
    const zpar_route_t *r = zpar__routes_get (t, id);
    if (!r || sodium_memcmp (r->b, data, ZPAR_ROUTE_LEN) != 0)
        return zpar__eid (0);
    return id;
}

/* ------------------------------------------------------------- relays */

int zpar__relay_id_is (const void *data, size_t len)
{
    const uint8_t *p = data;
    return p && len == ZPAR_RELAY_ID_LEN && p[0] == ZPAR_RELAY_TAG;
}

int zpar__route_relayed (const zpar_route_t *r)
{
    return r && r->via[0] == ZPAR_RELAY_TAG;
}

int zpar__relay_id_make (uint8_t *out)
{
    if (!out) {
        errno = EINVAL;
        return -1;
    }
    if (sodium_init () < 0) {
        errno = EIO;
        return -1;
    }
    out[0] = ZPAR_RELAY_TAG;
    randombytes_buf (out + 1, ZPAR_RELAY_ID_LEN - 1);
    return 0;
}

size_t zpar__route_pack (const zpar_route_t *r, uint8_t *out)
{
    memcpy (out, r->b, ZPAR_ROUTE_LEN);
    if (!zpar__route_relayed (r))
        return ZPAR_ROUTE_LEN;
    memcpy (out + ZPAR_ROUTE_LEN, r->via, ZPAR_RELAY_ID_LEN);
    return ZPAR_ROUTE_PACKED_MAX;
}

int zpar__route_unpack (const void *data, size_t len, zpar_route_t *r)
{
    const uint8_t *p = data;
    if (!data || !r) {
        errno = EINVAL;
        return -1;
    }
    if ((len != ZPAR_ROUTE_LEN && len != ZPAR_ROUTE_PACKED_MAX) ||
        zpar__route_engine (p, ZPAR_ROUTE_LEN).v == 0 ||
        (len == ZPAR_ROUTE_PACKED_MAX &&
         !zpar__relay_id_is (p + ZPAR_ROUTE_LEN, ZPAR_RELAY_ID_LEN))) {
        errno = EPROTO;
        return -1;
    }
    memset (r, 0, sizeof (*r));
    memcpy (r->b, p, ZPAR_ROUTE_LEN);
    if (len == ZPAR_ROUTE_PACKED_MAX)
        memcpy (r->via, p + ZPAR_ROUTE_LEN, ZPAR_RELAY_ID_LEN);
    return 0;
}

int zpar__route_frames_strip (void *frames, uint8_t *via)
{
    zpar_frames_t *f = frames;
    int n = f->delim >= 0 ? f->delim : f->n;
    memset (via, 0, ZPAR_RELAY_ID_LEN);
    if (n < 2 || !zpar__relay_id_is (zmq_msg_data (&f->part[0]), zmq_msg_size (&f->part[0])))
        return 0;
    memcpy (via, zmq_msg_data (&f->part[0]), ZPAR_RELAY_ID_LEN);
    zmq_msg_close (&f->part[0]);
    memmove (&f->part[0], &f->part[1], (size_t)(f->n - 1) * sizeof (f->part[0]));
    f->n--;
    if (f->delim > 0)
        f->delim--;
    return 1;
}

zpar_eid_t zpar__routes_check_via (const zpar_routes_t *t, const void *data, size_t len,
                                   const uint8_t *via)
{
    zpar_eid_t id = zpar__routes_check (t, data, len);
    const zpar_route_t *r = zpar__routes_get (t, id);
    int relayed = via && via[0] == ZPAR_RELAY_TAG;
    if (!r)
        return zpar__eid (0);
    if (relayed ? !zpar__route_relayed (r) || sodium_memcmp (r->via, via, ZPAR_RELAY_ID_LEN) != 0
                : zpar__route_relayed (r))
        return zpar__eid (0);
    return id;
}

zpar_eid_t zpar__routes_check_frames (const zpar_routes_t *t, void *frames)
{
    zpar_frames_t *f = frames;
    uint8_t via[ZPAR_RELAY_ID_LEN];
    (void)zpar__route_frames_strip (f, via);
    if (f->n < 1)
        return zpar__eid (0);
    return zpar__routes_check_via (t, zmq_msg_data (&f->part[0]), zmq_msg_size (&f->part[0]), via);
}

static int set_part (zmq_msg_t *m, const void *data, size_t len)
{
    if (zmq_msg_init_size (m, len) < 0) {
        zmq_msg_init (m);
        return -1;
    }
    memcpy (zmq_msg_data (m), data, len);
    return 0;
}

int zpar__route_frames_set (void *frames, const zpar_route_t *r)
{
    zpar_frames_t *f = frames;
    if (!f || !r || f->n < 1) {
        errno = EINVAL;
        return -1;
    }
    if (zpar__route_relayed (r) && f->n >= ZPAR_MAX_PARTS) {
        errno = EMSGSIZE;
        return -1;
    }
    zmq_msg_close (&f->part[0]);
    if (set_part (&f->part[0], r->b, ZPAR_ROUTE_LEN) < 0)
        return -1;
    if (!zpar__route_relayed (r))
        return 0;
    memmove (&f->part[1], &f->part[0], (size_t)f->n * sizeof (f->part[0]));
    f->n++;
    if (f->delim >= 0)
        f->delim++;
    return set_part (&f->part[0], r->via, ZPAR_RELAY_ID_LEN);
}

int zpar__route_send_stack (void *sock, const zpar_route_t *r, int flags)
{
    if (!sock || !r) {
        errno = EINVAL;
        return -1;
    }
    if (zpar__route_relayed (r) &&
        zpar__sock_send (sock, r->via, ZPAR_RELAY_ID_LEN, flags | ZMQ_SNDMORE) < 0)
        return -1;
    return zpar__sock_send (sock, r->b, ZPAR_ROUTE_LEN, flags | ZMQ_SNDMORE) < 0 ? -1 : 0;
}
