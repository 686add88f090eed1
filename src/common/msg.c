/* msg.c - the zpar wire codec. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "le.h"
#include "msg.h"

static const char *type_names[ZPAR_MSG_TYPE_MAX] = {
    [ZPAR_MSG_REGISTER_ENGINE] = "register_engine",
    [ZPAR_MSG_REGISTER_ENGINE_REPLY] = "register_engine_reply",
    [ZPAR_MSG_REGISTER_CLIENT] = "register_client",
    [ZPAR_MSG_REGISTER_CLIENT_REPLY] = "register_client_reply",
    [ZPAR_MSG_UNREGISTER] = "unregister",
    [ZPAR_MSG_QUERY] = "query",
    [ZPAR_MSG_QUERY_REPLY] = "query_reply",
    [ZPAR_MSG_TASK] = "task",
    [ZPAR_MSG_RESULT] = "result",
    [ZPAR_MSG_BATCH] = "batch",
    [ZPAR_MSG_ABORT] = "abort",
    [ZPAR_MSG_INTERRUPT] = "interrupt",
    [ZPAR_MSG_SHUTDOWN] = "shutdown",
    [ZPAR_MSG_CONTROL_REPLY] = "control_reply",
    [ZPAR_MSG_STREAM] = "stream",
    [ZPAR_MSG_TASK_STATUS] = "task_status",
    [ZPAR_MSG_NOTIFY] = "notify",
};

static const char *field_names[] = {
    [ZPAR_F_KIND] = "kind",
    [ZPAR_F_ARGV] = "argv",
    [ZPAR_F_ENV] = "env",
    [ZPAR_F_CWD] = "cwd",
    [ZPAR_F_TIMEOUT_MS] = "timeout_ms",
    [ZPAR_F_RETRIES] = "retries",
    [ZPAR_F_AFTER] = "after",
    [ZPAR_F_TARGET] = "target",
    [ZPAR_F_PRIORITY] = "priority",
    [ZPAR_F_LIB] = "lib",
    [ZPAR_F_SYMBOL] = "symbol",
    [ZPAR_F_INPUT] = "input",
    [ZPAR_F_INLINE] = "inline",
    [ZPAR_F_ATTEMPT] = "attempt",
    [ZPAR_F_OUTPUT_CAP] = "output_cap",
    [ZPAR_F_ALL_ENGINES] = "all_engines",
    [ZPAR_F_STOP_SIGNAL] = "stop_signal",
    [ZPAR_F_STOP_GRACE] = "stop_grace_ms",
    [ZPAR_F_STATUS] = "status",
    [ZPAR_F_EXIT] = "exit",
    [ZPAR_F_SIGNAL] = "signal",
    [ZPAR_F_WALL_US] = "wall_us",
    [ZPAR_F_UTIME_US] = "utime_us",
    [ZPAR_F_STIME_US] = "stime_us",
    [ZPAR_F_MAXRSS_KB] = "maxrss_kb",
    [ZPAR_F_HOST] = "host",
    [ZPAR_F_STDOUT] = "stdout",
    [ZPAR_F_STDERR] = "stderr",
    [ZPAR_F_OUTPUT] = "output",
    [ZPAR_F_ERROR] = "error",
    [ZPAR_F_STARTED_US] = "started_us",
    [ZPAR_F_FINISHED_US] = "finished_us",
    [ZPAR_F_PID] = "pid",
    [ZPAR_F_TRUNCATED] = "truncated",
    [ZPAR_F_SUBMITTED_US] = "submitted_us",
    [ZPAR_F_ENGINE_ID] = "engine_id",
    [ZPAR_F_CLIENT_ID] = "client_id",
    [ZPAR_F_RANK] = "rank",
    [ZPAR_F_ADDR_MUX] = "addr_mux",
    [ZPAR_F_ADDR_TASK] = "addr_task",
    [ZPAR_F_ADDR_CONTROL] = "addr_control",
    [ZPAR_F_ADDR_IOPUB] = "addr_iopub",
    [ZPAR_F_ADDR_HB_PING] = "addr_hb_ping",
    [ZPAR_F_ADDR_HB_PONG] = "addr_hb_pong",
    [ZPAR_F_ADDR_NOTIFY] = "addr_notify",
    [ZPAR_F_HB_PERIOD_MS] = "hb_period_ms",
    [ZPAR_F_HB_MISSES] = "hb_misses",
    [ZPAR_F_TASK_SCHEME] = "task_scheme",
    [ZPAR_F_STATE] = "state",
    [ZPAR_F_ENGINE_UUID] = "engine_uuid",
    [ZPAR_F_ROUTE] = "route",
    [ZPAR_F_HELD] = "held",
    [ZPAR_F_DROP] = "drop",
    [ZPAR_F_STREAM] = "stream",
    [ZPAR_F_DATA] = "data",
    [ZPAR_F_EVENT] = "event",
    [ZPAR_F_OFFSET] = "offset",
    [ZPAR_F_QUERY] = "query",
    [ZPAR_F_TASK_ID] = "task_id",
    [ZPAR_F_COUNT] = "count",
    [ZPAR_F_RECORD] = "record",
    [ZPAR_F_PENDING] = "pending",
    [ZPAR_F_RUNNING] = "running",
    [ZPAR_F_COMPLETED] = "completed",
    [ZPAR_F_FAILED] = "failed",
    [ZPAR_F_DROPPED] = "dropped",
    [ZPAR_F_OUTSTANDING] = "outstanding",
    [ZPAR_F_ERRNO] = "errno",
    [ZPAR_F_DUPLICATES] = "duplicates",
    [ZPAR_F_ITEM] = "item",
    [ZPAR_F_CORES] = "cores",
    [ZPAR_F_GPUS] = "gpus",
    [ZPAR_F_MEMORY] = "memory",
    [ZPAR_F_RANKS] = "ranks",
    [ZPAR_F_NODES] = "nodes",
    [ZPAR_F_RANKS_PER_NODE] = "ranks_per_node",
    [ZPAR_F_SLOT] = "slot",
    [ZPAR_F_CPUSET] = "cpuset",
    [ZPAR_F_GPU_NAMES] = "gpu_names",
    [ZPAR_F_MEM_SHARE] = "mem_share",
};

const char *zpar__msg_field_name (int key)
{
    if (key <= 0 || (size_t)key >= sizeof (field_names) / sizeof (field_names[0]) ||
        !field_names[key])
        return "unknown";
    return field_names[key];
}

const char *zpar__chan_name (zpar_chan_t chan)
{
    static const char *const names[ZPAR_CHAN_MAX] = {
        [ZPAR_CHAN_ANY] = "any",         [ZPAR_CHAN_REGISTRAR] = "registrar",
        [ZPAR_CHAN_MUX] = "mux",         [ZPAR_CHAN_TASK] = "task",
        [ZPAR_CHAN_CONTROL] = "control", [ZPAR_CHAN_IOPUB] = "iopub",
        [ZPAR_CHAN_NOTIFY] = "notify",
    };
    return (unsigned)chan < ZPAR_CHAN_MAX ? names[chan] : "unknown";
}

int zpar__msg_type_known (int type)
{
    return type > 0 && type < ZPAR_MSG_TYPE_MAX && type_names[type] != NULL;
}

const char *zpar__msg_type_name (int type)
{
    if (type <= 0 || type >= ZPAR_MSG_TYPE_MAX || !type_names[type])
        return "unknown";
    return type_names[type];
}

zpar_msg_t *zpar__msg_create (zpar_msg_type_t type)
{
    zpar_msg_t *m = calloc (1, sizeof (*m));
    if (!m)
        return NULL;
    m->hdr.version = ZPAR_PROTO_VERSION;
    m->hdr.type = (uint16_t)type;
    return m;
}

void zpar__msg_destroy (zpar_msg_t *m)
{
    if (m) {
        int saved = errno;
        free (m->body);
        free (m->fields);
        free (m);
        errno = saved;
    }
}

void zpar__msg_reset (zpar_msg_t *m, zpar_msg_type_t type)
{
    memset (&m->hdr, 0, sizeof (m->hdr));
    m->hdr.version = ZPAR_PROTO_VERSION;
    m->hdr.type = (uint16_t)type;
    m->nenv = 0;
    m->len = 0;
    m->nfields = 0;
}

static int reserve (zpar_msg_t *m, size_t more)
{
    if (m->len + more > ZPAR_MAX_BODY) {
        errno = EMSGSIZE;
        return -1;
    }
    if (m->len + more > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 256;
        while (ncap < m->len + more)
            ncap *= 2;
        uint8_t *nb = realloc (m->body, ncap);
        if (!nb)
            return -1;
        m->body = nb;
        m->cap = ncap;
    }
    if (m->nfields == m->fcap) {
        size_t nf = m->fcap ? m->fcap * 2 : 16;
        if (nf > ZPAR_MAX_FIELDS) {
            if (m->fcap >= ZPAR_MAX_FIELDS) {
                errno = EMSGSIZE;
                return -1;
            }
            nf = ZPAR_MAX_FIELDS;
        }
        zpar_fieldref_t *f = realloc (m->fields, nf * sizeof (*f));
        if (!f)
            return -1;
        m->fields = f;
        m->fcap = nf;
    }
    return 0;
}

void zpar__msg_clear_body (zpar_msg_t *m)
{
    if (m) {
        m->len = 0;
        m->nfields = 0;
    }
}

int zpar__msg_add_bytes (zpar_msg_t *m, zpar_field_t key, const void *data, size_t len)
{
    if (!m || (len && !data) || len > ZPAR_MAX_BODY) {
        errno = EINVAL;
        return -1;
    }
    if (reserve (m, 6 + len) < 0)
        return -1;
    put16 (m->body + m->len, (uint16_t)key);
    put32 (m->body + m->len + 2, (uint32_t)len);
    if (len)
        memcpy (m->body + m->len + 6, data, len);
    m->fields[m->nfields].key = (uint16_t)key;
    m->fields[m->nfields].off = (uint32_t)(m->len + 6);
    m->fields[m->nfields].len = (uint32_t)len;
    m->nfields++;
    m->len += 6 + len;
    return 0;
}

int zpar__msg_add_str (zpar_msg_t *m, zpar_field_t key, const char *s)
{
    if (!s) {
        errno = EINVAL;
        return -1;
    }
    return zpar__msg_add_bytes (m, key, s, strlen (s));
}

int zpar__msg_add_u64 (zpar_msg_t *m, zpar_field_t key, uint64_t v)
{
    uint8_t b[8];
    put64 (b, v);
    return zpar__msg_add_bytes (m, key, b, 8);
}

int zpar__msg_set_envelope (zpar_msg_t *m, int n, const zpar_ident_t *ids)
{
    if (n < 0 || n > ZPAR_MAX_ENVELOPE) {
        errno = EINVAL;
        return -1;
    }
    for (int i = 0; i < n; i++)
        m->env[i] = ids[i];
    m->nenv = n;
    return 0;
}

int zpar__msg_push_ident (zpar_msg_t *m, const void *id, size_t len)
{
    if (m->nenv >= ZPAR_MAX_ENVELOPE || len > ZPAR_MAX_IDENT) {
        errno = EINVAL;
        return -1;
    }
    m->env[m->nenv].len = len;
    memcpy (m->env[m->nenv].data, id, len);
    m->nenv++;
    return 0;
}

static const zpar_fieldref_t *find (const zpar_msg_t *m, zpar_field_t key, size_t idx)
{
    size_t seen = 0;
    for (size_t i = 0; i < m->nfields; i++) {
        if (m->fields[i].key == key) {
            if (seen == idx)
                return &m->fields[i];
            seen++;
        }
    }
    return NULL;
}

size_t zpar__msg_count (const zpar_msg_t *m, zpar_field_t key)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nfields; i++)
        if (m->fields[i].key == key)
            n++;
    return n;
}

size_t zpar__msg_body_without (const zpar_msg_t *m, zpar_field_t key, uint8_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nfields; i++) {
        const zpar_fieldref_t *f = &m->fields[i];
        if (f->key == key)
            continue;
        memcpy (out + n, m->body + f->off - 6, 6 + (size_t)f->len);
        n += 6 + (size_t)f->len;
    }
    return n;
}

const void *zpar__msg_get_bytes_at (const zpar_msg_t *m, zpar_field_t key, size_t idx, size_t *len)
{
    const zpar_fieldref_t *f = find (m, key, idx);
    if (!f) {
        errno = ENOENT;
        return NULL;
    }
    if (len)
        *len = f->len;
    /* never NULL for a present field, even when empty */
    return m->body ? m->body + f->off : (const void *)"";
}

const void *zpar__msg_get_bytes (const zpar_msg_t *m, zpar_field_t key, size_t *len)
{
    return zpar__msg_get_bytes_at (m, key, 0, len);
}

char *zpar__msg_get_str_at (const zpar_msg_t *m, zpar_field_t key, size_t idx)
{
    size_t len;
    const char *p = zpar__msg_get_bytes_at (m, key, idx, &len);
    char *s;
    if (!p)
        return NULL;
    if (memchr (p, '\0', len)) {
        errno = EPROTO;
        return NULL;
    }
    if (!(s = malloc (len + 1)))
        return NULL;
    memcpy (s, p, len);
    s[len] = '\0';
    return s;
}

char *zpar__msg_get_str (const zpar_msg_t *m, zpar_field_t key)
{
    return zpar__msg_get_str_at (m, key, 0);
}

int zpar__msg_get_u64_at (const zpar_msg_t *m, zpar_field_t key, size_t idx, uint64_t *v)
{
    size_t len;
    const uint8_t *p = zpar__msg_get_bytes_at (m, key, idx, &len);
    if (!p)
        return -1;
    if (len != 8) {
        errno = EPROTO;
        return -1;
    }
    *v = get64 (p);
    return 0;
}

int zpar__msg_get_u64 (const zpar_msg_t *m, zpar_field_t key, uint64_t *v)
{
    return zpar__msg_get_u64_at (m, key, 0, v);
}

uint64_t zpar__msg_u64_or (const zpar_msg_t *m, zpar_field_t key, uint64_t dflt)
{
    uint64_t v;
    return zpar__msg_get_u64 (m, key, &v) == 0 ? v : dflt;
}

void zpar__hdr_encode (const zpar_hdr_t *h, uint8_t out[ZPAR_HDR_LEN])
{
    put16 (out, h->version);
    put16 (out + 2, h->type);
    put32 (out + 4, h->flags);
    put64 (out + 8, h->session);
    put64 (out + 16, h->seq);
    put64 (out + 24, h->task);
    put64 (out + 32, h->time_us);
    put32 (out + 40, h->engine);
    put32 (out + 44, h->client);
}

void zpar__hdr_decode (const uint8_t in[ZPAR_HDR_LEN], zpar_hdr_t *h)
{
    h->version = get16 (in);
    h->type = get16 (in + 2);
    h->flags = get32 (in + 4);
    h->session = get64 (in + 8);
    h->seq = get64 (in + 16);
    h->task = get64 (in + 24);
    h->time_us = get64 (in + 32);
    h->engine = get32 (in + 40);
    h->client = get32 (in + 44);
}

int zpar__msg_body_check (const void *body, size_t blen, zpar_error_t *err)
{
    const uint8_t *b = body;
    size_t pos = 0, n = 0;

    if (blen > ZPAR_MAX_BODY)
        return zpar__errnoprintf (err, EPROTO, "body of %zu bytes is too large", blen);
    if (blen && !b)
        return zpar__errnoprintf (err, EPROTO, "missing body");
    while (pos < blen) {
        uint32_t len;
        if (blen - pos < 6)
            return zpar__errnoprintf (err, EPROTO, "truncated field header at offset %zu", pos);
        len = get32 (b + pos + 2);
        if (len > blen - pos - 6)
            return zpar__errnoprintf (err, EPROTO,
                                      "field %u at offset %zu claims %u bytes, %zu left",
                                      get16 (b + pos), pos, len, blen - pos - 6);
        if (++n > ZPAR_MAX_FIELDS)
            return zpar__errnoprintf (err, EPROTO, "too many fields");
        pos += 6 + (size_t)len;
    }
    return 0;
}

int zpar__msg_decode (zpar_msg_t *m, const void *hdr, size_t hlen, const void *body, size_t blen,
                      zpar_error_t *err)
{
    const uint8_t *h = hdr;
    const uint8_t *b = body;
    size_t pos = 0;

    zpar__msg_reset (m, ZPAR_MSG_NONE);
    if (!hdr || hlen != ZPAR_HDR_LEN)
        return zpar__errnoprintf (err, EPROTO, "header frame has %zu bytes, want %d", hlen,
                                  ZPAR_HDR_LEN);
    m->hdr.version = get16 (h);
    m->hdr.type = get16 (h + 2);
    m->hdr.flags = get32 (h + 4);
    m->hdr.session = get64 (h + 8);
    m->hdr.seq = get64 (h + 16);
    m->hdr.task = get64 (h + 24);
    m->hdr.time_us = get64 (h + 32);
    m->hdr.engine = get32 (h + 40);
    m->hdr.client = get32 (h + 44);
    if (m->hdr.version != ZPAR_PROTO_VERSION)
        return zpar__errnoprintf (err, EPROTO, "protocol version %u, this zpar speaks %d",
                                  m->hdr.version, ZPAR_PROTO_VERSION);
    if (m->hdr.type == 0 || m->hdr.type >= ZPAR_MSG_TYPE_MAX || !type_names[m->hdr.type])
        return zpar__errnoprintf (err, EPROTO, "unknown message type %u", m->hdr.type);
    if (blen > ZPAR_MAX_BODY)
        return zpar__errnoprintf (err, EPROTO, "body of %zu bytes is too large", blen);
    if (blen && !b)
        return zpar__errnoprintf (err, EPROTO, "missing body");
    /* copy the body, then index it */
    if (blen > m->cap) {
        uint8_t *nb = realloc (m->body, blen);
        if (!nb)
            return zpar__errnoprintf (err, ENOMEM, "out of memory");
        m->body = nb;
        m->cap = blen;
    }
    if (blen)
        memcpy (m->body, b, blen);
    m->len = blen;
    while (pos < blen) {
        uint16_t key;
        uint32_t len;
        if (blen - pos < 6)
            return zpar__errnoprintf (err, EPROTO, "truncated field header at offset %zu", pos);
        key = get16 (m->body + pos);
        len = get32 (m->body + pos + 2);
        if (len > blen - pos - 6)
            return zpar__errnoprintf (err, EPROTO,
                                      "field %u at offset %zu claims %u bytes, %zu left", key, pos,
                                      len, blen - pos - 6);
        if (m->nfields == m->fcap) {
            size_t nf = m->fcap ? m->fcap * 2 : 16;
            zpar_fieldref_t *f;
            if (m->fcap >= ZPAR_MAX_FIELDS)
                return zpar__errnoprintf (err, EPROTO, "too many fields");
            if (nf > ZPAR_MAX_FIELDS)
                nf = ZPAR_MAX_FIELDS;
            if (!(f = realloc (m->fields, nf * sizeof (*f))))
                return zpar__errnoprintf (err, ENOMEM, "out of memory");
            m->fields = f;
            m->fcap = nf;
        }
        m->fields[m->nfields].key = key;
        m->fields[m->nfields].off = (uint32_t)(pos + 6);
        m->fields[m->nfields].len = len;
        m->nfields++;
        pos += 6 + (size_t)len;
    }
    return 0;
}

int zpar__msg_pack (const zpar_msg_t *m, uint8_t **buf, size_t *len)
{
    uint8_t *b = malloc (ZPAR_HDR_LEN + m->len + 1);
    if (!b)
        return -1;
    zpar__hdr_encode (&m->hdr, b);
    if (m->len)
        memcpy (b + ZPAR_HDR_LEN, m->body, m->len);
    *buf = b;
    *len = ZPAR_HDR_LEN + m->len;
    return 0;
}

int zpar__msg_unpack (zpar_msg_t *m, const void *buf, size_t len, zpar_error_t *err)
{
    if (!buf || len < ZPAR_HDR_LEN)
        return zpar__errnoprintf (err, EPROTO, "packed message of %zu bytes is too short", len);
    return zpar__msg_decode (m, buf, ZPAR_HDR_LEN, (const uint8_t *)buf + ZPAR_HDR_LEN,
                             len - ZPAR_HDR_LEN, err);
}
