/* zmtp.h - a small codec for ZMTP 3.0 (RFC 23/ZMTP) with the NULL mechanism.
 *
 * Enough of the ZeroMQ wire protocol for a process that does its own TCP I/O
 * to talk to libzmq peers: the 64-byte greeting, the READY command (its
 * Socket-Type and Identity properties), PING/PONG (ZMTP 3.1), and the frame
 * header.  No I/O, no allocation, no globals: every function works on bytes
 * the caller owns, and every decoder is bounds-checked against the length it
 * is given.
 *
 * The stream, after the greeting, is a sequence of frames:
 *
 *   flags (1 byte: bit 0 MORE, bit 1 LONG, bit 2 COMMAND, others 0)
 *   size  (1 byte, or 8 bytes big-endian when LONG)
 *   body  (size bytes)
 *
 * A command's body is name-size (1 byte), name, then the command's data; the
 * READY command's data is a list of properties, each name-size (1 byte),
 * name, value-size (4 bytes big-endian), value.
 */
#ifndef ZPAR__ZMTP_H
#define ZPAR__ZMTP_H

#include <stddef.h>
#include <stdint.h>

enum {
    ZPAR_ZMTP_GREETING_SIZE = 64,
    ZPAR_ZMTP_HEADER_MAX = 9, /* flags + 8-byte size */
    ZPAR_ZMTP_SOCKET_TYPE_MAX = 16,
    ZPAR_ZMTP_IDENTITY_MAX = 255,
};

enum zpar__zmtp_flag {
    ZPAR_ZMTP_MORE = 0x01,
    ZPAR_ZMTP_LONG = 0x02,
    ZPAR_ZMTP_COMMAND = 0x04,
};

/* The peer's READY, decoded: its socket type (a NUL-terminated string) and
 * its Identity property (identity_len 0 when absent or empty). */
struct zpar__zmtp_ready {
    char socket_type[ZPAR_ZMTP_SOCKET_TYPE_MAX + 1];
    unsigned char identity[ZPAR_ZMTP_IDENTITY_MAX];
    size_t identity_len;
};

/* Write this side's greeting to g: signature, version 3.0, mechanism NULL,
 * as-server 0, filler. */
void zpar__zmtp_greeting (unsigned char g[ZPAR_ZMTP_GREETING_SIZE]);

/* Check the first len bytes of a peer's greeting.  Returns
 * ZPAR_ZMTP_GREETING_SIZE when the whole greeting is there and acceptable (major
 * version 3 or later, mechanism NULL), 0 when the bytes so far are fine but
 * more are needed, and -1 when the peer cannot be spoken to (not ZMTP, an
 * older version, another mechanism). */
int zpar__zmtp_greeting_check (const unsigned char *g, size_t len);

/* Decode a frame header from the first len bytes of p.  Returns the header's
 * length (2 or 9) and sets *flags and *size, 0 when more bytes are needed,
 * or -1 when the flags byte has reserved bits set. */
int zpar__zmtp_header_decode (const unsigned char *p, size_t len, int *flags, uint64_t *size);

/* Write a frame header for a body of size bytes to h (ZPAR_ZMTP_HEADER_MAX bytes
 * of room); the LONG bit is set here when size needs it, so flags carries
 * only MORE and COMMAND.  Returns the header's length. */
size_t zpar__zmtp_header_encode (unsigned char *h, int flags, uint64_t size);

/* Build a whole READY command frame (header and body) announcing
 * socket_type, into out (cap bytes).  Returns its length, or 0 when it does
 * not fit. */
size_t zpar__zmtp_ready_encode (unsigned char *out, size_t cap, const char *socket_type);

/* The name of the command whose body is body (len bytes): sets *name and
 * *name_len and returns 0, or returns -1 when the body is malformed. */
int zpar__zmtp_command_name (const unsigned char *body, size_t len, const unsigned char **name,
                             size_t *name_len);

/* Decode a READY command's body into r.  Returns 0, or -1 when it is not a
 * READY command, a property runs past the end, or Socket-Type is missing or
 * too long.  Properties other than Socket-Type and Identity are skipped. */
int zpar__zmtp_ready_decode (const unsigned char *body, size_t len, struct zpar__zmtp_ready *r);

/* Build the PONG frame answering the PING command whose body is ping (len
 * bytes: name, a 2-byte TTL, up to 16 bytes of context), into out (cap
 * bytes).  Returns its length, or 0 when the PING is malformed or the PONG
 * does not fit. */
size_t zpar__zmtp_pong_encode (unsigned char *out, size_t cap, const unsigned char *ping,
                               size_t len);

#endif
