/* half.c — IEEE 754 binary16 <-> binary32 conversion on bit patterns, for hosts
 * without a native half type (round to nearest even, subnormals, inf, NaN). */
#include "swacl.h"

#include <string.h>

uint16_t swacl_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t exp32 = (x >> 23) & 0xffu;
    uint32_t mant = x & 0x7fffffu;

    if (exp32 == 0xffu) {
        /* NaN stays NaN: the quiet bit is forced so that a payload living only
         * in the low 13 bits cannot collapse into an infinity. */
        if (mant != 0)
            return (uint16_t)(sign | 0x7e00u | (mant >> 13));
        return (uint16_t)(sign | 0x7c00u);
    }

    const int exp16 = (int)exp32 - 127 + 15;
    if (exp16 >= 31)
        return (uint16_t)(sign | 0x7c00u); /* beyond 65504 + half an ulp: inf */

    if (exp16 <= 0) {
        /* Half subnormal (value = m * 2^-24) or zero. Below 2^-25 even the
         * smallest subnormal is more than half an ulp away. */
        if (exp16 < -10)
            return sign;
        mant |= 0x800000u; /* the implicit leading one */
        const int shift = 14 - exp16;
        uint32_t m = mant >> shift;
        const uint32_t rest = mant & ((1u << shift) - 1u);
        const uint32_t halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (m & 1u)))
            m++; /* a carry into bit 10 yields the smallest normal, as it should */
        return (uint16_t)(sign | m);
    }

    uint16_t h = (uint16_t)(sign | ((uint32_t)exp16 << 10) | (mant >> 13));
    const uint32_t rest = mant & 0x1fffu;
    /* A carry out of the mantissa bumps the exponent, and out of the largest
     * exponent gives exactly the infinity pattern. */
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
        h++;
    return h;
}

float swacl_f16_to_f32(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp16 = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t x;

    if (exp16 == 0) {
        if (mant == 0) {
            x = sign;
        } else {
            /* subnormal half: every half value is a normal float, so shift the
             * leading one up to the implicit position */
            uint32_t exp32 = 127 - 15 + 1;
            while (!(mant & 0x400u)) {
                mant <<= 1;
                exp32--;
            }
            x = sign | (exp32 << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp16 == 0x1fu) {
        x = sign | 0x7f800000u | (mant << 13);
    } else {
        x = sign | ((exp16 + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}
