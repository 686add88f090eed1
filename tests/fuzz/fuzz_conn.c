/* fuzz_conn.c - fuzz target for the connection-file parser (conn.c).
 *
 * Input: the text of a connection file (made NUL-terminated here, as
 * zpar__conn_read does).  Invariants: an accepted file is written back by
 * zpar__conn_to_string into text that is accepted again with the same key,
 * pid and addresses.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zpar_conninfo_t ci, again;
    zpar_error_t err;
    char *text = malloc (size + 1), *out;

    FUZZ_CHECK (text != NULL);
    memcpy (text, data, size);
    text[size] = '\0';
    if (zpar__conn_from_string (text, &ci, &err) == 0) {
        FUZZ_CHECK ((out = zpar__conn_to_string (&ci)) != NULL);
        if (zpar__conn_from_string (out, &again, &err) != 0)
            fprintf (stderr, "written back, not read again: %s\n%s\n", err.text, out);
        FUZZ_CHECK (zpar__conn_from_string (out, &again, &err) == 0);
        FUZZ_CHECK (memcmp (ci.key, again.key, ZPAR_KEY_LEN) == 0);
        FUZZ_CHECK (ci.pid == again.pid);
        for (int i = 0; i < ZPAR_EP_COUNT; i++)
            FUZZ_CHECK (strncmp (ci.addr[i], again.addr[i], 6) == 0);
        free (out);
    } else {
        FUZZ_CHECK (err.text[0] != '\0');
    }
    free (text);
    return 0;
}
