/* zmtp_in.h - the input side of one connection to a zrouter: a peer's byte
 * stream, fed in pieces of any size, becomes its greeting, its commands and
 * its messages.
 *
 * A zrouter (zrouter.h) keeps one per connection and feeds it what it
 * reads; the fuzz target tests/fuzz/fuzz_zmtp.c feeds it arbitrary bytes.
 * No sockets here: what the stream asks of its owner (name the peer that
 * sent READY, send a PONG, take a complete message) goes through the
 * callbacks of zpar_zmtp_in_ops_t.
 *
 * The rules (doc/protocol.md, "The task queues speak ZMTP themselves"):
 *  - the greeting first: ZMTP 3 or later, mechanism NULL
 *    (zpar__zmtp_greeting_check);
 *  - then READY, once, with a Socket-Type the owner takes (ops->types;
 *    by default DEALER, REQ or ROUTER, the peers of a ROUTER); PING is
 *    answered at any time after the greeting; ERROR ends the stream; other
 *    commands are ignored.  A command's body is at most
 *    ZPAR_ZMTP_IN_CMD_MAX bytes, has no MORE and never comes between the
 *    frames of a message;
 *  - data frames only after READY, each at most maxmsg bytes: the header
 *    decides, before any of the body is held;
 *  - a message is the peer's identity frame, then its frames; the frames
 *    beyond ZPAR_ZROUTER_PARTS in all are read and dropped and the message
 *    is marked overflow (the zrouter's receive says EPROTO for it).
 * A stream that breaks a rule has failed for good: every later feed
 * returns -1 with the same reason, and no message comes from it.
 */
#ifndef ZPAR__ZMTP_IN_H
#define ZPAR__ZMTP_IN_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "zmtp.h"
#include "zrouter.h"

enum {
    ZPAR_ZMTP_IN_CMD_MAX = 8192, /* a command's body (READY with its properties) */
};

/* A message received: part[0] is the peer's identity, then the frames kept
 * (n in all, at most ZPAR_ZROUTER_PARTS); overflow: it had more. */
typedef struct zpar_zmtp_inmsg {
    struct zpar_zmtp_inmsg *next; /* for the owner's queue */
    int src;                      /* the owner's: the connection it came on */
    int n;
    int overflow;
    zmq_msg_t part[ZPAR_ZROUTER_PARTS];
} zpar_zmtp_inmsg_t;

/* Close the frames of m and free it.  NULL-safe. */
void zpar__zmtp_inmsg_free (zpar_zmtp_inmsg_t *m);

/* Why a stream failed. */
typedef enum {
    ZPAR_ZMTP_IN_OK = 0,
    ZPAR_ZMTP_IN_REFUSED,   /* not ZMTP, an older version, another mechanism,
                             * a READY that is malformed, late, of another
                             * socket type, or refused by the owner */
    ZPAR_ZMTP_IN_OVERSIZED, /* a data frame announced larger than maxmsg */
    ZPAR_ZMTP_IN_MALFORMED, /* reserved flag bits, a bad command or one out of
                             * place, data before READY, ERROR */
    ZPAR_ZMTP_IN_FAILED,    /* out of memory, or the owner's send failed */
} zpar_zmtp_in_err_t;

/* What a stream asks of its owner (arg: the owner's, given to init). */
typedef struct {
    /* The peer's READY, acceptable by the rules above: name the peer.  0
     * with *id and *idlen set to its routing identity (1 to
     * ZPAR_ZMTP_IDENTITY_MAX bytes the owner keeps for as long as the
     * stream lives: r->identity, or one made when that is empty), or -1 to
     * refuse it. */
    int (*ready) (void *arg, const struct zpar__zmtp_ready *r, const unsigned char **id,
                  size_t *idlen);
    /* Send frame (len bytes, a PONG) to the peer: 0, or -1 when the
     * connection cannot go on. */
    int (*send) (void *arg, const unsigned char *frame, size_t len);
    /* A complete message; the owner takes m (zpar__zmtp_inmsg_free). */
    void (*message) (void *arg, zpar_zmtp_inmsg_t *m);
    /* The peers' socket types taken, NULL-terminated; NULL: DEALER, REQ
     * and ROUTER. */
    const char *const *types;
} zpar_zmtp_in_ops_t;

/* One stream's state.  Its fields are zmtp_in.c's; callers use the
 * functions. */
typedef struct {
    const zpar_zmtp_in_ops_t *ops;
    void *arg;
    uint64_t maxmsg;
    int state;
    zpar_zmtp_in_err_t err;
    unsigned char gbuf[ZPAR_ZMTP_GREETING_SIZE];
    size_t glen;
    unsigned char hbuf[ZPAR_ZMTP_HEADER_MAX];
    size_t hlen;
    int in_body, fflags;
    uint64_t fsize, fgot;
    unsigned char *cmd;      /* a command's body being read */
    zmq_msg_t *fmsg;         /* the frame being read (NULL: dropped) */
    zpar_zmtp_inmsg_t *cur;  /* the message being read */
    const unsigned char *id; /* the routing identity (the owner's) */
    size_t idlen;
} zpar_zmtp_in_t;

/* Start a stream in `in' (memory the caller owns): nothing read yet.
 * maxmsg: the largest data frame accepted (bytes). */
void zpar__zmtp_in_init (zpar_zmtp_in_t *in, uint64_t maxmsg, const zpar_zmtp_in_ops_t *ops,
                         void *arg);

/* Free what the stream holds (a command or message half read).  The
 * stream is failed afterwards (FAILED) unless it had failed before. */
void zpar__zmtp_in_fini (zpar_zmtp_in_t *in);

/* Parse the next len bytes of the stream: every command and message they
 * complete is acted on (callbacks) before this returns; what is
 * incomplete is kept.  0, or -1 when the stream has failed (now or
 * before; zpar__zmtp_in_error says why). */
int zpar__zmtp_in_feed (zpar_zmtp_in_t *in, const unsigned char *p, size_t len);

/* Why the stream failed, or ZPAR_ZMTP_IN_OK. */
zpar_zmtp_in_err_t zpar__zmtp_in_error (const zpar_zmtp_in_t *in);

/* 1 when the peer's READY was taken (data frames may come), else 0. */
int zpar__zmtp_in_open (const zpar_zmtp_in_t *in);

#endif
