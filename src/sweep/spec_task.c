/* spec_task.c - a point of a sweep made concrete: argv, environment,
 * working directory, output files, parameters as JSON, stable key. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "estimate.h"
#include "json.h"
#include "spec_internal.h"

void zpar__sweep_task_destroy (zpar_sweep_task_t *t)
{
    if (t) {
        int saved = errno;
        zpar__argv_destroy (t->argv);
        zpar__argv_destroy (t->env);
        free (t->workdir);
        free (t->stdout_path);
        free (t->stderr_path);
        free (t->params_json);
        free (t);
        errno = saved;
    }
}

static void hash_str (crypto_hash_sha256_state *h, const char *s)
{
    crypto_hash_sha256_update (h, (const unsigned char *)s, strlen (s) + 1);
}

static char *params_json (const zpar_sweep_spec_t *s, const zpar_sweep_point_t *pt)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&out, &len);
    if (!f)
        return NULL;
    fputc ('{', f);
    for (size_t i = 0; i < pt->nvalues; i++) {
        const char *name = zpar__sweep_space_param_name (s->space, i);
        if (i)
            fputc (',', f);
        zpar__json_put_str (f, name, strlen (name));
        fputc (':', f);
        if (pt->types[i] == ZPAR_SWEEP_STRING)
            zpar__json_put_str (f, pt->values[i], strlen (pt->values[i]));
        else
            fputs (pt->values[i], f);
    }
    fputc ('}', f);
    if (fclose (f) != 0) {
        free (out);
        return NULL;
    }
    return out;
}

zpar_sweep_task_t *zpar__sweep_spec_task (const zpar_sweep_spec_t *s, const zpar_sweep_point_t *pt,
                                          zpar_error_t *err)
{
    zpar_sweep_task_t *t = NULL;
    const char **vals = NULL;
    char idx[32], *x = NULL, *wd = NULL;
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state h;
    size_t np;

    if (!s || !pt || pt->nvalues != (np = zpar__sweep_space_nparams (s->space))) {
        zpar__errnoprintf (err, EINVAL, "invalid argument");
        return NULL;
    }
    if (!(t = calloc (1, sizeof (*t))) || !(vals = calloc (s->nnames, sizeof (*vals))))
        goto nomem;
    snprintf (idx, sizeof (idx), "%llu", (unsigned long long)pt->index);
    for (size_t i = 0; i < np; i++)
        vals[i] = pt->values[i];
    vals[np] = idx;
    vals[np + 1] = s->name;
    t->index = pt->index;

    /* argv */
    if (s->shell) {
        if (!(t->argv = calloc (4, sizeof (char *))) || !(t->argv[0] = strdup ("/bin/sh")) ||
            !(t->argv[1] = strdup ("-c")) ||
            !(t->argv[2] = zpar__tmpl_expand (s->argv[0], vals, ZPAR_TMPL_SHELL)))
            goto nomem;
        t->argc = 3;
    } else {
        if (!(t->argv = calloc (s->argc + 1, sizeof (char *))))
            goto nomem;
        for (size_t i = 0; i < s->argc; i++)
            if (!(t->argv[i] = zpar__tmpl_expand (s->argv[i], vals, ZPAR_TMPL_RAW)))
                goto nomem;
        t->argc = s->argc;
    }
    /* env */
    if (!(t->env = calloc (s->nenv + 1, sizeof (char *))))
        goto nomem;
    for (size_t i = 0; i < s->nenv; i++) {
        if (!(x = zpar__tmpl_expand (s->env[i], vals, ZPAR_TMPL_RAW)) ||
            asprintf (&t->env[i], "%s=%s", s->env_names[i], x) < 0) {
            t->env[i] = NULL;
            goto nomem;
        }
        free (x);
        x = NULL;
        t->nenv = i + 1;
    }
    /* paths: a value never leaves its directory (checked when loading for
     * stored values; computed values are numbers) */
    for (size_t i = 0; i < np; i++)
        if ((s->workdir && zpar__tmpl_uses (s->workdir, i)) || zpar__tmpl_uses (s->stdout_t, i) ||
            zpar__tmpl_uses (s->stderr_t, i))
            if (zpar__spec_path_value_ok (vals[i]) < 0) {
                zpar__errnoprintf (err, EINVAL,
                                   "point %" PRIu64 ": value '%s' of {%s} cannot go into a path "
                                   "(it holds '/' or is '..')",
                                   pt->index, vals[i], zpar__sweep_space_param_name (s->space, i));
                goto error;
            }
    /* the key hashes the workdir as written (expanded, not made absolute)
     * so that moving a sweep directory keeps its keys */
    if (!(wd = s->workdir ? zpar__tmpl_expand (s->workdir, vals, ZPAR_TMPL_RAW) : strdup ("")) ||
        !(t->workdir = (wd[0] ? zpar__spec_join (s->dir, wd) : strdup (s->dir))))
        goto nomem;
    if (!(x = zpar__tmpl_expand (s->stdout_t, vals, ZPAR_TMPL_RAW)) ||
        !(t->stdout_path = zpar__spec_join (s->output_dir, x)))
        goto nomem;
    free (x);
    if (!(x = zpar__tmpl_expand (s->stderr_t, vals, ZPAR_TMPL_RAW)) ||
        !(t->stderr_path = zpar__spec_join (s->output_dir, x)))
        goto nomem;
    free (x);
    x = NULL;
    if (!(t->params_json = params_json (s, pt)))
        goto nomem;
    if ((t->has_res = zpar__sweep_spec_res (s, vals, pt->index, &t->res, err)) < 0)
        goto error;
    t->estimate = -1;
    if (s->estimate) {
        double v;
        if (!(x = zpar__tmpl_expand (s->estimate, vals, ZPAR_TMPL_RAW)))
            goto nomem;
        if (zpar__estimate_eval (x, &v, NULL) == 0)
            t->estimate = v;
        free (x);
        x = NULL;
    }

    /* key */
    crypto_hash_sha256_init (&h);
    hash_str (&h, "zpar-sweep-key/1");
    for (size_t i = 0; i < np; i++) {
        hash_str (&h, zpar__sweep_space_param_name (s->space, i));
        hash_str (&h, pt->values[i]);
    }
    hash_str (&h, s->shell ? "\001shell" : "\001argv");
    for (size_t i = 0; i < t->argc; i++)
        hash_str (&h, t->argv[i]);
    hash_str (&h, "\001env");
    for (size_t i = 0; i < t->nenv; i++)
        hash_str (&h, t->env[i]);
    hash_str (&h, "\001workdir");
    hash_str (&h, wd);
    crypto_hash_sha256_final (&h, hash);
    sodium_bin2hex (t->key, sizeof (t->key), hash, sizeof (hash));
    free (wd);
    free (vals);
    return t;
nomem:
    zpar__errnoprintf (err, ENOMEM, "out of memory");
error:
    free (x);
    free (wd);
    free (vals);
    zpar__sweep_task_destroy (t);
    return NULL;
}
