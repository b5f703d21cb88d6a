/* rows.cl — gathers rows: dst[r] = scale * src[idx[r]], rows of width floats
 * (token embeddings by id; the hidden rows that need logits). Work-item (i, r). */
__kernel void get_rows(__global const float *src, __global const int *idx,
                       __global float *dst, int width, float scale)
{
    const int i = get_global_id(0), r = get_global_id(1);
    dst[(size_t)r * width + i] = scale * src[(size_t)idx[r] * width + i];
}
