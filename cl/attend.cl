/* attend.cl — band-masked flash attention (online softmax over key tiles; docs/design.md §4) for
 * one-shot prefill, chunked prefill and batched decode, plus the merge of
 * flash-decoding splits. Keys come from two sources: the KV ring (positions
 * before the chunk) and the chunk's own fresh K/V, so a chunk never depends on
 * ring slots it is about to overwrite. Three kernels share the band, tile and
 * softmax helpers: attend (CPUs: a work-item per query row), attend_decode
 * (CPUs' decode: a work-item streams a kv head's keys for all its query heads)
 * and attend_tiled (GPUs: a work-group cooperates on tiles; below).
 *
 * The band for query i is
 *     j < n_sink  or  (i - win_left <= j <= i + win_right and (i - j) % dil == 0)
 * (causal: win_right = 0; bidirectional: win_left = win_right = W - 1; full:
 * reach 1 << 30); causal sinks need j <= i as well. The key range of a
 * work-group comes from the band, so tiles outside it are never loaded; tiles
 * the whole group sees skip masking.
 *
 * A launch serves a micro-batch: each entry (batch_info, INFO_INTS ints: ring
 * sequence, first position, first row, rows) has its own row count, the
 * launch's n_rows argument is the largest, and work beyond an entry's rows
 * exits at once. q, k, v and out are views (VIEW_ARGS: element offsets and row
 * strides), so a fused QKV buffer is read in place.
 *
 * attend's layout: local (BLOCK_M, G / RPI, 1), global (n_qblocks*BLOCK_M,
 * n_heads / RPI, n_batch*n_split) with G = n_heads / n_kv_heads, so a work-group
 * owns BLOCK_M queries of one batch entry for one kv head and all its query
 * heads, RPI (ROWS_PER_ITEM) heads per work-item: each K/V tile is read once per
 * group, and each vector of it once per work-item for its RPI rows. Measured on
 * PoCL (AMD EPYC, 2 vCPUs, AVX2): four heads per work-item instead of one ran
 * Mistral-shape prefill (32/8 heads, hd 128, n 4096) in 1369 ms instead of 2590. */

#ifndef BLOCK_M
#define BLOCK_M 16    /* queries per work-group (each with all G query heads) */
#endif
#ifndef BLOCK_N
#define BLOCK_N 32    /* keys per tile */
#endif
#ifndef CONTIGUOUS
#define CONTIGUOUS 1  /* 1 = each work-item stages a contiguous run of the tile (CPUs);
                         0 = interleaved, coalesced across work-items (GPUs) */
#endif
#ifndef DIRECT_KV
#define DIRECT_KV 0   /* 1 = read K/V rows straight from global memory, no staging
                         (row-major K only; CPUs with few rows per group, where
                         staging cannot overlap the loads with the arithmetic) */
#endif
#ifndef K_TRANSPOSED
#define K_TRANSPOSED 1 /* 1 = stage K transposed (many rows per group), 0 = row-major */
#endif
#if K_TRANSPOSED
#define K_AT(d, jj) ((d) * BLOCK_N + (jj))
#else
#define K_AT(d, jj) ((jj) * HEAD_DIM + (d))
#endif
#ifndef ROWS_PER_ITEM
#define ROWS_PER_ITEM 1 /* attend: query heads per work-item (1, 2 or 4; divides G) */
#endif
#ifndef HAS_SOFTCAP
#define HAS_SOFTCAP 0 /* compile in s = softcap * tanh(s / softcap) */
#endif
#ifndef HAS_SINK_LOGITS
#define HAS_SINK_LOGITS 0 /* compile in the learned per-head sink logit */
#endif
#ifndef HAS_ROPE
#define HAS_ROPE 0    /* keys cached unrotated, turned in-kernel (StreamingLLM) */
#endif
#ifndef HAS_DILATION
#define HAS_DILATION 0 /* compile in the (i - j) % dil test */
#endif
#ifndef TILED
#define TILED 0       /* 1 = build attend_tiled, the cooperative work-group kernel
                         for GPUs (its own tile defines below), instead of attend */
#endif
#ifndef DECODE_GH
#define DECODE_GH 0   /* > 0: build attend_decode with this many query heads per
                         work-item instead of attend */
#endif

#if TILED
#define WG_SIZE (WG_M * WG_N)
#else
#define WG_SIZE (BLOCK_M * (int)get_local_size(1)) /* G = local size 1 */
#endif
#define LOG2E 1.4426950408889634f
/* loop unrolling on the loop's own line: by a factor, or whole */
#define PRAGMA_(x) _Pragma(#x)
#define UNROLL_BY(n) PRAGMA_(unroll n)
#define UNROLL_ALL PRAGMA_(unroll)
/* finite "minus infinity" for the running max: exp2(m_old - m_new) stays defined
 * even while every key so far was masked */
#define NEG_BIG (-3.0e38f)

/* one segment of keys j_begin, j_begin + stride, ... below j_end, from one source
   (stride > 1: a dilated band, only the keys its queries' residue sees) */
typedef struct segment {
    int j_begin, j_end;
    int from_ring;
    int all_visible; /* pinned sinks before the band: every query of the group sees them */
    int sink_keys;   /* keys below n_sink (their RoPE position is their own) */
    int stride;
} segment;

/* the first x' >= x with x' % stride == res */
static inline int align_up(int x, int stride, int res)
{
    return x + ((res - x) % stride + stride) % stride;
}

/* appends the keys of [a, b) congruent to res modulo stride, split at the chunk
   start pos0 (ring before, fresh after) */
static inline int add_segments(segment *seg, int n, int a, int b, int pos0, int all_visible,
                               int sink_keys, int stride, int res)
{
    a = align_up(a, stride, res);
    const int cut = align_up(clamp(pos0, a, max(a, b)), stride, res);
    if (min(cut, b) > a)
        seg[n++] = (segment){a, min(cut, b), 1, all_visible, sink_keys, stride};
    if (b > cut)
        seg[n++] = (segment){cut, b, 0, all_visible, sink_keys, stride};
    return n;
}

static inline int band_visible(int i, int j, int n_sink, int win_left, int win_right, int dil,
                        int causal)
{
    if (j < n_sink)
        return !causal || j <= i;
    if (j < i - win_left || j > i + win_right)
        return 0;
#if HAS_DILATION
    return ((i - j) % dil) == 0;
#else
    return 1;
#endif
}

/* The keys queries [i_first, i_last] reach among keys [0, key_end), as four
 * ranges: pinned sinks before the band (every row sees them), the band's sink
 * keys, the rest of the band, and (not causal) sinks after the band. Dilated,
 * the queries share one residue modulo dil (the kernels group them so) and the
 * band's own keys (range 2) are those of that residue, `stride` apart: W keys
 * per query, not W * dil. Scalars rather than an indexed array, which GPU
 * compilers place in off-chip stack memory. attend_tiled walks the ranges as
 * they are, taking each key of a tile from the ring or the chunk by its
 * position; the CPU kernels cut them further into segments at the chunk start
 * (band_segments). Tiles are numbered through the ranges in order, so tile t
 * maps to a range by three comparisons. */
typedef struct key_ranges {
    int lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3;
    int stride;                    /* of range 2 */
    int end0, end1, end2, n_tiles; /* tiles up to the end of each range */
} key_ranges;

/* tiles of the keys lo, lo + stride, ... below hi */
static inline int range_tiles(int lo, int hi, int stride)
{
    return ((hi - lo + stride - 1) / stride + BLOCK_N - 1) / BLOCK_N;
}

static inline key_ranges band_ranges(int i_first, int i_last, int key_end, int n_sink,
                                     int win_left, int win_right, int causal, int dil)
{
    key_ranges r;
    const int lo = max(0, i_first - win_left);
    const int hi = min(key_end, (int)min((long)i_last + win_right + 1, (long)key_end));
#if HAS_DILATION
    r.stride = dil;
#else
    r.stride = 1;
#endif
    r.lo0 = 0;
    r.hi0 = min(n_sink, lo);
    r.lo1 = lo;
    r.hi1 = clamp(n_sink, lo, max(lo, hi));
    r.lo2 = align_up(r.hi1, r.stride, i_first % r.stride);
    r.hi2 = max(r.lo2, hi);
    r.lo3 = hi;
    r.hi3 = !causal && hi < n_sink ? min(n_sink, key_end) : hi;
    r.end0 = range_tiles(r.lo0, r.hi0, 1);
    r.end1 = r.end0 + range_tiles(r.lo1, r.hi1, 1);
    r.end2 = r.end1 + range_tiles(r.lo2, r.hi2, r.stride);
    r.n_tiles = r.end2 + range_tiles(r.lo3, r.hi3, 1);
    return r;
}

/* Tile t's first key *j0, its range (0-3), its keys' stride and its key count
   (returned) */
static inline int range_tile(const key_ranges *r, int t, int *j0, int *range, int *stride)
{
    int lo, hi, first;
    *stride = 1;
    if (t < r->end0) {
        *range = 0, lo = r->lo0, hi = r->hi0, first = 0;
    } else if (t < r->end1) {
        *range = 1, lo = r->lo1, hi = r->hi1, first = r->end0;
    } else if (t < r->end2) {
        *range = 2, lo = r->lo2, hi = r->hi2, first = r->end1, *stride = r->stride;
    } else {
        *range = 3, lo = r->lo3, hi = r->hi3, first = r->end2;
    }
    *j0 = lo + (t - first) * BLOCK_N * *stride;
    return min(BLOCK_N, (hi - *j0 + *stride - 1) / *stride);
}

/* The key ranges of queries [i_first, i_last] as segments, each range split at
   the chunk start pos0 (ring before, fresh after). At most 8. */
static inline int band_segments(segment *seg, int i_first, int i_last, int key_end, int pos0,
                                int n_sink, int win_left, int win_right, int causal, int dil)
{
    const key_ranges r =
        band_ranges(i_first, i_last, key_end, n_sink, win_left, win_right, causal, dil);
    int n = add_segments(seg, 0, r.lo0, r.hi0, pos0, 1, 1, 1, 0);
    n = add_segments(seg, n, r.lo1, r.hi1, pos0, 0, 1, 1, 0);
    n = add_segments(seg, n, r.lo2, r.hi2, pos0, 0, 0, r.stride, r.lo2 % r.stride);
    return add_segments(seg, n, r.lo3, r.hi3, pos0, 1, 1, 1, 0);
}

static inline int segment_tiles(const segment *s)
{
    const int keys = (s->j_end - s->j_begin + s->stride - 1) / s->stride;
    return (keys + BLOCK_N - 1) / BLOCK_N;
}

/* tiles [t_begin, t_end) of the segments that flash-decoding split `split` of
   n_split takes (contiguous, so each split streams its own range) */
static inline void split_tiles(const segment *seg, int n_seg, int split, int n_split, int *t_begin,
                        int *t_end)
{
    int n_tiles = 0;
    for (int s = 0; s < n_seg; s++)
        n_tiles += segment_tiles(&seg[s]);
    *t_begin = (int)((long)n_tiles * split / n_split);
    *t_end = (int)((long)n_tiles * (split + 1) / n_split);
}

/* Tile t's first key *j0 and its key count (returned): moves (*s, *tile0) to the
   segment holding tile t and the index of that segment's first tile; tiles are
   visited in increasing order. */
static inline int seek_tile(const segment *seg, int t, int *s, int *tile0, int *j0)
{
    while (t - *tile0 >= segment_tiles(&seg[*s])) {
        *tile0 += segment_tiles(&seg[*s]);
        (*s)++;
    }
    const int stride = seg[*s].stride;
    *j0 = seg[*s].j_begin + (t - *tile0) * BLOCK_N * stride;
    return min(BLOCK_N, (seg[*s].j_end - *j0 + stride - 1) / stride);
}

/* a full tile that queries [i_first, i_last] all see whole needs no mask (a
   segment's keys have the residue of its queries, and sinks ignore dilation) */
static inline int tile_interior(const segment *seg, int j0, int jn, int i_first, int i_last,
                                int win_left, int win_right)
{
    return jn == BLOCK_N &&
           (seg->all_visible || (j0 >= i_last - win_left &&
                                 j0 + (BLOCK_N - 1) * seg->stride <= i_first + win_right));
}

/* One online-softmax step of a query row over a tile: its BLOCK_N scores sc (base
 * 2, softcap still to apply) are capped, masked to the band unless the tile is
 * interior, their max is folded into *m and their weights' sum into *l, and the
 * weights are left in p. Returns alpha, the factor the row's earlier accumulation
 * takes. */
static inline float softmax_step(VT *sc, float *p, int interior, int i, int j0, int stride,
                                int jn, int n_sink, int win_left, int win_right, int dil,
                                int causal, float softcap, float *m, float *l)
{
#if HAS_SOFTCAP
    for (int c = 0; c < BLOCK_N / VEC; c++)
        sc[c] = softcap * tanh(sc[c] / softcap) * LOG2E;
#endif
    if (!interior) {
        for (int c = 0; c < BLOCK_N / VEC; c++)
            VSTORE_F(sc[c], c, p);
        for (int jj = 0; jj < BLOCK_N; jj++)
            if (jj >= jn ||
                !band_visible(i, j0 + jj * stride, n_sink, win_left, win_right, dil, causal))
                p[jj] = -INFINITY;
        for (int c = 0; c < BLOCK_N / VEC; c++)
            sc[c] = VLOAD_F(c, p);
    }
    VT mv = sc[0];
    for (int c = 1; c < BLOCK_N / VEC; c++)
        mv = fmax(mv, sc[c]);
    const float m_new = fmax(*m, HMAX(mv));
    const float alpha = exp2(*m - m_new);
    VT lv = (VT)(0.0f);
    for (int c = 0; c < BLOCK_N / VEC; c++) {
        const VT pv = EXP2(sc[c] - (VT)(m_new));
        lv += pv;
        VSTORE_F(pv, c, p);
    }
    *l = *l * alpha + HSUM(lv);
    *m = m_new;
    return alpha;
}

/* A query row's result for head h: with n_split > 1 its partial (max, sum, acc) at
 * p for attend_merge, else acc normalised (the head's sink logit included) at o. */
static inline void write_row(float m, float l, const VT *acc, int n_split, __global float *p,
                      __global const float *sink_logits, int h, __global io_t *o)
{
    if (n_split > 1) {
        p[0] = m;
        p[1] = l;
        for (int c = 0; c < N_VEC; c++)
            VSTORE_F(acc[c], c, p + 2);
        return;
    }
    float a = 1.0f;
#if HAS_SINK_LOGITS
    const float sl = sink_logits[h] * LOG2E;
    const float m2 = fmax(m, sl);
    a = exp2(m - m2);
    l = l * a + exp2(sl - m2);
#endif
    const float inv = l > 0.0f ? a / l : 0.0f; /* no visible key: zeros, never NaN */
    for (int c = 0; c < N_VEC; c++)
        STORE_IO(acc[c] * inv, c, o);
}

/* Where a tile's keys live: key jj of the tile starting at position j0 (keys
 * stride positions apart) is at element offset base + jj * step, less wrap once
 * jj >= wrap_at. Ring tiles never straddle n_sink and cover fewer than span
 * positions (the ring part of a band is under W*D keys), so they wrap at most
 * once: one modulo per tile instead of one per key. */
typedef struct tile_addr {
    long base, step, wrap;
    int wrap_at;
} tile_addr;

static inline tile_addr tile_address(int j0, int stride, int from_ring, int pos0, int row0,
                                     int ring_seq, int n_sink, int span, int n_kv_heads, int kvh,
                                     int kv_stride)
{
    tile_addr a;
    if (from_ring) {
        const int s0 = ring_slot(j0, n_sink, span);
        a.base = ring_row(ring_seq, kvh, s0, n_kv_heads, n_sink + span) * HEAD_DIM;
        a.step = (long)stride * HEAD_DIM;
        a.wrap = (long)span * HEAD_DIM;
        a.wrap_at = j0 < n_sink ? BLOCK_N : (n_sink + span - s0 + stride - 1) / stride;
    } else {
        a.base = (long)(row0 + (j0 - pos0)) * kv_stride + (long)kvh * HEAD_DIM;
        a.step = (long)stride * kv_stride;
        a.wrap = 0;
        a.wrap_at = BLOCK_N;
    }
    return a;
}

static inline long tile_key_offset(const tile_addr *a, int jj)
{
    return a->base + jj * a->step - (jj >= a->wrap_at ? a->wrap : 0);
}

#if TILED
/* attend_tiled — the same attention for GPUs, FlashAttention-2 style: a
 * work-group of WG_M x WG_N work-items owns BLOCK_M rows, where a row is one
 * (query, query head) pair: the G query heads of the group's kv head fold into
 * the rows, so each K/V tile is staged once for all of them. Q, K and V tiles
 * live in local memory, loaded by coalesced vector reads; S = Q.K^T and
 * O += P.V are register-blocked micro-GEMMs (as in CLBlast's xgemm): a
 * work-item holds an MWI x NWI patch of S and an MWI x DWI patch of O, no
 * array sized by HEAD_DIM. Rows are shared out round-robin (work-item tm owns
 * rows tm, tm + WG_M, ...), as are keys and head_dim columns, so neighbouring
 * work-items touch neighbouring local-memory words. Row maxima are reduced
 * across the WG_N work-items of a row through local memory; row sums stay
 * partial per work-item until the end.
 *
 * Local (WG_M * WG_N, 1, 1), global (n_blocks * WG_M * WG_N, n_kv_heads,
 * n_batch * n_split) with n_blocks = ceil(n_rows * G / BLOCK_M); arguments,
 * partials and outputs as attend. Decode is the same kernel with one query per
 * batch entry (BLOCK_M about G) and the keys split across work-groups. */
#ifndef WG_M
#define WG_M 8        /* work-items along rows */
#endif
#ifndef WG_N
#define WG_N 16       /* work-items along keys (S) and head_dim columns (O) */
#endif
#ifndef DVEC
#define DVEC 4        /* head_dim columns per vector in O (HEAD_DIM % (WG_N*DVEC) == 0) */
#endif
#ifndef SCORE_UNROLL
#define SCORE_UNROLL 0 /* unroll factor of S's loop over head_dim, 0 = whole: fully
                          unrolled, AMDGPU hoists every local load ahead of the
                          multiply-adds (hd 64 on gfx1100: 128 VGPRs + 202 spilled,
                          against 108 and none by 4), while ptxas wants it whole
                          (in-cache RoPE at hd 128 spills 12 bytes by 4, none whole);
                          tests/gpu_static.sh */
#endif
#define MWI (BLOCK_M / WG_M)         /* rows per work-item */
#define NWI (BLOCK_N / WG_N)         /* keys per work-item in S */
#define DX (HEAD_DIM / (WG_N * DVEC)) /* vectors of O per row and work-item */
#define ROW_STRIDE (HEAD_DIM + 4)    /* local row pitch of Q, K, V: 4 spare words put
                                        the rows neighbouring work-items read on
                                        different banks, and keep float4 alignment */
#define P_STRIDE (BLOCK_N + 1)       /* local row pitch of P */
#if DVEC == 1
typedef float DT;
#define VSTORE_D(x, i, p) ((p)[i] = (x))
#define STORE_IO_D(x, i, p) STORE_IO1(x, i, p)
#else
#define DT CAT(float, DVEC)
#define VSTORE_D CAT(vstore, DVEC)
#if IO_HALF
#define STORE_IO_D CAT(vstore_half, DVEC)
#else
#define STORE_IO_D VSTORE_D
#endif
#endif

/* Stages rows [0, jn) of a K or V tile as fp32 at dst (ROW_STRIDE apart): its
   first ring_keys keys from the ring, the rest from the chunk; rows up to
   BLOCK_N are zeros so no garbage enters a product. Consecutive work-items read
   consecutive float4 of one row. */
static inline void stage_kv_tile(__local float *dst, const tile_addr *ring_at,
                                 const tile_addr *fresh_at, int ring_keys,
                                 __global const kv_t *ring, __global const io_t *fresh, int jn,
                                 int lid)
{
    for (int e = lid; e < BLOCK_N * (HEAD_DIM / 4); e += WG_SIZE) {
        const int jj = e / (HEAD_DIM / 4), c = e % (HEAD_DIM / 4);
        float4 x = (float4)(0.0f);
        if (jj < jn) {
            if (jj < ring_keys)
                x = LOAD_KV4(ring + tile_key_offset(ring_at, jj) + 4 * c);
            else
                x = LOAD_IO4(fresh + tile_key_offset(fresh_at, jj) + 4 * c);
        }
        ((__local float4 *)dst)[jj * (ROW_STRIDE / 4) + c] = x;
    }
}

/* A work-group's rows: row flat is query head flat % group of the group's query
 * flat / group, counted among the queries res, res + step, ... below n_rows
 * (dilated, step = dil and one residue per work-group, whose bands share their
 * keys; else res 0, step 1). n_q of them. */
typedef struct row_map {
    int res, step, n_q, group;
} row_map;

/* the chunk row of row flat, which must be one of the n_q * group */
static inline int row_of(const row_map *rm, int flat)
{
    return rm->res + rm->step * (flat / rm->group);
}

/* the same clamped to the last row, so rows past the end compute something
   finite that is never written */
static inline int row_query(const row_map *rm, int flat)
{
    return row_of(rm, min(flat, rm->n_q * rm->group - 1));
}

/* Stages the group's query rows, scaled by q_mul, at q_tile. With in-cache RoPE
   each row is also turned to its position in the cache: for window keys that is
   i - rope_base, for sink keys i - evicted(i) (sink_mode). */
static inline void stage_q_tile(__local float *q_tile, __global const io_t *q, int flat0,
                                const row_map *rm, int row0, int q_stride, int kvh,
                                float q_mul, int lid, int pos0, int sink_mode, int rope_base,
                                int n_sink, int span, __global const float *inv_freq)
{
#if HAS_ROPE
    for (int e = lid; e < BLOCK_M * (HEAD_DIM / 2); e += WG_SIZE) {
        const int r = e / (HEAD_DIM / 2), d = e % (HEAD_DIM / 2);
        const int flat = flat0 + r;
        float x1 = 0.0f, x2 = 0.0f;
        if (flat < rm->n_q * rm->group) {
            const long off = (long)(row0 + row_of(rm, flat)) * q_stride +
                             (long)(kvh * rm->group + flat % rm->group) * HEAD_DIM;
            x1 = LOAD_IO1(off + d, q) * q_mul;
            x2 = LOAD_IO1(off + d + HEAD_DIM / 2, q) * q_mul;
        }
        const int i = pos0 + row_query(rm, flat);
        const int pos = sink_mode ? i - max(0, i + 1 - n_sink - span) : i - rope_base;
        float cs, sn;
        rope_angle((float)pos, inv_freq[d], &cs, &sn);
        q_tile[r * ROW_STRIDE + d] = x1 * cs - x2 * sn;
        q_tile[r * ROW_STRIDE + d + HEAD_DIM / 2] = x2 * cs + x1 * sn;
    }
#else
    for (int e = lid; e < BLOCK_M * (HEAD_DIM / 4); e += WG_SIZE) {
        const int r = e / (HEAD_DIM / 4), c = e % (HEAD_DIM / 4);
        const int flat = flat0 + r;
        float4 x = (float4)(0.0f);
        if (flat < rm->n_q * rm->group) {
            const long off = (long)(row0 + row_of(rm, flat)) * q_stride +
                             (long)(kvh * rm->group + flat % rm->group) * HEAD_DIM;
            x = LOAD_IO4(q + off + 4 * c) * q_mul;
        }
        ((__local float4 *)q_tile)[r * (ROW_STRIDE / 4) + c] = x;
    }
#endif
}

#if HAS_ROPE
/* turns the staged keys (cached unrotated) of a tile, positions j0, j0 + stride,
   ..., to their positions in the cache, j - key_shift; one work-item per (key,
   pair of columns) */
static inline void turn_k_tile(__local float *k_tile, int j0, int stride, int jn, int key_shift,
                               int lid, __global const float *inv_freq)
{
    for (int e = lid; e < jn * (HEAD_DIM / 2); e += WG_SIZE) {
        const int jj = e / (HEAD_DIM / 2), d = e % (HEAD_DIM / 2);
        float cs, sn;
        rope_angle((float)(j0 + jj * stride - key_shift), inv_freq[d], &cs, &sn);
        __local float *row = k_tile + jj * ROW_STRIDE;
        const float x1 = row[d], x2 = row[d + HEAD_DIM / 2];
        row[d] = x1 * cs - x2 * sn;
        row[d + HEAD_DIM / 2] = x2 * cs + x1 * sn;
    }
}
#endif

/* S patch of work-item (tm, tn): rows tm + WG_M*a, keys tn + WG_N*b, over head_dim */
static inline void score_tile(__local const float *q_tile, __local const float *k_tile, int tm,
                              int tn, float s[MWI][NWI])
{
#pragma unroll
    for (int a = 0; a < MWI; a++)
#pragma unroll
        for (int b = 0; b < NWI; b++)
            s[a][b] = 0.0f;
#if SCORE_UNROLL > 0
    UNROLL_BY(SCORE_UNROLL)
#else
#pragma unroll
#endif
    for (int c = 0; c < HEAD_DIM / 4; c++) {
        float4 qv[MWI], kv[NWI];
#pragma unroll
        for (int a = 0; a < MWI; a++)
            qv[a] = ((__local const float4 *)q_tile)[(tm + WG_M * a) * (ROW_STRIDE / 4) + c];
#pragma unroll
        for (int b = 0; b < NWI; b++)
            kv[b] = ((__local const float4 *)k_tile)[(tn + WG_N * b) * (ROW_STRIDE / 4) + c];
#pragma unroll
        for (int a = 0; a < MWI; a++)
#pragma unroll
            for (int b = 0; b < NWI; b++) {
                float x = MAD(qv[a].x, kv[b].x, s[a][b]);
                x = MAD(qv[a].y, kv[b].y, x);
                x = MAD(qv[a].z, kv[b].z, x);
                s[a][b] = MAD(qv[a].w, kv[b].w, x);
            }
    }
}

/* O patch += P.V: rows tm + WG_M*a, columns (tn + WG_N*x)*DVEC, over the tile's keys */
static inline void accumulate_pv(__local const float *p_tile, __local const float *v_tile,
                                 int tm, int tn, int jn, DT o[MWI][DX])
{
    for (int jj = 0; jj < jn; jj++) {
        DT vv[DX];
#pragma unroll
        for (int x = 0; x < DX; x++)
            vv[x] = ((__local const DT *)v_tile)[jj * (ROW_STRIDE / DVEC) + tn + WG_N * x];
#pragma unroll
        for (int a = 0; a < MWI; a++) {
            const DT p = (DT)(p_tile[(tm + WG_M * a) * P_STRIDE + jj]);
#pragma unroll
            for (int x = 0; x < DX; x++)
                o[a][x] = MAD(p, vv[x], o[a][x]);
        }
    }
}

__attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
__kernel void attend_tiled(__global const io_t *q, __global const io_t *k, __global const io_t *v,
                           __global io_t *out, __global const kv_t *ring_k,
                           __global const kv_t *ring_v, __global const int *batch_info,
                           int info0, __global float *partial,
                           __global const float *sink_logits, int n_rows, int n_heads,
                           int n_kv_heads, int n_sink, int win_left, int win_right, int dil,
                           int causal, int span, float scale, float softcap, int n_split,
                           __global const float *inv_freq, VIEW_ARGS)
{
    /* float4 arrays: whole-vector local loads need their 16-byte alignment */
    __local float4 q_tile4[BLOCK_M * ROW_STRIDE / 4];
    __local float4 kv_tile4[BLOCK_N * ROW_STRIDE / 4]; /* K, then V, of the current tile */
    __local float *q_tile = (__local float *)q_tile4;
    __local float *kv_tile = (__local float *)kv_tile4;
    __local float p_tile[BLOCK_M * P_STRIDE];
    __local float red[BLOCK_M * WG_N];           /* per-row partials across WG_N */

    const int lid = get_local_id(0);
    const int tm = lid / WG_N, tn = lid % WG_N;
    const int kvh = get_group_id(1);
    const int group = n_heads / n_kv_heads;
    ENTRY_OF_GROUP();

    /* the group's rows, the queries they belong to, and the key ranges their
       band reaches; a block past a shorter entry's rows has nothing to do.
       Dilated, blocks go residue by residue: per_res blocks each. */
#if HAS_DILATION
    const int per_res = ((rows_cap + dil - 1) / dil * group + BLOCK_M - 1) / BLOCK_M;
    const int res = (int)get_group_id(0) / per_res;
    const row_map rm = {res, dil, n_rows > res ? (n_rows - res + dil - 1) / dil : 0, group};
    const int flat0 = (int)get_group_id(0) % per_res * BLOCK_M;
#else
    const row_map rm = {0, 1, n_rows, group};
    const int flat0 = (int)get_group_id(0) * BLOCK_M;
#endif
    if (flat0 >= rm.n_q * group)
        return;
    const int i_first = pos0 + row_query(&rm, flat0);
    const int i_last = pos0 + row_query(&rm, flat0 + BLOCK_M - 1);
    const key_ranges kr =
        band_ranges(i_first, i_last, pos0 + n_rows, n_sink, win_left, win_right, causal, dil);
    const int t_begin = (int)((long)kr.n_tiles * split / n_split);
    const int t_end = (int)((long)kr.n_tiles * (split + 1) / n_split);

#if HAS_SOFTCAP
    const float q_mul = scale;
#else
    const float q_mul = scale * LOG2E;
#endif
#if HAS_ROPE
    const int rope_base = max(0, i_first + 1 - n_sink - span);
    int q_sink_mode = -1; /* which turn of Q is staged; none yet */
#else
    stage_q_tile(q_tile, q, flat0, &rm, row0, q_stride, kvh, q_mul, lid, pos0, 0, 0, n_sink,
                 span, inv_freq);
#endif

    int i_row[MWI];
    float m[MWI], l[MWI];
    DT o[MWI][DX];
#pragma unroll
    for (int a = 0; a < MWI; a++) {
        i_row[a] = pos0 + row_query(&rm, flat0 + tm + WG_M * a);
        m[a] = NEG_BIG;
        l[a] = 0.0f;
#pragma unroll
        for (int x = 0; x < DX; x++)
            o[a][x] = (DT)(0.0f);
    }

    for (int t = t_begin; t < t_end; t++) {
        int j0, range, stride;
        const int jn = range_tile(&kr, t, &j0, &range, &stride);
        /* a full tile every row sees whole needs no mask */
        const int interior =
            jn == BLOCK_N && (range == 0 || range == 3 ||
                              (j0 >= i_last - win_left &&
                               j0 + (BLOCK_N - 1) * stride <= i_first + win_right));
        const int ring_keys = (pos0 - j0 + stride - 1) / stride; /* before pos0: in the ring */
        const tile_addr ring_at = tile_address(j0, stride, 1, pos0, row0, ring_seq, n_sink, span,
                                               n_kv_heads, kvh, kv_stride);
        const tile_addr fresh_at = tile_address(j0, stride, 0, pos0, row0, ring_seq, n_sink, span,
                                                n_kv_heads, kvh, kv_stride);
        /* the previous tile's V and P are no longer read */
        barrier(CLK_LOCAL_MEM_FENCE);
#if HAS_ROPE
        const int sink_keys = range != 2;
        if (sink_keys != q_sink_mode) {
            q_sink_mode = sink_keys;
            stage_q_tile(q_tile, q, flat0, &rm, row0, q_stride, kvh, q_mul, lid, pos0,
                         q_sink_mode, rope_base, n_sink, span, inv_freq);
        }
#endif
        stage_kv_tile(kv_tile, &ring_at, &fresh_at, ring_keys, ring_k, k, jn, lid);
        barrier(CLK_LOCAL_MEM_FENCE);
#if HAS_ROPE
        turn_k_tile(kv_tile, j0, stride, jn, range != 2 ? 0 : rope_base, lid, inv_freq);
        barrier(CLK_LOCAL_MEM_FENCE);
#endif
        float s[MWI][NWI];
        score_tile(q_tile, kv_tile, tm, tn, s);

        /* scores in base 2, capped, masked; each row's tile maximum to red */
#pragma unroll
        for (int a = 0; a < MWI; a++) {
            float mx = NEG_BIG;
#pragma unroll
            for (int bb = 0; bb < NWI; bb++) {
                const int jj = tn + WG_N * bb;
                float x = s[a][bb];
#if HAS_SOFTCAP
                x = softcap * tanh(x / softcap) * LOG2E;
#endif
                if (!interior &&
                    (jj >= jn || !band_visible(i_row[a], j0 + jj * stride, n_sink, win_left,
                                               win_right, dil, causal)))
                    x = -INFINITY;
                s[a][bb] = x;
                mx = fmax(mx, x);
            }
            red[(tm + WG_M * a) * WG_N + tn] = mx;
        }
        /* every row's partial maxima are in, and K is no longer read */
        barrier(CLK_LOCAL_MEM_FENCE);
        stage_kv_tile(kv_tile, &ring_at, &fresh_at, ring_keys, ring_v, v, jn, lid);
#pragma unroll
        for (int a = 0; a < MWI; a++) {
            const int r = tm + WG_M * a;
            float m_new = m[a];
            for (int u = 0; u < WG_N; u++)
                m_new = fmax(m_new, red[r * WG_N + u]);
            const float alpha = exp2(m[a] - m_new);
            float sum = 0.0f;
#pragma unroll
            for (int bb = 0; bb < NWI; bb++) {
                const float p = exp2(s[a][bb] - m_new);
                sum += p;
                p_tile[r * P_STRIDE + tn + WG_N * bb] = p;
            }
            l[a] = mad(l[a], alpha, sum);
            m[a] = m_new;
#pragma unroll
            for (int x = 0; x < DX; x++)
                o[a][x] *= alpha;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        accumulate_pv(p_tile, kv_tile, tm, tn, jn, o);
    }

    /* row sums: the WG_N partial sums of each row */
    barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
    for (int a = 0; a < MWI; a++)
        red[(tm + WG_M * a) * WG_N + tn] = l[a];
    barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
    for (int a = 0; a < MWI; a++) {
        const int r = tm + WG_M * a;
        const int flat = flat0 + r;
        if (flat >= rm.n_q * group)
            continue;
        float l_row = 0.0f;
        for (int u = 0; u < WG_N; u++)
            l_row += red[r * WG_N + u];
        const int qi = row_of(&rm, flat), h = kvh * group + flat % group;
        if (n_split > 1) {
            __global float *p = partial + ((((long)b * rows_cap + qi) * n_heads + h) * n_split +
                                           split) * (2 + HEAD_DIM);
            if (tn == 0) {
                p[0] = m[a];
                p[1] = l_row;
            }
#pragma unroll
            for (int x = 0; x < DX; x++)
                VSTORE_D(o[a][x], tn + WG_N * x, p + 2);
            continue;
        }
        float scale_out = 1.0f;
#if HAS_SINK_LOGITS
        const float sl = sink_logits[h] * LOG2E;
        const float m2 = fmax(m[a], sl);
        scale_out = exp2(m[a] - m2);
        l_row = l_row * scale_out + exp2(sl - m2);
#endif
        const float inv = l_row > 0.0f ? scale_out / l_row : 0.0f; /* no visible key: zeros */
        __global io_t *dst = out + ((long)row0 + qi) * out_stride + (long)h * HEAD_DIM;
#pragma unroll
        for (int x = 0; x < DX; x++)
            STORE_IO_D(o[a][x] * inv, tn + WG_N * x, dst);
    }
}
#endif /* TILED */

#if !TILED && DECODE_GH == 0
/* Where attend reads a tile's K or V rows: the staged local tile, or (DIRECT_KV)
 * the ring or the chunk in global memory at the rows' offsets koff. */
typedef struct rows_src {
    __local const float *tile;
    __global const kv_t *ring;
    __global const io_t *fresh;
    const long *koff;
    int from_ring;
} rows_src;
#if DIRECT_KV
#define ROW_VEC(src, jj, c)                                                                    \
    ((src)->from_ring ? LOAD_KV(c, (src)->ring + (src)->koff[jj])                              \
                      : LOAD_IO(c, (src)->fresh + (src)->koff[jj]))
#else
#define ROW_VEC(src, jj, c) VLOAD_F((jj) * N_VEC + (c), (src)->tile)
#endif

#if !DIRECT_KV
/* Stages a tile for attend as fp32: V row-major, K transposed or row-major
   (K_AT); keys past jn are zeros so no garbage is read. */
static inline void stage_rows_tile(__local float *k_tile, __local float *v_tile,
                                   const tile_addr *ta, int from_ring,
                                   __global const kv_t *ring_k, __global const kv_t *ring_v,
                                   __global const io_t *k, __global const io_t *v, int jn,
                                   int lid, int wg_size)
{
#if CONTIGUOUS
    const int e_per = (BLOCK_N * N_VEC + wg_size - 1) / wg_size;
    const int e_end = min(BLOCK_N * N_VEC, (lid + 1) * e_per);
    for (int e = lid * e_per; e < e_end; e++) {
#else
    for (int e = lid; e < BLOCK_N * N_VEC; e += wg_size) {
#endif
        const int jj = e / N_VEC, c = e % N_VEC;
        VT kx = (VT)(0.0f), vx = (VT)(0.0f);
        if (jj < jn) {
            const long off = tile_key_offset(ta, jj);
            if (from_ring) {
                kx = LOAD_KV(c, ring_k + off);
                vx = LOAD_KV(c, ring_v + off);
            } else {
                kx = LOAD_IO(c, k + off);
                vx = LOAD_IO(c, v + off);
            }
        }
        VSTORE_F(vx, jj * N_VEC + c, v_tile);
#if K_TRANSPOSED
        float lanes[VEC];
        VSTORE_F(kx, 0, lanes);
        for (int x = 0; x < VEC; x++)
            k_tile[K_AT(c * VEC + x, jj)] = lanes[x];
#else
        VSTORE_F(kx, jj * N_VEC + c, k_tile);
#endif
    }
}
#endif

#if HAS_ROPE
/* turns the staged keys (cached unrotated) to their positions j - key_shift;
   one work-item per key, pairs (d, d + HEAD_DIM/2) */
static inline void turn_staged_keys(__local float *k_tile, int j0, int stride, int jn,
                                    int key_shift, int lid, int wg_size,
                                    __global const float *inv_freq)
{
    for (int jj = lid; jj < jn; jj += wg_size) {
        const float pos = (float)(j0 + jj * stride - key_shift);
        for (int d = 0; d < HEAD_DIM / 2; d++) {
            float cs, sn;
            rope_angle(pos, inv_freq[d], &cs, &sn);
            const float x1 = k_tile[K_AT(d, jj)];
            const float x2 = k_tile[K_AT(d + HEAD_DIM / 2, jj)];
            k_tile[K_AT(d, jj)] = x1 * cs - x2 * sn;
            k_tile[K_AT(d + HEAD_DIM / 2, jj)] = x2 * cs + x1 * sn;
        }
    }
}
#endif

/* Register blocking: a work-item owns RPI query heads of one kv head at one
 * position (same band, same mask), so every K and V vector it loads serves RPI
 * rows, and each query or weight broadcast serves several key or value vectors.
 * Loads per multiply-add drop from about 2 (one row) to 0.75 (four rows).
 * KEY_VECS: vectors of scores per row and tile. S_VECS: key vectors scored
 * together, O_VECS: output vectors accumulated together; both keep about eight
 * independent multiply-add chains in flight. */
#define RPI ROWS_PER_ITEM
#define KEY_VECS (BLOCK_N / VEC)
#if RPI == 1 && KEY_VECS % 4 == 0
#define S_VECS 4
#elif RPI <= 4 && KEY_VECS % 2 == 0
#define S_VECS 2
#else
#define S_VECS 1
#endif
#if N_VEC % (8 / RPI) == 0
#define O_VECS (8 / RPI)
#elif RPI <= 2 && N_VEC % 4 == 0
#define O_VECS 4
#elif N_VEC % 2 == 0
#define O_VECS 2
#else
#define O_VECS 1
#endif

/* The tile's scores (scaled) for the item's RPI query rows qp ([RPI][HEAD_DIM]):
   sc is [RPI][KEY_VECS], VEC keys per vector. */
static inline void score_rows_tile(const float *qp, const rows_src *K, VT *sc)
{
#if K_TRANSPOSED
    /* outer products: per head_dim element, S_VECS key vectors times RPI
       broadcast query elements; no horizontal sums */
    for (int c0 = 0; c0 < KEY_VECS; c0 += S_VECS) {
        __local const float *kc = K->tile + c0 * VEC;
        VT a[RPI][S_VECS];
        UNROLL_ALL for (int r = 0; r < RPI; r++)
            UNROLL_ALL for (int x = 0; x < S_VECS; x++)
                a[r][x] = (VT)(0.0f);
        for (int d = 0; d < HEAD_DIM; d++) {
            VT kd[S_VECS];
            UNROLL_ALL for (int x = 0; x < S_VECS; x++)
                kd[x] = VLOAD_F(x, kc + d * BLOCK_N);
            UNROLL_ALL for (int r = 0; r < RPI; r++) {
                const VT qb = (VT)(qp[r * HEAD_DIM + d]);
                UNROLL_ALL for (int x = 0; x < S_VECS; x++)
                    a[r][x] = MAD(qb, kd[x], a[r][x]);
            }
        }
        UNROLL_ALL for (int r = 0; r < RPI; r++)
            UNROLL_ALL for (int x = 0; x < S_VECS; x++)
                sc[r * KEY_VECS + c0 + x] = a[r][x];
    }
#else
    /* dot products over head_dim, a few keys at a time so their multiply-add
       chains overlap, then one horizontal sum per key and row */
#define S_KEYS (RPI >= 4 ? 1 : 4 / RPI)
    float row_s[RPI * BLOCK_N];
    for (int jj = 0; jj < BLOCK_N; jj += S_KEYS) {
        VT a[RPI][S_KEYS];
        UNROLL_ALL for (int r = 0; r < RPI; r++)
            UNROLL_ALL for (int x = 0; x < S_KEYS; x++)
                a[r][x] = (VT)(0.0f);
        for (int c = 0; c < N_VEC; c++) {
            VT kc[S_KEYS];
            UNROLL_ALL for (int x = 0; x < S_KEYS; x++)
                kc[x] = ROW_VEC(K, jj + x, c);
            UNROLL_ALL for (int r = 0; r < RPI; r++) {
                const VT qc = VLOAD_F(c, qp + r * HEAD_DIM);
                UNROLL_ALL for (int x = 0; x < S_KEYS; x++)
                    a[r][x] = MAD(qc, kc[x], a[r][x]);
            }
        }
        UNROLL_ALL for (int r = 0; r < RPI; r++)
            UNROLL_ALL for (int x = 0; x < S_KEYS; x++)
                row_s[r * BLOCK_N + jj + x] = HSUM(a[r][x]);
    }
    for (int c = 0; c < RPI * KEY_VECS; c++)
        sc[c] = VLOAD_F(c, row_s);
#undef S_KEYS
#endif
}

/* acc = acc * alpha + the tile's values weighted by p, for RPI rows (acc is
   [RPI][N_VEC], p [RPI][BLOCK_N]): O_VECS output vectors at a time, key by key,
   in registers; each value vector loaded serves RPI rows. Keys past jn have
   weight 0 and are skipped. */
static inline void accumulate_pv_rows(const float *p, const float *alpha, const rows_src *V,
                                      int jn, VT *acc)
{
    for (int c0 = 0; c0 < N_VEC; c0 += O_VECS) {
        VT o[RPI][O_VECS];
        UNROLL_ALL for (int r = 0; r < RPI; r++)
            UNROLL_ALL for (int x = 0; x < O_VECS; x++)
                o[r][x] = acc[r * N_VEC + c0 + x] * alpha[r];
        for (int jj = 0; jj < jn; jj++) {
            VT vj[O_VECS];
            UNROLL_ALL for (int x = 0; x < O_VECS; x++)
                vj[x] = ROW_VEC(V, jj, c0 + x);
            UNROLL_ALL for (int r = 0; r < RPI; r++) {
                const VT pr = (VT)(p[r * BLOCK_N + jj]);
                UNROLL_ALL for (int x = 0; x < O_VECS; x++)
                    o[r][x] = MAD(pr, vj[x], o[r][x]);
            }
        }
        UNROLL_ALL for (int r = 0; r < RPI; r++)
            UNROLL_ALL for (int x = 0; x < O_VECS; x++)
                acc[r * N_VEC + c0 + x] = o[r][x];
    }
}

__kernel void attend(__global const io_t *q, __global const io_t *k, __global const io_t *v,
                     __global io_t *out, __global const kv_t *ring_k,
                     __global const kv_t *ring_v,
                     __global const int *batch_info, /* INFO_INTS per entry (common.h.cl) */
                     int info0, /* entry of batch 0, so one upload serves many launches */
                     __global float *partial,        /* n_split > 1: [row][h][split][2+HEAD_DIM] */
                     __global const float *sink_logits, int n_rows, int n_heads,
                     int n_kv_heads, int n_sink, int win_left, int win_right, int dil, int causal,
                     int span, float scale, float softcap, int n_split,
                     __global const float *inv_freq, /* HAS_ROPE: HEAD_DIM/2 frequencies */
                     VIEW_ARGS)
{
    const int h0 = get_global_id(1) * RPI; /* the item's first query head */
    const int kvh = get_group_id(1);
    ENTRY_OF_GROUP();
    /* The group's queries: BLOCK_M consecutive rows, or, dilated, BLOCK_M rows of
       one residue modulo dil (rows res, res + dil, ...), whose bands share their
       keys: dil residues x per_res blocks each along dimension 0. Rows past the
       entry's repeat its last row of the group's residue and write nothing. */
#if HAS_DILATION
    const int per_res = ((rows_cap + dil - 1) / dil + BLOCK_M - 1) / BLOCK_M;
    const int res = get_group_id(0) / per_res;
    const int t0 = (get_group_id(0) % per_res) * BLOCK_M;
    const int n_res = n_rows > res ? (n_rows - res + dil - 1) / dil : 0;
    if (t0 >= n_res)
        return; /* a whole work-group past a shorter entry's rows */
    const int tr = t0 + get_local_id(0); /* the item's row among its residue's */
    const int valid = tr < n_res;
    const int qi = res + dil * (valid ? tr : n_res - 1);
    const int i_first = pos0 + res + dil * t0;
    const int i_last = pos0 + res + dil * (min(t0 + BLOCK_M, n_res) - 1);
#else
    const int g0 = get_group_id(0) * BLOCK_M;
    if (g0 >= n_rows)
        return; /* a whole work-group past a shorter entry's rows */
    const int valid = g0 + (int)get_local_id(0) < n_rows;
    const int qi = valid ? g0 + get_local_id(0) : n_rows - 1;
    const int i_first = pos0 + g0;
    const int i_last = min(i_first + BLOCK_M, pos0 + n_rows) - 1;
#endif
    const int i = pos0 + qi;

    /* the segments of keys the group's band can reach */
    segment seg[8];
    const int n_seg = band_segments(seg, i_first, i_last, pos0 + n_rows, pos0, n_sink, win_left,
                                    win_right, causal, dil);
    int t_begin, t_end;
    split_tiles(seg, n_seg, split, n_split, &t_begin, &t_end);

    /* this work-item's query row, pre-multiplied by the score scale (and log2 e
       when there is no softcap, so scores come out in base 2) */
#if HAS_SOFTCAP
    const float q_mul = scale;
#else
    const float q_mul = scale * LOG2E;
#endif
    const long q_row = (long)(row0 + qi) * q_stride + (long)h0 * HEAD_DIM;
    float qs[RPI * HEAD_DIM];
    VT acc[RPI * N_VEC];
    for (int c = 0; c < RPI * N_VEC; c++)
        acc[c] = (VT)(0.0f);
#if HAS_ROPE
    /* StreamingLLM positions inside the cache: sinks keep their own, the window
       follows them in age order, so the query sits at i - evicted(i) for sink
       keys. Window keys only need the right distance i - j: they and the query
       are turned relative to the group's base, which keeps every angle small.
       Both rotations read the row straight from q: PoCL 3.1's loop vectorizer
       ran this part twice for one work-item (4+ query heads per kv head, one
       query row per group), which must then give the same result again. */
    const int rope_base = max(0, i_first + 1 - n_sink - span);
    float q_plain[HEAD_DIM], qs_sink[RPI * HEAD_DIM];
    for (int r = 0; r < RPI; r++) {
        for (int c = 0; c < N_VEC; c++)
            VSTORE_F(LOAD_IO(c, q + q_row + r * HEAD_DIM) * q_mul, c, q_plain);
        rope_row(q_plain, qs + r * HEAD_DIM, i - rope_base, inv_freq);
        rope_row(q_plain, qs_sink + r * HEAD_DIM, i - max(0, i + 1 - n_sink - span), inv_freq);
    }
#else
    for (int c = 0; c < RPI * N_VEC; c++)
        VSTORE_F(LOAD_IO(c, q + q_row) * q_mul, c, qs);
#endif
    float m[RPI], l[RPI];
    for (int r = 0; r < RPI; r++) {
        m[r] = NEG_BIG;
        l[r] = 0.0f;
    }

    /* K tile transposed ([HEAD_DIM][BLOCK_N]) when many rows share it, so scores
       of VEC keys come from one vector multiply-add per head_dim element with no
       horizontal sums; row-major ([BLOCK_N][HEAD_DIM]) when few do, where the
       transposing stores would cost more than they save. V tile row-major. Local
       memory is ordinary cached memory on CPUs. */
#if !DIRECT_KV
    __local float k_tile[HEAD_DIM * BLOCK_N];
    __local float v_tile[BLOCK_N * HEAD_DIM];
    const int lid = get_local_id(1) * BLOCK_M + get_local_id(0);
#endif

    int s = 0, seg_tile0 = 0;
    for (int t = t_begin; t < t_end; t++) {
        int j0;
        const int jn = seek_tile(seg, t, &s, &seg_tile0, &j0);
        const int from_ring = seg[s].from_ring;
#if HAS_ROPE
        const float *qp = seg[s].sink_keys ? qs_sink : qs;
        const int key_shift = seg[s].sink_keys ? 0 : rope_base;
#else
        const float *qp = qs;
#endif
        const int interior = tile_interior(&seg[s], j0, jn, i_first, i_last, win_left, win_right);

        const int stride = seg[s].stride;
        const tile_addr ta = tile_address(j0, stride, from_ring, pos0, row0, ring_seq, n_sink,
                                          span, n_kv_heads, kvh, kv_stride);
#if DIRECT_KV
        /* row offsets of the tile's keys; keys past jn repeat the first (their
           weight is zero, so any finite row will do) */
        long koff[BLOCK_N];
        for (int jj = 0; jj < BLOCK_N; jj++)
            koff[jj] = tile_key_offset(&ta, jj < jn ? jj : 0);
        const rows_src K = {0, ring_k, k, koff, from_ring}, V = {0, ring_v, v, koff, from_ring};
#else
        stage_rows_tile(k_tile, v_tile, &ta, from_ring, ring_k, ring_v, k, v, jn, lid, WG_SIZE);
        barrier(CLK_LOCAL_MEM_FENCE);
        const rows_src K = {k_tile, ring_k, k, 0, 0}, V = {v_tile, ring_v, v, 0, 0};
#endif
#if HAS_ROPE
        turn_staged_keys(k_tile, j0, stride, jn, key_shift, lid, WG_SIZE, inv_freq);
        barrier(CLK_LOCAL_MEM_FENCE);
#endif
        VT sc[RPI * KEY_VECS];
        score_rows_tile(qp, &K, sc);
        float p[RPI * BLOCK_N], alpha[RPI];
        for (int r = 0; r < RPI; r++)
            alpha[r] = softmax_step(sc + r * KEY_VECS, p + r * BLOCK_N, interior, i, j0, stride,
                                    jn, n_sink, win_left, win_right, dil, causal, softcap, m + r,
                                    l + r);
        accumulate_pv_rows(p, alpha, &V, jn, acc);
        /* the tile is overwritten next */
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    if (!valid)
        return;
    const long prow = (long)b * rows_cap + qi; /* launch-local row */
    for (int r = 0; r < RPI; r++) {
        const int h = h0 + r;
        write_row(m[r], l[r], acc + r * N_VEC, n_split,
                  partial + ((prow * n_heads + h) * n_split + split) * (2 + HEAD_DIM), sink_logits,
                  h, out + ((long)row0 + qi) * out_stride + (long)h * HEAD_DIM);
    }
}

#endif /* !TILED && DECODE_GH == 0 */

#if !TILED && DECODE_GH > 0
/* loads key rows off0, off1 of K into k0, k1 and, when STAGE_V, stages both value
   rows (an fp32 ring's values are read in place instead) */
#define LOAD_ROWS(K, V, LOAD, STAGE_V)                                                 \
    do {                                                                                \
        _Pragma("unroll") for (int c = 0; c < N_VEC; c++)                               \
        {                                                                               \
            k0[c] = LOAD(c, K + off0);                                                  \
            k1[c] = LOAD(c, K + off1);                                                  \
            if (STAGE_V) {                                                              \
                VSTORE_F(LOAD(c, V + off0), jj * N_VEC + c, v_tile);                    \
                VSTORE_F(LOAD(c, V + off1), (jj + 1) * N_VEC + c, v_tile);              \
            }                                                                           \
        }                                                                               \
    } while (0)

#if HAS_ROPE
/* turns a key row (cached unrotated) to position pos */
static inline void turn_row(VT *row, int pos, __global const float *inv_freq)
{
    float plain[HEAD_DIM], turned[HEAD_DIM];
    for (int c = 0; c < N_VEC; c++)
        VSTORE_F(row[c], c, plain);
    rope_row(plain, turned, pos, inv_freq);
    for (int c = 0; c < N_VEC; c++)
        row[c] = VLOAD_F(c, turned);
}
#endif

/* Decode (one query row per batch entry) for CPUs: a work-item serves DECODE_GH
 * query heads of one kv head and streams its split of the keys, so each K/V row
 * is loaded and converted once for all of them (attend gives every query head its
 * own work-item, which converts every row again).
 * Global (n_split, n_kv_heads * n_hchunks, n_batch), local (1, 1, 1), where a kv
 * head's G query heads come in n_hchunks = ceil(G / DECODE_GH) runs. Arguments,
 * partials and outputs as attend (n_rows is 1), plus append. */
__kernel void attend_decode(__global const io_t *q, __global const io_t *k,
                            __global const io_t *v, __global io_t *out,
                            __global kv_t *ring_k, __global kv_t *ring_v,
                            __global const int *batch_info, int info0, __global float *partial,
                            __global const float *sink_logits, int n_rows, int n_heads,
                            int n_kv_heads, int n_sink, int win_left, int win_right, int dil,
                            int causal, int span, float scale, float softcap, int n_split,
                            __global const float *inv_freq, VIEW_ARGS, int append)
{
    const int split = get_global_id(0);
    const int group = n_heads / n_kv_heads;
    const int n_hchunks = (group + DECODE_GH - 1) / DECODE_GH;
    const int kvh = get_global_id(1) / n_hchunks;
    const int h0 = kvh * group + (get_global_id(1) % n_hchunks) * DECODE_GH;
    const int n_g = min(DECODE_GH, kvh * group + group - h0); /* heads past n_g repeat the last */
    const int b = get_global_id(2);
    batch_info += INFO_INTS * info0;
    APPLY_VIEWS();
    const int ring_seq = INFO_RING_SEQ(b);
    const int i = INFO_POS0(b);
    const int row0 = INFO_ROW0(b);

    /* append = 1: also write the new token's K/V into its ring slot (as append.cl
       does), saving a launch. No key of this launch reads that slot: the band
       reaches back fewer than span positions. */
    if (append && split == 0 && h0 == kvh * group) {
        const long src = (long)row0 * kv_stride + (long)kvh * HEAD_DIM;
        const long dst = ring_row(ring_seq, kvh, ring_slot(i, n_sink, span), n_kv_heads,
                                  n_sink + span) * HEAD_DIM;
        for (int c = 0; c < N_VEC; c++) {
            STORE_KV(LOAD_IO(c, k + src), c, ring_k + dst);
            STORE_KV(LOAD_IO(c, v + src), c, ring_v + dst);
        }
    }

    segment seg[8];
    const int n_seg = band_segments(seg, i, i, i + 1, i, n_sink, win_left, win_right, causal, dil);
    int t_begin, t_end;
    split_tiles(seg, n_seg, split, n_split, &t_begin, &t_end);

#if HAS_SOFTCAP
    const float q_mul = scale;
#else
    const float q_mul = scale * LOG2E;
#endif
    /* query rows, scaled (and turned: with one query, sink and window keys share
       its position in the cache, and window keys are turned relative to rope_base) */
    float qs[DECODE_GH][HEAD_DIM];
    VT acc[DECODE_GH][N_VEC];
    float m[DECODE_GH], l[DECODE_GH];
#if HAS_ROPE
    const int rope_base = max(0, i + 1 - n_sink - span);
#endif
    for (int g = 0; g < DECODE_GH; g++) {
        const long q_row = (long)row0 * q_stride + (long)(h0 + min(g, n_g - 1)) * HEAD_DIM;
#if HAS_ROPE
        float q_plain[HEAD_DIM];
        for (int c = 0; c < N_VEC; c++)
            VSTORE_F(LOAD_IO(c, q + q_row) * q_mul, c, q_plain);
        rope_row(q_plain, qs[g], i - rope_base, inv_freq);
#else
        for (int c = 0; c < N_VEC; c++)
            VSTORE_F(LOAD_IO(c, q + q_row) * q_mul, c, qs[g]);
#endif
        for (int c = 0; c < N_VEC; c++)
            acc[g][c] = (VT)(0.0f);
        m[g] = NEG_BIG;
        l[g] = 0.0f;
    }

    float sc[DECODE_GH][BLOCK_N]; /* scores, then weights */
    float v_tile[BLOCK_N * HEAD_DIM];  /* the tile's values as fp32, row-major */
    int s = 0, seg_tile0 = 0;
    for (int t = t_begin; t < t_end; t++) {
        int j0;
        const int jn = seek_tile(seg, t, &s, &seg_tile0, &j0);
        const int from_ring = seg[s].from_ring;
        const int stride = seg[s].stride;
        const tile_addr ta = tile_address(j0, stride, from_ring, i, row0, ring_seq, n_sink, span,
                                          n_kv_heads, kvh, kv_stride);
        /* scores past jn are masked later; give them a value until then */
        for (int g = 0; g < DECODE_GH; g++)
            for (int jj = jn; jj < BLOCK_N; jj++)
                sc[g][jj] = 0.0f;
        /* each key row once: its scores for every head, its values staged. Two
           keys per step give 2 * DECODE_GH independent multiply-add chains, and
           each query vector loaded serves both; an odd last key is done twice. */
        for (int jj = 0; jj < jn; jj += 2) {
            const long off0 = tile_key_offset(&ta, jj);
            const long off1 = jj + 1 < jn ? tile_key_offset(&ta, jj + 1) : off0;
            VT k0[N_VEC], k1[N_VEC];
            if (from_ring)
                LOAD_ROWS(ring_k, ring_v, LOAD_KV, KV_HALF);
            else
                LOAD_ROWS(k, v, LOAD_IO, 1);
#if HAS_ROPE
            {
                const int shift = seg[s].sink_keys ? 0 : rope_base;
                turn_row(k0, j0 + jj * stride - shift, inv_freq);
                turn_row(k1, j0 + (jj + 1) * stride - shift, inv_freq);
            }
#endif
            VT a0[DECODE_GH], a1[DECODE_GH];
#pragma unroll
            for (int g = 0; g < DECODE_GH; g++)
                a0[g] = a1[g] = (VT)(0.0f);
#pragma unroll
            for (int c = 0; c < N_VEC; c++) {
#pragma unroll
                for (int g = 0; g < DECODE_GH; g++) {
                    const VT qc = VLOAD_F(c, qs[g]);
                    a0[g] = MAD(qc, k0[c], a0[g]);
                    a1[g] = MAD(qc, k1[c], a1[g]);
                }
            }
#pragma unroll
            for (int g = 0; g < DECODE_GH; g++) {
                sc[g][jj] = HSUM(a0[g]);
                sc[g][jj + 1] = HSUM(a1[g]); /* BLOCK_N is even: always in the tile */
            }
        }
        const int interior = tile_interior(&seg[s], j0, jn, i, i, win_left, win_right);
        for (int g = 0; g < DECODE_GH; g++) {
            VT sv[BLOCK_N / VEC];
            for (int c = 0; c < BLOCK_N / VEC; c++)
                sv[c] = VLOAD_F(c, sc[g]);
            const float alpha = softmax_step(sv, sc[g], interior, i, j0, stride, jn, n_sink,
                                             win_left, win_right, dil, causal, softcap, &m[g],
                                             &l[g]);
            /* weighted values into registers, key by key */
            VT o[N_VEC];
#pragma unroll
            for (int c = 0; c < N_VEC; c++)
                o[c] = acc[g][c] * alpha;
#if !KV_HALF
            if (from_ring) { /* fp32 ring rows need no conversion: read in place */
                for (int jj = 0; jj < jn; jj++) {
                    const VT pj = (VT)(sc[g][jj]);
                    __global const float *vr = ring_v + tile_key_offset(&ta, jj);
#pragma unroll
                    for (int c = 0; c < N_VEC; c++)
                        o[c] = MAD(pj, VLOAD_F(c, vr), o[c]);
                }
            } else
#endif
            for (int jj = 0; jj < jn; jj++) {
                const VT pj = (VT)(sc[g][jj]);
#pragma unroll
                for (int c = 0; c < N_VEC; c++)
                    o[c] = MAD(pj, VLOAD_F(jj * N_VEC + c, v_tile), o[c]);
            }
#pragma unroll
            for (int c = 0; c < N_VEC; c++)
                acc[g][c] = o[c];
        }
    }

    for (int g = 0; g < n_g; g++) {
        const int h = h0 + g;
        write_row(m[g], l[g], acc[g], n_split,
                  partial + (((long)b * n_heads + h) * n_split + split) * (2 + HEAD_DIM),
                  sink_logits, h, out + (long)row0 * out_stride + (long)h * HEAD_DIM);
    }
}
#endif /* !TILED && DECODE_GH > 0 */

/* Merges the n_split partial (max, sum, acc) of each (row, head) written by
 * attend. Global (N_VEC, n_heads, n_batch * n_rows): one output vector each. */
__kernel void attend_merge(__global const float *partial, __global io_t *out,
                           __global const float *sink_logits, __global const int *batch_info,
                           int info0, int n_rows, int n_heads, int n_split, long out_off,
                           int out_stride)
{
    batch_info += INFO_INTS * info0;
    out += out_off;
    const int c = get_global_id(0);
    const int h = get_global_id(1);
    const long prow = get_global_id(2); /* n_rows per entry: the launch's largest */
    const int b = (int)(prow / n_rows), t = (int)(prow % n_rows);
    if (t >= INFO_ROWS(b))
        return;
    const long row = (long)INFO_ROW0(b) + t;
    __global const float *p = partial + (prow * n_heads + h) * n_split * (2 + HEAD_DIM);
    float m = NEG_BIG;
    for (int s = 0; s < n_split; s++)
        m = fmax(m, p[s * (2 + HEAD_DIM)]);
#if HAS_SINK_LOGITS
    const float sl = sink_logits[h] * LOG2E;
    m = fmax(m, sl);
    float l = exp2(sl - m);
#else
    float l = 0.0f;
#endif
    VT acc = (VT)(0.0f);
    for (int s = 0; s < n_split; s++) {
        __global const float *ps = p + s * (2 + HEAD_DIM);
        const float a = exp2(ps[0] - m);
        l = mad(ps[1], a, l);
        acc = mad((VT)(a), VLOAD_F(c, ps + 2), acc);
    }
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    STORE_IO(acc * inv, c, out + row * out_stride + (long)h * HEAD_DIM);
}
