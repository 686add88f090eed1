/* taskq.h - the load-balanced task scheduler, in its own thread.
 *
 * leastload (default): a ROUTER<->ROUTER scheduler that knows each
 * engine's outstanding count.  A task goes to the live engine with the
 * fewest outstanding tasks (below the per-engine high-water mark, default
 * 4, so engines never wait a round trip for their next task); when an
 * engine goes idle with nothing ready, the scheduler steals back a task
 * that is queued, not started, on a busy engine, so no task waits behind a
 * long one while another engine is idle.  It honours targets, priorities
 * (higher first, FIFO within a priority) and dependencies (a task waits
 * until every task it is after has succeeded; it fails with status
 * "dependency" if one did not).  When an engine dies its tasks are retried
 * elsewhere within their retry budget, else answered "engine died"; a task
 * that fails on an engine is retried while it has retries left.
 *
 * pure: a ROUTER<->DEALER device: ZeroMQ's round robin, no tracking, the
 * raw speed of the transport (no retries, targets or dependencies).
 *
 * The hub talks to the scheduler over an inproc PAIR (the "hub pipe"):
 *   hub -> taskq  "up" <engine id u32>           engine registered
 *                 "down" <engine id u32>         engine died/unregistered
 *                 "done" <task id u64> <ok u8>   a task finished elsewhere
 *                 "$TERM"                        stop
 * and the scheduler reports every event to the hub's monitor socket:
 *   "task_in"  frames    a task was submitted
 *   "task_run" frames    a task was sent to engine hdr.engine
 *   "task_out" frames    a result went back to its client
 */
#ifndef ZPAR__TASKQ_H
#define ZPAR__TASKQ_H

#include <stddef.h>
#include <stdint.h>

#include "zpar/error.h"

typedef struct zpar_taskq zpar_taskq_t;

/* Tasks outstanding per engine by default (also $ZPAR_HWM): enough to
 * hide the round trip between a result and the next task; work stealing
 * keeps a queued task from waiting behind a long one. */
#define ZPAR_TASKQ_DEFAULT_HWM 4

/* Bind both sides, connect to the monitor and bind the hub pipe at
 * pipe_ep, start the thread.  scheme: "leastload" or "pure". */
zpar_taskq_t *zpar__taskq_start (void *ctx, const char *scheme, unsigned hwm, char *client_ep,
                                 char *engine_ep, size_t epsize, const char *monitor_ep,
                                 const char *pipe_ep, const uint8_t *key, zpar_error_t *err);

/* Join the thread (after "$TERM" was sent on the pipe) and free. */
void zpar__taskq_stop (zpar_taskq_t *q);

uint64_t zpar__taskq_dropped (const zpar_taskq_t *q);

#endif
