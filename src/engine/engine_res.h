/* engine_res.h - an engine's resources: what it reports when it registers
 * (probe) and what a task's process gets from the engines reserved for it
 * (plan and apply).  See doc/engine.md ("Resources per task") and the
 * resource model of doc/protocol.md.
 *
 * Model: an engine is a slot that holds resources of one node: its cores
 * (those of its hwloc binding; 1 when it is not bound), its GPUs (those
 * --gpus-per-engine gave it; none otherwise) and a share of the node's
 * memory (the node's memory / the node's engine count when that count is
 * known, else the node's memory).  The node's memory is the smallest of
 * MemTotal, the limit of the engine's memory cgroup and the Slurm job's
 * memory on the node (SLURM_MEM_PER_NODE, or SLURM_MEM_PER_CPU x
 * SLURM_CPUS_ON_NODE, in MiB); the engine reports it too, and the
 * scheduler never lets the memory: requests of the tasks running on a
 * node add up to more than the least any of its engines reported.
 *
 * PROBE.  The launcher that binds an engine tells it what it got, in the
 * engine's environment (zpar run sets them after binding, see
 * src/launch/run.c; an engine started by hand may be given them):
 *
 *   ZPAR_ENGINE_CPUSET      its cpuset, hwloc list syntax "0-3,8"
 *                           (absent or "-": not bound)
 *   ZPAR_ENGINE_CORES       its core count (absent: the number of CPUs of
 *                           ZPAR_ENGINE_CPUSET, or 1 when not bound)
 *   ZPAR_ENGINE_GPUS        its GPUs "cuda:0,cuda:1" / "rocm:2", N being
 *                           the device number of that kind (what goes into
 *                           CUDA_ / ROCR_VISIBLE_DEVICES); absent or "-": none
 *   ZPAR_ENGINE_LOCAL_SIZE  the engines of its node (absent: unknown)
 *   ZPAR_ENGINE_MEMORY      its memory share in bytes (a task's memory:
 *                           syntax, 4G, 512M: powers of 1024); absent: the node's
 *                           memory / ZPAR_ENGINE_LOCAL_SIZE, where the node's
 *                           memory is the smallest of MemTotal, the limit of
 *                           the engine's memory cgroup (v2 memory.max, v1
 *                           memory.limit_in_bytes) and the Slurm job's memory
 *                           on the node (above).  zpar run sets the local size
 *                           from its launcher, zpar cluster start (local) to
 *                           its engine count.
 *
 * SLOTS.  A task placed on several engines carries one SLOT string per
 * engine, the leader (the engine that runs it) first:
 *   "ENGINE_ID HOST CPUSET GPUS MEMBYTES"
 * single spaces; CPUSET and GPUS as above ("-": none); MEMBYTES the
 * engine's share (0: unknown).  The task's process gets the union of the
 * slots of the leader's HOST (slots of other hosts are MPI ranks elsewhere,
 * src/engine/mpi_launch.h):
 *   - its CPU affinity: the union of their cpusets (when every one of them
 *     is bound; if none is, the engine's own affinity is left; a mix is
 *     left too, and said in ZPAR_TASK_CPUSET="-");
 *   - OMP_NUM_THREADS and ZPAR_TASK_CORES: the cores held, the sum over
 *     those slots of their core count (an unbound slot: 1; a bound one:
 *     its CPUs / the CPUs per core of the leader's own probe, at least 1);
 *   - CUDA_VISIBLE_DEVICES / ROCR_VISIBLE_DEVICES: the union of their GPUs
 *     of that kind in slot order; "" (hide all) when the engine's own
 *     environment sets the variable but no slot holds a GPU of that kind;
 *     left alone otherwise;
 *   - a memory limit of `memory` bytes (the task's request; 0: none):
 *     setrlimit(RLIMIT_DATA) in the child (private writable memory: heap
 *     and anonymous maps), never above the engine's own hard limit;
 *   - ZPAR_TASK_SLOTS (the slot strings joined by ';'), ZPAR_TASK_CORES,
 *     ZPAR_TASK_CPUSET (the cpuset applied, or "-"), ZPAR_TASK_MEMORY (the
 *     limit in bytes, 0: none).
 * The task's own ENV entries win over every variable set here.  A task
 * without slots gets none of this (the 1-core fast path is unchanged).
 */
#ifndef ZPAR__ENGINE_RES_H
#define ZPAR__ENGINE_RES_H

#include <stddef.h>
#include <stdint.h>

#include "zpar/error.h"

#define ZPAR_RES_CPUSET_MAX 2048 /* bytes of a cpuset list, with its NUL */
#define ZPAR_RES_GPUS_MAX   512  /* bytes of a GPU list, with its NUL */

/* What an engine reports when it registers. */
typedef struct {
    unsigned cores;                   /* >= 1 */
    unsigned cpus;                    /* CPUs (PUs) of cpuset; 0 when not bound */
    char cpuset[ZPAR_RES_CPUSET_MAX]; /* "0-3,8", or "-" when not bound */
    char gpus[ZPAR_RES_GPUS_MAX];     /* "cuda:0,rocm:1", or "-" */
    unsigned local_size;              /* engines on this node, 0: unknown */
    uint64_t mem_share;               /* bytes, 0: unknown */
    uint64_t node_mem;                /* bytes of the whole node (as for mem_share), 0: unknown */
} zpar_engine_res_t;

/* Fill res from the engine's environment and the node (see above).  The
 * result of the first successful call is kept: later calls copy it (the
 * environment is read once per process; zpar__engine_res_reset forgets).
 * 0, or -1 with errno EINVAL (res NULL, or a variable that does not parse:
 * err names it and its value; nothing is kept) or ENAMETOOLONG (a list
 * longer than its buffer). */
int zpar__engine_res_probe (zpar_engine_res_t *res, zpar_error_t *err);

/* Forget what zpar__engine_res_probe kept (tests; an engine whose
 * environment changed). */
void zpar__engine_res_reset (void);

/* "ENGINE_ID HOST CPUSET GPUS MEMBYTES" of res for engine `engine` on
 * `host` into buf (size bytes).  0, or -1 with EINVAL (NULL argument, a
 * host that is empty or holds a space) or ENAMETOOLONG (buf too small). */
int zpar__engine_res_slot (const zpar_engine_res_t *res, uint32_t engine, const char *host,
                           char *buf, size_t size);

/* What a task's process gets, computed in the engine before the child
 * starts (it allocates), applied in the child (system calls only). */
typedef struct zpar_res_plan zpar_res_plan_t;

/* Plan the task's resources from its slots (nslots > 0, leader first), its
 * memory request in bytes (0: no limit) and its ENV entries (task_env,
 * NULL-terminated "NAME=VALUE", may be NULL), for an engine whose own
 * resources are self (NULL: zpar__engine_res_probe's).  Everything is
 * copied.  Returns a new plan owned by the caller, or NULL with errno
 * EINVAL (NULL slots, nslots 0, a slot that does not parse: each is
 * read by zpar__proto_slot_parse, proto_task.h, and err says "bad
 * resource slot: why") or ENOMEM. */
zpar_res_plan_t *zpar__engine_res_plan (const char *const *slots, size_t nslots, uint64_t memory,
                                        char *const *task_env, const zpar_engine_res_t *self,
                                        zpar_error_t *err);

/* Free plan; NULL-safe; keeps errno. */
void zpar__engine_res_plan_destroy (zpar_res_plan_t *plan);

/* The child's environment additions, NULL-terminated "NAME=VALUE": the
 * variables listed at the top of this file that the task's ENV does not
 * set, then the task's ENV entries.  Borrowed from plan. */
char *const *zpar__engine_res_plan_env (const zpar_res_plan_t *plan);

/* The cpuset given to the child ("-": none), the cores held, the memory
 * limit (0: none).  Borrowed / plain values; "-", 0, 0 for a NULL plan. */
const char *zpar__engine_res_plan_cpuset (const zpar_res_plan_t *plan);
unsigned zpar__engine_res_plan_cores (const zpar_res_plan_t *plan);
uint64_t zpar__engine_res_plan_memory (const zpar_res_plan_t *plan);

/* What zpar__engine_res_apply_child failed at. */
typedef enum {
    ZPAR_RES_STAGE_NONE = 0,
    ZPAR_RES_STAGE_CPUSET = 1, /* sched_setaffinity */
    ZPAR_RES_STAGE_MEMORY = 2, /* setrlimit */
} zpar_res_stage_t;

/* In the task's child, before exec: set the CPU affinity and the memory
 * limit of the calling process.  Async-signal-safe and allocation-free
 * (it may run in a vfork-like child sharing the engine's memory).
 * 0, or -1 with errno and *stage (may be NULL) saying which. */
int zpar__engine_res_apply_child (const zpar_res_plan_t *plan, zpar_res_stage_t *stage);

#endif
