/* norm.cl — RMSNorm over rows of n elements: y = x / sqrt(mean(x^2) + eps) * w.
 * One work-group per row; a row is one token (heads = 1, n = the model width) or one
 * head of a token (QK-norm: heads per token, n = head_dim), read at
 * x + x_off + t * x_stride + h * n. With accumulate = 1 the result is added to y (a
 * normalised branch joining the residual stream). x and y may be the same rows. */
#define NORM_WG 64

__kernel __attribute__((reqd_work_group_size(NORM_WG, 1, 1)))
void rms_norm(__global const float *x, int x_off, int x_stride,
              __global float *y, int y_off, int y_stride,
              int heads, int n, __global const float *w, float eps, int accumulate)
{
    __local float part[NORM_WG];
    const int row = get_group_id(0), lid = get_local_id(0);
    const int t = row / heads, h = row % heads;
    __global const float *xr = x + x_off + (size_t)t * x_stride + (size_t)h * n;
    __global float *yr = y + y_off + (size_t)t * y_stride + (size_t)h * n;
    float ss = 0.0f;
    for (int i = lid; i < n; i += NORM_WG)
        ss += xr[i] * xr[i];
    part[lid] = ss;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = NORM_WG / 2; s > 0; s >>= 1) {
        if (lid < s)
            part[lid] += part[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float inv = rsqrt(part[0] / (float)n + eps);
    for (int i = lid; i < n; i += NORM_WG) {
        const float v = xr[i] * inv * w[i];
        yr[i] = accumulate ? yr[i] + v : v;
    }
}
