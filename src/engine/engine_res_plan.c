/* engine_res_plan.c - what a task's process gets from its slots: the
 * plan made in the engine and applied in the child (engine_res.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "engine_res_int.h"
#include "error.h"
#include "proto_task.h"

/* ---------------------------------------------------------------- plan */

struct zpar_res_plan {
    char **env; /* NULL-terminated, each entry malloc'd */
    size_t nenv;
    cpu_set_t *mask; /* NULL: leave the affinity */
    size_t masksize; /* bytes */
    char cpuset[ZPAR_RES_CPUSET_MAX];
    unsigned cores;
    uint64_t memory;
    struct rlimit rl; /* RLIMIT_DATA to set when memory > 0 */
};

/* 1 when the task's ENV sets name. */
static int env_sets (char *const *env, const char *name)
{
    size_t nl = strlen (name);
    for (; env && *env; env++)
        if (strncmp (*env, name, nl) == 0 && (*env)[nl] == '=')
            return 1;
    return 0;
}

/* Append "name=value" unless the task's ENV sets it.  0 or -1 ENOMEM. */
static int plan_env (zpar_res_plan_t *pl, char *const *task_env, const char *name,
                     const char *value)
{
    size_t nl, vl;
    char *e;
    if (env_sets (task_env, name))
        return 0;
    nl = strlen (name);
    vl = strlen (value);
    if (!(e = malloc (nl + vl + 2)))
        return -1;
    memcpy (e, name, nl);
    e[nl] = '=';
    memcpy (e + nl + 1, value, vl + 1);
    pl->env[pl->nenv++] = e;
    return 0;
}

zpar_res_plan_t *zpar__engine_res_plan (const char *const *slots, size_t nslots, uint64_t memory,
                                        char *const *task_env, const zpar_engine_res_t *self,
                                        zpar_error_t *err)
{
    zpar_engine_res_t own;
    zpar_res_plan_t *pl = NULL;
    zpar_proto_slot_t *sl = NULL;
    bits_t u = {NULL, 0};
    char gl[ZPAR_RES_NKINDS][ZPAR_RES_GPUS_MAX];
    char num[32], *joined = NULL;
    size_t ntask = 0, jlen = 0, nvars;
    zpar_error_t perr;
    unsigned ppc = 1, bound = 0, local = 0;

    if (!slots || nslots == 0) {
        zpar__errnoprintf (err, EINVAL, "invalid arguments to resource plan");
        return NULL;
    }
    if (!self) {
        if (zpar__engine_res_probe (&own, err) < 0)
            return NULL;
        self = &own;
    }
    if (self->cpus >= self->cores && self->cores > 0 && self->cpus / self->cores > 1)
        ppc = self->cpus / self->cores;
    if (!(sl = calloc (nslots, sizeof (*sl))))
        goto nomem;
    for (size_t i = 0; i < nslots; i++) {
        if (!slots[i]) {
            zpar__errnoprintf (err, EINVAL, "bad resource slot %zu: missing", i);
            goto error;
        }
        if (zpar__proto_slot_parse (slots[i], &sl[i], &perr) < 0) {
            zpar__errnoprintf (err, EINVAL, "bad resource slot: %s", perr.text);
            goto error;
        }
        jlen += strlen (slots[i]) + 1;
    }
    for (; task_env && task_env[ntask]; ntask++)
        ;
    nvars = 7; /* OMP_NUM_THREADS, 4 ZPAR_TASK_*, 2 *_VISIBLE_DEVICES */
    if (!(pl = calloc (1, sizeof (*pl))) ||
        !(pl->env = calloc (nvars + ntask + 1, sizeof (*pl->env))) || !(joined = malloc (jlen)))
        goto nomem;
    memset (gl, 0, sizeof (gl));
    joined[0] = '\0';
    jlen = 0;
    for (size_t i = 0; i < nslots; i++) {
        const zpar_proto_slot_t *s = &sl[i];
        size_t one_len = strlen (slots[i]);
        if (i)
            joined[jlen++] = ';';
        memcpy (joined + jlen, slots[i], one_len + 1);
        jlen += one_len;
        if (strcmp (s->host, sl[0].host) != 0)
            continue;
        local++;
        if (strcmp (s->cpuset, "-") == 0) {
            pl->cores++;
        } else {
            bits_t one = {NULL, 0};
            unsigned c;
            if (zpar__res_cpulist_parse (s->cpuset, strlen (s->cpuset), &one) < 0 ||
                zpar__res_cpulist_parse (s->cpuset, strlen (s->cpuset), &u) < 0) {
                free (one.w);
                if (errno == ENOMEM)
                    goto nomem;
                zpar__errnoprintf (err, EINVAL,
                                   "bad resource slot: cpuset %s: CPU numbers up to %u", s->cpuset,
                                   ZPAR_RES_CPU_INDEX_MAX);
                goto error;
            }
            c = zpar__res_bits_count (&one) / ppc;
            pl->cores += c ? c : 1;
            free (one.w);
            bound++;
        }
        if (strcmp (s->gpus, "-") != 0 &&
            zpar__res_gpulist_parse (s->gpus, strlen (s->gpus), gl) < 0) {
            if (errno == ENAMETOOLONG)
                zpar__errnoprintf (err, errno, "the GPUs of the task's slots make too long a list");
            else
                zpar__errnoprintf (err, EINVAL, "bad resource slot: GPUs %s: want cuda:N or rocm:N",
                                   s->gpus);
            goto error;
        }
    }
    snprintf (pl->cpuset, sizeof (pl->cpuset), "-");
    if (bound && bound == local) {
        unsigned top = (unsigned)(u.nw * 64);
        if (zpar__res_bits_list (&u, pl->cpuset, sizeof (pl->cpuset)) < 0) {
            zpar__errnoprintf (err, ENAMETOOLONG, "the cpusets of the task's slots are too long");
            goto error;
        }
        pl->masksize = CPU_ALLOC_SIZE (top);
        if (!(pl->mask = CPU_ALLOC (top)))
            goto nomem;
        CPU_ZERO_S (pl->masksize, pl->mask);
        for (unsigned i = 0; i < top; i++)
            if (zpar__res_bits_test (&u, i))
                CPU_SET_S (i, pl->masksize, pl->mask);
    }
    pl->memory = memory;
    if (memory) {
        struct rlimit cur;
        pl->rl.rlim_cur = pl->rl.rlim_max = (rlim_t)memory;
        if (getrlimit (RLIMIT_DATA, &cur) == 0 && cur.rlim_max != RLIM_INFINITY &&
            cur.rlim_max < pl->rl.rlim_max)
            pl->rl.rlim_cur = pl->rl.rlim_max = cur.rlim_max;
    }
    snprintf (num, sizeof (num), "%u", pl->cores);
    if (plan_env (pl, task_env, "OMP_NUM_THREADS", num) < 0 ||
        plan_env (pl, task_env, "ZPAR_TASK_CORES", num) < 0 ||
        plan_env (pl, task_env, "ZPAR_TASK_SLOTS", joined) < 0 ||
        plan_env (pl, task_env, "ZPAR_TASK_CPUSET", pl->cpuset) < 0)
        goto nomem;
    snprintf (num, sizeof (num), "%" PRIu64, memory);
    if (plan_env (pl, task_env, "ZPAR_TASK_MEMORY", num) < 0)
        goto nomem;
    for (int k = 0; k < ZPAR_RES_NKINDS; k++)
        if ((gl[k][0] || getenv (zpar__res_kind_env[k])) &&
            plan_env (pl, task_env, zpar__res_kind_env[k], gl[k]) < 0)
            goto nomem;
    for (size_t i = 0; i < ntask; i++)
        if (!(pl->env[pl->nenv++] = strdup (task_env[i])))
            goto nomem;
    free (u.w);
    free (sl);
    free (joined);
    return pl;
nomem:
    zpar__errnoprintf (err, ENOMEM, "out of memory");
error:
    free (u.w);
    free (sl);
    free (joined);
    zpar__engine_res_plan_destroy (pl);
    return NULL;
}

void zpar__engine_res_plan_destroy (zpar_res_plan_t *pl)
{
    int saved = errno;
    if (pl) {
        for (size_t i = 0; pl->env && i < pl->nenv; i++)
            free (pl->env[i]);
        free (pl->env);
        if (pl->mask)
            CPU_FREE (pl->mask);
        free (pl);
    }
    errno = saved;
}

char *const *zpar__engine_res_plan_env (const zpar_res_plan_t *pl)
{
    return pl ? pl->env : NULL;
}

const char *zpar__engine_res_plan_cpuset (const zpar_res_plan_t *pl)
{
    return pl ? pl->cpuset : "-";
}

unsigned zpar__engine_res_plan_cores (const zpar_res_plan_t *pl)
{
    return pl ? pl->cores : 0;
}

uint64_t zpar__engine_res_plan_memory (const zpar_res_plan_t *pl)
{
    return pl ? pl->memory : 0;
}

/* --------------------------------------------------------------- apply */

int zpar__engine_res_apply_child (const zpar_res_plan_t *pl, zpar_res_stage_t *stage)
{
    if (stage)
        *stage = ZPAR_RES_STAGE_NONE;
    if (!pl)
        return 0;
    if (pl->mask && sched_setaffinity (0, pl->masksize, pl->mask) < 0) {
        if (stage)
            *stage = ZPAR_RES_STAGE_CPUSET;
        return -1;
    }
    if (pl->memory && setrlimit (RLIMIT_DATA, &pl->rl) < 0) {
        if (stage)
            *stage = ZPAR_RES_STAGE_MEMORY;
        return -1;
    }
    return 0;
}
