/* params.c - parameters: their values, and finding a value among them.
 * Spaces of parameters and their lazy point generator: params_space.c. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "params_int.h"

/* Decimal places needed to write text exactly (digits after '.' minus the
 * exponent); -1 when more than 15 or unknown. */
static int decimals (const char *text)
{
    const char *dot = strchr (text, '.');
    const char *e = strpbrk (text, "eE");
    long d = 0;
    if (dot) {
        const char *end = e ? e : dot + strlen (dot);
        d = end - dot - 1;
    }
    if (e)
        d -= strtol (e + 1, NULL, 10);
    if (d < 0)
        d = 0;
    return d > 15 ? -1 : (int)d;
}

/* --- parameters --------------------------------------------------------- */

static zpar_sweep_param_t *param_new (const char *name, kind_t kind)
{
    zpar_sweep_param_t *p = calloc (1, sizeof (*p));
    if (!p)
        return NULL;
    if (!(p->name = strdup (name))) {
        free (p);
        return NULL;
    }
    p->kind = kind;
    return p;
}

void zpar__sweep_param_destroy (zpar_sweep_param_t *p)
{
    if (p) {
        int saved = errno;
        for (uint64_t i = 0; p->kind == KIND_LIST && i < p->count; i++)
            free (p->texts[i]);
        free (p->texts);
        free (p->types);
        free (p->sorted);
        free (p->name);
        free (p);
        errno = saved;
    }
}

zpar_sweep_param_t *zpar__sweep_param_list_create (const char *name)
{
    return param_new (name, KIND_LIST);
}

int zpar__sweep_param_list_append (zpar_sweep_param_t *p, const char *text, zpar_sweep_vtype_t type)
{
    char *copy;
    if (!p || !text || p->kind != KIND_LIST) {
        errno = EINVAL;
        return -1;
    }
    if (p->count == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 8;
        char **nt = realloc (p->texts, ncap * sizeof (*nt));
        if (!nt)
            return -1;
        p->texts = nt;
        zpar_sweep_vtype_t *ny = realloc (p->types, ncap * sizeof (*ny));
        if (!ny)
            return -1;
        p->types = ny;
        p->cap = ncap;
    }
    if (!(copy = strdup (text)))
        return -1;
    free (p->sorted);
    p->sorted = NULL;
    p->texts[p->count] = copy;
    p->types[p->count] = type;
    p->count++;
    return 0;
}

zpar_sweep_param_t *zpar__sweep_param_range_create (const char *name, const char *start,
                                                    const char *stop, const char *step,
                                                    zpar_error_t *err)
{
    const char *texts[3] = {start, stop, step ? step : "1"};
    static const char *what[3] = {"start", "stop", "step"};
    char canon[ZPAR_SWEEP_NUM_MAX];
    zpar_sweep_vtype_t t[3];
    double v[3];
    zpar_sweep_param_t *p = NULL;

    for (int i = 0; i < 3; i++) {
        if (!texts[i] ||
            zpar__sweep_number_parse (texts[i], canon, sizeof (canon), &t[i], &v[i]) < 0) {
            zpar__errnoprintf (err, EINVAL, "range %s '%s' is not a number", what[i],
                               texts[i] ? texts[i] : "");
            return NULL;
        }
    }
    if (v[2] == 0.) {
        zpar__errnoprintf (err, EINVAL, "range step is 0 (it must be non-zero)");
        return NULL;
    }
    if (t[0] == ZPAR_SWEEP_INT && t[1] == ZPAR_SWEEP_INT && t[2] == ZPAR_SWEEP_INT) {
        long long s0 = strtoll (start, NULL, 10), s1 = strtoll (stop, NULL, 10);
        long long st = strtoll (texts[2], NULL, 10);
        __int128 span = (__int128)s1 - s0;
        __int128 n;
        if ((st > 0 && span <= 0) || (st < 0 && span >= 0))
            n = 0;
        else if (st > 0)
            n = (span + st - 1) / st;
        else
            n = (-span + -(__int128)st - 1) / -(__int128)st;
        if (n == 0)
            goto empty;
        if (n > (__int128)ZPAR_SWEEP_POINTS_MAX) {
            zpar__errnoprintf (err, EOVERFLOW, "range has more than 2^62 values");
            return NULL;
        }
        if (!(p = param_new (name, KIND_RANGE_INT)))
            return NULL;
        p->istart = s0;
        p->istep = st;
        p->count = (uint64_t)n;
        return p;
    }
    /* Floats: fixed point when every bound is exact with few decimals. */
    int d = 0, ok = 1;
    for (int i = 0; i < 3; i++) {
        int di = decimals (texts[i]);
        if (di < 0)
            ok = 0;
        else if (di > d)
            d = di;
    }
    if (ok) {
        double scale = pow (10., d);
        double sc[3];
        for (int i = 0; i < 3; i++) {
            sc[i] = nearbyint (v[i] * scale);
            if (fabs (sc[i]) > 9007199254740992. / 4) /* keep i*step exact */
                ok = 0;
        }
        if (ok && sc[2] != 0.) {
            int64_t s0 = (int64_t)sc[0], s1 = (int64_t)sc[1], st = (int64_t)sc[2];
            int64_t span = s1 - s0, n;
            if ((st > 0 && span <= 0) || (st < 0 && span >= 0))
                n = 0;
            else if (st > 0)
                n = (span + st - 1) / st;
            else
                n = (-span - st - 1) / -st;
            if (n == 0)
                goto empty;
            if (!(p = param_new (name, KIND_RANGE_FIXED)))
                return NULL;
            p->istart = s0;
            p->istep = st;
            p->scale = scale;
            p->count = (uint64_t)n;
            return p;
        }
    }
    {
        double q = (v[1] - v[0]) / v[2];
        double n = q > 0 ? ceil (q - 1e-9) : 0;
        if (n <= 0)
            goto empty;
        if (n > (double)ZPAR_SWEEP_POINTS_MAX) {
            zpar__errnoprintf (err, EOVERFLOW, "range has too many values");
            return NULL;
        }
        if (!(p = param_new (name, KIND_RANGE_FLOAT)))
            return NULL;
        p->a = v[0];
        p->step = v[2];
        p->count = (uint64_t)n;
        return p;
    }
empty:
    zpar__errnoprintf (err, EINVAL,
                       "range [%s, %s, %s] is empty (stop is excluded; "
                       "a decreasing range needs a negative step)",
                       start, stop, texts[2]);
    return NULL;
}

static zpar_sweep_param_t *space_create (const char *name, kind_t kind, double a, double b,
                                         int64_t n, zpar_error_t *err)
{
    const char *what = kind == KIND_LINSPACE ? "linspace" : "logspace";
    zpar_sweep_param_t *p;
    if (n < 1) {
        zpar__errnoprintf (err, EINVAL, "%s count %lld must be at least 1", what, (long long)n);
        return NULL;
    }
    if ((uint64_t)n > ZPAR_SWEEP_POINTS_MAX) {
        zpar__errnoprintf (err, EOVERFLOW, "%s count %lld is more than 2^62", what, (long long)n);
        return NULL;
    }
    if (!isfinite (a) || !isfinite (b)) {
        zpar__errnoprintf (err, EINVAL, "%s bounds must be finite numbers", what);
        return NULL;
    }
    if (kind == KIND_LOGSPACE && (fabs (a) > 300 || fabs (b) > 300)) {
        zpar__errnoprintf (err, EINVAL, "logspace exponents must lie within [-300, 300]");
        return NULL;
    }
    if (!(p = param_new (name, kind)))
        return NULL;
    p->a = a;
    p->b = b;
    p->count = (uint64_t)n;
    return p;
}

zpar_sweep_param_t *zpar__sweep_param_linspace_create (const char *name, double a, double b,
                                                       int64_t n, zpar_error_t *err)
{
    return space_create (name, KIND_LINSPACE, a, b, n, err);
}

zpar_sweep_param_t *zpar__sweep_param_logspace_create (const char *name, double a, double b,
                                                       int64_t n, zpar_error_t *err)
{
    return space_create (name, KIND_LOGSPACE, a, b, n, err);
}

const char *zpar__sweep_param_name (const zpar_sweep_param_t *p)
{
    return p ? p->name : NULL;
}

int zpar__sweep_param_is_list (const zpar_sweep_param_t *p)
{
    return p && p->kind == KIND_LIST;
}

uint64_t zpar__sweep_param_count (const zpar_sweep_param_t *p)
{
    return p ? p->count : 0;
}

static double lin (const zpar_sweep_param_t *p, uint64_t i)
{
    double n1 = (double)(p->count - 1);
    if (p->count == 1 || i == 0)
        return p->a;
    if (i == p->count - 1)
        return p->b;
    return (p->a * (n1 - (double)i) + p->b * (double)i) / n1;
}

const char *zpar__sweep_param_value (const zpar_sweep_param_t *p, uint64_t i, char *buf,
                                     size_t size, zpar_sweep_vtype_t *type)
{
    double v;
    if (!p || i >= p->count) {
        errno = ERANGE;
        return NULL;
    }
    switch (p->kind) {
    case KIND_LIST:
        *type = p->types[i];
        return p->texts[i];
    case KIND_RANGE_INT:
        /* start + i * step lies in [start, stop): it fits, the product may
         * not */
        snprintf (buf, size, "%lld", (long long)((__int128)p->istart + (__int128)i * p->istep));
        *type = ZPAR_SWEEP_INT;
        return buf;
    case KIND_RANGE_FIXED:
        v = (double)((__int128)p->istart + (__int128)i * p->istep) / p->scale;
        break;
    case KIND_RANGE_FLOAT:
        v = p->a + (double)i * p->step;
        break;
    case KIND_LINSPACE:
        v = lin (p, i);
        break;
    case KIND_LOGSPACE:
    default:
        v = pow (10., lin (p, i));
        break;
    }
    if (p->kind == KIND_LINSPACE || p->kind == KIND_LOGSPACE) {
        /* interpolation leaves binary noise (2.8499999999999996 for 2.85):
         * 15 significant digits are exact for any decimal a user writes */
        char tmp[64];
        int digits = 0, seen = 0;
        snprintf (tmp, sizeof (tmp), "%.15g", v);
        for (const char *c = tmp; *c && *c != 'e'; c++) {
            if (*c >= '1' && *c <= '9')
                seen = 1;
            if (seen && *c >= '0' && *c <= '9')
                digits++;
        }
        /* short once rounded (2.85): take it; a true fraction (1/3) keeps
         * every digit */
        if (digits <= 12)
            v = strtod (tmp, NULL);
    }
    zpar__sweep_number_format (v, buf, size);
    *type = ZPAR_SWEEP_FLOAT;
    return buf;
}

/* --- finding values ----------------------------------------------------- */

static const zpar_sweep_param_t *sort_param;

static int by_text (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    int c = strcmp (sort_param->texts[x], sort_param->texts[y]);
    return c ? c : (x > y) - (x < y);
}

/* Build p->sorted (a cache: p is logically unchanged). */
static int sort_list (const zpar_sweep_param_t *cp)
{
    zpar_sweep_param_t *p = (zpar_sweep_param_t *)cp;
    if (p->sorted)
        return 0;
    if (!(p->sorted = malloc ((p->count ? p->count : 1) * sizeof (*p->sorted))))
        return -1;
    for (uint64_t i = 0; i < p->count; i++)
        p->sorted[i] = i;
    sort_param = p;
    qsort (p->sorted, p->count, sizeof (*p->sorted), by_text);
    return 0;
}

/* See params_int.h. */
int zpar__sweep_param_find (const zpar_sweep_param_t *p, const char *text, match_t *m)
{
    char buf[ZPAR_SWEEP_NUM_MAX];
    zpar_sweep_vtype_t t;
    double v, x;
    char *end;

    m->n = 0;
    m->list = NULL;
    if (p->kind == KIND_LIST) {
        uint64_t lo = 0, hi = p->count, a, b;
        if (sort_list (p) < 0)
            return -1;
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (strcmp (p->texts[p->sorted[mid]], text) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        a = lo;
        hi = p->count;
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (strcmp (p->texts[p->sorted[mid]], text) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        b = lo;
        m->list = p->sorted + a;
        m->n = b - a;
        return 0;
    }
    if (p->count <= 16) {
        for (uint64_t i = 0; i < p->count; i++)
            if (strcmp (zpar__sweep_param_value (p, i, buf, sizeof (buf), &t), text) == 0)
                m->few[m->n++] = i;
        return 0;
    }
    if (p->kind == KIND_RANGE_INT) {
        long long ll;
        __int128 d, i;
        errno = 0;
        ll = strtoll (text, &end, 10);
        if (errno || end == text || *end)
            return 0;
        d = (__int128)ll - p->istart;
        if (d % p->istep != 0 || (i = d / p->istep) < 0 || i >= (__int128)p->count)
            return 0;
        if (strcmp (zpar__sweep_param_value (p, (uint64_t)i, buf, sizeof (buf), &t), text) == 0)
            m->few[m->n++] = (uint64_t)i;
        return 0;
    }
    v = strtod (text, &end);
    if (end == text || *end || !isfinite (v))
        return 0;
    switch (p->kind) {
    case KIND_RANGE_FIXED:
        x = (v * p->scale - (double)p->istart) / (double)p->istep;
        break;
    case KIND_RANGE_FLOAT:
        x = (v - p->a) / p->step;
        break;
    case KIND_LOGSPACE:
        if (v <= 0)
            return 0;
        v = log10 (v);
        /* fall through */
    default: /* KIND_LINSPACE */
        if (p->a == p->b) {
            errno = ERANGE; /* every value is the same */
            return -1;
        }
        x = (v - p->a) / (p->b - p->a) * (double)(p->count - 1);
        break;
    }
    if (!isfinite (x) || x < -3. || x > (double)p->count + 2.)
        return 0;
    {
        int64_t c = (int64_t)nearbyint (x);
        for (int64_t i = c - 3; i <= c + 3; i++) {
            if (i < 0 || (uint64_t)i >= p->count)
                continue;
            if (strcmp (zpar__sweep_param_value (p, (uint64_t)i, buf, sizeof (buf), &t), text))
                continue;
            if (i == c - 3 || i == c + 3) {
                errno = ERANGE; /* the window may not hold every match */
                return -1;
            }
            m->few[m->n++] = (uint64_t)i;
        }
    }
    return 0;
}

int zpar__sweep_param_has_value (const zpar_sweep_param_t *p, const char *text)
{
    match_t m;
    if (!p || !text) {
        errno = EINVAL;
        return -1;
    }
    if (zpar__sweep_param_find (p, text, &m) < 0)
        return -1;
    return m.n > 0;
}
