/* test_proto.h - the checks every typed codec goes through (shared by
 * test_proto.c and test_proto_registrar.c): round trip to the same bytes,
 * truncations, wrong types and lengths, unknown names, out-of-range
 * numbers, required fields.  Static: include it in one test program. */
#ifndef ZPAR_TEST_PROTO_H
#define ZPAR_TEST_PROTO_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto_check.h"
#include "proto_control.h"
#include "proto_iopub.h"
#include "proto_registrar.h"
#include "proto_result.h"
#include "proto_task.h"
#include "tap.h"

/* ------------------------------------------------------------ helpers */

/* Decode packed bytes all the way: frame layer, then the typed codec. */
static __attribute__ ((unused)) int decode_bytes (const void *buf, size_t len, zpar_error_t *err)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    int rc;
    if (!m)
        return -1;
    rc = zpar__msg_unpack (m, buf, len, err);
    if (rc == 0)
        rc = zpar__proto_check (m, err);
    zpar__msg_destroy (m);
    return rc;
}

static __attribute__ ((unused)) int pack (const zpar_msg_t *m, uint8_t **buf, size_t *len)
{
    return zpar__msg_pack (m, buf, len);
}

/* What a field holds, for the wrong-type table. */
typedef enum { T_BYTES, T_U64, T_STR } ftype_t;

static __attribute__ ((unused)) ftype_t field_type (int key)
{
    switch (key) {
    case ZPAR_F_ARGV:
    case ZPAR_F_ENV:
    case ZPAR_F_CWD:
    case ZPAR_F_LIB:
    case ZPAR_F_SYMBOL:
    case ZPAR_F_HOST:
    case ZPAR_F_ERROR:
    case ZPAR_F_ADDR_MUX:
    case ZPAR_F_ADDR_TASK:
    case ZPAR_F_ADDR_CONTROL:
    case ZPAR_F_ADDR_IOPUB:
    case ZPAR_F_ADDR_HB_PING:
    case ZPAR_F_ADDR_HB_PONG:
    case ZPAR_F_ADDR_NOTIFY:
    case ZPAR_F_TASK_SCHEME:
    case ZPAR_F_STATE:
    case ZPAR_F_ENGINE_UUID:
    case ZPAR_F_EVENT:
    case ZPAR_F_QUERY:
    case ZPAR_F_SLOT:
    case ZPAR_F_CPUSET:
    case ZPAR_F_GPU_NAMES:
        return T_STR;
    case ZPAR_F_INPUT:
    case ZPAR_F_STDOUT:
    case ZPAR_F_STDERR:
    case ZPAR_F_OUTPUT:
    case ZPAR_F_DATA:
    case ZPAR_F_RECORD:
        return T_BYTES;
    default:
        return T_U64;
    }
}

/* String fields whose value is a name from a fixed set. */
static __attribute__ ((unused)) int is_enum_str (int key)
{
    return key == ZPAR_F_TASK_SCHEME || key == ZPAR_F_STATE || key == ZPAR_F_EVENT ||
           key == ZPAR_F_QUERY;
}

/* A u64 value out of the field's range, or 0 if every value is valid. */
static __attribute__ ((unused)) int out_of_range (int key, uint64_t *v)
{
    switch (key) {
    case ZPAR_F_KIND:
        *v = 3;
        return 1;
    case ZPAR_F_STATUS:
        *v = 9;
        return 1;
    case ZPAR_F_STREAM:
        *v = 3;
        return 1;
    case ZPAR_F_INLINE:
    case ZPAR_F_ALL_ENGINES:
        *v = 2;
        return 1;
    case ZPAR_F_TRUNCATED:
        *v = 4;
        return 1;
    case ZPAR_F_TARGET:
    case ZPAR_F_ENGINE_ID:
    case ZPAR_F_CLIENT_ID:
        *v = 1ull << 32;
        return 1;
    case ZPAR_F_ERRNO:
        *v = 1ull << 31;
        return 1;
    case ZPAR_F_HELD:
    case ZPAR_F_DROP:
        *v = 0; /* task id 0 names no task */
        return 1;
    case ZPAR_F_EXIT:
    case ZPAR_F_RANK:
        *v = (uint64_t)-2;
        return 1;
    case ZPAR_F_CORES:
    case ZPAR_F_NODES:
        *v = 65537;
        return 1;
    case ZPAR_F_GPUS:
        *v = 4097;
        return 1;
    case ZPAR_F_RANKS:
    case ZPAR_F_RANKS_PER_NODE:
        *v = (1u << 20) + 1;
        return 1;
    default:
        return 0;
    }
}

/* Copy m with field number idx replaced by (p, len). */
static __attribute__ ((unused)) zpar_msg_t *with_field (const zpar_msg_t *m, size_t idx,
                                                        const void *p, size_t len)
{
    zpar_msg_t *c = zpar__msg_create ((zpar_msg_type_t)m->hdr.type);
    if (!c)
        return NULL;
    c->hdr = m->hdr;
    for (size_t i = 0; i < m->nfields; i++) {
        const zpar_fieldref_t *f = &m->fields[i];
        if (i == idx)
            zpar__msg_add_bytes (c, (zpar_field_t)f->key, p, len);
        else
            zpar__msg_add_bytes (c, (zpar_field_t)f->key, m->body + f->off, f->len);
    }
    return c;
}

/* Copy m without field number idx. */
static __attribute__ ((unused)) zpar_msg_t *without_field (const zpar_msg_t *m, size_t idx)
{
    zpar_msg_t *c = zpar__msg_create ((zpar_msg_type_t)m->hdr.type);
    if (!c)
        return NULL;
    c->hdr = m->hdr;
    for (size_t i = 0; i < m->nfields; i++)
        if (i != idx)
            zpar__msg_add_bytes (c, (zpar_field_t)m->fields[i].key, m->body + m->fields[i].off,
                                 m->fields[i].len);
    return c;
}

static __attribute__ ((unused)) int rejected (const zpar_msg_t *m)
{
    zpar_error_t err = {{0}};
    errno = 0;
    return zpar__proto_check (m, &err) < 0 && errno == EPROTO && err.text[0];
}

/* The checks every encoded message goes through:
 * - it decodes, and re-encoding the decoded struct gives the same bytes
 *   (reencode does decode + encode of its kind);
 * - every cut of its packed bytes inside a field is rejected, and a cut
 *   at a field boundary either decodes or is rejected as malformed;
 * - every field with a wrong length, a NUL in a string, an unknown name or
 *   an out-of-range number is rejected. */
typedef int (*reencode_f) (const zpar_msg_t *in, zpar_msg_t *out, zpar_error_t *err);

static __attribute__ ((unused)) void check_all (const char *name, const zpar_msg_t *m,
                                                reencode_f reencode)
{
    uint8_t *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0;
    zpar_msg_t *d = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_msg_t *r = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_error_t err = {{0}};
    int cuts_ok = 1, bounds_ok = 1, types_ok = 1, names_ok = 1, range_ok = 1;
    int ntypes = 0;

    ok (pack (m, &buf, &len) == 0, "%s: packs", name);
    ok (zpar__msg_unpack (d, buf, len, &err) == 0, "%s: unpacks", name);
    err.text[0] = '\0';
    ok (zpar__proto_check (d, &err) == 0, "%s: decodes%s%s", name, err.text[0] ? ": " : "",
        err.text);
    ok (reencode (d, r, &err) == 0, "%s: decodes and encodes again%s%s", name,
        err.text[0] ? ": " : "", err.text);
    ok (pack (r, &buf2, &len2) == 0 && len2 == len && memcmp (buf, buf2, len) == 0,
        "%s: struct -> wire -> struct -> the same %zu bytes", name, len);

    /* truncations */
    for (size_t cut = 0; cut < len; cut++) {
        int boundary = cut == ZPAR_HDR_LEN;
        for (size_t i = 0; i < d->nfields; i++)
            if (cut == ZPAR_HDR_LEN + d->fields[i].off + d->fields[i].len)
                boundary = 1;
        errno = 0;
        if (!boundary) {
            if (!(decode_bytes (buf, cut, &err) < 0 && errno == EPROTO))
                cuts_ok = 0;
        } else if (decode_bytes (buf, cut, &err) < 0 && errno != EPROTO)
            bounds_ok = 0;
    }
    ok (cuts_ok, "%s: every one of the %zu truncations inside a field is rejected", name, len);
    ok (bounds_ok, "%s: truncations at field boundaries decode or are malformed", name);

    /* wrong types, unknown names, out-of-range numbers */
    for (size_t i = 0; i < d->nfields; i++) {
        int key = d->fields[i].key;
        zpar_msg_t *c;
        uint64_t v;
        if (field_type (key) == T_U64) {
            uint8_t b[9] = {0};
            ntypes++;
            c = with_field (d, i, b, 7);
            types_ok &= c && rejected (c);
            zpar__msg_destroy (c);
            c = with_field (d, i, b, 9);
            types_ok &= c && rejected (c);
            zpar__msg_destroy (c);
            if (out_of_range (key, &v)) {
                uint8_t w[8];
                for (int k = 0; k < 8; k++)
                    w[k] = (uint8_t)(v >> (8 * k));
                c = with_field (d, i, w, 8);
                if (!(c && rejected (c))) {
                    diag ("%s: field %s = %llu accepted", name, zpar__msg_field_name (key),
                          (unsigned long long)v);
                    range_ok = 0;
                }
                zpar__msg_destroy (c);
            }
        } else if (field_type (key) == T_STR) {
            ntypes++;
            c = with_field (d, i, "a\0b", 3);
            types_ok &= c && rejected (c);
            zpar__msg_destroy (c);
            if (is_enum_str (key)) {
                c = with_field (d, i, "bogus", 5);
                names_ok &= c && rejected (c);
                zpar__msg_destroy (c);
            }
        }
    }
    ok (types_ok, "%s: each of %d typed fields with a wrong length or a NUL is rejected", name,
        ntypes);
    ok (names_ok, "%s: unknown names are rejected", name);
    ok (range_ok, "%s: out-of-range numbers are rejected", name);

    /* another type in the header */
    {
        zpar_msg_t *c = with_field (d, (size_t)-1, NULL, 0);
        int other = m->hdr.type == ZPAR_MSG_RESULT ? ZPAR_MSG_TASK : ZPAR_MSG_RESULT;
        zpar_msg_t *o = zpar__msg_create (ZPAR_MSG_NONE);
        c->hdr.type = (uint16_t)other;
        ok (reencode (c, o, &err) < 0 && errno == EPROTO, "%s: a %s is not decoded as one", name,
            zpar__msg_type_name (other));
        zpar__msg_destroy (c);
        zpar__msg_destroy (o);
    }
    free (buf);
    free (buf2);
    zpar__msg_destroy (d);
    zpar__msg_destroy (r);
}

/* Required fields: removing any one of them makes the message malformed. */
static __attribute__ ((unused)) void check_required (const char *name, const zpar_msg_t *m,
                                                     const int *keys, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        int found = 0, ok_ = 1;
        for (size_t i = 0; i < m->nfields; i++) {
            zpar_msg_t *c;
            if (m->fields[i].key != keys[k])
                continue;
            found = 1;
            c = without_field (m, i);
            ok_ &= c && rejected (c);
            zpar__msg_destroy (c);
        }
        ok (found && ok_, "%s: without %s it is malformed", name, zpar__msg_field_name (keys[k]));
    }
}

/* ------------------------------------------------------- re-encoders */

#define REENCODE(NAME, TYPE, CLEAR)                                                                \
    static __attribute__ ((unused)) int re_##NAME (const zpar_msg_t *in, zpar_msg_t *out,          \
                                                   zpar_error_t *err)                              \
    {                                                                                              \
        TYPE x;                                                                                    \
        int rc;                                                                                    \
        if (zpar__proto_##NAME##_decode (in, &x, err) < 0)                                         \
            return -1;                                                                             \
        rc = zpar__proto_##NAME##_encode (out, &x);                                                \
        CLEAR;                                                                                     \
        return rc;                                                                                 \
    }

REENCODE (task, zpar_proto_task_t, zpar__proto_task_clear (&x))
REENCODE (result, zpar_proto_result_t, zpar__proto_result_clear (&x))
REENCODE (control, zpar_proto_control_t, (void)0)
REENCODE (control_reply, zpar_proto_control_reply_t, zpar__proto_control_reply_clear (&x))
REENCODE (reg_engine, zpar_proto_reg_engine_t, zpar__proto_reg_engine_clear (&x))
REENCODE (reg_engine_reply, zpar_proto_reg_engine_reply_t, zpar__proto_reg_engine_reply_clear (&x))
REENCODE (reg_client, zpar_proto_reg_client_t, (void)0)
REENCODE (reg_client_reply, zpar_proto_reg_client_reply_t, zpar__proto_reg_client_reply_clear (&x))
REENCODE (unregister, zpar_proto_unregister_t, (void)0)
REENCODE (query, zpar_proto_query_t, (void)0)
REENCODE (query_reply, zpar_proto_query_reply_t, zpar__proto_query_reply_clear (&x))
REENCODE (stream, zpar_proto_stream_t, (void)0)
REENCODE (task_status, zpar_proto_task_status_t, (void)0)
REENCODE (notify, zpar_proto_notify_t, (void)0)

static __attribute__ ((unused)) const zpar_proto_hdr_t H = {{0x300000007ull}, {5}, {3}, 2};

#endif
