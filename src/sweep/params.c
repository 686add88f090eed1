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
    /* arithmetic */
    int64_t istart, istep;
    double scale;
    double a, b, step;
};

typedef struct {
    size_t n;
    size_t *params;
    char **values;
} exclusion_t;

struct zpar_sweep_space {
    zpar_sweep_combine_t combine;
    zpar_sweep_param_t **params;
    size_t nparams;
    exclusion_t *excl;
    size_t nexcl;
    uint64_t size;
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
        if (n > 4e18) {
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
        snprintf (buf, size, "%lld", (long long)(p->istart + (int64_t)i * p->istep));
        *type = ZPAR_SWEEP_INT;
        return buf;
    case KIND_RANGE_FIXED:
        v = (double)(p->istart + (int64_t)i * p->istep) / p->scale;
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
        }
        free (s->excl);
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
    if (!(e.params = calloc (n, sizeof (*e.params))) || !(e.values = calloc (n, sizeof (char *))))
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
    return zpar__errnoprintf (err, ENOMEM, "out of memory");
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
            if (c > (UINT64_C (1) << 62) / size)
                return zpar__errnoprintf (err, EOVERFLOW, "the sweep has more than 2^62 points");
            size *= c;
        }
    }
    s->size = size;
    s->sealed = 1;
    return 0;
}

uint64_t zpar__sweep_space_size (const zpar_sweep_space_t *s)
{
    return s && s->sealed ? s->size : 0;
}

uint64_t zpar__sweep_space_count (const zpar_sweep_space_t *s)
{
    zpar_sweep_iter_t *it;
    uint64_t n = 0;
    if (!s || !s->sealed)
        return 0;
    if (s->nexcl == 0)
        return s->size;
    if (!(it = zpar__sweep_iter_create (s)))
        return 0;
    while (zpar__sweep_iter_next (it))
        n++;
    zpar__sweep_iter_destroy (it);
    return n;
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

static int excluded (const zpar_sweep_iter_t *it)
{
    const zpar_sweep_space_t *s = it->s;
    for (size_t i = 0; i < s->nexcl; i++) {
        const exclusion_t *e = &s->excl[i];
        size_t k;
        for (k = 0; k < e->n; k++)
            if (strcmp (it->values[e->params[k]], e->values[k]) != 0)
                break;
        if (k == e->n)
            return 1;
    }
    return 0;
}

const zpar_sweep_point_t *zpar__sweep_iter_next (zpar_sweep_iter_t *it)
{
    if (!it)
        return NULL;
    while (it->next < it->s->size) {
        fill (it, it->next++);
        if (!excluded (it))
            return &it->point;
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
