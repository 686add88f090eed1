/* test_wire.c - signing, verification and replay protection over real
 * ZeroMQ sockets (inproc). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "msg.h"
#include "tap.h"
#include "wire.h"

static uint8_t key[ZPAR_KEY_LEN], other[ZPAR_KEY_LEN];

int main (void)
{
    void *ctx = zmq_ctx_new ();
    void *a = zmq_socket (ctx, ZMQ_PAIR), *b = zmq_socket (ctx, ZMQ_PAIR);
    zpar_signer_t *sa, *sb, *sx;
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_TASK), *r = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_error_t err;
    zpar_frames_t f, copy;
    char *s;

    plan (NO_PLAN);
    memset (key, 7, sizeof (key));
    memset (other, 8, sizeof (other));
    zmq_bind (a, "inproc://t");
    zmq_connect (b, "inproc://t");
    sa = zpar__signer_create (key, 0);
    sb = zpar__signer_create (key, 0);
    sx = zpar__signer_create (other, 0);
    ok (sa && sb && sx, "signers created");
    ok (zpar__signer_create (NULL, 0) == NULL && errno == EINVAL, "NULL key refused");

    zpar__msg_add_str (m, ZPAR_F_ARGV, "hello");
    zpar__msg_push_ident (m, "route", 5);
    ok (zpar__wire_send (a, sa, m, 0) == 0, "signed send");
    ok (zpar__wire_recv (b, sb, r, 0, &err) == 0, "verified receive");
    is_int (r->nenv, 1, "envelope frame received");
    s = zpar__msg_get_str (r, ZPAR_F_ARGV);
    is_str (s, "hello", "body intact");
    free (s);
    ok (r->hdr.session == zpar__signer_session (sa) && r->hdr.seq == 1,
        "stamped with session and seq");

    /* forged: signed with another key */
    zpar__wire_send (a, sx, m, 0);
    ok (zpar__wire_recv (b, sb, r, 0, &err) < 0 && errno == EPERM, "forged message dropped: %s",
        err.text);

    /* replay: capture frames and send them twice */
    zpar__wire_send (a, sa, m, 0);
    ok (zpar__frames_recv (b, &f, 0) == 0, "raw frames received");
    zpar__frames_copy (&copy, &f);
    zpar__frames_send (b, &f, 0, 0);
    ok (zpar__wire_recv (a, sb, r, 0, &err) == 0, "first delivery accepted");
    zpar__frames_send (b, &copy, 0, 0);
    ok (zpar__wire_recv (a, sb, r, 0, &err) < 0 && errno == EALREADY, "replay dropped: %s",
        err.text);

    /* unsigned garbage and truncated messages */
    zmq_send (a, "garbage", 7, 0);
    ok (zpar__wire_recv (b, sb, r, 0, &err) < 0 && errno == EPROTO, "garbage dropped");
    zmq_send (a, ZPAR_PROTO_DELIM, 5, ZMQ_SNDMORE);
    zmq_send (a, "short", 5, 0);
    ok (zpar__wire_recv (b, sb, r, 0, &err) < 0 && errno == EPROTO, "truncated message dropped");
    for (int i = 0; i < ZPAR_MAX_PARTS + 3; i++)
        zmq_send (a, "x", 1, i < ZPAR_MAX_PARTS + 2 ? ZMQ_SNDMORE : 0);
    ok (zpar__wire_recv (b, sb, r, 0, &err) < 0 && errno == EPROTO, "too many frames dropped");
    ok (zpar__signer_stats (sb)->badsig == 1 && zpar__signer_stats (sb)->replayed == 1 &&
            zpar__signer_stats (sb)->malformed == 3,
        "drops counted by kind");

    /* still works after all that */
    zpar__wire_send (a, sa, m, 0);
    ok (zpar__wire_recv (b, sb, r, 0, &err) == 0, "good message after bad ones accepted");

    /* resign keeps the body and makes a fresh, valid message */
    zpar__wire_send (a, sa, m, 0);
    zpar__frames_recv (b, &f, 0);
    {
        zpar_hdr_t h;
        zpar_signer_t *relay = zpar__signer_create (key, 0);
        ok (zpar__frames_check (relay, &f, &h, &err) == 0, "relay verifies");
        h.engine = 9;
        ok (zpar__frames_resign (relay, &f, &h) == 0, "relay re-signs");
        zpar__frames_send (b, &f, 0, 0);
        ok (zpar__wire_recv (a, sb, r, 0, &err) == 0 && r->hdr.engine == 9,
            "re-signed message accepted");
        zpar__signer_destroy (relay);
    }
    /* a long stream with gaps (the receiver sees every third seq, as an
     * engine sees a scheduler's messages): nothing fresh is taken for a
     * replay, across many wraps of the 4,096-seq window */
    {
        int accepted = 0, sent = 0;
        zpar_frames_t old;
        int have_old = 0;
        for (int i = 0; i < 30000; i++) {
            zpar__wire_send (a, sa, m, 0);
            zpar__frames_recv (b, &f, 0);
            if (i % 3) {
                zpar__frames_close (&f);
                continue;
            }
            sent++;
            if (i == 300) {
                zpar__frames_copy (&old, &f);
                have_old = 1;
            }
            zpar__frames_send (b, &f, 0, 0);
            if (zpar__wire_recv (a, sb, r, 0, &err) == 0)
                accepted++;
        }
        is_int (accepted, sent, "every fresh message of a long gapped stream accepted");
        if (have_old) {
            zpar__frames_send (b, &old, 0, 0);
            ok (zpar__wire_recv (a, sb, r, 0, &err) < 0 && errno == EALREADY,
                "a message from far behind the window is refused");
        }
    }
    ok (zpar__zmq_version_check (&err) == 0, "running libzmq is new enough");
    ok (zpar__zmq_version_ok (4, 3, 0, &err) == 0, "4.3.0 accepted");
    ok (zpar__zmq_version_ok (4, 10, 0, &err) == 0,
        "4.10.0 accepted (numeric, not string, comparison)");
    ok (zpar__zmq_version_ok (5, 0, 0, &err) == 0, "5.0.0 accepted");
    ok (zpar__zmq_version_ok (4, 2, 9, &err) < 0 && errno == ENOTSUP && strstr (err.text, "4.2.9"),
        "4.2.9 refused: %s", err.text);
    ok (zpar__zmq_version_ok (3, 99, 99, &err) < 0, "3.99.99 refused");

    /* channels: a message is signed for the channel of its socket */
    {
        static const zpar_chan_t other_chans[] = {ZPAR_CHAN_REGISTRAR, ZPAR_CHAN_TASK,
                                                  ZPAR_CHAN_CONTROL, ZPAR_CHAN_IOPUB,
                                                  ZPAR_CHAN_NOTIFY};
        zpar_hdr_t h;
        zpar__msg_reset (m, ZPAR_MSG_TASK);
        zpar__msg_add_str (m, ZPAR_F_ARGV, "chan");
        m->hdr.flags = 5; /* an attempt number: kept */
        ok (zpar__wire_send_chan (a, sa, ZPAR_CHAN_MAX, m, 0) < 0 && errno == EINVAL,
            "send for an unknown channel: EINVAL");
        ok (zpar__wire_send_chan (NULL, sa, ZPAR_CHAN_MUX, m, 0) < 0 && errno == EINVAL,
            "send on NULL: EINVAL");
        ok (zpar__wire_send_chan (a, sa, ZPAR_CHAN_MUX, m, 0) == 0 &&
                zpar__flags_chan (m->hdr.flags) == ZPAR_CHAN_MUX && (m->hdr.flags & 0xff) == 5,
            "sent for the mux channel, attempt kept");
        ok (zpar__frames_recv (b, &f, 0) == 0, "captured");
        for (size_t i = 0; i < sizeof (other_chans) / sizeof (other_chans[0]); i++) {
            ok (zpar__frames_copy (&copy, &f) == 0 &&
                    zpar__frames_check_chan (sb, other_chans[i], &copy, &h, &err) < 0 &&
                    errno == EPERM,
                "refused on the %s channel: %s", zpar__chan_name (other_chans[i]), err.text);
            zpar__frames_close (&copy);
        }
        ok (zpar__frames_copy (&copy, &f) == 0 &&
                zpar__frames_check_chan (sb, ZPAR_CHAN_MUX, &copy, &h, &err) == 0 &&
                zpar__flags_chan (h.flags) == ZPAR_CHAN_MUX,
            "accepted on its own channel (the refusals were not recorded as seen)");
        zpar__frames_close (&copy);
        ok (zpar__frames_check_chan (sb, ZPAR_CHAN_MUX, &f, &h, &err) < 0 && errno == EALREADY,
            "and only once");
        zpar__frames_close (&f);
        /* flipping the channel bits breaks the signature */
        ok (zpar__wire_send_chan (a, sa, ZPAR_CHAN_TASK, m, 0) == 0 &&
                zpar__frames_recv (b, &f, 0) == 0,
            "a task-channel message captured");
        ((uint8_t *)zmq_msg_data (&f.part[f.n - 2]))[5] = ZPAR_CHAN_MUX;
        ok (zpar__frames_check_chan (sb, ZPAR_CHAN_MUX, &f, &h, &err) < 0 && errno == EPERM,
            "its channel rewritten to mux: bad signature");
        zpar__frames_close (&f);
        ok (!strcmp (zpar__chan_name (ZPAR_CHAN_TASK), "task") &&
                !strcmp (zpar__chan_name ((zpar_chan_t)99), "unknown"),
            "channel names");
    }

    /* frames_send leaves nothing to close, sent or not: a PAIR socket
     * with no peer fails at once with ZMQ_DONTWAIT */
    {
        void *lone = zmq_socket (ctx, ZMQ_PAIR);
        zpar_frames_t lf = {0};
        lf.delim = -1;
        for (int i = 0; i < 3; i++)
            zmq_msg_init_size (&lf.part[lf.n++], 8);
        ok (zpar__frames_send (lone, &lf, 1, ZMQ_DONTWAIT) < 0 && errno == EAGAIN,
            "frames_send to no peer: EAGAIN");
        is_int (lf.n, 0, "and the frames were closed (sent from part 1: part 0 too)");
        zmq_close (lone);
    }

    zpar__msg_destroy (m);
    zpar__msg_destroy (r);
    zpar__signer_destroy (sa);
    zpar__signer_destroy (sb);
    zpar__signer_destroy (sx);
    zmq_close (a);
    zmq_close (b);
    zmq_ctx_term (ctx);
    return done_testing ();
}
