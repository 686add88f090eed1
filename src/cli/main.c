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
#include "cmd_sweep.h"
#include "conn.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "reactor.h"
#include "sweep/duration.h"
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
    {"run", zpar__cmd_run, "under mpirun/srun: rank 0 controller, other ranks engines", 1},
    {"sweep", zpar__cmd_sweep, "run a parameter sweep; its status and report (zpar-sweep(5))", 1},
};
static const size_t ncommands = sizeof (commands) / sizeof (commands[0]);

static void print_main_help (FILE *f)
{
    fprintf (f, "Usage: zpar [--connection-file FILE] [-v] COMMAND [OPTIONS] [ARGS]\n"
                "       zpar --version | --help | help COMMAND\n"
                "\n"
                "A ZeroMQ task cluster for an HPC allocation or a workstation.\n"
                "\n"
                "Commands:\n");
    for (size_t i = 0; i < ncommands; i++)
        fprintf (f, "  %-11s %s\n", commands[i].name, commands[i].help);
    fprintf (
        f, "\n"
           "Global options (before or after COMMAND):\n"
           "  --connection-file FILE  the cluster's client.json (default: $ZPAR_CONNECTION_FILE,\n"
           "                          else $ZPAR_DIR/job-$SLURM_JOB_ID or $ZPAR_DIR/local)\n"
           "  -v, --verbose           more log output (repeat for debug)\n"
           "  -h, --help              help (for a command: zpar COMMAND --help)\n"
           "  -V, --version           print the version and the libzmq version\n"
           "\n"
           "Environment: ZPAR_DIR (default ~/.zpar; $XDG_RUNTIME_DIR/zpar without HOME),\n"
           "  ZPAR_CONNECTION_FILE, ZPAR_LOG\n"
           "(error|warn|info|debug), ZPAR_CONNECT_TIMEOUT (seconds, default 10).\n"
           "\n" ZPAR_CLI_EXIT_HELP "See zpar(1).\n");
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

int zpar__cli_common_opt (int opt, const char *help_text)
{
    switch (opt) {
    case ZPAR_CLI_OPT_CONN:
        if (!optarg || !*optarg)
            return zpar__cli_usage ("--connection-file needs a file name");
        zpar__cli.connection_file = optarg;
        return -1;
    case ZPAR_CLI_OPT_VERBOSE:
        zpar__cli.verbose++;
        return -1;
    case ZPAR_CLI_OPT_HELP:
        fputs (help_text, stdout);
        return ZPAR_EXIT_OK;
    default:
        /* getopt already said which option it did not understand */
        if (zpar__cli.cmd)
            fprintf (stderr, "Try 'zpar %s --help'.\n", zpar__cli.cmd);
        return ZPAR_EXIT_USAGE;
    }
}

static int level_from_name (const char *s)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (!s || !*s)
        return -2;
    if (isdigit ((unsigned char)s[0]) && !s[1])
        return s[0] - '0' > 3 ? 3 : s[0] - '0';
    for (int i = 0; i < 4; i++)
        if (!strncasecmp (s, names[i], strlen (names[i])))
            return i;
    if (!strcasecmp (s, "none") || !strcasecmp (s, "off") || !strcasecmp (s, "quiet"))
        return -1;
    return -2;
}

void zpar__cli_set_log_level (int base_level)
{
    const char *env = getenv ("ZPAR_LOG");
    int level = base_level;
    if (env && *env) {
        int l = level_from_name (env);
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

/* ------------------------------------------------------------------ parsers */

int zpar__cli_parse_duration (const char *s, double *secs, zpar_error_t *err)
{
    double v;
    size_t len = s ? strlen (s) : 0;
    if (len > 2 && !strcmp (s + len - 2, "ms")) {
        char *end;
        errno = 0;
        v = strtod (s, &end);
        if (errno || end != s + len - 2 || v < 0 || !isdigit ((unsigned char)s[0]))
            goto bad;
        *secs = v / 1000.0;
        return 0;
    }
    if (!s || zpar__duration_parse (s, &v) < 0)
        goto bad;
    *secs = v;
    return 0;
bad:
    return zpar__errnoprintf (err, EINVAL,
                              "'%s' is not a duration: use seconds (30, 2.5) or a number with a "
                              "unit (500ms, 30s, 10m, 2h, 1h30m, 1d)",
                              s ? s : "");
}

int zpar__cli_parse_uint (const char *s, unsigned long max, unsigned long *v, zpar_error_t *err)
{
    char *end;
    unsigned long x;
    if (!s || !isdigit ((unsigned char)s[0]))
        return zpar__errnoprintf (err, EINVAL, "'%s' is not a non-negative integer", s ? s : "");
    errno = 0;
    x = strtoul (s, &end, 10);
    if (*end)
        return zpar__errnoprintf (err, EINVAL, "'%s' is not a non-negative integer", s);
    if (errno == ERANGE || x > max)
        return zpar__errnoprintf (err, ERANGE, "%s is too large (at most %lu)", s, max);
    *v = x;
    return 0;
}

static int cmp_u32 (const void *a, const void *b)
{
    uint32_t x = ((const zpar_engine_id_t *)a)->id, y = ((const zpar_engine_id_t *)b)->id;
    return x < y ? -1 : x > y;
}

int zpar__cli_parse_engines (const char *s, zpar_engine_id_t **ids, size_t *n, zpar_error_t *err)
{
    zpar_engine_id_t *v = NULL;
    size_t cnt = 0, cap = 0, out;
    const char *p = s;
    const unsigned long max = 1ul << 24;

    if (!s || !*s)
        return zpar__errnoprintf (err, EINVAL, "empty engine list: give ids like 1,3-5");
    while (*p) {
        unsigned long a, b;
        char *end;
        if (!isdigit ((unsigned char)*p))
            goto bad;
        errno = 0;
        a = strtoul (p, &end, 10);
        b = a;
        if (*end == '-') {
            p = end + 1;
            if (!isdigit ((unsigned char)*p))
                goto bad;
            b = strtoul (p, &end, 10);
        }
        if (errno || a == 0 || b < a || b > max)
            goto bad;
        if (b - a > 100000)
            goto bad;
        for (unsigned long i = a; i <= b; i++) {
            if (cnt == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                zpar_engine_id_t *nv = realloc (v, ncap * sizeof (*v));
                if (!nv) {
                    free (v);
                    return zpar__errnoprintf (err, ENOMEM, "out of memory");
                }
                v = nv;
                cap = ncap;
            }
            v[cnt++].id = (uint32_t)i;
        }
        p = end;
        if (*p == ',') {
            p++;
            if (!*p)
                goto bad;
        } else if (*p)
            goto bad;
    }
    qsort (v, cnt, sizeof (*v), cmp_u32);
    out = 0;
    for (size_t i = 0; i < cnt; i++)
        if (out == 0 || v[out - 1].id != v[i].id)
            v[out++] = v[i];
    *ids = v;
    *n = out;
    return 0;
bad:
    free (v);
    return zpar__errnoprintf (
        err, EINVAL, "'%s' is not an engine list: use ids from 1 and ranges, like 1,3-5", s);
}

int zpar__cli_parse_ids (char *const *args, int n, zpar_task_id_t **ids, size_t *count,
                         zpar_error_t *err)
{
    zpar_task_id_t *v = NULL;
    size_t cnt = 0, cap = 0;
    for (int i = 0; i < n; i++) {
        char *copy = strdup (args[i]), *save = NULL, *tok;
        if (!copy)
            goto nomem;
        if (!*copy) {
            free (copy);
            free (v);
            return zpar__errnoprintf (err, EINVAL, "empty task id: ids look like 3.17");
        }
        for (tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save)) {
            zpar_task_id_t id;
            if (zpar_task_id_parse (tok, &id) < 0) {
                zpar__errnoprintf (err, EINVAL,
                                   "'%s' is not a task id: ids look like 3.17 (as printed by "
                                   "'zpar submit')",
                                   tok);
                free (copy);
                free (v);
                return -1;
            }
            if (cnt == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                zpar_task_id_t *nv = realloc (v, ncap * sizeof (*v));
                if (!nv) {
                    free (copy);
                    goto nomem;
                }
                v = nv;
                cap = ncap;
            }
            v[cnt++] = id;
        }
        free (copy);
    }
    *ids = v;
    *count = cnt;
    return 0;
nomem:
    free (v);
    return zpar__errnoprintf (err, ENOMEM, "out of memory");
}

/* ------------------------------------------------------------------ time */

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

int zpar__cli_status_exit (zpar_status_t s)
{
    return s == ZPAR_STATUS_OK ? ZPAR_EXIT_OK : ZPAR_EXIT_FAILED;
}

void zpar__cli_result_summary (const zpar_result_t *r, char *buf, size_t size)
{
    char id[32], what[160] = "", where[320] = "";
    const char *err = zpar_result_error (r);
    zpar_status_t st = zpar_result_status (r);
    zpar_engine_id_t e = zpar_result_engine (r);
    const char *host = zpar_result_host (r);

    zpar_task_id_format (zpar_result_id (r), id, sizeof (id));
    switch (st) {
    case ZPAR_STATUS_PENDING:
        snprintf (what, sizeof (what), "not finished yet");
        break;
    case ZPAR_STATUS_OK:
    case ZPAR_STATUS_FAILED:
        if (zpar_result_exit_code (r) >= 0)
            snprintf (what, sizeof (what), "exit %d", zpar_result_exit_code (r));
        else
            snprintf (what, sizeof (what), "%s",
                      st == ZPAR_STATUS_OK ? "returned 0" : "returned non-zero");
        break;
    case ZPAR_STATUS_SIGNALED:
        snprintf (what, sizeof (what), "killed by signal %d (%s)", zpar_result_signal (r),
                  strsignal (zpar_result_signal (r)));
        break;
    case ZPAR_STATUS_TIMEOUT:
        snprintf (what, sizeof (what), "ran past its timeout and was killed");
        break;
    case ZPAR_STATUS_ENGINE_DIED:
        snprintf (what, sizeof (what), "its engine died and no retry was left");
        break;
    case ZPAR_STATUS_ERROR:
        snprintf (what, sizeof (what), "could not run");
        break;
    case ZPAR_STATUS_ABORTED:
        snprintf (what, sizeof (what), "aborted");
        break;
    case ZPAR_STATUS_DEPENDENCY:
        snprintf (what, sizeof (what), "a task it depended on did not succeed");
        break;
    }
    /* the engine's own explanation beats the generic one */
    if (err && *err && st != ZPAR_STATUS_OK && st != ZPAR_STATUS_FAILED &&
        st != ZPAR_STATUS_SIGNALED)
        snprintf (what, sizeof (what), "%s", err);
    if ((st == ZPAR_STATUS_OK || st == ZPAR_STATUS_FAILED || st == ZPAR_STATUS_SIGNALED ||
         st == ZPAR_STATUS_TIMEOUT) &&
        e.id)
        snprintf (where, sizeof (where), ", %.3f s wall, %.3f s cpu, engine %u%s%s%s",
                  zpar_result_wall (r), zpar_result_cpu (r), e.id, host && *host ? " (" : "",
                  host && *host ? host : "", host && *host ? ")" : "");
    else if (e.id)
        snprintf (where, sizeof (where), " (engine %u)", e.id);
    if (zpar_result_attempts (r) > 1 && st != ZPAR_STATUS_PENDING)
        snprintf (where + strlen (where), sizeof (where) - strlen (where), ", %u attempts",
                  zpar_result_attempts (r));
    snprintf (buf, size, "%s %s: %s%s", id, zpar_status_name (st), what, where);
}

void zpar__cli_put_base64 (FILE *f, const void *data, size_t len)
{
    size_t size = sodium_base64_ENCODED_LEN (len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc (size);
    fputc ('"', f);
    if (b64) /* out of memory: an empty string */
        fputs (sodium_bin2base64 (b64, size, data, len, sodium_base64_VARIANT_ORIGINAL), f);
    fputc ('"', f);
    free (b64);
}

static void put_num_or_null (FILE *f, const char *key, long v, int is_null)
{
    fprintf (f, ",\"%s\":", key);
    if (is_null)
        fputs ("null", f);
    else
        fprintf (f, "%ld", v);
}

int zpar__cli_print_result (const zpar_result_t *r, int as_json, FILE *out, FILE *errout)
{
    size_t olen = 0, elen = 0, flen = 0;
    const void *o = zpar_result_stdout (r, &olen);
    const void *e = zpar_result_stderr (r, &elen);
    const void *fo = zpar_result_output (r, &flen);
    const char *host = zpar_result_host (r), *err = zpar_result_error (r);
    int trunc = zpar_result_truncated (r);
    char id[32], line[1024];

    zpar_task_id_format (zpar_result_id (r), id, sizeof (id));
    if (as_json) {
        fputs ("{\"id\":", out);
        zpar__json_put_str (out, id, strlen (id));
        fputs (",\"status\":", out);
        zpar__json_put_str (out, zpar_status_name (zpar_result_status (r)),
                            strlen (zpar_status_name (zpar_result_status (r))));
        put_num_or_null (out, "exit_code", zpar_result_exit_code (r),
                         zpar_result_exit_code (r) < 0);
        put_num_or_null (out, "signal", zpar_result_signal (r), 0);
        fprintf (out, ",\"wall\":%.6f,\"cpu\":%.6f", zpar_result_wall (r), zpar_result_cpu (r));
        put_num_or_null (out, "maxrss_kb", zpar_result_maxrss_kb (r), 0);
        put_num_or_null (out, "engine", (long)zpar_result_engine (r).id,
                         zpar_result_engine (r).id == 0);
        fputs (",\"host\":", out);
        zpar__json_put_str (out, host ? host : "", host ? strlen (host) : 0);
        fprintf (out, ",\"attempts\":%u,\"error\":", zpar_result_attempts (r));
        zpar__json_put_str (out, err ? err : "", err ? strlen (err) : 0);
        fputs (",\"stdout\":", out);
        zpar__json_put_str (out, o ? o : "", o ? olen : 0);
        fputs (",\"stderr\":", out);
        zpar__json_put_str (out, e ? e : "", e ? elen : 0);
        fprintf (out, ",\"stdout_truncated\":%s,\"stderr_truncated\":%s",
                 (trunc & 1) ? "true" : "false", (trunc & 2) ? "true" : "false");
        fputs (",\"output\":", out);
        zpar__cli_put_base64 (out, fo ? fo : "", fo ? flen : 0);
        fputs (",\"output_encoding\":\"base64\"}\n", out);
    } else {
        if (o && olen)
            fwrite (o, 1, olen, out);
        fflush (out);
        if (e && elen)
            fwrite (e, 1, elen, errout);
        if (fo && flen) {
            fwrite (fo, 1, flen, out);
            if (((const char *)fo)[flen - 1] != '\n' && out == stdout && isatty (1))
                fputc ('\n', out);
            fflush (out);
        }
        zpar__cli_result_summary (r, line, sizeof (line));
        fprintf (errout, "%s\n", line);
        if (trunc)
            fprintf (errout,
                     "%s: note: %s%s%s was truncated at the output cap (raise it with "
                     "zpar_task_set_output_cap)\n",
                     id, (trunc & 1) ? "stdout" : "", trunc == 3 ? " and " : "",
                     (trunc & 2) ? "stderr" : "");
    }
    fflush (out);
    return zpar__cli_status_exit (zpar_result_status (r));
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

static int print_version (void)
{
    int maj, min, pat;
    zmq_version (&maj, &min, &pat);
    printf ("zpar %s (libzmq %d.%d.%d, built with %d.%d.%d)\n", PACKAGE_VERSION, maj, min, pat,
            ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH);
    return ZPAR_EXIT_OK;
}

int main (int argc, char **argv)
{
    static const struct option opts[] = {
        {"connection-file", required_argument, NULL, ZPAR_CLI_OPT_CONN},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
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
    opterr = 1;
    while ((c = getopt_long (argc, argv, "+hvV", opts, NULL)) != -1) {
        switch (c) {
        case ZPAR_CLI_OPT_CONN:
            zpar__cli.connection_file = optarg;
            break;
        case 'v':
            zpar__cli.verbose++;
            break;
        case 'h':
            print_main_help (stdout);
            return ZPAR_EXIT_OK;
        case 'V':
            return print_version ();
        default:
            fprintf (stderr, "Try 'zpar --help'.\n");
            return ZPAR_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        print_main_help (stderr);
        return ZPAR_EXIT_USAGE;
    }
    if (!strcmp (argv[optind], "help")) {
        if (optind + 1 >= argc) {
            print_main_help (stdout);
            return ZPAR_EXIT_OK;
        }
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
        return print_version ();
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
