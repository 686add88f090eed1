/* estimate.c - points' durations: the `estimate:` expression, and what
 * the journal has seen per group. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "estimate.h"

typedef struct {
    char *key; /* NULL: free */
    double max;
    uint64_t n;
} group_t;

struct zpar_sweep_estimator {
    char **by;
    size_t nby;
    group_t *tab; /* open addressing, cap a power of two */
    size_t cap, used;
    double all_max; /* the whole sweep */
    uint64_t all_n;
};

zpar_sweep_estimator_t *zpar__estimator_create (const char *const *by, size_t nby)
{
    zpar_sweep_estimator_t *e = calloc (1, sizeof (*e));
    if (!e)
        return NULL;
    if (nby && !(e->by = calloc (nby, sizeof (char *))))
        goto error;
    for (size_t i = 0; i < nby; i++, e->nby++)
        if (!(e->by[i] = strdup (by[i])))
            goto error;
    e->all_max = -1;
    return e;
error:
    zpar__estimator_destroy (e);
    errno = ENOMEM;
    return NULL;
}

void zpar__estimator_destroy (zpar_sweep_estimator_t *e)
{
    int saved = errno;
    if (!e)
        return;
    for (size_t i = 0; i < e->nby; i++)
        free (e->by[i]);
    free (e->by);
    for (size_t i = 0; i < e->cap; i++)
        free (e->tab[i].key);
    free (e->tab);
    free (e);
    errno = saved;
}

static uint64_t hash (const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static group_t *find (const zpar_sweep_estimator_t *e, const char *key)
{
    if (!e->cap)
        return NULL;
    for (size_t i = hash (key) & (e->cap - 1);; i = (i + 1) & (e->cap - 1)) {
        if (!e->tab[i].key)
            return (group_t *)&e->tab[i];
        if (strcmp (e->tab[i].key, key) == 0)
            return (group_t *)&e->tab[i];
    }
}

static int grow (zpar_sweep_estimator_t *e)
{
    size_t ncap = e->cap ? e->cap * 2 : 64;
    group_t *old = e->tab, *nt = calloc (ncap, sizeof (*nt));
    size_t ocap = e->cap;
    if (!nt)
        return -1;
    e->tab = nt;
    e->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].key)
            *find (e, old[i].key) = old[i];
    free (old);
    return 0;
}

/* Skip one JSON value of an object of scalars at *p: 0, or -1. */
static int skip_value (const char **p)
{
    const char *s = *p;
    if (*s == '"') {
        for (s++; *s && *s != '"'; s++)
            if (*s == '\\' && !*++s)
                return -1;
        if (*s != '"')
            return -1;
        *p = s + 1;
        return 0;
    }
    while (*s && *s != ',' && *s != '}' && *s != '{' && *s != '[')
        s++;
    if (s == *p || *s == '{' || *s == '[')
        return -1;
    *p = s;
    return 0;
}

int zpar__estimate_group (const char *params_json, const char *const *by, size_t nby, char *buf,
                          size_t size)
{
    size_t len = 0;
    if (!buf || size == 0)
        goto inval;
    buf[0] = '\0';
    for (size_t k = 0; k < nby; k++) {
        const char *s = params_json, *v = NULL, *ve = NULL;
        size_t nl = strlen (by[k]);
        if (!s || *s++ != '{')
            goto inval;
        while (*s && *s != '}') {
            const char *name = s + 1, *ne;
            if (*s != '"' || !(ne = strchr (name, '"')))
                goto inval;
            s = ne + 1;
            if (*s++ != ':')
                goto inval;
            if ((size_t)(ne - name) == nl && memcmp (name, by[k], nl) == 0)
                v = s;
            if (skip_value (&s) < 0)
                goto inval;
            if (v && !ve)
                ve = s;
            if (*s == ',')
                s++;
        }
        if (*s != '}' || !v)
            goto inval;
        if (len + nl + 2 + (size_t)(ve - v) >= size) {
            errno = ENOSPC;
            return -1;
        }
        memcpy (buf + len, by[k], nl);
        len += nl;
        buf[len++] = '=';
        memcpy (buf + len, v, (size_t)(ve - v));
        len += (size_t)(ve - v);
        buf[len++] = '\x1f';
        buf[len] = '\0';
    }
    return 0;
inval:
    errno = EINVAL;
    return -1;
}

int zpar__estimator_learn (zpar_sweep_estimator_t *e, const char *params_json, double wall_s)
{
    char key[1024];
    group_t *g;
    if (!e || !params_json) {
        errno = EINVAL;
        return -1;
    }
    if (!(wall_s >= 0) || !isfinite (wall_s))
        return 0;
    if (wall_s > e->all_max)
        e->all_max = wall_s;
    e->all_n++;
    if (e->nby == 0)
        return 0;
    if (zpar__estimate_group (params_json, (const char *const *)e->by, e->nby, key, sizeof (key)) <
        0)
        return errno == ENOSPC ? 0 : -1; /* a huge key: the sweep's figure only */
    if (!(g = find (e, key)) || !g->key) {
        if (e->used >= ZPAR_ESTIMATE_GROUPS_MAX)
            return 0;
        if ((e->used + 1) * 2 > e->cap && grow (e) < 0)
            return -1;
        g = find (e, key);
        if (!(g->key = strdup (key)))
            return -1;
        g->max = wall_s;
        g->n = 0;
        e->used++;
    }
    if (wall_s > g->max)
        g->max = wall_s;
    g->n++;
    return 0;
}

double zpar__estimator_get (const zpar_sweep_estimator_t *e, const char *params_json, uint64_t *n)
{
    char key[1024];
    const group_t *g;
    if (n)
        *n = 0;
    if (!e)
        return -1;
    if (e->nby && params_json &&
        zpar__estimate_group (params_json, (const char *const *)e->by, e->nby, key, sizeof (key)) ==
            0 &&
        (g = find (e, key)) && g->key) {
        if (n)
            *n = g->n;
        return g->max;
    }
    if (n)
        *n = e->all_n;
    return e->all_n ? e->all_max : -1;
}

/* --------------------------------------------------------- expressions */

typedef struct {
    const char *s, *text;
    zpar_error_t *err;
    int depth;
} ev_t;

static int ev_fail (ev_t *v, const char *why)
{
    return zpar__errnoprintf (v->err, EINVAL, "estimate '%s': %s at offset %zu", v->text, why,
                              (size_t)(v->s - v->text));
}

static void blanks (ev_t *v)
{
    while (*v->s == ' ' || *v->s == '\t')
        v->s++;
}

static int expr (ev_t *v, double *out);

static int number (ev_t *v, double *out)
{
    const char *s = v->s;
    char *e;
    double x;
    if (!(isdigit ((unsigned char)*s) || (*s == '.' && isdigit ((unsigned char)s[1]))))
        return ev_fail (v, "want a number");
    /* digits [. digits] [e [+-] digits]: strtod without hex, inf, nan */
    while (isdigit ((unsigned char)*s))
        s++;
    if (*s == '.')
        for (s++; isdigit ((unsigned char)*s); s++)
            ;
    if ((*s == 'e' || *s == 'E') &&
        (isdigit ((unsigned char)s[1]) ||
         ((s[1] == '+' || s[1] == '-') && isdigit ((unsigned char)s[2])))) {
        s += 2;
        while (isdigit ((unsigned char)*s))
            s++;
    }
    x = strtod (v->s, &e);
    if (e != s)
        return ev_fail (v, "bad number");
    v->s = s;
    if (s[0] == 'm' && s[1] == 's')
        x /= 1000, v->s += 2;
    else if (*s == 's')
        v->s++;
    else if (*s == 'm')
        x *= 60, v->s++;
    else if (*s == 'h')
        x *= 3600, v->s++;
    else if (*s == 'd')
        x *= 86400, v->s++;
    if (isalnum ((unsigned char)*v->s) || *v->s == '_')
        return ev_fail (v, "unknown unit (use ms, s, m, h or d)");
    *out = x;
    return 0;
}

static int factor (ev_t *v, double *out)
{
    blanks (v);
    if (*v->s == '-') {
        v->s++;
        if (++v->depth > 64)
            return ev_fail (v, "too deeply nested");
        if (factor (v, out) < 0)
            return -1;
        v->depth--;
        *out = -*out;
        return 0;
    }
    if (*v->s == '(') {
        v->s++;
        if (++v->depth > 64)
            return ev_fail (v, "too deeply nested");
        if (expr (v, out) < 0)
            return -1;
        v->depth--;
        blanks (v);
        if (*v->s != ')')
            return ev_fail (v, "want ')'");
        v->s++;
        return 0;
    }
    return number (v, out);
}

static int term (ev_t *v, double *out)
{
    if (factor (v, out) < 0)
        return -1;
    for (;;) {
        double r;
        char op;
        blanks (v);
        if (*v->s != '*' && *v->s != '/')
            return 0;
        op = *v->s++;
        if (factor (v, &r) < 0)
            return -1;
        if (op == '/' && r == 0)
            return ev_fail (v, "division by zero");
        *out = op == '*' ? *out * r : *out / r;
    }
}

static int expr (ev_t *v, double *out)
{
    if (term (v, out) < 0)
        return -1;
    for (;;) {
        double r;
        char op;
        blanks (v);
        if (*v->s != '+' && *v->s != '-')
            return 0;
        op = *v->s++;
        if (term (v, &r) < 0)
            return -1;
        *out = op == '+' ? *out + r : *out - r;
    }
}

int zpar__estimate_eval (const char *text, double *secs, zpar_error_t *err)
{
    ev_t v = {text, text, err, 0};
    double x;
    if (!text || !secs)
        return zpar__errnoprintf (err, EINVAL, "estimate: invalid argument");
    if (strlen (text) > ZPAR_ESTIMATE_EXPR_MAX)
        return zpar__errnoprintf (err, EINVAL, "estimate: longer than %d bytes",
                                  ZPAR_ESTIMATE_EXPR_MAX);
    if (expr (&v, &x) < 0)
        return -1;
    blanks (&v);
    if (*v.s)
        return ev_fail (&v, "unexpected text");
    if (!isfinite (x) || x < 0)
        return zpar__errnoprintf (err, EINVAL, "estimate '%s': %s", text,
                                  isfinite (x) ? "negative" : "not finite");
    *secs = x;
    return 0;
}
