/* test_prof_memory.c — the memory planner against hand-computed bytes, the
 * receptive field, count parsing, and the workload model's visible-pair counts
 * against a brute-force walk of docs/design.md §1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "prof.h"

#include <string.h>

static uint64_t kv_bytes(const char *model, int full, int64_t context)
{
    prof_model m;
    uint64_t bytes = 0;
    assert_int_equal(prof_model_preset(model, &m), 0);
    assert_int_equal(prof_model_kv_bytes(&m, full, context, &bytes), SWACL_OK);
    return bytes;
}

/* Figures worked by hand: layers x 2 (K and V) x kv_heads x head_dim x slots x
 * 2 bytes (fp16), an SWA layer holding W slots, a full one the context; gpt-oss
 * adds its learned sink logits, n_heads floats per layer. */
static void test_planner_bytes(void **state)
{
    (void)state;
    const uint64_t MiB = 1024 * 1024;
    /* Mistral 7B: 32 x 2 x 8 x 128 x 4096 x 2 = 512 MiB, whatever the context */
    assert_true(kv_bytes("mistral-7b", 0, 32768) == 512 * MiB);
    assert_true(kv_bytes("mistral-7b", 0, 1048576) == 512 * MiB);
    assert_true(kv_bytes("mistral-7b", 1, 32768) == 4096 * MiB);
    assert_true(kv_bytes("mistral-7b", 1, 1048576) == 137438953472ULL);
    assert_true(kv_bytes("mixtral-8x7b", 0, 131072) == 512 * MiB);
    /* Gemma 2 9B at 8K: 21 local layers x 2 x 8 x 256 x 4096 x 2 + 21 global x ... x 8192 x 2 */
    assert_true(kv_bytes("gemma2-9b", 0, 8192) == 704643072ULL + 1409286144ULL);
    assert_true(kv_bytes("gemma2-9b", 1, 8192) == 2818572288ULL);
    /* gpt-oss 20B at 128K: 12 x 2 x 8 x 64 x 128 x 2 + 12 x 2 x 8 x 64 x 131072 x 2 + 24 x 64 x 4 */
    assert_true(kv_bytes("gpt-oss-20b", 0, 131072) == 3145728ULL + 3221225472ULL + 6144ULL);
    assert_true(kv_bytes("gpt-oss-20b", 1, 131072) == 6442450944ULL + 6144ULL);

    /* a custom fp32 model with sinks and dilation: 4 x 2 x 2 x 32 x (4 + 16 x 2) x 4 */
    prof_model m;
    memset(&m, 0, sizeof m);
    m.n_layers = 4;
    m.n_heads = 4;
    m.n_kv_heads = 2;
    m.head_dim = 32;
    m.window = 16;
    m.n_sink = 4;
    m.dilation = 2;
    m.kv_dtype = SWACL_F32;
    uint64_t bytes;
    assert_int_equal(prof_model_kv_bytes(&m, 0, 1000, &bytes), SWACL_OK);
    assert_true(bytes == 4ULL * 2 * 2 * 32 * (4 + 16 * 2) * 4);
    assert_int_not_equal(prof_model_kv_bytes(&m, 0, 0, &bytes), SWACL_OK);
}

static void test_receptive_field(void **state)
{
    (void)state;
    prof_model m;
    assert_int_equal(prof_model_preset("mistral-7b", &m), 0);
    assert_true(prof_model_receptive_field(&m, 1048576) == 32 * 4095 + 1);
    assert_true(prof_model_receptive_field(&m, 8192) == 8192);
    assert_int_equal(prof_model_preset("gemma2-9b", &m), 0);
    assert_true(prof_model_receptive_field(&m, 1048576) == 1048576);
    assert_int_equal(prof_model_preset("nonesuch", &m), -1);
}

static void test_parse_count(void **state)
{
    (void)state;
    assert_true(prof_parse_count("1K") == 1024);
    assert_true(prof_parse_count("128k") == 131072);
    assert_true(prof_parse_count("1M") == 1048576);
    assert_true(prof_parse_count("4096") == 4096);
    assert_true(prof_parse_count("1X") == -1);
    assert_true(prof_parse_count("") == -1);
    assert_true(prof_parse_count("-5") == -1);
}

static void test_memory_table(void **state)
{
    (void)state;
    prof_model m;
    assert_int_equal(prof_model_preset("mistral-7b", &m), 0);
    const int64_t contexts[] = {8192, 32768};
    FILE *f = tmpfile();
    assert_int_equal(prof_memory_print(&m, 1, contexts, 2, f), 0);
    long len = ftell(f);
    rewind(f);
    char text[4096];
    assert_true(len > 0 && (size_t)len < sizeof text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    fclose(f);
    assert_non_null(strstr(text, "512 MiB"));
    assert_non_null(strstr(text, "4.0 GiB"));
    assert_non_null(strstr(text, "0.125"));
    assert_non_null(strstr(text, "32K"));
}

/* keys visible to query i, walked one by one from the rules of §1 */
static int64_t brute_visible(const swacl_attn_config *c, int64_t i, int64_t n)
{
    int64_t count = 0, d = c->dilation > 1 ? c->dilation : 1;
    for (int64_t j = 0; j < n; ++j) {
        int vis;
        if (c->bidirectional)
            vis = j < c->n_sink || c->window == 0 || (i > j ? i - j : j - i) < c->window;
        else
            vis = j <= i && (c->window == 0 || j < c->n_sink ||
                             ((i - j) < c->window * d && (i - j) % d == 0));
        count += vis;
    }
    return count;
}

static void test_visible_pairs(void **state)
{
    (void)state;
    static const struct {
        int window, n_sink, dilation, bidirectional;
    } cases[] = {
        {1, 0, 0, 0}, {7, 0, 0, 0}, {64, 0, 0, 0}, {500, 0, 0, 0}, {0, 0, 0, 0},
        {7, 3, 0, 0}, {1, 4, 0, 0}, {5, 12, 0, 0}, {7, 0, 3, 0}, {6, 5, 2, 0},
        {4, 0, 0, 1}, {4, 3, 0, 1}, {0, 0, 0, 1}, {100, 0, 0, 1},
    };
    const int64_t n = 97;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k) {
        swacl_attn_config c;
        memset(&c, 0, sizeof c);
        c.n_heads = c.n_kv_heads = 1;
        c.head_dim = 32;
        c.window = cases[k].window;
        c.n_sink = cases[k].n_sink;
        c.dilation = cases[k].dilation;
        c.bidirectional = cases[k].bidirectional;
        double total = 0;
        for (int64_t i = 0; i < n; ++i) {
            int64_t want = brute_visible(&c, i, n);
            if (prof_visible_keys(&c, i, n) != want)
                fail_msg("case %zu, i=%lld: %lld keys, walk says %lld", k, (long long)i,
                         (long long)prof_visible_keys(&c, i, n), (long long)want);
            total += (double)want;
        }
        assert_true(prof_visible_pairs(&c, 0, n, n) == total);
        assert_true(prof_attention_flops(&c, total) == 4.0 * 32 * total);
    }
}

static void test_shapes(void **state)
{
    (void)state;
    prof_shape s;
    char err[256];
    assert_int_equal(prof_shape_parse("laptop", &s, err, sizeof err), 0);
    assert_int_equal(s.n_heads, 8);
    assert_int_equal(s.window, 512);
    assert_int_equal(prof_shape_parse("mine:16/4/96/1024", &s, err, sizeof err), 0);
    assert_string_equal(s.name, "mine");
    assert_int_equal(s.n_kv_heads, 4);
    assert_int_equal(s.head_dim, 96);
    assert_int_equal(prof_shape_parse("bad:16/5/96/1024", &s, err, sizeof err), -1);
    assert_int_equal(prof_shape_parse("bad:16/4/96", &s, err, sizeof err), -1);
    assert_int_equal(prof_shape_parse("bad:16/4/96/8x", &s, err, sizeof err), -1);
    assert_int_equal(prof_shape_parse("nonesuch", &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "laptop"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planner_bytes), cmocka_unit_test(test_receptive_field),
        cmocka_unit_test(test_parse_count),   cmocka_unit_test(test_memory_table),
        cmocka_unit_test(test_visible_pairs), cmocka_unit_test(test_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
