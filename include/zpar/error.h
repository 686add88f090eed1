/* zpar/error.h - the one error contract of the zpar API.
 *
 * Every zpar function that can fail returns -1 (or NULL) and sets errno.
 * Most also take an optional zpar_error_t out-parameter (NULL is allowed)
 * that receives one line of human-readable detail naming the problem and,
 * where there is one, the fix.  On failure no other side effect happens.
 */
#ifndef ZPAR_ERROR_H
#define ZPAR_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#define ZPAR_ERROR_TEXT_MAX 256

typedef struct {
    char text[ZPAR_ERROR_TEXT_MAX];
} zpar_error_t;

#ifdef __cplusplus
}
#endif
#endif
