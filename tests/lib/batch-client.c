/* batch-client.c - the system test t0048-client-batch's driver: batches
 * between a client and the task scheduler, on a real cluster
 * ($ZPAR_CONNECTION_FILE).
 *
 *   batch-client many N LIB   N inline zt_echo tasks of LIB (testfn.so),
 *                             input "i" for the i-th, submitted back to back
 *                             (packed into batches), then one wait_all;
 *                             every future must hold its own result (ok,
 *                             output "i", its own id), and the controller
 *                             must count exactly N more completed tasks
 *   batch-client lone LIB     one task, then a wait: answered (a lone
 *                             submit is sent at once when waited for)
 *   batch-client hostile      batches a key holder may forge, on the task
 *                             scheduler's client socket: a broken one (one
 *                             item), one with bad items (short, another
 *                             channel, a batch in a batch, a result) beside
 *                             a good task, one signed with another key;
 *                             each must be counted as dropped, the good
 *                             task answered, the cluster still serving
 *
 * Prints "key=value" lines; exit 0 when every check held, 1 otherwise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "conn.h"
#include "proto_batch.h"
#include "proto_result.h"
#include "proto_task.h"
#include "sched_fixture.h"
#include "wire.h"
#include "zpar.h"

static int failures;

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        printf ("FAIL: " __VA_ARGS__);                                                             \
        printf ("\n");                                                                             \
        failures++;                                                                                \
    } while (0)

static zpar_client_t *connect_or_die (void)
{
    zpar_error_t err;
    zpar_client_t *c = zpar_client_connect (NULL, &err);
    if (!c) {
        printf ("FAIL: connect: %s\n", err.text);
        exit (1);
    }
    return c;
}

static zpar_queue_status_t status (zpar_client_t *c)
{
    zpar_queue_status_t st = {0};
    zpar_error_t err;
    if (zpar_client_queue_status (c, &st, &err) < 0)
        FAIL ("status: %s", err.text);
    return st;
}

static zpar_task_t *echo (const char *lib, const char *text)
{
    char spec[4096];
    zpar_task_t *t;
    snprintf (spec, sizeof (spec), "%s", lib);
    t = zpar_task_function (spec, "zt_echo", text, strlen (text));
    if (t)
        zpar_task_set_inline (t, 1);
    return t;
}

static int cmd_many (long n, const char *lib)
{
    zpar_client_t *c = connect_or_die ();
    zpar_future_t **fs = calloc ((size_t)n, sizeof (*fs));
    zpar_queue_status_t s0 = status (c), s1;
    zpar_error_t err;
    uint64_t t0 = zpar__mono_us ();
    long okn = 0, bad = 0;

    for (long i = 0; i < n; i++) {
        char in[32];
        zpar_task_t *t;
        snprintf (in, sizeof (in), "%ld", i);
        if (!(t = echo (lib, in)) || !(fs[i] = zpar_submit (c, t, &err))) {
            FAIL ("submit %ld: %s", i, err.text);
            return 1;
        }
        zpar_task_destroy (t);
    }
    if (zpar_client_wait_all (c, 300, &err) < 0)
        FAIL ("wait_all: %s", err.text);
    for (long i = 0; i < n; i++) {
        const zpar_result_t *r = zpar_future_result (fs[i]);
        char want[32];
        size_t len = 0;
        const char *out = r ? zpar_result_output (r, &len) : NULL;
        snprintf (want, sizeof (want), "%ld", i);
        if (r && zpar_result_status (r) == ZPAR_STATUS_OK &&
            zpar_result_id (r).id == zpar_future_id (fs[i]).id && out && len == strlen (want) &&
            memcmp (out, want, len) == 0)
            okn++;
        else if (bad++ < 5)
            printf ("bad index=%ld status=%s\n", i,
                    r ? zpar_status_name (zpar_result_status (r)) : "none");
        zpar_future_destroy (fs[i]);
    }
    printf ("many n=%ld ok=%ld bad=%ld seconds=%.2f\n", n, okn, bad,
            (double)(zpar__mono_us () - t0) / 1e6);
    if (okn != n)
        FAIL ("%ld of %ld futures without their own ok result", n - okn, n);
    /* the controller ran each exactly once: N more completed, none failed */
    for (int i = 0; i < 100; i++) {
        s1 = status (c);
        if (s1.completed - s0.completed >= (uint64_t)n)
            break;
        usleep (50000);
    }
    printf ("many completed=%llu failed=%llu duplicates=%llu\n",
            (unsigned long long)(s1.completed - s0.completed),
            (unsigned long long)(s1.failed - s0.failed),
            (unsigned long long)(s1.duplicates - s0.duplicates));
    if (s1.completed - s0.completed != (uint64_t)n || s1.failed != s0.failed)
        FAIL ("the controller counted %llu completed, %llu failed",
              (unsigned long long)(s1.completed - s0.completed),
              (unsigned long long)(s1.failed - s0.failed));
    free (fs);
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

static int cmd_lone (const char *lib)
{
    zpar_client_t *c = connect_or_die ();
    zpar_task_t *t = echo (lib, "lone");
    zpar_error_t err;
    zpar_future_t *f;
    uint64_t t0 = zpar__mono_us ();
    if (!t || !(f = zpar_submit (c, t, &err))) {
        FAIL ("submit");
        return 1;
    }
    if (zpar_future_wait (f, 30, &err) < 0 ||
        zpar_result_status (zpar_future_result (f)) != ZPAR_STATUS_OK)
        FAIL ("a lone submit and a wait: %s", err.text);
    printf ("lone ok=%d ms=%.1f\n", !failures, (double)(zpar__mono_us () - t0) / 1e3);
    zpar_future_destroy (f);
    zpar_task_destroy (t);
    zpar_client_destroy (c);
    return failures ? 1 : 0;
}

/* ------------------------------------------------------------ hostile */

/* Wait until the controller counts more than d0 dropped; the count. */
static uint64_t dropped_after (zpar_client_t *c, uint64_t d0)
{
    uint64_t d = d0;
    for (int i = 0; i < 100 && (d = status (c).dropped) <= d0; i++)
        usleep (50000);
    return d;
}

static int cmd_hostile (void)
{
    zpar_client_t *c = connect_or_die ();
    zpar_conninfo_t ci;
    zpar_error_t err;
    zpar_signer_t *sg, *forger;
    uint8_t other[ZPAR_KEY_LEN];
    const char *path = getenv ("ZPAR_CONNECTION_FILE");
    void *ctx, *s;
    uint64_t d0, d;
    int linger = 500;

    if (!path || zpar__conn_read (path, &ci, &err) < 0) {
        FAIL ("no connection file: %s", path ? err.text : "$ZPAR_CONNECTION_FILE unset");
        return 1;
    }
    memset (other, 0x5a, sizeof (other));
    sg = zpar__signer_create (ci.key, 0);
    forger = zpar__signer_create (other, 0);
    ctx = zmq_ctx_new ();
    s = zmq_socket (ctx, ZMQ_DEALER);
    zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_connect (s, ci.addr[ZPAR_EP_TASK_CLIENT]);
    usleep (300000);

    /* broken structure: a batch of one item */
    d0 = status (c).dropped;
    {
        zpar_msg_t *b = zpar__msg_create (ZPAR_MSG_BATCH);
        sfx_raw_item (b, sfx_task_msg (1), ZPAR_CHAN_TASK);
        zpar__wire_send_chan (s, sg, ZPAR_CHAN_TASK, b, 0);
        zpar__msg_destroy (b);
    }
    d = dropped_after (c, d0);
    printf ("hostile broken dropped=+%llu\n", (unsigned long long)(d - d0));
    if (d == d0)
        FAIL ("a batch of one item was not counted as dropped");

    /* bad items beside a good task: dropped alone, the task answered */
    d0 = d;
    {
        zpar_msg_t *b = zpar__msg_create (ZPAR_MSG_BATCH),
                   *inner = zpar__msg_create (ZPAR_MSG_BATCH);
        zpar_msg_t *rm = zpar__msg_create (ZPAR_MSG_RESULT), *got = zpar__msg_create (0);
        zpar_proto_result_t r;
        uint8_t shortitem[12] = {1};
        uint64_t good = ((uint64_t)zpar_client_id (c) << 32) | 0xfffff0u;
        int answered = 0, tmo = 10000;
        sfx_raw_item (b, sfx_task_msg (2), ZPAR_CHAN_MUX);
        sfx_raw_item (inner, sfx_task_msg (3), ZPAR_CHAN_TASK);
        sfx_raw_item (inner, sfx_task_msg (4), ZPAR_CHAN_TASK);
        sfx_raw_item (b, inner, ZPAR_CHAN_TASK);
        zpar__msg_add_bytes (b, ZPAR_F_ITEM, shortitem, sizeof (shortitem));
        zpar__proto_result_error (&r, zpar__tid (5), zpar__eid (1), zpar__cid (1), ZPAR_STATUS_OK,
                                  NULL);
        zpar__proto_result_encode (rm, &r);
        sfx_raw_item (b, rm, ZPAR_CHAN_TASK);
        sfx_raw_item (b, sfx_task_msg (good), ZPAR_CHAN_TASK);
        zpar__wire_send_chan (s, sg, ZPAR_CHAN_TASK, b, 0);
        zpar__msg_destroy (b);
        zmq_setsockopt (s, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
        while (zpar__wire_recv_chan (s, sg, ZPAR_CHAN_TASK, got, 0, &err) == 0)
            if (got->hdr.type == ZPAR_MSG_RESULT && got->hdr.task == good) {
                answered = 1;
                break;
            }
        zpar__msg_destroy (got);
        d = dropped_after (c, d0);
        printf ("hostile items dropped=+%llu good_answered=%d\n", (unsigned long long)(d - d0),
                answered);
        if (d - d0 < 4)
            FAIL ("4 bad items, %llu counted as dropped", (unsigned long long)(d - d0));
        if (!answered)
            FAIL ("the good task beside the bad items was not answered");
    }

    /* another key */
    d0 = status (c).dropped;
    {
        zpar_batch_t *b = zpar__batch_create ();
        for (int i = 0; i < 2; i++) {
            zpar_msg_t *m = sfx_task_msg (10 + (uint64_t)i);
            zpar__batch_add_msg (b, m);
            zpar__msg_destroy (m);
        }
        zpar__batch_send (b, s, forger, ZPAR_CHAN_TASK, 0, NULL, 0, NULL);
        zpar__batch_destroy (b);
    }
    d = dropped_after (c, d0);
    printf ("hostile forged dropped=+%llu\n", (unsigned long long)(d - d0));
    if (d == d0)
        FAIL ("a batch signed with another key was not counted as dropped");

    zmq_close (s);
    zmq_ctx_term (ctx);
    zpar__signer_destroy (sg);
    zpar__signer_destroy (forger);
    zpar_client_destroy (c);
    printf ("hostile ok=%d\n", !failures);
    return failures ? 1 : 0;
}

int main (int argc, char **argv)
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    if (argc == 4 && !strcmp (argv[1], "many"))
        return cmd_many (atol (argv[2]), argv[3]);
    if (argc == 3 && !strcmp (argv[1], "lone"))
        return cmd_lone (argv[2]);
    if (argc == 2 && !strcmp (argv[1], "hostile"))
        return cmd_hostile ();
    fprintf (stderr, "usage: batch-client many N LIB | lone LIB | hostile\n");
    return 2;
}
