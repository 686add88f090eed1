/* wireup_impl.h - what the files of the wire-up module share (private to
 * src/launch/wireup*.c; the contract is wireup.h).
 *
 *   wireup.c        create, finalize, getters, publish / fetch / barrier
 *                   (dispatch to the exchange chosen at create)
 *   wireup_env.c    ranks from the launcher's environment (mpirun, Hydra,
 *                   srun), and the checks every source shares
 *   wireup_pmix.c   ranks and the exchange over PMIx
 *   wireup_mpi.c    ranks and the exchange over MPI
 *   wireup_file.c   the exchange through a file in a shared directory
 *
 * Source functions return 1 = found (w filled), 0 = not this source,
 * -1 = error (errno, err).  Exchange functions return 0 / -1 (or a
 * malloc'd blob / NULL) with errno and err.
 */
#ifndef ZPAR__WIREUP_IMPL_H
#define ZPAR__WIREUP_IMPL_H

#include <stdbool.h>
#include <time.h>

#ifdef HAVE_PMIX
#include <pmix.h>
#endif

#include "wireup.h"
#include "zpar/error.h"

#define FILE_MAGIC "zpar-wireup 1"

struct zpar_wireup {
    int rank;
    int size;
    int local_rank;
    int local_size;
    char hostname[256];
    char *jobid;
    char *key;  /* file exchange key (sanitised) */
    char *dir;  /* connection_dir or NULL */
    char *path; /* connection file path (file exchange) */
    unsigned flags;
    int timeout_ms;
    time_t created; /* wall clock at create, for the file staleness check */
    zpar_wireup_source_t source;
    zpar_wireup_exchange_t xchg;
    char *published; /* rank 0's blob once published */
    bool fetched;    /* a collective fetch was done */
    bool finalized;
    bool pmix_up;   /* PMIx_Init succeeded: finalize it */
    bool mpi_up;    /* MPI usable */
    bool mpi_owned; /* we called MPI_Init: we finalize */
#ifdef HAVE_PMIX
    pmix_proc_t me;
#endif
};

/* wireup_env.c */
/* Parse a decimal non-negative int (no sign, no blanks, no trailing junk). */
int zpar__wireup_parse_uint (const char *s, int *out);
/* Check the ranks and sizes a source filled in; what names the source. */
int zpar__wireup_check_ranks (zpar_wireup_t *w, const char *what, zpar_error_t *err);
/* mpirun, Hydra, then srun variables (see wireup.h). */
int zpar__wireup_from_env (zpar_wireup_t *w, zpar_error_t *err);

#ifdef HAVE_PMIX
/* wireup_pmix.c */
int zpar__wireup_from_pmix (zpar_wireup_t *w, zpar_error_t *err);
int zpar__wireup_pmix_publish (zpar_wireup_t *w, const char *blob, zpar_error_t *err);
/* PMIx_Fence over the whole job with the timeout; collect: with data. */
int zpar__wireup_pmix_fence (zpar_wireup_t *w, bool collect, zpar_error_t *err);
char *zpar__wireup_pmix_fetch (zpar_wireup_t *w, zpar_error_t *err);
/* PMIx_Resolve_nodes of our namespace: malloc'd "host1,host2", or NULL. */
char *zpar__wireup_pmix_nodes (const zpar_wireup_t *w);
#endif

#ifdef HAVE_MPI
/* wireup_mpi.c */
int zpar__wireup_mpi_init (zpar_wireup_t *w, zpar_error_t *err);
int zpar__wireup_from_mpi (zpar_wireup_t *w, zpar_error_t *err);
/* Broadcast a string from rank 0: length (including the NUL), then bytes.
 * On rank 0 *blob is the input; elsewhere it receives a malloc'd copy. */
int zpar__wireup_mpi_bcast_blob (char **blob, int rank, zpar_error_t *err);
#endif

/* wireup_file.c */
/* A copy of s usable in a file name (malloc'd), NULL with ENOMEM. */
char *zpar__wireup_sanitize_key (const char *s);
int zpar__wireup_file_publish (zpar_wireup_t *w, const char *blob, zpar_error_t *err);
char *zpar__wireup_file_fetch (zpar_wireup_t *w, zpar_error_t *err);

#endif
