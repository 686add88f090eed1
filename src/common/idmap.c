/* idmap.c - open addressing with linear probing and backward-shift
 * deletion (no tombstones). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "idmap.h"

typedef struct {
    uint64_t id;
    void *val;
} slot_t;

struct zpar_idmap {
    slot_t *slots;
    size_t cap; /* power of two */
    size_t n;
};

static inline size_t hash (uint64_t id, size_t cap)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdull;
    id ^= id >> 33;
    return (size_t)id & (cap - 1);
}

zpar_idmap_t *zpar__idmap_create (void)
{
    zpar_idmap_t *m = calloc (1, sizeof (*m));
    if (!m)
        return NULL;
    m->cap = 64;
    if (!(m->slots = calloc (m->cap, sizeof (slot_t)))) {
        free (m);
        return NULL;
    }
    return m;
}

void zpar__idmap_destroy (zpar_idmap_t *m)
{
    if (m) {
        free (m->slots);
        free (m);
    }
}

static int grow (zpar_idmap_t *m)
{
    size_t ncap = m->cap * 2;
    slot_t *ns = calloc (ncap, sizeof (slot_t));
    if (!ns)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].id) {
            size_t j = hash (m->slots[i].id, ncap);
            while (ns[j].id)
                j = (j + 1) & (ncap - 1);
            ns[j] = m->slots[i];
        }
    }
    free (m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int zpar__idmap_put (zpar_idmap_t *m, uint64_t id, void *val)
{
    size_t i;
    if (!m || id == 0 || !val) {
        errno = EINVAL;
        return -1;
    }
    if ((m->n + 1) * 4 > m->cap * 3 && grow (m) < 0)
        return -1;
    i = hash (id, m->cap);
    while (m->slots[i].id && m->slots[i].id != id)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].id)
        m->n++;
    m->slots[i].id = id;
    m->slots[i].val = val;
    return 0;
}

void *zpar__idmap_get (const zpar_idmap_t *m, uint64_t id)
{
    size_t i;
    if (!m || id == 0)
        return NULL;
    i = hash (id, m->cap);
    while (m->slots[i].id) {
        if (m->slots[i].id == id)
            return m->slots[i].val;
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

void *zpar__idmap_del (zpar_idmap_t *m, uint64_t id)
{
    size_t i, j;
    void *val;
    if (!m || id == 0)
        return NULL;
    i = hash (id, m->cap);
    while (m->slots[i].id && m->slots[i].id != id)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].id)
        return NULL;
    val = m->slots[i].val;
    m->slots[i].id = 0;
    m->slots[i].val = NULL;
    m->n--;
    /* backward shift: re-place the rest of the cluster */
    j = (i + 1) & (m->cap - 1);
    while (m->slots[j].id) {
        slot_t s = m->slots[j];
        size_t k;
        m->slots[j].id = 0;
        m->slots[j].val = NULL;
        k = hash (s.id, m->cap);
        while (m->slots[k].id)
            k = (k + 1) & (m->cap - 1);
        m->slots[k] = s;
        j = (j + 1) & (m->cap - 1);
    }
    return val;
}

size_t zpar__idmap_size (const zpar_idmap_t *m)
{
    return m ? m->n : 0;
}

void zpar__idmap_clear (zpar_idmap_t *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        m->slots[i].id = 0;
        m->slots[i].val = NULL;
    }
    m->n = 0;
}

void *zpar__idmap_next (const zpar_idmap_t *m, size_t *pos, uint64_t *id)
{
    while (*pos < m->cap) {
        size_t i = (*pos)++;
        if (m->slots[i].id) {
            if (id)
                *id = m->slots[i].id;
            return m->slots[i].val;
        }
    }
    return NULL;
}
