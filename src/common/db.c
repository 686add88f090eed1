/* db.c - the one SQLite helper of zpar. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "error.h"

typedef struct {
    const char *key; /* the pointer given by the first caller */
    char *sql;       /* its text (owned) */
    sqlite3_stmt *st;
} cached_t;

struct zpar_db {
    sqlite3 *db;
    char *path;
    const char *label;
    cached_t *cache;
    size_t ncache, capcache;
};

int zpar__db_errno (int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return EBUSY;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return EACCES;
    case SQLITE_FULL:
        return ENOSPC;
    case SQLITE_CANTOPEN:
        return ENOENT;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
        return EINVAL;
    default:
        return EIO;
    }
}

int zpar__db_fail (zpar_db_t *db, zpar_error_t *err, int rc, const char *what)
{
    const char *text = sqlite3_errstr (rc);
    if (db && db->db && sqlite3_errcode (db->db) != SQLITE_OK)
        text = sqlite3_errmsg (db->db);
    return zpar__errnoprintf (err, zpar__db_errno (rc), "%s %s: %s: %s",
                              db && db->label ? db->label : "database",
                              db && db->path ? db->path : "?", what ? what : "", text);
}

static int bad_param (zpar_error_t *err)
{
    return zpar__errnoprintf (err, EINVAL, "database: invalid argument");
}

sqlite3 *zpar__db_handle (zpar_db_t *db)
{
    if (!db) {
        errno = EINVAL;
        return NULL;
    }
    return db->db;
}

const char *zpar__db_path (const zpar_db_t *db)
{
    return db ? db->path : NULL;
}

static int exec_what (zpar_db_t *db, const char *sql, const char *what, zpar_error_t *err)
{
    int rc;
    if (!db || !sql)
        return bad_param (err);
    if ((rc = sqlite3_exec (db->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
        return zpar__db_fail (db, err, rc, what);
    return 0;
}

int zpar__db_exec (zpar_db_t *db, const char *sql, zpar_error_t *err)
{
    return exec_what (db, sql, sql, err);
}

sqlite3_stmt *zpar__db_stmt (zpar_db_t *db, const char *sql, zpar_error_t *err)
{
    sqlite3_stmt *st = NULL;
    cached_t *c = NULL;
    int rc;

    if (!db || !sql || !*sql) {
        bad_param (err);
        return NULL;
    }
    for (size_t i = 0; i < db->ncache && !c; i++)
        if (db->cache[i].key == sql)
            c = &db->cache[i];
    for (size_t i = 0; i < db->ncache && !c; i++)
        if (strcmp (db->cache[i].sql, sql) == 0)
            c = &db->cache[i];
    if (c) {
        sqlite3_reset (c->st);
        sqlite3_clear_bindings (c->st);
        return c->st;
    }
    if (db->ncache == db->capcache) {
        size_t ncap = db->capcache ? db->capcache * 2 : 16;
        cached_t *n = realloc (db->cache, ncap * sizeof (*n));
        if (!n) {
            zpar__errnoprintf (err, ENOMEM, "out of memory");
            return NULL;
        }
        db->cache = n;
        db->capcache = ncap;
    }
    rc = sqlite3_prepare_v3 (db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK || !st) {
        zpar__db_fail (db, err, rc == SQLITE_OK ? SQLITE_MISUSE : rc, "prepare");
        sqlite3_finalize (st);
        return NULL;
    }
    c = &db->cache[db->ncache];
    if (!(c->sql = strdup (sql))) {
        sqlite3_finalize (st);
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    c->key = sql;
    c->st = st;
    db->ncache++;
    return st;
}

int zpar__db_step (zpar_db_t *db, sqlite3_stmt *st, const char *what, zpar_error_t *err)
{
    int rc;
    if (!db || !st)
        return bad_param (err);
    rc = sqlite3_step (st);
    if (rc == SQLITE_ROW)
        return 1;
    sqlite3_reset (st);
    if (rc == SQLITE_DONE)
        return 0;
    return zpar__db_fail (db, err, rc, what);
}

int zpar__db_run (zpar_db_t *db, sqlite3_stmt *st, const char *what, zpar_error_t *err)
{
    int rc;
    if (!db || !st)
        return bad_param (err);
    rc = sqlite3_step (st);
    sqlite3_reset (st);
    sqlite3_clear_bindings (st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return zpar__db_fail (db, err, rc, what);
    return 0;
}

int zpar__db_in_txn (const zpar_db_t *db)
{
    return db && db->db && !sqlite3_get_autocommit (db->db);
}

int zpar__db_begin (zpar_db_t *db, zpar_error_t *err)
{
    sqlite3_stmt *st;
    if (!db)
        return bad_param (err);
    if (zpar__db_in_txn (db))
        return zpar__errnoprintf (err, EALREADY, "%s %s: a transaction is already open", db->label,
                                  db->path);
    if (!(st = zpar__db_stmt (db, "BEGIN IMMEDIATE", err)))
        return -1;
    return zpar__db_run (db, st, "begin", err);
}

int zpar__db_commit (zpar_db_t *db, zpar_error_t *err)
{
    sqlite3_stmt *st;
    if (!db)
        return bad_param (err);
    if (!zpar__db_in_txn (db))
        return 0;
    if (!(st = zpar__db_stmt (db, "COMMIT", err)))
        return -1;
    return zpar__db_run (db, st, "commit", err);
}

void zpar__db_rollback (zpar_db_t *db)
{
    if (zpar__db_in_txn (db)) {
        int saved = errno;
        (void)sqlite3_exec (db->db, "ROLLBACK", NULL, NULL, NULL);
        errno = saved;
    }
}

long long zpar__db_changes (zpar_db_t *db)
{
    return db && db->db ? (long long)sqlite3_changes (db->db) : 0;
}

int zpar__db_user_version (zpar_db_t *db, int *version, zpar_error_t *err)
{
    sqlite3_stmt *st;
    int rc;
    if (!db || !version)
        return bad_param (err);
    if (!(st = zpar__db_stmt (db, "PRAGMA user_version", err)))
        return -1;
    if ((rc = zpar__db_step (db, st, "schema version", err)) < 0)
        return -1;
    if (rc == 0)
        return zpar__db_fail (db, err, SQLITE_CORRUPT, "schema version");
    *version = sqlite3_column_int (st, 0);
    sqlite3_reset (st);
    return 0;
}

int zpar__db_set_user_version (zpar_db_t *db, int version, zpar_error_t *err)
{
    char sql[64];
    if (!db || version < 0)
        return bad_param (err);
    snprintf (sql, sizeof (sql), "PRAGMA user_version = %d", version);
    return zpar__db_exec (db, sql, err);
}

void zpar__db_close (zpar_db_t *db)
{
    if (db) {
        int saved = errno;
        zpar__db_rollback (db);
        for (size_t i = 0; i < db->ncache; i++) {
            sqlite3_finalize (db->cache[i].st);
            free (db->cache[i].sql);
        }
        free (db->cache);
        sqlite3_close (db->db);
        free (db->path);
        free (db);
        errno = saved;
    }
}

zpar_db_t *zpar__db_open (const char *path, const zpar_db_opts_t *opts, zpar_error_t *err)
{
    static const zpar_db_opts_t defaults = {0};
    static const char *sync_sql[] = {
        [ZPAR_DB_SYNC_DEFAULT] = "PRAGMA synchronous = NORMAL",
        [ZPAR_DB_SYNC_OFF] = "PRAGMA synchronous = OFF",
        [ZPAR_DB_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
        [ZPAR_DB_SYNC_FULL] = "PRAGMA synchronous = FULL",
    };
    zpar_db_t *db;
    int flags, rc;

    if (!opts)
        opts = &defaults;
    if (!path || !*path || (unsigned)opts->sync > ZPAR_DB_SYNC_FULL) {
        bad_param (err);
        return NULL;
    }
    if (!(db = calloc (1, sizeof (*db))) || !(db->path = strdup (path))) {
        free (db);
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    db->label = opts->label ? opts->label : "database";
    flags = SQLITE_OPEN_NOMUTEX;
    if (opts->readonly)
        flags |= SQLITE_OPEN_READONLY;
    else
        flags |= SQLITE_OPEN_READWRITE | (opts->no_create ? 0 : SQLITE_OPEN_CREATE);
    /* a new database is private to its user (0600, whatever the umask):
     * SQLite would create it 0644, and gives its -wal and -shm files the
     * database's mode */
    if (!opts->readonly && !opts->no_create && strcmp (path, ":memory:") != 0) {
        int fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0)
            close (fd); /* else SQLite opens it, or says why it cannot */
    }
    rc = sqlite3_open_v2 (path, &db->db, flags, NULL);
    if (rc != SQLITE_OK) {
        zpar__db_fail (db, err, rc, "cannot open");
        goto error;
    }
    sqlite3_extended_result_codes (db->db, 1);
    sqlite3_busy_timeout (
        db->db, (int)(opts->busy_timeout_ms ? opts->busy_timeout_ms : ZPAR_DB_BUSY_TIMEOUT_MS));
    /* Read the file now: a file that is not a database fails here. */
    if (exec_what (db, "SELECT count(*) FROM sqlite_master", "cannot read", err) < 0)
        goto error;
    if (!opts->readonly && !opts->no_wal &&
        zpar__db_exec (db, "PRAGMA journal_mode = WAL", err) < 0)
        goto error;
    if (exec_what (db, sync_sql[opts->sync], "cannot set synchronous", err) < 0)
        goto error;
    return db;
error:
    zpar__db_close (db);
    return NULL;
}
