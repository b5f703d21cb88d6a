/* kprobe.c — kernel build probe for tools/gpu/run-nvidia.sh: drives swacl's public API
 * through the shapes and features the tests and the profiler use, and prints the complete
 * error (build log included) of every distinct kernel build that fails on the device.
 *
 * The tests and swacl-prof print errors cut to a line or so; the log of a kernel that does not
 * compile is only whole in swacl_last_error(), so this program asks for it directly.
 * Device: $SWACL_DEVICE. Exit status: 0 all built, 1 some failed, 2 no context. */
#include "swacl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct probe_case {
    const char *name;
    int heads, kv_heads, head_dim, window, n_sink, dilation, bidirectional;
    float softcap;
    int sinks;     /* learned sink logits */
    int rope;      /* SWACL_ROPE_IN_CACHE */
    int cache;     /* also prefill and decode through a cache (causal cases) */
} probe_case;

/* the profiler's shapes and the README's model settings, then one of each feature */
static const probe_case cases[] = {
    {"laptop", 8, 2, 64, 512, 0, 0, 0, 0, 0, 0, 1},
    {"mistral", 32, 8, 128, 4096, 0, 0, 0, 0, 0, 0, 1},
    {"gemma2", 16, 8, 256, 4096, 0, 0, 0, 50, 0, 0, 1},
    {"gptoss", 64, 8, 64, 128, 0, 0, 0, 0, 1, 0, 1},
    {"phi3", 32, 32, 96, 2047, 0, 0, 0, 0, 0, 0, 1},
    {"tiny", 2, 1, 32, 16, 0, 0, 0, 0, 0, 0, 1},
    {"streaming", 8, 2, 64, 60, 4, 0, 0, 0, 0, 1, 1},
    {"dilated", 8, 2, 64, 32, 0, 2, 0, 0, 0, 0, 1},
    {"bidirectional", 8, 2, 64, 32, 0, 0, 1, 0, 0, 0, 0},
    {"full", 8, 2, 64, 0, 0, 0, 0, 0, 0, 0, 0},
};

enum { MAX_SEEN = 256, MAX_PRINTED = 24, N_TOKENS = 300, BATCH = 8 };
static char *seen[MAX_SEEN];
static int n_seen, n_calls, n_failed;

/* prints the whole message the first time its first line (file and options) shows up */
static void report(swacl_context *ctx, const char *what, swacl_status st)
{
    ++n_failed;
    const char *msg = swacl_last_error(ctx);
    size_t head = strcspn(msg, "\n");
    for (int i = 0; i < n_seen; ++i)
        if (strlen(seen[i]) == head && strncmp(seen[i], msg, head) == 0) {
            printf("FAILED %s: %s (the same build failure as above)\n", what, swacl_status_string(st));
            return;
        }
    if (n_seen < MAX_SEEN && (seen[n_seen] = malloc(head + 1))) {
        memcpy(seen[n_seen], msg, head);
        seen[n_seen++][head] = '\0';
    }
    if (n_seen > MAX_PRINTED) /* one broken source fails in every variant: keep the file small */
        printf("FAILED %s: %s: %.*s\n", what, swacl_status_string(st), (int)head, msg);
    else
        printf("FAILED %s: %s\n%s\n---- end of message\n", what, swacl_status_string(st), msg);
    fflush(stdout);
}

static int check(swacl_context *ctx, const char *what, swacl_status st)
{
    ++n_calls;
    if (st != SWACL_OK)
        report(ctx, what, st);
    return st == SWACL_OK;
}

static void probe(swacl_context *ctx, const probe_case *pc, swacl_dtype dtype, swacl_dtype kv,
                  void *q, void *k, void *v, void *out, const float *sink_logits)
{
    swacl_attn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.n_heads = pc->heads;
    cfg.n_kv_heads = pc->kv_heads;
    cfg.head_dim = pc->head_dim;
    cfg.window = pc->window;
    cfg.n_sink = pc->n_sink;
    cfg.dilation = pc->dilation;
    cfg.bidirectional = pc->bidirectional;
    cfg.softcap = pc->softcap;
    cfg.sink_logits = pc->sinks ? sink_logits : NULL;
    cfg.dtype = dtype;
    cfg.kv_dtype = kv;
    char what[160];
    const char *dn = dtype == SWACL_F16 ? "f16" : "f32", *kn = kv == SWACL_F16 ? "f16" : "f32";

    if (kv == SWACL_F32) { /* one-shot attention has no cache type */
        snprintf(what, sizeof what, "%s io=%s attention n=%d", pc->name, dn, N_TOKENS);
        check(ctx, what, swacl_attention_host(ctx, &cfg, N_TOKENS, q, k, v, out));
    }
    if (!pc->cache)
        return;
    cfg.rope = pc->rope ? SWACL_ROPE_IN_CACHE : SWACL_ROPE_NONE;
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    opt.n_layers = 1;
    opt.layers = &cfg;
    opt.max_seqs = BATCH;
    opt.max_context = 2 * N_TOKENS;
    swacl_cache *cache = NULL;
    snprintf(what, sizeof what, "%s io=%s kv=%s cache", pc->name, dn, kn);
    if (!check(ctx, what, swacl_cache_create(ctx, &opt, &cache)))
        return;
    snprintf(what, sizeof what, "%s io=%s kv=%s prefill n=%d", pc->name, dn, kn, N_TOKENS);
    if (check(ctx, what, swacl_prefill_host(cache, 0, 0, N_TOKENS, q, k, v, out))) {
        int seqs[BATCH];
        for (int s = 0; s < BATCH; ++s) {
            seqs[s] = s;
            if (s > 0)
                swacl_cache_seq_copy(cache, 0, s);
        }
        snprintf(what, sizeof what, "%s io=%s kv=%s decode b=1", pc->name, dn, kn);
        check(ctx, what, swacl_decode_host(cache, 0, 1, seqs, q, k, v, out));
        snprintf(what, sizeof what, "%s io=%s kv=%s decode b=%d", pc->name, dn, kn, BATCH);
        check(ctx, what, swacl_decode_host(cache, 0, BATCH, seqs, q, k, v, out));
    }
    swacl_cache_destroy(cache);
}

int main(void)
{
    swacl_context *ctx = NULL;
    swacl_status st = swacl_context_create(NULL, &ctx);
    if (st != SWACL_OK) {
        printf("kprobe: no context: %s\n%s\n", swacl_status_string(st), swacl_last_error(NULL));
        return 2;
    }
    swacl_device_info info;
    if (swacl_context_device_info(ctx, &info) == SWACL_OK)
        printf("kprobe: device %s %s (%s), params %s\n", info.selector, info.name,
               info.driver_version, info.params_detail);

    /* room for the largest case; values in [-0.5, 0.5] (fp16 inputs stay zero bits) */
    size_t elems = (size_t)N_TOKENS * 64 * 256;
    float *q = calloc(elems, sizeof(float)), *k = calloc(elems, sizeof(float));
    float *v = calloc(elems, sizeof(float)), *out = calloc(elems, sizeof(float));
    float sink_logits[64];
    if (!q || !k || !v || !out)
        return 2;
    for (size_t i = 0; i < elems; ++i)
        q[i] = k[i] = v[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    for (int h = 0; h < 64; ++h)
        sink_logits[h] = 0.25f * (float)(h % 5);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        probe(ctx, &cases[c], SWACL_F32, SWACL_F32, q, k, v, out, sink_logits);
        probe(ctx, &cases[c], SWACL_F32, SWACL_F16, q, k, v, out, sink_logits);
    }
    /* fp16 inputs and outputs once: their own load and store variants */
    memset(q, 0, elems * sizeof(float));
    memset(k, 0, elems * sizeof(float));
    memset(v, 0, elems * sizeof(float));
    probe(ctx, &cases[1], SWACL_F16, SWACL_F16, q, k, v, out, sink_logits);
    /* every head dim the library accepts, one-shot */
    for (int d = 32; d <= 256; d += 8) {
        probe_case pc = {"head_dim", 4, 2, d, 64, 0, 0, 0, 0, 0, 0, 0};
        char name[32];
        snprintf(name, sizeof name, "head_dim=%d", d);
        pc.name = name;
        probe(ctx, &pc, SWACL_F32, SWACL_F32, q, k, v, out, sink_logits);
    }
    printf("kprobe: %d calls, %d failed, %d distinct errors\n", n_calls, n_failed, n_seen);
    swacl_context_destroy(ctx);
    free(q);
    free(k);
    free(v);
    free(out);
    for (int i = 0; i < n_seen; ++i)
        free(seen[i]);
    return n_failed ? 1 : 0;
}
