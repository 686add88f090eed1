/* test_mpi_launch.c - the rank map, the layout of ranks on reserved engines,
 * the launcher's command line and its environment (mpi_map.h,
 * mpi_launch.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/mpi_launch.h"
#include "engine/mpi_map.h"
#include "tap.h"

static char *joined (char **v)
{
    static char buf[8192];
    buf[0] = '\0';
    for (size_t i = 0; v && v[i]; i++) {
        if (i)
            strcat (buf, " ");
        strcat (buf, v[i]);
    }
    return buf;
}

static const char *env_of (char **envp, const char *name)
{
    size_t n = strlen (name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp (envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    return NULL;
}

static void test_cpulist (void)
{
    static const struct {
        const char *in, *out;
    } good[] = {{"0", "0"},   {"0-3,8", "0-3,8"}, {"8,0-3", "0-3,8"}, {"1,2,3,5", "1-3,5"},
                {"2-2", "2"}, {"0-1,1-2", "0-2"}, {"-", "-"},         {"65535", "65535"}};
    static const char *const bad[] = {"",      "a",       "1-",  "-1",
                                      "3-1",   "1,,2",    "1,",  "1 2",
                                      "65536", "0-65536", "1;2", "99999999999999999999"};
    for (size_t i = 0; i < sizeof (good) / sizeof (good[0]); i++) {
        unsigned *cpus = NULL;
        size_t n = 0;
        char buf[64];
        int rc = zpar__mpi_cpulist_parse (good[i].in, &cpus, &n);
        ok (rc == 0, "cpulist '%s' parses", good[i].in);
        ok (zpar__mpi_cpulist_format (cpus, n, buf, sizeof (buf)) > 0 &&
                strcmp (buf, good[i].out) == 0,
            "cpulist '%s' formats as '%s' (got '%s')", good[i].in, good[i].out, buf);
        free (cpus);
    }
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        unsigned *cpus = (unsigned *)1;
        size_t n = 7;
        errno = 0;
        ok (zpar__mpi_cpulist_parse (bad[i], &cpus, &n) < 0 && errno == EINVAL && !cpus && !n,
            "cpulist '%s' is refused (EINVAL, nothing allocated)", bad[i]);
    }
    {
        unsigned c[] = {0, 1, 2, 3, 8};
        char buf[4];
        errno = 0;
        ok (zpar__mpi_cpulist_format (c, 5, buf, sizeof (buf)) < 0 && errno == ENOSPC,
            "cpulist format into a small buffer: ENOSPC");
    }
}

static void test_map (void)
{
    char map[] = "7 h1 0-1 cuda:0;9 h2 - -;12 h2.dom 2,3 cuda:1,rocm:0";
    char *c;
    zpar_mpi_entry_t e;
    char buf[64];

    c = strdup (map);
    ok (zpar__mpi_map_entry (c, 0, &e) == 0 && e.engine == 7 && !strcmp (e.host, "h1") &&
            !strcmp (e.cpuset, "0-1") && !strcmp (e.gpus, "cuda:0"),
        "map entry 0");
    free (c);
    c = strdup (map);
    ok (zpar__mpi_map_entry (c, 2, &e) == 0 && e.engine == 12 && !strcmp (e.host, "h2.dom") &&
            !strcmp (e.cpuset, "2,3") && !strcmp (e.gpus, "cuda:1,rocm:0"),
        "map entry 2");
    free (c);
    c = strdup (map);
    errno = 0;
    ok (zpar__mpi_map_entry (c, 3, &e) < 0 && errno == ENOENT, "map entry past the end: ENOENT");
    free (c);
    {
        static const char *const bad[] = {"",          "7 h1 0-1",        "0 h1 0 -",
                                          "x h1 0 -",  "7 h1 0 - extra",  "7  h1 0 -",
                                          "7 h1 0 -;", "4294967296 h 0 -"};
        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
            size_t rank = i == 6 ? 1 : 0;
            c = strdup (bad[i]);
            errno = 0;
            ok (zpar__mpi_map_entry (c, rank, &e) < 0 && (errno == EINVAL || errno == ENOENT),
                "malformed map '%s' (entry %zu) refused", bad[i], rank);
            free (c);
        }
    }
    ok (zpar__mpi_gpus_of_kind ("cuda:0,rocm:1,cuda:3", "cuda", buf, sizeof (buf)) == 3 &&
            !strcmp (buf, "0,3"),
        "cuda GPUs of a mixed list");
    ok (zpar__mpi_gpus_of_kind ("cuda:0,rocm:1,cuda:3", "rocm", buf, sizeof (buf)) == 1 &&
            !strcmp (buf, "1"),
        "rocm GPUs of a mixed list");
    ok (zpar__mpi_gpus_of_kind ("-", "cuda", buf, sizeof (buf)) == 0 && !buf[0], "no GPU: ''");
    ok (zpar__mpi_gpus_of_kind ("cuda0", "cuda", buf, sizeof (buf)) < 0 && errno == EINVAL,
        "bad GPU list refused");
    ok (zpar__mpi_gpus_of_kind ("cuda:0,", "cuda", buf, sizeof (buf)) < 0 && errno == EINVAL,
        "GPU list with a trailing comma refused");
    ok (zpar__mpi_same_host ("n1", "n1") && zpar__mpi_same_host ("n1", "n1.cluster") &&
            zpar__mpi_same_host ("n1.cluster", "n1") && !zpar__mpi_same_host ("n1", "n12") &&
            !zpar__mpi_same_host ("n1.a", "n1.b") && !zpar__mpi_same_host ("n1", "n2.cluster"),
        "same host: up to the domain when one has none");
}

#define S(e, h, c, g)                                                                              \
    {                                                                                              \
        .engine = e, .host = h, .cpuset = c, .gpus = g                                             \
    }

static void test_layout (void)
{
    zpar_mpi_rank_t *r;
    zpar_error_t err;

    {
        zpar_mpi_slot_t s[] = {S (3, "h2", "0", "-"), S (5, "h1", "1", "-"), S (6, "h2", "1", "-"),
                               S (8, "h1", "0", "-")};
        ok (zpar__mpi_layout (s, 4, 4, 0, &r, &err) == 0, "4 ranks on 4 engines");
        ok (r[0].engine == 3 && !strcmp (r[0].host, "h2") && r[1].engine == 5 && r[2].engine == 6 &&
                r[3].engine == 8 && !strcmp (r[3].cpuset, "0"),
            "slot order kept (srun)");
        zpar__mpi_layout_free (r, 4);
        ok (zpar__mpi_layout (s, 4, 4, 1, &r, &err) == 0 && r[0].engine == 3 && r[1].engine == 6 &&
                r[2].engine == 5 && r[3].engine == 8 && !strcmp (r[1].host, "h2") &&
                !strcmp (r[2].host, "h1"),
            "grouped by host, the leader's host first (mpirun)");
        zpar__mpi_layout_free (r, 4);
    }
    {
        zpar_mpi_slot_t s[] = {S (1, "h1", "0", "cuda:0"), S (2, "h1", "1", "cuda:1"),
                               S (3, "h2", "1", "-"), S (4, "h2", "0", "-")};
        ok (zpar__mpi_layout (s, 4, 2, 0, &r, &err) == 0 && r[0].engine == 1 &&
                !strcmp (r[0].cpuset, "0-1") && !strcmp (r[0].gpus, "cuda:0,cuda:1") &&
                r[1].engine == 3 && !strcmp (r[1].cpuset, "0-1") && !strcmp (r[1].gpus, "-"),
            "2 ranks on 4 engines: 2 engines each, CPUs and GPUs joined");
        zpar__mpi_layout_free (r, 2);
    }
    {
        zpar_mpi_slot_t s[] = {S (1, "h1", "0-3", "cuda:0,cuda:1"), S (2, "h2", "4-6", "-")};
        ok (zpar__mpi_layout (s, 2, 4, 0, &r, &err) == 0 && !strcmp (r[0].cpuset, "0-1") &&
                !strcmp (r[1].cpuset, "2-3") && !strcmp (r[0].gpus, "cuda:0") &&
                !strcmp (r[1].gpus, "cuda:1") && !strcmp (r[2].cpuset, "4-6") &&
                !strcmp (r[3].cpuset, "4-6") && r[3].engine == 2,
            "4 ranks on 2 engines: CPUs and GPUs split when they divide, else shared");
        zpar__mpi_layout_free (r, 4);
    }
    {
        zpar_mpi_slot_t s[] = {S (1, "h1", "-", "-"), S (2, "h1", "0", "-")};
        ok (zpar__mpi_layout (s, 2, 1, 0, &r, &err) == 0 && !strcmp (r[0].cpuset, "-"),
            "a rank holding an unbound engine is not bound");
        zpar__mpi_layout_free (r, 1);
    }
    /* refusals */
    {
        zpar_mpi_slot_t s3[] = {S (1, "h1", "0", "-"), S (2, "h1", "1", "-"),
                                S (3, "h2", "0", "-")};
        zpar_mpi_slot_t two_hosts[] = {S (1, "h1", "0", "-"), S (2, "h2", "0", "-")};
        zpar_mpi_slot_t bad_host[] = {S (1, "h 1", "0", "-")};
        zpar_mpi_slot_t semi_host[] = {S (1, "h;1", "0", "-")};
        zpar_mpi_slot_t bad_cpus[] = {S (1, "h1", "0-", "-")};
        zpar_mpi_slot_t bad_gpus[] = {S (1, "h1", "0", "cuda")};
        zpar_mpi_slot_t null_cpus[] = {S (1, "h1", NULL, "-")};
        struct {
            const zpar_mpi_slot_t *s;
            size_t n;
            unsigned ranks;
            const char *want;
        } cases[] = {
            {s3, 3, 2, "cannot be spread"},        {s3, 3, 0, "0 ranks"},
            {NULL, 0, 2, "without reserved"},      {two_hosts, 2, 1, "two hosts"},
            {bad_host, 1, 1, "bad host"},          {semi_host, 1, 1, "bad host"},
            {bad_cpus, 1, 1, "bad CPU list '0-'"}, {bad_gpus, 1, 1, "bad GPU list 'cuda'"},
            {null_cpus, 1, 1, "bad CPU list"},
        };
        for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
            r = (zpar_mpi_rank_t *)1;
            memset (&err, 0, sizeof (err));
            errno = 0;
            ok (zpar__mpi_layout (cases[i].s, cases[i].n, cases[i].ranks, 0, &r, &err) < 0 &&
                    errno == EINVAL && r == NULL && strstr (err.text, cases[i].want),
                "layout refused: %s (%s)", cases[i].want, err.text);
        }
    }
}

static void test_env (void)
{
    static const struct {
        const char *e;
        int srun, scrubbed;
    } t[] = {
        {"PMIX_RANK=3", 0, 1},
        {"PMIX_SERVER_URI41=x", 1, 1},
        {"PMI_FD=4", 0, 1},
        {"PMI_RANK=2", 1, 1},
        {"PRTE_MCA_x=1", 0, 1},
        {"MPI_LOCALRANKID=0", 0, 1},
        {"OMPI_COMM_WORLD_RANK=1", 0, 1},
        {"OMPI_UNIVERSE_SIZE=8", 0, 1},
        {"OMPI_MCA_orte_hnp_uri=x", 0, 1},
        {"OMPI_MCA_ess=pmi", 0, 1},
        {"OMPI_MCA_ess_base_jobid=1", 0, 1},
        {"OMPI_MCA_pmix=^s1", 0, 1},
        {"OMPI_MCA_initial_wdir=/", 0, 1},
        {"OMPI_MCA_mpi_oversubscribe=0", 0, 1},
        {"OMPI_MCA_btl=self,tcp", 0, 0},
        {"OMPI_MCA_btl_tcp_if_include=10.0.0.0/24", 1, 0},
        {"OMPI_MCA_plm_rsh_agent=/x/rsh", 0, 0},
        {"OMPI_ALLOW_RUN_AS_ROOT=1", 0, 0},
        {"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1", 1, 0},
        {"SLURM_CONF=/etc/slurm.conf", 0, 0},
        {"SLURM_CONF=/etc/slurm.conf", 1, 0},
        {"SLURM_MPI_TYPE=pmix", 1, 0},
        {"SLURM_MPI_TYPE=pmix", 0, 1},
        {"SLURM_JOB_ID=12", 1, 1},
        {"SLURM_NTASKS=8", 1, 1},
        {"SLURM_STEP_ID=0", 0, 1},
        {"ZPAR_MPI_RANKMAP=1 h 0 -", 0, 1},
        {"ZPAR_TASK_ID=5", 0, 0},
        {"PATH=/bin", 1, 0},
        {"PMIXX=1", 0, 0},
        {"OMP_NUM_THREADS=2", 0, 0},
        {"PALS_RANKID=2", 0, 1},
        {"PALS_APINFO=/var/run/palsd/x/apinfo", 1, 1},
        {"PALS_PPN=4", 0, 0},
        {"ALPS_APP_PE=2", 0, 1},
        {"ALPS_APP_ID=123", 1, 1},
        {"APRUN_XFER_LIMITS=1", 0, 0},
    };
    for (size_t i = 0; i < sizeof (t) / sizeof (t[0]); i++)
        ok (zpar__mpi_env_scrubbed (t[i].e, t[i].srun) == t[i].scrubbed, "%s %s (%s)", t[i].e,
            t[i].scrubbed ? "removed" : "kept", t[i].srun ? "srun" : "mpirun");
}

/* A plain task: the wire-up and the engines' step go, the job stays. */
static void test_task_env (void)
{
    static const struct {
        const char *e;
        int scrubbed;
    } t[] = {
        {"PMIX_RANK=1", 1},
        {"PMIX_SERVER_URI41=x", 1},
        {"PMI_RANK=1", 1},
        {"PMI_SIZE=3", 1},
        {"PMI2_X=1", 1},
        {"PRTE_MCA_x=1", 1},
        {"HYDI_CONTROL_FD=5", 1},
        {"MPI_LOCALRANKID=0", 1},
        {"MPI_LOCALNRANKS=2", 1},
        {"OMPI_COMM_WORLD_RANK=0", 1},
        {"OMPI_MCA_orte_hnp_uri=x", 1},
        {"OMPI_MCA_ess=^singleton", 1},
        {"OMPI_MCA_pmix=^s1", 1},
        {"OMPI_MCA_btl=self,tcp", 0},
        {"OMPI_ALLOW_RUN_AS_ROOT=1", 0},
        {"SLURM_STEP_ID=0", 1},
        {"SLURM_STEPID=0", 1},
        {"SLURM_STEP_NUM_TASKS=3", 1},
        {"SLURM_PROCID=1", 1},
        {"SLURM_LOCALID=1", 1},
        {"SLURM_GTIDS=0,1,2", 1},
        {"SLURM_TASK_PID=77", 1},
        {"SLURM_SRUN_COMM_PORT=1234", 1},
        {"SLURM_LAUNCH_NODE_IPADDR=10.0.0.1", 1},
        {"SLURM_PMIX_MAPPING_SERV=x", 1},
        {"SLURM_PMIXP_ABORT_AGENT_PORT=1", 1},
        {"SLURM_JOB_ID=12", 0},
        {"SLURM_JOBID=12", 0},
        {"SLURM_JOB_NODELIST=n[1-4]", 0},
        {"SLURM_NODELIST=n[1-4]", 0},
        {"SLURM_NTASKS=8", 0},
        {"SLURM_CPUS_ON_NODE=8", 0},
        {"SLURM_MEM_PER_NODE=4000", 0},
        {"SLURM_CONF=/etc/slurm.conf", 0},
        {"SLURM_MPI_TYPE=pmix", 0},
        {"SLURMD_NODENAME=n1", 0},
        {"ZPAR_ENGINE_ID=3", 0},
        {"PATH=/bin", 0},
        {"PMIXX=1", 0},
        /* HPE Cray PALS (Cray PMI finds its job by these) and ALPS */
        {"PALS_APID=6f1e.0", 1},
        {"PALS_APINFO=/var/run/palsd/6f1e/apinfo", 1},
        {"PALS_RANKID=3", 1},
        {"PALS_NODEID=1", 1},
        {"PALS_LOCAL_RANKID=1", 1},
        {"PALS_LOCAL_SIZE=2", 1},
        {"PALS_SPOOL_DIR=/var/run/palsd/6f1e", 1},
        {"PALS_FD=7", 1},
        {"PMI_CONTROL_PORT=11998,11999", 1},
        {"PMI_SHARED_SECRET=42", 1},
        {"PMI_LOCAL_RANK=1", 1},
        {"ALPS_APP_PE=3", 1},
        {"ALPS_APP_ID=88123", 1},
        {"ALPS_APP_DEPTH=4", 1},
        /* the user's settings of Cray's launchers stay */
        {"PALS_PPN=4", 0},
        {"PALS_DEPTH=2", 0},
        {"PALS_CPU_BIND=depth", 0},
        {"PALS_PMI=pmix", 0},
        {"PALSX=1", 0},
        {"APRUN_XFER_LIMITS=1", 0},
        {"ALPS_APPX=1", 0},
        {"MY_SETTING=PALS_RANKID=1", 0},
    };
    for (size_t i = 0; i < sizeof (t) / sizeof (t[0]); i++)
        ok (zpar__task_env_scrubbed (t[i].e) == t[i].scrubbed, "plain task: %s %s", t[i].e,
            t[i].scrubbed ? "removed" : "kept");
}

static void test_build (void)
{
    zpar_mpi_slot_t s[] = {S (4, "h1", "0", "-"), S (9, "h2", "1", "-"), S (5, "h1", "1", "-"),
                           S (11, "h3", "0-1", "-")};
    char *argv[] = {"./ring", "a b", NULL};
    char *add[] = {"MYVAR=1", NULL};
    char *env_slurm[] = {"PATH=/bin:/usr/bin",
                         "SLURM_JOB_ID=42",
                         "SLURM_STEP_ID=0",
                         "SLURM_NTASKS=8",
                         "SLURM_CONF=/s.conf",
                         "SLURMD_NODENAME=n1",
                         "PMIX_RANK=2",
                         "OMPI_MCA_btl=self,tcp",
                         "ZPAR_MPI_SRUN=/opt/slurm/bin/srun",
                         "ZPAR_MPI_RANK_WRAPPER=/z/zpar-rank",
                         "ZPAR_MPI_LAUNCHER=srun",
                         "MYVAR=1",
                         NULL};
    char *env_plain[] = {"PATH=/nowhere",
                         "OMPI_COMM_WORLD_RANK=3",
                         "OMPI_MCA_orte_hnp_uri=x",
                         "OMPI_MCA_plm_rsh_agent=/r",
                         "ZPAR_MPI_RANK_WRAPPER=/z/zpar-rank",
                         "ZPAR_TASK_ID=77",
                         "ZPAR_MPI_RANKMAP=stale",
                         "MYVAR=1",
                         "OTHER=2",
                         NULL};
    zpar_mpi_request_t req = {.ranks = 4,
                              .slots = s,
                              .nslots = 4,
                              .argv = argv,
                              .envp = env_slurm,
                              .add = add,
                              .self_host = "h1"};
    zpar_mpi_launch_t l;
    zpar_error_t err;

    ok (zpar__mpi_launch_build (&req, &l, &err) == 0 && l.how == ZPAR_MPI_SRUN,
        "srun chosen (ZPAR_MPI_LAUNCHER=srun)");
    is_str (joined (l.argv),
            "/opt/slurm/bin/srun --overlap --jobid=42 --nodes=3 --ntasks=4 "
            "--nodelist=n1,h2,n1,h3 --distribution=arbitrary --overcommit "
            "--kill-on-bad-exit=1 /z/zpar-rank -- ./ring a b",
            "srun command line: the slots' order, this host as its Slurm node name");
    is_str (env_of (l.envp, "ZPAR_MPI_RANKMAP"), "4 h1 0 -;9 h2 1 -;5 h1 1 -;11 h3 0-1 -",
            "srun: the rank map in slot order");
    ok (!env_of (l.envp, "SLURM_JOB_ID") && !env_of (l.envp, "SLURM_STEP_ID") &&
            !env_of (l.envp, "SLURM_NTASKS") && !env_of (l.envp, "PMIX_RANK") &&
            env_of (l.envp, "SLURM_CONF") && env_of (l.envp, "OMPI_MCA_btl") &&
            env_of (l.envp, "MYVAR"),
        "srun: the step's and PMIx variables removed, SLURM_CONF, MCA and the task's kept");
    zpar__mpi_launch_free (&l);
    ok (!l.argv && !l.envp, "free clears");

    req.envp = env_plain;
    ok (zpar__mpi_launch_build (&req, &l, &err) == 0 && l.how == ZPAR_MPI_MPIRUN,
        "mpirun chosen outside Slurm");
    is_str (joined (l.argv),
            "mpirun --host h1:2,h2:1,h3:1 -n 4 --map-by slot --bind-to none -x ZPAR_MPI_RANKMAP "
            "-x ZPAR_MPI_RANK_WRAPPER -x ZPAR_TASK_ID -x MYVAR /z/zpar-rank -- ./ring a b",
            "mpirun command line: hosts with their counts, the task's variables exported");
    is_str (env_of (l.envp, "ZPAR_MPI_RANKMAP"), "4 h1 0 -;5 h1 1 -;9 h2 1 -;11 h3 0-1 -",
            "mpirun: the rank map host by host");
    ok (!env_of (l.envp, "OMPI_COMM_WORLD_RANK") && !env_of (l.envp, "OMPI_MCA_orte_hnp_uri") &&
            env_of (l.envp, "OMPI_MCA_plm_rsh_agent") && env_of (l.envp, "OTHER"),
        "mpirun: the outer launcher's variables removed, the user's kept");
    {
        size_t n = 0;
        for (size_t i = 0; l.envp[i]; i++)
            n += strncmp (l.envp[i], "ZPAR_MPI_RANKMAP=", 17) == 0;
        ok (n == 1, "one rank map (the stale one dropped)");
    }
    zpar__mpi_launch_free (&l);

    /* choices and refusals */
    req.how = ZPAR_MPI_SRUN;
    errno = 0;
    ok (zpar__mpi_launch_build (&req, &l, &err) < 0 && errno == EINVAL &&
            strstr (err.text, "outside a Slurm allocation") && !l.argv,
        "srun outside Slurm refused: %s", err.text);
    req.how = ZPAR_MPI_AUTO;
    {
        char *env_bad[] = {"ZPAR_MPI_LAUNCHER=flux", NULL};
        req.envp = env_bad;
        errno = 0;
        ok (zpar__mpi_launch_build (&req, &l, &err) < 0 && errno == EINVAL &&
                strstr (err.text, "ZPAR_MPI_LAUNCHER=flux"),
            "unknown launcher refused: %s", err.text);
    }
    {
        /* auto inside Slurm: srun when it is found in PATH */
        char *env_auto[] = {"PATH=/nowhere", "SLURM_JOB_ID=7", "ZPAR_MPI_SRUN=/bin/true", NULL};
        req.envp = env_auto;
        ok (zpar__mpi_launch_build (&req, &l, &err) == 0 && l.how == ZPAR_MPI_SRUN,
            "auto in Slurm with srun found: srun");
        zpar__mpi_launch_free (&l);
        env_auto[2] = "ZPAR_MPI_SRUN=/nonexistent/srun";
        ok (zpar__mpi_launch_build (&req, &l, &err) == 0 && l.how == ZPAR_MPI_MPIRUN,
            "auto in Slurm without srun: mpirun");
        zpar__mpi_launch_free (&l);
        env_auto[2] = "ZPAR_MPI_LAUNCHER=mpirun";
        env_auto[0] = "PATH=/bin:/usr/bin";
        ok (zpar__mpi_launch_build (&req, &l, &err) == 0 && l.how == ZPAR_MPI_MPIRUN,
            "ZPAR_MPI_LAUNCHER=mpirun wins over Slurm");
        zpar__mpi_launch_free (&l);
    }
    req.envp = env_plain;
    req.argv = (char *[]){"", NULL};
    ok (zpar__mpi_launch_build (&req, &l, &err) < 0 && errno == EINVAL, "empty command refused");
    req.argv = argv;
    req.ranks = 3;
    ok (zpar__mpi_launch_build (&req, &l, &err) < 0 && errno == EINVAL &&
            strstr (err.text, "cannot be spread"),
        "layout errors come through: %s", err.text);
    {
        /* a rank map that no environment variable could hold */
        size_t n = 20000;
        zpar_mpi_slot_t *many = calloc (n, sizeof (*many));
        for (size_t i = 0; i < n; i++)
            many[i] = (zpar_mpi_slot_t)S ((uint32_t)i + 1, "a-rather-long-host-name", "0", "-");
        req.slots = many;
        req.nslots = n;
        req.ranks = (unsigned)n;
        errno = 0;
        ok (zpar__mpi_launch_build (&req, &l, &err) < 0 && errno == E2BIG, "%zu ranks: E2BIG (%s)",
            n, err.text);
        free (many);
    }
}

int main (void)
{
    plan (NO_PLAN);
    test_cpulist ();
    test_map ();
    test_layout ();
    test_env ();
    test_task_env ();
    test_build ();
    return done_testing ();
}
