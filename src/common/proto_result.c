/* proto_result.c - typed codec of the RESULT message. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "error.h"
#include "proto_result.h"

void zpar__proto_result_clear (zpar_proto_result_t *r)
{
    if (r) {
        zpar__proto_mem_free (&r->mem);
        memset (r, 0, sizeof (*r));
    }
}

void zpar__proto_result_error (zpar_proto_result_t *r, zpar_tid_t task, zpar_eid_t engine,
                               zpar_cid_t client, zpar_status_t status, const char *text)
{
    if (!r)
        return;
    memset (r, 0, sizeof (*r));
    r->h.task = task;
    r->h.engine = engine;
    r->h.client = client;
    r->status = status;
    r->exit_code = -1;
    r->error = text;
}

int zpar__proto_result_encode_error (zpar_msg_t *m, zpar_tid_t task, zpar_eid_t engine,
                                     zpar_cid_t client, zpar_status_t status, const char *text)
{
    zpar_proto_result_t r;
    zpar__proto_result_error (&r, task, engine, client, status, text);
    return zpar__proto_result_encode (m, &r);
}

static int status_ok (uint64_t s)
{
    return s >= ZPAR_STATUS_OK && s <= ZPAR_STATUS_DEPENDENCY;
}

int zpar__proto_result_encode (zpar_msg_t *m, const zpar_proto_result_t *r)
{
    int rc = 0;

    if (!m || !r || !status_ok ((uint64_t)r->status) || (r->stdout_len && !r->stdout_buf) ||
        (r->stderr_len && !r->stderr_buf) || (r->output_len && !r->output) || r->errnum < 0) {
        errno = EINVAL;
        return -1;
    }
    zpar__proto_begin_encode (m, ZPAR_MSG_RESULT, &r->h);
    zpar__proto_put_u64 (&rc, m, ZPAR_F_STATUS, (uint64_t)r->status);
    if (r->host)
        zpar__proto_put_str (&rc, m, ZPAR_F_HOST, r->host);
    if (r->attempt)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_ATTEMPT, r->attempt);
    zpar__proto_put_u64 (&rc, m, ZPAR_F_EXIT, (uint64_t)(int64_t)r->exit_code);
    if (r->ran) {
        zpar__proto_put_u64 (&rc, m, ZPAR_F_SIGNAL, r->signal);
        zpar__proto_put_u64 (&rc, m, ZPAR_F_WALL_US, r->wall_us);
        zpar__proto_put_u64 (&rc, m, ZPAR_F_UTIME_US, r->utime_us);
        zpar__proto_put_u64 (&rc, m, ZPAR_F_STIME_US, r->stime_us);
        zpar__proto_put_u64 (&rc, m, ZPAR_F_MAXRSS_KB, r->maxrss_kb);
        zpar__proto_put_u64 (&rc, m, ZPAR_F_STARTED_US, r->started_us);
        zpar__proto_put_u64 (&rc, m, ZPAR_F_FINISHED_US, r->finished_us);
        zpar__proto_put_u64 (&rc, m, ZPAR_F_PID, r->pid);
    }
    if (r->stdout_len)
        zpar__proto_put_bytes (&rc, m, ZPAR_F_STDOUT, r->stdout_buf, r->stdout_len);
    if (r->stderr_len)
        zpar__proto_put_bytes (&rc, m, ZPAR_F_STDERR, r->stderr_buf, r->stderr_len);
    if (r->output_len)
        zpar__proto_put_bytes (&rc, m, ZPAR_F_OUTPUT, r->output, r->output_len);
    if (r->truncated)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_TRUNCATED, (uint64_t)r->truncated);
    if (r->error && r->error[0])
        zpar__proto_put_str (&rc, m, ZPAR_F_ERROR, r->error);
    if (r->submitted_us)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_SUBMITTED_US, r->submitted_us);
    if (r->errnum)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_ERRNO, (uint64_t)r->errnum);
    return zpar__proto_end_encode (m, rc);
}

int zpar__proto_result_decode (const zpar_msg_t *m, zpar_proto_result_t *r, zpar_error_t *err)
{
    uint64_t status = 0, exitv = UINT64_MAX, trunc = 0, errnum = 0;
    int rc;

    if (!m || !r)
        return zpar__errnoprintf (err, EINVAL, "no message or no result to decode into");
    memset (r, 0, sizeof (*r));
    if (zpar__proto_begin_decode (m, ZPAR_MSG_RESULT, &r->h, err) < 0)
        goto error;
    if ((rc = zpar__proto_u64 (m, ZPAR_F_STATUS, &status, err)) < 0)
        goto error;
    if (rc == 0) {
        zpar__proto_missing (err, ZPAR_F_STATUS);
        goto error;
    }
    if (!status_ok (status)) {
        zpar__errnoprintf (err, EPROTO, "unknown task status %llu", (unsigned long long)status);
        goto error;
    }
    r->status = (zpar_status_t)status;
    if (zpar__proto_u64 (m, ZPAR_F_EXIT, &exitv, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_SIGNAL, &r->signal, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_WALL_US, &r->wall_us, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_UTIME_US, &r->utime_us, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_STIME_US, &r->stime_us, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_MAXRSS_KB, &r->maxrss_kb, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_STARTED_US, &r->started_us, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_FINISHED_US, &r->finished_us, err) < 0 ||
        (rc = zpar__proto_u64 (m, ZPAR_F_PID, &r->pid, err)) < 0)
        goto error;
    r->ran = rc;
    if (zpar__proto_str (m, ZPAR_F_HOST, &r->mem, &r->host, err) < 0 ||
        zpar__proto_bytes (m, ZPAR_F_STDOUT, &r->stdout_buf, &r->stdout_len) < 0 ||
        zpar__proto_bytes (m, ZPAR_F_STDERR, &r->stderr_buf, &r->stderr_len) < 0 ||
        zpar__proto_bytes (m, ZPAR_F_OUTPUT, &r->output, &r->output_len) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_TRUNCATED, &trunc, err) < 0 ||
        zpar__proto_str (m, ZPAR_F_ERROR, &r->mem, &r->error, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_ATTEMPT, &r->attempt, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_SUBMITTED_US, &r->submitted_us, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_ERRNO, &errnum, err) < 0)
        goto error;
    if (trunc > 3) {
        zpar__errnoprintf (err, EPROTO, "truncated flags %llu: only bits 0 and 1 exist",
                           (unsigned long long)trunc);
        goto error;
    }
    if (errnum > INT32_MAX) {
        zpar__errnoprintf (err, EPROTO, "errno %llu out of range", (unsigned long long)errnum);
        goto error;
    }
    if ((int64_t)exitv < -1 || (int64_t)exitv > INT32_MAX) {
        zpar__errnoprintf (err, EPROTO, "exit status %lld out of range", (long long)exitv);
        goto error;
    }
    r->exit_code = (int)(int64_t)exitv;
    r->truncated = (unsigned)trunc;
    r->errnum = (int)errnum;
    return 0;
error:
    zpar__proto_result_clear (r);
    return -1;
}

zpar_status_t zpar__proto_result_status (const zpar_msg_t *m)
{
    uint64_t v;
    if (!m || zpar__msg_get_u64 (m, ZPAR_F_STATUS, &v) < 0 || v < ZPAR_STATUS_OK ||
        v > ZPAR_STATUS_DEPENDENCY)
        return ZPAR_STATUS_ERROR;
    return (zpar_status_t)v;
}
