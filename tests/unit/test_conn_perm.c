/* test_conn_perm.c - who may own and write cluster directories, connection
 * files and databases: the default directory is never shared, directories
 * and connection files another user could change are refused with a text
 * naming the path and the problem, new ones are private. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "db.h"
#include "tap.h"

#define OTHER_UID 65534 /* "nobody": another user */

static char top[PATH_MAX];

static void path_of (char *buf, size_t size, const char *name)
{
    snprintf (buf, size, "%s/%s", top, name);
}

static int write_conn (const char *path, mode_t mode)
{
    zpar_conninfo_t ci;
    zpar_error_t err;
    memset (&ci, 0, sizeof (ci));
    memset (ci.key, 0x5a, sizeof (ci.key));
    for (int i = 0; i < ZPAR_EP_COUNT; i++)
        snprintf (ci.addr[i], ZPAR_ADDR_MAX, "tcp://127.0.0.1:%d", 40000 + i);
    snprintf (ci.host, sizeof (ci.host), "h");
    if (zpar__conn_write (path, &ci, &err) < 0) {
        diag ("%s", err.text);
        return -1;
    }
    return chmod (path, mode);
}

static mode_t mode_of (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void test_default_dir (void)
{
    char buf[PATH_MAX], *home = getenv ("HOME") ? strdup (getenv ("HOME")) : NULL;
    zpar_error_t err;

    unsetenv ("ZPAR_DIR");
    setenv ("HOME", "/home/u", 1);
    setenv ("XDG_RUNTIME_DIR", "/run/user/7", 1);
    ok (zpar__zpar_dir (buf, sizeof (buf)) == 0 && !strcmp (buf, "/home/u/.zpar"), "HOME set: %s",
        buf);
    unsetenv ("HOME");
    ok (zpar__zpar_dir (buf, sizeof (buf)) == 0 && !strcmp (buf, "/run/user/7/zpar"),
        "HOME unset: XDG_RUNTIME_DIR (%s)", buf);
    unsetenv ("XDG_RUNTIME_DIR");
    errno = 0;
    ok (zpar__zpar_dir (buf, sizeof (buf)) < 0 && errno == ENOENT,
        "neither HOME nor XDG_RUNTIME_DIR: ENOENT, no /tmp fallback");
    ok (zpar__cluster_dir (buf, sizeof (buf)) < 0 && errno == ENOENT, "cluster dir: ENOENT too");
    ok (zpar__cluster_dir_prepare (NULL, buf, sizeof (buf), &err) < 0 && errno == ENOENT &&
            strstr (err.text, "ZPAR_DIR") && strstr (err.text, "/tmp"),
        "prepare says what to set: %s", err.text);
    setenv ("ZPAR_DIR", "/x/y", 1);
    ok (zpar__zpar_dir (buf, sizeof (buf)) == 0 && !strcmp (buf, "/x/y"), "ZPAR_DIR wins");
    unsetenv ("ZPAR_DIR");
    if (home) {
        setenv ("HOME", home, 1);
        free (home);
    }
}

static void test_dirs (void)
{
    char d[PATH_MAX], sub[PATH_MAX + 16];
    zpar_error_t err;
    mode_t old = umask (0);

    path_of (d, sizeof (d), "a/b/cluster");
    ok (zpar__cluster_dir_prepare (d, sub, sizeof (sub), &err) == 0, "new cluster dir accepted");
    ok (mode_of (d) == 0700, "created 0700 with umask 0 (%03o)", (unsigned)mode_of (d));
    path_of (d, sizeof (d), "a");
    ok (mode_of (d) == 0700, "parents created 0700 too (%03o)", (unsigned)mode_of (d));
    umask (old);

    path_of (d, sizeof (d), "a/b/cluster");
    ok (zpar__dir_check_private (d, "cluster directory", &err) == 0, "own 0700 dir accepted");
    chmod (d, 0755);
    ok (zpar__dir_check_private (d, "cluster directory", &err) == 0,
        "own 0755 dir accepted (readable is not writable)");

    chmod (d, 0777);
    errno = 0;
    ok (zpar__dir_check_private (d, "cluster directory", &err) < 0 && errno == EPERM &&
            strstr (err.text, d) && strstr (err.text, "writable by group or others") &&
            strstr (err.text, "777"),
        "0777 dir refused: %s", err.text);
    chmod (d, 0770);
    ok (zpar__dir_check_private (d, "cluster directory", &err) < 0 && errno == EPERM,
        "group-writable dir refused");
    chmod (d, 0700);
    ok (zpar__cluster_dir_prepare (d, sub, sizeof (sub), &err) == 0, "0700 again accepted");

    /* a directory above it that others may write to, not sticky */
    path_of (d, sizeof (d), "a/b");
    chmod (d, 0777);
    path_of (d, sizeof (d), "a/b/cluster");
    ok (zpar__dir_check_private (d, "cluster directory", &err) < 0 && errno == EPERM &&
            strstr (err.text, "above it") && strstr (err.text, "/a/b"),
        "dir under a 0777 parent refused: %s", err.text);
    path_of (d, sizeof (d), "a/b");
    chmod (d, 01777);
    path_of (d, sizeof (d), "a/b/cluster");
    ok (zpar__dir_check_private (d, "cluster directory", &err) == 0,
        "dir under a sticky 1777 parent (like /tmp) accepted");
    path_of (d, sizeof (d), "a/b");
    chmod (d, 0700);

    path_of (d, sizeof (d), "plainfile");
    fclose (fopen (d, "w"));
    ok (zpar__dir_check_private (d, "cluster directory", &err) < 0 && errno == ENOTDIR,
        "a file is not a directory: %s", err.text);
    path_of (d, sizeof (d), "nothere");
    ok (zpar__dir_check_private (d, "cluster directory", &err) < 0 && errno == ENOENT,
        "missing dir: %s", err.text);

    if (geteuid () != 0) {
        for (int i = 0; i < 3; i++)
            ok (1, "# SKIP not root: cannot give a directory to another user");
        return;
    }
    path_of (d, sizeof (d), "theirs");
    mkdir (d, 0700);
    ok (chown (d, OTHER_UID, OTHER_UID) == 0, "a dir of uid %d", OTHER_UID);
    errno = 0;
    ok (zpar__dir_check_private (d, "cluster directory", &err) < 0 && errno == EPERM &&
            strstr (err.text, d) && strstr (err.text, "owned by uid 65534"),
        "another user's 0700 dir refused: %s", err.text);
    snprintf (sub, sizeof (sub), "%s/local", d);
    ok (zpar__cluster_dir_prepare (sub, sub, sizeof (sub), &err) < 0 &&
            strstr (err.text, "above it"),
        "our dir inside another user's dir refused: %s", err.text);
}

static void test_files (void)
{
    char f[PATH_MAX], d[PATH_MAX];
    zpar_conninfo_t ci;
    zpar_error_t err;

    path_of (d, sizeof (d), "c");
    mkdir (d, 0700);
    path_of (f, sizeof (f), "c/client.json");
    ok (write_conn (f, 0600) == 0, "connection file written");
    ok (mode_of (f) == 0600, "zpar__conn_write makes it 0600 (%03o)", (unsigned)mode_of (f));
    ok (zpar__conn_read (f, &ci, &err) == 0 && ci.key[0] == 0x5a, "own 0600 file accepted");
    chmod (f, 0644);
    errno = 0;
    ok (zpar__conn_read (f, &ci, &err) < 0 && errno == EPERM &&
            strstr (err.text, "readable by group or others") && strstr (err.text, "644"),
        "own 0644 file refused: it holds the key (%s)", err.text);
    chmod (f, 0640);
    ok (zpar__conn_read (f, &ci, &err) < 0 && errno == EPERM, "group-readable file refused");
    chmod (f, 0400);
    ok (zpar__conn_read (f, &ci, &err) == 0, "own read-only 0400 file accepted");

    chmod (f, 0666);
    errno = 0;
    ok (zpar__conn_read (f, &ci, &err) < 0 && errno == EPERM && strstr (err.text, f) &&
            strstr (err.text, "writable by group or others") && strstr (err.text, "666"),
        "0666 file refused: %s", err.text);
    chmod (f, 0620);
    ok (zpar__conn_read (f, &ci, &err) < 0 && errno == EPERM, "group-writable file refused");
    chmod (f, 0600);

    chmod (d, 0777);
    ok (zpar__conn_read (f, &ci, &err) < 0 && errno == EPERM && strstr (err.text, "above it"),
        "0600 file in a 0777 dir refused: %s", err.text);
    chmod (d, 0700);
    ok (zpar__conn_read (f, &ci, &err) == 0, "accepted again");

    if (geteuid () != 0) {
        for (int i = 0; i < 2; i++)
            ok (1, "# SKIP not root: cannot give a file to another user");
        return;
    }
    ok (chown (f, OTHER_UID, OTHER_UID) == 0, "file given to uid %d", OTHER_UID);
    errno = 0;
    ok (zpar__conn_read (f, &ci, &err) < 0 && errno == EPERM && strstr (err.text, f) &&
            strstr (err.text, "owned by uid 65534"),
        "another user's 0600 file refused: %s", err.text);
}

static void test_db (void)
{
    char p[PATH_MAX], w[PATH_MAX + 8];
    zpar_error_t err;
    zpar_db_t *db;
    mode_t old = umask (0);

    path_of (p, sizeof (p), "c/tasks.sqlite");
    db = zpar__db_open (p, NULL, &err);
    ok (db != NULL, "database opened");
    ok (db && zpar__db_exec (db, "CREATE TABLE t (x); INSERT INTO t VALUES (1)", &err) == 0,
        "written");
    ok (mode_of (p) == 0600, "new database 0600 with umask 0 (%03o)", (unsigned)mode_of (p));
    snprintf (w, sizeof (w), "%s-wal", p);
    ok (mode_of (w) == 0600, "its -wal file 0600 (%03o)", (unsigned)mode_of (w));
    snprintf (w, sizeof (w), "%s-shm", p);
    ok (mode_of (w) == 0600, "its -shm file 0600 (%03o)", (unsigned)mode_of (w));
    zpar__db_close (db);
    umask (old);
}

static void test_bad_params (void)
{
    char buf[64];
    zpar_conninfo_t ci;
    zpar_error_t err;
    static const struct {
        const char *dir, *what;
    } bad_dirs[] = {{NULL, "x"}, {"", "x"}, {"/", NULL}};

    for (size_t i = 0; i < sizeof (bad_dirs) / sizeof (bad_dirs[0]); i++) {
        errno = 0;
        ok (zpar__dir_check_private (bad_dirs[i].dir, bad_dirs[i].what, &err) < 0 &&
                errno == EINVAL,
            "dir_check_private bad parameters %zu: EINVAL", i);
        errno = 0;
        ok (zpar__path_check_parent (bad_dirs[i].dir, bad_dirs[i].what, &err) < 0 &&
                errno == EINVAL,
            "path_check_parent bad parameters %zu: EINVAL", i);
    }
    ok (zpar__cluster_dir_prepare ("/x", NULL, 10, &err) < 0 && errno == EINVAL, "no buffer");
    ok (zpar__cluster_dir_prepare ("/x", buf, 0, &err) < 0 && errno == EINVAL, "no room");
    ok (zpar__cluster_dir_prepare (
            "/a/very/long/path/for/this/buffer/of/sixty/four/bytes/x/y/z/and/more/still", buf,
            sizeof (buf), &err) < 0 &&
            errno == ENAMETOOLONG,
        "path too long: ENAMETOOLONG");
    ok (zpar__conn_read (NULL, &ci, &err) < 0 && errno == EINVAL, "conn_read NULL path");
    ok (zpar__dir_check_private ("/", "root", NULL) < 0 || geteuid () == 0,
        "NULL err accepted (/ is root's)");
}

int main (void)
{
    const char *tmp = getenv ("TMPDIR");
    plan (NO_PLAN);
    snprintf (top, sizeof (top), "%s/test_conn_perm.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (top)) {
        printf ("Bail out! mkdtemp: %s\n", strerror (errno));
        return 1;
    }
    test_default_dir ();
    test_dirs ();
    test_files ();
    test_db ();
    test_bad_params ();
    {
        char cmd[PATH_MAX + 16];
        snprintf (cmd, sizeof (cmd), "rm -rf '%s'", top);
        if (system (cmd) != 0)
            diag ("could not remove %s", top);
    }
    done_testing ();
}
