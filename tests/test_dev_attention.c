/* test_dev_attention.c — one-shot attention on the device (swacl_attention_host
 * and the cl_mem swacl_attention) against the float64 reference, as seeded
 * table-driven sweeps over shapes, masks, score options and dtypes. */
#include "internal.h" /* SWACL_REACH_ALL */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One row of a sweep: n tokens through a config. Fields left out of a row are 0,
 * the library's defaults (dense, causal, scale 1/sqrt(head_dim), no softcap,
 * fp32); kv_dtype, the cache storage type, only picks the tolerance (a one-shot
 * call has no cache, but a config shared with cache layers may carry either). */
typedef struct attn_case {
    int n;
    swacl_attn_config cfg; /* sink_logits: see the flag below */
    int sink_logits;       /* 1 = a random learned sink logit per query head */
} attn_case;

/* Runs swacl_attention through device buffers; the output buffer carries the
 * canary bytes too, read back with the result. */
static swacl_status run_cl_mem(swacl_context *ctx, const swacl_attn_config *cfg, int n,
                               const void *q, const void *k, const void *v, void *out,
                               size_t q_bytes, size_t kv_bytes)
{
    tu_dev_io d;
    tu_dev_io_make(ctx, &d, q, k, v, out, q_bytes, kv_bytes);
    swacl_status st = swacl_attention(ctx, cfg, n, d.q, d.k, d.v, d.out);
    if (st == SWACL_OK)
        st = swacl_finish(ctx);
    tu_dev_io_finish(ctx, &d, out, q_bytes);
    return st;
}

/* Runs one case on the device and the reference; prints what went wrong and
 * returns 0 on any mismatch. */
static int run_case(swacl_context *ctx, const attn_case *c, tu_api api, uint64_t seed)
{
    const swacl_attn_config *shape = &c->cfg;
    const size_t esize = tu_elem_size(shape->dtype);
    const size_t nq = (size_t)c->n * shape->n_heads * shape->head_dim;
    const size_t nkv = (size_t)c->n * shape->n_kv_heads * shape->head_dim;
    void *q = malloc(nq * esize), *k = malloc(nkv * esize), *v = malloc(nkv * esize);
    void *inputs_copy = malloc((nq + 2 * nkv) * esize);
    void *ref = malloc(nq * esize);
    void *out = tu_alloc_guarded(nq * esize);
    assert_true(q && k && v && inputs_copy && ref);

    tu_rng rng = tu_rng_seed(seed);
    tu_fill(&rng, q, nq, shape->dtype);
    tu_fill(&rng, k, nkv, shape->dtype);
    tu_fill(&rng, v, nkv, shape->dtype);
    float logits[TU_MAX_HEADS];
    const swacl_attn_config cfg = tu_config_of(shape, c->sink_logits, logits, &rng);
    char what[320], layer[256];
    tu_describe_config(&cfg, layer, sizeof layer);
    snprintf(what, sizeof what, "n=%d %s", c->n, layer);
    memcpy(inputs_copy, q, nq * esize);
    memcpy((char *)inputs_copy + nq * esize, k, nkv * esize);
    memcpy((char *)inputs_copy + (nq + nkv) * esize, v, nkv * esize);

    assert_int_equal(swacl_reference_attention(&cfg, c->n, q, k, v, ref), SWACL_OK);

    int ok = 1;
    swacl_status st;
    if (api == TU_HOST)
        st = swacl_attention_host(ctx, &cfg, c->n, q, k, v, out);
    else
        st = run_cl_mem(ctx, &cfg, c->n, q, k, v, out, nq * esize, nkv * esize);
    if (st != SWACL_OK) {
        printf("%s [%s]: %s: %s\n", what, api == TU_HOST ? "host" : "cl_mem",
               swacl_status_string(st), swacl_last_error(ctx));
        ok = 0;
    } else {
        const tu_cmp cmp = tu_compare(out, ref, nq, cfg.dtype,
                                      tu_tolerance(cfg.dtype, cfg.kv_dtype), what);
        if (getenv("SWACL_TEST_VERBOSE")) /* margins against the tolerance, per case */
            printf("%s [%s]: max err %.3e\n", what, api == TU_HOST ? "host" : "cl_mem",
                   cmp.max_err);
        if (cmp.n_bad > 0) {
            const size_t row = (size_t)cfg.n_heads * cfg.head_dim;
            printf("    bad elements from token %zu head %zu to token %zu head %zu\n",
                   cmp.first_bad / row, cmp.first_bad / cfg.head_dim % cfg.n_heads,
                   cmp.last_bad / row, cmp.last_bad / cfg.head_dim % cfg.n_heads);
            ok = 0;
        }
        if (!tu_canary_intact(out, nq * esize, what))
            ok = 0;
    }
    if (memcmp(q, inputs_copy, nq * esize) != 0 ||
        memcmp(k, (char *)inputs_copy + nq * esize, nkv * esize) != 0 ||
        memcmp(v, (char *)inputs_copy + (nq + nkv) * esize, nkv * esize) != 0) {
        printf("%s: inputs were modified\n", what);
        ok = 0;
    }
    free(q);
    free(k);
    free(v);
    free(inputs_copy);
    free(ref);
    free(out);
    return ok;
}

/* Runs every row of a table and fails once at the end, so one run reports
 * every failing configuration rather than the first. */
static void run_table(swacl_context *ctx, const attn_case *cases, size_t n_cases, tu_api api,
                      uint64_t seed)
{
    if (!ctx)
        skip();
    size_t failed = 0;
    for (size_t i = 0; i < n_cases; i++)
        if (!run_case(ctx, &cases[i], api, seed * 1000003u + i))
            failed++;
    fflush(stdout); /* the case reports come before cmocka's verdict */
    if (failed)
        fail_msg("%zu of %zu cases failed (listed above)", failed, n_cases);
}

#define RUN_TABLE(state, table, api, seed) \
    run_table((swacl_context *)*(state), table, sizeof table / sizeof table[0], api, seed)

/* ---- the sweeps ------------------------------------------------------------------ */

/* Every supported head dim, small n: cheap to run, but each is its own kernel
 * build (~2.5 s on PoCL), so fp16 is left to the sweeps below. */
static void head_dims_every_multiple_of_8(void **state)
{
    attn_case cases[(256 - 32) / 8 + 1];
    size_t n = 0;
    for (int hd = 32; hd <= 256; hd += 8)
        cases[n++] = (attn_case){.n = 19, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = hd,
                                 .window = 7}};
    run_table((swacl_context *)*state, cases, n, TU_HOST, 1);
}

static void head_dims_longer_sequences(void **state)
{
    static const attn_case cases[] = {
        {.n = 97, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 40, .window = 33}},
        {.n = 97, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 72, .window = 33}},
        {.n = 257, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 128, .window = 64}},
        {.n = 257, .cfg = {.n_heads = 2, .n_kv_heads = 2, .head_dim = 136, .window = 0}},
        {.n = 257, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 256, .window = 100}},
    };
    RUN_TABLE(state, cases, TU_HOST, 2);
}

static void gqa_ratios_and_mqa(void **state)
{
    static const attn_case cases[] = {
        {.n = 97, .cfg = {.n_heads = 8, .n_kv_heads = 8, .head_dim = 64, .window = 17}},
        {.n = 97, .cfg = {.n_heads = 8, .n_kv_heads = 4, .head_dim = 64, .window = 17}},
        {.n = 97, .cfg = {.n_heads = 8, .n_kv_heads = 2, .head_dim = 64, .window = 17}},
        {.n = 97, .cfg = {.n_heads = 16, .n_kv_heads = 2, .head_dim = 32, .window = 17}},
        {.n = 97, .cfg = {.n_heads = 8, .n_kv_heads = 1, .head_dim = 64, .window = 17}},
        {.n = 97, .cfg = {.n_heads = 4, .n_kv_heads = 1, .head_dim = 128, .window = 0}},
        /* ratio 3 */
        {.n = 97, .cfg = {.n_heads = 6, .n_kv_heads = 2, .head_dim = 64, .window = 17}},
        {.n = 97, .cfg = {.n_heads = 12, .n_kv_heads = 4, .head_dim = 40, .window = 5}},
        {.n = 33, .cfg = {.n_heads = 1, .n_kv_heads = 1, .head_dim = 64, .window = 17}},
    };
    RUN_TABLE(state, cases, TU_HOST, 3);
}

static void causal_windows(void **state)
{
    static const attn_case cases[] = {
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 1}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 3}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 64}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 256}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 257}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 300}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 0}},
        /* the largest window the library takes: W * D < SWACL_REACH_ALL */
        {.n = 97, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64,
         .window = SWACL_REACH_ALL - 1}},
    };
    RUN_TABLE(state, cases, TU_HOST, 4);
}

static void attention_sinks(void **state)
{
    static const attn_case cases[] = {
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 1,
         .n_sink = 1}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 1,
         .n_sink = 4}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .n_sink = 1}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .n_sink = 4}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 100,
         .n_sink = 40}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 0,
         .n_sink = 4}},
        {.n = 97, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 8,
         .n_sink = 150}},
    };
    RUN_TABLE(state, cases, TU_HOST, 5);
}

static void dilated_windows(void **state)
{
    static const attn_case cases[] = {
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .dilation = 2}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .dilation = 3}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .dilation = 3, .n_sink = 4}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 1,
         .dilation = 3}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 100,
         .dilation = 3}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 0,
         .dilation = 3}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .dilation = 1}},
        {.n = 97, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64,
         .window = (SWACL_REACH_ALL - 1) / 4, .dilation = 4}}, /* the largest W * D */
    };
    RUN_TABLE(state, cases, TU_HOST, 6);
}

static void bidirectional_windows(void **state)
{
    static const attn_case cases[] = {
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 1,
         .bidirectional = 1}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .bidirectional = 1}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .bidirectional = 1, .n_sink = 4}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .bidirectional = 1, .dilation = 3}}, /* dilation is ignored when bidirectional */
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 0,
         .bidirectional = 1}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 300,
         .bidirectional = 1}},
        {.n = 97, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 128, .window = 64,
         .bidirectional = 1, .softcap = 20.0f}, .sink_logits = 1},
        {.n = 97, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64,
         .window = SWACL_REACH_ALL - 1, .bidirectional = 1}},
    };
    RUN_TABLE(state, cases, TU_HOST, 7);
}

static void scale_softcap_and_sink_logits(void **state)
{
    static const attn_case cases[] = {
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .scale = 0.5f}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .scale = 2.0f}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .softcap = 50.0f}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .softcap = 1.0f, .scale = 2.0f}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17},
         .sink_logits = 1},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 1},
         .sink_logits = 1},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 0},
         .sink_logits = 1},
        {.n = 257, .cfg = {.n_heads = 8, .n_kv_heads = 1, .head_dim = 64, .window = 64,
         .n_sink = 4, .softcap = 30.0f, .scale = 0.25f}, .sink_logits = 1},
    };
    RUN_TABLE(state, cases, TU_HOST, 8);
}

static void fp16_io_and_kv_dtype(void **state)
{
    static const attn_case cases[] = {
        {.n = 97, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .dtype = SWACL_F16}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 1, .head_dim = 128, .window = 0,
         .dtype = SWACL_F16}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 1, .n_sink = 4,
         .dtype = SWACL_F16}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .dilation = 3, .dtype = SWACL_F16}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .bidirectional = 1, .dtype = SWACL_F16}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .softcap = 30.0f, .dtype = SWACL_F16}, .sink_logits = 1},
        {.n = 97, .cfg = {.n_heads = 8, .n_kv_heads = 2, .head_dim = 256, .window = 33,
         .dtype = SWACL_F16}},
        {.n = 7, .cfg = {.n_heads = 2, .n_kv_heads = 2, .head_dim = 40, .window = 3,
         .dtype = SWACL_F16}},
        {.n = 97, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .dtype = SWACL_F16, .kv_dtype = SWACL_F16}},
        {.n = 97, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .kv_dtype = SWACL_F16}},
    };
    RUN_TABLE(state, cases, TU_HOST, 9);
}

/* lengths that are no multiple of any tile size, up to the few large cases */
static void sequence_lengths(void **state)
{
    static const attn_case cases[] = {
        {.n = 1, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .window = 17}},
        {.n = 2, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .window = 17}},
        {.n = 7, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .window = 17}},
        {.n = 31, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .window = 17}},
        {.n = 33, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .window = 17}},
        {.n = 97, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .window = 17}},
        {.n = 257, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .window = 17}},
        {.n = 1025, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .window = 17}},
        {.n = 1025, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .window = 0}},
        {.n = 1025, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 128, .window = 256,
         .n_sink = 4, .dtype = SWACL_F16}},
        {.n = 1025, .cfg = {.n_heads = 2, .n_kv_heads = 2, .head_dim = 32, .window = 200,
         .bidirectional = 1}},
        {.n = 2049, .cfg = {.n_heads = 4, .n_kv_heads = 1, .head_dim = 64, .window = 128,
         .n_sink = 1}, .sink_logits = 1},
        {.n = 1537, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .window = 300,
         .dilation = 2}},
    };
    RUN_TABLE(state, cases, TU_HOST, 10);
}

static void corner_cases(void **state)
{
    static const attn_case cases[] = {
        /* every token a sink: full causal despite W = 1 */
        {.n = 5, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 1, .n_sink = 9}},
        {.n = 5, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 1, .n_sink = 9,
         .bidirectional = 1}},
        {.n = 1, .cfg = {.n_heads = 4, .n_kv_heads = 1, .head_dim = 256, .window = 1, .n_sink = 1,
         .softcap = 5.0f, .dtype = SWACL_F16}, .sink_logits = 1},
        {.n = 1, .cfg = {.n_heads = 1, .n_kv_heads = 1, .head_dim = 32, .window = 0,
         .bidirectional = 1}},
        {.n = 40, .cfg = {.n_heads = 2, .n_kv_heads = 2, .head_dim = 32, .window = 1,
         .dilation = 3, .n_sink = 2}},
        {.n = 40, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 1,
         .bidirectional = 1}, .sink_logits = 1},
        /* a dominant sink logit: outputs far below 1, where relative error shows */
        {.n = 40, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 4,
         .scale = 0.05f}, .sink_logits = 1},
    };
    RUN_TABLE(state, cases, TU_HOST, 11);
}

/* the cl_mem entry point, on a spread of the cases above */
static void device_buffers(void **state)
{
    static const attn_case cases[] = {
        {.n = 19, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 40, .window = 7}},
        {.n = 97, .cfg = {.n_heads = 8, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .n_sink = 4}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .dilation = 3}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .bidirectional = 1}},
        {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
         .softcap = 30.0f, .dtype = SWACL_F16}, .sink_logits = 1},
        {.n = 1025, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .window = 0}},
        {.n = 1, .cfg = {.n_heads = 2, .n_kv_heads = 2, .head_dim = 256, .window = 1}},
    };
    RUN_TABLE(state, cases, TU_CL_MEM, 12);
}

/* The GPU parameter set (interleaved tile staging, small blocks) forced on whatever
 * device runs the suite, so the GPU code path is checked on CPUs too. */
static const attn_case gpu_path_cases[] = {
    {.n = 19, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 7}},
    {.n = 19, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 72, .window = 7}},
    {.n = 97, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 256, .window = 33}},
    {.n = 97, .cfg = {.n_heads = 8, .n_kv_heads = 8, .head_dim = 64, .window = 17}},
    {.n = 97, .cfg = {.n_heads = 8, .n_kv_heads = 2, .head_dim = 64, .window = 17}},
    {.n = 97, .cfg = {.n_heads = 8, .n_kv_heads = 1, .head_dim = 64, .window = 17}},
    {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 1}},
    {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 0}},
    {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 300}},
    {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17, .n_sink = 4}},
    {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
     .dilation = 3}},
    {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
     .bidirectional = 1}},
    {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 128, .window = 17,
     .softcap = 30.0f}, .sink_logits = 1},
    {.n = 257, .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 17,
     .dtype = SWACL_F16}},
    {.n = 1, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .window = 17}},
    {.n = 7, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .window = 3}},
    {.n = 5, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 1, .n_sink = 9}},
    {.n = 1025, .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 64, .window = 100,
     .n_sink = 1}},
};

static void gpu_params_host(void **state)
{
    RUN_TABLE(state, gpu_path_cases, TU_HOST, 13);
}

static void gpu_params_device_buffers(void **state)
{
    /* a few rows of the same table are enough to cover the entry point */
    static const size_t rows[] = {4, 10, 13};
    swacl_context *ctx = (swacl_context *)*state;
    attn_case cases[sizeof rows / sizeof rows[0]];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        cases[i] = gpu_path_cases[rows[i]];
    run_table(ctx, cases, sizeof cases / sizeof cases[0], TU_CL_MEM, 14);
}

int main(void)
{
    const struct CMUnitTest shapes[] = {
        cmocka_unit_test(head_dims_every_multiple_of_8),
        cmocka_unit_test(head_dims_longer_sequences),
        cmocka_unit_test(gqa_ratios_and_mqa),
        cmocka_unit_test(sequence_lengths),
    };
    const struct CMUnitTest masks[] = {
        cmocka_unit_test(causal_windows),
        cmocka_unit_test(attention_sinks),
        cmocka_unit_test(dilated_windows),
        cmocka_unit_test(bidirectional_windows),
        cmocka_unit_test(corner_cases),
    };
    const struct CMUnitTest scores[] = {
        cmocka_unit_test(scale_softcap_and_sink_logits),
        cmocka_unit_test(fp16_io_and_kv_dtype),
    };
    const struct CMUnitTest buffers[] = {
        cmocka_unit_test(device_buffers),
    };
    const struct CMUnitTest gpu_path[] = {
        cmocka_unit_test(gpu_params_host),
        cmocka_unit_test(gpu_params_device_buffers),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name("attention_shapes", shapes, tu_open_group,
                                          tu_close_context);
    failed += cmocka_run_group_tests_name("attention_masks", masks, tu_open_group,
                                          tu_close_context);
    failed += cmocka_run_group_tests_name("attention_scores_and_fp16", scores, tu_open_group,
                                          tu_close_context);
    failed += cmocka_run_group_tests_name("attention_cl_mem_api", buffers, tu_open_group,
                                          tu_close_context);
    failed += cmocka_run_group_tests_name("attention_gpu_params_forced", gpu_path,
                                          tu_open_group_gpu, tu_close_context);
    return tu_exit(failed);
}
