/* fuzz_proto_task.c - fuzz target for the typed TASK codec (proto_task.c);
 * input and invariants: see codec.h. */
#include "config.h"

#include "codec.h"
#include "proto_task.h"

FUZZ_CODEC_FNS (task, zpar_proto_task_t)
FUZZ_CODEC_CLEAR (task, zpar_proto_task_t)

static const fuzz_codec_t codecs[] = {
    FUZZ_CODEC (ZPAR_MSG_TASK, task, zpar_proto_task_t),
};

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_codecs (codecs, sizeof (codecs) / sizeof (codecs[0]), data, size);
    return 0;
}
