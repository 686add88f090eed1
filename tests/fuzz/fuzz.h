/* fuzz.h - the contract of a zpar fuzz target (tests/fuzz/fuzz_*.c).
 *
 * Each target defines LLVMFuzzerTestOneInput for one decoder: it feeds the
 * input to the decoder, checks the decoder's own invariants (a decoded
 * message encodes back to the same bytes, getters stay in bounds) and
 * calls abort() on a violation.  Inputs are never trusted; the target must
 * not leak or keep state between calls beyond caches it frees at exit.
 *
 * The same file builds two ways (see Makefile.am and doc/testing.md):
 *   - with clang -fsanitize=fuzzer,address,undefined into a libFuzzer
 *     binary (make fuzz), which grows tests/fuzz/corpus/<target>/;
 *   - with the normal compiler and replay.c into a TAP test that runs the
 *     target on every file of its committed corpus (make check).
 */
#ifndef ZPAR_FUZZ_H
#define ZPAR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Abort with a message when an invariant of the decoder does not hold. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);          \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

#endif
