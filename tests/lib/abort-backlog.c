/* abort-backlog.c - aborts behind a backlog (t0912-client-window): a
 * client submits more tasks than its window lets into the controller,
 * then aborts some; an abort must be answered at once wherever the task
 * waits (in the client's window, or queued in the controller).
 *
 *   abort-backlog [-f CONNFILE] [-q INDEX] N SLEEP
 *
 * Submits N load-balanced tasks of `sleep SLEEP`, polls for a second,
 * then aborts task N-1 (the last: in the client's window when N is beyond
 * it) and task INDEX (default 15: queued in the task scheduler with 2
 * engines), printing for each
 *
 *   abort index=I rc=.. ms=.. status=..
 *
 * (ms: how long zpar_client_abort took; status: the future's, once its
 * answer came, bounded by 10 s); then aborts every other task from index
 * 10 on, waits for them all (bounded by 60 s) and prints
 *
 *   final ok=.. aborted=.. other=.. incomplete=..
 *
 * Exit status 0 when both aborts were answered aborted, 1 otherwise, 2 on
 * a usage error. */
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

int main (int argc, char **argv)
{
    const char *connfile = NULL;
    int n, q = 15, opt, good = 0, ok = 0, aborted = 0, other = 0, incomplete = 0;
    double sleep_for;
    char script[64];
    const char *targv[] = {"sleep", script, NULL};
    zpar_client_opts_t o;
    zpar_client_t *c;
    zpar_future_t **fs;
    zpar_task_t *t;
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
    if (optind + 2 != argc || (n = atoi (argv[optind])) <= 0 || q < 0 || q >= n - 1) {
        fprintf (stderr, "usage: abort-backlog [-f CONNFILE] [-q INDEX] N SLEEP\n");
        return 2;
    }
    sleep_for = atof (argv[optind + 1]);
    snprintf (script, sizeof (script), "%g", sleep_for);
    zpar_client_opts_init (&o);
    o.connection_file = connfile;
    if (!(c = zpar_client_connect_opts (&o, &err)) || !(t = zpar_task_command (targv)) ||
        !(fs = calloc ((size_t)n, sizeof (*fs)))) {
        fprintf (stderr, "FAIL: connect: %s\n", err.text);
        return 1;
    }
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
    for (int i = 0; i < n; i++) {
        const zpar_result_t *r = zpar_future_result (fs[i]);
        if (!r)
            incomplete++;
        else if (zpar_result_status (r) == ZPAR_STATUS_OK)
            ok++;
        else if (zpar_result_status (r) == ZPAR_STATUS_ABORTED)
            aborted++;
        else
            other++;
        zpar_future_destroy (fs[i]);
    }
    printf ("final ok=%d aborted=%d other=%d incomplete=%d\n", ok, aborted, other, incomplete);
    free (fs);
    zpar_client_destroy (c);
    return good == 2 ? 0 : 1;
}
