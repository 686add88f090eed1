/* proto_iopub.c - typed codecs of STREAM, TASK_STATUS and NOTIFY. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "proto_iopub.h"

static const char *const task_event_names[] = {NULL, "started", "finished"};
static const char *const notify_names[] = {NULL, "registered", "unregistered", "died", "shutdown"};
#define NNAMES(a) ((int)(sizeof (a) / sizeof ((a)[0])))

const char *zpar__task_event_name (zpar_task_event_t e)
{
    return (int)e > 0 && (int)e < NNAMES (task_event_names) ? task_event_names[e] : NULL;
}

const char *zpar__notify_event_name (zpar_notify_event_t e)
{
    return (int)e > 0 && (int)e < NNAMES (notify_names) ? notify_names[e] : NULL;
}

int zpar__proto_iopub_topic (char *buf, size_t size, zpar_cid_t c, zpar_eid_t e)
{
    int n;
    if (!buf || !size) {
        errno = EINVAL;
        return -1;
    }
    n = snprintf (buf, size, "c%u.e%u", c.v, e.v);
    if (n < 0 || (size_t)n >= size) {
        errno = ENOSPC;
        return -1;
    }
    return n;
}

static int set_topic (zpar_msg_t *m, const zpar_proto_hdr_t *h)
{
    char topic[32];
    int n = zpar__proto_iopub_topic (topic, sizeof (topic), h->client, h->engine);
    m->nenv = 0;
    return n < 0 ? -1 : zpar__msg_push_ident (m, topic, (size_t)n);
}

static int status_ok (uint64_t s)
{
    return s >= ZPAR_STATUS_OK && s <= ZPAR_STATUS_DEPENDENCY;
}

int zpar__proto_stream_encode (zpar_msg_t *m, const zpar_proto_stream_t *s)
{
    int rc = 0;
    if (!m || !s || (s->stream != ZPAR_STREAM_STDOUT && s->stream != ZPAR_STREAM_STDERR) ||
        (s->len && !s->data)) {
        errno = EINVAL;
        return -1;
    }
    zpar__proto_begin_encode (m, ZPAR_MSG_STREAM, &s->h);
    rc = set_topic (m, &s->h);
    zpar__proto_put_u64 (&rc, m, ZPAR_F_STREAM, (uint64_t)s->stream);
    zpar__proto_put_bytes (&rc, m, ZPAR_F_DATA, s->data, s->len);
    if (s->has_offset)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_OFFSET, s->offset);
    return zpar__proto_end_encode (m, rc);
}

int zpar__proto_stream_decode (const zpar_msg_t *m, zpar_proto_stream_t *s, zpar_error_t *err)
{
    uint64_t v = 0;
    int rc;
    if (!m || !s)
        return zpar__errnoprintf (err, EINVAL, "no message or nothing to decode into");
    memset (s, 0, sizeof (*s));
    if (zpar__proto_begin_decode (m, ZPAR_MSG_STREAM, &s->h, err) < 0 ||
        (rc = zpar__proto_u64 (m, ZPAR_F_STREAM, &v, err)) < 0 ||
        (rc == 0 && zpar__proto_missing (err, ZPAR_F_STREAM) < 0))
        goto error;
    if (v != ZPAR_STREAM_STDOUT && v != ZPAR_STREAM_STDERR) {
        zpar__errnoprintf (err, EPROTO, "unknown stream %llu", (unsigned long long)v);
        goto error;
    }
    s->stream = (zpar_stream_t)v;
    if (zpar__proto_bytes (m, ZPAR_F_DATA, &s->data, &s->len) == 0) {
        zpar__proto_missing (err, ZPAR_F_DATA);
        goto error;
    }
    if ((rc = zpar__proto_u64 (m, ZPAR_F_OFFSET, &s->offset, err)) < 0)
        goto error;
    s->has_offset = rc > 0;
    return 0;
error:
    memset (s, 0, sizeof (*s));
    return -1;
}

int zpar__proto_task_status_encode (zpar_msg_t *m, const zpar_proto_task_status_t *s)
{
    int rc = 0;
    if (!m || !s || !zpar__task_event_name (s->event) ||
        (s->status && !status_ok ((uint64_t)s->status))) {
        errno = EINVAL;
        return -1;
    }
    zpar__proto_begin_encode (m, ZPAR_MSG_TASK_STATUS, &s->h);
    rc = set_topic (m, &s->h);
    zpar__proto_put_str (&rc, m, ZPAR_F_EVENT, zpar__task_event_name (s->event));
    if (s->status)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_STATUS, (uint64_t)s->status);
    return zpar__proto_end_encode (m, rc);
}

int zpar__proto_task_status_decode (const zpar_msg_t *m, zpar_proto_task_status_t *s,
                                    zpar_error_t *err)
{
    int ev = 0, rc;
    uint64_t st = 0;
    if (!m || !s)
        return zpar__errnoprintf (err, EINVAL, "no message or nothing to decode into");
    memset (s, 0, sizeof (*s));
    if (zpar__proto_begin_decode (m, ZPAR_MSG_TASK_STATUS, &s->h, err) < 0 ||
        (rc = zpar__proto_enum (m, ZPAR_F_EVENT, task_event_names, NNAMES (task_event_names), &ev,
                                err)) < 0 ||
        (rc == 0 && zpar__proto_missing (err, ZPAR_F_EVENT) < 0) ||
        (rc = zpar__proto_u64 (m, ZPAR_F_STATUS, &st, err)) < 0)
        goto error;
    if (rc == 1 && !status_ok (st)) {
        zpar__errnoprintf (err, EPROTO, "unknown task status %llu", (unsigned long long)st);
        goto error;
    }
    s->event = (zpar_task_event_t)ev;
    s->status = (zpar_status_t)st;
    return 0;
error:
    memset (s, 0, sizeof (*s));
    return -1;
}

int zpar__proto_notify_encode (zpar_msg_t *m, const zpar_proto_notify_t *n)
{
    int rc = 0;
    if (!m || !n || !zpar__notify_event_name (n->event)) {
        errno = EINVAL;
        return -1;
    }
    zpar__proto_begin_encode (m, ZPAR_MSG_NOTIFY, &n->h);
    m->nenv = 0;
    rc = zpar__msg_push_ident (m, "notify", 6);
    zpar__proto_put_str (&rc, m, ZPAR_F_EVENT, zpar__notify_event_name (n->event));
    return zpar__proto_end_encode (m, rc);
}

int zpar__proto_notify_decode (const zpar_msg_t *m, zpar_proto_notify_t *n, zpar_error_t *err)
{
    int ev = 0, rc;
    if (!m || !n)
        return zpar__errnoprintf (err, EINVAL, "no message or nothing to decode into");
    memset (n, 0, sizeof (*n));
    if (zpar__proto_begin_decode (m, ZPAR_MSG_NOTIFY, &n->h, err) < 0 ||
        (rc = zpar__proto_enum (m, ZPAR_F_EVENT, notify_names, NNAMES (notify_names), &ev, err)) <
            0 ||
        (rc == 0 && zpar__proto_missing (err, ZPAR_F_EVENT) < 0)) {
        memset (n, 0, sizeof (*n));
        return -1;
    }
    n->event = (zpar_notify_event_t)ev;
    return 0;
}
