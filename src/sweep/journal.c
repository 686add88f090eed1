/* journal.c - the SQLite journal of a sweep. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "clock.h"
#include "db.h"
#include "error.h"
#include "journal.h"

#define SCHEMA_VERSION 2

static const char *schema =
    "CREATE TABLE IF NOT EXISTS meta ("
    "  name TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS points ("
    "  key TEXT PRIMARY KEY,"
    "  idx INTEGER NOT NULL,"
    "  params TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('pending','running','succeeded','failed')),"
    "  exit_code INTEGER,"
    "  signal INTEGER,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  wall_s REAL,"
    "  max_rss_kb INTEGER,"
    "  engine TEXT,"
    "  host TEXT,"
    "  stdout TEXT,"
    "  stderr TEXT,"
    "  task_id TEXT,"
    "  created REAL,"
    "  started REAL,"
    "  finished REAL,"
    "  error TEXT,"
    "  inflight TEXT,"
    "  cluster TEXT);"
    "CREATE INDEX IF NOT EXISTS points_idx ON points (idx);"
    "CREATE INDEX IF NOT EXISTS points_state ON points (state);"
    /* the batch jobs that ran the sweep (resubmit.h) */
    "CREATE TABLE IF NOT EXISTS jobs ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job TEXT NOT NULL,"
    "  scheduler TEXT NOT NULL,"
    "  chain INTEGER NOT NULL DEFAULT 0,"
    "  started REAL NOT NULL,"
    "  ended REAL,"
    "  done INTEGER,"
    "  failed INTEGER,"
    "  left INTEGER,"
    "  outcome TEXT,"
    "  next_job TEXT);";

#define ROW_COLUMNS                                                                                \
    "key, idx, params, state, exit_code, signal, attempts, wall_s, max_rss_kb, engine, host, "     \
    "stdout, stderr, task_id, created, started, finished, error, inflight, cluster"

enum { ST_LOOKUP, ST_GET, ST_DISPATCH, ST_FINISH, ST_CUR_ADD, ST_META_SET, ST_ADOPT, ST_COUNT };

static const char *sql[ST_COUNT] = {
    [ST_LOOKUP] = "SELECT state, attempts FROM points WHERE key = ?1",
    [ST_GET] = "SELECT " ROW_COLUMNS " FROM points WHERE key = ?1",
    [ST_DISPATCH] =
        "INSERT INTO points (key, idx, params, state, attempts, stdout, stderr, task_id,"
        "  engine, host, created, started, inflight, cluster)"
        " VALUES (?1, ?2, ?3, 'running', 1, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?6, ?10)"
        " ON CONFLICT (key) DO UPDATE SET idx = excluded.idx, params = excluded.params,"
        "  state = 'running', attempts = attempts + 1, stdout = excluded.stdout,"
        "  stderr = excluded.stderr, task_id = excluded.task_id, engine = excluded.engine,"
        "  host = excluded.host, started = excluded.started, finished = NULL,"
        "  exit_code = NULL, signal = NULL, wall_s = NULL, max_rss_kb = NULL, error = NULL,"
        "  inflight = excluded.inflight, cluster = excluded.cluster",
    [ST_FINISH] = "UPDATE points SET state = ?2, exit_code = ?3, signal = ?4, wall_s = ?5,"
                  "  max_rss_kb = ?6, engine = coalesce (?7, engine), host = coalesce (?8, host),"
                  "  error = ?9, finished = ?10, inflight = NULL WHERE key = ?1",
    [ST_CUR_ADD] = "INSERT OR IGNORE INTO temp.current (key) VALUES (?1)",
    [ST_META_SET] = "INSERT INTO meta (name, value) VALUES (?1, ?2)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    [ST_ADOPT] = "UPDATE points SET state = 'running' WHERE key = ?1 AND inflight IS NOT NULL",
};

struct zpar_journal {
    zpar_db_t *db;
    sqlite3_stmt *st[ST_COUNT];
    int in_txn;
    unsigned nrec;
    uint64_t txn_start_us; /* monotonic */
    unsigned max_records;
    unsigned max_ms;
};

static const char *state_names[ZPAR_JSTATE_COUNT] = {
    "absent", "pending", "running", "succeeded", "failed",
};

const char *zpar__journal_state_name (zpar_jstate_t s)
{
    return (unsigned)s < ZPAR_JSTATE_COUNT ? state_names[s] : "unknown";
}

static zpar_jstate_t state_parse (const char *s)
{
    for (int i = 1; s && i < ZPAR_JSTATE_COUNT; i++)
        if (strcmp (s, state_names[i]) == 0)
            return (zpar_jstate_t)i;
    return ZPAR_JSTATE_ABSENT;
}

static int dbfail (zpar_journal_t *j, zpar_error_t *err, int rc, const char *what)
{
    return zpar__db_fail (j->db, err, rc, what);
}

static unsigned age_ms (uint64_t since_us)
{
    uint64_t now = zpar__mono_us ();
    uint64_t ms = now > since_us ? (now - since_us) / 1000 : 0;
    return ms > 0xffffffffULL ? 0xffffffffu : (unsigned)ms;
}

static int step_done (zpar_journal_t *j, sqlite3_stmt *st, zpar_error_t *err, const char *what)
{
    return zpar__db_run (j->db, st, what, err);
}

static int exec (zpar_journal_t *j, const char *text, zpar_error_t *err)
{
    return zpar__db_exec (j->db, text, err);
}

/* Release the row last returned by zpar__journal_get. */
static void release (zpar_journal_t *j)
{
    sqlite3_reset (j->st[ST_GET]);
}

static int txn_begin (zpar_journal_t *j, zpar_error_t *err)
{
    release (j);
    if (j->in_txn)
        return 0;
    if (zpar__db_begin (j->db, err) < 0)
        return -1;
    j->in_txn = 1;
    j->nrec = 0;
    j->txn_start_us = zpar__mono_us ();
    return 0;
}

int zpar__journal_flush (zpar_journal_t *j, zpar_error_t *err)
{
    if (!j)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    release (j);
    if (!j->in_txn)
        return 0;
    if (zpar__db_commit (j->db, err) < 0) {
        /* COMMIT failed (disk full, ...): the transaction may be gone. */
        if (!zpar__db_in_txn (j->db)) {
            j->in_txn = 0;
            j->nrec = 0;
        }
        return -1;
    }
    j->in_txn = 0;
    j->nrec = 0;
    return 0;
}

int zpar__journal_tick (zpar_journal_t *j, zpar_error_t *err)
{
    if (!j)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    if (j->in_txn && j->max_ms && age_ms (j->txn_start_us) >= j->max_ms)
        return zpar__journal_flush (j, err);
    return 0;
}

unsigned zpar__journal_unflushed (const zpar_journal_t *j)
{
    return j && j->in_txn ? j->nrec : 0;
}

/* After one record: flush if the batch is full or old. */
static int recorded (zpar_journal_t *j, zpar_error_t *err)
{
    j->nrec++;
    if (j->nrec >= j->max_records || (j->max_ms && age_ms (j->txn_start_us) >= j->max_ms))
        return zpar__journal_flush (j, err);
    return 0;
}

int zpar__journal_set_batch (zpar_journal_t *j, unsigned max_records, unsigned max_ms)
{
    if (!j || max_records < 1) {
        errno = EINVAL;
        return -1;
    }
    j->max_records = max_records;
    j->max_ms = max_ms;
    return 0;
}

static int meta_set (zpar_journal_t *j, const char *name, const char *value, zpar_error_t *err)
{
    sqlite3_stmt *st = zpar__db_stmt (j->db, sql[ST_META_SET], err);
    if (!st)
        return -1;
    sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, value, -1, SQLITE_STATIC);
    return step_done (j, st, err, "meta");
}

zpar_db_t *zpar__journal_db (zpar_journal_t *j)
{
    return j ? j->db : NULL;
}

char *zpar__journal_meta_get (zpar_journal_t *j, const char *name)
{
    sqlite3_stmt *st;
    char *v = NULL;
    if (!j || !name) {
        errno = EINVAL;
        return NULL;
    }
    if (!(st = zpar__db_stmt (j->db, "SELECT value FROM meta WHERE name = ?1", NULL)))
        return NULL;
    sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step (st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text (st, 0);
        if (!(v = strdup (t ? t : "")))
            errno = ENOMEM;
    } else
        errno = ENOENT;
    sqlite3_reset (st);
    sqlite3_clear_bindings (st);
    return v;
}

void zpar__journal_close (zpar_journal_t *j)
{
    if (j) {
        int saved = errno;
        if (j->in_txn)
            (void)zpar__journal_flush (j, NULL);
        zpar__db_close (j->db); /* finalizes the statements */
        free (j);
        errno = saved;
    }
}

zpar_journal_t *zpar__journal_open (const char *path, const char *sweep_name, zpar_error_t *err)
{
    const zpar_db_opts_t opts = {.label = "journal", .sync = ZPAR_DB_SYNC_NORMAL};
    zpar_journal_t *j;
    char *owner = NULL;
    int version = 0;

    if (!path || !sweep_name || !*sweep_name) {
        zpar__errnoprintf (err, EINVAL, "journal: a path and a sweep name are required");
        return NULL;
    }
    if (!(j = calloc (1, sizeof (*j)))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    j->max_records = ZPAR_JOURNAL_BATCH_RECORDS;
    j->max_ms = ZPAR_JOURNAL_BATCH_MS;
    if (!(j->db = zpar__db_open (path, &opts, err)) ||
        exec (j, "PRAGMA foreign_keys = ON", err) < 0)
        goto error;
    /* schema */
    if (zpar__db_user_version (j->db, &version, err) < 0)
        goto error;
    if (version > SCHEMA_VERSION) {
        zpar__errnoprintf (err, EPROTO,
                           "journal %s: schema version %d is newer than this zpar (%d)", path,
                           version, SCHEMA_VERSION);
        goto error;
    }
    if (zpar__db_begin (j->db, err) < 0)
        goto error;
    /* version 1 had no inflight/cluster columns (a run's submitted tasks) */
    if (version == 1 && exec (j,
                              "ALTER TABLE points ADD COLUMN inflight TEXT;"
                              "ALTER TABLE points ADD COLUMN cluster TEXT;",
                              err) < 0)
        goto error;
    if (exec (j, schema, err) < 0 || zpar__db_set_user_version (j->db, SCHEMA_VERSION, err) < 0)
        goto error;
    owner = zpar__journal_meta_get (j, "sweep_name");
    if (owner && strcmp (owner, sweep_name) != 0) {
        zpar__errnoprintf (err, EEXIST,
                           "journal %s belongs to sweep '%s', not '%s' (give another "
                           "journal path)",
                           path, owner, sweep_name);
        goto error;
    }
    if (!owner) {
        char ts[32];
        snprintf (ts, sizeof (ts), "%.3f", zpar__now_s ());
        if (meta_set (j, "sweep_name", sweep_name, err) < 0 || meta_set (j, "created", ts, err) < 0)
            goto error;
    }
    if (zpar__db_commit (j->db, err) < 0)
        goto error;
    free (owner);
    owner = NULL;
    if (exec (j, "CREATE TEMP TABLE IF NOT EXISTS current (key TEXT PRIMARY KEY)", err) < 0)
        goto error;
    for (int i = 0; i < ST_COUNT; i++)
        if (!(j->st[i] = zpar__db_stmt (j->db, sql[i], err)))
            goto error;
    return j;
error:
    free (owner);
    zpar__db_rollback (j->db);
    zpar__journal_close (j);
    return NULL;
}

int zpar__journal_begin_run (zpar_journal_t *j, const char *file_hash, int *requeued,
                             int *file_changed, zpar_error_t *err)
{
    char *old = NULL, ts[32], *runs = NULL, nruns[32];
    int changed = 0, n;
    if (!j)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    if (zpar__journal_flush (j, err) < 0 || txn_begin (j, err) < 0)
        return -1;
    if (exec (j, "UPDATE points SET state = 'pending' WHERE state = 'running'", err) < 0)
        goto error;
    n = zpar__db_changes (j->db);
    if (file_hash) {
        old = zpar__journal_meta_get (j, "file_hash");
        changed = old && strcmp (old, file_hash) != 0;
        if (meta_set (j, "file_hash", file_hash, err) < 0)
            goto error;
    }
    runs = zpar__journal_meta_get (j, "runs");
    snprintf (nruns, sizeof (nruns), "%ld", (runs ? strtol (runs, NULL, 10) : 0) + 1);
    snprintf (ts, sizeof (ts), "%.3f", zpar__now_s ());
    if (meta_set (j, "runs", nruns, err) < 0 || meta_set (j, "last_run", ts, err) < 0)
        goto error;
    if (zpar__journal_flush (j, err) < 0)
        goto error;
    free (old);
    free (runs);
    if (requeued)
        *requeued = n;
    if (file_changed)
        *file_changed = changed;
    return 0;
error:
    zpar__db_rollback (j->db);
    j->in_txn = 0;
    j->nrec = 0;
    free (old);
    free (runs);
    return -1;
}

int zpar__journal_adopted (zpar_journal_t *j, const char *key, zpar_error_t *err)
{
    sqlite3_stmt *st;
    int rc;
    if (!j || !key)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    if (txn_begin (j, err) < 0)
        return -1;
    st = j->st[ST_ADOPT];
    sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
    rc = step_done (j, st, err, "record adoption");
    sqlite3_clear_bindings (st);
    if (rc < 0)
        return -1;
    if (zpar__db_changes (j->db) == 0)
        return zpar__errnoprintf (err, ENOENT, "journal: point %.16s... has no task in flight",
                                  key);
    return recorded (j, err);
}

int zpar__journal_lookup (zpar_journal_t *j, const char *key, zpar_jstate_t *state, int *attempts,
                          zpar_error_t *err)
{
    sqlite3_stmt *st;
    int rc;
    if (!j || !key || !state)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    st = j->st[ST_LOOKUP];
    sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step (st);
    if (rc == SQLITE_ROW) {
        *state = state_parse ((const char *)sqlite3_column_text (st, 0));
        if (attempts)
            *attempts = sqlite3_column_int (st, 1);
    } else if (rc == SQLITE_DONE) {
        *state = ZPAR_JSTATE_ABSENT;
        if (attempts)
            *attempts = 0;
    }
    sqlite3_reset (st);
    sqlite3_clear_bindings (st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return dbfail (j, err, rc, "lookup");
    return 0;
}

static const char *col_text (sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text (st, i);
}

static void row_fill (sqlite3_stmt *st, zpar_journal_row_t *r)
{
    memset (r, 0, sizeof (*r));
    r->key = col_text (st, 0);
    r->index = (uint64_t)sqlite3_column_int64 (st, 1);
    r->params_json = col_text (st, 2);
    r->state = state_parse (col_text (st, 3));
    r->exit_code = sqlite3_column_type (st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int (st, 4);
    r->signal = sqlite3_column_int (st, 5);
    r->attempts = sqlite3_column_int (st, 6);
    r->wall_s = sqlite3_column_type (st, 7) == SQLITE_NULL ? -1. : sqlite3_column_double (st, 7);
    r->max_rss_kb = sqlite3_column_type (st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int64 (st, 8);
    r->engine = col_text (st, 9);
    r->host = col_text (st, 10);
    r->stdout_path = col_text (st, 11);
    r->stderr_path = col_text (st, 12);
    r->task_id = col_text (st, 13);
    r->created = sqlite3_column_double (st, 14);
    r->started = sqlite3_column_double (st, 15);
    r->finished = sqlite3_column_double (st, 16);
    r->error = col_text (st, 17);
    r->inflight = col_text (st, 18);
    r->cluster = col_text (st, 19);
}

int zpar__journal_get (zpar_journal_t *j, const char *key, zpar_journal_row_t *row,
                       zpar_error_t *err)
{
    sqlite3_stmt *st;
    int rc;
    if (!j || !key || !row)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    st = j->st[ST_GET];
    sqlite3_reset (st); /* releases the previous row */
    sqlite3_bind_text (st, 1, key, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step (st);
    if (rc == SQLITE_ROW) {
        row_fill (st, row); /* strings stay valid until the next reset */
        return 1;
    }
    sqlite3_reset (st);
    if (rc == SQLITE_DONE)
        return 0;
    return dbfail (j, err, rc, "get");
}

static void bind_opt (sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text (st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null (st, i);
}

int zpar__journal_dispatched (zpar_journal_t *j, const zpar_journal_dispatch_t *d,
                              zpar_error_t *err)
{
    sqlite3_stmt *st;
    if (!j || !d || !d->key || !d->params_json || d->index > INT64_MAX)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    if (txn_begin (j, err) < 0)
        return -1;
    st = j->st[ST_DISPATCH];
    sqlite3_bind_text (st, 1, d->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, (sqlite3_int64)d->index);
    sqlite3_bind_text (st, 3, d->params_json, -1, SQLITE_STATIC);
    bind_opt (st, 4, d->stdout_path);
    bind_opt (st, 5, d->stderr_path);
    bind_opt (st, 6, d->task_id);
    bind_opt (st, 7, d->engine);
    bind_opt (st, 8, d->host);
    sqlite3_bind_double (st, 9, zpar__now_s ());
    bind_opt (st, 10, d->cluster);
    int rc = step_done (j, st, err, "record dispatch");
    sqlite3_clear_bindings (st);
    if (rc < 0)
        return -1;
    return recorded (j, err);
}

int zpar__journal_finished (zpar_journal_t *j, const zpar_journal_result_t *r, zpar_error_t *err)
{
    sqlite3_stmt *st;
    int rc;
    if (!j || !r || !r->key)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    if (r->state != ZPAR_JSTATE_SUCCEEDED && r->state != ZPAR_JSTATE_FAILED &&
        r->state != ZPAR_JSTATE_PENDING)
        return zpar__errnoprintf (err, EINVAL,
                                  "journal: a finished point must be succeeded, "
                                  "failed or pending");
    if (txn_begin (j, err) < 0)
        return -1;
    st = j->st[ST_FINISH];
    sqlite3_bind_text (st, 1, r->key, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, state_names[r->state], -1, SQLITE_STATIC);
    if (r->exit_code >= 0)
        sqlite3_bind_int (st, 3, r->exit_code);
    else
        sqlite3_bind_null (st, 3);
    if (r->signal > 0)
        sqlite3_bind_int (st, 4, r->signal);
    else
        sqlite3_bind_null (st, 4);
    if (r->wall_s >= 0)
        sqlite3_bind_double (st, 5, r->wall_s);
    else
        sqlite3_bind_null (st, 5);
    if (r->max_rss_kb >= 0)
        sqlite3_bind_int64 (st, 6, r->max_rss_kb);
    else
        sqlite3_bind_null (st, 6);
    bind_opt (st, 7, r->engine);
    bind_opt (st, 8, r->host);
    bind_opt (st, 9, r->error);
    sqlite3_bind_double (st, 10, zpar__now_s ());
    rc = step_done (j, st, err, "record result");
    sqlite3_clear_bindings (st);
    if (rc < 0)
        return -1;
    if (zpar__db_changes (j->db) == 0)
        return zpar__errnoprintf (err, ENOENT, "journal: point %.16s... was never dispatched",
                                  r->key);
    return recorded (j, err);
}

int zpar__journal_counts (zpar_journal_t *j, uint64_t counts[ZPAR_JSTATE_COUNT], zpar_error_t *err)
{
    sqlite3_stmt *st;
    int rc;
    if (!j || !counts)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    for (int i = 0; i < ZPAR_JSTATE_COUNT; i++)
        counts[i] = 0;
    if (!(st = zpar__db_stmt (j->db, "SELECT state, count(*) FROM points GROUP BY state", err)))
        return -1;
    while ((rc = zpar__db_step (j->db, st, "count", err)) == 1)
        counts[state_parse (col_text (st, 0))] += (uint64_t)sqlite3_column_int64 (st, 1);
    counts[ZPAR_JSTATE_ABSENT] = 0;
    return rc < 0 ? -1 : 0;
}

int zpar__journal_current_clear (zpar_journal_t *j, zpar_error_t *err)
{
    if (!j)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    return exec (j, "DELETE FROM temp.current", err);
}

int zpar__journal_current_add (zpar_journal_t *j, const char *key, zpar_error_t *err)
{
    sqlite3_stmt *st;
    int rc;
    if (!j || !key)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    if (txn_begin (j, err) < 0)
        return -1;
    st = j->st[ST_CUR_ADD];
    sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
    rc = step_done (j, st, err, "current key");
    sqlite3_clear_bindings (st);
    if (rc < 0)
        return -1;
    return recorded (j, err);
}

static int foreach (zpar_journal_t *j, const char *text, zpar_journal_row_f cb, void *arg,
                    zpar_error_t * err)
{
    sqlite3_stmt *st;
    zpar_journal_row_t row;
    int rc, ret = 0;
    if (!j || !cb)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    release (j);
    if (!(st = zpar__db_stmt (j->db, text, err)))
        return -1;
    while ((rc = zpar__db_step (j->db, st, "query", err)) == 1) {
        row_fill (st, &row);
        if ((ret = cb (&row, arg)) != 0)
            break;
    }
    sqlite3_reset (st);
    return rc < 0 ? -1 : ret;
}

int zpar__journal_foreach (zpar_journal_t *j, zpar_journal_row_f cb, void *arg, zpar_error_t *err)
{
    return foreach (j, "SELECT " ROW_COLUMNS " FROM points ORDER BY idx, key", cb, arg, err);
}

int zpar__journal_foreach_removed (zpar_journal_t *j, zpar_journal_row_f cb, void *arg,
                                   zpar_error_t *err)
{
    return foreach (j,
                    "SELECT " ROW_COLUMNS " FROM points"
                    " WHERE key NOT IN (SELECT key FROM temp.current) ORDER BY idx, key",
                    cb, arg, err);
}

int zpar__journal_lock (const char *jpath, zpar_error_t *err)
{
    char path[PATH_MAX];
    int fd;
    if (!jpath)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    if (snprintf (path, sizeof (path), "%s.lock", jpath) >= (int)sizeof (path))
        return zpar__errnoprintf (err, ENAMETOOLONG, "%s: path too long", jpath);
    if ((fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0666)) < 0)
        return zpar__errprintf (err, "cannot create %s: %s", path, strerror (errno));
    if (flock (fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close (fd);
        if (e == EWOULDBLOCK)
            return zpar__errnoprintf (err, e, "another zpar sweep run is using the journal %s",
                                      jpath);
        return zpar__errnoprintf (err, e, "cannot lock %s: %s", path, strerror (e));
    }
    return fd;
}
