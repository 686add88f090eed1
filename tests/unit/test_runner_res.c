/* test_runner_res.c - a task's resources applied by the runner
 * (engine_res.h): the child of a task with SLOT strings gets the union of
 * their cpusets as its CPU affinity (wider than the engine's own binding),
 * OMP_NUM_THREADS / ZPAR_TASK_* / *_VISIBLE_DEVICES, and its memory limit;
 * a task without slots is left as before; a bad slot or a cpuset of no CPU
 * here is an error result, and the runner lives on.
 *
 * The memory hog is this program itself: "test_runner_res --hog MIB". */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine_res.h"
#include "engine/runner.h"
#include "reactor.h"
#include "tap.h"
#include "zt_runner.h"

static zpar_reactor_t *reactor;
static zpar_runner_t *r;
static char self_exe[PATH_MAX];

static int hog (const char *mib)
{
    size_t n = (size_t)strtoul (mib, NULL, 10) << 20;
    char *m = malloc (n);
    if (!m) {
        fprintf (stderr, "cannot allocate %s MiB\n", mib);
        return 3;
    }
    memset (m, 1, n);
    printf ("allocated %s MiB\n", mib);
    free (m);
    return 0;
}

static const zpar_run_result_t *run (zpar_run_spec_t *spec)
{
    return zt_runner_run (r, spec, 30);
}

static zpar_run_spec_t cmd (char **argv, const char *const *slots, size_t nslots, uint64_t memory)
{
    return (zpar_run_spec_t){.kind = ZPAR_TASK_COMMAND,
                             .argv = argv,
                             .slots = slots,
                             .nslots = nslots,
                             .memory = memory};
}

static int has (const char *hay, const char *needle)
{
    return hay && strstr (hay, needle) != NULL;
}

static const char *out_of (const zpar_run_result_t *res)
{
    return res ? zt_runbuf_text (&res->out) : "";
}

static char show[] = "grep Cpus_allowed_list /proc/self/status; "
                     "echo \"omp=$OMP_NUM_THREADS cores=$ZPAR_TASK_CORES cpuset=$ZPAR_TASK_CPUSET "
                     "cuda=${CUDA_VISIBLE_DEVICES-unset} mem=$ZPAR_TASK_MEMORY "
                     "slots=$ZPAR_TASK_SLOTS\"";

static void test_cpuset (void)
{
    char *argv[] = {"/bin/sh", "-c", show, NULL};
    cpu_set_t all, one;
    int cpus[2], n = 0;
    char s0[64], s1[64], want[256];
    const zpar_run_result_t *res;
    zpar_run_spec_t s;

    if (sched_getaffinity (0, sizeof (all), &all) < 0) {
        ok (0, "sched_getaffinity: %s", strerror (errno));
        return;
    }
    for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
        if (CPU_ISSET (i, &all))
            cpus[n++] = i;
    if (n < 2) {
        diag ("fewer than 2 CPUs allowed: the 2-engine cpuset test is skipped");
        return;
    }
    /* the engine (this process) bound to its first CPU, as zpar run binds
     * an engine; the task holds it and the second one */
    CPU_ZERO (&one);
    CPU_SET (cpus[0], &one);
    ok (sched_setaffinity (0, sizeof (one), &one) == 0, "the 'engine' is bound to cpu %d", cpus[0]);
    snprintf (s0, sizeof (s0), "3 nodeA %d cuda:0 1000", cpus[0]);
    snprintf (s1, sizeof (s1), "4 nodeA %d cuda:1 1000", cpus[1]);
    {
        const char *slots[] = {s0, s1, "9 nodeB 0 cuda:0 1000"};
        s = cmd (argv, slots, 3, 0);
        res = run (&s);
        if (cpus[1] == cpus[0] + 1)
            snprintf (want, sizeof (want), "Cpus_allowed_list:\t%d-%d\n", cpus[0], cpus[1]);
        else
            snprintf (want, sizeof (want), "Cpus_allowed_list:\t%d,%d\n", cpus[0], cpus[1]);
        ok (res && res->status == ZPAR_STATUS_OK && has (out_of (res), want),
            "a task holding 2 engines runs on both CPUs, wider than the engine's own: %s",
            out_of (res));
        ok (res && has (out_of (res), "omp=2 cores=2 ") && has (out_of (res), "cuda=0,1 "),
            "OMP_NUM_THREADS=2, ZPAR_TASK_CORES=2, CUDA_VISIBLE_DEVICES=0,1 (host B's slot left "
            "out)");
        snprintf (want, sizeof (want), "slots=%s;%s;9 nodeB 0 cuda:0 1000\n", s0, s1);
        ok (res && has (out_of (res), want) && has (out_of (res), "mem=0 "),
            "ZPAR_TASK_SLOTS lists every slot, ZPAR_TASK_MEMORY=0");
    }
    {
        s = cmd (argv, NULL, 0, 0);
        res = run (&s);
        snprintf (want, sizeof (want), "Cpus_allowed_list:\t%d\n", cpus[0]);
        ok (res && res->status == ZPAR_STATUS_OK && has (out_of (res), want) &&
                has (out_of (res), "omp= cores= cpuset= cuda=unset mem= slots=\n"),
            "a task without slots: the engine's binding, none of the variables: %s", out_of (res));
    }
    {
        char envomp[] = "OMP_NUM_THREADS=1";
        char *env[] = {envomp, NULL};
        const char *slots[] = {s0, s1};
        s = cmd (argv, slots, 2, 0);
        s.env = env;
        res = run (&s);
        ok (res && res->status == ZPAR_STATUS_OK && has (out_of (res), "omp=1 cores=2 "),
            "the task's ENV wins over OMP_NUM_THREADS");
    }
    ok (sched_setaffinity (0, sizeof (all), &all) == 0, "the 'engine' is unbound again");
}

static void test_memory (void)
{
    char *argv[] = {self_exe, "--hog", "256", NULL};
    char hogslot[] = "1 h - - 0";
    const char *slots[] = {hogslot};
    const zpar_run_result_t *res;
    zpar_run_spec_t s;

#if defined(__SANITIZE_ADDRESS__)
    /* the hog is this program: AddressSanitizer's allocator has mapped more
     * than the limits below before they are set, and aborts instead of
     * returning NULL */
    ok (1, "# SKIP memory limits under AddressSanitizer");
    (void)argv;
    (void)slots;
    (void)res;
    (void)s;
    return;
#endif
    s = cmd (argv, slots, 1, 64ull << 20);
    res = run (&s);
    ok (res && res->status == ZPAR_STATUS_FAILED && res->exit_code == 3 && res->err.len &&
            has ((const char *)res->err.data, "cannot allocate 256 MiB"),
        "256 MiB with a 64 MiB limit: the task fails (exit 3, cannot allocate)");
    ok (res && has (res->error, "exited with status 3 (its memory limit is 64 MiB)"),
        "the error text says the limit: '%s'", res ? res->error : "");
    s = cmd (argv, slots, 1, 0);
    res = run (&s);
    ok (res && res->status == ZPAR_STATUS_OK && has (out_of (res), "allocated 256 MiB"),
        "the same without a limit: ok (the runner lives on)");
    s = cmd (argv, slots, 1, 512ull << 20);
    res = run (&s);
    ok (res && res->status == ZPAR_STATUS_OK, "the same with a 512 MiB limit: ok");
}

static void test_errors (void)
{
    char *argv[] = {"/bin/true", NULL};
    const zpar_run_result_t *res;
    zpar_run_spec_t s;
    {
        const char *slots[] = {"1 h 0 - 0", "2 h zero - 0"};
        s = cmd (argv, slots, 2, 0);
        res = run (&s);
        ok (res && res->status == ZPAR_STATUS_ERROR &&
                has (res->error, "bad resource slot: malformed slot \"2 h zero - 0\""),
            "a bad slot: error '%s'", res ? res->error : "");
    }
    {
        const char *slots[] = {"1 h 65535 - 0"};
        s = cmd (argv, slots, 1, 0);
        res = run (&s);
        ok (res && res->status == ZPAR_STATUS_ERROR &&
                has (res->error, "cannot bind to cpus 65535 for /bin/true (Invalid argument)"),
            "a cpuset with no CPU here: error '%s'", res ? res->error : "");
    }
    s = cmd (argv, NULL, 0, 0);
    res = run (&s);
    ok (res && res->status == ZPAR_STATUS_OK, "the runner runs the next task");
}

/* A forked function task gets the same (zt_getenv of tests/lib/testfn.c). */
static void test_function (const char *lib)
{
    char s0[64], s1[64];
    const char *slots[] = {s0, s1};
    const zpar_run_result_t *res;
    zpar_run_spec_t s;
    cpu_set_t all;
    int cpus[2], n = 0;

    if (sched_getaffinity (0, sizeof (all), &all) < 0)
        return;
    for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
        if (CPU_ISSET (i, &all))
            cpus[n++] = i;
    if (n < 2)
        return;
    snprintf (s0, sizeof (s0), "3 nodeA %d cuda:0 0", cpus[0]);
    snprintf (s1, sizeof (s1), "4 nodeA %d cuda:5 0", cpus[1]);
    {
        cpu_set_t one;
        CPU_ZERO (&one);
        CPU_SET (cpus[0], &one);
        ok (sched_setaffinity (0, sizeof (one), &one) == 0, "the 'engine' is bound to cpu %d",
            cpus[0]);
    }
    s = (zpar_run_spec_t){.kind = ZPAR_TASK_FUNCTION,
                          .lib = lib,
                          .symbol = "zt_getenv",
                          .input = "CUDA_VISIBLE_DEVICES",
                          .input_len = strlen ("CUDA_VISIBLE_DEVICES"),
                          .slots = slots,
                          .nslots = 2};
    res = run (&s);
    ok (res && res->status == ZPAR_STATUS_OK && res->output.len == strlen ("0,5 cpus=2") &&
            !memcmp (res->output.data, "0,5 cpus=2", res->output.len),
        "a function task holding 2 engines: both GPUs, both CPUs (%.*s)",
        res ? (int)res->output.len : 0, res ? (const char *)res->output.data : "");
    s.input = "OMP_NUM_THREADS";
    s.input_len = strlen ("OMP_NUM_THREADS");
    s.nslots = 0;
    res = run (&s);
    ok (res && res->status == ZPAR_STATUS_OK && res->output.len >= 7 &&
            !memcmp (res->output.data, "(unset)", 7),
        "without slots: no OMP_NUM_THREADS (%.*s)", res ? (int)res->output.len : 0,
        res ? (const char *)res->output.data : "");
    {
        const char *bad[] = {"1 h 65535 - 0"};
        s.slots = bad;
        s.nslots = 1;
        res = run (&s);
        ok (res && res->status == ZPAR_STATUS_ERROR &&
                has (res->error, "cannot bind to cpus 65535 (Invalid argument)"),
            "a function task on a cpuset with no CPU here: error '%s'", res ? res->error : "");
    }
    ok (sched_setaffinity (0, sizeof (all), &all) == 0, "the 'engine' is unbound again");
}

int main (int argc, char **argv)
{
    zpar_error_t err = {{0}};
    ssize_t n;

    if (argc == 3 && !strcmp (argv[1], "--hog"))
        return hog (argv[2]);
    plan (NO_PLAN);
    if ((n = readlink ("/proc/self/exe", self_exe, sizeof (self_exe) - 1)) <= 0) {
        ok (0, "readlink /proc/self/exe: %s", strerror (errno));
        return done_testing ();
    }
    self_exe[n] = '\0';
    /* the runner's own resources: not bound, no GPU (the test's environment
     * must not leak the launcher's) */
    unsetenv ("ZPAR_ENGINE_CPUSET");
    unsetenv ("ZPAR_ENGINE_CORES");
    unsetenv ("ZPAR_ENGINE_GPUS");
    unsetenv ("CUDA_VISIBLE_DEVICES");
    unsetenv ("ROCR_VISIBLE_DEVICES");
    ok (zpar__reactor_block_signals () == 0, "signals blocked as in the zpar program");
    reactor = zpar__reactor_create ();
    r = reactor ? zpar__runner_create (reactor, 7, -1, NULL, NULL, &err) : NULL;
    ok (r != NULL, "runner created");
    if (!r)
        return done_testing ();
    test_cpuset ();
    test_memory ();
    test_errors ();
    {
        char lib[PATH_MAX];
        const char *bd = getenv ("builddir");
        snprintf (lib, sizeof (lib), "%s/tests/lib/.libs/testfn.so", bd ? bd : ".");
        if (access (lib, R_OK) == 0)
            test_function (lib);
        else
            diag ("no %s: function tasks skipped", lib);
    }
    zpar__runner_destroy (r);
    zpar__reactor_destroy (reactor);
    return done_testing ();
}
