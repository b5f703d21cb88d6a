/* internal.h — what the runtime's files share: the context, device capabilities,
 * kernel parameter sets, program building and error reporting. Not installed. */
#ifndef SWACL_INTERNAL_H
#define SWACL_INTERNAL_H

#include "swacl.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- status and errors (status.c) --------------------------------------- */

#define SWACL_ERR_MSG_MAX 8192

/* Records a formatted message as the context's last error and returns s.
 * ctx may be NULL (the message goes to the thread's create-error slot). */
swacl_status swacl_fail(swacl_context *ctx, swacl_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* name of an OpenCL error code, e.g. "CL_OUT_OF_RESOURCES" */
const char *swacl_cl_error_name(cl_int err);
/* maps an OpenCL error to a status (allocation failures -> OUT_OF_MEMORY) and records
 * "what: CL_NAME (code)" */
swacl_status swacl_fail_cl(swacl_context *ctx, cl_int err, const char *what);

/* ---- fault injection (fault.c): only in the test build (SWACL_FAULT_INJECTION) ---- */

typedef enum swacl_fault_kind {
    SWACL_FAULT_CL_ALLOC = 0, /* clCreateBuffer */
    SWACL_FAULT_ENQUEUE = 1,  /* clEnqueue* */
    SWACL_FAULT_BUILD = 2,    /* clBuildProgram / program creation */
    SWACL_FAULT_HOST_ALLOC = 3,
    SWACL_FAULT_KINDS_
} swacl_fault_kind;
#ifdef SWACL_FAULT_INJECTION
/* returns 1 when the current call of this kind must fail */
int swacl_fault_hit(swacl_fault_kind kind);
/* Tests: make the n-th call of `kind` from now fail (n <= 0: none) and reset every
 * counter; returns 0 when fault injection is not compiled in. */
int swacl_fault_arm(int kind, long n);
/* calls of `kind` since the last arm (to size a sweep over every fault point) */
long swacl_fault_count(int kind);
#else
/* the installed library has no hooks: every check folds away */
static inline int swacl_fault_hit(swacl_fault_kind kind)
{
    (void)kind;
    return 0;
}
#endif

/* host allocation with fault injection */
void *swacl_malloc(size_t n);
void *swacl_calloc(size_t n, size_t size);

/* ---- devices (device.c) ---------------------------------------------------- */

typedef enum swacl_devtype { SWACL_DEV_GPU, SWACL_DEV_CPU, SWACL_DEV_ACCEL, SWACL_DEV_OTHER } swacl_devtype;

typedef struct swacl_caps {
    cl_platform_id platform;
    cl_device_id device;
    int platform_index, device_index;
    swacl_devtype type;
    char platform_name[128], platform_version[128], vendor[128], name[128];
    char device_version[128], driver_version[128];
    int has_fp16, has_fp64, has_fma, has_subgroups, local_mem_is_global;
    int compute_units, max_wg_size;
    int vec_width; /* CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT: floats per SIMD register */
    uint64_t local_mem, global_mem, max_alloc;
} swacl_caps;

/* Probes every device; *out is malloc'd (free with free()). */
swacl_status swacl_devices_probe(swacl_caps **out, int *n);
/* fills the public description of a device (params included) */
void swacl_caps_to_info(const swacl_caps *c, swacl_device_info *o);
/* Capabilities of a device the caller already has (swacl_context_create_cl). */
swacl_status swacl_device_describe(cl_device_id dev, swacl_caps *out, char *msg, size_t msg_size);
/* Picks a device by selector (NULL/"" = default); message lists devices on failure. */
swacl_status swacl_device_select(const char *selector, swacl_caps *out, char *msg, size_t msg_size);

/* ---- per-device kernel parameters (params.c) ---------------------------------- */

typedef struct swacl_params {
    const char *name;  /* table entry that matched, e.g. "cpu", "gpu-nvidia" */
    int tiled;         /* 1 = prefill and decode by attend_tiled, the cooperative
                          work-group kernel (GPUs) */
    int block_m;       /* rows per work-group: queries per head (attend), or
                          (query, head) pairs (attend_tiled) */
    int block_n;       /* keys per tile */
    int rows_per_item; /* attend: query heads per work-item (1, 2 or 4), shrunk to
                          divide G; every K/V load then serves that many rows */
    int wg_m, wg_n;    /* attend_tiled: work-items along rows and along keys/columns */
    int decode_wg;     /* attend_tiled with fewer rows than wg_m (decode): work-items per
                          work-group, moved to keys; 0 = wg_m x wg_n */
    int score_unroll;  /* attend_tiled: unroll factor of S's head_dim loop, 0 = whole */
    int native_trig;   /* 1 = RoPE angles reduced in-kernel, then native sin/cos */
    int contiguous;    /* 1 = a work-item stages a contiguous run of each tile (CPUs) */
    int vec;           /* vector width of head_dim and key loops (4, 8 or 16) */
    int poly_exp2;     /* 1 = softmax exp2 by vector polynomial (CPUs) */
    int transpose_rows;/* stage K transposed when a work-group has at least this many rows */
    int direct_kv;     /* 1 = below transpose_rows, read K/V from global memory unstaged */
    int decode_keys_per_split; /* flash-decoding: keys per split before splitting further */
    int max_chunk;     /* default tokens per prefill launch */
    int stream_decode; /* 1 = decode by attend_decode: a work-item per kv head streams
                          its keys for all the head's queries (CPUs) */
    int decode_block_n;/* keys per tile of attend_decode; 0 = block_n */
} swacl_params;

/* table lookup with vendor -> type -> device-name fallbacks, then $SWACL_PARAMS
 * overrides ("set=gpu-nvidia,block_n=16,..."). */
swacl_params swacl_params_for(const swacl_caps *caps);
/* the table's set of that name, or NULL */
const swacl_params *swacl_params_named(const char *name);
void swacl_params_describe(const swacl_params *p, char *buf, size_t n);
/* "NAME[,key=value...]": the named set refined as $SWACL_PARAMS would; 0 if no
   set has that name */
int swacl_params_spec(const char *spec, swacl_params *out);

/* ---- program building (program.c) ---------------------------------------------- */

typedef struct swacl_program_entry swacl_program_entry;

/* source text of cl/<name> (embedded, or from $SWACL_KERNEL_DIR) */
swacl_status swacl_kernel_source(swacl_context *ctx, const char *name, char **text, size_t *size);
/* the exact text built for cl/<file>: common.h.cl, then the file (free() it) */
swacl_status swacl_program_source(swacl_context *ctx, const char *file, char **text,
                                  size_t *size);
/* Builds (or fetches from the in-memory and on-disk caches) cl/<file> with the options
 * and creates kernel <kernel>. The kernel is owned by the context: do not release. */
swacl_status swacl_get_kernel(swacl_context *ctx, const char *file, const char *options,
                              const char *kernel_name, cl_kernel *out);
void swacl_programs_release(swacl_context *ctx);

#define SWACL_MAX_EVENTS 256

/* scratch slots of a context */
enum { SCRATCH_Q, SCRATCH_K, SCRATCH_V, SCRATCH_OUT, SCRATCH_PARTIAL, SCRATCH_SLOTS_ };


/* ---- the context ------------------------------------------------------------- */

struct swacl_context {
    swacl_caps caps;
    swacl_params params;
    cl_context cl_ctx;
    cl_command_queue queue;
    int profiling;
    char *cache_dir;       /* NULL = on-disk cache off */
    swacl_program_entry *programs; /* in-memory program cache (list) */
    double prof_ms;
    int prof_kernels;
    cl_event events[SWACL_MAX_EVENTS]; /* kernel events not yet summed */
    int n_events;
    cl_event last_event;   /* the last command swacl enqueued (retained), or NULL */
    int borrowed;          /* context and queue are the caller's (swacl_context_create_cl) */
    /* scratch device buffers reused across calls (grown on demand) */
    cl_mem scratch[SCRATCH_SLOTS_];
    size_t scratch_size[SCRATCH_SLOTS_];
    char err[SWACL_ERR_MSG_MAX];
};

/* Enqueues a kernel with the context's fault injection and profiling. */
swacl_status swacl_enqueue(swacl_context *ctx, cl_kernel k, cl_uint dims, const size_t *global,
                           const size_t *local, const char *what);
/* clCreateBuffer with fault injection; reports OUT_OF_MEMORY cleanly */
swacl_status swacl_buffer(swacl_context *ctx, cl_mem_flags flags, size_t size, void *host,
                          cl_mem *out, const char *what);
/* scratch buffer `slot` of at least size bytes, owned by the context */
swacl_status swacl_scratch(swacl_context *ctx, int slot, size_t size, cl_mem *out);
/* INVALID_ARGUMENT unless buf is a buffer of at least need bytes */
swacl_status swacl_check_buffer(swacl_context *ctx, cl_mem buf, size_t need, const char *fn,
                                const char *name);
/* blocking write: only for calls that wait anyway (_host variants, cache restore) */
swacl_status swacl_write(swacl_context *ctx, cl_mem buf, size_t offset, size_t size,
                         const void *src, const char *what);
/* a new read-only buffer holding a copy of host[0..size): per-call data (batch info,
   positions) that needs no write on the queue. The caller releases it once the commands
   that use it are enqueued; OpenCL keeps it alive until they complete. */
swacl_status swacl_upload(swacl_context *ctx, size_t size, const void *host, cl_mem *out,
                          const char *what);
/* zeroes [offset, offset + size) of buf without waiting */
swacl_status swacl_zero(swacl_context *ctx, cl_mem buf, size_t offset, size_t size,
                        const char *what);
swacl_status swacl_read(swacl_context *ctx, cl_mem buf, size_t offset, size_t size, void *dst,
                        const char *what);

/* ---- attention (attention.c) ---------------------------------------------------- */

/* Validates a layer config; writes a reason into msg. */
swacl_status swacl_config_check(const swacl_attn_config *cfg, char *msg, size_t msg_size);
size_t swacl_dtype_size(swacl_dtype t);

/* The band of §1 as the kernels take it: key j is visible to query i iff
 * j < n_sink or (i - win_left <= j <= i + win_right and (i - j) % dil == 0). */
typedef struct swacl_band {
    int win_left, win_right, dil;
} swacl_band;
#define SWACL_REACH_ALL (1 << 30) /* "unbounded" reach: full attention */
swacl_band swacl_band_of(const swacl_attn_config *cfg);
/* vector width for head_dim loops: the parameter's, halved until it divides
 * head_dim (and head_dim / 2 when keys are turned by RoPE in-kernel) */
int swacl_vec_width(const swacl_params *p, int head_dim, int rope);
/* "-cl-std=CL1.2 -DHEAD_DIM=... -DVEC=... -DIO_HALF=... ..." shared by every kernel */
void swacl_base_options(const swacl_caps *caps, const swacl_params *p, int head_dim, int vec,
                        swacl_dtype io, swacl_dtype kv, char *buf, size_t n);

/* ---- launch planning (plan.c): pure functions of device, parameters and shape ---- */

/* what one attention launch must compute */
typedef struct swacl_attend_shape {
    int n_heads, n_kv_heads, head_dim;
    int n_rows;        /* queries per batch entry */
    int n_batch;       /* batch entries */
    long reach;        /* keys one query's band can reach (sizes decode splits) */
    int rope, softcap, sink_logits, dilated, has_ring;
    int dil;           /* dilated: the dilation (attend groups its rows by residue) */
    swacl_dtype io, kv;
} swacl_attend_shape;

/* how to launch it: kernel, build options, work sizes, splits */
typedef struct swacl_attend_plan {
    const char *kernel;  /* "attend", "attend_decode" or "attend_tiled" */
    char options[640];   /* build options of attend.cl */
    int block_m, block_n, vec;
    int n_split;         /* > 1: partials merged by attend_merge */
    int appends;         /* the kernel also writes the new K/V into the ring */
    size_t global[3], local[3];
    size_t merge_global[3], merge_local[3];
    size_t local_bytes;  /* local memory of attend_tiled's tiles */
} swacl_attend_plan;

/* Plans a launch; UNSUPPORTED (reason in msg) when the device cannot run it. */
swacl_status swacl_plan_attend(const swacl_caps *caps, const swacl_params *p,
                               const swacl_attend_shape *shape, swacl_attend_plan *plan,
                               char *msg, size_t msg_size);
/* Device capabilities a parameter set is meant for (a typical device of its
 * kind), for planning without that device; 0 if the set is unknown. */
int swacl_nominal_caps(const char *set, swacl_caps *out);
/* Calls emit(file, kernel, options) once for each distinct build of every kernel
 * the parameter set can select, over head dims 64, 80, 128 and 256, fp32 and
 * fp16 I/O and KV, and each feature flag; -1 if the set is unknown. set is
 * "NAME[,key=value...]" (swacl_params_spec), planned for NAME's nominal device. */
int swacl_kernel_variants(const char *set,
                          void (*emit)(const char *file, const char *kernel,
                                       const char *options, void *user),
                          void *user);

/* RoPE frequencies theta^(-2d/head_dim), d < head_dim/2, rounded to float */
void swacl_rope_inv_freq(float theta, int head_dim, float *out);

/* everything one launch of the attend kernel (cl/attend.cl) needs */
/* where q, k, v and out rows sit in their buffers: element offsets and row strides in
   elements (0 = dense rows); k and v share a stride */
typedef struct swacl_io_views {
    cl_long q_off, k_off, v_off, out_off;
    int q_stride, kv_stride, out_stride;
} swacl_io_views;

typedef struct swacl_attend_job {
    const swacl_attn_config *cfg;
    int n_rows;        /* queries per batch entry (prefill: chunk length; decode: 1) */
    int n_batch;       /* batch entries (decode: sequences) */
    int max_pos;       /* largest query position in the job (sizes decode splits) */
    cl_mem q, k, v, out; /* token-major; entry b's rows start at its row0 */
    swacl_io_views views;
    cl_mem batch_info; /* int [..][4]: ring_seq (index in the ring buffer), pos0, row0,
                          n_rows (each entry's; the job's n_rows is the largest) */
    int info0;         /* the job's first entry in batch_info */
    cl_mem ring_k, ring_v; /* [slots][n_kv][hd] of kv_dtype, or NULL (one-shot) */
    int ring_span;     /* rolling slots after the sinks (W*D, or max_context) */
    cl_mem sink_logits;/* n_heads floats, or NULL */
    cl_mem inv_freq;   /* RoPE in cache: head_dim/2 frequencies, else NULL */
} swacl_attend_job;
/* launches attention for a job; *appended is set to 1 when the kernel also wrote
   the job's K/V rows into the ring (streaming decode), so no append launch is due */
swacl_status swacl_attend(swacl_context *ctx, const swacl_attend_job *job, int *appended);
/* host variants: copies q, k, v into the context's scratch buffers, and gives a
 * scratch buffer for out of qbytes */
swacl_status swacl_upload_qkv(swacl_context *ctx, size_t qbytes, size_t kvbytes, const void *q,
                              const void *k, const void *v, cl_mem *dq, cl_mem *dk, cl_mem *dv,
                              cl_mem *dout);

#endif /* SWACL_INTERNAL_H */
