/* attend.cl — band-masked flash attention (online softmax over key tiles) for
 * one-shot prefill, chunked prefill and batched decode, plus the merge of
 * flash-decoding splits. Keys come from two sources: the KV ring (positions
 * before the chunk) and the chunk's own fresh K/V, so a chunk never depends on
 * ring slots it is about to overwrite.
 *
 * Work layout: local (BLOCK_M, G, 1), global (n_qblocks*BLOCK_M, n_heads,
 * n_batch*n_split) with G = n_heads / n_kv_heads, so a work-group owns BLOCK_M
 * queries of one batch entry for one kv head and all its query heads: each K/V
 * tile is read once per group. The band for query i is
 *     j < n_sink  or  (i - win_left <= j <= i + win_right and (i - j) % dil == 0)
 * (causal: win_right = 0; bidirectional: win_left = win_right = W - 1; full:
 * reach 1 << 30); causal sinks need j <= i as well. The key range of a
 * work-group comes from the band, so tiles outside it are never loaded; tiles
 * the whole group sees skip masking.
 *
 * Measured on PoCL (AMD EPYC, 2 vCPUs): block_m 32 ran the Mistral shape
 * (32/8 heads, hd 128) 10-15% faster than 16; the laptop shape (8/2, hd 64,
 * W 512, n 4096) runs in about 63 ms, 64 useful GFLOP/s. */

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
#ifndef DECODE_GH
#define DECODE_GH 0   /* > 0: build attend_decode with this many query heads per
                         work-item instead of attend */
#endif

#define WG_SIZE (BLOCK_M * (int)get_local_size(1)) /* G = local size 1 */
#define LOG2E 1.4426950408889634f
/* finite "minus infinity" for the running max: exp2(m_old - m_new) stays defined
 * even while every key so far was masked */
#define NEG_BIG (-3.0e38f)

/* one segment of keys [j_begin, j_end) from one source */
typedef struct segment {
    int j_begin, j_end;
    int from_ring;
    int all_visible; /* pinned sinks before the band: every query of the group sees them */
    int sink_keys;   /* keys below n_sink (their RoPE position is their own) */
} segment;

/* appends [a, b) split at the chunk start pos0 (ring before, fresh after) */
inline int add_segments(segment *seg, int n, int a, int b, int pos0, int all_visible,
                        int sink_keys)
{
    const int cut = clamp(pos0, a, max(a, b));
    if (cut > a)
        seg[n++] = (segment){a, cut, 1, all_visible, sink_keys};
    if (b > cut)
        seg[n++] = (segment){cut, b, 0, all_visible, sink_keys};
    return n;
}

inline int band_visible(int i, int j, int n_sink, int win_left, int win_right, int dil,
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

/* The key segments queries [i_first, i_last] reach among keys [0, key_end):
 * pinned sinks before the band, the band split where sink keys end, and (when
 * not causal) sinks after the band; each split again at the chunk start pos0.
 * At most 8. */
inline int band_segments(segment *seg, int i_first, int i_last, int key_end, int pos0,
                         int n_sink, int win_left, int win_right, int causal)
{
    const int lo = max(0, i_first - win_left);
    const int hi_excl = min(key_end, (int)min((long)i_last + win_right + 1, (long)key_end));
    int n = add_segments(seg, 0, 0, min(n_sink, lo), pos0, 1, 1);
    const int band_sink_end = clamp(n_sink, lo, max(lo, hi_excl));
    n = add_segments(seg, n, lo, band_sink_end, pos0, 0, 1);
    n = add_segments(seg, n, band_sink_end, max(band_sink_end, hi_excl), pos0, 0, 0);
    if (!causal && hi_excl < n_sink)
        n = add_segments(seg, n, hi_excl, min(n_sink, key_end), pos0, 1, 1);
    return n;
}

inline int segment_tiles(const segment *s) { return (s->j_end - s->j_begin + BLOCK_N - 1) / BLOCK_N; }

/* tiles [t_begin, t_end) of the segments that flash-decoding split `split` of
   n_split takes (contiguous, so each split streams its own range) */
inline void split_tiles(const segment *seg, int n_seg, int split, int n_split, int *t_begin,
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
inline int seek_tile(const segment *seg, int t, int *s, int *tile0, int *j0)
{
    while (t - *tile0 >= segment_tiles(&seg[*s])) {
        *tile0 += segment_tiles(&seg[*s]);
        (*s)++;
    }
    *j0 = seg[*s].j_begin + (t - *tile0) * BLOCK_N;
    return min(BLOCK_N, seg[*s].j_end - *j0);
}

/* a full tile that queries [i_first, i_last] all see whole needs no mask
   (dilated bands always do) */
inline int tile_interior(const segment *seg, int j0, int jn, int i_first, int i_last,
                         int win_left, int win_right)
{
#if HAS_DILATION
    return jn == BLOCK_N && seg->all_visible;
#else
    return jn == BLOCK_N && (seg->all_visible || (j0 >= i_last - win_left &&
                                                  j0 + BLOCK_N - 1 <= i_first + win_right));
#endif
}

/* One online-softmax step of a query row over a tile: its BLOCK_N scores sc (base
 * 2, softcap still to apply) are capped, masked to the band unless the tile is
 * interior, their max is folded into *m and their weights' sum into *l, and the
 * weights are left in p. Returns alpha, the factor the row's earlier accumulation
 * takes. */
inline float softmax_step(VT *sc, float *p, int interior, int i, int j0, int jn, int n_sink,
                          int win_left, int win_right, int dil, int causal, float softcap,
                          float *m, float *l)
{
#if HAS_SOFTCAP
    for (int c = 0; c < BLOCK_N / VEC; c++)
        sc[c] = softcap * tanh(sc[c] / softcap) * LOG2E;
#endif
    if (!interior) {
        for (int c = 0; c < BLOCK_N / VEC; c++)
            VSTORE_F(sc[c], c, p);
        for (int jj = 0; jj < BLOCK_N; jj++)
            if (jj >= jn || !band_visible(i, j0 + jj, n_sink, win_left, win_right, dil, causal))
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
inline void write_row(float m, float l, const VT *acc, int n_split, __global float *p,
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

/* Where a tile's keys live: key jj of the tile starting at position j0 is at
 * element offset base + jj * step, less wrap once jj >= wrap_at. Ring tiles
 * never straddle n_sink and cover fewer than span positions (the ring part of
 * a band is under W*D keys), so they wrap at most once: one modulo per tile
 * instead of one per key. */
typedef struct tile_addr {
    long base, step, wrap;
    int wrap_at;
} tile_addr;

inline tile_addr tile_address(int j0, int from_ring, int pos0, int row0, int ring_seq,
                              int n_sink, int span, int n_kv_heads, int kvh)
{
    tile_addr a;
    if (from_ring) {
        const int s0 = ring_slot(j0, n_sink, span);
        a.base = ring_row(ring_seq, kvh, s0, n_kv_heads, n_sink + span) * HEAD_DIM;
        a.step = HEAD_DIM;
        a.wrap = (long)span * HEAD_DIM;
        a.wrap_at = j0 < n_sink ? BLOCK_N : n_sink + span - s0;
    } else {
        a.base = ((long)(row0 + (j0 - pos0)) * n_kv_heads + kvh) * HEAD_DIM;
        a.step = (long)n_kv_heads * HEAD_DIM;
        a.wrap = 0;
        a.wrap_at = BLOCK_N;
    }
    return a;
}

inline long tile_key_offset(const tile_addr *a, int jj)
{
    return a->base + jj * a->step - (jj >= a->wrap_at ? a->wrap : 0);
}

#if DECODE_GH == 0
__kernel void attend(__global const io_t *q, __global const io_t *k, __global const io_t *v,
                     __global io_t *out, __global const kv_t *ring_k,
                     __global const kv_t *ring_v,
                     __global const int *batch_info, /* [..][3]: ring_seq, pos0, row0 */
                     int info0, /* entry of batch 0, so one upload serves many launches */
                     __global float *partial,        /* n_split > 1: [row][h][split][2+HEAD_DIM] */
                     __global const float *sink_logits, int n_rows, int n_heads,
                     int n_kv_heads, int n_sink, int win_left, int win_right, int dil, int causal,
                     int span, float scale, float softcap, int n_split,
                     __global const float *inv_freq) /* HAS_ROPE: HEAD_DIM/2 frequencies */
{
    const int qi = get_global_id(0);
    const int h = get_global_id(1);
    const int kvh = get_group_id(1);
    const int b = get_group_id(2) / n_split;
    const int split = get_group_id(2) % n_split;
    batch_info += 3 * info0;
    const int ring_seq = batch_info[3 * b + 0];
    const int pos0 = batch_info[3 * b + 1];
    const int row0 = batch_info[3 * b + 2];
    const int valid = qi < n_rows;
    const int i = pos0 + (valid ? qi : n_rows - 1);

    /* the group's queries and the segments of keys their band can reach */
    const int i_first = pos0 + (int)get_group_id(0) * BLOCK_M;
    const int i_last = min(i_first + BLOCK_M, pos0 + n_rows) - 1;
    segment seg[8];
    const int n_seg = band_segments(seg, i_first, i_last, pos0 + n_rows, pos0, n_sink, win_left,
                                    win_right, causal);
    int t_begin, t_end;
    split_tiles(seg, n_seg, split, n_split, &t_begin, &t_end);

    /* this work-item's query row, pre-multiplied by the score scale (and log2 e
       when there is no softcap, so scores come out in base 2) */
#if HAS_SOFTCAP
    const float q_mul = scale;
#else
    const float q_mul = scale * LOG2E;
#endif
    const long q_off = ((long)(row0 + (valid ? qi : n_rows - 1)) * n_heads + h) * HEAD_DIM;
    float qs[HEAD_DIM];
    VT acc[N_VEC];
#if HAS_ROPE
    /* StreamingLLM positions inside the cache: sinks keep their own, the window
       follows them in age order, so the query sits at i - evicted(i) for sink
       keys. Window keys only need the right distance i - j: they and the query
       are turned relative to the group's base, which keeps every angle small.
       Both rotations read the row straight from q: PoCL 3.1's loop vectorizer
       ran this part twice for one work-item (4+ query heads per kv head, one
       query row per group), which must then give the same result again. */
    const int rope_base = max(0, i_first + 1 - n_sink - span);
    float q_plain[HEAD_DIM], qs_sink[HEAD_DIM];
    for (int c = 0; c < N_VEC; c++) {
        VSTORE_F(LOAD_IO(c, q + q_off) * q_mul, c, q_plain);
        acc[c] = (VT)(0.0f);
    }
    rope_row(q_plain, qs, i - rope_base, inv_freq);
    rope_row(q_plain, qs_sink, i - max(0, i + 1 - n_sink - span), inv_freq);
#else
    for (int c = 0; c < N_VEC; c++) {
        VSTORE_F(LOAD_IO(c, q + q_off) * q_mul, c, qs);
        acc[c] = (VT)(0.0f);
    }
#endif
    float m = NEG_BIG, l = 0.0f;

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

        const tile_addr ta = tile_address(j0, from_ring, pos0, row0, ring_seq, n_sink, span,
                                          n_kv_heads, kvh);
#if DIRECT_KV
        /* row offsets of the tile's keys; keys past jn repeat the first (their
           weight is zero, so any finite row will do) */
        long koff[BLOCK_N];
        for (int jj = 0; jj < BLOCK_N; jj++)
            koff[jj] = tile_key_offset(&ta, jj < jn ? jj : 0);
#define K_VEC(jj, c) (from_ring ? LOAD_KV(c, ring_k + koff[jj]) : LOAD_IO(c, k + koff[jj]))
#define V_VEC(jj, c) (from_ring ? LOAD_KV(c, ring_v + koff[jj]) : LOAD_IO(c, v + koff[jj]))
#else
#define K_VEC(jj, c) VLOAD_F((jj) * N_VEC + (c), k_tile)
#define V_VEC(jj, c) VLOAD_F((jj) * N_VEC + (c), v_tile)
        /* stage the tile as fp32; keys past jn are zeros so no garbage is read */
#if CONTIGUOUS
        const int e_per = (BLOCK_N * N_VEC + WG_SIZE - 1) / WG_SIZE;
        const int e_end = min(BLOCK_N * N_VEC, (lid + 1) * e_per);
        for (int e = lid * e_per; e < e_end; e++) {
#else
        for (int e = lid; e < BLOCK_N * N_VEC; e += WG_SIZE) {
#endif
            const int jj = e / N_VEC, c = e % N_VEC;
            VT kx = (VT)(0.0f), vx = (VT)(0.0f);
            if (jj < jn) {
                const long off = tile_key_offset(&ta, jj);
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
        barrier(CLK_LOCAL_MEM_FENCE);
#endif /* DIRECT_KV */
#if HAS_ROPE
        /* turn the staged keys (cached unrotated) to their positions; one work-item
           per key, pairs (d, d + HEAD_DIM/2) */
        for (int jj = lid; jj < jn; jj += WG_SIZE) {
            const float pos = (float)(j0 + jj - key_shift);
            for (int d = 0; d < HEAD_DIM / 2; d++) {
                float cs, sn;
                rope_angle(pos, inv_freq[d], &cs, &sn);
                const float x1 = k_tile[K_AT(d, jj)];
                const float x2 = k_tile[K_AT(d + HEAD_DIM / 2, jj)];
                k_tile[K_AT(d, jj)] = x1 * cs - x2 * sn;
                k_tile[K_AT(d + HEAD_DIM / 2, jj)] = x2 * cs + x1 * sn;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#endif

        VT sc[BLOCK_N / VEC];
#if K_TRANSPOSED
        /* scores of the tile, VEC keys per vector. Eight independent partial sums
           per vector keep the multiply-adds from waiting on each other's latency;
           HEAD_DIM is a multiple of 8. */
        for (int c = 0; c < BLOCK_N / VEC; c++) {
            __local const float *kc = k_tile + c * VEC;
            VT a0 = (VT)(0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int d = 0; d < HEAD_DIM; d += 8) {
                a0 = MAD((VT)(qp[d + 0]), VLOAD_F(0, kc + (d + 0) * BLOCK_N), a0);
                a1 = MAD((VT)(qp[d + 1]), VLOAD_F(0, kc + (d + 1) * BLOCK_N), a1);
                a2 = MAD((VT)(qp[d + 2]), VLOAD_F(0, kc + (d + 2) * BLOCK_N), a2);
                a3 = MAD((VT)(qp[d + 3]), VLOAD_F(0, kc + (d + 3) * BLOCK_N), a3);
                a4 = MAD((VT)(qp[d + 4]), VLOAD_F(0, kc + (d + 4) * BLOCK_N), a4);
                a5 = MAD((VT)(qp[d + 5]), VLOAD_F(0, kc + (d + 5) * BLOCK_N), a5);
                a6 = MAD((VT)(qp[d + 6]), VLOAD_F(0, kc + (d + 6) * BLOCK_N), a6);
                a7 = MAD((VT)(qp[d + 7]), VLOAD_F(0, kc + (d + 7) * BLOCK_N), a7);
            }
            sc[c] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
        }
#else
        /* scores as dot products over head_dim, four keys at a time so their
           multiply-add chains overlap, then one horizontal sum per key */
        {
            float row_s[BLOCK_N];
            for (int jj = 0; jj < BLOCK_N; jj += 4) {
                VT a0 = (VT)(0.0f), a1 = a0, a2 = a0, a3 = a0;
                for (int c = 0; c < N_VEC; c++) {
                    const VT qc = VLOAD_F(c, qp);
                    a0 = MAD(qc, K_VEC(jj, c), a0);
                    a1 = MAD(qc, K_VEC(jj + 1, c), a1);
                    a2 = MAD(qc, K_VEC(jj + 2, c), a2);
                    a3 = MAD(qc, K_VEC(jj + 3, c), a3);
                }
                row_s[jj + 0] = HSUM(a0);
                row_s[jj + 1] = HSUM(a1);
                row_s[jj + 2] = HSUM(a2);
                row_s[jj + 3] = HSUM(a3);
            }
            for (int c = 0; c < BLOCK_N / VEC; c++)
                sc[c] = VLOAD_F(c, row_s);
        }
#endif
        float p[BLOCK_N];
        const float alpha = softmax_step(sc, p, interior, i, j0, jn, n_sink, win_left, win_right,
                                         dil, causal, softcap, &m, &l);
#if N_VEC >= 8
        /* weighted values, key by key into N_VEC register accumulators (8 to 32:
           enough independent chains); one broadcast weight serves a whole row */
        {
            /* fully unrolled so the accumulators live in registers, not memory */
            VT o[N_VEC];
#pragma unroll
            for (int c = 0; c < N_VEC; c++)
                o[c] = acc[c] * alpha;
            for (int jj = 0; jj < jn; jj++) {
                const VT pj = (VT)(p[jj]);
#pragma unroll
                for (int c = 0; c < N_VEC; c++)
                    o[c] = MAD(pj, V_VEC(jj, c), o[c]);
            }
#pragma unroll
            for (int c = 0; c < N_VEC; c++)
                acc[c] = o[c];
        }
#else
        /* weighted values; with few vectors per row, eight partial sums over keys
           keep the chains independent. Keys past jn have weight 0 and zero rows,
           and BLOCK_N is a multiple of 8, so no remainder. Laptop shape (hd 64) on
           PoCL: 191 ms against 288 ms for the key-by-key form. */
        for (int c = 0; c < N_VEC; c++) {
            VT a0 = acc[c] * alpha, a1 = (VT)(0.0f), a2 = a1, a3 = a1, a4 = a1, a5 = a1,
               a6 = a1, a7 = a1;
            for (int jj = 0; jj < BLOCK_N; jj += 8) {
                a0 = MAD((VT)(p[jj + 0]), V_VEC(jj + 0, c), a0);
                a1 = MAD((VT)(p[jj + 1]), V_VEC(jj + 1, c), a1);
                a2 = MAD((VT)(p[jj + 2]), V_VEC(jj + 2, c), a2);
                a3 = MAD((VT)(p[jj + 3]), V_VEC(jj + 3, c), a3);
                a4 = MAD((VT)(p[jj + 4]), V_VEC(jj + 4, c), a4);
                a5 = MAD((VT)(p[jj + 5]), V_VEC(jj + 5, c), a5);
                a6 = MAD((VT)(p[jj + 6]), V_VEC(jj + 6, c), a6);
                a7 = MAD((VT)(p[jj + 7]), V_VEC(jj + 7, c), a7);
            }
            acc[c] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
        }
#endif
#undef K_VEC
#undef V_VEC
        /* the tile is overwritten next */
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    if (!valid)
        return;
    const long prow = (long)b * n_rows + qi; /* launch-local row */
    write_row(m, l, acc, n_split,
              partial + ((prow * n_heads + h) * n_split + split) * (2 + HEAD_DIM), sink_logits, h,
              out + (((long)row0 + qi) * n_heads + h) * HEAD_DIM);
}

#endif /* DECODE_GH == 0 */

#if DECODE_GH > 0
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
inline void turn_row(VT *row, int pos, __global const float *inv_freq)
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
                            __global const float *inv_freq, int append)
{
    const int split = get_global_id(0);
    const int group = n_heads / n_kv_heads;
    const int n_hchunks = (group + DECODE_GH - 1) / DECODE_GH;
    const int kvh = get_global_id(1) / n_hchunks;
    const int h0 = kvh * group + (get_global_id(1) % n_hchunks) * DECODE_GH;
    const int n_g = min(DECODE_GH, kvh * group + group - h0); /* heads past n_g repeat the last */
    const int b = get_global_id(2);
    batch_info += 3 * info0;
    const int ring_seq = batch_info[3 * b + 0];
    const int i = batch_info[3 * b + 1];
    const int row0 = batch_info[3 * b + 2];

    /* append = 1: also write the new token's K/V into its ring slot (as append.cl
       does), saving a launch. No key of this launch reads that slot: the band
       reaches back fewer than span positions. */
    if (append && split == 0 && h0 == kvh * group) {
        const long src = ((long)row0 * n_kv_heads + kvh) * HEAD_DIM;
        const long dst = ring_row(ring_seq, kvh, ring_slot(i, n_sink, span), n_kv_heads,
                                  n_sink + span) * HEAD_DIM;
        for (int c = 0; c < N_VEC; c++) {
            STORE_KV(LOAD_IO(c, k + src), c, ring_k + dst);
            STORE_KV(LOAD_IO(c, v + src), c, ring_v + dst);
        }
    }

    segment seg[8];
    const int n_seg = band_segments(seg, i, i, i + 1, i, n_sink, win_left, win_right, causal);
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
        const long q_off = ((long)row0 * n_heads + h0 + min(g, n_g - 1)) * HEAD_DIM;
#if HAS_ROPE
        float q_plain[HEAD_DIM];
        for (int c = 0; c < N_VEC; c++)
            VSTORE_F(LOAD_IO(c, q + q_off) * q_mul, c, q_plain);
        rope_row(q_plain, qs[g], i - rope_base, inv_freq);
#else
        for (int c = 0; c < N_VEC; c++)
            VSTORE_F(LOAD_IO(c, q + q_off) * q_mul, c, qs[g]);
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
        const tile_addr ta = tile_address(j0, from_ring, i, row0, ring_seq, n_sink, span,
                                          n_kv_heads, kvh);
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
                turn_row(k0, j0 + jj - shift, inv_freq);
                turn_row(k1, j0 + jj + 1 - shift, inv_freq);
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
            const float alpha = softmax_step(sv, sc[g], interior, i, j0, jn, n_sink, win_left,
                                             win_right, dil, causal, softcap, &m[g], &l[g]);
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
                  sink_logits, h, out + ((long)row0 * n_heads + h) * HEAD_DIM);
    }
}
#endif /* DECODE_GH > 0 */

/* Merges the n_split partial (max, sum, acc) of each (row, head) written by
 * attend. Global (N_VEC, n_heads, n_batch * n_rows): one output vector each. */
__kernel void attend_merge(__global const float *partial, __global io_t *out,
                           __global const float *sink_logits, __global const int *batch_info,
                           int info0, int n_rows, int n_heads, int n_split)
{
    batch_info += 3 * info0;
    const int c = get_global_id(0);
    const int h = get_global_id(1);
    const long prow = get_global_id(2);
    const long row = (long)batch_info[3 * (prow / n_rows) + 2] + prow % n_rows;
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
    STORE_IO(acc * inv, c, out + (row * n_heads + h) * HEAD_DIM);
}
