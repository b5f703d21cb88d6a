/* gemm.cl — projections with many rows on CPUs (prefill): C[t][n] = A[t][k] · W[n][k]^T
 * (+ C when accumulate). CPU OpenCL drivers run CLBlast's kernels far below the FMA
 * rate. Here the weights are first turned to wt[k][ldw] (features contiguous, ldw a
 * multiple of 16, the padding zero) by transpose_pad, and each work-item of gemm_tn
 * keeps six rows by sixteen features in registers, walking k: one vector load of
 * weights feeds six broadcast multiply-adds. The six sums are named variables, not an
 * array: PoCL keeps those in registers (3x faster, measured). Rows past t repeat
 * the last and are not stored. Work-item (j, i): features 16j.., rows 6i... */

/* wt[p][i] = w[i][p] for i < n, 0 for n <= i < ldw. Work-item (i, p). */
__kernel void transpose_pad(__global const float *w, __global float *wt, int n, int k, int ldw)
{
    const int i = get_global_id(0), p = get_global_id(1);
    wt[(size_t)p * ldw + i] = i < n ? w[(size_t)i * k + p] : 0.0f;
}

#define GEMM_ROW(r) __global const float *a##r = a + (size_t)min(i0 + r, t - 1) * k
#define GEMM_STEP(r) c##r = fma((float16)(a##r[p]), w, c##r)
#define GEMM_STORE(r)                                                                       \
    if (i0 + r < t) {                                                                       \
        __global float *o = c + (size_t)(i0 + r) * n + j0;                                  \
        if (j0 + 16 <= n) {                                                                 \
            vstore16(accumulate ? c##r + vload16(0, o) : c##r, 0, o);                      \
        } else {                                                                            \
            float lanes[16];                                                                \
            vstore16(c##r, 0, lanes);                                                       \
            for (int q = 0; j0 + q < n; q++)                                                \
                o[q] = accumulate ? o[q] + lanes[q] : lanes[q];                             \
        }                                                                                   \
    }

__kernel void gemm_tn(__global const float *wt, __global const float *a, __global float *c,
                      int n, int k, int t, int accumulate, int ldw)
{
    const int j0 = get_global_id(0) * 16, i0 = get_global_id(1) * 6;
    if (j0 >= n || i0 >= t)
        return;
    GEMM_ROW(0); GEMM_ROW(1); GEMM_ROW(2); GEMM_ROW(3); GEMM_ROW(4); GEMM_ROW(5);
    float16 c0 = 0.0f, c1 = 0.0f, c2 = 0.0f, c3 = 0.0f, c4 = 0.0f, c5 = 0.0f;
    __global const float *wp = wt + j0;
    for (int p = 0; p < k; p++, wp += ldw) {
        const float16 w = vload16(0, wp);
        GEMM_STEP(0); GEMM_STEP(1); GEMM_STEP(2); GEMM_STEP(3); GEMM_STEP(4); GEMM_STEP(5);
    }
    GEMM_STORE(0) GEMM_STORE(1) GEMM_STORE(2) GEMM_STORE(3) GEMM_STORE(4) GEMM_STORE(5)
}
