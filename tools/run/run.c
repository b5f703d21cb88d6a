/* run.c — swacl-run: generates text with a GGUF model on an OpenCL device (the
 * forward pass in model.c), streaming it as it comes, and ends with the speed, the
 * split of device time and the KV-cache bytes. Usage in usage() and docs/design.md §9. */
#define _POSIX_C_SOURCE 200809L
#include "gguf.h"
#include "model.h"
#include "tokenizer.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct args {
    const char *model, *prompt, *device;
    int n_gen, parallel, top_k, ids, bench, window, sinks, kv_f16;
    double temp, top_p;
    unsigned long long seed;
} args;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: swacl-run -m FILE.gguf -p PROMPT [-n N] [--device SEL] [--parallel N]\n"
            "                 [--temp T] [--top-k K] [--top-p P] [--seed S] [--ids] [--bench]\n"
            "                 [--window W [--sinks S]] [--kv-f16]\n"
            "  -n N          tokens to generate (default 128)\n"
            "  --device SEL  OpenCL device, as SWACL_DEVICE takes it (swacl-info lists them)\n"
            "  --parallel N  N sequences of the prompt decoded as one batch (default 1)\n"
            "  --temp T      sampling temperature; 0 = greedy (default 0.8)\n"
            "  --top-k K     sample among the K likeliest tokens; 0 = all (default 40)\n"
            "  --top-p P     ... within cumulative probability P (default 0.95)\n"
            "  --seed S      random seed (default 1)\n"
            "  --ids         print the prompt's and the generated token ids after the text\n"
            "  --bench       no text; generate exactly N tokens and print the figures\n"
            "  --window W    stream: every layer sees the last W tokens (keys rotated in the\n"
            "                cache), so generation runs past any context length\n"
            "  --sinks S     stream: keep the first S tokens visible too (StreamingLLM)\n"
            "  --kv-f16      keep the KV cache in fp16\n");
}

static int bad_arg(const char *msg, const char *val)
{
    fprintf(stderr, "swacl-run: %s%s%s (swacl-run --help)\n", msg, val ? ": " : "", val ? val : "");
    return 2;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

/* 0 = run, 1 = done (help), 2 = bad arguments (already reported) */
static int parse_args(int argc, char **argv, args *a)
{
    enum { O_DEVICE = 256, O_PARALLEL, O_TEMP, O_TOPK, O_TOPP, O_SEED, O_IDS, O_BENCH, O_WINDOW,
           O_SINKS, O_KVF16 };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},  {"prompt", required_argument, 0, 'p'},
        {"n-predict", required_argument, 0, 'n'}, {"help", no_argument, 0, 'h'},
        {"device", required_argument, 0, O_DEVICE}, {"parallel", required_argument, 0, O_PARALLEL},
        {"temp", required_argument, 0, O_TEMP}, {"top-k", required_argument, 0, O_TOPK},
        {"top-p", required_argument, 0, O_TOPP}, {"seed", required_argument, 0, O_SEED},
        {"ids", no_argument, 0, O_IDS},        {"bench", no_argument, 0, O_BENCH},
        {"window", required_argument, 0, O_WINDOW}, {"sinks", required_argument, 0, O_SINKS},
        {"kv-f16", no_argument, 0, O_KVF16},   {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    a->n_gen = 128;
    a->parallel = 1;
    a->temp = 0.8;
    a->top_k = 40;
    a->top_p = 0.95;
    a->seed = 1;
    opterr = 0;
    int c, ok = 1;
    while (ok && (c = getopt_long(argc, argv, ":m:p:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'p': a->prompt = optarg; break;
        case 'n': ok = !parse_int(optarg, 0, 1 << 24, &a->n_gen); break;
        case 'h': usage(stdout); return 1;
        case O_DEVICE: a->device = optarg; break;
        case O_PARALLEL: ok = !parse_int(optarg, 1, 256, &a->parallel); break;
        case O_TEMP: ok = !parse_double(optarg, 0, 100, &a->temp); break;
        case O_TOPK: ok = !parse_int(optarg, 0, 1 << 24, &a->top_k); break;
        case O_TOPP: ok = !parse_double(optarg, 0, 1, &a->top_p) && a->top_p > 0; break;
        case O_SEED: {
            char *end;
            errno = 0;
            a->seed = strtoull(optarg, &end, 10);
            ok = !errno && end != optarg && !*end;
            break;
        }
        case O_IDS: a->ids = 1; break;
        case O_BENCH: a->bench = 1; break;
        case O_WINDOW: ok = !parse_int(optarg, 1, 1 << 24, &a->window); break;
        case O_SINKS: ok = !parse_int(optarg, 0, 1 << 16, &a->sinks); break;
        case O_KVF16: a->kv_f16 = 1; break;
        case ':': return bad_arg("missing value for", argv[optind - 1]);
        default: return bad_arg("unknown option", argv[optind - 1]);
        }
    }
    if (!ok)
        return bad_arg("bad value for", argv[optind - 1]);
    if (optind < argc)
        return bad_arg("unexpected argument", argv[optind]);
    if (!a->model)
        return bad_arg("no model: give -m FILE.gguf", NULL);
    if (!a->prompt)
        return bad_arg("no prompt: give -p TEXT", NULL);
    if (a->sinks && !a->window)
        return bad_arg("--sinks needs --window", NULL);
    return 0;
}

/* ---- sampling ----------------------------------------------------------- */

static uint64_t next_random(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct cand {
    float logit;
    int32_t id;
} cand;

static int by_logit(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return x->logit < y->logit ? 1 : x->logit > y->logit ? -1 : (x->id > y->id) - (x->id < y->id);
}

static int32_t argmax(const float *l, int n)
{
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (l[i] > l[best])
            best = i;
    return best;
}

/* the k largest logits into c[0..k), best first: a min-heap of k over the vocabulary
   (sorting all of a 262 144-token vocabulary per token took as long as the model) */
static void top_k(const float *l, int n, int k, cand *c)
{
    int size = 0;
    for (int i = 0; i < n; i++) {
        if (size == k && !(l[i] > c[0].logit))
            continue;
        int at;
        if (size < k) { /* sift up from the new leaf */
            at = size++;
            while (at > 0 && l[i] < c[(at - 1) / 2].logit) {
                c[at] = c[(at - 1) / 2];
                at = (at - 1) / 2;
            }
        } else { /* replace the root, sift down */
            at = 0;
            for (;;) {
                int ch = 2 * at + 1;
                if (ch >= k)
                    break;
                if (ch + 1 < k && c[ch + 1].logit < c[ch].logit)
                    ch++;
                if (!(c[ch].logit < l[i]))
                    break;
                c[at] = c[ch];
                at = ch;
            }
        }
        c[at] = (cand){l[i], i};
    }
    qsort(c, (size_t)size, sizeof *c, by_logit);
}

/* temperature, then top-k, then top-p; c has room for n */
static int32_t sample(const float *l, int n, const args *a, cand *c, uint64_t *rng)
{
    if (a->temp <= 0)
        return argmax(l, n);
    int k = a->top_k > 0 && a->top_k < n ? a->top_k : n;
    top_k(l, n, k, c);
    double sum = 0, cum = 0;
    for (int i = 0; i < k; i++) {
        c[i].logit = (float)exp((c[i].logit - c[0].logit) / a->temp);
        sum += c[i].logit;
    }
    int kept = 0;
    while (kept < k && (cum < a->top_p * sum || kept == 0))
        cum += c[kept++].logit;
    double r = (double)(next_random(rng) >> 11) * 0x1.0p-53 * cum;
    for (int i = 0; i < kept; i++) {
        r -= c[i].logit;
        if (r < 0)
            return c[i].id;
    }
    return c[kept - 1].id;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void print_ids(const char *label, const int32_t *ids, int n)
{
    printf("%s", label);
    for (int i = 0; i < n; i++)
        printf("%s%d", i ? " " : "", ids[i]);
    printf("\n");
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
    args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc == 1 ? 0 : rc;
    char err[512];
    gguf_file f;
    if (gguf_open(a.model, &f, err, sizeof err) != 0) {
        fprintf(stderr, "swacl-run: %s: %s\n", a.model, err);
        return 1;
    }
    tokenizer *tok = NULL;
    model_hparams hp;
    if (tok_load(&f, &tok, err, sizeof err) != 0 || model_read_hparams(&f, &hp, err, sizeof err) != 0) {
        fprintf(stderr, "swacl-run: %s: %s\n", a.model, err);
        tok_free(tok);
        gguf_close(&f);
        return 1;
    }
    const size_t plen = strlen(a.prompt);
    int32_t *prompt = malloc((plen + 2) * sizeof *prompt);
    const int n_prompt = prompt ? tok_encode(tok, a.prompt, plen, 1, prompt, (int)plen + 2) : -1;
    if (n_prompt < 1) {
        fprintf(stderr, "swacl-run: the prompt gives no tokens\n");
        free(prompt);
        tok_free(tok);
        gguf_close(&f);
        return 1;
    }
    const int P = a.parallel, V = hp.n_vocab;
    const int max_tokens = 512 > P ? 512 : P;
    swacl_context_options co = {0};
    co.device = a.device;
    co.profiling = 1;
    swacl_context *ctx = NULL;
    model *m = NULL;
    int32_t *gen = calloc((size_t)P * (a.n_gen + 1), sizeof *gen), *batch = NULL;
    float *logits = malloc((size_t)P * V * sizeof *logits);
    cand *cands = malloc((size_t)V * sizeof *cands);
    int *n_out = calloc((size_t)P, sizeof *n_out), *live = calloc((size_t)P, sizeof *live);
    swacl_batch_entry *ent = calloc((size_t)P, sizeof *ent);
    batch = malloc((size_t)max_tokens * sizeof *batch);
    rc = 1;
    if (!gen || !logits || !cands || !n_out || !live || !ent || !batch) {
        fprintf(stderr, "swacl-run: out of host memory\n");
        goto done;
    }
    swacl_status s = swacl_context_create(&co, &ctx);
    if (s != SWACL_OK) {
        fprintf(stderr, "swacl-run: %s\n", swacl_last_error(NULL));
        goto done;
    }
    model_options mo = {0};
    mo.max_seqs = P;
    mo.max_context = n_prompt + a.n_gen + 1;
    mo.max_tokens = max_tokens;
    mo.kv_f16 = a.kv_f16;
    mo.stream_window = a.window;
    mo.stream_sinks = a.sinks;
    swacl_device_info di;
    swacl_context_device_info(ctx, &di);
    double t0 = now_s();
    if (model_load(ctx, &f, &mo, &m, err, sizeof err) != 0) {
        fprintf(stderr, "swacl-run: %s: %s\n", a.model, err);
        goto done;
    }
    const double t_load = now_s() - t0;
    const size_t kv0 = model_kv_bytes(m);
    if (!a.bench) {
        fprintf(stderr, "swacl-run: %s on %s (%s), loaded in %.1f s\n", a.model, di.name,
                di.platform, t_load);
        fputs(a.prompt, stdout);
        fflush(stdout);
    }
    /* prefill: the prompt in chunks, every sequence in the same micro-batch */
    const int chunk = max_tokens / P;
    model_times tm;
    model_times_read(m, &tm);
    t0 = now_s();
    for (int p0 = 0; p0 < n_prompt; p0 += chunk) {
        const int n = n_prompt - p0 < chunk ? n_prompt - p0 : chunk;
        for (int q = 0; q < P; q++) {
            ent[q] = (swacl_batch_entry){q, n};
            memcpy(batch + (size_t)q * n, prompt + p0, (size_t)n * sizeof *batch);
        }
        /* only the last chunk's logits are sampled from */
        float *out = p0 + n == n_prompt ? logits : NULL;
        if (model_forward(m, P, ent, batch, 0, out, err, sizeof err) != 0) {
            fprintf(stderr, "\nswacl-run: %s\n", err);
            goto done;
        }
    }
    const double t_prefill = now_s() - t0;
    model_times tp;
    model_times_read(m, &tp);
    /* decode: one token per live sequence per step */
    uint64_t rng = a.seed;
    int32_t stop1 = tok_eos(tok), stop2 = tok_find(tok, "<end_of_turn>", 13);
    int n_live = a.n_gen > 0 ? P : 0, steps = 0, decoded = 0;
    for (int q = 0; q < P; q++)
        live[q] = n_live > 0;
    t0 = now_s();
    char piece[256];
    while (n_live > 0) {
        int e = 0;
        for (int q = 0, r = 0; q < P; q++) {
            if (!live[q])
                continue;
            const int32_t id = sample(logits + (size_t)r++ * V, V, &a, cands, &rng);
            gen[(size_t)q * (a.n_gen + 1) + n_out[q]++] = id;
            if (q == 0 && !a.bench) {
                fwrite(piece, 1, tok_decode(tok, id, piece, sizeof piece), stdout);
                fflush(stdout);
            }
            if (n_out[q] >= a.n_gen || (!a.bench && (id == stop1 || id == stop2))) {
                live[q] = 0;
                n_live--;
                continue;
            }
            ent[e] = (swacl_batch_entry){q, 1};
            batch[e++] = id;
        }
        if (e == 0)
            break;
        if (model_forward(m, e, ent, batch, 0, logits, err, sizeof err) != 0) {
            fprintf(stderr, "\nswacl-run: %s\n", err);
            goto done;
        }
        steps++;
        decoded += e;
    }
    const double t_decode = now_s() - t0;
    model_times td;
    model_times_read(m, &td);
    if (!a.bench)
        printf("\n");
    fflush(stdout);
    for (int q = 1; q < P && !a.bench; q++) {
        printf("--- sequence %d:", q);
        for (int i = 0; i < n_out[q]; i++)
            fwrite(piece, 1, tok_decode(tok, gen[(size_t)q * (a.n_gen + 1) + i], piece, sizeof piece),
                   stdout);
        printf("\n");
    }
    if (a.ids) {
        print_ids("prompt ids: ", prompt, n_prompt);
        for (int q = 0; q < P; q++)
            print_ids("generated ids: ", gen + (size_t)q * (a.n_gen + 1), n_out[q]);
    }
    fflush(stdout);
    double dev = 0, kind[MT_KINDS];
    for (int i = 0; i < MT_KINDS; i++)
        dev += kind[i] = tp.ms[i] + td.ms[i];
    fprintf(stderr, "swacl-run: %s, %s\n", di.name, di.platform);
    fprintf(stderr, "prefill: %d tokens x %d in %.3f s: %.1f tokens/s\n", n_prompt, P, t_prefill,
            n_prompt * P / t_prefill);
    fprintf(stderr, "decode: %d tokens in %d steps of batch <= %d in %.3f s: %.2f tokens/s\n",
            decoded, steps, P, t_decode, decoded > 0 ? decoded / t_decode : 0.0);
    if (dev > 0) {
        fprintf(stderr, "device time %.1f ms:", dev);
        for (int i = 0; i < MT_KINDS; i++)
            fprintf(stderr, "%s %s %.1f%%", i ? "," : "", model_time_names[i], 100 * kind[i] / dev);
        fprintf(stderr, "\n");
    }
    const size_t kv1 = model_kv_bytes(m);
    fprintf(stderr, "KV cache: %zu bytes at start, %zu at the end; weights %zu bytes on the device\n",
            kv0, kv1, model_weight_bytes(m));
    rc = kv0 == kv1 ? 0 : 1;
done:
    model_free(m);
    swacl_context_destroy(ctx);
    free(gen);
    free(batch);
    free(logits);
    free(cands);
    free(n_out);
    free(live);
    free(ent);
    free(prompt);
    tok_free(tok);
    gguf_close(&f);
    return rc;
}
