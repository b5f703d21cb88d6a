/* cache.h — the KV cache's internals, shared by cache.c (object, sequences)
 * and schedule.c (chunked prefill and decode launches). */
#ifndef SWACL_CACHE_H
#define SWACL_CACHE_H

#include "internal.h"

#include <stdio.h>

typedef struct cache_layer {
    swacl_attn_config cfg; /* sink_logits points at sink_host */
    float *sink_host;
    cl_mem sink_dev, inv_freq_dev; /* or NULL */
    int n_slots;        /* per sequence: n_sink + span */
    int span;           /* rolling slots: W*D + slack, or max_context for full layers */
    int slack;          /* ring_slack of an SWA layer (0 for full layers) */
    int ring_sinks;     /* pinned slots: n_sink, or 0 for full layers */
    size_t seq_bytes;   /* one ring (K or V) of one sequence */
    int seqs_per_buf, n_bufs;
    cl_mem *k_bufs, *v_bufs; /* n_bufs each; buffer b holds sequences b*seqs_per_buf.. */
} cache_layer;

struct swacl_cache {
    swacl_context *ctx;
    int n_layers, max_seqs, max_context, max_chunk;
    cache_layer *layers;
    int64_t *pos;       /* [n_layers][max_seqs]: tokens held = next position */
    size_t device_bytes;
};

/* which buffer holds seq at layer, and its index among that buffer's sequences */
void swacl_cache_locate(const swacl_cache *c, int layer, int seq, int *buf, int *ring_seq);
swacl_status swacl_cache_check_seq(swacl_cache *c, int seq, const char *fn);
swacl_status swacl_cache_blob_check(const swacl_cache *c, const void *buf, size_t size,
                                    char *msg, size_t msg_size);

#endif /* SWACL_CACHE_H */
