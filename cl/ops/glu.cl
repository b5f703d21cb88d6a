/* glu.cl — the gated MLP's activation: gu holds [gate | up] per token (2 * n_ff
 * values, the fused gate and up projections); out[t][i] = act(gate[i]) * up[i].
 * Work-item (i, t). */
__kernel void glu_gelu_tanh(__global const float *gu, __global float *out, int n_ff)
{
    const int i = get_global_id(0), t = get_global_id(1);
    const float g = gu[(size_t)t * 2 * n_ff + i], u = gu[(size_t)t * 2 * n_ff + n_ff + i];
    const float k = 0.7978845608028654f; /* sqrt(2 / pi) */
    out[(size_t)t * n_ff + i] = 0.5f * g * (1.0f + tanh(k * (g + 0.044715f * g * g * g))) * u;
}

__kernel void glu_silu(__global const float *gu, __global float *out, int n_ff)
{
    const int i = get_global_id(0), t = get_global_id(1);
    const float g = gu[(size_t)t * 2 * n_ff + i], u = gu[(size_t)t * 2 * n_ff + n_ff + i];
    out[(size_t)t * n_ff + i] = g / (1.0f + exp(-g)) * u;
}
