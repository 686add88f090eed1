/* spec.c - loading and validating sweep files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <yaml.h>

#include "duration.h"
#include "error.h"
#include "json.h"
#include "params.h"
#include "spec.h"
#include "template.h"

/* Values files larger than this are refused. */
#define VALUES_FILE_MAX (256 * 1024 * 1024)

/* Exclusion values are checked against the parameter's values when it has
 * at most this many (beyond, a typo simply excludes nothing). */
#define EXCLUDE_CHECK_MAX 1000000

struct zpar_sweep_spec {
    char *path;
    char *dir;
    char *name;
    char *output_dir;
    char file_hash[ZPAR_SWEEP_KEY_SIZE];
    int shell;
    int retries;
    double timeout;
    zpar_sweep_space_t *space;
    size_t nnames;      /* parameters + "index" + "name" */
    const char **names; /* borrowed from the space, plus two literals */
    zpar_tmpl_t **argv;
    size_t argc;
    char **env_names;
    zpar_tmpl_t **env;
    size_t nenv;
    zpar_tmpl_t *workdir;
    zpar_tmpl_t *stdout_t;
    zpar_tmpl_t *stderr_t;
};

static const char *top_keys[] = {
    "name", "description", "command", "shell", "params", "combine", "exclude", "retries",
    "timeout", "env", "workdir", "output", "stdout", "stderr",
};
enum {
    K_NAME, K_DESCRIPTION, K_COMMAND, K_SHELL, K_PARAMS, K_COMBINE, K_EXCLUDE, K_RETRIES,
    K_TIMEOUT, K_ENV, K_WORKDIR, K_OUTPUT, K_STDOUT, K_STDERR, K_COUNT
};

static const char *form_keys[] = {"range", "linspace", "logspace", "file"};

/* Names a parameter may not take: the built-in placeholders and the fixed
 * columns of the report. */
static const char *reserved[] = {
    "index", "name", "key", "state", "exit_code", "signal", "attempts", "wall_s",
    "max_rss_kb", "engine", "host", "stdout", "stderr",
};

typedef struct {
    const char *path; /* as given, for messages */
    yaml_document_t *doc;
    zpar_error_t *err;
    zpar_sweep_spec_t *spec;
} ctx_t;

static int fail (ctx_t *c, yaml_mark_t m, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
static int fail (ctx_t *c, yaml_mark_t m, int errnum, const char *fmt, ...)
{
    char msg[ZPAR_ERROR_TEXT_MAX];
    va_list ap;
    va_start (ap, fmt);
    (void)vsnprintf (msg, sizeof (msg), fmt, ap);
    va_end (ap);
    return zpar__errnoprintf (c->err, errnum, "%s:%zu:%zu: %s", c->path, m.line + 1,
                              m.column + 1, msg);
}

/* Location of byte off inside scalar node n: exact for single-line plain
 * scalars, the start of the scalar otherwise. */
static yaml_mark_t mark_in (yaml_node_t *n, size_t off)
{
    yaml_mark_t m = n->start_mark;
    if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
        && !memchr (n->data.scalar.value, '\n', n->data.scalar.length))
        m.column += off;
    else if (n->type == YAML_SCALAR_NODE
             && (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE
                 || n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
             && !memchr (n->data.scalar.value, '\n', n->data.scalar.length)
             && !memchr (n->data.scalar.value, '\'', n->data.scalar.length)
             && !memchr (n->data.scalar.value, '\\', n->data.scalar.length))
        m.column += off + 1;
    return m;
}

static yaml_node_t *node (ctx_t *c, int id)
{
    return yaml_document_get_node (c->doc, id);
}

static const char *type_name (yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a scalar";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

static const char *sval (yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static int is_plain (yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int want_scalar (ctx_t *c, yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE)
        return fail (c, n->start_mark, EINVAL, "%s must be a scalar, not %s", what,
                     type_name (n));
    if (strlen (sval (n)) != n->data.scalar.length)
        return fail (c, n->start_mark, EINVAL, "%s contains a NUL character", what);
    return 0;
}

static int want_string (ctx_t *c, yaml_node_t *n, const char *what)
{
    if (want_scalar (c, n, what) < 0)
        return -1;
    if (is_plain (n) && n->data.scalar.length == 0)
        return fail (c, n->start_mark, EINVAL, "%s is empty", what);
    return 0;
}

static int is_ident (const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'
              || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

/* Reject unknown keys (with a suggestion) and duplicates; found[i] gets the
 * value node of keys[i] or NULL.  keynodes (optional) gets the key nodes. */
static int check_keys (ctx_t *c, yaml_node_t *map, const char *where, const char **keys,
                       size_t nkeys, yaml_node_t **found, yaml_node_t **keynodes)
{
    for (size_t i = 0; i < nkeys; i++) {
        found[i] = NULL;
        if (keynodes)
            keynodes[i] = NULL;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node (c, p->key);
        size_t i;
        if (k->type != YAML_SCALAR_NODE)
            return fail (c, k->start_mark, EINVAL, "%skeys must be scalars", where);
        for (i = 0; i < nkeys; i++)
            if (strcmp (sval (k), keys[i]) == 0)
                break;
        if (i == nkeys) {
            const char *hint = zpar__tmpl_suggest (sval (k), keys, nkeys);
            if (hint)
                return fail (c, k->start_mark, EINVAL, "%sunknown key '%s' (did you mean '%s'?)",
                             where, sval (k), hint);
            return fail (c, k->start_mark, EINVAL, "%sunknown key '%s'", where, sval (k));
        }
        if (found[i])
            return fail (c, k->start_mark, EINVAL, "%sduplicate key '%s'", where, sval (k));
        found[i] = node (c, p->value);
        if (keynodes)
            keynodes[i] = k;
    }
    return 0;
}

/* Check buf is UTF-8 without NUL bytes; on failure *line and *col (1-based,
 * columns in characters) locate the bad byte, *bad is its value. */
static int check_utf8 (const char *buf, size_t len, size_t *line, size_t *col, int *bad)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t i = 0;
    *line = 1;
    *col = 1;
    while (i < len) {
        size_t n = p[i] ? zpar__utf8_len (p + i, len - i) : 0;
        if (n == 0) {
            *bad = p[i];
            return -1;
        }
        if (p[i] == '\n') {
            (*line)++;
            *col = 1;
        }
        else
            (*col)++;
        i += n;
    }
    return 0;
}

/* --- paths -------------------------------------------------------------- */

static char *join (const char *dir, const char *rel)
{
    char *s;
    if (rel[0] == '/')
        return strdup (rel);
    if (asprintf (&s, "%s%s%s", dir, dir[strlen (dir) - 1] == '/' ? "" : "/", rel) < 0)
        return NULL;
    return s;
}

/* Absolute path of path and its directory, without requiring the file. */
static int abs_paths (const char *path, char **absp, char **dirp)
{
    char cwd[PATH_MAX], *abs = NULL, *dir = NULL, *slash, *real;
    if (path[0] == '/')
        abs = strdup (path);
    else if (getcwd (cwd, sizeof (cwd)))
        abs = join (cwd, path);
    else
        return -1;
    if (!abs)
        return -1;
    if (!(dir = strdup (abs)))
        goto error;
    slash = strrchr (dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    if ((real = realpath (dir, NULL))) {
        free (dir);
        dir = real;
    }
    *absp = abs;
    *dirp = dir;
    return 0;
error:
    free (abs);
    free (dir);
    return -1;
}

/* --- parameters --------------------------------------------------------- */

static int scalar_value (ctx_t *c, yaml_node_t *n, const char *what, char *canon, size_t size,
                         const char **text, zpar_sweep_vtype_t *type)
{
    if (want_scalar (c, n, what) < 0)
        return -1;
    if (is_plain (n) && n->data.scalar.length == 0)
        return fail (c, n->start_mark, EINVAL, "%s is empty (write \"\" for an empty string)",
                     what);
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
    if (n->type != YAML_SCALAR_NODE || !is_plain (n)
        || zpar__sweep_number_parse (sval (n), canon, sizeof (canon), type, v) < 0)
        return fail (c, n->start_mark, EINVAL, "%s must be a number", what);
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
    if (want_string (c, n, what) < 0)
        return NULL;
    if (!(full = join (c->spec->dir, sval (n)))) {
        fail (c, n->start_mark, ENOMEM, "out of memory");
        return NULL;
    }
    if (!(f = fopen (full, "r")) || fstat (fileno (f), &st) < 0) {
        fail (c, n->start_mark, errno, "%s: cannot read values file '%s': %s", what, full,
              strerror (errno));
        goto error;
    }
    if (!S_ISREG (st.st_mode) || st.st_size > VALUES_FILE_MAX) {
        fail (c, n->start_mark, EINVAL, "%s: '%s' is not a regular file of at most 256 MiB",
              what, full);
        goto error;
    }
    if (!(p = zpar__sweep_param_list_create (pname)))
        goto nomem;
    errno = 0;
    while ((len = getline (&line, &cap, f)) >= 0) {
        size_t l, col;
        int bad;
        lineno++;
        if (check_utf8 (line, (size_t)len, &l, &col, &bad) < 0) {
            fail (c, n->start_mark, EINVAL, "%s: %s:%zu:%zu: %s", what, full, lineno, col,
                  bad ? "invalid UTF-8" : "NUL byte");
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
        fail (c, n->start_mark, EIO, "%s: error reading '%s'", what, full);
        goto error;
    }
    if (zpar__sweep_param_count (p) == 0) {
        fail (c, n->start_mark, EINVAL, "%s: '%s' has no values (only blank lines)", what,
              full);
        goto error;
    }
    free (line);
    free (full);
    fclose (f);
    return p;
nomem:
    fail (c, n->start_mark, ENOMEM, "out of memory");
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
    if (check_keys (c, map, where, form_keys, 4, found, keys) < 0)
        return NULL;
    for (size_t i = 0; i < 4; i++)
        if (found[i]) {
            nset++;
            form = i;
            v = found[i];
            k = keys[i];
        }
    if (nset != 1) {
        fail (c, map->start_mark, EINVAL,
              "params.%s: give exactly one of range, linspace, logspace, file (or a list of "
              "values)", pname);
        return NULL;
    }
    if (form == 3)
        return load_values_file (c, pname, v);
    snprintf (what, sizeof (what), "params.%s.%s", pname, form_keys[form]);
    if (v->type != YAML_SEQUENCE_NODE) {
        fail (c, v->start_mark, EINVAL, "%s must be a list, not %s", what, type_name (v));
        return NULL;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    yaml_node_t *it[3] = {NULL, NULL, NULL};
    for (size_t i = 0; i < n && i < 3; i++)
        it[i] = node (c, v->data.sequence.items.start[i]);
    if (form == 0) {
        if (n < 2 || n > 3) {
            fail (c, v->start_mark, EINVAL, "%s must be [start, stop] or [start, stop, step]",
                  what);
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
            fail (c, errno == EINVAL && n == 3 ? it[2]->start_mark : v->start_mark, errno,
                  "%s: %s", what, sub.text);
            return NULL;
        }
        return p;
    }
    else {
        double a, b, cnt;
        zpar_sweep_vtype_t t;
        if (n != 3) {
            fail (c, v->start_mark, EINVAL, "%s must be [%s, %s, count]", what,
                  form == 1 ? "first" : "first_exponent", form == 1 ? "last" : "last_exponent");
            return NULL;
        }
        if (number_arg (c, it[0], what, &a, &t) < 0 || number_arg (c, it[1], what, &b, &t) < 0
            || number_arg (c, it[2], what, &cnt, &t) < 0)
            return NULL;
        if (t != ZPAR_SWEEP_INT || cnt < 1) {
            fail (c, it[2]->start_mark, EINVAL, "%s: the count must be an integer >= 1", what);
            return NULL;
        }
        if (form == 1)
            p = zpar__sweep_param_linspace_create (pname, a, b, (int64_t)cnt, &sub);
        else
            p = zpar__sweep_param_logspace_create (pname, a, b, (int64_t)cnt, &sub);
        if (!p)
            fail (c, v->start_mark, errno, "%s: %s", what, sub.text);
        (void)k;
        return p;
    }
}

static int load_params (ctx_t *c, yaml_node_t *map, yaml_node_t *combine)
{
    zpar_sweep_combine_t comb = ZPAR_SWEEP_PRODUCT;
    char canon[ZPAR_SWEEP_NUM_MAX], what[128];
    zpar_error_t sub = {{0}};

    if (combine) {
        if (want_string (c, combine, "combine") < 0)
            return -1;
        if (strcmp (sval (combine), "zip") == 0)
            comb = ZPAR_SWEEP_ZIP;
        else if (strcmp (sval (combine), "product") != 0)
            return fail (c, combine->start_mark, EINVAL,
                         "combine must be 'product' or 'zip', not '%s'", sval (combine));
    }
    if (!(c->spec->space = zpar__sweep_space_create (comb)))
        return fail (c, map->start_mark, ENOMEM, "out of memory");
    if (map->type != YAML_MAPPING_NODE)
        return fail (c, map->start_mark, EINVAL,
                     "params must be a mapping of parameter names to values, not %s",
                     type_name (map));
    if (map->data.mapping.pairs.top == map->data.mapping.pairs.start)
        return fail (c, map->start_mark, EINVAL, "params is empty: the sweep has no points");
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = node (c, pr->key), *v = node (c, pr->value);
        zpar_sweep_param_t *p = NULL;
        const char *name;
        if (k->type != YAML_SCALAR_NODE)
            return fail (c, k->start_mark, EINVAL, "parameter names must be scalars");
        name = sval (k);
        if (!is_ident (name) || strlen (name) > 60)
            return fail (c, k->start_mark, EINVAL,
                         "parameter name '%s' is invalid (use letters, digits and '_', not "
                         "starting with a digit, at most 60 characters)", name);
        for (size_t i = 0; i < sizeof (reserved) / sizeof (reserved[0]); i++)
            if (strcmp (name, reserved[i]) == 0)
                return fail (c, k->start_mark, EINVAL,
                             "parameter name '%s' is reserved (a built-in placeholder or "
                             "report column); choose another name", name);
        if (zpar__sweep_space_find (c->spec->space, name) >= 0)
            return fail (c, k->start_mark, EINVAL, "parameter '%s' is defined twice", name);
        if (v->type == YAML_SEQUENCE_NODE) {
            if (!(p = zpar__sweep_param_list_create (name)))
                return fail (c, v->start_mark, ENOMEM, "out of memory");
            snprintf (what, sizeof (what), "a value of params.%s", name);
            for (yaml_node_item_t *i = v->data.sequence.items.start;
                 i < v->data.sequence.items.top; i++) {
                yaml_node_t *e = node (c, *i);
                const char *text;
                zpar_sweep_vtype_t t;
                if (scalar_value (c, e, what, canon, sizeof (canon), &text, &t) < 0) {
                    zpar__sweep_param_destroy (p);
                    return -1;
                }
                if (zpar__sweep_param_list_append (p, text, t) < 0) {
                    zpar__sweep_param_destroy (p);
                    return fail (c, e->start_mark, ENOMEM, "out of memory");
                }
            }
            if (zpar__sweep_param_count (p) == 0) {
                zpar__sweep_param_destroy (p);
                return fail (c, v->start_mark, EINVAL,
                             "params.%s is an empty list: the sweep has no points", name);
            }
        }
        else if (v->type == YAML_MAPPING_NODE) {
            if (!(p = load_form (c, name, v)))
                return -1;
        }
        else if (v->type == YAML_SCALAR_NODE && !(is_plain (v) && v->data.scalar.length == 0)) {
            /* a single value: a one-element list */
            const char *text;
            zpar_sweep_vtype_t t;
            snprintf (what, sizeof (what), "params.%s", name);
            if (scalar_value (c, v, what, canon, sizeof (canon), &text, &t) < 0)
                return -1;
            if (!(p = zpar__sweep_param_list_create (name))
                || zpar__sweep_param_list_append (p, text, t) < 0) {
                zpar__sweep_param_destroy (p);
                return fail (c, v->start_mark, ENOMEM, "out of memory");
            }
        }
        else
            return fail (c, v->start_mark, EINVAL,
                         "params.%s must be a list of values or a mapping with range, "
                         "linspace, logspace or file", name);
        if (zpar__sweep_space_add (c->spec->space, &p, &sub) < 0) {
            zpar__sweep_param_destroy (p);
            return fail (c, k->start_mark, errno, "%s", sub.text);
        }
    }
    return 0;
}

static int value_exists (const zpar_sweep_param_t *p, const char *text, int *checked)
{
    char buf[ZPAR_SWEEP_NUM_MAX];
    uint64_t n = zpar__sweep_param_count (p);
    zpar_sweep_vtype_t t;
    *checked = n <= EXCLUDE_CHECK_MAX;
    for (uint64_t i = 0; *checked && i < n; i++)
        if (strcmp (zpar__sweep_param_value (p, i, buf, sizeof (buf), &t), text) == 0)
            return 1;
    return 0;
}

static int load_exclude (ctx_t *c, yaml_node_t *seq)
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
        return fail (c, seq->start_mark, EINVAL,
                     "exclude must be a list of mappings (parameter: value), not %s",
                     type_name (seq));
    if (!(pnames = calloc (np, sizeof (*pnames))) || !(idx = calloc (np, sizeof (*idx)))
        || !(vals = calloc (np, sizeof (*vals))) || !(canon = calloc (np, sizeof (*canon)))) {
        fail (c, seq->start_mark, ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < np; i++)
        pnames[i] = zpar__sweep_space_param_name (s, i);
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        yaml_node_t *m = node (c, *it);
        size_t n = 0, entry = (size_t)(it - seq->data.sequence.items.start);
        if (m->type != YAML_MAPPING_NODE || m->data.mapping.pairs.top == m->data.mapping.pairs.start) {
            fail (c, m->start_mark, EINVAL,
                  "exclude[%zu] must be a non-empty mapping of parameters to values", entry);
            goto done;
        }
        for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top;
             pr++) {
            yaml_node_t *k = node (c, pr->key), *v = node (c, pr->value);
            char what[128];
            const char *text;
            zpar_sweep_vtype_t t;
            int pi, checked;
            if (k->type != YAML_SCALAR_NODE
                || (pi = zpar__sweep_space_find (s, sval (k))) < 0) {
                const char *hint = k->type == YAML_SCALAR_NODE
                                       ? zpar__tmpl_suggest (sval (k), pnames, np) : NULL;
                if (hint)
                    fail (c, k->start_mark, EINVAL,
                          "exclude[%zu]: unknown parameter '%s' (did you mean '%s'?)", entry,
                          sval (k), hint);
                else
                    fail (c, k->start_mark, EINVAL, "exclude[%zu]: unknown parameter '%s'",
                          entry, k->type == YAML_SCALAR_NODE ? sval (k) : "?");
                goto done;
            }
            for (size_t j = 0; j < n; j++)
                if (idx[j] == (size_t)pi) {
                    fail (c, k->start_mark, EINVAL, "exclude[%zu]: duplicate key '%s'", entry,
                          sval (k));
                    goto done;
                }
            snprintf (what, sizeof (what), "exclude[%zu].%s", entry, sval (k));
            if (scalar_value (c, v, what, canon[n], sizeof (canon[n]), &text, &t) < 0)
                goto done;
            if (!value_exists (zpar__sweep_space_param (s, (size_t)pi), text, &checked)
                && checked) {
                fail (c, v->start_mark, EINVAL, "%s: parameter '%s' has no value '%s'", what,
                      sval (k), text);
                goto done;
            }
            idx[n] = (size_t)pi;
            vals[n] = text;
            n++;
        }
        if (zpar__sweep_space_exclude (s, n, idx, vals, &sub) < 0) {
            fail (c, m->start_mark, errno, "exclude[%zu]: %s", entry, sub.text);
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

/* --- templates ---------------------------------------------------------- */

static zpar_tmpl_t *compile (ctx_t *c, yaml_node_t *n, const char *what, const char *text,
                             const char **names, size_t nnames)
{
    zpar_error_t sub = {{0}};
    size_t off = 0;
    zpar_tmpl_t *t = zpar__tmpl_compile (text, names, nnames, &off, &sub);
    if (!t)
        fail (c, mark_in (n, off), errno, "%s: %s", what, sub.text);
    return t;
}

static zpar_tmpl_t *compile_node (ctx_t *c, yaml_node_t *n, const char *what)
{
    zpar_sweep_spec_t *s = c->spec;
    if (want_string (c, n, what) < 0)
        return NULL;
    return compile (c, n, what, sval (n), s->names, s->nnames);
}

static int load_command (ctx_t *c, yaml_node_t *n)
{
    zpar_sweep_spec_t *s = c->spec;
    char **words = NULL;
    size_t nwords = 0, off = 0;
    zpar_error_t sub = {{0}};
    int rc = -1;

    if (n->type == YAML_SEQUENCE_NODE) {
        size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        if (s->shell)
            return fail (c, n->start_mark, EINVAL,
                         "with shell: true, command must be one string, not a list");
        if (cnt == 0)
            return fail (c, n->start_mark, EINVAL, "command is an empty list");
        if (!(s->argv = calloc (cnt, sizeof (*s->argv))))
            return fail (c, n->start_mark, ENOMEM, "out of memory");
        for (size_t i = 0; i < cnt; i++) {
            yaml_node_t *e = node (c, n->data.sequence.items.start[i]);
            char what[48];
            snprintf (what, sizeof (what), "command[%zu]", i);
            if (want_scalar (c, e, what) < 0)
                return -1;
            if (!(s->argv[i] = compile (c, e, what, sval (e), s->names, s->nnames)))
                return -1;
            s->argc = i + 1;
        }
        return 0;
    }
    if (want_string (c, n, "command") < 0)
        return -1;
    /* Check the placeholders on the whole string first, so that a bad one
     * is reported at its exact place. */
    zpar_tmpl_t *whole = compile (c, n, "command", sval (n), s->names, s->nnames);
    if (!whole)
        return -1;
    if (s->shell) {
        if (!(s->argv = calloc (1, sizeof (*s->argv)))) {
            zpar__tmpl_destroy (whole);
            return fail (c, n->start_mark, ENOMEM, "out of memory");
        }
        s->argv[0] = whole;
        s->argc = 1;
        return 0;
    }
    zpar__tmpl_destroy (whole);
    if (zpar__tmpl_split (sval (n), &words, &nwords, &off, &sub) < 0)
        return fail (c, mark_in (n, off), errno, "command: %s", sub.text);
    if (nwords == 0) {
        fail (c, n->start_mark, EINVAL, "command is empty");
        goto done;
    }
    if (!(s->argv = calloc (nwords, sizeof (*s->argv)))) {
        fail (c, n->start_mark, ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nwords; i++) {
        if (!(s->argv[i] = compile (c, n, "command", words[i], s->names, s->nnames)))
            goto done;
        s->argc = i + 1;
    }
    rc = 0;
done:
    zpar__argv_destroy (words);
    return rc;
}

static int load_env (ctx_t *c, yaml_node_t *map)
{
    zpar_sweep_spec_t *s = c->spec;
    size_t n;
    if (map->type != YAML_MAPPING_NODE)
        return fail (c, map->start_mark, EINVAL, "env must be a mapping (NAME: value), not %s",
                     type_name (map));
    n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (n == 0)
        return 0;
    if (!(s->env_names = calloc (n, sizeof (char *))) || !(s->env = calloc (n, sizeof (*s->env))))
        return fail (c, map->start_mark, ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *pr = map->data.mapping.pairs.start + i;
        yaml_node_t *k = node (c, pr->key), *v = node (c, pr->value);
        char what[96];
        if (k->type != YAML_SCALAR_NODE || !is_ident (sval (k)))
            return fail (c, k->start_mark, EINVAL,
                         "env: '%s' is not a valid variable name (letters, digits, '_')",
                         k->type == YAML_SCALAR_NODE ? sval (k) : "?");
        for (size_t j = 0; j < i; j++)
            if (strcmp (s->env_names[j], sval (k)) == 0)
                return fail (c, k->start_mark, EINVAL, "env: duplicate variable '%s'", sval (k));
        snprintf (what, sizeof (what), "env.%s", sval (k));
        if (want_scalar (c, v, what) < 0)
            return -1;
        if (!(s->env_names[i] = strdup (sval (k))))
            return fail (c, k->start_mark, ENOMEM, "out of memory");
        s->nenv = i + 1;
        if (!(s->env[i] = compile (c, v, what, sval (v), s->names, s->nnames)))
            return -1;
    }
    return 0;
}

/* --- loading ------------------------------------------------------------ */

static int default_name (zpar_sweep_spec_t *s)
{
    const char *base = strrchr (s->path, '/');
    char *dot;
    base = base ? base + 1 : s->path;
    if (!(s->name = strdup (base)))
        return -1;
    if ((dot = strrchr (s->name, '.')) && dot != s->name)
        *dot = '\0';
    return 0;
}

static int valid_name (const char *s)
{
    if (!*s || *s == '.' || strlen (s) > 100)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
              || *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

static int load_root (ctx_t *c, yaml_node_t *root)
{
    zpar_sweep_spec_t *s = c->spec;
    yaml_node_t *k[K_COUNT];
    yaml_mark_t top = root->start_mark;
    const zpar_sweep_point_t *pt;
    zpar_sweep_iter_t *it;
    zpar_error_t sub = {{0}};
    char *out;
    static const char *output_names[] = {"name"};

    if (root->type != YAML_MAPPING_NODE)
        return fail (c, root->start_mark, EINVAL, "a sweep file must be a mapping, not %s",
                     type_name (root));
    if (check_keys (c, root, "", top_keys, K_COUNT, k, NULL) < 0)
        return -1;

    /* name */
    if (k[K_NAME]) {
        if (want_string (c, k[K_NAME], "name") < 0)
            return -1;
        if (!valid_name (sval (k[K_NAME])))
            return fail (c, k[K_NAME]->start_mark, EINVAL,
                         "name '%s' is invalid (letters, digits, '_', '-', '.'; it names "
                         "files)", sval (k[K_NAME]));
        if (!(s->name = strdup (sval (k[K_NAME]))))
            return fail (c, top, ENOMEM, "out of memory");
    }
    else if (default_name (s) < 0)
        return fail (c, top, ENOMEM, "out of memory");
    if (k[K_DESCRIPTION] && want_scalar (c, k[K_DESCRIPTION], "description") < 0)
        return -1;

    /* shell */
    if (k[K_SHELL]) {
        const char *v;
        if (want_string (c, k[K_SHELL], "shell") < 0)
            return -1;
        v = sval (k[K_SHELL]);
        if (strcmp (v, "true") == 0 || strcmp (v, "yes") == 0)
            s->shell = 1;
        else if (strcmp (v, "false") != 0 && strcmp (v, "no") != 0)
            return fail (c, k[K_SHELL]->start_mark, EINVAL,
                         "shell must be true or false, not '%s'", v);
    }

    /* retries, timeout */
    if (k[K_RETRIES]) {
        char canon[ZPAR_SWEEP_NUM_MAX];
        zpar_sweep_vtype_t t;
        double v;
        if (k[K_RETRIES]->type != YAML_SCALAR_NODE || !is_plain (k[K_RETRIES])
            || zpar__sweep_number_parse (sval (k[K_RETRIES]), canon, sizeof (canon), &t, &v) < 0
            || t != ZPAR_SWEEP_INT || v < 0 || v > 1000000)
            return fail (c, k[K_RETRIES]->start_mark, EINVAL,
                         "retries must be an integer >= 0");
        s->retries = (int)v;
    }
    if (k[K_TIMEOUT]) {
        double v;
        if (want_string (c, k[K_TIMEOUT], "timeout") < 0)
            return -1;
        if (zpar__duration_parse (sval (k[K_TIMEOUT]), &v) < 0)
            return fail (c, k[K_TIMEOUT]->start_mark, EINVAL,
                         "timeout '%s' is not a duration (seconds, or like 30s, 10m, 2h, "
                         "1h30m)", sval (k[K_TIMEOUT]));
        s->timeout = v;
    }

    /* params, combine, exclude */
    if (!k[K_PARAMS])
        return fail (c, top, EINVAL, "missing key 'params': the sweep has no points");
    if (load_params (c, k[K_PARAMS], k[K_COMBINE]) < 0)
        return -1;
    if (k[K_EXCLUDE] && load_exclude (c, k[K_EXCLUDE]) < 0)
        return -1;
    if (zpar__sweep_space_seal (s->space, &sub) < 0)
        return fail (c, (k[K_COMBINE] ? k[K_COMBINE] : k[K_PARAMS])->start_mark, errno, "%s",
                     sub.text);
    if (!(it = zpar__sweep_iter_create (s->space)))
        return fail (c, top, errno, "out of memory");
    pt = zpar__sweep_iter_next (it);
    zpar__sweep_iter_destroy (it);
    if (!pt)
        return fail (c, (k[K_EXCLUDE] ? k[K_EXCLUDE] : root)->start_mark, EINVAL,
                     "exclude removes every point: the sweep is empty");

    /* placeholder names: parameters, then index and name */
    s->nnames = zpar__sweep_space_nparams (s->space) + 2;
    if (!(s->names = calloc (s->nnames, sizeof (*s->names))))
        return fail (c, top, ENOMEM, "out of memory");
    for (size_t i = 0; i + 2 < s->nnames; i++)
        s->names[i] = zpar__sweep_space_param_name (s->space, i);
    s->names[s->nnames - 2] = "index";
    s->names[s->nnames - 1] = "name";

    /* command, env, workdir, output files */
    if (!k[K_COMMAND])
        return fail (c, top, EINVAL, "missing key 'command'");
    if (load_command (c, k[K_COMMAND]) < 0)
        return -1;
    if (k[K_ENV] && load_env (c, k[K_ENV]) < 0)
        return -1;
    if (k[K_WORKDIR]) {
        if (!(s->workdir = compile_node (c, k[K_WORKDIR], "workdir")))
            return -1;
    }
    if (k[K_OUTPUT]) {
        zpar_tmpl_t *t;
        char *x;
        if (want_string (c, k[K_OUTPUT], "output") < 0)
            return -1;
        if (!(t = compile (c, k[K_OUTPUT], "output (only {name} is allowed here)",
                           sval (k[K_OUTPUT]), output_names, 1)))
            return -1;
        x = zpar__tmpl_expand (t, (const char *[]){s->name}, ZPAR_TMPL_RAW);
        zpar__tmpl_destroy (t);
        if (!x || !(s->output_dir = join (s->dir, x))) {
            free (x);
            return fail (c, top, ENOMEM, "out of memory");
        }
        free (x);
    }
    else {
        if (asprintf (&out, "%s/%s.out", s->dir, s->name) < 0)
            return fail (c, top, ENOMEM, "out of memory");
        s->output_dir = out;
    }
    if (k[K_STDOUT])
        s->stdout_t = compile_node (c, k[K_STDOUT], "stdout");
    else
        s->stdout_t = compile (c, root, "stdout", "{index}.out", s->names, s->nnames);
    if (!s->stdout_t)
        return -1;
    if (k[K_STDERR])
        s->stderr_t = compile_node (c, k[K_STDERR], "stderr");
    else
        s->stderr_t = compile (c, root, "stderr", "{index}.err", s->names, s->nnames);
    if (!s->stderr_t)
        return -1;
    return 0;
}

zpar_sweep_spec_t *zpar__sweep_spec_load_buffer (const char *buf, size_t len, const char *path,
                                                 zpar_error_t *err)
{
    zpar_sweep_spec_t *s = NULL;
    yaml_parser_t parser;
    yaml_document_t doc;
    int have_parser = 0, have_doc = 0;
    unsigned char hash[crypto_hash_sha256_BYTES];
    size_t line, col;
    int bad;
    ctx_t c = {.path = path, .doc = &doc, .err = err};

    if (!buf || !path) {
        zpar__errnoprintf (err, EINVAL, "invalid argument");
        return NULL;
    }
    if (len > ZPAR_SWEEP_FILE_MAX) {
        zpar__errnoprintf (err, EFBIG, "%s: larger than 16 MiB", path);
        return NULL;
    }
    if (sodium_init () < 0) {
        zpar__errnoprintf (err, EIO, "libsodium failed to initialize");
        return NULL;
    }
    if (check_utf8 (buf, len, &line, &col, &bad) < 0) {
        if (bad)
            zpar__errnoprintf (err, EINVAL, "%s:%zu:%zu: invalid UTF-8 (byte 0x%02x)", path,
                               line, col, (unsigned)bad);
        else
            zpar__errnoprintf (err, EINVAL, "%s:%zu:%zu: NUL byte in the file", path, line, col);
        return NULL;
    }
    if (!(s = calloc (1, sizeof (*s))))
        goto nomem;
    c.spec = s;
    if (abs_paths (path, &s->path, &s->dir) < 0)
        goto nomem;
    crypto_hash_sha256 (hash, (const unsigned char *)buf, len);
    sodium_bin2hex (s->file_hash, sizeof (s->file_hash), hash, sizeof (hash));

    if (!yaml_parser_initialize (&parser))
        goto nomem;
    have_parser = 1;
    yaml_parser_set_input_string (&parser, (const unsigned char *)buf, len);
    yaml_parser_set_encoding (&parser, YAML_UTF8_ENCODING);
    if (!yaml_parser_load (&parser, &doc)) {
        yaml_mark_t m = parser.problem_mark;
        if (parser.error == YAML_MEMORY_ERROR)
            goto nomem;
        if (parser.context)
            zpar__errnoprintf (err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s %s (from %zu:%zu)",
                               path, m.line + 1, m.column + 1,
                               parser.problem ? parser.problem : "?", parser.context,
                               parser.context_mark.line + 1, parser.context_mark.column + 1);
        else
            zpar__errnoprintf (err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s", path,
                               m.line + 1, m.column + 1, parser.problem ? parser.problem : "?");
        goto error;
    }
    have_doc = 1;
    {
        yaml_node_t *root = yaml_document_get_root_node (&doc);
        if (!root) {
            zpar__errnoprintf (err, EINVAL, "%s:1:1: the file is empty", path);
            goto error;
        }
        if (load_root (&c, root) < 0)
            goto error;
    }
    /* A second document would be silently ignored: refuse it. */
    {
        yaml_document_t more;
        if (yaml_parser_load (&parser, &more)) {
            int extra = yaml_document_get_root_node (&more) != NULL;
            yaml_mark_t m = more.start_mark;
            yaml_document_delete (&more);
            if (extra) {
                zpar__errnoprintf (err, EINVAL,
                                   "%s:%zu:%zu: a sweep file holds one YAML document, this "
                                   "is a second one", path, m.line + 1, m.column + 1);
                goto error;
            }
        }
    }
    yaml_document_delete (&doc);
    yaml_parser_delete (&parser);
    return s;
nomem:
    zpar__errnoprintf (err, ENOMEM, "%s: out of memory", path);
error:
    if (have_doc)
        yaml_document_delete (&doc);
    if (have_parser)
        yaml_parser_delete (&parser);
    zpar__sweep_spec_destroy (s);
    return NULL;
}

zpar_sweep_spec_t *zpar__sweep_spec_load (const char *path, zpar_error_t *err)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd;
    zpar_sweep_spec_t *s;

    if (!path) {
        zpar__errnoprintf (err, EINVAL, "invalid argument");
        return NULL;
    }
    if ((fd = open (path, O_RDONLY | O_CLOEXEC)) < 0) {
        zpar__errnoprintf (err, errno, "%s: %s", path, strerror (errno));
        return NULL;
    }
    if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode)) {
        zpar__errnoprintf (err, S_ISDIR (st.st_mode) ? EISDIR : EINVAL,
                           "%s: not a regular file", path);
        goto error;
    }
    if (st.st_size > ZPAR_SWEEP_FILE_MAX) {
        zpar__errnoprintf (err, EFBIG, "%s: larger than 16 MiB", path);
        goto error;
    }
    if (!(buf = malloc ((size_t)st.st_size + 1))) {
        zpar__errnoprintf (err, ENOMEM, "%s: out of memory", path);
        goto error;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read (fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            zpar__errnoprintf (err, errno, "%s: %s", path, strerror (errno));
            goto error;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close (fd);
    s = zpar__sweep_spec_load_buffer (buf, got, path, err);
    free (buf);
    return s;
error:
    free (buf);
    close (fd);
    return NULL;
}

void zpar__sweep_spec_destroy (zpar_sweep_spec_t *s)
{
    if (s) {
        int saved = errno;
        for (size_t i = 0; s->argv && i < s->argc; i++)
            zpar__tmpl_destroy (s->argv[i]);
        free (s->argv);
        for (size_t i = 0; i < s->nenv; i++) {
            free (s->env_names[i]);
            zpar__tmpl_destroy (s->env[i]);
        }
        free (s->env_names);
        free (s->env);
        zpar__tmpl_destroy (s->workdir);
        zpar__tmpl_destroy (s->stdout_t);
        zpar__tmpl_destroy (s->stderr_t);
        free (s->names);
        zpar__sweep_space_destroy (s->space);
        free (s->output_dir);
        free (s->name);
        free (s->dir);
        free (s->path);
        free (s);
        errno = saved;
    }
}

const char *zpar__sweep_spec_name (const zpar_sweep_spec_t *s)
{
    return s ? s->name : NULL;
}

const char *zpar__sweep_spec_path (const zpar_sweep_spec_t *s)
{
    return s ? s->path : NULL;
}

const char *zpar__sweep_spec_dir (const zpar_sweep_spec_t *s)
{
    return s ? s->dir : NULL;
}

const char *zpar__sweep_spec_output_dir (const zpar_sweep_spec_t *s)
{
    return s ? s->output_dir : NULL;
}

const char *zpar__sweep_spec_file_hash (const zpar_sweep_spec_t *s)
{
    return s ? s->file_hash : NULL;
}

int zpar__sweep_spec_shell (const zpar_sweep_spec_t *s)
{
    return s ? s->shell : 0;
}

int zpar__sweep_spec_retries (const zpar_sweep_spec_t *s)
{
    return s ? s->retries : 0;
}

double zpar__sweep_spec_timeout (const zpar_sweep_spec_t *s)
{
    return s ? s->timeout : 0.;
}

const zpar_sweep_space_t *zpar__sweep_spec_space (const zpar_sweep_spec_t *s)
{
    return s ? s->space : NULL;
}

size_t zpar__sweep_spec_nparams (const zpar_sweep_spec_t *s)
{
    return s ? zpar__sweep_space_nparams (s->space) : 0;
}

const char *zpar__sweep_spec_param_name (const zpar_sweep_spec_t *s, size_t i)
{
    return s ? zpar__sweep_space_param_name (s->space, i) : NULL;
}

uint64_t zpar__sweep_spec_size (const zpar_sweep_spec_t *s)
{
    return s ? zpar__sweep_space_size (s->space) : 0;
}

uint64_t zpar__sweep_spec_count (const zpar_sweep_spec_t *s)
{
    return s ? zpar__sweep_space_count (s->space) : 0;
}

char *zpar__sweep_spec_journal_path (const zpar_sweep_spec_t *s)
{
    char *p;
    if (!s) {
        errno = EINVAL;
        return NULL;
    }
    if (asprintf (&p, "%s.journal.sqlite", s->path) < 0)
        return NULL;
    return p;
}

zpar_sweep_iter_t *zpar__sweep_spec_iter_create (const zpar_sweep_spec_t *s)
{
    if (!s) {
        errno = EINVAL;
        return NULL;
    }
    return zpar__sweep_iter_create (s->space);
}

/* --- tasks -------------------------------------------------------------- */

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

zpar_sweep_task_t *zpar__sweep_spec_task (const zpar_sweep_spec_t *s,
                                          const zpar_sweep_point_t *pt, zpar_error_t *err)
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
        if (!(t->argv = calloc (4, sizeof (char *))) || !(t->argv[0] = strdup ("/bin/sh"))
            || !(t->argv[1] = strdup ("-c"))
            || !(t->argv[2] = zpar__tmpl_expand (s->argv[0], vals, ZPAR_TMPL_SHELL)))
            goto nomem;
        t->argc = 3;
    }
    else {
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
        if (!(x = zpar__tmpl_expand (s->env[i], vals, ZPAR_TMPL_RAW))
            || asprintf (&t->env[i], "%s=%s", s->env_names[i], x) < 0) {
            t->env[i] = NULL;
            goto nomem;
        }
        free (x);
        x = NULL;
        t->nenv = i + 1;
    }
    /* paths */
    /* the key hashes the workdir as written (expanded, not made absolute)
     * so that moving a sweep directory keeps its keys */
    if (!(wd = s->workdir ? zpar__tmpl_expand (s->workdir, vals, ZPAR_TMPL_RAW) : strdup (""))
        || !(t->workdir = (wd[0] ? join (s->dir, wd) : strdup (s->dir))))
        goto nomem;
    if (!(x = zpar__tmpl_expand (s->stdout_t, vals, ZPAR_TMPL_RAW))
        || !(t->stdout_path = join (s->output_dir, x)))
        goto nomem;
    free (x);
    if (!(x = zpar__tmpl_expand (s->stderr_t, vals, ZPAR_TMPL_RAW))
        || !(t->stderr_path = join (s->output_dir, x)))
        goto nomem;
    free (x);
    x = NULL;
    if (!(t->params_json = params_json (s, pt)))
        goto nomem;

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
    free (x);
    free (wd);
    free (vals);
    zpar__sweep_task_destroy (t);
    return NULL;
}
