/* check.c — verification before timing: small instances of a configuration,
 * reproducible inputs, the library's float64 reference, and the tests' tolerance rule. */
#include "bench.h"
#include "tolerance.h" /* the tests' rule, in one place */

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Reference work (useful FLOPs) one instance may cost: the reference is a
 * plain float64 loop, and a configuration checks up to 2 instances on each of
 * 3 paths, so this keeps every check well under a second on a laptop CPU. */
#define CHECK_BUDGET_OPS 3e8
/* the window of the reduced instance: small enough for a cheap reference,
 * large enough for band edges inside a tile and several ring wrap-arounds */
#define CHECK_WINDOW 32

int check_affordable(const swacl_attn_config *cfg, int n)
{
    return prof_attention_flops(cfg, prof_visible_pairs(cfg, 0, n, n)) <= CHECK_BUDGET_OPS;
}

int check_instances(const swacl_attn_config *cfg, check_instance out[2])
{
    int count = 0, reach = prof_reach(cfg);
    check_instance *exact = &out[count++];
    exact->cfg = *cfg;
    /* the exact configuration past its first window when the reference can afford it */
    int n = reach > 0 ? 2 * reach + cfg->n_sink + 37 : 109;
    exact->n = check_affordable(cfg, n) ? n : 109;
    exact->chunk = reach > 0 && exact->n > reach ? reach : (exact->n + 2) / 3;
    if (reach > CHECK_WINDOW * (cfg->dilation > 1 ? cfg->dilation : 1) &&
        exact->n <= 2 * reach) {
        /* the same band logic on a window the reference affords many times over */
        check_instance *small = &out[count++];
        small->cfg = *cfg;
        small->cfg.window = CHECK_WINDOW;
        int r = prof_reach(&small->cfg);
        small->n = 3 * r + cfg->n_sink + 11;
        small->chunk = r;
    }
    return count;
}

void check_describe(const check_instance *inst, int n_inst, const char *extra, char *buf,
                    size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n_inst && used < size; ++i)
        used += (size_t)snprintf(buf + used, size - used, "%sn=%d W=%d chunk=%d", i ? "; " : "",
                                 inst[i].n, inst[i].cfg.window, inst[i].chunk);
    if (extra && used < size)
        snprintf(buf + used, size - used, " %s", extra);
}

void check_fill(float *x, size_t n, uint64_t *seed)
{
    for (size_t i = 0; i < n; ++i) {
        /* xorshift64*: fast and the same on every platform */
        *seed ^= *seed >> 12;
        *seed ^= *seed << 25;
        *seed ^= *seed >> 27;
        uint64_t r = *seed * 0x2545F4914F6CDD1DULL;
        x[i] = (float)((double)(r >> 40) / (double)(1ULL << 24)) * 2.0f - 1.0f;
    }
}

void check_case_alloc(const swacl_attn_config *cfg, int n, uint64_t seed, check_case *hc)
{
    hc->q = prof_xrealloc(NULL, bench_q_elems(cfg, n) * sizeof(float));
    hc->k = prof_xrealloc(NULL, bench_kv_elems(cfg, n) * sizeof(float));
    hc->v = prof_xrealloc(NULL, bench_kv_elems(cfg, n) * sizeof(float));
    hc->out = prof_xrealloc(NULL, bench_q_elems(cfg, n) * sizeof(float));
    check_fill(hc->q, bench_q_elems(cfg, n), &seed);
    check_fill(hc->k, bench_kv_elems(cfg, n), &seed);
    check_fill(hc->v, bench_kv_elems(cfg, n), &seed);
    memset(hc->out, 0xff, bench_q_elems(cfg, n) * sizeof(float)); /* NaN until written */
}

void check_case_free(check_case *hc) { free(hc->q), free(hc->k), free(hc->v), free(hc->out); }

void check_verify(check_result *r, const swacl_attn_config *cfg, int n, const float *q,
                  const float *k, const float *v, const float *got, int first)
{
    if (r->status != PROF_OK)
        return;
    size_t kv_n = bench_kv_elems(cfg, n), row = bench_q_elems(cfg, 1);
    swacl_attn_config fp32 = *cfg;
    fp32.dtype = fp32.kv_dtype = SWACL_F32;
    float *ref = prof_xrealloc(NULL, bench_q_elems(cfg, n) * sizeof *ref), *k16 = NULL, *v16 = NULL;
    if (cfg->kv_dtype == SWACL_F16) {
        k16 = prof_xrealloc(NULL, kv_n * sizeof *k16);
        v16 = prof_xrealloc(NULL, kv_n * sizeof *v16);
        for (size_t i = 0; i < kv_n; ++i) {
            k16[i] = swacl_f16_to_f32(swacl_f32_to_f16(k[i]));
            v16[i] = swacl_f16_to_f32(swacl_f32_to_f16(v[i]));
        }
    }
    double tol = swacl_tolerance(cfg->dtype, cfg->kv_dtype);
    if (swacl_reference_attention(&fp32, n, q, k16 ? k16 : k, v16 ? v16 : v, ref) != SWACL_OK)
        check_result_fail(r, PROF_ERROR, "swacl_reference_attention refused the configuration");
    for (size_t i = 0; r->status == PROF_OK && i < (size_t)(n - first) * row; ++i) {
        double want = ref[(size_t)first * row + i], e = fabs((double)got[i] - want);
        if (!(e <= r->max_err)) /* NaN wins */
            r->max_err = e;
        r->n_bad += !swacl_within_tolerance(got[i], want, tol);
    }
    free(ref), free(k16), free(v16);
}

/* ---- verdicts kept per configuration ---------------------------------------------- */

#define MEMO_SLOTS 64

static struct {
    char key[96];
    check_result result;
} memo[MEMO_SLOTS];
static int memo_used;

check_result *check_memo(const char *key)
{
    for (int i = 0; i < memo_used; ++i)
        if (strcmp(memo[i].key, key) == 0)
            return &memo[i].result;
    if (memo_used == MEMO_SLOTS)
        memo_used = 0; /* forget the oldest verdicts rather than grow: rows re-check */
    int i = memo_used++;
    prof_strlcpy(memo[i].key, key, sizeof memo[i].key);
    memset(&memo[i].result, 0, sizeof memo[i].result);
    return &memo[i].result;
}

void check_memo_clear(void) { memo_used = 0; }

int check_memo_apply(const check_result *r, prof_row *row)
{
    row->max_err = r->max_err;
    row->verified = r->status == PROF_OK;
    prof_strlcpy(row->check, r->check, sizeof row->check);
    if (r->status != PROF_OK) {
        prof_row_set_status(row, r->status, "%s", r->reason);
        return -1;
    }
    return 0;
}

void check_result_fail(check_result *r, prof_status st, const char *fmt, ...)
{
    va_list ap;
    r->status = st;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
}

void check_result_swacl(check_result *r, swacl_context *ctx, swacl_status st, const char *what)
{
    check_result_fail(r, st == SWACL_ERR_UNSUPPORTED ? PROF_UNSUPPORTED : PROF_ERROR, "%s: %s: %s",
                      what, swacl_status_string(st), ctx ? swacl_last_error(ctx) : "");
}

void check_result_conclude(check_result *r, const swacl_attn_config *cfg, const char *what)
{
    if (r->n_bad)
        check_result_fail(r, PROF_ERROR,
                          "verification failed (%s): %ld outputs off by more than "
                          "%.0e * (1 + |ref|), max |err| %.3g",
                          what, r->n_bad, swacl_tolerance(cfg->dtype, cfg->kv_dtype), r->max_err);
}
