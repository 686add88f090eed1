/* json.h - the little JSON zpar needs: an escaping writer, and a strict
 * reader for flat objects (connection files).  Internal. */
#ifndef ZPAR__JSON_H
#define ZPAR__JSON_H

#include <stddef.h>
#include <stdio.h>

#include "zpar/error.h"

/* Write s (len bytes; may contain any bytes) as a JSON string literal,
 * escaping quotes, backslashes and control characters; bytes that are not
 * valid UTF-8 are written as U+FFFD. */
void zpar__json_put_str (FILE *f, const char *s, size_t len);

/* Length of the valid UTF-8 sequence at p (n > 0 bytes left): 1 to 4, or
 * 0 if it is not valid UTF-8 (overlong forms and surrogates included). */
size_t zpar__utf8_len (const unsigned char *p, size_t n);

typedef struct zpar_jobj zpar_jobj_t;

/* Parse text as one JSON object whose values are strings, numbers, booleans
 * or null (nested values are refused with a clear error).  NULL + err. */
zpar_jobj_t *zpar__jobj_parse (const char *text, size_t len, zpar_error_t *err);
void zpar__jobj_destroy (zpar_jobj_t *o);

/* Lookups: the string value (owned by o), NULL if absent or not a string;
 * the number value (0/-1 if absent or not a number). */
const char *zpar__jobj_str (const zpar_jobj_t *o, const char *key);
int zpar__jobj_num (const zpar_jobj_t *o, const char *key, double *v);

#endif
