/* attention.c — layer-config validation, the band of a config, launches of the
 * attend kernels as plan.c plans them, and one-shot attention. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t swacl_dtype_size(swacl_dtype t) { return t == SWACL_F16 ? 2 : 4; }

swacl_status swacl_config_check(const swacl_attn_config *cfg, char *msg, size_t n)
{
#define BAD(...) (snprintf(msg, n, __VA_ARGS__), SWACL_ERR_INVALID_ARGUMENT)
    if (!cfg)
        return BAD("config is NULL");
    if (cfg->n_heads <= 0 || cfg->n_kv_heads <= 0)
        return BAD("n_heads (%d) and n_kv_heads (%d) must be positive", cfg->n_heads,
                   cfg->n_kv_heads);
    if (cfg->n_heads % cfg->n_kv_heads != 0)
        return BAD("n_heads (%d) must be a multiple of n_kv_heads (%d)", cfg->n_heads,
                   cfg->n_kv_heads);
    if (cfg->head_dim < 32 || cfg->head_dim > 256 || cfg->head_dim % 8 != 0)
        return BAD("head_dim (%d) must be a multiple of 8 from 32 to 256", cfg->head_dim);
    if (cfg->window < 0 || cfg->n_sink < 0 || cfg->dilation < 0)
        return BAD("window (%d), n_sink (%d) and dilation (%d) must not be negative",
                   cfg->window, cfg->n_sink, cfg->dilation);
    if ((long long)cfg->window * (cfg->dilation > 1 ? cfg->dilation : 1) >= SWACL_REACH_ALL)
        return BAD("window * dilation (%d * %d) is too large", cfg->window, cfg->dilation);
    if (cfg->bidirectional != 0 && cfg->bidirectional != 1)
        return BAD("bidirectional must be 0 or 1 (got %d)", cfg->bidirectional);
    if (!(cfg->scale >= 0.0f) || !isfinite(cfg->scale))
        return BAD("scale must be finite and >= 0 (0 = 1/sqrt(head_dim))");
    if (!(cfg->softcap >= 0.0f) || !isfinite(cfg->softcap))
        return BAD("softcap must be finite and >= 0 (0 = off)");
    if (cfg->dtype != SWACL_F32 && cfg->dtype != SWACL_F16)
        return BAD("dtype must be SWACL_F32 or SWACL_F16 (got %d)", (int)cfg->dtype);
    if (cfg->kv_dtype != SWACL_F32 && cfg->kv_dtype != SWACL_F16)
        return BAD("kv_dtype must be SWACL_F32 or SWACL_F16 (got %d)", (int)cfg->kv_dtype);
    if (cfg->rope != SWACL_ROPE_NONE && cfg->rope != SWACL_ROPE_IN_CACHE)
        return BAD("rope must be SWACL_ROPE_NONE or SWACL_ROPE_IN_CACHE (got %d)", (int)cfg->rope);
    if (!(cfg->rope_theta >= 0.0f) || !isfinite(cfg->rope_theta))
        return BAD("rope_theta must be finite and >= 0 (0 = 10000)");
    if (cfg->sink_logits)
        for (int h = 0; h < cfg->n_heads; h++)
            if (!isfinite(cfg->sink_logits[h]))
                return BAD("sink_logits[%d] is not finite", h);
#undef BAD
    msg[0] = 0;
    return SWACL_OK;
}

swacl_band swacl_band_of(const swacl_attn_config *cfg)
{
    swacl_band b;
    int dil = cfg->dilation > 1 ? cfg->dilation : 1;
    if (cfg->window == 0) {
        b.win_left = SWACL_REACH_ALL;
        b.win_right = cfg->bidirectional ? SWACL_REACH_ALL : 0;
        b.dil = 1;
    } else if (cfg->bidirectional) {
        b.win_left = b.win_right = cfg->window - 1;
        b.dil = 1; /* dilation is defined for causal windows only */
    } else {
        b.win_left = cfg->window * dil - 1;
        b.win_right = 0;
        b.dil = dil;
    }
    return b;
}

void swacl_rope_inv_freq(float theta, int head_dim, float *out)
{
    const double base = theta > 0.0f ? theta : 10000.0;
    for (int d = 0; d < head_dim / 2; d++)
        out[d] = (float)pow(base, -2.0 * d / head_dim);
}

/* the views with dense strides filled in where they are 0 */
static swacl_io_views views_or_dense(const swacl_attn_config *cfg, const swacl_io_views *v)
{
    swacl_io_views d = *v;
    if (!d.q_stride)
        d.q_stride = cfg->n_heads * cfg->head_dim;
    if (!d.out_stride)
        d.out_stride = cfg->n_heads * cfg->head_dim;
    if (!d.kv_stride)
        d.kv_stride = cfg->n_kv_heads * cfg->head_dim;
    return d;
}

swacl_status swacl_attend(swacl_context *ctx, const swacl_attend_job *job, int *appended)
{
    *appended = 0;
    const swacl_attn_config *cfg = job->cfg;
    const swacl_band band = swacl_band_of(cfg);
    const int hd = cfg->head_dim;
    long reach = band.win_left >= SWACL_REACH_ALL ? (long)job->max_pos + 1
                                                  : (long)band.win_left + 1 + cfg->n_sink;
    if (reach > (long)job->max_pos + 1)
        reach = (long)job->max_pos + 1;
    const swacl_attend_shape shape = {
        .n_heads = cfg->n_heads, .n_kv_heads = cfg->n_kv_heads, .head_dim = hd,
        .n_rows = job->n_rows, .n_batch = job->n_batch, .reach = reach,
        .rope = job->inv_freq != NULL, .softcap = cfg->softcap > 0.0f,
        .sink_logits = job->sink_logits != NULL, .dilated = band.dil > 1, .dil = band.dil,
        .has_ring = job->ring_k != NULL, .io = cfg->dtype, .kv = cfg->kv_dtype};
    swacl_attend_plan plan;
    char msg[256];
    swacl_status s = swacl_plan_attend(&ctx->caps, &ctx->params, &shape, &plan, msg, sizeof msg);
    if (s != SWACL_OK)
        return swacl_fail(ctx, s, "%s", msg);
    const char *kname = plan.kernel;
    cl_kernel kern;
    s = swacl_get_kernel(ctx, "attend.cl", plan.options, kname, &kern);
    if (s != SWACL_OK)
        return s;

    const int n_split = plan.n_split;
    cl_mem partial = NULL;
    const long rows_total = (long)job->n_rows * job->n_batch;
    if (n_split > 1) {
        s = swacl_scratch(ctx, SCRATCH_PARTIAL,
                          (size_t)rows_total * cfg->n_heads * n_split * (2 + hd) * sizeof(float),
                          &partial);
        if (s != SWACL_OK)
            return s;
    }

    const float scale = cfg->scale > 0.0f ? cfg->scale : 1.0f / sqrtf((float)hd);
    const float softcap = cfg->softcap;
    /* a full layer's ring pins nothing, and its band needs no sinks */
    const int n_sink = cfg->window == 0 ? 0 : cfg->n_sink;
    const int causal = !cfg->bidirectional;
    const int span = job->ring_span > 0 ? job->ring_span : 1;
    cl_mem ring_k = job->ring_k ? job->ring_k : job->k; /* never read without a ring */
    cl_mem ring_v = job->ring_v ? job->ring_v : job->v;
    cl_int err = 0;
    cl_uint a = 0;
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), &job->q);
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), &job->k);
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), &job->v);
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), &job->out);
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), &ring_k);
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), &ring_v);
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), &job->batch_info);
    err |= clSetKernelArg(kern, a++, sizeof(int), &job->info0);
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), n_split > 1 ? &partial : &job->out);
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), job->sink_logits ? &job->sink_logits : &job->q);
    err |= clSetKernelArg(kern, a++, sizeof(int), &job->n_rows);
    err |= clSetKernelArg(kern, a++, sizeof(int), &cfg->n_heads);
    err |= clSetKernelArg(kern, a++, sizeof(int), &cfg->n_kv_heads);
    err |= clSetKernelArg(kern, a++, sizeof(int), &n_sink);
    err |= clSetKernelArg(kern, a++, sizeof(int), &band.win_left);
    err |= clSetKernelArg(kern, a++, sizeof(int), &band.win_right);
    err |= clSetKernelArg(kern, a++, sizeof(int), &band.dil);
    err |= clSetKernelArg(kern, a++, sizeof(int), &causal);
    err |= clSetKernelArg(kern, a++, sizeof(int), &span);
    err |= clSetKernelArg(kern, a++, sizeof(float), &scale);
    err |= clSetKernelArg(kern, a++, sizeof(float), &softcap);
    err |= clSetKernelArg(kern, a++, sizeof(int), &n_split);
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), shape.rope ? &job->inv_freq : &job->q);
    const swacl_io_views vw = views_or_dense(cfg, &job->views);
    err |= clSetKernelArg(kern, a++, sizeof(cl_long), &vw.q_off);
    err |= clSetKernelArg(kern, a++, sizeof(cl_long), &vw.k_off);
    err |= clSetKernelArg(kern, a++, sizeof(cl_long), &vw.v_off);
    err |= clSetKernelArg(kern, a++, sizeof(cl_long), &vw.out_off);
    err |= clSetKernelArg(kern, a++, sizeof(int), &vw.q_stride);
    err |= clSetKernelArg(kern, a++, sizeof(int), &vw.kv_stride);
    err |= clSetKernelArg(kern, a++, sizeof(int), &vw.out_stride);
    /* the streaming decode kernel appends the new rows itself */
    if (!strcmp(kname, "attend_decode"))
        err |= clSetKernelArg(kern, a++, sizeof(int), &plan.appends);
    if (err != CL_SUCCESS)
        return swacl_fail(ctx, SWACL_ERR_OPENCL, "clSetKernelArg(%s) failed", kname);
    s = swacl_enqueue(ctx, kern, 3, plan.global, plan.local, kname);
    if (s != SWACL_OK)
        return s;
    *appended = plan.appends;
    if (n_split == 1)
        return s;

    cl_kernel merge;
    s = swacl_get_kernel(ctx, "attend.cl", plan.options, "attend_merge", &merge);
    if (s != SWACL_OK)
        return s;
    a = 0;
    err = clSetKernelArg(merge, a++, sizeof(cl_mem), &partial);
    err |= clSetKernelArg(merge, a++, sizeof(cl_mem), &job->out);
    err |= clSetKernelArg(merge, a++, sizeof(cl_mem), job->sink_logits ? &job->sink_logits : &partial);
    err |= clSetKernelArg(merge, a++, sizeof(cl_mem), &job->batch_info);
    err |= clSetKernelArg(merge, a++, sizeof(int), &job->info0);
    err |= clSetKernelArg(merge, a++, sizeof(int), &job->n_rows);
    err |= clSetKernelArg(merge, a++, sizeof(int), &cfg->n_heads);
    err |= clSetKernelArg(merge, a++, sizeof(int), &n_split);
    err |= clSetKernelArg(merge, a++, sizeof(cl_long), &vw.out_off);
    err |= clSetKernelArg(merge, a++, sizeof(int), &vw.out_stride);
    if (err != CL_SUCCESS)
        return swacl_fail(ctx, SWACL_ERR_OPENCL, "clSetKernelArg(attend_merge) failed");
    return swacl_enqueue(ctx, merge, 3, plan.merge_global, plan.merge_local, "attend_merge");
}

/* a buffer of the layer's sink logits (or *out NULL when it has none); the caller
   releases it */
static swacl_status upload_sinks(swacl_context *ctx, const swacl_attn_config *cfg, cl_mem *out)
{
    *out = NULL;
    if (!cfg->sink_logits)
        return SWACL_OK;
    return swacl_upload(ctx, (size_t)cfg->n_heads * sizeof(float), cfg->sink_logits, out,
                        "sink logits");
}

static swacl_status check_oneshot(swacl_context *ctx, const swacl_attn_config *cfg, int n_tokens)
{
    char msg[256];
    if (swacl_config_check(cfg, msg, sizeof msg) != SWACL_OK)
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT, "swacl_attention: %s", msg);
    if (n_tokens <= 0)
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "swacl_attention: n_tokens must be positive (got %d)", n_tokens);
    if (cfg->rope != SWACL_ROPE_NONE)
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "swacl_attention: rope policies apply to cache layers only");
    return SWACL_OK;
}

swacl_status swacl_attention(swacl_context *ctx, const swacl_attn_config *cfg, int n_tokens,
                             cl_mem q, cl_mem k, cl_mem v, cl_mem out)
{
    if (!ctx)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_status s = check_oneshot(ctx, cfg, n_tokens);
    if (s != SWACL_OK)
        return s;
    const size_t es = swacl_dtype_size(cfg->dtype);
    const size_t qbytes = (size_t)n_tokens * cfg->n_heads * cfg->head_dim * es;
    const size_t kvbytes = (size_t)n_tokens * cfg->n_kv_heads * cfg->head_dim * es;
    if ((s = swacl_check_buffer(ctx, q, qbytes, "swacl_attention", "q")) != SWACL_OK ||
        (s = swacl_check_buffer(ctx, k, kvbytes, "swacl_attention", "k")) != SWACL_OK ||
        (s = swacl_check_buffer(ctx, v, kvbytes, "swacl_attention", "v")) != SWACL_OK ||
        (s = swacl_check_buffer(ctx, out, qbytes, "swacl_attention", "out")) != SWACL_OK)
        return s;
    cl_mem info = NULL, sinks = NULL;
    const int info_host[4] = {0, 0, 0, n_tokens}; /* ring_seq, pos0, row0, rows */
    if ((s = swacl_upload(ctx, sizeof info_host, info_host, &info, "batch info")) != SWACL_OK ||
        (s = upload_sinks(ctx, cfg, &sinks)) != SWACL_OK) {
        if (info)
            clReleaseMemObject(info);
        return s;
    }
    swacl_attend_job job = {0};
    job.cfg = cfg;
    job.n_rows = n_tokens;
    job.n_batch = 1;
    job.max_pos = n_tokens - 1;
    job.q = q;
    job.k = k;
    job.v = v;
    job.out = out;
    job.batch_info = info;
    job.sink_logits = sinks;
    int appended;
    s = swacl_attend(ctx, &job, &appended);
    /* enqueued: OpenCL keeps them until the kernels are done */
    clReleaseMemObject(info);
    if (sinks)
        clReleaseMemObject(sinks);
    return s;
}

swacl_status swacl_attention_host(swacl_context *ctx, const swacl_attn_config *cfg,
                                  int n_tokens, const void *q, const void *k, const void *v,
                                  void *out)
{
    if (!ctx)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_status s = check_oneshot(ctx, cfg, n_tokens);
    if (s != SWACL_OK)
        return s;
    if (!q || !k || !v || !out)
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT, "swacl_attention_host: NULL pointer");
    const size_t es = swacl_dtype_size(cfg->dtype);
    const size_t qbytes = (size_t)n_tokens * cfg->n_heads * cfg->head_dim * es;
    const size_t kvbytes = (size_t)n_tokens * cfg->n_kv_heads * cfg->head_dim * es;
    cl_mem dq, dk, dv, dout;
    if ((s = swacl_upload_qkv(ctx, qbytes, kvbytes, q, k, v, &dq, &dk, &dv, &dout)) != SWACL_OK ||
        (s = swacl_attention(ctx, cfg, n_tokens, dq, dk, dv, dout)) != SWACL_OK)
        return s;
    return swacl_read(ctx, dout, 0, qbytes, out, "output download");
}

swacl_status swacl_upload_qkv(swacl_context *ctx, size_t qbytes, size_t kvbytes, const void *q,
                              const void *k, const void *v, cl_mem *dq, cl_mem *dk, cl_mem *dv,
                              cl_mem *dout)
{
    swacl_status s;
    if ((s = swacl_scratch(ctx, SCRATCH_Q, qbytes, dq)) != SWACL_OK ||
        (s = swacl_scratch(ctx, SCRATCH_K, kvbytes, dk)) != SWACL_OK ||
        (s = swacl_scratch(ctx, SCRATCH_V, kvbytes, dv)) != SWACL_OK ||
        (s = swacl_scratch(ctx, SCRATCH_OUT, qbytes, dout)) != SWACL_OK ||
        (s = swacl_write(ctx, *dq, 0, qbytes, q, "q upload")) != SWACL_OK ||
        (s = swacl_write(ctx, *dk, 0, kvbytes, k, "k upload")) != SWACL_OK)
        return s;
    return swacl_write(ctx, *dv, 0, kvbytes, v, "v upload");
}
