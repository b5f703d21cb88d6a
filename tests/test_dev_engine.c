/* test_dev_engine.c — swacl inside an engine's OpenCL objects: borrowing a context and
 * queue (swacl_context_create_cl), what it refuses, and that no cl_mem call waits on the
 * queue: with the queue gated by a user event every call (one-shot, prefill, decode, the
 * micro-batch) must return at once, and the results must be right once the gate opens. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* the engine's own objects: a context and an in-order queue on swacl's default device */
typedef struct engine {
    cl_device_id dev;
    cl_context cl;
    cl_command_queue queue;
} engine;

static int engine_open(engine *e, cl_command_queue_properties props)
{
    swacl_context *probe;
    if (!tu_open_context(&probe))
        return 0;
    e->dev = swacl_context_cl_device(probe);
    swacl_context_destroy(probe);
    cl_int err;
    e->cl = clCreateContext(NULL, 1, &e->dev, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    e->queue = clCreateCommandQueue(e->cl, e->dev, props, &err);
    assert_int_equal(err, CL_SUCCESS);
    return 1;
}

static void engine_close(engine *e)
{
    clReleaseCommandQueue(e->queue);
    clReleaseContext(e->cl);
}

static cl_uint refcount_queue(cl_command_queue q)
{
    cl_uint n = 0;
    assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof n, &n, NULL),
                     CL_SUCCESS);
    return n;
}

static cl_uint refcount_context(cl_context c)
{
    cl_uint n = 0;
    assert_int_equal(clGetContextInfo(c, CL_CONTEXT_REFERENCE_COUNT, sizeof n, &n, NULL),
                     CL_SUCCESS);
    return n;
}

static cl_mem engine_buffer(engine *e, size_t bytes, const void *host)
{
    cl_int err;
    cl_mem m = clCreateBuffer(e->cl, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                              bytes, (void *)host, &err);
    assert_int_equal(err, CL_SUCCESS);
    return m;
}

/* ---- borrowing -------------------------------------------------------------------- */

static void borrows_and_gives_back_exactly_its_references(void **state)
{
    (void)state;
    engine e;
    if (!engine_open(&e, 0))
        skip();
    const cl_uint q0 = refcount_queue(e.queue), c0 = refcount_context(e.cl);
    swacl_context *ctx = NULL;
    assert_int_equal(swacl_context_create_cl(e.cl, e.dev, e.queue, NULL, &ctx), SWACL_OK);
    assert_ptr_equal(swacl_context_cl_queue(ctx), e.queue);
    assert_ptr_equal(swacl_context_cl_context(ctx), e.cl);
    assert_true(refcount_queue(e.queue) > q0);
    swacl_device_info info;
    assert_int_equal(swacl_context_device_info(ctx, &info), SWACL_OK);
    assert_true(strchr(info.selector, ':') && info.selector[0] != '-');
    /* nothing enqueued yet: no last event */
    cl_event ev = (cl_event)1;
    assert_int_equal(swacl_last_event(ctx, &ev), SWACL_ERR_INVALID_ARGUMENT);
    assert_true(strstr(swacl_last_error(ctx), "nothing") != NULL);
    swacl_context_destroy(ctx);
    assert_int_equal(refcount_queue(e.queue), q0);
    assert_int_equal(refcount_context(e.cl), c0);
    engine_close(&e);
}

static void refuses_what_it_cannot_run_on(void **state)
{
    (void)state;
    engine e;
    if (!engine_open(&e, 0))
        skip();
    swacl_context *ctx = (swacl_context *)1;
    /* missing objects */
    assert_int_equal(swacl_context_create_cl(NULL, e.dev, e.queue, NULL, &ctx),
                     SWACL_ERR_INVALID_ARGUMENT);
    assert_null(ctx);
    assert_true(strstr(swacl_last_error(NULL), "needed") != NULL);
    /* a queue of another context */
    cl_int err;
    cl_context other = clCreateContext(NULL, 1, &e.dev, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(swacl_context_create_cl(other, e.dev, e.queue, NULL, &ctx),
                     SWACL_ERR_INVALID_ARGUMENT);
    assert_true(strstr(swacl_last_error(NULL), "another context") != NULL);
    /* profiling on a queue made without it */
    swacl_context_options opt = {0};
    opt.profiling = 1;
    assert_int_equal(swacl_context_create_cl(e.cl, e.dev, e.queue, &opt, &ctx),
                     SWACL_ERR_UNSUPPORTED);
    assert_true(strstr(swacl_last_error(NULL), "PROFILING") != NULL);
    /* an out-of-order queue, where the device has them */
    cl_command_queue ooo =
        clCreateCommandQueue(e.cl, e.dev, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
    if (err == CL_SUCCESS) {
        assert_int_equal(swacl_context_create_cl(e.cl, e.dev, ooo, NULL, &ctx),
                         SWACL_ERR_UNSUPPORTED);
        assert_true(strstr(swacl_last_error(NULL), "in-order") != NULL);
        clReleaseCommandQueue(ooo);
    }
    /* a buffer of another context passed to a call: refused, the output untouched */
    assert_int_equal(swacl_context_create_cl(e.cl, e.dev, e.queue, NULL, &ctx), SWACL_OK);
    const swacl_attn_config cfg = tu_valid_config();
    const int n = 5;
    const size_t qb = (size_t)n * cfg.n_heads * cfg.head_dim * sizeof(float);
    const size_t kb = (size_t)n * cfg.n_kv_heads * cfg.head_dim * sizeof(float);
    cl_mem foreign = clCreateBuffer(other, CL_MEM_READ_WRITE, qb, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem q = engine_buffer(&e, qb, NULL), k = engine_buffer(&e, kb, NULL);
    cl_mem v = engine_buffer(&e, kb, NULL);
    assert_int_equal(swacl_attention(ctx, &cfg, n, q, k, v, foreign), SWACL_ERR_INVALID_ARGUMENT);
    assert_true(strstr(swacl_last_error(ctx), "another OpenCL context") != NULL);
    clReleaseMemObject(foreign);
    clReleaseMemObject(q);
    clReleaseMemObject(k);
    clReleaseMemObject(v);
    swacl_context_destroy(ctx);
    clReleaseContext(other);
    engine_close(&e);
}

/* ---- the user-event gate -------------------------------------------------------------- */

/* opens the gate after a deadline if the test has not: a call that waits on the queue
   then returns (late) instead of hanging, and the test fails on the flag */
typedef struct watchdog {
    cl_event gate;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done, fired;
} watchdog;

static void *watchdog_run(void *arg)
{
    watchdog *w = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&w->lock);
    while (!w->done) {
        if (pthread_cond_timedwait(&w->cond, &w->lock, &until) != 0) {
            w->fired = 1;
            clSetUserEventStatus(w->gate, CL_COMPLETE);
            break;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* runs call(), which must return SWACL_OK within a second while the gate is closed */
#define WITHIN_A_SECOND(what, call)                                                           \
    do {                                                                                      \
        const double t0_ = now_s();                                                           \
        const swacl_status s_ = (call);                                                       \
        const double dt_ = now_s() - t0_;                                                     \
        if (s_ != SWACL_OK)                                                                   \
            fail_msg("%s: %s (%s)", what, swacl_status_string(s_), swacl_last_error(ctx));    \
        if (dt_ > 1.0 || wd.fired)                                                            \
            fail_msg("%s waited on the gated queue (%.2f s)", what, dt_);                     \
    } while (0)

static void no_call_waits_on_the_queue(void **state)
{
    (void)state;
    engine e;
    if (!engine_open(&e, 0))
        skip();
    swacl_context *ctx;
    assert_int_equal(swacl_context_create_cl(e.cl, e.dev, e.queue, NULL, &ctx), SWACL_OK);

    /* a layer with sink logits and a window shorter than the prompt */
    swacl_attn_config cfg = tu_valid_config();
    cfg.window = 6;
    const float sinks[4] = {0.5f, -0.25f, 1.0f, 0.0f};
    cfg.sink_logits = sinks;
    const int n = 9, batch = 3; /* prompt length; sequences decoded together */
    const size_t qrow = (size_t)cfg.n_heads * cfg.head_dim, kvrow = (size_t)cfg.n_kv_heads * cfg.head_dim;
    tu_rng rng = tu_rng_seed(42);
    /* every sequence's n + 1 tokens */
    float *q = malloc((size_t)batch * (n + 1) * qrow * sizeof(float));
    float *k = malloc((size_t)batch * (n + 1) * kvrow * sizeof(float));
    float *v = malloc((size_t)batch * (n + 1) * kvrow * sizeof(float));
    assert_true(q && k && v);
    tu_fill_f32(&rng, q, (size_t)batch * (n + 1) * qrow);
    tu_fill_f32(&rng, k, (size_t)batch * (n + 1) * kvrow);
    tu_fill_f32(&rng, v, (size_t)batch * (n + 1) * kvrow);

    swacl_cache_options copt = {0};
    copt.n_layers = 1;
    copt.layers = &cfg;
    copt.max_seqs = batch;
    swacl_cache *cache;
    assert_int_equal(swacl_cache_create(ctx, &copt, &cache), SWACL_OK);

    /* device inputs: each sequence's prompt, then the decode step's rows of all three */
    cl_mem pq[3], pk[3], pv[3], pout[3];
    for (int b = 0; b < batch; b++) {
        pq[b] = engine_buffer(&e, n * qrow * sizeof(float), q + (size_t)b * (n + 1) * qrow);
        pk[b] = engine_buffer(&e, n * kvrow * sizeof(float), k + (size_t)b * (n + 1) * kvrow);
        pv[b] = engine_buffer(&e, n * kvrow * sizeof(float), v + (size_t)b * (n + 1) * kvrow);
        pout[b] = engine_buffer(&e, n * qrow * sizeof(float), NULL);
    }
    float *dq = malloc(batch * qrow * sizeof(float)), *dk = malloc(batch * kvrow * sizeof(float));
    float *dv = malloc(batch * kvrow * sizeof(float));
    assert_true(dq && dk && dv);
    for (int b = 0; b < batch; b++) {
        memcpy(dq + b * qrow, q + ((size_t)b * (n + 1) + n) * qrow, qrow * sizeof(float));
        memcpy(dk + b * kvrow, k + ((size_t)b * (n + 1) + n) * kvrow, kvrow * sizeof(float));
        memcpy(dv + b * kvrow, v + ((size_t)b * (n + 1) + n) * kvrow, kvrow * sizeof(float));
    }
    cl_mem bq = engine_buffer(&e, batch * qrow * sizeof(float), dq);
    cl_mem bk = engine_buffer(&e, batch * kvrow * sizeof(float), dk);
    cl_mem bv = engine_buffer(&e, batch * kvrow * sizeof(float), dv);
    cl_mem bout = engine_buffer(&e, batch * qrow * sizeof(float), NULL);
    cl_mem oneshot = engine_buffer(&e, n * qrow * sizeof(float), NULL);
    cl_mem batch_out = engine_buffer(&e, n * qrow * sizeof(float), NULL);
    swacl_cache *mixed; /* sequence 0's prompt again, through the micro-batch call */
    assert_int_equal(swacl_cache_create(ctx, &copt, &mixed), SWACL_OK);
    const swacl_batch_entry entry = {0, n};
    const swacl_view vq = {pq[0], 0, 0}, vk = {pk[0], 0, 0}, vv = {pv[0], 0, 0};
    const swacl_view vo = {batch_out, 0, 0};
    /* the same calls once ungated on a cache of their own: the kernels get built (a
       build is host work, not a wait on the queue, but it may take seconds) */
    swacl_cache *warm;
    assert_int_equal(swacl_cache_create(ctx, &copt, &warm), SWACL_OK);
    assert_int_equal(swacl_attention(ctx, &cfg, n, pq[0], pk[0], pv[0], oneshot), SWACL_OK);
    for (int b = 0; b < batch; b++)
        assert_int_equal(swacl_prefill(warm, 0, b, n, pq[b], pk[b], pv[b], pout[b]), SWACL_OK);
    const int seqs[3] = {0, 1, 2};
    assert_int_equal(swacl_decode(warm, 0, batch, seqs, bq, bk, bv, bout), SWACL_OK);
    swacl_cache_destroy(warm);
    assert_int_equal(clFinish(e.queue), CL_SUCCESS);

    /* close the gate: everything enqueued from here waits for it */
    cl_int err;
    watchdog wd = {.done = 0, .fired = 0};
    wd.gate = clCreateUserEvent(e.cl, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(clEnqueueBarrierWithWaitList(e.queue, 1, &wd.gate, NULL), CL_SUCCESS);
    pthread_mutex_init(&wd.lock, NULL);
    pthread_cond_init(&wd.cond, NULL);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, watchdog_run, &wd), 0);

    WITHIN_A_SECOND("swacl_attention", swacl_attention(ctx, &cfg, n, pq[0], pk[0], pv[0], oneshot));
    for (int b = 0; b < batch; b++)
        WITHIN_A_SECOND("swacl_prefill", swacl_prefill(cache, 0, b, n, pq[b], pk[b], pv[b], pout[b]));
    WITHIN_A_SECOND("swacl_decode", swacl_decode(cache, 0, batch, seqs, bq, bk, bv, bout));
    WITHIN_A_SECOND("swacl_attend_batch", swacl_attend_batch(mixed, 0, 1, &entry, vq, vk, vv, vo));
    cl_event last;
    assert_int_equal(swacl_last_event(ctx, &last), SWACL_OK);
    cl_int status = CL_COMPLETE;
    assert_int_equal(clGetEventInfo(last, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status,
                                    NULL),
                     CL_SUCCESS);
    assert_true(status != CL_COMPLETE); /* still behind the gate */

    /* open the gate; the last event completes, and with it everything before it */
    pthread_mutex_lock(&wd.lock);
    wd.done = 1;
    pthread_cond_signal(&wd.cond);
    pthread_mutex_unlock(&wd.lock);
    pthread_join(thread, NULL);
    assert_false(wd.fired);
    assert_int_equal(clSetUserEventStatus(wd.gate, CL_COMPLETE), CL_SUCCESS);
    assert_int_equal(clWaitForEvents(1, &last), CL_SUCCESS);
    clReleaseEvent(last);

    /* every output against the float64 reference */
    const double tol = tu_tolerance(SWACL_F32, SWACL_F32);
    float *got = malloc((size_t)(n + 1) * qrow * sizeof(float));
    float *ref = malloc((size_t)(n + 1) * qrow * sizeof(float));
    float *bgot = malloc(batch * qrow * sizeof(float));
    assert_true(got && ref && bgot);
    assert_int_equal(clEnqueueReadBuffer(e.queue, bout, CL_TRUE, 0, batch * qrow * sizeof(float),
                                         bgot, 0, NULL, NULL),
                     CL_SUCCESS);
    for (int b = 0; b < batch; b++) {
        assert_int_equal(swacl_reference_attention(&cfg, n + 1, q + (size_t)b * (n + 1) * qrow,
                                                   k + (size_t)b * (n + 1) * kvrow,
                                                   v + (size_t)b * (n + 1) * kvrow, ref),
                         SWACL_OK);
        assert_int_equal(clEnqueueReadBuffer(e.queue, pout[b], CL_TRUE, 0, n * qrow * sizeof(float),
                                             got, 0, NULL, NULL),
                         CL_SUCCESS);
        assert_int_equal(tu_compare(got, ref, n * qrow, SWACL_F32, tol, "prefill").n_bad, 0);
        assert_int_equal(tu_compare(bgot + b * qrow, ref + (size_t)n * qrow, qrow, SWACL_F32, tol,
                                    "decode")
                             .n_bad,
                         0);
        if (b == 0) {
            assert_int_equal(clEnqueueReadBuffer(e.queue, oneshot, CL_TRUE, 0,
                                                 n * qrow * sizeof(float), got, 0, NULL, NULL),
                             CL_SUCCESS);
            assert_int_equal(tu_compare(got, ref, n * qrow, SWACL_F32, tol, "one-shot").n_bad, 0);
            assert_int_equal(clEnqueueReadBuffer(e.queue, batch_out, CL_TRUE, 0,
                                                 n * qrow * sizeof(float), got, 0, NULL, NULL),
                             CL_SUCCESS);
            assert_int_equal(tu_compare(got, ref, n * qrow, SWACL_F32, tol, "batch").n_bad, 0);
        }
    }
    free(got);
    free(ref);
    free(bgot);
    clReleaseEvent(wd.gate);
    pthread_mutex_destroy(&wd.lock);
    pthread_cond_destroy(&wd.cond);
    cl_mem all[] = {bq, bk, bv, bout, oneshot, batch_out};
    swacl_cache_destroy(mixed);
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        clReleaseMemObject(all[i]);
    for (int b = 0; b < batch; b++) {
        clReleaseMemObject(pq[b]);
        clReleaseMemObject(pk[b]);
        clReleaseMemObject(pv[b]);
        clReleaseMemObject(pout[b]);
    }
    swacl_cache_destroy(cache);
    swacl_context_destroy(ctx);
    engine_close(&e);
    free(q);
    free(k);
    free(v);
    free(dq);
    free(dk);
    free(dv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(borrows_and_gives_back_exactly_its_references),
        cmocka_unit_test(refuses_what_it_cannot_run_on),
        cmocka_unit_test(no_call_waits_on_the_queue),
    };
    return tu_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
