/* engine.h - a zpar engine: registers with the controller, heartbeats,
 * and runs command and function tasks in child processes. */
#ifndef ZPAR__ENGINE_H
#define ZPAR__ENGINE_H

#include "conn.h"
#include "zpar/error.h"

typedef struct {
    /* Where the controller is: conninfo if non-NULL, else read
     * connection_file (the engine.json the controller wrote). */
    const zpar_conninfo_t *conninfo;
    const char *connection_file;
    int rank;                /* launcher rank, -1 if none */
    unsigned want_id;        /* engine id to ask for (0: any) */
    void *mpi_comm;          /* engines-only MPI communicator (MPI_Comm *), or NULL */
    const char *bind_report; /* text describing this engine's CPU binding, or NULL */
    double register_timeout; /* give up registering after this (s); <= 0: retry forever */
    /* connect the queues, IOPub and heartbeat to the addresses of the
     * connection information (its engine-side ones) instead of those of
     * the registration reply: an engine behind the node's relay, whose
     * conninfo names the relay's endpoints (src/relay/relay.h) */
    int own_addrs;
    const char *interface; /* NAME|CIDR to reach the controller by, or NULL: $ZPAR_INTERFACE,
                              else zpar__conn_pick's choice (addrpick.h) */
} zpar_engine_opts_t;

/* The engine.json an engine started by hand uses: given (--connection-file)
 * if not NULL, else $ZPAR_ENGINE_CONNECTION_FILE, else engine.json in the
 * cluster directory; it must be readable.  0, or -1 with ENOENT (no such
 * file: start a controller first) or another errno (EINVAL: no cluster
 * directory), err saying which. */
int zpar__engine_connection_file (const char *given, char *buf, size_t size, zpar_error_t *err);

/* Run the engine until the controller says shutdown, or SIGTERM/SIGINT.
 * Tasks still running are killed before returning.  0 on a clean shutdown,
 * -1 with err on a fatal error (bad connection file, an interface that
 * matches none of the controller's addresses, register timeout: err names
 * every address tried, the log says why each). */
int zpar__engine_run (const zpar_engine_opts_t *opts, zpar_error_t *err);

#endif
