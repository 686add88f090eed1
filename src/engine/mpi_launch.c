/* mpi_launch.c - the command line and environment of an MPI task.  See
 * mpi_launch.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/mpi_launch.h"
#include "engine/mpi_map.h"
#include "error.h"
#include "proto_task.h"

/* One environment variable holds at most MAX_ARG_STRLEN (32 pages) */
#define MAP_MAX (128u * 1024 - 64)

/* ------------------------------------------------------------ environment */

static int has_prefix (const char *s, const char *p)
{
    return strncmp (s, p, strlen (p)) == 0;
}

/* 1 for the variables by which a launcher tells a process its place in
 * a parallel job (mpi_launch.h, "Environment") */
static int wireup_var (const char *e)
{
    static const char *const drop[] = {
        "PMIX_", "PMI_", "PMI2_", "PRTE_", "HYDI_", "MPI_LOCALRANKID=", "MPI_LOCALNRANKS=",
        /* HPE Cray PALS: the application, the rank and its node, which
         * Cray PMI reads to join the job (the user's settings of mpiexec,
         * PALS_PPN, PALS_DEPTH, PALS_CPU_BIND, ..., are not wire-up) */
        "PALS_APID=", "PALS_APINFO=", "PALS_RANKID=", "PALS_NODEID=", "PALS_LOCAL_RANKID=",
        "PALS_LOCAL_SIZE=", "PALS_SPOOL_DIR=", "PALS_FD=",
        /* Cray ALPS (aprun): the application and the rank's place in it;
         * aprun's user settings are APRUN_* */
        "ALPS_APP_"};
    /* what mpirun sets in its ranks' environment among the MCA settings */
    static const char *const ompi_own[] = {"OMPI_MCA_orte_",
                                           "OMPI_MCA_ess",
                                           "OMPI_MCA_pmix",
                                           "OMPI_MCA_initial_wdir=",
                                           "OMPI_MCA_mpi_oversubscribe=",
                                           "OMPI_MCA_shmem_RUNTIME_QUERY_hint="};
    for (size_t i = 0; i < sizeof (drop) / sizeof (drop[0]); i++)
        if (has_prefix (e, drop[i]))
            return 1;
    if (has_prefix (e, "OMPI_")) {
        if (has_prefix (e, "OMPI_ALLOW_RUN_AS_ROOT"))
            return 0;
        if (!has_prefix (e, "OMPI_MCA_"))
            return 1;
        for (size_t i = 0; i < sizeof (ompi_own) / sizeof (ompi_own[0]); i++)
            if (has_prefix (e, ompi_own[i]))
                return 1;
    }
    return 0;
}

int zpar__mpi_env_scrubbed (const char *e, int srun)
{
    if (wireup_var (e))
        return 1;
    if (has_prefix (e, "SLURM_")) {
        if (has_prefix (e, "SLURM_CONF="))
            return 0;
        if (srun && has_prefix (e, "SLURM_MPI_TYPE="))
            return 0;
        return 1;
    }
    return has_prefix (e, ZPAR_MPI_MAP_VAR "=");
}

int zpar__task_env_scrubbed (const char *e)
{
    /* the engine's job step and its task in it; the job's own variables
     * (SLURM_JOB_*, SLURM_NODELIST, SLURM_MEM_PER_*, ...) stay */
    static const char *const step[] = {
        "SLURM_STEP_",  "SLURM_STEPID=",   "SLURM_PROCID=",    "SLURM_LOCALID=",
        "SLURM_GTIDS=", "SLURM_TASK_PID=", "SLURM_SRUN_COMM_", "SLURM_LAUNCH_NODE_IPADDR=",
        "SLURM_PMIX"};
    if (wireup_var (e))
        return 1;
    for (size_t i = 0; i < sizeof (step) / sizeof (step[0]); i++)
        if (has_prefix (e, step[i]))
            return 1;
    return 0;
}

static const char *env_get (char *const *envp, const char *name)
{
    size_t n = strlen (name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp (envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    return NULL;
}

/* 1 if prog (a path, or a name searched in path) is executable */
static int found_in_path (const char *prog, const char *path)
{
    char buf[PATH_MAX];
    if (strchr (prog, '/'))
        return access (prog, X_OK) == 0;
    while (path && *path) {
        size_t n = strcspn (path, ":");
        if (n && n + strlen (prog) + 2 <= sizeof (buf)) {
            snprintf (buf, sizeof (buf), "%.*s/%s", (int)n, path, prog);
            if (access (buf, X_OK) == 0)
                return 1;
        }
        path += n;
        if (*path == ':')
            path++;
    }
    return 0;
}

/* zpar-rank beside the running program (the build tree's programs run
 * from .libs/), else the name alone (PATH) */
static char *rank_wrapper (char *const *envp)
{
    const char *w = env_get (envp, "ZPAR_MPI_RANK_WRAPPER");
    char exe[PATH_MAX], cand[PATH_MAX + 16];
    ssize_t n;
    if (w && *w)
        return strdup (w);
    n = readlink ("/proc/self/exe", exe, sizeof (exe) - 1);
    if (n > 0) {
        char *slash;
        exe[n] = '\0';
        for (int up = 0; up < 2 && (slash = strrchr (exe, '/')); up++) {
            *slash = '\0';
            snprintf (cand, sizeof (cand), "%s/zpar-rank", exe);
            if (access (cand, X_OK) == 0)
                return strdup (cand);
            /* exe is now the directory: next round, its parent if it is
             * libtool's .libs */
            if (!(slash = strrchr (exe, '/')) || strcmp (slash + 1, ".libs") != 0)
                break;
        }
    }
    return strdup ("zpar-rank");
}

/* ------------------------------------------------------------ build */

typedef struct {
    char **v;
    size_t n, cap;
    int failed;
} strv_t;

static void strv_take (strv_t *a, char *s)
{
    if (!s || a->failed) {
        free (s);
        a->failed = 1;
        return;
    }
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        char **v = realloc (a->v, cap * sizeof (*v));
        if (!v) {
            free (s);
            a->failed = 1;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void strv_add (strv_t *a, const char *s)
{
    strv_take (a, strdup (s));
}

static void strv_addf (strv_t *a, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void strv_addf (strv_t *a, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start (ap, fmt);
    if (vasprintf (&s, fmt, ap) < 0)
        s = NULL;
    va_end (ap);
    strv_take (a, s);
}

static void strv_free (char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free (v[i]);
    free (v);
}

void zpar__mpi_launch_free (zpar_mpi_launch_t *l)
{
    int e = errno;
    if (!l)
        return;
    strv_free (l->argv);
    strv_free (l->envp);
    memset (l, 0, sizeof (*l));
    errno = e;
}

/* A growing string. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} sbuf_t;

static void sbuf_add (sbuf_t *b, const char *s)
{
    size_t n = strlen (s);
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (b->len + n + 1 > cap)
            cap *= 2;
        if (!(p = realloc (b->s, cap))) {
            b->failed = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy (b->s + b->len, s, n + 1);
    b->len += n;
}

/* The node name srun knows host by: this engine's own host is
 * SLURMD_NODENAME (virtual nodes of one machine share its host name). */
static const char *slurm_node (const char *host, const zpar_mpi_request_t *req)
{
    const char *me = env_get (req->envp, "SLURMD_NODENAME");
    if (me && *me && req->self_host && zpar__mpi_same_host (host, req->self_host))
        return me;
    return host;
}

static zpar_mpi_launcher_t choose (const zpar_mpi_request_t *req, zpar_error_t *err)
{
    const char *v = env_get (req->envp, "ZPAR_MPI_LAUNCHER");
    const char *srun = env_get (req->envp, "ZPAR_MPI_SRUN");
    if (req->how != ZPAR_MPI_AUTO)
        return req->how;
    if (v && strcmp (v, "srun") == 0)
        return ZPAR_MPI_SRUN;
    if (v && strcmp (v, "mpirun") == 0)
        return ZPAR_MPI_MPIRUN;
    if (v && *v && strcmp (v, "auto") != 0) {
        zpar__errnoprintf (err, EINVAL, "ZPAR_MPI_LAUNCHER=%s: give srun, mpirun or auto", v);
        return ZPAR_MPI_AUTO;
    }
    if (env_get (req->envp, "SLURM_JOB_ID") &&
        found_in_path (srun && *srun ? srun : "srun", env_get (req->envp, "PATH")))
        return ZPAR_MPI_SRUN;
    return ZPAR_MPI_MPIRUN;
}

/* argv of srun or mpirun for layout r (the wrapper and the command are
 * added by the caller) */
static void launcher_argv (strv_t *a, const zpar_mpi_request_t *req, zpar_mpi_launcher_t how,
                           const zpar_mpi_rank_t *r, const char *job)
{
    unsigned ranks = req->ranks;
    sbuf_t list = {0};
    unsigned hosts = 0;

    if (how == ZPAR_MPI_SRUN) {
        const char *srun = env_get (req->envp, "ZPAR_MPI_SRUN");
        sbuf_add (&list, "--nodelist=");
        for (unsigned i = 0; i < ranks; i++) {
            int first = 1;
            for (unsigned j = 0; j < i && first; j++)
                if (zpar__mpi_same_host (r[i].host, r[j].host))
                    first = 0;
            hosts += first;
            if (i)
                sbuf_add (&list, ",");
            sbuf_add (&list, slurm_node (r[i].host, req));
        }
        strv_add (a, srun && *srun ? srun : "srun");
        strv_add (a, "--overlap");
        strv_addf (a, "--jobid=%s", job);
        strv_addf (a, "--nodes=%u", hosts);
        strv_addf (a, "--ntasks=%u", ranks);
        strv_take (a, list.failed ? NULL : strdup (list.s));
        strv_add (a, "--distribution=arbitrary");
        strv_add (a, "--overcommit");
        strv_add (a, "--kill-on-bad-exit=1");
    } else {
        const char *mpirun = env_get (req->envp, "ZPAR_MPIRUN");
        /* ranks come host by host (grouped layout): HOST:count each */
        for (unsigned i = 0; i < ranks;) {
            unsigned j = i;
            char num[16];
            while (j < ranks && zpar__mpi_same_host (r[i].host, r[j].host))
                j++;
            if (i)
                sbuf_add (&list, ",");
            sbuf_add (&list, r[i].host);
            snprintf (num, sizeof (num), ":%u", j - i);
            sbuf_add (&list, num);
            i = j;
        }
        strv_add (a, mpirun && *mpirun ? mpirun : "mpirun");
        strv_add (a, "--host");
        strv_take (a, list.failed ? NULL : strdup (list.s));
        strv_add (a, "-n");
        strv_addf (a, "%u", ranks);
        strv_add (a, "--map-by");
        strv_add (a, "slot");
        strv_add (a, "--bind-to");
        strv_add (a, "none");
        /* remote ranks get the rank map and the task's own variables */
        strv_add (a, "-x");
        strv_add (a, ZPAR_MPI_MAP_VAR);
        for (size_t i = 0; req->envp[i]; i++) {
            const char *e = req->envp[i];
            int mine = has_prefix (e, "ZPAR_");
            for (size_t j = 0; req->add && req->add[j] && !mine; j++) {
                size_t n = strcspn (req->add[j], "=");
                mine = strncmp (e, req->add[j], n) == 0 && e[n] == '=';
            }
            if (!mine || has_prefix (e, ZPAR_MPI_MAP_VAR "=") || zpar__mpi_env_scrubbed (e, 0))
                continue;
            strv_add (a, "-x");
            strv_take (a, strndup (e, strcspn (e, "=")));
        }
    }
    free (list.s);
}

/* ZPAR_MPI_RANKMAP=... for layout r */
static char *rank_map (const zpar_mpi_rank_t *r, unsigned ranks)
{
    sbuf_t m = {0};
    char num[16];
    sbuf_add (&m, ZPAR_MPI_MAP_VAR "=");
    for (unsigned i = 0; i < ranks; i++) {
        snprintf (num, sizeof (num), "%s%u ", i ? ";" : "", r[i].engine);
        sbuf_add (&m, num);
        sbuf_add (&m, r[i].host);
        sbuf_add (&m, " ");
        sbuf_add (&m, r[i].cpuset);
        sbuf_add (&m, " ");
        sbuf_add (&m, r[i].gpus);
    }
    if (m.failed) {
        free (m.s);
        return NULL;
    }
    return m.s;
}

int zpar__mpi_launch_build (const zpar_mpi_request_t *req, zpar_mpi_launch_t *out,
                            zpar_error_t *err)
{
    zpar_mpi_launcher_t how;
    zpar_mpi_rank_t *r = NULL;
    strv_t a = {0}, env = {0};
    const char *job = NULL;
    char *map = NULL, *wrapper = NULL;
    int e;

    memset (out, 0, sizeof (*out));
    if (!req || !req->argv || !req->argv[0] || !req->argv[0][0] || !req->envp)
        return zpar__errnoprintf (err, EINVAL, "an MPI task without a command");
    errno = 0;
    if ((how = choose (req, err)) == ZPAR_MPI_AUTO)
        return -1;
    if (how == ZPAR_MPI_SRUN && !(job = env_get (req->envp, "SLURM_JOB_ID")))
        return zpar__errnoprintf (err, EINVAL,
                                  "ZPAR_MPI_LAUNCHER=srun outside a Slurm allocation "
                                  "(no SLURM_JOB_ID)");
    if (zpar__mpi_layout (req->slots, req->nslots, req->ranks, how == ZPAR_MPI_MPIRUN, &r, err) < 0)
        return -1;
    if (!(map = rank_map (r, req->ranks)) || !(wrapper = rank_wrapper (req->envp))) {
        e = ENOMEM;
        zpar__errprintf (err, "out of memory");
        goto error;
    }
    if (strlen (map) > MAP_MAX) {
        e = E2BIG;
        zpar__errprintf (err, "%u ranks: their map (%zu bytes) does not fit in the environment",
                         req->ranks, strlen (map));
        goto error;
    }
    launcher_argv (&a, req, how, r, job);
    strv_add (&a, wrapper);
    strv_add (&a, "--");
    for (size_t i = 0; req->argv[i]; i++)
        strv_add (&a, req->argv[i]);
    for (size_t i = 0; !a.failed && a.v[i]; i++)
        if (strlen (a.v[i]) > MAP_MAX) {
            e = E2BIG;
            zpar__errprintf (err, "%u ranks: the launcher's argument %zu is too long", req->ranks,
                             i);
            goto error;
        }
    for (size_t i = 0; req->envp[i]; i++)
        if (!zpar__mpi_env_scrubbed (req->envp[i], how == ZPAR_MPI_SRUN))
            strv_add (&env, req->envp[i]);
    strv_take (&env, map);
    map = NULL;
    if (a.failed || env.failed) {
        e = ENOMEM;
        zpar__errprintf (err, "out of memory");
        goto error;
    }
    zpar__mpi_layout_free (r, req->ranks);
    free (wrapper);
    out->how = how;
    out->argv = a.v;
    out->envp = env.v;
    return 0;
error:
    zpar__mpi_layout_free (r, req->ranks);
    free (map);
    free (wrapper);
    strv_free (a.v);
    strv_free (env.v);
    errno = e;
    return -1;
}

int zpar__mpi_launch_task (unsigned ranks, const char *const *slots, size_t nslots,
                           char *const *argv, char *const *envp, char *const *add,
                           zpar_mpi_launch_t *out, zpar_error_t *err)
{
    zpar_proto_slot_t *ps = NULL;
    zpar_mpi_slot_t *ms = NULL;
    zpar_mpi_request_t req;
    char self[256] = "";
    int rc = -1;

    memset (out, 0, sizeof (*out));
    if (nslots &&
        (!(ps = calloc (nslots, sizeof (*ps))) || !(ms = calloc (nslots, sizeof (*ms))))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nslots; i++) {
        zpar_error_t perr;
        if (!slots[i] || zpar__proto_slot_parse (slots[i], &ps[i], &perr) < 0) {
            zpar__errnoprintf (err, EINVAL, "MPI task: bad slot '%s': %s",
                               slots[i] ? slots[i] : "(null)", slots[i] ? perr.text : "missing");
            goto done;
        }
        ms[i].engine = ps[i].engine.v;
        ms[i].host = ps[i].host;
        ms[i].cpuset = ps[i].cpuset;
        ms[i].gpus = ps[i].gpus;
    }
    (void)gethostname (self, sizeof (self) - 1);
    memset (&req, 0, sizeof (req));
    req.ranks = ranks;
    req.slots = ms;
    req.nslots = nslots;
    req.argv = argv;
    req.envp = envp;
    req.add = add;
    req.self_host = self;
    rc = zpar__mpi_launch_build (&req, out, err);
done:
    free (ps);
    free (ms);
    return rc;
}
