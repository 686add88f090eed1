/* main.c - the zpar program: global options, subcommand dispatch, and the
 * helpers the subcommands share (cli.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "cli.h"
#include "conn.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "reactor.h"
#include "subproc.h"
#include "wire.h"

zpar_cli_globals_t zpar__cli;

/* The subcommands: adding one is one line here. */
static const zpar_cli_cmd_t commands[] = {
    {"cluster", zpar__cmd_cluster,
     "start / stop a local controller and N engines in the background", 1},
    {"stop", zpar__cmd_stop, "shut the cluster down (same as 'zpar cluster stop')", 0},
    {"px", zpar__cmd_px, "run a command on every (or the listed) engine, output prefixed [eN]", 0},
    {"submit", zpar__cmd_submit, "submit a load-balanced task; prints its id", 0},
    {"wait", zpar__cmd_wait, "wait for tasks (of any client) to finish", 0},
    {"result", zpar__cmd_result, "print a task's output and status", 0},
    {"status", zpar__cmd_status, "engines and task counts of the cluster", 0},
    {"controller", zpar__cmd_controller, "run a controller in the foreground", 1},
    {"engine", zpar__cmd_engine, "run an engine in the foreground", 1},
    {"relay", zpar__cmd_relay, "run a node's relay in the foreground", 1},
    {"run", zpar__cmd_run, "under mpirun/srun: rank 0 controller, other ranks engines", 1},
    {"sweep", zpar__cmd_sweep, "run a parameter sweep; its status and report (zpar-sweep(5))", 1},
};
static const size_t ncommands = sizeof (commands) / sizeof (commands[0]);

static int print_version (const char *arg, void *dst);
static int print_main_help (const char *arg, void *dst);

static const zpar_cli_opt_t main_opts[] = {
    {"connection-file", 0, "FILE",
     "the cluster's client.json (default: $ZPAR_CONNECTION_FILE,\n"
     "else $ZPAR_DIR/job-$SLURM_JOB_ID or $ZPAR_DIR/local)",
     ZPAR_CLI_CALL, .fn = zpar__cli_set_conn},
    ZPAR_CLI_VERBOSE_OPT ("more log output (repeat for debug)"),
    {"help", 'h', NULL, "help (for a command: zpar COMMAND --help)", ZPAR_CLI_CALL,
     .fn = print_main_help},
    {"version", 'V', NULL, "print the version and the libzmq version", ZPAR_CLI_CALL,
     .fn = print_version},
    {NULL},
};
static const zpar_cli_spec_t main_spec = {
    "", main_opts,
    "\nEnvironment: ZPAR_DIR (default ~/.zpar; $XDG_RUNTIME_DIR/zpar without HOME),\n"
    "  ZPAR_CONNECTION_FILE, ZPAR_LOG\n"
    "(error|warn|info|debug), ZPAR_CONNECT_TIMEOUT (seconds, default 10).\n"
    "\n" ZPAR_CLI_EXIT_HELP "See zpar(1).\n",
    "\nGlobal options (before or after COMMAND):\n", 1};

static void main_help (FILE *f)
{
    fprintf (f, "Usage: zpar [--connection-file FILE] [-v] COMMAND [OPTIONS] [ARGS]\n"
                "       zpar --version | --help | help COMMAND\n"
                "\n"
                "A ZeroMQ task cluster for an HPC allocation or a workstation.\n"
                "\n"
                "Commands:\n");
    for (size_t i = 0; i < ncommands; i++)
        fprintf (f, "  %-11s %s\n", commands[i].name, commands[i].help);
    zpar__cli_help (&main_spec, f);
}

static int print_main_help (const char *arg, void *dst)
{
    main_help (stdout);
    return ZPAR_EXIT_OK;
}

/* ------------------------------------------------------------------ messages */

static void vmsg (const char *level, const char *fmt, va_list ap)
{
    fflush (stdout);
    if (zpar__cli.cmd)
        fprintf (stderr, "zpar %s: %s: ", zpar__cli.cmd, level);
    else
        fprintf (stderr, "zpar: %s: ", level);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
}

void zpar__cli_error (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vmsg ("error", fmt, ap);
    va_end (ap);
}

void zpar__cli_warn (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vmsg ("warning", fmt, ap);
    va_end (ap);
}

int zpar__cli_usage (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vmsg ("error", fmt, ap);
    va_end (ap);
    if (zpar__cli.cmd)
        fprintf (stderr, "Try 'zpar %s --help'.\n", zpar__cli.cmd);
    else
        fprintf (stderr, "Try 'zpar --help'.\n");
    return ZPAR_EXIT_USAGE;
}

/* ------------------------------------------------------------------ options */

void zpar__cli_set_log_level (int base_level)
{
    const char *env = getenv ("ZPAR_LOG");
    int level = base_level;
    if (env && *env) {
        int l = zpar__log_level_parse (env);
        if (l == -2)
            zpar__cli_warn ("ZPAR_LOG='%s' is not one of error, warn, info, debug: ignored", env);
        else
            level = l;
    }
    level += zpar__cli.verbose;
    if (level > ZPAR_LOG_DEBUG)
        level = ZPAR_LOG_DEBUG;
    zpar__log_set_level (level);
}

/* ------------------------------------------------------------------ cluster access */

zpar_client_t *zpar__cli_connect (int *rc)
{
    char path[PATH_MAX] = "";
    zpar_error_t err = {{0}};
    zpar_client_opts_t o;
    zpar_conninfo_t ci;
    zpar_client_t *c;
    int e;

    zpar_client_opts_init (&o);
    o.connection_file = zpar__cli.connection_file;
    if ((c = zpar_client_connect_opts (&o, &err))) {
        *rc = ZPAR_EXIT_OK;
        return c;
    }
    e = errno;
    zpar__cli_error ("%s", err.text[0] ? err.text : strerror (e));
    if (e == ENOENT && !strstr (err.text, "cluster start"))
        fprintf (stderr, "  (start a cluster with 'zpar cluster start -n N', or point "
                         "--connection-file / ZPAR_CONNECTION_FILE at its client.json)\n");
    if ((e == EHOSTUNREACH || e == ETIMEDOUT) &&
        zpar_connection_file_find (&o, path, sizeof (path), NULL) == 0 &&
        zpar__conn_read (path, &ci, NULL) == 0)
        fprintf (stderr,
                 "  (controller of %s: pid %d on %s; is it running? see its log, "
                 "'zpar cluster stop' to clean up, or raise ZPAR_CONNECT_TIMEOUT)\n",
                 path, ci.pid, ci.host[0] ? ci.host : "?");
    *rc = e == EINVAL ? ZPAR_EXIT_USAGE : ZPAR_EXIT_UNREACHABLE;
    return NULL;
}

/* ------------------------------------------------------------------ results */

int zpar__cli_print_result (const zpar_result_t *r, int as_json, FILE *out, FILE *errout)
{
    size_t olen = 0, elen = 0, flen = 0;
    const void *o = zpar_result_stdout (r, &olen);
    const void *e = zpar_result_stderr (r, &elen);
    const void *fo = zpar_result_output (r, &flen);
    int trunc = zpar_result_truncated (r);
    char id[32], line[1024];

    if (as_json) {
        zpar_result_write_json (r, out);
        fflush (out);
        return zpar_result_status (r) == ZPAR_STATUS_OK ? ZPAR_EXIT_OK : ZPAR_EXIT_FAILED;
    }
    if (o && olen)
        fwrite (o, 1, olen, out);
    fflush (out);
    if (e && elen)
        fwrite (e, 1, elen, errout);
    if (fo && flen) {
        fwrite (fo, 1, flen, out);
        if (((const char *)fo)[flen - 1] != '\n' && out == stdout && isatty (1))
            fputc ('\n', out);
    }
    fflush (out);
    zpar_result_summary (r, line, sizeof (line));
    fprintf (errout, "%s\n", line);
    zpar_task_id_format (zpar_result_id (r), id, sizeof (id));
    if (trunc)
        fprintf (errout,
                 "%s: note: %s%s%s was truncated at the output cap (raise it with "
                 "zpar_task_set_output_cap)\n",
                 id, (trunc & 1) ? "stdout" : "", trunc == 3 ? " and " : "",
                 (trunc & 2) ? "stderr" : "");
    return zpar_result_status (r) == ZPAR_STATUS_OK ? ZPAR_EXIT_OK : ZPAR_EXIT_FAILED;
}

/* ------------------------------------------------------------------ main */

void zpar__cli_default_signals (void)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGHUP);
    sigaddset (&set, SIGCHLD);
    pthread_sigmask (SIG_UNBLOCK, &set, NULL);
    /* writing to a closed pipe (zpar px ... | head) must end quietly */
    signal (SIGPIPE, SIG_DFL);
}

static const zpar_cli_cmd_t *find_command (const char *name)
{
    for (size_t i = 0; i < ncommands; i++)
        if (!strcmp (commands[i].name, name))
            return &commands[i];
    return NULL;
}

static int print_version (const char *arg, void *dst)
{
    int maj, min, pat;
    zmq_version (&maj, &min, &pat);
    printf ("zpar %s (libzmq %d.%d.%d, built with %d.%d.%d)\n", PACKAGE_VERSION, maj, min, pat,
            ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH);
    return ZPAR_EXIT_OK;
}

int main (int argc, char **argv)
{
    const zpar_cli_cmd_t *cmd;
    zpar_error_t err = {{0}};
    int c;

    /* The library's loops read SIGINT, SIGTERM, SIGHUP and SIGCHLD from
     * signalfds: block them before any thread starts (threads inherit the
     * mask).  Commands that watch none get the defaults back below. */
    if (zpar__reactor_block_signals () < 0) {
        fprintf (stderr, "zpar: cannot block signals: %s\n", strerror (errno));
        return ZPAR_EXIT_FAILED;
    }
    signal (SIGPIPE, SIG_IGN);
    /* started tied to its starter (a private cluster's controller or
     * engine, subproc.h): die with it */
    if (zpar__tie_watch (&err) < 0)
        fprintf (stderr, "zpar: warning: %s\n", err.text);
    if ((optind = zpar__cli_parse (&main_spec, argc, argv, &c)) < 0)
        return c;
    if (optind >= argc) {
        main_help (stderr);
        return ZPAR_EXIT_USAGE;
    }
    if (!strcmp (argv[optind], "help")) {
        if (optind + 1 >= argc)
            return print_main_help (NULL, NULL);
        if (!(cmd = find_command (argv[optind + 1])))
            return zpar__cli_usage ("unknown command '%s'", argv[optind + 1]);
        {
            char *hargv[] = {argv[optind + 1], "--help", NULL};
            zpar__cli.cmd = cmd->name;
            optind = 0;
            return cmd->fn (2, hargv);
        }
    }
    if (!strcmp (argv[optind], "version"))
        return print_version (NULL, NULL);
    if (!(cmd = find_command (argv[optind]))) {
        size_t len = strlen (argv[optind]);
        for (size_t i = 0; i < ncommands; i++)
            if (len && !strncmp (commands[i].name, argv[optind], len)) {
                return zpar__cli_usage ("unknown command '%s': did you mean 'zpar %s'?",
                                        argv[optind], commands[i].name);
            }
        return zpar__cli_usage ("unknown command '%s': 'zpar --help' lists the commands",
                                argv[optind]);
    }
    zpar__cli.cmd = cmd->name;
    if (!cmd->signals)
        zpar__cli_default_signals ();
    zpar__cli_set_log_level (ZPAR_LOG_WARN);
    if (zpar__zmq_version_check (&err) < 0) {
        zpar__cli_error ("%s", err.text);
        return ZPAR_EXIT_FAILED;
    }
    argc -= optind;
    argv += optind;
    {
        /* getopt's own messages then read "zpar status: unrecognized option" */
        static char name[64];
        snprintf (name, sizeof (name), "zpar %s", cmd->name);
        argv[0] = name;
    }
    optind = 0; /* full re-initialisation of getopt for the subcommand */
    return cmd->fn (argc, argv);
}
