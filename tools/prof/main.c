/* main.c — swacl-prof's command line: list devices, run the benchmark on one
 * or more of them, plan KV-cache memory, compare and show saved reports. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef SWACL_PROF_REVISION_HEADER
#include "prof_revision.h" /* written at build time by git_revision.cmake */
#endif
#ifndef SWACL_PROF_GIT_REVISION
#define SWACL_PROF_GIT_REVISION "unknown"
#endif

#define MAX_DEVICES 32
#define MAX_FILES 32

static void usage(FILE *out)
{
    fprintf(out,
        "usage: swacl-prof [run] [options]      limits and suites on one or more devices\n"
        "       swacl-prof list                 OpenCL devices and what swacl uses of them\n"
        "       swacl-prof memory [options]     KV-cache bytes of a model, sliding window vs full\n"
        "       swacl-prof compare A.json B.json ... [--plot F.svg]   devices side by side\n"
        "       swacl-prof show FILE.json|FILE.csv                    a saved report as a table\n"
        "\n"
        "run options:\n"
        "  -d, --device SEL[,SEL..]  \"P:D\", gpu, cpu, accelerator, a name substring, or all\n"
        "                            (default: $SWACL_DEVICE, else the library's default)\n"
        "  --quick                   about a minute on a CPU: laptop prefill, chunked prefill,\n"
        "                            decode b=1,8 and mistral decode b=1 with an fp16 cache\n"
        "  --shapes LIST             named shapes: %s\n"
        "  --shape NAME:H/KV/D/W     a shape of your own (repeatable)\n"
        "  --n LIST                  sequence lengths (default 1K,4K,16K; quick 4K)\n"
        "  --batch LIST              decode batches (default 1,8,32; quick 1,8)\n"
        "  --kv LIST                 cache storage types f32,f16 (default both; quick f32)\n"
        "  --suites LIST             limits,prefill,chunked,decode,baselines (default all)\n"
        "  --no-baselines            skip the naive and CLBlast baselines\n"
        "  --samples N               timed samples per row (default 7; quick 3)\n"
        "  --target-ms MS            shortest sample; repetitions are calibrated to it\n"
        "  --max-run S               skip rows whose one run is estimated longer (default 120)\n"
        "  --json FILE  --csv FILE   write the report (versioned schema)\n"
        "  --plot FILE.svg           time against sequence length / batch, per device\n"
        "  --plot-metric time|gbs    what the plot shows (default time)\n"
        "  --no-progress             no progress bar (it shows only on a terminal anyway)\n"
        "\n"
        "memory options:\n"
        "  --model LIST              %s, or all (default)\n"
        "  --layers N --heads H --kv-heads K --head-dim D --window W [--sinks S]\n"
        "  [--dilation D] [--alternate] [--name NAME]   a model of your own\n"
        "  --dtype f16|f32           cache storage (default f16)\n"
        "  --context LIST            context lengths (default 1K,8K,32K,128K,1M)\n"
        "\n"
        "Exit status: 0, 1 for bad usage or unreadable input, 3 if any row is an error.\n",
        prof_shape_preset_names(), prof_model_preset_names());
}

static int die_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "swacl-prof: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(try swacl-prof --help)\n");
    return 1;
}

/* "--name value" or "--name=value"; advances *i past the value */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, "swacl-prof: %s needs a value\n", name);
        exit(1);
    }
    return argv[++*i];
}

/* comma-separated counts ("1K,4096"); -1 on a bad item */
static int parse_counts(const char *text, int *out, int max)
{
    char buf[256];
    prof_strlcpy(buf, text, sizeof buf);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int64_t v = prof_parse_count(tok);
        if (v < 1 || v > 1 << 30 || n == max)
            return -1;
        out[n++] = (int)v;
    }
    return n ? n : -1;
}

static int parse_dtype(const char *text, swacl_dtype *out)
{
    if (strcmp(text, "f32") == 0 || strcmp(text, "fp32") == 0)
        *out = SWACL_F32;
    else if (strcmp(text, "f16") == 0 || strcmp(text, "fp16") == 0)
        *out = SWACL_F16;
    else
        return -1;
    return 0;
}

static prof_report *read_report(const char *path)
{
    char err[512];
    size_t len = strlen(path);
    if (len > 4 && strcmp(path + len - 4, ".csv") == 0) {
        fprintf(stderr, "swacl-prof: %s: CSV is an export only; compare and show read the JSON "
                        "report (--json)\n", path);
        return NULL;
    }
    prof_report *r = prof_json_read_file(path, err, sizeof err);
    if (!r)
        fprintf(stderr, "swacl-prof: %s\n", err);
    return r;
}

/* what --json, --csv and --plot write */
typedef enum out_kind { OUT_JSON, OUT_CSV, OUT_PLOT } out_kind;

static int write_output(out_kind kind, const char *path, prof_report *const *reports, int n,
                        const char *metric)
{
    FILE *f = fopen(path, "w");
    int rc = !f                  ? -1
             : kind == OUT_JSON  ? prof_json_write(reports[0], f)
             : kind == OUT_CSV   ? prof_csv_write(reports[0], f)
                                 : prof_plot_svg(reports, n, metric, f);
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc)
        fprintf(stderr, "swacl-prof: could not write %s\n", path);
    return rc;
}

/* ---- list ------------------------------------------------------------------- */

static int cmd_list(void)
{
    int n = 0;
    swacl_status st = swacl_devices_list(NULL, 0, &n);
    if (st != SWACL_OK) {
        fprintf(stderr, "swacl-prof: listing devices: %s\n", swacl_status_string(st));
        return 1;
    }
    if (n == 0) {
        printf("no OpenCL devices\n");
        return 0;
    }
    swacl_device_info *info = prof_xrealloc(NULL, sizeof *info * (size_t)n);
    swacl_devices_list(info, n, &n);
    static const char *const headers[] = {"device", "type", "name", "platform", "CUs",
                                          "max WG", "fp16", "subgroups", "local memory",
                                          "global", "max alloc", "driver", "swacl params"};
    prof_table t;
    prof_table_init(&t, 13, headers, "llllrrlllrrll");
    for (int i = 0; i < n; ++i) {
        char g[32], a[32], l[32];
        prof_fmt_bytes(g, sizeof g, (double)info[i].global_mem_bytes);
        prof_fmt_bytes(a, sizeof a, (double)info[i].max_alloc_bytes);
        prof_fmt_bytes(l, sizeof l, (double)info[i].local_mem_bytes);
        prof_table_cell(&t, "%s", info[i].selector);
        prof_table_cell(&t, "%s", info[i].type);
        prof_table_cell(&t, "%s", info[i].name);
        prof_table_cell(&t, "%s", info[i].platform);
        prof_table_cell(&t, "%d", info[i].compute_units);
        prof_table_cell(&t, "%d", info[i].max_work_group_size);
        prof_table_cell(&t, "%s", info[i].has_fp16 ? "yes" : "no");
        prof_table_cell(&t, "%s", info[i].has_subgroups ? "yes" : "no");
        prof_table_cell(&t, "%s%s", l, info[i].local_mem_is_global ? " (in global)" : "");
        prof_table_cell(&t, "%s", g);
        prof_table_cell(&t, "%s", a);
        prof_table_cell(&t, "%s", info[i].driver_version);
        prof_table_cell(&t, "%s", info[i].params);
    }
    prof_table_print(&t, stdout, "");
    prof_table_free(&t);
    for (int i = 0; i < n; ++i)
        printf("%s %s: %s\n", info[i].selector, info[i].params, info[i].params_detail);
    free(info);
    return 0;
}

/* ---- memory ------------------------------------------------------------------ */

static int cmd_memory(int argc, char **argv)
{
    prof_model models[16];
    int n_models = 0, custom = 0, n_ctx = 0;
    int64_t contexts[16];
    prof_model mine;
    memset(&mine, 0, sizeof mine);
    prof_strlcpy(mine.name, "custom", sizeof mine.name);
    mine.kv_dtype = SWACL_F16;
    swacl_dtype dtype = SWACL_F16;
    int dtype_given = 0;
    for (int i = 0; i < argc; ++i) {
        const char *v;
        int *field = NULL;
        if ((v = option_value(argc, argv, &i, "--model"))) {
            char buf[256];
            prof_strlcpy(buf, v, sizeof buf);
            for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                if (strcmp(tok, "all") == 0) {
                    static const char *const all[] = {"mistral-7b", "mixtral-8x7b", "gemma2-9b", "gpt-oss-20b"};
                    for (int k = 0; k < 4 && n_models < 15; ++k)
                        prof_model_preset(all[k], &models[n_models++]);
                } else if (n_models < 15 && prof_model_preset(tok, &models[n_models]) == 0) {
                    ++n_models;
                } else {
                    return die_usage("unknown model \"%s\"", tok);
                }
            }
            continue;
        }
        if ((v = option_value(argc, argv, &i, "--context"))) {
            char buf[256];
            prof_strlcpy(buf, v, sizeof buf);
            for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                int64_t c = prof_parse_count(tok);
                if (c < 1 || c > 2147483647 || n_ctx == 16)
                    return die_usage("bad context length \"%s\"", tok);
                contexts[n_ctx++] = c;
            }
            continue;
        }
        if ((v = option_value(argc, argv, &i, "--dtype"))) {
            if (parse_dtype(v, &dtype))
                return die_usage("bad --dtype \"%s\" (f16 or f32)", v);
            dtype_given = 1;
            continue;
        }
        if ((v = option_value(argc, argv, &i, "--name"))) {
            prof_strlcpy(mine.name, v, sizeof mine.name);
            continue;
        }
        if (strcmp(argv[i], "--alternate") == 0) {
            mine.alternate = custom = 1;
            continue;
        }
        if ((v = option_value(argc, argv, &i, "--layers")))
            field = &mine.n_layers;
        else if ((v = option_value(argc, argv, &i, "--heads")))
            field = &mine.n_heads;
        else if ((v = option_value(argc, argv, &i, "--kv-heads")))
            field = &mine.n_kv_heads;
        else if ((v = option_value(argc, argv, &i, "--head-dim")))
            field = &mine.head_dim;
        else if ((v = option_value(argc, argv, &i, "--window")))
            field = &mine.window;
        else if ((v = option_value(argc, argv, &i, "--sinks")))
            field = &mine.n_sink;
        else if ((v = option_value(argc, argv, &i, "--dilation")))
            field = &mine.dilation;
        else
            return die_usage("unknown memory option \"%s\"", argv[i]);
        int64_t x = prof_parse_count(v);
        if (x < 0 || x > 1 << 30)
            return die_usage("bad number \"%s\"", v);
        *field = (int)x;
        custom = 1;
    }
    if (custom) {
        if (!mine.n_kv_heads)
            mine.n_kv_heads = mine.n_heads;
        if (mine.n_layers < 1 || mine.n_heads < 1 || mine.head_dim < 1)
            return die_usage("%s", "a custom model needs --layers, --heads and --head-dim");
        models[n_models++] = mine;
    }
    if (n_models == 0) {
        static const char *const all[] = {"mistral-7b", "mixtral-8x7b", "gemma2-9b", "gpt-oss-20b"};
        for (int k = 0; k < 4; ++k)
            prof_model_preset(all[k], &models[n_models++]);
    }
    if (dtype_given)
        for (int k = 0; k < n_models; ++k)
            models[k].kv_dtype = dtype;
    if (n_ctx == 0) {
        static const int64_t defaults[] = {1024, 8192, 32768, 131072, 1048576};
        for (int k = 0; k < 5; ++k)
            contexts[n_ctx++] = defaults[k];
    }
    int rc = prof_memory_print(models, n_models, contexts, n_ctx, stdout);
    printf("\nbytes from swacl_cache_plan_bytes (K and V rings, one sequence); a full-attention\n"
           "cache grows with the context, a sliding-window one stops at n_sink + W slots.\n");
    if (rc) {
        fprintf(stderr, "swacl-prof: swacl_cache_plan_bytes: %s\n", swacl_status_string((swacl_status)rc));
        return 3;
    }
    return 0;
}

/* ---- compare / show ------------------------------------------------------------ */

static int cmd_compare(int argc, char **argv)
{
    prof_report *reports[MAX_FILES];
    int n = 0, rc = 0;
    const char *plot = NULL, *metric = "time";
    for (int i = 0; i < argc; ++i) {
        const char *v;
        if ((v = option_value(argc, argv, &i, "--plot")))
            plot = v;
        else if ((v = option_value(argc, argv, &i, "--plot-metric")))
            metric = v;
        else if (strcmp(argv[i], "--compare") == 0)
            continue;
        else if (argv[i][0] == '-')
            return die_usage("unknown compare option \"%s\"", argv[i]);
        else if (n == MAX_FILES)
            return die_usage("%s", "too many files");
        else if (!(reports[n++] = read_report(argv[i]))) {
            rc = 1;
            --n;
        }
    }
    if (rc == 0 && n == 0)
        return die_usage("%s", "compare needs one or more report files");
    if (rc == 0) {
        prof_compare_print(reports, n, stdout);
        if (plot && write_output(OUT_PLOT, plot, reports, n, metric))
            rc = 1;
    }
    for (int i = 0; i < n; ++i)
        prof_report_free(reports[i]);
    return rc;
}

static int cmd_show(int argc, char **argv)
{
    if (argc != 1)
        return die_usage("%s", "show takes one report file");
    prof_report *r = read_report(argv[0]);
    if (!r)
        return 1;
    printf("%s %s, swacl %s, rev %s, %s, %s mode\n", r->tool, r->created, r->library_version,
           r->git_revision, r->host, r->mode);
    prof_report_print(r, stdout);
    prof_report_free(r);
    return 0;
}

/* ---- run ------------------------------------------------------------------------- */

static void add_job(bench_job **jobs, int *n, int *cap, bench_job job)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        *jobs = prof_xrealloc(*jobs, sizeof **jobs * (size_t)*cap);
    }
    (*jobs)[(*n)++] = job;
}

/* What one shape runs: prefill at every n, chunked at every n and kv type,
 * decode at every batch and kv type; baselines on the same work. */
static void plan_shape(const bench_opts *o, const prof_shape *shape, const int *ns, int n_n,
                       const int *batches, int n_b, const swacl_dtype *kvs, int n_kv,
                       bench_job **jobs, int *n, int *cap)
{
    int base = o->suites & BENCH_BASELINES, max_batch = 1;
    for (int b = 0; b < n_b; ++b)
        max_batch = batches[b] > max_batch ? batches[b] : max_batch;
    bench_job j;
    memset(&j, 0, sizeof j);
    j.shape = *shape;
    j.max_batch = max_batch;
    static const bench_job_kind prefill_kinds[] = {JOB_PREFILL, JOB_NAIVE_PREFILL, JOB_GEMM_PREFILL};
    static const bench_job_kind decode_kinds[] = {JOB_NAIVE_DECODE, JOB_GEMM_DECODE};
    for (int k = 0; k < 3 && (o->suites & BENCH_PREFILL); ++k)
        for (int i = 0; i < n_n && (k == 0 || base); ++i) {
            j.kind = prefill_kinds[k];
            j.n = ns[i];
            add_job(jobs, n, cap, j);
        }
    for (int t = 0; t < n_kv && (o->suites & BENCH_CHUNKED); ++t)
        for (int i = 0; i < n_n; ++i) {
            j.kind = JOB_CHUNKED;
            j.n = ns[i];
            j.kv = kvs[t];
            add_job(jobs, n, cap, j);
        }
    j.n = 0;
    for (int t = 0; t < n_kv && (o->suites & BENCH_DECODE); ++t)
        for (int b = 0; b < n_b; ++b) {
            j.kind = JOB_DECODE;
            j.batch = batches[b];
            j.kv = kvs[t];
            add_job(jobs, n, cap, j);
        }
    j.kv = SWACL_F32;
    for (int k = 0; k < 2 && base && (o->suites & BENCH_DECODE); ++k)
        for (int b = 0; b < n_b; ++b) {
            j.kind = decode_kinds[k];
            j.batch = batches[b];
            add_job(jobs, n, cap, j);
        }
}

static int plan_jobs(const bench_opts *o, bench_job **jobs)
{
    int n = 0, cap = 0, first = 0;
    static const int one = 1;
    static const swacl_dtype f16 = SWACL_F16;
    *jobs = NULL;
    if (o->quick && !o->named_given) {
        /* the laptop shape end to end, and the one decode a big model lives on */
        plan_shape(o, &o->shapes[0], o->n_list, o->n_n, o->batches, o->n_batches, o->kv, o->n_kv,
                   jobs, &n, &cap);
        bench_opts dec = *o;
        dec.suites &= BENCH_DECODE | BENCH_BASELINES;
        plan_shape(&dec, &o->shapes[1], o->n_list, 0, &one, 1, &f16, 1, jobs, &n, &cap);
        first = 2;
    }
    for (int s = first; s < o->n_shapes; ++s) {
        plan_shape(o, &o->shapes[s], o->n_list, o->n_n, o->batches, o->n_batches, o->kv, o->n_kv,
                   jobs, &n, &cap);
        if (o->quick && !o->kv_given) { /* quick also looks at an fp16 cache once per shape */
            bench_opts dec = *o;
            dec.suites &= BENCH_DECODE;
            plan_shape(&dec, &o->shapes[s], o->n_list, 0, &one, 1, &f16, 1, jobs, &n, &cap);
        }
    }
    return n;
}

/* seconds a job takes with its warm-up, calibration, samples and check */
static double job_total_s(const bench_job *job, const bench_device *dev, const bench_opts *o)
{
    double run = job_estimate_s(job, dev);
    if (run > o->max_run_s)
        return 0.1;
    double sample = run > o->target_s ? run : o->target_s;
    return 0.3 + run + sample * (o->samples + 1);
}

static void fill_device_record(prof_device *rec, const swacl_device_info *info)
{
    prof_strlcpy(rec->selector, info->selector, sizeof rec->selector);
    prof_strlcpy(rec->name, info->name, sizeof rec->name);
    prof_strlcpy(rec->vendor, info->vendor, sizeof rec->vendor);
    prof_strlcpy(rec->platform, info->platform, sizeof rec->platform);
    prof_strlcpy(rec->type, info->type, sizeof rec->type);
    prof_strlcpy(rec->device_version, info->device_version, sizeof rec->device_version);
    prof_strlcpy(rec->driver_version, info->driver_version, sizeof rec->driver_version);
    prof_strlcpy(rec->params, info->params, sizeof rec->params);
    rec->compute_units = info->compute_units;
    rec->has_fp16 = info->has_fp16;
    rec->global_mem_bytes = (double)info->global_mem_bytes;
}

static void run_device(const char *selector, const bench_opts *o, const bench_job *jobs,
                       int n_jobs, prof_report *report, const char **done, int *n_done)
{
    bench_device dev;
    char err[1024];
    if (bench_device_open(selector, &dev, err, sizeof err)) {
        prof_device *rec = prof_report_add_device(report);
        prof_strlcpy(rec->selector, selector ? selector : "default", sizeof rec->selector);
        prof_strlcpy(rec->name, "(not opened)", sizeof rec->name);
        prof_row *row = prof_suite_add_row(prof_device_suite(rec, "limits"), "open");
        prof_row_set_status(row, PROF_ERROR, "%s", err);
        fprintf(stderr, "swacl-prof: device %s: %s\n", selector ? selector : "(default)", err);
        return;
    }
    for (int i = 0; i < *n_done; ++i)
        if (strcmp(done[i], dev.info.selector) == 0) {
            bench_device_close(&dev); /* two selectors named the same device */
            return;
        }
    done[(*n_done)++] = strdup(dev.info.selector);
    dev.rec = prof_report_add_device(report);
    fill_device_record(dev.rec, &dev.info);
    check_memo_clear();

    fprintf(stderr, "swacl-prof: device %s %s (%s)\n", dev.info.selector, dev.info.name, dev.info.type);
    double limits_s = (o->suites & BENCH_LIMITS) ? limits_estimate_s(o) : 0;
    bench_progress_begin(o, limits_s + 1);
    if (o->suites & BENCH_LIMITS) {
        limits_run(&dev, o);
    }
    double total = 0;
    for (int i = 0; i < n_jobs; ++i)
        total += job_total_s(&jobs[i], &dev, o);
    fprintf(stderr, "swacl-prof: %d rows, estimated %.0f:%02.0f (min:s) from %s\n", n_jobs,
            floor(total / 60), fmod(total, 60),
            isfinite(dev.sgemm_gflops) || isfinite(dev.fma_gflops) ? "the measured limits"
                                                                  : "rough default rates");
    bench_progress_begin(o, total);
    for (int i = 0; i < n_jobs; ++i) {
        char label[128];
        job_row_name(&jobs[i], label, sizeof label);
        bench_progress_show(label);
        if (jobs[i].kind == JOB_PREFILL || jobs[i].kind == JOB_CHUNKED || jobs[i].kind == JOB_DECODE)
            suites_run_job(&dev, o, &jobs[i]);
        else
            baselines_run_job(&dev, o, &jobs[i]);
        bench_progress_advance(job_total_s(&jobs[i], &dev, o));
    }
    bench_progress_end();
    bench_link_speedups(dev.rec);
    suites_release();
    baselines_release();
    bench_device_close(&dev);
}

static int cmd_run(int argc, char **argv, const char *command_line)
{
    bench_opts o;
    memset(&o, 0, sizeof o);
    o.suites = BENCH_ALL;
    o.progress = 1;
    o.samples = -1;
    o.target_s = -1;
    o.max_run_s = 120;
    const char *devices = NULL, *json = NULL, *csv = NULL, *plot = NULL, *metric = "time";
    int n_given = 0, batch_given = 0;
    for (int i = 0; i < argc; ++i) {
        const char *v;
        char err[256];
        if (strcmp(argv[i], "--quick") == 0)
            o.quick = 1;
        else if (strcmp(argv[i], "--no-baselines") == 0)
            o.suites &= ~BENCH_BASELINES;
        else if (strcmp(argv[i], "--no-progress") == 0)
            o.progress = 0;
        else if ((v = option_value(argc, argv, &i, "-d")) || (v = option_value(argc, argv, &i, "--device")))
            devices = v;
        else if ((v = option_value(argc, argv, &i, "--shapes"))) {
            char buf[256];
            prof_strlcpy(buf, v, sizeof buf);
            for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                if (o.n_shapes == BENCH_MAX_LIST || prof_shape_parse(tok, &o.shapes[o.n_shapes], err, sizeof err))
                    return die_usage("%s", o.n_shapes == BENCH_MAX_LIST ? "too many shapes" : err);
                ++o.n_shapes;
            }
            o.named_given = 1;
        } else if ((v = option_value(argc, argv, &i, "--shape"))) {
            if (o.n_shapes == BENCH_MAX_LIST - 2 || prof_shape_parse(v, &o.shapes[o.n_shapes], err, sizeof err))
                return die_usage("%s", o.n_shapes == BENCH_MAX_LIST - 2 ? "too many shapes" : err);
            ++o.n_shapes;
        } else if ((v = option_value(argc, argv, &i, "--n"))) {
            if ((o.n_n = parse_counts(v, o.n_list, BENCH_MAX_LIST)) < 0)
                return die_usage("bad --n \"%s\"", v);
            n_given = 1;
        } else if ((v = option_value(argc, argv, &i, "--batch"))) {
            if ((o.n_batches = parse_counts(v, o.batches, BENCH_MAX_LIST)) < 0)
                return die_usage("bad --batch \"%s\"", v);
            batch_given = 1;
        } else if ((v = option_value(argc, argv, &i, "--kv"))) {
            char buf[64];
            prof_strlcpy(buf, v, sizeof buf);
            o.n_kv = 0;
            for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save))
                if (o.n_kv == 2 || parse_dtype(tok, &o.kv[o.n_kv++]))
                    return die_usage("bad --kv \"%s\" (f32, f16)", v);
            o.kv_given = 1;
        } else if ((v = option_value(argc, argv, &i, "--suites"))) {
            static const char *const names[] = {"limits", "prefill", "chunked", "decode", "baselines"};
            char buf[128];
            prof_strlcpy(buf, v, sizeof buf);
            o.suites = 0;
            for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                int found = 0;
                for (int k = 0; k < 5; ++k)
                    if (strcmp(tok, names[k]) == 0)
                        o.suites |= 1 << k, found = 1;
                if (!found)
                    return die_usage("unknown suite \"%s\"", tok);
            }
        } else if ((v = option_value(argc, argv, &i, "--samples"))) {
            o.samples = atoi(v);
            if (o.samples < 1 || o.samples > 64)
                return die_usage("--samples \"%s\": 1..64", v);
        } else if ((v = option_value(argc, argv, &i, "--target-ms"))) {
            o.target_s = atof(v) * 1e-3;
            if (!(o.target_s > 0))
                return die_usage("bad --target-ms \"%s\"", v);
        } else if ((v = option_value(argc, argv, &i, "--max-run"))) {
            o.max_run_s = atof(v);
            if (!(o.max_run_s > 0))
                return die_usage("bad --max-run \"%s\"", v);
        } else if ((v = option_value(argc, argv, &i, "--json")))
            json = v;
        else if ((v = option_value(argc, argv, &i, "--csv")))
            csv = v;
        else if ((v = option_value(argc, argv, &i, "--plot")))
            plot = v;
        else if ((v = option_value(argc, argv, &i, "--plot-metric"))) {
            if (strcmp(v, "time") != 0 && strcmp(v, "gbs") != 0)
                return die_usage("--plot-metric \"%s\": time or gbs", v);
            metric = v;
        } else
            return die_usage("unknown option \"%s\"", argv[i]);
    }
    if (!o.named_given) { /* the named defaults come first; --shape ones follow */
        memmove(&o.shapes[2], &o.shapes[0], sizeof o.shapes[0] * (size_t)o.n_shapes);
        prof_shape_preset("laptop", &o.shapes[0]);
        prof_shape_preset("mistral", &o.shapes[1]);
        o.n_shapes += 2;
    }
    if (!n_given) {
        static const int quick_n[] = {4096}, full_n[] = {1024, 4096, 16384};
        o.n_n = o.quick ? 1 : 3;
        memcpy(o.n_list, o.quick ? quick_n : full_n, sizeof(int) * (size_t)o.n_n);
    }
    if (!batch_given) {
        static const int quick_b[] = {1, 8}, full_b[] = {1, 8, 32};
        o.n_batches = o.quick ? 2 : 3;
        memcpy(o.batches, o.quick ? quick_b : full_b, sizeof(int) * (size_t)o.n_batches);
    }
    if (!o.kv_given) {
        o.kv[0] = SWACL_F32;
        o.kv[1] = SWACL_F16;
        o.n_kv = o.quick ? 1 : 2;
    }
    if (o.samples < 0)
        o.samples = o.quick ? 3 : 7;
    if (o.target_s < 0)
        o.target_s = o.quick ? 0.05 : 0.2;

    bench_job *jobs;
    int n_jobs = plan_jobs(&o, &jobs);

    prof_report *report = prof_report_new();
    prof_strlcpy(report->library_version, swacl_version_string(), sizeof report->library_version);
    prof_strlcpy(report->git_revision, SWACL_PROF_GIT_REVISION, sizeof report->git_revision);
    prof_strlcpy(report->mode, o.quick ? "quick" : "full", sizeof report->mode);
    prof_strlcpy(report->command, command_line, sizeof report->command);
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(report->created, sizeof report->created, "%Y-%m-%dT%H:%M:%SZ", &utc);
    if (gethostname(report->host, sizeof report->host) != 0)
        prof_strlcpy(report->host, "unknown", sizeof report->host);
    report->host[sizeof report->host - 1] = '\0';

    /* the selector list: "all" is every device the library lists */
    const char *selectors[MAX_DEVICES];
    char *owned[MAX_DEVICES];
    int n_sel = 0, n_owned = 0;
    char devbuf[512];
    swacl_device_info *infos = NULL;
    if (!devices) {
        selectors[n_sel++] = NULL;
    } else {
        prof_strlcpy(devbuf, devices, sizeof devbuf);
        for (char *save = NULL, *tok = strtok_r(devbuf, ",", &save); tok && n_sel < MAX_DEVICES;
             tok = strtok_r(NULL, ",", &save)) {
            if (strcmp(tok, "all") != 0) {
                selectors[n_sel++] = tok;
                continue;
            }
            int n = 0;
            if (swacl_devices_list(NULL, 0, &n) != SWACL_OK || n == 0)
                continue;
            infos = prof_xrealloc(infos, sizeof *infos * (size_t)n);
            swacl_devices_list(infos, n, &n);
            for (int k = 0; k < n && n_sel < MAX_DEVICES && n_owned < MAX_DEVICES; ++k)
                selectors[n_sel++] = owned[n_owned++] = strdup(infos[k].selector);
        }
    }
    const char *done[MAX_DEVICES];
    int n_done = 0;
    for (int i = 0; i < n_sel; ++i)
        run_device(selectors[i], &o, jobs, n_jobs, report, done, &n_done);

    printf("swacl-prof %s mode, swacl %s, rev %s\n", report->mode, report->library_version,
           report->git_revision);
    prof_report_print(report, stdout);
    /* every file is attempted, whichever fails */
    int rc = (json && write_output(OUT_JSON, json, &report, 1, metric)) |
             (csv && write_output(OUT_CSV, csv, &report, 1, metric)) |
             (plot && write_output(OUT_PLOT, plot, &report, 1, metric));
    for (int d = 0; d < report->n_devices && rc == 0; ++d)
        for (int s = 0; s < report->devices[d].n_suites; ++s)
            for (int k = 0; k < report->devices[d].suites[s].n_rows; ++k)
                if (prof_row_status(&report->devices[d].suites[s].rows[k]) == PROF_ERROR)
                    rc = 3;
    for (int i = 0; i < n_done; ++i)
        free((char *)done[i]);
    for (int i = 0; i < n_owned; ++i)
        free(owned[i]);
    free(infos);
    free(jobs);
    prof_report_free(report);
    return rc;
}

int main(int argc, char **argv)
{
    char command_line[512] = "swacl-prof";
    for (int i = 1; i < argc; ++i) {
        size_t used = strlen(command_line);
        snprintf(command_line + used, sizeof command_line - used, " %s", argv[i]);
    }
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "list") == 0)
        return cmd_list();
    if (argc > 1 && strcmp(argv[1], "memory") == 0)
        return cmd_memory(argc - 2, argv + 2);
    if (argc > 1 && strcmp(argv[1], "show") == 0)
        return cmd_show(argc - 2, argv + 2);
    if (argc > 1 && (strcmp(argv[1], "compare") == 0 || strcmp(argv[1], "--compare") == 0))
        return cmd_compare(argc - 2, argv + 2);
    if (argc > 1 && strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 2, argv + 2, command_line);
    for (int i = 1; i < argc; ++i) /* "--compare a.json b.json" anywhere, options around it */
        if (strcmp(argv[i], "--compare") == 0)
            return cmd_compare(argc - 1, argv + 1);
    return cmd_run(argc - 1, argv + 1, command_line);
}
