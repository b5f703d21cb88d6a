/* rope.cl — rotary position embedding, rotate-half pairing (element i with i + d/2,
 * as Hugging Face's models and GPT-NeoX pair them), in place on heads laid out with a
 * row stride: head h of token t starts at x + off + t * stride + h * head_dim. The
 * angle of pair i at position p is p * inv_freq[i]; positions are per token.
 * Work-item (i, h, t): i < head_dim / 2. */
__kernel void rope_half(__global float *x, int off, int stride, int head_dim,
                        __global const int *pos, __global const float *inv_freq)
{
    const int i = get_global_id(0), h = get_global_id(1), t = get_global_id(2);
    const int half_d = head_dim / 2;
    __global float *xh = x + off + (size_t)t * stride + (size_t)h * head_dim;
    const float a = (float)pos[t] * inv_freq[i];
    const float c = cos(a), s = sin(a);
    const float x0 = xh[i], x1 = xh[i + half_d];
    xh[i] = x0 * c - x1 * s;
    xh[i + half_d] = x1 * c + x0 * s;
}
