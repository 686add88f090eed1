/* test_curve.c - CurveZMQ keys and socket options, the connection-file
 * fields that carry them (round trip, old files, malformed keys), and the
 * ZAP handler end to end over loopback TCP: the client key is admitted on
 * a "client" socket and refused on an "engine" one, a random key pair and
 * a peer without CURVE never get a message through. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "conn.h"
#include "curve.h"
#include "tap.h"

static const struct {
    const char *key;
    int valid;
} key_table[] = {
    {NULL, 0},
    {"", 0},
    {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", 1},
    {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf", 0},   /* 39 */
    {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7x", 0}, /* 41 */
    {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf~", 0},  /* ~ is not Z85 */
    {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]y\"7", 0}, /* " is not Z85 */
};

static void test_keys (zpar_curve_keys_t *k)
{
    zpar_curve_keys_t v;
    zpar_error_t err;

    for (size_t i = 0; i < sizeof (key_table) / sizeof (key_table[0]); i++)
        is_int (zpar__curve_key_valid (key_table[i].key), key_table[i].valid, "key_valid [%zu] %s",
                i, key_table[i].key ? key_table[i].key : "(null)");
    ok (zpar__curve_generate (NULL, &err) < 0 && errno == EINVAL, "generate NULL: EINVAL");
    ok (zpar__curve_generate (k, &err) == 0, "generate");
    ok (zpar__curve_key_valid (k->server_public) && zpar__curve_key_valid (k->server_secret) &&
            zpar__curve_key_valid (k->client_public) && zpar__curve_key_valid (k->client_secret) &&
            zpar__curve_key_valid (k->engine_public) && zpar__curve_key_valid (k->engine_secret),
        "six well-formed keys");
    ok (strcmp (k->server_public, k->client_public) && strcmp (k->client_public, k->engine_public),
        "three different pairs");
    ok (zpar__curve_on (k) && !zpar__curve_on (NULL), "curve_on");

    ok (zpar__curve_view (k, ZPAR_CURVE_CLIENT, &v) == 0, "client view");
    ok (!strcmp (v.server_public, k->server_public) &&
            !strcmp (v.client_secret, k->client_secret) && !v.server_secret[0] &&
            !v.engine_public[0] && !v.engine_secret[0],
        "client view: server public + client pair only");
    ok (zpar__curve_view (k, ZPAR_CURVE_ENGINE, &v) == 0, "engine view");
    ok (!strcmp (v.engine_secret, k->engine_secret) && !v.server_secret[0] && !v.client_secret[0] &&
            !v.client_public[0],
        "engine view: server public + engine pair only");
    ok (zpar__curve_view (k, ZPAR_CURVE_ANY, &v) < 0 && errno == EINVAL, "view any: EINVAL");
    ok (zpar__curve_view (k, NULL, &v) < 0 && errno == EINVAL, "view NULL side: EINVAL");
    ok (zpar__curve_view (NULL, ZPAR_CURVE_CLIENT, &v) < 0 && errno == EINVAL, "view NULL: EINVAL");
}

static void test_sockopts (void *ctx, const zpar_curve_keys_t *k)
{
    zpar_curve_keys_t off, noserver = *k, v;
    void *s = zmq_socket (ctx, ZMQ_DEALER);
    int mech = -1;
    size_t len = sizeof (mech);

    memset (&off, 0, sizeof (off));
    noserver.server_secret[0] = '\0';
    ok (zpar__curve_server (NULL, k, ZPAR_CURVE_ANY) < 0 && errno == EINVAL, "server NULL sock");
    ok (zpar__curve_client (NULL, k, ZPAR_CURVE_CLIENT) < 0 && errno == EINVAL, "client NULL sock");
    ok (zpar__curve_server (s, &off, ZPAR_CURVE_ANY) == 0 && zpar__curve_server (s, NULL, "x") == 0,
        "server with Curve off: nothing to do");
    ok (zpar__curve_client (s, &off, "x") == 0, "client with Curve off: nothing to do");
    zmq_getsockopt (s, ZMQ_MECHANISM, &mech, &len);
    is_int (mech, ZMQ_NULL, "the socket is untouched (NULL mechanism)");
    ok (zpar__curve_server (s, k, "bogus") < 0 && errno == EINVAL, "server unknown domain");
    ok (zpar__curve_server (s, k, NULL) < 0 && errno == EINVAL, "server NULL domain");
    ok (zpar__curve_server (s, &noserver, ZPAR_CURVE_ANY) < 0 && errno == EINVAL,
        "server without the secret key");
    ok (zpar__curve_client (s, k, ZPAR_CURVE_ANY) < 0 && errno == EINVAL, "client side any");
    zpar__curve_view (k, ZPAR_CURVE_ENGINE, &v);
    ok (zpar__curve_client (s, &v, ZPAR_CURVE_CLIENT) < 0 && errno == EINVAL,
        "client pair missing from an engine view");
    ok (zpar__curve_client (s, &v, ZPAR_CURVE_ENGINE) == 0, "engine pair from an engine view");
    zmq_getsockopt (s, ZMQ_MECHANISM, &mech, &len);
    is_int (mech, ZMQ_CURVE, "the socket uses CURVE");
    zmq_close (s);
}

static void test_conn (const zpar_curve_keys_t *k)
{
    zpar_conninfo_t ci, back;
    zpar_error_t err;
    char *text, *p;

    memset (&ci, 0, sizeof (ci));
    for (int i = 0; i < ZPAR_EP_COUNT; i++)
        snprintf (ci.addr[i], ZPAR_ADDR_MAX, "tcp://127.0.0.1:%d", 40000 + i);
    snprintf (ci.scheme, sizeof (ci.scheme), "leastload");
    text = zpar__conn_to_string (&ci);
    ok (text && !strstr (text, "curve"), "Curve off: no curve fields written");
    ok (text && zpar__conn_from_string (text, &back, &err) == 0 && !zpar__curve_on (&back.curve),
        "a file without curve fields reads with Curve off");
    free (text);

    zpar__curve_view (k, ZPAR_CURVE_CLIENT, &ci.curve);
    text = zpar__conn_to_string (&ci);
    ok (text && zpar__conn_from_string (text, &back, &err) == 0, "client view round trip");
    ok (!memcmp (&back.curve, &ci.curve, sizeof (ci.curve)), "client keys read back");
    ok (text && !strstr (text, k->engine_secret) && !strstr (text, k->server_secret),
        "no engine or server secret in the client's text");
    /* break the client secret: refused */
    if (text && (p = strstr (text, k->client_secret)))
        p[3] = '~';
    ok (text && zpar__conn_from_string (text, &back, &err) < 0 && errno == EINVAL &&
            strstr (err.text, "curve_client_secret"),
        "malformed key refused, named (%s)", err.text);
    free (text);

    ci.curve.client_secret[0] = '\0';
    text = zpar__conn_to_string (&ci);
    ok (text && zpar__conn_from_string (text, &back, &err) < 0 && errno == EINVAL,
        "half a pair refused (%s)", err.text);
    free (text);
    memset (&ci.curve, 0, sizeof (ci.curve));
    snprintf (ci.curve.client_public, ZPAR_CURVE_KEY_TEXT, "%s", k->client_public);
    snprintf (ci.curve.client_secret, ZPAR_CURVE_KEY_TEXT, "%s", k->client_secret);
    text = zpar__conn_to_string (&ci);
    ok (text && zpar__conn_from_string (text, &back, &err) < 0 && errno == EINVAL,
        "a pair without the server key refused (%s)", err.text);
    free (text);
    ci.curve = *k;
    text = zpar__conn_to_string (&ci);
    ok (text && zpar__conn_from_string (text, &back, &err) == 0 &&
            !memcmp (&back.curve, k, sizeof (*k)),
        "all six keys round trip (controller.json)");
    free (text);
}

/* The User-Id of the last message reaches() received ("" if none). */
static char last_user[16];

/* Send "ping" from a peer with keys kp (side) to a server socket of
 * domain; 1 when it arrived within ~1.5 s, running reactor r meanwhile. */
static int reaches (zpar_reactor_t *r, void *ctx, const zpar_curve_keys_t *ks, const char *domain,
                    const zpar_curve_keys_t *kp, const char *side)
{
    void *srv = zmq_socket (ctx, ZMQ_ROUTER), *cli = zmq_socket (ctx, ZMQ_DEALER);
    char ep[128];
    size_t len = sizeof (ep);
    int zero = 0, got = 0;

    zmq_setsockopt (srv, ZMQ_LINGER, &zero, sizeof (zero));
    zmq_setsockopt (cli, ZMQ_LINGER, &zero, sizeof (zero));
    if (zpar__curve_server (srv, ks, domain) < 0 || zmq_bind (srv, "tcp://127.0.0.1:*") < 0 ||
        zmq_getsockopt (srv, ZMQ_LAST_ENDPOINT, ep, &len) < 0 ||
        (kp && zpar__curve_client (cli, kp, side) < 0) || zmq_connect (cli, ep) < 0)
        diag ("set-up failed: %s", zmq_strerror (errno));
    zmq_send (cli, "ping", 4, ZMQ_DONTWAIT);
    last_user[0] = '\0';
    for (int i = 0; i < 30 && !got; i++) {
        char buf[16];
        zmq_msg_t m;
        zpar__reactor_run_once (r, 50);
        if (zmq_recv (srv, buf, sizeof (buf), ZMQ_DONTWAIT) < 0)
            continue;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, srv, ZMQ_DONTWAIT) == 4 && !memcmp (zmq_msg_data (&m), "ping", 4)) {
            const char *u = zmq_msg_gets (&m, "User-Id");
            snprintf (last_user, sizeof (last_user), "%s", u ? u : "");
            got = 1;
        }
        zmq_msg_close (&m);
    }
    zmq_close (cli);
    zmq_close (srv);
    return got;
}

static void test_zap (void *ctx, const zpar_curve_keys_t *k)
{
    zpar_reactor_t *r = zpar__reactor_create ();
    zpar_curve_zap_t *z, *z2;
    zpar_curve_keys_t off, rnd;
    zpar_error_t err;
    unsigned long refused;

    memset (&off, 0, sizeof (off));
    ok (!zpar__curve_zap_start (NULL, ctx, k, &err) && errno == EINVAL, "zap NULL reactor");
    ok (!zpar__curve_zap_start (r, NULL, k, &err) && errno == EINVAL, "zap NULL ctx");
    ok (!zpar__curve_zap_start (r, ctx, &off, &err) && errno == EINVAL, "zap with Curve off");
    ok ((z = zpar__curve_zap_start (r, ctx, k, &err)) != NULL, "zap start");
    ok (!(z2 = zpar__curve_zap_start (r, ctx, k, &err)) && errno == EADDRINUSE,
        "a second ZAP handler in the same context: EADDRINUSE");
    zpar__curve_zap_stop (z2);
    zpar__curve_generate (&rnd, &err);
    snprintf (rnd.server_public, sizeof (rnd.server_public), "%s", k->server_public);

    ok (reaches (r, ctx, k, ZPAR_CURVE_CLIENT, k, ZPAR_CURVE_CLIENT), "client key on client: in");
    is_str (last_user, "client", "User-Id client");
    ok (reaches (r, ctx, k, ZPAR_CURVE_ENGINE, k, ZPAR_CURVE_ENGINE), "engine key on engine: in");
    is_str (last_user, "engine", "User-Id engine");
    ok (reaches (r, ctx, k, ZPAR_CURVE_ANY, k, ZPAR_CURVE_CLIENT), "client key on any: in");
    is_str (last_user, "client", "User-Id client on any");
    ok (reaches (r, ctx, k, ZPAR_CURVE_ANY, k, ZPAR_CURVE_ENGINE), "engine key on any: in");
    is_str (last_user, "engine", "User-Id engine on any");
    is_int ((int)zpar__curve_zap_admitted (z), 4, "4 admitted");
    refused = zpar__curve_zap_refused (z);
    ok (!reaches (r, ctx, k, ZPAR_CURVE_ENGINE, k, ZPAR_CURVE_CLIENT), "client key on engine: out");
    ok (!reaches (r, ctx, k, ZPAR_CURVE_CLIENT, k, ZPAR_CURVE_ENGINE), "engine key on client: out");
    ok (!reaches (r, ctx, k, ZPAR_CURVE_ANY, &rnd, ZPAR_CURVE_CLIENT), "random key on any: out");
    ok (!reaches (r, ctx, k, ZPAR_CURVE_ANY, NULL, NULL), "no CURVE at all: out");
    ok (zpar__curve_zap_refused (z) >= refused + 3, "refusals counted (%lu)",
        zpar__curve_zap_refused (z));
    zpar__curve_zap_stop (z);
    zpar__curve_zap_stop (NULL);
    zpar__reactor_destroy (r);
}

int main (void)
{
    zpar_curve_keys_t k;
    void *ctx;

    if (!zpar__curve_available ()) {
        printf ("1..0 # SKIP libzmq without CURVE\n");
        return 0;
    }
    ctx = zmq_ctx_new ();
    test_keys (&k);
    test_sockopts (ctx, &k);
    test_conn (&k);
    test_zap (ctx, &k);
    zmq_ctx_term (ctx);
    return done_testing ();
}
