/* swacl.h — public API of swacl, portable OpenCL sliding-window attention
 * with a rolling-buffer KV cache. Semantics and conventions: docs/design.md §1, §6.
 *
 * Thread safety: a swacl_context and everything made from it (caches) must be
 * used by one thread at a time; distinct contexts are independent. Functions
 * that take no context (status strings, the reference, device listing) are
 * safe to call from any thread.
 *
 * Conventions: every call returns swacl_status; on failure the context's
 * swacl_last_error() says why, and nothing the call was given has been
 * changed. Destroy functions accept NULL. The library never exits, aborts or
 * prints. OpenCL objects the caller passes in (cl_mem) are borrowed: they are
 * never retained past the call's enqueue nor released. */
#ifndef SWACL_H
#define SWACL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* marks the functions the shared library exports; everything else is hidden */
#if defined(__GNUC__) || defined(__clang__)
#define SWACL_API __attribute__((visibility("default")))
#else
#define SWACL_API
#endif

#define SWACL_VERSION_MAJOR 0
#define SWACL_VERSION_MINOR 1
#define SWACL_VERSION_PATCH 0
#define SWACL_VERSION_NUMBER \
    (SWACL_VERSION_MAJOR * 10000 + SWACL_VERSION_MINOR * 100 + SWACL_VERSION_PATCH)
#define SWACL_VERSION_STRING "0.1.0"

/* the version of the library actually linked (compare with SWACL_VERSION_NUMBER) */
SWACL_API unsigned    swacl_version_number(void);
SWACL_API const char *swacl_version_string(void);

/* One list makes the status enum and its strings. Codes are pinned. */
#define SWACL_STATUS_MAP(XX)                                                         \
    XX(OK, 0, "success")                                                             \
    XX(ERR_INVALID_ARGUMENT, -1, "invalid argument")                                 \
    XX(ERR_UNSUPPORTED, -2, "valid request not supported by this build or device")   \
    XX(ERR_NO_DEVICE, -3, "no matching OpenCL device")                               \
    XX(ERR_BUILD, -4, "OpenCL program build failed")                                 \
    XX(ERR_OUT_OF_MEMORY, -5, "out of memory")                                       \
    XX(ERR_OPENCL, -6, "OpenCL call failed")                                         \
    XX(ERR_IO, -7, "input/output error")

typedef enum swacl_status {
#define SWACL_STATUS_ENUM_(name, code, text) SWACL_##name = code,
    SWACL_STATUS_MAP(SWACL_STATUS_ENUM_)
#undef SWACL_STATUS_ENUM_
} swacl_status;

/* a static string for any value, "unknown status" for values not in the map */
SWACL_API const char *swacl_status_string(swacl_status s);

typedef enum swacl_dtype { SWACL_F32 = 0, SWACL_F16 = 1 } swacl_dtype;

/* Where a cache keeps keys rotated (see README "RoPE policy"). */
typedef enum swacl_rope_policy {
    SWACL_ROPE_NONE = 0,     /* keys arrive already rotated at absolute positions */
    SWACL_ROPE_IN_CACHE = 1  /* StreamingLLM: keys and queries arrive unrotated;
                                swacl rotates them by their position inside the cache */
} swacl_rope_policy;

typedef struct swacl_context swacl_context;
typedef struct swacl_cache swacl_cache;

/* One attention layer. Zero-initialised fields mean the defaults. */
typedef struct swacl_attn_config {
    int   n_heads, n_kv_heads, head_dim; /* n_heads % n_kv_heads == 0; head_dim % 8 == 0, 32..256 */
    int   window;        /* W visible recent tokens, the query included; 0 = full attention;
                            W * max(D, 1) < 2^30 */
    int   n_sink;        /* pinned first positions, always visible */
    int   dilation;      /* 0 or 1 = dense; D > 1 sees every D-th token, W of them (causal only) */
    int   bidirectional; /* 0 = causal; 1 = |i - j| < W (encoders) */
    float scale;         /* 0 = 1/sqrt(head_dim) */
    float softcap;       /* 0 = off; else s = softcap * tanh(s / softcap) */
    const float *sink_logits; /* NULL = none; else n_heads learned sink logits (copied) */
    swacl_dtype dtype;   /* q, k, v, out element type */
    swacl_dtype kv_dtype;/* KV cache storage type */
    swacl_rope_policy rope; /* cache layers only; SWACL_ROPE_NONE for one-shot attention */
    float rope_theta;    /* RoPE base for SWACL_ROPE_IN_CACHE; 0 = 10000 */
} swacl_attn_config;

/* Option structs grow into their reserved fields: zero-initialise them (= {0}) and set
 * what you need. A later version gives a reserved slot a meaning whose zero is the old
 * behaviour, so the struct's size and layout never change within a major version; a
 * reserved field that is not zero is refused (SWACL_ERR_INVALID_ARGUMENT). */
typedef struct swacl_context_options {
    const char *device;    /* NULL = $SWACL_DEVICE, else the default device (first GPU, else first) */
    const char *cache_dir; /* NULL = $SWACL_CACHE_DIR, else $XDG_CACHE_HOME/swacl, else ~/.cache/swacl */
    int profiling;         /* 1 = record kernel times (swacl_profile_read) */
    int reserved[8];       /* zero */
} swacl_context_options;

typedef struct swacl_cache_options {
    int n_layers;
    const swacl_attn_config *layers; /* n_layers entries (copied) */
    int max_seqs;        /* sequences held at once */
    int max_context;     /* slots for W == 0 layers (positions 0 .. max_context-1) */
    int max_chunk;       /* tokens per prefill launch; 0 = library default for the device */
    int ring_slack;      /* extra slots per SWA ring beyond n_sink + W*D, so that
                            swacl_cache_seq_truncate can take back that many more tokens
                            (speculative decoding); 0 = none. Not with in-cache RoPE. */
    int reserved[7];     /* zero */
} swacl_cache_options;

/* ---- devices ------------------------------------------------------------ */

typedef struct swacl_device_info {
    char selector[16];        /* "P:D", accepted by SWACL_DEVICE */
    char platform[128], vendor[128], name[128];
    char device_version[128], driver_version[128];
    char type[16];            /* "gpu", "cpu", "accelerator", "other" */
    int  compute_units;
    int  max_work_group_size;
    int  has_fp16;            /* cl_khr_fp16 */
    int  has_subgroups;
    int  local_mem_is_global; /* local memory emulated in global memory (CPUs) */
    uint64_t local_mem_bytes, global_mem_bytes, max_alloc_bytes;
    char params[64];          /* name of the kernel parameter set swacl would use */
    char params_detail[192];  /* its values, e.g. "BLOCK_M=16 BLOCK_N=32 ..." */
} swacl_device_info;

/* Lists up to max devices of every platform into out (may be NULL to count).
 * *n_out receives the total number of devices. */
SWACL_API swacl_status swacl_devices_list(swacl_device_info *out, int max, int *n_out);

/* ---- context ------------------------------------------------------------ */

/* Creates a context on one device. opt may be NULL. On failure *out is NULL and
 * the reason is in swacl_last_error(NULL) for this thread's last failed create. */
SWACL_API swacl_status swacl_context_create(const swacl_context_options *opt, swacl_context **out);
/* Runs on the caller's OpenCL objects instead: an in-order queue of that context and
 * device (out-of-order queues: SWACL_ERR_UNSUPPORTED). swacl retains them while the
 * context lives and releases only what it retained; opt->device is ignored, and
 * opt->profiling needs a queue made with CL_QUEUE_PROFILING_ENABLE. Buffers passed to
 * the context's calls must belong to cl. Every call runs in queue order, after what the
 * caller enqueued before it. */
SWACL_API swacl_status swacl_context_create_cl(cl_context cl, cl_device_id dev, cl_command_queue queue,
                                     const swacl_context_options *opt, swacl_context **out);
/* the event of the last command swacl enqueued on the queue, retained for the caller
 * (who releases it); SWACL_ERR_INVALID_ARGUMENT before the first */
SWACL_API swacl_status swacl_last_event(swacl_context *ctx, cl_event *out);
SWACL_API void         swacl_context_destroy(swacl_context *ctx);
/* the context's last error message ("" if none); with ctx == NULL, the message
 * of the calling thread's last failed swacl_context_create */
SWACL_API const char  *swacl_last_error(const swacl_context *ctx);
SWACL_API swacl_status swacl_context_device_info(const swacl_context *ctx, swacl_device_info *out);
/* borrowed: owned by the context, valid until it is destroyed */
SWACL_API cl_context       swacl_context_cl_context(const swacl_context *ctx);
SWACL_API cl_command_queue swacl_context_cl_queue(const swacl_context *ctx);
SWACL_API cl_device_id     swacl_context_cl_device(const swacl_context *ctx);
/* waits for everything enqueued on the context's queue */
SWACL_API swacl_status     swacl_finish(swacl_context *ctx);

/* Kernel time recorded since the last read (needs options.profiling = 1). */
typedef struct swacl_profile {
    double kernel_ms;   /* sum of kernel execution times, from OpenCL events */
    int    n_kernels;   /* number of kernel launches */
} swacl_profile;
/* reads and clears the accumulated profile; waits for the queue first */
SWACL_API swacl_status swacl_profile_read(swacl_context *ctx, swacl_profile *out);

/* ---- one-shot attention (no cache) -------------------------------------- */

/* Band-masked attention over one whole sequence of n_tokens.
 * q, out: [n_tokens][n_heads][head_dim]; k, v: [n_tokens][n_kv_heads][head_dim]
 * of cfg->dtype. Asynchronous on the context's queue. */
SWACL_API swacl_status swacl_attention(swacl_context *ctx, const swacl_attn_config *cfg, int n_tokens,
                             cl_mem q, cl_mem k, cl_mem v, cl_mem out);
/* the same on host arrays: copies in, runs, copies out, waits */
SWACL_API swacl_status swacl_attention_host(swacl_context *ctx, const swacl_attn_config *cfg,
                                  int n_tokens, const void *q, const void *k, const void *v,
                                  void *out);

/* ---- rolling-buffer KV cache --------------------------------------------- */

/* Device-resident cache for n_layers (each its own config) x max_seqs sequences.
 * SWA layers hold n_sink + W*D slots, full layers max_context. */
SWACL_API swacl_status swacl_cache_create(swacl_context *ctx, const swacl_cache_options *opt,
                                swacl_cache **out);
SWACL_API void         swacl_cache_destroy(swacl_cache *c);
/* exact device bytes held by the cache (constant for its lifetime) */
SWACL_API size_t       swacl_cache_device_bytes(const swacl_cache *c);
/* the device bytes a cache with these options would hold (K and V rings of every
 * layer and sequence, plus per-layer sink logits and RoPE frequencies), without
 * a device: for planning memory; equals swacl_cache_device_bytes */
SWACL_API swacl_status swacl_cache_plan_bytes(const swacl_cache_options *opt, uint64_t *bytes_out);

/* Appends n_tokens of sequence seq at layer (positions pos .. pos+n_tokens-1,
 * pos = swacl_cache_seq_pos) and writes their attention output. Device buffers
 * as in swacl_attention; asynchronous. */
SWACL_API swacl_status swacl_prefill(swacl_cache *c, int layer, int seq, int n_tokens, cl_mem q,
                           cl_mem k, cl_mem v, cl_mem out);
SWACL_API swacl_status swacl_prefill_host(swacl_cache *c, int layer, int seq, int n_tokens,
                                const void *q, const void *k, const void *v, void *out);

/* One new token for each of n_seqs distinct sequences; row r of q/k/v/out
 * belongs to seqs[r]. q, out: [n_seqs][n_heads][head_dim]. */
SWACL_API swacl_status swacl_decode(swacl_cache *c, int layer, int n_seqs, const int *seqs, cl_mem q,
                          cl_mem k, cl_mem v, cl_mem out);
SWACL_API swacl_status swacl_decode_host(swacl_cache *c, int layer, int n_seqs, const int *seqs,
                               const void *q, const void *k, const void *v, void *out);

/* Rows of a device buffer, for q/k/v/out without copies: a slice of a fused QKV
 * projection, or any strided view. offset is in bytes (a multiple of the element
 * size), row_stride in elements from one token's row to the next (0 = dense rows:
 * n_heads*head_dim for q/out, n_kv_heads*head_dim for k/v). k and v share a stride. */
typedef struct swacl_view {
    cl_mem buf;
    size_t offset;
    int    row_stride;
} swacl_view;

/* A micro-batch entry: n_tokens new tokens of sequence seq (a prompt chunk, one
 * decode token, or draft tokens to verify), at the sequence's next positions. */
typedef struct swacl_batch_entry {
    int seq;
    int n_tokens;
} swacl_batch_entry;

/* Attends a micro-batch at one layer and appends its K/V: entries' rows are laid
 * out entry after entry in q/k/v/out. All entries share one launch sequence
 * (append, attend, merge; an entry longer than the cache's max_chunk takes more
 * rounds). A sequence named twice, or a full layer overflowing, is refused and
 * nothing changes. Asynchronous on the context's queue. swacl_prefill is the
 * one-entry case and swacl_decode the one-token-per-entry case. */
SWACL_API swacl_status swacl_attend_batch(swacl_cache *c, int layer, int n_entries,
                                          const swacl_batch_entry *entries, swacl_view q,
                                          swacl_view k, swacl_view v, swacl_view out);
/* the same from host arrays (dense rows): copy in, run, copy out, wait */
SWACL_API swacl_status swacl_attend_batch_host(swacl_cache *c, int layer, int n_entries,
                                               const swacl_batch_entry *entries, const void *q,
                                               const void *k, const void *v, void *out);

/* number of tokens sequence seq holds at layer (its next position) */
SWACL_API swacl_status swacl_cache_seq_pos(const swacl_cache *c, int layer, int seq, int64_t *pos_out);
/* Keeps the first n_tokens of a sequence at every layer (rejected draft tokens, a
 * reused prompt prefix). Exact on full layers; on an SWA ring exact while the ring
 * still holds every key the next query needs: up to ring_slack + 1 tokens back
 * (any number before the ring first wraps). Further back: SWACL_ERR_UNSUPPORTED,
 * and nothing changes. n_tokens past what the sequence holds at some layer:
 * SWACL_ERR_INVALID_ARGUMENT. Host bookkeeping only: nothing is enqueued. */
SWACL_API swacl_status swacl_cache_seq_truncate(swacl_cache *c, int seq, int64_t n_tokens);
/* forgets a sequence at every layer */
SWACL_API swacl_status swacl_cache_seq_reset(swacl_cache *c, int seq);
/* copies sequence src into dst at every layer (prefix fork); src == dst is a no-op */
SWACL_API swacl_status swacl_cache_seq_copy(swacl_cache *c, int src, int dst);
/* Saves a sequence's state (every layer) into a versioned host blob.
 * With buf == NULL, *size_out receives the size needed. */
SWACL_API swacl_status swacl_cache_seq_save(swacl_cache *c, int seq, void *buf, size_t buf_size,
                                  size_t *size_out);
/* restores a blob made by swacl_cache_seq_save for a cache of the same layer
 * configs; a truncated or foreign blob is rejected and changes nothing */
SWACL_API swacl_status swacl_cache_seq_restore(swacl_cache *c, int seq, const void *buf, size_t size);

/* ---- RoPE helper ------------------------------------------------------- */

/* Rotates x [n_tokens][n_heads][head_dim] (dtype) in place, token t at
 * positions[t] (host array), rotate-half (GPT-NeoX / Hugging Face) pairing,
 * base theta (0 = 10000). Asynchronous. */
SWACL_API swacl_status swacl_rope(swacl_context *ctx, swacl_dtype dtype, int n_tokens, int n_heads,
                        int head_dim, float theta, const int32_t *positions, cl_mem x);
SWACL_API swacl_status swacl_rope_host(swacl_context *ctx, swacl_dtype dtype, int n_tokens, int n_heads,
                             int head_dim, float theta, const int32_t *positions, void *x);

/* ---- reference ---------------------------------------------------------- */

/* Naive float64 attention exactly per the semantics; same layout and dtype as
 * swacl_attention_host. Needs no device. */
SWACL_API swacl_status swacl_reference_attention(const swacl_attn_config *cfg, int n_tokens,
                                       const void *q, const void *k, const void *v, void *out);

/* fp16 <-> fp32 conversion of IEEE half bit patterns (round to nearest even) */
SWACL_API uint16_t swacl_f32_to_f16(float f);
SWACL_API float    swacl_f16_to_f32(uint16_t h);

#ifdef __cplusplus
}
#endif
#endif /* SWACL_H */
