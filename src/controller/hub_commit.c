/* hub_commit.c - the hub's side of "durable before acknowledged": the
 * replies that wait until the task records are committed, the periodic
 * write of the records' batch, and the bound on what waits unsaved (new
 * tasks refused while the records cannot be saved and the bound is
 * reached). */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "admit.h"
#include "error.h"
#include "hub.h"
#include "hub_int.h"
#include "log.h"
#include "proto_registrar.h"
#include "zpar.h"

/* The records' backlog reached its bound while they cannot be saved
 * (refusing 1), or not any more: new tasks are refused, or accepted
 * again (admit.h), from this moment on. */
static void records_refusing (void *arg, int refusing)
{
    zpar_hub_t *h = arg;
    zpar_records_health_t rh;
    char why[ZPAR_ERROR_TEXT_MAX + 160];
    if (!refusing) {
        zpar__warn ("new tasks are accepted again");
        zpar__admit_refuse (NULL);
        return;
    }
    (void)zpar__records_health (h->records, &rh);
    snprintf (why, sizeof (why),
              "new tasks refused: the task records are not being saved (%s) and %zu records "
              "(%zu bytes) wait in memory, the bound; free space for the records",
              rh.error, rh.unsaved, rh.bytes);
    zpar__err ("%s", why);
    zpar__admit_refuse (why);
}

/* Send the replies that waited for the records to be committed. */
static void release_deferred (zpar_hub_t *h)
{
    for (size_t i = 0; i < h->ndeferred; i++) {
        zpar_msg_t *r = h->deferred[i];
        if (h->released)
            h->released (h->released_arg, r);
        if (h->registrar && zpar__wire_send_chan (h->registrar, h->signer, ZPAR_CHAN_REGISTRAR, r,
                                                  ZMQ_DONTWAIT) < 0)
            zpar__debug ("hub: reply to a vanished peer dropped");
        zpar__msg_destroy (r);
    }
    h->ndeferred = 0;
}

static void fail_deferred_syncs (zpar_hub_t *h);

int zpar__hub_flush (zpar_hub_t *h, zpar_error_t *err)
{
    if (h->records && zpar__records_flush (h->records, err) < 0) {
        fail_deferred_syncs (h);
        return -1;
    }
    release_deferred (h);
    return 0;
}

int zpar__hub_defer_reply (zpar_hub_t *h, zpar_msg_t *reply)
{
    if (!h || !reply) {
        zpar__msg_destroy (reply);
        errno = EINVAL;
        return -1;
    }
    if (h->ndeferred == h->deferred_cap) {
        size_t n = h->deferred_cap ? h->deferred_cap * 2 : 16;
        zpar_msg_t **nd = realloc (h->deferred, n * sizeof (*nd));
        if (!nd) {
            zpar__msg_destroy (reply);
            errno = ENOMEM;
            return -1;
        }
        h->deferred = nd;
        h->deferred_cap = n;
    }
    h->deferred[h->ndeferred++] = reply;
    if (!zpar__records_batched (h->records))
        release_deferred (h); /* everything it acknowledges is committed */
    return 0;
}

/* While the records are not being saved, a SYNC reply that waits for
 * them would wait without end: it is answered now, with the reason
 * (ENOSPC), and its client says its tasks were not acknowledged.  The
 * other deferred replies (RESUBMIT) keep waiting. */
static void fail_deferred_syncs (zpar_hub_t *h)
{
    zpar_records_health_t rh;
    char why[ZPAR_ERROR_TEXT_MAX + 160];
    size_t kept = 0;
    if (!h->ndeferred || !h->records || zpar__records_health (h->records, &rh) < 0 ||
        !rh.since_us || rh.catching_up)
        return;
    snprintf (why, sizeof (why),
              "not acknowledged: the task records are not being saved (%s); %zu records wait in "
              "the controller's memory",
              rh.error, rh.unsaved);
    for (size_t i = 0; i < h->ndeferred; i++) {
        zpar_msg_t *r = h->deferred[i], *e;
        zpar_proto_query_reply_t qr;
        zpar_proto_query_reply_t er = {
            .kind = ZPAR_QUERY_SYNC, .errnum = rh.errnum ? rh.errnum : EIO, .error = why};
        int sync = zpar__proto_query_reply_decode (r, &qr, NULL) == 0 && qr.kind == ZPAR_QUERY_SYNC;
        if (sync)
            er.h = qr.h;
        zpar__proto_query_reply_clear (&qr);
        if (!sync || !(e = zpar__msg_create (ZPAR_MSG_NONE))) {
            h->deferred[kept++] = r;
            continue;
        }
        if (zpar__proto_query_reply_encode (e, &er) == 0 &&
            zpar__msg_set_envelope (e, r->nenv, r->env) == 0) {
            e->hdr.task = r->hdr.task;
            if (h->released)
                h->released (h->released_arg, e);
            if (h->registrar && zpar__wire_send_chan (h->registrar, h->signer, ZPAR_CHAN_REGISTRAR,
                                                      e, ZMQ_DONTWAIT) < 0)
                zpar__debug ("hub: reply to a vanished peer dropped");
        }
        zpar__msg_destroy (e);
        zpar__msg_destroy (r);
    }
    h->ndeferred = kept;
}

/* Write the batch (a failure is logged once by the records, and tried
 * again every ZPAR_RECORDS_RETRY_MS; the batch stays meanwhile). */
void zpar__hub_flush_records (zpar_hub_t *h)
{
    if (zpar__records_batched (h->records))
        h->busy_since_trim = 1;
    (void)zpar__hub_flush (h, NULL);
    /* after a burst, when nothing is live any more, give the freed heap
     * back to the system: the controller's memory follows its live tasks,
     * not the tasks it has seen */
    if (h->busy_since_trim && zpar__idmap_size (h->live) == 0 &&
        !zpar__records_batched (h->records)) {
        /* the live table grew with the burst and never shrinks: a new,
         * small one */
        zpar_idmap_t *fresh = zpar__idmap_create ();
        if (fresh) {
            zpar__idmap_destroy (h->live);
            h->live = fresh;
        }
        zpar__records_trim (h->records);
        malloc_trim (0);
        h->busy_since_trim = 0;
    }
}

/* The bound on unsaved records: $ZPAR_RECORDS_BACKLOG bytes (a K, M or G
 * suffix multiplies by 1024s), else ZPAR_RECORDS_LIMIT_DEFAULT (0). */
static size_t records_limit (void)
{
    const char *env = getenv ("ZPAR_RECORDS_BACKLOG");
    unsigned long long v;
    char *end;
    if (!env || !*env)
        return 0;
    errno = 0;
    v = strtoull (env, &end, 10);
    switch (*end) {
    case 'G':
    case 'g':
        v <<= 10; /* fall through */
    case 'M':
    case 'm':
        v <<= 10; /* fall through */
    case 'K':
    case 'k':
        v <<= 10;
        end++;
        break;
    default:
        break;
    }
    if (errno || *end || end == env || v == 0 || v > SIZE_MAX) {
        zpar__warn ("ZPAR_RECORDS_BACKLOG=%s: not a size in bytes (like 64M); the default %zu "
                    "bytes is used",
                    env, ZPAR_RECORDS_LIMIT_DEFAULT);
        return 0;
    }
    return (size_t)v;
}

void zpar__hub_records_bound (zpar_hub_t *h)
{
    zpar__admit_refuse (NULL);
    zpar__records_on_refusing (h->records, records_refusing, h);
    zpar__records_set_limit (h->records, records_limit ());
}
