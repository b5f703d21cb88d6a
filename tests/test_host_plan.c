/* test_host_plan.c — parameter sets and launch plans (runtime/params.c and
 * plan.c) checked as pure functions of device capabilities and shapes; no
 * OpenCL device needed. */
#define _POSIX_C_SOURCE 200809L /* setenv, unsetenv */
#include "internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the value of -D<name>= in a build option string, or -1 */
static int opt_int(const char *options, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "-D%s=", name);
    const char *at = strstr(options, key);
    return at ? atoi(at + strlen(key)) : -1;
}

static swacl_caps caps_of(const char *set)
{
    swacl_caps c;
    assert_true(swacl_nominal_caps(set, &c));
    return c;
}

static swacl_attend_shape shape(int n_heads, int n_kv_heads, int head_dim, int n_rows,
                                int n_batch)
{
    swacl_attend_shape s = {.n_heads = n_heads, .n_kv_heads = n_kv_heads,
                            .head_dim = head_dim, .n_rows = n_rows, .n_batch = n_batch,
                            .reach = 4096, .has_ring = 1};
    return s;
}

static swacl_attend_plan plan_ok(const swacl_caps *c, const swacl_params *p,
                                 const swacl_attend_shape *sh)
{
    swacl_attend_plan pl;
    char msg[256];
    const swacl_status s = swacl_plan_attend(c, p, sh, &pl, msg, sizeof msg);
    if (s != SWACL_OK)
        fail_msg("plan failed: %s", msg);
    return pl;
}

/* ---- parameter sets ---------------------------------------------------------------- */

static void table_matches_vendor_then_type(void **state)
{
    (void)state;
    /* NVIDIA's tiles are for NVIDIA's own driver; LLVM-based drivers on the same GPUs
       (PoCL's CUDA device) take the generic set */
    static const struct {
        swacl_devtype type;
        const char *vendor, *platform, *want;
    } rows[] = {
        {SWACL_DEV_GPU, "NVIDIA Corporation", "NVIDIA CUDA", "gpu-nvidia"},
        {SWACL_DEV_GPU, "NVIDIA Corporation", "Portable Computing Language", "gpu"},
        {SWACL_DEV_GPU, "Advanced Micro Devices, Inc.", "AMD Accelerated Parallel Processing",
         "gpu-amd"},
        {SWACL_DEV_GPU, "Intel(R) Corporation", "Intel(R) OpenCL Graphics", "gpu-intel"},
        {SWACL_DEV_GPU, "Mesa", "rusticl", "gpu"},
        {SWACL_DEV_CPU, "GenuineIntel", "Portable Computing Language", "cpu"},
        {SWACL_DEV_ACCEL, "Someone", "Something", "generic"},
    };
    unsetenv("SWACL_PARAMS");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        swacl_caps c;
        memset(&c, 0, sizeof c);
        c.type = rows[i].type;
        snprintf(c.vendor, sizeof c.vendor, "%s", rows[i].vendor);
        snprintf(c.name, sizeof c.name, "some device");
        snprintf(c.platform_name, sizeof c.platform_name, "%s", rows[i].platform);
        const swacl_params p = swacl_params_for(&c);
        assert_string_equal(p.name, rows[i].want);
        assert_int_equal(p.tiled, rows[i].type == SWACL_DEV_GPU);
    }
}

static void override_names_a_set_then_refines_it(void **state)
{
    (void)state;
    swacl_caps c = caps_of("cpu");
    setenv("SWACL_PARAMS", "set=gpu-nvidia", 1);
    swacl_params p = swacl_params_for(&c);
    assert_string_equal(p.name, "gpu-nvidia"); /* the whole set, nothing changed */
    assert_int_equal(p.tiled, 1);
    assert_int_equal(p.stream_decode, 0);

    /* keys before or after set= refine the set, whatever their order */
    setenv("SWACL_PARAMS", "block_n=16,set=gpu-nvidia,wg_n=8", 1);
    p = swacl_params_for(&c);
    assert_string_equal(p.name, "override");
    assert_int_equal(p.tiled, 1);
    assert_int_equal(p.block_n, 16);
    assert_int_equal(p.wg_n, 8);
    assert_int_equal(p.block_m, swacl_params_named("gpu-nvidia")->block_m);

    /* unknown sets, keys and bad values change nothing */
    setenv("SWACL_PARAMS", "set=nonesuch,frobnicate=3,vec=5,wg_m=3,block_m=-2", 1);
    p = swacl_params_for(&c);
    const swacl_params *cpu = swacl_params_named("cpu");
    assert_int_equal(p.vec, cpu->vec);
    assert_int_equal(p.block_m, cpu->block_m);
    assert_int_equal(p.tiled, 0);
    unsetenv("SWACL_PARAMS");
}

/* ---- plans ------------------------------------------------------------------------- */

/* what every attend_tiled plan must hold for the kernel to be well formed */
static void check_tiled(const swacl_caps *c, const swacl_attend_shape *sh,
                        const swacl_attend_plan *pl)
{
    const int bm = opt_int(pl->options, "BLOCK_M"), bn = opt_int(pl->options, "BLOCK_N");
    const int wm = opt_int(pl->options, "WG_M"), wn = opt_int(pl->options, "WG_N");
    const int dvec = opt_int(pl->options, "DVEC");
    assert_string_equal(pl->kernel, "attend_tiled");
    assert_int_equal(opt_int(pl->options, "TILED"), 1);
    assert_true(wm >= 1 && wn >= 1 && bm % wm == 0 && bn % wn == 0);
    assert_true(dvec == 1 || dvec == 2 || dvec == 4);
    assert_int_equal(sh->head_dim % (wn * dvec), 0);
    assert_int_equal(pl->local[0], (size_t)(wm * wn));
    assert_true(pl->local[0] <= (size_t)c->max_wg_size);
    assert_true(pl->local_bytes > 0 && pl->local_bytes <= c->local_mem);
    /* dilated, blocks go residue by residue (only residues that have rows) */
    const int dil = sh->dilated ? sh->dil : 1;
    const int n_res = sh->n_rows < dil ? sh->n_rows : dil;
    const long rows = (long)((sh->n_rows + dil - 1) / dil) * (sh->n_heads / sh->n_kv_heads);
    assert_int_equal(pl->global[0], (size_t)n_res * ((rows + bm - 1) / bm) * pl->local[0]);
    assert_int_equal(pl->global[1], (size_t)sh->n_kv_heads);
    assert_int_equal(pl->global[2], (size_t)sh->n_batch * pl->n_split);
    /* no more rows per work-group than the work needs, rounded to a power of 2 */
    assert_true(bm <= wm || bm < 2 * rows);
}

static void tiled_plans_fit_every_head_dim_and_group(void **state)
{
    (void)state;
    static const char *sets[] = {"gpu-nvidia", "gpu-amd", "gpu-intel", "gpu"};
    static const int groups[] = {1, 2, 3, 4, 8, 32};
    static const int rows[] = {1, 7, 64, 4096};
    int n = 0;
    for (size_t s = 0; s < sizeof sets / sizeof *sets; s++) {
        swacl_caps c = caps_of(sets[s]);
        const swacl_params *p = swacl_params_named(sets[s]);
        for (int small = 0; small < 2; small++) {
            /* and a device with 32 KiB of local memory and 256 work-items (llvmpipe) */
            if (small) {
                c.local_mem = 32 << 10;
                c.max_wg_size = 256;
            }
            for (int hd = 32; hd <= 256; hd += 8)
                for (size_t g = 0; g < sizeof groups / sizeof *groups; g++)
                    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
                        const swacl_attend_shape sh =
                            shape(2 * groups[g], 2, hd, rows[r], 3);
                        const swacl_attend_plan pl = plan_ok(&c, p, &sh);
                        check_tiled(&c, &sh, &pl);
                        n++;
                    }
        }
    }
    assert_int_equal(n, 4 * 2 * 29 * 6 * 4);
}

static void tiled_prefill_of_mistral_on_nvidia(void **state)
{
    (void)state;
    const swacl_caps c = caps_of("gpu-nvidia");
    const swacl_params *p = swacl_params_named("gpu-nvidia");
    const swacl_attend_shape sh = shape(32, 8, 128, 4096, 1);
    const swacl_attend_plan pl = plan_ok(&c, p, &sh);
    check_tiled(&c, &sh, &pl);
    /* the table's tiles fit NVIDIA's 48 KiB as they are */
    assert_int_equal(pl.block_m, p->block_m);
    assert_int_equal(pl.block_n, p->block_n);
    assert_int_equal(pl.n_split, 1);
    /* head_dim 256 needs smaller tiles there */
    const swacl_attend_shape big = shape(8, 1, 256, 4096, 1);
    const swacl_attend_plan pb = plan_ok(&c, p, &big);
    check_tiled(&c, &big, &pb);
    assert_true(pb.block_m * pb.block_n < p->block_m * p->block_n);
}

static void decode_splits_fill_the_device_then_shrink(void **state)
{
    (void)state;
    const swacl_caps c = caps_of("gpu-nvidia");
    const swacl_params *p = swacl_params_named("gpu-nvidia");
    int last = 1 << 30;
    for (int batch = 1; batch <= 512; batch *= 2) {
        const swacl_attend_shape sh = shape(32, 8, 128, 1, batch);
        const swacl_attend_plan pl = plan_ok(&c, p, &sh);
        check_tiled(&c, &sh, &pl);
        assert_int_equal(opt_int(pl.options, "BLOCK_M"), 4); /* the G heads of a kv head */
        assert_true(pl.n_split <= last);
        assert_int_equal(pl.n_split & (pl.n_split - 1), 0); /* balanced: a power of two */
        last = pl.n_split;
        if (batch == 1) /* as many splits as the keys allow (4096 / split_keys) */
            assert_int_equal(pl.n_split, 4096 / p->decode_keys_per_split);
        if ((long)batch * 8 >= (long)c.compute_units * 8)
            assert_int_equal(pl.n_split, 1); /* the batch alone fills the device */
    }
}

static void cpu_sets_keep_their_kernels(void **state)
{
    (void)state;
    const swacl_caps c = caps_of("cpu");
    const swacl_params *p = swacl_params_named("cpu");
    swacl_attend_shape sh = shape(32, 8, 128, 1, 8);
    swacl_attend_plan pl = plan_ok(&c, p, &sh);
    assert_string_equal(pl.kernel, "attend_decode");
    assert_int_equal(pl.appends, 1);
    assert_int_equal(opt_int(pl.options, "TILED"), -1);
    sh = shape(8, 2, 64, 4096, 1);
    pl = plan_ok(&c, p, &sh);
    assert_string_equal(pl.kernel, "attend");
    assert_int_equal(pl.appends, 0);
    assert_int_equal(opt_int(pl.options, "CONTIGUOUS"), 1);
}

/* attend's work-items take rows_per_item query heads, shrunk to divide G; the
   work-group and grid shrink with them, and with several rows vectors are the
   CPU's SIMD width */
static void cpu_rows_per_item_divide_the_group(void **state)
{
    (void)state;
    swacl_caps c = caps_of("cpu");
    const swacl_params *p = swacl_params_named("cpu");
    static const struct {
        int heads, kv, rpi;
    } cases[] = {{32, 8, 4}, {8, 1, 4}, {6, 1, 2}, {12, 4, 1}, {4, 4, 1}, {16, 2, 4}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const swacl_attend_shape sh = shape(cases[i].heads, cases[i].kv, 128, 512, 2);
        const swacl_attend_plan pl = plan_ok(&c, p, &sh);
        const int g = cases[i].heads / cases[i].kv;
        assert_string_equal(pl.kernel, "attend");
        assert_int_equal(opt_int(pl.options, "ROWS_PER_ITEM"), cases[i].rpi);
        assert_int_equal(pl.local[1], (size_t)(g / cases[i].rpi));
        assert_int_equal(pl.global[1], (size_t)(cases[i].heads / cases[i].rpi));
        assert_int_equal(pl.global[0] % pl.local[0], 0);
        /* several rows per item: one SIMD register per vector; one row: the set's */
        assert_int_equal(opt_int(pl.options, "VEC"), cases[i].rpi > 1 ? c.vec_width : p->vec);
    }
    /* AVX-512 takes 16-wide vectors; decode keeps the set's width whatever the SIMD */
    c.vec_width = 16;
    swacl_attend_shape sh = shape(32, 8, 128, 512, 1);
    assert_int_equal(opt_int(plan_ok(&c, p, &sh).options, "VEC"), 16);
    c.vec_width = 4;
    assert_int_equal(opt_int(plan_ok(&c, p, &sh).options, "VEC"), 4);
    sh = shape(32, 8, 128, 1, 1);
    assert_int_equal(opt_int(plan_ok(&c, p, &sh).options, "VEC"), p->vec);
    assert_int_equal(opt_int(plan_ok(&c, p, &sh).options, "ROWS_PER_ITEM"), 1);
}

/* attend's query blocks grow with the keys a query sees, up to the set's
   block_m: sqrt(8 w) rounded down to a power of two; dilated, w is per residue,
   and the grid holds dil residues of blocks */
static void cpu_query_blocks_follow_the_window(void **state)
{
    (void)state;
    const swacl_caps c = caps_of("cpu");
    const swacl_params *p = swacl_params_named("cpu");
    static const struct {
        long reach;
        int dil, block_m;
    } cases[] = {{512, 1, 64}, {4096, 1, 128}, {128, 1, 32}, {2048, 4, 64}, {1 << 20, 1, 128},
                 {8, 1, 8}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        swacl_attend_shape sh = shape(8, 2, 64, 4096, 1);
        sh.reach = cases[i].reach;
        sh.dilated = cases[i].dil > 1;
        sh.dil = cases[i].dil;
        const swacl_attend_plan pl = plan_ok(&c, p, &sh);
        assert_int_equal(opt_int(pl.options, "BLOCK_M"), cases[i].block_m);
        assert_int_equal(pl.local[0], (size_t)cases[i].block_m);
        const int rows_res = (4096 + cases[i].dil - 1) / cases[i].dil;
        assert_int_equal(pl.global[0], (size_t)cases[i].dil *
                                           ((rows_res + cases[i].block_m - 1) / cases[i].block_m) *
                                           cases[i].block_m);
    }
    assert_true(p->block_m >= 128);
}

/* dilated, a block's queries share a residue modulo dil, on both kernels: the
   grid holds a run of blocks per residue that has rows, and a decode-sized call
   (fewer rows than dil) launches no block for residues without any */
static void dilated_grids_go_residue_by_residue(void **state)
{
    (void)state;
    static const char *const sets[] = {"cpu", "gpu-nvidia"};
    static const int n_rows[] = {4096, 37, 3, 1}, dils[] = {2, 3, 8};
    for (size_t s = 0; s < sizeof sets / sizeof *sets; s++) {
        const swacl_caps c = caps_of(sets[s]);
        swacl_params p = *swacl_params_named(sets[s]);
        p.stream_decode = 0; /* one-row calls through attend too */
        for (size_t r = 0; r < sizeof n_rows / sizeof *n_rows; r++)
            for (size_t d = 0; d < sizeof dils / sizeof *dils; d++) {
                swacl_attend_shape sh = shape(8, 2, 64, n_rows[r], 1);
                sh.dilated = 1;
                sh.dil = dils[d];
                sh.reach = 512L * dils[d];
                const swacl_attend_plan pl = plan_ok(&c, &p, &sh);
                const int n_res = n_rows[r] < dils[d] ? n_rows[r] : dils[d];
                const int per_res = (n_rows[r] + dils[d] - 1) / dils[d];
                if (p.tiled) {
                    check_tiled(&c, &sh, &pl);
                } else {
                    const int bm = opt_int(pl.options, "BLOCK_M");
                    assert_int_equal(pl.global[0],
                                     (size_t)n_res * ((per_res + bm - 1) / bm) * bm);
                }
                assert_true(pl.global[0] / pl.local[0] >= (size_t)n_res);
            }
    }
}

static void too_little_local_memory_is_unsupported(void **state)
{
    (void)state;
    swacl_caps c = caps_of("gpu-nvidia");
    c.local_mem = 4 << 10;
    const swacl_attend_shape sh = shape(8, 1, 256, 64, 1);
    swacl_attend_plan pl;
    char msg[256];
    assert_int_equal(swacl_plan_attend(&c, swacl_params_named("gpu-nvidia"), &sh, &pl, msg,
                                       sizeof msg),
                     SWACL_ERR_UNSUPPORTED);
    assert_non_null(strstr(msg, "local memory"));
}

/* ---- the variant list swacl-info prints ---------------------------------------------- */

typedef struct seen {
    int n, tiled, merge, append, hd[257];
    char lines[512][700];
} seen;

static void collect(const char *file, const char *kernel, const char *options, void *user)
{
    seen *s = user;
    char line[700];
    snprintf(line, sizeof line, "%s %s %s", file, kernel, options);
    for (int i = 0; i < s->n && i < 512; i++)
        if (!strcmp(s->lines[i], line))
            fail_msg("variant listed twice: %s", line);
    if (s->n < 512)
        snprintf(s->lines[s->n], sizeof s->lines[0], "%s", line);
    s->n++;
    s->tiled += !strcmp(kernel, "attend_tiled");
    s->merge += !strcmp(kernel, "attend_merge");
    s->append += !strcmp(kernel, "append");
    const int hd = opt_int(options, "HEAD_DIM");
    if (hd >= 0 && hd <= 256)
        s->hd[hd] = 1;
    assert_null(strstr(kernel, "attend_decode")); /* GPUs never stream */
    assert_true(!strcmp(kernel, "append") || opt_int(options, "TILED") == 1);
}

static void variants_cover_head_dims_dtypes_and_features(void **state)
{
    (void)state;
    seen *s = calloc(1, sizeof *s);
    assert_non_null(s);
    assert_int_equal(swacl_kernel_variants("gpu-nvidia", collect, s), 0);
    assert_true(s->hd[64] && s->hd[80] && s->hd[128] && s->hd[256]);
    /* 4 head dims x (3 dtype pairs + 4 features), prefill and decode tiles apart */
    assert_true(s->tiled >= 4 * 7 * 2);
    assert_int_equal(s->merge, 4 * 3);
    assert_int_equal(s->append, 4 * 3);
    assert_int_equal(swacl_kernel_variants("no-such-set", collect, s), -1);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_matches_vendor_then_type),
        cmocka_unit_test(override_names_a_set_then_refines_it),
        cmocka_unit_test(tiled_plans_fit_every_head_dim_and_group),
        cmocka_unit_test(tiled_prefill_of_mistral_on_nvidia),
        cmocka_unit_test(decode_splits_fill_the_device_then_shrink),
        cmocka_unit_test(cpu_sets_keep_their_kernels),
        cmocka_unit_test(cpu_rows_per_item_divide_the_group),
        cmocka_unit_test(cpu_query_blocks_follow_the_window),
        cmocka_unit_test(dilated_grids_go_residue_by_residue),
        cmocka_unit_test(too_little_local_memory_is_unsupported),
        cmocka_unit_test(variants_cover_head_dims_dtypes_and_features),
    };
    return cmocka_run_group_tests_name("plans", tests, NULL, NULL);
}
