/* records.c - the hub's task records in SQLite, written in batches. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

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
    sqlite3 *db;
    sqlite3_stmt *ins_req;
    sqlite3_stmt *upd_run;
    sqlite3_stmt *upd_res;
    sqlite3_stmt *get;
    op_t *ops;
    size_t nops;
    size_t cap;
};

static const char *schema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS tasks ("
    "  id INTEGER PRIMARY KEY,"
    "  client INTEGER, engine INTEGER,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  status INTEGER NOT NULL DEFAULT 0,"
    "  submitted_us INTEGER, started_us INTEGER, completed_us INTEGER,"
    "  request BLOB, result BLOB);"
    "CREATE INDEX IF NOT EXISTS tasks_state ON tasks(state);"
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER);";

zpar_records_t *zpar__records_open (const char *path, zpar_error_t *err)
{
    zpar_records_t *s;
    char *msg = NULL;

    if (!path || !*path) {
        zpar__errnoprintf (err, EINVAL, "no task database path");
        return NULL;
    }
    if (!(s = calloc (1, sizeof (*s)))) {
        zpar__errprintf (err, "out of memory");
        return NULL;
    }
    if (sqlite3_open_v2 (path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                         NULL) != SQLITE_OK) {
        zpar__errnoprintf (err, EIO, "cannot open task database %s: %s", path,
                           s->db ? sqlite3_errmsg (s->db) : "out of memory");
        goto error;
    }
    sqlite3_busy_timeout (s->db, 5000);
    if (sqlite3_exec (s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        zpar__errnoprintf (err, EIO, "cannot initialise task database %s: %s", path, msg);
        sqlite3_free (msg);
        goto error;
    }
    if (sqlite3_prepare_v2 (s->db,
                            "INSERT INTO tasks(id,client,engine,state,submitted_us,request) "
                            "VALUES(?1,?2,?3,0,?4,?5) ON CONFLICT(id) DO UPDATE SET "
                            "client=?2, request=?5, submitted_us=?4",
                            -1, &s->ins_req, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2 (s->db,
                            "INSERT INTO tasks(id,engine,state,started_us) VALUES(?1,?2,1,?3) "
                            "ON CONFLICT(id) DO UPDATE SET engine=?2, started_us=?3, "
                            "state=MAX(state,1)",
                            -1, &s->upd_run, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2 (s->db,
                            "INSERT INTO tasks(id,engine,state,status,completed_us,result) "
                            "VALUES(?1,?2,2,?3,?4,?5) ON CONFLICT(id) DO UPDATE SET "
                            "engine=?2, state=2, status=?3, completed_us=?4, result=?5",
                            -1, &s->upd_res, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2 (s->db, "SELECT state,status,request,result FROM tasks WHERE id=?1", -1,
                            &s->get, NULL) != SQLITE_OK) {
        zpar__errnoprintf (err, EIO, "cannot prepare task database statements: %s",
                           sqlite3_errmsg (s->db));
        goto error;
    }
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
        sqlite3_finalize (s->ins_req);
        sqlite3_finalize (s->upd_run);
        sqlite3_finalize (s->upd_res);
        sqlite3_finalize (s->get);
        if (s->db)
            sqlite3_close (s->db);
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

int zpar__records_put_request (zpar_records_t *s, uint64_t id, uint32_t client, uint32_t engine,
                               const void *hdr, size_t hlen, const void *body, size_t blen,
                               uint64_t when_us)
{
    op_t *op;
    if (bad_put (s, id, hdr, hlen, body, blen) || !(op = push (s)))
        return -1;
    op->kind = OP_REQUEST;
    op->id = id;
    op->client = client;
    op->engine = engine;
    op->when = when_us;
    if (copy_blob (op, hdr, hlen, body, blen) < 0) {
        s->nops--;
        return -1;
    }
    return 0;
}

int zpar__records_put_running (zpar_records_t *s, uint64_t id, uint32_t engine, uint64_t when_us)
{
    op_t *op;
    if (bad_put (s, id, NULL, 0, NULL, 0) || !(op = push (s)))
        return -1;
    op->kind = OP_RUNNING;
    op->id = id;
    op->engine = engine;
    op->when = when_us;
    return 0;
}

int zpar__records_put_result (zpar_records_t *s, uint64_t id, uint32_t engine, int status,
                              const void *hdr, size_t hlen, const void *body, size_t blen,
                              uint64_t when_us)
{
    op_t *op;
    if (bad_put (s, id, hdr, hlen, body, blen) || !(op = push (s)))
        return -1;
    op->kind = OP_RESULT;
    op->id = id;
    op->engine = engine;
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

static int run_op (zpar_records_t *s, const op_t *op)
{
    sqlite3_stmt *st;
    int rc;
    switch (op->kind) {
    case OP_REQUEST:
        st = s->ins_req;
        sqlite3_bind_int64 (st, 1, (sqlite3_int64)op->id);
        sqlite3_bind_int64 (st, 2, op->client);
        sqlite3_bind_int64 (st, 3, op->engine);
        sqlite3_bind_int64 (st, 4, (sqlite3_int64)op->when);
        sqlite3_bind_blob (st, 5, op->blob, (int)op->len, SQLITE_STATIC);
        break;
    case OP_RUNNING:
        st = s->upd_run;
        sqlite3_bind_int64 (st, 1, (sqlite3_int64)op->id);
        sqlite3_bind_int64 (st, 2, op->engine);
        sqlite3_bind_int64 (st, 3, (sqlite3_int64)op->when);
        break;
    default:
        st = s->upd_res;
        sqlite3_bind_int64 (st, 1, (sqlite3_int64)op->id);
        sqlite3_bind_int64 (st, 2, op->engine);
        sqlite3_bind_int (st, 3, op->status);
        sqlite3_bind_int64 (st, 4, (sqlite3_int64)op->when);
        sqlite3_bind_blob (st, 5, op->blob, (int)op->len, SQLITE_STATIC);
        break;
    }
    rc = sqlite3_step (st);
    sqlite3_reset (st);
    sqlite3_clear_bindings (st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int zpar__records_flush (zpar_records_t *s, zpar_error_t *err)
{
    if (!s)
        return zpar__errnoprintf (err, EINVAL, "no task database");
    if (!s->nops)
        return 0;
    if (sqlite3_exec (s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return zpar__errnoprintf (err, EIO, "task database: %s", sqlite3_errmsg (s->db));
    for (size_t i = 0; i < s->nops; i++) {
        if (run_op (s, &s->ops[i]) < 0) {
            zpar__errnoprintf (err, EIO, "task database write: %s", sqlite3_errmsg (s->db));
            sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    if (sqlite3_exec (s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        zpar__errnoprintf (err, EIO, "task database commit: %s", sqlite3_errmsg (s->db));
        sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
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

int zpar__records_get (zpar_records_t *s, uint64_t id, int *state, int *status, uint8_t **req,
                       size_t *reqlen, uint8_t **res, size_t *reslen)
{
    int rc;
    if (!s || !state || !status || id > INT64_MAX || (req && !reqlen) || (res && !reslen)) {
        errno = EINVAL;
        return -1;
    }
    if (s->nops)
        (void)zpar__records_flush (s, NULL);
    sqlite3_bind_int64 (s->get, 1, (sqlite3_int64)id);
    rc = sqlite3_step (s->get);
    if (rc != SQLITE_ROW) {
        sqlite3_reset (s->get);
        errno = rc == SQLITE_DONE ? ENOENT : EIO;
        return -1;
    }
    *state = sqlite3_column_int (s->get, 0);
    *status = sqlite3_column_int (s->get, 1);
    if ((req && dup_col (s->get, 2, req, reqlen) < 0) ||
        (res && dup_col (s->get, 3, res, reslen) < 0)) {
        sqlite3_reset (s->get);
        errno = ENOMEM;
        return -1;
    }
    sqlite3_reset (s->get);
    return 0;
}

long zpar__records_purge (zpar_records_t *s, uint64_t id)
{
    sqlite3_stmt *st;
    long n;
    if (!s || id > INT64_MAX) {
        errno = EINVAL;
        return -1;
    }
    (void)zpar__records_flush (s, NULL);
    if (sqlite3_prepare_v2 (s->db,
                            id ? "DELETE FROM tasks WHERE state=2 AND id=?1"
                               : "DELETE FROM tasks WHERE state=2",
                            -1, &st, NULL) != SQLITE_OK) {
        errno = EIO;
        return -1;
    }
    if (id)
        sqlite3_bind_int64 (st, 1, (sqlite3_int64)id);
    n = sqlite3_step (st) == SQLITE_DONE ? sqlite3_changes (s->db) : -1;
    sqlite3_finalize (st);
    if (n < 0)
        errno = EIO;
    return n;
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
    if (sqlite3_prepare_v2 (s->db,
                            "SELECT id,state,engine,request FROM tasks WHERE state<2 ORDER BY id",
                            -1, &st, NULL) != SQLITE_OK) {
        errno = EIO;
        return -1;
    }
    while ((rc = sqlite3_step (st)) == SQLITE_ROW)
        cb (arg, (uint64_t)sqlite3_column_int64 (st, 0), sqlite3_column_int (st, 1),
            (uint32_t)sqlite3_column_int64 (st, 2), sqlite3_column_blob (st, 3),
            (size_t)sqlite3_column_bytes (st, 3));
    sqlite3_finalize (st);
    if (rc != SQLITE_DONE) {
        errno = EIO;
        return -1;
    }
    return 0;
}

int zpar__records_counts (zpar_records_t *s, uint64_t *ok, uint64_t *notok)
{
    sqlite3_stmt *st;
    if (!s || !ok || !notok) {
        errno = EINVAL;
        return -1;
    }
    *ok = *notok = 0;
    (void)zpar__records_flush (s, NULL);
    if (sqlite3_prepare_v2 (s->db, "SELECT SUM(status=1), SUM(status<>1) FROM tasks WHERE state=2",
                            -1, &st, NULL) != SQLITE_OK) {
        errno = EIO;
        return -1;
    }
    if (sqlite3_step (st) == SQLITE_ROW) {
        *ok = (uint64_t)sqlite3_column_int64 (st, 0);
        *notok = (uint64_t)sqlite3_column_int64 (st, 1);
    }
    sqlite3_finalize (st);
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
    if (sqlite3_prepare_v2 (s->db,
                            "INSERT INTO counters(name,value) VALUES(?1,1) ON CONFLICT(name) "
                            "DO UPDATE SET value=value+1 RETURNING value",
                            -1, &st, NULL) != SQLITE_OK) {
        errno = EIO;
        return -1;
    }
    sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step (st);
    if (rc == SQLITE_ROW)
        *v = (uint64_t)sqlite3_column_int64 (st, 0);
    sqlite3_finalize (st);
    if (rc != SQLITE_ROW) {
        errno = EIO;
        return -1;
    }
    return 0;
}
