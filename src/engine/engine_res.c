/* engine_res.c - an engine's resources: the probe it reports when it
 * registers, and the plan a task's process gets from its slots.  The
 * contract is engine_res.h; doc/engine.md ("Resources per task"). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>

#include "engine_res_int.h"
#include "error.h"
#include "proto_task.h"

/* ------------------------------------------------------------- bitmaps */

int zpar__res_bits_set (bits_t *b, unsigned i)
{
    size_t need = i / 64 + 1;
    if (need > b->nw) {
        uint64_t *w = realloc (b->w, need * sizeof (*w));
        if (!w)
            return -1;
        memset (w + b->nw, 0, (need - b->nw) * sizeof (*w));
        b->w = w;
        b->nw = need;
    }
    b->w[i / 64] |= (uint64_t)1 << (i % 64);
    return 0;
}

int zpar__res_bits_test (const bits_t *b, unsigned i)
{
    return i / 64 < b->nw && (b->w[i / 64] >> (i % 64) & 1);
}

unsigned zpar__res_bits_count (const bits_t *b)
{
    unsigned n = 0;
    for (size_t i = 0; i < b->nw; i++)
        n += (unsigned)__builtin_popcountll (b->w[i]);
    return n;
}

/* b as a list "0-3,8" into buf.  0 or -1 ENAMETOOLONG. */
int zpar__res_bits_list (const bits_t *b, char *buf, size_t size)
{
    size_t len = 0;
    unsigned top = (unsigned)(b->nw * 64);
    buf[0] = '\0';
    for (unsigned i = 0; i < top; i++) {
        unsigned j = i;
        int n;
        if (!zpar__res_bits_test (b, i))
            continue;
        while (j + 1 < top && zpar__res_bits_test (b, j + 1))
            j++;
        if (j == i)
            n = snprintf (buf + len, size - len, "%s%u", len ? "," : "", i);
        else
            n = snprintf (buf + len, size - len, "%s%u-%u", len ? "," : "", i, j);
        if (n < 0 || (size_t)n >= size - len) {
            errno = ENAMETOOLONG;
            return -1;
        }
        len += (size_t)n;
        i = j;
    }
    return 0;
}

/* An unsigned decimal of s[*pos..] (at most max); advances *pos. */
int zpar__res_parse_uint (const char *s, size_t len, size_t *pos, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;
    size_t p = *pos;
    if (p >= len || !isdigit ((unsigned char)s[p]))
        return -1;
    for (; p < len && isdigit ((unsigned char)s[p]); p++) {
        unsigned d = (unsigned)(s[p] - '0');
        if (x > (max - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *pos = p;
    *v = x;
    return 0;
}

/* OR the cpu list s[0..len) ("0-3,8") into b.  0, or -1 with errno EINVAL
 * (syntax, reversed range, CPU above ZPAR_RES_CPU_INDEX_MAX) or ENOMEM. */
int zpar__res_cpulist_parse (const char *s, size_t len, bits_t *b)
{
    size_t p = 0;
    if (len == 0) {
        errno = EINVAL;
        return -1;
    }
    while (p < len) {
        uint64_t lo, hi;
        if (zpar__res_parse_uint (s, len, &p, ZPAR_RES_CPU_INDEX_MAX, &lo) < 0)
            goto bad;
        hi = lo;
        if (p < len && s[p] == '-') {
            p++;
            if (zpar__res_parse_uint (s, len, &p, ZPAR_RES_CPU_INDEX_MAX, &hi) < 0 || hi < lo)
                goto bad;
        }
        for (uint64_t i = lo; i <= hi; i++)
            if (zpar__res_bits_set (b, (unsigned)i) < 0)
                return -1;
        if (p < len && (s[p] != ',' || ++p == len))
            goto bad;
    }
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

/* ---------------------------------------------------------------- GPUs */

const char *const zpar__res_kind_names[ZPAR_RES_NKINDS] = {"cuda", "rocm"};
const char *const zpar__res_kind_env[ZPAR_RES_NKINDS] = {"CUDA_VISIBLE_DEVICES",
                                                         "ROCR_VISIBLE_DEVICES"};

/* Check a GPU list s[0..len) ("cuda:0,rocm:1"); with lists non-NULL,
 * append each device number not yet there to lists[kind] ("0,2"), each
 * of size bytes.  0, or -1 EINVAL (syntax) / ENAMETOOLONG. */
int zpar__res_gpulist_parse (const char *s, size_t len, char (*lists)[ZPAR_RES_GPUS_MAX])
{
    size_t p = 0;
    if (len == 0)
        goto bad;
    while (p < len) {
        int kind = -1;
        uint64_t n;
        for (int k = 0; k < ZPAR_RES_NKINDS; k++) {
            size_t kl = strlen (zpar__res_kind_names[k]);
            if (len - p > kl && strncmp (s + p, zpar__res_kind_names[k], kl) == 0 &&
                s[p + kl] == ':') {
                kind = k;
                p += kl + 1;
                break;
            }
        }
        if (kind < 0 || zpar__res_parse_uint (s, len, &p, INT_MAX, &n) < 0)
            goto bad;
        if (p < len && (s[p] != ',' || ++p == len))
            goto bad;
        if (lists) {
            char *l = lists[kind], num[24];
            size_t ll = strlen (l), nl;
            int seen = 0;
            nl = (size_t)snprintf (num, sizeof (num), "%" PRIu64, n);
            for (const char *q = l; *q && !seen; q += strcspn (q, ","), q += *q == ',')
                seen = strncmp (q, num, nl) == 0 && (q[nl] == ',' || q[nl] == '\0');
            if (seen)
                continue;
            if (ll + nl + 2 > ZPAR_RES_GPUS_MAX) {
                errno = ENAMETOOLONG;
                return -1;
            }
            snprintf (l + ll, ZPAR_RES_GPUS_MAX - ll, "%s%s", ll ? "," : "", num);
        }
    }
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

/* --------------------------------------------------------------- probe */

/* The limit of cgroup file `file` for our cgroup `path` and each of its
 * ancestors under root: the smallest; UINT64_MAX when none is set. */
static uint64_t cgroup_limit (const char *root, const char *path, const char *file)
{
    char p[PATH_MAX], dir[PATH_MAX];
    uint64_t best = UINT64_MAX;

    snprintf (dir, sizeof (dir), "%s", path);
    for (;;) {
        FILE *f;
        char line[64];
        char *slash;
        snprintf (p, sizeof (p), "%s%s/%s", root, strcmp (dir, "/") ? dir : "", file);
        if ((f = fopen (p, "re"))) {
            uint64_t v;
            if (fgets (line, sizeof (line), f) && strncmp (line, "max", 3) != 0 &&
                sscanf (line, "%" SCNu64, &v) == 1 && v < best)
                best = v;
            fclose (f);
        }
        if (!(slash = strrchr (dir, '/')) || slash == dir) {
            if (strcmp (dir, "/") == 0)
                break;
            snprintf (dir, sizeof (dir), "/");
            continue;
        }
        *slash = '\0';
    }
    return best;
}

/* 1 when the comma list of controllers `list` names `name`. */
static int has_controller (const char *list, const char *name)
{
    size_t nl = strlen (name);
    for (const char *p = list; *p; p += strcspn (p, ","), p += *p == ',')
        if (strncmp (p, name, nl) == 0 && (p[nl] == ',' || p[nl] == '\0'))
            return 1;
    return 0;
}

uint64_t zpar__res_cgroup_memory (const char *proc_cgroup, const char *sysfs)
{
    uint64_t best = UINT64_MAX;
    char line[PATH_MAX + 64], root[PATH_MAX];
    FILE *f;

    if (!(f = fopen (proc_cgroup, "re")))
        return best;
    while (fgets (line, sizeof (line), f)) {
        char *path, *ctl = strchr (line, ':');
        uint64_t lim = UINT64_MAX;
        if (!ctl || !(path = strchr (ctl + 1, ':')))
            continue;
        *path++ = '\0';
        path[strcspn (path, "\n")] = '\0';
        if (ctl[1] == '\0' && strncmp (line, "0:", 2) == 0) {
            lim = cgroup_limit (sysfs, path, "memory.max");
        } else if (has_controller (ctl + 1, "memory")) {
            snprintf (root, sizeof (root), "%s/memory", sysfs);
            lim = cgroup_limit (root, path, "memory.limit_in_bytes");
        }
        if (lim < best)
            best = lim;
    }
    fclose (f);
    return best;
}

/* The node's memory as this process may use it: MemTotal, capped by the
 * memory cgroup.  0: unknown. */
static uint64_t node_memory (void)
{
    struct sysinfo si;
    uint64_t total = 0, lim;

    if (sysinfo (&si) == 0)
        total = (uint64_t)si.totalram * (si.mem_unit ? si.mem_unit : 1);
    lim = zpar__res_cgroup_memory ("/proc/self/cgroup", "/sys/fs/cgroup");
    if (lim == UINT64_MAX)
        return total;
    return total == 0 || lim < total ? lim : total;
}

/* MiB in environment variable name (Slurm's unit), 0: absent or not a
 * number */
static uint64_t env_mib (const char *name)
{
    const char *v = getenv (name);
    uint64_t n;
    size_t p = 0;
    if (!v || !*v || zpar__res_parse_uint (v, strlen (v), &p, UINT64_MAX >> 21, &n) < 0 || v[p])
        return 0;
    return n << 20;
}

uint64_t zpar__res_slurm_memory (void)
{
    uint64_t node = env_mib ("SLURM_MEM_PER_NODE"), cpu = env_mib ("SLURM_MEM_PER_CPU");
    const char *cpus = getenv ("SLURM_CPUS_ON_NODE");
    uint64_t n;
    size_t p = 0;
    if (node)
        return node;
    if (cpu && cpus && *cpus && zpar__res_parse_uint (cpus, strlen (cpus), &p, 1u << 24, &n) == 0 &&
        !cpus[p] && n)
        return n > UINT64_MAX / cpu ? UINT64_MAX : cpu * n; /* (no wrap to a small amount) */
    return 0;
}

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static zpar_engine_res_t probed;
static int have_probed;

static int probe_env (zpar_engine_res_t *r, zpar_error_t *err)
{
    const char *cs = getenv ("ZPAR_ENGINE_CPUSET");
    const char *co = getenv ("ZPAR_ENGINE_CORES");
    const char *gp = getenv ("ZPAR_ENGINE_GPUS");
    const char *ls = getenv ("ZPAR_ENGINE_LOCAL_SIZE");
    const char *me = getenv ("ZPAR_ENGINE_MEMORY");
    bits_t b = {NULL, 0};
    uint64_t v;
    size_t p = 0;

    memset (r, 0, sizeof (*r));
    snprintf (r->cpuset, sizeof (r->cpuset), "-");
    snprintf (r->gpus, sizeof (r->gpus), "-");
    r->cores = 1;
    if (cs && *cs && strcmp (cs, "-") != 0) {
        if (zpar__res_cpulist_parse (cs, strlen (cs), &b) < 0) {
            free (b.w);
            return zpar__errnoprintf (err, errno,
                                      "ZPAR_ENGINE_CPUSET='%s': want a CPU list like 0-3,8", cs);
        }
        r->cpus = r->cores = zpar__res_bits_count (&b);
        if (zpar__res_bits_list (&b, r->cpuset, sizeof (r->cpuset)) < 0) {
            free (b.w);
            return zpar__errnoprintf (err, ENAMETOOLONG, "ZPAR_ENGINE_CPUSET is too long");
        }
        free (b.w);
    }
    if (co && *co) {
        if (zpar__res_parse_uint (co, strlen (co), &p, 1u << 20, &v) < 0 || co[p] || v == 0)
            return zpar__errnoprintf (err, EINVAL,
                                      "ZPAR_ENGINE_CORES='%s': want a positive integer", co);
        if (r->cpus && v > r->cpus)
            return zpar__errnoprintf (err, EINVAL,
                                      "ZPAR_ENGINE_CORES=%s but ZPAR_ENGINE_CPUSET %s has %u CPU%s",
                                      co, r->cpuset, r->cpus, r->cpus == 1 ? "" : "s");
        r->cores = (unsigned)v;
    }
    if (gp && *gp && strcmp (gp, "-") != 0) {
        if (zpar__res_gpulist_parse (gp, strlen (gp), NULL) < 0)
            return zpar__errnoprintf (err, EINVAL,
                                      "ZPAR_ENGINE_GPUS='%s': want a list like cuda:0,cuda:1", gp);
        if (strlen (gp) >= sizeof (r->gpus))
            return zpar__errnoprintf (err, ENAMETOOLONG, "ZPAR_ENGINE_GPUS is too long");
        snprintf (r->gpus, sizeof (r->gpus), "%s", gp);
    }
    if (ls && *ls) {
        p = 0;
        if (zpar__res_parse_uint (ls, strlen (ls), &p, 1u << 24, &v) < 0 || ls[p] || v == 0)
            return zpar__errnoprintf (err, EINVAL,
                                      "ZPAR_ENGINE_LOCAL_SIZE='%s': want a positive integer", ls);
        r->local_size = (unsigned)v;
    }
    /* the node's memory: the machine's, capped by the memory cgroup and the
     * Slurm job's memory on this node */
    r->node_mem = node_memory ();
    v = zpar__res_slurm_memory ();
    if (v && (!r->node_mem || v < r->node_mem))
        r->node_mem = v;
    if (me && *me) {
        zpar_resources_t rr;
        memset (&rr, 0, sizeof (rr));
        if (zpar__resources_set (&rr, "memory", me, NULL) < 0) /* a task's memory: syntax */
            return zpar__errnoprintf (err, EINVAL, "ZPAR_ENGINE_MEMORY='%s': want bytes, e.g. 4G",
                                      me);
        r->mem_share = rr.memory;
    } else {
        r->mem_share = r->node_mem;
        if (r->local_size > 1)
            r->mem_share /= r->local_size;
    }
    return 0;
}

int zpar__engine_res_probe (zpar_engine_res_t *res, zpar_error_t *err)
{
    zpar_engine_res_t r;
    int rc = 0;

    if (!res)
        return zpar__errnoprintf (err, EINVAL, "invalid arguments to resource probe");
    pthread_mutex_lock (&probe_lock);
    if (!have_probed) {
        if ((rc = probe_env (&r, err)) == 0) {
            probed = r;
            have_probed = 1;
        }
    }
    if (rc == 0)
        *res = probed;
    pthread_mutex_unlock (&probe_lock);
    return rc;
}

void zpar__engine_res_reset (void)
{
    pthread_mutex_lock (&probe_lock);
    have_probed = 0;
    pthread_mutex_unlock (&probe_lock);
}

int zpar__engine_res_slot (const zpar_engine_res_t *res, uint32_t engine, const char *host,
                           char *buf, size_t size)
{
    int n;
    if (!res || !host || !*host || strchr (host, ' ') || !buf || size == 0) {
        errno = EINVAL;
        return -1;
    }
    n = snprintf (buf, size, "%" PRIu32 " %s %s %s %" PRIu64, engine, host, res->cpuset, res->gpus,
                  res->mem_share);
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}
