/* spec_params.c - the params, combine and exclude keys of a sweep file:
 * value lists, range/linspace/logspace/file forms, values files,
 * exclusions. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "json.h"
#include "spec_internal.h"

/* Values files larger than this are refused. */
#define VALUES_FILE_MAX (256 * 1024 * 1024)

static const char *form_keys[] = {"range", "linspace", "logspace", "file"};

/* Names a parameter may not take: the built-in placeholders and the fixed
 * columns of the report. */
static const char *reserved[] = {
    "index",  "name",       "key",    "state", "exit_code", "signal", "attempts",
    "wall_s", "max_rss_kb", "engine", "host",  "stdout",    "stderr",
};

static int scalar_value (ctx_t *c, yaml_node_t *n, const char *what, char *canon, size_t size,
                         const char **text, zpar_sweep_vtype_t *type)
{
    if (zpar__spec_want_scalar (c, n, what) < 0)
        return -1;
    if (is_plain (n) && n->data.scalar.length == 0)
        return zpar__spec_fail (c, n->start_mark, EINVAL,
                                "%s is empty (write \"\" for an empty string)", what);
    if (is_plain (n) && zpar__sweep_number_parse (sval (n), canon, size, type, NULL) == 0) {
        *text = canon;
        return 0;
    }
    *text = sval (n);
    *type = ZPAR_SWEEP_STRING;
    return 0;
}

static int number_arg (ctx_t *c, yaml_node_t *n, const char *what, double *v,
                       zpar_sweep_vtype_t *type)
{
    char canon[ZPAR_SWEEP_NUM_MAX];
    if (n->type != YAML_SCALAR_NODE || !is_plain (n) ||
        zpar__sweep_number_parse (sval (n), canon, sizeof (canon), type, v) < 0)
        return zpar__spec_fail (c, n->start_mark, EINVAL, "%s must be a number", what);
    return 0;
}

static zpar_sweep_param_t *load_values_file (ctx_t *c, const char *pname, yaml_node_t *n)
{
    char what[128], *full = NULL, *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    FILE *f = NULL;
    struct stat st;
    zpar_sweep_param_t *p = NULL;

    snprintf (what, sizeof (what), "params.%s.file", pname);
    if (zpar__spec_want_string (c, n, what) < 0)
        return NULL;
    if (!(full = zpar__spec_join (c->spec->dir, sval (n)))) {
        zpar__spec_fail (c, n->start_mark, ENOMEM, "out of memory");
        return NULL;
    }
    if (!(f = fopen (full, "r")) || fstat (fileno (f), &st) < 0) {
        zpar__spec_fail (c, n->start_mark, errno, "%s: cannot read values file '%s': %s", what,
                         full, strerror (errno));
        goto error;
    }
    if (!S_ISREG (st.st_mode) || st.st_size > VALUES_FILE_MAX) {
        zpar__spec_fail (c, n->start_mark, EINVAL,
                         "%s: '%s' is not a regular file of at most 256 MiB", what, full);
        goto error;
    }
    if (!(p = zpar__sweep_param_list_create (pname)))
        goto nomem;
    errno = 0;
    while ((len = getline (&line, &cap, f)) >= 0) {
        size_t l, col;
        int bad;
        lineno++;
        if (zpar__spec_check_utf8 (line, (size_t)len, &l, &col, &bad) < 0) {
            zpar__spec_fail (c, n->start_mark, EINVAL, "%s: %s:%zu:%zu: %s", what, full, lineno,
                             col, bad ? "invalid UTF-8" : "NUL byte");
            goto error;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (strspn (line, " \t\r\f\v") == (size_t)len)
            continue;
        if (zpar__sweep_param_list_append (p, line, ZPAR_SWEEP_STRING) < 0)
            goto nomem;
    }
    if (ferror (f)) {
        zpar__spec_fail (c, n->start_mark, EIO, "%s: error reading '%s'", what, full);
        goto error;
    }
    if (zpar__sweep_param_count (p) == 0) {
        zpar__spec_fail (c, n->start_mark, EINVAL, "%s: '%s' has no values (only blank lines)",
                         what, full);
        goto error;
    }
    free (line);
    free (full);
    fclose (f);
    return p;
nomem:
    zpar__spec_fail (c, n->start_mark, ENOMEM, "out of memory");
error:
    free (line);
    free (full);
    if (f)
        fclose (f);
    zpar__sweep_param_destroy (p);
    return NULL;
}

static zpar_sweep_param_t *load_form (ctx_t *c, const char *pname, yaml_node_t *map)
{
    yaml_node_t *found[4], *keys[4], *v = NULL, *k = NULL;
    char where[96], what[128];
    zpar_error_t sub = {{0}};
    zpar_sweep_param_t *p = NULL;
    size_t form = 0, nset = 0;

    snprintf (where, sizeof (where), "params.%s: ", pname);
    if (zpar__spec_check_keys (c, map, where, form_keys, 4, found, keys) < 0)
        return NULL;
    for (size_t i = 0; i < 4; i++)
        if (found[i]) {
            nset++;
            form = i;
            v = found[i];
            k = keys[i];
        }
    if (nset != 1) {
        zpar__spec_fail (
            c, map->start_mark, EINVAL,
            "params.%s: give exactly one of range, linspace, logspace, file (or a list of "
            "values)",
            pname);
        return NULL;
    }
    if (form == 3)
        return load_values_file (c, pname, v);
    snprintf (what, sizeof (what), "params.%s.%s", pname, form_keys[form]);
    if (v->type != YAML_SEQUENCE_NODE) {
        zpar__spec_fail (c, v->start_mark, EINVAL, "%s must be a list, not %s", what,
                         type_name (v));
        return NULL;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    yaml_node_t *it[3] = {NULL, NULL, NULL};
    for (size_t i = 0; i < n && i < 3; i++)
        it[i] = node (c, v->data.sequence.items.start[i]);
    if (form == 0) {
        if (n < 2 || n > 3) {
            zpar__spec_fail (c, v->start_mark, EINVAL,
                             "%s must be [start, stop] or [start, stop, step]", what);
            return NULL;
        }
        for (size_t i = 0; i < n; i++) {
            double d;
            zpar_sweep_vtype_t t;
            if (number_arg (c, it[i], what, &d, &t) < 0)
                return NULL;
        }
        p = zpar__sweep_param_range_create (pname, sval (it[0]), sval (it[1]),
                                            n == 3 ? sval (it[2]) : NULL, &sub);
        if (!p) {
            zpar__spec_fail (c, errno == EINVAL && n == 3 ? it[2]->start_mark : v->start_mark,
                             errno, "%s: %s", what, sub.text);
            return NULL;
        }
        return p;
    } else {
        double a, b, cnt;
        zpar_sweep_vtype_t t;
        if (n != 3) {
            zpar__spec_fail (c, v->start_mark, EINVAL, "%s must be [%s, %s, count]", what,
                             form == 1 ? "first" : "first_exponent",
                             form == 1 ? "last" : "last_exponent");
            return NULL;
        }
        if (number_arg (c, it[0], what, &a, &t) < 0 || number_arg (c, it[1], what, &b, &t) < 0 ||
            number_arg (c, it[2], what, &cnt, &t) < 0)
            return NULL;
        if (t != ZPAR_SWEEP_INT || cnt < 1) {
            zpar__spec_fail (c, it[2]->start_mark, EINVAL, "%s: the count must be an integer >= 1",
                             what);
            return NULL;
        }
        if (cnt > (double)ZPAR_SWEEP_POINTS_MAX) {
            zpar__spec_fail (c, it[2]->start_mark, EOVERFLOW, "%s: the count is more than 2^62",
                             what);
            return NULL;
        }
        if (form == 1)
            p = zpar__sweep_param_linspace_create (pname, a, b, (int64_t)cnt, &sub);
        else
            p = zpar__sweep_param_logspace_create (pname, a, b, (int64_t)cnt, &sub);
        if (!p)
            zpar__spec_fail (c, v->start_mark, errno, "%s: %s", what, sub.text);
        (void)k;
        return p;
    }
}

int zpar__spec_load_params (ctx_t *c, yaml_node_t *map, yaml_node_t *combine)
{
    zpar_sweep_combine_t comb = ZPAR_SWEEP_PRODUCT;
    char canon[ZPAR_SWEEP_NUM_MAX], what[128];
    zpar_error_t sub = {{0}};

    if (combine) {
        if (zpar__spec_want_string (c, combine, "combine") < 0)
            return -1;
        if (strcmp (sval (combine), "zip") == 0)
            comb = ZPAR_SWEEP_ZIP;
        else if (strcmp (sval (combine), "product") != 0)
            return zpar__spec_fail (c, combine->start_mark, EINVAL,
                                    "combine must be 'product' or 'zip', not '%s'", sval (combine));
    }
    if (!(c->spec->space = zpar__sweep_space_create (comb)))
        return zpar__spec_fail (c, map->start_mark, ENOMEM, "out of memory");
    if (map->type != YAML_MAPPING_NODE)
        return zpar__spec_fail (c, map->start_mark, EINVAL,
                                "params must be a mapping of parameter names to values, not %s",
                                type_name (map));
    if (map->data.mapping.pairs.top == map->data.mapping.pairs.start)
        return zpar__spec_fail (c, map->start_mark, EINVAL,
                                "params is empty: the sweep has no points");
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = node (c, pr->key), *v = node (c, pr->value);
        zpar_sweep_param_t *p = NULL;
        const char *name;
        if (k->type != YAML_SCALAR_NODE)
            return zpar__spec_fail (c, k->start_mark, EINVAL, "parameter names must be scalars");
        name = sval (k);
        if (!is_ident (name) || strlen (name) > 60)
            return zpar__spec_fail (
                c, k->start_mark, EINVAL,
                "parameter name '%s' is invalid (use letters, digits and '_', not "
                "starting with a digit, at most 60 characters)",
                name);
        for (size_t i = 0; i < sizeof (reserved) / sizeof (reserved[0]); i++)
            if (strcmp (name, reserved[i]) == 0)
                return zpar__spec_fail (
                    c, k->start_mark, EINVAL,
                    "parameter name '%s' is reserved (a built-in placeholder or "
                    "report column); choose another name",
                    name);
        if (zpar__sweep_space_find (c->spec->space, name) >= 0)
            return zpar__spec_fail (c, k->start_mark, EINVAL, "parameter '%s' is defined twice",
                                    name);
        if (v->type == YAML_SEQUENCE_NODE) {
            if (!(p = zpar__sweep_param_list_create (name)))
                return zpar__spec_fail (c, v->start_mark, ENOMEM, "out of memory");
            snprintf (what, sizeof (what), "a value of params.%s", name);
            for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
                 i++) {
                yaml_node_t *e = node (c, *i);
                const char *text;
                zpar_sweep_vtype_t t;
                if (scalar_value (c, e, what, canon, sizeof (canon), &text, &t) < 0) {
                    zpar__sweep_param_destroy (p);
                    return -1;
                }
                if (zpar__sweep_param_list_append (p, text, t) < 0) {
                    zpar__sweep_param_destroy (p);
                    return zpar__spec_fail (c, e->start_mark, ENOMEM, "out of memory");
                }
            }
            if (zpar__sweep_param_count (p) == 0) {
                zpar__sweep_param_destroy (p);
                return zpar__spec_fail (c, v->start_mark, EINVAL,
                                        "params.%s is an empty list: the sweep has no points",
                                        name);
            }
        } else if (v->type == YAML_MAPPING_NODE) {
            if (!(p = load_form (c, name, v)))
                return -1;
        } else if (v->type == YAML_SCALAR_NODE && !(is_plain (v) && v->data.scalar.length == 0)) {
            /* a single value: a one-element list */
            const char *text;
            zpar_sweep_vtype_t t;
            snprintf (what, sizeof (what), "params.%s", name);
            if (scalar_value (c, v, what, canon, sizeof (canon), &text, &t) < 0)
                return -1;
            if (!(p = zpar__sweep_param_list_create (name)) ||
                zpar__sweep_param_list_append (p, text, t) < 0) {
                zpar__sweep_param_destroy (p);
                return zpar__spec_fail (c, v->start_mark, ENOMEM, "out of memory");
            }
        } else
            return zpar__spec_fail (c, v->start_mark, EINVAL,
                                    "params.%s must be a list of values or a mapping with range, "
                                    "linspace, logspace or file",
                                    name);
        if (zpar__sweep_space_add (c->spec->space, &p, &sub) < 0) {
            zpar__sweep_param_destroy (p);
            return zpar__spec_fail (c, k->start_mark, errno, "%s", sub.text);
        }
    }
    return 0;
}

/* 1 if p has the value text, 0 if not, -1 if that cannot be told (float
 * values that repeat: then a typo simply excludes nothing). */
static int value_exists (const zpar_sweep_param_t *p, const char *text)
{
    return zpar__sweep_param_has_value (p, text);
}

int zpar__spec_load_exclude (ctx_t *c, yaml_node_t *seq)
{
    zpar_sweep_space_t *s = c->spec->space;
    size_t np = zpar__sweep_space_nparams (s);
    const char **pnames = NULL;
    size_t *idx = NULL;
    const char **vals = NULL;
    char (*canon)[ZPAR_SWEEP_NUM_MAX] = NULL;
    zpar_error_t sub = {{0}};
    int rc = -1;

    if (seq->type != YAML_SEQUENCE_NODE)
        return zpar__spec_fail (c, seq->start_mark, EINVAL,
                                "exclude must be a list of mappings (parameter: value), not %s",
                                type_name (seq));
    if (!(pnames = calloc (np, sizeof (*pnames))) || !(idx = calloc (np, sizeof (*idx))) ||
        !(vals = calloc (np, sizeof (*vals))) || !(canon = calloc (np, sizeof (*canon)))) {
        zpar__spec_fail (c, seq->start_mark, ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < np; i++)
        pnames[i] = zpar__sweep_space_param_name (s, i);
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        yaml_node_t *m = node (c, *it);
        size_t n = 0, entry = (size_t)(it - seq->data.sequence.items.start);
        if (m->type != YAML_MAPPING_NODE ||
            m->data.mapping.pairs.top == m->data.mapping.pairs.start) {
            zpar__spec_fail (c, m->start_mark, EINVAL,
                             "exclude[%zu] must be a non-empty mapping of parameters to values",
                             entry);
            goto done;
        }
        for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top;
             pr++) {
            yaml_node_t *k = node (c, pr->key), *v = node (c, pr->value);
            char what[128];
            const char *text;
            zpar_sweep_vtype_t t;
            int pi, has;
            if (k->type != YAML_SCALAR_NODE || (pi = zpar__sweep_space_find (s, sval (k))) < 0) {
                const char *hint =
                    k->type == YAML_SCALAR_NODE ? zpar__tmpl_suggest (sval (k), pnames, np) : NULL;
                if (hint)
                    zpar__spec_fail (c, k->start_mark, EINVAL,
                                     "exclude[%zu]: unknown parameter '%s' (did you mean '%s'?)",
                                     entry, sval (k), hint);
                else
                    zpar__spec_fail (c, k->start_mark, EINVAL,
                                     "exclude[%zu]: unknown parameter '%s'", entry,
                                     k->type == YAML_SCALAR_NODE ? sval (k) : "?");
                goto done;
            }
            for (size_t j = 0; j < n; j++)
                if (idx[j] == (size_t)pi) {
                    zpar__spec_fail (c, k->start_mark, EINVAL, "exclude[%zu]: duplicate key '%s'",
                                     entry, sval (k));
                    goto done;
                }
            snprintf (what, sizeof (what), "exclude[%zu].%s", entry, sval (k));
            if (scalar_value (c, v, what, canon[n], sizeof (canon[n]), &text, &t) < 0)
                goto done;
            if ((has = value_exists (zpar__sweep_space_param (s, (size_t)pi), text)) < 0 &&
                errno == ENOMEM) {
                zpar__spec_fail (c, v->start_mark, ENOMEM, "out of memory");
                goto done;
            }
            if (has == 0) {
                zpar__spec_fail (c, v->start_mark, EINVAL, "%s: parameter '%s' has no value '%s'",
                                 what, sval (k), text);
                goto done;
            }
            idx[n] = (size_t)pi;
            vals[n] = text;
            n++;
        }
        if (zpar__sweep_space_exclude (s, n, idx, vals, &sub) < 0) {
            zpar__spec_fail (c, m->start_mark, errno, "exclude[%zu]: %s", entry, sub.text);
            goto done;
        }
    }
    rc = 0;
done:
    free (pnames);
    free (idx);
    free (vals);
    free (canon);
    return rc;
}
