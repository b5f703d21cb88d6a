/* cache.c — the rolling-buffer KV cache object (docs/design.md §3): per-layer rings
 * (n_sink pinned slots + W*D + ring_slack rolling slots, or max_context for full
 * layers) for every sequence, split across device buffers when one would exceed the
 * device's largest allocation; positions; sequence truncate, reset, copy, save and
 * restore. */
#include "cache.h"

#include "digest.h"

#include <stdlib.h>
#include <string.h>

/* ---- geometry ------------------------------------------------------------ */

/* slots per sequence; *span gets the rolling part after the pinned sinks (a full
   layer pins nothing: every position has its own slot) */
static int64_t layer_slots(const swacl_attn_config *cfg, int max_context, int slack, int *span)
{
    if (cfg->window == 0) {
        *span = max_context;
        return max_context;
    }
    const int dil = cfg->dilation > 1 ? cfg->dilation : 1;
    /* < 2^30 each, checked with the config and the options; the slack rolls with the
       window, holding the keys of the last `slack` positions the window has left */
    *span = cfg->window * dil + slack;
    return (int64_t)cfg->n_sink + *span;
}

/* a * b, or UINT64_MAX when it would not fit */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    return (b != 0 && a > UINT64_MAX / b) ? UINT64_MAX : a * b;
}

static uint64_t ring_bytes(const swacl_attn_config *cfg, int64_t n_slots)
{
    return mul_sat(mul_sat((uint64_t)n_slots, (uint64_t)cfg->n_kv_heads),
                   (uint64_t)cfg->head_dim * swacl_dtype_size(cfg->kv_dtype));
}

/* checks options; msg gets the reason */
static swacl_status check_options(const swacl_cache_options *opt, char *msg, size_t n)
{
    if (!opt) {
        snprintf(msg, n, "options are NULL");
        return SWACL_ERR_INVALID_ARGUMENT;
    }
    if (opt->n_layers <= 0 || !opt->layers) {
        snprintf(msg, n, "n_layers must be positive and layers non-NULL (n_layers %d)",
                 opt->n_layers);
        return SWACL_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < sizeof opt->reserved / sizeof opt->reserved[0]; i++)
        if (opt->reserved[i]) {
            snprintf(msg, n, "reserved[%zu] is %d: reserved fields must be zero", i,
                     opt->reserved[i]);
            return SWACL_ERR_INVALID_ARGUMENT;
        }
    if (opt->ring_slack < 0 || opt->ring_slack > (1 << 29)) {
        snprintf(msg, n, "ring_slack must be in [0, 2^29] (got %d)", opt->ring_slack);
        return SWACL_ERR_INVALID_ARGUMENT;
    }
    if (opt->max_seqs <= 0 || opt->max_context < 0 || opt->max_chunk < 0) {
        snprintf(msg, n, "max_seqs (%d) must be positive, max_context (%d) and max_chunk (%d) "
                         "not negative", opt->max_seqs, opt->max_context, opt->max_chunk);
        return SWACL_ERR_INVALID_ARGUMENT;
    }
    for (int l = 0; l < opt->n_layers; l++) {
        const swacl_attn_config *cfg = &opt->layers[l];
        char why[256];
        if (swacl_config_check(cfg, why, sizeof why) != SWACL_OK) {
            snprintf(msg, n, "layer %d: %s", l, why);
            return SWACL_ERR_INVALID_ARGUMENT;
        }
        if (cfg->bidirectional) {
            snprintf(msg, n, "layer %d: bidirectional layers see future tokens and cannot be "
                             "decoded incrementally; use swacl_attention", l);
            return SWACL_ERR_INVALID_ARGUMENT;
        }
        if (opt->ring_slack > 0 && cfg->window > 0 && cfg->rope == SWACL_ROPE_IN_CACHE) {
            snprintf(msg, n, "layer %d: ring_slack is not supported with in-cache RoPE "
                             "(its keys turn by their place in the window)", l);
            return SWACL_ERR_UNSUPPORTED;
        }
        if (cfg->window == 0 && opt->max_context <= 0) {
            snprintf(msg, n, "layer %d is a full-attention layer (window 0): max_context must "
                             "be positive", l);
            return SWACL_ERR_INVALID_ARGUMENT;
        }
        int span;
        const int64_t slots = layer_slots(cfg, opt->max_context, opt->ring_slack, &span);
        if (slots * opt->max_seqs > INT32_MAX) {
            snprintf(msg, n, "layer %d: slots x max_seqs exceed 2^31", l);
            return SWACL_ERR_INVALID_ARGUMENT;
        }
        /* 2^62 bytes is past any device; it keeps every sum below from wrapping */
        if (mul_sat(ring_bytes(cfg, slots), 2 * (uint64_t)opt->max_seqs) > ((uint64_t)1 << 62)) {
            snprintf(msg, n, "layer %d: the cache would exceed 2^62 bytes", l);
            return SWACL_ERR_INVALID_ARGUMENT;
        }
    }
    return SWACL_OK;
}

swacl_status swacl_cache_plan_bytes(const swacl_cache_options *opt, uint64_t *bytes_out)
{
    char msg[320];
    if (!bytes_out)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_status s = check_options(opt, msg, sizeof msg);
    if (s != SWACL_OK)
        return s;
    uint64_t total = 0;
    for (int l = 0; l < opt->n_layers; l++) {
        int span;
        const swacl_attn_config *cfg = &opt->layers[l];
        total += 2 * ring_bytes(cfg, layer_slots(cfg, opt->max_context, opt->ring_slack, &span)) *
                 (uint64_t)opt->max_seqs;
        if (cfg->sink_logits)
            total += (uint64_t)cfg->n_heads * sizeof(float);
        if (cfg->rope == SWACL_ROPE_IN_CACHE)
            total += (uint64_t)(cfg->head_dim / 2) * sizeof(float);
    }
    *bytes_out = total;
    return SWACL_OK;
}

/* ---- create / destroy ------------------------------------------------------ */

static void layer_release(cache_layer *L)
{
    for (int b = 0; b < L->n_bufs; b++) {
        if (L->k_bufs && L->k_bufs[b])
            clReleaseMemObject(L->k_bufs[b]);
        if (L->v_bufs && L->v_bufs[b])
            clReleaseMemObject(L->v_bufs[b]);
    }
    free(L->k_bufs);
    free(L->v_bufs);
    if (L->sink_dev)
        clReleaseMemObject(L->sink_dev);
    if (L->inv_freq_dev)
        clReleaseMemObject(L->inv_freq_dev);
    free(L->sink_host);
}

void swacl_cache_destroy(swacl_cache *c)
{
    if (!c)
        return;
    if (c->ctx && !c->ctx->borrowed) /* a borrowed queue runs on; OpenCL keeps what it uses */
        clFinish(c->ctx->queue);
    for (int l = 0; l < c->n_layers && c->layers; l++)
        layer_release(&c->layers[l]);
    free(c->layers);
    free(c->pos);
    free(c);
}

static swacl_status small_buffer(swacl_cache *c, const void *host, size_t bytes, cl_mem *out,
                                 const char *what)
{
    swacl_status s = swacl_upload(c->ctx, bytes, host, out, what);
    if (s == SWACL_OK)
        c->device_bytes += bytes;
    return s;
}

static swacl_status layer_init(swacl_cache *c, cache_layer *L, const swacl_attn_config *cfg,
                               int max_context, int slack)
{
    swacl_context *ctx = c->ctx;
    L->cfg = *cfg;
    L->cfg.sink_logits = NULL;
    L->n_slots = (int)layer_slots(cfg, max_context, slack, &L->span); /* checked < 2^31 */
    L->slack = cfg->window == 0 ? 0 : slack;
    L->ring_sinks = cfg->window == 0 ? 0 : cfg->n_sink;
    L->seq_bytes = (size_t)ring_bytes(cfg, L->n_slots);
    if (L->seq_bytes > ctx->caps.max_alloc)
        return swacl_fail(ctx, SWACL_ERR_OUT_OF_MEMORY,
                          "one sequence's ring (%zu bytes) exceeds the device's largest "
                          "allocation (%llu bytes)",
                          L->seq_bytes, (unsigned long long)ctx->caps.max_alloc);
    uint64_t per_buf = ctx->caps.max_alloc / L->seq_bytes;
    L->seqs_per_buf = per_buf >= (uint64_t)c->max_seqs ? c->max_seqs : (int)per_buf;
    L->n_bufs = (c->max_seqs + L->seqs_per_buf - 1) / L->seqs_per_buf;
    L->k_bufs = swacl_calloc((size_t)L->n_bufs, sizeof(cl_mem));
    L->v_bufs = swacl_calloc((size_t)L->n_bufs, sizeof(cl_mem));
    if (!L->k_bufs || !L->v_bufs)
        return swacl_fail(ctx, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
    /* rings start zeroed (a fill on the queue): slots never written then read back
       (save) as zeros, not as stale device memory */
    swacl_status s = SWACL_OK;
    for (int b = 0; s == SWACL_OK && b < L->n_bufs; b++) {
        int seqs = c->max_seqs - b * L->seqs_per_buf;
        if (seqs > L->seqs_per_buf)
            seqs = L->seqs_per_buf;
        size_t bytes = L->seq_bytes * (size_t)seqs;
        s = swacl_buffer(ctx, CL_MEM_READ_WRITE, bytes, NULL, &L->k_bufs[b], "KV cache keys");
        if (s == SWACL_OK)
            s = swacl_buffer(ctx, CL_MEM_READ_WRITE, bytes, NULL, &L->v_bufs[b],
                             "KV cache values");
        if (s == SWACL_OK)
            c->device_bytes += 2 * bytes;
        if (s == SWACL_OK)
            s = swacl_zero(ctx, L->k_bufs[b], 0, bytes, "KV cache zeroing");
        if (s == SWACL_OK)
            s = swacl_zero(ctx, L->v_bufs[b], 0, bytes, "KV cache zeroing");
    }
    if (s != SWACL_OK)
        return s;
    if (cfg->sink_logits) {
        size_t bytes = (size_t)cfg->n_heads * sizeof(float);
        L->sink_host = swacl_malloc(bytes);
        if (!L->sink_host)
            return swacl_fail(ctx, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
        memcpy(L->sink_host, cfg->sink_logits, bytes);
        L->cfg.sink_logits = L->sink_host;
        s = small_buffer(c, L->sink_host, bytes, &L->sink_dev, "sink logits");
        if (s != SWACL_OK)
            return s;
    }
    if (cfg->rope == SWACL_ROPE_IN_CACHE) {
        float inv_freq[128];
        swacl_rope_inv_freq(cfg->rope_theta, cfg->head_dim, inv_freq);
        s = small_buffer(c, inv_freq, (size_t)(cfg->head_dim / 2) * sizeof(float),
                         &L->inv_freq_dev, "RoPE frequencies");
        if (s != SWACL_OK)
            return s;
    }
    return SWACL_OK;
}

swacl_status swacl_cache_create(swacl_context *ctx, const swacl_cache_options *opt,
                                swacl_cache **out)
{
    if (!ctx || !out)
        return ctx ? swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT, "swacl_cache_create: out is NULL")
                   : SWACL_ERR_INVALID_ARGUMENT;
    *out = NULL;
    char msg[320];
    const swacl_status bad = check_options(opt, msg, sizeof msg);
    if (bad != SWACL_OK)
        return swacl_fail(ctx, bad, "swacl_cache_create: %s", msg);
    swacl_cache *c = swacl_calloc(1, sizeof *c);
    if (!c)
        return swacl_fail(ctx, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
    c->ctx = ctx;
    c->max_seqs = opt->max_seqs;
    c->max_context = opt->max_context;
    c->max_chunk = opt->max_chunk > 0 ? opt->max_chunk : ctx->params.max_chunk;
    c->layers = swacl_calloc((size_t)opt->n_layers, sizeof *c->layers);
    c->pos = swacl_calloc((size_t)opt->n_layers * (size_t)opt->max_seqs, sizeof *c->pos);
    if (!c->layers || !c->pos) {
        swacl_cache_destroy(c);
        return swacl_fail(ctx, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    for (int l = 0; l < opt->n_layers; l++) {
        c->n_layers = l + 1; /* destroy releases what is made so far */
        swacl_status s = layer_init(c, &c->layers[l], &opt->layers[l], opt->max_context,
                                    opt->ring_slack);
        if (s != SWACL_OK) {
            swacl_cache_destroy(c);
            return s;
        }
    }
    *out = c;
    return SWACL_OK;
}

size_t swacl_cache_device_bytes(const swacl_cache *c) { return c ? c->device_bytes : 0; }

/* ---- addressing -------------------------------------------------------------- */

void swacl_cache_locate(const swacl_cache *c, int layer, int seq, int *buf, int *ring_seq)
{
    const cache_layer *L = &c->layers[layer];
    *buf = seq / L->seqs_per_buf;
    *ring_seq = seq % L->seqs_per_buf;
}

swacl_status swacl_cache_check_seq(swacl_cache *c, int seq, const char *fn)
{
    if (seq < 0 || seq >= c->max_seqs)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: sequence %d out of range [0, %d)", fn, seq, c->max_seqs);
    return SWACL_OK;
}

swacl_status swacl_cache_seq_pos(const swacl_cache *c, int layer, int seq, int64_t *pos_out)
{
    static const char fn[] = "swacl_cache_seq_pos";
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    if (!pos_out)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT, "%s: pos_out is NULL", fn);
    if (layer < 0 || layer >= c->n_layers)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: layer %d is out of range [0, %d)", fn, layer, c->n_layers);
    if (seq < 0 || seq >= c->max_seqs)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: sequence %d is out of range [0, %d)", fn, seq, c->max_seqs);
    *pos_out = c->pos[(size_t)layer * c->max_seqs + seq];
    return SWACL_OK;
}

/* ---- sequence operations -------------------------------------------------------- */

/* whether an SWA ring holding `pos` tokens still has every key the query at position n
   needs (cl/common.h.cl: ring_slot): nothing it needs has been overwritten */
static int ring_keeps(const cache_layer *L, int64_t pos, int64_t n)
{
    if (L->cfg.window == 0)
        return 1; /* a slot per position */
    const int64_t lost_below = pos - L->span; /* positions past the sinks older than this are gone */
    if (lost_below <= L->ring_sinks)
        return 1;
    /* the window keys of query n past the sinks (the sinks stay pinned); the window
       spans W*D = span - slack positions */
    int64_t oldest_needed = n - (int64_t)(L->span - L->slack) + 1;
    if (oldest_needed < L->ring_sinks)
        oldest_needed = L->ring_sinks;
    return oldest_needed > n - 1 || oldest_needed >= lost_below;
}

swacl_status swacl_cache_seq_truncate(swacl_cache *c, int seq, int64_t n_tokens)
{
    static const char fn[] = "swacl_cache_seq_truncate";
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_status s = swacl_cache_check_seq(c, seq, fn);
    if (s != SWACL_OK)
        return s;
    if (n_tokens < 0)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT, "%s: n_tokens is negative (%lld)",
                          fn, (long long)n_tokens);
    /* every layer first, so that a refusal changes nothing */
    for (int l = 0; l < c->n_layers; l++) {
        const int64_t pos = c->pos[(size_t)l * c->max_seqs + seq];
        if (n_tokens > pos)
            return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                              "%s: sequence %d holds %lld tokens at layer %d, fewer than %lld",
                              fn, seq, (long long)pos, l, (long long)n_tokens);
        if (!ring_keeps(&c->layers[l], pos, n_tokens))
            return swacl_fail(c->ctx, SWACL_ERR_UNSUPPORTED,
                              "%s: layer %d's ring has overwritten keys position %lld needs "
                              "(sequence %d holds %lld tokens; a ring takes back ring_slack + 1 "
                              "= %d at most); create the cache with a larger ring_slack",
                              fn, l, (long long)n_tokens, seq, (long long)pos,
                              c->layers[l].slack + 1);
    }
    for (int l = 0; l < c->n_layers; l++)
        c->pos[(size_t)l * c->max_seqs + seq] = n_tokens;
    return SWACL_OK;
}

swacl_status swacl_cache_seq_reset(swacl_cache *c, int seq)
{
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_status s = swacl_cache_check_seq(c, seq, "swacl_cache_seq_reset");
    if (s != SWACL_OK)
        return s;
    /* slots are only ever read below a sequence's position, so forgetting the
       position forgets the sequence */
    for (int l = 0; l < c->n_layers; l++)
        c->pos[(size_t)l * c->max_seqs + seq] = 0;
    return SWACL_OK;
}

swacl_status swacl_cache_seq_copy(swacl_cache *c, int src, int dst)
{
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_status s = swacl_cache_check_seq(c, src, "swacl_cache_seq_copy");
    if (s == SWACL_OK)
        s = swacl_cache_check_seq(c, dst, "swacl_cache_seq_copy");
    if (s != SWACL_OK || src == dst)
        return s;
    for (int l = 0; l < c->n_layers; l++) {
        const cache_layer *L = &c->layers[l];
        int sb, sseq, db, dseq;
        swacl_cache_locate(c, l, src, &sb, &sseq);
        swacl_cache_locate(c, l, dst, &db, &dseq);
        for (int kv = 0; kv < 2; kv++) {
            cl_mem from = kv ? L->v_bufs[sb] : L->k_bufs[sb];
            cl_mem to = kv ? L->v_bufs[db] : L->k_bufs[db];
            cl_int err = swacl_fault_hit(SWACL_FAULT_ENQUEUE)
                             ? CL_INVALID_OPERATION /* injected: an enqueue that fails */
                             : clEnqueueCopyBuffer(c->ctx->queue, from, to,
                                                   (size_t)sseq * L->seq_bytes,
                                                   (size_t)dseq * L->seq_bytes, L->seq_bytes, 0,
                                                   NULL, NULL);
            if (err != CL_SUCCESS) {
                /* the destination is half written: leave it forgotten, not corrupt */
                for (int r = 0; r < c->n_layers; r++)
                    c->pos[(size_t)r * c->max_seqs + dst] = 0;
                return swacl_fail_cl(c->ctx, err, "swacl_cache_seq_copy: clEnqueueCopyBuffer");
            }
        }
    }
    for (int l = 0; l < c->n_layers; l++)
        c->pos[(size_t)l * c->max_seqs + dst] = c->pos[(size_t)l * c->max_seqs + src];
    return SWACL_OK;
}

/* Blob: header, then per layer a record and its K and V rings (every slot).
 * All integers little-endian as the host stores them; the blob is for the
 * same machine or one of the same byte order. */
#define BLOB_MAGIC "SWACLSEQ"
#define BLOB_VERSION 2u /* 1: SHA-256; 2: XXH3-128, which catches corruption and
                            is no signature (docs/design.md §3) */

typedef struct blob_header {
    char magic[8];
    uint32_t version;
    uint32_t n_layers;
    uint64_t total_size;
    unsigned char digest[SWACL_DIGEST_SIZE]; /* of everything after the header (digest.h) */
    unsigned char zero[16];   /* zeros: the header keeps its 56 bytes */
} blob_header;

typedef struct blob_layer {
    int32_t n_slots, n_kv_heads, head_dim, kv_dtype;
    int32_t window, n_sink, dilation, rope;
    int64_t pos;
    uint64_t ring_bytes; /* bytes of the K ring (the V ring follows, as many) */
} blob_layer;

static void layer_record(const cache_layer *L, int64_t pos, blob_layer *r)
{
    memset(r, 0, sizeof *r);
    r->n_slots = L->n_slots;
    r->n_kv_heads = L->cfg.n_kv_heads;
    r->head_dim = L->cfg.head_dim;
    r->kv_dtype = L->cfg.kv_dtype;
    r->window = L->cfg.window;
    r->n_sink = L->cfg.n_sink;
    r->dilation = L->cfg.dilation > 1 ? L->cfg.dilation : 1;
    r->rope = L->cfg.rope;
    r->pos = pos;
    r->ring_bytes = L->seq_bytes;
}

static size_t blob_size(const swacl_cache *c)
{
    size_t n = sizeof(blob_header);
    for (int l = 0; l < c->n_layers; l++)
        n += sizeof(blob_layer) + 2 * c->layers[l].seq_bytes;
    return n;
}

swacl_status swacl_cache_seq_save(swacl_cache *c, int seq, void *buf, size_t buf_size,
                                  size_t *size_out)
{
    if (!c || !size_out)
        return c ? swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT, "swacl_cache_seq_save: size_out is NULL")
                 : SWACL_ERR_INVALID_ARGUMENT;
    swacl_status s = swacl_cache_check_seq(c, seq, "swacl_cache_seq_save");
    if (s != SWACL_OK)
        return s;
    const size_t need = blob_size(c);
    if (!buf) {
        *size_out = need;
        return SWACL_OK;
    }
    if (buf_size < need)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "swacl_cache_seq_save: buffer of %zu bytes, %zu needed", buf_size, need);
    unsigned char *p = (unsigned char *)buf + sizeof(blob_header);
    for (int l = 0; l < c->n_layers; l++) {
        const cache_layer *L = &c->layers[l];
        blob_layer rec;
        layer_record(L, c->pos[(size_t)l * c->max_seqs + seq], &rec);
        memcpy(p, &rec, sizeof rec);
        p += sizeof rec;
        int b, ring_seq;
        swacl_cache_locate(c, l, seq, &b, &ring_seq);
        const size_t off = (size_t)ring_seq * L->seq_bytes;
        if ((s = swacl_read(c->ctx, L->k_bufs[b], off, L->seq_bytes, p, "cache save")) != SWACL_OK ||
            (s = swacl_read(c->ctx, L->v_bufs[b], off, L->seq_bytes, p + L->seq_bytes,
                            "cache save")) != SWACL_OK)
            return s;
        p += 2 * L->seq_bytes;
    }
    blob_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, BLOB_MAGIC, 8);
    h.version = BLOB_VERSION;
    h.n_layers = (uint32_t)c->n_layers;
    h.total_size = need;
    swacl_digest((unsigned char *)buf + sizeof h, need - sizeof h, h.digest);
    memcpy(buf, &h, sizeof h);
    *size_out = need;
    return SWACL_OK;
}

/* validates a blob against this cache without touching the cache */
swacl_status swacl_cache_blob_check(const swacl_cache *c, const void *buf, size_t size,
                                    char *msg, size_t msg_size)
{
    blob_header h;
    if (!buf || size < sizeof h) {
        snprintf(msg, msg_size, "blob is NULL or shorter than its header (%zu bytes)", size);
        return SWACL_ERR_INVALID_ARGUMENT;
    }
    memcpy(&h, buf, sizeof h);
    if (memcmp(h.magic, BLOB_MAGIC, 8) != 0) {
        snprintf(msg, msg_size, "not a swacl sequence blob");
        return SWACL_ERR_INVALID_ARGUMENT;
    }
    if (h.version != BLOB_VERSION) {
        snprintf(msg, msg_size, "sequence blob of format version %u; this library reads %u",
                 h.version, BLOB_VERSION);
        return SWACL_ERR_INVALID_ARGUMENT;
    }
    const size_t need = blob_size(c);
    if (h.n_layers != (uint32_t)c->n_layers || h.total_size != need) {
        snprintf(msg, msg_size, "blob is for another cache (%u layers, %llu bytes; this cache "
                                "has %d layers, %zu bytes)",
                 h.n_layers, (unsigned long long)h.total_size, c->n_layers, need);
        return SWACL_ERR_INVALID_ARGUMENT;
    }
    if (size < need) {
        snprintf(msg, msg_size, "blob is truncated (%zu of %zu bytes)", size, need);
        return SWACL_ERR_INVALID_ARGUMENT;
    }
    const unsigned char *p = (const unsigned char *)buf + sizeof h;
    for (int l = 0; l < c->n_layers; l++) {
        blob_layer rec, want;
        memcpy(&rec, p, sizeof rec);
        layer_record(&c->layers[l], rec.pos, &want);
        const int64_t max_pos = c->layers[l].cfg.window == 0 ? c->max_context : INT32_MAX;
        if (memcmp(&rec, &want, sizeof rec) != 0 || rec.pos < 0 || rec.pos > max_pos) {
            snprintf(msg, msg_size, "blob layer %d does not match this cache's layer %d", l, l);
            return SWACL_ERR_INVALID_ARGUMENT;
        }
        p += sizeof rec + 2 * c->layers[l].seq_bytes;
    }
    unsigned char digest[SWACL_DIGEST_SIZE];
    static const unsigned char zero[16];
    swacl_digest((const unsigned char *)buf + sizeof h, need - sizeof h, digest);
    if (memcmp(digest, h.digest, sizeof digest) != 0 || memcmp(h.zero, zero, sizeof zero) != 0) {
        snprintf(msg, msg_size, "blob is corrupt (checksum mismatch)");
        return SWACL_ERR_INVALID_ARGUMENT;
    }
    return SWACL_OK;
}

swacl_status swacl_cache_seq_restore(swacl_cache *c, int seq, const void *buf, size_t size)
{
    if (!c)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_status s = swacl_cache_check_seq(c, seq, "swacl_cache_seq_restore");
    if (s != SWACL_OK)
        return s;
    char msg[256];
    if (swacl_cache_blob_check(c, buf, size, msg, sizeof msg) != SWACL_OK)
        return swacl_fail(c->ctx, SWACL_ERR_INVALID_ARGUMENT, "swacl_cache_seq_restore: %s", msg);
    const unsigned char *p = (const unsigned char *)buf + sizeof(blob_header);
    for (int l = 0; l < c->n_layers; l++) {
        const cache_layer *L = &c->layers[l];
        blob_layer rec;
        memcpy(&rec, p, sizeof rec);
        p += sizeof rec;
        int b, ring_seq;
        swacl_cache_locate(c, l, seq, &b, &ring_seq);
        const size_t off = (size_t)ring_seq * L->seq_bytes;
        if ((s = swacl_write(c->ctx, L->k_bufs[b], off, L->seq_bytes, p, "cache restore")) !=
                SWACL_OK ||
            (s = swacl_write(c->ctx, L->v_bufs[b], off, L->seq_bytes, p + L->seq_bytes,
                             "cache restore")) != SWACL_OK) {
            for (int r = 0; r < c->n_layers; r++) /* half restored: forget, never corrupt */
                c->pos[(size_t)r * c->max_seqs + seq] = 0;
            return s;
        }
        p += 2 * L->seq_bytes;
    }
    p = (const unsigned char *)buf + sizeof(blob_header);
    for (int l = 0; l < c->n_layers; l++) {
        blob_layer rec;
        memcpy(&rec, p, sizeof rec);
        c->pos[(size_t)l * c->max_seqs + seq] = rec.pos;
        p += sizeof rec + 2 * c->layers[l].seq_bytes;
    }
    return SWACL_OK;
}
