/* result.c - task results. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "proto_result.h"
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
    zpar_result_t *r;
    zpar_error_t err;
    uint64_t id = m ? m->hdr.task : 0;
    uint32_t engine = m ? m->hdr.engine : 0;
    if (!m)
        return NULL;
    if (!(r = calloc (1, sizeof (*r)))) {
        zpar__msg_destroy (m);
        return NULL;
    }
    if (zpar__proto_result_decode (m, &r->p, &err) == 0) {
        r->m = m; /* the byte fields of r->p point into it */
        return r;
    }
    /* a malformed result: the task's outcome is unknown */
    zpar__msg_destroy (m);
    free (r);
    {
        char text[ZPAR_ERROR_TEXT_MAX + 32];
        snprintf (text, sizeof (text), "malformed result: %s", err.text);
        return zpar__result_make (id, engine, ZPAR_STATUS_ERROR, text);
    }
}

zpar_result_t *zpar__result_make (uint64_t id, uint32_t engine, zpar_status_t st, const char *error)
{
    zpar_result_t *r = calloc (1, sizeof (*r));
    if (!r)
        return NULL;
    r->p.h.task = zpar__tid (id);
    r->p.h.engine = zpar__eid (engine);
    r->p.h.client = zpar__tid_client (r->p.h.task);
    r->p.status = st;
    r->p.exit_code = -1;
    if (error && !(r->p.error = r->own_error = strdup (error))) {
        free (r);
        return NULL;
    }
    return r;
}

ZPAR_API void zpar_result_destroy (zpar_result_t *r)
{
    if (r) {
        int saved = errno;
        zpar__proto_result_clear (&r->p);
        zpar__msg_destroy (r->m);
        free (r->own_error);
        free (r);
        errno = saved;
    }
}

ZPAR_API zpar_task_id_t zpar_result_id (const zpar_result_t *r)
{
    return (zpar_task_id_t){r ? r->p.h.task.v : 0};
}

ZPAR_API zpar_status_t zpar_result_status (const zpar_result_t *r)
{
    return r ? r->p.status : ZPAR_STATUS_PENDING;
}

ZPAR_API int zpar_result_exit_code (const zpar_result_t *r)
{
    return r && r->p.exit_code >= 0 ? r->p.exit_code : -1;
}

ZPAR_API int zpar_result_signal (const zpar_result_t *r)
{
    return r ? (int)r->p.signal : 0;
}

ZPAR_API double zpar_result_wall (const zpar_result_t *r)
{
    return r ? (double)r->p.wall_us / 1e6 : 0.0;
}

ZPAR_API double zpar_result_cpu (const zpar_result_t *r)
{
    return r ? (double)(r->p.utime_us + r->p.stime_us) / 1e6 : 0.0;
}

ZPAR_API long zpar_result_maxrss_kb (const zpar_result_t *r)
{
    return r ? (long)r->p.maxrss_kb : 0;
}

ZPAR_API zpar_engine_id_t zpar_result_engine (const zpar_result_t *r)
{
    return (zpar_engine_id_t){r ? r->p.h.engine.v : 0};
}

ZPAR_API const char *zpar_result_host (const zpar_result_t *r)
{
    return r && r->p.host ? r->p.host : "";
}

ZPAR_API unsigned zpar_result_attempts (const zpar_result_t *r)
{
    uint64_t a = r ? r->p.attempt : 0;
    if (!a && r)
        a = r->p.h.flags & 0xff;
    return (unsigned)(a ? a : 1);
}

ZPAR_API const char *zpar_result_error (const zpar_result_t *r)
{
    return r && r->p.error ? r->p.error : "";
}

static const void *bytes (const void *p, size_t n, size_t *len)
{
    if (len)
        *len = p ? n : 0;
    return p ? p : "";
}

ZPAR_API const void *zpar_result_stdout (const zpar_result_t *r, size_t *len)
{
    return bytes (r ? r->p.stdout_buf : NULL, r ? r->p.stdout_len : 0, len);
}

ZPAR_API const void *zpar_result_stderr (const zpar_result_t *r, size_t *len)
{
    return bytes (r ? r->p.stderr_buf : NULL, r ? r->p.stderr_len : 0, len);
}

ZPAR_API const void *zpar_result_output (const zpar_result_t *r, size_t *len)
{
    return bytes (r ? r->p.output : NULL, r ? r->p.output_len : 0, len);
}

ZPAR_API int zpar_result_truncated (const zpar_result_t *r)
{
    return r ? (int)r->p.truncated : 0;
}
