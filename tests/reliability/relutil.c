/* relutil.c — host histories of cached sequences and the reference output of
 * their next query (see relutil.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "relutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t elem_size(swacl_dtype t) { return t == SWACL_F16 ? 2 : 4; }

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "relutil: out of host memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

void rel_history_init(rel_history *h, const swacl_attn_config *cfg)
{
    memset(h, 0, sizeof *h);
    h->row_bytes = (size_t)cfg->n_kv_heads * cfg->head_dim * elem_size(cfg->dtype);
}

void rel_history_free(rel_history *h)
{
    free(h->k);
    free(h->v);
    h->k = h->v = NULL;
    h->len = h->cap = 0;
}

static void reserve(rel_history *h, int n)
{
    if (n <= h->cap)
        return;
    int cap = h->cap ? h->cap : 16;
    while (cap < n)
        cap *= 2;
    unsigned char *k = realloc(h->k, (size_t)cap * h->row_bytes);
    unsigned char *v = k ? realloc(h->v, (size_t)cap * h->row_bytes) : NULL;
    if (!k || !v) {
        fprintf(stderr, "relutil: out of host memory for a history of %d tokens\n", cap);
        exit(2);
    }
    h->k = k;
    h->v = v;
    h->cap = cap;
}

void rel_history_set(rel_history *h, int pos, const void *k_row, const void *v_row)
{
    if (pos < 0 || pos > h->len) {
        fprintf(stderr, "relutil: token %d set in a history of %d\n", pos, h->len);
        exit(2);
    }
    reserve(h, pos + 1);
    memcpy(h->k + (size_t)pos * h->row_bytes, k_row, h->row_bytes);
    memcpy(h->v + (size_t)pos * h->row_bytes, v_row, h->row_bytes);
    h->len = pos + 1;
}

void rel_history_truncate(rel_history *h, int len)
{
    if (len < h->len)
        h->len = len < 0 ? 0 : len;
}

void rel_history_copy(rel_history *dst, const rel_history *src)
{
    dst->row_bytes = src->row_bytes;
    dst->len = 0;
    reserve(dst, src->len);
    if (src->len) {
        memcpy(dst->k, src->k, (size_t)src->len * src->row_bytes);
        memcpy(dst->v, src->v, (size_t)src->len * src->row_bytes);
    }
    dst->len = src->len;
}

/* rotate-half RoPE of one head row in place, angle pos * theta^(-2d/head_dim)
 * with the frequency rounded to float first, as the library defines it */
static void rope_rotate(float *x, int head_dim, double theta, int64_t pos)
{
    for (int d = 0; d < head_dim / 2; d++) {
        const double f = (float)pow(theta, -2.0 * d / head_dim);
        const double a = (double)pos * f, c = cos(a), s = sin(a);
        const double x1 = x[d], x2 = x[d + head_dim / 2];
        x[d] = (float)(x1 * c - x2 * s);
        x[d + head_dim / 2] = (float)(x2 * c + x1 * s);
    }
}

static void widen(const void *src, float *dst, size_t n, swacl_dtype t)
{
    for (size_t e = 0; e < n; e++)
        dst[e] = t == SWACL_F16 ? swacl_f16_to_f32(((const uint16_t *)src)[e])
                                : ((const float *)src)[e];
}

swacl_status rel_expected_row(const swacl_attn_config *cfg, const rel_history *h,
                              const void *q_row, void *out_row)
{
    const int n = h->len, hd = cfg->head_dim;
    const size_t es = elem_size(cfg->dtype);
    const size_t q_elems = (size_t)cfg->n_heads * hd, kv_elems = h->row_bytes / es;
    if (n <= 0)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_attn_config plain = *cfg;
    plain.rope = SWACL_ROPE_NONE;
    plain.rope_theta = 0.0f;
    swacl_status s;

    if (cfg->rope != SWACL_ROPE_IN_CACHE) {
        /* every row asks the last query's question; only the last row is kept */
        unsigned char *q = xmalloc((size_t)n * q_elems * es), *out = xmalloc((size_t)n * q_elems * es);
        for (int t = 0; t < n; t++)
            memcpy(q + (size_t)t * q_elems * es, q_row, q_elems * es);
        s = swacl_reference_attention(&plain, n, q, h->k, h->v, out);
        if (s == SWACL_OK)
            memcpy(out_row, out + (size_t)(n - 1) * q_elems * es, q_elems * es);
        free(q);
        free(out);
        return s;
    }

    /* StreamingLLM positions inside the cache: sinks keep their own, the rest
       sit where they are after the evicted tokens were dropped */
    const int64_t i = n - 1;
    const int64_t span = cfg->window == 0 ? INT64_MAX / 2
                                          : (int64_t)cfg->window * (cfg->dilation > 1 ? cfg->dilation : 1);
    const int64_t sinks = cfg->window == 0 ? 0 : cfg->n_sink;
    int64_t evicted = i + 1 - sinks - span;
    if (evicted < 0)
        evicted = 0;
    const double theta = cfg->rope_theta > 0.0f ? cfg->rope_theta : 10000.0;
    float *q = xmalloc((size_t)n * q_elems * sizeof(float));
    float *k = xmalloc((size_t)n * kv_elems * sizeof(float));
    float *v = xmalloc((size_t)n * kv_elems * sizeof(float));
    float *out = xmalloc((size_t)n * q_elems * sizeof(float));
    widen(h->k, k, (size_t)n * kv_elems, cfg->dtype);
    widen(h->v, v, (size_t)n * kv_elems, cfg->dtype);
    widen(q_row, q, q_elems, cfg->dtype);
    for (size_t e = 0; e < q_elems; e += (size_t)hd)
        rope_rotate(q + e, hd, theta, i - evicted);
    for (int t = 1; t < n; t++)
        memcpy(q + (size_t)t * q_elems, q, q_elems * sizeof(float));
    for (int64_t j = 0; j < n; j++)
        for (size_t e = 0; e < kv_elems; e += (size_t)hd)
            rope_rotate(k + (size_t)j * kv_elems + e, hd, theta, j < sinks ? j : j - evicted);
    plain.dtype = SWACL_F32;
    plain.kv_dtype = SWACL_F32;
    s = swacl_reference_attention(&plain, n, q, k, v, out);
    if (s == SWACL_OK) {
        const float *last = out + (size_t)(n - 1) * q_elems;
        for (size_t e = 0; e < q_elems; e++) {
            if (cfg->dtype == SWACL_F16)
                ((uint16_t *)out_row)[e] = swacl_f32_to_f16(last[e]);
            else
                ((float *)out_row)[e] = last[e];
        }
    }
    free(q);
    free(k);
    free(v);
    free(out);
    return s;
}

double rel_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void rel_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
