/* test_wireup.c - unit tests of src/launch/wireup.c: rank discovery from the
 * launchers' environments (and their malformed values), the job id, and the
 * connection-file exchange with its timeout.  PMIx and MPI are exercised by
 * tests/system/t0300-wireup.sh under real mpirun and srun. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "wireup.h"

extern char **environ;

static char tmpdir[] = "/tmp/test_wireup.XXXXXX";

/* Unset every variable of the launchers wireup.c reads. */
static void clear_env (void)
{
    static const char *const prefixes[] = {"SLURM_", "OMPI_",     "PMI_", "PMIX_",
                                           "PBS_",   "MPI_LOCAL", NULL};
    int again = 1;
    while (again) {
        again = 0;
        for (char **e = environ; e && *e; e++) {
            for (const char *const *p = prefixes; *p; p++) {
                if (strncmp (*e, *p, strlen (*p)) == 0) {
                    char name[256];
                    size_t n = strcspn (*e, "=");
                    if (n >= sizeof (name))
                        n = sizeof (name) - 1;
                    memcpy (name, *e, n);
                    name[n] = '\0';
                    unsetenv (name);
                    again = 1;
                    break;
                }
            }
            if (again)
                break;
        }
    }
}

/* setenv a NULL-terminated list of NAME, VALUE pairs after clearing */
static void set_env (const char *const *kv)
{
    clear_env ();
    for (; kv && kv[0]; kv += 2)
        setenv (kv[0], kv[1], 1);
}

static zpar_wireup_t *create (unsigned flags, const char *dir, const char *key, int tmo,
                              zpar_error_t *err)
{
    zpar_wireup_params_t p;
    zpar__wireup_params_init (&p);
    p.flags = flags | ZPAR_WIREUP_NO_PMIX;
    p.connection_dir = dir;
    p.job_key = key;
    p.timeout_ms = tmo;
    return zpar__wireup_create (&p, err);
}

/* ------------------------------------------------------------ discovery */

struct good_case {
    const char *name;
    const char *env[24];
    int rank, size, lrank, lsize;
    zpar_wireup_source_t source;
};

static const struct good_case good[] = {
    {"no launcher: a single process", {NULL}, 0, 1, 0, 1, ZPAR_WIREUP_SRC_SINGLE},
    {"mpirun",
     {"OMPI_COMM_WORLD_RANK", "3", "OMPI_COMM_WORLD_SIZE", "8", "OMPI_COMM_WORLD_LOCAL_RANK", "1",
      "OMPI_COMM_WORLD_LOCAL_SIZE", "4", NULL},
     3,
     8,
     1,
     4,
     ZPAR_WIREUP_SRC_OMPI_ENV},
    {"mpirun inside a Slurm step: OMPI wins",
     {"OMPI_COMM_WORLD_RANK", "2", "OMPI_COMM_WORLD_SIZE", "4", "OMPI_COMM_WORLD_LOCAL_RANK", "0",
      "OMPI_COMM_WORLD_LOCAL_SIZE", "2", "SLURM_PROCID", "1", "SLURM_STEP_ID", "0", "SLURM_NTASKS",
      "2", "SLURM_LOCALID", "0", "SLURM_TASKS_PER_NODE", "1(x2)", NULL},
     2,
     4,
     0,
     2,
     ZPAR_WIREUP_SRC_OMPI_ENV},
    {"Hydra with local ids",
     {"PMI_RANK", "5", "PMI_SIZE", "6", "MPI_LOCALRANKID", "1", "MPI_LOCALNRANKS", "3", NULL},
     5,
     6,
     1,
     3,
     ZPAR_WIREUP_SRC_PMI_ENV},
    {"Hydra without local ids: as if one node",
     {"PMI_RANK", "5", "PMI_SIZE", "6", NULL},
     5,
     6,
     5,
     6,
     ZPAR_WIREUP_SRC_PMI_ENV},
    {"srun step, one node",
     {"SLURM_PROCID", "2", "SLURM_STEP_ID", "0", "SLURM_STEP_NUM_TASKS", "3", "SLURM_NTASKS", "16",
      "SLURM_LOCALID", "2", "SLURM_STEP_TASKS_PER_NODE", "3", "SLURM_TASKS_PER_NODE", "16", NULL},
     2,
     3,
     2,
     3,
     ZPAR_WIREUP_SRC_SLURM_ENV},
    {"srun step, compressed tasks per node",
     {"SLURM_PROCID", "6", "SLURM_STEPID", "1", "SLURM_NTASKS", "7", "SLURM_LOCALID", "0",
      "SLURM_NODEID", "3", "SLURM_TASKS_PER_NODE", "2(x3),1", NULL},
     6,
     7,
     0,
     1,
     ZPAR_WIREUP_SRC_SLURM_ENV},
    {"srun step, second node of 2(x3)",
     {"SLURM_PROCID", "3", "SLURM_STEP_ID", "0", "SLURM_NPROCS", "7", "SLURM_LOCALID", "1",
      "SLURM_NODEID", "1", "SLURM_STEP_TASKS_PER_NODE", "2(x3),1", NULL},
     3,
     7,
     1,
     2,
     ZPAR_WIREUP_SRC_SLURM_ENV},
    {"Slurm batch script (no step id): one process",
     {"SLURM_PROCID", "0", "SLURM_NTASKS", "3", "SLURM_LOCALID", "0", "SLURM_JOB_ID", "17",
      "SLURM_TASKS_PER_NODE", "3", NULL},
     0,
     1,
     0,
     1,
     ZPAR_WIREUP_SRC_SINGLE},
};

static void test_good (void)
{
    for (size_t i = 0; i < sizeof (good) / sizeof (good[0]); i++) {
        const struct good_case *c = &good[i];
        zpar_error_t err = {{0}};
        zpar_wireup_t *w;
        set_env (c->env);
        w = create (0, NULL, NULL, 0, &err);
        if (!ok (w != NULL, "%s: create", c->name)) {
            diag ("  %s", err.text);
            continue;
        }
        ok (zpar__wireup_rank (w) == c->rank && zpar__wireup_size (w) == c->size &&
                zpar__wireup_local_rank (w) == c->lrank && zpar__wireup_local_size (w) == c->lsize,
            "%s: rank %d/%d local %d/%d", c->name, c->rank, c->size, c->lrank, c->lsize);
        if (zpar__wireup_rank (w) != c->rank || zpar__wireup_local_size (w) != c->lsize)
            diag ("  got rank %d/%d local %d/%d", zpar__wireup_rank (w), zpar__wireup_size (w),
                  zpar__wireup_local_rank (w), zpar__wireup_local_size (w));
        is_str (zpar__wireup_source_name (zpar__wireup_source (w)),
                zpar__wireup_source_name (c->source), "%s: source", c->name);
        ok (zpar__wireup_hostname (w) && *zpar__wireup_hostname (w), "%s: a host name", c->name);
        zpar__wireup_destroy (w);
    }
}

struct bad_case {
    const char *name;
    const char *env[20];
    int errnum;
    const char *text; /* expected in err.text */
};

#define STEP "SLURM_STEP_ID", "0"
static const struct bad_case bad[] = {
    {"SLURM_PROCID=abc",
     {"SLURM_PROCID", "abc", STEP, "SLURM_NTASKS", "2", "SLURM_LOCALID", "0",
      "SLURM_TASKS_PER_NODE", "2", NULL},
     EINVAL,
     "SLURM_PROCID='abc'"},
    {"SLURM_PROCID=-1",
     {"SLURM_PROCID", "-1", STEP, "SLURM_NTASKS", "2", "SLURM_LOCALID", "0", "SLURM_TASKS_PER_NODE",
      "2", NULL},
     EINVAL,
     "SLURM_PROCID='-1'"},
    {"SLURM_PROCID=1x",
     {"SLURM_PROCID", "1x", STEP, "SLURM_NTASKS", "2", "SLURM_LOCALID", "0", "SLURM_TASKS_PER_NODE",
      "2", NULL},
     EINVAL,
     "SLURM_PROCID"},
    {"SLURM_PROCID empty",
     {"SLURM_PROCID", "", STEP, "SLURM_NTASKS", "2", "SLURM_LOCALID", "0", "SLURM_TASKS_PER_NODE",
      "2", NULL},
     EINVAL,
     "SLURM_PROCID"},
    {"SLURM_PROCID overflows",
     {"SLURM_PROCID", "99999999999", STEP, "SLURM_NTASKS", "2", "SLURM_LOCALID", "0",
      "SLURM_TASKS_PER_NODE", "2", NULL},
     EINVAL,
     "SLURM_PROCID"},
    {"SLURM_PROCID >= SLURM_NTASKS",
     {"SLURM_PROCID", "2", STEP, "SLURM_NTASKS", "2", "SLURM_LOCALID", "0", "SLURM_TASKS_PER_NODE",
      "2", NULL},
     EINVAL,
     "not below the job size"},
    {"SLURM_NTASKS=0",
     {"SLURM_PROCID", "0", STEP, "SLURM_NTASKS", "0", "SLURM_LOCALID", "0", "SLURM_TASKS_PER_NODE",
      "1", NULL},
     EINVAL,
     "not positive"},
    {"SLURM_NTASKS=x",
     {"SLURM_PROCID", "0", STEP, "SLURM_NTASKS", "x", "SLURM_LOCALID", "0", "SLURM_TASKS_PER_NODE",
      "1", NULL},
     EINVAL,
     "SLURM_NTASKS='x'"},
    {"no Slurm size",
     {"SLURM_PROCID", "0", STEP, "SLURM_LOCALID", "0", "SLURM_TASKS_PER_NODE", "1", NULL},
     EINVAL,
     "SLURM_NTASKS"},
    {"no SLURM_LOCALID",
     {"SLURM_PROCID", "0", STEP, "SLURM_NTASKS", "1", "SLURM_TASKS_PER_NODE", "1", NULL},
     EINVAL,
     "SLURM_LOCALID"},
    {"no tasks per node",
     {"SLURM_PROCID", "0", STEP, "SLURM_NTASKS", "1", "SLURM_LOCALID", "0", NULL},
     EINVAL,
     "TASKS_PER_NODE"},
    {"SLURM_TASKS_PER_NODE=2(x",
     {"SLURM_PROCID", "0", STEP, "SLURM_NTASKS", "2", "SLURM_LOCALID", "0", "SLURM_TASKS_PER_NODE",
      "2(x", NULL},
     EINVAL,
     "SLURM_TASKS_PER_NODE='2(x'"},
    {"SLURM_TASKS_PER_NODE=2(3)",
     {"SLURM_PROCID", "0", STEP, "SLURM_NTASKS", "2", "SLURM_LOCALID", "0", "SLURM_TASKS_PER_NODE",
      "2(3)", NULL},
     EINVAL,
     "SLURM_TASKS_PER_NODE"},
    {"SLURM_NODEID beyond the list",
     {"SLURM_PROCID", "0", STEP, "SLURM_NTASKS", "2", "SLURM_LOCALID", "0", "SLURM_NODEID", "2",
      "SLURM_TASKS_PER_NODE", "1(x2)", NULL},
     EINVAL,
     "SLURM_NODEID=2"},
    {"SLURM_NODEID=z",
     {"SLURM_PROCID", "0", STEP, "SLURM_NTASKS", "2", "SLURM_LOCALID", "0", "SLURM_NODEID", "z",
      "SLURM_TASKS_PER_NODE", "2", NULL},
     EINVAL,
     "SLURM_NODEID='z'"},
    {"SLURM_LOCALID >= local size",
     {"SLURM_PROCID", "1", STEP, "SLURM_NTASKS", "2", "SLURM_LOCALID", "1", "SLURM_TASKS_PER_NODE",
      "1(x2)", NULL},
     EINVAL,
     "node-local rank"},
    {"OMPI_COMM_WORLD_RANK=abc",
     {"OMPI_COMM_WORLD_RANK", "abc", "OMPI_COMM_WORLD_SIZE", "2", NULL},
     EINVAL,
     "OMPI_COMM_WORLD_RANK='abc'"},
    {"OMPI rank without size", {"OMPI_COMM_WORLD_RANK", "0", NULL}, EINVAL, "OMPI_COMM_WORLD_SIZE"},
    {"OMPI local size > size",
     {"OMPI_COMM_WORLD_RANK", "0", "OMPI_COMM_WORLD_SIZE", "2", "OMPI_COMM_WORLD_LOCAL_RANK", "0",
      "OMPI_COMM_WORLD_LOCAL_SIZE", "3", NULL},
     EINVAL,
     "node-local size"},
    {"PMI_SIZE=0", {"PMI_RANK", "0", "PMI_SIZE", "0", NULL}, EINVAL, "not positive"},
    {"PMI_RANK without PMI_SIZE", {"PMI_RANK", "0", NULL}, EINVAL, "PMI_SIZE"},
    {"MPI_LOCALNRANKS=two",
     {"PMI_RANK", "0", "PMI_SIZE", "2", "MPI_LOCALRANKID", "0", "MPI_LOCALNRANKS", "two", NULL},
     EINVAL,
     "MPI_LOCALNRANKS"},
    {"PMIX_RANK alone", {"PMIX_RANK", "1", NULL}, ENOTSUP, "PMIX_RANK=1"},
};

static void test_bad (void)
{
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        const struct bad_case *c = &bad[i];
        zpar_error_t err = {{0}};
        zpar_wireup_t *w;
        set_env (c->env);
        errno = 0;
        w = create (0, NULL, NULL, 0, &err);
        int e = errno;
        ok (w == NULL && e == c->errnum, "%s: rejected with %s", c->name, strerror (c->errnum));
        if (w || e != c->errnum)
            diag ("  got w=%p errno=%d (%s)", (void *)w, e, strerror (e));
        if (!ok (strstr (err.text, c->text) != NULL, "%s: the error names '%s'", c->name, c->text))
            diag ("  err: %s", err.text);
        zpar__wireup_destroy (w);
    }
    clear_env ();
}

static void test_params (void)
{
    zpar_error_t err = {{0}};
    zpar_wireup_params_t p;
    zpar_wireup_t *w;

    clear_env ();
    zpar__wireup_params_init (&p);
    is_int (p.timeout_ms, ZPAR_WIREUP_TIMEOUT_MS_DEFAULT, "params_init: default timeout");
    ok (p.flags == 0 && p.connection_dir == NULL && p.job_key == NULL,
        "params_init: no flags, dir, key");
    zpar__wireup_params_init (NULL); /* NULL-safe */

    p.flags = 1u << 20;
    errno = 0;
    w = zpar__wireup_create (&p, &err);
    ok (w == NULL && errno == EINVAL, "unknown flag: EINVAL");
    zpar__wireup_params_init (&p);
    p.flags = ZPAR_WIREUP_NO_PMIX;
    p.connection_dir = "";
    errno = 0;
    w = zpar__wireup_create (&p, &err);
    ok (w == NULL && errno == EINVAL, "empty connection dir: EINVAL");
#ifndef HAVE_MPI
    p.connection_dir = NULL;
    p.flags = ZPAR_WIREUP_NO_PMIX | ZPAR_WIREUP_MPI;
    errno = 0;
    w = zpar__wireup_create (&p, &err);
    ok (w == NULL && errno == ENOTSUP && strstr (err.text, "without MPI"),
        "MPI requested without MPI support: ENOTSUP (%s)", err.text);
#endif

    /* defaults (NULL params), single process, local exchange */
    w = zpar__wireup_create (NULL, &err);
    ok (w != NULL, "create with NULL params");
    ok (zpar__wireup_jobid (w) == NULL, "no job id without SLURM_JOB_ID/PBS_JOBID");
    is_str (zpar__wireup_exchange_name (zpar__wireup_exchange_method (w)), "local",
            "size 1: local exchange");
    ok (!zpar__wireup_mpi_initialized (w), "MPI not initialised when not asked for");
    errno = 0;
    ok (zpar__wireup_fetch (w, &err) == NULL && errno == EBUSY,
        "rank 0 fetch before publish: EBUSY");
    ok (zpar__wireup_publish (w, "", &err) < 0 && errno == EINVAL, "empty blob: EINVAL");
    char *big = malloc (ZPAR_WIREUP_BLOB_MAX + 2);
    memset (big, 'x', ZPAR_WIREUP_BLOB_MAX + 1);
    big[ZPAR_WIREUP_BLOB_MAX + 1] = '\0';
    ok (zpar__wireup_publish (w, big, &err) < 0 && errno == EINVAL, "oversized blob: EINVAL");
    free (big);
    char *s = zpar__wireup_exchange (w, "tcp://h:1 key=k", &err);
    is_str (s, "tcp://h:1 key=k", "size 1: exchange returns the blob");
    free (s);
    ok (zpar__wireup_publish (w, "again", &err) < 0 && errno == EBUSY, "second publish: EBUSY");
    ok (zpar__wireup_barrier (w, &err) == 0, "size 1: barrier is a no-op");
    ok (zpar__wireup_finalize (w, &err) == 0 && zpar__wireup_finalize (w, &err) == 0,
        "finalize twice: 0");
    ok (zpar__wireup_fetch (w, &err) == NULL && errno == EBUSY, "fetch after finalize: EBUSY");
    ok (zpar__wireup_barrier (w, &err) < 0 && errno == EBUSY, "barrier after finalize: EBUSY");
    is_int (zpar__wireup_rank (w), 0, "getters still work after finalize");
    errno = 1234;
    zpar__wireup_destroy (w);
    zpar__wireup_destroy (NULL);
    is_int (errno, 1234, "destroy (and destroy NULL) keep errno");
    ok (zpar__wireup_rank (NULL) == -1 && zpar__wireup_hostname (NULL) == NULL &&
            zpar__wireup_publish (NULL, "x", NULL) < 0 && zpar__wireup_fetch (NULL, NULL) == NULL &&
            zpar__wireup_barrier (NULL, NULL) < 0 && zpar__wireup_finalize (NULL, NULL) < 0,
        "NULL object: -1/NULL everywhere");
    is_str (zpar__wireup_source_name ((zpar_wireup_source_t)99), "?", "unknown source name: ?");
}

static void test_jobid (void)
{
    zpar_error_t err = {{0}};
    zpar_wireup_t *w;
    const char *both[] = {"SLURM_JOB_ID", "42", "PBS_JOBID", "7.pbs", NULL};
    const char *pbs[] = {"PBS_JOBID", "7.pbs", NULL};

    set_env (both);
    w = create (0, NULL, NULL, 0, &err);
    is_str (w ? zpar__wireup_jobid (w) : NULL, "42", "job id: SLURM_JOB_ID first");
    zpar__wireup_destroy (w);
    set_env (pbs);
    w = create (0, NULL, NULL, 0, &err);
    is_str (w ? zpar__wireup_jobid (w) : NULL, "7.pbs", "job id: PBS_JOBID");
    zpar__wireup_destroy (w);
    clear_env ();
}

/* ------------------------------------------------------------ file exchange */

static void as_rank (int rank, int size, const char *jobid)
{
    char r[16], s[16];
    clear_env ();
    snprintf (r, sizeof (r), "%d", rank);
    snprintf (s, sizeof (s), "%d", size);
    setenv ("OMPI_COMM_WORLD_RANK", r, 1);
    setenv ("OMPI_COMM_WORLD_SIZE", s, 1);
    setenv ("OMPI_COMM_WORLD_LOCAL_RANK", r, 1);
    setenv ("OMPI_COMM_WORLD_LOCAL_SIZE", s, 1);
    if (jobid)
        setenv ("PBS_JOBID", jobid, 1);
}

static void write_file (const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen (path, "w");
    if (f) {
        fputs (text, f);
        fclose (f);
    }
    chmod (path, mode);
}

static void test_file (void)
{
    zpar_error_t err = {{0}};
    zpar_wireup_t *w0, *w1;
    char path[512];
    struct stat st;
    char *s;
    double t;

    /* no way to exchange */
    as_rank (0, 2, NULL);
    w0 = create (0, NULL, NULL, 300, &err);
    is_str (zpar__wireup_exchange_name (zpar__wireup_exchange_method (w0)), "none",
            "size 2, no PMIx/MPI/dir: exchange none");
    errno = 0;
    ok (zpar__wireup_publish (w0, "x", &err) < 0 && errno == ENOTSUP &&
            strstr (err.text, "--connection-dir"),
        "publish without a way: ENOTSUP naming --connection-dir");
    ok (zpar__wireup_barrier (w0, &err) < 0 && errno == ENOTSUP, "env wire-up: barrier ENOTSUP");
    zpar__wireup_destroy (w0);

    /* rank 0 publishes, keyed by PBS_JOBID */
    as_rank (0, 2, "12.server");
    w0 = create (0, tmpdir, NULL, 1000, &err);
    ok (w0 != NULL, "rank 0 with a connection dir");
    is_str (zpar__wireup_exchange_name (zpar__wireup_exchange_method (w0)), "file",
            "exchange: file");
    snprintf (path, sizeof (path), "%s/zpar-wireup.12.server", tmpdir);
    is_str (zpar__wireup_file_path (w0), path, "file keyed by PBS_JOBID");
    s = zpar__wireup_exchange (w0, "tcp://10.0.0.1:5555 key=abc", &err);
    is_str (s, "tcp://10.0.0.1:5555 key=abc", "rank 0: exchange returns its blob");
    free (s);
    ok (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600, "connection file has mode 0600");

    /* rank 1 of the same job fetches it */
    as_rank (1, 2, "12.server");
    w1 = create (0, tmpdir, NULL, 1000, &err);
    errno = 0;
    ok (w1 && zpar__wireup_publish (w1, "x", &err) < 0 && errno == EINVAL,
        "rank 1 publish: EINVAL");
    s = zpar__wireup_fetch (w1, &err);
    is_str (s, "tcp://10.0.0.1:5555 key=abc", "rank 1 fetches rank 0's blob");
    free (s);
    s = zpar__wireup_fetch (w1, &err);
    ok (s != NULL, "file fetch may be repeated");
    free (s);
    zpar__wireup_destroy (w1);

    /* another job id: does not see job 12's file, times out */
    as_rank (1, 2, "13.server");
    w1 = create (0, tmpdir, NULL, 300, &err);
    t = tap_now_s ();
    errno = 0;
    s = zpar__wireup_fetch (w1, &err);
    t = tap_now_s () - t;
    ok (s == NULL && errno == ETIMEDOUT, "other job: fetch times out (ETIMEDOUT)");
    ok (t >= 0.29 && t < 2.0, "after the timeout (%.3f s for 0.3 s)", t);
    ok (strstr (err.text, "zpar-wireup.13.server") != NULL, "timeout error names the file");
    zpar__wireup_destroy (w1);

    /* a job of another size with the same key */
    as_rank (1, 3, "12.server");
    w1 = create (0, tmpdir, NULL, 300, &err);
    errno = 0;
    ok (zpar__wireup_fetch (w1, &err) == NULL && errno == EPROTO &&
            strstr (err.text, "another size"),
        "same key, other size: EPROTO");
    zpar__wireup_destroy (w1);

    /* unpublish removes the file */
    ok (zpar__wireup_unpublish (w0, &err) == 0 && stat (path, &st) < 0 && errno == ENOENT,
        "unpublish removes the file");
    ok (zpar__wireup_unpublish (w0, &err) == 0, "unpublish twice: 0");
    zpar__wireup_destroy (w0);

    /* malformed, foreign-mode and stale files */
    as_rank (1, 2, NULL);
    snprintf (path, sizeof (path), "%s/zpar-wireup.bad", tmpdir);
    write_file (path, "hello\n", 0600);
    w1 = create (0, tmpdir, "bad", 300, &err);
    errno = 0;
    ok (zpar__wireup_fetch (w1, &err) == NULL && errno == EPROTO, "garbage file: EPROTO");
    write_file (path, "zpar-wireup 1 size=2\nblob", 0644);
    errno = 0;
    ok (zpar__wireup_fetch (w1, &err) == NULL && errno == EPROTO && strstr (err.text, "private"),
        "group/other-readable file: EPROTO (refused)");
    write_file (path, "zpar-wireup 1 size=2\n", 0600);
    errno = 0;
    ok (zpar__wireup_fetch (w1, &err) == NULL && errno == EPROTO, "empty blob: EPROTO");
    write_file (path, "zpar-wireup 1 size=2\nold", 0600);
    struct timeval old[2] = {{time (NULL) - 3600, 0}, {time (NULL) - 3600, 0}};
    utimes (path, old);
    errno = 0;
    ok (zpar__wireup_fetch (w1, &err) == NULL && errno == ETIMEDOUT,
        "a stale file (an hour old) is ignored: ETIMEDOUT");
    zpar__wireup_destroy (w1);
    unlink (path);

    /* the key is sanitised: no path escapes */
    as_rank (0, 2, NULL);
    w0 = create (0, tmpdir, "../x/y", 300, &err);
    snprintf (path, sizeof (path), "%s/zpar-wireup._._x_y", tmpdir);
    is_str (w0 ? zpar__wireup_file_path (w0) : NULL, path, "key '../x/y' stays in the dir");
    zpar__wireup_destroy (w0);

    /* no job id: key nojob */
    w0 = create (0, tmpdir, NULL, 300, &err);
    snprintf (path, sizeof (path), "%s/zpar-wireup.nojob", tmpdir);
    is_str (w0 ? zpar__wireup_file_path (w0) : NULL, path, "no job id: key 'nojob'");
    zpar__wireup_destroy (w0);

    /* missing directory */
    w0 = create (0, "/nonexistent/zpar-dir", NULL, 300, &err);
    errno = 0;
    ok (w0 && zpar__wireup_publish (w0, "x", &err) < 0 && errno == ENOENT &&
            strstr (err.text, "/nonexistent/zpar-dir"),
        "missing connection dir: ENOENT naming it");
    zpar__wireup_destroy (w0);

    /* fetch polls: rank 0 (a child) publishes 300 ms after rank 1 starts */
    pid_t pid = fork ();
    if (pid == 0) {
        usleep (300000);
        as_rank (0, 2, "55.srv");
        zpar_wireup_t *c = create (0, tmpdir, NULL, 1000, NULL);
        int rc = c && zpar__wireup_publish (c, "late blob", NULL) == 0 ? 0 : 1;
        zpar__wireup_destroy (c);
        _exit (rc);
    }
    as_rank (1, 2, "55.srv");
    w1 = create (0, tmpdir, NULL, 5000, &err);
    t = tap_now_s ();
    s = zpar__wireup_fetch (w1, &err);
    t = tap_now_s () - t;
    is_str (s, "late blob", "fetch waits for a late publish (%.3f s)", t);
    free (s);
    int status = -1;
    waitpid (pid, &status, 0);
    ok (WIFEXITED (status) && WEXITSTATUS (status) == 0, "the publishing child succeeded");
    zpar__wireup_destroy (w1);
    snprintf (path, sizeof (path), "%s/zpar-wireup.55.srv", tmpdir);
    unlink (path);

    /* Slurm step: key includes the step id */
    const char *step[] = {"SLURM_PROCID",
                          "0",
                          "SLURM_STEP_ID",
                          "3",
                          "SLURM_JOB_ID",
                          "9",
                          "SLURM_NTASKS",
                          "2",
                          "SLURM_LOCALID",
                          "0",
                          "SLURM_TASKS_PER_NODE",
                          "2",
                          NULL};
    set_env (step);
    w0 = create (0, tmpdir, NULL, 300, &err);
    snprintf (path, sizeof (path), "%s/zpar-wireup.9.3", tmpdir);
    is_str (w0 ? zpar__wireup_file_path (w0) : NULL, path, "Slurm step: key job.step");
    zpar__wireup_destroy (w0);
    clear_env ();
}

int main (void)
{
    plan (NO_PLAN);
    if (!mkdtemp (tmpdir)) {
        perror ("mkdtemp");
        return 1;
    }
    test_good ();
    test_bad ();
    test_params ();
    test_jobid ();
    test_file ();
    rmdir (tmpdir);
    return done_testing ();
}
