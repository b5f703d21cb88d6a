/* params.c — per-device kernel parameters: one table of named sets, matched
 * vendor -> device type -> device name with a fallback at each level, then
 * overridden by $SWACL_PARAMS: "set=gpu-nvidia" names a whole set, and further
 * "key=value" pairs change values within it (e.g. "set=gpu-nvidia,block_n=16"). */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct params_row {
    swacl_devtype type;
    const char *vendor; /* case-sensitive substring of CL_DEVICE_VENDOR, NULL = any */
    const char *device; /* case-sensitive substring of CL_DEVICE_NAME, NULL = any */
    const char *platform; /* exact CL_PLATFORM_NAME, NULL = any */
    swacl_params p;
} params_row;

/* CPU sets: PoCL runs a work-group's work-items one after another and streams
 * fastest when each walks its own contiguous range (interleaved access measured
 * 2-8x slower there), so tiles are staged in contiguous runs; 16-wide vectors
 * suit AVX-512 (attend narrows them to the device's SIMD width, plan.c); the
 * polynomial exp2 replaced a lane-by-lane built-in that took most of the
 * laptop-shape prefill time. attend's work-items take four query heads each
 * (rows_per_item) in tiles of 64 keys and up to 128 queries (plan.c sizes the
 * query blocks by the window): on 2 EPYC vCPUs (AVX2), four alternating rounds
 * of 64 x 64 against 32 x 32 ran Mistral-shape prefill 1.22x and chunked
 * prefill 1.1-1.2x faster, the laptop shape within noise. CPUs decode with
 * attend_decode, one work-item per kv head converting each cached row once for
 * all its query heads, in tiles of 16 keys (3-20% faster than 32 on PoCL in
 * side-by-side runs).
 * GPU sets: attend_tiled, work-groups of wg_m x wg_n work-items cooperating on
 * block_m rows x block_n keys (plan.c shrinks the tiles to the device's local
 * memory and work-group size). Each value is the one with no spill, scratch or
 * stack on the vendors' compilers for every variant (tests/gpu_static.sh;
 * docs/gpu.md gives the figures and the values rejected): 2 x 2 patches of S,
 * Intel's tiles smaller for its 128 GRFs, score_unroll per vendor, native_trig
 * where full-range sincos needs private memory (Intel's IGC, NVIDIA's driver).
 * NVIDIA's values are the fastest of the variants timed on an H200
 * (docs/devices/nvidia-h200.md); the others are not yet timed on a GPU. */
#define CPU_SET(set_name)                                                                      \
    {                                                                                          \
        .name = set_name, .block_m = 128, .block_n = 64, .rows_per_item = 4, .contiguous = 1,  \
        .vec = 16, .poly_exp2 = 1, .transpose_rows = 16, .direct_kv = 1,                       \
        .decode_keys_per_split = 512, .max_chunk = 1024, .stream_decode = 1,                   \
        .decode_block_n = 16                                                                   \
    }
#define GPU_SET(set_name, bm, bn, wm, wn, unroll, trig, chunk)                                 \
    .name = set_name, .tiled = 1, .block_m = bm, .block_n = bn, .wg_m = wm, .wg_n = wn,        \
    .score_unroll = unroll, .native_trig = trig, .vec = 4, .transpose_rows = 1,                \
    .max_chunk = chunk

/* first match wins: specific rows before their fallbacks */
static const params_row params_table[] = {
    {.type = SWACL_DEV_CPU, .p = CPU_SET("cpu")},
    /* NVIDIA: measured on an H200 (docs/devices/nvidia-h200.md): 8 x 16 work-items with
       4 x 2 patches of S beat 16 x 16 with 2 x 2 by 1.2-1.4x in prefill; decode keeps 256
       work-items; native trig, since the full-range sin/cos put 32-48 bytes per work-item
       in private memory on NVIDIA's compiler. NVIDIA's own driver only: LLVM-based drivers
       on NVIDIA GPUs (PoCL's CUDA device, rusticl) spill these tiles (tests/gpu_static.sh
       compiles the way they do) and take the generic set */
    {.type = SWACL_DEV_GPU, .vendor = "NVIDIA", .platform = "NVIDIA CUDA",
     .p = {GPU_SET("gpu-nvidia", 32, 32, 8, 16, 2, 1, 2048), .decode_wg = 256,
           .decode_keys_per_split = 128}},
    {.type = SWACL_DEV_GPU, .vendor = "Advanced Micro Devices",
     .p = {GPU_SET("gpu-amd", 32, 32, 16, 16, 4, 0, 2048), .decode_keys_per_split = 256}},
    {.type = SWACL_DEV_GPU, .vendor = "Intel",
     .p = {GPU_SET("gpu-intel", 16, 16, 16, 16, 2, 1, 1024), .decode_keys_per_split = 256}},
    {.type = SWACL_DEV_GPU,
     .p = {GPU_SET("gpu", 16, 16, 16, 16, 2, 0, 1024), .decode_keys_per_split = 256}},
    {.type = SWACL_DEV_OTHER,
     .p = {.name = "generic", .block_m = 8, .block_n = 16, .contiguous = 1, .vec = 4,
           .poly_exp2 = 1, .transpose_rows = 16, .direct_kv = 1, .decode_keys_per_split = 256,
           .max_chunk = 512, .stream_decode = 1, .decode_block_n = 16}},
};
#define N_ROWS (sizeof params_table / sizeof params_table[0])

const swacl_params *swacl_params_named(const char *name)
{
    for (size_t r = 0; r < N_ROWS; r++)
        if (!strcmp(params_table[r].p.name, name))
            return &params_table[r].p;
    return NULL;
}

/* one "key=value" of an override; unknown keys and out-of-range values are
   ignored, so a typo leaves the device's own value */
static void apply_key(swacl_params *p, const char *key, long val)
{
    if (val < 0 || val > 65536)
        return;
    const int v = (int)val;
    if (!strcmp(key, "block_m") && v >= 1)
        p->block_m = v;
    else if (!strcmp(key, "block_n") && v >= 1)
        p->block_n = v;
    else if (!strcmp(key, "rows_per_item") && (v == 1 || v == 2 || v == 4))
        p->rows_per_item = v;
    else if (!strcmp(key, "contiguous"))
        p->contiguous = v != 0;
    else if (!strcmp(key, "vec") && (v == 4 || v == 8 || v == 16))
        p->vec = v;
    else if (!strcmp(key, "poly_exp2"))
        p->poly_exp2 = v != 0;
    else if (!strcmp(key, "transpose_rows") && v >= 1)
        p->transpose_rows = v;
    else if (!strcmp(key, "direct_kv"))
        p->direct_kv = v != 0;
    else if (!strcmp(key, "split_keys") && v >= 1)
        p->decode_keys_per_split = v;
    else if (!strcmp(key, "max_chunk") && v >= 1)
        p->max_chunk = v;
    else if (!strcmp(key, "stream_decode"))
        p->stream_decode = v != 0;
    else if (!strcmp(key, "decode_block_n"))
        p->decode_block_n = v;
    else if (!strcmp(key, "tiled"))
        p->tiled = v != 0;
    else if (!strcmp(key, "wg_m") && v >= 1 && (v & (v - 1)) == 0)
        p->wg_m = v;
    else if (!strcmp(key, "wg_n") && v >= 1 && (v & (v - 1)) == 0)
        p->wg_n = v;
    else if (!strcmp(key, "decode_wg"))
        p->decode_wg = v;
    else if (!strcmp(key, "score_unroll"))
        p->score_unroll = v;
    else if (!strcmp(key, "native_trig"))
        p->native_trig = v != 0;
}

/* applies an override spec ("set=NAME" first, then key=value pairs) to *p */
static void apply_override(swacl_params *p, const char *spec)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    /* a named set first, wherever it stands, so that the other keys refine it */
    for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (!strncmp(tok, "set=", 4)) {
            const swacl_params *named = swacl_params_named(tok + 4);
            if (named)
                *p = *named;
        }
    }
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || !strncmp(tok, "set=", 4))
            continue;
        *eq = 0;
        apply_key(p, tok, strtol(eq + 1, NULL, 10));
    }
}

int swacl_params_spec(const char *spec, swacl_params *out)
{
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(spec, ","), spec);
    const swacl_params *named = swacl_params_named(name);
    if (!named)
        return 0;
    *out = *named;
    if (spec[strlen(name)] == ',')
        apply_override(out, spec + strlen(name) + 1);
    return 1;
}

swacl_params swacl_params_for(const swacl_caps *caps)
{
    swacl_params p = params_table[N_ROWS - 1].p;
    for (size_t r = 0; r < N_ROWS; r++) {
        const params_row *row = &params_table[r];
        if (row->type != caps->type && row->type != SWACL_DEV_OTHER)
            continue;
        if (row->vendor && !strstr(caps->vendor, row->vendor))
            continue;
        if (row->device && !strstr(caps->name, row->device))
            continue;
        if (row->platform && strcmp(caps->platform_name, row->platform) != 0)
            continue;
        p = row->p;
        break;
    }
    const char *env = getenv("SWACL_PARAMS");
    if (env && *env) {
        apply_override(&p, env);
        /* the name says what runs: a set's own name while its values stand */
        const swacl_params *named = swacl_params_named(p.name);
        char a[512], b[512];
        swacl_params_describe(&p, a, sizeof a);
        if (named)
            swacl_params_describe(named, b, sizeof b);
        if (!named || strcmp(a, b) != 0)
            p.name = "override";
    }
    return p;
}

/* the values the set's kernels use (tiled or row kernels), to fit params_detail */
void swacl_params_describe(const swacl_params *p, char *buf, size_t n)
{
    if (p->tiled)
        snprintf(buf, n,
                 "tiled=1 block_m=%d block_n=%d wg_m=%d wg_n=%d decode_wg=%d score_unroll=%d "
                 "native_trig=%d vec=%d split_keys=%d max_chunk=%d",
                 p->block_m, p->block_n, p->wg_m, p->wg_n, p->decode_wg, p->score_unroll,
                 p->native_trig, p->vec, p->decode_keys_per_split, p->max_chunk);
    else
        snprintf(buf, n,
                 "tiled=0 block_m=%d block_n=%d rows_per_item=%d contiguous=%d vec=%d "
                 "poly_exp2=%d transpose_rows=%d direct_kv=%d split_keys=%d max_chunk=%d "
                 "stream_decode=%d decode_block_n=%d",
                 p->block_m, p->block_n, p->rows_per_item, p->contiguous, p->vec, p->poly_exp2,
                 p->transpose_rows, p->direct_kv, p->decode_keys_per_split, p->max_chunk,
                 p->stream_decode, p->decode_block_n);
}
