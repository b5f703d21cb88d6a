/* table.c — aligned text tables and the stdout form of a report. */
#include "prof.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void prof_table_init(prof_table *t, int n_cols, const char *const *headers, const char *align)
{
    memset(t, 0, sizeof *t);
    t->n_cols = n_cols;
    t->right = align;
    for (int i = 0; i < n_cols; ++i)
        prof_table_cell(t, "%s", headers[i]);
}

void prof_table_cell(prof_table *t, const char *fmt, ...)
{
    if (t->next_cell == t->cap_cells) {
        t->cap_cells = t->cap_cells ? t->cap_cells * 2 : 64;
        t->cells = prof_xrealloc(t->cells, (size_t)t->cap_cells * sizeof *t->cells);
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t n = strlen(buf) + 1;
    t->cells[t->next_cell] = memcpy(prof_xrealloc(NULL, n), buf, n);
    ++t->next_cell;
    t->n_rows = (t->next_cell + t->n_cols - 1) / t->n_cols;
}

/* display width: UTF-8 continuation bytes take no column */
static int text_width(const char *s)
{
    int w = 0;
    for (; *s; ++s)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

void prof_table_print(const prof_table *t, FILE *out, const char *indent)
{
    int *width = prof_xrealloc(NULL, sizeof(int) * (size_t)t->n_cols);
    for (int c = 0; c < t->n_cols; ++c)
        width[c] = 0;
    for (int i = 0; i < t->next_cell; ++i) {
        int w = text_width(t->cells[i]);
        if (w > width[i % t->n_cols])
            width[i % t->n_cols] = w;
    }
    for (int r = 0; r < t->n_rows; ++r) {
        fputs(indent, out);
        int last = t->n_cols - 1;
        while (last > 0 && r * t->n_cols + last >= t->next_cell)
            --last;
        for (int c = 0; c <= last; ++c) {
            const char *cell = t->cells[r * t->n_cols + c];
            int pad = width[c] - text_width(cell);
            int right = t->right && t->right[c] == 'r';
            if (c)
                fputs("  ", out);
            if (right)
                fprintf(out, "%*s", pad, "");
            fputs(cell, out);
            if (!right && c < last)
                fprintf(out, "%*s", pad, "");
        }
        fputc('\n', out);
    }
    free(width);
}

void prof_table_free(prof_table *t)
{
    for (int i = 0; i < t->next_cell; ++i)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

void prof_fmt_num(char *buf, size_t size, double v)
{
    double a = fabs(v);
    if (!isfinite(v))
        snprintf(buf, size, "-");
    else if (a >= 1e6)
        snprintf(buf, size, "%.2fM", v / 1e6);
    else if (a >= 1e4)
        snprintf(buf, size, "%.1fk", v / 1e3);
    else if (a >= 100)
        snprintf(buf, size, "%.0f", v);
    else if (a >= 10)
        snprintf(buf, size, "%.1f", v);
    else if (a >= 0.01 || a == 0)
        snprintf(buf, size, "%.2f", v);
    else if (a >= 1e-4)
        snprintf(buf, size, "%.4f", v);
    else
        snprintf(buf, size, "%.1e", v);
}

void prof_fmt_bytes(char *buf, size_t size, double bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (fabs(bytes) >= 1024 && u < 4) {
        bytes /= 1024;
        ++u;
    }
    if (u == 0)
        snprintf(buf, size, "%.0f B", bytes);
    else
        snprintf(buf, size, "%.*f %s", bytes >= 100 ? 0 : 1, bytes, units[u]);
}

static void print_limits(const prof_suite *s, FILE *out)
{
    static const char *const headers[] = {"limit", "median", "min", "max", "unit", "status"};
    prof_table t;
    char a[32], b[32], c[32];
    prof_table_init(&t, 6, headers, "lrrrll");
    for (int i = 0; i < s->n_rows; ++i) {
        const prof_row *row = &s->rows[i];
        prof_fmt_num(a, sizeof a, row->value);
        prof_fmt_num(b, sizeof b, row->value_min);
        prof_fmt_num(c, sizeof c, row->value_max);
        prof_table_cell(&t, "%s", row->name);
        prof_table_cell(&t, "%s", a);
        prof_table_cell(&t, "%s", b);
        prof_table_cell(&t, "%s", c);
        prof_table_cell(&t, "%s", row->unit);
        if (prof_row_status(row) == PROF_OK)
            prof_table_cell(&t, "ok");
        else
            prof_table_cell(&t, "%s: %s", row->status, row->reason);
    }
    prof_table_print(&t, out, "  ");
    prof_table_free(&t);
}

static void print_timed(const prof_device *dev, FILE *out)
{
    static const char *const headers[] = {"suite", "row", "ms", "min", "max", "wall ms",
                                          "GFLOP/s", "GB/s", "tok/s", "%BW", "%SGEMM",
                                          "x naive", "x gemm", "status"};
    prof_table t;
    prof_table_init(&t, 14, headers, "llrrrrrrrrrrrl");
    /* swacl's suites, then the baselines, then whatever a newer writer added */
    static const char *const order[] = {"prefill", "chunked", "decode", "naive", "gemm"};
    const int n_order = (int)(sizeof order / sizeof order[0]);
    int any = 0;
    for (int s = 0; s < n_order + dev->n_suites; ++s) {
        const prof_suite *suite = s < n_order ? prof_device_find_suite(dev, order[s])
                                              : &dev->suites[s - n_order];
        int known = 0;
        for (int j = 0; j < n_order && suite && s >= n_order; ++j)
            known |= strcmp(suite->name, order[j]) == 0;
        if (!suite || known || strcmp(suite->name, "limits") == 0)
            continue;
        for (int i = 0; i < suite->n_rows; ++i) {
            const prof_row *row = &suite->rows[i];
            const double nums[] = {row->time_ms, row->time_min_ms, row->time_max_ms,
                                   row->wall_ms, row->gflops, row->gbs, row->tokens_per_s,
                                   row->pct_bw, row->pct_sgemm, row->speedup_naive,
                                   row->speedup_gemm};
            any = 1;
            prof_table_cell(&t, "%s", suite->name);
            prof_table_cell(&t, "%s", row->name);
            for (size_t k = 0; k < sizeof nums / sizeof nums[0]; ++k) {
                char buf[32];
                prof_fmt_num(buf, sizeof buf, nums[k]);
                prof_table_cell(&t, "%s", buf);
            }
            if (prof_row_status(row) != PROF_OK)
                prof_table_cell(&t, "%s: %s", row->status, row->reason);
            else if (row->verified == 1)
                prof_table_cell(&t, "ok, verified (err %.1e)", row->max_err);
            else
                prof_table_cell(&t, "ok, NOT verified");
        }
    }
    if (any)
        prof_table_print(&t, out, "  ");
    prof_table_free(&t);
}

void prof_report_print(const prof_report *r, FILE *out)
{
    for (int d = 0; d < r->n_devices; ++d) {
        const prof_device *dev = &r->devices[d];
        char mem[32];
        prof_fmt_bytes(mem, sizeof mem, dev->global_mem_bytes);
        fprintf(out, "%sdevice %s: %s", d ? "\n" : "", dev->selector, dev->name);
        if (dev->type[0]) /* a device that never opened has nothing more to say */
            fprintf(out, " (%s, %d CU, %s, fp16 %s)\n  %s | %s | driver %s | swacl params %s",
                    dev->type, dev->compute_units, isfinite(dev->global_mem_bytes) ? mem : "?",
                    dev->has_fp16 ? "yes" : "no", dev->platform, dev->device_version,
                    dev->driver_version, dev->params);
        fputc('\n', out);
        const prof_suite *limits = prof_device_find_suite(dev, "limits");
        if (limits && limits->n_rows)
            print_limits(limits, out);
        print_timed(dev, out);
    }
    fprintf(out, "\nms: kernel time per operation (median of samples, min, max); wall: enqueue + "
                 "finish.\nGFLOP/s counts 4*head_dim*heads per visible pair; GB/s uses modelled "
                 "minimum traffic;\n%%BW and %%SGEMM are of this device's measured read bandwidth "
                 "and best CLBlast SGEMM;\nx naive / x gemm: swacl's speed-up over the baselines "
                 "on the same work; decode tok/s is per layer.\n");
    for (int d = 0; d < r->n_devices; ++d)
        if (prof_device_find_suite(&r->devices[d], "e2e")) {
            fprintf(out, "e2e: the whole model (checked against transformers by the tests, not "
                         "here): tok/s of the model,\nGFLOP/s 2 per weight per token, GB/s the "
                         "weights and KV cache read per forward pass.\n");
            break;
        }
}
