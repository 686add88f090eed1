/* proto_registrar.c - typed codecs of the registrar's messages. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "proto_registrar.h"
#include "proto_task.h"

static const char *const scheme_names[] = {NULL, "leastload", "pure"};
static const char *const engine_state_names[] = {NULL, "idle", "busy", "dead"};
static const char *const task_state_names[] = {NULL, "pending", "running", "done"};
static const char *const query_names[] = {NULL,    "engines",  "status",   "result", "request",
                                          "purge", "shutdown", "resubmit", "sync"};
#define NNAMES(a) ((int)(sizeof (a) / sizeof ((a)[0])))

static const zpar_field_t addr_keys[ZPAR_ADDR_COUNT] = {
    [ZPAR_ADDR_MUX] = ZPAR_F_ADDR_MUX,         [ZPAR_ADDR_TASK] = ZPAR_F_ADDR_TASK,
    [ZPAR_ADDR_CONTROL] = ZPAR_F_ADDR_CONTROL, [ZPAR_ADDR_IOPUB] = ZPAR_F_ADDR_IOPUB,
    [ZPAR_ADDR_HB_PING] = ZPAR_F_ADDR_HB_PING, [ZPAR_ADDR_HB_PONG] = ZPAR_F_ADDR_HB_PONG,
    [ZPAR_ADDR_NOTIFY] = ZPAR_F_ADDR_NOTIFY,
};

/* the addresses each reply must carry when accepted, in wire order */
static const zpar_addr_kind_t engine_addrs[] = {ZPAR_ADDR_MUX,     ZPAR_ADDR_TASK,
                                                ZPAR_ADDR_CONTROL, ZPAR_ADDR_IOPUB,
                                                ZPAR_ADDR_HB_PING, ZPAR_ADDR_HB_PONG};
static const zpar_addr_kind_t client_addrs[] = {ZPAR_ADDR_MUX, ZPAR_ADDR_TASK, ZPAR_ADDR_CONTROL,
                                                ZPAR_ADDR_IOPUB, ZPAR_ADDR_NOTIFY};

static const char *name_of (const char *const *names, int n, int v)
{
    return v > 0 && v < n ? names[v] : NULL;
}

const char *zpar__scheme_name (zpar_task_scheme_t s)
{
    return name_of (scheme_names, NNAMES (scheme_names), (int)s);
}

int zpar__scheme_parse (const char *name, zpar_task_scheme_t *s)
{
    for (int i = 1; name && s && i < NNAMES (scheme_names); i++) {
        if (!strcmp (name, scheme_names[i])) {
            *s = (zpar_task_scheme_t)i;
            return 0;
        }
    }
    errno = EINVAL;
    return -1;
}

const char *zpar__engine_state_name (zpar_engine_state_t s)
{
    return name_of (engine_state_names, NNAMES (engine_state_names), (int)s);
}

const char *zpar__task_state_name (zpar_task_state_t s)
{
    return name_of (task_state_names, NNAMES (task_state_names), (int)s);
}

const char *zpar__query_name (zpar_query_kind_t q)
{
    return name_of (query_names, NNAMES (query_names), (int)q);
}

/* ------------------------------------------------------------ helpers */

#define BAD_PARAM()                                                                                \
    do {                                                                                           \
        errno = EINVAL;                                                                            \
        return -1;                                                                                 \
    } while (0)

static int get_errnum (const zpar_msg_t *m, int *out, zpar_error_t *err)
{
    uint32_t v = 0;
    if (zpar__proto_u32 (m, ZPAR_F_ERRNO, &v, err) < 0)
        return -1;
    if (v > INT32_MAX)
        return zpar__errnoprintf (err, EPROTO, "errno %u out of range", v);
    *out = (int)v;
    return 0;
}

static int get_rank (const zpar_msg_t *m, int *rank, zpar_error_t *err)
{
    uint64_t v = UINT64_MAX;
    if (zpar__proto_u64 (m, ZPAR_F_RANK, &v, err) < 0)
        return -1;
    if ((int64_t)v < -1 || (int64_t)v > INT32_MAX)
        return zpar__errnoprintf (err, EPROTO, "rank %lld out of range", (long long)(int64_t)v);
    *rank = (int)(int64_t)v;
    return 0;
}

static int get_enum (const zpar_msg_t *m, zpar_field_t key, const char *const *names, int n, int *v,
                     zpar_error_t *err)
{
    return zpar__proto_enum (m, key, names, n, v, err) < 0 ? -1 : 0;
}

static void put_error (int *rc, zpar_msg_t *m, int errnum, const char *error)
{
    if (error)
        zpar__proto_put_str (rc, m, ZPAR_F_ERROR, error);
    if (errnum)
        zpar__proto_put_u64 (rc, m, ZPAR_F_ERRNO, (uint64_t)errnum);
}

static int get_addrs (const zpar_msg_t *m, const zpar_addr_kind_t *want, size_t n, int required,
                      zpar_proto_mem_t *mem, const char **addr, zpar_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = zpar__proto_str (m, addr_keys[want[i]], mem, &addr[want[i]], err);
        if (rc < 0)
            return -1;
        if (required && (rc == 0 || !addr[want[i]][0]))
            return zpar__errnoprintf (err, EPROTO, "registration reply without field %s",
                                      zpar__msg_field_name (addr_keys[want[i]]));
    }
    return 0;
}

/* A repeated task-id field (HELD, DROP) as a zpar_tid_t array owned by
 * mem; an id 0 is malformed. */
static int get_tids (const zpar_msg_t *m, zpar_field_t key, zpar_proto_mem_t *mem,
                     const zpar_tid_t **out, size_t *nout, zpar_error_t *err)
{
    uint64_t *v = NULL;
    size_t n = 0;
    zpar_tid_t *t;
    int rc = zpar__proto_u64v (m, key, mem, &v, &n, err);
    if (rc <= 0)
        return rc;
    if (!(t = zpar__proto_mem_alloc (mem, n * sizeof (*t))))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (v[i] == 0)
            return zpar__errnoprintf (err, EPROTO, "field %s: task id 0",
                                      zpar__msg_field_name (key));
        t[i] = zpar__tid (v[i]);
    }
    *out = t;
    *nout = n;
    return 1;
}

static int tids_valid (const zpar_tid_t *t, size_t n)
{
    if (n && !t)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!t[i].v)
            return 0;
    return 1;
}

/* ---------------------------------------------------- register_engine */

void zpar__proto_reg_engine_clear (zpar_proto_reg_engine_t *r)
{
    if (r) {
        zpar__proto_mem_free (&r->mem);
        memset (r, 0, sizeof (*r));
    }
}

int zpar__proto_reg_engine_encode (zpar_msg_t *m, const zpar_proto_reg_engine_t *r)
{
    int rc = 0;
    if (!m || !r || r->rank < -1 || !tids_valid (r->held, r->nheld) ||
        !zpar__proto_engine_res_valid (r->cores, r->cpuset, r->gpu_names))
        BAD_PARAM ();
    zpar__proto_begin_encode (m, ZPAR_MSG_REGISTER_ENGINE, &r->h);
    if (r->host)
        zpar__proto_put_str (&rc, m, ZPAR_F_HOST, r->host);
    zpar__proto_put_u64 (&rc, m, ZPAR_F_PID, r->pid);
    zpar__proto_put_u64 (&rc, m, ZPAR_F_RANK, (uint64_t)(int64_t)r->rank);
    zpar__proto_put_u64 (&rc, m, ZPAR_F_ENGINE_ID, r->want.v);
    if (r->uuid)
        zpar__proto_put_str (&rc, m, ZPAR_F_ENGINE_UUID, r->uuid);
    for (size_t i = 0; i < r->nheld; i++)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_HELD, r->held[i].v);
    zpar__proto_put_engine_res (&rc, m, r->cores, r->cpuset, r->gpu_names, r->mem_share,
                                r->node_mem);
    return zpar__proto_end_encode (m, rc);
}

int zpar__proto_reg_engine_decode (const zpar_msg_t *m, zpar_proto_reg_engine_t *r,
                                   zpar_error_t *err)
{
    if (!m || !r)
        return zpar__errnoprintf (err, EINVAL, "no message or nothing to decode into");
    memset (r, 0, sizeof (*r));
    r->rank = -1;
    if (zpar__proto_begin_decode (m, ZPAR_MSG_REGISTER_ENGINE, &r->h, err) < 0 ||
        zpar__proto_str (m, ZPAR_F_HOST, &r->mem, &r->host, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_PID, &r->pid, err) < 0 || get_rank (m, &r->rank, err) < 0 ||
        zpar__proto_u32 (m, ZPAR_F_ENGINE_ID, &r->want.v, err) < 0 ||
        zpar__proto_str (m, ZPAR_F_ENGINE_UUID, &r->mem, &r->uuid, err) < 0 ||
        get_tids (m, ZPAR_F_HELD, &r->mem, &r->held, &r->nheld, err) < 0 ||
        zpar__proto_get_engine_res (m, &r->mem, &r->cores, &r->cpuset, &r->gpu_names, &r->mem_share,
                                    &r->node_mem, err) < 0) {
        zpar__proto_reg_engine_clear (r);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------- register_engine_reply */

void zpar__proto_reg_engine_reply_clear (zpar_proto_reg_engine_reply_t *r)
{
    if (r) {
        zpar__proto_mem_free (&r->mem);
        memset (r, 0, sizeof (*r));
    }
}

int zpar__proto_reg_engine_reply_encode (zpar_msg_t *m, const zpar_proto_reg_engine_reply_t *r)
{
    int rc = 0;
    if (!m || !r || r->errnum < 0 || (r->scheme && !zpar__scheme_name (r->scheme)) ||
        !tids_valid (r->drop, r->ndrop) || (r->ndrop && !r->h.engine.v))
        BAD_PARAM ();
    if (r->h.engine.v) {
        for (size_t i = 0; i < sizeof (engine_addrs) / sizeof (engine_addrs[0]); i++)
            if (!r->addr[engine_addrs[i]])
                BAD_PARAM ();
        if (zpar__route_engine (r->route.b, sizeof (r->route.b)).v != r->h.engine.v)
            BAD_PARAM ();
    }
    zpar__proto_begin_encode (m, ZPAR_MSG_REGISTER_ENGINE_REPLY, &r->h);
    if (r->h.engine.v) {
        zpar__proto_put_bytes (&rc, m, ZPAR_F_ROUTE, r->route.b, sizeof (r->route.b));
        for (size_t i = 0; i < 4; i++)
            zpar__proto_put_str (&rc, m, addr_keys[engine_addrs[i]], r->addr[engine_addrs[i]]);
        if (r->scheme)
            zpar__proto_put_str (&rc, m, ZPAR_F_TASK_SCHEME, zpar__scheme_name (r->scheme));
        for (size_t i = 4; i < 6; i++)
            zpar__proto_put_str (&rc, m, addr_keys[engine_addrs[i]], r->addr[engine_addrs[i]]);
        if (r->hb_period_ms)
            zpar__proto_put_u64 (&rc, m, ZPAR_F_HB_PERIOD_MS, r->hb_period_ms);
        if (r->hb_misses)
            zpar__proto_put_u64 (&rc, m, ZPAR_F_HB_MISSES, r->hb_misses);
        for (size_t i = 0; i < r->ndrop; i++)
            zpar__proto_put_u64 (&rc, m, ZPAR_F_DROP, r->drop[i].v);
    }
    put_error (&rc, m, r->errnum, r->error);
    return zpar__proto_end_encode (m, rc);
}

int zpar__proto_reg_engine_reply_decode (const zpar_msg_t *m, zpar_proto_reg_engine_reply_t *r,
                                         zpar_error_t *err)
{
    int scheme = 0;
    if (!m || !r)
        return zpar__errnoprintf (err, EINVAL, "no message or nothing to decode into");
    memset (r, 0, sizeof (*r));
    if (zpar__proto_begin_decode (m, ZPAR_MSG_REGISTER_ENGINE_REPLY, &r->h, err) < 0 ||
        get_addrs (m, engine_addrs, sizeof (engine_addrs) / sizeof (engine_addrs[0]),
                   r->h.engine.v != 0, &r->mem, r->addr, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_HB_PERIOD_MS, &r->hb_period_ms, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_HB_MISSES, &r->hb_misses, err) < 0 ||
        get_enum (m, ZPAR_F_TASK_SCHEME, scheme_names, NNAMES (scheme_names), &scheme, err) < 0 ||
        zpar__proto_str (m, ZPAR_F_ERROR, &r->mem, &r->error, err) < 0 ||
        get_errnum (m, &r->errnum, err) < 0 ||
        get_tids (m, ZPAR_F_DROP, &r->mem, &r->drop, &r->ndrop, err) < 0) {
        zpar__proto_reg_engine_reply_clear (r);
        return -1;
    }
    if (r->h.engine.v) {
        const void *p = NULL;
        size_t len = 0;
        if (zpar__proto_bytes (m, ZPAR_F_ROUTE, &p, &len) < 0 || !p ||
            zpar__route_parse (p, len, &r->route) < 0 ||
            zpar__route_engine (r->route.b, sizeof (r->route.b)).v != r->h.engine.v) {
            zpar__proto_reg_engine_reply_clear (r);
            return zpar__errnoprintf (err, EPROTO,
                                      "register_engine_reply: no valid route for "
                                      "engine %u",
                                      r->h.engine.v);
        }
    }
    r->scheme = (zpar_task_scheme_t)scheme;
    return 0;
}

/* ----------------------------------------- register_client, unregister */

static int hdr_only_encode (zpar_msg_t *m, zpar_msg_type_t type, const zpar_proto_hdr_t *h)
{
    if (!m || !h)
        BAD_PARAM ();
    zpar__proto_begin_encode (m, type, h);
    return 0;
}

static int hdr_only_decode (const zpar_msg_t *m, zpar_msg_type_t type, zpar_proto_hdr_t *h,
                            zpar_error_t *err)
{
    if (!m || !h)
        return zpar__errnoprintf (err, EINVAL, "no message or nothing to decode into");
    memset (h, 0, sizeof (*h));
    if (zpar__proto_begin_decode (m, type, h, err) < 0) {
        memset (h, 0, sizeof (*h));
        return -1;
    }
    return 0;
}

int zpar__proto_reg_client_encode (zpar_msg_t *m, const zpar_proto_reg_client_t *r)
{
    return hdr_only_encode (m, ZPAR_MSG_REGISTER_CLIENT, r ? &r->h : NULL);
}

int zpar__proto_reg_client_decode (const zpar_msg_t *m, zpar_proto_reg_client_t *r,
                                   zpar_error_t *err)
{
    return hdr_only_decode (m, ZPAR_MSG_REGISTER_CLIENT, r ? &r->h : NULL, err);
}

int zpar__proto_unregister_encode (zpar_msg_t *m, const zpar_proto_unregister_t *u)
{
    return hdr_only_encode (m, ZPAR_MSG_UNREGISTER, u ? &u->h : NULL);
}

int zpar__proto_unregister_decode (const zpar_msg_t *m, zpar_proto_unregister_t *u,
                                   zpar_error_t *err)
{
    return hdr_only_decode (m, ZPAR_MSG_UNREGISTER, u ? &u->h : NULL, err);
}

/* ---------------------------------------------- register_client_reply */

void zpar__proto_reg_client_reply_clear (zpar_proto_reg_client_reply_t *r)
{
    if (r) {
        zpar__proto_mem_free (&r->mem);
        memset (r, 0, sizeof (*r));
    }
}

int zpar__proto_reg_client_reply_encode (zpar_msg_t *m, const zpar_proto_reg_client_reply_t *r)
{
    int rc = 0;
    int accepted;
    if (!m || !r || r->errnum < 0 || (r->scheme && !zpar__scheme_name (r->scheme)))
        BAD_PARAM ();
    accepted = !r->errnum && !r->error;
    if (accepted) {
        if (!r->id.v)
            BAD_PARAM ();
        for (size_t i = 0; i < sizeof (client_addrs) / sizeof (client_addrs[0]); i++)
            if (!r->addr[client_addrs[i]])
                BAD_PARAM ();
    }
    zpar__proto_begin_encode (m, ZPAR_MSG_REGISTER_CLIENT_REPLY, &r->h);
    if (accepted) {
        zpar__proto_put_u64 (&rc, m, ZPAR_F_CLIENT_ID, r->id.v);
        for (size_t i = 0; i < 4; i++)
            zpar__proto_put_str (&rc, m, addr_keys[client_addrs[i]], r->addr[client_addrs[i]]);
        if (r->scheme)
            zpar__proto_put_str (&rc, m, ZPAR_F_TASK_SCHEME, zpar__scheme_name (r->scheme));
        zpar__proto_put_str (&rc, m, ZPAR_F_ADDR_NOTIFY, r->addr[ZPAR_ADDR_NOTIFY]);
    }
    put_error (&rc, m, r->errnum, r->error);
    return zpar__proto_end_encode (m, rc);
}

int zpar__proto_reg_client_reply_decode (const zpar_msg_t *m, zpar_proto_reg_client_reply_t *r,
                                         zpar_error_t *err)
{
    int scheme = 0, accepted;
    if (!m || !r)
        return zpar__errnoprintf (err, EINVAL, "no message or nothing to decode into");
    memset (r, 0, sizeof (*r));
    accepted = !zpar__msg_count (m, ZPAR_F_ERROR) && !zpar__msg_count (m, ZPAR_F_ERRNO);
    if (zpar__proto_begin_decode (m, ZPAR_MSG_REGISTER_CLIENT_REPLY, &r->h, err) < 0 ||
        zpar__proto_u32 (m, ZPAR_F_CLIENT_ID, &r->id.v, err) < 0 ||
        get_addrs (m, client_addrs, sizeof (client_addrs) / sizeof (client_addrs[0]), accepted,
                   &r->mem, r->addr, err) < 0 ||
        get_enum (m, ZPAR_F_TASK_SCHEME, scheme_names, NNAMES (scheme_names), &scheme, err) < 0 ||
        zpar__proto_str (m, ZPAR_F_ERROR, &r->mem, &r->error, err) < 0 ||
        get_errnum (m, &r->errnum, err) < 0)
        goto error;
    if (accepted && !r->id.v) {
        zpar__errnoprintf (err, EPROTO, "client registration reply without a client number");
        goto error;
    }
    if (!accepted && !r->error && !r->errnum) { /* else it would read as accepted */
        zpar__errnoprintf (err, EPROTO, "client registration refusal without a reason");
        goto error;
    }
    r->scheme = (zpar_task_scheme_t)scheme;
    return 0;
error:
    zpar__proto_reg_client_reply_clear (r);
    return -1;
}

/* -------------------------------------------------------------- query */

int zpar__proto_query_encode (zpar_msg_t *m, const zpar_proto_query_t *q)
{
    int rc = 0;
    if (!m || !q || !zpar__query_name (q->kind) || (q->nids && !q->ids) ||
        (q->record_len && !q->record))
        BAD_PARAM ();
    if (q->kind == ZPAR_QUERY_RESUBMIT && (!q->task.v || !q->record || !q->record_len))
        BAD_PARAM ();
    if (q->kind == ZPAR_QUERY_SYNC) {
        if (!q->nids)
            BAD_PARAM ();
        for (size_t i = 0; i < q->nids; i++)
            if (!q->ids[i].v)
                BAD_PARAM ();
    }
    zpar__proto_begin_encode (m, ZPAR_MSG_QUERY, &q->h);
    zpar__proto_put_str (&rc, m, ZPAR_F_QUERY, zpar__query_name (q->kind));
    if (q->kind == ZPAR_QUERY_SYNC) {
        for (size_t i = 0; i < q->nids; i++)
            zpar__proto_put_u64 (&rc, m, ZPAR_F_TASK_ID, q->ids[i].v);
    } else if (q->task.v)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_TASK_ID, q->task.v);
    if (q->kind == ZPAR_QUERY_RESUBMIT)
        zpar__proto_put_bytes (&rc, m, ZPAR_F_RECORD, q->record, q->record_len);
    return zpar__proto_end_encode (m, rc);
}

/* Every TASK_ID of m is a non-zero u64 (SYNC); 0 / -1 EPROTO. */
static int check_ids (const zpar_msg_t *m, zpar_error_t *err)
{
    size_t n = zpar__msg_count (m, ZPAR_F_TASK_ID);
    if (n == 0)
        return zpar__proto_missing (err, ZPAR_F_TASK_ID);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *p = zpar__msg_get_bytes_at (m, ZPAR_F_TASK_ID, i, &len);
        int zero = 1;
        if (!p || len != 8)
            return zpar__errnoprintf (err, EPROTO, "sync: task id %zu is not an 8-byte number", i);
        for (size_t k = 0; k < 8; k++)
            zero &= p[k] == 0;
        if (zero)
            return zpar__errnoprintf (err, EPROTO, "sync: task id %zu is 0", i);
    }
    return 0;
}

int zpar__proto_query_decode (const zpar_msg_t *m, zpar_proto_query_t *q, zpar_error_t *err)
{
    int kind = 0, rc;
    if (!m || !q)
        return zpar__errnoprintf (err, EINVAL, "no message or nothing to decode into");
    memset (q, 0, sizeof (*q));
    if (zpar__proto_begin_decode (m, ZPAR_MSG_QUERY, &q->h, err) < 0 ||
        (rc = zpar__proto_enum (m, ZPAR_F_QUERY, query_names, NNAMES (query_names), &kind, err)) <
            0 ||
        (rc == 0 && zpar__proto_missing (err, ZPAR_F_QUERY) < 0) ||
        zpar__proto_u64 (m, ZPAR_F_TASK_ID, &q->task.v, err) < 0)
        goto error;
    q->kind = (zpar_query_kind_t)kind;
    if (q->kind == ZPAR_QUERY_SYNC && check_ids (m, err) < 0)
        goto error;
    if (q->kind == ZPAR_QUERY_RESUBMIT) {
        if (!q->task.v) {
            zpar__proto_missing (err, ZPAR_F_TASK_ID);
            goto error;
        }
        if (zpar__proto_bytes (m, ZPAR_F_RECORD, &q->record, &q->record_len) <= 0 ||
            !q->record_len) {
            zpar__proto_missing (err, ZPAR_F_RECORD);
            goto error;
        }
    }
    return 0;
error:
    memset (q, 0, sizeof (*q));
    return -1;
}

static int tid_list (const zpar_msg_t *m, zpar_proto_mem_t *mem, const zpar_tid_t **ids,
                     size_t *nids, zpar_error_t *err)
{
    uint64_t *v = NULL;
    size_t n = 0;
    zpar_tid_t *t;
    int rc = zpar__proto_u64v (m, ZPAR_F_TASK_ID, mem, &v, &n, err);
    *ids = NULL;
    *nids = 0;
    if (rc <= 0)
        return rc;
    if (!(t = zpar__proto_mem_alloc (mem, n * sizeof (*t))))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!v[i])
            return zpar__errnoprintf (err, EPROTO, "task id %zu is 0", i);
        t[i] = zpar__tid (v[i]);
    }
    *ids = t;
    *nids = n;
    return 0;
}

int zpar__proto_query_ids (const zpar_msg_t *m, zpar_proto_mem_t *mem, const zpar_tid_t **ids,
                           size_t *nids, zpar_error_t *err)
{
    if (!m || !mem || !ids || !nids)
        return zpar__errnoprintf (err, EINVAL, "bad parameter");
    if (tid_list (m, mem, ids, nids, err) < 0)
        return -1;
    if (!*nids)
        return zpar__proto_missing (err, ZPAR_F_TASK_ID);
    return 0;
}

/* -------------------------------------------------------- query_reply */

void zpar__proto_query_reply_clear (zpar_proto_query_reply_t *r)
{
    if (r) {
        zpar__proto_mem_free (&r->mem);
        memset (r, 0, sizeof (*r));
    }
}

static int put_engine (int *rc, zpar_msg_t *m, zpar_msg_t *e, const zpar_proto_engine_info_t *x)
{
    uint8_t *buf;
    size_t len;
    int erc = 0;
    if (*rc < 0)
        return -1;
    if (x->rank < -1 || (x->state && !zpar__engine_state_name (x->state))) {
        errno = EINVAL;
        return *rc = -1;
    }
    zpar__msg_reset (e, ZPAR_MSG_NOTIFY);
    e->hdr.engine = x->id.v;
    zpar__proto_put_u64 (&erc, e, ZPAR_F_ENGINE_ID, x->id.v);
    if (x->host)
        zpar__proto_put_str (&erc, e, ZPAR_F_HOST, x->host);
    zpar__proto_put_u64 (&erc, e, ZPAR_F_PID, x->pid);
    zpar__proto_put_u64 (&erc, e, ZPAR_F_RANK, (uint64_t)(int64_t)x->rank);
    if (x->state)
        zpar__proto_put_str (&erc, e, ZPAR_F_STATE, zpar__engine_state_name (x->state));
    zpar__proto_put_u64 (&erc, e, ZPAR_F_OUTSTANDING, x->outstanding);
    if (erc < 0 || zpar__msg_pack (e, &buf, &len) < 0)
        return *rc = -1;
    zpar__proto_put_bytes (rc, m, ZPAR_F_RECORD, buf, len);
    free (buf);
    return *rc;
}

int zpar__proto_query_reply_encode (zpar_msg_t *m, const zpar_proto_query_reply_t *r)
{
    int rc = 0;
    if (!m || !r || r->errnum < 0 || (r->kind && !zpar__query_name (r->kind)) ||
        (r->state && !zpar__task_state_name (r->state)) || (r->nengines && !r->engines) ||
        (r->record_len && !r->record) || (r->nids && !r->ids))
        BAD_PARAM ();
    for (size_t i = 0; i < r->nids; i++)
        if (!r->ids[i].v)
            BAD_PARAM ();
    zpar__proto_begin_encode (m, ZPAR_MSG_QUERY_REPLY, &r->h);
    if (r->kind)
        zpar__proto_put_str (&rc, m, ZPAR_F_QUERY, zpar__query_name (r->kind));
    switch (r->kind) {
    case ZPAR_QUERY_ENGINES: {
        zpar_msg_t *e = zpar__msg_create (ZPAR_MSG_NOTIFY);
        if (!e)
            rc = -1;
        for (size_t i = 0; e && i < r->nengines; i++)
            put_engine (&rc, m, e, &r->engines[i]);
        zpar__msg_destroy (e);
        break;
    }
    case ZPAR_QUERY_STATUS:
        zpar__proto_put_u64 (&rc, m, ZPAR_F_PENDING, r->pending);
        zpar__proto_put_u64 (&rc, m, ZPAR_F_RUNNING, r->running);
        zpar__proto_put_u64 (&rc, m, ZPAR_F_COMPLETED, r->completed);
        zpar__proto_put_u64 (&rc, m, ZPAR_F_FAILED, r->failed);
        zpar__proto_put_u64 (&rc, m, ZPAR_F_DROPPED, r->dropped);
        zpar__proto_put_u64 (&rc, m, ZPAR_F_DUPLICATES, r->duplicates);
        if (r->records_since_us) {
            zpar__proto_put_u64 (&rc, m, ZPAR_F_RECORDS_SINCE_US, r->records_since_us);
            zpar__proto_put_u64 (&rc, m, ZPAR_F_RECORDS_UNSAVED, r->records_unsaved);
            zpar__proto_put_u64 (&rc, m, ZPAR_F_RECORDS_BYTES, r->records_bytes);
            zpar__proto_put_u64 (&rc, m, ZPAR_F_RECORDS_LIMIT, r->records_limit);
            zpar__proto_put_u64 (&rc, m, ZPAR_F_RECORDS_REFUSING, r->records_refusing);
            zpar__proto_put_str (&rc, m, ZPAR_F_RECORDS_ERROR,
                                 r->records_error ? r->records_error : "");
        }
        break;
    case ZPAR_QUERY_RESULT:
    case ZPAR_QUERY_REQUEST:
        zpar__proto_put_u64 (&rc, m, ZPAR_F_TASK_ID, r->task.v);
        if (r->state)
            zpar__proto_put_str (&rc, m, ZPAR_F_STATE, zpar__task_state_name (r->state));
        if (r->record)
            zpar__proto_put_bytes (&rc, m, ZPAR_F_RECORD, r->record, r->record_len);
        break;
    case ZPAR_QUERY_PURGE:
        zpar__proto_put_u64 (&rc, m, ZPAR_F_COUNT, r->count);
        break;
    case ZPAR_QUERY_RESUBMIT:
        zpar__proto_put_u64 (&rc, m, ZPAR_F_TASK_ID, r->task.v);
        zpar__proto_put_u64 (&rc, m, ZPAR_F_COUNT, r->count);
        if (r->state)
            zpar__proto_put_str (&rc, m, ZPAR_F_STATE, zpar__task_state_name (r->state));
        break;
    case ZPAR_QUERY_SYNC:
        zpar__proto_put_u64 (&rc, m, ZPAR_F_COUNT, r->count);
        for (size_t i = 0; i < r->nids; i++)
            zpar__proto_put_u64 (&rc, m, ZPAR_F_TASK_ID, r->ids[i].v);
        break;
    default:
        break;
    }
    if (r->errnum)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_ERRNO, (uint64_t)r->errnum);
    if (r->error)
        zpar__proto_put_str (&rc, m, ZPAR_F_ERROR, r->error);
    return zpar__proto_end_encode (m, rc);
}

static int get_engines (const zpar_msg_t *m, zpar_proto_query_reply_t *r, zpar_error_t *err)
{
    size_t n = zpar__msg_count (m, ZPAR_F_RECORD);
    zpar_proto_engine_info_t *v;
    zpar_msg_t *e;
    int rc = -1;

    if (n == 0)
        return 0;
    if (!(v = zpar__proto_mem_alloc (&r->mem, n * sizeof (*v))) ||
        !(e = zpar__msg_create (ZPAR_MSG_NONE)))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const void *p = zpar__msg_get_bytes_at (m, ZPAR_F_RECORD, i, &len);
        zpar_error_t sub;
        int state = 0;
        v[i].rank = -1;
        if (zpar__msg_unpack (e, p, len, &sub) < 0) {
            zpar__errnoprintf (err, EPROTO, "engine record %zu: %s", i, sub.text);
            goto done;
        }
        if (e->hdr.type != ZPAR_MSG_NOTIFY) {
            zpar__errnoprintf (err, EPROTO, "engine record %zu is a %s message", i,
                               zpar__msg_type_name (e->hdr.type));
            goto done;
        }
        if (zpar__proto_u32 (e, ZPAR_F_ENGINE_ID, &v[i].id.v, err) < 0 ||
            zpar__proto_str (e, ZPAR_F_HOST, &r->mem, &v[i].host, err) < 0 ||
            zpar__proto_u64 (e, ZPAR_F_PID, &v[i].pid, err) < 0 ||
            get_rank (e, &v[i].rank, err) < 0 ||
            get_enum (e, ZPAR_F_STATE, engine_state_names, NNAMES (engine_state_names), &state,
                      err) < 0 ||
            zpar__proto_u64 (e, ZPAR_F_OUTSTANDING, &v[i].outstanding, err) < 0)
            goto done;
        v[i].state = (zpar_engine_state_t)state;
    }
    r->engines = v;
    r->nengines = n;
    rc = 0;
done:
    zpar__msg_destroy (e);
    return rc;
}

/* The RECORDS_* fields of a status reply (all optional). */
static int get_records_health (const zpar_msg_t *m, zpar_proto_query_reply_t *r, zpar_error_t *err)
{
    if (zpar__proto_u64 (m, ZPAR_F_RECORDS_SINCE_US, &r->records_since_us, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_RECORDS_UNSAVED, &r->records_unsaved, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_RECORDS_BYTES, &r->records_bytes, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_RECORDS_LIMIT, &r->records_limit, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_RECORDS_REFUSING, &r->records_refusing, err) < 0 ||
        zpar__proto_str (m, ZPAR_F_RECORDS_ERROR, &r->mem, &r->records_error, err) < 0)
        return -1;
    if (r->records_refusing > 1)
        return zpar__errnoprintf (err, EPROTO, "RECORDS_REFUSING is %llu, not 0 or 1",
                                  (unsigned long long)r->records_refusing);
    return 0;
}

int zpar__proto_query_reply_decode (const zpar_msg_t *m, zpar_proto_query_reply_t *r,
                                    zpar_error_t *err)
{
    int kind = 0, state = 0;
    if (!m || !r)
        return zpar__errnoprintf (err, EINVAL, "no message or nothing to decode into");
    memset (r, 0, sizeof (*r));
    if (zpar__proto_begin_decode (m, ZPAR_MSG_QUERY_REPLY, &r->h, err) < 0 ||
        get_enum (m, ZPAR_F_QUERY, query_names, NNAMES (query_names), &kind, err) < 0 ||
        get_errnum (m, &r->errnum, err) < 0 ||
        zpar__proto_str (m, ZPAR_F_ERROR, &r->mem, &r->error, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_PENDING, &r->pending, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_RUNNING, &r->running, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_COMPLETED, &r->completed, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_FAILED, &r->failed, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_DROPPED, &r->dropped, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_DUPLICATES, &r->duplicates, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_TASK_ID, &r->task.v, err) < 0 ||
        get_enum (m, ZPAR_F_STATE, task_state_names, NNAMES (task_state_names), &state, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_COUNT, &r->count, err) < 0 || get_records_health (m, r, err) < 0)
        goto error;
    r->kind = (zpar_query_kind_t)kind;
    r->state = (zpar_task_state_t)state;
    if (r->kind == ZPAR_QUERY_ENGINES) {
        if (get_engines (m, r, err) < 0)
            goto error;
    } else if (r->kind == ZPAR_QUERY_SYNC) {
        if (tid_list (m, &r->mem, &r->ids, &r->nids, err) < 0)
            goto error;
    } else
        (void)zpar__proto_bytes (m, ZPAR_F_RECORD, &r->record, &r->record_len);
    return 0;
error:
    zpar__proto_query_reply_clear (r);
    return -1;
}

int zpar__proto_query_named (const zpar_msg_t *m)
{
    return m && zpar__msg_count (m, ZPAR_F_QUERY) > 0;
}
