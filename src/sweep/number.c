/* number.c - numbers in sweep files. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"

void zpar__sweep_number_format (double v, char *buf, size_t size)
{
    if (isnan (v)) {
        snprintf (buf, size, "nan");
        return;
    }
    if (isinf (v)) {
        snprintf (buf, size, "%s", v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0.) {
        snprintf (buf, size, "0");
        return;
    }
    /* The fewest significant digits that read back as v ... */
    char e[40], digits[20];
    int prec, exp, nd = 0;
    for (prec = 1; prec <= 17; prec++) {
        snprintf (e, sizeof (e), "%.*e", prec - 1, v);
        if (strtod (e, NULL) == v)
            break;
    }
    /* ... written like Python's repr: plain notation for exponents in
     * [-4, 16), scientific otherwise. */
    for (const char *q = e; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9')
            digits[nd++] = *q;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    exp = atoi (strchr (e, 'e') + 1);
    if (exp < -4 || exp >= 16) {
        snprintf (buf, size, "%s%c%s%se%c%02d", v < 0 ? "-" : "", digits[0], nd > 1 ? "." : "",
                  digits + 1, exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return;
    }
    char out[40];
    size_t n = 0;
    if (v < 0)
        out[n++] = '-';
    if (exp < 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (int z = 0; z < -exp - 1; z++)
            out[n++] = '0';
        for (int d = 0; d < nd; d++)
            out[n++] = digits[d];
    } else {
        for (int d = 0; d <= exp || d < nd; d++) {
            if (d == exp + 1)
                out[n++] = '.';
            out[n++] = d < nd ? digits[d] : '0';
        }
    }
    out[n] = '\0';
    snprintf (buf, size, "%s", out);
}

static int is_digit (char c)
{
    return c >= '0' && c <= '9';
}

int zpar__sweep_number_parse (const char *text, char *canon, size_t size, zpar_sweep_vtype_t *type,
                              double *value)
{
    const char *p = text;
    int digits = 0, is_int = 1;
    double d;

    if (*p == '+' || *p == '-')
        p++;
    while (is_digit (*p)) {
        p++;
        digits++;
    }
    if (*p == '.') {
        is_int = 0;
        p++;
        while (is_digit (*p)) {
            p++;
            digits++;
        }
    }
    if (digits == 0)
        goto inval;
    if (*p == 'e' || *p == 'E') {
        is_int = 0;
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!is_digit (*p))
            goto inval;
        while (is_digit (*p))
            p++;
    }
    if (*p != '\0')
        goto inval;
    if (is_int) {
        long long ll;
        errno = 0;
        ll = strtoll (text, NULL, 10);
        if (errno == ERANGE)
            goto inval;
        snprintf (canon, size, "%lld", ll);
        *type = ZPAR_SWEEP_INT;
        if (value)
            *value = (double)ll;
        return 0;
    }
    errno = 0;
    d = strtod (text, NULL);
    if (!isfinite (d))
        goto inval;
    zpar__sweep_number_format (d, canon, size);
    *type = ZPAR_SWEEP_FLOAT;
    if (value)
        *value = d;
    return 0;
inval:
    errno = EINVAL;
    return -1;
}
