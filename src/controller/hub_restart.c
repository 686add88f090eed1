/* hub_restart.c - the hub after a controller restart: the tasks engines
 * hold (adopted or dropped, doc/protocol.md "Controller restart"), the
 * recovery window, and tasks clients submit again. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "hub.h"
#include "hub_int.h"
#include "log.h"
#include "proto_pipe.h"
#include "proto_result.h"
#include "zpar.h"

static int adopt_one (zpar_hub_t *h, zpar_hub_engine_t *e, zpar_tid_t id, live_t *l, uint8_t **list,
                      size_t *len)
{
    uint8_t *req = NULL;
    size_t reqlen = 0;
    int state, status, rc = 0;
    if (!l->direct) {
        /* the scheduler of this controller has it unless it was recorded
         * by an earlier one (or resubmitted during the recovery window) */
        if (l->recovered &&
            (zpar__records_get (h->records, id, &state, &status, &req, &reqlen, NULL, NULL) < 0 ||
             !req))
            return -1;
        rc = zpar__pipe_adopt_add (list, len, id.v, req, reqlen);
        free (req);
        if (rc < 0)
            return -1;
    }
    if (l->state == ZPAR_REC_PENDING) {
        if (h->n_pending)
            h->n_pending--;
        h->n_running++;
    } else if (!l->recovered && !zpar__eid_eq (l->engine, e->id)) {
        zpar_hub_engine_t *o = zpar__hub_engine_get (h, l->engine);
        if (o && o->outstanding)
            o->outstanding--;
    }
    /* a recovered task was counted on no engine of this controller */
    if (l->recovered || l->state == ZPAR_REC_PENDING || !zpar__eid_eq (l->engine, e->id)) {
        e->outstanding++;
        (void)zpar__records_put_running (h->records, id, e->id, zpar__now_us ());
    }
    l->state = ZPAR_REC_RUNNING;
    l->engine = e->id;
    l->recovered = 0;
    h->n_adopted++;
    return 0;
}

/* A held task the hub has no trace of: not live, not recorded (its
 * submission was accepted by a controller that died before committing
 * it).  It runs on where it is; the hub counts it running there until its
 * result comes, and forgets it if the engine dies (its client, told the
 * task is unknown by "sync", submits it again).  0 / -1 (finished: the
 * records have it; ENOMEM). */
static int adopt_orphan (zpar_hub_t *h, zpar_hub_engine_t *e, zpar_tid_t id)
{
    int state, status;
    live_t *l;
    if (zpar__records_state (h->records, id, &state, &status) == 0 || errno != ENOENT ||
        !(l = calloc (1, sizeof (*l))))
        return -1;
    l->state = ZPAR_REC_RUNNING;
    l->orphan = 1;
    l->engine = e->id;
    if (zpar__idmap_put (h->live, id.v, l) < 0) {
        free (l);
        return -1;
    }
    h->n_running++;
    e->outstanding++;
    h->n_adopted++;
    zpar__info ("engine %u holds task %llu, which no record shows: it runs on there", e->id.v,
                (unsigned long long)id.v);
    return 0;
}

int zpar__hub_task_orphan (const zpar_hub_t *h, zpar_tid_t id)
{
    live_t *l = h->live && id.v ? zpar__idmap_get (h->live, id.v) : NULL;
    return l && l->orphan;
}

int zpar__hub_engine_held (zpar_hub_t *h, zpar_hub_engine_t *e, int was_alive,
                           const zpar_tid_t *held, size_t n, zpar_tid_t **drop, size_t *ndrop)
{
    uint8_t *list = NULL;
    size_t len = 0, nd = 0, nadopt = 0;
    zpar_tid_t *d = NULL;

    *drop = NULL;
    *ndrop = 0;
    if (!n)
        return 0;
    if (!(d = malloc (n * sizeof (*d)))) {
        errno = ENOMEM;
        return -1;
    }
    /* what the schedulers did until now */
    zpar__hub_drain_monitor (h);
    for (size_t i = 0; i < n; i++) {
        live_t *l = held[i].v ? zpar__idmap_get (h->live, held[i].v) : NULL;
        /* a task this controller has as PENDING is dropped, not adopted:
         * it went back to the task scheduler's queue (e was declared
         * dead, or connected again), and the scheduler may have sent it
         * to another engine already, which the monitor tells us only a
         * moment later: adopted, it ran there and on e at once.  Dropped,
         * it runs where the scheduler sends it (a task the scheduler sent
         * to e that we have not seen yet goes back to its queue with e's
         * other tasks when e's "up" or "again" reaches it) */
        int mine = l && ((l->recovered) ||
                         (l->state == ZPAR_REC_RUNNING && zpar__eid_eq (l->engine, e->id)));
        if (mine && adopt_one (h, e, held[i], l, &list, &len) == 0) {
            nadopt++;
            continue;
        }
        if (!l && held[i].v && adopt_orphan (h, e, held[i]) == 0) {
            nadopt++;
            continue;
        }
        d[nd++] = held[i];
        h->n_held_dropped++;
        zpar__info ("engine %u holds task %llu: %s, told to drop it", e->id.v,
                    (unsigned long long)held[i].v,
                    !l ? "finished or unknown" : "it was given to another engine");
    }
    if (nadopt)
        zpar__info ("engine %u holds %zu task(s): adopted (they run on there, once)", e->id.v,
                    nadopt);
    (void)was_alive;
    if (len) {
        free (h->adopt_list); /* zpar__hub_engine_up or _again sends it */
        h->adopt_list = list;
        h->adopt_len = len;
    }
    if (!nd) {
        free (d);
        d = NULL;
    }
    *drop = d;
    *ndrop = nd;
    return 0;
}

void zpar__hub_engine_again (zpar_hub_t *h, zpar_hub_engine_t *e)
{
    /* the same routing identity: the task scheduler takes it for the same
     * engine connected again (its tasks go back to the queue, those it
     * holds are adopted again, in the same message) */
    if (h->lb_pipe)
        (void)zpar__pipe_send_up_adopt (h->lb_pipe, &e->route, h->adopt_list, h->adopt_len, 0);
    free (h->adopt_list);
    h->adopt_list = NULL;
    h->adopt_len = 0;
}

/* At start: every task an earlier controller recorded but did not finish
 * is live again, waiting for an engine to report it (or the end of the
 * recovery window). */
static void recover_one (void *arg, zpar_tid_t id, int state, zpar_eid_t engine, const void *req,
                         size_t len)
{
    zpar_hub_t *h = arg;
    zpar_error_t err;
    live_t *l;
    if (zpar__idmap_get (h->live, id.v) || !(l = calloc (1, sizeof (*l))))
        return;
    l->recovered = 1;
    l->state = state == ZPAR_REC_RUNNING ? ZPAR_REC_RUNNING : ZPAR_REC_PENDING;
    l->engine = engine;
    if (req && len >= ZPAR_HDR_LEN && zpar__msg_unpack (h->scratch, req, len, &err) == 0) {
        l->direct = h->scratch->hdr.type == ZPAR_MSG_TASK && h->scratch->hdr.engine != 0;
        l->client = zpar__cid (h->scratch->hdr.client);
        if (l->direct)
            l->engine = zpar__eid (h->scratch->hdr.engine);
    }
    if (zpar__idmap_put (h->live, id.v, l) < 0) {
        free (l);
        return;
    }
    if (l->state == ZPAR_REC_RUNNING)
        h->n_running++;
    else
        h->n_pending++;
    h->n_recovered++;
}

void zpar__hub_end_recovery (zpar_hub_t *h)
{
    size_t pos = 0, n = 0, cap = 0, requeued = 0, failed = 0;
    uint64_t id, *ids = NULL;
    live_t *l;

    if (!h->recovering)
        return;
    h->recovering = 0;
    while ((l = zpar__idmap_next (h->live, &pos, &id))) {
        if (!l->recovered)
            continue;
        if (n == cap) {
            uint64_t *ni = realloc (ids, (cap = cap ? cap * 2 : 64) * sizeof (*ni));
            if (!ni)
                break;
            ids = ni;
        }
        ids[n++] = id;
    }
    for (size_t i = 0; i < n; i++) {
        zpar_tid_t t = zpar__tid (ids[i]);
        uint8_t *req = NULL;
        size_t len = 0;
        int state, status;
        if (!(l = zpar__idmap_get (h->live, t.v)))
            continue;
        l->recovered = 0;
        if (l->direct) {
            char text[200];
            snprintf (text, sizeof (text),
                      "the controller restarted and engine %u did not report this task again: "
                      "it is lost (engine died)",
                      l->engine.v);
            zpar__hub_fail_direct (h, t, l->engine, text);
            failed++;
            continue;
        }
        if (zpar__records_get (h->records, t, &state, &status, &req, &len, NULL, NULL) == 0 &&
            req && len >= ZPAR_HDR_LEN) {
            if (h->lb_pipe)
                (void)zpar__pipe_send_requeue (h->lb_pipe, req, len, 0);
            requeued++;
        } else {
            /* forgotten: its client, told the task is unknown, submits it
             * again */
            zpar__warn ("task %llu: recorded unfinished, but its request cannot be queued again",
                        (unsigned long long)t.v);
            zpar__idmap_del (h->live, t.v);
            if (l->state == ZPAR_REC_RUNNING && h->n_running)
                h->n_running--;
            else if (l->state == ZPAR_REC_PENDING && h->n_pending)
                h->n_pending--;
            free (l);
        }
        free (req);
    }
    free (ids);
    zpar__info ("recovery done: %llu unfinished task(s) recorded, %llu adopted by engines, %zu "
                "queued again, %zu direct one(s) answered engine-died, %llu held task(s) dropped",
                (unsigned long long)h->n_recovered, (unsigned long long)h->n_adopted, requeued,
                failed, (unsigned long long)h->n_held_dropped);
}

int zpar__hub_resubmit (zpar_hub_t *h, const zpar_hdr_t *hd, const void *req, size_t len)
{
    zpar_tid_t task;
    live_t *l;
    if (!h || !hd || !req || len < ZPAR_HDR_LEN || !hd->task) {
        errno = EINVAL;
        return -1;
    }
    task = zpar__tid (hd->task);
    if ((l = zpar__idmap_get (h->live, task.v))) {
        uint8_t *list = NULL;
        size_t llen = 0;
        if (!l->orphan) {
            errno = EEXIST;
            return -1;
        }
        /* an orphan: now its request is known, recorded and given to the
         * task scheduler, which counts it outstanding where it runs */
        l->orphan = 0;
        l->client = zpar__cid (hd->client);
        (void)zpar__records_put_request (h->records, task, l->client, zpar__eid (0), req, len, NULL,
                                         0, hd->time_us);
        (void)zpar__records_put_running (h->records, task, l->engine, zpar__now_us ());
        if (zpar__pipe_adopt_add (&list, &llen, task.v, req, len) == 0 && h->lb_pipe)
            (void)zpar__pipe_send_adopt (h->lb_pipe, l->engine.v, list, llen, 0);
        free (list);
        return 1;
    }
    if (!(l = calloc (1, sizeof (*l)))) {
        errno = ENOMEM;
        return -1;
    }
    l->state = ZPAR_REC_PENDING;
    l->client = zpar__cid (hd->client);
    l->recovered = (uint8_t)h->recovering;
    if (zpar__idmap_put (h->live, task.v, l) < 0) {
        free (l);
        errno = ENOMEM;
        return -1;
    }
    h->n_pending++;
    (void)zpar__records_put_request (h->records, task, l->client, zpar__eid (0), req, len, NULL, 0,
                                     hd->time_us);
    /* during the recovery window, an engine may still report it: it is
     * queued when the window closes, if nobody did */
    if (!h->recovering && h->lb_pipe)
        (void)zpar__pipe_send_requeue (h->lb_pipe, req, len, 0);
    return 0;
}

/* A client sends a direct task again, with the same id, when a restarted
 * controller answered it "engine not connected" (src/client/resync.c,
 * doubts): the task reached the new controller before its engine had
 * registered again.  That answer was recorded as the task's result, and
 * the records keep a task's first result: left so, the task sent again
 * would run under a finished record, and at the next restart its engine
 * would be told to drop it (finished) while its client, reading the
 * record, sends it a third time: it ran twice.  So the record of that
 * answer is withdrawn and the task recorded anew, unfinished.  Clients do
 * this only for a while after they see a restart: the records are looked
 * at only for RESENT_WINDOW_US after this controller took over from
 * another, four times the clients' window. */
#define RESENT_WINDOW_US (120ULL * 1000000ULL)

int zpar__hub_direct_again (zpar_hub_t *h, zpar_tid_t id)
{
    uint8_t *res = NULL;
    size_t reslen = 0;
    int state, status, again = 0;
    zpar_msg_t *m;
    zpar_proto_result_t r;
    zpar_error_t err;

    if (!h->records || !id.v || !h->recover_start_us ||
        zpar__reactor_now_us (h->r) - h->recover_start_us > RESENT_WINDOW_US)
        return 0;
    if (zpar__records_state (h->records, id, &state, &status) < 0 || state != ZPAR_REC_DONE ||
        status != ZPAR_STATUS_ERROR)
        return 0;
    if (zpar__records_get (h->records, id, &state, &status, NULL, NULL, &res, &reslen) < 0 || !res)
        return 0;
    if ((m = zpar__msg_create (ZPAR_MSG_NONE)) && zpar__msg_unpack (m, res, reslen, &err) == 0 &&
        zpar__proto_result_decode (m, &r, &err) == 0) {
        again = r.errnum == EHOSTUNREACH;
        zpar__proto_result_clear (&r);
    }
    zpar__msg_destroy (m);
    free (res);
    if (!again || zpar__records_purge (h->records, id) < 0)
        return 0;
    if (h->n_notok)
        h->n_notok--;
    zpar__info ("task %llu: sent again after \"engine not connected\": recorded anew",
                (unsigned long long)id.v);
    return 1;
}

/* The window's end: while engines are still coming back (one registered
 * within the last heartbeat period: a loaded node or controller), it
 * stays open a period more, up to RECOVER_MAX times its length. */
#define RECOVER_MAX 4

static void on_recover (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_hub_t *h = arg;
    uint64_t now = zpar__reactor_now_us (r), period = (uint64_t)h->hb_period_ms * 1000u;
    (void)revents;
    if (h->last_register_us && now - h->last_register_us < period &&
        now - h->recover_start_us < RECOVER_MAX * h->recover_ms * 1000u) {
        zpar__timer_watcher_reset (w, (uint64_t)h->hb_period_ms, 0);
        return;
    }
    zpar__hub_end_recovery (h);
    zpar__watcher_stop (w);
}

void zpar__hub_recover_records (zpar_hub_t *h)
{
    (void)zpar__records_unfinished (h->records, recover_one, h);
    if (zpar__records_counter (h->records, "duplicates", &h->dup_base) < 0)
        h->dup_base = 0;
    h->dup_saved = h->dup_base;
}

uint64_t zpar__hub_duplicates (const zpar_hub_t *h)
{
    uint64_t n = h->dup_base + h->n_duplicates + h->n_held_dropped;
    if (h->extra_duplicates)
        n += h->extra_duplicates (h->extra_arg);
    return n;
}

void zpar__hub_duplicates_save (zpar_hub_t *h)
{
    uint64_t n = zpar__hub_duplicates (h);
    if (h->records && n > h->dup_saved &&
        zpar__records_counter_raise (h->records, "duplicates", n) == 0)
        h->dup_saved = n;
}

/* tasks an earlier controller recorded but never finished wait for the
 * engines that hold them to register again; at the end of the window, the
 * others are queued again (load-balanced) or answered engine-died
 * (direct) */
int zpar__hub_recovery_start (zpar_hub_t *h)
{
    if (!(h->w[W_RECOVER] = zpar__timer_watcher_create (h->r, h->recover_ms, 0, on_recover, h)))
        return -1;
    zpar__watcher_start (h->w[W_RECOVER]);
    h->recover_start_us = zpar__reactor_now_us (h->r);
    zpar__info ("restart: %llu unfinished task(s) in the records; engines have %llu ms to report "
                "the tasks they hold (more while they are still coming back)",
                (unsigned long long)h->n_recovered, (unsigned long long)h->recover_ms);
    return 0;
}
