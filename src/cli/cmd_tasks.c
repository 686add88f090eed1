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

/* How long a task id the hub does not know yet is given to appear: a task
 * submitted an instant ago by another client reaches the hub's records
 * through the scheduler's monitor copy, a little after its submission. */
#define ENOENT_GRACE 1.0

/* ------------------------------------------------------------------ shared task options */

typedef struct {
    const char **env; /* "NAME=VALUE" */
    size_t nenv;
    const char *cwd;
    double timeout;
} task_opts_t;

static int add_env (task_opts_t *o, const char *arg)
{
    const char **nv;
    const char *eq = strchr (arg, '=');
    if (!eq || eq == arg)
        return zpar__cli_usage ("--env %s: give NAME=VALUE", arg);
    if (!(nv = realloc (o->env, (o->nenv + 1) * sizeof (*nv))))
        return zpar__cli_usage ("out of memory");
    o->env = nv;
    o->env[o->nenv++] = arg;
    return -1;
}

/* Apply env / cwd / timeout; the default cwd is this directory (as srun does). */
static int apply_opts (zpar_task_t *t, const task_opts_t *o)
{
    char cwd[PATH_MAX];
    for (size_t i = 0; i < o->nenv; i++) {
        const char *eq = strchr (o->env[i], '=');
        char name[256];
        size_t len = (size_t)(eq - o->env[i]);
        if (len >= sizeof (name))
            return zpar__cli_usage ("--env %s: the name is too long", o->env[i]);
        memcpy (name, o->env[i], len);
        name[len] = '\0';
        if (zpar_task_setenv (t, name, eq + 1) < 0)
            return zpar__cli_usage ("--env %s: not a valid environment variable", o->env[i]);
    }
    if (o->cwd) {
        if (zpar_task_set_cwd (t, o->cwd) < 0)
            return zpar__cli_usage ("--cwd %s: not a valid directory name", o->cwd);
    } else if (getcwd (cwd, sizeof (cwd)))
        zpar_task_set_cwd (t, cwd);
    if (o->timeout > 0 && zpar_task_set_timeout (t, o->timeout) < 0)
        return zpar__cli_usage ("bad --timeout");
    return -1;
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
    zpar_engine_id_t e;
    zpar_future_t *f;
    zpar_task_id_t id;
    size_t streamed[2];
    char *buf[2];
    size_t blen[2], bcap[2];
    int done;
} px_slot_t;

typedef struct {
    px_slot_t *v;
    size_t n;
} px_t;

static void px_emit (px_slot_t *s, int k, int flush_partial)
{
    FILE *f = k == 1 ? stderr : stdout;
    size_t start = 0;
    for (size_t i = 0; i < s->blen[k]; i++)
        if (s->buf[k][i] == '\n') {
            fprintf (f, "[e%u] ", s->e.id);
            fwrite (s->buf[k] + start, 1, i - start + 1, f);
            start = i + 1;
        }
    if (flush_partial && start < s->blen[k]) {
        fprintf (f, "[e%u] ", s->e.id);
        fwrite (s->buf[k] + start, 1, s->blen[k] - start, f);
        fputc ('\n', f);
        start = s->blen[k];
    }
    memmove (s->buf[k], s->buf[k] + start, s->blen[k] - start);
    s->blen[k] -= start;
    fflush (f);
}

static void px_append (px_slot_t *s, int k, const void *data, size_t len)
{
    if (s->blen[k] + len > s->bcap[k]) {
        size_t ncap = (s->blen[k] + len) * 2 + 64;
        char *nb = realloc (s->buf[k], ncap);
        if (!nb)
            return; /* drop: out of memory */
        s->buf[k] = nb;
        s->bcap[k] = ncap;
    }
    memcpy (s->buf[k] + s->blen[k], data, len);
    s->blen[k] += len;
    s->streamed[k] += len;
    px_emit (s, k, 0);
}

static void px_on_output (void *arg, zpar_engine_id_t engine, zpar_task_id_t task, int stream,
                          const void *data, size_t len)
{
    px_t *px = arg;
    (void)engine;
    if (stream != 1 && stream != 2)
        return;
    for (size_t i = 0; i < px->n; i++)
        if (px->v[i].id.id == task.id) {
            if (!px->v[i].done)
                px_append (&px->v[i], stream - 1, data, len);
            return;
        }
}

/* A slot's result arrived: print what streaming missed, the rest of the
 * partial lines, and a line for anything but success. */
static int px_finish (px_slot_t *s, double timeout)
{
    const zpar_result_t *r = zpar_future_result (s->f);
    zpar_status_t st = zpar_result_status (r);
    const char *err = zpar_result_error (r);
    for (int k = 0; k < 2; k++) {
        size_t len = 0;
        const char *data = k == 0 ? zpar_result_stdout (r, &len) : zpar_result_stderr (r, &len);
        if (data && len > s->streamed[k] && !(zpar_result_truncated (r) & (1 << k)))
            px_append (s, k, data + s->streamed[k], len - s->streamed[k]);
        px_emit (s, k, 1);
    }
    {
        /* a function task's output, line by line like stdout */
        size_t len = 0;
        const char *out = zpar_result_output (r, &len);
        if (out && len) {
            px_append (s, 0, out, len);
            px_emit (s, 0, 1);
        }
    }
    s->done = 1;
    fflush (stdout);
    switch (st) {
    case ZPAR_STATUS_OK:
        return ZPAR_EXIT_OK;
    case ZPAR_STATUS_FAILED:
        fprintf (stderr, "[e%u] exit status %d\n", s->e.id, zpar_result_exit_code (r));
        return ZPAR_EXIT_FAILED;
    case ZPAR_STATUS_SIGNALED:
        fprintf (stderr, "[e%u] killed by signal %d (%s)\n", s->e.id, zpar_result_signal (r),
                 strsignal (zpar_result_signal (r)));
        return ZPAR_EXIT_FAILED;
    case ZPAR_STATUS_TIMEOUT:
        fprintf (stderr, "[e%u] error: timed out after %g s and was killed\n", s->e.id, timeout);
        return ZPAR_EXIT_TIMEOUT;
    default:
        fprintf (stderr, "[e%u] error: %s\n", s->e.id, err && *err ? err : zpar_status_name (st));
        return ZPAR_EXIT_FAILED;
    }
}

static const char px_help[] =
    "Usage: zpar px [OPTIONS] [--] CMD [ARGS...]\n"
    "       zpar px [OPTIONS] --function LIB.so:SYMBOL [--input FILE] [--inline]\n"
    "\n"
    "Run CMD on every engine (or those of --targets) at once and stream their\n"
    "output, each line prefixed by the engine id: '[e1] text' (stderr lines on\n"
    "stderr).  A failure is reported as '[e2] exit status 3' or '[e2] error: ...'.\n"
    "CMD runs in this directory unless --cwd says otherwise.\n"
    "\n"
    "Options:\n"
    "  -t, --targets LIST   engines to run on: ids and ranges, like 1,3-5\n"
    "  --timeout SEC        kill CMD after SEC (30, 2.5, 10m, ...) and exit 4\n"
    "  --env NAME=VALUE     add to CMD's environment (repeatable)\n"
    "  --cwd DIR            directory to run CMD in (default: the current one)\n"
    "  --function LIB:SYM   run the function SYM of the shared library LIB on every\n"
    "                       engine at once (with 'zpar run --mpi' and --inline it gets\n"
    "                       the engines-only MPI communicator: an MPI kernel)\n"
    "  --input FILE         the function's input bytes (- for stdin)\n"
    "  --inline             run the function inside the engine process\n"
    "  --connection-file F  the cluster's client.json\n"
    "  -h, --help           this help\n"
    "\n" ZPAR_CLI_EXIT_HELP "(1: CMD failed on at least one engine; 4: it ran past --timeout.)\n";

static int read_input (const char *path, char **data, size_t *len);

/* Describe a function task from "LIB.so:SYMBOL" (a library path is made
 * absolute: the engine runs elsewhere).  -1 on success, else the exit code. */
static int function_task (const char *function, const char *input, int inline_fn,
                          zpar_task_t **task)
{
    const char *colon = strrchr (function, ':');
    size_t len = colon ? (size_t)(colon - function) : 0;
    char lib[PATH_MAX], *indata = NULL;
    size_t inlen = 0;
    if (!colon || !len || !colon[1] || len >= sizeof (lib))
        return zpar__cli_usage ("--function %s: give LIB.so:SYMBOL, e.g. ./libwork.so:square",
                                function);
    memcpy (lib, function, len);
    lib[len] = '\0';
    if (strchr (lib, '/')) {
        char abs[PATH_MAX];
        if (!realpath (lib, abs))
            return zpar__cli_usage ("--function: cannot find the library %s: %s", lib,
                                    strerror (errno));
        snprintf (lib, sizeof (lib), "%s", abs);
    }
    if (input && read_input (input, &indata, &inlen) < 0)
        return zpar__cli_usage ("--input %s: %s", input, strerror (errno));
    *task = zpar_task_function (lib, colon + 1, indata, inlen);
    free (indata);
    if (!*task)
        return zpar__cli_usage ("cannot describe the function task: %s", strerror (errno));
    if (inline_fn && zpar_task_set_inline (*task, 1) < 0)
        return zpar__cli_usage ("--inline: %s", strerror (errno));
    return -1;
}

int zpar__cmd_px (int argc, char **argv)
{
    enum { O_TMO = ZPAR_CLI_OPT_FIRST_LOCAL, O_ENV, O_CWD, O_FUNC, O_INPUT, O_INLINE };
    static const struct option opts[] = {
        {"targets", required_argument, NULL, 't'},     {"timeout", required_argument, NULL, O_TMO},
        {"env", required_argument, NULL, O_ENV},       {"cwd", required_argument, NULL, O_CWD},
        {"function", required_argument, NULL, O_FUNC}, {"input", required_argument, NULL, O_INPUT},
        {"inline", no_argument, NULL, O_INLINE},       ZPAR_CLI_COMMON_OPTS,
    };
    zpar_error_t err = {{0}};
    task_opts_t to = {0};
    zpar_engine_id_t *targets = NULL;
    zpar_engine_info_t *info = NULL;
    size_t ntargets = 0, ninfo = 0;
    const char *targets_arg = NULL;
    zpar_client_t *c = NULL;
    zpar_task_t *task = NULL;
    px_t px = {0};
    const char *function = NULL, *input = NULL;
    int inline_fn = 0;
    int ch, rc = ZPAR_EXIT_OK, worst = ZPAR_EXIT_OK;
    double deadline;

    while ((ch = getopt_long (argc, argv, "+t:" ZPAR_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        switch (ch) {
        case 't':
            targets_arg = optarg;
            if (zpar__cli_parse_engines (optarg, &targets, &ntargets, &err) < 0)
                return zpar__cli_usage ("--targets: %s", err.text);
            break;
        case O_TMO:
            if (zpar__cli_parse_duration (optarg, &to.timeout, &err) < 0)
                return zpar__cli_usage ("--timeout: %s", err.text);
            break;
        case O_ENV:
            if ((rc = add_env (&to, optarg)) >= 0)
                return rc;
            break;
        case O_CWD:
            to.cwd = optarg;
            break;
        case O_FUNC:
            function = optarg;
            break;
        case O_INPUT:
            input = optarg;
            break;
        case O_INLINE:
            inline_fn = 1;
            break;
        default:
            if ((rc = zpar__cli_common_opt (ch, px_help)) >= 0)
                return rc;
        }
    }
    rc = ZPAR_EXIT_OK;
    if (optind >= argc && !function) {
        free (targets);
        return zpar__cli_usage ("what should the engines run? give a command: zpar px -- CMD ARGS");
    }
    if (function && optind < argc) {
        free (targets);
        return zpar__cli_usage ("give either --function LIB:SYMBOL or a command, not both");
    }
    zpar__cli_set_log_level (ZPAR_LOG_WARN);
    if (function) {
        if ((rc = function_task (function, input, inline_fn, &task)) >= 0)
            goto done;
        rc = ZPAR_EXIT_OK;
    } else if (!(task = zpar_task_command ((const char *const *)argv + optind))) {
        rc = zpar__cli_usage ("cannot describe the command: %s", strerror (errno));
        goto done;
    }
    if ((rc = apply_opts (task, &to)) >= 0)
        goto done;
    rc = ZPAR_EXIT_OK;
    if (!(c = zpar__cli_connect (&rc)))
        goto done;
    if (zpar_client_engines (c, &info, &ninfo, &err) < 0) {
        zpar__cli_error ("cannot list the engines: %s", err.text);
        rc = ZPAR_EXIT_UNREACHABLE;
        goto done;
    }
    if (!(px.v = calloc (ninfo + ntargets + 1, sizeof (*px.v)))) {
        zpar__cli_error ("out of memory");
        rc = ZPAR_EXIT_FAILED;
        goto done;
    }
    if (targets) {
        for (size_t i = 0; i < ntargets; i++) {
            size_t j;
            for (j = 0; j < ninfo && info[j].id.id != targets[i].id; j++)
                ;
            if (j == ninfo) {
                zpar__cli_error ("--targets %s: there is no engine %u in this cluster (%zu "
                                 "engine(s); 'zpar status' lists them)",
                                 targets_arg, targets[i].id, ninfo);
                rc = ZPAR_EXIT_USAGE;
                goto done;
            }
            if (!strcmp (info[j].state, "dead")) {
                zpar__cli_error ("--targets %s: engine %u is dead ('zpar status' lists the live "
                                 "ones)",
                                 targets_arg, targets[i].id);
                rc = ZPAR_EXIT_USAGE;
                goto done;
            }
            px.v[px.n++].e = targets[i];
        }
    } else {
        for (size_t j = 0; j < ninfo; j++)
            if (strcmp (info[j].state, "dead"))
                px.v[px.n++].e = info[j].id;
    }
    if (px.n == 0) {
        zpar__cli_error ("no engines in this cluster yet: start some ('zpar cluster start -n N' "
                         "or 'zpar engine'), or wait for them to register");
        rc = ZPAR_EXIT_UNREACHABLE;
        goto done;
    }
    zpar_client_on_output (c, px_on_output, &px, 1);
    for (size_t i = 0; i < px.n; i++) {
        if (!(px.v[i].f = zpar_submit_to (c, px.v[i].e, task, &err))) {
            zpar__cli_error ("cannot submit to engine %u: %s", px.v[i].e.id, err.text);
            rc = ZPAR_EXIT_FAILED;
            px.n = i;
            goto done;
        }
        px.v[i].id = zpar_future_id (px.v[i].f);
    }
    /* the engines kill CMD at --timeout; the grace covers the kill and the reply */
    deadline = to.timeout > 0 ? zpar__mono_s () + to.timeout + 5.0 : -1;
    for (;;) {
        size_t left = 0;
        double wait = 0.25;
        for (size_t i = 0; i < px.n; i++) {
            if (px.v[i].done)
                continue;
            if (zpar_future_done (px.v[i].f)) {
                int r = px_finish (&px.v[i], to.timeout);
                if (r == ZPAR_EXIT_TIMEOUT || (r && worst != ZPAR_EXIT_TIMEOUT))
                    worst = r;
            } else
                left++;
        }
        if (!left)
            break;
        if (deadline > 0) {
            double rem = deadline - zpar__mono_s ();
            if (rem <= 0) {
                for (size_t i = 0; i < px.n; i++)
                    if (!px.v[i].done) {
                        for (int k = 0; k < 2; k++)
                            px_emit (&px.v[i], k, 1);
                        fprintf (stderr, "[e%u] error: no result within %g s\n", px.v[i].e.id,
                                 to.timeout);
                    }
                worst = ZPAR_EXIT_TIMEOUT;
                break;
            }
            if (rem < wait)
                wait = rem;
        }
        if (zpar_client_poll (c, wait, &err) < 0) {
            if (errno == EHOSTDOWN)
                lost ("the engines", &err);
            else
                zpar__cli_error ("lost the cluster: %s", err.text);
            worst = ZPAR_EXIT_UNREACHABLE;
            break;
        }
    }
    rc = worst;
done:
    for (size_t i = 0; i < px.n; i++) {
        zpar_future_destroy (px.v[i].f);
        free (px.v[i].buf[0]);
        free (px.v[i].buf[1]);
    }
    free (px.v);
    free (info);
    free (targets);
    free (to.env);
    zpar_task_destroy (task);
    zpar_client_destroy (c);
    return rc;
}

/* ------------------------------------------------------------------ submit */

static int read_input (const char *path, char **data, size_t *len)
{
    FILE *f = strcmp (path, "-") ? fopen (path, "rb") : stdin;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (!f)
        return -1;
    for (;;) {
        size_t got;
        if (n == cap) {
            char *nb = realloc (buf, cap ? cap * 2 : 65536);
            if (!nb) {
                free (buf);
                if (f != stdin)
                    fclose (f);
                errno = ENOMEM;
                return -1;
            }
            buf = nb;
            cap = cap ? cap * 2 : 65536;
        }
        got = fread (buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror (f)) {
        int e = errno;
        free (buf);
        if (f != stdin)
            fclose (f);
        errno = e ? e : EIO;
        return -1;
    }
    if (f != stdin)
        fclose (f);
    *data = buf;
    *len = n;
    return 0;
}

static const char submit_help[] =
    "Usage: zpar submit [OPTIONS] [--] CMD [ARGS...]\n"
    "       zpar submit [OPTIONS] --function LIB.so:SYMBOL [--input FILE] [--inline]\n"
    "\n"
    "Submit a load-balanced task and print its id (like 3.17) without waiting;\n"
    "follow it with 'zpar wait ID' and 'zpar result ID' (from any terminal).\n"
    "CMD runs in this directory unless --cwd says otherwise.\n"
    "\n"
    "Options:\n"
    "  --retries K          run again up to K times if it fails or its engine dies\n"
    "  --timeout SEC        kill the task after SEC (30, 2.5, 10m, ...)\n"
    "  --after ID,...       run only after these tasks succeeded (repeatable)\n"
    "  -t, --targets LIST   engines allowed to run it: ids and ranges, like 1,3-5\n"
    "  --priority P         higher runs first (default 0)\n"
    "  --env NAME=VALUE     add to the task's environment (repeatable)\n"
    "  --cwd DIR            directory to run in (default: the current one)\n"
    "  --function LIB:SYM   a function task: SYM of the shared library LIB\n"
    "  --input FILE         the function's input bytes (- for stdin)\n"
    "  --inline             run the function inside the engine (no child process)\n"
    "  --wait               wait for the result and print it like 'zpar result'\n"
    "  --json               with --wait: print the result as JSON\n"
    "  --connection-file F  the cluster's client.json\n"
    "  -h, --help           this help\n"
    "\n" ZPAR_CLI_EXIT_HELP "(With --wait, 1 means the task did not succeed.)\n";

int zpar__cmd_submit (int argc, char **argv)
{
    enum {
        O_RETRIES = ZPAR_CLI_OPT_FIRST_LOCAL,
        O_TMO,
        O_AFTER,
        O_PRIO,
        O_ENV,
        O_CWD,
        O_FUNC,
        O_INPUT,
        O_INLINE,
        O_WAIT,
        O_JSON
    };
    static const struct option opts[] = {
        {"retries", required_argument, NULL, O_RETRIES},
        {"timeout", required_argument, NULL, O_TMO},
        {"after", required_argument, NULL, O_AFTER},
        {"targets", required_argument, NULL, 't'},
        {"priority", required_argument, NULL, O_PRIO},
        {"env", required_argument, NULL, O_ENV},
        {"cwd", required_argument, NULL, O_CWD},
        {"function", required_argument, NULL, O_FUNC},
        {"input", required_argument, NULL, O_INPUT},
        {"inline", no_argument, NULL, O_INLINE},
        {"wait", no_argument, NULL, O_WAIT},
        {"json", no_argument, NULL, O_JSON},
        ZPAR_CLI_COMMON_OPTS,
    };
    zpar_error_t err = {{0}};
    task_opts_t to = {0};
    zpar_engine_id_t *targets = NULL;
    zpar_task_id_t *after = NULL;
    size_t ntargets = 0, nafter = 0;
    unsigned long retries = 0;
    long priority = 0;
    int have_retries = 0, have_prio = 0, inline_fn = 0, do_wait = 0, as_json = 0;
    const char *function = NULL, *input = NULL;
    char idbuf[32];
    zpar_client_t *c = NULL;
    zpar_task_t *task = NULL;
    zpar_future_t *f = NULL;
    int ch, rc = ZPAR_EXIT_OK;

    while ((ch = getopt_long (argc, argv, "+t:" ZPAR_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        switch (ch) {
        case O_RETRIES:
            if (zpar__cli_parse_uint (optarg, 1000000, &retries, &err) < 0) {
                rc = zpar__cli_usage ("--retries: %s", err.text);
                goto done;
            }
            have_retries = 1;
            break;
        case O_TMO:
            if (zpar__cli_parse_duration (optarg, &to.timeout, &err) < 0) {
                rc = zpar__cli_usage ("--timeout: %s", err.text);
                goto done;
            }
            break;
        case O_AFTER: {
            zpar_task_id_t *ids = NULL, *nv;
            size_t n = 0;
            if (zpar__cli_parse_ids (&optarg, 1, &ids, &n, &err) < 0) {
                rc = zpar__cli_usage ("--after: %s", err.text);
                goto done;
            }
            if (!(nv = realloc (after, (nafter + n) * sizeof (*nv)))) {
                free (ids);
                rc = zpar__cli_usage ("out of memory");
                goto done;
            }
            after = nv;
            memcpy (after + nafter, ids, n * sizeof (*ids));
            nafter += n;
            free (ids);
            break;
        }
        case 't':
            free (targets);
            targets = NULL;
            if (zpar__cli_parse_engines (optarg, &targets, &ntargets, &err) < 0) {
                rc = zpar__cli_usage ("--targets: %s", err.text);
                goto done;
            }
            break;
        case O_PRIO: {
            char *end;
            errno = 0;
            priority = strtol (optarg, &end, 10);
            if (errno || *end || end == optarg || priority < -1000000 || priority > 1000000) {
                rc = zpar__cli_usage ("--priority %s: give an integer (higher runs first)", optarg);
                goto done;
            }
            have_prio = 1;
            break;
        }
        case O_ENV:
            if ((rc = add_env (&to, optarg)) >= 0)
                goto done;
            rc = ZPAR_EXIT_OK;
            break;
        case O_CWD:
            to.cwd = optarg;
            break;
        case O_FUNC:
            function = optarg;
            break;
        case O_INPUT:
            input = optarg;
            break;
        case O_INLINE:
            inline_fn = 1;
            break;
        case O_WAIT:
            do_wait = 1;
            break;
        case O_JSON:
            as_json = 1;
            break;
        default:
            if ((rc = zpar__cli_common_opt (ch, submit_help)) >= 0)
                goto done;
            rc = ZPAR_EXIT_OK;
        }
    }
    if (function && optind < argc) {
        rc = zpar__cli_usage ("give either --function LIB:SYMBOL or a command, not both ('%s')",
                              argv[optind]);
        goto done;
    }
    if (!function && optind >= argc) {
        rc = zpar__cli_usage ("what should run? give a command (zpar submit -- CMD ARGS) or "
                              "--function LIB.so:SYMBOL");
        goto done;
    }
    if (!function && (input || inline_fn)) {
        rc = zpar__cli_usage ("--input and --inline go with --function LIB.so:SYMBOL");
        goto done;
    }
    if (as_json && !do_wait) {
        rc = zpar__cli_usage ("--json goes with --wait (or use 'zpar result --json ID')");
        goto done;
    }
    zpar__cli_set_log_level (ZPAR_LOG_WARN);
    if (function) {
        if ((rc = function_task (function, input, inline_fn, &task)) >= 0)
            goto done;
        rc = ZPAR_EXIT_OK;
    } else if (!(task = zpar_task_command ((const char *const *)argv + optind))) {
        rc = zpar__cli_usage ("cannot describe the command: %s", strerror (errno));
        goto done;
    }
    if ((rc = apply_opts (task, &to)) >= 0)
        goto done;
    rc = ZPAR_EXIT_OK;
    if (have_retries && zpar_task_set_retries (task, (unsigned)retries) < 0) {
        rc = zpar__cli_usage ("--retries %lu: %s", retries, strerror (errno));
        goto done;
    }
    if (have_prio && zpar_task_set_priority (task, (int)priority) < 0) {
        rc = zpar__cli_usage ("--priority %ld: %s", priority, strerror (errno));
        goto done;
    }
    for (size_t i = 0; i < nafter; i++)
        if (zpar_task_add_after (task, after[i]) < 0) {
            rc = zpar__cli_usage ("--after: %s", strerror (errno));
            goto done;
        }
    for (size_t i = 0; i < ntargets; i++)
        if (zpar_task_add_target (task, targets[i]) < 0) {
            rc = zpar__cli_usage ("--targets: %s", strerror (errno));
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
    if (!do_wait) {
        printf ("%s\n", idbuf);
        fflush (stdout);
        rc = ZPAR_EXIT_OK;
        goto done; /* zpar_client_destroy lingers until the request is sent */
    }
    if (!as_json) {
        printf ("%s\n", idbuf);
        fflush (stdout);
    }
    if (zpar_future_wait (f, -1, &err) < 0) {
        if (errno == EHOSTDOWN)
            lost (idbuf, &err);
        else
            zpar__cli_error ("waiting for %s: %s", idbuf, err.text);
        rc = ZPAR_EXIT_UNREACHABLE;
        goto done;
    }
    rc =
        zpar__cli_print_result (zpar_future_result (f), as_json, stdout, as_json ? stderr : stderr);
done:
    zpar_future_destroy (f);
    zpar_task_destroy (task);
    zpar_client_destroy (c);
    free (after);
    free (targets);
    free (to.env);
    return rc;
}

/* ------------------------------------------------------------------ wait */

static const char wait_help[] =
    "Usage: zpar wait [--timeout SEC] [-q] ID...\n"
    "\n"
    "Wait until the tasks (submitted by any client: ids like 3.17, or 3.17,3.18)\n"
    "have finished, printing one status line each on stdout as they do.\n"
    "\n"
    "Options:\n"
    "  --timeout SEC        give up after SEC (30, 2.5, 10m, ...); exit 4\n"
    "  -q, --quiet          print nothing, only set the exit status\n"
    "  --connection-file F  the cluster's client.json\n"
    "  -h, --help           this help\n"
    "\n" ZPAR_CLI_EXIT_HELP "(0 only if all succeeded; 1 if any did not; 2 if an id is unknown.)\n";

int zpar__cmd_wait (int argc, char **argv)
{
    enum { O_TMO = ZPAR_CLI_OPT_FIRST_LOCAL };
    static const struct option opts[] = {
        {"timeout", required_argument, NULL, O_TMO},
        {"quiet", no_argument, NULL, 'q'},
        ZPAR_CLI_COMMON_OPTS,
    };
    zpar_error_t err = {{0}};
    zpar_task_id_t *ids = NULL;
    zpar_future_t **f = NULL;
    size_t nids = 0, left;
    double timeout = -1, start;
    int quiet = 0, ch, rc, any_failed = 0, any_missing = 0;
    zpar_client_t *c = NULL;

    while ((ch = getopt_long (argc, argv, "q" ZPAR_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        switch (ch) {
        case O_TMO:
            if (zpar__cli_parse_duration (optarg, &timeout, &err) < 0)
                return zpar__cli_usage ("--timeout: %s", err.text);
            break;
        case 'q':
            quiet = 1;
            break;
        default:
            if ((rc = zpar__cli_common_opt (ch, wait_help)) >= 0)
                return rc;
        }
    }
    if (optind >= argc)
        return zpar__cli_usage ("which tasks? give their ids (as printed by 'zpar submit')");
    if (zpar__cli_parse_ids (argv + optind, argc - optind, &ids, &nids, &err) < 0)
        return zpar__cli_usage ("%s", err.text);
    zpar__cli_set_log_level (ZPAR_LOG_WARN);
    if (!(f = calloc (nids, sizeof (*f)))) {
        free (ids);
        zpar__cli_error ("out of memory");
        return ZPAR_EXIT_FAILED;
    }
    if (!(c = zpar__cli_connect (&rc)))
        goto done;
    for (size_t i = 0; i < nids; i++)
        if (!(f[i] = zpar_client_future_for (c, ids[i], &err)) && errno != EEXIST) {
            zpar__cli_error ("%s", err.text);
            rc = ZPAR_EXIT_FAILED;
            goto done;
        }
    start = zpar__mono_s ();
    for (;;) {
        double slice = 0.25;
        left = 0;
        for (size_t i = 0; i < nids; i++) {
            char line[1024];
            const zpar_result_t *r;
            if (!f[i])
                continue;
            if (zpar_future_wait (f[i], 0, &err) < 0) {
                if (errno == ETIMEDOUT) {
                    left++;
                    continue;
                }
                if (errno != ENOENT) {
                    if (errno == EHOSTDOWN)
                        lost ("the tasks", &err);
                    else
                        zpar__cli_error ("cannot ask the controller about the tasks: %s", err.text);
                    rc = ZPAR_EXIT_UNREACHABLE;
                    goto done;
                }
                zpar__cli_error ("%s", err.text);
                any_missing = 1;
            } else {
                r = zpar_future_result (f[i]);
                if (!quiet) {
                    zpar__cli_result_summary (r, line, sizeof (line));
                    printf ("%s\n", line);
                    fflush (stdout);
                }
                if (zpar_result_status (r) != ZPAR_STATUS_OK)
                    any_failed = 1;
            }
            zpar_future_destroy (f[i]);
            f[i] = NULL;
        }
        if (!left)
            break;
        if (timeout >= 0 && zpar__mono_s () - start >= timeout) {
            if (!quiet) {
                zpar__cli_error ("timed out after %g s; still not finished:", timeout);
                for (size_t i = 0; i < nids; i++)
                    if (f[i]) {
                        char idbuf[32];
                        zpar_task_id_format (ids[i], idbuf, sizeof (idbuf));
                        fprintf (stderr, "  %s\n", idbuf);
                    }
                fprintf (stderr, "(raise --timeout, or see 'zpar status')\n");
            }
            rc = ZPAR_EXIT_TIMEOUT;
            goto done;
        }
        if (timeout >= 0 && start + timeout - zpar__mono_s () < slice)
            slice = start + timeout - zpar__mono_s ();
        if (zpar_client_poll (c, slice > 0 ? slice : 0, &err) < 0) {
            lost ("the tasks", &err);
            rc = ZPAR_EXIT_UNREACHABLE;
            goto done;
        }
    }
    rc = any_missing ? ZPAR_EXIT_USAGE : any_failed ? ZPAR_EXIT_FAILED : ZPAR_EXIT_OK;
done:
    for (size_t i = 0; f && i < nids; i++)
        zpar_future_destroy (f[i]);
    zpar_client_destroy (c);
    free (f);
    free (ids);
    return rc;
}

/* ------------------------------------------------------------------ result */

static const char result_help[] =
    "Usage: zpar result [--json] ID\n"
    "\n"
    "Print a task's stdout (on stdout), stderr (on stderr) and a status line (on\n"
    "stderr), for a task submitted by any client.  A function task's output is\n"
    "printed on stdout.\n"
    "\n"
    "Options:\n"
    "  --json               one JSON object on stdout: id, status, exit_code, signal,\n"
    "                       wall, cpu, maxrss_kb, engine, host, attempts, error,\n"
    "                       stdout, stderr (JSON strings), output (base64)\n"
    "  --connection-file F  the cluster's client.json\n"
    "  -h, --help           this help\n"
    "\n" ZPAR_CLI_EXIT_HELP
    "(0 the task succeeded; 1 it failed or is not finished; 2 no such task.)\n";

int zpar__cmd_result (int argc, char **argv)
{
    enum { O_JSON = ZPAR_CLI_OPT_FIRST_LOCAL };
    static const struct option opts[] = {
        {"json", no_argument, NULL, O_JSON},
        ZPAR_CLI_COMMON_OPTS,
    };
    zpar_error_t err = {{0}};
    zpar_task_id_t id;
    zpar_client_t *c = NULL;
    zpar_result_t *r = NULL;
    int as_json = 0, ch, rc;
    double start;

    while ((ch = getopt_long (argc, argv, ZPAR_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        switch (ch) {
        case O_JSON:
            as_json = 1;
            break;
        default:
            if ((rc = zpar__cli_common_opt (ch, result_help)) >= 0)
                return rc;
        }
    }
    if (optind >= argc)
        return zpar__cli_usage ("which task? give its id (as printed by 'zpar submit')");
    if (optind + 1 < argc)
        return zpar__cli_usage ("one task at a time: 'zpar wait' takes several ids");
    if (zpar_task_id_parse (argv[optind], &id) < 0)
        return zpar__cli_usage ("'%s' is not a task id: ids look like 3.17 (as printed by 'zpar "
                                "submit')",
                                argv[optind]);
    zpar__cli_set_log_level (ZPAR_LOG_WARN);
    if (!(c = zpar__cli_connect (&rc)))
        return rc;
    start = zpar__mono_s ();
    while (!(r = zpar_client_fetch_result (c, id, &err))) {
        if (errno != ENOENT) {
            zpar__cli_error ("cannot ask the controller about %s: %s", argv[optind], err.text);
            rc = ZPAR_EXIT_UNREACHABLE;
            goto done;
        }
        if (zpar__mono_s () - start >= ENOENT_GRACE) {
            zpar__cli_error ("no task %s in this cluster (ids come from 'zpar submit'; a new "
                             "cluster does not know an earlier one's tasks)",
                             argv[optind]);
            rc = ZPAR_EXIT_USAGE;
            goto done;
        }
        zpar__sleep_s (0.02);
    }
    rc = zpar__cli_print_result (r, as_json, stdout, stderr);
done:
    zpar_result_destroy (r);
    zpar_client_destroy (c);
    return rc;
}
