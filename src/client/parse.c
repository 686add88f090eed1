/* parse.c - engine lists ("1,3-5") and task id lists ("3.1,3.2") from
 * text (zpar_engine_list_parse, zpar_task_id_list_parse). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "zpar.h"

#define MAX_ENGINE (1ul << 24)
#define MAX_RANGE  100000ul

static int cmp_engine (const void *a, const void *b)
{
    uint32_t x = ((const zpar_engine_id_t *)a)->id, y = ((const zpar_engine_id_t *)b)->id;
    return x < y ? -1 : x > y;
}

/* Make room for need elements of size sz in *v (capacity *cap). */
static int grow (void **v, size_t *cap, size_t need, size_t sz)
{
    void *nv;
    size_t ncap = *cap ? *cap : 8;
    if (need <= *cap)
        return 0;
    while (ncap < need)
        ncap *= 2;
    if (!(nv = realloc (*v, ncap * sz)))
        return -1;
    *v = nv;
    *cap = ncap;
    return 0;
}

ZPAR_API int zpar_engine_list_parse (const char *s, zpar_engine_id_t **ids, size_t *n,
                                     zpar_error_t *err)
{
    zpar_engine_id_t *v = NULL;
    size_t cnt = 0, cap = 0, out;
    const char *p = s;

    if (!ids || !n)
        return zpar__errnoprintf (err, EINVAL, "no place for the engine list");
    if (!s || !*s)
        return zpar__errnoprintf (err, EINVAL, "empty engine list: give ids like 1,3-5");
    while (*p) {
        unsigned long a, b;
        char *end;
        if (!isdigit ((unsigned char)*p))
            goto bad;
        errno = 0;
        a = b = strtoul (p, &end, 10);
        if (*end == '-') {
            p = end + 1;
            if (!isdigit ((unsigned char)*p))
                goto bad;
            b = strtoul (p, &end, 10);
        }
        if (errno || a == 0 || b < a || b > MAX_ENGINE || b - a > MAX_RANGE)
            goto bad;
        if (grow ((void **)&v, &cap, cnt + (b - a) + 1, sizeof (*v)) < 0) {
            free (v);
            return zpar__errnoprintf (err, ENOMEM, "out of memory");
        }
        for (unsigned long i = a; i <= b; i++)
            v[cnt++].id = (uint32_t)i;
        p = end;
        if (*p == ',') {
            if (!*++p)
                goto bad;
        } else if (*p)
            goto bad;
    }
    qsort (v, cnt, sizeof (*v), cmp_engine);
    out = 0;
    for (size_t i = 0; i < cnt; i++)
        if (out == 0 || v[out - 1].id != v[i].id)
            v[out++] = v[i];
    *ids = v;
    *n = out;
    return 0;
bad:
    free (v);
    return zpar__errnoprintf (
        err, EINVAL, "'%s' is not an engine list: use ids from 1 and ranges, like 1,3-5", s);
}

ZPAR_API int zpar_task_id_list_parse (const char *s, zpar_task_id_t **ids, size_t *n,
                                      zpar_error_t *err)
{
    zpar_task_id_t *v;
    size_t cnt, cap;
    char *copy, *save = NULL, *tok;

    if (!ids || !n || (*n && !*ids))
        return zpar__errnoprintf (err, EINVAL, "no place for the task ids");
    if (!s || !*s)
        return zpar__errnoprintf (err, EINVAL, "empty task id: ids look like 3.17");
    if (!(copy = strdup (s)))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    v = *ids;
    cnt = cap = *n;
    for (tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save)) {
        zpar_task_id_t id;
        if (zpar_task_id_parse (tok, &id) < 0) {
            zpar__errnoprintf (err, EINVAL,
                               "'%s' is not a task id: ids look like 3.17 (as printed by "
                               "'zpar submit')",
                               tok);
            goto error;
        }
        if (grow ((void **)&v, &cap, cnt + 1, sizeof (*v)) < 0) {
            zpar__errnoprintf (err, ENOMEM, "out of memory");
            goto error;
        }
        v[cnt++] = id;
    }
    free (copy);
    *ids = v;
    *n = cnt;
    return 0;
error:
    free (copy);
    *ids = v; /* realloc may have moved it; *n (the ids kept) is unchanged */
    return -1;
}
