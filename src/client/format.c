/* format.c - a result as one human line or as one JSON object
 * (zpar_result_summary, zpar_result_write_json). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "json.h"
#include "zpar.h"

/* What happened, in words, for the summary line. */
static void describe (const zpar_result_t *r, char *what, size_t size)
{
    zpar_status_t st = zpar_result_status (r);
    const char *err = zpar_result_error (r);

    switch (st) {
    case ZPAR_STATUS_PENDING:
        snprintf (what, size, "not finished yet");
        break;
    case ZPAR_STATUS_OK:
    case ZPAR_STATUS_FAILED:
        if (zpar_result_exit_code (r) >= 0)
            snprintf (what, size, "exit %d", zpar_result_exit_code (r));
        else
            snprintf (what, size, "%s", st == ZPAR_STATUS_OK ? "returned 0" : "returned non-zero");
        break;
    case ZPAR_STATUS_SIGNALED:
        snprintf (what, size, "killed by signal %d (%s)", zpar_result_signal (r),
                  strsignal (zpar_result_signal (r)));
        break;
    case ZPAR_STATUS_TIMEOUT:
        snprintf (what, size, "ran past its timeout and was killed");
        break;
    case ZPAR_STATUS_ENGINE_DIED:
        snprintf (what, size, "its engine died and no retry was left");
        break;
    case ZPAR_STATUS_ERROR:
        snprintf (what, size, "could not run");
        break;
    case ZPAR_STATUS_ABORTED:
        snprintf (what, size, "aborted");
        break;
    case ZPAR_STATUS_DEPENDENCY:
        snprintf (what, size, "a task it depended on did not succeed");
        break;
    }
    /* the engine's own explanation beats the generic one */
    if (err && *err && st != ZPAR_STATUS_OK && st != ZPAR_STATUS_FAILED &&
        st != ZPAR_STATUS_SIGNALED)
        snprintf (what, size, "%s", err);
}

ZPAR_API int zpar_result_summary (const zpar_result_t *r, char *buf, size_t size)
{
    char id[32], what[160] = "", where[320] = "";
    zpar_status_t st;
    zpar_engine_id_t e;
    const char *host;

    if (!r || !buf || !size) {
        errno = EINVAL;
        return -1;
    }
    st = zpar_result_status (r);
    e = zpar_result_engine (r);
    host = zpar_result_host (r);
    zpar_task_id_format (zpar_result_id (r), id, sizeof (id));
    describe (r, what, sizeof (what));
    if ((st == ZPAR_STATUS_OK || st == ZPAR_STATUS_FAILED || st == ZPAR_STATUS_SIGNALED ||
         st == ZPAR_STATUS_TIMEOUT) &&
        e.id)
        snprintf (where, sizeof (where), ", %.3f s wall, %.3f s cpu, engine %u%s%s%s",
                  zpar_result_wall (r), zpar_result_cpu (r), e.id, host && *host ? " (" : "",
                  host && *host ? host : "", host && *host ? ")" : "");
    else if (e.id)
        snprintf (where, sizeof (where), " (engine %u)", e.id);
    if (zpar_result_attempts (r) > 1 && st != ZPAR_STATUS_PENDING)
        snprintf (where + strlen (where), sizeof (where) - strlen (where), ", %u attempts",
                  zpar_result_attempts (r));
    snprintf (buf, size, "%s %s: %s%s", id, zpar_status_name (st), what, where);
    return 0;
}

static void put_str (FILE *f, const char *key, const void *s, size_t len)
{
    fprintf (f, ",\"%s\":", key);
    zpar__json_put_str (f, s ? s : "", s ? len : 0);
}

static void put_num_or_null (FILE *f, const char *key, long v, int is_null)
{
    fprintf (f, ",\"%s\":", key);
    if (is_null)
        fputs ("null", f);
    else
        fprintf (f, "%ld", v);
}

static void put_base64 (FILE *f, const char *key, const void *data, size_t len)
{
    size_t size = sodium_base64_ENCODED_LEN (len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc (size);
    fprintf (f, ",\"%s\":\"", key);
    if (b64) /* out of memory: an empty string */
        fputs (sodium_bin2base64 (b64, size, data ? data : "", data ? len : 0,
                                  sodium_base64_VARIANT_ORIGINAL),
               f);
    fputc ('"', f);
    free (b64);
}

ZPAR_API int zpar_result_write_json (const zpar_result_t *r, FILE *f)
{
    size_t olen = 0, elen = 0, flen = 0;
    const void *o, *e, *fo;
    const char *host, *err;
    char id[32];
    int trunc;

    if (!r || !f) {
        errno = EINVAL;
        return -1;
    }
    o = zpar_result_stdout (r, &olen);
    e = zpar_result_stderr (r, &elen);
    fo = zpar_result_output (r, &flen);
    host = zpar_result_host (r);
    err = zpar_result_error (r);
    trunc = zpar_result_truncated (r);
    zpar_task_id_format (zpar_result_id (r), id, sizeof (id));
    fputs ("{\"id\":", f);
    zpar__json_put_str (f, id, strlen (id));
    put_str (f, "status", zpar_status_name (zpar_result_status (r)),
             strlen (zpar_status_name (zpar_result_status (r))));
    put_num_or_null (f, "exit_code", zpar_result_exit_code (r), zpar_result_exit_code (r) < 0);
    put_num_or_null (f, "signal", zpar_result_signal (r), 0);
    fprintf (f, ",\"wall\":%.6f,\"cpu\":%.6f", zpar_result_wall (r), zpar_result_cpu (r));
    put_num_or_null (f, "maxrss_kb", zpar_result_maxrss_kb (r), 0);
    put_num_or_null (f, "engine", (long)zpar_result_engine (r).id, zpar_result_engine (r).id == 0);
    put_str (f, "host", host, host ? strlen (host) : 0);
    fprintf (f, ",\"attempts\":%u", zpar_result_attempts (r));
    put_str (f, "error", err, err ? strlen (err) : 0);
    put_str (f, "stdout", o, olen);
    put_str (f, "stderr", e, elen);
    fprintf (f, ",\"stdout_truncated\":%s,\"stderr_truncated\":%s", (trunc & 1) ? "true" : "false",
             (trunc & 2) ? "true" : "false");
    put_base64 (f, "output", fo, flen);
    fputs (",\"output_encoding\":\"base64\"}\n", f);
    return ferror (f) ? (errno = EIO, -1) : 0;
}
