/* pack.c - load-balanced submits packed into batches (proto_batch.h).
 *
 * zpar_submit does not send a load-balanced task by itself: it adds the
 * request to the client's pending batch.  The batch goes (one ordinary
 * message when it holds one task, one signed batch when more)
 *
 *   - when the client next polls, waits or asks the controller anything
 *     (every call that reads the sockets: zpar__client_pump, and
 *     zpar__client_call before its request, so an abort or a sync always
 *     follows the tasks it names);
 *   - when it holds ZPAR_BATCH_MAX tasks or as many bytes as a message may
 *     carry;
 *   - when a submit finds the oldest pending task ZPAR_CLIENT_BATCH_AGE_US
 *     old (a program that submits slowly without polling;
 *     $ZPAR_CLIENT_BATCH_AGE_US, in microseconds, changes it, 0: never);
 *   - at zpar_flush, at zpar_future_destroy of a pending task's future, and
 *     at zpar_client_destroy.
 *
 * Nothing waits to fill a batch: a lone submit followed by a wait goes at
 * once, as the one message it always was.  A program that submits and
 * then leaves the library alone (no poll, no wait, no destroy) must call
 * zpar_flush, as a stdio program calls fflush (include/zpar.h).
 *
 * Each pending future keeps its packed request (f->req) as every future
 * does until its result: when a send fails, the batch is built again from
 * those and sent at the next occasion; nothing pending is lost.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "client.h"
#include "error.h"

/* Rebuild the pending batch from the futures' kept requests (the builder
 * is reset by a send, whatever its outcome). */
static void rebuild (zpar_client_t *c)
{
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    size_t n = 0;
    zpar__batch_reset (c->pend);
    for (size_t i = 0; i < c->npend; i++) {
        zpar_future_t *f = c->pendf[i];
        zpar_error_t perr;
        if (!m || !f->req || zpar__msg_unpack (m, f->req, f->req_len, &perr) < 0 ||
            zpar__batch_add_msg (c->pend, m) < 0) {
            f->pending = 0; /* cannot happen (it fitted before): resync.c's sync covers it */
            continue;
        }
        c->pendf[n++] = f;
    }
    c->npend = n;
    zpar__msg_destroy (m);
}

int zpar__client_flush (zpar_client_t *c)
{
    size_t sent = 0;
    int e;
    if (!c->npend)
        return 0;
    if (zpar__batch_send (c->pend, c->sock[S_TASK], c->signer, ZPAR_CHAN_TASK, 0, NULL, 0, &sent) ==
        0) {
        for (size_t i = 0; i < c->npend; i++)
            c->pendf[i]->pending = 0;
        c->npend = 0;
        return 0;
    }
    e = errno;
    rebuild (c);
    errno = e;
    return -1;
}

int zpar__client_pend (zpar_client_t *c, zpar_future_t *f, const zpar_msg_t *m)
{
    int rc;
    if (c->npend >= ZPAR_BATCH_MAX && zpar__client_flush (c) < 0)
        return -1;
    rc = zpar__batch_add_msg (c->pend, m);
    if (rc < 0 && errno == ENOSPC) {
        /* full (bytes): send what it holds, then this one starts the next */
        if (zpar__client_flush (c) < 0)
            return -1;
        rc = zpar__batch_add_msg (c->pend, m);
    }
    if (rc < 0)
        return -1;
    if (c->npend == 0)
        c->pend_since_us = f->created_us;
    c->pendf[c->npend++] = f;
    f->pending = 1;
    if (c->npend >= ZPAR_BATCH_MAX ||
        (c->pend_age_us && f->created_us - c->pend_since_us >= c->pend_age_us))
        (void)zpar__client_flush (c); /* on failure they stay pending: the next occasion */
    return 0;
}

void zpar__client_pend_forget (zpar_client_t *c, zpar_future_t *f)
{
    size_t n = 0;
    if (!f->pending)
        return;
    /* its task goes, as a sent task goes whatever becomes of its future */
    if (zpar__client_flush (c) == 0 || !f->pending)
        return;
    for (size_t i = 0; i < c->npend; i++)
        if (c->pendf[i] != f)
            c->pendf[n++] = c->pendf[i];
    c->npend = n;
    f->pending = 0;
    rebuild (c);
}

ZPAR_API int zpar_flush (zpar_client_t *c, zpar_error_t *err)
{
    if (!c) {
        errno = EINVAL;
        return zpar__errprintf (err, "no client");
    }
    zpar__client_window_release (c, 0); /* what the window has room for */
    if (zpar__client_flush (c) < 0) {
        int e = errno;
        return zpar__errnoprintf (err, e,
                                  "cannot send the submitted tasks: %s (they stay "
                                  "pending: the next call sends them)",
                                  zmq_strerror (e));
    }
    return 0;
}
