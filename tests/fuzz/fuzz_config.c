/* fuzz_config.c — layer configs, lengths and cache options from raw bytes into
 * swacl_reference_attention and swacl_cache_plan_bytes (no device needed).
 *
 * Every call must return a status, read only the arrays it is given, never
 * overflow a size, and the two must agree on which layer configs are bad. */
#include "fuzz_input.h"
#include "swacl.h"

#include <math.h>

enum { MAX_LAYERS = 4, SMALL_ELEMS = 1 << 16 };

/* A config field by field: each either a raw 32-bit value (validation paths)
 * or a small plausible one (so valid configs come up and the math runs). */
static swacl_attn_config read_config(fuzz_input *in)
{
    const uint8_t raw = fuzz_u8(in); /* one bit per field group */
    swacl_attn_config c;
    memset(&c, 0, sizeof c);
    c.n_kv_heads = raw & 1 ? fuzz_i32(in) : 1 + fuzz_pick(in, 3);
    c.n_heads = raw & 1 ? fuzz_i32(in) : c.n_kv_heads * (1 + fuzz_pick(in, 3));
    c.head_dim = raw & 2 ? fuzz_i32(in) : 8 * (3 + fuzz_pick(in, 30)); /* 24 .. 256 */
    c.window = raw & 4 ? fuzz_i32(in) : fuzz_pick(in, 12);
    c.n_sink = raw & 4 ? fuzz_i32(in) : fuzz_pick(in, 4);
    c.dilation = raw & 4 ? fuzz_i32(in) : fuzz_pick(in, 4);
    c.bidirectional = raw & 8 ? fuzz_i32(in) : fuzz_pick(in, 2);
    c.scale = raw & 16 ? fuzz_f32(in) : 0.25f * fuzz_pick(in, 5);
    c.softcap = raw & 16 ? fuzz_f32(in) : 2.0f * fuzz_pick(in, 3);
    c.dtype = (swacl_dtype)(raw & 32 ? fuzz_i32(in) : fuzz_pick(in, 2));
    c.kv_dtype = (swacl_dtype)(raw & 32 ? fuzz_i32(in) : fuzz_pick(in, 2));
    c.rope = (swacl_rope_policy)(raw & 64 ? fuzz_i32(in) : fuzz_pick(in, 2));
    c.rope_theta = raw & 64 ? fuzz_f32(in) : 10000.0f * fuzz_pick(in, 2);
    return c;
}

/* sink logits: exactly n_heads of them (the caller's side of the contract),
 * finite or not as the fuzzer says */
static float *read_sink_logits(fuzz_input *in, int n_heads)
{
    if (!(fuzz_u8(in) & 1) || n_heads <= 0 || n_heads > 4096)
        return NULL;
    float *l = malloc((size_t)n_heads * sizeof *l);
    const int raw = fuzz_u8(in) & 1;
    for (int h = 0; h < n_heads; h++)
        l[h] = raw ? fuzz_f32(in) : 4.0f * fuzz_unit(in);
    return l;
}

static size_t elems(long long a, long long b, long long c)
{
    if (a <= 0 || b <= 0 || c <= 0 || a > SMALL_ELEMS || b > SMALL_ELEMS || c > SMALL_ELEMS)
        return 0;
    const long long n = a * b * c;
    return n <= SMALL_ELEMS ? (size_t)n : 0;
}

/* Runs the reference when the arrays are affordable; returns its status, or
 * -100 when the shape was too large to try. */
static int try_reference(const swacl_attn_config *cfg, int n_tokens, fuzz_input *in)
{
    const size_t es = cfg->dtype == SWACL_F16 ? 2 : 4;
    const size_t nq = elems(n_tokens, cfg->n_heads, cfg->head_dim);
    const size_t nkv = elems(n_tokens, cfg->n_kv_heads, cfg->head_dim);
    if (!nq || !nkv)
        return -100;
    /* exact sizes, so any read past them is ASan's to see */
    unsigned char *q = malloc(nq * es), *k = malloc(nkv * es), *v = malloc(nkv * es);
    unsigned char *out = malloc(nq * es);
    for (size_t e = 0; e < nq; e++) {
        const float x = fuzz_unit(in);
        if (es == 2)
            ((uint16_t *)q)[e] = swacl_f32_to_f16(x);
        else
            ((float *)q)[e] = x;
    }
    for (size_t e = 0; e < nkv; e++) {
        const float x = fuzz_unit(in), y = fuzz_unit(in);
        if (es == 2) {
            ((uint16_t *)k)[e] = swacl_f32_to_f16(x);
            ((uint16_t *)v)[e] = swacl_f32_to_f16(y);
        } else {
            ((float *)k)[e] = x;
            ((float *)v)[e] = y;
        }
    }
    memset(out, 0xA5, nq * es);
    const swacl_status st = swacl_reference_attention(cfg, n_tokens, q, k, v, out);
    if (st == SWACL_OK) {
        /* inputs in [-1, 1] and finite options: every output is a convex
           combination of values (or zero), so finite and within [-1, 1] */
        for (size_t e = 0; e < nq; e++) {
            const double o = es == 2 ? swacl_f16_to_f32(((uint16_t *)out)[e]) : ((float *)out)[e];
            FUZZ_CHECK(isfinite(o) && fabs(o) <= 1.0 + 1e-3,
                       "reference output %zu is %g for a valid config", e, o);
        }
    } else {
        for (size_t e = 0; e < nq * es; e++)
            FUZZ_CHECK(out[e] == 0xA5, "rejected call (%s) wrote its output",
                       swacl_status_string(st));
    }
    free(q);
    free(k);
    free(v);
    free(out);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = fuzz_input_of(data, size);
    const int n_layers_raw = fuzz_u8(&in);
    swacl_attn_config layers[MAX_LAYERS];
    float *logits[MAX_LAYERS] = {NULL};
    const int n_layers = 1 + n_layers_raw % MAX_LAYERS;
    for (int l = 0; l < n_layers; l++) {
        layers[l] = read_config(&in);
        logits[l] = read_sink_logits(&in, layers[l].n_heads);
        layers[l].sink_logits = logits[l];
    }
    const int n_tokens = fuzz_u8(&in) & 1 ? fuzz_i32(&in) : 1 + fuzz_pick(&in, 9);

    /* the reference on the first layer */
    const int ref = try_reference(&layers[0], n_tokens, &in);

    /* the same layers as a cache plan */
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    opt.n_layers = n_layers_raw & 0x80 ? fuzz_i32(&in) : n_layers;
    if (opt.n_layers > n_layers)
        opt.n_layers = n_layers; /* never more entries than the array holds */
    opt.layers = fuzz_u8(&in) == 0xFF ? NULL : layers;
    const int raw = fuzz_u8(&in);
    opt.max_seqs = raw & 1 ? fuzz_i32(&in) : 1 + fuzz_pick(&in, 8);
    opt.max_context = raw & 2 ? fuzz_i32(&in) : fuzz_pick(&in, 64);
    opt.max_chunk = raw & 4 ? fuzz_i32(&in) : fuzz_pick(&in, 16);
    uint64_t bytes = 0xDEADBEEF;
    const swacl_status plan = swacl_cache_plan_bytes(&opt, &bytes);
    if (plan != SWACL_OK) {
        FUZZ_CHECK(plan == SWACL_ERR_INVALID_ARGUMENT, "plan returned %s",
                   swacl_status_string(plan));
        FUZZ_CHECK(bytes == 0xDEADBEEF, "rejected plan wrote its output");
    } else {
        /* the rings alone, in long double: a wrapped 64-bit sum shows as a gap */
        long double rings = 0.0L, extras = 0.0L;
        for (int l = 0; l < opt.n_layers; l++) {
            const swacl_attn_config *c = &layers[l];
            const long double slots =
                c->window == 0 ? (long double)opt.max_context
                               : c->n_sink + (long double)c->window * (c->dilation > 1 ? c->dilation : 1);
            rings += 2.0L * slots * c->n_kv_heads * c->head_dim *
                     (c->kv_dtype == SWACL_F16 ? 2 : 4) * opt.max_seqs;
            extras += 4.0L * c->n_heads + 2.0L * c->head_dim;
        }
        FUZZ_CHECK((long double)bytes >= rings && (long double)bytes <= rings + extras,
                   "plan of %llu bytes for %.0Lf bytes of rings", (unsigned long long)bytes, rings);
        /* a layer the reference refuses is no cache layer either */
        if (opt.layers && opt.n_layers >= 1)
            FUZZ_CHECK(ref != SWACL_ERR_INVALID_ARGUMENT || n_tokens <= 0,
                       "plan accepted a layer config the reference rejects");
    }
    for (int l = 0; l < n_layers; l++)
        free(logits[l]);
    return 0;
}
