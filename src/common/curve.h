/* curve.h - CurveZMQ (RFC 26) on zpar's sockets, with a ZAP (RFC 27)
 * handler that admits only the cluster's client and engine keys.
 *
 * Off by default: a zpar_curve_keys_t whose server_public is empty means
 * "no Curve" and every function here then leaves the socket alone.  With
 * it on, the controller holds the server key pair and generates two peer
 * key pairs, one for every client and one for every engine; client.json
 * carries the server's public key and the client pair, engine.json the
 * server's public key and the engine pair (both files 0600), so a peer
 * that can read neither file cannot complete a connection.
 *
 * Keys are Z85 text (40 characters + NUL), as zmq_curve_keypair gives
 * them.  A ZAP domain names the side of a controller socket: "client"
 * (only the client key is admitted), "engine" (only the engine key) or
 * "any" (both: the registrar). */
#ifndef ZPAR__CURVE_H
#define ZPAR__CURVE_H

#include "reactor.h"
#include "zpar/error.h"

#define ZPAR_CURVE_KEY_TEXT 41 /* 40 Z85 characters + NUL */

#define ZPAR_CURVE_CLIENT "client"
#define ZPAR_CURVE_ENGINE "engine"
#define ZPAR_CURVE_ANY    "any"

typedef struct {
    char server_public[ZPAR_CURVE_KEY_TEXT]; /* empty: Curve off */
    char server_secret[ZPAR_CURVE_KEY_TEXT]; /* the controller's only */
    char client_public[ZPAR_CURVE_KEY_TEXT];
    char client_secret[ZPAR_CURVE_KEY_TEXT]; /* client.json only */
    char engine_public[ZPAR_CURVE_KEY_TEXT];
    char engine_secret[ZPAR_CURVE_KEY_TEXT]; /* engine.json only */
} zpar_curve_keys_t;

/* 1 when this libzmq can do CURVE (zmq_has ("curve")). */
int zpar__curve_available (void);

/* 1 when k turns Curve on (a server public key is set), else 0. */
int zpar__curve_on (const zpar_curve_keys_t *k);

/* Fresh server, client and engine key pairs into *k.  -1 with errno
 * (ENOTSUP: libzmq has no CURVE) and err. */
int zpar__curve_generate (zpar_curve_keys_t *k, zpar_error_t *err);

/* 1 when s is a well-formed Z85 key (40 characters that decode to 32
 * bytes), else 0. */
int zpar__curve_key_valid (const char *s);

/* The keys a side needs, copied from all into *out: side "client" keeps
 * the server public key and the client pair, "engine" the engine pair;
 * other secrets are cleared.  -1 EINVAL for another side or NULL. */
int zpar__curve_view (const zpar_curve_keys_t *all, const char *side, zpar_curve_keys_t *out);

/* Make sock (not yet bound) a CURVE server with k's server secret key and
 * ZAP domain `domain` ("client", "engine", "any").  0 without touching
 * the socket when k is NULL or Curve is off.  -1 with errno (EINVAL: no
 * server secret or unknown domain; or zmq_setsockopt's). */
int zpar__curve_server (void *sock, const zpar_curve_keys_t *k, const char *domain);

/* Make sock (not yet connected) a CURVE client of the server in k with
 * the key pair of side ("client" or "engine").  0 without touching the
 * socket when k is NULL or Curve is off.  -1 with errno (EINVAL: the
 * side's pair is missing or malformed; or zmq_setsockopt's). */
int zpar__curve_client (void *sock, const zpar_curve_keys_t *k, const char *side);

/* The ZAP handler: a REP socket bound to inproc://zeromq.zap.01 in ctx,
 * answered on reactor r.  It admits mechanism CURVE only, and a public
 * key by the domain of the socket: the client key on "client", the
 * engine key on "engine", either on "any"; everything else gets status
 * 400 and the connection is dropped before any message is exchanged.  An
 * admitted peer's messages carry the User-Id "client" or "engine"
 * (zmq_msg_gets), the side whose key it proved.
 * Start it before binding the first CURVE server of ctx.  NULL with errno
 * and err (EINVAL: Curve off or keys missing; EADDRINUSE: ctx already has
 * a ZAP handler). */
typedef struct zpar_curve_zap zpar_curve_zap_t;
zpar_curve_zap_t *zpar__curve_zap_start (zpar_reactor_t *r, void *ctx, const zpar_curve_keys_t *k,
                                         zpar_error_t *err);

/* Connections refused / admitted so far. */
unsigned long zpar__curve_zap_refused (const zpar_curve_zap_t *z);
unsigned long zpar__curve_zap_admitted (const zpar_curve_zap_t *z);

/* Stop and close (NULL-safe). */
void zpar__curve_zap_stop (zpar_curve_zap_t *z);

#endif
