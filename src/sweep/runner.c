/* runner.c - running a sweep on a zpar cluster: the dispatch loop, on
 * the reactor (signals, timers), results into output files and the
 * journal, the summary. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "cluster.h"
#include "conn.h"
#include "error.h"
#include "journal.h"
#include "outcome.h"
#include "outfiles.h"
#include "reactor.h"
#include "resubmit.h"
#include "run.h"
#include "runlog.h"
#include "runner.h"
#include "spec.h"
#include "zpar.h"

/* How often the live line is refreshed, and the log line written. */
#define LIVE_PERIOD_S 0.2
#define LOG_PERIOD_S  5.0
#define TICK_MS       200
#define GATHER_MS     2 /* results gathered per wake-up when the window is full */
/* Probe the controller after this long without any event. */
#define PROBE_IDLE_MS 5000
/* Failed points listed in the summary. */
#define LIST_REMOVED_MAX 5
/* ------------------------------------------------------------ the run */

static void progress (run_t *r, int force)
{
    double now = zpar__mono_s (), el, rate;
    uint64_t done = r->n.ok + r->n.failed + r->n.lost;
    uint64_t accounted = r->n.skipped_ok + r->n.skipped_bad + done + r->n.running;
    uint64_t left = r->n.total > accounted ? r->n.total - accounted : 0;
    char eta[32], elapsed[32];

    if (r->o.quiet)
        return;
    if (!force && now - r->last_progress < (r->o.live ? LIVE_PERIOD_S : LOG_PERIOD_S))
        return;
    r->last_progress = now;
    el = r->t_first > 0 ? now - r->t_first : 0;
    rate = el > 0 ? (double)done / el : 0;
    if (rate > 0)
        zpar__sweep_fmt_duration ((double)(left + r->n.running) / rate, eta, sizeof (eta));
    else
        snprintf (eta, sizeof (eta), "?");
    zpar__sweep_fmt_duration (now - r->t0, elapsed, sizeof (elapsed));
    if (r->o.live)
        zpar__sweep_progress_line (&r->o,
                                   "%s: %" PRIu64 " done, %" PRIu64 " failed, %zu running, %" PRIu64
                                   " left | %.1f points/s | ETA %s",
                                   zpar__sweep_spec_name (r->spec), r->n.ok,
                                   r->n.failed + r->n.lost, r->n.running, left, rate, eta);
    else
        zpar__sweep_progress_line (&r->o,
                                   "sweep %s: %" PRIu64 " done, %" PRIu64 " failed, %zu running, "
                                   "%" PRIu64 " left, %.1f points/s, ETA %s (%s elapsed)",
                                   zpar__sweep_spec_name (r->spec), r->n.ok,
                                   r->n.failed + r->n.lost, r->n.running, left, rate, eta, elapsed);
}
static int print_removed (const zpar_journal_row_t *row, void *arg)
{
    run_t *r = arg;
    zpar__sweep_note (&r->o, "  removed: point %" PRIu64 " %s (%s)", row->index,
                      row->params_json ? row->params_json : "{}",
                      zpar__journal_state_name (row->state));
    return 0;
}

static int count_removed (const zpar_journal_row_t *row, void *arg)
{
    (void)row;
    (*(uint64_t *)arg)++;
    return 0;
}

/* Abort what we submitted and is still queued (an interrupted run on a
 * cluster that is not ours). */
static void abort_outstanding (run_t *r)
{
    for (size_t s = 0; s < r->window; s++)
        if (r->slots[s].f && !zpar_future_done (r->slots[s].f))
            (void)zpar_client_abort (r->c, zpar_future_id (r->slots[s].f), NULL);
}

static size_t live_engines (zpar_client_t *c)
{
    zpar_engine_info_t *list = NULL;
    size_t n = 0, live = 0;
    if (zpar_client_engines (c, &list, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++)
            if (strcmp (list[i].state, "dead") != 0)
                live++;
        free (list);
    }
    return live;
}

static unsigned default_window (zpar_client_t *c)
{
    size_t live = live_engines (c);
    return live * ZPAR_SWEEP_WINDOW_PER_ENGINE > ZPAR_SWEEP_WINDOW_MIN
               ? (unsigned)(live * ZPAR_SWEEP_WINDOW_PER_ENGINE)
               : ZPAR_SWEEP_WINDOW_MIN;
}

/* ------------------------------------------------------------ events */

/* SIGINT / SIGTERM: stop dispatching, record, leave. */
static void on_signal (zpar_reactor_t *re, zpar_watcher_t *w, int signum, void *arg)
{
    run_t *r = arg;
    if (!r->stop_sig)
        r->stop_sig = signum;
    zpar__reactor_stop (re);
    (void)w;
}

/* The progress line and the age of the journal's batch. */
static void on_tick (zpar_reactor_t *re, zpar_watcher_t *w, int revents, void *arg)
{
    run_t *r = arg;
    zpar_error_t e;
    if (zpar__journal_tick (r->j, &e) < 0)
        zpar__sweep_journal_problem (r, &e);
    progress (r, 0);
    (void)re;
    (void)w;
    (void)revents;
}

/* Nothing heard for PROBE_IDLE_MS while points run: is the controller
 * still there? */
static void on_probe (zpar_reactor_t *re, zpar_watcher_t *w, int revents, void *arg)
{
    run_t *r = arg;
    zpar_queue_status_t qs;
    zpar_error_t e;
    if (r->n.running > 0 && zpar_client_queue_status (r->c, &qs, &e) < 0 && errno == EHOSTUNREACH) {
        zpar__sweep_warn (&r->o, "lost the cluster: %s", e.text);
        r->lost_cluster = 1;
    }
    zpar__timer_watcher_reset (w, PROBE_IDLE_MS, 0);
    (void)re;
    (void)revents;
}

/* Handle the signals and timers that are due, waiting at most timeout_ms
 * for one. */
static void events (run_t *r, long timeout_ms)
{
    (void)zpar__reactor_run_once (r->reactor, timeout_ms);
}

/* Polled while a private cluster starts: give up on a stop signal. */
static int stop_requested (void *arg)
{
    run_t *r = arg;
    events (r, 0);
    return r->stop_sig != 0;
}

/* The reactor with its signal watchers (when opts->handle_signals) and its
 * timers (stopped until the loop starts).  0 / -1 with err. */
static int reactor_setup (run_t *r, zpar_error_t *err)
{
    static const int sigs[] = {SIGINT, SIGTERM};
    if (!(r->reactor = zpar__reactor_create ()))
        return zpar__errprintf (err, "cannot create the event loop: %s", strerror (errno));
    for (size_t i = 0; r->opts->handle_signals && i < sizeof (sigs) / sizeof (sigs[0]); i++) {
        zpar_watcher_t *w = zpar__signal_watcher_create (r->reactor, sigs[i], on_signal, r);
        if (!w)
            return zpar__errprintf (err, "cannot watch signal %d: %s", sigs[i], strerror (errno));
        zpar__watcher_start (w);
    }
    if (!(r->tick = zpar__timer_watcher_create (r->reactor, TICK_MS, TICK_MS, on_tick, r)) ||
        !(r->probe = zpar__timer_watcher_create (r->reactor, PROBE_IDLE_MS, 0, on_probe, r)))
        return zpar__errprintf (err, "cannot create the run's timers: %s", strerror (errno));
    return 0;
}

/* Dispatch and gather until every point is done, a stop signal, or the
 * loss of the cluster. */
static void loop (run_t *r)
{
    zpar_error_t e;
    zpar__watcher_start (r->tick);
    zpar__watcher_start (r->probe);
    for (;;) {
        int nev;
        events (r, 0);
        if (r->stop_sig || r->lost_cluster || r->journal_dead)
            break;
        if (zpar__sweep_deadline_tick (r))
            break;
        if (zpar__sweep_fill (r) == -2) {
            r->lost_cluster = 1;
            break;
        }
        /* a point to run: the continuation goes now, so that a job killed
         * without a word still has one (resubmit.h) */
        if (r->n.running > 0 && r->rs && !r->rs->early_tried) {
            zpar__sweep_log_clear (&r->o);
            (void)zpar__resubmit_early (r->rs, r->j, r->o.log);
        }
        if (r->iter_done && !r->held && r->n.running == 0)
            break;
        /* wait only when there is nothing to dispatch now; then let results
         * gather for a moment, so that one wake-up handles many of them
         * (waking per result costs more than the work on a busy node) */
        if (zpar__sweep_deadline_room (r) > 0 && !r->iter_done && !r->held && !r->stopping)
            nev = zpar_client_poll (r->c, 0, &e);
        else {
            events (r, GATHER_MS);
            nev = zpar_client_poll (r->c, 0, &e);
            if (nev == 0 && !r->stop_sig)
                nev = zpar_client_poll (r->c, LIVE_PERIOD_S, &e);
        }
        if (nev < 0 && errno != EINTR) {
            zpar__sweep_warn (&r->o, "%s", e.text);
            r->lost_cluster = 1;
            break;
        }
        if (nev > 0)
            zpar__timer_watcher_reset (r->probe, PROBE_IDLE_MS, 0);
        if (zpar__sweep_collect (r) == -2) {
            r->lost_cluster = 1;
            break;
        }
    }
    zpar__watcher_stop (r->tick);
    zpar__watcher_stop (r->probe);
}

/* ------------------------------------------------------------ the end */

/* After the loop: what was removed from the sweep, what failed, the
 * counts; the exit code. */
static int summary (run_t *r, int own_cluster, zpar_error_t *err)
{
    zpar_error_t e;
    int sig = r->stop_sig;

    if (r->time_up)
        zpar__sweep_log_clear (&r->o);
    if (sig) {
        zpar__sweep_note (&r->o,
                          "interrupted by signal %d: stopping (%zu points were running; they "
                          "will run again next time)",
                          sig, r->n.running);
        /* on a shared cluster, take our queued tasks back; a caller that
         * handed us its client (zpar run) shuts its cluster down itself */
        if (!own_cluster && !r->lost_cluster && !r->opts->client)
            abort_outstanding (r);
    }
    if (!r->journal_dead && zpar__journal_flush (r->j, &e) < 0)
        zpar__sweep_journal_problem (r, &e);
    zpar__sweep_log_clear (&r->o);
    if (r->n.adopted)
        zpar__sweep_note (&r->o,
                          "%" PRIu64 " points submitted by an earlier run were taken over from "
                          "the cluster (%" PRIu64 " of them had to be submitted again)",
                          r->n.adopted, r->n.resubmitted);

    /* removed points (only known once every point has been seen) */
    if (r->iter_done) {
        uint64_t nrem = 0;
        if (zpar__journal_foreach_removed (r->j, count_removed, &nrem, &e) < 0)
            zpar__sweep_journal_problem (r, &e);
        else if (nrem) {
            zpar__sweep_note (&r->o,
                              "%" PRIu64 " point%s in the journal %s no longer in the sweep "
                              "(removed):",
                              nrem, nrem > 1 ? "s" : "", nrem > 1 ? "are" : "is");
            if (nrem <= LIST_REMOVED_MAX)
                (void)zpar__journal_foreach_removed (r->j, print_removed, r, NULL);
            else
                zpar__sweep_note (&r->o, "  (see zpar sweep status)");
        }
    }

    for (size_t i = 0; i < r->nfailed_list; i++)
        zpar__sweep_note (&r->o, "%s", r->failed_list[i]);
    if (r->n.failed + r->n.lost > r->nfailed_list && r->nfailed_list)
        zpar__sweep_note (&r->o, "... and %" PRIu64 " more (zpar sweep report)",
                          r->n.failed + r->n.lost - r->nfailed_list);
    {
        char extra[128] = "";
        if (r->n.skipped_bad)
            snprintf (extra, sizeof (extra),
                      ", %" PRIu64 " skipped (failed before; --retry-failed runs them)",
                      r->n.skipped_bad);
        if (r->time_up) {
            size_t l = strlen (extra);
            snprintf (extra + l, sizeof (extra) - l, ", %" PRIu64 " left for the next job",
                      zpar__sweep_deadline_left (r));
        }
        zpar__sweep_note (&r->o,
                          "%" PRIu64 " points: %" PRIu64 " succeeded, %" PRIu64 " failed, %" PRIu64
                          " skipped (already done)%s in %.1f s",
                          r->n.total, r->n.ok, r->n.failed + r->n.lost, r->n.skipped_ok, extra,
                          zpar__mono_s () - r->t0);
    }
    if (sig)
        return 128 + sig;
    if (r->journal_dead) {
        zpar__errprintf (err,
                         "the journal cannot be written (%s): the run stopped with %zu points "
                         "running and %zu ended but not recorded (they run again next time); "
                         "nothing was recorded as done that was not: free space and run again "
                         "to resume",
                         r->journal_err, r->n.running, r->unrecorded);
        return ZPAR_SWEEP_EXIT_FAILED;
    }
    if (r->lost_cluster) {
        zpar__errnoprintf (err, EHOSTUNREACH,
                           "lost the cluster; the journal has been saved, run again to resume");
        return ZPAR_SWEEP_EXIT_UNREACHABLE;
    }
    if (r->time_up && zpar__sweep_deadline_left (r) > 0) {
        zpar__errprintf (err,
                         "time is up: %" PRIu64 " points left for the next job (%" PRIu64
                         " interrupted at the end, %zu not heard of since; the others were "
                         "not started: they would not have finished %.0f s before the end)",
                         zpar__sweep_deadline_left (r), r->interrupted, r->n.running,
                         r->margin + r->grace);
        return ZPAR_SWEEP_EXIT_TIME_UP;
    }
    if (r->iter_done && r->n.failed == 0 && r->n.lost == 0 && r->n.skipped_bad == 0 &&
        !r->runtime_error && r->n.ok + r->n.skipped_ok == r->n.total)
        return ZPAR_SWEEP_EXIT_OK;
    if (r->runtime_error)
        zpar__errprintf (err, "some points could not be run or recorded (see above)");
    else
        zpar__errprintf (err, "%" PRIu64 " points did not succeed",
                         r->n.failed + r->n.lost + r->n.skipped_bad);
    return ZPAR_SWEEP_EXIT_FAILED;
}

/* ------------------------------------------------------------ continuation */

/* Continuations allowed: the option, else the sweep file's key. */
static int resubmit_limit (const zpar_sweep_run_opts_t *opts, const zpar_sweep_spec_t *spec)
{
    if (opts->resubmit)
        return opts->resubmit > 0 ? opts->resubmit : 0;
    return zpar__sweep_spec_resubmit (spec);
}

/* The job's row in the journal and, when the time is up with points left,
 * the next job of the chain (resubmit.h). */
static void continuation (run_t *r, zpar_resubmit_t *rs, int rc)
{
    zpar_run_end_t how = ZPAR_RUN_END_ERROR;
    int64_t left = (int64_t)zpar__sweep_deadline_left (r);
    char next[128];
    zpar_error_t e = {{0}};

    if (rc == ZPAR_SWEEP_EXIT_TIME_UP)
        how = ZPAR_RUN_END_TIME_UP;
    else if (rc > 128)
        how = ZPAR_RUN_END_SIGNAL;
    else if ((rc == ZPAR_SWEEP_EXIT_OK || rc == ZPAR_SWEEP_EXIT_FAILED) && r->iter_done &&
             !r->journal_dead && !r->runtime_error)
        how = ZPAR_RUN_END_FINISHED;
    if (r->journal_dead)
        return;
    zpar__sweep_log_clear (&r->o);
    /* it says on the log what it decided, and any failure */
    (void)zpar__resubmit_end (rs, r->j, how, rc > 128 ? rc - 128 : 0, (int64_t)r->n.ok,
                              (int64_t)r->n.failed, left, r->o.log, next, sizeof (next), &e);
}

int zpar__sweep_run (const zpar_sweep_run_opts_t *opts, zpar_error_t *err)
{
    run_t r;
    zpar_sweep_private_t pc;
    char *jpath = NULL;
    int lockfd = -1, rc = ZPAR_SWEEP_EXIT_FAILED, requeued = 0, changed = 0;
    int own_client = 0;
    zpar_resubmit_t rs;

    memset (&r, 0, sizeof (r));
    memset (&pc, 0, sizeof (pc));
    r.opts = opts;
    if (!opts || !opts->sweep_path) {
        zpar__errnoprintf (err, EINVAL, "no sweep file");
        return ZPAR_SWEEP_EXIT_BAD_INPUT;
    }
    zpar__sweep_log_init (&r.o, opts->log, opts->quiet);
    r.t0 = zpar__mono_s ();

    if (!(r.spec = zpar__sweep_spec_load (opts->sweep_path, err)))
        return errno == ENOMEM ? ZPAR_SWEEP_EXIT_FAILED : ZPAR_SWEEP_EXIT_BAD_INPUT;
    if (!(jpath = opts->journal_path ? strdup (opts->journal_path)
                                     : zpar__sweep_spec_journal_path (r.spec))) {
        zpar__errprintf (err, "out of memory");
        goto done;
    }
    if ((lockfd = zpar__journal_lock (jpath, err)) < 0)
        goto done;
    if (!(r.j = zpar__journal_open (jpath, zpar__sweep_spec_name (r.spec), err))) {
        rc = errno == EEXIST ? ZPAR_SWEEP_EXIT_BAD_INPUT : ZPAR_SWEEP_EXIT_FAILED;
        goto done;
    }
    if (reactor_setup (&r, err) < 0)
        goto done;
    /* the end of the allocation, before any cluster is started */
    if (zpar__sweep_deadline_setup (&r, err) < 0) {
        rc = ZPAR_SWEEP_EXIT_BAD_INPUT;
        goto done;
    }

    /* the cluster */
    if (opts->client)
        r.c = opts->client;
    else {
        if (!(r.c = zpar__sweep_connect (opts, r.spec, &pc, &r.o, stop_requested, &r, err))) {
            rc = errno == EINTR && r.stop_sig ? 128 + r.stop_sig : ZPAR_SWEEP_EXIT_UNREACHABLE;
            goto done;
        }
        own_client = 1;
    }
    zpar__sweep_cluster_identity (&r);
    r.window = opts->window ? opts->window : default_window (r.c);
    if (r.end > 0) {
        /* with an end, the window narrows to one point per engine when
         * the end is near (zpar__sweep_deadline_room) */
        r.engines = live_engines (r.c);
        if (r.engines < 1)
            r.engines = 1;
    }
    if (!(r.slots = calloc (r.window, sizeof (*r.slots))) ||
        !(r.freelist = calloc (r.window, sizeof (*r.freelist))) ||
        !(r.it = zpar__sweep_spec_iter_create (r.spec))) {
        zpar__errprintf (err, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < r.window; i++)
        r.freelist[i] = r.window - 1 - i;
    r.nfree = r.window;

    if (zpar__journal_begin_run (r.j, zpar__sweep_spec_file_hash (r.spec), &requeued, &changed,
                                 err) < 0 ||
        zpar__journal_current_clear (r.j, err) < 0)
        goto done;
    if (requeued)
        zpar__sweep_note (&r.o, "%d points interrupted in an earlier run will run again", requeued);
    if (changed)
        zpar__sweep_note (&r.o, "the sweep file changed since the last run: new and changed "
                                "points will run");
    r.n.total = zpar__sweep_spec_count (r.spec);

    if (zpar__mkdir_p (zpar__sweep_spec_output_dir (r.spec), 0777) < 0) {
        zpar__errprintf (err, "cannot create the output directory %s: %s",
                         zpar__sweep_spec_output_dir (r.spec), strerror (errno));
        goto done;
    }

    {
        int b = zpar__resubmit_begin (&rs, r.j, resubmit_limit (opts, r.spec), r.o.log, err);
        if (b < 0)
            goto done;
        if (b == 1) {
            zpar__sweep_log_clear (&r.o);
            rc = ZPAR_SWEEP_EXIT_FAILED;
            goto done;
        }
    }
    r.rs = &rs;
    loop (&r);
    rc = summary (&r, pc.started, err);
    continuation (&r, &rs, rc);
    if (opts->result) {
        opts->result->time_up = rc == ZPAR_SWEEP_EXIT_TIME_UP;
        opts->result->left = zpar__sweep_deadline_left (&r);
        opts->result->ran = r.n.ok + r.n.failed;
        opts->result->end = r.end;
        opts->result->margin = r.margin;
    }

done:
    if (r.slots) {
        for (size_t s = 0; s < r.window; s++) {
            zpar_future_destroy (r.slots[s].f);
            zpar__sweep_task_destroy (r.slots[s].task);
        }
    }
    free (r.slots);
    free (r.freelist);
    for (size_t i = 0; i < r.nfailed_list; i++)
        free (r.failed_list[i]);
    zpar__sweep_task_destroy (r.held);
    zpar__estimator_destroy (r.est);
    zpar__sweep_iter_destroy (r.it);
    if (own_client)
        zpar_client_destroy (r.c);
    zpar__sweep_private_stop (&pc, &r.o, 0);
    zpar__journal_close (r.j);
    if (lockfd >= 0)
        close (lockfd);
    /* the signals stay blocked in this thread: the program's main() blocks
     * them for good (reactor.h); one that arrives now is not lost */
    zpar__reactor_destroy (r.reactor);
    zpar__sweep_spec_destroy (r.spec);
    free (jpath);
    return rc;
}
