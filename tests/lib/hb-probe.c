/* hb-probe.c - a fake engine heart for the heartbeat tests: connects a SUB
 * to a controller's hb_ping and a DEALER with a routing identity the
 * controller never gave to its hb_pong, echoes every ping COPIES times
 * for SECONDS, and counts what comes back on hb_pong.
 *
 *   hb-probe PING_EP PONG_EP SECONDS COPIES
 *
 * Prints "pings N", "pongs N" (echoes sent), "nudges N" (frames
 * "zparRREG" received), "other N" (anything else received).  Exit 0 when
 * it saw at least one ping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static double now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main (int argc, char **argv)
{
    void *ctx, *sub, *dealer;
    char ident[16], buf[64];
    long pings = 0, pongs = 0, nudges = 0, other = 0;
    double end;
    int zero = 0, copies;
    if (argc != 5) {
        fprintf (stderr, "usage: hb-probe PING_EP PONG_EP SECONDS COPIES\n");
        return 2;
    }
    copies = atoi (argv[4]);
    ctx = zmq_ctx_new ();
    sub = zmq_socket (ctx, ZMQ_SUB);
    dealer = zmq_socket (ctx, ZMQ_DEALER);
    snprintf (ident, sizeof (ident), "probe%d", (int)getpid ());
    zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "", 0);
    zmq_setsockopt (sub, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (dealer, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (dealer, ZMQ_ROUTING_ID, ident, strlen (ident));
    if (zmq_connect (sub, argv[1]) < 0 || zmq_connect (dealer, argv[2]) < 0) {
        fprintf (stderr, "hb-probe: connect: %s\n", zmq_strerror (zmq_errno ()));
        return 2;
    }
    end = now () + atof (argv[3]);
    while (now () < end) {
        zmq_pollitem_t it[2] = {{sub, 0, ZMQ_POLLIN, 0}, {dealer, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll (it, 2, 50) <= 0)
            continue;
        if (it[0].revents & ZMQ_POLLIN) {
            int n = zmq_recv (sub, buf, sizeof (buf), ZMQ_DONTWAIT);
            if (n > 0) {
                pings++;
                for (int k = 0; k < copies; k++)
                    if (zmq_send (dealer, buf, (size_t)n, ZMQ_DONTWAIT) == n)
                        pongs++;
            }
        }
        if (it[1].revents & ZMQ_POLLIN) {
            int n;
            while ((n = zmq_recv (dealer, buf, sizeof (buf), ZMQ_DONTWAIT)) >= 0) {
                if (n == 8 && memcmp (buf, "zparRREG", 8) == 0)
                    nudges++;
                else
                    other++;
            }
        }
    }
    printf ("pings %ld\npongs %ld\nnudges %ld\nother %ld\n", pings, pongs, nudges, other);
    zmq_close (sub);
    zmq_close (dealer);
    zmq_ctx_term (ctx);
    return pings > 0 ? 0 : 1;
}
