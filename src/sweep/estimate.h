/* estimate.h - how long a sweep's points take.  Internal.
 *
 * A point's duration comes from the sweep file's `estimate:` (an
 * arithmetic expression on its parameters, zpar__estimate_eval), else from
 * what the journal has seen: the longest wall time of a succeeded point of
 * the same group (the points with the same values of the parameters listed
 * in `estimate-by:`), else of any point of the sweep.  The longest, not the
 * mean: the estimate is used to decide whether a point can still finish
 * before the allocation ends, and one cut short is wasted work.
 *
 * The estimator keeps one entry per group (at most ZPAR_ESTIMATE_GROUPS_MAX;
 * groups beyond that count only in the whole sweep's figure), so its
 * memory is bounded whatever the number of points.  Not thread-safe.
 */
#ifndef ZPAR__SWEEP_ESTIMATE_H
#define ZPAR__SWEEP_ESTIMATE_H

#include <stddef.h>
#include <stdint.h>

#include "zpar/error.h"

typedef struct zpar_sweep_estimator zpar_sweep_estimator_t;

#define ZPAR_ESTIMATE_GROUPS_MAX 65536
/* Longest expression accepted by zpar__estimate_eval. */
#define ZPAR_ESTIMATE_EXPR_MAX 4096

/* An estimator grouping points by the parameters by[0..nby-1] (copied;
 * nby 0: one group, the sweep).  NULL with ENOMEM. */
zpar_sweep_estimator_t *zpar__estimator_create (const char *const *by, size_t nby);

/* NULL-safe; keeps errno. */
void zpar__estimator_destroy (zpar_sweep_estimator_t *e);

/* A point (its parameters as the journal's params_json: {"x":1,"s":"a"})
 * took wall_s seconds.  wall_s < 0 is ignored.  0, or -1 with ENOMEM or
 * EINVAL (params_json is not such an object). */
int zpar__estimator_learn (zpar_sweep_estimator_t *e, const char *params_json, double wall_s);

/* The longest duration seen in the point's group, else in the sweep;
 * -1 when nothing has been seen.  *n (if not NULL) gets the number of
 * points behind the figure. */
double zpar__estimator_get (const zpar_sweep_estimator_t *e, const char *params_json, uint64_t *n);

/* The group of a point: "name=value" of each by[] parameter, in by[]
 * order, separated by "\x1f" (values as their JSON text).  0 and the key
 * in buf, or -1 with EINVAL (not an object of scalars, or a by[] name it
 * lacks) or ENOSPC. */
int zpar__estimate_group (const char *params_json, const char *const *by, size_t nby, char *buf,
                          size_t size);

/* Evaluate an estimate: numbers (decimal, optional fraction and exponent)
 * with an optional unit (ms, s, m, h, d: in seconds; none: seconds),
 * + - * / and parentheses, unary minus.  "2m + 3 * 10s" is 150.  0 and
 * *secs (>= 0, finite), or -1 with EINVAL and err ("estimate '...': ...").
 */
int zpar__estimate_eval (const char *expr, double *secs, zpar_error_t *err);

#endif
