/* fuzz_proto_iopub.c - fuzz target for the typed IOPub and notification
 * codecs (proto_iopub.c: STREAM, TASK_STATUS, NOTIFY); input and
 * invariants: see codec.h. */
#include "config.h"

#include "codec.h"
#include "proto_iopub.h"

FUZZ_CODEC_FNS (stream, zpar_proto_stream_t)
FUZZ_CODEC_FNS (task_status, zpar_proto_task_status_t)
FUZZ_CODEC_FNS (notify, zpar_proto_notify_t)

static const fuzz_codec_t codecs[] = {
    FUZZ_CODEC_NOCLEAR (ZPAR_MSG_STREAM, stream, zpar_proto_stream_t),
    FUZZ_CODEC_NOCLEAR (ZPAR_MSG_TASK_STATUS, task_status, zpar_proto_task_status_t),
    FUZZ_CODEC_NOCLEAR (ZPAR_MSG_NOTIFY, notify, zpar_proto_notify_t),
};

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_codecs (codecs, sizeof (codecs) / sizeof (codecs[0]), data, size);
    return 0;
}
