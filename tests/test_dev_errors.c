/* test_dev_errors.c — bad inputs to context creation and one-shot attention return
 * the documented status with a message and write nothing; status strings. */
#define _POSIX_C_SOURCE 200809L /* setenv, unsetenv */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- status strings (no device needed) ---------------------------------------- */

static void status_strings_distinct_and_from_the_map(void **state)
{
    (void)state;
    static const struct {
        swacl_status code;
        const char *text;
    } map[] = {
#define STATUS_ROW_(name, code, text) {SWACL_##name, text},
        SWACL_STATUS_MAP(STATUS_ROW_)
#undef STATUS_ROW_
    };
    const size_t n = sizeof map / sizeof map[0];
    for (size_t i = 0; i < n; i++) {
        const char *s = swacl_status_string(map[i].code);
        assert_non_null(s);
        assert_true(s[0] != '\0');
        assert_string_equal(s, map[i].text);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(map[i].code, map[j].code);
            if (strcmp(s, swacl_status_string(map[j].code)) == 0)
                fail_msg("codes %d and %d share the string \"%s\"", (int)map[i].code,
                         (int)map[j].code, s);
        }
    }
    static const int unknown[] = {1, -8, -100, 12345, -2147483647};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = swacl_status_string((swacl_status)unknown[i]);
        assert_non_null(s);
        assert_true(s[0] != '\0');
    }
}

/* ---- context creation ------------------------------------------------------------ */

/* 1 if the message names the first device swacl can see (or there is none) */
static int message_lists_devices(const char *msg)
{
    int n_devices = 0;
    if (swacl_devices_list(NULL, 0, &n_devices) != SWACL_OK || n_devices == 0)
        return 1;
    swacl_device_info info[1];
    int total = 0;
    assert_int_equal(swacl_devices_list(info, 1, &total), SWACL_OK);
    return strstr(msg, info[0].selector) != NULL || strstr(msg, info[0].name) != NULL;
}

static void context_unknown_device_is_no_device(void **state)
{
    (void)state;
    swacl_context_options opt;
    memset(&opt, 0, sizeof opt);
    opt.device = "no-such-device-xyz";
    swacl_context *ctx = (swacl_context *)&opt; /* must come back NULL */
    assert_int_equal(swacl_context_create(&opt, &ctx), SWACL_ERR_NO_DEVICE);
    assert_null(ctx);
    const char *msg = swacl_last_error(NULL);
    assert_non_null(msg);
    assert_true(msg[0] != '\0');
    if (!message_lists_devices(msg))
        fail_msg("message does not list the devices: \"%s\"", msg);
}

static void context_unknown_device_from_environment(void **state)
{
    (void)state;
    const char *prev = getenv("SWACL_DEVICE");
    char *saved = prev ? strdup(prev) : NULL;
    setenv("SWACL_DEVICE", "no-such-device-xyz", 1);
    swacl_context *ctx = NULL;
    const swacl_status st = swacl_context_create(NULL, &ctx);
    if (saved) {
        setenv("SWACL_DEVICE", saved, 1);
        free(saved);
    } else {
        unsetenv("SWACL_DEVICE");
    }
    assert_int_equal(st, SWACL_ERR_NO_DEVICE);
    assert_null(ctx);
    assert_true(swacl_last_error(NULL)[0] != '\0');
}

static void context_create_null_out_and_destroy_null(void **state)
{
    (void)state;
    assert_int_equal(swacl_context_create(NULL, NULL), SWACL_ERR_INVALID_ARGUMENT);
    assert_true(swacl_last_error(NULL)[0] != '\0');
    swacl_context_destroy(NULL); /* accepted, does nothing */
}

/* ---- one-shot attention on host arrays --------------------------------------------- */

/* room for the largest shape any bad case names: 5 tokens, 8 heads of 264 */
#define ROOM_ELEMS ((size_t)5 * 8 * 264)
#define ROOM_BYTES (ROOM_ELEMS * sizeof(float))

typedef struct host_io {
    float *q, *k, *v;
    unsigned char *out; /* ROOM_BYTES + canary, all TU_CANARY_BYTE */
} host_io;

static host_io host_io_make(void)
{
    host_io io;
    io.q = calloc(ROOM_ELEMS, sizeof(float));
    io.k = calloc(ROOM_ELEMS, sizeof(float));
    io.v = calloc(ROOM_ELEMS, sizeof(float));
    assert_true(io.q && io.k && io.v);
    io.out = tu_alloc_guarded(ROOM_BYTES);
    return io;
}

static void host_io_free(host_io *io)
{
    free(io->q);
    free(io->k);
    free(io->v);
    free(io->out);
}

/* Runs one host call that must fail with status want, leave a message of its own
 * and write nothing. */
static int expect_host_rejected(swacl_context *ctx, const char *what, const swacl_attn_config *cfg,
                                int n, const void *q, const void *k, const void *v, void *out,
                                swacl_status want)
{
    tu_error_mark(ctx);
    const swacl_status st = swacl_attention_host(ctx, cfg, n, q, k, v, out);
    int ok = 1;
    if (st != want) {
        printf("%s: got %s, want %s\n", what, swacl_status_string(st), swacl_status_string(want));
        ok = 0;
    }
    if (!tu_error_fresh(ctx)) {
        printf("%s: no error message\n", what);
        ok = 0;
    }
    if (out && !tu_untouched(out, ROOM_BYTES + TU_CANARY_BYTES)) {
        printf("%s: output written despite the error\n", what);
        ok = 0;
    }
    return ok;
}

static void attention_host_rejects_bad_inputs(void **state)
{
    swacl_context *ctx = (swacl_context *)*state;
    if (!ctx)
        skip();
    host_io io = host_io_make();
    const swacl_attn_config good = tu_valid_config();
    const swacl_status bad_arg = SWACL_ERR_INVALID_ARGUMENT;

    assert_int_equal(swacl_attention_host(NULL, &good, 5, io.q, io.k, io.v, io.out), bad_arg);
    assert_true(tu_untouched(io.out, ROOM_BYTES + TU_CANARY_BYTES));

    int failed = 0;
    failed += !expect_host_rejected(ctx, "cfg NULL", NULL, 5, io.q, io.k, io.v, io.out, bad_arg);
    failed += !expect_host_rejected(ctx, "q NULL", &good, 5, NULL, io.k, io.v, io.out, bad_arg);
    failed += !expect_host_rejected(ctx, "k NULL", &good, 5, io.q, NULL, io.v, io.out, bad_arg);
    failed += !expect_host_rejected(ctx, "v NULL", &good, 5, io.q, io.k, NULL, io.out, bad_arg);
    failed += !expect_host_rejected(ctx, "out NULL", &good, 5, io.q, io.k, io.v, NULL, bad_arg);
    size_t n_bad;
    const tu_bad_case *bad = tu_bad_cases(&n_bad);
    for (size_t c = 0; c < n_bad; c++)
        failed += !expect_host_rejected(ctx, bad[c].what, &bad[c].cfg, bad[c].n_tokens, io.q,
                                        io.k, io.v, io.out, bad_arg);
    fflush(stdout); /* the reports above come before cmocka's verdict */
    if (failed)
        fail_msg("%d bad inputs not rejected cleanly (listed above)", failed);

    /* the context is still usable, and the base of every bad case is valid */
    const swacl_status st = swacl_attention_host(ctx, &good, 5, io.q, io.k, io.v, io.out);
    if (st != SWACL_OK)
        fail_msg("valid call after errors: %s: %s", swacl_status_string(st),
                 swacl_last_error(ctx));
    assert_true(tu_canary_intact(io.out, (size_t)5 * good.n_heads * good.head_dim * sizeof(float),
                                 "valid call after errors"));
    host_io_free(&io);
}

/* ---- one-shot attention on device buffers ------------------------------------------ */

/* Each buffer the library sees is a sub-buffer at offset 0 of a ROOM_BYTES
 * parent, so a call that ignores a buffer's size reads or writes the parent's
 * spare room (where it shows) instead of corrupting the heap. */
typedef struct dev_io {
    cl_mem q, k, v, out;                     /* what the library is given */
    cl_mem q_room, k_room, v_room, out_room; /* their parents */
} dev_io;

static cl_mem sub_buffer(cl_mem parent, size_t bytes)
{
    const cl_buffer_region region = {0, bytes};
    cl_int err;
    cl_mem sub = clCreateSubBuffer(parent, 0, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
    if (err != CL_SUCCESS)
        fail_msg("clCreateSubBuffer(%zu bytes): %d", bytes, err);
    return sub;
}

/* inputs zero, the whole output parent TU_CANARY_BYTE */
static dev_io dev_io_make(swacl_context *ctx, size_t q_bytes, size_t kv_bytes, size_t out_bytes)
{
    cl_context cl = swacl_context_cl_context(ctx);
    dev_io io;
    cl_int e1, e2, e3, e4;
    unsigned char *fill = tu_alloc_guarded(ROOM_BYTES);
    assert_true(q_bytes <= ROOM_BYTES && kv_bytes <= ROOM_BYTES && out_bytes <= ROOM_BYTES);
    memset(fill, 0, ROOM_BYTES);
    const cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    io.q_room = clCreateBuffer(cl, in, ROOM_BYTES, fill, &e1);
    io.k_room = clCreateBuffer(cl, in, ROOM_BYTES, fill, &e2);
    io.v_room = clCreateBuffer(cl, in, ROOM_BYTES, fill, &e3);
    memset(fill, TU_CANARY_BYTE, ROOM_BYTES);
    io.out_room = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, ROOM_BYTES, fill,
                                 &e4);
    if (e1 != CL_SUCCESS || e2 != CL_SUCCESS || e3 != CL_SUCCESS || e4 != CL_SUCCESS)
        fail_msg("clCreateBuffer: %d %d %d %d", e1, e2, e3, e4);
    free(fill);
    io.q = sub_buffer(io.q_room, q_bytes);
    io.k = sub_buffer(io.k_room, kv_bytes);
    io.v = sub_buffer(io.v_room, kv_bytes);
    io.out = sub_buffer(io.out_room, out_bytes);
    return io;
}

static void dev_io_free(dev_io *io)
{
    cl_mem all[] = {io->q, io->k, io->v, io->out, io->q_room, io->k_room, io->v_room,
                    io->out_room};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clReleaseMemObject(all[i]);
}

/* 1 if nothing in the output buffer or the room past it was written */
static int dev_out_untouched(swacl_context *ctx, const dev_io *io)
{
    unsigned char *back = malloc(ROOM_BYTES);
    assert_non_null(back);
    assert_int_equal(clEnqueueReadBuffer(swacl_context_cl_queue(ctx), io->out_room, CL_TRUE, 0,
                                         ROOM_BYTES, back, 0, NULL, NULL),
                     CL_SUCCESS);
    const int same = tu_untouched(back, ROOM_BYTES);
    free(back);
    return same;
}

static int expect_dev_rejected(swacl_context *ctx, const char *what, const swacl_attn_config *cfg,
                               int n, cl_mem q, cl_mem k, cl_mem v, cl_mem out, const dev_io *io)
{
    tu_error_mark(ctx);
    swacl_status st = swacl_attention(ctx, cfg, n, q, k, v, out);
    const swacl_status fin = swacl_finish(ctx);
    int ok = 1;
    if (st != SWACL_ERR_INVALID_ARGUMENT) {
        printf("%s: got %s, want %s\n", what, swacl_status_string(st),
               swacl_status_string(SWACL_ERR_INVALID_ARGUMENT));
        ok = 0;
    }
    if (!tu_error_fresh(ctx)) {
        printf("%s: no error message\n", what);
        ok = 0;
    }
    if (fin != SWACL_OK || !dev_out_untouched(ctx, io)) {
        printf("%s: output buffer written despite the error\n", what);
        ok = 0;
    }
    return ok;
}

static void attention_device_buffers_reject_bad_inputs(void **state)
{
    swacl_context *ctx = (swacl_context *)*state;
    if (!ctx)
        skip();
    dev_io io = dev_io_make(ctx, ROOM_BYTES, ROOM_BYTES, ROOM_BYTES);
    const swacl_attn_config good = tu_valid_config();

    assert_int_equal(swacl_attention(NULL, &good, 5, io.q, io.k, io.v, io.out),
                     SWACL_ERR_INVALID_ARGUMENT);
    assert_true(dev_out_untouched(ctx, &io));

    int failed = 0;
    failed += !expect_dev_rejected(ctx, "cfg NULL", NULL, 5, io.q, io.k, io.v, io.out, &io);
    failed += !expect_dev_rejected(ctx, "q NULL", &good, 5, NULL, io.k, io.v, io.out, &io);
    failed += !expect_dev_rejected(ctx, "k NULL", &good, 5, io.q, NULL, io.v, io.out, &io);
    failed += !expect_dev_rejected(ctx, "v NULL", &good, 5, io.q, io.k, NULL, io.out, &io);
    failed += !expect_dev_rejected(ctx, "out NULL", &good, 5, io.q, io.k, io.v, NULL, &io);
    size_t n_bad;
    const tu_bad_case *bad = tu_bad_cases(&n_bad);
    for (size_t c = 0; c < n_bad; c++)
        failed += !expect_dev_rejected(ctx, bad[c].what, &bad[c].cfg, bad[c].n_tokens, io.q, io.k,
                                       io.v, io.out, &io);
    fflush(stdout); /* the reports above come before cmocka's verdict */
    if (failed)
        fail_msg("%d bad inputs not rejected cleanly (listed above)", failed);

    swacl_status st = swacl_attention(ctx, &good, 5, io.q, io.k, io.v, io.out);
    if (st == SWACL_OK)
        st = swacl_finish(ctx);
    if (st != SWACL_OK)
        fail_msg("valid call after errors: %s: %s", swacl_status_string(st),
                 swacl_last_error(ctx));
    dev_io_free(&io);
}

/* Buffers smaller than the shape needs are invalid arguments too (CLBlast
 * checks them the same way): the kernel must not run past their end. */
static void attention_device_buffers_too_small(void **state)
{
    swacl_context *ctx = (swacl_context *)*state;
    if (!ctx)
        skip();
    const swacl_attn_config good = tu_valid_config();
    const int n = 5;
    const size_t q_bytes = (size_t)n * good.n_heads * good.head_dim * sizeof(float);
    const size_t kv_bytes = (size_t)n * good.n_kv_heads * good.head_dim * sizeof(float);
    static const struct {
        const char *what;
        int q_short, kv_short, out_short; /* bytes missing from each buffer */
    } rows[] = {
        {"out one float short", 0, 0, 4},
        {"out one token short", 0, 0, 4 * 4 * 32},
        {"q one token short", 4 * 4 * 32, 0, 0},
        {"k and v one token short", 0, 4 * 2 * 32, 0},
    };
    int failed = 0;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        dev_io io = dev_io_make(ctx, q_bytes - (size_t)rows[r].q_short,
                                kv_bytes - (size_t)rows[r].kv_short,
                                q_bytes - (size_t)rows[r].out_short);
        failed += !expect_dev_rejected(ctx, rows[r].what, &good, n, io.q, io.k, io.v, io.out, &io);
        dev_io_free(&io);
    }
    fflush(stdout); /* the reports above come before cmocka's verdict */
    if (failed)
        fail_msg("%d undersized buffers not rejected (listed above)", failed);
}

int main(void)
{
    const struct CMUnitTest status[] = {
        cmocka_unit_test(status_strings_distinct_and_from_the_map),
    };
    const struct CMUnitTest context[] = {
        cmocka_unit_test(context_unknown_device_is_no_device),
        cmocka_unit_test(context_unknown_device_from_environment),
        cmocka_unit_test(context_create_null_out_and_destroy_null),
    };
    const struct CMUnitTest attention[] = {
        cmocka_unit_test(attention_host_rejects_bad_inputs),
        cmocka_unit_test(attention_device_buffers_reject_bad_inputs),
        cmocka_unit_test(attention_device_buffers_too_small),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name("status_strings", status, NULL, NULL);
    failed += cmocka_run_group_tests_name("context_errors", context, NULL, NULL);
    failed += cmocka_run_group_tests_name("attention_errors", attention, tu_open_group,
                                          tu_close_context);
    return tu_exit(failed);
}
