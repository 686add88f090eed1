/* conn.c - connection files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addrpick.h"
#include "conn.h"
#include "error.h"
#include "json.h"

/* The Curve keys, by JSON name (conn.h): optional, each a Z85 key. */
static const struct {
    const char *name;
    size_t off;
} curve_fields[] = {
    {"curve_server_public", offsetof (zpar_curve_keys_t, server_public)},
    {"curve_server_secret", offsetof (zpar_curve_keys_t, server_secret)},
    {"curve_client_public", offsetof (zpar_curve_keys_t, client_public)},
    {"curve_client_secret", offsetof (zpar_curve_keys_t, client_secret)},
    {"curve_engine_public", offsetof (zpar_curve_keys_t, engine_public)},
    {"curve_engine_secret", offsetof (zpar_curve_keys_t, engine_secret)},
};
#define N_CURVE_FIELDS (sizeof (curve_fields) / sizeof (curve_fields[0]))

static char *curve_field (zpar_curve_keys_t *k, size_t i)
{
    return (char *)k + curve_fields[i].off;
}

/* Read the optional Curve keys of o into k: each present key well formed,
 * and when Curve is on (a server public key) at least one complete pair. */
static int curve_from_json (zpar_jobj_t *o, zpar_curve_keys_t *k, zpar_error_t *err)
{
    const char *s;
    int any = 0;
    for (size_t i = 0; i < N_CURVE_FIELDS; i++) {
        if (!(s = zpar__jobj_str (o, curve_fields[i].name)))
            continue;
        if (!zpar__curve_key_valid (s))
            return zpar__errnoprintf (err, EINVAL,
                                      "malformed \"%s\" (want a 40-character Z85 CURVE key)",
                                      curve_fields[i].name);
        snprintf (curve_field (k, i), ZPAR_CURVE_KEY_TEXT, "%s", s);
        any = 1;
    }
    if (!any)
        return 0;
    if (!k->server_public[0])
        return zpar__errnoprintf (err, EINVAL, "CURVE keys without \"curve_server_public\"");
    if (!!k->client_public[0] != !!k->client_secret[0] ||
        !!k->engine_public[0] != !!k->engine_secret[0] ||
        (!k->client_public[0] && !k->engine_public[0]))
        return zpar__errnoprintf (err, EINVAL,
                                  "incomplete CURVE key pair (want curve_client_public and "
                                  "curve_client_secret, or the engine's)");
    return 0;
}

static const char *ep_names[ZPAR_EP_COUNT] = {
    "registration", "notification", "hb_ping",        "hb_pong",
    "mux_client",   "mux_engine",   "control_client", "control_engine",
    "task_client",  "task_engine",  "iopub_client",   "iopub_engine",
};

const char *zpar__endpoint_name (zpar_endpoint_t ep)
{
    return ep < ZPAR_EP_COUNT ? ep_names[ep] : "?";
}

int zpar__mkdir_p (const char *path, int mode)
{
    char tmp[PATH_MAX];
    size_t len = strlen (path);
    if (len == 0 || len >= sizeof (tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy (tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir (tmp, (mode_t)mode) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir (tmp, (mode_t)mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* The key as exactly 2 * n hex digits (either case), nothing else. */
static int hex_decode (const char *s, uint8_t *out, size_t n)
{
    size_t got = 0;
    const char *end = NULL;
    if (strlen (s) != 2 * n)
        return -1;
    if (sodium_hex2bin (out, n, s, 2 * n, NULL, &got, &end) != 0 || got != n || *end != '\0')
        return -1;
    return 0;
}

char *zpar__conn_to_string (const zpar_conninfo_t *ci)
{
    char *buf = NULL;
    size_t len = 0;
    char hex[2 * ZPAR_KEY_LEN + 1];
    FILE *f = open_memstream (&buf, &len);
    if (!f)
        return NULL;
    sodium_bin2hex (hex, sizeof (hex), ci->key, ZPAR_KEY_LEN);
    fprintf (f,
             "{\n  \"version\": 1,\n  \"key\": \"%s\",\n  \"signature_scheme\": \"hmac-sha256\",\n",
             hex);
    fprintf (f, "  \"host\": ");
    zpar__json_put_str (f, ci->host, strlen (ci->host));
    fprintf (f, ",\n  \"pid\": %d,\n  \"task_scheme\": ", ci->pid);
    zpar__json_put_str (f, ci->scheme, strlen (ci->scheme));
    fprintf (f, ",\n  \"job\": ");
    zpar__json_put_str (f, ci->job, strlen (ci->job));
    for (int i = 0; i < ZPAR_EP_COUNT; i++) {
        fprintf (f, ",\n  \"%s\": ", ep_names[i]);
        zpar__json_put_str (f, ci->addr[i], strlen (ci->addr[i]));
    }
    for (size_t i = 0; i < N_CURVE_FIELDS; i++) {
        const char *k = curve_field ((zpar_curve_keys_t *)&ci->curve, i);
        if (k[0])
            fprintf (f, ",\n  \"%s\": \"%s\"", curve_fields[i].name, k);
    }
    if (ci->candidates[0]) {
        fprintf (f, ",\n  \"candidates\": ");
        zpar__json_put_str (f, ci->candidates, strlen (ci->candidates));
    }
    fprintf (f, "\n}\n");
    if (fclose (f) != 0) {
        free (buf);
        return NULL;
    }
    return buf;
}

int zpar__conn_from_string (const char *text, zpar_conninfo_t *ci, zpar_error_t *err)
{
    zpar_error_t jerr;
    zpar_jobj_t *o = zpar__jobj_parse (text, strlen (text), &jerr);
    const char *s;
    double v;

    memset (ci, 0, sizeof (*ci));
    if (!o)
        return zpar__errnoprintf (err, EINVAL, "%s", jerr.text);
    if (zpar__jobj_num (o, "version", &v) < 0 || v != 1) {
        zpar__jobj_destroy (o);
        return zpar__errnoprintf (err, EINVAL, "missing or unsupported \"version\" (want 1)");
    }
    if (!(s = zpar__jobj_str (o, "key")) || hex_decode (s, ci->key, ZPAR_KEY_LEN) < 0) {
        zpar__jobj_destroy (o);
        return zpar__errnoprintf (err, EINVAL, "missing or malformed \"key\" (want %d hex digits)",
                                  2 * ZPAR_KEY_LEN);
    }
    for (int i = 0; i < ZPAR_EP_COUNT; i++) {
        s = zpar__jobj_str (o, ep_names[i]);
        if (!s || strlen (s) >= ZPAR_ADDR_MAX || strncmp (s, "tcp://", 6) != 0) {
            if (!(s && strncmp (s, "ipc://", 6) == 0 && strlen (s) < ZPAR_ADDR_MAX)) {
                zpar__jobj_destroy (o);
                return zpar__errnoprintf (
                    err, EINVAL, "missing or malformed address \"%s\" (want tcp://HOST:PORT)",
                    ep_names[i]);
            }
        }
        snprintf (ci->addr[i], ZPAR_ADDR_MAX, "%s", s);
    }
    snprintf (ci->host, sizeof (ci->host), "%s", (s = zpar__jobj_str (o, "host")) ? s : "");
    snprintf (ci->scheme, sizeof (ci->scheme), "%s",
              (s = zpar__jobj_str (o, "task_scheme")) ? s : "leastload");
    snprintf (ci->job, sizeof (ci->job), "%s", (s = zpar__jobj_str (o, "job")) ? s : "");
    ci->pid = zpar__jobj_num (o, "pid", &v) == 0 && v >= 1 && v <= INT_MAX ? (int)v : 0;
    if ((s = zpar__jobj_str (o, "candidates"))) {
        zpar_cands_t cands;
        zpar_error_t cerr;
        if (zpar__cands_parse (s, &cands, &cerr) < 0) {
            zpar__jobj_destroy (o);
            return zpar__errnoprintf (err, EINVAL, "malformed \"candidates\": %s", cerr.text);
        }
        (void)zpar__cands_format (&cands, ci->candidates, sizeof (ci->candidates));
    }
    if (curve_from_json (o, &ci->curve, err) < 0) {
        zpar__jobj_destroy (o);
        memset (&ci->curve, 0, sizeof (ci->curve));
        return -1;
    }
    zpar__jobj_destroy (o);
    return 0;
}

/* A connection file another user could have written is refused. */
static int check_conn_file (const char *path, const struct stat *st, zpar_error_t *err)
{
    if (!S_ISREG (st->st_mode))
        return zpar__errnoprintf (err, EINVAL, "connection file %s is not a regular file", path);
    if (st->st_uid != geteuid ())
        return zpar__errnoprintf (err, EPERM,
                                  "refusing connection file %s: it is owned by uid %u, not by "
                                  "this user (uid %u), so another user may have written it",
                                  path, (unsigned)st->st_uid, (unsigned)geteuid ());
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return zpar__errnoprintf (err, EPERM,
                                  "refusing connection file %s: it is writable by group or "
                                  "others (mode %03o); if you trust it, run 'chmod 600 %s'",
                                  path, (unsigned)(st->st_mode & 0777), path);
    /* it holds the cluster key: readable by others, it is everybody's key
     * (ssh refuses a private key with such a mode for the same reason) */
    if (st->st_mode & (S_IRGRP | S_IROTH))
        return zpar__errnoprintf (err, EPERM,
                                  "refusing connection file %s: it holds the cluster key and is "
                                  "readable by group or others (mode %03o): anyone who read it "
                                  "can act as you on the cluster; run 'chmod 600 %s' and, if "
                                  "others may have read it, start the cluster again for a new key",
                                  path, (unsigned)(st->st_mode & 0777), path);
    return 0;
}

int zpar__conn_read (const char *path, zpar_conninfo_t *ci, zpar_error_t *err)
{
    FILE *f;
    char buf[16384];
    size_t n;
    struct stat st;
    zpar_error_t perr;
    int fd;

    if (!path || !ci)
        return zpar__errnoprintf (err, EINVAL, "no connection file given");
    if ((fd = open (path, O_RDONLY | O_CLOEXEC)) < 0)
        return zpar__errprintf (err, "cannot open connection file %s: %s", path, strerror (errno));
    if (fstat (fd, &st) < 0) {
        int e = errno;
        close (fd);
        return zpar__errnoprintf (err, e, "cannot check connection file %s: %s", path,
                                  strerror (e));
    }
    if (check_conn_file (path, &st, err) < 0 ||
        zpar__path_check_parent (path, "connection file", err) < 0) {
        int e = errno;
        close (fd);
        errno = e;
        return -1;
    }
    if (!(f = fdopen (fd, "r"))) {
        int e = errno;
        close (fd);
        return zpar__errnoprintf (err, e, "cannot read connection file %s: %s", path, strerror (e));
    }
    n = fread (buf, 1, sizeof (buf) - 1, f);
    if (ferror (f) || !feof (f)) {
        int e = ferror (f) ? errno : EFBIG;
        fclose (f);
        return zpar__errnoprintf (err, e, "cannot read connection file %s: %s", path,
                                  e == EFBIG ? "file is too large" : strerror (e));
    }
    fclose (f);
    buf[n] = '\0';
    if (memchr (buf, '\0', n))
        return zpar__errnoprintf (err, EINVAL, "connection file %s contains NUL bytes", path);
    if (zpar__conn_from_string (buf, ci, &perr) < 0)
        return zpar__errnoprintf (err, EINVAL, "connection file %s: %s", path, perr.text);
    return 0;
}

int zpar__conn_write (const char *path, const zpar_conninfo_t *ci, zpar_error_t *err)
{
    char tmp[PATH_MAX];
    char dir[PATH_MAX];
    char *text = NULL, *slash;
    int fd = -1;
    size_t len;

    if (snprintf (tmp, sizeof (tmp), "%s.tmp.%d", path, (int)getpid ()) >= (int)sizeof (tmp))
        return zpar__errnoprintf (err, ENAMETOOLONG, "path too long: %s", path);
    snprintf (dir, sizeof (dir), "%s", path);
    if ((slash = strrchr (dir, '/')) && slash != dir) {
        *slash = '\0';
        if (zpar__mkdir_p (dir, 0700) < 0)
            return zpar__errprintf (err, "cannot create directory %s: %s", dir, strerror (errno));
    }
    if (!(text = zpar__conn_to_string (ci)))
        return zpar__errprintf (err, "out of memory");
    len = strlen (text);
    /* a new file (a leftover of a process of our pid goes first), never
     * through a symlink */
    (void)unlink (tmp);
    if ((fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
        fchmod (fd, 0600) < 0 || write (fd, text, len) != (ssize_t)len || fsync (fd) < 0 ||
        close (fd) < 0) {
        int e = errno;
        if (fd >= 0)
            close (fd);
        unlink (tmp);
        free (text);
        return zpar__errnoprintf (err, e, "cannot write connection file %s: %s", path,
                                  strerror (e));
    }
    free (text);
    if (rename (tmp, path) < 0) {
        int e = errno;
        unlink (tmp);
        return zpar__errnoprintf (err, e, "cannot rename %s to %s: %s", tmp, path, strerror (e));
    }
    return 0;
}

int zpar__zpar_dir (char *buf, size_t size)
{
    const char *d = getenv ("ZPAR_DIR");
    const char *home = getenv ("HOME");
    const char *run = getenv ("XDG_RUNTIME_DIR");
    int n;
    /* never a directory every user can write (/tmp): another user could
     * make it first and hand us their connection files */
    if (d && *d)
        n = snprintf (buf, size, "%s", d);
    else if (home && *home)
        n = snprintf (buf, size, "%s/.zpar", home);
    else if (run && *run)
        n = snprintf (buf, size, "%s/zpar", run);
    else {
        errno = ENOENT;
        return -1;
    }
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int zpar__zpar_dir_error (zpar_error_t *err)
{
    if (errno == ENAMETOOLONG)
        return zpar__errnoprintf (err, ENAMETOOLONG,
                                  "the zpar directory path is too long: set ZPAR_DIR to a shorter "
                                  "path or pass --dir DIR");
    return zpar__errnoprintf (err, ENOENT,
                              "no directory for zpar's files: none of ZPAR_DIR, HOME and "
                              "XDG_RUNTIME_DIR is set; set ZPAR_DIR to a directory of yours "
                              "(zpar never falls back to a shared one such as /tmp) or pass "
                              "--dir DIR");
}

int zpar__cluster_dir (char *buf, size_t size)
{
    char base[PATH_MAX];
    const char *job = getenv ("SLURM_JOB_ID");
    int n;
    if (!job || !*job)
        job = getenv ("PBS_JOBID");
    if (zpar__zpar_dir (base, sizeof (base)) < 0)
        return -1;
    if (job && *job && !strchr (job, '/'))
        n = snprintf (buf, size, "%s/job-%s", base, job);
    else
        n = snprintf (buf, size, "%s/local", base);
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int zpar__conn_resolve (const char *opt, char *buf, size_t size, zpar_error_t *err)
{
    const char *env = getenv ("ZPAR_CONNECTION_FILE");
    char dir[PATH_MAX];
    if (opt && *opt) {
        snprintf (buf, size, "%s", opt);
        return 0;
    }
    if (env && *env) {
        snprintf (buf, size, "%s", env);
        return 0;
    }
    if (zpar__cluster_dir (dir, sizeof (dir)) < 0)
        return zpar__zpar_dir_error (err);
    if ((size_t)snprintf (buf, size, "%s/client.json", dir) >= size)
        return zpar__errnoprintf (err, ENAMETOOLONG, "path too long");
    if (access (buf, R_OK) < 0)
        return zpar__errnoprintf (err, ENOENT,
                                  "no running cluster found (%s does not exist): start one with "
                                  "'zpar cluster start -n N', or pass --connection-file FILE or "
                                  "set ZPAR_CONNECTION_FILE",
                                  buf);
    return 0;
}

/* ------------------------------------------------- ownership and modes */

/* Whether a directory above a private one is safe: no other user can
 * rename or replace what it holds.  Owned by root or this user, and not
 * writable by group or others unless sticky (/tmp, /dev/shm). */
static int ancestor_ok (const struct stat *st)
{
    if (st->st_uid != 0 && st->st_uid != geteuid ())
        return 0;
    return !(st->st_mode & (S_IWGRP | S_IWOTH)) || (st->st_mode & S_ISVTX);
}

/* Check every directory from dir (absolute, resolved) up to "/". */
static int check_ancestors (const char *dir, const char *what, const char *path, zpar_error_t *err)
{
    char cur[PATH_MAX];
    struct stat st;
    char *slash;

    if (snprintf (cur, sizeof (cur), "%s", dir) >= (int)sizeof (cur))
        return zpar__errnoprintf (err, ENAMETOOLONG, "path too long: %s", dir);
    for (;;) {
        if (stat (cur[0] ? cur : "/", &st) < 0)
            return zpar__errprintf (err, "cannot check %s %s: %s: %s", what, path,
                                    cur[0] ? cur : "/", strerror (errno));
        if (!ancestor_ok (&st))
            return zpar__errnoprintf (
                err, EPERM,
                "refusing %s %s: the directory %s above it can be changed by another user "
                "(owner uid %u, mode %03o): use a directory of yours (set ZPAR_DIR or pass "
                "--dir)",
                what, path, cur[0] ? cur : "/", (unsigned)st.st_uid,
                (unsigned)(st.st_mode & 07777));
        if (!cur[0] || !(slash = strrchr (cur, '/')))
            return 0;
        *slash = '\0'; /* "/a" becomes "", checked as "/" */
    }
}

int zpar__path_check_parent (const char *path, const char *what, zpar_error_t *err)
{
    char real[PATH_MAX];
    char *slash;
    if (!path || !*path || !what)
        return zpar__errnoprintf (err, EINVAL, "no path given");
    if (!realpath (path, real))
        return zpar__errprintf (err, "cannot resolve %s %s: %s", what, path, strerror (errno));
    if (!(slash = strrchr (real, '/')) || slash == real)
        return check_ancestors ("", what, path, err);
    *slash = '\0';
    return check_ancestors (real, what, path, err);
}

int zpar__dir_check_private (const char *dir, const char *what, zpar_error_t *err)
{
    struct stat st;
    int fd;

    if (!dir || !*dir || !what)
        return zpar__errnoprintf (err, EINVAL, "no directory given");
    if ((fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return zpar__errprintf (err, "cannot open %s %s: %s", what, dir, strerror (errno));
    if (fstat (fd, &st) < 0) {
        int e = errno;
        close (fd);
        return zpar__errnoprintf (err, e, "cannot check %s %s: %s", what, dir, strerror (e));
    }
    close (fd);
    if (st.st_uid != geteuid ())
        return zpar__errnoprintf (err, EPERM,
                                  "refusing %s %s: it is owned by uid %u, not by this user "
                                  "(uid %u), so another user controls its files; use a "
                                  "directory of yours (set ZPAR_DIR or pass --dir)",
                                  what, dir, (unsigned)st.st_uid, (unsigned)geteuid ());
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return zpar__errnoprintf (err, EPERM,
                                  "refusing %s %s: it is writable by group or others (mode "
                                  "%03o), so another user could replace its files; if you "
                                  "trust it, run 'chmod go-w %s'",
                                  what, dir, (unsigned)(st.st_mode & 07777), dir);
    return zpar__path_check_parent (dir, what, err);
}

int zpar__cluster_dir_prepare (const char *opt, char *buf, size_t size, zpar_error_t *err)
{
    if (!buf || size == 0)
        return zpar__errnoprintf (err, EINVAL, "no buffer for the cluster directory");
    if (opt && *opt) {
        if (opt == buf) {
            if (strnlen (buf, size) >= size)
                return zpar__errnoprintf (err, ENAMETOOLONG, "path too long");
        } else if ((size_t)snprintf (buf, size, "%s", opt) >= size)
            return zpar__errnoprintf (err, ENAMETOOLONG, "path too long: %s", opt);
    } else if (zpar__cluster_dir (buf, size) < 0)
        return zpar__zpar_dir_error (err);
    if (zpar__mkdir_p (buf, 0700) < 0)
        return zpar__errprintf (err, "cannot create the cluster directory %s: %s", buf,
                                strerror (errno));
    return zpar__dir_check_private (buf, "cluster directory", err);
}
