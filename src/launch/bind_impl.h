/* bind_impl.h - what the files of the binding module share (private to
 * src/launch/bind*.c; the contract is bind.h).
 *
 *   bind_topo.c   loading a topology (this machine, a synthetic
 *                 description or a saved XML file), its GPUs, its allowed set
 *   bind.c        policies, and computing, applying and reporting a binding
 */
#ifndef ZPAR__BIND_IMPL_H
#define ZPAR__BIND_IMPL_H

#include "bind.h"

struct zpar_topo {
    hwloc_topology_t t;
    zpar_gpu_t *gpus;
    hwloc_bitmap_t *gpu_loc; /* cpuset of each GPU's non-I/O ancestor */
    int ngpus;
};

/* The default allowed set of topo: this process's binding when the topology
 * is this system's and the binding is not empty, else the topology's
 * allowed cpuset.  A new bitmap, or NULL with ENOMEM. */
hwloc_bitmap_t zpar__topo_default_allowed (const zpar_topo_t *topo);

/* set as a list string ("0-3,8"), malloc'd; NULL with ENOMEM. */
char *zpar__bind_list_string (hwloc_const_bitmap_t set);

#endif
