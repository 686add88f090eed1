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
#include "conn.h"
#include "launcher.h"

#define MAX_LOG_TAIL 12

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

/* Last lines of a log file to stderr. */
static void log_tail (const char *path, int lines)
{
    FILE *f = fopen (path, "r");
    char *buf;
    long size, from = 0;
    int seen = 0;
    if (!f)
        return;
    fseek (f, 0, SEEK_END);
    size = ftell (f);
    if (size > 0) {
        from = size > 16384 ? size - 16384 : 0;
        fseek (f, from, SEEK_SET);
    }
    if (size <= 0 || !(buf = malloc ((size_t)(size - from) + 1))) {
        fclose (f);
        return;
    }
    size = (long)fread (buf, 1, (size_t)(size - from), f);
    fclose (f);
    buf[size] = '\0';
    for (from = size - 1; from >= 0; from--)
        if (buf[from] == '\n' && from != size - 1 && ++seen >= lines)
            break;
    from++;
    fprintf (stderr, "---- last lines of %s ----\n%s%s", path, buf + from,
             size && buf[size - 1] != '\n' ? "\n" : "");
    free (buf);
}

static const char start_help[] =
    "Usage: zpar cluster start -n N [OPTIONS] [-- SBATCH/QSUB/MPIRUN ARGS...]\n"
    "\n"
    "Start a controller and N engines in the background and return once all N\n"
    "engines are registered.  Prints the client connection file's path.\n"
    "Locally, logs go to DIR/controller.log and DIR/engine-<i>.log, pids to DIR/pids.\n"
    "With --launcher slurm|pbs, a job of N+1 tasks running 'zpar run' is submitted\n"
    "(sbatch / qsub) from this login node; 'zpar cluster stop' ends it.\n"
    "\n"
    "Options:\n"
    "  -n, --engines N      number of engines (required)\n"
    "  --launcher NAME      local (default), mpi (mpirun -n N+1 zpar run), slurm, pbs\n"
    "  --time T             walltime of the job (slurm: minutes or HH:MM:SS)\n"
    "  --partition P        partition (slurm) or queue (pbs)\n"
    "  --dir DIR            cluster directory (default: $ZPAR_DIR/job-$SLURM_JOB_ID\n"
    "                       inside a job, else $ZPAR_DIR/local; ZPAR_DIR default ~/.zpar)\n"
    "  --scheme leastload|pure  task scheduler (default leastload)\n"
    "  --ip ADDR            interface the controller binds (default 127.0.0.1)\n"
    "  --curve              encrypt and authenticate every connection (CurveZMQ)\n"
    "  --timeout SEC        give up if not ready in SEC (default 60; 30s, 2m, ...)\n"
    "  -h, --help           this help\n"
    "\n" ZPAR_CLI_EXIT_HELP "(2 also when a cluster is already running in DIR.)\n";

static int cluster_start (int argc, char **argv)
{
    enum { O_DIR = ZPAR_CLI_OPT_FIRST_LOCAL, O_SCHEME, O_TMO, O_IP, O_LAUNCHER, O_TIME, O_PART,
           O_CURVE };
    static const struct option opts[] = {
        {"engines", required_argument, NULL, 'n'},
        {"launcher", required_argument, NULL, O_LAUNCHER},
        {"time", required_argument, NULL, O_TIME},
        {"partition", required_argument, NULL, O_PART},
        {"dir", required_argument, NULL, O_DIR},
        {"scheme", required_argument, NULL, O_SCHEME},
        {"timeout", required_argument, NULL, O_TMO},
        {"ip", required_argument, NULL, O_IP},
        {"curve", no_argument, NULL, O_CURVE},
        ZPAR_CLI_COMMON_OPTS,
    };
    zpar_error_t err = {{0}};
    char dir[PATH_MAX], conn[PATH_MAX], link[PATH_MAX], log[PATH_MAX];
    const char *dir_opt = NULL, *name = "local";
    const zpar_launcher_t *l;
    zpar_launch_opts_t o;
    zpar_launch_info_t info;
    unsigned long n = 0;
    int have_n = 0, c, rc, stale = 0;
    double timeout = 60.0;

    zpar__launch_opts_init (&o);
    while ((c = getopt_long (argc, argv, "n:" ZPAR_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (zpar__cli_parse_uint (optarg, 100000, &n, &err) < 0 || n < 1)
                return zpar__cli_usage ("-n %s: give the number of engines, 1 to 100000", optarg);
            have_n = 1;
            break;
        case O_DIR:
            dir_opt = optarg;
            break;
        case O_SCHEME:
            if (strcmp (optarg, "leastload") && strcmp (optarg, "pure"))
                return zpar__cli_usage ("--scheme %s: unknown scheduler: use leastload or pure",
                                        optarg);
            o.scheme = optarg;
            break;
        case O_TMO:
            if (zpar__cli_parse_duration (optarg, &timeout, &err) < 0)
                return zpar__cli_usage ("--timeout: %s", err.text);
            break;
        case O_IP:
            o.ip = optarg;
            break;
        case O_LAUNCHER:
            if (!zpar__launcher_find (optarg))
                return zpar__cli_usage ("--launcher %s: unknown: use local, mpi, slurm or pbs",
                                        optarg);
            name = optarg;
            break;
        case O_TIME:
            o.time = optarg;
            break;
        case O_PART:
            o.partition = optarg;
            break;
        case O_CURVE:
            o.curve = 1;
            break;
        default:
            if ((rc = zpar__cli_common_opt (c, start_help)) >= 0)
                return rc;
        }
    }
    if (optind < argc && !strcmp (name, "local"))
        return zpar__cli_usage ("unexpected argument '%s'", argv[optind]);
    if (!have_n)
        return zpar__cli_usage ("how many engines? give -n N (e.g. the number of cores: -n %ld)",
                                sysconf (_SC_NPROCESSORS_ONLN));
    zpar__cli_set_log_level (0);
    if (zpar__cluster_dir_prepare (dir_opt, dir, sizeof (dir), &err) < 0) {
        zpar__cli_error ("%s", err.text);
        return ZPAR_EXIT_USAGE;
    }
    if ((rc = zpar__local_running (dir, dir_opt, &stale, &err)) != 0) {
        zpar__cli_error ("%s", err.text);
        return ZPAR_EXIT_USAGE;
    }
    if (stale)
        fprintf (stderr, "zpar cluster: note: removing the record of a dead cluster in %s\n", dir);
    l = zpar__launcher_find (name);
    o.engines = (int)n;
    o.dir = dir;
    o.extra = argv + optind;
    o.nextra = argc - optind;
    o.run_args = getenv ("ZPAR_RUN_ARGS");
    o.timeout = timeout;
    o.cancel = is_interrupted;
    rc = l->start (&o, conn, sizeof (conn), &info, &err);
    if (rc < 0) {
        int e = errno;
        if (e == ECANCELED) {
            zpar__cli_error ("interrupted: stopping what was started");
            if (strcmp (name, "local")) /* the local back end already did */
                (void)l->stop (dir, 10.0, NULL, NULL);
            return 128 + (int)interrupted;
        }
        if (strcmp (name, "local"))
            zpar__cli_error ("%s launch failed: %s", name, err.text);
        else
            zpar__cli_error ("%s", err.text);
        if (strcmp (name, "local"))
            (void)l->stop (dir, 10.0, NULL, NULL);
        else if (e == ETIMEDOUT) {
            snprintf (log, sizeof (log), "%s/controller.log", dir);
            log_tail (log, MAX_LOG_TAIL);
            for (unsigned long i = 1; i <= n && i <= 2; i++) {
                snprintf (log, sizeof (log), "%s/engine-%lu.log", dir, i);
                log_tail (log, MAX_LOG_TAIL);
            }
            fprintf (stderr, "(raise --timeout if the machine is slow; logs are in %s)\n", dir);
        } else if (info.log[0])
            log_tail (info.log, MAX_LOG_TAIL);
        return e == ETIMEDOUT ? ZPAR_EXIT_TIMEOUT : e == EBUSY ? ZPAR_EXIT_USAGE : ZPAR_EXIT_FAILED;
    }
    /* a batch job's connection file lives elsewhere: link it from dir so
     * that zpar commands here find it */
    snprintf (link, sizeof (link), "%s/client.json", dir);
    if (strcmp (link, conn) != 0) {
        unlink (link);
        if (symlink (conn, link) < 0)
            zpar__cli_warn ("cannot link %s to %s: %s", link, conn, strerror (errno));
    }
    printf ("%s\n", conn);
    fflush (stdout);
    return ZPAR_EXIT_OK;
}

/* ------------------------------------------------------------------ stop */

static const char stop_help[] =
    "Usage: zpar cluster stop [OPTIONS]\n"
    "       zpar stop [OPTIONS]\n"
    "\n"
    "Shut the cluster down: ask the controller (engines kill their tasks and exit,\n"
    "the controller flushes its records), wait for the processes 'zpar cluster\n"
    "start' recorded, and remove DIR/pids, client.json and engine.json (logs and\n"
    "task records stay).  If the controller does not answer, the recorded\n"
    "processes get SIGTERM, then SIGKILL.\n"
    "\n"
    "Options:\n"
    "  --dir DIR            the cluster directory (default: the directory of\n"
    "                       --connection-file / $ZPAR_CONNECTION_FILE if given, else\n"
    "                       $ZPAR_DIR/job-$SLURM_JOB_ID or $ZPAR_DIR/local)\n"
    "  --timeout SEC        how long to wait for a clean exit (default 10)\n"
    "  --connection-file F  the cluster's client.json\n"
    "  -h, --help           this help\n"
    "\n" ZPAR_CLI_EXIT_HELP;

int zpar__cmd_stop (int argc, char **argv)
{
    enum { O_DIR = ZPAR_CLI_OPT_FIRST_LOCAL, O_TMO };
    static const struct option opts[] = {
        {"dir", required_argument, NULL, O_DIR},
        {"timeout", required_argument, NULL, O_TMO},
        ZPAR_CLI_COMMON_OPTS,
    };
    zpar_error_t err = {{0}};
    zpar_launch_info_t info;
    char dir[PATH_MAX], conn[PATH_MAX], mine[PATH_MAX];
    const char *dir_opt = NULL, *env = getenv ("ZPAR_CONNECTION_FILE");
    const zpar_launcher_t *l;
    double timeout = 10.0;
    int c, rc;

    while ((c = getopt_long (argc, argv, ZPAR_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case O_DIR:
            dir_opt = optarg;
            break;
        case O_TMO:
            if (zpar__cli_parse_duration (optarg, &timeout, &err) < 0)
                return zpar__cli_usage ("--timeout: %s", err.text);
            break;
        default:
            if ((rc = zpar__cli_common_opt (c, stop_help)) >= 0)
                return rc;
        }
    }
    if (optind < argc)
        return zpar__cli_usage ("unexpected argument '%s'", argv[optind]);
    zpar__cli_default_signals (); /* `zpar cluster stop` comes with them blocked */
    zpar__cli_set_log_level (0);

    if (dir_opt)
        snprintf (dir, sizeof (dir), "%s", dir_opt);
    else if (zpar__cli.connection_file || (env && *env)) {
        char *slash;
        snprintf (dir, sizeof (dir), "%s",
                  zpar__cli.connection_file ? zpar__cli.connection_file : env);
        if ((slash = strrchr (dir, '/')))
            *slash = '\0';
        else
            snprintf (dir, sizeof (dir), ".");
    } else if (zpar__cluster_dir (dir, sizeof (dir)) < 0) {
        zpar__zpar_dir_error (&err);
        zpar__cli_error ("%s", err.text);
        return ZPAR_EXIT_USAGE;
    }
    snprintf (mine, sizeof (mine), "%s/client.json", dir);
    if (zpar__cli.connection_file)
        snprintf (conn, sizeof (conn), "%s", zpar__cli.connection_file);
    else if (env && *env && !dir_opt)
        snprintf (conn, sizeof (conn), "%s", env);
    else
        snprintf (conn, sizeof (conn), "%s", mine);

    if ((l = zpar__launcher_of (dir)) && strcmp (l->name, "local")) {
        /* a job a batch launcher started */
        if (l->stop (dir, timeout > 30 ? timeout : 30, &info, &err) < 0) {
            zpar__cli_error ("%s", err.text);
            return ZPAR_EXIT_FAILED;
        }
        printf ("stopped the %s cluster recorded in %s\n", l->name, dir);
        return ZPAR_EXIT_OK;
    }
    if (!l && errno == EINVAL) {
        zpar__cli_error ("%s/launcher: unknown launcher record", dir);
        return ZPAR_EXIT_FAILED;
    }
    if (l) {
        /* a local cluster recorded in dir/pids */
        rc = l->stop (dir, timeout, &info, &err);
        if (info.note[0])
            zpar__cli_warn ("%s%s", info.note,
                            strncmp (info.note, "cannot reach", 12)
                                ? ""
                                : ": terminating the recorded processes");
        if (rc < 0) {
            zpar__cli_error ("%s", err.text);
            return ZPAR_EXIT_FAILED;
        }
        if (!info.found)
            printf ("no cluster was running in %s; removed its stale records\n", dir);
        else if (!info.shut)
            printf ("stopped the cluster in %s (its controller did not answer: %zu process(es) "
                    "terminated)\n",
                    dir, info.found);
        else if (info.killed)
            printf ("stopped the cluster in %s (%zu process(es) had to be killed)\n", dir,
                    info.killed);
        else
            printf ("stopped the cluster in %s\n", dir);
        return ZPAR_EXIT_OK;
    }
    /* a controller started by hand (or by zpar run): through its file */
    if (zpar__launch_stop_conn (conn, timeout, &info, &err) == 0) {
        printf ("stopped the cluster of %s\n", conn);
        return ZPAR_EXIT_OK;
    }
    switch (errno) {
    case ENOENT:
        zpar__cli_error ("no cluster to stop: neither %s/pids nor %s exists (pass --dir DIR or "
                         "--connection-file FILE for a cluster elsewhere)",
                         dir, conn);
        return ZPAR_EXIT_UNREACHABLE;
    case EINVAL:
        zpar__cli_error ("%s", err.text);
        return ZPAR_EXIT_USAGE;
    case ESRCH:
        if (!strcmp (mine, conn)) {
            (void)zpar__local_running (dir, NULL, NULL, NULL); /* removes the stale files */
            printf ("no cluster was running in %s (controller pid %d is gone); removed its stale "
                    "connection files\n",
                    dir, (int)info.controller);
            return ZPAR_EXIT_OK;
        }
        zpar__cli_error ("the controller of %s (pid %d) is not running; nothing to stop (remove "
                         "the stale file if you like)",
                         conn, (int)info.controller);
        return ZPAR_EXIT_UNREACHABLE;
    case EHOSTUNREACH:
        zpar__cli_warn ("%s", err.text);
        return ZPAR_EXIT_UNREACHABLE;
    case ETIMEDOUT:
        zpar__cli_error ("%s", err.text);
        return ZPAR_EXIT_TIMEOUT;
    default:
        zpar__cli_error ("%s", err.text);
        return ZPAR_EXIT_FAILED;
    }
}

/* ------------------------------------------------------------------ dispatch */

static const char cluster_help[] =
    "Usage: zpar cluster start -n N [--dir DIR] [--scheme leastload|pure] [--timeout SEC]\n"
    "       zpar cluster stop [--dir DIR] [--timeout SEC]\n"
    "\n"
    "Start or stop a local cluster (a controller and N engines, in the background).\n"
    "'zpar cluster start --help' and 'zpar cluster stop --help' give the details.\n"
    "\n" ZPAR_CLI_EXIT_HELP;

int zpar__cmd_cluster (int argc, char **argv)
{
    int i = 1;
    /* global options may come before the action too */
    while (i < argc && argv[i][0] == '-') {
        if (!strcmp (argv[i], "-h") || !strcmp (argv[i], "--help")) {
            fputs (cluster_help, stdout);
            return ZPAR_EXIT_OK;
        }
        if (!strcmp (argv[i], "-v") || !strcmp (argv[i], "--verbose"))
            zpar__cli.verbose++;
        else if (!strcmp (argv[i], "--connection-file") && i + 1 < argc)
            zpar__cli.connection_file = argv[++i];
        else if (!strncmp (argv[i], "--connection-file=", 18))
            zpar__cli.connection_file = argv[i] + 18;
        else
            return zpar__cli_usage ("give an action first: 'zpar cluster start -n N' or "
                                    "'zpar cluster stop'");
        i++;
    }
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
