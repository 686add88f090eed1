/* wireup_impl.h - what the files of the wire-up module share (private to
 * src/launch/wireup*.c; the contract is wireup.h).
 *
 *   wireup.c        create, finalize, getters, publish / fetch / barrier
 *                   (dispatch to the exchange chosen at create)
 *   wireup_env.c    ranks from the launcher's environment (mpirun, Hydra,
 *                   srun), and the checks every source shares
 *   wireup_pmix.c   ranks and the exchange over PMIx
 *   wireup_pmi2.c   ranks and the exchange over the PMI-2 wire protocol
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
#include <stddef.h>
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
    bool pmix_up;    /* PMIx_Init succeeded: finalize it */
    bool mpi_up;     /* MPI usable */
    bool mpi_owned;  /* we called MPI_Init: we finalize */
    bool pmi2_up;    /* PMI-2 fullinit done: finalize it */
    int pmi2_fd;     /* the PMI-2 connection, or -1 */
    char notes[512]; /* why preferred paths were not used ("" none) */
    bool fell_back;  /* a path present and not skipped failed */
#ifdef HAVE_PMIX
    pmix_proc_t me;
#endif
};

/* wireup.c: append "; text" to w->notes (truncated when full). */
void zpar__wireup_note (zpar_wireup_t *w, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* wireup_pmi2.c (always built: no library) */
int zpar__wireup_from_pmi2 (zpar_wireup_t *w, zpar_error_t *err);
int zpar__wireup_pmi2_publish (zpar_wireup_t *w, const char *blob, zpar_error_t *err);
char *zpar__wireup_pmi2_fetch (zpar_wireup_t *w, zpar_error_t *err);
int zpar__wireup_pmi2_fence (zpar_wireup_t *w, zpar_error_t *err);
void zpar__wireup_pmi2_finalize (zpar_wireup_t *w);
/* The value of key in a PMI-2 answer "k=v;k=v;" (";;" = ';'), into out:
 * 1 found, 0 absent, -1 longer than cap. */
int zpar__wireup_pmi2_field (const char *msg, const char *key, char *out, size_t cap);
/* local rank/size of rank from PMI_process_mapping "(vector,(n,c,r),...)";
 * 0, or -1 if malformed. */
int zpar__wireup_pmi2_mapping (const char *map, int size, int rank, int *local_rank,
                               int *local_size);

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
/* MPI_COMM_WORLD agrees with the ranks another source gave: 0, else -1
 * (ENOTSUP). */
int zpar__wireup_mpi_check (zpar_wireup_t *w, zpar_error_t *err);
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
