/* controller.h - the zpar controller: the hub and the schedulers, each a
 * device in its own thread, every socket bound here. */
#ifndef ZPAR__CONTROLLER_H
#define ZPAR__CONTROLLER_H

#include "conn.h"
#include "zpar/error.h"

typedef struct {
    const char *ip;        /* interface to bind, default 127.0.0.1 ("*" = all) */
    const char *interface; /* --interface NAME|CIDR (else $ZPAR_INTERFACE): advertise only its
                              addresses; binds "*" unless ip is given (addrpick.h) */
    const char *nodes;     /* the job's hosts from the launcher (host list), or NULL: the
                              environment's (addrpick.h): which address goes first */
    const char *dir;       /* where client.json, engine.json, tasks.sqlite go */
    const char *reuse;     /* a previous connection file: same ports and key */
    const char *db_path;   /* task records (SQLite); default <dir>/tasks.sqlite */
    const char *scheme;    /* "leastload" (default) or "pure" */
    int hb_period_ms;      /* heartbeat period, default 1000 (env ZPAR_HB_PERIOD_MS) */
    int hb_misses;         /* missed beats before an engine is dead, default 3 */
    unsigned hwm;          /* tasks outstanding per engine (leastload); 0: $ZPAR_HWM or 16 */
    const char *job;       /* job id written in the connection file */
    /* Called once every socket is bound and the connection files are
     * written (e.g. to publish the endpoints through PMIx).  May be NULL. */
    void (*ready) (void *arg, const zpar_conninfo_t *ci);
    void *ready_arg;
    /* 1: no SIGTERM/SIGINT watchers; whoever runs the controller stops it
     * (zpar__controller_request_stop, a client's shutdown), e.g. `zpar run
     * --sweep`, whose sweep must see the signal first */
    int no_signals;
    /* 1: CurveZMQ on every socket (curve.h): new keys, or those of
     * <dir>/controller.json with reuse; only holders of client.json or
     * engine.json can connect.  Implied by a reuse file with CURVE keys. */
    int curve;
} zpar_controller_opts_t;

/* Run the controller until a client asks for shutdown, or SIGTERM/SIGINT.
 * Records are flushed before returning.  0 / -1 with err. */
int zpar__controller_run (const zpar_controller_opts_t *opts, zpar_error_t *err);

/* Ask a controller running in this process (e.g. in another thread of
 * `zpar run`) to stop.  Async-signal-safe. */
void zpar__controller_request_stop (void);

#endif
