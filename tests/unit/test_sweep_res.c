/* test_sweep_res.c - a sweep file's resource keys (cores:, gpus:,
 * memory:, ranks:, nodes:, ranks-per-node:): templates on the parameters,
 * checked when the file loads, carried by each point's task. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "tap.h"

static zpar_sweep_spec_t *load (const char *text, zpar_error_t *err)
{
    return zpar__sweep_spec_load_buffer (text, strlen (text), "/tmp/t.yaml", err);
}

/* The task of point i of s. */
static zpar_sweep_task_t *task_at (zpar_sweep_spec_t *s, unsigned i, zpar_error_t *err)
{
    zpar_sweep_iter_t *it = zpar__sweep_spec_iter_create (s);
    const zpar_sweep_point_t *pt = NULL;
    zpar_sweep_task_t *t = NULL;
    for (unsigned k = 0; k <= i && it; k++)
        pt = zpar__sweep_iter_next (it);
    if (pt)
        t = zpar__sweep_spec_task (s, pt, err);
    zpar__sweep_iter_destroy (it);
    return t;
}

int main (void)
{
    zpar_error_t err = {{0}};
    zpar_sweep_spec_t *s;
    zpar_sweep_task_t *t;

    plan (NO_PLAN);
    s = load ("command: run {threads}\n"
              "params:\n  threads: [1, 2, 8]\n"
              "cores: '{threads}'\n"
              "gpus: 1\n"
              "memory: 2G\n",
              &err);
    if (!ok (s != NULL, "a sweep with cores: gpus: memory: loads"))
        diag ("%s", err.text);
    t = s ? task_at (s, 2, &err) : NULL;
    ok (t && t->has_res && t->res.cores == 8 && t->res.gpus == 1 && t->res.memory == 2ull << 30 &&
            t->res.ranks == 0,
        "point 2: cores 8 (from {threads}), 1 GPU, 2 GiB");
    zpar__sweep_task_destroy (t);
    zpar__sweep_spec_destroy (s);

    s = load ("command: mpi {n}\nparams:\n  n: [4, 8]\nranks: '{n}'\nranks-per-node: 2\n", &err);
    t = s ? task_at (s, 1, &err) : NULL;
    ok (t && t->res.ranks == 8 && t->res.ranks_per_node == 2, "ranks: {n}, ranks-per-node: 2");
    zpar__sweep_task_destroy (t);
    zpar__sweep_spec_destroy (s);

    s = load ("command: run\nparams:\n  x: [1]\n", &err);
    t = s ? task_at (s, 0, &err) : NULL;
    ok (t && !t->has_res && t->res.cores == 0, "no resource key: a plain task");
    zpar__sweep_task_destroy (t);
    zpar__sweep_spec_destroy (s);

    s = load ("command: run\nparams:\n  x: [1]\ncores: lots\n", &err);
    ok (!s && errno == EINVAL && strstr (err.text, "t.yaml:4:") && strstr (err.text, "cores"),
        "cores: lots is refused where it stands (%s)", err.text);
    s = load ("command: run\nparams:\n  x: [1]\nmemory: 2Q\n", &err);
    ok (!s && strstr (err.text, "memory") && strstr (err.text, "2Q"), "memory: 2Q refused (%s)",
        err.text);
    s = load ("command: run\nparams:\n  x: [1]\nnodes: 2\n", &err);
    ok (!s && strstr (err.text, "go with ranks"), "nodes: without ranks: refused (%s)", err.text);
    s = load ("command: run\nparams:\n  x: [1]\ncores: '{y}'\n", &err);
    ok (!s && strstr (err.text, "y"), "cores: on an unknown parameter refused (%s)", err.text);

    /* a value that only some points give wrong: their task fails */
    s = load ("command: run\nparams:\n  c: ['2', 'x']\ncores: '{c}'\n", &err);
    t = s ? task_at (s, 1, &err) : NULL;
    ok (s && !t && strstr (err.text, "point 1") && strstr (err.text, "cores"),
        "a point whose cores: is not a number: no task (%s)", err.text);
    zpar__sweep_spec_destroy (s);
    return done_testing ();
}
