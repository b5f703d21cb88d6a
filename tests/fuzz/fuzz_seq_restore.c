/* fuzz_seq_restore.c — arbitrary bytes as a saved sequence for
 * swacl_cache_seq_restore on a small device cache.
 *
 * A rejected blob changes nothing; an accepted one leaves positions the cache
 * can hold and a sequence that decodes; the other sequence is never touched. */
#include "fuzz_input.h"
#include "restore_cache.h"
#include "testutil.h"

#include <stdint.h>

static swacl_context *ctx;
static swacl_cache *cache;
static unsigned char *seq0_blob; /* sequence 0 as set up: it must stay so */
static size_t seq0_size;

static void setup(void)
{
    if (swacl_context_create(NULL, &ctx) != SWACL_OK || restore_cache_make(ctx, &cache) != SWACL_OK ||
        swacl_cache_seq_save(cache, 0, NULL, 0, &seq0_size) != SWACL_OK) {
        fprintf(stderr, "fuzz_seq_restore: no device cache: %s\n",
                swacl_last_error(ctx));
        abort();
    }
    seq0_blob = malloc(seq0_size);
    if (swacl_cache_seq_save(cache, 0, seq0_blob, seq0_size, &seq0_size) != SWACL_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cache)
        setup();
    if (size < 1)
        return 0;
    const uint8_t flags = data[0];
    data++;
    size--;
    unsigned char *blob = malloc(size ? size : 1);
    if (size)
        memcpy(blob, data, size);
    /* "reseal": the true digest, so the fuzzer reaches the checks behind it */
    if (flags & 1)
        tu_blob_reseal(blob, size);

    FUZZ_CHECK(swacl_cache_seq_reset(cache, 1) == SWACL_OK, "reset failed");
    const swacl_status st = swacl_cache_seq_restore(cache, 1, blob, size);
    int64_t pos[2];
    for (int l = 0; l < 2; l++)
        FUZZ_CHECK(swacl_cache_seq_pos(cache, l, 1, &pos[l]) == SWACL_OK, "no position");
    if (st != SWACL_OK) {
        FUZZ_CHECK(st == SWACL_ERR_INVALID_ARGUMENT, "restore returned %s",
                   swacl_status_string(st));
        FUZZ_CHECK(pos[0] == 0 && pos[1] == 0, "rejected blob moved sequence 1 to %lld/%lld",
                   (long long)pos[0], (long long)pos[1]);
    } else {
        FUZZ_CHECK(pos[0] >= 0 && pos[0] <= INT32_MAX && pos[1] >= 0 &&
                       pos[1] <= RESTORE_MAX_CONTEXT,
                   "restored positions %lld/%lld", (long long)pos[0], (long long)pos[1]);
        if (flags & 2) {
            /* the restored sequence decodes one token wherever it has room */
            float q[64] = {0.5f}, kv[32] = {0.25f}, out[64];
            const int seqs[1] = {1};
            for (int l = 0; l < 2; l++) {
                const int room = l == 1 ? pos[1] < RESTORE_MAX_CONTEXT : pos[0] < INT32_MAX;
                const swacl_status d = swacl_decode_host(cache, l, 1, seqs, q, kv, kv, out);
                FUZZ_CHECK(room ? d == SWACL_OK : d == SWACL_ERR_INVALID_ARGUMENT,
                           "decode at layer %d from position %lld: %s (%s)", l,
                           (long long)pos[l], swacl_status_string(d), swacl_last_error(ctx));
            }
        }
    }
    /* sequence 0 is exactly as it was */
    unsigned char *now = malloc(seq0_size);
    size_t now_size = 0;
    FUZZ_CHECK(swacl_cache_seq_save(cache, 0, now, seq0_size, &now_size) == SWACL_OK &&
                   now_size == seq0_size && memcmp(now, seq0_blob, seq0_size) == 0,
               "restoring into sequence 1 changed sequence 0");
    free(now);
    free(blob);
    return 0;
}
