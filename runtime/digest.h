/* digest.h — XXH3-128 (libxxhash) in its canonical, big-endian 16 bytes: the
 * checksum of saved sequence blobs and of kernel-cache entries. A corruption
 * check, not a signature. Header-only. */
#ifndef SWACL_DIGEST_H
#define SWACL_DIGEST_H

#include <stddef.h>
#include <string.h>
#include <xxhash.h>

#define SWACL_DIGEST_SIZE 16
_Static_assert(sizeof(XXH128_canonical_t) == SWACL_DIGEST_SIZE, "XXH3-128 digest size");

static inline void swacl_digest(const void *p, size_t n, unsigned char out[SWACL_DIGEST_SIZE])
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(p, n));
    memcpy(out, c.digest, SWACL_DIGEST_SIZE);
}

#endif
