/* lowrate-client.c - the client of bench/lowrate.sh: tasks at a fixed,
 * low rate, so that each task costs what it costs alone (no batching, no
 * queue: every process wakes for every task).
 *
 *   lowrate-client rate cmd|noop LIB R N
 *       N load-balanced tasks, one every 1/R s (submitted on a clock, not
 *       after the previous result), results collected as they come;
 *       cmd: a command task running /bin/true, noop: an inline no-op
 *       function task from LIB.
 *   lowrate-client sync cmd|noop LIB N
 *       N synchronous round trips: submit one task, wait for its result.
 *
 * Before the measured phase: connect, wait for 1 live engine and warm up
 * (40 tasks).  Around the phase it writes its own threads' CPU and context
 * switches (from /proc/self/task) and prints, as "key value" lines:
 * tasks, seconds, per_s, failed, and client_cpu_us / client_cs (whole
 * process, per task), and for command tasks task_cpu_us: the commands'
 * own CPU per task (user + system from the results, wait4's rusage).  When $LOWRATE_MARK is a path,
 * it creates MARK.start before the phase and waits for MARK.go (the script has taken its snapshot
 * of the controller and engines), and MARK.end after it.  Every wait is bounded (60 s per task).
 * Not a test: a tool for doc/benchmarks.md.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zpar.h"

static double now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU ns and context switches of every thread of this process. */
static void self_usage (double *cpu_ns, double *cs)
{
    DIR *d = opendir ("/proc/self/task");
    struct dirent *de;
    *cpu_ns = *cs = 0;
    while (d && (de = readdir (d))) {
        char path[300], line[256];
        FILE *f;
        unsigned long long ns;
        long v;
        if (de->d_name[0] == '.')
            continue;
        snprintf (path, sizeof (path), "/proc/self/task/%s/schedstat", de->d_name);
        if ((f = fopen (path, "r"))) {
            if (fscanf (f, "%llu", &ns) == 1)
                *cpu_ns += (double)ns;
            fclose (f);
        }
        snprintf (path, sizeof (path), "/proc/self/task/%s/status", de->d_name);
        if ((f = fopen (path, "r"))) {
            while (fgets (line, sizeof (line), f))
                if (sscanf (line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
                    sscanf (line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
                    *cs += (double)v;
            fclose (f);
        }
    }
    if (d)
        closedir (d);
}

/* Create MARK.what; with go, then wait (30 s at most) for MARK.go: the
 * script's snapshot is taken. */
static void mark (const char *what, int go)
{
    const char *m = getenv ("LOWRATE_MARK");
    char path[4096];
    FILE *f;
    if (!m || !*m)
        return;
    snprintf (path, sizeof (path), "%s.%s", m, what);
    if ((f = fopen (path, "w")))
        fclose (f);
    snprintf (path, sizeof (path), "%s.go", m);
    for (int i = 0; go && i < 30000 && access (path, F_OK) < 0; i++)
        usleep (1000);
}

static double task_cpu; /* seconds, the results' user + system */

static int failed_result (zpar_future_t *f)
{
    const zpar_result_t *r = zpar_future_result (f);
    static int said;
    if (r)
        task_cpu += zpar_result_cpu (r);
    if (r && zpar_result_status (r) == ZPAR_STATUS_OK)
        return 0;
    if (!said++)
        fprintf (stderr, "lowrate-client: task failed: %s %s\n",
                 r ? zpar_status_name (zpar_result_status (r)) : "no result",
                 r ? zpar_result_error (r) : "");
    return 1;
}

int main (int argc, char **argv)
{
    zpar_client_t *c;
    zpar_task_t *t;
    zpar_future_t **fs;
    zpar_error_t err;
    const char *argv_true[] = {"/bin/true", NULL};
    int sync, cmd;
    double rate = 0, t0, t1, cpu0, cs0, cpu1, cs1;
    long n, failed = 0, head = 0;

    if (argc < 5 || (strcmp (argv[1], "rate") && strcmp (argv[1], "sync")) ||
        (strcmp (argv[2], "cmd") && strcmp (argv[2], "noop")) ||
        (!strcmp (argv[1], "rate") && argc != 6) || (!strcmp (argv[1], "sync") && argc != 5)) {
        fprintf (stderr, "usage: lowrate-client rate cmd|noop LIB R N\n"
                         "       lowrate-client sync cmd|noop LIB N\n");
        return 2;
    }
    sync = !strcmp (argv[1], "sync");
    cmd = !strcmp (argv[2], "cmd");
    if (!sync)
        rate = atof (argv[4]);
    n = atol (argv[sync ? 4 : 5]);
    if (n < 1 || (!sync && rate <= 0))
        return 2;
    if (!(c = zpar_client_connect (NULL, &err))) {
        fprintf (stderr, "lowrate-client: connect: %s\n", err.text);
        return 1;
    }
    t = cmd ? zpar_task_command (argv_true) : zpar_task_function (argv[3], "noop", NULL, 0);
    fs = calloc ((size_t)n, sizeof (*fs));
    if (!t || !fs || (!cmd && zpar_task_set_inline (t, 1) < 0)) {
        fprintf (stderr, "lowrate-client: cannot build the task\n");
        return 1;
    }
    if (zpar_client_wait_engines (c, 1, 60.0, &err) < 0) {
        fprintf (stderr, "lowrate-client: no engine: %s\n", err.text);
        return 1;
    }
    for (int i = 0; i < 40; i++) {
        zpar_future_t *f = zpar_submit (c, t, &err);
        if (!f || zpar_future_wait (f, 60.0, &err) < 0) {
            fprintf (stderr, "lowrate-client: warm-up: %s\n", err.text);
            return 1;
        }
        zpar_future_destroy (f);
    }

    task_cpu = 0;
    mark ("start", 1);
    self_usage (&cpu0, &cs0);
    t0 = now ();
    for (long i = 0; i < n; i++) {
        if (!(fs[i] = zpar_submit (c, t, &err))) {
            fprintf (stderr, "lowrate-client: submit: %s\n", err.text);
            return 1;
        }
        if (sync) {
            if (zpar_future_wait (fs[i], 60.0, &err) < 0) {
                fprintf (stderr, "lowrate-client: wait: %s\n", err.text);
                return 1;
            }
            failed += failed_result (fs[i]);
            zpar_future_destroy (fs[i]);
            fs[i] = NULL;
            continue;
        }
        /* until the next task is due: take results as they come */
        for (double due = t0 + (double)(i + 1) / rate, left; (left = due - now ()) > 0;) {
            if (zpar_client_poll (c, left, &err) < 0) {
                fprintf (stderr, "lowrate-client: poll: %s\n", err.text);
                return 1;
            }
            while (head <= i && zpar_future_done (fs[head])) {
                failed += failed_result (fs[head]);
                zpar_future_destroy (fs[head]);
                fs[head++] = NULL;
            }
        }
    }
    if (!sync) {
        if (zpar_client_wait_all (c, 60.0, &err) < 0) {
            fprintf (stderr, "lowrate-client: wait: %s\n", err.text);
            return 1;
        }
        for (; head < n; head++) {
            failed += failed_result (fs[head]);
            zpar_future_destroy (fs[head]);
        }
    }
    t1 = now ();
    self_usage (&cpu1, &cs1);
    mark ("end", 0);
    printf ("tasks %ld\nseconds %.3f\nper_s %.1f\nfailed %ld\n", n, t1 - t0, (double)n / (t1 - t0),
            failed);
    printf ("client_cpu_us %.1f\nclient_cs %.2f\n", (cpu1 - cpu0) / 1e3 / (double)n,
            (cs1 - cs0) / (double)n);
    printf ("task_cpu_us %.1f\n", task_cpu * 1e6 / (double)n);
    zpar_task_destroy (t);
    zpar_client_destroy (c);
    free (fs);
    return failed ? 1 : 0;
}
