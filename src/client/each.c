/* each.c - one task on every (or every listed) engine at once, results
 * collected per engine (zpar_run_each: what `zpar px` does). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "zpar.h"

typedef struct {
    zpar_engine_id_t e;
    zpar_future_t *f;
    zpar_task_id_t id;
    size_t streamed[2]; /* stdout / stderr bytes delivered while it ran */
    int gap[2];         /* a piece was missed: the rest comes from the result */
    char *buf[2];       /* their last partial line */
    size_t blen[2], bcap[2];
    int done;
} slot_t;

typedef struct {
    zpar_client_t *c;
    slot_t *v;
    size_t n;
    const zpar_each_ops_t *ops;
    void *arg;
} each_t;

/* Give the output callback the complete lines of data (after what is
 * left of stream k's partial line), and the rest too if flush. */
static void deliver (each_t *x, slot_t *s, int k, const char *data, size_t len, int flush)
{
    size_t start = 0;
    if (!x->ops->output)
        return;
    if (s->blen[k] + len > s->bcap[k]) {
        size_t ncap = (s->blen[k] + len) * 2 + 64;
        char *nb = realloc (s->buf[k], ncap);
        if (!nb)
            return; /* out of memory: dropped */
        s->buf[k] = nb;
        s->bcap[k] = ncap;
    }
    if (len)
        memcpy (s->buf[k] + s->blen[k], data, len);
    s->blen[k] += len;
    for (size_t i = 0; i < s->blen[k]; i++)
        if (s->buf[k][i] == '\n') {
            x->ops->output (x->arg, s->e, k + 1, s->buf[k] + start, i - start + 1);
            start = i + 1;
        }
    if (flush && start < s->blen[k]) {
        x->ops->output (x->arg, s->e, k + 1, s->buf[k] + start, s->blen[k] - start);
        start = s->blen[k];
    }
    if (start > 0) { /* (never with a NULL buffer: nothing was kept then) */
        if (s->blen[k] > start)
            memmove (s->buf[k], s->buf[k] + start, s->blen[k] - start);
        s->blen[k] -= start;
    }
}

/* A streamed piece of slot s's stream k that starts at off (-1: unknown,
 * taken as the next): what follows what was delivered is delivered.  Once
 * a piece is missed (IOPub drops: a subscription still on its way, a slow
 * reader) the stream waits for the result, which has all of it. */
static void on_piece (each_t *x, slot_t *s, int k, int64_t off, const char *data, size_t len)
{
    if (s->done || s->gap[k])
        return;
    if (off >= 0) {
        if ((uint64_t)off > s->streamed[k]) {
            s->gap[k] = 1;
            return;
        }
        if ((uint64_t)off + len <= s->streamed[k])
            return; /* had it */
        data += s->streamed[k] - (size_t)off;
        len -= s->streamed[k] - (size_t)off;
    }
    s->streamed[k] += len;
    deliver (x, s, k, data, len, 0);
}

static void on_output (void *arg, zpar_engine_id_t engine, zpar_task_id_t task, int stream,
                       const void *data, size_t len)
{
    each_t *x = arg;
    (void)engine;
    if (stream != 1 && stream != 2)
        return;
    for (size_t i = 0; i < x->n; i++)
        if (x->v[i].id.id == task.id) {
            on_piece (x, &x->v[i], stream - 1, zpar_client_output_offset (x->c), data, len);
            return;
        }
}

/* A slot's result arrived (r NULL: no result in time): deliver what
 * streaming missed, a function task's output (as stdout), then the result. */
static void finish (each_t *x, slot_t *s, const zpar_result_t *r)
{
    size_t len = 0;
    const char *out;
    for (int k = 0; k < 2; k++) {
        const char *data = !r       ? NULL
                           : k == 0 ? zpar_result_stdout (r, &len)
                                    : zpar_result_stderr (r, &len);
        if (data && len > s->streamed[k] && (s->gap[k] || !(zpar_result_truncated (r) & (1 << k))))
            deliver (x, s, k, data + s->streamed[k], len - s->streamed[k], 1);
        else
            deliver (x, s, k, NULL, 0, 1);
    }
    if (r && (out = zpar_result_output (r, &len)) && len)
        deliver (x, s, 0, out, len, 1);
    s->done = 1;
    if (x->ops->done)
        x->ops->done (x->arg, s->e, r);
}

/* Fill x->v with the targets (checked against the cluster) or every live
 * engine. */
static int pick_engines (zpar_client_t *c, each_t *x, const zpar_engine_id_t *targets,
                         size_t ntargets, zpar_error_t *err)
{
    zpar_engine_info_t *info = NULL;
    size_t ninfo = 0;

    if (zpar_client_engines (c, &info, &ninfo, err) < 0)
        return -1;
    if (!(x->v = calloc (ninfo + ntargets + 1, sizeof (*x->v)))) {
        free (info);
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ntargets; i++) {
        size_t j;
        for (j = 0; j < ninfo && info[j].id.id != targets[i].id; j++)
            ;
        if (j == ninfo) {
            zpar__errnoprintf (err, ENOENT, "there is no engine %u in this cluster (%zu engine(s))",
                               targets[i].id, ninfo);
            goto error;
        }
        if (!strcmp (info[j].state, "dead")) {
            zpar__errnoprintf (err, ESRCH, "engine %u is dead", targets[i].id);
            goto error;
        }
        x->v[x->n++].e = targets[i];
    }
    for (size_t j = 0; !ntargets && j < ninfo; j++)
        if (strcmp (info[j].state, "dead"))
            x->v[x->n++].e = info[j].id;
    free (info);
    if (x->n == 0)
        return zpar__errnoprintf (err, ENODEV, "no engines in this cluster yet");
    return 0;
error:
    free (info);
    return -1;
}

ZPAR_API int zpar_run_each (zpar_client_t *c, const zpar_task_t *t, const zpar_engine_id_t *targets,
                            size_t ntargets, double timeout, const zpar_each_ops_t *ops, void *arg,
                            zpar_error_t *err)
{
    each_t x = {.c = c, .ops = ops, .arg = arg};
    double deadline = timeout >= 0 ? zpar__mono_s () + timeout : -1;
    int rc = -1;

    if (!c || !t || !ops || (ntargets && !targets))
        return zpar__errnoprintf (err, EINVAL, "zpar_run_each: bad parameters");
    if (pick_engines (c, &x, targets, ntargets, err) < 0)
        goto done;
    zpar_client_on_output (c, on_output, &x, 1);
    for (size_t i = 0; i < x.n; i++) {
        zpar_error_t e2 = {{0}};
        if (!(x.v[i].f = zpar_submit_to (c, x.v[i].e, t, &e2))) {
            int e = errno;
            zpar__errnoprintf (err, e, "cannot submit to engine %u: %s", x.v[i].e.id, e2.text);
            x.n = i;
            goto done;
        }
        x.v[i].id = zpar_future_id (x.v[i].f);
    }
    for (;;) {
        size_t left = 0;
        double wait = 0.25;
        for (size_t i = 0; i < x.n; i++) {
            if (x.v[i].done)
                continue;
            if (zpar_future_done (x.v[i].f))
                finish (&x, &x.v[i], zpar_future_result (x.v[i].f));
            else
                left++;
        }
        if (!left)
            break;
        if (deadline >= 0) {
            double rem = deadline - zpar__mono_s ();
            if (rem <= 0) {
                for (size_t i = 0; i < x.n; i++)
                    if (!x.v[i].done)
                        finish (&x, &x.v[i], NULL);
                break;
            }
            if (rem < wait)
                wait = rem;
        }
        if (zpar_client_poll (c, wait, err) < 0)
            goto done;
    }
    rc = 0;
done : {
    int e = errno;
    zpar_client_on_output (c, NULL, NULL, 1);
    for (size_t i = 0; i < x.n; i++) {
        zpar_future_destroy (x.v[i].f);
        free (x.v[i].buf[0]);
        free (x.v[i].buf[1]);
    }
    free (x.v);
    errno = e;
    return rc;
}
}

ZPAR_API int zpar_client_wait_ids (zpar_client_t *c, const zpar_task_id_t *ids, size_t n,
                                   double timeout, zpar_wait_f cb, void *arg, zpar_error_t *err)
{
    zpar_future_t **f;
    double start = zpar__mono_s ();
    int rc = -1;

    if (!c || (n && !ids) || !cb)
        return zpar__errnoprintf (err, EINVAL, "zpar_client_wait_ids: bad parameters");
    if (!(f = calloc (n + 1, sizeof (*f))))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (!(f[i] = zpar_client_future_for (c, ids[i], err)) && errno != EEXIST)
            goto done;
    for (;;) {
        double slice = 0.25;
        size_t left = 0;
        for (size_t i = 0; i < n; i++) {
            zpar_error_t e2 = {{0}};
            if (!f[i])
                continue;
            if (zpar_future_wait (f[i], 0, &e2) < 0) {
                if (errno == ETIMEDOUT) {
                    left++;
                    continue;
                }
                if (errno != ENOENT) {
                    zpar__errnoprintf (err, errno, "%s", e2.text);
                    goto done;
                }
                cb (arg, i, ids[i], NULL, &e2);
            } else
                cb (arg, i, ids[i], zpar_future_result (f[i]), NULL);
            zpar_future_destroy (f[i]);
            f[i] = NULL;
        }
        if (!left)
            break;
        if (timeout >= 0 && zpar__mono_s () - start >= timeout) {
            zpar__errnoprintf (err, ETIMEDOUT, "%zu task(s) not finished after %g s", left,
                               timeout);
            goto done;
        }
        if (timeout >= 0 && start + timeout - zpar__mono_s () < slice)
            slice = start + timeout - zpar__mono_s ();
        if (zpar_client_poll (c, slice > 0 ? slice : 0, err) < 0)
            goto done;
    }
    rc = 0;
done : {
    int e = errno;
    for (size_t i = 0; i < n; i++)
        zpar_future_destroy (f[i]);
    free (f);
    errno = e;
    return rc;
}
}
