/* registrar.h - the hub's registrar: engines and clients register and
 * unregister here, and clients ask their queries ("engines", "status",
 * "result", "request", "purge", "shutdown").
 *
 * zpar__registrar_handle is the whole protocol without sockets: it takes
 * one decoded request (its envelope holds the peer's identity) and makes
 * the reply, acting on the hub's engine table, counts and records.  The
 * socket glue (zpar__registrar_recv) reads the registrar ROUTER, calls it
 * and sends the reply back to the peer.
 *
 * Runs in the hub's thread.
 */
#ifndef ZPAR__REGISTRAR_H
#define ZPAR__REGISTRAR_H

#include "hub.h"
#include "msg.h"
#include "proto_registrar.h"

/* Handle req (REGISTER_ENGINE, REGISTER_CLIENT, UNREGISTER, QUERY).  On
 * return *reply is the reply to send to the peer (owned by the caller,
 * its envelope and task set from req), or NULL when none is due
 * (UNREGISTER, an unknown message type, out of memory), or when the reply
 * acknowledges something the records must hold first (the SYNC and
 * RESUBMIT queries): it is then handed to zpar__hub_defer_reply, which
 * sends it once the records batch is committed.  Requests that are wrong
 * get a reply with ZPAR_F_ERRNO and ZPAR_F_ERROR.
 * Returns 0, or -1 with errno: EINVAL (NULL parameter), EPROTO (a message
 * type the registrar does not take: counted in h->dropped). */
int zpar__registrar_handle (zpar_hub_t *h, const zpar_msg_t *req, zpar_msg_t **reply);

/* What clients see of an engine's state: idle, busy or dead. */
zpar_engine_state_t zpar__registrar_state (const zpar_hub_engine_t *e);

/* Read up to max requests waiting on h->registrar (into m, a scratch
 * message) and answer them.  Returns the number handled. */
int zpar__registrar_recv (zpar_hub_t *h, zpar_msg_t *m, int max);

#endif
