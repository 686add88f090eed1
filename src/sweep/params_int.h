/* params_int.h - the parameter spaces' private types, shared by
 * params.c (parameters, finding their values) and params_space.c (spaces,
 * counting the points, iterating).  Nothing else includes it. */
#ifndef ZPAR__SWEEP_PARAMS_INT_H
#define ZPAR__SWEEP_PARAMS_INT_H

#include <stddef.h>
#include <stdint.h>

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

/* The indices of a parameter that hold a value. */
/* The indices of a parameter that hold a value. */
typedef struct {
    uint64_t n;           /* how many */
    const uint64_t *list; /* lists: n positions */
    uint64_t few[16];     /* computed kinds: the n (<= 16) indices */
} match_t;

/* Fill m with the indices of p whose value is text.  0; -1 with ENOMEM, or
 * with ERANGE when the values near the estimate repeat (a float step below
 * the precision of the numbers) so that they cannot be found by
 * arithmetic.  m->list may point into p (valid while p lives). */
int zpar__sweep_param_find (const zpar_sweep_param_t *p, const char *text, match_t *m);

#endif
