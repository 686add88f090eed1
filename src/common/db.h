/* db.h - the one SQLite helper of zpar (internal).
 *
 * Used by the controller's task records and by the sweep journal.  A
 * zpar_db_t is one SQLite connection opened with zpar's pragmas (WAL
 * journal, a chosen synchronous level, a busy timeout), a cache of prepared
 * statements it owns, and explicit transactions.  Every failure becomes -1
 * (or NULL) with errno set from the SQLite result code (zpar__db_errno) and,
 * when an err is given, a message "<label> <path>: <what>: <sqlite text>".
 *
 * Busy handling: the connection waits up to busy_timeout_ms for a lock held
 * by another connection (SQLite's busy handler), then fails with EBUSY.
 * Write transactions start with BEGIN IMMEDIATE so that the wait happens at
 * the start of the transaction, never halfway through it.
 *
 * A zpar_db_t belongs to one thread (SQLITE_OPEN_NOMUTEX).
 */
#ifndef ZPAR__DB_H
#define ZPAR__DB_H

#include <sqlite3.h>

#include "zpar/error.h"

typedef struct zpar_db zpar_db_t;

/* PRAGMA synchronous levels. */
typedef enum {
    ZPAR_DB_SYNC_DEFAULT = 0, /* NORMAL */
    ZPAR_DB_SYNC_OFF = 1,
    ZPAR_DB_SYNC_NORMAL = 2, /* with WAL: a crash loses the last commits, never corrupts */
    ZPAR_DB_SYNC_FULL = 3,
} zpar_db_sync_t;

typedef struct {
    const char *label;        /* for messages ("journal", "task database"); NULL: "database" */
    int readonly;             /* open read-only (never creates the file) */
    int no_create;            /* fail with ENOENT if the file does not exist */
    int no_wal;               /* keep SQLite's default rollback journal */
    zpar_db_sync_t sync;      /* PRAGMA synchronous */
    unsigned busy_timeout_ms; /* 0: ZPAR_DB_BUSY_TIMEOUT_MS */
} zpar_db_opts_t;

#define ZPAR_DB_BUSY_TIMEOUT_MS 10000

/* Open the database at path with opts; opts NULL or zeroed: create the
 * file if needed, WAL, synchronous=NORMAL, ZPAR_DB_BUSY_TIMEOUT_MS.  The
 * file is read before this returns, so a file that is not a database fails
 * here with EINVAL.  NULL with errno (EINVAL for bad parameters or a bad
 * file, ENOENT, EACCES, EBUSY, ENOMEM, EIO) and err. */
zpar_db_t *zpar__db_open (const char *path, const zpar_db_opts_t *opts, zpar_error_t *err);

/* Roll back an open transaction, finalize the cached statements, close.
 * NULL-safe, keeps errno. */
void zpar__db_close (zpar_db_t *db);

/* The SQLite connection, for binding and reading columns.  Owned by db. */
sqlite3 *zpar__db_handle (zpar_db_t *db);
const char *zpar__db_path (const zpar_db_t *db);

/* errno for an SQLite result code: EBUSY (busy, locked), ENOMEM, EACCES
 * (read-only, permission), ENOSPC (full), ENOENT (cannot open), EINVAL (not
 * a database, corrupt, misuse), EIO otherwise. */
int zpar__db_errno (int rc);

/* Set errno from rc and fill err with "<label> <path>: <what>: <text>".
 * Returns -1. */
int zpar__db_fail (zpar_db_t *db, zpar_error_t *err, int rc, const char *what);

/* Run one or more SQL statements (no rows wanted).  0 / -1. */
int zpar__db_exec (zpar_db_t *db, const char *sql, zpar_error_t *err);

/* The cached prepared statement for sql (prepared on first use with
 * SQLITE_PREPARE_PERSISTENT; the same text gives the same statement).  It
 * is reset and its bindings cleared before it is returned; it belongs to db
 * and stays valid until zpar__db_close.  NULL with errno and err. */
sqlite3_stmt *zpar__db_stmt (zpar_db_t *db, const char *sql, zpar_error_t *err);

/* Step st to completion (rows are ignored), then reset it and clear its
 * bindings.  0 / -1 with errno and err ("what" names the operation). */
int zpar__db_run (zpar_db_t *db, sqlite3_stmt *st, const char *what, zpar_error_t *err);

/* Step st once: 1 with a row, 0 when done (st is then reset), -1 on
 * failure (st reset).  The caller resets st when it stops early. */
int zpar__db_step (zpar_db_t *db, sqlite3_stmt *st, const char *what, zpar_error_t *err);

/* Transactions.  begin: BEGIN IMMEDIATE (waits busy_timeout_ms for another
 * writer, then EBUSY); EALREADY if one is open.  commit: 0 / -1; when the
 * COMMIT fails and SQLite dropped the transaction, the handle is out of it.
 * rollback: NULL-safe, nothing when no transaction is open, keeps errno. */
int zpar__db_begin (zpar_db_t *db, zpar_error_t *err);
int zpar__db_commit (zpar_db_t *db, zpar_error_t *err);
void zpar__db_rollback (zpar_db_t *db);
/* 1 if a transaction begun by zpar__db_begin is open. */
int zpar__db_in_txn (const zpar_db_t *db);

/* Rows changed by the last INSERT/UPDATE/DELETE. */
long long zpar__db_changes (zpar_db_t *db);

/* PRAGMA user_version (the schema version of the file). */
int zpar__db_user_version (zpar_db_t *db, int *version, zpar_error_t *err);
int zpar__db_set_user_version (zpar_db_t *db, int version, zpar_error_t *err);

#endif
