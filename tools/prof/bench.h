/* bench.h — the measuring half of swacl-prof: one opened device, run options,
 * timing and calibration, verification, device limits, swacl suites, baselines. */
#ifndef SWACL_PROF_BENCH_H
#define SWACL_PROF_BENCH_H

#include "prof.h"

#define BENCH_MAX_LIST 16

enum {
    BENCH_LIMITS = 1 << 0,
    BENCH_PREFILL = 1 << 1,
    BENCH_CHUNKED = 1 << 2,
    BENCH_DECODE = 1 << 3,
    BENCH_BASELINES = 1 << 4,
    BENCH_ALL = (1 << 5) - 1, /* the default: every suite that needs no model file */
    BENCH_E2E = 1 << 5        /* a whole model (--model FILE.gguf) */
};

typedef struct bench_opts {
    int quick;
    int suites;           /* BENCH_* mask */
    int samples;          /* timed samples per measurement (median, min, max of them) */
    double target_s;      /* one sample lasts at least this long: repetitions are calibrated */
    double max_run_s;     /* rows whose single run is estimated longer are skipped */
    int progress;         /* progress bar on stderr (only when it is a terminal) */
    prof_shape shapes[BENCH_MAX_LIST];
    int n_shapes, named_given; /* named_given: --shapes replaced the default named set */
    int n_list[BENCH_MAX_LIST], n_n;
    int batches[BENCH_MAX_LIST], n_batches;
    swacl_dtype kv[2];
    int n_kv, kv_given;
    const char *model_path; /* e2e: the GGUF model */
} bench_opts;

/* one device opened through the public API; rows go into rec */
typedef struct bench_device {
    swacl_context *ctx;
    cl_context cl;
    cl_command_queue queue;
    cl_device_id id;
    swacl_device_info info;
    int is_gpu;
    prof_device *rec;
    /* measured limits (NaN until measured) used for percentages and estimates */
    double read_gbs, sgemm_gflops, fma_gflops, launch_s;
    /* useful GFLOP/s the last finished row of each job kind reached (0 = none
     * yet): later estimates of that kind use it instead of assumed efficiencies */
    double seen_gflops[8];
} bench_device;

/* elements of n tokens' q (or out) rows, and of their k (or v) rows */
static inline size_t bench_q_elems(const swacl_attn_config *cfg, int n)
{
    return (size_t)n * (size_t)cfg->n_heads * (size_t)cfg->head_dim;
}
static inline size_t bench_kv_elems(const swacl_attn_config *cfg, int n)
{
    return (size_t)n * (size_t)cfg->n_kv_heads * (size_t)cfg->head_dim;
}

/* ---- timing (measure.c) ---------------------------------------------------- */

/* Runs reps operations and waits for them. *kernel_s: their summed kernel time
 * when the operation knows it, else a negative value (wall time is used).
 * Returns 0, or -1 with a reason in err. */
typedef int (*bench_fn)(void *arg, int reps, double *kernel_s, char *err, size_t err_size);

typedef struct bench_stats {
    double median_s, min_s, max_s; /* per operation, kernel time where known */
    double wall_s;                  /* per operation, median of enqueue + finish */
    int samples, reps;
} bench_stats;

double bench_now(void);
/* warm-up, calibrate repetitions to opts->target_s, then opts->samples samples */
int bench_measure(bench_fn fn, void *arg, const bench_opts *opts, bench_stats *st, char *err,
                  size_t err_size);
/* fills the time, wall, sample and rate fields of a timed row */
void bench_row_times(prof_row *row, const bench_stats *st, double flops, double bytes,
                     double tokens, const bench_device *dev);

/* a one-line bar on stderr when it is a terminal; total and steps in estimated seconds */
void bench_progress_begin(const bench_opts *opts, double total_s);
void bench_progress_show(const char *label);
void bench_progress_advance(double estimated_s);
void bench_progress_end(void);

/* "CL_OUT_OF_RESOURCES" and friends, for reasons */
const char *bench_cl_error(cl_int err);

/* ---- verification (check.c) ------------------------------------------------ */

/* small instances of a configuration that the reference can afford */
typedef struct check_instance {
    swacl_attn_config cfg;
    int n;     /* tokens */
    int chunk; /* prefill chunk for the cache paths */
} check_instance;
int check_instances(const swacl_attn_config *cfg, check_instance out[2]);
/* decode checks run this many sequences together (at different positions) */
#define CHECK_DECODE_SEQS 3
/* 1 if the reference over n tokens of cfg fits the checks' budget */
int check_affordable(const swacl_attn_config *cfg, int n);
void check_describe(const check_instance *inst, int n_inst, const char *extra, char *buf,
                    size_t size);
/* uniform [-1, 1), reproducible from *seed */
void check_fill(float *x, size_t n, uint64_t *seed);
/* A configuration's verdict, kept so that every row of it (sizes, batches)
 * reuses one check. status PROF_OK with done = 1 means verified. */
typedef struct check_result {
    int done;
    prof_status status;
    double max_err;   /* largest |out - reference| */
    long n_bad;       /* outputs outside the tolerance rule (runtime/tolerance.h) */
    char check[128];  /* what ran */
    char reason[256]; /* why not ok */
} check_result;
/* the slot for key (zeroed, done = 0, when new); slots are per device */
check_result *check_memo(const char *key);
void check_memo_clear(void);
/* copies a verdict into a row; -1 (and the row not ok) unless it is verified */
int check_memo_apply(const check_result *r, prof_row *row);
void check_result_fail(check_result *r, prof_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* a failed swacl call: unsupported stays unsupported, everything else is an error */
void check_result_swacl(check_result *r, swacl_context *ctx, swacl_status st, const char *what);
/* host inputs of a check, uniform [-1, 1) from seed, and an output that is NaN
 * until written */
typedef struct check_case {
    float *q, *k, *v, *out;
} check_case;
void check_case_alloc(const swacl_attn_config *cfg, int n, uint64_t seed, check_case *hc);
void check_case_free(check_case *hc);
/* swacl_reference_attention over the n tokens of q, k, v (keys and values first
 * rounded to fp16 when cfg->kv_dtype is F16, so the check measures the kernel, not
 * the storage); its rows from `first` on are compared with got's n - first rows,
 * into r's max_err and n_bad by the tests' rule (runtime/tolerance.h) */
void check_verify(check_result *r, const swacl_attn_config *cfg, int n, const float *q,
                  const float *k, const float *v, const float *got, int first);
/* fails the verdict when any output compared was outside the tolerance */
void check_result_conclude(check_result *r, const swacl_attn_config *cfg, const char *what);

/* ---- work (limits.c, suites.c, baselines.c) ---------------------------------- */

int bench_device_open(const char *selector, bench_device *dev, char *err, size_t err_size);
void bench_device_close(bench_device *dev);
/* a read-write buffer of count floats, a copy of host unless it is NULL; NULL
 * with *rc set on failure */
cl_mem bench_buffer(const bench_device *dev, size_t count, const float *host, cl_int *rc);
/* releases *m when there is one, and clears it */
void bench_release(cl_mem *m);
/* one of the tool's kernel files (tools/prof/cl/, embedded at build time) built
 * for the device; NULL with the reason and the build log in err */
cl_program bench_build_program(const bench_device *dev, const char *file, const char *options,
                               char *err, size_t err_size);

void limits_run(bench_device *dev, const bench_opts *opts);
/* seconds the limits take with these options (for the estimate) */
double limits_estimate_s(const bench_opts *opts);

typedef enum bench_job_kind {
    JOB_PREFILL,       /* one-shot attention over n tokens */
    JOB_CHUNKED,       /* the same through a cache, max_chunk = W */
    JOB_DECODE,        /* one token for each of batch sequences at full window */
    JOB_NAIVE_PREFILL, /* baselines on the same work */
    JOB_NAIVE_DECODE,
    JOB_GEMM_PREFILL,
    JOB_GEMM_DECODE
} bench_job_kind;

typedef struct bench_job {
    bench_job_kind kind;
    prof_shape shape;
    int n;          /* tokens (prefill kinds) */
    int batch;      /* sequences (decode kinds) */
    int max_batch;  /* largest batch of this shape's decode jobs: the cache holds that many */
    swacl_dtype kv; /* cache storage (cache kinds) */
} bench_job;

/* the row name a job writes, the same on every device */
void job_row_name(const bench_job *job, char *buf, size_t size);
const char *job_suite(const bench_job *job);
/* 1 for the decode kinds (swacl's and the baselines') */
int job_is_decode(const bench_job *job);
/* the attention config a job runs */
void job_config(const bench_job *job, float *sink_store, swacl_attn_config *cfg);
/* the job's row in the device's report, with its shape filled in from cfg and
 * its size (tokens, batch, cache type) from the job */
prof_row *job_add_row(bench_device *dev, const bench_job *job, const swacl_attn_config *cfg);
/* estimated seconds of one run (from the device's measured rates) */
double job_estimate_s(const bench_job *job, const bench_device *dev);
/* useful FLOPs of one run of a job */
double job_flops(const bench_job *job);

/* swacl's own suites (suites.c); state shared between jobs lives in dev-local caches */
void suites_run_job(bench_device *dev, const bench_opts *opts, const bench_job *job);
void suites_release(void);
/* the end-to-end suite on opts->model_path (e2e.c) */
void e2e_run(bench_device *dev, const bench_opts *opts);
/* baselines (baselines.c) */
void baselines_run_job(bench_device *dev, const bench_opts *opts, const bench_job *job);
double baselines_estimate_s(const bench_job *job, const bench_device *dev);
void baselines_release(void);
/* speed-ups of swacl rows over the baseline rows on the same work */
void bench_link_speedups(prof_device *rec);

#endif /* SWACL_PROF_BENCH_H */
