/* hub.c - the hub's loop, the monitor of the schedulers' traffic (which
 * fills the task records) and the pipe to the task scheduler.  The engine
 * table, engines coming up and dying, the shutdown: hub_engines.c.
 * Committing the records before a reply goes out: hub_commit.c. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "error.h"
#include "hub.h"
#include "hub_int.h"
#include "log.h"
#include "proto_control.h"
#include "proto_monitor.h"
#include "proto_pipe.h"
#include "proto_result.h"
#include "registrar.h"
#include "sockutil.h"
#include "zpar.h"

#define FLUSH_MS        50
#define MONITOR_LAZY_MS 20
#define DRAIN_MAX       4096

/* the watchers (h->w) and the live-task record (live_t): hub_int.h */

/* ------------------------------------------------ pipe to the scheduler */

static void tell_done (zpar_hub_t *h, zpar_tid_t id, int ok)
{
    if (h->lb_pipe)
        (void)zpar__pipe_send_done (h->lb_pipe, id.v, ok, 0);
}

/* ---------------------------------------------------------------- records */

int zpar__hub_task_live (const zpar_hub_t *h, zpar_tid_t id, int *state)
{
    live_t *l = h->live && id.v ? zpar__idmap_get (h->live, id.v) : NULL;
    if (!l)
        return 0;
    if (state)
        *state = l->state;
    return 1;
}

/* A task finished: hdr and body are its result as received (body may be
 * NULL: hdr then holds the whole packed message). */
static void record_finish (zpar_hub_t *h, const zpar_hdr_t *hd, int status, const void *hdr,
                           size_t hlen, const void *body, size_t blen, int from_direct)
{
    zpar_tid_t task = zpar__tid (hd->task);
    live_t *l = task.v ? zpar__idmap_del (h->live, task.v) : NULL;
    int state, st;

    /* only the first result of a task counts: one for a task the records
     * show finished (a late copy from an engine that came back, a result
     * an engine kept through a controller restart) is not recorded again */
    if (!l && task.v && zpar__records_state (h->records, task, &state, &st) == 0 &&
        state == ZPAR_REC_DONE) {
        h->n_duplicates++;
        zpar__debug ("task %llu: a second result (from engine %u) not recorded",
                     (unsigned long long)task.v, hd->engine);
        return;
    }
    if (l) {
        if (l->state == ZPAR_REC_PENDING && h->n_pending)
            h->n_pending--;
        else if (l->state == ZPAR_REC_RUNNING && h->n_running)
            h->n_running--;
        if (l->state == ZPAR_REC_RUNNING) {
            zpar_hub_engine_t *e = zpar__hub_engine_get (h, l->engine);
            if (e && e->outstanding)
                e->outstanding--;
        }
        free (l);
    }
    if (status == ZPAR_STATUS_OK)
        h->n_ok++;
    else
        h->n_notok++;
    if (task.v)
        (void)zpar__records_put_result (h->records, task, zpar__eid (hd->engine), status, hdr, hlen,
                                        body, blen, zpar__now_us ());
    if (from_direct)
        tell_done (h, task, status == ZPAR_STATUS_OK);
}

static void record_submit (zpar_hub_t *h, const zpar_hdr_t *hd, int direct, const void *hdr,
                           size_t hlen, const void *body, size_t blen)
{
    zpar_tid_t task = zpar__tid (hd->task);
    live_t *l;
    if (task.v == 0)
        return;
    if (!(l = zpar__idmap_get (h->live, task.v))) {
        if (direct)
            (void)zpar__hub_direct_again (h, task);
        if (!(l = calloc (1, sizeof (*l))))
            return;
        l->state = direct ? ZPAR_REC_RUNNING : ZPAR_REC_PENDING;
        l->direct = (uint8_t)direct;
        l->engine = zpar__eid (direct ? hd->engine : 0);
        l->client = zpar__cid (hd->client);
        if (zpar__idmap_put (h->live, task.v, l) < 0) {
            free (l);
            return;
        }
        if (direct) {
            zpar_hub_engine_t *e = zpar__hub_engine_get (h, l->engine);
            h->n_running++;
            if (e)
                e->outstanding++;
        } else
            h->n_pending++;
    }
    (void)zpar__records_put_request (h->records, task, zpar__cid (hd->client), l->engine, hdr, hlen,
                                     body, blen, hd->time_us);
}

static void record_running (zpar_hub_t *h, const zpar_hdr_t *hd)
{
    zpar_tid_t task = zpar__tid (hd->task);
    live_t *l = task.v ? zpar__idmap_get (h->live, task.v) : NULL;
    zpar_hub_engine_t *e;
    if (!l)
        return;
    if (l->state == ZPAR_REC_PENDING) {
        if (h->n_pending)
            h->n_pending--;
        h->n_running++;
    } else if ((e = zpar__hub_engine_get (h, l->engine)) && e->outstanding)
        e->outstanding--;
    l->state = ZPAR_REC_RUNNING;
    l->engine = zpar__eid (hd->engine);
    if ((e = zpar__hub_engine_get (h, l->engine)))
        e->outstanding++;
    (void)zpar__records_put_running (h->records, task, l->engine, zpar__now_us ());
}

/* One item of a scheduler's record (proto_monitor.h): the request and
 * the result are stored as packed; only a result's body is decoded, for
 * its status. */
static void monitor_item (zpar_hub_t *h, const zpar_monitor_item_t *it)
{
    zpar_error_t err;
    const zpar_hdr_t *hd = &it->hdr;
    const uint8_t *body = it->packed ? it->packed + ZPAR_HDR_LEN : NULL;
    size_t blen = it->packed ? it->len - ZPAR_HDR_LEN : 0;

    if (it->kind == ZPAR_MON_TASK_IN || it->kind == ZPAR_MON_TASK_RUN ||
        it->kind == ZPAR_MON_TASK_OUT)
        h->lb_items++;
    switch (it->kind) {
    case ZPAR_MON_MUX_IN:
    case ZPAR_MON_TASK_IN:
        record_submit (h, hd, it->kind == ZPAR_MON_MUX_IN, it->packed, ZPAR_HDR_LEN, body, blen);
        break;
    case ZPAR_MON_TASK_RUN:
        record_running (h, hd);
        break;
    case ZPAR_MON_MUX_OUT:
    case ZPAR_MON_CTL_OUT:
    case ZPAR_MON_TASK_OUT:
        if (zpar__msg_unpack (h->scratch, it->packed, it->len, &err) < 0) {
            h->n_monitor_bad++;
            zpar__warn ("hub: bad monitor item (%s): %s", zpar__monitor_tag (it->kind), err.text);
            return;
        }
        record_finish (h, hd, (int)zpar__proto_result_status (h->scratch), it->packed, ZPAR_HDR_LEN,
                       body, blen, it->kind != ZPAR_MON_TASK_OUT);
        break;
    default:
        break;
    }
}

/* One record of the monitor: the items a scheduler packed in one drain.
 * A malformed record is read up to the bad item, the rest dropped. */
static void monitor_record (zpar_hub_t *h, const void *buf, size_t len)
{
    zpar_monitor_item_t it;
    zpar_error_t err;
    size_t off = 0;
    int rc;
    while ((rc = zpar__monitor_next (buf, len, &off, &it, &err)) == 1)
        monitor_item (h, &it);
    if (rc < 0) {
        h->n_monitor_bad++;
        zpar__warn ("hub: bad monitor record dropped (%s)", err.text);
    }
}

/* Read what the schedulers recorded (at most DRAIN_MAX messages); the
 * number of messages read. */
static int drain_monitor (zpar_hub_t *h)
{
    int k;
    for (k = 0; k < DRAIN_MAX && h->monitor; k++) {
        zmq_msg_t m;
        int more;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, h->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&m);
            break;
        }
        more = zmq_msg_more (&m);
        if (!more)
            monitor_record (h, zmq_msg_data (&m), zmq_msg_size (&m));
        zmq_msg_close (&m);
        if (more) {
            /* a record is one frame: all of this message is dropped */
            h->n_monitor_bad++;
            zpar__warn ("hub: bad monitor message (more than one frame) dropped");
            do {
                zmq_msg_init (&m);
                if (zmq_msg_recv (&m, h->monitor, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close (&m);
                    break;
                }
                more = zmq_msg_more (&m);
                zmq_msg_close (&m);
            } while (more);
        }
    }
    if (zpar__records_batched (h->records) >= ZPAR_RECORDS_BATCH)
        zpar__hub_flush_records (h);
    /* how far the hub got, now and then: the task scheduler bounds what
     * waits for the hub by it */
    if (h->lb_pipe && h->lb_items - h->lb_items_told >= ZPAR_PIPE_RECORDED_EVERY &&
        zpar__pipe_send_recorded (h->lb_pipe, h->lb_items, ZMQ_DONTWAIT) == 0)
        h->lb_items_told = h->lb_items;
    return k;
}

void zpar__hub_drain_monitor (zpar_hub_t *h)
{
    if (h && h->monitor)
        drain_monitor (h);
}

/* The result of a direct task whose engine died, recorded as the engine
 * would have sent it. */
void zpar__hub_fail_direct (zpar_hub_t *h, zpar_tid_t task, zpar_eid_t eid, const char *text)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_RESULT);
    live_t *l = zpar__idmap_get (h->live, task.v);
    uint8_t *buf;
    size_t len;
    if (!m)
        return;
    if (zpar__proto_result_encode_error (m, task, eid, l ? l->client : zpar__cid (0),
                                         ZPAR_STATUS_ENGINE_DIED, text) == 0) {
        m->hdr.time_us = zpar__now_us ();
        if (zpar__msg_pack (m, &buf, &len) == 0) {
            record_finish (h, &m->hdr, ZPAR_STATUS_ENGINE_DIED, buf, len, NULL, 0, 1);
            free (buf);
        }
    }
    zpar__msg_destroy (m);
}

/* ------------------------------------------------------------------ loop */

/* The monitor is read lazily while records keep coming: after a read,
 * the hub stops watching it and reads it again monitor_lazy_ms later
 * (ZPAR_HUB_MONITOR_LAZY_MS, default 20), and so on until a read finds
 * nothing; then it watches it again, so that the first record after a
 * quiet time is read at once.  Synchronous tasks make two records each
 * (the submit's drain, the result's): read per record, they woke the hub
 * twice per task.  Everything that reads the hub's state reads the
 * monitor first when it is not watched (monitor_pending), so answers are
 * as fresh as before; records are committed by the flush, which reads it
 * first too.  Not during a recovery window (hub_restart.c's timer reads
 * the hub's state), and not when a read filled DRAIN_MAX (more waits). */
static void monitor_pending (zpar_hub_t *h)
{
    if (h->w[W_MONITOR] && !zpar__watcher_active (h->w[W_MONITOR]))
        (void)drain_monitor (h);
}

static void monitor_watch (zpar_hub_t *h)
{
    if (h->w[W_MONLAZY])
        zpar__watcher_stop (h->w[W_MONLAZY]);
    zpar__watcher_start (h->w[W_MONITOR]);
}

static void on_monitor (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_hub_t *h = arg;
    int n = drain_monitor (h);
    if (h->monitor_lazy_ms && h->w[W_MONLAZY] && !h->recovering && n < DRAIN_MAX) {
        zpar__watcher_stop (w);
        zpar__timer_watcher_reset (h->w[W_MONLAZY], h->monitor_lazy_ms, 0);
    }
    (void)r, (void)revents;
}

static void on_monitor_lazy (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_hub_t *h = arg;
    int n = drain_monitor (h);
    if (n > 0 && n < DRAIN_MAX && !h->recovering)
        zpar__timer_watcher_reset (w, h->monitor_lazy_ms, 0); /* still coming */
    else
        monitor_watch (h);
    (void)r, (void)revents;
}

static void registrar_drain (void *arg)
{
    zpar_hub_t *h = arg;
    monitor_pending (h);
    (void)zpar__registrar_recv (h, h->request, DRAIN_MAX);
}

static void on_registrar (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_hub_t *h = arg;
    /* a registrar zpar reads and writes itself (zrouter.h): its I/O first,
     * and what the drain left keeps its descriptor readable */
    (void)zpar__sock_turn (h->registrar, registrar_drain, h, ZPAR_TURN_DONE_AFTER);
    (void)r, (void)w, (void)revents;
}

static void on_hb (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    monitor_pending (arg);
    zpar__hub_on_hb (r, w, revents, arg);
}

/* The task scheduler asks whether a task it waits on is finished. */
static void on_pipe (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_hub_t *h = arg;
    monitor_pending (h);
    for (int k = 0; k < DRAIN_MAX; k++) {
        zpar_frames_t f;
        zpar_pipe_msg_t pm;
        zpar_error_t err;
        int state, status;
        if (zpar__pipe_recv (h->lb_pipe, &f, &pm, ZMQ_DONTWAIT, &err) < 0) {
            zpar__frames_close (&f);
            if (errno == EPROTO) {
                zpar__warn ("hub: bad message from the task scheduler: %s", err.text);
                continue;
            }
            break;
        }
        if (pm.kind == ZPAR_PIPE_DEP_QUERY && !zpar__hub_task_live (h, zpar__tid (pm.task), NULL) &&
            zpar__records_get (h->records, zpar__tid (pm.task), &state, &status, NULL, NULL, NULL,
                               NULL) == 0 &&
            state == ZPAR_REC_DONE)
            tell_done (h, zpar__tid (pm.task), status == ZPAR_STATUS_OK);
        zpar__frames_close (&f);
    }
    (void)r, (void)w, (void)revents;
}

static void on_flush (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_hub_t *h = arg;
    monitor_pending (h);
    if (h->nclosed_watch)
        zpar__hub_closed_recheck (h);
    zpar__hub_flush_records (h);
    zpar__hub_duplicates_save (h);
    /* the notification PUB is written only on engine events: free what
     * libzmq keeps of the clients that have gone since (sockutil.h) */
    zpar__socket_settle (h->notify);
    (void)r, (void)w, (void)revents;
}

void zpar__hub_stop (zpar_hub_t *h, const char *why)
{
    if (!h->stopping && why)
        zpar__info ("%s", why);
    h->stopping = 1;
    if (h->r)
        zpar__reactor_stop (h->r);
}

int zpar__hub_init (zpar_hub_t *h)
{
    if (!h || h->hb_period_ms <= 0 || h->hb_misses <= 0) {
        errno = EINVAL;
        return -1;
    }
    if (!(h->live = zpar__idmap_create ()) || !(h->scratch = zpar__msg_create (ZPAR_MSG_NONE)) ||
        !(h->request = zpar__msg_create (ZPAR_MSG_NONE))) {
        zpar__hub_free_state (h);
        errno = ENOMEM;
        return -1;
    }
    h->recover_ms = (uint64_t)(h->hb_misses + 1) * (uint64_t)h->hb_period_ms;
    if (h->records) {
        uint64_t incarnation = 0, next = 0, clean = 0;
        (void)zpar__records_counts (h->records, &h->n_ok, &h->n_notok);
        (void)zpar__records_next_counter (h->records, "controller", &incarnation);
        (void)zpar__records_counter (h->records, "clean_stop", &clean);
        h->incarnation = incarnation;
        if (zpar__records_counter (h->records, "engine_next", &next) == 0 &&
            next <= ZPAR_HUB_ENGINE_ID_MAX)
            h->next_engine = (uint32_t)next;
        zpar__hub_recover_records (h);
        /* an earlier controller used these records: engines may hold its
         * tasks (C4) */
        /* (one that stopped cleanly, its engines gone, leaves none) */
        h->recovering = (incarnation > 1 && clean + 1 < incarnation) || h->n_recovered > 0;
        zpar__hub_records_bound (h);
    }
    return 0;
}

int zpar__hub_run (zpar_hub_t *h)
{
    struct {
        void *sock;
        zpar_watcher_f cb;
    } io[] = {
        /* the monitor first: what the schedulers saw is recorded before
         * the registrar answers questions about it */
        [W_MONITOR] = {h->monitor, on_monitor},
        [W_REGISTRAR] = {h->registrar, on_registrar},
        [W_HB] = {h->hb_pipe, on_hb},
        [W_PIPE] = {h->lb_pipe, on_pipe},
    };
    const int order[] = {W_MONITOR, W_REGISTRAR, W_HB, W_PIPE};
    int rc;

    if (!h->r || !h->live || !h->registrar || !h->monitor || !h->hb_pipe || !h->lb_pipe) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < sizeof (order) / sizeof (order[0]); i++) {
        int k = order[i];
        if (!(h->w[k] = zpar__sock_watcher_create (h->r, io[k].sock, io[k].cb, h)))
            return -1;
        zpar__watcher_start (h->w[k]);
    }
    if (!(h->w[W_FLUSH] = zpar__timer_watcher_create (h->r, FLUSH_MS, FLUSH_MS, on_flush, h)))
        return -1;
    zpar__watcher_start (h->w[W_FLUSH]);
    {
        const char *e = getenv ("ZPAR_HUB_MONITOR_LAZY_MS");
        long ms = e && *e ? strtol (e, NULL, 10) : MONITOR_LAZY_MS;
        h->monitor_lazy_ms = ms > 0 ? (uint64_t)(ms < FLUSH_MS ? ms : FLUSH_MS) : 0;
    }
    if (h->monitor_lazy_ms && !(h->w[W_MONLAZY] = zpar__timer_watcher_create (
                                    h->r, h->monitor_lazy_ms, 0, on_monitor_lazy, h)))
        return -1;
    if ((h->fd_base = zpar__hub_files_open ()) < 0)
        h->fd_base = 64;
    /* tasks an earlier controller recorded but never finished wait for
     * the engines that hold them to register again; at the end of the
     * window, the others are queued again (load-balanced) or answered
     * engine-died (direct) */
    if (h->recovering && zpar__hub_recovery_start (h) < 0)
        return -1;
    rc = h->stopping ? 0 : zpar__reactor_run (h->r);
    /* drain what the schedulers already reported, so no record is lost */
    drain_monitor (h);
    (void)zpar__records_flush (h->records, NULL);
    return rc;
}

void zpar__hub_free_state (zpar_hub_t *h)
{
    size_t pos = 0;
    live_t *l;
    if (!h)
        return;
    for (int i = 0; i < W_COUNT; i++) {
        zpar__watcher_destroy (h->w[i]);
        h->w[i] = NULL;
    }
    if (h->live) {
        while ((l = zpar__idmap_next (h->live, &pos, NULL)))
            free (l);
        zpar__idmap_destroy (h->live);
        h->live = NULL;
    }
    for (size_t i = 0; i < h->ndeferred; i++)
        zpar__msg_destroy (h->deferred[i]);
    free (h->deferred);
    h->deferred = NULL;
    h->ndeferred = h->deferred_cap = 0;
    free (h->adopt_list);
    h->adopt_list = NULL;
    h->adopt_len = 0;
    zpar__msg_destroy (h->scratch);
    h->scratch = NULL;
    zpar__msg_destroy (h->request);
    h->request = NULL;
    for (uint32_t i = 0; i < h->nengines; i++) {
        free (h->engines[i]->res);
        free (h->engines[i]);
    }
    free (h->engines);
    h->engines = NULL;
    h->nengines = h->engines_cap = 0;
    zpar__idmap_destroy (h->engine_ids);
    h->engine_ids = NULL;
    zpar__idmap_destroy (h->engine_uuids);
    h->engine_uuids = NULL;
    h->uuid_unindexed = 0;
}
