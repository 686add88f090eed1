/* proto_slot.c - the SLOT string of a resource task and the syntax of
 * the CPUSET and GPU_NAMES fields (proto_task.h; doc/protocol.md,
 * "Resources"). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "le.h"
#include "proto_task.h"

static int is_digit (char c)
{
    return c >= '0' && c <= '9';
}

/* A decimal number at *p (no sign, no leading zero unless it is "0", at
 * most maxdigits digits, fits 64 bits): advance *p, 1; 0 if none. */
static int number (const char **p, uint64_t *v, int maxdigits)
{
    const char *s = *p;
    uint64_t n = 0;
    int k = 0;
    if (!is_digit (*s))
        return 0;
    if (s[0] == '0' && is_digit (s[1]))
        return 0;
    while (is_digit (*s)) {
        uint64_t d = (uint64_t)(*s++ - '0');
        if (++k > maxdigits || n > (UINT64_MAX - d) / 10)
            return 0;
        n = n * 10 + d;
    }
    *v = n;
    *p = s;
    return 1;
}

int zpar__proto_cpuset_ok (const char *s)
{
    uint64_t last = 0;
    int first = 1;
    if (!s || !*s || strlen (s) >= ZPAR_SLOT_CPUSET_MAX)
        return 0;
    if (strcmp (s, "-") == 0)
        return 1;
    for (;;) {
        uint64_t a, b;
        if (!number (&s, &a, 7))
            return 0;
        b = a;
        if (*s == '-') {
            s++;
            if (!number (&s, &b, 7) || b < a)
                return 0;
        }
        if (!first && a <= last)
            return 0; /* ascending, no overlap */
        first = 0;
        last = b;
        if (*s == '\0')
            return 1;
        if (*s++ != ',')
            return 0;
    }
}

int zpar__proto_gpus_ok (const char *s)
{
    if (!s || !*s || strlen (s) >= ZPAR_SLOT_GPUS_MAX)
        return 0;
    if (strcmp (s, "-") == 0)
        return 1;
    for (;;) {
        uint64_t n;
        int k = 0;
        while ((*s >= 'a' && *s <= 'z') || is_digit (*s) || *s == '_') {
            s++;
            k++;
        }
        if (k == 0 || *s++ != ':' || !number (&s, &n, 6))
            return 0;
        if (*s == '\0')
            return 1;
        if (*s++ != ',')
            return 0;
    }
}

int zpar__proto_slot_host_ok (const char *s)
{
    size_t n = 0;
    if (!s)
        return 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] <= ' ' || (unsigned char)s[n] == 0x7f)
            return 0;
    return n > 0 && n < ZPAR_SLOT_HOST_MAX;
}

/* Copy the space-delimited word at *p into buf (size bytes): 1, or 0 when
 * empty or too long; *p is left on the character after it. */
static int word (const char **p, char *buf, size_t size)
{
    const char *s = *p;
    size_t n = 0;
    while (s[n] && s[n] != ' ')
        n++;
    if (n == 0 || n >= size)
        return 0;
    memcpy (buf, s, n);
    buf[n] = '\0';
    *p = s + n;
    return 1;
}

int zpar__proto_slot_parse (const char *s, zpar_proto_slot_t *slot, zpar_error_t *err)
{
    const char *p = s;
    uint64_t id = 0, mem = 0;
    if (!s || !slot)
        return zpar__errnoprintf (err, EINVAL, "no slot to parse");
    memset (slot, 0, sizeof (*slot));
    if (!number (&p, &id, 10) || id == 0 || id > UINT32_MAX || *p++ != ' ')
        goto bad;
    if (!word (&p, slot->host, sizeof (slot->host)) || !zpar__proto_slot_host_ok (slot->host) ||
        *p++ != ' ')
        goto bad;
    if (!word (&p, slot->cpuset, sizeof (slot->cpuset)) || !zpar__proto_cpuset_ok (slot->cpuset) ||
        *p++ != ' ')
        goto bad;
    if (!word (&p, slot->gpus, sizeof (slot->gpus)) || !zpar__proto_gpus_ok (slot->gpus) ||
        *p++ != ' ')
        goto bad;
    if (!number (&p, &mem, 20) || *p != '\0')
        goto bad;
    slot->engine = zpar__eid ((uint32_t)id);
    slot->mem = mem;
    return 0;
bad:
    memset (slot, 0, sizeof (*slot));
    return zpar__errnoprintf (err, EPROTO,
                              "malformed slot \"%.80s\" (want \"ENGINE_ID HOST CPUSET GPUS "
                              "MEMBYTES\")",
                              s);
}

int zpar__proto_slot_format (const zpar_proto_slot_t *slot, char *buf, size_t size)
{
    int n;
    if (!slot || !buf || slot->engine.v == 0 || !zpar__proto_slot_host_ok (slot->host) ||
        !zpar__proto_cpuset_ok (slot->cpuset) || !zpar__proto_gpus_ok (slot->gpus)) {
        errno = EINVAL;
        return -1;
    }
    n = snprintf (buf, size, "%u %s %s %s %llu", (unsigned)slot->engine.v, slot->host, slot->cpuset,
                  slot->gpus, (unsigned long long)slot->mem);
    if (n < 0 || (size_t)n >= size) {
        errno = ENOSPC;
        return -1;
    }
    return n;
}

/* ------------------------------------------ an engine's registration */

int zpar__proto_engine_res_valid (uint64_t cores, const char *cpuset, const char *gpus)
{
    return cores <= ZPAR_RES_MAX_CORES && (!cpuset || zpar__proto_cpuset_ok (cpuset)) &&
           (!gpus || zpar__proto_gpus_ok (gpus));
}

void zpar__proto_put_engine_res (int *rc, zpar_msg_t *m, uint64_t cores, const char *cpuset,
                                 const char *gpus, uint64_t mem_share, uint64_t node_mem)
{
    if (cores)
        zpar__proto_put_u64 (rc, m, ZPAR_F_CORES, cores);
    if (cpuset)
        zpar__proto_put_str (rc, m, ZPAR_F_CPUSET, cpuset);
    if (gpus)
        zpar__proto_put_str (rc, m, ZPAR_F_GPU_NAMES, gpus);
    if (mem_share)
        zpar__proto_put_u64 (rc, m, ZPAR_F_MEM_SHARE, mem_share);
    if (node_mem)
        zpar__proto_put_u64 (rc, m, ZPAR_F_NODE_MEMORY, node_mem);
}

int zpar__proto_get_engine_res (const zpar_msg_t *m, zpar_proto_mem_t *mem, uint64_t *cores,
                                const char **cpuset, const char **gpus, uint64_t *mem_share,
                                uint64_t *node_mem, zpar_error_t *err)
{
    if (zpar__proto_u64 (m, ZPAR_F_CORES, cores, err) < 0 ||
        zpar__proto_str (m, ZPAR_F_CPUSET, mem, cpuset, err) < 0 ||
        zpar__proto_str (m, ZPAR_F_GPU_NAMES, mem, gpus, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_MEM_SHARE, mem_share, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_NODE_MEMORY, node_mem, err) < 0)
        return -1;
    if (*cores > ZPAR_RES_MAX_CORES)
        return zpar__errnoprintf (err, EPROTO, "engine cores %llu out of range",
                                  (unsigned long long)*cores);
    if (*cpuset && !zpar__proto_cpuset_ok (*cpuset))
        return zpar__errnoprintf (err, EPROTO, "malformed cpuset \"%.80s\"", *cpuset);
    if (*gpus && !zpar__proto_gpus_ok (*gpus))
        return zpar__errnoprintf (err, EPROTO, "malformed GPU list \"%.80s\"", *gpus);
    return 0;
}

/* ------------------------------------------------------ a task's slots */

int zpar__proto_task_body_slots (const void *body, size_t blen, const char *const *slots,
                                 size_t nslots, uint8_t **out, size_t *outlen)
{
    zpar_proto_slot_t ps;
    size_t len = blen, pos = blen;
    uint8_t *buf;
    if ((blen && !body) || (nslots && !slots) || !out || !outlen) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < nslots; i++) {
        if (!slots[i] || zpar__proto_slot_parse (slots[i], &ps, NULL) < 0) {
            errno = EINVAL;
            return -1;
        }
        len += 6 + strlen (slots[i]);
    }
    if (len > ZPAR_MAX_BODY) {
        errno = EMSGSIZE;
        return -1;
    }
    if (!(buf = malloc (len ? len : 1)))
        return -1;
    if (blen)
        memcpy (buf, body, blen);
    for (size_t i = 0; i < nslots; i++) {
        size_t n = strlen (slots[i]);
        put16 (buf + pos, ZPAR_F_SLOT);
        put32 (buf + pos + 2, (uint32_t)n);
        memcpy (buf + pos + 6, slots[i], n);
        pos += 6 + n;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

size_t zpar__proto_task_body_copy (const zpar_msg_t *m, const zpar_proto_task_t *t, uint8_t *out)
{
    if (t->nslots)
        return zpar__msg_body_without (m, ZPAR_F_SLOT, out);
    if (m->len)
        memcpy (out, m->body, m->len);
    return m->len;
}
