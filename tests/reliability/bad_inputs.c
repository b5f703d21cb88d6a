/* bad_inputs.c — the invalid-input classes of docs/bad-inputs.md that the other
 * suites leave out, each checked for its status, its message and no side effect.
 *
 * Covered: every config rule as a cache layer, caches past the device's limits,
 * rope policies and oversized GQA groups on one-shot attention, NULL cache
 * handles, undersized device buffers for prefill and decode, the RoPE helper's
 * arguments, context-level calls and a kernel directory without kernels. After
 * each group a live cache on the same context must still decode as the
 * reference says. */
#define _POSIX_C_SOURCE 200809L /* setenv, unsetenv */
#include "relutil.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LIVE_LAYERS = 2, LIVE_SEQS = 2 };

/* a context with a cache that bad calls must leave alone */
typedef struct fixture {
    swacl_context *ctx;
    swacl_cache *cache;
    swacl_attn_config layers[LIVE_LAYERS];
    rel_history hist[LIVE_LAYERS][LIVE_SEQS];
    tu_rng rng;
} fixture;

static void live_configs(swacl_attn_config *layers)
{
    layers[0] = tu_valid_config(); /* 4 heads over 2, head_dim 32, W 4 */
    layers[0].n_sink = 1;
    layers[0].kv_dtype = SWACL_F16;
    layers[1] = tu_valid_config();
    layers[1].window = 0;
}

static size_t q_row_elems(const swacl_attn_config *c) { return (size_t)c->n_heads * c->head_dim; }
static size_t kv_row_elems(const swacl_attn_config *c) { return (size_t)c->n_kv_heads * c->head_dim; }

/* n tokens of sequence seq at layer (prefill when seq >= 0, else one decode of
 * every live sequence), every output checked against the reference */
static int live_step(fixture *f, int layer, int seq, int n)
{
    const swacl_attn_config *cfg = &f->layers[layer];
    const size_t qr = q_row_elems(cfg), kr = kv_row_elems(cfg);
    const int rows = seq >= 0 ? n : LIVE_SEQS;
    float *q = malloc(rows * qr * sizeof(float)), *k = malloc(rows * kr * sizeof(float));
    float *v = malloc(rows * kr * sizeof(float)), *out = malloc(rows * qr * sizeof(float));
    float *want = malloc(qr * sizeof(float));
    assert_true(q && k && v && out && want);
    tu_fill_f32(&f->rng, q, rows * qr);
    tu_fill_f32(&f->rng, k, rows * kr);
    tu_fill_f32(&f->rng, v, rows * kr);
    static const int all[LIVE_SEQS] = {1, 0};
    const swacl_status st = seq >= 0
                                ? swacl_prefill_host(f->cache, layer, seq, n, q, k, v, out)
                                : swacl_decode_host(f->cache, layer, LIVE_SEQS, all, q, k, v, out);
    int ok = st == SWACL_OK;
    if (!ok)
        printf("live cache: %s: %s\n", swacl_status_string(st), swacl_last_error(f->ctx));
    for (int r = 0; ok && r < rows; r++) {
        rel_history *h = &f->hist[layer][seq >= 0 ? seq : all[r]];
        rel_history_set(h, h->len, k + r * kr, v + r * kr);
        int64_t pos = -1;
        swacl_cache_seq_pos(f->cache, layer, seq >= 0 ? seq : all[r], &pos);
        assert_int_equal(rel_expected_row(cfg, h, q + r * qr, want), SWACL_OK);
        ok = tu_compare(out + r * qr, want, qr, SWACL_F32, tu_tolerance(cfg->dtype, cfg->kv_dtype),
                        "live cache").n_bad == 0 &&
             (seq >= 0 || pos == h->len);
    }
    free(q);
    free(k);
    free(v);
    free(out);
    free(want);
    return ok;
}

/* after bad calls: every live sequence decodes one token exactly as before */
static void assert_live_cache_intact(fixture *f)
{
    for (int l = 0; l < LIVE_LAYERS; l++)
        if (!live_step(f, l, -1, 1))
            fail_msg("the live cache no longer decodes as the reference says");
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    if (!tu_open_context(&f->ctx))
        return 0; /* every test skips */
    live_configs(f->layers);
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    opt.n_layers = LIVE_LAYERS;
    opt.layers = f->layers;
    opt.max_seqs = LIVE_SEQS;
    opt.max_context = 64;
    assert_int_equal(swacl_cache_create(f->ctx, &opt, &f->cache), SWACL_OK);
    f->rng = tu_rng_seed(0xbad);
    for (int l = 0; l < LIVE_LAYERS; l++)
        for (int s = 0; s < LIVE_SEQS; s++) {
            rel_history_init(&f->hist[l][s], &f->layers[l]);
            if (!live_step(f, l, s, s == 0 ? 6 : 3))
                return -1;
        }
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int l = 0; l < LIVE_LAYERS; l++)
        for (int s = 0; s < LIVE_SEQS; s++)
            rel_history_free(&f->hist[l][s]);
    swacl_cache_destroy(f->cache);
    swacl_context_destroy(f->ctx);
    free(f);
    return 0;
}

/* the status, a message for it, and *out left NULL */
static int expect_create(fixture *f, const char *what, const swacl_cache_options *opt,
                         swacl_status want)
{
    swacl_cache *c = (swacl_cache *)f; /* must come back NULL */
    tu_error_mark(f->ctx);
    const swacl_status st = swacl_cache_create(f->ctx, opt, &c);
    const int ok = st == want && c == NULL && tu_error_fresh(f->ctx);
    if (!ok)
        printf("%s: swacl_cache_create gave %s (want %s), cache %s, message \"%s\"\n", what,
               swacl_status_string(st), swacl_status_string(want), c ? "set" : "NULL",
               swacl_last_error(f->ctx));
    if (st == SWACL_OK)
        swacl_cache_destroy(c);
    return ok;
}

/* ---- cache options ------------------------------------------------------------- */

/* every rule of the layer config, broken in the second layer of a cache */
static void cache_layer_breaks_each_config_rule(void **state)
{
    fixture *f = *state;
    if (!f->ctx)
        skip();
    size_t n_bad;
    const tu_bad_case *bad = tu_bad_cases(&n_bad);
    int failed = 0, tested = 0;
    for (size_t i = 0; i < n_bad; i++) {
        if (bad[i].n_tokens <= 0)
            continue; /* a bad length, not a bad config: no cache call takes one */
        swacl_attn_config layers[2] = {tu_valid_config(), bad[i].cfg};
        swacl_cache_options opt;
        memset(&opt, 0, sizeof opt);
        opt.n_layers = 2;
        opt.layers = layers;
        opt.max_seqs = 2;
        opt.max_context = 16;
        failed += !expect_create(f, bad[i].what, &opt, SWACL_ERR_INVALID_ARGUMENT);
        uint64_t plan = 12345;
        if (swacl_cache_plan_bytes(&opt, &plan) != SWACL_ERR_INVALID_ARGUMENT || plan != 12345) {
            printf("%s: swacl_cache_plan_bytes accepted it or wrote its output\n", bad[i].what);
            failed++;
        }
        tested++;
    }
    printf("%d config rules broken in a cache layer\n", tested);
    assert_true(tested >= 25);
    if (failed)
        fail_msg("%d bad layer configs accepted or reported wrongly (above)", failed);
    assert_live_cache_intact(f);
}

/* caches no device can hold: sizes past what 32-bit slot indices or 64-bit byte
 * counts reach (invalid), and one sequence's ring past the largest allocation
 * (out of memory, though planning it is fine) */
static void cache_past_device_limits(void **state)
{
    fixture *f = *state;
    if (!f->ctx)
        skip();
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    opt.n_layers = 1;
    opt.max_seqs = 1;
    swacl_attn_config full = tu_valid_config();
    full.window = 0;
    /* sinks plus the window past a 32-bit slot count (found by fuzz_config) */
    swacl_attn_config sinks = tu_valid_config();
    sinks.n_sink = INT_MAX - 2;
    /* ring bytes past 2^64: 2^30 slots of 2^24 kv heads of 256 floats (found by
       fuzz_config: the size wrapped to 0 and the cache was "created") */
    swacl_attn_config wide = full;
    wide.n_heads = wide.n_kv_heads = 1 << 24;
    wide.head_dim = 256;
    static const struct {
        const char *what;
        int layer, max_context, max_seqs;
    } rows[] = {
        {"slots x max_seqs past 2^31", 0, 1 << 20, 4096},
        {"n_sink + window past 2^31 slots", 1, 0, 1},
        {"ring bytes past 2^64", 2, 1 << 30, 1},
    };
    const swacl_attn_config *layers[] = {&full, &sinks, &wide};
    int ok = 1;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        opt.layers = layers[rows[r].layer];
        opt.max_context = rows[r].max_context;
        opt.max_seqs = rows[r].max_seqs;
        ok &= expect_create(f, rows[r].what, &opt, SWACL_ERR_INVALID_ARGUMENT);
        uint64_t plan = 12345;
        if (swacl_cache_plan_bytes(&opt, &plan) != SWACL_ERR_INVALID_ARGUMENT || plan != 12345) {
            printf("%s: swacl_cache_plan_bytes gave %llu bytes\n", rows[r].what,
                   (unsigned long long)plan);
            ok = 0;
        }
    }

    full.n_kv_heads = 8;
    full.n_heads = 8;
    full.head_dim = 256;
    opt.layers = &full;
    opt.max_context = 1 << 30; /* one ring of 8 TiB */
    opt.max_seqs = 1;
    ok &= expect_create(f, "one ring past the largest allocation", &opt, SWACL_ERR_OUT_OF_MEMORY);
    uint64_t plan = 0;
    ok &= swacl_cache_plan_bytes(&opt, &plan) == SWACL_OK &&
          plan == 2ull * (1ull << 30) * 8 * 256 * 4;
    if (!ok)
        fail_msg("oversized caches handled wrongly (above)");
    assert_live_cache_intact(f);
}

/* ---- one-shot attention ------------------------------------------------------------ */

static int expect_oneshot(fixture *f, const char *what, const swacl_attn_config *cfg, int n,
                          swacl_status want)
{
    const size_t nq = (size_t)n * q_row_elems(cfg), nkv = (size_t)n * kv_row_elems(cfg);
    float *q = calloc(nq, sizeof(float)), *k = calloc(nkv, sizeof(float));
    float *v = calloc(nkv, sizeof(float));
    void *out = tu_alloc_guarded(nq * sizeof(float));
    assert_true(q && k && v);
    tu_error_mark(f->ctx);
    const swacl_status st = swacl_attention_host(f->ctx, cfg, n, q, k, v, out);
    /* a refusal says why and writes nothing; an accepted request writes every output
       value (zero: v is zero) and nothing past them */
    int written = tu_untouched((char *)out + nq * sizeof(float), TU_CANARY_BYTES);
    for (size_t i = 0; i < nq && written; i++)
        written = ((const float *)out)[i] == 0.0f;
    const int ok = st == want &&
                   (want == SWACL_OK ? written
                                     : tu_error_fresh(f->ctx) &&
                                           tu_untouched(out, nq * sizeof(float) + TU_CANARY_BYTES));
    if (!ok)
        printf("%s: got %s (want %s), message \"%s\", output %s\n", what,
               swacl_status_string(st), swacl_status_string(want), swacl_last_error(f->ctx),
               tu_untouched(out, nq * sizeof(float) + TU_CANARY_BYTES) ? "untouched" : "written");
    free(q);
    free(k);
    free(v);
    free(out);
    return ok;
}

static void oneshot_rope_policy_and_oversized_group(void **state)
{
    fixture *f = *state;
    if (!f->ctx)
        skip();
    swacl_attn_config cfg = tu_valid_config();
    cfg.rope = SWACL_ROPE_IN_CACHE;
    int ok = expect_oneshot(f, "rope policy on one-shot attention", &cfg, 5,
                            SWACL_ERR_INVALID_ARGUMENT);
    /* a valid config whose query heads per kv head cannot share one work-group,
       even four to a work-item (attend's most rows per item), with more than
       one query: a lone query may take the streaming decode kernel, which has no
       such limit. The tiled kernel folds the group into its rows and runs any
       group; the row kernels must refuse it. */
    swacl_device_info info;
    assert_int_equal(swacl_context_device_info(f->ctx, &info), SWACL_OK);
    cfg = tu_valid_config();
    cfg.n_kv_heads = 1;
    cfg.n_heads = 8 * info.max_work_group_size;
    const int tiled = strstr(info.params_detail, "tiled=1") != NULL;
    ok &= expect_oneshot(f, "GQA group larger than a work-group", &cfg, 5,
                         tiled ? SWACL_OK : SWACL_ERR_UNSUPPORTED);
    if (!ok)
        fail_msg("one-shot attention accepted a request it cannot run (above)");
    assert_live_cache_intact(f);
}

/* ---- cache calls without a cache ------------------------------------------------------ */

static void null_cache_handle(void **state)
{
    fixture *f = *state;
    if (!f->ctx)
        skip();
    float q[128] = {0}, k[64] = {0}, v[64] = {0};
    unsigned char *out = tu_alloc_guarded(sizeof q);
    const int seqs[1] = {0};
    int64_t pos = 77;
    size_t size = 77;
    const swacl_status bad = SWACL_ERR_INVALID_ARGUMENT;
    int ok = swacl_prefill_host(NULL, 0, 0, 1, q, k, v, out) == bad &&
             swacl_decode_host(NULL, 0, 1, seqs, q, k, v, out) == bad &&
             swacl_prefill(NULL, 0, 0, 1, NULL, NULL, NULL, NULL) == bad &&
             swacl_decode(NULL, 0, 1, seqs, NULL, NULL, NULL, NULL) == bad &&
             swacl_cache_seq_reset(NULL, 0) == bad && swacl_cache_seq_copy(NULL, 0, 1) == bad &&
             swacl_cache_seq_save(NULL, 0, NULL, 0, &size) == bad &&
             swacl_cache_seq_restore(NULL, 0, out, sizeof q) == bad &&
             swacl_cache_seq_pos(NULL, 0, 0, &pos) == bad && swacl_cache_device_bytes(NULL) == 0;
    ok &= pos == 77 && size == 77 && tu_untouched(out, sizeof q + TU_CANARY_BYTES);
    swacl_cache_destroy(NULL);
    free(out);
    if (!ok)
        fail_msg("a cache call accepted a NULL cache or wrote an output");
    assert_live_cache_intact(f);
}

/* device buffers a token short of what prefill and decode read or write */
static void cache_calls_with_small_buffers(void **state)
{
    fixture *f = *state;
    if (!f->ctx)
        skip();
    const swacl_attn_config *cfg = &f->layers[0];
    const size_t qb = q_row_elems(cfg) * sizeof(float), kb = kv_row_elems(cfg) * sizeof(float);
    cl_context cl = swacl_context_cl_context(f->ctx);
    const int n = 3; /* prefill tokens, or decode rows (sequences 1, 0 and 1 again: two) */
    static const struct {
        const char *what;
        int q_short, kv_short, out_short;
    } rows[] = {{"q", 1, 0, 0}, {"k and v", 0, 1, 0}, {"out", 0, 0, 1}};
    int failed = 0;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        for (int decode = 0; decode < 2; decode++) {
            const int tokens = decode ? LIVE_SEQS : n;
            cl_int e1, e2, e3, e4;
            cl_mem q = clCreateBuffer(cl, CL_MEM_READ_WRITE, (tokens - rows[r].q_short) * qb, NULL, &e1);
            cl_mem k = clCreateBuffer(cl, CL_MEM_READ_WRITE, (tokens - rows[r].kv_short) * kb, NULL, &e2);
            cl_mem v = clCreateBuffer(cl, CL_MEM_READ_WRITE, (tokens - rows[r].kv_short) * kb, NULL, &e3);
            cl_mem o = clCreateBuffer(cl, CL_MEM_READ_WRITE, (tokens - rows[r].out_short) * qb, NULL, &e4);
            assert_true(e1 == CL_SUCCESS && e2 == CL_SUCCESS && e3 == CL_SUCCESS && e4 == CL_SUCCESS);
            static const int seqs[LIVE_SEQS] = {1, 0};
            tu_error_mark(f->ctx);
            const swacl_status st = decode ? swacl_decode(f->cache, 0, LIVE_SEQS, seqs, q, k, v, o)
                                           : swacl_prefill(f->cache, 0, 0, n, q, k, v, o);
            swacl_finish(f->ctx);
            if (st != SWACL_ERR_INVALID_ARGUMENT || !tu_error_fresh(f->ctx)) {
                printf("%s with %s one token short: %s\n", decode ? "decode" : "prefill",
                       rows[r].what, swacl_status_string(st));
                failed++;
            }
            clReleaseMemObject(q);
            clReleaseMemObject(k);
            clReleaseMemObject(v);
            clReleaseMemObject(o);
        }
    }
    if (failed)
        fail_msg("%d undersized device buffers accepted (above)", failed);
    assert_live_cache_intact(f); /* positions unchanged, so the model still holds */
}

/* the position query says why it refuses, like every other call, and writes nothing */
static void seq_pos_says_why(void **state)
{
    fixture *f = *state;
    if (!f->ctx)
        skip();
    static const struct {
        const char *what, *says;
        int layer, seq, null_out;
    } rows[] = {
        {"layer -1", "layer -1", -1, 0, 0},     {"layer past the last", "out of range", 99, 0, 0},
        {"sequence -1", "sequence -1", 0, -1, 0}, {"sequence past the last", "out of range", 0, 99, 0},
        {"NULL pos_out", "pos_out", 0, 0, 1},
    };
    int failed = 0;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        int64_t pos = -7;
        tu_error_mark(f->ctx);
        const swacl_status st =
            swacl_cache_seq_pos(f->cache, rows[r].layer, rows[r].seq, rows[r].null_out ? NULL : &pos);
        const char *msg = swacl_last_error(f->ctx);
        if (st != SWACL_ERR_INVALID_ARGUMENT || !strstr(msg, "swacl_cache_seq_pos") ||
            !strstr(msg, rows[r].says) || pos != -7) {
            printf("seq_pos with %s: %s, message \"%s\"\n", rows[r].what, swacl_status_string(st), msg);
            failed++;
        }
    }
    if (failed)
        fail_msg("%d position queries refused without a reason (above)", failed);
}

/* ---- the RoPE helper ---------------------------------------------------------------- */

typedef struct rope_bad {
    const char *what;
    swacl_dtype dtype;
    int n_tokens, n_heads, head_dim;
    float theta;
    int negative_position, null_positions, null_x;
} rope_bad;

static void rope_helper_rejects_bad_arguments(void **state)
{
    fixture *f = *state;
    if (!f->ctx)
        skip();
    static const rope_bad rows[] = {
        {"dtype out of range", (swacl_dtype)3, 2, 2, 32, 0.0f, 0, 0, 0},
        {"n_tokens 0", SWACL_F32, 0, 2, 32, 0.0f, 0, 0, 0},
        {"n_tokens negative", SWACL_F32, -1, 2, 32, 0.0f, 0, 0, 0},
        {"n_heads 0", SWACL_F32, 2, 0, 32, 0.0f, 0, 0, 0},
        {"head_dim not a multiple of 8", SWACL_F32, 2, 2, 36, 0.0f, 0, 0, 0},
        {"head_dim < 32", SWACL_F32, 2, 2, 24, 0.0f, 0, 0, 0},
        {"head_dim > 256", SWACL_F32, 2, 2, 264, 0.0f, 0, 0, 0},
        {"theta negative", SWACL_F32, 2, 2, 32, -1.0f, 0, 0, 0},
        {"theta NaN", SWACL_F32, 2, 2, 32, NAN, 0, 0, 0},
        {"theta infinite", SWACL_F16, 2, 2, 32, INFINITY, 0, 0, 0},
        {"a negative position", SWACL_F32, 2, 2, 32, 0.0f, 1, 0, 0},
        {"positions NULL", SWACL_F32, 2, 2, 32, 0.0f, 0, 1, 0},
        {"x NULL", SWACL_F32, 2, 2, 32, 0.0f, 0, 0, 1},
    };
    cl_context cl = swacl_context_cl_context(f->ctx);
    cl_int err;
    /* a device buffer larger than any row needs, and one a token too small */
    cl_mem big = clCreateBuffer(cl, CL_MEM_READ_WRITE, 1 << 16, NULL, &err);
    cl_mem small = clCreateBuffer(cl, CL_MEM_READ_WRITE, 2 * 2 * 32 * 4 - 4, NULL, &err);
    assert_non_null(big);
    assert_non_null(small);
    const size_t bytes = 2 * 2 * 264 * 4;
    unsigned char *x = tu_alloc_guarded(bytes);
    int failed = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const rope_bad *r = &rows[i];
        const int32_t positions[2] = {3, r->negative_position ? -1 : 4};
        const int32_t *pos = r->null_positions ? NULL : positions;
        for (int api = 0; api < 2; api++) {
            tu_error_mark(f->ctx);
            const swacl_status st =
                api == 0 ? swacl_rope_host(f->ctx, r->dtype, r->n_tokens, r->n_heads, r->head_dim,
                                           r->theta, pos, r->null_x ? NULL : x)
                         : swacl_rope(f->ctx, r->dtype, r->n_tokens, r->n_heads, r->head_dim,
                                      r->theta, pos, r->null_x ? NULL : big);
            if (st != SWACL_ERR_INVALID_ARGUMENT || !tu_error_fresh(f->ctx) ||
                !tu_untouched(x, bytes + TU_CANARY_BYTES)) {
                printf("rope %s (%s): %s, message \"%s\"\n", r->what, api ? "cl_mem" : "host",
                       swacl_status_string(st), swacl_last_error(f->ctx));
                failed++;
            }
        }
    }
    const int32_t positions[2] = {3, 4};
    if (swacl_rope(f->ctx, SWACL_F32, 2, 2, 32, 0.0f, positions, small) !=
        SWACL_ERR_INVALID_ARGUMENT) {
        printf("rope on a buffer one element short was accepted\n");
        failed++;
    }
    if (swacl_rope_host(NULL, SWACL_F32, 2, 2, 32, 0.0f, positions, x) != SWACL_ERR_INVALID_ARGUMENT ||
        !tu_untouched(x, bytes + TU_CANARY_BYTES)) {
        printf("rope without a context was accepted\n");
        failed++;
    }
    swacl_finish(f->ctx);
    clReleaseMemObject(big);
    clReleaseMemObject(small);
    free(x);
    if (failed)
        fail_msg("%d bad RoPE calls mishandled (above)", failed);
    assert_live_cache_intact(f);
}

/* ---- context-level calls --------------------------------------------------------------- */

static void context_calls_reject_bad_arguments(void **state)
{
    fixture *f = *state;
    if (!f->ctx)
        skip();
    const swacl_status bad = SWACL_ERR_INVALID_ARGUMENT;
    swacl_profile prof = {77.0, 77};
    swacl_device_info info;
    int n = 77;
    int ok = swacl_finish(NULL) == bad;
    tu_error_mark(f->ctx);
    ok &= swacl_profile_read(f->ctx, &prof) == bad && tu_error_fresh(f->ctx) &&
          prof.n_kernels == 77; /* profiling was not asked for */
    ok &= swacl_profile_read(f->ctx, NULL) == bad && swacl_profile_read(NULL, &prof) == bad;
    ok &= swacl_context_device_info(NULL, &info) == bad &&
          swacl_context_device_info(f->ctx, NULL) == bad;
    ok &= swacl_devices_list(NULL, 0, NULL) == bad && swacl_devices_list(&info, -1, &n) == bad &&
          swacl_devices_list(NULL, 2, &n) == bad && n == 77;
    ok &= swacl_context_cl_context(NULL) == NULL && swacl_context_cl_queue(NULL) == NULL &&
          swacl_context_cl_device(NULL) == NULL;
    /* a selector past the last platform */
    swacl_context_options opt;
    memset(&opt, 0, sizeof opt);
    opt.device = "99:99";
    swacl_context *other = (swacl_context *)f;
    ok &= swacl_context_create(&opt, &other) == SWACL_ERR_NO_DEVICE && other == NULL &&
          swacl_last_error(NULL)[0] != '\0';
    /* reserved option fields must stay zero (the way option structs grow) */
    memset(&opt, 0, sizeof opt);
    opt.reserved[3] = 1;
    other = (swacl_context *)f;
    ok &= swacl_context_create(&opt, &other) == bad && other == NULL &&
          strstr(swacl_last_error(NULL), "reserved[3]") != NULL;
    swacl_cache_options copt;
    memset(&copt, 0, sizeof copt);
    copt.n_layers = 1;
    copt.layers = &f->layers[0];
    copt.max_seqs = 1;
    copt.reserved[0] = 5;
    swacl_cache *cache = (swacl_cache *)f;
    tu_error_mark(f->ctx);
    ok &= swacl_cache_create(f->ctx, &copt, &cache) == bad && cache == NULL &&
          strstr(swacl_last_error(f->ctx), "reserved[0]") != NULL;
    /* a kernel directory without the kernels: the first build needs them */
    setenv("SWACL_KERNEL_DIR", "/nonexistent/swacl-kernels", 1);
    swacl_context *fresh = NULL;
    ok &= swacl_context_create(NULL, &fresh) == SWACL_OK;
    if (fresh) {
        const swacl_attn_config cfg = tu_valid_config();
        float q[4 * 32] = {0}, kv[2 * 32] = {0};
        unsigned char *out = tu_alloc_guarded(sizeof q);
        const swacl_status st = swacl_attention_host(fresh, &cfg, 1, q, kv, kv, out);
        if (st != SWACL_ERR_IO || !strstr(swacl_last_error(fresh), "/nonexistent/swacl-kernels") ||
            !tu_untouched(out, sizeof q + TU_CANARY_BYTES)) {
            printf("missing kernel directory: %s: \"%s\"\n", swacl_status_string(st),
                   swacl_last_error(fresh));
            ok = 0;
        }
        free(out);
        swacl_context_destroy(fresh);
    }
    unsetenv("SWACL_KERNEL_DIR");
    if (!ok)
        fail_msg("a context-level call accepted a bad argument or wrote its output");
    assert_live_cache_intact(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cache_layer_breaks_each_config_rule),
        cmocka_unit_test(cache_past_device_limits),
        cmocka_unit_test(oneshot_rope_policy_and_oversized_group),
        cmocka_unit_test(null_cache_handle),
        cmocka_unit_test(cache_calls_with_small_buffers),
        cmocka_unit_test(seq_pos_says_why),
        cmocka_unit_test(rope_helper_rejects_bad_arguments),
        cmocka_unit_test(context_calls_reject_bad_arguments),
    };
    return tu_exit(cmocka_run_group_tests_name("bad_inputs", tests, setup, teardown));
}
