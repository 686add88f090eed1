/* proto_iopub.h - typed codecs of what is published: STREAM and
 * TASK_STATUS on IOPub, NOTIFY on the notification PUB (doc/protocol.md,
 * "Output", "Notifications").  Event names on the wire are enums here.
 * The encode/decode/ownership contract is in proto_common.h; these
 * encoders also set m's envelope to the topic frame: "c<client>.e<engine>"
 * for IOPub, "notify" for notifications.
 */
#ifndef ZPAR__PROTO_IOPUB_H
#define ZPAR__PROTO_IOPUB_H

#include "proto_common.h"
#include "zpar.h"

/* STREAM */
typedef enum {
    ZPAR_STREAM_STDOUT = 1,
    ZPAR_STREAM_STDERR = 2,
} zpar_stream_t;

/* EVENT of a TASK_STATUS */
typedef enum {
    ZPAR_TASK_EVENT_NONE = 0,
    ZPAR_TASK_EVENT_STARTED = 1,
    ZPAR_TASK_EVENT_FINISHED = 2,
} zpar_task_event_t;

/* EVENT of a NOTIFY */
typedef enum {
    ZPAR_NOTIFY_NONE = 0,
    ZPAR_NOTIFY_REGISTERED = 1,
    ZPAR_NOTIFY_UNREGISTERED = 2,
    ZPAR_NOTIFY_DIED = 3,
    ZPAR_NOTIFY_SHUTDOWN = 4,
} zpar_notify_event_t;

/* Wire names ("started", "died"...), NULL when out of range. */
const char *zpar__task_event_name (zpar_task_event_t e);
const char *zpar__notify_event_name (zpar_notify_event_t e);

/* The IOPub topic of client c and engine e into buf ("c3.e7");
 * the length written, or -1 EINVAL/ENOSPC. */
int zpar__proto_iopub_topic (char *buf, size_t size, zpar_cid_t c, zpar_eid_t e);

/* STREAM: h.task, h.client, h.engine of the running task. */
typedef struct {
    zpar_proto_hdr_t h;
    zpar_stream_t stream; /* STREAM, required */
    const void *data;     /* DATA, required (borrowed) */
    size_t len;
    /* OFFSET: the stream's bytes before data; a subscriber that missed a
     * piece sees the gap.  Optional: has_offset 0 when not sent. */
    uint64_t offset;
    int has_offset;
} zpar_proto_stream_t;

/* TASK_STATUS: same header. */
typedef struct {
    zpar_proto_hdr_t h;
    zpar_task_event_t event; /* EVENT, required */
    zpar_status_t status;    /* STATUS (finished), 0: not sent */
} zpar_proto_task_status_t;

/* NOTIFY: h.engine (0 for shutdown). */
typedef struct {
    zpar_proto_hdr_t h;
    zpar_notify_event_t event; /* EVENT, required */
} zpar_proto_notify_t;

/* None of these decoders allocates: nothing to clear. */
int zpar__proto_stream_encode (zpar_msg_t *m, const zpar_proto_stream_t *s);
int zpar__proto_stream_decode (const zpar_msg_t *m, zpar_proto_stream_t *s, zpar_error_t *err);

int zpar__proto_task_status_encode (zpar_msg_t *m, const zpar_proto_task_status_t *s);
int zpar__proto_task_status_decode (const zpar_msg_t *m, zpar_proto_task_status_t *s,
                                    zpar_error_t *err);

int zpar__proto_notify_encode (zpar_msg_t *m, const zpar_proto_notify_t *n);
int zpar__proto_notify_decode (const zpar_msg_t *m, zpar_proto_notify_t *n, zpar_error_t *err);

#endif
