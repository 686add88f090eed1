/* fuzz_json.c - fuzz target for the flat-object JSON reader and the string
 * writer of json.c.
 *
 * Input: the text given to zpar__jobj_parse (it need not be NUL-terminated).
 * Invariants: lookups of a parsed object return strings or numbers without
 * crashing; zpar__utf8_len never claims more bytes than are left; any bytes
 * without NUL (which a C string cannot hold, so the reader refuses \u0000)
 * written with zpar__json_put_str parse back as the value of an object, the
 * same bytes when they were valid UTF-8.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"

static const char *const keys[] = {"version", "key", "host", "pid", "a", "", "job", NULL};

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zpar_error_t err;
    zpar_jobj_t *o;
    char *buf = NULL;
    size_t blen = 0;
    FILE *f;
    int valid = 1, nul = 0;

    if ((o = zpar__jobj_parse ((const char *)data, size, &err))) {
        for (int i = 0; keys[i]; i++) {
            double v;
            const char *s = zpar__jobj_str (o, keys[i]);
            if (s)
                FUZZ_CHECK (strlen (s) <= size);
            (void)zpar__jobj_num (o, keys[i], &v);
        }
        zpar__jobj_destroy (o);
    } else {
        FUZZ_CHECK (err.text[0] != '\0');
    }
    for (size_t i = 0; i < size;) {
        size_t l = zpar__utf8_len (data + i, size - i);
        FUZZ_CHECK (l <= 4 && l <= size - i);
        valid = valid && l > 0 && data[i] != 0;
        nul = nul || data[i] == 0;
        i += l ? l : 1;
    }
    if (nul)
        return 0;
    /* the writer's output is valid JSON for the reader */
    FUZZ_CHECK ((f = open_memstream (&buf, &blen)) != NULL);
    fputs ("{\"k\": ", f);
    zpar__json_put_str (f, (const char *)data, size);
    fputs ("}", f);
    FUZZ_CHECK (fclose (f) == 0);
    o = zpar__jobj_parse (buf, blen, &err);
    if (!o)
        fprintf (stderr, "writer output not read back: %s\n", err.text);
    FUZZ_CHECK (o != NULL);
    FUZZ_CHECK (zpar__jobj_str (o, "k") != NULL);
    if (valid)
        FUZZ_CHECK (strlen (zpar__jobj_str (o, "k")) == size &&
                    memcmp (zpar__jobj_str (o, "k"), data, size) == 0);
    zpar__jobj_destroy (o);
    free (buf);
    return 0;
}
