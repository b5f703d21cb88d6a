/* testutil.c — shared test helpers (see testutil.h): random data, context opening
 * with a clean skip, canaries, comparison by the tolerance rule, the model of a
 * cache with its RoPE, error marks and the list of invalid inputs. */
#define _POSIX_C_SOURCE 200809L /* setenv, unsetenv */
#include "testutil.h"

#include "digest.h"
#include "internal.h" /* SWACL_REACH_ALL (the largest window * dilation + 1), ctx->params */
#include "tolerance.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- random numbers ---- */

tu_rng tu_rng_seed(uint64_t seed)
{
    tu_rng r = {seed};
    return r;
}

uint64_t tu_rng_next(tu_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double tu_rng_unit(tu_rng *r)
{
    return (double)(tu_rng_next(r) >> 11) * 0x1.0p-53;
}

int tu_rng_int(tu_rng *r, int lo, int hi)
{
    const uint64_t span = (uint64_t)((int64_t)hi - lo + 1);
    return (int)(lo + (int64_t)(tu_rng_next(r) % span));
}

void tu_fill_f32(tu_rng *r, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)(2.0 * tu_rng_unit(r) - 1.0);
}

void tu_fill_f16(tu_rng *r, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = swacl_f32_to_f16((float)(2.0 * tu_rng_unit(r) - 1.0));
}

void tu_fill(tu_rng *r, void *dst, size_t n, swacl_dtype dtype)
{
    if (dtype == SWACL_F16)
        tu_fill_f16(r, dst, n);
    else
        tu_fill_f32(r, dst, n);
}

size_t tu_elem_size(swacl_dtype dtype) { return dtype == SWACL_F16 ? 2 : 4; }

double tu_elem(const void *base, size_t i, swacl_dtype dtype)
{
    if (dtype == SWACL_F16)
        return swacl_f16_to_f32(((const uint16_t *)base)[i]);
    return ((const float *)base)[i];
}

/* ---- contexts ---- */

void tu_blob_reseal(unsigned char *blob, size_t size)
{
    if (size < TU_BLOB_HEADER)
        return;
    swacl_digest(blob + TU_BLOB_HEADER, size - TU_BLOB_HEADER, blob + TU_BLOB_DIGEST);
}

static int no_device; /* a context could not be made for want of a device */

int tu_exit(int failed)
{
    return failed ? 1 : no_device ? 77 : 0;
}

int tu_open_context(swacl_context **ctx)
{
    *ctx = NULL;
    const swacl_status st = swacl_context_create(NULL, ctx);
    if (st == SWACL_OK)
        return 1;
    if (st == SWACL_ERR_NO_DEVICE) {
        printf("skipped: no OpenCL device (%s)\n", swacl_last_error(NULL));
        no_device = 1;
        return 0;
    }
    fail_msg("swacl_context_create: %s: %s", swacl_status_string(st), swacl_last_error(NULL));
    return 0;
}

int tu_open_group(void **state)
{
    swacl_context *ctx;
    if (!tu_open_context(&ctx))
        ctx = NULL; /* every test of the group skips */
    *state = ctx;
    return 0;
}

int tu_open_group_gpu(void **state)
{
    swacl_context *ctx;
    /* the parameter set is read when a context is created */
    setenv("SWACL_PARAMS", TU_GPU_PARAMS, 1);
    const int opened = tu_open_context(&ctx);
    unsetenv("SWACL_PARAMS");
    if (!opened) {
        ctx = NULL;
    } else if (!ctx->params.tiled || ctx->params.stream_decode ||
               ctx->params.decode_keys_per_split != 16 || !ctx->params.native_trig) {
        printf("SWACL_PARAMS=%s was not applied\n", TU_GPU_PARAMS);
        swacl_context_destroy(ctx);
        return -1;
    }
    *state = ctx;
    return 0;
}

/* ---- device buffers ---- */

void tu_dev_io_make(swacl_context *ctx, tu_dev_io *d, const void *q, const void *k,
                    const void *v, const void *out, size_t q_bytes, size_t kv_bytes)
{
    cl_context cl = swacl_context_cl_context(ctx);
    assert_non_null(cl);
    const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    cl_int e[4];
    d->q = clCreateBuffer(cl, in, q_bytes, (void *)q, &e[0]);
    d->k = clCreateBuffer(cl, in, kv_bytes, (void *)k, &e[1]);
    d->v = clCreateBuffer(cl, in, kv_bytes, (void *)v, &e[2]);
    d->out = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                            q_bytes + TU_CANARY_BYTES, (void *)out, &e[3]);
    assert_true(e[0] == CL_SUCCESS && e[1] == CL_SUCCESS && e[2] == CL_SUCCESS &&
                e[3] == CL_SUCCESS);
}

void tu_dev_io_finish(swacl_context *ctx, tu_dev_io *d, void *out, size_t q_bytes)
{
    assert_int_equal(clEnqueueReadBuffer(swacl_context_cl_queue(ctx), d->out, CL_TRUE, 0,
                                         q_bytes + TU_CANARY_BYTES, out, 0, NULL, NULL),
                     CL_SUCCESS);
    clReleaseMemObject(d->q);
    clReleaseMemObject(d->k);
    clReleaseMemObject(d->v);
    clReleaseMemObject(d->out);
}

/* ---- canaries ---- */

void *tu_alloc_guarded(size_t bytes)
{
    unsigned char *p = malloc(bytes + TU_CANARY_BYTES);
    assert_non_null(p);
    memset(p, TU_CANARY_BYTE, bytes + TU_CANARY_BYTES);
    return p;
}

int tu_canary_intact(const void *buf, size_t bytes, const char *what)
{
    const unsigned char *c = (const unsigned char *)buf + bytes;
    for (size_t i = 0; i < TU_CANARY_BYTES; i++) {
        if (c[i] != TU_CANARY_BYTE) {
            printf("%s: canary overwritten at byte %zu past the end (0x%02x)\n", what, i,
                   c[i]);
            return 0;
        }
    }
    return 1;
}

int tu_untouched(const void *buf, size_t n)
{
    const unsigned char *b = buf;
    for (size_t i = 0; i < n; i++)
        if (b[i] != TU_CANARY_BYTE)
            return 0;
    return 1;
}

/* ---- tolerance: the rule and its values live in runtime/tolerance.h ---- */

double tu_tolerance(swacl_dtype io, swacl_dtype kv) { return swacl_tolerance(io, kv); }

tu_cmp tu_compare(const void *got, const void *ref, size_t n, swacl_dtype dtype, double tol,
                  const char *what)
{
    tu_cmp c = {0.0, 0, 0, 0, 0.0, 0.0};
    for (size_t i = 0; i < n; i++) {
        const double g = tu_elem(got, i, dtype), r = tu_elem(ref, i, dtype);
        const double err = fabs(g - r);
        /* written so that a NaN error counts as bad and as the maximum */
        if (!(err <= c.max_err))
            c.max_err = isnan(err) ? INFINITY : err;
        if (!swacl_within_tolerance(g, r, tol)) {
            if (c.n_bad == 0) {
                c.first_bad = i;
                c.got_first = g;
                c.ref_first = r;
            }
            c.last_bad = i;
            c.n_bad++;
        }
    }
    if (c.n_bad > 0)
        printf("%s: %zu of %zu out of tolerance %.1e, first at [%zu] got %.7g want %.7g, "
               "max err %.3e\n",
               what, c.n_bad, n, tol, c.first_bad, c.got_first, c.ref_first, c.max_err);
    return c;
}

/* ---- cases ---- */

swacl_attn_config tu_config_of(const swacl_attn_config *base, int sink_logits, float *logits,
                               tu_rng *rng)
{
    swacl_attn_config cfg = *base;
    assert_true(cfg.n_heads <= TU_MAX_HEADS);
    for (int h = 0; h < cfg.n_heads; h++)
        logits[h] = (float)(3.0 * tu_rng_unit(rng) - 1.0);
    cfg.sink_logits = sink_logits ? logits : NULL;
    return cfg;
}

void tu_describe_config(const swacl_attn_config *c, char *buf, size_t size)
{
    snprintf(buf, size,
             "heads=%d/%d hd=%d W=%d sink=%d D=%d bidir=%d scale=%g softcap=%g sink_logits=%d "
             "io=%s kv=%s rope=%d theta=%g",
             c->n_heads, c->n_kv_heads, c->head_dim, c->window, c->n_sink, c->dilation,
             c->bidirectional, (double)c->scale, (double)c->softcap, c->sink_logits != NULL,
             c->dtype == SWACL_F16 ? "f16" : "f32", c->kv_dtype == SWACL_F16 ? "f16" : "f32",
             (int)c->rope, (double)c->rope_theta);
}

/* ---- the model of a cache ---- */

float *tu_widen(const void *src, size_t n, swacl_dtype dtype)
{
    float *dst = malloc((n ? n : 1) * sizeof *dst);
    assert_non_null(dst);
    for (size_t e = 0; e < n; e++)
        dst[e] = (float)tu_elem(src, e, dtype);
    return dst;
}

void tu_narrow(const float *src, size_t n, swacl_dtype dtype, void *dst)
{
    for (size_t e = 0; e < n; e++) {
        if (dtype == SWACL_F16)
            ((uint16_t *)dst)[e] = swacl_f32_to_f16(src[e]);
        else
            ((float *)dst)[e] = src[e];
    }
}

void tu_rope_row(float *x, int n_heads, int head_dim, float theta, int64_t pos)
{
    const double base = theta > 0.0f ? theta : 10000.0;
    const int half = head_dim / 2;
    for (int d = 0; d < half; d++) {
        const double a = (double)pos * (float)pow(base, -2.0 * d / head_dim);
        const double c = cos(a), s = sin(a);
        for (int h = 0; h < n_heads; h++) {
            float *r = x + (size_t)h * head_dim;
            const double x1 = r[d], x2 = r[d + half];
            r[d] = (float)(x1 * c - x2 * s);
            r[d + half] = (float)(x2 * c + x1 * s);
        }
    }
}

void tu_cached_expected(const swacl_attn_config *cfg, int n, const void *q, const void *k,
                        const void *v, int from, void *want)
{
    const int hd = cfg->head_dim;
    const size_t qw = (size_t)cfg->n_heads * hd, kw = (size_t)cfg->n_kv_heads * hd;
    assert_true(n > 0 && from >= 0 && from < n);
    float *qf = tu_widen(q, n * qw, cfg->dtype);
    float *kf = tu_widen(k, n * kw, cfg->dtype);
    float *vf = tu_widen(v, n * kw, cfg->dtype);
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
        const int dil = cfg->dilation > 1 ? cfg->dilation : 1;
        const int held = cfg->window && cfg->n_sink + cfg->window * dil < n
                             ? cfg->n_sink + cfg->window * dil
                             : n;
        if (from < held) {
            /* nothing evicted yet: cache positions are the absolute ones */
            float *qa = malloc(held * qw * sizeof *qa), *ka = malloc(held * kw * sizeof *ka);
            assert_true(qa && ka);
            memcpy(qa, qf, held * qw * sizeof *qa);
            memcpy(ka, kf, held * kw * sizeof *ka);
            for (int t = 0; t < held; t++) {
                tu_rope_row(qa + t * qw, cfg->n_heads, hd, cfg->rope_theta, t);
                tu_rope_row(ka + t * kw, cfg->n_kv_heads, hd, cfg->rope_theta, t);
            }
            assert_int_equal(swacl_reference_attention(&ref, held, qa, ka, vf, outf), SWACL_OK);
            free(qa);
            free(ka);
        }
        if (n > held) {
            float *qc = calloc((size_t)held * qw, sizeof *qc);
            float *kc = malloc((size_t)held * kw * sizeof *kc);
            float *vc = malloc((size_t)held * kw * sizeof *vc);
            float *oc = malloc((size_t)held * qw * sizeof *oc);
            assert_true(qc && kc && vc && oc);
            float *q_last = qc + (size_t)(held - 1) * qw;
            for (int i = from > held ? from : held; i < n; i++) {
                const int evicted = i + 1 - held;
                for (int p = 0; p < held; p++) {
                    const int j = p < cfg->n_sink ? p : p + evicted;
                    memcpy(kc + p * kw, kf + (size_t)j * kw, kw * sizeof *kc);
                    memcpy(vc + p * kw, vf + (size_t)j * kw, kw * sizeof *vc);
                    tu_rope_row(kc + p * kw, cfg->n_kv_heads, hd, cfg->rope_theta, p);
                }
                memcpy(q_last, qf + (size_t)i * qw, qw * sizeof *qc);
                tu_rope_row(q_last, cfg->n_heads, hd, cfg->rope_theta, held - 1);
                assert_int_equal(swacl_reference_attention(&ref, held, qc, kc, vc, oc), SWACL_OK);
                memcpy(outf + (size_t)i * qw, oc + (size_t)(held - 1) * qw, qw * sizeof *oc);
            }
            free(qc);
            free(kc);
            free(vc);
            free(oc);
        }
    }
    tu_narrow(outf + (size_t)from * qw, (n - from) * qw, cfg->dtype, want);
    free(qf);
    free(kf);
    free(vf);
    free(outf);
}

/* ---- error messages ---- */

static char error_mark[256]; /* the text tu_error_mark left */

void tu_error_mark(swacl_context *ctx)
{
    assert_int_equal(swacl_last_event(ctx, NULL), SWACL_ERR_INVALID_ARGUMENT);
    snprintf(error_mark, sizeof error_mark, "%s", swacl_last_error(ctx));
    assert_true(error_mark[0] != '\0');
}

int tu_error_fresh(const swacl_context *ctx)
{
    const char *msg = swacl_last_error(ctx);
    return msg[0] != '\0' && strcmp(msg, error_mark) != 0;
}

/* ---- invalid inputs ---- */

swacl_attn_config tu_valid_config(void)
{
    swacl_attn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.n_heads = 4;
    cfg.n_kv_heads = 2;
    cfg.head_dim = 32;
    cfg.window = 4;
    cfg.dtype = SWACL_F32;
    cfg.kv_dtype = SWACL_F32;
    return cfg;
}

const tu_bad_case *tu_bad_cases(size_t *n)
{
    enum { MAX_CASES = 48 };
    static const float nan_logit[4] = {0.0f, NAN, 0.0f, 0.0f};
    static const float inf_logit[4] = {0.0f, 0.0f, 0.0f, -INFINITY};
    static tu_bad_case cases[MAX_CASES];
    size_t k = 0;
    /* each entry: the valid config with one field broken, over 5 tokens */
#define TU_BAD(text, field, value)         \
    do {                                   \
        cases[k].what = text;              \
        cases[k].cfg = tu_valid_config();  \
        cases[k].cfg.field = value;        \
        cases[k].n_tokens = 5;             \
        k++;                               \
    } while (0)
    TU_BAD("n_heads == 0", n_heads, 0);
    TU_BAD("n_heads < 0", n_heads, -4);
    TU_BAD("n_kv_heads == 0", n_kv_heads, 0);
    TU_BAD("n_kv_heads < 0", n_kv_heads, -2);
    TU_BAD("n_heads % n_kv_heads != 0", n_kv_heads, 3);
    TU_BAD("n_kv_heads > n_heads", n_kv_heads, 8);
    TU_BAD("head_dim not a multiple of 8", head_dim, 36);
    TU_BAD("head_dim < 32", head_dim, 24);
    TU_BAD("head_dim == 0", head_dim, 0);
    TU_BAD("head_dim > 256", head_dim, 264);
    TU_BAD("window < 0", window, -1);
    TU_BAD("n_sink < 0", n_sink, -1);
    TU_BAD("dilation < 0", dilation, -2);
    TU_BAD("window at the unbounded reach", window, SWACL_REACH_ALL);
    TU_BAD("window INT_MAX", window, INT_MAX);
    TU_BAD("window * dilation past the reach", window, SWACL_REACH_ALL / 2);
    cases[k - 1].cfg.dilation = 2;
    TU_BAD("window * dilation overflows 32 bits", window, 1 << 29);
    cases[k - 1].cfg.dilation = 8;
    TU_BAD("bidirectional neither 0 nor 1", bidirectional, 2);
    TU_BAD("softcap < 0", softcap, -1.0f);
    TU_BAD("softcap NaN", softcap, NAN);
    TU_BAD("scale < 0", scale, -0.5f);
    TU_BAD("scale NaN", scale, NAN);
    TU_BAD("scale inf", scale, INFINITY);
    TU_BAD("dtype out of range", dtype, (swacl_dtype)7);
    TU_BAD("dtype negative", dtype, (swacl_dtype)-1);
    TU_BAD("kv_dtype out of range", kv_dtype, (swacl_dtype)2);
    TU_BAD("rope policy out of range", rope, (swacl_rope_policy)5);
    TU_BAD("rope_theta < 0", rope_theta, -1.0f);
    TU_BAD("rope_theta NaN", rope_theta, NAN);
    TU_BAD("a sink logit NaN", sink_logits, nan_logit);
    TU_BAD("a sink logit infinite", sink_logits, inf_logit);
    /* and the valid config over an empty or negative length */
    TU_BAD("n_tokens == 0", window, 4);
    cases[k - 1].n_tokens = 0;
    TU_BAD("n_tokens < 0", window, 4);
    cases[k - 1].n_tokens = -3;
#undef TU_BAD
    assert_true(k <= MAX_CASES);
    *n = k;
    return cases;
}

int tu_close_context(void **state)
{
    swacl_context_destroy(*state);
    *state = NULL;
    return 0;
}
