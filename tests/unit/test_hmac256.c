/* test_hmac256.c - HMAC-SHA-256 with the SHA instructions and with
 * libsodium: RFC 4231 vectors, then every message length from 0 to
 * 300 bytes split at every point, keys of every length to 200 bytes, and
 * random sizes, the two paths compared with libsodium's one-shot
 * crypto_auth_hmacsha256; bad parameters; ZPAR_HMAC_SOFTWARE. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmac256.h"
#include "tap.h"

static void unhex (const char *h, uint8_t *out, size_t *len)
{
    size_t n = strlen (h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf (h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    *len = n;
}

/* libsodium's HMAC of key and a || b, the reference */
static void ref (const uint8_t *key, size_t klen, const uint8_t *a, size_t alen, const uint8_t *b,
                 size_t blen, uint8_t out[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init (&st, key, klen);
    crypto_auth_hmacsha256_update (&st, a, alen);
    crypto_auth_hmacsha256_update (&st, b, blen);
    crypto_auth_hmacsha256_final (&st, out);
}

/* every length to maxlen split at every point, for one key; 1 if all
 * equal the reference */
static int sweep (const zpar_hmac256_key_t *k, const uint8_t *key, size_t klen, const uint8_t *data,
                  size_t maxlen)
{
    uint8_t got[32], want[32];
    for (size_t len = 0; len <= maxlen; len++) {
        for (size_t cut = 0; cut <= len; cut++) {
            zpar__hmac256 (k, cut ? data : NULL, cut, len - cut ? data + cut : NULL, len - cut,
                           got);
            ref (key, klen, data, cut, data + cut, len - cut, want);
            if (memcmp (got, want, 32) != 0) {
                diag ("key %zu bytes, message %zu bytes cut at %zu differs", klen, len, cut);
                return 0;
            }
        }
    }
    return 1;
}

static int run_path (const char *name)
{
    /* RFC 4231 test cases 1, 2, 3 and 6 (a key longer than a block);
     * "aa*131": 131 bytes of 0xaa */
    static const struct {
        const char *key, *data, *mac;
    } v[] = {
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
         "dddddddddddd",
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {"aa*131",
         "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d20486173"
         "68204b6579204669727374",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    };
    uint8_t key[256], data[512], mac[32], got[32];
    size_t klen, dlen, mlen;
    zpar_hmac256_key_t k;
    int all = 1;

    for (size_t i = 0; i < sizeof (v) / sizeof (v[0]); i++) {
        if (!strcmp (v[i].key, "aa*131")) {
            memset (key, 0xaa, 131);
            klen = 131;
        } else {
            unhex (v[i].key, key, &klen);
        }
        unhex (v[i].data, data, &dlen);
        unhex (v[i].mac, mac, &mlen);
        if (zpar__hmac256_key_set (&k, key, klen) < 0) {
            all = 0;
            continue;
        }
        zpar__hmac256 (&k, data, dlen / 3, data + dlen / 3, dlen - dlen / 3, got);
        if (memcmp (got, mac, 32) != 0) {
            diag ("%s: RFC 4231 vector %zu differs", name, i);
            all = 0;
        }
    }
    ok (all, "%s: the RFC 4231 vectors", name);

    randombytes_buf (data, sizeof (data));
    randombytes_buf (key, sizeof (key));
    ok (zpar__hmac256_key_set (&k, key, 32) == 0, "%s: a 32-byte key (zpar's)", name);
    ok (sweep (&k, key, 32, data, 300), "%s: every length 0..300 at every cut", name);

    all = 1;
    for (size_t kl = 0; kl <= 200 && all; kl++) {
        if (zpar__hmac256_key_set (&k, kl ? key : NULL, kl) < 0 || !sweep (&k, key, kl, data, 70))
            all = 0;
    }
    ok (all, "%s: keys of 0..200 bytes, messages of 0..70", name);

    all = 1;
    zpar__hmac256_key_set (&k, key, 32);
    for (int i = 0; i < 2000 && all; i++) {
        size_t a = randombytes_uniform (200), b = randombytes_uniform (312);
        uint8_t want[32];
        randombytes_buf (data, a + b);
        zpar__hmac256 (&k, data, a, data + a, b, got);
        ref (key, 32, data, a, data + a, b, want);
        all = memcmp (got, want, 32) == 0;
    }
    ok (all, "%s: 2,000 random messages", name);
    zpar__hmac256_key_wipe (&k);
    ok (k.hw == 0 && k.inner[0] == 0, "%s: wiped", name);
    return 0;
}

int main (void)
{
    zpar_hmac256_key_t k;
    int hw;

    ok (sodium_init () >= 0, "libsodium");
    ok (zpar__hmac256_key_set (NULL, (const uint8_t *)"k", 1) < 0 && errno == EINVAL,
        "NULL key state is EINVAL");
    ok (zpar__hmac256_key_set (&k, NULL, 3) < 0 && errno == EINVAL,
        "NULL key with a length is EINVAL");
    zpar__hmac256_key_wipe (NULL);

    unsetenv ("ZPAR_HMAC_SOFTWARE");
    hw = zpar__hmac256_hw ();
    diag ("this processor's SHA instructions: %s", hw ? "used" : "absent");
    zpar__hmac256_key_set (&k, (const uint8_t *)"key", 3);
    ok (k.hw == hw, "the key takes the processor's path");
    run_path (hw ? "SHA instructions" : "libsodium (no SHA instructions here)");

    setenv ("ZPAR_HMAC_SOFTWARE", "1", 1);
    ok (zpar__hmac256_hw () == 0, "ZPAR_HMAC_SOFTWARE=1 turns the SHA instructions off");
    zpar__hmac256_key_set (&k, (const uint8_t *)"key", 3);
    ok (k.hw == 0, "a key set then takes libsodium's path");
    run_path ("libsodium");
    setenv ("ZPAR_HMAC_SOFTWARE", "0", 1);
    ok (zpar__hmac256_hw () == hw, "ZPAR_HMAC_SOFTWARE=0 is the default");
    unsetenv ("ZPAR_HMAC_SOFTWARE");
    return done_testing ();
}
