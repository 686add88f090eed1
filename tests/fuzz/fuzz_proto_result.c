/* fuzz_proto_result.c - fuzz target for the typed RESULT codec
 * (proto_result.c); input and invariants: see codec.h. */
#include "config.h"

#include "codec.h"
#include "proto_result.h"

FUZZ_CODEC_FNS (result, zpar_proto_result_t)
FUZZ_CODEC_CLEAR (result, zpar_proto_result_t)

static const fuzz_codec_t codecs[] = {
    FUZZ_CODEC (ZPAR_MSG_RESULT, result, zpar_proto_result_t),
};

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_codecs (codecs, sizeof (codecs) / sizeof (codecs[0]), data, size);
    return 0;
}
