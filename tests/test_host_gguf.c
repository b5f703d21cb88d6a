/* test_host_gguf.c — the GGUF reader and dequantisation (tools/run): files assembled
 * here byte by byte parse into the right key/values and tensors; every truncation,
 * a wrong magic or version, unknown types, misaligned or out-of-bounds tensors are
 * refused with a reason (and random corruption never crashes: ASan runs this too);
 * each block format dequantises to the values the gguf Python package gives
 * (tests/data/quant_blocks.bin, tools/run/make_quant_fixtures.py). */
#define _POSIX_C_SOURCE 200809L /* mkstemp */
#include "gguf.h"
#include "quant.h"
#include "tokenizer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a tiny GGUF writer --------------------------------------------------------- */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(buf *b, const char *s)
{
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void pad_to(buf *b, size_t align)
{
    static const unsigned char zero[64] = {0};
    while (b->n % align)
        put(b, zero, 1);
}

/* a valid file: seven key/values of several types, then two tensors, F32 [4 x 2] and
   Q8_0 [64], the second ending the file; alignment 32 or (alignment64) 64 */
static buf sample_file(int alignment64)
{
    buf b = {0};
    put_u32(&b, 0x46554747u);
    put_u32(&b, 3);
    put_u64(&b, 2);                 /* tensors */
    put_u64(&b, alignment64 ? 8 : 7); /* key/values */
    put_str(&b, "general.architecture");
    put_u32(&b, GGUF_STRING);
    put_str(&b, "gemma3");
    put_str(&b, "gemma3.block_count");
    put_u32(&b, GGUF_U32);
    put_u32(&b, 18);
    put_str(&b, "gemma3.rope.freq_base");
    put_u32(&b, GGUF_F32);
    const float base = 1e6f;
    put(&b, &base, 4);
    put_str(&b, "some.flag");
    put_u32(&b, GGUF_BOOL);
    put(&b, "\1", 1);
    put_str(&b, "some.negative");
    put_u32(&b, GGUF_I8);
    put(&b, "\xfe", 1);
    put_str(&b, "tokenizer.ggml.tokens");
    put_u32(&b, GGUF_ARRAY);
    put_u32(&b, GGUF_STRING);
    put_u64(&b, 3);
    put_str(&b, "<pad>");
    put_str(&b, "");
    put_str(&b, "\xe2\x96\x81hello");
    put_str(&b, "nested");
    put_u32(&b, GGUF_ARRAY);
    put_u32(&b, GGUF_ARRAY);
    put_u64(&b, 2);
    for (int a = 0; a < 2; a++) {
        put_u32(&b, GGUF_U16);
        put_u64(&b, 2);
        const uint16_t v[2] = {(uint16_t)(7 + a), 9};
        put(&b, v, 4);
    }
    if (alignment64) {
        put_str(&b, "general.alignment");
        put_u32(&b, GGUF_U32);
        put_u32(&b, 64);
    }
    const size_t align = alignment64 ? 64 : 32;
    /* tensor infos */
    put_str(&b, "w");
    put_u32(&b, 2);
    put_u64(&b, 4);
    put_u64(&b, 2);
    put_u32(&b, GGML_F32);
    put_u64(&b, 0);
    put_str(&b, "q");
    put_u32(&b, 1);
    put_u64(&b, 64);
    put_u32(&b, GGML_Q8_0);
    put_u64(&b, align); /* 32 bytes of F32 data, then aligned */
    pad_to(&b, align);
    for (int i = 0; i < 8; i++) {
        const float x = (float)i - 3.5f;
        put(&b, &x, 4);
    }
    pad_to(&b, align);
    for (int blk = 0; blk < 2; blk++) { /* d = 0.5 (f16 0x3800), q = i - 16 */
        const uint16_t d = 0x3800;
        put(&b, &d, 2);
        for (int i = 0; i < 32; i++) {
            const int8_t q = (int8_t)(i - 16 + blk);
            put(&b, &q, 1);
        }
    }
    return b;
}

static void parses_keys_values_and_tensors(void **state)
{
    (void)state;
    for (int a64 = 0; a64 <= 1; a64++) {
        buf b = sample_file(a64);
        gguf_file f;
        char err[256];
        assert_int_equal(gguf_parse(b.p, b.n, &f, err, sizeof err), 0);
        assert_int_equal(f.version, 3);
        assert_int_equal(f.alignment, a64 ? 64 : 32);
        gguf_str s;
        assert_int_equal(gguf_get_str(&f, "general.architecture", &s), 0);
        assert_true(gguf_str_is(s, "gemma3"));
        int64_t n;
        assert_int_equal(gguf_get_int(&f, "gemma3.block_count", &n), 0);
        assert_int_equal(n, 18);
        assert_int_equal(gguf_get_int(&f, "some.negative", &n), 0);
        assert_int_equal(n, -2);
        assert_int_equal(gguf_get_int(&f, "some.flag", &n), 0);
        assert_int_equal(n, 1);
        double x;
        assert_int_equal(gguf_get_float(&f, "gemma3.rope.freq_base", &x), 0);
        assert_true(x == 1e6);
        assert_int_equal(gguf_get_float(&f, "gemma3.block_count", &x), -1); /* wrong type */
        assert_int_equal(gguf_get_int(&f, "missing", &n), -1);
        const gguf_kv *tok = gguf_find(&f, "tokenizer.ggml.tokens");
        assert_non_null(tok);
        assert_int_equal(tok->v.arr.n, 3);
        gguf_str words[3];
        assert_int_equal(gguf_array_strings(tok, words), 0);
        assert_true(gguf_str_is(words[0], "<pad>") && words[1].len == 0 &&
                    gguf_str_is(words[2], "\xe2\x96\x81hello"));
        const gguf_kv *nested = gguf_find(&f, "nested");
        assert_true(nested && nested->v.arr.type == GGUF_ARRAY && nested->v.arr.n == 2);
        assert_int_equal(gguf_array_strings(nested, words), -1);
        const gguf_tensor *w = gguf_find_tensor(&f, "w"), *q = gguf_find_tensor(&f, "q");
        assert_true(w && q && !gguf_find_tensor(&f, "x"));
        assert_true(w->n_dims == 2 && w->dims[0] == 4 && w->dims[1] == 2 && w->n_elems == 8);
        assert_true(q->n_elems == 64 && q->n_bytes == 68);
        assert_int_equal((const unsigned char *)q->data + q->n_bytes - b.p, b.n);
        float v[64];
        assert_int_equal(quant_dequantize(w->type, w->data, w->n_elems, v), 0);
        for (int i = 0; i < 8; i++)
            assert_true(v[i] == (float)i - 3.5f);
        assert_int_equal(quant_dequantize(q->type, q->data, q->n_elems, v), 0);
        for (int i = 0; i < 64; i++)
            assert_true(v[i] == 0.5f * (float)(i % 32 - 16 + i / 32));
        gguf_close(&f);
        free(b.p);
    }
}

/* every prefix of a valid file is refused with a reason; nothing is read past it */
static void every_truncation_is_refused(void **state)
{
    (void)state;
    buf b = sample_file(0);
    for (size_t n = 0; n < b.n; n++) {
        unsigned char *copy = malloc(n ? n : 1); /* exact size: ASan sees any overread */
        assert_non_null(copy);
        memcpy(copy, b.p, n);
        gguf_file f;
        char err[256] = "";
        if (gguf_parse(copy, n, &f, err, sizeof err) == 0)
            fail_msg("a file cut to %zu of %zu bytes parsed", n, b.n);
        assert_true(err[0] != '\0');
        free(copy);
    }
    free(b.p);
}

/* one field of the sample changed: the reason names what is wrong */
static void bad_fields_are_refused(void **state)
{
    (void)state;
    buf good = sample_file(0);
    /* offsets of fields in the sample (after the header and the key/values) */
    const gguf_file *none = NULL;
    (void)none;
    gguf_file f;
    char err[256];
    assert_int_equal(gguf_parse(good.p, good.n, &f, err, sizeof err), 0);
    const size_t w_info = (size_t)((const unsigned char *)f.tensors[0].name.ptr - good.p) - 8;
    const size_t q_info = (size_t)((const unsigned char *)f.tensors[1].name.ptr - good.p) - 8;
    gguf_close(&f);
    static const struct {
        const char *what, *says;
        int field; /* 0 magic, 1 version, 2 tensor count, 3 w n_dims, 4 w dim0, 5 q type,
                      6 q offset misaligned, 7 q offset past the end, 8 kv type, 9 w rows */
        uint64_t value;
    } cases[] = {
        {"wrong magic", "not a GGUF", 0, 0x46554748u},
        {"version 1", "version 1", 1, 1},
        {"huge tensor count", "cannot fit", 2, (uint64_t)1 << 60},
        {"five dimensions", "dimensions", 3, 5},
        {"a zero dimension", "bad dimension", 4, 0},
        {"unknown tensor type", "unknown type", 5, 99},
        {"misaligned offset", "not aligned", 6, 33},
        {"offset past the end", "past the end", 7, 1 << 20},
        {"unknown value type", "unknown value type", 8, 77},
        {"rows not whole blocks", "whole", 9, GGML_Q8_0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        buf b = {0};
        put(&b, good.p, good.n);
        const size_t w_dims = w_info + 8 + 1 + 4;             /* name "w", n_dims */
        const size_t w_type = w_dims + 16, q_dims = q_info + 8 + 1 + 4;
        const size_t q_type = q_dims + 8, q_off = q_type + 4;
        const uint32_t v32 = (uint32_t)cases[i].value;
        switch (cases[i].field) {
        case 0: memcpy(b.p, &v32, 4); break;
        case 1: memcpy(b.p + 4, &v32, 4); break;
        case 2: memcpy(b.p + 8, &cases[i].value, 8); break;
        case 3: memcpy(b.p + w_dims - 4, &v32, 4); break;
        case 4: memcpy(b.p + w_dims, &cases[i].value, 8); break;
        case 5: memcpy(b.p + q_type, &v32, 4); break;
        case 6: case 7: memcpy(b.p + q_off, &cases[i].value, 8); break;
        case 8: memcpy(b.p + 24 + 8 + strlen("general.architecture"), &v32, 4); break;
        case 9: memcpy(b.p + w_type, &v32, 4); break;
        }
        if (gguf_parse(b.p, b.n, &f, err, sizeof err) == 0)
            fail_msg("%s: parsed", cases[i].what);
        if (!strstr(err, cases[i].says))
            fail_msg("%s: reason \"%s\" does not say \"%s\"", cases[i].what, err, cases[i].says);
        free(b.p);
    }
    free(good.p);
}

/* random bytes flipped anywhere: refused or parsed, never a crash or an overread */
static void corruption_never_crashes(void **state)
{
    (void)state;
    buf good = sample_file(1);
    unsigned long long seed = 1;
    int refused = 0;
    for (int trial = 0; trial < 3000; trial++) {
        unsigned char *copy = malloc(good.n);
        assert_non_null(copy);
        memcpy(copy, good.p, good.n);
        for (int k = 0; k < 1 + trial % 4; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            copy[(seed >> 33) % good.n] ^= (unsigned char)(1u << ((seed >> 20) % 8));
        }
        gguf_file f;
        char err[256];
        if (gguf_parse(copy, good.n, &f, err, sizeof err) == 0) {
            for (uint64_t t = 0; t < f.n_tensors; t++) /* every tensor lies inside */
                assert_true((const unsigned char *)f.tensors[t].data + f.tensors[t].n_bytes <=
                            copy + good.n);
            gguf_close(&f);
        } else {
            refused++;
        }
        free(copy);
    }
    assert_true(refused > 0);
    free(good.p);
}

static void files_open_or_say_why(void **state)
{
    (void)state;
    gguf_file f;
    char err[512];
    assert_int_equal(gguf_open("/nonexistent/model.gguf", &f, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/model.gguf"));
    char path[] = "/tmp/swacl-gguf-XXXXXX";
    const int fd = mkstemp(path);
    assert_true(fd >= 0);
    buf b = sample_file(0);
    assert_int_equal(write(fd, b.p, b.n), (ssize_t)b.n);
    close(fd);
    assert_int_equal(gguf_open(path, &f, err, sizeof err), 0);
    assert_int_equal(f.n_tensors, 2);
    gguf_close(&f);
    /* a truncated copy on disk names the file and the reason */
    assert_int_equal(truncate(path, (off_t)(b.n - 1)), 0);
    assert_int_equal(gguf_open(path, &f, err, sizeof err), -1);
    assert_non_null(strstr(err, "past the end"));
    unlink(path);
    free(b.p);
}

/* ---- dequantisation against the gguf package's values ---------------------------- */

static void blocks_match_the_reference_values(void **state)
{
    (void)state;
    FILE *fp = fopen(SWACL_TEST_DATA "/quant_blocks.bin", "rb");
    assert_non_null(fp);
    int types = 0;
    uint32_t hdr[4];
    while (fread(hdr, 4, 4, fp) == 4) {
        const uint32_t type = hdr[0], n_blocks = hdr[1], bytes = hdr[2], elems = hdr[3];
        assert_int_equal(ggml_block_bytes(type), bytes);
        assert_int_equal(ggml_block_elems(type), elems);
        unsigned char *raw = malloc((size_t)n_blocks * bytes);
        float *want = malloc((size_t)n_blocks * elems * 4), *got = malloc((size_t)n_blocks * elems * 4);
        assert_true(raw && want && got);
        assert_int_equal(fread(raw, bytes, n_blocks, fp), n_blocks);
        assert_int_equal(fread(want, 4 * (size_t)elems, n_blocks, fp), n_blocks);
        assert_int_equal(quant_dequantize(type, raw, (uint64_t)n_blocks * elems, got), 0);
        for (size_t i = 0; i < (size_t)n_blocks * elems; i++)
            if (!(fabsf(got[i] - want[i]) <= 1e-6f * (1.0f + fabsf(want[i]))))
                fail_msg("%s value %zu: got %.9g, want %.9g", ggml_type_name(type), i, got[i],
                         want[i]);
        free(raw);
        free(want);
        free(got);
        types++;
    }
    fclose(fp);
    assert_int_equal(types, 6); /* F16 BF16 Q8_0 Q5_0 Q4_K Q6_K */
    float y[256];
    assert_int_equal(quant_dequantize(GGML_Q4_0, y, 32, y), -1);   /* not handled */
    assert_int_equal(quant_dequantize(GGML_Q4_K, y, 100, y), -1);  /* a partial block */
    assert_true(quant_half(0x3c00) == 1.0f && quant_half(0x0001) == ldexpf(1.0f, -24) &&
                isinf(quant_half(0xfc00)) && quant_half(0xfc00) < 0 && isnan(quant_half(0x7e00)));
}

/* ---- the tokenizer on a vocabulary of our own ------------------------------------------ */

#define SP "\xe2\x96\x81"

/* pieces, scores and types; ids are the order here. Byte pieces come last. */
static const struct {
    const char *piece;
    float score;
    int type;
} vocab[] = {
    {"<unk>", 0, TOK_UNKNOWN}, {"<bos>", 0, TOK_CONTROL}, {"<eos>", 0, TOK_CONTROL},
    {"<turn>", 0, TOK_CONTROL}, {SP, -1, TOK_NORMAL}, {"a", -2, TOK_NORMAL},
    {"b", -2, TOK_NORMAL}, {"c", -2, TOK_NORMAL}, {"ab", -5, TOK_NORMAL},
    {"bc", -3, TOK_NORMAL}, {SP "a", -4, TOK_NORMAL}, {"abc", -6, TOK_NORMAL},
    {SP "abc", -1.5f, TOK_NORMAL}, {"\n", -2, TOK_NORMAL}, {"d", -2, TOK_NORMAL},
    {"cd", -4, TOK_NORMAL},
};
enum { N_WORDS = sizeof vocab / sizeof vocab[0] };

static buf vocab_file(int space_prefix)
{
    buf b = {0};
    put_u32(&b, 0x46554747u);
    put_u32(&b, 3);
    put_u64(&b, 0);
    put_u64(&b, 7);
    put_str(&b, "tokenizer.ggml.model");
    put_u32(&b, GGUF_STRING);
    put_str(&b, "llama");
    put_str(&b, "tokenizer.ggml.tokens");
    put_u32(&b, GGUF_ARRAY);
    put_u32(&b, GGUF_STRING);
    put_u64(&b, N_WORDS + 256);
    for (int i = 0; i < N_WORDS; i++)
        put_str(&b, vocab[i].piece);
    for (int i = 0; i < 256; i++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", i);
        put_str(&b, name);
    }
    put_str(&b, "tokenizer.ggml.scores");
    put_u32(&b, GGUF_ARRAY);
    put_u32(&b, GGUF_F32);
    put_u64(&b, N_WORDS + 256);
    for (int i = 0; i < N_WORDS + 256; i++) {
        const float sc = i < N_WORDS ? vocab[i].score : 0.0f;
        put(&b, &sc, 4);
    }
    put_str(&b, "tokenizer.ggml.token_type");
    put_u32(&b, GGUF_ARRAY);
    put_u32(&b, GGUF_I32);
    put_u64(&b, N_WORDS + 256);
    for (int i = 0; i < N_WORDS + 256; i++) {
        const int32_t ty = i < N_WORDS ? vocab[i].type : TOK_BYTE;
        put(&b, &ty, 4);
    }
    put_str(&b, "tokenizer.ggml.bos_token_id");
    put_u32(&b, GGUF_U32);
    put_u32(&b, 1);
    put_str(&b, "tokenizer.ggml.unknown_token_id");
    put_u32(&b, GGUF_U32);
    put_u32(&b, 0);
    put_str(&b, "tokenizer.ggml.add_space_prefix");
    put_u32(&b, GGUF_BOOL);
    put(&b, space_prefix ? "\1" : "\0", 1);
    return b;
}

static void tokenizer_merges_by_score_and_falls_back_to_bytes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int space_prefix;
        int32_t want[12];
        int n;
    } cases[] = {
        /* "abc": a+b (-5) loses to b+c (-3), then a+bc makes abc */
        {"abc", 0, {1, 11}, 2},
        /* "cab": c+a is no piece, a+b is: c, ab */
        {"cab", 0, {1, 7, 8}, 3},
        /* "bcd": b+c (-3) beats c+d (-4), and bcd is no piece: bc, d */
        {"bcd", 0, {1, 9, 14}, 3},
        /* with the space prefix: b+c (-3) first, then _+a (-4) beats a+bc (-6), then
           _a+bc = _abc (-1.5) */
        {"abc", 1, {1, 12}, 2},
        /* a space inside the text is a piece of its own before a, then merges */
        {"c abc", 0, {1, 7, 12}, 3},
        /* é has no piece: its two UTF-8 bytes fall back to byte pieces */
        {"a\xc3\xa9", 0, {1, 5, N_WORDS + 0xc3, N_WORDS + 0xa9}, 4},
        /* control pieces in the text stay whole; a newline is a piece */
        {"<turn>ab\n", 0, {1, 3, 8, 13}, 4},
        {"", 0, {1}, 1},
    };
    for (int sp = 0; sp <= 1; sp++) {
        buf b = vocab_file(sp);
        gguf_file f;
        char err[256];
        assert_int_equal(gguf_parse(b.p, b.n, &f, err, sizeof err), 0);
        tokenizer *t;
        assert_int_equal(tok_load(&f, &t, err, sizeof err), 0);
        assert_int_equal(tok_n_vocab(t), N_WORDS + 256);
        assert_int_equal(tok_bos(t), 1);
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            if (cases[c].space_prefix != sp)
                continue;
            int32_t ids[32];
            const int n = tok_encode(t, cases[c].text, strlen(cases[c].text), 1, ids, 32);
            if (n != cases[c].n || memcmp(ids, cases[c].want, (size_t)n * sizeof *ids)) {
                fprintf(stderr, "\"%s\" (prefix %d) gave", cases[c].text, sp);
                for (int i = 0; i < n; i++)
                    fprintf(stderr, " %d", ids[i]);
                fail_msg("wrong ids for case %zu", c);
            }
            /* decoding gives the text back (the prefix space aside) */
            char text[64];
            size_t len = 0;
            for (int i = 0; i < n; i++)
                len += tok_decode(t, ids[i], text + len, sizeof text - len);
            const size_t skip = sp && len ? 1 : 0;
            const char *want = cases[c].text;
            if (!strncmp(want, "<turn>", 6))
                want += 6; /* control pieces decode to nothing */
            assert_int_equal(len - skip, strlen(want));
            assert_memory_equal(text + skip, want, strlen(want));
        }
        int32_t few[2];
        assert_int_equal(tok_encode(t, "c abc", 5, 1, few, 2), -1); /* too many ids */
        tok_free(t);
        gguf_close(&f);
        free(b.p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_keys_values_and_tensors),
        cmocka_unit_test(every_truncation_is_refused),
        cmocka_unit_test(bad_fields_are_refused),
        cmocka_unit_test(corruption_never_crashes),
        cmocka_unit_test(files_open_or_say_why),
        cmocka_unit_test(blocks_match_the_reference_values),
        cmocka_unit_test(tokenizer_merges_by_score_and_falls_back_to_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
