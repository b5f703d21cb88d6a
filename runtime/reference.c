/* reference.c — the float64 reference of docs/design.md §1: naive attention written
 * from the semantics alone, the yardstick every kernel and tool is checked by. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

/* The visibility rule of §1, word for word. 64-bit arithmetic because W*D may
 * exceed an int for "unbounded" windows. */
static int key_visible(const swacl_attn_config *cfg, int64_t i, int64_t j)
{
    const int64_t w = cfg->window;
    if (cfg->bidirectional) {
        const int64_t dist = i > j ? i - j : j - i;
        return j < cfg->n_sink || w == 0 || dist < w;
    }
    const int64_t d = cfg->dilation > 1 ? cfg->dilation : 1;
    if (j > i)
        return 0;
    return w == 0 || j < cfg->n_sink || (i - j < w * d && (i - j) % d == 0);
}

/* First key worth testing after the sinks: every visible non-sink key lies at
 * or after it. Only a shortcut past keys the rule would reject anyway, so the
 * rule above stays the sole judge of visibility. */
static int64_t band_start(const swacl_attn_config *cfg, int64_t i)
{
    if (cfg->window == 0)
        return 0;
    const int64_t d = (!cfg->bidirectional && cfg->dilation > 1) ? cfg->dilation : 1;
    const int64_t start = i - (int64_t)cfg->window * d + 1;
    return start > 0 ? start : 0;
}

/* fp16 values are widened once to float (exactly), so the inner loops read one type */
static float *widen(const void *src, size_t n, swacl_dtype dtype, float **owned)
{
    *owned = NULL;
    if (dtype == SWACL_F32)
        return (float *)src;
    float *dst = swacl_malloc(n * sizeof *dst);
    if (!dst)
        return NULL;
    const uint16_t *h = src;
    for (size_t e = 0; e < n; e++)
        dst[e] = swacl_f16_to_f32(h[e]);
    *owned = dst;
    return dst;
}

/* Rounds through float on the way to fp16: the double rounding can move a value
 * by one fp16 ulp in rare ties, far inside any fp16 tolerance. */
static void store_row(void *out, size_t offset, const double *row, int hd, swacl_dtype dtype)
{
    if (dtype == SWACL_F32) {
        float *dst = (float *)out + offset;
        for (int e = 0; e < hd; e++)
            dst[e] = (float)row[e];
    } else {
        uint16_t *dst = (uint16_t *)out + offset;
        for (int e = 0; e < hd; e++)
            dst[e] = swacl_f32_to_f16((float)row[e]);
    }
}

swacl_status swacl_reference_attention(const swacl_attn_config *cfg, int n_tokens,
                                       const void *q, const void *k, const void *v, void *out)
{
    char msg[256];
    if (!cfg || !q || !k || !v || !out || n_tokens <= 0)
        return SWACL_ERR_INVALID_ARGUMENT;
    if (swacl_config_check(cfg, msg, sizeof msg) != SWACL_OK)
        return SWACL_ERR_INVALID_ARGUMENT;

    const int n_heads = cfg->n_heads, n_kv = cfg->n_kv_heads, hd = cfg->head_dim;
    const int group = n_heads / n_kv;
    const double scale = cfg->scale > 0.0f ? (double)cfg->scale : 1.0 / sqrt((double)hd);
    const double softcap = cfg->softcap;
    const size_t n = (size_t)n_tokens;
    const size_t q_row = (size_t)n_heads * hd, kv_row = (size_t)n_kv * hd;

    float *q_own, *k_own, *v_own;
    const float *qf = widen(q, n * q_row, cfg->dtype, &q_own);
    const float *kf = widen(k, n * kv_row, cfg->dtype, &k_own);
    const float *vf = widen(v, n * kv_row, cfg->dtype, &v_own);
    double *scores = swacl_malloc(n * sizeof *scores);
    double *acc = swacl_malloc((size_t)hd * sizeof *acc);
    /* every allocation happens before the first write: a failure leaves out untouched */
    swacl_status status = SWACL_ERR_OUT_OF_MEMORY;
    if (!qf || !kf || !vf || !scores || !acc)
        goto done;

    for (int64_t i = 0; i < n_tokens; i++) {
        const int64_t last = cfg->bidirectional ? n_tokens - 1 : i;
        const int64_t band = band_start(cfg, i);
        for (int h = 0; h < n_heads; h++) {
            const float *qi = qf + (size_t)i * q_row + (size_t)h * hd;
            const int kvh = h / group;
            const int has_sink = cfg->sink_logits != NULL;
            double m = has_sink ? (double)cfg->sink_logits[h] : -INFINITY;
            int n_visible = 0;

            /* pass 1: scores of visible keys and their maximum */
            for (int64_t j = 0; j <= last; j++) {
                if (j >= cfg->n_sink && j < band)
                    j = band;
                if (!key_visible(cfg, i, j))
                    continue;
                const float *kj = kf + (size_t)j * kv_row + (size_t)kvh * hd;
                double dot = 0.0;
                for (int e = 0; e < hd; e++)
                    dot += (double)qi[e] * (double)kj[e];
                double s = scale * dot;
                if (softcap > 0.0)
                    s = softcap * tanh(s / softcap);
                scores[j] = s;
                if (s > m)
                    m = s;
                n_visible++;
            }

            for (int e = 0; e < hd; e++)
                acc[e] = 0.0;
            if (n_visible == 0) {
                store_row(out, (size_t)i * q_row + (size_t)h * hd, acc, hd, cfg->dtype);
                continue;
            }

            /* pass 2: weights; the sink logit adds to the denominator only */
            double denom = has_sink ? exp((double)cfg->sink_logits[h] - m) : 0.0;
            for (int64_t j = 0; j <= last; j++) {
                if (j >= cfg->n_sink && j < band)
                    j = band;
                if (!key_visible(cfg, i, j))
                    continue;
                const double p = exp(scores[j] - m);
                const float *vj = vf + (size_t)j * kv_row + (size_t)kvh * hd;
                denom += p;
                for (int e = 0; e < hd; e++)
                    acc[e] += p * (double)vj[e];
            }
            for (int e = 0; e < hd; e++)
                acc[e] /= denom;
            store_row(out, (size_t)i * q_row + (size_t)h * hd, acc, hd, cfg->dtype);
        }
    }
    status = SWACL_OK;

done:
    free(acc);
    free(scores);
    free(v_own);
    free(k_own);
    free(q_own);
    return status;
}
