/* params.c — per-device kernel parameters: one table, matched vendor ->
 * device type -> generic fallback, then overridden by $SWACL_PARAMS
 * ("block_m=16,block_n=32,contiguous=1,vec=16,poly_exp2=1,split_keys=512,
 * max_chunk=1024"). */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct params_row {
    swacl_devtype type;
    const char *vendor; /* case-sensitive substring of CL_DEVICE_VENDOR, NULL = any */
    swacl_params p;
} params_row;

/* First match wins, so specific rows come before their type's fallback.
 * CPU rows: PoCL runs a work-group's work-items one after another and streams
 * fastest when each walks its own contiguous range (interleaved access measured
 * 2-8x slower there), so tiles are staged in contiguous runs; 16-wide vectors
 * suit AVX-512; the polynomial exp2 replaced a lane-by-lane built-in that took
 * most of the laptop-shape prefill time (~190 ms before, ~65 ms after, with the
 * register accumulators). CPUs decode with attend_decode, one work-item per kv
 * head converting each cached row once for all its query heads (Mistral shape,
 * fp16 cache, b=1: ~1.3 ms against ~2.0 ms for the general kernel, same runs)
 * in tiles of 16 keys (3-20% faster than 32 there, while prefill prefers 32).
 * GPU rows: staging is interleaved so neighbouring work-items read neighbouring
 * addresses (coalesced), and decode keeps a work-item per query head (a lone
 * work-item per group would leave a GPU idle); they have not been tuned on a
 * GPU yet.
 * Fields: block_m, block_n, contiguous, vec, poly_exp2, transpose_rows,
 * direct_kv, split_keys, max_chunk, stream_decode, decode_block_n (see
 * swacl_params in internal.h). */
static const params_row params_table[] = {
    {SWACL_DEV_CPU, NULL, {"cpu", 32, 32, 1, 16, 1, 16, 1, 512, 1024, 1, 16}},
    {SWACL_DEV_GPU, "NVIDIA", {"gpu-nvidia", 16, 32, 0, 4, 0, 1, 0, 256, 2048, 0, 0}},
    {SWACL_DEV_GPU, "Advanced Micro Devices", {"gpu-amd", 16, 32, 0, 4, 0, 1, 0, 256, 2048, 0, 0}},
    {SWACL_DEV_GPU, "Intel", {"gpu-intel", 8, 16, 0, 4, 0, 1, 0, 256, 1024, 0, 0}},
    {SWACL_DEV_GPU, NULL, {"gpu", 8, 16, 0, 4, 0, 1, 0, 256, 1024, 0, 0}},
    {SWACL_DEV_OTHER, NULL, {"generic", 8, 16, 1, 4, 1, 16, 1, 256, 512, 1, 16}},
};

static void apply_override(swacl_params *p, const char *spec)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", ")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = 0;
        long val = strtol(eq + 1, NULL, 10);
        if (val < 0 || val > 65536)
            continue;
        if (!strcmp(tok, "block_m") && val >= 1)
            p->block_m = (int)val;
        else if (!strcmp(tok, "block_n") && val >= 1)
            p->block_n = (int)val;
        else if (!strcmp(tok, "contiguous"))
            p->contiguous = val != 0;
        else if (!strcmp(tok, "vec") && (val == 4 || val == 8 || val == 16))
            p->vec = (int)val;
        else if (!strcmp(tok, "poly_exp2"))
            p->poly_exp2 = val != 0;
        else if (!strcmp(tok, "transpose_rows") && val >= 1)
            p->transpose_rows = (int)val;
        else if (!strcmp(tok, "direct_kv"))
            p->direct_kv = val != 0;
        else if (!strcmp(tok, "split_keys") && val >= 1)
            p->decode_keys_per_split = (int)val;
        else if (!strcmp(tok, "max_chunk") && val >= 1)
            p->max_chunk = (int)val;
        else if (!strcmp(tok, "stream_decode"))
            p->stream_decode = val != 0;
        else if (!strcmp(tok, "decode_block_n"))
            p->decode_block_n = (int)val;
    }
}

swacl_params swacl_params_for(const swacl_caps *caps)
{
    const size_t n = sizeof params_table / sizeof params_table[0];
    swacl_params p = params_table[n - 1].p;
    for (size_t r = 0; r < n; r++) {
        const params_row *row = &params_table[r];
        if (row->type != caps->type && row->type != SWACL_DEV_OTHER)
            continue;
        if (row->vendor && !strstr(caps->vendor, row->vendor))
            continue;
        p = row->p;
        break;
    }
    const char *env = getenv("SWACL_PARAMS");
    if (env && *env) {
        apply_override(&p, env);
        p.name = "override";
    }
    return p;
}

void swacl_params_describe(const swacl_params *p, char *buf, size_t n)
{
    snprintf(buf, n,
             "block_m=%d block_n=%d contiguous=%d vec=%d poly_exp2=%d transpose_rows=%d "
             "direct_kv=%d split_keys=%d max_chunk=%d stream_decode=%d decode_block_n=%d",
             p->block_m, p->block_n, p->contiguous, p->vec, p->poly_exp2, p->transpose_rows,
             p->direct_kv, p->decode_keys_per_split, p->max_chunk, p->stream_decode,
             p->decode_block_n);
}
