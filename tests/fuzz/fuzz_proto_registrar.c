/* fuzz_proto_registrar.c - fuzz target for the typed registrar codecs
 * (proto_registrar.c: engine and client registration and replies,
 * unregistration, queries and their replies); input and invariants: see
 * codec.h. */
#include "config.h"

#include "codec.h"
#include "proto_registrar.h"

FUZZ_CODEC_FNS (reg_engine, zpar_proto_reg_engine_t)
FUZZ_CODEC_CLEAR (reg_engine, zpar_proto_reg_engine_t)
FUZZ_CODEC_FNS (reg_engine_reply, zpar_proto_reg_engine_reply_t)
FUZZ_CODEC_CLEAR (reg_engine_reply, zpar_proto_reg_engine_reply_t)
FUZZ_CODEC_FNS (reg_client, zpar_proto_reg_client_t)
FUZZ_CODEC_FNS (reg_client_reply, zpar_proto_reg_client_reply_t)
FUZZ_CODEC_CLEAR (reg_client_reply, zpar_proto_reg_client_reply_t)
FUZZ_CODEC_FNS (unregister, zpar_proto_unregister_t)
FUZZ_CODEC_FNS (query, zpar_proto_query_t)
FUZZ_CODEC_FNS (query_reply, zpar_proto_query_reply_t)
FUZZ_CODEC_CLEAR (query_reply, zpar_proto_query_reply_t)

static const fuzz_codec_t codecs[] = {
    FUZZ_CODEC (ZPAR_MSG_REGISTER_ENGINE, reg_engine, zpar_proto_reg_engine_t),
    FUZZ_CODEC (ZPAR_MSG_REGISTER_ENGINE_REPLY, reg_engine_reply, zpar_proto_reg_engine_reply_t),
    FUZZ_CODEC_NOCLEAR (ZPAR_MSG_REGISTER_CLIENT, reg_client, zpar_proto_reg_client_t),
    FUZZ_CODEC (ZPAR_MSG_REGISTER_CLIENT_REPLY, reg_client_reply, zpar_proto_reg_client_reply_t),
    FUZZ_CODEC_NOCLEAR (ZPAR_MSG_UNREGISTER, unregister, zpar_proto_unregister_t),
    FUZZ_CODEC_NOCLEAR (ZPAR_MSG_QUERY, query, zpar_proto_query_t),
    FUZZ_CODEC (ZPAR_MSG_QUERY_REPLY, query_reply, zpar_proto_query_reply_t),
};

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_codecs (codecs, sizeof (codecs) / sizeof (codecs[0]), data, size);
    return 0;
}
