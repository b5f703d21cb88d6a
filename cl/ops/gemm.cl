/* gemm.cl — projections on CPUs: C[t][n] = A[t][k] · W[n][k]^T (+ C when accumulate),
 * A and W both contiguous along k (activations by tokens, GGUF weights by output
 * feature). CPU OpenCL drivers run CLBlast's kernels far below the FMA rate; these
 * keep the inner loop in vector registers: each work-item holds a block of
 * GEMM_MR rows of A by GEMM_NR rows of W as float8 partial sums and walks k eight
 * at a time, so every load feeds GEMM_MR or GEMM_NR FMAs. k is a multiple of 8.
 * Work-item (j, i): rows i*GEMM_MR.., features j*GEMM_NR.. (edges clamped, not
 * stored). The arguments come in gemv_small's order. */
#define GEMM_MR 4
#define GEMM_NR 4

static float hsum8(float8 v)
{
    const float4 s = v.lo + v.hi;
    return (s.x + s.y) + (s.z + s.w);
}

__kernel void gemm_nt(__global const float *w, __global const float *a, __global float *c,
                      int n, int k, int t, int accumulate)
{
    const int j0 = get_global_id(0) * GEMM_NR, i0 = get_global_id(1) * GEMM_MR;
    if (j0 >= n || i0 >= t)
        return;
    __global const float *ar[GEMM_MR];
    __global const float *wr[GEMM_NR];
    for (int r = 0; r < GEMM_MR; r++)
        ar[r] = a + (size_t)min(i0 + r, t - 1) * k;
    for (int q = 0; q < GEMM_NR; q++)
        wr[q] = w + (size_t)min(j0 + q, n - 1) * k;
    float8 acc[GEMM_MR][GEMM_NR];
    for (int r = 0; r < GEMM_MR; r++)
        for (int q = 0; q < GEMM_NR; q++)
            acc[r][q] = (float8)(0.0f);
    for (int p = 0; p < k / 8; p++) {
        float8 wv[GEMM_NR];
        for (int q = 0; q < GEMM_NR; q++)
            wv[q] = vload8(p, wr[q]);
        for (int r = 0; r < GEMM_MR; r++) {
            const float8 av = vload8(p, ar[r]);
            for (int q = 0; q < GEMM_NR; q++)
                acc[r][q] = fma(av, wv[q], acc[r][q]);
        }
    }
    for (int r = 0; r < GEMM_MR && i0 + r < t; r++)
        for (int q = 0; q < GEMM_NR && j0 + q < n; q++) {
            __global float *out = c + (size_t)(i0 + r) * n + j0 + q;
            const float s = hsum8(acc[r][q]);
            *out = accumulate ? *out + s : s;
        }
}
