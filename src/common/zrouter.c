/* zrouter.c - a ROUTER, PUB or XSUB socket that does its own TCP I/O (see
 * zrouter.h).
 *
 * One epoll descriptor holds the listening socket, an eventfd and every
 * connection.  Connections are edge-triggered: an event puts a connection
 * on the list of those to read, and it leaves the list when a read comes
 * back short (the kernel had no more) or the connection ends; while the
 * receive queue is full the list waits.  The eventfd is the owner's
 * level-triggered "look again": it is set while messages wait in the queue,
 * or connections wait to be read and there is room, so a reactor polling
 * the epoll descriptor calls back until both are done.
 *
 * Input is read into one shared buffer and parsed from there by the
 * connection's stream (zmtp_in.h) straight into the frames of the message
 * being received; a connection holds only what is incomplete.  Output is
 * staged per message and written at once; only what the kernel does not
 * take is copied into the connection's buffer, freed when written.  A PUB
 * or an XSUB writes the staged message to every connection it goes to.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "idmap.h"
#include "netlimit.h"
#include "zmtp.h"
#include "zmtp_in.h"
#include "zrouter.h"

#define RBUF_SIZE   65536
#define READ_BUDGET RBUF_SIZE /* bytes read from one connection per turn */
#define EVENTS      64

typedef zpar_zmtp_inmsg_t inmsg_t;

/* A prefix subscribed to, counted (a PUB's peer's, an XSUB's own). */
typedef struct {
    uint32_t count;
    uint8_t len;
    unsigned char t[];
} sub_t;

#define CLOSED_MAX 65536

typedef struct conn {
    int fd;
    int dead;
    int pending; /* on the list of connections to read */
    int hup;     /* the peer ended its stream (or the connection failed) */
    int open;    /* its READY was taken */
    int src;     /* its number (zpar__zrouter_last_src) */
    struct conn *pnext, *dnext;
    struct conn *anext, *aprev; /* every open connection */
    zpar_zmtp_in_t in;          /* input: the peer's stream */
    zpar_zrouter_t *z;
    /* the routing identity */
    uint64_t key;
    size_t idlen;
    unsigned char id[ZPAR_ZMTP_IDENTITY_MAX];
    /* output the kernel did not take yet */
    unsigned char *out;
    size_t olen, ooff;
    /* a PUB's peer: what it subscribed to (all: everything) */
    sub_t **subs;
    int nsubs, all;
} conn_t;

struct zpar_zrouter {
    zpar_zrouter_mode_t mode;
    int ep, lfd, efd;
    int signalled;
    int mandatory;
    int accept_again; /* accept failed (out of descriptors): try each turn */
    uint64_t maxmsg;
    zpar_idmap_t *ids; /* keyed hash of an identity -> conn */
    unsigned char hkey[crypto_shorthash_KEYBYTES];
    uint32_t next_id;
    conn_t *all;     /* every open connection */
    conn_t *pending; /* connections to read */
    conn_t *dead;    /* closed, freed at the end of zpar__zrouter_io */
    inmsg_t *qhead, *qtail;
    uint64_t queued;
    /* the message being sent */
    int sending; /* 0: none, 1: to `to', 2: dropped */
    conn_t *to;
    unsigned char *stage;
    size_t slen, scap;
    size_t topic_at, topic_len; /* PUB: the first frame in the stage */
    /* XSUB: the subscriptions sent, for the peers that connect later */
    sub_t **xsubs;
    int nxsubs;
    /* the connections' numbers, and those closed (track_closed) */
    int next_src, last_src;
    int track_closed;
    int *closed;
    size_t nclosed, closed_cap, closed_head;
    unsigned char rbuf[RBUF_SIZE];
    zpar_zrouter_stats_t st;
};

/* ------------------------------------------------------------ registry */

#define REG_MAX 16
static void *registry[REG_MAX];
static int registered;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;

static int reg_add (zpar_zrouter_t *z)
{
    int rc = -1;
    pthread_mutex_lock (&reg_lock);
    for (int i = 0; i < REG_MAX; i++)
        if (!__atomic_load_n (&registry[i], __ATOMIC_ACQUIRE)) {
            __atomic_store_n (&registry[i], z, __ATOMIC_RELEASE);
            __atomic_add_fetch (&registered, 1, __ATOMIC_ACQ_REL);
            rc = 0;
            break;
        }
    pthread_mutex_unlock (&reg_lock);
    return rc;
}

static void reg_del (zpar_zrouter_t *z)
{
    pthread_mutex_lock (&reg_lock);
    for (int i = 0; i < REG_MAX; i++)
        if (__atomic_load_n (&registry[i], __ATOMIC_ACQUIRE) == z) {
            __atomic_store_n (&registry[i], NULL, __ATOMIC_RELEASE);
            __atomic_sub_fetch (&registered, 1, __ATOMIC_ACQ_REL);
        }
    pthread_mutex_unlock (&reg_lock);
}

zpar_zrouter_t *zpar__zrouter_of (const void *sock)
{
    if (!sock || __atomic_load_n (&registered, __ATOMIC_ACQUIRE) == 0)
        return NULL;
    for (int i = 0; i < REG_MAX; i++)
        if (__atomic_load_n (&registry[i], __ATOMIC_ACQUIRE) == sock)
            return (zpar_zrouter_t *)sock;
    return NULL;
}

/* ------------------------------------------------------------ helpers */

static void signal_set (zpar_zrouter_t *z, int on)
{
    uint64_t v = 1;
    if (on == z->signalled)
        return;
    if (on)
        (void)!write (z->efd, &v, sizeof (v));
    else
        (void)!read (z->efd, &v, sizeof (v));
    z->signalled = on;
}

/* the eventfd is set while the owner has something to do */
static void signal_update (zpar_zrouter_t *z)
{
    signal_set (z, z->qhead != NULL || (z->pending && z->queued < ZPAR_ZROUTER_QUEUE));
}

static uint64_t id_key (const zpar_zrouter_t *z, const void *id, size_t len)
{
    unsigned char h[crypto_shorthash_BYTES];
    uint64_t k;
    crypto_shorthash (h, id, len, z->hkey);
    memcpy (&k, h, sizeof (k));
    return k ? k : 1;
}

static conn_t *lookup (const zpar_zrouter_t *z, const void *id, size_t len)
{
    conn_t *c;
    if (len == 0 || len > ZPAR_ZMTP_IDENTITY_MAX)
        return NULL;
    c = zpar__idmap_get (z->ids, id_key (z, id, len));
    return c && c->idlen == len && memcmp (c->id, id, len) == 0 ? c : NULL;
}

/* Remember that connection src closed (a ring: the oldest is forgotten
 * past CLOSED_MAX). */
static void closed_push (zpar_zrouter_t *z, int src)
{
    if (z->nclosed == z->closed_cap) {
        size_t cap = z->closed_cap ? z->closed_cap * 2 : 64;
        int *n;
        if (z->closed_cap >= CLOSED_MAX || !(n = malloc (cap * sizeof (*n)))) {
            if (!z->closed_cap)
                return;
            /* full: forget the oldest */
            z->closed_head = (z->closed_head + 1) % z->closed_cap;
            z->nclosed--;
        } else {
            for (size_t i = 0; i < z->nclosed; i++)
                n[i] = z->closed[(z->closed_head + i) % z->closed_cap];
            free (z->closed);
            z->closed = n;
            z->closed_cap = cap;
            z->closed_head = 0;
        }
    }
    z->closed[(z->closed_head + z->nclosed) % z->closed_cap] = src;
    z->nclosed++;
}

/* The index of prefix t (len bytes) in subs[0..n), or -1. */
static int sub_find (sub_t *const *subs, int n, const unsigned char *t, size_t len)
{
    for (int i = 0; i < n; i++)
        if (subs[i]->len == len && memcmp (subs[i]->t, t, len) == 0)
            return i;
    return -1;
}

/* Count one more subscription to t in *subs (at most max prefixes): 1 when
 * it is new, 0 when counted again, -1 when there is no room (or memory). */
static int sub_add (sub_t ***subs, int *n, int max, const unsigned char *t, size_t len)
{
    int i = sub_find (*subs, *n, t, len);
    sub_t **ns, *e;
    if (i >= 0) {
        (*subs)[i]->count++;
        return 0;
    }
    if (*n >= max || len > ZPAR_ZROUTER_TOPIC)
        return -1;
    if (!(ns = realloc (*subs, (size_t)(*n + 1) * sizeof (*ns))))
        return -1;
    *subs = ns;
    if (!(e = malloc (sizeof (*e) + len)))
        return -1;
    e->count = 1;
    e->len = (uint8_t)len;
    memcpy (e->t, t, len);
    ns[(*n)++] = e;
    return 1;
}

/* Count one subscription to t less: 1 when that was its last, else 0. */
static int sub_del (sub_t **subs, int *n, const unsigned char *t, size_t len)
{
    int i = sub_find (subs, *n, t, len);
    if (i < 0 || --subs[i]->count > 0)
        return 0;
    free (subs[i]);
    subs[i] = subs[--*n];
    return 1;
}

/* Close c now (no more events for it); freed at the end of the next
 * zpar__zrouter_io, when no event of this turn can name it. */
static void conn_kill (zpar_zrouter_t *z, conn_t *c)
{
    if (c->dead)
        return;
    c->dead = 1;
    if (c->aprev)
        c->aprev->anext = c->anext;
    else
        z->all = c->anext;
    if (c->anext)
        c->anext->aprev = c->aprev;
    if (c->key && zpar__idmap_get (z->ids, c->key) == c) {
        (void)zpar__idmap_del (z->ids, c->key);
        z->st.peers--;
    }
    c->key = 0;
    if (c->open) {
        if (z->mode != ZPAR_ZROUTER_ROUTER)
            z->st.peers--;
        if (z->track_closed)
            closed_push (z, c->src);
        c->open = 0;
    }
    close (c->fd);
    c->fd = -1;
    z->st.out_pending -= c->olen - c->ooff;
    free (c->out);
    c->out = NULL;
    c->olen = c->ooff = 0;
    if (z->sending == 1 && z->to == c) /* the rest of that message is dropped */
        z->sending = 2;
    c->dnext = z->dead;
    z->dead = c;
    signal_set (z, 1); /* to be freed soon */
}

static void conn_free (conn_t *c)
{
    zpar__zmtp_in_fini (&c->in);
    for (int i = 0; i < c->nsubs; i++)
        free (c->subs[i]);
    free (c->subs);
    free (c);
}

/* Write from p (len bytes) to c until the kernel takes no more: the bytes
 * written, or -1 when the connection failed (killed). */
static ssize_t send_some (zpar_zrouter_t *z, conn_t *c, const unsigned char *p, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = send (c->fd, p + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w <= 0) {
            z->st.closed++;
            conn_kill (z, c);
            return -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)done;
}

/* Write what c has waiting; 0, or -1 when the connection failed (killed). */
static int conn_flush (zpar_zrouter_t *z, conn_t *c)
{
    ssize_t w = send_some (z, c, c->out + c->ooff, c->olen - c->ooff);
    if (w < 0)
        return -1;
    c->ooff += (size_t)w;
    z->st.out_pending -= (uint64_t)w;
    if (c->ooff < c->olen)
        return 0;
    free (c->out);
    c->out = NULL;
    c->olen = c->ooff = 0;
    return 0;
}

/* Queue len bytes for c, written at once when nothing waits before them. */
static int conn_out (zpar_zrouter_t *z, conn_t *c, const unsigned char *p, size_t len)
{
    unsigned char *o;
    if (c->dead)
        return 0;
    if (c->olen == c->ooff) {
        ssize_t w = send_some (z, c, p, len);
        if (w < 0 || (size_t)w == len)
            return 0; /* a failed connection loses the message, as with libzmq */
        p += w;
        len -= (size_t)w;
    }
    /* the rest waits for EPOLLOUT, after what already waits; what was
     * written is given back once it is half the buffer (a peer that reads
     * slowly and never catches up does not keep it all) */
    if (c->ooff > 0 && c->ooff >= c->olen / 2) {
        memmove (c->out, c->out + c->ooff, c->olen - c->ooff);
        c->olen -= c->ooff;
        c->ooff = 0;
    }
    if (!(o = realloc (c->out, c->olen + len))) {
        errno = ENOMEM;
        return -1;
    }
    memcpy (o + c->olen, p, len);
    c->out = o;
    c->olen += len;
    z->st.out_pending += len;
    return 0;
}

/* ------------------------------------------------------------ input */

static int new_identity (zpar_zrouter_t *z, conn_t *c, const unsigned char *id, size_t len)
{
    unsigned char gen[5];
    if (len == 0) {
        /* libzmq's form: a zero byte, then a 32-bit counter */
        do {
            uint32_t v = z->next_id++;
            gen[0] = 0;
            gen[1] = v >> 24;
            gen[2] = v >> 16;
            gen[3] = v >> 8;
            gen[4] = v;
        } while (lookup (z, gen, sizeof (gen)) ||
                 zpar__idmap_get (z->ids, id_key (z, gen, sizeof (gen))));
        id = gen;
        len = sizeof (gen);
    }
    c->key = id_key (z, id, len);
    /* taken (by that identity, or by one of the same keyed hash): refused */
    if (zpar__idmap_get (z->ids, c->key) || zpar__idmap_put (z->ids, c->key, c) < 0) {
        c->key = 0;
        return -1;
    }
    memcpy (c->id, id, len);
    c->idlen = len;
    z->st.peers++;
    return 0;
}

/* the stream's callbacks (zmtp_in.h); arg: the connection */

/* A frame of one part (a subscription) for c, after what waits. */
static int sub_out (zpar_zrouter_t *z, conn_t *c, int on, const unsigned char *t, size_t len)
{
    unsigned char f[ZPAR_ZMTP_HEADER_MAX + 1 + ZPAR_ZROUTER_TOPIC];
    size_t h = zpar__zmtp_header_encode (f, 0, len + 1);
    f[h] = on ? 1 : 0;
    memcpy (f + h + 1, t, len);
    return conn_out (z, c, f, h + 1 + len);
}

static int in_ready (void *arg, const struct zpar__zmtp_ready *r, const unsigned char **id,
                     size_t *idlen)
{
    conn_t *c = arg;
    zpar_zrouter_t *z = c->z;
    if (z->mode == ZPAR_ZROUTER_ROUTER) {
        if (new_identity (z, c, r->identity, r->identity_len) < 0)
            return -1;
    } else {
        /* no routing: a placeholder the stream puts first in a message */
        c->id[0] = 0;
        c->idlen = 1;
        z->st.peers++;
    }
    c->open = 1;
    /* an XSUB's subscriptions so far, for a peer that came after them */
    for (int i = 0; z->mode == ZPAR_ZROUTER_XSUB && i < z->nxsubs; i++)
        if (sub_out (z, c, 1, z->xsubs[i]->t, z->xsubs[i]->len) < 0 || c->dead)
            return -1;
    *id = c->id;
    *idlen = c->idlen;
    return 0;
}

static int in_send (void *arg, const unsigned char *frame, size_t len)
{
    conn_t *c = arg;
    /* a PONG that failed to go closed the connection: the stream ends */
    return conn_out (c->z, c, frame, len) < 0 || c->dead ? -1 : 0;
}

/* A PUB's peer's message: a subscription (one frame, 1 or 0 then the
 * prefix), or nothing a PUB takes (dropped, as libzmq's PUB does). */
static void pub_subscription (conn_t *c, inmsg_t *m)
{
    const unsigned char *d;
    size_t len;
    if (m->n != 2 || m->overflow || zmq_msg_size (&m->part[1]) < 1)
        return;
    d = zmq_msg_data (&m->part[1]);
    len = zmq_msg_size (&m->part[1]) - 1;
    if (d[0] == 1 && !c->all && sub_add (&c->subs, &c->nsubs, ZPAR_ZROUTER_SUBS, d + 1, len) < 0)
        c->all = 1; /* no room: everything (its SUB filters) */
    else if (d[0] == 0)
        (void)sub_del (c->subs, &c->nsubs, d + 1, len);
}

static void in_message (void *arg, inmsg_t *m)
{
    conn_t *c = arg;
    zpar_zrouter_t *z = c->z;
    if (z->mode == ZPAR_ZROUTER_PUB) {
        pub_subscription (c, m);
        zpar__zmtp_inmsg_free (m);
        return;
    }
    m->src = c->src;
    m->next = NULL;
    if (z->qtail)
        z->qtail->next = m;
    else
        z->qhead = m;
    z->qtail = m;
    z->queued++;
}

static const char *const pub_peers[] = {"SUB", "XSUB", NULL};
static const char *const xsub_peers[] = {"PUB", "XPUB", NULL};
static const zpar_zmtp_in_ops_t in_ops[] = {
    [ZPAR_ZROUTER_ROUTER] = {in_ready, in_send, in_message, NULL},
    [ZPAR_ZROUTER_PUB] = {in_ready, in_send, in_message, pub_peers},
    [ZPAR_ZROUTER_XSUB] = {in_ready, in_send, in_message, xsub_peers},
};
static const char *const own_type[] = {
    [ZPAR_ZROUTER_ROUTER] = "ROUTER",
    [ZPAR_ZROUTER_PUB] = "PUB",
    [ZPAR_ZROUTER_XSUB] = "XSUB",
};

/* Parse len bytes read from c.  -1: the connection must close. */
static int parse (zpar_zrouter_t *z, conn_t *c, const unsigned char *p, size_t len)
{
    if (zpar__zmtp_in_feed (&c->in, p, len) == 0)
        return 0;
    switch (zpar__zmtp_in_error (&c->in)) {
    case ZPAR_ZMTP_IN_REFUSED:
        z->st.refused++;
        break;
    case ZPAR_ZMTP_IN_OVERSIZED:
        z->st.oversized++;
        break;
    default:
        break;
    }
    return -1;
}

/* Read c, at most READ_BUDGET bytes: 1 when it may have more (stays on the
 * list), 0 when the kernel had no more, -1 when it closed. */
static int conn_read (zpar_zrouter_t *z, conn_t *c)
{
    size_t got = 0;
    while (got < READ_BUDGET && z->queued < ZPAR_ZROUTER_QUEUE) {
        ssize_t r = recv (c->fd, z->rbuf, sizeof (z->rbuf), MSG_DONTWAIT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (r <= 0) {
            z->st.closed++;
            conn_kill (z, c);
            return -1;
        }
        if (parse (z, c, z->rbuf, (size_t)r) < 0 || c->dead) {
            if (!c->dead)
                z->st.closed++;
            conn_kill (z, c);
            return -1;
        }
        got += (size_t)r;
        /* a short read emptied the socket: the next data is a new edge;
         * but the end of the stream, when its edge came with the data,
         * comes as no new edge: read on until recv says 0 */
        if ((size_t)r < sizeof (z->rbuf) && !c->hup)
            return 0;
    }
    return 1;
}

static void accept_all (zpar_zrouter_t *z)
{
    for (;;) {
        unsigned char hello[ZPAR_ZMTP_GREETING_SIZE + 64];
        size_t n;
        int one = 1;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET};
        conn_t *c;
        int fd = accept4 (z->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            /* out of descriptors: the backlog waits, and is asked again
             * at the next turn (no new edge comes for it) */
            z->accept_again = errno != EAGAIN && errno != EWOULDBLOCK;
            return;
        }
        if (!(c = calloc (1, sizeof (*c)))) {
            close (fd);
            continue;
        }
        c->fd = fd;
        c->z = z;
        c->src = z->next_src;
        z->next_src = z->next_src == INT32_MAX ? 1 : z->next_src + 1;
        zpar__zmtp_in_init (&c->in, z->maxmsg, &in_ops[z->mode], c);
        c->anext = z->all;
        if (z->all)
            z->all->aprev = c;
        z->all = c;
        (void)setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
        ev.data.ptr = c;
        if (epoll_ctl (z->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            conn_kill (z, c);
            continue;
        }
        z->st.accepted++;
        /* our greeting and READY at once: the peer sends its own meanwhile */
        zpar__zmtp_greeting (hello);
        n = ZPAR_ZMTP_GREETING_SIZE;
        n += zpar__zmtp_ready_encode (hello + n, sizeof (hello) - n, own_type[z->mode]);
        (void)conn_out (z, c, hello, n);
    }
}

static void pending_add (zpar_zrouter_t *z, conn_t *c)
{
    if (c->pending || c->dead)
        return;
    c->pending = 1;
    c->pnext = z->pending;
    z->pending = c;
}

int zpar__zrouter_io (zpar_zrouter_t *z)
{
    struct epoll_event ev[EVENTS];
    int n, turns = 0;

    if (!z)
        return 0;
    if (z->accept_again)
        accept_all (z);
    conn_t **pp;

    do {
        if ((n = epoll_wait (z->ep, ev, EVENTS, 0)) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (int i = 0; i < n; i++) {
            conn_t *c = ev[i].data.ptr;
            if (c == NULL)
                accept_all (z);
            else if (c == (conn_t *)z)
                ; /* the eventfd: looked at below */
            else if (!c->dead) {
                if ((ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && c->olen > c->ooff &&
                    conn_flush (z, c) < 0)
                    continue;
                if (ev[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    c->hup = 1;
                if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    pending_add (z, c);
            }
        }
    } while (n == EVENTS && ++turns < 16);

    /* read the connections that have input, while there is room, one
     * buffer each per turn: those the full queue left unread come first
     * next turn, then those that had more (no peer starves the others) */
    {
        conn_t *list = z->pending, *keep = NULL, **kt = &keep, *again = NULL, **at = &again;
        z->pending = NULL;
        while (list) {
            conn_t *c = list;
            list = c->pnext;
            c->pnext = NULL;
            if (c->dead) {
                c->pending = 0;
            } else if (z->queued >= ZPAR_ZROUTER_QUEUE) {
                *kt = c;
                kt = &c->pnext;
            } else if (conn_read (z, c) > 0) {
                *at = c;
                at = &c->pnext;
            } else
                c->pending = 0;
        }
        *kt = again;
        z->pending = keep;
    }
    /* free the connections closed since the last turn */
    while (z->dead) {
        conn_t *c = z->dead;
        z->dead = c->dnext;
        if (c->pending)
            for (pp = &z->pending; *pp; pp = &(*pp)->pnext)
                if (*pp == c) {
                    *pp = c->pnext;
                    break;
                }
        if (z->to == c)
            z->to = NULL;
        conn_free (c);
    }
    /* the owner receives next, then calls zpar__zrouter_done: no signal
     * for what it is about to take */
    return 0;
}

void zpar__zrouter_done (zpar_zrouter_t *z)
{
    if (z)
        signal_update (z);
}

/* ------------------------------------------------------------ API */

int zpar__zrouter_fd (const zpar_zrouter_t *z)
{
    return z ? z->ep : -1;
}

int zpar__zrouter_recv (zpar_zrouter_t *z, zmq_msg_t *part, int nmax, int *n)
{
    inmsg_t *m = z->qhead;
    int rc = 0, skip;
    *n = 0;
    if (!m) {
        errno = EAGAIN;
        return -1;
    }
    if (!(z->qhead = m->next))
        z->qtail = NULL;
    z->queued--;
    z->last_src = m->src;
    /* an XSUB's messages have no identity frame (part[0], a placeholder) */
    skip = z->mode == ZPAR_ZROUTER_ROUTER ? 0 : 1;
    if (m->overflow || m->n - skip > nmax) {
        errno = EPROTO;
        rc = -1;
    } else {
        for (int i = skip; i < m->n; i++) {
            zmq_msg_init (&part[i - skip]);
            zmq_msg_move (&part[i - skip], &m->part[i]);
        }
        *n = m->n - skip;
    }
    zpar__zmtp_inmsg_free (m);
    return rc;
}

/* Does the message staged (its first frame: topic_at, topic_len) go to
 * c, a PUB's peer? */
static int pub_matches (const zpar_zrouter_t *z, const conn_t *c)
{
    if (c->all)
        return 1;
    for (int i = 0; i < c->nsubs; i++)
        if (c->subs[i]->len <= z->topic_len &&
            memcmp (c->subs[i]->t, z->stage + z->topic_at, c->subs[i]->len) == 0)
            return 1;
    return 0;
}

/* The message staged, to every peer it goes to (PUB, XSUB). */
static int broadcast (zpar_zrouter_t *z)
{
    conn_t *c, *next;
    int rc = 0;
    for (c = z->all; c; c = next) {
        next = c->anext; /* c may close while written */
        if (!c->open || c->dead)
            continue;
        if (z->mode == ZPAR_ZROUTER_PUB) {
            if (!pub_matches (z, c))
                continue;
            if (c->olen - c->ooff >= ZPAR_ZROUTER_PUB_BACKLOG) {
                z->st.pub_dropped++;
                continue;
            }
        }
        if (conn_out (z, c, z->stage, z->slen) < 0)
            rc = -1;
    }
    return rc;
}

/* An XSUB's (un)subscription, sent: counted, and remembered for the peers
 * that connect later.  0 when it goes to the peers now, 1 when it does not
 * (a cancel of a prefix still counted; a cancel of one not remembered goes
 * on: it may be one past ZPAR_ZROUTER_XSUBS). */
static int xsub_note (zpar_zrouter_t *z, const unsigned char *d, size_t len)
{
    if (len < 1)
        return 0;
    if (d[0] == 1) {
        (void)sub_add (&z->xsubs, &z->nxsubs, ZPAR_ZROUTER_XSUBS, d + 1, len - 1);
        return 0;
    }
    if (d[0] == 0)
        return sub_find (z->xsubs, z->nxsubs, d + 1, len - 1) >= 0 &&
                       !sub_del (z->xsubs, &z->nxsubs, d + 1, len - 1)
                   ? 1
                   : 0;
    return 0;
}

int zpar__zrouter_send (zpar_zrouter_t *z, const void *data, size_t len, int more)
{
    unsigned char h[ZPAR_ZMTP_HEADER_MAX];
    size_t hlen, need;
    if (!z || (len && !data)) {
        errno = EINVAL;
        return -1;
    }
    if (z->mode != ZPAR_ZROUTER_ROUTER && z->sending == 0) { /* a new message, no identity */
        z->slen = 0;
        z->sending = 1;
        z->to = NULL;
        z->topic_len = len;
        if (z->mode == ZPAR_ZROUTER_XSUB && !more && xsub_note (z, data, len)) {
            z->sending = 0;
            return 0;
        }
    }
    if (z->sending == 0) { /* the identity frame */
        conn_t *c = lookup (z, data, len);
        if (!c || c->dead) {
            if (z->mandatory) {
                errno = EHOSTUNREACH;
                return -1;
            }
            z->sending = more ? 2 : 0;
            return 0;
        }
        z->to = more ? c : NULL;
        z->slen = 0;
        z->sending = more ? 1 : 0;
        return 0;
    }
    if (z->sending == 2) {
        if (!more)
            z->sending = 0;
        return 0;
    }
    hlen = zpar__zmtp_header_encode (h, more ? ZPAR_ZMTP_MORE : 0, len);
    need = z->slen + hlen + len;
    if (need > z->scap) {
        size_t cap = z->scap ? z->scap : 4096;
        unsigned char *s;
        while (cap < need)
            cap *= 2;
        if (!(s = realloc (z->stage, cap))) {
            z->sending = 0; /* the caller stops this message */
            errno = ENOMEM;
            return -1;
        }
        z->stage = s;
        z->scap = cap;
    }
    memcpy (z->stage + z->slen, h, hlen);
    if (len)
        memcpy (z->stage + z->slen + hlen, data, len);
    if (z->slen == 0)
        z->topic_at = hlen;
    z->slen = need;
    if (!more) {
        int rc;
        rc =
            z->mode == ZPAR_ZROUTER_ROUTER ? conn_out (z, z->to, z->stage, z->slen) : broadcast (z);
        z->sending = 0;
        z->to = NULL;
        z->slen = 0;
        if (z->scap > (1u << 20)) { /* a large message's stage is not kept */
            free (z->stage);
            z->stage = NULL;
            z->scap = 0;
        }
        return rc;
    }
    return 0;
}

int zpar__zrouter_last_src (const zpar_zrouter_t *z)
{
    return z && z->last_src > 0 ? z->last_src : -1;
}

void zpar__zrouter_track_closed (zpar_zrouter_t *z, int on)
{
    if (!z)
        return;
    z->track_closed = on;
    if (!on)
        z->nclosed = z->closed_head = 0;
}

int zpar__zrouter_closed (zpar_zrouter_t *z, int *src, int max)
{
    int n = 0;
    if (!z || z->qhead) /* a closed connection's last messages first */
        return 0;
    while (n < max && z->nclosed > 0) {
        src[n++] = z->closed[z->closed_head];
        z->closed_head = (z->closed_head + 1) % z->closed_cap;
        z->nclosed--;
    }
    return n;
}

void zpar__zrouter_stats (const zpar_zrouter_t *z, zpar_zrouter_stats_t *st)
{
    *st = z->st;
    st->queued = z->queued;
}

int zpar__sock_send (void *sock, const void *data, size_t len, int flags)
{
    zpar_zrouter_t *z = zpar__zrouter_of (sock);
    if (!z)
        return zmq_send (sock, data, len, flags);
    if (zpar__zrouter_send (z, data, len, flags & ZMQ_SNDMORE) < 0)
        return -1;
    return len > INT32_MAX ? INT32_MAX : (int)len;
}

int zpar__sock_msg_send (zmq_msg_t *m, void *sock, int flags)
{
    zpar_zrouter_t *z = zpar__zrouter_of (sock);
    size_t len;
    if (!z)
        return zmq_msg_send (m, sock, flags);
    len = zmq_msg_size (m);
    if (zpar__zrouter_send (z, zmq_msg_data (m), len, flags & ZMQ_SNDMORE) < 0)
        return -1;
    zmq_msg_close (m);
    zmq_msg_init (m);
    return len > INT32_MAX ? INT32_MAX : (int)len;
}

/* ------------------------------------------------------------ bind */

/* "tcp://HOST:PORT" into a socket address; -1 EINVAL when not taken. */
static int parse_ep (const char *ep, struct sockaddr_storage *ss, socklen_t *sl)
{
    char host[128];
    const char *h, *colon;
    long port = 0;
    size_t hl;
    memset (ss, 0, sizeof (*ss));
    if (strncmp (ep, "tcp://", 6) != 0 || !(colon = strrchr (ep + 6, ':')))
        goto inval;
    h = ep + 6;
    hl = (size_t)(colon - h);
    if (hl == 0 || hl >= sizeof (host))
        goto inval;
    if (strcmp (colon + 1, "*") != 0) {
        char *end;
        port = strtol (colon + 1, &end, 10);
        if (*end || port < 0 || port > 65535 || end == colon + 1)
            goto inval;
    }
    memcpy (host, h, hl);
    host[hl] = 0;
    if (strcmp (host, "*") == 0 || strcmp (host, "0.0.0.0") == 0) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl (INADDR_ANY);
        in->sin_port = htons ((uint16_t)port);
        *sl = sizeof (*in);
        return 0;
    }
    if (host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        host[hl - 1] = 0;
        if (inet_pton (AF_INET6, host + 1, &in6->sin6_addr) != 1)
            goto inval;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons ((uint16_t)port);
        *sl = sizeof (*in6);
        return 0;
    }
    {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        if (inet_pton (AF_INET, host, &in->sin_addr) != 1)
            goto inval; /* a name or an interface: libzmq's to resolve */
        in->sin_family = AF_INET;
        in->sin_port = htons ((uint16_t)port);
        *sl = sizeof (*in);
        return 0;
    }
inval:
    errno = EINVAL;
    return -1;
}

zpar_zrouter_t *zpar__zrouter_bind (char *ep, size_t epsize, int64_t maxmsg, int mandatory,
                                    zpar_error_t *err)
{
    return zpar__zrouter_bind_mode (ep, epsize, maxmsg, ZPAR_ZROUTER_ROUTER, mandatory, err);
}

zpar_zrouter_t *zpar__zrouter_bind_mode (char *ep, size_t epsize, int64_t maxmsg,
                                         zpar_zrouter_mode_t mode, int mandatory, zpar_error_t *err)
{
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    zpar_zrouter_t *z;
    int one = 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
    char host[INET6_ADDRSTRLEN];

    if (!ep || maxmsg <= 0 || mode < ZPAR_ZROUTER_ROUTER || mode > ZPAR_ZROUTER_XSUB ||
        parse_ep (ep, &ss, &sl) < 0) {
        zpar__errnoprintf (err, EINVAL, "%s: not an endpoint zpar binds itself", ep ? ep : "-");
        return NULL;
    }
    if (sodium_init () < 0 || !(z = calloc (1, sizeof (*z)))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    z->ep = z->lfd = z->efd = -1;
    z->maxmsg = (uint64_t)maxmsg;
    z->mode = mode;
    z->mandatory = mode == ZPAR_ZROUTER_ROUTER && mandatory;
    z->next_src = 1;
    z->last_src = -1;
    crypto_shorthash_keygen (z->hkey);
    z->next_id = randombytes_random ();
    if (!(z->ids = zpar__idmap_create ()))
        goto fail;
    if ((z->lfd = socket (ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        goto fail;
    (void)setsockopt (z->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof (one));
    if (bind (z->lfd, (struct sockaddr *)&ss, sl) < 0 || listen (z->lfd, ZPAR_LISTEN_BACKLOG) < 0 ||
        getsockname (z->lfd, (struct sockaddr *)&ss, &sl) < 0)
        goto fail;
    if ((z->ep = epoll_create1 (EPOLL_CLOEXEC)) < 0 ||
        (z->efd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        goto fail;
    ev.data.ptr = NULL;
    if (epoll_ctl (z->ep, EPOLL_CTL_ADD, z->lfd, &ev) < 0)
        goto fail;
    ev.events = EPOLLIN; /* level: the owner's "look again" */
    ev.data.ptr = z;
    if (epoll_ctl (z->ep, EPOLL_CTL_ADD, z->efd, &ev) < 0)
        goto fail;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop (AF_INET6, &in6->sin6_addr, host, sizeof (host));
        snprintf (ep, epsize, "tcp://[%s]:%u", host, ntohs (in6->sin6_port));
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop (AF_INET, &in->sin_addr, host, sizeof (host));
        snprintf (ep, epsize, "tcp://%s:%u", host, ntohs (in->sin_port));
    }
    if (reg_add (z) < 0) { /* REG_MAX zrouters in this process already */
        errno = ENOSPC;
        goto fail;
    }
    return z;
fail : {
    int e = errno == EINVAL ? EADDRNOTAVAIL : errno; /* EINVAL: not taken */
    zpar__errnoprintf (err, e, "cannot bind %s: %s", ep, strerror (e));
    zpar__zrouter_destroy (z);
    errno = e;
    return NULL;
}
}

void zpar__zrouter_destroy (zpar_zrouter_t *z)
{
    if (!z)
        return;
    reg_del (z);
    while (z->all)
        conn_kill (z, z->all);
    while (z->dead) {
        conn_t *c = z->dead;
        z->dead = c->dnext;
        conn_free (c);
    }
    while (z->qhead) {
        inmsg_t *m = z->qhead;
        z->qhead = m->next;
        zpar__zmtp_inmsg_free (m);
    }
    zpar__idmap_destroy (z->ids);
    for (int i = 0; i < z->nxsubs; i++)
        free (z->xsubs[i]);
    free (z->xsubs);
    free (z->closed);
    free (z->stage);
    if (z->lfd >= 0)
        close (z->lfd);
    if (z->efd >= 0)
        close (z->efd);
    if (z->ep >= 0)
        close (z->ep);
    free (z);
}
