/* test_host_reference.c — the float64 reference and the fp16 conversions checked
 * against hand-worked cases and bit patterns; no OpenCL device needed. */
#include "internal.h" /* fault-injection hooks */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a small problem: fp32 q, k, v, out of one config --------------------------- */

typedef struct problem {
    swacl_attn_config cfg;
    int n;
    float *q, *k, *v, *out;
} problem;

/* q and k zero, so every visible key scores 0 and the output is the plain mean of
 * the visible values; v random. Tests overwrite what they need. */
static problem problem_make(int n, int n_heads, int n_kv_heads, int head_dim, int window)
{
    problem p;
    memset(&p, 0, sizeof p);
    p.cfg.n_heads = n_heads;
    p.cfg.n_kv_heads = n_kv_heads;
    p.cfg.head_dim = head_dim;
    p.cfg.window = window;
    p.n = n;
    const size_t nq = (size_t)n * n_heads * head_dim, nkv = (size_t)n * n_kv_heads * head_dim;
    p.q = calloc(nq, sizeof *p.q);
    p.k = calloc(nkv, sizeof *p.k);
    p.v = calloc(nkv, sizeof *p.v);
    p.out = tu_alloc_guarded(nq * sizeof *p.out);
    assert_non_null(p.q);
    assert_non_null(p.k);
    assert_non_null(p.v);
    tu_rng rng = tu_rng_seed(0x5eed0000u + (uint64_t)n * 131u + (uint64_t)window);
    tu_fill_f32(&rng, p.v, nkv);
    return p;
}

static void problem_free(problem *p)
{
    free(p->q);
    free(p->k);
    free(p->v);
    free(p->out);
}

static size_t q_bytes(const problem *p)
{
    return (size_t)p->n * p->cfg.n_heads * p->cfg.head_dim * sizeof(float);
}

static void problem_run(problem *p)
{
    assert_int_equal(swacl_reference_attention(&p->cfg, p->n, p->q, p->k, p->v, p->out),
                     SWACL_OK);
    assert_true(tu_canary_intact(p->out, q_bytes(p), "reference output"));
}

static float *q_at(const problem *p, int i, int h)
{
    return p->q + ((size_t)i * p->cfg.n_heads + h) * p->cfg.head_dim;
}
static float *k_at(const problem *p, int j, int kvh)
{
    return p->k + ((size_t)j * p->cfg.n_kv_heads + kvh) * p->cfg.head_dim;
}
static float *v_at(const problem *p, int j, int kvh)
{
    return p->v + ((size_t)j * p->cfg.n_kv_heads + kvh) * p->cfg.head_dim;
}
static float *out_at(const problem *p, int i, int h)
{
    return p->out + ((size_t)i * p->cfg.n_heads + h) * p->cfg.head_dim;
}

/* Row i, head h must equal sum of v over keys / (n_keys + extra_weight): the
 * result when all visible scores are equal and extra_weight = exp(sink - score). */
static void expect_mean(const problem *p, int i, int h, const int *keys, int n_keys,
                        double extra_weight)
{
    const int kvh = h / (p->cfg.n_heads / p->cfg.n_kv_heads);
    for (int e = 0; e < p->cfg.head_dim; e++) {
        double sum = 0.0;
        for (int t = 0; t < n_keys; t++)
            sum += v_at(p, keys[t], kvh)[e];
        const double want = sum / (n_keys + extra_weight);
        const double got = out_at(p, i, h)[e];
        if (fabs(got - want) > 1e-6) {
            fail_msg("row %d head %d elem %d: got %.9g want %.9g", i, h, e, got, want);
        }
    }
}

#define KEYS(...) ((const int[]){__VA_ARGS__}), (int)(sizeof((const int[]){__VA_ARGS__}) / sizeof(int))

/* ---- masks ---------------------------------------------------------------------- */

static void window_one_returns_own_value(void **state)
{
    (void)state;
    problem p = problem_make(9, 2, 2, 32, 1);
    tu_rng rng = tu_rng_seed(11);
    tu_fill_f32(&rng, p.q, (size_t)9 * 2 * 32);
    tu_fill_f32(&rng, p.k, (size_t)9 * 2 * 32);
    problem_run(&p);
    /* one visible key has weight exp(0)/exp(0) = 1 exactly */
    assert_memory_equal(p.out, p.v, q_bytes(&p));
    problem_free(&p);
}

static void causal_window_mean_of_recent_values(void **state)
{
    (void)state;
    problem p = problem_make(7, 1, 1, 32, 3);
    problem_run(&p);
    expect_mean(&p, 0, 0, KEYS(0), 0.0);
    expect_mean(&p, 1, 0, KEYS(0, 1), 0.0);
    expect_mean(&p, 2, 0, KEYS(0, 1, 2), 0.0);
    expect_mean(&p, 4, 0, KEYS(2, 3, 4), 0.0);
    expect_mean(&p, 6, 0, KEYS(4, 5, 6), 0.0);
    problem_free(&p);
}

static void window_zero_is_full_causal(void **state)
{
    (void)state;
    problem p = problem_make(6, 1, 1, 32, 0);
    problem_run(&p);
    expect_mean(&p, 0, 0, KEYS(0), 0.0);
    expect_mean(&p, 3, 0, KEYS(0, 1, 2, 3), 0.0);
    expect_mean(&p, 5, 0, KEYS(0, 1, 2, 3, 4, 5), 0.0);
    problem_free(&p);
}

static void window_beyond_length_equals_full(void **state)
{
    (void)state;
    problem full = problem_make(13, 2, 1, 40, 0), wide = problem_make(13, 2, 1, 40, 100);
    tu_rng rng = tu_rng_seed(12);
    tu_fill_f32(&rng, full.q, (size_t)13 * 2 * 40);
    tu_fill_f32(&rng, full.k, (size_t)13 * 1 * 40);
    memcpy(wide.q, full.q, (size_t)13 * 2 * 40 * sizeof(float));
    memcpy(wide.k, full.k, (size_t)13 * 1 * 40 * sizeof(float));
    memcpy(wide.v, full.v, (size_t)13 * 1 * 40 * sizeof(float));
    problem_run(&full);
    problem_run(&wide);
    assert_memory_equal(full.out, wide.out, q_bytes(&full));
    problem_free(&full);
    problem_free(&wide);
}

static void sinks_stay_visible(void **state)
{
    (void)state;
    problem p = problem_make(8, 1, 1, 32, 2);
    p.cfg.n_sink = 2;
    problem_run(&p);
    expect_mean(&p, 0, 0, KEYS(0), 0.0);
    expect_mean(&p, 1, 0, KEYS(0, 1), 0.0);
    expect_mean(&p, 2, 0, KEYS(0, 1, 2), 0.0);
    expect_mean(&p, 3, 0, KEYS(0, 1, 2, 3), 0.0);
    expect_mean(&p, 5, 0, KEYS(0, 1, 4, 5), 0.0);
    expect_mean(&p, 7, 0, KEYS(0, 1, 6, 7), 0.0);
    problem_free(&p);
}

static void sinks_beyond_length_see_everything_before(void **state)
{
    (void)state;
    problem p = problem_make(5, 1, 1, 32, 1);
    p.cfg.n_sink = 9; /* every token is a sink: full causal despite W = 1 */
    problem_run(&p);
    expect_mean(&p, 0, 0, KEYS(0), 0.0);
    expect_mean(&p, 4, 0, KEYS(0, 1, 2, 3, 4), 0.0);
    problem_free(&p);
}

static void dilation_picks_every_dth_key(void **state)
{
    (void)state;
    problem p = problem_make(10, 1, 1, 32, 3);
    p.cfg.dilation = 2;
    problem_run(&p);
    expect_mean(&p, 9, 0, KEYS(9, 7, 5), 0.0);
    expect_mean(&p, 8, 0, KEYS(8, 6, 4), 0.0);
    expect_mean(&p, 4, 0, KEYS(4, 2, 0), 0.0);
    expect_mean(&p, 3, 0, KEYS(3, 1), 0.0);
    expect_mean(&p, 0, 0, KEYS(0), 0.0);

    p.cfg.dilation = 3;
    p.cfg.window = 2;
    p.cfg.n_sink = 1;
    problem_run(&p);
    expect_mean(&p, 7, 0, KEYS(0, 7, 4), 0.0);
    expect_mean(&p, 9, 0, KEYS(0, 9, 6), 0.0);
    expect_mean(&p, 3, 0, KEYS(0, 3), 0.0);
    expect_mean(&p, 2, 0, KEYS(0, 2), 0.0);
    problem_free(&p);
}

static void dilation_zero_and_one_are_dense(void **state)
{
    (void)state;
    problem a = problem_make(11, 1, 1, 32, 4), b = problem_make(11, 1, 1, 32, 4);
    tu_rng rng = tu_rng_seed(13);
    tu_fill_f32(&rng, a.q, (size_t)11 * 32);
    tu_fill_f32(&rng, a.k, (size_t)11 * 32);
    memcpy(b.q, a.q, (size_t)11 * 32 * sizeof(float));
    memcpy(b.k, a.k, (size_t)11 * 32 * sizeof(float));
    memcpy(b.v, a.v, (size_t)11 * 32 * sizeof(float));
    a.cfg.dilation = 0;
    b.cfg.dilation = 1;
    problem_run(&a);
    problem_run(&b);
    assert_memory_equal(a.out, b.out, q_bytes(&a));
    problem_free(&a);
    problem_free(&b);
}

static void bidirectional_sees_both_sides(void **state)
{
    (void)state;
    problem p = problem_make(6, 1, 1, 32, 2);
    p.cfg.bidirectional = 1;
    p.cfg.dilation = 3; /* ignored when bidirectional */
    problem_run(&p);
    expect_mean(&p, 0, 0, KEYS(0, 1), 0.0);
    expect_mean(&p, 3, 0, KEYS(2, 3, 4), 0.0);
    expect_mean(&p, 5, 0, KEYS(4, 5), 0.0);

    p.cfg.n_sink = 1;
    problem_run(&p);
    expect_mean(&p, 0, 0, KEYS(0, 1), 0.0);
    expect_mean(&p, 4, 0, KEYS(0, 3, 4, 5), 0.0);

    p.cfg.n_sink = 0;
    p.cfg.window = 0;
    problem_run(&p);
    expect_mean(&p, 0, 0, KEYS(0, 1, 2, 3, 4, 5), 0.0);
    expect_mean(&p, 5, 0, KEYS(0, 1, 2, 3, 4, 5), 0.0);
    problem_free(&p);
}

/* ---- scores -------------------------------------------------------------------- */

static void sink_logit_joins_denominator_only(void **state)
{
    (void)state;
    problem p = problem_make(6, 2, 1, 32, 1);
    const float logits[2] = {(float)log(3.0), 0.0f};
    p.cfg.sink_logits = logits;
    problem_run(&p);
    /* one key at score 0: weight 1 against exp(sink) in the denominator */
    for (int i = 0; i < 6; i++) {
        expect_mean(&p, i, 0, KEYS(i), 3.0);
        expect_mean(&p, i, 1, KEYS(i), 1.0);
    }

    p.cfg.window = 3;
    const float big[2] = {(float)log(2.0), -30.0f};
    p.cfg.sink_logits = big;
    problem_run(&p);
    expect_mean(&p, 4, 0, KEYS(2, 3, 4), 2.0);
    expect_mean(&p, 4, 1, KEYS(2, 3, 4), exp((double)-30.0f));
    problem_free(&p);
}

/* Row 1 sees key 0 (score 0, value 0) and key 1 (score s, value 1): every output
 * element is exp(s) / (1 + exp(s)), the logistic of s. */
static double two_key_output(problem *p, int head_dim, float k1, float scale, float softcap)
{
    memset(p->q, 0, (size_t)2 * head_dim * sizeof(float));
    memset(p->k, 0, (size_t)2 * head_dim * sizeof(float));
    memset(p->v, 0, (size_t)2 * head_dim * sizeof(float));
    q_at(p, 1, 0)[0] = 1.0f;
    k_at(p, 1, 0)[0] = k1;
    for (int e = 0; e < head_dim; e++)
        v_at(p, 1, 0)[e] = 1.0f;
    p->cfg.scale = scale;
    p->cfg.softcap = softcap;
    problem_run(p);
    for (int e = 1; e < head_dim; e++)
        assert_true(out_at(p, 1, 0)[e] == out_at(p, 1, 0)[0]);
    return out_at(p, 1, 0)[0];
}

static double logistic(double s)
{
    return 1.0 / (1.0 + exp(-s));
}

static void default_scale_is_inverse_sqrt_head_dim(void **state)
{
    (void)state;
    problem p = problem_make(2, 1, 1, 64, 0);
    assert_float_equal(two_key_output(&p, 64, 8.0f, 0.0f, 0.0f), logistic(1.0), 1e-7);
    assert_float_equal(two_key_output(&p, 64, 8.0f, 0.25f, 0.0f), logistic(2.0), 1e-7);
    problem_free(&p);
}

static void softcap_bounds_scores(void **state)
{
    (void)state;
    problem p = problem_make(2, 1, 1, 32, 0);
    assert_float_equal(two_key_output(&p, 32, 10.0f, 1.0f, 0.0f), logistic(10.0), 1e-7);
    assert_float_equal(two_key_output(&p, 32, 10.0f, 1.0f, 5.0f), logistic(5.0 * tanh(2.0)),
                       1e-7);
    /* softcap after scaling: 0.5 * 10 = 5, capped at 5 * tanh(5 / 5) */
    assert_float_equal(two_key_output(&p, 32, 10.0f, 0.5f, 5.0f), logistic(5.0 * tanh(1.0)),
                       1e-7);
    problem_free(&p);
}

static void random_row_matches_hand_softmax(void **state)
{
    (void)state;
    /* MQA, full causal: row 2 of head 1 is softmax(q.k_j / sqrt(32)) over j = 0..2 */
    problem p = problem_make(3, 2, 1, 32, 0);
    tu_rng rng = tu_rng_seed(14);
    tu_fill_f32(&rng, p.q, (size_t)3 * 2 * 32);
    tu_fill_f32(&rng, p.k, (size_t)3 * 1 * 32);
    problem_run(&p);
    double w[3], total = 0.0;
    for (int j = 0; j < 3; j++) {
        double dot = 0.0;
        for (int e = 0; e < 32; e++)
            dot += (double)q_at(&p, 2, 1)[e] * k_at(&p, j, 0)[e];
        w[j] = exp(dot / sqrt(32.0));
        total += w[j];
    }
    for (int e = 0; e < 32; e++) {
        double want = 0.0;
        for (int j = 0; j < 3; j++)
            want += w[j] / total * v_at(&p, j, 0)[e];
        assert_float_equal(out_at(&p, 2, 1)[e], want, 1e-6);
    }
    problem_free(&p);
}

static void gqa_head_reads_its_kv_group(void **state)
{
    (void)state;
    static const int shapes[][2] = {{8, 8}, {8, 4}, {8, 2}, {8, 1}, {6, 3}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int n_heads = shapes[s][0], n_kv = shapes[s][1], group = n_heads / n_kv;
        problem p = problem_make(4, n_heads, n_kv, 32, 1);
        problem_run(&p);
        for (int i = 0; i < 4; i++)
            for (int h = 0; h < n_heads; h++)
                assert_memory_equal(out_at(&p, i, h), v_at(&p, i, h / group), 32 * sizeof(float));
        problem_free(&p);
    }
}

/* ---- fp16 io -------------------------------------------------------------------- */

static void fp16_window_one_returns_own_value_bits(void **state)
{
    (void)state;
    swacl_attn_config cfg = tu_valid_config();
    cfg.window = 1;
    cfg.dtype = SWACL_F16;
    const int n = 5;
    const size_t nq = (size_t)n * cfg.n_heads * cfg.head_dim;
    const size_t nkv = (size_t)n * cfg.n_kv_heads * cfg.head_dim;
    uint16_t *q = malloc(nq * 2), *k = malloc(nkv * 2), *v = malloc(nkv * 2);
    uint16_t *out = tu_alloc_guarded(nq * 2);
    tu_rng rng = tu_rng_seed(15);
    tu_fill_f16(&rng, q, nq);
    tu_fill_f16(&rng, k, nkv);
    tu_fill_f16(&rng, v, nkv);
    assert_int_equal(swacl_reference_attention(&cfg, n, q, k, v, out), SWACL_OK);
    assert_true(tu_canary_intact(out, nq * 2, "fp16 output"));
    const int group = cfg.n_heads / cfg.n_kv_heads;
    for (int i = 0; i < n; i++)
        for (int h = 0; h < cfg.n_heads; h++)
            assert_memory_equal(out + ((size_t)i * cfg.n_heads + h) * cfg.head_dim,
                                v + ((size_t)i * cfg.n_kv_heads + h / group) * cfg.head_dim,
                                (size_t)cfg.head_dim * 2);
    free(q);
    free(k);
    free(v);
    free(out);
}

static void fp16_io_equals_fp32_on_same_values(void **state)
{
    (void)state;
    /* fp16 inputs widen exactly, so the fp16 result is the fp32 result rounded */
    swacl_attn_config cfg = tu_valid_config();
    cfg.window = 5;
    cfg.n_sink = 1;
    const int n = 17;
    const size_t nq = (size_t)n * cfg.n_heads * cfg.head_dim;
    const size_t nkv = (size_t)n * cfg.n_kv_heads * cfg.head_dim;
    uint16_t *qh = malloc(nq * 2), *kh = malloc(nkv * 2), *vh = malloc(nkv * 2), *oh = malloc(nq * 2);
    float *qf = malloc(nq * 4), *kf = malloc(nkv * 4), *vf = malloc(nkv * 4), *of = malloc(nq * 4);
    tu_rng rng = tu_rng_seed(16);
    tu_fill_f16(&rng, qh, nq);
    tu_fill_f16(&rng, kh, nkv);
    tu_fill_f16(&rng, vh, nkv);
    for (size_t e = 0; e < nq; e++)
        qf[e] = swacl_f16_to_f32(qh[e]);
    for (size_t e = 0; e < nkv; e++) {
        kf[e] = swacl_f16_to_f32(kh[e]);
        vf[e] = swacl_f16_to_f32(vh[e]);
    }
    assert_int_equal(swacl_reference_attention(&cfg, n, qf, kf, vf, of), SWACL_OK);
    cfg.dtype = SWACL_F16;
    assert_int_equal(swacl_reference_attention(&cfg, n, qh, kh, vh, oh), SWACL_OK);
    for (size_t e = 0; e < nq; e++)
        assert_int_equal(oh[e], swacl_f32_to_f16(of[e]));
    free(qh);
    free(kh);
    free(vh);
    free(oh);
    free(qf);
    free(kf);
    free(vf);
    free(of);
}

/* ---- fp16 conversion ------------------------------------------------------------ */

static float f32_bits(uint32_t x)
{
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

static void half_from_float_known_patterns(void **state)
{
    (void)state;
    static const struct {
        float in;
        uint16_t want;
        const char *what;
    } cases[] = {
        {0.0f, 0x0000, "zero"},
        {-0.0f, 0x8000, "negative zero"},
        {1.0f, 0x3c00, "one"},
        {-2.0f, 0xc000, "minus two"},
        {0.333251953125f, 0x3555, "exact third-ish"},
        {65504.0f, 0x7bff, "largest finite"},
        {65519.0f, 0x7bff, "just below the overflow tie"},
        {65520.0f, 0x7c00, "overflow tie rounds to even: inf"},
        {1e6f, 0x7c00, "overflow"},
        {-1e6f, 0xfc00, "negative overflow"},
        {0x1.0p-14f, 0x0400, "smallest normal"},
        {0x1.ff8p-15f, 0x03ff, "largest subnormal"},
        {0x1.0p-24f, 0x0001, "smallest subnormal"},
        {0x1.0p-25f, 0x0000, "half the smallest subnormal: tie to even zero"},
        {0x1.000002p-25f, 0x0001, "just above that tie"},
        {0x1.8p-24f, 0x0002, "subnormal tie 1.5 ulp rounds to even 2"},
        {0x1.4p-24f, 0x0001, "subnormal 1.25 ulp rounds down"},
        {0x1.ffcp-15f, 0x0400, "subnormal rounding up into the smallest normal"},
        {0x1.0p-30f, 0x0000, "far below subnormals"},
        {-0x1.0p-24f, 0x8001, "negative subnormal"},
        {1.0f + 0x1.0p-11f, 0x3c00, "tie to even, down"},
        {1.0f + 0x1.8p-10f, 0x3c02, "tie to even, up"},
        {1.0f + 0x1.2p-11f, 0x3c01, "above a tie"},
        {0x1.ffep0f, 0x4000, "mantissa carry into the exponent"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint16_t got = swacl_f32_to_f16(cases[i].in);
        if (got != cases[i].want)
            fail_msg("%s (%a): got 0x%04x want 0x%04x", cases[i].what, (double)cases[i].in,
                     got, cases[i].want);
    }
    assert_int_equal(swacl_f32_to_f16(INFINITY), 0x7c00);
    assert_int_equal(swacl_f32_to_f16(-INFINITY), 0xfc00);
    /* NaNs stay NaN, including one whose payload sits below the fp16 mantissa */
    const float nans[] = {NAN, -NAN, f32_bits(0x7f800001u), f32_bits(0xff800100u)};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        const uint16_t h = swacl_f32_to_f16(nans[i]);
        assert_int_equal(h & 0x7c00, 0x7c00);
        assert_int_not_equal(h & 0x03ff, 0);
    }
}

static void float_from_half_known_patterns(void **state)
{
    (void)state;
    static const struct {
        uint16_t in;
        float want;
    } cases[] = {
        {0x0000, 0.0f},           {0x3c00, 1.0f},          {0xc000, -2.0f},
        {0x3555, 0.333251953125f}, {0x7bff, 65504.0f},     {0x0400, 0x1.0p-14f},
        {0x03ff, 0x1.ff8p-15f},   {0x0001, 0x1.0p-24f},    {0x8001, -0x1.0p-24f},
        {0x0200, 0x1.0p-15f},     {0x3c01, 1.0f + 0x1.0p-10f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const float got = swacl_f16_to_f32(cases[i].in);
        if (memcmp(&got, &cases[i].want, sizeof got) != 0)
            fail_msg("0x%04x: got %a want %a", cases[i].in, (double)got, (double)cases[i].want);
    }
    assert_true(signbit(swacl_f16_to_f32(0x8000)) && swacl_f16_to_f32(0x8000) == 0.0f);
    assert_true(isinf(swacl_f16_to_f32(0x7c00)) && swacl_f16_to_f32(0x7c00) > 0.0f);
    assert_true(isinf(swacl_f16_to_f32(0xfc00)) && swacl_f16_to_f32(0xfc00) < 0.0f);
    assert_true(isnan(swacl_f16_to_f32(0x7e00)));
    assert_true(isnan(swacl_f16_to_f32(0xfc01)));
}

static void half_round_trip_every_pattern(void **state)
{
    (void)state;
    for (uint32_t h = 0; h <= 0xffffu; h++) {
        const float f = swacl_f16_to_f32((uint16_t)h);
        const uint16_t back = swacl_f32_to_f16(f);
        if (isnan(f)) {
            assert_int_equal(back & 0x7c00, 0x7c00);
            assert_int_not_equal(back & 0x03ff, 0);
        } else if (back != h) {
            fail_msg("0x%04x -> %a -> 0x%04x", (unsigned)h, (double)f, back);
        }
    }
}

static void half_rounding_matches_nearest_even(void **state)
{
    (void)state;
    /* Every float between two consecutive finite halves must go to the nearer one,
     * ties to the even mantissa; checked on random floats of every fp16 binade. */
    tu_rng rng = tu_rng_seed(17);
    for (int t = 0; t < 200000; t++) {
        const uint32_t bits = (uint32_t)(tu_rng_next(&rng) & 0xffffffffu);
        const uint32_t exp32 = (bits >> 23) & 0xffu;
        if (exp32 < 127 - 26 || exp32 > 127 + 15)
            continue;
        const float f = f32_bits(bits);
        const uint16_t h = swacl_f32_to_f16(f);
        const double got = swacl_f16_to_f32(h);
        if ((h & 0x7fffu) >= 0x7c00u) {
            assert_true(fabs((double)f) >= 65520.0);
            continue;
        }
        /* neighbours of the chosen half, one step towards and away from zero */
        const double lo = (h & 0x7fffu) ? swacl_f16_to_f32((uint16_t)(h - 1)) : -got;
        const double hi = (h & 0x7fffu) < 0x7bffu ? swacl_f16_to_f32((uint16_t)(h + 1))
                                                  : 65536.0 * (got < 0 ? -1 : 1);
        const double err = fabs((double)f - got);
        if (err > fabs((double)f - lo) || err > fabs((double)f - hi))
            fail_msg("%a -> 0x%04x (%a) is not the nearest half", (double)f, h, got);
        if ((err == fabs((double)f - lo) && (h & 0x7fffu) != 0) || err == fabs((double)f - hi))
            assert_int_equal(h & 1u, 0); /* an exact tie went to the even neighbour */
    }
}

/* ---- argument checking ---------------------------------------------------------- */

static void rejects_invalid_arguments_writing_nothing(void **state)
{
    (void)state;
    /* room for the largest shape any bad case names */
    const size_t n_elems = (size_t)5 * 8 * 264;
    float *q = calloc(n_elems, 4), *k = calloc(n_elems, 4), *v = calloc(n_elems, 4);
    float *out = tu_alloc_guarded(n_elems * 4);
    swacl_attn_config cfg = tu_valid_config();

    assert_int_equal(swacl_reference_attention(NULL, 5, q, k, v, out), SWACL_ERR_INVALID_ARGUMENT);
    assert_int_equal(swacl_reference_attention(&cfg, 5, NULL, k, v, out), SWACL_ERR_INVALID_ARGUMENT);
    assert_int_equal(swacl_reference_attention(&cfg, 5, q, NULL, v, out), SWACL_ERR_INVALID_ARGUMENT);
    assert_int_equal(swacl_reference_attention(&cfg, 5, q, k, NULL, out), SWACL_ERR_INVALID_ARGUMENT);
    assert_int_equal(swacl_reference_attention(&cfg, 5, q, k, v, NULL), SWACL_ERR_INVALID_ARGUMENT);
    assert_true(tu_untouched(out, n_elems * 4 + TU_CANARY_BYTES));

    size_t n_bad;
    const tu_bad_case *bad = tu_bad_cases(&n_bad);
    for (size_t c = 0; c < n_bad; c++) {
        const swacl_status st =
            swacl_reference_attention(&bad[c].cfg, bad[c].n_tokens, q, k, v, out);
        if (st != SWACL_ERR_INVALID_ARGUMENT)
            fail_msg("%s: got %s, want %s", bad[c].what, swacl_status_string(st),
                     swacl_status_string(SWACL_ERR_INVALID_ARGUMENT));
        if (!tu_untouched(out, n_elems * 4 + TU_CANARY_BYTES))
            fail_msg("%s: output written despite the error", bad[c].what);
    }

    /* the base of every bad case is itself valid */
    assert_int_equal(swacl_reference_attention(&cfg, 5, q, k, v, out), SWACL_OK);
    assert_true(tu_canary_intact(out, (size_t)5 * cfg.n_heads * cfg.head_dim * 4, "valid call"));
    free(q);
    free(k);
    free(v);
    free(out);
}

static void out_of_memory_writes_nothing(void **state)
{
    (void)state;
    if (!swacl_fault_arm(SWACL_FAULT_HOST_ALLOC, 0)) {
        printf("skipped: library built without fault injection\n");
        skip();
    }
    swacl_attn_config cfg = tu_valid_config();
    cfg.dtype = SWACL_F16; /* the fp16 path allocates the most */
    const size_t nq = (size_t)5 * cfg.n_heads * cfg.head_dim;
    uint16_t *q = calloc(nq, 2), *k = calloc(nq, 2), *v = calloc(nq, 2);
    uint16_t *out = tu_alloc_guarded(nq * 2);
    /* count the allocations of one call, then fail each of them in turn */
    assert_int_equal(swacl_reference_attention(&cfg, 5, q, k, v, out), SWACL_OK);
    const long n_allocs = swacl_fault_count(SWACL_FAULT_HOST_ALLOC);
    assert_true(n_allocs > 0);
    memset(out, TU_CANARY_BYTE, nq * 2 + TU_CANARY_BYTES);
    for (long nth = 1; nth <= n_allocs; nth++) {
        swacl_fault_arm(SWACL_FAULT_HOST_ALLOC, nth);
        const swacl_status st = swacl_reference_attention(&cfg, 5, q, k, v, out);
        swacl_fault_arm(SWACL_FAULT_HOST_ALLOC, 0);
        if (st != SWACL_ERR_OUT_OF_MEMORY)
            fail_msg("allocation %ld of %ld failed: got %s", nth, n_allocs,
                     swacl_status_string(st));
        assert_true(tu_untouched(out, nq * 2 + TU_CANARY_BYTES));
    }
    free(q);
    free(k);
    free(v);
    free(out);
}

int main(void)
{
    const struct CMUnitTest masks[] = {
        cmocka_unit_test(window_one_returns_own_value),
        cmocka_unit_test(causal_window_mean_of_recent_values),
        cmocka_unit_test(window_zero_is_full_causal),
        cmocka_unit_test(window_beyond_length_equals_full),
        cmocka_unit_test(sinks_stay_visible),
        cmocka_unit_test(sinks_beyond_length_see_everything_before),
        cmocka_unit_test(dilation_picks_every_dth_key),
        cmocka_unit_test(dilation_zero_and_one_are_dense),
        cmocka_unit_test(bidirectional_sees_both_sides),
    };
    const struct CMUnitTest scores[] = {
        cmocka_unit_test(sink_logit_joins_denominator_only),
        cmocka_unit_test(default_scale_is_inverse_sqrt_head_dim),
        cmocka_unit_test(softcap_bounds_scores),
        cmocka_unit_test(random_row_matches_hand_softmax),
        cmocka_unit_test(gqa_head_reads_its_kv_group),
        cmocka_unit_test(fp16_window_one_returns_own_value_bits),
        cmocka_unit_test(fp16_io_equals_fp32_on_same_values),
    };
    const struct CMUnitTest half[] = {
        cmocka_unit_test(half_from_float_known_patterns),
        cmocka_unit_test(float_from_half_known_patterns),
        cmocka_unit_test(half_round_trip_every_pattern),
        cmocka_unit_test(half_rounding_matches_nearest_even),
    };
    const struct CMUnitTest arguments[] = {
        cmocka_unit_test(rejects_invalid_arguments_writing_nothing),
        cmocka_unit_test(out_of_memory_writes_nothing),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name("reference_masks", masks, NULL, NULL);
    failed += cmocka_run_group_tests_name("reference_scores", scores, NULL, NULL);
    failed += cmocka_run_group_tests_name("half_conversion", half, NULL, NULL);
    failed += cmocka_run_group_tests_name("reference_arguments", arguments, NULL, NULL);
    return failed ? 1 : 0;
}
