/* zmtp_in.c - the input side of one connection to a zrouter (see
 * zmtp_in.h).
 *
 * Input is parsed straight from the caller's bytes into the frames of the
 * message being received (zmq_msg_t, so the rest of zpar handles them as
 * libzmq's); the stream holds only what is incomplete: a greeting or a
 * frame header cut by the end of a read, a command's body, the message
 * being read.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "zmtp_in.h"

enum { ST_GREETING, ST_HANDSHAKE, ST_OPEN, ST_FAILED };

void zpar__zmtp_inmsg_free (zpar_zmtp_inmsg_t *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++)
        zmq_msg_close (&m->part[i]);
    free (m);
}

void zpar__zmtp_in_init (zpar_zmtp_in_t *in, uint64_t maxmsg, const zpar_zmtp_in_ops_t *ops,
                         void *arg)
{
    memset (in, 0, sizeof (*in));
    in->ops = ops;
    in->arg = arg;
    in->maxmsg = maxmsg;
    in->state = ST_GREETING;
}

static void fail (zpar_zmtp_in_t *in, zpar_zmtp_in_err_t why)
{
    if (in->state == ST_FAILED)
        return;
    in->state = ST_FAILED;
    in->err = why;
    free (in->cmd);
    in->cmd = NULL;
    zpar__zmtp_inmsg_free (in->cur);
    in->cur = NULL;
    in->fmsg = NULL;
}

void zpar__zmtp_in_fini (zpar_zmtp_in_t *in)
{
    if (in)
        fail (in, ZPAR_ZMTP_IN_FAILED);
}

zpar_zmtp_in_err_t zpar__zmtp_in_error (const zpar_zmtp_in_t *in)
{
    return in->state == ST_FAILED ? in->err : ZPAR_ZMTP_IN_OK;
}

int zpar__zmtp_in_open (const zpar_zmtp_in_t *in)
{
    return in->state == ST_OPEN;
}

/* Is a peer of socket type t one the owner takes (types: NULL-terminated;
 * NULL: a ROUTER's peers)? */
static int type_taken (const char *const *types, const char *t)
{
    static const char *const router_peers[] = {"DEALER", "REQ", "ROUTER", NULL};
    for (const char *const *p = types ? types : router_peers; *p; p++)
        if (strcmp (*p, t) == 0)
            return 1;
    return 0;
}

/* A command's body is complete: 0, or the reason the stream fails. */
static zpar_zmtp_in_err_t on_command (zpar_zmtp_in_t *in)
{
    const unsigned char *name;
    size_t nlen;
    unsigned char pong[64];
    if (zpar__zmtp_command_name (in->cmd, in->fsize, &name, &nlen) < 0)
        return ZPAR_ZMTP_IN_MALFORMED;
    if (nlen == 5 && memcmp (name, "READY", 5) == 0) {
        struct zpar__zmtp_ready r;
        if (in->state != ST_HANDSHAKE || zpar__zmtp_ready_decode (in->cmd, in->fsize, &r) < 0 ||
            !type_taken (in->ops->types, r.socket_type) ||
            in->ops->ready (in->arg, &r, &in->id, &in->idlen) < 0)
            return ZPAR_ZMTP_IN_REFUSED;
        in->state = ST_OPEN;
        return ZPAR_ZMTP_IN_OK;
    }
    if (nlen == 4 && memcmp (name, "PING", 4) == 0) {
        size_t n = zpar__zmtp_pong_encode (pong, sizeof (pong), in->cmd, in->fsize);
        if (!n)
            return ZPAR_ZMTP_IN_MALFORMED;
        return in->ops->send (in->arg, pong, n) < 0 ? ZPAR_ZMTP_IN_FAILED : ZPAR_ZMTP_IN_OK;
    }
    if (nlen == 5 && memcmp (name, "ERROR", 5) == 0)
        return ZPAR_ZMTP_IN_MALFORMED;
    return ZPAR_ZMTP_IN_OK; /* PONG, or a command of a later version: ignored */
}

/* A frame's header is complete: 0, or the reason the stream fails. */
static zpar_zmtp_in_err_t on_header (zpar_zmtp_in_t *in)
{
    in->in_body = 1;
    in->fgot = 0;
    in->fmsg = NULL;
    if (in->fflags & ZPAR_ZMTP_COMMAND) {
        if (in->fsize > ZPAR_ZMTP_IN_CMD_MAX || (in->fflags & ZPAR_ZMTP_MORE) || in->cur)
            return ZPAR_ZMTP_IN_MALFORMED;
        if (!(in->cmd = malloc (in->fsize ? in->fsize : 1)))
            return ZPAR_ZMTP_IN_FAILED;
        return ZPAR_ZMTP_IN_OK;
    }
    if (in->state != ST_OPEN)
        return ZPAR_ZMTP_IN_MALFORMED;
    if (in->fsize > in->maxmsg)
        return ZPAR_ZMTP_IN_OVERSIZED;
    if (!in->cur) {
        if (!(in->cur = calloc (1, sizeof (*in->cur))))
            return ZPAR_ZMTP_IN_FAILED;
        if (zmq_msg_init_size (&in->cur->part[0], in->idlen) < 0)
            return ZPAR_ZMTP_IN_FAILED;
        memcpy (zmq_msg_data (&in->cur->part[0]), in->id, in->idlen);
        in->cur->n = 1;
    }
    if (in->cur->n < ZPAR_ZROUTER_PARTS) {
        if (zmq_msg_init_size (&in->cur->part[in->cur->n], in->fsize) < 0)
            return ZPAR_ZMTP_IN_FAILED;
        in->fmsg = &in->cur->part[in->cur->n++];
    } else
        in->cur->overflow = 1;
    return ZPAR_ZMTP_IN_OK;
}

/* A frame's body is complete: 0, or the reason the stream fails. */
static zpar_zmtp_in_err_t on_frame (zpar_zmtp_in_t *in)
{
    in->in_body = 0;
    in->hlen = 0;
    if (in->fflags & ZPAR_ZMTP_COMMAND) {
        zpar_zmtp_in_err_t rc = on_command (in);
        free (in->cmd);
        in->cmd = NULL;
        return rc;
    }
    if (!(in->fflags & ZPAR_ZMTP_MORE)) {
        zpar_zmtp_inmsg_t *m = in->cur;
        in->cur = NULL;
        in->fmsg = NULL;
        in->ops->message (in->arg, m);
    }
    return ZPAR_ZMTP_IN_OK;
}

int zpar__zmtp_in_feed (zpar_zmtp_in_t *in, const unsigned char *p, size_t len)
{
    zpar_zmtp_in_err_t rc = ZPAR_ZMTP_IN_OK;
    while (len > 0 && in->state != ST_FAILED) {
        if (in->state == ST_GREETING) {
            size_t take = ZPAR_ZMTP_GREETING_SIZE - in->glen;
            int g;
            if (take > len)
                take = len;
            memcpy (in->gbuf + in->glen, p, take);
            in->glen += take;
            p += take;
            len -= take;
            if ((g = zpar__zmtp_greeting_check (in->gbuf, in->glen)) < 0)
                rc = ZPAR_ZMTP_IN_REFUSED;
            else if (g > 0)
                in->state = ST_HANDSHAKE;
        } else if (!in->in_body) {
            int h;
            if (in->hlen == 0 && len >= ZPAR_ZMTP_HEADER_MAX) {
                /* the whole header is here: no copy */
                if ((h = zpar__zmtp_header_decode (p, len, &in->fflags, &in->fsize)) < 0) {
                    rc = ZPAR_ZMTP_IN_MALFORMED;
                    break;
                }
                p += h;
                len -= (size_t)h;
            } else {
                in->hbuf[in->hlen++] = *p++;
                len--;
                h = zpar__zmtp_header_decode (in->hbuf, in->hlen, &in->fflags, &in->fsize);
                if (h < 0) {
                    rc = ZPAR_ZMTP_IN_MALFORMED;
                    break;
                }
                if (h == 0)
                    continue;
            }
            rc = on_header (in);
        } else {
            size_t take = in->fsize - in->fgot < len ? (size_t)(in->fsize - in->fgot) : len;
            if (in->cmd)
                memcpy (in->cmd + in->fgot, p, take);
            else if (in->fmsg)
                memcpy ((unsigned char *)zmq_msg_data (in->fmsg) + in->fgot, p, take);
            in->fgot += take;
            p += take;
            len -= take;
        }
        if (rc == ZPAR_ZMTP_IN_OK && in->in_body && in->fgot == in->fsize)
            rc = on_frame (in);
        if (rc != ZPAR_ZMTP_IN_OK)
            break;
    }
    if (rc != ZPAR_ZMTP_IN_OK)
        fail (in, rc);
    return in->state == ST_FAILED ? -1 : 0;
}
