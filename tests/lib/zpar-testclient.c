/* zpar-testclient.c - a test driver for zpar's system tests.
 *
 * Links only the public libzpar API (zpar.h), plus libzmq and libsodium for
 * the raw-socket attacks of the "garbage" and "hijack" subcommands (which
 * build, sign and forge zpar messages by hand from doc/protocol.md, so they
 * also check the wire format independently of the library's codec).
 *
 *   zpar-testclient [-f CONNFILE] [-t SECONDS] COMMAND [ARGS]
 *
 *   engines                  engine id=.. state=.. pid=.. host=.. lines
 *   status                   status pending=.. running=.. completed=.. failed=.. dropped=..
 *   wait-engines N           until N engines are idle or busy (bounded by -t)
 *   wait-engines-timeout N S must fail with ETIMEDOUT after about S seconds
 *   connect-opts DIR         connect through options (cluster_dir DIR)
 *   future-for ID...         futures for other clients' tasks: one line each
 *                            ("future id=.. status=.. stdout=.." or errno=..)
 *   lost SECONDS             a task of SECONDS; prints "waiting", then the
 *                            shell kills the controller: "lost errno=EHOSTDOWN"
 *   stale-connect            connecting to a dead controller: ECONNREFUSED
 *   callback-deadlock        a waiting call from an output callback: EDEADLK
 *   direct                   an echo on every live engine through the MUX, and
 *                            one to a missing engine (must be an error result)
 *   control                  the control socket's calls: a direct task queued
 *                            behind a long one on the same engine is aborted
 *                            (ABORTED), the long one is interrupted (ends at
 *                            once), a second interrupt of the idle engine is
 *                            answered, and a load-balanced task still runs
 *   balanced N [SLEEP]       N load-balanced echo tasks (each sleeping SLEEP s)
 *   clients K N [LIB]        K threads, each its own client, N tasks each
 *                            (command echos, or LIB's zt_echo function tasks)
 *   iopub                    two clients subscribed to all output both see a
 *                            third client's task's stdout
 *   run [OPTS] -- ARGV...    one task; prints its result as key=value lines
 *   run [OPTS] --function LIB:SYMBOL
 *        OPTS: --retries K --timeout S --inline --input TEXT --engine E
 *              --count N (N copies; prints each) --wait S
 *   queued N                 submit N tasks, print "queued", wait for them all
 *   killtest [--retries K] [--sleep S]
 *                            a long task; prints "running engine=E pid=P",
 *                            reads a line on stdin once the shell killed E,
 *                            prints "died engine=E detect_ms=N" and
 *                            "final status=.. engine=.. attempts=.."
 *   garbage                  garbage / truncated / unsigned / forged /
 *                            replayed / stale messages at every address of
 *                            the connection file; then the client must work
 *                            and "dropped" must have grown
 *   malformed-body           a rightly signed message whose body is malformed
 *                            is dropped and counted
 *   hijack                   unsigned peers claiming the engines' routing
 *                            identities must not take their traffic
 *
 * Every wait is bounded by -t (default 30 s × ZPAR_TEST_TIMEOUT_SCALE).
 * Exit status: 0 when every check passed, 1 on a mismatch (with a
 * "FAIL: ..." line on stderr), 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "zpar.h"

static const char *connfile;
static double tmo = 30.0;
static int failures;

/* ------------------------------------------------------------ helpers */

static double now_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s (double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep (&ts, NULL);
}

static void fail (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
static void fail (const char *fmt, ...)
{
    va_list ap;
    fprintf (stderr, "FAIL: ");
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fputc ('\n', stderr);
    fflush (stderr);
    __atomic_add_fetch (&failures, 1, __ATOMIC_SEQ_CST);
}

static void die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));
static void die (const char *fmt, ...)
{
    va_list ap;
    fprintf (stderr, "FAIL: ");
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fputc ('\n', stderr);
    exit (1);
}

static void out (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
static void out (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vprintf (fmt, ap);
    va_end (ap);
    fputc ('\n', stdout);
    fflush (stdout);
}

/* bytes as one printable token: \n, \t, \\, \xHH, space as \x20 */
static char *escape (const void *data, size_t len)
{
    const unsigned char *p = data;
    char *s = malloc (len * 4 + 1), *q = s;
    if (!s)
        die ("out of memory");
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\n')
            q += sprintf (q, "\\n");
        else if (p[i] == '\\')
            q += sprintf (q, "\\\\");
        else if (p[i] > ' ' && p[i] < 127)
            *q++ = (char)p[i];
        else
            q += sprintf (q, "\\x%02x", p[i]);
    }
    *q = '\0';
    return s;
}

static zpar_client_t *connect_or_die (void)
{
    zpar_error_t err;
    zpar_client_t *c = zpar_client_connect (connfile, &err);
    if (!c)
        die ("cannot connect: %s", err.text);
    return c;
}

static void fmt_id (zpar_task_id_t id, char *buf, size_t n)
{
    zpar_task_id_format (id, buf, n);
}

static int live_engines (zpar_client_t *c, zpar_engine_info_t **list, size_t *n)
{
    zpar_error_t err;
    size_t live = 0;
    if (zpar_client_engines (c, list, n, &err) < 0)
        die ("engines query failed: %s", err.text);
    for (size_t i = 0; i < *n; i++)
        if (strcmp ((*list)[i].state, "dead") != 0)
            live++;
    return (int)live;
}

static void get_status (zpar_client_t *c, zpar_queue_status_t *st)
{
    zpar_error_t err;
    if (zpar_client_queue_status (c, st, &err) < 0)
        die ("status query failed: %s", err.text);
}

static zpar_task_t *echo_task (const char *text)
{
    const char *argv[] = {"echo", text, NULL};
    zpar_task_t *t = zpar_task_command (argv);
    if (!t)
        die ("zpar_task_command failed");
    return t;
}

/* Wait for f; check status ok and stdout == want (if non-NULL). */
static int check_echo (zpar_future_t *f, const char *want, const char *what)
{
    zpar_error_t err;
    const zpar_result_t *r;
    size_t len = 0;
    const char *so;
    char ids[32];

    fmt_id (zpar_future_id (f), ids, sizeof (ids));
    if (zpar_future_wait (f, tmo, &err) < 0) {
        fail ("%s: task %s: %s", what, ids, err.text);
        return -1;
    }
    r = zpar_future_result (f);
    if (zpar_result_id (r).id != zpar_future_id (f).id) {
        char rid[32];
        fmt_id (zpar_result_id (r), rid, sizeof (rid));
        fail ("%s: future %s got the result of task %s", what, ids, rid);
        return -1;
    }
    if (zpar_result_status (r) != ZPAR_STATUS_OK) {
        fail ("%s: task %s: status %s (%s)", what, ids, zpar_status_name (zpar_result_status (r)),
              zpar_result_error (r));
        return -1;
    }
    so = zpar_result_stdout (r, &len);
    if (want && (len != strlen (want) || memcmp (so, want, len) != 0)) {
        char *e = escape (so ? so : "", so ? len : 0);
        fail ("%s: task %s: stdout '%s', expected '%s' (foreign or corrupt result)", what, ids, e,
              want);
        free (e);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ engines, status */

static int cmd_engines (void)
{
    zpar_client_t *c = connect_or_die ();
    zpar_engine_info_t *l;
    size_t n;
    int live = live_engines (c, &l, &n);
    for (size_t i = 0; i < n; i++)
        out ("engine id=%u state=%s pid=%d host=%s outstanding=%u rank=%d", l[i].id.id, l[i].state,
             l[i].pid, l[i].host, l[i].outstanding, l[i].rank);
    out ("engines n=%zu live=%d", n, live);
    free (l);
    zpar_client_destroy (c);
    return 0;
}

static int cmd_status (void)
{
    zpar_client_t *c = connect_or_die ();
    zpar_queue_status_t st;
    get_status (c, &st);
    out ("status pending=%llu running=%llu completed=%llu failed=%llu dropped=%llu",
         (unsigned long long)st.pending, (unsigned long long)st.running,
         (unsigned long long)st.completed, (unsigned long long)st.failed,
         (unsigned long long)st.dropped);
    zpar_client_destroy (c);
    return 0;
}

static int cmd_wait_engines (int want)
{
    zpar_client_t *c = connect_or_die ();
    zpar_error_t err;
    int live = zpar_client_wait_engines (c, (unsigned)want, tmo, &err);
    zpar_client_destroy (c);
    if (live < 0)
        die ("%s", err.text);
    out ("engines live=%d", live);
    return 0;
}

/* ------------------------------------------------------------ the API of issue 7 */

static const char *errname (int e)
{
    switch (e) {
    case 0:
        return "0";
    case ETIMEDOUT:
        return "ETIMEDOUT";
    case EHOSTDOWN:
        return "EHOSTDOWN";
    case EHOSTUNREACH:
        return "EHOSTUNREACH";
    case ECONNREFUSED:
        return "ECONNREFUSED";
    case ENOENT:
        return "ENOENT";
    case EINVAL:
        return "EINVAL";
    case EEXIST:
        return "EEXIST";
    case EDEADLK:
        return "EDEADLK";
    }
    return "other";
}

/* wait for more engines than there are: ETIMEDOUT after about SECONDS */
static int cmd_wait_engines_timeout (int want, double secs)
{
    zpar_client_t *c = connect_or_die ();
    zpar_error_t err = {{0}};
    double t0 = now_s ();
    int rc = zpar_client_wait_engines (c, (unsigned)want, secs, &err);
    int e = errno;
    out ("wait_engines rc=%d errno=%s ms=%.0f", rc, rc < 0 ? errname (e) : "0",
         (now_s () - t0) * 1000);
    if (rc >= 0 || e != ETIMEDOUT || !strstr (err.text, "engines registered within"))
        fail ("wait_engines for %d: rc %d errno %d (%s)", want, rc, e, err.text);
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

/* connect through options: the cluster's directory instead of the file,
 * which must not come from the environment */
static int cmd_connect_opts (const char *dir)
{
    zpar_client_opts_t o;
    zpar_error_t err;
    zpar_client_t *c;
    char want[4096];
    zpar_client_opts_init (&o);
    o.cluster_dir = dir;
    o.connect_timeout = 5;
    o.ping_period = 1;
    unsetenv ("ZPAR_CONNECTION_FILE");
    if (!(c = zpar_client_connect_opts (&o, &err)))
        die ("connect_opts: %s", err.text);
    snprintf (want, sizeof (want), "%s/client.json", dir);
    if (strcmp (zpar_client_connection_file (c), want) != 0)
        fail ("connection file %s, expected %s", zpar_client_connection_file (c), want);
    out ("connect_opts file=%s client=%u alive=%d", zpar_client_connection_file (c),
         zpar_client_id (c), zpar_client_engines_alive (c, NULL));
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

/* futures for tasks of other clients (ids given), waited for in turn */
static int cmd_future_for (int argc, char **argv)
{
    zpar_client_t *c = connect_or_die ();
    for (int i = 0; i < argc; i++) {
        zpar_task_id_t id;
        zpar_future_t *f;
        zpar_error_t err = {{0}};
        const zpar_result_t *r;
        size_t len = 0;
        const char *so;
        char *esc;
        if (zpar_task_id_parse (argv[i], &id) < 0)
            die ("bad task id %s", argv[i]);
        if (!(f = zpar_client_future_for (c, id, &err)))
            die ("future_for %s: %s", argv[i], err.text);
        if (zpar_client_future_for (c, id, NULL) != NULL || errno != EEXIST)
            fail ("a second future for %s is not EEXIST", argv[i]);
        if (zpar_future_wait (f, tmo, &err) < 0) {
            out ("future id=%s errno=%s done=%d", argv[i], errname (errno), zpar_future_done (f));
            zpar_future_destroy (f);
            continue;
        }
        r = zpar_future_result (f);
        so = zpar_result_stdout (r, &len);
        esc = escape (so ? so : "", so ? len : 0);
        out ("future id=%s status=%s stdout=%s", argv[i], zpar_status_name (zpar_result_status (r)),
             esc);
        free (esc);
        zpar_future_destroy (f);
    }
    if (zpar_client_outstanding (c) != 0)
        fail ("%zu futures still outstanding", zpar_client_outstanding (c));
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

/* a long task, "waiting" once it runs; the shell then kills the controller
 * and the wait must fail with EHOSTDOWN (controller lost), not hang */
static int cmd_lost (double secs)
{
    zpar_client_opts_t o;
    zpar_error_t err = {{0}};
    zpar_client_t *c;
    zpar_future_t *f;
    zpar_task_t *t;
    char sl[32];
    const char *argv[] = {"sleep", sl, NULL};
    double t0;
    int rc;

    zpar_client_opts_init (&o);
    o.connection_file = connfile;
    o.connect_timeout = 0.5;
    o.ping_period = 0.2;
    o.reconnect_timeout = 2.0; /* then give up on the dead controller */
    if (!(c = zpar_client_connect_opts (&o, &err)))
        die ("connect_opts: %s", err.text);
    snprintf (sl, sizeof (sl), "%g", secs);
    if (!(t = zpar_task_command (argv)) || !(f = zpar_submit (c, t, &err)))
        die ("submit: %s", err.text);
    zpar_task_destroy (t);
    /* the controller answers: a short wait times out, it does not fail */
    if (zpar_future_wait (f, 1.0, &err) == 0 || errno != ETIMEDOUT)
        fail ("wait with a live controller: %s", err.text);
    out ("waiting");
    t0 = now_s ();
    rc = zpar_future_wait (f, tmo, &err);
    out ("lost rc=%d errno=%s ms=%.0f", rc, rc < 0 ? errname (errno) : "0", (now_s () - t0) * 1000);
    if (rc == 0 || errno != EHOSTDOWN)
        fail ("wait after the controller died: %s", err.text);
    zpar_future_destroy (f);
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

/* a callback that calls a waiting function of its own client: EDEADLK,
 * and the client goes on working */
typedef struct {
    zpar_client_t *c;
    int calls;
    int err;
} cb_call_t;

static void deadlock_out (void *arg, zpar_engine_id_t e, zpar_task_id_t t, int stream,
                          const void *data, size_t len)
{
    cb_call_t *k = arg;
    zpar_queue_status_t st;
    (void)e, (void)t, (void)stream, (void)data, (void)len;
    k->calls++;
    if (zpar_client_queue_status (k->c, &st, NULL) < 0)
        k->err = errno;
}

static int cmd_callback_deadlock (void)
{
    cb_call_t k = {0};
    zpar_future_t *f;
    zpar_task_t *t = echo_task ("from-the-callback");
    zpar_error_t err;
    k.c = connect_or_die ();
    zpar_client_on_output (k.c, deadlock_out, &k, 1);
    if (!(f = zpar_submit (k.c, t, &err)))
        die ("submit: %s", err.text);
    zpar_task_destroy (t);
    check_echo (f, "from-the-callback\n", "callback-deadlock");
    out ("callback calls=%d errno=%s", k.calls, errname (k.err));
    if (k.calls > 0 && k.err != EDEADLK)
        fail ("a waiting call from a callback did not fail with EDEADLK");
    get_status (k.c, &(zpar_queue_status_t){0});
    zpar_future_destroy (f);
    zpar_client_destroy (k.c);
    return failures ? 1 : 0;
}

/* connect to a cluster whose controller is dead: ECONNREFUSED at once */
static int cmd_stale_connect (void)
{
    zpar_client_opts_t o;
    zpar_error_t err = {{0}};
    zpar_client_t *c;
    double t0 = now_s ();
    int stale =
        zpar_connection_file_stale (connfile ? connfile : getenv ("ZPAR_CONNECTION_FILE"), NULL);
    zpar_client_opts_init (&o);
    o.connection_file = connfile;
    o.connect_timeout = 10;
    c = zpar_client_connect_opts (&o, &err);
    out ("stale=%d connect errno=%s ms=%.0f", stale, c ? "0" : errname (errno),
         (now_s () - t0) * 1000);
    if (c)
        fail ("connected to a dead controller");
    else
        out ("error %s", err.text);
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

/* ------------------------------------------------------------ direct, balanced */

static int cmd_direct (void)
{
    zpar_client_t *c = connect_or_die ();
    zpar_engine_info_t *l;
    size_t n;
    zpar_error_t err;
    int live = live_engines (c, &l, &n);
    zpar_future_t **fs = calloc (n + 1, sizeof (*fs));
    char want[64];

    if (live == 0)
        die ("direct: no live engines");
    /* all at once, then collect: each must come back from its engine */
    for (size_t i = 0; i < n; i++) {
        zpar_task_t *t;
        if (!strcmp (l[i].state, "dead"))
            continue;
        snprintf (want, sizeof (want), "direct-%u", l[i].id.id);
        t = echo_task (want);
        if (!(fs[i] = zpar_submit_to (c, l[i].id, t, &err)))
            die ("direct: submit to engine %u: %s", l[i].id.id, err.text);
        zpar_task_destroy (t);
    }
    for (size_t i = 0; i < n; i++) {
        const zpar_result_t *r;
        if (!fs[i])
            continue;
        snprintf (want, sizeof (want), "direct-%u\n", l[i].id.id);
        if (check_echo (fs[i], want, "direct") == 0) {
            r = zpar_future_result (fs[i]);
            if (zpar_result_engine (r).id != l[i].id.id)
                fail ("direct: task for engine %u ran on engine %u", l[i].id.id,
                      zpar_result_engine (r).id);
            else
                out ("direct engine=%u ok host=%s", l[i].id.id, zpar_result_host (r));
        }
        zpar_future_destroy (fs[i]);
    }
    /* a direct task to an engine that does not exist: a clear error result */
    {
        zpar_task_t *t = echo_task ("nobody");
        zpar_future_t *f = zpar_submit_to (c, (zpar_engine_id_t){9999}, t, &err);
        zpar_task_destroy (t);
        if (!f)
            out ("direct-missing refused=1 error=%s", err.text);
        else if (zpar_future_wait (f, tmo, &err) < 0)
            fail ("direct to a missing engine: no answer: %s", err.text);
        else {
            const zpar_result_t *r = zpar_future_result (f);
            char *e = escape (zpar_result_error (r), strlen (zpar_result_error (r)));
            out ("direct-missing status=%s error=%s", zpar_status_name (zpar_result_status (r)), e);
            if (zpar_result_status (r) != ZPAR_STATUS_ERROR)
                fail ("direct to a missing engine: status %s, expected error",
                      zpar_status_name (zpar_result_status (r)));
            free (e);
        }
        zpar_future_destroy (f);
    }
    free (fs);
    free (l);
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

/* zpar_client_abort of a direct task and zpar_client_interrupt go over the
 * control socket, which the client watches only while such a call waits. */
static int cmd_control (void)
{
    zpar_client_t *c = connect_or_die ();
    zpar_engine_info_t *l;
    size_t n, e = 0;
    zpar_error_t err;
    const char *sleep_argv[] = {"sleep", "60", NULL};
    zpar_task_t *t = zpar_task_command (sleep_argv), *echo;
    zpar_future_t *run, *queued, *lb;
    double t0;

    if (!t || live_engines (c, &l, &n) == 0)
        die ("control: no task or no live engine");
    while (e < n && !strcmp (l[e].state, "dead"))
        e++;
    if (!(run = zpar_submit_to (c, l[e].id, t, &err)) ||
        !(queued = zpar_submit_to (c, l[e].id, t, &err)))
        die ("control: submit to engine %u: %s", l[e].id.id, err.text);
    /* both reach the engine (the abort travels on another socket) */
    (void)zpar_future_wait (run, 1.0, NULL);
    if (zpar_client_abort (c, zpar_future_id (queued), &err) < 0)
        fail ("control: abort of the queued direct task: %s", err.text);
    else if (zpar_future_wait (queued, tmo, &err) < 0)
        fail ("control: the aborted task has no result: %s", err.text);
    else
        out ("control abort status=%s",
             zpar_status_name (zpar_result_status (zpar_future_result (queued))));
    t0 = now_s ();
    if (zpar_client_interrupt (c, l[e].id, &err) < 0)
        fail ("control: interrupt of engine %u: %s", l[e].id.id, err.text);
    else if (zpar_future_wait (run, tmo, &err) < 0)
        fail ("control: the interrupted task has no result: %s", err.text);
    else
        out ("control interrupt status=%s fast=%d",
             zpar_status_name (zpar_result_status (zpar_future_result (run))), now_s () - t0 < 30);
    if (zpar_client_interrupt (c, l[e].id, &err) < 0)
        fail ("control: a second interrupt: %s", err.text);
    else
        out ("control interrupt-again ok");
    echo = echo_task ("after-control");
    if (!(lb = zpar_submit (c, echo, &err)))
        die ("control: submit: %s", err.text);
    if (check_echo (lb, "after-control\n", "control") == 0)
        out ("control balanced ok");
    zpar_future_destroy (lb);
    zpar_future_destroy (run);
    zpar_future_destroy (queued);
    zpar_task_destroy (echo);
    zpar_task_destroy (t);
    free (l);
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

static int cmd_balanced (int ntasks, double sleep_for)
{
    zpar_client_t *c = connect_or_die ();
    zpar_future_t **fs = calloc ((size_t)ntasks, sizeof (*fs));
    unsigned counts[1024] = {0};
    zpar_error_t err;
    char want[64], script[128];
    int used = 0;

    for (int i = 0; i < ntasks; i++) {
        zpar_task_t *t;
        snprintf (want, sizeof (want), "lb-%d", i);
        if (sleep_for > 0) {
            const char *argv[] = {"sh", "-c", script, NULL};
            snprintf (script, sizeof (script), "sleep %g; echo %s", sleep_for, want);
            t = zpar_task_command (argv);
        } else
            t = echo_task (want);
        if (!(fs[i] = zpar_submit (c, t, &err)))
            die ("balanced: submit: %s", err.text);
        zpar_task_destroy (t);
    }
    for (int i = 0; i < ntasks; i++) {
        snprintf (want, sizeof (want), "lb-%d\n", i);
        if (check_echo (fs[i], want, "balanced") == 0) {
            unsigned e = zpar_result_engine (zpar_future_result (fs[i])).id;
            if (e == 0 || e >= 1024)
                fail ("balanced: task %d: engine id %u", i, e);
            else
                counts[e]++;
        }
        zpar_future_destroy (fs[i]);
    }
    for (unsigned e = 1; e < 1024; e++)
        if (counts[e]) {
            out ("balanced engine=%u count=%u", e, counts[e]);
            used++;
        }
    out ("balanced total=%d engines_used=%d failures=%d", ntasks, used, failures);
    free (fs);
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

/* ------------------------------------------------------------ clients */

typedef struct {
    int k;
    int n;
    const char *lib;
    int ok;
    uint32_t client;
    unsigned foreign_out;
    pthread_barrier_t *bar;
} worker_t;

static void *worker (void *arg)
{
    worker_t *w = arg;
    zpar_error_t err;
    zpar_client_t *c = zpar_client_connect (connfile, &err);
    zpar_future_t **fs;
    char want[64], name[32];
    int bad = 0;

    pthread_barrier_wait (w->bar);
    if (!c) {
        fail ("client %d: cannot connect: %s", w->k, err.text);
        return NULL;
    }
    w->client = zpar_client_id (c);
    snprintf (name, sizeof (name), "client %d", w->k);
    fs = calloc ((size_t)w->n, sizeof (*fs));
    for (int i = 0; i < w->n; i++) {
        zpar_task_t *t;
        snprintf (want, sizeof (want), "%d-%d", w->k, i);
        if (w->lib)
            t = zpar_task_function (w->lib, "zt_echo", want, strlen (want));
        else
            t = echo_task (want);
        if (!t || !(fs[i] = zpar_submit (c, t, &err))) {
            fail ("%s: submit %d: %s", name, i, t ? err.text : "no task");
            zpar_task_destroy (t);
            bad++;
            break;
        }
        zpar_task_destroy (t);
    }
    if (!bad && zpar_client_wait_all (c, tmo, &err) < 0) {
        fail ("%s: %s", name, err.text);
        bad++;
    }
    for (int i = 0; i < w->n && fs[i]; i++) {
        if (!bad) {
            if (w->lib) {
                const zpar_result_t *r;
                size_t len;
                const void *o;
                snprintf (want, sizeof (want), "%d-%d", w->k, i);
                if (zpar_future_wait (fs[i], 0, &err) < 0) {
                    fail ("%s: task %d not done", name, i);
                    bad++;
                } else if (zpar_result_status (r = zpar_future_result (fs[i])) != ZPAR_STATUS_OK) {
                    fail ("%s: task %d: %s (%s)", name, i,
                          zpar_status_name (zpar_result_status (r)), zpar_result_error (r));
                    bad++;
                } else if (!(o = zpar_result_output (r, &len)) || len != strlen (want) ||
                           memcmp (o, want, len) != 0) {
                    fail ("%s: task %d: output does not match its input '%s'", name, i, want);
                    bad++;
                }
            } else {
                snprintf (want, sizeof (want), "%d-%d\n", w->k, i);
                if (check_echo (fs[i], want, name) < 0)
                    bad++;
            }
            if (!bad && zpar_result_attempts (zpar_future_result (fs[i])) > 1) {
                fail ("%s: task %d ran %u times", name, i,
                      zpar_result_attempts (zpar_future_result (fs[i])));
                bad++;
            }
        }
        zpar_future_destroy (fs[i]);
    }
    if (zpar_client_outstanding (c) != 0)
        fail ("%s: %zu futures still outstanding", name, zpar_client_outstanding (c));
    free (fs);
    zpar_client_destroy (c);
    w->ok = bad == 0;
    return NULL;
}

static int cmd_clients (int k, int n, const char *lib)
{
    pthread_t *th = calloc ((size_t)k, sizeof (*th));
    worker_t *w = calloc ((size_t)k, sizeof (*w));
    pthread_barrier_t bar;
    zpar_client_t *c = connect_or_die ();
    zpar_queue_status_t st0, st1;
    double t0;
    int allok = 1;

    get_status (c, &st0);
    pthread_barrier_init (&bar, NULL, (unsigned)k);
    t0 = now_s ();
    for (int i = 0; i < k; i++) {
        w[i].k = i;
        w[i].n = n;
        w[i].lib = lib;
        w[i].bar = &bar;
        pthread_create (&th[i], NULL, worker, &w[i]);
    }
    for (int i = 0; i < k; i++) {
        pthread_join (th[i], NULL);
        out ("client k=%d id=%u ok=%d", i, w[i].client, w[i].ok);
        allok &= w[i].ok;
        for (int j = 0; j < i; j++)
            if (w[j].client == w[i].client)
                fail ("clients %d and %d got the same client number %u", j, i, w[i].client);
    }
    /* the controller's counters: exactly k*n more completed, none failed */
    {
        double end = now_s () + 5;
        do {
            get_status (c, &st1);
            if (st1.completed - st0.completed >= (uint64_t)k * n)
                break;
            sleep_s (0.1);
        } while (now_s () < end);
        out ("clients completed=%llu failed=%llu",
             (unsigned long long)(st1.completed - st0.completed),
             (unsigned long long)(st1.failed - st0.failed));
        if (st1.completed - st0.completed != (uint64_t)k * n)
            fail ("the controller counted %llu completed tasks, expected %d",
                  (unsigned long long)(st1.completed - st0.completed), k * n);
        if (st1.failed != st0.failed)
            fail ("the controller counted %llu failed tasks",
                  (unsigned long long)(st1.failed - st0.failed));
    }
    out ("clients k=%d n=%d ok=%d seconds=%.2f", k, n, allok && !failures, now_s () - t0);
    zpar_client_destroy (c);
    pthread_barrier_destroy (&bar);
    free (th);
    free (w);
    return allok && !failures ? 0 : 1;
}

/* ------------------------------------------------------------ iopub */

typedef struct {
    const char *marker;
    int seen; /* the marker was seen */
    int any;  /* any output seen */
    uint64_t task;
} iowatch_t;

static void io_cb (void *arg, zpar_engine_id_t e, zpar_task_id_t t, int stream, const void *data,
                   size_t len)
{
    iowatch_t *w = arg;
    (void)e;
    (void)stream;
    w->any++;
    if (w->marker && memmem (data, len, w->marker, strlen (w->marker))) {
        w->seen++;
        w->task = t.id;
    }
}

/* PUB/SUB subscriptions reach the engines asynchronously: submit echo
 * tasks from s until each of the n subscribers subs[i] has seen output
 * (*seen[i] != 0), polling them. */
static void iopub_warm_up (zpar_client_t *s, zpar_client_t *const *subs, const int *const *seen,
                           int n, const char *what)
{
    double end = now_s () + tmo;
    for (;;) {
        zpar_error_t err;
        zpar_future_t *f;
        zpar_task_t *t;
        int all = 1;
        for (int k = 0; k < n; k++)
            all &= *seen[k] != 0;
        if (all)
            return;
        if (now_s () > end)
            die ("%s: the subscribers saw no output at all", what);
        t = echo_task ("warmup");
        f = zpar_submit (s, t, &err);
        zpar_task_destroy (t);
        if (!f || zpar_future_wait (f, tmo, &err) < 0)
            die ("%s: warm-up task: %s", what, err.text);
        zpar_future_destroy (f);
        for (int i = 0; i < 5; i++)
            for (int k = 0; k < n; k++)
                zpar_client_poll (subs[k], 0.05, NULL);
    }
}

static int cmd_iopub (void)
{
    zpar_client_t *a = connect_or_die (), *b = connect_or_die (), *s = connect_or_die ();
    iowatch_t wa = {0}, wb = {0};
    zpar_error_t err;
    char marker[64];
    double end;
    zpar_future_t *f;
    zpar_task_t *t;

    zpar_client_on_output (a, io_cb, &wa, 0);
    zpar_client_on_output (b, io_cb, &wb, 0);
    {
        zpar_client_t *const subs[] = {a, b};
        const int *const seen[] = {&wa.any, &wb.any};
        iopub_warm_up (s, subs, seen, 2, "iopub");
    }
    snprintf (marker, sizeof (marker), "iopub-marker-%d-%u", (int)getpid (), randombytes_random ());
    wa.marker = wb.marker = marker;
    t = echo_task (marker);
    if (!(f = zpar_submit (s, t, &err)))
        die ("iopub: submit: %s", err.text);
    zpar_task_destroy (t);
    if (check_echo (f, NULL, "iopub") < 0)
        die ("iopub: the marker task failed");
    end = now_s () + tmo;
    while (!(wa.seen && wb.seen) && now_s () < end) {
        zpar_client_poll (a, 0.05, NULL);
        zpar_client_poll (b, 0.05, NULL);
    }
    out ("iopub a_seen=%d b_seen=%d", wa.seen, wb.seen);
    if (!wa.seen || !wb.seen)
        fail ("iopub: a third client's output was not seen by every subscriber (a:%d b:%d)",
              wa.seen, wb.seen);
    else if (wa.task != zpar_future_id (f).id || wb.task != zpar_future_id (f).id)
        fail ("iopub: the output was attributed to the wrong task");
    /* mine_only: a subscriber to its own output must not see the others' */
    {
        iowatch_t wm = {0};
        char m2[80];
        zpar_client_on_output (a, io_cb, &wm, 1);
        snprintf (m2, sizeof (m2), "%s-second", marker);
        wm.marker = m2;
        zpar_future_destroy (f);
        t = echo_task (m2);
        f = zpar_submit (s, t, &err);
        zpar_task_destroy (t);
        if (!f || check_echo (f, NULL, "iopub") < 0)
            die ("iopub: the second marker task failed");
        for (int i = 0; i < 10; i++)
            zpar_client_poll (a, 0.05, NULL);
        out ("iopub mine_only_foreign=%d", wm.seen);
        if (wm.seen)
            fail ("iopub: a client subscribed to its own output saw another client's");
    }
    zpar_future_destroy (f);
    zpar_client_destroy (a);
    zpar_client_destroy (b);
    zpar_client_destroy (s);
    return failures ? 1 : 0;
}

/* A task's stdout as the pieces a subscriber got, each at its offset. */
typedef struct {
    zpar_client_t *c;
    uint64_t task;
    int warm; /* pieces seen before task was set */
    int pieces, bad, first_off;
    char seen[64];
    size_t seen_len; /* bytes covered, from the first piece's offset */
} offwatch_t;

static void off_cb (void *arg, zpar_engine_id_t e, zpar_task_id_t t, int stream, const void *data,
                    size_t len)
{
    offwatch_t *w = arg;
    int64_t off = zpar_client_output_offset (w->c);
    (void)e;
    if (!w->task) {
        w->warm++;
        return;
    }
    if (stream != 1 || t.id != w->task)
        return;
    if (off < 0 || (w->pieces && (size_t)off != w->seen_len) ||
        (size_t)off + len > sizeof (w->seen))
        w->bad++; /* unknown, or not following the last piece (none is lost here) */
    else {
        if (!w->pieces)
            w->first_off = (int)off;
        memcpy (w->seen + off, data, len);
        w->seen_len = (size_t)off + len;
    }
    w->pieces++;
}

/* Output pieces carry their offset in the stream: a subscriber from the
 * start gets 0 then the sum of the lengths; one that subscribes while the
 * task runs gets a first piece beyond 0, at the place its bytes have in the
 * result's stdout. */
static int cmd_iopub_offset (void)
{
    static const char full[] = "one-two-three";
    const char *argv[] = {"sh", "-c",
                          "printf one-; sleep 1.5; printf two-; sleep 1.5; printf three", NULL};
    zpar_client_t *a = connect_or_die (), *b = connect_or_die ();
    offwatch_t wa = {.c = a}, wb = {.c = b};
    zpar_error_t err;
    zpar_future_t *f;
    zpar_task_t *t;
    double end;

    zpar_client_on_output (a, off_cb, &wa, 0);
    {
        const int *const seen[] = {&wa.warm};
        iopub_warm_up (b, &a, seen, 1, "iopub-offset");
    }
    if (!(t = zpar_task_command (argv)) || !(f = zpar_submit (b, t, &err)))
        die ("iopub-offset: submit: %s", err.text);
    zpar_task_destroy (t);
    wa.task = wb.task = zpar_future_id (f).id;
    end = now_s () + tmo;
    while (!wa.pieces && now_s () < end) { /* the first piece went out */
        zpar_client_poll (b, 0.02, NULL);  /* (b's pump sends the task) */
        zpar_client_poll (a, 0.02, NULL);
    }
    zpar_client_on_output (b, off_cb, &wb, 1); /* b joins late */
    end = now_s () + tmo;
    while (!zpar_future_done (f) && now_s () < end) {
        zpar_client_poll (a, 0.05, NULL);
        zpar_client_poll (b, 0.05, NULL);
    }
    for (int i = 0; i < 10; i++) { /* what is still on its way */
        zpar_client_poll (a, 0.02, NULL);
        zpar_client_poll (b, 0.02, NULL);
    }
    if (check_echo (f, full, "iopub-offset") < 0)
        die ("iopub-offset: the task failed");
    out ("iopub-offset a pieces=%d first=%d bad=%d covered=%zu", wa.pieces, wa.first_off, wa.bad,
         wa.seen_len);
    out ("iopub-offset b pieces=%d first=%d bad=%d covered=%zu", wb.pieces, wb.first_off, wb.bad,
         wb.seen_len);
    if (wa.bad || wa.first_off != 0 || wa.seen_len != strlen (full) ||
        memcmp (wa.seen, full, wa.seen_len))
        fail ("iopub-offset: the early subscriber's pieces do not make the stdout");
    if (wb.bad || wb.pieces < 1 || wb.first_off <= 0 || wb.seen_len != strlen (full) ||
        memcmp (wb.seen + wb.first_off, full + wb.first_off, wb.seen_len - (size_t)wb.first_off))
        fail ("iopub-offset: the late subscriber's pieces are not where the stdout has them");
    zpar_future_destroy (f);
    zpar_client_destroy (a);
    zpar_client_destroy (b);
    return failures ? 1 : 0;
}

/* ------------------------------------------------------------ run */

static void print_result (const zpar_result_t *r, const char *prefix)
{
    size_t len;
    const void *p;
    char ids[32];
    char *e;
    fmt_id (zpar_result_id (r), ids, sizeof (ids));
    out ("%sid=%s", prefix, ids);
    out ("%sstatus=%s", prefix, zpar_status_name (zpar_result_status (r)));
    out ("%sexit=%d", prefix, zpar_result_exit_code (r));
    out ("%ssignal=%d", prefix, zpar_result_signal (r));
    out ("%sengine=%u", prefix, zpar_result_engine (r).id);
    out ("%sattempts=%u", prefix, zpar_result_attempts (r));
    out ("%swall=%.3f", prefix, zpar_result_wall (r));
    e = escape (zpar_result_error (r), strlen (zpar_result_error (r)));
    out ("%serror=%s", prefix, e);
    free (e);
    p = zpar_result_stdout (r, &len);
    e = escape (p ? p : "", p ? len : 0);
    out ("%sstdout=%s", prefix, e);
    free (e);
    p = zpar_result_stderr (r, &len);
    e = escape (p ? p : "", p ? len : 0);
    out ("%sstderr=%s", prefix, e);
    free (e);
    p = zpar_result_output (r, &len);
    e = escape (p ? p : "", p ? len : 0);
    out ("%soutput=%s", prefix, e);
    free (e);
}

static int cmd_run (int argc, char **argv)
{
    unsigned retries = 0, engine = 0;
    double timeout = 0, wait = tmo;
    int inl = 0, count = 1, i;
    const char *input = NULL, *fn = NULL;
    zpar_client_t *c;
    zpar_task_t *t;
    zpar_future_t **fs;
    zpar_error_t err;

    for (i = 0; i < argc; i++) {
        if (!strcmp (argv[i], "--retries") && i + 1 < argc)
            retries = (unsigned)atoi (argv[++i]);
        else if (!strcmp (argv[i], "--timeout") && i + 1 < argc)
            timeout = atof (argv[++i]);
        else if (!strcmp (argv[i], "--wait") && i + 1 < argc)
            wait = atof (argv[++i]);
        else if (!strcmp (argv[i], "--engine") && i + 1 < argc)
            engine = (unsigned)atoi (argv[++i]);
        else if (!strcmp (argv[i], "--count") && i + 1 < argc)
            count = atoi (argv[++i]);
        else if (!strcmp (argv[i], "--input") && i + 1 < argc)
            input = argv[++i];
        else if (!strcmp (argv[i], "--function") && i + 1 < argc)
            fn = argv[++i];
        else if (!strcmp (argv[i], "--inline"))
            inl = 1;
        else if (!strcmp (argv[i], "--")) {
            i++;
            break;
        } else {
            fprintf (stderr, "run: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (fn) {
        char *lib = strdup (fn), *colon = strrchr (lib, ':');
        if (!colon) {
            fprintf (stderr, "run: --function LIB:SYMBOL\n");
            return 2;
        }
        *colon = '\0';
        t = zpar_task_function (lib, colon + 1, input ? input : "", input ? strlen (input) : 0);
        free (lib);
    } else {
        if (i >= argc) {
            fprintf (stderr, "run: no command\n");
            return 2;
        }
        t = zpar_task_command ((const char *const *)(argv + i));
    }
    if (!t)
        die ("run: cannot make the task");
    if ((retries && zpar_task_set_retries (t, retries) < 0) ||
        (timeout > 0 && zpar_task_set_timeout (t, timeout) < 0) ||
        (inl && zpar_task_set_inline (t, 1) < 0))
        die ("run: cannot set the task options");
    c = connect_or_die ();
    fs = calloc ((size_t)count, sizeof (*fs));
    for (i = 0; i < count; i++) {
        fs[i] = engine ? zpar_submit_to (c, (zpar_engine_id_t){engine}, t, &err)
                       : zpar_submit (c, t, &err);
        if (!fs[i])
            die ("run: submit: %s", err.text);
    }
    zpar_task_destroy (t);
    for (i = 0; i < count; i++) {
        char prefix[16] = "";
        if (count > 1)
            snprintf (prefix, sizeof (prefix), "%d.", i);
        if (zpar_future_wait (fs[i], wait, &err) < 0) {
            out ("%sstatus=no-result", prefix);
            fprintf (stderr, "FAIL: run: %s\n", err.text);
            return 3;
        }
        print_result (zpar_future_result (fs[i]), prefix);
        zpar_future_destroy (fs[i]);
    }
    free (fs);
    zpar_client_destroy (c);
    return 0;
}

/* ------------------------------------------------------------ queued */

static int cmd_queued (int n)
{
    zpar_client_t *c = connect_or_die ();
    zpar_future_t **fs = calloc ((size_t)n, sizeof (*fs));
    zpar_error_t err;
    char want[64];
    for (int i = 0; i < n; i++) {
        zpar_task_t *t;
        snprintf (want, sizeof (want), "queued-%d", i);
        t = echo_task (want);
        if (!(fs[i] = zpar_submit (c, t, &err)))
            die ("queued: submit: %s", err.text);
        zpar_task_destroy (t);
    }
    /* make sure the controller has them before we say so */
    {
        zpar_queue_status_t st;
        double end = now_s () + tmo;
        do {
            get_status (c, &st);
            if (st.pending >= (uint64_t)n)
                break;
            sleep_s (0.05);
        } while (now_s () < end);
        out ("queued n=%d pending=%llu running=%llu", n, (unsigned long long)st.pending,
             (unsigned long long)st.running);
    }
    for (int i = 0; i < n; i++) {
        snprintf (want, sizeof (want), "queued-%d\n", i);
        if (check_echo (fs[i], want, "queued") == 0)
            out ("queued-done i=%d engine=%u", i,
                 zpar_result_engine (zpar_future_result (fs[i])).id);
        zpar_future_destroy (fs[i]);
    }
    out ("queued done failures=%d", failures);
    free (fs);
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

/* ------------------------------------------------------------ killtest */

typedef struct {
    uint64_t task;
    unsigned engine; /* where the task printed "started" */
    unsigned died;   /* engine reported died */
    double died_at;
} killwatch_t;

static void kill_out (void *arg, zpar_engine_id_t e, zpar_task_id_t t, int stream, const void *data,
                      size_t len)
{
    killwatch_t *k = arg;
    (void)stream;
    if (t.id == k->task && memmem (data, len, "started", 7) && !k->engine)
        k->engine = e.id;
}

static void kill_ev (void *arg, zpar_engine_id_t e, const char *ev)
{
    killwatch_t *k = arg;
    if (!strcmp (ev, "died") && !k->died) {
        k->died = e.id;
        k->died_at = now_s ();
    }
}

/* read one line from stdin within timeout seconds; 0 if a line came */
static int read_line (double timeout)
{
    struct pollfd p = {0, POLLIN, 0};
    char buf[256];
    if (poll (&p, 1, (int)(timeout * 1000)) <= 0)
        return -1;
    return fgets (buf, sizeof (buf), stdin) ? 0 : -1;
}

static int cmd_killtest (int argc, char **argv)
{
    unsigned retries = 0;
    double sleep_for = 30;
    zpar_client_t *c = connect_or_die ();
    zpar_error_t err;
    zpar_task_t *t;
    zpar_future_t *f;
    killwatch_t kw = {0};
    char script[128];
    const char *targv[] = {"sh", "-c", script, NULL};
    double end, killed_at;
    int pid = 0;

    for (int i = 0; i < argc; i++) {
        if (!strcmp (argv[i], "--retries") && i + 1 < argc)
            retries = (unsigned)atoi (argv[++i]);
        else if (!strcmp (argv[i], "--sleep") && i + 1 < argc)
            sleep_for = atof (argv[++i]);
    }
    zpar_client_on_output (c, kill_out, &kw, 1);
    zpar_client_on_engine_event (c, kill_ev, &kw);
    /* let the subscription reach the controller before the task prints */
    for (int i = 0; i < 4; i++)
        zpar_client_poll (c, 0.05, NULL);
    snprintf (script, sizeof (script), "echo started; sleep %g; echo finished", sleep_for);
    t = zpar_task_command (targv);
    if (retries)
        zpar_task_set_retries (t, retries);
    if (!(f = zpar_submit (c, t, &err)))
        die ("killtest: submit: %s", err.text);
    zpar_task_destroy (t);
    kw.task = zpar_future_id (f).id;
    /* where does it run: its "started" output names the engine; failing
     * that, the only busy engine */
    end = now_s () + tmo;
    while (!kw.engine && now_s () < end) {
        zpar_engine_info_t *l;
        size_t n, busy = 0;
        unsigned which = 0;
        zpar_client_poll (c, 0.1, NULL);
        if (kw.engine || zpar_future_done (f))
            break;
        live_engines (c, &l, &n);
        for (size_t i = 0; i < n; i++)
            if (!strcmp (l[i].state, "busy")) {
                busy++;
                which = l[i].id.id;
            }
        free (l);
        if (busy == 1 && now_s () + tmo - end > 2.0)
            kw.engine = which; /* no live output after 2 s: trust the state */
    }
    if (zpar_future_done (f))
        die ("killtest: the long task finished early: %s",
             zpar_result_error (zpar_future_result (f)));
    if (!kw.engine)
        die ("killtest: cannot tell which engine runs the task");
    {
        zpar_engine_info_t *l;
        size_t n;
        live_engines (c, &l, &n);
        for (size_t i = 0; i < n; i++)
            if (l[i].id.id == kw.engine)
                pid = l[i].pid;
        free (l);
    }
    out ("running engine=%u pid=%d", kw.engine, pid);
    /* the shell kills the engine, then writes a line; keep polling meanwhile
     * (the died event may come at once) */
    {
        struct pollfd p = {0, POLLIN, 0};
        end = now_s () + tmo;
        killed_at = 0;
        while (now_s () < end) {
            if (poll (&p, 1, 0) > 0) {
                killed_at = now_s ();
                if (read_line (0.1) < 0) { /* EOF without a line */
                }
                break;
            }
            zpar_client_poll (c, 0.02, NULL);
        }
        if (!killed_at)
            die ("killtest: nobody said the engine was killed");
    }
    end = now_s () + tmo;
    while (!kw.died && now_s () < end && !zpar_future_done (f))
        zpar_client_poll (c, 0.02, NULL);
    if (!kw.died) {
        /* the result may have come first: keep listening a little */
        double e2 = now_s () + tmo / 2;
        while (!kw.died && now_s () < e2)
            zpar_client_poll (c, 0.02, NULL);
    }
    if (kw.died)
        out ("died engine=%u detect_ms=%.0f", kw.died, (kw.died_at - killed_at) * 1000);
    else
        fail ("killtest: no 'died' notification for engine %u", kw.engine);
    if (kw.died && kw.died != kw.engine)
        fail ("killtest: engine %u reported dead, but %u was killed", kw.died, kw.engine);
    if (zpar_future_wait (f, tmo, &err) < 0)
        fail ("killtest: no final result: %s", err.text);
    else {
        const zpar_result_t *r = zpar_future_result (f);
        char *e = escape (zpar_result_error (r), strlen (zpar_result_error (r)));
        out ("final status=%s engine=%u attempts=%u error=%s",
             zpar_status_name (zpar_result_status (r)), zpar_result_engine (r).id,
             zpar_result_attempts (r), e);
        free (e);
    }
    zpar_future_destroy (f);
    /* the client did not notice: it keeps working */
    {
        zpar_task_t *t2 = echo_task ("after");
        zpar_future_t *f2 = zpar_submit (c, t2, &err);
        zpar_task_destroy (t2);
        if (!f2 || check_echo (f2, "after\n", "killtest after") < 0)
            fail ("killtest: the client cannot run a task after the engine died");
        else
            out ("after ok engine=%u", zpar_result_engine (zpar_future_result (f2)).id);
        zpar_future_destroy (f2);
    }
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

/* ------------------------------------------------------------ raw wire */

static const char *ep_names[] = {
    "registration", "notification", "hb_ping",        "hb_pong",
    "mux_client",   "mux_engine",   "control_client", "control_engine",
    "task_client",  "task_engine",  "iopub_client",   "iopub_engine",
};
enum {
    EP_REG,
    EP_NOTIFY,
    EP_PING,
    EP_PONG,
    EP_MUXC,
    EP_MUXE,
    EP_CTLC,
    EP_CTLE,
    EP_TASKC,
    EP_TASKE,
    EP_IOPUBC,
    EP_IOPUBE,
    EP_N
};

typedef struct {
    char addr[EP_N][256];
    uint8_t key[32];
} conn_t;

static char *slurp (const char *path)
{
    FILE *f = fopen (path, "r");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek (f, 0, SEEK_END);
    n = ftell (f);
    rewind (f);
    buf = calloc (1, (size_t)n + 1);
    if (fread (buf, 1, (size_t)n, f) != (size_t)n) {
        free (buf);
        buf = NULL;
    }
    fclose (f);
    return buf;
}

/* the string value of "name": "value" in flat JSON */
static int json_str (const char *text, const char *name, char *outbuf, size_t size)
{
    char pat[80];
    const char *p, *q;
    snprintf (pat, sizeof (pat), "\"%s\"", name);
    if (!(p = strstr (text, pat)))
        return -1;
    p += strlen (pat);
    while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n')
        p++;
    if (*p != '"' || !(q = strchr (p + 1, '"')) || (size_t)(q - p - 1) >= size)
        return -1;
    memcpy (outbuf, p + 1, (size_t)(q - p - 1));
    outbuf[q - p - 1] = '\0';
    return 0;
}

static void read_conn (conn_t *ci)
{
    const char *path = connfile ? connfile : getenv ("ZPAR_CONNECTION_FILE");
    char *text, hex[80];
    if (!path)
        die ("raw tests need -f CONNFILE or ZPAR_CONNECTION_FILE");
    if (!(text = slurp (path)))
        die ("cannot read %s", path);
    for (int i = 0; i < EP_N; i++)
        if (json_str (text, ep_names[i], ci->addr[i], sizeof (ci->addr[i])) < 0)
            die ("%s: no \"%s\" address", path, ep_names[i]);
    if (json_str (text, "key", hex, sizeof (hex)) < 0 || strlen (hex) != 64)
        die ("%s: no key", path);
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf (hex + 2 * i, "%2x", &v);
        ci->key[i] = (uint8_t)v;
    }
    free (text);
}

/* a zpar message built by hand, after doc/protocol.md */
typedef struct {
    uint16_t type;
    uint32_t flags;
    uint64_t session, seq, task, time_us;
    uint32_t engine, client;
    uint8_t body[4096];
    size_t blen;
} rawmsg_t;

static uint64_t wall_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void put_le (uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t raw_session;
static uint64_t raw_seq;

static void raw_init (rawmsg_t *m, uint16_t type)
{
    memset (m, 0, sizeof (*m));
    m->type = type;
    m->session = raw_session;
    m->seq = ++raw_seq;
    m->time_us = wall_us ();
}

static void raw_field (rawmsg_t *m, uint16_t key, const void *data, uint32_t len)
{
    if (m->blen + 6 + len > sizeof (m->body))
        die ("raw message too long");
    put_le (m->body + m->blen, key, 2);
    put_le (m->body + m->blen + 2, len, 4);
    memcpy (m->body + m->blen + 6, data, len);
    m->blen += 6 + len;
}

static void raw_u64 (rawmsg_t *m, uint16_t key, uint64_t v)
{
    uint8_t b[8];
    put_le (b, v, 8);
    raw_field (m, key, b, 8);
}

static void raw_str (rawmsg_t *m, uint16_t key, const char *s)
{
    raw_field (m, key, s, (uint32_t)strlen (s));
}

static void raw_header (const rawmsg_t *m, uint8_t h[48])
{
    put_le (h, 1, 2);
    put_le (h + 2, m->type, 2);
    put_le (h + 4, m->flags, 4);
    put_le (h + 8, m->session, 8);
    put_le (h + 16, m->seq, 8);
    put_le (h + 24, m->task, 8);
    put_le (h + 32, m->time_us, 8);
    put_le (h + 40, m->engine, 4);
    put_le (h + 44, m->client, 4);
}

static void raw_sign (const uint8_t *key, const uint8_t h[48], const void *body, size_t blen,
                      uint8_t sig[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init (&st, key, 32);
    crypto_auth_hmacsha256_update (&st, h, 48);
    if (blen)
        crypto_auth_hmacsha256_update (&st, body, blen);
    crypto_auth_hmacsha256_final (&st, sig);
}

/* the frames of a message: [idents...] delim sig hdr body */
typedef struct {
    int n;
    size_t len[12];
    uint8_t *data[12];
} frames_t;

static void fr_add (frames_t *f, const void *d, size_t len)
{
    if (f->n >= 12)
        die ("too many frames");
    f->data[f->n] = malloc (len ? len : 1);
    memcpy (f->data[f->n], d, len);
    f->len[f->n++] = len;
}

static void fr_free (frames_t *f)
{
    for (int i = 0; i < f->n; i++)
        free (f->data[i]);
    f->n = 0;
}

/* sign with key (NULL: an all-zero signature) */
static void raw_frames (frames_t *f, const rawmsg_t *m, const uint8_t *key, const char *ident)
{
    uint8_t h[48], sig[32] = {0};
    memset (f, 0, sizeof (*f));
    raw_header (m, h);
    if (key)
        raw_sign (key, h, m->body, m->blen, sig);
    if (ident)
        fr_add (f, ident, strlen (ident));
    fr_add (f, "ZPAR1", 5);
    fr_add (f, sig, 32);
    fr_add (f, h, 48);
    fr_add (f, m->body, m->blen);
}

static int fr_send (void *s, const frames_t *f)
{
    for (int i = 0; i < f->n; i++)
        if (zmq_send (s, f->data[i], f->len[i], i < f->n - 1 ? ZMQ_SNDMORE : 0) < 0)
            return -1;
    return 0;
}

/* receive one multipart message within timeout; returns the number of
 * frames, 0 on timeout; frames copied into f when non-NULL */
static int fr_recv (void *s, double timeout, frames_t *f)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    int n = 0, more = 1;
    if (f)
        memset (f, 0, sizeof (*f));
    if (zmq_poll (&it, 1, (long)(timeout * 1000)) <= 0)
        return 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, s, 0) < 0) {
            zmq_msg_close (&m);
            break;
        }
        if (f && f->n < 12)
            fr_add (f, zmq_msg_data (&m), zmq_msg_size (&m));
        more = zmq_msg_more (&m);
        zmq_msg_close (&m);
        n++;
    }
    return n;
}

static void *raw_socket (void *ctx, int type, const char *addr, const char *ident)
{
    void *s = zmq_socket (ctx, type);
    int linger = 500, t = 2000;
    if (!s)
        die ("zmq_socket: %s", zmq_strerror (errno));
    zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_setsockopt (s, ZMQ_SNDTIMEO, &t, sizeof (t));
    if (ident)
        zmq_setsockopt (s, ZMQ_ROUTING_ID, ident, strlen (ident));
    if (zmq_connect (s, addr) < 0)
        die ("connect %s: %s", addr, zmq_strerror (errno));
    return s;
}

static uint64_t dropped_now (zpar_client_t *c)
{
    zpar_queue_status_t st;
    get_status (c, &st);
    return st.dropped;
}

/* send every kind of bad message on a socket connected to a controller
 * socket; for_router: the peer is a ROUTER expecting zpar messages.
 * Returns the number of messages sent that must be dropped. */
static int send_garbage (void *s, const conn_t *ci, int msgtype, int with_ident)
{
    uint8_t junk[2048], wrongkey[32];
    const char *ident = with_ident ? "e1" : NULL;
    frames_t f;
    rawmsg_t m;
    int sent = 0;

    randombytes_buf (wrongkey, sizeof (wrongkey));
    /* 1. random frames: 1..9 frames of 0..300 random bytes, 30 times */
    for (int k = 0; k < 30; k++) {
        int nf = 1 + (int)randombytes_uniform (9);
        for (int i = 0; i < nf; i++) {
            size_t len = randombytes_uniform (300);
            randombytes_buf (junk, len);
            if (zmq_send (s, junk, len, i < nf - 1 ? ZMQ_SNDMORE : 0) < 0)
                return sent;
        }
        sent++;
    }
    /* 2. an empty frame; many frames; a huge frame; a long routing frame */
    zmq_send (s, "", 0, 0);
    sent++;
    for (int i = 0; i < 40; i++)
        zmq_send (s, "ZPAR1", 5, i < 39 ? ZMQ_SNDMORE : 0);
    sent++;
    {
        size_t big = 4u << 20;
        uint8_t *b = calloc (1, big);
        memcpy (b, "ZPAR1", 5);
        zmq_send (s, b, big, 0);
        free (b);
        sent++;
    }
    raw_init (&m, (uint16_t)msgtype);
    raw_str (&m, 70, "status");
    raw_frames (&f, &m, ci->key, NULL);
    {
        char longid[200];
        memset (longid, 'x', sizeof (longid));
        zmq_send (s, longid, sizeof (longid), ZMQ_SNDMORE);
        fr_send (s, &f);
        sent++;
    }
    fr_free (&f);
    /* 3. truncated: a valid message missing its last frames, or cut short */
    for (int cut = 1; cut <= 3; cut++) {
        raw_init (&m, (uint16_t)msgtype);
        raw_str (&m, 70, "status");
        raw_frames (&f, &m, ci->key, ident);
        f.n -= cut;
        f.len[f.n - 1] = f.len[f.n - 1] ? f.len[f.n - 1] - 1 : 0; /* and the last one cut short */
        fr_send (s, &f);
        f.n += cut;
        fr_free (&f);
        sent++;
    }
    /* a header of 47 bytes, a signature of 31 */
    raw_init (&m, (uint16_t)msgtype);
    raw_frames (&f, &m, ci->key, ident);
    f.len[f.n - 2] = 47;
    fr_send (s, &f);
    f.len[f.n - 2] = 48;
    f.len[f.n - 3] = 31;
    fr_send (s, &f);
    fr_free (&f);
    sent += 2;
    /* 4. unsigned: valid frames, zero signature */
    for (int k = 0; k < 5; k++) {
        raw_init (&m, (uint16_t)msgtype);
        m.task = 0xdead00000000ull + (uint64_t)k;
        raw_u64 (&m, 1, 1);
        raw_str (&m, 2, "echo");
        raw_str (&m, 2, "unsigned");
        raw_str (&m, 70, "status");
        raw_frames (&f, &m, NULL, ident);
        fr_send (s, &f);
        fr_free (&f);
        sent++;
    }
    /* 5. forged: signed with a wrong key */
    for (int k = 0; k < 5; k++) {
        raw_init (&m, (uint16_t)msgtype);
        m.task = 0xbeef00000000ull + (uint64_t)k;
        raw_u64 (&m, 1, 1);
        raw_str (&m, 2, "echo");
        raw_str (&m, 2, "forged");
        raw_str (&m, 70, "status");
        raw_frames (&f, &m, wrongkey, ident);
        fr_send (s, &f);
        fr_free (&f);
        sent++;
    }
    /* 6. a right signature on a tampered body (a bit flipped after signing) */
    raw_init (&m, (uint16_t)msgtype);
    raw_str (&m, 70, "status");
    raw_frames (&f, &m, ci->key, ident);
    f.data[f.n - 1][0] ^= 1;
    fr_send (s, &f);
    fr_free (&f);
    sent++;
    /* 7. stale: rightly signed, but an hour old */
    raw_init (&m, (uint16_t)msgtype);
    m.time_us -= 3600ull * 1000000u;
    raw_str (&m, 70, "status");
    raw_frames (&f, &m, ci->key, ident);
    fr_send (s, &f);
    fr_free (&f);
    sent++;
    /* 8. unknown message type and version, rightly signed */
    raw_init (&m, 999);
    raw_frames (&f, &m, ci->key, ident);
    fr_send (s, &f);
    fr_free (&f);
    sent++;
    return sent;
}

/* a valid signed query on the registrar is answered once; the same bytes
 * again are a replay and are not */
static void replay_registrar (void *ctx, const conn_t *ci)
{
    void *s = raw_socket (ctx, ZMQ_DEALER, ci->addr[EP_REG], NULL);
    frames_t f, r;
    rawmsg_t m;
    int n;

    raw_init (&m, 6 /* query */);
    m.flags = 1u << 8; /* signed for the registrar channel */
    m.task = 0x77770001ull;
    raw_str (&m, 70, "status");
    raw_frames (&f, &m, ci->key, NULL);
    if (fr_send (s, &f) < 0)
        die ("replay: send: %s", zmq_strerror (errno));
    n = fr_recv (s, tmo, &r);
    if (n != 4 || r.len[0] != 5 || memcmp (r.data[0], "ZPAR1", 5) != 0)
        fail ("replay: a hand-signed valid query got no proper answer (%d frames): "
              "the test's signing or the hub is wrong",
              n);
    else
        out ("replay first=answered");
    fr_free (&r);
    fr_send (s, &f); /* the replay */
    n = fr_recv (s, 2.0, &r);
    out ("replay second=%s", n ? "answered" : "dropped");
    if (n)
        fail ("replay: the hub answered a replayed query");
    fr_free (&r);
    /* a seq far below the window, same session: also a replay */
    fr_free (&f);
    zmq_close (s);
}

/* a valid signed task on the task queue runs once; its replay must not run
 * (the engine would print the marker twice, and we would get two results) */
static void replay_task (void *ctx, const conn_t *ci, zpar_client_t *c, const char *marker)
{
    void *s = raw_socket (ctx, ZMQ_DEALER, ci->addr[EP_TASKC], NULL);
    frames_t f, r;
    rawmsg_t m;
    int n, results = 0;
    uint32_t client = zpar_client_id (c);
    (void)client;

    raw_init (&m, 10 /* task */);
    m.flags = 3u << 8; /* signed for the task channel */
    /* a client number nobody else uses (no client registers 4 billion times) */
    m.client = 0xfffffff0u;
    m.task = ((uint64_t)m.client << 32) | 1u;
    raw_u64 (&m, 1, 1);
    raw_str (&m, 2, "echo");
    raw_str (&m, 2, marker);
    raw_frames (&f, &m, ci->key, NULL);
    fr_send (s, &f);
    n = fr_recv (s, tmo, &r);
    if (n == 4 && r.len[2] == 48 && r.data[2][2] == 11)
        results++;
    out ("replay task first=%s", results ? "result" : "none");
    if (!results)
        fail ("replay: a hand-signed valid task got no result (%d frames)", n);
    fr_free (&r);
    fr_send (s, &f);
    n = fr_recv (s, 3.0, &r);
    out ("replay task second=%s", n ? "result" : "dropped");
    if (n)
        fail ("replay: a replayed task was run again");
    fr_free (&r);
    fr_free (&f);
    zmq_close (s);
}

static int cmd_garbage (void)
{
    conn_t ci;
    void *ctx;
    void *sock[EP_N];
    zpar_client_t *c;
    uint64_t d0, dstart;
    const int types[EP_N] = {ZMQ_DEALER, ZMQ_XSUB,   ZMQ_XSUB,   ZMQ_DEALER, ZMQ_DEALER, ZMQ_DEALER,
                             ZMQ_DEALER, ZMQ_DEALER, ZMQ_DEALER, ZMQ_DEALER, ZMQ_XSUB,   ZMQ_PUB};
    const int msgtype[EP_N] = {6, 40, 40, 6, 10, 11, 20, 23, 10, 11, 30, 30};
    /* the controller verifies (and counts what it drops) on these */
    const int counted[EP_N] = {1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    char marker[64];

    read_conn (&ci);
    if (sodium_init () < 0)
        die ("sodium_init");
    randombytes_buf (&raw_session, sizeof (raw_session));
    raw_session |= 1;
    c = connect_or_die ();
    /* a subscriber to every output sees the garbage the IOPub proxy passes */
    dstart = dropped_now (c);
    out ("garbage dropped_before=%llu", (unsigned long long)dstart);
    ctx = zmq_ctx_new ();
    for (int i = 0; i < EP_N; i++)
        sock[i] = raw_socket (ctx, types[i], ci.addr[i], NULL);
    sleep_s (0.3); /* connections up */
    for (int i = 0; i < EP_N; i++) {
        int sent;
        d0 = dropped_now (c);
        sent = send_garbage (sock[i], &ci, msgtype[i], 0);
        if (counted[i]) {
            /* the count grows asynchronously (scheduler threads) */
            double end = now_s () + tmo / 3;
            uint64_t d;
            while ((d = dropped_now (c)) == d0 && now_s () < end)
                sleep_s (0.05);
            out ("garbage endpoint=%s sent=%d dropped=+%llu", ep_names[i], sent,
                 (unsigned long long)(d - d0));
            if (d == d0)
                fail ("garbage at %s (%s) was not counted as dropped", ep_names[i], ci.addr[i]);
        } else
            out ("garbage endpoint=%s sent=%d", ep_names[i], sent);
        /* the controller keeps serving after each endpoint's dose */
        {
            zpar_task_t *t = echo_task ("alive");
            zpar_error_t err;
            zpar_future_t *f = zpar_submit (c, t, &err);
            zpar_task_destroy (t);
            if (!f || check_echo (f, "alive\n", ep_names[i]) < 0)
                fail ("the cluster stopped serving after garbage at %s", ep_names[i]);
            zpar_future_destroy (f);
        }
    }
    for (int i = 0; i < EP_N; i++)
        zmq_close (sock[i]);
    replay_registrar (ctx, &ci);
    snprintf (marker, sizeof (marker), "replay-%u", randombytes_random ());
    replay_task (ctx, &ci, c, marker);
    zmq_ctx_term (ctx);
    /* the normal client still works: direct and load-balanced */
    {
        zpar_engine_info_t *l;
        size_t n;
        zpar_error_t err;
        int live = live_engines (c, &l, &n), okn = 0;
        for (size_t i = 0; i < n; i++) {
            zpar_task_t *t;
            zpar_future_t *f;
            char want[32];
            if (!strcmp (l[i].state, "dead"))
                continue;
            snprintf (want, sizeof (want), "still-%u", l[i].id.id);
            t = echo_task (want);
            f = zpar_submit_to (c, l[i].id, t, &err);
            zpar_task_destroy (t);
            strcat (want, "\n");
            if (f && check_echo (f, want, "after garbage") == 0)
                okn++;
            zpar_future_destroy (f);
        }
        out ("garbage after live=%d direct_ok=%d", live, okn);
        if (okn != live || live == 0)
            fail ("after the garbage, %d of %d engines answered a direct task", okn, live);
        free (l);
    }
    {
        uint64_t d = dropped_now (c);
        out ("garbage dropped_after=%llu", (unsigned long long)d);
        if (d <= dstart)
            fail ("zpar_client_queue_status reports no dropped messages");
    }
    zpar_client_destroy (c);
    /* a fresh client can still register */
    c = connect_or_die ();
    out ("garbage new_client=%u", zpar_client_id (c));
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

/* a signed message with a malformed body: its field length runs past the
 * end.  Right signature, so only the strict decoder can catch it; it must
 * not be answered, and must be counted as dropped like any other. */
static int cmd_malformed_body (void)
{
    conn_t ci;
    void *ctx;
    zpar_client_t *c;

    read_conn (&ci);
    if (sodium_init () < 0)
        die ("sodium_init");
    randombytes_buf (&raw_session, sizeof (raw_session));
    raw_session |= 1;
    c = connect_or_die ();
    ctx = zmq_ctx_new ();
    /* a signed message with a malformed body: its field length runs past
     * the end.  Right signature, so only the strict decoder can catch it. */
    {
        void *s = raw_socket (ctx, ZMQ_DEALER, ci.addr[EP_REG], NULL);
        rawmsg_t m;
        frames_t f, r;
        uint64_t d1 = dropped_now (c), d;
        double end;
        raw_init (&m, 6);
        m.flags = 1u << 8; /* signed for the registrar channel */
        raw_str (&m, 70, "status");
        put_le (m.body + 2, 5000, 4); /* QUERY's length now past the end */
        raw_frames (&f, &m, ci.key, NULL);
        fr_send (s, &f);
        fr_free (&f);
        if (fr_recv (s, 2.0, &r))
            fail ("the hub answered a query with a malformed body");
        fr_free (&r);
        end = now_s () + 3;
        while ((d = dropped_now (c)) == d1 && now_s () < end)
            sleep_s (0.05);
        out ("garbage malformed_body dropped=+%llu", (unsigned long long)(d - d1));
        if (d == d1)
            fail ("a signed message with a malformed body was not counted as dropped");
        zmq_close (s);
    }
    zmq_ctx_term (ctx);
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

/* unsigned peers connect with the routing identity of a real engine ("e1")
 * to the engine-side sockets; the engine's traffic must not move to them */
static int cmd_hijack (void)
{
    conn_t ci;
    void *ctx, *s[3];
    const int eps[3] = {EP_MUXE, EP_TASKE, EP_CTLE};
    zpar_client_t *c;
    zpar_engine_info_t *l;
    size_t n;
    unsigned target = 0;
    int ok = 0, total = 10, stolen = 0;
    zpar_error_t err;

    read_conn (&ci);
    if (sodium_init () < 0)
        die ("sodium_init");
    c = connect_or_die ();
    live_engines (c, &l, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp (l[i].state, "dead") != 0) {
            target = l[i].id.id;
            break;
        }
    free (l);
    if (!target)
        die ("hijack: no live engine");
    {
        char ident[16];
        snprintf (ident, sizeof (ident), "e%u", target);
        ctx = zmq_ctx_new ();
        for (int i = 0; i < 3; i++)
            s[i] = raw_socket (ctx, ZMQ_DEALER, ci.addr[eps[i]], ident);
        out ("hijack identity=%s", ident);
    }
    sleep_s (0.5);
    for (int i = 0; i < total; i++) {
        char want[32];
        zpar_task_t *t;
        zpar_future_t *f;
        double w = tmo;
        snprintf (want, sizeof (want), "hijack-%d", i);
        t = echo_task (want);
        f = zpar_submit_to (c, (zpar_engine_id_t){target}, t, &err);
        zpar_task_destroy (t);
        if (!f)
            die ("hijack: submit: %s", err.text);
        tmo = 5.0;
        strcat (want, "\n");
        if (check_echo (f, want, "hijack") == 0)
            ok++;
        tmo = w;
        zpar_future_destroy (f);
        /* did a task reach the impostor? */
        for (int k = 0; k < 3; k++) {
            frames_t r;
            while (fr_recv (s[k], 0.01, &r) > 0) {
                stolen++;
                fr_free (&r);
            }
        }
    }
    out ("hijack direct_ok=%d of=%d stolen=%d", ok, total, stolen);
    if (stolen)
        fail ("hijack: an unauthenticated peer with identity e%u received %d of the engine's "
              "messages",
              target, stolen);
    if (ok != total)
        fail ("hijack: %d of %d direct tasks to engine %u were lost", total - ok, total, target);
    for (int i = 0; i < 3; i++)
        zmq_close (s[i]);
    zmq_ctx_term (ctx);
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

/* ------------------------------------------------------------ main */

static void usage (void)
{
    fprintf (stderr,
             "usage: zpar-testclient [-f CONNFILE] [-t SECONDS] COMMAND [ARGS]\n"
             "commands: engines, status, wait-engines N, wait-engines-timeout N S,\n"
             "  connect-opts DIR, future-for ID..., lost SECONDS, stale-connect,\n"
             "  callback-deadlock,\n"
             "  direct, balanced N [SLEEP],\n"
             "  clients K N [LIB], iopub, run [OPTS] -- ARGV | --function LIB:SYM,\n"
             "  queued N, killtest [--retries K] [--sleep S], garbage, malformed-body, hijack\n");
    exit (2);
}

int main (int argc, char **argv)
{
    int i = 1;
    const char *scale = getenv ("ZPAR_TEST_TIMEOUT_SCALE");
    const char *cmd;

    signal (SIGPIPE, SIG_IGN);
    setvbuf (stdout, NULL, _IOLBF, 0);
    if (scale && atof (scale) > 0)
        tmo *= atof (scale);
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp (argv[i], "-f") && i + 1 < argc)
            connfile = argv[++i];
        else if (!strcmp (argv[i], "-t") && i + 1 < argc) {
            tmo = atof (argv[++i]);
            if (scale && atof (scale) > 0)
                tmo *= atof (scale);
        } else
            usage ();
    }
    if (i >= argc)
        usage ();
    cmd = argv[i++];
    argc -= i;
    argv += i;
    if (!strcmp (cmd, "engines"))
        return cmd_engines ();
    if (!strcmp (cmd, "status"))
        return cmd_status ();
    if (!strcmp (cmd, "wait-engines") && argc >= 1)
        return cmd_wait_engines (atoi (argv[0]));
    if (!strcmp (cmd, "wait-engines-timeout") && argc >= 2)
        return cmd_wait_engines_timeout (atoi (argv[0]), atof (argv[1]));
    if (!strcmp (cmd, "connect-opts") && argc >= 1)
        return cmd_connect_opts (argv[0]);
    if (!strcmp (cmd, "future-for") && argc >= 1)
        return cmd_future_for (argc, argv);
    if (!strcmp (cmd, "lost") && argc >= 1)
        return cmd_lost (atof (argv[0]));
    if (!strcmp (cmd, "callback-deadlock"))
        return cmd_callback_deadlock ();
    if (!strcmp (cmd, "stale-connect"))
        return cmd_stale_connect ();
    if (!strcmp (cmd, "direct"))
        return cmd_direct ();
    if (!strcmp (cmd, "control"))
        return cmd_control ();
    if (!strcmp (cmd, "balanced") && argc >= 1)
        return cmd_balanced (atoi (argv[0]), argc >= 2 ? atof (argv[1]) : 0);
    if (!strcmp (cmd, "clients") && argc >= 2)
        return cmd_clients (atoi (argv[0]), atoi (argv[1]), argc >= 3 ? argv[2] : NULL);
    if (!strcmp (cmd, "iopub"))
        return cmd_iopub ();
    if (!strcmp (cmd, "iopub-offset"))
        return cmd_iopub_offset ();
    if (!strcmp (cmd, "run"))
        return cmd_run (argc, argv);
    if (!strcmp (cmd, "queued") && argc >= 1)
        return cmd_queued (atoi (argv[0]));
    if (!strcmp (cmd, "killtest"))
        return cmd_killtest (argc, argv);
    if (!strcmp (cmd, "garbage"))
        return cmd_garbage ();
    if (!strcmp (cmd, "malformed-body"))
        return cmd_malformed_body ();
    if (!strcmp (cmd, "hijack"))
        return cmd_hijack ();
    usage ();
    return 2;
}
