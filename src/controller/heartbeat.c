/* heartbeat.c - the hub's heartbeat monitor: bookkeeping and socket glue. */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "heartbeat.h"
#include "proto_hb.h"
#include "route.h"
#include "wire.h"

typedef struct {
    uint64_t last_us;  /* monotonic time of the last beat */
    uint64_t last_seq; /* newest ping it echoed (or the last one sent when watched) */
    uint8_t watched;
    uint8_t routed;     /* route is set */
    zpar_route_t route; /* the identity its pongs must come from */
} beat_t;

struct zpar_heartbeat {
    int period_ms;
    int misses;
    uint64_t seq;      /* of the last ping sent */
    uint64_t session;  /* of the last ping sent */
    uint64_t *sent_us; /* ring: sent_us[seq % nsent] = when ping seq was sent */
    size_t nsent;      /* misses + 2 */
    beat_t *beats;     /* indexed by engine id */
    uint32_t nbeats;
};

zpar_heartbeat_t *zpar__heartbeat_create (int period_ms, int misses)
{
    zpar_heartbeat_t *hb;
    if (period_ms <= 0 || misses <= 0 || misses > ZPAR_HEARTBEAT_MAX_MISSES) {
        errno = EINVAL;
        return NULL;
    }
    if (!(hb = calloc (1, sizeof (*hb))))
        return NULL;
    hb->period_ms = period_ms;
    hb->misses = misses;
    hb->nsent = (size_t)misses + 2;
    if (!(hb->sent_us = calloc (hb->nsent, sizeof (*hb->sent_us)))) {
        free (hb);
        errno = ENOMEM;
        return NULL;
    }
    return hb;
}

void zpar__heartbeat_destroy (zpar_heartbeat_t *hb)
{
    if (hb) {
        int saved = errno;
        free (hb->sent_us);
        free (hb->beats);
        free (hb);
        errno = saved;
    }
}

int zpar__heartbeat_period_ms (const zpar_heartbeat_t *hb)
{
    return hb ? hb->period_ms : 0;
}

int zpar__heartbeat_misses (const zpar_heartbeat_t *hb)
{
    return hb ? hb->misses : 0;
}

static int bad_engine (const zpar_heartbeat_t *hb, zpar_eid_t engine)
{
    if (!hb || engine.v == 0 || engine.v > ZPAR_HEARTBEAT_MAX_ENGINE) {
        errno = EINVAL;
        return 1;
    }
    return 0;
}

int zpar__heartbeat_watch (zpar_heartbeat_t *hb, zpar_eid_t eid, uint64_t now_us)
{
    uint32_t engine = eid.v;
    if (bad_engine (hb, eid))
        return -1;
    if (engine >= hb->nbeats) {
        uint32_t n = hb->nbeats ? hb->nbeats : 16;
        beat_t *nb;
        while (n <= engine)
            n *= 2;
        if (!(nb = realloc (hb->beats, n * sizeof (*nb))))
            return -1;
        memset (nb + hb->nbeats, 0, (n - hb->nbeats) * sizeof (*nb));
        hb->beats = nb;
        hb->nbeats = n;
    }
    hb->beats[engine].last_us = now_us;
    hb->beats[engine].last_seq = hb->seq;
    hb->beats[engine].watched = 1;
    return 0;
}

int zpar__heartbeat_set_route (zpar_heartbeat_t *hb, const zpar_route_t *route)
{
    zpar_eid_t eid = route ? zpar__route_engine (route->b, sizeof (route->b)) : zpar__eid (0);
    if (bad_engine (hb, eid) || eid.v >= hb->nbeats || !hb->beats[eid.v].watched) {
        errno = EINVAL;
        return -1;
    }
    hb->beats[eid.v].route = *route;
    hb->beats[eid.v].routed = 1;
    return 0;
}

int zpar__heartbeat_unwatch (zpar_heartbeat_t *hb, zpar_eid_t eid)
{
    if (bad_engine (hb, eid))
        return -1;
    if (eid.v < hb->nbeats)
        hb->beats[eid.v].watched = 0;
    return 0;
}

int zpar__heartbeat_watched (const zpar_heartbeat_t *hb, zpar_eid_t eid)
{
    if (!hb || eid.v == 0 || eid.v >= hb->nbeats)
        return 0;
    return hb->beats[eid.v].watched;
}

uint64_t zpar__heartbeat_ping (zpar_heartbeat_t *hb, uint64_t now_us)
{
    if (!hb)
        return 0;
    hb->seq++;
    hb->sent_us[hb->seq % hb->nsent] = now_us;
    return hb->seq;
}

int zpar__heartbeat_pong (zpar_heartbeat_t *hb, zpar_eid_t eid, uint64_t seq)
{
    beat_t *b;
    uint64_t sent;
    if (bad_engine (hb, eid))
        return -1;
    if (eid.v >= hb->nbeats || !(b = &hb->beats[eid.v])->watched)
        return 0;
    /* only the last misses + 1 pings tell whether the engine lives */
    if (seq == 0 || seq > hb->seq || hb->seq - seq > (uint64_t)hb->misses)
        return 0;
    sent = hb->sent_us[seq % hb->nsent];
    /* an echo of a ping sent before the engine (re)registered proves
     * nothing newer than its registration: keep the later time */
    if (sent > b->last_us)
        b->last_us = sent;
    if (seq > b->last_seq)
        b->last_seq = seq;
    return 1;
}

int zpar__heartbeat_expire (zpar_heartbeat_t *hb, uint64_t now_us, zpar_heartbeat_dead_f cb,
                            void *arg)
{
    uint64_t limit;
    int dead = 0;
    if (!hb) {
        errno = EINVAL;
        return -1;
    }
    limit = (uint64_t)hb->period_ms * 1000u * (uint64_t)hb->misses + (uint64_t)hb->period_ms * 500u;
    /* nbeats is read each round: cb may watch a new engine */
    for (uint32_t i = 1; i < hb->nbeats; i++) {
        beat_t *b = &hb->beats[i];
        /* dead: silent for the time limit AND no echo of the last misses
         * pings sent -- a hub that could not send pings (stalled, starved
         * of CPU) never declares an engine dead for its own silence */
        if (!b->watched || now_us <= b->last_us || now_us - b->last_us <= limit ||
            hb->seq - b->last_seq < (uint64_t)hb->misses)
            continue;
        b->watched = 0;
        dead++;
        if (cb)
            cb (arg, zpar__eid (i));
    }
    return dead;
}

int zpar__heartbeat_send_ping (zpar_heartbeat_t *hb, void *sock, uint64_t session, uint64_t now_us,
                               uint64_t wall_us)
{
    zpar_proto_ping_t p;
    uint8_t buf[ZPAR_HB_PING_LEN];
    if (!hb || !sock) {
        errno = EINVAL;
        return -1;
    }
    /* seq, time, and our session: engines that see another session know a
     * new controller took over and register again */
    p.seq = zpar__heartbeat_ping (hb, now_us);
    p.time_us = wall_us;
    p.session = session;
    hb->session = session;
    zpar__proto_ping_encode (&p, buf);
    return zmq_send (sock, buf, sizeof (buf), ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

/* The engine whose routing identity (set by zpar__heartbeat_set_route)
 * data is; 0 if none: an identity nobody was given by the registrar. */
static zpar_eid_t parse_ident (const zpar_heartbeat_t *hb, const void *data, size_t len)
{
    zpar_eid_t eid = zpar__route_engine (data, len);
    const beat_t *b;
    if (eid.v == 0 || eid.v >= hb->nbeats)
        return zpar__eid (0);
    b = &hb->beats[eid.v];
    if (!b->routed || sodium_memcmp (b->route.b, data, ZPAR_ROUTE_LEN) != 0)
        return zpar__eid (0);
    return eid;
}

int zpar__heartbeat_recv_pongs (zpar_heartbeat_t *hb, void *sock, int max, uint64_t *dropped)
{
    int bad = 0;
    if (!hb || !sock)
        return 0;
    for (int k = 0; k < max; k++) {
        zpar_frames_t f;
        zpar_eid_t eid;
        zpar_proto_ping_t p;
        if (zpar__frames_recv (sock, &f, ZMQ_DONTWAIT) < 0) {
            if (errno == EPROTO) {
                bad++;
                continue;
            }
            break;
        }
        if (f.n != 2 ||
            zpar__proto_ping_decode (zmq_msg_data (&f.part[1]), zmq_msg_size (&f.part[1]), &p,
                                     NULL) < 0 ||
            !(eid = parse_ident (hb, zmq_msg_data (&f.part[0]), zmq_msg_size (&f.part[0]))).v ||
            p.session != hb->session)
            bad++;
        else
            (void)zpar__heartbeat_pong (hb, eid, p.seq);
        zpar__frames_close (&f);
    }
    if (dropped)
        *dropped += (uint64_t)bad;
    return bad;
}
