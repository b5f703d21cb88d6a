/* measure.c — timing: warm-up, repetitions calibrated to a target time,
 * median/min/max of samples; the rates of a timed row; the progress bar. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 64

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int bench_measure(bench_fn fn, void *arg, const bench_opts *opts, bench_stats *st, char *err,
                  size_t err_size)
{
    double kernel[MAX_SAMPLES], wall[MAX_SAMPLES], k;
    int samples = opts->samples < 1 ? 1 : opts->samples > MAX_SAMPLES ? MAX_SAMPLES : opts->samples;
    int have = 0, reps = 1;

    /* the first run pays for program builds and first-touch of buffers */
    if (fn(arg, 1, &k, err, err_size))
        return -1;
    double t0 = bench_now();
    if (fn(arg, 1, &k, err, err_size))
        return -1;
    double t1 = bench_now() - t0;
    if (t1 >= opts->target_s) {
        /* slow enough to be a sample by itself: keep it rather than run again */
        wall[0] = t1;
        kernel[0] = k >= 0 ? k : t1;
        have = 1;
    } else {
        double r = ceil(opts->target_s / (t1 > 1e-7 ? t1 : 1e-7));
        reps = r > 1e6 ? 1000000 : (int)r;
    }
    for (; have < samples; ++have) {
        t0 = bench_now();
        if (fn(arg, reps, &k, err, err_size))
            return -1;
        double w = bench_now() - t0;
        wall[have] = w / reps;
        kernel[have] = (k >= 0 ? k : w) / reps;
    }
    st->samples = samples;
    st->reps = reps;
    st->wall_s = median_of(wall, samples);
    st->median_s = median_of(kernel, samples); /* sorts: min and max are the ends */
    st->min_s = kernel[0];
    st->max_s = kernel[samples - 1];
    return 0;
}

void bench_row_times(prof_row *row, const bench_stats *st, double flops, double bytes,
                     double tokens, const bench_device *dev)
{
    row->samples = st->samples;
    row->reps = st->reps;
    row->time_ms = st->median_s * 1e3;
    row->time_min_ms = st->min_s * 1e3;
    row->time_max_ms = st->max_s * 1e3;
    row->wall_ms = st->wall_s * 1e3;
    if (!(st->median_s > 0))
        return;
    row->gflops = flops / st->median_s * 1e-9;
    row->bytes = bytes;
    row->gbs = bytes / st->median_s * 1e-9;
    row->tokens_per_s = tokens / st->median_s;
    if (dev->read_gbs > 0)
        row->pct_bw = 100.0 * row->gbs / dev->read_gbs;
    if (dev->sgemm_gflops > 0)
        row->pct_sgemm = 100.0 * row->gflops / dev->sgemm_gflops;
}

/* ---- progress bar ------------------------------------------------------------ */

static struct {
    int on;
    double start, total, done;
} progress;

void bench_progress_begin(const bench_opts *opts, double total_s)
{
    progress.on = opts->progress && isatty(STDERR_FILENO);
    progress.start = bench_now();
    progress.total = total_s > 0 ? total_s : 1;
    progress.done = 0;
}

static void fmt_clock(char *buf, size_t size, double s)
{
    long t = s > 0 ? (long)(s + 0.5) : 0;
    snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

void bench_progress_show(const char *label)
{
    if (!progress.on)
        return;
    double frac = progress.done / progress.total;
    frac = frac < 0 ? 0 : frac > 0.99 ? 0.99 : frac; /* estimates run over; never claim done */
    double elapsed = bench_now() - progress.start;
    char e[48], left[48], bar[31];
    int filled = (int)(frac * 30);
    for (int i = 0; i < 30; ++i)
        bar[i] = i < filled ? '#' : '-';
    bar[30] = '\0';
    fmt_clock(e, sizeof e, elapsed);
    /* the estimate's remainder, scaled by how far the run is from it so far */
    double pace = frac > 0.05 ? elapsed / (progress.total * frac) : 1.0;
    fmt_clock(left, sizeof left, (progress.total - progress.done) * pace);
    fprintf(stderr, "\r\033[K[%s] %3d%%  %s  ~%s left  %.60s", bar, (int)(frac * 100), e, left,
            label);
    fflush(stderr);
}

void bench_progress_advance(double estimated_s) { progress.done += estimated_s; }

void bench_progress_end(void)
{
    if (progress.on) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    progress.on = 0;
}

const char *bench_cl_error(cl_int err)
{
    switch (err) {
#define CASE_(x) \
    case x:      \
        return #x;
        CASE_(CL_SUCCESS)
        CASE_(CL_DEVICE_NOT_FOUND)
        CASE_(CL_DEVICE_NOT_AVAILABLE)
        CASE_(CL_COMPILER_NOT_AVAILABLE)
        CASE_(CL_MEM_OBJECT_ALLOCATION_FAILURE)
        CASE_(CL_OUT_OF_RESOURCES)
        CASE_(CL_OUT_OF_HOST_MEMORY)
        CASE_(CL_BUILD_PROGRAM_FAILURE)
        CASE_(CL_INVALID_VALUE)
        CASE_(CL_INVALID_DEVICE)
        CASE_(CL_INVALID_CONTEXT)
        CASE_(CL_INVALID_COMMAND_QUEUE)
        CASE_(CL_INVALID_MEM_OBJECT)
        CASE_(CL_INVALID_BUFFER_SIZE)
        CASE_(CL_INVALID_PROGRAM)
        CASE_(CL_INVALID_PROGRAM_EXECUTABLE)
        CASE_(CL_INVALID_KERNEL_NAME)
        CASE_(CL_INVALID_KERNEL)
        CASE_(CL_INVALID_ARG_INDEX)
        CASE_(CL_INVALID_ARG_VALUE)
        CASE_(CL_INVALID_ARG_SIZE)
        CASE_(CL_INVALID_KERNEL_ARGS)
        CASE_(CL_INVALID_WORK_DIMENSION)
        CASE_(CL_INVALID_WORK_GROUP_SIZE)
        CASE_(CL_INVALID_WORK_ITEM_SIZE)
        CASE_(CL_INVALID_GLOBAL_OFFSET)
        CASE_(CL_INVALID_OPERATION)
        CASE_(CL_INVALID_GLOBAL_WORK_SIZE)
#undef CASE_
    default:
        return "OpenCL error";
    }
}
