/* zmtp.c - a small codec for ZMTP 3.0 with the NULL mechanism (see zmtp.h). */
#include "zmtp.h"

#include <string.h>

/* greeting layout (RFC 23): signature 0xFF, 8 padding bytes, 0x7F; version
 * major, minor; mechanism (20 bytes, NUL-padded); as-server; 31 filler */
enum {
    G_SIG_END = 9,
    G_MAJOR = 10,
    G_MINOR = 11,
    G_MECH = 12,
    G_MECH_SIZE = 20,
    G_AS_SERVER = 32,
};

static void put_be32 (unsigned char *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static uint32_t get_be32 (const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void zpar__zmtp_greeting (unsigned char g[ZPAR_ZMTP_GREETING_SIZE])
{
    memset (g, 0, ZPAR_ZMTP_GREETING_SIZE);
    g[0] = 0xff;
    g[G_SIG_END] = 0x7f;
    g[G_MAJOR] = 3;
    g[G_MINOR] = 0;
    memcpy (g + G_MECH, "NULL", 4);
    g[G_AS_SERVER] = 0;
}

int zpar__zmtp_greeting_check (const unsigned char *g, size_t len)
{
    static const unsigned char null_mech[G_MECH_SIZE] = "NULL";
    if (len > 0 && g[0] != 0xff)
        return -1;
    if (len > G_SIG_END && g[G_SIG_END] != 0x7f)
        return -1;
    if (len > G_MAJOR && g[G_MAJOR] < 3)
        return -1;
    if (len < ZPAR_ZMTP_GREETING_SIZE)
        return 0;
    if (memcmp (g + G_MECH, null_mech, G_MECH_SIZE) != 0)
        return -1;
    return ZPAR_ZMTP_GREETING_SIZE;
}

int zpar__zmtp_header_decode (const unsigned char *p, size_t len, int *flags, uint64_t *size)
{
    if (len < 1)
        return 0;
    if (p[0] & ~(ZPAR_ZMTP_MORE | ZPAR_ZMTP_LONG | ZPAR_ZMTP_COMMAND))
        return -1;
    *flags = p[0];
    if (!(p[0] & ZPAR_ZMTP_LONG)) {
        if (len < 2)
            return 0;
        *size = p[1];
        return 2;
    }
    if (len < 9)
        return 0;
    *size = (uint64_t)get_be32 (p + 1) << 32 | get_be32 (p + 5);
    return 9;
}

size_t zpar__zmtp_header_encode (unsigned char *h, int flags, uint64_t size)
{
    flags &= ZPAR_ZMTP_MORE | ZPAR_ZMTP_COMMAND;
    if (size <= 255) {
        h[0] = flags;
        h[1] = size;
        return 2;
    }
    h[0] = flags | ZPAR_ZMTP_LONG;
    put_be32 (h + 1, size >> 32);
    put_be32 (h + 5, (uint32_t)size);
    return 9;
}

size_t zpar__zmtp_ready_encode (unsigned char *out, size_t cap, const char *socket_type)
{
    static const char name[] = "Socket-Type";
    size_t tlen = strlen (socket_type);
    size_t body = 1 + 5 + 1 + (sizeof (name) - 1) + 4 + tlen;
    unsigned char h[ZPAR_ZMTP_HEADER_MAX], *p;
    size_t hlen = zpar__zmtp_header_encode (h, ZPAR_ZMTP_COMMAND, body);
    if (tlen > ZPAR_ZMTP_SOCKET_TYPE_MAX || hlen + body > cap)
        return 0;
    memcpy (out, h, hlen);
    p = out + hlen;
    *p++ = 5;
    memcpy (p, "READY", 5);
    p += 5;
    *p++ = sizeof (name) - 1;
    memcpy (p, name, sizeof (name) - 1);
    p += sizeof (name) - 1;
    put_be32 (p, tlen);
    p += 4;
    memcpy (p, socket_type, tlen);
    return hlen + body;
}

int zpar__zmtp_command_name (const unsigned char *body, size_t len, const unsigned char **name,
                             size_t *name_len)
{
    if (len < 1 || body[0] == 0 || (size_t)body[0] + 1 > len)
        return -1;
    *name = body + 1;
    *name_len = body[0];
    return 0;
}

/* true when name (n bytes) is the NUL-terminated word, ignoring case (RFC 23
 * property names are case-insensitive) */
static int name_is (const unsigned char *name, size_t n, const char *word)
{
    if (strlen (word) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = name[i], b = word[i];
        if (a >= 'A' && a <= 'Z')
            a += 'a' - 'A';
        if (b >= 'A' && b <= 'Z')
            b += 'a' - 'A';
        if (a != b)
            return 0;
    }
    return 1;
}

int zpar__zmtp_ready_decode (const unsigned char *body, size_t len, struct zpar__zmtp_ready *r)
{
    const unsigned char *name;
    size_t name_len, pos;
    int have_type = 0;
    if (zpar__zmtp_command_name (body, len, &name, &name_len) < 0 || name_len != 5 ||
        memcmp (name, "READY", 5) != 0)
        return -1;
    memset (r, 0, sizeof (*r));
    pos = 1 + name_len;
    while (pos < len) {
        const unsigned char *pname, *value;
        size_t pname_len = body[pos], vlen;
        if (pname_len == 0 || pos + 1 + pname_len + 4 > len)
            return -1;
        pname = body + pos + 1;
        vlen = get_be32 (body + pos + 1 + pname_len);
        value = body + pos + 1 + pname_len + 4;
        if (vlen > len - (size_t)(value - body))
            return -1;
        if (name_is (pname, pname_len, "Socket-Type")) {
            if (vlen == 0 || vlen > ZPAR_ZMTP_SOCKET_TYPE_MAX)
                return -1;
            memcpy (r->socket_type, value, vlen);
            r->socket_type[vlen] = 0;
            have_type = 1;
        } else if (name_is (pname, pname_len, "Identity")) {
            if (vlen > ZPAR_ZMTP_IDENTITY_MAX)
                return -1;
            memcpy (r->identity, value, vlen);
            r->identity_len = vlen;
        }
        pos = (size_t)(value - body) + vlen;
    }
    return have_type ? 0 : -1;
}

size_t zpar__zmtp_pong_encode (unsigned char *out, size_t cap, const unsigned char *ping,
                               size_t len)
{
    const unsigned char *name;
    size_t name_len, ctx_len, body, hlen;
    unsigned char h[ZPAR_ZMTP_HEADER_MAX];
    if (zpar__zmtp_command_name (ping, len, &name, &name_len) < 0 || name_len != 4 ||
        memcmp (name, "PING", 4) != 0 || len < 1 + 4 + 2)
        return 0;
    ctx_len = len - (1 + 4 + 2);
    if (ctx_len > 16)
        return 0;
    body = 1 + 4 + ctx_len;
    hlen = zpar__zmtp_header_encode (h, ZPAR_ZMTP_COMMAND, body);
    if (hlen + body > cap)
        return 0;
    memcpy (out, h, hlen);
    out[hlen] = 4;
    memcpy (out + hlen + 1, "PONG", 4);
    memcpy (out + hlen + 5, ping + 1 + 4 + 2, ctx_len);
    return hlen + body;
}
