/* spec_load.c - reading a sweep file and validating its keys (name,
 * shell, retries, timeout, command, env, workdir, output, stdout, stderr,
 * resubmit;
 * params and exclude are spec_params.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "json.h"
#include "spec_internal.h"

#include "duration.h"
#include "estimate.h"

static const char *top_keys[] = {
    "name",           "description",  "command",  "shell",    "params",      "combine",
    "exclude",        "retries",      "timeout",  "env",      "workdir",     "output",
    "stdout",         "stderr",       "resubmit", "estimate", "estimate-by", "stop-signal",
    "stop-grace",     "cores",        "gpus",     "memory",   "ranks",       "nodes",
    "ranks-per-node", "mpi-launcher",
};
enum {
    K_NAME,
    K_DESCRIPTION,
    K_COMMAND,
    K_SHELL,
    K_PARAMS,
    K_COMBINE,
    K_EXCLUDE,
    K_RETRIES,
    K_TIMEOUT,
    K_ENV,
    K_WORKDIR,
    K_OUTPUT,
    K_STDOUT,
    K_STDERR,
    K_RESUBMIT,
    K_ESTIMATE,
    K_ESTIMATE_BY,
    K_STOP_SIGNAL,
    K_STOP_GRACE,
    K_CORES, /* .. K_CORES + ZPAR_SWEEP_NRES - 1: zpar__sweep_res_keys */
    K_MPI_LAUNCHER = K_CORES + ZPAR_SWEEP_NRES,
    K_COUNT
};

/* --- templates ---------------------------------------------------------- */

zpar_tmpl_t *zpar__spec_compile (ctx_t *c, yaml_node_t *n, const char *what, const char *text,
                                 const char **names, size_t nnames)
{
    zpar_error_t sub = {{0}};
    size_t off = 0;
    zpar_tmpl_t *t = zpar__tmpl_compile (text, names, nnames, &off, &sub);
    if (!t)
        zpar__spec_fail (c, zpar__spec_mark_in (n, off), errno, "%s: %s", what, sub.text);
    return t;
}

/* Every value a path template t may receive is one path component. */
static int check_path_values (ctx_t *c, yaml_node_t *n, const char *what, const zpar_tmpl_t *t)
{
    zpar_sweep_spec_t *s = c->spec;
    size_t np = zpar__sweep_space_nparams (s->space);
    for (size_t i = 0; i < np; i++) {
        const zpar_sweep_param_t *p = zpar__sweep_space_param (s->space, i);
        char buf[ZPAR_SWEEP_NUM_MAX];
        zpar_sweep_vtype_t ty;
        if (!zpar__tmpl_uses (t, i) || !zpar__sweep_param_is_list (p))
            continue;
        for (uint64_t v = 0; v < zpar__sweep_param_count (p); v++) {
            const char *val = zpar__sweep_param_value (p, v, buf, sizeof (buf), &ty);
            if (zpar__spec_path_value_ok (val) < 0)
                return zpar__spec_fail (c, n->start_mark, EINVAL,
                                        "%s: {%s} takes the value '%s' (value %" PRIu64
                                        " of params.%s): a value put into a path must be one "
                                        "path component, without '/' and not '..'",
                                        what, zpar__sweep_param_name (p), val, v,
                                        zpar__sweep_param_name (p));
        }
    }
    return 0;
}

static zpar_tmpl_t *compile_path (ctx_t *c, yaml_node_t *n, const char *what)
{
    zpar_sweep_spec_t *s = c->spec;
    zpar_tmpl_t *t;
    if (zpar__spec_want_string (c, n, what) < 0)
        return NULL;
    if (!(t = zpar__spec_compile (c, n, what, sval (n), s->names, s->nnames)))
        return NULL;
    if (check_path_values (c, n, what, t) < 0) {
        zpar__tmpl_destroy (t);
        return NULL;
    }
    return t;
}

/* A signal a point may be asked to stop with: a name (with or without
 * SIG) or a number; not KILL or STOP.  0 when not. */
static int signal_number (const char *v)
{
    static const struct {
        const char *name;
        int sig;
    } sigs[] = {{"TERM", SIGTERM}, {"INT", SIGINT},   {"HUP", SIGHUP},   {"USR1", SIGUSR1},
                {"USR2", SIGUSR2}, {"QUIT", SIGQUIT}, {"ALRM", SIGALRM}, {"XCPU", SIGXCPU}};
    char *e;
    long n;
    if (strncmp (v, "SIG", 3) == 0)
        v += 3;
    for (size_t i = 0; i < sizeof (sigs) / sizeof (sigs[0]); i++)
        if (strcmp (v, sigs[i].name) == 0)
            return sigs[i].sig;
    n = strtol (v, &e, 10);
    if (*v < '0' || *v > '9' || *e || n < 1 || n > 64 || n == SIGKILL || n == SIGSTOP)
        return 0;
    return (int)n;
}

/* estimate: an expression on the parameters (estimate.h), checked on the
 * first point. */
static int load_estimate (ctx_t *c, yaml_node_t *n)
{
    zpar_sweep_spec_t *s = c->spec;
    zpar_sweep_iter_t *it;
    zpar_error_t sub = {{0}};
    const char **vals;
    char idx[32], *x;
    uint64_t index;
    double v;
    int rc;
    if (zpar__spec_want_string (c, n, "estimate") < 0)
        return -1;
    if (!(s->estimate = zpar__spec_compile (c, n, "estimate", sval (n), s->names, s->nnames)))
        return -1;
    if (!(it = zpar__spec_first_vals (s, &vals, idx, &index)))
        return zpar__spec_fail (c, n->start_mark, ENOMEM, "out of memory");
    x = zpar__tmpl_expand (s->estimate, vals, ZPAR_TMPL_RAW);
    free (vals);
    zpar__sweep_iter_destroy (it);
    if (!x)
        return zpar__spec_fail (c, n->start_mark, ENOMEM, "out of memory");
    rc = zpar__estimate_eval (x, &v, &sub);
    free (x);
    if (rc < 0)
        return zpar__spec_fail (c, n->start_mark, EINVAL,
                                "estimate: for the first point, %s (want seconds, or an "
                                "expression like '{steps} * 0.5s + 1m')",
                                sub.text);
    return 0;
}

/* estimate-by: parameter names (a list, or one name). */
static int load_estimate_by (ctx_t *c, yaml_node_t *n)
{
    zpar_sweep_spec_t *s = c->spec;
    size_t np = zpar__sweep_space_nparams (s->space), count;
    yaml_node_item_t *it;
    if (n->type == YAML_SCALAR_NODE)
        count = 1;
    else if (n->type == YAML_SEQUENCE_NODE)
        count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    else
        return zpar__spec_fail (c, n->start_mark, EINVAL,
                                "estimate-by must be a parameter name or a list of them, not %s",
                                type_name (n));
    if (!(s->estimate_by = calloc (count + 1, sizeof (char *))))
        return zpar__spec_fail (c, n->start_mark, ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *e = n->type == YAML_SCALAR_NODE
                             ? n
                             : node (c, (it = n->data.sequence.items.start + i, *it));
        size_t j;
        if (zpar__spec_want_string (c, e, "estimate-by") < 0)
            return -1;
        for (j = 0; j < np; j++)
            if (strcmp (sval (e), zpar__sweep_space_param_name (s->space, j)) == 0)
                break;
        if (j == np)
            return zpar__spec_fail (c, e->start_mark, EINVAL,
                                    "estimate-by: '%s' is not a parameter", sval (e));
        if (!(s->estimate_by[i] = strdup (sval (e))))
            return zpar__spec_fail (c, e->start_mark, ENOMEM, "out of memory");
        s->nestimate_by = i + 1;
    }
    return 0;
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
            return zpar__spec_fail (c, n->start_mark, EINVAL,
                                    "with shell: true, command must be one string, not a list");
        if (cnt == 0)
            return zpar__spec_fail (c, n->start_mark, EINVAL, "command is an empty list");
        if (!(s->argv = calloc (cnt, sizeof (*s->argv))))
            return zpar__spec_fail (c, n->start_mark, ENOMEM, "out of memory");
        for (size_t i = 0; i < cnt; i++) {
            yaml_node_t *e = node (c, n->data.sequence.items.start[i]);
            char what[48];
            snprintf (what, sizeof (what), "command[%zu]", i);
            if (zpar__spec_want_scalar (c, e, what) < 0)
                return -1;
            if (!(s->argv[i] = zpar__spec_compile (c, e, what, sval (e), s->names, s->nnames)))
                return -1;
            s->argc = i + 1;
        }
        return 0;
    }
    if (zpar__spec_want_string (c, n, "command") < 0)
        return -1;
    /* Check the placeholders on the whole string first, so that a bad one
     * is reported at its exact place. */
    zpar_tmpl_t *whole = zpar__spec_compile (c, n, "command", sval (n), s->names, s->nnames);
    if (!whole)
        return -1;
    if (s->shell) {
        if (zpar__tmpl_shell_check (sval (n), &off, &sub) < 0) {
            zpar__tmpl_destroy (whole);
            return zpar__spec_fail (c, zpar__spec_mark_in (n, off), EINVAL, "command: %s",
                                    sub.text);
        }
        if (!(s->argv = calloc (1, sizeof (*s->argv)))) {
            zpar__tmpl_destroy (whole);
            return zpar__spec_fail (c, n->start_mark, ENOMEM, "out of memory");
        }
        s->argv[0] = whole;
        s->argc = 1;
        return 0;
    }
    zpar__tmpl_destroy (whole);
    if (zpar__tmpl_split (sval (n), &words, &nwords, &off, &sub) < 0)
        return zpar__spec_fail (c, zpar__spec_mark_in (n, off), errno, "command: %s", sub.text);
    if (nwords == 0) {
        zpar__spec_fail (c, n->start_mark, EINVAL, "command is empty");
        goto done;
    }
    if (!(s->argv = calloc (nwords, sizeof (*s->argv)))) {
        zpar__spec_fail (c, n->start_mark, ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nwords; i++) {
        if (!(s->argv[i] = zpar__spec_compile (c, n, "command", words[i], s->names, s->nnames)))
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
        return zpar__spec_fail (c, map->start_mark, EINVAL,
                                "env must be a mapping (NAME: value), not %s", type_name (map));
    n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (n == 0)
        return 0;
    if (!(s->env_names = calloc (n, sizeof (char *))) || !(s->env = calloc (n, sizeof (*s->env))))
        return zpar__spec_fail (c, map->start_mark, ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *pr = map->data.mapping.pairs.start + i;
        yaml_node_t *k = node (c, pr->key), *v = node (c, pr->value);
        char what[96];
        if (k->type != YAML_SCALAR_NODE || !is_ident (sval (k)))
            return zpar__spec_fail (c, k->start_mark, EINVAL,
                                    "env: '%s' is not a valid variable name (letters, digits, '_')",
                                    k->type == YAML_SCALAR_NODE ? sval (k) : "?");
        for (size_t j = 0; j < i; j++)
            if (strcmp (s->env_names[j], sval (k)) == 0)
                return zpar__spec_fail (c, k->start_mark, EINVAL, "env: duplicate variable '%s'",
                                        sval (k));
        snprintf (what, sizeof (what), "env.%s", sval (k));
        if (zpar__spec_want_scalar (c, v, what) < 0)
            return -1;
        if (!(s->env_names[i] = strdup (sval (k))))
            return zpar__spec_fail (c, k->start_mark, ENOMEM, "out of memory");
        s->nenv = i + 1;
        if (!(s->env[i] = zpar__spec_compile (c, v, what, sval (v), s->names, s->nnames)))
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
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
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
        return zpar__spec_fail (c, root->start_mark, EINVAL,
                                "a sweep file must be a mapping, not %s", type_name (root));
    if (zpar__spec_check_keys (c, root, "", top_keys, K_COUNT, k, NULL) < 0)
        return -1;

    /* name */
    if (k[K_NAME]) {
        if (zpar__spec_want_string (c, k[K_NAME], "name") < 0)
            return -1;
        if (!valid_name (sval (k[K_NAME])))
            return zpar__spec_fail (
                c, k[K_NAME]->start_mark, EINVAL,
                "name '%s' is invalid (letters, digits, '_', '-', '.'; it names "
                "files)",
                sval (k[K_NAME]));
        if (!(s->name = strdup (sval (k[K_NAME]))))
            return zpar__spec_fail (c, top, ENOMEM, "out of memory");
    } else if (default_name (s) < 0)
        return zpar__spec_fail (c, top, ENOMEM, "out of memory");
    if (k[K_DESCRIPTION] && zpar__spec_want_scalar (c, k[K_DESCRIPTION], "description") < 0)
        return -1;

    /* shell */
    if (k[K_SHELL]) {
        const char *v;
        if (zpar__spec_want_string (c, k[K_SHELL], "shell") < 0)
            return -1;
        v = sval (k[K_SHELL]);
        if (strcmp (v, "true") == 0 || strcmp (v, "yes") == 0)
            s->shell = 1;
        else if (strcmp (v, "false") != 0 && strcmp (v, "no") != 0)
            return zpar__spec_fail (c, k[K_SHELL]->start_mark, EINVAL,
                                    "shell must be true or false, not '%s'", v);
    }

    /* retries, timeout */
    if (k[K_RETRIES]) {
        char canon[ZPAR_SWEEP_NUM_MAX];
        zpar_sweep_vtype_t t;
        double v;
        if (k[K_RETRIES]->type != YAML_SCALAR_NODE || !is_plain (k[K_RETRIES]) ||
            zpar__sweep_number_parse (sval (k[K_RETRIES]), canon, sizeof (canon), &t, &v) < 0 ||
            t != ZPAR_SWEEP_INT || v < 0 || v > 1000000)
            return zpar__spec_fail (c, k[K_RETRIES]->start_mark, EINVAL,
                                    "retries must be an integer >= 0");
        s->retries = (int)v;
    }
    if (k[K_TIMEOUT]) {
        double v;
        if (zpar__spec_want_string (c, k[K_TIMEOUT], "timeout") < 0)
            return -1;
        if (zpar__duration_parse (sval (k[K_TIMEOUT]), &v) < 0)
            return zpar__spec_fail (
                c, k[K_TIMEOUT]->start_mark, EINVAL,
                "timeout '%s' is not a duration (seconds, or like 30s, 10m, 2h, "
                "1h30m)",
                sval (k[K_TIMEOUT]));
        s->timeout = v;
    }

    /* resubmit: true (the default limit), false, or the most continuations */
    if (k[K_RESUBMIT]) {
        char canon[ZPAR_SWEEP_NUM_MAX];
        zpar_sweep_vtype_t t;
        double v;
        int plain = k[K_RESUBMIT]->type == YAML_SCALAR_NODE && is_plain (k[K_RESUBMIT]);
        const char *txt = plain ? sval (k[K_RESUBMIT]) : "";
        if (plain && (!strcmp (txt, "true") || !strcmp (txt, "yes")))
            s->resubmit = ZPAR_SWEEP_RESUBMIT_DEFAULT;
        else if (plain && (!strcmp (txt, "false") || !strcmp (txt, "no")))
            s->resubmit = 0;
        else if (!plain || zpar__sweep_number_parse (txt, canon, sizeof (canon), &t, &v) < 0 ||
                 t != ZPAR_SWEEP_INT || v < 0 || v > ZPAR_SWEEP_RESUBMIT_MAX)
            return zpar__spec_fail (c, k[K_RESUBMIT]->start_mark, EINVAL,
                                    "resubmit must be true, false or an integer from 0 to %d "
                                    "(the most jobs that continue the sweep)",
                                    ZPAR_SWEEP_RESUBMIT_MAX);
        else
            s->resubmit = (int)v;
    }

    /* params, combine, exclude */
    if (!k[K_PARAMS])
        return zpar__spec_fail (c, top, EINVAL, "missing key 'params': the sweep has no points");
    if (zpar__spec_load_params (c, k[K_PARAMS], k[K_COMBINE]) < 0)
        return -1;
    if (k[K_EXCLUDE] && zpar__spec_load_exclude (c, k[K_EXCLUDE]) < 0)
        return -1;
    if (zpar__sweep_space_seal (s->space, &sub) < 0)
        return zpar__spec_fail (c,
                                (errno == E2BIG && k[K_EXCLUDE] ? k[K_EXCLUDE]
                                 : k[K_COMBINE]                 ? k[K_COMBINE]
                                                                : k[K_PARAMS])
                                    ->start_mark,
                                errno, "%s", sub.text);
    /* the first point, built once here: its values are computed without
     * allocating later */
    if (!(it = zpar__sweep_iter_create (s->space)))
        return zpar__spec_fail (c, top, errno, "out of memory");
    pt = zpar__sweep_iter_next (it);
    zpar__sweep_iter_destroy (it);
    if (!pt || zpar__sweep_space_count (s->space) == 0)
        return zpar__spec_fail (c, (k[K_EXCLUDE] ? k[K_EXCLUDE] : root)->start_mark, EINVAL,
                                "exclude removes every point: the sweep is empty");

    /* placeholder names: parameters, then index and name */
    s->nnames = zpar__sweep_space_nparams (s->space) + 2;
    if (!(s->names = calloc (s->nnames, sizeof (*s->names))))
        return zpar__spec_fail (c, top, ENOMEM, "out of memory");
    for (size_t i = 0; i + 2 < s->nnames; i++)
        s->names[i] = zpar__sweep_space_param_name (s->space, i);
    s->names[s->nnames - 2] = "index";
    s->names[s->nnames - 1] = "name";

    /* command, env, workdir, output files */
    if (!k[K_COMMAND])
        return zpar__spec_fail (c, top, EINVAL, "missing key 'command'");
    if (load_command (c, k[K_COMMAND]) < 0)
        return -1;
    if (k[K_ENV] && load_env (c, k[K_ENV]) < 0)
        return -1;
    if (k[K_MPI_LAUNCHER] && zpar__spec_load_mpi_launcher (c, k[K_MPI_LAUNCHER]) < 0)
        return -1;
    if (k[K_WORKDIR]) {
        if (!(s->workdir = compile_path (c, k[K_WORKDIR], "workdir")))
            return -1;
    }
    if (k[K_OUTPUT]) {
        zpar_tmpl_t *t;
        char *x;
        if (zpar__spec_want_string (c, k[K_OUTPUT], "output") < 0)
            return -1;
        if (!(t = zpar__spec_compile (c, k[K_OUTPUT], "output (only {name} is allowed here)",
                                      sval (k[K_OUTPUT]), output_names, 1)))
            return -1;
        x = zpar__tmpl_expand (t, (const char *[]){s->name}, ZPAR_TMPL_RAW);
        zpar__tmpl_destroy (t);
        if (!x || !(s->output_dir = zpar__spec_join (s->dir, x))) {
            free (x);
            return zpar__spec_fail (c, top, ENOMEM, "out of memory");
        }
        free (x);
    } else {
        if (asprintf (&out, "%s/%s.out", s->dir, s->name) < 0)
            return zpar__spec_fail (c, top, ENOMEM, "out of memory");
        s->output_dir = out;
    }
    if (k[K_STDOUT])
        s->stdout_t = compile_path (c, k[K_STDOUT], "stdout");
    else
        s->stdout_t = zpar__spec_compile (c, root, "stdout", "{index}.out", s->names, s->nnames);
    if (!s->stdout_t)
        return -1;
    if (k[K_STDERR])
        s->stderr_t = compile_path (c, k[K_STDERR], "stderr");
    else
        s->stderr_t = zpar__spec_compile (c, root, "stderr", "{index}.err", s->names, s->nnames);
    if (!s->stderr_t)
        return -1;
    for (int i = 0; i < ZPAR_SWEEP_NRES; i++)
        if (k[K_CORES + i] && zpar__spec_load_res (c, k[K_CORES + i], i) < 0)
            return -1;
    if (k[K_ESTIMATE] && load_estimate (c, k[K_ESTIMATE]) < 0)
        return -1;
    if (k[K_ESTIMATE_BY] && load_estimate_by (c, k[K_ESTIMATE_BY]) < 0)
        return -1;
    if (k[K_STOP_SIGNAL]) {
        if (zpar__spec_want_string (c, k[K_STOP_SIGNAL], "stop-signal") < 0)
            return -1;
        if ((s->stop_signal = signal_number (sval (k[K_STOP_SIGNAL]))) <= 0)
            return zpar__spec_fail (c, k[K_STOP_SIGNAL]->start_mark, EINVAL,
                                    "stop-signal '%s' is not a signal that can be caught (TERM, "
                                    "INT, HUP, USR1, USR2, QUIT, ALRM, XCPU, or a number)",
                                    sval (k[K_STOP_SIGNAL]));
    }
    if (k[K_STOP_GRACE]) {
        double v;
        if (zpar__spec_want_string (c, k[K_STOP_GRACE], "stop-grace") < 0)
            return -1;
        if (zpar__duration_parse (sval (k[K_STOP_GRACE]), &v) < 0 || v > 86400)
            return zpar__spec_fail (c, k[K_STOP_GRACE]->start_mark, EINVAL,
                                    "stop-grace '%s' is not a duration up to a day (like 30s, "
                                    "2m)",
                                    sval (k[K_STOP_GRACE]));
        s->stop_grace = v;
    }
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
    if (zpar__spec_check_utf8 (buf, len, &line, &col, &bad) < 0) {
        if (bad)
            zpar__errnoprintf (err, EINVAL, "%s:%zu:%zu: invalid UTF-8 (byte 0x%02x)", path, line,
                               col, (unsigned)bad);
        else
            zpar__errnoprintf (err, EINVAL, "%s:%zu:%zu: NUL byte in the file", path, line, col);
        return NULL;
    }
    if (zpar__spec_check_limits (buf, len, path, err) < 0)
        return NULL;
    if (!(s = calloc (1, sizeof (*s))))
        goto nomem;
    c.spec = s;
    if (zpar__spec_abs_paths (path, &s->path, &s->dir) < 0)
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
            zpar__errnoprintf (err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s", path, m.line + 1,
                               m.column + 1, parser.problem ? parser.problem : "?");
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
                                   "is a second one",
                                   path, m.line + 1, m.column + 1);
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
        zpar__errnoprintf (err, S_ISDIR (st.st_mode) ? EISDIR : EINVAL, "%s: not a regular file",
                           path);
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
