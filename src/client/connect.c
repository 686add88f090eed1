/* connect.c - options, finding the connection file, the stale-controller
 * check, registration with the hub, and tearing a client down. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "client.h"
#include "clock.h"
#include "curve.h"
#include "error.h"
#include "netlimit.h"

#define DEFAULT_CONNECT_TIMEOUT 10.0
#define DEFAULT_PING_PERIOD     5.0
#define DEFAULT_RECONNECT       60.0
#define KNOWN_FLAGS                                                                                \
    ((unsigned)(ZPAR_CLIENT_NO_STALE_CHECK | ZPAR_CLIENT_NO_BATCH | ZPAR_CLIENT_WAKEABLE))

ZPAR_API void zpar_client_opts_init (zpar_client_opts_t *o)
{
    if (!o)
        return;
    memset (o, 0, sizeof (*o));
    o->size = sizeof (*o);
}

/* Check opts (NULL: defaults) and copy them into *o. */
static int opts_get (const zpar_client_opts_t *opts, zpar_client_opts_t *o, zpar_error_t *err)
{
    zpar_client_opts_init (o);
    if (!opts)
        return 0;
    if (opts->size < sizeof (*o)) {
        return zpar__errnoprintf (err, EINVAL,
                                  "client options: size %zu is too small (want %zu: fill them "
                                  "with zpar_client_opts_init)",
                                  opts->size, sizeof (*o));
    }
    for (size_t i = sizeof (*o); i < opts->size; i++)
        if (((const unsigned char *)opts)[i] != 0)
            return zpar__errnoprintf (err, EINVAL,
                                      "client options: fields of a newer zpar.h that this "
                                      "library does not know are set");
    memcpy (o, opts, sizeof (*o));
    o->size = sizeof (*o);
    if (!isfinite (o->connect_timeout) || o->connect_timeout < 0)
        return zpar__errnoprintf (err, EINVAL,
                                  "client options: connect_timeout must be >= 0 seconds");
    if (!isfinite (o->replay_window) || o->replay_window < 0)
        return zpar__errnoprintf (err, EINVAL,
                                  "client options: replay_window must be >= 0 seconds");
    if (isnan (o->reconnect_timeout))
        return zpar__errnoprintf (err, EINVAL, "client options: reconnect_timeout is not a number");
    if (isnan (o->ping_period))
        return zpar__errnoprintf (err, EINVAL, "client options: ping_period is not a number");
    if (o->flags & ~KNOWN_FLAGS)
        return zpar__errnoprintf (err, EINVAL, "client options: unknown flags 0x%x",
                                  o->flags & ~KNOWN_FLAGS);
    return 0;
}

static double env_seconds (const char *name, double dflt)
{
    const char *e = getenv (name);
    char *end;
    double t;
    if (!e || !*e)
        return dflt;
    t = strtod (e, &end);
    return (end != e && isfinite (t) && t > 0) ? t : dflt;
}

static int find_file (const zpar_client_opts_t *o, char *buf, size_t size, zpar_error_t *err)
{
    if (!buf || size == 0)
        return zpar__errnoprintf (err, EINVAL, "no buffer for the connection file's path");
    if (o->connection_file && *o->connection_file) {
        if ((size_t)snprintf (buf, size, "%s", o->connection_file) >= size)
            return zpar__errnoprintf (err, ENAMETOOLONG, "path too long: %s", o->connection_file);
        return 0;
    }
    if (o->cluster_dir && *o->cluster_dir) {
        if ((size_t)snprintf (buf, size, "%s/client.json", o->cluster_dir) >= size)
            return zpar__errnoprintf (err, ENAMETOOLONG, "path too long: %s", o->cluster_dir);
        if (access (buf, R_OK) < 0)
            return zpar__errnoprintf (err, ENOENT,
                                      "no running cluster found (%s does not exist): start one "
                                      "with 'zpar cluster start -n N'",
                                      buf);
        return 0;
    }
    return zpar__conn_resolve (NULL, buf, size, err);
}

ZPAR_API int zpar_connection_file_find (const zpar_client_opts_t *opts, char *buf, size_t size,
                                        zpar_error_t *err)
{
    zpar_client_opts_t o;
    if (opts_get (opts, &o, err) < 0)
        return -1;
    return find_file (&o, buf, size, err);
}

/* 1 if ci's controller is a process of this host that is gone. */
static int stale (const zpar_conninfo_t *ci)
{
    char host[256];
    if (ci->pid <= 0 || !ci->host[0] || gethostname (host, sizeof (host)) < 0)
        return 0;
    host[sizeof (host) - 1] = '\0';
    if (strcmp (host, ci->host) != 0)
        return 0;
    return kill (ci->pid, 0) < 0 && errno == ESRCH;
}

static int stale_error (const char *path, const zpar_conninfo_t *ci, zpar_error_t *err)
{
    return zpar__errnoprintf (err, ECONNREFUSED,
                              "the controller that wrote %s (pid %d on %s) is not running: the "
                              "cluster is gone; clean up with 'zpar cluster stop' and start a "
                              "new one with 'zpar cluster start -n N'",
                              path, ci->pid, ci->host);
}

ZPAR_API int zpar_connection_file_stale (const char *connection_file, zpar_error_t *err)
{
    zpar_conninfo_t ci;
    if (!connection_file || !*connection_file)
        return zpar__errnoprintf (err, EINVAL, "no connection file given");
    if (zpar__conn_read (connection_file, &ci, err) < 0)
        return -1;
    if (!stale (&ci))
        return 0;
    stale_error (connection_file, &ci, err);
    return 1;
}

/* ------------------------------------------------------------- connect */

static void *new_socket (zpar_client_t *c, int type, const char *ep)
{
    void *s = zmq_socket (c->ctx, type);
    int zero = 0;
    if (!s)
        return NULL;
    zmq_setsockopt (s, ZMQ_SNDHWM, &zero, sizeof (zero));
    zmq_setsockopt (s, ZMQ_RCVHWM, &zero, sizeof (zero));
    /* SUBs get output chunks and notifications; the rest results */
    (void)zpar__netlimit_apply (s, type == ZMQ_SUB ? ZPAR_NET_IOPUB : ZPAR_NET_DATA);
    /* Curve (when the connection file has keys): the client key pair */
    if (zpar__curve_client (s, &c->ci.curve, ZPAR_CURVE_CLIENT) < 0 || zmq_connect (s, ep) < 0) {
        int e = errno;
        zmq_close (s);
        errno = e;
        return NULL;
    }
    return s;
}

/* Register with the hub and open the sockets it names. */
static int do_register (zpar_client_t *c, zpar_error_t *err)
{
    static const zpar_addr_kind_t kinds[5] = {ZPAR_ADDR_MUX, ZPAR_ADDR_TASK, ZPAR_ADDR_CONTROL,
                                              ZPAR_ADDR_IOPUB, ZPAR_ADDR_NOTIFY};
    static const int type[5] = {ZMQ_DEALER, ZMQ_DEALER, ZMQ_DEALER, ZMQ_SUB, ZMQ_SUB};
    static const int slot[5] = {S_MUX, S_TASK, S_CTL, S_IOPUB, S_NOTIFY};
    zpar_proto_reg_client_t q = {0};
    zpar_proto_reg_client_reply_t r = {0};
    zpar_msg_t *req = zpar__msg_create (ZPAR_MSG_REGISTER_CLIENT), *rep = NULL;
    zpar_error_t perr;
    int rc = -1;

    if (!req || zpar__proto_reg_client_encode (req, &q) < 0) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        goto done;
    }
    if (!(rep = zpar__client_call (c, S_REG, req, ZPAR_MSG_REGISTER_CLIENT_REPLY,
                                   c->connect_timeout, err)))
        goto done;
    if (zpar__proto_reg_client_reply_decode (rep, &r, &perr) < 0) {
        zpar__errnoprintf (err, EPROTO, "the controller's registration reply is malformed: %s",
                           perr.text);
        goto done;
    }
    if (r.error || r.errnum) {
        zpar__errnoprintf (err, EPROTO, "the controller refused this client: %s",
                           r.error ? r.error : strerror (r.errnum));
        goto done;
    }
    c->num = r.id.v;
    for (int i = 0; i < 5; i++) {
        char addr[ZPAR_ADDR_MAX];
        snprintf (addr, sizeof (addr), "%s", r.addr[kinds[i]]);
        zpar__conn_pick_rehost (&c->pick, addr, sizeof (addr));
        if (!(c->sock[slot[i]] = new_socket (c, type[i], addr))) {
            zpar__errprintf (err, "cannot connect to %s: %s", addr, zmq_strerror (errno));
            goto done;
        }
        snprintf (c->addr[i], sizeof (c->addr[i]), "%s", addr);
    }
    zmq_setsockopt (c->sock[S_NOTIFY], ZMQ_SUBSCRIBE, "", 0);
    if (zpar__client_loop_init (c) < 0) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        goto done;
    }
    rc = 0;
done:
    zpar__proto_reg_client_reply_clear (&r);
    zpar__msg_destroy (req);
    zpar__msg_destroy (rep);
    return rc;
}

/* $ZPAR_CLIENT_BATCH: "0" turns the packing of submits off. */
static int env_batching (void)
{
    const char *v = getenv ("ZPAR_CLIENT_BATCH");
    return !(v && strcmp (v, "0") == 0);
}

/* A count from the environment variable name: dflt when unset or not a
 * number up to max. */
static uint64_t env_count (const char *name, uint64_t dflt, uint64_t max)
{
    const char *v = getenv (name);
    char *end;
    unsigned long long n;
    if (!v || !*v)
        return dflt;
    errno = 0;
    n = strtoull (v, &end, 10);
    return errno || *end || n > max ? dflt : (uint64_t)n;
}

ZPAR_API zpar_client_t *zpar_client_connect_opts (const zpar_client_opts_t *opts, zpar_error_t *err)
{
    zpar_client_opts_t o;
    zpar_client_t *c;
    int e;

    if (opts_get (opts, &o, err) < 0)
        return NULL;
    if (!(c = calloc (1, sizeof (*c)))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    c->wake_fd = -1;
    c->out_offset = -1;
    c->connect_timeout = o.connect_timeout > 0
                             ? o.connect_timeout
                             : env_seconds ("ZPAR_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT);
    c->ping_period = o.ping_period == 0 ? DEFAULT_PING_PERIOD : o.ping_period;
    c->reconnect_timeout = o.reconnect_timeout > 0 ? o.reconnect_timeout
                           : o.reconnect_timeout < 0
                               ? 0
                               : env_seconds ("ZPAR_RECONNECT_TIMEOUT", DEFAULT_RECONNECT);
    if (zpar__zmq_version_check (err) < 0)
        goto error;
    if (find_file (&o, c->path, sizeof (c->path), err) < 0 ||
        zpar__conn_read (c->path, &c->ci, err) < 0 ||
        zpar__conn_pick (&c->ci, NULL, &c->pick, err) < 0)
        goto error;
    if (!(o.flags & ZPAR_CLIENT_NO_STALE_CHECK) && stale (&c->ci)) {
        stale_error (c->path, &c->ci, err);
        goto error;
    }
    if (zpar__curve_on (&c->ci.curve) && !c->ci.curve.client_secret[0]) {
        zpar__errnoprintf (err, EINVAL,
                           "%s has no client CURVE keys: use the cluster's client.json",
                           c->path[0] ? c->path : "the connection file");
        goto error;
    }
    if (!(c->ctx = zmq_ctx_new ()) ||
        !(c->signer = zpar__signer_create (c->ci.key, (uint64_t)(o.replay_window * 1e6))) ||
        !(c->futures = zpar__idmap_create ()) || !(c->queries = zpar__idmap_create ()) ||
        !(c->in = zpar__msg_create (ZPAR_MSG_NONE)) ||
        !(c->out = zpar__msg_create (ZPAR_MSG_TASK)) || !(c->r = zpar__reactor_create ())) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        goto error;
    }
    zmq_ctx_set (c->ctx, ZMQ_BLOCKY, 0);
    if (!(c->sock[S_REG] = new_socket (c, ZMQ_DEALER, c->ci.addr[ZPAR_EP_REGISTRAR]))) {
        zpar__errprintf (err, "cannot connect to %s: %s", c->ci.addr[ZPAR_EP_REGISTRAR],
                         zmq_strerror (errno));
        goto error;
    }
    if (zpar__client_loop_init (c) < 0) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        goto error;
    }
    if ((o.flags & ZPAR_CLIENT_WAKEABLE) && zpar__client_wake_init (c) < 0) {
        zpar__errnoprintf (err, errno, "cannot make the wake-up descriptor: %s", strerror (errno));
        goto error;
    }
    if (do_register (c, err) < 0)
        goto error;
    /* load-balanced submits packed into batches (pack.c) unless asked not to */
    if (!(o.flags & ZPAR_CLIENT_NO_BATCH) && env_batching () &&
        !(c->pend = zpar__batch_create ())) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        goto error;
    }
    /* $ZPAR_CLIENT_BATCH_AGE_US: the age of the oldest pending submit at
     * which a submit sends them (pack.c); 0: none */
    c->pend_age_us = env_count ("ZPAR_CLIENT_BATCH_AGE_US", ZPAR_CLIENT_BATCH_AGE_US, 60000000ULL);
    /* $ZPAR_CLIENT_WINDOW: the window (window.c); 0: no bound */
    c->window_base =
        (size_t)env_count ("ZPAR_CLIENT_WINDOW", ZPAR_CLIENT_WINDOW_DEFAULT, 1ULL << 32);
    /* K = 2 x the per-engine prefetch: $ZPAR_HWM as the scheduler reads it */
    c->window_per_engine =
        2 * (size_t)env_count ("ZPAR_HWM", ZPAR_CLIENT_WINDOW_PREFETCH, 1u << 20);
    if (!c->window_per_engine)
        c->window_per_engine = 2 * ZPAR_CLIENT_WINDOW_PREFETCH;
    c->window = c->window_base;
    c->heard_us = c->hub_heard_us = zpar__mono_us ();
    return c;
error:
    e = errno;
    c->no_linger = 1; /* nothing of value is queued: do not wait for an absent peer */
    zpar_client_destroy (c);
    errno = e;
    return NULL;
}

ZPAR_API zpar_client_t *zpar_client_connect (const char *connection_file, zpar_error_t *err)
{
    zpar_client_opts_t o;
    zpar_client_opts_init (&o);
    o.connection_file = connection_file;
    return zpar_client_connect_opts (&o, err);
}

ZPAR_API void zpar_client_destroy (zpar_client_t *c)
{
    size_t pos = 0;
    zpar_future_t *f;
    int linger = 5000, saved = errno;
    if (!c)
        return;
    /* the submits not sent yet go before we do, the window's too */
    if (c->sock[S_TASK] && !c->no_linger)
        zpar__client_window_release (c, 1);
    if (c->pend && c->sock[S_TASK] && !c->no_linger)
        (void)zpar__client_flush (c);
    zpar__batch_destroy (c->pend);
    if (c->futures) {
        while ((f = zpar__idmap_next (c->futures, &pos, NULL))) {
            f->c = NULL;
            f->query = 0;
            f->pending = 0;
            f->done_queued = 0; /* the queue goes with the client */
            f->done_prev = f->done_next = NULL;
        }
        zpar__idmap_destroy (c->futures);
    }
    zpar__idmap_destroy (c->queries);
    zpar__idmap_destroy (c->engines);
    zpar__reactor_destroy (c->r); /* and its watchers; the sockets are ours */
    if (c->wake_fd >= 0)
        close (c->wake_fd);
    for (int i = 0; i < S_COUNT; i++) {
        if (c->sock[i]) {
            /* let queued submissions leave before we go */
            if (c->no_linger)
                linger = 0;
            zmq_setsockopt (c->sock[i], ZMQ_LINGER, &linger, sizeof (linger));
            zmq_close (c->sock[i]);
        }
    }
    if (c->ctx)
        zmq_ctx_term (c->ctx);
    zpar__signer_destroy (c->signer);
    zpar__msg_destroy (c->in);
    zpar__msg_destroy (c->spare);
    zpar__msg_destroy (c->out);
    zpar__msg_destroy (c->got);
    free (c);
    errno = saved;
}

ZPAR_API uint32_t zpar_client_id (const zpar_client_t *c)
{
    return c ? c->num : 0;
}

ZPAR_API const char *zpar_client_connection_file (const zpar_client_t *c)
{
    return c ? c->path : NULL;
}

ZPAR_API int zpar_client_on_output (zpar_client_t *c, zpar_output_f cb, void *arg, int mine_only)
{
    char topic[32];
    if (!c) {
        errno = EINVAL;
        return -1;
    }
    /* IOPub is watched only while subscribed (loop.c): what it received
     * while nobody listened is dropped, as it always was */
    if (!c->out_cb)
        zpar__client_watch (c, S_IOPUB, 0, 1);
    if (c->out_cb) {
        zmq_setsockopt (c->sock[S_IOPUB], ZMQ_UNSUBSCRIBE, "", 0);
        snprintf (topic, sizeof (topic), "c%u.", c->num);
        zmq_setsockopt (c->sock[S_IOPUB], ZMQ_UNSUBSCRIBE, topic, strlen (topic));
    }
    c->out_cb = cb;
    c->out_arg = arg;
    c->mine_only = mine_only;
    if (cb) {
        if (mine_only) {
            snprintf (topic, sizeof (topic), "c%u.", c->num);
            zmq_setsockopt (c->sock[S_IOPUB], ZMQ_SUBSCRIBE, topic, strlen (topic));
        } else
            zmq_setsockopt (c->sock[S_IOPUB], ZMQ_SUBSCRIBE, "", 0);
    }
    zpar__client_watch (c, S_IOPUB, cb != NULL, cb == NULL);
    return 0;
}

ZPAR_API int64_t zpar_client_output_offset (const zpar_client_t *c)
{
    return c ? c->out_offset : -1;
}

ZPAR_API int zpar_client_on_engine_event (zpar_client_t *c, zpar_engine_event_f cb, void *arg)
{
    if (!c) {
        errno = EINVAL;
        return -1;
    }
    c->ev_cb = cb;
    c->ev_arg = arg;
    return 0;
}

ZPAR_API unsigned zpar_client_reconnects (const zpar_client_t *c)
{
    return c ? c->reconnects : 0;
}

int zpar__client_reconnect_socket (zpar_client_t *c, int slot, const char *addr, const char *old)
{
    if (old && *old)
        (void)zmq_disconnect (c->sock[slot], old);
    return zmq_connect (c->sock[slot], addr);
}

void zpar__client_conn_recheck (zpar_client_t *c)
{
    zpar_conninfo_t ci;
    zpar_error_t err;
    const char *now, *was = c->ci.addr[ZPAR_EP_REGISTRAR];
    zpar_pick_t pick;
    if (zpar__conn_read (c->path, &ci, &err) < 0 || zpar__conn_pick (&ci, NULL, &pick, &err) < 0)
        return; /* gone or being rewritten: the next ping looks again */
    now = ci.addr[ZPAR_EP_REGISTRAR];
    /* another cluster (another key) is not ours to talk to */
    if (memcmp (ci.key, c->ci.key, sizeof (ci.key)) != 0 || !*now || strcmp (now, was) == 0)
        return;
    if (zpar__client_reconnect_socket (c, S_REG, now, was) == 0) {
        snprintf (c->ci.addr[ZPAR_EP_REGISTRAR], sizeof (c->ci.addr[ZPAR_EP_REGISTRAR]), "%s", now);
        c->pick = pick;
    }
}
