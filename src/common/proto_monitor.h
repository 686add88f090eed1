/* proto_monitor.h - the schedulers' copies to the hub's monitor socket
 * (internal).
 *
 * Every scheduler thread has a PUB socket connected to the hub's monitor
 * SUB (inproc).  For every event that changes a task's record it sends
 *
 *   [tag, "ZPAR1", signature, header, body]
 *
 * that is the wire message concerned (as received, or as the scheduler
 * built it) with its routing frames replaced by one tag frame:
 *
 *   "task_in"   ZPAR_MON_TASK_IN   a load-balanced task was submitted
 *   "task_run"  ZPAR_MON_TASK_RUN  it was sent to engine hdr.engine
 *   "task_out"  ZPAR_MON_TASK_OUT  its result went back to its client
 *   "mux_in"    ZPAR_MON_MUX_IN    a direct task went to its engine
 *   "mux_out"   ZPAR_MON_MUX_OUT   a direct task's result went back
 *   "ctl_out"   ZPAR_MON_CTL_OUT   a result on the control channel
 *
 * The copies are trusted (same process): the hub checks their structure,
 * not their signature.  Sending never blocks (PUB drops when full).
 */
#ifndef ZPAR__PROTO_MONITOR_H
#define ZPAR__PROTO_MONITOR_H

#include <stddef.h>

#include "msg.h"
#include "wire.h"
#include "zpar/error.h"

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

/* The tag of a kind ("task_in"...), "?" for an unknown one. */
const char *zpar__monitor_tag (zpar_monitor_kind_t kind);

/* The kind a tag frame names, ZPAR_MON_NONE if none. */
zpar_monitor_kind_t zpar__monitor_kind (const void *tag, size_t len);

/* Send a copy of frames f (parts from the delimiter on; f is left intact)
 * behind kind's tag.  If hdr is non-NULL the header frame is replaced by
 * hdr, encoded (the signature is not recomputed).  0 / -1 with errno
 * (EINVAL: NULL, unknown kind, f without a delimiter). */
int zpar__monitor_copy (void *sock, zpar_monitor_kind_t kind, zpar_frames_t *f,
                        const zpar_hdr_t *hdr);

/* Sign and send message m behind kind's tag (m's envelope is replaced by
 * the tag: m->nenv is 1 afterwards).  0 / -1 with errno. */
int zpar__monitor_send_msg (void *sock, zpar_signer_t *s, zpar_monitor_kind_t kind, zpar_msg_t *m);

/* Hub side: decode received frames f ([tag, delimiter, signature, header,
 * body]; structure checked, signature not) into *kind and m (m->env[0] is
 * the tag).  -1 with EPROTO and the reason in err (unknown tag, missing
 * delimiter, bad header or body); EINVAL for NULL arguments. */
int zpar__monitor_decode (zpar_frames_t *f, zpar_monitor_kind_t *kind, zpar_msg_t *m,
                          zpar_error_t *err);

#endif
