/* walltime.h - when the allocation a sweep runs in ends.  Internal (the
 * sweep runner, `zpar run --sweep`, the continuation of a sweep in a new
 * job).
 *
 * The end is a point in time (Unix seconds), found in this order:
 *
 *   1. the option (`--end-time WHEN`, see zpar__walltime_parse); "none"
 *      means: no end, whatever the environment says;
 *   2. $ZPAR_END_TIME (the same forms);
 *   3. Slurm ($SLURM_JOB_ID set): the job's end time as slurmctld has it
 *      now (`squeue -h -j ID -o %e`, which follows `scontrol update
 *      TimeLimit`), else $SLURM_JOB_END_TIME;
 *   4. PBS ($PBS_JOBID set): now + the job's walltime limit - the walltime
 *      it has used (`qstat -f ID`: Resource_List.walltime,
 *      resources_used.walltime), else $PBS_WALLTIME (the limit, counted
 *      from now);
 *   5. none: the run has no end (the sweep behaves as it always did).
 *
 * A sweep run that knows its end never starts a point that it does not
 * expect to finish before the end (less a safety margin), stops the points
 * still running when the margin begins (they are recorded as interrupted:
 * pending, never failed), and then exits with ZPAR_SWEEP_EXIT_TIME_UP
 * (runner.h: 75, EX_TEMPFAIL) when points are left for the next job.
 * doc/sweeps.md, "Walltime", is the user's side of this.
 */
#ifndef ZPAR__SWEEP_WALLTIME_H
#define ZPAR__SWEEP_WALLTIME_H

#include "zpar/error.h"

/* Where the end came from. */
typedef enum {
    ZPAR_WALLTIME_NONE = 0, /* no end known (or --end-time none) */
    ZPAR_WALLTIME_OPTION,   /* --end-time */
    ZPAR_WALLTIME_ENV,      /* $ZPAR_END_TIME */
    ZPAR_WALLTIME_SLURM,    /* the Slurm job's end time */
    ZPAR_WALLTIME_PBS,      /* the PBS job's walltime limit */
} zpar_walltime_source_t;

typedef struct {
    double end;                    /* Unix time in seconds; 0 when none */
    zpar_walltime_source_t source; /* ZPAR_WALLTIME_NONE when none */
    char what[160];                /* for people: "Slurm job 42: ends 2026-12-02 03:15:00" */
} zpar_walltime_t;

/* Seconds the squeue / qstat call may take before it is given up (the
 * end is then unknown, with a warning in err). */
#define ZPAR_WALLTIME_QUERY_TIMEOUT 15.0

/* The end of the allocation, looked up as described above.  option is the
 * --end-time text or NULL.  0 with *out filled (out->source NONE and end 0
 * when there is none); -1 with EINVAL and err when option or
 * $ZPAR_END_TIME cannot be read.  A scheduler that does not answer is not
 * an error: 0 with no end, and err (when not NULL) says why. */
int zpar__walltime_end (const char *option, zpar_walltime_t *out, zpar_error_t *err);

/* Read WHEN, relative to now (Unix seconds):
 *   "+DURATION"              now + a duration ("+90", "+10m", "+1h30m")
 *   "@SECONDS"               Unix time
 *   "YYYY-MM-DDTHH:MM[:SS]"  local time ('T' or one space; a final 'Z':
 *                            UTC)
 *   "HH:MM[:SS]"             today at that local time, or tomorrow when it
 *                            has passed
 *   "none"                   no end: *end = 0
 * 0 and *end, or -1 with EINVAL and err (*end unchanged). */
int zpar__walltime_parse (const char *text, double now, double *end, zpar_error_t *err);

/* A Slurm or PBS duration "[D-]HH:MM:SS", "MM:SS", "SS" (also "HH:MM:SS"
 * with HH >= 24) in seconds.  0, or -1 with EINVAL. */
int zpar__walltime_hms (const char *text, double *secs);

/* The first line of `squeue -o %e` ("2026-12-02T03:15:00", local time).
 * 0 and *end; -1 with ENOENT for "Unknown", "N/A", "NONE", "INVALID" or an
 * empty answer, EINVAL for anything else. */
int zpar__walltime_parse_slurm (const char *text, double *end);

/* The output of `qstat -f JOB`: *end = now + Resource_List.walltime -
 * resources_used.walltime (0 used when absent).  0, or -1 with ENOENT
 * (no walltime limit) or EINVAL. */
int zpar__walltime_parse_pbs (const char *text, double now, double *end);

/* "option", "ZPAR_END_TIME", "Slurm", "PBS", "none". */
const char *zpar__walltime_source_name (zpar_walltime_source_t s);

/* The default safety margin for an allocation of `length` seconds from
 * the run's start to its end: 10 % of it, at least 5 s and at most 60 s. */
double zpar__walltime_default_margin (double length);

#endif
