/* addrpick.h - which address of the controller a peer on another host
 * can reach (internal).
 *
 * A controller listening on every interface ("*") publishes, besides its
 * endpoint addresses, its candidate addresses: every usable IPv4 address
 * of the host (interface up and running, not loopback) with its prefix length and
 * interface name, best first, as the connection field "candidates"
 * (doc/protocol.md, "Connection files"):
 *
 *     10.1.0.1/24@eth1,192.168.7.1/24@ib0,172.17.0.1/16@docker0
 *
 * The controller orders them (zpar__cands_controller): the addresses
 * matching --interface / ZPAR_INTERFACE only, when given; else first the
 * interface the kernel routes through to the other nodes of the job (the
 * launcher's node list: PMIx, SLURM_JOB_NODELIST, PBS_NODEFILE, ZPAR_NODES), then
 * the interface of the default route, then the others in getifaddrs()
 * order, container and virtual bridges (docker*, virbr*, veth*, br-*, ...)
 * last.  The endpoints it writes name the first candidate.
 *
 * The connecting side (engine, per-node relay, client) calls
 * zpar__conn_pick before it connects: it ranks the candidates (an explicit
 * NAME|CIDR wins; then a candidate on a subnet shared with a local
 * interface; then one the kernel has a route to from here; then the
 * controller's order) and rewrites the endpoints of the connection info
 * to the best one.  A peer that gets no answer moves on to the next
 * (zpar__conn_pick_next) and, when it gives up, names every address it
 * tried and why (zpar__conn_pick_describe).
 *
 * Addresses are IPv4 in host byte order.  Nothing here sends a packet: the
 * route lookups connect a UDP socket and read its local address.
 */
#ifndef ZPAR__ADDRPICK_H
#define ZPAR__ADDRPICK_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "zpar/error.h"

#define ZPAR_CAND_MAX     16 /* candidates kept (more are dropped, last first) */
#define ZPAR_IFNAME_MAX   16 /* IFNAMSIZ */
#define ZPAR_PICK_WHY_MAX 96

/* One address of a host. */
typedef struct {
    uint32_t ip; /* host byte order */
    int prefix;  /* 0..32 */
    char ifname[ZPAR_IFNAME_MAX];
} zpar_cand_t;

typedef struct {
    size_t n;
    zpar_cand_t c[ZPAR_CAND_MAX];
} zpar_cands_t;

/* An --interface / ZPAR_INTERFACE value: an interface name, or an IPv4
 * network A.B.C.D/P (a bare address is /32). */
typedef struct {
    int is_net;
    char ifname[ZPAR_IFNAME_MAX];
    uint32_t net;
    int prefix;
} zpar_ifspec_t;

/* ------------------------------------------------------ pure functions */

/* Parse "A.B.C.D/P@NAME,..." (the empty string: no candidate) into out.
 * -1 EINVAL with err naming the bad item; more than ZPAR_CAND_MAX items,
 * or a name longer than 15 characters, is malformed too. */
int zpar__cands_parse (const char *text, zpar_cands_t *out, zpar_error_t *err);

/* The text form of l into buf ("" for none).  -1 ENOSPC when it does not
 * fit (buf then holds a truncated text). */
int zpar__cands_format (const zpar_cands_t *l, char *buf, size_t size);

/* "A.B.C.D/P@NAME" into buf (at least 40 bytes for a whole one). */
void zpar__cand_format (const zpar_cand_t *c, char *buf, size_t size);

/* Parse a dotted quad (exactly: no names, no short forms) into *ip.
 * -1 when it is not one. */
int zpar__ip_parse (const char *s, uint32_t *ip);

/* Whether ip is one of l's addresses. */
int zpar__cands_has_ip (const zpar_cands_t *l, uint32_t ip);

/* ip as dotted quad into buf (16 bytes). */
void zpar__ip_format (uint32_t ip, char *buf, size_t size);

/* Whether a and b are on one subnet: the same network under the shorter of
 * their two prefixes (and neither is a /0). */
int zpar__cand_same_subnet (const zpar_cand_t *a, const zpar_cand_t *b);

/* Parse an interface spec: NAME (1..15 characters of [A-Za-z0-9._:@-]), or
 * A.B.C.D[/P].  -1 EINVAL with err. */
int zpar__ifspec_parse (const char *text, zpar_ifspec_t *out, zpar_error_t *err);

/* Whether candidate c matches spec: its interface has spec's name, or its
 * address is inside spec's network. */
int zpar__ifspec_match (const zpar_ifspec_t *spec, const zpar_cand_t *c);

/* Whether an interface name is a container or virtual bridge (docker*,
 * virbr*, veth*, br-*, cni*, flannel*, cali*, lxc*, podman*, vxlan*,
 * tun*, tap*, zt*, wg*): ordered last by the controller. */
int zpar__ifname_virtual (const char *name);

/* Order l in place, best first (stable): first those whose address is in
 * routed[0..nrouted) (the local source addresses of the routes to the other
 * nodes), most often there first; then the one equal to dflt (the default
 * route's source, 0: none); then the others, virtual bridges last. */
void zpar__cands_order (zpar_cands_t *l, const uint32_t *routed, size_t nrouted, uint32_t dflt);

/* The connecting side's ranking of the controller's candidates remote (in
 * the controller's order) given this host's addresses local: indexes into
 * remote, best first, into order (ZPAR_CAND_MAX entries), and why each
 * (ZPAR_PICK_WHY_MAX bytes each).  spec (or NULL): only the candidates it
 * matches (a NAME matches the candidates on a subnet of that local
 * interface, or of that name when none is local); kroute[i] non-zero: the
 * kernel has a route from here to remote->c[i] (its local source address).
 * same_host: this is the controller's host (its own addresses are fine).
 * Candidates equal to an address of this host (another host's container
 * bridge that carries the same address as ours) come last unless
 * same_host.  Returns the count ranked; 0 when spec matches none. */
size_t zpar__cands_rank (const zpar_cands_t *remote, const zpar_cands_t *local,
                         const zpar_ifspec_t *spec, const uint32_t *kroute, int same_host,
                         size_t *order, char (*why)[ZPAR_PICK_WHY_MAX]);

/* Expand a Slurm host list ("h[1-3,7],login,n[01-02]") into a malloc'd
 * array of malloc'd names (*out, *n); at most max names are kept.
 * -1 EINVAL (malformed) or ENOMEM.  Free with zpar__hostlist_free. */
int zpar__hostlist_expand (const char *text, size_t max, char ***out, size_t *n);
void zpar__hostlist_free (char **names, size_t n);

/* ------------------------------------------------- what the host says */

/* This host's usable IPv4 addresses (interface up and running, i.e. with
 * a carrier; not loopback), in getifaddrs() order.  -1 with errno and err. */
int zpar__cands_local (zpar_cands_t *out, zpar_error_t *err);

/* The local source address the kernel would use to reach dst (UDP connect
 * + getsockname: no packet is sent) into *src.  -1 with errno
 * (ENETUNREACH: no route). */
int zpar__route_source (uint32_t dst, uint32_t *src);

/* The interface spec in force: opt if given, else $ZPAR_INTERFACE, parsed
 * into *spec.  0: none (spec untouched), 1: one, -1 EINVAL with err naming
 * where it came from. */
int zpar__ifspec_get (const char *opt, zpar_ifspec_t *spec, zpar_error_t *err);

/* The controller's candidates, best first (see the top of this file):
 * spec (or NULL) keeps only the matching ones.  nodes: the job's hosts
 * from the launcher (a host list, "n[1-4],login"), or NULL: $ZPAR_NODES,
 * $SLURM_JOB_NODELIST, $SLURM_NODELIST, else $PBS_NODEFILE (at most 16
 * distinct names resolved, for at most 2 s).  why (or NULL, whysize
 * bytes) says how the first was chosen.  -1 with err: no usable address
 * (ENETDOWN), or spec matches none (ENODEV, err listing this host's
 * interfaces). */
int zpar__cands_controller (const zpar_ifspec_t *spec, const char *nodes, zpar_cands_t *out,
                            char *why, size_t whysize, zpar_error_t *err);

/* -------------------------------------------------- the connecting side */

/* The addresses a connecting peer tries, best first. */
typedef struct {
    size_t n;                   /* 1.. addresses to try */
    size_t cur;                 /* the one the endpoints name now */
    size_t tried;               /* how many were tried (1 + the highest cur) */
    char ip[ZPAR_CAND_MAX][16]; /* dotted quads */
    char why[ZPAR_CAND_MAX][ZPAR_PICK_WHY_MAX];
    zpar_cands_t cands; /* the controller's candidates (may be empty) */
} zpar_pick_t;

/* Choose the controller address to connect to, for ci as read from a
 * connection file or the wire-up: rank ci->candidates (zpar__cands_rank
 * with this host's addresses, the kernel's routes, and the spec opt, else
 * $ZPAR_INTERFACE), fill *pick, and rewrite the host part of every tcp
 * endpoint of ci that names one of the candidates to the best one.
 * Without candidates (a controller bound to one address, an older
 * controller) ci is left as it is: pick holds its registration host alone.
 * -1 with err: a malformed spec, or one no candidate matches (ENODEV, err
 * naming the spec and the candidates). */
int zpar__conn_pick (zpar_conninfo_t *ci, const char *opt, zpar_pick_t *pick, zpar_error_t *err);

/* Move on to the next address to try (after the last: the first again):
 * rewrite ci's endpoints to it.  Returns pick->cur. */
size_t zpar__conn_pick_next (zpar_conninfo_t *ci, zpar_pick_t *pick);

/* The address for connection attempt number attempt (0, 1, ...): the best
 * one for the first three attempts (a slow first answer is not taken for
 * no answer), then each in turn; ci's endpoints rewritten to it.  Returns
 * pick->cur. */
size_t zpar__conn_pick_attempt (zpar_conninfo_t *ci, zpar_pick_t *pick, unsigned attempt);

/* Rewrite one endpoint ("tcp://HOST:PORT", e.g. from a registration
 * reply) whose HOST is one of the controller's candidates to the address
 * picked now; any other endpoint is left alone. */
void zpar__conn_pick_rehost (const zpar_pick_t *pick, char *ep, size_t size);

/* "tcp://A:PORT (why), tcp://B:PORT (why)" (without " (why)" unless
 * with_why) for the first ntried addresses of pick (all when 0 or >= n),
 * with the port of ep, into buf. */
void zpar__conn_pick_describe (const zpar_pick_t *pick, const char *ep, size_t ntried, int with_why,
                               char *buf, size_t size);

#endif
