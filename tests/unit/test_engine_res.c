/* test_engine_res.c - unit tests of src/engine/engine_res*.c: sizes, the
 * probe (from the environment the launcher gives the engine), slots, the
 * plan a task's process gets from its slots, and applying it in a child
 * (the only part that touches this machine: it binds a forked child to a
 * CPU the test is allowed on, so it does not depend on the host's CPUs). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/engine_res.h"
#include "engine/engine_res_int.h"
#include "tap.h"

static int has (const char *hay, const char *needle)
{
    return hay && needle && strstr (hay, needle) != NULL;
}

static const char *const vars[] = {
    "ZPAR_ENGINE_CPUSET", "ZPAR_ENGINE_CORES",  "ZPAR_ENGINE_GPUS",  "ZPAR_ENGINE_LOCAL_SIZE",
    "ZPAR_ENGINE_MEMORY", "SLURM_MEM_PER_NODE", "SLURM_MEM_PER_CPU", "SLURM_CPUS_ON_NODE"};

static void clear_env (void)
{
    for (size_t i = 0; i < sizeof (vars) / sizeof (vars[0]); i++)
        unsetenv (vars[i]);
    unsetenv ("CUDA_VISIBLE_DEVICES");
    unsetenv ("ROCR_VISIBLE_DEVICES");
    zpar__engine_res_reset ();
}

/* The value of NAME in a plan's environment, or NULL; *count how often. */
static const char *env_of (const zpar_res_plan_t *pl, const char *name, int *count)
{
    char *const *e = zpar__engine_res_plan_env (pl);
    const char *v = NULL;
    size_t nl = strlen (name);
    int n = 0;
    for (; e && *e; e++) {
        if (strncmp (*e, name, nl) == 0 && (*e)[nl] == '=') {
            if (!v)
                v = *e + nl + 1;
            n++;
        }
    }
    if (count)
        *count = n;
    return v;
}

static void test_probe (void)
{
    zpar_engine_res_t r, r2;
    zpar_error_t err;
    uint64_t whole;
    char slot[256];

    clear_env ();
    ok (zpar__engine_res_probe (NULL, &err) < 0 && errno == EINVAL, "probe NULL: EINVAL");
    ok (zpar__engine_res_probe (&r, &err) == 0, "probe, nothing set");
    ok (r.cores == 1 && r.cpus == 0 && !strcmp (r.cpuset, "-") && !strcmp (r.gpus, "-") &&
            r.local_size == 0,
        "not bound: 1 core, cpuset -, no GPU, node size unknown");
    ok (r.mem_share > 0 && r.node_mem == r.mem_share,
        "memory share: the node's memory (%" PRIu64 " MiB), reported as the node's too",
        r.mem_share >> 20);
    whole = r.mem_share;

    setenv ("ZPAR_ENGINE_CPUSET", "0", 1);
    ok (zpar__engine_res_probe (&r2, &err) == 0 && !strcmp (r2.cpuset, "-"),
        "the first probe is kept: a later environment is not read");
    zpar__engine_res_reset ();

    setenv ("ZPAR_ENGINE_CPUSET", "3,0-1", 1);
    setenv ("ZPAR_ENGINE_GPUS", "cuda:2,rocm:0", 1);
    setenv ("ZPAR_ENGINE_LOCAL_SIZE", "4", 1);
    ok (zpar__engine_res_probe (&r, &err) == 0, "probe, bound");
    ok (!strcmp (r.cpuset, "0-1,3") && r.cpus == 3 && r.cores == 3,
        "cpuset normalised (%s), 3 CPUs, cores = CPUs when not given", r.cpuset);
    ok (!strcmp (r.gpus, "cuda:2,rocm:0"), "GPUs as given");
    ok (r.local_size == 4 && r.mem_share == whole / 4 && r.node_mem == whole,
        "memory share: node / 4 engines; the node's memory reported whole");
    {
        char want[256];
        snprintf (want, sizeof (want), "12 n01 0-1,3 cuda:2,rocm:0 %" PRIu64, r.mem_share);
        ok (zpar__engine_res_slot (&r, 12, "n01", slot, sizeof (slot)) == 0 && !strcmp (slot, want),
            "slot string: '%s'", slot);
    }
    ok (zpar__engine_res_slot (&r, 1, "a b", slot, sizeof (slot)) < 0 && errno == EINVAL,
        "slot: a host with a space: EINVAL");
    ok (zpar__engine_res_slot (&r, 1, "n", slot, 8) < 0 && errno == ENAMETOOLONG,
        "slot: small buffer: ENAMETOOLONG");
    zpar__engine_res_reset ();

    setenv ("ZPAR_ENGINE_CPUSET", "0-3", 1);
    setenv ("ZPAR_ENGINE_CORES", "2", 1);
    setenv ("ZPAR_ENGINE_MEMORY", "3G", 1);
    ok (zpar__engine_res_probe (&r, &err) == 0 && r.cores == 2 && r.cpus == 4 &&
            r.mem_share == 3ull << 30,
        "ZPAR_ENGINE_CORES 2 on 4 CPUs (SMT), ZPAR_ENGINE_MEMORY 3G");
    clear_env ();
    /* a Slurm job's memory on the node caps the node's (in MiB) */
    if (whole > (2ull << 30)) {
        setenv ("SLURM_MEM_PER_NODE", "1024", 1);
        setenv ("ZPAR_ENGINE_LOCAL_SIZE", "4", 1);
        ok (zpar__engine_res_probe (&r, &err) == 0 && r.node_mem == 1ull << 30 &&
                r.mem_share == 256ull << 20,
            "SLURM_MEM_PER_NODE=1024: node 1 GiB, 4 engines: 256 MiB each");
        clear_env ();
        setenv ("SLURM_MEM_PER_CPU", "100", 1);
        setenv ("SLURM_CPUS_ON_NODE", "5", 1);
        ok (zpar__engine_res_probe (&r, &err) == 0 && r.node_mem == 500ull << 20 &&
                r.mem_share == 500ull << 20,
            "SLURM_MEM_PER_CPU=100 x SLURM_CPUS_ON_NODE=5: 500 MiB");
        clear_env ();
        setenv ("SLURM_MEM_PER_CPU", "100", 1);
        setenv ("SLURM_MEM_PER_NODE", "x", 1);
        ok (zpar__engine_res_probe (&r, &err) == 0 && r.node_mem == whole,
            "SLURM_MEM_PER_CPU without SLURM_CPUS_ON_NODE, a SLURM_MEM_PER_NODE not a number: "
            "ignored");
        clear_env ();
    }
    setenv ("ZPAR_ENGINE_CORES", "16", 1);
    ok (zpar__engine_res_probe (&r, &err) == 0 && r.cores == 16 && !strcmp (r.cpuset, "-"),
        "an unbound engine may be given its cores");
    clear_env ();

    /* bad values: -1 EINVAL, the variable named, nothing kept */
    {
        static const struct {
            const char *var, *val, *text;
        } bad[] = {
            {"ZPAR_ENGINE_CPUSET", "a", "ZPAR_ENGINE_CPUSET='a'"},
            {"ZPAR_ENGINE_CPUSET", "3-1", "ZPAR_ENGINE_CPUSET='3-1'"},
            {"ZPAR_ENGINE_CPUSET", "1,", "ZPAR_ENGINE_CPUSET='1,'"},
            {"ZPAR_ENGINE_CPUSET", "99999", "ZPAR_ENGINE_CPUSET='99999'"},
            {"ZPAR_ENGINE_CORES", "0", "ZPAR_ENGINE_CORES='0'"},
            {"ZPAR_ENGINE_CORES", "x", "ZPAR_ENGINE_CORES='x'"},
            {"ZPAR_ENGINE_GPUS", "gpu:0", "ZPAR_ENGINE_GPUS='gpu:0'"},
            {"ZPAR_ENGINE_GPUS", "cuda:", "ZPAR_ENGINE_GPUS='cuda:'"},
            {"ZPAR_ENGINE_GPUS", "cuda:1,", "ZPAR_ENGINE_GPUS='cuda:1,'"},
            {"ZPAR_ENGINE_LOCAL_SIZE", "0", "ZPAR_ENGINE_LOCAL_SIZE='0'"},
            {"ZPAR_ENGINE_MEMORY", "lots", "ZPAR_ENGINE_MEMORY='lots'"},
            {"ZPAR_ENGINE_MEMORY", "1X", "ZPAR_ENGINE_MEMORY='1X'"},
        };
        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
            clear_env ();
            setenv (bad[i].var, bad[i].val, 1);
            errno = 0;
            ok (zpar__engine_res_probe (&r, &err) < 0 && errno == EINVAL &&
                    has (err.text, bad[i].text),
                "%s=%s: EINVAL, '%s'", bad[i].var, bad[i].val, err.text);
        }
        clear_env ();
        setenv ("ZPAR_ENGINE_CPUSET", "0-2", 1);
        setenv ("ZPAR_ENGINE_CORES", "5", 1);
        ok (zpar__engine_res_probe (&r, &err) < 0 && errno == EINVAL &&
                has (err.text, "ZPAR_ENGINE_CORES=5 but ZPAR_ENGINE_CPUSET 0-2 has 3 CPUs"),
            "more cores than CPUs: '%s'", err.text);
        clear_env ();
        ok (zpar__engine_res_probe (&r, &err) == 0 && r.cores == 1,
            "after a failed probe, the next one reads the environment again");
    }
    clear_env ();
}

static zpar_engine_res_t self_of (unsigned cores, unsigned cpus, const char *cpuset)
{
    zpar_engine_res_t s;
    memset (&s, 0, sizeof (s));
    s.cores = cores;
    s.cpus = cpus;
    snprintf (s.cpuset, sizeof (s.cpuset), "%s", cpuset);
    snprintf (s.gpus, sizeof (s.gpus), "-");
    return s;
}

static void test_plan (void)
{
    zpar_engine_res_t self1 = self_of (1, 1, "0"), smt = self_of (2, 4, "0-3");
    zpar_res_plan_t *pl;
    zpar_error_t err;
    int n;

    clear_env ();
    {
        const char *slots[] = {"1 A 0 cuda:0 1000", "2 A 1 cuda:1 1000", "3 B 0 cuda:0 1000"};
        ok ((pl = zpar__engine_res_plan (slots, 3, 0, NULL, &self1, &err)) != NULL,
            "plan: 2 engines of host A (leader), 1 of B");
        ok (!strcmp (zpar__engine_res_plan_cpuset (pl), "0-1") &&
                zpar__engine_res_plan_cores (pl) == 2 && zpar__engine_res_plan_memory (pl) == 0,
            "cpuset 0-1 (host A only), 2 cores, no memory limit");
        ok (!strcmp (env_of (pl, "OMP_NUM_THREADS", &n), "2") && n == 1, "OMP_NUM_THREADS=2");
        ok (!strcmp (env_of (pl, "ZPAR_TASK_CORES", NULL), "2"), "ZPAR_TASK_CORES=2");
        ok (!strcmp (env_of (pl, "ZPAR_TASK_CPUSET", NULL), "0-1"), "ZPAR_TASK_CPUSET=0-1");
        ok (!strcmp (env_of (pl, "ZPAR_TASK_MEMORY", NULL), "0"), "ZPAR_TASK_MEMORY=0");
        ok (!strcmp (env_of (pl, "CUDA_VISIBLE_DEVICES", NULL), "0,1"),
            "CUDA_VISIBLE_DEVICES=0,1 (host A's GPUs)");
        ok (env_of (pl, "ROCR_VISIBLE_DEVICES", NULL) == NULL,
            "ROCR_VISIBLE_DEVICES left alone (no ROCm GPU, the engine does not set it)");
        ok (!strcmp (env_of (pl, "ZPAR_TASK_SLOTS", NULL),
                     "1 A 0 cuda:0 1000;2 A 1 cuda:1 1000;3 B 0 cuda:0 1000"),
            "ZPAR_TASK_SLOTS: every slot, ';'-separated");
        zpar__engine_res_plan_destroy (pl);
    }
    {
        const char *slots[] = {"4 h 2 rocm:1,cuda:3 0", "5 h 3 rocm:1,rocm:0 0"};
        char *task_env[] = {"OMP_NUM_THREADS=7", "FOO=bar", NULL};
        setenv ("CUDA_VISIBLE_DEVICES", "3", 1);
        setenv ("ROCR_VISIBLE_DEVICES", "1", 1);
        pl = zpar__engine_res_plan (slots, 2, 256ull << 20, task_env, &self1, &err);
        ok (pl && !strcmp (env_of (pl, "ROCR_VISIBLE_DEVICES", NULL), "1,0") &&
                !strcmp (env_of (pl, "CUDA_VISIBLE_DEVICES", NULL), "3"),
            "GPU union per kind, slot order, no duplicate");
        ok (pl && !strcmp (env_of (pl, "OMP_NUM_THREADS", &n), "7") && n == 1,
            "the task's ENV wins (OMP_NUM_THREADS=7, once)");
        ok (pl && !strcmp (env_of (pl, "FOO", NULL), "bar") &&
                !strcmp (env_of (pl, "ZPAR_TASK_CORES", NULL), "2"),
            "the task's other ENV entries are kept; ZPAR_TASK_CORES still 2");
        ok (pl && zpar__engine_res_plan_memory (pl) == 256ull << 20 &&
                !strcmp (env_of (pl, "ZPAR_TASK_MEMORY", NULL), "268435456"),
            "memory limit 256 MiB, ZPAR_TASK_MEMORY in bytes");
        zpar__engine_res_plan_destroy (pl);
    }
    {
        const char *slots[] = {"4 h 0-1 - 0", "5 h 2 - 0"};
        pl = zpar__engine_res_plan (slots, 2, 0, NULL, &self1, &err);
        ok (pl && !strcmp (env_of (pl, "CUDA_VISIBLE_DEVICES", NULL), "") &&
                !strcmp (env_of (pl, "ROCR_VISIBLE_DEVICES", NULL), ""),
            "no GPU held, the engine sets the variables: they hide every GPU (\"\")");
        ok (pl && zpar__engine_res_plan_cores (pl) == 3 &&
                !strcmp (zpar__engine_res_plan_cpuset (pl), "0-2"),
            "1 CPU per core: 3 cores on 0-2");
        zpar__engine_res_plan_destroy (pl);
        unsetenv ("CUDA_VISIBLE_DEVICES");
        unsetenv ("ROCR_VISIBLE_DEVICES");
    }
    {
        const char *slots[] = {"1 h 0-3 - 0", "2 h 4-7 - 0", "3 h 9 - 0"};
        pl = zpar__engine_res_plan (slots, 3, 0, NULL, &smt, &err);
        ok (pl && zpar__engine_res_plan_cores (pl) == 5 &&
                !strcmp (zpar__engine_res_plan_cpuset (pl), "0-7,9"),
            "2 CPUs per core (the leader's own): 2 + 2 + 1 (at least 1) cores");
        zpar__engine_res_plan_destroy (pl);
    }
    {
        const char *mixed[] = {"1 h 0 - 0", "2 h - - 0"}, *unbound[] = {"1 h - - 0", "2 h - - 0"};
        pl = zpar__engine_res_plan (mixed, 2, 0, NULL, &self1, &err);
        ok (pl && !strcmp (zpar__engine_res_plan_cpuset (pl), "-") &&
                zpar__engine_res_plan_cores (pl) == 2 &&
                !strcmp (env_of (pl, "ZPAR_TASK_CPUSET", NULL), "-"),
            "a bound and an unbound slot: the affinity is left alone, 2 cores");
        zpar__engine_res_plan_destroy (pl);
        pl = zpar__engine_res_plan (unbound, 2, 0, NULL, &self1, &err);
        ok (pl && !strcmp (zpar__engine_res_plan_cpuset (pl), "-") &&
                zpar__engine_res_plan_cores (pl) == 2,
            "two unbound slots: 2 cores, affinity left alone");
        zpar__engine_res_plan_destroy (pl);
    }
    /* bad slots: NULL with EINVAL and the slot named */
    {
        static const struct {
            const char *slot, *why;
        } bad[] = {
            {"", "malformed slot"},
            {"1 A 0 - ", "malformed slot"},
            {"1 A 0 -", "malformed slot"},
            {"1 A 0 - 0 x", "malformed slot"},
            {"x A 0 - 0", "malformed slot"},
            {"4294967296 A 0 - 0", "malformed slot"},
            {"1  0 - 0", "malformed slot"},
            {"1 A 0-a - 0", "malformed slot"},
            {"1 A 3-1 - 0", "malformed slot"},
            {"1 A 0 gpu:1 0", "GPUs gpu:1: want cuda:N or rocm:N"},
            {"1 A 0 cuda:1, 0", "malformed slot"},
            {"1 A 0 - -1", "malformed slot"},
            {"1 A 0 - 12k", "malformed slot"},
            {"1 A 99999 - 0", "cpuset 99999: CPU numbers up to 65535"},
        };
        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
            const char *slots[] = {"9 A 5 - 0", bad[i].slot};
            errno = 0;
            pl = zpar__engine_res_plan (slots, 2, 0, NULL, &self1, &err);
            ok (!pl && errno == EINVAL && has (err.text, "bad resource slot") &&
                    has (err.text, bad[i].why),
                "slot '%s': EINVAL, '%s'", bad[i].slot, err.text);
        }
        ok (!zpar__engine_res_plan (NULL, 1, 0, NULL, &self1, &err) && errno == EINVAL,
            "plan: NULL slots: EINVAL");
        {
            const char *one[] = {"1 A 0 - 0"}, *hole[] = {"1 A 0 - 0", NULL};
            ok (!zpar__engine_res_plan (one, 0, 0, NULL, &self1, &err) && errno == EINVAL,
                "plan: 0 slots: EINVAL");
            ok (!zpar__engine_res_plan (hole, 2, 0, NULL, &self1, &err) && errno == EINVAL,
                "plan: a NULL slot: EINVAL");
        }
    }
    ok (zpar__engine_res_plan_env (NULL) == NULL &&
            !strcmp (zpar__engine_res_plan_cpuset (NULL), "-"),
        "accessors are NULL-safe");
    zpar__engine_res_plan_destroy (NULL);
}

/* Fork, apply pl in the child, report what the child saw in its exit
 * code: 0 applied and as planned, 10 + stage on failure (errno in
 * *child_errno through a pipe), 1 affinity differs, 2 limit differs, 3 an
 * allocation beyond the limit succeeded. */
static int apply_in_child (const zpar_res_plan_t *pl, int want_cpu, size_t hog, int *child_errno)
{
    int p[2], st = 0, e = 0;
    pid_t pid;

    if (pipe (p) < 0)
        return -1;
    if ((pid = fork ()) == 0) {
        zpar_res_stage_t stage;
        cpu_set_t cs;
        struct rlimit rl;
        close (p[0]);
        if (zpar__engine_res_apply_child (pl, &stage) < 0) {
            e = errno;
            (void)!write (p[1], &e, sizeof (e));
            _exit (10 + (int)stage);
        }
        if (want_cpu >= 0) {
            if (sched_getaffinity (0, sizeof (cs), &cs) < 0 || CPU_COUNT (&cs) != 1 ||
                !CPU_ISSET (want_cpu, &cs))
                _exit (1);
        }
        if (zpar__engine_res_plan_memory (pl)) {
            if (getrlimit (RLIMIT_DATA, &rl) < 0 ||
                rl.rlim_cur != (rlim_t)zpar__engine_res_plan_memory (pl))
                _exit (2);
        }
        if (hog) {
            char *m = malloc (hog);
            if (m) {
                memset (m, 1, hog);
                _exit (3);
            }
        }
        _exit (0);
    }
    close (p[1]);
    if (pid < 0) {
        close (p[0]);
        return -1;
    }
    (void)!read (p[0], &e, sizeof (e));
    close (p[0]);
    while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
        ;
    *child_errno = e;
    return WIFEXITED (st) ? WEXITSTATUS (st) : 100 + WTERMSIG (st);
}

static void test_apply (void)
{
    zpar_engine_res_t self1 = self_of (1, 1, "0");
    zpar_res_plan_t *pl;
    zpar_error_t err;
    cpu_set_t cs;
    int cpu = -1, e = 0, rc;
    char slot[64];
    zpar_res_stage_t stage = ZPAR_RES_STAGE_CPUSET;

    ok (zpar__engine_res_apply_child (NULL, &stage) == 0 && stage == ZPAR_RES_STAGE_NONE,
        "apply NULL: nothing to do");
    /* a CPU this process may run on: the highest of its affinity */
    if (sched_getaffinity (0, sizeof (cs), &cs) == 0)
        for (int i = 0; i < CPU_SETSIZE; i++)
            if (CPU_ISSET (i, &cs))
                cpu = i;
    snprintf (slot, sizeof (slot), "1 h %d - 0", cpu);
    {
        const char *slots[] = {slot};
        pl = zpar__engine_res_plan (slots, 1, 64ull << 20, NULL, &self1, &err);
        rc = pl ? apply_in_child (pl, cpu, 0, &e) : -1;
        ok (rc == 0, "child bound to cpu %d only, RLIMIT_DATA 64 MiB (child said %d)", cpu, rc);
#if defined(__SANITIZE_ADDRESS__)
        /* AddressSanitizer's allocator maps far more than 64 MiB before the
         * limit is set, and aborts instead of returning NULL */
        ok (1, "# SKIP the memory limit under AddressSanitizer");
#else
        rc = pl ? apply_in_child (pl, -1, 256u << 20, &e) : -1;
        ok (rc == 0, "child: 256 MiB beyond a 64 MiB limit cannot be allocated (child said %d)",
            rc);
#endif
        zpar__engine_res_plan_destroy (pl);
        pl = zpar__engine_res_plan (slots, 1, 0, NULL, &self1, &err);
        rc = pl ? apply_in_child (pl, -1, 256u << 20, &e) : -1;
        ok (rc == 3, "without a limit the same allocation succeeds (the check can fail)");
        zpar__engine_res_plan_destroy (pl);
    }
    {
        const char *slots[] = {"1 h 65535 - 0"};
        pl = zpar__engine_res_plan (slots, 1, 0, NULL, &self1, &err);
        rc = pl ? apply_in_child (pl, -1, 0, &e) : -1;
        ok (rc == 10 + ZPAR_RES_STAGE_CPUSET && e == EINVAL,
            "a cpuset with no CPU of this machine: fails at the cpuset, EINVAL (%d, %s)", rc,
            strerror (e));
        zpar__engine_res_plan_destroy (pl);
    }
}

/* Write text into dir/rel (creating its directories). */
static int put (const char *dir, const char *rel, const char *text)
{
    char p[512];
    FILE *f;
    snprintf (p, sizeof (p), "%s/%s", dir, rel);
    for (char *q = p + strlen (dir) + 1; (q = strchr (q, '/')); q++) {
        *q = '\0';
        (void)mkdir (p, 0700);
        *q = '/';
    }
    if (!(f = fopen (p, "w")))
        return -1;
    fputs (text, f);
    return fclose (f);
}

/* The node's memory under a memory cgroup (a Slurm job's --mem): fake
 * /proc/self/cgroup files and cgroup trees. */
static void test_cgroup_memory (void)
{
    char dir[] = "/tmp/zpar-test-engine-res-XXXXXX", cg[600], sys[600], cmd[700];
    if (!mkdtemp (dir)) {
        ok (0, "mkdtemp: %s", strerror (errno));
        return;
    }
    snprintf (cg, sizeof (cg), "%s/cgroup", dir);
    snprintf (sys, sizeof (sys), "%s/sys", dir);
    /* v1: the job's limit is on an ancestor of the step's cgroup */
    put (dir, "cgroup", "5:cpu,memory:/slurm/job_7/step_0\n3:cpuset:/\n0::/\n");
    put (dir, "sys/memory/slurm/job_7/step_0/memory.limit_in_bytes", "9223372036854771712\n");
    put (dir, "sys/memory/slurm/job_7/memory.limit_in_bytes", "2147483648\n");
    put (dir, "sys/memory/slurm/memory.limit_in_bytes", "9223372036854771712\n");
    ok (zpar__res_cgroup_memory (cg, sys) == 2147483648ull,
        "cgroup v1 (cpu,memory): the job's 2 GiB on an ancestor");
    /* v2: memory.max "max" on the leaf, a number above it */
    put (dir, "cgroup", "0::/user/job\n");
    put (dir, "sys/user/job/memory.max", "max\n");
    put (dir, "sys/user/memory.max", "1073741824\n");
    ok (zpar__res_cgroup_memory (cg, sys) == 1073741824ull, "cgroup v2: 1 GiB on the parent");
    put (dir, "cgroup", "0::/\n4:memory:/\n");
    ok (zpar__res_cgroup_memory (cg, sys) == UINT64_MAX, "no limit anywhere: UINT64_MAX");
    ok (zpar__res_cgroup_memory ("/nonexistent", sys) == UINT64_MAX, "no cgroup file: UINT64_MAX");
    snprintf (cmd, sizeof (cmd), "rm -rf '%s'", dir);
    ok (system (cmd) == 0, "test files removed");
}

int main (void)
{
    plan (NO_PLAN);
    test_probe ();
    test_cgroup_memory ();
    test_plan ();
    test_apply ();
    return done_testing ();
}
