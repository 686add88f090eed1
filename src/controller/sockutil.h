/* sockutil.h - small helpers for the controller's sockets. */
#ifndef ZPAR__SOCKUTIL_H
#define ZPAR__SOCKUTIL_H

#include <stddef.h>

#include "zpar/error.h"

/* Create a socket of type, bind it to ep (port may be '*'), write the
 * resolved endpoint back into ep (size epsize).  NULL with err. */
void *zpar__bind_socket (void *ctx, int type, char *ep, size_t epsize, zpar_error_t *err);

/* Close with linger 0, NULL-safe. */
void zpar__close_socket (void *sock);

#endif
