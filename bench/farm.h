/* farm.h - the engines of bench/engine-farm: what the farm's loop
 * (engine-farm.c) and one engine's protocol (farm-engine.c) share.
 * See engine-farm.c for what a farm does and does not exercise. */
#ifndef ZPAR_BENCH_FARM_H
#define ZPAR_BENCH_FARM_H

#include <stdint.h>

#include "conn.h"
#include "msg.h"
#include "route.h"
#include "wire.h"

enum { S_REG, S_MUX, S_TASK, S_CTL, S_PING, S_PONG, S_N };

#define RESEND_US   1000000u
#define TICK_MS     50
#define STATUS_US   500000u
#define MAX_RELAYS  4096
#define FILES_PER_E 14 /* 7 sockets: a mailbox and a connection each */

typedef struct farm farm_t;
typedef struct feng feng_t;
typedef struct {
    feng_t *e;
    int k;
    int dirty; /* on the list of sockets to drain again */
} sref_t;

struct feng {
    farm_t *f;
    const zpar_conninfo_t *ci; /* the controller's or a relay's addresses */
    int relayed;
    void *s[S_N];
    void *iopub;
    sref_t ref[S_N];
    zpar_signer_t *signer;
    char uuid[40];
    uint32_t id;
    zpar_route_t route;
    uint64_t session; /* the controller's, from the registration reply */
    int connected, ever, stopped;
    uint64_t next_reg_us, ivl_us;
    uint64_t tasks;
    char addr[S_N][ZPAR_ADDR_MAX];
    char addr_iopub[ZPAR_ADDR_MAX];
};

struct farm {
    int n;
    feng_t *e;
    zpar_conninfo_t ci;
    zpar_conninfo_t *rci; /* one per relay */
    int nrelays;
    void *zctx;
    int ep, sfd;
    zpar_msg_t *rx, *tx;
    char host[256];
    uint64_t t0, all_at;
    sref_t **dirty;
    int ndirty;
    int registered, ever, stopped;
    int fresh_resend; /* --fresh-resend: a new socket per resend (engines before issue 11) */
    const char *go;   /* --go: the registrations wait for this file */
    int ready;        /* the registration sockets are open (with --go) */
    uint64_t regs_sent, again, nudges, new_session, pings, tasks, control, dropped;
};

/* One engine's side (farm-engine.c). */
/* Open a fresh registration DEALER for e (the old one closed): 0 / -1. */
int farm_reg_open (feng_t *e);
/* Send e's registration: on a fresh socket (fresh), or again on the same
 * one, backing off as the engine does. */
void farm_reg_send (feng_t *e, int fresh);
/* Close every socket of e. */
void farm_close (feng_t *e);
/* Drain socket k of e, and again while ZMQ_EVENTS says it holds more. */
void farm_drain (feng_t *e, int k);

#endif
