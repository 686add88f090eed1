/* fuzz_proto_control.c - fuzz target for the typed control codecs
 * (proto_control.c: ABORT, INTERRUPT, SHUTDOWN, CONTROL_REPLY); input and
 * invariants: see codec.h. */
#include "config.h"

#include "codec.h"
#include "proto_control.h"

FUZZ_CODEC_FNS (control, zpar_proto_control_t)
FUZZ_CODEC_FNS (control_reply, zpar_proto_control_reply_t)
FUZZ_CODEC_CLEAR (control_reply, zpar_proto_control_reply_t)

static const fuzz_codec_t codecs[] = {
    FUZZ_CODEC_NOCLEAR (ZPAR_MSG_ABORT, control, zpar_proto_control_t),
    FUZZ_CODEC_NOCLEAR (ZPAR_MSG_INTERRUPT, control, zpar_proto_control_t),
    FUZZ_CODEC_NOCLEAR (ZPAR_MSG_SHUTDOWN, control, zpar_proto_control_t),
    FUZZ_CODEC (ZPAR_MSG_CONTROL_REPLY, control_reply, zpar_proto_control_reply_t),
};

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_codecs (codecs, sizeof (codecs) / sizeof (codecs[0]), data, size);
    return 0;
}
