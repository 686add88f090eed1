/* sched_direct.h - the direct schedulers: the MUX and control relays,
 * ROUTER<->ROUTER devices, each on its own reactor in its own thread.
 *
 * A client names the engine in the first routing frame it sends; the
 * relay verifies the message, swaps the two identities and forwards it on
 * the engine side, and does the reverse for replies.  A copy of every
 * forwarded task and result goes to the hub's monitor socket
 * (proto_monitor.h: mux_in, mux_out, ctl_out).  Messages that fail
 * verification, or are of a type the channel does not carry, are dropped
 * and counted; a message for an engine that is not connected is answered
 * with an error (EHOSTUNREACH) for it, and for the MUX the hub is told too
 * so that the task's record is finished.  An engine connects its MUX and
 * control sockets only once its registration is answered, so a request
 * may reach the relay first: a message for a registered engine whose
 * connection is not up is held (in order, behind any earlier one for the
 * same engine, at most 1,024 held) and tried again every 5 ms for up to
 * 3 s before it is answered so.
 *
 * The hub sends to engines through a relay over an inproc PAIR, the
 * inject pipe (proto_pipe.h): [engine identity, message frames...] is
 * forwarded as it is; ["$TERM"] stops the relay.
 *
 * Thread-safety: start and stop from one thread.
 */
#ifndef ZPAR__SCHED_DIRECT_H
#define ZPAR__SCHED_DIRECT_H

#include <stddef.h>
#include <stdint.h>

#include "zpar/error.h"

typedef struct zpar_sched_direct zpar_sched_direct_t;

typedef enum {
    ZPAR_SCHED_DIRECT_MUX = 0,     /* tasks and their results */
    ZPAR_SCHED_DIRECT_CONTROL = 1, /* abort, interrupt, shutdown and their replies */
} zpar_sched_direct_kind_t;

/* Bind both sockets (client_ep, engine_ep may use port '*'; the resolved
 * endpoints are written back into the same buffers, of size epsize),
 * bind the inject pipe at inject_ep, connect to the monitor at
 * monitor_ep, and start the thread.  NULL with err on failure (EINVAL:
 * unknown kind). */
zpar_sched_direct_t *zpar__sched_direct_start (void *ctx, zpar_sched_direct_kind_t kind,
                                               char *client_ep, char *engine_ep, size_t epsize,
                                               const char *monitor_ep, const char *inject_ep,
                                               const uint8_t *key, zpar_error_t *err);

/* Join the thread (the hub sends $TERM on the inject pipe first) and
 * close the sockets.  NULL-safe. */
void zpar__sched_direct_stop (zpar_sched_direct_t *d);

/* Messages dropped so far (malformed, bad signature, replayed, unexpected
 * type).  May be read from another thread. */
uint64_t zpar__sched_direct_dropped (const zpar_sched_direct_t *d);

#endif
