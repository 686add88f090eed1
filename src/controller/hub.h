/* hub.h - the Hub: registrar, notifications, heartbeat monitor, monitor of
 * the schedulers' traffic, and the task records.  Runs in the controller's
 * main thread; see controller.c for how the sockets are set up. */
#ifndef ZPAR__HUB_H
#define ZPAR__HUB_H

#include <stdint.h>

#include "conn.h"
#include "idmap.h"
#include "store.h"
#include "wire.h"

typedef struct {
    uint32_t id;
    int registered; /* ever registered */
    int alive;
    char host[256];
    int pid;
    int rank;
    char uuid[64];
    unsigned outstanding;
    uint64_t last_beat_us;      /* monotonic */
    zpar_ident_t reg_ident;     /* its registrar DEALER identity */
} zpar_hub_engine_t;

typedef struct {
    void *ctx;
    zpar_conninfo_t ci;          /* advertised addresses (engine and client side) */
    zpar_signer_t *signer;
    zpar_store_t *store;
    /* sockets owned by the hub thread */
    void *registrar;  /* ROUTER */
    void *notify;     /* PUB */
    void *hb_ping;    /* PUB */
    void *hb_pong;    /* ROUTER */
    void *monitor;    /* SUB (bound, inproc) */
    void *taskq_pipe; /* PAIR to the task scheduler */
    void *mux_inject; /* PAIR to the MUX relay */
    void *ctl_inject; /* PAIR to the control relay */
    int sigfd;        /* read end of the signal self-pipe, -1 if none */
    /* state */
    zpar_hub_engine_t *engines; /* indexed by id */
    uint32_t nengines;          /* array size */
    uint32_t next_engine;
    zpar_idmap_t *live;         /* task id -> live record */
    uint64_t n_pending;
    uint64_t n_running;
    uint64_t n_ok;
    uint64_t n_notok;
    uint64_t dropped;
    int hb_period_ms;
    int hb_misses;
    uint64_t hb_seq;
    const char *scheme;
    int stopping;
    uint64_t (*extra_dropped) (void *arg);
    void *extra_arg;
} zpar_hub_t;

/* Run the hub loop until shutdown.  0 / -1. */
int zpar__hub_run (zpar_hub_t *hub);

/* Ask every live engine to shut down (through the control relay). */
void zpar__hub_shutdown_engines (zpar_hub_t *hub);

/* After zpar__hub_shutdown_engines: wait up to timeout_ms for every live
 * engine to unregister, asking again every 100 ms.  Returns the number of
 * engines that did not answer. */
int zpar__hub_wait_engines_gone (zpar_hub_t *hub, int timeout_ms);

/* Free the hub's state (not its sockets). */
void zpar__hub_free_state (zpar_hub_t *hub);

#endif
