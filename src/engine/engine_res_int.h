/* engine_res_int.h - what engine_res.c and engine_res_plan.c share (the
 * contract is engine_res.h): CPU sets as bitmaps, CPU and GPU lists. */
#ifndef ZPAR__ENGINE_RES_INT_H
#define ZPAR__ENGINE_RES_INT_H

#include <stddef.h>
#include <stdint.h>

#include "engine_res.h"

#define ZPAR_RES_CPU_INDEX_MAX 65535u /* the highest CPU number a list may name */

/* A set of CPU numbers; {NULL, 0} is empty; free w. */
typedef struct {
    uint64_t *w;
    size_t nw; /* words */
} bits_t;

int zpar__res_bits_set (bits_t *b, unsigned i);        /* 0 or -1 ENOMEM */
int zpar__res_bits_test (const bits_t *b, unsigned i); /* 0/1 */
unsigned zpar__res_bits_count (const bits_t *b);
/* b as a list "0-3,8" into buf.  0 or -1 ENAMETOOLONG. */
int zpar__res_bits_list (const bits_t *b, char *buf, size_t size);

/* An unsigned decimal at s[*pos..len) of at most max; advances *pos.
 * 0, or -1 (no digit, overflow). */
int zpar__res_parse_uint (const char *s, size_t len, size_t *pos, uint64_t max, uint64_t *v);

/* OR the CPU list s[0..len) ("0-3,8") into b.  0, or -1 with errno EINVAL
 * (syntax, reversed range, a CPU above ZPAR_RES_CPU_INDEX_MAX) or ENOMEM. */
int zpar__res_cpulist_parse (const char *s, size_t len, bits_t *b);

enum { ZPAR_RES_CUDA = 0, ZPAR_RES_ROCM, ZPAR_RES_NKINDS };
extern const char *const zpar__res_kind_names[ZPAR_RES_NKINDS]; /* "cuda", "rocm" */
extern const char *const zpar__res_kind_env[ZPAR_RES_NKINDS];   /* CUDA_/ROCR_VISIBLE_DEVICES */

/* Check the GPU list s[0..len) ("cuda:0,rocm:1"); with lists non-NULL,
 * append each device number not there yet to lists[kind] ("0,2").
 * 0, or -1 EINVAL (syntax) / ENAMETOOLONG. */
int zpar__res_gpulist_parse (const char *s, size_t len, char (*lists)[ZPAR_RES_GPUS_MAX]);

/* The memory limit of this process's cgroups, as proc_cgroup
 * ("/proc/self/cgroup") lists them, under the cgroup file systems at
 * sysfs ("/sys/fs/cgroup": v2 there, v1's memory hierarchy at
 * sysfs/memory): the smallest memory.max / memory.limit_in_bytes of the
 * cgroup and its ancestors; UINT64_MAX when none is set or readable. */
uint64_t zpar__res_cgroup_memory (const char *proc_cgroup, const char *sysfs);

/* The memory of the Slurm job on this node, from the environment:
 * SLURM_MEM_PER_NODE MiB, else SLURM_MEM_PER_CPU MiB x SLURM_CPUS_ON_NODE;
 * in bytes, 0 when neither is set (or not a number). */
uint64_t zpar__res_slurm_memory (void);

#endif
