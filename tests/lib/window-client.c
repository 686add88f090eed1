/* window-client.c - a client against the window's hazards
 * (t0912-client-window): more tasks than its window ($ZPAR_CLIENT_WINDOW)
 * lets into the controller, then
 *
 *   window-client [-f CONNFILE] [-q INDEX] abort N SLEEP
 *       N load-balanced tasks of `sleep SLEEP`, a poll of a second, then
 *       aborts task N-1 (the last: in the client's window when N is
 *       beyond it) and task INDEX (default 15: queued in the task
 *       scheduler with 2 engines), printing for each
 *         abort index=I rc=.. ms=.. status=..
 *       (ms: how long zpar_client_abort took; status: the future's, once
 *       its answer came, bounded by 10 s); then aborts every other task
 *       from index 10 on and waits for them all (bounded by 60 s).
 *       Exit 0 when both aborts were answered aborted.
 *   window-client [-f CONNFILE] chain N
 *       N tasks `true`, each after the one before (a chain longer than
 *       the window), waited for (60 s).  Exit 0 when all are ok.
 *   window-client [-f CONNFILE] targets N
 *       N tasks bound to engine 999 (absent), then 5 plain tasks: the
 *       plain ones are waited for (30 s).  Exit 0 when they are ok (tasks
 *       waiting for an absent engine do not fill the window).
 *
 * Every mode ends with the line
 *   final ok=.. aborted=.. other=.. incomplete=..
 * (of the tasks it waited for; exit 1 on failure, 2 on a usage error). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zpar.h"

static double now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Abort task i, wait for its answer (10 s at most), print the line.
 * 1 when it was answered aborted. */
static int abort_one (zpar_client_t *c, zpar_future_t **fs, int i)
{
    zpar_error_t err = {{0}};
    double t0 = now_ms (), ms;
    int rc = zpar_client_abort (c, zpar_future_id (fs[i]), &err);
    const zpar_result_t *r;
    ms = now_ms () - t0;
    if (rc == 0)
        (void)zpar_future_wait (fs[i], 10, NULL);
    r = zpar_future_result (fs[i]);
    printf ("abort index=%d rc=%d ms=%.0f status=%s%s%s\n", i, rc, ms,
            r ? zpar_status_name (zpar_result_status (r)) : "none", rc < 0 ? " error=" : "",
            rc < 0 ? err.text : "");
    return rc == 0 && r && zpar_result_status (r) == ZPAR_STATUS_ABORTED;
}

static int nok, naborted, nother, nincomplete;

/* Count fs[from..to)'s outcomes and destroy them. */
static void tally (zpar_future_t **fs, int from, int to)
{
    for (int i = from; i < to; i++) {
        const zpar_result_t *r = zpar_future_result (fs[i]);
        if (!r)
            nincomplete++;
        else if (zpar_result_status (r) == ZPAR_STATUS_OK)
            nok++;
        else if (zpar_result_status (r) == ZPAR_STATUS_ABORTED)
            naborted++;
        else
            nother++;
        zpar_future_destroy (fs[i]);
        fs[i] = NULL;
    }
}

static int wait_for (zpar_future_t **fs, int from, int to, double secs)
{
    for (int i = from; i < to; i++)
        if (zpar_future_wait (fs[i], secs, NULL) < 0)
            return -1;
    return 0;
}

int main (int argc, char **argv)
{
    const char *connfile = NULL, *mode;
    int n, q = 15, opt, good = 0, rc = 1;
    char arg[64];
    const char *sleepv[] = {"sleep", arg, NULL}, *truev[] = {"true", NULL};
    zpar_client_opts_t o;
    zpar_client_t *c;
    zpar_future_t **fs;
    zpar_error_t err = {{0}};

    signal (SIGPIPE, SIG_IGN);
    setvbuf (stdout, NULL, _IOLBF, 0);
    while ((opt = getopt (argc, argv, "f:q:")) != -1) {
        if (opt == 'f')
            connfile = optarg;
        else if (opt == 'q')
            q = atoi (optarg);
        else
            return 2;
    }
    if (optind + 2 > argc || (n = atoi (argv[optind + 1])) <= 0 ||
        (strcmp (argv[optind], "abort") == 0 && (optind + 3 != argc || q < 0 || q >= n - 1))) {
        fprintf (stderr, "usage: window-client [-f CONNFILE] [-q INDEX] abort N SLEEP | chain N | "
                         "targets N\n");
        return 2;
    }
    mode = argv[optind];
    zpar_client_opts_init (&o);
    o.connection_file = connfile;
    if (!(c = zpar_client_connect_opts (&o, &err)) ||
        !(fs = calloc ((size_t)n + 5, sizeof (*fs)))) {
        fprintf (stderr, "FAIL: connect: %s\n", err.text);
        return 1;
    }
    if (strcmp (mode, "abort") == 0) {
        zpar_task_t *t;
        snprintf (arg, sizeof (arg), "%g", atof (argv[optind + 2]));
        if (!(t = zpar_task_command (sleepv)))
            return 1;
        for (int i = 0; i < n; i++)
            if (!(fs[i] = zpar_submit (c, t, &err))) {
                fprintf (stderr, "FAIL: submit %d: %s\n", i, err.text);
                return 1;
            }
        zpar_task_destroy (t);
        (void)zpar_client_poll (c, 1.0, NULL);
        good += abort_one (c, fs, n - 1);
        good += abort_one (c, fs, q);
        for (int i = 10; i < n - 1; i++)
            if (i != q)
                (void)zpar_client_abort (c, zpar_future_id (fs[i]), NULL);
        (void)zpar_client_wait_all (c, 60, NULL);
        tally (fs, 0, n);
        rc = good == 2 ? 0 : 1;
    } else if (strcmp (mode, "chain") == 0) {
        for (int i = 0; i < n; i++) {
            zpar_task_t *t = zpar_task_command (truev);
            if (!t || (i > 0 && zpar_task_add_after (t, zpar_future_id (fs[i - 1])) < 0) ||
                !(fs[i] = zpar_submit (c, t, &err))) {
                fprintf (stderr, "FAIL: submit %d: %s\n", i, err.text);
                return 1;
            }
            zpar_task_destroy (t);
        }
        (void)zpar_client_wait_all (c, 60, NULL);
        tally (fs, 0, n);
        rc = nok == n ? 0 : 1;
    } else if (strcmp (mode, "targets") == 0) {
        zpar_task_t *t = zpar_task_command (truev), *p = zpar_task_command (truev);
        if (!t || !p || zpar_task_add_target (t, (zpar_engine_id_t){999}) < 0)
            return 1;
        for (int i = 0; i < n + 5; i++)
            if (!(fs[i] = zpar_submit (c, i < n ? t : p, &err))) {
                fprintf (stderr, "FAIL: submit %d: %s\n", i, err.text);
                return 1;
            }
        zpar_task_destroy (t);
        zpar_task_destroy (p);
        (void)wait_for (fs, n, n + 5, 30);
        tally (fs, n, n + 5);
        for (int i = 0; i < n; i++)
            zpar_future_destroy (fs[i]);
        rc = nok == 5 ? 0 : 1;
    } else {
        fprintf (stderr, "window-client: unknown mode %s\n", mode);
        return 2;
    }
    printf ("final ok=%d aborted=%d other=%d incomplete=%d\n", nok, naborted, nother, nincomplete);
    free (fs);
    zpar_client_destroy (c);
    return rc;
}
