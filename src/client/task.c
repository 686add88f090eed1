/* task.c - task descriptions. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "zpar.h"

static zpar_task_t *task_new (zpar_task_kind_t kind)
{
    zpar_task_t *t = calloc (1, sizeof (*t));
    if (!t)
        return NULL;
    t->p.kind = kind;
    return t;
}

/* Append a copy of s to the NULL-terminated *v of *n strings. */
static int strv_add (char ***v, size_t *n, const char *s)
{
    char **nv = realloc (*v, (*n + 2) * sizeof (*nv));
    if (!nv)
        return -1;
    *v = nv;
    if (!(nv[*n] = strdup (s)))
        return -1;
    nv[++*n] = NULL;
    return 0;
}

static int str_set (char **dst, const char **view, const char *s)
{
    char *copy = strdup (s);
    if (!copy)
        return -1;
    free (*dst);
    *dst = copy;
    *view = copy;
    return 0;
}

ZPAR_API zpar_task_t *zpar_task_command (const char *const argv[])
{
    zpar_task_t *t;
    if (!argv || !argv[0] || !argv[0][0]) {
        errno = EINVAL;
        return NULL;
    }
    if (!(t = task_new (ZPAR_TASK_COMMAND)))
        return NULL;
    for (size_t i = 0; argv[i]; i++) {
        if (strv_add (&t->argv, &t->p.argc, argv[i]) < 0) {
            zpar_task_destroy (t);
            return NULL;
        }
    }
    t->p.argv = (const char *const *)t->argv;
    return t;
}

ZPAR_API zpar_task_t *zpar_task_function (const char *lib, const char *symbol, const void *input,
                                          size_t len)
{
    zpar_task_t *t;
    if (!lib || !*lib || !symbol || !*symbol || (len && !input)) {
        errno = EINVAL;
        return NULL;
    }
    if (!(t = task_new (ZPAR_TASK_FUNCTION)))
        return NULL;
    if (str_set (&t->lib, &t->p.lib, lib) < 0 || str_set (&t->symbol, &t->p.symbol, symbol) < 0 ||
        (len && !(t->input = malloc (len)))) {
        zpar_task_destroy (t);
        return NULL;
    }
    if (len)
        memcpy (t->input, input, len);
    t->p.input = t->input;
    t->p.input_len = len;
    return t;
}

static void strv_free (char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free (v[i]);
    free (v);
}

ZPAR_API void zpar_task_destroy (zpar_task_t *t)
{
    if (t) {
        int saved = errno;
        strv_free (t->argv);
        strv_free (t->env);
        free (t->after);
        free (t->targets);
        free (t->cwd);
        free (t->lib);
        free (t->symbol);
        free (t->input);
        free (t);
        errno = saved;
    }
}

ZPAR_API int zpar_task_setenv (zpar_task_t *t, const char *name, const char *value)
{
    char *kv;
    int rc;
    if (!t || !name || !*name || strchr (name, '=') || !value) {
        errno = EINVAL;
        return -1;
    }
    if (asprintf (&kv, "%s=%s", name, value) < 0)
        return -1;
    rc = strv_add (&t->env, &t->p.envc, kv);
    free (kv);
    t->p.env = (const char *const *)t->env;
    return rc;
}

ZPAR_API int zpar_task_set_cwd (zpar_task_t *t, const char *dir)
{
    if (!t || !dir || !*dir) {
        errno = EINVAL;
        return -1;
    }
    return str_set (&t->cwd, &t->p.cwd, dir);
}

ZPAR_API int zpar_task_set_timeout (zpar_task_t *t, double seconds)
{
    if (!t || !(seconds >= 0) || seconds > 1e9) {
        errno = EINVAL;
        return -1;
    }
    t->p.timeout_ms = (uint64_t)(seconds * 1000.0 + 0.5);
    return 0;
}

ZPAR_API int zpar_task_set_stop_signal (zpar_task_t *t, int signum, double grace)
{
    if (!t || signum < 1 || signum > 64 || signum == SIGKILL || signum == SIGSTOP ||
        !(grace >= 0) || grace > 86400) {
        errno = EINVAL;
        return -1;
    }
    t->p.stop_signal = (uint64_t)signum;
    t->p.stop_grace_ms = (uint64_t)(grace * 1000.0 + 0.5);
    if (t->p.stop_grace_ms == 0)
        t->p.stop_grace_ms = 1; /* 0 on the wire means the default */
    return 0;
}

ZPAR_API int zpar_task_set_resources (zpar_task_t *t, const zpar_resources_t *r)
{
    const zpar_resources_t none = {0};
    if (!r)
        r = &none;
    if (!t || r->cores > ZPAR_RES_MAX_CORES || r->gpus > ZPAR_RES_MAX_GPUS ||
        r->ranks > ZPAR_RES_MAX_RANKS || r->nodes > ZPAR_RES_MAX_NODES ||
        r->ranks_per_node > ZPAR_RES_MAX_RANKS || ((r->nodes || r->ranks_per_node) && !r->ranks)) {
        errno = EINVAL;
        return -1;
    }
    t->p.cores = r->cores > 1 ? r->cores : 0; /* one core: nothing on the wire */
    t->p.gpus = r->gpus;
    t->p.memory = r->memory;
    t->p.ranks = r->ranks;
    t->p.nodes = r->nodes;
    t->p.ranks_per_node = r->ranks_per_node;
    return 0;
}

ZPAR_API int zpar_task_set_retries (zpar_task_t *t, unsigned retries)
{
    if (!t || retries > 1000) {
        errno = EINVAL;
        return -1;
    }
    t->p.retries = retries;
    return 0;
}

ZPAR_API int zpar_task_add_after (zpar_task_t *t, zpar_task_id_t dep)
{
    zpar_tid_t *v;
    if (!t || dep.id == 0) {
        errno = EINVAL;
        return -1;
    }
    if (!(v = realloc (t->after, (t->p.nafter + 1) * sizeof (*v))))
        return -1;
    v[t->p.nafter++] = zpar__tid (dep.id);
    t->after = v;
    t->p.after = v;
    return 0;
}

ZPAR_API int zpar_task_add_target (zpar_task_t *t, zpar_engine_id_t e)
{
    zpar_eid_t *v;
    if (!t || e.id == 0) {
        errno = EINVAL;
        return -1;
    }
    if (!(v = realloc (t->targets, (t->p.ntargets + 1) * sizeof (*v))))
        return -1;
    v[t->p.ntargets++] = zpar__eid (e.id);
    t->targets = v;
    t->p.targets = v;
    return 0;
}

ZPAR_API int zpar_task_set_priority (zpar_task_t *t, int priority)
{
    if (!t) {
        errno = EINVAL;
        return -1;
    }
    t->p.priority = priority;
    return 0;
}

ZPAR_API int zpar_task_set_inline (zpar_task_t *t, int enable)
{
    if (!t || t->p.kind != ZPAR_TASK_FUNCTION) {
        errno = EINVAL;
        return -1;
    }
    t->p.inline_fn = enable ? 1 : 0;
    return 0;
}

ZPAR_API int zpar_task_set_output_cap (zpar_task_t *t, size_t bytes)
{
    if (!t) {
        errno = EINVAL;
        return -1;
    }
    t->p.output_cap = bytes;
    return 0;
}

ZPAR_API void zpar_task_id_format (zpar_task_id_t id, char *buf, size_t size)
{
    snprintf (buf, size, "%u.%u", (unsigned)(id.id >> 32), (unsigned)(id.id & 0xffffffffu));
}

ZPAR_API int zpar_task_id_parse (const char *text, zpar_task_id_t *id)
{
    char *end;
    unsigned long c, s;
    if (!text || !id || !*text || *text == '-' || *text == '+') {
        errno = EINVAL;
        return -1;
    }
    errno = 0;
    c = strtoul (text, &end, 10);
    if (errno || *end != '.' || end == text || c == 0 || c > 0xffffffffUL || end[1] == '-' ||
        end[1] == '+') {
        errno = EINVAL;
        return -1;
    }
    text = end + 1;
    s = strtoul (text, &end, 10);
    if (errno || *end != '\0' || end == text || s == 0 || s > 0xffffffffUL) {
        errno = EINVAL;
        return -1;
    }
    id->id = ((uint64_t)c << 32) | s;
    return 0;
}
