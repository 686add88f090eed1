/* fuzz_proto_monitor.c - fuzz target for the monitor copy decoder
 * (proto_monitor.c: what the hub reads from the schedulers' PUB sockets).
 *
 * Input: frames (layout in frames.h), [tag, "ZPAR1", signature, header,
 * body] when well formed.  Invariants: a refused message has a reason; a
 * decoded one has a known kind whose tag is its first frame, carries that
 * tag as its only routing frame, and packs back to its header and body.
 */
#include "config.h"

#include "frames.h"
#include "proto_monitor.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zpar_monitor_kind_t kind = ZPAR_MON_NONE;
    zpar_frames_t f;
    zpar_error_t err;
    zpar_msg_t *m;

    fuzz_frames_split (data, size, &f);
    if (f.n > 0)
        (void)zpar__monitor_kind (zmq_msg_data (&f.part[0]), zmq_msg_size (&f.part[0]));
    FUZZ_CHECK ((m = zpar__msg_create (ZPAR_MSG_NONE)) != NULL);
    err.text[0] = '\0';
    if (zpar__monitor_decode (&f, &kind, m, &err) == 0) {
        const char *tag = zpar__monitor_tag (kind);
        uint8_t *buf;
        size_t len;
        FUZZ_CHECK (kind > ZPAR_MON_NONE && kind < ZPAR_MON_KIND_MAX);
        FUZZ_CHECK (zmq_msg_size (&f.part[0]) == strlen (tag) &&
                    memcmp (zmq_msg_data (&f.part[0]), tag, strlen (tag)) == 0);
        FUZZ_CHECK (zpar__monitor_kind (tag, strlen (tag)) == kind);
        FUZZ_CHECK (m->nenv == 1 && m->env[0].len == strlen (tag));
        FUZZ_CHECK (zpar__msg_pack (m, &buf, &len) == 0);
        FUZZ_CHECK (len == ZPAR_HDR_LEN + zmq_msg_size (&f.part[f.n - 1]));
        free (buf);
    } else {
        FUZZ_CHECK (err.text[0] != '\0');
    }
    zpar__msg_destroy (m);
    zpar__frames_close (&f);
    return 0;
}
