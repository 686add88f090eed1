/* proto_control.c - typed codec of ABORT, INTERRUPT, SHUTDOWN and
 * CONTROL_REPLY. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "error.h"
#include "proto_control.h"

static int op_ok (int op)
{
    return op == ZPAR_CONTROL_ABORT || op == ZPAR_CONTROL_INTERRUPT || op == ZPAR_CONTROL_SHUTDOWN;
}

int zpar__proto_control_encode (zpar_msg_t *m, const zpar_proto_control_t *c)
{
    int rc = 0;
    if (!m || !c || !op_ok ((int)c->op) || (c->only_task && c->op != ZPAR_CONTROL_INTERRUPT)) {
        errno = EINVAL;
        return -1;
    }
    zpar__proto_begin_encode (m, (zpar_msg_type_t)c->op, &c->h);
    if (!c->only_task)
        return 0;
    zpar__proto_put_u64 (&rc, m, ZPAR_F_TASK_ID, c->only_task);
    return zpar__proto_end_encode (m, rc);
}

int zpar__proto_control_decode (const zpar_msg_t *m, zpar_proto_control_t *c, zpar_error_t *err)
{
    if (!m || !c)
        return zpar__errnoprintf (err, EINVAL, "no message or no request to decode into");
    memset (c, 0, sizeof (*c));
    if (!op_ok (m->hdr.type))
        return zpar__errnoprintf (err, EPROTO, "a %s message where a control request was expected",
                                  zpar__msg_type_name (m->hdr.type));
    (void)zpar__proto_begin_decode (m, (zpar_msg_type_t)m->hdr.type, &c->h, err);
    c->op = (zpar_control_op_t)m->hdr.type;
    if (c->op == ZPAR_CONTROL_INTERRUPT &&
        zpar__proto_u64 (m, ZPAR_F_TASK_ID, &c->only_task, err) < 0)
        return -1;
    return 0;
}

void zpar__proto_control_reply_clear (zpar_proto_control_reply_t *r)
{
    if (r) {
        zpar__proto_mem_free (&r->mem);
        memset (r, 0, sizeof (*r));
    }
}

int zpar__proto_control_reply_encode (zpar_msg_t *m, const zpar_proto_control_reply_t *r)
{
    int rc = 0;
    if (!m || !r || r->errnum < 0) {
        errno = EINVAL;
        return -1;
    }
    zpar__proto_begin_encode (m, ZPAR_MSG_CONTROL_REPLY, &r->h);
    zpar__proto_put_u64 (&rc, m, ZPAR_F_COUNT, r->count);
    if (r->engine.v)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_ENGINE_ID, r->engine.v);
    if (r->error)
        zpar__proto_put_str (&rc, m, ZPAR_F_ERROR, r->error);
    if (r->errnum)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_ERRNO, (uint64_t)r->errnum);
    return zpar__proto_end_encode (m, rc);
}

int zpar__proto_control_reply_decode (const zpar_msg_t *m, zpar_proto_control_reply_t *r,
                                      zpar_error_t *err)
{
    uint32_t errnum = 0;
    if (!m || !r)
        return zpar__errnoprintf (err, EINVAL, "no message or no reply to decode into");
    memset (r, 0, sizeof (*r));
    if (zpar__proto_begin_decode (m, ZPAR_MSG_CONTROL_REPLY, &r->h, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_COUNT, &r->count, err) < 0 ||
        zpar__proto_u32 (m, ZPAR_F_ENGINE_ID, &r->engine.v, err) < 0 ||
        zpar__proto_str (m, ZPAR_F_ERROR, &r->mem, &r->error, err) < 0 ||
        zpar__proto_u32 (m, ZPAR_F_ERRNO, &errnum, err) < 0)
        goto error;
    if (errnum > INT32_MAX) {
        zpar__errnoprintf (err, EPROTO, "errno %u out of range", errnum);
        goto error;
    }
    r->errnum = (int)errnum;
    return 0;
error:
    zpar__proto_control_reply_clear (r);
    return -1;
}
