/* iopub.h - the IOPub proxy: what engines publish (task output streams,
 * task status) is forwarded to every subscribed client.
 *
 * An actor: zpar__iopub_start binds its two sockets in the caller's thread
 * (so bind errors come back at once), then forwards in a thread of its own
 * on a reactor, until zpar__iopub_stop tells it over an inproc pipe.  The
 * messages are forwarded frame by frame, untouched (they are signed by the
 * engines and checked by the clients).
 */
#ifndef ZPAR__IOPUB_H
#define ZPAR__IOPUB_H

#include <stddef.h>
#include <stdint.h>

#include "zpar/error.h"

typedef struct zpar_iopub zpar_iopub_t;

/* Bind a SUB to engine_ep (engines' PUBs connect) and a PUB to client_ep
 * (clients' SUBs connect), both in ctx; each endpoint may end in ":*" and
 * is rewritten with the bound address (buffers of epsize bytes).  Start
 * the forwarding thread.  NULL with err. */
zpar_iopub_t *zpar__iopub_start (void *ctx, char *engine_ep, char *client_ep, size_t epsize,
                                 zpar_error_t *err);

/* Stop the thread, close the sockets, free.  NULL-safe. */
void zpar__iopub_stop (zpar_iopub_t *io);

/* Messages forwarded so far (read after stop, or approximately while it
 * runs). */
uint64_t zpar__iopub_forwarded (const zpar_iopub_t *io);

#endif
