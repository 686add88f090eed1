/* sched_lb_io.h - the load-balanced task scheduler's thread and sockets.
 *
 * Two schemes:
 *
 * leastload (default): a ROUTER<->ROUTER scheduler on its own reactor.
 * It verifies what clients and engines send, feeds the events to the
 * policy (sched_lb.h: least load, stealing, targets, priorities,
 * dependencies, retries) and carries out its decisions: it re-signs and
 * sends a task to the engine the policy picked, asks an engine to give
 * back a task (an ABORT from identity "sched"), answers a client itself
 * when a task cannot run (dependency failed, engine died, aborted...),
 * and asks the hub about dependencies it does not know.
 *
 * pure: a ROUTER<->DEALER device: ZeroMQ's round robin, no tracking, the
 * raw speed of the transport (no retries, targets or dependencies).
 *
 * The hub talks to the scheduler over an inproc PAIR, the "hub pipe"
 * (proto_pipe.h: up, down, done, req, $TERM; the scheduler asks dep?),
 * and the scheduler copies every event to the hub's monitor socket
 * (proto_monitor.h: task_in, task_run, task_out).
 *
 * Thread-safety: start and stop from one thread; the scheduler's sockets
 * belong to its own thread in between.
 */
#ifndef ZPAR__SCHED_LB_IO_H
#define ZPAR__SCHED_LB_IO_H

#include <stddef.h>
#include <stdint.h>

#include "zpar/error.h"

typedef struct zpar_sched_lb_io zpar_sched_lb_io_t;

/* Bind the client and engine sockets (endpoints may use port '*'; the
 * resolved endpoints are written back into the buffers, of size epsize),
 * bind the hub pipe at pipe_ep, connect to the monitor at monitor_ep and
 * start the thread.  scheme: "leastload" (or NULL) or "pure".  hwm: tasks
 * outstanding per engine, 0 for $ZPAR_HWM or the default (16).  key: the
 * cluster key (ZPAR_KEY_LEN bytes).  NULL with err (EINVAL: unknown
 * scheme; a socket that cannot be bound; ENOMEM). */
zpar_sched_lb_io_t *zpar__sched_lb_io_start (void *ctx, const char *scheme, unsigned hwm,
                                             char *client_ep, char *engine_ep, size_t epsize,
                                             const char *monitor_ep, const char *pipe_ep,
                                             const uint8_t *key, zpar_error_t *err);

/* Join the thread (the hub sends $TERM on the pipe first), close the
 * sockets and free everything, queued tasks included.  NULL-safe. */
void zpar__sched_lb_io_stop (zpar_sched_lb_io_t *io);

/* Messages dropped so far (malformed, bad signature, replayed, unexpected
 * type).  May be read from another thread. */
uint64_t zpar__sched_lb_io_dropped (const zpar_sched_lb_io_t *io);

/* Duplicates dropped so far: results from an engine for a task that was
 * not outstanding there (given to another engine, or answered), and
 * second submissions of a task id.  May be read from another thread. */
uint64_t zpar__sched_lb_io_duplicates (const zpar_sched_lb_io_t *io);

/* 1 when the scheduler's sockets do their own TCP I/O (zrouter.h), 0 when
 * they are libzmq's (Curve, ZPAR_TASK_IO=zmq, the pure scheme, an endpoint
 * a zrouter does not take).  NULL-safe. */
int zpar__sched_lb_io_own (const zpar_sched_lb_io_t *io);

#endif
