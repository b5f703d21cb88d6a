/* decode-step.c — host wall time of one decode step of a whole model, as an engine issues
 * it: every layer's swacl_decode on the same queue, then one swacl_finish, against the same
 * with a swacl_finish after every layer (what a call that waited inside would cost).
 *
 * Usage: swacl-decode-step [--layers N] [--batch B] [--context T] [--steps S] [--f32]
 * Default: Mistral 7B geometry (32 layers, 32/8 heads, head_dim 128, window 4096), batch 8,
 * an fp16 cache holding 256 tokens per sequence, 7 steps of each form, alternating.
 * Prints each form's median, the ratio, and how long the host is busy issuing the calls
 * (the rest of a step it is free). Device: $SWACL_DEVICE. */
#define _POSIX_C_SOURCE 200809L
#include "swacl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#define CHECK(call)                                                                           \
    do {                                                                                      \
        const swacl_status s_ = (call);                                                       \
        if (s_ != SWACL_OK) {                                                                 \
            fprintf(stderr, "swacl-decode-step: %s: %s\n", #call, swacl_last_error(ctx));     \
            return 1;                                                                         \
        }                                                                                     \
    } while (0)

int main(int argc, char **argv)
{
    int layers = 32, batch = 8, context = 256, steps = 7;
    swacl_dtype kv = SWACL_F16;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--layers") && i + 1 < argc)
            layers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--context") && i + 1 < argc)
            context = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--f32"))
            kv = SWACL_F32;
        else {
            fprintf(stderr, "usage: swacl-decode-step [--layers N] [--batch B] [--context T] "
                            "[--steps S] [--f32]\n");
            return 2;
        }
    }
    if (layers < 1 || batch < 1 || context < 1 || steps < 1 || steps > 1000) {
        fprintf(stderr, "swacl-decode-step: counts must be positive\n");
        return 2;
    }
    swacl_context *ctx = NULL;
    if (swacl_context_create(NULL, &ctx) != SWACL_OK) {
        fprintf(stderr, "swacl-decode-step: %s\n", swacl_last_error(NULL));
        return 1;
    }
    swacl_attn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.n_heads = 32;
    cfg.n_kv_heads = 8;
    cfg.head_dim = 128;
    cfg.window = 4096;
    cfg.dtype = SWACL_F32;
    cfg.kv_dtype = kv;
    swacl_attn_config *per_layer = malloc((size_t)layers * sizeof *per_layer);
    if (!per_layer)
        return 1;
    for (int l = 0; l < layers; l++)
        per_layer[l] = cfg;
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    opt.n_layers = layers;
    opt.layers = per_layer;
    opt.max_seqs = batch;
    swacl_cache *cache = NULL;
    CHECK(swacl_cache_create(ctx, &opt, &cache));

    /* one set of device rows reused by every layer: the engine's activations */
    const size_t qrow = (size_t)cfg.n_heads * cfg.head_dim * sizeof(float);
    const size_t kvrow = (size_t)cfg.n_kv_heads * cfg.head_dim * sizeof(float);
    const size_t rows = (size_t)(context > batch ? context : batch);
    float *host = malloc(rows * qrow);
    if (!host)
        return 1;
    for (size_t i = 0; i < rows * qrow / sizeof(float); i++)
        host[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    cl_context cl = swacl_context_cl_context(ctx);
    cl_int err;
    cl_mem q = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, rows * qrow, host, &err);
    cl_mem k = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, rows * kvrow, host, &err);
    cl_mem v = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, rows * kvrow, host, &err);
    cl_mem out = clCreateBuffer(cl, CL_MEM_READ_WRITE, rows * qrow, NULL, &err);
    free(host);
    if (!q || !k || !v || !out) {
        fprintf(stderr, "swacl-decode-step: clCreateBuffer failed\n");
        return 1;
    }
    /* every sequence holds `context` tokens at every layer */
    for (int l = 0; l < layers; l++)
        for (int s = 0; s < batch; s++)
            CHECK(swacl_prefill(cache, l, s, context, q, k, v, out));
    CHECK(swacl_finish(ctx));

    int *seqs = malloc((size_t)batch * sizeof *seqs);
    double *one = malloc((size_t)steps * sizeof *one), *each = malloc((size_t)steps * sizeof *each);
    double *issue = malloc((size_t)steps * sizeof *issue);
    if (!seqs || !one || !each || !issue)
        return 1;
    for (int s = 0; s < batch; s++)
        seqs[s] = s;
    /* a warm-up step builds the decode kernels */
    for (int l = 0; l < layers; l++)
        CHECK(swacl_decode(cache, l, batch, seqs, q, k, v, out));
    CHECK(swacl_finish(ctx));
    for (int i = 0; i < steps; i++) {
        double t0 = now_ms();
        for (int l = 0; l < layers; l++)
            CHECK(swacl_decode(cache, l, batch, seqs, q, k, v, out));
        issue[i] = now_ms() - t0; /* the host is free again from here */
        CHECK(swacl_finish(ctx));
        one[i] = now_ms() - t0;
        t0 = now_ms();
        for (int l = 0; l < layers; l++) {
            CHECK(swacl_decode(cache, l, batch, seqs, q, k, v, out));
            CHECK(swacl_finish(ctx));
        }
        each[i] = now_ms() - t0;
    }
    const double m1 = median(one, steps), me = median(each, steps), mi = median(issue, steps);
    printf("decode step: %d layers, batch %d, %s cache at %d..%d tokens, %d steps of each form\n",
           layers, batch, kv == SWACL_F16 ? "fp16" : "fp32", context, context + 1 + 2 * steps,
           steps);
    printf("  %d calls issued (host busy):     %8.2f ms per step (median)\n", layers, mi);
    printf("  %d calls, one swacl_finish:      %8.2f ms per step (median)\n", layers, m1);
    printf("  %d calls, swacl_finish after each: %6.2f ms per step (median)\n", layers, me);
    printf("  ratio (finish each / finish once): %.2f\n", me / m1);
    clReleaseMemObject(q);
    clReleaseMemObject(k);
    clReleaseMemObject(v);
    clReleaseMemObject(out);
    free(seqs);
    free(one);
    free(each);
    free(issue);
    free(per_layer);
    swacl_cache_destroy(cache);
    swacl_context_destroy(ctx);
    return 0;
}
