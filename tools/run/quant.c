/* quant.c — GGUF block formats to fp32 (quant.h). Multi-byte fields are little-endian
 * as the files store them; reads go through memcpy, so blocks need no alignment.
 *
 *   Q8_0  32 values in 34 bytes: d (f16), 32 signed bytes q; x = d q
 *   Q5_0  32 values in 22 bytes: d (f16), 32 high bits (u32), 16 bytes of nibbles;
 *         value j < 16 takes the low nibble of byte j and bit j, value j + 16 the high
 *         nibble and bit j + 16; x = d (q - 16)
 *   Q4_K  256 values in 144 bytes: d, dmin (f16), 12 bytes holding eight 6-bit scales
 *         and eight 6-bit mins, 128 bytes of nibbles; sub-block s (32 values) is
 *         x = d scale_s q - dmin min_s; bytes 32c..32c+31 hold sub-block 2c in their low
 *         nibbles and 2c + 1 in their high ones
 *   Q6_K  256 values in 210 bytes: 128 bytes of low nibbles, 64 bytes of 2-bit high
 *         parts, 16 signed 8-bit scales (one per 16 values), d (f16); x = d scale (q - 32)
 */
#include "quant.h"
#include "gguf.h"

#include <math.h>
#include <string.h>

float quant_half(uint16_t h)
{
    const int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    float x;
    if (e == 0)
        x = ldexpf((float)m, -24); /* subnormal (or zero) */
    else if (e == 31)
        x = m ? NAN : INFINITY;
    else
        x = ldexpf((float)(m | 1024), e - 25);
    return sign ? -x : x;
}

static float rd_half(const unsigned char *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return quant_half(h);
}

static void block_q8_0(const unsigned char *b, float *y)
{
    const float d = rd_half(b);
    for (int i = 0; i < 32; i++)
        y[i] = d * (float)(int8_t)b[2 + i];
}

static void block_q5_0(const unsigned char *b, float *y)
{
    const float d = rd_half(b);
    uint32_t high;
    memcpy(&high, b + 2, 4);
    const unsigned char *nib = b + 6;
    for (int j = 0; j < 16; j++) {
        const int lo = (nib[j] & 15) | (int)((high >> j) & 1) << 4;
        const int hi = (nib[j] >> 4) | (int)((high >> (j + 16)) & 1) << 4;
        y[j] = d * (float)(lo - 16);
        y[j + 16] = d * (float)(hi - 16);
    }
}

/* scale and min of sub-block s (0..7) of a Q4_K block's 12-byte field: sub-blocks 0-3
   keep theirs in the low 6 bits of bytes s and s + 4; 4-7 in the nibbles of byte s + 4
   with their top 2 bits in the high bits of bytes s - 4 (scale) and s (min) */
static void q4k_scale_min(const unsigned char *sm, int s, int *scale, int *min)
{
    if (s < 4) {
        *scale = sm[s] & 63;
        *min = sm[s + 4] & 63;
    } else {
        *scale = (sm[s + 4] & 15) | ((sm[s - 4] >> 6) << 4);
        *min = (sm[s + 4] >> 4) | ((sm[s] >> 6) << 4);
    }
}

static void block_q4_k(const unsigned char *b, float *y)
{
    const float d = rd_half(b), dmin = rd_half(b + 2);
    const unsigned char *sm = b + 4, *q = b + 16;
    for (int c = 0; c < 4; c++) { /* 64 values: sub-blocks 2c and 2c + 1 */
        int sc0, m0, sc1, m1;
        q4k_scale_min(sm, 2 * c, &sc0, &m0);
        q4k_scale_min(sm, 2 * c + 1, &sc1, &m1);
        const float a0 = d * (float)sc0, b0 = dmin * (float)m0;
        const float a1 = d * (float)sc1, b1 = dmin * (float)m1;
        for (int l = 0; l < 32; l++) {
            y[64 * c + l] = a0 * (float)(q[32 * c + l] & 15) - b0;
            y[64 * c + 32 + l] = a1 * (float)(q[32 * c + l] >> 4) - b1;
        }
    }
}

static void block_q6_k(const unsigned char *b, float *y)
{
    const unsigned char *lo = b, *hi = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    const float d = rd_half(b + 208);
    for (int half = 0; half < 2; half++) { /* 128 values each */
        const unsigned char *l = lo + 64 * half, *h = hi + 32 * half;
        const int8_t *s = sc + 8 * half;
        float *o = y + 128 * half;
        for (int i = 0; i < 32; i++) {
            const int g = i / 16; /* which of the 16-value groups */
            const int q0 = ((l[i] & 15) | ((h[i] & 3) << 4)) - 32;
            const int q1 = ((l[i + 32] & 15) | (((h[i] >> 2) & 3) << 4)) - 32;
            const int q2 = ((l[i] >> 4) | (((h[i] >> 4) & 3) << 4)) - 32;
            const int q3 = ((l[i + 32] >> 4) | (((h[i] >> 6) & 3) << 4)) - 32;
            o[i] = d * (float)s[g] * (float)q0;
            o[i + 32] = d * (float)s[g + 2] * (float)q1;
            o[i + 64] = d * (float)s[g + 4] * (float)q2;
            o[i + 96] = d * (float)s[g + 6] * (float)q3;
        }
    }
}

int quant_supported(uint32_t type)
{
    switch (type) {
    case GGML_F32: case GGML_F16: case GGML_BF16: case GGML_Q8_0: case GGML_Q5_0:
    case GGML_Q4_K: case GGML_Q6_K:
        return 1;
    default:
        return 0;
    }
}

int quant_dequantize(uint32_t type, const void *src, uint64_t n_elems, float *dst)
{
    const unsigned char *p = src;
    const uint64_t be = ggml_block_elems(type), bb = ggml_block_bytes(type);
    if (!quant_supported(type) || n_elems % be)
        return -1;
    const uint64_t n_blocks = n_elems / be;
    for (uint64_t k = 0; k < n_blocks; k++, p += bb, dst += be) {
        switch (type) {
        case GGML_F32: memcpy(dst, p, 4); break;
        case GGML_F16: *dst = rd_half(p); break;
        case GGML_BF16: {
            uint16_t h;
            memcpy(&h, p, 2);
            const uint32_t bits = (uint32_t)h << 16;
            memcpy(dst, &bits, 4);
            break;
        }
        case GGML_Q8_0: block_q8_0(p, dst); break;
        case GGML_Q5_0: block_q5_0(p, dst); break;
        case GGML_Q4_K: block_q4_k(p, dst); break;
        default: block_q6_k(p, dst); break;
        }
    }
    return 0;
}
