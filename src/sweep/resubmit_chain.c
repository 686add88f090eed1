/* resubmit_chain.c - the rules of continuation (resubmit.h): the job's row
 * in the journal, the continuation submitted as soon as the run has points
 * to run (held by its dependency until this job ends, however it ends),
 * kept or cancelled when the run ends. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "resubmit.h"
#include "resubmit_int.h"

static const char *kind_name (zpar_batch_kind_t k)
{
    return k == ZPAR_BATCH_SLURM ? "slurm" : k == ZPAR_BATCH_PBS ? "pbs" : "none";
}

static void say (FILE *log, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void say (FILE *log, const char *fmt, ...)
{
    va_list ap;
    if (!log)
        return;
    fputs ("zpar: ", log);
    va_start (ap, fmt);
    vfprintf (log, fmt, ap);
    va_end (ap);
    fputc ('\n', log);
    fflush (log);
}

int zpar__resubmit_begin (zpar_resubmit_t *rs, zpar_journal_t *j, int limit, FILE *log,
                          zpar_error_t *err)
{
    int64_t progress = 0;
    int killed = 0;
    char state[64] = "";
    zpar_error_t e = {{0}};

    memset (rs, 0, sizeof (*rs));
    rs->limit = limit > 0 ? limit : 0;
    rs->kind = zpar__batch_job_detect (rs->job, sizeof (rs->job));
    if (rs->kind == ZPAR_BATCH_NONE)
        return 0;
    /* the job before this one in the chain: when it was killed before it
     * could record its end, what it did is read from the points' ends */
    if (zpar__journal_job_settle_prev (j, rs->job, rs->prev, sizeof (rs->prev), &killed, &progress,
                                       err) < 0)
        return -1;
    if (zpar__journal_job_begin (j, rs->job, kind_name (rs->kind), &rs->chain, &rs->has_next, err) <
        0)
        return -1;
    rs->recorded = 1;
    if (killed) {
        rs->prev_idle = progress == 0;
        say (log,
             "job %s, the one before this one in the chain, was killed before it could record its "
             "end (%" PRId64 " points ended in it)",
             rs->prev, progress);
    }
    /* a continuation whose job was cancelled (scancel) when its run could
     * not cancel us itself (killed, hung): the user stopped the chain */
    if (rs->prev[0] && rs->kind == ZPAR_BATCH_SLURM &&
        zpar__resubmit_state (rs->kind, rs->prev, 1, state, sizeof (state), &e) == 0 &&
        !strcmp (state, "CANCELLED")) {
        zpar_error_t e2;
        (void)zpar__journal_job_end (j, rs->job, 0, 0, -1, "not run: the job before was cancelled",
                                     NULL, &e2);
        zpar__errnoprintf (err, ECANCELED,
                           "job %s, the one before this one in the chain, was cancelled: the "
                           "chain stops here (run the sweep again to go on)",
                           rs->prev);
        return 1;
    }
    return 0;
}

/* Whether this job may have a continuation at all (the limit, the chain),
 * and why not (into why). */
static int allowed (const zpar_resubmit_t *rs, char *why, size_t size)
{
    if (rs->kind == ZPAR_BATCH_NONE)
        snprintf (why, size, "not in a Slurm or PBS job");
    else if (rs->has_next)
        snprintf (why, size, "this job has already submitted one");
    else if (rs->chain >= rs->limit)
        snprintf (why, size, "the chain has reached its limit (%d continuation%s)", rs->limit,
                  rs->limit > 1 ? "s" : "");
    else
        return 1;
    return 0;
}

int zpar__resubmit_early (zpar_resubmit_t *rs, zpar_journal_t *j, FILE *log)
{
    char why[256];
    zpar_error_t e = {{0}};

    if (rs->early_tried || !rs->limit)
        return 0;
    rs->early_tried = 1;
    if (!allowed (rs, why, sizeof (why)))
        return 0; /* said at the end, if points are left then */
    if (rs->prev_idle) {
        say (log, "no continuation submitted now: the job before was killed with no point ended "
                  "in it (one will be submitted at the end if this job ends for its time with "
                  "progress)");
        return 0;
    }
    if (zpar__resubmit_submit (rs->kind, rs->job, rs->early, sizeof (rs->early), &e) < 0) {
        say (log,
             "could not submit the continuation of job %s now: %s (it is tried again at the "
             "end)",
             rs->job, e.text);
        rs->early[0] = '\0';
        return -1;
    }
    if (zpar__journal_job_next (j, rs->job, rs->early, &e) < 0)
        say (log, "could not record job %s in the journal: %s", rs->early, e.text);
    say (log,
         "submitted job %s, held until job %s ends (continuation %d of at most %d): it continues "
         "the sweep however this job ends, unless this job finishes the sweep, makes no progress, "
         "or is cancelled (then it is cancelled)",
         rs->early, rs->job, rs->chain + 1, rs->limit);
    return 1;
}

/* Whether to continue, and why not (into why). */
static int wanted (const zpar_resubmit_t *rs, zpar_run_end_t how, int sig, int64_t done,
                   int64_t left, char *why, size_t size)
{
    if (!rs->limit)
        return 0; /* not asked for: say nothing */
    if (rs->kind == ZPAR_BATCH_NONE)
        snprintf (why, size, "not in a Slurm or PBS job");
    else if (left <= 0) {
        snprintf (why, size, "the sweep is done");
        return 0; /* nothing left: nothing to say */
    } else if (how != ZPAR_RUN_END_TIME_UP && !(how == ZPAR_RUN_END_SIGNAL && sig == 15))
        snprintf (why, size, "the run did not stop for the end of the allocation");
    else if (!rs->early[0] && !allowed (rs, why, size))
        ;
    else if (done <= 0)
        snprintf (why, size,
                  "no point ended in this job (the next one would not do better: are the points "
                  "longer than the job?)");
    else
        return 1;
    return -1;
}

/* The continuation submitted at the start is not wanted: cancel it. */
static void cancel_early (zpar_resubmit_t *rs, zpar_journal_t *j, FILE *log, int64_t left,
                          const char *why)
{
    zpar_error_t e = {{0}};
    if (zpar__resubmit_cancel (rs->kind, rs->early, &e) < 0) {
        say (log, "%s; could not cancel job %s, the continuation submitted at the start: %s", why,
             rs->early, e.text);
        return;
    }
    if (left > 0)
        say (log, "%" PRId64 " points left; no continuation: %s: cancelled job %s", left, why,
             rs->early);
    else
        say (log, "%s: cancelled job %s, the continuation submitted at the start", why, rs->early);
    if (zpar__journal_job_next (j, rs->job, NULL, &e) < 0)
        say (log, "could not record it in the journal: %s", e.text);
    rs->early[0] = '\0';
}

int zpar__resubmit_end (zpar_resubmit_t *rs, zpar_journal_t *j, zpar_run_end_t how, int sig,
                        int64_t done, int64_t failed, int64_t left, FILE *log, char *next,
                        size_t size, zpar_error_t *err)
{
    char why[256] = "", outcome[32], state[64] = "";
    zpar_error_t e = {{0}}, mine = {{0}};
    int w, rc = 0;

    if (!err)
        err = &mine;
    if (size)
        next[0] = '\0';
    switch (how) {
    case ZPAR_RUN_END_FINISHED:
        snprintf (outcome, sizeof (outcome), "finished");
        break;
    case ZPAR_RUN_END_TIME_UP:
        snprintf (outcome, sizeof (outcome), "time up");
        break;
    case ZPAR_RUN_END_SIGNAL:
        snprintf (outcome, sizeof (outcome), "signal %d", sig);
        break;
    default:
        snprintf (outcome, sizeof (outcome), "error");
        break;
    }
    w = wanted (rs, how, sig, done, left, why, sizeof (why));
    if (w == 1) {
        /* still running? (scancel marks the job cancelled before it signals) */
        if (zpar__resubmit_state (rs->kind, rs->job, 0, state, sizeof (state), &e) < 0) {
            /* (Slurm ending the job signals every process of it, squeue
             * too): the continuation submitted at the start is kept -- it
             * runs nothing if this job turns out cancelled (begin) */
            if (rs->early[0])
                say (log,
                     "cannot learn the job's state (%s): keeping job %s, which runs nothing "
                     "if this job was cancelled",
                     e.text, rs->early);
            else {
                snprintf (why, sizeof (why), "cannot learn the job's state (%s)", e.text);
                w = -1;
            }
        } else if (rs->kind == ZPAR_BATCH_SLURM) {
            /* SIGNALING: Slurm is delivering the job's --signal; a job
             * ending at its time limit is COMPLETING for reason TimeLimit,
             * a cancelled one for reason None */
            char *bar = strchr (state, '|');
            const char *reason = bar ? bar + 1 : "";
            if (bar)
                *bar = '\0';
            if (strcmp (state, "RUNNING") != 0 && strcmp (state, "SIGNALING") != 0 &&
                strcmp (reason, "TimeLimit") != 0) {
                snprintf (why, sizeof (why), "the job is %s, not RUNNING (cancelled?)",
                          state[0] ? state : "gone");
                w = -1;
            }
        } else if (rs->kind == ZPAR_BATCH_PBS && strcmp (state, "R") != 0) {
            snprintf (why, sizeof (why), "the job is in state %s, not R (deleted?)", state);
            w = -1;
        }
    }
    if (w == 1 && rs->early[0]) {
        snprintf (next, size, "%s", rs->early);
        say (log,
             "%" PRId64 " points left: job %s (submitted at the start) continues when job %s ends "
             "(continuation %d of at most %d)",
             left, next, rs->job, rs->chain + 1, rs->limit);
        rc = 1;
    } else if (w == 1) {
        if (zpar__resubmit_submit (rs->kind, rs->job, next, size, err) < 0) {
            say (log, "could not submit the continuation of job %s: %s", rs->job, err->text);
            if (size)
                next[0] = '\0';
            rc = -1;
        } else {
            say (log,
                 "%" PRId64 " points left: submitted job %s to continue when job %s ends "
                 "(continuation %d of at most %d)",
                 left, next, rs->job, rs->chain + 1, rs->limit);
            rc = 1;
        }
    } else if (rs->early[0])
        cancel_early (rs, j, log, left, why);
    else if (w < 0)
        say (log, "%" PRId64 " points left; no continuation: %s", left, why);
    if (rs->recorded && zpar__journal_job_end (j, rs->job, done, failed, left, outcome,
                                               rc == 1 ? next : NULL, &e) < 0) {
        say (log, "could not record the end of job %s in the journal: %s", rs->job, e.text);
        if (rc == 0) {
            *err = e;
            return -1;
        }
    }
    return rc;
}
