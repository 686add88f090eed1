/* result.c - task results. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "zpar.h"

ZPAR_API const char *zpar_status_name (zpar_status_t s)
{
    switch (s) {
    case ZPAR_STATUS_PENDING:
        return "pending";
    case ZPAR_STATUS_OK:
        return "ok";
    case ZPAR_STATUS_FAILED:
        return "failed";
    case ZPAR_STATUS_SIGNALED:
        return "signaled";
    case ZPAR_STATUS_TIMEOUT:
        return "timeout";
    case ZPAR_STATUS_ENGINE_DIED:
        return "engine-died";
    case ZPAR_STATUS_ERROR:
        return "error";
    case ZPAR_STATUS_ABORTED:
        return "aborted";
    case ZPAR_STATUS_DEPENDENCY:
        return "dependency-failed";
    }
    return "unknown";
}

zpar_result_t *zpar__result_from_msg (zpar_msg_t *m)
{
    zpar_result_t *r = calloc (1, sizeof (*r));
    uint64_t st;
    if (!r) {
        zpar__msg_destroy (m);
        return NULL;
    }
    r->m = m;
    st = zpar__msg_u64_or (m, ZPAR_F_STATUS, ZPAR_STATUS_ERROR);
    r->status = st <= ZPAR_STATUS_DEPENDENCY ? (zpar_status_t)st : ZPAR_STATUS_ERROR;
    r->host = zpar__msg_get_str (m, ZPAR_F_HOST);
    r->error = zpar__msg_get_str (m, ZPAR_F_ERROR);
    return r;
}

zpar_result_t *zpar__result_make (uint64_t id, uint32_t engine, zpar_status_t st, const char *error)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_RESULT);
    if (!m)
        return NULL;
    m->hdr.task = id;
    m->hdr.engine = engine;
    if (zpar__msg_add_u64 (m, ZPAR_F_STATUS, st) < 0 ||
        zpar__msg_add_u64 (m, ZPAR_F_EXIT, (uint64_t)-1) < 0 ||
        (error && zpar__msg_add_str (m, ZPAR_F_ERROR, error) < 0)) {
        zpar__msg_destroy (m);
        return NULL;
    }
    return zpar__result_from_msg (m);
}

ZPAR_API void zpar_result_destroy (zpar_result_t *r)
{
    if (r) {
        int saved = errno;
        zpar__msg_destroy (r->m);
        free (r->host);
        free (r->error);
        free (r);
        errno = saved;
    }
}

ZPAR_API zpar_task_id_t zpar_result_id (const zpar_result_t *r)
{
    return (zpar_task_id_t){r ? r->m->hdr.task : 0};
}

ZPAR_API zpar_status_t zpar_result_status (const zpar_result_t *r)
{
    return r ? r->status : ZPAR_STATUS_PENDING;
}

ZPAR_API int zpar_result_exit_code (const zpar_result_t *r)
{
    uint64_t v;
    if (!r || zpar__msg_get_u64 (r->m, ZPAR_F_EXIT, &v) < 0 || v == (uint64_t)-1)
        return -1;
    return (int)v;
}

ZPAR_API int zpar_result_signal (const zpar_result_t *r)
{
    return r ? (int)zpar__msg_u64_or (r->m, ZPAR_F_SIGNAL, 0) : 0;
}

ZPAR_API double zpar_result_wall (const zpar_result_t *r)
{
    return r ? (double)zpar__msg_u64_or (r->m, ZPAR_F_WALL_US, 0) / 1e6 : 0.0;
}

ZPAR_API double zpar_result_cpu (const zpar_result_t *r)
{
    return r ? (double)(zpar__msg_u64_or (r->m, ZPAR_F_UTIME_US, 0) +
                        zpar__msg_u64_or (r->m, ZPAR_F_STIME_US, 0)) /
                   1e6
             : 0.0;
}

ZPAR_API long zpar_result_maxrss_kb (const zpar_result_t *r)
{
    return r ? (long)zpar__msg_u64_or (r->m, ZPAR_F_MAXRSS_KB, 0) : 0;
}

ZPAR_API zpar_engine_id_t zpar_result_engine (const zpar_result_t *r)
{
    return (zpar_engine_id_t){r ? r->m->hdr.engine : 0};
}

ZPAR_API const char *zpar_result_host (const zpar_result_t *r)
{
    return r && r->host ? r->host : "";
}

ZPAR_API unsigned zpar_result_attempts (const zpar_result_t *r)
{
    uint64_t a = r ? zpar__msg_u64_or (r->m, ZPAR_F_ATTEMPT, 0) : 0;
    if (!a && r)
        a = r->m->hdr.flags & 0xff;
    return (unsigned)(a ? a : 1);
}

ZPAR_API const char *zpar_result_error (const zpar_result_t *r)
{
    return r && r->error ? r->error : "";
}

static const void *bytes (const zpar_result_t *r, zpar_field_t key, size_t *len)
{
    const void *p = r ? zpar__msg_get_bytes (r->m, key, len) : NULL;
    if (!p) {
        if (len)
            *len = 0;
        return "";
    }
    return p;
}

ZPAR_API const void *zpar_result_stdout (const zpar_result_t *r, size_t *len)
{
    return bytes (r, ZPAR_F_STDOUT, len);
}

ZPAR_API const void *zpar_result_stderr (const zpar_result_t *r, size_t *len)
{
    return bytes (r, ZPAR_F_STDERR, len);
}

ZPAR_API const void *zpar_result_output (const zpar_result_t *r, size_t *len)
{
    return bytes (r, ZPAR_F_OUTPUT, len);
}

ZPAR_API int zpar_result_truncated (const zpar_result_t *r)
{
    return r ? (int)zpar__msg_u64_or (r->m, ZPAR_F_TRUNCATED, 0) : 0;
}
