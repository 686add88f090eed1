/* runner_io.c - the task runner's byte buffers and output capture: the
 * head of stdout/stderr kept up to the cap, the whole stream in an
 * overflow file past it, the function result pipe.  See runner.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "fnctx.h"
#include "log.h"
#include "runner_int.h"

#define READ_ROUNDS 16 /* reads per stream per wakeup (fairness) */

int zpar__runbuf_append (zpar_runbuf_t *b, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    if (b->len + len > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        uint8_t *nb;
        while (ncap < b->len + len)
            ncap *= 2;
        if (!(nb = realloc (b->data, ncap)))
            return -1;
        b->data = nb;
        b->cap = ncap;
    }
    memcpy (b->data + b->len, data, len);
    b->len += len;
    return 0;
}

void zpar__runbuf_reset (zpar_runbuf_t *b)
{
    if (b->cap > ZPAR_RUNNER_KEEP_BUF_MAX) {
        free (b->data);
        b->data = NULL;
        b->cap = 0;
    }
    b->len = 0;
}

void zpar__runbuf_free (zpar_runbuf_t *b)
{
    free (b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void zpar__runner_close_fd (int *fd)
{
    if (*fd >= 0) {
        close (*fd);
        *fd = -1;
    }
}

/* The child's end is dup2'ed onto 1/2, which clears close-on-exec there. */
int zpar__runner_pipe (int p[2])
{
    if (pipe2 (p, O_CLOEXEC) < 0)
        return -1;
    if (fcntl (p[0], F_SETFL, O_NONBLOCK) < 0) {
        close (p[0]);
        close (p[1]);
        return -1;
    }
    return 0;
}

static void overflow_open (zpar_runner_t *r, int idx)
{
    char dir[PATH_MAX - 64], *path = idx == 0 ? r->res.out_file : r->res.err_file;
    size_t psize = sizeof (r->res.out_file);
    int fd;

    if (r->ofd[idx] >= 0 || r->task_id == 0 || path[0] == '\x01')
        return;
    if (zpar__zpar_dir (dir, sizeof (dir)) < 0)
        goto fail;
    if (strlen (dir) + 8 >= sizeof (dir))
        goto fail;
    strcat (dir, "/output");
    if (zpar__mkdir_p (dir, 0700) < 0 ||
        zpar__dir_check_private (dir, "output directory", NULL) < 0)
        goto fail;
    snprintf (path, psize, "%s/%u.%u.%s", dir, (unsigned)(r->task_id >> 32),
              (unsigned)(r->task_id & 0xffffffffu), idx == 0 ? "out" : "err");
    if ((fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
        goto fail;
    r->ofd[idx] = fd;
    return;
fail:
    zpar__warn ("cannot write the overflow of task %u.%u's %s: %s", (unsigned)(r->task_id >> 32),
                (unsigned)(r->task_id & 0xffffffffu), idx == 0 ? "stdout" : "stderr",
                strerror (errno));
    path[0] = '\x01'; /* do not try again for this task */
    path[1] = '\0';
}

static void ofd_write (zpar_runner_t *r, int idx, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (r->ofd[idx] >= 0 && len > 0) {
        ssize_t n = write (r->ofd[idx], p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            zpar__warn ("overflow file write: %s", strerror (errno));
            zpar__runner_close_fd (&r->ofd[idx]);
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

static void keep (zpar_runner_t *r, int idx, const uint8_t *data, size_t len)
{
    zpar_runbuf_t *b = idx == 0 ? &r->res.out : &r->res.err;
    size_t room = b->len < r->cap ? r->cap - b->len : 0;

    if (len <= room && !(r->res.truncated & (1 << idx))) {
        (void)zpar__runbuf_append (b, data, len);
        return;
    }
    if (!(r->res.truncated & (1 << idx))) {
        (void)zpar__runbuf_append (b, data, room);
        r->res.truncated |= 1 << idx;
        overflow_open (r, idx);
        ofd_write (r, idx, b->data, b->len);
        ofd_write (r, idx, data + room, len - room);
        return;
    }
    ofd_write (r, idx, data, len);
}

void zpar__runner_read_fd (zpar_runner_t *r, int idx)
{
    uint8_t buf[65536];

    for (int k = 0; k < READ_ROUNDS && r->fd[idx] >= 0;) {
        ssize_t n = read (r->fd[idx], buf, sizeof (buf));
        if (n > 0) {
            if (idx == FD_RES) {
                if (r->fnres.len + (size_t)n <= ZPAR_FN_OUTPUT_MAX + 16)
                    (void)zpar__runbuf_append (&r->fnres, buf, (size_t)n);
            } else {
                if (r->cb)
                    r->cb (r->cbarg, idx + 1, buf, (size_t)n);
                keep (r, idx, buf, (size_t)n);
            }
            if ((size_t)n < sizeof (buf))
                break;
            k++;
            continue;
        }
        if (n == 0) {
            zpar__runner_close_fd (&r->fd[idx]);
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            zpar__runner_close_fd (&r->fd[idx]);
        break;
    }
}
