/* test_sweep_runner.c - the sweep runner's paths that need no cluster: bad
 * input, unreachable clusters, the private-cluster launcher (with a fake
 * zpar program), the journal lock, status and report.  Running points on
 * a real cluster is tests/system/t0400-sweep.sh. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "cluster.h"
#include "conn.h"
#include "journal.h"
#include "reactor.h"
#include "runlog.h"
#include "runner.h"
#include "spec.h"
#include "status.h"
#include "tap.h"

static char dir[256];

static void write_text (const char *path, const char *text)
{
    FILE *f = fopen (path, "w");
    if (!f)
        exit (99);
    fputs (text, f);
    fclose (f);
}

static char *read_text (const char *path)
{
    static char buf[65536];
    FILE *f = fopen (path, "r");
    size_t n;
    if (!f)
        return NULL;
    n = fread (buf, 1, sizeof (buf) - 1, f);
    buf[n] = '\0';
    fclose (f);
    return buf;
}

static int exists (const char *path)
{
    return access (path, F_OK) == 0;
}

static int matches (const char *text, const char *re)
{
    regex_t r;
    int m;
    if (regcomp (&r, re, REG_EXTENDED | REG_NOSUB) != 0)
        return 0;
    m = regexec (&r, text, 0, NULL, 0) == 0;
    regfree (&r);
    return m;
}

static FILE *devnull (void)
{
    static FILE *f;
    if (!f)
        f = fopen ("/dev/null", "w");
    return f;
}

static void test_bad_input (void)
{
    zpar_sweep_run_opts_t o;
    zpar_error_t err = {{0}};
    char path[512], jpath[600];
    static const struct {
        const char *text;
        const char *re; /* what err must look like */
    } bad[] = {
        {"name: b\ncommand: [\"echo\", \"{y}\"]\nparams:\n  x: [1]\n", ":2:[0-9]+: .*'\\{y\\}'"},
        {"name: b\ncommand: echo\nparms:\n  x: [1]\n", ":3:1: unknown key 'parms'"},
        {"name: b\ncommand: echo\nparams:\n  x: {range: [0, 1, 0]}\n", ":4:[0-9]+: "},
        {"name: b\ncommand: echo\nparams: [1, 2\n", ":[0-9]+:[0-9]+: "},
        {"name: b\ncommand: echo\nretries: two\nparams:\n  x: [1]\n", ":3:[0-9]+: "},
    };

    memset (&o, 0, sizeof (o));
    ok (zpar__sweep_run (NULL, &err) == ZPAR_SWEEP_EXIT_BAD_INPUT, "NULL opts: exit 2");
    ok (zpar__sweep_run (&o, &err) == ZPAR_SWEEP_EXIT_BAD_INPUT, "no sweep path: exit 2");
    snprintf (path, sizeof (path), "%s/missing.yaml", dir);
    o.sweep_path = path;
    ok (zpar__sweep_run (&o, &err) == ZPAR_SWEEP_EXIT_BAD_INPUT, "missing file: exit 2 (%s)",
        err.text);
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        snprintf (path, sizeof (path), "%s/bad%zu.yaml", dir, i);
        snprintf (jpath, sizeof (jpath), "%s.journal.sqlite", path);
        write_text (path, bad[i].text);
        memset (&o, 0, sizeof (o));
        o.sweep_path = path;
        o.private_cluster = 1;
        o.zpar_exe = "/bin/false";
        o.log = devnull ();
        err.text[0] = '\0';
        ok (zpar__sweep_run (&o, &err) == ZPAR_SWEEP_EXIT_BAD_INPUT, "bad sweep %zu: exit 2", i);
        ok (strncmp (err.text, path, strlen (path)) == 0 && matches (err.text, bad[i].re),
            "bad sweep %zu: error names FILE:LINE:COLUMN: '%s'", i, err.text);
        ok (!exists (jpath), "bad sweep %zu: no journal created", i);
        ok (zpar__sweep_status (path, NULL, 0, devnull (), &err) == ZPAR_SWEEP_EXIT_BAD_INPUT,
            "bad sweep %zu: status exits 2", i);
        ok (zpar__sweep_report (path, NULL, ZPAR_REPORT_CSV, "-", &err) ==
                ZPAR_SWEEP_EXIT_BAD_INPUT,
            "bad sweep %zu: report exits 2", i);
    }
}

static const char good[] = "name: good\n"
                           "command: [\"sh\", \"-c\", \"exit {code}\"]\n"
                           "params:\n"
                           "  x: [1, 2, 3]\n"
                           "  code: [0]\n";

static void test_unreachable (void)
{
    zpar_sweep_run_opts_t o;
    zpar_error_t err = {{0}};
    zpar_conninfo_t ci;
    char path[512], conn[512], zdir[512], fake[512], args[512], *text;

    snprintf (path, sizeof (path), "%s/good.yaml", dir);
    write_text (path, good);

    /* a connection file whose controller does not exist */
    memset (&ci, 0, sizeof (ci));
    for (int i = 0; i < ZPAR_EP_COUNT; i++)
        snprintf (ci.addr[i], sizeof (ci.addr[i]), "tcp://127.0.0.1:%d", 9 + i);
    snprintf (ci.host, sizeof (ci.host), "nowhere");
    snprintf (ci.scheme, sizeof (ci.scheme), "leastload");
    snprintf (ci.job, sizeof (ci.job), "local");
    snprintf (conn, sizeof (conn), "%s/dead.json", dir);
    ok (zpar__conn_write (conn, &ci, &err) == 0, "wrote a connection file to nowhere");
    setenv ("ZPAR_CONNECT_TIMEOUT", "0.5", 1);
    memset (&o, 0, sizeof (o));
    o.sweep_path = path;
    o.connection_file = conn;
    o.private_cluster = 1; /* an explicit file is never replaced by a private cluster */
    o.zpar_exe = "/bin/false";
    o.log = devnull ();
    ok (zpar__sweep_run (&o, &err) == ZPAR_SWEEP_EXIT_UNREACHABLE,
        "controller not answering: exit 3 (%s)", err.text);
    o.connection_file = NULL;
    setenv ("ZPAR_CONNECTION_FILE", conn, 1);
    ok (zpar__sweep_run (&o, &err) == ZPAR_SWEEP_EXIT_UNREACHABLE,
        "$ZPAR_CONNECTION_FILE not answering: exit 3");
    unsetenv ("ZPAR_CONNECTION_FILE");

    /* no cluster at all, and no private one allowed */
    snprintf (zdir, sizeof (zdir), "%s/zpardir", dir);
    mkdir (zdir, 0700);
    setenv ("ZPAR_DIR", zdir, 1);
    unsetenv ("SLURM_JOB_ID");
    unsetenv ("PBS_JOBID");
    o.private_cluster = 0;
    ok (zpar__sweep_run (&o, &err) == ZPAR_SWEEP_EXIT_UNREACHABLE,
        "no cluster, no private cluster: exit 3 (%s)", err.text);

    /* a private cluster whose start fails: exit 3, after stopping the one
     * an earlier run left (its record names a process that is gone), and
     * nothing is left behind */
    snprintf (fake, sizeof (fake), "%s/fakezpar", dir);
    snprintf (args, sizeof (args), "%s/fakezpar.args", dir);
    {
        char script[1024], cdir[600], pids[700];
        snprintf (script, sizeof (script),
                  "#!/bin/sh\necho \"$*\" >> %s\n"
                  "case \"$1\" in controller) exit 1;; esac\nexit 0\n",
                  args);
        write_text (fake, script);
        chmod (fake, 0755);
        snprintf (cdir, sizeof (cdir), "%s/good.out/.cluster", dir);
        snprintf (pids, sizeof (pids), "%s/pids", cdir);
        snprintf (zdir, sizeof (zdir), "%s/good.out", dir);
        mkdir (zdir, 0700);
        mkdir (cdir, 0700);
        write_text (pids, "controller 999999 1\n"); /* gone: start time 1 */
        o.private_cluster = 1;
        o.engines = 3;
        o.zpar_exe = fake;
        o.log = NULL;
        {
            FILE *logf = tmpfile ();
            o.log = logf;
            ok (zpar__sweep_run (&o, &err) == ZPAR_SWEEP_EXIT_UNREACHABLE,
                "private cluster does not start: exit 3 (%s)", err.text);
            ok (strstr (err.text, "could not start a private cluster") != NULL,
                "the error says so");
            if (logf) {
                char buf[4096];
                size_t n;
                rewind (logf);
                n = fread (buf, 1, sizeof (buf) - 1, logf);
                buf[n] = '\0';
                ok (strstr (buf, "stopping a private cluster left by an earlier run") != NULL,
                    "the cluster left by an earlier run is stopped first");
                fclose (logf);
            }
            o.log = devnull ();
        }
        text = read_text (args);
        ok (text && strstr (text, "controller --dir ") && strstr (text, "good.out/.cluster"),
            "the local launcher started its controller in <output>/.cluster");
        ok (!exists (pids), "nothing recorded is left after the failure");
    }
    unsetenv ("ZPAR_CONNECT_TIMEOUT");
}

static void test_lock (void)
{
    zpar_sweep_run_opts_t o;
    zpar_error_t err = {{0}};
    char path[512], lock[600];
    int fd;

    snprintf (path, sizeof (path), "%s/good.yaml", dir);
    snprintf (lock, sizeof (lock), "%s.journal.sqlite.lock", path);
    fd = open (lock, O_RDWR | O_CREAT, 0666);
    ok (fd >= 0 && flock (fd, LOCK_EX | LOCK_NB) == 0, "holding the journal lock");
    memset (&o, 0, sizeof (o));
    o.sweep_path = path;
    o.log = devnull ();
    errno = 0;
    ok (zpar__sweep_run (&o, &err) == ZPAR_SWEEP_EXIT_FAILED && strstr (err.text, "another"),
        "a second run of the same journal fails at once (%s)", err.text);
    close (fd);
}

/* Record points of the sweep at path in its journal as if they had run. */
static int fake_run (const char *path, int nok, int nfail)
{
    zpar_error_t err;
    zpar_sweep_spec_t *spec = zpar__sweep_spec_load (path, &err);
    zpar_sweep_iter_t *it;
    zpar_journal_t *j;
    char *jp;
    const zpar_sweep_point_t *pt;
    int i = 0;
    if (!spec)
        return -1;
    jp = zpar__sweep_spec_journal_path (spec);
    j = zpar__journal_open (jp, zpar__sweep_spec_name (spec), &err);
    it = zpar__sweep_spec_iter_create (spec);
    zpar__journal_begin_run (j, zpar__sweep_spec_file_hash (spec), NULL, NULL, &err);
    while ((pt = zpar__sweep_iter_next (it)) && i < nok + nfail) {
        zpar_sweep_task_t *t = zpar__sweep_spec_task (spec, pt, &err);
        zpar_journal_dispatch_t d = {
            .key = t->key, .index = t->index, .params_json = t->params_json};
        zpar_journal_result_t r = {.key = t->key,
                                   .exit_code = i < nok ? 0 : 3,
                                   .wall_s = 0.5,
                                   .max_rss_kb = 1000,
                                   .engine = "1",
                                   .host = "h"};
        r.state = i < nok ? ZPAR_JSTATE_SUCCEEDED : ZPAR_JSTATE_FAILED;
        zpar__journal_dispatched (j, &d, &err);
        zpar__journal_finished (j, &r, &err);
        zpar__sweep_task_destroy (t);
        i++;
    }
    zpar__journal_close (j);
    zpar__sweep_iter_destroy (it);
    zpar__sweep_spec_destroy (spec);
    free (jp);
    return 0;
}

static void test_status_report (void)
{
    zpar_error_t err = {{0}};
    char path[512], jpath[600], out[600], *text;
    FILE *f;
    static const char sweep[] = "name: st\n"
                                "command: [\"echo\", \"{x}\"]\n"
                                "params:\n"
                                "  x: [1, 2, 3, 4]\n";
    static const char edited[] = "name: st\n"
                                 "command: [\"echo\", \"{x}\"]\n"
                                 "params:\n"
                                 "  x: [2, 3, 4, 5, 6]\n";

    snprintf (path, sizeof (path), "%s/st.yaml", dir);
    snprintf (jpath, sizeof (jpath), "%s.journal.sqlite", path);
    snprintf (out, sizeof (out), "%s/status.txt", dir);
    write_text (path, sweep);

    f = fopen (out, "w");
    ok (zpar__sweep_status (path, NULL, 0, f, &err) == 0, "status without a journal");
    fclose (f);
    text = read_text (out);
    ok (text && matches (text, "not run +4") && strstr (text, "(none yet)"),
        "status: 4 points not run, no journal yet");
    ok (!exists (jpath), "status does not create the journal");

    ok (fake_run (path, 2, 1) == 0, "recorded 2 succeeded and 1 failed point");
    f = fopen (out, "w");
    ok (zpar__sweep_status (path, NULL, 1, f, &err) == 0, "status --json");
    fclose (f);
    text = read_text (out);
    ok (text && strstr (text, "\"points\": 4, \"succeeded\": 2, \"failed\": 1") &&
            strstr (text, "\"not_run\": 1, \"removed\": []"),
        "status counts: %s", text ? text : "");

    write_text (path, edited); /* x=1 removed; 5 and 6 new */
    f = fopen (out, "w");
    ok (zpar__sweep_status (path, NULL, 0, f, &err) == 0, "status of the edited sweep");
    fclose (f);
    text = read_text (out);
    ok (text && matches (text, "succeeded +1\n") && matches (text, "failed +1\n") &&
            matches (text, "not run +3\n") && matches (text, "removed +1 ") &&
            strstr (text, "removed: point 0 {\"x\":1} (succeeded)"),
        "edited: 1 removed, 3 not run");

    snprintf (out, sizeof (out), "%s/report.csv", dir);
    ok (zpar__sweep_report (path, NULL, ZPAR_REPORT_CSV, out, &err) == 0, "report to a file");
    text = read_text (out);
    ok (text && strncmp (text, "index,x,state,exit_code,", 24) == 0 &&
            strstr (text, "\r\n1,3,failed,3,,1,0.5,1000,1,h,"),
        "report CSV has the failed point with its exit code");
    snprintf (out, sizeof (out), "%s/nodir/report.csv", dir);
    ok (zpar__sweep_report (path, NULL, ZPAR_REPORT_JSON, out, &err) == ZPAR_SWEEP_EXIT_FAILED &&
            err.text[0],
        "report into a missing directory fails: %s", err.text);
    snprintf (out, sizeof (out), "%s/other.sqlite", dir);
    {
        zpar_journal_t *j = zpar__journal_open (out, "other", &err);
        zpar__journal_close (j);
    }
    ok (zpar__sweep_status (path, out, 0, devnull (), &err) == ZPAR_SWEEP_EXIT_BAD_INPUT,
        "a journal of another sweep: exit 2 (%s)", err.text);
}

/* SIGINT while the private cluster starts (its controller never gets
 * ready): the start is cancelled at once, exit 130, nothing left. */
static void test_interrupted_start (void)
{
    zpar_sweep_run_opts_t o;
    zpar_error_t err = {{0}};
    char path[512], fake[512], script[512], pids[600];
    double t0, dt;
    pid_t killer;
    int rc;

    snprintf (path, sizeof (path), "%s/slow.yaml", dir);
    write_text (path, "name: slow\ncommand: [\"true\"]\nparams:\n  x: [1]\n");
    snprintf (fake, sizeof (fake), "%s/slowzpar", dir);
    snprintf (script, sizeof (script),
              "#!/bin/sh\ncase \"$1\" in controller) exec sleep 30;; esac\n"
              "exit 1\n");
    write_text (fake, script);
    chmod (fake, 0755);
    snprintf (pids, sizeof (pids), "%s/slow.out/.cluster/pids", dir);
    memset (&o, 0, sizeof (o));
    o.sweep_path = path;
    o.private_cluster = 1;
    o.engines = 1;
    o.zpar_exe = fake;
    o.handle_signals = 1;
    o.log = devnull ();
    /* as the zpar program's main() does: the signal waits for the watcher */
    zpar__reactor_block_signals ();
    if ((killer = fork ()) == 0) {
        usleep (500000);
        kill (getppid (), SIGINT);
        _exit (0);
    }
    t0 = zpar__mono_s ();
    rc = zpar__sweep_run (&o, &err);
    dt = zpar__mono_s () - t0;
    waitpid (killer, NULL, 0);
    ok (rc == 128 + SIGINT, "SIGINT during the private cluster's start: exit 130 (%d: %s)", rc,
        err.text);
    ok (dt < 10, "at once (%.1f s; the start would wait 120 s)", dt);
    ok (!exists (pids), "the cluster that was starting is not left behind");
}

/* The parts of the runner called directly: bad parameters. */
static void test_bad_params (void)
{
    zpar_sweep_run_opts_t o;
    zpar_sweep_private_t pc;
    zpar_sweep_log_t l;
    zpar_error_t err = {{0}};
    zpar_sweep_spec_t *spec;
    char path[512];

    snprintf (path, sizeof (path), "%s/good.yaml", dir);
    write_text (path, good);
    spec = zpar__sweep_spec_load (path, &err);
    memset (&o, 0, sizeof (o));
    memset (&pc, 0, sizeof (pc));
    zpar__sweep_log_init (&l, devnull (), 1);
    errno = 0;
    ok (zpar__sweep_connect (NULL, spec, &pc, &l, NULL, NULL, &err) == NULL && errno == EINVAL,
        "connect: NULL opts: EINVAL");
    errno = 0;
    ok (zpar__sweep_connect (&o, NULL, &pc, &l, NULL, NULL, &err) == NULL && errno == EINVAL,
        "connect: NULL spec: EINVAL");
    errno = 0;
    ok (zpar__sweep_connect (&o, spec, NULL, &l, NULL, NULL, &err) == NULL && errno == EINVAL,
        "connect: NULL private cluster: EINVAL");
    errno = 0;
    ok (zpar__sweep_connect (&o, spec, &pc, NULL, NULL, NULL, &err) == NULL && errno == EINVAL,
        "connect: NULL log: EINVAL");
    zpar__sweep_private_stop (NULL, &l, 0);
    zpar__sweep_private_stop (&pc, &l, 0);
    ok (pc.started == 0, "private_stop: NULL and not started are no-ops");
    ok (zpar__sweep_status (NULL, NULL, 0, devnull (), &err) == ZPAR_SWEEP_EXIT_BAD_INPUT,
        "status: no sweep file: exit 2");
    ok (zpar__sweep_report (NULL, NULL, ZPAR_REPORT_CSV, "-", &err) == ZPAR_SWEEP_EXIT_BAD_INPUT,
        "report: no sweep file: exit 2");
    zpar__sweep_spec_destroy (spec);
}

int main (void)
{
    char cmd[300];
    plan (NO_PLAN);
    snprintf (dir, sizeof (dir), "%s/zpar-test-runner-XXXXXX",
              getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp");
    if (!mkdtemp (dir)) {
        diag ("mkdtemp: %s", strerror (errno));
        return 1;
    }
    test_bad_input ();
    test_unreachable ();
    test_lock ();
    test_status_report ();
    test_interrupted_start ();
    test_bad_params ();
    snprintf (cmd, sizeof (cmd), "rm -rf '%s'", dir);
    if (system (cmd) != 0)
        diag ("could not remove %s", dir);
    return done_testing ();
}
