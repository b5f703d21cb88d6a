/* test_dev_cache.c — the rolling-buffer KV cache against the float64 reference:
 * chunked prefill + decode token for token, batched decode, per-layer configs,
 * sequence reset/copy/save/restore, memory accounting, bad arguments, and RoPE
 * (the swacl_rope helper and the in-cache StreamingLLM policy). */
#define _POSIX_C_SOURCE 200809L /* setenv, unsetenv */
#include "internal.h" /* ctx->err, cleared so each message checked is the call's own */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADS 16

typedef enum api { API_HOST, API_CL_MEM } api;

/* how a case's prefill tokens are cut into swacl_prefill calls */
typedef enum split_kind {
    SPLIT_ONES,        /* one token per call */
    SPLIT_RANDOM,      /* random lengths from 1 to about twice the ring */
    SPLIT_COARSE,      /* random, but only 1 or 9 and more: a chunk's length picks
                          its tile height (1, 2, 4, 8 or 16 rows), each height is a
                          kernel build of its own, and feature sweeps need only the
                          two that decode and long chunks use */
    SPLIT_WINDOW,      /* exactly W tokens per call (16 for full layers) */
    SPLIT_PAST_WINDOW, /* more than the whole ring per call */
    SPLIT_WHOLE        /* everything in one call */
} split_kind;

/* One sequence through one cache layer: n_prefill tokens by prefill (cut per
 * split), the rest decoded one at a time. Fields left out are 0: dense,
 * no sinks, fp32, no RoPE, library default chunk. */
typedef struct cache_case {
    int n, n_prefill;
    int n_heads, n_kv_heads, head_dim;
    int window, n_sink, dilation;
    float softcap;
    int sink_logits; /* 1 = a random learned sink logit per query head */
    swacl_dtype dtype, kv_dtype;
    swacl_rope_policy rope;
    float rope_theta;
    int max_context; /* full layers; 0 = n */
    int max_chunk;   /* cache option; 0 = library default */
    split_kind split;
    api api;
} cache_case;

static size_t elem_size(swacl_dtype t) { return t == SWACL_F16 ? 2 : 4; }

static void describe(const cache_case *c, char *buf, size_t size)
{
    static const char *const splits[] = {"ones", "random", "coarse", "=W", ">W", "whole"};
    snprintf(buf, size,
             "n=%d prefill=%d(%s) heads=%d/%d hd=%d W=%d sink=%d D=%d softcap=%g "
             "sink_logits=%d io=%s kv=%s rope=%d theta=%g max_ctx=%d max_chunk=%d%s",
             c->n, c->n_prefill, splits[c->split], c->n_heads, c->n_kv_heads, c->head_dim,
             c->window, c->n_sink, c->dilation, (double)c->softcap, c->sink_logits,
             c->dtype == SWACL_F16 ? "f16" : "f32", c->kv_dtype == SWACL_F16 ? "f16" : "f32",
             (int)c->rope, (double)c->rope_theta, c->max_context, c->max_chunk,
             c->api == API_CL_MEM ? " cl_mem" : "");
}

/* the layer config of a case; logits receives its sink logits (n_heads floats) */
static swacl_attn_config config_of(const cache_case *c, float *logits, tu_rng *rng)
{
    swacl_attn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.n_heads = c->n_heads;
    cfg.n_kv_heads = c->n_kv_heads;
    cfg.head_dim = c->head_dim;
    cfg.window = c->window;
    cfg.n_sink = c->n_sink;
    cfg.dilation = c->dilation;
    cfg.softcap = c->softcap;
    cfg.dtype = c->dtype;
    cfg.kv_dtype = c->kv_dtype;
    cfg.rope = c->rope;
    cfg.rope_theta = c->rope_theta;
    assert_true(c->n_heads <= MAX_HEADS);
    /* centred near typical scores (|s| < 1) so the sink takes a visible share */
    for (int h = 0; h < c->n_heads; h++)
        logits[h] = (float)(3.0 * tu_rng_unit(rng) - 1.0);
    cfg.sink_logits = c->sink_logits ? logits : NULL;
    return cfg;
}

/* ---- the expectation ------------------------------------------------------------ */

static float *to_f32(const void *src, size_t n, swacl_dtype t)
{
    float *dst = malloc(n * sizeof *dst);
    assert_non_null(dst);
    for (size_t e = 0; e < n; e++)
        dst[e] = (float)tu_elem(src, e, t);
    return dst;
}

static void from_f32(const float *src, size_t n, swacl_dtype t, void *dst)
{
    for (size_t e = 0; e < n; e++) {
        if (t == SWACL_F16)
            ((uint16_t *)dst)[e] = swacl_f32_to_f16(src[e]);
        else
            ((float *)dst)[e] = src[e];
    }
}

/* RoPE frequencies as the README defines them: theta^(-2d/head_dim), rounded to float */
static void rope_freqs(float theta, int head_dim, double *inv_freq)
{
    const double base = theta > 0.0f ? theta : 10000.0;
    for (int d = 0; d < head_dim / 2; d++)
        inv_freq[d] = (float)pow(base, -2.0 * d / head_dim);
}

/* turns the n_heads heads of one row to position pos, rotate-half pairing, in double */
static void rotate_row(float *x, int n_heads, int head_dim, int64_t pos, const double *inv_freq)
{
    const int half = head_dim / 2;
    for (int h = 0; h < n_heads; h++) {
        float *r = x + (size_t)h * head_dim;
        for (int d = 0; d < half; d++) {
            const double a = (double)pos * inv_freq[d];
            const double x1 = r[d], x2 = r[d + half];
            r[d] = (float)(x1 * cos(a) - x2 * sin(a));
            r[d + half] = (float)(x2 * cos(a) + x1 * sin(a));
        }
    }
}

/* Expected outputs of the first n tokens of one sequence through a cache layer:
 * the reference over the whole sequence, fed with K/V as the cache stores them
 * (rounded to fp16 for an fp16 cache). Under SWACL_ROPE_IN_CACHE a query that has
 * evicted tokens sits at position held-1 of the cache (held = n_sink + W*D) and
 * its keys at their cache positions, so it is the last row of a reference call
 * over the cache's contents in cache order, turned at those positions; this
 * keeps the visibility rule the reference's own. */
static void expected_outputs(const swacl_attn_config *cfg, int n, const void *q, const void *k,
                             const void *v, void *want)
{
    const int hd = cfg->head_dim;
    const size_t qw = (size_t)cfg->n_heads * hd, kw = (size_t)cfg->n_kv_heads * hd;
    float *qf = to_f32(q, n * qw, cfg->dtype);
    float *kf = to_f32(k, n * kw, cfg->dtype);
    float *vf = to_f32(v, n * kw, cfg->dtype);
    float *outf = malloc(n * qw * sizeof *outf);
    assert_non_null(outf);
    if (cfg->kv_dtype == SWACL_F16)
        for (size_t e = 0; e < n * kw; e++) {
            kf[e] = swacl_f16_to_f32(swacl_f32_to_f16(kf[e]));
            vf[e] = swacl_f16_to_f32(swacl_f32_to_f16(vf[e]));
        }
    swacl_attn_config ref = *cfg;
    ref.dtype = SWACL_F32;
    ref.kv_dtype = SWACL_F32;
    ref.rope = SWACL_ROPE_NONE;
    ref.rope_theta = 0.0f;
    if (cfg->rope == SWACL_ROPE_NONE) {
        assert_int_equal(swacl_reference_attention(&ref, n, qf, kf, vf, outf), SWACL_OK);
    } else {
        double inv_freq[128];
        rope_freqs(cfg->rope_theta, hd, inv_freq);
        /* nothing evicted yet: cache positions are the absolute ones */
        float *qa = malloc(n * qw * sizeof *qa), *ka = malloc(n * kw * sizeof *ka);
        assert_true(qa && ka);
        memcpy(qa, qf, n * qw * sizeof *qa);
        memcpy(ka, kf, n * kw * sizeof *ka);
        for (int t = 0; t < n; t++) {
            rotate_row(qa + t * qw, cfg->n_heads, hd, t, inv_freq);
            rotate_row(ka + t * kw, cfg->n_kv_heads, hd, t, inv_freq);
        }
        assert_int_equal(swacl_reference_attention(&ref, n, qa, ka, vf, outf), SWACL_OK);
        free(qa);
        free(ka);
        const int dil = cfg->dilation > 1 ? cfg->dilation : 1;
        const int held = cfg->window ? cfg->n_sink + cfg->window * dil : n;
        if (n > held) {
            float *qc = calloc((size_t)held * qw, sizeof *qc);
            float *kc = malloc((size_t)held * kw * sizeof *kc);
            float *vc = malloc((size_t)held * kw * sizeof *vc);
            float *oc = malloc((size_t)held * qw * sizeof *oc);
            assert_true(qc && kc && vc && oc);
            float *q_last = qc + (size_t)(held - 1) * qw;
            for (int i = held; i < n; i++) {
                const int evicted = i + 1 - held;
                for (int p = 0; p < held; p++) {
                    const int j = p < cfg->n_sink ? p : p + evicted;
                    memcpy(kc + p * kw, kf + (size_t)j * kw, kw * sizeof *kc);
                    memcpy(vc + p * kw, vf + (size_t)j * kw, kw * sizeof *vc);
                    rotate_row(kc + p * kw, cfg->n_kv_heads, hd, p, inv_freq);
                }
                memcpy(q_last, qf + (size_t)i * qw, qw * sizeof *qc);
                rotate_row(q_last, cfg->n_heads, hd, held - 1, inv_freq);
                assert_int_equal(swacl_reference_attention(&ref, held, qc, kc, vc, oc), SWACL_OK);
                memcpy(outf + (size_t)i * qw, oc + (size_t)(held - 1) * qw, qw * sizeof *oc);
            }
            free(qc);
            free(kc);
            free(vc);
            free(oc);
        }
    }
    from_f32(outf, n * qw, cfg->dtype, want);
    free(qf);
    free(kf);
    free(vf);
    free(outf);
}

/* ---- sequences and calls ----------------------------------------------------------- */

/* One sequence's inputs for one layer and the outputs the cache returned so far. */
typedef struct stream {
    const swacl_attn_config *cfg;
    int n, done; /* tokens in all, tokens fed */
    size_t q_row, kv_row;
    unsigned char *q, *k, *v, *got;
} stream;

static void stream_init(stream *s, const swacl_attn_config *cfg, int n, tu_rng *rng)
{
    s->cfg = cfg;
    s->n = n;
    s->done = 0;
    s->q_row = (size_t)cfg->n_heads * cfg->head_dim * elem_size(cfg->dtype);
    s->kv_row = (size_t)cfg->n_kv_heads * cfg->head_dim * elem_size(cfg->dtype);
    s->q = malloc(n * s->q_row);
    s->k = malloc(n * s->kv_row);
    s->v = malloc(n * s->kv_row);
    s->got = malloc(n * s->q_row);
    assert_true(s->q && s->k && s->v && s->got);
    tu_fill(rng, s->q, (size_t)n * cfg->n_heads * cfg->head_dim, cfg->dtype);
    tu_fill(rng, s->k, (size_t)n * cfg->n_kv_heads * cfg->head_dim, cfg->dtype);
    tu_fill(rng, s->v, (size_t)n * cfg->n_kv_heads * cfg->head_dim, cfg->dtype);
    memset(s->got, TU_CANARY_BYTE, n * s->q_row);
}

/* a sequence that shares its first `shared` tokens with parent (already in the
   cache by a copy or restore) and goes on with its own */
static void stream_fork(stream *s, const stream *parent, int shared, int n, tu_rng *rng)
{
    stream_init(s, parent->cfg, n, rng);
    memcpy(s->q, parent->q, shared * s->q_row);
    memcpy(s->k, parent->k, shared * s->kv_row);
    memcpy(s->v, parent->v, shared * s->kv_row);
    s->done = shared;
}

static void stream_free(stream *s)
{
    free(s->q);
    free(s->k);
    free(s->v);
    free(s->got);
}

/* device copies of one call's inputs; the output buffer carries the canary bytes */
typedef struct dev_io {
    cl_mem q, k, v, out;
} dev_io;

static void dev_io_make(swacl_context *ctx, dev_io *d, const void *q, const void *k,
                        const void *v, void *out, size_t q_bytes, size_t kv_bytes)
{
    cl_context cl = swacl_context_cl_context(ctx);
    const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    cl_int e[4];
    d->q = clCreateBuffer(cl, in, q_bytes, (void *)q, &e[0]);
    d->k = clCreateBuffer(cl, in, kv_bytes, (void *)k, &e[1]);
    d->v = clCreateBuffer(cl, in, kv_bytes, (void *)v, &e[2]);
    d->out = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                            q_bytes + TU_CANARY_BYTES, out, &e[3]);
    assert_true(e[0] == CL_SUCCESS && e[1] == CL_SUCCESS && e[2] == CL_SUCCESS &&
                e[3] == CL_SUCCESS);
}

/* reads the output and its canary back into out, and releases the buffers */
static void dev_io_finish(swacl_context *ctx, dev_io *d, void *out, size_t q_bytes)
{
    assert_int_equal(clEnqueueReadBuffer(swacl_context_cl_queue(ctx), d->out, CL_TRUE, 0,
                                         q_bytes + TU_CANARY_BYTES, out, 0, NULL, NULL),
                     CL_SUCCESS);
    clReleaseMemObject(d->q);
    clReleaseMemObject(d->k);
    clReleaseMemObject(d->v);
    clReleaseMemObject(d->out);
}

static swacl_status call_prefill(swacl_context *ctx, swacl_cache *c, api a, int layer, int seq,
                                 int n, const void *q, const void *k, const void *v, void *out,
                                 size_t q_bytes, size_t kv_bytes)
{
    if (a == API_HOST)
        return swacl_prefill_host(c, layer, seq, n, q, k, v, out);
    dev_io d;
    dev_io_make(ctx, &d, q, k, v, out, q_bytes, kv_bytes);
    swacl_status st = swacl_prefill(c, layer, seq, n, d.q, d.k, d.v, d.out);
    if (st == SWACL_OK)
        st = swacl_finish(ctx);
    dev_io_finish(ctx, &d, out, q_bytes);
    return st;
}

static swacl_status call_decode(swacl_context *ctx, swacl_cache *c, api a, int layer, int n_seqs,
                                const int *seqs, const void *q, const void *k, const void *v,
                                void *out, size_t q_bytes, size_t kv_bytes)
{
    if (a == API_HOST)
        return swacl_decode_host(c, layer, n_seqs, seqs, q, k, v, out);
    dev_io d;
    dev_io_make(ctx, &d, q, k, v, out, q_bytes, kv_bytes);
    swacl_status st = swacl_decode(c, layer, n_seqs, seqs, d.q, d.k, d.v, d.out);
    if (st == SWACL_OK)
        st = swacl_finish(ctx);
    dev_io_finish(ctx, &d, out, q_bytes);
    return st;
}

/* Prefills the next len tokens of s into seq at layer; 1 when the call succeeded
 * and left its output's canary intact. */
static int feed_prefill(swacl_context *ctx, swacl_cache *c, api a, int layer, int seq, stream *s,
                        int len, const char *what)
{
    const size_t q_bytes = len * s->q_row, kv_bytes = len * s->kv_row;
    unsigned char *out = tu_alloc_guarded(q_bytes);
    const swacl_status st = call_prefill(ctx, c, a, layer, seq, len, s->q + s->done * s->q_row,
                                         s->k + s->done * s->kv_row, s->v + s->done * s->kv_row,
                                         out, q_bytes, kv_bytes);
    int ok = 1;
    if (st != SWACL_OK) {
        printf("%s: prefill of %d tokens at position %d: %s: %s\n", what, len, s->done,
               swacl_status_string(st), swacl_last_error(ctx));
        ok = 0;
    } else if (!tu_canary_intact(out, q_bytes, what)) {
        ok = 0;
    }
    memcpy(s->got + s->done * s->q_row, out, q_bytes);
    s->done += len;
    free(out);
    return ok;
}

/* One decode call: the next token of every ss[r] for sequence seqs[r] (all of one
 * layer's config). 1 when it succeeded with the canary intact. */
static int feed_decode(swacl_context *ctx, swacl_cache *c, api a, int layer, int n_seqs,
                       const int *seqs, stream *const *ss, const char *what)
{
    const size_t q_row = ss[0]->q_row, kv_row = ss[0]->kv_row;
    unsigned char *q = malloc(n_seqs * q_row), *k = malloc(n_seqs * kv_row);
    unsigned char *v = malloc(n_seqs * kv_row);
    unsigned char *out = tu_alloc_guarded(n_seqs * q_row);
    assert_true(q && k && v);
    for (int r = 0; r < n_seqs; r++) {
        assert_true(ss[r]->done < ss[r]->n);
        memcpy(q + r * q_row, ss[r]->q + ss[r]->done * q_row, q_row);
        memcpy(k + r * kv_row, ss[r]->k + ss[r]->done * kv_row, kv_row);
        memcpy(v + r * kv_row, ss[r]->v + ss[r]->done * kv_row, kv_row);
    }
    const swacl_status st =
        call_decode(ctx, c, a, layer, n_seqs, seqs, q, k, v, out, n_seqs * q_row, n_seqs * kv_row);
    int ok = 1;
    if (st != SWACL_OK) {
        printf("%s: decode of %d sequences (first at position %d): %s: %s\n", what, n_seqs,
               ss[0]->done, swacl_status_string(st), swacl_last_error(ctx));
        ok = 0;
    } else if (!tu_canary_intact(out, n_seqs * q_row, what)) {
        ok = 0;
    }
    for (int r = 0; r < n_seqs; r++) {
        memcpy(ss[r]->got + ss[r]->done * q_row, out + r * q_row, q_row);
        ss[r]->done++;
    }
    free(q);
    free(k);
    free(v);
    free(out);
    return ok;
}

/* Compares the outputs of tokens [from, s->done) with the expectation; 1 when
 * every element is within the tolerance. */
static int stream_check(const stream *s, int from, const char *what)
{
    const swacl_attn_config *cfg = s->cfg;
    unsigned char *want = malloc(s->done * s->q_row);
    assert_non_null(want);
    expected_outputs(cfg, s->done, s->q, s->k, s->v, want);
    const size_t row = (size_t)cfg->n_heads * cfg->head_dim;
    const tu_cmp cmp = tu_compare(s->got + from * s->q_row, want + from * s->q_row,
                                  (s->done - from) * row, cfg->dtype,
                                  tu_tolerance(cfg->dtype, cfg->kv_dtype), what);
    if (cmp.n_bad > 0)
        printf("    first bad token %zu head %zu, last bad token %zu\n", from + cmp.first_bad / row,
               cmp.first_bad / cfg->head_dim % cfg->n_heads, from + cmp.last_bad / row);
    free(want);
    return cmp.n_bad == 0;
}

/* 1 when rows [from, to) of two streams' outputs are bitwise equal */
static int same_bits(const stream *a, const stream *b, int from, int to, const char *what)
{
    for (int t = from; t < to; t++)
        if (memcmp(a->got + t * a->q_row, b->got + t * b->q_row, a->q_row) != 0) {
            printf("%s: outputs of token %d differ\n", what, t);
            return 0;
        }
    return 1;
}

static int check_pos(const swacl_cache *c, int layer, int seq, int64_t want, const char *what)
{
    int64_t pos = -1;
    const swacl_status st = swacl_cache_seq_pos(c, layer, seq, &pos);
    if (st != SWACL_OK || pos != want) {
        printf("%s: swacl_cache_seq_pos(layer %d, seq %d) = %lld (%s), want %lld\n", what, layer,
               seq, (long long)pos, swacl_status_string(st), (long long)want);
        return 0;
    }
    return 1;
}

static swacl_cache *make_cache(swacl_context *ctx, const swacl_attn_config *layers, int n_layers,
                               int max_seqs, int max_context, int max_chunk)
{
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    opt.n_layers = n_layers;
    opt.layers = layers;
    opt.max_seqs = max_seqs;
    opt.max_context = max_context;
    opt.max_chunk = max_chunk;
    swacl_cache *c = NULL;
    const swacl_status st = swacl_cache_create(ctx, &opt, &c);
    if (st != SWACL_OK)
        fail_msg("swacl_cache_create: %s: %s", swacl_status_string(st), swacl_last_error(ctx));
    return c;
}

/* length of the next prefill call of a case */
static int chunk_len(const cache_case *c, tu_rng *rng, int left)
{
    const int dil = c->dilation > 1 ? c->dilation : 1;
    const int ring = c->window ? c->n_sink + c->window * dil : 16;
    int len = left;
    switch (c->split) {
    case SPLIT_ONES: len = 1; break;
    case SPLIT_RANDOM: len = tu_rng_int(rng, 1, 2 * ring + 3); break;
    case SPLIT_COARSE:
        len = left < 9 || tu_rng_int(rng, 0, 3) == 0 ? 1 : tu_rng_int(rng, 9, 2 * ring + 16);
        break;
    case SPLIT_WINDOW: len = c->window ? c->window : 16; break;
    case SPLIT_PAST_WINDOW: len = ring + 3; break;
    case SPLIT_WHOLE: break;
    }
    return len < left ? len : left;
}

/* ---- single sequences: chunked prefill + decode == one-shot reference ------------------- */

/* Runs one case in sequence slot 2 of a 3-slot cache (so ring offsets are not
 * all zero); prints what went wrong and returns 0 on any failure. */
static int run_case(swacl_context *ctx, const cache_case *cc, uint64_t seed)
{
    char what[320];
    describe(cc, what, sizeof what);
    tu_rng rng = tu_rng_seed(seed);
    float logits[MAX_HEADS];
    const swacl_attn_config cfg = config_of(cc, logits, &rng);
    const int max_context = cc->window || cc->max_context ? cc->max_context : cc->n;
    swacl_cache *c = make_cache(ctx, &cfg, 1, 3, max_context, cc->max_chunk);
    const int seq = 2;
    stream s;
    stream *sp = &s;
    stream_init(&s, &cfg, cc->n, &rng);
    int ok = 1;
    while (ok && s.done < cc->n_prefill)
        ok = feed_prefill(ctx, c, cc->api, 0, seq, &s, chunk_len(cc, &rng, cc->n_prefill - s.done),
                          what);
    while (ok && s.done < cc->n)
        ok = feed_decode(ctx, c, cc->api, 0, 1, &seq, &sp, what);
    if (ok)
        ok = check_pos(c, 0, seq, cc->n, what) && check_pos(c, 0, 0, 0, what) &&
             stream_check(&s, 0, what);
    stream_free(&s);
    swacl_cache_destroy(c);
    return ok;
}

/* Runs every case and fails once at the end, so one run lists every failing one. */
static void run_table(swacl_context *ctx, const cache_case *cases, size_t n_cases, uint64_t seed)
{
    if (!ctx)
        skip();
    size_t failed = 0;
    for (size_t i = 0; i < n_cases; i++)
        if (!run_case(ctx, &cases[i], seed * 1000003u + i))
            failed++;
    fflush(stdout);
    if (failed)
        fail_msg("%zu of %zu cases failed (listed above)", failed, n_cases);
}

#define RUN_TABLE(state, table, seed) \
    run_table((swacl_context *)*(state), table, sizeof table / sizeof table[0], seed)

/* A row of a table: length, prefill tokens, heads / kv heads, head_dim, window,
 * sinks, dilation and cuts, then any other fields by name. */
#define CASE(n_, pre_, heads_, kv_heads_, hd_, w_, sink_, dil_, split_, ...)                  \
    {.n = n_, .n_prefill = pre_, .n_heads = heads_, .n_kv_heads = kv_heads_, .head_dim = hd_, \
     .window = w_, .n_sink = sink_, .dilation = dil_, .split = split_, __VA_ARGS__}
#define IN_CACHE .rope = SWACL_ROPE_IN_CACHE

/* every way of cutting a prefill, then decode; the library's own chunking too */
static void chunk_splits(void **state)
{
    static const cache_case cases[] = {
        CASE(150, 120, 4, 2, 64, 16, 4, 1, SPLIT_ONES),
        CASE(150, 120, 4, 2, 64, 16, 4, 1, SPLIT_RANDOM),
        CASE(150, 120, 4, 2, 64, 16, 4, 1, SPLIT_WINDOW),
        CASE(150, 120, 4, 2, 64, 16, 4, 1, SPLIT_PAST_WINDOW),
        CASE(150, 120, 4, 2, 64, 16, 4, 1, SPLIT_WHOLE),
        CASE(150, 120, 4, 2, 64, 16, 4, 1, SPLIT_WHOLE, .max_chunk = 3), /* chunked inside */
        CASE(150, 120, 4, 2, 64, 16, 4, 1, SPLIT_RANDOM, .max_chunk = 3),
        CASE(150, 120, 4, 2, 64, 16, 4, 1, SPLIT_RANDOM, .api = API_CL_MEM),
        CASE(150, 120, 4, 2, 64, 16, 4, 1, SPLIT_WHOLE, .max_chunk = 7, .api = API_CL_MEM),
        CASE(150, 120, 4, 2, 64, 5, 1, 2, SPLIT_RANDOM, .max_chunk = 3),
        CASE(150, 120, 4, 2, 64, 0, 0, 1, SPLIT_RANDOM, .max_context = 150),
        CASE(150, 150, 4, 2, 64, 0, 0, 1, SPLIT_WHOLE, .max_context = 200, .max_chunk = 3),
        /* prefill only, and decode only */
        CASE(40, 40, 4, 2, 32, 7, 2, 1, SPLIT_RANDOM),
        CASE(60, 0, 4, 2, 32, 7, 2, 1, SPLIT_WHOLE),
        CASE(60, 0, 4, 2, 32, 0, 0, 1, SPLIT_WHOLE, .api = API_CL_MEM),
    };
    RUN_TABLE(state, cases, 1);
}

/* every window kind x sinks x dilation, random cuts */
static void windows_sinks_dilation(void **state)
{
    static const int windows[] = {1, 4, 37, 200};
    static const int sinks[] = {0, 1, 4};
    static const int dilations[] = {1, 2, 3};
    cache_case cases[4 * 3 * 3 + 2];
    size_t n = 0;
    for (int w = 0; w < 4; w++)
        for (int s = 0; s < 3; s++)
            for (int d = 0; d < 3; d++)
                cases[n++] = (cache_case)CASE(100, 61, 4, 2, 32, windows[w], sinks[s],
                                              dilations[d], SPLIT_RANDOM);
    cases[n++] = (cache_case)CASE(100, 61, 4, 2, 32, 0, 0, 1, SPLIT_RANDOM, .max_context = 128);
    cases[n++] = (cache_case)CASE(100, 61, 4, 2, 32, 0, 4, 1, SPLIT_RANDOM, .max_context = 128);
    run_table((swacl_context *)*state, cases, n, 2);
}

static void heads_and_head_dims(void **state)
{
    static const cache_case cases[] = {
        CASE(90, 50, 4, 4, 32, 9, 2, 1, SPLIT_COARSE),
        CASE(90, 50, 4, 2, 64, 9, 2, 1, SPLIT_COARSE),
        CASE(90, 50, 4, 1, 72, 9, 2, 1, SPLIT_COARSE),
        CASE(90, 50, 8, 1, 128, 9, 2, 1, SPLIT_COARSE),
        CASE(90, 50, 8, 2, 128, 9, 2, 1, SPLIT_COARSE),
        CASE(90, 50, 2, 2, 72, 0, 0, 1, SPLIT_COARSE),
        CASE(90, 50, 6, 2, 32, 16, 0, 1, SPLIT_WINDOW), /* groups of 3 */
        CASE(90, 50, 12, 1, 64, 9, 2, 1, SPLIT_COARSE), /* decode: heads in runs of 8 + 4 */
    };
    RUN_TABLE(state, cases, 3);
}

static void scores_and_dtypes(void **state)
{
    static const cache_case cases[] = {
        CASE(100, 60, 4, 2, 64, 16, 0, 1, SPLIT_COARSE, .softcap = 30.0f),
        CASE(100, 60, 4, 2, 64, 16, 0, 1, SPLIT_COARSE, .sink_logits = 1),
        CASE(100, 60, 4, 2, 64, 1, 4, 1, SPLIT_COARSE, .softcap = 5.0f, .sink_logits = 1),
        CASE(100, 60, 4, 2, 64, 0, 0, 1, SPLIT_COARSE, .sink_logits = 1),
        CASE(100, 60, 4, 2, 64, 16, 0, 1, SPLIT_COARSE, .dtype = SWACL_F16,
             .kv_dtype = SWACL_F16),
        CASE(100, 60, 4, 2, 64, 16, 0, 1, SPLIT_COARSE, .kv_dtype = SWACL_F16),
        CASE(100, 60, 4, 2, 64, 16, 0, 1, SPLIT_COARSE, .dtype = SWACL_F16),
        CASE(100, 60, 4, 2, 64, 16, 4, 3, SPLIT_COARSE, .dtype = SWACL_F16,
             .kv_dtype = SWACL_F16, .softcap = 30.0f, .sink_logits = 1),
        CASE(100, 60, 4, 2, 64, 0, 0, 1, SPLIT_COARSE, .kv_dtype = SWACL_F16,
             .api = API_CL_MEM),
        CASE(100, 60, 8, 1, 64, 16, 0, 1, SPLIT_COARSE, .dtype = SWACL_F16,
             .kv_dtype = SWACL_F16, .api = API_CL_MEM),
    };
    RUN_TABLE(state, cases, 4);
}

/* StreamingLLM: keys cached unrotated, turned by their position inside the cache */
static void rope_in_cache(void **state)
{
    static const cache_case cases[] = {
        CASE(100, 50, 4, 2, 64, 8, 4, 1, SPLIT_COARSE, IN_CACHE),
        CASE(100, 50, 4, 2, 64, 4, 0, 1, SPLIT_ONES, IN_CACHE),
        CASE(100, 50, 4, 2, 64, 3, 1, 2, SPLIT_PAST_WINDOW, IN_CACHE),
        CASE(70, 50, 4, 2, 64, 0, 0, 1, SPLIT_COARSE, IN_CACHE, .max_context = 80),
        CASE(100, 50, 4, 1, 72, 6, 4, 1, SPLIT_WHOLE, IN_CACHE, .rope_theta = 100.0f,
             .max_chunk = 10), /* chunked inside, each chunk a whole ring */
        CASE(100, 50, 4, 2, 64, 8, 4, 1, SPLIT_COARSE, IN_CACHE, .kv_dtype = SWACL_F16),
        CASE(100, 50, 4, 2, 64, 8, 2, 1, SPLIT_COARSE, IN_CACHE, .dtype = SWACL_F16,
             .kv_dtype = SWACL_F16, .softcap = 30.0f, .sink_logits = 1),
        CASE(50, 20, 4, 2, 64, 1, 4, 1, SPLIT_COARSE, IN_CACHE),
        CASE(120, 100, 8, 2, 128, 37, 4, 1, SPLIT_WINDOW, IN_CACHE),
        CASE(100, 50, 4, 2, 64, 12, 4, 1, SPLIT_WINDOW, IN_CACHE, .rope_theta = 500000.0f,
             .api = API_CL_MEM),
    };
    RUN_TABLE(state, cases, 5);
}

/* thousands of tokens through small rings: hundreds of wrap-arounds */
static void long_runs(void **state)
{
    static const cache_case cases[] = {
        CASE(3000, 5, 4, 1, 32, 4, 1, 1, SPLIT_WHOLE),
        CASE(2000, 33, 4, 2, 32, 5, 4, 3, SPLIT_COARSE, IN_CACHE, .kv_dtype = SWACL_F16),
    };
    RUN_TABLE(state, cases, 6);
}

/* ---- batches of sequences at different positions -------------------------------- */

enum { BATCH_SEQS = 5, BATCH_STEPS = 12 };

/* Five sequences prefilled to different lengths, then decoded: in one cache as
 * changing subsets in shuffled order, one call per step; in a twin cache each
 * sequence alone. Both match the reference, and each other. */
static int run_batch(swacl_context *ctx, const cache_case *cc, uint64_t seed)
{
    static const int prefill[BATCH_SEQS] = {0, 1, 17, 40, 70};
    char what[320];
    describe(cc, what, sizeof what);
    tu_rng rng = tu_rng_seed(seed);
    float logits[MAX_HEADS];
    const swacl_attn_config cfg = config_of(cc, logits, &rng);
    swacl_cache *batched = make_cache(ctx, &cfg, 1, BATCH_SEQS + 1, cc->max_context, 0);
    swacl_cache *alone = make_cache(ctx, &cfg, 1, BATCH_SEQS + 1, cc->max_context, 0);
    stream sb[BATCH_SEQS], sa[BATCH_SEQS];
    int ok = 1;
    for (int i = 0; i < BATCH_SEQS; i++) {
        stream_init(&sb[i], &cfg, prefill[i] + BATCH_STEPS, &rng);
        /* the same tokens for the twin cache */
        stream_fork(&sa[i], &sb[i], prefill[i] + BATCH_STEPS, prefill[i] + BATCH_STEPS, &rng);
        sa[i].done = 0;
        /* slot i + 1: slot 0 stays empty throughout */
        if (ok && prefill[i] > 0)
            ok = feed_prefill(ctx, batched, cc->api, 0, i + 1, &sb[i], prefill[i], what) &&
                 feed_prefill(ctx, alone, cc->api, 0, i + 1, &sa[i], prefill[i], what);
    }
    for (int step = 0; ok && step < 2 * BATCH_STEPS; step++) {
        /* a random subset in random order; every sequence that still has tokens is
           in the batch on odd steps, so all reach the end */
        int seqs[BATCH_SEQS], n = 0;
        stream *rows[BATCH_SEQS];
        for (int i = 0; i < BATCH_SEQS; i++)
            if (sb[i].done < sb[i].n && (step % 2 || tu_rng_int(&rng, 0, 1)))
                seqs[n++] = i;
        for (int r = n - 1; r > 0; r--) {
            const int x = tu_rng_int(&rng, 0, r), t = seqs[r];
            seqs[r] = seqs[x];
            seqs[x] = t;
        }
        for (int r = 0; r < n; r++) {
            rows[r] = &sb[seqs[r]];
            seqs[r] += 1;
        }
        if (n > 0)
            ok = feed_decode(ctx, batched, cc->api, 0, n, seqs, rows, what);
        for (int r = 0; ok && r < n; r++) {
            stream *one = &sa[seqs[r] - 1];
            ok = feed_decode(ctx, alone, cc->api, 0, 1, &seqs[r], &one, what);
        }
    }
    for (int i = 0; ok && i < BATCH_SEQS; i++) {
        char who[360];
        snprintf(who, sizeof who, "%s seq %d batched", what, i + 1);
        ok = sb[i].done == sb[i].n && check_pos(batched, 0, i + 1, sb[i].n, who) &&
             stream_check(&sb[i], 0, who);
        snprintf(who, sizeof who, "%s seq %d alone", what, i + 1);
        ok = ok && check_pos(alone, 0, i + 1, sa[i].n, who) && stream_check(&sa[i], 0, who);
        if (ok) {
            /* batched against alone directly: not bit for bit, as flash-decoding
               picks its split count per launch from the whole batch */
            const size_t row = (size_t)cfg.n_heads * cfg.head_dim;
            snprintf(who, sizeof who, "%s seq %d batched vs alone", what, i + 1);
            ok = tu_compare(sb[i].got, sa[i].got, sb[i].n * row, cfg.dtype,
                            tu_tolerance(cfg.dtype, cfg.kv_dtype), who)
                     .n_bad == 0;
        }
    }
    ok = ok && check_pos(batched, 0, 0, 0, what);
    for (int i = 0; i < BATCH_SEQS; i++) {
        stream_free(&sb[i]);
        stream_free(&sa[i]);
    }
    swacl_cache_destroy(batched);
    swacl_cache_destroy(alone);
    return ok;
}

static void batched_decode(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    static const cache_case cases[] = {
        {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 16, .n_sink = 2},
        {.n_heads = 4, .n_kv_heads = 1, .head_dim = 32, .window = 0, .max_context = 128,
         .softcap = 30.0f, .sink_logits = 1},
        {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 6, .n_sink = 4, .dilation = 2,
         .kv_dtype = SWACL_F16, .rope = SWACL_ROPE_IN_CACHE},
        {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 16, .n_sink = 2,
         .api = API_CL_MEM},
        {.n_heads = 4, .n_kv_heads = 1, .head_dim = 32, .window = 0, .max_context = 128,
         .dtype = SWACL_F16, .kv_dtype = SWACL_F16, .api = API_CL_MEM},
        {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 6, .n_sink = 4, .dilation = 2,
         .rope = SWACL_ROPE_IN_CACHE, .api = API_CL_MEM},
    };
    size_t failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!run_batch(ctx, &cases[i], 700 + i))
            failed++;
    fflush(stdout);
    if (failed)
        fail_msg("%zu batch cases failed (listed above)", failed);
}

/* ---- per-layer configs in one cache ---------------------------------------------- */

/* Each layer (a case's config, length, cuts and api) gets its own data; calls go
 * round the layers, so their rings interleave in time, and each layer is checked
 * on its own. Returns 0 on any failure. */
static int run_layers(swacl_context *ctx, const cache_case *layers, int n_layers, int max_context,
                      const char *name, uint64_t seed)
{
    enum { MAX_LAYERS = 6 };
    assert_true(n_layers <= MAX_LAYERS);
    tu_rng rng = tu_rng_seed(seed);
    float logits[MAX_LAYERS][MAX_HEADS];
    swacl_attn_config cfgs[MAX_LAYERS];
    stream s[MAX_LAYERS];
    for (int l = 0; l < n_layers; l++)
        cfgs[l] = config_of(&layers[l], logits[l], &rng);
    swacl_cache *c = make_cache(ctx, cfgs, n_layers, 2, max_context, 0);
    for (int l = 0; l < n_layers; l++)
        stream_init(&s[l], &cfgs[l], layers[l].n, &rng);
    const int seq = 1;
    int ok = 1, busy = 1;
    while (ok && busy) {
        busy = 0;
        for (int l = 0; ok && l < n_layers; l++) {
            char what[400];
            snprintf(what, sizeof what, "%s layer %d", name, l);
            stream *sp = &s[l];
            const cache_case *lc = &layers[l];
            if (s[l].done < lc->n_prefill)
                ok = feed_prefill(ctx, c, lc->api, l, seq, sp,
                                  chunk_len(lc, &rng, lc->n_prefill - s[l].done), what);
            else if (s[l].done < lc->n)
                ok = feed_decode(ctx, c, lc->api, l, 1, &seq, &sp, what);
            busy |= s[l].done < lc->n;
        }
    }
    for (int l = 0; ok && l < n_layers; l++) {
        char what[400];
        describe(&layers[l], what, sizeof what);
        char who[480];
        snprintf(who, sizeof who, "%s layer %d (%s)", name, l, what);
        ok = check_pos(c, l, seq, layers[l].n, who) && check_pos(c, l, 0, 0, who) &&
             stream_check(&s[l], 0, who);
    }
    for (int l = 0; l < n_layers; l++)
        stream_free(&s[l]);
    swacl_cache_destroy(c);
    return ok;
}

static void per_layer_configs(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    /* the three kinds side by side, each layer at its own length */
    static const cache_case mixed[] = {
        CASE(90, 40, 4, 2, 64, 8, 4, 1, SPLIT_COARSE),
        CASE(70, 50, 4, 2, 64, 0, 0, 1, SPLIT_COARSE),
        CASE(110, 30, 4, 2, 64, 3, 0, 2, SPLIT_ONES),
    };
    /* Gemma 2 scaled down: local and global layers alternate, scores soft-capped */
    static const cache_case gemma[] = {
        CASE(80, 45, 8, 4, 64, 4, 0, 1, SPLIT_COARSE, .softcap = 50.0f),
        CASE(80, 45, 8, 4, 64, 0, 0, 1, SPLIT_COARSE, .softcap = 50.0f),
        CASE(80, 45, 8, 4, 64, 4, 0, 1, SPLIT_COARSE, .softcap = 50.0f, .kv_dtype = SWACL_F16),
        CASE(80, 45, 8, 4, 64, 0, 0, 1, SPLIT_COARSE, .softcap = 50.0f, .kv_dtype = SWACL_F16,
             .api = API_CL_MEM),
    };
    /* gpt-oss-like banded/dense pair with learned sinks, and layers of other shapes
       and policies in the same cache */
    static const cache_case assorted[] = {
        CASE(60, 30, 8, 1, 64, 8, 0, 1, SPLIT_COARSE, .sink_logits = 1),
        CASE(60, 30, 8, 1, 64, 0, 0, 1, SPLIT_COARSE, .sink_logits = 1),
        CASE(75, 20, 2, 1, 128, 5, 4, 1, SPLIT_COARSE, IN_CACHE),
        CASE(50, 50, 4, 4, 32, 1, 1, 1, SPLIT_ONES, .dtype = SWACL_F16, .kv_dtype = SWACL_F16),
    };
    int ok = run_layers(ctx, mixed, 3, 70, "SWA+sinks / full / dilated", 41);
    ok &= run_layers(ctx, gemma, 4, 80, "Gemma-like", 42);
    ok &= run_layers(ctx, assorted, 4, 60, "assorted", 43);
    fflush(stdout);
    if (!ok)
        fail_msg("per-layer configs failed (listed above)");
}

/* ---- sequence operations ---------------------------------------------------------- */

#define N_OPS_LAYERS 3

/* three layer kinds every sequence-op test runs on: SWA with sinks, full, and
   in-cache RoPE with dilation and an fp16 ring */
static void ops_layers(swacl_attn_config *cfgs)
{
    static const cache_case kinds[N_OPS_LAYERS] = {
        {.n_heads = 4, .n_kv_heads = 2, .head_dim = 32, .window = 6, .n_sink = 2},
        {.n_heads = 4, .n_kv_heads = 2, .head_dim = 32, .window = 0},
        {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 4, .n_sink = 1, .dilation = 2,
         .kv_dtype = SWACL_F16, .rope = SWACL_ROPE_IN_CACHE},
    };
    static float unused[MAX_HEADS];
    tu_rng rng = tu_rng_seed(0);
    for (int l = 0; l < N_OPS_LAYERS; l++)
        cfgs[l] = config_of(&kinds[l], unused, &rng);
}

/* prefills len tokens of s[l] into seq at every layer: in one call from 9 tokens
   on, else token by token (two tile heights, as SPLIT_COARSE) */
static void prefill_all(swacl_context *ctx, swacl_cache *c, int seq, stream *s, int len)
{
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        const int end = s[l].done + len;
        while (s[l].done < end) {
            const int part = len >= 9 ? len : 1;
            if (!feed_prefill(ctx, c, API_HOST, l, seq, &s[l], part, "prefill_all"))
                fail_msg("prefill failed (above)");
        }
    }
}

/* one decode step at every layer for the sequences seqs[r], whose streams are
   sets[r][layer] */
static void decode_all(swacl_context *ctx, swacl_cache *c, int n_seqs, const int *seqs,
                       stream *const *sets)
{
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        stream *rows[4];
        for (int r = 0; r < n_seqs; r++)
            rows[r] = &sets[r][l];
        if (!feed_decode(ctx, c, API_HOST, l, n_seqs, seqs, rows, "decode_all"))
            fail_msg("decode failed (above)");
    }
}

static int check_all(const swacl_cache *c, int seq, const stream *s, int from, const char *what)
{
    int ok = 1;
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        char who[200];
        snprintf(who, sizeof who, "%s, layer %d", what, l);
        ok &= check_pos(c, l, seq, s[l].done, who) && stream_check(&s[l], from, who);
    }
    return ok;
}

static void streams_init(stream *s, const swacl_attn_config *cfgs, int n, tu_rng *rng)
{
    for (int l = 0; l < N_OPS_LAYERS; l++)
        stream_init(&s[l], &cfgs[l], n, rng);
}

static void streams_free(stream *s)
{
    for (int l = 0; l < N_OPS_LAYERS; l++)
        stream_free(&s[l]);
}

static void seq_reset_then_reuse(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    swacl_attn_config cfgs[N_OPS_LAYERS];
    ops_layers(cfgs);
    /* max_context 48 holds either sequence of seq 0 but not both one after the
       other: the second only fits if the reset really rewound the position */
    swacl_cache *c = make_cache(ctx, cfgs, N_OPS_LAYERS, 2, 48, 0);
    tu_rng rng = tu_rng_seed(51);
    stream a[N_OPS_LAYERS], b[N_OPS_LAYERS], other[N_OPS_LAYERS];
    streams_init(a, cfgs, 30, &rng);
    streams_init(b, cfgs, 40, &rng);
    streams_init(other, cfgs, 22, &rng);

    prefill_all(ctx, c, 0, a, 20);
    prefill_all(ctx, c, 1, other, 7);
    stream *set_a[] = {a};
    for (int t = 0; t < 10; t++)
        decode_all(ctx, c, 1, (const int[]){0}, set_a);
    int ok = check_all(c, 0, a, 0, "before reset");

    assert_int_equal(swacl_cache_seq_reset(c, 0), SWACL_OK);
    for (int l = 0; l < N_OPS_LAYERS; l++)
        ok &= check_pos(c, l, 0, 0, "after reset") && check_pos(c, l, 1, 7, "other seq");

    /* the reset slot is a fresh sequence, decoded next to the untouched one */
    prefill_all(ctx, c, 0, b, 25);
    stream *set_ob[] = {other, b};
    for (int t = 0; t < 15; t++)
        decode_all(ctx, c, 2, (const int[]){1, 0}, set_ob);
    ok &= check_all(c, 0, b, 0, "reused after reset");
    ok &= check_all(c, 1, other, 0, "neighbour of the reset");
    streams_free(a);
    streams_free(b);
    streams_free(other);
    swacl_cache_destroy(c);
    fflush(stdout);
    if (!ok)
        fail_msg("reset failed (above)");
}

static void seq_copy_forks_prefix(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    swacl_attn_config cfgs[N_OPS_LAYERS];
    ops_layers(cfgs);
    swacl_cache *c = make_cache(ctx, cfgs, N_OPS_LAYERS, 3, 64, 0);
    tu_rng rng = tu_rng_seed(52);
    enum { PREFIX = 23, TOTAL = 35 };
    stream a[N_OPS_LAYERS], b[N_OPS_LAYERS], junk[N_OPS_LAYERS], b2[N_OPS_LAYERS];
    streams_init(a, cfgs, TOTAL, &rng);
    streams_init(junk, cfgs, 15, &rng);
    prefill_all(ctx, c, 1, junk, 15); /* the copy must replace this, not mix with it */
    prefill_all(ctx, c, 0, a, PREFIX);

    int ok = 1;
    assert_int_equal(swacl_cache_seq_copy(c, 0, 1), SWACL_OK);
    assert_int_equal(swacl_cache_seq_copy(c, 1, 1), SWACL_OK); /* a no-op */
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        ok &= check_pos(c, l, 1, PREFIX, "copy destination");
        ok &= check_pos(c, l, 0, PREFIX, "copy source");
        stream_fork(&b[l], &a[l], PREFIX, TOTAL, &rng);
    }
    /* both go on independently: a few tokens by prefill each, then decoded together */
    prefill_all(ctx, c, 0, a, 4);
    prefill_all(ctx, c, 1, b, 4);
    stream *set_ba[] = {b, a};
    for (int t = PREFIX + 4; t < TOTAL - 4; t++)
        decode_all(ctx, c, 2, (const int[]){1, 0}, set_ba);
    /* a second fork, of the fork, mid-way: slot 2 continues from b's state */
    assert_int_equal(swacl_cache_seq_copy(c, 1, 2), SWACL_OK);
    for (int l = 0; l < N_OPS_LAYERS; l++)
        stream_fork(&b2[l], &b[l], b[l].done, TOTAL, &rng);
    stream *set_abb[] = {a, b, b2};
    for (int t = TOTAL - 4; t < TOTAL; t++)
        decode_all(ctx, c, 3, (const int[]){0, 1, 2}, set_abb);
    ok &= check_all(c, 0, a, 0, "copy source continued");
    ok &= check_all(c, 1, b, PREFIX, "fork continued");
    ok &= check_all(c, 2, b2, TOTAL - 4, "fork of the fork");
    streams_free(a);
    streams_free(b);
    streams_free(b2);
    streams_free(junk);
    swacl_cache_destroy(c);
    fflush(stdout);
    if (!ok)
        fail_msg("copy failed (above)");
}

/* saves seq into a guarded buffer of exactly the size the library asks for */
static unsigned char *save_seq(swacl_cache *c, swacl_context *ctx, int seq, size_t *size)
{
    size_t need = 0, wrote = 0;
    assert_int_equal(swacl_cache_seq_save(c, seq, NULL, 0, &need), SWACL_OK);
    assert_true(need > 0);
    unsigned char *blob = tu_alloc_guarded(need);
    const swacl_status st = swacl_cache_seq_save(c, seq, blob, need, &wrote);
    if (st != SWACL_OK)
        fail_msg("swacl_cache_seq_save: %s: %s", swacl_status_string(st), swacl_last_error(ctx));
    assert_int_equal(wrote, need);
    assert_true(tu_canary_intact(blob, need, "saved blob"));
    *size = need;
    return blob;
}

static void seq_save_restore(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    swacl_attn_config cfgs[N_OPS_LAYERS];
    ops_layers(cfgs);
    swacl_cache *c = make_cache(ctx, cfgs, N_OPS_LAYERS, 3, 64, 0);
    tu_rng rng = tu_rng_seed(53);
    enum { FIRST = 20, MORE = 10, TOTAL = FIRST + 2 + MORE };
    stream a[N_OPS_LAYERS], junk[N_OPS_LAYERS], twin[N_OPS_LAYERS], again[N_OPS_LAYERS],
        moved[N_OPS_LAYERS];
    streams_init(a, cfgs, TOTAL, &rng);
    streams_init(junk, cfgs, 9, &rng);
    prefill_all(ctx, c, 2, junk, 9);
    prefill_all(ctx, c, 0, a, FIRST);

    /* the blob holds every layer's K and V rings, and a little more */
    uint64_t rings = 0;
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        const int dil = cfgs[l].dilation > 1 ? cfgs[l].dilation : 1;
        const int slots = cfgs[l].window ? cfgs[l].n_sink + cfgs[l].window * dil : 64;
        rings += 2ull * slots * cfgs[l].n_kv_heads * cfgs[l].head_dim *
                 elem_size(cfgs[l].kv_dtype);
    }
    size_t size;
    unsigned char *blob = save_seq(c, ctx, 0, &size);
    int ok = 1;
    if (size < rings || size > rings + 4096) {
        printf("blob of %zu bytes for %llu bytes of rings\n", size, (unsigned long long)rings);
        ok = 0;
    }

    /* restored into another slot, the next token gives the same bits in both */
    assert_int_equal(swacl_cache_seq_restore(c, 2, blob, size), SWACL_OK);
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        ok &= check_pos(c, l, 2, FIRST, "restored slot");
        stream_fork(&twin[l], &a[l], FIRST, FIRST + 1, &rng);
        memcpy(twin[l].q + FIRST * twin[l].q_row, a[l].q + FIRST * a[l].q_row, twin[l].q_row);
        memcpy(twin[l].k + FIRST * twin[l].kv_row, a[l].k + FIRST * a[l].kv_row, twin[l].kv_row);
        memcpy(twin[l].v + FIRST * twin[l].kv_row, a[l].v + FIRST * a[l].kv_row, twin[l].kv_row);
    }
    stream *set_a[] = {a}, *set_twin[] = {twin};
    decode_all(ctx, c, 1, (const int[]){0}, set_a);
    decode_all(ctx, c, 1, (const int[]){2}, set_twin);
    for (int l = 0; l < N_OPS_LAYERS; l++)
        ok &= same_bits(&a[l], &twin[l], FIRST, FIRST + 1, "restored copy, next token");

    /* a save, more tokens (the rings wrap), a restore: the old state comes back
       exactly, so the next token after it repeats its bits */
    size_t size2;
    unsigned char *blob2 = save_seq(c, ctx, 0, &size2);
    assert_int_equal(size2, size);
    const int mark = a[0].done;
    for (int t = 0; t < MORE + 1; t++)
        decode_all(ctx, c, 1, (const int[]){0}, set_a);
    ok &= check_all(c, 0, a, 0, "saved sequence continued");
    assert_int_equal(swacl_cache_seq_restore(c, 0, blob2, size2), SWACL_OK);
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        ok &= check_pos(c, l, 0, mark, "restored over itself");
        stream_fork(&again[l], &a[l], TOTAL, TOTAL, &rng);
        again[l].done = mark;
    }
    stream *set_again[] = {again};
    for (int t = mark; t < TOTAL; t++)
        decode_all(ctx, c, 1, (const int[]){0}, set_again);
    for (int l = 0; l < N_OPS_LAYERS; l++)
        ok &= same_bits(&a[l], &again[l], mark, TOTAL, "after restore over itself");

    /* a blob goes into another cache of the same layer configs */
    swacl_cache *other = make_cache(ctx, cfgs, N_OPS_LAYERS, 1, 64, 5);
    assert_int_equal(swacl_cache_seq_restore(other, 0, blob2, size2), SWACL_OK);
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        stream_fork(&moved[l], &a[l], TOTAL, TOTAL, &rng);
        moved[l].done = mark;
    }
    stream *set_moved[] = {moved};
    for (int t = mark; t < TOTAL; t++)
        decode_all(ctx, other, 1, (const int[]){0}, set_moved);
    ok &= check_all(other, 0, moved, mark, "restored into another cache");

    free(blob);
    free(blob2);
    streams_free(a);
    streams_free(junk);
    streams_free(twin);
    streams_free(again);
    streams_free(moved);
    swacl_cache_destroy(other);
    swacl_cache_destroy(c);
    fflush(stdout);
    if (!ok)
        fail_msg("save/restore failed (above)");
}

/* ---- memory accounting --------------------------------------------------------- */

/* the bytes a cache holds, by hand from README's geometry */
static uint64_t hand_bytes(const swacl_cache_options *opt)
{
    uint64_t total = 0;
    for (int l = 0; l < opt->n_layers; l++) {
        const swacl_attn_config *cfg = &opt->layers[l];
        const int dil = cfg->dilation > 1 ? cfg->dilation : 1;
        const uint64_t slots = cfg->window ? (uint64_t)cfg->n_sink + (uint64_t)cfg->window * dil
                                           : (uint64_t)opt->max_context;
        total += 2 * slots * cfg->n_kv_heads * cfg->head_dim * elem_size(cfg->kv_dtype) *
                 opt->max_seqs;
        if (cfg->sink_logits)
            total += (uint64_t)cfg->n_heads * 4;
        if (cfg->rope == SWACL_ROPE_IN_CACHE)
            total += (uint64_t)cfg->head_dim / 2 * 4;
    }
    return total;
}

static void device_bytes_fixed(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    static const float logits[8] = {0.5f, -0.25f, 1.0f, 0.0f, 0.125f, 2.0f, -1.0f, 0.75f};
    static const struct {
        const char *what;
        int n_layers, max_seqs, max_context;
        swacl_attn_config layers[3];
    } cases[] = {
        {"SWA with sinks", 1, 3, 0,
         {{.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 16, .n_sink = 4}}},
        {"dilated, fp16 ring, RoPE", 1, 2, 0,
         {{.n_heads = 4, .n_kv_heads = 2, .head_dim = 32, .window = 7, .n_sink = 1,
           .dilation = 3, .kv_dtype = SWACL_F16, .rope = SWACL_ROPE_IN_CACHE}}},
        {"full, fp16 io and ring", 1, 4, 100,
         {{.n_heads = 8, .n_kv_heads = 2, .head_dim = 64, .window = 0, .dtype = SWACL_F16,
           .kv_dtype = SWACL_F16}}},
        {"mixed with sink logits and RoPE", 3, 5, 300,
         {{.n_heads = 8, .n_kv_heads = 2, .head_dim = 32, .window = 8, .softcap = 30.0f,
           .sink_logits = logits},
          {.n_heads = 8, .n_kv_heads = 2, .head_dim = 32, .window = 0, .softcap = 30.0f,
           .sink_logits = logits},
          {.n_heads = 4, .n_kv_heads = 4, .head_dim = 64, .window = 3, .n_sink = 4,
           .dilation = 2, .rope = SWACL_ROPE_IN_CACHE}}},
    };
    tu_rng rng = tu_rng_seed(61);
    int ok = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        swacl_cache_options opt;
        memset(&opt, 0, sizeof opt);
        opt.n_layers = cases[i].n_layers;
        opt.layers = cases[i].layers;
        opt.max_seqs = cases[i].max_seqs;
        opt.max_context = cases[i].max_context;
        uint64_t plan = 0;
        assert_int_equal(swacl_cache_plan_bytes(&opt, &plan), SWACL_OK);
        swacl_cache *c = make_cache(ctx, opt.layers, opt.n_layers, opt.max_seqs,
                                    opt.max_context, 0);
        const uint64_t hand = hand_bytes(&opt), held = swacl_cache_device_bytes(c);
        if (plan != hand || held != hand) {
            printf("%s: device %llu, plan %llu, by hand %llu bytes\n", cases[i].what,
                   (unsigned long long)held, (unsigned long long)plan, (unsigned long long)hand);
            ok = 0;
        }
        /* 10 tokens at every layer, then (first case) hundreds: nothing grows */
        const int rounds = i == 0 ? 2 : 1;
        for (int round = 0; round < rounds; round++) {
            const int tokens = round == 0 ? 10 : 300;
            for (int l = 0; l < opt.n_layers; l++) {
                stream s;
                stream *sp = &s;
                const int seq = opt.max_seqs - 1;
                stream_init(&s, &opt.layers[l], tokens, &rng);
                while (ok && s.done < tokens)
                    ok = feed_decode(ctx, c, API_HOST, l, 1, &seq, &sp, cases[i].what);
                stream_free(&s);
            }
            if (swacl_cache_device_bytes(c) != hand) {
                printf("%s: %zu device bytes after %d tokens, %llu before\n", cases[i].what,
                       swacl_cache_device_bytes(c), round == 0 ? 10 : 310,
                       (unsigned long long)hand);
                ok = 0;
            }
        }
        swacl_cache_destroy(c);
    }
    fflush(stdout);
    if (!ok)
        fail_msg("device bytes wrong (above)");
}

/* ---- bad arguments ------------------------------------------------------------------ */

/* Cache creation: each case breaks one rule of the options. */
static void create_rejects_bad_options(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    enum { SWA, FULL, BIDIR, BROKEN };
    static const struct {
        const char *what;
        int n_layers, layers_null, kind, max_seqs, max_context, max_chunk, out_null;
    } cases[] = {
        {"n_layers 0", 0, 0, SWA, 2, 0, 0, 0},
        {"n_layers negative", -1, 0, SWA, 2, 0, 0, 0},
        {"layers NULL", 1, 1, SWA, 2, 0, 0, 0},
        {"max_seqs 0", 1, 0, SWA, 0, 0, 0, 0},
        {"max_seqs negative", 1, 0, SWA, -2, 0, 0, 0},
        {"max_context negative", 1, 0, SWA, 2, -1, 0, 0},
        {"max_chunk negative", 1, 0, SWA, 2, 0, -1, 0},
        {"bidirectional layer", 1, 0, BIDIR, 2, 0, 0, 0},
        {"full layer, max_context 0", 1, 0, FULL, 2, 0, 0, 0},
        {"invalid layer config", 1, 0, BROKEN, 2, 0, 0, 0},
        {"out NULL", 1, 0, SWA, 2, 0, 0, 1},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        swacl_attn_config layer = tu_valid_config();
        if (cases[i].kind == FULL)
            layer.window = 0;
        else if (cases[i].kind == BIDIR)
            layer.bidirectional = 1;
        else if (cases[i].kind == BROKEN)
            layer.n_kv_heads = 3;
        swacl_cache_options opt;
        memset(&opt, 0, sizeof opt);
        opt.n_layers = cases[i].n_layers;
        opt.layers = cases[i].layers_null ? NULL : &layer;
        opt.max_seqs = cases[i].max_seqs;
        opt.max_context = cases[i].max_context;
        opt.max_chunk = cases[i].max_chunk;
        swacl_cache *c = (swacl_cache *)&opt; /* anything but NULL: must come back NULL */
        ctx->err[0] = '\0';
        const swacl_status st = swacl_cache_create(ctx, &opt, cases[i].out_null ? NULL : &c);
        uint64_t plan = 0;
        const swacl_status plan_st = swacl_cache_plan_bytes(&opt, &plan);
        const swacl_status plan_want = cases[i].out_null ? SWACL_OK : SWACL_ERR_INVALID_ARGUMENT;
        if (st != SWACL_ERR_INVALID_ARGUMENT || (!cases[i].out_null && c != NULL) ||
            swacl_last_error(ctx)[0] == '\0' || plan_st != plan_want) {
            printf("%s: create %s (cache %s, message \"%s\"), plan %s\n", cases[i].what,
                   swacl_status_string(st), c ? "set" : "NULL", swacl_last_error(ctx),
                   swacl_status_string(plan_st));
            ok = 0;
            if (st == SWACL_OK && !cases[i].out_null)
                swacl_cache_destroy(c);
        }
    }
    swacl_cache *c = NULL;
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    const swacl_attn_config layer = tu_valid_config();
    opt.n_layers = 1;
    opt.layers = &layer;
    opt.max_seqs = 1;
    ok &= swacl_cache_create(NULL, &opt, &c) == SWACL_ERR_INVALID_ARGUMENT && c == NULL;
    ok &= swacl_cache_create(ctx, NULL, &c) == SWACL_ERR_INVALID_ARGUMENT && c == NULL;
    ok &= swacl_cache_plan_bytes(&opt, NULL) == SWACL_ERR_INVALID_ARGUMENT;
    ok &= swacl_cache_plan_bytes(NULL, &(uint64_t){0}) == SWACL_ERR_INVALID_ARGUMENT;
    swacl_cache_destroy(NULL);
    fflush(stdout);
    if (!ok)
        fail_msg("bad cache options accepted or reported wrongly (above)");
}

/* Calls on a live cache. A twin cache gets every valid call and none of the bad
 * ones; after each bad call both must hold the same positions, and a probe
 * decode on both must give the same bits. */
enum { FX_SEQS = 3, FX_MAX_CONTEXT = 64, FX_ROWS = 64 };

typedef struct fixture {
    swacl_context *ctx;
    swacl_cache *c, *twin;
    swacl_attn_config layers[2]; /* 0: SWA W=4 with a sink; 1: full */
    tu_rng rng;
    unsigned char *q, *k, *v; /* FX_ROWS rows of inputs */
    size_t q_row, kv_row;
    cl_mem dq, dk, dv, dout;  /* device copies, dout filled with canary bytes */
    unsigned char *good, *other_window, *other_layers;
    size_t good_size, other_window_size, other_layers_size;
} fixture;

/* the same valid call on both caches, outputs compared bit for bit */
static int fx_both(fixture *f, int layer, int n_seqs, const int *seqs, int n_tokens)
{
    const size_t rows = n_seqs > 0 ? (size_t)n_seqs : (size_t)n_tokens;
    tu_fill(&f->rng, f->q, rows * f->q_row / 4, SWACL_F32);
    tu_fill(&f->rng, f->k, rows * f->kv_row / 4, SWACL_F32);
    tu_fill(&f->rng, f->v, rows * f->kv_row / 4, SWACL_F32);
    unsigned char *o1 = tu_alloc_guarded(rows * f->q_row), *o2 = tu_alloc_guarded(rows * f->q_row);
    swacl_status s1, s2;
    if (n_seqs > 0) {
        s1 = swacl_decode_host(f->c, layer, n_seqs, seqs, f->q, f->k, f->v, o1);
        s2 = swacl_decode_host(f->twin, layer, n_seqs, seqs, f->q, f->k, f->v, o2);
    } else {
        s1 = swacl_prefill_host(f->c, layer, seqs[0], n_tokens, f->q, f->k, f->v, o1);
        s2 = swacl_prefill_host(f->twin, layer, seqs[0], n_tokens, f->q, f->k, f->v, o2);
    }
    int ok = s1 == SWACL_OK && s2 == SWACL_OK;
    if (!ok)
        printf("valid call at layer %d failed: %s / %s: %s\n", layer, swacl_status_string(s1),
               swacl_status_string(s2), swacl_last_error(f->ctx));
    else if (memcmp(o1, o2, rows * f->q_row) != 0) {
        printf("valid call at layer %d: outputs differ from the twin's\n", layer);
        ok = 0;
    }
    ok = ok && tu_canary_intact(o1, rows * f->q_row, "probe") &&
         tu_canary_intact(o2, rows * f->q_row, "probe");
    free(o1);
    free(o2);
    return ok;
}

static int fx_setup(void **state)
{
    swacl_context *ctx = *state;
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ctx = ctx;
    *state = f;
    if (!ctx)
        return 0;
    f->layers[0] = tu_valid_config();
    f->layers[0].n_sink = 1;
    f->layers[1] = tu_valid_config();
    f->layers[1].window = 0;
    f->rng = tu_rng_seed(71);
    f->c = make_cache(ctx, f->layers, 2, FX_SEQS, FX_MAX_CONTEXT, 0);
    f->twin = make_cache(ctx, f->layers, 2, FX_SEQS, FX_MAX_CONTEXT, 0);
    f->q_row = (size_t)f->layers[0].n_heads * f->layers[0].head_dim * 4;
    f->kv_row = (size_t)f->layers[0].n_kv_heads * f->layers[0].head_dim * 4;
    f->q = malloc(FX_ROWS * f->q_row);
    f->k = malloc(FX_ROWS * f->kv_row);
    f->v = malloc(FX_ROWS * f->kv_row);
    assert_true(f->q && f->k && f->v);
    /* seq 0 and 1 part-way; seq 2 filled to exactly max_context on the full layer
       (a prefill that ends on the last slot is valid) and seq 1 just short of it */
    static const struct { int layer, seq, n; } fill[] = {
        {0, 0, 10}, {1, 0, 5}, {0, 1, 5}, {1, 1, 60}, {0, 2, 3}, {1, 2, 60}, {1, 2, 4},
    };
    for (size_t i = 0; i < sizeof fill / sizeof fill[0]; i++)
        if (!fx_both(f, fill[i].layer, 0, &fill[i].seq, fill[i].n))
            return -1;
    f->good = save_seq(f->c, ctx, 0, &f->good_size);
    swacl_attn_config other[2] = {f->layers[0], f->layers[1]};
    other[0].window = 5;
    swacl_cache *c2 = make_cache(ctx, other, 2, 1, FX_MAX_CONTEXT, 0);
    f->other_window = save_seq(c2, ctx, 0, &f->other_window_size);
    swacl_cache_destroy(c2);
    c2 = make_cache(ctx, f->layers, 1, 1, FX_MAX_CONTEXT, 0);
    f->other_layers = save_seq(c2, ctx, 0, &f->other_layers_size);
    swacl_cache_destroy(c2);

    cl_context cl = swacl_context_cl_context(ctx);
    cl_int e[4];
    unsigned char *canary = tu_alloc_guarded(FX_ROWS * f->q_row);
    const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    f->dq = clCreateBuffer(cl, in, FX_ROWS * f->q_row, f->q, &e[0]);
    f->dk = clCreateBuffer(cl, in, FX_ROWS * f->kv_row, f->k, &e[1]);
    f->dv = clCreateBuffer(cl, in, FX_ROWS * f->kv_row, f->v, &e[2]);
    f->dout = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                             FX_ROWS * f->q_row + TU_CANARY_BYTES, canary, &e[3]);
    free(canary);
    assert_true(e[0] == CL_SUCCESS && e[1] == CL_SUCCESS && e[2] == CL_SUCCESS &&
                e[3] == CL_SUCCESS);
    return 0;
}

static int fx_teardown(void **state)
{
    fixture *f = *state;
    if (f->dq) {
        clReleaseMemObject(f->dq);
        clReleaseMemObject(f->dk);
        clReleaseMemObject(f->dv);
        clReleaseMemObject(f->dout);
    }
    swacl_cache_destroy(f->c);
    swacl_cache_destroy(f->twin);
    free(f->q);
    free(f->k);
    free(f->v);
    free(f->good);
    free(f->other_window);
    free(f->other_layers);
    swacl_context *ctx = f->ctx;
    free(f);
    *state = ctx;
    return 0;
}

typedef enum bad_op {
    OP_PREFILL_HOST, OP_PREFILL_DEV, OP_DECODE_HOST, OP_DECODE_DEV,
    OP_RESET, OP_COPY, OP_SAVE, OP_RESTORE
} bad_op;

enum { NULL_Q = 1, NULL_K = 2, NULL_V = 4, NULL_OUT = 8, NULL_SEQS = 16, NULL_SIZE = 32 };

typedef enum blob_kind {
    BLOB_GOOD, BLOB_OTHER_WINDOW, BLOB_OTHER_LAYERS, BLOB_TRUNCATED, BLOB_HEADER_ONLY,
    BLOB_CORRUPT_RING, BLOB_CORRUPT_MAGIC, BLOB_NULL, BLOB_SHORT_BUFFER
} blob_kind;

typedef struct bad_call {
    const char *what;
    bad_op op;
    int layer, seq, n; /* n: tokens of a prefill, rows of a decode */
    int seqs[4];       /* a decode's batch; a copy's src and dst */
    int nulls;         /* NULL_* pointers passed as NULL */
    blob_kind blob;
} bad_call;

#define BAD(what_, op_, ...) {.what = what_, .op = op_, __VA_ARGS__}
static const bad_call bad_calls[] = {
    BAD("prefill: seq -1", OP_PREFILL_HOST, .seq = -1, .n = 2),
    BAD("prefill: seq == max_seqs", OP_PREFILL_HOST, .seq = FX_SEQS, .n = 2),
    BAD("prefill: layer -1", OP_PREFILL_HOST, .layer = -1, .n = 2),
    BAD("prefill: layer == n_layers", OP_PREFILL_HOST, .layer = 2, .n = 2),
    BAD("prefill: n_tokens 0", OP_PREFILL_HOST),
    BAD("prefill: n_tokens -2", OP_PREFILL_HOST, .n = -2),
    BAD("prefill: q NULL", OP_PREFILL_HOST, .n = 2, .nulls = NULL_Q),
    BAD("prefill: k NULL", OP_PREFILL_HOST, .n = 2, .nulls = NULL_K),
    BAD("prefill: v NULL", OP_PREFILL_HOST, .n = 2, .nulls = NULL_V),
    BAD("prefill: out NULL", OP_PREFILL_HOST, .n = 2, .nulls = NULL_OUT),
    BAD("prefill: crosses max_context", OP_PREFILL_HOST, .layer = 1, .seq = 1, .n = 5),
    BAD("prefill: at max_context", OP_PREFILL_HOST, .layer = 1, .seq = 2, .n = 1),
    BAD("prefill (cl_mem): seq == max_seqs", OP_PREFILL_DEV, .seq = FX_SEQS, .n = 2),
    BAD("prefill (cl_mem): layer == n_layers", OP_PREFILL_DEV, .layer = 2, .n = 2),
    BAD("prefill (cl_mem): n_tokens 0", OP_PREFILL_DEV),
    BAD("prefill (cl_mem): q NULL", OP_PREFILL_DEV, .n = 2, .nulls = NULL_Q),
    BAD("prefill (cl_mem): out NULL", OP_PREFILL_DEV, .n = 2, .nulls = NULL_OUT),
    BAD("prefill (cl_mem): crosses max_context", OP_PREFILL_DEV, .layer = 1, .seq = 1,
        .n = 5),
    BAD("decode: seq -1", OP_DECODE_HOST, .n = 1, .seqs = {-1}),
    BAD("decode: second seq == max_seqs", OP_DECODE_HOST, .n = 2, .seqs = {0, FX_SEQS}),
    BAD("decode: layer == n_layers", OP_DECODE_HOST, .layer = 2, .n = 1, .seqs = {0}),
    BAD("decode: layer -1", OP_DECODE_HOST, .layer = -1, .n = 1, .seqs = {0}),
    BAD("decode: n_seqs 0", OP_DECODE_HOST, .seqs = {0}),
    BAD("decode: n_seqs -1", OP_DECODE_HOST, .n = -1, .seqs = {0}),
    BAD("decode: n_seqs > max_seqs", OP_DECODE_HOST, .n = 4, .seqs = {0, 1, 2, 0}),
    BAD("decode: seqs NULL", OP_DECODE_HOST, .n = 1, .seqs = {0}, .nulls = NULL_SEQS),
    BAD("decode: q NULL", OP_DECODE_HOST, .n = 1, .seqs = {0}, .nulls = NULL_Q),
    BAD("decode: k NULL", OP_DECODE_HOST, .n = 1, .seqs = {0}, .nulls = NULL_K),
    BAD("decode: v NULL", OP_DECODE_HOST, .n = 1, .seqs = {0}, .nulls = NULL_V),
    BAD("decode: out NULL", OP_DECODE_HOST, .n = 1, .seqs = {0}, .nulls = NULL_OUT),
    BAD("decode: duplicate seq", OP_DECODE_HOST, .n = 3, .seqs = {0, 1, 0}),
    BAD("decode: a full-layer seq at max_context", OP_DECODE_HOST, .layer = 1, .n = 2,
        .seqs = {0, 2}),
    BAD("decode (cl_mem): duplicate seq", OP_DECODE_DEV, .n = 2, .seqs = {1, 1}),
    BAD("decode (cl_mem): seq at max_context", OP_DECODE_DEV, .layer = 1, .n = 1, .seqs = {2}),
    BAD("decode (cl_mem): seq == max_seqs", OP_DECODE_DEV, .n = 1, .seqs = {FX_SEQS}),
    BAD("decode (cl_mem): k NULL", OP_DECODE_DEV, .n = 1, .seqs = {0}, .nulls = NULL_K),
    BAD("decode (cl_mem): seqs NULL", OP_DECODE_DEV, .n = 1, .seqs = {0}, .nulls = NULL_SEQS),
    BAD("reset: seq == max_seqs", OP_RESET, .seq = FX_SEQS),
    BAD("reset: seq -1", OP_RESET, .seq = -1),
    BAD("copy: src out of range", OP_COPY, .seqs = {FX_SEQS, 0}),
    BAD("copy: dst out of range", OP_COPY, .seqs = {0, -1}),
    BAD("save: seq == max_seqs", OP_SAVE, .seq = FX_SEQS),
    BAD("save: size_out NULL", OP_SAVE, .nulls = NULL_SIZE),
    BAD("save: buffer one byte short", OP_SAVE, .blob = BLOB_SHORT_BUFFER),
    BAD("restore: seq == max_seqs", OP_RESTORE, .seq = FX_SEQS, .blob = BLOB_GOOD),
    BAD("restore: blob of another window", OP_RESTORE, .blob = BLOB_OTHER_WINDOW),
    BAD("restore: blob of another layer count", OP_RESTORE, .blob = BLOB_OTHER_LAYERS),
    BAD("restore: truncated blob", OP_RESTORE, .blob = BLOB_TRUNCATED),
    BAD("restore: blob cut after its header", OP_RESTORE, .seq = 1, .blob = BLOB_HEADER_ONLY),
    BAD("restore: corrupted ring byte", OP_RESTORE, .blob = BLOB_CORRUPT_RING),
    BAD("restore: corrupted magic", OP_RESTORE, .seq = 1, .blob = BLOB_CORRUPT_MAGIC),
    BAD("restore: NULL blob", OP_RESTORE, .blob = BLOB_NULL),
};
#undef BAD

/* makes the bad call; *wrote is 0 when the memory it was handed stayed untouched */
static swacl_status bad_dispatch(fixture *f, const bad_call *b, int *wrote)
{
    /* room for any output or blob; all of it must stay canary bytes */
    const size_t room = FX_ROWS * f->q_row > f->good_size ? FX_ROWS * f->q_row : f->good_size;
    unsigned char *out = tu_alloc_guarded(room);
    const void *q = b->nulls & NULL_Q ? NULL : f->q, *k = b->nulls & NULL_K ? NULL : f->k;
    const void *v = b->nulls & NULL_V ? NULL : f->v;
    void *o = b->nulls & NULL_OUT ? NULL : out;
    cl_mem dq = b->nulls & NULL_Q ? NULL : f->dq, dk = b->nulls & NULL_K ? NULL : f->dk;
    cl_mem dv = b->nulls & NULL_V ? NULL : f->dv, dout = b->nulls & NULL_OUT ? NULL : f->dout;
    const int *seqs = b->nulls & NULL_SEQS ? NULL : b->seqs;
    swacl_status st = SWACL_OK;
    unsigned char *blob = NULL;
    size_t blob_size = 0;
    switch (b->blob) {
    case BLOB_GOOD: blob = f->good; blob_size = f->good_size; break;
    case BLOB_OTHER_WINDOW: blob = f->other_window; blob_size = f->other_window_size; break;
    case BLOB_OTHER_LAYERS: blob = f->other_layers; blob_size = f->other_layers_size; break;
    case BLOB_TRUNCATED: blob = f->good; blob_size = f->good_size - 1; break;
    case BLOB_HEADER_ONLY: blob = f->good; blob_size = 64; break;
    case BLOB_CORRUPT_RING:
    case BLOB_CORRUPT_MAGIC:
        blob = malloc(f->good_size);
        assert_non_null(blob);
        memcpy(blob, f->good, f->good_size);
        blob_size = f->good_size;
        blob[b->blob == BLOB_CORRUPT_RING ? f->good_size - 3 : 0] ^= 0x10;
        break;
    case BLOB_NULL: blob = NULL; blob_size = f->good_size; break;
    case BLOB_SHORT_BUFFER: break;
    }
    *wrote = 0;
    switch (b->op) {
    case OP_PREFILL_HOST:
        st = swacl_prefill_host(f->c, b->layer, b->seq, b->n, q, k, v, o);
        *wrote = !tu_untouched(out, room + TU_CANARY_BYTES);
        break;
    case OP_DECODE_HOST:
        st = swacl_decode_host(f->c, b->layer, b->n, seqs, q, k, v, o);
        *wrote = !tu_untouched(out, room + TU_CANARY_BYTES);
        break;
    case OP_PREFILL_DEV:
    case OP_DECODE_DEV:
        st = b->op == OP_PREFILL_DEV
                 ? swacl_prefill(f->c, b->layer, b->seq, b->n, dq, dk, dv, dout)
                 : swacl_decode(f->c, b->layer, b->n, seqs, dq, dk, dv, dout);
        assert_int_equal(swacl_finish(f->ctx), SWACL_OK);
        assert_int_equal(clEnqueueReadBuffer(swacl_context_cl_queue(f->ctx), f->dout, CL_TRUE, 0,
                                             FX_ROWS * f->q_row + TU_CANARY_BYTES, out, 0, NULL,
                                             NULL),
                         CL_SUCCESS);
        *wrote = !tu_untouched(out, room + TU_CANARY_BYTES);
        break;
    case OP_RESET: st = swacl_cache_seq_reset(f->c, b->seq); break;
    case OP_COPY: st = swacl_cache_seq_copy(f->c, b->seqs[0], b->seqs[1]); break;
    case OP_SAVE: {
        size_t size_out = 0;
        const size_t given = b->blob == BLOB_SHORT_BUFFER ? f->good_size - 1 : f->good_size;
        st = swacl_cache_seq_save(f->c, b->seq, out, given,
                                  b->nulls & NULL_SIZE ? NULL : &size_out);
        *wrote = !tu_untouched(out, room + TU_CANARY_BYTES);
        break;
    }
    case OP_RESTORE: st = swacl_cache_seq_restore(f->c, b->seq, blob, blob_size); break;
    }
    if (b->blob == BLOB_CORRUPT_RING || b->blob == BLOB_CORRUPT_MAGIC)
        free(blob);
    free(out);
    return st;
}

static void cache_calls_reject_bad_arguments(void **state)
{
    fixture *f = *state;
    if (!f->ctx)
        skip();
    assert_true(f->good_size > 64);
    int failed = 0;
    for (size_t i = 0; i < sizeof bad_calls / sizeof bad_calls[0]; i++) {
        const bad_call *b = &bad_calls[i];
        f->ctx->err[0] = '\0';
        int wrote;
        const swacl_status st = bad_dispatch(f, b, &wrote);
        int ok = 1;
        if (st != SWACL_ERR_INVALID_ARGUMENT) {
            printf("%s: got %s, want %s\n", b->what, swacl_status_string(st),
                   swacl_status_string(SWACL_ERR_INVALID_ARGUMENT));
            ok = 0;
        }
        if (swacl_last_error(f->ctx)[0] == '\0') {
            printf("%s: no error message\n", b->what);
            ok = 0;
        }
        if (wrote) {
            printf("%s: wrote into memory it was handed\n", b->what);
            ok = 0;
        }
        for (int l = 0; l < 2; l++)
            for (int s = 0; s < FX_SEQS; s++) {
                int64_t p1 = -1, p2 = -2;
                assert_int_equal(swacl_cache_seq_pos(f->c, l, s, &p1), SWACL_OK);
                assert_int_equal(swacl_cache_seq_pos(f->twin, l, s, &p2), SWACL_OK);
                if (p1 != p2) {
                    printf("%s: layer %d seq %d moved to %lld (twin %lld)\n", b->what, l, s,
                           (long long)p1, (long long)p2);
                    ok = 0;
                }
            }
        /* the cache still computes exactly what the untouched twin does */
        if (!fx_both(f, 0, 3, (const int[]){2, 0, 1}, 0) ||
            !fx_both(f, 1, 1, (const int[]){0}, 0)) {
            printf("%s: the cache changed\n", b->what);
            ok = 0;
        }
        failed += !ok;
    }
    /* seq_pos takes a const cache, so a status (no message) is all it can give */
    int64_t pos = 77;
    int pos_ok = swacl_cache_seq_pos(f->c, 2, 0, &pos) == SWACL_ERR_INVALID_ARGUMENT &&
                 swacl_cache_seq_pos(f->c, -1, 0, &pos) == SWACL_ERR_INVALID_ARGUMENT &&
                 swacl_cache_seq_pos(f->c, 0, FX_SEQS, &pos) == SWACL_ERR_INVALID_ARGUMENT &&
                 swacl_cache_seq_pos(f->c, 0, -1, &pos) == SWACL_ERR_INVALID_ARGUMENT &&
                 swacl_cache_seq_pos(f->c, 0, 0, NULL) == SWACL_ERR_INVALID_ARGUMENT &&
                 swacl_cache_seq_pos(NULL, 0, 0, &pos) == SWACL_ERR_INVALID_ARGUMENT && pos == 77;
    if (!pos_ok)
        printf("swacl_cache_seq_pos accepted a bad argument or wrote its output\n");
    fflush(stdout);
    if (failed || !pos_ok)
        fail_msg("%d of %zu bad calls mishandled (above)", failed,
                 sizeof bad_calls / sizeof bad_calls[0]);
}

/* ---- the RoPE helper ---------------------------------------------------------------- */

typedef struct rope_case {
    swacl_dtype dtype;
    int n_tokens, n_heads, head_dim;
    float theta;
    int max_pos;
    api api;
} rope_case;

static void rope_helper(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    static const rope_case cases[] = {
        {SWACL_F32, 33, 4, 64, 0.0f, 100000, API_HOST},
        {SWACL_F32, 17, 2, 128, 500000.0f, 100000, API_HOST},
        {SWACL_F32, 9, 3, 72, 100.0f, 100000, API_HOST},
        {SWACL_F32, 40, 1, 64, 0.0f, 64, API_HOST},
        {SWACL_F32, 20, 2, 128, 0.0f, 100000, API_CL_MEM},
        {SWACL_F16, 33, 4, 64, 0.0f, 100000, API_HOST},
        {SWACL_F16, 12, 2, 40, 10000.0f, 5000, API_HOST},
        {SWACL_F16, 20, 2, 64, 0.0f, 100000, API_CL_MEM},
    };
    tu_rng rng = tu_rng_seed(81);
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rope_case *c = &cases[i];
        char what[160];
        snprintf(what, sizeof what, "rope %s tokens=%d heads=%d hd=%d theta=%g max_pos=%d%s",
                 c->dtype == SWACL_F16 ? "f16" : "f32", c->n_tokens, c->n_heads, c->head_dim,
                 (double)c->theta, c->max_pos, c->api == API_CL_MEM ? " cl_mem" : "");
        const size_t n = (size_t)c->n_tokens * c->n_heads * c->head_dim;
        const size_t bytes = n * elem_size(c->dtype);
        int32_t *pos = malloc(c->n_tokens * sizeof *pos);
        unsigned char *x = tu_alloc_guarded(bytes), *want = malloc(bytes);
        assert_true(pos && want);
        tu_fill(&rng, x, n, c->dtype);
        /* both ends of the range, then anywhere in it */
        for (int t = 0; t < c->n_tokens; t++)
            pos[t] = t < 2 ? t : t == 2 ? c->max_pos : tu_rng_int(&rng, 0, c->max_pos);
        double inv_freq[128];
        rope_freqs(c->theta, c->head_dim, inv_freq);
        float *xf = to_f32(x, n, c->dtype);
        for (int t = 0; t < c->n_tokens; t++)
            rotate_row(xf + (size_t)t * c->n_heads * c->head_dim, c->n_heads, c->head_dim, pos[t],
                       inv_freq);
        from_f32(xf, n, c->dtype, want);
        swacl_status st;
        if (c->api == API_HOST) {
            st = swacl_rope_host(ctx, c->dtype, c->n_tokens, c->n_heads, c->head_dim, c->theta,
                                 pos, x);
        } else {
            cl_int e;
            cl_mem dx = clCreateBuffer(swacl_context_cl_context(ctx),
                                       CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                       bytes + TU_CANARY_BYTES, x, &e);
            assert_int_equal(e, CL_SUCCESS);
            st = swacl_rope(ctx, c->dtype, c->n_tokens, c->n_heads, c->head_dim, c->theta, pos, dx);
            if (st == SWACL_OK)
                st = swacl_finish(ctx);
            assert_int_equal(clEnqueueReadBuffer(swacl_context_cl_queue(ctx), dx, CL_TRUE, 0,
                                                 bytes + TU_CANARY_BYTES, x, 0, NULL, NULL),
                             CL_SUCCESS);
            clReleaseMemObject(dx);
        }
        int ok = st == SWACL_OK;
        if (!ok)
            printf("%s: %s: %s\n", what, swacl_status_string(st), swacl_last_error(ctx));
        else
            ok = tu_compare(x, want, n, c->dtype, tu_tolerance(c->dtype, c->dtype), what)
                         .n_bad == 0 &&
                 tu_canary_intact(x, bytes, what);
        failed += !ok;
        free(pos);
        free(x);
        free(want);
        free(xf);
    }
    fflush(stdout);
    if (failed)
        fail_msg("%d rope cases failed (above)", failed);
}

/* ---- the GPU parameter set --------------------------------------------------------- */

/* Run with TU_GPU_PARAMS, so decode takes the general attention kernel (GPUs)
 * instead of the streaming one: ring tiles, sinks, dilation, RoPE in cache, fp16. */
static void gpu_params_decode(void **state)
{
    static const cache_case cases[] = {
        CASE(100, 61, 4, 2, 32, 16, 4, 1, SPLIT_RANDOM),
        CASE(100, 61, 4, 2, 64, 5, 1, 2, SPLIT_RANDOM, .kv_dtype = SWACL_F16),
        CASE(100, 50, 4, 2, 64, 8, 4, 1, SPLIT_COARSE, IN_CACHE),
        CASE(100, 60, 8, 1, 64, 0, 0, 1, SPLIT_COARSE, .max_context = 128, .softcap = 30.0f,
             .sink_logits = 1, .api = API_CL_MEM),
    };
    RUN_TABLE(state, cases, 9);
}

/* Decode under the GPU set splits a long window across work-groups and merges
 * the partials: three launches per decode step (attend_tiled, attend_merge,
 * append), and the same output as one split. */
static void gpu_params_decode_merges_splits(void **state)
{
    if (!*state)
        skip();
    swacl_attn_config layer;
    memset(&layer, 0, sizeof layer);
    layer.n_heads = 4;
    layer.n_kv_heads = 2;
    layer.head_dim = 64;
    layer.window = 100;
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    opt.n_layers = 1;
    opt.layers = &layer;
    opt.max_seqs = 1;
    enum { N = 120 };
    const size_t nq = (size_t)N * 4 * 64, nkv = (size_t)N * 2 * 64;
    float *q = malloc(nq * sizeof *q), *k = malloc(nkv * sizeof *k), *v = malloc(nkv * sizeof *v);
    float *out[2] = {malloc(4 * 64 * sizeof(float)), malloc(4 * 64 * sizeof(float))};
    assert_true(q && k && v && out[0] && out[1]);
    tu_rng rng = tu_rng_seed(11);
    tu_fill_f32(&rng, q, nq);
    tu_fill_f32(&rng, k, nkv);
    tu_fill_f32(&rng, v, nkv);
    float *prefill_out = malloc(nq * sizeof *prefill_out);
    assert_non_null(prefill_out);
    /* the same decode with the window split (split_keys=16) and whole */
    static const char *const specs[2] = {TU_GPU_PARAMS, "set=gpu-nvidia,split_keys=4096"};
    for (int run = 0; run < 2; run++) {
        setenv("SWACL_PARAMS", specs[run], 1);
        swacl_context_options copt;
        memset(&copt, 0, sizeof copt);
        copt.profiling = 1;
        swacl_context *ctx = NULL;
        const swacl_status cs = swacl_context_create(&copt, &ctx);
        unsetenv("SWACL_PARAMS");
        assert_int_equal(cs, SWACL_OK);
        swacl_cache *c = NULL;
        assert_int_equal(swacl_cache_create(ctx, &opt, &c), SWACL_OK);
        assert_int_equal(swacl_prefill_host(c, 0, 0, N - 1, q, k, v, prefill_out), SWACL_OK);
        swacl_profile prof;
        assert_int_equal(swacl_profile_read(ctx, &prof), SWACL_OK);
        const int seq = 0;
        const size_t last = (size_t)(N - 1);
        assert_int_equal(swacl_decode_host(c, 0, 1, &seq, q + last * 4 * 64, k + last * 2 * 64,
                                           v + last * 2 * 64, out[run]),
                         SWACL_OK);
        assert_int_equal(swacl_profile_read(ctx, &prof), SWACL_OK);
        assert_int_equal(prof.n_kernels, run == 0 ? 3 : 2);
        swacl_cache_destroy(c);
        swacl_context_destroy(ctx);
    }
    /* the merge reorders the sums: equal within fp32 rounding */
    for (size_t i = 0; i < 4 * 64; i++)
        assert_float_equal(out[0][i], out[1][i], 1e-5);
    free(q), free(k), free(v), free(out[0]), free(out[1]), free(prefill_out);
}

int main(void)
{
    const struct CMUnitTest token_for_token[] = {
        cmocka_unit_test(chunk_splits),
        cmocka_unit_test(windows_sinks_dilation),
        cmocka_unit_test(heads_and_head_dims),
        cmocka_unit_test(scores_and_dtypes),
        cmocka_unit_test(rope_in_cache),
        cmocka_unit_test(long_runs),
    };
    const struct CMUnitTest sequences[] = {
        cmocka_unit_test(batched_decode),
        cmocka_unit_test(per_layer_configs),
        cmocka_unit_test(seq_reset_then_reuse),
        cmocka_unit_test(seq_copy_forks_prefix),
        cmocka_unit_test(seq_save_restore),
        cmocka_unit_test(device_bytes_fixed),
        cmocka_unit_test(rope_helper),
    };
    const struct CMUnitTest gpu_params[] = {
        cmocka_unit_test(gpu_params_decode),
        cmocka_unit_test(gpu_params_decode_merges_splits),
        cmocka_unit_test(chunk_splits),
        cmocka_unit_test(windows_sinks_dilation),
        cmocka_unit_test(rope_in_cache),
        cmocka_unit_test(batched_decode),
    };
    const struct CMUnitTest bad_arguments[] = {
        cmocka_unit_test(create_rejects_bad_options),
        cmocka_unit_test_setup_teardown(cache_calls_reject_bad_arguments, fx_setup, fx_teardown),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name("cache_token_for_token", token_for_token, tu_open_group,
                                          tu_close_context);
    failed += cmocka_run_group_tests_name("cache_sequences", sequences, tu_open_group,
                                          tu_close_context);
    failed += cmocka_run_group_tests_name("cache_gpu_params", gpu_params, tu_open_group_gpu,
                                          tu_close_context);
    failed += cmocka_run_group_tests_name("cache_bad_arguments", bad_arguments, tu_open_group,
                                          tu_close_context);
    return tu_exit(failed);
}
