/* test_dev_cache_errors.c — bad arguments to the cache: every rule of the cache
 * options broken once at creation and planning, and every bad call on a live
 * cache refused with a message, nothing written and the cache unchanged (a twin
 * cache that got only the valid calls computes the same bits). */
#include "cachecase.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cache creation: each case breaks one rule of the options. */
static void create_rejects_bad_options(void **state)
{
    swacl_context *ctx = *state;
    if (!ctx)
        skip();
    enum { SWA, FULL, BIDIR, BROKEN };
    static const struct {
        const char *what;
        int n_layers, layers_null, kind, max_seqs, max_context, max_chunk, out_null;
    } cases[] = {
        {"n_layers 0", 0, 0, SWA, 2, 0, 0, 0},
        {"n_layers negative", -1, 0, SWA, 2, 0, 0, 0},
        {"layers NULL", 1, 1, SWA, 2, 0, 0, 0},
        {"max_seqs 0", 1, 0, SWA, 0, 0, 0, 0},
        {"max_seqs negative", 1, 0, SWA, -2, 0, 0, 0},
        {"max_context negative", 1, 0, SWA, 2, -1, 0, 0},
        {"max_chunk negative", 1, 0, SWA, 2, 0, -1, 0},
        {"bidirectional layer", 1, 0, BIDIR, 2, 0, 0, 0},
        {"full layer, max_context 0", 1, 0, FULL, 2, 0, 0, 0},
        {"invalid layer config", 1, 0, BROKEN, 2, 0, 0, 0},
        {"out NULL", 1, 0, SWA, 2, 0, 0, 1},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        swacl_attn_config layer = tu_valid_config();
        if (cases[i].kind == FULL)
            layer.window = 0;
        else if (cases[i].kind == BIDIR)
            layer.bidirectional = 1;
        else if (cases[i].kind == BROKEN)
            layer.n_kv_heads = 3;
        swacl_cache_options opt;
        memset(&opt, 0, sizeof opt);
        opt.n_layers = cases[i].n_layers;
        opt.layers = cases[i].layers_null ? NULL : &layer;
        opt.max_seqs = cases[i].max_seqs;
        opt.max_context = cases[i].max_context;
        opt.max_chunk = cases[i].max_chunk;
        swacl_cache *c = (swacl_cache *)&opt; /* anything but NULL: must come back NULL */
        tu_error_mark(ctx);
        const swacl_status st = swacl_cache_create(ctx, &opt, cases[i].out_null ? NULL : &c);
        uint64_t plan = 0;
        const swacl_status plan_st = swacl_cache_plan_bytes(&opt, &plan);
        const swacl_status plan_want = cases[i].out_null ? SWACL_OK : SWACL_ERR_INVALID_ARGUMENT;
        if (st != SWACL_ERR_INVALID_ARGUMENT || (!cases[i].out_null && c != NULL) ||
            !tu_error_fresh(ctx) || plan_st != plan_want) {
            printf("%s: create %s (cache %s, message \"%s\"), plan %s\n", cases[i].what,
                   swacl_status_string(st), c ? "set" : "NULL", swacl_last_error(ctx),
                   swacl_status_string(plan_st));
            ok = 0;
            if (st == SWACL_OK && !cases[i].out_null)
                swacl_cache_destroy(c);
        }
    }
    swacl_cache *c = NULL;
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    const swacl_attn_config layer = tu_valid_config();
    opt.n_layers = 1;
    opt.layers = &layer;
    opt.max_seqs = 1;
    ok &= swacl_cache_create(NULL, &opt, &c) == SWACL_ERR_INVALID_ARGUMENT && c == NULL;
    ok &= swacl_cache_create(ctx, NULL, &c) == SWACL_ERR_INVALID_ARGUMENT && c == NULL;
    ok &= swacl_cache_plan_bytes(&opt, NULL) == SWACL_ERR_INVALID_ARGUMENT;
    ok &= swacl_cache_plan_bytes(NULL, &(uint64_t){0}) == SWACL_ERR_INVALID_ARGUMENT;
    swacl_cache_destroy(NULL);
    fflush(stdout);
    if (!ok)
        fail_msg("bad cache options accepted or reported wrongly (above)");
}

/* Calls on a live cache. A twin cache gets every valid call and none of the bad
 * ones; after each bad call both must hold the same positions, and a probe
 * decode on both must give the same bits. */
enum { FX_SEQS = 3, FX_MAX_CONTEXT = 64, FX_ROWS = 64 };

typedef struct fixture {
    swacl_context *ctx;
    swacl_cache *c, *twin;
    swacl_attn_config layers[2]; /* 0: SWA W=4 with a sink; 1: full */
    tu_rng rng;
    unsigned char *q, *k, *v; /* FX_ROWS rows of inputs */
    size_t q_row, kv_row;
    cl_mem dq, dk, dv, dout;  /* device copies, dout filled with canary bytes */
    unsigned char *good, *other_window, *other_layers;
    size_t good_size, other_window_size, other_layers_size;
} fixture;

/* the same valid call on both caches, outputs compared bit for bit */
static int fx_both(fixture *f, int layer, int n_seqs, const int *seqs, int n_tokens)
{
    const size_t rows = n_seqs > 0 ? (size_t)n_seqs : (size_t)n_tokens;
    tu_fill(&f->rng, f->q, rows * f->q_row / 4, SWACL_F32);
    tu_fill(&f->rng, f->k, rows * f->kv_row / 4, SWACL_F32);
    tu_fill(&f->rng, f->v, rows * f->kv_row / 4, SWACL_F32);
    unsigned char *o1 = tu_alloc_guarded(rows * f->q_row), *o2 = tu_alloc_guarded(rows * f->q_row);
    swacl_status s1, s2;
    if (n_seqs > 0) {
        s1 = swacl_decode_host(f->c, layer, n_seqs, seqs, f->q, f->k, f->v, o1);
        s2 = swacl_decode_host(f->twin, layer, n_seqs, seqs, f->q, f->k, f->v, o2);
    } else {
        s1 = swacl_prefill_host(f->c, layer, seqs[0], n_tokens, f->q, f->k, f->v, o1);
        s2 = swacl_prefill_host(f->twin, layer, seqs[0], n_tokens, f->q, f->k, f->v, o2);
    }
    int ok = s1 == SWACL_OK && s2 == SWACL_OK;
    if (!ok)
        printf("valid call at layer %d failed: %s / %s: %s\n", layer, swacl_status_string(s1),
               swacl_status_string(s2), swacl_last_error(f->ctx));
    else if (memcmp(o1, o2, rows * f->q_row) != 0) {
        printf("valid call at layer %d: outputs differ from the twin's\n", layer);
        ok = 0;
    }
    ok = ok && tu_canary_intact(o1, rows * f->q_row, "probe") &&
         tu_canary_intact(o2, rows * f->q_row, "probe");
    free(o1);
    free(o2);
    return ok;
}

static int fx_setup(void **state)
{
    swacl_context *ctx = *state;
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ctx = ctx;
    *state = f;
    if (!ctx)
        return 0;
    f->layers[0] = tu_valid_config();
    f->layers[0].n_sink = 1;
    f->layers[1] = tu_valid_config();
    f->layers[1].window = 0;
    f->rng = tu_rng_seed(71);
    f->c = cc_make_cache(ctx, f->layers, 2, FX_SEQS, FX_MAX_CONTEXT, 0);
    f->twin = cc_make_cache(ctx, f->layers, 2, FX_SEQS, FX_MAX_CONTEXT, 0);
    f->q_row = (size_t)f->layers[0].n_heads * f->layers[0].head_dim * 4;
    f->kv_row = (size_t)f->layers[0].n_kv_heads * f->layers[0].head_dim * 4;
    f->q = malloc(FX_ROWS * f->q_row);
    f->k = malloc(FX_ROWS * f->kv_row);
    f->v = malloc(FX_ROWS * f->kv_row);
    assert_true(f->q && f->k && f->v);
    /* seq 0 and 1 part-way; seq 2 filled to exactly max_context on the full layer
       (a prefill that ends on the last slot is valid) and seq 1 just short of it */
    static const struct { int layer, seq, n; } fill[] = {
        {0, 0, 10}, {1, 0, 5}, {0, 1, 5}, {1, 1, 60}, {0, 2, 3}, {1, 2, 60}, {1, 2, 4},
    };
    for (size_t i = 0; i < sizeof fill / sizeof fill[0]; i++)
        if (!fx_both(f, fill[i].layer, 0, &fill[i].seq, fill[i].n))
            return -1;
    f->good = cc_save_seq(f->c, ctx, 0, &f->good_size);
    swacl_attn_config other[2] = {f->layers[0], f->layers[1]};
    other[0].window = 5;
    swacl_cache *c2 = cc_make_cache(ctx, other, 2, 1, FX_MAX_CONTEXT, 0);
    f->other_window = cc_save_seq(c2, ctx, 0, &f->other_window_size);
    swacl_cache_destroy(c2);
    c2 = cc_make_cache(ctx, f->layers, 1, 1, FX_MAX_CONTEXT, 0);
    f->other_layers = cc_save_seq(c2, ctx, 0, &f->other_layers_size);
    swacl_cache_destroy(c2);

    cl_context cl = swacl_context_cl_context(ctx);
    cl_int e[4];
    unsigned char *canary = tu_alloc_guarded(FX_ROWS * f->q_row);
    const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    f->dq = clCreateBuffer(cl, in, FX_ROWS * f->q_row, f->q, &e[0]);
    f->dk = clCreateBuffer(cl, in, FX_ROWS * f->kv_row, f->k, &e[1]);
    f->dv = clCreateBuffer(cl, in, FX_ROWS * f->kv_row, f->v, &e[2]);
    f->dout = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                             FX_ROWS * f->q_row + TU_CANARY_BYTES, canary, &e[3]);
    free(canary);
    assert_true(e[0] == CL_SUCCESS && e[1] == CL_SUCCESS && e[2] == CL_SUCCESS &&
                e[3] == CL_SUCCESS);
    return 0;
}

static int fx_teardown(void **state)
{
    fixture *f = *state;
    if (f->dq) {
        clReleaseMemObject(f->dq);
        clReleaseMemObject(f->dk);
        clReleaseMemObject(f->dv);
        clReleaseMemObject(f->dout);
    }
    swacl_cache_destroy(f->c);
    swacl_cache_destroy(f->twin);
    free(f->q);
    free(f->k);
    free(f->v);
    free(f->good);
    free(f->other_window);
    free(f->other_layers);
    swacl_context *ctx = f->ctx;
    free(f);
    *state = ctx;
    return 0;
}

typedef enum bad_op {
    OP_PREFILL_HOST, OP_PREFILL_DEV, OP_DECODE_HOST, OP_DECODE_DEV,
    OP_RESET, OP_COPY, OP_SAVE, OP_RESTORE
} bad_op;

enum { NULL_Q = 1, NULL_K = 2, NULL_V = 4, NULL_OUT = 8, NULL_SEQS = 16, NULL_SIZE = 32 };

typedef enum blob_kind {
    BLOB_GOOD, BLOB_OTHER_WINDOW, BLOB_OTHER_LAYERS, BLOB_TRUNCATED, BLOB_HEADER_ONLY,
    BLOB_CORRUPT_RING, BLOB_CORRUPT_MAGIC, BLOB_NULL, BLOB_SHORT_BUFFER
} blob_kind;

typedef struct bad_call {
    const char *what;
    bad_op op;
    int layer, seq, n; /* n: tokens of a prefill, rows of a decode */
    int seqs[4];       /* a decode's batch; a copy's src and dst */
    int nulls;         /* NULL_* pointers passed as NULL */
    blob_kind blob;
} bad_call;

#define BAD(what_, op_, ...) {.what = what_, .op = op_, __VA_ARGS__}
static const bad_call bad_calls[] = {
    BAD("prefill: seq -1", OP_PREFILL_HOST, .seq = -1, .n = 2),
    BAD("prefill: seq == max_seqs", OP_PREFILL_HOST, .seq = FX_SEQS, .n = 2),
    BAD("prefill: layer -1", OP_PREFILL_HOST, .layer = -1, .n = 2),
    BAD("prefill: layer == n_layers", OP_PREFILL_HOST, .layer = 2, .n = 2),
    BAD("prefill: n_tokens 0", OP_PREFILL_HOST),
    BAD("prefill: n_tokens -2", OP_PREFILL_HOST, .n = -2),
    BAD("prefill: q NULL", OP_PREFILL_HOST, .n = 2, .nulls = NULL_Q),
    BAD("prefill: k NULL", OP_PREFILL_HOST, .n = 2, .nulls = NULL_K),
    BAD("prefill: v NULL", OP_PREFILL_HOST, .n = 2, .nulls = NULL_V),
    BAD("prefill: out NULL", OP_PREFILL_HOST, .n = 2, .nulls = NULL_OUT),
    BAD("prefill: crosses max_context", OP_PREFILL_HOST, .layer = 1, .seq = 1, .n = 5),
    BAD("prefill: at max_context", OP_PREFILL_HOST, .layer = 1, .seq = 2, .n = 1),
    BAD("prefill (cl_mem): seq == max_seqs", OP_PREFILL_DEV, .seq = FX_SEQS, .n = 2),
    BAD("prefill (cl_mem): layer == n_layers", OP_PREFILL_DEV, .layer = 2, .n = 2),
    BAD("prefill (cl_mem): n_tokens 0", OP_PREFILL_DEV),
    BAD("prefill (cl_mem): q NULL", OP_PREFILL_DEV, .n = 2, .nulls = NULL_Q),
    BAD("prefill (cl_mem): out NULL", OP_PREFILL_DEV, .n = 2, .nulls = NULL_OUT),
    BAD("prefill (cl_mem): crosses max_context", OP_PREFILL_DEV, .layer = 1, .seq = 1,
        .n = 5),
    BAD("decode: seq -1", OP_DECODE_HOST, .n = 1, .seqs = {-1}),
    BAD("decode: second seq == max_seqs", OP_DECODE_HOST, .n = 2, .seqs = {0, FX_SEQS}),
    BAD("decode: layer == n_layers", OP_DECODE_HOST, .layer = 2, .n = 1, .seqs = {0}),
    BAD("decode: layer -1", OP_DECODE_HOST, .layer = -1, .n = 1, .seqs = {0}),
    BAD("decode: n_seqs 0", OP_DECODE_HOST, .seqs = {0}),
    BAD("decode: n_seqs -1", OP_DECODE_HOST, .n = -1, .seqs = {0}),
    BAD("decode: n_seqs > max_seqs", OP_DECODE_HOST, .n = 4, .seqs = {0, 1, 2, 0}),
    BAD("decode: seqs NULL", OP_DECODE_HOST, .n = 1, .seqs = {0}, .nulls = NULL_SEQS),
    BAD("decode: q NULL", OP_DECODE_HOST, .n = 1, .seqs = {0}, .nulls = NULL_Q),
    BAD("decode: k NULL", OP_DECODE_HOST, .n = 1, .seqs = {0}, .nulls = NULL_K),
    BAD("decode: v NULL", OP_DECODE_HOST, .n = 1, .seqs = {0}, .nulls = NULL_V),
    BAD("decode: out NULL", OP_DECODE_HOST, .n = 1, .seqs = {0}, .nulls = NULL_OUT),
    BAD("decode: duplicate seq", OP_DECODE_HOST, .n = 3, .seqs = {0, 1, 0}),
    BAD("decode: a full-layer seq at max_context", OP_DECODE_HOST, .layer = 1, .n = 2,
        .seqs = {0, 2}),
    BAD("decode (cl_mem): duplicate seq", OP_DECODE_DEV, .n = 2, .seqs = {1, 1}),
    BAD("decode (cl_mem): seq at max_context", OP_DECODE_DEV, .layer = 1, .n = 1, .seqs = {2}),
    BAD("decode (cl_mem): seq == max_seqs", OP_DECODE_DEV, .n = 1, .seqs = {FX_SEQS}),
    BAD("decode (cl_mem): k NULL", OP_DECODE_DEV, .n = 1, .seqs = {0}, .nulls = NULL_K),
    BAD("decode (cl_mem): seqs NULL", OP_DECODE_DEV, .n = 1, .seqs = {0}, .nulls = NULL_SEQS),
    BAD("reset: seq == max_seqs", OP_RESET, .seq = FX_SEQS),
    BAD("reset: seq -1", OP_RESET, .seq = -1),
    BAD("copy: src out of range", OP_COPY, .seqs = {FX_SEQS, 0}),
    BAD("copy: dst out of range", OP_COPY, .seqs = {0, -1}),
    BAD("save: seq == max_seqs", OP_SAVE, .seq = FX_SEQS),
    BAD("save: size_out NULL", OP_SAVE, .nulls = NULL_SIZE),
    BAD("save: buffer one byte short", OP_SAVE, .blob = BLOB_SHORT_BUFFER),
    BAD("restore: seq == max_seqs", OP_RESTORE, .seq = FX_SEQS, .blob = BLOB_GOOD),
    BAD("restore: blob of another window", OP_RESTORE, .blob = BLOB_OTHER_WINDOW),
    BAD("restore: blob of another layer count", OP_RESTORE, .blob = BLOB_OTHER_LAYERS),
    BAD("restore: truncated blob", OP_RESTORE, .blob = BLOB_TRUNCATED),
    BAD("restore: blob cut after its header", OP_RESTORE, .seq = 1, .blob = BLOB_HEADER_ONLY),
    BAD("restore: corrupted ring byte", OP_RESTORE, .blob = BLOB_CORRUPT_RING),
    BAD("restore: corrupted magic", OP_RESTORE, .seq = 1, .blob = BLOB_CORRUPT_MAGIC),
    BAD("restore: NULL blob", OP_RESTORE, .blob = BLOB_NULL),
};
#undef BAD

/* makes the bad call; *wrote is 0 when the memory it was handed stayed untouched */
static swacl_status bad_dispatch(fixture *f, const bad_call *b, int *wrote)
{
    /* room for any output or blob; all of it must stay canary bytes */
    const size_t room = FX_ROWS * f->q_row > f->good_size ? FX_ROWS * f->q_row : f->good_size;
    unsigned char *out = tu_alloc_guarded(room);
    const void *q = b->nulls & NULL_Q ? NULL : f->q, *k = b->nulls & NULL_K ? NULL : f->k;
    const void *v = b->nulls & NULL_V ? NULL : f->v;
    void *o = b->nulls & NULL_OUT ? NULL : out;
    cl_mem dq = b->nulls & NULL_Q ? NULL : f->dq, dk = b->nulls & NULL_K ? NULL : f->dk;
    cl_mem dv = b->nulls & NULL_V ? NULL : f->dv, dout = b->nulls & NULL_OUT ? NULL : f->dout;
    const int *seqs = b->nulls & NULL_SEQS ? NULL : b->seqs;
    swacl_status st = SWACL_OK;
    unsigned char *blob = NULL;
    size_t blob_size = 0;
    switch (b->blob) {
    case BLOB_GOOD: blob = f->good; blob_size = f->good_size; break;
    case BLOB_OTHER_WINDOW: blob = f->other_window; blob_size = f->other_window_size; break;
    case BLOB_OTHER_LAYERS: blob = f->other_layers; blob_size = f->other_layers_size; break;
    case BLOB_TRUNCATED: blob = f->good; blob_size = f->good_size - 1; break;
    case BLOB_HEADER_ONLY: blob = f->good; blob_size = 64; break;
    case BLOB_CORRUPT_RING:
    case BLOB_CORRUPT_MAGIC:
        blob = malloc(f->good_size);
        assert_non_null(blob);
        memcpy(blob, f->good, f->good_size);
        blob_size = f->good_size;
        blob[b->blob == BLOB_CORRUPT_RING ? f->good_size - 3 : 0] ^= 0x10;
        break;
    case BLOB_NULL: blob = NULL; blob_size = f->good_size; break;
    case BLOB_SHORT_BUFFER: break;
    }
    *wrote = 0;
    switch (b->op) {
    case OP_PREFILL_HOST:
        st = swacl_prefill_host(f->c, b->layer, b->seq, b->n, q, k, v, o);
        *wrote = !tu_untouched(out, room + TU_CANARY_BYTES);
        break;
    case OP_DECODE_HOST:
        st = swacl_decode_host(f->c, b->layer, b->n, seqs, q, k, v, o);
        *wrote = !tu_untouched(out, room + TU_CANARY_BYTES);
        break;
    case OP_PREFILL_DEV:
    case OP_DECODE_DEV:
        st = b->op == OP_PREFILL_DEV
                 ? swacl_prefill(f->c, b->layer, b->seq, b->n, dq, dk, dv, dout)
                 : swacl_decode(f->c, b->layer, b->n, seqs, dq, dk, dv, dout);
        assert_int_equal(swacl_finish(f->ctx), SWACL_OK);
        assert_int_equal(clEnqueueReadBuffer(swacl_context_cl_queue(f->ctx), f->dout, CL_TRUE, 0,
                                             FX_ROWS * f->q_row + TU_CANARY_BYTES, out, 0, NULL,
                                             NULL),
                         CL_SUCCESS);
        *wrote = !tu_untouched(out, room + TU_CANARY_BYTES);
        break;
    case OP_RESET: st = swacl_cache_seq_reset(f->c, b->seq); break;
    case OP_COPY: st = swacl_cache_seq_copy(f->c, b->seqs[0], b->seqs[1]); break;
    case OP_SAVE: {
        size_t size_out = 0;
        const size_t given = b->blob == BLOB_SHORT_BUFFER ? f->good_size - 1 : f->good_size;
        st = swacl_cache_seq_save(f->c, b->seq, out, given,
                                  b->nulls & NULL_SIZE ? NULL : &size_out);
        *wrote = !tu_untouched(out, room + TU_CANARY_BYTES);
        break;
    }
    case OP_RESTORE: st = swacl_cache_seq_restore(f->c, b->seq, blob, blob_size); break;
    }
    if (b->blob == BLOB_CORRUPT_RING || b->blob == BLOB_CORRUPT_MAGIC)
        free(blob);
    free(out);
    return st;
}

static void cache_calls_reject_bad_arguments(void **state)
{
    fixture *f = *state;
    if (!f->ctx)
        skip();
    assert_true(f->good_size > 64);
    int failed = 0;
    for (size_t i = 0; i < sizeof bad_calls / sizeof bad_calls[0]; i++) {
        const bad_call *b = &bad_calls[i];
        tu_error_mark(f->ctx);
        int wrote;
        const swacl_status st = bad_dispatch(f, b, &wrote);
        int ok = 1;
        if (st != SWACL_ERR_INVALID_ARGUMENT) {
            printf("%s: got %s, want %s\n", b->what, swacl_status_string(st),
                   swacl_status_string(SWACL_ERR_INVALID_ARGUMENT));
            ok = 0;
        }
        if (!tu_error_fresh(f->ctx)) {
            printf("%s: no error message of its own\n", b->what);
            ok = 0;
        }
        if (wrote) {
            printf("%s: wrote into memory it was handed\n", b->what);
            ok = 0;
        }
        for (int l = 0; l < 2; l++)
            for (int s = 0; s < FX_SEQS; s++) {
                int64_t p1 = -1, p2 = -2;
                assert_int_equal(swacl_cache_seq_pos(f->c, l, s, &p1), SWACL_OK);
                assert_int_equal(swacl_cache_seq_pos(f->twin, l, s, &p2), SWACL_OK);
                if (p1 != p2) {
                    printf("%s: layer %d seq %d moved to %lld (twin %lld)\n", b->what, l, s,
                           (long long)p1, (long long)p2);
                    ok = 0;
                }
            }
        /* the cache still computes exactly what the untouched twin does */
        if (!fx_both(f, 0, 3, (const int[]){2, 0, 1}, 0) ||
            !fx_both(f, 1, 1, (const int[]){0}, 0)) {
            printf("%s: the cache changed\n", b->what);
            ok = 0;
        }
        failed += !ok;
    }
    /* seq_pos takes a const cache, so a status (no message) is all it can give */
    int64_t pos = 77;
    int pos_ok = swacl_cache_seq_pos(f->c, 2, 0, &pos) == SWACL_ERR_INVALID_ARGUMENT &&
                 swacl_cache_seq_pos(f->c, -1, 0, &pos) == SWACL_ERR_INVALID_ARGUMENT &&
                 swacl_cache_seq_pos(f->c, 0, FX_SEQS, &pos) == SWACL_ERR_INVALID_ARGUMENT &&
                 swacl_cache_seq_pos(f->c, 0, -1, &pos) == SWACL_ERR_INVALID_ARGUMENT &&
                 swacl_cache_seq_pos(f->c, 0, 0, NULL) == SWACL_ERR_INVALID_ARGUMENT &&
                 swacl_cache_seq_pos(NULL, 0, 0, &pos) == SWACL_ERR_INVALID_ARGUMENT && pos == 77;
    if (!pos_ok)
        printf("swacl_cache_seq_pos accepted a bad argument or wrote its output\n");
    fflush(stdout);
    if (failed || !pos_ok)
        fail_msg("%d of %zu bad calls mishandled (above)", failed,
                 sizeof bad_calls / sizeof bad_calls[0]);
}

int main(void)
{
    const struct CMUnitTest bad_arguments[] = {
        cmocka_unit_test(create_rejects_bad_options),
        cmocka_unit_test_setup_teardown(cache_calls_reject_bad_arguments, fx_setup, fx_teardown),
    };
    return tu_exit(cmocka_run_group_tests_name("cache_bad_arguments", bad_arguments,
                                               tu_open_group, tu_close_context));
}
