/* params.h - parameter spaces of a sweep and their lazy point generator.
 * Internal.
 *
 * A parameter is a named, finite sequence of values.  Lists store their
 * values; range/linspace/logspace store only their arithmetic and compute
 * value i on demand, so a parameter of a billion values costs a few bytes.
 * A space combines parameters (product: the last parameter varies fastest;
 * zip: the i-th point takes the i-th value of every parameter), minus a list
 * of excluded partial points.  Points are never materialized: an iterator
 * computes the values of point `index` from its mixed-radix digits, and
 * checks the exclusions for that one point.
 *
 * Phases (hwloc style): create a space, add parameters and exclusions, then
 * seal it.  Adding after sealing, or iterating before, fails with EBUSY.
 *
 * Every value is text in canonical form (see zpar__sweep_number_format), with
 * a type telling whether it is a number (written unquoted in JSON) or a
 * string.
 */
#ifndef ZPAR__SWEEP_PARAMS_H
#define ZPAR__SWEEP_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "number.h"
#include "zpar/error.h"

/* Most points a space (and values a parameter) may have. */
#define ZPAR_SWEEP_POINTS_MAX (UINT64_C (1) << 62)

/* Work allowed to count the points left by exclusions (steps of the
 * counting algorithm); beyond, sealing fails with E2BIG. */
#define ZPAR_SWEEP_COUNT_BUDGET 4000000

typedef enum {
    ZPAR_SWEEP_PRODUCT = 0,
    ZPAR_SWEEP_ZIP = 1,
} zpar_sweep_combine_t;

typedef struct zpar_sweep_param zpar_sweep_param_t;
typedef struct zpar_sweep_space zpar_sweep_space_t;
typedef struct zpar_sweep_iter zpar_sweep_iter_t;

/* One point, as handed out by an iterator.  All storage belongs to the
 * iterator and stays valid until its next call or its destruction. */
typedef struct {
    uint64_t index;                  /* position in the full space (stable
                                        when exclusions change) */
    size_t nvalues;                  /* = number of parameters */
    const char *const *values;       /* values[i]: value of parameter i */
    const zpar_sweep_vtype_t *types; /* types[i]: its type */
} zpar_sweep_point_t;

/* --- parameters --------------------------------------------------------- */

/* An empty list parameter called name.  NULL on ENOMEM. */
zpar_sweep_param_t *zpar__sweep_param_list_create (const char *name);

/* Append a copy of text (already canonical) with its type to a list
 * parameter.  0, or -1 with errno (ENOMEM; EINVAL if p is not a list). */
int zpar__sweep_param_list_append (zpar_sweep_param_t *p, const char *text,
                                   zpar_sweep_vtype_t type);

/* range: start, start+step, ... up to but excluding stop.  The arguments are
 * number texts (as written in the sweep file): when all three are integers
 * the values are integers; otherwise floats, computed in decimal fixed point
 * when the texts allow it so that [0, 1, 0.1] gives 0.3 and not
 * 0.30000000000000004.  Fails (NULL, errno EINVAL, err) on a non-number, a
 * zero step, or an empty range; ENOMEM. */
zpar_sweep_param_t *zpar__sweep_param_range_create (const char *name, const char *start,
                                                    const char *stop, const char *step,
                                                    zpar_error_t *err);

/* linspace: n evenly spaced values from a to b inclusive (n >= 1).
 * logspace: 10^v for the same v.  NULL + errno EINVAL + err on n < 1 or a
 * non-finite bound. */
zpar_sweep_param_t *zpar__sweep_param_linspace_create (const char *name, double a, double b,
                                                       int64_t n, zpar_error_t *err);
zpar_sweep_param_t *zpar__sweep_param_logspace_create (const char *name, double a, double b,
                                                       int64_t n, zpar_error_t *err);

/* NULL-safe; keeps errno. */
void zpar__sweep_param_destroy (zpar_sweep_param_t *p);

const char *zpar__sweep_param_name (const zpar_sweep_param_t *p);
/* 1 if p stores its values (a list or a values file), 0 if it computes
 * them (numbers only). */
int zpar__sweep_param_is_list (const zpar_sweep_param_t *p);
uint64_t zpar__sweep_param_count (const zpar_sweep_param_t *p);

/* Value i (< count) of p: returns a pointer either into p (lists) or into
 * buf (computed numbers; size >= ZPAR_SWEEP_NUM_MAX); *type receives its
 * type.  NULL with errno = ERANGE if i is out of range. */
const char *zpar__sweep_param_value (const zpar_sweep_param_t *p, uint64_t i, char *buf,
                                     size_t size, zpar_sweep_vtype_t *type);

/* 1 if some value of p is text, 0 if none; -1 with errno ERANGE when that
 * cannot be decided without scanning (float values that repeat), ENOMEM.
 * O(log n) for lists (the first call sorts an index of the list: not
 * concurrently with other calls), O(1) for computed values. */
int zpar__sweep_param_has_value (const zpar_sweep_param_t *p, const char *text);

/* --- spaces ------------------------------------------------------------- */

zpar_sweep_space_t *zpar__sweep_space_create (zpar_sweep_combine_t combine);

/* NULL-safe; keeps errno; destroys the parameters it owns. */
void zpar__sweep_space_destroy (zpar_sweep_space_t *s);

/* Add a parameter; on success the space owns it and *p is set to NULL.  On
 * failure *p is left to the caller: EEXIST (duplicate name), EBUSY
 * (sealed), ENOMEM. */
int zpar__sweep_space_add (zpar_sweep_space_t *s, zpar_sweep_param_t **p, zpar_error_t *err);

/* Parameter count, the index of the parameter called name (-1 if none), the
 * name and object of parameter i. */
size_t zpar__sweep_space_nparams (const zpar_sweep_space_t *s);
int zpar__sweep_space_find (const zpar_sweep_space_t *s, const char *name);
const char *zpar__sweep_space_param_name (const zpar_sweep_space_t *s, size_t i);
const zpar_sweep_param_t *zpar__sweep_space_param (const zpar_sweep_space_t *s, size_t i);

/* Exclude every point whose parameter params[k] has value values[k] for all
 * k < n (values compared as canonical text).  Copies its arguments.  0, or
 * -1 with errno EINVAL (n == 0, bad index), EBUSY (sealed), ENOMEM. */
int zpar__sweep_space_exclude (zpar_sweep_space_t *s, size_t n, const size_t *params,
                               const char *const *values, zpar_error_t *err);

/* Finish construction: compute the size, check zip lengths (EINVAL),
 * overflow past 2^62 points (EOVERFLOW), no parameters (EINVAL), and count
 * the points left by the exclusions without iterating them (for a product,
 * by splitting the exclusions on the value of each parameter in turn; for
 * a zip, by looking up the indices that hold each excluded value).  When
 * that count would take more than ZPAR_SWEEP_COUNT_BUDGET steps (many
 * overlapping exclusions, or float parameters whose values repeat), sealing
 * fails with E2BIG.  Then the space is read-only and may be iterated (also
 * from several iterators). */
int zpar__sweep_space_seal (zpar_sweep_space_t *s, zpar_error_t *err);

/* Number of points before exclusion (0 before sealing). */
uint64_t zpar__sweep_space_size (const zpar_sweep_space_t *s);

/* Number of points after exclusion (computed when sealing): O(1). */
uint64_t zpar__sweep_space_count (const zpar_sweep_space_t *s);

/* --- iteration ---------------------------------------------------------- */

/* An iterator over a sealed space: NULL with EBUSY if not sealed, ENOMEM.
 * The space must outlive the iterator.  Allocates once, here; next/at do
 * not allocate. */
zpar_sweep_iter_t *zpar__sweep_iter_create (const zpar_sweep_space_t *s);
void zpar__sweep_iter_destroy (zpar_sweep_iter_t *it);

/* The next point that is not excluded, in index order; NULL at the end.
 * In a product, a run of points excluded by one exclusion is skipped in
 * one step (the points that share its parameters' values). */
const zpar_sweep_point_t *zpar__sweep_iter_next (zpar_sweep_iter_t *it);

/* Restart so that the next call to next returns the first point whose
 * index is >= index. */
void zpar__sweep_iter_seek (zpar_sweep_iter_t *it, uint64_t index);

/* Point `index` of the full space, whether excluded or not (*excluded, if
 * not NULL, tells).  NULL with ERANGE if index >= size.  Does not move the
 * sequence of next. */
const zpar_sweep_point_t *zpar__sweep_iter_at (zpar_sweep_iter_t *it, uint64_t index,
                                               int *excluded);

#endif
