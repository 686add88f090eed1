/* resubmit.h - automatic continuation of a sweep run in a batch job.
 * Internal (linked into the zpar program; used by the sweep runner and
 * `zpar sweep status`).
 *
 * A sweep run inside a Slurm or PBS job records the job in the journal's
 * `jobs` table when it starts (its id, its place in the chain) and, when it
 * ends, what it did (points succeeded and failed in the job, points left,
 * how it ended, the continuation it submitted).  With a resubmit limit, a
 * run that ends because the allocation's time is up (the runner's "time is
 * up" status ZPAR_SWEEP_EXIT_TIME_UP, or SIGTERM while the job is still
 * running -- Slurm state RUNNING or SIGNALING, or COMPLETING for reason
 * TimeLimit (ended by Slurm at its limit); PBS state R: Slurm's --signal,
 * PBS's walltime warning) with points left submits the next job of the
 * chain before it exits:
 *
 *   Slurm: sbatch --dependency=afterany:$SLURM_JOB_ID of the job's own
 *          batch script (`scontrol write batch_script`), with the options
 *          the job record holds (`scontrol show job`: name, partition,
 *          account, QOS, time limit, tasks, CPUs per task, tasks per node,
 *          memory, working directory, output files with the job id put
 *          back as %j);
 *   PBS:   qsub -W depend=afterany:$PBS_JOBID with the job's submit
 *          arguments (`qstat -f`: Submit_arguments).
 *
 * The continuation starts when this job ends, whatever its exit status, and
 * resumes from the journal.  No continuation is submitted when the limit of
 * the chain is reached, when the job made no progress (no point ended in
 * it: the next job could not do better), when the job was cancelled
 * (scancel: not RUNNING any more), or when this job already submitted one.
 * Every decision is one line in the run's log.
 *
 * A job can also die without a word (node failure, SIGKILL of the runner,
 * the OOM killer): so the continuation is submitted EARLY, as soon as the
 * run has a point to run (zpar__resubmit_early), held by its dependency
 * until this job ends, and the end of the run keeps it (the rules above say
 * continue) or cancels it (scancel / qdel: the sweep is done, no progress,
 * the job was cancelled, an error).  A job killed without a word leaves it
 * in place, and it runs.  The next job then records what the killed one
 * did (its points' ends in the journal: outcome "killed"); after a killed
 * job that ended no point, no continuation is submitted early (only at the
 * end, by the rules).  A continuation whose job before was CANCELLED
 * (scancel while its run could not cancel the continuation itself) does
 * not run the sweep.  The chain's limit bounds every continuation.
 *
 * Programs run: squeue, scontrol, sbatch, scancel (Slurm), qstat, qsub,
 * qdel (PBS), found in PATH, each bounded by ZPAR_RESUBMIT_CMD_TIMEOUT
 * seconds.  The
 * environment the continuation sees is this process's, without what Slurm,
 * PBS, PMIx and MPI set for this job and its steps (they would describe
 * the old job to the new one); the user's SBATCH_* settings stay (the
 * continuation's sbatch reads them again).
 */
#ifndef ZPAR__SWEEP_RESUBMIT_H
#define ZPAR__SWEEP_RESUBMIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "journal.h"
#include "spec.h"
#include "zpar/error.h"

/* Continuations when --resubmit (or `resubmit: true`) gives no number,
 * and the most one may ask for. */
#define ZPAR_RESUBMIT_DEFAULT_LIMIT ZPAR_SWEEP_RESUBMIT_DEFAULT
#define ZPAR_RESUBMIT_MAX           ZPAR_SWEEP_RESUBMIT_MAX
/* Seconds each scheduler command may take. */
#define ZPAR_RESUBMIT_CMD_TIMEOUT 60.0

typedef enum {
    ZPAR_BATCH_NONE = 0,
    ZPAR_BATCH_SLURM = 1,
    ZPAR_BATCH_PBS = 2,
} zpar_batch_kind_t;

/* How a sweep run ended, as far as continuation is concerned. */
typedef enum {
    ZPAR_RUN_END_FINISHED = 0, /* every point was taken to its end */
    ZPAR_RUN_END_TIME_UP = 1,  /* the runner stopped because the allocation ends */
    ZPAR_RUN_END_SIGNAL = 2,   /* stopped by a signal (SIGTERM: maybe the walltime) */
    ZPAR_RUN_END_ERROR = 3,    /* lost cluster, journal problem, ... */
} zpar_run_end_t;

/* One job of a sweep's chain (a row of the journal's jobs table).  Strings
 * belong to the journal and are valid during the callback only. */
typedef struct {
    const char *job;            /* the scheduler's job id */
    const char *scheduler;      /* "slurm" or "pbs" */
    int chain;                  /* 0: submitted by hand; k: the k-th continuation */
    double started, ended;      /* Unix time; ended is 0 while it runs (or if it died) */
    int64_t done, failed, left; /* points succeeded and failed in the job, and left at its
                                   end; -1 while it runs (left: also when it was killed) */
    const char *outcome;        /* "finished", "time up", "signal 15", ...; NULL while it runs */
    const char *next_job;       /* the continuation it submitted, or NULL */
} zpar_sweep_job_t;

typedef int (*zpar_sweep_job_f) (const zpar_sweep_job_t *job, void *arg);

/* The state of continuation for one run. */
typedef struct {
    zpar_batch_kind_t kind;
    char job[128];   /* $SLURM_JOB_ID / $PBS_JOBID ("" outside a job) */
    int limit;       /* continuations allowed in the chain; 0: none */
    int chain;       /* this job's place in its chain */
    int recorded;    /* the job's row was written */
    int has_next;    /* this job already submitted a continuation */
    char prev[128];  /* the job before this one in the chain ("" none) */
    int prev_idle;   /* it was killed with no point ended in it */
    int early_tried; /* zpar__resubmit_early has decided */
    char early[128]; /* the continuation submitted early ("" none) */
} zpar_resubmit_t;

/* The job this process runs in, from the environment: SLURM_JOB_ID (Slurm)
 * or PBS_JOBID (PBS); ZPAR_BATCH_NONE outside a batch job.  id gets the
 * job's id ("" outside). */
zpar_batch_kind_t zpar__batch_job_detect (char *id, size_t size);

/* Start of a run: detect the job, and when there is one record it in the
 * journal (committed at once) and learn its place in the chain (and
 * record the end of the job before it when that one was killed).  limit:
 * continuations allowed (0: none).  Outside a batch job nothing is
 * recorded.  0; 1 (errno ECANCELED, err says why) when the job before
 * this one was cancelled: the run must not go on; -1 with errno and err
 * (the journal could not be written).  log (may be NULL) gets a line
 * about a killed job before. */
int zpar__resubmit_begin (zpar_resubmit_t *rs, zpar_journal_t *j, int limit, FILE *log,
                          zpar_error_t *err);

/* The run has a point to run: submit the continuation now (once per run;
 * by the rules: a limit, room in the chain, none submitted yet, the job
 * before not killed idle), recorded as the job's next job at once.  1
 * submitted, 0 not (by the rules), -1 submitting failed (said on log; the
 * end tries again). */
int zpar__resubmit_early (zpar_resubmit_t *rs, zpar_journal_t *j, FILE *log);

/* End of a run: record the job's counts and outcome, and submit the
 * continuation when the rules above say so (a line on log says what was
 * decided and why; log may be NULL).  next gets the new job's id ("" when
 * none was submitted).  1 when a continuation was submitted, 0 when none
 * was (by the rules), -1 when submitting failed (err: why; the job's row
 * is still recorded). */
int zpar__resubmit_end (zpar_resubmit_t *rs, zpar_journal_t *j, zpar_run_end_t how, int sig,
                        int64_t done, int64_t failed, int64_t left, FILE *log, char *next,
                        size_t size, zpar_error_t *err);

/* ------------------------------------------------------------ the jobs table */

/* Insert a row for job (started now); *chain gets 1 + the chain place of the
 * job whose continuation it is (the latest row whose next_job is job), else
 * 0; *has_next (may be NULL) is 1 when a row of this job id already names a
 * continuation.  Committed before it returns (the journal's pending batch
 * is committed first). */
int zpar__journal_job_begin (zpar_journal_t *j, const char *job, const char *scheduler, int *chain,
                             int *has_next, zpar_error_t *err);

/* Fill the latest row of job: ended now, the counts, the outcome, and
 * next_job when not NULL.  Committed before it returns.  ENOENT when the
 * job has no row. */
int zpar__journal_job_end (zpar_journal_t *j, const char *job, int64_t done, int64_t failed,
                           int64_t left, const char *outcome, const char *next_job,
                           zpar_error_t *err);

/* Set (next_job) or clear (NULL) the next job of job's latest row.
 * Committed before it returns. */
int zpar__journal_job_next (zpar_journal_t *j, const char *job, const char *next_job,
                            zpar_error_t *err);

/* The job before job in the chain (the latest row whose next_job is job):
 * its id into prev ("" when none).  When that row has no end (its run was
 * killed), fill it from the points that ended since it started: ended =
 * the last of them (else its start), done and failed their counts, left
 * unknown (NULL), outcome "killed"; *killed = 1 and *progress = done +
 * failed (else 0 and 0).  Committed before it returns. */
int zpar__journal_job_settle_prev (zpar_journal_t *j, const char *job, char *prev, size_t size,
                                   int *killed, int64_t *progress, zpar_error_t *err);

/* Every job row, in the order the jobs started.  Return as
 * zpar__journal_foreach. */
int zpar__journal_foreach_job (zpar_journal_t *j, zpar_sweep_job_f cb, void *arg,
                               zpar_error_t *err);

/* Write the chain of jobs for `zpar sweep status`: a table (json = 0) or
 * a JSON array (json = 1; "[]" without jobs).  0 / -1 with err. */
int zpar__resubmit_print_chain (zpar_journal_t *j, FILE *out, int json, zpar_error_t *err);

/* ------------------------------------------------------------ pieces (tested alone) */

/* From the text of `scontrol show job` (multi-line form), the sbatch
 * options that ask for the same job again (see above), as a
 * NULL-terminated malloc'd vector of malloc'd strings; job_id is replaced
 * by %j in the output paths.  NULL with errno (ENOMEM; EINVAL: no JobId in
 * the text) and err. */
char **zpar__resubmit_slurm_options (const char *show_job, const char *job_id, zpar_error_t *err);

/* From the text of `qstat -f JOB`, the Submit_arguments value (lines
 * joined), malloc'd; NULL with ENOENT when absent. */
char *zpar__resubmit_pbs_submit_args (const char *qstat_f);

/* Split a PBS Submit_arguments value into words (blanks separate, single
 * and double quotes group; no other shell processing), malloc'd vector;
 * NULL with errno (EINVAL: an unterminated quote, ENOMEM). */
char **zpar__resubmit_split_words (const char *s);

/* 1 when the environment entry "NAME=VALUE" describes the job or its step
 * (SLURM_*, SRUN_*, PBS_*, PMIX_*, PMI_*, OMPI_* set by the launcher, ...)
 * and must not reach a continuation; SLURM_CONF and user settings
 * (SBATCH_*, OMPI_MCA_*) are kept. */
int zpar__resubmit_env_drop (const char *entry);

/* Free a vector returned above.  NULL-safe. */
void zpar__resubmit_strv_free (char **v);

#endif
