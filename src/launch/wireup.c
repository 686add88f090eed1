/* wireup.c - rank discovery and the rank-0 blob exchange (see wireup.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_PMIX
#include <pmix.h>
#endif
#ifdef HAVE_MPI
#include <mpi.h>
#endif

#include "error.h"
#include "wireup.h"

#define FILE_MAGIC "zpar-wireup 1"

struct zpar_wireup {
    int rank;
    int size;
    int local_rank;
    int local_size;
    char hostname[256];
    char *jobid;
    char *key;      /* file exchange key (sanitised) */
    char *dir;      /* connection_dir or NULL */
    char *path;     /* connection file path (file exchange) */
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
#ifdef HAVE_PMIX
    pmix_proc_t me;
#endif
};

/* ------------------------------------------------------------------ names */

const char *zpar__wireup_source_name (zpar_wireup_source_t s)
{
    switch (s) {
    case ZPAR_WIREUP_SRC_SINGLE: return "single";
    case ZPAR_WIREUP_SRC_PMIX: return "pmix";
    case ZPAR_WIREUP_SRC_MPI: return "mpi";
    case ZPAR_WIREUP_SRC_OMPI_ENV: return "ompi-env";
    case ZPAR_WIREUP_SRC_PMI_ENV: return "pmi-env";
    case ZPAR_WIREUP_SRC_SLURM_ENV: return "slurm-env";
    }
    return "?";
}

const char *zpar__wireup_exchange_name (zpar_wireup_exchange_t x)
{
    switch (x) {
    case ZPAR_WIREUP_XCHG_LOCAL: return "local";
    case ZPAR_WIREUP_XCHG_PMIX: return "pmix";
    case ZPAR_WIREUP_XCHG_PMIX_FENCE: return "pmix-fence";
    case ZPAR_WIREUP_XCHG_MPI: return "mpi";
    case ZPAR_WIREUP_XCHG_FILE: return "file";
    case ZPAR_WIREUP_XCHG_NONE: return "none";
    }
    return "?";
}

void zpar__wireup_params_init (zpar_wireup_params_t *p)
{
    if (p) {
        memset (p, 0, sizeof (*p));
        p->timeout_ms = ZPAR_WIREUP_TIMEOUT_MS_DEFAULT;
    }
}

/* ------------------------------------------------------------------ helpers */

static double now_mono (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms (int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Parse a decimal non-negative int (no sign, no blanks, no trailing junk). */
static int parse_uint (const char *s, int *out)
{
    long v = 0;
    if (!s || !*s)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
        if (v > INT_MAX)
            return -1;
    }
    *out = (int)v;
    return 0;
}

/* getenv + parse; 1 = found, 0 = unset, -1 = malformed (err filled). */
static int env_uint (const char *name, int *out, zpar_error_t *err)
{
    const char *s = getenv (name);
    if (!s)
        return 0;
    if (parse_uint (s, out) < 0) {
        zpar__errnoprintf (err, EINVAL, "%s='%s' is not a non-negative integer: the launcher's "
                           "environment is corrupt (unset it to ignore it)", name, s);
        return -1;
    }
    return 1;
}

/* First of the names that is set. 1 found, 0 none, -1 malformed. */
static int env_uint_any (const char *const *names, int *out, const char **which,
                         zpar_error_t *err)
{
    for (; *names; names++) {
        int rc = env_uint (*names, out, err);
        if (rc != 0) {
            if (which)
                *which = *names;
            return rc;
        }
    }
    return 0;
}

/* Slurm's compressed tasks-per-node list "2(x3),1": the count of node idx.
 * Returns the count, or -1 if malformed or idx beyond the list. */
static int slurm_tasks_on_node (const char *s, int idx)
{
    const char *p = s;
    int node = 0;
    if (!s || !*s)
        return -1;
    while (*p) {
        int count = 0, rep = 1;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9') {
            count = count * 10 + (*p++ - '0');
            if (count > 1000000000)
                return -1;
        }
        if (*p == '(') {
            if (p[1] != 'x')
                return -1;
            p += 2;
            rep = 0;
            if (*p < '0' || *p > '9')
                return -1;
            while (*p >= '0' && *p <= '9') {
                rep = rep * 10 + (*p++ - '0');
                if (rep > 1000000000)
                    return -1;
            }
            if (*p++ != ')')
                return -1;
        }
        if (idx < node + rep)
            return count;
        node += rep;
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return -1;
}

static int check_ranks (zpar_wireup_t *w, const char *what, zpar_error_t *err)
{
    if (w->size < 1)
        return zpar__errnoprintf (err, EINVAL, "%s: job size %d is not positive", what, w->size);
    if (w->rank >= w->size)
        return zpar__errnoprintf (err, EINVAL, "%s: rank %d is not below the job size %d", what,
                                  w->rank, w->size);
    if (w->local_size < 1 || w->local_size > w->size)
        return zpar__errnoprintf (err, EINVAL, "%s: node-local size %d is not in 1..%d", what,
                                  w->local_size, w->size);
    if (w->local_rank >= w->local_size)
        return zpar__errnoprintf (err, EINVAL, "%s: node-local rank %d is not below the "
                                  "node-local size %d", what, w->local_rank, w->local_size);
    return 0;
}

/* ------------------------------------------------------------------ env sources */

/* 1 = found (w filled), 0 = not this launcher, -1 = error. */
static int from_ompi_env (zpar_wireup_t *w, zpar_error_t *err)
{
    int rc = env_uint ("OMPI_COMM_WORLD_RANK", &w->rank, err);
    if (rc <= 0)
        return rc;
    if ((rc = env_uint ("OMPI_COMM_WORLD_SIZE", &w->size, err)) < 0)
        return -1;
    if (rc == 0)
        return zpar__errnoprintf (err, EINVAL, "OMPI_COMM_WORLD_RANK is set but "
                                  "OMPI_COMM_WORLD_SIZE is not");
    if ((rc = env_uint ("OMPI_COMM_WORLD_LOCAL_RANK", &w->local_rank, err)) < 0)
        return -1;
    if (rc == 0)
        w->local_rank = w->rank;
    if ((rc = env_uint ("OMPI_COMM_WORLD_LOCAL_SIZE", &w->local_size, err)) < 0)
        return -1;
    if (rc == 0)
        w->local_size = w->size;
    w->source = ZPAR_WIREUP_SRC_OMPI_ENV;
    return check_ranks (w, "OMPI_COMM_WORLD_*", err) < 0 ? -1 : 1;
}

static int from_pmi_env (zpar_wireup_t *w, zpar_error_t *err)
{
    int rc = env_uint ("PMI_RANK", &w->rank, err);
    if (rc <= 0)
        return rc;
    if ((rc = env_uint ("PMI_SIZE", &w->size, err)) < 0)
        return -1;
    if (rc == 0)
        return zpar__errnoprintf (err, EINVAL, "PMI_RANK is set but PMI_SIZE is not");
    int rl = env_uint ("MPI_LOCALRANKID", &w->local_rank, err);
    if (rl < 0)
        return -1;
    int sl = env_uint ("MPI_LOCALNRANKS", &w->local_size, err);
    if (sl < 0)
        return -1;
    if (rl == 0 || sl == 0) { /* unknown: as if on one node */
        w->local_rank = w->rank;
        w->local_size = w->size;
    }
    w->source = ZPAR_WIREUP_SRC_PMI_ENV;
    return check_ranks (w, "PMI_RANK/PMI_SIZE", err) < 0 ? -1 : 1;
}

static int from_slurm_env (zpar_wireup_t *w, zpar_error_t *err)
{
    static const char *const size_vars[] = { "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS",
                                             "SLURM_NPROCS", NULL };
    static const char *const tpn_vars[] = { "SLURM_STEP_TASKS_PER_NODE",
                                            "SLURM_TASKS_PER_NODE", NULL };
    const char *tpn = NULL, *tpn_name = NULL;
    int nodeid = 0, rc;

    if (!getenv ("SLURM_PROCID"))
        return 0;
    /* The batch script carries SLURM_PROCID=0 and SLURM_NTASKS=N but is a
     * single process: only a step's tasks have a step id. */
    if (!getenv ("SLURM_STEP_ID") && !getenv ("SLURM_STEPID"))
        return 0;
    if (env_uint ("SLURM_PROCID", &w->rank, err) < 0)
        return -1;
    if ((rc = env_uint_any (size_vars, &w->size, NULL, err)) < 0)
        return -1;
    if (rc == 0)
        return zpar__errnoprintf (err, EINVAL, "SLURM_PROCID is set but none of "
                                  "SLURM_STEP_NUM_TASKS, SLURM_NTASKS, SLURM_NPROCS is");
    if ((rc = env_uint ("SLURM_LOCALID", &w->local_rank, err)) < 0)
        return -1;
    if (rc == 0)
        return zpar__errnoprintf (err, EINVAL, "SLURM_PROCID is set but SLURM_LOCALID is not");
    if (env_uint ("SLURM_NODEID", &nodeid, err) < 0)
        return -1;
    for (const char *const *v = tpn_vars; *v && !tpn; v++) {
        if ((tpn = getenv (*v)))
            tpn_name = *v;
    }
    if (!tpn)
        return zpar__errnoprintf (err, EINVAL, "SLURM_PROCID is set but neither "
                                  "SLURM_STEP_TASKS_PER_NODE nor SLURM_TASKS_PER_NODE is");
    w->local_size = slurm_tasks_on_node (tpn, nodeid);
    if (w->local_size < 0)
        return zpar__errnoprintf (err, EINVAL, "%s='%s' is malformed or has no entry for "
                                  "SLURM_NODEID=%d (expected e.g. '2(x3),1')", tpn_name, tpn,
                                  nodeid);
    w->source = ZPAR_WIREUP_SRC_SLURM_ENV;
    return check_ranks (w, "SLURM_PROCID/SLURM_NTASKS", err) < 0 ? -1 : 1;
}

static int from_env (zpar_wireup_t *w, zpar_error_t *err)
{
    int rc;
    if ((rc = from_ompi_env (w, err)) != 0)
        return rc;
    if ((rc = from_pmi_env (w, err)) != 0)
        return rc;
    if ((rc = from_slurm_env (w, err)) != 0)
        return rc;
    const char *pr = getenv ("PMIX_RANK");
    if (pr)
        return zpar__errnoprintf (err, ENOTSUP, "PMIX_RANK=%s is set (a PMIx launcher started "
                                  "this process) but PMIx is not usable here (%s) and no "
                                  "OMPI_COMM_WORLD_RANK, PMI_RANK or SLURM_PROCID gives the job "
                                  "size: rebuild with PMIx (libpmix-dev)", pr,
#ifdef HAVE_PMIX
                                  (w->flags & ZPAR_WIREUP_NO_PMIX) ? "disabled" : "PMIx_Init failed"
#else
                                  "built without PMIx"
#endif
        );
    return 0;
}

/* ------------------------------------------------------------------ PMIx */

#ifdef HAVE_PMIX
static bool pmix_launched (void)
{
    extern char **environ;
    if (getenv ("PMIX_NAMESPACE"))
        return true;
    for (char **e = environ; e && *e; e++) {
        if (strncmp (*e, "PMIX_SERVER_URI", 15) == 0)
            return true;
    }
    return false;
}

static int pmix_value_int (const pmix_value_t *v, long *out)
{
    switch (v->type) {
    case PMIX_UINT8: *out = v->data.uint8; return 0;
    case PMIX_UINT16: *out = v->data.uint16; return 0;
    case PMIX_UINT32: *out = v->data.uint32; return 0;
    case PMIX_UINT64: *out = v->data.uint64 > INT_MAX ? -1 : (long)v->data.uint64; return 0;
    case PMIX_INT: *out = v->data.integer; return 0;
    case PMIX_INT16: *out = v->data.int16; return 0;
    case PMIX_INT32: *out = v->data.int32; return 0;
    case PMIX_PROC_RANK: *out = (long)v->data.rank; return 0;
    default: return -1;
    }
}

static int pmix_get_int (const pmix_proc_t *proc, const char *key, int *out, zpar_error_t *err)
{
    pmix_value_t *v = NULL;
    long x = -1;
    pmix_status_t rc = PMIx_Get (proc, key, NULL, 0, &v);
    if (rc != PMIX_SUCCESS)
        return zpar__errnoprintf (err, EPROTO, "PMIx_Get(%s): %s", key, PMIx_Error_string (rc));
    if (pmix_value_int (v, &x) < 0 || x < 0 || x > INT_MAX) {
        int type = (int)v->type;
        PMIX_VALUE_RELEASE (v);
        return zpar__errnoprintf (err, EPROTO, "PMIx_Get(%s): unexpected value (type %d)", key,
                                  type);
    }
    PMIX_VALUE_RELEASE (v);
    *out = (int)x;
    return 0;
}

/* 1 = PMIx answered (w filled), 0 = not PMIx-launched or init failed, -1 error. */
static int from_pmix (zpar_wireup_t *w, zpar_error_t *err)
{
    pmix_proc_t wild;
    pmix_status_t rc;

    if ((w->flags & ZPAR_WIREUP_NO_PMIX) || !pmix_launched ())
        return 0;
    PMIX_PROC_CONSTRUCT (&w->me);
    rc = PMIx_Init (&w->me, NULL, 0);
    if (rc != PMIX_SUCCESS)
        return 0; /* e.g. UNREACHABLE in a batch script: fall back silently */
    w->pmix_up = true;
    PMIX_PROC_CONSTRUCT (&wild);
    PMIX_LOAD_PROCID (&wild, w->me.nspace, PMIX_RANK_WILDCARD);
    if (w->me.rank > (pmix_rank_t)INT_MAX)
        return zpar__errnoprintf (err, EPROTO, "PMIx_Init returned rank %u", w->me.rank);
    w->rank = (int)w->me.rank;
    if (pmix_get_int (&wild, PMIX_JOB_SIZE, &w->size, err) < 0
        || pmix_get_int (&w->me, PMIX_LOCAL_RANK, &w->local_rank, err) < 0
        || pmix_get_int (&wild, PMIX_LOCAL_SIZE, &w->local_size, err) < 0)
        return -1;
    w->source = ZPAR_WIREUP_SRC_PMIX;
    if (check_ranks (w, "PMIx", err) < 0) {
        errno = EPROTO;
        return -1;
    }
    return 1;
}

static int pmix_timeout_s (const zpar_wireup_t *w)
{
    return (w->timeout_ms + 999) / 1000;
}

static int pmix_publish (zpar_wireup_t *w, const char *blob, zpar_error_t *err)
{
    pmix_value_t val;
    pmix_status_t rc;

    PMIX_VALUE_CONSTRUCT (&val);
    val.type = PMIX_STRING;
    val.data.string = (char *)blob; /* PMIx_Put copies */
    if ((rc = PMIx_Put (PMIX_GLOBAL, ZPAR_WIREUP_PMIX_KEY, &val)) != PMIX_SUCCESS)
        return zpar__errnoprintf (err, EIO, "PMIx_Put(%s): %s", ZPAR_WIREUP_PMIX_KEY,
                                  PMIx_Error_string (rc));
    if ((rc = PMIx_Commit ()) != PMIX_SUCCESS)
        return zpar__errnoprintf (err, EIO, "PMIx_Commit: %s", PMIx_Error_string (rc));
    return 0;
}

/* PMIx_Fence over the whole job with the timeout; collect: with data. */
static int pmix_fence (zpar_wireup_t *w, bool collect, zpar_error_t *err)
{
    pmix_proc_t wild;
    pmix_info_t info[2];
    int tmo = pmix_timeout_s (w);
    pmix_status_t rc;

    PMIX_PROC_CONSTRUCT (&wild);
    PMIX_LOAD_PROCID (&wild, w->me.nspace, PMIX_RANK_WILDCARD);
    PMIX_INFO_CONSTRUCT (&info[0]);
    PMIX_INFO_CONSTRUCT (&info[1]);
    PMIX_INFO_LOAD (&info[0], PMIX_COLLECT_DATA, &collect, PMIX_BOOL);
    PMIX_INFO_LOAD (&info[1], PMIX_TIMEOUT, &tmo, PMIX_INT);
    rc = PMIx_Fence (&wild, 1, info, 2);
    PMIX_INFO_DESTRUCT (&info[0]);
    PMIX_INFO_DESTRUCT (&info[1]);
    if (rc == PMIX_ERR_TIMEOUT)
        return zpar__errnoprintf (err, ETIMEDOUT, "PMIx_Fence timed out after %d s: some rank "
                                  "did not reach the wire-up", tmo);
    if (rc != PMIX_SUCCESS)
        return zpar__errnoprintf (err, EIO, "PMIx_Fence: %s", PMIx_Error_string (rc));
    return 0;
}

/* Get rank 0's key.  PMIX_TIMEOUT makes the server wait for a value not
 * posted yet, but some servers answer NOT-FOUND at once instead (seen with
 * Open MPI's orted when two of them run on one host): retry those until
 * the deadline, backing off from 5 to 200 ms. */
static char *pmix_fetch (zpar_wireup_t *w, zpar_error_t *err)
{
    pmix_proc_t peer;
    pmix_value_t *v = NULL;
    double deadline = now_mono () + w->timeout_ms / 1000.0;
    int delay = 5, tries = 0;
    pmix_status_t rc;
    char *s;

    PMIX_PROC_CONSTRUCT (&peer);
    PMIX_LOAD_PROCID (&peer, w->me.nspace, 0);
    for (;;) {
        pmix_info_t info;
        int tmo = (int)(deadline - now_mono () + 0.999);
        if (tmo < 1)
            tmo = 1;
        PMIX_INFO_CONSTRUCT (&info);
        PMIX_INFO_LOAD (&info, PMIX_TIMEOUT, &tmo, PMIX_INT);
        rc = PMIx_Get (&peer, ZPAR_WIREUP_PMIX_KEY, &info, 1, &v);
        PMIX_INFO_DESTRUCT (&info);
        tries++;
        if (rc != PMIX_ERR_NOT_FOUND || now_mono () >= deadline)
            break;
        sleep_ms (delay);
        if (delay < 200)
            delay *= 2;
    }
    if (rc == PMIX_ERR_TIMEOUT || rc == PMIX_ERR_NOT_FOUND) {
        zpar__errnoprintf (err, ETIMEDOUT, "timed out after %d s waiting for rank 0 to publish "
                           "PMIx key %s (%s after %d tries): rank 0 (the controller) did not "
                           "start, or finalized/exited before this rank fetched",
                           pmix_timeout_s (w), ZPAR_WIREUP_PMIX_KEY, PMIx_Error_string (rc), tries);
        return NULL;
    }
    if (rc != PMIX_SUCCESS) {
        zpar__errnoprintf (err, EIO, "PMIx_Get(rank 0, %s): %s", ZPAR_WIREUP_PMIX_KEY,
                           PMIx_Error_string (rc));
        return NULL;
    }
    if (v->type != PMIX_STRING || !v->data.string) {
        zpar__errnoprintf (err, EPROTO, "PMIx_Get(rank 0, %s): not a string (type %d)",
                           ZPAR_WIREUP_PMIX_KEY, (int)v->type);
        PMIX_VALUE_RELEASE (v);
        return NULL;
    }
    s = strdup (v->data.string);
    PMIX_VALUE_RELEASE (v);
    if (!s)
        zpar__errnoprintf (err, ENOMEM, "out of memory");
    return s;
}
#endif /* HAVE_PMIX */

/* ------------------------------------------------------------------ MPI */

#ifdef HAVE_MPI
static int mpi_init (zpar_wireup_t *w, zpar_error_t *err)
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

static int from_mpi (zpar_wireup_t *w, zpar_error_t *err)
{
    MPI_Comm node;
    MPI_Comm_rank (MPI_COMM_WORLD, &w->rank);
    MPI_Comm_size (MPI_COMM_WORLD, &w->size);
    if (MPI_Comm_split_type (MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node)
        != MPI_SUCCESS)
        return zpar__errnoprintf (err, EIO, "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) failed");
    MPI_Comm_rank (node, &w->local_rank);
    MPI_Comm_size (node, &w->local_size);
    MPI_Comm_free (&node);
    w->source = ZPAR_WIREUP_SRC_MPI;
    return check_ranks (w, "MPI", err) < 0 ? -1 : 1;
}

/* Broadcast a string from rank 0: length (including the NUL), then bytes.
 * On rank 0 *blob is the input; elsewhere it receives a malloc'd copy. */
static int mpi_bcast_blob (char **blob, int rank, zpar_error_t *err)
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

/* ------------------------------------------------------------------ file */

static char *sanitize_key (const char *s)
{
    char *k = strdup (s);
    if (!k)
        return NULL;
    for (char *p = k; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
              || *p == '.' || *p == '_' || *p == '-'))
            *p = '_';
    }
    if (k[0] == '.') /* no hidden files, no ".." */
        k[0] = '_';
    return k;
}

static int file_publish (zpar_wireup_t *w, const char *blob, zpar_error_t *err)
{
    size_t plen = strlen (w->dir) + 64;
    char *tmp = malloc (plen + strlen (w->key));
    char hdr[64];
    int fd = -1, n;
    FILE *f = NULL;

    if (!tmp)
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    snprintf (tmp, plen + strlen (w->key), "%s/.zpar-wireup.%s.XXXXXX", w->dir, w->key);
    if ((fd = mkstemp (tmp)) < 0) { /* mode 0600 */
        zpar__errprintf (err, "cannot create a file in the connection directory %s: %s",
                         w->dir, strerror (errno));
        goto error_nofile;
    }
    if (fchmod (fd, 0600) < 0 || !(f = fdopen (fd, "w"))) {
        zpar__errprintf (err, "%s: %s", tmp, strerror (errno));
        goto error;
    }
    fd = -1;
    n = snprintf (hdr, sizeof (hdr), "%s size=%d\n", FILE_MAGIC, w->size);
    if (fwrite (hdr, 1, (size_t)n, f) != (size_t)n
        || fwrite (blob, 1, strlen (blob), f) != strlen (blob) || fflush (f) != 0
        || fsync (fileno (f)) < 0) {
        zpar__errprintf (err, "writing %s: %s", tmp, strerror (errno));
        goto error;
    }
    if (fclose (f) != 0) {
        f = NULL;
        zpar__errprintf (err, "writing %s: %s", tmp, strerror (errno));
        goto error;
    }
    f = NULL;
    if (rename (tmp, w->path) < 0) {
        zpar__errprintf (err, "rename %s -> %s: %s", tmp, w->path, strerror (errno));
        goto error;
    }
    free (tmp);
    return 0;
error:
    {
        int saved = errno;
        if (f)
            fclose (f);
        if (fd >= 0)
            close (fd);
        unlink (tmp);
        errno = saved;
    }
error_nofile:
    free (tmp);
    return -1;
}

/* Try to read the connection file once.  Returns the blob (malloc'd), or
 * NULL with errno: ENOENT (not there yet or stale: keep polling), or a
 * definitive error (EPROTO, EACCES, ENOMEM, ...) with err filled. */
static char *file_try_read (zpar_wireup_t *w, zpar_error_t *err)
{
    struct stat st;
    char *buf = NULL, *nl;
    int fd, fsize = -1;
    size_t len = 0, cap;
    ssize_t r;

    if ((fd = open (w->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        if (errno == ENOENT)
            return NULL;
        zpar__errprintf (err, "open %s: %s", w->path, strerror (errno));
        return NULL;
    }
    if (fstat (fd, &st) < 0) {
        zpar__errprintf (err, "stat %s: %s", w->path, strerror (errno));
        goto error;
    }
    if (st.st_mtime < w->created - ZPAR_WIREUP_FILE_SKEW_S) {
        close (fd); /* a leftover of an earlier job: wait for rank 0 to replace it */
        errno = ENOENT;
        return NULL;
    }
    if (!S_ISREG (st.st_mode) || st.st_uid != geteuid () || (st.st_mode & 077)) {
        zpar__errnoprintf (err, EPROTO, "%s is not a private regular file of this user "
                           "(mode %03o, uid %u): refusing it", w->path,
                           (unsigned)(st.st_mode & 0777), (unsigned)st.st_uid);
        goto error;
    }
    cap = (size_t)ZPAR_WIREUP_BLOB_MAX + 128;
    if (!(buf = malloc (cap + 1))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        goto error;
    }
    while (len < cap && (r = read (fd, buf + len, cap - len)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            zpar__errprintf (err, "read %s: %s", w->path, strerror (errno));
            goto error;
        }
        len += (size_t)r;
    }
    close (fd);
    fd = -1;
    buf[len] = '\0';
    if (strlen (buf) != len || !(nl = strchr (buf, '\n'))
        || strncmp (buf, FILE_MAGIC " size=", strlen (FILE_MAGIC " size=")) != 0) {
        zpar__errnoprintf (err, EPROTO, "%s is not a zpar wire-up file", w->path);
        goto error;
    }
    *nl = '\0';
    if (parse_uint (buf + strlen (FILE_MAGIC " size="), &fsize) < 0 || fsize != w->size) {
        zpar__errnoprintf (err, EPROTO, "%s was written by a job of another size ('%s', this "
                           "job has %d ranks): two jobs share the key '%s'", w->path, buf,
                           w->size, w->key);
        goto error;
    }
    if (nl[1] == '\0' || len - (size_t)(nl + 1 - buf) > ZPAR_WIREUP_BLOB_MAX) {
        zpar__errnoprintf (err, EPROTO, "%s: empty or oversized blob", w->path);
        goto error;
    }
    memmove (buf, nl + 1, strlen (nl + 1) + 1);
    return buf;
error:
    {
        int saved = errno;
        if (fd >= 0)
            close (fd);
        free (buf);
        errno = saved;
    }
    return NULL;
}

static char *file_fetch (zpar_wireup_t *w, zpar_error_t *err)
{
    double deadline = now_mono () + w->timeout_ms / 1000.0;
    int delay = 5;
    char *s;

    for (;;) {
        zpar_error_t e = { { 0 } };
        if ((s = file_try_read (w, &e)))
            return s;
        if (errno != ENOENT) {
            if (err)
                *err = e;
            return NULL;
        }
        if (now_mono () >= deadline) {
            zpar__errnoprintf (err, ETIMEDOUT, "timed out after %.1f s waiting for rank 0's "
                               "connection file %s: is rank 0 (the controller) running, and "
                               "is --connection-dir shared by all nodes?",
                               w->timeout_ms / 1000.0, w->path);
            return NULL;
        }
        sleep_ms (delay);
        if (delay < 200)
            delay *= 2;
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
        else if (getenv ("SLURM_JOB_ID") && step && w->source == ZPAR_WIREUP_SRC_SLURM_ENV) {
            snprintf (buf, sizeof (buf), "%s.%s", k, step);
            k = buf;
        }
        char *key = sanitize_key (w->key ? w->key : k);
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
    if (params->flags & ~(unsigned)(ZPAR_WIREUP_NO_PMIX | ZPAR_WIREUP_MPI | ZPAR_WIREUP_PMIX_FENCE
                                    | ZPAR_WIREUP_NO_MPI_XCHG)) {
        zpar__errnoprintf (err, EINVAL, "wire-up: unknown flags 0x%x", params->flags);
        return NULL;
    }
    if (params->connection_dir && !*params->connection_dir) {
        zpar__errnoprintf (err, EINVAL, "wire-up: the connection directory is an empty string");
        return NULL;
    }
#ifndef HAVE_MPI
    if (params->flags & ZPAR_WIREUP_MPI) {
        zpar__errnoprintf (err, ENOTSUP, "MPI was requested but zpar was built without MPI "
                           "(install libopenmpi-dev and reconfigure)");
        return NULL;
    }
#endif
    if (!(w = calloc (1, sizeof (*w))))
        goto nomem;
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
    if ((rc = from_pmix (w, err)) < 0)
        goto error;
#endif
#ifdef HAVE_MPI
    if (w->flags & ZPAR_WIREUP_MPI) {
        if (mpi_init (w, err) < 0)
            goto error;
        if (rc == 0 && (rc = from_mpi (w, err)) < 0)
            goto error;
    }
#endif
    if (rc == 0 && (rc = from_env (w, err)) < 0)
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
error:
    {
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

int zpar__wireup_rank (const zpar_wireup_t *w) { return w ? w->rank : -1; }
int zpar__wireup_size (const zpar_wireup_t *w) { return w ? w->size : -1; }
int zpar__wireup_local_rank (const zpar_wireup_t *w) { return w ? w->local_rank : -1; }
int zpar__wireup_local_size (const zpar_wireup_t *w) { return w ? w->local_size : -1; }
const char *zpar__wireup_hostname (const zpar_wireup_t *w) { return w ? w->hostname : NULL; }
const char *zpar__wireup_jobid (const zpar_wireup_t *w) { return w ? w->jobid : NULL; }
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
    return zpar__errnoprintf (err, ENOTSUP, "no way to share rank 0's endpoints among %d ranks "
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
        return zpar__errnoprintf (err, EINVAL, "wire-up publish: only rank 0 publishes (this "
                                  "is rank %d)", w->rank);
    if (w->finalized || w->published)
        return zpar__errnoprintf (err, EBUSY, "wire-up publish: %s", w->finalized
                                  ? "already finalized" : "already published");
    if (!(copy = strdup (blob)))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    switch (w->xchg) {
    case ZPAR_WIREUP_XCHG_LOCAL:
        break;
#ifdef HAVE_PMIX
    case ZPAR_WIREUP_XCHG_PMIX:
    case ZPAR_WIREUP_XCHG_PMIX_FENCE:
        if (pmix_publish (w, blob, err) < 0)
            goto error;
        if (w->xchg == ZPAR_WIREUP_XCHG_PMIX_FENCE && pmix_fence (w, true, err) < 0)
            goto error;
        break;
#endif
#ifdef HAVE_MPI
    case ZPAR_WIREUP_XCHG_MPI:
        if (mpi_bcast_blob (&copy, 0, err) < 0)
            goto error;
        break;
#endif
    case ZPAR_WIREUP_XCHG_FILE:
        if (file_publish (w, blob, err) < 0)
            goto error;
        break;
    default:
        no_exchange (w, err);
        goto error;
    }
    w->published = copy;
    return 0;
error:
    {
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
        if (pmix_fence (w, true, err) < 0)
            return NULL;
        /* fall through */
    case ZPAR_WIREUP_XCHG_PMIX:
        return pmix_fetch (w, err);
#endif
#ifdef HAVE_MPI
    case ZPAR_WIREUP_XCHG_MPI:
        if (w->fetched) {
            zpar__errnoprintf (err, EBUSY, "wire-up fetch: MPI_Bcast is collective, fetch once");
            return NULL;
        }
        w->fetched = true;
        if (mpi_bcast_blob (&s, w->rank, err) < 0)
            return NULL;
        return s;
#endif
    case ZPAR_WIREUP_XCHG_FILE:
        return file_fetch (w, err);
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
        return pmix_fence (w, false, err);
#endif
#ifdef HAVE_MPI
    if (w->mpi_up) {
        if (MPI_Barrier (MPI_COMM_WORLD) != MPI_SUCCESS)
            return zpar__errnoprintf (err, EIO, "MPI_Barrier failed");
        return 0;
    }
#endif
    return zpar__errnoprintf (err, ENOTSUP, "wire-up barrier: no channel between the ranks "
                              "(source %s)", zpar__wireup_source_name (w->source));
}
