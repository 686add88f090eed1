/* wireup.h - who am I in the allocation, and where is the controller (internal).
 *
 * Under `mpirun -n N zpar run ...` or `srun zpar run ...` every process first
 * creates a zpar_wireup_t.  It discovers, from the first source that answers:
 *
 *   1. PMIx (built with HAVE_PMIX, not disabled with ZPAR_WIREUP_NO_PMIX, and
 *      the process looks PMIx-launched: PMIX_NAMESPACE or PMIX_SERVER_URI*
 *      in the environment).  The rank is the one PMIx_Init returns (a
 *      PMIx_Get of PMIX_RANK is not served by Slurm's plugin nor by mpirun);
 *      size = PMIX_JOB_SIZE and local size = PMIX_LOCAL_SIZE (job level,
 *      wildcard rank), local rank = PMIX_LOCAL_RANK.  If PMIx_Init fails (a
 *      batch script has no PMIx server: UNREACHABLE) the next source is
 *      tried silently.
 *   2. PMI-2 (not disabled with ZPAR_WIREUP_NO_PMI2, PMI_FD in the
 *      environment: Slurm's `srun --mpi=pmi2`, MPICH's Hydra `mpiexec`):
 *      the PMI-2 wire protocol on that descriptor (wireup_pmi2.c, no
 *      library); rank and size from its fullinit, the local rank/size from
 *      the job attribute PMI_process_mapping (else MPI_LOCALRANKID /
 *      MPI_LOCALNRANKS, else as if on one node).  A descriptor that is not
 *      open, a server that refuses PMI-2 or does not answer within 10 s:
 *      the next source is tried, and the reason is kept for
 *      zpar__wireup_describe.  PMI_FD is then removed from the environment
 *      and the descriptor made close-on-exec (tasks must not inherit it).
 *   3. MPI (built with HAVE_MPI and ZPAR_WIREUP_MPI given): MPI_COMM_WORLD,
 *      local rank/size from MPI_Comm_split_type (MPI_COMM_TYPE_SHARED).
 *      With ZPAR_WIREUP_MPI, MPI_Init is called whatever the source (unless
 *      the caller already initialised MPI), so that the caller can later
 *      build its engines-only communicator (zpar__wireup_mpi_initialized).
 *   4. The launcher's environment, in this order (the first launcher whose
 *      rank variable is set wins; a set but malformed variable is an error,
 *      never a silent fallback):
 *        mpirun   OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE
 *        Hydra    PMI_RANK, PMI_SIZE, MPI_LOCALRANKID, MPI_LOCALNRANKS
 *        srun     SLURM_PROCID, SLURM_STEP_NUM_TASKS (or SLURM_NTASKS,
 *                 SLURM_NPROCS), SLURM_LOCALID, SLURM_STEP_TASKS_PER_NODE
 *                 (or SLURM_TASKS_PER_NODE, "2(x3),1" form) at SLURM_NODEID.
 *                 Only inside a step (SLURM_STEP_ID or SLURM_STEPID set): the
 *                 batch script also carries SLURM_PROCID=0 and SLURM_NTASKS=N
 *                 but is one process.
 *      mpirun comes before srun because the tasks of an mpirun inside an
 *      allocation inherit the SLURM_* variables of the orted step.  Hydra's
 *      local variables are optional: without them the local rank/size are
 *      the global ones (as if on one node).  PMIX_RANK alone (a PMIx launcher
 *      that zpar cannot talk to) is an error (ENOTSUP), not rank 0 of 1.
 *   5. Nothing: a single process, rank 0 of 1.
 *
 * The job id is SLURM_JOB_ID, else PBS_JOBID, else none (NULL).
 *
 * Then rank 0 publishes one string (the controller's endpoints and key) and
 * the others fetch it, over:
 *   pmix   PMIx_Put (PMIX_GLOBAL, "zpar.endpoints") + PMIx_Commit; the others
 *          PMIx_Get it from rank 0 with PMIX_TIMEOUT and no fence (direct
 *          modex: each node's PMIx server fetches it once from rank 0's
 *          server and serves its local ranks; rank 0 need not wait for
 *          anyone).  With ZPAR_WIREUP_PMIX_FENCE (every rank must give the
 *          same flags) all ranks PMIx_Fence with PMIX_COLLECT_DATA first.
 *          A NOT-FOUND answer is retried until the timeout (Open MPI's orted
 *          gives it for a key not committed yet when two orteds share a host,
 *          instead of waiting).  Rank 0's PMIx server serves the value only
 *          while rank 0 is a live PMIx client: rank 0 must not finalize (or
 *          exit) before every rank has fetched (a late PMIx_Get then gets
 *          NOT-FOUND until the timeout, seen under srun): a long-lived
 *          controller is fine; a short-lived rank 0 calls
 *          zpar__wireup_barrier first.
 *   pmi2   rank 0 kvs-puts the blob (in chunks of at most 400 bytes, bytes
 *          outside [!-~] and ';' '=' '%' as %XX: PMI servers limit and
 *          parse values) and the chunk count, then every rank kvs-fences
 *          (collective: rank 0's publish returns once every rank has called
 *          fetch) and the others kvs-get the chunks.  Every read has the
 *          timeout.
 *   mpi    MPI_Bcast from rank 0 of MPI_COMM_WORLD (collective: every rank
 *          must call publish or fetch; no timeout).
 *   file   Without PMIx, PMI-2 and MPI, when params.connection_dir is given: rank 0
 *          writes <connection_dir>/zpar-wireup.<key> atomically (temporary
 *          file + rename, mode 0600); the others poll for it.  <key> is
 *          params.job_key, else the job id (plus ".<step>" inside a Slurm
 *          step), else "nojob", with characters other than [A-Za-z0-9._-]
 *          replaced by '_'.  A file is accepted only if it is owned by this
 *          user, not accessible to group/others, names the same job size and
 *          was written no earlier than ZPAR_WIREUP_FILE_SKEW_S seconds before
 *          this process called zpar__wireup_create (a leftover of an earlier
 *          job with the same id is ignored).  The file is left in place until
 *          rank 0 calls zpar__wireup_unpublish.
 *   local  size 1: nothing to exchange.
 */
#ifndef ZPAR__WIREUP_H
#define ZPAR__WIREUP_H

#include <stdbool.h>
#include <stddef.h>

#include "zpar/error.h"

typedef struct zpar_wireup zpar_wireup_t;

/* Where rank/size came from. */
typedef enum {
    ZPAR_WIREUP_SRC_SINGLE = 0, /* no launcher found: rank 0 of 1 */
    ZPAR_WIREUP_SRC_PMIX,       /* PMIx_Init + PMIx_Get */
    ZPAR_WIREUP_SRC_MPI,        /* MPI_Init + MPI_COMM_WORLD */
    ZPAR_WIREUP_SRC_OMPI_ENV,   /* OMPI_COMM_WORLD_* */
    ZPAR_WIREUP_SRC_PMI_ENV,    /* PMI_RANK / PMI_SIZE (MPICH Hydra) */
    ZPAR_WIREUP_SRC_SLURM_ENV,  /* SLURM_PROCID ... inside a step */
    ZPAR_WIREUP_SRC_PMI2,       /* the PMI-2 wire protocol on PMI_FD */
} zpar_wireup_source_t;

/* How the blob travels. */
typedef enum {
    ZPAR_WIREUP_XCHG_LOCAL = 0, /* size 1 */
    ZPAR_WIREUP_XCHG_PMIX,      /* direct modex, no fence */
    ZPAR_WIREUP_XCHG_PMIX_FENCE,
    ZPAR_WIREUP_XCHG_MPI,
    ZPAR_WIREUP_XCHG_FILE,
    ZPAR_WIREUP_XCHG_NONE, /* size > 1 but no way: publish/fetch fail ENOTSUP */
    ZPAR_WIREUP_XCHG_PMI2, /* kvs-put, kvs-fence, kvs-get */
} zpar_wireup_exchange_t;

typedef enum {
    ZPAR_WIREUP_NO_PMIX = 1 << 0,     /* do not try PMIx */
    ZPAR_WIREUP_MPI = 1 << 1,         /* call MPI_Init (needs HAVE_MPI, else ENOTSUP) */
    ZPAR_WIREUP_PMIX_FENCE = 1 << 2,  /* pmix exchange with a collecting fence */
    ZPAR_WIREUP_NO_MPI_XCHG = 1 << 3, /* MPI initialised but use the file exchange */
    ZPAR_WIREUP_NO_PMI2 = 1 << 4,     /* do not try PMI-2 */
} zpar_wireup_flags_t;

/* Flags from a list of paths to skip, as ZPAR_WIREUP_SKIP gives it:
 * "pmix", "pmi2" separated by ',' (case matters; "" and NULL: none).
 * Returns 0 and ors the flags into *flags, or -1 (EINVAL, err names the
 * word) for anything else. */
int zpar__wireup_skip_parse (const char *list, unsigned *flags, zpar_error_t *err);

#define ZPAR_WIREUP_TIMEOUT_MS_DEFAULT 60000
#define ZPAR_WIREUP_BLOB_MAX           65536 /* bytes, without the NUL */
#define ZPAR_WIREUP_FILE_SKEW_S        120
#define ZPAR_WIREUP_PMIX_KEY           "zpar.endpoints"

typedef struct {
    unsigned flags;             /* zpar_wireup_flags_t values or'ed */
    const char *connection_dir; /* file exchange directory, or NULL (copied) */
    const char *job_key;        /* file name key instead of the job id, or NULL (copied) */
    int timeout_ms;             /* fetch (and barrier) timeout; <= 0: the default */
} zpar_wireup_params_t;

/* Set *p to the defaults: no flags, no directory, default timeout. */
void zpar__wireup_params_init (zpar_wireup_params_t *p);

/* Discover rank, size, local rank/size, host name and job id (see above),
 * initialising PMIx and/or MPI as needed.  params may be NULL (defaults).
 * Returns a new object owned by the caller (zpar__wireup_destroy), or NULL
 * with errno set: EINVAL (a launcher variable is malformed or inconsistent,
 * e.g. SLURM_PROCID=abc or rank >= size; a bad params field), ENOTSUP
 * (ZPAR_WIREUP_MPI without MPI support; PMIX_RANK set but PMIx unusable),
 * EPROTO (PMIx answered but a job-level key is missing or of a wrong type),
 * ENOMEM; err (may be NULL) names the variable or call and the fix.  On
 * failure nothing stays initialised that this call initialised, except
 * MPI (MPI cannot be re-initialised once finalized, so it is left for the
 * process to finalize; MPI_Init failures abort the process, as MPI does). */
zpar_wireup_t *zpar__wireup_create (const zpar_wireup_params_t *params, zpar_error_t *err);

/* Finalize PMIx (PMIx_Finalize) and MPI (MPI_Finalize, only if this object
 * initialised it), then free w.  NULL-safe; errno is preserved. */
void zpar__wireup_destroy (zpar_wireup_t *w);

/* Finalize PMIx and MPI now but keep w readable (getters still work;
 * publish/fetch/barrier then fail with EBUSY).  Idempotent.  Returns 0, or
 * -1 with errno EIO if PMIx_Finalize or MPI_Finalize reported an error (both
 * are attempted). */
int zpar__wireup_finalize (zpar_wireup_t *w, zpar_error_t *err);

/* Getters: valid from create to destroy.  Strings are owned by w. */
int zpar__wireup_rank (const zpar_wireup_t *w);
int zpar__wireup_size (const zpar_wireup_t *w);
int zpar__wireup_local_rank (const zpar_wireup_t *w);
int zpar__wireup_local_size (const zpar_wireup_t *w);
const char *zpar__wireup_hostname (const zpar_wireup_t *w);
const char *zpar__wireup_jobid (const zpar_wireup_t *w); /* NULL when none */
zpar_wireup_source_t zpar__wireup_source (const zpar_wireup_t *w);
zpar_wireup_exchange_t zpar__wireup_exchange_method (const zpar_wireup_t *w);
/* The job's hosts as the launcher knows them, comma-separated, malloc'd
 * (the caller frees it): PMIx_Resolve_nodes of the job's namespace when
 * PMIx is up; else NULL (unknown: Slurm's SLURM_JOB_NODELIST and
 * PBS_NODEFILE are read by addrpick.h itself). */
char *zpar__wireup_nodes (const zpar_wireup_t *w);
/* Path of the connection file (file exchange only), else NULL. */
const char *zpar__wireup_file_path (const zpar_wireup_t *w);
/* MPI was initialised when create returned (by it or by the caller before)
 * and is not finalized yet: MPI_COMM_WORLD may be used (MPI_Comm_split). */
bool zpar__wireup_mpi_initialized (const zpar_wireup_t *w);

/* Static names for debug output: "pmix", "pmi2", "mpi", "ompi-env",
 * "pmi-env", "slurm-env", "single"; "pmix", "pmix-fence", "pmi2", "mpi",
 * "file", "local", "none".  Never NULL ("?" for an unknown value). */
const char *zpar__wireup_source_name (zpar_wireup_source_t s);
const char *zpar__wireup_exchange_name (zpar_wireup_exchange_t x);

/* One line for the log: "ranks from S, endpoints over X" and, when a
 * preferred path was present but not used, why ("; not pmi2: PMI_FD=9:
 * no answer to init"); paths that were simply absent are not named.
 * Written into buf (size bytes, truncated); returns buf. */
const char *zpar__wireup_describe (const zpar_wireup_t *w, char *buf, size_t size);
/* The fallback notes alone ("" when the first present path was used). */
const char *zpar__wireup_notes (const zpar_wireup_t *w);
/* A path the launcher offered failed (not merely skipped by request). */
bool zpar__wireup_fell_back (const zpar_wireup_t *w);

/* Rank 0 only (EINVAL elsewhere), once (EBUSY a second time or after
 * finalize): make blob (a NUL-terminated string of at most
 * ZPAR_WIREUP_BLOB_MAX bytes, not empty; copied) available to every rank.
 * pmix: does not wait for the others; mpi: returns once broadcast; file:
 * returns once the file is in place.  Returns 0, or -1 with errno: EINVAL,
 * EBUSY, ENOTSUP (no exchange method: size > 1 without PMIx/MPI and without
 * a connection_dir), EIO (PMIx/MPI error), or the errno of the file
 * operation (ENOENT: connection_dir missing, EACCES ...). */
int zpar__wireup_publish (zpar_wireup_t *w, const char *blob, zpar_error_t *err);

/* Every rank: return a copy of rank 0's blob (malloc'd, the caller frees),
 * waiting up to params.timeout_ms for it.  On rank 0, after publish, a copy
 * of what it published (EBUSY before).  Returns NULL with errno: ETIMEDOUT
 * (rank 0 did not publish in time), EBUSY (a second fetch on the mpi or
 * pmix-fence exchanges, which are collective, or after finalize), ENOTSUP,
 * EPROTO (a malformed or foreign connection file, a non-string PMIx value),
 * EIO, ENOMEM. */
char *zpar__wireup_fetch (zpar_wireup_t *w, zpar_error_t *err);

/* Rank 0: publish (blob) then return a copy; others: fetch (blob ignored).
 * Same errors as publish / fetch. */
char *zpar__wireup_exchange (zpar_wireup_t *w, const char *blob, zpar_error_t *err);

/* Rank 0: remove the connection file written by publish (file exchange;
 * a no-op for the others).  Returns 0 or -1 with errno of unlink (ENOENT is
 * not an error). */
int zpar__wireup_unpublish (zpar_wireup_t *w, zpar_error_t *err);

/* Wait until every rank has called it (PMIx_Fence without data, with the
 * timeout; MPI_Barrier, no timeout; size 1: nothing).  Returns 0, or -1 with
 * errno ETIMEDOUT, EIO, EBUSY (after finalize) or ENOTSUP (environment or
 * file wire-up: there is no channel between the ranks). */
int zpar__wireup_barrier (zpar_wireup_t *w, zpar_error_t *err);

#endif
