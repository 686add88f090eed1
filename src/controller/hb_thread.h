/* hb_thread.h - the controller's heartbeat thread.
 *
 * An actor: it sends the pings (hb_ping PUB), reads the pongs (hb_pong
 * ROUTER) and judges the engines' hearts (heartbeat.c) on a reactor of its
 * own, so that no amount of task traffic in the hub's thread delays a ping
 * or a pong.  It talks to the hub only over an inproc PAIR pipe, with the
 * messages of proto_hb.h: the hub says WATCH (an engine registered, with
 * its routing identity and the hub's generation number for that
 * registration) and UNWATCH; the thread answers SUSPECT, REVIVED and DEAD
 * (with how long the engine was silent and how many pings it left
 * unanswered).  An engine the thread found dead is no longer watched: it
 * comes back only by registering again (the hub sends a new WATCH); its
 * pongs, and those of any identity the thread does not count, are answered
 * with the re-register nudge (proto_hb.h), once a period at most.
 *
 * Each period the thread first reads every pong waiting, then judges,
 * then pings.  A tick that runs late by more than half a period (the
 * thread was not scheduled) is logged and the engines are excused for the
 * lateness: a controller that did not run does not blame its engines.
 *
 * Ownership: zpar__hb_thread_start takes the two sockets (created and
 * bound by the caller's thread; handed over at pthread_create) and closes
 * them at zpar__hb_thread_stop.  The hub's end of the pipe
 * (zpar__hb_thread_pipe) belongs to the thread that called start and is
 * used only there.
 */
#ifndef ZPAR__HB_THREAD_H
#define ZPAR__HB_THREAD_H

#include <stdint.h>

#include "zpar/error.h"

typedef struct zpar_hb_thread zpar_hb_thread_t;

/* Start the thread with *ping (PUB, bound) and *pong (ROUTER, bound),
 * sockets of the context sock_ctx; the pipe to the hub is made in ctx
 * (the hub's).  Both sockets are taken (set to NULL) even on failure.
 * The pong socket's monitor reports its closed connections
 * (ZMQ_EVENT_DISCONNECTED): an engine whose pongs came on a connection
 * that closed is dead at the next tick (the kernel closed it: its process
 * exited) unless it pongs on a new one first.  period_ms > 0,
 * 0 < misses <= ZPAR_HEARTBEAT_MAX_MISSES; session: the controller's
 * session, carried in every ping.  NULL with err (EINVAL, ENOMEM, a
 * pthread or zmq error). */
zpar_hb_thread_t *zpar__hb_thread_start (void *ctx, void *sock_ctx, void **ping, void **pong,
                                         int period_ms, int misses, uint64_t session,
                                         zpar_error_t *err);

/* Whether pongs not counted are answered with the nudge (default: yes). */
void zpar__hb_thread_set_nudge (zpar_hb_thread_t *t, int on);

/* The hub's end of the pipe (PAIR): send WATCH/UNWATCH, read events. */
void *zpar__hb_thread_pipe (zpar_hb_thread_t *t);

/* Stop the thread (TERM over the pipe), join it, close every socket, free.
 * NULL-safe. */
void zpar__hb_thread_stop (zpar_hb_thread_t *t);

/* Pongs read / dropped (not counted: malformed, unknown identity, another
 * session) / nudges sent, and ticks that ran late, so far (approximate
 * while it runs, safe from any thread).  0 for NULL. */
uint64_t zpar__hb_thread_pongs (const zpar_hb_thread_t *t);
uint64_t zpar__hb_thread_dropped (const zpar_hb_thread_t *t);
uint64_t zpar__hb_thread_nudged (const zpar_hb_thread_t *t);
uint64_t zpar__hb_thread_late_ticks (const zpar_hb_thread_t *t);

#endif
