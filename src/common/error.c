/* error.c - filling zpar_error_t. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

static void vfill (zpar_error_t *err, const char *fmt, va_list ap)
{
    if (err)
        (void)vsnprintf (err->text, sizeof (err->text), fmt, ap);
}

int zpar__errprintf (zpar_error_t *err, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start (ap, fmt);
    vfill (err, fmt, ap);
    va_end (ap);
    errno = saved;
    return -1;
}

int zpar__errnoprintf (zpar_error_t *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vfill (err, fmt, ap);
    va_end (ap);
    errno = errnum;
    return -1;
}
