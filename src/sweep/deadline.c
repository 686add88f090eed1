/* deadline.c - a sweep run that knows when its allocation ends
 * (walltime.h): points are started only when they are expected to finish
 * by the stop time (the end less a margin), the running ones are stopped
 * when it comes (recorded as interrupted: pending), and the durations are
 * learned from the journal as points finish (estimate.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "error.h"
#include "run.h"
#include "walltime.h"

/* After the stop (the stop signal: each point's engine sends it when the
 * point's timeout, capped at this moment, ends; SIGKILL follows after the
 * stop grace): wait for the points' results the grace plus half the
 * margin, at least STOP_MIN_S and at most STOP_WAIT_S more.  One that has
 * not answered by then stays 'running' in the journal: the next run takes
 * it as interrupted too. */
#define STOP_WAIT_S 10.0
#define STOP_MIN_S  3.0

static double real_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int learn_row (const zpar_journal_row_t *row, void *arg)
{
    run_t *r = arg;
    if (row->state == ZPAR_JSTATE_SUCCEEDED && row->wall_s >= 0 && row->params_json) {
        (void)zpar__estimator_learn (r->est, row->params_json, row->wall_s);
        if (row->wall_s > r->longest)
            r->longest = row->wall_s;
    }
    return 0;
}

int zpar__sweep_deadline_setup (run_t *r, zpar_error_t *err)
{
    zpar_walltime_t wt;
    zpar_error_t why = {{0}};
    const char *const *by;
    size_t nby;
    double now, mono, grace;
    char when[32] = "?";
    struct tm tm;
    time_t t;

    if (zpar__walltime_end (r->opts->end_time, &wt, &why) < 0)
        return zpar__errnoprintf (err, EINVAL, "%s", why.text);
    if (wt.source == ZPAR_WALLTIME_NONE) {
        if (why.text[0])
            zpar__sweep_warn (&r->o, "%s: running with no end time", why.text);
        return 0;
    }
    now = real_now ();
    mono = zpar__mono_s ();
    r->end = wt.end;
    r->longest = -1;
    r->margin =
        r->opts->margin > 0 ? r->opts->margin : zpar__walltime_default_margin (wt.end - now);
    /* points are signalled stop-grace before the margin begins, so that
     * they are gone (SIGKILL) when it does */
    (void)zpar__sweep_spec_stop_signal (r->spec, &grace);
    r->grace = grace > 0 ? grace : 1;
    r->stop_mono = mono + (wt.end - now) - r->margin - r->grace;
    by = zpar__sweep_spec_estimate_by (r->spec, &nby);
    if (!(r->est = zpar__estimator_create (by, nby)))
        return zpar__errprintf (err, "out of memory");
    if (zpar__journal_foreach (r->j, learn_row, r, err) < 0)
        return -1;
    t = (time_t)(wt.end - r->margin - r->grace);
    if (localtime_r (&t, &tm))
        strftime (when, sizeof (when), "%H:%M:%S", &tm);
    zpar__sweep_note (&r->o,
                      "%s (%s); points must be done by %s (margin %.0f s, stop grace %.0f s): "
                      "those that would not finish by then are left for the next job",
                      wt.what, zpar__walltime_source_name (wt.source), when, r->margin, r->grace);
    if (r->stop_mono <= mono)
        zpar__sweep_warn (&r->o, "the end is %s: no point can start",
                          wt.end <= now ? "past" : "within the margin");
    return 0;
}

int zpar__sweep_deadline_admit (run_t *r, const zpar_sweep_task_t *task)
{
    double est, timeout, now;
    if (!r->end)
        return 1;
    now = zpar__mono_s ();
    if (r->stopping || now >= r->stop_mono)
        goto defer;
    est = task->estimate >= 0 ? task->estimate
                              : zpar__estimator_get (r->est, task->params_json, NULL);
    /* a point cannot run longer than its timeout */
    timeout = zpar__sweep_spec_timeout (r->spec);
    if (timeout > 0 && (est < 0 || est > timeout))
        est = timeout;
    if (est > r->longest)
        r->longest = est;
    if (est < 0) {
        /* nothing known yet: the first points teach us */
        r->unknown_started++;
        return 1;
    }
    if (now + est <= r->stop_mono)
        return 1;
defer:
    r->deferred++;
    r->time_up = 1;
    return 0;
}

void zpar__sweep_deadline_learn (run_t *r, const zpar_sweep_task_t *task, double wall_s)
{
    if (r->est)
        (void)zpar__estimator_learn (r->est, task->params_json, wall_s);
    if (r->end && wall_s > r->longest)
        r->longest = wall_s;
}

int zpar__sweep_deadline_tick (run_t *r)
{
    double now;
    if (!r->end)
        return 0;
    now = zpar__mono_s ();
    if (!r->stopping && now >= r->stop_mono) {
        size_t n = 0;
        r->stopping = 1;
        r->time_up = 1;
        r->give_up_mono = now + r->grace +
                          (r->margin / 2 > STOP_WAIT_S  ? STOP_WAIT_S
                           : r->margin / 2 < STOP_MIN_S ? STOP_MIN_S
                                                        : r->margin / 2);
        for (size_t s = 0; s < r->window; s++)
            if (r->slots[s].f && !zpar_future_done (r->slots[s].f)) {
                /* ours: taken back if queued (a running one stops by its
                 * capped timeout, on its engine, at this moment); taken
                 * over from an earlier run: its timeout is not ours, so its
                 * engine is told to stop it as that timeout would */
                if (r->slots[s].adopted)
                    (void)zpar_client_stop (r->c, zpar_future_id (r->slots[s].f), NULL);
                else
                    (void)zpar_client_abort (r->c, zpar_future_id (r->slots[s].f), NULL);
                n++;
            }
        zpar__sweep_log_clear (&r->o);
        zpar__sweep_note (&r->o,
                          "time is up (%.0f s before the end): %zu running point%s stopped; "
                          "they will run again in the next job",
                          r->margin + r->grace, n, n == 1 ? "" : "s");
    }
    if (r->stopping && (r->n.running == 0 || now >= r->give_up_mono))
        return 1;
    return 0;
}

size_t zpar__sweep_deadline_room (const run_t *r)
{
    double left;
    if (!r->end)
        return r->nfree;
    left = r->stop_mono - zpar__mono_s ();
    /* a queued point waits at most window / engines points' time */
    if (r->longest >= 0 && left > ((double)r->window / (double)r->engines + 1) * r->longest)
        return r->nfree;
    return r->n.running < r->engines ? r->engines - r->n.running : 0;
}

uint64_t zpar__sweep_deadline_left (const run_t *r)
{
    uint64_t done = r->n.ok + r->n.skipped_ok + r->n.failed + r->n.skipped_bad;
    return r->n.total > done ? r->n.total - done : 0;
}
