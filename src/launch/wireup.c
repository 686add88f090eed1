/* wireup.c - rank discovery and the rank-0 blob exchange (see wireup.h):
 * create, finalize, getters, and the exchange dispatch.  The sources and
 * exchanges live in wireup_env.c, wireup_pmix.c, wireup_mpi.c and
 * wireup_file.c (wireup_impl.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_MPI
#include <mpi.h>
#endif

#include "error.h"
#include "wireup_impl.h"

/* ------------------------------------------------------------------ names */

const char *zpar__wireup_source_name (zpar_wireup_source_t s)
{
    switch (s) {
    case ZPAR_WIREUP_SRC_SINGLE:
        return "single";
    case ZPAR_WIREUP_SRC_PMIX:
        return "pmix";
    case ZPAR_WIREUP_SRC_MPI:
        return "mpi";
    case ZPAR_WIREUP_SRC_OMPI_ENV:
        return "ompi-env";
    case ZPAR_WIREUP_SRC_PMI_ENV:
        return "pmi-env";
    case ZPAR_WIREUP_SRC_SLURM_ENV:
        return "slurm-env";
    case ZPAR_WIREUP_SRC_PMI2:
        return "pmi2";
    }
    return "?";
}

const char *zpar__wireup_exchange_name (zpar_wireup_exchange_t x)
{
    switch (x) {
    case ZPAR_WIREUP_XCHG_LOCAL:
        return "local";
    case ZPAR_WIREUP_XCHG_PMIX:
        return "pmix";
    case ZPAR_WIREUP_XCHG_PMIX_FENCE:
        return "pmix-fence";
    case ZPAR_WIREUP_XCHG_MPI:
        return "mpi";
    case ZPAR_WIREUP_XCHG_FILE:
        return "file";
    case ZPAR_WIREUP_XCHG_NONE:
        return "none";
    case ZPAR_WIREUP_XCHG_PMI2:
        return "pmi2";
    }
    return "?";
}

int zpar__wireup_skip_parse (const char *list, unsigned *flags, zpar_error_t *err)
{
    const char *p = list;
    unsigned f = 0;
    while (p && *p) {
        size_t n = strcspn (p, ",");
        if (n == 4 && !strncmp (p, "pmix", 4))
            f |= ZPAR_WIREUP_NO_PMIX;
        else if (n == 4 && !strncmp (p, "pmi2", 4))
            f |= ZPAR_WIREUP_NO_PMI2;
        else if (n > 0)
            return zpar__errnoprintf (err, EINVAL,
                                      "ZPAR_WIREUP_SKIP: '%.*s' is not pmix or pmi2 (a list "
                                      "like pmix,pmi2)",
                                      (int)n, p);
        p += n;
        if (*p == ',')
            p++;
    }
    *flags |= f;
    return 0;
}

void zpar__wireup_note (zpar_wireup_t *w, const char *fmt, ...)
{
    size_t used = strlen (w->notes);
    va_list ap;
    if (used + 3 >= sizeof (w->notes))
        return;
    if (used) {
        memcpy (w->notes + used, "; ", 3);
        used += 2;
    }
    va_start (ap, fmt);
    vsnprintf (w->notes + used, sizeof (w->notes) - used, fmt, ap);
    va_end (ap);
}

bool zpar__wireup_fell_back (const zpar_wireup_t *w)
{
    return w && w->fell_back;
}

const char *zpar__wireup_notes (const zpar_wireup_t *w)
{
    return w ? w->notes : "";
}

const char *zpar__wireup_describe (const zpar_wireup_t *w, char *buf, size_t size)
{
    if (!w) {
        snprintf (buf, size, "no wire-up");
        return buf;
    }
    snprintf (buf, size, "%d ranks (%d on this node) from %s, endpoints over %s%s%s", w->size,
              w->local_size, zpar__wireup_source_name (w->source),
              zpar__wireup_exchange_name (w->xchg), w->xchg == ZPAR_WIREUP_XCHG_FILE ? " " : "",
              w->xchg == ZPAR_WIREUP_XCHG_FILE && w->path ? w->path : "");
    if (w->notes[0]) {
        size_t n = strlen (buf);
        if (n < size)
            snprintf (buf + n, size - n, " (not used: %s)", w->notes);
    }
    return buf;
}

void zpar__wireup_params_init (zpar_wireup_params_t *p)
{
    if (p) {
        memset (p, 0, sizeof (*p));
        p->timeout_ms = ZPAR_WIREUP_TIMEOUT_MS_DEFAULT;
    }
}

/* ------------------------------------------------------------------ create */

static int choose_exchange (zpar_wireup_t *w, zpar_error_t *err)
{
    if (w->size == 1)
        w->xchg = ZPAR_WIREUP_XCHG_LOCAL;
    else if (w->pmix_up && w->source == ZPAR_WIREUP_SRC_PMIX)
        w->xchg = (w->flags & ZPAR_WIREUP_PMIX_FENCE) ? ZPAR_WIREUP_XCHG_PMIX_FENCE
                                                      : ZPAR_WIREUP_XCHG_PMIX;
    else if (w->pmi2_up && w->source == ZPAR_WIREUP_SRC_PMI2)
        w->xchg = ZPAR_WIREUP_XCHG_PMI2;
    else if (w->mpi_up && !(w->flags & ZPAR_WIREUP_NO_MPI_XCHG))
        w->xchg = ZPAR_WIREUP_XCHG_MPI;
    else if (w->dir)
        w->xchg = ZPAR_WIREUP_XCHG_FILE;
    else
        w->xchg = ZPAR_WIREUP_XCHG_NONE;

    if (w->dir) {
        const char *k = w->jobid;
        char buf[512];
        const char *step = getenv ("SLURM_STEP_ID");
        if (!step)
            step = getenv ("SLURM_STEPID");
        if (!k)
            k = "nojob";
        else if (getenv ("SLURM_JOB_ID") && step) {
            /* every step of a job has its own file (a step's tasks, and
             * an mpirun's across nodes, carry the step id; the batch
             * script has none) */
            snprintf (buf, sizeof (buf), "%s.%s", k, step);
            k = buf;
        }
        char *key = zpar__wireup_sanitize_key (w->key ? w->key : k);
        if (!key)
            return zpar__errnoprintf (err, ENOMEM, "out of memory");
        free (w->key);
        w->key = key;
        size_t n = strlen (w->dir) + strlen (w->key) + 32;
        if (!(w->path = malloc (n)))
            return zpar__errnoprintf (err, ENOMEM, "out of memory");
        snprintf (w->path, n, "%s/zpar-wireup.%s", w->dir, w->key);
    }
    return 0;
}

zpar_wireup_t *zpar__wireup_create (const zpar_wireup_params_t *params, zpar_error_t *err)
{
    zpar_wireup_params_t defp;
    zpar_wireup_t *w = NULL;
    const char *jid;
    int rc;

    if (!params) {
        zpar__wireup_params_init (&defp);
        params = &defp;
    }
    if (params->flags & ~(unsigned)(ZPAR_WIREUP_NO_PMIX | ZPAR_WIREUP_MPI | ZPAR_WIREUP_PMIX_FENCE |
                                    ZPAR_WIREUP_NO_MPI_XCHG | ZPAR_WIREUP_NO_PMI2)) {
        zpar__errnoprintf (err, EINVAL, "wire-up: unknown flags 0x%x", params->flags);
        return NULL;
    }
    if (params->connection_dir && !*params->connection_dir) {
        zpar__errnoprintf (err, EINVAL, "wire-up: the connection directory is an empty string");
        return NULL;
    }
#ifndef HAVE_MPI
    if (params->flags & ZPAR_WIREUP_MPI) {
        zpar__errnoprintf (err, ENOTSUP,
                           "MPI was requested but zpar was built without MPI "
                           "(install libopenmpi-dev and reconfigure)");
        return NULL;
    }
#endif
    if (!(w = calloc (1, sizeof (*w))))
        goto nomem;
    w->pmi2_fd = -1;
    w->flags = params->flags;
    w->timeout_ms = params->timeout_ms > 0 ? params->timeout_ms : ZPAR_WIREUP_TIMEOUT_MS_DEFAULT;
    w->created = time (NULL);
    w->local_size = w->size = 1;
    w->source = ZPAR_WIREUP_SRC_SINGLE;
    if (params->connection_dir && !(w->dir = strdup (params->connection_dir)))
        goto nomem;
    if (params->job_key && !(w->key = strdup (params->job_key)))
        goto nomem;
    if (gethostname (w->hostname, sizeof (w->hostname) - 1) < 0)
        snprintf (w->hostname, sizeof (w->hostname), "localhost");
    if ((jid = getenv ("SLURM_JOB_ID")) == NULL || !*jid)
        jid = getenv ("PBS_JOBID");
    if (jid && *jid && !(w->jobid = strdup (jid)))
        goto nomem;

    rc = 0;
#ifdef HAVE_PMIX
    if ((rc = zpar__wireup_from_pmix (w, err)) < 0)
        goto error;
#endif
    if (rc == 0 && (rc = zpar__wireup_from_pmi2 (w, err)) < 0)
        goto error;
#ifdef HAVE_MPI
    if (w->flags & ZPAR_WIREUP_MPI) {
        if (zpar__wireup_mpi_init (w, err) < 0)
            goto error;
        if (rc == 0 && (rc = zpar__wireup_from_mpi (w, err)) < 0)
            goto error;
        if (rc == 1 && w->source != ZPAR_WIREUP_SRC_MPI && zpar__wireup_mpi_check (w, err) < 0)
            goto error;
    }
#endif
    if (rc == 0 && (rc = zpar__wireup_from_env (w, err)) < 0)
        goto error;
    if (rc == 0) { /* a single process */
        w->rank = w->local_rank = 0;
        w->size = w->local_size = 1;
        w->source = ZPAR_WIREUP_SRC_SINGLE;
    }
    if (choose_exchange (w, err) < 0)
        goto error;
    return w;
nomem:
    zpar__errnoprintf (err, ENOMEM, "out of memory");
error : {
    int saved = errno;
    if (w)
        w->mpi_owned = false; /* see the header: MPI stays up */
    zpar__wireup_destroy (w);
    errno = saved;
}
    return NULL;
}

/* ------------------------------------------------------------------ finalize */

int zpar__wireup_finalize (zpar_wireup_t *w, zpar_error_t *err)
{
    int rc = 0;
    if (!w) {
        errno = EINVAL;
        return zpar__errprintf (err, "wire-up: NULL object");
    }
    if (w->finalized)
        return 0;
    w->finalized = true;
#ifdef HAVE_MPI
    if (w->mpi_up && w->mpi_owned) {
        int fin = 0;
        MPI_Finalized (&fin);
        if (!fin && MPI_Finalize () != MPI_SUCCESS)
            rc = zpar__errnoprintf (err, EIO, "MPI_Finalize failed");
    }
#endif
    w->mpi_up = false;
    zpar__wireup_pmi2_finalize (w);
#ifdef HAVE_PMIX
    if (w->pmix_up) {
        pmix_status_t prc = PMIx_Finalize (NULL, 0);
        w->pmix_up = false;
        if (prc != PMIX_SUCCESS)
            rc = zpar__errnoprintf (err, EIO, "PMIx_Finalize: %s", PMIx_Error_string (prc));
    }
#endif
    return rc;
}

void zpar__wireup_destroy (zpar_wireup_t *w)
{
    if (w) {
        int saved = errno;
        (void)zpar__wireup_finalize (w, NULL);
        free (w->jobid);
        free (w->key);
        free (w->dir);
        free (w->path);
        free (w->published);
        free (w);
        errno = saved;
    }
}

/* ------------------------------------------------------------------ getters */

int zpar__wireup_rank (const zpar_wireup_t *w)
{
    return w ? w->rank : -1;
}
int zpar__wireup_size (const zpar_wireup_t *w)
{
    return w ? w->size : -1;
}
int zpar__wireup_local_rank (const zpar_wireup_t *w)
{
    return w ? w->local_rank : -1;
}
int zpar__wireup_local_size (const zpar_wireup_t *w)
{
    return w ? w->local_size : -1;
}
const char *zpar__wireup_hostname (const zpar_wireup_t *w)
{
    return w ? w->hostname : NULL;
}
const char *zpar__wireup_jobid (const zpar_wireup_t *w)
{
    return w ? w->jobid : NULL;
}
char *zpar__wireup_nodes (const zpar_wireup_t *w)
{
#ifdef HAVE_PMIX
    if (w && w->pmix_up)
        return zpar__wireup_pmix_nodes (w);
#endif
    (void)w;
    return NULL;
}
const char *zpar__wireup_file_path (const zpar_wireup_t *w)
{
    return w && w->xchg == ZPAR_WIREUP_XCHG_FILE ? w->path : NULL;
}

zpar_wireup_source_t zpar__wireup_source (const zpar_wireup_t *w)
{
    return w ? w->source : ZPAR_WIREUP_SRC_SINGLE;
}

zpar_wireup_exchange_t zpar__wireup_exchange_method (const zpar_wireup_t *w)
{
    return w ? w->xchg : ZPAR_WIREUP_XCHG_NONE;
}

bool zpar__wireup_mpi_initialized (const zpar_wireup_t *w)
{
    return w && w->mpi_up && !w->finalized;
}

/* ------------------------------------------------------------------ exchange */

static int no_exchange (const zpar_wireup_t *w, zpar_error_t *err)
{
    return zpar__errnoprintf (err, ENOTSUP,
                              "no way to share rank 0's endpoints among %d ranks "
                              "(source %s, no PMIx, no MPI): give a shared --connection-dir",
                              w->size, zpar__wireup_source_name (w->source));
}

int zpar__wireup_publish (zpar_wireup_t *w, const char *blob, zpar_error_t *err)
{
    char *copy;
    if (!w || !blob || !*blob) {
        errno = EINVAL;
        return zpar__errprintf (err, "wire-up publish: %s", !w ? "NULL object" : "empty blob");
    }
    if (strlen (blob) > ZPAR_WIREUP_BLOB_MAX)
        return zpar__errnoprintf (err, EINVAL, "wire-up publish: blob of %zu bytes exceeds %d",
                                  strlen (blob), ZPAR_WIREUP_BLOB_MAX);
    if (w->rank != 0)
        return zpar__errnoprintf (err, EINVAL,
                                  "wire-up publish: only rank 0 publishes (this "
                                  "is rank %d)",
                                  w->rank);
    if (w->finalized || w->published)
        return zpar__errnoprintf (err, EBUSY, "wire-up publish: %s",
                                  w->finalized ? "already finalized" : "already published");
    if (!(copy = strdup (blob)))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    switch (w->xchg) {
    case ZPAR_WIREUP_XCHG_LOCAL:
        break;
#ifdef HAVE_PMIX
    case ZPAR_WIREUP_XCHG_PMIX:
    case ZPAR_WIREUP_XCHG_PMIX_FENCE:
        if (zpar__wireup_pmix_publish (w, blob, err) < 0)
            goto error;
        if (w->xchg == ZPAR_WIREUP_XCHG_PMIX_FENCE && zpar__wireup_pmix_fence (w, true, err) < 0)
            goto error;
        break;
#endif
    case ZPAR_WIREUP_XCHG_PMI2:
        if (zpar__wireup_pmi2_publish (w, blob, err) < 0)
            goto error;
        break;
#ifdef HAVE_MPI
    case ZPAR_WIREUP_XCHG_MPI:
        if (zpar__wireup_mpi_bcast_blob (&copy, 0, err) < 0)
            goto error;
        break;
#endif
    case ZPAR_WIREUP_XCHG_FILE:
        if (zpar__wireup_file_publish (w, blob, err) < 0)
            goto error;
        break;
    default:
        no_exchange (w, err);
        goto error;
    }
    w->published = copy;
    return 0;
error : {
    int saved = errno;
    free (copy);
    errno = saved;
}
    return -1;
}

char *zpar__wireup_fetch (zpar_wireup_t *w, zpar_error_t *err)
{
    char *s = NULL;
    if (!w) {
        zpar__errnoprintf (err, EINVAL, "wire-up fetch: NULL object");
        return NULL;
    }
    if (w->finalized) {
        zpar__errnoprintf (err, EBUSY, "wire-up fetch: already finalized");
        return NULL;
    }
    if (w->rank == 0) {
        if (!w->published) {
            zpar__errnoprintf (err, EBUSY, "wire-up fetch: rank 0 must publish first");
            return NULL;
        }
        if (!(s = strdup (w->published)))
            zpar__errnoprintf (err, ENOMEM, "out of memory");
        return s;
    }
    switch (w->xchg) {
#ifdef HAVE_PMIX
    case ZPAR_WIREUP_XCHG_PMIX_FENCE:
        if (w->fetched) {
            zpar__errnoprintf (err, EBUSY, "wire-up fetch: the fence is collective, fetch once");
            return NULL;
        }
        w->fetched = true;
        if (zpar__wireup_pmix_fence (w, true, err) < 0)
            return NULL;
        /* fall through */
    case ZPAR_WIREUP_XCHG_PMIX:
        return zpar__wireup_pmix_fetch (w, err);
#endif
    case ZPAR_WIREUP_XCHG_PMI2:
        if (w->fetched) {
            zpar__errnoprintf (err, EBUSY,
                               "wire-up fetch: the PMI-2 fence is collective, fetch once");
            return NULL;
        }
        w->fetched = true;
        return zpar__wireup_pmi2_fetch (w, err);
#ifdef HAVE_MPI
    case ZPAR_WIREUP_XCHG_MPI:
        if (w->fetched) {
            zpar__errnoprintf (err, EBUSY, "wire-up fetch: MPI_Bcast is collective, fetch once");
            return NULL;
        }
        w->fetched = true;
        if (zpar__wireup_mpi_bcast_blob (&s, w->rank, err) < 0)
            return NULL;
        return s;
#endif
    case ZPAR_WIREUP_XCHG_FILE:
        return zpar__wireup_file_fetch (w, err);
    default:
        no_exchange (w, err);
        return NULL;
    }
}

char *zpar__wireup_exchange (zpar_wireup_t *w, const char *blob, zpar_error_t *err)
{
    if (w && w->rank == 0 && zpar__wireup_publish (w, blob, err) < 0)
        return NULL;
    return zpar__wireup_fetch (w, err);
}

int zpar__wireup_unpublish (zpar_wireup_t *w, zpar_error_t *err)
{
    if (!w) {
        errno = EINVAL;
        return zpar__errprintf (err, "wire-up unpublish: NULL object");
    }
    if (w->rank != 0 || w->xchg != ZPAR_WIREUP_XCHG_FILE || !w->published)
        return 0;
    if (unlink (w->path) < 0 && errno != ENOENT)
        return zpar__errprintf (err, "unlink %s: %s", w->path, strerror (errno));
    return 0;
}

int zpar__wireup_barrier (zpar_wireup_t *w, zpar_error_t *err)
{
    if (!w) {
        errno = EINVAL;
        return zpar__errprintf (err, "wire-up barrier: NULL object");
    }
    if (w->finalized)
        return zpar__errnoprintf (err, EBUSY, "wire-up barrier: already finalized");
    if (w->size == 1)
        return 0;
#ifdef HAVE_PMIX
    if (w->pmix_up && w->source == ZPAR_WIREUP_SRC_PMIX)
        return zpar__wireup_pmix_fence (w, false, err);
#endif
    if (w->pmi2_up && w->source == ZPAR_WIREUP_SRC_PMI2)
        return zpar__wireup_pmi2_fence (w, err);
#ifdef HAVE_MPI
    if (w->mpi_up) {
        if (MPI_Barrier (MPI_COMM_WORLD) != MPI_SUCCESS)
            return zpar__errnoprintf (err, EIO, "MPI_Barrier failed");
        return 0;
    }
#endif
    return zpar__errnoprintf (err, ENOTSUP,
                              "wire-up barrier: no channel between the ranks "
                              "(source %s)",
                              zpar__wireup_source_name (w->source));
}
