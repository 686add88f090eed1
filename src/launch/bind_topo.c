/* bind_topo.c - the hardware topology a binding is computed on (see bind.h):
 * this machine, a synthetic description or a saved XML file; its GPUs and
 * its allowed cpuset. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bind_impl.h"
#include "error.h"

/* Topology */

/* "cuda12" with prefix "cuda" -> 12; -1 when name is not prefix + digits. */
static int osdev_number (const char *name, const char *prefix)
{
    size_t len = strlen (prefix);
    long v = 0;
    if (strncmp (name, prefix, len) != 0 || name[len] == '\0')
        return -1;
    for (const char *p = name + len; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
        if (v > INT_MAX)
            return -1;
    }
    return (int)v;
}

static int gpu_cmp (const void *a, const void *b)
{
    const zpar_gpu_t *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return strcmp (x->name, y->name);
}

/* Collect the GPUs of t into topo->gpus / gpu_loc.  0 or -1 ENOMEM. */
static int find_gpus (zpar_topo_t *topo)
{
    hwloc_topology_t t = topo->t;
    hwloc_obj_t osdev = NULL;
    hwloc_obj_t *devs = NULL; /* the PCI device (or OS device) of each GPU */
    hwloc_obj_t *osdevs = NULL;
    int n = 0, cap = 0;

    while ((osdev = hwloc_get_next_osdev (t, osdev))) {
        hwloc_obj_osdev_type_t type = osdev->attr->osdev.type;
        zpar_gpu_kind_t kind;
        int index, nvml = 0, i;
        hwloc_obj_t dev;

        if ((type != HWLOC_OBJ_OSDEV_GPU && type != HWLOC_OBJ_OSDEV_COPROC) || !osdev->name)
            continue;
        if ((index = osdev_number (osdev->name, "cuda")) >= 0)
            kind = ZPAR_GPU_CUDA;
        else if ((index = osdev_number (osdev->name, "nvml")) >= 0) {
            kind = ZPAR_GPU_CUDA;
            nvml = 1;
        } else if ((index = osdev_number (osdev->name, "rsmi")) >= 0)
            kind = ZPAR_GPU_ROCM;
        else
            continue;
        dev = osdev->parent && osdev->parent->type == HWLOC_OBJ_PCI_DEVICE ? osdev->parent : osdev;
        for (i = 0; i < n; i++)
            if (devs[i] == dev && topo->gpus[i].kind == kind)
                break;
        if (i < n) {
            /* Same physical GPU: a cudaN name beats an nvmlN one. */
            if (!nvml && strncmp (topo->gpus[i].name, "nvml", 4) == 0) {
                topo->gpus[i].index = index;
                snprintf (topo->gpus[i].name, sizeof (topo->gpus[i].name), "%s", osdev->name);
            }
            continue;
        }
        if (n == cap) {
            int ncap = cap ? cap * 2 : 8;
            zpar_gpu_t *g = realloc (topo->gpus, (size_t)ncap * sizeof (*g));
            if (!g)
                goto nomem;
            topo->gpus = g;
            hwloc_obj_t *d = realloc (devs, (size_t)ncap * sizeof (*d));
            if (!d)
                goto nomem;
            devs = d;
            d = realloc (osdevs, (size_t)ncap * sizeof (*d));
            if (!d)
                goto nomem;
            osdevs = d;
            cap = ncap;
        }
        memset (&topo->gpus[n], 0, sizeof (topo->gpus[n]));
        topo->gpus[n].kind = kind;
        topo->gpus[n].index = index;
        snprintf (topo->gpus[n].name, sizeof (topo->gpus[n].name), "%s", osdev->name);
        if (dev->type == HWLOC_OBJ_PCI_DEVICE) {
            struct hwloc_pcidev_attr_s *pci = &dev->attr->pcidev;
            snprintf (topo->gpus[n].busid, sizeof (topo->gpus[n].busid), "%04x:%02x:%02x.%01x",
                      (unsigned)pci->domain, (unsigned)pci->bus, (unsigned)pci->dev,
                      (unsigned)pci->func);
        }
        devs[n] = dev;
        osdevs[n] = osdev;
        n++;
    }
    if (n > 0) {
        /* Sort, then find each GPU's locality by its (unique) OS device name. */
        qsort (topo->gpus, (size_t)n, sizeof (topo->gpus[0]), gpu_cmp);
        if (!(topo->gpu_loc = calloc ((size_t)n, sizeof (topo->gpu_loc[0]))))
            goto nomem;
        topo->ngpus = n;
        for (int i = 0; i < n; i++) {
            hwloc_obj_t os = NULL, anc;
            for (int j = 0; j < n; j++) {
                if (strcmp (osdevs[j]->name, topo->gpus[i].name) == 0) {
                    os = osdevs[j];
                    break;
                }
            }
            anc = os ? hwloc_get_non_io_ancestor_obj (t, os) : NULL;
            topo->gpu_loc[i] = hwloc_bitmap_dup (
                anc && anc->cpuset ? anc->cpuset : hwloc_topology_get_topology_cpuset (t));
            if (!topo->gpu_loc[i])
                goto nomem;
        }
    }
    free (devs);
    free (osdevs);
    return 0;
nomem:
    free (devs);
    free (osdevs);
    errno = ENOMEM;
    return -1;
}

zpar_topo_t *zpar__topo_load (zpar_topo_source_t source, const char *arg, int flags,
                              zpar_error_t *err)
{
    zpar_topo_t *topo = NULL;
    const char *what = "this machine";
    char whatbuf[160];

    if ((source == ZPAR_TOPO_THIS && arg) || (source != ZPAR_TOPO_THIS && !arg) ||
        (source != ZPAR_TOPO_THIS && source != ZPAR_TOPO_XML && source != ZPAR_TOPO_SYNTHETIC) ||
        (flags & ~ZPAR_TOPO_ASSUME_THISSYSTEM)) {
        zpar__errnoprintf (err, EINVAL, "invalid arguments to topology load");
        return NULL;
    }
    if ((hwloc_get_api_version () >> 16) != (HWLOC_API_VERSION >> 16)) {
        zpar__errnoprintf (err, ENOSYS,
                           "hwloc library version %#x does not match headers %#x: rebuild zpar",
                           hwloc_get_api_version (), (unsigned)HWLOC_API_VERSION);
        return NULL;
    }
    if (source == ZPAR_TOPO_XML) {
        if (access (arg, R_OK) < 0) {
            zpar__errprintf (err, "cannot read topology XML '%s': %s", arg, strerror (errno));
            return NULL;
        }
        snprintf (whatbuf, sizeof (whatbuf), "XML '%s'", arg);
        what = whatbuf;
    } else if (source == ZPAR_TOPO_SYNTHETIC) {
        snprintf (whatbuf, sizeof (whatbuf), "synthetic description '%s'", arg);
        what = whatbuf;
    }
    if (!(topo = calloc (1, sizeof (*topo))))
        goto nomem;
    if (hwloc_topology_init (&topo->t) < 0) {
        topo->t = NULL;
        goto nomem;
    }
    if (hwloc_topology_set_io_types_filter (topo->t, HWLOC_TYPE_FILTER_KEEP_IMPORTANT) < 0)
        goto hwloc_error;
    if ((flags & ZPAR_TOPO_ASSUME_THISSYSTEM) &&
        hwloc_topology_set_flags (topo->t, HWLOC_TOPOLOGY_FLAG_IS_THISSYSTEM) < 0)
        goto hwloc_error;
    if (source == ZPAR_TOPO_XML && hwloc_topology_set_xml (topo->t, arg) < 0)
        goto hwloc_error;
    if (source == ZPAR_TOPO_SYNTHETIC && hwloc_topology_set_synthetic (topo->t, arg) < 0) {
        errno = EINVAL;
        goto hwloc_error;
    }
    if (hwloc_topology_load (topo->t) < 0)
        goto hwloc_error;
    if (find_gpus (topo) < 0)
        goto nomem;
    return topo;
hwloc_error:
    if (errno == 0)
        errno = EINVAL;
    zpar__errprintf (err, "cannot load hwloc topology from %s: %s", what, strerror (errno));
    zpar__topo_destroy (topo);
    return NULL;
nomem:
    zpar__errnoprintf (err, ENOMEM, "cannot load hwloc topology from %s: out of memory", what);
    zpar__topo_destroy (topo);
    errno = ENOMEM;
    return NULL;
}

void zpar__topo_destroy (zpar_topo_t *topo)
{
    int saved = errno;
    if (topo) {
        for (int i = 0; i < topo->ngpus; i++)
            hwloc_bitmap_free (topo->gpu_loc[i]);
        free (topo->gpu_loc);
        free (topo->gpus);
        if (topo->t)
            hwloc_topology_destroy (topo->t);
        free (topo);
    }
    errno = saved;
}

hwloc_topology_t zpar__topo_hwloc (const zpar_topo_t *topo)
{
    if (!topo) {
        errno = EINVAL;
        return NULL;
    }
    return topo->t;
}

bool zpar__topo_is_thissystem (const zpar_topo_t *topo)
{
    const struct hwloc_topology_support *sup;
    if (!topo || !hwloc_topology_is_thissystem (topo->t))
        return false;
    sup = hwloc_topology_get_support (topo->t);
    return sup && sup->cpubind && sup->cpubind->set_thisproc_cpubind;
}

/* The default allowed set, new bitmap or NULL ENOMEM. */
hwloc_bitmap_t zpar__topo_default_allowed (const zpar_topo_t *topo)
{
    hwloc_const_cpuset_t tallowed = hwloc_topology_get_allowed_cpuset (topo->t);
    hwloc_bitmap_t set = hwloc_bitmap_alloc ();

    if (!set)
        return NULL;
    if (zpar__topo_is_thissystem (topo) &&
        hwloc_get_cpubind (topo->t, set, HWLOC_CPUBIND_PROCESS) == 0) {
        hwloc_bitmap_and (set, set, tallowed);
        if (!hwloc_bitmap_iszero (set))
            return set;
    }
    if (hwloc_bitmap_copy (set, tallowed) < 0) {
        hwloc_bitmap_free (set);
        return NULL;
    }
    return set;
}

char *zpar__bind_list_string (hwloc_const_bitmap_t set)
{
    char *s = NULL;
    if (hwloc_bitmap_list_asprintf (&s, set) < 0 || !s) {
        free (s);
        errno = ENOMEM;
        return NULL;
    }
    return s;
}

char *zpar__topo_allowed (const zpar_topo_t *topo, zpar_error_t *err)
{
    hwloc_bitmap_t set;
    char *s;

    if (!topo) {
        zpar__errnoprintf (err, EINVAL, "invalid arguments to topology allowed set");
        return NULL;
    }
    if (!(set = zpar__topo_default_allowed (topo)) || !(s = zpar__bind_list_string (set))) {
        hwloc_bitmap_free (set);
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    hwloc_bitmap_free (set);
    return s;
}

int zpar__topo_gpu_count (const zpar_topo_t *topo)
{
    if (!topo) {
        errno = EINVAL;
        return -1;
    }
    return topo->ngpus;
}

const zpar_gpu_t *zpar__topo_gpu (const zpar_topo_t *topo, int i)
{
    if (!topo || i < 0 || i >= topo->ngpus) {
        errno = EINVAL;
        return NULL;
    }
    return &topo->gpus[i];
}
