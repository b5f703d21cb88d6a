/* test_dev_cache.c — the rolling-buffer KV cache token for token against the
 * float64 reference: chunked prefill + decode of single sequences over every way
 * of cutting a prefill, windows, sinks, dilation, heads, score options, dtypes and
 * the in-cache StreamingLLM RoPE; and the same with the GPU parameter set.
 * Sequences and memory: test_dev_cache_seqs.c; bad arguments:
 * test_dev_cache_errors.c. */
#define _POSIX_C_SOURCE 200809L /* setenv, unsetenv */
#include "cachecase.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

/* ---- single sequences: chunked prefill + decode == one-shot reference ------------------- */

/* every way of cutting a prefill, then decode; the library's own chunking too */
static void chunk_splits(void **state)
{
    static const cc_case cases[] = {
        CC_CASE(150, 120, 4, 2, 64, 16, 4, 1, CC_SPLIT_ONES),
        CC_CASE(150, 120, 4, 2, 64, 16, 4, 1, CC_SPLIT_RANDOM),
        CC_CASE(150, 120, 4, 2, 64, 16, 4, 1, CC_SPLIT_WINDOW),
        CC_CASE(150, 120, 4, 2, 64, 16, 4, 1, CC_SPLIT_PAST_WINDOW),
        CC_CASE(150, 120, 4, 2, 64, 16, 4, 1, CC_SPLIT_WHOLE),
        CC_CASE(150, 120, 4, 2, 64, 16, 4, 1, CC_SPLIT_WHOLE, .max_chunk = 3), /* chunked inside */
        CC_CASE(150, 120, 4, 2, 64, 16, 4, 1, CC_SPLIT_RANDOM, .max_chunk = 3),
        CC_CASE(150, 120, 4, 2, 64, 16, 4, 1, CC_SPLIT_RANDOM, .api = TU_CL_MEM),
        CC_CASE(150, 120, 4, 2, 64, 16, 4, 1, CC_SPLIT_WHOLE, .max_chunk = 7, .api = TU_CL_MEM),
        CC_CASE(150, 120, 4, 2, 64, 5, 1, 2, CC_SPLIT_RANDOM, .max_chunk = 3),
        CC_CASE(150, 120, 4, 2, 64, 0, 0, 1, CC_SPLIT_RANDOM, .max_context = 150),
        CC_CASE(150, 150, 4, 2, 64, 0, 0, 1, CC_SPLIT_WHOLE, .max_context = 200, .max_chunk = 3),
        /* prefill only, and decode only */
        CC_CASE(40, 40, 4, 2, 32, 7, 2, 1, CC_SPLIT_RANDOM),
        CC_CASE(60, 0, 4, 2, 32, 7, 2, 1, CC_SPLIT_WHOLE),
        CC_CASE(60, 0, 4, 2, 32, 0, 0, 1, CC_SPLIT_WHOLE, .api = TU_CL_MEM),
    };
    CC_RUN_TABLE(state, cases, 1);
}

/* every window kind x sinks x dilation, random cuts */
static void windows_sinks_dilation(void **state)
{
    static const int windows[] = {1, 4, 37, 200};
    static const int sinks[] = {0, 1, 4};
    static const int dilations[] = {1, 2, 3, 8};
    cc_case cases[(sizeof windows / sizeof *windows) * (sizeof sinks / sizeof *sinks) *
                      (sizeof dilations / sizeof *dilations) + 2];
    size_t n = 0;
    for (size_t w = 0; w < sizeof windows / sizeof *windows; w++)
        for (size_t s = 0; s < sizeof sinks / sizeof *sinks; s++)
            for (size_t d = 0; d < sizeof dilations / sizeof *dilations; d++)
                cases[n++] = (cc_case)CC_CASE(100, 61, 4, 2, 32, windows[w], sinks[s],
                                              dilations[d], CC_SPLIT_RANDOM);
    cases[n++] = (cc_case)CC_CASE(100, 61, 4, 2, 32, 0, 0, 1, CC_SPLIT_RANDOM, .max_context = 128);
    cases[n++] = (cc_case)CC_CASE(100, 61, 4, 2, 32, 0, 4, 1, CC_SPLIT_RANDOM, .max_context = 128);
    cc_run_table((swacl_context *)*state, cases, n, 2);
}

static void heads_and_head_dims(void **state)
{
    static const cc_case cases[] = {
        CC_CASE(90, 50, 4, 4, 32, 9, 2, 1, CC_SPLIT_COARSE),
        CC_CASE(90, 50, 4, 2, 64, 9, 2, 1, CC_SPLIT_COARSE),
        CC_CASE(90, 50, 4, 1, 72, 9, 2, 1, CC_SPLIT_COARSE),
        CC_CASE(90, 50, 8, 1, 128, 9, 2, 1, CC_SPLIT_COARSE),
        CC_CASE(90, 50, 8, 2, 128, 9, 2, 1, CC_SPLIT_COARSE),
        CC_CASE(90, 50, 2, 2, 72, 0, 0, 1, CC_SPLIT_COARSE),
        CC_CASE(90, 50, 6, 2, 32, 16, 0, 1, CC_SPLIT_WINDOW), /* groups of 3 */
        CC_CASE(90, 50, 12, 1, 64, 9, 2, 1, CC_SPLIT_COARSE), /* decode: heads in runs of 8 + 4 */
    };
    CC_RUN_TABLE(state, cases, 3);
}

static void scores_and_dtypes(void **state)
{
    static const cc_case cases[] = {
        CC_CASE(100, 60, 4, 2, 64, 16, 0, 1, CC_SPLIT_COARSE, .cfg.softcap = 30.0f),
        CC_CASE(100, 60, 4, 2, 64, 16, 0, 1, CC_SPLIT_COARSE, .sink_logits = 1),
        CC_CASE(100, 60, 4, 2, 64, 1, 4, 1, CC_SPLIT_COARSE, .cfg.softcap = 5.0f, .sink_logits = 1),
        CC_CASE(100, 60, 4, 2, 64, 0, 0, 1, CC_SPLIT_COARSE, .sink_logits = 1),
        CC_CASE(100, 60, 4, 2, 64, 16, 0, 1, CC_SPLIT_COARSE, .cfg.dtype = SWACL_F16,
             .cfg.kv_dtype = SWACL_F16),
        CC_CASE(100, 60, 4, 2, 64, 16, 0, 1, CC_SPLIT_COARSE, .cfg.kv_dtype = SWACL_F16),
        CC_CASE(100, 60, 4, 2, 64, 16, 0, 1, CC_SPLIT_COARSE, .cfg.dtype = SWACL_F16),
        CC_CASE(100, 60, 4, 2, 64, 16, 4, 3, CC_SPLIT_COARSE, .cfg.dtype = SWACL_F16,
             .cfg.kv_dtype = SWACL_F16, .cfg.softcap = 30.0f, .sink_logits = 1),
        CC_CASE(100, 60, 4, 2, 64, 0, 0, 1, CC_SPLIT_COARSE, .cfg.kv_dtype = SWACL_F16,
             .api = TU_CL_MEM),
        CC_CASE(100, 60, 8, 1, 64, 16, 0, 1, CC_SPLIT_COARSE, .cfg.dtype = SWACL_F16,
             .cfg.kv_dtype = SWACL_F16, .api = TU_CL_MEM),
    };
    CC_RUN_TABLE(state, cases, 4);
}

/* StreamingLLM: keys cached unrotated, turned by their position inside the cache */
static void rope_in_cache(void **state)
{
    static const cc_case cases[] = {
        CC_CASE(100, 50, 4, 2, 64, 8, 4, 1, CC_SPLIT_COARSE, CC_IN_CACHE),
        CC_CASE(100, 50, 4, 2, 64, 4, 0, 1, CC_SPLIT_ONES, CC_IN_CACHE),
        CC_CASE(100, 50, 4, 2, 64, 3, 1, 2, CC_SPLIT_PAST_WINDOW, CC_IN_CACHE),
        CC_CASE(70, 50, 4, 2, 64, 0, 0, 1, CC_SPLIT_COARSE, CC_IN_CACHE, .max_context = 80),
        CC_CASE(100, 50, 4, 1, 72, 6, 4, 1, CC_SPLIT_WHOLE, CC_IN_CACHE, .cfg.rope_theta = 100.0f,
             .max_chunk = 10), /* chunked inside, each chunk a whole ring */
        CC_CASE(100, 50, 4, 2, 64, 8, 4, 1, CC_SPLIT_COARSE, CC_IN_CACHE, .cfg.kv_dtype = SWACL_F16),
        CC_CASE(100, 50, 4, 2, 64, 8, 2, 1, CC_SPLIT_COARSE, CC_IN_CACHE, .cfg.dtype = SWACL_F16,
             .cfg.kv_dtype = SWACL_F16, .cfg.softcap = 30.0f, .sink_logits = 1),
        CC_CASE(50, 20, 4, 2, 64, 1, 4, 1, CC_SPLIT_COARSE, CC_IN_CACHE),
        CC_CASE(120, 100, 8, 2, 128, 37, 4, 1, CC_SPLIT_WINDOW, CC_IN_CACHE),
        CC_CASE(100, 50, 4, 2, 64, 12, 4, 1, CC_SPLIT_WINDOW, CC_IN_CACHE, .cfg.rope_theta = 500000.0f,
             .api = TU_CL_MEM),
    };
    CC_RUN_TABLE(state, cases, 5);
}

/* thousands of tokens through small rings: hundreds of wrap-arounds */
static void long_runs(void **state)
{
    static const cc_case cases[] = {
        CC_CASE(3000, 5, 4, 1, 32, 4, 1, 1, CC_SPLIT_WHOLE),
        CC_CASE(2000, 33, 4, 2, 32, 5, 4, 3, CC_SPLIT_COARSE, CC_IN_CACHE, .cfg.kv_dtype = SWACL_F16),
    };
    CC_RUN_TABLE(state, cases, 6);
}
/* ---- the GPU parameter set --------------------------------------------------------- */

/* Run with TU_GPU_PARAMS, so decode takes the general attention kernel (GPUs)
 * instead of the streaming one: ring tiles, sinks, dilation, RoPE in cache, fp16. */
static void gpu_params_decode(void **state)
{
    static const cc_case cases[] = {
        CC_CASE(100, 61, 4, 2, 32, 16, 4, 1, CC_SPLIT_RANDOM),
        CC_CASE(100, 61, 4, 2, 64, 5, 1, 2, CC_SPLIT_RANDOM, .cfg.kv_dtype = SWACL_F16),
        CC_CASE(100, 50, 4, 2, 64, 8, 4, 1, CC_SPLIT_COARSE, CC_IN_CACHE),
        CC_CASE(100, 60, 8, 1, 64, 0, 0, 1, CC_SPLIT_COARSE, .max_context = 128, .cfg.softcap = 30.0f,
             .sink_logits = 1, .api = TU_CL_MEM),
    };
    CC_RUN_TABLE(state, cases, 9);
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
    const struct CMUnitTest gpu_params[] = {
        cmocka_unit_test(gpu_params_decode),
        cmocka_unit_test(gpu_params_decode_merges_splits),
        cmocka_unit_test(chunk_splits),
        cmocka_unit_test(windows_sinks_dilation),
        cmocka_unit_test(rope_in_cache),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name("cache_token_for_token", token_for_token, tu_open_group,
                                          tu_close_context);
    failed += cmocka_run_group_tests_name("cache_gpu_params", gpu_params, tu_open_group_gpu,
                                          tu_close_context);
    return tu_exit(failed);
}
