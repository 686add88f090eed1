/* relay.h - the MUX and control schedulers: ROUTER<->ROUTER devices in
 * their own threads.  A client names the engine in the first routing frame
 * it sends; the relay verifies the message, swaps the two identities and
 * forwards it on the engine side, and does the reverse for replies.  A copy
 * of every forwarded message goes to the hub's monitor socket.  Messages
 * that fail verification are dropped and counted; a message for an engine
 * that is not connected is answered with an error result. */
#ifndef ZPAR__RELAY_H
#define ZPAR__RELAY_H

#include <stdint.h>

#include "zpar/error.h"

typedef struct zpar_relay zpar_relay_t;

typedef enum {
    ZPAR_RELAY_MUX = 0,
    ZPAR_RELAY_CONTROL = 1,
} zpar_relay_kind_t;

/* Bind both sockets (client_ep, engine_ep may use port '*'; the resolved
 * endpoints are written back into the same buffers, of size epsize),
 * connect to the monitor, and start the thread.  inject_ep is an inproc
 * address the relay binds for messages the hub sends to engines through
 * it ([engine identity, frames...]).  NULL with err on failure. */
zpar_relay_t *zpar__relay_start (void *ctx, zpar_relay_kind_t kind, char *client_ep,
                                 char *engine_ep, size_t epsize, const char *monitor_ep,
                                 const char *inject_ep, const uint8_t *key, zpar_error_t *err);

/* Stop the thread and close its sockets.  NULL-safe. */
void zpar__relay_stop (zpar_relay_t *r);

/* Messages dropped so far (malformed + bad signature + replayed). */
uint64_t zpar__relay_dropped (const zpar_relay_t *r);

#endif
