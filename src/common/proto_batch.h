/* proto_batch.h - the batch message: several ordinary messages of one
 * channel sent as one message, signed once (doc/protocol.md, "Batches").
 *
 * Wire form: a message of type ZPAR_MSG_BATCH whose body is 2 to
 * ZPAR_BATCH_MAX fields ZPAR_F_ITEM and nothing else; each item is
 * HEADER (48 bytes) || BODY of one ordinary message, exactly as it would
 * travel alone, minus the routing frames and the signature.  Every item's
 * header carries the batch's channel (header.flags bits 8-15).  A lone
 * message is never sent as a batch of one.
 *
 * Trust: the batch's signature, channel and replay (session, seq) are
 * checked like any message's (wire.h); its items inherit that trust, and
 * their own session/seq are not checked against replay.  The receiver
 * handles each item as it would the same message arriving alone with the
 * batch's routing frames: every per-message check still applies to it.
 *
 * Malformed input: a batch whose structure is broken (a field other than
 * ITEM, a field running past the body, fewer than 2 or more than
 * ZPAR_BATCH_MAX items) is dropped whole; an item that is short (under 48
 * bytes), of another protocol version, of an unknown type, a batch itself,
 * of another channel than the batch, or whose body does not parse into
 * fields is dropped alone (zpar__batch_next says why) and the other items
 * are handled.
 *
 * Builder: collect items, then zpar__batch_send: 1 item goes as an
 * ordinary signed message, 2 or more as one signed batch.  Senders never
 * wait to fill a batch: they pack what is ready at one moment and send at
 * its end.  The builder is bounded: ZPAR_BATCH_MAX items and the body
 * size the data sockets accept (netlimit.h); an add beyond either fails
 * with ENOSPC and the caller sends what it has and adds again.
 *
 * Thread-safety: a builder or an iterator belongs to one thread.
 */
#ifndef ZPAR__PROTO_BATCH_H
#define ZPAR__PROTO_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "wire.h"
#include "zpar/error.h"

#define ZPAR_BATCH_MAX 256

/* ---- builder ---------------------------------------------------------- */

typedef struct zpar_batch zpar_batch_t;

/* An empty builder.  NULL with ENOMEM. */
zpar_batch_t *zpar__batch_create (void);

/* NULL-safe, keeps errno. */
void zpar__batch_destroy (zpar_batch_t *b);

/* Forget the items (keeps the buffers). */
void zpar__batch_reset (zpar_batch_t *b);

/* Items held; body bytes they take in the batch. */
size_t zpar__batch_count (const zpar_batch_t *b);
size_t zpar__batch_bytes (const zpar_batch_t *b);

/* Append one message given as its header and body (copied).  The
 * header's session, seq, time and channel are stamped at send.
 * 0, or -1 with: EINVAL (NULL, hdr->type ZPAR_MSG_BATCH or unknown, a
 * malformed body), ENOSPC (ZPAR_BATCH_MAX items held, or the item would
 * take the batch past the size limit; never for the first item, which
 * can be sent alone), ENOMEM. */
int zpar__batch_add (zpar_batch_t *b, const zpar_hdr_t *hdr, const void *body, size_t blen);

/* The same from a message (its header and body; its envelope is not
 * used). */
int zpar__batch_add_msg (zpar_batch_t *b, const zpar_msg_t *m);

/* The same from checked frames (zpar__frames_check: f->delim is set),
 * with header hdr (NULL: the frames' own header).  f is not consumed. */
int zpar__batch_add_frames (zpar_batch_t *b, const zpar_frames_t *f, const zpar_hdr_t *hdr);

/* Send the items on sock, after the nenv routing frames env, signed by s
 * for channel chan: nothing when empty, one item as an ordinary message,
 * more as one batch.  Each item header is stamped with chan and s's
 * session, a seq and the time, as zpar__frames_resign would.  The builder
 * is reset whatever the outcome.  flags: 0 or ZMQ_DONTWAIT.
 * 0, or -1 with errno (EINVAL, zmq's); *sent (if non-NULL) = the number of
 * items that went (all or none). */
int zpar__batch_send (zpar_batch_t *b, void *sock, zpar_signer_t *s, zpar_chan_t chan, int nenv,
                      const zpar_ident_t *env, int flags, size_t *sent);

/* The same with the routing frames of received frames f (f->delim frames
 * before the delimiter; f is not consumed). */
int zpar__batch_send_route (zpar_batch_t *b, void *sock, zpar_signer_t *s, zpar_chan_t chan,
                            const zpar_frames_t *f, int flags, size_t *sent);

/* $ZPAR_NO_ENGINE_BATCH=1: the task scheduler sends engines their tasks
 * one by one and engines send their results one by one, as before
 * batches (for measurements).  Read at each call. */
int zpar__no_engine_batch (void);

/* ---- reader ----------------------------------------------------------- */

typedef struct {
    const uint8_t *body; /* the batch's body (not owned) */
    size_t len;
    size_t pos;
    zpar_chan_t chan; /* the batch's channel */
    size_t items;     /* items in the batch */
    size_t index;     /* items returned or dropped so far */
    size_t bad;       /* items dropped so far */
} zpar_batch_iter_t;

/* Start reading a checked batch given its header and body (both must
 * stay valid while reading).  Checks the batch's structure: -1 EPROTO
 * (reason in err) when it is broken (drop the whole batch), EINVAL when
 * hdr is not a batch. */
int zpar__batch_iter_init (zpar_batch_iter_t *it, const zpar_hdr_t *hdr, const void *body,
                           size_t blen, zpar_error_t *err);

/* The same on checked frames (their header and body frames). */
int zpar__batch_iter_frames (zpar_batch_iter_t *it, const zpar_frames_t *f, zpar_error_t *err);

/* The same on a decoded message. */
int zpar__batch_iter_msg (zpar_batch_iter_t *it, const zpar_msg_t *m, zpar_error_t *err);

/* The next item: 1 with *hdr decoded and *body, *blen pointing into the
 * batch (its BODY part); 0 at the end; -1 EPROTO for an item dropped
 * (reason in err, counted in it->bad): call again for the next one. */
int zpar__batch_next (zpar_batch_iter_t *it, zpar_hdr_t *hdr, const void **body, size_t *blen,
                      zpar_error_t *err);

/* Make frames out of an item, laid out like a received message: the
 * routing frames of the batch's frames route (copied; NULL: none),
 * delimiter, a signature of zeros (NOT valid: whoever forwards the item
 * re-signs it with zpar__frames_resign or adds it to a batch), the
 * header hdr and the body.  out->delim is set, so zpar__frames_decode and
 * the handlers of checked frames take it.  0 / -1 ENOMEM (out empty). */
int zpar__batch_item_frames (const zpar_frames_t *route, const zpar_hdr_t *hdr, const void *body,
                             size_t blen, zpar_frames_t *out);

/* Decode an item into m (reset first; envelope left empty).  0 / -1
 * EPROTO (err). */
int zpar__batch_item_msg (const zpar_hdr_t *hdr, const void *body, size_t blen, zpar_msg_t *m,
                          zpar_error_t *err);

/* Well-formedness of a whole batch for proto_check: its structure, and
 * every item accepted by the codec of its type.  0 / -1 EPROTO (err). */
int zpar__batch_check (const zpar_msg_t *m, zpar_error_t *err);

#endif
