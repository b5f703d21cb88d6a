/* rope.cl — rotary position embedding, rotate-half pairing (element i with i + d/2,
 * as Hugging Face's models and GPT-NeoX pair them). rope_table computes each token's
 * cosines and sines once per forward pass and RoPE base (cs[t][i] = (cos, sin) of
 * pos[t] * inv_freq[i]); rope_half rotates heads in place with them, heads laid out
 * with a row stride: head h of token t starts at x + off + t * stride + h * head_dim. */
__kernel void rope_table(__global const int *pos, __global const float *inv_freq,
                         __global float2 *cs, int half_d)
{
    const int i = get_global_id(0), t = get_global_id(1);
    const float a = (float)pos[t] * inv_freq[i];
    cs[(size_t)t * half_d + i] = (float2)(cos(a), sin(a));
}

/* work-item (i, h, t), i < head_dim / 2 */
__kernel void rope_half(__global float *x, int off, int stride, int head_dim,
                        __global const float2 *cs)
{
    const int i = get_global_id(0), h = get_global_id(1), t = get_global_id(2);
    const int half_d = head_dim / 2;
    __global float *xh = x + off + (size_t)t * stride + (size_t)h * head_dim;
    const float2 r = cs[(size_t)t * half_d + i];
    const float x0 = xh[i], x1 = xh[i + half_d];
    xh[i] = x0 * r.x - x1 * r.y;
    xh[i + half_d] = x1 * r.x + x0 * r.y;
}
