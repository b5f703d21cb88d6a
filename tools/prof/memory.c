/* memory.c — the KV-cache memory planner: model presets, bytes per context
 * length from swacl_cache_plan_bytes (sliding window against full attention),
 * and the effective receptive field of a stack of windows. */
#include "prof.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const prof_model model_presets[] = {
    {"mistral-7b", 32, 0, 32, 8, 128, 4096, 0, 1, 0, SWACL_F16, "Mistral 7B v0.1"},
    {"mixtral-8x7b", 32, 0, 32, 8, 128, 4096, 0, 1, 0, SWACL_F16,
     "Mixtral 8x7B (v0.1 config: SWA 4096)"},
    {"gemma2-9b", 42, 1, 16, 8, 256, 4096, 0, 1, 0, SWACL_F16,
     "Gemma 2 9B: local W 4096 / global, alternating"},
    {"gpt-oss-20b", 24, 1, 64, 8, 64, 128, 0, 1, 1, SWACL_F16,
     "gpt-oss 20B: W 128 with learned sinks / full, alternating"},
};
#define N_MODEL_PRESETS ((int)(sizeof model_presets / sizeof model_presets[0]))

int prof_model_preset(const char *name, prof_model *out)
{
    for (int i = 0; i < N_MODEL_PRESETS; ++i)
        if (strcmp(model_presets[i].name, name) == 0) {
            *out = model_presets[i];
            return 0;
        }
    return -1;
}

const char *prof_model_preset_names(void)
{
    return "mistral-7b mixtral-8x7b gemma2-9b gpt-oss-20b";
}

swacl_status prof_model_kv_bytes(const prof_model *m, int full_attention, int64_t context,
                                 uint64_t *bytes)
{
    if (m->n_layers < 1 || context < 1 || context > INT_MAX)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_attn_config *layers = prof_xrealloc(NULL, sizeof *layers * (size_t)m->n_layers);
    float *sinks = prof_xrealloc(NULL, sizeof *sinks * (size_t)(m->n_heads > 0 ? m->n_heads : 1));
    for (int h = 0; h < m->n_heads; ++h)
        sinks[h] = 0.0f;
    for (int l = 0; l < m->n_layers; ++l) {
        swacl_attn_config *c = &layers[l];
        int swa = !full_attention && !(m->alternate && (l % 2));
        memset(c, 0, sizeof *c);
        c->n_heads = m->n_heads;
        c->n_kv_heads = m->n_kv_heads;
        c->head_dim = m->head_dim;
        c->window = swa ? m->window : 0;
        c->n_sink = swa ? m->n_sink : 0;
        c->dilation = swa ? m->dilation : 0;
        c->sink_logits = m->sink_logits ? sinks : NULL;
        c->kv_dtype = m->kv_dtype;
    }
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    opt.n_layers = m->n_layers;
    opt.layers = layers;
    opt.max_seqs = 1;
    opt.max_context = (int)context;
    swacl_status st = swacl_cache_plan_bytes(&opt, bytes);
    free(layers);
    free(sinks);
    return st;
}

int64_t prof_model_receptive_field(const prof_model *m, int64_t context)
{
    if (m->alternate || m->window == 0)
        return context;
    int64_t d = m->dilation > 1 ? m->dilation : 1;
    int64_t field = (int64_t)m->n_layers * (m->window - 1) * d + 1;
    return field < context ? field : context;
}

int64_t prof_parse_count(const char *text)
{
    char *end;
    long long v = strtoll(text, &end, 10);
    if (end == text || v < 0)
        return -1;
    int64_t scale = 1;
    if (*end == 'K' || *end == 'k')
        scale = 1024, ++end;
    else if (*end == 'M' || *end == 'm')
        scale = 1024 * 1024, ++end;
    if (*end || v > INT64_MAX / scale)
        return -1;
    return (int64_t)v * scale;
}

static void fmt_context(char *buf, size_t size, int64_t c)
{
    if (c >= 1024 * 1024 && c % (1024 * 1024) == 0)
        snprintf(buf, size, "%lldM", (long long)(c / (1024 * 1024)));
    else if (c >= 1024 && c % 1024 == 0)
        snprintf(buf, size, "%lldK", (long long)(c / 1024));
    else
        snprintf(buf, size, "%lld", (long long)c);
}

int prof_memory_print(const prof_model *models, int n_models, const int64_t *contexts,
                      int n_contexts, FILE *out)
{
    static const char *const headers[] = {"context", "SWA KV", "full KV", "SWA/full", "saved",
                                          "receptive field"};
    int failed = 0;
    for (int i = 0; i < n_models; ++i) {
        const prof_model *m = &models[i];
        fprintf(out, "%s%s%s%s: %d layers%s, %d/%d heads, head_dim %d, W %d", i ? "\n" : "",
                m->name, m->note[0] ? " — " : "", m->note, m->n_layers,
                m->alternate ? " (even SWA, odd full)" : "", m->n_heads, m->n_kv_heads,
                m->head_dim, m->window);
        if (m->n_sink)
            fprintf(out, ", %d sink tokens", m->n_sink);
        if (m->dilation > 1)
            fprintf(out, ", dilation %d", m->dilation);
        fprintf(out, ", KV %s, one sequence\n", prof_dtype_name(m->kv_dtype));
        prof_table t;
        prof_table_init(&t, 6, headers, "rrrrrr");
        for (int c = 0; c < n_contexts; ++c) {
            char ctx_text[32], a[32], b[32];
            uint64_t swa = 0, full = 0;
            swacl_status s1 = prof_model_kv_bytes(m, 0, contexts[c], &swa);
            swacl_status s2 = prof_model_kv_bytes(m, 1, contexts[c], &full);
            fmt_context(ctx_text, sizeof ctx_text, contexts[c]);
            prof_table_cell(&t, "%s", ctx_text);
            if (s1 != SWACL_OK || s2 != SWACL_OK) {
                swacl_status bad = s1 != SWACL_OK ? s1 : s2;
                prof_table_cell(&t, "%s", "unsupported");
                prof_table_cell(&t, "%s", swacl_status_string(bad));
                prof_table_cell(&t, "-");
                prof_table_cell(&t, "-");
                prof_table_cell(&t, "-");
                failed = bad;
                continue;
            }
            prof_fmt_bytes(a, sizeof a, (double)swa);
            prof_fmt_bytes(b, sizeof b, (double)full);
            prof_table_cell(&t, "%s", a);
            prof_table_cell(&t, "%s", b);
            prof_table_cell(&t, "%.3f", full ? (double)swa / (double)full : 0.0);
            prof_fmt_bytes(a, sizeof a, (double)full - (double)swa);
            prof_table_cell(&t, "%s", full >= swa ? a : "-");
            int64_t field = prof_model_receptive_field(m, contexts[c]);
            prof_table_cell(&t, "%lld tok%s", (long long)field,
                            m->alternate ? " (global layers)" : "");
        }
        prof_table_print(&t, out, "  ");
        prof_table_free(&t);
    }
    return failed;
}
