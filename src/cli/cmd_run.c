/* cmd_run.c - `zpar run`: one process per rank under mpirun / srun. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "conn.h"
#include "launch/run.h"
#include "log.h"

static const char *const binds[] = {"core", "l3", "numa", "socket", "none", NULL};

static const char *const relay_modes[] = {"auto", "always", "never", NULL};

int zpar__cmd_run (int argc, char **argv)
{
    zpar_run_opts_t o = {.wait_timeout = 120, .bind = "core", .cores_per_engine = 1};
    unsigned long cpe = 1, gpe = 0;
    const zpar_cli_opt_t opts[] = {
        {"bind", 0, "core|l3|numa|socket|none", "pinning policy (default core)", ZPAR_CLI_STR,
         &o.bind, .bad = "--bind %s: unknown policy: use core, l3, numa, socket or none",
         .choices = binds},
        {"cores-per-engine", 0, "N", "cores per engine with --bind core (default 1)", ZPAR_CLI_UINT,
         &cpe, 1, 4096, "--cores-per-engine %s: want a positive integer"},
        {"gpus-per-engine", 0, "N",
         "give each engine its N nearest GPUs (CUDA/ROCR_VISIBLE_DEVICES)", ZPAR_CLI_UINT, &gpe, 0,
         64},
        {"report-bindings", 0, NULL, "print each engine's host, rank and cpuset", ZPAR_CLI_FLAG,
         &o.report_bindings},
        {"journal", 0, "PATH", "sweep journal (default: beside the sweep file)", ZPAR_CLI_STR,
         &o.journal},
        {"retry-failed", 0, NULL, "rerun sweep points that failed before", ZPAR_CLI_FLAG,
         &o.retry_failed},
        {"dir", 0, "DIR",
         "where rank 0 writes client.json (default\n"
         "$ZPAR_DIR/job-$SLURM_JOB_ID, job-$PBS_JOBID or local)",
         ZPAR_CLI_STR, &o.dir},
        {"connection-dir", 0, "DIR",
         "shared directory for wire-up when neither PMIx, PMI-2\n"
         "nor MPI is available (default $ZPAR_DIR)",
         ZPAR_CLI_STR, &o.connection_dir},
        {"ip", 0, "ADDR",
         "controller bind address (default: loopback on one node,\n"
         "all interfaces on several)",
         ZPAR_CLI_STR, &o.ip},
        {"interface", 0, "NAME|CIDR",
         "the network engines reach the controller by: an\n"
         "interface (ib0) or network (10.1.0.0/16), on every\n"
         "rank (default: $ZPAR_INTERFACE, else the interface\n"
         "that routes to the job's other nodes)",
         ZPAR_CLI_CALL, &o.interface, .fn = zpar__cli_set_interface},
        {"relay", 0, "auto|always|never",
         "a relay per node carries its engines' traffic (auto:\n"
         "nodes with 2+ engines but the controller's, which\n"
         "from 256 ($ZPAR_RELAY_CONTROLLER_NODE); default\n"
         "$ZPAR_RELAY, else auto)",
         ZPAR_CLI_STR, &o.relay, .bad = "--relay %s: say auto, always or never",
         .choices = relay_modes},
        {"scheme", 0, "leastload|pure", "task scheduler (default leastload)", ZPAR_CLI_STR,
         &o.scheme, .bad = "--scheme %s: unknown scheduler: use leastload or pure",
         .choices = zpar__cli_schemes},
        {"curve", 0, NULL, "encrypt and authenticate every connection (CurveZMQ)", ZPAR_CLI_FLAG,
         &o.curve},
        {"mpi", 0, NULL,
         "initialise MPI: function tasks get an engines-only\n"
         "communicator (zpar_fn_mpi_comm)",
         ZPAR_CLI_FLAG, &o.use_mpi},
        {"wait-timeout", 0, "SEC", "how long rank 0 waits for the engines (default 120)",
         ZPAR_CLI_DURATION, &o.wait_timeout, 1,
         .bad = "--wait-timeout %s: want a duration like 60 or 2m"},
        {"sweep", 0, "FILE", NULL, ZPAR_CLI_STR, &o.sweep},
        ZPAR_CLI_RESUBMIT_OPT (&o.resubmit),
        {"end-time", 0, "WHEN",
         "with --sweep: the allocation ends then (default: the\n"
         "Slurm or PBS job's end; see zpar sweep run --help)",
         ZPAR_CLI_STR, &o.end_time},
        {"margin", 0, "DURATION", "with --sweep: points must be done this long before the end",
         ZPAR_CLI_DURATION, &o.margin, 1, .bad = "--margin %s: want a duration like 30 or 2m"},
        ZPAR_CLI_VERBOSE_OPT ("more log output"),
        zpar__cli_help_opt,
        {NULL},
    };
    const zpar_cli_spec_t spec = {
        "Usage: mpirun -n N zpar run [OPTIONS] [--sweep FILE | -- CMD ARGS...]\n"
        "       srun   -n N zpar run [OPTIONS] [--sweep FILE | -- CMD ARGS...]\n"
        "\n"
        "Turn the ranks of a launch into a zpar cluster: rank 0 becomes the\n"
        "controller, every other rank an engine pinned with hwloc.  Then:\n"
        "  -- CMD ARGS...   rank 0 runs CMD as a client (ZPAR_CONNECTION_FILE set) once\n"
        "                   every engine has registered, then shuts the cluster down;\n"
        "                   the exit code is CMD's\n"
        "  --sweep FILE     rank 0 runs the sweep (see zpar-sweep(5)); exit 0 only if\n"
        "                   every point succeeded, 75 if the job's time was up with\n"
        "                   points left for the next job\n"
        "  (neither)        serve until 'zpar stop' or the end of the job; clients in the\n"
        "                   same job find the cluster with no option\n",
        opts, "\n" ZPAR_CLI_EXIT_HELP, .in_order = 1};
    int first, rc;

    if ((first = zpar__cli_parse (&spec, argc, argv, &rc)) < 0)
        return rc;
    o.cores_per_engine = (int)cpe;
    o.gpus_per_engine = (int)gpe;
    if (first < argc) {
        if (o.sweep)
            return zpar__cli_usage ("give either --sweep FILE or a command, not both");
        o.cmd = argv + first;
    }
    zpar__cli_set_log_level (ZPAR_LOG_WARN);
    return zpar__run_main (&o);
}
