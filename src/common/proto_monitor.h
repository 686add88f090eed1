/* proto_monitor.h - the schedulers' records to the hub's monitor socket
 * (internal).
 *
 * Every scheduler thread has a PUB socket connected to the hub's monitor
 * SUB (inproc).  What changes a task's record is not sent at once: it is
 * appended, as an item, to the thread's pack for that socket, and the pack
 * travels as ONE message (one frame) when the thread calls
 * zpar__monitor_flush (at the end of each drain of its sockets) or when it
 * reaches ZPAR_MONITOR_PACK_MAX bytes.  The hub so wakes once per drain of
 * a scheduler, not three times per task.  Items, in the order made:
 *
 *   ZPAR_MON_TASK_IN   a load-balanced task was submitted: its request
 *   ZPAR_MON_TASK_RUN  it was sent to an engine: task id and engine only
 *   ZPAR_MON_TASK_OUT  its result went back to its client: the result
 *   ZPAR_MON_MUX_IN    a direct task went to its engine: its request
 *   ZPAR_MON_MUX_OUT   a direct task's result went back
 *   ZPAR_MON_CTL_OUT   a result on the control channel
 *
 * The message: "ZM" 0x01 0x00, then items, each
 *
 *   kind (u8) | length (u32, little endian) | payload
 *
 * payload: TASK_RUN: task id (u64) || engine (u32), 12 bytes; the others:
 * the message packed (zpar__msg_pack: the 48-byte header || the body), as
 * received or as the scheduler built it; no signature (same process).
 *
 * The pack is per thread (one monitor socket per scheduler thread); its
 * buffer is handed to libzmq without a copy when it is sent.  Sending
 * never blocks (PUB drops when full).  The hub trusts the items (same
 * process) but checks their structure: a malformed record is dropped from
 * the bad item on, counted by the hub.
 */
#ifndef ZPAR__PROTO_MONITOR_H
#define ZPAR__PROTO_MONITOR_H

#include <stddef.h>

#include "msg.h"
#include "wire.h"
#include "zpar/error.h"

/* A pack is sent once it holds this many bytes, flush or not. */
#define ZPAR_MONITOR_PACK_MAX (64u * 1024u)
/* The length of a TASK_RUN item's payload. */
#define ZPAR_MONITOR_RUN_LEN 12

typedef enum {
    ZPAR_MON_NONE = 0,
    ZPAR_MON_TASK_IN = 1,
    ZPAR_MON_TASK_RUN = 2,
    ZPAR_MON_TASK_OUT = 3,
    ZPAR_MON_MUX_IN = 4,
    ZPAR_MON_MUX_OUT = 5,
    ZPAR_MON_CTL_OUT = 6,
    ZPAR_MON_KIND_MAX = 7,
} zpar_monitor_kind_t;

/* The name of a kind ("task_in"...), "?" for an unknown one. */
const char *zpar__monitor_tag (zpar_monitor_kind_t kind);

/* The kind a name gives, ZPAR_MON_NONE if none. */
zpar_monitor_kind_t zpar__monitor_kind (const void *tag, size_t len);

/* Append to this thread's pack for sock the item of kind for frames f
 * (checked, parts from the delimiter on; f is left intact).  If hdr is
 * non-NULL it replaces f's header.  0 / -1 with errno (EINVAL: NULL,
 * unknown kind, f without its header and body; ENOMEM; or the error of
 * sending a full pack). */
int zpar__monitor_copy (void *sock, zpar_monitor_kind_t kind, zpar_frames_t *f,
                        const zpar_hdr_t *hdr);

/* The same for message m (header and body; s is not used: items are not
 * signed, kept for the callers).  m is left intact. */
int zpar__monitor_send_msg (void *sock, zpar_signer_t *s, zpar_monitor_kind_t kind, zpar_msg_t *m);

/* The same for a message given as its header h and body (copied). */
int zpar__monitor_item (void *sock, zpar_monitor_kind_t kind, const zpar_hdr_t *h, const void *body,
                        size_t blen);

/* Send this thread's pack for sock, if it holds anything (one message).
 * 0 / -1 with errno (the pack is dropped either way). */
int zpar__monitor_flush (void *sock);

/* Bytes waiting in this thread's pack for sock (0 if none). */
size_t zpar__monitor_pending (void *sock);

/* One item of a received record. */
typedef struct {
    zpar_monitor_kind_t kind;
    zpar_hdr_t hdr;        /* TASK_RUN: task and engine only; others: the header */
    const uint8_t *packed; /* the packed message (header || body); NULL for TASK_RUN */
    size_t len;
} zpar_monitor_item_t;

/* Hub side: read the item at *off of record buf (len bytes; *off is 0
 * for the first: the record's 4-byte head is checked then) and advance
 * *off.  1: an item in *it (pointers into buf); 0: the end; -1 with
 * EPROTO and the reason in err: malformed (bad head, unknown kind,
 * truncated item, a payload too short, a header of another protocol
 * version): the rest of the record cannot be read.  EINVAL for NULL
 * arguments. */
int zpar__monitor_next (const void *buf, size_t len, size_t *off, zpar_monitor_item_t *it,
                        zpar_error_t *err);

#endif
