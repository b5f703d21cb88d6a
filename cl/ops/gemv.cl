/* gemv.cl — projections of a few rows on CPUs (decode steps, the rows that need
 * logits): y[r][i] = sum_j w[i][j] * x[r][j] (+ y[r][i] when accumulate), w [n][k]
 * row-major as GGUF has it. Each weight row is read once for all the rows of x, which
 * stay in cache: one pass over the weights, at the memory's read rate. Partial sums
 * are named vector variables, not arrays, which PoCL would keep in memory (that
 * halved the rate, measured). gemv_1: one row of x; gemv_8: up to eight (rows past t
 * repeat the last and are not stored). Work-item i computes output i; k is a
 * multiple of 32 (gemv_1) or 8 (gemv_8). Arguments as gemm_tn's (ldw unused). */

static float hsum8(float8 v)
{
    const float4 s = v.lo + v.hi;
    return (s.x + s.y) + (s.z + s.w);
}

__kernel void gemv_1(__global const float *w, __global const float *x, __global float *y,
                     int n, int k, int t, int accumulate, int ldw)
{
    const int i = get_global_id(0);
    if (i >= n)
        return;
    __global const float *wr = w + (size_t)i * k;
    float16 a0 = 0.0f, a1 = 0.0f;
    for (int j = 0; j < k / 32; j++) {
        a0 = fma(vload16(2 * j, wr), vload16(2 * j, x), a0);
        a1 = fma(vload16(2 * j + 1, wr), vload16(2 * j + 1, x), a1);
    }
    a0 += a1;
    const float s = hsum8(a0.lo + a0.hi);
    y[i] = accumulate ? y[i] + s : s;
}

#define GEMV_ROW(r) __global const float *x##r = x + (size_t)min(r, t - 1) * k
#define GEMV_STEP(r) a##r = fma(wv, vload8(j, x##r), a##r)
#define GEMV_STORE(r)                                                                       \
    if (r < t) {                                                                            \
        __global float *o = y + (size_t)r * n + i;                                          \
        *o = accumulate ? *o + hsum8(a##r) : hsum8(a##r);                                   \
    }

__kernel void gemv_8(__global const float *w, __global const float *x, __global float *y,
                     int n, int k, int t, int accumulate, int ldw)
{
    const int i = get_global_id(0);
    if (i >= n)
        return;
    __global const float *wr = w + (size_t)i * k;
    GEMV_ROW(0); GEMV_ROW(1); GEMV_ROW(2); GEMV_ROW(3);
    GEMV_ROW(4); GEMV_ROW(5); GEMV_ROW(6); GEMV_ROW(7);
    float8 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, a4 = 0.0f, a5 = 0.0f, a6 = 0.0f, a7 = 0.0f;
    for (int j = 0; j < k / 8; j++) {
        const float8 wv = vload8(j, wr);
        GEMV_STEP(0); GEMV_STEP(1); GEMV_STEP(2); GEMV_STEP(3);
        GEMV_STEP(4); GEMV_STEP(5); GEMV_STEP(6); GEMV_STEP(7);
    }
    GEMV_STORE(0) GEMV_STORE(1) GEMV_STORE(2) GEMV_STORE(3)
    GEMV_STORE(4) GEMV_STORE(5) GEMV_STORE(6) GEMV_STORE(7)
}
