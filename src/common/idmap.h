/* idmap.h - an open-addressing hash map from non-zero uint64_t ids to
 * pointers, used for tasks, futures and engines.  Internal. */
#ifndef ZPAR__IDMAP_H
#define ZPAR__IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct zpar_idmap zpar_idmap_t;

zpar_idmap_t *zpar__idmap_create (void);
/* NULL-safe; does not free the values. */
void zpar__idmap_destroy (zpar_idmap_t *m);

/* Insert or replace.  id must be non-zero and val non-NULL (EINVAL).
 * -1 ENOMEM. */
int zpar__idmap_put (zpar_idmap_t *m, uint64_t id, void *val);
void *zpar__idmap_get (const zpar_idmap_t *m, uint64_t id);
/* Remove and return the value (NULL if absent). */
void *zpar__idmap_del (zpar_idmap_t *m, uint64_t id);
size_t zpar__idmap_size (const zpar_idmap_t *m);
/* Remove everything (values are not freed). */
void zpar__idmap_clear (zpar_idmap_t *m);

/* Iterate: start with *pos = 0; returns the next value or NULL at the
 * end, with its id in *id.  The map must not change during iteration
 * (collect ids first, then delete). */
void *zpar__idmap_next (const zpar_idmap_t *m, size_t *pos, uint64_t *id);

#endif
