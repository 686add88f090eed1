/* mpifn.c - an MPI kernel as a zpar function task (test library).
 *
 * zt_allreduce: sums the engine ids over the engines-only communicator that
 * `zpar run --mpi` gives inline function tasks, and outputs
 * "sum=S size=N rank=R".  Run on every engine at once:
 *   mpirun -n 4 zpar run --mpi -- zpar px --inline --function mpifn.so:zt_allreduce
 */
#include <mpi.h>
#include <stdio.h>

#include "zpar.h"

int zt_allreduce (zpar_fn_ctx_t *ctx, const void *in, size_t len)
{
    MPI_Comm *comm = zpar_fn_mpi_comm (ctx);
    int mine = (int)zpar_fn_engine (ctx).id, sum = 0, size = 0, rank = -1;
    char buf[128];
    int n;
    (void)in;
    (void)len;
    if (!comm) {
        n = snprintf (buf, sizeof (buf),
                      "no MPI communicator (run under 'zpar run --mpi', --inline)\n");
        zpar_fn_output (ctx, buf, (size_t)n);
        return 2;
    }
    MPI_Comm_size (*comm, &size);
    MPI_Comm_rank (*comm, &rank);
    if (MPI_Allreduce (&mine, &sum, 1, MPI_INT, MPI_SUM, *comm) != MPI_SUCCESS)
        return 3;
    n = snprintf (buf, sizeof (buf), "sum=%d size=%d rank=%d\n", sum, size, rank);
    zpar_fn_output (ctx, buf, (size_t)n);
    return 0;
}
