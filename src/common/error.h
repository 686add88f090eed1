/* error.h - filling zpar_error_t (internal). */
#ifndef ZPAR__ERROR_H
#define ZPAR__ERROR_H

#include "zpar/error.h"

/* Format a message into err (which may be NULL).  errno is preserved.
 * Always returns -1 so that callers can write `return zpar__errprintf(...)`. */
int zpar__errprintf (zpar_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Same, but also sets errno to errnum first. */
int zpar__errnoprintf (zpar_error_t *err, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#endif
