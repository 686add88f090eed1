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
#include "records.h"
#include "records_spill.h"

typedef zpar_rec_op_t op_t;
#define OP_REQUEST ZPAR_REC_OP_REQUEST
#define OP_RUNNING ZPAR_REC_OP_RUNNING
#define OP_RESULT  ZPAR_REC_OP_RESULT
#define OP_COUNTER ZPAR_REC_OP_COUNTER

struct zpar_records {
    zpar_db_t *db;
    op_t *ops;
    size_t nops;
    size_t cap;
    size_t bytes;      /* memory held by ops[0..nops) */
    size_t limit;      /* bound on bytes while writes fail */
    uint64_t since_us; /* first failed write (wall clock), 0: writes work */
    uint64_t retry_us; /* monotonic: no new try before */
    uint64_t failures;
    int errnum;   /* of the last failed write */
    int refusing; /* since_us && bytes >= limit, as last told */
    zpar_records_refusing_f on_refusing;
    void *on_refusing_arg;
    zpar_spill_t *spill; /* the batch's copy while writes fail (NULL: none) */
    int spill_ok;        /* the spill file holds the whole batch: appends go on */
    int spill_exists;    /* a spill file may exist (removed once the batch is written) */
    char error[ZPAR_ERROR_TEXT_MAX];
};

/* While writes fail, the spill follows the batch. */
static void spill_add (zpar_records_t *s, const op_t *op)
{
    if (s->spill_ok && zpar__spill_append (s->spill, op) < 0) {
        zpar__err ("task records: %s: %s; the records not saved are only in memory now",
                   zpar__spill_path (s->spill), strerror (errno));
        s->spill_ok = 0;
    }
}

/* Tell a change of "refusing" (writes fail and the backlog reached its
 * bound). */
static void check_refusing (zpar_records_t *s)
{
    int now = s->since_us && s->bytes >= s->limit;
    if (now != s->refusing) {
        s->refusing = now;
        if (s->on_refusing)
            s->on_refusing (s->on_refusing_arg, now);
    }
}

static const char *schema =
    "CREATE TABLE IF NOT EXISTS tasks ("
    "  id INTEGER PRIMARY KEY,"
    "  client INTEGER, engine INTEGER,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  status INTEGER NOT NULL DEFAULT 0,"
    "  submitted_us INTEGER, started_us INTEGER, completed_us INTEGER,"
    "  request BLOB, result BLOB);"
    "CREATE INDEX IF NOT EXISTS tasks_state ON tasks(state);"
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER);"
    "CREATE TABLE IF NOT EXISTS engines (uuid TEXT PRIMARY KEY, id INTEGER NOT NULL);";

static const char *sql_request = "INSERT INTO tasks(id,client,engine,state,submitted_us,request) "
                                 "VALUES(?1,?2,?3,0,?4,?5) ON CONFLICT(id) DO UPDATE SET "
                                 "client=?2, request=?5, submitted_us=?4";
static const char *sql_running =
    "INSERT INTO tasks(id,engine,state,started_us) VALUES(?1,?2,1,?3) "
    "ON CONFLICT(id) DO UPDATE SET engine=?2, started_us=?3, state=MAX(state,1)";
static const char *sql_result = "INSERT INTO tasks(id,engine,state,status,completed_us,result) "
                                "VALUES(?1,?2,2,?3,?4,?5) ON CONFLICT(id) DO UPDATE SET "
                                "engine=?2, state=2, status=?3, completed_us=?4, result=?5";
static const char *sql_get = "SELECT state,status,request,result FROM tasks WHERE id=?1";
static const char *sql_purge_one = "DELETE FROM tasks WHERE state=2 AND id=?1";
static const char *sql_purge_all = "DELETE FROM tasks WHERE state=2";
static const char *sql_unfinished =
    "SELECT id,state,engine,request FROM tasks WHERE state<2 ORDER BY id";
static const char *sql_counts = "SELECT SUM(status=1), SUM(status<>1) FROM tasks WHERE state=2";
static const char *sql_engine_get = "SELECT id FROM engines WHERE uuid=?1";
static const char *sql_engine_put = "INSERT INTO engines(uuid,id) VALUES(?1,?2) ON CONFLICT(uuid) "
                                    "DO UPDATE SET id=?2";
static const char *sql_counter_get = "SELECT value FROM counters WHERE name=?1";
static const char *sql_counter_max = "INSERT INTO counters(name,value) VALUES(?1,?2) "
                                     "ON CONFLICT(name) DO UPDATE SET value=MAX(value,?2)";
static const char *sql_counter = "INSERT INTO counters(name,value) VALUES(?1,1) ON CONFLICT(name) "
                                 "DO UPDATE SET value=value+1 RETURNING value";

static op_t *push (zpar_records_t *s);
static void pop (zpar_records_t *s);

/* An operation a previous controller could not write, back in the batch. */
static int replay_one (void *arg, const op_t *op)
{
    zpar_records_t *s = arg;
    op_t *n = push (s);
    if (!n)
        return -1;
    *n = *op;
    n->blob = NULL;
    if (op->len && !(n->blob = malloc (op->len))) {
        pop (s);
        errno = ENOMEM;
        return -1;
    }
    if (op->len)
        memcpy (n->blob, op->blob, op->len);
    s->bytes += op->len;
    return 0;
}

/* The spill of this database ($ZPAR_RECORDS_SPILL_DIR, default /dev/shm;
 * "none": no spill), and what an earlier controller left in it. */
static void spill_start (zpar_records_t *s, const char *path)
{
    const char *dir = getenv ("ZPAR_RECORDS_SPILL_DIR");
    long n;
    if (!dir)
        dir = "/dev/shm";
    if (!*dir || !strcmp (dir, "none"))
        return;
    if (!(s->spill = zpar__spill_open (dir, path))) {
        zpar__debug ("task records: no spill in %s: %s", dir, strerror (errno));
        return;
    }
    if ((n = zpar__spill_replay (s->spill, replay_one, s)) < 0)
        zpar__err ("task records: %s cannot be read back: %s", zpar__spill_path (s->spill),
                   strerror (errno));
    else if (n > 0) {
        s->spill_exists = 1;
        zpar__warn ("task records: %ld records an earlier controller could not save read back "
                    "from %s",
                    n, zpar__spill_path (s->spill));
    }
}

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
    if (!(s->db = zpar__db_open (path, &opts, err)) || zpar__db_exec (s->db, schema, err) < 0)
        goto error;
    spill_start (s, path);
    return s;
error:
    zpar__records_close (s);
    return NULL;
}

static void ops_free (zpar_records_t *s)
{
    for (size_t i = 0; i < s->nops; i++)
        free (s->ops[i].blob);
    s->nops = 0;
    s->bytes = 0;
}

static int flush_now (zpar_records_t *s, zpar_error_t *err);

void zpar__records_close (zpar_records_t *s)
{
    if (s) {
        int saved = errno;
        if (s->db && s->nops && flush_now (s, NULL) < 0) {
            if (s->spill_ok)
                zpar__err ("task records: %zu records could not be saved (%s); kept in %s for the "
                           "next controller on this database",
                           s->nops, s->error, zpar__spill_path (s->spill));
            else
                zpar__err ("task records: %zu records could not be saved and are lost (%s)",
                           s->nops, s->error);
        }
        zpar__spill_close (s->spill);
        ops_free (s);
        free (s->ops);
        zpar__db_close (s->db);
        free (s);
        errno = saved;
    }
}

static op_t *push (zpar_records_t *s)
{
    if (s->nops == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 256;
        op_t *n = realloc (s->ops, ncap * sizeof (*n));
        if (!n)
            return NULL;
        s->ops = n;
        s->cap = ncap;
    }
    memset (&s->ops[s->nops], 0, sizeof (op_t));
    s->bytes += sizeof (op_t);
    return &s->ops[s->nops++];
}

/* Undo the last push (its blob not set yet). */
static void pop (zpar_records_t *s)
{
    s->nops--;
    s->bytes -= sizeof (op_t);
}

static int copy_blob (op_t *op, const void *hdr, size_t hlen, const void *body, size_t blen)
{
    if (!hlen + !blen == 2)
        return 0;
    if (!(op->blob = malloc (hlen + blen)))
        return -1;
    if (hlen)
        memcpy (op->blob, hdr, hlen);
    if (blen)
        memcpy ((uint8_t *)op->blob + hlen, body, blen);
    op->len = hlen + blen;
    return 0;
}

static int bad_put (const zpar_records_t *s, uint64_t id, const void *hdr, size_t hlen,
                    const void *body, size_t blen)
{
    if (!s || id == 0 || id > INT64_MAX || (hlen && !hdr) || (blen && !body) ||
        hlen + blen > INT_MAX) {
        errno = EINVAL;
        return 1;
    }
    return 0;
}

int zpar__records_put_request (zpar_records_t *s, zpar_tid_t tid, zpar_cid_t client,
                               zpar_eid_t engine, const void *hdr, size_t hlen, const void *body,
                               size_t blen, uint64_t when_us)
{
    op_t *op;
    if (bad_put (s, tid.v, hdr, hlen, body, blen) || !(op = push (s)))
        return -1;
    op->kind = OP_REQUEST;
    op->id = tid.v;
    op->client = client.v;
    op->engine = engine.v;
    op->when = when_us;
    if (copy_blob (op, hdr, hlen, body, blen) < 0) {
        pop (s);
        return -1;
    }
    s->bytes += op->len;
    spill_add (s, op);
    check_refusing (s);
    return 0;
}

int zpar__records_put_running (zpar_records_t *s, zpar_tid_t tid, zpar_eid_t engine,
                               uint64_t when_us)
{
    op_t *op;
    if (bad_put (s, tid.v, NULL, 0, NULL, 0) || !(op = push (s)))
        return -1;
    op->kind = OP_RUNNING;
    op->id = tid.v;
    op->engine = engine.v;
    op->when = when_us;
    spill_add (s, op);
    check_refusing (s);
    return 0;
}

int zpar__records_put_result (zpar_records_t *s, zpar_tid_t tid, zpar_eid_t engine, int status,
                              const void *hdr, size_t hlen, const void *body, size_t blen,
                              uint64_t when_us)
{
    op_t *op;
    if (bad_put (s, tid.v, hdr, hlen, body, blen) || !(op = push (s)))
        return -1;
    op->kind = OP_RESULT;
    op->id = tid.v;
    op->engine = engine.v;
    op->status = status;
    op->when = when_us;
    if (copy_blob (op, hdr, hlen, body, blen) < 0) {
        pop (s);
        return -1;
    }
    s->bytes += op->len;
    spill_add (s, op);
    check_refusing (s);
    return 0;
}

size_t zpar__records_batched (const zpar_records_t *s)
{
    return s ? s->nops : 0;
}

static int run_op (zpar_records_t *s, const op_t *op, zpar_error_t *err)
{
    sqlite3_stmt *st;
    switch (op->kind) {
    case OP_REQUEST:
        if (!(st = zpar__db_stmt (s->db, sql_request, err)))
            return -1;
        sqlite3_bind_int64 (st, 1, (sqlite3_int64)op->id);
        sqlite3_bind_int64 (st, 2, op->client);
        sqlite3_bind_int64 (st, 3, op->engine);
        sqlite3_bind_int64 (st, 4, (sqlite3_int64)op->when);
        sqlite3_bind_blob (st, 5, op->blob, (int)op->len, SQLITE_STATIC);
        break;
    case OP_RUNNING:
        if (!(st = zpar__db_stmt (s->db, sql_running, err)))
            return -1;
        sqlite3_bind_int64 (st, 1, (sqlite3_int64)op->id);
        sqlite3_bind_int64 (st, 2, op->engine);
        sqlite3_bind_int64 (st, 3, (sqlite3_int64)op->when);
        break;
    case OP_COUNTER:
        if (!(st = zpar__db_stmt (s->db, sql_counter_max, err)))
            return -1;
        sqlite3_bind_text (st, 1, op->blob, (int)op->len, SQLITE_STATIC);
        sqlite3_bind_int64 (st, 2, (sqlite3_int64)op->id);
        break;
    default:
        if (!(st = zpar__db_stmt (s->db, sql_result, err)))
            return -1;
        sqlite3_bind_int64 (st, 1, (sqlite3_int64)op->id);
        sqlite3_bind_int64 (st, 2, op->engine);
        sqlite3_bind_int (st, 3, op->status);
        sqlite3_bind_int64 (st, 4, (sqlite3_int64)op->when);
        sqlite3_bind_blob (st, 5, op->blob, (int)op->len, SQLITE_STATIC);
        break;
    }
    return zpar__db_run (s->db, st, "write", err);
}

/* The batch in one transaction; -1 with errno and err, the batch kept. */
static int write_batch (zpar_records_t *s, zpar_error_t *err)
{
    if (zpar__db_begin (s->db, err) < 0)
        return -1;
    for (size_t i = 0; i < s->nops; i++) {
        if (run_op (s, &s->ops[i], err) < 0) {
            zpar__db_rollback (s->db);
            return -1;
        }
    }
    if (zpar__db_commit (s->db, err) < 0) {
        zpar__db_rollback (s->db);
        return -1;
    }
    return 0;
}

/* Write the batch now (no waiting for the next try): the state of
 * "records not saved" follows the outcome, its changes are logged. */
static int flush_now (zpar_records_t *s, zpar_error_t *err)
{
    zpar_error_t e = {{0}};
    size_t n = s->nops;
    int saved;
    if (!n)
        return 0;
    if (write_batch (s, &e) < 0) {
        saved = errno;
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
        check_refusing (s);
        if (err)
            *err = e;
        errno = saved;
        return -1;
    }
    if (s->since_us) {
        uint64_t now = zpar__now_us ();
        zpar__warn ("task records are saved again: %zu records written after %.1f s and %llu "
                    "failed tries",
                    n, now > s->since_us ? (double)(now - s->since_us) / 1e6 : 0.0,
                    (unsigned long long)s->failures);
    }
    s->since_us = 0;
    s->failures = 0;
    s->errnum = 0;
    s->error[0] = '\0';
    ops_free (s);
    if (s->spill_exists) {
        (void)zpar__spill_remove (s->spill);
        s->spill_ok = s->spill_exists = 0;
    }
    check_refusing (s);
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

int zpar__records_health (const zpar_records_t *s, zpar_records_health_t *h)
{
    if (!s || !h) {
        errno = EINVAL;
        return -1;
    }
    memset (h, 0, sizeof (*h));
    h->unsaved = s->nops;
    h->bytes = s->bytes;
    h->limit = s->limit;
    h->since_us = s->since_us;
    h->failures = s->failures;
    h->refusing = s->refusing;
    h->errnum = s->since_us ? s->errnum : 0;
    snprintf (h->error, sizeof (h->error), "%s", s->error);
    return 0;
}

void zpar__records_set_limit (zpar_records_t *s, size_t bytes)
{
    if (s) {
        s->limit = bytes ? bytes : ZPAR_RECORDS_LIMIT_DEFAULT;
        check_refusing (s);
    }
}

void zpar__records_on_refusing (zpar_records_t *s, zpar_records_refusing_f fn, void *arg)
{
    if (s) {
        s->on_refusing = fn;
        s->on_refusing_arg = arg;
    }
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

static int dup_col (sqlite3_stmt *st, int col, uint8_t **out, size_t *len)
{
    const void *p = sqlite3_column_blob (st, col);
    int n = sqlite3_column_bytes (st, col);
    *out = NULL;
    *len = 0;
    if (!p || n <= 0)
        return 0;
    if (!(*out = malloc ((size_t)n)))
        return -1;
    memcpy (*out, p, (size_t)n);
    *len = (size_t)n;
    return 0;
}

/* What the unsaved batch says about task id, applied over what the
 * database said (*state, *status, *req, *res as zpar__records_get sets
 * them; found: whether the database had it).  The latest request and
 * result of the batch win, as they will when it is written.  1 if the
 * batch names the task, -1 ENOMEM. */
static int overlay (const zpar_records_t *s, uint64_t id, int found, int *state, int *status,
                    uint8_t **req, size_t *reqlen, uint8_t **res, size_t *reslen)
{
    const op_t *rq = NULL, *rs = NULL;
    int named = 0, st = found ? *state : ZPAR_REC_PENDING;
    for (size_t i = 0; i < s->nops; i++) {
        const op_t *op = &s->ops[i];
        if (op->id != id || op->kind == OP_COUNTER)
            continue;
        named = 1;
        if (op->kind == OP_REQUEST)
            rq = op;
        else if (op->kind == OP_RUNNING)
            st = st < ZPAR_REC_RUNNING ? ZPAR_REC_RUNNING : st;
        else {
            rs = op;
            st = ZPAR_REC_DONE;
        }
    }
    if (!named)
        return 0;
    *state = st;
    if (!found)
        *status = 0;
    if (rs)
        *status = rs->status;
    if (req && rq) {
        uint8_t *c = rq->len ? malloc (rq->len) : NULL;
        if (rq->len && !c)
            return -1;
        if (rq->len)
            memcpy (c, rq->blob, rq->len);
        free (*req);
        *req = c;
        *reqlen = rq->len;
    }
    if (res && rs) {
        uint8_t *c = rs->len ? malloc (rs->len) : NULL;
        if (rs->len && !c)
            return -1;
        if (rs->len)
            memcpy (c, rs->blob, rs->len);
        free (*res);
        *res = c;
        *reslen = rs->len;
    }
    return 1;
}

int zpar__records_get (zpar_records_t *s, zpar_tid_t tid, int *state, int *status, uint8_t **req,
                       size_t *reqlen, uint8_t **res, size_t *reslen)
{
    sqlite3_stmt *st;
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
    if (!(st = zpar__db_stmt (s->db, sql_get, NULL)))
        return -1;
    sqlite3_bind_int64 (st, 1, (sqlite3_int64)id);
    if ((rc = zpar__db_step (s->db, st, "get", NULL)) < 0)
        return -1;
    if (rc == 1) {
        found = 1;
        *state = sqlite3_column_int (st, 0);
        *status = sqlite3_column_int (st, 1);
        if ((req && dup_col (st, 2, req, reqlen) < 0) ||
            (res && dup_col (st, 3, res, reslen) < 0)) {
            sqlite3_reset (st);
            goto nomem;
        }
        sqlite3_reset (st);
    }
    /* not saved yet: the batch is part of the records */
    if (s->nops && (rc = overlay (s, id, found, state, status, req, reqlen, res, reslen)) != 0) {
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

int zpar__records_unfinished (zpar_records_t *s, zpar_records_unfinished_f cb, void *arg)
{
    sqlite3_stmt *st;
    int rc;
    if (!s || !cb) {
        errno = EINVAL;
        return -1;
    }
    (void)zpar__records_flush (s, NULL);
    if (!(st = zpar__db_stmt (s->db, sql_unfinished, NULL)))
        return -1;
    while ((rc = zpar__db_step (s->db, st, "list unfinished", NULL)) == 1)
        cb (arg, zpar__tid ((uint64_t)sqlite3_column_int64 (st, 0)), sqlite3_column_int (st, 1),
            zpar__eid ((uint32_t)sqlite3_column_int64 (st, 2)), sqlite3_column_blob (st, 3),
            (size_t)sqlite3_column_bytes (st, 3));
    return rc < 0 ? -1 : 0;
}

int zpar__records_counts (zpar_records_t *s, uint64_t *ok, uint64_t *notok)
{
    sqlite3_stmt *st;
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
    return 0;
}

/* The counter's value as the database and the unsaved batch have it. */
static int counter_value (zpar_records_t *s, const char *name, uint64_t *v)
{
    sqlite3_stmt *st;
    size_t len = strlen (name);
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
        if (op->kind == OP_COUNTER && op->len == len && !memcmp (op->blob, name, len) &&
            op->id > *v)
            *v = op->id;
    }
    return 0;
}

/* Records are not saved: the increment joins the batch. */
static int counter_batched (zpar_records_t *s, const char *name, uint64_t *v)
{
    uint64_t cur;
    op_t *op;
    if (counter_value (s, name, &cur) < 0 || !(op = push (s)))
        return -1;
    op->kind = OP_COUNTER;
    op->id = cur + 1;
    if (!(op->blob = strdup (name))) {
        pop (s);
        return -1;
    }
    op->len = strlen (name);
    s->bytes += op->len;
    spill_add (s, op);
    check_refusing (s);
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

int zpar__records_engine_put (zpar_records_t *s, const char *uuid, zpar_eid_t id,
                              uint32_t next_engine)
{
    sqlite3_stmt *st;
    if (!s || !uuid || !*uuid || !id.v) {
        errno = EINVAL;
        return -1;
    }
    if (!(st = zpar__db_stmt (s->db, sql_engine_put, NULL)))
        return -1;
    sqlite3_bind_text (st, 1, uuid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (st, 2, id.v);
    if (zpar__db_run (s->db, st, "engine id", NULL) < 0)
        return -1;
    if (!(st = zpar__db_stmt (s->db, sql_counter_max, NULL)))
        return -1;
    sqlite3_bind_text (st, 1, "engine_next", -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, next_engine);
    return zpar__db_run (s->db, st, "engine counter", NULL);
}

int zpar__records_counter (zpar_records_t *s, const char *name, uint64_t *v)
{
    sqlite3_stmt *st;
    int rc;
    if (!s || !name || !*name || !v) {
        errno = EINVAL;
        return -1;
    }
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
    return 0;
}

int zpar__records_counter_raise (zpar_records_t *s, const char *name, uint64_t v)
{
    sqlite3_stmt *st;
    if (!s || !name || !*name || v > INT64_MAX) {
        errno = EINVAL;
        return -1;
    }
    (void)zpar__records_flush (s, NULL);
    if (!(st = zpar__db_stmt (s->db, sql_counter_max, NULL)))
        return -1;
    sqlite3_bind_text (st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (st, 2, (sqlite3_int64)v);
    return zpar__db_run (s->db, st, "counter", NULL);
}
