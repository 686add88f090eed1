/* test_netlimit.c - network size limits: size parsing (table, including
 * bad input), $ZPAR_MAX_MSG_SIZE and its clamping, per-role limits, and
 * the options really set on a socket (a frame over the limit is refused,
 * one under it arrives). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "netlimit.h"
#include "tap.h"

static const struct {
    const char *in;
    int rc;
    int err;
    int64_t want;
} parse_table[] = {
    {"1", 0, 0, 1},
    {"65536", 0, 0, 65536},
    {"64K", 0, 0, 64 * 1024},
    {"64k", 0, 0, 64 * 1024},
    {"64KiB", 0, 0, 64 * 1024},
    {"64M", 0, 0, (int64_t)64 << 20},
    {"64MB", 0, 0, (int64_t)64 << 20},
    {"1G", 0, 0, (int64_t)1 << 30},
    {"100B", 0, 0, 100},
    {"", -1, EINVAL, 0},
    {"M", -1, EINVAL, 0},
    {"-5", -1, EINVAL, 0},
    {" 5", -1, EINVAL, 0},
    {"5 M", -1, EINVAL, 0},
    {"5X", -1, EINVAL, 0},
    {"5Mx", -1, EINVAL, 0},
    {"0", -1, ERANGE, 0},
    {"0K", -1, ERANGE, 0},
    {"99999999999999999999", -1, ERANGE, 0},
    {"9999999999G", -1, ERANGE, 0},
};

int main (void)
{
    int64_t v;
    void *ctx = zmq_ctx_new ();

    for (size_t i = 0; i < sizeof (parse_table) / sizeof (parse_table[0]); i++) {
        v = -7;
        errno = 0;
        int rc = zpar__netlimit_parse (parse_table[i].in, &v);
        ok (rc == parse_table[i].rc &&
                (rc < 0 ? errno == parse_table[i].err && v == -7 : v == parse_table[i].want),
            "parse '%s': rc %d errno %d value %lld", parse_table[i].in, rc, rc < 0 ? errno : 0,
            (long long)v);
    }
    errno = 0;
    ok (zpar__netlimit_parse (NULL, &v) < 0 && errno == EINVAL, "parse NULL: EINVAL");
    errno = 0;
    ok (zpar__netlimit_parse ("5", NULL) < 0 && errno == EINVAL, "parse into NULL: EINVAL");

    unsetenv ("ZPAR_MAX_MSG_SIZE");
    is_int (zpar__netlimit_data (), ZPAR_NETLIMIT_DATA_MAX, "data limit by default");
    ok (ZPAR_NETLIMIT_DATA_MAX > (int64_t)ZPAR_MAX_BODY, "it leaves room for a full body");
    setenv ("ZPAR_MAX_MSG_SIZE", "64M", 1);
    is_int (zpar__netlimit_data (), (int64_t)64 << 20, "ZPAR_MAX_MSG_SIZE=64M");
    setenv ("ZPAR_MAX_MSG_SIZE", "1", 1);
    is_int (zpar__netlimit_data (), ZPAR_NETLIMIT_DATA_MIN,
            "a tiny value is raised to the minimum");
    setenv ("ZPAR_MAX_MSG_SIZE", "64G", 1);
    is_int (zpar__netlimit_data (), ZPAR_NETLIMIT_DATA_MAX,
            "a huge value is lowered to the maximum");
    setenv ("ZPAR_MAX_MSG_SIZE", "lots", 1);
    is_int (zpar__netlimit_data (), ZPAR_NETLIMIT_DATA_MAX, "a bad value is ignored");

    unsetenv ("ZPAR_MAX_MSG_SIZE");
    is_int (zpar__netlimit_for (ZPAR_NET_DATA), ZPAR_NETLIMIT_DATA_MAX, "role data");
    is_int (zpar__netlimit_for (ZPAR_NET_CONTROL), ZPAR_NETLIMIT_CONTROL, "role control");
    is_int (zpar__netlimit_for (ZPAR_NET_IOPUB), ZPAR_NETLIMIT_IOPUB, "role iopub");
    is_int (zpar__netlimit_for (ZPAR_NET_PUB), ZPAR_NETLIMIT_SUBSCRIBE, "role pub");
    setenv ("ZPAR_MAX_MSG_SIZE", "128K", 1);
    is_int (zpar__netlimit_for (ZPAR_NET_CONTROL), 128 * 1024,
            "no role's limit is above the data limit");
    unsetenv ("ZPAR_MAX_MSG_SIZE");
    errno = 0;
    ok (zpar__netlimit_for ((zpar_net_role_t)42) < 0 && errno == EINVAL, "unknown role: EINVAL");

    /* bad parameters of apply */
    errno = 0;
    ok (zpar__netlimit_apply (NULL, ZPAR_NET_DATA) < 0 && errno == EINVAL, "apply NULL: EINVAL");
    {
        void *s = zmq_socket (ctx, ZMQ_PUB);
        int64_t max = 0;
        int hwm = 0;
        size_t ml = sizeof (max), hl = sizeof (hwm);
        errno = 0;
        ok (zpar__netlimit_apply (s, (zpar_net_role_t)42) < 0 && errno == EINVAL,
            "apply an unknown role: EINVAL");
        ok (zpar__netlimit_apply (s, ZPAR_NET_PUB) == 0 &&
                zmq_getsockopt (s, ZMQ_MAXMSGSIZE, &max, &ml) == 0 &&
                zmq_getsockopt (s, ZMQ_SNDHWM, &hwm, &hl) == 0 && max == ZPAR_NETLIMIT_SUBSCRIBE &&
                hwm == ZPAR_NETLIMIT_PUB_SNDHWM,
            "a PUB gets the subscription limit and a finite send HWM (%lld, %d)", (long long)max,
            hwm);
        zmq_close (s);
    }

    /* a frame over the limit never arrives, one under it does */
    {
        void *in = zmq_socket (ctx, ZMQ_PULL), *out = zmq_socket (ctx, ZMQ_PUSH);
        int tmo = 2000, zero = 0;
        char ep[256];
        size_t el = sizeof (ep);
        size_t big = (size_t)ZPAR_NETLIMIT_CONTROL + 1;
        char *buf = calloc (1, big);
        zmq_setsockopt (in, ZMQ_RCVTIMEO, &tmo, sizeof (tmo));
        zmq_setsockopt (in, ZMQ_LINGER, &zero, sizeof (zero));
        zmq_setsockopt (out, ZMQ_LINGER, &zero, sizeof (zero));
        ok (zpar__netlimit_apply (in, ZPAR_NET_CONTROL) == 0 &&
                zmq_bind (in, "tcp://127.0.0.1:*") == 0 &&
                zmq_getsockopt (in, ZMQ_LAST_ENDPOINT, ep, &el) == 0 && zmq_connect (out, ep) == 0,
            "a control-limited PULL and a PUSH");
        zmq_send (out, buf, big, 0);
        ok (zmq_recv (in, buf, 16, 0) < 0, "a frame one byte over the limit is refused");
        zmq_close (out);
        out = zmq_socket (ctx, ZMQ_PUSH);
        zmq_setsockopt (out, ZMQ_LINGER, &zero, sizeof (zero));
        zmq_connect (out, ep);
        zmq_send (out, buf, big - 1, 0);
        is_int (zmq_recv (in, buf, 16, 0), (int)(big - 1), "a frame at the limit arrives");
        free (buf);
        zmq_close (in);
        zmq_close (out);
    }
    zmq_ctx_term (ctx);
    return done_testing ();
}
