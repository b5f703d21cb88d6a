/* baselines.cl — swacl-prof's baselines: a naive attention kernel (one work-item
 * per query row and head) and the band-masked softmax between the CLBlast GEMMs
 * of the GEMM baseline. Built by tools/prof/baselines.c with -DHEAD_DIM, -DWG_SIZE. */

#ifndef HEAD_DIM
#define HEAD_DIM 64 /* elements per head */
#endif
#ifndef WG_SIZE
#define WG_SIZE 64  /* work-items per softmax row (a power of two) */
#endif

/* One band predicate for both kernels, written from docs/design.md §1 like the
 * reference (j, i are positions; keys outside [0, n_keys) are padding). */
static inline int band_visible(long i, long j, long n_keys, int window, int n_sink, int dilation,
                               int bidir)
{
    if (j < 0 || j >= n_keys)
        return 0;
    if (bidir)
        return j < n_sink || window == 0 || (i > j ? i - j : j - i) < window;
    if (j > i)
        return 0;
    if (window == 0 || j < n_sink)
        return 1;
    return i - j < (long)window * dilation && (i - j) % dilation == 0;
}

static inline float score_transform(float s, float softcap)
{
    return softcap > 0.0f ? softcap * tanh(s / softcap) : s;
}

/* row r of n_rows = batch * n_q: batch entry r / n_q, position n_kv - n_q + r % n_q */
__kernel void naive_attention(__global const float *q, __global const float *k,
                              __global const float *v, __global float *out,
                              __global const float *sink_logits, int use_sink_logits,
                              int n_rows, int n_q, int n_kv, int n_heads, int n_kv_heads,
                              int window, int n_sink, int dilation, int bidir, float scale,
                              float softcap)
{
    int r = get_global_id(0), h = get_global_id(1);
    if (r >= n_rows)
        return;
    long i = n_kv - n_q + r % n_q;
    int kvh = h / (n_heads / n_kv_heads);
    size_t stride = (size_t)n_kv_heads * HEAD_DIM;
    __global const float *qr = q + ((size_t)r * n_heads + h) * HEAD_DIM;
    __global const float *kb = k + (size_t)(r / n_q) * n_kv * stride + kvh * HEAD_DIM;
    __global const float *vb = v + (size_t)(r / n_q) * n_kv * stride + kvh * HEAD_DIM;
    float acc[HEAD_DIM];
    for (int d = 0; d < HEAD_DIM; ++d)
        acc[d] = 0.0f;
    float m = -INFINITY, l = 0.0f;
    long lo = window == 0 ? 0 : bidir ? i - window + 1 : i - (long)window * dilation + 1;
    long hi = bidir ? (window == 0 ? n_kv - 1 : i + window - 1) : i;
    lo = lo < 0 ? 0 : lo;
    hi = hi > n_kv - 1 ? n_kv - 1 : hi;
    long sink_end = n_sink < lo ? n_sink : lo;
    for (int pass = 0; pass < 2; ++pass) { /* sinks before the band, then the band */
        long j1 = pass ? hi + 1 : sink_end;
        for (long j = pass ? lo : 0; j < j1; ++j) {
            if (!band_visible(i, j, n_kv, window, n_sink, dilation, bidir))
                continue;
            float s = 0.0f;
            for (int d = 0; d < HEAD_DIM; ++d)
                s += qr[d] * kb[j * stride + d];
            s = score_transform(s * scale, softcap);
            if (s > m) {
                float c = exp(m - s);
                l *= c;
                for (int d = 0; d < HEAD_DIM; ++d)
                    acc[d] *= c;
                m = s;
            }
            float p = exp(s - m);
            l += p;
            for (int d = 0; d < HEAD_DIM; ++d)
                acc[d] += p * vb[j * stride + d];
        }
    }
    if (use_sink_logits) {
        float sl = sink_logits[h], m2 = fmax(m, sl), c = exp(m - m2);
        l = l * c + exp(sl - m2);
        for (int d = 0; d < HEAD_DIM; ++d)
            acc[d] *= c;
    }
    float inv = l > 0.0f ? 1.0f / l : 0.0f;
    __global float *o = out + ((size_t)r * n_heads + h) * HEAD_DIM;
    for (int d = 0; d < HEAD_DIM; ++d)
        o[d] = acc[d] * inv;
}

/* Scores of matrix `mat` (mat0 + mat overall), row t, become probabilities in
 * place. Query position i = base_pos + (overall / per_block) * block_step + t * t_step;
 * column c is key j = i0 - pad + c, i0 being the position of the block's row 0. */
__kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void band_softmax(__global float *s, int mat0, int m_rows, int l_cols, int per_block,
                  int block_step, int base_pos, int t_step, int pad, int n_keys, int window,
                  int dilation, float softcap)
{
    __local float red[WG_SIZE];
    int t = get_group_id(0), mat = get_group_id(1), lid = get_local_id(0);
    long i0 = base_pos + (long)((mat0 + mat) / per_block) * block_step;
    long i = i0 + (long)t * t_step, j0 = i0 - pad;
    int live = i < n_keys;
    __global float *row = s + ((size_t)mat * m_rows + t) * l_cols;
    float mx = -INFINITY;
    for (int c = lid; c < l_cols; c += WG_SIZE)
        if (live && band_visible(i, j0 + c, n_keys, window, 0, dilation, 0)) {
            float x = score_transform(row[c], softcap);
            row[c] = x;
            mx = fmax(mx, x);
        }
    red[lid] = mx;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = WG_SIZE / 2; w > 0; w >>= 1) {
        if (lid < w)
            red[lid] = fmax(red[lid], red[lid + w]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    mx = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    float sum = 0.0f;
    for (int c = lid; c < l_cols; c += WG_SIZE) {
        float p = live && band_visible(i, j0 + c, n_keys, window, 0, dilation, 0)
                      ? exp(row[c] - mx) : 0.0f;
        row[c] = p;
        sum += p;
    }
    red[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = WG_SIZE / 2; w > 0; w >>= 1) {
        if (lid < w)
            red[lid] += red[lid + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float inv = red[0] > 0.0f ? 1.0f / red[0] : 0.0f;
    for (int c = lid; c < l_cols; c += WG_SIZE)
        row[c] *= inv;
}
