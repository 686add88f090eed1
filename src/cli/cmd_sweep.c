/* cmd_sweep.c - `zpar sweep run|status|report`: parameter sweeps from the
 * command line (doc/sweeps.md, "Commands"). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_sweep.h"
#include "sweep/report.h"
#include "sweep/runner.h"

static const char sweep_help[] =
    "Usage: zpar sweep run FILE [-n N] [--journal PATH] [--retry-failed]\n"
    "                     [--connection-file F] [--window W] [--quiet]\n"
    "       zpar sweep status FILE [--journal PATH] [--json]\n"
    "       zpar sweep report FILE [--journal PATH] [--format csv|json] [-o OUT]\n"
    "\n"
    "Run a parameter sweep described by a YAML file (zpar-sweep(5)), show how far\n"
    "it got, or write its results table.  Every run resumes: points whose success\n"
    "the journal records are not run again.\n";

static const char run_help[] =
    "Usage: zpar sweep run FILE [options]\n"
    "\n"
    "Run every point of the sweep FILE that has not succeeded yet, on the cluster\n"
    "found the usual way (--connection-file, $ZPAR_CONNECTION_FILE, the running\n"
    "local or job cluster), or else on a private local cluster started for this\n"
    "run and stopped at its end.\n"
    "\n"
    "  -n, --engines N         engines of the private cluster (default: online cores)\n"
    "  -j, --journal PATH      journal (default: FILE.journal.sqlite)\n"
    "  -r, --retry-failed      also run points recorded as failed\n"
    "      --connection-file F the cluster to use\n"
    "  -w, --window W          tasks outstanding at most (default max(64, 8 x engines))\n"
    "  -q, --quiet             print only errors\n"
    "  -v, --verbose           more log output\n"
    "  -h, --help              this text\n"
    "\n"
    "Exit status: 0 every point succeeded, 1 some point failed (or did not run),\n"
    "2 bad sweep file or usage, 3 no cluster reachable, 128+N interrupted by signal N.\n";

static const char status_help[] =
    "Usage: zpar sweep status FILE [--journal PATH] [--json]\n"
    "\n"
    "Count the sweep's points by state (succeeded, failed, running, pending, not\n"
    "run) from its journal, and list the points the journal has that the sweep\n"
    "file no longer has (removed).\n"
    "\n"
    "  -j, --journal PATH   journal (default: FILE.journal.sqlite)\n"
    "      --json           one JSON object\n"
    "\n" ZPAR_CLI_EXIT_HELP;

static const char report_help[] =
    "Usage: zpar sweep report FILE [--journal PATH] [--format csv|json] [-o OUT]\n"
    "\n"
    "Write one row per point of the sweep (index, parameters, state, exit_code,\n"
    "signal, attempts, wall_s, max_rss_kb, engine, host, stdout, stderr).\n"
    "\n"
    "  -j, --journal PATH    journal (default: FILE.journal.sqlite)\n"
    "  -f, --format FMT      csv (default) or json\n"
    "  -o, --output OUT      file to write (default: standard output)\n"
    "\n" ZPAR_CLI_EXIT_HELP;

enum {
    OPT_JSON = ZPAR_CLI_OPT_FIRST_LOCAL,
};

/* Errors of the sweep file already read "FILE:LINE:COLUMN: message". */
static int report_error (int rc, const zpar_error_t *err)
{
    if (rc != 0 && err->text[0])
        fprintf (stderr, "zpar: %s\n", err->text);
    return rc;
}

/* The one FILE argument after the options. */
static const char *file_arg (int argc, char **argv, int *rc)
{
    if (optind >= argc) {
        *rc = zpar__cli_usage ("no sweep file given");
        return NULL;
    }
    if (optind + 1 < argc) {
        *rc = zpar__cli_usage ("unexpected argument '%s'", argv[optind + 1]);
        return NULL;
    }
    return argv[optind];
}

static int cmd_run (int argc, char **argv)
{
    static const struct option opts[] = {
        {"engines", required_argument, NULL, 'n'}, {"journal", required_argument, NULL, 'j'},
        {"retry-failed", no_argument, NULL, 'r'},  {"window", required_argument, NULL, 'w'},
        {"quiet", no_argument, NULL, 'q'},         ZPAR_CLI_COMMON_OPTS,
    };
    zpar_sweep_run_opts_t ro;
    zpar_error_t err = {{0}};
    unsigned long v;
    const char *file;
    int c, rc;

    memset (&ro, 0, sizeof (ro));
    ro.private_cluster = 1;
    ro.handle_signals = 1;
    optind = 0;
    while ((c = getopt_long (argc, argv, "n:j:rw:q" ZPAR_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (zpar__cli_parse_uint (optarg, 100000, &v, &err) < 0 || v == 0)
                return zpar__cli_usage ("-n %s: %s", optarg,
                                        err.text[0] ? err.text : "need at least 1 engine");
            ro.engines = (unsigned)v;
            break;
        case 'j':
            ro.journal_path = optarg;
            break;
        case 'r':
            ro.retry_failed = 1;
            break;
        case 'w':
            if (zpar__cli_parse_uint (optarg, 10000000, &v, &err) < 0 || v == 0)
                return zpar__cli_usage ("--window %s: %s", optarg,
                                        err.text[0] ? err.text : "must be at least 1");
            ro.window = (unsigned)v;
            break;
        case 'q':
            ro.quiet = 1;
            break;
        default:
            if ((rc = zpar__cli_common_opt (c, run_help)) >= 0)
                return rc;
        }
    }
    if (!(file = file_arg (argc, argv, &rc)))
        return rc;
    zpar__cli_set_log_level (0);
    ro.sweep_path = file;
    ro.connection_file = zpar__cli.connection_file;
    rc = zpar__sweep_run (&ro, &err);
    if (rc == ZPAR_SWEEP_EXIT_FAILED && !ro.quiet && strstr (err.text, "did not succeed"))
        return rc; /* the summary said it all */
    if (rc > 128)
        return rc;
    return report_error (rc, &err);
}

static int cmd_status (int argc, char **argv)
{
    zpar__cli_default_signals (); /* only `sweep run` watches signals */
    static const struct option opts[] = {
        {"journal", required_argument, NULL, 'j'},
        {"json", no_argument, NULL, OPT_JSON},
        ZPAR_CLI_COMMON_OPTS,
    };
    const char *journal = NULL, *file;
    zpar_error_t err = {{0}};
    int c, rc, json = 0;

    optind = 0;
    while ((c = getopt_long (argc, argv, "j:" ZPAR_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            journal = optarg;
            break;
        case OPT_JSON:
            json = 1;
            break;
        default:
            if ((rc = zpar__cli_common_opt (c, status_help)) >= 0)
                return rc;
        }
    }
    if (!(file = file_arg (argc, argv, &rc)))
        return rc;
    return report_error (zpar__sweep_status (file, journal, json, stdout, &err), &err);
}

static int cmd_report (int argc, char **argv)
{
    zpar__cli_default_signals (); /* only `sweep run` watches signals */
    static const struct option opts[] = {
        {"journal", required_argument, NULL, 'j'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        ZPAR_CLI_COMMON_OPTS,
    };
    const char *journal = NULL, *out = NULL, *file;
    zpar_report_format_t fmt = ZPAR_REPORT_CSV;
    zpar_error_t err = {{0}};
    int c, rc;

    optind = 0;
    while ((c = getopt_long (argc, argv, "j:f:o:" ZPAR_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            journal = optarg;
            break;
        case 'f':
            if (zpar__report_format_parse (optarg, &fmt, &err) < 0)
                return zpar__cli_usage ("%s", err.text);
            break;
        case 'o':
            out = optarg;
            break;
        default:
            if ((rc = zpar__cli_common_opt (c, report_help)) >= 0)
                return rc;
        }
    }
    if (!(file = file_arg (argc, argv, &rc)))
        return rc;
    return report_error (zpar__sweep_report (file, journal, fmt, out, &err), &err);
}

int zpar__cmd_sweep (int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn) (int, char **);
    } subs[] = {
        {"run", cmd_run},
        {"status", cmd_status},
        {"report", cmd_report},
    };
    if (argc < 2 || !strcmp (argv[1], "--help") || !strcmp (argv[1], "-h")) {
        fputs (sweep_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? ZPAR_EXIT_USAGE : ZPAR_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof (subs) / sizeof (subs[0]); i++)
        if (!strcmp (argv[1], subs[i].name))
            return subs[i].fn (argc - 1, argv + 1);
    return zpar__cli_usage ("unknown sweep command '%s' (run, status or report)", argv[1]);
}
