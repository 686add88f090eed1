/* records.c - the hub's task records in SQLite, written in batches. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "error.h"
#include "log.h"
#include "records.h"

typedef enum { OP_REQUEST, OP_RUNNING, OP_RESULT } op_kind_t;

typedef struct {
    op_kind_t kind;
    uint64_t id;
    uint32_t client;
    uint32_t engine;
    int status;
    uint64_t when;
    void *blob;
    size_t len;
} op_t;

struct zpar_records {
    zpar_db_t *db;
    op_t *ops;
    size_t nops;
    size_t cap;
};

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
    if (!(s->db = zpar__db_open (path, &opts, err)) || zpar__db_exec (s->db, schema, err) < 0)
        goto error;
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
}

void zpar__records_close (zpar_records_t *s)
{
    if (s) {
        int saved = errno;
        if (s->db && s->nops)
            (void)zpar__records_flush (s, NULL);
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
    return &s->ops[s->nops++];
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
        s->nops--;
        return -1;
    }
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
        s->nops--;
        return -1;
    }
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

int zpar__records_flush (zpar_records_t *s, zpar_error_t *err)
{
    if (!s)
        return zpar__errnoprintf (err, EINVAL, "no task database");
    if (!s->nops)
        return 0;
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
    ops_free (s);
    return 0;
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

int zpar__records_get (zpar_records_t *s, zpar_tid_t tid, int *state, int *status, uint8_t **req,
                       size_t *reqlen, uint8_t **res, size_t *reslen)
{
    sqlite3_stmt *st;
    uint64_t id = tid.v;
    int rc;
    if (!s || !state || !status || id > INT64_MAX || (req && !reqlen) || (res && !reslen)) {
        errno = EINVAL;
        return -1;
    }
    if (s->nops)
        (void)zpar__records_flush (s, NULL);
    if (!(st = zpar__db_stmt (s->db, sql_get, NULL)))
        return -1;
    sqlite3_bind_int64 (st, 1, (sqlite3_int64)id);
    if ((rc = zpar__db_step (s->db, st, "get", NULL)) <= 0) {
        if (rc == 0)
            errno = ENOENT;
        return -1;
    }
    *state = sqlite3_column_int (st, 0);
    *status = sqlite3_column_int (st, 1);
    if ((req && dup_col (st, 2, req, reqlen) < 0) || (res && dup_col (st, 3, res, reslen) < 0)) {
        if (req) {
            free (*req);
            *req = NULL;
        }
        sqlite3_reset (st);
        errno = ENOMEM;
        return -1;
    }
    sqlite3_reset (st);
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
    (void)zpar__records_flush (s, NULL);
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

int zpar__records_next_counter (zpar_records_t *s, const char *name, uint64_t *v)
{
    sqlite3_stmt *st;
    int rc;
    if (!s || !name || !*name || !v) {
        errno = EINVAL;
        return -1;
    }
    (void)zpar__records_flush (s, NULL);
    if (!(st = zpar__db_stmt (s->db, sql_counter, NULL)))
        return -1;
    sqlite3_bind_text (st, 1, name, -1, SQLITE_TRANSIENT);
    if ((rc = zpar__db_step (s->db, st, "counter", NULL)) < 0)
        return -1;
    if (rc == 0) {
        errno = EIO;
        return -1;
    }
    *v = (uint64_t)sqlite3_column_int64 (st, 0);
    /* a RETURNING statement completes its write when stepped to the end */
    rc = zpar__db_step (s->db, st, "counter", NULL);
    if (rc == 1)
        sqlite3_reset (st);
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
