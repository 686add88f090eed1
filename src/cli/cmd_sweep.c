/* cmd_sweep.c - `zpar sweep run|status|report`: parameter sweeps from the
 * command line (doc/sweeps.md, "Commands"). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sweep/report.h"
#include "sweep/runner.h"

static const char sweep_help[] =
    "Usage: zpar sweep run FILE [-n N] [--journal PATH] [--retry-failed]\n"
    "                     [--connection-file F] [--window W] [--quiet]\n"
    "                     [--resubmit[=N]]\n"
    "                     [--end-time WHEN] [--margin DURATION]\n"
    "       zpar sweep status FILE [--journal PATH] [--json]\n"
    "       zpar sweep report FILE [--journal PATH] [--format csv|json] [-o OUT]\n"
    "\n"
    "Run a parameter sweep described by a YAML file (zpar-sweep(5)), show how far\n"
    "it got, or write its results table.  Every run resumes: points whose success\n"
    "the journal records are not run again.\n";

/* Errors of the sweep file already read "FILE:LINE:COLUMN: message". */
static int report_error (int rc, const zpar_error_t *err)
{
    if (rc != 0 && err->text[0])
        fprintf (stderr, "zpar: %s\n", err->text);
    return rc;
}

/* The one FILE argument after the options. */
static const char *file_arg (int first, int argc, char **argv, int *rc)
{
    if (first < 0)
        return NULL;
    if (first >= argc) {
        *rc = zpar__cli_usage ("no sweep file given");
        return NULL;
    }
    if (first + 1 < argc) {
        *rc = zpar__cli_usage ("unexpected argument '%s'", argv[first + 1]);
        return NULL;
    }
    return argv[first];
}

#define JOURNAL_OPT(dst)                                                                           \
    {                                                                                              \
        "journal", 'j', "PATH", "journal (default: FILE.journal.sqlite)", ZPAR_CLI_STR, dst        \
    }

static int cmd_run (int argc, char **argv)
{
    zpar_sweep_run_opts_t ro = {.private_cluster = 1, .handle_signals = 1};
    unsigned long engines = 0, window = 0;
    const zpar_cli_opt_t opts[] = {
        {"engines", 'n', "N", "engines of the private cluster (default: online cores)",
         ZPAR_CLI_UINT, &engines, 1, 100000},
        JOURNAL_OPT (&ro.journal_path),
        {"retry-failed", 'r', NULL, "also run points recorded as failed", ZPAR_CLI_FLAG,
         &ro.retry_failed},
        {"connection-file", 0, "F", "the cluster to use", ZPAR_CLI_CALL, .fn = zpar__cli_set_conn},
        {"window", 'w', "W", "tasks outstanding at most (default max(64, 8 x engines))",
         ZPAR_CLI_UINT, &window, 1, 10000000},
        {"quiet", 'q', NULL, "print only errors", ZPAR_CLI_FLAG, &ro.quiet},
        ZPAR_CLI_RESUBMIT_OPT (&ro.resubmit),
        {"end-time", 0, "WHEN",
         "the allocation ends then (+10m, HH:MM, YYYY-MM-DDTHH:MM,\n"
         "@UNIXTIME, none; default: $ZPAR_END_TIME, the Slurm or\n"
         "PBS job's end)",
         ZPAR_CLI_STR, &ro.end_time},
        {"margin", 0, "DURATION",
         "points must be done this long before the end (default\n"
         "10% of the time left, 5 s to 60 s)",
         ZPAR_CLI_DURATION, &ro.margin, 1, .bad = "--margin %s: want a duration like 30 or 2m"},
        ZPAR_CLI_VERBOSE_OPT ("more log output"),
        {"help", 'h', NULL, "this text", ZPAR_CLI_HELP},
        {NULL},
    };
    const zpar_cli_spec_t spec = {
        "Usage: zpar sweep run FILE [options]\n"
        "\n"
        "Run every point of the sweep FILE that has not succeeded yet, on the cluster\n"
        "found the usual way (--connection-file, $ZPAR_CONNECTION_FILE, the running\n"
        "local or job cluster), or else on a private local cluster started for this\n"
        "run and stopped at its end.\n",
        opts,
        "\n"
        "Exit status: 0 every point succeeded, 1 some point failed (or did not run),\n"
        "2 bad sweep file or usage, 3 no cluster reachable, 75 time is up (the end of the\n"
        "allocation came with points left for the next job), 128+N interrupted by signal N.\n"
        "In a batch job with --resubmit, a run that stops for the end of the allocation\n"
        "with points left first submits the next job (zpar-sweep(5), \"resubmit\").\n",
        "\n"};
    zpar_error_t err = {{0}};
    const char *file;
    int rc;

    if (!(file = file_arg (zpar__cli_parse (&spec, argc, argv, &rc), argc, argv, &rc)))
        return rc;
    ro.engines = (unsigned)engines;
    ro.window = (unsigned)window;
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
    const char *journal = NULL, *file;
    int rc, json = 0;
    const zpar_cli_opt_t opts[] = {
        JOURNAL_OPT (&journal),
        {"json", 0, NULL, "one JSON object", ZPAR_CLI_FLAG, &json},
        {NULL},
    };
    const zpar_cli_spec_t spec = {
        "Usage: zpar sweep status FILE [--journal PATH] [--json]\n"
        "\n"
        "Count the sweep's points by state (succeeded, failed, running, pending, not\n"
        "run) from its journal, list the points the journal has that the sweep\n"
        "file no longer has (removed), and the batch jobs that ran it (the chain of\n"
        "jobs: id, start, end, points done, the job that continued it).\n",
        opts, "\n" ZPAR_CLI_EXIT_HELP, "\n"};
    zpar_error_t err = {{0}};

    zpar__cli_default_signals (); /* only `sweep run` watches signals */
    if (!(file = file_arg (zpar__cli_parse (&spec, argc, argv, &rc), argc, argv, &rc)))
        return rc;
    return report_error (zpar__sweep_status (file, journal, json, stdout, &err), &err);
}

static int opt_format (const char *arg, void *dst)
{
    zpar_error_t err = {{0}};
    if (zpar__report_format_parse (arg, dst, &err) < 0)
        return zpar__cli_usage ("%s", err.text);
    return -1;
}

static int cmd_report (int argc, char **argv)
{
    const char *journal = NULL, *out = NULL, *file;
    zpar_report_format_t fmt = ZPAR_REPORT_CSV;
    int rc;
    const zpar_cli_opt_t opts[] = {
        JOURNAL_OPT (&journal),
        {"format", 'f', "FMT", "csv (default) or json", ZPAR_CLI_CALL, &fmt, .fn = opt_format},
        {"output", 'o', "OUT", "file to write (default: standard output)", ZPAR_CLI_STR, &out},
        {NULL},
    };
    const zpar_cli_spec_t spec = {
        "Usage: zpar sweep report FILE [--journal PATH] [--format csv|json] [-o OUT]\n"
        "\n"
        "Write one row per point of the sweep (index, parameters, state, exit_code,\n"
        "signal, attempts, wall_s, max_rss_kb, engine, host, stdout, stderr).\n",
        opts, "\n" ZPAR_CLI_EXIT_HELP, "\n"};
    zpar_error_t err = {{0}};

    zpar__cli_default_signals (); /* only `sweep run` watches signals */
    if (!(file = file_arg (zpar__cli_parse (&spec, argc, argv, &rc), argc, argv, &rc)))
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
