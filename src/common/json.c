/* json.c - JSON string writer and flat-object reader. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json.h"

size_t zpar__utf8_len (const unsigned char *p, size_t n)
{
    size_t need;
    uint32_t cp;
    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xE0) == 0xC0) {
        need = 2;
        cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        need = 3;
        cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        need = 4;
        cp = p[0] & 0x07;
    } else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((need == 2 && cp < 0x80) || (need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

void zpar__json_put_str (FILE *f, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    fputc ('"', f);
    while (i < len) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            fputc ('\\', f);
            fputc (c, f);
            i++;
        } else if (c == '\n') {
            fputs ("\\n", f);
            i++;
        } else if (c == '\t') {
            fputs ("\\t", f);
            i++;
        } else if (c == '\r') {
            fputs ("\\r", f);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf (f, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            fputc (c, f);
            i++;
        } else {
            size_t n = zpar__utf8_len (p + i, len - i);
            if (n == 0) {
                fputs ("\\ufffd", f);
                i++;
            } else {
                fwrite (p + i, 1, n, f);
                i += n;
            }
        }
    }
    fputc ('"', f);
}

typedef struct {
    char *key;
    char *str; /* NULL when the value is not a string */
    double num;
    int is_num;
} jpair_t;

struct zpar_jobj {
    jpair_t *pairs;
    size_t n;
};

typedef struct {
    const char *s;
    size_t len;
    size_t pos;
    zpar_error_t *err;
} jparser_t;

static void skip_ws (jparser_t *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int fail (jparser_t *p, const char *what)
{
    return zpar__errnoprintf (p->err, EINVAL, "JSON error at offset %zu: %s", p->pos, what);
}

static int hexval (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char *parse_string (jparser_t *p)
{
    size_t cap = 32, n = 0;
    char *out;
    if (p->pos >= p->len || p->s[p->pos] != '"') {
        fail (p, "expected a string");
        return NULL;
    }
    p->pos++;
    if (!(out = malloc (cap)))
        return NULL;
    while (1) {
        char c;
        if (p->pos >= p->len) {
            fail (p, "unterminated string");
            goto error;
        }
        c = p->s[p->pos++];
        if (n + 5 >= cap) {
            char *nb = realloc (out, cap *= 2);
            if (!nb)
                goto error;
            out = nb;
        }
        if (c == '"')
            break;
        if ((unsigned char)c < 0x20) {
            fail (p, "control character in string");
            goto error;
        }
        if ((unsigned char)c >= 0x80) {
            /* JSON text is UTF-8: refuse what the writer would not give back */
            size_t l =
                zpar__utf8_len ((const unsigned char *)p->s + p->pos - 1, p->len - p->pos + 1);
            if (l == 0) {
                fail (p, "invalid UTF-8 in string");
                goto error;
            }
            memcpy (out + n, p->s + p->pos - 1, l); /* room: n + 5 < cap */
            n += l;
            p->pos += l - 1;
            continue;
        }
        if (c != '\\') {
            out[n++] = c;
            continue;
        }
        if (p->pos >= p->len) {
            fail (p, "unterminated escape");
            goto error;
        }
        c = p->s[p->pos++];
        switch (c) {
        case '"':
        case '\\':
        case '/':
            out[n++] = c;
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'u': {
            unsigned cp = 0;
            if (p->len - p->pos < 4) {
                fail (p, "short \\u escape");
                goto error;
            }
            for (int i = 0; i < 4; i++) {
                int h = hexval (p->s[p->pos++]);
                if (h < 0) {
                    fail (p, "bad \\u escape");
                    goto error;
                }
                cp = (cp << 4) | (unsigned)h;
            }
            if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) {
                fail (p, "unsupported \\u escape");
                goto error;
            }
            if (cp < 0x80)
                out[n++] = (char)cp;
            else if (cp < 0x800) {
                out[n++] = (char)(0xC0 | (cp >> 6));
                out[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                out[n++] = (char)(0xE0 | (cp >> 12));
                out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[n++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            fail (p, "bad escape");
            goto error;
        }
    }
    out[n] = '\0';
    return out;
error:
    free (out);
    return NULL;
}

void zpar__jobj_destroy (zpar_jobj_t *o)
{
    if (o) {
        int saved = errno;
        for (size_t i = 0; i < o->n; i++) {
            free (o->pairs[i].key);
            free (o->pairs[i].str);
        }
        free (o->pairs);
        free (o);
        errno = saved;
    }
}

zpar_jobj_t *zpar__jobj_parse (const char *text, size_t len, zpar_error_t *err)
{
    jparser_t p = {text, len, 0, err};
    zpar_jobj_t *o = calloc (1, sizeof (*o));
    size_t cap = 0;

    if (!o || !text)
        goto error;
    skip_ws (&p);
    if (p.pos >= p.len || text[p.pos] != '{') {
        fail (&p, "expected '{'");
        goto error;
    }
    p.pos++;
    skip_ws (&p);
    if (p.pos < p.len && text[p.pos] == '}') {
        p.pos++;
        goto done;
    }
    while (1) {
        jpair_t pr = {0};
        skip_ws (&p);
        if (!(pr.key = parse_string (&p)))
            goto error;
        skip_ws (&p);
        if (p.pos >= p.len || text[p.pos] != ':') {
            free (pr.key);
            fail (&p, "expected ':'");
            goto error;
        }
        p.pos++;
        skip_ws (&p);
        if (p.pos < p.len && text[p.pos] == '"') {
            if (!(pr.str = parse_string (&p))) {
                free (pr.key);
                goto error;
            }
        } else if (p.pos < p.len &&
                   (text[p.pos] == '-' || (text[p.pos] >= '0' && text[p.pos] <= '9'))) {
            char buf[64];
            size_t k = 0;
            char *end;
            while (p.pos < p.len && k < sizeof (buf) - 1 && strchr ("+-0123456789.eE", text[p.pos]))
                buf[k++] = text[p.pos++];
            buf[k] = '\0';
            pr.num = strtod (buf, &end);
            if (*end != '\0') {
                free (pr.key);
                fail (&p, "bad number");
                goto error;
            }
            pr.is_num = 1;
        } else if (p.len - p.pos >= 4 && memcmp (text + p.pos, "true", 4) == 0) {
            pr.num = 1, pr.is_num = 1, p.pos += 4;
        } else if (p.len - p.pos >= 5 && memcmp (text + p.pos, "false", 5) == 0) {
            pr.num = 0, pr.is_num = 1, p.pos += 5;
        } else if (p.len - p.pos >= 4 && memcmp (text + p.pos, "null", 4) == 0) {
            p.pos += 4;
        } else {
            free (pr.key);
            fail (&p, "expected a string, number, boolean or null value");
            goto error;
        }
        if (o->n == cap) {
            jpair_t *np = realloc (o->pairs, (cap = cap ? cap * 2 : 16) * sizeof (*np));
            if (!np) {
                free (pr.key);
                free (pr.str);
                goto error;
            }
            o->pairs = np;
        }
        o->pairs[o->n++] = pr;
        skip_ws (&p);
        if (p.pos < p.len && text[p.pos] == ',') {
            p.pos++;
            continue;
        }
        if (p.pos < p.len && text[p.pos] == '}') {
            p.pos++;
            break;
        }
        fail (&p, "expected ',' or '}'");
        goto error;
    }
done:
    skip_ws (&p);
    if (p.pos != p.len) {
        fail (&p, "trailing characters after the object");
        goto error;
    }
    return o;
error:
    zpar__jobj_destroy (o);
    if (errno != ENOMEM)
        errno = EINVAL;
    return NULL;
}

static const jpair_t *jfind (const zpar_jobj_t *o, const char *key)
{
    for (size_t i = o->n; i-- > 0;)
        if (strcmp (o->pairs[i].key, key) == 0)
            return &o->pairs[i];
    return NULL;
}

const char *zpar__jobj_str (const zpar_jobj_t *o, const char *key)
{
    const jpair_t *p = o ? jfind (o, key) : NULL;
    return p ? p->str : NULL;
}

int zpar__jobj_num (const zpar_jobj_t *o, const char *key, double *v)
{
    const jpair_t *p = o ? jfind (o, key) : NULL;
    if (!p || !p->is_num) {
        errno = ENOENT;
        return -1;
    }
    *v = p->num;
    return 0;
}
