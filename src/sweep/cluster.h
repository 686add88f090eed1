/* cluster.h - the cluster a sweep run uses: found from its options, or a
 * private local cluster the run starts and stops.  Internal.
 *
 * The search order is zpar_sweep_run_opts_t's (runner.h): an explicit
 * connection file, $ZPAR_CONNECTION_FILE, the running local/job cluster
 * (unless its connection file is stale: its controller is a dead process
 * of this host), else, when allowed, a private local cluster in
 * "<output dir>/.cluster" (or a mktemp directory when that path is too
 * long for ipc:// endpoints), started and stopped through the local
 * launcher (launchers/launcher.h: what `zpar cluster start` does), tied to
 * this process (subproc.h): its controller and engines stop when the run
 * ends in any way, SIGKILL included, so that nothing runs that the journal
 * cannot hear of.
 */
#ifndef ZPAR__SWEEP_CLUSTER_H
#define ZPAR__SWEEP_CLUSTER_H

#include <limits.h>

#include "launcher.h"
#include "runlog.h"
#include "runner.h"
#include "spec.h"
#include "zpar.h"

/* A private cluster.  Zero it before use. */
typedef struct {
    int started; /* a private cluster is ours to stop */
    int tie_fd;  /* > 0: our end of its tie (launcher.h): it dies with us */
    char dir[PATH_MAX];
    char conn[PATH_MAX];
} zpar_sweep_private_t;

/* Connect as opts say, starting a private cluster into *pc when needed and
 * allowed (pc->started then tells that it must be stopped).  cancel (may
 * be NULL) is polled while the private cluster starts or a leftover one
 * stops; non-zero gives up with EINTR.  NULL with errno (EHOSTUNREACH: no
 * cluster reachable or startable, EINTR, or the client's) and err. */
zpar_client_t *zpar__sweep_connect (const zpar_sweep_run_opts_t *opts,
                                    const zpar_sweep_spec_t *spec, zpar_sweep_private_t *pc,
                                    zpar_sweep_log_t *log, zpar_launch_cancel_f cancel,
                                    void *cancel_arg, zpar_error_t *err);

/* Stop the private cluster if pc->started (then clear it); a warning on
 * log when that fails, unless quiet.  NULL-safe. */
void zpar__sweep_private_stop (zpar_sweep_private_t *pc, zpar_sweep_log_t *log, int quiet);

#endif
