/* relutil.c — host histories of cached sequences and the reference output of
 * their next query (see relutil.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "relutil.h"
#include "testutil.h"

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

swacl_status rel_expected_row(const swacl_attn_config *cfg, const rel_history *h,
                              const void *q_row, void *out_row)
{
    const int n = h->len;
    if (n <= 0)
        return SWACL_ERR_INVALID_ARGUMENT;
    /* the rows before the last ask nothing: only the last row's output is kept */
    const size_t q_bytes = (size_t)cfg->n_heads * cfg->head_dim * elem_size(cfg->dtype);
    unsigned char *q = xmalloc((size_t)n * q_bytes);
    memset(q, 0, (size_t)(n - 1) * q_bytes);
    memcpy(q + (size_t)(n - 1) * q_bytes, q_row, q_bytes);
    tu_cached_expected(cfg, n, q, h->k, h->v, n - 1, out_row);
    free(q);
    return SWACL_OK;
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
