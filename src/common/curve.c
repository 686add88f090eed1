/* curve.c - CurveZMQ socket options and the ZAP handler. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "curve.h"
#include "error.h"
#include "log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES   7 /* version, id, domain, address, identity, mechanism, key */

struct zpar_curve_zap {
    void *rep;
    zpar_watcher_t *w;
    uint8_t client[32];
    uint8_t engine[32];
    unsigned long refused;
    unsigned long admitted;
};

int zpar__curve_available (void)
{
    return zmq_has ("curve") ? 1 : 0;
}

int zpar__curve_on (const zpar_curve_keys_t *k)
{
    return k && k->server_public[0] ? 1 : 0;
}

int zpar__curve_key_valid (const char *s)
{
    uint8_t bin[32];
    if (!s || strnlen (s, ZPAR_CURVE_KEY_TEXT) != ZPAR_CURVE_KEY_TEXT - 1)
        return 0;
    return zmq_z85_decode (bin, s) ? 1 : 0;
}

int zpar__curve_generate (zpar_curve_keys_t *k, zpar_error_t *err)
{
    if (!k)
        return zpar__errnoprintf (err, EINVAL, "no keys given");
    memset (k, 0, sizeof (*k));
    if (!zpar__curve_available ())
        return zpar__errnoprintf (err, ENOTSUP, "this libzmq was built without CURVE");
    if (zmq_curve_keypair (k->server_public, k->server_secret) < 0 ||
        zmq_curve_keypair (k->client_public, k->client_secret) < 0 ||
        zmq_curve_keypair (k->engine_public, k->engine_secret) < 0) {
        int e = errno;
        memset (k, 0, sizeof (*k));
        return zpar__errnoprintf (err, e, "cannot make CURVE keys: %s", zmq_strerror (e));
    }
    return 0;
}

int zpar__curve_view (const zpar_curve_keys_t *all, const char *side, zpar_curve_keys_t *out)
{
    if (!all || !side || !out ||
        (strcmp (side, ZPAR_CURVE_CLIENT) && strcmp (side, ZPAR_CURVE_ENGINE))) {
        errno = EINVAL;
        return -1;
    }
    memset (out, 0, sizeof (*out));
    if (!zpar__curve_on (all))
        return 0;
    memcpy (out->server_public, all->server_public, sizeof (out->server_public));
    if (!strcmp (side, ZPAR_CURVE_CLIENT)) {
        memcpy (out->client_public, all->client_public, sizeof (out->client_public));
        memcpy (out->client_secret, all->client_secret, sizeof (out->client_secret));
    } else {
        memcpy (out->engine_public, all->engine_public, sizeof (out->engine_public));
        memcpy (out->engine_secret, all->engine_secret, sizeof (out->engine_secret));
    }
    return 0;
}

static int known_domain (const char *d)
{
    return d && (!strcmp (d, ZPAR_CURVE_CLIENT) || !strcmp (d, ZPAR_CURVE_ENGINE) ||
                 !strcmp (d, ZPAR_CURVE_ANY));
}

int zpar__curve_server (void *sock, const zpar_curve_keys_t *k, const char *domain)
{
    int one = 1;
    if (!sock) {
        errno = EINVAL;
        return -1;
    }
    if (!zpar__curve_on (k))
        return 0;
    if (!zpar__curve_key_valid (k->server_secret) || !known_domain (domain)) {
        errno = EINVAL;
        return -1;
    }
    if (zmq_setsockopt (sock, ZMQ_CURVE_SERVER, &one, sizeof (one)) < 0 ||
        zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, k->server_secret, 40) < 0 ||
        zmq_setsockopt (sock, ZMQ_ZAP_DOMAIN, domain, strlen (domain)) < 0)
        return -1;
    return 0;
}

int zpar__curve_client (void *sock, const zpar_curve_keys_t *k, const char *side)
{
    const char *pub, *sec;
    if (!sock) {
        errno = EINVAL;
        return -1;
    }
    if (!zpar__curve_on (k))
        return 0;
    if (side && !strcmp (side, ZPAR_CURVE_CLIENT))
        pub = k->client_public, sec = k->client_secret;
    else if (side && !strcmp (side, ZPAR_CURVE_ENGINE))
        pub = k->engine_public, sec = k->engine_secret;
    else {
        errno = EINVAL;
        return -1;
    }
    if (!zpar__curve_key_valid (k->server_public) || !zpar__curve_key_valid (pub) ||
        !zpar__curve_key_valid (sec)) {
        errno = EINVAL;
        return -1;
    }
    if (zmq_setsockopt (sock, ZMQ_CURVE_SERVERKEY, k->server_public, 40) < 0 ||
        zmq_setsockopt (sock, ZMQ_CURVE_PUBLICKEY, pub, 40) < 0 ||
        zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, sec, 40) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------- ZAP */

/* The user id of an admitted peer ("client" or "engine"), NULL when the
 * request is refused. */
static const char *admit (const zpar_curve_zap_t *z, const zmq_msg_t *f)
{
    const char *domain = zmq_msg_data ((zmq_msg_t *)&f[2]);
    size_t dlen = zmq_msg_size ((zmq_msg_t *)&f[2]);
    const uint8_t *key = zmq_msg_data ((zmq_msg_t *)&f[6]);
    int client_ok, engine_ok;

    if (zmq_msg_size ((zmq_msg_t *)&f[0]) != 3 ||
        memcmp (zmq_msg_data ((zmq_msg_t *)&f[0]), "1.0", 3))
        return NULL;
    if (zmq_msg_size ((zmq_msg_t *)&f[5]) != 5 ||
        memcmp (zmq_msg_data ((zmq_msg_t *)&f[5]), "CURVE", 5))
        return NULL;
    if (zmq_msg_size ((zmq_msg_t *)&f[6]) != 32)
        return NULL;
    client_ok = memcmp (key, z->client, 32) == 0;
    engine_ok = memcmp (key, z->engine, 32) == 0;
#define IS(name) (dlen == strlen (name) && !memcmp (domain, name, dlen))
    if ((IS (ZPAR_CURVE_CLIENT) || IS (ZPAR_CURVE_ANY)) && client_ok)
        return ZPAR_CURVE_CLIENT;
    if ((IS (ZPAR_CURVE_ENGINE) || IS (ZPAR_CURVE_ANY)) && engine_ok)
        return ZPAR_CURVE_ENGINE;
#undef IS
    return NULL;
}

static void send_str (void *s, const void *data, size_t len, int more)
{
    (void)zmq_send (s, data, len, more ? ZMQ_SNDMORE : 0);
}

/* Answer one request: read every frame, reply 200 or 400. */
static void zap_one (zpar_curve_zap_t *z)
{
    zmq_msg_t f[ZAP_FRAMES], extra;
    int n = 0, total = 0, more = 1, ok;
    const char *user = NULL;
    char addr[64] = "";

    while (more) {
        zmq_msg_t *m = n < ZAP_FRAMES ? &f[n] : &extra;
        zmq_msg_init (m);
        if (zmq_msg_recv (m, z->rep, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (m);
            if (total == 0)
                return; /* nothing ready */
            break;
        }
        more = zmq_msg_more (m);
        total++;
        if (m == &extra)
            zmq_msg_close (m);
        else
            n++;
    }
    if (total == ZAP_FRAMES)
        user = admit (z, f);
    ok = user != NULL;
    if (n >= 4) {
        size_t l =
            zmq_msg_size (&f[3]) < sizeof (addr) - 1 ? zmq_msg_size (&f[3]) : sizeof (addr) - 1;
        memcpy (addr, zmq_msg_data (&f[3]), l);
        addr[l] = '\0';
    }
    send_str (z->rep, "1.0", 3, 1);
    if (n >= 2)
        (void)zmq_send (z->rep, zmq_msg_data (&f[1]), zmq_msg_size (&f[1]), ZMQ_SNDMORE);
    else
        send_str (z->rep, "", 0, 1);
    send_str (z->rep, ok ? "200" : "400", 3, 1);
    send_str (z->rep, ok ? "OK" : "key not admitted", ok ? 2 : 16, 1);
    send_str (z->rep, user ? user : "", user ? strlen (user) : 0, 1); /* User-Id */
    send_str (z->rep, "", 0, 0);
    for (int i = 0; i < n; i++)
        zmq_msg_close (&f[i]);
    if (ok)
        z->admitted++;
    else {
        z->refused++;
        /* rate-limited: the first few, then at powers of two */
        if (z->refused <= 5 || (z->refused & (z->refused - 1)) == 0)
            zpar__warn ("curve: connection from %s refused (no admitted key; %lu refused so far)",
                        addr[0] ? addr : "?", z->refused);
    }
}

static void on_zap (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_curve_zap_t *z = arg;
    int events;
    size_t len = sizeof (events);
    (void)r, (void)w, (void)revents;
    for (int i = 0; i < 64; i++) {
        if (zmq_getsockopt (z->rep, ZMQ_EVENTS, &events, &len) < 0 || !(events & ZMQ_POLLIN))
            return;
        zap_one (z);
    }
}

zpar_curve_zap_t *zpar__curve_zap_start (zpar_reactor_t *r, void *ctx, const zpar_curve_keys_t *k,
                                         zpar_error_t *err)
{
    zpar_curve_zap_t *z;
    int zero = 0;
    if (!r || !ctx || !zpar__curve_on (k) || !zpar__curve_key_valid (k->client_public) ||
        !zpar__curve_key_valid (k->engine_public)) {
        zpar__errnoprintf (err, EINVAL, "curve: no keys for the ZAP handler");
        return NULL;
    }
    if (!(z = calloc (1, sizeof (*z)))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    zmq_z85_decode (z->client, k->client_public);
    zmq_z85_decode (z->engine, k->engine_public);
    if (!(z->rep = zmq_socket (ctx, ZMQ_REP))) {
        zpar__errnoprintf (err, errno, "curve: cannot create the ZAP socket: %s",
                           zmq_strerror (errno));
        free (z);
        return NULL;
    }
    zmq_setsockopt (z->rep, ZMQ_LINGER, &zero, sizeof (zero));
    if (zmq_bind (z->rep, ZAP_ENDPOINT) < 0) {
        int e = errno;
        zpar__errnoprintf (err, e, "curve: cannot bind the ZAP handler: %s", zmq_strerror (e));
        zmq_close (z->rep);
        free (z);
        errno = e;
        return NULL;
    }
    if (!(z->w = zpar__zmq_watcher_create (r, z->rep, ZPAR_EV_IN, on_zap, z))) {
        int e = errno;
        zpar__errnoprintf (err, e, "curve: cannot watch the ZAP socket: %s", strerror (e));
        zmq_close (z->rep);
        free (z);
        errno = e;
        return NULL;
    }
    zpar__watcher_start (z->w);
    return z;
}

unsigned long zpar__curve_zap_refused (const zpar_curve_zap_t *z)
{
    return z ? z->refused : 0;
}

unsigned long zpar__curve_zap_admitted (const zpar_curve_zap_t *z)
{
    return z ? z->admitted : 0;
}

void zpar__curve_zap_stop (zpar_curve_zap_t *z)
{
    if (!z)
        return;
    zpar__watcher_destroy (z->w);
    zmq_close (z->rep);
    free (z);
}
