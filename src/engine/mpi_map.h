/* mpi_map.h - the rank map of an MPI task and CPU lists (internal).
 *
 * An MPI task (a task with `ranks:`) runs as one MPI job over the engines
 * the scheduler reserved for it (mpi_launch.h).  The launcher command line
 * puts every rank on its engine's host; the rank map says the rest: for
 * rank i, the engine, host, CPU list and GPUs it holds.  zpar-rank (the
 * program every rank starts as, mpi_rank.c) reads its own entry, binds
 * itself to that CPU list and sets its GPU variables before it executes
 * the task's command.
 *
 * Rank map (the ZPAR_MPI_RANKMAP variable): entries separated by ';', in
 * rank order, each "ENGINE HOST CPUSET GPUS" with single spaces: ENGINE
 * the engine id (decimal), HOST its node's name, CPUSET a CPU list in
 * hwloc/kernel list syntax ("0-3,8") or "-" (not bound), GPUS a comma list
 * of "cuda:N"/"rocm:N" or "-" (none).
 *
 * Only libc: zpar-rank links this file alone.
 */
#ifndef ZPAR__MPI_MAP_H
#define ZPAR__MPI_MAP_H

#include <stddef.h>
#include <stdint.h>

#define ZPAR_MPI_CPU_MAX 65536u /* CPU indices are below this */
#define ZPAR_MPI_MAP_VAR "ZPAR_MPI_RANKMAP"

/* Parse a CPU list ("0-3,8", ascending or not, no spaces) into a sorted
 * array of distinct CPU indices, allocated (*cpus, free() it; NULL when
 * *n is 0).  "-" is the empty list.  0, or -1 with errno EINVAL (syntax,
 * a range that goes down, an index >= ZPAR_MPI_CPU_MAX, an empty string)
 * or ENOMEM; nothing allocated on failure. */
int zpar__mpi_cpulist_parse (const char *s, unsigned **cpus, size_t *n);

/* Write cpus[0..n) (sorted, distinct) as a CPU list with ranges ("0-3,8";
 * "-" when n is 0) into buf of size bytes.  The length, or -1 ENOSPC. */
int zpar__mpi_cpulist_format (const unsigned *cpus, size_t n, char *buf, size_t size);

/* One rank's entry, pointing into a caller's copy of the map. */
typedef struct {
    uint32_t engine;
    const char *host; /* NUL-terminated pieces of the copy */
    const char *cpuset;
    const char *gpus;
} zpar_mpi_entry_t;

/* Find entry `rank` of map (NUL-terminated, modified in place: the
 * separators of that entry become NULs) and point *e into it.  0, or -1
 * with errno ENOENT (fewer entries) or EINVAL (a malformed entry). */
int zpar__mpi_map_entry (char *map, size_t rank, zpar_mpi_entry_t *e);

/* The indices of the GPUs of kind ("cuda" or "rocm") in a GPU list
 * ("cuda:0,rocm:1,cuda:3" -> "0,3" for cuda) written into buf; "" when
 * there are none ("-" included).  The length, or -1 EINVAL (malformed
 * list) or ENOSPC. */
int zpar__mpi_gpus_of_kind (const char *gpus, const char *kind, char *buf, size_t size);

/* 1 if host a and host b name the same node: equal, or equal up to the
 * first '.' when exactly one of them has a domain ("n1" and
 * "n1.cluster"). */
int zpar__mpi_same_host (const char *a, const char *b);

#endif
