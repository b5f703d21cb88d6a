/* compare.c — devices side by side from one or more reports (also files made
 * on other machines): each row's primary figure and its ratio to the first device. */
#include "prof.h"

#include <stdlib.h>
#include <string.h>

typedef struct row_key {
    const char *suite, *name, *unit;
} row_key;

static int key_index(const row_key *keys, int n, const char *suite, const char *name)
{
    for (int i = 0; i < n; ++i)
        if (strcmp(keys[i].suite, suite) == 0 && strcmp(keys[i].name, name) == 0)
            return i;
    return -1;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int prof_compare_print(prof_report *const *reports, int n_reports, FILE *out)
{
    int n_dev = 0;
    for (int r = 0; r < n_reports; ++r)
        n_dev += reports[r]->n_devices;
    if (n_dev == 0) {
        fprintf(out, "no devices to compare\n");
        return 0;
    }
    const prof_device **devs = prof_xrealloc(NULL, sizeof *devs * (size_t)n_dev);
    int k = 0;
    fprintf(out, "devices:\n");
    for (int r = 0; r < n_reports; ++r)
        for (int d = 0; d < reports[r]->n_devices; ++d, ++k) {
            const prof_device *dev = &reports[r]->devices[d];
            devs[k] = dev;
            /* column letters keep the table narrow; the legend says who is who */
            fprintf(out, "  %c  %s%s%s %s (%s, driver %s, swacl %s, rev %s)\n", 'A' + k % 26,
                    reports[r]->source[0] ? base_name(reports[r]->source) : "",
                    reports[r]->source[0] ? " " : "", dev->selector, dev->name, dev->type,
                    dev->driver_version, reports[r]->library_version, reports[r]->git_revision);
        }

    row_key *keys = NULL;
    int n_keys = 0, cap = 0;
    for (int i = 0; i < n_dev; ++i)
        for (int s = 0; s < devs[i]->n_suites; ++s) {
            const prof_suite *suite = &devs[i]->suites[s];
            for (int j = 0; j < suite->n_rows; ++j) {
                if (key_index(keys, n_keys, suite->name, suite->rows[j].name) >= 0)
                    continue;
                if (n_keys == cap) {
                    cap = cap ? cap * 2 : 32;
                    keys = prof_xrealloc(keys, sizeof *keys * (size_t)cap);
                }
                double v;
                int hib;
                const char *unit;
                prof_row_primary(suite->name, &suite->rows[j], &v, &unit, &hib);
                keys[n_keys++] = (row_key){suite->name, suite->rows[j].name, unit};
            }
        }

    int n_cols = 3 + n_dev + (n_dev - 1);
    const char **headers = prof_xrealloc(NULL, sizeof *headers * (size_t)n_cols);
    char *align = prof_xrealloc(NULL, (size_t)n_cols + 1);
    char (*labels)[16] = prof_xrealloc(NULL, sizeof *labels * (size_t)n_cols);
    headers[0] = "suite";
    headers[1] = "row";
    headers[2] = "unit";
    memcpy(align, "lll", 3);
    for (int i = 0, c = 3; i < n_dev; ++i) {
        snprintf(labels[c], sizeof labels[c], "%c", 'A' + i % 26);
        headers[c] = labels[c];
        align[c++] = 'r';
        if (i) {
            snprintf(labels[c], sizeof labels[c], "%c/A", 'A' + i % 26);
            headers[c] = labels[c];
            align[c++] = 'r';
        }
    }
    align[n_cols] = '\0';

    prof_table t;
    prof_table_init(&t, n_cols, headers, align);
    for (int i = 0; i < n_keys; ++i) {
        prof_table_cell(&t, "%s", keys[i].suite);
        prof_table_cell(&t, "%s", keys[i].name);
        prof_table_cell(&t, "%s", keys[i].unit);
        double base = 0;
        int base_ok = 0;
        for (int d = 0; d < n_dev; ++d) {
            const prof_row *row = prof_suite_find_row(prof_device_find_suite(devs[d], keys[i].suite),
                                                      keys[i].name);
            double v = 0;
            int hib = 0, ok = 0;
            const char *unit;
            if (row)
                ok = prof_row_primary(keys[i].suite, row, &v, &unit, &hib);
            char buf[32];
            prof_fmt_num(buf, sizeof buf, v);
            prof_table_cell(&t, "%s", ok ? buf : row ? row->status : "-");
            if (d == 0) {
                base = v;
                base_ok = ok;
            } else if (ok && base_ok && v > 0 && base > 0) {
                /* > 1 always means this device does better than A */
                prof_table_cell(&t, "%.2fx", hib ? v / base : base / v);
            } else {
                prof_table_cell(&t, "-");
            }
        }
    }
    prof_table_print(&t, out, "");
    fprintf(out, "ratios: > 1 means the device does better than A (faster, or more GB/s / GFLOP/s)\n");
    prof_table_free(&t);
    free(labels);
    free(align);
    free(headers);
    free(keys);
    free(devs);
    return n_dev;
}
