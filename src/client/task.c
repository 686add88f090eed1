/* task.c - task descriptions. */
#include "config.h"

#include <errno.h>
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
    t->kind = kind;
    if (!(t->fields = zpar__msg_create (ZPAR_MSG_TASK)) ||
        zpar__msg_add_u64 (t->fields, ZPAR_F_KIND, kind) < 0) {
        zpar_task_destroy (t);
        return NULL;
    }
    return t;
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
        if (zpar__msg_add_str (t->fields, ZPAR_F_ARGV, argv[i]) < 0) {
            zpar_task_destroy (t);
            return NULL;
        }
    }
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
    if (zpar__msg_add_str (t->fields, ZPAR_F_LIB, lib) < 0 ||
        zpar__msg_add_str (t->fields, ZPAR_F_SYMBOL, symbol) < 0 ||
        zpar__msg_add_bytes (t->fields, ZPAR_F_INPUT, input, len) < 0) {
        zpar_task_destroy (t);
        return NULL;
    }
    return t;
}

ZPAR_API void zpar_task_destroy (zpar_task_t *t)
{
    if (t) {
        int saved = errno;
        zpar__msg_destroy (t->fields);
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
    rc = zpar__msg_add_str (t->fields, ZPAR_F_ENV, kv);
    free (kv);
    return rc;
}

ZPAR_API int zpar_task_set_cwd (zpar_task_t *t, const char *dir)
{
    if (!t || !dir || !*dir) {
        errno = EINVAL;
        return -1;
    }
    return zpar__msg_add_str (t->fields, ZPAR_F_CWD, dir);
}

ZPAR_API int zpar_task_set_timeout (zpar_task_t *t, double seconds)
{
    if (!t || !(seconds >= 0) || seconds > 1e9) {
        errno = EINVAL;
        return -1;
    }
    return zpar__msg_add_u64 (t->fields, ZPAR_F_TIMEOUT_MS, (uint64_t)(seconds * 1000.0 + 0.5));
}

ZPAR_API int zpar_task_set_retries (zpar_task_t *t, unsigned retries)
{
    if (!t || retries > 1000) {
        errno = EINVAL;
        return -1;
    }
    return zpar__msg_add_u64 (t->fields, ZPAR_F_RETRIES, retries);
}

ZPAR_API int zpar_task_add_after (zpar_task_t *t, zpar_task_id_t dep)
{
    if (!t || dep.id == 0) {
        errno = EINVAL;
        return -1;
    }
    return zpar__msg_add_u64 (t->fields, ZPAR_F_AFTER, dep.id);
}

ZPAR_API int zpar_task_add_target (zpar_task_t *t, zpar_engine_id_t e)
{
    if (!t || e.id == 0) {
        errno = EINVAL;
        return -1;
    }
    return zpar__msg_add_u64 (t->fields, ZPAR_F_TARGET, e.id);
}

ZPAR_API int zpar_task_set_priority (zpar_task_t *t, int priority)
{
    if (!t) {
        errno = EINVAL;
        return -1;
    }
    return zpar__msg_add_u64 (t->fields, ZPAR_F_PRIORITY, (uint64_t)(int64_t)priority);
}

ZPAR_API int zpar_task_set_inline (zpar_task_t *t, int enable)
{
    if (!t || t->kind != ZPAR_TASK_FUNCTION) {
        errno = EINVAL;
        return -1;
    }
    return zpar__msg_add_u64 (t->fields, ZPAR_F_INLINE, enable ? 1 : 0);
}

ZPAR_API int zpar_task_set_output_cap (zpar_task_t *t, size_t bytes)
{
    if (!t) {
        errno = EINVAL;
        return -1;
    }
    return zpar__msg_add_u64 (t->fields, ZPAR_F_OUTPUT_CAP, bytes);
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
