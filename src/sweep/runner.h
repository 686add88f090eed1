/* runner.h - running a sweep on a zpar cluster (its status and report: status.h).
 * Internal (linked into the zpar program; used by `zpar sweep` and by
 * `zpar run --sweep`).
 *
 * zpar__sweep_run loads and validates the sweep file, opens its journal,
 * finds a cluster (or starts a private local one), then walks the points
 * lazily: a point whose success the journal records is skipped, so is a
 * failed one unless retry_failed; every other point becomes one
 * load-balanced command task (argv, env, cwd = its workdir, created first,
 * retries and timeout from the sweep).  At most `window` tasks are
 * outstanding at any time, so memory stays bounded whatever the number of
 * points.  Each result is written to the point's stdout/stderr files
 * (parent directories created) and recorded in the journal (batched;
 * flushed periodically, at the end, and on SIGINT/SIGTERM).
 *
 * The run is a loop on a reactor (reactor.h): its timers refresh the
 * progress line, commit the journal's batch and probe a silent controller;
 * with handle_signals, signal watchers (signalfd) catch SIGINT and SIGTERM.
 * No signal handler is installed: the watchers block the two signals in
 * the calling thread, and leave them blocked (the zpar program blocks them
 * for good in main()).
 *
 * Concurrency: a run holds an exclusive lock (flock) on "<journal>.lock"
 * for its whole duration; a second run of the same journal fails at once
 * (exit ZPAR_SWEEP_EXIT_ERROR, errno EWOULDBLOCK).
 *
 * The runner prints its progress and summary to opts->log (stderr by
 * default): it is command-line code, not library code.
 */
#ifndef ZPAR__SWEEP_RUNNER_H
#define ZPAR__SWEEP_RUNNER_H

#include <stdint.h>
#include <stdio.h>

#include "report.h"
#include "status.h"
#include "zpar.h"
#include "zpar/error.h"

/* Exit codes of zpar__sweep_run (and of `zpar sweep run`). */
typedef enum {
    ZPAR_SWEEP_EXIT_OK = 0,          /* every point of the sweep has succeeded */
    ZPAR_SWEEP_EXIT_FAILED = 1,      /* some point failed (or was left undone), or a
                                        runtime error (journal, files) */
    ZPAR_SWEEP_EXIT_BAD_INPUT = 2,   /* bad sweep file, bad option, journal of another
                                        sweep: nothing ran */
    ZPAR_SWEEP_EXIT_UNREACHABLE = 3, /* no cluster could be reached or started, or the
                                        cluster was lost during the run */
    ZPAR_SWEEP_EXIT_TIME_UP = 75,    /* EX_TEMPFAIL: the end of the allocation
                                        (walltime.h) came with points left to run
                                        (not run, or interrupted: pending) -- "time
                                        is up: N points left for the next job" */
    /* interrupted by signal s (SIGINT, SIGTERM): 128 + s */
} zpar_sweep_exit_t;

/* Default outstanding-task window: max(64, 8 x engines). */
#define ZPAR_SWEEP_WINDOW_MIN        256
#define ZPAR_SWEEP_WINDOW_PER_ENGINE 32

/* stdout/stderr bytes kept per attempt (zpar_task_set_output_cap). */
#define ZPAR_SWEEP_OUTPUT_CAP ((size_t)64 * 1024 * 1024)

typedef struct {
    const char *sweep_path;   /* required */
    const char *journal_path; /* NULL: "<sweep file>.journal.sqlite" */
    /* Cluster, in this order: an already-connected client (not destroyed by
     * the runner); else connection_file; else $ZPAR_CONNECTION_FILE; else
     * the running local/job cluster (zpar_connection_file_find); else, when
     * private_cluster is set, a private local cluster started through the
     * local launcher (as `zpar cluster start -n <engines> --dir <dir>` does,
     * running <zpar_exe> as controller and engines) and stopped at the
     * end (also on SIGINT/SIGTERM).  Its dir is "<output dir>/.cluster"
     * (or a mktemp directory when that path is too long for ipc). */
    zpar_client_t *client;
    const char *connection_file;
    int private_cluster;  /* 1: allowed (zpar sweep run), 0: exit 3 */
    unsigned engines;     /* private cluster size; 0: online cores */
    const char *zpar_exe; /* NULL: /proc/self/exe */
    int retry_failed;     /* also run points recorded as failed */
    unsigned window;      /* max outstanding tasks; 0: default */
    int quiet;            /* print only errors */
    FILE *log;            /* progress, notes, summary; NULL: stderr */
    int handle_signals;   /* 1: watch SIGINT/SIGTERM during the run and stop
                             cleanly (exit 128 + signal) */
    int resubmit;         /* continuation in a batch job (resubmit.h): 0 as the
                             sweep file's `resubmit:` says (none without it);
                             N > 0: at most N jobs in the chain after the first;
                             < 0: never */
    /* walltime (walltime.h, doc/sweeps.md "Walltime") */
    const char *end_time; /* --end-time WHEN; NULL: $ZPAR_END_TIME, else the Slurm or
                             PBS job's end, else none */
    double margin;        /* seconds before the end by which points must be done
                             (running ones are stopped then); 0: the default
                             (zpar__walltime_default_margin) */
    struct zpar_sweep_run_result *result; /* filled at the end when not NULL */
} zpar_sweep_run_opts_t;

/* What a run says about itself at the end (beyond its exit code). */
typedef struct zpar_sweep_run_result {
    int time_up;   /* 1: stopped by the end of the allocation */
    uint64_t left; /* points of the sweep not done (to run: not run yet,
                      pending, interrupted) */
    uint64_t ran;  /* points that ended in this run (succeeded or failed) */
    double end;    /* the end of the allocation (Unix s), 0 when none */
    double margin; /* the margin used (s) */
} zpar_sweep_run_result_t;

/* Run the sweep as described above.  Returns a zpar_sweep_exit_t value
 * (or 128 + signal); on any code other than 0 and 1-for-failed-points,
 * err holds one line explaining why (for bad input: "FILE:LINE:COLUMN:
 * message").  Never returns -1. */
int zpar__sweep_run (const zpar_sweep_run_opts_t *opts, zpar_error_t *err);

#endif
