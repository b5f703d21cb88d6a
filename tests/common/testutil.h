/* testutil.h — helpers shared by swacl's tests: seeded random data, opening a
 * context (or skipping without a device), canary guards, THE tolerance rule, cases
 * turned into configs, and the model of a cache (reference + RoPE) tests check. */
#ifndef SWACL_TESTUTIL_H
#define SWACL_TESTUTIL_H

#include "swacl.h"

#include <stddef.h>
#include <stdint.h>

/* ---- seeded random numbers (splitmix64: tiny, and every seed is a good one) ---- */

typedef struct tu_rng {
    uint64_t state;
} tu_rng;

tu_rng   tu_rng_seed(uint64_t seed);
uint64_t tu_rng_next(tu_rng *r);
/* uniform in [0, 1) with 53 random bits */
double   tu_rng_unit(tu_rng *r);
/* uniform integer in [lo, hi] (inclusive) */
int      tu_rng_int(tu_rng *r, int lo, int hi);
/* n values uniform in [-1, 1] */
void     tu_fill_f32(tu_rng *r, float *dst, size_t n);
/* n fp16 bit patterns of values uniform in [-1, 1] */
void     tu_fill_f16(tu_rng *r, uint16_t *dst, size_t n);
/* n elements of dtype, values uniform in [-1, 1] */
void     tu_fill(tu_rng *r, void *dst, size_t n, swacl_dtype dtype);

/* bytes of one element of dtype */
size_t   tu_elem_size(swacl_dtype dtype);
/* element i of an array of dtype, widened to double */
double   tu_elem(const void *base, size_t i, swacl_dtype dtype);

/* ---- contexts ---- */

/* Creates a context on the default device ($SWACL_DEVICE when set) and returns 1.
 * With no OpenCL device at all it prints why and returns 0, and the caller calls
 * cmocka's skip(). Any other failure fails the current test. */
int tu_open_context(swacl_context **ctx);
/* cmocka group setup: a context on the default device in *state, or NULL when
 * there is none (the group's tests then skip) */
int tu_open_group(void **state);
/* the same with a GPU parameter set of runtime/params.c (attend_tiled, the
 * cooperative work-group kernel, for prefill and decode) forced through
 * $SWACL_PARAMS, so the GPU code path runs on CPUs too; fails the group if the
 * override is not applied */
#define TU_GPU_PARAMS "set=gpu-nvidia,split_keys=16,native_trig=1"
/* (decode windows split after 16 keys, so decode runs attend_merge too; RoPE
   angles by native sin/cos, as the Intel and generic GPU sets take them) */
int tu_open_group_gpu(void **state);
/* cmocka group teardown: destroys the context a group setup left in *state */
int tu_close_context(void **state);
/* a device test program's exit status from its failure count: 1 when anything
 * failed, else 77 (ctest's SKIP_RETURN_CODE) when there was no OpenCL device to
 * run on, else 0 */
int tu_exit(int failed);

/* ---- the two ways in: host pointers, or cl_mem buffers of the context ---- */

typedef enum tu_api { TU_HOST, TU_CL_MEM } tu_api;

/* device copies of one call's inputs (q_bytes of q, kv_bytes of k and v) and an
 * output buffer holding out's q_bytes and TU_CANARY_BYTES canary bytes */
typedef struct tu_dev_io {
    cl_mem q, k, v, out;
} tu_dev_io;

void tu_dev_io_make(swacl_context *ctx, tu_dev_io *d, const void *q, const void *k,
                    const void *v, const void *out, size_t q_bytes, size_t kv_bytes);
/* reads the output and its canary back into out, and releases the buffers */
void tu_dev_io_finish(swacl_context *ctx, tu_dev_io *d, void *out, size_t q_bytes);

/* ---- canaries: bytes past the end of an output that must come back untouched ---- */

#define TU_CANARY_BYTES 256
#define TU_CANARY_BYTE 0xC3 /* not a plausible small float/half in any byte position */

/* malloc(bytes + TU_CANARY_BYTES) with the whole block set to TU_CANARY_BYTE,
 * so a test can also tell whether anything was written at all. free() it. */
void *tu_alloc_guarded(size_t bytes);
/* 1 if the TU_CANARY_BYTES after bytes still hold TU_CANARY_BYTE; else prints
 * the first changed offset and returns 0 */
int   tu_canary_intact(const void *buf, size_t bytes, const char *what);
/* 1 if all n bytes equal TU_CANARY_BYTE (nothing was written) */
int   tu_untouched(const void *buf, size_t n);

/* ---- saved sequence blobs (runtime/cache.c's format) ---- */

/* A blob starts with a TU_BLOB_HEADER-byte header; the first layer record follows, its
 * position at TU_BLOB_POS. Tests that forge a field call tu_blob_reseal to give the
 * blob the checksum of its new contents (XXH3-128 at byte 24 of the header). */
enum { TU_BLOB_HEADER = 56, TU_BLOB_DIGEST = 24, TU_BLOB_POS = TU_BLOB_HEADER + 32 };
void tu_blob_reseal(unsigned char *blob, size_t size);

/* ---- tolerance and comparison ---- */

/* The one tolerance rule of the suite (and of swacl-prof): element e passes when
 *     |got[e] - ref[e]| <= tol * (1 + |ref[e]|)
 * with tol from tu_tolerance and ref from swacl_reference_attention (float64).
 * io is the q/k/v/out type, kv the cache storage type (pass io when there is no
 * cache). The rule, its values and why they are safe are in runtime/tolerance.h. */
double tu_tolerance(swacl_dtype io, swacl_dtype kv);

typedef struct tu_cmp {
    double max_err;     /* max |got - ref| over all elements (inf if any got is NaN/inf) */
    size_t n_bad;       /* elements outside the tolerance */
    size_t first_bad;   /* index of the first of them (valid when n_bad > 0) */
    size_t last_bad;    /* and of the last */
    double got_first, ref_first;
} tu_cmp;

/* compares n elements of dtype against the reference; when some are out of
 * tolerance prints "<what>: <n_bad> bad, first at [i] got x want y, max err e" */
tu_cmp tu_compare(const void *got, const void *ref, size_t n, swacl_dtype dtype, double tol,
                  const char *what);

/* ---- cases: a layer config and what a table row adds to it ---- */

enum { TU_MAX_HEADS = 16 }; /* the most query heads a case may have */

/* The config a case runs: *base, and when sink_logits is set a learned sink logit
 * per query head, drawn from rng into logits (TU_MAX_HEADS floats) and centred
 * near typical scores (|s| < 1) so that the sink takes a visible share. */
swacl_attn_config tu_config_of(const swacl_attn_config *base, int sink_logits, float *logits,
                               tu_rng *rng);
/* "heads=4/2 hd=32 W=4 ..." (every field a sweep varies) for failure reports */
void tu_describe_config(const swacl_attn_config *cfg, char *buf, size_t size);

/* ---- the model of a cache: the reference plus RoPE at positions inside the cache ---- */

/* n elements of dtype as fp32 (malloc'd; free it), and back */
float *tu_widen(const void *src, size_t n, swacl_dtype dtype);
void   tu_narrow(const float *src, size_t n, swacl_dtype dtype, void *dst);

/* Turns the n_heads heads of one fp32 row to position pos, as the library defines
 * RoPE (README): rotate-half pairs (d, d + head_dim/2) by the angle
 * pos * theta^(-2d/head_dim), the frequency rounded to float, in double;
 * theta <= 0 means 10000. */
void tu_rope_row(float *x, int n_heads, int head_dim, float theta, int64_t pos);

/* Expected outputs of tokens [from, n) of one sequence through a cache layer of
 * cfg, whose n tokens are q, k, v (cfg->dtype); want receives n - from rows in
 * cfg->dtype. It is swacl_reference_attention over the sequence, with K and V as
 * the cache stores them (rounded to fp16 for an fp16 cache). Under
 * SWACL_ROPE_IN_CACHE a query that has evicted tokens sits at position held - 1
 * of the cache (held = n_sink + W*D) and its keys at their cache positions (sinks
 * at their own, the rest after the evicted ones), so it is the last row of a
 * reference call over the cache's contents in cache order, turned at those
 * positions; this keeps the visibility rule the reference's own. */
void tu_cached_expected(const swacl_attn_config *cfg, int n, const void *q, const void *k,
                        const void *v, int from, void *want);

/* ---- error messages ---- */

/* Leaves a known message in ctx's last error (that of a call no suite checks for
 * itself: swacl_last_event without an out pointer), so that tu_error_fresh can
 * tell whether the next failed call wrote a message of its own. */
void tu_error_mark(swacl_context *ctx);
/* 1 when ctx's last error is neither empty nor the mark */
int  tu_error_fresh(const swacl_context *ctx);

/* ---- invalid inputs, shared by the reference's and the library's argument tests ---- */

/* A small valid config: 4 heads over 2 kv heads, head_dim 32, window 4, fp32. */
swacl_attn_config tu_valid_config(void);

typedef struct tu_bad_case {
    const char *what;      /* which rule it breaks */
    swacl_attn_config cfg; /* tu_valid_config() with one field broken */
    int n_tokens;
} tu_bad_case;

/* every config/length rule of swacl_config_check broken once; *n receives the count */
const tu_bad_case *tu_bad_cases(size_t *n);

#endif /* SWACL_TESTUTIL_H */
