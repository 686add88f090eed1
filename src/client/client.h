/* client.h - internals shared by the client library's files. */
#ifndef ZPAR__CLIENT_H
#define ZPAR__CLIENT_H

#include "msg.h"
#include "zpar.h"

struct zpar_task {
    zpar_task_kind_t kind;
    zpar_msg_t *fields; /* body fields, encoded as they are set */
};

struct zpar_result {
    zpar_msg_t *m; /* the RESULT message (header + body) */
    zpar_status_t status;
    char *host;
    char *error;
};

/* Build a result from a RESULT message (takes ownership of m). */
zpar_result_t *zpar__result_from_msg (zpar_msg_t *m);

/* A synthesized result (engine died, unreachable...). */
zpar_result_t *zpar__result_make (uint64_t id, uint32_t engine, zpar_status_t st,
                                  const char *error);

#endif
