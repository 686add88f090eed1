/* proto_check.c - decode any message with the codec of its type. */
#include "config.h"

#include <errno.h>

#include "error.h"
#include "proto_batch.h"
#include "proto_check.h"
#include "proto_control.h"
#include "proto_iopub.h"
#include "proto_registrar.h"
#include "proto_result.h"
#include "proto_task.h"

int zpar__proto_check (const zpar_msg_t *m, zpar_error_t *err)
{
    int rc;
    if (!m)
        return zpar__errnoprintf (err, EINVAL, "no message");
    switch (m->hdr.type) {
    case ZPAR_MSG_REGISTER_ENGINE: {
        zpar_proto_reg_engine_t x;
        if ((rc = zpar__proto_reg_engine_decode (m, &x, err)) == 0)
            zpar__proto_reg_engine_clear (&x);
        return rc;
    }
    case ZPAR_MSG_REGISTER_ENGINE_REPLY: {
        zpar_proto_reg_engine_reply_t x;
        if ((rc = zpar__proto_reg_engine_reply_decode (m, &x, err)) == 0)
            zpar__proto_reg_engine_reply_clear (&x);
        return rc;
    }
    case ZPAR_MSG_REGISTER_CLIENT: {
        zpar_proto_reg_client_t x;
        return zpar__proto_reg_client_decode (m, &x, err);
    }
    case ZPAR_MSG_REGISTER_CLIENT_REPLY: {
        zpar_proto_reg_client_reply_t x;
        if ((rc = zpar__proto_reg_client_reply_decode (m, &x, err)) == 0)
            zpar__proto_reg_client_reply_clear (&x);
        return rc;
    }
    case ZPAR_MSG_UNREGISTER: {
        zpar_proto_unregister_t x;
        return zpar__proto_unregister_decode (m, &x, err);
    }
    case ZPAR_MSG_QUERY: {
        zpar_proto_query_t x;
        return zpar__proto_query_decode (m, &x, err);
    }
    case ZPAR_MSG_QUERY_REPLY: {
        zpar_proto_query_reply_t x;
        if ((rc = zpar__proto_query_reply_decode (m, &x, err)) == 0)
            zpar__proto_query_reply_clear (&x);
        return rc;
    }
    case ZPAR_MSG_TASK: {
        zpar_proto_task_t x;
        if ((rc = zpar__proto_task_decode (m, &x, err)) == 0)
            zpar__proto_task_clear (&x);
        return rc;
    }
    case ZPAR_MSG_RESULT: {
        zpar_proto_result_t x;
        if ((rc = zpar__proto_result_decode (m, &x, err)) == 0)
            zpar__proto_result_clear (&x);
        return rc;
    }
    case ZPAR_MSG_ABORT:
    case ZPAR_MSG_INTERRUPT:
    case ZPAR_MSG_SHUTDOWN: {
        zpar_proto_control_t x;
        return zpar__proto_control_decode (m, &x, err);
    }
    case ZPAR_MSG_CONTROL_REPLY: {
        zpar_proto_control_reply_t x;
        if ((rc = zpar__proto_control_reply_decode (m, &x, err)) == 0)
            zpar__proto_control_reply_clear (&x);
        return rc;
    }
    case ZPAR_MSG_STREAM: {
        zpar_proto_stream_t x;
        return zpar__proto_stream_decode (m, &x, err);
    }
    case ZPAR_MSG_TASK_STATUS: {
        zpar_proto_task_status_t x;
        return zpar__proto_task_status_decode (m, &x, err);
    }
    case ZPAR_MSG_NOTIFY: {
        zpar_proto_notify_t x;
        return zpar__proto_notify_decode (m, &x, err);
    }
    case ZPAR_MSG_BATCH:
        return zpar__batch_check (m, err);
    default:
        return zpar__errnoprintf (err, EPROTO, "unknown message type %u", m->hdr.type);
    }
}
