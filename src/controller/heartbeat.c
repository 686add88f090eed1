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
#include "zrouter.h"

typedef struct {
    uint64_t last_us;  /* monotonic time of the last beat */
    uint64_t last_seq; /* newest ping it echoed (or the last one sent when watched) */
    uint64_t gap_us;   /* the silence a suspect engine broke (zpar__heartbeat_pong 2) */
    uint64_t ex_us;    /* of its silence since, the part excused (our lateness, collective) */
    uint64_t ex_pings; /* of the pings sent since, those excused (collective silence) */
    uint32_t pid;      /* its process on this host (0: elsewhere, unknown) */
    uint8_t slow;      /* reported SLOW in this silence */
    int fd;            /* the connection its last pong came on (-1: unknown) */
    uint8_t closed;    /* that connection closed (zpar__heartbeat_closed) */
    uint8_t watched;
    uint8_t suspect;    /* reported suspect, not yet answered */
    uint8_t routed;     /* route is set */
    uint8_t relay_ok;   /* behind a relay, another engine of which answers (last check) */
    zpar_route_t route; /* the identity its pongs must come from */
} beat_t;

typedef struct {
    const uint8_t *via; /* an engine's relay */
    uint32_t engine;    /* that engine */
    uint8_t silent;     /* that engine is silent */
} relay_mark_t;

/* The processes asked about in one check, remembered until its end (a
 * process holding thousands of silent engines is asked once a check). */
#define ALIVE_CACHE 64

struct zpar_heartbeat {
    int period_ms;
    int misses;
    uint64_t seq;      /* of the last ping sent */
    uint64_t session;  /* of the last ping sent */
    uint64_t *sent_us; /* ring: sent_us[seq % nsent] = when ping seq was sent */
    size_t nsent;      /* misses x ZPAR_HEARTBEAT_COLLECTIVE_FACTOR + 2 */
    beat_t *beats;     /* indexed by engine id */
    uint32_t nbeats;
    uint32_t collective;  /* silent engines at the last check, when most were */
    relay_mark_t *relays; /* scratch of collective_silence */
    uint32_t nrelays;     /* its size */
    uint64_t check_us;    /* time of the last check */
    int collective_prev;  /* the last check found a collective silence */
    uint64_t check_seq;   /* the last ping sent then */
    int nudge_off;
    zpar_heartbeat_alive_f alive; /* the kernel's word on a local engine's process */
    void *alive_arg;              /* zpar__heartbeat_set_nudge (hb, 0) */
    struct {
        uint32_t pid;
        int runs;          /* alive()'s word */
    } asked[ALIVE_CACHE];  /* within one check: many engines share a process */
    unsigned nasked;       /* how many of them */
    uint64_t nudge_key[2]; /* siphash key of the nudge table */
    struct {
        uint64_t hash;                    /* of the identity nudged, 0: empty */
        uint64_t last_us;                 /* when */
    } nudges[ZPAR_HEARTBEAT_NUDGE_SLOTS]; /* fixed size: a flood cannot grow it */
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
    hb->nsent = (size_t)misses * ZPAR_HEARTBEAT_COLLECTIVE_FACTOR + 2;
    randombytes_buf (hb->nudge_key, sizeof (hb->nudge_key));
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
        free (hb->relays);
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
    hb->beats[engine].suspect = 0;
    hb->beats[engine].closed = 0;
    hb->beats[engine].fd = -1;
    hb->beats[engine].ex_us = 0;
    hb->beats[engine].ex_pings = 0;
    hb->beats[engine].pid = 0;
    hb->beats[engine].slow = 0;
    hb->beats[engine].relay_ok = 0;
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
    /* an echo proves the engine lived when its ping was sent (no later):
     * a starved machine's engines echo pings seconds late, and those
     * echoes still count, with the ping's send time (up to the 10 limits
     * of the longest silence excused) */
    if (seq == 0 || seq > hb->seq || hb->seq - seq >= (uint64_t)hb->nsent - 1)
        return 0;
    sent = hb->sent_us[seq % hb->nsent];
    /* an echo of a ping sent before the engine (re)registered proves
     * nothing newer than its registration: keep the later time */
    if (sent > b->last_us) {
        b->gap_us = sent - b->last_us;
        b->last_us = sent;
        b->ex_us = 0;
    }
    if (seq > b->last_seq) {
        b->last_seq = seq;
        b->ex_pings = 0;
        b->slow = 0;
    }
    if (b->suspect && hb->seq - b->last_seq <= 1) {
        /* it answers one of the last two pings again: no longer suspect */
        b->suspect = 0;
        return 2;
    }
    return 1;
}

int zpar__heartbeat_is_closed (const zpar_heartbeat_t *hb, zpar_eid_t eid, uint64_t *silent_us,
                               uint64_t now_us)
{
    const beat_t *b;
    if (!hb || eid.v == 0 || eid.v >= hb->nbeats || !hb->beats[eid.v].watched)
        return 0;
    b = &hb->beats[eid.v];
    if (silent_us)
        *silent_us = now_us > b->last_us ? now_us - b->last_us : 0;
    return b->closed != 0;
}

uint64_t zpar__heartbeat_gap_us (const zpar_heartbeat_t *hb, zpar_eid_t eid)
{
    if (!hb || eid.v == 0 || eid.v >= hb->nbeats)
        return 0;
    return hb->beats[eid.v].gap_us;
}

static int by_relay (const void *a, const void *b)
{
    const relay_mark_t *x = a, *y = b;
    return memcmp (x->via, y->via, ZPAR_RELAY_ID_LEN);
}

/* Whether most of the engines are silent together.  The engines behind
 * one relay count as one: a lost relay silences all of its engines, and
 * that is the relay's loss (doc/protocol.md, "Relays"), not a silence of
 * this machine or its network; a relay is silent when all of its engines
 * are.  *silent_engines: how many engines are silent. */
static int collective_silence (zpar_heartbeat_t *hb, uint64_t now_us, uint64_t suspect_after,
                               uint32_t *silent_engines)
{
    uint32_t units = 0, silent_units = 0, nrel = 0;
    *silent_engines = 0;
    for (uint32_t i = 1; i < hb->nbeats; i++) {
        const beat_t *b = &hb->beats[i];
        int silent;
        if (!b->watched)
            continue;
        silent =
            now_us > b->last_us && now_us - b->last_us > suspect_after && hb->seq > b->last_seq;
        *silent_engines += (uint32_t)silent;
        if (!zpar__route_relayed (&b->route)) {
            units++;
            silent_units += (uint32_t)silent;
            continue;
        }
        if (nrel >= hb->nrelays) {
            uint32_t n = hb->nrelays ? 2 * hb->nrelays : 64;
            relay_mark_t *g = realloc (hb->relays, n * sizeof (*g));
            if (!g) {
                units++; /* out of memory: counted alone */
                silent_units += (uint32_t)silent;
                continue;
            }
            hb->relays = g;
            hb->nrelays = n;
        }
        hb->relays[nrel].via = b->route.via;
        hb->relays[nrel].engine = i;
        hb->relays[nrel++].silent = (uint8_t)silent;
    }
    if (nrel)
        qsort (hb->relays, nrel, sizeof (*hb->relays), by_relay);
    for (uint32_t k = 0; k < nrel;) {
        int all = 1;
        uint32_t j = k;
        for (; j < nrel && !memcmp (hb->relays[j].via, hb->relays[k].via, ZPAR_RELAY_ID_LEN); j++)
            all &= hb->relays[j].silent;
        /* the relay's path works when one of its engines answers: a
         * silent engine behind it is then the engine's own matter */
        for (uint32_t x = k; x < j; x++)
            hb->beats[hb->relays[x].engine].relay_ok = (uint8_t)!all;
        units++;
        silent_units += (uint32_t)all;
        k = j;
    }
    return silent_units >= ZPAR_HEARTBEAT_COLLECTIVE_MIN && silent_units * 2 > units;
}

/* alive() for pid, asked once per check for the first ALIVE_CACHE
 * processes (hb->asked is emptied at each check) */
static int process_runs (zpar_heartbeat_t *hb, uint32_t pid)
{
    int runs;
    for (unsigned k = 0; k < hb->nasked; k++)
        if (hb->asked[k].pid == pid)
            return hb->asked[k].runs;
    runs = hb->alive (hb->alive_arg, pid);
    if (hb->nasked < ALIVE_CACHE) {
        hb->asked[hb->nasked].pid = pid;
        hb->asked[hb->nasked++].runs = runs;
    }
    return runs;
}

int zpar__heartbeat_check (zpar_heartbeat_t *hb, uint64_t now_us, zpar_heartbeat_event_f cb,
                           void *arg)
{
    uint64_t limit, suspect_after;
    uint32_t silent_n = 0;
    int dead = 0, collective;
    if (!hb) {
        errno = EINVAL;
        return -1;
    }
    limit = (uint64_t)hb->period_ms * 1000u * (uint64_t)hb->misses + (uint64_t)hb->period_ms * 500u;
    suspect_after = (uint64_t)hb->period_ms * 1500u;
    /* how many are silent: when most of them are, together, the cause is
     * more likely ours (this machine, our network) than theirs */
    collective = collective_silence (hb, now_us, suspect_after, &silent_n);
    hb->collective = collective ? silent_n : 0;
    /* a collective silence is excused: the time and the pings since the
     * last check do not count against the silent engines, so that once
     * it is over, they are judged on their silence after it */
    if (!collective && hb->collective_prev) {
        /* it just ended: those still silent start afresh from now */
        for (uint32_t i = 1; i < hb->nbeats; i++) {
            beat_t *b = &hb->beats[i];
            if (!b->watched || now_us <= b->last_us)
                continue;
            b->ex_us = now_us - b->last_us;
            b->ex_pings = hb->seq - b->last_seq;
        }
    }
    hb->collective_prev = collective;
    if (collective && hb->check_us && now_us > hb->check_us) {
        for (uint32_t i = 1; i < hb->nbeats; i++) {
            beat_t *b = &hb->beats[i];
            if (!b->watched || now_us <= b->last_us || now_us - b->last_us <= suspect_after ||
                hb->seq <= b->last_seq)
                continue;
            b->ex_us += now_us - hb->check_us;
            if (b->ex_us > now_us - b->last_us)
                b->ex_us = now_us - b->last_us;
            b->ex_pings += hb->seq - hb->check_seq;
            if (b->ex_pings > hb->seq - b->last_seq)
                b->ex_pings = hb->seq - b->last_seq;
        }
    }
    hb->check_us = now_us;
    hb->check_seq = hb->seq;
    hb->nasked = 0;
    /* nbeats is read each round: cb may watch a new engine */
    for (uint32_t i = 1; i < hb->nbeats; i++) {
        beat_t *b = &hb->beats[i];
        uint64_t silent, missed;
        if (!b->watched)
            continue;
        silent = now_us > b->last_us ? now_us - b->last_us : 0;
        missed = hb->seq - b->last_seq;
        if (b->closed == 1) {
            /* the kernel says its connection closed, and no pong came on
             * another since: reported once; the engine stays watched (the
             * owner decides whether the process is gone) */
            b->closed = 2;
            if (cb)
                cb (arg, zpar__eid (i), ZPAR_HEARTBEAT_CLOSED, silent, missed);
        }
        if (now_us <= b->last_us)
            continue;
        /* dead: silent for the time limit AND no echo of the last misses
         * pings sent, not counting what is excused (our own lateness, a
         * collective silence) -- a hub that could not send pings
         * (stalled, starved of CPU) never declares an engine dead for its
         * own silence; or silent for ZPAR_HEARTBEAT_COLLECTIVE_FACTOR
         * times the limit whatever the excuses */
        if ((silent - b->ex_us > limit && missed - b->ex_pings >= (uint64_t)hb->misses &&
             !collective) ||
            (silent > limit * ZPAR_HEARTBEAT_COLLECTIVE_FACTOR && missed >= (uint64_t)hb->misses)) {
            /* an engine of this host whose process the kernel says is
             * there and running is slow, not dead: up to the long bound;
             * behind a relay, only while another engine of that relay
             * answers (its path works: a start storm starved this one);
             * when all of a relay's engines are silent, the relay or its
             * node is lost, whatever its processes do */
            if (silent <= limit * ZPAR_HEARTBEAT_COLLECTIVE_FACTOR && b->pid && hb->alive &&
                (!zpar__route_relayed (&b->route) || b->relay_ok) && process_runs (hb, b->pid)) {
                if (!b->slow && cb)
                    cb (arg, zpar__eid (i), ZPAR_HEARTBEAT_SLOW, silent, missed);
                b->slow = 1;
                continue;
            }
            b->watched = 0;
            b->suspect = 0;
            dead++;
            if (cb)
                cb (arg, zpar__eid (i), ZPAR_HEARTBEAT_DEAD, silent, missed);
        } else if (!b->suspect && silent > suspect_after && missed >= 1) {
            /* suspect: the ping before the last went unanswered */
            b->suspect = 1;
            if (cb)
                cb (arg, zpar__eid (i), ZPAR_HEARTBEAT_SUSPECT, silent, missed);
        }
    }
    return dead;
}

uint32_t zpar__heartbeat_collective (const zpar_heartbeat_t *hb)
{
    return hb ? hb->collective : 0;
}

int zpar__heartbeat_pong_fd (zpar_heartbeat_t *hb, zpar_eid_t eid, int fd)
{
    if (bad_engine (hb, eid))
        return -1;
    if (eid.v < hb->nbeats && hb->beats[eid.v].watched) {
        hb->beats[eid.v].fd = fd;
        hb->beats[eid.v].closed = 0;
    }
    return 0;
}

int zpar__heartbeat_closed (zpar_heartbeat_t *hb, int fd)
{
    int n = 0;
    if (!hb || fd < 0)
        return 0;
    for (uint32_t i = 1; i < hb->nbeats; i++) {
        beat_t *b = &hb->beats[i];
        /* not for an engine behind a relay: the connection is the
         * relay's, and its engines still run their tasks until their
         * fence (HB_MISSES - 1/2 periods): only their silence makes it
         * safe to run those tasks elsewhere (doc/protocol.md, "Relays") */
        if (b->watched && b->fd == fd && !zpar__route_relayed (&b->route)) {
            b->closed = 1;
            b->fd = -1;
            n++;
        }
    }
    return n;
}

typedef struct {
    zpar_heartbeat_dead_f cb;
    void *arg;
} expire_arg_t;

static void expire_one (void *arg, zpar_eid_t engine, zpar_heartbeat_event_t ev, uint64_t silent_us,
                        uint64_t missed)
{
    expire_arg_t *x = arg;
    (void)silent_us, (void)missed;
    if (ev == ZPAR_HEARTBEAT_DEAD && x->cb)
        x->cb (x->arg, engine);
}

int zpar__heartbeat_expire (zpar_heartbeat_t *hb, uint64_t now_us, zpar_heartbeat_dead_f cb,
                            void *arg)
{
    expire_arg_t x = {cb, arg};
    return zpar__heartbeat_check (hb, now_us, expire_one, &x);
}

void zpar__heartbeat_excuse (zpar_heartbeat_t *hb, uint64_t late_us, uint64_t now_us)
{
    if (!hb)
        return;
    for (uint32_t i = 1; i < hb->nbeats; i++) {
        beat_t *b = &hb->beats[i];
        if (!b->watched)
            continue;
        if (now_us > b->last_us)
            b->ex_us =
                b->ex_us + late_us < now_us - b->last_us ? b->ex_us + late_us : now_us - b->last_us;
    }
}

int zpar__heartbeat_set_pid (zpar_heartbeat_t *hb, zpar_eid_t eid, uint32_t pid)
{
    if (bad_engine (hb, eid) || eid.v >= hb->nbeats || !hb->beats[eid.v].watched) {
        errno = EINVAL;
        return -1;
    }
    hb->beats[eid.v].pid = pid;
    return 0;
}

void zpar__heartbeat_set_alive (zpar_heartbeat_t *hb, zpar_heartbeat_alive_f alive, void *arg)
{
    if (hb) {
        hb->alive = alive;
        hb->alive_arg = arg;
    }
}

void zpar__heartbeat_set_nudge (zpar_heartbeat_t *hb, int on)
{
    if (hb)
        hb->nudge_off = !on;
}

int zpar__heartbeat_nudge_due (zpar_heartbeat_t *hb, const void *ident, size_t len, uint64_t now_us)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t hash;
    size_t slot;
    if (!hb || (!ident && len))
        return 0;
    crypto_shorthash (h, ident, len, (const unsigned char *)hb->nudge_key);
    memcpy (&hash, h, sizeof (hash));
    hash |= 1; /* 0 marks an empty slot */
    slot = (size_t)(hash % ZPAR_HEARTBEAT_NUDGE_SLOTS);
    if (hb->nudges[slot].hash == hash &&
        now_us - hb->nudges[slot].last_us < (uint64_t)hb->period_ms * 1000u)
        return 0;
    hb->nudges[slot].hash = hash;
    hb->nudges[slot].last_us = now_us;
    return 1;
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
    return zpar__sock_send (sock, buf, sizeof (buf), ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

/* The engine whose routing identity (set by zpar__heartbeat_set_route)
 * data is; 0 if none: an identity nobody was given by the registrar. */
static zpar_eid_t parse_ident (const zpar_heartbeat_t *hb, const void *data, size_t len,
                               const void *via)
{
    zpar_eid_t eid = zpar__route_engine (data, len);
    const beat_t *b;
    if (eid.v == 0 || eid.v >= hb->nbeats)
        return zpar__eid (0);
    b = &hb->beats[eid.v];
    if (!b->routed || sodium_memcmp (b->route.b, data, ZPAR_ROUTE_LEN) != 0)
        return zpar__eid (0);
    /* an engine behind a relay counts only through that relay (route.h) */
    if (via ? !zpar__route_relayed (&b->route) ||
                  sodium_memcmp (b->route.via, via, ZPAR_RELAY_ID_LEN) != 0
            : zpar__route_relayed (&b->route))
        return zpar__eid (0);
    return eid;
}

int zpar__heartbeat_recv_pongs (zpar_heartbeat_t *hb, void *sock, int max, uint64_t now_us,
                                zpar_heartbeat_event_f cb, void *arg, zpar_heartbeat_pongs_t *st)
{
    int bad = 0;
    zpar_zrouter_t *z = zpar__zrouter_of (sock); /* zpar's own socket, or NULL */
    if (!hb || !sock)
        return 0;
    for (int k = 0; k < max; k++) {
        zpar_frames_t f;
        zpar_eid_t eid;
        zpar_proto_ping_t p;
        const void *ident, *via = NULL;
        size_t ilen;
        int rc, at = 0;
        if (zpar__frames_recv (sock, &f, ZMQ_DONTWAIT) < 0) {
            if (errno == EPROTO) {
                bad++;
                continue;
            }
            break;
        }
        if (st)
            st->received++;
        /* through a relay: [relay id, identity, ping] */
        if (f.n == 3 && zpar__relay_id_is (zmq_msg_data (&f.part[0]), zmq_msg_size (&f.part[0]))) {
            via = zmq_msg_data (&f.part[0]);
            at = 1;
        }
        if (f.n != 2 + at ||
            zpar__proto_ping_decode (zmq_msg_data (&f.part[at + 1]), zmq_msg_size (&f.part[at + 1]),
                                     &p, NULL) < 0) {
            bad++;
            zpar__frames_close (&f);
            continue;
        }
        ident = zmq_msg_data (&f.part[at]);
        ilen = zmq_msg_size (&f.part[at]);
        eid = parse_ident (hb, ident, ilen, via);
        if (!eid.v || !hb->beats[eid.v].watched || p.session != hb->session) {
            /* an engine we do not count (declared dead, never registered
             * here, or echoing another controller's pings): tell it to
             * register again, once a period at most */
            if (st)
                st->uncounted++;
            if (!hb->nudge_off && zpar__heartbeat_nudge_due (hb, ident, ilen, now_us) &&
                (!via || zpar__sock_send (sock, via, ZPAR_RELAY_ID_LEN,
                                          ZMQ_SNDMORE | ZMQ_DONTWAIT) == ZPAR_RELAY_ID_LEN) &&
                zpar__sock_send (sock, ident, ilen, ZMQ_SNDMORE | ZMQ_DONTWAIT) == (int)ilen &&
                zpar__sock_send (sock, ZPAR_HB_RREG, ZPAR_HB_RREG_LEN, ZMQ_DONTWAIT) ==
                    ZPAR_HB_RREG_LEN &&
                st)
                st->nudged++;
        } else {
            int fd = z ? zpar__zrouter_last_src (z) : zmq_msg_get (&f.part[at + 1], ZMQ_SRCFD);
            if ((rc = zpar__heartbeat_pong (hb, eid, p.seq)) == 2 && cb)
                cb (arg, eid, ZPAR_HEARTBEAT_REVIVED, zpar__heartbeat_gap_us (hb, eid), 0);
            /* the connection it came on (libzmq's TCP: its fd; zpar's
             * own socket: its number), for the kernel's word when it
             * closes */
            if (rc > 0 && fd >= 0)
                (void)zpar__heartbeat_pong_fd (hb, eid, fd);
        }
        zpar__frames_close (&f);
    }
    if (st)
        st->dropped += (uint64_t)bad;
    return bad;
}
