/* sha256.c — SHA-256 from FIPS 180-4 §4.1.2, §4.2.2, §5.1.1, §6.2; byte-oriented so
 * it is independent of host endianness and alignment. */
#include "sha256.h"

#include <string.h>

/* FIPS 180-4 §4.2.2: first 32 bits of the fractional parts of the cube roots of
 * the first 64 primes */
static const uint32_t round_constants[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

static uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32u - n)); }

static uint32_t load_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void store_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* §6.2.2: one 512-bit block */
static void compress(uint32_t state[8], const unsigned char block[64])
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = load_be32(block + 4 * t);
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }

    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
        uint32_t big_sigma1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t choose = (e & f) ^ (~e & g);
        uint32_t t1 = h + big_sigma1 + choose + round_constants[t] + w[t];
        uint32_t big_sigma0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = big_sigma0 + majority;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

void swacl_sha256_init(swacl_sha256_ctx *c)
{
    /* §5.3.3: first 32 bits of the fractional parts of the square roots of the
     * first 8 primes */
    static const uint32_t initial[8] = {
        0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
        0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
    };
    memcpy(c->state, initial, sizeof initial);
    c->total_bytes = 0;
    c->block_fill = 0;
}

void swacl_sha256_update(swacl_sha256_ctx *c, const void *data, size_t n)
{
    const unsigned char *p = data;
    if (n == 0)
        return; /* also keeps a NULL data pointer away from memcpy */
    c->total_bytes += n;
    if (c->block_fill > 0) {
        size_t take = 64 - c->block_fill;
        if (take > n)
            take = n;
        memcpy(c->block + c->block_fill, p, take);
        c->block_fill += take;
        p += take;
        n -= take;
        if (c->block_fill < 64)
            return;
        compress(c->state, c->block);
        c->block_fill = 0;
    }
    /* whole blocks straight from the caller's buffer, no copy */
    for (; n >= 64; p += 64, n -= 64)
        compress(c->state, p);
    if (n > 0) {
        memcpy(c->block, p, n);
        c->block_fill = n;
    }
}

void swacl_sha256_final(swacl_sha256_ctx *c, unsigned char digest[SWACL_SHA256_DIGEST_SIZE])
{
    /* §5.1.1: a 1 bit, zeros up to 56 mod 64, then the length in bits (big-endian
     * 64-bit); the length must be taken before padding bytes are counted */
    uint64_t bit_length = c->total_bytes * 8u;
    unsigned char pad[72];
    size_t pad_len = (c->block_fill < 56) ? 56 - c->block_fill : 120 - c->block_fill;
    memset(pad, 0, sizeof pad);
    pad[0] = 0x80;
    for (int i = 0; i < 8; i++)
        pad[pad_len + (size_t)i] = (unsigned char)(bit_length >> (56 - 8 * i));
    swacl_sha256_update(c, pad, pad_len + 8);
    for (int i = 0; i < 8; i++)
        store_be32(digest + 4 * i, c->state[i]);
}

void swacl_sha256_buffer(const void *data, size_t n, unsigned char digest[SWACL_SHA256_DIGEST_SIZE])
{
    swacl_sha256_ctx c;
    swacl_sha256_init(&c);
    swacl_sha256_update(&c, data, n);
    swacl_sha256_final(&c, digest);
}

void swacl_sha256_hex(const unsigned char digest[SWACL_SHA256_DIGEST_SIZE], char hex_out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SWACL_SHA256_DIGEST_SIZE; i++) {
        hex_out[2 * i] = digits[digest[i] >> 4];
        hex_out[2 * i + 1] = digits[digest[i] & 0x0f];
    }
    hex_out[64] = '\0';
}
