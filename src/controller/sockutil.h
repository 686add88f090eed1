/* sockutil.h - small helpers for the controller's sockets. */
#ifndef ZPAR__SOCKUTIL_H
#define ZPAR__SOCKUTIL_H

#include <stddef.h>

#include "curve.h"
#include "netlimit.h"
#include "reactor.h"
#include "zpar/error.h"

/* Create a socket of type, bind it to ep (port may be '*'), write the
 * resolved endpoint back into ep (size epsize).  NULL with err.
 * The limits of netlimit.h follow from the type: a ROUTER gets the data
 * limit, a SUB the IOPub limit and a receive HWM of
 * ZPAR_NETLIMIT_IOPUB_RCVHWM (the forwarder reads no further ahead; TCP
 * holds the publisher back), a PUB the subscription limit and a finite
 * send HWM (a subscriber that does not read loses messages, the controller
 * does not grow).  Other HWMs are 0: tasks and results are never dropped.
 * inproc endpoints get no limits. */
void *zpar__bind_socket (void *ctx, int type, char *ep, size_t epsize, zpar_error_t *err);

/* The same with an explicit role (e.g. ZPAR_NET_CONTROL for the registrar
 * and the heartbeat ROUTER, which only ever receive small messages). */
void *zpar__bind_socket_role (void *ctx, int type, zpar_net_role_t role, char *ep, size_t epsize,
                              zpar_error_t *err);

/* The same for a socket of one side of the cluster: side is the ZAP
 * domain of curve.h (ZPAR_CURVE_CLIENT, ZPAR_CURVE_ENGINE, ZPAR_CURVE_ANY;
 * the two functions above use ZPAR_CURVE_ANY).  When ctx has Curve keys
 * (zpar__sockutil_set_curve), every non-inproc socket bound here is a
 * CURVE server whose ZAP domain is side. */
void *zpar__bind_socket_side (void *ctx, int type, const char *side, char *ep, size_t epsize,
                              zpar_error_t *err);
void *zpar__bind_socket_ex (void *ctx, int type, zpar_net_role_t role, const char *side, char *ep,
                            size_t epsize, zpar_error_t *err);

/* Give ctx Curve keys (copied; the server pair is used) for every socket
 * bound on it afterwards; k NULL or Curve off forgets them.  Call before
 * starting the schedulers, with the ZAP handler already bound
 * (zpar__curve_zap_start).  -1 EINVAL (no ctx), ENOSPC (too many). */
int zpar__sockutil_set_curve (void *ctx, const zpar_curve_keys_t *k);

/* The task scheduler's ROUTER for one side (side as above): a zrouter
 * (zrouter.h: zpar reads and writes its TCP connections itself, on the
 * scheduler's thread) when ep is a tcp:// address it takes, ctx has no
 * Curve keys, $ZPAR_TASK_IO is not "zmq" and the process has fewer than
 * 16 zrouters; else a libzmq ROUTER as
 * zpar__bind_socket_side binds it.  Both have the data limit and HWM 0;
 * mandatory: ZMQ_ROUTER_MANDATORY.  Use it through zpar__sock_send,
 * zpar__frames_recv, zpar__sock_watcher_create and zpar__close_socket. */
void *zpar__bind_task_router (void *ctx, const char *side, int mandatory, char *ep, size_t epsize,
                              zpar_error_t *err);
/* The same with the limit of another role (the registrar: ZPAR_NET_CONTROL). */
void *zpar__bind_router (void *ctx, zpar_net_role_t role, const char *side, int mandatory, char *ep,
                         size_t epsize, zpar_error_t *err);
/* The same for type ZMQ_ROUTER, ZMQ_PUB (the heartbeat's pings) or ZMQ_XSUB
 * (IOPub's engines' side): a zrouter of that mode (zrouter.h) on the same
 * conditions, else the libzmq socket of that type (mandatory: a ROUTER's
 * only).  role: the limit of what peers send it. */
void *zpar__bind_own (void *ctx, int type, zpar_net_role_t role, const char *side, int mandatory,
                      char *ep, size_t epsize, zpar_error_t *err);

/* A reactor watcher for input on sock, a libzmq socket or a zrouter (a
 * zrouter's callback must call zpar__zrouter_io before it reads, and
 * zpar__zrouter_done after: zpar__sock_turn does both). */
zpar_watcher_t *zpar__sock_watcher_create (zpar_reactor_t *r, void *sock, zpar_watcher_f cb,
                                           void *arg);

/* Who calls zpar__zrouter_done in a turn (zpar__sock_turn). */
typedef enum {
    ZPAR_TURN_DONE_AFTER,    /* zpar__sock_turn, after the drain */
    ZPAR_TURN_DONE_IN_DRAIN, /* the drain itself (a drain that also runs
                              * without a turn, and may return early) */
} zpar_turn_done_t;

/* Receives what waits on a socket, for zpar__sock_turn. */
typedef void (*zpar_sock_drain_f) (void *arg);

/* One turn of sock, a libzmq socket or a zrouter, from the callback of its
 * watcher (zpar__sock_watcher_create) on sock's own thread: when sock is a
 * zrouter, its I/O (zpar__zrouter_io) first; then drain (arg), which
 * receives what it takes for now (zpar__frames_recv); then, with
 * ZPAR_TURN_DONE_AFTER, zpar__zrouter_done, so that what the drain left
 * keeps the descriptor readable.  With ZPAR_TURN_DONE_IN_DRAIN the drain
 * calls zpar__zrouter_done (zpar__zrouter_of (sock)) itself, or leaves the
 * messages for a later drain that does.  A libzmq socket: drain (arg)
 * only.  0; -1 with errno (zpar__zrouter_io's: epoll failed) when the I/O
 * failed, after the drain (and the done) ran all the same: what an earlier
 * turn queued is still received. */
int zpar__sock_turn (void *sock, zpar_sock_drain_f drain, void *arg, zpar_turn_done_t done);

/* Close with linger 0 (a zrouter: destroyed), NULL-safe. */
void zpar__close_socket (void *sock);

/* Let libzmq finish with the connections of sock that have closed: a
 * closed peer's pipe, session and buffers (~10 KiB) are freed only when
 * the thread that owns sock next calls into it, so a socket that is only
 * written now and then (the hub's notification PUB) kept those of every
 * client gone since.  Call from sock's own thread, e.g. on a timer; one
 * poll(2) of its mailbox.  NULL-safe. */
void zpar__socket_settle (void *sock);

#endif
