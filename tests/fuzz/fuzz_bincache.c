/* fuzz_bincache.c — arbitrary bytes as an on-disk program cache entry for
 * swacl_bincache_parse, which must stay inside it and accept only valid ones. */
#include "bincache.h"
#include "digest.h"
#include "fuzz_input.h"

/* the key every entry is looked up under, unless the input brings its own */
static const char default_key[] = "00112233445566778899aabbccddeeff";
_Static_assert(sizeof default_key == SWACL_BINCACHE_KEY_LEN + 1, "default key length");

/* header offsets, from bincache.h's format table */
enum { AT_DIGEST = 20, AT_KEY = 36, KEY_IN = SWACL_BINCACHE_KEY_LEN + 1 };


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t flags = data[0];
    data++;
    size--;
    /* a key from the input (any KEY_IN bytes, then NUL), or the default one */
    char key[KEY_IN + 1];
    memcpy(key, default_key, sizeof default_key);
    if ((flags & 2) && size >= KEY_IN) {
        memcpy(key, data, KEY_IN);
        key[KEY_IN] = '\0';
        data += KEY_IN;
        size -= KEY_IN;
    }
    /* the entry in a block of exactly its size */
    unsigned char *entry = malloc(size ? size : 1);
    if (size)
        memcpy(entry, data, size);
    /* "reseal": give the payload its true digest, so the fuzzer can reach the
       checks after the checksum */
    if ((flags & 1) && size >= SWACL_BINCACHE_HEADER_SIZE)
        swacl_digest(entry + SWACL_BINCACHE_HEADER_SIZE, size - SWACL_BINCACHE_HEADER_SIZE,
                     entry + AT_DIGEST);

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
        FUZZ_CHECK(memcmp(entry + AT_KEY, key, SWACL_BINCACHE_KEY_LEN) == 0 &&
                       strlen(key) == SWACL_BINCACHE_KEY_LEN,
                   "entry accepted under another key");
        unsigned char digest[SWACL_DIGEST_SIZE];
        swacl_digest(payload, payload_size, digest);
        FUZZ_CHECK(memcmp(digest, entry + AT_DIGEST, sizeof digest) == 0,
                   "entry with a wrong digest accepted");
    } else {
        FUZZ_CHECK(payload_size == 12345 && !strcmp((const char *)payload, "untouched"),
                   "rejected entry wrote its outputs");
    }
    free(entry);
    return 0;
}
