/* wireup_file.c - the blob exchange through a file in a shared directory
 * (see wireup.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"

#include "error.h"
#include "wireup_impl.h"

/* ------------------------------------------------------------------ file */

char *zpar__wireup_sanitize_key (const char *s)
{
    char *k = strdup (s);
    if (!k)
        return NULL;
    for (char *p = k; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            *p = '_';
    }
    if (k[0] == '.') /* no hidden files, no ".." */
        k[0] = '_';
    return k;
}

int zpar__wireup_file_publish (zpar_wireup_t *w, const char *blob, zpar_error_t *err)
{
    size_t plen = strlen (w->dir) + 64;
    char *tmp = malloc (plen + strlen (w->key));
    char hdr[64];
    int fd = -1, n;
    FILE *f = NULL;

    if (!tmp)
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    snprintf (tmp, plen + strlen (w->key), "%s/.zpar-wireup.%s.XXXXXX", w->dir, w->key);
    if ((fd = mkstemp (tmp)) < 0) { /* mode 0600 */
        zpar__errprintf (err, "cannot create a file in the connection directory %s: %s", w->dir,
                         strerror (errno));
        goto error_nofile;
    }
    if (fchmod (fd, 0600) < 0 || !(f = fdopen (fd, "w"))) {
        zpar__errprintf (err, "%s: %s", tmp, strerror (errno));
        goto error;
    }
    fd = -1;
    n = snprintf (hdr, sizeof (hdr), "%s size=%d\n", FILE_MAGIC, w->size);
    if (fwrite (hdr, 1, (size_t)n, f) != (size_t)n ||
        fwrite (blob, 1, strlen (blob), f) != strlen (blob) || fflush (f) != 0 ||
        fsync (fileno (f)) < 0) {
        zpar__errprintf (err, "writing %s: %s", tmp, strerror (errno));
        goto error;
    }
    if (fclose (f) != 0) {
        f = NULL;
        zpar__errprintf (err, "writing %s: %s", tmp, strerror (errno));
        goto error;
    }
    f = NULL;
    if (rename (tmp, w->path) < 0) {
        zpar__errprintf (err, "rename %s -> %s: %s", tmp, w->path, strerror (errno));
        goto error;
    }
    free (tmp);
    return 0;
error : {
    int saved = errno;
    if (f)
        fclose (f);
    if (fd >= 0)
        close (fd);
    unlink (tmp);
    errno = saved;
}
error_nofile:
    free (tmp);
    return -1;
}

/* Try to read the connection file once.  Returns the blob (malloc'd), or
 * NULL with errno: ENOENT (not there yet or stale: keep polling), or a
 * definitive error (EPROTO, EACCES, ENOMEM, ...) with err filled. */
static char *file_try_read (zpar_wireup_t *w, zpar_error_t *err)
{
    struct stat st;
    char *buf = NULL, *nl;
    int fd, fsize = -1;
    size_t len = 0, cap;
    ssize_t r;

    if ((fd = open (w->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        if (errno == ENOENT)
            return NULL;
        zpar__errprintf (err, "open %s: %s", w->path, strerror (errno));
        return NULL;
    }
    if (fstat (fd, &st) < 0) {
        zpar__errprintf (err, "stat %s: %s", w->path, strerror (errno));
        goto error;
    }
    if (st.st_mtime < w->created - ZPAR_WIREUP_FILE_SKEW_S) {
        close (fd); /* a leftover of an earlier job: wait for rank 0 to replace it */
        errno = ENOENT;
        return NULL;
    }
    if (!S_ISREG (st.st_mode) || st.st_uid != geteuid () || (st.st_mode & 077)) {
        zpar__errnoprintf (err, EPROTO,
                           "%s is not a private regular file of this user "
                           "(mode %03o, uid %u): refusing it",
                           w->path, (unsigned)(st.st_mode & 0777), (unsigned)st.st_uid);
        goto error;
    }
    cap = (size_t)ZPAR_WIREUP_BLOB_MAX + 128;
    if (!(buf = malloc (cap + 1))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        goto error;
    }
    while (len < cap && (r = read (fd, buf + len, cap - len)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            zpar__errprintf (err, "read %s: %s", w->path, strerror (errno));
            goto error;
        }
        len += (size_t)r;
    }
    close (fd);
    fd = -1;
    buf[len] = '\0';
    if (strlen (buf) != len || !(nl = strchr (buf, '\n')) ||
        strncmp (buf, FILE_MAGIC " size=", strlen (FILE_MAGIC " size=")) != 0) {
        zpar__errnoprintf (err, EPROTO, "%s is not a zpar wire-up file", w->path);
        goto error;
    }
    *nl = '\0';
    if (zpar__wireup_parse_uint (buf + strlen (FILE_MAGIC " size="), &fsize) < 0 ||
        fsize != w->size) {
        zpar__errnoprintf (err, EPROTO,
                           "%s was written by a job of another size ('%s', this "
                           "job has %d ranks): two jobs share the key '%s'",
                           w->path, buf, w->size, w->key);
        goto error;
    }
    if (nl[1] == '\0' || len - (size_t)(nl + 1 - buf) > ZPAR_WIREUP_BLOB_MAX) {
        zpar__errnoprintf (err, EPROTO, "%s: empty or oversized blob", w->path);
        goto error;
    }
    memmove (buf, nl + 1, strlen (nl + 1) + 1);
    return buf;
error : {
    int saved = errno;
    if (fd >= 0)
        close (fd);
    free (buf);
    errno = saved;
}
    return NULL;
}

char *zpar__wireup_file_fetch (zpar_wireup_t *w, zpar_error_t *err)
{
    double deadline = zpar__mono_s () + w->timeout_ms / 1000.0;
    int delay = 5;
    char *s;

    for (;;) {
        zpar_error_t e = {{0}};
        if ((s = file_try_read (w, &e)))
            return s;
        if (errno != ENOENT) {
            if (err)
                *err = e;
            return NULL;
        }
        if (zpar__mono_s () >= deadline) {
            zpar__errnoprintf (err, ETIMEDOUT,
                               "timed out after %.1f s waiting for rank 0's "
                               "connection file %s: is rank 0 (the controller) running, and "
                               "is --connection-dir shared by all nodes?",
                               w->timeout_ms / 1000.0, w->path);
            return NULL;
        }
        zpar__sleep_s (delay / 1000.0);
        if (delay < 200)
            delay *= 2;
    }
}
