/* zpar-scale.c - the client side of tests/scale/engines.sh.
 *
 *   zpar-scale engines N TIMEOUT
 *       wait until N engines are live (connection file: the usual
 *       $ZPAR_CONNECTION_FILE); prints engines_live, exit 0 when reached.
 *   zpar-scale tasks N TIMEOUT PING_EP -- CMD...
 *       submit N load-balanced command tasks CMD, wait for them all (at
 *       most TIMEOUT s), and meanwhile listen to the controller's heartbeat
 *       pings on PING_EP ("-": do not) to measure the longest gap between
 *       two pings.  Prints key value lines: tasks, ok, engine_died, failed
 *       (any other status), no_result, seconds, pings, max_ping_gap_ms.
 *       Exit 0 when every task succeeded.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "zpar.h"

static double now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    const char *ep;
    volatile int stop;
    long pings;
    double max_gap;
} pinger_t;

static void *listen_pings (void *arg)
{
    pinger_t *p = arg;
    void *ctx = zmq_ctx_new (), *sub = ctx ? zmq_socket (ctx, ZMQ_SUB) : NULL;
    int tmo = 100, zero = 0;
    double last = 0;
    char buf[64];
    if (!sub || zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "", 0) < 0 ||
        zmq_setsockopt (sub, ZMQ_RCVTIMEO, &tmo, sizeof (tmo)) < 0 ||
        zmq_setsockopt (sub, ZMQ_LINGER, &zero, sizeof (zero)) < 0 ||
        zmq_connect (sub, p->ep) < 0) {
        fprintf (stderr, "zpar-scale: cannot listen to %s: %s\n", p->ep,
                 zmq_strerror (zmq_errno ()));
        goto out;
    }
    while (!p->stop) {
        if (zmq_recv (sub, buf, sizeof (buf), 0) < 0)
            continue;
        double t = now ();
        if (last > 0 && t - last > p->max_gap)
            p->max_gap = t - last;
        last = t;
        p->pings++;
    }
out:
    if (sub)
        zmq_close (sub);
    if (ctx)
        zmq_ctx_term (ctx);
    return NULL;
}

static int cmd_engines (int want, double timeout)
{
    double t0 = now ();
    zpar_client_t *c = NULL;
    int live = -1;
    while (now () - t0 < timeout) {
        zpar_error_t err;
        if (!c && !(c = zpar_client_connect (NULL, &err)))
            fprintf (stderr, "zpar-scale: connect: %s\n", err.text);
        if (c && (live = zpar_client_engines_alive (c, &err)) >= want)
            break;
        if (c && live < 0)
            fprintf (stderr, "zpar-scale: engines: %s\n", err.text);
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep (&ts, NULL);
    }
    printf ("engines_live %d\n", live);
    zpar_client_destroy (c);
    return live >= want ? 0 : 1;
}

static int cmd_tasks (long n, double timeout, const char *ping_ep, const char **argv)
{
    zpar_error_t err;
    zpar_client_t *c = zpar_client_connect (NULL, &err);
    zpar_task_t *t = zpar_task_command (argv);
    zpar_future_t **fs = calloc ((size_t)n, sizeof (*fs));
    pinger_t p = {.ep = ping_ep};
    pthread_t tid;
    int listening = 0;
    long ok = 0, died = 0, failed = 0, none = 0;
    double t0 = now ();

    if (!c || !t || !fs) {
        fprintf (stderr, "zpar-scale: %s\n", c ? "out of memory" : err.text);
        return 2;
    }
    if (strcmp (ping_ep, "-") != 0 && pthread_create (&tid, NULL, listen_pings, &p) == 0)
        listening = 1;
    for (long i = 0; i < n; i++)
        if (!(fs[i] = zpar_submit (c, t, &err))) {
            fprintf (stderr, "zpar-scale: submit %ld: %s\n", i, err.text);
            break;
        }
    if (zpar_client_wait_all (c, timeout - (now () - t0), &err) < 0)
        fprintf (stderr, "zpar-scale: wait: %s\n", err.text);
    for (long i = 0; i < n; i++) {
        const zpar_result_t *r = fs[i] ? zpar_future_result (fs[i]) : NULL;
        if (!r)
            none++;
        else if (zpar_result_status (r) == ZPAR_STATUS_OK)
            ok++;
        else if (zpar_result_status (r) == ZPAR_STATUS_ENGINE_DIED) {
            if (died++ < 3)
                fprintf (stderr, "zpar-scale: engine died: %s\n", zpar_result_error (r));
        } else if (failed++ < 3)
            fprintf (stderr, "zpar-scale: task failed: %s %s\n",
                     zpar_status_name (zpar_result_status (r)), zpar_result_error (r));
        zpar_future_destroy (fs[i]);
    }
    printf ("tasks %ld\nok %ld\nengine_died %ld\nfailed %ld\nno_result %ld\nseconds %.1f\n", n, ok,
            died, failed, none, now () - t0);
    if (listening) {
        p.stop = 1;
        pthread_join (tid, NULL);
        printf ("pings %ld\nmax_ping_gap_ms %.0f\n", p.pings, p.max_gap * 1000);
    }
    free (fs);
    zpar_task_destroy (t);
    zpar_client_destroy (c);
    return ok == n ? 0 : 1;
}

int main (int argc, char **argv)
{
    if (argc == 4 && !strcmp (argv[1], "engines"))
        return cmd_engines (atoi (argv[2]), atof (argv[3]));
    if (argc >= 7 && !strcmp (argv[1], "tasks") && !strcmp (argv[5], "--"))
        return cmd_tasks (atol (argv[2]), atof (argv[3]), argv[4], (const char **)argv + 6);
    fprintf (stderr, "usage: zpar-scale engines N TIMEOUT\n"
                     "       zpar-scale tasks N TIMEOUT PING_EP -- CMD...\n");
    return 2;
}
