/* client-restart.c - a client that must ride through controller restarts
 * without help (the system tests t09xx-client-*).
 *
 *   client-restart [-f CONNFILE] [-t SECONDS] [-n N] [-d EVERY] [-r RATE]
 *                  [-s SLEEP] [-p PING] [-b BURST] [-w WAIT] SIDEFILE
 *
 * Submits N tasks, RATE a second (every EVERY-th one direct, round robin
 * over the engines alive at the start; 0: none), each appending its index
 * to SIDEFILE (its side effect) and sleeping SLEEP seconds; then waits for
 * them all with one zpar_client_wait_all bounded by -t.  -b BURST: the
 * submits come BURST at a time, back to back (libzpar packs them into one
 * batch), with a poll between bursts (default 1: a poll after each).
 * -w WAIT: once connected, it polls WAIT seconds before the first submit
 * (the shell can restart the controller meanwhile).  Meanwhile the shell
 * kills and restarts the controller.  The client gets no help: no retry,
 * no reconnect by hand.  Prints:
 *
 *   connected engines=N                      (the live engines listed)
 *   waited WAIT s                            (with -w, before submitting)
 *   submitted n=N direct=D
 *   wait rc=.. errno=.. error=..
 *   bad index=I id=ID status=.. error=..     (each task without an ok result)
 *   final ok=.. failed=.. incomplete=.. reconnects=..
 *
 * incomplete counts the futures that never completed.  Exit status 0 when
 * every future completed ok, 1 otherwise, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zpar.h"

static void usage (void)
{
    fprintf (stderr, "usage: client-restart [-f CONNFILE] [-t SECONDS] [-n N] [-d EVERY] "
                     "[-r RATE] [-s SLEEP] [-p PING] [-b BURST] [-w WAIT] SIDEFILE\n");
    exit (2);
}

static zpar_task_t *side_task (int index, const char *side, double sleep_for)
{
    char script[128], idx[32];
    const char *argv[] = {"sh", "-c", script, "sh", idx, side, NULL};
    snprintf (script, sizeof (script), "echo \"$1\" >>\"$2\"; sleep %g", sleep_for);
    snprintf (idx, sizeof (idx), "%d", index);
    return zpar_task_command (argv);
}

int main (int argc, char **argv)
{
    const char *connfile = NULL, *side, *scale = getenv ("ZPAR_TEST_TIMEOUT_SCALE");
    double tmo = 120, rate = 100, sleep_for = 0.02, ping = 0, wait0 = 0;
    int n = 500, every = 0, opt, ndirect = 0, ok = 0, failed = 0, incomplete = 0, rc, burst = 1;
    zpar_client_opts_t o;
    zpar_client_t *c;
    zpar_future_t **fs;
    zpar_engine_info_t *eng = NULL;
    zpar_engine_id_t *alive;
    size_t neng = 0, nalive = 0;
    zpar_error_t err = {{0}};

    signal (SIGPIPE, SIG_IGN);
    setvbuf (stdout, NULL, _IOLBF, 0);
    while ((opt = getopt (argc, argv, "f:t:n:d:r:s:p:b:w:")) != -1) {
        switch (opt) {
        case 'f':
            connfile = optarg;
            break;
        case 't':
            tmo = atof (optarg);
            break;
        case 'n':
            n = atoi (optarg);
            break;
        case 'd':
            every = atoi (optarg);
            break;
        case 'r':
            rate = atof (optarg);
            break;
        case 's':
            sleep_for = atof (optarg);
            break;
        case 'p':
            ping = atof (optarg);
            break;
        case 'b':
            burst = atoi (optarg);
            break;
        case 'w':
            wait0 = atof (optarg);
            break;
        default:
            usage ();
        }
    }
    if (optind + 1 != argc || n <= 0 || rate <= 0 || burst <= 0)
        usage ();
    side = argv[optind];
    if (scale && atof (scale) > 0)
        tmo *= atof (scale);

    zpar_client_opts_init (&o);
    o.connection_file = connfile;
    o.ping_period = ping;
    if (!(c = zpar_client_connect_opts (&o, &err))) {
        fprintf (stderr, "FAIL: connect: %s\n", err.text);
        return 1;
    }
    if (zpar_client_engines (c, &eng, &neng, &err) < 0) {
        fprintf (stderr, "FAIL: engines: %s\n", err.text);
        return 1;
    }
    if (!(alive = calloc (neng + 1, sizeof (*alive))) || !(fs = calloc ((size_t)n, sizeof (*fs))))
        return 1;
    for (size_t i = 0; i < neng; i++)
        if (strcmp (eng[i].state, "dead") != 0)
            alive[nalive++] = eng[i].id;
    free (eng);
    printf ("connected engines=%zu\n", nalive);
    if (wait0 > 0) {
        /* poll until WAIT seconds have passed (a result or a ping's
         * answer ends a poll early) */
        struct timespec t0, t1;
        clock_gettime (CLOCK_MONOTONIC, &t0);
        for (;;) {
            double left;
            clock_gettime (CLOCK_MONOTONIC, &t1);
            left = wait0 - ((double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
            if (left <= 0)
                break;
            (void)zpar_client_poll (c, left, NULL);
        }
        printf ("waited %g s\n", wait0);
    }

    for (int i = 0; i < n; i++) {
        zpar_task_t *t = side_task (i, side, sleep_for);
        int direct = every > 0 && nalive > 0 && i % every == every - 1;
        if (!t)
            return 1;
        fs[i] = direct ? zpar_submit_to (c, alive[ndirect % nalive], t, &err)
                       : zpar_submit (c, t, &err);
        zpar_task_destroy (t);
        if (!fs[i]) {
            fprintf (stderr, "FAIL: submit %d: %s\n", i, err.text);
            return 1;
        }
        ndirect += direct;
        /* pace the submissions; results arriving meanwhile are taken in
         * (an error here is no reason to stop: the final wait decides) */
        if ((i + 1) % burst == 0 || i == n - 1)
            (void)zpar_client_poll (c, burst / rate, NULL);
    }
    printf ("submitted n=%d direct=%d\n", n, ndirect);

    errno = 0;
    rc = zpar_client_wait_all (c, tmo, &err);
    printf ("wait rc=%d errno=%d error=%s\n", rc, rc < 0 ? errno : 0, rc < 0 ? err.text : "");
    for (int i = 0; i < n; i++) {
        const zpar_result_t *r = zpar_future_result (fs[i]);
        char ids[32];
        zpar_task_id_format (zpar_future_id (fs[i]), ids, sizeof (ids));
        if (r && zpar_result_status (r) == ZPAR_STATUS_OK) {
            ok++;
            continue;
        }
        if (r)
            failed++;
        else
            incomplete++;
        printf ("bad index=%d id=%s status=%s error=%s\n", i, ids,
                r ? zpar_status_name (zpar_result_status (r)) : "none",
                r ? zpar_result_error (r) : "never completed");
    }
    printf ("final ok=%d failed=%d incomplete=%d reconnects=%u\n", ok, failed, incomplete,
            zpar_client_reconnects (c));
    for (int i = 0; i < n; i++)
        zpar_future_destroy (fs[i]);
    free (fs);
    free (alive);
    zpar_client_destroy (c);
    return ok == n ? 0 : 1;
}
