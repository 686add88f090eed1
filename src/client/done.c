/* done.c - futures reaching their end: a result or a final error, the
 * client's done callback (zpar_client_on_done), and the wake-up a thread
 * other than the client's may give a waiting call (zpar_client_wake). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "client.h"
#include "error.h"

static void notify_done (zpar_client_t *c, zpar_future_t *f)
{
    zpar__client_done_queue (c, f);
    if (c->done_cb)
        c->done_cb (c->done_arg, f);
}

void zpar__client_complete (zpar_client_t *c, zpar_future_t *f, zpar_result_t *r)
{
    if (!r)
        return;
    if (f->result || f->err_no) {
        zpar_result_destroy (r); /* a late duplicate: the first answer stands */
        return;
    }
    f->result = r;
    zpar__client_window_done (c, f);
    if (f->remote && c->nremote)
        c->nremote--;
    if (c->outstanding)
        c->outstanding--;
    free (f->req); /* done: never submitted again */
    f->req = NULL;
    if (f->doubt) {
        zpar_result_destroy (f->doubt);
        f->doubt = NULL;
        if (c->ndoubt)
            c->ndoubt--;
    }
    notify_done (c, f);
}

void zpar__client_remote_fail (zpar_client_t *c, zpar_future_t *f, int e, const char *text)
{
    f->err_no = e;
    snprintf (f->err_text, sizeof (f->err_text), "%s", text);
    zpar__client_window_done (c, f);
    if (c->nremote)
        c->nremote--;
    if (c->outstanding)
        c->outstanding--;
    free (f->req); /* never submitted again */
    f->req = NULL;
    notify_done (c, f);
}

ZPAR_API int zpar_client_on_done (zpar_client_t *c, zpar_done_f cb, void *arg)
{
    if (!c) {
        errno = EINVAL;
        return -1;
    }
    c->done_cb = cb;
    c->done_arg = cb ? arg : NULL;
    return 0;
}

/* The wake-up descriptor is readable: empty it and end the current
 * zpar_client_poll (other waits go on waiting for what they wait for). */
static void on_wake (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg)
{
    zpar_client_t *c = arg;
    uint64_t v;
    while (read (c->wake_fd, &v, sizeof (v)) == (ssize_t)sizeof (v))
        ;
    c->interrupted = 1;
}

int zpar__client_wake_init (zpar_client_t *c)
{
    zpar_watcher_t *w;
    if ((c->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        return -1;
    if (!(w = zpar__fd_watcher_create (c->r, c->wake_fd, ZPAR_EV_IN, on_wake, c)))
        return -1; /* the descriptor is closed with the client */
    zpar__watcher_start (w);
    return 0;
}

ZPAR_API int zpar_client_wake (zpar_client_t *c)
{
    uint64_t one = 1;
    int fd = c ? c->wake_fd : -1;
    if (fd < 0) {
        errno = EINVAL;
        return -1;
    }
    /* EAGAIN: the counter is full, a wake-up is pending anyway */
    if (write (fd, &one, sizeof (one)) < 0 && errno != EAGAIN)
        return -1;
    return 0;
}
