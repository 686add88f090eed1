/* iopub.h - the IOPub forwarder: what engines publish (task output streams,
 * task status) is verified and forwarded to every subscribed client.
 *
 * An actor: zpar__iopub_start binds its two sockets in the caller's thread
 * (so bind errors come back at once), then forwards in a thread of its own
 * on a reactor, until zpar__iopub_stop tells it over an inproc pipe.
 *
 * Anybody can connect a publisher to the engine side, so every message is
 * checked with the cluster key before it is forwarded (a signer owned by the
 * forwarding thread): structure, signature, header, replay, and the IOPub
 * rules — exactly one topic frame, `c<client>.e<engine>` matching the
 * signed header, type STREAM or TASK_STATUS.  A message that fails is
 * dropped and counted (zpar__iopub_dropped, part of `zpar status`'s
 * dropped), with a rate-limited log line.  A verified message is forwarded
 * frame by frame, untouched: clients verify it again with their own
 * signer.  The client side's PUB has a finite send high-water mark: a
 * subscriber that does not read loses output, the controller does not grow.
 * What is forwarded can still be read by any subscriber: confidentiality
 * needs encryption (CurveZMQ), not provided here.
 *
 * Engines publish only what some client listens to: the clients' side is
 * an XPUB and the engines' side an XSUB, and the forwarding thread turns
 * the clients' subscriptions into subscriptions of its own towards the
 * engines, whose PUBs then filter at the source (doc/protocol.md, "IOPub
 * subscriptions").  With no subscriber, an engine sends nothing: a task
 * costs the controller no IOPub message.  Each distinct client topic asks
 * the engines for "c<client>." (a client's own output) or for everything
 * ("", and any prefix of several clients' topics); topics that match no
 * engine topic ask for nothing.  More than 256 distinct topics, or one too
 * long to track, and it asks for everything from then on (bounded memory
 * whatever the clients send).  A message from the clients' side that is
 * not a subscription is dropped and counted.  ZPAR_IOPUB_FILTER=0 in the
 * environment: engines publish everything, as before the filtering.
 * Output published before a subscription reaches an engine is not
 * delivered to that subscriber; results carry the captured stdout/stderr
 * whatever IOPub did.
 */
#ifndef ZPAR__IOPUB_H
#define ZPAR__IOPUB_H

#include <stddef.h>
#include <stdint.h>

#include "zpar/error.h"

typedef struct zpar_iopub zpar_iopub_t;

/* Bind a SUB to engine_ep (engines' PUBs connect) and a PUB to client_ep
 * (clients' SUBs connect), both in ctx; each endpoint may end in ":*" and
 * is rewritten with the bound address (buffers of epsize bytes).  key: the
 * cluster key (ZPAR_KEY_LEN bytes, copied).  Start the forwarding thread.
 * NULL with err (EINVAL for a NULL ctx, endpoint or key). */
zpar_iopub_t *zpar__iopub_start (void *ctx, char *engine_ep, char *client_ep, size_t epsize,
                                 const uint8_t *key, zpar_error_t *err);

/* Stop the thread, close the sockets, free.  NULL-safe. */
void zpar__iopub_stop (zpar_iopub_t *io);

/* Messages forwarded / dropped so far (exact after stop, approximate while
 * it runs; safe to read from any thread).  0 for NULL. */
uint64_t zpar__iopub_forwarded (const zpar_iopub_t *io);
uint64_t zpar__iopub_dropped (const zpar_iopub_t *io);

/* Topics the forwarder currently asks the engines for ("" counts as one).
 * 0: engines publish nothing. */
uint64_t zpar__iopub_upstream (const zpar_iopub_t *io);

#endif
