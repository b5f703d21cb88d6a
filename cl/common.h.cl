/* common.h.cl — definitions every swacl kernel shares: vector width, element
 * types and their loads/stores. Prepended by the host to each kernel source. */

#ifndef HEAD_DIM
#define HEAD_DIM 64   /* elements per head; a multiple of VEC */
#endif
#ifndef VEC
#define VEC 8         /* floats per vector in head_dim loops (4, 8 or 16) */
#endif
#ifndef IO_HALF
#define IO_HALF 0     /* 1 = q, k, v, out are IEEE half; math stays fp32 */
#endif
#ifndef KV_HALF
#define KV_HALF 0     /* 1 = the KV cache ring stores IEEE half */
#endif

#define N_VEC (HEAD_DIM / VEC)

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VT CAT(float, VEC)
#define VLOAD_F CAT(vload, VEC)
#define VSTORE_F CAT(vstore, VEC)
#define VLOAD_H CAT(vload_half, VEC)
#define VSTORE_H CAT(vstore_half, VEC)

#if IO_HALF
typedef half io_t;
#define LOAD_IO(i, p) VLOAD_H(i, p)
#define STORE_IO(x, i, p) VSTORE_H(x, i, p)
#define LOAD_IO1(i, p) vload_half(i, p)
#define STORE_IO1(x, i, p) vstore_half(x, i, p)
#define LOAD_IO4(p) vload_half4(0, p)
#else
typedef float io_t;
#define LOAD_IO(i, p) VLOAD_F(i, p)
#define STORE_IO(x, i, p) VSTORE_F(x, i, p)
#define LOAD_IO1(i, p) ((p)[i])
#define STORE_IO1(x, i, p) ((p)[i] = (x))
#define LOAD_IO4(p) vload4(0, p)
#endif

#if KV_HALF
typedef half kv_t;
#define LOAD_KV(i, p) VLOAD_H(i, p)
#define STORE_KV(x, i, p) VSTORE_H(x, i, p)
#define LOAD_KV4(p) vload_half4(0, p)
#else
typedef float kv_t;
#define LOAD_KV(i, p) VLOAD_F(i, p)
#define STORE_KV(x, i, p) VSTORE_F(x, i, p)
#define LOAD_KV4(p) vload4(0, p)
#endif

#ifndef HAS_FMA
#define HAS_FMA 0     /* 1 = the device fuses multiply-add in hardware */
#endif
#if HAS_FMA
#define MAD(a, b, c) fma(a, b, c)
#else
#define MAD(a, b, c) mad(a, b, c)
#endif

static inline float hsum4(float4 x) { return (x.s0 + x.s1) + (x.s2 + x.s3); }
static inline float hsum8(float8 x) { return hsum4(x.lo + x.hi); }
static inline float hsum16(float16 x) { return hsum8(x.lo + x.hi); }
#define HSUM CAT(hsum, VEC)
static inline float hmax4(float4 x) { return fmax(fmax(x.s0, x.s1), fmax(x.s2, x.s3)); }
static inline float hmax8(float8 x) { return hmax4(fmax(x.lo, x.hi)); }
static inline float hmax16(float16 x) { return hmax8(fmax(x.lo, x.hi)); }
#define HMAX CAT(hmax, VEC)

#ifndef POLY_EXP2
#define POLY_EXP2 0   /* 1 = exp2 by polynomial on whole vectors (CPUs, where the
                         built-in exp2 runs lane by lane); 0 = built-in exp2 */
#endif

/* 2^x for x <= 0 (softmax weights): x = n + f with n = rint(x), |f| <= 1/2, and
 * 2^f by its degree-6 Taylor polynomial (relative error < 2e-7); below -126
 * the result is exactly 0, so masked keys (-inf) weigh nothing. */
static inline VT exp2_poly(VT x)
{
    const VT n = rint(fmax(x, (VT)(-127.0f)));
    const VT f = fmax(x, (VT)(-127.0f)) - n;
    VT p = (VT)(1.5403530393381610e-4f);
    p = mad(p, f, (VT)(1.3333558146428443e-3f));
    p = mad(p, f, (VT)(9.6181291076284772e-3f));
    p = mad(p, f, (VT)(5.5504108664821580e-2f));
    p = mad(p, f, (VT)(2.4022650695910071e-1f));
    p = mad(p, f, (VT)(6.9314718055994531e-1f));
    p = mad(p, f, (VT)(1.0f));
    const VT scale = CAT(as_float, VEC)((CAT(convert_int, VEC)(n) + 127) << 23);
    return select(p * scale, (VT)(0.0f), isless(x, (VT)(-126.0f)));
}
#if POLY_EXP2
#define EXP2(x) exp2_poly(x)
#else
#define EXP2(x) exp2(x)
#endif

/* RoPE, rotate-half pairing (d, d + HEAD_DIM/2), angle pos * inv_freq[d]. The
 * product is carried as hi + lo (lo exact through fma) so the angle loses
 * nothing to rounding beyond inv_freq's own; sin/cos of hi are then corrected
 * to first order in lo. */
#ifndef NATIVE_TRIG
#define NATIVE_TRIG 0 /* 1 = RoPE angles reduced to [-pi, pi] here, then the device's
                         native sin/cos: full-range sincos keeps a reduction table in
                         private memory on some GPU compilers (ocloc, dg2) */
#endif
static inline void rope_angle(float pos, float f, float *c, float *s)
{
    const float hi = pos * f;
    const float lo = fma(pos, f, -hi);
    float ch;
#if NATIVE_TRIG
    /* hi - k * 2pi, 2pi split in two floats (6.2831855f exceeds it by
       1.7484556e-7), each product exact through fma */
    const float k = rint(hi * 0.15915494309189535f);
    const float r = fma(k, 1.7484556e-7f, fma(-k, 6.2831855f, hi));
    const float sh = native_sin(r);
    ch = native_cos(r);
#else
    const float sh = sincos(hi, &ch);
#endif
    *s = mad(lo, ch, sh);
    *c = mad(-lo, sh, ch);
}

/* y = x turned to position pos (x and y are distinct private rows) */
static inline void rope_row(const float *x, float *y, int pos, __global const float *inv_freq)
{
    for (int d = 0; d < HEAD_DIM / 2; d++) {
        float c, s;
        rope_angle((float)pos, inv_freq[d], &c, &s);
        const float x1 = x[d], x2 = x[d + HEAD_DIM / 2];
        y[d] = x1 * c - x2 * s;
        y[d + HEAD_DIM / 2] = x2 * c + x1 * s;
    }
}

/* A launch's entries (batch_info): INFO_INTS ints each, ring_seq (row of the
 * ring buffer), pos0 (position of its first row), row0 (its first row in q/k/v/
 * out), n_rows (its rows; the launch's n_rows argument is the largest, and
 * strides the partials). */
#define INFO_INTS 4
#define INFO_RING_SEQ(b) batch_info[INFO_INTS * (b) + 0]
#define INFO_POS0(b) batch_info[INFO_INTS * (b) + 1]
#define INFO_ROW0(b) batch_info[INFO_INTS * (b) + 2]
#define INFO_ROWS(b) batch_info[INFO_INTS * (b) + 3]

/* q, k, v and out are views: element offsets (applied on entry) and row strides in
 * elements from one token's row to the next */
#define VIEW_ARGS long q_off, long k_off, long v_off, long out_off, int q_stride, int kv_stride, \
                  int out_stride
#define APPLY_VIEWS()                                                                        \
    do {                                                                                     \
        q += q_off;                                                                          \
        k += k_off;                                                                          \
        v += v_off;                                                                          \
        out += out_off;                                                                      \
    } while (0)

/* The prefill kernels' first lines: work-group z holds entry b of the launch and
 * one of its n_split key splits; the entry's ring sequence, first position and
 * first row come from batch_info, its rows replace n_rows, and rows_cap keeps the
 * launch's largest entry, which strides the partials. */
#define ENTRY_OF_GROUP()                                                                     \
    const int b = get_group_id(2) / n_split;                                                 \
    const int split = get_group_id(2) % n_split;                                             \
    batch_info += INFO_INTS * info0;                                                         \
    APPLY_VIEWS();                                                                           \
    const int ring_seq = INFO_RING_SEQ(b);                                                   \
    const int pos0 = INFO_POS0(b);                                                           \
    const int row0 = INFO_ROW0(b);                                                           \
    const int rows_cap = n_rows;                                                             \
    n_rows = INFO_ROWS(b)

/* Ring layout: [sequence][kv head][slot][HEAD_DIM], so the keys of one kv head
 * are contiguous and a work-group streams them in order. Row index of a slot: */
static inline long ring_row(int ring_seq, int kvh, int slot, int n_kv_heads, int n_slots)
{
    return ((long)ring_seq * n_kv_heads + kvh) * n_slots + slot;
}

/* slot of absolute position p in a ring of n_sink pinned + span rolling slots */
static inline int ring_slot(int p, int n_sink, int span)
{
    return p < n_sink ? p : n_sink + (p - n_sink) % span;
}
