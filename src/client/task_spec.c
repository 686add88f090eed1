/* task_spec.c - a function task from "LIB.so:SYMBOL" and an input file
 * (zpar_task_function_spec, zpar_read_file), an environment entry from
 * "NAME=VALUE" (zpar_task_putenv). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "zpar.h"

ZPAR_API int zpar_read_file (const char *path, void **data, size_t *len)
{
    FILE *f;
    char *buf = NULL;
    size_t n = 0, cap = 0;

    if (!path || !data || !len) {
        errno = EINVAL;
        return -1;
    }
    if (!(f = strcmp (path, "-") ? fopen (path, "rb") : stdin))
        return -1;
    for (;;) {
        size_t got;
        if (n == cap) {
            char *nb = realloc (buf, cap ? cap * 2 : 65536);
            if (!nb) {
                errno = ENOMEM;
                goto error;
            }
            buf = nb;
            cap = cap ? cap * 2 : 65536;
        }
        if ((got = fread (buf + n, 1, cap - n, f)) == 0)
            break;
        n += got;
    }
    if (ferror (f)) {
        errno = errno ? errno : EIO;
        goto error;
    }
    if (f != stdin)
        fclose (f);
    *data = buf;
    *len = n;
    return 0;
error : {
    int e = errno;
    free (buf);
    if (f != stdin)
        fclose (f);
    errno = e;
    return -1;
}
}

ZPAR_API zpar_task_t *zpar_task_function_spec (const char *spec, const char *input_file,
                                               zpar_error_t *err)
{
    const char *colon = spec ? strrchr (spec, ':') : NULL;
    size_t len = colon ? (size_t)(colon - spec) : 0;
    char lib[PATH_MAX];
    void *in = NULL;
    size_t inlen = 0;
    zpar_task_t *t;

    if (!colon || !len || !colon[1] || len >= sizeof (lib)) {
        zpar__errnoprintf (err, EINVAL, "%s: give LIB.so:SYMBOL, e.g. ./libwork.so:square",
                           spec ? spec : "(null)");
        return NULL;
    }
    memcpy (lib, spec, len);
    lib[len] = '\0';
    if (strchr (lib, '/')) {
        char abs[PATH_MAX];
        if (!realpath (lib, abs)) {
            zpar__errnoprintf (err, errno, "cannot find the library %s: %s", lib, strerror (errno));
            return NULL;
        }
        snprintf (lib, sizeof (lib), "%s", abs);
    }
    if (input_file && zpar_read_file (input_file, &in, &inlen) < 0) {
        zpar__errnoprintf (err, errno, "input %s: %s", input_file, strerror (errno));
        return NULL;
    }
    if (!(t = zpar_task_function (lib, colon + 1, in, inlen)))
        zpar__errnoprintf (err, errno, "cannot describe the function task: %s", strerror (errno));
    free (in);
    return t;
}

ZPAR_API int zpar_task_putenv (zpar_task_t *t, const char *entry)
{
    const char *eq = entry ? strchr (entry, '=') : NULL;
    char name[256];
    size_t len = eq ? (size_t)(eq - entry) : 0;
    if (!t || !len || len >= sizeof (name)) {
        errno = EINVAL;
        return -1;
    }
    memcpy (name, entry, len);
    name[len] = '\0';
    return zpar_task_setenv (t, name, eq + 1);
}
