/* sched_fixture.h - what the scheduler tests share: their fake peers
 * (clients, engines, the hub's pipe and monitor over inproc ZeroMQ) and the
 * messages they send and read (tasks, raw batch items, the tasks a
 * message or a batch carries).  Test code only: on failure these print a
 * TAP diagnostic ("# ...") and return NULL/-1; they never emit a test
 * line.
 *
 * sched_fixture.c needs libzpar_common only (batch-client links it);
 * sched_fixture_lb.c (sfx_lb_start) also needs libzpar_core. */
#ifndef ZPAR_SCHED_FIXTURE_H
#define ZPAR_SCHED_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "msg.h"
#include "wire.h"

struct zpar_sched_lb_io;

/* The longest routing identity sfx_recv_items copies out (its id buffer
 * holds at least this many bytes). */
#define SFX_ID_MAX 255

/* A socket of type on ctx connected to ep: receive timeout 5 s, linger 0,
 * routing identity ident (len bytes) when ident, subscribed to all when a
 * SUB.  The caller closes it. */
void *sfx_peer (void *ctx, int type, const void *ident, size_t len, const char *ep);

/* A command task "true" from client 1: task id, retries, dependencies
 * after[0..nafter), and (when engine != 0) addressed to that engine.  The
 * caller destroys it; NULL when it cannot be made. */
zpar_msg_t *sfx_task_msg_full (uint64_t id, uint64_t retries, const zpar_tid_t *after,
                               size_t nafter, uint32_t engine);
/* The same with no retries, dependencies or engine. */
zpar_msg_t *sfx_task_msg (uint64_t id);

/* Add m as a raw item (its header with the channel bits of chan, then its
 * body) to b, an ordinary message of type BATCH under construction; takes
 * m (NULL: nothing added). */
void sfx_raw_item (zpar_msg_t *b, zpar_msg_t *m, zpar_chan_t chan);

/* Called for each task a message carries: its header and body. */
typedef void (*sfx_item_fn) (void *arg, const zpar_hdr_t *h, const void *body, size_t blen);

/* Receive the next message on sock as frames, check it for chan, and call
 * fn for what it carries: the message itself, or each item of a batch.
 * When idlen: the routing identity it came behind (0 bytes when none) into
 * *idlen, its bytes into id when at most SFX_ID_MAX.  Returns the message's
 * type; -1 on timeout or a message that fails the check. */
int sfx_recv_items (void *sock, zpar_signer_t *sg, zpar_chan_t chan, sfx_item_fn fn, void *arg,
                    uint8_t *id, size_t *idlen);

/* The tasks ids[0..n) (sfx_task_msg) as one batch on sock, signed with
 * sg.  0 / -1. */
int sfx_send_tasks (void *sock, zpar_signer_t *sg, const uint64_t *ids, size_t n);
/* Receive messages on sock (its receive timeout bounds each) until n task
 * ids of messages or batch items of type `type` came: their ids into ids
 * (NULL: only counted), the number of messages into *msgs (may be NULL);
 * m is the scratch message.  Returns the ids received. */
size_t sfx_recv_ids (void *sock, zpar_signer_t *sg, int type, uint64_t *ids, size_t n, int *msgs,
                     zpar_msg_t *m);
/* An engine answers the tasks ids[0..n), status ok, for the client of
 * routing identity client (clen bytes), one message each, as engine 1.
 * 0 / -1. */
int sfx_answer_ok (void *engine, zpar_signer_t *sg, const uint64_t *ids, size_t n,
                   const void *client, size_t clen);
/* The load-balanced scheduler with a fake hub: binds *mon (a SUB,
 * subscribed to all when subscribe) at inproc://<name>-mon, starts the
 * scheduler (scheme, hwm) on client_ep/engine_ep (resolved endpoints
 * written back, buffers of epsize) with the pipe inproc://<name>-pipe, and
 * connects *pipe (a PAIR) to it.  Returns the scheduler, NULL with err set
 * when it does not start (*mon and *pipe are made either way). */
struct zpar_sched_lb_io *sfx_lb_start (void *ctx, const char *name, const char *scheme,
                                       unsigned hwm, char *client_ep, char *engine_ep,
                                       size_t epsize, const uint8_t *key, int subscribe, void **mon,
                                       void **pipe, zpar_error_t *err);

/* The fake hub's $TERM, then the scheduler stopped and *mon and *pipe
 * closed.  0, or -1 when $TERM could not be sent. */
int sfx_lb_stop (struct zpar_sched_lb_io *io, void *mon, void *pipe);
#endif
