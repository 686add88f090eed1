/* zpar-bench.c - the zpar side of bench/run.sh, a libzpar client.
 *
 *   zpar-bench start N TIMEOUT -- CMD...
 *       run CMD (e.g. "zpar cluster start -n 2"), and meanwhile poll the
 *       cluster (connection file from $ZPAR_DIR) until N engines are
 *       registered; prints start_return_s (CMD exited), start_engines_s (a
 *       client saw N live engines), start_rc.
 *   zpar-bench rtt lb|direct inline|isolated LIB N
 *       N sequential no-op function tasks (submit, wait), after a warm-up;
 *       prints rtt_median_us, rtt_p99_us, rtt_failed.
 *   zpar-bench rtt-split LIB N
 *       the same, load-balanced and inline, with LIB's "stamp" function
 *       (it returns the time it ran): also prints the medians of the way
 *       there (submit to the function's start: client, scheduler, engine
 *       on receipt) and back (the function's end to the wait's return:
 *       engine on sending, scheduler, client), there_median_us,
 *       back_median_us, there_p90_us, back_p90_us.
 *   zpar-bench tput inline|isolated LIB N BATCH
 *       N load-balanced no-op function tasks, submitted BATCH at a time
 *       without waiting, then all waited for (BATCH = N: submit all, then
 *       wait all); prints tput_per_s, tput_failed.
 *   zpar-bench cmd N BATCH
 *       the same with command tasks running /bin/true; prints cmd_per_s,
 *       cmd_failed.
 *   zpar-bench status
 *       prints the hub's counters (engines, pending, running, completed,
 *       failed, dropped).
 *
 * Every wait is bounded ($ZPAR_BENCH_TIMEOUT seconds per phase, default
 * 300).  Output is "key value" lines for bench/run.sh; diagnostics go to
 * stderr.  Exit status 0 when every task succeeded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zpar.h"

extern char **environ;

static double now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double phase_timeout (void)
{
    const char *e = getenv ("ZPAR_BENCH_TIMEOUT");
    double t = e ? atof (e) : 0;
    return t > 0 ? t : 300.0;
}

static int cmp_d (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static zpar_client_t *connect_or_die (void)
{
    zpar_error_t err;
    zpar_client_t *c = zpar_client_connect (NULL, &err);
    if (!c) {
        fprintf (stderr, "zpar-bench: connect: %s\n", err.text);
        exit (1);
    }
    return c;
}

static int live_engines (zpar_client_t *c, zpar_engine_id_t *first)
{
    zpar_engine_info_t *list = NULL;
    size_t n = 0;
    int live = 0;
    zpar_error_t err;
    if (zpar_client_engines (c, &list, &n, &err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp (list[i].state, "dead") != 0) {
            if (live++ == 0 && first)
                *first = list[i].id;
        }
    }
    free (list);
    return live;
}

/* ---------------------------------------------------------------- start */

static int cmd_start (int want, double timeout, char **argv)
{
    double t0 = now (), t_ret = -1, t_eng = -1;
    pid_t pid;
    int rc, st = -1;
    zpar_client_t *c = NULL;

    setenv ("ZPAR_CONNECT_TIMEOUT", "2", 1);
    rc = posix_spawnp (&pid, argv[0], NULL, NULL, argv, environ);
    if (rc != 0) {
        fprintf (stderr, "zpar-bench: cannot run %s: %s\n", argv[0], strerror (rc));
        return 1;
    }
    while (now () - t0 < timeout && (t_ret < 0 || t_eng < 0)) {
        if (t_ret < 0 && waitpid (pid, &st, WNOHANG) == pid)
            t_ret = now () - t0;
        if (t_eng < 0) {
            if (!c)
                c = zpar_client_connect (NULL, NULL);
            if (c && live_engines (c, NULL) >= want)
                t_eng = now () - t0;
        }
        if (t_ret < 0 || t_eng < 0) {
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep (&ts, NULL);
        }
    }
    if (t_ret < 0) {
        fprintf (stderr, "zpar-bench: '%s ...' did not return within %.0f s: killed\n", argv[0],
                 timeout);
        kill (pid, SIGKILL);
        waitpid (pid, &st, 0);
    }
    zpar_client_destroy (c);
    printf ("start_return_s %.4f\n", t_ret);
    printf ("start_engines_s %.4f\n", t_eng);
    printf ("start_rc %d\n", WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st));
    return t_ret >= 0 && t_eng >= 0 && WIFEXITED (st) && WEXITSTATUS (st) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ rtt */

static int cmd_rtt (int lb, int inl, const char *lib, long n, int split)
{
    zpar_client_t *c = connect_or_die ();
    zpar_task_t *t = zpar_task_function (lib, split ? "stamp" : "noop", NULL, 0);
    zpar_engine_id_t eng = {0};
    double *lat = calloc (n, sizeof (double)), tmo = phase_timeout (), t0, deadline;
    double *there = calloc (n, sizeof (double)), *back = calloc (n, sizeof (double));
    long failed = 0, warm = 50;
    zpar_error_t err;

    if (!t || !lat || !there || !back || zpar_task_set_inline (t, inl) < 0) {
        fprintf (stderr, "zpar-bench: cannot build the task\n");
        return 1;
    }
    if (live_engines (c, &eng) < 1) {
        fprintf (stderr, "zpar-bench: no live engine\n");
        return 1;
    }
    deadline = now () + tmo;
    for (long i = -warm; i < n; i++) {
        zpar_future_t *f;
        double left = deadline - now ();
        if (left <= 0) {
            fprintf (stderr, "zpar-bench: rtt: ran past %.0f s\n", tmo);
            return 1;
        }
        t0 = now ();
        f = lb ? zpar_submit (c, t, &err) : zpar_submit_to (c, eng, t, &err);
        if (!f) {
            fprintf (stderr, "zpar-bench: submit: %s\n", err.text);
            return 1;
        }
        if (zpar_future_wait (f, left, &err) < 0) {
            fprintf (stderr, "zpar-bench: rtt: %s\n", err.text);
            return 1;
        }
        if (i >= 0) {
            double t1 = now ();
            size_t olen = 0;
            const void *o = zpar_result_output (zpar_future_result (f), &olen);
            lat[i] = t1 - t0;
            if (split && o && olen == 8) {
                uint64_t ns;
                memcpy (&ns, o, sizeof (ns));
                there[i] = ns * 1e-9 - t0;
                back[i] = t1 - ns * 1e-9;
            }
        }
        if (zpar_result_status (zpar_future_result (f)) != ZPAR_STATUS_OK) {
            if (failed++ == 0)
                fprintf (stderr, "zpar-bench: rtt: task failed: %s %s\n",
                         zpar_status_name (zpar_result_status (zpar_future_result (f))),
                         zpar_result_error (zpar_future_result (f)));
        }
        zpar_future_destroy (f);
    }
    qsort (lat, n, sizeof (double), cmp_d);
    printf ("rtt_median_us %.1f\n", lat[n / 2] * 1e6);
    printf ("rtt_p99_us %.1f\n", lat[(long)(n * 0.99)] * 1e6);
    printf ("rtt_failed %ld\n", failed);
    if (split) {
        qsort (there, n, sizeof (double), cmp_d);
        qsort (back, n, sizeof (double), cmp_d);
        printf ("there_median_us %.1f\n", there[n / 2] * 1e6);
        printf ("back_median_us %.1f\n", back[n / 2] * 1e6);
        printf ("there_p90_us %.1f\n", there[(long)(n * 0.9)] * 1e6);
        printf ("back_p90_us %.1f\n", back[(long)(n * 0.9)] * 1e6);
    }
    free (there);
    free (back);
    zpar_task_destroy (t);
    zpar_client_destroy (c);
    free (lat);
    return failed ? 1 : 0;
}

/* ----------------------------------------------------------- throughput */

static int run_pipelined (zpar_client_t *c, zpar_task_t *t, long n, long batch, const char *key)
{
    zpar_future_t **fs = calloc (batch, sizeof (*fs));
    double tmo = phase_timeout (), t0 = now (), el, cpu = 0;
    long failed = 0, done = 0;
    zpar_error_t err;

    if (!fs)
        return 1;
    while (done < n) {
        long k = n - done < batch ? n - done : batch;
        double left = tmo - (now () - t0);
        for (long i = 0; i < k; i++) {
            if (!(fs[i] = zpar_submit (c, t, &err))) {
                fprintf (stderr, "zpar-bench: submit: %s\n", err.text);
                return 1;
            }
        }
        if (left <= 0 || zpar_client_wait_all (c, left, &err) < 0) {
            fprintf (stderr, "zpar-bench: %s: %s\n", key, left <= 0 ? "ran out of time" : err.text);
            return 1;
        }
        for (long i = 0; i < k; i++) {
            const zpar_result_t *r = zpar_future_result (fs[i]);
            if (r)
                cpu += zpar_result_cpu (r);
            if (!r || zpar_result_status (r) != ZPAR_STATUS_OK) {
                if (failed++ == 0)
                    fprintf (stderr, "zpar-bench: %s: task failed: %s %s\n", key,
                             r ? zpar_status_name (zpar_result_status (r)) : "no result",
                             r ? zpar_result_error (r) : "");
            }
            zpar_future_destroy (fs[i]);
        }
        done += k;
    }
    el = now () - t0;
    printf ("%s_per_s %.0f\n", key, n / el);
    printf ("%s_seconds %.3f\n", key, el);
    printf ("%s_failed %ld\n", key, failed);
    /* the tasks' own CPU (their results' user + system), per task */
    printf ("%s_task_cpu_us %.1f\n", key, cpu * 1e6 / (double)n);
    free (fs);
    return failed ? 1 : 0;
}

static void warm_up (zpar_client_t *c, zpar_task_t *t, int nengines)
{
    /* load the library / page in the paths on every engine, bounded */
    zpar_error_t err;
    for (int i = 0; i < 20 * nengines; i++) {
        zpar_future_t *f = zpar_submit (c, t, &err);
        if (!f)
            return;
        zpar_future_wait (f, 30.0, NULL);
        zpar_future_destroy (f);
    }
}

static int cmd_tput (int inl, const char *lib, long n, long batch)
{
    zpar_client_t *c = connect_or_die ();
    zpar_task_t *t = zpar_task_function (lib, "noop", NULL, 0);
    int rc;
    if (!t || zpar_task_set_inline (t, inl) < 0)
        return 1;
    warm_up (c, t, live_engines (c, NULL));
    rc = run_pipelined (c, t, n, batch, "tput");
    zpar_task_destroy (t);
    zpar_client_destroy (c);
    return rc;
}

static int cmd_cmd (long n, long batch)
{
    zpar_client_t *c = connect_or_die ();
    const char *argv[] = {"/bin/true", NULL};
    zpar_task_t *t = zpar_task_command (argv);
    int rc;
    if (!t)
        return 1;
    warm_up (c, t, live_engines (c, NULL));
    rc = run_pipelined (c, t, n, batch, "cmd");
    zpar_task_destroy (t);
    zpar_client_destroy (c);
    return rc;
}

static int cmd_status (void)
{
    zpar_client_t *c = connect_or_die ();
    zpar_queue_status_t st;
    zpar_error_t err;
    int live = live_engines (c, NULL);
    if (zpar_client_queue_status (c, &st, &err) < 0) {
        fprintf (stderr, "zpar-bench: status: %s\n", err.text);
        return 1;
    }
    printf ("engines %d\npending %llu\nrunning %llu\ncompleted %llu\nfailed %llu\ndropped %llu\n",
            live, (unsigned long long)st.pending, (unsigned long long)st.running,
            (unsigned long long)st.completed, (unsigned long long)st.failed,
            (unsigned long long)st.dropped);
    zpar_client_destroy (c);
    return 0;
}

static void usage (void)
{
    fprintf (stderr, "usage: zpar-bench start N TIMEOUT -- CMD...\n"
                     "       zpar-bench rtt lb|direct inline|isolated LIB N\n"
                     "       zpar-bench rtt-split LIB N\n"
                     "       zpar-bench tput inline|isolated LIB N BATCH\n"
                     "       zpar-bench cmd N BATCH\n"
                     "       zpar-bench status\n");
    exit (2);
}

int main (int argc, char **argv)
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        usage ();
    if (!strcmp (argv[1], "start") && argc >= 6 && !strcmp (argv[4], "--"))
        return cmd_start (atoi (argv[2]), atof (argv[3]), argv + 5);
    if (!strcmp (argv[1], "rtt") && argc == 6)
        return cmd_rtt (!strcmp (argv[2], "lb"), !strcmp (argv[3], "inline"), argv[4],
                        atol (argv[5]) > 0 ? atol (argv[5]) : 1, 0);
    if (!strcmp (argv[1], "rtt-split") && argc == 4)
        return cmd_rtt (1, 1, argv[2], atol (argv[3]) > 0 ? atol (argv[3]) : 1, 1);
    if (!strcmp (argv[1], "tput") && argc == 6) {
        long n = atol (argv[4]), b = atol (argv[5]);
        return cmd_tput (!strcmp (argv[2], "inline"), argv[3], n > 0 ? n : 1,
                         b > 0 && b < n ? b : (n > 0 ? n : 1));
    }
    if (!strcmp (argv[1], "cmd") && argc == 4) {
        long n = atol (argv[2]), b = atol (argv[3]);
        return cmd_cmd (n > 0 ? n : 1, b > 0 && b < n ? b : (n > 0 ? n : 1));
    }
    if (!strcmp (argv[1], "status") && argc == 2)
        return cmd_status ();
    usage ();
    return 2;
}
