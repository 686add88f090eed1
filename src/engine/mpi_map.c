/* mpi_map.c - the rank map of an MPI task and CPU lists.  See mpi_map.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/mpi_map.h"

/* A decimal number at *p (no sign), below limit; advances *p. */
static int read_num (const char **p, unsigned long limit, unsigned long *v)
{
    const char *s = *p;
    unsigned long x = 0;
    if (*s < '0' || *s > '9')
        return -1;
    while (*s >= '0' && *s <= '9') {
        x = x * 10 + (unsigned long)(*s - '0');
        if (x >= limit)
            return -1;
        s++;
    }
    *p = s;
    *v = x;
    return 0;
}

int zpar__mpi_cpulist_parse (const char *s, unsigned **cpus, size_t *n)
{
    unsigned char *seen = NULL;
    unsigned *v = NULL;
    unsigned long hi_all = 0;
    size_t k = 0;
    const char *p;

    *cpus = NULL;
    *n = 0;
    if (!s || !*s) {
        errno = EINVAL;
        return -1;
    }
    if (strcmp (s, "-") == 0)
        return 0;
    if (!(seen = calloc (ZPAR_MPI_CPU_MAX / 8, 1)))
        return -1;
    for (p = s;;) {
        unsigned long lo, hi;
        if (read_num (&p, ZPAR_MPI_CPU_MAX, &lo) < 0)
            goto bad;
        hi = lo;
        if (*p == '-') {
            p++;
            if (read_num (&p, ZPAR_MPI_CPU_MAX, &hi) < 0 || hi < lo)
                goto bad;
        }
        for (unsigned long c = lo; c <= hi; c++) {
            if (!(seen[c / 8] & (1u << (c % 8))))
                k++;
            seen[c / 8] |= (unsigned char)(1u << (c % 8));
        }
        if (hi > hi_all)
            hi_all = hi;
        if (*p == '\0')
            break;
        if (*p != ',')
            goto bad;
        p++;
    }
    if (!(v = malloc (k * sizeof (*v)))) {
        free (seen);
        return -1;
    }
    k = 0;
    for (unsigned long c = 0; c <= hi_all; c++)
        if (seen[c / 8] & (1u << (c % 8)))
            v[k++] = (unsigned)c;
    free (seen);
    *cpus = v;
    *n = k;
    return 0;
bad:
    free (seen);
    errno = EINVAL;
    return -1;
}

int zpar__mpi_cpulist_format (const unsigned *cpus, size_t n, char *buf, size_t size)
{
    size_t len = 0;
    if (n == 0) {
        if (size < 2) {
            errno = ENOSPC;
            return -1;
        }
        memcpy (buf, "-", 2);
        return 1;
    }
    if (size)
        buf[0] = '\0';
    for (size_t i = 0; i < n;) {
        size_t j = i;
        int w;
        while (j + 1 < n && cpus[j + 1] == cpus[j] + 1)
            j++;
        if (j > i)
            w = snprintf (buf + len, size - len, "%s%u-%u", i ? "," : "", cpus[i], cpus[j]);
        else
            w = snprintf (buf + len, size - len, "%s%u", i ? "," : "", cpus[i]);
        if (w < 0 || (size_t)w >= size - len) {
            errno = ENOSPC;
            return -1;
        }
        len += (size_t)w;
        i = j + 1;
    }
    return (int)len;
}

int zpar__mpi_map_entry (char *map, size_t rank, zpar_mpi_entry_t *e)
{
    char *p = map, *end, *f[4];
    unsigned long eng;
    const char *q;

    for (size_t i = 0; i < rank; i++) {
        if (!(p = strchr (p, ';'))) {
            errno = ENOENT;
            return -1;
        }
        p++;
    }
    if (!*p) {
        errno = ENOENT;
        return -1;
    }
    if ((end = strchr (p, ';')))
        *end = '\0';
    for (int i = 0; i < 4; i++) {
        f[i] = p;
        if (i < 3) {
            if (!(p = strchr (p, ' ')))
                goto bad;
            *p++ = '\0';
        }
    }
    if (strchr (f[3], ' '))
        goto bad;
    q = f[0];
    if (read_num (&q, 1ul << 32, &eng) < 0 || *q || eng == 0)
        goto bad;
    for (int i = 1; i < 4; i++)
        if (!*f[i])
            goto bad;
    e->engine = (uint32_t)eng;
    e->host = f[1];
    e->cpuset = f[2];
    e->gpus = f[3];
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

int zpar__mpi_gpus_of_kind (const char *gpus, const char *kind, char *buf, size_t size)
{
    size_t klen = strlen (kind), len = 0;
    const char *p = gpus;

    if (size == 0) {
        errno = ENOSPC;
        return -1;
    }
    buf[0] = '\0';
    if (strcmp (gpus, "-") == 0)
        return 0;
    for (;;) {
        const char *colon = strchr (p, ':');
        unsigned long idx;
        const char *q;
        if (!colon || colon == p)
            goto bad;
        q = colon + 1;
        if (read_num (&q, 1ul << 20, &idx) < 0 || (*q && *q != ','))
            goto bad;
        if ((size_t)(colon - p) == klen && strncmp (p, kind, klen) == 0) {
            int w = snprintf (buf + len, size - len, "%s%lu", len ? "," : "", idx);
            if (w < 0 || (size_t)w >= size - len) {
                errno = ENOSPC;
                return -1;
            }
            len += (size_t)w;
        }
        if (!*q)
            break;
        p = q + 1;
    }
    return (int)len;
bad:
    buf[0] = '\0';
    errno = EINVAL;
    return -1;
}

int zpar__mpi_same_host (const char *a, const char *b)
{
    size_t la, lb;
    if (strcmp (a, b) == 0)
        return 1;
    la = strcspn (a, ".");
    lb = strcspn (b, ".");
    if ((a[la] != '\0') == (b[lb] != '\0'))
        return 0; /* both or neither have a domain, and they differ */
    return la == lb && strncmp (a, b, la) == 0;
}
