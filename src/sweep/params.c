/* params.c - parameter spaces and their lazy point generator. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "params.h"

typedef enum {
    KIND_LIST,
    KIND_RANGE_INT,   /* istart + i * istep */
    KIND_RANGE_FIXED, /* (istart + i * istep) / scale, scale = 10^d */
    KIND_RANGE_FLOAT, /* a + i * step */
    KIND_LINSPACE,    /* (a * (n-1-i) + b * i) / (n-1) */
    KIND_LOGSPACE,    /* 10 ^ linspace */
} kind_t;

struct zpar_sweep_param {
    char *name;
    kind_t kind;
    uint64_t count;
    /* lists */
    char **texts;
    zpar_sweep_vtype_t *types;
    size_t cap;
    uint64_t *sorted; /* positions sorted by text (built on demand) */
    /* arithmetic */
    int64_t istart, istep;
    double scale;
    double a, b, step;
};

typedef struct {
    size_t n;
    size_t *params;
    char **values;
    uint64_t *mult; /* how many values of params[k] equal values[k] */
    size_t maxk;    /* the last parameter it fixes */
    int dead;       /* matches no point */
} exclusion_t;

struct zpar_sweep_space {
    zpar_sweep_combine_t combine;
    zpar_sweep_param_t **params;
    size_t nparams;
    exclusion_t *excl;
    size_t nexcl;
    uint64_t size;
    uint64_t count;   /* after exclusion, computed when sealing */
    uint64_t *stride; /* stride[k]: points per step of parameter k (product) */
    int sealed;
};

struct zpar_sweep_iter {
    const zpar_sweep_space_t *s;
    uint64_t next;
    zpar_sweep_point_t point;
    const char **values;
    zpar_sweep_vtype_t *types;
    char (*bufs)[ZPAR_SWEEP_NUM_MAX];
};

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

/* --- spaces ------------------------------------------------------------- */

zpar_sweep_space_t *zpar__sweep_space_create (zpar_sweep_combine_t combine)
{
    zpar_sweep_space_t *s;
    if (combine != ZPAR_SWEEP_PRODUCT && combine != ZPAR_SWEEP_ZIP) {
        errno = EINVAL;
        return NULL;
    }
    if (!(s = calloc (1, sizeof (*s))))
        return NULL;
    s->combine = combine;
    return s;
}

void zpar__sweep_space_destroy (zpar_sweep_space_t *s)
{
    if (s) {
        int saved = errno;
        for (size_t i = 0; i < s->nparams; i++)
            zpar__sweep_param_destroy (s->params[i]);
        free (s->params);
        for (size_t i = 0; i < s->nexcl; i++) {
            for (size_t k = 0; k < s->excl[i].n; k++)
                free (s->excl[i].values[k]);
            free (s->excl[i].values);
            free (s->excl[i].params);
            free (s->excl[i].mult);
        }
        free (s->excl);
        free (s->stride);
        free (s);
        errno = saved;
    }
}

int zpar__sweep_space_add (zpar_sweep_space_t *s, zpar_sweep_param_t **p, zpar_error_t *err)
{
    zpar_sweep_param_t **np;
    if (!s || !p || !*p)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    if (s->sealed)
        return zpar__errnoprintf (err, EBUSY, "parameter space is already sealed");
    if (zpar__sweep_space_find (s, (*p)->name) >= 0)
        return zpar__errnoprintf (err, EEXIST, "parameter '%s' is defined twice", (*p)->name);
    if (!(np = realloc (s->params, (s->nparams + 1) * sizeof (*np))))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    s->params = np;
    s->params[s->nparams++] = *p;
    *p = NULL;
    return 0;
}

size_t zpar__sweep_space_nparams (const zpar_sweep_space_t *s)
{
    return s ? s->nparams : 0;
}

int zpar__sweep_space_find (const zpar_sweep_space_t *s, const char *name)
{
    for (size_t i = 0; s && name && i < s->nparams; i++)
        if (strcmp (s->params[i]->name, name) == 0)
            return (int)i;
    return -1;
}

const char *zpar__sweep_space_param_name (const zpar_sweep_space_t *s, size_t i)
{
    return s && i < s->nparams ? s->params[i]->name : NULL;
}

const zpar_sweep_param_t *zpar__sweep_space_param (const zpar_sweep_space_t *s, size_t i)
{
    return s && i < s->nparams ? s->params[i] : NULL;
}

int zpar__sweep_space_exclude (zpar_sweep_space_t *s, size_t n, const size_t *params,
                               const char *const *values, zpar_error_t *err)
{
    exclusion_t e = {0}, *ne;
    if (!s || n == 0 || !params || !values)
        return zpar__errnoprintf (err, EINVAL, "an exclusion needs at least one parameter");
    if (s->sealed)
        return zpar__errnoprintf (err, EBUSY, "parameter space is already sealed");
    for (size_t k = 0; k < n; k++)
        if (params[k] >= s->nparams || !values[k])
            return zpar__errnoprintf (err, EINVAL, "exclusion names an unknown parameter");
    if (!(e.params = calloc (n, sizeof (*e.params))) || !(e.values = calloc (n, sizeof (char *))) ||
        !(e.mult = calloc (n, sizeof (*e.mult))))
        goto nomem;
    for (size_t k = 0; k < n; k++) {
        e.params[k] = params[k];
        if (!(e.values[k] = strdup (values[k])))
            goto nomem;
        e.n = k + 1;
    }
    if (!(ne = realloc (s->excl, (s->nexcl + 1) * sizeof (*ne))))
        goto nomem;
    s->excl = ne;
    s->excl[s->nexcl++] = e;
    return 0;
nomem:
    for (size_t k = 0; k < e.n; k++)
        free (e.values[k]);
    free (e.values);
    free (e.params);
    free (e.mult);
    return zpar__errnoprintf (err, ENOMEM, "out of memory");
}

static void fill (zpar_sweep_iter_t *it, uint64_t index);
static int excluded (const zpar_sweep_iter_t *it);

static int by_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* --- finding values and counting points --------------------------------- */

/* The indices of a parameter that hold a value. */
typedef struct {
    uint64_t n;           /* how many */
    const uint64_t *list; /* lists: n positions */
    uint64_t few[16];     /* computed kinds: the n (<= 16) indices */
} match_t;

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

/* Fill m with the indices of p whose value is text.  0; -1 with ENOMEM, or
 * with ERANGE when the values near the estimate repeat (a float step below
 * the precision of the numbers) so that they cannot be found by
 * arithmetic. */
static int find_value (const zpar_sweep_param_t *p, const char *text, match_t *m)
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
    if (find_value (p, text, &m) < 0)
        return -1;
    return m.n > 0;
}

typedef struct {
    const zpar_sweep_space_t *s;
    uint64_t steps;
    int fail; /* errno, or 0 */
} counter_t;

typedef struct {
    const exclusion_t *e;
    const char *text; /* its value for the current parameter */
    uint64_t mult;
} fixed_t;

static int by_fixed_text (const void *a, const void *b)
{
    return strcmp (((const fixed_t *)a)->text, ((const fixed_t *)b)->text);
}

/* Points of parameters k.. (their sub-product) matched by at least one of
 * the n exclusions E, all of which match the parameters before k. */
static uint64_t excluded_points (counter_t *c, size_t k, const exclusion_t **E, size_t n)
{
    const zpar_sweep_space_t *s = c->s;
    const exclusion_t **sub = NULL;
    fixed_t *F = NULL;
    size_t nf = 0, nw = 0;
    uint64_t total = 0, used = 0, cnt;

    if (n == 0 || c->fail)
        return 0;
    if ((c->steps += n) > ZPAR_SWEEP_COUNT_BUDGET) {
        c->fail = E2BIG;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (k == s->nparams || E[i]->maxk < k) /* fixes nothing further */
            return k == s->nparams ? 1 : s->stride[k] * s->params[k]->count;
    cnt = s->params[k]->count;
    if (!(F = calloc (n, sizeof (*F))) || !(sub = calloc (n, sizeof (*sub)))) {
        c->fail = ENOMEM;
        goto done;
    }
    /* split: exclusions fixing parameter k (F), the others (first nw of sub) */
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < E[i]->n && E[i]->params[j] != k; j++)
            ;
        if (j < E[i]->n)
            F[nf++] = (fixed_t){E[i], E[i]->values[j], E[i]->mult[j]};
        else
            sub[nw++] = E[i];
    }
    qsort (F, nf, sizeof (*F), by_fixed_text);
    for (size_t g = 0; g < nf && !c->fail;) {
        size_t h = g, m = nw;
        while (h < nf && strcmp (F[h].text, F[g].text) == 0)
            sub[m++] = F[h++].e;
        total += F[g].mult * excluded_points (c, k + 1, sub, m);
        used += F[g].mult;
        g = h;
    }
    if (used < cnt && nw > 0 && !c->fail)
        total += (cnt - used) * excluded_points (c, k + 1, sub, nw);
done:
    free (F);
    free (sub);
    return total;
}

/* Indices excluded in a zip: those of the rarest value of each exclusion,
 * checked against its other values. */
static int zip_excluded (counter_t *c, uint64_t *out)
{
    const zpar_sweep_space_t *s = c->s;
    uint64_t *idx = NULL, n = 0, cap = 0;
    char buf[ZPAR_SWEEP_NUM_MAX];
    zpar_sweep_vtype_t t;
    match_t m;

    for (size_t i = 0; i < s->nexcl; i++) {
        const exclusion_t *e = &s->excl[i];
        size_t best = 0;
        if (e->dead)
            continue;
        for (size_t j = 1; j < e->n; j++)
            if (e->mult[j] < e->mult[best])
                best = j;
        if ((c->steps += e->mult[best] * e->n) > ZPAR_SWEEP_COUNT_BUDGET) {
            c->fail = E2BIG;
            break;
        }
        if (find_value (s->params[e->params[best]], e->values[best], &m) < 0) {
            c->fail = errno == ENOMEM ? ENOMEM : E2BIG;
            break;
        }
        for (uint64_t q = 0; q < m.n; q++) {
            uint64_t at = m.list ? m.list[q] : m.few[q];
            size_t j;
            for (j = 0; j < e->n; j++)
                if (strcmp (zpar__sweep_param_value (s->params[e->params[j]], at, buf, sizeof (buf),
                                                     &t),
                            e->values[j]) != 0)
                    break;
            if (j < e->n)
                continue;
            if (n == cap) {
                uint64_t *ni = realloc (idx, (cap = cap ? cap * 2 : 64) * sizeof (*idx));
                if (!ni) {
                    c->fail = ENOMEM;
                    break;
                }
                idx = ni;
            }
            idx[n++] = at;
        }
    }
    if (!c->fail && n > 1) {
        uint64_t u = 1;
        qsort (idx, n, sizeof (*idx), by_u64);
        for (uint64_t i = 1; i < n; i++)
            if (idx[i] != idx[u - 1])
                idx[u++] = idx[i];
        n = u;
    }
    free (idx);
    *out = n;
    return c->fail ? -1 : 0;
}

/* Set s->count (s->size and s->stride are set). */
static int count_points (zpar_sweep_space_t *s, zpar_error_t *err)
{
    counter_t c = {s, 0, 0};
    const exclusion_t **E = NULL;
    size_t n = 0;
    uint64_t ex = 0;

    /* each exclusion: the multiplicity of each of its values */
    for (size_t i = 0; i < s->nexcl; i++) {
        exclusion_t *e = &s->excl[i];
        e->maxk = 0;
        e->dead = 0;
        for (size_t k = 0; k < e->n; k++) {
            match_t m;
            if (find_value (s->params[e->params[k]], e->values[k], &m) < 0) {
                if (errno == ENOMEM)
                    return zpar__errnoprintf (err, ENOMEM, "out of memory");
                c.fail = E2BIG;
                m.n = 1;
            }
            e->mult[k] = m.n;
            if (m.n == 0)
                e->dead = 1;
            if (e->params[k] > e->maxk)
                e->maxk = e->params[k];
            for (size_t j = 0; j < k; j++) /* same parameter, other value */
                if (e->params[j] == e->params[k] && strcmp (e->values[j], e->values[k]) != 0)
                    e->dead = 1;
        }
    }
    if (!c.fail && s->combine == ZPAR_SWEEP_PRODUCT) {
        if (!(E = calloc (s->nexcl ? s->nexcl : 1, sizeof (*E))))
            return zpar__errnoprintf (err, ENOMEM, "out of memory");
        for (size_t i = 0; i < s->nexcl; i++)
            if (!s->excl[i].dead)
                E[n++] = &s->excl[i];
        ex = excluded_points (&c, 0, E, n);
        free (E);
    } else if (!c.fail)
        (void)zip_excluded (&c, &ex);
    if (c.fail == ENOMEM)
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    if (c.fail && s->size * (s->nexcl + 1) <= ZPAR_SWEEP_COUNT_BUDGET) {
        /* small enough to count one by one */
        zpar_sweep_iter_t it = {.s = s};
        const char *values[s->nparams];
        zpar_sweep_vtype_t types[s->nparams];
        char (*bufs)[ZPAR_SWEEP_NUM_MAX] = calloc (s->nparams, sizeof (*bufs));
        if (!bufs)
            return zpar__errnoprintf (err, ENOMEM, "out of memory");
        it.values = values;
        it.types = types;
        it.bufs = bufs;
        ex = 0;
        for (uint64_t i = 0; i < s->size; i++) {
            fill (&it, i);
            ex += excluded (&it);
        }
        free (bufs);
        c.fail = 0;
    }
    if (c.fail)
        return zpar__errnoprintf (err, E2BIG,
                                  "exclude is too complex to count the points of the sweep "
                                  "(more than %d steps): use fewer, non-overlapping exclusions",
                                  ZPAR_SWEEP_COUNT_BUDGET);
    s->count = s->size - ex;
    return 0;
}

int zpar__sweep_space_seal (zpar_sweep_space_t *s, zpar_error_t *err)
{
    uint64_t size = 1;
    if (!s)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    if (s->sealed)
        return 0;
    if (s->nparams == 0)
        return zpar__errnoprintf (err, EINVAL, "the sweep has no parameters");
    for (size_t i = 0; i < s->nparams; i++) {
        uint64_t c = s->params[i]->count;
        if (c == 0)
            return zpar__errnoprintf (err, EINVAL, "parameter '%s' has no values",
                                      s->params[i]->name);
        if (s->combine == ZPAR_SWEEP_ZIP) {
            if (c != s->params[0]->count)
                return zpar__errnoprintf (err, EINVAL,
                                          "combine: zip needs parameters of equal length, but "
                                          "'%s' has %llu values and '%s' has %llu",
                                          s->params[0]->name,
                                          (unsigned long long)s->params[0]->count,
                                          s->params[i]->name, (unsigned long long)c);
            size = c;
        } else {
            if (c > ZPAR_SWEEP_POINTS_MAX / size)
                return zpar__errnoprintf (err, EOVERFLOW, "the sweep has more than 2^62 points");
            size *= c;
        }
    }
    if (size > ZPAR_SWEEP_POINTS_MAX)
        return zpar__errnoprintf (err, EOVERFLOW, "the sweep has more than 2^62 points");
    if (!(s->stride = calloc (s->nparams, sizeof (*s->stride))))
        return zpar__errnoprintf (err, ENOMEM, "out of memory");
    s->stride[s->nparams - 1] = 1;
    for (size_t k = s->nparams - 1; k-- > 0;)
        s->stride[k] =
            s->combine == ZPAR_SWEEP_ZIP ? 1 : s->stride[k + 1] * s->params[k + 1]->count;
    s->size = size;
    if (count_points (s, err) < 0) {
        free (s->stride);
        s->stride = NULL;
        return -1;
    }
    s->sealed = 1;
    return 0;
}

uint64_t zpar__sweep_space_size (const zpar_sweep_space_t *s)
{
    return s && s->sealed ? s->size : 0;
}

uint64_t zpar__sweep_space_count (const zpar_sweep_space_t *s)
{
    return s && s->sealed ? s->count : 0;
}

/* --- iteration ---------------------------------------------------------- */

zpar_sweep_iter_t *zpar__sweep_iter_create (const zpar_sweep_space_t *s)
{
    zpar_sweep_iter_t *it;
    if (!s || !s->sealed) {
        errno = EBUSY;
        return NULL;
    }
    if (!(it = calloc (1, sizeof (*it))))
        return NULL;
    it->s = s;
    if (!(it->values = calloc (s->nparams, sizeof (*it->values))) ||
        !(it->types = calloc (s->nparams, sizeof (*it->types))) ||
        !(it->bufs = calloc (s->nparams, sizeof (*it->bufs)))) {
        zpar__sweep_iter_destroy (it);
        errno = ENOMEM;
        return NULL;
    }
    it->point.nvalues = s->nparams;
    it->point.values = it->values;
    it->point.types = it->types;
    return it;
}

void zpar__sweep_iter_destroy (zpar_sweep_iter_t *it)
{
    if (it) {
        int saved = errno;
        free (it->values);
        free (it->types);
        free (it->bufs);
        free (it);
        errno = saved;
    }
}

static void fill (zpar_sweep_iter_t *it, uint64_t index)
{
    const zpar_sweep_space_t *s = it->s;
    uint64_t rest = index;
    for (size_t k = s->nparams; k-- > 0;) {
        const zpar_sweep_param_t *p = s->params[k];
        uint64_t digit;
        if (s->combine == ZPAR_SWEEP_ZIP)
            digit = index;
        else {
            digit = rest % p->count;
            rest /= p->count;
        }
        it->values[k] =
            zpar__sweep_param_value (p, digit, it->bufs[k], ZPAR_SWEEP_NUM_MAX, &it->types[k]);
    }
    it->point.index = index;
}

/* The exclusion that matches the current point, or NULL. */
static const exclusion_t *excluded_by (const zpar_sweep_iter_t *it)
{
    const zpar_sweep_space_t *s = it->s;
    for (size_t i = 0; i < s->nexcl; i++) {
        const exclusion_t *e = &s->excl[i];
        size_t k;
        if (e->dead)
            continue;
        for (k = 0; k < e->n; k++)
            if (strcmp (it->values[e->params[k]], e->values[k]) != 0)
                break;
        if (k == e->n)
            return e;
    }
    return NULL;
}

static int excluded (const zpar_sweep_iter_t *it)
{
    return excluded_by (it) != NULL;
}

const zpar_sweep_point_t *zpar__sweep_iter_next (zpar_sweep_iter_t *it)
{
    const exclusion_t *e;
    if (!it)
        return NULL;
    while (it->next < it->s->size) {
        uint64_t index = it->next++;
        fill (it, index);
        if (!(e = excluded_by (it)))
            return &it->point;
        if (it->s->combine == ZPAR_SWEEP_PRODUCT) {
            /* every point up to the next step of the last parameter e fixes
             * keeps e's values: skip them */
            uint64_t st = it->s->stride[e->maxk];
            it->next = (index / st + 1) * st;
        }
    }
    return NULL;
}

void zpar__sweep_iter_seek (zpar_sweep_iter_t *it, uint64_t index)
{
    if (it)
        it->next = index;
}

const zpar_sweep_point_t *zpar__sweep_iter_at (zpar_sweep_iter_t *it, uint64_t index,
                                               int *is_excluded)
{
    if (!it || index >= it->s->size) {
        errno = ERANGE;
        return NULL;
    }
    fill (it, index);
    if (is_excluded)
        *is_excluded = excluded (it);
    return &it->point;
}
