/* duration.c - parsing human durations. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "error.h"

static int unit_rank (char c, double *mult)
{
    switch (c) {
    case 'd':
        *mult = 86400.;
        return 4;
    case 'h':
        *mult = 3600.;
        return 3;
    case 'm':
        *mult = 60.;
        return 2;
    case 's':
        *mult = 1.;
        return 1;
    default:
        return 0;
    }
}

/* Parse an unsigned decimal number (digits, optional fraction) at *p. */
static int parse_unsigned (const char **p, double *v)
{
    const char *s = *p;
    char *end;
    if (!((*s >= '0' && *s <= '9') || (*s == '.' && s[1] >= '0' && s[1] <= '9')))
        return -1;
    errno = 0;
    *v = strtod (s, &end);
    if (errno != 0 || end == s || !isfinite (*v))
        return -1;
    /* refuse exponents and hex: only digits and one '.' */
    for (const char *q = s; q < end; q++)
        if (!((*q >= '0' && *q <= '9') || *q == '.'))
            return -1;
    *p = end;
    return 0;
}

int zpar__duration_parse (const char *s, double *secs)
{
    double total = 0., v, mult;
    int last_rank = 5;
    const char *p = s;

    if (!s || !*s)
        goto inval;
    if (parse_unsigned (&p, &v) < 0)
        goto inval;
    if (*p == '\0') {
        *secs = v;
        return 0;
    }
    while (1) {
        int rank = unit_rank (*p, &mult);
        if (rank == 0 || rank >= last_rank)
            goto inval;
        last_rank = rank;
        total += v * mult;
        p++;
        if (*p == '\0')
            break;
        if (parse_unsigned (&p, &v) < 0)
            goto inval;
    }
    if (!isfinite (total))
        goto inval;
    *secs = total;
    return 0;
inval:
    errno = EINVAL;
    return -1;
}

int zpar__duration_parse_text (const char *s, double *secs, zpar_error_t *err)
{
    size_t len = s ? strlen (s) : 0;
    const char *p = s;
    double v;

    if (len > 2 && !strcmp (s + len - 2, "ms")) {
        if (parse_unsigned (&p, &v) == 0 && p == s + len - 2) {
            *secs = v / 1000.0;
            return 0;
        }
    } else if (zpar__duration_parse (s, &v) == 0) {
        *secs = v;
        return 0;
    }
    return zpar__errnoprintf (err, EINVAL,
                              "'%s' is not a duration: use seconds (30, 2.5) or a number with a "
                              "unit (500ms, 30s, 10m, 2h, 1h30m, 1d)",
                              s ? s : "");
}
