/* cmd_tasks.c - `zpar px`, `zpar submit`, `zpar wait`, `zpar result`. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"

/* ------------------------------------------------------------------ task options */

/* What px and submit read from their command lines. */
typedef struct {
    const char **env; /* "NAME=VALUE" */
    size_t nenv;
    const char *cwd, *function, *input, *targets_arg;
    double timeout;
    int inline_fn, wait, json;
    zpar_engine_id_t *targets;
    size_t ntargets;
    zpar_task_id_t *after;
    size_t nafter;
    unsigned long retries, priority_set;
    long priority;
    zpar_resources_t res; /* --cores ... --ranks-per-node */
    int res_set;
} task_args_t;

static int opt_env (const char *arg, void *dst)
{
    task_args_t *a = dst;
    const char **nv;
    const char *eq = strchr (arg, '=');
    if (!eq || eq == arg)
        return zpar__cli_usage ("--env %s: give NAME=VALUE", arg);
    if (!(nv = realloc (a->env, (a->nenv + 1) * sizeof (*nv))))
        return zpar__cli_usage ("out of memory");
    a->env = nv;
    a->env[a->nenv++] = arg;
    return -1;
}

static int opt_targets (const char *arg, void *dst)
{
    task_args_t *a = dst;
    zpar_error_t err = {{0}};
    free (a->targets);
    a->targets = NULL;
    a->targets_arg = arg;
    if (zpar_engine_list_parse (arg, &a->targets, &a->ntargets, &err) < 0)
        return zpar__cli_usage ("--targets: %s", err.text);
    return -1;
}

static int opt_after (const char *arg, void *dst)
{
    task_args_t *a = dst;
    zpar_error_t err = {{0}};
    if (zpar_task_id_list_parse (arg, &a->after, &a->nafter, &err) < 0)
        return zpar__cli_usage ("--after: %s", err.text);
    return -1;
}

static int opt_priority (const char *arg, void *dst)
{
    task_args_t *a = dst;
    char *end;
    errno = 0;
    a->priority = strtol (arg, &end, 10);
    if (errno || *end || end == arg || a->priority < -1000000 || a->priority > 1000000)
        return zpar__cli_usage ("--priority %s: give an integer (higher runs first)", arg);
    a->priority_set = 1;
    return -1;
}

/* --cores, --gpus, --memory, --ranks, --nodes, --ranks-per-node */
static int opt_res (task_args_t *a, const char *key, const char *arg)
{
    zpar_error_t err = {{0}};
    if (zpar_resources_set (&a->res, key, arg, &err) < 0)
        return zpar__cli_usage ("--%s", err.text);
    a->res_set = 1;
    return -1;
}
#define RES_OPT(fn, key)                                                                           \
    static int fn (const char *arg, void *dst)                                                     \
    {                                                                                              \
        return opt_res (dst, key, arg);                                                            \
    }
RES_OPT (opt_cores, "cores")
RES_OPT (opt_gpus, "gpus")
RES_OPT (opt_memory, "memory")
RES_OPT (opt_ranks, "ranks")
RES_OPT (opt_nodes, "nodes")
RES_OPT (opt_rpn, "ranks-per-node")

static void task_args_free (task_args_t *a)
{
    free (a->env);
    free (a->targets);
    free (a->after);
}

/* The task the command line describes (argv: CMD ARGS, or none with
 * --function).  NULL after printing why, with *rc the exit code. */
static zpar_task_t *make_task (const task_args_t *a, int argc, char **argv, int *rc)
{
    zpar_error_t err = {{0}};
    zpar_task_t *t;
    char cwd[PATH_MAX];

    *rc = ZPAR_EXIT_USAGE;
    if (a->function && argc > 0) {
        zpar__cli_usage ("give either --function LIB:SYMBOL or a command, not both ('%s')",
                         argv[0]);
        return NULL;
    }
    if (!a->function && argc <= 0) {
        zpar__cli_usage ("what should run? give a command (zpar %s -- CMD ARGS) or "
                         "--function LIB.so:SYMBOL",
                         zpar__cli.cmd);
        return NULL;
    }
    if (!a->function && (a->input || a->inline_fn)) {
        zpar__cli_usage ("--input and --inline go with --function LIB.so:SYMBOL");
        return NULL;
    }
    if (a->function) {
        if (!(t = zpar_task_function_spec (a->function, a->input, &err))) {
            zpar__cli_usage ("--function: %s", err.text);
            return NULL;
        }
    } else if (!(t = zpar_task_command ((const char *const *)argv))) {
        zpar__cli_usage ("cannot describe the command: %s", strerror (errno));
        return NULL;
    }
    if (a->inline_fn && zpar_task_set_inline (t, 1) < 0) {
        zpar__cli_usage ("--inline: %s", strerror (errno));
        goto error;
    }
    for (size_t i = 0; i < a->nenv; i++)
        if (zpar_task_putenv (t, a->env[i]) < 0) {
            zpar__cli_usage ("--env %s: not a valid environment variable", a->env[i]);
            goto error;
        }
    /* the default cwd is this directory (as srun does) */
    if (a->cwd && zpar_task_set_cwd (t, a->cwd) < 0) {
        zpar__cli_usage ("--cwd %s: not a valid directory name", a->cwd);
        goto error;
    } else if (!a->cwd && getcwd (cwd, sizeof (cwd)))
        zpar_task_set_cwd (t, cwd);
    if (a->timeout > 0 && zpar_task_set_timeout (t, a->timeout) < 0) {
        zpar__cli_usage ("bad --timeout");
        goto error;
    }
    *rc = ZPAR_EXIT_OK;
    return t;
error:
    zpar_task_destroy (t);
    return NULL;
}

/* The controller stopped answering while we waited (EHOSTDOWN). */
static void lost (const char *what, const zpar_error_t *err)
{
    zpar__cli_error ("lost the controller while waiting for %s (%s): results are kept by the "
                     "controller; fetch them later with 'zpar wait ID' / 'zpar result ID'",
                     what, err->text);
}

/* ------------------------------------------------------------------ px */

typedef struct {
    double timeout;
    int worst;
} px_t;

/* A line of an engine's output (stderr's on stderr), as "[eN] line". */
static void px_output (void *arg, zpar_engine_id_t e, int stream, const void *data, size_t len)
{
    FILE *f = stream == 2 ? stderr : stdout;
    fprintf (f, "[e%u] ", e.id);
    fwrite (data, 1, len, f);
    if (!len || ((const char *)data)[len - 1] != '\n')
        fputc ('\n', f);
    fflush (f);
}

/* An engine finished (r NULL: no result in time): a line for anything but
 * success. */
static void px_done (void *arg, zpar_engine_id_t e, const zpar_result_t *r)
{
    px_t *px = arg;
    zpar_status_t st = r ? zpar_result_status (r) : ZPAR_STATUS_PENDING;
    const char *err = r ? zpar_result_error (r) : "";
    int rc = ZPAR_EXIT_FAILED;

    if (!r) {
        fprintf (stderr, "[e%u] error: no result within %g s\n", e.id, px->timeout);
        rc = ZPAR_EXIT_TIMEOUT;
    } else if (st == ZPAR_STATUS_OK)
        rc = ZPAR_EXIT_OK;
    else if (st == ZPAR_STATUS_FAILED)
        fprintf (stderr, "[e%u] exit status %d\n", e.id, zpar_result_exit_code (r));
    else if (st == ZPAR_STATUS_SIGNALED)
        fprintf (stderr, "[e%u] killed by signal %d (%s)\n", e.id, zpar_result_signal (r),
                 strsignal (zpar_result_signal (r)));
    else if (st == ZPAR_STATUS_TIMEOUT) {
        fprintf (stderr, "[e%u] error: timed out after %g s and was killed\n", e.id, px->timeout);
        rc = ZPAR_EXIT_TIMEOUT;
    } else
        fprintf (stderr, "[e%u] error: %s\n", e.id, err && *err ? err : zpar_status_name (st));
    if (rc == ZPAR_EXIT_TIMEOUT || (rc && px->worst != ZPAR_EXIT_TIMEOUT))
        px->worst = rc;
}

int zpar__cmd_px (int argc, char **argv)
{
    task_args_t a = {0};
    const zpar_cli_opt_t opts[] = {
        {"targets", 't', "LIST", "engines to run on: ids and ranges, like 1,3-5", ZPAR_CLI_CALL, &a,
         .fn = opt_targets},
        {"timeout", 0, "SEC", "kill CMD after SEC (30, 2.5, 10m, ...) and exit 4",
         ZPAR_CLI_DURATION, &a.timeout},
        {"env", 0, "NAME=VALUE", "add to CMD's environment (repeatable)", ZPAR_CLI_CALL, &a,
         .fn = opt_env},
        {"cwd", 0, "DIR", "directory to run CMD in (default: the current one)", ZPAR_CLI_STR,
         &a.cwd},
        {"function", 0, "LIB:SYM",
         "run the function SYM of the shared library LIB on every\n"
         "engine at once (with 'zpar run --mpi' and --inline it gets\n"
         "the engines-only MPI communicator: an MPI kernel)",
         ZPAR_CLI_STR, &a.function},
        {"input", 0, "FILE", "the function's input bytes (- for stdin)", ZPAR_CLI_STR, &a.input},
        {"inline", 0, NULL, "run the function inside the engine process", ZPAR_CLI_FLAG,
         &a.inline_fn},
        zpar__cli_conn_opt,
        zpar__cli_help_opt,
        {NULL},
    };
    const zpar_cli_spec_t spec = {
        "Usage: zpar px [OPTIONS] [--] CMD [ARGS...]\n"
        "       zpar px [OPTIONS] --function LIB.so:SYMBOL [--input FILE] [--inline]\n"
        "\n"
        "Run CMD on every engine (or those of --targets) at once and stream their\n"
        "output, each line prefixed by the engine id: '[e1] text' (stderr lines on\n"
        "stderr).  A failure is reported as '[e2] exit status 3' or '[e2] error: ...'.\n"
        "CMD runs in this directory unless --cwd says otherwise.\n",
        opts,
        "\n" ZPAR_CLI_EXIT_HELP
        "(1: CMD failed on at least one engine; 4: it ran past --timeout.)\n",
        .in_order = 1};
    const zpar_each_ops_t ops = {px_output, px_done};
    zpar_error_t err = {{0}};
    zpar_client_t *c = NULL;
    zpar_task_t *task = NULL;
    px_t px = {0};
    int first, rc;

    if ((first = zpar__cli_parse (&spec, argc, argv, &rc)) < 0)
        goto done;
    if (first >= argc && !a.function) {
        rc = zpar__cli_usage ("what should the engines run? give a command: zpar px -- CMD ARGS");
        goto done;
    }
    zpar__cli_set_log_level (ZPAR_LOG_WARN);
    if (!(task = make_task (&a, argc - first, argv + first, &rc)) || !(c = zpar__cli_connect (&rc)))
        goto done;
    px.timeout = a.timeout;
    /* the engines kill CMD at --timeout; the grace covers the kill and the reply */
    if (zpar_run_each (c, task, a.targets, a.ntargets, a.timeout > 0 ? a.timeout + 5.0 : -1, &ops,
                       &px, &err) == 0)
        rc = px.worst;
    else if (errno == ENOENT || errno == ESRCH) {
        zpar__cli_error ("--targets %s: %s ('zpar status' lists the live ones)", a.targets_arg,
                         err.text);
        rc = ZPAR_EXIT_USAGE;
    } else if (errno == ENODEV) {
        zpar__cli_error ("no engines in this cluster yet: start some ('zpar cluster start -n N' "
                         "or 'zpar engine'), or wait for them to register");
        rc = ZPAR_EXIT_UNREACHABLE;
    } else if (errno == EHOSTDOWN) {
        lost ("the engines", &err);
        rc = ZPAR_EXIT_UNREACHABLE;
    } else {
        zpar__cli_error ("%s", err.text);
        rc = strncmp (err.text, "cannot submit", 13) ? ZPAR_EXIT_UNREACHABLE : ZPAR_EXIT_FAILED;
    }
done:
    task_args_free (&a);
    zpar_task_destroy (task);
    zpar_client_destroy (c);
    return rc;
}

/* ------------------------------------------------------------------ submit */

int zpar__cmd_submit (int argc, char **argv)
{
    task_args_t a = {0};
    const zpar_cli_opt_t opts[] = {
        {"retries", 0, "K", "run again up to K times if it fails or its engine dies", ZPAR_CLI_UINT,
         &a.retries, 0, 1000000},
        {"timeout", 0, "SEC", "kill the task after SEC (30, 2.5, 10m, ...)", ZPAR_CLI_DURATION,
         &a.timeout},
        {"after", 0, "ID,...", "run only after these tasks succeeded (repeatable)", ZPAR_CLI_CALL,
         &a, .fn = opt_after},
        {"targets", 't', "LIST", "engines allowed to run it: ids and ranges, like 1,3-5",
         ZPAR_CLI_CALL, &a, .fn = opt_targets},
        {"priority", 0, "P", "higher runs first (default 0)", ZPAR_CLI_CALL, &a,
         .fn = opt_priority},
        {"cores", 0, "N", "cores it holds, on one node (default 1)", ZPAR_CLI_CALL, &a,
         .fn = opt_cores},
        {"gpus", 0, "N", "GPUs it holds, on the same node", ZPAR_CLI_CALL, &a, .fn = opt_gpus},
        {"memory", 0, "SIZE", "memory it holds there (bytes, or 512M, 4G...); its limit",
         ZPAR_CLI_CALL, &a, .fn = opt_memory},
        {"ranks", 0, "N", "an MPI task of N ranks (cores: per rank)", ZPAR_CLI_CALL, &a,
         .fn = opt_ranks},
        {"nodes", 0, "N", "with --ranks: over N nodes", ZPAR_CLI_CALL, &a, .fn = opt_nodes},
        {"ranks-per-node", 0, "N", "with --ranks: N ranks on each node", ZPAR_CLI_CALL, &a,
         .fn = opt_rpn},
        {"env", 0, "NAME=VALUE", "add to the task's environment (repeatable)", ZPAR_CLI_CALL, &a,
         .fn = opt_env},
        {"cwd", 0, "DIR", "directory to run in (default: the current one)", ZPAR_CLI_STR, &a.cwd},
        {"function", 0, "LIB:SYM", "a function task: SYM of the shared library LIB", ZPAR_CLI_STR,
         &a.function},
        {"input", 0, "FILE", "the function's input bytes (- for stdin)", ZPAR_CLI_STR, &a.input},
        {"inline", 0, NULL, "run the function inside the engine (no child process)", ZPAR_CLI_FLAG,
         &a.inline_fn},
        {"wait", 0, NULL, "wait for the result and print it like 'zpar result'", ZPAR_CLI_FLAG,
         &a.wait},
        {"json", 0, NULL, "with --wait: print the result as JSON", ZPAR_CLI_FLAG, &a.json},
        zpar__cli_conn_opt,
        zpar__cli_help_opt,
        {NULL},
    };
    const zpar_cli_spec_t spec = {
        "Usage: zpar submit [OPTIONS] [--] CMD [ARGS...]\n"
        "       zpar submit [OPTIONS] --function LIB.so:SYMBOL [--input FILE] [--inline]\n"
        "\n"
        "Submit a load-balanced task and print its id (like 3.17) without waiting;\n"
        "follow it with 'zpar wait ID' and 'zpar result ID' (from any terminal).\n"
        "CMD runs in this directory unless --cwd says otherwise.\n",
        opts, "\n" ZPAR_CLI_EXIT_HELP "(With --wait, 1 means the task did not succeed.)\n",
        .in_order = 1};
    zpar_error_t err = {{0}};
    char idbuf[32];
    zpar_client_t *c = NULL;
    zpar_task_t *task = NULL;
    zpar_future_t *f = NULL;
    int first, rc;

    if ((first = zpar__cli_parse (&spec, argc, argv, &rc)) < 0)
        goto done;
    if (a.json && !a.wait) {
        rc = zpar__cli_usage ("--json goes with --wait (or use 'zpar result --json ID')");
        goto done;
    }
    zpar__cli_set_log_level (ZPAR_LOG_WARN);
    if (!(task = make_task (&a, argc - first, argv + first, &rc)))
        goto done;
    rc = ZPAR_EXIT_USAGE;
    if (a.retries && zpar_task_set_retries (task, (unsigned)a.retries) < 0) {
        zpar__cli_usage ("--retries %lu: %s", a.retries, strerror (errno));
        goto done;
    }
    if (a.priority_set && zpar_task_set_priority (task, (int)a.priority) < 0) {
        zpar__cli_usage ("--priority %ld: %s", a.priority, strerror (errno));
        goto done;
    }
    if (a.res_set && zpar_task_set_resources (task, &a.res) < 0) {
        zpar__cli_usage ("--nodes and --ranks-per-node go with --ranks");
        goto done;
    }
    for (size_t i = 0; i < a.nafter; i++)
        if (zpar_task_add_after (task, a.after[i]) < 0) {
            zpar__cli_usage ("--after: %s", strerror (errno));
            goto done;
        }
    for (size_t i = 0; i < a.ntargets; i++)
        if (zpar_task_add_target (task, a.targets[i]) < 0) {
            zpar__cli_usage ("--targets: %s", strerror (errno));
            goto done;
        }
    if (!(c = zpar__cli_connect (&rc)))
        goto done;
    if (!(f = zpar_submit (c, task, &err))) {
        zpar__cli_error ("cannot submit: %s", err.text);
        rc = errno == EINVAL ? ZPAR_EXIT_USAGE : ZPAR_EXIT_UNREACHABLE;
        goto done;
    }
    zpar_task_id_format (zpar_future_id (f), idbuf, sizeof (idbuf));
    /* fire and forget: the id is printed once the controller has recorded
     * the task (a controller that dies before that would lose it: the
     * library submits it again to the restarted one) */
    if (!a.wait && zpar_client_sync (c, -1, &err) < 0) {
        if (errno == EHOSTDOWN)
            lost (idbuf, &err);
        else
            zpar__cli_error ("task %s was sent, but the controller did not confirm it recorded: "
                             "%s",
                             idbuf, err.text);
        rc = ZPAR_EXIT_UNREACHABLE;
        goto done;
    }
    if (!a.json) {
        printf ("%s\n", idbuf);
        fflush (stdout);
    }
    rc = ZPAR_EXIT_OK;
    if (!a.wait)
        goto done;
    if (zpar_future_wait (f, -1, &err) < 0) {
        if (errno == EHOSTDOWN)
            lost (idbuf, &err);
        else
            zpar__cli_error ("waiting for %s: %s", idbuf, err.text);
        rc = ZPAR_EXIT_UNREACHABLE;
        goto done;
    }
    rc = zpar__cli_print_result (zpar_future_result (f), a.json, stdout, stderr);
done:
    zpar_future_destroy (f);
    zpar_task_destroy (task);
    zpar_client_destroy (c);
    task_args_free (&a);
    return rc;
}

/* ------------------------------------------------------------------ wait */

typedef struct {
    int quiet, any_failed, any_missing;
    char *reported;
} wait_t;

static void wait_done (void *arg, size_t i, zpar_task_id_t id, const zpar_result_t *r,
                       const zpar_error_t *err)
{
    wait_t *w = arg;
    char line[1024];
    w->reported[i] = 1;
    if (!r) {
        zpar__cli_error ("%s", err->text);
        w->any_missing = 1;
        return;
    }
    if (!w->quiet) {
        zpar_result_summary (r, line, sizeof (line));
        printf ("%s\n", line);
        fflush (stdout);
    }
    w->any_failed |= zpar_result_status (r) != ZPAR_STATUS_OK;
}

int zpar__cmd_wait (int argc, char **argv)
{
    wait_t w = {0};
    double timeout = -1;
    const zpar_cli_opt_t opts[] = {
        {"timeout", 0, "SEC", "give up after SEC (30, 2.5, 10m, ...); exit 4", ZPAR_CLI_DURATION,
         &timeout},
        {"quiet", 'q', NULL, "print nothing, only set the exit status", ZPAR_CLI_FLAG, &w.quiet},
        zpar__cli_conn_opt,
        zpar__cli_help_opt,
        {NULL},
    };
    const zpar_cli_spec_t spec = {
        "Usage: zpar wait [--timeout SEC] [-q] ID...\n"
        "\n"
        "Wait until the tasks (submitted by any client: ids like 3.17, or 3.17,3.18)\n"
        "have finished, printing one status line each on stdout as they do.\n",
        opts,
        "\n" ZPAR_CLI_EXIT_HELP
        "(0 only if all succeeded; 1 if any did not; 2 if an id is unknown.)\n"};
    zpar_error_t err = {{0}};
    zpar_task_id_t *ids = NULL;
    size_t nids = 0;
    zpar_client_t *c = NULL;
    int first, rc;

    if ((first = zpar__cli_parse (&spec, argc, argv, &rc)) < 0)
        return rc;
    if (first >= argc)
        return zpar__cli_usage ("which tasks? give their ids (as printed by 'zpar submit')");
    for (int i = first; i < argc; i++)
        if (zpar_task_id_list_parse (argv[i], &ids, &nids, &err) < 0) {
            free (ids);
            return zpar__cli_usage ("%s", err.text);
        }
    zpar__cli_set_log_level (ZPAR_LOG_WARN);
    if (!(w.reported = calloc (nids, 1))) {
        zpar__cli_error ("out of memory");
        rc = ZPAR_EXIT_FAILED;
    } else if (!(c = zpar__cli_connect (&rc)))
        ;
    else if (zpar_client_wait_ids (c, ids, nids, timeout, wait_done, &w, &err) == 0)
        rc = w.any_missing ? ZPAR_EXIT_USAGE : w.any_failed ? ZPAR_EXIT_FAILED : ZPAR_EXIT_OK;
    else if (errno == ETIMEDOUT) {
        if (!w.quiet) {
            zpar__cli_error ("timed out after %g s; still not finished:", timeout);
            for (size_t i = 0; i < nids; i++)
                if (!w.reported[i]) {
                    char idbuf[32];
                    zpar_task_id_format (ids[i], idbuf, sizeof (idbuf));
                    fprintf (stderr, "  %s\n", idbuf);
                }
            fprintf (stderr, "(raise --timeout, or see 'zpar status')\n");
        }
        rc = ZPAR_EXIT_TIMEOUT;
    } else {
        if (errno == EHOSTDOWN)
            lost ("the tasks", &err);
        else
            zpar__cli_error ("cannot ask the controller about the tasks: %s", err.text);
        rc = ZPAR_EXIT_UNREACHABLE;
    }
    zpar_client_destroy (c);
    free (w.reported);
    free (ids);
    return rc;
}

/* ------------------------------------------------------------------ result */

int zpar__cmd_result (int argc, char **argv)
{
    int as_json = 0, first, rc;
    const zpar_cli_opt_t opts[] = {
        {"json", 0, NULL,
         "one JSON object on stdout: id, status, exit_code, signal,\n"
         "wall, cpu, maxrss_kb, engine, host, attempts, error,\n"
         "stdout, stderr (JSON strings), output (base64)",
         ZPAR_CLI_FLAG, &as_json},
        zpar__cli_conn_opt,
        zpar__cli_help_opt,
        {NULL},
    };
    const zpar_cli_spec_t spec = {
        "Usage: zpar result [--json] ID\n"
        "\n"
        "Print a task's stdout (on stdout), stderr (on stderr) and a status line (on\n"
        "stderr), for a task submitted by any client.  A function task's output is\n"
        "printed on stdout.\n",
        opts,
        "\n" ZPAR_CLI_EXIT_HELP "(0 the task succeeded; 1 it failed or is not finished; 2 no such "
        "task.)\n"};
    zpar_error_t err = {{0}};
    zpar_task_id_t id;
    zpar_client_t *c;
    zpar_result_t *r;

    if ((first = zpar__cli_parse (&spec, argc, argv, &rc)) < 0)
        return rc;
    if (first >= argc)
        return zpar__cli_usage ("which task? give its id (as printed by 'zpar submit')");
    if (first + 1 < argc)
        return zpar__cli_usage ("one task at a time: 'zpar wait' takes several ids");
    if (zpar_task_id_parse (argv[first], &id) < 0)
        return zpar__cli_usage ("'%s' is not a task id: ids look like 3.17 (as printed by 'zpar "
                                "submit')",
                                argv[first]);
    zpar__cli_set_log_level (ZPAR_LOG_WARN);
    if (!(c = zpar__cli_connect (&rc)))
        return rc;
    /* the library asks about an id it does not know yet for a second */
    if (!(r = zpar_client_fetch_result (c, id, &err))) {
        if (errno == ENOENT) {
            zpar__cli_error ("no task %s in this cluster (ids come from 'zpar submit'; a new "
                             "cluster does not know an earlier one's tasks)",
                             argv[first]);
            rc = ZPAR_EXIT_USAGE;
        } else {
            zpar__cli_error ("cannot ask the controller about %s: %s", argv[first], err.text);
            rc = ZPAR_EXIT_UNREACHABLE;
        }
    } else
        rc = zpar__cli_print_result (r, as_json, stdout, stderr);
    zpar_result_destroy (r);
    zpar_client_destroy (c);
    return rc;
}
