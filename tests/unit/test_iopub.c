/* test_iopub.c - the IOPub proxy: multipart messages from publishers reach
 * every subscriber untouched, in order; it stops cleanly; bad parameters. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "conn.h"
#include "iopub.h"
#include "tap.h"
#include "zpar.h"

static void *sock (void *ctx, int type, const char *ep, int bind)
{
    void *s = zmq_socket (ctx, type);
    int zero = 0, tmo = 5000;
    zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (s, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    if (type == ZMQ_SUB)
        zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0);
    if (bind ? zmq_bind (s, ep) : zmq_connect (s, ep)) {
        zmq_close (s);
        return NULL;
    }
    return s;
}

/* Publish [topic, "n"] until the subscriber sees one (PUB/SUB joins late). */
static int wait_joined (void *pub, void *sub)
{
    char buf[16];
    int tmo = 20;
    zmq_setsockopt (sub, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
    for (int i = 0; i < 500; i++) {
        zmq_send (pub, "sync", 4, ZMQ_SNDMORE);
        zmq_send (pub, "x", 1, 0);
        if (zmq_recv (sub, buf, sizeof (buf), 0) == 4) {
            int more;
            size_t ml = sizeof (more);
            do {
                zmq_getsockopt (sub, ZMQ_RCVMORE, &more, &ml);
                if (more)
                    zmq_recv (sub, buf, sizeof (buf), 0);
            } while (more);
            /* drain the other sync messages */
            while (zmq_recv (sub, buf, sizeof (buf), ZMQ_DONTWAIT) >= 0)
                ;
            tmo = 5000;
            zmq_setsockopt (sub, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
            return 0;
        }
    }
    return -1;
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    char eng[ZPAR_ADDR_MAX] = "tcp://127.0.0.1:*", cli[ZPAR_ADDR_MAX] = "tcp://127.0.0.1:*";
    char bad1[ZPAR_ADDR_MAX] = "nonsense://x", bad2[ZPAR_ADDR_MAX] = "tcp://127.0.0.1:*";
    zpar_iopub_t *io;
    zpar_error_t err;
    void *pub, *sub1, *sub2;
    char buf[64];
    int n, more, ok_all = 1;
    size_t ml = sizeof (more);

    ok ((io = zpar__iopub_start (ctx, eng, cli, sizeof (eng), &err)) != NULL, "start the proxy");
    if (!io) {
        diag ("%s", err.text);
        return done_testing ();
    }
    ok (strstr (eng, ":*") == NULL && strstr (cli, ":*") == NULL,
        "the bound ports are written back (%s, %s)", eng, cli);
    pub = sock (ctx, ZMQ_PUB, eng, 0);
    sub1 = sock (ctx, ZMQ_SUB, cli, 0);
    sub2 = sock (ctx, ZMQ_SUB, cli, 0);
    ok (pub && sub1 && sub2, "an engine publisher and two client subscribers connect");
    ok (wait_joined (pub, sub1) == 0 && wait_joined (pub, sub2) == 0,
        "both subscribers are joined");

    for (int i = 0; i < 100; i++) {
        char body[16];
        snprintf (body, sizeof (body), "msg %d", i);
        zmq_send (pub, "topic", 5, ZMQ_SNDMORE);
        zmq_send (pub, "", 0, ZMQ_SNDMORE);
        zmq_send (pub, body, strlen (body), 0);
    }
    for (int s = 0; s < 2; s++) {
        void *sub = s ? sub2 : sub1;
        for (int i = 0; i < 100; i++) {
            char want[16];
            int parts = 0;
            int sync;
            snprintf (want, sizeof (want), "msg %d", i);
            do { /* skip the late joining probes */
                parts = 0;
                sync = 0;
                do {
                    n = zmq_recv (sub, buf, sizeof (buf) - 1, 0);
                    if (n < 0)
                        break;
                    buf[n] = '\0';
                    if (parts++ == 0 && strcmp (buf, "sync") == 0)
                        sync = 1;
                    zmq_getsockopt (sub, ZMQ_RCVMORE, &more, &ml);
                } while (more);
            } while (n >= 0 && sync);
            if (n < 0 || parts != 3 || strcmp (buf, want) != 0) {
                ok_all = 0;
                diag ("subscriber %d, message %d: %d parts, last '%s'", s + 1, i, parts,
                      n < 0 ? "" : buf);
                break;
            }
        }
    }
    ok (ok_all, "100 three-part messages reach both subscribers intact and in order");
    ok (zpar__iopub_forwarded (io) >= 100, "the proxy counted them (%llu)",
        (unsigned long long)zpar__iopub_forwarded (io));
    zpar__iopub_stop (io);
    ok (1, "the proxy stops");

    errno = 0;
    ok (zpar__iopub_start (ctx, bad1, bad2, sizeof (bad1), &err) == NULL,
        "a bad endpoint: NULL (%s)", err.text);
    ok (zpar__iopub_start (NULL, bad2, bad2, sizeof (bad2), &err) == NULL, "no context: NULL");
    zpar__iopub_stop (NULL);
    ok (1, "stop NULL is a no-op");
    is_int (zpar__iopub_forwarded (NULL), 0, "forwarded of NULL: 0");

    zmq_close (pub);
    zmq_close (sub1);
    zmq_close (sub2);
    zmq_ctx_term (ctx);
    return done_testing ();
}
