/* model.c — loading a GGUF model onto the device and its forward pass (model.h).
 *
 * Layouts: activations are row-major [tokens][features] fp32 device buffers; a weight
 * is GGUF's [out][in] (dims[0] = in is contiguous), so a projection is
 * Y[T][out] = X[T][in] · W^T (gemm(): CLBlast, or cl/ops kernels on CPUs). The Q, K
 * and V weights are fused into one [(H + 2K)·D][E] matrix and gate and up into one
 * [2F][E]; attention reads Q, K and V as strided views of the fused output. The
 * forward pass is described in docs/design.md §9. */
#include "model.h"

#include "quant.h"

#include <clblast_c.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run_ops_source { const char *name; const char *text; size_t size; };
extern const struct run_ops_source run_ops_sources[];

#define LOGIT_ROWS 32 /* most rows of logits per projection (bounds that buffer) */
#define SMALL_T 8     /* rows up to which the CPU projections take gemv_1 / gemv_8 */

typedef struct layer_w {
    cl_mem attn_norm, wqkv, q_norm, k_norm, wo, post_attn_norm;
    cl_mem ffn_norm, wgu, wdown, post_ffw_norm;
    int sliding;
} layer_w;

struct model {
    model_hparams hp;
    model_options opt;
    swacl_context *ctx;
    cl_context cl;
    cl_command_queue q;
    cl_program prog;
    cl_kernel k_norm, k_rope, k_rope_table, k_glu, k_rows, k_gemv1, k_gemv8, k_transpose, k_gemm;
    int own_gemm;      /* projections by cl/ops kernels (CPUs), else CLBlast */
    cl_mem wt;         /* own_gemm: a layer matrix transposed, for gemm_tn */
    size_t wt_floats;
    int logit_rows;    /* rows of logits per projection */
    swacl_cache *cache;
    layer_w *layers;
    cl_mem tok_embd, out_norm, out_w; /* out_w may be tok_embd (tied) */
    cl_mem inv_freq_global, inv_freq_local;
    /* activations for max_tokens rows */
    cl_mem x, hn, qkv, attn, o, gu, act, ids, pos, lrows, lx, logits;
    cl_mem cs_global, cs_local; /* this forward's RoPE cosines and sines per base */
    int32_t *h_pos, *h_rows; /* host staging, alive until the forward ends */
    size_t weight_bytes;
    /* the forward's commands and their kinds, for the time split */
    cl_event *ev;
    int *ev_cat, n_ev, cap_ev;
    double ms[MT_KINDS];
};

static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- hyperparameters ---------------------------------------------------- */

static int key_int(const gguf_file *f, const char *arch, const char *key, int64_t dflt,
                   int64_t *out)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", arch, key);
    if (gguf_get_int(f, name, out) == 0)
        return 0;
    *out = dflt;
    return dflt < 0 ? -1 : 0;
}

static double key_float(const gguf_file *f, const char *arch, const char *key, double dflt)
{
    char name[128];
    double v;
    snprintf(name, sizeof name, "%s.%s", arch, key);
    return gguf_get_float(f, name, &v) == 0 ? v : dflt;
}

int model_read_hparams(const gguf_file *f, model_hparams *hp, char *err, size_t err_size)
{
    gguf_str a;
    if (gguf_get_str(f, "general.architecture", &a) != 0)
        return fail(err, err_size, "no general.architecture key");
    char arch[32];
    snprintf(arch, sizeof arch, "%.*s", (int)(a.len < 31 ? a.len : 31), a.ptr);
    memset(hp, 0, sizeof *hp);
    if (strcmp(arch, "llama") == 0)
        hp->arch = ARCH_LLAMA;
    else if (strcmp(arch, "gemma2") == 0)
        hp->arch = ARCH_GEMMA2;
    else if (strcmp(arch, "gemma3") == 0)
        hp->arch = ARCH_GEMMA3;
    else
        return fail(err, err_size, "architecture '%s' is not supported (gemma3, gemma2, llama)",
                    arch);
    int64_t v[8];
    if (key_int(f, arch, "block_count", -1, &v[0]) || key_int(f, arch, "embedding_length", -1, &v[1]) ||
        key_int(f, arch, "feed_forward_length", -1, &v[2]) ||
        key_int(f, arch, "attention.head_count", -1, &v[3]))
        return fail(err, err_size, "%s: a required key is missing (block_count, embedding_length, "
                    "feed_forward_length, attention.head_count)", arch);
    key_int(f, arch, "attention.head_count_kv", v[3], &v[4]);
    key_int(f, arch, "attention.key_length", v[3] > 0 ? v[1] / v[3] : 0, &v[5]);
    key_int(f, arch, "attention.sliding_window", 0, &v[6]);
    key_int(f, arch, "context_length", 0, &v[7]);
    hp->n_layers = (int)v[0];
    hp->n_embd = (int)v[1];
    hp->n_ff = (int)v[2];
    hp->n_head = (int)v[3];
    hp->n_kv_head = (int)v[4];
    hp->head_dim = (int)v[5];
    hp->window = (int)v[6];
    hp->n_ctx_train = (int)v[7];
    if (hp->n_layers < 1 || hp->n_layers > 1024 || hp->n_embd < 1 || hp->n_embd > 65536 ||
        hp->n_ff < 1 || hp->n_ff > 262144 || hp->n_head < 1 || hp->n_kv_head < 1 ||
        hp->n_head % hp->n_kv_head || hp->head_dim < 1 || hp->head_dim > 1024 || hp->window < 0)
        return fail(err, err_size, "%s: hyperparameters out of range (layers %d, embd %d, ff %d, "
                    "heads %d/%d, head_dim %d)", arch, hp->n_layers, hp->n_embd, hp->n_ff,
                    hp->n_head, hp->n_kv_head, hp->head_dim);
    hp->eps = (float)key_float(f, arch, "attention.layer_norm_rms_epsilon", 1e-6);
    hp->rope_base = (float)key_float(f, arch, "rope.freq_base", 10000.0);
    hp->rope_base_local = hp->rope_base;
    hp->attn_scale = 1.0f / sqrtf((float)hp->head_dim);
    hp->embd_scale = 1.0f;
    if (hp->arch != ARCH_LLAMA) /* Gemma scales the embeddings by sqrt(width) */
        hp->embd_scale = sqrtf((float)hp->n_embd);
    if (hp->arch == ARCH_GEMMA2) {
        /* the published Gemma 2 configs alternate sliding and global layers */
        hp->swa_period = 2;
        hp->attn_softcap = (float)key_float(f, arch, "attn_logit_softcapping", 50.0);
        hp->final_softcap = (float)key_float(f, arch, "final_logit_softcapping", 30.0);
    } else if (hp->arch == ARCH_GEMMA3) {
        /* GGUF holds neither the layer pattern nor the sliding layers' RoPE base;
           both come from the published Gemma 3 configs (sliding_window_pattern 6,
           rope_local_base_freq 10000), as Hugging Face's Gemma3TextConfig defaults */
        hp->swa_period = 6;
        hp->rope_base_local = 10000.0f;
    }
    const gguf_tensor *emb = gguf_find_tensor(f, "token_embd.weight");
    if (!emb || emb->n_dims != 2 || emb->dims[0] != (uint64_t)hp->n_embd || emb->dims[1] > (1u << 24))
        return fail(err, err_size, "token_embd.weight is missing or not [%d x vocab]", hp->n_embd);
    hp->n_vocab = (int)emb->dims[1];
    return 0;
}

/* a sliding layer under the architecture's pattern (with a window at all) */
static int layer_sliding(const model_hparams *hp, int l)
{
    if (hp->window <= 0)
        return 0;
    return hp->swa_period ? (l + 1) % hp->swa_period != 0 : 1;
}

/* ---- weights ------------------------------------------------------------ */

/* dequantises tensor name, which must be [cols x rows] (rows 1 for vectors), into dst */
static int read_tensor(const gguf_file *f, const char *name, uint64_t cols, uint64_t rows,
                       float *dst, char *err, size_t err_size)
{
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t)
        return fail(err, err_size, "tensor %s is missing", name);
    if (t->dims[0] != cols || t->dims[1] != rows || t->dims[2] != 1 || t->dims[3] != 1)
        return fail(err, err_size, "tensor %s is [%llu x %llu], expected [%llu x %llu]", name,
                    (unsigned long long)t->dims[0], (unsigned long long)t->dims[1],
                    (unsigned long long)cols, (unsigned long long)rows);
    if (!quant_supported(t->type))
        return fail(err, err_size, "tensor %s has type %s, which swacl-run does not read", name,
                    ggml_type_name(t->type));
    if (quant_dequantize(t->type, t->data, t->n_elems, dst) != 0)
        return fail(err, err_size, "tensor %s: cannot dequantise", name);
    return 0;
}

static int upload(model *m, const float *src, size_t n, cl_mem *out, char *err, size_t err_size)
{
    cl_int e;
    *out = clCreateBuffer(m->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * sizeof(float),
                          (void *)src, &e);
    if (e != CL_SUCCESS)
        return fail(err, err_size, "device buffer of %zu bytes: OpenCL error %d", n * sizeof(float),
                    (int)e);
    m->weight_bytes += n * sizeof(float);
    return 0;
}

/* Llama GGUF files store Q and K rows of each head interleaved for pairwise RoPE;
   put them back in rotate-half order (row 2j + half of a head -> half * D/2 + j) */
static void unpermute_heads(float *w, int n_heads, int head_dim, int cols, float *tmp)
{
    for (int h = 0; h < n_heads; h++) {
        float *head = w + (size_t)h * head_dim * cols;
        memcpy(tmp, head, (size_t)head_dim * cols * sizeof(float));
        for (int j = 0; j < head_dim / 2; j++)
            for (int half = 0; half < 2; half++)
                memcpy(head + (size_t)(half * head_dim / 2 + j) * cols,
                       tmp + (size_t)(2 * j + half) * cols, (size_t)cols * sizeof(float));
    }
}

static int load_layer(model *m, const gguf_file *f, int l, float *buf, float *tmp, char *err,
                      size_t err_size)
{
    const model_hparams *hp = &m->hp;
    layer_w *L = &m->layers[l];
    const int E = hp->n_embd, D = hp->head_dim, H = hp->n_head, K = hp->n_kv_head, F = hp->n_ff;
    const int gemma = hp->arch != ARCH_LLAMA;
    char name[96];
#define TENSOR(suffix, cols, rows, dst)                                                     \
    (snprintf(name, sizeof name, "blk.%d.%s.weight", l, suffix),                            \
     read_tensor(f, name, cols, rows, dst, err, err_size))
#define VECTOR(suffix, n, out) (TENSOR(suffix, n, 1, buf) || upload(m, buf, n, out, err, err_size))
    if (VECTOR("attn_norm", E, &L->attn_norm) || VECTOR("ffn_norm", E, &L->ffn_norm))
        return -1;
    if (gemma && (VECTOR("post_attention_norm", E, &L->post_attn_norm) ||
                  VECTOR("post_ffw_norm", E, &L->post_ffw_norm)))
        return -1;
    if (hp->arch == ARCH_GEMMA3 &&
        (VECTOR("attn_q_norm", D, &L->q_norm) || VECTOR("attn_k_norm", D, &L->k_norm)))
        return -1;
    /* fused [Q | K | V] rows */
    float *wq = buf, *wk = wq + (size_t)H * D * E, *wv = wk + (size_t)K * D * E;
    if (TENSOR("attn_q", E, (uint64_t)H * D, wq) || TENSOR("attn_k", E, (uint64_t)K * D, wk) ||
        TENSOR("attn_v", E, (uint64_t)K * D, wv))
        return -1;
    if (hp->arch == ARCH_LLAMA) {
        unpermute_heads(wq, H, D, E, tmp);
        unpermute_heads(wk, K, D, E, tmp);
    }
    if (upload(m, buf, (size_t)(H + 2 * K) * D * E, &L->wqkv, err, err_size))
        return -1;
    if (TENSOR("attn_output", (uint64_t)H * D, E, buf) ||
        upload(m, buf, (size_t)E * H * D, &L->wo, err, err_size))
        return -1;
    /* fused [gate | up] rows */
    if (TENSOR("ffn_gate", E, F, buf) || TENSOR("ffn_up", E, F, buf + (size_t)F * E) ||
        upload(m, buf, (size_t)2 * F * E, &L->wgu, err, err_size))
        return -1;
    if (TENSOR("ffn_down", F, E, buf) || upload(m, buf, (size_t)E * F, &L->wdown, err, err_size))
        return -1;
#undef VECTOR
#undef TENSOR
    L->sliding = layer_sliding(hp, l);
    return 0;
}

/* ---- kernels and buffers ------------------------------------------------ */

static int build_ops(model *m, char *err, size_t err_size)
{
    const char *src[16];
    size_t len[16];
    cl_uint n = 0;
    for (const struct run_ops_source *s = run_ops_sources; s->name && n < 16; s++, n++) {
        src[n] = s->text;
        len[n] = s->size;
    }
    cl_int e;
    m->prog = clCreateProgramWithSource(m->cl, n, src, len, &e);
    if (e != CL_SUCCESS)
        return fail(err, err_size, "model kernels: clCreateProgramWithSource: %d", (int)e);
    cl_device_id dev = swacl_context_cl_device(m->ctx);
    e = clBuildProgram(m->prog, 1, &dev, "-cl-std=CL1.2", NULL, NULL);
    if (e != CL_SUCCESS) {
        char log[512] = "";
        clGetProgramBuildInfo(m->prog, dev, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
        return fail(err, err_size, "model kernels do not build (%d): %s", (int)e, log);
    }
    const int gelu = m->hp.arch != ARCH_LLAMA;
    m->k_norm = clCreateKernel(m->prog, "rms_norm", &e);
    if (e == CL_SUCCESS)
        m->k_rope = clCreateKernel(m->prog, "rope_half", &e);
    if (e == CL_SUCCESS)
        m->k_rope_table = clCreateKernel(m->prog, "rope_table", &e);
    if (e == CL_SUCCESS)
        m->k_glu = clCreateKernel(m->prog, gelu ? "glu_gelu_tanh" : "glu_silu", &e);
    if (e == CL_SUCCESS)
        m->k_rows = clCreateKernel(m->prog, "get_rows", &e);
    if (e == CL_SUCCESS)
        m->k_gemv1 = clCreateKernel(m->prog, "gemv_1", &e);
    if (e == CL_SUCCESS)
        m->k_gemv8 = clCreateKernel(m->prog, "gemv_8", &e);
    if (e == CL_SUCCESS)
        m->k_transpose = clCreateKernel(m->prog, "transpose_pad", &e);
    if (e == CL_SUCCESS)
        m->k_gemm = clCreateKernel(m->prog, "gemm_tn", &e);
    return e == CL_SUCCESS ? 0 : fail(err, err_size, "model kernels: clCreateKernel: %d", (int)e);
}

/* an activation buffer, zeroed: CLBlast reads C even with beta = 0, so whatever a fresh
   buffer holds (NaN bit patterns included) would leak into the result */
static int scratch(model *m, size_t floats, cl_mem *out, char *err, size_t err_size)
{
    cl_int e;
    const float zero = 0.0f;
    *out = clCreateBuffer(m->cl, CL_MEM_READ_WRITE, floats * sizeof(float), NULL, &e);
    if (e == CL_SUCCESS)
        e = clEnqueueFillBuffer(m->q, *out, &zero, sizeof zero, 0, floats * sizeof(float), 0, NULL,
                                NULL);
    return e == CL_SUCCESS ? 0
                           : fail(err, err_size, "device buffer of %zu bytes: OpenCL error %d",
                                  floats * sizeof(float), (int)e);
}

static int make_cache(model *m, char *err, size_t err_size)
{
    const model_hparams *hp = &m->hp;
    const model_options *o = &m->opt;
    swacl_attn_config *cfg = calloc((size_t)hp->n_layers, sizeof *cfg);
    if (!cfg)
        return fail(err, err_size, "out of host memory");
    for (int l = 0; l < hp->n_layers; l++) {
        swacl_attn_config *c = &cfg[l];
        c->n_heads = hp->n_head;
        c->n_kv_heads = hp->n_kv_head;
        c->head_dim = hp->head_dim;
        c->scale = hp->attn_scale;
        c->softcap = hp->attn_softcap;
        c->dtype = SWACL_F32;
        c->kv_dtype = o->kv_f16 ? SWACL_F16 : SWACL_F32;
        if (o->stream_window > 0) {
            c->window = o->stream_window;
            c->n_sink = o->stream_sinks;
            c->rope = SWACL_ROPE_IN_CACHE;
            c->rope_theta = m->layers[l].sliding ? hp->rope_base_local : hp->rope_base;
        } else {
            c->window = m->layers[l].sliding ? hp->window : 0;
        }
    }
    swacl_cache_options co = {0};
    co.n_layers = hp->n_layers;
    co.layers = cfg;
    co.max_seqs = o->max_seqs;
    co.max_context = o->max_context;
    swacl_status s = swacl_cache_create(m->ctx, &co, &m->cache);
    free(cfg);
    if (s != SWACL_OK)
        return fail(err, err_size, "KV cache: %s: %s", swacl_status_string(s),
                    swacl_last_error(m->ctx));
    return 0;
}

static int inv_freq(model *m, float base, cl_mem *out, char *err, size_t err_size)
{
    const int half = m->hp.head_dim / 2;
    float f[512];
    for (int i = 0; i < half; i++)
        f[i] = (float)(1.0 / pow((double)base, (double)(2 * i) / m->hp.head_dim));
    cl_int e;
    *out = clCreateBuffer(m->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, (size_t)half * sizeof(float),
                          f, &e);
    return e == CL_SUCCESS ? 0 : fail(err, err_size, "RoPE table: OpenCL error %d", (int)e);
}

int model_load(swacl_context *ctx, const gguf_file *f, const model_options *opt, model **out,
               char *err, size_t err_size)
{
    *out = NULL;
    model *m = calloc(1, sizeof *m);
    if (!m)
        return fail(err, err_size, "out of host memory");
    m->ctx = ctx;
    m->opt = *opt;
    m->cl = swacl_context_cl_context(ctx);
    m->q = swacl_context_cl_queue(ctx);
    if (model_read_hparams(f, &m->hp, err, err_size) != 0)
        goto bad;
    const model_hparams *hp = &m->hp;
    if (hp->head_dim % 2 || hp->head_dim > 1024) {
        fail(err, err_size, "head_dim %d is not supported", hp->head_dim);
        goto bad;
    }
    if (opt->max_seqs < 1 || opt->max_tokens < 1 || opt->max_context < 1) {
        fail(err, err_size, "max_seqs, max_tokens and max_context must be positive");
        goto bad;
    }
    if (build_ops(m, err, err_size))
        goto bad;
    swacl_device_info di;
    swacl_context_device_info(ctx, &di);
    const char *g = getenv("SWACL_RUN_GEMM"); /* "clblast" or "own": to compare them */
    m->own_gemm = g ? strcmp(g, "own") == 0 : strcmp(di.type, "cpu") == 0;
    const int E = hp->n_embd, D = hp->head_dim, H = hp->n_head, K = hp->n_kv_head, F = hp->n_ff;
    const size_t V = (size_t)hp->n_vocab;
    /* one host buffer big enough for the largest weight, and one head for reordering */
    size_t big = (size_t)(H + 2 * K) * D * E;
    if ((size_t)2 * F * E > big)
        big = (size_t)2 * F * E;
    if (V * E > big)
        big = V * E;
    float *buf = malloc(big * sizeof(float)), *tmp = malloc((size_t)D * E * sizeof(float));
    m->layers = calloc((size_t)hp->n_layers, sizeof *m->layers);
    int bad = !buf || !tmp || !m->layers;
    if (bad)
        fail(err, err_size, "out of host memory for the weights");
    for (int l = 0; !bad && l < hp->n_layers; l++)
        bad = load_layer(m, f, l, buf, tmp, err, err_size) != 0;
    if (!bad)
        bad = read_tensor(f, "output_norm.weight", E, 1, buf, err, err_size) ||
              upload(m, buf, E, &m->out_norm, err, err_size) ||
              read_tensor(f, "token_embd.weight", E, V, buf, err, err_size) ||
              upload(m, buf, V * E, &m->tok_embd, err, err_size);
    if (!bad && gguf_find_tensor(f, "output.weight"))
        bad = read_tensor(f, "output.weight", E, V, buf, err, err_size) ||
              upload(m, buf, V * E, &m->out_w, err, err_size);
    else if (!bad) {
        m->out_w = m->tok_embd; /* tied */
        clRetainMemObject(m->out_w);
    }
    free(buf);
    free(tmp);
    if (bad)
        goto bad;
    if (inv_freq(m, hp->rope_base, &m->inv_freq_global, err, err_size) ||
        inv_freq(m, hp->rope_base_local, &m->inv_freq_local, err, err_size) ||
        make_cache(m, err, err_size))
        goto bad;
    const size_t T = (size_t)opt->max_tokens, QS = (size_t)(H + 2 * K) * D;
    /* the CPU projections: the largest layer matrix transposed (ld * k); logits of
       up to SMALL_T rows, one pass over the embeddings each */
    const size_t pad16[4][2] = {{QS, (size_t)E}, {(size_t)E, (size_t)H * D},
                                {(size_t)2 * F, (size_t)E}, {(size_t)E, (size_t)F}};
    for (int i = 0; i < 4; i++) {
        const size_t fl = (pad16[i][0] + 15) / 16 * 16 * pad16[i][1];
        if (fl > m->wt_floats)
            m->wt_floats = fl;
    }
    m->logit_rows = m->own_gemm ? SMALL_T : LOGIT_ROWS;
    if (scratch(m, T * E, &m->x, err, err_size) || scratch(m, T * E, &m->hn, err, err_size) ||
        scratch(m, T * QS, &m->qkv, err, err_size) ||
        scratch(m, T * H * D, &m->attn, err, err_size) ||
        scratch(m, T * E, &m->o, err, err_size) || scratch(m, T * 2 * F, &m->gu, err, err_size) ||
        scratch(m, T * F, &m->act, err, err_size) || scratch(m, T, &m->ids, err, err_size) ||
        scratch(m, T, &m->pos, err, err_size) || scratch(m, T, &m->lrows, err, err_size) ||
        scratch(m, T * D, &m->cs_global, err, err_size) ||
        scratch(m, T * D, &m->cs_local, err, err_size) ||
        (m->own_gemm && scratch(m, m->wt_floats, &m->wt, err, err_size)) ||
        scratch(m, (size_t)m->logit_rows * E, &m->lx, err, err_size) ||
        scratch(m, (size_t)m->logit_rows * V, &m->logits, err, err_size))
        goto bad;
    m->h_pos = malloc(T * sizeof(int32_t));
    m->h_rows = malloc(T * sizeof(int32_t));
    if (!m->h_pos || !m->h_rows) {
        fail(err, err_size, "out of host memory");
        goto bad;
    }
    *out = m;
    return 0;
bad:
    model_free(m);
    return -1;
}

static void release(cl_mem *b)
{
    if (*b)
        clReleaseMemObject(*b);
    *b = NULL;
}

static void drop_events(model *m)
{
    for (int i = 0; i < m->n_ev; i++)
        clReleaseEvent(m->ev[i]);
    m->n_ev = 0;
}

void model_free(model *m)
{
    if (!m)
        return;
    drop_events(m);
    free(m->ev);
    free(m->ev_cat);
    for (int l = 0; m->layers && l < m->hp.n_layers; l++) {
        layer_w *L = &m->layers[l];
        cl_mem *all[] = {&L->attn_norm, &L->wqkv, &L->q_norm, &L->k_norm, &L->wo,
                         &L->post_attn_norm, &L->ffn_norm, &L->wgu, &L->wdown, &L->post_ffw_norm};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++)
            release(all[i]);
    }
    free(m->layers);
    cl_mem *bufs[] = {&m->tok_embd, &m->out_norm, &m->out_w, &m->inv_freq_global,
                      &m->inv_freq_local, &m->x, &m->hn, &m->qkv, &m->attn, &m->o, &m->gu,
                      &m->act, &m->ids, &m->pos, &m->lrows, &m->lx, &m->logits, &m->wt,
                      &m->cs_global, &m->cs_local};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        release(bufs[i]);
    cl_kernel ks[] = {m->k_norm, m->k_rope,      m->k_rope_table, m->k_glu,
                      m->k_rows, m->k_gemv1,    m->k_gemv8,      m->k_transpose, m->k_gemm};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++)
        if (ks[i])
            clReleaseKernel(ks[i]);
    if (m->prog)
        clReleaseProgram(m->prog);
    swacl_cache_destroy(m->cache);
    free(m->h_pos);
    free(m->h_rows);
    free(m);
}

const model_hparams *model_hp(const model *m) { return &m->hp; }
size_t model_kv_bytes(const model *m) { return swacl_cache_device_bytes(m->cache); }
size_t model_weight_bytes(const model *m) { return m->weight_bytes; }

int64_t model_seq_pos(const model *m, int seq)
{
    int64_t p = -1;
    return swacl_cache_seq_pos(m->cache, 0, seq, &p) == SWACL_OK ? p : -1;
}

int model_seq_reset(model *m, int seq)
{
    return swacl_cache_seq_reset(m->cache, seq) == SWACL_OK ? 0 : -1;
}

/* ---- the forward pass --------------------------------------------------- */

/* keeps the command's event for the time split */
static int track(model *m, int cat, cl_event ev, char *err, size_t err_size)
{
    if (m->n_ev == m->cap_ev) {
        int cap = m->cap_ev ? 2 * m->cap_ev : 256;
        cl_event *ev2 = realloc(m->ev, (size_t)cap * sizeof *ev2);
        if (ev2)
            m->ev = ev2;
        int *cat2 = ev2 ? realloc(m->ev_cat, (size_t)cap * sizeof *cat2) : NULL;
        if (!cat2) {
            clReleaseEvent(ev);
            return fail(err, err_size, "out of host memory");
        }
        m->ev_cat = cat2;
        m->cap_ev = cap;
    }
    m->ev[m->n_ev] = ev;
    m->ev_cat[m->n_ev++] = cat;
    return 0;
}

static int launch(model *m, cl_kernel k, cl_uint dims, const size_t *global, const size_t *local,
                  int kind, const char *what, char *err, size_t err_size)
{
    cl_event ev;
    cl_int e = clEnqueueNDRangeKernel(m->q, k, dims, NULL, global, local, 0, NULL, &ev);
    if (e != CL_SUCCESS)
        return fail(err, err_size, "%s: clEnqueueNDRangeKernel: %d", what, (int)e);
    return track(m, kind, ev, err, err_size);
}

#define ARG(k, i, v) clSetKernelArg(k, i, sizeof(v), &(v))

/* y rows (or y += rows) = RMSNorm(x rows) * w; rows = tokens * heads of n elements */
static int rms_norm(model *m, cl_mem x, int x_off, int x_stride, cl_mem y, int y_off,
                    int y_stride, int tokens, int heads, int n, cl_mem w, int accumulate,
                    char *err, size_t err_size)
{
    cl_kernel k = m->k_norm;
    float eps = m->hp.eps;
    ARG(k, 0, x), ARG(k, 1, x_off), ARG(k, 2, x_stride), ARG(k, 3, y), ARG(k, 4, y_off);
    ARG(k, 5, y_stride), ARG(k, 6, heads), ARG(k, 7, n), ARG(k, 8, w), ARG(k, 9, eps);
    ARG(k, 10, accumulate);
    size_t local = 64, global = (size_t)tokens * heads * local;
    return launch(m, k, 1, &global, &local, MT_NORM, "rms_norm", err, err_size);
}

/* the cosines and sines of this forward's positions for one RoPE base */
static int rope_table(model *m, int tokens, cl_mem inv_freq, cl_mem cs, char *err, size_t err_size)
{
    cl_kernel k = m->k_rope_table;
    int half = m->hp.head_dim / 2;
    ARG(k, 0, m->pos), ARG(k, 1, inv_freq), ARG(k, 2, cs), ARG(k, 3, half);
    size_t global[2] = {(size_t)half, (size_t)tokens};
    return launch(m, k, 2, global, NULL, MT_ROPE, "rope_table", err, err_size);
}

static int rope(model *m, int tokens, int off, int heads, cl_mem cs, char *err, size_t err_size)
{
    cl_kernel k = m->k_rope;
    int stride = (m->hp.n_head + 2 * m->hp.n_kv_head) * m->hp.head_dim, d = m->hp.head_dim;
    ARG(k, 0, m->qkv), ARG(k, 1, off), ARG(k, 2, stride), ARG(k, 3, d), ARG(k, 4, cs);
    size_t global[3] = {(size_t)d / 2, (size_t)heads, (size_t)tokens};
    return launch(m, k, 3, global, NULL, MT_ROPE, "rope", err, err_size);
}

static int get_rows(model *m, cl_mem src, cl_mem idx, cl_mem dst, int rows, float scale,
                    char *err, size_t err_size)
{
    cl_kernel k = m->k_rows;
    int width = m->hp.n_embd;
    ARG(k, 0, src), ARG(k, 1, idx), ARG(k, 2, dst), ARG(k, 3, width), ARG(k, 4, scale);
    size_t global[2] = {(size_t)width, (size_t)rows};
    return launch(m, k, 2, global, NULL, MT_ROWS, "get_rows", err, err_size);
}

/* C[T][n] = A[T][k] · W[n][k]^T (+ C when accumulate). On CPUs by cl/ops kernels: up
   to SMALL_T rows in one pass over the weights (gemv.cl), more through a transposed
   copy of the weights (gemm.cl). Elsewhere by CLBlast (SGEMV for one row, SGEMM for
   more), whose kernels are tuned for GPUs. */
static int gemm(model *m, cl_mem a, cl_mem w, cl_mem c, int t, int n, int k, int accumulate,
                char *err, size_t err_size)
{
    const int ld = (n + 15) / 16 * 16;
    const int small = t <= SMALL_T && k % 8 == 0;
    if (m->own_gemm && (small || (size_t)ld * k <= m->wt_floats)) {
        cl_event ev;
        cl_int e = CL_SUCCESS;
        size_t local[2] = {16, 1}, global[2] = {((size_t)n + 15) / 16 * 16, 1};
        if (!small) {
            cl_kernel tr = m->k_transpose;
            ARG(tr, 0, w), ARG(tr, 1, m->wt), ARG(tr, 2, n), ARG(tr, 3, k), ARG(tr, 4, ld);
            size_t tg[2] = {(size_t)ld, (size_t)k};
            if (launch(m, tr, 2, tg, NULL, MT_GEMM, "transpose_pad", err, err_size))
                return -1;
            w = m->wt;
            local[0] = 1;
            global[0] = (size_t)ld / 16;
            global[1] = (size_t)(t + 5) / 6;
        }
        cl_kernel kr = !small ? m->k_gemm : t == 1 && k % 32 == 0 ? m->k_gemv1 : m->k_gemv8;
        ARG(kr, 0, w), ARG(kr, 1, a), ARG(kr, 2, c), ARG(kr, 3, n), ARG(kr, 4, k), ARG(kr, 5, t);
        ARG(kr, 6, accumulate), ARG(kr, 7, ld);
        e = clEnqueueNDRangeKernel(m->q, kr, 2, NULL, global, local, 0, NULL, &ev);
        if (e != CL_SUCCESS)
            return fail(err, err_size, "%s: clEnqueueNDRangeKernel: %d", small ? "gemv" : "gemm_tn",
                        (int)e);
        return track(m, MT_GEMM, ev, err, err_size);
    }
    if (t == 1) {
        cl_event ev = NULL;
        CLBlastStatusCode s = CLBlastSgemv(CLBlastLayoutRowMajor, CLBlastTransposeNo, (size_t)n,
                                           (size_t)k, 1.0f, w, 0, (size_t)k, a, 0, 1,
                                           accumulate ? 1.0f : 0.0f, c, 0, 1, &m->q, &ev);
        if (s != CLBlastSuccess)
            return fail(err, err_size, "CLBlast SGEMV %dx%d: status %d", n, k, (int)s);
        return ev ? track(m, MT_GEMM, ev, err, err_size) : 0;
    }
    cl_event ev = NULL;
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes,
                                       (size_t)t, (size_t)n, (size_t)k, 1.0f, a, 0, (size_t)k, w, 0,
                                       (size_t)k, accumulate ? 1.0f : 0.0f, c, 0, (size_t)n, &m->q,
                                       &ev);
    if (s != CLBlastSuccess)
        return fail(err, err_size, "CLBlast SGEMM %dx%dx%d: status %d", t, n, k, (int)s);
    return ev ? track(m, MT_GEMM, ev, err, err_size) : 0;
}

static int attend(model *m, int l, int n_entries, const swacl_batch_entry *entries, char *err,
                  size_t err_size)
{
    const model_hparams *hp = &m->hp;
    const int D = hp->head_dim, QS = (hp->n_head + 2 * hp->n_kv_head) * D;
    swacl_view q = {m->qkv, 0, QS}, k = {m->qkv, (size_t)hp->n_head * D * sizeof(float), QS};
    swacl_view v = {m->qkv, (size_t)(hp->n_head + hp->n_kv_head) * D * sizeof(float), QS};
    swacl_view o = {m->attn, 0, 0};
    swacl_status s = swacl_attend_batch(m->cache, l, n_entries, entries, q, k, v, o);
    if (s != SWACL_OK)
        return fail(err, err_size, "attention at layer %d: %s: %s", l, swacl_status_string(s),
                    swacl_last_error(m->ctx));
    cl_event ev;
    return swacl_last_event(m->ctx, &ev) == SWACL_OK ? track(m, MT_ATTN, ev, err, err_size) : 0;
}

static int layer_forward(model *m, int l, int T, int n_entries, const swacl_batch_entry *entries,
                         char *err, size_t err_size)
{
    const model_hparams *hp = &m->hp;
    const layer_w *L = &m->layers[l];
    const int E = hp->n_embd, D = hp->head_dim, H = hp->n_head, K = hp->n_kv_head, F = hp->n_ff;
    const int QS = (H + 2 * K) * D, gemma = hp->arch != ARCH_LLAMA;
    cl_mem cs = L->sliding ? m->cs_local : m->cs_global;
    if (rms_norm(m, m->x, 0, E, m->hn, 0, E, T, 1, E, L->attn_norm, 0, err, err_size) ||
        gemm(m, m->hn, L->wqkv, m->qkv, T, QS, E, 0, err, err_size))
        return -1;
    if (L->q_norm && (rms_norm(m, m->qkv, 0, QS, m->qkv, 0, QS, T, H, D, L->q_norm, 0, err, err_size) ||
                      rms_norm(m, m->qkv, H * D, QS, m->qkv, H * D, QS, T, K, D, L->k_norm, 0,
                               err, err_size)))
        return -1;
    if (m->opt.stream_window <= 0 &&
        (rope(m, T, 0, H, cs, err, err_size) || rope(m, T, H * D, K, cs, err, err_size)))
        return -1;
    if (attend(m, l, n_entries, entries, err, err_size))
        return -1;
    /* attention output joins the residual: through a post-norm (Gemma) or directly */
    if (gemma ? gemm(m, m->attn, L->wo, m->o, T, E, H * D, 0, err, err_size) ||
                    rms_norm(m, m->o, 0, E, m->x, 0, E, T, 1, E, L->post_attn_norm, 1, err, err_size)
              : gemm(m, m->attn, L->wo, m->x, T, E, H * D, 1, err, err_size))
        return -1;
    if (rms_norm(m, m->x, 0, E, m->hn, 0, E, T, 1, E, L->ffn_norm, 0, err, err_size) ||
        gemm(m, m->hn, L->wgu, m->gu, T, 2 * F, E, 0, err, err_size))
        return -1;
    cl_kernel k = m->k_glu;
    ARG(k, 0, m->gu), ARG(k, 1, m->act), ARG(k, 2, F);
    size_t global[2] = {(size_t)F, (size_t)T};
    if (launch(m, k, 2, global, NULL, MT_ACT, "glu", err, err_size))
        return -1;
    return gemma ? gemm(m, m->act, L->wdown, m->o, T, E, F, 0, err, err_size) ||
                       rms_norm(m, m->o, 0, E, m->x, 0, E, T, 1, E, L->post_ffw_norm, 1, err,
                                err_size)
                 : gemm(m, m->act, L->wdown, m->x, T, E, F, 1, err, err_size);
}

/* logits of the rows listed in h_rows[0..R), logit_rows at a time, to host */
static int logits_out(model *m, int R, float *logits, char *err, size_t err_size)
{
    const model_hparams *hp = &m->hp;
    const int E = hp->n_embd, V = hp->n_vocab;
    for (int r0 = 0; r0 < R; r0 += m->logit_rows) {
        const int n = R - r0 < m->logit_rows ? R - r0 : m->logit_rows;
        cl_int e = clEnqueueWriteBuffer(m->q, m->lrows, CL_FALSE, 0, (size_t)n * sizeof(int32_t),
                                        m->h_rows + r0, 0, NULL, NULL);
        if (e != CL_SUCCESS)
            return fail(err, err_size, "row list upload: %d", (int)e);
        if (get_rows(m, m->x, m->lrows, m->lx, n, 1.0f, err, err_size) ||
            rms_norm(m, m->lx, 0, E, m->lx, 0, E, n, 1, E, m->out_norm, 0, err, err_size) ||
            gemm(m, m->lx, m->out_w, m->logits, n, V, E, 0, err, err_size))
            return -1;
        e = clEnqueueReadBuffer(m->q, m->logits, CL_TRUE, 0, (size_t)n * V * sizeof(float),
                                logits + (size_t)r0 * V, 0, NULL, NULL);
        if (e != CL_SUCCESS)
            return fail(err, err_size, "logits download: %d", (int)e);
    }
    if (hp->final_softcap > 0) {
        const float c = hp->final_softcap;
        for (size_t i = 0; i < (size_t)R * V; i++)
            logits[i] = c * tanhf(logits[i] / c);
    }
    return 0;
}

/* adds the forward's command times to the split: each command is charged from the end
   of the one before it to its own end (the queue is in order) */
static void account(model *m)
{
    cl_ulong prev = 0;
    for (int i = 0; i < m->n_ev; i++) {
        cl_ulong start = 0, end = 0;
        if (clGetEventProfilingInfo(m->ev[i], CL_PROFILING_COMMAND_START, sizeof start, &start,
                                    NULL) != CL_SUCCESS ||
            clGetEventProfilingInfo(m->ev[i], CL_PROFILING_COMMAND_END, sizeof end, &end,
                                    NULL) != CL_SUCCESS)
            continue;
        const cl_ulong from = prev && prev < end ? prev : start;
        if (end > from)
            m->ms[m->ev_cat[i]] += (double)(end - from) * 1e-6;
        prev = end;
    }
    drop_events(m);
}

int model_forward(model *m, int n_entries, const swacl_batch_entry *entries,
                  const int32_t *tokens, int all_rows, float *logits, char *err, size_t err_size)
{
    const model_hparams *hp = &m->hp;
    int T = 0;
    for (int e = 0; e < n_entries; e++) {
        if (entries[e].n_tokens < 1 || entries[e].seq < 0 || entries[e].seq >= m->opt.max_seqs)
            return fail(err, err_size, "entry %d: sequence %d with %d tokens", e, entries[e].seq,
                        entries[e].n_tokens);
        T += entries[e].n_tokens;
        if (T > m->opt.max_tokens)
            return fail(err, err_size, "a forward takes at most %d tokens", m->opt.max_tokens);
    }
    if (T == 0)
        return fail(err, err_size, "nothing to run");
    int R = 0;
    for (int e = 0, row = 0; e < n_entries; e++) {
        const int64_t p0 = model_seq_pos(m, entries[e].seq);
        if (m->opt.stream_window <= 0 && p0 + entries[e].n_tokens > m->opt.max_context)
            return fail(err, err_size, "sequence %d would pass the context of %d tokens",
                        entries[e].seq, m->opt.max_context);
        for (int j = 0; j < entries[e].n_tokens; j++, row++) {
            if (tokens[row] < 0 || tokens[row] >= hp->n_vocab)
                return fail(err, err_size, "token id %d is outside the vocabulary", tokens[row]);
            m->h_pos[row] = (int32_t)(p0 + j);
            if (logits && (all_rows || j == entries[e].n_tokens - 1))
                m->h_rows[R++] = row;
        }
    }
    /* tokens stays alive until the clFinish below, as the write needs */
    cl_int e = clEnqueueWriteBuffer(m->q, m->ids, CL_FALSE, 0, (size_t)T * sizeof(int32_t),
                                    tokens, 0, NULL, NULL);
    if (e == CL_SUCCESS)
        e = clEnqueueWriteBuffer(m->q, m->pos, CL_FALSE, 0, (size_t)T * sizeof(int32_t), m->h_pos,
                                 0, NULL, NULL);
    int rc = e == CL_SUCCESS ? 0 : fail(err, err_size, "token upload: OpenCL error %d", (int)e);
    if (!rc)
        rc = get_rows(m, m->tok_embd, m->ids, m->x, T, hp->embd_scale, err, err_size);
    if (!rc && m->opt.stream_window <= 0)
        rc = rope_table(m, T, m->inv_freq_global, m->cs_global, err, err_size) ||
             rope_table(m, T, m->inv_freq_local, m->cs_local, err, err_size);
    for (int l = 0; !rc && l < hp->n_layers; l++)
        rc = layer_forward(m, l, T, n_entries, entries, err, err_size);
    if (!rc && R > 0)
        rc = logits_out(m, R, logits, err, err_size);
    clFinish(m->q);
    swacl_profile p;
    swacl_profile_read(m->ctx, &p); /* keeps the context's own record from filling up */
    account(m);
    return rc;
}

const char *const model_time_names[MT_KINDS] = {"attention", "GEMM", "norms", "RoPE",
                                                 "activation", "row gathers"};

void model_times_read(model *m, model_times *out)
{
    for (int i = 0; i < MT_KINDS; i++) {
        out->ms[i] = m->ms[i];
        m->ms[i] = 0;
    }
}
