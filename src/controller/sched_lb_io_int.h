/* sched_lb_io_int.h - what the load-balanced scheduler's thread shares
 * between sched_lb_io.c (sockets, clients, engines, actions, lifecycle)
 * and sched_lb_pipe.c (the hub's commands); nothing else includes it. */
#ifndef ZPAR__SCHED_LB_IO_INT_H
#define ZPAR__SCHED_LB_IO_INT_H

#include <pthread.h>
#include <stdint.h>

#include "log.h"
#include "proto_batch.h"
#include "proto_task.h"
#include "reactor.h"
#include "route.h"
#include "sched_lb.h"
#include "sched_lb_io.h"
#include "wire.h"

#define DRAIN_MAX 4096

/* The messages for clients one drain produces (sched_lb_client.c). */
typedef struct zpar_lbio_clients zpar_lbio_clients_t;

/* A queued task, owned by the policy between submit and its end: the
 * request kept compact, in one allocation (the header decoded, the
 * client's routing identity and the body, ~100 bytes over the body
 * instead of the 8 zmq_msg_t of its frames); the frames or the batch item
 * are made again when it is sent (sched_lb_out.c). */
typedef struct {
    zpar_hdr_t hdr;       /* as received */
    uint32_t idlen;       /* the client's routing identity (0: none) */
    uint32_t blen;        /* the body */
    unsigned char data[]; /* identity (idlen) || body (blen) */
} payload_t;

static inline const void *zpar__payload_id (const payload_t *p)
{
    return p->data;
}

static inline const void *zpar__payload_body (const payload_t *p)
{
    return p->data + p->idlen;
}

struct zpar_sched_lb_io {
    int pure;
    void *client;  /* ROUTER, clients connect */
    void *engine;  /* ROUTER (DEALER when pure), engines connect */
    void *monitor; /* PUB to the hub */
    void *pipe;    /* PAIR from the hub */
    zpar_signer_t *signer;
    zpar_msg_t *scratch;
    zpar_resources_t res;  /* the resources of the task being submitted */
    zpar_routes_t *routes; /* engine id -> the routing identity the hub gave it */
    zpar_sched_lb_t *policy;
    zpar_reactor_t *reactor;
    zpar_watcher_t *w_client;
    zpar_watcher_t *w_engine;
    zpar_watcher_t *w_pipe;
    zpar_watcher_t *w_retry; /* while engines wait to be tried again */
    pthread_t thread;
    int started;
    volatile uint64_t dropped;
    volatile uint64_t duplicates; /* results and submissions dropped as duplicates */
    uint64_t stale;               /* engine messages from an earlier identity of theirs */
    zpar_droplog_t droplog;       /* rate-limited drop warnings (this thread's) */
    /* dispatches of one round, per engine and client (sched_lb_out.c) */
    zpar_batch_t *batch;
    struct lbslot *slots;
    size_t nslots, cslots;
    uint64_t batches;      /* batches of tasks sent to engines */
    uint64_t sent_batched; /* tasks sent in them */
    uint64_t sent_alone;   /* tasks sent alone */
    /* results of one engine batch that the policy lets through, held
     * while the batch is split (handle_batch) */
    zpar_frames_t *pass_buf, *pass;
    size_t npass;
    uint64_t passed_whole;        /* result batches passed on as they came */
    zpar_lbio_clients_t *clients; /* messages for clients held until the drain ends */
    /* the hub's backlog (sched_lb_pipe.c): task_in/run/out items sent to
     * the monitor, and how many the hub said it took in ("rec") */
    uint64_t mon_items, hub_items;
    uint64_t hub_max;            /* items the hub may be behind; 0: no bound */
    int hub_held;                /* results not read while the hub catches up */
    uint64_t held_us, held_seen; /* when held / last progress, and hub_items then */
    uint64_t hub_holds;          /* times held */
    zpar_watcher_t *w_hub;       /* while held: looks again */
};

/* Free a payload (the policy's free_f; arg unused). */
void zpar__lbio_payload_free (void *p, void *arg);

/* Decode a task request (f: checked, delim 1) into t and a payload (a
 * compact copy; f is then closed); *pt holds t's arrays (clear it).
 * NULL when f is not a task (dropped, f closed) or out of memory. */
payload_t *zpar__lbio_task_payload (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h,
                                    zpar_proto_task_t *pt, zpar_sched_lb_task_t *t);

/* A task request (f: checked, delim 1): to the policy (refused while
 * new tasks are refused, admit.h); its monitor copy to the hub. */
void zpar__lbio_new_task (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h);

/* Carry out what the policy decided. */
void zpar__lbio_run_actions (zpar_sched_lb_io_t *io);

/* sched_lb_out.c: a DISPATCH action, queued for the end of the round
 * (sent at once when large).  0, or -1 with errno when it could not go
 * (EHOSTUNREACH: no route): the caller gives it back to the policy.
 * Tasks of the engine that had to be sent first and failed are given back
 * here and added to *nfail. */
int zpar__lbio_dispatch (zpar_sched_lb_io_t *io, const zpar_sched_lb_action_t *act, size_t *nfail);
/* Send what the round queued for engine (before a steal from it). */
void zpar__lbio_flush_engine (zpar_sched_lb_io_t *io, zpar_eid_t engine, size_t *nfail);
/* Send everything the round queued: a batch per engine and client (one
 * task alone as an ordinary message).  Tasks that could not be sent are
 * given back to the policy (dispatch_failed); returns how many. */
size_t zpar__lbio_flush_dispatches (zpar_sched_lb_io_t *io);
/* Free the round's buffers. */
void zpar__lbio_out_free (zpar_sched_lb_io_t *io);

/* A message dropped: counted, and logged (rate-limited) with side and why;
 * errno says what kind of drop it is. */
void zpar__lbio_drop (zpar_sched_lb_io_t *io, const char *side, const char *why);

/* Whether a client may send a message of this type alone on the task
 * socket (a batch item of another type is dropped). */
int zpar__lbio_client_type_ok (const zpar_sched_lb_io_t *io, int type);

/* Handle an item of a client's batch (f: its frames, laid out as a
 * received message with the batch's routing frame; takes them) exactly
 * as that message arriving alone. */
void zpar__lbio_client_item (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h);

/* ---- sched_lb_client.c */

/* A client's batch (checked frames; takes them): each item handled as it
 * would be alone, bad items dropped alone and counted. */
void zpar__lbio_client_batch (zpar_sched_lb_io_t *io, zpar_frames_t *f, const zpar_hdr_t *h);

/* A message for the client whose routing frame is f->part[from] (checked
 * frames, header and body after the delimiter; takes them): held until
 * zpar__lbio_clients_flush, then sent as it came when it is the client's
 * only one and validly signed, else in one batch signed by the
 * scheduler. */
void zpar__lbio_to_client (zpar_sched_lb_io_t *io, zpar_frames_t *f, int from);

/* The same for a message the scheduler made (copied; m's envelope is not
 * used) for the client of routing identity id. */
void zpar__lbio_to_client_msg (zpar_sched_lb_io_t *io, const void *id, size_t len, zpar_msg_t *m);

/* Send what is held for clients (the end of a drain or of a round of
 * actions). */
void zpar__lbio_clients_flush (zpar_sched_lb_io_t *io);

/* Free what zpar__lbio_to_client* allocated (held messages are dropped). */
void zpar__lbio_clients_destroy (zpar_sched_lb_io_t *io);

/* Batches sent to clients, and the items they carried. */
void zpar__lbio_clients_stats (const zpar_sched_lb_io_t *io, uint64_t *batches, uint64_t *items);

/* sched_lb_pipe.c: the watcher of the hub's pipe (io as arg): its
 * commands (engine up, down, adopted tasks, dependency outcomes, tasks
 * queued again), $TERM stops the reactor. */
void zpar__lbio_pipe_cb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg);

/* sched_lb_pipe.c: whether the hub is so far behind the scheduler's
 * monitor items ($ZPAR_SCHED_HUB_BACKLOG, default ZPAR_LBIO_HUB_MAX) that
 * results must wait in the engines' sockets: 1 (the engine watcher is
 * stopped until the hub says it caught up to half of that, or has said
 * nothing for ZPAR_LBIO_HUB_STALL_US: then its count is not waited for),
 * else 0. */
#define ZPAR_LBIO_HUB_MAX      12288u
#define ZPAR_LBIO_HUB_STALL_US 250000u
int zpar__lbio_hub_behind (zpar_sched_lb_io_t *io);

/* Drain the engines' socket (unless the hub is behind). */
void zpar__lbio_engine_drain (zpar_sched_lb_io_t *io);

#endif
