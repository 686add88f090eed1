/* resubmit_int.h - what resubmit_chain.c (the rules of continuation) uses
 * of resubmit.c (the scheduler commands).  Internal to src/sweep. */
#ifndef ZPAR__SWEEP_RESUBMIT_INT_H
#define ZPAR__SWEEP_RESUBMIT_INT_H

#include <stddef.h>

#include "resubmit.h"
#include "zpar/error.h"

/* Run argv (without the job's variables, resubmit.h) in cwd (NULL: here),
 * its stdout into out (NUL-terminated).  0 when it exited 0, else -1 with
 * err. */
int zpar__resubmit_run (char *const *argv, const char *cwd, char *out, size_t size,
                        zpar_error_t *err);

/* Submit the continuation of job (sbatch / qsub, resubmit.h); its id into
 * next.  0 / -1 with err. */
int zpar__resubmit_submit (zpar_batch_kind_t kind, const char *job, char *next, size_t size,
                           zpar_error_t *err);

/* The job's state: Slurm's name ("RUNNING", "CANCELLED"...; all: also a
 * job that has ended, `squeue -t all`; "" when Slurm no longer knows it),
 * followed by "|" and Slurm's reason unless all ("COMPLETING|TimeLimit");
 * PBS's letter ("R", ...).  0 / -1 with err. */
int zpar__resubmit_state (zpar_batch_kind_t kind, const char *job, int all, char *state,
                          size_t size, zpar_error_t *err);

/* Cancel a job (scancel / qdel).  0 / -1 with err. */
int zpar__resubmit_cancel (zpar_batch_kind_t kind, const char *job, zpar_error_t *err);

#endif
