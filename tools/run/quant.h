/* quant.h — dequantisation of GGUF tensor data to fp32, for the block formats of
 * the models swacl-run loads: F32, F16, BF16, Q8_0, Q5_0, Q4_K and Q6_K, written from
 * the formats' descriptions (block layouts in quant.c). */
#ifndef SWACL_QUANT_H
#define SWACL_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* 1 if quant_dequantize handles the type */
int quant_supported(uint32_t type);
/* Converts n_elems elements (a whole number of the type's blocks) from src to dst.
 * 0 on success, -1 for a type it does not handle or a partial block. */
int quant_dequantize(uint32_t type, const void *src, uint64_t n_elems, float *dst);
/* IEEE binary16 bits to float (subnormals, inf and NaN kept) */
float quant_half(uint16_t h);

#endif /* SWACL_QUANT_H */
