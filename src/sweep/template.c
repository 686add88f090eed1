/* template.c - placeholder templates, word splitting, shell quoting. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "template.h"

typedef struct {
    char *lit;  /* literal text, or NULL for a placeholder */
    size_t ref; /* placeholder: index into names */
} seg_t;

struct zpar_tmpl {
    seg_t *segs;
    size_t nsegs;
    size_t nnames;
    unsigned char *used;
};

/* A growing string. */
typedef struct {
    char *s;
    size_t len, cap;
} sbuf_t;

static int sb_putn (sbuf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 32;
        char *ns;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        if (!(ns = realloc (b->s, ncap)))
            return -1;
        b->s = ns;
        b->cap = ncap;
    }
    memcpy (b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

static int sb_putc (sbuf_t *b, char c)
{
    return sb_putn (b, &c, 1);
}

/* An sbuf's string, "" when nothing was added; NULL on ENOMEM. */
static char *sb_take (sbuf_t *b)
{
    char *s = b->s ? b->s : strdup ("");
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

size_t zpar__tmpl_edit_distance (const char *a, const char *b)
{
    size_t la = strlen (a), lb = strlen (b);
    size_t row[64];
    if (la > 62 || lb > 62)
        return 255;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb] > 255 ? 255 : row[lb];
}

const char *zpar__tmpl_suggest (const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t bestd = 3, wl = strlen (word);
    for (size_t i = 0; i < n; i++) {
        size_t d = zpar__tmpl_edit_distance (word, cands[i]);
        if (d < bestd && d < wl) {
            best = cands[i];
            bestd = d;
        }
    }
    return best;
}

static int name_start (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int name_char (char c)
{
    return name_start (c) || (c >= '0' && c <= '9');
}

void zpar__tmpl_destroy (zpar_tmpl_t *t)
{
    if (t) {
        int saved = errno;
        for (size_t i = 0; i < t->nsegs; i++)
            free (t->segs[i].lit);
        free (t->segs);
        free (t->used);
        free (t);
        errno = saved;
    }
}

static int add_seg (zpar_tmpl_t *t, char *lit, size_t ref)
{
    seg_t *ns = realloc (t->segs, (t->nsegs + 1) * sizeof (*ns));
    if (!ns)
        return -1;
    t->segs = ns;
    t->segs[t->nsegs].lit = lit;
    t->segs[t->nsegs].ref = ref;
    t->nsegs++;
    return 0;
}

static int flush_lit (zpar_tmpl_t *t, sbuf_t *b)
{
    char *lit;
    if (b->len == 0)
        return 0;
    if (!(lit = sb_take (b)))
        return -1;
    if (add_seg (t, lit, 0) < 0) {
        free (lit);
        return -1;
    }
    return 0;
}

zpar_tmpl_t *zpar__tmpl_compile (const char *text, const char *const *names, size_t nnames,
                                 size_t *erroff, zpar_error_t *err)
{
    zpar_tmpl_t *t;
    sbuf_t b = {0};
    size_t i = 0;

    if (!text || (nnames && !names)) {
        errno = EINVAL;
        return NULL;
    }
    if (!(t = calloc (1, sizeof (*t))) || !(t->used = calloc (nnames + 1, 1)))
        goto nomem;
    t->nnames = nnames;
    while (text[i]) {
        char c = text[i];
        if (c == '{' && text[i + 1] == '{') {
            if (sb_putc (&b, '{') < 0)
                goto nomem;
            i += 2;
        } else if (c == '}' && text[i + 1] == '}') {
            if (sb_putc (&b, '}') < 0)
                goto nomem;
            i += 2;
        } else if (c == '}') {
            if (erroff)
                *erroff = i;
            zpar__errnoprintf (err, EINVAL, "lone '}' (write '}}' for a literal brace)");
            goto error;
        } else if (c == '{') {
            size_t start = i + 1, end = start, k;
            char name[64];
            while (text[end] && text[end] != '}' && text[end] != '{')
                end++;
            if (text[end] != '}') {
                if (erroff)
                    *erroff = i;
                zpar__errnoprintf (err, EINVAL,
                                   "unterminated '{' (write '{{' for a literal brace)");
                goto error;
            }
            if (end == start || end - start >= sizeof (name) || !name_start (text[start])) {
                if (erroff)
                    *erroff = i;
                zpar__errnoprintf (err, EINVAL,
                                   "'{%.*s}' is not a placeholder (names are letters, digits "
                                   "and '_'; write '{{' for a literal brace)",
                                   (int)(end - start > 40 ? 40 : end - start), text + start);
                goto error;
            }
            for (k = start; k < end; k++) {
                if (!name_char (text[k])) {
                    if (erroff)
                        *erroff = i;
                    zpar__errnoprintf (err, EINVAL,
                                       "'{%.*s}' is not a placeholder (names are letters, "
                                       "digits and '_'; write '{{' for a literal brace)",
                                       (int)(end - start > 40 ? 40 : end - start), text + start);
                    goto error;
                }
            }
            memcpy (name, text + start, end - start);
            name[end - start] = '\0';
            for (k = 0; k < nnames; k++)
                if (strcmp (names[k], name) == 0)
                    break;
            if (k == nnames) {
                const char *hint = zpar__tmpl_suggest (name, names, nnames);
                if (erroff)
                    *erroff = i;
                if (hint)
                    zpar__errnoprintf (err, EINVAL,
                                       "placeholder '{%s}' names no parameter "
                                       "(did you mean '{%s}'?)",
                                       name, hint);
                else
                    zpar__errnoprintf (err, EINVAL, "placeholder '{%s}' names no parameter", name);
                goto error;
            }
            if (flush_lit (t, &b) < 0 || add_seg (t, NULL, k) < 0)
                goto nomem;
            t->used[k] = 1;
            i = end + 1;
        } else {
            size_t n = strcspn (text + i, "{}");
            if (sb_putn (&b, text + i, n) < 0)
                goto nomem;
            i += n;
        }
    }
    if (flush_lit (t, &b) < 0)
        goto nomem;
    return t;
nomem:
    zpar__errnoprintf (err, ENOMEM, "out of memory");
error:
    free (b.s);
    zpar__tmpl_destroy (t);
    return NULL;
}

int zpar__tmpl_uses (const zpar_tmpl_t *t, size_t i)
{
    return t && i < t->nnames ? t->used[i] : 0;
}

int zpar__tmpl_is_literal (const zpar_tmpl_t *t)
{
    for (size_t i = 0; t && i < t->nsegs; i++)
        if (!t->segs[i].lit)
            return 0;
    return 1;
}

static int put_quoted (sbuf_t *b, const char *s)
{
    if (sb_putc (b, '\'') < 0)
        return -1;
    while (*s) {
        size_t n = strcspn (s, "'");
        if (sb_putn (b, s, n) < 0)
            return -1;
        s += n;
        if (*s == '\'') {
            if (sb_putn (b, "'\\''", 4) < 0)
                return -1;
            s++;
        }
    }
    return sb_putc (b, '\'');
}

char *zpar__tmpl_expand (const zpar_tmpl_t *t, const char *const *values, zpar_tmpl_quote_t quote)
{
    sbuf_t b = {0};
    if (!t) {
        errno = EINVAL;
        return NULL;
    }
    for (size_t i = 0; i < t->nsegs; i++) {
        const seg_t *sg = &t->segs[i];
        int rc;
        if (sg->lit)
            rc = sb_putn (&b, sg->lit, strlen (sg->lit));
        else if (quote == ZPAR_TMPL_SHELL)
            rc = put_quoted (&b, values[sg->ref] ? values[sg->ref] : "");
        else
            rc = values[sg->ref] ? sb_putn (&b, values[sg->ref], strlen (values[sg->ref])) : 0;
        if (rc < 0) {
            free (b.s);
            return NULL;
        }
    }
    return sb_take (&b);
}

char *zpar__tmpl_shell_quote (const char *s)
{
    sbuf_t b = {0};
    if (put_quoted (&b, s ? s : "") < 0) {
        free (b.s);
        return NULL;
    }
    return b.s;
}

void zpar__argv_destroy (char **argv)
{
    if (argv) {
        int saved = errno;
        for (size_t i = 0; argv[i]; i++)
            free (argv[i]);
        free (argv);
        errno = saved;
    }
}

static int push_word (char ***argv, size_t *n, sbuf_t *b)
{
    char **nv = realloc (*argv, (*n + 2) * sizeof (*nv));
    char *w;
    if (!nv)
        return -1;
    *argv = nv;
    if (!(w = sb_take (b)))
        return -1;
    nv[(*n)++] = w;
    nv[*n] = NULL;
    return 0;
}

int zpar__tmpl_split (const char *s, char ***argvp, size_t *argcp, size_t *erroff,
                      zpar_error_t *err)
{
    char **argv = NULL;
    size_t n = 0, i = 0;
    sbuf_t b = {0};

    if (!s || !argvp)
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    if (!(argv = calloc (1, sizeof (*argv))))
        goto nomem;
    while (1) {
        int inword = 0;
        while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
            i++;
        if (!s[i])
            break;
        while (s[i] && !(s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) {
            char c = s[i];
            inword = 1;
            if (c == '\'') {
                size_t open = i++;
                while (s[i] && s[i] != '\'')
                    if (sb_putc (&b, s[i++]) < 0)
                        goto nomem;
                if (!s[i]) {
                    if (erroff)
                        *erroff = open;
                    zpar__errnoprintf (err, EINVAL, "unterminated single quote");
                    goto error;
                }
                i++;
                if (!b.s && sb_putn (&b, "", 0) < 0) /* '' is an empty word */
                    goto nomem;
            } else if (c == '"') {
                size_t open = i++;
                while (s[i] && s[i] != '"') {
                    if (s[i] == '\\' && s[i + 1] && strchr ("\"\\$`\n", s[i + 1])) {
                        if (s[i + 1] != '\n' && sb_putc (&b, s[i + 1]) < 0)
                            goto nomem;
                        i += 2;
                    } else if (sb_putc (&b, s[i++]) < 0)
                        goto nomem;
                }
                if (!s[i]) {
                    if (erroff)
                        *erroff = open;
                    zpar__errnoprintf (err, EINVAL, "unterminated double quote");
                    goto error;
                }
                i++;
                if (!b.s && sb_putn (&b, "", 0) < 0)
                    goto nomem;
            } else if (c == '\\') {
                if (!s[i + 1]) {
                    if (erroff)
                        *erroff = i;
                    zpar__errnoprintf (err, EINVAL, "trailing backslash");
                    goto error;
                }
                if (s[i + 1] != '\n' && sb_putc (&b, s[i + 1]) < 0)
                    goto nomem;
                i += 2;
            } else {
                if (sb_putc (&b, c) < 0)
                    goto nomem;
                i++;
            }
        }
        if (inword && (b.s || b.len) && push_word (&argv, &n, &b) < 0)
            goto nomem;
    }
    *argvp = argv;
    if (argcp)
        *argcp = n;
    return 0;
nomem:
    zpar__errnoprintf (err, ENOMEM, "out of memory");
error:
    free (b.s);
    zpar__argv_destroy (argv);
    return -1;
}
