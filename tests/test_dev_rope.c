/* test_dev_rope.c — the RoPE helper (swacl_rope_host and the cl_mem swacl_rope)
 * against the tests' RoPE model (tu_rope_row), over dtypes, head dims, thetas and
 * the range of positions. */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

typedef struct rope_case {
    swacl_dtype dtype;
    int n_tokens, n_heads, head_dim;
    float theta;
    int max_pos;
    tu_api api;
} rope_case;

static void rope_helper(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    static const rope_case cases[] = {
        {SWACL_F32, 33, 4, 64, 0.0f, 100000, TU_HOST},
        {SWACL_F32, 17, 2, 128, 500000.0f, 100000, TU_HOST},
        {SWACL_F32, 9, 3, 72, 100.0f, 100000, TU_HOST},
        {SWACL_F32, 40, 1, 64, 0.0f, 64, TU_HOST},
        {SWACL_F32, 20, 2, 128, 0.0f, 100000, TU_CL_MEM},
        {SWACL_F16, 33, 4, 64, 0.0f, 100000, TU_HOST},
        {SWACL_F16, 12, 2, 40, 10000.0f, 5000, TU_HOST},
        {SWACL_F16, 20, 2, 64, 0.0f, 100000, TU_CL_MEM},
    };
    tu_rng rng = tu_rng_seed(81);
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rope_case *c = &cases[i];
        char what[160];
        snprintf(what, sizeof what, "rope %s tokens=%d heads=%d hd=%d theta=%g max_pos=%d%s",
                 c->dtype == SWACL_F16 ? "f16" : "f32", c->n_tokens, c->n_heads, c->head_dim,
                 (double)c->theta, c->max_pos, c->api == TU_CL_MEM ? " cl_mem" : "");
        const size_t n = (size_t)c->n_tokens * c->n_heads * c->head_dim;
        const size_t bytes = n * tu_elem_size(c->dtype);
        int32_t *pos = malloc(c->n_tokens * sizeof *pos);
        unsigned char *x = tu_alloc_guarded(bytes), *want = malloc(bytes);
        assert_true(pos && want);
        tu_fill(&rng, x, n, c->dtype);
        /* both ends of the range, then anywhere in it */
        for (int t = 0; t < c->n_tokens; t++)
            pos[t] = t < 2 ? t : t == 2 ? c->max_pos : tu_rng_int(&rng, 0, c->max_pos);
        float *xf = tu_widen(x, n, c->dtype);
        for (int t = 0; t < c->n_tokens; t++)
            tu_rope_row(xf + (size_t)t * c->n_heads * c->head_dim, c->n_heads, c->head_dim,
                        c->theta, pos[t]);
        tu_narrow(xf, n, c->dtype, want);
        swacl_status st;
        if (c->api == TU_HOST) {
            st = swacl_rope_host(ctx, c->dtype, c->n_tokens, c->n_heads, c->head_dim, c->theta,
                                 pos, x);
        } else {
            cl_int e;
            cl_mem dx = clCreateBuffer(swacl_context_cl_context(ctx),
                                       CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                       bytes + TU_CANARY_BYTES, x, &e);
            assert_int_equal(e, CL_SUCCESS);
            st = swacl_rope(ctx, c->dtype, c->n_tokens, c->n_heads, c->head_dim, c->theta, pos, dx);
            if (st == SWACL_OK)
                st = swacl_finish(ctx);
            assert_int_equal(clEnqueueReadBuffer(swacl_context_cl_queue(ctx), dx, CL_TRUE, 0,
                                                 bytes + TU_CANARY_BYTES, x, 0, NULL, NULL),
                             CL_SUCCESS);
            clReleaseMemObject(dx);
        }
        int ok = st == SWACL_OK;
        if (!ok)
            printf("%s: %s: %s\n", what, swacl_status_string(st), swacl_last_error(ctx));
        else
            ok = tu_compare(x, want, n, c->dtype, tu_tolerance(c->dtype, c->dtype), what)
                         .n_bad == 0 &&
                 tu_canary_intact(x, bytes, what);
        failed += !ok;
        free(pos);
        free(x);
        free(want);
        free(xf);
    }
    fflush(stdout);
    if (failed)
        fail_msg("%d rope cases failed (above)", failed);
}

int main(void)
{
    const struct CMUnitTest rope[] = {
        cmocka_unit_test(rope_helper),
    };
    return tu_exit(cmocka_run_group_tests_name("rope_helper", rope, tu_open_group,
                                               tu_close_context));
}
