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

static const char run_help[] =
    "Usage: mpirun -n N zpar run [OPTIONS] [--sweep FILE | -- CMD ARGS...]\n"
    "       srun   -n N zpar run [OPTIONS] [--sweep FILE | -- CMD ARGS...]\n"
    "\n"
    "Turn the ranks of a launch into a zpar cluster: rank 0 becomes the\n"
    "controller, every other rank an engine pinned with hwloc.  Then:\n"
    "  -- CMD ARGS...   rank 0 runs CMD as a client (ZPAR_CONNECTION_FILE set) once\n"
    "                   every engine has registered, then shuts the cluster down;\n"
    "                   the exit code is CMD's\n"
    "  --sweep FILE     rank 0 runs the sweep (see zpar-sweep(5)); exit 0 only if\n"
    "                   every point succeeded\n"
    "  (neither)        serve until 'zpar stop' or the end of the job; clients in the\n"
    "                   same job find the cluster with no option\n"
    "\n"
    "Options:\n"
    "  --bind core|l3|numa|socket|none  pinning policy (default core)\n"
    "  --cores-per-engine N  cores per engine with --bind core (default 1)\n"
    "  --gpus-per-engine N   give each engine its N nearest GPUs (CUDA/ROCR_VISIBLE_DEVICES)\n"
    "  --report-bindings     print each engine's host, rank and cpuset\n"
    "  --journal PATH        sweep journal (default: beside the sweep file)\n"
    "  --retry-failed        rerun sweep points that failed before\n"
    "  --dir DIR             where rank 0 writes client.json (default\n"
    "                        $ZPAR_DIR/job-$SLURM_JOB_ID, job-$PBS_JOBID or local)\n"
    "  --connection-dir DIR  shared directory for wire-up when neither PMIx nor MPI\n"
    "                        is available (default $ZPAR_DIR)\n"
    "  --ip ADDR             controller bind address (default: loopback on one node,\n"
    "                        all interfaces on several)\n"
    "  --scheme leastload|pure  task scheduler (default leastload)\n"
    "  --curve               encrypt and authenticate every connection (CurveZMQ)\n"
    "  --mpi                 initialise MPI: function tasks get an engines-only\n"
    "                        communicator (zpar_fn_mpi_comm)\n"
    "  --wait-timeout SEC    how long rank 0 waits for the engines (default 120)\n"
    "  -v, --verbose         more log output\n"
    "  -h, --help            this help\n"
    "\n" ZPAR_CLI_EXIT_HELP;

int zpar__cmd_run (int argc, char **argv)
{
    enum {
        O_SWEEP = ZPAR_CLI_OPT_FIRST_LOCAL,
        O_JOURNAL,
        O_RETRY,
        O_DIR,
        O_CDIR,
        O_IP,
        O_SCHEME,
        O_BIND,
        O_CPE,
        O_GPE,
        O_REPORT,
        O_MPI,
        O_WAIT,
        O_CURVE,
    };
    static const struct option opts[] = {
        {"sweep", required_argument, NULL, O_SWEEP},
        {"journal", required_argument, NULL, O_JOURNAL},
        {"retry-failed", no_argument, NULL, O_RETRY},
        {"dir", required_argument, NULL, O_DIR},
        {"connection-dir", required_argument, NULL, O_CDIR},
        {"ip", required_argument, NULL, O_IP},
        {"scheme", required_argument, NULL, O_SCHEME},
        {"bind", required_argument, NULL, O_BIND},
        {"cores-per-engine", required_argument, NULL, O_CPE},
        {"gpus-per-engine", required_argument, NULL, O_GPE},
        {"report-bindings", no_argument, NULL, O_REPORT},
        {"mpi", no_argument, NULL, O_MPI},
        {"wait-timeout", required_argument, NULL, O_WAIT},
        {"curve", no_argument, NULL, O_CURVE},
        ZPAR_CLI_COMMON_OPTS,
    };
    zpar_run_opts_t o;
    zpar_error_t err;
    unsigned long v;
    int c, rc;

    memset (&o, 0, sizeof (o));
    o.wait_timeout = 120;
    o.bind = "core";
    o.cores_per_engine = 1;
    while ((c = getopt_long (argc, argv, "+" ZPAR_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case O_SWEEP:
            o.sweep = optarg;
            break;
        case O_JOURNAL:
            o.journal = optarg;
            break;
        case O_RETRY:
            o.retry_failed = 1;
            break;
        case O_DIR:
            o.dir = optarg;
            break;
        case O_CDIR:
            o.connection_dir = optarg;
            break;
        case O_IP:
            o.ip = optarg;
            break;
        case O_SCHEME:
            if (strcmp (optarg, "leastload") && strcmp (optarg, "pure"))
                return zpar__cli_usage ("--scheme %s: unknown scheduler: use leastload or pure",
                                        optarg);
            o.scheme = optarg;
            break;
        case O_BIND:
            if (strcmp (optarg, "core") && strcmp (optarg, "l3") && strcmp (optarg, "numa") &&
                strcmp (optarg, "socket") && strcmp (optarg, "none"))
                return zpar__cli_usage (
                    "--bind %s: unknown policy: use core, l3, numa, socket or none", optarg);
            o.bind = optarg;
            break;
        case O_CPE:
            if (zpar__cli_parse_uint (optarg, 4096, &v, &err) < 0 || v == 0)
                return zpar__cli_usage ("--cores-per-engine %s: want a positive integer", optarg);
            o.cores_per_engine = (int)v;
            break;
        case O_GPE:
            if (zpar__cli_parse_uint (optarg, 64, &v, &err) < 0)
                return zpar__cli_usage ("--gpus-per-engine %s: %s", optarg, err.text);
            o.gpus_per_engine = (int)v;
            break;
        case O_REPORT:
            o.report_bindings = 1;
            break;
        case O_MPI:
            o.use_mpi = 1;
            break;
        case O_CURVE:
            o.curve = 1;
            break;
        case O_WAIT:
            if (zpar__cli_parse_duration (optarg, &o.wait_timeout, &err) < 0 || o.wait_timeout <= 0)
                return zpar__cli_usage ("--wait-timeout %s: want a duration like 60 or 2m", optarg);
            break;
        default:
            if ((rc = zpar__cli_common_opt (c, run_help)) >= 0)
                return rc;
        }
    }
    if (!o.connection_dir) {
        /* the documented default: $ZPAR_DIR (a shared file system on a
         * cluster); used only when neither PMIx nor MPI can carry the
         * endpoints */
        static char zdir[4096];
        if (zpar__zpar_dir (zdir, sizeof (zdir)) == 0 && zpar__mkdir_p (zdir, 0700) == 0)
            o.connection_dir = zdir;
    }
    if (optind < argc) {
        if (o.sweep)
            return zpar__cli_usage ("give either --sweep FILE or a command, not both");
        o.cmd = argv + optind;
    }
    zpar__cli_set_log_level (ZPAR_LOG_WARN);
    return zpar__run_main (&o);
}
