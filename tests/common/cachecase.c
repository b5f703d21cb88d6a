/* cachecase.c — cache cases, streams and their checks (see cachecase.h). */
#include "cachecase.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cc_describe(const cc_case *c, const swacl_attn_config *cfg, char *buf, size_t size)
{
    static const char *const splits[] = {"ones", "random", "coarse", "=W", ">W", "whole"};
    char layer[256];
    tu_describe_config(cfg, layer, sizeof layer);
    snprintf(buf, size, "n=%d prefill=%d(%s) %s max_ctx=%d max_chunk=%d%s", c->n, c->n_prefill,
             splits[c->split], layer, c->max_context, c->max_chunk,
             c->api == TU_CL_MEM ? " cl_mem" : "");
}

/* ---- streams ---- */

void cc_stream_init(cc_stream *s, const swacl_attn_config *cfg, int n, tu_rng *rng)
{
    const size_t es = tu_elem_size(cfg->dtype);
    s->cfg = cfg;
    s->n = n;
    s->done = 0;
    s->q_row = (size_t)cfg->n_heads * cfg->head_dim * es;
    s->kv_row = (size_t)cfg->n_kv_heads * cfg->head_dim * es;
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

void cc_stream_fork(cc_stream *s, const cc_stream *parent, int shared, int n, tu_rng *rng)
{
    cc_stream_init(s, parent->cfg, n, rng);
    memcpy(s->q, parent->q, shared * s->q_row);
    memcpy(s->k, parent->k, shared * s->kv_row);
    memcpy(s->v, parent->v, shared * s->kv_row);
    s->done = shared;
}

void cc_stream_free(cc_stream *s)
{
    free(s->q);
    free(s->k);
    free(s->v);
    free(s->got);
}

/* ---- calls ---- */

static swacl_status call_prefill(swacl_context *ctx, swacl_cache *c, tu_api a, int layer, int seq,
                                 int n, const void *q, const void *k, const void *v, void *out,
                                 size_t q_bytes, size_t kv_bytes)
{
    if (a == TU_HOST)
        return swacl_prefill_host(c, layer, seq, n, q, k, v, out);
    tu_dev_io d;
    tu_dev_io_make(ctx, &d, q, k, v, out, q_bytes, kv_bytes);
    swacl_status st = swacl_prefill(c, layer, seq, n, d.q, d.k, d.v, d.out);
    if (st == SWACL_OK)
        st = swacl_finish(ctx);
    tu_dev_io_finish(ctx, &d, out, q_bytes);
    return st;
}

static swacl_status call_decode(swacl_context *ctx, swacl_cache *c, tu_api a, int layer,
                                int n_seqs, const int *seqs, const void *q, const void *k,
                                const void *v, void *out, size_t q_bytes, size_t kv_bytes)
{
    if (a == TU_HOST)
        return swacl_decode_host(c, layer, n_seqs, seqs, q, k, v, out);
    tu_dev_io d;
    tu_dev_io_make(ctx, &d, q, k, v, out, q_bytes, kv_bytes);
    swacl_status st = swacl_decode(c, layer, n_seqs, seqs, d.q, d.k, d.v, d.out);
    if (st == SWACL_OK)
        st = swacl_finish(ctx);
    tu_dev_io_finish(ctx, &d, out, q_bytes);
    return st;
}

int cc_feed_prefill(swacl_context *ctx, swacl_cache *c, tu_api a, int layer, int seq,
                    cc_stream *s, int len, const char *what)
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

int cc_feed_decode(swacl_context *ctx, swacl_cache *c, tu_api a, int layer, int n_seqs,
                   const int *seqs, cc_stream *const *ss, const char *what)
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

/* ---- checks ---- */

int cc_stream_check(const cc_stream *s, int from, const char *what)
{
    const swacl_attn_config *cfg = s->cfg;
    if (from >= s->done)
        return 1;
    unsigned char *want = malloc((s->done - from) * s->q_row);
    assert_non_null(want);
    tu_cached_expected(cfg, s->done, s->q, s->k, s->v, from, want);
    const size_t row = (size_t)cfg->n_heads * cfg->head_dim;
    const tu_cmp cmp = tu_compare(s->got + from * s->q_row, want, (s->done - from) * row,
                                  cfg->dtype, tu_tolerance(cfg->dtype, cfg->kv_dtype), what);
    if (cmp.n_bad > 0)
        printf("    first bad token %zu head %zu, last bad token %zu\n", from + cmp.first_bad / row,
               cmp.first_bad / cfg->head_dim % cfg->n_heads, from + cmp.last_bad / row);
    free(want);
    return cmp.n_bad == 0;
}

int cc_check_pos(const swacl_cache *c, int layer, int seq, int64_t want, const char *what)
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

/* ---- caches and tables ---- */

swacl_cache *cc_make_cache(swacl_context *ctx, const swacl_attn_config *layers, int n_layers,
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

unsigned char *cc_save_seq(swacl_cache *c, swacl_context *ctx, int seq, size_t *size)
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

int cc_chunk_len(const cc_case *c, tu_rng *rng, int left)
{
    const int dil = c->cfg.dilation > 1 ? c->cfg.dilation : 1;
    const int window = c->cfg.window;
    const int ring = window ? c->cfg.n_sink + window * dil : 16;
    int len = left;
    switch (c->split) {
    case CC_SPLIT_ONES: len = 1; break;
    case CC_SPLIT_RANDOM: len = tu_rng_int(rng, 1, 2 * ring + 3); break;
    case CC_SPLIT_COARSE:
        len = left < 9 || tu_rng_int(rng, 0, 3) == 0 ? 1 : tu_rng_int(rng, 9, 2 * ring + 16);
        break;
    case CC_SPLIT_WINDOW: len = window ? window : 16; break;
    case CC_SPLIT_PAST_WINDOW: len = ring + 3; break;
    case CC_SPLIT_WHOLE: break;
    }
    return len < left ? len : left;
}

/* one case; prints what went wrong and returns 0 on any failure */
static int run_case(swacl_context *ctx, const cc_case *cc, uint64_t seed)
{
    tu_rng rng = tu_rng_seed(seed);
    float logits[TU_MAX_HEADS];
    const swacl_attn_config cfg = tu_config_of(&cc->cfg, cc->sink_logits, logits, &rng);
    char what[400];
    cc_describe(cc, &cfg, what, sizeof what);
    const int max_context = cfg.window || cc->max_context ? cc->max_context : cc->n;
    swacl_cache *c = cc_make_cache(ctx, &cfg, 1, 3, max_context, cc->max_chunk);
    const int seq = 2;
    cc_stream s;
    cc_stream *sp = &s;
    cc_stream_init(&s, &cfg, cc->n, &rng);
    int ok = 1;
    while (ok && s.done < cc->n_prefill)
        ok = cc_feed_prefill(ctx, c, cc->api, 0, seq, &s,
                             cc_chunk_len(cc, &rng, cc->n_prefill - s.done), what);
    while (ok && s.done < cc->n)
        ok = cc_feed_decode(ctx, c, cc->api, 0, 1, &seq, &sp, what);
    if (ok)
        ok = cc_check_pos(c, 0, seq, cc->n, what) && cc_check_pos(c, 0, 0, 0, what) &&
             cc_stream_check(&s, 0, what);
    cc_stream_free(&s);
    swacl_cache_destroy(c);
    return ok;
}

void cc_run_table(swacl_context *ctx, const cc_case *cases, size_t n_cases, uint64_t seed)
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
