/* test_bind.c - unit tests of src/launch/bind.c on synthetic and saved
 * topologies (nothing here depends on the host's CPUs or GPUs, except the
 * last tests, which bind this process on the real machine and restore it). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "tap.h"

/* "pack:2 core:8 pu:2" with its single NUMA node written out ("[numa] "),
 * which hwloc would otherwise insert (with a memcpy that valgrind flags). */
#define S1 "[numa] pack:2 core:8 pu:2"        /* 32 PUs, core k = PUs 2k,2k+1 */
#define S2 "pack:2 numa:2 l3:1 core:4 pu:1"   /* 16 PUs, NUMA/L3 k = 4k..4k+3 */
#define S3 "pack:2 [numa] [numa] core:4 pu:1" /* 2 NUMA nodes per package */

static const char *datapath (const char *name)
{
    static char buf[4096];
    const char *srcdir = getenv ("srcdir");
    snprintf (buf, sizeof (buf), "%s/tests/data/%s", srcdir && *srcdir ? srcdir : ".", name);
    return buf;
}

static zpar_bind_params_t params (zpar_bind_policy_t policy, int cpe, int gpe, int rank, int size)
{
    zpar_bind_params_t p;
    zpar__bind_params_init (&p);
    p.policy = policy;
    p.cores_per_engine = cpe;
    p.gpus_per_engine = gpe;
    p.local_rank = rank;
    p.local_size = size;
    return p;
}

/* Placement tables: one topology, one allowed set, expected cpus. */
struct place_case {
    const char *topo;
    const char *allowed;
    zpar_bind_policy_t policy;
    int cpe, rank, size;
    const char *cpus;
    int oversubscribed;
};

static const struct place_case place_cases[] = {
    /* policy core, whole topology */
    {S1, NULL, ZPAR_BIND_CORE, 1, 0, 1, "0-1", 0},
    {S1, NULL, ZPAR_BIND_CORE, 1, 3, 16, "6-7", 0},
    {S1, NULL, ZPAR_BIND_CORE, 1, 15, 16, "30-31", 0},
    {S1, NULL, ZPAR_BIND_CORE, 4, 0, 2, "0-7", 0},
    {S1, NULL, ZPAR_BIND_CORE, 4, 1, 2, "8-15", 0},
    {S1, NULL, ZPAR_BIND_CORE, 8, 1, 4, "16-31", 1},
    {S1, NULL, ZPAR_BIND_CORE, 3, 2, 5, "12-17", 0}, /* 5 blocks of 3, core 15 unused */
    {S1, NULL, ZPAR_BIND_CORE, 3, 5, 6, "0-5", 1},
    {S1, NULL, ZPAR_BIND_CORE, 1, 17, 20, "2-3", 1},
    {S1, NULL, ZPAR_BIND_CORE, 16, 0, 1, "0-31", 0},
    {S2, NULL, ZPAR_BIND_CORE, 2, 3, 8, "6-7", 0},
    /* socket, numa, l3 */
    {S1, NULL, ZPAR_BIND_SOCKET, 1, 0, 2, "0-15", 0},
    {S1, NULL, ZPAR_BIND_SOCKET, 1, 1, 2, "16-31", 0},
    {S1, NULL, ZPAR_BIND_SOCKET, 1, 2, 3, "0-15", 1},
    {S1, NULL, ZPAR_BIND_NUMA, 1, 1, 2, "0-31", 1}, /* hwloc inserts one NUMA node */
    {S2, NULL, ZPAR_BIND_NUMA, 1, 2, 4, "8-11", 0},
    {S2, NULL, ZPAR_BIND_NUMA, 1, 5, 6, "4-7", 1},
    {S2, NULL, ZPAR_BIND_L3, 1, 3, 4, "12-15", 0},
    {S2, NULL, ZPAR_BIND_L3, 1, 0, 1, "0-3", 0},
    {S2, NULL, ZPAR_BIND_SOCKET, 1, 1, 4, "8-15", 1},
    {S3, NULL, ZPAR_BIND_NUMA, 1, 1, 2, "4-7", 0}, /* NUMA nodes with equal cpus count once */
    {S3, NULL, ZPAR_BIND_NUMA, 1, 2, 3, "0-3", 1},
    /* none */
    {S1, NULL, ZPAR_BIND_NONE, 1, 0, 1, "0-31", 0},
    {S1, NULL, ZPAR_BIND_NONE, 1, 63, 64, "0-31", 0},
    /* restricted to an allowed set */
    {S1, "8-23", ZPAR_BIND_CORE, 1, 0, 8, "8-9", 0},
    {S1, "8-23", ZPAR_BIND_CORE, 1, 7, 8, "22-23", 0},
    {S1, "8-23", ZPAR_BIND_CORE, 1, 8, 9, "8-9", 1},
    {S1, "9-22", ZPAR_BIND_CORE, 1, 0, 8, "9", 0}, /* half-allowed core 4 */
    {S1, "0,2,4,6,8,10,12,14", ZPAR_BIND_CORE, 2, 1, 4, "4,6", 0},
    {S1, "12-19", ZPAR_BIND_SOCKET, 1, 0, 2, "12-15", 0},
    {S1, "12-19", ZPAR_BIND_SOCKET, 1, 1, 2, "16-19", 0},
    {S2, "6-9", ZPAR_BIND_NUMA, 1, 0, 2, "6-7", 0},
    {S2, "6-9", ZPAR_BIND_NUMA, 1, 1, 2, "8-9", 0},
    {S2, "6-9", ZPAR_BIND_L3, 1, 2, 3, "6-7", 1},
    {S1, "3-5", ZPAR_BIND_NONE, 1, 1, 2, "3-5", 0},
};

static void test_placement (void)
{
    for (size_t i = 0; i < sizeof (place_cases) / sizeof (place_cases[0]); i++) {
        const struct place_case *c = &place_cases[i];
        zpar_error_t err = {""};
        zpar_topo_t *topo = zpar__topo_load (ZPAR_TOPO_SYNTHETIC, c->topo, 0, &err);
        zpar_bind_params_t p = params (c->policy, c->cpe, 0, c->rank, c->size);
        zpar_binding_t *b = zpar__binding_compute (topo, &p, c->allowed, &err);
        char name[256];

        snprintf (name, sizeof (name), "%s allowed=%s %s cpe=%d rank %d/%d", c->topo,
                  c->allowed ? c->allowed : "all", zpar__bind_policy_name (c->policy), c->cpe,
                  c->rank, c->size);
        if (!b)
            diag ("%s: %s", name, err.text);
        is_str (zpar__binding_cpulist (b), c->cpus, "%s: cpus %s", name, c->cpus);
        is_int (zpar__binding_oversubscribed (b), c->oversubscribed, "%s: oversubscribed=%d", name,
                c->oversubscribed);
        zpar__binding_destroy (b);
        zpar__topo_destroy (topo);
    }
}

/* Engines of one node never overlap while there are enough units. */
static void test_disjoint (void)
{
    zpar_topo_t *topo = zpar__topo_load (ZPAR_TOPO_SYNTHETIC, S1, 0, NULL);
    hwloc_bitmap_t seen = hwloc_bitmap_alloc ();
    int overlap = 0, covered;

    for (int r = 0; r < 8; r++) {
        zpar_bind_params_t p = params (ZPAR_BIND_CORE, 2, 0, r, 8);
        zpar_binding_t *b = zpar__binding_compute (topo, &p, NULL, NULL);
        if (!b || hwloc_bitmap_intersects (seen, zpar__binding_cpuset (b)))
            overlap = 1;
        if (b)
            hwloc_bitmap_or (seen, seen, zpar__binding_cpuset (b));
        zpar__binding_destroy (b);
    }
    covered = hwloc_bitmap_weight (seen);
    ok (!overlap && covered == 32, "8 engines x 2 cores on 2x8 cores: disjoint, cover all 32 PUs");
    hwloc_bitmap_free (seen);
    zpar__topo_destroy (topo);
}

static void test_policy_parse (void)
{
    static const struct {
        const char *s;
        int rc;
        zpar_bind_policy_t policy;
    } cases[] = {
        {"core", 0, ZPAR_BIND_CORE},
        {"l3", 0, ZPAR_BIND_L3},
        {"numa", 0, ZPAR_BIND_NUMA},
        {"socket", 0, ZPAR_BIND_SOCKET},
        {"none", 0, ZPAR_BIND_NONE},
        {"cores", -1, 0},
        {"CORE", -1, 0},
        {"", -1, 0},
        {"core ", -1, 0},
        {NULL, -1, 0},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        zpar_bind_policy_t pol = ZPAR_BIND_POLICY_COUNT;
        zpar_error_t err = {""};
        const char *s = cases[i].s ? cases[i].s : "(null)";
        int rc;
        errno = 0;
        rc = zpar__bind_policy_parse (cases[i].s, &pol, &err);
        if (cases[i].rc == 0) {
            ok (rc == 0 && pol == cases[i].policy &&
                    strcmp (zpar__bind_policy_name (pol), cases[i].s) == 0,
                "policy '%s' parses and names back", s);
        } else {
            ok (rc == -1 && errno == EINVAL && pol == ZPAR_BIND_POLICY_COUNT &&
                    strstr (err.text, "use core, l3, numa, socket or none"),
                "policy '%s' is refused with EINVAL", s);
        }
    }
    {
        zpar_error_t err = {""};
        zpar_bind_policy_t pol;
        (void)zpar__bind_policy_parse ("cores", &pol, &err);
        is_str (err.text, "unknown bind policy 'cores': use core, l3, numa, socket or none",
                "error text for 'cores'");
    }
    is_str (zpar__bind_policy_name ((zpar_bind_policy_t)42), "?", "name of a bad policy is ?");
}

static void test_bad_params (void)
{
    zpar_topo_t *s1 = zpar__topo_load (ZPAR_TOPO_SYNTHETIC, S1, 0, NULL);
    zpar_topo_t *s2 = zpar__topo_load (ZPAR_TOPO_SYNTHETIC, S2, 0, NULL);
    static const zpar_bind_params_t base = {ZPAR_BIND_CORE, 1, 0, 0, 1};
    struct {
        const char *name;
        int topo; /* 0 NULL, 1 S1, 2 S2 */
        int nullp;
        zpar_bind_params_t p;
        const char *allowed;
        int errnum;
        const char *text;
    } cases[] = {
        {"NULL topo", 0, 0, base, NULL, EINVAL, "invalid arguments"},
        {"NULL params", 1, 1, base, NULL, EINVAL, "invalid arguments"},
        {"cores_per_engine 0",
         1,
         0,
         {ZPAR_BIND_CORE, 0, 0, 0, 1},
         NULL,
         EINVAL,
         "invalid cores-per-engine 0"},
        {"cores_per_engine -3",
         1,
         0,
         {ZPAR_BIND_SOCKET, -3, 0, 0, 1},
         NULL,
         EINVAL,
         "invalid cores-per-engine -3"},
        {"cores_per_engine 17 > 16 cores",
         1,
         0,
         {ZPAR_BIND_CORE, 17, 0, 0, 1},
         NULL,
         EINVAL,
         "cores-per-engine 17 but only 16 allowed cores (cpus 0-31)"},
        {"cores_per_engine 3 > 2 allowed cores",
         1,
         0,
         {ZPAR_BIND_CORE, 3, 0, 0, 1},
         "0-3",
         EINVAL,
         "cores-per-engine 3 but only 2 allowed cores (cpus 0-3)"},
        {"negative rank",
         1,
         0,
         {ZPAR_BIND_CORE, 1, 0, -1, 4},
         NULL,
         EINVAL,
         "invalid node-local rank -1 of 4"},
        {"rank == size",
         1,
         0,
         {ZPAR_BIND_CORE, 1, 0, 4, 4},
         NULL,
         EINVAL,
         "invalid node-local rank 4 of 4"},
        {"size 0",
         1,
         0,
         {ZPAR_BIND_CORE, 1, 0, 0, 0},
         NULL,
         EINVAL,
         "invalid node-local rank 0 of 0"},
        {"gpus_per_engine -1",
         1,
         0,
         {ZPAR_BIND_CORE, 1, -1, 0, 1},
         NULL,
         EINVAL,
         "invalid gpus-per-engine -1"},
        {"policy 99",
         1,
         0,
         {(zpar_bind_policy_t)99, 1, 0, 0, 1},
         NULL,
         EINVAL,
         "invalid bind policy 99"},
        {"policy l3 without L3",
         1,
         0,
         {ZPAR_BIND_L3, 1, 0, 0, 1},
         NULL,
         ENOENT,
         "the topology has no L3Cache objects"},
        {"GPUs on a node without",
         1,
         0,
         {ZPAR_BIND_CORE, 1, 1, 0, 1},
         NULL,
         ENODEV,
         "no CUDA or ROCm GPU"},
        {"allowed outside topology", 1, 0, base, "0-40", EINVAL,
         "allowed cpuset '0-40' is not inside the topology's allowed cpus 0-31"},
        {"allowed not a list", 1, 0, base, "abc", EINVAL, "invalid allowed cpuset 'abc'"},
        {"allowed empty", 1, 0, base, "", EINVAL, "invalid allowed cpuset ''"},
        {"allowed open range", 1, 0, base, "1-", EINVAL, "invalid allowed cpuset '1-'"},
        {"allowed hex mask", 2, 0, base, "0xff", EINVAL, "invalid allowed cpuset '0xff'"},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        zpar_topo_t *t = cases[i].topo == 0 ? NULL : cases[i].topo == 1 ? s1 : s2;
        zpar_error_t err = {""};
        zpar_binding_t *b;
        errno = 0;
        b = zpar__binding_compute (t, cases[i].nullp ? NULL : &cases[i].p, cases[i].allowed, &err);
        ok (b == NULL && errno == cases[i].errnum && strstr (err.text, cases[i].text),
            "compute refuses %s (errno %d)", cases[i].name, cases[i].errnum);
        if (b || !strstr (err.text, cases[i].text))
            diag ("  errno %d, err '%s'", errno, err.text);
        zpar__binding_destroy (b);
    }
    /* err is optional */
    errno = 0;
    ok (zpar__binding_compute (s1, NULL, NULL, NULL) == NULL && errno == EINVAL,
        "compute with NULL err still fails with EINVAL");

    /* accessors and destructors are NULL-safe */
    errno = 0;
    ok (zpar__binding_cpulist (NULL) == NULL && errno == EINVAL, "cpulist(NULL) EINVAL");
    ok (zpar__binding_cpuset (NULL) == NULL, "cpuset(NULL) NULL");
    ok (zpar__binding_params (NULL) == NULL, "params(NULL) NULL");
    ok (!zpar__binding_oversubscribed (NULL) && !zpar__binding_gpus_shared (NULL),
        "flags of NULL are false");
    is_int (zpar__binding_gpu_count (NULL), -1, "gpu_count(NULL) -1");
    ok (zpar__binding_gpu (NULL, 0) == NULL && zpar__binding_gpu_node_index (NULL, 0) == -1,
        "gpu(NULL, 0) fails");
    errno = 0;
    ok (zpar__binding_visible_devices (NULL, ZPAR_GPU_CUDA) == NULL && errno == EINVAL,
        "visible_devices(NULL) EINVAL");
    ok (zpar__binding_report (NULL, "h", 0, NULL) == NULL && errno == EINVAL,
        "report(NULL) EINVAL");
    is_int (zpar__topo_gpu_count (NULL), -1, "topo_gpu_count(NULL) -1");
    ok (zpar__topo_gpu (s1, 0) == NULL && errno == EINVAL, "topo_gpu out of range EINVAL");
    ok (zpar__topo_allowed (NULL, NULL) == NULL && errno == EINVAL, "topo_allowed(NULL) EINVAL");
    ok (zpar__topo_hwloc (NULL) == NULL && !zpar__topo_is_thissystem (NULL),
        "topo_hwloc/is_thissystem of NULL");
    ok (zpar__gpu_env_name ((zpar_gpu_kind_t)7) == NULL, "gpu_env_name of a bad kind is NULL");
    errno = 1234;
    zpar__binding_destroy (NULL);
    zpar__topo_destroy (NULL);
    is_int (errno, 1234, "destroy(NULL) is a no-op and keeps errno");
    {
        zpar_bind_params_t p = params (ZPAR_BIND_CORE, 1, 0, 0, 1);
        zpar_binding_t *b = zpar__binding_compute (s1, &p, NULL, NULL);
        errno = 0;
        ok (b && zpar__binding_gpu_count (b) == 0 && zpar__binding_gpu (b, 0) == NULL &&
                errno == EINVAL,
            "binding without GPUs: count 0, gpu(0) EINVAL");
        errno = 42;
        ok (zpar__binding_visible_devices (b, ZPAR_GPU_CUDA) == NULL && errno == 0,
            "no GPUs asked: CUDA_VISIBLE_DEVICES left alone (NULL, errno 0)");
        ok (zpar__binding_visible_devices (b, ZPAR_GPU_KIND_COUNT) == NULL && errno == EINVAL,
            "visible_devices of a bad kind EINVAL");
        errno = 77;
        zpar__binding_destroy (b);
        is_int (errno, 77, "binding destroy keeps errno");
    }
    zpar__topo_destroy (s1);
    zpar__topo_destroy (s2);
}

static void test_load (void)
{
    struct {
        const char *name;
        zpar_topo_source_t src;
        const char *arg;
        int flags;
        int errnum;
        const char *text;
    } cases[] = {
        {"missing XML file", ZPAR_TOPO_XML, "/nonexistent/topo.xml", 0, ENOENT,
         "cannot read topology XML '/nonexistent/topo.xml': No such file or directory"},
        {"XML that is not XML", ZPAR_TOPO_XML, "/dev/null", 0, EINVAL,
         "cannot load hwloc topology from XML '/dev/null'"},
        {"bad synthetic string", ZPAR_TOPO_SYNTHETIC, "pack:two", 0, EINVAL,
         "cannot load hwloc topology from synthetic description 'pack:two'"},
        {"XML without path", ZPAR_TOPO_XML, NULL, 0, EINVAL, "invalid arguments"},
        {"synthetic without string", ZPAR_TOPO_SYNTHETIC, NULL, 0, EINVAL, "invalid arguments"},
        {"this machine with an arg", ZPAR_TOPO_THIS, "x", 0, EINVAL, "invalid arguments"},
        {"unknown source", (zpar_topo_source_t)9, "x", 0, EINVAL, "invalid arguments"},
        {"unknown flag", ZPAR_TOPO_SYNTHETIC, S1, 0x100, EINVAL, "invalid arguments"},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        zpar_error_t err = {""};
        zpar_topo_t *t;
        errno = 0;
        t = zpar__topo_load (cases[i].src, cases[i].arg, cases[i].flags, &err);
        ok (t == NULL && errno == cases[i].errnum && strstr (err.text, cases[i].text),
            "load refuses %s", cases[i].name);
        if (t || !strstr (err.text, cases[i].text))
            diag ("  errno %d, err '%s'", errno, err.text);
        zpar__topo_destroy (t);
    }
    {
        zpar_topo_t *t = zpar__topo_load (ZPAR_TOPO_SYNTHETIC, S1, 0, NULL);
        char *a = zpar__topo_allowed (t, NULL);
        ok (t != NULL && !zpar__topo_is_thissystem (t), "synthetic topology is not this system");
        is_str (a, "0-31", "synthetic default allowed set is the whole topology");
        is_int (hwloc_get_nbobjs_by_type (zpar__topo_hwloc (t), HWLOC_OBJ_PU), 32,
                "zpar__topo_hwloc gives the hwloc topology");
        is_int (zpar__topo_gpu_count (t), 0, "synthetic topology has no GPUs");
        free (a);
        zpar__topo_destroy (t);
    }
}

struct gpu_case {
    const char *file;
    zpar_bind_policy_t policy;
    int cpe, gpe, size;
    const char *allowed;
    /* per local rank: CUDA_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES (NULL = unset), shared */
    const char *cuda[8];
    const char *rocr[8];
    int shared[8];
};

#define CUDA4 "topo-2pack-4cuda.xml"
#define RSMI3 "topo-4numa-3rsmi.xml"
#define MIXED "topo-1pack-2nvml-1rsmi.xml"

static const struct gpu_case gpu_cases[] = {
    /* packages: 0 holds cuda1 + cuda3, 1 holds cuda0 + cuda2 */
    {CUDA4, ZPAR_BIND_SOCKET, 1, 2, 2, NULL, {"1,3", "0,2"}, {NULL, NULL}, {0, 0}},
    {CUDA4, ZPAR_BIND_CORE, 2, 1, 4, NULL, {"1", "3", "0", "2"}, {0}, {0, 0, 0, 0}},
    {CUDA4,
     ZPAR_BIND_CORE,
     1,
     1,
     8,
     NULL,
     {"1", "3", "1", "3", "0", "2", "0", "2"},
     {0},
     {1, 1, 1, 1, 1, 1, 1, 1}},
    /* two engines on package 0: the local GPUs first, then the far ones */
    {CUDA4, ZPAR_BIND_CORE, 1, 2, 2, NULL, {"1,0", "3,2"}, {0}, {0, 0}},
    {CUDA4, ZPAR_BIND_NONE, 1, 4, 1, NULL, {"0,1,2,3"}, {0}, {0}},
    {CUDA4, ZPAR_BIND_NONE, 1, 2, 1, "8-15", {"0,2"}, {0}, {0}},
    {CUDA4, ZPAR_BIND_SOCKET, 1, 3, 2, NULL, {"1,3,0", "0,2,1"}, {0}, {1, 1}},
    /* NUMA 0..3 hold rsmi1, none, rsmi0, rsmi2 */
    {RSMI3, ZPAR_BIND_NUMA, 1, 1, 4, NULL, {0}, {"1", "0", "0", "2"}, {0, 1, 1, 0}},
    {RSMI3, ZPAR_BIND_NUMA, 1, 1, 3, NULL, {0}, {"1", "2", "0"}, {0, 0, 0}},
    {RSMI3, ZPAR_BIND_SOCKET, 1, 2, 1, NULL, {0}, {"0,1"}, {0}},
    {RSMI3, ZPAR_BIND_L3, 1, 1, 2, "2-5", {0}, {"1", "0"}, {0, 0}},
    /* nvml0, nvml1 then rsmi0, all local */
    {MIXED, ZPAR_BIND_CORE, 1, 1, 3, NULL, {"0", "1", ""}, {"", "", "0"}, {0, 0, 0}},
    {MIXED, ZPAR_BIND_CORE, 2, 2, 2, NULL, {"0", "1,0"}, {"0", ""}, {1, 1}},
};

static void test_gpus (void)
{
    for (size_t i = 0; i < sizeof (gpu_cases) / sizeof (gpu_cases[0]); i++) {
        const struct gpu_case *c = &gpu_cases[i];
        zpar_error_t err = {""};
        zpar_topo_t *topo = zpar__topo_load (ZPAR_TOPO_XML, datapath (c->file), 0, &err);
        if (!topo)
            diag ("%s: %s", c->file, err.text);
        for (int r = 0; r < c->size; r++) {
            zpar_bind_params_t p = params (c->policy, c->cpe, c->gpe, r, c->size);
            zpar_binding_t *b = zpar__binding_compute (topo, &p, c->allowed, &err);
            const char *cuda = zpar__binding_visible_devices (b, ZPAR_GPU_CUDA);
            const char *rocr = zpar__binding_visible_devices (b, ZPAR_GPU_ROCM);
            char name[200];
            snprintf (name, sizeof (name), "%s %s cpe=%d gpe=%d allowed=%s rank %d/%d", c->file,
                      zpar__bind_policy_name (c->policy), c->cpe, c->gpe,
                      c->allowed ? c->allowed : "all", r, c->size);
            if (!b)
                diag ("%s: %s", name, err.text);
            ok (b &&
                    ((!cuda && !c->cuda[r]) ||
                     (cuda && c->cuda[r] && !strcmp (cuda, c->cuda[r]))) &&
                    ((!rocr && !c->rocr[r]) ||
                     (rocr && c->rocr[r] && !strcmp (rocr, c->rocr[r]))) &&
                    zpar__binding_gpu_count (b) == c->gpe &&
                    zpar__binding_gpus_shared (b) == !!c->shared[r],
                "%s: CUDA=%s ROCR=%s%s", name, c->cuda[r] ? c->cuda[r] : "(unset)",
                c->rocr[r] ? c->rocr[r] : "(unset)", c->shared[r] ? " shared" : "");
            if (b && (!cuda != !c->cuda[r] || !rocr != !c->rocr[r] ||
                      zpar__binding_gpus_shared (b) != !!c->shared[r]))
                diag ("  got CUDA=%s ROCR=%s shared=%d", cuda ? cuda : "(unset)",
                      rocr ? rocr : "(unset)", zpar__binding_gpus_shared (b));
            else if (b &&
                     ((cuda && strcmp (cuda, c->cuda[r])) || (rocr && strcmp (rocr, c->rocr[r]))))
                diag ("  got CUDA=%s ROCR=%s", cuda ? cuda : "(unset)", rocr ? rocr : "(unset)");
            zpar__binding_destroy (b);
        }
        zpar__topo_destroy (topo);
    }
}

static void test_gpu_details (void)
{
    zpar_error_t err = {""};
    zpar_topo_t *topo = zpar__topo_load (ZPAR_TOPO_XML, datapath (CUDA4), 0, &err);
    zpar_topo_t *mixed = zpar__topo_load (ZPAR_TOPO_XML, datapath (MIXED), 0, &err);
    zpar_bind_params_t p = params (ZPAR_BIND_SOCKET, 1, 2, 1, 2);
    zpar_binding_t *b = zpar__binding_compute (topo, &p, NULL, &err);
    const zpar_gpu_t *g;
    char *line;

    ok (topo && !zpar__topo_is_thissystem (topo), "XML topology loads, is not this system");
    is_int (zpar__topo_gpu_count (topo), 4, "4 GPUs found (nvml/card/opencl duplicates merged)");
    g = zpar__topo_gpu (topo, 0);
    ok (g && g->kind == ZPAR_GPU_CUDA && g->index == 0 && !strcmp (g->name, "cuda0") &&
            !strcmp (g->busid, "0000:86:00.0"),
        "node GPU 0 is cuda0 at 0000:86:00.0");
    g = zpar__topo_gpu (topo, 3);
    ok (g && g->kind == ZPAR_GPU_CUDA && g->index == 3 && !strcmp (g->name, "cuda3") &&
            !strcmp (g->busid, "0000:3b:00.0"),
        "node GPU 3 is cuda3 at 0000:3b:00.0");
    is_str (zpar__binding_cpulist (b), "8-15", "engine 1/2 socket: cpus 8-15");
    is_int (zpar__binding_gpu_count (b), 2, "engine 1/2 gets 2 GPUs");
    is_int (zpar__binding_gpu_node_index (b, 0), 0, "first GPU is node GPU 0");
    is_int (zpar__binding_gpu_node_index (b, 1), 2, "second GPU is node GPU 2");
    g = zpar__binding_gpu (b, 1);
    ok (g && !strcmp (g->name, "cuda2") && !strcmp (g->busid, "0000:af:00.0"),
        "second GPU is cuda2 at 0000:af:00.0");
    is_str (zpar__gpu_env_name (ZPAR_GPU_CUDA), "CUDA_VISIBLE_DEVICES", "CUDA env name");
    is_str (zpar__gpu_env_name (ZPAR_GPU_ROCM), "ROCR_VISIBLE_DEVICES", "ROCm env name");
    line = zpar__binding_report (b, "node01", 3, &err);
    is_str (line, "host=node01 rank=3 local_rank=1/2 bind=socket cpus=8-15 gpus=cuda:0,cuda:2",
            "report line with GPUs");
    free (line);
    zpar__binding_destroy (b);

    p = params (ZPAR_BIND_CORE, 1, 5, 0, 1);
    errno = 0;
    b = zpar__binding_compute (topo, &p, NULL, &err);
    ok (b == NULL && errno == EINVAL &&
            !strcmp (err.text, "gpus-per-engine 5 but this node has 4 GPUs"),
        "gpus-per-engine 5 on 4 GPUs: EINVAL");
    zpar__binding_destroy (b);

    g = zpar__topo_gpu (mixed, 1);
    ok (g && g->kind == ZPAR_GPU_CUDA && g->index == 1 && !strcmp (g->name, "nvml1") &&
            !strcmp (g->busid, "0000:41:00.0"),
        "NVML-only GPU: nvml1 is CUDA device 1 at 0000:41:00.0");
    g = zpar__topo_gpu (mixed, 2);
    ok (g && g->kind == ZPAR_GPU_ROCM && g->index == 0 && !strcmp (g->name, "rsmi0"),
        "mixed node: ROCm GPUs come after CUDA ones");
    p = params (ZPAR_BIND_CORE, 1, 1, 2, 3);
    b = zpar__binding_compute (mixed, &p, NULL, &err);
    line = zpar__binding_report (b, "n", 7, &err);
    is_str (line, "host=n rank=7 local_rank=2/3 bind=core cpus=2 gpus=rocm:0",
            "report line with a ROCm GPU");
    free (line);
    zpar__binding_destroy (b);
    zpar__topo_destroy (mixed);
    zpar__topo_destroy (topo);
}

static void test_report (void)
{
    zpar_topo_t *topo = zpar__topo_load (ZPAR_TOPO_SYNTHETIC, S1, 0, NULL);
    zpar_bind_params_t p = params (ZPAR_BIND_CORE, 8, 0, 1, 4);
    zpar_binding_t *b = zpar__binding_compute (topo, &p, NULL, NULL);
    char *line = zpar__binding_report (b, "node01", 3, NULL);
    is_str (line, "host=node01 rank=3 local_rank=1/4 bind=core cpus=16-31 gpus=none oversubscribed",
            "report line, oversubscribed");
    free (line);
    line = zpar__binding_report (b, NULL, 0, NULL);
    ok (line && strncmp (line, "host=", 5) == 0 && strncmp (line, "host= ", 6) != 0 &&
            strstr (line, " rank=0 local_rank=1/4 "),
        "report with host NULL uses the hostname");
    free (line);
    ok (zpar__binding_params (b) && zpar__binding_params (b)->cores_per_engine == 8,
        "binding keeps its parameters");
    zpar__binding_destroy (b);

    p = params (ZPAR_BIND_NONE, 1, 0, 0, 2);
    b = zpar__binding_compute (topo, &p, "1,3,5-7", NULL);
    line = zpar__binding_report (b, "h", 1, NULL);
    is_str (line, "host=h rank=1 local_rank=0/2 bind=none cpus=1,3,5-7 gpus=none",
            "report line, policy none");
    free (line);
    zpar__binding_destroy (b);
    zpar__topo_destroy (topo);
}

static void test_apply (void)
{
    zpar_error_t err = {""};
    zpar_topo_t *synth = zpar__topo_load (ZPAR_TOPO_SYNTHETIC, S1, 0, NULL);
    zpar_topo_t *real = zpar__topo_load (ZPAR_TOPO_THIS, NULL, 0, &err);
    hwloc_bitmap_t orig = hwloc_bitmap_alloc ();
    hwloc_bitmap_t now = hwloc_bitmap_alloc ();
    zpar_bind_params_t p;
    zpar_binding_t *b;
    int rc;

    /* Synthetic: a no-op success, unless REQUIRE. */
    p = params (ZPAR_BIND_CORE, 1, 0, 5, 16);
    b = zpar__binding_compute (synth, &p, NULL, NULL);
    ok (zpar__binding_apply (synth, b, 0, &err) == 0, "apply on a synthetic topology: no-op, 0");
    errno = 0;
    rc = zpar__binding_apply (synth, b, ZPAR_BIND_APPLY_REQUIRE, &err);
    ok (rc == -1 && errno == ENOTSUP && strstr (err.text, "cannot bind to cpus 10-11"),
        "apply REQUIRE on a synthetic topology: ENOTSUP");
    errno = 0;
    ok (zpar__binding_apply (NULL, b, 0, NULL) == -1 && errno == EINVAL, "apply NULL topo EINVAL");
    errno = 0;
    ok (zpar__binding_apply (synth, NULL, 0, NULL) == -1 && errno == EINVAL, "apply NULL b EINVAL");
    errno = 0;
    ok (zpar__binding_apply (synth, b, 0x40, NULL) == -1 && errno == EINVAL,
        "apply unknown flag EINVAL");
    zpar__binding_destroy (b);

    /* The real machine: policy none, then core 0, then restore. */
    ok (real != NULL, "load this machine's topology");
    if (!real)
        diag ("%s", err.text);
    ok (zpar__topo_is_thissystem (real), "this machine's topology is this system");
    if (!real || hwloc_get_cpubind (zpar__topo_hwloc (real), orig, HWLOC_CPUBIND_PROCESS) < 0) {
        ok (0, "read the current binding");
        diag ("cannot go on without this machine's topology and binding");
        zpar__topo_destroy (real);
        zpar__topo_destroy (synth);
        hwloc_bitmap_free (now);
        hwloc_bitmap_free (orig);
        return;
    }
    ok (1, "read the current binding");
    p = params (ZPAR_BIND_NONE, 1, 0, 0, 1);
    b = zpar__binding_compute (real, &p, NULL, &err);
    ok (b && zpar__binding_apply (real, b, ZPAR_BIND_APPLY_REQUIRE, &err) == 0,
        "apply policy none on the real machine succeeds");
    hwloc_get_cpubind (zpar__topo_hwloc (real), now, HWLOC_CPUBIND_PROCESS);
    ok (hwloc_bitmap_isequal (now, orig), "policy none leaves the binding alone");
    zpar__binding_destroy (b);

    p = params (ZPAR_BIND_CORE, 1, 0, 0, 1);
    b = zpar__binding_compute (real, &p, NULL, &err);
    rc = b ? zpar__binding_apply (real, b, ZPAR_BIND_APPLY_REQUIRE, &err) : -1;
    ok (rc == 0, "apply core 0/1 on the real machine succeeds");
    if (rc < 0)
        diag ("%s", err.text);
    hwloc_get_cpubind (zpar__topo_hwloc (real), now, HWLOC_CPUBIND_PROCESS);
    ok (b && hwloc_bitmap_isequal (now, zpar__binding_cpuset (b)),
        "the process is now bound to cpus %s", b ? zpar__binding_cpulist (b) : "?");
    zpar__binding_destroy (b);
    ok (hwloc_set_cpubind (zpar__topo_hwloc (real), orig, HWLOC_CPUBIND_PROCESS) == 0,
        "restore the original binding");

    zpar__topo_destroy (real);
    zpar__topo_destroy (synth);

    /* A synthetic topology that claims to be this system, with 2048 PUs:
     * the kernel refuses PU 2047 (no test machine has that many), and the
     * error is reported without changing the binding. */
    synth = zpar__topo_load (ZPAR_TOPO_SYNTHETIC, "[numa] pack:2 core:1024 pu:1",
                             ZPAR_TOPO_ASSUME_THISSYSTEM, &err);
    ok (synth && zpar__topo_is_thissystem (synth), "ASSUME_THISSYSTEM makes it this system");
    p = params (ZPAR_BIND_CORE, 1, 0, 2047, 2048);
    b = zpar__binding_compute (synth, &p, "0-2047", &err);
    is_str (zpar__binding_cpulist (b), "2047", "engine 2047/2048 gets cpu 2047");
    errno = 0;
    rc = zpar__binding_apply (synth, b, 0, &err);
    ok (rc == -1 && errno == EINVAL &&
            !strcmp (err.text, "cannot bind to cpus 2047: Invalid argument"),
        "binding to a CPU the kernel does not have fails with EINVAL and a clear message");
    if (rc == 0)
        diag ("err '%s'", err.text);
    hwloc_get_cpubind (zpar__topo_hwloc (synth), now, HWLOC_CPUBIND_PROCESS);
    ok (hwloc_bitmap_isequal (now, orig), "failed apply leaves the binding unchanged");
    zpar__binding_destroy (b);
    zpar__topo_destroy (synth);

    hwloc_bitmap_free (now);
    hwloc_bitmap_free (orig);
}

int main (void)
{
    /* hwloc reads these; the tests must not depend on the environment. */
    unsetenv ("HWLOC_XMLFILE");
    unsetenv ("HWLOC_SYNTHETIC");
    unsetenv ("HWLOC_THISSYSTEM");
    unsetenv ("HWLOC_FSROOT");
    unsetenv ("HWLOC_CPUKINDS_RANKING");

    plan (NO_PLAN);
    test_policy_parse ();
    test_load ();
    test_placement ();
    test_disjoint ();
    test_bad_params ();
    test_gpus ();
    test_gpu_details ();
    test_report ();
    test_apply ();
    return done_testing ();
}
