/* mpi_layout.c - where the ranks of an MPI task go on its reserved engines.
 * See mpi_launch.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/mpi_launch.h"
#include "engine/mpi_map.h"
#include "error.h"

static int host_ok (const char *h)
{
    if (!h || !*h || strlen (h) > 255)
        return 0;
    for (const char *p = h; *p; p++)
        if (*p <= ' ' || *p == ';' || *p == 0x7f)
            return 0;
    return 1;
}

/* A GPU list: "-" or KIND:N[,KIND:N...] */
static int gpus_ok (const char *g)
{
    char *b;
    int ok;
    if (!g || !*g || strchr (g, ' ') || strchr (g, ';') || !(b = malloc (strlen (g) + 1)))
        return 0;
    ok = zpar__mpi_gpus_of_kind (g, "cuda", b, strlen (g) + 1) >= 0;
    free (b);
    return ok;
}

/* The items of a comma list (a copy, split in place); *n items. */
static char **split_list (const char *s, size_t *n)
{
    size_t k = 1, i = 0;
    char *c, **v, *p;
    for (const char *q = s; *q; q++)
        k += *q == ',';
    if (!(v = malloc (k * sizeof (*v) + strlen (s) + 1)))
        return NULL;
    c = (char *)(v + k);
    strcpy (c, s);
    for (p = c;; p++) {
        char *e = strchr (p, ',');
        v[i++] = p;
        if (!e)
            break;
        *e = '\0';
        p = e;
    }
    *n = k;
    return v;
}

/* items [from, to) of list joined with commas, or "-" */
static char *join_items (char **items, size_t from, size_t to)
{
    size_t len = 2;
    char *s;
    for (size_t i = from; i < to; i++)
        len += strlen (items[i]) + 1;
    if (!(s = malloc (len)))
        return NULL;
    s[0] = '\0';
    for (size_t i = from; i < to; i++) {
        if (i > from)
            strcat (s, ",");
        strcat (s, items[i]);
    }
    if (!*s)
        strcpy (s, "-");
    return s;
}

static char *cpus_string (const unsigned *cpus, size_t n)
{
    size_t size = n * 12 + 2;
    char *s = malloc (size);
    if (s && zpar__mpi_cpulist_format (cpus, n, s, size) < 0) {
        free (s);
        s = NULL;
    }
    return s;
}

/* Rank i of a slot shared by m ranks: its share of the slot's CPU list
 * (a slice when they divide evenly, else all of it). */
static char *cpus_share (const char *cpuset, unsigned m, unsigned i)
{
    unsigned *cpus = NULL;
    size_t n = 0;
    char *s;
    if (strcmp (cpuset, "-") == 0 || m == 1)
        return strdup (cpuset);
    if (zpar__mpi_cpulist_parse (cpuset, &cpus, &n) < 0)
        return NULL;
    if (n % m == 0)
        s = cpus_string (cpus + (n / m) * i, n / m);
    else
        s = strdup (cpuset);
    free (cpus);
    return s;
}

static char *gpus_share (const char *gpus, unsigned m, unsigned i)
{
    char **items, *s;
    size_t n;
    if (strcmp (gpus, "-") == 0 || m == 1)
        return strdup (gpus);
    if (!(items = split_list (gpus, &n)))
        return NULL;
    if (n % m == 0)
        s = join_items (items, (n / m) * i, (n / m) * (i + 1));
    else
        s = join_items (items, 0, n);
    free (items);
    return s;
}

/* The union of the CPU lists of slots[0..k) ("-" if one is not bound). */
static char *cpus_union (const zpar_mpi_slot_t *slots, size_t k)
{
    unsigned *all = NULL, *cpus;
    size_t nall = 0, n;
    char *s;
    for (size_t i = 0; i < k; i++)
        if (strcmp (slots[i].cpuset, "-") == 0)
            return strdup ("-");
    for (size_t i = 0; i < k; i++) {
        unsigned *grown;
        if (zpar__mpi_cpulist_parse (slots[i].cpuset, &cpus, &n) < 0)
            goto fail;
        if (!(grown = realloc (all, (nall + n + 1) * sizeof (*all)))) {
            free (cpus);
            goto fail;
        }
        all = grown;
        memcpy (all + nall, cpus, n * sizeof (*cpus));
        nall += n;
        free (cpus);
    }
    /* sort and drop duplicates (small lists: insertion sort) */
    for (size_t i = 1; i < nall; i++)
        for (size_t j = i; j > 0 && all[j - 1] > all[j]; j--) {
            unsigned t = all[j];
            all[j] = all[j - 1];
            all[j - 1] = t;
        }
    n = 0;
    for (size_t i = 0; i < nall; i++)
        if (n == 0 || all[n - 1] != all[i])
            all[n++] = all[i];
    s = cpus_string (all, n);
    free (all);
    return s;
fail:
    free (all);
    return NULL;
}

static char *gpus_union (const zpar_mpi_slot_t *slots, size_t k)
{
    size_t len = 2;
    char *s;
    for (size_t i = 0; i < k; i++)
        len += strlen (slots[i].gpus) + 1;
    if (!(s = malloc (len)))
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        if (strcmp (slots[i].gpus, "-") == 0)
            continue;
        if (*s)
            strcat (s, ",");
        strcat (s, slots[i].gpus);
    }
    if (!*s)
        strcpy (s, "-");
    return s;
}

void zpar__mpi_layout_free (zpar_mpi_rank_t *r, unsigned ranks)
{
    int e = errno;
    if (!r)
        return;
    for (unsigned i = 0; i < ranks; i++) {
        free (r[i].host);
        free (r[i].cpuset);
        free (r[i].gpus);
    }
    free (r);
    errno = e;
}

/* Number the ranks host by host, in the order the hosts first appear. */
static int group_by_host (zpar_mpi_rank_t *r, unsigned ranks)
{
    zpar_mpi_rank_t *g = malloc (ranks * sizeof (*g));
    unsigned char *taken = calloc (ranks, 1);
    unsigned k = 0;
    if (!g || !taken) {
        free (g);
        free (taken);
        return -1;
    }
    for (unsigned i = 0; i < ranks; i++) {
        if (taken[i])
            continue;
        for (unsigned j = i; j < ranks; j++)
            if (!taken[j] && zpar__mpi_same_host (r[i].host, r[j].host)) {
                g[k++] = r[j];
                taken[j] = 1;
            }
    }
    memcpy (r, g, ranks * sizeof (*g));
    free (g);
    free (taken);
    return 0;
}

int zpar__mpi_layout (const zpar_mpi_slot_t *slots, size_t nslots, unsigned ranks, int grouped,
                      zpar_mpi_rank_t **out, zpar_error_t *err)
{
    zpar_mpi_rank_t *r;

    *out = NULL;
    if (!slots || nslots == 0)
        return zpar__errnoprintf (err, EINVAL, "an MPI task without reserved engines (no SLOT)");
    if (ranks == 0)
        return zpar__errnoprintf (err, EINVAL, "an MPI task with 0 ranks");
    for (size_t i = 0; i < nslots; i++) {
        unsigned *cpus;
        size_t n;
        if (!host_ok (slots[i].host))
            return zpar__errnoprintf (err, EINVAL, "slot %zu: bad host name", i);
        if (!slots[i].cpuset || zpar__mpi_cpulist_parse (slots[i].cpuset, &cpus, &n) < 0)
            return zpar__errnoprintf (err, EINVAL, "slot %zu: bad CPU list '%s'", i,
                                      slots[i].cpuset ? slots[i].cpuset : "(null)");
        free (cpus);
        if (!gpus_ok (slots[i].gpus))
            return zpar__errnoprintf (err, EINVAL, "slot %zu: bad GPU list '%s'", i,
                                      slots[i].gpus ? slots[i].gpus : "(null)");
    }
    if (nslots % ranks != 0 && ranks % nslots != 0)
        return zpar__errnoprintf (err, EINVAL,
                                  "%u ranks cannot be spread over %zu engines (each rank "
                                  "needs the same number of engines, or each engine the "
                                  "same number of ranks)",
                                  ranks, nslots);
    if (!(r = calloc (ranks, sizeof (*r))))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    if (nslots >= ranks) {
        size_t k = nslots / ranks;
        for (unsigned i = 0; i < ranks; i++) {
            const zpar_mpi_slot_t *s = slots + (size_t)i * k;
            for (size_t j = 1; j < k; j++)
                if (!zpar__mpi_same_host (s[0].host, s[j].host)) {
                    zpar__mpi_layout_free (r, ranks);
                    return zpar__errnoprintf (err, EINVAL,
                                              "rank %u holds engines on two hosts (%s and %s)", i,
                                              s[0].host, s[j].host);
                }
            r[i].engine = s[0].engine;
            r[i].host = strdup (s[0].host);
            r[i].cpuset = cpus_union (s, k);
            r[i].gpus = gpus_union (s, k);
        }
    } else {
        unsigned m = ranks / (unsigned)nslots;
        for (unsigned i = 0; i < ranks; i++) {
            const zpar_mpi_slot_t *s = slots + i / m;
            r[i].engine = s->engine;
            r[i].host = strdup (s->host);
            r[i].cpuset = cpus_share (s->cpuset, m, i % m);
            r[i].gpus = gpus_share (s->gpus, m, i % m);
        }
    }
    for (unsigned i = 0; i < ranks; i++)
        if (!r[i].host || !r[i].cpuset || !r[i].gpus) {
            zpar__mpi_layout_free (r, ranks);
            return zpar__errnoprintf (err, ENOMEM, "out of memory");
        }
    if (grouped && group_by_host (r, ranks) < 0) {
        zpar__mpi_layout_free (r, ranks);
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    }
    *out = r;
    return 0;
}
