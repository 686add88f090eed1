/* proto_check.h - decode any zpar message with the typed codec of its
 * type and throw the result away: "is this message well-formed?".  For
 * receivers that forward frames without using their content, and the
 * single entry point of the decoder fuzz target.
 */
#ifndef ZPAR__PROTO_CHECK_H
#define ZPAR__PROTO_CHECK_H

#include "msg.h"
#include "zpar/error.h"

/* 0 when m decodes with the codec of its type; -1 EPROTO (reason in err)
 * when malformed, EINVAL when m is NULL, ENOMEM. */
int zpar__proto_check (const zpar_msg_t *m, zpar_error_t *err);

#endif
