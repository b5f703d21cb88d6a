/* report.c — the result store: report -> device -> suite -> row, the field
 * descriptors generated from prof.h's lists, and exact text forms of fields. */
#include "prof.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {"ok", "unsupported", "skipped", "error"};

const char *prof_status_name(prof_status s)
{
    return (s >= PROF_OK && s <= PROF_ERROR) ? status_names[s] : "error";
}

int prof_status_parse(const char *text)
{
    for (int i = 0; i <= PROF_ERROR; ++i)
        if (strcmp(text, status_names[i]) == 0)
            return i;
    return -1;
}

#define FIELD_T_(type, name, size) {#name, PROF_FIELD_TEXT, offsetof(type, name), size},
#define FIELD_I_(type, name) {#name, PROF_FIELD_INT, offsetof(type, name), sizeof(int)},
#define FIELD_N_(type, name) {#name, PROF_FIELD_NUM, offsetof(type, name), sizeof(double)},

#define REPORT_T_(name, size) FIELD_T_(prof_report, name, size)
#define REPORT_I_(name) FIELD_I_(prof_report, name)
#define REPORT_N_(name) FIELD_N_(prof_report, name)
const prof_field prof_report_fields[] = {PROF_REPORT_FIELDS(REPORT_T_, REPORT_I_, REPORT_N_)};
const int prof_n_report_fields = (int)(sizeof prof_report_fields / sizeof prof_report_fields[0]);

#define DEVICE_T_(name, size) FIELD_T_(prof_device, name, size)
#define DEVICE_I_(name) FIELD_I_(prof_device, name)
#define DEVICE_N_(name) FIELD_N_(prof_device, name)
const prof_field prof_device_fields[] = {PROF_DEVICE_FIELDS(DEVICE_T_, DEVICE_I_, DEVICE_N_)};
const int prof_n_device_fields = (int)(sizeof prof_device_fields / sizeof prof_device_fields[0]);

#define ROW_T_(name, size) FIELD_T_(prof_row, name, size)
#define ROW_I_(name) FIELD_I_(prof_row, name)
#define ROW_N_(name) FIELD_N_(prof_row, name)
const prof_field prof_row_fields[] = {PROF_ROW_FIELDS(ROW_T_, ROW_I_, ROW_N_)};
const int prof_n_row_fields = (int)(sizeof prof_row_fields / sizeof prof_row_fields[0]);

/* Shortest of %.15g..%.17g that reads back as the same double, so files stay
 * readable and round trips stay exact. */
static void format_double(char *buf, size_t size, double v)
{
    for (int prec = 15; prec <= 17; ++prec) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

void prof_field_format(const prof_field *f, const void *obj, char *buf, size_t size)
{
    const char *base = (const char *)obj + f->offset;
    switch (f->kind) {
    case PROF_FIELD_TEXT:
        prof_strlcpy(buf, base, size);
        break;
    case PROF_FIELD_INT: {
        int v;
        memcpy(&v, base, sizeof v);
        snprintf(buf, size, "%d", v);
        break;
    }
    case PROF_FIELD_NUM: {
        double v;
        memcpy(&v, base, sizeof v);
        if (isfinite(v))
            format_double(buf, size, v);
        else
            buf[0] = '\0'; /* absent; infinities are not measurements either */
        break;
    }
    }
}

void *prof_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "swacl-prof: out of host memory (%zu bytes)\n", n);
        exit(2);
    }
    return q;
}

void prof_strlcpy(char *dst, const char *src, size_t size)
{
    if (!size)
        return;
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* numbers absent, integers 0, text empty */
static void clear_fields(void *obj, const prof_field *fields, int n)
{
    for (int i = 0; i < n; ++i) {
        char *base = (char *)obj + fields[i].offset;
        if (fields[i].kind == PROF_FIELD_NUM) {
            double nan = NAN;
            memcpy(base, &nan, sizeof nan);
        } else {
            memset(base, 0, fields[i].size);
        }
    }
}

prof_report *prof_report_new(void)
{
    prof_report *r = prof_xrealloc(NULL, sizeof *r);
    memset(r, 0, sizeof *r);
    clear_fields(r, prof_report_fields, prof_n_report_fields);
    r->format_version = PROF_FORMAT_VERSION;
    prof_strlcpy(r->tool, "swacl-prof", sizeof r->tool);
    return r;
}

void prof_report_free(prof_report *r)
{
    if (!r)
        return;
    for (int d = 0; d < r->n_devices; ++d) {
        prof_device *dev = &r->devices[d];
        for (int s = 0; s < dev->n_suites; ++s)
            free(dev->suites[s].rows);
        free(dev->suites);
    }
    free(r->devices);
    free(r);
}

/* grows *items (of elem bytes) so that one more fits */
static void *grow(void *items, int n, int *cap, size_t elem)
{
    if (n < *cap)
        return items;
    *cap = *cap ? *cap * 2 : 8;
    return prof_xrealloc(items, (size_t)*cap * elem);
}

prof_device *prof_report_add_device(prof_report *r)
{
    r->devices = grow(r->devices, r->n_devices, &r->cap_devices, sizeof *r->devices);
    prof_device *d = &r->devices[r->n_devices++];
    memset(d, 0, sizeof *d);
    clear_fields(d, prof_device_fields, prof_n_device_fields);
    return d;
}

const prof_suite *prof_device_find_suite(const prof_device *d, const char *name)
{
    for (int i = 0; i < d->n_suites; ++i)
        if (strcmp(d->suites[i].name, name) == 0)
            return &d->suites[i];
    return NULL;
}

prof_suite *prof_device_suite(prof_device *d, const char *name)
{
    const prof_suite *found = prof_device_find_suite(d, name);
    if (found)
        return (prof_suite *)found;
    d->suites = grow(d->suites, d->n_suites, &d->cap_suites, sizeof *d->suites);
    prof_suite *s = &d->suites[d->n_suites++];
    memset(s, 0, sizeof *s);
    prof_strlcpy(s->name, name, sizeof s->name);
    return s;
}

void prof_row_init(prof_row *row, const char *name)
{
    clear_fields(row, prof_row_fields, prof_n_row_fields);
    prof_strlcpy(row->name, name, sizeof row->name);
    prof_strlcpy(row->status, "ok", sizeof row->status);
}

prof_row *prof_suite_add_row(prof_suite *s, const char *name)
{
    s->rows = grow(s->rows, s->n_rows, &s->cap_rows, sizeof *s->rows);
    prof_row *row = &s->rows[s->n_rows++];
    prof_row_init(row, name);
    return row;
}

const prof_row *prof_suite_find_row(const prof_suite *s, const char *name)
{
    for (int i = 0; s && i < s->n_rows; ++i)
        if (strcmp(s->rows[i].name, name) == 0)
            return &s->rows[i];
    return NULL;
}

void prof_row_set_status(prof_row *row, prof_status st, const char *fmt, ...)
{
    prof_strlcpy(row->status, prof_status_name(st), sizeof row->status);
    row->reason[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(row->reason, sizeof row->reason, fmt, ap);
        va_end(ap);
    }
}

prof_status prof_row_status(const prof_row *row)
{
    int s = prof_status_parse(row->status);
    return s < 0 ? PROF_ERROR : (prof_status)s;
}

static double limit_value(const prof_device *d, const char *prefix, int best)
{
    const prof_suite *s = prof_device_find_suite(d, "limits");
    double v = NAN;
    for (int i = 0; s && i < s->n_rows; ++i) {
        const prof_row *row = &s->rows[i];
        if (strncmp(row->name, prefix, strlen(prefix)) != 0 || prof_row_status(row) != PROF_OK ||
            !isfinite(row->value))
            continue;
        if (!best)
            return row->value;
        if (!(v >= row->value))
            v = row->value;
    }
    return v;
}

double prof_device_read_gbs(const prof_device *d) { return limit_value(d, "read_bw", 0); }
double prof_device_sgemm_gflops(const prof_device *d) { return limit_value(d, "sgemm_", 1); }

int prof_row_primary(const char *suite, const prof_row *row, double *value, const char **unit,
                     int *higher_is_better)
{
    if (strcmp(suite, "limits") == 0 || strcmp(suite, "e2e") == 0) {
        *value = row->value;
        *unit = row->unit;
        /* latencies are the only limits where less is better */
        *higher_is_better = strcmp(row->unit, "us") != 0 && strcmp(row->unit, "ms") != 0;
    } else {
        *value = row->time_ms;
        *unit = "ms";
        *higher_is_better = 0;
    }
    return prof_row_status(row) == PROF_OK && isfinite(*value);
}
