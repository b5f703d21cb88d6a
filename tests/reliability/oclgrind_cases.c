/* oclgrind_cases.c — every kernel (attend, attend_decode, attend_tiled,
 * attend_merge, append, rope) in every
 * variant once on tiny shapes, checked against the reference.
 *
 * Made to run under oclgrind (oclgrind_check.sh), which sees out-of-bounds
 * accesses, races and uninitialized reads that a CPU device hides. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "internal.h"           /* swacl_fault_count: programs built = variants */
#include "relutil.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kernels this driver launches. oclgrind_check.sh fails when cl/ defines a
 * kernel missing here, so a new kernel cannot skip the checks. */
static const char *const kernels_covered =
    "attend attend_decode attend_tiled attend_merge append rope";

typedef enum run_kind { ONESHOT, CACHE, ROPE } run_kind;

typedef struct ocl_case {
    const char *name;
    run_kind kind;
    swacl_attn_config cfg; /* ROPE: n_heads, head_dim and dtype */
    int sink_logits;       /* 1 = a random learned sink logit per query head */
    int n;         /* tokens (ONESHOT, ROPE), or prefill tokens of sequence 0 (CACHE) */
    int max_chunk; /* CACHE: tokens per prefill launch */
    int n_decode;  /* CACHE: batched decode steps of both sequences */
} ocl_case;

/* Tiny shapes: every launch is interpreted instruction by instruction. Chunks
 * shorter than the prefill, prefills longer than the ring and decodes past
 * its end make appends wrap and attends read ring and fresh keys together. */
static const ocl_case cases[] = {
    {.name = "causal window", .kind = ONESHOT,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 3}, .n = 7},
    {.name = "full causal", .kind = ONESHOT,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32}, .n = 6},
    {.name = "window + sinks", .kind = ONESHOT,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 2, .n_sink = 2}, .n = 7},
    {.name = "softcap", .kind = ONESHOT,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 4, .softcap = 0.5f}, .n = 6},
    {.name = "sink logits", .kind = ONESHOT,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 3}, .sink_logits = 1, .n = 6},
    {.name = "dilation", .kind = ONESHOT,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 2, .dilation = 3}, .n = 8},
    {.name = "bidirectional", .kind = ONESHOT,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32,
             .window = 2, .n_sink = 1, .bidirectional = 1},
     .n = 6},
    {.name = "fp16 io", .kind = ONESHOT,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32,
             .window = 3, .dtype = SWACL_F16, .kv_dtype = SWACL_F16},
     .n = 6},
    {.name = "gqa 4/2 hd 40", .kind = ONESHOT,
     .cfg = {.n_heads = 4, .n_kv_heads = 2, .head_dim = 40, .window = 3, .n_sink = 1}, .n = 5},
    {.name = "ring f32", .kind = CACHE,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 4, .n_sink = 1}, .n = 9,
     .max_chunk = 4, .n_decode = 3},
    {.name = "ring fp16 kv", .kind = CACHE,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32,
             .window = 4, .n_sink = 1, .kv_dtype = SWACL_F16},
     .n = 9, .max_chunk = 4, .n_decode = 3},
    {.name = "ring fp16 io", .kind = CACHE,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32,
             .window = 3, .dtype = SWACL_F16, .kv_dtype = SWACL_F16},
     .n = 7, .max_chunk = 3, .n_decode = 3},
    {.name = "ring softcap + sink logits", .kind = CACHE,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 4, .softcap = 0.5f},
     .sink_logits = 1, .n = 6, .max_chunk = 4, .n_decode = 3},
    {.name = "ring dilation", .kind = CACHE,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .window = 2, .dilation = 2}, .n = 7,
     .max_chunk = 3, .n_decode = 3},
    {.name = "ring rope in cache", .kind = CACHE,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32,
             .window = 4, .n_sink = 1, .rope = SWACL_ROPE_IN_CACHE},
     .n = 8, .max_chunk = 3, .n_decode = 3},
    {.name = "full layer", .kind = CACHE,
     .cfg = {.n_heads = 2, .n_kv_heads = 1, .head_dim = 32, .kv_dtype = SWACL_F16}, .n = 6,
     .max_chunk = 4, .n_decode = 3},
    {.name = "rope f32", .kind = ROPE, .cfg = {.n_heads = 2, .head_dim = 32}, .n = 3},
    {.name = "rope f16", .kind = ROPE,
     .cfg = {.n_heads = 2, .head_dim = 32, .dtype = SWACL_F16, .kv_dtype = SWACL_F16}, .n = 3},
};

/* Kernel parameter sets: the device's own (decode by the general kernel), the
 * GPU set's attend_tiled with small work-groups (several row blocks and key
 * tiles per launch), a CPU-style one with small tiles and PoCL's own (16-wide
 * vectors), both decoding with the streaming kernel. All split decode windows
 * after two keys, so every decode also runs the merge kernel. */
typedef struct param_set {
    const char *spec; /* $SWACL_PARAMS */
    int vec16;        /* 16-wide vectors: oclgrind's uninitialized-value tracking
                         misreads their .lo/.hi halves passed to built-ins */
    int stream;       /* decode by attend_decode, which appends itself */
} param_set;
static const param_set param_sets[] = {
    {"split_keys=2,stream_decode=0", 0, 0},
    {"set=gpu-nvidia,block_m=8,block_n=8,wg_m=4,wg_n=4,split_keys=2", 0, 0},
    {"block_m=4,block_n=16,contiguous=1,vec=8,poly_exp2=1,split_keys=2,stream_decode=1", 0, 1},
    {"contiguous=1,vec=16,poly_exp2=1,split_keys=2,stream_decode=1", 1, 1},
};
#define N_PARAM_SETS (sizeof param_sets / sizeof param_sets[0])
#define N_CASES (sizeof cases / sizeof cases[0])

typedef struct run_stats {
    int launches;        /* kernel launches */
    int merged_decodes;  /* decode calls that launched the merge kernel too */
    int merged_launches; /* launches of such a call: attend, merge, append; or
                            attend_decode (appending itself) and merge */
} run_stats;

static int launches_since_last(swacl_context *ctx)
{
    swacl_profile p;
    if (swacl_profile_read(ctx, &p) != SWACL_OK)
        return -1;
    return p.n_kernels;
}

static int compare(const void *got, const void *want, size_t n, swacl_dtype io, swacl_dtype kv,
                   const char *what)
{
    return tu_compare(got, want, n, io, tu_tolerance(io, kv), what).n_bad == 0;
}

static int run_oneshot(swacl_context *ctx, const ocl_case *c, tu_rng *rng, run_stats *st)
{
    float logits[TU_MAX_HEADS];
    const swacl_attn_config cfg = tu_config_of(&c->cfg, c->sink_logits, logits, rng);
    const size_t es = swacl_dtype_size(c->cfg.dtype);
    const size_t nq = (size_t)c->n * c->cfg.n_heads * c->cfg.head_dim;
    const size_t nkv = (size_t)c->n * c->cfg.n_kv_heads * c->cfg.head_dim;
    void *q = malloc(nq * es), *k = malloc(nkv * es), *v = malloc(nkv * es);
    void *ref = malloc(nq * es), *out = tu_alloc_guarded(nq * es);
    tu_fill(rng, q, nq, c->cfg.dtype);
    tu_fill(rng, k, nkv, c->cfg.dtype);
    tu_fill(rng, v, nkv, c->cfg.dtype);
    int ok = swacl_reference_attention(&cfg, c->n, q, k, v, ref) == SWACL_OK;
    const swacl_status s = swacl_attention_host(ctx, &cfg, c->n, q, k, v, out);
    if (s != SWACL_OK) {
        printf("  %s: %s: %s\n", c->name, swacl_status_string(s), swacl_last_error(ctx));
        ok = 0;
    } else {
        ok &= compare(out, ref, nq, c->cfg.dtype, c->cfg.dtype, c->name);
        ok &= tu_canary_intact(out, nq * es, c->name);
    }
    st->launches += launches_since_last(ctx);
    free(q);
    free(k);
    free(v);
    free(ref);
    free(out);
    return ok;
}

/* Sequence 0 gets c->n tokens and sequence 1 three fewer, both in chunks of
 * c->max_chunk; then both decode c->n_decode tokens in one batch, listed in
 * reverse order so batch rows and sequence numbers differ. */
static int run_cache(swacl_context *ctx, const ocl_case *c, tu_rng *rng, run_stats *st)
{
    float logits[TU_MAX_HEADS];
    const swacl_attn_config cfg = tu_config_of(&c->cfg, c->sink_logits, logits, rng);
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    opt.n_layers = 1;
    opt.layers = &cfg;
    opt.max_seqs = 2;
    opt.max_context = 16;
    opt.max_chunk = c->max_chunk;
    swacl_cache *cache = NULL;
    swacl_status s = swacl_cache_create(ctx, &opt, &cache);
    if (s != SWACL_OK) {
        printf("  %s: cache: %s: %s\n", c->name, swacl_status_string(s), swacl_last_error(ctx));
        return 0;
    }
    const size_t es = swacl_dtype_size(c->cfg.dtype);
    const size_t q_row = (size_t)c->cfg.n_heads * c->cfg.head_dim, kv_row = (size_t)c->cfg.n_kv_heads * c->cfg.head_dim;
    const int n_max = c->n;
    void *q = malloc((size_t)n_max * q_row * es), *k = malloc((size_t)n_max * kv_row * es);
    void *v = malloc((size_t)n_max * kv_row * es), *out = tu_alloc_guarded((size_t)n_max * q_row * es);
    void *want = malloc(q_row * es);
    rel_history hist[2];
    int ok = 1;
    char what[160];

    for (int seq = 0; seq < 2 && ok; seq++) {
        const int n = seq == 0 ? c->n : (c->n > 3 ? c->n - 3 : 1);
        tu_fill(rng, q, (size_t)n * q_row, c->cfg.dtype);
        tu_fill(rng, k, (size_t)n * kv_row, c->cfg.dtype);
        tu_fill(rng, v, (size_t)n * kv_row, c->cfg.dtype);
        rel_history_init(&hist[seq], &cfg);
        memset(out, TU_CANARY_BYTE, (size_t)n * q_row * es + TU_CANARY_BYTES);
        s = swacl_prefill_host(cache, 0, seq, n, q, k, v, out);
        if (s != SWACL_OK) {
            printf("  %s: prefill: %s: %s\n", c->name, swacl_status_string(s), swacl_last_error(ctx));
            ok = 0;
            break;
        }
        for (int t = 0; t < n; t++) {
            rel_history_set(&hist[seq], t, (char *)k + t * kv_row * es, (char *)v + t * kv_row * es);
            snprintf(what, sizeof what, "%s: prefill seq %d token %d", c->name, seq, t);
            ok &= rel_expected_row(&cfg, &hist[seq], (char *)q + t * q_row * es, want) == SWACL_OK;
            ok &= compare((char *)out + t * q_row * es, want, q_row, c->cfg.dtype, c->cfg.kv_dtype, what);
        }
        ok &= tu_canary_intact(out, (size_t)n * q_row * es, c->name);
    }
    st->launches += launches_since_last(ctx);

    const int seqs[2] = {1, 0};
    for (int step = 0; step < c->n_decode && ok; step++) {
        tu_fill(rng, q, 2 * q_row, c->cfg.dtype);
        tu_fill(rng, k, 2 * kv_row, c->cfg.dtype);
        tu_fill(rng, v, 2 * kv_row, c->cfg.dtype);
        memset(out, TU_CANARY_BYTE, 2 * q_row * es + TU_CANARY_BYTES);
        s = swacl_decode_host(cache, 0, 2, seqs, q, k, v, out);
        const int launched = launches_since_last(ctx);
        st->launches += launched;
        st->merged_decodes += launched >= st->merged_launches;
        if (s != SWACL_OK) {
            printf("  %s: decode: %s: %s\n", c->name, swacl_status_string(s), swacl_last_error(ctx));
            ok = 0;
            break;
        }
        for (int r = 0; r < 2; r++) {
            rel_history *h = &hist[seqs[r]];
            rel_history_set(h, h->len, (char *)k + r * kv_row * es, (char *)v + r * kv_row * es);
            snprintf(what, sizeof what, "%s: decode step %d seq %d", c->name, step, seqs[r]);
            ok &= rel_expected_row(&cfg, h, (char *)q + r * q_row * es, want) == SWACL_OK;
            ok &= compare((char *)out + r * q_row * es, want, q_row, c->cfg.dtype, c->cfg.kv_dtype, what);
        }
        ok &= tu_canary_intact(out, 2 * q_row * es, c->name);
    }
    for (int seq = 0; seq < 2; seq++)
        rel_history_free(&hist[seq]);
    swacl_cache_destroy(cache);
    free(q);
    free(k);
    free(v);
    free(out);
    free(want);
    return ok;
}

static int run_rope(swacl_context *ctx, const ocl_case *c, tu_rng *rng, run_stats *st)
{
    static const int32_t positions[] = {0, 5, 1000};
    const size_t es = swacl_dtype_size(c->cfg.dtype);
    const size_t n = (size_t)c->n * c->cfg.n_heads * c->cfg.head_dim;
    void *x = tu_alloc_guarded(n * es), *want = malloc(n * es);
    tu_fill(rng, x, n, c->cfg.dtype);
    float *expected = tu_widen(x, n, c->cfg.dtype);
    for (int t = 0; t < c->n; t++)
        tu_rope_row(expected + (size_t)t * c->cfg.n_heads * c->cfg.head_dim, c->cfg.n_heads,
                    c->cfg.head_dim, 0.0f, positions[t]);
    tu_narrow(expected, n, c->cfg.dtype, want);
    free(expected);
    int ok = 1;
    const swacl_status s =
        swacl_rope_host(ctx, c->cfg.dtype, c->n, c->cfg.n_heads, c->cfg.head_dim, 0.0f, positions, x);
    if (s != SWACL_OK) {
        printf("  %s: %s: %s\n", c->name, swacl_status_string(s), swacl_last_error(ctx));
        ok = 0;
    } else {
        ok &= compare(x, want, n, c->cfg.dtype, c->cfg.dtype, c->name);
        ok &= tu_canary_intact(x, n * es, c->name);
    }
    st->launches += launches_since_last(ctx);
    free(x);
    free(want);
    return ok;
}

/* A kernel with one out-of-bounds write, a write-write race and a read of
 * uninitialized local memory, launched with plain OpenCL: oclgrind_check.sh
 * makes sure oclgrind reports each, so the checks cannot pass blind. */
static int run_known_bad(void)
{
    static const char *src =
        "__kernel void known_bad(__global float *out) {\n"
        "    __local float never_written[16];\n"
        "    const int i = get_local_id(0);\n"
        "    out[0] = (float)i;               /* race */\n"
        "    out[1 + i] = never_written[i];   /* uninitialized */\n"
        "    if (i == 0) out[17] = 1.0f;      /* one past the end */\n"
        "}\n";
    cl_platform_id platform;
    cl_device_id device;
    cl_int err;
    if (clGetPlatformIDs(1, &platform, NULL) != CL_SUCCESS ||
        clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL) != CL_SUCCESS)
        return 1;
    cl_context cl = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    cl_command_queue queue = clCreateCommandQueue(cl, device, 0, &err);
    cl_program prog = clCreateProgramWithSource(cl, 1, &src, NULL, &err);
    if (clBuildProgram(prog, 1, &device, "", NULL, NULL) != CL_SUCCESS)
        return 1;
    cl_kernel kern = clCreateKernel(prog, "known_bad", &err);
    cl_mem out = clCreateBuffer(cl, CL_MEM_READ_WRITE, 17 * sizeof(float), NULL, &err);
    const size_t global = 16, local = 16;
    clSetKernelArg(kern, 0, sizeof out, &out);
    err = clEnqueueNDRangeKernel(queue, kern, 1, NULL, &global, &local, 0, NULL, NULL);
    clFinish(queue);
    clReleaseMemObject(out);
    clReleaseKernel(kern);
    clReleaseProgram(prog);
    clReleaseCommandQueue(queue);
    clReleaseContext(cl);
    printf("known-bad kernel launched (%d)\n", (int)err);
    return err != CL_SUCCESS;
}

static int usage(void)
{
    fprintf(stderr, "usage: rel_oclgrind_cases [--list] [--no-vec16] [--known-bad] [LABEL]\n"
                    "  LABEL  run only the case \"[params] name\" (as --list prints it)\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    int list = 0, no_vec16 = 0;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--list"))
            list = 1;
        else if (!strcmp(argv[a], "--no-vec16"))
            no_vec16 = 1;
        else if (!strcmp(argv[a], "--known-bad"))
            return run_known_bad();
        else if (argv[a][0] == '-' || only)
            return usage();
        else
            only = argv[a];
    }

    int failed = 0, runs = 0;
    run_stats st = {0, 0, 3};
    swacl_fault_arm(SWACL_FAULT_KINDS_, 0); /* zero the counters; no fault */
    for (size_t p = 0; p < N_PARAM_SETS; p++) {
        if (no_vec16 && param_sets[p].vec16)
            continue;
        char labels[N_CASES][200];
        int n_selected = 0;
        for (size_t i = 0; i < N_CASES; i++) {
            snprintf(labels[i], sizeof labels[i], "[%s] %s", param_sets[p].spec, cases[i].name);
            if (list)
                printf("%s\n", labels[i]);
            n_selected += !only || !strcmp(only, labels[i]);
        }
        if (list || n_selected == 0)
            continue;

        setenv("SWACL_PARAMS", param_sets[p].spec, 1);
        swacl_context_options opt;
        memset(&opt, 0, sizeof opt);
        opt.profiling = 1;
        swacl_context *ctx = NULL;
        const swacl_status s = swacl_context_create(&opt, &ctx);
        if (s != SWACL_OK) {
            printf("context: %s: %s\n", swacl_status_string(s), swacl_last_error(NULL));
            return 1;
        }
        swacl_device_info info;
        swacl_context_device_info(ctx, &info);
        printf("device: %s (%s), params %s\n", info.name, info.platform, info.params_detail);
        const int merged_before = st.merged_decodes;
        st.merged_launches = param_sets[p].stream ? 2 : 3;
        for (size_t i = 0; i < N_CASES; i++) {
            const ocl_case *c = &cases[i];
            if (only && strcmp(only, labels[i]))
                continue;
            tu_rng rng = tu_rng_seed(1000 * p + i); /* the same data alone or in a full run */
            const int ok = c->kind == ONESHOT ? run_oneshot(ctx, c, &rng, &st)
                         : c->kind == CACHE   ? run_cache(ctx, c, &rng, &st)
                                              : run_rope(ctx, c, &rng, &st);
            printf("%s %s\n", ok ? "ok  " : "FAIL", labels[i]);
            fflush(stdout);
            failed += !ok;
            runs++;
        }
        if (!only && st.merged_decodes == merged_before) {
            printf("FAIL [%s] no decode split its window: the merge kernel never ran\n",
                   param_sets[p].spec);
            failed++;
        }
        swacl_context_destroy(ctx);
    }
    if (list)
        return 0;
    if (runs == 0) {
        printf("no case is labelled \"%s\" (see --list)\n", only ? only : "");
        return 1;
    }
    printf("kernels covered: %s\n", kernels_covered);
    printf("summary: %d case runs, %d failed; %ld programs built (kernel file x variant "
           "defines), %d kernel launches, %d decodes through the merge kernel\n",
           runs, failed, swacl_fault_count(SWACL_FAULT_BUILD), st.launches, st.merged_decodes);
    return failed ? 1 : 0;
}
