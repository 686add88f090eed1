/* bind.h - pinning engines to CPUs (and GPUs) with hwloc (internal).
 *
 * An engine computes its own placement from three things: the node's
 * topology (zpar_topo_t), its node-local rank among the node's engines and
 * the node's engine count (zpar_bind_params_t), and the cpuset the launcher
 * allowed it (the "allowed set" A, see zpar__binding_compute).  Every engine
 * of a node runs the same deterministic computation, so as long as they all
 * see the same topology, parameters and allowed set they get disjoint CPUs
 * and, while there are enough, distinct GPUs — without talking to each
 * other.  (If the launcher already gave each rank its own narrow cpuset,
 * use policy none: the allowed sets differ and distributing inside them
 * would not make sense.)
 *
 * Policies (--bind), with r = local_rank, n = local_size:
 *
 *   core    Units are blocks of cores_per_engine consecutive cores (logical
 *           order) among the cores that have at least one PU in A.  Engine r
 *           gets block r mod nblocks, where nblocks = ncores / cores_per_engine;
 *           leftover cores (ncores mod cores_per_engine) stay unused.  Fewer
 *           allowed cores than cores_per_engine is an error (EINVAL).  A
 *           topology without Core objects uses PUs as cores.
 *   l3      Units are the L3 caches that have a PU in A;  engine r gets unit
 *   numa    r mod nunits.  NUMA nodes whose allowed CPUs equal an earlier
 *   socket  node's (e.g. HBM or CXL memory next to DDR) count once.  A
 *           topology without such objects is an error (ENOENT).
 *   none    No binding: the cpuset is A itself and zpar__binding_apply()
 *           leaves the process alone.
 *
 * The cpuset of a unit is always restricted to A (so a half-allowed core
 * contributes only its allowed PUs).  When n exceeds the number of units the
 * engines wrap around and the binding is flagged oversubscribed
 * (zpar__binding_oversubscribed), so that the caller can warn.
 *
 * GPUs (--gpus-per-engine G): the node's GPUs are the hwloc OS devices named
 * cudaN (or nvmlN when a PCI device has no cudaN) and rsmiN, one per PCI
 * device, numbered by kind then device number (CUDA before ROCm).  A GPU is
 * local to an engine when the cpuset of the GPU's first non-I/O ancestor
 * intersects the engine's cpuset.  Assignment goes in G rounds; in each
 * round, engines in local-rank order first take a local GPU among the least
 * used ones they do not hold yet, then the engines that found none take the
 * least used GPU they do not hold (local first, then lowest number).  So no
 * two engines of a node share a GPU while n * G <= ngpus, and sharing is
 * spread evenly (and flagged, zpar__binding_gpus_shared) beyond.  G greater
 * than the node's GPU count is an error.  The engine's GPUs are listed in the
 * order they were picked (nearest first).  With only nvmlN devices the CUDA
 * number is NVML's PCI order: run with CUDA_DEVICE_ORDER=PCI_BUS_ID.
 */
#ifndef ZPAR__BIND_H
#define ZPAR__BIND_H

#include <stdbool.h>

#include <hwloc.h>

#include "zpar/error.h"

typedef enum {
    ZPAR_BIND_CORE = 0,
    ZPAR_BIND_L3,
    ZPAR_BIND_NUMA,
    ZPAR_BIND_SOCKET,
    ZPAR_BIND_NONE,
    ZPAR_BIND_POLICY_COUNT,
} zpar_bind_policy_t;

typedef enum {
    ZPAR_TOPO_THIS = 0,  /* this machine (hwloc honours HWLOC_XMLFILE etc.) */
    ZPAR_TOPO_XML,       /* arg: path of an hwloc XML file */
    ZPAR_TOPO_SYNTHETIC, /* arg: hwloc synthetic description "pack:2 core:8 pu:2" */
} zpar_topo_source_t;

typedef enum {
    /* Treat an XML or synthetic topology as this machine's
     * (HWLOC_TOPOLOGY_FLAG_IS_THISSYSTEM): bindings then reach the kernel. */
    ZPAR_TOPO_ASSUME_THISSYSTEM = 1,
} zpar_topo_flags_t;

typedef enum {
    /* Fail with ENOTSUP instead of succeeding without doing anything when the
     * topology is not this machine's or hwloc cannot bind processes here. */
    ZPAR_BIND_APPLY_REQUIRE = 1,
    /* Pass HWLOC_CPUBIND_STRICT to hwloc. */
    ZPAR_BIND_APPLY_STRICT = 2,
} zpar_bind_apply_flags_t;

typedef enum {
    ZPAR_GPU_CUDA = 0,
    ZPAR_GPU_ROCM,
    ZPAR_GPU_KIND_COUNT,
} zpar_gpu_kind_t;

typedef struct {
    zpar_gpu_kind_t kind;
    int index;      /* device number: what goes into CUDA_/ROCR_VISIBLE_DEVICES */
    char name[32];  /* hwloc OS device name: "cuda0", "nvml1", "rsmi0" */
    char busid[32]; /* PCI address "0000:3b:00.0", "" when unknown */
} zpar_gpu_t;

typedef struct {
    zpar_bind_policy_t policy; /* default ZPAR_BIND_CORE */
    int cores_per_engine;      /* >= 1, used by policy core; default 1 */
    int gpus_per_engine;       /* >= 0; default 0 = no GPU assignment */
    int local_rank;            /* 0 <= local_rank < local_size; default 0 */
    int local_size;            /* engines on this node, >= 1; default 1 */
} zpar_bind_params_t;

typedef struct zpar_topo zpar_topo_t;
typedef struct zpar_binding zpar_binding_t;

/* Policy <-> string ("core", "l3", "numa", "socket", "none").
 * parse: 0, or -1 EINVAL with err = "unknown bind policy 'cores': use core,
 * l3, numa, socket or none" (also for NULL or "").
 * name: static string, "?" for an out-of-range value. */
int zpar__bind_policy_parse (const char *s, zpar_bind_policy_t *policy, zpar_error_t *err);
const char *zpar__bind_policy_name (zpar_bind_policy_t policy);

/* Fill p with the defaults listed in zpar_bind_params_t. */
void zpar__bind_params_init (zpar_bind_params_t *p);

/* Load a topology with I/O devices (HWLOC_TYPE_FILTER_KEEP_IMPORTANT, so
 * that GPUs are found) from source; arg is the XML path or synthetic string
 * and must be NULL for ZPAR_TOPO_THIS.  flags: zpar_topo_flags_t.
 * Returns a new topology owned by the caller (zpar__topo_destroy), or NULL
 * with errno EINVAL (bad argument, bad synthetic string or XML content),
 * ENOENT/EACCES (XML file not readable), ENOSYS (hwloc library ABI does not
 * match the headers), ENOMEM, and err naming the source. */
zpar_topo_t *zpar__topo_load (zpar_topo_source_t source, const char *arg, int flags,
                              zpar_error_t *err);

/* Free topo; NULL is allowed; errno is preserved. */
void zpar__topo_destroy (zpar_topo_t *topo);

/* The hwloc topology, borrowed: valid until zpar__topo_destroy. */
hwloc_topology_t zpar__topo_hwloc (const zpar_topo_t *topo);

/* True when bindings computed on topo can really be applied to this process
 * (hwloc_topology_is_thissystem and hwloc supports binding the process). */
bool zpar__topo_is_thissystem (const zpar_topo_t *topo);

/* The default allowed set as a list string ("0-31"), malloc'd, caller frees:
 * on this machine the process's current binding within the topology's
 * allowed cpuset, otherwise the topology's whole allowed cpuset.
 * NULL with errno EINVAL (topo NULL) or ENOMEM. */
char *zpar__topo_allowed (const zpar_topo_t *topo, zpar_error_t *err);

/* The node's GPUs (see the top of this file for which and in what order).
 * count: >= 0, or -1 EINVAL when topo is NULL.  gpu: borrowed pointer valid
 * until zpar__topo_destroy, NULL with errno EINVAL when i is out of range. */
int zpar__topo_gpu_count (const zpar_topo_t *topo);
const zpar_gpu_t *zpar__topo_gpu (const zpar_topo_t *topo, int i);

/* Compute the binding of the engine p->local_rank of p->local_size.
 * allowed is the allowed set A as a list string ("0-15", "0,2,4-7"), or NULL
 * for zpar__topo_allowed()'s default.  An explicit A must be a non-empty
 * subset of the topology's allowed cpuset.  Reads topo, does not bind.
 * Returns a new binding owned by the caller (zpar__binding_destroy), or NULL
 * with errno EINVAL (NULL topo/p, bad field in p, bad or foreign allowed set,
 * fewer allowed cores than cores_per_engine, more gpus_per_engine than
 * GPUs), ENOENT (no L3/NUMA/package objects for that policy), ENODEV
 * (gpus_per_engine > 0 on a node without GPUs), ENOMEM; err says which. */
zpar_binding_t *zpar__binding_compute (const zpar_topo_t *topo, const zpar_bind_params_t *p,
                                       const char *allowed, zpar_error_t *err);

/* Free b; NULL is allowed; errno is preserved. */
void zpar__binding_destroy (zpar_binding_t *b);

/* The engine's cpuset, borrowed (valid until zpar__binding_destroy), as an
 * hwloc bitmap and as a list string "0-7" (never NULL for a valid b; NULL
 * with EINVAL for b NULL). */
hwloc_const_cpuset_t zpar__binding_cpuset (const zpar_binding_t *b);
const char *zpar__binding_cpulist (const zpar_binding_t *b);

/* The parameters the binding was computed from (borrowed), NULL if b NULL. */
const zpar_bind_params_t *zpar__binding_params (const zpar_binding_t *b);

/* More engines than units on this node, so some engines share CPUs. */
bool zpar__binding_oversubscribed (const zpar_binding_t *b);

/* At least one of this engine's GPUs is also given to another local engine. */
bool zpar__binding_gpus_shared (const zpar_binding_t *b);

/* The engine's GPUs: count (0 when gpus_per_engine is 0, -1 EINVAL when b
 * is NULL); node_index is the GPU's number in zpar__topo_gpu() order, gpu
 * a copy of its description (borrowed from b).  Both -1/NULL with EINVAL
 * when i is out of range. */
int zpar__binding_gpu_count (const zpar_binding_t *b);
int zpar__binding_gpu_node_index (const zpar_binding_t *b, int i);
const zpar_gpu_t *zpar__binding_gpu (const zpar_binding_t *b, int i);

/* Name of the environment variable of a GPU kind: "CUDA_VISIBLE_DEVICES",
 * "ROCR_VISIBLE_DEVICES"; NULL for an out-of-range kind. */
const char *zpar__gpu_env_name (zpar_gpu_kind_t kind);

/* The value to give that variable: the engine's device numbers of that kind,
 * comma-separated in pick order ("2,3"), borrowed from b.  NULL (errno 0)
 * when the variable should be left alone: gpus_per_engine is 0 or the node
 * has no GPU of that kind.  "" when the node has GPUs of that kind but this
 * engine got none of them (hides them all).  NULL + EINVAL on bad args. */
const char *zpar__binding_visible_devices (const zpar_binding_t *b, zpar_gpu_kind_t kind);

/* Bind the calling process (all its threads) to b's cpuset.  Policy none:
 * does nothing.  When topo is not this machine's (zpar__topo_is_thissystem
 * false) hwloc would silently do nothing: returns 0 without binding, or -1
 * ENOTSUP with ZPAR_BIND_APPLY_REQUIRE.  flags: zpar_bind_apply_flags_t.
 * Returns 0, or -1 with errno EINVAL (NULL args, unknown flag, or the kernel
 * refused the cpuset) or hwloc's errno, and err = "cannot bind to cpus 4-7:
 * ...".  On failure the binding of the process is unchanged. */
int zpar__binding_apply (const zpar_topo_t *topo, const zpar_binding_t *b, int flags,
                         zpar_error_t *err);

/* The cores of b's cpuset on topo: the Core objects with at least one PU
 * in it (PUs when the topology has no Core objects), at least 1.
 * -1 EINVAL when topo or b is NULL. */
int zpar__binding_cores (const zpar_topo_t *topo, const zpar_binding_t *b);

/* b's GPUs as "cuda:0,rocm:1" (kind and device number, in pick order), or
 * "-" when it has none, into buf.  0, or -1 with EINVAL (NULL argument) or
 * ENAMETOOLONG (buf too small). */
int zpar__binding_gpu_names (const zpar_binding_t *b, char *buf, size_t size);

/* Tell the engine of this process what it holds (src/engine/engine_res.h):
 * set ZPAR_ENGINE_CPUSET and ZPAR_ENGINE_CORES (unless the policy is none:
 * then they are removed: not bound), ZPAR_ENGINE_GPUS (removed when it has
 * no GPU) and ZPAR_ENGINE_LOCAL_SIZE (the node's engine count) in the
 * environment.  0, or -1 with errno (EINVAL: NULL argument; ENOMEM). */
int zpar__binding_export_env (const zpar_topo_t *topo, const zpar_binding_t *b);

/* One --report-bindings line, malloc'd, caller frees, no newline:
 *   "host=node01 rank=3 local_rank=1/4 bind=core cpus=4-7 gpus=cuda:1,rocm:0"
 * ("gpus=none" when it has none), followed by " oversubscribed" and/or
 * " gpus-shared" when flagged.  host NULL means gethostname().
 * NULL with errno EINVAL (b NULL) or ENOMEM. */
char *zpar__binding_report (const zpar_binding_t *b, const char *host, int rank, zpar_error_t *err);

#endif
