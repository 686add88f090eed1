/* engine_int.h - what engine.c and engine_reg.c share (internal to the
 * engine): the engine's state, owned by the engine's one thread, and the
 * functions each file gives the other.
 *
 *   engine.c      the sockets, what they deliver, controller loss and
 *                 fencing notes, setup and the run
 *   engine_reg.c  registration: the request (with the tasks held), its
 *                 resends and deadline, the reply (addresses, id, fence
 *                 limit, tasks to drop), registering again, unregistering
 */
#ifndef ZPAR__ENGINE_INT_H
#define ZPAR__ENGINE_INT_H

#include <signal.h>
#include <stdint.h>

#include "addrpick.h"
#include "conn.h"
#include "engine.h"
#include "heart.h"
#include "keeper.h"
#include "msg.h"
#include "reactor.h"
#include "route.h"
#include "task_runner.h"
#include "wire.h"

#define REG_RESEND_MS        1000u /* resend a registration after 1 s */
#define REG_REPEAT_MAX_TICKS 8u    /* repeats on one socket back off to every 8 s */
#define LINGER_MS            1000
#define UNREGISTER_LINGER_MS 500

typedef struct {
    const zpar_engine_opts_t *opts;
    zpar_error_t *err;
    int rc;
    zpar_conninfo_t ci;
    zpar_pick_t pick;  /* the controller's addresses to try (addrpick.h) */
    unsigned attempts; /* registrations sent before the first reply */
    unsigned repeats;  /* sent again on the same socket (engine_reg.c: backoff) */
    unsigned wait;     /* resend ticks to let pass before the next repeat */
    void *zctx;
    zpar_signer_t *signer;
    zpar_reactor_t *reactor;
    zpar_task_runner_t *tr;
    zpar_keeper_t *keeper; /* kills our tasks' groups if we die (keeper.h) */
    zpar_heart_t *heart;
    char host[256];
    char uuid[40];
    zpar_route_t route; /* our routing identity, from the registration reply */
    uint32_t id;
    int registered_once;
    int connected;

    void *reg; /* DEALER to the registrar */
    zpar_watcher_t *w_reg;
    zpar_watcher_t *w_resend; /* registration resend, while not connected */
    zpar_watcher_t *w_giveup; /* first registration's deadline */
    zpar_watcher_t *w_sig[3]; /* SIGTERM, SIGINT, SIGHUP */

    void *sock[ZPAR_ENGINE_NQ]; /* DEALERs: mux, task, control */
    zpar_watcher_t *w_sock[ZPAR_ENGINE_NQ];
    void *iopub; /* PUB */
    char addr[ZPAR_ENGINE_NQ][ZPAR_ADDR_MAX];
    char addr_iopub[ZPAR_ADDR_MAX];
    char addr_ping[ZPAR_ADDR_MAX];
    char addr_pong[ZPAR_ADDR_MAX];
    uint64_t hb_period_ms;
    unsigned hb_misses;
    uint64_t ctl_session;  /* session of the controller we registered with */
    uint64_t reg_at;       /* mono us of the last registration reply */
    uint64_t resend_since; /* the controller was lost: results sent since then go again */
    int refencing;         /* registering again after a fence: its reply ends it */
    zpar_watcher_t *w_fence;
    zpar_watcher_t *w_keeper; /* the keeper's notes */

    zpar_msg_t *rx;
    zpar_msg_t *item;           /* an item of a batch received, for the task runner */
    volatile sig_atomic_t stop; /* also what inline tasks see as cancelled */
    int signaled;
} eng_t;

/* engine.c */
void zpar__eng_close_sock (void **s);
/* A socket of type connected to addr (when non-NULL), with the routing
 * identity ident (when non-NULL), the engine's CurveZMQ keys and limits.
 * NULL on failure (logged). */
void *zpar__eng_mksock (eng_t *e, int type, const char *addr, const zpar_route_t *ident,
                        int linger);
/* Stop the engine's loop (the run then ends). */
void zpar__eng_stop (eng_t *e);
/* Receive into e->rx a message signed for channel chan; 0, or -1 when
 * nothing more is ready. */
int zpar__eng_recv_one (eng_t *e, void *sock, zpar_chan_t chan, const char *what);
/* Connect the queue sockets, IOPub and the heart to the addresses of the
 * registration reply.  0, or -1 with everything closed again. */
int zpar__eng_connect_queues (eng_t *e);
/* Close the queue sockets, IOPub and the heart. */
void zpar__eng_disconnect (eng_t *e);
/* Closing the queue sockets then drops what they still hold. */
void zpar__eng_discard_queued (eng_t *e);
/* Take in what the queue sockets hold before they are closed. */
void zpar__eng_drain_queues (eng_t *e);

/* engine_reg.c */
/* Send a registration on a fresh registrar socket.  0, or -1 when the
 * socket cannot be made. */
int zpar__eng_reg_send (eng_t *e);
/* Timer callbacks: the registration resend, the first one's deadline. */
void zpar__eng_on_resend (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg);
void zpar__eng_on_giveup (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg);
/* Register again (the controller was lost, declared us dead, or the
 * keeper fenced): report what we hold; the reply says what to drop. */
void zpar__eng_register_again (eng_t *e);
/* Tell the registrar we leave (best effort, short linger). */
void zpar__eng_unregister (eng_t *e);

#endif
