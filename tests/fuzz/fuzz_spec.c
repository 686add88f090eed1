/* fuzz_spec.c - fuzz target for the sweep file parser (src/sweep/spec.c,
 * with params.c, template.c and duration.c behind it).
 *
 * Input: the YAML text of a sweep file, loaded from memory with
 * zpar__sweep_spec_load_buffer as if it were /nonexistent/zpar-fuzz/s.yaml
 * (so a params file: or a relative path names nothing that exists).
 * Invariants: a refused file has an error message; an accepted one has at
 * least one point, and its first points turn into tasks whose argv is
 * non-empty and NULL-terminated.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "params.h"
#include "spec.h"

#define FUZZ_POINTS 4

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zpar_sweep_spec_t *spec;
    zpar_sweep_iter_t *it;
    zpar_error_t err;

    spec = zpar__sweep_spec_load_buffer ((const char *)data, size, "/nonexistent/zpar-fuzz/s.yaml",
                                         &err);
    if (!spec) {
        FUZZ_CHECK (err.text[0] != '\0');
        return 0;
    }
    FUZZ_CHECK (zpar__sweep_spec_count (spec) >= 1);
    FUZZ_CHECK (zpar__sweep_spec_count (spec) <= zpar__sweep_spec_size (spec));
    (void)zpar__sweep_spec_name (spec);
    for (size_t i = 0; i < zpar__sweep_spec_nparams (spec); i++)
        FUZZ_CHECK (zpar__sweep_spec_param_name (spec, i) != NULL);
    if (zpar__sweep_spec_size (spec) <= 100000 && (it = zpar__sweep_spec_iter_create (spec))) {
        const zpar_sweep_point_t *pt;
        for (int n = 0; n < FUZZ_POINTS && (pt = zpar__sweep_iter_next (it)); n++) {
            zpar_sweep_task_t *t = zpar__sweep_spec_task (spec, pt, &err);
            if (!t)
                continue; /* a template may not fit a value: an error, not a crash */
            FUZZ_CHECK (t->argc >= 1 && t->argv[t->argc] == NULL);
            FUZZ_CHECK (strlen (t->key) == ZPAR_SWEEP_KEY_SIZE - 1);
            zpar__sweep_task_destroy (t);
        }
        zpar__sweep_iter_destroy (it);
    }
    zpar__sweep_spec_destroy (spec);
    return 0;
}
