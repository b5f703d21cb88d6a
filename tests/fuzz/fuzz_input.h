/* fuzz_input.h — what the libFuzzer harnesses share: reading fields from the
 * fuzzer's bytes (zeros once they run out) and a loud failure for findings. */
#ifndef SWACL_FUZZ_INPUT_H
#define SWACL_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fuzz_input {
    const uint8_t *data;
    size_t size, at;
} fuzz_input;

static inline fuzz_input fuzz_input_of(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    return in;
}

static inline uint64_t fuzz_bits(fuzz_input *in, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)(in->at < in->size ? in->data[in->at++] : 0) << (8 * i);
    return v;
}

static inline uint8_t fuzz_u8(fuzz_input *in) { return (uint8_t)fuzz_bits(in, 1); }
/* any 32-bit value, negative ones included */
static inline int32_t fuzz_i32(fuzz_input *in) { return (int32_t)(uint32_t)fuzz_bits(in, 4); }
/* any float bit pattern: NaN, infinities and denormals included */
static inline float fuzz_f32(fuzz_input *in)
{
    const uint32_t bits = (uint32_t)fuzz_bits(in, 4);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}
/* one of n values picked by a byte */
static inline int fuzz_pick(fuzz_input *in, int n) { return fuzz_u8(in) % n; }
/* a finite value in [-1, 1) from two bytes */
static inline float fuzz_unit(fuzz_input *in)
{
    return (float)((double)fuzz_bits(in, 2) / 32768.0 - 1.0);
}

/* A finding: print it and abort, so libFuzzer keeps the input as a crash. */
#define FUZZ_CHECK(cond, ...)                                          \
    do {                                                               \
        if (!(cond)) {                                                 \
            fprintf(stderr, "fuzz finding: " __VA_ARGS__);             \
            fprintf(stderr, "\n  (%s, %s:%d)\n", #cond, __FILE__, __LINE__); \
            abort();                                                   \
        }                                                              \
    } while (0)

#endif /* SWACL_FUZZ_INPUT_H */
