/* test_bind_res.c - from an engine's binding to what a task holding several
 * engines gets: zpar__binding_export_env (what zpar run tells each engine)
 * -> zpar__engine_res_probe (what the engine reports) -> the SLOT strings
 * -> zpar__engine_res_plan (the task's cpuset, cores, OMP_NUM_THREADS,
 * CUDA_/ROCR_VISIBLE_DEVICES), on saved and synthetic topologies with GPUs
 * (nothing here depends on this machine's CPUs or GPUs). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "engine/engine_res.h"
#include "tap.h"

static const char *datapath (const char *name)
{
    static char buf[4096];
    const char *srcdir = getenv ("srcdir");
    snprintf (buf, sizeof (buf), "%s/tests/data/%s", srcdir && *srcdir ? srcdir : ".", name);
    return buf;
}

static const char *env_of (const zpar_res_plan_t *pl, const char *name)
{
    size_t nl = strlen (name);
    for (char *const *e = zpar__engine_res_plan_env (pl); e && *e; e++)
        if (strncmp (*e, name, nl) == 0 && (*e)[nl] == '=')
            return *e + nl + 1;
    return NULL;
}

static const char *or_unset (const char *v)
{
    return v ? v : "(unset)";
}

/* Engines 0..size-1 of one node on topo; the task holds engines first..
 * first+n-1 (the first one leads).  Checks what each engine exports and
 * what the task's plan holds. */
struct chain_case {
    const char *name;
    zpar_topo_source_t source;
    const char *arg; /* XML file name under tests/data, or synthetic string */
    zpar_bind_policy_t policy;
    int cpe, gpe, size;
    int first, n;
    const char *cpuset0, *cores0, *gpus0;   /* engine `first`'s environment (NULL: unset) */
    const char *cpuset, *omp, *cuda, *rocr; /* the task's (NULL: unset) */
};

static const struct chain_case cases[] = {
    /* 2 packages of 4 cores x 2 PUs; package 0 holds cuda1 + cuda3 */
    {"CUDA4 socket, 2 GPUs each, task on both engines", ZPAR_TOPO_XML, "topo-2pack-4cuda.xml",
     ZPAR_BIND_SOCKET, 1, 2, 2, 0, 2, "0-7", "4", "cuda:1,cuda:3", "0-15", "8", "1,3,0,2", NULL},
    {"CUDA4 2 cores + 1 GPU each, task on engines 0 and 1", ZPAR_TOPO_XML, "topo-2pack-4cuda.xml",
     ZPAR_BIND_CORE, 2, 1, 4, 0, 2, "0-3", "2", "cuda:1", "0-7", "4", "1,3", NULL},
    {"CUDA4 bind none, 2 GPUs each", ZPAR_TOPO_XML, "topo-2pack-4cuda.xml", ZPAR_BIND_NONE, 1, 2, 2,
     0, 2, NULL, NULL, "cuda:0,cuda:2", "-", "2", "0,2,1,3", NULL},
    /* nvml0, nvml1 (CUDA) and rsmi0 (ROCm) */
    {"MIXED 1 GPU each, task on engines 1 and 2", ZPAR_TOPO_XML, "topo-1pack-2nvml-1rsmi.xml",
     ZPAR_BIND_CORE, 1, 1, 3, 1, 2, "1", "1", "cuda:1", "1-2", "2", "1", "0"},
    {"synthetic, 2 cores of 2 PUs each, no GPU", ZPAR_TOPO_SYNTHETIC, "[numa] pack:2 core:8 pu:2",
     ZPAR_BIND_CORE, 2, 0, 4, 1, 3, "4-7", "2", NULL, "4-15", "6", NULL, NULL},
};

static void run_case (const struct chain_case *c)
{
    zpar_error_t err = {""};
    zpar_topo_t *topo;
    char slots[8][ZPAR_RES_CPUSET_MAX + ZPAR_RES_GPUS_MAX + 64];
    const char *sp[8];
    zpar_engine_res_t self = {0}, res;
    zpar_res_plan_t *pl;
    int good = 1;

    topo = zpar__topo_load (c->source, c->source == ZPAR_TOPO_XML ? datapath (c->arg) : c->arg, 0,
                            &err);
    if (!topo) {
        ok (0, "%s: %s", c->name, err.text);
        return;
    }
    for (int r = 0; r < c->size; r++) {
        zpar_bind_params_t p;
        zpar_binding_t *b;
        zpar__bind_params_init (&p);
        p.policy = c->policy;
        p.cores_per_engine = c->cpe;
        p.gpus_per_engine = c->gpe;
        p.local_rank = r;
        p.local_size = c->size;
        if (!(b = zpar__binding_compute (topo, &p, NULL, &err)) ||
            zpar__binding_export_env (topo, b) < 0) {
            diag ("%s rank %d: %s", c->name, r, err.text);
            good = 0;
            zpar__binding_destroy (b);
            break;
        }
        zpar__binding_destroy (b);
        if (r == c->first) {
            const char *cs = getenv ("ZPAR_ENGINE_CPUSET"), *co = getenv ("ZPAR_ENGINE_CORES");
            const char *g = getenv ("ZPAR_ENGINE_GPUS");
            char size[16];
            snprintf (size, sizeof (size), "%d", c->size);
            ok ((c->cpuset0 ? cs && !strcmp (cs, c->cpuset0) : 1) &&
                    (c->cores0 ? co && !strcmp (co, c->cores0) : !cs && !co) &&
                    (c->gpus0 ? g && !strcmp (g, c->gpus0) : !g) &&
                    !strcmp (or_unset (getenv ("ZPAR_ENGINE_LOCAL_SIZE")), size),
                "%s: engine %d exports CPUSET=%s CORES=%s GPUS=%s LOCAL_SIZE=%s", c->name, r,
                or_unset (cs), or_unset (co), or_unset (g),
                or_unset (getenv ("ZPAR_ENGINE_LOCAL_SIZE")));
        }
        if (r >= c->first && r < c->first + c->n) {
            zpar__engine_res_reset ();
            if (zpar__engine_res_probe (&res, &err) < 0) {
                diag ("%s rank %d: probe: %s", c->name, r, err.text);
                good = 0;
                break;
            }
            if (r == c->first)
                self = res;
            (void)zpar__engine_res_slot (&res, (uint32_t)r + 1, "node1", slots[r - c->first],
                                         sizeof (slots[0]));
            sp[r - c->first] = slots[r - c->first];
        }
    }
    zpar__topo_destroy (topo);
    if (!good) {
        ok (0, "%s: the engines' bindings", c->name);
        return;
    }
    setenv ("CUDA_VISIBLE_DEVICES", "x", 1); /* the engine's own: replaced */
    unsetenv ("ROCR_VISIBLE_DEVICES");
    if (c->rocr)
        setenv ("ROCR_VISIBLE_DEVICES", "x", 1);
    pl = zpar__engine_res_plan (sp, (size_t)c->n, 0, NULL, &self, &err);
    if (!pl)
        diag ("%s: %s", c->name, err.text);
    ok (pl && !strcmp (zpar__engine_res_plan_cpuset (pl), c->cpuset ? c->cpuset : "-") &&
            !strcmp (or_unset (env_of (pl, "OMP_NUM_THREADS")), c->omp) &&
            !strcmp (or_unset (env_of (pl, "CUDA_VISIBLE_DEVICES")), c->cuda ? c->cuda : "") &&
            (c->rocr ? env_of (pl, "ROCR_VISIBLE_DEVICES") &&
                           !strcmp (env_of (pl, "ROCR_VISIBLE_DEVICES"), c->rocr)
                     : !env_of (pl, "ROCR_VISIBLE_DEVICES")),
        "%s: the task gets cpuset %s, OMP_NUM_THREADS=%s, CUDA=%s, ROCR=%s", c->name,
        pl ? zpar__engine_res_plan_cpuset (pl) : "?", or_unset (env_of (pl, "OMP_NUM_THREADS")),
        or_unset (env_of (pl, "CUDA_VISIBLE_DEVICES")),
        or_unset (env_of (pl, "ROCR_VISIBLE_DEVICES")));
    zpar__engine_res_plan_destroy (pl);
}

static void test_helpers (void)
{
    zpar_error_t err = {""};
    zpar_topo_t *topo = zpar__topo_load (ZPAR_TOPO_XML, datapath ("topo-2pack-4cuda.xml"), 0, &err);
    zpar_bind_params_t p;
    zpar_binding_t *b;
    char buf[64];

    zpar__bind_params_init (&p);
    p.gpus_per_engine = 0;
    b = topo ? zpar__binding_compute (topo, &p, NULL, &err) : NULL;
    ok (b && zpar__binding_cores (topo, b) == 1, "one core (2 PUs) of CUDA4: 1 core");
    ok (b && zpar__binding_gpu_names (b, buf, sizeof (buf)) == 0 && !strcmp (buf, "-"),
        "no GPU: '-'");
    ok (zpar__binding_gpu_names (b, buf, 1) < 0 && errno == ENAMETOOLONG,
        "gpu names in 1 byte: ENAMETOOLONG");
    ok (zpar__binding_cores (NULL, b) < 0 && errno == EINVAL, "cores(NULL topo): EINVAL");
    ok (zpar__binding_gpu_names (NULL, buf, sizeof (buf)) < 0 && errno == EINVAL,
        "gpu names(NULL): EINVAL");
    ok (zpar__binding_export_env (topo, NULL) < 0 && errno == EINVAL, "export(NULL): EINVAL");
    zpar__binding_destroy (b);
    p.gpus_per_engine = 4;
    b = topo ? zpar__binding_compute (topo, &p, NULL, &err) : NULL;
    ok (b && zpar__binding_gpu_names (b, buf, 8) < 0 && errno == ENAMETOOLONG,
        "4 GPU names in 8 bytes: ENAMETOOLONG");
    zpar__binding_destroy (b);
    zpar__topo_destroy (topo);
}

int main (void)
{
    plan (NO_PLAN);
    unsetenv ("ZPAR_ENGINE_MEMORY");
    test_helpers ();
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
        run_case (&cases[i]);
    return done_testing ();
}
