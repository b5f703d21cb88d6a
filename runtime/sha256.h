/* sha256.h — SHA-256 (FIPS 180-4), incremental, for the on-disk program cache's
 * keys and payload checksums. Not a security boundary; internal, not installed. */
#ifndef SWACL_SHA256_H
#define SWACL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SWACL_SHA256_DIGEST_SIZE 32

typedef struct swacl_sha256_ctx {
    uint32_t state[8];
    uint64_t total_bytes;     /* message length so far, for the final length field */
    unsigned char block[64];  /* bytes waiting for a full 64-byte block */
    size_t block_fill;
} swacl_sha256_ctx;

void swacl_sha256_init(swacl_sha256_ctx *c);
/* data may be NULL when n == 0 */
void swacl_sha256_update(swacl_sha256_ctx *c, const void *data, size_t n);
/* writes the digest; c must be re-initialised before reuse */
void swacl_sha256_final(swacl_sha256_ctx *c, unsigned char digest[SWACL_SHA256_DIGEST_SIZE]);
/* one-shot convenience over a single buffer */
void swacl_sha256_buffer(const void *data, size_t n, unsigned char digest[SWACL_SHA256_DIGEST_SIZE]);
/* lowercase hex, NUL-terminated */
void swacl_sha256_hex(const unsigned char digest[SWACL_SHA256_DIGEST_SIZE], char hex_out[65]);

#endif /* SWACL_SHA256_H */
