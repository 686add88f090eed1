/* fuzz_proto_monitor.c - fuzz target for the monitor record reader
 * (proto_monitor.c: what the hub reads from the schedulers' PUB sockets).
 *
 * Input: one record, as the message's bytes.  Invariants: items are read
 * in order, each inside the record and after the previous one; a refused
 * record has a reason; a task_run item has no packed message, the others
 * one of at least a header; every packed message either unpacks or is
 * refused with a reason (the hub drops it).
 */
#include "config.h"

#include "fuzz.h"
#include "proto_monitor.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zpar_monitor_item_t it;
    zpar_error_t err;
    zpar_msg_t *m;
    size_t off = 0, last = 0;
    int rc, n = 0;

    FUZZ_CHECK ((m = zpar__msg_create (ZPAR_MSG_NONE)) != NULL);
    err.text[0] = '\0';
    while ((rc = zpar__monitor_next (data, size, &off, &it, &err)) == 1) {
        FUZZ_CHECK (off > last && off <= size);
        FUZZ_CHECK (it.kind > ZPAR_MON_NONE && it.kind < ZPAR_MON_KIND_MAX);
        if (it.kind == ZPAR_MON_TASK_RUN)
            FUZZ_CHECK (it.packed == NULL);
        else {
            FUZZ_CHECK (it.packed && it.len >= ZPAR_HDR_LEN && it.packed >= data &&
                        it.packed + it.len <= data + size);
            err.text[0] = '\0';
            if (zpar__msg_unpack (m, it.packed, it.len, &err) < 0)
                FUZZ_CHECK (err.text[0] != '\0');
            else
                FUZZ_CHECK (m->hdr.task == it.hdr.task && m->hdr.engine == it.hdr.engine);
        }
        last = off;
        n++;
    }
    if (rc < 0)
        FUZZ_CHECK (err.text[0] != '\0');
    (void)n;
    zpar__msg_destroy (m);
    return 0;
}
