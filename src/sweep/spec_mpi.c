/* spec_mpi.c - a sweep's mpi-launcher: key (doc/sweeps.md, doc/mpi.md
 * "MPI tasks"): srun, mpirun or auto, for the points with ranks: the
 * variable ZPAR_MPI_LAUNCHER of their environment, which the leader engine
 * of an MPI task reads (src/engine/mpi_launch.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "spec_internal.h"

int zpar__spec_load_mpi_launcher (ctx_t *c, yaml_node_t *v)
{
    zpar_sweep_spec_t *s = c->spec;
    static const char *const ok[] = {"srun", "mpirun", "auto"};
    char **names;
    zpar_tmpl_t **env;
    int known = 0;
    if (zpar__spec_want_scalar (c, v, "mpi-launcher") < 0)
        return -1;
    for (size_t i = 0; i < sizeof (ok) / sizeof (ok[0]); i++)
        known |= strcmp (sval (v), ok[i]) == 0;
    if (!known)
        return zpar__spec_fail (c, v->start_mark, EINVAL,
                                "mpi-launcher: '%s' is not srun, mpirun or auto", sval (v));
    for (size_t i = 0; i < s->nenv; i++)
        if (strcmp (s->env_names[i], "ZPAR_MPI_LAUNCHER") == 0)
            return zpar__spec_fail (c, v->start_mark, EINVAL,
                                    "mpi-launcher: env: sets ZPAR_MPI_LAUNCHER too; keep one");
    if (!(names = realloc (s->env_names, (s->nenv + 1) * sizeof (*names))))
        return zpar__spec_fail (c, v->start_mark, ENOMEM, "out of memory");
    s->env_names = names;
    if (!(env = realloc (s->env, (s->nenv + 1) * sizeof (*env))))
        return zpar__spec_fail (c, v->start_mark, ENOMEM, "out of memory");
    s->env = env;
    if (!(s->env_names[s->nenv] = strdup ("ZPAR_MPI_LAUNCHER")))
        return zpar__spec_fail (c, v->start_mark, ENOMEM, "out of memory");
    if (!(s->env[s->nenv] = zpar__spec_compile (c, v, "mpi-launcher", sval (v), s->names, 0))) {
        free (s->env_names[s->nenv]);
        return -1;
    }
    s->nenv++;
    return 0;
}
