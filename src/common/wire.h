/* wire.h - signing, verification, replay protection, and ZeroMQ I/O of
 * zpar messages (see msg.h for the layout, doc/protocol.md for the spec).
 *
 * A zpar_signer_t holds the cluster key, this endpoint's session id and
 * sequence counter, and the replay window of the peers it has heard from.
 * Every received message is checked: delimiter, signature (constant time),
 * header, timestamp within the replay window, and (session, seq) not seen
 * before.  A message that fails is consumed whole, counted, and reported
 * with -1 and errno EPROTO (malformed), EPERM (bad signature) or EALREADY
 * (replayed or stale); the caller logs and carries on.
 *
 * Thread-safety: a signer belongs to one thread.
 */
#ifndef ZPAR__WIRE_H
#define ZPAR__WIRE_H

#include <stdint.h>
#include <zmq.h>

#include "msg.h"

#define ZPAR_MAX_PARTS 8

typedef struct zpar_signer zpar_signer_t;

typedef struct {
    uint64_t accepted;
    uint64_t malformed;
    uint64_t badsig;
    uint64_t replayed;
} zpar_wire_stats_t;

/* Create a signer for key (ZPAR_KEY_LEN bytes, copied).  replay_window_us
 * bounds how far a message's timestamp may be from our clock (0 = default,
 * 10 minutes, or $ZPAR_REPLAY_WINDOW seconds).  NULL with errno. */
zpar_signer_t *zpar__signer_create (const uint8_t *key, uint64_t replay_window_us);
void zpar__signer_destroy (zpar_signer_t *s);
uint64_t zpar__signer_session (const zpar_signer_t *s);
const zpar_wire_stats_t *zpar__signer_stats (const zpar_signer_t *s);

/* Stamp m's header with our session, next seq and the time, sign it, and
 * send envelope + delimiter + signature + header + body on sock.
 * flags: 0 or ZMQ_DONTWAIT.  0 / -1 with errno from zmq. */
int zpar__wire_send (void *sock, zpar_signer_t *s, zpar_msg_t *m, int flags);

/* The same, signed for channel chan (stamped into m->hdr.flags; ANY
 * keeps the flags as they are). */
int zpar__wire_send_chan (void *sock, zpar_signer_t *s, zpar_chan_t chan, zpar_msg_t *m, int flags);

/* Send one message given as its header and body: hdr (updated: channel
 * chan unless ANY, our session, next seq and the time) is encoded and
 * signed with body, after the nenv routing frames env.  For codecs that
 * build a body themselves (proto_batch.c).  0 / -1 errno. */
int zpar__wire_send_raw (void *sock, zpar_signer_t *s, zpar_chan_t chan, int nenv,
                         const zpar_ident_t *env, zpar_hdr_t *hdr, const void *body, size_t blen,
                         int flags);

/* Stamp hdr as a send would (version, our session, next seq, the time),
 * without sending: for the items of a batch. */
void zpar__signer_stamp (zpar_signer_t *s, zpar_hdr_t *hdr);

/* Receive one whole multipart message into m (envelope in m->env).
 * 0 on success; -1 with EAGAIN when nothing is ready (ZMQ_DONTWAIT), or
 * EPROTO / EPERM / EALREADY for a dropped message (err says why). */
int zpar__wire_recv (void *sock, zpar_signer_t *s, zpar_msg_t *m, int flags, zpar_error_t *err);

/* The same, and a message signed for another channel than chan (ANY:
 * any) is dropped: -1 EPERM, counted as a bad signature, not recorded in
 * the replay table. */
int zpar__wire_recv_chan (void *sock, zpar_signer_t *s, zpar_chan_t chan, zpar_msg_t *m, int flags,
                          zpar_error_t *err);

/* Raw frames, for relays that forward without re-encoding the body. */
typedef struct {
    int n;
    int delim; /* index of the delimiter frame, -1 if none */
    zmq_msg_t part[ZPAR_MAX_PARTS];
} zpar_frames_t;

/* Receive all parts of one message (extra parts beyond ZPAR_MAX_PARTS are
 * discarded and make the message malformed: -1 EPROTO, f emptied).
 * -1 EAGAIN when nothing is ready. */
int zpar__frames_recv (void *sock, zpar_frames_t *f, int flags);

/* Check f: delimiter, signature, header, replay (when s is non-NULL; with
 * s NULL only the structure is checked, for trusted inproc copies).
 * Decodes the header into *hdr.  Counts the outcome in s's stats. */
int zpar__frames_check (zpar_signer_t *s, zpar_frames_t *f, zpar_hdr_t *hdr, zpar_error_t *err);
/* The same, and the message must be signed for channel chan (see
 * zpar__wire_recv_chan; checked only with a signer). */
int zpar__frames_check_chan (zpar_signer_t *s, zpar_chan_t chan, zpar_frames_t *f, zpar_hdr_t *hdr,
                             zpar_error_t *err);

/* Replace the header of f with hdr stamped by s (new session/seq/time) and
 * re-sign.  Used by the task scheduler when it dispatches or re-dispatches. */
int zpar__frames_resign (zpar_signer_t *s, zpar_frames_t *f, zpar_hdr_t *hdr);

/* Decode the body of checked frames into m (m->hdr from the header frame). */
int zpar__frames_decode (zpar_frames_t *f, zpar_msg_t *m, zpar_error_t *err);

/* Send parts [from, n) of f (ownership of those parts passes to zmq).
 * Prefix frames (e.g. a routing identity) may be sent first by the caller
 * with ZMQ_SNDMORE.  Whatever the outcome, f holds nothing afterwards
 * (parts not sent and parts before from are closed): the caller never
 * closes f after it.  0 / -1 errno. */
int zpar__frames_send (void *sock, zpar_frames_t *f, int from, int flags);

/* Close all parts (NULL-safe, idempotent). */
void zpar__frames_close (zpar_frames_t *f);

/* Copy f into dst (zero-copy reference counting by zmq). */
int zpar__frames_copy (zpar_frames_t *dst, zpar_frames_t *f);

/* Send a single frame with ZMQ_SNDMORE. */
int zpar__send_more (void *sock, const void *data, size_t len);

/* Check that the libzmq we run against is at least the version we need:
 * numeric comparison of major.minor.patch.  -1 with err text if too old. */
int zpar__zmq_version_check (zpar_error_t *err);

/* The rule itself, for any version: 0 if new enough, else -1 ENOTSUP. */
#define ZPAR_ZMQ_MIN_MAJOR 4
#define ZPAR_ZMQ_MIN_MINOR 3
int zpar__zmq_version_ok (int major, int minor, int patch, zpar_error_t *err);

#endif
