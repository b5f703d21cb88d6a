/* model_vs_hf.c — a whole model on the device against Hugging Face transformers.
 * Usage: model_vs_hf MODEL.gguf FIXTURE CHUNK [PROMPT.txt]
 * The fixture (tools/run/make_logits_fixtures.py for Gemma 3 270M,
 * make_tiny_fixtures.py for the tiny models) holds transformers' prompt ids, its
 * greedy continuation and its top 16 logits at each generated position (fp32, eager
 * attention, the same weights). Checks, on prompts longer than the sliding window:
 *   - the tokenizer gives transformers' prompt ids (when PROMPT.txt is given);
 *   - decode: the prompt as chunked prefill (CHUNK tokens per forward), then greedy
 *     steps; every step's argmax is transformers' token and its logits at
 *     transformers' top ids are within tolerance;
 *   - prefill: a second sequence takes prompt and continuation as chunks and returns
 *     the logits of every row of the last one; the same logits are checked there;
 *   - the KV cache's device bytes never change.
 * Exit 77 (skipped) without the model file or an OpenCL device. */
#include "gguf.h"
#include "model.h"
#include "tokenizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Logits are compared where transformers ranks a token among its top 16. Both sides
 * run fp32 on the same dequantised weights and differ only in summation order:
 * |ours - theirs| <= ABS_TOL + REL_TOL * |theirs|. (A sliding window one token short
 * exceeds it on Gemma 3 270M by 1.9x; correct runs stay under 1% of it.) */
#define ABS_TOL 0.002
#define REL_TOL 0.0002
#define TOP 16
#define MAX_POS 128

typedef struct fixture {
    int n_prompt, n_greedy, n_pos;
    int32_t prompt[1024], greedy[MAX_POS];
    int pos[MAX_POS];
    int32_t id[MAX_POS][TOP];
    float logit[MAX_POS][TOP];
} fixture;

static int read_ids(char *p, int32_t *out, int max)
{
    char *end;
    const long n = strtol(p, &end, 10);
    if (end == p || n < 0 || n > max)
        return -1;
    for (long i = 0; i < n; i++) {
        p = end;
        out[i] = (int32_t)strtol(p, &end, 10);
        if (end == p)
            return -1;
    }
    return (int)n;
}

static int read_fixture(const char *path, fixture *fx)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    static char line[1 << 16];
    memset(fx, 0, sizeof *fx);
    int ok = 1;
    while (ok && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "prompt ", 7))
            ok = (fx->n_prompt = read_ids(line + 7, fx->prompt, 1024)) > 0;
        else if (!strncmp(line, "greedy ", 7))
            ok = (fx->n_greedy = read_ids(line + 7, fx->greedy, MAX_POS)) > 0;
        else if (!strncmp(line, "pos ", 4) && fx->n_pos < MAX_POS) {
            char *p = line + 4, *end;
            fx->pos[fx->n_pos] = (int)strtol(p, &end, 10);
            for (int k = 0; k < TOP && ok; k++) {
                p = end;
                fx->id[fx->n_pos][k] = (int32_t)strtol(p, &end, 10);
                ok = *end == ':';
                p = end + 1;
                fx->logit[fx->n_pos][k] = strtof(p, &end);
            }
            fx->n_pos++;
        }
    }
    fclose(f);
    return ok && fx->n_prompt && fx->n_greedy == fx->n_pos ? 0 : -1;
}

static double worst; /* the largest error relative to the tolerance */

/* logits of position fx->pos[i] against the fixture; 0 if within tolerance */
static int check_logits(const fixture *fx, int i, const float *logits, const char *path)
{
    int bad = 0;
    for (int k = 0; k < TOP; k++) {
        const double want = fx->logit[i][k], got = logits[fx->id[i][k]];
        const double tol = ABS_TOL + REL_TOL * fabs(want);
        if (fabs(got - want) / tol > worst)
            worst = fabs(got - want) / tol;
        if (!(fabs(got - want) <= tol)) {
            if (!bad)
                printf("FAIL: %s, position %d, token %d: %.5f, transformers %.5f\n", path,
                       fx->pos[i], fx->id[i][k], got, want);
            bad = 1;
        }
    }
    return bad;
}

static int32_t argmax(const float *l, int n)
{
    int32_t b = 0;
    for (int i = 1; i < n; i++)
        if (l[i] > l[b])
            b = i;
    return b;
}

static int CHUNK = 64; /* prefill chunk (argument) */

/* prefill of n tokens of seq in CHUNK pieces; logits (all rows with all_rows) of the
   last chunk only */
static int prefill(model *m, int seq, const int32_t *ids, int n, float *logits, int all_rows)
{
    char err[512];
    for (int p0 = 0; p0 < n; p0 += CHUNK) {
        const int c = n - p0 < CHUNK ? n - p0 : CHUNK;
        swacl_batch_entry e = {seq, c};
        const int last = p0 + c == n;
        if (model_forward(m, 1, &e, ids + p0, all_rows && last, last ? logits : NULL, err,
                          sizeof err)) {
            printf("FAIL: forward: %s\n", err);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5 || (CHUNK = atoi(argv[3])) < 1) {
        printf("usage: model_vs_hf MODEL.gguf FIXTURE CHUNK [PROMPT.txt]\n");
        return 2;
    }
    const char *path = argv[1];
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        printf("skipped: no %s (tools/run/get-gemma3-270m.sh fetches it)\n", path);
        return 77;
    }
    fclose(probe);
    static fixture fx;
    if (read_fixture(argv[2], &fx)) {
        printf("FAIL: cannot read the fixture %s\n", argv[2]);
        return 1;
    }
    char err[512];
    gguf_file f;
    if (gguf_open(path, &f, err, sizeof err)) {
        printf("FAIL: %s\n", err);
        return 1;
    }
    int fails = 0;
    /* the prompt text tokenizes to transformers' ids */
    static char text[1 << 16];
    FILE *pf = argc == 5 ? fopen(argv[4], "rb") : NULL;
    if (argc == 5) {
        tokenizer *tok = NULL;
        size_t len = pf ? fread(text, 1, sizeof text, pf) : 0;
        if (pf)
            fclose(pf);
        if (len && text[len - 1] == '\n')
            len--;
        static int32_t ids[1 << 14];
        const int n = tok_load(&f, &tok, err, sizeof err) ? -1 : tok_encode(tok, text, len, 1, ids, 1 << 14);
        if (n != fx.n_prompt || memcmp(ids, fx.prompt, (size_t)n * sizeof *ids)) {
            printf("FAIL: the prompt gives %d ids, transformers %d (or other ids)\n", n, fx.n_prompt);
            fails++;
        }
        tok_free(tok);
    }

    swacl_context_options co = {0};
    co.profiling = 1;
    swacl_context *ctx;
    if (swacl_context_create(&co, &ctx) != SWACL_OK) {
        printf("skipped: no OpenCL device (%s)\n", swacl_last_error(NULL));
        return 77;
    }
    model_options mo = {0};
    mo.max_seqs = 2;
    mo.max_context = fx.n_prompt + fx.n_greedy;
    mo.max_tokens = CHUNK > fx.n_pos ? CHUNK : fx.n_pos;
    model *m;
    if (model_load(ctx, &f, &mo, &m, err, sizeof err)) {
        printf("FAIL: %s\n", err);
        return 1;
    }
    const int V = model_hp(m)->n_vocab;
    const size_t kv0 = model_kv_bytes(m);
    float *logits = malloc((size_t)mo.max_tokens * V * sizeof *logits);

    /* decode path: free-running greedy from the prompt */
    int dec_fail = prefill(m, 0, fx.prompt, fx.n_prompt, logits, 0);
    for (int i = 0; !dec_fail && i < fx.n_greedy; i++) {
        dec_fail |= check_logits(&fx, i, logits, "decode");
        const int32_t next = argmax(logits, V);
        if (next != fx.greedy[i]) {
            printf("FAIL: greedy step %d gives token %d, transformers %d\n", i, next, fx.greedy[i]);
            dec_fail = 1;
            break;
        }
        swacl_batch_entry e = {0, 1};
        if (i + 1 < fx.n_greedy && model_forward(m, 1, &e, &next, 0, logits, err, sizeof err)) {
            printf("FAIL: decode step %d: %s\n", i, err);
            dec_fail = 1;
        }
    }
    fails += dec_fail;
    if (!dec_fail)
        printf("decode: %d greedy tokens equal transformers', logits within tolerance\n", fx.n_greedy);

    /* prefill path: prompt and continuation as chunks, logits of every row of the last
       chunk; the checked positions all lie in it when it starts early enough */
    static int32_t all[1024 + MAX_POS];
    memcpy(all, fx.prompt, (size_t)fx.n_prompt * sizeof *all);
    memcpy(all + fx.n_prompt, fx.greedy, (size_t)(fx.n_greedy - 1) * sizeof *all);
    const int n_all = fx.n_prompt + fx.n_greedy - 1, first = fx.pos[0];
    /* positions [0, first) first, then [first, n_all) as one chunk whose rows all give logits */
    int pre_fail = prefill(m, 1, all, first, logits, 0);
    if (!pre_fail && n_all - first <= mo.max_tokens) {
        swacl_batch_entry e = {1, n_all - first};
        if (model_forward(m, 1, &e, all + first, 1, logits, err, sizeof err)) {
            printf("FAIL: forward: %s\n", err);
            pre_fail = 1;
        }
        for (int i = 0; !pre_fail && i < fx.n_pos; i++)
            pre_fail |= check_logits(&fx, i, logits + (size_t)(fx.pos[i] - first) * V, "prefill");
    } else if (!pre_fail) {
        printf("FAIL: the checked positions do not fit one forward of %d\n", mo.max_tokens);
        pre_fail = 1;
    }
    fails += pre_fail;
    if (!pre_fail)
        printf("prefill: logits of %d positions within tolerance\n", fx.n_pos);
    if (model_kv_bytes(m) != kv0) {
        printf("FAIL: the KV cache grew from %zu to %zu bytes\n", kv0, model_kv_bytes(m));
        fails++;
    }
    printf("largest logit error: %.3f of the tolerance (%g + %g x |logit|)\n", worst, ABS_TOL,
           REL_TOL);
    free(logits);
    model_free(m);
    swacl_context_destroy(ctx);
    gguf_close(&f);
    return fails ? 1 : 0;
}
