/* gemv.cl — a projection for a few rows (decode steps, the rows that need logits),
 * on CPUs:
 * y[r][i] = sum_j w[i][j] * x[r][j] (+ y[r][i] when accumulate), for r < t <= SMALL_T,
 * w [n][k] row-major. Each weight row is read once, for all t rows of x, which stay
 * in cache: the cost is one pass over the weights, as a matrix-vector product.
 * Work-item i computes output i; k is a multiple of 8. */
#define SMALL_T 8

__kernel void gemv_small(__global const float *w, __global const float *x, __global float *y,
                         int n, int k, int t, int accumulate)
{
    const int i = get_global_id(0);
    if (i >= n)
        return;
    __global const float *wr = w + (size_t)i * k;
    float8 acc[SMALL_T];
    for (int r = 0; r < SMALL_T; r++)
        acc[r] = (float8)(0.0f);
    for (int j = 0; j < k / 8; j++) {
        const float8 wv = vload8(j, wr);
        for (int r = 0; r < t; r++)
            acc[r] = fma(wv, vload8(j, x + (size_t)r * k), acc[r]);
    }
    for (int r = 0; r < t; r++) {
        const float8 a = acc[r];
        const float4 s4 = a.lo + a.hi;
        const float s = (s4.x + s4.y) + (s4.z + s4.w);
        __global float *yo = y + (size_t)r * n + i;
        *yo = accumulate ? *yo + s : s;
    }
}
