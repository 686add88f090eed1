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

enum { SF_ID = 0, SF_HOST, SF_CPUSET, SF_GPUS, SF_MEM, NSF };

typedef struct {
    const char *f[NSF];
    size_t l[NSF];
} slot_t;

/* Split and check one slot.  0, or -1 EINVAL with *why. */
static int slot_parse (const char *s, slot_t *sl, const char **why)
{
    const char *p = s;
    uint64_t v;
    size_t pos;
    bits_t b = {NULL, 0};

    for (int i = 0; i < NSF; i++) {
        size_t n = strcspn (p, " ");
        if (n == 0) {
            *why = i == 0 ? "empty" : "want 5 fields separated by single spaces";
            goto bad;
        }
        sl->f[i] = p;
        sl->l[i] = n;
        p += n;
        if (i < NSF - 1) {
            if (*p != ' ') {
                *why = "want 5 fields: ENGINE_ID HOST CPUSET GPUS MEMBYTES";
                goto bad;
            }
            p++;
        }
    }
    if (*p) {
        *why = "more than 5 fields";
        goto bad;
    }
    pos = 0;
    if (zpar__res_parse_uint (sl->f[SF_ID], sl->l[SF_ID], &pos, UINT32_MAX, &v) < 0 ||
        pos != sl->l[SF_ID]) {
        *why = "ENGINE_ID is not a number";
        goto bad;
    }
    pos = 0;
    if (zpar__res_parse_uint (sl->f[SF_MEM], sl->l[SF_MEM], &pos, UINT64_MAX, &v) < 0 ||
        pos != sl->l[SF_MEM]) {
        *why = "MEMBYTES is not a number";
        goto bad;
    }
    if (!(sl->l[SF_CPUSET] == 1 && sl->f[SF_CPUSET][0] == '-') &&
        zpar__res_cpulist_parse (sl->f[SF_CPUSET], sl->l[SF_CPUSET], &b) < 0) {
        int e = errno;
        free (b.w);
        if (e == ENOMEM)
            return -1;
        *why = "CPUSET is not a CPU list like 0-3,8 or -";
        goto bad;
    }
    free (b.w);
    if (!(sl->l[SF_GPUS] == 1 && sl->f[SF_GPUS][0] == '-') &&
        zpar__res_gpulist_parse (sl->f[SF_GPUS], sl->l[SF_GPUS], NULL) < 0) {
        *why = "GPUS is not a list like cuda:0,rocm:1 or -";
        goto bad;
    }
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

static int same_field (const slot_t *a, const slot_t *b, int i)
{
    return a->l[i] == b->l[i] && memcmp (a->f[i], b->f[i], a->l[i]) == 0;
}

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
    slot_t *sl = NULL;
    bits_t u = {NULL, 0};
    char gl[ZPAR_RES_NKINDS][ZPAR_RES_GPUS_MAX];
    char num[32], *joined = NULL;
    size_t ntask = 0, jlen = 0, nvars;
    unsigned ppc = 1, bound = 0, local = 0;
    const char *why = NULL;

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
        if (slot_parse (slots[i], &sl[i], &why) < 0) {
            if (errno == ENOMEM)
                goto nomem;
            zpar__errnoprintf (err, EINVAL, "bad resource slot '%s': %s", slots[i], why);
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
        const slot_t *s = &sl[i];
        size_t one_len = strlen (slots[i]);
        if (i)
            joined[jlen++] = ';';
        memcpy (joined + jlen, slots[i], one_len + 1);
        jlen += one_len;
        if (!same_field (s, &sl[0], SF_HOST))
            continue;
        local++;
        if (s->l[SF_CPUSET] == 1 && s->f[SF_CPUSET][0] == '-') {
            pl->cores++;
        } else {
            bits_t one = {NULL, 0};
            unsigned c;
            if (zpar__res_cpulist_parse (s->f[SF_CPUSET], s->l[SF_CPUSET], &one) < 0 ||
                zpar__res_cpulist_parse (s->f[SF_CPUSET], s->l[SF_CPUSET], &u) < 0) {
                free (one.w);
                goto nomem; /* parsed once already: only ENOMEM is left */
            }
            c = zpar__res_bits_count (&one) / ppc;
            pl->cores += c ? c : 1;
            free (one.w);
            bound++;
        }
        if (!(s->l[SF_GPUS] == 1 && s->f[SF_GPUS][0] == '-') &&
            zpar__res_gpulist_parse (s->f[SF_GPUS], s->l[SF_GPUS], gl) < 0) {
            zpar__errnoprintf (err, errno, "the GPUs of the task's slots make too long a list");
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
