/* spec_internal.h - what the files of the sweep-file loader share
 * (internal to src/sweep/spec*.c; the contract for everyone else is
 * spec.h).
 *
 *   spec_yaml.c    YAML node helpers, error locations, UTF-8, paths
 *   spec_params.c  params (lists, range/linspace/logspace/file), combine,
 *                  exclude
 *   spec_load.c    reading the file and validating every top-level key
 *                  (command, env, workdir, output, ...)
 *   spec_task.c    expanding a point into a task (argv, env, paths, key)
 *   spec.c         the spec's lifetime and accessors
 *
 * Every zpar__spec_* function that takes a ctx_t reports a failure as
 * "FILE:LINE:COLUMN: message" in c->err, sets errno and returns -1 (or
 * NULL).
 */
#ifndef ZPAR__SWEEP_SPEC_INTERNAL_H
#define ZPAR__SWEEP_SPEC_INTERNAL_H

#include <stddef.h>
#include <string.h>

#include <yaml.h>

#include "params.h"
#include "spec.h"
#include "template.h"

struct zpar_sweep_spec {
    char *path;
    char *dir;
    char *name;
    char *output_dir;
    char file_hash[ZPAR_SWEEP_KEY_SIZE];
    int shell;
    int retries;
    double timeout;
    int resubmit; /* `resubmit:` continuations allowed (0: none) */
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
    zpar_tmpl_t *estimate; /* estimate: (estimate.h), or NULL */
    char **estimate_by;    /* estimate-by: parameter names (NULL-terminated), or NULL */
    size_t nestimate_by;
    int stop_signal;                   /* stop-signal:, 0: the engine's (SIGTERM) */
    double stop_grace;                 /* stop-grace: seconds, 0: the engine's (1 s) */
    zpar_tmpl_t *res[ZPAR_SWEEP_NRES]; /* cores: .. ranks-per-node: (spec_res.c), or NULL */
};

/* The state of one load. */
typedef struct {
    const char *path; /* as given, for messages */
    yaml_document_t *doc;
    zpar_error_t *err;
    zpar_sweep_spec_t *spec;
} ctx_t;

static inline yaml_node_t *node (ctx_t *c, int id)
{
    return yaml_document_get_node (c->doc, id);
}

static inline const char *type_name (yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

static inline const char *sval (yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static inline int is_plain (yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static inline int is_ident (const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
              (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

/* spec_yaml.c */
int zpar__spec_fail (ctx_t *c, yaml_mark_t m, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
/* Location of byte off inside scalar node n. */
yaml_mark_t zpar__spec_mark_in (yaml_node_t *n, size_t off);
int zpar__spec_want_scalar (ctx_t *c, yaml_node_t *n, const char *what);
int zpar__spec_want_string (ctx_t *c, yaml_node_t *n, const char *what);

/* spec_res.c: resource key i (zpar__sweep_res_keys[i]) from node n: a
 * template on the parameters whose value for the first point must be
 * valid.  0 / -1 (failed through zpar__spec_fail). */
int zpar__spec_load_res (ctx_t *c, yaml_node_t *n, int i);
/* spec_mpi.c: the mpi-launcher: key from node v (srun, mpirun or auto),
 * added to env: as ZPAR_MPI_LAUNCHER (env: must not set it too; call
 * after env: is loaded).  0 / -1 (failed through zpar__spec_fail). */
int zpar__spec_load_mpi_launcher (ctx_t *c, yaml_node_t *v);
/* The placeholder values of s's first point, in the order of s->names,
 * for checking a template on it: *vals (calloc'd, free()) points into the
 * iterator returned (destroy it after the last use) and into idx (room
 * for 32 bytes: the point's index as text); *index its index.  NULL
 * ENOMEM. */
zpar_sweep_iter_t *zpar__spec_first_vals (zpar_sweep_spec_t *s, const char ***vals, char *idx,
                                          uint64_t *index);
/* Reject unknown keys (with a suggestion) and duplicates; found[i] gets the
 * value node of keys[i] or NULL.  keynodes (optional) gets the key nodes. */
int zpar__spec_check_keys (ctx_t *c, yaml_node_t *map, const char *where, const char **keys,
                           size_t nkeys, yaml_node_t **found, yaml_node_t **keynodes);
/* Check buf is UTF-8 without NUL bytes; on failure *line and *col (1-based)
 * locate the bad byte, *bad is its value. */
int zpar__spec_check_utf8 (const char *buf, size_t len, size_t *line, size_t *col, int *bad);
/* Walk the YAML events of buf before building the document: nesting
 * deeper than ZPAR_SWEEP_DEPTH_MAX, or aliases that expand to more than
 * ZPAR_SWEEP_ALIAS_BYTES_MAX bytes of text or ZPAR_SWEEP_ALIAS_NODES_MAX
 * nodes in total (each alias counts the size of its anchor, aliases inside
 * it included), fail with EINVAL and "PATH:LINE:COL: ..." in err.  Syntax
 * errors are left to the load (0).  0, or -1. */
int zpar__spec_check_limits (const char *buf, size_t len, const char *path, zpar_error_t *err);
/* dir/rel, or rel when it is absolute (malloc'd; NULL on ENOMEM). */
char *zpar__spec_join (const char *dir, const char *rel);
/* Absolute path of path and its directory, without requiring the file. */
int zpar__spec_abs_paths (const char *path, char **absp, char **dirp);

/* 0 if value may be put into a path (workdir, stdout, stderr): one path
 * component, no '/', not ".." (so that no value moves a path out of its
 * directory or makes it absolute); -1 otherwise. */
static inline int zpar__spec_path_value_ok (const char *value)
{
    return strchr (value, '/') || strcmp (value, "..") == 0 ? -1 : 0;
}

/* spec_params.c: params (and combine), then exclude. */
int zpar__spec_load_params (ctx_t *c, yaml_node_t *map, yaml_node_t *combine);
int zpar__spec_load_exclude (ctx_t *c, yaml_node_t *seq);

/* spec_load.c: templates. */
zpar_tmpl_t *zpar__spec_compile (ctx_t *c, yaml_node_t *n, const char *what, const char *text,
                                 const char **names, size_t nnames);

#endif
