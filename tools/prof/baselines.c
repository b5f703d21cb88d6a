/* baselines.c — what swacl is measured against on the same device and work:
 * a naive kernel (one work-item per query and head) and a CLBlast path
 * (batched GEMM Q·Kᵀ over each query block's band, band-masked softmax, GEMM P·V);
 * their kernels are cl/baselines.cl. Both are checked against the reference
 * before they are timed. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef SWACL_PROF_HAVE_CLBLAST
#include <clblast_c.h>
#endif

#define SOFTMAX_WG 64
#define GEMM_BLOCK 128 /* queries per GEMM block: bigger wastes band, smaller starves the GEMM */
#define GEMM_SCORES_BUDGET ((size_t)256 << 20) /* bytes of scores one batched call may hold */

/* programs per (device, head_dim); few shapes per run, so a short list */
static struct program_slot {
    bench_device *dev;
    int head_dim;
    cl_program program;
    cl_kernel naive, softmax;
} programs[8];

void baselines_release(void)
{
    for (int i = 0; i < 8; ++i) {
        if (programs[i].naive)
            clReleaseKernel(programs[i].naive);
        if (programs[i].softmax)
            clReleaseKernel(programs[i].softmax);
        if (programs[i].program)
            clReleaseProgram(programs[i].program);
        memset(&programs[i], 0, sizeof programs[i]);
    }
}

static struct program_slot *kernels_for(bench_device *dev, int head_dim, char *err, size_t err_size)
{
    int free_slot = -1;
    for (int i = 0; i < 8; ++i) {
        if (programs[i].dev == dev && programs[i].head_dim == head_dim)
            return &programs[i];
        if (!programs[i].dev && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0) {
        baselines_release();
        free_slot = 0;
    }
    struct program_slot *p = &programs[free_slot];
    char options[96];
    snprintf(options, sizeof options, "-DHEAD_DIM=%d -DWG_SIZE=%d", head_dim, SOFTMAX_WG);
    cl_int rc = CL_SUCCESS;
    p->program = bench_build_program(dev, "baselines.cl", options, err, err_size);
    if (!p->program)
        return NULL;
    p->naive = clCreateKernel(p->program, "naive_attention", &rc);
    if (rc == CL_SUCCESS)
        p->softmax = clCreateKernel(p->program, "band_softmax", &rc);
    if (rc != CL_SUCCESS) {
        snprintf(err, err_size, "baseline kernels: %s (%d)", bench_cl_error(rc), rc);
        if (p->naive)
            clReleaseKernel(p->naive);
        clReleaseProgram(p->program);
        memset(p, 0, sizeof *p);
        return NULL;
    }
    p->dev = dev;
    p->head_dim = head_dim;
    return p;
}


/* ---- one baseline problem on the device ------------------------------------------ */

/* batch entries of n_kv tokens each; the last n_q of every entry are queries */
typedef struct problem {
    int batch, n_q, n_kv;
} problem;

typedef struct plan {
    bench_device *dev;
    const swacl_attn_config *cfg;
    struct program_slot *kern;
    int gemm;              /* 0 naive, 1 CLBlast */
    problem pb;
    cl_mem q, k, v, out, sinks, scores;
    /* CLBlast path: row-major matrices at these element offsets */
    int decode;            /* one query per entry: blocks are (entry, kv head) */
    int block, pad, cols;  /* query rows per block, padded key rows, score columns */
    int n_mats, mats_per_call;
    size_t *qk_a, *qk_b, *scores_off, *out_off;
    float *alphas, *ones, *zeros;
} plan;

static void plan_free(plan *p)
{
    bench_release(&p->q), bench_release(&p->k), bench_release(&p->v);
    bench_release(&p->out), bench_release(&p->sinks), bench_release(&p->scores);
    free(p->qk_a), free(p->qk_b), free(p->scores_off), free(p->out_off);
    free(p->alphas), free(p->ones), free(p->zeros);
    memset(p, 0, sizeof *p);
}

/* why a path cannot run this configuration, or NULL */
static const char *unsupported_reason(int gemm, int decode, const swacl_attn_config *cfg)
{
#ifndef SWACL_PROF_HAVE_CLBLAST
    if (gemm)
        return "swacl-prof was built without CLBlast";
#endif
    if (decode && cfg->window == 0)
        return "decode at full window needs a window (W > 0)";
    if (decode && (cfg->n_sink || cfg->bidirectional))
        return "the decode baselines hold only the window, not pinned sinks";
    if (gemm && (cfg->n_sink || cfg->bidirectional || cfg->sink_logits))
        return "the GEMM baseline covers causal bands without sinks";
    return NULL;
}

/* Q rows, then K and V with `pad` zero rows in front of each entry (the GEMM
 * path's band of the first block reaches before position 0); host arrays may be
 * NULL for random contents. */
static int plan_make(plan *p, bench_device *dev, const swacl_attn_config *cfg, int gemm, problem pb,
                     const float *hq, const float *hk, const float *hv, char *err, size_t err_size)
{
    memset(p, 0, sizeof *p);
    p->dev = dev;
    p->cfg = cfg;
    p->gemm = gemm;
    p->pb = pb;
    p->decode = pb.n_q < pb.n_kv; /* queries are the tail of their entry: decode-shaped */
    int hd = cfg->head_dim, h = cfg->n_heads, hkv = cfg->n_kv_heads;
    p->kern = kernels_for(dev, hd, err, err_size);
    if (!p->kern)
        return -1;
    int rows_q = pb.n_q, rows_kv = pb.n_kv;
    if (gemm && !p->decode) {
        p->block = GEMM_BLOCK < pb.n_q ? GEMM_BLOCK : pb.n_q;
        rows_q = (pb.n_q + p->block - 1) / p->block * p->block;
        int reach = cfg->window ? prof_reach(cfg) : rows_q;
        p->pad = reach - 1;
        rows_kv = p->pad + rows_q;
        p->cols = p->block + reach - 1;
        p->n_mats = rows_q / p->block * h;
    } else if (gemm) {
        p->block = h / hkv; /* a kv head's query heads share its keys: one GEMM block */
        p->cols = pb.n_kv;
        p->n_mats = pb.batch * hkv;
    }
    size_t q_count = (size_t)pb.batch * rows_q * h * hd;
    size_t kv_count = (size_t)pb.batch * rows_kv * hkv * hd;
    float *qbuf = prof_xrealloc(NULL, q_count * sizeof(float));
    float *kbuf = prof_xrealloc(NULL, kv_count * sizeof(float));
    float *vbuf = prof_xrealloc(NULL, kv_count * sizeof(float));
    uint64_t seed = 21;
    memset(qbuf, 0, q_count * sizeof(float));
    memset(kbuf, 0, kv_count * sizeof(float));
    memset(vbuf, 0, kv_count * sizeof(float));
    for (int b = 0; b < pb.batch; ++b) {
        size_t qn = (size_t)pb.n_q * h * hd, kn = (size_t)pb.n_kv * hkv * hd;
        float *qd = qbuf + (size_t)b * rows_q * h * hd;
        float *kd = kbuf + ((size_t)b * rows_kv + (size_t)p->pad) * hkv * hd;
        float *vd = vbuf + (kd - kbuf);
        if (hq) {
            memcpy(qd, hq + b * qn, qn * sizeof(float));
            memcpy(kd, hk + b * kn, kn * sizeof(float));
            memcpy(vd, hv + b * kn, kn * sizeof(float));
        } else {
            check_fill(qd, qn, &seed);
            check_fill(kd, kn, &seed);
            check_fill(vd, kn, &seed);
        }
    }
    cl_int rc = CL_SUCCESS;
    p->q = bench_buffer(dev, q_count, qbuf, &rc);
    if (p->q)
        p->k = bench_buffer(dev, kv_count, kbuf, &rc);
    if (p->k)
        p->v = bench_buffer(dev, kv_count, vbuf, &rc);
    if (p->v)
        p->out = bench_buffer(dev, q_count, NULL, &rc);
    float dummy = 0.0f;
    if (p->out)
        p->sinks = bench_buffer(dev, cfg->sink_logits ? (size_t)h : 1,
                          cfg->sink_logits ? cfg->sink_logits : &dummy, &rc);
    free(qbuf), free(kbuf), free(vbuf);
    if (rc != CL_SUCCESS) {
        snprintf(err, err_size, "baseline buffers: %s (%d)", bench_cl_error(rc), rc);
        return -1;
    }
    if (!gemm)
        return 0;

    size_t mat_bytes = (size_t)p->block * p->cols * sizeof(float);
    size_t budget = GEMM_SCORES_BUDGET;
    if (budget > dev->info.max_alloc_bytes / 2)
        budget = dev->info.max_alloc_bytes / 2;
    p->mats_per_call = (int)(budget / mat_bytes);
    if (p->mats_per_call < 1) {
        snprintf(err, err_size, "one block's scores (%zu MiB) exceed the device's allocation limit",
                 mat_bytes >> 20);
        return -1;
    }
    if (p->mats_per_call > p->n_mats)
        p->mats_per_call = p->n_mats;
    p->scores = bench_buffer(dev, (size_t)p->mats_per_call * p->block * p->cols, NULL, &rc);
    if (rc != CL_SUCCESS) {
        snprintf(err, err_size, "baseline scores: %s (%d)", bench_cl_error(rc), rc);
        return -1;
    }
    size_t n = (size_t)p->n_mats;
    p->qk_a = prof_xrealloc(NULL, n * sizeof(size_t));
    p->qk_b = prof_xrealloc(NULL, n * sizeof(size_t));
    p->out_off = prof_xrealloc(NULL, n * sizeof(size_t));
    p->scores_off = prof_xrealloc(NULL, (size_t)p->mats_per_call * sizeof(size_t));
    p->alphas = prof_xrealloc(NULL, (size_t)p->mats_per_call * sizeof(float));
    p->ones = prof_xrealloc(NULL, (size_t)p->mats_per_call * sizeof(float));
    p->zeros = prof_xrealloc(NULL, (size_t)p->mats_per_call * sizeof(float));
    float scale = cfg->scale > 0 ? cfg->scale : 1.0f / sqrtf((float)hd);
    for (int i = 0; i < p->mats_per_call; ++i) {
        p->scores_off[i] = (size_t)i * p->block * p->cols;
        p->alphas[i] = scale;
        p->ones[i] = 1.0f;
        p->zeros[i] = 0.0f;
    }
    for (int m = 0; m < p->n_mats; ++m) {
        if (p->decode) { /* m = entry * hkv + kv head; rows are that kv head's query heads */
            int b = m / hkv, kvh = m % hkv;
            p->qk_a[m] = p->out_off[m] = ((size_t)b * h + (size_t)kvh * p->block) * hd;
            p->qk_b[m] = (size_t)b * pb.n_kv * hkv * hd + (size_t)kvh * hd;
        } else { /* m = block * h + head; the block's keys start at padded row i0 */
            size_t i0 = (size_t)(m / h) * p->block;
            int head = m % h, kvh = head / (h / hkv);
            p->qk_a[m] = p->out_off[m] = i0 * h * hd + (size_t)head * hd;
            p->qk_b[m] = i0 * hkv * hd + (size_t)kvh * hd;
        }
    }
    return 0;
}

static int plan_run_once(plan *p, char *err, size_t err_size)
{
    const swacl_attn_config *cfg = p->cfg;
    int hd = cfg->head_dim, h = cfg->n_heads, hkv = cfg->n_kv_heads;
    cl_int rc;
    if (!p->gemm) {
        cl_kernel k = p->kern->naive;
        int n_rows = p->pb.batch * p->pb.n_q, use_sinks = cfg->sink_logits != NULL;
        int dil = cfg->dilation > 1 ? cfg->dilation : 1;
        float scale = cfg->scale > 0 ? cfg->scale : 1.0f / sqrtf((float)hd);
        int iargs[] = {use_sinks, n_rows, p->pb.n_q, p->pb.n_kv, h, hkv,
                       cfg->window, cfg->n_sink, dil, cfg->bidirectional};
        clSetKernelArg(k, 0, sizeof(cl_mem), &p->q);
        clSetKernelArg(k, 1, sizeof(cl_mem), &p->k);
        clSetKernelArg(k, 2, sizeof(cl_mem), &p->v);
        clSetKernelArg(k, 3, sizeof(cl_mem), &p->out);
        clSetKernelArg(k, 4, sizeof(cl_mem), &p->sinks);
        for (int i = 0; i < 10; ++i)
            clSetKernelArg(k, 5 + (cl_uint)i, sizeof(int), &iargs[i]);
        clSetKernelArg(k, 15, sizeof(float), &scale);
        clSetKernelArg(k, 16, sizeof(float), &cfg->softcap);
        size_t global[2] = {(size_t)n_rows, (size_t)h};
        rc = clEnqueueNDRangeKernel(p->dev->queue, k, 2, NULL, global, NULL, 0, NULL, NULL);
        if (rc != CL_SUCCESS) {
            snprintf(err, err_size, "naive kernel: %s (%d)", bench_cl_error(rc), rc);
            return -1;
        }
        return 0;
    }
#ifdef SWACL_PROF_HAVE_CLBLAST
    cl_command_queue q = p->dev->queue;
    size_t ld_q = p->decode ? (size_t)hd : (size_t)h * hd, ld_kv = (size_t)hkv * hd;
    int dil = cfg->dilation > 1 ? cfg->dilation : 1;
    for (int m0 = 0; m0 < p->n_mats; m0 += p->mats_per_call) {
        size_t count = (size_t)(p->n_mats - m0 < p->mats_per_call ? p->n_mats - m0 : p->mats_per_call);
        CLBlastStatusCode s = CLBlastSgemmBatched(
            CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, (size_t)p->block,
            (size_t)p->cols, (size_t)hd, p->alphas, p->q, p->qk_a + m0, ld_q, p->k, p->qk_b + m0,
            ld_kv, p->zeros, p->scores, p->scores_off, (size_t)p->cols, count, &q, NULL);
        if (s != CLBlastSuccess) {
            snprintf(err, err_size, "CLBlastSgemmBatched (Q.K^T): status %d", (int)s);
            return -1;
        }
        /* decode: every row is the last position; prefill: block rows are consecutive */
        int per_block = p->decode ? 1 : h, block_step = p->decode ? 0 : p->block;
        int base = p->decode ? p->pb.n_kv - 1 : 0;
        int t_step = p->decode ? 0 : 1, pad = p->decode ? p->pb.n_kv - 1 : p->pad;
        int n_keys = p->decode ? p->pb.n_kv : p->pb.n_q;
        int iargs[] = {m0, p->block, p->cols, per_block, block_step, base, t_step, pad, n_keys,
                       cfg->window, dil};
        cl_kernel k = p->kern->softmax;
        clSetKernelArg(k, 0, sizeof(cl_mem), &p->scores);
        for (int i = 0; i < 11; ++i)
            clSetKernelArg(k, 1 + (cl_uint)i, sizeof(int), &iargs[i]);
        clSetKernelArg(k, 12, sizeof(float), &cfg->softcap);
        size_t global[2] = {(size_t)p->block * SOFTMAX_WG, count}, local[2] = {SOFTMAX_WG, 1};
        rc = clEnqueueNDRangeKernel(q, k, 2, NULL, global, local, 0, NULL, NULL);
        if (rc != CL_SUCCESS) {
            snprintf(err, err_size, "band softmax: %s (%d)", bench_cl_error(rc), rc);
            return -1;
        }
        s = CLBlastSgemmBatched(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo,
                                (size_t)p->block, (size_t)hd, (size_t)p->cols, p->ones, p->scores,
                                p->scores_off, (size_t)p->cols, p->v, p->qk_b + m0, ld_kv, p->zeros,
                                p->out, p->out_off + m0, ld_q, count, &q, NULL);
        if (s != CLBlastSuccess) {
            snprintf(err, err_size, "CLBlastSgemmBatched (P.V): status %d", (int)s);
            return -1;
        }
    }
    return 0;
#else
    snprintf(err, err_size, "built without CLBlast");
    return -1;
#endif
}

static int plan_run(void *arg, int reps, double *kernel_s, char *err, size_t err_size)
{
    plan *p = arg;
    *kernel_s = -1; /* CLBlast's kernels are not ours to profile: wall time for both */
    for (int r = 0; r < reps; ++r)
        if (plan_run_once(p, err, err_size))
            return -1;
    cl_int rc = clFinish(p->dev->queue);
    if (rc != CL_SUCCESS) {
        snprintf(err, err_size, "clFinish: %s (%d)", bench_cl_error(rc), rc);
        return -1;
    }
    return 0;
}

/* the output rows of entry b (its n_q queries), without the GEMM path's padding */
static int plan_read(plan *p, float *out, char *err, size_t err_size)
{
    size_t row = (size_t)p->cfg->n_heads * p->cfg->head_dim;
    size_t bytes = (size_t)p->pb.batch * p->pb.n_q * row * sizeof(float);
    /* the padded rows come after the real ones, so a prefix read is enough */
    cl_int rc = clEnqueueReadBuffer(p->dev->queue, p->out, CL_TRUE, 0, bytes, out, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        snprintf(err, err_size, "reading the baseline output: %s (%d)", bench_cl_error(rc), rc);
        return -1;
    }
    return 0;
}

/* ---- checks ---------------------------------------------------------------------- */

static void check_baseline(bench_device *dev, int gemm, int decode, const swacl_attn_config *cfg,
                           check_result *r)
{
    check_instance inst[2];
    int n_inst = check_instances(cfg, inst), checked = 0;
    for (int i = 0; i < n_inst && r->status == PROF_OK; ++i) {
        const swacl_attn_config *c = &inst[i].cfg;
        /* decode: entries of one window each, the query at the window's end; the
         * reference computes every row, so a wide exact window is left to the
         * reduced instance */
        int n = decode ? prof_reach(c) : inst[i].n, batch = decode ? CHECK_DECODE_SEQS : 1;
        if (decode && !check_affordable(c, n) && i + 1 < n_inst)
            continue;
        inst[checked] = inst[i];
        inst[checked++].n = n;
        size_t qn = bench_q_elems(c, n), kn = bench_kv_elems(c, n), row = bench_q_elems(c, 1);
        check_case hc; /* batch entries of n tokens, one after the other */
        check_case_alloc(c, n * batch, 400 + (uint64_t)i, &hc);
        /* decode queries: the last row of each entry's q, packed */
        float *qd = decode ? prof_xrealloc(NULL, row * batch * sizeof(float)) : NULL;
        for (int b = 0; decode && b < batch; ++b)
            memcpy(qd + b * row, hc.q + b * qn + (size_t)(n - 1) * row, row * sizeof(float));
        problem pb = {batch, decode ? 1 : n, n};
        plan p;
        char err[512];
        if (plan_make(&p, dev, c, gemm, pb, decode ? qd : hc.q, hc.k, hc.v, err, sizeof err) ||
            plan_run(&p, 1, &(double){0}, err, sizeof err) || plan_read(&p, hc.out, err, sizeof err))
            check_result_fail(r, PROF_ERROR, "%s", err);
        for (int b = 0; b < batch; ++b) /* decode: only the last query of each entry ran */
            check_verify(r, c, n, hc.q + b * qn, hc.k + b * kn, hc.v + b * kn,
                         hc.out + (decode ? b * row : 0), decode ? n - 1 : 0);
        plan_free(&p);
        check_case_free(&hc);
        free(qd);
    }
    check_describe(inst, checked, decode ? "decode: last query of 3 windows" : NULL, r->check,
                   sizeof r->check);
    if (r->status == PROF_OK)
        check_result_conclude(r, cfg, gemm ? "gemm baseline" : "naive baseline");
}

/* ---- jobs -------------------------------------------------------------------------- */

double baselines_estimate_s(const bench_job *job, const bench_device *dev)
{
    swacl_attn_config cfg;
    job_config(job, NULL, &cfg);
    int decode = job_is_decode(job);
    int gemm = job->kind == JOB_GEMM_PREFILL || job->kind == JOB_GEMM_DECODE;
    double fma = isfinite(dev->fma_gflops) ? dev->fma_gflops : 20.0;
    double sgemm = isfinite(dev->sgemm_gflops) ? dev->sgemm_gflops : 0.3 * fma;
    double bw = isfinite(dev->read_gbs) ? dev->read_gbs : 10.0;
    int reach = prof_reach(&cfg);
    double hd = cfg.head_dim, h = cfg.n_heads;
    if (decode) {
        double flops = job_flops(job);
        double bytes = job->batch * 2.0 * reach * cfg.n_kv_heads * hd * 4;
        /* assumed efficiencies: a GEMV-shaped GEMM and a scalar loop both crawl */
        return gemm ? flops / (0.1 * sgemm * 1e9) + bytes / (0.5 * bw * 1e9) + 3e-4
                    : flops / (0.05 * fma * 1e9) + bytes / (0.3 * bw * 1e9);
    }
    if (!gemm)
        return job_flops(job) / (0.05 * fma * 1e9);
    double rows = ceil((double)job->n / GEMM_BLOCK) * GEMM_BLOCK;
    double cols = GEMM_BLOCK + (reach ? reach : rows) - 1;
    return 4.0 * hd * h * rows * cols / (0.5 * sgemm * 1e9) + 3.0 * h * rows * cols * 4 / (bw * 1e9);
}

void baselines_run_job(bench_device *dev, const bench_opts *opts, const bench_job *job)
{
    char err[512];
    int gemm = job->kind == JOB_GEMM_PREFILL || job->kind == JOB_GEMM_DECODE;
    int decode = job_is_decode(job);
    float *sinks = prof_xrealloc(NULL, sizeof(float) * (size_t)job->shape.n_heads);
    swacl_attn_config cfg;
    job_config(job, sinks, &cfg);
    prof_row *row = job_add_row(dev, job, &cfg);

    plan p;
    memset(&p, 0, sizeof p);
    const char *why = unsupported_reason(gemm, decode, &cfg);
    if (why) {
        prof_row_set_status(row, PROF_UNSUPPORTED, "%s", why);
        goto done;
    }
    char key[96];
    snprintf(key, sizeof key, "%s|%s|%s", job_suite(job), decode ? "decode" : "prefill", job->shape.name);
    check_result *verdict = check_memo(key);
    if (!verdict->done) {
        bench_progress_show("checking a baseline against the reference");
        check_baseline(dev, gemm, decode, &cfg, verdict);
        verdict->done = 1;
    }
    if (check_memo_apply(verdict, row))
        goto done;
    double est = baselines_estimate_s(job, dev);
    if (est > opts->max_run_s) {
        prof_row_set_status(row, PROF_SKIPPED, "estimated %.0f s per run > --max-run %.0f s", est,
                            opts->max_run_s);
        goto done;
    }
    int reach = prof_reach(&cfg);
    problem pb = {decode ? job->batch : 1, decode ? 1 : job->n, decode ? reach : job->n};
    if (plan_make(&p, dev, &cfg, gemm, pb, NULL, NULL, NULL, err, sizeof err)) {
        prof_row_set_status(row, PROF_ERROR, "%s", err);
        goto done;
    }
    bench_stats st;
    if (bench_measure(plan_run, &p, opts, &st, err, sizeof err)) {
        prof_row_set_status(row, PROF_ERROR, "%s", err);
        goto done;
    }
    if (decode) {
        swacl_attn_config f32 = cfg;
        f32.kv_dtype = SWACL_F32; /* the baselines read fp32 keys and values */
        bench_row_times(row, &st, job_flops(job), prof_bytes_decode(&f32, job->batch, reach),
                        job->batch, dev);
    } else {
        bench_row_times(row, &st, job_flops(job), prof_bytes_oneshot(&cfg, job->n), job->n, dev);
    }
    dev->seen_gflops[job->kind] = row->gflops;
done:
    plan_free(&p);
    free(sinks);
}
