/* fuzz_seeds.c — writes every harness's seed corpus into DIR/<harness>/; rerun
 * after a format change: build-fuzz/tests/fuzz/fuzz_seeds tests/fuzz/corpus
 *
 * Valid cache entries and saved sequences let the fuzzers start past the magic
 * and checksum checks; the configs spread over small and raw fields. */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include "bincache.h"
#include "digest.h"
#include "restore_cache.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *root;

static void put(const char *harness, const char *name, uint8_t flags, const void *data, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, harness);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, harness, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(&flags, 1, 1, f) != 1 || (n && fwrite(data, 1, n, f) != n) || fclose(f)) {
        fprintf(stderr, "fuzz_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void bincache_seeds(void)
{
    static const char key[] = "00112233445566778899aabbccddeeff";
    const size_t payload = 40;
    unsigned char e[SWACL_BINCACHE_HEADER_SIZE + 40];
    memcpy(e, SWACL_BINCACHE_MAGIC, 8);
    e[8] = SWACL_BINCACHE_FORMAT_VERSION, e[9] = e[10] = e[11] = 0;
    for (int i = 0; i < 8; i++)
        e[12 + i] = (unsigned char)(payload >> (8 * i));
    memcpy(e + 36, key, SWACL_BINCACHE_KEY_LEN);
    for (size_t i = 0; i < payload; i++)
        e[SWACL_BINCACHE_HEADER_SIZE + i] = (unsigned char)(i * 7);
    swacl_digest(e + SWACL_BINCACHE_HEADER_SIZE, payload, e + 20);
    put("fuzz_bincache", "valid", 0, e, sizeof e);
    put("fuzz_bincache", "valid-resealed", 1, e, sizeof e);
    put("fuzz_bincache", "truncated", 0, e, sizeof e - 1);
    put("fuzz_bincache", "header-only", 0, e, SWACL_BINCACHE_HEADER_SIZE);
    unsigned char with_key[sizeof key + sizeof e];
    memcpy(with_key, key, sizeof key); /* the key and its NUL */
    memcpy(with_key + sizeof key, e, sizeof e);
    put("fuzz_bincache", "own-key", 2, with_key, sizeof with_key);
}

static void restore_seeds(void)
{
    swacl_context *ctx = NULL;
    swacl_cache *c = NULL;
    if (swacl_context_create(NULL, &ctx) != SWACL_OK || restore_cache_make(ctx, &c) != SWACL_OK) {
        fprintf(stderr, "fuzz_seeds: no device: %s\n", swacl_last_error(ctx));
        exit(1);
    }
    for (int step = 0; step < 2; step++) {
        size_t n = 0;
        swacl_cache_seq_save(c, 0, NULL, 0, &n);
        unsigned char *blob = malloc(n);
        if (swacl_cache_seq_save(c, 0, blob, n, &n) != SWACL_OK)
            exit(1);
        put("fuzz_seq_restore", step ? "full-context" : "prefilled", 2, blob, n);
        put("fuzz_seq_restore", step ? "full-context-resealed" : "prefilled-resealed", 3, blob, n);
        free(blob);
        /* one more token: the full layer then holds all RESTORE_MAX_CONTEXT slots */
        float q[64] = {0.1f}, kv[32] = {0.2f}, out[64];
        const int seq = 0;
        for (int l = 0; l < 2; l++)
            swacl_decode_host(c, l, 1, &seq, q, kv, kv, out);
    }
    swacl_cache_destroy(c);
    swacl_context_destroy(ctx);
}

static void config_seeds(void)
{
    uint64_t s = 42;
    for (int i = 0; i < 8; i++) {
        unsigned char b[96];
        for (size_t j = 0; j < sizeof b; j++)
            b[j] = (unsigned char)next(&s);
        b[0] = (unsigned char)(i & 3); /* layers; high bit clear: n_layers as read */
        b[1] = i < 4 ? 0 : b[1];       /* small fields for the first layer */
        char name[32];
        snprintf(name, sizeof name, "mixed-%d", i);
        put("fuzz_config", name, b[0], b + 1, sizeof b - 1);
    }
    for (int i = 0; i < 8; i++) {
        unsigned char b[48];
        for (size_t j = 0; j < sizeof b; j++)
            b[j] = (unsigned char)next(&s);
        char name[32];
        snprintf(name, sizeof name, "%s-%d", i & 1 ? "cache" : "oneshot", i);
        put("fuzz_attention", name, (uint8_t)(i & 1), b, sizeof b);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds CORPUS_DIR\n");
        return 2;
    }
    root = argv[1];
    mkdir(root, 0755);
    bincache_seeds();
    config_seeds();
    restore_seeds();
    printf("seeds written under %s\n", root);
    return 0;
}
