/* tolerance.h — the one rule by which a kernel path's output is compared with the
 * float64 reference (runtime/reference.c): the tests (tests/common/testutil.c) and
 * swacl-prof's verification (tools/prof/check.c) both call it. Header-only, so a
 * tool that links only the public library can use it too.
 *
 * FlashAttention's rule is that the kernel may err at most a small multiple of a
 * naive same-precision implementation's error against float64. On inputs uniform
 * in [-1, 1] (so |out| <= 1) that naive error is known well enough to write the
 * bounds down once, here, with some headroom:
 *
 *   io   kv    tol    why
 *   f32  f32   1e-4   naive fp32 attention is ~1e-6 off float64 for head_dim <= 256
 *                     and ~2k keys (sqrt(n) * eps growth of the sums); 1e-4 leaves
 *                     room for online-softmax rescaling and OpenCL's 3-4 ulp exp(),
 *                     yet catches any masking or indexing error (those are O(0.1)).
 *   f16  any   4e-3   the output itself is rounded to fp16 (2.4e-4 at |out| ~ 1),
 *                     and devices with cl_khr_fp16 may form q.k in half precision:
 *                     ~sqrt(head_dim) half ulps of score error; 4e-3 is ~2x a naive
 *                     fp16 implementation's error on head_dim 256.
 *   f32  f16   4e-3   keys and values rounded to fp16 in the cache: the same score
 *                     and value error as fp16 inputs, with an fp32 output.
 *
 * Applied as |got - ref| <= tol * (1 + |ref|): an absolute floor plus the same
 * amount relative, so larger scales or values do not need their own entries. */
#ifndef SWACL_TOLERANCE_H
#define SWACL_TOLERANCE_H

#include "swacl.h"

#include <math.h>

/* tol for q/k/v/out of type io and a cache of type kv (io when there is no cache) */
static inline double swacl_tolerance(swacl_dtype io, swacl_dtype kv)
{
    return io == SWACL_F32 && kv == SWACL_F32 ? 1e-4 : 4e-3;
}

/* 1 when got passes against the reference value ref; a NaN never does */
static inline int swacl_within_tolerance(double got, double ref, double tol)
{
    return fabs(got - ref) <= tol * (1.0 + fabs(ref));
}

#endif /* SWACL_TOLERANCE_H */
