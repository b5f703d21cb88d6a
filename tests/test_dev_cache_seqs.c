/* test_dev_cache_seqs.c — sequences in a cache against the float64 reference:
 * batched decode of sequences at different positions, per-layer configs in one
 * cache, sequence reset/copy/save/restore, and memory accounting. */
#include "cachecase.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- batches of sequences at different positions -------------------------------- */

enum { BATCH_SEQS = 5, BATCH_STEPS = 12 };

/* Five sequences prefilled to different lengths, then decoded: in one cache as
 * changing subsets in shuffled order, one call per step; in a twin cache each
 * sequence alone. Both match the reference, and each other. */
static int run_batch(swacl_context *ctx, const cc_case *cc, uint64_t seed)
{
    static const int prefill[BATCH_SEQS] = {0, 1, 17, 40, 70};
    tu_rng rng = tu_rng_seed(seed);
    float logits[TU_MAX_HEADS];
    const swacl_attn_config cfg = tu_config_of(&cc->cfg, cc->sink_logits, logits, &rng);
    char what[400];
    cc_describe(cc, &cfg, what, sizeof what);
    swacl_cache *batched = cc_make_cache(ctx, &cfg, 1, BATCH_SEQS + 1, cc->max_context, 0);
    swacl_cache *alone = cc_make_cache(ctx, &cfg, 1, BATCH_SEQS + 1, cc->max_context, 0);
    cc_stream sb[BATCH_SEQS], sa[BATCH_SEQS];
    int ok = 1;
    for (int i = 0; i < BATCH_SEQS; i++) {
        cc_stream_init(&sb[i], &cfg, prefill[i] + BATCH_STEPS, &rng);
        /* the same tokens for the twin cache */
        cc_stream_fork(&sa[i], &sb[i], prefill[i] + BATCH_STEPS, prefill[i] + BATCH_STEPS, &rng);
        sa[i].done = 0;
        /* slot i + 1: slot 0 stays empty throughout */
        if (ok && prefill[i] > 0)
            ok = cc_feed_prefill(ctx, batched, cc->api, 0, i + 1, &sb[i], prefill[i], what) &&
                 cc_feed_prefill(ctx, alone, cc->api, 0, i + 1, &sa[i], prefill[i], what);
    }
    for (int step = 0; ok && step < 2 * BATCH_STEPS; step++) {
        /* a random subset in random order; every sequence that still has tokens is
           in the batch on odd steps, so all reach the end */
        int seqs[BATCH_SEQS], n = 0;
        cc_stream *rows[BATCH_SEQS];
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
            ok = cc_feed_decode(ctx, batched, cc->api, 0, n, seqs, rows, what);
        for (int r = 0; ok && r < n; r++) {
            cc_stream *one = &sa[seqs[r] - 1];
            ok = cc_feed_decode(ctx, alone, cc->api, 0, 1, &seqs[r], &one, what);
        }
    }
    for (int i = 0; ok && i < BATCH_SEQS; i++) {
        char who[448];
        snprintf(who, sizeof who, "%s seq %d batched", what, i + 1);
        ok = sb[i].done == sb[i].n && cc_check_pos(batched, 0, i + 1, sb[i].n, who) &&
             cc_stream_check(&sb[i], 0, who);
        snprintf(who, sizeof who, "%s seq %d alone", what, i + 1);
        ok = ok && cc_check_pos(alone, 0, i + 1, sa[i].n, who) && cc_stream_check(&sa[i], 0, who);
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
    ok = ok && cc_check_pos(batched, 0, 0, 0, what);
    for (int i = 0; i < BATCH_SEQS; i++) {
        cc_stream_free(&sb[i]);
        cc_stream_free(&sa[i]);
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
    static const cc_case cases[] = {
        {.cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 16, .n_sink = 2}},
        {.cfg = {.n_heads = 4, .n_kv_heads = 1, .head_dim = 32, .window = 0, .softcap = 30.0f},
         .max_context = 128, .sink_logits = 1},
        {.cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 6, .n_sink = 4,
                 .dilation = 2, .kv_dtype = SWACL_F16, .rope = SWACL_ROPE_IN_CACHE}},
        {.cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 16, .n_sink = 2},
         .api = TU_CL_MEM},
        {.cfg = {.n_heads = 4, .n_kv_heads = 1, .head_dim = 32, .window = 0, .dtype = SWACL_F16,
                 .kv_dtype = SWACL_F16},
         .max_context = 128, .api = TU_CL_MEM},
        {.cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 6, .n_sink = 4,
                 .dilation = 2, .rope = SWACL_ROPE_IN_CACHE},
         .api = TU_CL_MEM},
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
static int run_layers(swacl_context *ctx, const cc_case *layers, int n_layers, int max_context,
                      const char *name, uint64_t seed)
{
    enum { MAX_LAYERS = 6 };
    assert_true(n_layers <= MAX_LAYERS);
    tu_rng rng = tu_rng_seed(seed);
    float logits[MAX_LAYERS][TU_MAX_HEADS];
    swacl_attn_config cfgs[MAX_LAYERS];
    cc_stream s[MAX_LAYERS];
    for (int l = 0; l < n_layers; l++)
        cfgs[l] = tu_config_of(&layers[l].cfg, layers[l].sink_logits, logits[l], &rng);
    swacl_cache *c = cc_make_cache(ctx, cfgs, n_layers, 2, max_context, 0);
    for (int l = 0; l < n_layers; l++)
        cc_stream_init(&s[l], &cfgs[l], layers[l].n, &rng);
    const int seq = 1;
    int ok = 1, busy = 1;
    while (ok && busy) {
        busy = 0;
        for (int l = 0; ok && l < n_layers; l++) {
            char what[400];
            snprintf(what, sizeof what, "%s layer %d", name, l);
            cc_stream *sp = &s[l];
            const cc_case *lc = &layers[l];
            if (s[l].done < lc->n_prefill)
                ok = cc_feed_prefill(ctx, c, lc->api, l, seq, sp,
                                  cc_chunk_len(lc, &rng, lc->n_prefill - s[l].done), what);
            else if (s[l].done < lc->n)
                ok = cc_feed_decode(ctx, c, lc->api, l, 1, &seq, &sp, what);
            busy |= s[l].done < lc->n;
        }
    }
    for (int l = 0; ok && l < n_layers; l++) {
        char what[400];
        cc_describe(&layers[l], &cfgs[l], what, sizeof what);
        char who[512];
        snprintf(who, sizeof who, "%s layer %d (%s)", name, l, what);
        ok = cc_check_pos(c, l, seq, layers[l].n, who) && cc_check_pos(c, l, 0, 0, who) &&
             cc_stream_check(&s[l], 0, who);
    }
    for (int l = 0; l < n_layers; l++)
        cc_stream_free(&s[l]);
    swacl_cache_destroy(c);
    return ok;
}

static void per_layer_configs(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    /* the three kinds side by side, each layer at its own length */
    static const cc_case mixed[] = {
        CC_CASE(90, 40, 4, 2, 64, 8, 4, 1, CC_SPLIT_COARSE),
        CC_CASE(70, 50, 4, 2, 64, 0, 0, 1, CC_SPLIT_COARSE),
        CC_CASE(110, 30, 4, 2, 64, 3, 0, 2, CC_SPLIT_ONES),
    };
    /* Gemma 2 scaled down: local and global layers alternate, scores soft-capped */
    static const cc_case gemma[] = {
        CC_CASE(80, 45, 8, 4, 64, 4, 0, 1, CC_SPLIT_COARSE, .cfg.softcap = 50.0f),
        CC_CASE(80, 45, 8, 4, 64, 0, 0, 1, CC_SPLIT_COARSE, .cfg.softcap = 50.0f),
        CC_CASE(80, 45, 8, 4, 64, 4, 0, 1, CC_SPLIT_COARSE, .cfg.softcap = 50.0f, .cfg.kv_dtype = SWACL_F16),
        CC_CASE(80, 45, 8, 4, 64, 0, 0, 1, CC_SPLIT_COARSE, .cfg.softcap = 50.0f, .cfg.kv_dtype = SWACL_F16,
             .api = TU_CL_MEM),
    };
    /* gpt-oss-like banded/dense pair with learned sinks, and layers of other shapes
       and policies in the same cache */
    static const cc_case assorted[] = {
        CC_CASE(60, 30, 8, 1, 64, 8, 0, 1, CC_SPLIT_COARSE, .sink_logits = 1),
        CC_CASE(60, 30, 8, 1, 64, 0, 0, 1, CC_SPLIT_COARSE, .sink_logits = 1),
        CC_CASE(75, 20, 2, 1, 128, 5, 4, 1, CC_SPLIT_COARSE, CC_IN_CACHE),
        CC_CASE(50, 50, 4, 4, 32, 1, 1, 1, CC_SPLIT_ONES, .cfg.dtype = SWACL_F16, .cfg.kv_dtype = SWACL_F16),
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

/* 1 when rows [from, to) of two streams' outputs are bitwise equal */
static int same_bits(const cc_stream *a, const cc_stream *b, int from, int to, const char *what)
{
    for (int t = from; t < to; t++)
        if (memcmp(a->got + t * a->q_row, b->got + t * b->q_row, a->q_row) != 0) {
            printf("%s: outputs of token %d differ\n", what, t);
            return 0;
        }
    return 1;
}

/* three layer kinds every sequence-op test runs on: SWA with sinks, full, and
   in-cache RoPE with dilation and an fp16 ring */
static void ops_layers(swacl_attn_config *cfgs)
{
    static const swacl_attn_config kinds[N_OPS_LAYERS] = {
        {.n_heads = 4, .n_kv_heads = 2, .head_dim = 32, .window = 6, .n_sink = 2},
        {.n_heads = 4, .n_kv_heads = 2, .head_dim = 32, .window = 0},
        {.n_heads = 4, .n_kv_heads = 2, .head_dim = 64, .window = 4, .n_sink = 1, .dilation = 2,
         .kv_dtype = SWACL_F16, .rope = SWACL_ROPE_IN_CACHE},
    };
    memcpy(cfgs, kinds, sizeof kinds);
}

/* prefills len tokens of s[l] into seq at every layer: in one call from 9 tokens
   on, else token by token (two tile heights, as CC_SPLIT_COARSE) */
static void prefill_all(swacl_context *ctx, swacl_cache *c, int seq, cc_stream *s, int len)
{
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        const int end = s[l].done + len;
        while (s[l].done < end) {
            const int part = len >= 9 ? len : 1;
            if (!cc_feed_prefill(ctx, c, TU_HOST, l, seq, &s[l], part, "prefill_all"))
                fail_msg("prefill failed (above)");
        }
    }
}

/* one decode step at every layer for the sequences seqs[r], whose streams are
   sets[r][layer] */
static void decode_all(swacl_context *ctx, swacl_cache *c, int n_seqs, const int *seqs,
                       cc_stream *const *sets)
{
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        cc_stream *rows[4];
        for (int r = 0; r < n_seqs; r++)
            rows[r] = &sets[r][l];
        if (!cc_feed_decode(ctx, c, TU_HOST, l, n_seqs, seqs, rows, "decode_all"))
            fail_msg("decode failed (above)");
    }
}

static int check_all(const swacl_cache *c, int seq, const cc_stream *s, int from, const char *what)
{
    int ok = 1;
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        char who[200];
        snprintf(who, sizeof who, "%s, layer %d", what, l);
        ok &= cc_check_pos(c, l, seq, s[l].done, who) && cc_stream_check(&s[l], from, who);
    }
    return ok;
}

static void streams_init(cc_stream *s, const swacl_attn_config *cfgs, int n, tu_rng *rng)
{
    for (int l = 0; l < N_OPS_LAYERS; l++)
        cc_stream_init(&s[l], &cfgs[l], n, rng);
}

static void streams_free(cc_stream *s)
{
    for (int l = 0; l < N_OPS_LAYERS; l++)
        cc_stream_free(&s[l]);
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
    swacl_cache *c = cc_make_cache(ctx, cfgs, N_OPS_LAYERS, 2, 48, 0);
    tu_rng rng = tu_rng_seed(51);
    cc_stream a[N_OPS_LAYERS], b[N_OPS_LAYERS], other[N_OPS_LAYERS];
    streams_init(a, cfgs, 30, &rng);
    streams_init(b, cfgs, 40, &rng);
    streams_init(other, cfgs, 22, &rng);

    prefill_all(ctx, c, 0, a, 20);
    prefill_all(ctx, c, 1, other, 7);
    cc_stream *set_a[] = {a};
    for (int t = 0; t < 10; t++)
        decode_all(ctx, c, 1, (const int[]){0}, set_a);
    int ok = check_all(c, 0, a, 0, "before reset");

    assert_int_equal(swacl_cache_seq_reset(c, 0), SWACL_OK);
    for (int l = 0; l < N_OPS_LAYERS; l++)
        ok &= cc_check_pos(c, l, 0, 0, "after reset") && cc_check_pos(c, l, 1, 7, "other seq");

    /* the reset slot is a fresh sequence, decoded next to the untouched one */
    prefill_all(ctx, c, 0, b, 25);
    cc_stream *set_ob[] = {other, b};
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
    swacl_cache *c = cc_make_cache(ctx, cfgs, N_OPS_LAYERS, 3, 64, 0);
    tu_rng rng = tu_rng_seed(52);
    enum { PREFIX = 23, TOTAL = 35 };
    cc_stream a[N_OPS_LAYERS], b[N_OPS_LAYERS], junk[N_OPS_LAYERS], b2[N_OPS_LAYERS];
    streams_init(a, cfgs, TOTAL, &rng);
    streams_init(junk, cfgs, 15, &rng);
    prefill_all(ctx, c, 1, junk, 15); /* the copy must replace this, not mix with it */
    prefill_all(ctx, c, 0, a, PREFIX);

    int ok = 1;
    assert_int_equal(swacl_cache_seq_copy(c, 0, 1), SWACL_OK);
    assert_int_equal(swacl_cache_seq_copy(c, 1, 1), SWACL_OK); /* a no-op */
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        ok &= cc_check_pos(c, l, 1, PREFIX, "copy destination");
        ok &= cc_check_pos(c, l, 0, PREFIX, "copy source");
        cc_stream_fork(&b[l], &a[l], PREFIX, TOTAL, &rng);
    }
    /* both go on independently: a few tokens by prefill each, then decoded together */
    prefill_all(ctx, c, 0, a, 4);
    prefill_all(ctx, c, 1, b, 4);
    cc_stream *set_ba[] = {b, a};
    for (int t = PREFIX + 4; t < TOTAL - 4; t++)
        decode_all(ctx, c, 2, (const int[]){1, 0}, set_ba);
    /* a second fork, of the fork, mid-way: slot 2 continues from b's state */
    assert_int_equal(swacl_cache_seq_copy(c, 1, 2), SWACL_OK);
    for (int l = 0; l < N_OPS_LAYERS; l++)
        cc_stream_fork(&b2[l], &b[l], b[l].done, TOTAL, &rng);
    cc_stream *set_abb[] = {a, b, b2};
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
static void seq_save_restore(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    swacl_attn_config cfgs[N_OPS_LAYERS];
    ops_layers(cfgs);
    swacl_cache *c = cc_make_cache(ctx, cfgs, N_OPS_LAYERS, 3, 64, 0);
    tu_rng rng = tu_rng_seed(53);
    enum { FIRST = 20, MORE = 10, TOTAL = FIRST + 2 + MORE };
    cc_stream a[N_OPS_LAYERS], junk[N_OPS_LAYERS], twin[N_OPS_LAYERS], again[N_OPS_LAYERS],
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
                 tu_elem_size(cfgs[l].kv_dtype);
    }
    size_t size;
    unsigned char *blob = cc_save_seq(c, ctx, 0, &size);
    int ok = 1;
    if (size < rings || size > rings + 4096) {
        printf("blob of %zu bytes for %llu bytes of rings\n", size, (unsigned long long)rings);
        ok = 0;
    }

    /* restored into another slot, the next token gives the same bits in both */
    assert_int_equal(swacl_cache_seq_restore(c, 2, blob, size), SWACL_OK);
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        ok &= cc_check_pos(c, l, 2, FIRST, "restored slot");
        cc_stream_fork(&twin[l], &a[l], FIRST, FIRST + 1, &rng);
        memcpy(twin[l].q + FIRST * twin[l].q_row, a[l].q + FIRST * a[l].q_row, twin[l].q_row);
        memcpy(twin[l].k + FIRST * twin[l].kv_row, a[l].k + FIRST * a[l].kv_row, twin[l].kv_row);
        memcpy(twin[l].v + FIRST * twin[l].kv_row, a[l].v + FIRST * a[l].kv_row, twin[l].kv_row);
    }
    cc_stream *set_a[] = {a}, *set_twin[] = {twin};
    decode_all(ctx, c, 1, (const int[]){0}, set_a);
    decode_all(ctx, c, 1, (const int[]){2}, set_twin);
    for (int l = 0; l < N_OPS_LAYERS; l++)
        ok &= same_bits(&a[l], &twin[l], FIRST, FIRST + 1, "restored copy, next token");

    /* a save, more tokens (the rings wrap), a restore: the old state comes back
       exactly, so the next token after it repeats its bits */
    size_t size2;
    unsigned char *blob2 = cc_save_seq(c, ctx, 0, &size2);
    assert_int_equal(size2, size);
    const int mark = a[0].done;
    for (int t = 0; t < MORE + 1; t++)
        decode_all(ctx, c, 1, (const int[]){0}, set_a);
    ok &= check_all(c, 0, a, 0, "saved sequence continued");
    assert_int_equal(swacl_cache_seq_restore(c, 0, blob2, size2), SWACL_OK);
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        ok &= cc_check_pos(c, l, 0, mark, "restored over itself");
        cc_stream_fork(&again[l], &a[l], TOTAL, TOTAL, &rng);
        again[l].done = mark;
    }
    cc_stream *set_again[] = {again};
    for (int t = mark; t < TOTAL; t++)
        decode_all(ctx, c, 1, (const int[]){0}, set_again);
    for (int l = 0; l < N_OPS_LAYERS; l++)
        ok &= same_bits(&a[l], &again[l], mark, TOTAL, "after restore over itself");

    /* a blob goes into another cache of the same layer configs */
    swacl_cache *other = cc_make_cache(ctx, cfgs, N_OPS_LAYERS, 1, 64, 5);
    assert_int_equal(swacl_cache_seq_restore(other, 0, blob2, size2), SWACL_OK);
    for (int l = 0; l < N_OPS_LAYERS; l++) {
        cc_stream_fork(&moved[l], &a[l], TOTAL, TOTAL, &rng);
        moved[l].done = mark;
    }
    cc_stream *set_moved[] = {moved};
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
        total += 2 * slots * cfg->n_kv_heads * cfg->head_dim * tu_elem_size(cfg->kv_dtype) *
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
        swacl_cache *c = cc_make_cache(ctx, opt.layers, opt.n_layers, opt.max_seqs,
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
                cc_stream s;
                cc_stream *sp = &s;
                const int seq = opt.max_seqs - 1;
                cc_stream_init(&s, &opt.layers[l], tokens, &rng);
                while (ok && s.done < tokens)
                    ok = cc_feed_decode(ctx, c, TU_HOST, l, 1, &seq, &sp, cases[i].what);
                cc_stream_free(&s);
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

int main(void)
{
    const struct CMUnitTest sequences[] = {
        cmocka_unit_test(batched_decode),
        cmocka_unit_test(per_layer_configs),
        cmocka_unit_test(seq_reset_then_reuse),
        cmocka_unit_test(seq_copy_forks_prefix),
        cmocka_unit_test(seq_save_restore),
        cmocka_unit_test(device_bytes_fixed),
    };
    /* decode by the general attention kernel (GPUs) instead of the streaming one */
    const struct CMUnitTest gpu_params[] = {
        cmocka_unit_test(batched_decode),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name("cache_sequences", sequences, tu_open_group,
                                          tu_close_context);
    failed += cmocka_run_group_tests_name("cache_sequences_gpu_params", gpu_params,
                                          tu_open_group_gpu, tu_close_context);
    return tu_exit(failed);
}
