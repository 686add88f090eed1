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
 * Each command describes its options in one table; zpar__cli_parse()
 * builds the getopt_long table from it (plus the global --connection-file,
 * -h/--help and -v/--verbose, accepted by every command) and stores each
 * value where the entry says; zpar__cli_help() prints usage, the option
 * lines (aligned, from the table) and the tail. */
typedef enum {
    ZPAR_CLI_FLAG,     /* no argument: ++*(int *)dst */
    ZPAR_CLI_STR,      /* *(const char **)dst = arg; one of choices if given (else bad) */
    ZPAR_CLI_DURATION, /* *(double *)dst seconds (zpar__duration_parse_text); min: > 0 */
    ZPAR_CLI_UINT,     /* *(unsigned long *)dst in [min, max] */
    ZPAR_CLI_CALL,     /* fn (arg, dst): -1 to go on, else the exit code */
    ZPAR_CLI_HELP,     /* print the help, exit 0 */
} zpar_cli_kind_t;

/* Option tables give only the fields an entry uses (the rest are zero). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

typedef struct {
    const char *name; /* long name, or NULL */
    int shrt;         /* short letter, or 0 */
    const char *arg;  /* argument's name in the help, NULL: takes none */
    const char *help; /* help text; '\n' continues it in the help column */
    zpar_cli_kind_t kind;
    void *dst;
    unsigned long min, max;
    const char *bad; /* usage message when the value is rejected (%s: the value;
                        UINT: then %lu: max); NULL: a generic one */
    const char *const *choices;
    int (*fn) (const char *arg, void *dst);
} zpar_cli_opt_t;

typedef struct {
    const char *usage;          /* text before the options */
    const zpar_cli_opt_t *opts; /* ends with an all-zero entry */
    const char *tail;           /* text after them */
    const char *options_title;  /* NULL: "\nOptions:\n" */
    int in_order;               /* stop at the first operand (commands taking CMD ARGS) */
    int no_args;                /* operands are a usage error */
} zpar_cli_spec_t;

/* The values of --scheme (task scheduler). */
extern const char *const zpar__cli_schemes[];

/* --interface NAME|CIDR: checked (addrpick.h: an interface name or an
 * IPv4 network), then stored in *(const char **)dst. */
int zpar__cli_set_interface (const char *arg, void *dst);

/* --resubmit[=N] (sweep runs in a batch job): no N gives
 * ZPAR_SWEEP_RESUBMIT_DEFAULT, N = 0 gives -1 (never); *(int *)dst. */
int zpar__cli_set_resubmit (const char *arg, void *dst);
#define ZPAR_CLI_RESUBMIT_OPT(dst)                                                                 \
    {                                                                                              \
        "resubmit", 0, "[=N]",                                                                     \
            "in a Slurm/PBS job: when the time is up with points\n"                                \
            "left, submit the next job of the chain (at most N,\n"                                 \
            "default 10; 0: never)",                                                               \
            ZPAR_CLI_CALL, (dst), .fn = zpar__cli_set_resubmit                                     \
    }

/* The global options as help lines, for the tables that show them. */
int zpar__cli_set_conn (const char *arg, void *dst);
extern const zpar_cli_opt_t zpar__cli_conn_opt; /* --connection-file F */
extern const zpar_cli_opt_t zpar__cli_help_opt; /* -h, --help */
/* The engine side's --connection-file (engine.json) and --interface
 * (stored in *dst), shared by zpar engine and zpar relay. */
#define ZPAR_CLI_ENGINE_CONN_OPT                                                                   \
    {                                                                                              \
        "connection-file", 0, "FILE",                                                              \
            "the controller's engine.json (default: engine.json in\n"                              \
            "$ZPAR_DIR/job-$SLURM_JOB_ID or $ZPAR_DIR/local)",                                     \
            ZPAR_CLI_CALL, .fn = zpar__cli_set_conn                                                \
    }
#define ZPAR_CLI_PEER_INTERFACE_OPT(dst)                                                           \
    {                                                                                              \
        "interface", 0, "NAME|CIDR",                                                               \
            "reach the controller by its address on the subnet of\n"                               \
            "this interface, or in this network (default:\n"                                       \
            "$ZPAR_INTERFACE, else a shared subnet or a route)",                                   \
            ZPAR_CLI_CALL, (dst), .fn = zpar__cli_set_interface                                    \
    }

#define ZPAR_CLI_VERBOSE_OPT(text)                                                                 \
    {                                                                                              \
        "verbose", 'v', NULL, text, ZPAR_CLI_FLAG, &zpar__cli.verbose                              \
    }

/* Parse argv (argv[0] is the command).  Returns the index of the first
 * operand, or -1 with *rc the exit code to return at once (0 after --help,
 * 2 after a usage error, which it has printed). */
int zpar__cli_parse (const zpar_cli_spec_t *spec, int argc, char **argv, int *rc);

/* The command's help text on f. */
void zpar__cli_help (const zpar_cli_spec_t *spec, FILE *f);

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

/* ---------------------------------------------------------------- cluster access */

/* Connect to the cluster (global --connection-file, $ZPAR_CONNECTION_FILE,
 * else this job's / the local cluster's client.json).  On failure prints
 * what went wrong and how to fix it, stores the exit code in *rc (3 when
 * no cluster is found or it does not answer, 2 for a bad file) and returns
 * NULL.  A connection file naming a controller pid on this host that no
 * longer exists fails at once instead of waiting for the connect timeout. */
zpar_client_t *zpar__cli_connect (int *rc);

/* Print a result the way `zpar result` does: its stdout to out, its stderr
 * to errout and the summary line to errout (as_json: one JSON object on
 * out instead).  Returns the exit code for the result's status. */
int zpar__cli_print_result (const zpar_result_t *r, int as_json, FILE *out, FILE *errout);

/* ---------------------------------------------------------------- subcommands */
int zpar__cmd_controller (int argc, char **argv);
int zpar__cmd_engine (int argc, char **argv);
int zpar__cmd_relay (int argc, char **argv);
int zpar__cmd_cluster (int argc, char **argv);
int zpar__cmd_stop (int argc, char **argv);
int zpar__cmd_px (int argc, char **argv);
int zpar__cmd_submit (int argc, char **argv);
int zpar__cmd_wait (int argc, char **argv);
int zpar__cmd_result (int argc, char **argv);
int zpar__cmd_status (int argc, char **argv);
int zpar__cmd_run (int argc, char **argv);
int zpar__cmd_sweep (int argc, char **argv); /* run, status, report */

#endif
