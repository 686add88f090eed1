/* proto_common.c - helpers shared by the typed codecs (proto_*.c). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "proto_common.h"

void zpar__proto_mem_free (zpar_proto_mem_t *mem)
{
    if (mem) {
        int saved = errno;
        for (size_t i = 0; i < mem->n; i++)
            free (mem->p[i]);
        free (mem->p);
        memset (mem, 0, sizeof (*mem));
        errno = saved;
    }
}

void *zpar__proto_mem_alloc (zpar_proto_mem_t *mem, size_t size)
{
    void *p;
    if (mem->n == mem->cap) {
        size_t ncap = mem->cap ? mem->cap * 2 : 8;
        void **np = realloc (mem->p, ncap * sizeof (*np));
        if (!np)
            return NULL;
        mem->p = np;
        mem->cap = ncap;
    }
    if (!(p = calloc (1, size ? size : 1)))
        return NULL;
    mem->p[mem->n++] = p;
    return p;
}

int zpar__proto_begin_decode (const zpar_msg_t *m, zpar_msg_type_t type, zpar_proto_hdr_t *h,
                              zpar_error_t *err)
{
    if (m->hdr.type != type)
        return zpar__errnoprintf (err, EPROTO, "a %s message where a %s was expected",
                                  zpar__msg_type_name (m->hdr.type), zpar__msg_type_name (type));
    h->task.v = m->hdr.task;
    h->engine.v = m->hdr.engine;
    h->client.v = m->hdr.client;
    h->flags = m->hdr.flags;
    return 0;
}

void zpar__proto_begin_encode (zpar_msg_t *m, zpar_msg_type_t type, const zpar_proto_hdr_t *h)
{
    m->hdr.version = ZPAR_PROTO_VERSION;
    m->hdr.type = (uint16_t)type;
    m->hdr.task = h->task.v;
    m->hdr.engine = h->engine.v;
    m->hdr.client = h->client.v;
    m->hdr.flags = h->flags;
    zpar__msg_clear_body (m);
}

static int bad (zpar_error_t *err, zpar_field_t key, const char *what)
{
    return zpar__errnoprintf (err, EPROTO, "field %s (%d) %s", zpar__msg_field_name (key), (int)key,
                              what);
}

int zpar__proto_missing (zpar_error_t *err, zpar_field_t key)
{
    return bad (err, key, "is missing");
}

static int u64_at (const zpar_msg_t *m, zpar_field_t key, size_t idx, uint64_t *v,
                   zpar_error_t *err)
{
    size_t len;
    const uint8_t *p = zpar__msg_get_bytes_at (m, key, idx, &len);
    if (!p)
        return 0;
    if (len != 8)
        return bad (err, key, "is not an 8-byte number");
    *v = 0;
    for (int i = 7; i >= 0; i--)
        *v = (*v << 8) | p[i];
    return 1;
}

int zpar__proto_u64 (const zpar_msg_t *m, zpar_field_t key, uint64_t *v, zpar_error_t *err)
{
    return u64_at (m, key, 0, v, err);
}

int zpar__proto_u32 (const zpar_msg_t *m, zpar_field_t key, uint32_t *v, zpar_error_t *err)
{
    uint64_t x;
    int rc = u64_at (m, key, 0, &x, err);
    if (rc <= 0)
        return rc;
    if (x > UINT32_MAX)
        return bad (err, key, "does not fit 32 bits");
    *v = (uint32_t)x;
    return 1;
}

static int str_at (const zpar_msg_t *m, zpar_field_t key, size_t idx, zpar_proto_mem_t *mem,
                   const char **s, zpar_error_t *err)
{
    size_t len;
    const char *p = zpar__msg_get_bytes_at (m, key, idx, &len);
    char *c;
    if (!p)
        return 0;
    if (memchr (p, '\0', len))
        return bad (err, key, "is a string containing a NUL byte");
    if (!(c = zpar__proto_mem_alloc (mem, len + 1)))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    memcpy (c, p, len);
    c[len] = '\0';
    *s = c;
    return 1;
}

int zpar__proto_str (const zpar_msg_t *m, zpar_field_t key, zpar_proto_mem_t *mem, const char **s,
                     zpar_error_t *err)
{
    return str_at (m, key, 0, mem, s, err);
}

int zpar__proto_strv (const zpar_msg_t *m, zpar_field_t key, zpar_proto_mem_t *mem,
                      const char *const **v, size_t *n, zpar_error_t *err)
{
    size_t cnt = zpar__msg_count (m, key);
    const char **a;
    if (cnt == 0)
        return 0;
    if (!(a = zpar__proto_mem_alloc (mem, (cnt + 1) * sizeof (*a))))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    for (size_t i = 0; i < cnt; i++)
        if (str_at (m, key, i, mem, &a[i], err) < 0)
            return -1;
    a[cnt] = NULL;
    *v = a;
    *n = cnt;
    return 1;
}

int zpar__proto_u64v (const zpar_msg_t *m, zpar_field_t key, zpar_proto_mem_t *mem, uint64_t **v,
                      size_t *n, zpar_error_t *err)
{
    size_t cnt = zpar__msg_count (m, key);
    uint64_t *a;
    if (cnt == 0)
        return 0;
    if (!(a = zpar__proto_mem_alloc (mem, cnt * sizeof (*a))))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    for (size_t i = 0; i < cnt; i++)
        if (u64_at (m, key, i, &a[i], err) < 0)
            return -1;
    *v = a;
    *n = cnt;
    return 1;
}

int zpar__proto_bytes (const zpar_msg_t *m, zpar_field_t key, const void **p, size_t *len)
{
    const void *b = zpar__msg_get_bytes (m, key, len);
    if (!b)
        return 0;
    *p = b;
    return 1;
}

int zpar__proto_enum (const zpar_msg_t *m, zpar_field_t key, const char *const *names, int n,
                      int *v, zpar_error_t *err)
{
    size_t len;
    const char *p = zpar__msg_get_bytes (m, key, &len);
    if (!p)
        return 0;
    for (int i = 1; i < n; i++) {
        if (names[i] && strlen (names[i]) == len && memcmp (names[i], p, len) == 0) {
            *v = i;
            return 1;
        }
    }
    return bad (err, key, "names no known value");
}

void zpar__proto_put_u64 (int *rc, zpar_msg_t *m, zpar_field_t key, uint64_t v)
{
    if (*rc == 0)
        *rc = zpar__msg_add_u64 (m, key, v);
}

void zpar__proto_put_str (int *rc, zpar_msg_t *m, zpar_field_t key, const char *s)
{
    if (*rc == 0)
        *rc = zpar__msg_add_str (m, key, s);
}

void zpar__proto_put_bytes (int *rc, zpar_msg_t *m, zpar_field_t key, const void *p, size_t len)
{
    if (*rc == 0)
        *rc = zpar__msg_add_bytes (m, key, p, len);
}

int zpar__proto_end_encode (zpar_msg_t *m, int rc)
{
    if (rc < 0) {
        int saved = errno;
        zpar__msg_clear_body (m);
        errno = saved;
        return -1;
    }
    return 0;
}
