/* test_sweep_journal.c - the SQLite journal (batching, crash consistency,
 * removed points) and the CSV/JSON report. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "journal.h"
#include "report.h"
#include "spec.h"
#include "tap.h"

static char tmpdir[] = "/tmp/zpar-test-journal-XXXXXX";

static char *tmp (const char *name)
{
    static char path[2][256];
    static int k;
    k ^= 1;
    snprintf (path[k], sizeof (path[k]), "%s/%s", tmpdir, name);
    return path[k];
}

static void sleep_ms (long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep (&ts, NULL);
}

static char *key (int i)
{
    static char k[4][65];
    static int n;
    n = (n + 1) % 4;
    snprintf (k[n], sizeof (k[n]), "key%04d", i);
    return k[n];
}

static int dispatch (zpar_journal_t *j, int i)
{
    char params[32];
    snprintf (params, sizeof (params), "{\"x\":%d}", i);
    zpar_journal_dispatch_t d = {
        .key = key (i),
        .index = (uint64_t)i,
        .params_json = params,
        .stdout_path = "/o",
        .stderr_path = "/e",
        .task_id = "t1",
        .engine = "e0",
        .host = "h0",
    };
    return zpar__journal_dispatched (j, &d, NULL);
}

static int finish (zpar_journal_t *j, int i, zpar_jstate_t st, int code)
{
    zpar_journal_result_t r = {
        .key = key (i),
        .state = st,
        .exit_code = code,
        .signal = 0,
        .wall_s = 1.5,
        .max_rss_kb = 2048,
        .engine = NULL,
        .host = NULL,
        .error = NULL,
    };
    return zpar__journal_finished (j, &r, NULL);
}

static uint64_t count_state (zpar_journal_t *j, zpar_jstate_t s)
{
    uint64_t c[ZPAR_JSTATE_COUNT];
    if (zpar__journal_counts (j, c, NULL) < 0)
        return 9999;
    return c[s];
}

static uint64_t total (zpar_journal_t *j)
{
    uint64_t c[ZPAR_JSTATE_COUNT], n = 0;
    if (zpar__journal_counts (j, c, NULL) < 0)
        return 9999;
    for (int i = 0; i < ZPAR_JSTATE_COUNT; i++)
        n += c[i];
    return n;
}

static int cb (const zpar_journal_row_t *r, void *arg)
{
    strcat (arg, r->key);
    strcat (arg, " ");
    return 0;
}

static int stop (const zpar_journal_row_t *r, void *arg)
{
    (void)r;
    return ++*(int *)arg == 2 ? 42 : 0;
}

static void test_basics (void)
{
    zpar_error_t err = {{0}};
    zpar_journal_t *j, *reader;
    zpar_jstate_t st;
    zpar_journal_row_t row;
    int att, rq, changed;

    j = zpar__journal_open (tmp ("a.sqlite"), "sw", &err);
    ok (j != NULL, "create journal %s", j ? "" : err.text);
    reader = zpar__journal_open (tmp ("a.sqlite"), "sw", &err);
    ok (reader != NULL, "second handle (a reader)");
    ok (zpar__journal_open (tmp ("a.sqlite"), "other", &err) == NULL && errno == EEXIST &&
            strstr (err.text, "belongs to sweep 'sw'"),
        "a journal of another sweep is refused: %s", err.text);
    ok (zpar__journal_open (tmp ("nodir/x.sqlite"), "sw", &err) == NULL && errno != 0,
        "unopenable path fails: %s", err.text);
    ok (zpar__journal_begin_run (j, "hash1", &rq, &changed, &err) == 0 && rq == 0 && !changed,
        "begin first run");
    ok (zpar__journal_set_batch (j, 5, 0) == 0, "batch of 5 records, no age limit");
    ok (zpar__journal_set_batch (j, 0, 0) < 0 && errno == EINVAL, "batch of 0 refused");

    for (int i = 0; i < 3; i++)
        dispatch (j, i);
    is_int (zpar__journal_unflushed (j), 3, "3 records pending");
    is_int (total (reader), 0, "another handle sees nothing yet");
    ok (zpar__journal_lookup (j, key (1), &st, &att, &err) == 0 && st == ZPAR_JSTATE_RUNNING &&
            att == 1,
        "own handle sees its unflushed dispatch");
    dispatch (j, 3);
    dispatch (j, 4);
    is_int (zpar__journal_unflushed (j), 0, "5th record flushed the batch");
    is_int (total (reader), 5, "the reader sees 5 rows");

    ok (finish (j, 0, ZPAR_JSTATE_SUCCEEDED, 0) == 0 && finish (j, 1, ZPAR_JSTATE_FAILED, 3) == 0,
        "record results");
    {
        zpar_journal_result_t r = {.key = key (2),
                                   .state = ZPAR_JSTATE_FAILED,
                                   .exit_code = -1,
                                   .signal = 9,
                                   .wall_s = -1,
                                   .max_rss_kb = -1,
                                   .engine = "e7",
                                   .host = "h7",
                                   .error = "killed by SIGKILL"};
        ok (zpar__journal_finished (j, &r, &err) == 0, "record a signal death");
        r.key = "nope";
        ok (zpar__journal_finished (j, &r, &err) < 0 && errno == ENOENT,
            "result of an unknown key: ENOENT");
        r.key = key (2);
        r.state = ZPAR_JSTATE_RUNNING;
        ok (zpar__journal_finished (j, &r, &err) < 0 && errno == EINVAL,
            "result state 'running': EINVAL");
    }
    ok (zpar__journal_flush (j, &err) == 0, "flush");
    is_int (count_state (reader, ZPAR_JSTATE_SUCCEEDED), 1, "1 succeeded");
    is_int (count_state (reader, ZPAR_JSTATE_FAILED), 2, "2 failed");
    is_int (count_state (reader, ZPAR_JSTATE_RUNNING), 2, "2 running");

    ok (zpar__journal_get (j, key (2), &row, &err) == 1, "get row");
    ok (row.state == ZPAR_JSTATE_FAILED && row.exit_code == -1 && row.signal == 9 &&
            row.wall_s < 0 && row.max_rss_kb < 0 && strcmp (row.engine, "e7") == 0 &&
            strcmp (row.error, "killed by SIGKILL") == 0 && row.attempts == 1 &&
            strcmp (row.params_json, "{\"x\":2}") == 0 && row.finished > 0,
        "row fields");
    ok (zpar__journal_get (j, key (0), &row, &err) == 1 && row.exit_code == 0 && row.signal == 0 &&
            row.wall_s == 1.5 && row.max_rss_kb == 2048 && strcmp (row.engine, "e0") == 0,
        "NULL engine keeps the dispatch's engine");
    ok (zpar__journal_get (j, "nope", &row, &err) == 0, "get of an unknown key: 0");
    ok (zpar__journal_lookup (j, "nope", &st, NULL, &err) == 0 && st == ZPAR_JSTATE_ABSENT,
        "lookup of an unknown key: absent");

    /* a retry counts attempts */
    dispatch (j, 1);
    zpar__journal_flush (j, &err);
    ok (zpar__journal_lookup (j, key (1), &st, &att, &err) == 0 && att == 2 &&
            st == ZPAR_JSTATE_RUNNING,
        "second dispatch: attempts 2, running again");

    /* age-based flush */
    zpar__journal_set_batch (j, 1000, 50);
    dispatch (j, 10);
    ok (zpar__journal_tick (j, &err) == 0 && zpar__journal_unflushed (j) == 1,
        "young batch not flushed by tick");
    sleep_ms (70);
    ok (zpar__journal_tick (j, &err) == 0 && zpar__journal_unflushed (j) == 0,
        "tick flushes a batch older than 50 ms");
    dispatch (j, 11);
    sleep_ms (70);
    dispatch (j, 12);
    is_int (zpar__journal_unflushed (j), 0, "a record into an old batch flushes it");

    /* removed points */
    ok (zpar__journal_current_clear (j, &err) == 0, "clear the current set");
    for (int i = 0; i < 5; i++)
        if (i != 3)
            zpar__journal_current_add (j, key (i), &err);
    zpar__journal_current_add (j, key (12), &err);
    zpar__journal_current_add (j, "brand-new", &err);
    {
        char seen[256] = "";
        ok (zpar__journal_foreach_removed (j, cb, seen, &err) == 0, "foreach_removed");
        is_str (seen, "key0003 key0010 key0011 ",
                "removed points are the journal's keys not "
                "in the current sweep, in index order");
        seen[0] = '\0';
        ok (zpar__journal_foreach (j, cb, seen, &err) == 0, "foreach");
        is_str (seen, "key0000 key0001 key0002 key0003 key0004 key0010 key0011 key0012 ",
                "all rows in index order");
        int n = 0;
        is_int (zpar__journal_foreach (j, stop, &n, &err), 42, "a callback can stop foreach");
    }

    /* begin a new run: running points become pending; file change noticed */
    zpar__journal_close (j);
    j = zpar__journal_open (tmp ("a.sqlite"), "sw", &err);
    ok (zpar__journal_begin_run (j, "hash2", &rq, &changed, &err) == 0, "begin second run");
    is_int (rq, 6, "6 running points requeued (3, 4, 1 retried, 10, 11, 12)");
    ok (changed == 1, "sweep file change detected");
    is_int (count_state (j, ZPAR_JSTATE_PENDING), 6, "6 pending");
    is_int (count_state (j, ZPAR_JSTATE_SUCCEEDED), 1, "succeeded untouched");
    {
        char *v = zpar__journal_meta_get (j, "runs");
        is_str (v, "2", "meta runs = 2");
        free (v);
        v = zpar__journal_meta_get (j, "file_hash");
        is_str (v, "hash2", "meta file_hash");
        free (v);
        ok (zpar__journal_meta_get (j, "nope") == NULL && errno == ENOENT, "unset meta: ENOENT");
    }
    is_str (zpar__journal_state_name (ZPAR_JSTATE_SUCCEEDED), "succeeded", "state names");
    zpar__journal_close (j);
    zpar__journal_close (reader);
    zpar__journal_close (NULL);
}

/* The child writes, flushes 5 results, writes 5 more and dies by SIGKILL. */
static void test_crash (void)
{
    zpar_error_t err = {{0}};
    zpar_journal_t *j;
    zpar_jstate_t st;
    int status, rq, good = 1;
    pid_t pid;

    fflush (stdout);
    if ((pid = fork ()) == 0) {
        j = zpar__journal_open (tmp ("crash.sqlite"), "sw", NULL);
        if (!j || zpar__journal_set_batch (j, 1000, 0) < 0)
            _exit (1);
        for (int i = 0; i < 10; i++)
            dispatch (j, i);
        for (int i = 0; i < 5; i++)
            finish (j, i, ZPAR_JSTATE_SUCCEEDED, 0);
        if (zpar__journal_flush (j, NULL) < 0)
            _exit (1);
        for (int i = 5; i < 10; i++)
            finish (j, i, ZPAR_JSTATE_SUCCEEDED, 0);
        for (int i = 10; i < 15; i++)
            dispatch (j, i);
        raise (SIGKILL);
        _exit (2);
    }
    waitpid (pid, &status, 0);
    ok (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL, "child died by SIGKILL mid-batch");
    j = zpar__journal_open (tmp ("crash.sqlite"), "sw", &err);
    ok (j != NULL, "reopen after the crash %s", j ? "" : err.text);
    if (!j)
        return;
    is_int (total (j), 10, "exactly the 10 flushed points are there");
    is_int (count_state (j, ZPAR_JSTATE_SUCCEEDED), 5, "the 5 flushed successes are there");
    is_int (count_state (j, ZPAR_JSTATE_RUNNING), 5, "unflushed successes are still running");
    for (int i = 10; i < 15; i++) {
        zpar__journal_lookup (j, key (i), &st, NULL, &err);
        if (st != ZPAR_JSTATE_ABSENT)
            good = 0;
    }
    ok (good, "unflushed dispatches are absent");
    ok (zpar__journal_begin_run (j, NULL, &rq, NULL, &err) == 0 && rq == 5,
        "begin_run requeues the 5 running points");
    is_int (count_state (j, ZPAR_JSTATE_PENDING), 5, "they are pending (will run again)");
    is_int (count_state (j, ZPAR_JSTATE_SUCCEEDED), 5, "committed successes stay succeeded");
    zpar__journal_close (j);

    /* SIGKILL at random moments of a busy writer: batches stay atomic */
    srand ((unsigned)getpid ());
    for (int round = 0; round < 4; round++) {
        char name[32];
        snprintf (name, sizeof (name), "storm%d.sqlite", round);
        fflush (stdout);
        if ((pid = fork ()) == 0) {
            j = zpar__journal_open (tmp (name), "sw", NULL);
            if (!j || zpar__journal_set_batch (j, 20, 0) < 0)
                _exit (1);
            for (int i = 0;; i++) { /* 10 points = 20 records per batch */
                dispatch (j, i);
                finish (j, i, ZPAR_JSTATE_SUCCEEDED, 0);
            }
        }
        sleep_ms (30 + rand () % 120);
        kill (pid, SIGKILL);
        waitpid (pid, &status, 0);
        j = zpar__journal_open (tmp (name), "sw", &err);
        if (!j) {
            ok (0, "reopen after kill %d: %s", round, err.text);
            continue;
        }
        uint64_t n = total (j), s = count_state (j, ZPAR_JSTATE_SUCCEEDED);
        ok (n % 10 == 0 && s == n, "kill %d: %llu rows, all succeeded, whole batches only", round,
            (unsigned long long)n);
        zpar__journal_close (j);
    }
}

static char *report (zpar_report_format_t fmt, const zpar_sweep_spec_t *s, zpar_journal_t *j)
{
    char *out = NULL;
    size_t len = 0;
    zpar_error_t err = {{0}};
    FILE *f = open_memstream (&out, &len);
    if (zpar__report_write (f, fmt, s, j, &err) < 0)
        diag ("report: %s", err.text);
    fclose (f);
    return out;
}

static void test_report (void)
{
    zpar_error_t err = {{0}};
    const char *text = "name: rep\ncommand: run {s} {n}\n"
                       "params:\n  s: [\"a,b\", \"q\\\"uote\", \"Grüße\", \"line\\nbreak\"]\n"
                       "  n: [1, 2.5]\n"
                       "exclude:\n  - {n: 2.5}\n"
                       "stdout: \"{index}.o\"\nstderr: \"{index}.e\"\n";
    zpar_sweep_spec_t *s =
        zpar__sweep_spec_load_buffer (text, strlen (text), tmp ("rep.yaml"), &err);
    zpar_journal_t *j;
    zpar_sweep_iter_t *it;
    const zpar_sweep_point_t *pt;
    zpar_report_format_t fmt;
    char *csv, *json, want[8192], od[512];

    ok (s != NULL, "report sweep loads %s", s ? "" : err.text);
    if (!s)
        return;
    snprintf (od, sizeof (od), "%s", zpar__sweep_spec_output_dir (s));
    j = zpar__journal_open (tmp ("rep.sqlite"), "rep", &err);
    zpar__journal_set_batch (j, 100, 0);
    it = zpar__sweep_spec_iter_create (s);
    for (int i = 0; (pt = zpar__sweep_iter_next (it)) && i < 3; i++) {
        zpar_sweep_task_t *t = zpar__sweep_spec_task (s, pt, &err);
        zpar_journal_dispatch_t d = {.key = t->key,
                                     .index = t->index,
                                     .params_json = t->params_json,
                                     .stdout_path = t->stdout_path,
                                     .stderr_path = t->stderr_path,
                                     .engine = "e1",
                                     .host = "node,1"};
        zpar__journal_dispatched (j, &d, &err);
        if (i < 2) {
            zpar_journal_result_t r = {.key = t->key,
                                       .state = i == 0 ? ZPAR_JSTATE_SUCCEEDED : ZPAR_JSTATE_FAILED,
                                       .exit_code = i == 0 ? 0 : -1,
                                       .signal = i == 0 ? 0 : 15,
                                       .wall_s = 0.25,
                                       .max_rss_kb = 1000};
            zpar__journal_finished (j, &r, &err);
        }
        zpar__sweep_task_destroy (t);
    }
    zpar__sweep_iter_destroy (it);
    /* not flushed: the report reads through the same handle */

    csv = report (ZPAR_REPORT_CSV, s, j);
    snprintf (want, sizeof (want),
              "index,s,n,state,exit_code,signal,attempts,wall_s,max_rss_kb,engine,host,stdout,"
              "stderr\r\n"
              "0,\"a,b\",1,succeeded,0,,1,0.25,1000,e1,\"node,1\",%s/0.o,%s/0.e\r\n"
              "2,\"q\"\"uote\",1,failed,,15,1,0.25,1000,e1,\"node,1\",%s/2.o,%s/2.e\r\n"
              "4,Grüße,1,running,,,1,,,e1,\"node,1\",%s/4.o,%s/4.e\r\n"
              "6,\"line\nbreak\",1,pending,,,0,,,,,%s/6.o,%s/6.e\r\n",
              od, od, od, od, od, od, od, od);
    is_str (csv, want, "CSV report (RFC 4180 quoting, excluded points left out)");
    free (csv);

    json = report (ZPAR_REPORT_JSON, s, j);
    snprintf (want, sizeof (want),
              "[\n"
              "  {\"index\": 0, \"s\": \"a,b\", \"n\": 1, \"state\": \"succeeded\", "
              "\"exit_code\": 0, \"signal\": null, \"attempts\": 1, \"wall_s\": 0.25, "
              "\"max_rss_kb\": 1000, \"engine\": \"e1\", \"host\": \"node,1\", "
              "\"stdout\": \"%s/0.o\", \"stderr\": \"%s/0.e\"},\n"
              "  {\"index\": 2, \"s\": \"q\\\"uote\", \"n\": 1, \"state\": \"failed\", "
              "\"exit_code\": null, \"signal\": 15, \"attempts\": 1, \"wall_s\": 0.25, "
              "\"max_rss_kb\": 1000, \"engine\": \"e1\", \"host\": \"node,1\", "
              "\"stdout\": \"%s/2.o\", \"stderr\": \"%s/2.e\"},\n"
              "  {\"index\": 4, \"s\": \"Grüße\", \"n\": 1, \"state\": \"running\", "
              "\"exit_code\": null, \"signal\": null, \"attempts\": 1, \"wall_s\": null, "
              "\"max_rss_kb\": null, \"engine\": \"e1\", \"host\": \"node,1\", "
              "\"stdout\": \"%s/4.o\", \"stderr\": \"%s/4.e\"},\n"
              "  {\"index\": 6, \"s\": \"line\\nbreak\", \"n\": 1, \"state\": \"pending\", "
              "\"exit_code\": null, \"signal\": null, \"attempts\": 0, \"wall_s\": null, "
              "\"max_rss_kb\": null, \"engine\": null, \"host\": null, "
              "\"stdout\": \"%s/6.o\", \"stderr\": \"%s/6.e\"}\n"
              "]\n",
              od, od, od, od, od, od, od, od);
    is_str (json, want, "JSON report (typed values, escaping, UTF-8 passes through)");
    free (json);

    ok (zpar__report_format_parse ("json", &fmt, &err) == 0 && fmt == ZPAR_REPORT_JSON,
        "format json");
    ok (zpar__report_format_parse ("xml", &fmt, &err) < 0 && errno == EINVAL &&
            strstr (err.text, "csv or json"),
        "format xml refused");
    ok (zpar__report_write (NULL, ZPAR_REPORT_CSV, s, j, &err) < 0 && errno == EINVAL,
        "report to NULL: EINVAL");
    zpar__journal_close (j);
    zpar__sweep_spec_destroy (s);
}

static void cleanup (void)
{
    char cmd[512];
    snprintf (cmd, sizeof (cmd), "rm -rf '%s'", tmpdir);
    if (system (cmd) != 0)
        diag ("could not remove %s", tmpdir);
}

static void test_lock (void)
{
    zpar_error_t err = {{0}};
    char longp[5000];
    int fd, fd2;

    fd = zpar__journal_lock (tmp ("locked.sqlite"), &err);
    ok (fd >= 0, "lock a journal (%s)", fd < 0 ? err.text : "");
    errno = 0;
    fd2 = zpar__journal_lock (tmp ("locked.sqlite"), &err);
    ok (fd2 < 0 && errno == EWOULDBLOCK && strstr (err.text, "another zpar sweep run"),
        "a second lock fails at once: EWOULDBLOCK (%s)", err.text);
    if (fd >= 0)
        close (fd);
    fd2 = zpar__journal_lock (tmp ("locked.sqlite"), &err);
    ok (fd2 >= 0, "once released, it can be taken again");
    if (fd2 >= 0)
        close (fd2);
    memset (longp, 'x', sizeof (longp) - 1);
    longp[sizeof (longp) - 1] = '\0';
    errno = 0;
    ok (zpar__journal_lock (longp, &err) < 0 && errno == ENAMETOOLONG, "a path too long");
    errno = 0;
    ok (zpar__journal_lock (NULL, &err) < 0 && errno == EINVAL, "NULL path: EINVAL");
    errno = 0;
    ok (zpar__journal_lock (tmp ("nodir/j.sqlite"), &err) < 0 && errno == ENOENT,
        "a missing directory: ENOENT (%s)", err.text);
}

/* Tasks in flight: recorded with the dispatch, kept across a run that
 * died, taken over by the next run (adopted), cleared by the end. */
static void test_inflight (void)
{
    zpar_error_t err = {{0}};
    zpar_journal_t *j = zpar__journal_open (tmp ("inflight.sqlite"), "fl", &err);
    zpar_journal_row_t row;
    zpar_journal_dispatch_t d = {
        .key = "kA", .index = 0, .params_json = "{}", .task_id = "3.7", .cluster = "c1"};
    int requeued = -1;

    ok (j != NULL, "open (%s)", err.text);
    if (!j)
        return;
    ok (zpar__journal_dispatched (j, &d, &err) == 0 && zpar__journal_flush (j, &err) == 0,
        "dispatch with a task id and a cluster");
    ok (zpar__journal_get (j, "kA", &row, NULL) == 1 && row.inflight &&
            !strcmp (row.inflight, "3.7") && row.cluster && !strcmp (row.cluster, "c1") &&
            row.state == ZPAR_JSTATE_RUNNING && row.attempts == 1,
        "the task is in flight on cluster c1");
    zpar__journal_close (j);
    /* the run died: the next one finds the task still in flight */
    j = zpar__journal_open (tmp ("inflight.sqlite"), "fl", &err);
    ok (j && zpar__journal_begin_run (j, NULL, &requeued, NULL, &err) == 0 && requeued == 1,
        "begin_run: the running point is pending again");
    if (!j)
        return;
    ok (zpar__journal_get (j, "kA", &row, NULL) == 1 && row.state == ZPAR_JSTATE_PENDING &&
            row.inflight && !strcmp (row.inflight, "3.7"),
        "its task in flight is kept");
    ok (zpar__journal_adopted (j, "kA", &err) == 0, "adopt it");
    ok (zpar__journal_get (j, "kA", &row, NULL) == 1 && row.state == ZPAR_JSTATE_RUNNING &&
            row.attempts == 1,
        "adopted: running again, attempts unchanged");
    {
        zpar_journal_result_t r = {.key = "kA",
                                   .state = ZPAR_JSTATE_SUCCEEDED,
                                   .exit_code = 0,
                                   .wall_s = -1,
                                   .max_rss_kb = -1};
        ok (zpar__journal_finished (j, &r, &err) == 0, "its end recorded");
    }
    ok (zpar__journal_get (j, "kA", &row, NULL) == 1 && !row.inflight && row.task_id &&
            !strcmp (row.task_id, "3.7"),
        "no task in flight any more (the task id stays)");
    errno = 0;
    ok (zpar__journal_adopted (j, "kA", &err) < 0 && errno == ENOENT,
        "adopting a point with no task in flight: ENOENT");
    errno = 0;
    ok (zpar__journal_adopted (j, "nope", &err) < 0 && errno == ENOENT,
        "adopting an unknown point: ENOENT");
    errno = 0;
    ok (zpar__journal_adopted (NULL, "kA", &err) < 0 && errno == EINVAL, "adopted NULL: EINVAL");
    zpar__journal_close (j);
}

/* A journal of schema version 1 (no inflight/cluster columns) is upgraded
 * in place; its rows stay. */
static void test_upgrade (void)
{
    sqlite3 *db = NULL;
    zpar_error_t err = {{0}};
    zpar_journal_t *j;
    zpar_journal_row_t row;
    const char *v1 =
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('sweep_name', 'old');"
        "CREATE TABLE points (key TEXT PRIMARY KEY, idx INTEGER NOT NULL, params TEXT NOT NULL,"
        " state TEXT NOT NULL CHECK (state IN ('pending','running','succeeded','failed')),"
        " exit_code INTEGER, signal INTEGER, attempts INTEGER NOT NULL DEFAULT 0, wall_s REAL,"
        " max_rss_kb INTEGER, engine TEXT, host TEXT, stdout TEXT, stderr TEXT, task_id TEXT,"
        " created REAL, started REAL, finished REAL, error TEXT);"
        "INSERT INTO points (key, idx, params, state, attempts, task_id)"
        " VALUES ('k1', 1, '{}', 'succeeded', 1, '1.1');"
        "PRAGMA user_version = 1;";
    ok (sqlite3_open (tmp ("v1.sqlite"), &db) == SQLITE_OK &&
            sqlite3_exec (db, v1, NULL, NULL, NULL) == SQLITE_OK,
        "a version-1 journal");
    sqlite3_close (db);
    j = zpar__journal_open (tmp ("v1.sqlite"), "old", &err);
    ok (j != NULL, "opened by this version (%s)", err.text);
    if (!j)
        return;
    ok (zpar__journal_get (j, "k1", &row, NULL) == 1 && row.state == ZPAR_JSTATE_SUCCEEDED &&
            !row.inflight && !row.cluster,
        "its rows are kept, with no task in flight");
    {
        zpar_journal_dispatch_t d = {
            .key = "k2", .index = 2, .params_json = "{}", .task_id = "2.5", .cluster = "cX"};
        ok (zpar__journal_dispatched (j, &d, &err) == 0 && zpar__journal_flush (j, &err) == 0 &&
                zpar__journal_get (j, "k2", &row, NULL) == 1 && row.inflight &&
                !strcmp (row.inflight, "2.5"),
            "new dispatches record their task in flight");
    }
    zpar__journal_close (j);
}

int main (void)
{
    plan (NO_PLAN);
    if (!mkdtemp (tmpdir)) {
        ok (0, "mkdtemp");
        return done_testing ();
    }
    test_basics ();
    test_crash ();
    test_report ();
    test_lock ();
    test_inflight ();
    test_upgrade ();
    cleanup ();
    return done_testing ();
}
