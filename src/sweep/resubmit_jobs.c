/* resubmit_jobs.c - the journal's jobs table (the chain of batch jobs that
 * ran a sweep) and how `zpar sweep status` shows it. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "db.h"
#include "error.h"
#include "resubmit.h"

#define JOB_COLUMNS "job, scheduler, chain, started, ended, done, failed, left, outcome, next_job"

/* The journal's batch committed, then a transaction of our own. */
static zpar_db_t *begin (zpar_journal_t *j, zpar_error_t *err)
{
    zpar_db_t *db = zpar__journal_db (j);
    if (!db) {
        zpar__errnoprintf (err, EINVAL, "invalid argument");
        return NULL;
    }
    if (zpar__journal_flush (j, err) < 0 || zpar__db_begin (db, err) < 0)
        return NULL;
    return db;
}

int zpar__journal_job_begin (zpar_journal_t *j, const char *job, const char *scheduler, int *chain,
                             int *has_next, zpar_error_t *err)
{
    zpar_db_t *db;
    sqlite3_stmt *st;
    int rc, place = 0, next = 0;

    if (!j || !job || !*job || !scheduler || !chain)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    if (!(db = begin (j, err)))
        return -1;
    if (!(st = zpar__db_stmt (
              db, "SELECT chain FROM jobs WHERE next_job = ?1 ORDER BY seq DESC LIMIT 1", err)))
        goto error;
    sqlite3_bind_text (st, 1, job, -1, SQLITE_STATIC);
    if ((rc = zpar__db_step (db, st, "chain", err)) < 0)
        goto error;
    if (rc == 1)
        place = sqlite3_column_int (st, 0) + 1;
    sqlite3_reset (st);
    sqlite3_clear_bindings (st);
    if (!(st = zpar__db_stmt (
              db, "SELECT count(*) FROM jobs WHERE job = ?1 AND next_job IS NOT NULL", err)))
        goto error;
    sqlite3_bind_text (st, 1, job, -1, SQLITE_STATIC);
    if ((rc = zpar__db_step (db, st, "chain", err)) < 0)
        goto error;
    if (rc == 1)
        next = sqlite3_column_int (st, 0) > 0;
    sqlite3_reset (st);
    sqlite3_clear_bindings (st);
    if (!(st = zpar__db_stmt (db,
                              "INSERT INTO jobs (job, scheduler, chain, started)"
                              " VALUES (?1, ?2, ?3, ?4)",
                              err)))
        goto error;
    sqlite3_bind_text (st, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, scheduler, -1, SQLITE_STATIC);
    sqlite3_bind_int (st, 3, place);
    sqlite3_bind_double (st, 4, zpar__now_s ());
    if (zpar__db_run (db, st, "record the job", err) < 0 || zpar__db_commit (db, err) < 0)
        goto error;
    *chain = place;
    if (has_next)
        *has_next = next;
    return 0;
error:
    zpar__db_rollback (db);
    return -1;
}

/* The statement sql (an UPDATE of the latest row of job: ?1 is the job)
 * in a transaction of our own, ?1 bound.  NULL with err (rolled back). */
static sqlite3_stmt *latest (zpar_journal_t *j, const char *job, const char *sql, zpar_db_t **db,
                             zpar_error_t *err)
{
    sqlite3_stmt *st;
    if (!j || !job) {
        zpar__errnoprintf (err, EINVAL, "invalid argument");
        return NULL;
    }
    if (!(*db = begin (j, err)))
        return NULL;
    if (!(st = zpar__db_stmt (*db, sql, err))) {
        zpar__db_rollback (*db);
        return NULL;
    }
    sqlite3_bind_text (st, 1, job, -1, SQLITE_STATIC);
    return st;
}

/* Commit, or roll back when that fails.  0 / -1 with err. */
static int commit (zpar_db_t *db, zpar_error_t *err)
{
    if (zpar__db_commit (db, err) == 0)
        return 0;
    zpar__db_rollback (db);
    return -1;
}

/* Run st (from latest) and commit: ENOENT when job has no row. */
static int run_latest (zpar_db_t *db, sqlite3_stmt *st, const char *job, const char *what,
                       zpar_error_t *err)
{
    if (zpar__db_run (db, st, what, err) < 0) {
        zpar__db_rollback (db);
        return -1;
    }
    if (zpar__db_changes (db) == 0) {
        zpar__db_rollback (db);
        return zpar__errnoprintf (err, ENOENT, "journal: job %s was not recorded", job);
    }
    return commit (db, err);
}

static void bind_opt (sqlite3_stmt *st, int i, const char *text)
{
    if (text)
        sqlite3_bind_text (st, i, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null (st, i);
}

int zpar__journal_job_end (zpar_journal_t *j, const char *job, int64_t done, int64_t failed,
                           int64_t left, const char *outcome, const char *next_job,
                           zpar_error_t *err)
{
    zpar_db_t *db;
    sqlite3_stmt *st = latest (j, job,
                               "UPDATE jobs SET ended = ?2, done = ?3, failed = ?4, left = ?5,"
                               "  outcome = ?6, next_job = coalesce (?7, next_job)"
                               " WHERE seq = (SELECT max (seq) FROM jobs WHERE job = ?1)",
                               &db, err);
    if (!st)
        return -1;
    sqlite3_bind_double (st, 2, zpar__now_s ());
    sqlite3_bind_int64 (st, 3, done);
    sqlite3_bind_int64 (st, 4, failed);
    sqlite3_bind_int64 (st, 5, left);
    bind_opt (st, 6, outcome);
    bind_opt (st, 7, next_job);
    return run_latest (db, st, job, "record the job's end", err);
}

int zpar__journal_job_next (zpar_journal_t *j, const char *job, const char *next_job,
                            zpar_error_t *err)
{
    zpar_db_t *db;
    sqlite3_stmt *st = latest (j, job,
                               "UPDATE jobs SET next_job = ?2"
                               " WHERE seq = (SELECT max (seq) FROM jobs WHERE job = ?1)",
                               &db, err);
    if (!st)
        return -1;
    bind_opt (st, 2, next_job);
    return run_latest (db, st, job, "record the next job", err);
}

int zpar__journal_job_settle_prev (zpar_journal_t *j, const char *job, char *prev, size_t size,
                                   int *killed, int64_t *progress, zpar_error_t *err)
{
    zpar_db_t *db;
    sqlite3_stmt *st;
    int rc, open = 0;
    int64_t seq = 0, done = 0, failed = 0;
    double started = 0, last = 0;

    if (!j || !job || !prev || !size || !killed || !progress)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    prev[0] = '\0';
    *killed = 0;
    *progress = 0;
    if (!(db = begin (j, err)))
        return -1;
    if (!(st =
              zpar__db_stmt (db,
                             "SELECT seq, job, started, ended IS NULL FROM jobs WHERE next_job = ?1"
                             " ORDER BY seq DESC LIMIT 1",
                             err)))
        goto error;
    sqlite3_bind_text (st, 1, job, -1, SQLITE_STATIC);
    if ((rc = zpar__db_step (db, st, "chain", err)) < 0)
        goto error;
    if (rc == 1) {
        seq = sqlite3_column_int64 (st, 0);
        snprintf (prev, size, "%s", (const char *)sqlite3_column_text (st, 1));
        started = sqlite3_column_double (st, 2);
        open = sqlite3_column_int (st, 3);
    }
    sqlite3_reset (st);
    sqlite3_clear_bindings (st);
    if (open) {
        /* what the killed job did: the points that ended since it started
         * (this job has not started any) */
        if (!(st = zpar__db_stmt (db,
                                  "SELECT coalesce (sum (state = 'succeeded'), 0),"
                                  " coalesce (sum (state = 'failed'), 0),"
                                  " coalesce (max (finished), ?1)"
                                  " FROM points WHERE finished >= ?1",
                                  err)))
            goto error;
        sqlite3_bind_double (st, 1, started);
        if ((rc = zpar__db_step (db, st, "chain", err)) < 0)
            goto error;
        if (rc == 1) {
            done = sqlite3_column_int64 (st, 0);
            failed = sqlite3_column_int64 (st, 1);
            last = sqlite3_column_double (st, 2);
        }
        sqlite3_reset (st);
        sqlite3_clear_bindings (st);
        if (!(st = zpar__db_stmt (db,
                                  "UPDATE jobs SET ended = ?2, done = ?3, failed = ?4,"
                                  "  outcome = 'killed' WHERE seq = ?1",
                                  err)))
            goto error;
        sqlite3_bind_int64 (st, 1, seq);
        sqlite3_bind_double (st, 2, last > started ? last : started);
        sqlite3_bind_int64 (st, 3, done);
        sqlite3_bind_int64 (st, 4, failed);
        if (zpar__db_run (db, st, "record the killed job", err) < 0)
            goto error;
        *killed = 1;
        *progress = done + failed;
    }
    return commit (db, err);
error:
    zpar__db_rollback (db);
    return -1;
}

int zpar__journal_foreach_job (zpar_journal_t *j, zpar_sweep_job_f cb, void *arg, zpar_error_t *err)
{
    zpar_db_t *db = zpar__journal_db (j);
    sqlite3_stmt *st;
    int rc, ret = 0;

    if (!db || !cb)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    if (!(st = zpar__db_stmt (db, "SELECT " JOB_COLUMNS " FROM jobs ORDER BY seq", err)))
        return -1;
    while ((rc = zpar__db_step (db, st, "jobs", err)) == 1) {
        zpar_sweep_job_t row;
        int null_end = sqlite3_column_type (st, 4) == SQLITE_NULL;
        row.job = (const char *)sqlite3_column_text (st, 0);
        row.scheduler = (const char *)sqlite3_column_text (st, 1);
        row.chain = sqlite3_column_int (st, 2);
        row.started = sqlite3_column_double (st, 3);
        row.ended = null_end ? 0 : sqlite3_column_double (st, 4);
        row.done = null_end ? -1 : sqlite3_column_int64 (st, 5);
        row.failed = null_end ? -1 : sqlite3_column_int64 (st, 6);
        row.left = null_end || sqlite3_column_type (st, 7) == SQLITE_NULL
                       ? -1
                       : sqlite3_column_int64 (st, 7);
        row.outcome = (const char *)sqlite3_column_text (st, 8);
        row.next_job = (const char *)sqlite3_column_text (st, 9);
        if ((ret = cb (&row, arg)) != 0)
            break;
    }
    sqlite3_reset (st);
    return rc < 0 ? -1 : ret;
}

/* ------------------------------------------------------------ status */

typedef struct {
    FILE *out;
    int json, n;
} print_t;

static void fmt_time (double t, char *buf, size_t size)
{
    time_t s = (time_t)t;
    struct tm tm;
    if (t <= 0 || !gmtime_r (&s, &tm) || !strftime (buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf (buf, size, "-");
}

static void json_str (FILE *out, const char *s)
{
    if (!s) {
        fputs ("null", out);
        return;
    }
    fputc ('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf (out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf (out, "\\u%04x", *p);
        else
            fputc (*p, out);
    }
    fputc ('"', out);
}

static int print_job (const zpar_sweep_job_t *row, void *arg)
{
    print_t *p = arg;
    char s[32], e[32];
    fmt_time (row->started, s, sizeof (s));
    fmt_time (row->ended, e, sizeof (e));
    if (p->json) {
        fprintf (p->out, "%s{\"job\": ", p->n ? ", " : "");
        json_str (p->out, row->job);
        fprintf (p->out, ", \"scheduler\": ");
        json_str (p->out, row->scheduler);
        fprintf (p->out, ", \"chain\": %d, \"started\": %.3f, \"ended\": ", row->chain,
                 row->started);
        if (row->ended > 0)
            fprintf (p->out, "%.3f", row->ended);
        else
            fputs ("null", p->out);
        if (row->done >= 0 && row->left >= 0)
            fprintf (p->out, ", \"done\": %" PRId64 ", \"failed\": %" PRId64 ", \"left\": %" PRId64,
                     row->done, row->failed, row->left);
        else if (row->done >= 0)
            fprintf (p->out, ", \"done\": %" PRId64 ", \"failed\": %" PRId64 ", \"left\": null",
                     row->done, row->failed);
        else
            fputs (", \"done\": null, \"failed\": null, \"left\": null", p->out);
        fputs (", \"outcome\": ", p->out);
        json_str (p->out, row->outcome);
        fputs (", \"next_job\": ", p->out);
        json_str (p->out, row->next_job);
        fputc ('}', p->out);
    } else {
        if (!p->n)
            fprintf (p->out, "jobs:\n  %-4s %-12s %-20s %-20s %6s %6s %6s  %-10s %s\n", "#", "job",
                     "started", "ended", "done", "failed", "left", "outcome", "next job");
        if (row->done >= 0) {
            char left[24] = "-";
            if (row->left >= 0)
                snprintf (left, sizeof (left), "%" PRId64, row->left);
            fprintf (p->out, "  %-4d %-12s %-20s %-20s %6" PRId64 " %6" PRId64 " %6s  %-10s %s\n",
                     row->chain, row->job, s, e, row->done, row->failed, left,
                     row->outcome ? row->outcome : "-", row->next_job ? row->next_job : "-");
        } else
            fprintf (p->out, "  %-4d %-12s %-20s %-20s %6s %6s %6s  %-10s %s\n", row->chain,
                     row->job, s, "-", "-", "-", "-", "running or killed",
                     row->next_job ? row->next_job : "-");
    }
    p->n++;
    return 0;
}

int zpar__resubmit_print_chain (zpar_journal_t *j, FILE *out, int json, zpar_error_t *err)
{
    print_t p = {out, json, 0};
    if (json)
        fputc ('[', out);
    if (zpar__journal_foreach_job (j, print_job, &p, err) < 0)
        return -1;
    if (json)
        fputc (']', out);
    return 0;
}
