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

/* --- limits checked before the document is built ------------------------ */

typedef struct {
    char *name;
    uint64_t bytes, nodes; /* size of the anchored node, aliases expanded */
} anchor_t;

typedef struct {
    uint64_t bytes, nodes;
    char *anchor; /* of the open collection, or NULL */
} open_t;

static uint64_t sat_add (uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t fnv (const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Open-addressing table of anchors (a later anchor of the same name
 * replaces the earlier one, as in YAML). */
typedef struct {
    anchor_t *slot;
    size_t cap, n;
} anchors_t;

static anchor_t *anchor_find (anchors_t *t, const char *name)
{
    if (!t->cap)
        return NULL;
    for (size_t i = fnv (name) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->slot[i].name)
            return NULL;
        if (strcmp (t->slot[i].name, name) == 0)
            return &t->slot[i];
    }
}

static int anchor_set (anchors_t *t, const char *name, uint64_t bytes, uint64_t nodes)
{
    anchor_t *a = anchor_find (t, name);
    if (a) {
        a->bytes = bytes;
        a->nodes = nodes;
        return 0;
    }
    if (2 * (t->n + 1) > t->cap) {
        anchors_t g = {calloc (t->cap ? 2 * t->cap : 64, sizeof (anchor_t)),
                       t->cap ? 2 * t->cap : 64, 0};
        if (!g.slot)
            return -1;
        for (size_t i = 0; i < t->cap; i++)
            if (t->slot[i].name) {
                size_t j = fnv (t->slot[i].name) & (g.cap - 1);
                while (g.slot[j].name)
                    j = (j + 1) & (g.cap - 1);
                g.slot[j] = t->slot[i];
                g.n++;
            }
        free (t->slot);
        *t = g;
    }
    size_t j = fnv (name) & (t->cap - 1);
    while (t->slot[j].name)
        j = (j + 1) & (t->cap - 1);
    if (!(t->slot[j].name = strdup (name)))
        return -1;
    t->slot[j].bytes = bytes;
    t->slot[j].nodes = nodes;
    t->n++;
    return 0;
}

int zpar__spec_check_limits (const char *buf, size_t len, const char *path, zpar_error_t *err)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    open_t stack[ZPAR_SWEEP_DEPTH_MAX + 1];
    size_t depth = 0;
    anchors_t anchors = {NULL, 0, 0};
    uint64_t alias_bytes = 0, alias_nodes = 0;
    int rc = -1, done = 0;

    if (!yaml_parser_initialize (&parser))
        return zpar__errnoprintf (err, ENOMEM, "%s: out of memory", path);
    yaml_parser_set_input_string (&parser, (const unsigned char *)buf, len);
    yaml_parser_set_encoding (&parser, YAML_UTF8_ENCODING);
    stack[0] = (open_t){0, 0, NULL};
    while (!done) {
        uint64_t b = 0, n = 0;
        const char *anchor = NULL;
        if (!yaml_parser_parse (&parser, &ev)) {
            /* syntax errors are reported by the real load */
            rc = parser.error == YAML_MEMORY_ERROR
                     ? zpar__errnoprintf (err, ENOMEM, "%s: out of memory", path)
                     : 0;
            goto out;
        }
        yaml_mark_t m = ev.start_mark;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (depth == ZPAR_SWEEP_DEPTH_MAX) {
                zpar__errnoprintf (err, EINVAL,
                                   "%s:%zu:%zu: nesting deeper than %d levels (a sweep file "
                                   "needs about 5)",
                                   path, m.line + 1, m.column + 1, ZPAR_SWEEP_DEPTH_MAX);
                yaml_event_delete (&ev);
                goto out;
            }
            anchor =
                (const char *)(ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                                                    : ev.data.mapping_start.anchor);
            stack[++depth] = (open_t){0, 1, anchor ? strdup (anchor) : NULL};
            if (anchor && !stack[depth].anchor) {
                yaml_event_delete (&ev);
                rc = zpar__errnoprintf (err, ENOMEM, "%s: out of memory", path);
                goto out;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0) {
                open_t o = stack[depth--];
                b = o.bytes;
                n = o.nodes;
                if (o.anchor) {
                    int bad = anchor_set (&anchors, o.anchor, b, n) < 0;
                    free (o.anchor);
                    if (bad) {
                        yaml_event_delete (&ev);
                        rc = zpar__errnoprintf (err, ENOMEM, "%s: out of memory", path);
                        goto out;
                    }
                }
            }
            break;
        case YAML_SCALAR_EVENT:
            b = ev.data.scalar.length;
            n = 1;
            if (ev.data.scalar.anchor &&
                anchor_set (&anchors, (const char *)ev.data.scalar.anchor, b, n) < 0) {
                yaml_event_delete (&ev);
                rc = zpar__errnoprintf (err, ENOMEM, "%s: out of memory", path);
                goto out;
            }
            break;
        case YAML_ALIAS_EVENT: {
            anchor_t *a = anchor_find (&anchors, (const char *)ev.data.alias.anchor);
            if (a) {
                b = a->bytes;
                n = a->nodes;
                alias_bytes = sat_add (alias_bytes, b);
                alias_nodes = sat_add (alias_nodes, n);
                if (alias_bytes > ZPAR_SWEEP_ALIAS_BYTES_MAX ||
                    alias_nodes > ZPAR_SWEEP_ALIAS_NODES_MAX) {
                    zpar__errnoprintf (err, EINVAL,
                                       "%s:%zu:%zu: aliases expand to more than %d MiB or %d "
                                       "nodes (alias '*%s')",
                                       path, m.line + 1, m.column + 1,
                                       ZPAR_SWEEP_ALIAS_BYTES_MAX / (1024 * 1024),
                                       ZPAR_SWEEP_ALIAS_NODES_MAX, ev.data.alias.anchor);
                    yaml_event_delete (&ev);
                    goto out;
                }
            }
            break;
        }
        default:
            break;
        }
        if (b || n) {
            stack[depth].bytes = sat_add (stack[depth].bytes, b);
            stack[depth].nodes = sat_add (stack[depth].nodes, n);
        }
        yaml_event_delete (&ev);
    }
    rc = 0;
out:
    while (depth > 0)
        free (stack[depth--].anchor);
    for (size_t i = 0; i < anchors.cap; i++)
        free (anchors.slot[i].name);
    free (anchors.slot);
    yaml_parser_delete (&parser);
    return rc;
}
