/* addrpick.c - which address of the controller a peer can reach. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addrpick.h"
#include "error.h"

static uint32_t mask_of (int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
}

void zpar__ip_format (uint32_t ip, char *buf, size_t size)
{
    snprintf (buf, size, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

void zpar__cand_format (const zpar_cand_t *c, char *buf, size_t size)
{
    char ip[16];
    zpar__ip_format (c->ip, ip, sizeof (ip));
    snprintf (buf, size, "%s/%d@%s", ip, c->prefix, c->ifname);
}

/* A dotted quad, exactly: digits and three dots, each part 0..255. */
static int ip_parse (const char *s, size_t len, uint32_t *ip);

int zpar__ip_parse (const char *s, uint32_t *ip)
{
    return ip_parse (s, strlen (s), ip);
}

static int ip_parse (const char *s, size_t len, uint32_t *ip)
{
    char tmp[16];
    struct in_addr a;
    if (len == 0 || len >= sizeof (tmp))
        return -1;
    memcpy (tmp, s, len);
    tmp[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (!isdigit ((unsigned char)tmp[i]) && tmp[i] != '.')
            return -1;
    if (inet_pton (AF_INET, tmp, &a) != 1)
        return -1;
    *ip = ntohl (a.s_addr);
    return 0;
}

static int prefix_parse (const char *s, size_t len, int *prefix)
{
    int v = 0;
    if (len == 0 || len > 2)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit ((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > 32)
        return -1;
    *prefix = v;
    return 0;
}

static int ifname_valid (const char *s, size_t len)
{
    if (len == 0 || len >= ZPAR_IFNAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum ((unsigned char)s[i]) && !strchr ("._:@-", s[i]))
            return 0;
    return 1;
}

int zpar__cands_parse (const char *text, zpar_cands_t *out, zpar_error_t *err)
{
    const char *p = text;
    memset (out, 0, sizeof (*out));
    if (!text)
        return zpar__errnoprintf (err, EINVAL, "no candidate list");
    while (*p) {
        const char *end = strchr (p, ','), *slash, *at;
        size_t len = end ? (size_t)(end - p) : strlen (p);
        zpar_cand_t *c = &out->c[out->n];
        if (out->n >= ZPAR_CAND_MAX)
            return zpar__errnoprintf (err, EINVAL, "more than %d candidates", ZPAR_CAND_MAX);
        slash = memchr (p, '/', len);
        at = slash ? memchr (slash, '@', len - (size_t)(slash - p)) : NULL;
        if (!slash || !at || ip_parse (p, (size_t)(slash - p), &c->ip) < 0 ||
            prefix_parse (slash + 1, (size_t)(at - slash - 1), &c->prefix) < 0 ||
            !ifname_valid (at + 1, len - (size_t)(at + 1 - p)))
            return zpar__errnoprintf (err, EINVAL,
                                      "bad candidate '%.*s' (want A.B.C.D/PREFIX@INTERFACE)",
                                      (int)(len < 64 ? len : 64), p);
        memcpy (c->ifname, at + 1, len - (size_t)(at + 1 - p));
        c->ifname[len - (size_t)(at + 1 - p)] = '\0';
        out->n++;
        if (!end)
            break;
        p = end + 1;
        if (!*p)
            return zpar__errnoprintf (err, EINVAL, "empty candidate after ','");
    }
    return 0;
}

int zpar__cands_format (const zpar_cands_t *l, char *buf, size_t size)
{
    size_t used = 0;
    if (size == 0) {
        errno = ENOSPC;
        return -1;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        char one[48];
        size_t len;
        zpar__cand_format (&l->c[i], one, sizeof (one));
        len = strlen (one) + (i ? 1 : 0);
        if (used + len >= size) {
            errno = ENOSPC;
            return -1;
        }
        used += (size_t)snprintf (buf + used, size - used, "%s%s", i ? "," : "", one);
    }
    return 0;
}

int zpar__cand_same_subnet (const zpar_cand_t *a, const zpar_cand_t *b)
{
    int p = a->prefix < b->prefix ? a->prefix : b->prefix;
    if (p <= 0)
        return 0;
    return ((a->ip ^ b->ip) & mask_of (p)) == 0;
}

int zpar__ifspec_parse (const char *text, zpar_ifspec_t *out, zpar_error_t *err)
{
    const char *slash;
    size_t len;
    memset (out, 0, sizeof (*out));
    if (!text || !*text)
        return zpar__errnoprintf (err, EINVAL, "empty interface (want NAME or A.B.C.D/PREFIX)");
    len = strlen (text);
    slash = strchr (text, '/');
    if (isdigit ((unsigned char)text[0]) &&
        ip_parse (text, slash ? (size_t)(slash - text) : len, &out->net) == 0) {
        out->prefix = 32;
        if (slash && prefix_parse (slash + 1, strlen (slash + 1), &out->prefix) < 0)
            return zpar__errnoprintf (err, EINVAL, "%s: bad prefix length (want 0 to 32)", text);
        out->is_net = 1;
        out->net &= mask_of (out->prefix);
        return 0;
    }
    if (!ifname_valid (text, len))
        return zpar__errnoprintf (err, EINVAL,
                                  "%s: not an interface name nor an IPv4 network "
                                  "(want e.g. eth0 or 10.1.0.0/16)",
                                  text);
    memcpy (out->ifname, text, len + 1);
    return 0;
}

int zpar__ifspec_match (const zpar_ifspec_t *spec, const zpar_cand_t *c)
{
    if (spec->is_net)
        return (c->ip & mask_of (spec->prefix)) == spec->net;
    return strcmp (spec->ifname, c->ifname) == 0;
}

int zpar__ifname_virtual (const char *name)
{
    static const char *const pre[] = {"docker", "virbr", "veth", "br-",    "cni",   "flannel",
                                      "cali",   "lxc",   "lxd",  "podman", "vxlan", "tun",
                                      "tap",    "zt",    "wg",   "vnet",   "kube",  NULL};
    for (int i = 0; pre[i]; i++)
        if (strncmp (name, pre[i], strlen (pre[i])) == 0)
            return 1;
    return 0;
}

/* The sort key of the controller's order: smaller first. */
static int order_key (const zpar_cand_t *c, const uint32_t *routed, size_t nrouted, uint32_t dflt)
{
    int hits = 0;
    for (size_t i = 0; i < nrouted; i++)
        hits += routed[i] == c->ip;
    if (hits)
        return -hits;
    if (dflt && c->ip == dflt)
        return 1;
    return zpar__ifname_virtual (c->ifname) ? 3 : 2;
}

void zpar__cands_order (zpar_cands_t *l, const uint32_t *routed, size_t nrouted, uint32_t dflt)
{
    int key[ZPAR_CAND_MAX];
    for (size_t i = 0; i < l->n; i++)
        key[i] = order_key (&l->c[i], routed, nrouted, dflt);
    /* insertion sort: stable, n <= 16 */
    for (size_t i = 1; i < l->n; i++) {
        zpar_cand_t c = l->c[i];
        int k = key[i];
        size_t j = i;
        for (; j > 0 && key[j - 1] > k; j--) {
            l->c[j] = l->c[j - 1];
            key[j] = key[j - 1];
        }
        l->c[j] = c;
        key[j] = k;
    }
}

int zpar__cands_has_ip (const zpar_cands_t *local, uint32_t ip)
{
    for (size_t i = 0; i < local->n; i++)
        if (local->c[i].ip == ip)
            return 1;
    return 0;
}

size_t zpar__cands_rank (const zpar_cands_t *remote, const zpar_cands_t *local,
                         const zpar_ifspec_t *spec, const uint32_t *kroute, int same_host,
                         size_t *order, char (*why)[ZPAR_PICK_WHY_MAX])
{
    int tier[ZPAR_CAND_MAX];
    size_t n = 0;
    char a[48], b[16];

    for (size_t i = 0; i < remote->n && i < ZPAR_CAND_MAX; i++) {
        const zpar_cand_t *r = &remote->c[i];
        const zpar_cand_t *sub = NULL;
        int t = -1;
        for (size_t j = 0; j < local->n && !sub; j++)
            if (zpar__cand_same_subnet (r, &local->c[j]))
                sub = &local->c[j];
        if (spec) {
            int named_here = 0, hit = 0;
            if (spec->is_net)
                hit = zpar__ifspec_match (spec, r);
            else {
                for (size_t j = 0; j < local->n; j++)
                    if (!strcmp (local->c[j].ifname, spec->ifname)) {
                        named_here = 1;
                        if (zpar__cand_same_subnet (r, &local->c[j])) {
                            hit = 1;
                            sub = &local->c[j];
                        }
                    }
                if (!named_here)
                    hit = zpar__ifspec_match (spec, r);
            }
            if (!hit)
                continue;
            if (spec->is_net)
                snprintf (why[n], ZPAR_PICK_WHY_MAX, "in the network asked for");
            else if (named_here)
                snprintf (why[n], ZPAR_PICK_WHY_MAX, "on the subnet of %s, the interface asked for",
                          spec->ifname);
            else
                snprintf (why[n], ZPAR_PICK_WHY_MAX, "the controller's address on %s",
                          spec->ifname);
            t = 0;
        } else if (!same_host && zpar__cands_has_ip (local, r->ip)) {
            t = 4;
            snprintf (why[n], ZPAR_PICK_WHY_MAX, "also an address of this host: tried last");
        } else if (sub) {
            t = 1;
            zpar__cand_format (sub, a, sizeof (a));
            snprintf (why[n], ZPAR_PICK_WHY_MAX, "on a subnet shared with %s", a);
        } else if (kroute && kroute[i]) {
            t = 2;
            zpar__ip_format (kroute[i], b, sizeof (b));
            snprintf (why[n], ZPAR_PICK_WHY_MAX, "routed from here via %s", b);
        } else {
            t = 3;
            snprintf (why[n], ZPAR_PICK_WHY_MAX, "the controller's choice %zu, no route known",
                      i + 1);
        }
        order[n] = i;
        tier[n] = t;
        n++;
    }
    /* stable by tier: the controller's order within one */
    for (size_t i = 1; i < n; i++) {
        size_t o = order[i];
        int t = tier[i];
        char w[ZPAR_PICK_WHY_MAX];
        size_t j = i;
        memcpy (w, why[i], sizeof (w));
        for (; j > 0 && tier[j - 1] > t; j--) {
            order[j] = order[j - 1];
            tier[j] = tier[j - 1];
            memcpy (why[j], why[j - 1], ZPAR_PICK_WHY_MAX);
        }
        order[j] = o;
        tier[j] = t;
        memcpy (why[j], w, ZPAR_PICK_WHY_MAX);
    }
    return n;
}

/* One item of a host list: "pre[1-3,7]suf" or a plain name. */
static int expand_one (const char *s, size_t len, size_t max, char **names, size_t *n)
{
    const char *lb = memchr (s, '[', len), *rb;
    if (!lb) {
        if (*n < max) {
            if (!(names[*n] = strndup (s, len)))
                return -1;
            (*n)++;
        }
        return 0;
    }
    rb = memchr (lb, ']', len - (size_t)(lb - s));
    if (!rb || rb == lb + 1 || memchr (rb + 1, '[', len - (size_t)(rb + 1 - s)))
        return errno = EINVAL, -1;
    for (const char *r = lb + 1; r < rb;) {
        const char *comma = memchr (r, ',', (size_t)(rb - r));
        const char *end = comma ? comma : rb, *dash = memchr (r, '-', (size_t)(end - r));
        unsigned long lo, hi;
        int width = (int)((dash ? dash : end) - r);
        char *e;
        if (width <= 0 || width > 9)
            return errno = EINVAL, -1;
        lo = strtoul (r, &e, 10);
        if (e != (dash ? dash : end))
            return errno = EINVAL, -1;
        hi = lo;
        if (dash) {
            hi = strtoul (dash + 1, &e, 10);
            if (e != end || dash + 1 == end || hi < lo)
                return errno = EINVAL, -1;
        }
        for (unsigned long v = lo; v <= hi && *n < max; v++) {
            char buf[256];
            if (snprintf (buf, sizeof (buf), "%.*s%0*lu%.*s", (int)(lb - s), s, width, v,
                          (int)(len - (size_t)(rb + 1 - s)), rb + 1) >= (int)sizeof (buf))
                return errno = EINVAL, -1;
            if (!(names[*n] = strdup (buf)))
                return -1;
            (*n)++;
        }
        r = end + 1;
    }
    return 0;
}

int zpar__hostlist_expand (const char *text, size_t max, char ***out, size_t *n)
{
    char **names;
    const char *p = text;
    *out = NULL;
    *n = 0;
    if (!text || max == 0)
        return errno = EINVAL, -1;
    if (!(names = calloc (max, sizeof (*names))))
        return -1;
    while (*p && *n < max) {
        const char *q = p;
        int depth = 0;
        /* the item ends at a ',' outside brackets */
        for (; *q && (*q != ',' || depth); q++) {
            depth += *q == '[';
            depth -= *q == ']';
        }
        if (q == p || depth || expand_one (p, (size_t)(q - p), max, names, n) < 0) {
            int e = errno == ENOMEM ? ENOMEM : EINVAL;
            zpar__hostlist_free (names, *n);
            *n = 0;
            return errno = e, -1;
        }
        p = *q ? q + 1 : q;
    }
    *out = names;
    return 0;
}

void zpar__hostlist_free (char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free (names[i]);
    free (names);
}
