/* context.c — the context (docs/design.md §5, §6): device, OpenCL context and
 * in-order queue (its own, or the caller's), kernel cache location, scratch buffers,
 * per-call uploads, and enqueue helpers that carry profiling (OpenCL event times),
 * the last event and fault injection. */
#include "bincache.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* reserved option fields must be zero (swacl.h: how option structs grow) */
static swacl_status swacl_check_reserved(const swacl_context_options *opt, const char *fn)
{
    for (size_t i = 0; i < sizeof opt->reserved / sizeof opt->reserved[0]; i++)
        if (opt->reserved[i])
            return swacl_fail(NULL, SWACL_ERR_INVALID_ARGUMENT,
                              "%s: options.reserved[%zu] is %d: reserved fields must be zero", fn,
                              i, opt->reserved[i]);
    return SWACL_OK;
}

swacl_status swacl_context_create(const swacl_context_options *opt, swacl_context **out)
{
    if (!out)
        return swacl_fail(NULL, SWACL_ERR_INVALID_ARGUMENT, "swacl_context_create: out is NULL");
    *out = NULL;
    swacl_context_options defaults = {0};
    if (!opt)
        opt = &defaults;
    swacl_status s = swacl_check_reserved(opt, "swacl_context_create");
    if (s != SWACL_OK)
        return s;
    const char *sel = opt->device ? opt->device : getenv("SWACL_DEVICE");

    swacl_context *ctx = swacl_calloc(1, sizeof *ctx);
    if (!ctx)
        return swacl_fail(NULL, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
    char msg[SWACL_ERR_MSG_MAX];
    s = swacl_device_select(sel, &ctx->caps, msg, sizeof msg);
    if (s != SWACL_OK) {
        free(ctx);
        return swacl_fail(NULL, s, "%s", msg);
    }
    ctx->params = swacl_params_for(&ctx->caps);
    ctx->profiling = opt->profiling != 0;

    cl_int err;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)ctx->caps.platform,
                                     0};
    ctx->cl_ctx = clCreateContext(props, 1, &ctx->caps.device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        s = swacl_fail_cl(NULL, err, "clCreateContext");
        free(ctx);
        return s;
    }
    ctx->queue = clCreateCommandQueue(ctx->cl_ctx, ctx->caps.device,
                                      ctx->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    if (err != CL_SUCCESS) {
        s = swacl_fail_cl(NULL, err, "clCreateCommandQueue");
        clReleaseContext(ctx->cl_ctx);
        free(ctx);
        return s;
    }
    ctx->cache_dir = swacl_bincache_dir(opt->cache_dir); /* NULL: caching off */
    *out = ctx;
    return SWACL_OK;
}

swacl_status swacl_context_create_cl(cl_context cl, cl_device_id dev, cl_command_queue queue,
                                     const swacl_context_options *opt, swacl_context **out)
{
    static const char fn[] = "swacl_context_create_cl";
    if (!out)
        return swacl_fail(NULL, SWACL_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    if (!cl || !dev || !queue)
        return swacl_fail(NULL, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: context, device and queue are all needed", fn);
    cl_context qctx = NULL;
    cl_device_id qdev = NULL;
    cl_command_queue_properties props = 0;
    cl_int err = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof qctx, &qctx, NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof qdev, &qdev, NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
    if (err != CL_SUCCESS)
        return swacl_fail(NULL, SWACL_ERR_INVALID_ARGUMENT, "%s: queue is not a command queue (%s)",
                          fn, swacl_cl_error_name(err));
    if (qctx != cl || qdev != dev)
        return swacl_fail(NULL, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: the queue belongs to another context or device", fn);
    /* append, attend and merge rely on running in the order they are enqueued */
    if (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        return swacl_fail(NULL, SWACL_ERR_UNSUPPORTED, "%s: the queue is out of order; swacl "
                          "needs an in-order queue", fn);
    if (opt) {
        swacl_status s = swacl_check_reserved(opt, fn);
        if (s != SWACL_OK)
            return s;
    }
    const int profiling = opt && opt->profiling;
    if (profiling && !(props & CL_QUEUE_PROFILING_ENABLE))
        return swacl_fail(NULL, SWACL_ERR_UNSUPPORTED,
                          "%s: profiling asked for, but the queue was created without "
                          "CL_QUEUE_PROFILING_ENABLE",
                          fn);
    swacl_context *ctx = swacl_calloc(1, sizeof *ctx);
    if (!ctx)
        return swacl_fail(NULL, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
    char msg[SWACL_ERR_MSG_MAX];
    swacl_status s = swacl_device_describe(dev, &ctx->caps, msg, sizeof msg);
    if (s != SWACL_OK) {
        free(ctx);
        return swacl_fail(NULL, s, "%s: %s", fn, msg);
    }
    ctx->params = swacl_params_for(&ctx->caps);
    ctx->profiling = profiling;
    ctx->borrowed = 1;
    /* our own references, released by swacl_context_destroy */
    clRetainContext(cl);
    clRetainCommandQueue(queue);
    ctx->cl_ctx = cl;
    ctx->queue = queue;
    ctx->cache_dir = swacl_bincache_dir(opt ? opt->cache_dir : NULL);
    *out = ctx;
    return SWACL_OK;
}

swacl_status swacl_last_event(swacl_context *ctx, cl_event *out)
{
    if (!ctx || !out)
        return ctx ? swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT, "swacl_last_event: out is NULL")
                   : SWACL_ERR_INVALID_ARGUMENT;
    *out = ctx->last_event;
    if (!*out)
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "swacl_last_event: nothing has been enqueued on this context yet");
    clRetainEvent(*out);
    return SWACL_OK;
}

/* the event of a command just enqueued becomes the last one (the reference moves in) */
static void set_last_event(swacl_context *ctx, cl_event ev)
{
    if (ctx->last_event)
        clReleaseEvent(ctx->last_event);
    ctx->last_event = ev;
}

void swacl_context_destroy(swacl_context *ctx)
{
    if (!ctx)
        return;
    /* an own queue is drained; a borrowed one goes on running the caller's work, and
       OpenCL keeps every object its commands use alive until they complete */
    if (ctx->queue && !ctx->borrowed)
        clFinish(ctx->queue);
    for (int e = 0; e < ctx->n_events; e++)
        clReleaseEvent(ctx->events[e]);
    if (ctx->last_event)
        clReleaseEvent(ctx->last_event);
    swacl_programs_release(ctx);
    for (int i = 0; i < (int)(sizeof ctx->scratch / sizeof ctx->scratch[0]); i++)
        if (ctx->scratch[i])
            clReleaseMemObject(ctx->scratch[i]);
    if (ctx->queue)
        clReleaseCommandQueue(ctx->queue);
    if (ctx->cl_ctx)
        clReleaseContext(ctx->cl_ctx);
    free(ctx->cache_dir);
    free(ctx);
}

cl_context swacl_context_cl_context(const swacl_context *ctx) { return ctx ? ctx->cl_ctx : NULL; }
cl_command_queue swacl_context_cl_queue(const swacl_context *ctx) { return ctx ? ctx->queue : NULL; }
cl_device_id swacl_context_cl_device(const swacl_context *ctx) { return ctx ? ctx->caps.device : NULL; }

swacl_status swacl_context_device_info(const swacl_context *ctx, swacl_device_info *out)
{
    if (!ctx || !out)
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_caps_to_info(&ctx->caps, out);
    /* the parameter set this context was made with ($SWACL_PARAMS then, not now) */
    snprintf(out->params, sizeof out->params, "%s", ctx->params.name);
    swacl_params_describe(&ctx->params, out->params_detail, sizeof out->params_detail);
    return SWACL_OK;
}

swacl_status swacl_finish(swacl_context *ctx)
{
    if (!ctx)
        return SWACL_ERR_INVALID_ARGUMENT;
    cl_int err = clFinish(ctx->queue);
    return err == CL_SUCCESS ? SWACL_OK : swacl_fail_cl(ctx, err, "clFinish");
}

/* sums the times of the pending kernel events (they must have completed) */
static void fold_events(swacl_context *ctx)
{
    for (int e = 0; e < ctx->n_events; e++) {
        cl_ulong t0 = 0, t1 = 0;
        if (clGetEventProfilingInfo(ctx->events[e], CL_PROFILING_COMMAND_START, sizeof t0, &t0,
                                    NULL) == CL_SUCCESS &&
            clGetEventProfilingInfo(ctx->events[e], CL_PROFILING_COMMAND_END, sizeof t1, &t1,
                                    NULL) == CL_SUCCESS &&
            t1 >= t0) {
            ctx->prof_ms += (double)(t1 - t0) * 1e-6;
            ctx->prof_kernels++;
        }
        clReleaseEvent(ctx->events[e]);
    }
    ctx->n_events = 0;
}

swacl_status swacl_profile_read(swacl_context *ctx, swacl_profile *out)
{
    if (!ctx || !out)
        return SWACL_ERR_INVALID_ARGUMENT;
    if (!ctx->profiling)
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "profiling is off: create the context with options.profiling = 1");
    swacl_status s = swacl_finish(ctx);
    if (s != SWACL_OK)
        return s;
    fold_events(ctx);
    out->kernel_ms = ctx->prof_ms;
    out->n_kernels = ctx->prof_kernels;
    ctx->prof_ms = 0;
    ctx->prof_kernels = 0;
    return SWACL_OK;
}

swacl_status swacl_enqueue(swacl_context *ctx, cl_kernel k, cl_uint dims, const size_t *global,
                           const size_t *local, const char *what)
{
    if (swacl_fault_hit(SWACL_FAULT_ENQUEUE))
        return swacl_fail(ctx, SWACL_ERR_OPENCL, "%s: injected enqueue failure", what);
    if (ctx->profiling && ctx->n_events == SWACL_MAX_EVENTS) {
        /* bound the pending list: wait for what is queued and bank its times */
        clFinish(ctx->queue);
        fold_events(ctx);
    }
    cl_event ev = NULL;
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, k, dims, NULL, global, local, 0, NULL, &ev);
    if (err != CL_SUCCESS)
        return swacl_fail_cl(ctx, err, what);
    if (ctx->profiling && clRetainEvent(ev) == CL_SUCCESS)
        ctx->events[ctx->n_events++] = ev;
    set_last_event(ctx, ev);
    return SWACL_OK;
}

swacl_status swacl_buffer(swacl_context *ctx, cl_mem_flags flags, size_t size, void *host,
                          cl_mem *out, const char *what)
{
    *out = NULL;
    if (swacl_fault_hit(SWACL_FAULT_CL_ALLOC))
        return swacl_fail(ctx, SWACL_ERR_OUT_OF_MEMORY, "%s (%zu bytes): injected allocation failure",
                          what, size);
    if (size > ctx->caps.max_alloc)
        return swacl_fail(ctx, SWACL_ERR_OUT_OF_MEMORY,
                          "%s: %zu bytes exceed the device's largest allocation (%llu)", what,
                          size, (unsigned long long)ctx->caps.max_alloc);
    cl_int err;
    cl_mem m = clCreateBuffer(ctx->cl_ctx, flags, size ? size : 1, host, &err);
    if (err != CL_SUCCESS)
        return swacl_fail_cl(ctx, err, what);
    *out = m;
    return SWACL_OK;
}

swacl_status swacl_scratch(swacl_context *ctx, int slot, size_t size, cl_mem *out)
{
    if (ctx->scratch[slot] && ctx->scratch_size[slot] >= size) {
        *out = ctx->scratch[slot];
        return SWACL_OK;
    }
    /* grow geometrically so alternating sizes do not reallocate every call */
    size_t want = size + size / 2;
    cl_mem m;
    swacl_status s = swacl_buffer(ctx, CL_MEM_READ_WRITE, want, NULL, &m, "scratch buffer");
    if (s != SWACL_OK)
        return s;
    /* earlier launches may still use the old one: OpenCL deletes it once they are done */
    if (ctx->scratch[slot])
        clReleaseMemObject(ctx->scratch[slot]);
    ctx->scratch[slot] = m;
    ctx->scratch_size[slot] = want;
    *out = m;
    return SWACL_OK;
}

swacl_status swacl_check_buffer(swacl_context *ctx, cl_mem buf, size_t need, const char *fn,
                                const char *name)
{
    size_t have = 0;
    if (!buf)
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, name);
    cl_context owner = NULL;
    cl_int err = clGetMemObjectInfo(buf, CL_MEM_SIZE, sizeof have, &have, NULL);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(buf, CL_MEM_CONTEXT, sizeof owner, &owner, NULL);
    if (err != CL_SUCCESS)
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT, "%s: %s is not a buffer (%s)", fn, name,
                          swacl_cl_error_name(err));
    if (owner != ctx->cl_ctx)
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: %s belongs to another OpenCL context than this swacl context's",
                          fn, name);
    if (have < need)
        return swacl_fail(ctx, SWACL_ERR_INVALID_ARGUMENT,
                          "%s: %s holds %zu bytes, %zu needed", fn, name, have, need);
    return SWACL_OK;
}

swacl_status swacl_write(swacl_context *ctx, cl_mem buf, size_t offset, size_t size,
                         const void *src, const char *what)
{
    if (swacl_fault_hit(SWACL_FAULT_ENQUEUE))
        return swacl_fail(ctx, SWACL_ERR_OPENCL, "%s: injected enqueue failure", what);
    cl_int err = clEnqueueWriteBuffer(ctx->queue, buf, CL_TRUE, offset, size, src, 0, NULL, NULL);
    return err == CL_SUCCESS ? SWACL_OK : swacl_fail_cl(ctx, err, what);
}

swacl_status swacl_upload(swacl_context *ctx, size_t size, const void *host, cl_mem *out,
                          const char *what)
{
    /* the copy happens here, on the host: nothing is enqueued and nothing waits */
    return swacl_buffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, size, (void *)host, out,
                        what);
}

swacl_status swacl_zero(swacl_context *ctx, cl_mem buf, size_t offset, size_t size,
                        const char *what)
{
    if (swacl_fault_hit(SWACL_FAULT_ENQUEUE))
        return swacl_fail(ctx, SWACL_ERR_OPENCL, "%s: injected enqueue failure", what);
    /* non-blocking writes from a block of zeros that lives as long as the program, so
       nothing waits and no host memory needs keeping alive (oclgrind's uninitialized-
       value check does not count clEnqueueFillBuffer's bytes as written) */
    static unsigned char zeros[1 << 20]; /* never written: read by the writes below */
    for (size_t done = 0; done < size;) {
        const size_t n = size - done < sizeof zeros ? size - done : sizeof zeros;
        cl_event ev = NULL;
        cl_int err = clEnqueueWriteBuffer(ctx->queue, buf, CL_FALSE, offset + done, n, zeros, 0,
                                          NULL, &ev);
        if (err != CL_SUCCESS)
            return swacl_fail_cl(ctx, err, what);
        set_last_event(ctx, ev);
        done += n;
    }
    return SWACL_OK;
}

swacl_status swacl_read(swacl_context *ctx, cl_mem buf, size_t offset, size_t size, void *dst,
                        const char *what)
{
    if (swacl_fault_hit(SWACL_FAULT_ENQUEUE))
        return swacl_fail(ctx, SWACL_ERR_OPENCL, "%s: injected enqueue failure", what);
    cl_int err = clEnqueueReadBuffer(ctx->queue, buf, CL_TRUE, offset, size, dst, 0, NULL, NULL);
    return err == CL_SUCCESS ? SWACL_OK : swacl_fail_cl(ctx, err, what);
}
