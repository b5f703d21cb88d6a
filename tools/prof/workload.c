/* workload.c — what a benchmark row computes and moves: named shapes, exact
 * visible-pair counts from docs/design.md §1, useful FLOPs and modelled bytes. */
#include "prof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const prof_shape shape_presets[] = {
    /* name      heads kv  dim  window sink softcap sink_logits dilation */
    {"laptop", 8, 2, 64, 512, 0, 0.0f, 0, 0},  /* small GQA model on integrated graphics */
    {"laptop-d4", 8, 2, 64, 512, 0, 0.0f, 0, 4}, /* the same, its 512 keys dilated 4 apart */
    {"mistral", 32, 8, 128, 4096, 0, 0.0f, 0, 0}, /* Mistral 7B v0.1 */
    {"gemma2", 16, 8, 256, 4096, 0, 50.0f, 0, 0}, /* Gemma 2 9B local layers, logit softcap 50 */
    {"gptoss", 64, 8, 64, 128, 0, 0.0f, 1, 0}, /* gpt-oss 20B banded layers, learned sinks */
    {"tiny", 4, 2, 32, 64, 0, 0.0f, 0, 0},     /* seconds-long runs, for tests */
};
#define N_SHAPE_PRESETS ((int)(sizeof shape_presets / sizeof shape_presets[0]))

int prof_shape_preset(const char *name, prof_shape *out)
{
    for (int i = 0; i < N_SHAPE_PRESETS; ++i)
        if (strcmp(shape_presets[i].name, name) == 0) {
            *out = shape_presets[i];
            return 0;
        }
    return -1;
}

const char *prof_shape_preset_names(void)
{
    return "laptop laptop-d4 mistral gemma2 gptoss tiny";
}

int prof_shape_parse(const char *spec, prof_shape *out, char *err, size_t err_size)
{
    const char *colon = strchr(spec, ':');
    if (!colon) {
        if (prof_shape_preset(spec, out) == 0)
            return 0;
        snprintf(err, err_size, "unknown shape \"%s\" (named: %s; or name:heads/kv_heads/head_dim/window)",
                 spec, prof_shape_preset_names());
        return -1;
    }
    memset(out, 0, sizeof *out);
    size_t name_len = (size_t)(colon - spec);
    if (name_len == 0 || name_len >= sizeof out->name || strchr(spec, ' ')) {
        snprintf(err, err_size, "shape \"%s\": the name must be 1..%zu characters, no spaces", spec,
                 sizeof out->name - 1);
        return -1;
    }
    memcpy(out->name, spec, name_len);
    out->name[name_len] = '\0';
    char tail;
    if (sscanf(colon + 1, "%d/%d/%d/%d%c", &out->n_heads, &out->n_kv_heads, &out->head_dim,
               &out->window, &tail) != 4) {
        snprintf(err, err_size, "shape \"%s\": expected name:heads/kv_heads/head_dim/window", spec);
        return -1;
    }
    /* the library validates the rest; these only keep the tool's own arithmetic sane */
    if (out->n_heads < 1 || out->n_kv_heads < 1 || out->n_heads % out->n_kv_heads ||
        out->head_dim < 1 || out->window < 0) {
        snprintf(err, err_size, "shape \"%s\": heads must be a multiple of kv_heads, window >= 0",
                 spec);
        return -1;
    }
    return 0;
}

void prof_shape_config(const prof_shape *s, swacl_dtype kv, float *sink_store,
                       swacl_attn_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->n_heads = s->n_heads;
    cfg->n_kv_heads = s->n_kv_heads;
    cfg->head_dim = s->head_dim;
    cfg->window = s->window;
    cfg->n_sink = s->n_sink;
    cfg->softcap = s->softcap;
    cfg->dilation = s->dilation;
    cfg->dtype = SWACL_F32;
    cfg->kv_dtype = kv;
    if (s->sink_logits && sink_store) {
        /* fixed, varied values: a learned sink is a per-head constant logit */
        for (int h = 0; h < s->n_heads; ++h)
            sink_store[h] = -1.0f + 2.0f * (float)(h % 5) / 4.0f;
        cfg->sink_logits = sink_store;
    }
}

int64_t prof_visible_keys(const swacl_attn_config *cfg, int64_t i, int64_t n_total)
{
    int64_t w = cfg->window, n_sink = cfg->n_sink;
    if (cfg->bidirectional) {
        if (w == 0)
            return n_total;
        int64_t lo = i - w + 1 > 0 ? i - w + 1 : 0;
        int64_t hi = i + w - 1 < n_total - 1 ? i + w - 1 : n_total - 1;
        int64_t sinks = n_sink < n_total ? n_sink : n_total;
        int64_t top = hi < sinks - 1 ? hi : sinks - 1;
        int64_t overlap = top - lo + 1 > 0 ? top - lo + 1 : 0;
        return sinks + (hi - lo + 1) - overlap;
    }
    if (w == 0 || i < n_sink)
        return i + 1; /* everything up to the query (all of it sinks in the second case) */
    int64_t d = cfg->dilation > 1 ? cfg->dilation : 1;
    /* band: j = i - k*d for k in [0, band); those with j < n_sink are already sinks */
    int64_t band = i / d + 1 < w ? i / d + 1 : w;
    int64_t first_sink_k = (i - n_sink) / d + 1;
    int64_t overlap = band - first_sink_k > 0 ? band - first_sink_k : 0;
    return n_sink + band - overlap;
}

double prof_visible_pairs(const swacl_attn_config *cfg, int64_t q_begin, int64_t q_end,
                          int64_t n_total)
{
    double pairs = 0;
    for (int64_t i = q_begin; i < q_end; ++i)
        pairs += (double)prof_visible_keys(cfg, i, n_total);
    return pairs;
}

double prof_attention_flops(const swacl_attn_config *cfg, double pairs)
{
    return 4.0 * cfg->head_dim * cfg->n_heads * pairs;
}

size_t prof_dtype_size(swacl_dtype t) { return t == SWACL_F16 ? 2 : 4; }
const char *prof_dtype_name(swacl_dtype t) { return t == SWACL_F16 ? "f16" : "f32"; }

int prof_reach(const swacl_attn_config *cfg)
{
    return cfg->window * (cfg->dilation > 1 ? cfg->dilation : 1);
}

/* ring slots of a cache layer: n_sink + W*D, or every position for W == 0 */
static int64_t ring_span(const swacl_attn_config *cfg, int64_t n)
{
    return cfg->window == 0 ? n : cfg->n_sink + (int64_t)prof_reach(cfg);
}

static double token_bytes(const swacl_attn_config *cfg, int heads, swacl_dtype t)
{
    return (double)heads * cfg->head_dim * (double)prof_dtype_size(t);
}

double prof_bytes_oneshot(const swacl_attn_config *cfg, int64_t n)
{
    return (double)n * (2 * token_bytes(cfg, cfg->n_heads, cfg->dtype) +
                        2 * token_bytes(cfg, cfg->n_kv_heads, cfg->dtype));
}

double prof_bytes_chunked(const swacl_attn_config *cfg, int64_t n, int64_t chunk)
{
    double kv_token = 2 * token_bytes(cfg, cfg->n_kv_heads, cfg->kv_dtype);
    double bytes = prof_bytes_oneshot(cfg, n);
    int64_t span = ring_span(cfg, n);
    for (int64_t p0 = 0; p0 < n; p0 += chunk) {
        int64_t len = n - p0 < chunk ? n - p0 : chunk;
        int64_t from_ring = p0 < span ? p0 : span; /* older keys the chunk's queries read */
        int64_t appended = len < span ? len : span; /* only the last span tokens survive */
        bytes += kv_token * (double)(from_ring + appended);
    }
    return bytes;
}

double prof_bytes_decode(const swacl_attn_config *cfg, int batch, int64_t pos)
{
    double per_seq = 2 * token_bytes(cfg, cfg->n_heads, cfg->dtype) +
                     2 * token_bytes(cfg, cfg->n_kv_heads, cfg->dtype) +
                     2 * token_bytes(cfg, cfg->n_kv_heads, cfg->kv_dtype) *
                         (double)(1 + prof_visible_keys(cfg, pos, pos + 1));
    return per_seq * batch;
}
