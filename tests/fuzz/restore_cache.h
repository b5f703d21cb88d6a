/* restore_cache.h — the small cache fuzz_seq_restore restores blobs into, and
 * fuzz_seeds saves its seed blobs from; both must build it the same way. */
#ifndef SWACL_FUZZ_RESTORE_CACHE_H
#define SWACL_FUZZ_RESTORE_CACHE_H

#include "swacl.h"

#include <string.h>

enum { RESTORE_SEQS = 2, RESTORE_MAX_CONTEXT = 4, RESTORE_PREFILL = 3 };

/* Two layers: a window of 2 with one sink over an fp16 ring, and a full layer
 * of 4 slots whose keys are turned inside the cache. Sequence 0 holds
 * RESTORE_PREFILL tokens at both; sequence 1 is what blobs are restored into. */
static inline swacl_status restore_cache_make(swacl_context *ctx, swacl_cache **out)
{
    static swacl_attn_config layers[2];
    memset(layers, 0, sizeof layers);
    for (int l = 0; l < 2; l++) {
        layers[l].n_heads = 2;
        layers[l].n_kv_heads = 1;
        layers[l].head_dim = 32;
    }
    layers[0].window = 2;
    layers[0].n_sink = 1;
    layers[0].kv_dtype = SWACL_F16;
    layers[1].rope = SWACL_ROPE_IN_CACHE;
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    opt.n_layers = 2;
    opt.layers = layers;
    opt.max_seqs = RESTORE_SEQS;
    opt.max_context = RESTORE_MAX_CONTEXT;
    swacl_status s = swacl_cache_create(ctx, &opt, out);
    if (s != SWACL_OK)
        return s;
    float q[RESTORE_PREFILL * 64], kv[RESTORE_PREFILL * 32], o[RESTORE_PREFILL * 64];
    for (int i = 0; i < RESTORE_PREFILL * 64; i++)
        q[i] = (float)((i * 37) % 19) / 19.0f - 0.5f;
    for (int i = 0; i < RESTORE_PREFILL * 32; i++)
        kv[i] = (float)((i * 11) % 23) / 23.0f - 0.5f;
    for (int l = 0; l < 2 && s == SWACL_OK; l++)
        s = swacl_prefill_host(*out, l, 0, RESTORE_PREFILL, q, kv, kv, o);
    return s;
}


#endif /* SWACL_FUZZ_RESTORE_CACHE_H */
