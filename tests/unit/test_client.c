/* test_client.c - the client library without a cluster: options and their
 * validation, finding the connection file, the stale-controller check,
 * bad parameters of every call, connection-file keys in hex. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "tap.h"
#include "zpar.h"

static char tmpdir[PATH_MAX];

/* A connection file in tmpdir/<name> whose controller is pid on host;
 * its addresses are ports nobody listens on. */
static void write_conn (const char *name, int pid, const char *host, char *path, size_t size)
{
    zpar_conninfo_t ci;
    zpar_error_t err;
    memset (&ci, 0, sizeof (ci));
    for (int i = 0; i < ZPAR_EP_COUNT; i++)
        snprintf (ci.addr[i], ZPAR_ADDR_MAX, "tcp://127.0.0.1:%d", 1 + i);
    for (int i = 0; i < ZPAR_KEY_LEN; i++)
        ci.key[i] = (uint8_t)(i * 7 + 1);
    snprintf (ci.host, sizeof (ci.host), "%s", host);
    ci.pid = pid;
    snprintf (ci.scheme, sizeof (ci.scheme), "leastload");
    snprintf (ci.job, sizeof (ci.job), "local");
    snprintf (path, size, "%s/%s", tmpdir, name);
    if (zpar__conn_write (path, &ci, &err) < 0)
        diag ("cannot write %s: %s", path, err.text);
}

/* The pid of a process that has exited and been reaped. */
static int dead_pid (void)
{
    pid_t p = fork ();
    if (p == 0)
        _exit (0);
    waitpid (p, NULL, 0);
    return (int)p;
}

static void test_bad_opts (void)
{
    struct {
        const char *name;
        void (*set) (zpar_client_opts_t *o);
    } cases[] = {
        {"size 0", NULL},
        {"connect_timeout < 0", NULL},
        {"connect_timeout NaN", NULL},
        {"connect_timeout inf", NULL},
        {"replay_window < 0", NULL},
        {"ping_period NaN", NULL},
        {"unknown flag", NULL},
        {"size too small", NULL},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        zpar_client_opts_t o;
        zpar_error_t err = {{0}};
        zpar_client_t *c;
        char buf[PATH_MAX];
        zpar_client_opts_init (&o);
        o.connection_file = "/nonexistent/client.json";
        switch (i) {
        case 0:
            o.size = 0;
            break;
        case 1:
            o.connect_timeout = -1;
            break;
        case 2:
            o.connect_timeout = NAN;
            break;
        case 3:
            o.connect_timeout = INFINITY;
            break;
        case 4:
            o.replay_window = -0.5;
            break;
        case 5:
            o.ping_period = NAN;
            break;
        case 6:
            o.flags = 0x80;
            break;
        case 7:
            o.size = sizeof (o) - 1;
            break;
        }
        errno = 0;
        c = zpar_client_connect_opts (&o, &err);
        ok (c == NULL && errno == EINVAL && err.text[0], "connect_opts: %s is EINVAL (%s)",
            cases[i].name, err.text);
        zpar_client_destroy (c);
        errno = 0;
        ok (zpar_connection_file_find (&o, buf, sizeof (buf), NULL) < 0 && errno == EINVAL,
            "connection_file_find: %s is EINVAL", cases[i].name);
    }
    /* a bigger struct from a newer header: fine while the new fields are 0 */
    {
        struct {
            zpar_client_opts_t o;
            double newer;
        } big;
        zpar_error_t err = {{0}};
        char buf[PATH_MAX];
        memset (&big, 0, sizeof (big));
        zpar_client_opts_init (&big.o);
        big.o.size = sizeof (big);
        big.o.connection_file = "/some/where.json";
        ok (zpar_connection_file_find (&big.o, buf, sizeof (buf), &err) == 0 &&
                !strcmp (buf, "/some/where.json"),
            "options from a newer header with new fields 0 are accepted");
        big.newer = 1.0;
        errno = 0;
        ok (zpar_connection_file_find (&big.o, buf, sizeof (buf), &err) < 0 && errno == EINVAL,
            "options from a newer header with new fields set are EINVAL (%s)", err.text);
    }
}

static void test_find (void)
{
    zpar_client_opts_t o;
    zpar_error_t err = {{0}};
    char buf[PATH_MAX], path[PATH_MAX], want[PATH_MAX];

    zpar_client_opts_init (&o);
    ok (o.size == sizeof (o) && o.connection_file == NULL && o.connect_timeout == 0 && o.flags == 0,
        "opts_init: size set, everything else 0");
    zpar_client_opts_init (NULL);
    ok (1, "opts_init (NULL) is harmless");

    o.connection_file = "/a/b/client.json";
    ok (zpar_connection_file_find (&o, buf, sizeof (buf), &err) == 0 &&
            !strcmp (buf, "/a/b/client.json"),
        "find: connection_file wins");
    errno = 0;
    ok (zpar_connection_file_find (&o, buf, 4, &err) < 0 && errno == ENAMETOOLONG,
        "find: a buffer too small is ENAMETOOLONG");
    errno = 0;
    ok (zpar_connection_file_find (&o, NULL, 10, &err) < 0 && errno == EINVAL,
        "find: no buffer is EINVAL");

    o.connection_file = NULL;
    o.cluster_dir = tmpdir;
    snprintf (want, sizeof (want), "%s/client.json", tmpdir);
    errno = 0;
    ok (zpar_connection_file_find (&o, buf, sizeof (buf), &err) < 0 && errno == ENOENT &&
            strstr (err.text, "zpar cluster start"),
        "find: cluster_dir without client.json is ENOENT, saying how to start one");
    write_conn ("client.json", (int)getpid (), "elsewhere", path, sizeof (path));
    ok (zpar_connection_file_find (&o, buf, sizeof (buf), &err) == 0 && !strcmp (buf, want),
        "find: cluster_dir/client.json");

    /* defaults: $ZPAR_CONNECTION_FILE, else $ZPAR_DIR/local/client.json */
    setenv ("ZPAR_CONNECTION_FILE", "/from/env.json", 1);
    ok (zpar_connection_file_find (NULL, buf, sizeof (buf), &err) == 0 &&
            !strcmp (buf, "/from/env.json"),
        "find: NULL options use $ZPAR_CONNECTION_FILE");
    ok (zpar_connection_file_find (&o, buf, sizeof (buf), &err) == 0 && !strcmp (buf, want),
        "find: cluster_dir beats $ZPAR_CONNECTION_FILE");
    unsetenv ("ZPAR_CONNECTION_FILE");
    unsetenv ("SLURM_JOB_ID");
    unsetenv ("PBS_JOBID");
    setenv ("ZPAR_DIR", tmpdir, 1);
    errno = 0;
    ok (zpar_connection_file_find (NULL, buf, sizeof (buf), &err) < 0 && errno == ENOENT,
        "find: no local cluster under $ZPAR_DIR is ENOENT (%s)", err.text);
    unlink (path);
}

static void test_stale (void)
{
    zpar_client_opts_t o;
    zpar_error_t err = {{0}};
    char host[256] = "", path[PATH_MAX];
    zpar_client_t *c;
    uint64_t t0;
    int pid = dead_pid ();

    gethostname (host, sizeof (host) - 1);
    write_conn ("dead.json", pid, host, path, sizeof (path));
    ok (zpar_connection_file_stale (path, &err) == 1 && strstr (err.text, "not running"),
        "stale: a dead local controller pid is stale (%s)", err.text);

    zpar_client_opts_init (&o);
    o.connection_file = path;
    o.connect_timeout = 5;
    t0 = zpar__mono_us ();
    errno = 0;
    c = zpar_client_connect_opts (&o, &err);
    ok (c == NULL && errno == ECONNREFUSED && strstr (err.text, "is not running"),
        "connect to a dead controller fails with ECONNREFUSED (%s)", err.text);
    ok (zpar__mono_us () - t0 < 2000000, "... at once, without waiting for the timeout");
    zpar_client_destroy (c);

    o.flags = ZPAR_CLIENT_NO_STALE_CHECK;
    o.connect_timeout = 0.3;
    t0 = zpar__mono_us ();
    errno = 0;
    c = zpar_client_connect_opts (&o, &err);
    ok (c == NULL && errno == EHOSTUNREACH,
        "with ZPAR_CLIENT_NO_STALE_CHECK it waits and fails with EHOSTUNREACH (%s)", err.text);
    t0 = zpar__mono_us () - t0;
    ok (t0 >= 250000 && t0 < 5000000, "... after about connect_timeout (%.2f s)", (double)t0 / 1e6);
    zpar_client_destroy (c);

    write_conn ("alive.json", (int)getpid (), host, path, sizeof (path));
    ok (zpar_connection_file_stale (path, &err) == 0, "stale: a running local pid is not stale");
    write_conn ("remote.json", pid, "some-other-host.invalid", path, sizeof (path));
    ok (zpar_connection_file_stale (path, &err) == 0,
        "stale: a pid of another host cannot be checked: not stale");
    write_conn ("nopid.json", 0, host, path, sizeof (path));
    ok (zpar_connection_file_stale (path, &err) == 0, "stale: no pid: not stale");
    errno = 0;
    ok (zpar_connection_file_stale ("/nonexistent/x.json", &err) < 0 && errno == ENOENT,
        "stale: a missing file is -1 ENOENT");
    errno = 0;
    ok (zpar_connection_file_stale (NULL, &err) < 0 && errno == EINVAL, "stale: NULL is EINVAL");
    snprintf (path, sizeof (path), "%s/garbage.json", tmpdir);
    {
        FILE *f = fopen (path, "w");
        if (f) {
            fputs ("{\"version\": 1, \"key\": \"xyz\"}\n", f);
            fclose (f);
        }
        chmod (path, 0600); /* private, as zpar writes them: only its content is wrong */
    }
    errno = 0;
    ok (zpar_connection_file_stale (path, &err) < 0 && errno == EINVAL,
        "stale: not a connection file is EINVAL (%s)", err.text);

    /* the plain wrapper: a missing file */
    errno = 0;
    c = zpar_client_connect ("/nonexistent/client.json", &err);
    ok (c == NULL && errno == ENOENT, "connect: a missing file is ENOENT (%s)", err.text);
}

static void test_null_params (void)
{
    zpar_error_t err = {{0}};
    zpar_task_id_t none = {0}, some = {(1ULL << 32) | 1};

    errno = 0;
    ok (zpar_client_wait_engines (NULL, 1, 0, &err) < 0 && errno == EINVAL,
        "wait_engines (NULL) is EINVAL");
    errno = 0;
    ok (zpar_client_engines_alive (NULL, &err) < 0 && errno == EINVAL,
        "engines_alive (NULL) is EINVAL");
    errno = 0;
    ok (zpar_client_future_for (NULL, some, &err) == NULL && errno == EINVAL,
        "future_for (NULL client) is EINVAL");
    ok (zpar_client_future_for (NULL, none, NULL) == NULL && errno == EINVAL,
        "future_for (id 0, err NULL) is EINVAL");
    errno = 0;
    ok (zpar_client_poll (NULL, 0, &err) < 0 && errno == EINVAL, "poll (NULL) is EINVAL");
    errno = 0;
    ok (zpar_client_wait_all (NULL, 0, &err) < 0 && errno == EINVAL, "wait_all (NULL) is EINVAL");
    errno = 0;
    ok (zpar_future_wait (NULL, 0, &err) < 0 && errno == EINVAL, "future_wait (NULL) is EINVAL");
    ok (zpar_future_done (NULL) == 0 && zpar_future_result (NULL) == NULL,
        "future_done / future_result (NULL) are 0 / NULL");
    ok (zpar_client_connection_file (NULL) == NULL, "connection_file (NULL) is NULL");
    ok (zpar_client_id (NULL) == 0 && zpar_client_outstanding (NULL) == 0,
        "client_id / outstanding (NULL) are 0");
    errno = 0;
    ok (zpar_client_on_output (NULL, NULL, NULL, 0) < 0 && errno == EINVAL,
        "on_output (NULL) is EINVAL");
    zpar_client_destroy (NULL);
    zpar_future_destroy (NULL);
    ok (1, "client_destroy / future_destroy (NULL) are harmless");
}

static void test_hex_key (void)
{
    zpar_conninfo_t ci, back;
    zpar_error_t err = {{0}};
    char *text, *k;
    memset (&ci, 0, sizeof (ci));
    for (int i = 0; i < ZPAR_EP_COUNT; i++)
        snprintf (ci.addr[i], ZPAR_ADDR_MAX, "tcp://127.0.0.1:%d", 5000 + i);
    for (int i = 0; i < ZPAR_KEY_LEN; i++)
        ci.key[i] = (uint8_t)(255 - i * 3);
    text = zpar__conn_to_string (&ci);
    ok (text && zpar__conn_from_string (text, &back, &err) == 0 &&
            !memcmp (back.key, ci.key, ZPAR_KEY_LEN),
        "the key round-trips through hex");
    ok (text && (k = strstr (text, "\"key\": \"")) && k[8] == 'f' && k[9] == 'f',
        "the key is written in lower-case hex");
    if (text && (k = strstr (text, "\"key\": \""))) {
        k += 8;
        k[0] = 'F'; /* upper case is accepted */
        ok (zpar__conn_from_string (text, &back, &err) == 0 && back.key[0] == 0xff,
            "upper-case hex is accepted");
        k[1] = 'g';
        ok (zpar__conn_from_string (text, &back, &err) < 0 && errno == EINVAL,
            "a non-hex digit is rejected (%s)", err.text);
        k[1] = ' ';
        ok (zpar__conn_from_string (text, &back, &err) < 0 && errno == EINVAL,
            "a space inside the key is rejected");
        k[1] = '"'; /* key now one digit long */
        ok (zpar__conn_from_string (text, &back, &err) < 0 && errno == EINVAL,
            "a short key is rejected");
    }
    free (text);
}

int main (void)
{
    const char *t = getenv ("TMPDIR");
    snprintf (tmpdir, sizeof (tmpdir), "%s/test_client.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp (tmpdir)) {
        perror ("mkdtemp");
        return 1;
    }
    plan (NO_PLAN);
    test_bad_opts ();
    test_find ();
    test_stale ();
    test_null_params ();
    test_hex_key ();
    {
        char cmd[PATH_MAX + 16];
        snprintf (cmd, sizeof (cmd), "rm -rf '%s'", tmpdir);
        if (system (cmd) != 0)
            diag ("could not remove %s", tmpdir);
    }
    return done_testing ();
}
