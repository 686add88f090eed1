/* fuzz_proto_pipe.c - fuzz target for the hub <-> scheduler pipe codec
 * (proto_pipe.c) and the relay inject check.
 *
 * Input: frames (layout in frames.h).  Invariants: a refused message has a
 * reason; a decoded one encodes again into frames that decode to the same
 * kind, ids and request bytes; zpar__pipe_inject_is_term answers 1, 0 or
 * -1 and says 1 exactly for ["$TERM"].
 */
#include "config.h"

#include "frames.h"
#include "proto_pipe.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zpar_frames_t f, f2;
    zpar_pipe_msg_t m, m2;
    zpar_error_t err;
    int t;

    fuzz_frames_split (data, size, &f);
    t = zpar__pipe_inject_is_term (&f);
    FUZZ_CHECK (t == 1 || t == 0 || t == -1);
    if (t == 1)
        FUZZ_CHECK (f.n == 1 && zmq_msg_size (&f.part[0]) == 5 &&
                    memcmp (zmq_msg_data (&f.part[0]), "$TERM", 5) == 0);
    err.text[0] = '\0';
    if (zpar__pipe_decode (&f, &m, &err) == 0) {
        FUZZ_CHECK (m.kind > ZPAR_PIPE_NONE && m.kind < ZPAR_PIPE_KIND_MAX);
        FUZZ_CHECK (strcmp (zpar__pipe_kind_name (m.kind), "?") != 0);
        FUZZ_CHECK (zpar__pipe_encode (&m, &f2) == 0);
        FUZZ_CHECK (zpar__pipe_decode (&f2, &m2, &err) == 0);
        FUZZ_CHECK (m2.kind == m.kind);
        switch (m.kind) {
        case ZPAR_PIPE_UP:
        case ZPAR_PIPE_DOWN:
            FUZZ_CHECK (m2.engine == m.engine);
            break;
        case ZPAR_PIPE_DONE:
            FUZZ_CHECK (m2.task == m.task && m2.ok == m.ok);
            break;
        case ZPAR_PIPE_DEP_QUERY:
            FUZZ_CHECK (m2.task == m.task);
            break;
        case ZPAR_PIPE_REQUEUE:
            FUZZ_CHECK (m2.len == m.len && m.len >= ZPAR_HDR_LEN &&
                        memcmp (m2.data, m.data, m.len) == 0);
            break;
        default:
            break;
        }
        zpar__frames_close (&f2);
    } else {
        FUZZ_CHECK (err.text[0] != '\0');
    }
    zpar__frames_close (&f);
    return 0;
}
