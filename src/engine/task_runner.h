/* task_runner.h - the engine's task queue (internal).
 *
 * The task runner receives what the engine's MUX, task and control sockets
 * deliver, keeps the tasks in one FIFO, runs them one at a time through
 * the runner (runner.h), and sends back through the engine:
 *   - the RESULT of each task, on the queue the task came from, with the
 *     task's routing envelope; results that cannot be sent (no connection,
 *     EAGAIN) wait in an outbox, in order, retried every 100 ms and on
 *     zpar__task_runner_flush;
 *   - IOPub task_status (started / finished) and stream messages;
 *   - answers to control requests: ABORT of a queued task, INTERRUPT of
 *     the running one, SHUTDOWN (passed on to the engine), and the task
 *     scheduler's steal (an ABORT on the task queue).
 *
 * It owns no socket: the engine gives it callbacks.  Tasks start from a
 * zero-delay timer, so that everything ready on the sockets in one wake-up
 * (an abort on the control queue included) is seen before a task runs.
 *
 * Thread-safety: one thread, the reactor's.
 */
#ifndef ZPAR__TASK_RUNNER_H
#define ZPAR__TASK_RUNNER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "keeper.h"
#include "msg.h"
#include "proto_batch.h"
#include "reactor.h"
#include "zpar/error.h"

/* Where a message came from, and where its answer goes. */
typedef enum {
    ZPAR_ENGINE_Q_MUX = 0,
    ZPAR_ENGINE_Q_TASK = 1,
    ZPAR_ENGINE_Q_CONTROL = 2,
    ZPAR_ENGINE_NQ = 3,
} zpar_engine_queue_t;

typedef struct zpar_task_runner zpar_task_runner_t;

typedef struct {
    /* Send m (borrowed) on queue q now, without blocking.  0, or -1 with
     * errno (ENOTCONN, EAGAIN: results are kept and sent later). */
    int (*send) (void *arg, zpar_engine_queue_t q, zpar_msg_t *m);
    /* Send the results in b (several, of queue q, all with the routing
     * envelope env) now, as one batch, without blocking (proto_batch.h:
     * zpar__batch_send; b is emptied whatever the outcome).  0, or -1
     * with errno as send.  May be NULL: results go one by one. */
    int (*send_batch) (void *arg, zpar_engine_queue_t q, zpar_batch_t *b, int nenv,
                       const zpar_ident_t *env);
    /* Publish m (borrowed) on IOPub, best effort.  May be NULL. */
    void (*publish) (void *arg, zpar_msg_t *m);
    /* The control queue asked for a shutdown (already answered).  May be
     * NULL. */
    void (*shutdown) (void *arg);
    /* The keeper fenced (zpar__keeper_fence_seen): no task starts until
     * zpar__task_runner_kick after zpar__keeper_resume.  Called once per
     * task it held back; may be NULL. */
    void (*fenced) (void *arg);
    void *arg;
} zpar_task_runner_ops_t;

typedef struct {
    const char *host;                 /* reported in every result (copied) */
    int rank;                         /* launcher rank, -1 if none */
    void *mpi_comm;                   /* engines-only communicator for function tasks, or NULL */
    volatile sig_atomic_t *cancelled; /* what inline tasks see, or NULL */
    zpar_keeper_t *keeper;            /* told every task's process group (borrowed), or NULL */
} zpar_task_runner_opts_t;

/* Create on reactor r (borrowed).  ops is copied.  NULL with errno
 * (EINVAL: r, ops, ops->send or opts NULL; ENOMEM) and err. */
zpar_task_runner_t *zpar__task_runner_create (zpar_reactor_t *r, const zpar_task_runner_ops_t *ops,
                                              const zpar_task_runner_opts_t *opts,
                                              zpar_error_t *err);

/* Kill a running task (no result is sent), drop the queue and the outbox.
 * NULL-safe, keeps errno. */
void zpar__task_runner_destroy (zpar_task_runner_t *tr);

/* The engine id results and IOPub messages carry (after registration). */
void zpar__task_runner_set_engine (zpar_task_runner_t *tr, uint32_t id);

/* Results of the task queue in batches (on: ops.send_batch given and the
 * controller's scheduler splits them, the leastload scheme): the results
 * ready when the engine's loop comes round (the tasks of one wake-up, or
 * inline tasks run back to back for at most ZPAR_TR_READY_BUDGET_US) go
 * as one message.  Off (the default): each result goes on its own. */
void zpar__task_runner_set_batching (zpar_task_runner_t *tr, int on);

/* Hand over a message received on queue q.  Takes *m (sets it NULL) when
 * it keeps it (a TASK), else leaves it to the caller, who may reuse it.
 * Control requests are answered at once.  0, or -1 with errno EINVAL (bad
 * arguments) or EPROTO (a message that has no business on q: dropped with
 * a warning). */
int zpar__task_runner_recv (zpar_task_runner_t *tr, zpar_engine_queue_t q, zpar_msg_t **m);

/* Try to send the outbox now (the engine is connected again). */
void zpar__task_runner_flush (zpar_task_runner_t *tr);

/* Start the next queued task soon (the fence that held them back ended). */
void zpar__task_runner_kick (zpar_task_runner_t *tr);

/* Stop: end the running task's process group (SIGTERM, then SIGKILL after
 * a short grace; no result is sent: the hub treats it as lost with its
 * engine), start nothing any more.  Blocks for the grace at most.  The
 * outbox stays (flush it before unregistering).  1 if a task was killed. */
int zpar__task_runner_stop (zpar_task_runner_t *tr);

/* The tasks held whose result the controller does not have: the running
 * one, the queued ones, then those whose result waits in the outbox, in
 * that order (what REGISTER_ENGINE reports as HELD).  Writes at most max
 * ids; returns how many there are (may be more than max). */
size_t zpar__task_runner_held (const zpar_task_runner_t *tr, zpar_tid_t *ids, size_t max);

/* The tasks whose results were sent since since_us (monotonic; those
 * zpar__task_runner_resend would send again): a controller that died may
 * not have recorded them, so REGISTER_ENGINE reports them as HELD too and
 * the new controller adopts them (their result is on its way) or says
 * DROP (it has the result).  Writes at most max ids; returns how many
 * there are. */
size_t zpar__task_runner_sent_since (const zpar_task_runner_t *tr, uint64_t since_us,
                                     zpar_tid_t *ids, size_t max);

/* Forget task `task` without sending a result (the controller gave it to
 * another engine, or has its result): a queued task is removed, the
 * running one is stopped (SIGTERM to its process group, SIGKILL after a
 * grace; the next task starts once it has ended) and its result thrown
 * away, a result waiting in the outbox is thrown away, and so is a result
 * kept to be sent again (zpar__task_runner_resend).  1 if the task was
 * held, 0 if not, -1 EINVAL. */
int zpar__task_runner_drop (zpar_task_runner_t *tr, zpar_tid_t task);

/* The controller was lost: send again (through the outbox) the results
 * sent since since_us (monotonic; up to 1,024 of them, of the last 10 s):
 * a controller that died may have had them in memory only, or they went
 * into a connection that was gone.  The hub records a task's first result
 * and counts the others as duplicates.  Returns how many were queued. */
size_t zpar__task_runner_resend (zpar_task_runner_t *tr, uint64_t since_us);

/* How long results of inline tasks run back to back wait for the others
 * before they go (microseconds). */
#define ZPAR_TR_READY_BUDGET_US 1000u

/* Counters: tasks queued (not started), results waiting, tasks run. */
size_t zpar__task_runner_queued (const zpar_task_runner_t *tr);
size_t zpar__task_runner_outbox (const zpar_task_runner_t *tr);
uint64_t zpar__task_runner_done (const zpar_task_runner_t *tr);
/* Results sent in batches, and the batches. */
uint64_t zpar__task_runner_batched (const zpar_task_runner_t *tr, uint64_t *batches);

#endif
