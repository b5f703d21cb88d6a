/* fuzz_attention.c — small shapes and every feature switch from the fuzzer's
 * bytes, run on the device and compared with the float64 reference.
 *
 * One-shot attention, or a cache fed by chunked prefill and then decode. Any
 * element out of the suite's tolerance, or a byte written past an output, is a
 * finding. */
#include "fuzz_input.h"
#include "relutil.h"
#include "testutil.h"

static swacl_context *ctx;

/* the same bytes always give the same data: the fuzzer steers shapes and
   switches, a generator seeded from the input fills the tensors */
static uint64_t seed_of(const uint8_t *data, size_t size)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 0x100000001b3ull;
    return h;
}

static swacl_attn_config read_config(fuzz_input *in, float *logits, int cache)
{
    static const float scales[] = {0.0f, 0.05f, 0.3f, 1.0f, 3.0f};
    static const float softcaps[] = {0.0f, 0.5f, 5.0f, 30.0f};
    static const int head_dims[] = {32, 40, 64, 128};
    swacl_attn_config c;
    memset(&c, 0, sizeof c);
    c.n_kv_heads = 1 + fuzz_pick(in, 2);
    c.n_heads = c.n_kv_heads * (1 + fuzz_pick(in, 3));
    c.head_dim = head_dims[fuzz_pick(in, 4)];
    c.window = fuzz_pick(in, 14);
    c.n_sink = fuzz_pick(in, 4);
    c.dilation = fuzz_pick(in, 4);
    c.bidirectional = cache ? 0 : fuzz_pick(in, 2);
    c.scale = scales[fuzz_pick(in, 5)];
    c.softcap = softcaps[fuzz_pick(in, 4)];
    c.dtype = (swacl_dtype)fuzz_pick(in, 2);
    c.kv_dtype = cache ? (swacl_dtype)fuzz_pick(in, 2) : c.dtype;
    c.rope = cache && fuzz_pick(in, 4) == 0 ? SWACL_ROPE_IN_CACHE : SWACL_ROPE_NONE;
    if (c.rope == SWACL_ROPE_IN_CACHE)
        c.dilation = 0; /* the in-cache positions are defined for dense windows */
    if (fuzz_pick(in, 2)) {
        for (int h = 0; h < c.n_heads; h++)
            logits[h] = 4.0f * fuzz_unit(in);
        c.sink_logits = logits;
    }
    return c;
}

static void check(const void *got, const void *want, size_t n, const swacl_attn_config *c,
                  const char *what)
{
    const tu_cmp cmp = tu_compare(got, want, n, c->dtype, tu_tolerance(c->dtype, c->kv_dtype), what);
    FUZZ_CHECK(cmp.n_bad == 0,
               "%s: n_heads %d/%d hd %d W %d sinks %d D %d bidir %d scale %g softcap %g "
               "sink logits %d dtype %d kv %d rope %d",
               what, c->n_heads, c->n_kv_heads, c->head_dim, c->window, c->n_sink, c->dilation,
               c->bidirectional, (double)c->scale, (double)c->softcap, c->sink_logits != NULL,
               (int)c->dtype, (int)c->kv_dtype, (int)c->rope);
}

static void run_oneshot(fuzz_input *in, tu_rng *rng)
{
    float logits[8];
    const swacl_attn_config c = read_config(in, logits, 0);
    const int n = 1 + fuzz_pick(in, 40);
    const size_t es = c.dtype == SWACL_F16 ? 2 : 4;
    const size_t nq = (size_t)n * c.n_heads * c.head_dim, nkv = (size_t)n * c.n_kv_heads * c.head_dim;
    void *q = malloc(nq * es), *k = malloc(nkv * es), *v = malloc(nkv * es), *want = malloc(nq * es);
    void *out = tu_alloc_guarded(nq * es);
    tu_fill(rng, q, nq, c.dtype);
    tu_fill(rng, k, nkv, c.dtype);
    tu_fill(rng, v, nkv, c.dtype);
    FUZZ_CHECK(swacl_reference_attention(&c, n, q, k, v, want) == SWACL_OK, "reference failed");
    const swacl_status st = swacl_attention_host(ctx, &c, n, q, k, v, out);
    FUZZ_CHECK(st == SWACL_OK, "attention: %s: %s", swacl_status_string(st), swacl_last_error(ctx));
    check(out, want, nq, &c, "one-shot");
    FUZZ_CHECK(tu_canary_intact(out, nq * es, "one-shot"), "one-shot wrote past its output");
    free(q);
    free(k);
    free(v);
    free(want);
    free(out);
}

/* one sequence: a prefill in chunks, then decodes, each row checked */
static void run_cache(fuzz_input *in, tu_rng *rng)
{
    float logits[8];
    const swacl_attn_config c = read_config(in, logits, 1);
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    opt.n_layers = 1;
    opt.layers = &c;
    opt.max_seqs = 1;
    opt.max_context = 64;
    opt.max_chunk = 1 + fuzz_pick(in, 9);
    const int n_prefill = 1 + fuzz_pick(in, 30), n_decode = fuzz_pick(in, 12);
    swacl_cache *cache = NULL;
    FUZZ_CHECK(swacl_cache_create(ctx, &opt, &cache) == SWACL_OK, "cache: %s",
               swacl_last_error(ctx));
    const size_t es = c.dtype == SWACL_F16 ? 2 : 4;
    const size_t qr = (size_t)c.n_heads * c.head_dim, kr = (size_t)c.n_kv_heads * c.head_dim;
    unsigned char *q = malloc(n_prefill * qr * es), *k = malloc(n_prefill * kr * es);
    unsigned char *v = malloc(n_prefill * kr * es), *want = malloc(qr * es);
    unsigned char *out = tu_alloc_guarded(n_prefill * qr * es);
    rel_history h;
    rel_history_init(&h, &c);
    for (int step = -1; step < n_decode; step++) {
        const int n = step < 0 ? n_prefill : 1;
        tu_fill(rng, q, n * qr, c.dtype);
        tu_fill(rng, k, n * kr, c.dtype);
        tu_fill(rng, v, n * kr, c.dtype);
        const int seq = 0;
        const swacl_status st = step < 0 ? swacl_prefill_host(cache, 0, 0, n, q, k, v, out)
                                         : swacl_decode_host(cache, 0, 1, &seq, q, k, v, out);
        FUZZ_CHECK(st == SWACL_OK, "%s: %s", step < 0 ? "prefill" : "decode",
                   swacl_last_error(ctx));
        for (int t = 0; t < n; t++) {
            rel_history_set(&h, h.len, k + t * kr * es, v + t * kr * es);
            FUZZ_CHECK(rel_expected_row(&c, &h, q + t * qr * es, want) == SWACL_OK, "reference");
            check(out + t * qr * es, want, qr, &c, step < 0 ? "prefill" : "decode");
        }
        FUZZ_CHECK(tu_canary_intact(out, n_prefill * qr * es, "cache"), "wrote past the output");
    }
    rel_history_free(&h);
    swacl_cache_destroy(cache);
    free(q);
    free(k);
    free(v);
    free(want);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx && swacl_context_create(NULL, &ctx) != SWACL_OK) {
        fprintf(stderr, "fuzz_attention: no device: %s\n", swacl_last_error(NULL));
        abort();
    }
    fuzz_input in = fuzz_input_of(data, size);
    tu_rng rng = tu_rng_seed(seed_of(data, size));
    if (fuzz_u8(&in) & 1)
        run_cache(&in, &rng);
    else
        run_oneshot(&in, &rng);
    return 0;
}
