/* number.h - numbers in sweep files: parsing and the canonical text of
 * a value.  Internal.
 *
 * A number has one canonical text, so that "1.0", "1" and "1e0" name the
 * same point and give the same key: integers as such, other numbers as
 * the shortest text that reads back as the same double.
 */
#ifndef ZPAR__SWEEP_NUMBER_H
#define ZPAR__SWEEP_NUMBER_H

#include <stddef.h>

/* Room for the longest canonical number ("-2.2250738585072014e-308"). */
#define ZPAR_SWEEP_NUM_MAX 32

typedef enum {
    ZPAR_SWEEP_STRING = 0,
    ZPAR_SWEEP_INT = 1,
    ZPAR_SWEEP_FLOAT = 2,
} zpar_sweep_vtype_t;

/* Write v in canonical form into buf (size >= ZPAR_SWEEP_NUM_MAX): the
 * shortest "%.Ng" text that reads back as exactly v ("0.1", "2", "1e+22",
 * "-0" is written "0"); "nan"/"inf"/"-inf" for non-finite values. */
void zpar__sweep_number_format (double v, char *buf, size_t size);

/* If text is a decimal number (optional sign, digits, optional fraction,
 * optional exponent; an integer fitting int64_t is an INT), write its
 * canonical form into canon (size >= ZPAR_SWEEP_NUM_MAX), set *type and, if
 * value is non-NULL, *value, and return 0.  Otherwise (words, hex, "inf",
 * "1_000", overflow) return -1 with errno = EINVAL. */
int zpar__sweep_number_parse (const char *text, char *canon, size_t size, zpar_sweep_vtype_t *type,
                              double *value);

#endif
