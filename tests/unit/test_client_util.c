/* test_client_util.c - libzpar's helpers that need no cluster: engine and
 * task id lists, a result's summary line and JSON, function tasks from
 * "LIB:SYMBOL" and an input file, and the bad parameters of
 * zpar_run_each / zpar_client_wait_ids, the client's window size. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "tap.h"
#include "zpar.h"

static void engine_lists (void)
{
    static const struct {
        const char *text;
        size_t n;
        uint32_t first, last;
    } good[] = {
        {"1", 1, 1, 1},     {"3,1,2", 3, 1, 3}, {"1,3-5", 4, 1, 5},
        {"2-4,3", 3, 2, 4}, {"7-7", 1, 7, 7},
    };
    static const char *bad[] = {"",    "0",    "1,",   ",1", "a",           "1-",
                                "3-1", "1--2", "1,,2", "1x", "99999999999", "1-200000"};
    for (size_t i = 0; i < sizeof (good) / sizeof (good[0]); i++) {
        zpar_engine_id_t *ids = NULL;
        size_t n = 0;
        int rc = zpar_engine_list_parse (good[i].text, &ids, &n, NULL);
        ok (rc == 0 && n == good[i].n && ids[0].id == good[i].first &&
                ids[n - 1].id == good[i].last,
            "engine list '%s': %zu ids from %u to %u", good[i].text, good[i].n, good[i].first,
            good[i].last);
        free (ids);
    }
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        zpar_engine_id_t *ids = NULL;
        size_t n = 99;
        zpar_error_t err = {{0}};
        errno = 0;
        ok (zpar_engine_list_parse (bad[i], &ids, &n, &err) < 0 && errno == EINVAL && !ids &&
                n == 99 && err.text[0],
            "engine list '%s' is refused (EINVAL, outputs untouched): %s", bad[i], err.text);
    }
    ok (zpar_engine_list_parse (NULL, NULL, NULL, NULL) < 0 && errno == EINVAL,
        "engine list: NULL parameters give EINVAL");
}

static void task_id_lists (void)
{
    zpar_task_id_t *ids = NULL, one;
    size_t n = 0;
    zpar_error_t err = {{0}};
    ok (zpar_task_id_list_parse ("3.1,3.2", &ids, &n, &err) == 0 && n == 2,
        "task id list '3.1,3.2' gives 2 ids");
    ok (zpar_task_id_list_parse ("4.7", &ids, &n, &err) == 0 && n == 3, "a second list appends");
    zpar_task_id_parse ("4.7", &one);
    ok (ids[2].id == one.id, "the appended id is 4.7");
    ok (zpar_task_id_list_parse ("5.1,x", &ids, &n, &err) < 0 && errno == EINVAL && n == 3 &&
            strstr (err.text, "'x'"),
        "a bad id is refused, the ids kept are unchanged: %s", err.text);
    ok (zpar_task_id_list_parse ("", &ids, &n, &err) < 0 && errno == EINVAL && n == 3,
        "an empty list is refused");
    ok (zpar_task_id_list_parse ("1.1", NULL, &n, NULL) < 0 && errno == EINVAL,
        "NULL ids gives EINVAL");
    free (ids);
}

static void results (void)
{
    zpar_result_t *r = zpar__result_make (((uint64_t)3 << 32) | 17, 2, ZPAR_STATUS_OK, NULL);
    char line[512], *buf = NULL;
    size_t len = 0;
    FILE *f;

    r->p.exit_code = 0;
    r->p.wall_us = 1500000;
    r->p.host = "node7";
    r->p.stdout_buf = "hi\n";
    r->p.stdout_len = 3;
    r->p.output = "\x01\x02";
    r->p.output_len = 2;
    ok (zpar_result_summary (r, line, sizeof (line)) == 0 &&
            !strncmp (line, "3.17 ok: exit 0", 15) && strstr (line, "1.500 s wall") &&
            strstr (line, "engine 2 (node7)"),
        "summary: %s", line);
    r->p.status = ZPAR_STATUS_SIGNALED;
    r->p.signal = 9;
    r->p.attempt = 2;
    ok (zpar_result_summary (r, line, sizeof (line)) == 0 && strstr (line, "killed by signal 9") &&
            strstr (line, ", 2 attempts"),
        "summary of a killed task: %s", line);
    ok (zpar_result_summary (r, line, 8) == 0 && strlen (line) == 7,
        "summary is truncated to size");
    f = open_memstream (&buf, &len);
    ok (zpar_result_write_json (r, f) == 0, "write_json returns 0");
    fclose (f);
    ok (buf && !strncmp (buf, "{\"id\":\"3.17\",\"status\":\"signaled\"", 32) &&
            strstr (buf, "\"stdout\":\"hi\\n\"") && strstr (buf, "\"output\":\"AQI=\"") &&
            strstr (buf, "\"host\":\"node7\"") && buf[len - 1] == '\n',
        "JSON has id, status, stdout, base64 output, host: %s", buf ? buf : "");
    free (buf);
    ok (zpar_result_summary (NULL, line, sizeof (line)) < 0 && errno == EINVAL,
        "summary (NULL) gives EINVAL");
    ok (zpar_result_summary (r, NULL, 10) < 0 && errno == EINVAL, "summary into NULL: EINVAL");
    ok (zpar_result_write_json (NULL, stdout) < 0 && errno == EINVAL, "write_json (NULL): EINVAL");
    ok (zpar_result_write_json (r, NULL) < 0 && errno == EINVAL, "write_json to NULL: EINVAL");
    r->p.host = NULL;
    r->p.stdout_buf = r->p.output = NULL;
    zpar_result_destroy (r);
}

static void function_specs (void)
{
    char path[] = "/tmp/test_client_util.XXXXXX";
    int fd = mkstemp (path);
    zpar_error_t err = {{0}};
    zpar_task_t *t;
    void *data = NULL;
    size_t len = 0;
    static const char *bad[] = {"nocolon", ":sym", "lib.so:", ""};

    ok (fd >= 0 && write (fd, "abc", 3) == 3, "an input file");
    close (fd);
    ok (zpar_read_file (path, &data, &len) == 0 && len == 3 && !memcmp (data, "abc", 3),
        "read_file reads it all");
    free (data);
    ok (zpar_read_file ("/nonexistent/x", &data, &len) < 0 && errno == ENOENT,
        "read_file of a missing file: ENOENT");
    ok (zpar_read_file (NULL, &data, &len) < 0 && errno == EINVAL, "read_file (NULL): EINVAL");
    t = zpar_task_function_spec ("libm.so.6:cos", path, &err);
    ok (t != NULL, "function spec 'libm.so.6:cos' with an input file");
    zpar_task_destroy (t);
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        errno = 0;
        ok (!zpar_task_function_spec (bad[i], NULL, &err) && errno == EINVAL && err.text[0],
            "function spec '%s' is refused: %s", bad[i], err.text);
    }
    ok (!zpar_task_function_spec ("./no/such/lib.so:f", NULL, &err) && errno == ENOENT,
        "a library path that does not exist: ENOENT (%s)", err.text);
    ok (!zpar_task_function_spec ("lib.so:f", "/nonexistent/in", &err) && errno == ENOENT,
        "an input file that does not exist: ENOENT (%s)", err.text);
    unlink (path);
}

static void bad_params (void)
{
    zpar_each_ops_t ops = {NULL, NULL};
    zpar_task_id_t id = {1};
    const char *argv[] = {"true", NULL};
    zpar_task_t *t = zpar_task_command (argv);
    ok (zpar_run_each (NULL, t, NULL, 0, -1, &ops, NULL, NULL) < 0 && errno == EINVAL,
        "run_each without a client: EINVAL");
    ok (zpar_run_each ((zpar_client_t *)1, NULL, NULL, 0, -1, &ops, NULL, NULL) < 0 &&
            errno == EINVAL,
        "run_each without a task: EINVAL");
    ok (zpar_run_each ((zpar_client_t *)1, t, NULL, 2, -1, &ops, NULL, NULL) < 0 && errno == EINVAL,
        "run_each with targets NULL but ntargets 2: EINVAL");
    ok (zpar_run_each ((zpar_client_t *)1, t, NULL, 0, -1, NULL, NULL, NULL) < 0 && errno == EINVAL,
        "run_each without ops: EINVAL");
    ok (zpar_client_wait_ids (NULL, &id, 1, -1, NULL, NULL, NULL) < 0 && errno == EINVAL,
        "wait_ids without a client: EINVAL");
    ok (zpar_task_putenv (t, "A=b=c") == 0, "putenv 'A=b=c'");
    ok (zpar_task_putenv (t, "=x") < 0 && errno == EINVAL, "putenv '=x': EINVAL");
    ok (zpar_task_putenv (t, "noequals") < 0 && errno == EINVAL, "putenv without '=': EINVAL");
    ok (zpar_task_putenv (NULL, "A=b") < 0 && errno == EINVAL, "putenv on NULL: EINVAL");
    zpar_task_destroy (t);
}

/* The client's window: max(base, K x engines); base 0 is no bound. */
static void window_sizes (void)
{
    size_t k = 2 * ZPAR_CLIENT_WINDOW_PREFETCH;
    ok (zpar__client_window_size (4096, k, 0) == 4096, "window: no engine known, the base");
    ok (zpar__client_window_size (4096, k, 2) == 4096, "window: a small cluster keeps the base");
    ok (zpar__client_window_size (4096, k, 128) == 4096, "window: 128 engines x 32 = the base");
    ok (zpar__client_window_size (4096, k, 1000) == 32000, "window: 1,000 engines, 32 each");
    ok (zpar__client_window_size (4096, k, 10000) == 320000, "window: 10,000 engines, 32 each");
    ok (zpar__client_window_size (8, k, 24) == 768, "window: base 8, 24 engines");
    ok (zpar__client_window_size (0, k, 10000) == 0, "window: base 0 stays no bound");
    ok (zpar__client_window_size (8, 0, 24) == 8, "window: K 0, the base");
    ok (zpar__client_window_size (8, SIZE_MAX / 2, 3) == SIZE_MAX, "window: saturates");
}

int main (void)
{
    plan (NO_PLAN);
    engine_lists ();
    task_id_lists ();
    results ();
    function_specs ();
    bad_params ();
    window_sizes ();
    done_testing ();
}
