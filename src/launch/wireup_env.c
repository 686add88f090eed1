/* wireup_env.c - ranks from the launcher's environment (see wireup.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "wireup_impl.h"

/* Parse a decimal non-negative int (no sign, no blanks, no trailing junk). */
int zpar__wireup_parse_uint (const char *s, int *out)
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
    if (zpar__wireup_parse_uint (s, out) < 0) {
        zpar__errnoprintf (err, EINVAL,
                           "%s='%s' is not a non-negative integer: the launcher's "
                           "environment is corrupt (unset it to ignore it)",
                           name, s);
        return -1;
    }
    return 1;
}

/* First of the names that is set. 1 found, 0 none, -1 malformed. */
static int env_uint_any (const char *const *names, int *out, const char **which, zpar_error_t *err)
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

int zpar__wireup_check_ranks (zpar_wireup_t *w, const char *what, zpar_error_t *err)
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
        return zpar__errnoprintf (err, EINVAL,
                                  "%s: node-local rank %d is not below the "
                                  "node-local size %d",
                                  what, w->local_rank, w->local_size);
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
        return zpar__errnoprintf (err, EINVAL,
                                  "OMPI_COMM_WORLD_RANK is set but "
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
    return zpar__wireup_check_ranks (w, "OMPI_COMM_WORLD_*", err) < 0 ? -1 : 1;
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
    return zpar__wireup_check_ranks (w, "PMI_RANK/PMI_SIZE", err) < 0 ? -1 : 1;
}

static int from_slurm_env (zpar_wireup_t *w, zpar_error_t *err)
{
    static const char *const size_vars[] = {"SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "SLURM_NPROCS",
                                            NULL};
    static const char *const tpn_vars[] = {"SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE",
                                           NULL};
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
        return zpar__errnoprintf (err, EINVAL,
                                  "SLURM_PROCID is set but none of "
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
        return zpar__errnoprintf (err, EINVAL,
                                  "SLURM_PROCID is set but neither "
                                  "SLURM_STEP_TASKS_PER_NODE nor SLURM_TASKS_PER_NODE is");
    w->local_size = slurm_tasks_on_node (tpn, nodeid);
    if (w->local_size < 0)
        return zpar__errnoprintf (err, EINVAL,
                                  "%s='%s' is malformed or has no entry for "
                                  "SLURM_NODEID=%d (expected e.g. '2(x3),1')",
                                  tpn_name, tpn, nodeid);
    w->source = ZPAR_WIREUP_SRC_SLURM_ENV;
    return zpar__wireup_check_ranks (w, "SLURM_PROCID/SLURM_NTASKS", err) < 0 ? -1 : 1;
}

int zpar__wireup_from_env (zpar_wireup_t *w, zpar_error_t *err)
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
        return zpar__errnoprintf (err, ENOTSUP,
                                  "PMIX_RANK=%s is set (a PMIx launcher started "
                                  "this process) but PMIx is not usable here (%s) and no "
                                  "OMPI_COMM_WORLD_RANK, PMI_RANK or SLURM_PROCID gives the job "
                                  "size: rebuild with PMIx (libpmix-dev)",
                                  pr,
#ifdef HAVE_PMIX
                                  (w->flags & ZPAR_WIREUP_NO_PMIX) ? "disabled" : "PMIx_Init failed"
#else
                                  "built without PMIx"
#endif
        );
    return 0;
}
