/* sockutil.h - small helpers for the controller's sockets. */
#ifndef ZPAR__SOCKUTIL_H
#define ZPAR__SOCKUTIL_H

#include <stddef.h>

#include "netlimit.h"
#include "zpar/error.h"

/* Create a socket of type, bind it to ep (port may be '*'), write the
 * resolved endpoint back into ep (size epsize).  NULL with err.
 * HWMs are 0 (no limit: tasks and results are never dropped) except on a
 * PUB and on a network SUB (ZPAR_NETLIMIT_IOPUB_RCVHWM); the network limits of netlimit.h are set for the role that follows
 * from the type: ROUTER data, SUB IOPub, PUB subscriptions + finite send
 * HWM (a subscriber that does not read loses messages, the controller does
 * not grow).  inproc endpoints get no limits. */
void *zpar__bind_socket (void *ctx, int type, char *ep, size_t epsize, zpar_error_t *err);

/* The same with an explicit role (e.g. ZPAR_NET_CONTROL for the registrar
 * and the heartbeat ROUTER, which only ever receive small messages). */
void *zpar__bind_socket_role (void *ctx, int type, zpar_net_role_t role, char *ep, size_t epsize,
                              zpar_error_t *err);

/* Close with linger 0, NULL-safe. */
void zpar__close_socket (void *sock);

#endif
