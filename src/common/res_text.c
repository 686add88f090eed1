/* res_text.c - resources per task from text (zpar_resources_set in
 * libzpar; the sweep, in libzpar_core, calls zpar__resources_set). */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "proto_task.h"
#include "zpar.h"

/* A whole number in [0, max]: 0 / -1. */
static int whole (const char *s, uint64_t max, uint64_t *v)
{
    char *end;
    unsigned long long n;
    if (!s || !(*s >= '0' && *s <= '9'))
        return -1;
    errno = 0;
    n = strtoull (s, &end, 10);
    if (errno || *end || n > max)
        return -1;
    *v = n;
    return 0;
}

/* A SIZE: digits, then K/M/G/T (optionally "i" and/or "B"), or "B". */
static int size (const char *s, uint64_t *v)
{
    static const char units[] = "KMGT";
    char *end;
    unsigned long long n;
    unsigned shift = 0;
    if (!s || !(*s >= '0' && *s <= '9'))
        return -1;
    errno = 0;
    n = strtoull (s, &end, 10);
    if (errno)
        return -1;
    if (*end) {
        const char *u = strchr (units, end[0] >= 'a' ? end[0] - 32 : end[0]);
        if (u && end[0] != '\0') {
            shift = 10 * (unsigned)(u - units + 1);
            end++;
            if (*end == 'i' || *end == 'I')
                end++;
        }
        if (*end == 'b' || *end == 'B')
            end++;
        if (*end)
            return -1;
    }
    if (shift && n > (UINT64_MAX >> shift))
        return -1;
    *v = (uint64_t)n << shift;
    return 0;
}

int zpar__resources_set (zpar_resources_t *r, const char *key, const char *value, zpar_error_t *err)
{
    static const struct {
        const char *name;
        uint64_t max;
        size_t off;
    } keys[] = {
        {"cores", ZPAR_RES_MAX_CORES, offsetof (zpar_resources_t, cores)},
        {"gpus", ZPAR_RES_MAX_GPUS, offsetof (zpar_resources_t, gpus)},
        {"ranks", ZPAR_RES_MAX_RANKS, offsetof (zpar_resources_t, ranks)},
        {"nodes", ZPAR_RES_MAX_NODES, offsetof (zpar_resources_t, nodes)},
        {"ranks-per-node", ZPAR_RES_MAX_RANKS, offsetof (zpar_resources_t, ranks_per_node)},
        {"ranks_per_node", ZPAR_RES_MAX_RANKS, offsetof (zpar_resources_t, ranks_per_node)},
    };
    uint64_t v;
    if (!r || !key || !value)
        return zpar__errnoprintf (err, EINVAL, "no resources, key or value");
    if (!strcmp (key, "memory")) {
        if (size (value, &v) < 0)
            return zpar__errnoprintf (err, EINVAL,
                                      "memory: '%s' is not a size (bytes, or a number with K, M, "
                                      "G or T)",
                                      value);
        r->memory = v;
        return 0;
    }
    for (size_t i = 0; i < sizeof (keys) / sizeof (keys[0]); i++) {
        if (strcmp (key, keys[i].name))
            continue;
        if (whole (value, keys[i].max, &v) < 0)
            return zpar__errnoprintf (err, EINVAL, "%s: '%s' is not a whole number from 0 to %llu",
                                      key, value, (unsigned long long)keys[i].max);
        *(unsigned *)((char *)r + keys[i].off) = (unsigned)v;
        return 0;
    }
    return zpar__errnoprintf (err, EINVAL, "unknown resource '%s'", key);
}
