/* heart.h - the engine's side of the heartbeat (internal).
 *
 * The heart echoes the hub's pings: a thread runs a reactor of its own
 * with the SUB ping, the DEALER pong and a control PAIR; each ping is sent
 * back on the DEALER before anything else is done with it, so a busy
 * engine (even one running a long inline function) keeps beating.  The
 * thread copies each ping to the capture, an inproc PUB (it never blocks
 * the thread), and with it two 8-byte notes: the hub's nudge "zparRREG"
 * when it comes on the DEALER (the hub does not count our pongs: it
 * declared us dead, or does not know us; doc/protocol.md), and "the
 * silence was ours" when a ping reaches us more than the hub's death limit
 * ((misses + 0.5) periods) after the one before although the hub sent it
 * on time, or more than `misses` pings were lost (we were stopped, or cut
 * off).  The heart reads the capture on the engine's reactor and calls the
 * lost callback when
 *   - no ping came for misses x period + period (at least 2 s): SILENT,
 *   - a ping carries another controller session than the one we
 *     registered with (a new controller took over the same ports):
 *     NEW_CONTROLLER,
 *   - the hub nudged us: NUDGED,
 *   - the silence was ours: RESUMED.
 * On NEW_CONTROLLER and NUDGED the engine registers again (the heart
 * reports nothing more).  SILENT (once per silence: a ping ends it) and
 * RESUMED are warnings only, the heart lives on: ZeroMQ reconnects by
 * itself, a new controller shows in the pings, and a hub that declared us
 * dead nudges us when our pongs reach it; an engine the hub still counts
 * alive (a starved machine) must not drop its connection.  The heart thread also ticks
 * the keeper (keeper.h, fencing) on every ping, and tells it to hold while
 * the ping connection is closed (a ZeroMQ socket monitor: the controller
 * died, and the next one adopts the tasks).  The heart thread runs with
 * every signal blocked.
 *
 * Thread-safety: create, destroy and the callbacks belong to the reactor's
 * thread.
 */
#ifndef ZPAR__HEART_H
#define ZPAR__HEART_H

#include <stdint.h>

#include "curve.h"
#include "reactor.h"
#include "zpar/error.h"

typedef struct zpar_heart zpar_heart_t;

typedef enum {
    ZPAR_HEART_SILENT = 1,         /* no ping within the limit */
    ZPAR_HEART_NEW_CONTROLLER = 2, /* pings from another controller session */
    ZPAR_HEART_NUDGED = 3,         /* the hub asks us to register again */
    ZPAR_HEART_RESUMED = 4,        /* pings reached us past the hub's death limit */
} zpar_heart_loss_t;

/* Called once per loss (NEW_CONTROLLER, NUDGED: the callback may destroy
 * the heart, which reports nothing more) or warning (SILENT, RESUMED: the
 * callback must not destroy the heart, which goes on). */
typedef void (*zpar_heart_lost_f) (zpar_heart_t *h, zpar_heart_loss_t why, void *arg);

typedef struct {
    const char *ping_addr;          /* the hub's ping PUB */
    const char *pong_addr;          /* the hub's pong ROUTER */
    const char *ident;              /* our routing id on pong: the registrar's route (route.h) */
    size_t ident_len;               /* its length in bytes (0: strlen (ident)) */
    uint64_t period_ms;             /* the hub's ping period (0: 1000) */
    unsigned misses;                /* pings missed before the loss (0: 3) */
    uint64_t session;               /* the controller's session, 0: do not check */
    const zpar_curve_keys_t *curve; /* the engine's CURVE keys (NULL/off: none) */
    int keeper_fd;                  /* the keeper's socket (keeper.h), ticked on every ping and
                                       held while the ping connection is closed; <= 0: none */
    int no_hold;                    /* never hold: behind a relay, a closed connection is the
                                       relay's, not a controller that died (doc/protocol.md) */
    zpar_heart_lost_f lost;
    void *arg;
} zpar_heart_opts_t;

/* Connect and start the heart thread; watch the capture on reactor r.
 * zctx is the engine's ZeroMQ context (borrowed).  The limit counts from
 * now.  NULL with errno (EINVAL: a NULL argument, address or callback;
 * else from ZeroMQ or pthread_create) and err. */
zpar_heart_t *zpar__heart_create (zpar_reactor_t *r, void *zctx, const zpar_heart_opts_t *opts,
                                  zpar_error_t *err);

/* Stop the thread (a message on its control socket, join), close the
 * sockets, remove the watchers.  NULL-safe, keeps errno. */
void zpar__heart_destroy (zpar_heart_t *h);

/* Monotonic microseconds of the last ping seen from the controller session
 * we registered with (creation time if none). */
uint64_t zpar__heart_last_ping_us (const zpar_heart_t *h);

/* The silence that counts as a loss, in microseconds. */
uint64_t zpar__heart_limit_us (const zpar_heart_t *h);

#endif
