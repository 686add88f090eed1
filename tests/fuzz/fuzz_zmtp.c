/* fuzz_zmtp.c - fuzz target for a zrouter connection's input (zmtp_in.c,
 * with the codec zmtp.c under it): the bytes a peer sends, greeting,
 * commands and frames, parsed as the zrouter parses them.
 *
 * Input: byte 0 chooses the owner (bits 0-1: maxmsg 16, 255, 256 or 65536;
 * bit 2: sending the PONG fails; bit 3: the owner refuses the peer's
 * READY), byte 1 seeds the sizes of the pieces the stream is cut into, the
 * rest is the stream.
 *
 * The stream is fed three ways: at once, one byte at a time, and in pieces
 * of varied sizes.  Invariants:
 *  - the three give the same READY, PONGs, messages and outcome (a frame
 *    header or body cut anywhere changes nothing);
 *  - a message is the identity the owner gave, then at most
 *    ZPAR_ZROUTER_PARTS - 1 frames, none larger than maxmsg, each the
 *    next data frame of the stream as a plain walk over its frame headers
 *    finds it; frames beyond the limit are dropped and the message marked;
 *  - READY is taken at most once, with a socket type the zrouter accepts;
 *    a PONG is a command frame of at most 64 bytes named PONG;
 *  - a stream fails OVERSIZED only when a data frame above maxmsg is
 *    announced, REFUSED only for a greeting, a READY or the owner's no,
 *    FAILED only when the owner's send failed;
 *  - a failed stream stays failed: later bytes give -1 with the same
 *    reason and no callback.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "zmtp.h"
#include "zmtp_in.h"

typedef struct {
    /* the owner */
    uint64_t maxmsg;
    int send_fails, refuse;
    unsigned char id[ZPAR_ZMTP_IDENTITY_MAX];
    size_t idlen;
    int readies;
    int failed; /* the stream said -1: no callback may come */
    int sent;   /* the owner was asked to send */
    /* what the stream did, as bytes to compare between the three ways */
    unsigned char *log;
    size_t loglen, logcap;
    /* the stream's data frames, as a plain walk finds them */
    const unsigned char *stream;
    size_t slen;
    size_t walk; /* the next byte of the walk */
} run_t;

static void log_put (run_t *r, const void *p, size_t len)
{
    if (r->loglen + len > r->logcap) {
        size_t cap = r->logcap ? r->logcap : 256;
        while (cap < r->loglen + len)
            cap *= 2;
        FUZZ_CHECK ((r->log = realloc (r->log, cap)) != NULL);
        r->logcap = cap;
    }
    memcpy (r->log + r->loglen, p, len);
    r->loglen += len;
}

static void log_size (run_t *r, char tag, uint64_t v)
{
    log_put (r, &tag, 1);
    log_put (r, &v, sizeof (v));
}

/* The next frame of the stream by a plain walk over the headers after the
 * greeting: 1 with its flags, body, announced size and the bytes of it the
 * stream has (*got), 0 at the end or at a header that cannot be decoded. */
static int walk_next (run_t *r, int *flags, const unsigned char **body, uint64_t *size,
                      uint64_t *got)
{
    int h;
    if (r->walk < ZPAR_ZMTP_GREETING_SIZE)
        r->walk = ZPAR_ZMTP_GREETING_SIZE;
    if (r->walk >= r->slen)
        return 0;
    h = zpar__zmtp_header_decode (r->stream + r->walk, r->slen - r->walk, flags, size);
    if (h <= 0)
        return 0;
    r->walk += (size_t)h;
    *body = r->stream + r->walk;
    *got = *size < r->slen - r->walk ? *size : r->slen - r->walk;
    r->walk += (size_t)*got;
    return 1;
}

/* The next data frame of the walk (commands skipped). */
static int walk_data (run_t *r, int *flags, const unsigned char **body, uint64_t *size,
                      uint64_t *got)
{
    while (walk_next (r, flags, body, size, got))
        if (!(*flags & ZPAR_ZMTP_COMMAND))
            return 1;
    return 0;
}

static int on_ready (void *arg, const struct zpar__zmtp_ready *rd, const unsigned char **id,
                     size_t *idlen)
{
    run_t *r = arg;
    FUZZ_CHECK (!r->failed);
    FUZZ_CHECK (r->readies++ == 0);
    FUZZ_CHECK (strcmp (rd->socket_type, "DEALER") == 0 || strcmp (rd->socket_type, "REQ") == 0 ||
                strcmp (rd->socket_type, "ROUTER") == 0);
    FUZZ_CHECK (rd->identity_len <= ZPAR_ZMTP_IDENTITY_MAX);
    log_size (r, 'R', rd->identity_len);
    log_put (r, rd->identity, rd->identity_len);
    if (r->refuse)
        return -1;
    if (rd->identity_len == 0) { /* the zrouter's form: 0, then a counter */
        static const unsigned char gen[5] = {0, 0, 0, 0, 1};
        memcpy (r->id, gen, sizeof (gen));
        r->idlen = sizeof (gen);
    } else {
        memcpy (r->id, rd->identity, rd->identity_len);
        r->idlen = rd->identity_len;
    }
    *id = r->id;
    *idlen = r->idlen;
    return 0;
}

static int on_send (void *arg, const unsigned char *frame, size_t len)
{
    run_t *r = arg;
    int flags;
    uint64_t size;
    int h = zpar__zmtp_header_decode (frame, len, &flags, &size);
    FUZZ_CHECK (!r->failed);
    FUZZ_CHECK (len <= 64);
    FUZZ_CHECK (h > 0 && flags == ZPAR_ZMTP_COMMAND && size == len - (size_t)h);
    FUZZ_CHECK (size >= 5 && frame[h] == 4 && memcmp (frame + h + 1, "PONG", 4) == 0);
    log_size (r, 'P', len);
    log_put (r, frame, len);
    r->sent = 1;
    return r->send_fails ? -1 : 0;
}

static void on_message (void *arg, zpar_zmtp_inmsg_t *m)
{
    run_t *r = arg;
    int flags = ZPAR_ZMTP_MORE, kept = 1, count = 0;
    FUZZ_CHECK (!r->failed);
    FUZZ_CHECK (r->readies == 1 && !r->refuse);
    FUZZ_CHECK (m->n >= 1 && m->n <= ZPAR_ZROUTER_PARTS);
    FUZZ_CHECK (zmq_msg_size (&m->part[0]) == r->idlen);
    FUZZ_CHECK (memcmp (zmq_msg_data (&m->part[0]), r->id, r->idlen) == 0);
    log_size (r, 'M', (uint64_t)m->n << 1 | (uint64_t)m->overflow);
    /* the message is the walk's next data frames, up to one without MORE */
    while (flags & ZPAR_ZMTP_MORE) {
        const unsigned char *body;
        uint64_t size, got;
        FUZZ_CHECK (walk_data (r, &flags, &body, &size, &got));
        count++;
        FUZZ_CHECK (size <= r->maxmsg && got == size);
        if (kept < ZPAR_ZROUTER_PARTS) {
            zmq_msg_t *p = &m->part[kept++];
            FUZZ_CHECK (kept <= m->n);
            FUZZ_CHECK (zmq_msg_size (p) == size);
            FUZZ_CHECK (size == 0 || memcmp (zmq_msg_data (p), body, size) == 0);
            log_size (r, 'F', size);
            log_put (r, body, size);
        }
    }
    FUZZ_CHECK (kept == m->n);
    FUZZ_CHECK (m->overflow == (count > ZPAR_ZROUTER_PARTS - 1));
    zpar__zmtp_inmsg_free (m);
}

static const zpar_zmtp_in_ops_t ops = {on_ready, on_send, on_message, NULL};

/* cut: 0 at once, 1 a byte at a time, 2 pieces sized from seed */
static void run (run_t *r, const unsigned char *s, size_t len, int cut, unsigned seed,
                 zpar_zmtp_in_err_t *err)
{
    zpar_zmtp_in_t in;
    size_t off = 0;
    int rc = 0;
    uint32_t x = seed * 2654435761u + 1;

    zpar__zmtp_in_init (&in, r->maxmsg, &ops, r);
    FUZZ_CHECK (zpar__zmtp_in_error (&in) == ZPAR_ZMTP_IN_OK);
    while (off < len && rc == 0) {
        size_t n = len - off;
        if (cut == 1)
            n = 1;
        else if (cut == 2) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            /* mostly small pieces (headers cut), now and then large */
            size_t want = (x & 7) ? 1 + (x >> 8) % 12 : 1 + (x >> 8) % 4096;
            if (want < n)
                n = want;
        }
        rc = zpar__zmtp_in_feed (&in, s + off, n);
        off += n;
        FUZZ_CHECK (rc == 0 || rc == -1);
        FUZZ_CHECK ((rc == 0) == (zpar__zmtp_in_error (&in) == ZPAR_ZMTP_IN_OK));
    }
    *err = zpar__zmtp_in_error (&in);
    if (rc == 0)
        FUZZ_CHECK (zpar__zmtp_in_open (&in) == (r->readies == 1));
    if (rc != 0) {
        /* failed for good: the rest, and more, change nothing */
        static const unsigned char more[] = {0, 1, 'x'};
        r->failed = 1;
        FUZZ_CHECK (zpar__zmtp_in_open (&in) == 0);
        FUZZ_CHECK (zpar__zmtp_in_feed (&in, s + off, len - off) == -1);
        FUZZ_CHECK (zpar__zmtp_in_feed (&in, more, sizeof (more)) == -1);
        FUZZ_CHECK (zpar__zmtp_in_error (&in) == *err);
        switch (*err) {
        case ZPAR_ZMTP_IN_OVERSIZED: {
            /* a data frame above maxmsg was announced after those taken */
            int flags, big = 0;
            const unsigned char *body;
            uint64_t size, got;
            while (!big && walk_data (r, &flags, &body, &size, &got))
                big = size > r->maxmsg;
            FUZZ_CHECK (big);
            break;
        }
        case ZPAR_ZMTP_IN_FAILED:
            FUZZ_CHECK (r->send_fails && r->sent);
            break;
        case ZPAR_ZMTP_IN_REFUSED:
        case ZPAR_ZMTP_IN_MALFORMED:
            break;
        default:
            FUZZ_CHECK (!"a failed stream with no reason");
        }
    }
    zpar__zmtp_in_fini (&in);
    zpar__zmtp_in_fini (&in); /* twice: harmless */
    log_size (r, 'E', (uint64_t)*err);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static const uint64_t maxmsg[4] = {16, 255, 256, 65536};
    run_t r[3];
    zpar_zmtp_in_err_t err[3];

    if (size < 2)
        return 0;
    for (int i = 0; i < 3; i++) {
        memset (&r[i], 0, sizeof (r[i]));
        r[i].maxmsg = maxmsg[data[0] & 3];
        r[i].send_fails = (data[0] & 4) != 0;
        r[i].refuse = (data[0] & 8) != 0;
        r[i].stream = data + 2;
        r[i].slen = size - 2;
        run (&r[i], data + 2, size - 2, i, data[1], &err[i]);
    }
    for (int i = 1; i < 3; i++) {
        FUZZ_CHECK (err[i] == err[0]);
        FUZZ_CHECK (r[i].loglen == r[0].loglen);
        FUZZ_CHECK (r[0].loglen == 0 || memcmp (r[i].log, r[0].log, r[0].loglen) == 0);
    }
    for (int i = 0; i < 3; i++)
        free (r[i].log);
    return 0;
}
