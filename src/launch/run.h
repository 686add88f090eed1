/* run.h - `zpar run`: one zpar process per rank of an mpirun / srun launch.
 *
 * Rank 0 becomes the controller (in a thread of this process) and, once
 * every other rank has registered as an engine, runs the job's work as a
 * client: a command (with ZPAR_CONNECTION_FILE set), a sweep, or nothing
 * (serve until `zpar stop` or the end of the job).  Every other rank is an
 * engine, pinned with hwloc by the binding policy.  Rank, size and the
 * node-local rank come from PMIx, else PMI-2, else MPI, else the
 * launcher's environment; rank 0's endpoints reach the engines through
 * PMIx, else PMI-2, else MPI_Bcast, else a connection file in a shared
 * directory (wireup.h; rank 0 logs which).
 */
#ifndef ZPAR__RUN_H
#define ZPAR__RUN_H

#include "zpar/error.h"

typedef struct {
    char **cmd;          /* command to run on rank 0 as a client, or NULL */
    const char *sweep;   /* sweep file to run on rank 0, or NULL */
    const char *journal; /* sweep journal path, or NULL */
    int retry_failed;
    int resubmit;               /* the sweep's continuation (zpar_sweep_run_opts_t.resubmit) */
    const char *dir;            /* where rank 0 writes client.json (default: job dir) */
    const char *connection_dir; /* shared dir for file wire-up (no PMIx, PMI-2, MPI);
                                   NULL: $ZPAR_DIR */
    const char *ip;             /* controller bind address (default: loopback when
                                   single-node, else all interfaces) */
    const char *interface;      /* --interface NAME|CIDR for the controller and the
                                   engines (addrpick.h), or NULL */
    const char *scheme;         /* task scheduler */
    const char *relay;          /* auto|always|never: a relay per node (relay_node.h);
                                   NULL: $ZPAR_RELAY, else auto */
    const char *bind;           /* core|l3|numa|socket|none */
    int cores_per_engine;
    int gpus_per_engine;
    int report_bindings;
    int use_mpi;         /* initialise MPI (engines-only communicator) */
    double wait_timeout; /* seconds for all engines to register */
    int curve;           /* CurveZMQ on every socket; the engine keys travel
                            with the endpoints in the wire-up blob */

    /* sweep: --end-time (sweep/walltime.h) or NULL, --margin seconds (0:
     * default) */
    const char *end_time;
    double margin;
} zpar_run_opts_t;

/* Run this rank's part.  Returns the process exit code: on rank 0 the
 * command's exit code (or the sweep's), 0 for a clean serve; on engines 0
 * after a clean shutdown.  Errors are printed (this is a program entry). */
int zpar__run_main (const zpar_run_opts_t *opts);

#endif
