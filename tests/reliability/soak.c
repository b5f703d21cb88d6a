/* soak.c — a million tokens and more through a 16-token window, batched across
 * many sequences, checked for correctness, stable memory and determinism.
 *
 * Every output must be finite; sampled rows must match the reference (rebuilt
 * from the last W tokens kept on the host); the cache's device bytes, its OpenCL
 * objects and the process's memory must not grow; a second run must give
 * bitwise identical outputs; and a sequence moved to just below position 2^31
 * must decode correctly up to the last position. */
#define _POSIX_C_SOURCE 200809L /* strtoll */
#include "internal.h"
#include "relutil.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* an output digest: XXH3-128 in 32 hex digits, and the NUL */
#define DIGEST_HEX 33

enum {
    HEADS = 2, KV_HEADS = 1, HEAD_DIM = 32, WINDOW = 16,
    Q_ROW = HEADS * HEAD_DIM, KV_ROW = KV_HEADS * HEAD_DIM,
    CHECKPOINT = 1000, /* decode steps between output digests */
};

typedef struct soak {
    swacl_context *ctx;
    swacl_cache *cache;
    cl_context cl;
    swacl_attn_config cfg;
    int n_seqs;
    int64_t *pos;       /* next position of each sequence */
    float *win_k, *win_v; /* [seq][WINDOW][KV_ROW]: the last WINDOW tokens, by position % WINDOW */
    float *q, *k, *v, *out;
    int *seqs;
    XXH3_state_t *digest; /* XXH3-128 of every output, in order */
    long steps, samples, bad;
} soak;

/* the token of (seq, position): values in [-1, 1) that any run regenerates */
static void token(int seq, int64_t pos, float *q, float *k, float *v)
{
    tu_rng r = tu_rng_seed(((uint64_t)seq << 40) ^ (uint64_t)pos ^ 0x50a4u);
    tu_fill_f32(&r, q, Q_ROW);
    tu_fill_f32(&r, k, KV_ROW);
    tu_fill_f32(&r, v, KV_ROW);
}

static void remember(soak *s, int seq, int64_t pos, const float *k, const float *v)
{
    const size_t at = ((size_t)seq * WINDOW + (size_t)(pos % WINDOW)) * KV_ROW;
    memcpy(s->win_k + at, k, KV_ROW * sizeof(float));
    memcpy(s->win_v + at, v, KV_ROW * sizeof(float));
}

/* Reference row of the query at `pos` of seq, from its last (up to) WINDOW
 * tokens: with no sinks a causal window depends only on distances, so those
 * tokens at positions 0.. give the same row as at their real positions. */
static int sample_ok(soak *s, int seq, int64_t pos, const float *q, const float *got)
{
    rel_history h;
    rel_history_init(&h, &s->cfg);
    const int64_t first = pos + 1 >= WINDOW ? pos + 1 - WINDOW : 0;
    for (int64_t p = first; p <= pos; p++) {
        const size_t at = ((size_t)seq * WINDOW + (size_t)(p % WINDOW)) * KV_ROW;
        rel_history_set(&h, h.len, s->win_k + at, s->win_v + at);
    }
    float want[Q_ROW];
    const int ok = rel_expected_row(&s->cfg, &h, q, want) == SWACL_OK &&
                   tu_compare(got, want, Q_ROW, SWACL_F32,
                              tu_tolerance(s->cfg.dtype, s->cfg.kv_dtype), "soak sample")
                           .n_bad == 0;
    if (!ok)
        printf("  sequence %d position %lld differs from the reference\n", seq, (long long)pos);
    rel_history_free(&h);
    s->samples++;
    return ok;
}

/* References to the context (every buffer, program and queue holds one). A
 * driver thread may still be dropping what finished commands held, so a count
 * other than `expect` is read again for up to two seconds. */
static cl_uint context_refs(const soak *s, cl_uint expect)
{
    cl_uint refs = 0;
    const double give_up = rel_now() + 2.0;
    do {
        clGetContextInfo(s->cl, CL_CONTEXT_REFERENCE_COUNT, sizeof refs, &refs, NULL);
        if (refs == expect || expect == 0) /* 0: just read it */
            break;
        rel_sleep_ms(1);
    } while (rel_now() < give_up);
    return refs;
}

static int soak_open(soak *s, int n_seqs)
{
    memset(s, 0, sizeof *s);
    s->n_seqs = n_seqs;
    memset(&s->cfg, 0, sizeof s->cfg);
    s->cfg.n_heads = HEADS;
    s->cfg.n_kv_heads = KV_HEADS;
    s->cfg.head_dim = HEAD_DIM;
    s->cfg.window = WINDOW;
    s->cfg.kv_dtype = SWACL_F16;
    swacl_status st = swacl_context_create(NULL, &s->ctx);
    if (st != SWACL_OK) {
        printf("context: %s: %s\n", swacl_status_string(st), swacl_last_error(NULL));
        return st == SWACL_ERR_NO_DEVICE ? 77 : 1;
    }
    s->cl = swacl_context_cl_context(s->ctx);
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    opt.n_layers = 1;
    opt.layers = &s->cfg;
    opt.max_seqs = n_seqs;
    if ((st = swacl_cache_create(s->ctx, &opt, &s->cache)) != SWACL_OK) {
        printf("cache: %s: %s\n", swacl_status_string(st), swacl_last_error(s->ctx));
        return 1;
    }
    s->pos = calloc((size_t)n_seqs, sizeof *s->pos);
    s->win_k = calloc((size_t)n_seqs * WINDOW * KV_ROW, sizeof(float));
    s->win_v = calloc((size_t)n_seqs * WINDOW * KV_ROW, sizeof(float));
    s->q = malloc((size_t)n_seqs * WINDOW * Q_ROW * sizeof(float));
    s->k = malloc((size_t)n_seqs * WINDOW * KV_ROW * sizeof(float));
    s->v = malloc((size_t)n_seqs * WINDOW * KV_ROW * sizeof(float));
    s->out = malloc((size_t)n_seqs * WINDOW * Q_ROW * sizeof(float));
    s->seqs = malloc((size_t)n_seqs * sizeof *s->seqs);
    s->digest = XXH3_createState();
    if (s->digest == NULL || XXH3_128bits_reset(s->digest) != XXH_OK) {
        printf("out of host memory for the output digest\n");
        return 1;
    }
    return 0;
}

static void soak_close(soak *s)
{
    swacl_cache_destroy(s->cache);
    swacl_context_destroy(s->ctx);
    free(s->pos);
    free(s->win_k);
    free(s->win_v);
    free(s->q);
    free(s->k);
    free(s->v);
    free(s->out);
    free(s->seqs);
    XXH3_freeState(s->digest);
}

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* sequence s starts with s % WINDOW + 1 tokens, so batch rows sit at
   different ring offsets throughout */
static int soak_prefill(soak *s)
{
    for (int seq = 0; seq < s->n_seqs; seq++) {
        const int n = seq % WINDOW + 1;
        for (int t = 0; t < n; t++)
            token(seq, t, s->q + t * Q_ROW, s->k + t * KV_ROW, s->v + t * KV_ROW);
        const swacl_status st = swacl_prefill_host(s->cache, 0, seq, n, s->q, s->k, s->v, s->out);
        if (st != SWACL_OK) {
            printf("prefill: %s: %s\n", swacl_status_string(st), swacl_last_error(s->ctx));
            return 0;
        }
        XXH3_128bits_update(s->digest, s->out, (size_t)n * Q_ROW * sizeof(float));
        for (int t = 0; t < n; t++) {
            remember(s, seq, t, s->k + t * KV_ROW, s->v + t * KV_ROW);
            if (!sample_ok(s, seq, t, s->q + t * Q_ROW, s->out + t * Q_ROW))
                s->bad++;
        }
        s->pos[seq] = n;
    }
    return s->bad == 0;
}

/* one decode of every sequence, the batch in a rotating order */
static int soak_step(soak *s, int sample_every)
{
    const int n = s->n_seqs;
    for (int r = 0; r < n; r++) {
        const int seq = (int)((r + s->steps) % n);
        s->seqs[r] = seq;
        token(seq, s->pos[seq], s->q + r * Q_ROW, s->k + r * KV_ROW, s->v + r * KV_ROW);
    }
    const swacl_status st = swacl_decode_host(s->cache, 0, n, s->seqs, s->q, s->k, s->v, s->out);
    if (st != SWACL_OK) {
        printf("decode step %ld: %s: %s\n", s->steps, swacl_status_string(st),
               swacl_last_error(s->ctx));
        return 0;
    }
    XXH3_128bits_update(s->digest, s->out, (size_t)n * Q_ROW * sizeof(float));
    if (!all_finite(s->out, (size_t)n * Q_ROW)) {
        printf("decode step %ld: a non-finite output\n", s->steps);
        return 0;
    }
    for (int r = 0; r < n; r++) {
        const int seq = s->seqs[r];
        remember(s, seq, s->pos[seq], s->k + r * KV_ROW, s->v + r * KV_ROW);
        /* a different sequence and batch row each time */
        if (sample_every > 0 && (s->steps * n + r) % sample_every == 0 &&
            !sample_ok(s, seq, s->pos[seq], s->q + r * Q_ROW, s->out + r * Q_ROW))
            s->bad++;
        s->pos[seq]++;
    }
    s->steps++;
    return s->bad == 0;
}

/* The blob as cache.c writes it (one layer; testutil.h: TU_BLOB_*). A forged
 * position keeps the ring valid when it moves by a multiple of the window: every
 * slot then holds the token at the same distance. */

/* moves sequence 0 (copied into sequence 1) to just below 2^31 and decodes up to
   the last position; one more token must be refused */
static int far_positions(soak *s)
{
    size_t size = 0;
    if (swacl_cache_seq_save(s->cache, 0, NULL, 0, &size) != SWACL_OK)
        return 0;
    unsigned char *blob = malloc(size);
    if (swacl_cache_seq_save(s->cache, 0, blob, size, &size) != SWACL_OK)
        return 0;
    int64_t pos;
    memcpy(&pos, blob + TU_BLOB_POS, sizeof pos);
    if (pos != s->pos[0]) {
        printf("far: the blob layout is not the one this test knows (position %lld, want %lld)\n",
               (long long)pos, (long long)s->pos[0]);
        free(blob);
        return 0;
    }
    const int64_t last = INT32_MAX; /* positions must stay below 2^31 */
    int64_t far = last - 2 * WINDOW - 3;
    far -= ((far - pos) % WINDOW + WINDOW) % WINDOW; /* same slot as pos */
    memcpy(blob + TU_BLOB_POS, &far, sizeof far);
    tu_blob_reseal(blob, size);
    swacl_status st = swacl_cache_seq_restore(s->cache, 1, blob, size);
    free(blob);
    if (st != SWACL_OK) {
        printf("far: restoring at position %lld: %s: %s\n", (long long)far,
               swacl_status_string(st), swacl_last_error(s->ctx));
        return 0;
    }
    /* sequence 1 now holds sequence 0's window at distance-preserving positions */
    memcpy(s->win_k + WINDOW * KV_ROW, s->win_k, WINDOW * KV_ROW * sizeof(float));
    memcpy(s->win_v + WINDOW * KV_ROW, s->win_v, WINDOW * KV_ROW * sizeof(float));
    const int seq = 1;
    int ok = 1, decoded = 0;
    for (int64_t p = far; p < last; p++, decoded++) {
        float q[Q_ROW], k[KV_ROW], v[KV_ROW], out[Q_ROW];
        token(seq, p, q, k, v);
        st = swacl_decode_host(s->cache, 0, 1, &seq, q, k, v, out);
        if (st != SWACL_OK) {
            printf("far: decode at position %lld: %s: %s\n", (long long)p,
                   swacl_status_string(st), swacl_last_error(s->ctx));
            return 0;
        }
        /* the window copy is indexed by position % WINDOW, which the shift kept */
        remember(s, seq, p, k, v);
        ok &= sample_ok(s, seq, p, q, out);
    }
    float q[Q_ROW] = {0}, kv[KV_ROW] = {0}, out[Q_ROW];
    st = swacl_decode_host(s->cache, 0, 1, &seq, q, kv, kv, out);
    if (st != SWACL_ERR_INVALID_ARGUMENT) {
        printf("far: a decode at position 2^31 returned %s\n", swacl_status_string(st));
        ok = 0;
    }
    printf("far: %d tokens decoded from position %lld up to 2^31 - 1, %s\n", decoded,
           (long long)far, ok ? "all match the reference" : "MISMATCHES");
    return ok;
}

/* ASan keeps freed blocks in quarantine, so the resident set grows without a
   leak there; LeakSanitizer checks leaks in those builds instead */
#if defined(__SANITIZE_ADDRESS__)
#define SOAK_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOAK_UNDER_ASAN 1
#endif
#endif

/* resident set in MiB (Linux), or -1 when unknown or meaningless */
static double rss_mib(void)
{
#ifdef SOAK_UNDER_ASAN
    return -1.0;
#endif
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = -1, resident = -1;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = -1;
        fclose(f);
    }
    return resident < 0 ? -1.0 : resident * 4096.0 / (1024.0 * 1024.0);
}

/* the digest so far; the state goes on taking outputs */
static void hex_of(const XXH3_state_t *st, char hex[DIGEST_HEX])
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
    for (size_t i = 0; i < sizeof c.digest; i++)
        snprintf(hex + 2 * i, 3, "%02x", c.digest[i]);
}

int main(int argc, char **argv)
{
    long long tokens = 1000000, repeat_tokens = -1; /* -1: all of them */
    double max_seconds = 900;
    int n_seqs = 64;
    int usage = argc % 2 == 0;
    for (int a = 1; !usage && a + 1 < argc; a += 2) {
        if (!strcmp(argv[a], "--tokens"))
            tokens = strtoll(argv[a + 1], NULL, 10);
        else if (!strcmp(argv[a], "--repeat-tokens"))
            repeat_tokens = strtoll(argv[a + 1], NULL, 10);
        else if (!strcmp(argv[a], "--max-seconds"))
            max_seconds = strtod(argv[a + 1], NULL);
        else if (!strcmp(argv[a], "--seqs"))
            n_seqs = atoi(argv[a + 1]);
        else
            usage = 1;
    }
    if (usage || n_seqs < 2 || tokens < 1) {
        fprintf(stderr, "usage: rel_soak [--tokens N] [--repeat-tokens N] [--seqs N] "
                        "[--max-seconds S]\n");
        return 2;
    }
    const double t0 = rel_now();
    soak s;
    int rc = soak_open(&s, n_seqs);
    if (rc)
        return rc;
    swacl_device_info info;
    swacl_context_device_info(s.ctx, &info);
    printf("soak: %s, %d sequences per decode, window %d, fp16 cache of %zu device bytes\n",
           info.name, n_seqs, WINDOW, swacl_cache_device_bytes(s.cache));
    const size_t bytes0 = swacl_cache_device_bytes(s.cache);
    int ok = soak_prefill(&s) && soak_step(&s, 1);
    const cl_uint refs0 = context_refs(&s, 0); /* every scratch buffer exists by now */
    if (repeat_tokens < 0)
        repeat_tokens = tokens;
    const long steps_needed = (long)((tokens + n_seqs - 1) / n_seqs);
    const long repeat_steps = (long)((repeat_tokens + n_seqs - 1) / n_seqs);
    char (*checkpoints)[DIGEST_HEX] = calloc((size_t)(repeat_steps / CHECKPOINT + 1), DIGEST_HEX);
    double rss0 = -1.0;
    while (ok && s.steps < steps_needed) {
        ok = soak_step(&s, 257); /* prime: the sample walks over sequences and rows */
        if (s.steps % CHECKPOINT == 0) {
            if (s.steps == CHECKPOINT)
                rss0 = rss_mib(); /* after the driver's own warm-up */
            /* a leak of a few hundred bytes a step shows within a million tokens */
            if (rss0 > 0 && rss_mib() > rss0 + 64.0) {
                printf("step %ld: resident memory grew from %.1f to %.1f MiB\n", s.steps, rss0,
                       rss_mib());
                ok = 0;
            }
            if (s.steps <= repeat_steps)
                hex_of(s.digest, checkpoints[s.steps / CHECKPOINT]);
            const cl_uint refs = context_refs(&s, refs0);
            if (swacl_cache_device_bytes(s.cache) != bytes0 || refs != refs0) {
                printf("step %ld: device bytes %zu (were %zu), context references %u (were %u)\n",
                       s.steps, swacl_cache_device_bytes(s.cache), bytes0, refs, refs0);
                ok = 0;
            }
            if (rel_now() - t0 > max_seconds) {
                printf("time limit: %ld of %lld tokens after %.0f s\n", s.steps * n_seqs, tokens,
                       rel_now() - t0);
                ok = 0;
            }
        }
    }
    const long long soaked = (long long)s.steps * n_seqs;
    char digest[DIGEST_HEX];
    hex_of(s.digest, digest);
    char memory[64] = "resident memory not measured";
    if (rss0 > 0)
        snprintf(memory, sizeof memory, "resident memory %.1f -> %.1f MiB", rss0, rss_mib());
    printf("soak: %lld tokens decoded in %ld batched steps (%.1f s), positions up to %lld; %ld "
           "rows checked against the reference, %ld bad; %s; output digest %.16s\n",
           soaked, s.steps, rel_now() - t0, (long long)s.pos[n_seqs - 1], s.samples, s.bad, memory,
           digest);
    ok = ok && far_positions(&s);
    soak_close(&s);

    /* a second run on a fresh context must reproduce the outputs bit for bit */
    if (ok && repeat_steps > 0) {
        soak again;
        if (soak_open(&again, n_seqs) || !soak_prefill(&again) || !soak_step(&again, 0)) {
            ok = 0;
        } else {
            while (ok && again.steps < repeat_steps && again.steps < steps_needed) {
                ok = soak_step(&again, 0);
                char hex[DIGEST_HEX];
                if (again.steps % CHECKPOINT == 0) {
                    hex_of(again.digest, hex);
                    if (strcmp(hex, checkpoints[again.steps / CHECKPOINT]) != 0) {
                        printf("repeat: outputs differ from the first run by step %ld\n",
                               again.steps);
                        ok = 0;
                    }
                }
            }
            printf("repeat: %ld tokens on a fresh context, %s\n", again.steps * n_seqs,
                   ok ? "bitwise identical" : "NOT identical");
        }
        soak_close(&again);
    }
    free(checkpoints);
    printf("soak: %s (%.0f s)\n", ok ? "passed" : "FAILED", rel_now() - t0);
    return ok ? 0 : 1;
}
