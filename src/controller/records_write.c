/* records_write.c - the task records' layout in SQLite: the schema (and
 * the refusal of an older layout), writing a batch with one row per
 * finished task, and reading a task's row back. */
#include "config.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "msg.h"
#include "proto_record.h"
#include "records_internal.h"
#include "zpar.h"

/* Layout 2 (PRAGMA user_version): a finished task is one row of tasks,
 * written once; a task accepted but not finished when a batch is written
 * has a row in pending, moved to tasks when it finishes.  Times: submitted
 * in microseconds since the epoch; started and completed in microseconds
 * after submitted (absolute when submitted is NULL: a request never
 * recorded).  request and result: proto_record.h's compact form, its base
 * time submitted (0 when NULL). */
static const char *schema =
    "CREATE TABLE IF NOT EXISTS tasks ("
    "  id INTEGER PRIMARY KEY, client INTEGER, engine INTEGER, status INTEGER NOT NULL,"
    "  submitted INTEGER, started INTEGER, completed INTEGER, request BLOB, result BLOB);"
    "CREATE TABLE IF NOT EXISTS pending ("
    "  id INTEGER PRIMARY KEY, client INTEGER, engine INTEGER, state INTEGER NOT NULL,"
    "  submitted INTEGER, started INTEGER, request BLOB);"
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER);"
    "CREATE TABLE IF NOT EXISTS engines (uuid TEXT PRIMARY KEY, id INTEGER NOT NULL);";

static const char *sql_pending_put =
    "INSERT INTO pending(id,client,engine,state,submitted,started,request) "
    "VALUES(?1,?2,?3,?4,?5,?6,?7) ON CONFLICT(id) DO UPDATE SET client=?2, engine=?3, "
    "state=MAX(state,?4), submitted=?5, started=COALESCE(?6,started), request=?7";
static const char *sql_pending_run =
    "INSERT INTO pending(id,engine,state,started) VALUES(?1,?2,1,?3) ON CONFLICT(id) DO UPDATE "
    "SET engine=?2, state=1, started=?3-COALESCE(submitted,0)";
static const char *sql_pending_get =
    "SELECT client,engine,state,submitted,started,request FROM pending WHERE id=?1";
static const char *sql_pending_del = "DELETE FROM pending WHERE id=?1";
static const char *sql_done_request = "UPDATE tasks SET request=?2 WHERE id=?1 AND request IS NULL";
static const char *sql_task_put =
    "INSERT INTO tasks(id,client,engine,status,submitted,started,completed,request,result) "
    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9) ON CONFLICT(id) DO NOTHING";
static const char *sql_task_get = "SELECT status,submitted,request,result FROM tasks WHERE id=?1";
static const char *sql_engine_put = "INSERT INTO engines(uuid,id) VALUES(?1,?2) ON CONFLICT(uuid) "
                                    "DO UPDATE SET id=?2";
static const char *sql_counter_max = "INSERT INTO counters(name,value) VALUES(?1,?2) "
                                     "ON CONFLICT(name) DO UPDATE SET value=MAX(value,?2)";

#define LAYOUT 2

int zpar__rec_schema (zpar_records_t *s, const char *path, zpar_error_t *err)
{
    sqlite3_stmt *st;
    int version, rc, old = 0;
    if (zpar__db_user_version (s->db, &version, err) < 0)
        return -1;
    if (version == 0) {
        /* a database of layout 1 (before user_version was set): its
         * tasks table has a state column */
        if (!(st = zpar__db_stmt (s->db,
                                  "SELECT 1 FROM pragma_table_info('tasks') "
                                  "WHERE name='state'",
                                  err)))
            return -1;
        if ((rc = zpar__db_step (s->db, st, "schema", err)) < 0)
            return -1;
        if (rc == 1) {
            old = 1;
            sqlite3_reset (st);
        }
    }
    if (old || version > LAYOUT || (version && version < LAYOUT))
        return zpar__errnoprintf (err, EPROTO,
                                  "task database %s has record layout %d, this zpar reads layout "
                                  "%d only: finish with the zpar that wrote it, or move the file "
                                  "away (with its -wal) to start new records",
                                  path, old ? 1 : version, LAYOUT);
    if (zpar__db_exec (s->db, schema, err) < 0)
        return -1;
    return version == LAYOUT ? 0 : zpar__db_set_user_version (s->db, LAYOUT, err);
}

/* What the batch being written holds of one task. */
typedef struct {
    const op_t *req; /* its last request, NULL */
    const op_t *run; /* its last start, NULL */
    const op_t *res; /* its first result, NULL */
    size_t res_at;   /* the result's index */
    size_t req_at;
} wtask_t;

static void bind_opt (sqlite3_stmt *st, int col, int have, sqlite3_int64 v)
{
    if (have)
        sqlite3_bind_int64 (st, col, v);
    else
        sqlite3_bind_null (st, col);
}

/* Bind the compact form of packed blob (len bytes) at col; buf: room. */
static int bind_compact (sqlite3_stmt *st, int col, const void *blob, size_t len, uint64_t base,
                         uint8_t **buf, size_t *cap)
{
    size_t need = ZPAR_RECORD_MAX (len), n;
    if (!blob) {
        sqlite3_bind_null (st, col);
        return 0;
    }
    if (need > *cap) {
        uint8_t *nb = realloc (*buf, need);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = need;
    }
    if (zpar__record_compact (blob, len, base, *buf, &n) < 0) {
        sqlite3_bind_null (st, col); /* not a message: nothing to keep */
        return 0;
    }
    sqlite3_bind_blob (st, col, *buf, (int)n, SQLITE_TRANSIENT);
    return 0;
}

/* A task finished (op: its result; w: what the batch holds of it). */
static int write_result (zpar_records_t *s, const wtask_t *w, uint8_t **buf, size_t *cap,
                         zpar_error_t *err)
{
    const op_t *op = w->res;
    sqlite3_stmt *st;
    sqlite3_int64 client = op->client, engine = op->engine, started = 0, submitted = 0;
    int have_sub = 0, have_start = 0, rc;
    void *preq = NULL; /* the compact request of the pending row */
    int preqlen = 0;

    if (w->req && w->req_at < w->res_at) {
        submitted = (sqlite3_int64)w->req->when;
        have_sub = 1;
        client = w->req->client;
    }
    if (!(st = zpar__db_stmt (s->db, sql_pending_get, err)))
        return -1;
    sqlite3_bind_int64 (st, 1, (sqlite3_int64)op->id);
    if ((rc = zpar__db_step (s->db, st, "read", err)) < 0)
        return -1;
    if (rc == 1) {
        if (!have_sub) {
            client = sqlite3_column_int64 (st, 0);
            have_sub = sqlite3_column_type (st, 3) != SQLITE_NULL;
            submitted = sqlite3_column_int64 (st, 3);
            if ((have_start = sqlite3_column_type (st, 4) != SQLITE_NULL))
                started = sqlite3_column_int64 (st, 4);
            if ((preqlen = sqlite3_column_bytes (st, 5)) > 0) {
                if (!(preq = malloc ((size_t)preqlen))) {
                    sqlite3_reset (st);
                    errno = ENOMEM;
                    return -1;
                }
                memcpy (preq, sqlite3_column_blob (st, 5), (size_t)preqlen);
            }
        }
        sqlite3_reset (st);
        if (!(st = zpar__db_stmt (s->db, sql_pending_del, err)))
            goto fail;
        sqlite3_bind_int64 (st, 1, (sqlite3_int64)op->id);
        if (zpar__db_run (s->db, st, "write", err) < 0)
            goto fail;
    }
    if (w->run && w->run->when) {
        started = (sqlite3_int64)w->run->when - (have_sub ? submitted : 0);
        have_start = 1;
    }
    if (!(st = zpar__db_stmt (s->db, sql_task_put, err)))
        goto fail;
    sqlite3_bind_int64 (st, 1, (sqlite3_int64)op->id);
    sqlite3_bind_int64 (st, 2, client);
    sqlite3_bind_int64 (st, 3, engine);
    sqlite3_bind_int (st, 4, op->status);
    bind_opt (st, 5, have_sub, submitted);
    bind_opt (st, 6, have_start, started);
    sqlite3_bind_int64 (st, 7, (sqlite3_int64)op->when - (have_sub ? submitted : 0));
    if (preq)
        sqlite3_bind_blob (st, 8, preq, preqlen, SQLITE_TRANSIENT);
    else if (w->req && w->req_at < w->res_at) {
        if (bind_compact (st, 8, w->req->blob, w->req->len, (uint64_t)submitted, buf, cap) < 0)
            goto nomem;
    } else
        sqlite3_bind_null (st, 8);
    /* the request is bound (copied): the buffer serves the result */
    if (bind_compact (st, 9, op->blob, op->len, have_sub ? (uint64_t)submitted : 0, buf, cap) < 0)
        goto nomem;
    free (preq);
    return zpar__db_run (s->db, st, "write", err);
nomem:
    sqlite3_reset (st);
    errno = ENOMEM;
fail:
    free (preq);
    return -1;
}

/* Whether task id has a finished row: 1, 0, -1. */
static int finished (zpar_records_t *s, uint64_t id, zpar_error_t *err)
{
    sqlite3_stmt *q = zpar__db_stmt (s->db, "SELECT 1 FROM tasks WHERE id=?1", err);
    int rc;
    if (!q)
        return -1;
    sqlite3_bind_int64 (q, 1, (sqlite3_int64)id);
    if ((rc = zpar__db_step (s->db, q, "read", err)) == 1)
        sqlite3_reset (q);
    return rc;
}

/* A task accepted (req, or NULL) and maybe started (run, or NULL), not
 * finished in this batch: its pending row. */
static int write_pending (zpar_records_t *s, const op_t *req, const op_t *run, uint8_t **buf,
                          size_t *cap, zpar_error_t *err)
{
    sqlite3_stmt *st;
    int rc;
    /* finished already (a late start, a resubmission after the result):
     * the finished row stays as it is; it keeps the request if it had
     * none */
    if ((rc = finished (s, req ? req->id : run->id, err)) != 0) {
        if (rc < 0 || !req)
            return rc < 0 ? -1 : 0;
        if (!(st = zpar__db_stmt (s->db, sql_done_request, err)))
            return -1;
        sqlite3_bind_int64 (st, 1, (sqlite3_int64)req->id);
        if (bind_compact (st, 2, req->blob, req->len, req->when, buf, cap) < 0) {
            sqlite3_reset (st);
            errno = ENOMEM;
            return -1;
        }
        return zpar__db_run (s->db, st, "write", err);
    }
    if (!req) {
        if (!(st = zpar__db_stmt (s->db, sql_pending_run, err)))
            return -1;
        sqlite3_bind_int64 (st, 1, (sqlite3_int64)run->id);
        sqlite3_bind_int64 (st, 2, run->engine);
        sqlite3_bind_int64 (st, 3, (sqlite3_int64)run->when);
        return zpar__db_run (s->db, st, "write", err);
    }
    if (!(st = zpar__db_stmt (s->db, sql_pending_put, err)))
        return -1;
    sqlite3_bind_int64 (st, 1, (sqlite3_int64)req->id);
    sqlite3_bind_int64 (st, 2, req->client);
    sqlite3_bind_int64 (st, 3, run ? run->engine : req->engine);
    sqlite3_bind_int (st, 4, run ? ZPAR_REC_RUNNING : ZPAR_REC_PENDING);
    sqlite3_bind_int64 (st, 5, (sqlite3_int64)req->when);
    bind_opt (st, 6, run != NULL, run ? (sqlite3_int64)(run->when - req->when) : 0);
    if (bind_compact (st, 7, req->blob, req->len, req->when, buf, cap) < 0) {
        sqlite3_reset (st);
        errno = ENOMEM;
        return -1;
    }
    return zpar__db_run (s->db, st, "write", err);
}

int zpar__rec_db_counter_max (zpar_records_t *s, const char *name, size_t len, uint64_t v,
                              zpar_error_t *err)
{
    sqlite3_stmt *st = zpar__db_stmt (s->db, sql_counter_max, err);
    if (!st)
        return -1;
    sqlite3_bind_text (st, 1, name, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, (sqlite3_int64)v);
    return zpar__db_run (s->db, st, "write", err);
}

int zpar__rec_db_engine (zpar_records_t *s, const char *uuid, size_t len, uint64_t id,
                         uint64_t next, zpar_error_t *err)
{
    sqlite3_stmt *st = zpar__db_stmt (s->db, sql_engine_put, err);
    if (!st)
        return -1;
    sqlite3_bind_text (st, 1, uuid, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, (sqlite3_int64)id);
    if (zpar__db_run (s->db, st, "write", err) < 0)
        return -1;
    return zpar__rec_db_counter_max (s, "engine_next", strlen ("engine_next"), next, err);
}

static int write_other (zpar_records_t *s, const op_t *op, zpar_error_t *err)
{
    if (op->kind == OP_ENGINE)
        return zpar__rec_db_engine (s, op->blob, op->len, op->id, op->when, err);
    return zpar__rec_db_counter_max (s, op->blob, op->len, op->id, err);
}

/* Write ops[0..n) (in a transaction the caller holds): a task finished
 * in the batch is one row of tasks, its request and start folded in; the
 * others update pending. */
static int write_ops (zpar_records_t *s, size_t n, zpar_error_t *err)
{
    zpar_idmap_t *map = zpar__idmap_create ();
    wtask_t *ws = calloc (n ? n : 1, sizeof (*ws));
    uint8_t *buf = NULL;
    size_t nw = 0, cap = 0;
    int rc = -1;
    if (!map || !ws) {
        errno = ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const op_t *op = &s->ops[i];
        wtask_t *w;
        if (!OP_TASK (op))
            continue;
        if (!(w = zpar__idmap_get (map, op->id))) {
            w = &ws[nw++];
            if (zpar__idmap_put (map, op->id, w) < 0)
                goto done;
        }
        if (op->kind == OP_REQUEST && !w->res) {
            w->req = op;
            w->req_at = i;
        } else if (op->kind == OP_RUNNING && !w->res)
            w->run = op;
        else if (op->kind == OP_RESULT && !w->res) {
            w->res = op;
            w->res_at = i;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const op_t *op = &s->ops[i];
        wtask_t *w = OP_TASK (op) ? zpar__idmap_get (map, op->id) : NULL;
        int r = 0;
        if (!OP_TASK (op))
            r = write_other (s, op, err);
        else if (w->res) {
            /* finished in this batch: one row, at its result */
            if (op == w->res)
                r = write_result (s, w, &buf, &cap, err);
        } else if (op == w->req)
            r = write_pending (s, op, w->run, &buf, &cap, err);
        else if (op == w->run && !w->req)
            r = write_pending (s, NULL, op, &buf, &cap, err);
        if (r < 0)
            goto done;
    }
    rc = 0;
done:
    free (buf);
    free (ws);
    zpar__idmap_destroy (map);
    return rc;
}

int zpar__rec_write (zpar_records_t *s, size_t n, zpar_error_t *err)
{
    if (zpar__db_begin (s->db, err) < 0)
        return -1;
    if (write_ops (s, n, err) < 0) {
        int e = errno;
        zpar__db_rollback (s->db);
        errno = e;
        return -1;
    }
    if (zpar__db_commit (s->db, err) < 0) {
        int e = errno;
        zpar__db_rollback (s->db);
        errno = e;
        return -1;
    }
    return 0;
}

static int expand_col (sqlite3_stmt *st, int col, uint64_t id, uint64_t base, uint8_t **out,
                       size_t *len)
{
    const void *p = sqlite3_column_blob (st, col);
    int n = sqlite3_column_bytes (st, col);
    *out = NULL;
    *len = 0;
    if (!p || n <= 0)
        return 0;
    if (zpar__record_expand (p, (size_t)n, id, base, out, len) < 0)
        return errno == ENOMEM ? -1 : 0; /* a damaged blob reads as absent */
    return 0;
}

int zpar__rec_db_get (zpar_records_t *s, uint64_t id, int *state, int *status, uint8_t **req,
                      size_t *reqlen, uint8_t **res, size_t *reslen)
{
    sqlite3_stmt *st;
    uint64_t base;
    int rc, done = 1;
    if (!(st = zpar__db_stmt (s->db, sql_task_get, NULL)))
        return -1;
    sqlite3_bind_int64 (st, 1, (sqlite3_int64)id);
    if ((rc = zpar__db_step (s->db, st, "get", NULL)) < 0)
        return -1;
    if (rc == 0) {
        done = 0;
        if (!(st = zpar__db_stmt (s->db, "SELECT state,submitted,request FROM pending WHERE id=?1",
                                  NULL)))
            return -1;
        sqlite3_bind_int64 (st, 1, (sqlite3_int64)id);
        if ((rc = zpar__db_step (s->db, st, "get", NULL)) <= 0)
            return rc;
    }
    *state = done ? ZPAR_REC_DONE : sqlite3_column_int (st, 0);
    *status = done ? sqlite3_column_int (st, 0) : 0;
    base = (uint64_t)sqlite3_column_int64 (st, 1);
    if ((req && expand_col (st, 2, id, base, req, reqlen) < 0) ||
        (res && done && expand_col (st, 3, id, base, res, reslen) < 0)) {
        sqlite3_reset (st);
        if (req) {
            free (*req);
            *req = NULL;
        }
        errno = ENOMEM;
        return -1;
    }
    sqlite3_reset (st);
    return 1;
}

int zpar__rec_db_unfinished (zpar_records_t *s, zpar_rec_row_f cb, void *arg)
{
    sqlite3_stmt *st = zpar__db_stmt (
        s->db, "SELECT id,state,engine,submitted,request FROM pending ORDER BY id", NULL);
    int rc;
    if (!st)
        return -1;
    while ((rc = zpar__db_step (s->db, st, "list unfinished", NULL)) == 1) {
        uint64_t id = (uint64_t)sqlite3_column_int64 (st, 0);
        uint8_t *req = NULL;
        size_t len = 0;
        if (expand_col (st, 4, id, (uint64_t)sqlite3_column_int64 (st, 3), &req, &len) < 0) {
            sqlite3_reset (st);
            return -1;
        }
        cb (arg, id, sqlite3_column_int (st, 1), (uint32_t)sqlite3_column_int64 (st, 2), req, len);
        free (req);
    }
    return rc < 0 ? -1 : 0;
}
