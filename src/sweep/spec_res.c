/* spec_res.c - a sweep's resource keys (doc/sweeps.md "Resources"):
 * cores:, gpus:, memory:, ranks:, nodes:, ranks-per-node:, each a
 * template on the parameters (like the other keys) whose expansion is
 * what `zpar submit` takes (zpar_resources_set). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "proto_task.h"
#include "spec_internal.h"

const char *const zpar__sweep_res_keys[ZPAR_SWEEP_NRES] = {
    "cores", "gpus", "memory", "ranks", "nodes", "ranks-per-node",
};

int zpar__sweep_spec_res (const zpar_sweep_spec_t *s, const char *const *vals, uint64_t index,
                          zpar_resources_t *r, zpar_error_t *err)
{
    zpar_error_t sub = {{0}};
    int any = 0;
    memset (r, 0, sizeof (*r));
    for (int i = 0; i < ZPAR_SWEEP_NRES; i++) {
        char *x;
        int rc;
        if (!s->res[i])
            continue;
        any = 1;
        if (!(x = zpar__tmpl_expand (s->res[i], (const char **)vals, ZPAR_TMPL_RAW)))
            return zpar__errnoprintf (err, ENOMEM, "out of memory");
        rc = zpar__resources_set (r, zpar__sweep_res_keys[i], x, &sub);
        free (x);
        if (rc < 0)
            return zpar__errnoprintf (err, EINVAL, "point %" PRIu64 ": %s", index, sub.text);
    }
    if (any && (r->nodes || r->ranks_per_node) && !r->ranks)
        return zpar__errnoprintf (
            err, EINVAL, "point %" PRIu64 ": nodes: and ranks-per-node: go with ranks:", index);
    return any;
}

zpar_sweep_iter_t *zpar__spec_first_vals (zpar_sweep_spec_t *s, const char ***vals, char *idx,
                                          uint64_t *index)
{
    zpar_sweep_iter_t *it = zpar__sweep_spec_iter_create (s);
    const zpar_sweep_point_t *pt = it ? zpar__sweep_iter_next (it) : NULL;
    const char **v = pt ? calloc (s->nnames, sizeof (*v)) : NULL;
    if (!v) {
        zpar__sweep_iter_destroy (it);
        return NULL;
    }
    for (size_t k = 0; k < pt->nvalues; k++)
        v[k] = pt->values[k];
    snprintf (idx, 32, "%llu", (unsigned long long)pt->index);
    v[s->nnames - 2] = idx;
    v[s->nnames - 1] = s->name;
    *vals = v;
    *index = pt->index;
    return it;
}

int zpar__spec_load_res (ctx_t *c, yaml_node_t *n, int i)
{
    zpar_sweep_spec_t *s = c->spec;
    zpar_sweep_iter_t *it;
    zpar_resources_t r;
    zpar_error_t sub = {{0}};
    const char **vals;
    char idx[32];
    uint64_t index;
    int rc;
    if (zpar__spec_want_scalar (c, n, zpar__sweep_res_keys[i]) < 0)
        return -1;
    if (!(s->res[i] =
              zpar__spec_compile (c, n, zpar__sweep_res_keys[i], sval (n), s->names, s->nnames)))
        return -1;
    /* checked on the first point (with the keys loaded so far) */
    if (!(it = zpar__spec_first_vals (s, &vals, idx, &index)))
        return zpar__spec_fail (c, n->start_mark, ENOMEM, "out of memory");
    rc = zpar__sweep_spec_res (s, vals, index, &r, &sub);
    free (vals);
    zpar__sweep_iter_destroy (it);
    if (rc < 0)
        return zpar__spec_fail (c, n->start_mark, EINVAL, "%s", sub.text);
    return 0;
}
