/* params_space.c - spaces of parameters (their product or zip, less the
 * excluded combinations), the count of their points, and the lazy point
 * generator.  The parameters themselves: params.c. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "params_int.h"

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

/* --- counting points ---------------------------------------------------- */

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
        if (zpar__sweep_param_find (s->params[e->params[best]], e->values[best], &m) < 0) {
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
            if (zpar__sweep_param_find (s->params[e->params[k]], e->values[k], &m) < 0) {
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
