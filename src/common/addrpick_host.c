/* addrpick_host.c - addrpick.h's side that asks the host: its
 * interfaces, the kernel's routes, the job's node list; and the connecting
 * side's pick. */
#include "config.h"

#include <arpa/inet.h>
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
#include "clock.h"
#include "error.h"

#define PEERS_MAX      16  /* node names resolved to find the route to the others */
#define PEERS_BUDGET_S 2.0 /* and no more time than this (a slow name service) */

/* ------------------------------------------------- what the host says */

static int prefix_of (const struct sockaddr *nm)
{
    uint32_t m;
    int p = 0;
    if (!nm || nm->sa_family != AF_INET)
        return 32;
    m = ntohl (((const struct sockaddr_in *)nm)->sin_addr.s_addr);
    while (p < 32 && (m & (0x80000000u >> p)))
        p++;
    return p;
}

int zpar__cands_local (zpar_cands_t *out, zpar_error_t *err)
{
    struct ifaddrs *ifs;
    memset (out, 0, sizeof (*out));
    if (getifaddrs (&ifs) < 0)
        return zpar__errprintf (err, "cannot list the network interfaces: %s", strerror (errno));
    for (struct ifaddrs *i = ifs; i && out->n < ZPAR_CAND_MAX; i = i->ifa_next) {
        zpar_cand_t *c = &out->c[out->n];
        /* up and running: an interface without a carrier (a bridge with no
         * port, an unplugged cable) reaches nobody */
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
            !(i->ifa_flags & IFF_RUNNING) || (i->ifa_flags & IFF_LOOPBACK) || !i->ifa_name ||
            strlen (i->ifa_name) >= ZPAR_IFNAME_MAX)
            continue;
        c->ip = ntohl (((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        if (c->ip >> 24 == 127 || c->ip == 0 || zpar__cands_has_ip (out, c->ip))
            continue;
        c->prefix = prefix_of (i->ifa_netmask);
        snprintf (c->ifname, sizeof (c->ifname), "%s", i->ifa_name);
        out->n++;
    }
    freeifaddrs (ifs);
    return 0;
}

int zpar__route_source (uint32_t dst, uint32_t *src)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons (9)};
    socklen_t len = sizeof (a);
    int fd, e;
    a.sin_addr.s_addr = htonl (dst);
    if ((fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    if (connect (fd, (struct sockaddr *)&a, sizeof (a)) < 0 ||
        getsockname (fd, (struct sockaddr *)&a, &len) < 0) {
        e = errno;
        close (fd);
        errno = e;
        return -1;
    }
    close (fd);
    *src = ntohl (a.sin_addr.s_addr);
    return *src ? 0 : (errno = ENETUNREACH, -1);
}

int zpar__ifspec_get (const char *opt, zpar_ifspec_t *spec, zpar_error_t *err)
{
    const char *env = getenv ("ZPAR_INTERFACE");
    zpar_error_t perr;
    if (opt && *opt) {
        if (zpar__ifspec_parse (opt, spec, &perr) < 0)
            return zpar__errnoprintf (err, EINVAL, "--interface %s", perr.text);
        return 1;
    }
    if (!env || !*env)
        return 0;
    if (zpar__ifspec_parse (env, spec, &perr) < 0)
        return zpar__errnoprintf (err, EINVAL, "ZPAR_INTERFACE=%s", perr.text);
    return 1;
}

/* The other nodes of the job, from the launcher: ZPAR_NODES or Slurm's
 * host list, else PBS_NODEFILE.  *src names the source. */
static int peer_names (const char *nodes, char ***names, size_t *n, const char **src)
{
    static const char *const vars[] = {"ZPAR_NODES", "SLURM_JOB_NODELIST", "SLURM_NODELIST", NULL};
    const char *v, *path;
    FILE *f;
    char line[256];
    if (nodes && *nodes) {
        *src = "the launcher's node list";
        return zpar__hostlist_expand (nodes, PEERS_MAX * 4, names, n);
    }
    for (int i = 0; vars[i]; i++)
        if ((v = getenv (vars[i])) && *v) {
            *src = vars[i];
            return zpar__hostlist_expand (v, PEERS_MAX * 4, names, n);
        }
    *names = NULL;
    *n = 0;
    if (!(path = getenv ("PBS_NODEFILE")) || !*path || !(f = fopen (path, "re")))
        return -1;
    *src = "PBS_NODEFILE";
    if (!(*names = calloc (PEERS_MAX * 4, sizeof (**names)))) {
        fclose (f);
        return -1;
    }
    while (*n < PEERS_MAX * 4 && fgets (line, sizeof (line), f)) {
        line[strcspn (line, " \t\r\n")] = '\0';
        if (line[0] && (*n == 0 || strcmp ((*names)[*n - 1], line)))
            if (((*names)[*n] = strdup (line)))
                (*n)++;
    }
    fclose (f);
    return 0;
}

/* The local source addresses of the routes to the other nodes of the job
 * (at most PEERS_MAX distinct names resolved; our own node skipped). */
static size_t peer_routes (const char *nodes, const zpar_cands_t *local, uint32_t *routed,
                           size_t *npeers, const char **src)
{
    char **names = NULL;
    size_t n = 0, k = 0, tried = 0;
    *npeers = 0;
    if (peer_names (nodes, &names, &n, src) < 0)
        return 0;
    double until = zpar__mono_s () + PEERS_BUDGET_S;
    for (size_t i = 0; i < n && tried < PEERS_MAX && zpar__mono_s () < until; i++) {
        struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *res;
        uint32_t dst, s;
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = !strcmp (names[i], names[j]);
        if (dup)
            continue;
        tried++;
        if (getaddrinfo (names[i], NULL, &hints, &res) != 0)
            continue;
        dst = ntohl (((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr);
        freeaddrinfo (res);
        if (dst >> 24 == 127 || zpar__cands_has_ip (local, dst))
            continue; /* this node */
        (*npeers)++;
        if (zpar__route_source (dst, &s) == 0)
            routed[k++] = s;
    }
    zpar__hostlist_free (names, n);
    return k;
}

static void list_ifaces (const zpar_cands_t *l, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->n && used + 1 < size; i++) {
        char one[48];
        zpar__cand_format (&l->c[i], one, sizeof (one));
        used += (size_t)snprintf (buf + used, size - used, "%s%s", i ? ", " : "", one);
    }
    if (!l->n)
        snprintf (buf, size, "none up but loopback");
}

int zpar__cands_controller (const zpar_ifspec_t *spec, const char *nodes, zpar_cands_t *out,
                            char *why, size_t whysize, zpar_error_t *err)
{
    zpar_cands_t local;
    uint32_t routed[PEERS_MAX], dflt = 0;
    size_t nrouted, npeers = 0;
    const char *src = NULL;
    char have[200];

    if (zpar__cands_local (&local, err) < 0)
        return -1;
    memset (out, 0, sizeof (*out));
    if (spec) {
        for (size_t i = 0; i < local.n; i++)
            if (zpar__ifspec_match (spec, &local.c[i]))
                out->c[out->n++] = local.c[i];
        if (!out->n) {
            list_ifaces (&local, have, sizeof (have));
            return zpar__errnoprintf (err, ENODEV,
                                      "no interface of this host matches %s (this host has: %s)",
                                      spec->is_net ? "the network asked for" : spec->ifname, have);
        }
    } else
        *out = local;
    if (!out->n)
        return zpar__errnoprintf (err, ENETDOWN, "no network interface up but loopback");
    nrouted = peer_routes (nodes, out, routed, &npeers, &src);
    (void)zpar__route_source (0x08080808u, &dflt); /* the default route, if any (no packet) */
    zpar__cands_order (out, routed, nrouted, dflt);
    if (why && whysize) {
        size_t hits = 0;
        for (size_t i = 0; i < nrouted; i++)
            hits += routed[i] == out->c[0].ip;
        if (spec)
            snprintf (why, whysize, "the interface asked for");
        else if (hits)
            snprintf (why, whysize, "the route to %zu of %zu other nodes (%s)", hits, npeers, src);
        else if (dflt && out->c[0].ip == dflt)
            snprintf (why, whysize, "the default route's interface");
        else
            snprintf (why, whysize, "the first interface listed");
    }
    return 0;
}

/* -------------------------------------------------- the connecting side */

/* "tcp://HOST:PORT": HOST into host, the rest (":PORT") at *rest. */
static int ep_split (const char *ep, char *host, size_t size, const char **rest)
{
    const char *colon;
    size_t len;
    if (strncmp (ep, "tcp://", 6) != 0 || !(colon = strrchr (ep + 6, ':')))
        return -1;
    len = (size_t)(colon - (ep + 6));
    if (len >= size)
        return -1;
    memcpy (host, ep + 6, len);
    host[len] = '\0';
    *rest = colon;
    return 0;
}

/* Whether ep is "tcp://HOST:PORT" with HOST one of pick's candidates. */
static int names_candidate (const zpar_pick_t *pick, const char *ep)
{
    char host[64];
    const char *rest;
    uint32_t ip;
    if (ep_split (ep, host, sizeof (host), &rest) < 0 || zpar__ip_parse (host, &ip) < 0)
        return 0;
    return zpar__cands_has_ip (&pick->cands, ip);
}

void zpar__conn_pick_rehost (const zpar_pick_t *pick, char *ep, size_t size)
{
    char host[64], out[ZPAR_ADDR_MAX];
    const char *rest;
    uint32_t ip;
    int known = 0;
    if (!pick->cands.n || ep_split (ep, host, sizeof (host), &rest) < 0 ||
        zpar__ip_parse (host, &ip) < 0)
        return;
    for (size_t i = 0; i < pick->cands.n && !known; i++)
        known = pick->cands.c[i].ip == ip;
    if (!known || !strcmp (host, pick->ip[pick->cur]))
        return;
    if (snprintf (out, sizeof (out), "tcp://%s%s", pick->ip[pick->cur], rest) < (int)size)
        snprintf (ep, size, "%s", out);
}

static void rehost_all (zpar_conninfo_t *ci, const zpar_pick_t *pick)
{
    for (int i = 0; i < ZPAR_EP_COUNT; i++)
        zpar__conn_pick_rehost (pick, ci->addr[i], ZPAR_ADDR_MAX);
}

int zpar__conn_pick (zpar_conninfo_t *ci, const char *opt, zpar_pick_t *pick, zpar_error_t *err)
{
    zpar_cands_t local;
    zpar_ifspec_t spec;
    uint32_t kroute[ZPAR_CAND_MAX] = {0};
    size_t order[ZPAR_CAND_MAX], n;
    char why[ZPAR_CAND_MAX][ZPAR_PICK_WHY_MAX], me[256] = "", list[ZPAR_CANDS_TEXT_MAX];
    const char *rest;
    int has_spec;

    memset (pick, 0, sizeof (*pick));
    if (zpar__cands_parse (ci->candidates, &pick->cands, err) < 0)
        return -1;
    /* no candidates, or endpoints that are not the controller's own (a
     * relay's ipc:// ones): the endpoints as they are */
    if (!pick->cands.n || !names_candidate (pick, ci->addr[ZPAR_EP_REGISTRAR])) {
        pick->cands.n = 0;
        pick->n = 1;
        if (ep_split (ci->addr[ZPAR_EP_REGISTRAR], pick->ip[0], sizeof (pick->ip[0]), &rest) < 0)
            pick->ip[0][0] = '\0';
        snprintf (pick->why[0], ZPAR_PICK_WHY_MAX, "the only address given");
        pick->tried = 1;
        return 0;
    }
    if ((has_spec = zpar__ifspec_get (opt, &spec, err)) < 0)
        return -1;
    if (zpar__cands_local (&local, NULL) < 0)
        local.n = 0;
    for (size_t i = 0; i < pick->cands.n; i++)
        if (zpar__route_source (pick->cands.c[i].ip, &kroute[i]) < 0)
            kroute[i] = 0;
    (void)gethostname (me, sizeof (me) - 1);
    n = zpar__cands_rank (&pick->cands, &local, has_spec ? &spec : NULL, kroute,
                          ci->host[0] && !strcmp (ci->host, me), order, why);
    if (!n) {
        (void)zpar__cands_format (&pick->cands, list, sizeof (list));
        return zpar__errnoprintf (err, ENODEV,
                                  "%s%s: none of the controller's addresses (%s) is on it",
                                  opt && *opt ? "--interface " : "ZPAR_INTERFACE=",
                                  opt && *opt ? opt : getenv ("ZPAR_INTERFACE"), list);
    }
    for (size_t i = 0; i < n; i++) {
        zpar__ip_format (pick->cands.c[order[i]].ip, pick->ip[i], sizeof (pick->ip[i]));
        snprintf (pick->why[i], ZPAR_PICK_WHY_MAX, "%s", why[i]);
    }
    pick->n = n;
    pick->tried = 1;
    rehost_all (ci, pick);
    return 0;
}

size_t zpar__conn_pick_next (zpar_conninfo_t *ci, zpar_pick_t *pick)
{
    if (pick->n > 1) {
        pick->cur = (pick->cur + 1) % pick->n;
        if (pick->tried < pick->cur + 1)
            pick->tried = pick->cur + 1;
        rehost_all (ci, pick);
    }
    return pick->cur;
}

size_t zpar__conn_pick_attempt (zpar_conninfo_t *ci, zpar_pick_t *pick, unsigned attempt)
{
    size_t want = attempt < 3 || pick->n < 2 ? 0 : (attempt - 2) % pick->n;
    if (want != pick->cur) {
        pick->cur = want;
        rehost_all (ci, pick);
    }
    if (pick->tried < want + 1)
        pick->tried = want + 1;
    return pick->cur;
}

void zpar__conn_pick_describe (const zpar_pick_t *pick, const char *ep, size_t ntried, int with_why,
                               char *buf, size_t size)
{
    char host[64];
    const char *rest = "";
    size_t used = 0;
    if (!size)
        return;
    buf[0] = '\0';
    if (ep_split (ep, host, sizeof (host), &rest) < 0) {
        /* not TCP (a relay's ipc://): the endpoint itself */
        snprintf (buf, size, "%s%s%s%s", ep, with_why ? " (" : "", with_why ? pick->why[0] : "",
                  with_why ? ")" : "");
        return;
    }
    if (ntried > pick->n || ntried == 0)
        ntried = pick->n;
    for (size_t i = 0; i < ntried && used + 1 < size; i++)
        used += (size_t)snprintf (buf + used, size - used, "%stcp://%s%s%s%s%s", i ? ", " : "",
                                  pick->ip[i], rest, with_why ? " (" : "",
                                  with_why ? pick->why[i] : "", with_why ? ")" : "");
}
