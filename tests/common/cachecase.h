/* cachecase.h — one sequence's tokens through a cache layer, as the cache suites
 * (test_dev_cache*.c) run them: table rows, streams of inputs fed by prefill and
 * decode through either API, and their check against tu_cached_expected. */
#ifndef SWACL_CACHECASE_H
#define SWACL_CACHECASE_H

#include "testutil.h"

/* how a case's prefill tokens are cut into swacl_prefill calls */
typedef enum cc_split {
    CC_SPLIT_ONES,        /* one token per call */
    CC_SPLIT_RANDOM,      /* random lengths from 1 to about twice the ring */
    CC_SPLIT_COARSE,      /* random, but only 1 or 9 and more: a chunk's length picks
                             its tile height (1, 2, 4, 8 or 16 rows), each height is a
                             kernel build of its own, and feature sweeps need only the
                             two that decode and long chunks use */
    CC_SPLIT_WINDOW,      /* exactly W tokens per call (16 for full layers) */
    CC_SPLIT_PAST_WINDOW, /* more than the whole ring per call */
    CC_SPLIT_WHOLE        /* everything in one call */
} cc_split;

/* One sequence through one cache layer: n_prefill tokens by prefill (cut per
 * split), the rest decoded one at a time. Fields left out are 0: dense, no
 * sinks, fp32, no RoPE, library default chunk. */
typedef struct cc_case {
    int n, n_prefill;
    swacl_attn_config cfg; /* sink_logits: see the flag below */
    int sink_logits;       /* 1 = a random learned sink logit per query head */
    int max_context;       /* full layers; 0 = n */
    int max_chunk;         /* cache option; 0 = library default */
    cc_split split;
    tu_api api;
} cc_case;

/* A row of a table: length, prefill tokens, heads / kv heads, head_dim, window,
 * sinks, dilation and cuts, then any other fields by name (config fields as
 * .cfg.softcap = ...). */
#define CC_CASE(n_, pre_, heads_, kv_heads_, hd_, w_, sink_, dil_, split_, ...)            \
    {.n = n_, .n_prefill = pre_, .cfg.n_heads = heads_, .cfg.n_kv_heads = kv_heads_,      \
     .cfg.head_dim = hd_, .cfg.window = w_, .cfg.n_sink = sink_, .cfg.dilation = dil_,    \
     .split = split_, __VA_ARGS__}
#define CC_IN_CACHE .cfg.rope = SWACL_ROPE_IN_CACHE

/* the case, run with cfg (its config with the sink logits), in words for failure reports */
void cc_describe(const cc_case *c, const swacl_attn_config *cfg, char *buf, size_t size);

/* One sequence's inputs for one layer and the outputs the cache returned so far. */
typedef struct cc_stream {
    const swacl_attn_config *cfg;
    int n, done; /* tokens in all, tokens fed */
    size_t q_row, kv_row;
    unsigned char *q, *k, *v, *got;
} cc_stream;

/* n tokens of random inputs */
void cc_stream_init(cc_stream *s, const swacl_attn_config *cfg, int n, tu_rng *rng);
/* a sequence that shares its first `shared` tokens with parent (already in the
   cache by a copy or restore) and goes on with its own */
void cc_stream_fork(cc_stream *s, const cc_stream *parent, int shared, int n, tu_rng *rng);
void cc_stream_free(cc_stream *s);

/* Prefills the next len tokens of s into seq at layer; 1 when the call succeeded
 * and left its output's canary intact. */
int cc_feed_prefill(swacl_context *ctx, swacl_cache *c, tu_api a, int layer, int seq,
                    cc_stream *s, int len, const char *what);
/* One decode call: the next token of every ss[r] for sequence seqs[r] (all of one
 * layer's config). 1 when it succeeded with the canary intact. */
int cc_feed_decode(swacl_context *ctx, swacl_cache *c, tu_api a, int layer, int n_seqs,
                   const int *seqs, cc_stream *const *ss, const char *what);
/* Compares the outputs of tokens [from, s->done) with the expectation; 1 when
 * every element is within the tolerance. */
int cc_stream_check(const cc_stream *s, int from, const char *what);
/* 1 when swacl_cache_seq_pos(layer, seq) is want */
int cc_check_pos(const swacl_cache *c, int layer, int seq, int64_t want, const char *what);

/* a cache of these layers and options, or the test fails */
swacl_cache *cc_make_cache(swacl_context *ctx, const swacl_attn_config *layers, int n_layers,
                           int max_seqs, int max_context, int max_chunk);
/* saves seq into a guarded buffer of exactly the size the library asks for (free
   it), checking the size it reports and the canary; *size receives the size */
unsigned char *cc_save_seq(swacl_cache *c, swacl_context *ctx, int seq, size_t *size);
/* length of the next prefill call of a case */
int cc_chunk_len(const cc_case *c, tu_rng *rng, int left);

/* Runs every case (each in sequence slot 2 of a 3-slot cache, so ring offsets are
 * not all zero; chunked prefill + decode against the reference) and fails once at
 * the end, so one run lists every failing one. Skips without a context. */
void cc_run_table(swacl_context *ctx, const cc_case *cases, size_t n_cases, uint64_t seed);

#define CC_RUN_TABLE(state, table, seed) \
    cc_run_table((swacl_context *)*(state), table, sizeof table / sizeof table[0], seed)

#endif /* SWACL_CACHECASE_H */
