/* model.h — a decoder-only transformer from a GGUF file, run on one OpenCL device:
 * weights on the device (dequantised to fp32), projections and logits through CLBlast,
 * attention and the KV cache through swacl's public API (one cache, one config per
 * layer), norms, RoPE, the gated MLP and row gathers as small kernels (cl/ops/).
 *
 * Architectures: "gemma3" (QK-norm, post-norms, five sliding layers to one global,
 * RoPE base 10 000 on sliding layers and the file's base on global ones, GELU-tanh,
 * scaled embeddings), "gemma2" (soft-capped attention and logits, alternating
 * sliding and global layers) and "llama" (Llama, Mistral, SmolLM: SwiGLU, an optional
 * sliding window). See docs/design.md §9 for the forward pass. */
#ifndef SWACL_RUN_MODEL_H
#define SWACL_RUN_MODEL_H

#include "gguf.h"
#include "swacl.h"

#include <stddef.h>
#include <stdint.h>

typedef enum model_arch { ARCH_LLAMA, ARCH_GEMMA2, ARCH_GEMMA3 } model_arch;

typedef struct model_hparams {
    model_arch arch;
    int n_layers, n_embd, n_ff, n_head, n_kv_head, head_dim, n_vocab, n_ctx_train;
    float eps;                 /* RMSNorm epsilon */
    float rope_base;           /* global (or every) layer's RoPE base */
    float rope_base_local;     /* sliding layers' base (gemma3); = rope_base otherwise */
    int window;                /* sliding layers' window (0 = none) */
    int swa_period;            /* gemma: every swa_period-th layer is global (0 = all alike) */
    float attn_scale, attn_softcap, final_softcap, embd_scale;
} model_hparams;

typedef struct model_options {
    int max_seqs;     /* sequences held at once */
    int max_context;  /* positions a sequence may reach (global layers' slots) */
    int max_tokens;   /* rows one model_forward may take (all entries together) */
    int kv_f16;       /* 1 = fp16 KV cache */
    /* streaming (StreamingLLM): window > 0 makes every layer a sliding one with this
       window and n_sink pinned tokens, keys rotated inside the cache, so a sequence
       runs past max_context */
    int stream_window, stream_sinks;
} model_options;

/* time spent on the device by kind of work since the last model_times_read */
enum { MT_ATTN, MT_GEMM, MT_NORM, MT_ROPE, MT_ACT, MT_ROWS, MT_KINDS };
typedef struct model_times {
    double ms[MT_KINDS]; /* attention, projections, norms, RoPE, MLP activation, row gathers */
} model_times;
extern const char *const model_time_names[MT_KINDS];

typedef struct model model;

/* Reads the hyperparameters of a supported architecture; 0, or -1 with a reason. */
int model_read_hparams(const gguf_file *f, model_hparams *hp, char *err, size_t err_size);
/* Loads the weights onto ctx's device and makes the KV cache. 0, or -1 with a reason. */
int model_load(swacl_context *ctx, const gguf_file *f, const model_options *opt, model **out,
               char *err, size_t err_size);
void model_free(model *m);
const model_hparams *model_hp(const model *m);
/* the KV cache's device bytes, fixed at load */
size_t model_kv_bytes(const model *m);
/* weight bytes on the device */
size_t model_weight_bytes(const model *m);

/* Runs a micro-batch: entries[e] brings entries[e].n_tokens tokens of its sequence
 * (tokens laid out entry after entry) at the sequence's next positions. Writes fp32
 * logits to logits: with all_rows, one row of n_vocab per token; else one row per
 * entry, for its last token; none when logits is NULL (a prompt chunk whose next
 * token nobody samples). Waits for the device. 0, or -1 with a reason. */
int model_forward(model *m, int n_entries, const swacl_batch_entry *entries,
                  const int32_t *tokens, int all_rows, float *logits, char *err,
                  size_t err_size);
/* the position sequence seq reaches next */
int64_t model_seq_pos(const model *m, int seq);
/* forgets a sequence */
int model_seq_reset(model *m, int seq);
/* reads and clears the time split */
void model_times_read(model *m, model_times *out);

#endif /* SWACL_RUN_MODEL_H */
