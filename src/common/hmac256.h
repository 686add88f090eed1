/* hmac256.h - HMAC-SHA-256 of zpar's signatures, with the processor's
 * SHA instructions when it has them (internal).
 *
 * Every message zpar sends is signed with HMAC-SHA-256 (doc/protocol.md)
 * and every one it receives is verified: four signatures per task in the
 * task scheduler alone.  libsodium computes SHA-256 in portable C (~3,000
 * instructions per 64-byte block); x86-64 processors with the SHA
 * extensions (SHA-NI) do a block in ~150.  This module computes the same
 * function either way: the result is bit-for-bit the one libsodium's
 * crypto_auth_hmacsha256 gives (tests/unit/test_hmac256.c checks both
 * paths against each other and against the RFC 4231 vectors), so peers
 * that take either path interoperate.
 *
 * The path is chosen once per key, when it is set: the SHA instructions
 * when the processor reports them (cpuid; valgrind reports none, so
 * zpar runs under it too), libsodium otherwise, or when the environment
 * sets ZPAR_HMAC_SOFTWARE=1 (a safety valve, and for comparisons).
 *
 * A key holds the state after the key's block (the inner and outer pads),
 * so that a signature costs only the message's blocks and two more.
 * Thread-safety: a key is read-only once set; any number of threads may
 * sign with it at once.
 */
#ifndef ZPAR__HMAC256_H
#define ZPAR__HMAC256_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define ZPAR_HMAC256_LEN 32

typedef struct {
    int hw; /* 1: the SHA instructions, 0: libsodium */
    uint32_t inner[8], outer[8];
    crypto_auth_hmacsha256_state sw;
} zpar_hmac256_key_t;

/* Set k from key (any length; keys over 64 bytes are hashed first, as
 * HMAC says).  0, or -1 with errno EINVAL (NULL k, NULL key with a
 * length) or EIO (libsodium could not start). */
int zpar__hmac256_key_set (zpar_hmac256_key_t *k, const uint8_t *key, size_t keylen);

/* out = HMAC-SHA-256(key, a || b).  a and b may be NULL when their length
 * is 0.  Never fails. */
void zpar__hmac256 (const zpar_hmac256_key_t *k, const void *a, size_t alen, const void *b,
                    size_t blen, uint8_t out[ZPAR_HMAC256_LEN]);

/* Erase k (the key's pads).  NULL-safe. */
void zpar__hmac256_key_wipe (zpar_hmac256_key_t *k);

/* 1 if this processor has the SHA instructions and zpar uses them (the
 * environment does not turn them off), 0 otherwise. */
int zpar__hmac256_hw (void);

#endif
