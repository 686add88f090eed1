/* task_runner_int.h - what the files of the engine's task queue share
 * (internal to task_runner.c and task_runner_out.c; see task_runner.h).
 *
 *   task_runner.c      tasks in, one at a time through the runner, control
 *                      requests, held and dropped tasks, lifecycle
 *   task_runner_out.c  the message pool and lists; results out: the
 *                      outbox, its retry, results kept after sending
 */
#ifndef ZPAR__TASK_RUNNER_INT_H
#define ZPAR__TASK_RUNNER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "proto_task.h"
#include "reactor.h"
#include "runner.h"
#include "task_runner.h"

#define INTERRUPT_GRACE_MS 2000u /* SIGINT -> SIGKILL */
#define DROP_GRACE_MS      1000u /* a dropped task: SIGTERM -> SIGKILL */
#define STOP_GRACE_MS      500u  /* the engine stops: SIGTERM -> SIGKILL */
#define OUTBOX_RETRY_MS    100u  /* retry results that could not be sent */
#define RECENT_MAX         1024u /* results kept after sending (zpar__task_runner_resend) */
#define RECENT_US          (10u * 1000000u) /* ... for this long at most */
#define RECENT_SLACK       4096u /* a kept result's buffer may exceed twice its size by this */
#define OUTPUT_CAP_MAX     (128u * 1024 * 1024)
#define POOL_MAX           64

typedef struct qent {
    zpar_msg_t *m;
    zpar_proto_task_t t;   /* m decoded once (its byte fields point into m) */
    zpar_engine_queue_t q; /* where the answer goes */
    int fenced;            /* outbox: a fenced task's result (not held) */
    struct qent *next;
} qent_t;

typedef struct {
    qent_t *head, *tail;
    size_t len;
} qlist_t;

struct zpar_task_runner {
    zpar_reactor_t *reactor;
    zpar_task_runner_ops_t ops;
    zpar_runner_t *runner;
    zpar_watcher_t *w_kick;  /* zero-delay: start the next task */
    zpar_watcher_t *w_retry; /* outbox retry */
    char host[256];
    uint32_t id;
    qlist_t queue;        /* tasks received, not started */
    qent_t *cur;          /* the task running (or finished, result pending) */
    uint64_t streamed[2]; /* its stdout / stderr bytes published so far */
    int cur_inline;
    int cur_dropped; /* forget its result */
    uint64_t dropped;
    qlist_t outbox; /* results waiting to be sent */
    struct {
        zpar_msg_t *m; /* a copy, with its envelope */
        zpar_engine_queue_t q;
        uint64_t at_us;   /* monotonic time it was sent */
    } recent[RECENT_MAX]; /* a ring: results sent lately */
    unsigned nrecent;     /* results ever kept (the next slot is nrecent % RECENT_MAX) */
    /* results of the task queue ready in this turn of the loop, sent
     * together by zpar__tr_flush_ready (when batching) */
    int batching;
    int hold; /* > 0: inside a turn, results wait in ready */
    zpar_msg_t *ready[ZPAR_BATCH_MAX];
    size_t nready;
    uint64_t ready_since; /* monotonic time of the first */
    zpar_batch_t *batch;
    uint64_t batched, batches;
    zpar_msg_t *pool[POOL_MAX];
    int npool;
    uint64_t done;
    uint64_t fenced; /* tasks the keeper fenced */
    zpar_keeper_t *keeper;
    int stopped;
};

/* task_runner_out.c: the message pool (a message of type, or back to the
 * pool), the lists, a task entry freed with its message */
zpar_msg_t *zpar__tr_msg_get (zpar_task_runner_t *tr, zpar_msg_type_t type);
void zpar__tr_msg_put (zpar_task_runner_t *tr, zpar_msg_t *m);
void zpar__tr_ql_push (qlist_t *l, qent_t *t);
qent_t *zpar__tr_ql_pop (qlist_t *l);
void zpar__tr_ql_free (qlist_t *l);
void zpar__tr_qent_free (zpar_task_runner_t *tr, qent_t *t);
/* Take the entries of task out of list l (outbox: entries that hold a
 * result, else task entries), freed; how many. */
int zpar__tr_ql_remove (zpar_task_runner_t *tr, qlist_t *l, zpar_tid_t task, int outbox);
/* Take task's results out of ready (freed); how many. */
int zpar__tr_ready_remove (zpar_task_runner_t *tr, zpar_tid_t task);
/* Forget the kept copies of task's results (not to be sent again); how
 * many. */
int zpar__tr_recent_forget (zpar_task_runner_t *tr, zpar_tid_t task);
/* Send result m on queue q now, or keep it in the outbox.  Takes m. */
void zpar__tr_send_result (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t *m);
/* Send the results waiting in ready: as batches, one per run of the same
 * envelope (one alone as an ordinary message); into the outbox when they
 * cannot go. */
void zpar__tr_flush_ready (zpar_task_runner_t *tr);
/* Enter / leave a turn of the loop: results wait in ready until the
 * outermost leave. */
void zpar__tr_hold (zpar_task_runner_t *tr);
void zpar__tr_release (zpar_task_runner_t *tr);
/* The outbox retry timer's callback (arg: tr). */
void zpar__tr_retry_outbox (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg);

#endif
