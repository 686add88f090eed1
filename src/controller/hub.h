/* hub.h - the Hub: the controller's central loop and its engine table.
 *
 * The hub runs in the controller's main thread on a reactor.  Its parts:
 *
 *   registrar.c   registration of engines and clients, unregistration and
 *                 queries (the registrar ROUTER socket)
 *   hb_thread.c   the heartbeat thread (hb_ping PUB, hb_pong ROUTER, its
 *                 monitor heartbeat.c), reached over the hb_pipe
 *   hub_hb.c      the hub's side of it (watch, the thread's events) and
 *                 the open-files check of registrations
 *   records.c     the task records (SQLite)
 *   hub.c         this file's functions: the engine table, the monitor of
 *                 the schedulers' traffic (which fills the records), the
 *                 pipe to the task scheduler, notifications, shutdown, and
 *                 the loop that ties them together.
 *
 * controller.c creates the sockets, fills a zpar_hub_t, calls
 * zpar__hub_init, zpar__hub_run, then zpar__hub_shutdown_engines /
 * zpar__hub_wait_engines_gone, and zpar__hub_free_state.  Sockets that
 * are NULL are skipped (unit tests drive the registrar without them).
 *
 * Everything here belongs to the hub's thread.
 */
#ifndef ZPAR__HUB_H
#define ZPAR__HUB_H

#include <stdint.h>

#include "conn.h"
#include "heartbeat.h"
#include "idmap.h"
#include "ids.h"
#include "proto_hb.h"
#include "proto_iopub.h"
#include "proto_registrar.h"
#include "reactor.h"
#include "records.h"
#include "route.h"
#include "wire.h"

/* How many engines of this host the hub watches at once for their process
 * to be gone after their heartbeat connection closed (hub_hb.c), and for
 * how long after the close: the kernel closes a dying process's sockets
 * a moment before the process shows as gone (a zombie, or no longer in
 * /proc).  Past either bound the probe of the heartbeat thread decides. */
#define ZPAR_HUB_CLOSED_WATCH    64
#define ZPAR_HUB_CLOSED_WATCH_MS 2000

/* An engine's state in the table (what clients see, idle / busy / dead,
 * is derived from it and the engine's outstanding tasks). */
typedef enum {
    ZPAR_HUB_ENGINE_UNKNOWN = 0, /* slot never registered */
    ZPAR_HUB_ENGINE_ALIVE = 1,   /* registered and beating */
    ZPAR_HUB_ENGINE_DEAD = 2,    /* missed its beats, or unregistered; may register again */
} zpar_hub_engine_state_t;

typedef struct {
    zpar_eid_t id;
    zpar_hub_engine_state_t state;
    char host[256];
    int pid;
    int rank;
    char uuid[64];
    unsigned outstanding;      /* tasks recorded running on it */
    zpar_ident_t reg_ident;    /* its registrar DEALER identity */
    zpar_route_t route;        /* the routing identity it was given (route.h) */
    uint32_t hb_gen;           /* the heartbeat watch it is under (0: none) */
    int suspect;               /* the heartbeat thread said suspect, not yet revived */
    uint64_t died_us;          /* when the heartbeat declared it dead (monotonic), 0: never */
    uint64_t closed_us;        /* when its heartbeat connection closed while its process was still
                                  there (monotonic; 0: not watched for its end, hub_hb.c) */
    uint32_t closed_silent_ms; /* its silence then */
    uint64_t proc_start;       /* its process's start time (/proc/PID/stat, clock ticks) when it
                                  registered, found on this host: 0 if not (another host, or a
                                  pid this kernel does not show: the kernel cannot tell its end) */
    /* what it holds (doc/protocol.md "Resources"), for the task scheduler */
    uint32_t cores;     /* at least 1 */
    uint64_t mem_share; /* bytes, 0: unknown */
    uint64_t node_mem;  /* bytes of its whole node, 0: unknown */
    char *res;          /* "CPUSET GPUS" (malloc'd), NULL: "- -" (not bound, no GPU) */
} zpar_hub_engine_t;

typedef struct zpar_hub {
    /* set by the controller before zpar__hub_init */
    void *ctx;
    zpar_conninfo_t ci; /* advertised addresses (engine and client side) */
    zpar_signer_t *signer;
    zpar_records_t *records;
    zpar_reactor_t *r; /* the hub thread's reactor (NULL in unit tests) */
    void *registrar;   /* ROUTER */
    void *notify;      /* PUB */
    void *hb_pipe;     /* PAIR to the heartbeat thread (hb_thread.h) */
    void *monitor;     /* SUB (bound, inproc) */
    void *lb_pipe;     /* PAIR to the load-balanced scheduler (sched_lb_io) */
    void *mux_inject;  /* PAIR to the MUX relay */
    void *ctl_inject;  /* PAIR to the control relay */
    int hb_period_ms;
    int hb_misses;
    long fd_limit; /* the open-files limit (RLIMIT_NOFILE soft), 0: no check */
    const char *scheme;
    uint64_t (*extra_dropped) (void *arg); /* the schedulers' drop counts */
    void *extra_arg;
    uint64_t (*extra_duplicates) (void *arg); /* the task scheduler's duplicates (extra_arg) */
    /* called with each reply held until the records were committed (SYNC,
     * RESUBMIT) when it is released, before it is sent (tests) */
    void (*released) (void *arg, const zpar_msg_t *reply);
    void *released_arg;
    /* the hash of the uuid index (NULL: FNV-1a; tests give one that
     * collides) */
    uint64_t (*uuid_hash) (const char *uuid);
    /* state (zpar__hub_init) */
    uint32_t hb_gen;      /* the last heartbeat watch number given */
    long fd_base;         /* files open when the loop started (zpar__hub_run) */
    uint64_t fd_refused;  /* engines refused for want of file descriptors */
    uint64_t reg_repeats; /* registrations repeated from the same socket, answered alike */
    /* engines of this host whose heartbeat connection closed a moment
     * before their process was gone: looked at again each flush
     * (zpar__hub_closed_recheck) */
    uint32_t closed_watch[ZPAR_HUB_CLOSED_WATCH];
    unsigned nclosed_watch;
    zpar_hub_engine_t **engines; /* every engine that registered, in order */
    uint32_t nengines;           /* how many */
    uint32_t engines_cap;        /* allocated */
    zpar_idmap_t *engine_ids;    /* engine id -> its entry in engines */
    zpar_idmap_t *engine_uuids;  /* hash of its uuid -> an engine (zpar__hub_engine_by_uuid) */
    uint64_t uuid_unindexed;     /* engines left out of it (a hash taken, or no memory) */
    uint32_t next_engine;
    zpar_idmap_t *live; /* task id -> live record (hub.c) */
    uint64_t n_pending;
    uint64_t n_running;
    uint64_t n_ok;
    uint64_t n_notok;
    uint64_t dropped;
    uint64_t n_duplicates;  /* results not recorded: their task had one already */
    uint64_t n_monitor_bad; /* malformed monitor records or items dropped */
    /* the task scheduler's monitor items taken in, and the count last told
     * to it ("rec" on lb_pipe: it stops reading results while the hub is far
     * behind) */
    uint64_t lb_items, lb_items_told;
    uint64_t dup_base;  /* duplicates counted by earlier controllers (the records) */
    uint64_t dup_saved; /* the total last written to the records */
    /* restart (C4): the recovery window after a controller restart */
    int recovering;            /* engines are reporting what they hold */
    uint64_t incarnation;      /* how many controllers used these records, this one included */
    uint64_t recover_ms;       /* its length: (hb_misses + 1) heartbeat periods, longer while
                                  engines are still registering again (up to 4 times) */
    uint64_t recover_start_us; /* when it opened (monotonic) */
    uint64_t last_register_us; /* when an engine last registered (monotonic) */
    uint64_t n_recovered;      /* unfinished tasks found in the records at start */
    uint64_t n_adopted;        /* held tasks adopted (counted running where they are) */
    uint64_t n_held_dropped;   /* held tasks engines were told to drop */
    uint8_t *adopt_list;       /* what the next zpar__hub_engine_up adopts (proto_pipe) */
    size_t adopt_len;
    zpar_msg_t **deferred; /* replies waiting for the records to be committed */
    size_t ndeferred;
    size_t deferred_cap;
    int stopping;
    int busy_since_trim;
    zpar_msg_t *scratch;      /* the monitor's decoding */
    zpar_msg_t *request;      /* the registrar's requests */
    zpar_watcher_t *w[7];     /* registrar, heartbeat pipe, monitor, pipe, flush timer, recovery,
                                 the monitor's lazy read */
    uint64_t monitor_lazy_ms; /* 0: the monitor read as each record comes */
} zpar_hub_t;

/* Create the hub's state (live-task map, heartbeat monitor, counts read
 * from the records).  hb_period_ms and hb_misses must be set.  0 / -1
 * errno. */
int zpar__hub_init (zpar_hub_t *h);

/* Free the hub's state (not its sockets, records or reactor).  NULL-safe. */
void zpar__hub_free_state (zpar_hub_t *h);

/* Requeue the unfinished load-balanced tasks of the records, attach the
 * hub's watchers to h->r and run it until zpar__hub_stop.  Then drain the
 * monitor and flush the records.  0 / -1 errno. */
int zpar__hub_run (zpar_hub_t *h);

/* Make zpar__hub_run return (from a callback of h->r).  why is logged. */
void zpar__hub_stop (zpar_hub_t *h, const char *why);

/* Ask every live engine to shut down (through the control relay and the
 * registrar), and tell the clients. */
void zpar__hub_shutdown_engines (zpar_hub_t *h);

/* After zpar__hub_shutdown_engines: wait up to timeout_ms for every live
 * engine to unregister, asking again every 100 ms.  Returns the number of
 * engines that did not answer, -1 on error. */
int zpar__hub_wait_engines_gone (zpar_hub_t *h, int timeout_ms);

/* --- the engine table (for the registrar) --- */

/* Engine ids are 1 .. ZPAR_HUB_ENGINE_ID_MAX: the registrar refuses an
 * engine asking for a higher one, and gives out ids in this range (the
 * ids of dead engines again after the highest).  The table is sparse:
 * its size follows the engines that registered, not their ids. */
#define ZPAR_HUB_ENGINE_ID_MAX ZPAR_ENGINE_ID_MAX

/* The slot of engine id (1 .. ZPAR_HUB_ENGINE_ID_MAX), made (zeroed) if
 * it has none.  NULL: bad id (EINVAL) or ENOMEM. */
zpar_hub_engine_t *zpar__hub_engine_slot (zpar_hub_t *h, zpar_eid_t id);
/* Engine id if it ever registered, else NULL. */
zpar_hub_engine_t *zpar__hub_engine_get (zpar_hub_t *h, zpar_eid_t id);
/* The engine that registered with uuid (alive or dead: a uuid is in one
 * slot at most), else NULL.  A hash lookup; only when some engine could
 * not be indexed (two uuids of the same hash, or no memory) does a miss
 * look through the whole table. */
zpar_hub_engine_t *zpar__hub_engine_by_uuid (zpar_hub_t *h, const char *uuid);
/* Give e the uuid (NULL or "": none) and keep the index of
 * zpar__hub_engine_by_uuid: e->uuid is changed only through this. */
void zpar__hub_engine_set_uuid (zpar_hub_t *h, zpar_hub_engine_t *e, const char *uuid);
/* Number of live engines. */
unsigned zpar__hub_engines_alive (const zpar_hub_t *h);

/* Engine e has just become alive (first registration, or after death):
 * watch its heart, tell the task scheduler and the clients. */
void zpar__hub_engine_up (zpar_hub_t *h, zpar_hub_engine_t *e);
/* Keep what engine e says it holds in its registration rq (cores,
 * cpuset, GPUs, memory share; the defaults when absent): told to the
 * task scheduler before "up" (proto_pipe.h "res"). */
void zpar__hub_engine_res (zpar_hub_engine_t *e, const zpar_proto_reg_engine_t *rq);
/* Engine e, alive, registered again (it closed and opened its sockets;
 * the registrar kept its routing identity when it is the same engine):
 * tell the task scheduler, with the adopt list zpar__hub_engine_held made
 * (the tasks sent to it that it does not hold go back to the queue, no
 * attempt counted). */
void zpar__hub_engine_again (zpar_hub_t *h, zpar_hub_engine_t *e);
/* Watch e's heart from now (again): a new watch number, a WATCH to the
 * heartbeat thread.  Events about an earlier watch are ignored. */
void zpar__hub_engine_watch (zpar_hub_t *h, zpar_hub_engine_t *e);
/* Open files the controller needs per engine (its TCP connections:
 * registrar, heartbeat ping and pong, task, mux, control, IOPub). */
#define ZPAR_HUB_FDS_PER_ENGINE 7
/* Open files kept free for clients, the records and the log. */
#define ZPAR_HUB_FDS_RESERVE 64
/* Room for one more engine straight to us within h->fd_limit (counting
 * the engines alive straight to us; those behind a relay take no file of
 * ours, and the registrar does not ask for them)?  0 yes (or no limit
 * known); -1 EMFILE with the reason in text (which limit, how many files
 * are needed), logged. */
int zpar__hub_engine_room (zpar_hub_t *h, char *text, size_t size);
/* Stop watching e's heart (it died or unregistered). */
void zpar__hub_engine_unwatch (zpar_hub_t *h, zpar_hub_engine_t *e);
/* The hub's watcher of the heartbeat pipe (hub_hb.c): suspect and revived
 * engines are logged, dead ones go through zpar__hub_engine_died. */
void zpar__hub_on_hb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg);
/* At e's registration: whether this host's kernel shows its process
 * (e->proc_start), so that its end can later be told by the kernel.  An
 * engine whose host name is ours but whose pid this kernel does not show
 * (another pid namespace) is left to the heartbeat. */
void zpar__hub_engine_proc (zpar_hub_engine_t *e);
/* Looks again at the engines of zpar_hub_t.closed_watch (called at each
 * flush of the hub): one whose process is now gone is declared dead, its
 * heartbeat connection closed being the kernel's word; one still there
 * ZPAR_HUB_CLOSED_WATCH_MS after the close is left to the heartbeat. */
void zpar__hub_closed_recheck (zpar_hub_t *h);
/* Files open in this process now, -1 if /proc cannot say. */
long zpar__hub_files_open (void);
/* 1 if the hub has e's heart watched (registered, not found dead). */
int zpar__hub_engine_watched (const zpar_hub_engine_t *e);
/* A live engine e died (why: "unregistered", or a heartbeat message): mark
 * it dead, stop watching it, tell the scheduler and the clients, and fail
 * the direct tasks it was running. */
void zpar__hub_engine_died (zpar_hub_t *h, zpar_hub_engine_t *e, const char *why);

/* Publish a notification about engine (0: none) to the clients. */
void zpar__hub_notify (zpar_hub_t *h, zpar_eid_t engine, zpar_notify_event_t event);

/* A task's live state if the hub tracks it: 1 and *state (ZPAR_REC_*),
 * 0 if not live. */
int zpar__hub_task_live (const zpar_hub_t *h, zpar_tid_t id, int *state);

/* --- restart: adoption, recovery, durable acknowledgements --- */

/* Engine e (registered, alive or about to be) reports the tasks it holds
 * unfinished (held, n).  Each is adopted (the hub counts it running on e;
 * a load-balanced one goes in the adopt list that zpar__hub_engine_up, or
 * zpar__hub_engine_again when was_alive, gives the task scheduler) when
 * it is live and assigned to e, or recorded unfinished by an earlier controller and not adopted
 * by another engine, or neither live nor recorded at all (an "orphan": accepted by a controller
 * that died before writing it; it runs on, see zpar__hub_task_orphan); every other one
 * (finished, live on another engine, or pending: back in the task scheduler's queue, which may
 * have sent it elsewhere already) goes in *drop
 * (malloc'd, *ndrop ids; the caller frees it; NULL when none). 0 / -1 ENOMEM (then nothing is
 * adopted and everything is dropped). */
int zpar__hub_engine_held (zpar_hub_t *h, zpar_hub_engine_t *e, int was_alive,
                           const zpar_tid_t *held, size_t n, zpar_tid_t **drop, size_t *ndrop);

/* The recovery window: zpar__hub_init opens it when the records show an
 * earlier controller; zpar__hub_run closes it after h->recover_ms (the
 * unit tests call this).  Closing it queues again the unfinished
 * load-balanced tasks nobody adopted and answers the direct ones with
 * status engine-died. */
void zpar__hub_end_recovery (zpar_hub_t *h);

/* Duplicates dropped over the records' life (`zpar status` "duplicates
 * dropped"): those of earlier controllers (read from the records at start)
 * plus this one's (results and held tasks dropped by the hub, results and
 * submissions dropped by the task scheduler). */
uint64_t zpar__hub_duplicates (const zpar_hub_t *h);

/* A client submits again task hd->task (a load-balanced request: req,
 * len, header + body) that the hub does not know: it is recorded and
 * queued (kept for adoption during the recovery window): 0.  If the task
 * is an orphan (an engine holds it, no record had it), its request is
 * recorded and the task scheduler told it runs there: 1.  -1 errno
 * (EEXIST: the task is known, ENOMEM). */
int zpar__hub_resubmit (zpar_hub_t *h, const zpar_hdr_t *hd, const void *req, size_t len);

/* 1 if task id is live only because an engine reported it held, without
 * any record of it (see zpar__hub_engine_held): "sync" calls it unknown,
 * so that its client submits it again (with its request). */
int zpar__hub_task_orphan (const zpar_hub_t *h, zpar_tid_t id);

/* Take reply (ownership) and send it once the records batch holding what
 * it acknowledges is committed: at once if nothing waits, else after the
 * next successful flush.  0 / -1 ENOMEM (reply destroyed). */
int zpar__hub_defer_reply (zpar_hub_t *h, zpar_msg_t *reply);

/* Commit the records batch now and release the replies waiting for it.
 * 0 / -1 (the replies keep waiting; err says why). */
int zpar__hub_flush (zpar_hub_t *h, zpar_error_t *err);

/* Read what the schedulers reported so far (the monitor), so the hub's
 * view is current before it answers a question about tasks. */
void zpar__hub_drain_monitor (zpar_hub_t *h);

#endif
