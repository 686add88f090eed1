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
    int done;
} slot_t;

typedef struct {
    slot_t *v;
    size_t n;
    const zpar_each_ops_t *ops;
    void *arg;
} each_t;

static void on_output (void *arg, zpar_engine_id_t engine, zpar_task_id_t task, int stream,
                       const void *data, size_t len)
{
    each_t *x = arg;
    (void)engine;
    if (stream != 1 && stream != 2)
        return;
    for (size_t i = 0; i < x->n; i++)
        if (x->v[i].id.id == task.id) {
            if (!x->v[i].done) {
                x->v[i].streamed[stream - 1] += len;
                if (x->ops->output)
                    x->ops->output (x->arg, x->v[i].e, stream, data, len);
            }
            return;
        }
}

/* A slot's result arrived: deliver what streaming missed, a function
 * task's output (as stdout), then the result. */
static void finish (each_t *x, slot_t *s)
{
    const zpar_result_t *r = zpar_future_result (s->f);
    for (int k = 0; k < 2 && x->ops->output; k++) {
        size_t len = 0;
        const char *data = k == 0 ? zpar_result_stdout (r, &len) : zpar_result_stderr (r, &len);
        if (data && len > s->streamed[k] && !(zpar_result_truncated (r) & (1 << k)))
            x->ops->output (x->arg, s->e, k + 1, data + s->streamed[k], len - s->streamed[k]);
    }
    if (x->ops->output) {
        size_t len = 0;
        const char *out = zpar_result_output (r, &len);
        if (out && len)
            x->ops->output (x->arg, s->e, 1, out, len);
    }
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
    each_t x = {.ops = ops, .arg = arg};
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
                finish (&x, &x.v[i]);
            else
                left++;
        }
        if (!left)
            break;
        if (deadline >= 0) {
            double rem = deadline - zpar__mono_s ();
            if (rem <= 0) {
                for (size_t i = 0; i < x.n; i++)
                    if (!x.v[i].done && ops->done)
                        ops->done (arg, x.v[i].e, NULL);
                break;
            }
            if (rem < wait)
                wait = rem;
        }
        if (zpar_client_poll (c, wait, err) < 0)
            goto done;
    }
    rc = 0;
done:
    zpar_client_on_output (c, NULL, NULL, 1);
    for (size_t i = 0; i < x.n; i++)
        zpar_future_destroy (x.v[i].f);
    free (x.v);
    return rc;
}
