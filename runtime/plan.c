/* plan.c — launch planning for attention: which kernel, its build options, tile
 * sizes, work sizes and flash-decoding splits, as pure functions of the device's
 * capabilities, the parameter set and the shape of the work. Setting kernel
 * arguments and enqueueing stay in attention.c; tests/test_host_plan.c checks
 * plans without a device. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int swacl_vec_width(const swacl_params *p, int head_dim, int rope)
{
    int vec = p->vec;
    while (head_dim % vec || (rope && (head_dim / 2) % vec))
        vec /= 2;
    return vec;
}

void swacl_base_options(const swacl_caps *caps, const swacl_params *p, int head_dim, int vec,
                        swacl_dtype io, swacl_dtype kv, char *buf, size_t n)
{
    /* -w: some drivers (PoCL) print their compiler's warnings on stderr, and
       the library must stay silent; tests/kernels_warning_free.sh keeps the
       sources free of warnings instead */
    snprintf(buf, n, "-w -cl-std=CL1.2 -DHAS_FMA=%d -DPOLY_EXP2=%d -DNATIVE_TRIG=%d "
                     "-DHEAD_DIM=%d -DVEC=%d -DIO_HALF=%d -DKV_HALF=%d",
             caps->has_fma, p->poly_exp2, p->native_trig, head_dim, vec, io == SWACL_F16,
             kv == SWACL_F16);
}

static int next_pow2(int x)
{
    int p = 1;
    while (p < x)
        p <<= 1;
    return p;
}

static int round_up(int x, int m) { return (x + m - 1) / m * m; }

/* Flash-decoding: when the work-groups alone cannot fill the device, split each
   group's key range across work-groups (merged afterwards), at most one split per
   decode_keys_per_split keys. Fills the device at batch 1, shrinks as it grows. */
static int plan_splits(const swacl_caps *caps, const swacl_params *p, long groups, long reach)
{
    const long target = (long)caps->compute_units * (caps->type == SWACL_DEV_CPU ? 4 : 8);
    if (groups >= target)
        return 1;
    const long by_keys = reach / (p->decode_keys_per_split > 0 ? p->decode_keys_per_split : 1);
    const long by_fill = (target + groups - 1) / groups;
    const long ns = by_keys < by_fill ? by_keys : by_fill;
    /* a power of two, so that splits of a power-of-two window take equal numbers of
       tiles: 17 splits of 64 tiles ran 12% slower than 16 on an H200 */
    int split = 1;
    while (split * 2 <= ns && split < 256)
        split *= 2;
    return split;
}

/* Dilated, a work-group's rows share a residue modulo dil (their bands share
   keys): the residues that have rows, and the most rows one has. Returns dil
   (1 when dense). */
static int residues(const swacl_attend_shape *sh, int *n_res, int *rows_res)
{
    const int dil = sh->dilated && sh->dil > 1 ? sh->dil : 1;
    *n_res = sh->n_rows < dil ? sh->n_rows : dil;
    *rows_res = (sh->n_rows + dil - 1) / dil;
    return dil;
}

/* local memory of attend_tiled's tiles (cl/attend.cl: Q, K/V, P and the row
   reductions, row pitches head_dim + 4 and block_n + 1) */
static size_t tiled_local_bytes(int hd, int block_m, int block_n, int wg_n)
{
    return sizeof(float) * ((size_t)block_m * (hd + 4) + (size_t)block_n * (hd + 4) +
                            (size_t)block_m * (block_n + 1) + (size_t)block_m * wg_n);
}

/* attend_tiled: rows are (query, head) pairs, G per query. Work-group and tiles
   from the parameters, fitted to the work, the device's work-group size, the
   head dim (wg_n * dvec columns at a time) and its local memory. */
static swacl_status plan_tiled(const swacl_caps *caps, const swacl_params *p,
                               const swacl_attend_shape *sh, swacl_attend_plan *pl, char *tiles,
                               size_t tiles_size, char *msg, size_t n)
{
    const int hd = sh->head_dim;
    const int group = sh->n_heads / sh->n_kv_heads;
    int n_res, rows_res;
    residues(sh, &n_res, &rows_res);
    const long rows = (long)rows_res * group; /* of one residue */
    int wg_m = p->wg_m > 0 ? p->wg_m : 8, wg_n = p->wg_n > 0 ? p->wg_n : 16;
    /* decode has a work-group size of its own: its work-items move to keys below */
    if (p->decode_wg > 0 && rows < wg_m && next_pow2((int)rows) < wg_m)
        wg_n = p->decode_wg > wg_m ? p->decode_wg / wg_m : 1;
    while (wg_m * wg_n > caps->max_wg_size && wg_m * wg_n > 1) {
        if (wg_n >= wg_m)
            wg_n /= 2;
        else
            wg_m /= 2;
    }
    int block_m = p->block_m > 0 ? p->block_m : wg_m;
    if (rows < block_m)
        block_m = next_pow2((int)rows);
    /* fewer rows than work-items along them (decode): move the work-items to keys,
       one key each per tile (two made ptxas spill 12 bytes on sm_90 at head_dim
       80, where only 16 work-items fit along keys; tests/gpu_static.sh) */
    const int few_rows = block_m < wg_m;
    while (block_m < wg_m) {
        wg_m /= 2;
        wg_n *= 2;
    }
    while (hd % wg_n) /* every work-item owns whole columns of O */
        wg_n /= 2;
    block_m = round_up(block_m, wg_m);
    int block_n = few_rows ? wg_n : round_up(p->block_n > wg_n ? p->block_n : wg_n, wg_n);
    size_t bytes = tiled_local_bytes(hd, block_m, block_n, wg_n);
    while (bytes > caps->local_mem) {
        if (block_n > wg_n && (block_n >= block_m || block_m == wg_m))
            block_n = round_up(block_n / 2, wg_n);
        else if (block_m > wg_m)
            block_m = round_up(block_m / 2, wg_m);
        else if (wg_n > 1) { /* one key per work-item is still too many: fewer work-items */
            wg_n /= 2;
            block_n = wg_n;
        } else {
            snprintf(msg, n,
                     "head_dim %d needs %zu bytes of local memory per work-group; the device "
                     "has %llu",
                     hd, bytes, (unsigned long long)caps->local_mem);
            return SWACL_ERR_UNSUPPORTED;
        }
        bytes = tiled_local_bytes(hd, block_m, block_n, wg_n);
    }
    int dvec = 4;
    while (hd % (wg_n * dvec))
        dvec /= 2;

    const int wg = wg_m * wg_n;
    const long n_blocks = n_res * ((rows + block_m - 1) / block_m);
    const long groups = n_blocks * sh->n_kv_heads * sh->n_batch;
    pl->n_split = n_blocks == 1 ? plan_splits(caps, p, groups, sh->reach) : 1;
    pl->kernel = "attend_tiled";
    pl->block_m = block_m;
    pl->block_n = block_n;
    pl->local_bytes = bytes;
    pl->local[0] = (size_t)wg;
    pl->local[1] = pl->local[2] = 1;
    pl->global[0] = (size_t)n_blocks * wg;
    pl->global[1] = (size_t)sh->n_kv_heads;
    pl->global[2] = (size_t)sh->n_batch * pl->n_split;
    snprintf(tiles, tiles_size,
             "-DTILED=1 -DBLOCK_M=%d -DBLOCK_N=%d -DWG_M=%d -DWG_N=%d -DDVEC=%d "
             "-DSCORE_UNROLL=%d",
             block_m, block_n, wg_m, wg_n, dvec, p->score_unroll);
    return SWACL_OK;
}

/* attend (work-groups of block_m queries x G heads, a work-item per row) and
   attend_decode (a work-item per kv head and run of up to 8 query heads) */
static swacl_status plan_rows(const swacl_caps *caps, const swacl_params *p,
                              const swacl_attend_shape *sh, swacl_attend_plan *pl, char *tiles,
                              size_t tiles_size, char *msg, size_t n)
{
    const int hd = sh->head_dim;
    const int group = sh->n_heads / sh->n_kv_heads;
    const int stream = sh->n_rows == 1 && p->stream_decode;
    /* attend's query heads per work-item: the set's value, halved until it
       divides the group */
    int rpi = stream || p->rows_per_item < 1 ? 1 : p->rows_per_item;
    while (group % rpi)
        rpi /= 2;
    /* attend's register blocks of several rows are counted in vectors, so on
       CPUs a vector is then one SIMD register: with AVX2 (8 floats) 16-wide
       vectors spilled and ran Mistral-shape prefill at half the speed. With one
       row per work-item (MHA) the set's width stays: on the same CPU, 8 ran
       MHA prefill (16 heads, hd 128, W 1024) 1.1-1.3x slower than 16, and
       attend_decode, which keeps the set's width too, 1.3x slower with an fp16
       cache. */
    if (rpi > 1 && caps->type == SWACL_DEV_CPU && caps->vec_width >= 4)
        while (pl->vec > caps->vec_width)
            pl->vec /= 2;
    /* keys per tile: a multiple of the vector width (the kernel unrolls key loops
       by 8) that fits K and V tiles in local memory */
    const int n_step = pl->vec > 8 ? pl->vec : 8;
    const int want_n = stream && p->decode_block_n > 0 ? p->decode_block_n : p->block_n;
    int block_n = want_n < n_step ? n_step : want_n - want_n % n_step;
    while (block_n > n_step && (uint64_t)2 * block_n * hd * 4 + 1024 > caps->local_mem)
        block_n -= n_step;

    const int decode_gh = stream ? (group < 8 ? group : 8) : 0;
    const int n_hchunks = stream ? (group + decode_gh - 1) / decode_gh : 1;
    const int items_g = group / rpi; /* work-items per query in a work-group */
    int n_res, rows_res;
    const int dil = residues(sh, &n_res, &rows_res);
    /* Queries per block grow with the keys a query sees (w): staging a tile
       costs the same however many rows share it, while the tiles at the band's
       edges, which the block's rows see only in part, grow with the block.
       The largest power of two up to sqrt(8 w) balances the two: 64 at W 512,
       128 at W 4096, the best of 32/64/128 in alternating rounds on PoCL
       (2 EPYC vCPUs; 128 ran Mistral-shape prefill 9% faster than 64, and
       the laptop shape 40% slower). block_m is the cap. */
    const long w = sh->reach / dil;
    int want_m = 1;
    while (want_m * 2 <= p->block_m && (long)want_m * want_m * 4 <= 8 * w)
        want_m *= 2;
    int block_m = stream ? 1 : want_m < rows_res ? want_m : next_pow2(rows_res);
    while (!stream && block_m > 1 && block_m * items_g > caps->max_wg_size)
        block_m /= 2;
    if (!stream && block_m * items_g > caps->max_wg_size) {
        snprintf(msg, n, "%d query heads per kv head exceed the device's work-group size (%d)",
                 group, caps->max_wg_size);
        return SWACL_ERR_UNSUPPORTED;
    }
    /* K staged transposed when many rows share a tile; with few rows, CPUs read
       K/V rows directly (in-kernel RoPE turns staged keys, so it always stages).
       attend_decode stages nothing: it gets fixed values, one program per variant. */
    const int transposed = !stream && block_m * group >= p->transpose_rows;
    const int direct_kv = !stream && !transposed && !sh->rope && p->direct_kv;
    snprintf(tiles, tiles_size,
             "-DBLOCK_M=%d -DBLOCK_N=%d -DROWS_PER_ITEM=%d -DCONTIGUOUS=%d -DK_TRANSPOSED=%d "
             "-DDIRECT_KV=%d -DDECODE_GH=%d",
             block_m, block_n, rpi, !stream && p->contiguous, transposed, direct_kv, decode_gh);
    pl->kernel = stream ? "attend_decode" : "attend";
    pl->block_m = block_m;
    pl->block_n = block_n;
    pl->appends = stream && sh->has_ring;

    const int n_qblocks = n_res * ((rows_res + block_m - 1) / block_m);
    const long groups = (long)n_qblocks * sh->n_kv_heads * n_hchunks * sh->n_batch;
    pl->n_split = sh->n_rows <= block_m ? plan_splits(caps, p, groups, sh->reach) : 1;
    if (stream) {
        pl->local[0] = pl->local[1] = pl->local[2] = 1;
        pl->global[0] = (size_t)pl->n_split;
        pl->global[1] = (size_t)sh->n_kv_heads * n_hchunks;
        pl->global[2] = (size_t)sh->n_batch;
    } else {
        pl->local[0] = (size_t)block_m;
        pl->local[1] = (size_t)items_g;
        pl->local[2] = 1;
        pl->global[0] = (size_t)n_qblocks * block_m;
        pl->global[1] = (size_t)sh->n_heads / rpi;
        pl->global[2] = (size_t)sh->n_batch * pl->n_split;
    }
    return SWACL_OK;
}

swacl_status swacl_plan_attend(const swacl_caps *caps, const swacl_params *p,
                               const swacl_attend_shape *sh, swacl_attend_plan *pl, char *msg,
                               size_t n)
{
    memset(pl, 0, sizeof *pl);
    msg[0] = 0;
    pl->vec = swacl_vec_width(p, sh->head_dim, sh->rope);
    /* CPUs keep their streaming decode kernel even in a tiled set */
    const int tiled = p->tiled && !(sh->n_rows == 1 && p->stream_decode);
    char tiles[256], base[256];
    const swacl_status s = tiled ? plan_tiled(caps, p, sh, pl, tiles, sizeof tiles, msg, n)
                                 : plan_rows(caps, p, sh, pl, tiles, sizeof tiles, msg, n);
    if (s != SWACL_OK)
        return s;
    /* every kernel's options: the shared ones, the kernel's tiles, the features */
    swacl_base_options(caps, p, sh->head_dim, pl->vec, sh->io, sh->kv, base, sizeof base);
    snprintf(pl->options, sizeof pl->options,
             "%.255s %.255s -DHAS_SOFTCAP=%d -DHAS_SINK_LOGITS=%d -DHAS_DILATION=%d -DHAS_ROPE=%d",
             base, tiles, sh->softcap, sh->sink_logits, sh->dilated, sh->rope);
    /* the merge: one output vector per work-item */
    const size_t n_vec = (size_t)(sh->head_dim / pl->vec);
    pl->merge_local[0] = n_vec;
    pl->merge_local[1] = pl->merge_local[2] = 1;
    pl->merge_global[0] = n_vec;
    pl->merge_global[1] = (size_t)sh->n_heads;
    pl->merge_global[2] = (size_t)sh->n_rows * sh->n_batch;
    return SWACL_OK;
}

/* Typical devices of each set's kind: local memory as OpenCL reports it, the
   largest work-group, compute units (NVIDIA H100/H200, AMD RDNA3/CDNA2, Intel
   Xe, a laptop CPU). */
int swacl_nominal_caps(const char *set, swacl_caps *c)
{
    if (!strcmp(set, "gpu-nvidia")) {
        *c = (swacl_caps){.type = SWACL_DEV_GPU, .compute_units = 132, .max_wg_size = 1024,
                          .local_mem = 48 << 10, .has_fma = 1, .has_fp16 = 1};
        snprintf(c->vendor, sizeof c->vendor, "NVIDIA Corporation");
    } else if (!strcmp(set, "gpu-amd")) {
        *c = (swacl_caps){.type = SWACL_DEV_GPU, .compute_units = 96, .max_wg_size = 256,
                          .local_mem = 64 << 10, .has_fma = 1, .has_fp16 = 1};
        snprintf(c->vendor, sizeof c->vendor, "Advanced Micro Devices, Inc.");
    } else if (!strcmp(set, "gpu-intel") || !strcmp(set, "gpu")) {
        *c = (swacl_caps){.type = SWACL_DEV_GPU, .compute_units = 96, .max_wg_size = 512,
                          .local_mem = 64 << 10, .has_fma = 1, .has_fp16 = 1};
        snprintf(c->vendor, sizeof c->vendor, "Intel(R) Corporation");
    } else if (!strcmp(set, "cpu") || !strcmp(set, "generic")) {
        *c = (swacl_caps){.type = SWACL_DEV_CPU, .compute_units = 8, .max_wg_size = 4096,
                          .vec_width = 8, .local_mem = 2 << 20, .has_fma = 1};
    } else {
        return 0;
    }
    return 1;
}

/* emits a build once: the options seen so far are kept in a growing list */
typedef struct variant_list {
    char (*seen)[640];
    int n, cap;
} variant_list;

static int first_time(variant_list *v, const char *options)
{
    for (int i = 0; i < v->n; i++)
        if (!strcmp(v->seen[i], options))
            return 0;
    if (v->n == v->cap) {
        const int cap = v->cap ? 2 * v->cap : 64;
        char(*grown)[640] = realloc(v->seen, (size_t)cap * sizeof *grown);
        if (!grown)
            return 1; /* out of memory: a duplicate line is harmless */
        v->seen = grown;
        v->cap = cap;
    }
    snprintf(v->seen[v->n++], sizeof v->seen[0], "%s", options);
    return 1;
}

int swacl_kernel_variants(const char *set,
                          void (*emit)(const char *file, const char *kernel,
                                       const char *options, void *user),
                          void *user)
{
    swacl_params params;
    swacl_caps caps;
    if (!swacl_params_spec(set, &params) || !swacl_nominal_caps(params.name, &caps))
        return -1;
    const swacl_params *p = &params;
    static const int head_dims[] = {64, 80, 128, 256};
    enum { F_NONE, F_SOFTCAP, F_SINKS, F_DILATED, F_ROPE };
    /* each dtype pair plainly, then each feature (compiling its own code in) with
       fp16 I/O and cache, the most conversions */
    static const struct {
        swacl_dtype io, kv;
        int feature;
    } kinds[] = {
        {SWACL_F32, SWACL_F32, F_NONE},    {SWACL_F32, SWACL_F16, F_NONE},
        {SWACL_F16, SWACL_F16, F_NONE},    {SWACL_F16, SWACL_F16, F_SOFTCAP},
        {SWACL_F16, SWACL_F16, F_SINKS},   {SWACL_F16, SWACL_F16, F_DILATED},
        {SWACL_F16, SWACL_F16, F_ROPE},
    };
    /* prefill chunks and decode at GQA 4 (Mistral) and 1 (no grouping) */
    static const int rows_groups[][2] = {{4096, 4}, {1, 4}, {1, 1}};
    variant_list seen = {0};
    for (size_t d = 0; d < sizeof head_dims / sizeof *head_dims; d++)
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
            const int hd = head_dims[d], f = kinds[k].feature;
            char opts[256];
            swacl_base_options(&caps, p, hd, swacl_vec_width(p, hd, 0), kinds[k].io,
                               kinds[k].kv, opts, sizeof opts);
            if (f == F_NONE && first_time(&seen, opts))
                emit("append.cl", "append", opts, user);
            for (size_t r = 0; r < sizeof rows_groups / sizeof *rows_groups; r++) {
                swacl_attend_shape sh = {
                    .n_heads = 8 * rows_groups[r][1], .n_kv_heads = 8, .head_dim = hd,
                    .n_rows = rows_groups[r][0], .n_batch = 1, .reach = 4096,
                    .rope = f == F_ROPE, .softcap = f == F_SOFTCAP, .sink_logits = f == F_SINKS,
                    .dilated = f == F_DILATED, .dil = 2, .has_ring = 1, .io = kinds[k].io,
                    .kv = kinds[k].kv};
                swacl_attend_plan pl;
                char msg[256];
                if (swacl_plan_attend(&caps, p, &sh, &pl, msg, sizeof msg) != SWACL_OK ||
                    !first_time(&seen, pl.options))
                    continue;
                emit("attend.cl", pl.kernel, pl.options, user);
                /* the merge builds from the same program; its code depends only on
                   the head dim, the I/O type and sink logits */
                if (r == 1 && (f == F_NONE || f == F_SINKS) && kinds[k].kv == kinds[k].io)
                    emit("attend.cl", "attend_merge", pl.options, user);
            }
        }
    free(seen.seen);
    return 0;
}
