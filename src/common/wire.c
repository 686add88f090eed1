/* wire.c - signing, verification, replay protection and ZeroMQ I/O. */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hmac256.h"
#include "replay.h"
#include "wire.h"
#include "zrouter.h"

struct zpar_signer {
    zpar_hmac256_key_t keyed;
    uint64_t session;
    uint64_t seq;
    uint64_t window_us;
    zpar_wire_stats_t stats;
    zpar_replay_t *replay;
};

zpar_signer_t *zpar__signer_create (const uint8_t *key, uint64_t window_us)
{
    zpar_signer_t *s;

    if (!key) {
        errno = EINVAL;
        return NULL;
    }
    if (sodium_init () < 0) {
        errno = EIO;
        return NULL;
    }
    if (!(s = calloc (1, sizeof (*s))))
        return NULL;
    if (zpar__hmac256_key_set (&s->keyed, key, ZPAR_KEY_LEN) < 0) {
        int e = errno;
        free (s);
        errno = e;
        return NULL;
    }
    do {
        randombytes_buf (&s->session, sizeof (s->session));
    } while (s->session == 0);
    if (window_us == 0) {
        const char *e = getenv ("ZPAR_REPLAY_WINDOW");
        long sec = e ? strtol (e, NULL, 10) : 0;
        window_us = (uint64_t)(sec > 0 ? sec : 600) * 1000000u;
    }
    s->window_us = window_us;
    if (!(s->replay = zpar__replay_create (window_us, 0))) {
        free (s);
        errno = ENOMEM;
        return NULL;
    }
    return s;
}

void zpar__signer_destroy (zpar_signer_t *s)
{
    if (s) {
        int saved = errno;
        zpar__hmac256_key_wipe (&s->keyed);
        zpar__replay_destroy (s->replay);
        free (s);
        errno = saved;
    }
}

uint64_t zpar__signer_session (const zpar_signer_t *s)
{
    return s->session;
}

const zpar_wire_stats_t *zpar__signer_stats (const zpar_signer_t *s)
{
    return &s->stats;
}

static void sign (zpar_signer_t *s, const uint8_t *hdr, const void *body, size_t blen,
                  uint8_t out[ZPAR_SIG_LEN])
{
    zpar__hmac256 (&s->keyed, hdr, ZPAR_HDR_LEN, body, blen, out);
}

static void stamp (zpar_signer_t *s, zpar_hdr_t *h)
{
    h->version = ZPAR_PROTO_VERSION;
    h->session = s->session;
    h->seq = ++s->seq;
    h->time_us = zpar__now_us ();
}

/* Replay check: 0 if fresh (and records it), -1 if replayed or stale. */
static int replay_check (zpar_signer_t *s, const zpar_hdr_t *h)
{
    return zpar__replay_check (s->replay, h->session, h->seq, h->time_us, zpar__now_us ());
}

int zpar__send_more (void *sock, const void *data, size_t len)
{
    return zpar__sock_send (sock, data, len, ZMQ_SNDMORE) < 0 ? -1 : 0;
}

int zpar__wire_send (void *sock, zpar_signer_t *s, zpar_msg_t *m, int flags)
{
    return zpar__wire_send_chan (sock, s, ZPAR_CHAN_ANY, m, flags);
}

int zpar__wire_send_chan (void *sock, zpar_signer_t *s, zpar_chan_t chan, zpar_msg_t *m, int flags)
{
    if (!m) {
        errno = EINVAL;
        return -1;
    }
    return zpar__wire_send_raw (sock, s, chan, m->nenv, m->env, &m->hdr, m->body, m->len, flags);
}

void zpar__signer_stamp (zpar_signer_t *s, zpar_hdr_t *hdr)
{
    stamp (s, hdr);
}

int zpar__wire_send_raw (void *sock, zpar_signer_t *s, zpar_chan_t chan, int nenv,
                         const zpar_ident_t *env, zpar_hdr_t *h, const void *body, size_t blen,
                         int flags)
{
    uint8_t hdr[ZPAR_HDR_LEN];
    uint8_t sig[ZPAR_SIG_LEN];

    if (!sock || !s || !h || chan >= ZPAR_CHAN_MAX || nenv < 0 || nenv > ZPAR_MAX_ENVELOPE ||
        (nenv && !env) || (blen && !body)) {
        errno = EINVAL;
        return -1;
    }
    if (chan != ZPAR_CHAN_ANY)
        h->flags = zpar__flags_with_chan (h->flags, chan);

    stamp (s, h);
    zpar__hdr_encode (h, hdr);
    sign (s, hdr, body, blen, sig);
    for (int i = 0; i < nenv; i++)
        if (zpar__sock_send (sock, env[i].data, env[i].len, ZMQ_SNDMORE | flags) < 0)
            return -1;
    if (zpar__sock_send (sock, ZPAR_PROTO_DELIM, strlen (ZPAR_PROTO_DELIM), ZMQ_SNDMORE | flags) <
            0 ||
        zpar__sock_send (sock, sig, sizeof (sig), ZMQ_SNDMORE | flags) < 0 ||
        zpar__sock_send (sock, hdr, sizeof (hdr), ZMQ_SNDMORE | flags) < 0 ||
        zpar__sock_send (sock, blen ? body : (const void *)"", blen, flags) < 0)
        return -1;
    return 0;
}

void zpar__frames_close (zpar_frames_t *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        zmq_msg_close (&f->part[i]);
    f->n = 0;
    f->delim = -1;
}

_Static_assert(ZPAR_ZROUTER_PARTS == ZPAR_MAX_PARTS, "a zrouter keeps the frames wire.c does");

int zpar__frames_recv (void *sock, zpar_frames_t *f, int flags)
{
    int more = 1;
    int overflow = 0;
    zpar_zrouter_t *z = zpar__zrouter_of (sock);

    f->n = 0;
    f->delim = -1;
    if (z) /* never blocks */
        return zpar__zrouter_recv (z, f->part, ZPAR_MAX_PARTS, &f->n);
    while (more) {
        zmq_msg_t *p;
        zmq_msg_t spill;
        if (f->n < ZPAR_MAX_PARTS)
            p = &f->part[f->n];
        else {
            p = &spill;
            overflow = 1;
        }
        zmq_msg_init (p);
        if (zmq_msg_recv (p, sock, f->n == 0 && !overflow ? flags : 0) < 0) {
            int e = errno;
            zmq_msg_close (p);
            zpar__frames_close (f);
            errno = e;
            return -1;
        }
        more = zmq_msg_more (p);
        if (p == &spill)
            zmq_msg_close (p);
        else
            f->n++;
    }
    if (overflow) {
        zpar__frames_close (f);
        errno = EPROTO;
        return -1;
    }
    return 0;
}

static int find_delim (zpar_frames_t *f)
{
    size_t dl = strlen (ZPAR_PROTO_DELIM);
    for (int i = 0; i < f->n; i++) {
        if (zmq_msg_size (&f->part[i]) == dl &&
            memcmp (zmq_msg_data (&f->part[i]), ZPAR_PROTO_DELIM, dl) == 0)
            return i;
    }
    return -1;
}

static void hdr_decode (const uint8_t *h, zpar_hdr_t *hdr)
{
    zpar_msg_t tmp;
    memset (&tmp, 0, sizeof (tmp));
    /* reuse the strict decoder on an empty body */
    (void)zpar__msg_decode (&tmp, h, ZPAR_HDR_LEN, NULL, 0, NULL);
    *hdr = tmp.hdr;
    free (tmp.body);
    free (tmp.fields);
}

int zpar__frames_check (zpar_signer_t *s, zpar_frames_t *f, zpar_hdr_t *hdr, zpar_error_t *err)
{
    return zpar__frames_check_chan (s, ZPAR_CHAN_ANY, f, hdr, err);
}

int zpar__frames_check_chan (zpar_signer_t *s, zpar_chan_t chan, zpar_frames_t *f, zpar_hdr_t *hdr,
                             zpar_error_t *err)
{
    int d = find_delim (f);
    const uint8_t *h;
    zpar_hdr_t tmp;

    f->delim = d;
    if (d < 0 || d > ZPAR_MAX_ENVELOPE || f->n != d + 4) {
        if (s)
            s->stats.malformed++;
        return zpar__errnoprintf (err, EPROTO, "malformed message: %d frames, delimiter at %d",
                                  f->n, d);
    }
    if (zmq_msg_size (&f->part[d + 1]) != ZPAR_SIG_LEN ||
        zmq_msg_size (&f->part[d + 2]) != ZPAR_HDR_LEN) {
        if (s)
            s->stats.malformed++;
        return zpar__errnoprintf (err, EPROTO, "malformed message: bad signature/header size");
    }
    for (int i = 0; i < d; i++) {
        if (zmq_msg_size (&f->part[i]) > ZPAR_MAX_IDENT) {
            if (s)
                s->stats.malformed++;
            return zpar__errnoprintf (err, EPROTO, "malformed message: routing frame too long");
        }
    }
    h = zmq_msg_data (&f->part[d + 2]);
    if (s) {
        uint8_t sig[ZPAR_SIG_LEN];
        sign (s, h, zmq_msg_data (&f->part[d + 3]), zmq_msg_size (&f->part[d + 3]), sig);
        if (sodium_memcmp (sig, zmq_msg_data (&f->part[d + 1]), ZPAR_SIG_LEN) != 0) {
            s->stats.badsig++;
            return zpar__errnoprintf (err, EPERM, "message with a bad signature dropped");
        }
    }
    hdr_decode (h, &tmp);
    if (tmp.version != ZPAR_PROTO_VERSION || tmp.type == 0 || tmp.type >= ZPAR_MSG_TYPE_MAX) {
        if (s)
            s->stats.malformed++;
        return zpar__errnoprintf (err, EPROTO, "malformed header (version %u type %u)", tmp.version,
                                  tmp.type);
    }
    if (s && chan != ZPAR_CHAN_ANY && zpar__flags_chan (tmp.flags) != chan) {
        /* signed, but for another channel: a capture replayed here */
        s->stats.badsig++;
        return zpar__errnoprintf (
            err, EPERM, "message signed for the %s channel dropped on the %s channel",
            zpar__chan_name (zpar__flags_chan (tmp.flags)), zpar__chan_name (chan));
    }
    if (s) {
        if (replay_check (s, &tmp) < 0) {
            s->stats.replayed++;
            return zpar__errnoprintf (
                err, EALREADY, "replayed or stale message dropped (session %016llx seq %llu)",
                (unsigned long long)tmp.session, (unsigned long long)tmp.seq);
        }
        s->stats.accepted++;
    }
    if (hdr)
        *hdr = tmp;
    return 0;
}

int zpar__frames_resign (zpar_signer_t *s, zpar_frames_t *f, zpar_hdr_t *hdr)
{
    int d = f->delim;
    uint8_t h[ZPAR_HDR_LEN];
    uint8_t sig[ZPAR_SIG_LEN];

    if (d < 0 || f->n != d + 4) {
        errno = EINVAL;
        return -1;
    }
    stamp (s, hdr);
    zpar__hdr_encode (hdr, h);
    sign (s, h, zmq_msg_data (&f->part[d + 3]), zmq_msg_size (&f->part[d + 3]), sig);
    zmq_msg_close (&f->part[d + 1]);
    zmq_msg_close (&f->part[d + 2]);
    if (zmq_msg_init_size (&f->part[d + 1], ZPAR_SIG_LEN) < 0)
        return -1;
    memcpy (zmq_msg_data (&f->part[d + 1]), sig, ZPAR_SIG_LEN);
    if (zmq_msg_init_size (&f->part[d + 2], ZPAR_HDR_LEN) < 0)
        return -1;
    memcpy (zmq_msg_data (&f->part[d + 2]), h, ZPAR_HDR_LEN);
    return 0;
}

int zpar__frames_decode (zpar_frames_t *f, zpar_msg_t *m, zpar_error_t *err)
{
    int d = f->delim;
    if (d < 0 || f->n != d + 4)
        return zpar__errnoprintf (err, EPROTO, "frames not checked");
    if (zpar__msg_decode (m, zmq_msg_data (&f->part[d + 2]), zmq_msg_size (&f->part[d + 2]),
                          zmq_msg_data (&f->part[d + 3]), zmq_msg_size (&f->part[d + 3]), err) < 0)
        return -1;
    m->nenv = 0;
    for (int i = 0; i < d; i++)
        (void)zpar__msg_push_ident (m, zmq_msg_data (&f->part[i]), zmq_msg_size (&f->part[i]));
    return 0;
}

int zpar__frames_send (void *sock, zpar_frames_t *f, int from, int flags)
{
    for (int i = from; i < f->n; i++) {
        int more = i < f->n - 1 ? ZMQ_SNDMORE : 0;
        if (zpar__sock_msg_send (&f->part[i], sock, more | flags) < 0) {
            int e = errno;
            /* close what was not sent */
            for (int j = i; j < f->n; j++)
                zmq_msg_close (&f->part[j]);
            for (int j = 0; j < from; j++)
                zmq_msg_close (&f->part[j]);
            f->n = 0;
            errno = e;
            return -1;
        }
    }
    for (int j = 0; j < from; j++)
        zmq_msg_close (&f->part[j]);
    f->n = 0;
    return 0;
}

int zpar__frames_copy (zpar_frames_t *dst, zpar_frames_t *f)
{
    dst->n = 0;
    dst->delim = f->delim;
    for (int i = 0; i < f->n; i++) {
        zmq_msg_init (&dst->part[i]);
        if (zmq_msg_copy (&dst->part[i], &f->part[i]) < 0) {
            zpar__frames_close (dst);
            return -1;
        }
        dst->n++;
    }
    return 0;
}

int zpar__wire_recv (void *sock, zpar_signer_t *s, zpar_msg_t *m, int flags, zpar_error_t *err)
{
    return zpar__wire_recv_chan (sock, s, ZPAR_CHAN_ANY, m, flags, err);
}

int zpar__wire_recv_chan (void *sock, zpar_signer_t *s, zpar_chan_t chan, zpar_msg_t *m, int flags,
                          zpar_error_t *err)
{
    zpar_frames_t f;
    int rc;

    if (zpar__frames_recv (sock, &f, flags) < 0) {
        if (errno == EPROTO) {
            if (s)
                s->stats.malformed++;
            return zpar__errnoprintf (err, EPROTO, "message with too many frames dropped");
        }
        return -1;
    }
    rc = zpar__frames_check_chan (s, chan, &f, NULL, err);
    if (rc == 0 && (rc = zpar__frames_decode (&f, m, err)) < 0 && s) {
        /* signed by a key holder, but the body does not parse */
        s->stats.accepted--;
        s->stats.malformed++;
        errno = EPROTO;
    }
    zpar__frames_close (&f);
    return rc;
}

int zpar__zmq_version_ok (int major, int minor, int patch, zpar_error_t *err)
{
    /* numeric comparison, not string: 4.10 is newer than 4.3 */
    if (major < ZPAR_ZMQ_MIN_MAJOR || (major == ZPAR_ZMQ_MIN_MAJOR && minor < ZPAR_ZMQ_MIN_MINOR))
        return zpar__errnoprintf (err, ENOTSUP,
                                  "zpar needs libzmq >= %d.%d.0 but is running against %d.%d.%d; "
                                  "install a newer libzmq (Debian: apt-get install libzmq5)",
                                  ZPAR_ZMQ_MIN_MAJOR, ZPAR_ZMQ_MIN_MINOR, major, minor, patch);
    return 0;
}

int zpar__zmq_version_check (zpar_error_t *err)
{
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    return zpar__zmq_version_ok (major, minor, patch, err);
}
