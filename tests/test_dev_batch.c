/* test_dev_batch.c — what engines do with a cache: micro-batches of entries {seq,
 * n_tokens} equal the same work done entry by entry and the float64 reference, over
 * random mixes of prompt chunks, single tokens and draft runs; q/k/v/out read from a
 * fused QKV buffer and written into a strided view give the same bits as dense buffers,
 * and bad views are refused; a truncated sequence decodes bit for bit as one that never
 * saw the dropped tokens, and truncating further than the ring allows is refused.
 * Runs with the CPU and the GPU parameter sets. */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_SEQS = 4, MAX_TOKENS = 160 };

/* the host history of every sequence (q, k, v of each token so far), fp32 */
typedef struct history {
    swacl_attn_config cfg;
    int n[MAX_SEQS];
    float *q[MAX_SEQS], *k[MAX_SEQS], *v[MAX_SEQS];
} history;

static size_t q_elems(const swacl_attn_config *c) { return (size_t)c->n_heads * c->head_dim; }
static size_t kv_elems(const swacl_attn_config *c) { return (size_t)c->n_kv_heads * c->head_dim; }

static void history_init(history *h, const swacl_attn_config *cfg)
{
    memset(h, 0, sizeof *h);
    h->cfg = *cfg;
    for (int s = 0; s < MAX_SEQS; s++) {
        h->q[s] = malloc(MAX_TOKENS * q_elems(cfg) * sizeof(float));
        h->k[s] = malloc(MAX_TOKENS * kv_elems(cfg) * sizeof(float));
        h->v[s] = malloc(MAX_TOKENS * kv_elems(cfg) * sizeof(float));
        assert_true(h->q[s] && h->k[s] && h->v[s]);
    }
}

static void history_free(history *h)
{
    for (int s = 0; s < MAX_SEQS; s++) {
        free(h->q[s]);
        free(h->k[s]);
        free(h->v[s]);
    }
}

/* options for n_layers layers (full ones hold MAX_TOKENS) */
static swacl_cache_options options(const swacl_attn_config *layers, int n_layers, int max_seqs,
                                   int max_chunk, int ring_slack)
{
    swacl_cache_options opt = {0};
    opt.n_layers = n_layers;
    opt.layers = layers;
    opt.max_seqs = max_seqs;
    opt.max_context = MAX_TOKENS;
    opt.max_chunk = max_chunk;
    opt.ring_slack = ring_slack;
    return opt;
}

static swacl_cache *cache_of(swacl_context *ctx, const swacl_cache_options *opt)
{
    swacl_cache *c = NULL;
    assert_int_equal(swacl_cache_create(ctx, opt, &c), SWACL_OK);
    return c;
}

static swacl_cache *make_cache(swacl_context *ctx, const swacl_attn_config *cfg, int max_chunk)
{
    const swacl_cache_options opt = options(cfg, 1, MAX_SEQS, max_chunk, 0);
    return cache_of(ctx, &opt);
}

/* the layer settings the mixes run over: a window shorter than the runs, sinks,
   dilation, full attention, an fp16 cache, GQA and MHA */
static swacl_attn_config layer(int which)
{
    swacl_attn_config c = tu_valid_config(); /* 4/2 heads, head_dim 32, window 4 */
    switch (which) {
    case 0: c.window = 7; break;
    case 1: c.window = 9; c.n_sink = 2; c.kv_dtype = SWACL_F16; break;
    case 2: c.window = 5; c.dilation = 2; break;
    case 3: c.window = 0; c.n_heads = 2; c.n_kv_heads = 2; c.head_dim = 64; break;
    default: break;
    }
    return c;
}

/* ---- random mixes ------------------------------------------------------------------ */

static void one_mix(swacl_context *ctx, int which, unsigned seed)
{
    const swacl_attn_config cfg = layer(which);
    history h;
    history_init(&h, &cfg);
    /* max_chunk 6: entries longer than that take several rounds */
    swacl_cache *batched = make_cache(ctx, &cfg, 6), *single = make_cache(ctx, &cfg, 6);
    tu_rng rng = tu_rng_seed(seed);
    const double tol = tu_tolerance(SWACL_F32, cfg.kv_dtype);
    const size_t qe = q_elems(&cfg), kve = kv_elems(&cfg);
    float *q = malloc(64 * qe * sizeof(float)), *k = malloc(64 * kve * sizeof(float));
    float *v = malloc(64 * kve * sizeof(float));
    float *out_b = malloc(64 * qe * sizeof(float)), *out_s = malloc(64 * qe * sizeof(float));
    float *ref = malloc(MAX_TOKENS * qe * sizeof(float));
    assert_true(q && k && v && out_b && out_s && ref);
    for (int step = 0; step < 8; step++) {
        /* a random set of distinct sequences, each with 1..16 tokens (prompt chunks,
           single decode tokens, draft runs) */
        swacl_batch_entry e[MAX_SEQS];
        int n_e = 0, rows = 0;
        for (int s = 0; s < MAX_SEQS; s++) {
            if (tu_rng_int(&rng, 0, 2) == 0)
                continue;
            const int n = tu_rng_int(&rng, 0, 1) ? 1 : tu_rng_int(&rng, 2, 16);
            if (h.n[s] + n > MAX_TOKENS)
                continue;
            e[n_e].seq = s;
            e[n_e++].n_tokens = n;
            rows += n;
        }
        if (n_e == 0)
            continue;
        tu_fill_f32(&rng, q, (size_t)rows * qe);
        tu_fill_f32(&rng, k, (size_t)rows * kve);
        tu_fill_f32(&rng, v, (size_t)rows * kve);
        assert_int_equal(swacl_attend_batch_host(batched, 0, n_e, e, q, k, v, out_b), SWACL_OK);
        for (int r = 0, row = 0; r < n_e; row += e[r].n_tokens, r++)
            assert_int_equal(swacl_prefill_host(single, 0, e[r].seq, e[r].n_tokens, q + row * qe,
                                                k + row * kve, v + row * kve, out_s + row * qe),
                             SWACL_OK);
        for (int r = 0, row = 0; r < n_e; row += e[r].n_tokens, r++) {
            const int s = e[r].seq, n = e[r].n_tokens;
            memcpy(h.q[s] + h.n[s] * qe, q + row * qe, n * qe * sizeof(float));
            memcpy(h.k[s] + h.n[s] * kve, k + row * kve, n * kve * sizeof(float));
            memcpy(h.v[s] + h.n[s] * kve, v + row * kve, n * kve * sizeof(float));
            h.n[s] += n;
            int64_t pb = -1, ps = -1;
            assert_int_equal(swacl_cache_seq_pos(batched, 0, s, &pb), SWACL_OK);
            assert_int_equal(swacl_cache_seq_pos(single, 0, s, &ps), SWACL_OK);
            assert_int_equal(pb, h.n[s]);
            assert_int_equal(ps, h.n[s]);
            /* the entry's rows against the reference over the sequence so far */
            assert_int_equal(swacl_reference_attention(&cfg, h.n[s], h.q[s], h.k[s], h.v[s], ref),
                             SWACL_OK);
            const float *want = ref + (size_t)(h.n[s] - n) * qe;
            char what[96];
            snprintf(what, sizeof what, "layer %d seed %u step %d seq %d (batched)", which, seed,
                     step, s);
            if (tu_compare(out_b + row * qe, want, n * qe, SWACL_F32, tol, what).n_bad)
                fail();
            snprintf(what, sizeof what, "layer %d seed %u step %d seq %d (entry by entry)", which,
                     seed, step, s);
            if (tu_compare(out_s + row * qe, want, n * qe, SWACL_F32, tol, what).n_bad)
                fail();
        }
    }
    free(q);
    free(k);
    free(v);
    free(out_b);
    free(out_s);
    free(ref);
    swacl_cache_destroy(batched);
    swacl_cache_destroy(single);
    history_free(&h);
}

static void batches_equal_entry_by_entry(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    for (int which = 0; which < 4; which++)
        for (unsigned seed = 1; seed <= 3; seed++)
            one_mix(ctx, which, 100 * which + seed);
}

static void batch_refuses_repeats_and_overflow(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    swacl_attn_config cfg = layer(3); /* full attention: max_context slots */
    swacl_cache *c = make_cache(ctx, &cfg, 0);
    const size_t qe = q_elems(&cfg), kve = kv_elems(&cfg);
    float *q = calloc(2 * MAX_TOKENS * qe, sizeof(float));
    float *kv = calloc(2 * MAX_TOKENS * kve, sizeof(float));
    float *out = tu_alloc_guarded(2 * MAX_TOKENS * qe * sizeof(float));
    assert_true(q && kv && out);
    const swacl_batch_entry twice[2] = {{1, 3}, {1, 2}};
    const swacl_batch_entry overflow[2] = {{0, 3}, {2, MAX_TOKENS + 1}};
    const swacl_batch_entry empty[1] = {{0, 0}};
    assert_int_equal(swacl_attend_batch_host(c, 0, 2, twice, q, kv, kv, out),
                     SWACL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(swacl_last_error(ctx), "twice"));
    assert_int_equal(swacl_attend_batch_host(c, 0, 2, overflow, q, kv, kv, out),
                     SWACL_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(swacl_last_error(ctx), "max_context"));
    assert_int_equal(swacl_attend_batch_host(c, 0, 1, empty, q, kv, kv, out),
                     SWACL_ERR_INVALID_ARGUMENT);
    assert_int_equal(swacl_attend_batch_host(c, 0, 0, twice, q, kv, kv, out),
                     SWACL_ERR_INVALID_ARGUMENT);
    assert_true(tu_untouched(out, 2 * MAX_TOKENS * qe * sizeof(float)));
    for (int s = 0; s < MAX_SEQS; s++) {
        int64_t pos = -1;
        assert_int_equal(swacl_cache_seq_pos(c, 0, s, &pos), SWACL_OK);
        assert_int_equal(pos, 0); /* nothing changed */
    }
    free(q);
    free(kv);
    free(out);
    swacl_cache_destroy(c);
}

/* ---- views ---------------------------------------------------------------------------- */

static cl_mem device_buffer(swacl_context *ctx, size_t bytes, const void *host)
{
    cl_int err;
    cl_mem m = clCreateBuffer(swacl_context_cl_context(ctx),
                              CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0), bytes,
                              (void *)host, &err);
    assert_int_equal(err, CL_SUCCESS);
    return m;
}

/* a fused [token][q | k | v | pad] buffer and an output view with an offset and a
   stride give the bits that separate dense buffers give */
static void fused_qkv_equals_separate_buffers(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    for (int which = 0; which < 4; which++) {
        const swacl_attn_config cfg = layer(which);
        const int qe = (int)q_elems(&cfg), kve = (int)kv_elems(&cfg);
        const int pad = 3, fused = qe + 2 * kve + pad, out_stride = qe + 5;
        const size_t out_off = 7 * sizeof(float);
        swacl_cache *a = make_cache(ctx, &cfg, 8), *b = make_cache(ctx, &cfg, 8);
        tu_rng rng = tu_rng_seed(7 + which);
        const swacl_batch_entry e[3] = {{0, 11}, {2, 1}, {3, 4}};
        const int rows = 16;
        float *x = malloc((size_t)rows * fused * sizeof(float));
        float *q = malloc((size_t)rows * qe * sizeof(float));
        float *k = malloc((size_t)rows * kve * sizeof(float));
        float *v = malloc((size_t)rows * kve * sizeof(float));
        float *got = malloc(out_off + (size_t)rows * out_stride * sizeof(float));
        float *want = malloc((size_t)rows * qe * sizeof(float));
        assert_true(x && q && k && v && got && want);
        for (int round = 0; round < 3; round++) {
            tu_fill_f32(&rng, x, (size_t)rows * fused);
            for (int t = 0; t < rows; t++) {
                memcpy(q + t * qe, x + t * fused, qe * sizeof(float));
                memcpy(k + t * kve, x + t * fused + qe, kve * sizeof(float));
                memcpy(v + t * kve, x + t * fused + qe + kve, kve * sizeof(float));
            }
            cl_mem dx = device_buffer(ctx, (size_t)rows * fused * sizeof(float), x);
            cl_mem dout = device_buffer(ctx, out_off + (size_t)rows * out_stride * sizeof(float),
                                        NULL);
            const swacl_view vq = {dx, 0, fused}, vk = {dx, qe * sizeof(float), fused};
            const swacl_view vv = {dx, (qe + kve) * sizeof(float), fused};
            const swacl_view vo = {dout, out_off, out_stride};
            assert_int_equal(swacl_attend_batch(a, 0, 3, e, vq, vk, vv, vo), SWACL_OK);
            assert_int_equal(swacl_attend_batch_host(b, 0, 3, e, q, k, v, want), SWACL_OK);
            assert_int_equal(clEnqueueReadBuffer(swacl_context_cl_queue(ctx), dout, CL_TRUE, 0,
                                                 out_off + (size_t)rows * out_stride * sizeof(float),
                                                 got, 0, NULL, NULL),
                             CL_SUCCESS);
            for (int t = 0; t < rows; t++)
                if (memcmp((char *)got + out_off + (size_t)t * out_stride * sizeof(float),
                           want + t * qe, qe * sizeof(float)))
                    fail_msg("layer %d round %d row %d: the view's output differs", which, round,
                             t);
            clReleaseMemObject(dx);
            clReleaseMemObject(dout);
        }
        free(x);
        free(q);
        free(k);
        free(v);
        free(got);
        free(want);
        swacl_cache_destroy(a);
        swacl_cache_destroy(b);
    }
}

static void bad_views_are_refused(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    const swacl_attn_config cfg = layer(0);
    const int qe = (int)q_elems(&cfg), kve = (int)kv_elems(&cfg);
    swacl_cache *c = make_cache(ctx, &cfg, 0);
    const int rows = 4;
    const size_t bytes = (size_t)rows * (qe + 2 * kve) * sizeof(float);
    cl_mem x = device_buffer(ctx, bytes, NULL);
    cl_mem out = device_buffer(ctx, (size_t)rows * qe * sizeof(float), NULL);
    const int fused = qe + 2 * kve;
    const swacl_batch_entry e[1] = {{1, rows}};
    const swacl_view q = {x, 0, fused}, k = {x, qe * sizeof(float), fused};
    const swacl_view v = {x, (qe + kve) * sizeof(float), fused}, o = {out, 0, 0};
    static const struct {
        const char *what, *says;
        int tensor;      /* 0 q, 1 k, 2 v, 3 out */
        size_t offset;   /* replaces the view's */
        int row_stride;  /* replaces the view's */
    } rows_bad[] = {
        {"q offset not a multiple of 4", "multiple", 0, 2, -1},
        {"k stride shorter than a row", "shorter", 1, (size_t)-1, 8},
        {"v past the buffer's end", "bytes", 2, (size_t)-1, 4 * 1024},
        {"out offset past the end", "bytes", 3, 1 << 20, -1},
        {"v stride unlike k's", "share", 2, (size_t)-1, 0},
    };
    for (size_t i = 0; i < sizeof rows_bad / sizeof *rows_bad; i++) {
        swacl_view t[4] = {q, k, v, o};
        swacl_view *w = &t[rows_bad[i].tensor];
        if (rows_bad[i].offset != (size_t)-1)
            w->offset = rows_bad[i].offset;
        if (rows_bad[i].row_stride >= 0)
            w->row_stride = rows_bad[i].row_stride;
        const swacl_status st = swacl_attend_batch(c, 0, 1, e, t[0], t[1], t[2], t[3]);
        if (st != SWACL_ERR_INVALID_ARGUMENT || !strstr(swacl_last_error(ctx), rows_bad[i].says))
            fail_msg("%s: %s, \"%s\"", rows_bad[i].what, swacl_status_string(st),
                     swacl_last_error(ctx));
        int64_t pos = -1;
        assert_int_equal(swacl_cache_seq_pos(c, 0, 1, &pos), SWACL_OK);
        assert_int_equal(pos, 0);
    }
    /* and the good views work */
    assert_int_equal(swacl_attend_batch(c, 0, 1, e, q, k, v, o), SWACL_OK);
    assert_int_equal(swacl_finish(ctx), SWACL_OK);
    clReleaseMemObject(x);
    clReleaseMemObject(out);
    swacl_cache_destroy(c);
}

/* ---- rollback -------------------------------------------------------------------------- */

/* Sequence 0 sees keep + drop tokens and is truncated to keep; sequence 1 sees only the
   kept ones. Both then decode the same tokens in one batch: every output must match
   bit for bit. Layer 0 is the SWA layer under test, layer 1 a full layer. */
static void truncate_then_decode(swacl_context *ctx, const swacl_attn_config *swa, int slack,
                                 int keep, int drop, unsigned seed)
{
    swacl_attn_config layers[2] = {*swa, *swa};
    layers[1].window = 0;
    layers[1].n_sink = 0;
    layers[1].dilation = 0;
    const swacl_cache_options opt = options(layers, 2, 2, 8, slack);
    swacl_cache *c = cache_of(ctx, &opt);
    const size_t qe = q_elems(swa), kve = kv_elems(swa);
    const int n = keep + drop, m = 5; /* tokens seen; tokens decoded afterwards */
    tu_rng rng = tu_rng_seed(seed);
    float *q = malloc((size_t)(n + m) * qe * sizeof(float));
    float *k = malloc((size_t)(n + m) * kve * sizeof(float));
    float *v = malloc((size_t)(n + m) * kve * sizeof(float));
    float *o = malloc((size_t)(n + m) * 2 * qe * sizeof(float));
    float *q2 = malloc(2 * qe * sizeof(float)), *k2 = malloc(2 * kve * sizeof(float));
    float *v2 = malloc(2 * kve * sizeof(float));
    assert_true(q && k && v && o && q2 && k2 && v2);
    tu_fill_f32(&rng, q, (size_t)(n + m) * qe);
    tu_fill_f32(&rng, k, (size_t)(n + m) * kve);
    tu_fill_f32(&rng, v, (size_t)(n + m) * kve);
    for (int l = 0; l < 2; l++) {
        assert_int_equal(swacl_prefill_host(c, l, 0, n, q, k, v, o), SWACL_OK);
        assert_int_equal(swacl_prefill_host(c, l, 1, keep, q, k, v, o), SWACL_OK);
    }
    assert_int_equal(swacl_cache_seq_truncate(c, 0, keep), SWACL_OK);
    for (int l = 0; l < 2; l++) {
        int64_t pos = -1;
        assert_int_equal(swacl_cache_seq_pos(c, l, 0, &pos), SWACL_OK);
        assert_int_equal(pos, keep);
    }
    /* the same new tokens for both sequences (the dropped ones' values are not reused) */
    const int seqs[2] = {0, 1};
    for (int t = 0; t < m; t++) {
        const size_t src = (size_t)(n + t);
        for (int r = 0; r < 2; r++) {
            memcpy(q2 + r * qe, q + src * qe, qe * sizeof(float));
            memcpy(k2 + r * kve, k + src * kve, kve * sizeof(float));
            memcpy(v2 + r * kve, v + src * kve, kve * sizeof(float));
        }
        for (int l = 0; l < 2; l++) {
            float *got = o + ((size_t)t * 2 + 0) * qe;
            assert_int_equal(swacl_decode_host(c, l, 2, seqs, q2, k2, v2, got), SWACL_OK);
            if (memcmp(got, got + qe, qe * sizeof(float)))
                fail_msg("window %d sinks %d dilation %d slack %d %s: keep %d drop %d, token %d "
                         "layer %d: the truncated sequence differs from one that never saw the "
                         "dropped tokens",
                         swa->window, swa->n_sink, swa->dilation, slack,
                         swa->kv_dtype == SWACL_F16 ? "f16" : "f32", keep, drop, t, l);
        }
    }
    free(q);
    free(k);
    free(v);
    free(o);
    free(q2);
    free(k2);
    free(v2);
    swacl_cache_destroy(c);
}

static void truncate_equals_never_having_seen(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    unsigned seed = 1;
    for (int window = 5; window <= 8; window += 3)
        for (int sinks = 0; sinks <= 2; sinks += 2)
            for (int dil = 1; dil <= 2; dil++)
                for (int slack = 0; slack <= 3; slack += 3)
                    for (int f16 = 0; f16 <= 1; f16++) {
                        swacl_attn_config cfg = tu_valid_config();
                        cfg.window = window;
                        cfg.n_sink = sinks;
                        cfg.dilation = dil;
                        cfg.kv_dtype = f16 ? SWACL_F16 : SWACL_F32;
                        /* the most the ring allows, and once before it first wraps */
                        truncate_then_decode(ctx, &cfg, slack, 23, slack + 1, seed++);
                        truncate_then_decode(ctx, &cfg, slack, 2, 3, seed++);
                    }
}

static void truncate_refuses_what_the_ring_lost(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    for (int slack = 0; slack <= 4; slack += 4) {
        swacl_attn_config layers[2] = {layer(1), layer(3)}; /* SWA with sinks; full */
        const swacl_cache_options opt = options(layers, 2, 1, 0, slack);
        swacl_cache *c = cache_of(ctx, &opt);
        const int n = 40;
        float *q = calloc((size_t)n * 2 * 64, sizeof(float)), *kv = calloc((size_t)n * 2 * 64, sizeof(float));
        float *o = malloc((size_t)n * 2 * 64 * sizeof(float));
        assert_true(q && kv && o);
        for (int l = 0; l < 2; l++)
            assert_int_equal(swacl_prefill_host(c, l, 0, n, q, kv, kv, o), SWACL_OK);
        /* one token further back than the slack allows: refused, nothing changed */
        assert_int_equal(swacl_cache_seq_truncate(c, 0, n - slack - 2), SWACL_ERR_UNSUPPORTED);
        assert_non_null(strstr(swacl_last_error(ctx), "ring_slack"));
        /* more than the sequence holds, and negative */
        assert_int_equal(swacl_cache_seq_truncate(c, 0, n + 1), SWACL_ERR_INVALID_ARGUMENT);
        assert_int_equal(swacl_cache_seq_truncate(c, 0, -1), SWACL_ERR_INVALID_ARGUMENT);
        assert_int_equal(swacl_cache_seq_truncate(c, 5, 0), SWACL_ERR_INVALID_ARGUMENT);
        for (int l = 0; l < 2; l++) {
            int64_t pos = -1;
            assert_int_equal(swacl_cache_seq_pos(c, l, 0, &pos), SWACL_OK);
            assert_int_equal(pos, n);
        }
        /* as far as it allows: fine; to zero: never refused (nothing is needed) */
        assert_int_equal(swacl_cache_seq_truncate(c, 0, n - slack - 1), SWACL_OK);
        assert_int_equal(swacl_cache_seq_truncate(c, 0, 0), SWACL_OK);
        free(q);
        free(kv);
        free(o);
        swacl_cache_destroy(c);
    }
    /* slack costs memory: it shows in the planned and the allocated bytes */
    swacl_attn_config cfg = layer(0);
    swacl_cache_options opt = options(&cfg, 1, 2, 0, 0);
    uint64_t without = 0, with = 0;
    assert_int_equal(swacl_cache_plan_bytes(&opt, &without), SWACL_OK);
    opt.ring_slack = 5;
    assert_int_equal(swacl_cache_plan_bytes(&opt, &with), SWACL_OK);
    assert_int_equal(with - without, 2ull * 2 * 5 * kv_elems(&cfg) * sizeof(float));
    /* and in-cache RoPE cannot take it */
    cfg.rope = SWACL_ROPE_IN_CACHE;
    swacl_cache *c = (swacl_cache *)1;
    assert_int_equal(swacl_cache_create(ctx, &opt, &c), SWACL_ERR_UNSUPPORTED);
    assert_null(c);
}

/* a truncated sequence saved with its slack and restored into another slot decodes as
   the original; a cache without the slack refuses the blob */
static void truncated_sequences_save_and_restore(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    swacl_attn_config cfg = layer(1); /* window 9, 2 sinks, fp16 cache */
    swacl_cache_options opt = options(&cfg, 1, 2, 0, 2);
    swacl_cache *c = cache_of(ctx, &opt), *plain = NULL;
    opt.ring_slack = 0;
    assert_int_equal(swacl_cache_create(ctx, &opt, &plain), SWACL_OK);
    const size_t qe = q_elems(&cfg), kve = kv_elems(&cfg);
    const int n = 30;
    tu_rng rng = tu_rng_seed(99);
    float *q = malloc((size_t)(n + 1) * qe * sizeof(float));
    float *k = malloc((size_t)(n + 1) * kve * sizeof(float));
    float *v = malloc((size_t)(n + 1) * kve * sizeof(float));
    float *o = malloc((size_t)(n + 2) * qe * sizeof(float));
    assert_true(q && k && v && o);
    tu_fill_f32(&rng, q, (size_t)(n + 1) * qe);
    tu_fill_f32(&rng, k, (size_t)(n + 1) * kve);
    tu_fill_f32(&rng, v, (size_t)(n + 1) * kve);
    assert_int_equal(swacl_prefill_host(c, 0, 0, n, q, k, v, o), SWACL_OK);
    assert_int_equal(swacl_cache_seq_truncate(c, 0, n - 3), SWACL_OK);
    size_t size = 0;
    assert_int_equal(swacl_cache_seq_save(c, 0, NULL, 0, &size), SWACL_OK);
    void *blob = malloc(size);
    assert_non_null(blob);
    assert_int_equal(swacl_cache_seq_save(c, 0, blob, size, &size), SWACL_OK);
    assert_int_equal(swacl_cache_seq_restore(c, 1, blob, size), SWACL_OK);
    assert_int_equal(swacl_cache_seq_restore(plain, 1, blob, size), SWACL_ERR_INVALID_ARGUMENT);
    int64_t pos = -1;
    assert_int_equal(swacl_cache_seq_pos(c, 0, 1, &pos), SWACL_OK);
    assert_int_equal(pos, n - 3);
    /* both decode the same next token */
    float q2[2 * 256], k2[2 * 128], v2[2 * 128];
    assert_true(qe <= 256 && kve <= 128);
    for (int r = 0; r < 2; r++) {
        memcpy(q2 + r * qe, q + (size_t)n * qe, qe * sizeof(float));
        memcpy(k2 + r * kve, k + (size_t)n * kve, kve * sizeof(float));
        memcpy(v2 + r * kve, v + (size_t)n * kve, kve * sizeof(float));
    }
    const int seqs[2] = {0, 1};
    assert_int_equal(swacl_decode_host(c, 0, 2, seqs, q2, k2, v2, o), SWACL_OK);
    assert_memory_equal(o, o + qe, qe * sizeof(float));
    free(blob);
    free(q);
    free(k);
    free(v);
    free(o);
    swacl_cache_destroy(c);
    swacl_cache_destroy(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batches_equal_entry_by_entry),
        cmocka_unit_test(batch_refuses_repeats_and_overflow),
        cmocka_unit_test(fused_qkv_equals_separate_buffers),
        cmocka_unit_test(bad_views_are_refused),
        cmocka_unit_test(truncate_equals_never_having_seen),
        cmocka_unit_test(truncate_refuses_what_the_ring_lost),
        cmocka_unit_test(truncated_sequences_save_and_restore),
    };
    int failed = cmocka_run_group_tests_name("batch", tests, tu_open_group, tu_close_context);
    failed += cmocka_run_group_tests_name("batch_gpu_params", tests, tu_open_group_gpu,
                                          tu_close_context);
    return tu_exit(failed);
}
