/* test_sweep_mpi_launcher.c - the sweep key mpi-launcher: (srun, mpirun or
 * auto) becomes ZPAR_MPI_LAUNCHER in every point's environment, the
 * variable the leader engine of an MPI task reads (mpi_launch.h); other
 * values, and env: setting the variable too, are refused when the file
 * loads. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "tap.h"

static zpar_sweep_spec_t *load (const char *text, zpar_error_t *err)
{
    memset (err, 0, sizeof (*err));
    return zpar__sweep_spec_load_buffer (text, strlen (text), "/tmp/t.yaml", err);
}

/* 1 if the task of the first point of s has entry e in its environment */
static int first_has_env (zpar_sweep_spec_t *s, const char *e)
{
    zpar_sweep_iter_t *it = zpar__sweep_spec_iter_create (s);
    const zpar_sweep_point_t *pt = it ? zpar__sweep_iter_next (it) : NULL;
    zpar_error_t err;
    zpar_sweep_task_t *t = pt ? zpar__sweep_spec_task (s, pt, &err) : NULL;
    int found = 0;
    for (size_t i = 0; t && i < t->nenv; i++)
        found |= strcmp (t->env[i], e) == 0;
    zpar__sweep_task_destroy (t);
    zpar__sweep_iter_destroy (it);
    return found;
}

int main (void)
{
    static const char *const good[] = {"srun", "mpirun", "auto"};
    static const struct {
        const char *yaml, *why;
    } bad[] = {
        {"mpi-launcher: flux\n", "'flux' is not srun, mpirun or auto"},
        {"mpi-launcher: '{n}'\n", "is not srun, mpirun or auto"},
        {"mpi-launcher: [srun]\n", "mpi-launcher"},
        {"mpi-launcher: srun\nenv:\n  ZPAR_MPI_LAUNCHER: mpirun\n", "sets ZPAR_MPI_LAUNCHER too"},
    };
    zpar_error_t err;
    zpar_sweep_spec_t *s;
    char text[256], want[64];

    plan (NO_PLAN);
    for (size_t i = 0; i < sizeof (good) / sizeof (good[0]); i++) {
        snprintf (text, sizeof (text),
                  "command: run {n}\nparams:\n  n: [4]\nranks: '{n}'\nenv:\n  A: '{n}'\n"
                  "mpi-launcher: %s\n",
                  good[i]);
        s = load (text, &err);
        snprintf (want, sizeof (want), "ZPAR_MPI_LAUNCHER=%s", good[i]);
        ok (s && first_has_env (s, want) && first_has_env (s, "A=4"),
            "mpi-launcher: %s -> %s in the point's environment, beside env: (%s)", good[i], want,
            s ? "" : err.text);
        zpar__sweep_spec_destroy (s);
    }
    s = load ("command: run\nparams:\n  n: [4]\n", &err);
    ok (s && !first_has_env (s, "ZPAR_MPI_LAUNCHER=auto"), "without the key: nothing added");
    zpar__sweep_spec_destroy (s);
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        snprintf (text, sizeof (text), "command: run\nparams:\n  n: [4]\n%s", bad[i].yaml);
        s = load (text, &err);
        ok (!s && strstr (err.text, bad[i].why), "refused: %s (%s)", bad[i].why, err.text);
        zpar__sweep_spec_destroy (s);
    }
    return done_testing ();
}
