/* suites.c — swacl's own suites: one-shot prefill, chunked prefill through a
 * cache (max_chunk = W) and decode at full window; each configuration checked
 * against the reference on small instances before it is timed. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* decode check: steps past each sequence's prefill, and how far apart the
 * sequences' lengths are */
#define CHECK_DECODE_STEPS 5
#define CHECK_DECODE_STAGGER 7

/* ---- jobs -------------------------------------------------------------------- */

const char *job_suite(const bench_job *job)
{
    switch (job->kind) {
    case JOB_PREFILL: return "prefill";
    case JOB_CHUNKED: return "chunked";
    case JOB_DECODE: return "decode";
    case JOB_NAIVE_PREFILL:
    case JOB_NAIVE_DECODE: return "naive";
    default: return "gemm";
    }
}

void job_row_name(const bench_job *job, char *buf, size_t size)
{
    const char *kv = prof_dtype_name(job->kv);
    switch (job->kind) {
    case JOB_PREFILL: snprintf(buf, size, "%s n=%d", job->shape.name, job->n); break;
    case JOB_CHUNKED: snprintf(buf, size, "%s n=%d kv=%s", job->shape.name, job->n, kv); break;
    case JOB_DECODE: snprintf(buf, size, "%s b=%d kv=%s", job->shape.name, job->batch, kv); break;
    case JOB_NAIVE_PREFILL:
    case JOB_GEMM_PREFILL: snprintf(buf, size, "prefill %s n=%d", job->shape.name, job->n); break;
    default: snprintf(buf, size, "decode %s b=%d", job->shape.name, job->batch); break;
    }
}

void job_config(const bench_job *job, float *sink_store, swacl_attn_config *cfg)
{
    int cached = job->kind == JOB_CHUNKED || job->kind == JOB_DECODE;
    prof_shape_config(&job->shape, cached ? job->kv : SWACL_F32, sink_store, cfg);
}

int job_is_decode(const bench_job *job)
{
    return job->kind == JOB_DECODE || job->kind == JOB_NAIVE_DECODE || job->kind == JOB_GEMM_DECODE;
}

/* tokens a decode cache is filled with so that the window is full */
static int decode_fill(const swacl_attn_config *cfg) { return cfg->n_sink + prof_reach(cfg); }

prof_row *job_add_row(bench_device *dev, const bench_job *job, const swacl_attn_config *cfg)
{
    char name[96];
    job_row_name(job, name, sizeof name);
    prof_row *row = prof_suite_add_row(prof_device_suite(dev->rec, job_suite(job)), name);
    prof_strlcpy(row->shape, job->shape.name, sizeof row->shape);
    row->n_heads = cfg->n_heads;
    row->n_kv_heads = cfg->n_kv_heads;
    row->head_dim = cfg->head_dim;
    row->window = cfg->window;
    row->n_sink = cfg->n_sink;
    row->n_tokens = job_is_decode(job) ? decode_fill(cfg) : job->n;
    row->batch = job_is_decode(job) ? job->batch : 1;
    if (job->kind == JOB_CHUNKED || job->kind == JOB_DECODE) /* through a cache */
        prof_strlcpy(row->kv_dtype, prof_dtype_name(cfg->kv_dtype), sizeof row->kv_dtype);
    return row;
}

double job_flops(const bench_job *job)
{
    swacl_attn_config cfg;
    job_config(job, NULL, &cfg);
    if (!job_is_decode(job))
        return prof_attention_flops(&cfg, prof_visible_pairs(&cfg, 0, job->n, job->n));
    int64_t pos = decode_fill(&cfg);
    return job->batch * prof_attention_flops(&cfg, (double)prof_visible_keys(&cfg, pos, pos + 1));
}

double job_estimate_s(const bench_job *job, const bench_device *dev)
{
    double seen = dev->seen_gflops[job->kind];
    if (seen > 0)
        return job_flops(job) / (seen * 1e9);
    if (job->kind != JOB_PREFILL && job->kind != JOB_CHUNKED && job->kind != JOB_DECODE)
        return baselines_estimate_s(job, dev);
    swacl_attn_config cfg;
    job_config(job, NULL, &cfg);
    /* assumed efficiencies until a row of the kind has run: a tuned attention
     * kernel reaches a fraction of the device's GEMM or FMA rate, decode a
     * fraction of its bandwidth */
    double rate = fmax(isfinite(dev->sgemm_gflops) ? 0.3 * dev->sgemm_gflops : 0,
                       isfinite(dev->fma_gflops) ? 0.3 * dev->fma_gflops : 0);
    rate = rate > 0 ? rate : 5.0;
    double bw = isfinite(dev->read_gbs) ? 0.5 * dev->read_gbs : 5.0;
    double launch = isfinite(dev->launch_s) ? dev->launch_s : 50e-6;
    double flops = job_flops(job);
    if (job->kind == JOB_DECODE)
        return flops / (rate * 1e9) + prof_bytes_decode(&cfg, job->batch, decode_fill(&cfg)) / (bw * 1e9) + 2 * launch;
    return flops / (rate * 1e9) + prof_bytes_oneshot(&cfg, job->n) / (bw * 1e9) + launch;
}

/* ---- helpers ----------------------------------------------------------------- */

/* a device buffer holding count random floats */
static cl_mem random_buffer(bench_device *dev, size_t count, uint64_t seed, cl_int *rc)
{
    float *host = prof_xrealloc(NULL, count * sizeof *host);
    check_fill(host, count, &seed);
    cl_mem m = bench_buffer(dev, count, host, rc);
    free(host);
    return m;
}

/* q, k, v, out of n tokens */
typedef struct io_buffers {
    cl_mem q, k, v, out;
} io_buffers;

static void io_release(io_buffers *io)
{
    bench_release(&io->q), bench_release(&io->k);
    bench_release(&io->v), bench_release(&io->out);
}

static int io_alloc(bench_device *dev, const swacl_attn_config *cfg, int n, io_buffers *io,
                    char *err, size_t err_size)
{
    cl_int rc = CL_SUCCESS;
    memset(io, 0, sizeof *io);
    io->q = random_buffer(dev, bench_q_elems(cfg, n), 11, &rc);
    if (io->q)
        io->k = random_buffer(dev, bench_kv_elems(cfg, n), 12, &rc);
    if (io->k)
        io->v = random_buffer(dev, bench_kv_elems(cfg, n), 13, &rc);
    if (io->v)
        io->out = bench_buffer(dev, bench_q_elems(cfg, n), NULL, &rc);
    if (rc != CL_SUCCESS) {
        snprintf(err, err_size, "buffers for %d tokens: %s (%d)", n, bench_cl_error(rc), rc);
        io_release(io);
        return -1;
    }
    return 0;
}


static int kernel_time(bench_device *dev, double *kernel_s, char *err, size_t err_size)
{
    swacl_profile p;
    swacl_status st = swacl_profile_read(dev->ctx, &p);
    if (st != SWACL_OK) {
        snprintf(err, err_size, "swacl_profile_read: %s: %s", swacl_status_string(st),
                 swacl_last_error(dev->ctx));
        return -1;
    }
    *kernel_s = p.n_kernels > 0 ? p.kernel_ms * 1e-3 : -1;
    return 0;
}

static int call_failed(bench_device *dev, swacl_status st, const char *what, char *err,
                       size_t err_size)
{
    snprintf(err, err_size, "%s: %s: %s", what, swacl_status_string(st), swacl_last_error(dev->ctx));
    return -1;
}

static swacl_status make_cache(bench_device *dev, const swacl_attn_config *cfg, int max_seqs,
                               int max_context, int max_chunk, swacl_cache **out)
{
    swacl_cache_options opt;
    memset(&opt, 0, sizeof opt);
    opt.n_layers = 1;
    opt.layers = cfg;
    opt.max_seqs = max_seqs;
    opt.max_context = max_context;
    opt.max_chunk = max_chunk;
    return swacl_cache_create(dev->ctx, &opt, out);
}

/* ---- checks ------------------------------------------------------------------ */

static void check_oneshot(bench_device *dev, const swacl_attn_config *cfg, check_result *r)
{
    check_instance inst[2];
    int n_inst = check_instances(cfg, inst);
    for (int i = 0; i < n_inst && r->status == PROF_OK; ++i) {
        const swacl_attn_config *c = &inst[i].cfg;
        int n = inst[i].n;
        check_case hc;
        check_case_alloc(c, n, 100 + (uint64_t)i, &hc);
        cl_int rc;
        cl_mem b[4] = {NULL, NULL, NULL, NULL};
        const float *src[4] = {hc.q, hc.k, hc.v, NULL};
        size_t count[4] = {bench_q_elems(c, n), bench_kv_elems(c, n), bench_kv_elems(c, n),
                           bench_q_elems(c, n)};
        for (int j = 0; j < 4; ++j)
            b[j] = bench_buffer(dev, count[j], src[j], &rc);
        swacl_status st = swacl_attention(dev->ctx, c, n, b[0], b[1], b[2], b[3]);
        if (st != SWACL_OK)
            check_result_swacl(r, dev->ctx, st, "swacl_attention");
        else if ((rc = clEnqueueReadBuffer(dev->queue, b[3], CL_TRUE, 0, count[3] * sizeof(float),
                                           hc.out, 0, NULL, NULL)) != CL_SUCCESS)
            check_result_fail(r, PROF_ERROR, "reading the output: %s", bench_cl_error(rc));
        else
            check_verify(r, c, n, hc.q, hc.k, hc.v, hc.out, 0);
        for (int j = 0; j < 4; ++j)
            bench_release(&b[j]);
        check_case_free(&hc);
    }
    check_describe(inst, n_inst, NULL, r->check, sizeof r->check);
    if (r->status == PROF_OK)
        check_result_conclude(r, cfg, "one-shot");
}

/* prefills host arrays of n tokens into (layer 0, seq) chunk by chunk */
static swacl_status prefill_host_chunks(swacl_cache *c, const swacl_attn_config *cfg, int seq,
                                        int n, int chunk, const check_case *hc)
{
    for (int p0 = 0; p0 < n; p0 += chunk) {
        int len = n - p0 < chunk ? n - p0 : chunk;
        size_t q0 = bench_q_elems(cfg, p0), kv0 = bench_kv_elems(cfg, p0);
        swacl_status st = swacl_prefill_host(c, 0, seq, len, hc->q + q0, hc->k + kv0, hc->v + kv0,
                                             hc->out + q0);
        if (st != SWACL_OK)
            return st;
    }
    return SWACL_OK;
}

static void check_chunked(bench_device *dev, const swacl_attn_config *cfg, check_result *r)
{
    check_instance inst[2];
    int n_inst = check_instances(cfg, inst);
    for (int i = 0; i < n_inst && r->status == PROF_OK; ++i) {
        const swacl_attn_config *c = &inst[i].cfg;
        int n = inst[i].n;
        check_case hc;
        swacl_cache *cache = NULL;
        check_case_alloc(c, n, 200 + (uint64_t)i, &hc);
        swacl_status st = make_cache(dev, c, 1, n, inst[i].chunk, &cache);
        if (st != SWACL_OK)
            check_result_swacl(r, dev->ctx, st, "swacl_cache_create");
        else if ((st = prefill_host_chunks(cache, c, 0, n, inst[i].chunk, &hc)) != SWACL_OK)
            check_result_swacl(r, dev->ctx, st, "swacl_prefill_host");
        else
            check_verify(r, c, n, hc.q, hc.k, hc.v, hc.out, 0);
        swacl_cache_destroy(cache);
        check_case_free(&hc);
    }
    check_describe(inst, n_inst, NULL, r->check, sizeof r->check);
    if (r->status == PROF_OK)
        check_result_conclude(r, cfg, "chunked prefill");
}

/* Sequences of different lengths are prefilled in chunks, then decoded
 * together for a few steps; every output row is compared with the one-shot
 * reference over the whole sequence. */
static void check_decode(bench_device *dev, const swacl_attn_config *cfg, check_result *r)
{
    check_instance inst[2];
    int n_inst = check_instances(cfg, inst);
    for (int i = 0; i < n_inst && r->status == PROF_OK; ++i) {
        const swacl_attn_config *c = &inst[i].cfg;
        check_case hc[CHECK_DECODE_SEQS];
        int len[CHECK_DECODE_SEQS], seqs[CHECK_DECODE_SEQS];
        int longest = 0;
        for (int s = 0; s < CHECK_DECODE_SEQS; ++s) {
            seqs[s] = s;
            len[s] = inst[i].n + CHECK_DECODE_STAGGER * s;
            longest = len[s] > longest ? len[s] : longest;
            check_case_alloc(c, len[s] + CHECK_DECODE_STEPS, 300 + (uint64_t)(i * 10 + s), &hc[s]);
        }
        float *bq = prof_xrealloc(NULL, bench_q_elems(c, CHECK_DECODE_SEQS) * sizeof(float));
        float *bk = prof_xrealloc(NULL, bench_kv_elems(c, CHECK_DECODE_SEQS) * sizeof(float));
        float *bv = prof_xrealloc(NULL, bench_kv_elems(c, CHECK_DECODE_SEQS) * sizeof(float));
        float *bo = prof_xrealloc(NULL, bench_q_elems(c, CHECK_DECODE_SEQS) * sizeof(float));
        swacl_cache *cache = NULL;
        swacl_status st = make_cache(dev, c, CHECK_DECODE_SEQS, longest + CHECK_DECODE_STEPS,
                                     inst[i].chunk, &cache);
        if (st != SWACL_OK)
            check_result_swacl(r, dev->ctx, st, "swacl_cache_create");
        for (int s = 0; s < CHECK_DECODE_SEQS && r->status == PROF_OK; ++s)
            if ((st = prefill_host_chunks(cache, c, s, len[s], inst[i].chunk, &hc[s])) != SWACL_OK)
                check_result_swacl(r, dev->ctx, st, "swacl_prefill_host");
        for (int t = 0; t < CHECK_DECODE_STEPS && r->status == PROF_OK; ++t) {
            size_t qr = bench_q_elems(c, 1), kr = bench_kv_elems(c, 1); /* one token's rows */
            for (int s = 0; s < CHECK_DECODE_SEQS; ++s) {
                size_t p = (size_t)(len[s] + t);
                memcpy(bq + s * qr, hc[s].q + p * qr, qr * sizeof(float));
                memcpy(bk + s * kr, hc[s].k + p * kr, kr * sizeof(float));
                memcpy(bv + s * kr, hc[s].v + p * kr, kr * sizeof(float));
            }
            st = swacl_decode_host(cache, 0, CHECK_DECODE_SEQS, seqs, bq, bk, bv, bo);
            if (st != SWACL_OK) {
                check_result_swacl(r, dev->ctx, st, "swacl_decode_host");
                break;
            }
            for (int s = 0; s < CHECK_DECODE_SEQS; ++s)
                memcpy(hc[s].out + bench_q_elems(c, len[s] + t), bo + bench_q_elems(c, s),
                       bench_q_elems(c, 1) * sizeof(float));
        }
        for (int s = 0; s < CHECK_DECODE_SEQS && r->status == PROF_OK; ++s) {
            int n = len[s] + CHECK_DECODE_STEPS;
            check_verify(r, c, n, hc[s].q, hc[s].k, hc[s].v, hc[s].out, 0);
        }
        swacl_cache_destroy(cache);
        for (int s = 0; s < CHECK_DECODE_SEQS; ++s)
            check_case_free(&hc[s]);
        free(bq), free(bk), free(bv), free(bo);
    }
    char extra[64];
    snprintf(extra, sizeof extra, "+%d decode steps, %d seqs", CHECK_DECODE_STEPS, CHECK_DECODE_SEQS);
    check_describe(inst, n_inst, extra, r->check, sizeof r->check);
    if (r->status == PROF_OK)
        check_result_conclude(r, cfg, "decode");
}

/* ---- timed runs ---------------------------------------------------------------- */

typedef struct run_args {
    bench_device *dev;
    bench_job_kind kind;
    const swacl_attn_config *cfg;
    io_buffers io;
    int n, chunk;
    swacl_cache *cache;
    int batch;
    const int *seqs;
} run_args;

/* reps operations of a swacl suite: one-shot attention over n tokens; chunked
 * prefill of the whole sequence again on a reset slot (the chunk buffers are
 * reused for every chunk: values do not change the work); a decode step */
static int run_job(void *arg, int reps, double *kernel_s, char *err, size_t err_size)
{
    run_args *a = arg;
    swacl_status st = SWACL_OK;
    for (int r = 0; r < reps && st == SWACL_OK; ++r) {
        if (a->kind == JOB_PREFILL) {
            st = swacl_attention(a->dev->ctx, a->cfg, a->n, a->io.q, a->io.k, a->io.v, a->io.out);
        } else if (a->kind == JOB_DECODE) {
            st = swacl_decode(a->cache, 0, a->batch, a->seqs, a->io.q, a->io.k, a->io.v, a->io.out);
        } else {
            st = swacl_cache_seq_reset(a->cache, 0);
            for (int p0 = 0; st == SWACL_OK && p0 < a->n; p0 += a->chunk) {
                int len = a->n - p0 < a->chunk ? a->n - p0 : a->chunk;
                st = swacl_prefill(a->cache, 0, 0, len, a->io.q, a->io.k, a->io.v, a->io.out);
            }
        }
    }
    if (st != SWACL_OK)
        return call_failed(a->dev, st,
                           a->kind == JOB_PREFILL  ? "swacl_attention"
                           : a->kind == JOB_DECODE ? "swacl_decode"
                                                   : "swacl_prefill",
                           err, err_size);
    return kernel_time(a->dev, kernel_s, err, err_size);
}

/* verdict for the job's configuration, checked on first use */
static int job_checked(bench_device *dev, const bench_job *job, const swacl_attn_config *cfg,
                       prof_row *row)
{
    char key[96];
    snprintf(key, sizeof key, "%s|%s|%s", job_suite(job), job->shape.name, prof_dtype_name(cfg->kv_dtype));
    check_result *r = check_memo(key);
    if (!r->done) {
        bench_progress_show("checking against the reference");
        if (job->kind == JOB_PREFILL)
            check_oneshot(dev, cfg, r);
        else if (job->kind == JOB_CHUNKED)
            check_chunked(dev, cfg, r);
        else
            check_decode(dev, cfg, r);
        r->done = 1;
    }
    return check_memo_apply(r, row);
}

/* The decode cache of one (shape, kv) with its window full: made by the first
 * decode job of that configuration and kept for the other batch sizes. */
static struct {
    bench_device *dev;
    char key[96];
    swacl_cache *cache;
    int fill;
    prof_status status;
    char reason[256];
} decode_cache;

void suites_release(void)
{
    swacl_cache_destroy(decode_cache.cache);
    memset(&decode_cache, 0, sizeof decode_cache);
}

static int decode_cache_ready(bench_device *dev, const bench_job *job, const swacl_attn_config *cfg,
                              prof_row *row)
{
    char key[96];
    snprintf(key, sizeof key, "%s|%s|%d", job->shape.name, prof_dtype_name(job->kv), job->max_batch);
    if (decode_cache.dev != dev || strcmp(decode_cache.key, key) != 0) {
        suites_release();
        decode_cache.dev = dev;
        prof_strlcpy(decode_cache.key, key, sizeof decode_cache.key);
        decode_cache.fill = decode_fill(cfg);
        int chunk = prof_reach(cfg);
        bench_progress_show("decode: filling the cache to a full window");
        swacl_status st = make_cache(dev, cfg, job->max_batch, decode_cache.fill + 1, chunk,
                                     &decode_cache.cache);
        io_buffers io;
        char err[256];
        if (st != SWACL_OK) {
            call_failed(dev, st, "swacl_cache_create", decode_cache.reason, sizeof decode_cache.reason);
        } else if (io_alloc(dev, cfg, chunk, &io, err, sizeof err) == 0) {
            for (int p0 = 0; st == SWACL_OK && p0 < decode_cache.fill; p0 += chunk) {
                int len = decode_cache.fill - p0 < chunk ? decode_cache.fill - p0 : chunk;
                st = swacl_prefill(decode_cache.cache, 0, 0, len, io.q, io.k, io.v, io.out);
            }
            /* the other sequences fork the filled one: one prefill instead of max_batch */
            for (int s = 1; st == SWACL_OK && s < job->max_batch; ++s)
                st = swacl_cache_seq_copy(decode_cache.cache, 0, s);
            if (st == SWACL_OK)
                st = swacl_finish(dev->ctx);
            if (st != SWACL_OK)
                call_failed(dev, st, "filling the decode cache", decode_cache.reason,
                            sizeof decode_cache.reason);
            io_release(&io);
        } else {
            snprintf(decode_cache.reason, sizeof decode_cache.reason, "%s", err);
            st = SWACL_ERR_OUT_OF_MEMORY;
        }
        decode_cache.status = st == SWACL_OK ? PROF_OK
                              : st == SWACL_ERR_UNSUPPORTED ? PROF_UNSUPPORTED : PROF_ERROR;
    }
    if (decode_cache.status != PROF_OK) {
        prof_row_set_status(row, decode_cache.status, "%s", decode_cache.reason);
        return -1;
    }
    return 0;
}

void suites_run_job(bench_device *dev, const bench_opts *opts, const bench_job *job)
{
    char err[512];
    float *sinks = prof_xrealloc(NULL, sizeof(float) * (size_t)job->shape.n_heads);
    swacl_attn_config cfg;
    job_config(job, sinks, &cfg);
    prof_row *row = job_add_row(dev, job, &cfg);

    run_args a;
    memset(&a, 0, sizeof a);
    a.dev = dev;
    a.kind = job->kind;
    a.cfg = &cfg;
    a.n = job->n;
    int *seqs = NULL;
    bench_stats st;
    double est = job_estimate_s(job, dev);

    if (job->kind == JOB_DECODE && cfg.window == 0) {
        prof_row_set_status(row, PROF_UNSUPPORTED, "decode at full window needs a window (W > 0)");
        goto done;
    }
    if (job_checked(dev, job, &cfg, row))
        goto done;
    if (est > opts->max_run_s) {
        prof_row_set_status(row, PROF_SKIPPED, "estimated %.0f s per run > --max-run %.0f s", est,
                            opts->max_run_s);
        goto done;
    }
    int io_tokens = job->n;
    if (job->kind == JOB_CHUNKED) {
        /* the suite's definition: chunks of one window (full attention: 4096) */
        a.chunk = cfg.window ? prof_reach(&cfg) : 4096;
        io_tokens = a.chunk < job->n ? a.chunk : job->n;
        swacl_status s = make_cache(dev, &cfg, 1, job->n, a.chunk, &a.cache);
        if (s != SWACL_OK) {
            call_failed(dev, s, "swacl_cache_create", err, sizeof err);
            prof_row_set_status(row, s == SWACL_ERR_UNSUPPORTED ? PROF_UNSUPPORTED : PROF_ERROR, "%s", err);
            goto done;
        }
    } else if (job->kind == JOB_DECODE) {
        if (decode_cache_ready(dev, job, &cfg, row))
            goto done;
        a.cache = decode_cache.cache;
        a.batch = job->batch;
        seqs = prof_xrealloc(NULL, sizeof *seqs * (size_t)job->batch);
        for (int s = 0; s < job->batch; ++s)
            seqs[s] = s;
        a.seqs = seqs;
        io_tokens = job->batch;
    }
    if (io_alloc(dev, &cfg, io_tokens, &a.io, err, sizeof err)) {
        prof_row_set_status(row, PROF_ERROR, "%s", err);
        goto done;
    }
    swacl_profile discard;
    swacl_profile_read(dev->ctx, &discard); /* the checks' kernels are not this row's */
    if (bench_measure(run_job, &a, opts, &st, err, sizeof err)) {
        prof_row_set_status(row, PROF_ERROR, "%s", err);
        goto done;
    }
    /* decode: every timed step is at or past the fill, where the window is full */
    if (job->kind == JOB_DECODE)
        bench_row_times(row, &st, job_flops(job), prof_bytes_decode(&cfg, job->batch, decode_cache.fill),
                        job->batch, dev);
    else
        bench_row_times(row, &st, job_flops(job),
                        job->kind == JOB_CHUNKED ? prof_bytes_chunked(&cfg, job->n, a.chunk)
                                                 : prof_bytes_oneshot(&cfg, job->n),
                        job->n, dev);
    dev->seen_gflops[job->kind] = row->gflops;
done:
    io_release(&a.io);
    if (job->kind == JOB_CHUNKED)
        swacl_cache_destroy(a.cache);
    free(seqs);
    free(sinks);
}

void bench_link_speedups(prof_device *rec)
{
    static const char *const suites[] = {"prefill", "chunked", "decode"};
    const prof_suite *naive = prof_device_find_suite(rec, "naive");
    const prof_suite *gemm = prof_device_find_suite(rec, "gemm");
    for (int i = 0; i < 3; ++i) {
        prof_suite *s = (prof_suite *)prof_device_find_suite(rec, suites[i]);
        for (int k = 0; s && k < s->n_rows; ++k) {
            prof_row *row = &s->rows[k];
            char base[96];
            if (i == 2)
                snprintf(base, sizeof base, "decode %s b=%d", row->shape, row->batch);
            else
                snprintf(base, sizeof base, "prefill %s n=%d", row->shape, row->n_tokens);
            const prof_row *bn = prof_suite_find_row(naive, base);
            const prof_row *bg = prof_suite_find_row(gemm, base);
            /* wall against wall: the baselines have no kernel-time source */
            if (prof_row_status(row) != PROF_OK || !(row->wall_ms > 0))
                continue;
            if (bn && prof_row_status(bn) == PROF_OK)
                row->speedup_naive = bn->wall_ms / row->wall_ms;
            if (bg && prof_row_status(bg) == PROF_OK)
                row->speedup_gemm = bg->wall_ms / row->wall_ms;
        }
    }
}
