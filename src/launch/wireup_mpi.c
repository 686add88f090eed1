/* wireup_mpi.c - ranks and the blob exchange over MPI (see wireup.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_MPI
#include <mpi.h>
#endif

#include "error.h"
#include "wireup_impl.h"

/* ------------------------------------------------------------------ MPI */

#ifdef HAVE_MPI
int zpar__wireup_mpi_init (zpar_wireup_t *w, zpar_error_t *err)
{
    int inited = 0, fin = 0;
    MPI_Initialized (&inited);
    MPI_Finalized (&fin);
    if (fin)
        return zpar__errnoprintf (err, EBUSY, "MPI was already finalized in this process");
    if (!inited) {
        if (MPI_Init (NULL, NULL) != MPI_SUCCESS)
            return zpar__errnoprintf (err, EIO, "MPI_Init failed");
        w->mpi_owned = true;
    }
    w->mpi_up = true;
    return 0;
}

int zpar__wireup_from_mpi (zpar_wireup_t *w, zpar_error_t *err)
{
    MPI_Comm node;
    MPI_Comm_rank (MPI_COMM_WORLD, &w->rank);
    MPI_Comm_size (MPI_COMM_WORLD, &w->size);
    if (MPI_Comm_split_type (MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) !=
        MPI_SUCCESS)
        return zpar__errnoprintf (err, EIO, "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) failed");
    MPI_Comm_rank (node, &w->local_rank);
    MPI_Comm_size (node, &w->local_size);
    MPI_Comm_free (&node);
    w->source = ZPAR_WIREUP_SRC_MPI;
    return zpar__wireup_check_ranks (w, "MPI", err) < 0 ? -1 : 1;
}

/* MPI initialised while another source gave the ranks: MPI must see the
 * same job, or the engines' communicator would be wrong (an MPI built for
 * another launcher runs every process as a singleton). */
int zpar__wireup_mpi_check (zpar_wireup_t *w, zpar_error_t *err)
{
    int size = 0, rank = 0;
    MPI_Comm_size (MPI_COMM_WORLD, &size);
    MPI_Comm_rank (MPI_COMM_WORLD, &rank);
    if (size != w->size || rank != w->rank)
        return zpar__errnoprintf (err, ENOTSUP,
                                  "--mpi: MPI sees rank %d of %d but the launcher (%s) says rank "
                                  "%d of %d: zpar's MPI cannot run under this launcher (use the "
                                  "mpirun of the MPI zpar was built with, or srun --mpi=pmix), "
                                  "or run without --mpi",
                                  rank, size, zpar__wireup_source_name (w->source), w->rank,
                                  w->size);
    return 0;
}

/* Broadcast a string from rank 0: length (including the NUL), then bytes.
 * On rank 0 *blob is the input; elsewhere it receives a malloc'd copy. */
int zpar__wireup_mpi_bcast_blob (char **blob, int rank, zpar_error_t *err)
{
    int len = rank == 0 ? (int)strlen (*blob) + 1 : 0;
    if (MPI_Bcast (&len, 1, MPI_INT, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
        return zpar__errnoprintf (err, EIO, "MPI_Bcast (length) failed");
    if (len < 1 || len > ZPAR_WIREUP_BLOB_MAX + 1)
        return zpar__errnoprintf (err, EPROTO, "MPI_Bcast: rank 0 sent a length of %d", len);
    if (rank != 0 && !(*blob = malloc ((size_t)len)))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    if (MPI_Bcast (*blob, len, MPI_CHAR, 0, MPI_COMM_WORLD) != MPI_SUCCESS) {
        if (rank != 0) {
            free (*blob);
            *blob = NULL;
        }
        return zpar__errnoprintf (err, EIO, "MPI_Bcast (blob) failed");
    }
    (*blob)[len - 1] = '\0';
    return 0;
}
#endif /* HAVE_MPI */
