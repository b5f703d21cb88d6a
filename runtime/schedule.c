/* schedule.c — micro-batches on the KV cache (docs/design.md §3): argument and view
 * checks, rounds of chunks, per-buffer launches of attend and append, prefill and
 * decode as batch cases, and the RoPE helper. */
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

/* a view of `rows` rows of row_elems elements: its element offset and stride, checked
   against the buffer (same context, offset aligned, stride at least a row, in bounds) */
static swacl_status check_view(swacl_cache *c, const cache_layer *L, const swacl_view *vw,
                               long rows, int row_elems, const char *fn, const char *name,
                               cl_long *off, int *stride)
{
    const size_t es = swacl_dtype_size(L->cfg.dtype);
    if (vw->offset % es)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: %s.offset %zu is not a multiple of the element size %zu", fn, name,
                          vw->offset, es);
    if (vw->row_stride != 0 && vw->row_stride < row_elems)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: %s.row_stride %d is shorter than a row (%d elements)", fn, name,
                          vw->row_stride, row_elems);
    *stride = vw->row_stride ? vw->row_stride : row_elems;
    *off = (cl_long)(vw->offset / es);
    /* the last row ends here (in bytes); sizes stay far below 2^63 */
    const double end = (double)vw->offset + ((double)(rows - 1) * *stride + row_elems) * (double)es;
    if (end > 9e18)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT, "%s: %s view out of range", fn, name);
    return swacl_check_buffer(c->ctx, vw->buf, (size_t)end, fn, name);
}

/* the four views of a call of `rows` rows, as kernel offsets and strides */
static swacl_status check_views(swacl_cache *c, const cache_layer *L, long rows,
                                const swacl_view *q, const swacl_view *k, const swacl_view *v,
                                const swacl_view *out, const char *fn, swacl_io_views *vw)
{
    const int qe = L->cfg.n_heads * L->cfg.head_dim, kve = L->cfg.n_kv_heads * L->cfg.head_dim;
    int k_stride, v_stride;
    swacl_status s;
    if ((s = check_view(c, L, q, rows, qe, fn, "q", &vw->q_off, &vw->q_stride)) != SWACL_OK ||
        (s = check_view(c, L, k, rows, kve, fn, "k", &vw->k_off, &k_stride)) != SWACL_OK ||
        (s = check_view(c, L, v, rows, kve, fn, "v", &vw->v_off, &v_stride)) != SWACL_OK ||
        (s = check_view(c, L, out, rows, qe, fn, "out", &vw->out_off, &vw->out_stride)) !=
            SWACL_OK)
        return s;
    if (k_stride != v_stride)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: k and v must share a row stride (%d and %d elements)", fn,
                          k_stride, v_stride);
    vw->kv_stride = k_stride;
    return SWACL_OK;
}

static swacl_view dense(cl_mem buf)
{
    swacl_view v = {buf, 0, 0};
    return v;
}

static swacl_status launch_append(swacl_cache *c, const cache_layer *L, cl_mem k, cl_mem v,
                                  const swacl_io_views *vw, int buf, cl_mem info, int info0,
                                  int n_rows, int n_batch)
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
    err |= clSetKernelArg(kern, a++, sizeof(cl_long), &vw->k_off);
    err |= clSetKernelArg(kern, a++, sizeof(cl_long), &vw->v_off);
    err |= clSetKernelArg(kern, a++, sizeof(int), &vw->kv_stride);
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
                                      cl_mem k, cl_mem v, cl_mem out, const swacl_io_views *vw)
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
    job.views = *vw;
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
    return launch_append(c, L, k, v, vw, buf, info, info0, n_rows, n_batch);
}

/* entries of a micro-batch: sequences valid and distinct, counts positive, room at the
   layer; *rows gets the total (c is not NULL) */
static swacl_status check_entries(swacl_cache *c, int layer, int n_entries,
                                  const swacl_batch_entry *e, long *rows, const char *fn)
{
    swacl_status s;
    if ((s = check_layer_call(c, layer, fn)) != SWACL_OK)
        return s;
    if (n_entries <= 0 || n_entries > c->max_seqs || !e)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: n_entries must be in [1, %d] with an entries array (got %d)", fn,
                          c->max_seqs, n_entries);
    const int64_t *pos = &c->pos[(size_t)layer * c->max_seqs];
    *rows = 0;
    for (int r = 0; r < n_entries; r++) {
        if ((s = swacl_cache_check_seq(c, e[r].seq, fn)) != SWACL_OK)
            return s;
        if (e[r].n_tokens <= 0)
            return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                              "%s: n_tokens must be positive (entry %d: %d)", fn, r,
                              e[r].n_tokens);
        for (int r2 = 0; r2 < r; r2++)
            if (e[r2].seq == e[r].seq)
                return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                                  "%s: sequence %d appears twice in one batch", fn, e[r].seq);
        if ((s = check_room(c, layer, e[r].seq, pos[e[r].seq], e[r].n_tokens, fn)) != SWACL_OK)
            return s;
        *rows += e[r].n_tokens;
    }
    if (*rows > INT32_MAX / 2)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT, "%s: %ld rows in one call", fn,
                          *rows);
    return SWACL_OK;
}

/* The micro-batch, in rounds of at most max_chunk tokens per entry (round r takes
   tokens r*max_chunk.. of every entry still that long: each round reads earlier
   positions from the ring and its own from the fresh rows, so no round needs a slot
   it overwrites). A round is one launch sequence per ring buffer the entries live in.
   Every round's entries go up in one buffer of this call. */
static swacl_status attend_batch(swacl_cache *c, int layer, int n_entries,
                                 const swacl_batch_entry *e, const swacl_view *q,
                                 const swacl_view *k, const swacl_view *v, const swacl_view *out,
                                 const char *fn)
{
    long rows = 0;
    swacl_status s = check_entries(c, layer, n_entries, e, &rows, fn);
    if (s != SWACL_OK)
        return s;
    const cache_layer *L = &c->layers[layer];
    swacl_io_views vw;
    if ((s = check_views(c, L, rows, q, k, v, out, fn, &vw)) != SWACL_OK)
        return s;
    int64_t *pos = &c->pos[(size_t)layer * c->max_seqs];
    const int chunk = c->max_chunk;
    int n_rounds = 0;
    for (int r = 0; r < n_entries; r++)
        if ((e[r].n_tokens + chunk - 1) / chunk > n_rounds)
            n_rounds = (e[r].n_tokens + chunk - 1) / chunk;
    /* [round][buffer][entry] in launch order, 4 ints each (cl/common.h.cl: INFO_INTS) */
    enum { L_INFO0, L_COUNT, L_ROWS, L_MAX_POS, L_BUF, L_ROUND, L_INTS };
    const size_t max_info = (size_t)n_rounds * n_entries;
    int *info_host = swacl_malloc(max_info * 4 * sizeof(int));
    int *launch = swacl_malloc(max_info * L_INTS * sizeof(int));
    if (!info_host || !launch) {
        free(info_host);
        free(launch);
        return swacl_fail(c->ctx, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    int n_info = 0, n_launch = 0;
    for (int round = 0; round < n_rounds; round++)
        for (int buf = 0; buf < L->n_bufs; buf++) {
            const int first = n_info;
            int cap = 0, max_pos = 0;
            for (int r = 0, row0 = 0; r < n_entries; row0 += e[r].n_tokens, r++) {
                const int done = round * chunk, len = e[r].n_tokens - done;
                int b, ring_seq;
                swacl_cache_locate(c, layer, e[r].seq, &b, &ring_seq);
                if (len <= 0 || b != buf)
                    continue;
                const int n = len < chunk ? len : chunk;
                int *in = &info_host[4 * n_info++];
                in[0] = ring_seq;
                in[1] = (int)pos[e[r].seq] + done;
                in[2] = row0 + done;
                in[3] = n;
                cap = n > cap ? n : cap;
                max_pos = in[1] + n - 1 > max_pos ? in[1] + n - 1 : max_pos;
            }
            if (n_info > first) {
                int *l = &launch[L_INTS * n_launch++];
                l[L_INFO0] = first;
                l[L_COUNT] = n_info - first;
                l[L_ROWS] = cap;
                l[L_MAX_POS] = max_pos;
                l[L_BUF] = buf;
                l[L_ROUND] = round;
            }
        }
    cl_mem info = NULL;
    s = swacl_upload(c->ctx, (size_t)n_info * 4 * sizeof(int), info_host, &info, "batch info");
    for (int i = 0; s == SWACL_OK && i < n_launch; i++) {
        const int *l = &launch[L_INTS * i];
        s = attend_and_append(c, L, l[L_BUF], info, l[L_INFO0], l[L_ROWS], l[L_COUNT],
                              l[L_MAX_POS], q->buf, k->buf, v->buf, out->buf, &vw);
        /* a round complete: its entries hold its tokens (on a failure later, each
           sequence keeps the rounds that were enqueued) */
        if (s == SWACL_OK && (i + 1 == n_launch || l[L_ROUND + L_INTS] != l[L_ROUND]))
            for (int r = 0; r < n_entries; r++) {
                const int len = e[r].n_tokens - l[L_ROUND] * chunk;
                if (len > 0)
                    pos[e[r].seq] += len < chunk ? len : chunk;
            }
    }
    if (info)
        clReleaseMemObject(info);
    free(info_host);
    free(launch);
    return s;
}

/* decode's batch: one token of each sequence in seqs, as entries (*e malloc'd) */
static swacl_status decode_entries(swacl_cache *c, int n_seqs, const int *seqs,
                                   swacl_batch_entry **e, const char *fn)
{
    *e = NULL;
    if (n_seqs <= 0 || n_seqs > c->max_seqs || !seqs)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: n_seqs must be in [1, %d] with a seqs array (got %d)", fn,
                          c->max_seqs, n_seqs);
    *e = swacl_malloc((size_t)n_seqs * sizeof **e);
    if (!*e)
        return swacl_fail(c->ctx, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
    for (int r = 0; r < n_seqs; r++) {
        (*e)[r].seq = seqs[r];
        (*e)[r].n_tokens = 1;
    }
    return SWACL_OK;
}

swacl_status swacl_attend_batch(swacl_cache *c, int layer, int n_entries,
                                const swacl_batch_entry *entries, swacl_view q, swacl_view k,
                                swacl_view v, swacl_view out)
{
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    return attend_batch(c, layer, n_entries, entries, &q, &k, &v, &out, "swacl_attend_batch");
}

swacl_status swacl_prefill(swacl_cache *c, int layer, int seq, int n_tokens, cl_mem q, cl_mem k,
                           cl_mem v, cl_mem out)
{
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    const swacl_batch_entry e = {seq, n_tokens};
    const swacl_view dq = dense(q), dk = dense(k), dv = dense(v), dout = dense(out);
    return attend_batch(c, layer, 1, &e, &dq, &dk, &dv, &dout, "swacl_prefill");
}

swacl_status swacl_decode(swacl_cache *c, int layer, int n_seqs, const int *seqs, cl_mem q,
                          cl_mem k, cl_mem v, cl_mem out)
{
    static const char fn[] = "swacl_decode";
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_batch_entry *e;
    swacl_status s = decode_entries(c, n_seqs, seqs, &e, fn);
    if (s != SWACL_OK)
        return s;
    const swacl_view dq = dense(q), dk = dense(k), dv = dense(v), dout = dense(out);
    s = attend_batch(c, layer, n_seqs, e, &dq, &dk, &dv, &dout, fn);
    free(e);
    return s;
}

/* host variants: copy in, run, copy out */

static swacl_status batch_host(swacl_cache *c, int layer, int n_entries,
                               const swacl_batch_entry *e, const void *q, const void *k,
                               const void *v, void *out, const char *fn)
{
    long rows = 0;
    swacl_status s = check_entries(c, layer, n_entries, e, &rows, fn);
    if (s != SWACL_OK)
        return s;
    if (!q || !k || !v || !out)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT, "%s: NULL pointer", fn);
    size_t qbytes, kvbytes;
    row_bytes(&c->layers[layer], (int)rows, &qbytes, &kvbytes);
    cl_mem dq, dk, dv, dout;
    if ((s = swacl_upload_qkv(c->ctx, qbytes, kvbytes, q, k, v, &dq, &dk, &dv, &dout)) != SWACL_OK)
        return s;
    const swacl_view vq = dense(dq), vk = dense(dk), vv = dense(dv), vo = dense(dout);
    if ((s = attend_batch(c, layer, n_entries, e, &vq, &vk, &vv, &vo, fn)) != SWACL_OK)
        return s;
    return swacl_read(c->ctx, dout, 0, qbytes, out, "output download");
}

swacl_status swacl_attend_batch_host(swacl_cache *c, int layer, int n_entries,
                                     const swacl_batch_entry *entries, const void *q,
                                     const void *k, const void *v, void *out)
{
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    return batch_host(c, layer, n_entries, entries, q, k, v, out, "swacl_attend_batch_host");
}

swacl_status swacl_prefill_host(swacl_cache *c, int layer, int seq, int n_tokens, const void *q,
                                const void *k, const void *v, void *out)
{
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    const swacl_batch_entry e = {seq, n_tokens};
    return batch_host(c, layer, 1, &e, q, k, v, out, "swacl_prefill_host");
}

swacl_status swacl_decode_host(swacl_cache *c, int layer, int n_seqs, const int *seqs,
                               const void *q, const void *k, const void *v, void *out)
{
    static const char fn[] = "swacl_decode_host";
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_batch_entry *e;
    swacl_status s = decode_entries(c, n_seqs, seqs, &e, fn);
    if (s != SWACL_OK)
        return s;
    s = batch_host(c, layer, n_seqs, e, q, k, v, out, fn);
    free(e);
    return s;
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
