/* frames.h - fuzz input to zpar_frames_t, for the targets of decoders that
 * take raw frames (fuzz_wire.c, fuzz_proto_pipe.c, fuzz_proto_monitor.c).
 *
 * Layout: frames one after the other, each a u16 little-endian length and
 * its bytes (a length past the end takes what is left); the last possible
 * frame (the ZPAR_MAX_PARTS-th) or the rest of a too-short input takes
 * the remaining bytes.  gen_seeds.c writes the same layout. */
#ifndef ZPAR_FUZZ_FRAMES_H
#define ZPAR_FUZZ_FRAMES_H

#include <string.h>
#include <zmq.h>

#include "fuzz.h"
#include "wire.h"

static inline void fuzz_frames_split (const uint8_t *p, size_t n, zpar_frames_t *f)
{
    memset (f, 0, sizeof (*f));
    f->delim = -1;
    while (f->n < ZPAR_MAX_PARTS) {
        size_t len = n;
        if (n >= 2 && f->n < ZPAR_MAX_PARTS - 1) {
            len = (size_t)(p[0] | (p[1] << 8));
            p += 2;
            n -= 2;
            if (len > n)
                len = n;
        }
        FUZZ_CHECK (zmq_msg_init_size (&f->part[f->n], len) == 0);
        if (len)
            memcpy (zmq_msg_data (&f->part[f->n]), p, len);
        f->n++;
        p += len;
        n -= len;
        if (n == 0)
            break;
    }
}

#endif
