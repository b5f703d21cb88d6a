/* e2e.c — the end-to-end suite (--suites e2e --model FILE.gguf): a whole model on the
 * device through swacl-run's model code (tools/run/model.c), in the figure users
 * compare devices by, tokens per second. Rows: prefill of 512 tokens (one sequence,
 * one forward pass, logits of the last row), and decode steps at batch 1 and 8 (each
 * sequence after a 32-token prompt). Each sample is timed on the host around the
 * forward pass, which waits for the device. GB/s counts the weights and the whole KV
 * cache once per forward pass: what decode has to read. */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if SWACL_PROF_E2E
#include "gguf.h"
#include "model.h"

#define E2E_PREFILL 512
#define E2E_PROMPT 32
#define E2E_STEPS 8 /* decode steps per sample */

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* median, min and max of n sample times of one operation each */
static void stats_of(double *t, int n, int reps, bench_stats *st)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    st->median_s = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    st->min_s = t[0];
    st->max_s = t[n - 1];
    st->wall_s = st->median_s;
    st->samples = n;
    st->reps = reps;
}

/* tokens of a synthetic prompt: ids spread over the vocabulary past the specials */
static void fill_tokens(int32_t *ids, int n, int vocab, int salt)
{
    for (int i = 0; i < n; i++)
        ids[i] = 16 + (int32_t)(((uint32_t)(i + 1) * 2654435761u + (uint32_t)salt * 40503u) %
                                (uint32_t)(vocab > 32 ? vocab - 16 : 1));
}

static void row_done(prof_row *row, const bench_stats *st, double tokens, double bytes,
                     double flops, const bench_device *dev)
{
    bench_row_times(row, st, flops, bytes, tokens, dev);
    prof_strlcpy(row->unit, "tokens/s", sizeof row->unit);
    row->value = tokens / st->median_s;
    row->value_min = tokens / st->max_s;
    row->value_max = tokens / st->min_s;
}

void e2e_run(bench_device *dev, const bench_opts *o)
{
    prof_suite *suite = prof_device_suite(dev->rec, "e2e");
    static const char *const names[] = {"prefill 512", "decode b=1", "decode b=8"};
    prof_row *rows[3];
    for (int i = 0; i < 3; i++)
        rows[i] = prof_suite_add_row(suite, names[i]);
    char err[512], label[32] = "";
    gguf_file f;
    model *m = NULL;
    float *logits = NULL;
    int32_t *ids = NULL;
    double *times = NULL;
    if (gguf_open(o->model_path, &f, err, sizeof err)) {
        for (int i = 0; i < 3; i++)
            prof_row_set_status(rows[i], PROF_ERROR, "%s: %s", o->model_path, err);
        return;
    }
    gguf_str name;
    if (gguf_get_str(&f, "general.name", &name) == 0)
        snprintf(label, sizeof label, "%.*s", (int)(name.len < 31 ? name.len : 31), name.ptr);
    model_options mo = {0};
    mo.max_seqs = 8;
    mo.max_tokens = E2E_PREFILL;
    mo.max_context = E2E_PREFILL + E2E_PROMPT + (o->samples + 2) * E2E_STEPS + 1;
    if (model_load(dev->ctx, &f, &mo, &m, err, sizeof err)) {
        for (int i = 0; i < 3; i++)
            prof_row_set_status(rows[i], PROF_ERROR, "%s", err);
        gguf_close(&f);
        return;
    }
    const model_hparams *hp = model_hp(m);
    /* FLOPs per token: every weight multiplies once (logits only for the rows that
       need them), attention not counted */
    const double embd = (double)hp->n_vocab * hp->n_embd;
    const double layer_w = (double)model_weight_bytes(m) / sizeof(float) - embd;
    const double bytes = (double)model_weight_bytes(m) + (double)model_kv_bytes(m);
    logits = malloc(sizeof *logits * (size_t)hp->n_vocab * 8);
    ids = malloc(sizeof *ids * E2E_PREFILL * 8);
    times = malloc(sizeof *times * (size_t)(o->samples + 1));
    int ok = logits && ids && times;
    for (int i = 0; i < 3; i++) {
        prof_row *row = rows[i];
        prof_strlcpy(row->shape, label, sizeof row->shape);
        row->n_heads = hp->n_head;
        row->n_kv_heads = hp->n_kv_head;
        row->head_dim = hp->head_dim;
        row->window = hp->window;
        row->n_tokens = i == 0 ? E2E_PREFILL : E2E_PROMPT;
        row->batch = i == 0 ? 1 : i == 1 ? 1 : 8;
        prof_strlcpy(row->kv_dtype, "f32", sizeof row->kv_dtype);
        prof_strlcpy(row->check, "whole model: tests/model_vs_hf.c against transformers",
                     sizeof row->check);
    }
    /* prefill: a fresh sequence each sample, the first run a warm-up */
    fill_tokens(ids, E2E_PREFILL, hp->n_vocab, 1);
    swacl_batch_entry e = {0, E2E_PREFILL};
    for (int s = -1; ok && s < o->samples; s++) {
        model_seq_reset(m, 0);
        const double t0 = bench_now();
        ok = model_forward(m, 1, &e, ids, 0, logits, err, sizeof err) == 0;
        if (s >= 0)
            times[s] = bench_now() - t0;
    }
    if (ok) {
        bench_stats st;
        stats_of(times, o->samples, 1, &st);
        row_done(rows[0], &st, E2E_PREFILL, (double)model_weight_bytes(m),
                 2.0 * (layer_w * E2E_PREFILL + embd), dev);
    } else {
        prof_row_set_status(rows[0], PROF_ERROR, "%s", err);
    }
    /* decode at batch 1 and 8: prompts first, one warm-up sample, then the samples */
    for (int i = 1; i < 3 && ok; i++) {
        const int b = i == 1 ? 1 : 8;
        swacl_batch_entry ent[8];
        for (int q = 0; q < b; q++) {
            model_seq_reset(m, q);
            ent[q] = (swacl_batch_entry){q, E2E_PROMPT};
            fill_tokens(ids + q * E2E_PROMPT, E2E_PROMPT, hp->n_vocab, 2 + q);
        }
        ok = model_forward(m, b, ent, ids, 0, NULL, err, sizeof err) == 0;
        for (int q = 0; q < b; q++)
            ent[q].n_tokens = 1;
        for (int s = -1; ok && s < o->samples; s++) {
            const double t0 = bench_now();
            for (int k = 0; ok && k < E2E_STEPS; k++) {
                for (int q = 0; q < b; q++) /* the argmax would need the host; any id serves */
                    ids[q] = 16 + (int32_t)((uint32_t)(s * E2E_STEPS + k + q) * 7919u %
                                            (uint32_t)(hp->n_vocab - 16));
                ok = model_forward(m, b, ent, ids, 0, logits, err, sizeof err) == 0;
            }
            if (s >= 0)
                times[s] = (bench_now() - t0) / E2E_STEPS;
        }
        if (ok) {
            bench_stats st;
            stats_of(times, o->samples, E2E_STEPS, &st);
            row_done(rows[i], &st, b, bytes, 2.0 * (layer_w + embd) * b, dev);
        }
    }
    for (int i = 0; i < 3; i++)
        if (!ok && prof_row_status(rows[i]) == PROF_OK && !(rows[i]->time_ms > 0))
            prof_row_set_status(rows[i], PROF_ERROR, "%s", err);
    for (int i = 0; ok && i < hp->n_vocab; i++) /* the last step's first row */
        if (!isfinite(logits[i])) {
            for (int r = 0; r < 3; r++)
                prof_row_set_status(rows[r], PROF_ERROR, "logits are not finite");
            break;
        }
    free(logits);
    free(ids);
    free(times);
    model_free(m);
    gguf_close(&f);
}
#else
void e2e_run(bench_device *dev, const bench_opts *o)
{
    (void)o;
    prof_row *row = prof_suite_add_row(prof_device_suite(dev->rec, "e2e"), "prefill 512");
    prof_row_set_status(row, PROF_UNSUPPORTED, "swacl-prof was built without CLBlast, so "
                                               "without swacl-run's model code");
}
#endif
