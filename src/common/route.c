/* route.c - engine routing identities.  See route.h. */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "route.h"

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
