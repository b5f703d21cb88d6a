/* engine_loop.c — swacl as an inference engine uses it, through the installed public API
 * only (find_package(swacl) or pkg-config).
 *
 * The "engine" owns its OpenCL context, in-order queue and buffers. Each layer's
 * projection writes q, k and v of a micro-batch into one fused buffer, rows
 * [token][q | k | v]; swacl reads them in place through views and writes the attention
 * output into the engine's own buffer. A step runs every layer with no host wait
 * inside it and ends with one clFinish. The micro-batches mix a prompt chunk, single
 * decode tokens and draft tokens for speculative decoding, whose rejected tail is taken
 * back with swacl_cache_seq_truncate. Every output row is checked against the float64
 * reference over the tokens each sequence has kept.
 *
 * Exit status: 0 all outputs right, 1 a mismatch or an error, 77 no OpenCL device. */
#include <swacl.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N_LAYERS = 4, N_STEPS = 64, N_SEQS = 3, MAX_TOKENS = 400, MAX_ROWS = 16 };

/* the engine's model: four different attention layers */
static void model_layers(swacl_attn_config *layers)
{
    for (int l = 0; l < N_LAYERS; l++) {
        swacl_attn_config *c = &layers[l];
        memset(c, 0, sizeof *c);
        c->n_heads = 4;
        c->n_kv_heads = 2;
        c->head_dim = 32;
        c->dtype = SWACL_F32;
        c->kv_dtype = SWACL_F32;
    }
    layers[0].window = 24;                                      /* sliding window */
    layers[1].window = 0;                                       /* global */
    layers[2].window = 16, layers[2].n_sink = 4;                /* streaming, fp16 cache */
    layers[2].kv_dtype = SWACL_F16;
    layers[3].window = 8, layers[3].dilation = 2;               /* dilated */
}

static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;
static float rnd(void) /* uniform in [-1, 1) */
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) & 0xffffff) / (float)(1 << 23) - 1.0f;
}

#define CL_CHECK(call)                                                                        \
    do {                                                                                      \
        cl_int e_ = (call);                                                                   \
        if (e_ != CL_SUCCESS) {                                                               \
            fprintf(stderr, "engine_loop: %s failed (%d)\n", #call, e_);                      \
            return 1;                                                                         \
        }                                                                                     \
    } while (0)
#define SW_CHECK(call)                                                                        \
    do {                                                                                      \
        swacl_status s_ = (call);                                                             \
        if (s_ != SWACL_OK) {                                                                 \
            fprintf(stderr, "engine_loop: %s: %s\n", #call, swacl_last_error(ctx));           \
            return 1;                                                                         \
        }                                                                                     \
    } while (0)

int main(void)
{
    /* the engine picks its device (here: the one swacl would pick, $SWACL_DEVICE
       honoured) and makes its own context and queue on it */
    swacl_context *probe;
    if (swacl_context_create(NULL, &probe) != SWACL_OK) {
        printf("no OpenCL device: %s\n", swacl_last_error(NULL));
        return 77;
    }
    cl_device_id dev = swacl_context_cl_device(probe);
    swacl_context_destroy(probe);
    cl_int err;
    cl_context cl = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    CL_CHECK(err);
    cl_command_queue queue = clCreateCommandQueue(cl, dev, 0, &err);
    CL_CHECK(err);

    swacl_context *ctx = NULL;
    if (swacl_context_create_cl(cl, dev, queue, NULL, &ctx) != SWACL_OK) {
        fprintf(stderr, "engine_loop: %s\n", swacl_last_error(NULL));
        return 1;
    }
    swacl_attn_config layers[N_LAYERS];
    model_layers(layers);
    swacl_cache_options opt = {0};
    opt.n_layers = N_LAYERS;
    opt.layers = layers;
    opt.max_seqs = N_SEQS;
    opt.max_context = MAX_TOKENS;
    opt.ring_slack = 3; /* drafts of 4 tokens: up to 3 rejected */
    swacl_cache *cache;
    SW_CHECK(swacl_cache_create(ctx, &opt, &cache));

    const int qe = 4 * 32, kve = 2 * 32, fused = qe + 2 * kve;
    cl_mem x = clCreateBuffer(cl, CL_MEM_READ_WRITE, (size_t)N_LAYERS * MAX_ROWS * fused * 4,
                              NULL, &err);
    CL_CHECK(err);
    cl_mem y = clCreateBuffer(cl, CL_MEM_READ_WRITE, (size_t)N_LAYERS * MAX_ROWS * qe * 4, NULL,
                              &err);
    CL_CHECK(err);

    /* the host's copy of every kept token's q/k/v, per layer and sequence, for checking */
    float *hq[N_LAYERS][N_SEQS], *hk[N_LAYERS][N_SEQS], *hv[N_LAYERS][N_SEQS];
    int held[N_SEQS] = {0};
    for (int l = 0; l < N_LAYERS; l++)
        for (int s = 0; s < N_SEQS; s++) {
            hq[l][s] = malloc((size_t)MAX_TOKENS * qe * 4);
            hk[l][s] = malloc((size_t)MAX_TOKENS * kve * 4);
            hv[l][s] = malloc((size_t)MAX_TOKENS * kve * 4);
            if (!hq[l][s] || !hk[l][s] || !hv[l][s])
                return 1;
        }
    float *xh = malloc((size_t)N_LAYERS * MAX_ROWS * fused * 4);
    float *yh = malloc((size_t)N_LAYERS * MAX_ROWS * qe * 4);
    float *ref = malloc((size_t)MAX_TOKENS * qe * 4);
    if (!xh || !yh || !ref)
        return 1;

    long checked = 0, drafts = 0;
    double worst = 0.0;
    for (int step = 0; step < N_STEPS; step++) {
        /* this step's micro-batch: sequence 0 takes prompt chunks for its first steps,
           then decodes; 1 decodes one token; 2 verifies 4 draft tokens every third step */
        swacl_batch_entry e[N_SEQS];
        int n_e = 0, rows = 0, keep_of[N_SEQS];
        e[n_e++] = (swacl_batch_entry){0, step < 4 ? 8 : 1};
        e[n_e++] = (swacl_batch_entry){1, 1};
        e[n_e++] = (swacl_batch_entry){2, step % 3 == 0 ? 4 : 1};
        for (int i = 0; i < n_e; i++)
            rows += e[i].n_tokens;
        /* the engine's projections: every layer's fused rows (a real engine writes them
           with its own kernels on the same queue) */
        for (int l = 0; l < N_LAYERS; l++)
            for (size_t i = 0; i < (size_t)rows * fused; i++)
                xh[(size_t)l * MAX_ROWS * fused + i] = rnd();
        CL_CHECK(clEnqueueWriteBuffer(queue, x, CL_FALSE, 0, (size_t)N_LAYERS * MAX_ROWS * fused * 4,
                                      xh, 0, NULL, NULL));
        for (int l = 0; l < N_LAYERS; l++) {
            const size_t base = (size_t)l * MAX_ROWS; /* this layer's rows in x and y */
            const swacl_view q = {x, base * fused * 4, fused};
            const swacl_view k = {x, (base * fused + qe) * 4, fused};
            const swacl_view v = {x, (base * fused + qe + kve) * 4, fused};
            const swacl_view out = {y, base * qe * 4, 0};
            /* the write above is queued before these: the queue orders them */
            SW_CHECK(swacl_attend_batch(cache, l, n_e, e, q, k, v, out));
        }
        CL_CHECK(clFinish(queue)); /* the step's only wait */
        CL_CHECK(clEnqueueReadBuffer(queue, y, CL_TRUE, 0, (size_t)N_LAYERS * MAX_ROWS * qe * 4,
                                     yh, 0, NULL, NULL));

        /* speculative decoding: sequence 2 keeps 1 to 4 of its draft tokens */
        for (int i = 0; i < n_e; i++)
            keep_of[i] = e[i].n_tokens;
        if (e[2].n_tokens == 4) {
            keep_of[2] = 1 + (int)((rnd() + 1.0f) * 1.99f);
            drafts++;
        }

        /* check every row against the reference over the history kept so far */
        for (int l = 0; l < N_LAYERS; l++) {
            const float *xl = xh + (size_t)l * MAX_ROWS * fused;
            for (int i = 0, row = 0; i < n_e; row += e[i].n_tokens, i++) {
                const int s = e[i].seq, n = e[i].n_tokens;
                for (int t = 0; t < n; t++) {
                    const float *src = xl + (size_t)(row + t) * fused;
                    memcpy(hq[l][s] + (size_t)(held[s] + t) * qe, src, qe * 4);
                    memcpy(hk[l][s] + (size_t)(held[s] + t) * kve, src + qe, kve * 4);
                    memcpy(hv[l][s] + (size_t)(held[s] + t) * kve, src + qe + kve, kve * 4);
                }
                if (swacl_reference_attention(&layers[l], held[s] + n, hq[l][s], hk[l][s],
                                              hv[l][s], ref) != SWACL_OK)
                    return 1;
                const double tol = layers[l].kv_dtype == SWACL_F16 ? 2e-3 : 1e-4;
                for (int t = 0; t < n; t++)
                    for (int c = 0; c < qe; c++) {
                        const double want = ref[(size_t)(held[s] + t) * qe + c];
                        const double got = yh[((size_t)l * MAX_ROWS + row + t) * qe + c];
                        const double d = fabs(got - want);
                        worst = d > worst ? d : worst;
                        if (!(d <= tol * (1.0 + fabs(want)))) {
                            fprintf(stderr,
                                    "engine_loop: step %d layer %d seq %d token %d: got %g, "
                                    "want %g\n",
                                    step, l, s, held[s] + t, got, want);
                            return 1;
                        }
                    }
                checked += n;
            }
        }
        for (int i = 0; i < n_e; i++) {
            const int s = e[i].seq;
            held[s] += keep_of[i];
            if (keep_of[i] < e[i].n_tokens)
                SW_CHECK(swacl_cache_seq_truncate(cache, s, held[s]));
        }
    }
    printf("engine_loop: %d layers x %d steps, %ld rows checked (%ld draft rounds), largest "
           "error %.2e; sequences hold %d, %d and %d tokens\n",
           N_LAYERS, N_STEPS, checked, drafts, worst, held[0], held[1], held[2]);

    for (int l = 0; l < N_LAYERS; l++)
        for (int s = 0; s < N_SEQS; s++) {
            free(hq[l][s]);
            free(hk[l][s]);
            free(hv[l][s]);
        }
    free(xh);
    free(yh);
    free(ref);
    clReleaseMemObject(x);
    clReleaseMemObject(y);
    swacl_cache_destroy(cache);
    swacl_context_destroy(ctx);
    clReleaseCommandQueue(queue);
    clReleaseContext(cl);
    return 0;
}
