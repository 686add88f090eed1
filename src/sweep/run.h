/* run.h - the state of a sweep run, shared by runner.c (the loop, its
 * events, the summary) and dispatch.c (points to tasks, results to the
 * journal).  Internal to src/sweep. */
#ifndef ZPAR__SWEEP_RUN_H
#define ZPAR__SWEEP_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "estimate.h"
#include "journal.h"
#include "outfiles.h"
#include "reactor.h"
#include "resubmit.h"
#include "runlog.h"
#include "runner.h"
#include "spec.h"
#include "zpar.h"

/* Points examined per dispatch burst before results are looked at again. */
#define BURST 1024
/* Failed points listed in the summary. */
#define LIST_FAILED_MAX 10

typedef struct {
    zpar_future_t *f;
    zpar_sweep_task_t *task;
    int adopted; /* f is a task a previous run submitted (zpar_client_future_for) */
    int capped;  /* its timeout is the time left before the stop (deadline.c):
                    a timeout is the end of the allocation, not the point's */
} slot_t;

/* A point chosen by fill(): to adopt (id of its task in flight) or to
 * submit (t, its predicted id). */
typedef struct {
    zpar_sweep_task_t *task;
    zpar_task_t *t; /* NULL: adopt */
    zpar_task_id_t id;
    int capped; /* see slot_t */
} pick_t;

typedef struct {
    uint64_t total;       /* points in the sweep */
    uint64_t skipped_ok;  /* succeeded in an earlier run */
    uint64_t skipped_bad; /* failed in an earlier run, not retried */
    uint64_t ok, failed, lost;
    uint64_t adopted;     /* tasks of an earlier run taken over from the cluster */
    uint64_t resubmitted; /* of them, submitted again (the cluster did not have them) */
    uint64_t seen;        /* points taken from the iterator */
    size_t running;
} counts_t;

typedef struct {
    const zpar_sweep_run_opts_t *opts;
    zpar_sweep_spec_t *spec;
    zpar_journal_t *j;
    zpar_client_t *c;
    zpar_sweep_iter_t *it;
    zpar_sweep_log_t o;
    zpar_sweep_dircache_t dc;
    slot_t *slots;
    size_t *freelist; /* indexes of free slots */
    size_t nfree, window;
    counts_t n;
    double t0, t_first, last_progress;
    int iter_done;
    zpar_reactor_t *reactor;
    zpar_watcher_t *tick;  /* progress line, age of the journal's batch */
    zpar_watcher_t *probe; /* no event for PROBE_IDLE_MS: ask the controller */
    int stop_sig;          /* SIGINT or SIGTERM received (handle_signals) */
    int lost_cluster;
    char *failed_list[LIST_FAILED_MAX];
    size_t nfailed_list;
    int runtime_error; /* file problem: reported, the run goes on */
    int journal_dead;  /* the journal cannot be written: the run stops */
    size_t unrecorded; /* points whose end was in the batch that could not be committed */
    char journal_err[ZPAR_ERROR_TEXT_MAX];
    char cluster_id[40]; /* identity of the cluster ("" unknown: adopt nothing) */
    pick_t picks[BURST];
    size_t adopting;         /* adopted tasks being followed */
    zpar_sweep_task_t *held; /* a point to adopt that waits for room */
    zpar_task_id_t held_id;
    /* walltime (deadline.c) */
    double end;          /* the end of the allocation (Unix s), 0: none */
    double margin;       /* points must be done margin s before the end */
    double grace;        /* stop signal -> SIGKILL (s): points are signalled then */
    double stop_mono;    /* zpar__mono_s () at end - margin */
    double give_up_mono; /* after the stop: stop waiting for results then */
    zpar_sweep_estimator_t *est;
    int time_up;              /* a point was left for lack of time, or the stop came */
    int stopping;             /* the stop came: running points were aborted */
    uint64_t deferred;        /* points left because they would not finish in time */
    uint64_t interrupted;     /* running points stopped at the end (pending) */
    uint64_t unknown_started; /* points started with no estimate at all */
    size_t engines;           /* live engines when the run started */
    double longest;           /* the longest duration expected or seen (s), -1: none */
    /* continuation (resubmit.h) */
    zpar_resubmit_t *rs;
} run_t;

/* ------------------------------------------------ walltime (deadline.c) */

/* Find the end of the allocation (opts->end_time, the job's) and set the
 * margin, and learn the durations the journal holds.  0, or -1 with err
 * (a bad --end-time / $ZPAR_END_TIME). */
int zpar__sweep_deadline_setup (run_t *r, zpar_error_t *err);

/* 1 if task may start now (no end, or expected to finish by the stop
 * time), else 0 (r->deferred counted). */
int zpar__sweep_deadline_admit (run_t *r, const zpar_sweep_task_t *task);

/* A point took wall_s (succeeded): learn it. */
void zpar__sweep_deadline_learn (run_t *r, const zpar_sweep_task_t *task, double wall_s);

/* Called from the loop: when the stop time has come, stop dispatching and
 * abort the running points.  1 when the loop should end now (the stop
 * came and every running point has ended, or waiting longer would pass
 * the end), else 0. */
int zpar__sweep_deadline_tick (run_t *r);

/* How many more points may be submitted now: the free slots; with an end,
 * as long as the window's worth of queued points could still all finish
 * before the stop time, else only as many as keep one point per engine
 * (a point is then submitted when an engine is free to start it, so the
 * decision to start it is taken with the clock of that moment, not when
 * it would have joined a queue). */
size_t zpar__sweep_deadline_room (const run_t *r);

/* Points not done: to run in the next job. */
uint64_t zpar__sweep_deadline_left (const run_t *r);

/* The journal could not be read or written (e: why): the run stops. */
void zpar__sweep_journal_problem (run_t *r, const zpar_error_t *e);

/* Commit the journal's batch now (a failure: zpar__sweep_journal_problem). */
void zpar__sweep_journal_commit (run_t *r);

/* r->cluster_id from r->c's connection file ("" when unknown). */
void zpar__sweep_cluster_identity (run_t *r);

/* Fill the window: record the next points (with the ids their tasks will
 * get) in the journal, commit, then submit them; points a previous run
 * submitted to this cluster are adopted instead.  -2 when the cluster is
 * gone, else 0. */
int zpar__sweep_fill (run_t *r);

/* Hand the results that have arrived to the journal and output files,
 * and commit.  -2 when the cluster is gone, else 0. */
int zpar__sweep_collect (run_t *r);

#endif
