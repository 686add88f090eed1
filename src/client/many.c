/* many.c - calls over many futures at once, for programs that reach
 * libzpar through a foreign-function interface (the Python client), where
 * each call costs more than the work it does: zpar_submit_many, and the
 * done queue (zpar_client_collect_done, zpar_client_take_done), a list
 * through the futures themselves, so that queueing never allocates. */
#include "config.h"

#include <errno.h>

#include "client.h"
#include "error.h"

ZPAR_API size_t zpar_submit_many (zpar_client_t *c, const zpar_task_t *const *ts, size_t n,
                                  zpar_future_t **fs, zpar_task_id_t *ids, zpar_error_t *err)
{
    size_t k;
    if (!fs || (n && !ts)) {
        errno = EINVAL;
        zpar__errprintf (err, "no tasks or no room for their futures");
        return 0;
    }
    for (k = 0; k < n; k++) {
        if (!(fs[k] = zpar_submit (c, ts[k], err)))
            break;
        if (ids)
            ids[k] = zpar_future_id (fs[k]);
    }
    for (size_t i = k; i < n; i++)
        fs[i] = NULL;
    return k;
}

void zpar__client_done_queue (zpar_client_t *c, zpar_future_t *f)
{
    if (!c->collect_done || f->done_queued)
        return;
    f->done_queued = 1;
    f->done_next = NULL;
    f->done_prev = c->done_tail;
    if (c->done_tail)
        c->done_tail->done_next = f;
    else
        c->done_head = f;
    c->done_tail = f;
}

void zpar__client_done_forget (zpar_client_t *c, zpar_future_t *f)
{
    if (!f->done_queued)
        return;
    if (f->done_prev)
        f->done_prev->done_next = f->done_next;
    else
        c->done_head = f->done_next;
    if (f->done_next)
        f->done_next->done_prev = f->done_prev;
    else
        c->done_tail = f->done_prev;
    f->done_queued = 0;
    f->done_prev = f->done_next = NULL;
}

ZPAR_API int zpar_client_collect_done (zpar_client_t *c, int on)
{
    if (!c) {
        errno = EINVAL;
        return -1;
    }
    c->collect_done = on != 0;
    if (!on)
        while (c->done_head)
            zpar__client_done_forget (c, c->done_head);
    return 0;
}

ZPAR_API size_t zpar_client_take_done (zpar_client_t *c, zpar_future_t **fs, int *status,
                                       size_t max)
{
    size_t k = 0;
    if (!c || !fs) {
        errno = EINVAL;
        return 0;
    }
    while (k < max && c->done_head) {
        zpar_future_t *f = c->done_head;
        zpar__client_done_forget (c, f);
        fs[k] = f;
        if (status)
            status[k] = f->result ? (int)zpar_result_status (f->result) : ZPAR_STATUS_PENDING;
        k++;
    }
    return k;
}
