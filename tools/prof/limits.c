/* limits.c — the device itself: opened through swacl's public API, the tool's
 * kernel files built for it, then its own limits measured with cl/limits.cl and
 * CLBlast (bandwidth, FMA rate, SGEMM rate, host transfers, launch latency). */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef SWACL_PROF_HAVE_CLBLAST
#include <clblast_c.h>
#endif

/* the tool's kernel files (tools/prof/cl/), embedded by cmake/embed_kernels.cmake */
struct prof_kernel_source {
    const char *name;
    const char *text;
    size_t size;
};
extern const struct prof_kernel_source prof_kernel_sources[];

#define FMA_ITERS 2048
#define FMA_CHAINS 8 /* independent chains per work-item in fma_rate */

int bench_device_open(const char *selector, bench_device *dev, char *err, size_t err_size)
{
    memset(dev, 0, sizeof *dev);
    swacl_context_options opt;
    memset(&opt, 0, sizeof opt);
    opt.device = selector;
    opt.profiling = 1; /* kernel times come from the library's OpenCL events */
    swacl_status st = swacl_context_create(&opt, &dev->ctx);
    if (st != SWACL_OK) {
        snprintf(err, err_size, "%s: %s", swacl_status_string(st), swacl_last_error(NULL));
        return -1;
    }
    st = swacl_context_device_info(dev->ctx, &dev->info);
    if (st != SWACL_OK) {
        snprintf(err, err_size, "device info: %s", swacl_last_error(dev->ctx));
        swacl_context_destroy(dev->ctx);
        dev->ctx = NULL;
        return -1;
    }
    dev->cl = swacl_context_cl_context(dev->ctx);
    dev->queue = swacl_context_cl_queue(dev->ctx);
    dev->id = swacl_context_cl_device(dev->ctx);
    dev->is_gpu = strcmp(dev->info.type, "gpu") == 0;
    dev->read_gbs = dev->sgemm_gflops = dev->fma_gflops = dev->launch_s = NAN;
    return 0;
}

void bench_device_close(bench_device *dev)
{
    swacl_context_destroy(dev->ctx);
    dev->ctx = NULL;
}

cl_mem bench_buffer(const bench_device *dev, size_t count, const float *host, cl_int *rc)
{
    cl_mem m = clCreateBuffer(dev->cl, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                              count * sizeof(float), (void *)host, rc);
    return *rc == CL_SUCCESS ? m : NULL;
}

void bench_release(cl_mem *m)
{
    if (*m)
        clReleaseMemObject(*m);
    *m = NULL;
}

cl_program bench_build_program(const bench_device *dev, const char *file, const char *options,
                               char *err, size_t err_size)
{
    const struct prof_kernel_source *e = prof_kernel_sources;
    while (e->name && strcmp(e->name, file) != 0)
        ++e;
    const char *text = e->text;
    size_t size = e->size;
    cl_int rc = CL_INVALID_VALUE;
    cl_program prog = e->name ? clCreateProgramWithSource(dev->cl, 1, &text, &size, &rc) : NULL;
    if (rc == CL_SUCCESS)
        rc = clBuildProgram(prog, 1, &dev->id, options, NULL, NULL);
    if (rc == CL_SUCCESS)
        return prog;
    size_t log_size = 0;
    if (prog)
        clGetProgramBuildInfo(prog, dev->id, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_size);
    char *log = prof_xrealloc(NULL, log_size + 1);
    log[0] = log[log_size] = '\0';
    if (prog)
        clGetProgramBuildInfo(prog, dev->id, CL_PROGRAM_BUILD_LOG, log_size, log, NULL);
    snprintf(err, err_size, "%s: %s (%d)%s%s", file, e->name ? bench_cl_error(rc) : "not embedded",
             rc, log[0] ? ": " : "", log);
    free(log);
    if (prog)
        clReleaseProgram(prog);
    return NULL;
}

/* ---- one measurement ----------------------------------------------------------- */

typedef enum limit_op { OP_KERNEL, OP_WRITE, OP_READ, OP_LAUNCH, OP_SGEMM } limit_op;

typedef struct limit_job {
    bench_device *dev;
    limit_op op;
    cl_kernel kernel;
    size_t global, local; /* local 0 = the driver's choice */
    cl_mem a, b, c;
    void *host;
    size_t bytes;
    int gemm_n;
} limit_job;

static int limit_run(void *arg, int reps, double *kernel_s, char *err, size_t err_size)
{
    limit_job *j = arg;
    cl_command_queue q = j->dev->queue;
    cl_int rc = CL_SUCCESS;
    *kernel_s = -1; /* wall time: these include what a user of the device pays */
    for (int r = 0; r < reps && rc == CL_SUCCESS; ++r) {
        switch (j->op) {
        case OP_KERNEL:
            rc = clEnqueueNDRangeKernel(q, j->kernel, 1, NULL, &j->global, j->local ? &j->local : NULL,
                                        0, NULL, NULL);
            break;
        case OP_WRITE:
            rc = clEnqueueWriteBuffer(q, j->a, CL_FALSE, 0, j->bytes, j->host, 0, NULL, NULL);
            break;
        case OP_READ:
            rc = clEnqueueReadBuffer(q, j->a, CL_FALSE, 0, j->bytes, j->host, 0, NULL, NULL);
            break;
        case OP_LAUNCH: /* a round trip per launch: what a synchronous caller waits */
            rc = clEnqueueNDRangeKernel(q, j->kernel, 1, NULL, &j->global, NULL, 0, NULL, NULL);
            if (rc == CL_SUCCESS)
                rc = clFinish(q);
            break;
        case OP_SGEMM: {
#ifdef SWACL_PROF_HAVE_CLBLAST
            size_t n = (size_t)j->gemm_n;
            CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo,
                                               CLBlastTransposeNo, n, n, n, 1.0f, j->a, 0, n, j->b,
                                               0, n, 0.0f, j->c, 0, n, &q, NULL);
            if (s != CLBlastSuccess) {
                snprintf(err, err_size, "CLBlastSgemm: status %d", (int)s);
                return -1;
            }
#endif
            break;
        }
        }
    }
    if (rc == CL_SUCCESS)
        rc = clFinish(q);
    if (rc != CL_SUCCESS) {
        snprintf(err, err_size, "%s (%d)", bench_cl_error(rc), rc);
        return -1;
    }
    return 0;
}

/* Measures and records one limit. amount: bytes or FLOPs per operation (the
 * value is amount / time in G/s), or 0 for a latency in microseconds. */
static double limit_row(bench_device *dev, const bench_opts *opts, const char *name,
                        const char *unit, double amount, limit_job *job)
{
    prof_row *row = prof_suite_add_row(prof_device_suite(dev->rec, "limits"), name);
    prof_strlcpy(row->unit, unit, sizeof row->unit);
    bench_stats st;
    char err[256];
    char label[64];
    snprintf(label, sizeof label, "limits: %s", name);
    bench_progress_show(label);
    if (bench_measure(limit_run, job, opts, &st, err, sizeof err)) {
        prof_row_set_status(row, PROF_ERROR, "%s", err);
        return NAN;
    }
    row->samples = st.samples;
    row->reps = st.reps;
    if (amount > 0) {
        row->value = amount / st.median_s * 1e-9;
        row->value_min = amount / st.max_s * 1e-9;
        row->value_max = amount / st.min_s * 1e-9;
    } else {
        row->value = st.median_s * 1e6;
        row->value_min = st.min_s * 1e6;
        row->value_max = st.max_s * 1e6;
    }
    return amount > 0 ? row->value : st.median_s;
}

static void fail_row(bench_device *dev, const char *name, const char *unit, prof_status s,
                     const char *reason)
{
    prof_row *row = prof_suite_add_row(prof_device_suite(dev->rec, "limits"), name);
    prof_strlcpy(row->unit, unit, sizeof row->unit);
    prof_row_set_status(row, s, "%s", reason);
}

static cl_mem make_buffer(bench_device *dev, size_t bytes, cl_int *rc)
{
    cl_mem m = bench_buffer(dev, bytes / sizeof(float), NULL, rc);
    /* written once so that no measurement pays for first-touch page faults */
    float zero = 0.0f;
    if (m && (*rc = clEnqueueFillBuffer(dev->queue, m, &zero, sizeof zero, 0, bytes, 0, NULL,
                                        NULL)) == CL_SUCCESS)
        *rc = clFinish(dev->queue);
    if (*rc != CL_SUCCESS)
        bench_release(&m);
    return m;
}

static void measure_sgemm(bench_device *dev, const bench_opts *opts)
{
#ifdef SWACL_PROF_HAVE_CLBLAST
    static const int quick_sizes[] = {512, 1024};
    static const int full_sizes[] = {256, 512, 1024, 2048, 4096};
    const int *sizes = opts->quick ? quick_sizes : full_sizes;
    int n_sizes = opts->quick ? 2 : (dev->is_gpu ? 5 : 4); /* 4096 takes minutes on a CPU */
    int max_n = sizes[n_sizes - 1];
    size_t bytes = (size_t)max_n * (size_t)max_n * sizeof(float);
    cl_int rc;
    limit_job job = {dev, OP_SGEMM, NULL, 0, 0, NULL, NULL, NULL, NULL, 0, 0};
    job.a = make_buffer(dev, bytes, &rc);
    job.b = job.a ? make_buffer(dev, bytes, &rc) : NULL;
    job.c = job.b ? make_buffer(dev, bytes, &rc) : NULL;
    for (int i = 0; i < n_sizes; ++i) {
        char name[32];
        snprintf(name, sizeof name, "sgemm_%d", sizes[i]);
        if (!job.c) {
            char why[96];
            snprintf(why, sizeof why, "buffers: %s (%d)", bench_cl_error(rc), rc);
            fail_row(dev, name, "GFLOP/s", PROF_ERROR, why);
            continue;
        }
        job.gemm_n = sizes[i];
        double n = sizes[i];
        double v = limit_row(dev, opts, name, "GFLOP/s", 2 * n * n * n, &job);
        if (isfinite(v) && !(dev->sgemm_gflops >= v))
            dev->sgemm_gflops = v;
    }
    bench_release(&job.a), bench_release(&job.b), bench_release(&job.c);
#else
    fail_row(dev, "sgemm", "GFLOP/s", PROF_UNSUPPORTED, "swacl-prof was built without CLBlast");
    (void)opts;
#endif
}

double limits_estimate_s(const bench_opts *opts)
{
    /* 10 measurements of warm-up + calibration + samples, and CLBlast's first
     * program build (seconds on a CPU device) */
    return 10 * (opts->samples + 2) * opts->target_s + 5;
}

void limits_run(bench_device *dev, const bench_opts *opts)
{
    cl_int rc;
    cl_program prog = NULL;
    cl_kernel k_read = NULL, k_copy = NULL, k_fma = NULL, k_empty = NULL;
    cl_mem in = NULL, out = NULL, small = NULL;
    void *host = NULL;
    char reason[1024];

    /* fma_rate's vectors: the device's native float width, at least 4 (8 with AVX2) */
    cl_uint fma_w = 0;
    clGetDeviceInfo(dev->id, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof fma_w, &fma_w, NULL);
    fma_w = fma_w >= 16 ? 16 : fma_w >= 8 ? 8 : 4;
    char fma_opt[32];
    snprintf(fma_opt, sizeof fma_opt, "-DFMA_W=%u", fma_w);
    if (!(prog = bench_build_program(dev, "limits.cl", fma_opt, reason, sizeof reason))) {
        fail_row(dev, "read_bw", "GB/s", PROF_ERROR, reason);
        goto gemm;
    }
    k_read = clCreateKernel(prog, dev->is_gpu ? "read_coalesced" : "read_contig", &rc);
    k_copy = clCreateKernel(prog, dev->is_gpu ? "copy_coalesced" : "copy_contig", &rc);
    k_fma = clCreateKernel(prog, "fma_rate", &rc);
    k_empty = clCreateKernel(prog, "empty", &rc);

    /* streams must be well past the last-level cache */
    size_t bytes = (size_t)(opts->quick ? 128 : 512) << 20;
    while (bytes > 16u << 20 && (bytes * 2 > dev->info.max_alloc_bytes ||
                                 bytes * 4 > dev->info.global_mem_bytes))
        bytes /= 2;
    size_t n4 = bytes / 16;
    size_t items, local;
    if (dev->is_gpu) {
        local = dev->info.max_work_group_size >= 256 ? 256 : (size_t)dev->info.max_work_group_size;
        items = (size_t)dev->info.compute_units * 2048;
        items = (items + local - 1) / local * local;
    } else {
        local = 1; /* one work-item per work-group: one stream per core thread */
        items = (size_t)dev->info.compute_units * 4;
    }
    n4 = n4 / items * items;
    bytes = n4 * 16;
    cl_uint stream_arg = dev->is_gpu ? (cl_uint)n4 : (cl_uint)(n4 / items);

    size_t fma_local = dev->is_gpu ? local : 16;
    size_t fma_items = (size_t)dev->info.compute_units * (dev->is_gpu ? 2048 : 64);
    fma_items = (fma_items + fma_local - 1) / fma_local * fma_local;

    in = make_buffer(dev, bytes, &rc);
    out = in ? make_buffer(dev, bytes, &rc) : NULL;
    /* one float per work-item keeps every kernel's result alive */
    small = out ? make_buffer(dev, (items > fma_items ? items : fma_items) * sizeof(float), &rc)
                : NULL;
    if (!small) {
        snprintf(reason, sizeof reason, "%zu MiB buffers: %s (%d)", bytes >> 20, bench_cl_error(rc),
                 rc);
        fail_row(dev, "read_bw", "GB/s", PROF_ERROR, reason);
        goto gemm;
    }

    limit_job job = {dev, OP_KERNEL, k_read, items, local, NULL, NULL, NULL, NULL, 0, 0};
    clSetKernelArg(k_read, 0, sizeof in, &in);
    clSetKernelArg(k_read, 1, sizeof small, &small);
    clSetKernelArg(k_read, 2, sizeof stream_arg, &stream_arg);
    dev->read_gbs = limit_row(dev, opts, "read_bw", "GB/s", (double)bytes, &job);

    job.kernel = k_copy;
    clSetKernelArg(k_copy, 0, sizeof in, &in);
    clSetKernelArg(k_copy, 1, sizeof out, &out);
    clSetKernelArg(k_copy, 2, sizeof stream_arg, &stream_arg);
    limit_row(dev, opts, "copy_bw", "GB/s", 2.0 * (double)bytes, &job); /* read + write */

    cl_float a = 0.999f, b = 0.001f; /* a fixed point near 1: no overflow, no denormals */
    cl_uint iters = FMA_ITERS;
    clSetKernelArg(k_fma, 0, sizeof small, &small);
    clSetKernelArg(k_fma, 1, sizeof a, &a);
    clSetKernelArg(k_fma, 2, sizeof b, &b);
    clSetKernelArg(k_fma, 3, sizeof iters, &iters);
    job.kernel = k_fma;
    job.global = fma_items;
    job.local = fma_local <= (size_t)dev->info.max_work_group_size ? fma_local : 0;
    dev->fma_gflops = limit_row(dev, opts, "fma", "GFLOP/s",
                                (double)fma_items * FMA_ITERS * FMA_CHAINS * fma_w * 2.0, &job);

    /* host transfers from ordinary (pageable) memory: what an engine's buffers are */
    size_t xfer = (size_t)(opts->quick ? 32 : 128) << 20;
    if (xfer > bytes)
        xfer = bytes;
    host = prof_xrealloc(NULL, xfer);
    memset(host, 1, xfer);
    job.op = OP_WRITE;
    job.a = in;
    job.host = host;
    job.bytes = xfer;
    limit_row(dev, opts, "host_to_device", "GB/s", (double)xfer, &job);
    job.op = OP_READ;
    limit_row(dev, opts, "device_to_host", "GB/s", (double)xfer, &job);

    job.op = OP_LAUNCH;
    job.kernel = k_empty;
    job.global = 1;
    clSetKernelArg(k_empty, 0, sizeof small, &small);
    dev->launch_s = limit_row(dev, opts, "launch_latency", "us", 0, &job);

gemm:
    measure_sgemm(dev, opts);
    free(host);
    bench_release(&in), bench_release(&out), bench_release(&small);
    cl_kernel kernels[] = {k_read, k_copy, k_fma, k_empty};
    for (int i = 0; i < 4; ++i)
        if (kernels[i])
            clReleaseKernel(kernels[i]);
    if (prog)
        clReleaseProgram(prog);
}
