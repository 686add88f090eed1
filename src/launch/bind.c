/* bind.c - pinning engines to CPUs (and GPUs) with hwloc: policies, and
 * computing, applying and reporting a binding (the topology is bind_topo.c). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bind_impl.h"
#include "error.h"

struct zpar_binding {
    zpar_bind_params_t params;
    hwloc_bitmap_t cpuset;
    char *cpulist;
    bool oversubscribed;
    bool gpus_shared;
    int ngpus;
    int *gpu_node_index;
    zpar_gpu_t *gpus;
    char *visible[ZPAR_GPU_KIND_COUNT]; /* NULL = leave the variable alone */
};

static const char *policy_names[ZPAR_BIND_POLICY_COUNT] = {
    "core", "l3", "numa", "socket", "none",
};

static const char *gpu_env_names[ZPAR_GPU_KIND_COUNT] = {
    "CUDA_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
};

static const char *gpu_kind_names[ZPAR_GPU_KIND_COUNT] = {"cuda", "rocm"};

int zpar__bind_policy_parse (const char *s, zpar_bind_policy_t *policy, zpar_error_t *err)
{
    if (s) {
        for (int i = 0; i < ZPAR_BIND_POLICY_COUNT; i++) {
            if (strcmp (s, policy_names[i]) == 0) {
                if (policy)
                    *policy = (zpar_bind_policy_t)i;
                return 0;
            }
        }
    }
    return zpar__errnoprintf (err, EINVAL,
                              "unknown bind policy '%s': use core, l3, numa, socket or none",
                              s ? s : "(null)");
}

const char *zpar__bind_policy_name (zpar_bind_policy_t policy)
{
    if ((int)policy < 0 || policy >= ZPAR_BIND_POLICY_COUNT)
        return "?";
    return policy_names[policy];
}

void zpar__bind_params_init (zpar_bind_params_t *p)
{
    if (!p)
        return;
    p->policy = ZPAR_BIND_CORE;
    p->cores_per_engine = 1;
    p->gpus_per_engine = 0;
    p->local_rank = 0;
    p->local_size = 1;
}

const char *zpar__gpu_env_name (zpar_gpu_kind_t kind)
{
    if ((int)kind < 0 || kind >= ZPAR_GPU_KIND_COUNT)
        return NULL;
    return gpu_env_names[kind];
}

/* Binding computation */

/* Parse an explicit allowed set: a non-empty subset of the topology's allowed
 * cpuset written as a list ("0-3,8").  New bitmap, or NULL with errno. */
static hwloc_bitmap_t parse_allowed (const zpar_topo_t *topo, const char *s, zpar_error_t *err)
{
    hwloc_const_cpuset_t tallowed = hwloc_topology_get_allowed_cpuset (topo->t);
    hwloc_bitmap_t set = NULL;
    char *tlist = NULL;
    const char *p;
    int prev_digit = 0;

    for (p = s; *p; p++) {
        if (*p >= '0' && *p <= '9')
            prev_digit = 1;
        else if ((*p == ',' || *p == '-') && prev_digit)
            prev_digit = 0;
        else
            break;
    }
    if (*p || !prev_digit) {
        zpar__errnoprintf (err, EINVAL,
                           "invalid allowed cpuset '%s': expected a CPU list like 0-7,16", s);
        return NULL;
    }
    if (!(set = hwloc_bitmap_alloc ()))
        goto nomem;
    if (hwloc_bitmap_list_sscanf (set, s) < 0) {
        zpar__errnoprintf (err, EINVAL,
                           "invalid allowed cpuset '%s': expected a CPU list like 0-7,16", s);
        goto error;
    }
    if (!hwloc_bitmap_isincluded (set, tallowed)) {
        if (!(tlist = zpar__bind_list_string (tallowed)))
            goto nomem;
        zpar__errnoprintf (err, EINVAL,
                           "allowed cpuset '%s' is not inside the topology's allowed cpus %s", s,
                           tlist);
        goto error;
    }
    return set;
nomem:
    zpar__errnoprintf (err, ENOMEM, "out of memory");
error:
    free (tlist);
    hwloc_bitmap_free (set);
    return NULL;
}

static void free_units (hwloc_bitmap_t *units, int n)
{
    if (units) {
        for (int i = 0; i < n; i++)
            hwloc_bitmap_free (units[i]);
        free (units);
    }
}

/* Split allowed into the units of policy p (see bind.h).  On success
 * *unitsp is a new array of *nunitsp > 0 new bitmaps. */
static int build_units (const zpar_topo_t *topo, const zpar_bind_params_t *p,
                        hwloc_const_bitmap_t allowed, hwloc_bitmap_t **unitsp, int *nunitsp,
                        zpar_error_t *err)
{
    hwloc_topology_t t = topo->t;
    hwloc_bitmap_t *units = NULL;
    hwloc_obj_t *objs = NULL;
    int n = 0, nobjs = 0, total;
    hwloc_obj_type_t type;
    char *alist = NULL;

    if (p->policy == ZPAR_BIND_NONE) {
        if (!(units = calloc (1, sizeof (*units))) || !(units[0] = hwloc_bitmap_dup (allowed)))
            goto nomem;
        *unitsp = units;
        *nunitsp = 1;
        return 0;
    }
    switch (p->policy) {
    case ZPAR_BIND_CORE:
        type = hwloc_get_nbobjs_by_type (t, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
        break;
    case ZPAR_BIND_L3:
        type = HWLOC_OBJ_L3CACHE;
        break;
    case ZPAR_BIND_NUMA:
        type = HWLOC_OBJ_NUMANODE;
        break;
    default:
        type = HWLOC_OBJ_PACKAGE;
        break;
    }
    total = hwloc_get_nbobjs_by_type (t, type);
    if (total <= 0) {
        zpar__errnoprintf (err, ENOENT,
                           "bind policy %s: the topology has no %s objects: use another --bind",
                           policy_names[p->policy], hwloc_obj_type_string (type));
        return -1;
    }
    /* The objects with at least one allowed PU, distinct within allowed. */
    if (!(objs = calloc ((size_t)total, sizeof (*objs))) ||
        !(units = calloc ((size_t)total, sizeof (*units))))
        goto nomem;
    for (int i = 0; i < total; i++) {
        hwloc_obj_t o = hwloc_get_obj_by_type (t, type, (unsigned)i);
        hwloc_bitmap_t set;
        int dup = 0;

        if (!o || !o->cpuset || !hwloc_bitmap_intersects (o->cpuset, allowed))
            continue;
        if (!(set = hwloc_bitmap_alloc ()))
            goto nomem;
        if (hwloc_bitmap_and (set, o->cpuset, allowed) < 0) {
            hwloc_bitmap_free (set);
            goto nomem;
        }
        for (int j = 0; j < nobjs && !dup; j++)
            dup = hwloc_bitmap_isequal (units[j], set);
        if (dup) {
            hwloc_bitmap_free (set);
            continue;
        }
        objs[nobjs] = o;
        units[nobjs++] = set;
    }
    if (nobjs == 0) {
        if (!(alist = zpar__bind_list_string (allowed)))
            goto nomem;
        zpar__errnoprintf (err, EINVAL, "bind policy %s: no %s object has a cpu in %s",
                           policy_names[p->policy], hwloc_obj_type_string (type), alist);
        goto error;
    }
    if (p->policy != ZPAR_BIND_CORE) {
        n = nobjs;
    } else {
        /* Merge consecutive cores into blocks of cores_per_engine. */
        int nblocks = nobjs / p->cores_per_engine;
        if (nblocks == 0) {
            if (!(alist = zpar__bind_list_string (allowed)))
                goto nomem;
            zpar__errnoprintf (err, EINVAL,
                               "cores-per-engine %d but only %d allowed core%s (cpus %s)",
                               p->cores_per_engine, nobjs, nobjs == 1 ? "" : "s", alist);
            goto error;
        }
        for (int b = 0; b < nblocks; b++) {
            /* units[b] becomes the union of cores b*cpe .. b*cpe+cpe-1;
             * b*cpe >= b so the sources are still unmerged. */
            int first = b * p->cores_per_engine;
            if (b != first && hwloc_bitmap_copy (units[b], units[first]) < 0)
                goto nomem;
            for (int k = 1; k < p->cores_per_engine; k++)
                if (hwloc_bitmap_or (units[b], units[b], units[first + k]) < 0)
                    goto nomem;
        }
        n = nblocks;
    }
    for (int i = n; i < nobjs; i++) {
        hwloc_bitmap_free (units[i]);
        units[i] = NULL;
    }
    free (objs);
    *unitsp = units;
    *nunitsp = n;
    return 0;
nomem:
    zpar__errnoprintf (err, ENOMEM, "out of memory");
error:
    free (alist);
    free (objs);
    free_units (units, nobjs > 0 ? nobjs : (p->policy == ZPAR_BIND_NONE ? 1 : 0));
    return -1;
}

/* Give the GPUs (see bind.h).  Fills b->gpus etc. for engine p->local_rank. */
static int assign_gpus (const zpar_topo_t *topo, const zpar_bind_params_t *p, hwloc_bitmap_t *units,
                        int nunits, zpar_binding_t *b, zpar_error_t *err)
{
    int ng = topo->ngpus, ne = p->local_size, want = p->gpus_per_engine;
    int *usage = NULL;
    char *held = NULL, *local = NULL, *served = NULL;

    if (ng == 0)
        return zpar__errnoprintf (err, ENODEV,
                                  "gpus-per-engine %d but no CUDA or ROCm GPU was found "
                                  "(hwloc needs its cuda, nvml or rsmi plugin)",
                                  want);
    if (want > ng)
        return zpar__errnoprintf (err, EINVAL, "gpus-per-engine %d but this node has %d GPU%s",
                                  want, ng, ng == 1 ? "" : "s");
    if (!(usage = calloc ((size_t)ng, sizeof (*usage))) ||
        !(held = calloc ((size_t)ne * (size_t)ng, 1)) ||
        !(local = calloc ((size_t)ne * (size_t)ng, 1)) || !(served = calloc ((size_t)ne, 1)) ||
        !(b->gpu_node_index = calloc ((size_t)want, sizeof (int))) ||
        !(b->gpus = calloc ((size_t)want, sizeof (zpar_gpu_t))))
        goto nomem;
    for (int e = 0; e < ne; e++)
        for (int g = 0; g < ng; g++)
            local[e * ng + g] = (char)hwloc_bitmap_intersects (units[e % nunits], topo->gpu_loc[g]);
    for (int round = 0; round < want; round++) {
        memset (served, 0, (size_t)ne);
        for (int pass = 0; pass < 2; pass++) {
            for (int e = 0; e < ne; e++) {
                int best = -1, minuse = INT_MAX;
                if (served[e])
                    continue;
                for (int g = 0; g < ng; g++)
                    if (!held[e * ng + g] && usage[g] < minuse)
                        minuse = usage[g];
                for (int g = 0; g < ng; g++) {
                    if (held[e * ng + g])
                        continue;
                    if (pass == 0) {
                        /* a local GPU that is among the least used */
                        if (local[e * ng + g] && usage[g] == minuse) {
                            best = g;
                            break;
                        }
                    } else if (best < 0 || usage[g] < usage[best] ||
                               (usage[g] == usage[best] && local[e * ng + g] &&
                                !local[e * ng + best])) {
                        best = g;
                    }
                }
                if (best < 0)
                    continue;
                served[e] = 1;
                held[e * ng + best] = 1;
                usage[best]++;
                if (e == p->local_rank) {
                    b->gpu_node_index[b->ngpus] = best;
                    b->gpus[b->ngpus++] = topo->gpus[best];
                }
            }
        }
    }
    for (int i = 0; i < b->ngpus; i++)
        if (usage[b->gpu_node_index[i]] > 1)
            b->gpus_shared = true;
    /* The *_VISIBLE_DEVICES values, for the kinds present on the node. */
    for (int k = 0; k < ZPAR_GPU_KIND_COUNT; k++) {
        size_t len = 0, size = 1;
        int present = 0;
        for (int g = 0; g < ng; g++)
            present |= topo->gpus[g].kind == (zpar_gpu_kind_t)k;
        if (!present)
            continue;
        size += (size_t)b->ngpus * 12;
        if (!(b->visible[k] = malloc (size)))
            goto nomem;
        b->visible[k][0] = '\0';
        for (int i = 0; i < b->ngpus; i++) {
            if (b->gpus[i].kind != (zpar_gpu_kind_t)k)
                continue;
            len += (size_t)snprintf (b->visible[k] + len, size - len, "%s%d", len ? "," : "",
                                     b->gpus[i].index);
        }
    }
    free (usage);
    free (held);
    free (local);
    free (served);
    return 0;
nomem:
    free (usage);
    free (held);
    free (local);
    free (served);
    return zpar__errnoprintf (err, ENOMEM, "out of memory");
}

zpar_binding_t *zpar__binding_compute (const zpar_topo_t *topo, const zpar_bind_params_t *p,
                                       const char *allowed, zpar_error_t *err)
{
    zpar_binding_t *b = NULL;
    hwloc_bitmap_t aset = NULL;
    hwloc_bitmap_t *units = NULL;
    int nunits = 0;

    if (!topo || !p) {
        zpar__errnoprintf (err, EINVAL, "invalid arguments to binding computation");
        return NULL;
    }
    if ((int)p->policy < 0 || p->policy >= ZPAR_BIND_POLICY_COUNT) {
        zpar__errnoprintf (err, EINVAL, "invalid bind policy %d", (int)p->policy);
        return NULL;
    }
    if (p->cores_per_engine < 1) {
        zpar__errnoprintf (err, EINVAL, "invalid cores-per-engine %d: must be at least 1",
                           p->cores_per_engine);
        return NULL;
    }
    if (p->gpus_per_engine < 0) {
        zpar__errnoprintf (err, EINVAL, "invalid gpus-per-engine %d: must be 0 or more",
                           p->gpus_per_engine);
        return NULL;
    }
    if (p->local_size < 1 || p->local_rank < 0 || p->local_rank >= p->local_size) {
        zpar__errnoprintf (err, EINVAL,
                           "invalid node-local rank %d of %d engines: need 0 <= rank < size",
                           p->local_rank, p->local_size);
        return NULL;
    }
    if (allowed)
        aset = parse_allowed (topo, allowed, err);
    else if (!(aset = zpar__topo_default_allowed (topo)))
        zpar__errnoprintf (err, ENOMEM, "out of memory");
    if (!aset)
        return NULL;
    if (hwloc_bitmap_iszero (aset)) {
        zpar__errnoprintf (err, EINVAL, "the allowed cpuset is empty");
        goto error;
    }
    if (build_units (topo, p, aset, &units, &nunits, err) < 0)
        goto error;
    if (!(b = calloc (1, sizeof (*b))))
        goto nomem;
    b->params = *p;
    if (!(b->cpuset = hwloc_bitmap_dup (units[p->local_rank % nunits])) ||
        !(b->cpulist = zpar__bind_list_string (b->cpuset)))
        goto nomem;
    b->oversubscribed = p->policy != ZPAR_BIND_NONE && p->local_size > nunits;
    if (p->gpus_per_engine > 0 && assign_gpus (topo, p, units, nunits, b, err) < 0)
        goto error;
    free_units (units, nunits);
    hwloc_bitmap_free (aset);
    return b;
nomem:
    zpar__errnoprintf (err, ENOMEM, "out of memory");
error:
    free_units (units, nunits);
    hwloc_bitmap_free (aset);
    zpar__binding_destroy (b);
    return NULL;
}

void zpar__binding_destroy (zpar_binding_t *b)
{
    int saved = errno;
    if (b) {
        hwloc_bitmap_free (b->cpuset);
        free (b->cpulist);
        free (b->gpu_node_index);
        free (b->gpus);
        for (int k = 0; k < ZPAR_GPU_KIND_COUNT; k++)
            free (b->visible[k]);
        free (b);
    }
    errno = saved;
}

hwloc_const_cpuset_t zpar__binding_cpuset (const zpar_binding_t *b)
{
    if (!b) {
        errno = EINVAL;
        return NULL;
    }
    return b->cpuset;
}

const char *zpar__binding_cpulist (const zpar_binding_t *b)
{
    if (!b) {
        errno = EINVAL;
        return NULL;
    }
    return b->cpulist;
}

const zpar_bind_params_t *zpar__binding_params (const zpar_binding_t *b)
{
    if (!b) {
        errno = EINVAL;
        return NULL;
    }
    return &b->params;
}

bool zpar__binding_oversubscribed (const zpar_binding_t *b)
{
    return b && b->oversubscribed;
}

bool zpar__binding_gpus_shared (const zpar_binding_t *b)
{
    return b && b->gpus_shared;
}

int zpar__binding_gpu_count (const zpar_binding_t *b)
{
    if (!b) {
        errno = EINVAL;
        return -1;
    }
    return b->ngpus;
}

int zpar__binding_gpu_node_index (const zpar_binding_t *b, int i)
{
    if (!b || i < 0 || i >= b->ngpus) {
        errno = EINVAL;
        return -1;
    }
    return b->gpu_node_index[i];
}

const zpar_gpu_t *zpar__binding_gpu (const zpar_binding_t *b, int i)
{
    if (!b || i < 0 || i >= b->ngpus) {
        errno = EINVAL;
        return NULL;
    }
    return &b->gpus[i];
}

const char *zpar__binding_visible_devices (const zpar_binding_t *b, zpar_gpu_kind_t kind)
{
    if (!b || (int)kind < 0 || kind >= ZPAR_GPU_KIND_COUNT) {
        errno = EINVAL;
        return NULL;
    }
    errno = 0;
    return b->visible[kind];
}

/* Applying and reporting */

int zpar__binding_apply (const zpar_topo_t *topo, const zpar_binding_t *b, int flags,
                         zpar_error_t *err)
{
    int hflags = HWLOC_CPUBIND_PROCESS;

    if (!topo || !b || (flags & ~(ZPAR_BIND_APPLY_REQUIRE | ZPAR_BIND_APPLY_STRICT)))
        return zpar__errnoprintf (err, EINVAL, "invalid arguments to binding apply");
    if (b->params.policy == ZPAR_BIND_NONE)
        return 0;
    if (!zpar__topo_is_thissystem (topo)) {
        if (flags & ZPAR_BIND_APPLY_REQUIRE)
            return zpar__errnoprintf (err, ENOTSUP,
                                      "cannot bind to cpus %s: the topology does not describe "
                                      "this machine or hwloc cannot bind processes here",
                                      b->cpulist);
        return 0;
    }
    if (flags & ZPAR_BIND_APPLY_STRICT)
        hflags |= HWLOC_CPUBIND_STRICT;
    errno = 0;
    if (hwloc_set_cpubind (topo->t, b->cpuset, hflags) < 0) {
        if (errno == 0)
            errno = EINVAL;
        return zpar__errprintf (err, "cannot bind to cpus %s: %s", b->cpulist, strerror (errno));
    }
    return 0;
}

int zpar__binding_cores (const zpar_topo_t *topo, const zpar_binding_t *b)
{
    hwloc_obj_type_t type;
    int n = 0, total;

    if (!topo || !b) {
        errno = EINVAL;
        return -1;
    }
    type = hwloc_get_nbobjs_by_type (topo->t, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
    total = hwloc_get_nbobjs_by_type (topo->t, type);
    for (int i = 0; i < total; i++) {
        hwloc_obj_t o = hwloc_get_obj_by_type (topo->t, type, (unsigned)i);
        if (o && o->cpuset && hwloc_bitmap_intersects (o->cpuset, b->cpuset))
            n++;
    }
    return n > 0 ? n : 1;
}

int zpar__binding_gpu_names (const zpar_binding_t *b, char *buf, size_t size)
{
    size_t len = 0;
    if (!b || !buf || size == 0) {
        errno = EINVAL;
        return -1;
    }
    if (snprintf (buf, size, "-") >= (int)size) {
        buf[0] = '\0';
        errno = ENAMETOOLONG;
        return -1;
    }
    for (int i = 0; i < b->ngpus; i++) {
        int n = snprintf (buf + len, size - len, "%s%s:%d", i ? "," : "",
                          gpu_kind_names[b->gpus[i].kind], b->gpus[i].index);
        if (n < 0 || (size_t)n >= size - len) {
            buf[0] = '\0';
            errno = ENAMETOOLONG;
            return -1;
        }
        len += (size_t)n;
    }
    return 0;
}

int zpar__binding_export_env (const zpar_topo_t *topo, const zpar_binding_t *b)
{
    char num[16], gpus[512];
    int rc = 0;

    if (!topo || !b) {
        errno = EINVAL;
        return -1;
    }
    if (b->params.policy == ZPAR_BIND_NONE) {
        rc |= unsetenv ("ZPAR_ENGINE_CPUSET");
        rc |= unsetenv ("ZPAR_ENGINE_CORES");
    } else {
        snprintf (num, sizeof (num), "%d", zpar__binding_cores (topo, b));
        rc |= setenv ("ZPAR_ENGINE_CPUSET", b->cpulist, 1);
        rc |= setenv ("ZPAR_ENGINE_CORES", num, 1);
    }
    if (b->ngpus > 0 && zpar__binding_gpu_names (b, gpus, sizeof (gpus)) == 0)
        rc |= setenv ("ZPAR_ENGINE_GPUS", gpus, 1);
    else
        rc |= unsetenv ("ZPAR_ENGINE_GPUS");
    snprintf (num, sizeof (num), "%d", b->params.local_size);
    rc |= setenv ("ZPAR_ENGINE_LOCAL_SIZE", num, 1);
    return rc ? -1 : 0;
}

char *zpar__binding_report (const zpar_binding_t *b, const char *host, int rank, zpar_error_t *err)
{
    char hostbuf[256];
    char *gpus = NULL, *line = NULL;
    size_t size;

    if (!b) {
        zpar__errnoprintf (err, EINVAL, "invalid arguments to binding report");
        return NULL;
    }
    if (!host) {
        if (gethostname (hostbuf, sizeof (hostbuf)) < 0)
            snprintf (hostbuf, sizeof (hostbuf), "?");
        hostbuf[sizeof (hostbuf) - 1] = '\0';
        host = hostbuf;
    }
    size = 8 + (size_t)b->ngpus * 20;
    if (!(gpus = malloc (size)))
        goto nomem;
    if (zpar__binding_gpu_names (b, gpus, size) < 0)
        goto nomem; /* cannot be: size holds every name */
    if (b->ngpus == 0)
        snprintf (gpus, size, "none");
    for (int pass = 0; pass < 2; pass++) {
        int n = snprintf (
            line, line ? size : 0, "host=%s rank=%d local_rank=%d/%d bind=%s cpus=%s gpus=%s%s%s",
            host, rank, b->params.local_rank, b->params.local_size, policy_names[b->params.policy],
            b->cpulist, gpus, b->oversubscribed ? " oversubscribed" : "",
            b->gpus_shared ? " gpus-shared" : "");
        if (n < 0)
            goto nomem;
        if (!line) {
            size = (size_t)n + 1;
            if (!(line = malloc (size)))
                goto nomem;
        }
    }
    free (gpus);
    return line;
nomem:
    free (line);
    free (gpus);
    zpar__errnoprintf (err, ENOMEM, "out of memory");
    return NULL;
}
