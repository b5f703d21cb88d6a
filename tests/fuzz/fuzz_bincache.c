/* fuzz_bincache.c — arbitrary bytes as an on-disk program cache entry for
 * swacl_bincache_parse, which must stay inside it and accept only valid ones. */
#include "bincache.h"
#include "fuzz_input.h"
#include "sha256.h"

/* the key every entry is looked up under, unless the input brings its own */
static const char default_key[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t flags = data[0];
    data++;
    size--;
    /* a key from the input (any 64 bytes, then NUL), or the default one */
    char key[65 + 1];
    memcpy(key, default_key, sizeof default_key);
    if ((flags & 2) && size >= 65) {
        memcpy(key, data, 65);
        key[65] = '\0';
        data += 65;
        size -= 65;
    }
    /* the entry in a block of exactly its size */
    unsigned char *entry = malloc(size ? size : 1);
    if (size)
        memcpy(entry, data, size);
    /* "reseal": give the payload its true digest, so the fuzzer can reach the
       checks after the checksum (offsets from bincache.h's format table) */
    if ((flags & 1) && size >= SWACL_BINCACHE_HEADER_SIZE)
        swacl_sha256_buffer(entry + SWACL_BINCACHE_HEADER_SIZE, size - SWACL_BINCACHE_HEADER_SIZE,
                            entry + 20);

    const unsigned char *payload = (const unsigned char *)"untouched";
    size_t payload_size = 12345;
    const int ok = swacl_bincache_parse(entry, size, key, &payload, &payload_size);
    if (ok) {
        FUZZ_CHECK(payload == entry + SWACL_BINCACHE_HEADER_SIZE &&
                       payload_size == size - SWACL_BINCACHE_HEADER_SIZE,
                   "payload at +%td, %zu bytes, in an entry of %zu bytes", payload - entry,
                   payload_size, size);
        FUZZ_CHECK(payload_size >= 1 && payload_size <= SWACL_BINCACHE_MAX_PAYLOAD,
                   "payload of %zu bytes accepted", payload_size);
        FUZZ_CHECK(memcmp(entry, SWACL_BINCACHE_MAGIC, 8) == 0, "entry without the magic accepted");
        FUZZ_CHECK(memcmp(entry + 52, key, 64) == 0 && strlen(key) == 64,
                   "entry accepted under another key");
        unsigned char digest[SWACL_SHA256_DIGEST_SIZE];
        swacl_sha256_buffer(payload, payload_size, digest);
        FUZZ_CHECK(memcmp(digest, entry + 20, sizeof digest) == 0,
                   "entry with a wrong digest accepted");
    } else {
        FUZZ_CHECK(payload_size == 12345 && !strcmp((const char *)payload, "untouched"),
                   "rejected entry wrote its outputs");
    }
    free(entry);
    return 0;
}
