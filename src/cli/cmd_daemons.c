/* cmd_daemons.c - `zpar controller` and `zpar engine`: run one daemon in
 * the foreground (cluster start runs them in the background by re-exec'ing
 * this program). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "controller/controller.h"
#include "engine/engine.h"
#include "ids.h"
#include "log.h"
#include "relay/relay.h"
#include "relay/relay_node.h"

static int opt_reuse (const char *arg, void *dst)
{
    if (access (arg, R_OK) < 0)
        return zpar__cli_usage ("--reuse %s: %s: give the client.json or engine.json of the "
                                "controller to replace",
                                arg, strerror (errno));
    *(const char **)dst = arg;
    return -1;
}

int zpar__cmd_controller (int argc, char **argv)
{
    zpar_controller_opts_t o = {0};
    unsigned long hbp = 0, hbm = 0, hwm = 0;
    const zpar_cli_opt_t opts[] = {
        {"ip", 0, "ADDR",
         "interface to bind (default 127.0.0.1; '*' = all, needed\n"
         "when engines run on other nodes)",
         ZPAR_CLI_STR, &o.ip},
        {"interface", 0, "NAME|CIDR",
         "listen on every interface and advertise the addresses\n"
         "of this one (eth0) or network (10.1.0.0/16) only\n"
         "(default: $ZPAR_INTERFACE)",
         ZPAR_CLI_CALL, &o.interface, .fn = zpar__cli_set_interface},
        {"dir", 0, "DIR",
         "where the connection files and task records go\n"
         "(default: $ZPAR_DIR/job-$SLURM_JOB_ID or $ZPAR_DIR/local)",
         ZPAR_CLI_STR, &o.dir},
        {"reuse", 0, "FILE",
         "bind the ports and use the key of an earlier connection\n"
         "file (restart a controller; engines and clients reconnect)",
         ZPAR_CLI_CALL, &o.reuse, .fn = opt_reuse},
        {"scheme", 0, "leastload|pure", "task scheduler (default leastload)", ZPAR_CLI_STR,
         &o.scheme, .bad = "--scheme %s: unknown scheduler: use leastload or pure",
         .choices = zpar__cli_schemes},
        {"hb-period", 0, "MS", "heartbeat period in milliseconds (default 1000)", ZPAR_CLI_UINT,
         &hbp, 10, 3600000, "--hb-period %s: give milliseconds from 10 to 3600000"},
        {"hb-misses", 0, "N", "missed heartbeats before an engine is declared dead (default 3)",
         ZPAR_CLI_UINT, &hbm, 1, 1000, "--hb-misses %s: give a count from 1 to 1000"},
        {"hwm", 0, "N",
         "tasks outstanding per engine, leastload (default 16;\n"
         "work stealing keeps tasks from waiting behind long ones)",
         ZPAR_CLI_UINT, &hwm, 1, 1000000, "--hwm %s: give a count from 1 to 1000000"},
        {"curve", 0, NULL,
         "encrypt and authenticate every connection (CurveZMQ):\n"
         "only holders of client.json or engine.json can connect",
         ZPAR_CLI_FLAG, &o.curve},
        ZPAR_CLI_VERBOSE_OPT ("more log output (default level: info; repeat for debug)"),
        zpar__cli_help_opt,
        {NULL},
    };
    const zpar_cli_spec_t spec = {
        "Usage: zpar controller [OPTIONS]\n"
        "\n"
        "Run a controller (hub + schedulers) in the foreground until a client asks\n"
        "for shutdown ('zpar stop') or SIGTERM/SIGINT.  It writes client.json and\n"
        "engine.json into DIR; start engines with 'zpar engine --connection-file\n"
        "DIR/engine.json'.\n",
        opts, "\n" ZPAR_CLI_EXIT_HELP, .no_args = 1};
    zpar_error_t err = {{0}};
    char dir[PATH_MAX];
    int rc;

    if (zpar__cli_parse (&spec, argc, argv, &rc) < 0)
        return rc;
    o.hb_period_ms = (int)hbp;
    o.hb_misses = (int)hbm;
    o.hwm = (unsigned)hwm;
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

int zpar__cmd_engine (int argc, char **argv)
{
    zpar_engine_opts_t o = {.rank = -1};
    unsigned long id = 0;
    const char *relay = NULL;
    zpar_conninfo_t ci;
    const zpar_cli_opt_t opts[] = {
        {"relay", 0, "DIR",
         "connect through the relay whose endpoints are in DIR\n(zpar relay --dir DIR)",
         ZPAR_CLI_STR, &relay},
        ZPAR_CLI_ENGINE_CONN_OPT,
        {"id", 0, "N", "ask for engine id N (default: the hub picks)", ZPAR_CLI_UINT, &id, 1,
         ZPAR_ENGINE_ID_MAX, "--id %s: give an engine id from 1 to %lu"},
        {"register-timeout", 0, "SEC",
         "give up if the controller does not answer within SEC\n"
         "(default: keep trying)",
         ZPAR_CLI_DURATION, &o.register_timeout},
        ZPAR_CLI_PEER_INTERFACE_OPT (&o.interface),
        ZPAR_CLI_VERBOSE_OPT ("more log output (default level: info)"),
        zpar__cli_help_opt,
        {NULL},
    };
    const zpar_cli_spec_t spec = {
        "Usage: zpar engine [OPTIONS]\n"
        "\n"
        "Run an engine in the foreground: register with the controller, run the tasks\n"
        "it is sent, each in a child process, until the controller says shutdown or\n"
        "SIGTERM/SIGINT.\n",
        opts, "\n" ZPAR_CLI_EXIT_HELP, .no_args = 1};
    zpar_error_t err = {{0}};
    char path[PATH_MAX], role[64];
    int rc;

    if (zpar__cli_parse (&spec, argc, argv, &rc) < 0)
        return rc;
    o.want_id = (unsigned)id;
    if (zpar__engine_connection_file (zpar__cli.connection_file, path, sizeof (path), &err) < 0) {
        zpar__cli_error ("%s", err.text);
        return errno == ENOENT ? ZPAR_EXIT_UNREACHABLE : ZPAR_EXIT_USAGE;
    }
    o.connection_file = path;
    if (relay) {
        if (zpar__conn_read (path, &ci, &err) < 0 || zpar__relay_engine_addrs (relay, &ci) < 0) {
            zpar__cli_error ("--relay %s: %s", relay, err.text[0] ? err.text : strerror (errno));
            return ZPAR_EXIT_USAGE;
        }
        o.conninfo = &ci;
        o.own_addrs = 1;
    }
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

int zpar__cmd_relay (int argc, char **argv)
{
    zpar_relay_opts_t o = {0};
    int keep = 0;
    const zpar_cli_opt_t opts[] = {
        ZPAR_CLI_ENGINE_CONN_OPT,
        {"dir", 0, "DIR", "bind the engines' endpoints on ipc in DIR (created 0700)", ZPAR_CLI_STR,
         &o.dir},
        {"keep", 0, NULL,
         "run the relay in a child process and start it again\n"
         "when it dies, until SIGTERM/SIGINT (zpar cluster start)",
         ZPAR_CLI_FLAG, &keep},
        ZPAR_CLI_PEER_INTERFACE_OPT (&o.interface),
        ZPAR_CLI_VERBOSE_OPT ("more log output (default level: info)"),
        zpar__cli_help_opt,
        {NULL},
    };
    const zpar_cli_spec_t spec = {
        "Usage: zpar relay --dir DIR [OPTIONS]\n"
        "\n"
        "Run a node's relay in the foreground: connect to the controller once and\n"
        "offer its engine endpoints on ipc in DIR to the engines of this node\n"
        "('zpar engine --relay DIR'), until SIGTERM/SIGINT.  'zpar run' starts one\n"
        "per node by itself (--relay), 'zpar cluster start' one for its engines\n"
        "from 256 of them (--relay).\n",
        opts, "\n" ZPAR_CLI_EXIT_HELP, .no_args = 1};
    zpar_error_t err = {{0}};
    char path[PATH_MAX];
    int rc;

    if (zpar__cli_parse (&spec, argc, argv, &rc) < 0)
        return rc;
    if (!o.dir)
        return zpar__cli_usage ("give --dir DIR");
    if (zpar__engine_connection_file (zpar__cli.connection_file, path, sizeof (path), &err) < 0) {
        zpar__cli_error ("%s", err.text);
        return errno == ENOENT ? ZPAR_EXIT_UNREACHABLE : ZPAR_EXIT_USAGE;
    }
    o.connection_file = path;
    zpar__log_set_role ("relay");
    zpar__cli_set_log_level (ZPAR_LOG_INFO);
    if (keep) {
        /* the relay in a child tied to us, started again when it dies
         * (relay_node.h); SIGTERM/SIGINT are blocked (main.c) */
        zpar_conninfo_t ci;
        zpar_relay_child_t *c;
        sigset_t set;
        int sig = 0;
        if (zpar__conn_read (path, &ci, &err) < 0 ||
            !(c = zpar__relay_child_start (&ci, o.dir, o.interface, &err))) {
            zpar__cli_error ("%s", err.text[0] ? err.text : strerror (errno));
            return ZPAR_EXIT_FAILED;
        }
        sigemptyset (&set);
        sigaddset (&set, SIGTERM);
        sigaddset (&set, SIGINT);
        while (sigwait (&set, &sig) != 0)
            ;
        zpar__info ("signal %d: stopping the relay", sig);
        zpar__relay_child_stop (c);
        return ZPAR_EXIT_OK;
    }
    if (zpar__relay_run (&o, &err) < 0) {
        zpar__cli_error ("%s", err.text[0] ? err.text : strerror (errno));
        return ZPAR_EXIT_FAILED;
    }
    return ZPAR_EXIT_OK;
}
