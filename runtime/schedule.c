/* schedule.c — chunked prefill and batched decode on the KV cache: argument
 * checks, chunking, per-buffer grouping of decode batches, the attend and append
 * launches, and the RoPE helper. */
#include "cache.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static swacl_status check_layer_call(swacl_cache *c, int layer, const char *fn)
{
    if (layer < 0 || layer >= c->n_layers)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT, "%s: layer %d out of range [0, %d)",
                          fn, layer, c->n_layers);
    return SWACL_OK;
}

/* tokens a layer can still take for a sequence at position pos */
static swacl_status check_room(swacl_cache *c, int layer, int seq, int64_t pos, int64_t n,
                               const char *fn)
{
    const cache_layer *L = &c->layers[layer];
    if (L->cfg.window == 0 && pos + n > c->max_context)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: sequence %d at layer %d would reach position %lld, past "
                          "max_context %d of this full-attention layer",
                          fn, seq, layer, (long long)(pos + n - 1), c->max_context);
    if (pos + n > INT32_MAX)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: positions beyond 2^31 are not supported", fn);
    return SWACL_OK;
}

static void row_bytes(const cache_layer *L, int rows, size_t *qbytes, size_t *kvbytes)
{
    const size_t es = swacl_dtype_size(L->cfg.dtype);
    *qbytes = (size_t)rows * L->cfg.n_heads * L->cfg.head_dim * es;
    *kvbytes = (size_t)rows * L->cfg.n_kv_heads * L->cfg.head_dim * es;
}

/* q/out and k/v of `rows` tokens must fit the caller's buffers */
static swacl_status check_rows(swacl_cache *c, const cache_layer *L, int rows, cl_mem q,
                               cl_mem k, cl_mem v, cl_mem out, const char *fn)
{
    size_t qbytes, kvbytes;
    row_bytes(L, rows, &qbytes, &kvbytes);
    swacl_status s;
    if ((s = swacl_check_buffer(c->ctx, q, qbytes, fn, "q")) != SWACL_OK ||
        (s = swacl_check_buffer(c->ctx, k, kvbytes, fn, "k")) != SWACL_OK ||
        (s = swacl_check_buffer(c->ctx, v, kvbytes, fn, "v")) != SWACL_OK)
        return s;
    return swacl_check_buffer(c->ctx, out, qbytes, fn, "out");
}

static swacl_status launch_append(swacl_cache *c, const cache_layer *L, cl_mem k, cl_mem v,
                                  int buf, cl_mem info, int info0, int n_rows, int n_batch)
{
    swacl_context *ctx = c->ctx;
    const int vec = swacl_vec_width(&ctx->params, L->cfg.head_dim, 0);
    char opts[256];
    swacl_base_options(&ctx->caps, &ctx->params, L->cfg.head_dim, vec, L->cfg.dtype, L->cfg.kv_dtype, opts,
                       sizeof opts);
    cl_kernel kern;
    swacl_status s = swacl_get_kernel(ctx, "append.cl", opts, "append", &kern);
    if (s != SWACL_OK)
        return s;
    cl_int err = 0;
    cl_uint a = 0;
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), &k);
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), &v);
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), &L->k_bufs[buf]);
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), &L->v_bufs[buf]);
    err |= clSetKernelArg(kern, a++, sizeof(cl_mem), &info);
    err |= clSetKernelArg(kern, a++, sizeof(int), &info0);
    err |= clSetKernelArg(kern, a++, sizeof(int), &n_rows);
    err |= clSetKernelArg(kern, a++, sizeof(int), &L->cfg.n_kv_heads);
    err |= clSetKernelArg(kern, a++, sizeof(int), &L->ring_sinks);
    err |= clSetKernelArg(kern, a++, sizeof(int), &L->span);
    if (err != CL_SUCCESS)
        return swacl_fail(ctx, SWACL_ERR_OPENCL, "clSetKernelArg(append) failed");
    const size_t n_vec = (size_t)(L->cfg.head_dim / vec);
    size_t global[3] = {n_vec, (size_t)L->cfg.n_kv_heads, (size_t)n_rows * n_batch};
    size_t local[3] = {n_vec, 1, 1};
    return swacl_enqueue(ctx, kern, 3, global, local, "append");
}

/* attention of n_batch entries (entries info0.. of info, on the device) over
   ring + fresh keys, then their K/V appended to the ring */
static swacl_status attend_and_append(swacl_cache *c, const cache_layer *L, int buf, cl_mem info,
                                      int info0, int n_rows, int n_batch, int max_pos, cl_mem q,
                                      cl_mem k, cl_mem v, cl_mem out)
{
    swacl_attend_job job = {0};
    job.cfg = &L->cfg;
    job.n_rows = n_rows;
    job.n_batch = n_batch;
    job.max_pos = max_pos;
    job.q = q;
    job.k = k;
    job.v = v;
    job.out = out;
    job.batch_info = info;
    job.info0 = info0;
    job.ring_k = L->k_bufs[buf];
    job.ring_v = L->v_bufs[buf];
    job.ring_span = L->span;
    job.sink_logits = L->sink_dev;
    job.inv_freq = L->inv_freq_dev;
    int appended;
    swacl_status s = swacl_attend(c->ctx, &job, &appended);
    if (s != SWACL_OK || appended)
        return s;
    return launch_append(c, L, k, v, buf, info, info0, n_rows, n_batch);
}

/* layer, sequence, length and room of a prefill call (c is not NULL) */
static swacl_status check_prefill(swacl_cache *c, int layer, int seq, int n_tokens,
                                  const char *fn)
{
    swacl_status s;
    if ((s = check_layer_call(c, layer, fn)) != SWACL_OK ||
        (s = swacl_cache_check_seq(c, seq, fn)) != SWACL_OK)
        return s;
    if (n_tokens <= 0)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: n_tokens must be positive (got %d)", fn, n_tokens);
    return check_room(c, layer, seq, c->pos[(size_t)layer * c->max_seqs + seq], n_tokens, fn);
}

swacl_status swacl_prefill(swacl_cache *c, int layer, int seq, int n_tokens, cl_mem q, cl_mem k,
                           cl_mem v, cl_mem out)
{
    static const char fn[] = "swacl_prefill";
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_status s = check_prefill(c, layer, seq, n_tokens, fn);
    if (s != SWACL_OK)
        return s;
    const cache_layer *L = &c->layers[layer];
    int64_t *pos = &c->pos[(size_t)layer * c->max_seqs + seq];
    if ((s = check_rows(c, L, n_tokens, q, k, v, out, fn)) != SWACL_OK)
        return s;

    int buf, ring_seq;
    swacl_cache_locate(c, layer, seq, &buf, &ring_seq);
    /* every chunk's entry uploaded at once, so chunks launch back to back */
    const int n_chunks = (n_tokens + c->max_chunk - 1) / c->max_chunk;
    int *info_host = swacl_malloc((size_t)n_chunks * 3 * sizeof(int));
    if (!info_host)
        return swacl_fail(c->ctx, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
    for (int ch = 0; ch < n_chunks; ch++) {
        info_host[3 * ch + 0] = ring_seq;
        info_host[3 * ch + 1] = (int)*pos + ch * c->max_chunk;
        info_host[3 * ch + 2] = ch * c->max_chunk;
    }
    cl_mem info = NULL;
    s = swacl_upload(c->ctx, (size_t)n_chunks * 3 * sizeof(int), info_host, &info, "batch info");
    free(info_host);
    /* chunks in order: each reads earlier positions from the ring and its own from
       the fresh rows, so no chunk needs a slot it overwrites */
    for (int ch = 0; s == SWACL_OK && ch < n_chunks; ch++) {
        const int off = ch * c->max_chunk;
        const int len = n_tokens - off < c->max_chunk ? n_tokens - off : c->max_chunk;
        s = attend_and_append(c, L, buf, info, ch, len, 1, (int)*pos + len - 1, q, k, v, out);
        if (s == SWACL_OK)
            *pos += len; /* on failure the sequence holds the chunks that completed */
    }
    if (info)
        clReleaseMemObject(info); /* kept alive by OpenCL until the chunks are done */
    return s;
}

swacl_status swacl_decode(swacl_cache *c, int layer, int n_seqs, const int *seqs, cl_mem q,
                          cl_mem k, cl_mem v, cl_mem out)
{
    static const char fn[] = "swacl_decode";
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_status s;
    if ((s = check_layer_call(c, layer, fn)) != SWACL_OK)
        return s;
    if (n_seqs <= 0 || n_seqs > c->max_seqs || !seqs)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: n_seqs must be in [1, %d] with a seqs array (got %d)", fn,
                          c->max_seqs, n_seqs);
    const cache_layer *L = &c->layers[layer];
    if ((s = check_rows(c, L, n_seqs, q, k, v, out, fn)) != SWACL_OK)
        return s;
    int64_t *pos = &c->pos[(size_t)layer * c->max_seqs];
    for (int r = 0; r < n_seqs; r++) {
        if ((s = swacl_cache_check_seq(c, seqs[r], fn)) != SWACL_OK ||
            (s = check_room(c, layer, seqs[r], pos[seqs[r]], 1, fn)) != SWACL_OK)
            return s;
        for (int r2 = 0; r2 < r; r2++)
            if (seqs[r2] == seqs[r])
                return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                                  "%s: sequence %d appears twice in one batch", fn, seqs[r]);
    }
    int *info_host = swacl_malloc((size_t)n_seqs * 3 * sizeof(int));
    if (!info_host)
        return swacl_fail(c->ctx, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
    /* entries grouped by device buffer (one group unless the cache is split),
       uploaded at once; one launch per group */
    int n = 0;
    for (int buf = 0; buf < L->n_bufs; buf++)
        for (int r = 0; r < n_seqs; r++) {
            int b, ring_seq;
            swacl_cache_locate(c, layer, seqs[r], &b, &ring_seq);
            if (b != buf)
                continue;
            info_host[3 * n + 0] = ring_seq;
            info_host[3 * n + 1] = (int)pos[seqs[r]];
            info_host[3 * n + 2] = r;
            n++;
        }
    cl_mem info = NULL;
    s = swacl_upload(c->ctx, (size_t)n_seqs * 3 * sizeof(int), info_host, &info, "batch info");
    for (int buf = 0, e0 = 0; s == SWACL_OK && buf < L->n_bufs; buf++) {
        int e1 = e0, max_pos = 0;
        for (; e1 < n_seqs; e1++) {
            int b, ring_seq;
            swacl_cache_locate(c, layer, seqs[info_host[3 * e1 + 2]], &b, &ring_seq);
            if (b != buf)
                break;
            if (info_host[3 * e1 + 1] > max_pos)
                max_pos = info_host[3 * e1 + 1];
        }
        if (e1 == e0)
            continue;
        s = attend_and_append(c, L, buf, info, e0, 1, e1 - e0, max_pos, q, k, v, out);
        for (int e = e0; s == SWACL_OK && e < e1; e++)
            pos[seqs[info_host[3 * e + 2]]]++;
        e0 = e1;
    }
    free(info_host);
    if (info)
        clReleaseMemObject(info);
    return s;
}

/* host variants: copy in, run, copy out */

swacl_status swacl_prefill_host(swacl_cache *c, int layer, int seq, int n_tokens, const void *q,
                                const void *k, const void *v, void *out)
{
    static const char fn[] = "swacl_prefill_host";
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_status s = check_prefill(c, layer, seq, n_tokens, fn);
    if (s != SWACL_OK)
        return s;
    if (!q || !k || !v || !out)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT, "%s: NULL pointer", fn);
    size_t qbytes, kvbytes;
    row_bytes(&c->layers[layer], n_tokens, &qbytes, &kvbytes);
    cl_mem dq, dk, dv, dout;
    if ((s = swacl_upload_qkv(c->ctx, qbytes, kvbytes, q, k, v, &dq, &dk, &dv, &dout)) != SWACL_OK ||
        (s = swacl_prefill(c, layer, seq, n_tokens, dq, dk, dv, dout)) != SWACL_OK)
        return s;
    return swacl_read(c->ctx, dout, 0, qbytes, out, "output download");
}

swacl_status swacl_decode_host(swacl_cache *c, int layer, int n_seqs, const int *seqs,
                               const void *q, const void *k, const void *v, void *out)
{
    static const char fn[] = "swacl_decode_host";
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_status s;
    if ((s = check_layer_call(c, layer, fn)) != SWACL_OK)
        return s;
    if (n_seqs <= 0 || n_seqs > c->max_seqs || !seqs || !q || !k || !v || !out)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: n_seqs must be in [1, %d] (got %d) and pointers non-NULL", fn,
                          c->max_seqs, n_seqs);
    size_t qbytes, kvbytes;
    row_bytes(&c->layers[layer], n_seqs, &qbytes, &kvbytes);
    cl_mem dq, dk, dv, dout;
    if ((s = swacl_upload_qkv(c->ctx, qbytes, kvbytes, q, k, v, &dq, &dk, &dv, &dout)) != SWACL_OK ||
        (s = swacl_decode(c, layer, n_seqs, seqs, dq, dk, dv, dout)) != SWACL_OK)
        return s;
    return swacl_read(c->ctx, dout, 0, qbytes, out, "output download");
}

/* ---- RoPE helper ------------------------------------------------------------- */

static swacl_status check_rope(swacl_context *ctx, swacl_dtype dtype, int n_tokens, int n_heads,
                               int head_dim, float theta, const int32_t *positions)
{
    if (dtype != SWACL_F32 && dtype != SWACL_F16)
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT, "swacl_rope: bad dtype %d", (int)dtype);
    if (n_tokens <= 0 || n_heads <= 0 || !positions)
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "swacl_rope: n_tokens (%d) and n_heads (%d) must be positive, "
                          "positions non-NULL", n_tokens, n_heads);
    if (head_dim < 32 || head_dim > 256 || head_dim % 8)
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "swacl_rope: head_dim (%d) must be a multiple of 8 from 32 to 256",
                          head_dim);
    if (!(theta >= 0.0f) || !isfinite(theta))
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT, "swacl_rope: theta must be finite, >= 0");
    for (int t = 0; t < n_tokens; t++)
        if (positions[t] < 0)
            return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT,
                              "swacl_rope: positions[%d] is negative", t);
    return SWACL_OK;
}

swacl_status swacl_rope(swacl_context *ctx, swacl_dtype dtype, int n_tokens, int n_heads,
                        int head_dim, float theta, const int32_t *positions, cl_mem x)
{
    if (!ctx)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_status s = check_rope(ctx, dtype, n_tokens, n_heads, head_dim, theta, positions);
    if (s != SWACL_OK)
        return s;
    s = swacl_check_buffer(ctx, x, (size_t)n_tokens * n_heads * head_dim * swacl_dtype_size(dtype),
                           "swacl_rope", "x");
    if (s != SWACL_OK)
        return s;
    float inv_freq[128];
    swacl_rope_inv_freq(theta, head_dim, inv_freq);
    char opts[256];
    swacl_base_options(&ctx->caps, &ctx->params, head_dim, 8, dtype, dtype, opts, sizeof opts);
    cl_kernel kern;
    if ((s = swacl_get_kernel(ctx, "rope.cl", opts, "rope", &kern)) != SWACL_OK)
        return s;
    /* positions and frequencies travel in buffers of this call, released once enqueued */
    cl_mem dpos = NULL, dfreq = NULL;
    if ((s = swacl_upload(ctx, (size_t)n_tokens * sizeof(int32_t), positions, &dpos,
                          "positions")) == SWACL_OK &&
        (s = swacl_upload(ctx, (size_t)(head_dim / 2) * sizeof(float), inv_freq, &dfreq,
                          "RoPE frequencies")) == SWACL_OK) {
        cl_int err = clSetKernelArg(kern, 0, sizeof(cl_mem), &x);
        err |= clSetKernelArg(kern, 1, sizeof(cl_mem), &dpos);
        err |= clSetKernelArg(kern, 2, sizeof(cl_mem), &dfreq);
        err |= clSetKernelArg(kern, 3, sizeof(int), &n_heads);
        size_t global[3] = {(size_t)head_dim / 2, (size_t)n_heads, (size_t)n_tokens};
        size_t local[3] = {(size_t)head_dim / 2, 1, 1};
        s = err != CL_SUCCESS ? swacl_fail(ctx, SWACL_ERR_OPENCL, "clSetKernelArg(rope) failed")
                              : swacl_enqueue(ctx, kern, 3, global, local, "rope");
    }
    if (dpos)
        clReleaseMemObject(dpos);
    if (dfreq)
        clReleaseMemObject(dfreq);
    return s;
}

swacl_status swacl_rope_host(swacl_context *ctx, swacl_dtype dtype, int n_tokens, int n_heads,
                             int head_dim, float theta, const int32_t *positions, void *x)
{
    if (!ctx)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_status s = check_rope(ctx, dtype, n_tokens, n_heads, head_dim, theta, positions);
    if (s != SWACL_OK)
        return s;
    if (!x)
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT, "swacl_rope_host: x is NULL");
    const size_t bytes = (size_t)n_tokens * n_heads * head_dim * swacl_dtype_size(dtype);
    cl_mem dx;
    if ((s = swacl_scratch(ctx, SCRATCH_Q, bytes, &dx)) != SWACL_OK ||
        (s = swacl_write(ctx, dx, 0, bytes, x, "x upload")) != SWACL_OK ||
        (s = swacl_rope(ctx, dtype, n_tokens, n_heads, head_dim, theta, positions, dx)) != SWACL_OK)
        return s;
    return swacl_read(ctx, dx, 0, bytes, x, "x download");
}
