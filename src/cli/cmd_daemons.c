/* cmd_daemons.c - `zpar controller` and `zpar engine`: run one daemon in
 * the foreground (cluster start runs them in the background by re-exec'ing
 * this program). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "controller/controller.h"
#include "engine/engine.h"
#include "ids.h"
#include "log.h"

static const char controller_help[] =
    "Usage: zpar controller [OPTIONS]\n"
    "\n"
    "Run a controller (hub + schedulers) in the foreground until a client asks\n"
    "for shutdown ('zpar stop') or SIGTERM/SIGINT.  It writes client.json and\n"
    "engine.json into DIR; start engines with 'zpar engine --connection-file\n"
    "DIR/engine.json'.\n"
    "\n"
    "Options:\n"
    "  --ip ADDR            interface to bind (default 127.0.0.1; '*' = all, needed\n"
    "                       when engines run on other nodes)\n"
    "  --dir DIR            where the connection files and task records go\n"
    "                       (default: $ZPAR_DIR/job-$SLURM_JOB_ID or $ZPAR_DIR/local)\n"
    "  --reuse FILE         bind the ports and use the key of an earlier connection\n"
    "                       file (restart a controller; engines and clients reconnect)\n"
    "  --scheme leastload|pure  task scheduler (default leastload)\n"
    "  --curve              encrypt and authenticate every connection (CurveZMQ):\n"
    "                       only holders of client.json or engine.json can connect\n"
    "  --hb-period MS       heartbeat period in milliseconds (default 1000)\n"
    "  --hb-misses N        missed heartbeats before an engine is declared dead (default 3)\n"
    "  --hwm N              tasks outstanding per engine, leastload (default 4;\n"
    "                       work stealing keeps tasks from waiting behind long ones)\n"
    "  -v, --verbose        more log output (default level: info; repeat for debug)\n"
    "  -h, --help           this help\n"
    "\n" ZPAR_CLI_EXIT_HELP;

int zpar__cmd_controller (int argc, char **argv)
{
    enum { O_IP = ZPAR_CLI_OPT_FIRST_LOCAL, O_DIR, O_REUSE, O_SCHEME, O_HBP, O_HBM, O_HWM, O_CURVE };
    static const struct option opts[] = {
        {"ip", required_argument, NULL, O_IP},
        {"dir", required_argument, NULL, O_DIR},
        {"reuse", required_argument, NULL, O_REUSE},
        {"scheme", required_argument, NULL, O_SCHEME},
        {"hb-period", required_argument, NULL, O_HBP},
        {"hb-misses", required_argument, NULL, O_HBM},
        {"hwm", required_argument, NULL, O_HWM},
        {"curve", no_argument, NULL, O_CURVE},
        ZPAR_CLI_COMMON_OPTS,
    };
    zpar_controller_opts_t o;
    zpar_error_t err = {{0}};
    char dir[PATH_MAX];
    unsigned long v;
    int c, rc;

    memset (&o, 0, sizeof (o));
    while ((c = getopt_long (argc, argv, ZPAR_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case O_IP:
            o.ip = optarg;
            break;
        case O_DIR:
            o.dir = optarg;
            break;
        case O_REUSE:
            o.reuse = optarg;
            if (access (optarg, R_OK) < 0)
                return zpar__cli_usage ("--reuse %s: %s: give the client.json or engine.json "
                                        "of the controller to replace",
                                        optarg, strerror (errno));
            break;
        case O_SCHEME:
            if (strcmp (optarg, "leastload") && strcmp (optarg, "pure"))
                return zpar__cli_usage ("--scheme %s: unknown scheduler: use leastload or pure",
                                        optarg);
            o.scheme = optarg;
            break;
        case O_HBP:
            if (zpar__cli_parse_uint (optarg, 3600000, &v, &err) < 0 || v < 10)
                return zpar__cli_usage ("--hb-period %s: give milliseconds from 10 to 3600000",
                                        optarg);
            o.hb_period_ms = (int)v;
            break;
        case O_HBM:
            if (zpar__cli_parse_uint (optarg, 1000, &v, &err) < 0 || v < 1)
                return zpar__cli_usage ("--hb-misses %s: give a count from 1 to 1000", optarg);
            o.hb_misses = (int)v;
            break;
        case O_HWM:
            if (zpar__cli_parse_uint (optarg, 1000000, &v, &err) < 0 || v < 1)
                return zpar__cli_usage ("--hwm %s: give a count from 1 to 1000000", optarg);
            o.hwm = (unsigned)v;
            break;
        case O_CURVE:
            o.curve = 1;
            break;
        default:
            if ((rc = zpar__cli_common_opt (c, controller_help)) >= 0)
                return rc;
        }
    }
    if (optind < argc)
        return zpar__cli_usage ("unexpected argument '%s'", argv[optind]);
    if (zpar__cluster_dir_prepare (o.dir, dir, sizeof (dir), &err) < 0) {
        zpar__cli_error ("%s", err.text);
        return ZPAR_EXIT_USAGE;
    }
    o.dir = dir;
    zpar__log_set_role ("controller");
    zpar__cli_set_log_level (ZPAR_LOG_INFO);
    if (zpar__controller_run (&o, &err) < 0) {
        zpar__cli_error ("%s", err.text[0] ? err.text : strerror (errno));
        return ZPAR_EXIT_FAILED;
    }
    return ZPAR_EXIT_OK;
}

static const char engine_help[] =
    "Usage: zpar engine [OPTIONS]\n"
    "\n"
    "Run an engine in the foreground: register with the controller, run the tasks\n"
    "it is sent, each in a child process, until the controller says shutdown or\n"
    "SIGTERM/SIGINT.\n"
    "\n"
    "Options:\n"
    "  --connection-file FILE  the controller's engine.json (default: engine.json in\n"
    "                          $ZPAR_DIR/job-$SLURM_JOB_ID or $ZPAR_DIR/local)\n"
    "  --id N                  ask for engine id N (default: the hub picks)\n"
    "  --register-timeout SEC  give up if the controller does not answer within SEC\n"
    "                          (default: keep trying)\n"
    "  -v, --verbose           more log output (default level: info)\n"
    "  -h, --help              this help\n"
    "\n" ZPAR_CLI_EXIT_HELP;

int zpar__cmd_engine (int argc, char **argv)
{
    enum { O_ID = ZPAR_CLI_OPT_FIRST_LOCAL, O_REGTMO };
    static const struct option opts[] = {
        {"id", required_argument, NULL, O_ID},
        {"register-timeout", required_argument, NULL, O_REGTMO},
        ZPAR_CLI_COMMON_OPTS,
    };
    zpar_engine_opts_t o;
    zpar_error_t err = {{0}};
    char path[PATH_MAX], role[64];
    unsigned long v;
    int c, rc;

    memset (&o, 0, sizeof (o));
    o.rank = -1;
    while ((c = getopt_long (argc, argv, ZPAR_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case O_ID:
            if (zpar__cli_parse_uint (optarg, ZPAR_ENGINE_ID_MAX, &v, &err) < 0 || v < 1)
                return zpar__cli_usage ("--id %s: give an engine id from 1 to %u", optarg,
                                        ZPAR_ENGINE_ID_MAX);
            o.want_id = (unsigned)v;
            break;
        case O_REGTMO:
            if (zpar__cli_parse_duration (optarg, &o.register_timeout, &err) < 0)
                return zpar__cli_usage ("--register-timeout: %s", err.text);
            break;
        default:
            if ((rc = zpar__cli_common_opt (c, engine_help)) >= 0)
                return rc;
        }
    }
    if (optind < argc)
        return zpar__cli_usage ("unexpected argument '%s'", argv[optind]);
    if (zpar__cli.connection_file)
        snprintf (path, sizeof (path), "%s", zpar__cli.connection_file);
    else {
        const char *env = getenv ("ZPAR_ENGINE_CONNECTION_FILE");
        if (env && *env)
            snprintf (path, sizeof (path), "%s", env);
        else if (zpar__cluster_dir (path, sizeof (path) - 16) < 0) {
            zpar__zpar_dir_error (&err);
            zpar__cli_error ("%s (or pass --connection-file)", err.text);
            return ZPAR_EXIT_USAGE;
        } else
            strcat (path, "/engine.json");
    }
    if (access (path, R_OK) < 0) {
        zpar__cli_error ("cannot read the connection file %s: %s: start a controller first "
                         "('zpar controller' or 'zpar cluster start'), or pass "
                         "--connection-file DIR/engine.json",
                         path, strerror (errno));
        return errno == ENOENT ? ZPAR_EXIT_UNREACHABLE : ZPAR_EXIT_USAGE;
    }
    o.connection_file = path;
    snprintf (role, sizeof (role), "engine %u", o.want_id);
    zpar__log_set_role (o.want_id ? role : "engine");
    zpar__cli_set_log_level (ZPAR_LOG_INFO);
    if (zpar__engine_run (&o, &err) < 0) {
        zpar__cli_error ("%s", err.text[0] ? err.text : strerror (errno));
        return errno == ETIMEDOUT || errno == EHOSTUNREACH ? ZPAR_EXIT_UNREACHABLE
                                                           : ZPAR_EXIT_FAILED;
    }
    return ZPAR_EXIT_OK;
}
