/* cli.h - the zpar command-line program: shared helpers and the
 * subcommand prototypes (internal to src/cli).
 *
 * Every subcommand is a function `int cmd (int argc, char **argv)` where
 * argv[0] is the subcommand's name; it returns the process exit code (one
 * of zpar_exit_t).  Adding a subcommand is one line in the table in
 * main.c plus its function.
 *
 * Messages for the user go to stderr as "zpar <cmd>: error: <problem>: <fix>"
 * through zpar__cli_error(); results go to stdout.
 */
#ifndef ZPAR__CLI_H
#define ZPAR__CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clock.h"
#include "zpar.h"

/* The documented exit codes of the zpar program (zpar(1), EXIT STATUS). */
typedef enum {
    ZPAR_EXIT_OK = 0,          /* success; every task succeeded */
    ZPAR_EXIT_FAILED = 1,      /* a task failed / is not (yet) ok, or the operation failed */
    ZPAR_EXIT_USAGE = 2,       /* bad command line or input; no such task */
    ZPAR_EXIT_UNREACHABLE = 3, /* no cluster found, or its controller does not answer */
    ZPAR_EXIT_TIMEOUT = 4,     /* a --timeout ran out */
} zpar_exit_t;

/* The exit-code paragraph every --help ends with. */
#define ZPAR_CLI_EXIT_HELP                                                                         \
    "Exit status: 0 success, 1 a task failed (or the operation failed), 2 usage or\n"              \
    "input error, 3 cluster not found / not reachable, 4 timeout.\n"

/* Options given to the program as a whole (before or after the subcommand). */
typedef struct {
    const char *connection_file; /* --connection-file, or NULL */
    int verbose;                 /* number of -v */
    const char *cmd;             /* the subcommand being run, for messages */
} zpar_cli_globals_t;

extern zpar_cli_globals_t zpar__cli;

/* A subcommand. */
typedef int (*zpar_cli_cmd_f) (int argc, char **argv);
typedef struct {
    const char *name;
    zpar_cli_cmd_f fn;
    const char *help; /* one line for `zpar --help` */
    int signals;      /* 1: its loops watch SIGINT/SIGTERM/SIGHUP/SIGCHLD (signalfd): keep
                         them blocked; 0: default dispositions (main() unblocks them) */
} zpar_cli_cmd_t;

/* For commands that watch no signal: unblock SIGINT, SIGTERM, SIGHUP and
 * SIGCHLD and give SIGPIPE its default action again (so that Ctrl-C ends
 * them and `zpar px ... | head` ends quietly). */
void zpar__cli_default_signals (void);

/* ---------------------------------------------------------------- options
 * Every subcommand's getopt_long table ends with ZPAR_CLI_COMMON_OPTS so
 * that the global options are accepted after the subcommand too; the
 * option loop hands those to zpar__cli_common_opt(). */
enum {
    ZPAR_CLI_OPT_CONN = 0x1000,
    ZPAR_CLI_OPT_HELP = 'h',
    ZPAR_CLI_OPT_VERBOSE = 'v',
    ZPAR_CLI_OPT_FIRST_LOCAL = 0x1100, /* subcommands number their long-only options from here */
};
#define ZPAR_CLI_COMMON_OPTS                                                                       \
    {"connection-file", required_argument, NULL, ZPAR_CLI_OPT_CONN},                               \
        {"help", no_argument, NULL, ZPAR_CLI_OPT_HELP},                                            \
        {"verbose", no_argument, NULL, ZPAR_CLI_OPT_VERBOSE},                                      \
    {                                                                                              \
        NULL, 0, NULL, 0                                                                           \
    }
#define ZPAR_CLI_COMMON_SHORT "hv"

/* Handle one of the common options (or an unknown one, '?').  Returns -1
 * when the option was consumed and parsing goes on; otherwise the exit
 * code the subcommand must return at once (0 after printing help_text for
 * --help, 2 after a usage error). */
int zpar__cli_common_opt (int opt, const char *help_text);

/* Apply the log level: ZPAR_LOG (error|warn|info|debug or 0-3), raised by
 * one per -v, starting from base_level. */
void zpar__cli_set_log_level (int base_level);

/* ---------------------------------------------------------------- messages */

/* "zpar <cmd>: error: <text>\n" on stderr. */
void zpar__cli_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
/* "zpar <cmd>: warning: <text>\n" on stderr. */
void zpar__cli_warn (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
/* A usage error: prints it plus "Try 'zpar <cmd> --help'." and returns
 * ZPAR_EXIT_USAGE. */
int zpar__cli_usage (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* ---------------------------------------------------------------- parsers
 * Each returns 0, or -1 with errno EINVAL (ERANGE, ENOMEM) and a one-line
 * explanation in err (which may be NULL); outputs are untouched on error. */

/* A duration in seconds: "30", "2.5", "500ms", "30s", "10m", "1h30m", "1d". */
int zpar__cli_parse_duration (const char *s, double *secs, zpar_error_t *err);

/* A non-negative integer no larger than max. */
int zpar__cli_parse_uint (const char *s, unsigned long max, unsigned long *v, zpar_error_t *err);

/* An engine list "1,3-5" (ids >= 1, ranges inclusive, duplicates dropped,
 * sorted).  *ids is malloc'd (free()). */
int zpar__cli_parse_engines (const char *s, zpar_engine_id_t **ids, size_t *n, zpar_error_t *err);

/* Task ids from n arguments, each "C.S" or a comma-separated list of
 * them ("3.1,3.2").  *ids is malloc'd (free()). */
int zpar__cli_parse_ids (char *const *args, int n, zpar_task_id_t **ids, size_t *count,
                         zpar_error_t *err);

/* ---------------------------------------------------------------- cluster access */

/* Connect to the cluster (global --connection-file, $ZPAR_CONNECTION_FILE,
 * else this job's / the local cluster's client.json).  On failure prints
 * what went wrong and how to fix it, stores the exit code in *rc (3 when
 * no cluster is found or it does not answer, 2 for a bad file) and returns
 * NULL.  A connection file naming a controller pid on this host that no
 * longer exists fails at once instead of waiting for the connect timeout. */
zpar_client_t *zpar__cli_connect (int *rc);

/* Exit code for a final task status: 0 for ok, 1 otherwise. */
int zpar__cli_status_exit (zpar_status_t s);

/* One human line describing a result: "3.17 ok: exit 0, 0.01 s wall on
 * engine 1 (host)" into buf. */
void zpar__cli_result_summary (const zpar_result_t *r, char *buf, size_t size);

/* Print a result the way `zpar result` does: its stdout to out, its stderr
 * to errout and the summary line to errout (as_json: one JSON object on
 * out instead).  Returns the exit code for the result's status. */
int zpar__cli_print_result (const zpar_result_t *r, int as_json, FILE *out, FILE *errout);

/* Base64 (RFC 4648, with padding) of len bytes, as a JSON string on f. */
void zpar__cli_put_base64 (FILE *f, const void *data, size_t len);

/* ---------------------------------------------------------------- subcommands */
int zpar__cmd_controller (int argc, char **argv);
int zpar__cmd_engine (int argc, char **argv);
int zpar__cmd_cluster (int argc, char **argv);
int zpar__cmd_stop (int argc, char **argv);
int zpar__cmd_px (int argc, char **argv);
int zpar__cmd_submit (int argc, char **argv);
int zpar__cmd_wait (int argc, char **argv);
int zpar__cmd_result (int argc, char **argv);
int zpar__cmd_status (int argc, char **argv);
int zpar__cmd_run (int argc, char **argv);

#endif
