/* hmac256.c - see hmac256.h.
 *
 * The SHA path: HMAC(K, m) = H((K0 ^ opad) || H((K0 ^ ipad) || m)).  The
 * state after the padded key's block is kept for both hashes (inner,
 * outer), so that a signature hashes the message's blocks, the inner
 * padding block(s) and one outer block.  The block function uses the
 * SHA-NI instructions: sha256rnds2 does two rounds on the state held as
 * the pair (A,B,E,F) / (C,D,G,H); sha256msg1/msg2 extend the message
 * schedule four words at a time.
 */
#include "config.h"

#include "hmac256.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHA_PATH 1
#else
#define HAVE_SHA_PATH 0
#endif

static const uint32_t iv[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#if HAVE_SHA_PATH
static const uint32_t round_k[64] __attribute__ ((aligned (16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* Hash n 64-byte blocks at p into st (eight words, A..H). */
__attribute__ ((target ("sha,sse4.1,ssse3"))) static void blocks_hw (uint32_t st[8],
                                                                     const uint8_t *p, size_t n)
{
    const __m128i bswap = _mm_set_epi64x (0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i abef, cdgh, t;

    /* A..D / E..H as loaded -> the (A,B,E,F) / (C,D,G,H) the rounds use */
    t = _mm_shuffle_epi32 (_mm_loadu_si128 ((const __m128i *)&st[0]), 0xB1);
    cdgh = _mm_shuffle_epi32 (_mm_loadu_si128 ((const __m128i *)&st[4]), 0x1B);
    abef = _mm_alignr_epi8 (t, cdgh, 8);
    cdgh = _mm_blend_epi16 (cdgh, t, 0xF0);
    for (; n > 0; n--, p += 64) {
        __m128i m[4], save0 = abef, save1 = cdgh;
#pragma GCC unroll 16
        for (int g = 0; g < 16; g++) {
            __m128i w, k;
            if (g < 4) {
                w = _mm_shuffle_epi8 (_mm_loadu_si128 ((const __m128i *)(p + 16 * g)), bswap);
            } else {
                /* W[i..i+3] from W[i-16..i-1]: sigma0 terms (msg1), the
                 * W[i-7] terms, then the sigma1 terms (msg2) */
                w = _mm_sha256msg1_epu32 (m[g & 3], m[(g + 1) & 3]);
                w = _mm_add_epi32 (w, _mm_alignr_epi8 (m[(g + 3) & 3], m[(g + 2) & 3], 4));
                w = _mm_sha256msg2_epu32 (w, m[(g + 3) & 3]);
            }
            m[g & 3] = w;
            k = _mm_add_epi32 (w, _mm_load_si128 ((const __m128i *)&round_k[4 * g]));
            cdgh = _mm_sha256rnds2_epu32 (cdgh, abef, k);
            abef = _mm_sha256rnds2_epu32 (abef, cdgh, _mm_shuffle_epi32 (k, 0x0E));
        }
        abef = _mm_add_epi32 (abef, save0);
        cdgh = _mm_add_epi32 (cdgh, save1);
    }
    t = _mm_shuffle_epi32 (abef, 0x1B);
    cdgh = _mm_shuffle_epi32 (cdgh, 0xB1);
    _mm_storeu_si128 ((__m128i *)&st[0], _mm_blend_epi16 (t, cdgh, 0xF0));
    _mm_storeu_si128 ((__m128i *)&st[4], _mm_alignr_epi8 (cdgh, t, 8));
}

/* cpuid: leaf 7 EBX bit 29 (SHA), leaf 1 ECX bits 9 (SSSE3) and 19
 * (SSE4.1); read directly, as not every compiler knows "sha" for
 * __builtin_cpu_supports. */
static int cpu_has_sha (void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid (1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19)))
        return 0;
    if (!__get_cpuid_count (7, 0, &a, &b, &c, &d))
        return 0;
    return (b & (1u << 29)) != 0;
}
#endif

int zpar__hmac256_hw (void)
{
#if HAVE_SHA_PATH
    const char *e = getenv ("ZPAR_HMAC_SOFTWARE");
    if (e && *e && strcmp (e, "0") != 0)
        return 0;
    return cpu_has_sha ();
#else
    return 0;
#endif
}

static void put_be32 (uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int zpar__hmac256_key_set (zpar_hmac256_key_t *k, const uint8_t *key, size_t keylen)
{
    if (!k || (!key && keylen)) {
        errno = EINVAL;
        return -1;
    }
    if (sodium_init () < 0) {
        errno = EIO;
        return -1;
    }
    static const uint8_t no_key[1];
    memset (k, 0, sizeof (*k));
    /* libsodium declares the key non-null, also for an empty one */
    crypto_auth_hmacsha256_init (&k->sw, key ? key : no_key, keylen);
    k->hw = zpar__hmac256_hw ();
    if (!k->hw)
        return 0;
#if HAVE_SHA_PATH
    uint8_t k0[64], pad[64];
    memset (k0, 0, sizeof (k0));
    if (keylen > sizeof (k0))
        crypto_hash_sha256 (k0, key, keylen);
    else if (keylen)
        memcpy (k0, key, keylen);
    for (size_t i = 0; i < sizeof (pad); i++)
        pad[i] = k0[i] ^ 0x36;
    memcpy (k->inner, iv, sizeof (iv));
    blocks_hw (k->inner, pad, 1);
    for (size_t i = 0; i < sizeof (pad); i++)
        pad[i] = k0[i] ^ 0x5c;
    memcpy (k->outer, iv, sizeof (iv));
    blocks_hw (k->outer, pad, 1);
    sodium_memzero (k0, sizeof (k0));
    sodium_memzero (pad, sizeof (pad));
#endif
    return 0;
}

void zpar__hmac256_key_wipe (zpar_hmac256_key_t *k)
{
    if (k)
        sodium_memzero (k, sizeof (*k));
}

#if HAVE_SHA_PATH
/* The streaming part of one hash: a partial block and the bytes so far. */
typedef struct {
    uint32_t st[8];
    uint8_t buf[64];
    size_t fill;
    uint64_t total;
} hw_ctx_t;

static void hw_update (hw_ctx_t *c, const uint8_t *p, size_t len)
{
    c->total += len;
    if (c->fill) {
        size_t take = 64 - c->fill < len ? 64 - c->fill : len;
        memcpy (c->buf + c->fill, p, take);
        c->fill += take;
        p += take;
        len -= take;
        if (c->fill < 64)
            return;
        blocks_hw (c->st, c->buf, 1);
        c->fill = 0;
    }
    if (len >= 64) {
        blocks_hw (c->st, p, len / 64);
        p += len & ~(size_t)63;
        len &= 63;
    }
    if (len) {
        memcpy (c->buf, p, len);
        c->fill = len;
    }
}

/* Pad (0x80, zeros, the length in bits) and write the digest. */
static void hw_final (hw_ctx_t *c, uint8_t out[32])
{
    uint64_t bits = c->total * 8;
    c->buf[c->fill++] = 0x80;
    if (c->fill > 56) {
        memset (c->buf + c->fill, 0, 64 - c->fill);
        blocks_hw (c->st, c->buf, 1);
        c->fill = 0;
    }
    memset (c->buf + c->fill, 0, 56 - c->fill);
    put_be32 (c->buf + 56, (uint32_t)(bits >> 32));
    put_be32 (c->buf + 60, (uint32_t)bits);
    blocks_hw (c->st, c->buf, 1);
    for (int i = 0; i < 8; i++)
        put_be32 (out + 4 * i, c->st[i]);
}
#endif

void zpar__hmac256 (const zpar_hmac256_key_t *k, const void *a, size_t alen, const void *b,
                    size_t blen, uint8_t out[ZPAR_HMAC256_LEN])
{
#if HAVE_SHA_PATH
    if (k->hw) {
        hw_ctx_t c;
        uint8_t inner[32];
        memcpy (c.st, k->inner, sizeof (c.st));
        c.fill = 0;
        c.total = 64; /* the key's block */
        if (alen)
            hw_update (&c, a, alen);
        if (blen)
            hw_update (&c, b, blen);
        hw_final (&c, inner);
        memcpy (c.st, k->outer, sizeof (c.st));
        c.fill = 0;
        c.total = 64;
        hw_update (&c, inner, sizeof (inner));
        hw_final (&c, out);
        return;
    }
#endif
    crypto_auth_hmacsha256_state st = k->sw;
    if (alen)
        crypto_auth_hmacsha256_update (&st, a, alen);
    if (blen)
        crypto_auth_hmacsha256_update (&st, b, blen);
    crypto_auth_hmacsha256_final (&st, out);
}
