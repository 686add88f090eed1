/* template.h - placeholder templates, shell-like word splitting and shell
 * quoting for sweep commands.  Internal.
 *
 * A template is text with placeholders `{name}`; `{{` and `}}` stand for
 * literal braces.  Names are [A-Za-z_][A-Za-z0-9_]*.  A template is compiled
 * once against the list of known names, then expanded for each point with
 * one value per name.  Expansion never re-parses the values: a value that
 * contains braces, quotes, `$(...)` or `;` is copied as it is (or, with
 * ZPAR_TMPL_SHELL, single-quoted so that /bin/sh reads it back verbatim).
 */
#ifndef ZPAR__SWEEP_TEMPLATE_H
#define ZPAR__SWEEP_TEMPLATE_H

#include <stddef.h>

#include "zpar/error.h"

typedef struct zpar_tmpl zpar_tmpl_t;

typedef enum {
    ZPAR_TMPL_RAW = 0,   /* values inserted as they are */
    ZPAR_TMPL_SHELL = 1, /* values inserted as single-quoted shell words */
} zpar_tmpl_quote_t;

/* Compile text against names[0..nnames-1].  NULL with errno EINVAL and err
 * on an unknown name ("placeholder '{fo}' names no parameter (did you mean
 * 'foo'?)"), an unterminated '{', a lone '}' or an empty/invalid name; then
 * *erroff (if not NULL) receives the byte offset of the problem in text.
 * NULL with ENOMEM.  text and names are not referenced after the call. */
zpar_tmpl_t *zpar__tmpl_compile (const char *text, const char *const *names, size_t nnames,
                                 size_t *erroff, zpar_error_t *err);

/* NULL-safe; keeps errno. */
void zpar__tmpl_destroy (zpar_tmpl_t *t);

/* 1 if t uses names[i] (as given at compile time), else 0. */
int zpar__tmpl_uses (const zpar_tmpl_t *t, size_t i);

/* 1 if t has no placeholders. */
int zpar__tmpl_is_literal (const zpar_tmpl_t *t);

/* Expand t with values[i] for names[i].  Returns a malloc'd string owned by
 * the caller; NULL with ENOMEM. */
char *zpar__tmpl_expand (const zpar_tmpl_t *t, const char *const *values, zpar_tmpl_quote_t quote);

/* Split s into words like a POSIX shell would, without any other shell
 * processing: words are separated by blanks (space, tab, newline); within
 * a word, '...' keeps everything literally, "..." keeps everything except
 * that \" \\ \$ \` and \<newline> are unescaped, and an unquoted backslash
 * escapes the next character.  On success *argv receives a malloc'd
 * NULL-terminated vector (free with zpar__argv_destroy), *argc (if not
 * NULL) its length, and returns 0.  -1 with EINVAL + err + *erroff on an
 * unterminated quote or a trailing backslash; ENOMEM. */
int zpar__tmpl_split (const char *s, char ***argv, size_t *argc, size_t *erroff, zpar_error_t *err);

/* NULL-safe. */
void zpar__argv_destroy (char **argv);

/* s as one single-quoted shell word ('it'\''s'); malloc'd, NULL on ENOMEM. */
char *zpar__tmpl_shell_quote (const char *s);

/* Levenshtein distance between a and b (capped at 255). */
size_t zpar__tmpl_edit_distance (const char *a, const char *b);

/* The candidate nearest to word, or NULL when none is close enough to be a
 * plausible typo (distance at most 2, and less than the word's length). */
const char *zpar__tmpl_suggest (const char *word, const char *const *cands, size_t n);

#endif
