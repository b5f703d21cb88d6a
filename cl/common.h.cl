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
#else
typedef float io_t;
#define LOAD_IO(i, p) VLOAD_F(i, p)
#define STORE_IO(x, i, p) VSTORE_F(x, i, p)
#endif

#if KV_HALF
typedef half kv_t;
#define LOAD_KV(i, p) VLOAD_H(i, p)
#define STORE_KV(x, i, p) VSTORE_H(x, i, p)
#else
typedef float kv_t;
#define LOAD_KV(i, p) VLOAD_F(i, p)
#define STORE_KV(x, i, p) VSTORE_F(x, i, p)
#endif

inline float hsum4(float4 x) { return (x.s0 + x.s1) + (x.s2 + x.s3); }
inline float hsum8(float8 x) { return hsum4(x.lo + x.hi); }
inline float hsum16(float16 x) { return hsum8(x.lo + x.hi); }
#define HSUM CAT(hsum, VEC)
