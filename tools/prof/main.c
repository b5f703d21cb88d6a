/* main.c — swacl-prof's command line: list devices, run the benchmark on one
 * or more of them, plan KV-cache memory, compare and show saved reports. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <getopt.h>
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
        "       swacl-prof show FILE.json       a saved report as a table\n"
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
        "  --suites LIST             limits,prefill,chunked,decode,baselines (default all),\n"
        "                            e2e (a whole model: needs --model)\n"
        "  --model FILE.gguf         e2e: prefill 512 tokens, decode at batch 1 and 8\n"
        "                            (adds e2e to the suites)\n"
        "  --no-baselines            skip the naive and CLBlast baselines\n"
        "  --samples N               timed samples per row (default 7; quick 3)\n"
        "  --target-ms MS            shortest sample; repetitions are calibrated to it\n"
        "  --max-run S               skip rows whose one run is estimated longer (default 120)\n"
        "  --json FILE  --csv FILE   write the report (versioned schema; CSV is an export only)\n"
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

/* long-only options: values past any short option's character */
enum {
    OPT_QUICK = 256, OPT_NO_BASELINES, OPT_NO_PROGRESS, OPT_SHAPES, OPT_SHAPE, OPT_N, OPT_BATCH,
    OPT_KV, OPT_SUITES, OPT_SAMPLES, OPT_TARGET_MS, OPT_MAX_RUN, OPT_JSON, OPT_CSV, OPT_PLOT,
    OPT_PLOT_METRIC, OPT_COMPARE, OPT_MODEL, OPT_CONTEXT, OPT_DTYPE, OPT_NAME, OPT_ALTERNATE,
    OPT_LAYERS, OPT_HEADS, OPT_KV_HEADS, OPT_HEAD_DIM, OPT_WINDOW, OPT_SINKS, OPT_DILATION
};

/* entries of the getopt_long tables: an option with a value, a flag */
#define ARG(name, val) {name, required_argument, NULL, val}
#define FLAG(name, val) {name, no_argument, NULL, val}
#define END {NULL, 0, NULL, 0}

/* getopt_long with the tool's own messages: '?' after saying what is wrong */
static int next_option(int argc, char **argv, const char *shorts, const struct option *options,
                       const char **arg)
{
    int c = getopt_long(argc, argv, shorts, options, NULL);
    *arg = optarg;
    if (c == ':')
        die_usage("%s needs a value", argv[optind - 1]);
    else if (c == '?')
        die_usage("unknown option \"%s\"", argv[optind - 1]);
    return c == ':' ? '?' : c;
}

/* the items of a list separated by any of seps, pointing into buf; -1 past max */
static int split_list(const char *text, const char *seps, char *buf, size_t size, char **items,
                      int max)
{
    int n = 0;
    prof_strlcpy(buf, text, size);
    for (char *save = NULL, *tok = strtok_r(buf, seps, &save); tok;
         tok = strtok_r(NULL, seps, &save)) {
        if (n == max)
            return -1;
        items[n++] = tok;
    }
    return n;
}

/* comma-separated counts ("1K,4096") in [1, limit]; -1 on a bad item */
static int parse_counts(const char *text, int limit, int *out, int max)
{
    char buf[256], *items[BENCH_MAX_LIST];
    int n = split_list(text, ",", buf, sizeof buf, items,
                       max < BENCH_MAX_LIST ? max : BENCH_MAX_LIST);
    for (int i = 0; i < n; ++i) {
        int64_t v = prof_parse_count(items[i]);
        if (v < 1 || v > limit)
            return -1;
        out[i] = (int)v;
    }
    return n > 0 ? n : -1;
}

/* a number argument, NaN unless the whole text is one */
static double number_arg(const char *text)
{
    char *end;
    double v = strtod(text, &end);
    return end != text && !*end ? v : NAN;
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

static const struct option memory_options[] = {
    ARG("model", OPT_MODEL), ARG("context", OPT_CONTEXT), ARG("dtype", OPT_DTYPE),
    ARG("name", OPT_NAME), FLAG("alternate", OPT_ALTERNATE), ARG("layers", OPT_LAYERS),
    ARG("heads", OPT_HEADS), ARG("kv-heads", OPT_KV_HEADS), ARG("head-dim", OPT_HEAD_DIM),
    ARG("window", OPT_WINDOW), ARG("sinks", OPT_SINKS), ARG("dilation", OPT_DILATION),
    FLAG("help", 'h'), END};

#define MAX_MODELS 16

/* the presets named in list ("all" = every preset) appended to models; 1 after
 * saying which name is unknown */
static int add_models(const char *list, prof_model *models, int *n)
{
    char buf[256], all[256], *items[MAX_MODELS], *every[MAX_MODELS];
    int n_items = split_list(list, ",", buf, sizeof buf, items, MAX_MODELS);
    int n_every = split_list(prof_model_preset_names(), " ", all, sizeof all, every, MAX_MODELS);
    for (int i = 0; i < n_items; ++i) {
        int is_all = strcmp(items[i], "all") == 0;
        for (int k = 0; k < (is_all ? n_every : 1); ++k, ++*n)
            if (*n == MAX_MODELS || prof_model_preset(is_all ? every[k] : items[i], &models[*n]))
                return die_usage(*n == MAX_MODELS ? "too many models at \"%s\""
                                                  : "unknown model \"%s\"",
                                 items[i]);
    }
    return n_items < 1 ? die_usage("bad --model list \"%s\"", list) : 0;
}

static int cmd_memory(int argc, char **argv)
{
    prof_model models[MAX_MODELS + 1], mine;
    int n_models = 0, custom = 0, n_ctx = 0, dtype_given = 0, c;
    int ctx[16];
    int64_t contexts[16];
    memset(&mine, 0, sizeof mine);
    prof_strlcpy(mine.name, "custom", sizeof mine.name);
    mine.kv_dtype = SWACL_F16;
    swacl_dtype dtype = SWACL_F16;
    /* the custom model's numbers, in the order of OPT_LAYERS .. OPT_DILATION */
    int *fields[] = {&mine.n_layers, &mine.n_heads, &mine.n_kv_heads, &mine.head_dim,
                     &mine.window, &mine.n_sink, &mine.dilation};
    const char *v;
    while ((c = next_option(argc, argv, ":h", memory_options, &v)) != -1) {
        int64_t x;
        switch (c) {
        case OPT_MODEL:
            if (add_models(v, models, &n_models))
                return 1;
            break;
        case OPT_CONTEXT:
            if ((n_ctx = parse_counts(v, 2147483647, ctx, 16)) < 0)
                return die_usage("bad context length list \"%s\"", v);
            break;
        case OPT_DTYPE:
            if (parse_dtype(v, &dtype))
                return die_usage("bad --dtype \"%s\" (f16 or f32)", v);
            dtype_given = 1;
            break;
        case OPT_NAME: prof_strlcpy(mine.name, v, sizeof mine.name); break;
        case OPT_ALTERNATE: mine.alternate = custom = 1; break;
        case 'h': usage(stdout); return 0;
        case '?': return 1;
        default:
            if ((x = prof_parse_count(v)) < 0 || x > 1 << 30)
                return die_usage("bad number \"%s\"", v);
            *fields[c - OPT_LAYERS] = (int)x;
            custom = 1;
        }
    }
    if (optind < argc)
        return die_usage("unexpected argument \"%s\"", argv[optind]);
    if (custom) {
        if (!mine.n_kv_heads)
            mine.n_kv_heads = mine.n_heads;
        if (mine.n_layers < 1 || mine.n_heads < 1 || mine.head_dim < 1)
            return die_usage("%s", "a custom model needs --layers, --heads and --head-dim");
        models[n_models++] = mine;
    }
    if (n_models == 0)
        add_models("all", models, &n_models);
    for (int k = 0; k < n_models && dtype_given; ++k)
        models[k].kv_dtype = dtype;
    if (n_ctx == 0)
        n_ctx = parse_counts("1K,8K,32K,128K,1M", 2147483647, ctx, 16);
    for (int k = 0; k < n_ctx; ++k)
        contexts[k] = ctx[k];
    int rc = prof_memory_print(models, n_models, contexts, n_ctx, stdout);
    printf("\nbytes from swacl_cache_plan_bytes (K and V rings, one sequence); a full-attention\n"
           "cache grows with the context, a sliding-window one stops at n_sink + W slots.\n");
    if (rc) {
        fprintf(stderr, "swacl-prof: swacl_cache_plan_bytes: %s\n",
                swacl_status_string((swacl_status)rc));
        return 3;
    }
    return 0;
}

/* ---- compare / show ------------------------------------------------------------ */

static const struct option compare_options[] = {
    ARG("plot", OPT_PLOT), ARG("plot-metric", OPT_PLOT_METRIC), FLAG("compare", OPT_COMPARE),
    FLAG("help", 'h'), END};

static int cmd_compare(int argc, char **argv)
{
    prof_report *reports[MAX_FILES];
    int n = 0, rc = 0, c;
    const char *plot = NULL, *metric = "time", *v;
    while ((c = next_option(argc, argv, ":h", compare_options, &v)) != -1) {
        if (c == '?')
            return 1;
        if (c == 'h')
            return usage(stdout), 0;
        if (c == OPT_PLOT)
            plot = v;
        else if (c == OPT_PLOT_METRIC)
            metric = v;
    }
    if (strcmp(metric, "time") != 0 && strcmp(metric, "gbs") != 0)
        return die_usage("--plot-metric \"%s\": time or gbs", metric);
    if (optind == argc)
        return die_usage("%s", "compare needs one or more report files");
    if (argc - optind > MAX_FILES)
        return die_usage("%s", "too many files");
    for (int i = optind; i < argc; ++i)
        if (!(reports[n++] = read_report(argv[i])))
            --n, rc = 1;
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
    if (argc - optind != 1)
        return die_usage("%s", "show takes one report file");
    prof_report *r = read_report(argv[optind]);
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
    if (o->suites & BENCH_E2E) {
        bench_progress_show("e2e");
        e2e_run(&dev, o);
    }
    bench_progress_end();
    bench_link_speedups(dev.rec);
    suites_release();
    baselines_release();
    bench_device_close(&dev);
}

static const struct option run_options[] = {
    ARG("device", 'd'), FLAG("quick", OPT_QUICK), FLAG("no-baselines", OPT_NO_BASELINES),
    FLAG("no-progress", OPT_NO_PROGRESS), ARG("shapes", OPT_SHAPES), ARG("shape", OPT_SHAPE),
    ARG("n", OPT_N), ARG("batch", OPT_BATCH), ARG("kv", OPT_KV), ARG("suites", OPT_SUITES),
    ARG("samples", OPT_SAMPLES), ARG("target-ms", OPT_TARGET_MS), ARG("max-run", OPT_MAX_RUN),
    ARG("json", OPT_JSON), ARG("csv", OPT_CSV), ARG("plot", OPT_PLOT),
    ARG("plot-metric", OPT_PLOT_METRIC), ARG("model", OPT_MODEL), FLAG("help", 'h'), END};

static int cmd_run(int argc, char **argv, const char *command_line)
{
    bench_opts o;
    memset(&o, 0, sizeof o);
    o.suites = BENCH_ALL;
    o.progress = 1;
    o.samples = -1;
    o.target_s = -1;
    o.max_run_s = 120;
    const char *devices = NULL, *json = NULL, *csv = NULL, *plot = NULL, *metric = "time", *v;
    static const char *const suite_names[] = {"limits", "prefill", "chunked", "decode",
                                              "baselines", "e2e"};
    char buf[256], err[256], *items[BENCH_MAX_LIST];
    int c, count;
    double x;
    while ((c = next_option(argc, argv, ":d:h", run_options, &v)) != -1) {
        switch (c) {
        case 'd': devices = v; break;
        case OPT_QUICK: o.quick = 1; break;
        case OPT_NO_BASELINES: o.suites &= ~BENCH_BASELINES; break;
        case OPT_NO_PROGRESS: o.progress = 0; break;
        case OPT_SHAPES: /* replaces the named defaults; --shape ones are kept after them */
        case OPT_SHAPE:
            o.named_given |= c == OPT_SHAPES;
            items[0] = (char *)v;
            count = c == OPT_SHAPE ? 1 : split_list(v, ",", buf, sizeof buf, items, BENCH_MAX_LIST);
            for (int i = 0; i < count; ++i, ++o.n_shapes)
                if (o.n_shapes == BENCH_MAX_LIST - 2 ||
                    prof_shape_parse(items[i], &o.shapes[o.n_shapes], err, sizeof err))
                    return die_usage("%s", o.n_shapes == BENCH_MAX_LIST - 2 ? "too many shapes"
                                                                            : err);
            if (count < 0)
                return die_usage("%s", "too many shapes");
            break;
        case OPT_N:
            if ((o.n_n = parse_counts(v, 1 << 30, o.n_list, BENCH_MAX_LIST)) < 0)
                return die_usage("bad --n \"%s\"", v);
            break;
        case OPT_BATCH:
            if ((o.n_batches = parse_counts(v, 1 << 30, o.batches, BENCH_MAX_LIST)) < 0)
                return die_usage("bad --batch \"%s\"", v);
            break;
        case OPT_KV:
            o.kv_given = 1;
            o.n_kv = split_list(v, ",", buf, sizeof buf, items, 2);
            for (int i = 0; i < o.n_kv; ++i)
                o.n_kv = parse_dtype(items[i], &o.kv[i]) ? -1 : o.n_kv;
            if (o.n_kv < 1)
                return die_usage("bad --kv \"%s\" (f32, f16)", v);
            break;
        case OPT_SUITES:
            o.suites = 0;
            if ((count = split_list(v, ",", buf, sizeof buf, items, BENCH_MAX_LIST)) < 1)
                return die_usage("bad --suites \"%s\"", v);
            for (int i = 0, k = 0; i < count; ++i, k = 0) {
                while (k < 6 && strcmp(items[i], suite_names[k]) != 0)
                    ++k;
                if (k == 6)
                    return die_usage("unknown suite \"%s\"", items[i]);
                o.suites |= 1 << k;
            }
            break;
        case OPT_SAMPLES:
            if (!((x = number_arg(v)) >= 1 && x <= 64 && x == floor(x)))
                return die_usage("--samples \"%s\": 1..64", v);
            o.samples = (int)x;
            break;
        case OPT_TARGET_MS:
            if (!((o.target_s = number_arg(v) * 1e-3) > 0))
                return die_usage("bad --target-ms \"%s\"", v);
            break;
        case OPT_MAX_RUN:
            if (!((o.max_run_s = number_arg(v)) > 0))
                return die_usage("bad --max-run \"%s\"", v);
            break;
        case OPT_MODEL: o.model_path = v; break;
        case OPT_JSON: json = v; break;
        case OPT_CSV: csv = v; break;
        case OPT_PLOT: plot = v; break;
        case OPT_PLOT_METRIC:
            if (strcmp(v, "time") != 0 && strcmp(v, "gbs") != 0)
                return die_usage("--plot-metric \"%s\": time or gbs", v);
            metric = v;
            break;
        case 'h': return usage(stdout), 0;
        default: return 1; /* next_option said why */
        }
    }
    if (optind < argc)
        return die_usage("unexpected argument \"%s\"", argv[optind]);
    if (o.model_path)
        o.suites |= BENCH_E2E;
    else if (o.suites & BENCH_E2E)
        return die_usage("%s", "the e2e suite needs --model FILE.gguf");
    char devbuf[512], *selector_items[MAX_DEVICES];
    int n_items = devices ? split_list(devices, ",", devbuf, sizeof devbuf, selector_items,
                                       MAX_DEVICES)
                          : 0;
    if (n_items < 0 || (devices && n_items == 0))
        return die_usage("bad --device list \"%s\"", devices);
    if (!o.named_given) { /* the named defaults come first; --shape ones follow */
        memmove(&o.shapes[2], &o.shapes[0], sizeof o.shapes[0] * (size_t)o.n_shapes);
        prof_shape_preset("laptop", &o.shapes[0]);
        prof_shape_preset("mistral", &o.shapes[1]);
        o.n_shapes += 2;
    }
    if (!o.n_n)
        o.n_n = parse_counts(o.quick ? "4K" : "1K,4K,16K", 1 << 30, o.n_list, BENCH_MAX_LIST);
    if (!o.n_batches)
        o.n_batches = parse_counts(o.quick ? "1,8" : "1,8,32", 1 << 30, o.batches, BENCH_MAX_LIST);
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
    const char *selectors[MAX_DEVICES] = {NULL};
    int n_sel = devices ? 0 : 1, n_info = 0; /* no -d: the library's default device */
    swacl_device_info *infos = NULL;
    for (int i = 0; i < n_items && n_sel < MAX_DEVICES; ++i) {
        if (strcmp(selector_items[i], "all") != 0) {
            selectors[n_sel++] = selector_items[i];
            continue;
        }
        if (!infos && swacl_devices_list(NULL, 0, &n_info) == SWACL_OK && n_info > 0) {
            infos = prof_xrealloc(NULL, sizeof *infos * (size_t)n_info);
            swacl_devices_list(infos, n_info, &n_info);
        }
        for (int k = 0; k < n_info && n_sel < MAX_DEVICES; ++k)
            selectors[n_sel++] = infos[k].selector;
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
    opterr = 0; /* next_option says what is wrong, in the tool's words */
    const char *cmd = argc > 1 ? argv[1] : "";
    optind = 2; /* past the command word */
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0)
        return usage(stdout), 0;
    if (strcmp(cmd, "list") == 0)
        return argc == 2 ? cmd_list() : die_usage("%s", "list takes no arguments");
    if (strcmp(cmd, "memory") == 0)
        return cmd_memory(argc, argv);
    if (strcmp(cmd, "show") == 0)
        return cmd_show(argc, argv);
    if (strcmp(cmd, "compare") == 0)
        return cmd_compare(argc, argv);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc, argv, command_line);
    optind = 1; /* no command word: options from the start */
    for (int i = 1; i < argc; ++i) /* "--compare a.json b.json" anywhere, options around it */
        if (strcmp(argv[i], "--compare") == 0)
            return cmd_compare(argc, argv);
    return cmd_run(argc, argv, command_line);
}
