/* cmd_cluster.c - `zpar cluster start|stop` and `zpar stop`: parse the
 * command line, call a launch back end (launchers/launcher.h: local, mpi,
 * slurm, pbs) and print what happened. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cluster_ops.h"
#include "conn.h"

static int interrupted;

/* SIGINT / SIGTERM are blocked (main.c): a pending one cancels the start. */
static int is_interrupted (void *arg)
{
    static const struct timespec now = {0, 0};
    sigset_t set;
    int sig;
    (void)arg;
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    if (!interrupted && (sig = sigtimedwait (&set, NULL, &now)) > 0)
        interrupted = sig;
    return interrupted != 0;
}

/* The last lines of a log that tells why the start failed, on stderr. */
static void log_tail (const char *path)
{
    char *text;
    if (!path[0] || zpar__file_tail (path, 12, &text) < 0)
        return;
    fprintf (stderr, "---- last lines of %s ----\n%s%s", path, text,
             text[0] && text[strlen (text) - 1] != '\n' ? "\n" : "");
    free (text);
}

static const char *const launchers[] = {"local", "mpi", "slurm", "pbs", NULL};
static const char *const relay_modes[] = {"auto", "always", "never", NULL};

static int cluster_start (int argc, char **argv)
{
    zpar_launch_opts_t o;
    const char *dir_opt = NULL, *name = "local";
    unsigned long n = 0;
    double timeout = 60.0;
    const zpar_cli_opt_t opts[] = {
        {"engines", 'n', "N", "number of engines (required)", ZPAR_CLI_UINT, &n, 1, 100000,
         "-n %s: give the number of engines, 1 to 100000"},
        {"launcher", 0, "NAME", "local (default), mpi (mpirun -n N+1 zpar run), slurm, pbs",
         ZPAR_CLI_STR, &name, .bad = "--launcher %s: unknown: use local, mpi, slurm or pbs",
         .choices = launchers},
        {"time", 0, "T", "walltime of the job (slurm: minutes or HH:MM:SS)", ZPAR_CLI_STR, &o.time},
        {"partition", 0, "P", "partition (slurm) or queue (pbs)", ZPAR_CLI_STR, &o.partition},
        {"dir", 0, "DIR",
         "cluster directory (default: $ZPAR_DIR/job-$SLURM_JOB_ID\n"
         "inside a job, else $ZPAR_DIR/local; ZPAR_DIR default ~/.zpar)",
         ZPAR_CLI_STR, &dir_opt},
        {"scheme", 0, "leastload|pure", "task scheduler (default leastload)", ZPAR_CLI_STR,
         &o.scheme, .bad = "--scheme %s: unknown scheduler: use leastload or pure",
         .choices = zpar__cli_schemes},
        {"ip", 0, "ADDR", "interface the controller binds (default 127.0.0.1)", ZPAR_CLI_STR,
         &o.ip},
        {"interface", 0, "NAME|CIDR",
         "the network engines reach the controller by (passed\n"
         "to the controller or to 'zpar run'; default\n"
         "$ZPAR_INTERFACE)",
         ZPAR_CLI_CALL, &o.interface, .fn = zpar__cli_set_interface},
        {"curve", 0, NULL, "encrypt and authenticate every connection (CurveZMQ)", ZPAR_CLI_FLAG,
         &o.curve},
        {"relay", 0, "auto|always|never",
         "the engines go through a relay (zpar relay): auto\n"
         "(default, $ZPAR_RELAY): locally from 256 engines\n"
         "($ZPAR_RELAY_CONTROLLER_NODE), which keeps the\n"
         "controller's memory and files per engine small;\n"
         "elsewhere 'zpar run --relay' (nodes of 2+ engines)",
         ZPAR_CLI_STR, &o.relay, .bad = "--relay %s: say auto, always or never",
         .choices = relay_modes},
        {"timeout", 0, "SEC", "give up if not ready in SEC (default 60; 30s, 2m, ...)",
         ZPAR_CLI_DURATION, &timeout},
        zpar__cli_help_opt,
        {NULL},
    };
    const zpar_cli_spec_t spec = {
        "Usage: zpar cluster start -n N [OPTIONS] [-- SBATCH/QSUB/MPIRUN ARGS...]\n"
        "\n"
        "Start a controller and N engines in the background and return once all N\n"
        "engines are registered.  Prints the client connection file's path.\n"
        "Locally, logs go to DIR/controller.log and DIR/engine-<i>.log, pids to DIR/pids.\n"
        "With --launcher slurm|pbs, a job of N+1 tasks running 'zpar run' is submitted\n"
        "(sbatch / qsub) from this login node; 'zpar cluster stop' ends it.\n",
        opts, "\n" ZPAR_CLI_EXIT_HELP "(2 also when a cluster is already running in DIR.)\n"};
    zpar_error_t err = {{0}};
    zpar_cluster_report_t rep;
    int first, rc;

    zpar__launch_opts_init (&o);
    if ((first = zpar__cli_parse (&spec, argc, argv, &rc)) < 0)
        return rc;
    if (first < argc && !strcmp (name, "local"))
        return zpar__cli_usage ("unexpected argument '%s'", argv[first]);
    if (!n)
        return zpar__cli_usage ("how many engines? give -n N (e.g. the number of cores: -n %ld)",
                                sysconf (_SC_NPROCESSORS_ONLN));
    zpar__cli_set_log_level (0);
    o.engines = (int)n;
    o.extra = argv + first;
    o.nextra = argc - first;
    o.run_args = getenv ("ZPAR_RUN_ARGS");
    if (o.relay && strcmp (name, "local") && strcmp (name, "mpi")) {
        /* the batch job's `zpar run` decides its nodes' relays */
        static char ra[1024];
        if (snprintf (ra, sizeof (ra), "--relay %s %s", o.relay, o.run_args ? o.run_args : "") >=
            (int)sizeof (ra))
            return zpar__cli_usage ("ZPAR_RUN_ARGS is too long");
        o.run_args = ra;
    }
    o.timeout = timeout;
    o.cancel = is_interrupted;
    rc = zpar__cluster_start (name, dir_opt, &o, &rep, &err);
    if (rep.stale)
        fprintf (stderr, "zpar cluster: note: removing the record of a dead cluster in %s\n",
                 rep.dir);
    if (rc < 0) {
        int e = errno;
        if (e == ECANCELED) {
            zpar__cli_error ("interrupted: stopping what was started");
            return 128 + (int)interrupted;
        }
        if (!rep.usage && strcmp (name, "local"))
            zpar__cli_error ("%s launch failed: %s", name, err.text);
        else
            zpar__cli_error ("%s", err.text);
        for (int i = 0; i < ZPAR_CLUSTER_MAX_LOGS; i++)
            log_tail (rep.logs[i]);
        if (rep.logs[1][0])
            fprintf (stderr, "(raise --timeout if the machine is slow; logs are in %s)\n", rep.dir);
        return rep.usage || e == EBUSY ? ZPAR_EXIT_USAGE
               : e == ETIMEDOUT        ? ZPAR_EXIT_TIMEOUT
                                       : ZPAR_EXIT_FAILED;
    }
    if (rep.info.note[0])
        zpar__cli_warn ("%s", rep.info.note);
    printf ("%s\n", rep.conn);
    fflush (stdout);
    return ZPAR_EXIT_OK;
}

/* ------------------------------------------------------------------ stop */

int zpar__cmd_stop (int argc, char **argv)
{
    const char *dir_opt = NULL;
    double timeout = 10.0;
    const zpar_cli_opt_t opts[] = {
        {"dir", 0, "DIR",
         "the cluster directory (default: the directory of\n"
         "--connection-file / $ZPAR_CONNECTION_FILE if given, else\n"
         "$ZPAR_DIR/job-$SLURM_JOB_ID or $ZPAR_DIR/local)",
         ZPAR_CLI_STR, &dir_opt},
        {"timeout", 0, "SEC", "how long to wait for a clean exit (default 10)", ZPAR_CLI_DURATION,
         &timeout},
        zpar__cli_conn_opt,
        zpar__cli_help_opt,
        {NULL},
    };
    const zpar_cli_spec_t spec = {
        "Usage: zpar cluster stop [OPTIONS]\n"
        "       zpar stop [OPTIONS]\n"
        "\n"
        "Shut the cluster down: ask the controller (engines kill their tasks and exit,\n"
        "the controller flushes its records), wait for the processes 'zpar cluster\n"
        "start' recorded, and remove DIR/pids, client.json and engine.json (logs and\n"
        "task records stay).  If the controller does not answer, the recorded\n"
        "processes get SIGTERM, then SIGKILL.\n",
        opts, "\n" ZPAR_CLI_EXIT_HELP, .no_args = 1};
    zpar_error_t err = {{0}};
    zpar_cluster_report_t rep;
    const zpar_launch_info_t *info = &rep.info;
    int rc;

    if (zpar__cli_parse (&spec, argc, argv, &rc) < 0)
        return rc;
    zpar__cli_default_signals (); /* `zpar cluster stop` comes with them blocked */
    zpar__cli_set_log_level (0);
    rc = zpar__cluster_stop (dir_opt, zpar__cli.connection_file, timeout, &rep, &err);
    if (rep.stopped == ZPAR_STOPPED_LOCAL && info->note[0])
        zpar__cli_warn (
            "%s%s", info->note,
            strncmp (info->note, "cannot reach", 12) ? "" : ": terminating the recorded processes");
    if (rc < 0 && (rep.stopped == ZPAR_STOPPED_BATCH || rep.stopped == ZPAR_STOPPED_LOCAL)) {
        zpar__cli_error ("%s", err.text);
        return ZPAR_EXIT_FAILED;
    }
    if (rc < 0) {
        int e = errno;
        if (e == EHOSTUNREACH)
            zpar__cli_warn ("%s", err.text);
        else
            zpar__cli_error ("%s", err.text);
        return e == EINVAL                                      ? ZPAR_EXIT_USAGE
               : e == ENOENT || e == ESRCH || e == EHOSTUNREACH ? ZPAR_EXIT_UNREACHABLE
               : e == ETIMEDOUT                                 ? ZPAR_EXIT_TIMEOUT
                                                                : ZPAR_EXIT_FAILED;
    }
    if (rep.stopped == ZPAR_STOPPED_BATCH)
        printf ("stopped the %s cluster recorded in %s\n", rep.launcher, rep.dir);
    else if (rep.stopped == ZPAR_STOPPED_CONN)
        printf ("stopped the cluster of %s\n", rep.conn);
    else if (rep.stopped == ZPAR_STOPPED_STALE)
        printf ("no cluster was running in %s (controller pid %d is gone); removed its stale "
                "connection files\n",
                rep.dir, (int)info->controller);
    else if (!info->found)
        printf ("no cluster was running in %s; removed its stale records\n", rep.dir);
    else if (!info->shut)
        printf ("stopped the cluster in %s (its controller did not answer: %zu process(es) "
                "terminated)\n",
                rep.dir, info->found);
    else if (info->killed)
        printf ("stopped the cluster in %s (%zu process(es) had to be killed)\n", rep.dir,
                info->killed);
    else
        printf ("stopped the cluster in %s\n", rep.dir);
    return ZPAR_EXIT_OK;
}

/* ------------------------------------------------------------------ dispatch */

int zpar__cmd_cluster (int argc, char **argv)
{
    const zpar_cli_opt_t opts[] = {{NULL}};
    const zpar_cli_spec_t spec = {
        "Usage: zpar cluster start -n N [--dir DIR] [--scheme leastload|pure] [--timeout SEC]\n"
        "       zpar cluster stop [--dir DIR] [--timeout SEC]\n"
        "\n"
        "Start or stop a local cluster (a controller and N engines, in the background).\n"
        "'zpar cluster start --help' and 'zpar cluster stop --help' give the details.\n",
        opts, "\n" ZPAR_CLI_EXIT_HELP, .in_order = 1};
    int i, rc;

    /* global options may come before the action too */
    if ((i = zpar__cli_parse (&spec, argc, argv, &rc)) < 0)
        return rc;
    if (i >= argc)
        return zpar__cli_usage ("missing action: 'zpar cluster start -n N' or 'zpar cluster stop'");
    if (!strcmp (argv[i], "start")) {
        zpar__cli.cmd = "cluster start";
        argv[i] = "zpar cluster start";
        return cluster_start (argc - i, argv + i);
    }
    if (!strcmp (argv[i], "stop")) {
        zpar__cli.cmd = "cluster stop";
        argv[i] = "zpar cluster stop";
        return zpar__cmd_stop (argc - i, argv + i);
    }
    return zpar__cli_usage ("unknown action '%s': use start or stop", argv[i]);
}
