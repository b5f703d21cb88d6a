/* rope.cl — rotary position embedding applied in place to token-major rows
 * x[n_tokens][n_heads][HEAD_DIM], token t turned by positions[t] (rotate-half
 * pairing, the same rope_angle the attention kernel uses).
 * Global (HEAD_DIM / 2, n_heads, n_tokens): one pair per work-item. */

__kernel void rope(__global io_t *x, __global const int *positions,
                   __global const float *inv_freq, int n_heads)
{
    const int d = get_global_id(0);
    const int h = get_global_id(1);
    const int t = get_global_id(2);
    __global io_t *row = x + ((long)t * n_heads + h) * HEAD_DIM;
    float c, s;
    rope_angle((float)positions[t], inv_freq[d], &c, &s);
#if IO_HALF
    const float x1 = vload_half(d, row), x2 = vload_half(d + HEAD_DIM / 2, row);
    vstore_half(x1 * c - x2 * s, d, row);
    vstore_half(x2 * c + x1 * s, d + HEAD_DIM / 2, row);
#else
    const float x1 = row[d], x2 = row[d + HEAD_DIM / 2];
    row[d] = x1 * c - x2 * s;
    row[d + HEAD_DIM / 2] = x2 * c + x1 * s;
#endif
}
