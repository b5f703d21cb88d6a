/* limits.cl — swacl-prof's measures of a device's own limits: streaming read
 * and copy bandwidth, FMA rate, and an empty kernel for launch latency.
 *
 * CPUs stream best when each work-item owns a contiguous range (one core's
 * prefetcher follows it); GPUs when neighbouring work-items read neighbouring
 * words (coalescing). The FMA kernel keeps 8 independent chains of FMA_W-wide
 * vectors in flight per work-item, enough to hide FMA latency on both; FMA_W is
 * the device's native vector width (at least 4), so that a CPU's chains fill
 * its SIMD registers: float4 chains measured half of an AVX2 core's rate. */

/* per_item float4s from this work-item's start, read 64 bytes at a time into four
   independent sums: one chain of float4 adds held PoCL at the add latency, about
   two thirds of what the same CPU streams (17 against 27 GB/s on 2 EPYC vCPUs) */
__kernel void read_contig(__global const float4 *in, __global float *out, uint per_item)
{
    __global const float *p = (__global const float *)(in + get_global_id(0) * per_item);
    const uint n16 = per_item / 4;
    float16 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    uint i = 0;
    for (; i + 4 <= n16; i += 4) {
        a0 += vload16(i, p);
        a1 += vload16(i + 1, p);
        a2 += vload16(i + 2, p);
        a3 += vload16(i + 3, p);
    }
    for (; i < n16; ++i)
        a0 += vload16(i, p);
    const float16 a = (a0 + a1) + (a2 + a3);
    float4 acc = (a.lo.lo + a.lo.hi) + (a.hi.lo + a.hi.hi);
    for (uint j = n16 * 4; j < per_item; ++j)
        acc += in[get_global_id(0) * per_item + j];
    out[get_global_id(0)] = acc.x + acc.y + acc.z + acc.w;
}

__kernel void read_coalesced(__global const float4 *in, __global float *out, uint n4)
{
    float4 acc = (float4)(0.0f);
    for (uint i = get_global_id(0); i < n4; i += get_global_size(0))
        acc += in[i];
    out[get_global_id(0)] = acc.x + acc.y + acc.z + acc.w;
}

__kernel void copy_contig(__global const float4 *in, __global float4 *out, uint per_item)
{
    size_t base = get_global_id(0) * per_item;
    for (uint i = 0; i < per_item; ++i)
        out[base + i] = in[base + i];
}

__kernel void copy_coalesced(__global const float4 *in, __global float4 *out, uint n4)
{
    for (uint i = get_global_id(0); i < n4; i += get_global_size(0))
        out[i] = in[i];
}

#ifndef FMA_W
#define FMA_W 4
#endif
#define FMA_CAT_(a, b) a##b
#define FMA_CAT(a, b) FMA_CAT_(a, b)
#define FT FMA_CAT(float, FMA_W)

__kernel void fma_rate(__global float *out, float a, float b, uint iters)
{
    FT x0 = (FT)((float)get_global_id(0) * 1e-6f), x1 = x0 + 0.1f, x2 = x0 + 0.2f,
       x3 = x0 + 0.3f, x4 = x0 + 0.4f, x5 = x0 + 0.5f, x6 = x0 + 0.6f, x7 = x0 + 0.7f;
    for (uint i = 0; i < iters; ++i) {
        x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
        x4 = fma(x4, a, b); x5 = fma(x5, a, b); x6 = fma(x6, a, b); x7 = fma(x7, a, b);
    }
    const FT s = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
    float lanes[FMA_W], t = 0.0f;
    FMA_CAT(vstore, FMA_W)(s, 0, lanes);
    for (int l = 0; l < FMA_W; l++)
        t += lanes[l];
    out[get_global_id(0)] = t;
}

__kernel void empty(__global float *out) { }
