/* spec_yaml.c - YAML node helpers of the sweep-file loader: error
 * locations, type checks, keys, UTF-8, paths. */
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

int zpar__spec_fail (ctx_t *c, yaml_mark_t m, int errnum, const char *fmt, ...)
{
    char msg[ZPAR_ERROR_TEXT_MAX];
    va_list ap;
    va_start (ap, fmt);
    (void)vsnprintf (msg, sizeof (msg), fmt, ap);
    va_end (ap);
    return zpar__errnoprintf (c->err, errnum, "%s:%zu:%zu: %s", c->path, m.line + 1, m.column + 1,
                              msg);
}

/* Location of byte off inside scalar node n: exact for single-line plain
 * scalars, the start of the scalar otherwise. */
yaml_mark_t zpar__spec_mark_in (yaml_node_t *n, size_t off)
{
    yaml_mark_t m = n->start_mark;
    if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        !memchr (n->data.scalar.value, '\n', n->data.scalar.length))
        m.column += off;
    else if (n->type == YAML_SCALAR_NODE &&
             (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
              n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
             !memchr (n->data.scalar.value, '\n', n->data.scalar.length) &&
             !memchr (n->data.scalar.value, '\'', n->data.scalar.length) &&
             !memchr (n->data.scalar.value, '\\', n->data.scalar.length))
        m.column += off + 1;
    return m;
}

int zpar__spec_want_scalar (ctx_t *c, yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE)
        return zpar__spec_fail (c, n->start_mark, EINVAL, "%s must be a scalar, not %s", what,
                                type_name (n));
    if (strlen (sval (n)) != n->data.scalar.length)
        return zpar__spec_fail (c, n->start_mark, EINVAL, "%s contains a NUL character", what);
    return 0;
}

int zpar__spec_want_string (ctx_t *c, yaml_node_t *n, const char *what)
{
    if (zpar__spec_want_scalar (c, n, what) < 0)
        return -1;
    if (is_plain (n) && n->data.scalar.length == 0)
        return zpar__spec_fail (c, n->start_mark, EINVAL, "%s is empty", what);
    return 0;
}

/* Reject unknown keys (with a suggestion) and duplicates; found[i] gets the
 * value node of keys[i] or NULL.  keynodes (optional) gets the key nodes. */
int zpar__spec_check_keys (ctx_t *c, yaml_node_t *map, const char *where, const char **keys,
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
            return zpar__spec_fail (c, k->start_mark, EINVAL, "%skeys must be scalars", where);
        for (i = 0; i < nkeys; i++)
            if (strcmp (sval (k), keys[i]) == 0)
                break;
        if (i == nkeys) {
            const char *hint = zpar__tmpl_suggest (sval (k), keys, nkeys);
            if (hint)
                return zpar__spec_fail (c, k->start_mark, EINVAL,
                                        "%sunknown key '%s' (did you mean '%s'?)", where, sval (k),
                                        hint);
            return zpar__spec_fail (c, k->start_mark, EINVAL, "%sunknown key '%s'", where,
                                    sval (k));
        }
        if (found[i])
            return zpar__spec_fail (c, k->start_mark, EINVAL, "%sduplicate key '%s'", where,
                                    sval (k));
        found[i] = node (c, p->value);
        if (keynodes)
            keynodes[i] = k;
    }
    return 0;
}

/* Check buf is UTF-8 without NUL bytes; on failure *line and *col (1-based,
 * columns in characters) locate the bad byte, *bad is its value. */
int zpar__spec_check_utf8 (const char *buf, size_t len, size_t *line, size_t *col, int *bad)
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
        } else
            (*col)++;
        i += n;
    }
    return 0;
}

/* --- paths -------------------------------------------------------------- */

char *zpar__spec_join (const char *dir, const char *rel)
{
    char *s;
    if (rel[0] == '/')
        return strdup (rel);
    if (asprintf (&s, "%s%s%s", dir, dir[strlen (dir) - 1] == '/' ? "" : "/", rel) < 0)
        return NULL;
    return s;
}

/* Absolute path of path and its directory, without requiring the file. */
int zpar__spec_abs_paths (const char *path, char **absp, char **dirp)
{
    char cwd[PATH_MAX], *abs = NULL, *dir = NULL, *slash, *real;
    if (path[0] == '/')
        abs = strdup (path);
    else if (getcwd (cwd, sizeof (cwd)))
        abs = zpar__spec_join (cwd, path);
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
