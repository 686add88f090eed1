/* records.c - the hub's task records in SQLite, written in batches. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "records_internal.h"
#include "zpar.h"

/* The layout (tables, the compact request and result): records_write.c. */
static const char *sql_purge_one = "DELETE FROM tasks WHERE id=?1";
static const char *sql_purge_all = "DELETE FROM tasks";
static const char *sql_counts = "SELECT SUM(status=1), SUM(status<>1) FROM tasks";
static const char *sql_engine_get = "SELECT id FROM engines WHERE uuid=?1";
static const char *sql_counter_get = "SELECT value FROM counters WHERE name=?1";
static const char *sql_counter = "INSERT INTO counters(name,value) VALUES(?1,1) ON CONFLICT(name) "
                                 "DO UPDATE SET value=value+1 RETURNING value";

zpar_records_t *zpar__records_open (const char *path, zpar_error_t *err)
{
    zpar_db_opts_t opts = {
        .label = "task database", .sync = ZPAR_DB_SYNC_NORMAL, .busy_timeout_ms = 5000};
    zpar_records_t *s;

    if (!path || !*path) {
        zpar__errnoprintf (err, EINVAL, "no task database path");
        return NULL;
    }
    if (!(s = calloc (1, sizeof (*s)))) {
        zpar__errprintf (err, "out of memory");
        return NULL;
    }
    s->limit = ZPAR_RECORDS_LIMIT_DEFAULT;
    /* the write-ahead log: checkpointed every 256 pages (1 MiB) and cut
     * back to 1 MiB after, so that the records' disk use follows the
     * records, not the largest burst */
    if (!(s->db = zpar__db_open (path, &opts, err)) || zpar__rec_schema (s, path, err) < 0 ||
        zpar__db_exec (s->db, "PRAGMA wal_autocheckpoint=256; PRAGMA journal_size_limit=1048576",
                       err) < 0)
        goto error;
    zpar__rec_spill_start (s, path);
    return s;
error:
    zpar__records_close (s);
    return NULL;
}

static int flush_now (zpar_records_t *s, zpar_error_t *err);

void zpar__records_close (zpar_records_t *s)
{
    if (s) {
        int saved = errno, rc = 0;
        while (s->db && s->nops && (rc = flush_now (s, NULL)) < 0 && s->catching_up)
            ;
        if (rc < 0) {
            if (s->spill_ok)
                zpar__err ("task records: %zu records could not be saved (%s); kept in %s for the "
                           "next controller on this database",
                           s->nops, s->error, zpar__spill_path (s->spill));
            else
                zpar__err ("task records: %zu records could not be saved and are lost (%s)",
                           s->nops, s->error);
        }
        zpar__spill_close (s->spill);
        zpar__rec_ops_free (s);
        free (s->ops);
        zpar__db_close (s->db);
        free (s);
        errno = saved;
    }
}

/* Write the batch now (no waiting for the next try): the state of
 * "records not saved" follows the outcome, its changes are logged. */
static int flush_now (zpar_records_t *s, zpar_error_t *err)
{
    zpar_error_t e = {{0}};
    size_t n = s->nops, todo;
    int saved;
    if (!n)
        return 0;
    /* catching up after a failure: a part per call, so the hub's loop
     * never stops for long */
    todo = s->since_us && n > ZPAR_RECORDS_CATCHUP ? ZPAR_RECORDS_CATCHUP : n;
    if (zpar__rec_write (s, todo, &e) < 0) {
        saved = errno;
        s->catching_up = 0;
        s->failures++;
        s->errnum = saved;
        s->retry_us = zpar__mono_us () + (uint64_t)ZPAR_RECORDS_RETRY_MS * 1000u;
        snprintf (s->error, sizeof (s->error), "%s", e.text[0] ? e.text : strerror (saved));
        if (!s->since_us) {
            s->since_us = zpar__now_us ();
            zpar__err ("task records are not being saved: %s; %zu records kept in memory "
                       "(bound %zu bytes), written again every %d ms",
                       s->error, n, s->limit, ZPAR_RECORDS_RETRY_MS);
        }
        /* a copy outside the full disk, in case this controller dies */
        if (s->spill && !s->spill_ok) {
            if (zpar__spill_rewrite (s->spill, s->ops, s->nops) == 0) {
                s->spill_ok = s->spill_exists = 1;
                zpar__warn ("task records: a copy of the %zu not saved is kept in %s", s->nops,
                            zpar__spill_path (s->spill));
            } else
                zpar__err ("task records: %s: %s; the records not saved are only in memory",
                           zpar__spill_path (s->spill), strerror (errno));
        }
        zpar__rec_check_refusing (s);
        if (err)
            *err = e;
        errno = saved;
        return -1;
    }
    if (todo < n) {
        /* written: the first todo; the rest at the next call, at once (a
         * spill still holding the first ones is harmless: written again,
         * they change nothing) */
        zpar__rec_ops_drop (s, todo);
        s->catching_up = 1;
        s->retry_us = 0;
        snprintf (s->error, sizeof (s->error), "catching up: %zu records left to write", s->nops);
        zpar__rec_check_refusing (s);
        return zpar__errnoprintf (err, EAGAIN, "%s", s->error);
    }
    s->catching_up = 0;
    if (s->since_us) {
        uint64_t now = zpar__now_us ();
        zpar__warn ("task records are saved again, after %.1f s and %llu failed tries",
                    now > s->since_us ? (double)(now - s->since_us) / 1e6 : 0.0,
                    (unsigned long long)s->failures);
    }
    s->since_us = 0;
    s->failures = 0;
    s->errnum = 0;
    s->error[0] = '\0';
    zpar__rec_ops_free (s);
    if (s->spill_exists) {
        (void)zpar__spill_remove (s->spill);
        s->spill_ok = s->spill_exists = 0;
    }
    zpar__rec_check_refusing (s);
    return 0;
}

int zpar__records_flush (zpar_records_t *s, zpar_error_t *err)
{
    if (!s)
        return zpar__errnoprintf (err, EINVAL, "no task database");
    if (!s->nops)
        return 0;
    if (s->since_us && zpar__mono_us () < s->retry_us)
        return zpar__errnoprintf (err, EAGAIN, "%s", s->error);
    return flush_now (s, err);
}

void zpar__records_trim (zpar_records_t *s)
{
    if (s && s->db)
        (void)sqlite3_db_release_memory (zpar__db_handle (s->db));
}

int zpar__records_test_max_pages (zpar_records_t *s, unsigned long pages)
{
    char sql[64];
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    snprintf (sql, sizeof (sql), "PRAGMA max_page_count=%lu", pages);
    return zpar__db_exec (s->db, sql, NULL);
}

int zpar__records_get (zpar_records_t *s, zpar_tid_t tid, int *state, int *status, uint8_t **req,
                       size_t *reqlen, uint8_t **res, size_t *reslen)
{
    uint64_t id = tid.v;
    int rc, found = 0;
    if (!s || !state || !status || id > INT64_MAX || (req && !reqlen) || (res && !reslen)) {
        errno = EINVAL;
        return -1;
    }
    if (req) {
        *req = NULL;
        *reqlen = 0;
    }
    if (res) {
        *res = NULL;
        *reslen = 0;
    }
    if (s->nops)
        (void)zpar__records_flush (s, NULL);
    if ((rc = zpar__rec_db_get (s, id, state, status, req, reqlen, res, reslen)) < 0)
        return -1;
    found = rc;
    /* not saved yet: the batch is part of the records */
    if (s->nops &&
        (rc = zpar__rec_overlay (s, id, found, state, status, req, reqlen, res, reslen)) != 0) {
        if (rc < 0)
            goto nomem;
        found = 1;
    }
    if (!found) {
        errno = ENOENT;
        return -1;
    }
    return 0;
nomem:
    if (req) {
        free (*req);
        *req = NULL;
    }
    if (res) {
        free (*res);
        *res = NULL;
    }
    errno = ENOMEM;
    return -1;
}

int zpar__records_state (zpar_records_t *s, zpar_tid_t tid, int *state, int *status)
{
    uint64_t id = tid.v;
    int rc, found = 0;
    if (!s || !state || !status || !id || id > INT64_MAX) {
        errno = EINVAL;
        return -1;
    }
    if ((rc = zpar__rec_db_get (s, id, state, status, NULL, NULL, NULL, NULL)) < 0)
        return -1;
    found = rc;
    /* the batch, not written yet, comes after */
    if (s->nops &&
        (rc = zpar__rec_overlay (s, id, found, state, status, NULL, NULL, NULL, NULL)) != 0) {
        if (rc < 0) {
            errno = ENOMEM;
            return -1;
        }
        found = 1;
    }
    if (!found) {
        errno = ENOENT;
        return -1;
    }
    return 0;
}

long zpar__records_purge (zpar_records_t *s, zpar_tid_t tid)
{
    uint64_t id = tid.v;
    sqlite3_stmt *st;
    if (!s || id > INT64_MAX) {
        errno = EINVAL;
        return -1;
    }
    /* a result still in the batch would come back once written */
    if (zpar__records_flush (s, NULL) < 0 && s->nops) {
        errno = ENOSPC;
        return -1;
    }
    if (!(st = zpar__db_stmt (s->db, id ? sql_purge_one : sql_purge_all, NULL)))
        return -1;
    if (id)
        sqlite3_bind_int64 (st, 1, (sqlite3_int64)id);
    if (zpar__db_run (s->db, st, "purge", NULL) < 0)
        return -1;
    return (long)zpar__db_changes (s->db);
}

/* The state the database has for id: 0 / 1 (*state set) / -1. */
static int db_state (zpar_records_t *s, uint64_t id, int *state)
{
    int status;
    return zpar__rec_db_get (s, id, state, &status, NULL, NULL, NULL, NULL);
}

/* Each unfinished task of the database, with what the batch says of it
 * over it. */
typedef struct {
    zpar_records_unfinished_f cb;
    void *arg;
    zpar_idmap_t *map;
} unf_t;

static void unfinished_row (void *arg, uint64_t id, int state, uint32_t engine, const void *req,
                            size_t len)
{
    unf_t *u = arg;
    btask_t *t = u->map ? zpar__idmap_get (u->map, id) : NULL;
    if (t) {
        t->in_db = 1;
        if (t->state == ZPAR_REC_DONE)
            return;
        if (t->state > state) {
            state = t->state;
            engine = t->engine;
        }
        if (t->req) {
            req = t->req->blob;
            len = t->req->len;
        }
    }
    u->cb (u->arg, zpar__tid (id), state, zpar__eid (engine), req, len);
}

int zpar__records_unfinished (zpar_records_t *s, zpar_records_unfinished_f cb, void *arg)
{
    zpar_idmap_t *map = NULL;
    btask_t *bt = NULL;
    size_t nb = 0;
    int rc = 0;
    if (!s || !cb) {
        errno = EINVAL;
        return -1;
    }
    (void)zpar__records_flush (s, NULL);
    /* not saved (a full disk, a spill read back): the batch counts too */
    if (s->nops && !(bt = zpar__rec_batch_tasks (s, &map, &nb)))
        return -1;
    {
        unf_t u = {cb, arg, map};
        rc = zpar__rec_db_unfinished (s, unfinished_row, &u);
    }
    /* tasks only in the batch (a database row, when there is one, is done) */
    for (size_t i = 0; rc == 0 && i < nb; i++) {
        btask_t *t = &bt[i];
        int dbst;
        if (t->in_db || t->state == ZPAR_REC_DONE || !t->req || db_state (s, t->id, &dbst) != 0)
            continue;
        cb (arg, zpar__tid (t->id), t->state, zpar__eid (t->engine), t->req->blob, t->req->len);
    }
    free (bt);
    zpar__idmap_destroy (map);
    return rc < 0 ? -1 : 0;
}

int zpar__records_counts (zpar_records_t *s, uint64_t *ok, uint64_t *notok)
{
    zpar_idmap_t *map = NULL;
    btask_t *bt;
    sqlite3_stmt *st;
    size_t nb = 0;
    int rc;
    if (!s || !ok || !notok) {
        errno = EINVAL;
        return -1;
    }
    *ok = *notok = 0;
    (void)zpar__records_flush (s, NULL);
    if (!(st = zpar__db_stmt (s->db, sql_counts, NULL)))
        return -1;
    if ((rc = zpar__db_step (s->db, st, "count", NULL)) < 0)
        return -1;
    if (rc == 1) {
        *ok = (uint64_t)sqlite3_column_int64 (st, 0);
        *notok = (uint64_t)sqlite3_column_int64 (st, 1);
        sqlite3_reset (st);
    }
    /* results not saved yet, of tasks the database does not have done */
    if (!s->nops)
        return 0;
    if (!(bt = zpar__rec_batch_tasks (s, &map, &nb)))
        return -1;
    for (size_t i = 0; i < nb; i++) {
        int dbst = -1;
        if (bt[i].state != ZPAR_REC_DONE ||
            (db_state (s, bt[i].id, &dbst) == 1 && dbst == ZPAR_REC_DONE))
            continue;
        if (bt[i].status == ZPAR_STATUS_OK)
            (*ok)++;
        else
            (*notok)++;
    }
    free (bt);
    zpar__idmap_destroy (map);
    return 0;
}

/* The counter's value as the database and the unsaved batch have it (the
 * engine counter also from the engine ids not saved yet). */
static int counter_value (zpar_records_t *s, const char *name, uint64_t *v)
{
    sqlite3_stmt *st;
    size_t len = strlen (name);
    int engines = !strcmp (name, "engine_next");
    int rc;
    *v = 0;
    if (!(st = zpar__db_stmt (s->db, sql_counter_get, NULL)))
        return -1;
    sqlite3_bind_text (st, 1, name, -1, SQLITE_TRANSIENT);
    if ((rc = zpar__db_step (s->db, st, "counter", NULL)) < 0)
        return -1;
    if (rc == 1) {
        *v = (uint64_t)sqlite3_column_int64 (st, 0);
        sqlite3_reset (st);
    }
    for (size_t i = 0; i < s->nops; i++) {
        const op_t *op = &s->ops[i];
        uint64_t x = 0;
        if (op->kind == OP_COUNTER && op->len == len && !memcmp (op->blob, name, len))
            x = op->id;
        else if (op->kind == OP_ENGINE && engines)
            x = op->when;
        if (x > *v)
            *v = x;
    }
    return 0;
}

/* Records are not saved: the increment joins the batch. */
static int counter_batched (zpar_records_t *s, const char *name, uint64_t *v)
{
    uint64_t cur;
    op_t *op;
    if (counter_value (s, name, &cur) < 0 || !(op = zpar__rec_push (s)))
        return -1;
    op->kind = OP_COUNTER;
    op->id = cur + 1;
    if (!(op->blob = strdup (name))) {
        zpar__rec_pop (s);
        return -1;
    }
    op->len = strlen (name);
    zpar__rec_added (s, op);
    *v = op->id;
    return 0;
}

int zpar__records_next_counter (zpar_records_t *s, const char *name, uint64_t *v)
{
    sqlite3_stmt *st;
    int rc;
    if (!s || !name || !*name || !v) {
        errno = EINVAL;
        return -1;
    }
    /* a batch that cannot be written may hold a higher value: it goes first */
    if (zpar__records_flush (s, NULL) < 0 && s->nops)
        return counter_batched (s, name, v);
    if (!(st = zpar__db_stmt (s->db, sql_counter, NULL)))
        return -1;
    sqlite3_bind_text (st, 1, name, -1, SQLITE_TRANSIENT);
    if ((rc = zpar__db_step (s->db, st, "counter", NULL)) < 0)
        return errno == ENOSPC || errno == EIO ? counter_batched (s, name, v) : -1;
    if (rc == 0) {
        errno = EIO;
        return -1;
    }
    *v = (uint64_t)sqlite3_column_int64 (st, 0);
    /* a RETURNING statement completes its write when stepped to the end */
    rc = zpar__db_step (s->db, st, "counter", NULL);
    if (rc == 1)
        sqlite3_reset (st);
    if (rc < 0 && (errno == ENOSPC || errno == EIO))
        return counter_batched (s, name, v);
    return rc < 0 ? -1 : 0;
}

int zpar__records_engine_get (zpar_records_t *s, const char *uuid, zpar_eid_t *id)
{
    sqlite3_stmt *st;
    int rc;
    if (!s || !uuid || !*uuid || !id) {
        errno = EINVAL;
        return -1;
    }
    /* not saved yet: the latest in the batch */
    for (size_t i = s->nops; i-- > 0;) {
        const op_t *op = &s->ops[i];
        if (op->kind == OP_ENGINE && op->len == strlen (uuid) &&
            !memcmp (op->blob, uuid, op->len)) {
            *id = zpar__eid ((uint32_t)op->id);
            return 0;
        }
    }
    if (!(st = zpar__db_stmt (s->db, sql_engine_get, NULL)))
        return -1;
    sqlite3_bind_text (st, 1, uuid, -1, SQLITE_TRANSIENT);
    if ((rc = zpar__db_step (s->db, st, "engine id", NULL)) <= 0) {
        if (rc == 0)
            errno = ENOENT;
        return -1;
    }
    *id = zpar__eid ((uint32_t)sqlite3_column_int64 (st, 0));
    sqlite3_reset (st);
    return 0;
}

/* Records are not saved: the engine's id joins the batch. */
static int engine_batched (zpar_records_t *s, const char *uuid, zpar_eid_t id, uint32_t next)
{
    op_t *op = zpar__rec_push (s);
    if (!op)
        return -1;
    op->kind = OP_ENGINE;
    op->id = id.v;
    op->when = next;
    if (!(op->blob = strdup (uuid))) {
        zpar__rec_pop (s);
        return -1;
    }
    op->len = strlen (uuid);
    zpar__rec_added (s, op);
    return 0;
}

int zpar__records_engine_put (zpar_records_t *s, const char *uuid, zpar_eid_t id,
                              uint32_t next_engine)
{
    if (!s || !uuid || !*uuid || !id.v) {
        errno = EINVAL;
        return -1;
    }
    /* a batch that cannot be written goes first */
    if (zpar__records_flush (s, NULL) < 0 && s->nops)
        return engine_batched (s, uuid, id, next_engine);
    if (zpar__db_begin (s->db, NULL) < 0 ||
        zpar__rec_db_engine (s, uuid, strlen (uuid), id.v, next_engine, NULL) < 0 ||
        zpar__db_commit (s->db, NULL) < 0)
        goto error;
    return 0;
error:
    zpar__db_rollback (s->db);
    return errno == ENOSPC || errno == EIO ? engine_batched (s, uuid, id, next_engine) : -1;
}

int zpar__records_counter (zpar_records_t *s, const char *name, uint64_t *v)
{
    if (!s || !name || !*name || !v) {
        errno = EINVAL;
        return -1;
    }
    return counter_value (s, name, v);
}

int zpar__records_counter_raise (zpar_records_t *s, const char *name, uint64_t v)
{
    if (!s || !name || !*name || v > INT64_MAX) {
        errno = EINVAL;
        return -1;
    }
    (void)zpar__records_flush (s, NULL);
    return zpar__rec_db_counter_max (s, name, strlen (name), v, NULL);
}
