/* attack-memory - what a peer without the key can make the controller hold.
 *
 *   attack-memory CONNECTION_FILE bigframes N MIB
 *       one DEALER at the registrar sends N frames of MIB MiB each (no key;
 *       the frames are one shared, untouched mapping, so this program stays
 *       small), then waits up to 20 s for them to leave and exits.
 *   attack-memory CONNECTION_FILE slowsub SECONDS
 *       a SUB at iopub_client that subscribes to everything and never
 *       reads, for SECONDS.
 *   attack-memory CONNECTION_FILE garbage N
 *       N small unsigned messages at each of the registrar, mux_client,
 *       control_client and task_client (what floods a per-message log).
 *   attack-memory CONNECTION_FILE publish N KIB [signed]
 *       a PUB at iopub_engine publishes N STREAM messages of KIB KiB:
 *       unsigned, or signed with the cluster key as an engine would.
 *
 * Prints one line "<mode> sent=K" and exits 0; 2 on a usage or set-up
 * error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zmq.h>

#include "clock.h"
#include "conn.h"
#include "ids.h"
#include "proto_iopub.h"
#include "wire.h"

static void *mksock (void *ctx, int type, const char *ep)
{
    void *s = zmq_socket (ctx, type);
    int zero = 0, small = 4096;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (s, ZMQ_SNDHWM, &zero, sizeof (zero));
    if (type == ZMQ_SUB) {
        zmq_setsockopt (s, ZMQ_RCVBUF, &small, sizeof (small));
        zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0);
    }
    if (zmq_connect (s, ep) < 0) {
        fprintf (stderr, "attack-memory: connect %s: %s\n", ep, zmq_strerror (errno));
        exit (2);
    }
    return s;
}

static int usage (void)
{
    fprintf (stderr, "usage: attack-memory CONNECTION_FILE bigframes N MIB\n"
                     "       attack-memory CONNECTION_FILE slowsub SECONDS\n"
                     "       attack-memory CONNECTION_FILE garbage N\n"
                     "       attack-memory CONNECTION_FILE publish N KIB [signed]\n");
    return 2;
}

static int bigframes (void *ctx, const zpar_conninfo_t *ci, long n, long mib)
{
    size_t len = (size_t)mib << 20;
    void *buf = mmap (NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *s = mksock (ctx, ZMQ_DEALER, ci->addr[ZPAR_EP_REGISTRAR]);
    long sent = 0;
    if (buf == MAP_FAILED)
        return 2;
    for (long i = 0; i < n; i++) {
        zmq_msg_t m;
        zmq_msg_init_data (&m, buf, len, NULL, NULL);
        if (zmq_msg_send (&m, s, 0) < 0)
            zmq_msg_close (&m);
        else
            sent++;
    }
    /* give the I/O thread time to push them (or the peer to hang up) */
    zpar__sleep_s (8);
    printf ("bigframes sent=%ld\n", sent);
    fflush (stdout);
    zmq_close (s);
    munmap (buf, len);
    return 0;
}

static int slowsub (void *ctx, const zpar_conninfo_t *ci, long seconds)
{
    void *s = mksock (ctx, ZMQ_SUB, ci->addr[ZPAR_EP_IOPUB_CLIENT]);
    zpar__sleep_s ((double)seconds);
    printf ("slowsub sent=0\n");
    zmq_close (s);
    return 0;
}

static int garbage (void *ctx, const zpar_conninfo_t *ci, long n)
{
    static const int eps[] = {ZPAR_EP_REGISTRAR, ZPAR_EP_MUX_CLIENT, ZPAR_EP_CONTROL_CLIENT,
                              ZPAR_EP_TASK_CLIENT};
    uint8_t zeros[ZPAR_HDR_LEN] = {0};
    long sent = 0;
    for (size_t e = 0; e < sizeof (eps) / sizeof (eps[0]); e++) {
        void *s = mksock (ctx, ZMQ_DEALER, ci->addr[eps[e]]);
        for (long i = 0; i < n; i++) {
            zmq_send (s, ZPAR_PROTO_DELIM, strlen (ZPAR_PROTO_DELIM), ZMQ_SNDMORE);
            zmq_send (s, zeros, ZPAR_SIG_LEN, ZMQ_SNDMORE);
            zmq_send (s, zeros, ZPAR_HDR_LEN, ZMQ_SNDMORE);
            if (zmq_send (s, "garbage", 7, 0) >= 0)
                sent++;
        }
        zpar__sleep_s (1); /* let them leave */
        zmq_close (s);
    }
    printf ("garbage sent=%ld\n", sent);
    return 0;
}

static int publish (void *ctx, const zpar_conninfo_t *ci, long n, long kib, int sign)
{
    void *s = mksock (ctx, ZMQ_PUB, ci->addr[ZPAR_EP_IOPUB_ENGINE]);
    zpar_signer_t *sg = zpar__signer_create (ci->key, 0);
    size_t len = (size_t)kib << 10;
    char *data = malloc (len);
    long sent = 0;
    if (!sg || !data)
        return 2;
    memset (data, 'x', len);
    zpar__sleep_s (0.5); /* PUB/SUB: let the connection come up */
    for (long i = 0; i < n; i++) {
        zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_STREAM);
        zpar_proto_stream_t st = {.h = {.task = zpar__tid ((uint64_t)i + 1),
                                        .engine = zpar__eid (1),
                                        .client = zpar__cid (1)},
                                  .stream = ZPAR_STREAM_STDOUT,
                                  .data = data,
                                  .len = len};
        if (!m || zpar__proto_stream_encode (m, &st) < 0)
            return 2;
        if (sign) {
            if (zpar__wire_send_chan (s, sg, ZPAR_CHAN_IOPUB, m, 0) == 0)
                sent++;
        } else {
            uint8_t zeros[ZPAR_HDR_LEN] = {0};
            zmq_send (s, "c1.e1", 5, ZMQ_SNDMORE);
            zmq_send (s, ZPAR_PROTO_DELIM, strlen (ZPAR_PROTO_DELIM), ZMQ_SNDMORE);
            zmq_send (s, zeros, ZPAR_SIG_LEN, ZMQ_SNDMORE);
            zmq_send (s, zeros, ZPAR_HDR_LEN, ZMQ_SNDMORE);
            if (zmq_send (s, data, len, 0) >= 0)
                sent++;
        }
        zpar__msg_destroy (m);
    }
    zpar__sleep_s (3); /* let them leave */
    printf ("publish sent=%ld\n", sent);
    zmq_close (s);
    zpar__signer_destroy (sg);
    free (data);
    return 0;
}

int main (int argc, char **argv)
{
    zpar_conninfo_t ci;
    zpar_error_t err;
    void *ctx;
    int rc;

    if (argc < 4)
        return usage ();
    if (zpar__conn_read (argv[1], &ci, &err) < 0) {
        fprintf (stderr, "attack-memory: %s\n", err.text);
        return 2;
    }
    ctx = zmq_ctx_new ();
    if (strcmp (argv[2], "bigframes") == 0 && argc == 5)
        rc = bigframes (ctx, &ci, atol (argv[3]), atol (argv[4]));
    else if (strcmp (argv[2], "slowsub") == 0 && argc == 4)
        rc = slowsub (ctx, &ci, atol (argv[3]));
    else if (strcmp (argv[2], "garbage") == 0 && argc == 4)
        rc = garbage (ctx, &ci, atol (argv[3]));
    else if (strcmp (argv[2], "publish") == 0 && (argc == 5 || argc == 6))
        rc = publish (ctx, &ci, atol (argv[3]), atol (argv[4]),
                      argc == 6 && strcmp (argv[5], "signed") == 0);
    else
        rc = usage ();
    zmq_ctx_term (ctx);
    return rc;
}
