/* launcher.h - launch back ends: how `zpar cluster start` gets a
 * controller and N engines running, and how `zpar cluster stop` ends them.
 *
 *   local  controller and engines as background processes on this machine
 *          (implemented by the CLI: src/cli/cmd_cluster.c)
 *   mpi    `mpirun -n N+1 zpar run` in the background
 *   slurm  `sbatch` of a job whose step is `srun zpar run`
 *   pbs    `qsub` of a job whose script is `mpirun --hostfile $PBS_NODEFILE zpar run`
 *
 * Every back end returns once the client connection file exists and N
 * engines have registered (or the timeout expires), and records in the
 * cluster directory what it started (file "launcher": "<name> <id>") so
 * that stop knows what to end.
 */
#ifndef ZPAR__LAUNCHER_H
#define ZPAR__LAUNCHER_H

#include <stddef.h>

#include "zpar/error.h"

typedef struct {
    int engines;           /* N */
    const char *dir;       /* state directory for this cluster (created) */
    const char *self;      /* path of the zpar program */
    const char *time;      /* walltime for batch systems (e.g. "30", "01:00:00"), or NULL */
    const char *partition; /* partition / queue, or NULL */
    char *const *extra;    /* extra arguments for sbatch / qsub / mpirun */
    int nextra;
    const char *run_args;  /* extra arguments for `zpar run` (e.g. "--bind none") */
    double timeout;        /* seconds to wait for the engines */
} zpar_launch_opts_t;

typedef struct {
    const char *name;
    /* Start; write the client connection file's path into conn (size). */
    int (*start) (const zpar_launch_opts_t *o, char *conn, size_t size, zpar_error_t *err);
    /* End what start started (after a client shutdown was attempted). */
    int (*stop) (const char *dir, double timeout, zpar_error_t *err);
} zpar_launcher_t;

/* The back end called name ("mpi", "slurm", "pbs"), or NULL. */
const zpar_launcher_t *zpar__launcher_find (const char *name);

/* Wait until conn exists and a client sees n live engines. */
int zpar__launch_wait_ready (const char *conn, int n, double timeout, zpar_error_t *err);

#endif
