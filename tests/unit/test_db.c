/* test_db.c - the SQLite helper: bad parameters, open/pragmas, statement
 * cache, transactions, a file that is not a database, a corrupt database,
 * and a database held busy by another connection. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "db.h"
#include "tap.h"

static char dir[] = "/tmp/zpar-test-db.XXXXXX";

static char *path_of (const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf (buf[i], sizeof (buf[i]), "%s/%s", dir, name);
    return buf[i];
}

static int write_file (const char *path, const void *data, size_t len, off_t at)
{
    int fd = open (path, O_WRONLY | O_CREAT, 0600);
    ssize_t n;
    if (fd < 0)
        return -1;
    n = pwrite (fd, data, len, at);
    close (fd);
    return n == (ssize_t)len ? 0 : -1;
}

static char *pragma_text (zpar_db_t *db, const char *sql)
{
    sqlite3_stmt *st = zpar__db_stmt (db, sql, NULL);
    char *v = NULL;
    if (st && zpar__db_step (db, st, "pragma", NULL) == 1)
        v = strdup ((const char *)sqlite3_column_text (st, 0));
    if (st)
        sqlite3_reset (st);
    return v;
}

static long long count_rows (zpar_db_t *db)
{
    sqlite3_stmt *st = zpar__db_stmt (db, "SELECT count(*) FROM t", NULL);
    long long n = -1;
    if (st && zpar__db_step (db, st, "count", NULL) == 1)
        n = sqlite3_column_int64 (st, 0);
    if (st)
        sqlite3_reset (st);
    return n;
}

static void test_bad_params (void)
{
    zpar_error_t e;
    zpar_db_opts_t badsync = {.sync = (zpar_db_sync_t)42};
    struct {
        const char *name;
        const char *path;
        const zpar_db_opts_t *opts;
    } opens[] = {
        {"NULL path", NULL, NULL},
        {"empty path", "", NULL},
        {"synchronous level out of range", path_of ("x.db"), &badsync},
    };
    for (size_t i = 0; i < sizeof (opens) / sizeof (opens[0]); i++) {
        errno = 0;
        memset (&e, 0, sizeof (e));
        ok (zpar__db_open (opens[i].path, opens[i].opts, &e) == NULL && errno == EINVAL &&
                e.text[0] != '\0',
            "open: %s: EINVAL with a message (%s)", opens[i].name, e.text);
    }
    ok (access (path_of ("x.db"), F_OK) < 0, "no file created by a refused open");

    errno = 0;
    ok (zpar__db_exec (NULL, "SELECT 1", NULL) < 0 && errno == EINVAL, "exec: NULL db");
    errno = 0;
    ok (zpar__db_stmt (NULL, "SELECT 1", NULL) == NULL && errno == EINVAL, "stmt: NULL db");
    errno = 0;
    ok (zpar__db_run (NULL, NULL, "x", NULL) < 0 && errno == EINVAL, "run: NULL db");
    errno = 0;
    ok (zpar__db_step (NULL, NULL, "x", NULL) < 0 && errno == EINVAL, "step: NULL db");
    errno = 0;
    ok (zpar__db_begin (NULL, NULL) < 0 && errno == EINVAL, "begin: NULL db");
    errno = 0;
    ok (zpar__db_commit (NULL, NULL) < 0 && errno == EINVAL, "commit: NULL db");
    errno = 0;
    ok (zpar__db_user_version (NULL, NULL, NULL) < 0 && errno == EINVAL, "user_version: NULL");
    errno = 0;
    ok (zpar__db_handle (NULL) == NULL && errno == EINVAL, "handle: NULL db");
    ok (zpar__db_path (NULL) == NULL, "path: NULL db");
    ok (zpar__db_in_txn (NULL) == 0, "in_txn: NULL db");
    zpar__db_rollback (NULL);
    errno = 1234;
    zpar__db_close (NULL);
    ok (errno == 1234, "close (NULL) is a no-op that keeps errno");
}

static void test_basic (void)
{
    zpar_error_t e;
    zpar_db_opts_t o = {.label = "test db", .sync = ZPAR_DB_SYNC_FULL, .busy_timeout_ms = 500};
    zpar_db_t *db = zpar__db_open (path_of ("a.db"), &o, &e);
    sqlite3_stmt *ins, *ins2;
    char *v;
    int ver = -1;

    ok (db != NULL, "open creates a database (%s)", db ? "" : e.text);
    if (!db)
        return;
    ok (strcmp (zpar__db_path (db), path_of ("a.db")) == 0, "path kept");
    v = pragma_text (db, "PRAGMA journal_mode");
    ok (v && strcmp (v, "wal") == 0, "journal_mode is wal (%s)", v ? v : "NULL");
    free (v);
    v = pragma_text (db, "PRAGMA synchronous");
    ok (v && strcmp (v, "2") == 0, "synchronous is FULL (2) as asked (%s)", v ? v : "NULL");
    free (v);
    v = pragma_text (db, "PRAGMA busy_timeout");
    ok (v && strcmp (v, "500") == 0, "busy_timeout as asked (%s)", v ? v : "NULL");
    free (v);

    ok (zpar__db_exec (db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)", &e) == 0,
        "exec creates a table");
    errno = 0;
    ok (zpar__db_exec (db, "CREATE TABLE t (k)", &e) < 0 && strstr (e.text, "test db") &&
            strstr (e.text, "already exists"),
        "exec failure: -1, message names the database and the cause (%s)", e.text);
    errno = 0;
    ok (zpar__db_stmt (db, "SELECT nonsense FROM nowhere", &e) == NULL && errno != 0 &&
            strstr (e.text, "prepare"),
        "a statement that does not compile: NULL with errno (%s)", e.text);

    ins = zpar__db_stmt (db, "INSERT INTO t (k, v) VALUES (?1, ?2)", &e);
    ok (ins != NULL, "statement prepared");
    {
        char copy[] = "INSERT INTO t (k, v) VALUES (?1, ?2)";
        ins2 = zpar__db_stmt (db, copy, &e);
    }
    ok (ins2 == ins, "the same SQL text gives the cached statement");

    ok (zpar__db_begin (db, &e) == 0 && zpar__db_in_txn (db), "begin");
    errno = 0;
    ok (zpar__db_begin (db, &e) < 0 && errno == EALREADY, "begin twice: EALREADY");
    for (int i = 1; i <= 10; i++) {
        ins = zpar__db_stmt (db, "INSERT INTO t (k, v) VALUES (?1, ?2)", &e);
        sqlite3_bind_int (ins, 1, i);
        sqlite3_bind_text (ins, 2, "x", -1, SQLITE_STATIC);
        if (zpar__db_run (db, ins, "insert", &e) < 0)
            diag ("insert %d: %s", i, e.text);
    }
    ok (zpar__db_commit (db, &e) == 0 && !zpar__db_in_txn (db), "commit");
    ok (count_rows (db) == 10, "10 rows committed");

    ok (zpar__db_begin (db, &e) == 0, "begin again");
    ok (zpar__db_exec (db, "DELETE FROM t", &e) == 0 && zpar__db_changes (db) == 10,
        "delete inside a transaction: 10 changes");
    zpar__db_rollback (db);
    ok (!zpar__db_in_txn (db) && count_rows (db) == 10, "rollback keeps the 10 rows");
    ok (zpar__db_commit (db, &e) == 0, "commit without a transaction is a no-op");

    ins = zpar__db_stmt (db, "INSERT INTO t (k, v) VALUES (?1, ?2)", &e);
    sqlite3_bind_int (ins, 1, 1);
    errno = 0;
    ok (zpar__db_run (db, ins, "duplicate", &e) < 0 && errno == EIO && strstr (e.text, "duplicate"),
        "constraint failure: -1 EIO with what failed (%s)", e.text);

    ok (zpar__db_user_version (db, &ver, &e) == 0 && ver == 0, "user_version starts at 0");
    ok (zpar__db_set_user_version (db, 7, &e) == 0 && zpar__db_user_version (db, &ver, &e) == 0 &&
            ver == 7,
        "user_version set to 7");
    errno = 0;
    ok (zpar__db_set_user_version (db, -1, &e) < 0 && errno == EINVAL,
        "negative user_version: EINVAL");
    ok (zpar__db_begin (db, &e) == 0, "begin, left open");
    zpar__db_exec (db, "INSERT INTO t (k) VALUES (100)", NULL);
    zpar__db_close (db);

    db = zpar__db_open (path_of ("a.db"), NULL, &e);
    ok (db && count_rows (db) == 10, "close rolled back the open transaction");
    if (db) {
        v = pragma_text (db, "PRAGMA synchronous");
        ok (v && strcmp (v, "1") == 0, "default synchronous is NORMAL (%s)", v ? v : "NULL");
        free (v);
        v = pragma_text (db, "PRAGMA busy_timeout");
        ok (v && atoi (v) == ZPAR_DB_BUSY_TIMEOUT_MS, "default busy_timeout (%s)", v ? v : "NULL");
        free (v);
    }
    zpar__db_close (db);

    {
        zpar_db_opts_t ro = {.readonly = 1};
        db = zpar__db_open (path_of ("a.db"), &ro, &e);
        ok (db && count_rows (db) == 10, "read-only open reads the rows");
        errno = 0;
        ok (db && zpar__db_exec (db, "DELETE FROM t", &e) < 0 && errno == EACCES,
            "read-only: a write fails with EACCES (%s)", e.text);
        zpar__db_close (db);
        errno = 0;
        ok (zpar__db_open (path_of ("none.db"), &ro, &e) == NULL && errno == ENOENT,
            "read-only open of a missing file: ENOENT (%s)", e.text);
    }
    {
        zpar_db_opts_t nc = {.no_create = 1};
        errno = 0;
        ok (zpar__db_open (path_of ("none.db"), &nc, &e) == NULL && errno == ENOENT &&
                access (path_of ("none.db"), F_OK) < 0,
            "no_create: ENOENT, no file made");
        errno = 0;
        ok (zpar__db_open (path_of ("nodir/x.db"), NULL, &e) == NULL && errno == ENOENT,
            "a path in a missing directory: ENOENT (%s)", e.text);
    }
}

static void test_corrupt (void)
{
    zpar_error_t e;
    char junk[4096];
    zpar_db_t *db;

    for (size_t i = 0; i < sizeof (junk); i++)
        junk[i] = (char)(i * 7 + 3);
    write_file (path_of ("junk.db"), junk, sizeof (junk), 0);
    errno = 0;
    memset (&e, 0, sizeof (e));
    ok (zpar__db_open (path_of ("junk.db"), NULL, &e) == NULL && errno == EINVAL,
        "a file that is not a database: EINVAL (%s)", e.text);
    ok (strstr (e.text, path_of ("junk.db")) != NULL, "the message names the file");

    /* A real database whose schema page is then overwritten. */
    {
        zpar_db_opts_t o = {.no_wal = 1};
        db = zpar__db_open (path_of ("bad.db"), &o, &e);
        ok (db && zpar__db_exec (db,
                                 "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);"
                                 "INSERT INTO t VALUES (1, 'a'), (2, 'b');",
                                 &e) == 0,
            "a database with a table");
        zpar__db_close (db);
    }
    write_file (path_of ("bad.db"), junk + 100, 3000, 100);
    errno = 0;
    memset (&e, 0, sizeof (e));
    db = zpar__db_open (path_of ("bad.db"), NULL, &e);
    if (db) {
        /* SQLite may accept the header and find the damage on first use. */
        errno = 0;
        ok (count_rows (db) < 0 && errno == EINVAL, "corrupt schema page: EINVAL on use");
        zpar__db_close (db);
    } else
        ok (errno == EINVAL, "corrupt schema page: EINVAL at open (%s)", e.text);
}

static void test_busy (void)
{
    zpar_error_t e;
    zpar_db_opts_t fast = {.busy_timeout_ms = 200};
    zpar_db_t *a, *b;
    double t0, dt;

    a = zpar__db_open (path_of ("busy.db"), NULL, &e);
    ok (a && zpar__db_exec (a, "CREATE TABLE t (k INTEGER PRIMARY KEY)", &e) == 0,
        "first connection");
    b = zpar__db_open (path_of ("busy.db"), &fast, &e);
    ok (b != NULL, "second connection opens while the first is idle");
    if (!a || !b) {
        zpar__db_close (a);
        zpar__db_close (b);
        return;
    }
    ok (zpar__db_begin (a, &e) == 0 && zpar__db_exec (a, "INSERT INTO t VALUES (1)", &e) == 0,
        "first connection holds a write transaction");
    t0 = zpar__mono_s ();
    errno = 0;
    ok (zpar__db_begin (b, &e) < 0 && errno == EBUSY, "second writer: EBUSY (%s)", e.text);
    dt = zpar__mono_s () - t0;
    ok (dt >= 0.15 && dt < 5.0, "after waiting about the busy timeout (%.3f s)", dt);
    ok (!zpar__db_in_txn (b), "the busy connection is not left in a transaction");
    ok (count_rows (b) == 0, "the second connection still reads (WAL): committed rows only");
    ok (zpar__db_commit (a, &e) == 0, "first connection commits");
    ok (zpar__db_begin (b, &e) == 0 && zpar__db_exec (b, "INSERT INTO t VALUES (2)", &e) == 0 &&
            zpar__db_commit (b, &e) == 0,
        "then the second connection writes");
    ok (count_rows (a) == 2, "both rows are there");
    zpar__db_close (a);
    zpar__db_close (b);

    /* Rollback-journal database locked exclusively: even opening waits
     * then fails with EBUSY. */
    {
        zpar_db_opts_t nw = {.no_wal = 1};
        zpar_db_opts_t nwfast = {.no_wal = 1, .busy_timeout_ms = 100};
        a = zpar__db_open (path_of ("excl.db"), &nw, &e);
        ok (a && zpar__db_exec (a, "CREATE TABLE t (k); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1)",
                                &e) == 0,
            "a connection holds an exclusive lock");
        errno = 0;
        b = zpar__db_open (path_of ("excl.db"), &nwfast, &e);
        ok (b == NULL && errno == EBUSY, "open of an exclusively locked database: EBUSY (%s)",
            e.text);
        zpar__db_close (b);
        zpar__db_close (a);
        b = zpar__db_open (path_of ("excl.db"), &nwfast, &e);
        ok (b && count_rows (b) == 0, "after the holder closes: opens, its write rolled back");
        zpar__db_close (b);
    }
}

int main (void)
{
    char cmd[300];
    plan (NO_PLAN);
    if (!mkdtemp (dir)) {
        ok (0, "mkdtemp");
        return done_testing ();
    }
    test_bad_params ();
    test_basic ();
    test_corrupt ();
    test_busy ();
    snprintf (cmd, sizeof (cmd), "rm -rf '%s'", dir);
    if (system (cmd) != 0)
        diag ("could not remove %s", dir);
    return done_testing ();
}
