/* csv.c — the report as CSV (RFC 4180): one line per row carrying its device
 * and report metadata, so a file is one flat table; and the reader back. */
#include "prof.h"

#include <stdlib.h>
#include <string.h>

#define DEVICE_PREFIX "device_"

static void put_cell(FILE *out, const char *s, int first)
{
    if (!first)
        fputc(',', out);
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; ++s) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

int prof_csv_write(const prof_report *r, FILE *out)
{
    char buf[600];
    put_cell(out, "format_version", 1);
    for (int i = 0; i < prof_n_report_fields; ++i)
        put_cell(out, prof_report_fields[i].name, 0);
    for (int i = 0; i < prof_n_device_fields; ++i) {
        snprintf(buf, sizeof buf, DEVICE_PREFIX "%s", prof_device_fields[i].name);
        put_cell(out, buf, 0);
    }
    put_cell(out, "suite", 0);
    for (int i = 0; i < prof_n_row_fields; ++i)
        put_cell(out, prof_row_fields[i].name, 0);
    fputs("\r\n", out);

    for (int d = 0; d < r->n_devices; ++d) {
        const prof_device *dev = &r->devices[d];
        for (int s = 0; s < dev->n_suites; ++s) {
            const prof_suite *suite = &dev->suites[s];
            for (int k = 0; k < suite->n_rows; ++k) {
                snprintf(buf, sizeof buf, "%d", PROF_FORMAT_VERSION);
                put_cell(out, buf, 1);
                for (int i = 0; i < prof_n_report_fields; ++i) {
                    prof_field_format(&prof_report_fields[i], r, buf, sizeof buf);
                    put_cell(out, buf, 0);
                }
                for (int i = 0; i < prof_n_device_fields; ++i) {
                    prof_field_format(&prof_device_fields[i], dev, buf, sizeof buf);
                    put_cell(out, buf, 0);
                }
                put_cell(out, suite->name, 0);
                for (int i = 0; i < prof_n_row_fields; ++i) {
                    prof_field_format(&prof_row_fields[i], &suite->rows[k], buf, sizeof buf);
                    put_cell(out, buf, 0);
                }
                fputs("\r\n", out);
            }
        }
    }
    return ferror(out) ? -1 : 0;
}

int prof_csv_write_file(const prof_report *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = prof_csv_write(r, f);
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* ---- reader ----------------------------------------------------------------- */

typedef struct record {
    char **cells;
    int n, cap;
} record;

static void record_clear(record *rec)
{
    for (int i = 0; i < rec->n; ++i)
        free(rec->cells[i]);
    rec->n = 0;
}

/* Reads one record at *p; returns 0 at end of input, 1 with a record, -1 on error. */
static int read_record(const char **p, const char *end, record *rec, int *line, char *err,
                       size_t err_size)
{
    record_clear(rec);
    if (*p >= end)
        return 0;
    size_t len = 0, cap = 64;
    char *cell = prof_xrealloc(NULL, cap);
    int quoted = 0, in_quotes = 0;
    for (;;) {
        int at_end = *p >= end;
        char c = at_end ? '\n' : **p;
        if (in_quotes) {
            if (at_end) {
                snprintf(err, err_size, "line %d: unterminated quoted cell", *line);
                free(cell);
                return -1;
            }
            ++*p;
            if (c == '"') {
                if (*p < end && **p == '"') {
                    ++*p;
                } else {
                    in_quotes = 0;
                    continue;
                }
            } else if (c == '\n') {
                ++*line;
            }
        } else {
            if (!at_end)
                ++*p;
            if (c == '"' && len == 0 && !quoted) {
                quoted = in_quotes = 1;
                continue;
            }
            if (c == '\r' && *p < end && **p == '\n')
                continue; /* CRLF: the LF ends the record */
            if (c == ',' || c == '\n') {
                cell[len] = '\0';
                if (rec->n == rec->cap) {
                    rec->cap = rec->cap ? rec->cap * 2 : 64;
                    rec->cells = prof_xrealloc(rec->cells, (size_t)rec->cap * sizeof *rec->cells);
                }
                rec->cells[rec->n++] = cell;
                if (c == '\n') {
                    ++*line;
                    return 1;
                }
                len = 0;
                cap = 64;
                cell = prof_xrealloc(NULL, cap);
                quoted = 0;
                continue;
            }
            if (quoted) {
                snprintf(err, err_size, "line %d: text after a closing quote", *line);
                free(cell);
                return -1;
            }
        }
        if (len + 2 > cap) {
            cap *= 2;
            cell = prof_xrealloc(cell, cap);
        }
        cell[len++] = c;
    }
}

/* where each column goes: -1 ignored, else an index into one of the field tables */
typedef struct column_map {
    int version, suite;
    int *report, *device, *row; /* column of each field, or -1 */
} column_map;

static int find_column(const record *header, const char *name)
{
    for (int i = 0; i < header->n; ++i)
        if (strcmp(header->cells[i], name) == 0)
            return i;
    return -1;
}

static int parse_into(const record *rec, const int *cols, const prof_field *fields, int n,
                      void *obj, int line, char *err, size_t err_size)
{
    for (int i = 0; i < n; ++i) {
        if (cols[i] < 0)
            continue;
        if (prof_field_parse(&fields[i], obj, rec->cells[cols[i]])) {
            snprintf(err, err_size, "line %d: bad value \"%s\" for %s", line,
                     rec->cells[cols[i]], fields[i].name);
            return -1;
        }
    }
    return 0;
}

/* the device a record belongs to: an existing one with the same identity, or a new one */
static prof_device *device_for(prof_report *r, const prof_device *probe)
{
    char a[600], b[600];
    for (int d = 0; d < r->n_devices; ++d) {
        int same = 1;
        for (int i = 0; same && i < prof_n_device_fields; ++i) {
            prof_field_format(&prof_device_fields[i], probe, a, sizeof a);
            prof_field_format(&prof_device_fields[i], &r->devices[d], b, sizeof b);
            same = strcmp(a, b) == 0;
        }
        if (same)
            return &r->devices[d];
    }
    prof_device *dev = prof_report_add_device(r);
    memcpy(dev, probe, sizeof *dev);
    return dev;
}

prof_report *prof_csv_parse(const char *text, size_t len, char *err, size_t err_size)
{
    const char *p = text, *end = text + len;
    int line = 1;
    record header = {0}, rec = {0};
    column_map map = {0};
    prof_report *r = NULL;
    char name[64];

    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    if (read_record(&p, end, &header, &line, err, err_size) <= 0) {
        if (p >= end)
            snprintf(err, err_size, "empty file");
        goto done;
    }
    map.version = find_column(&header, "format_version");
    map.suite = find_column(&header, "suite");
    if (map.version != 0 || map.suite < 0) {
        snprintf(err, err_size, "line 1: not a swacl-prof CSV header (format_version, ..., suite, ...)");
        goto done;
    }
    map.report = prof_xrealloc(NULL, sizeof(int) * (size_t)prof_n_report_fields);
    map.device = prof_xrealloc(NULL, sizeof(int) * (size_t)prof_n_device_fields);
    map.row = prof_xrealloc(NULL, sizeof(int) * (size_t)prof_n_row_fields);
    for (int i = 0; i < prof_n_report_fields; ++i)
        map.report[i] = find_column(&header, prof_report_fields[i].name);
    for (int i = 0; i < prof_n_device_fields; ++i) {
        snprintf(name, sizeof name, DEVICE_PREFIX "%s", prof_device_fields[i].name);
        map.device[i] = find_column(&header, name);
    }
    for (int i = 0; i < prof_n_row_fields; ++i)
        map.row[i] = find_column(&header, prof_row_fields[i].name);

    r = prof_report_new();
    int rc, records = 0;
    while ((rc = read_record(&p, end, &rec, &line, err, err_size)) > 0) {
        int rec_line = line - 1;
        if (rec.n == 1 && rec.cells[0][0] == '\0')
            continue; /* blank line */
        if (rec.n != header.n) {
            snprintf(err, err_size, "line %d: %d cells, the header has %d", rec_line, rec.n,
                     header.n);
            goto fail;
        }
        char *vend;
        long version = strtol(rec.cells[0], &vend, 10);
        if (*vend || version < 1 || version > PROF_FORMAT_VERSION) {
            snprintf(err, err_size, "line %d: format_version \"%s\" not readable (this reader: %d)",
                     rec_line, rec.cells[0], PROF_FORMAT_VERSION);
            goto fail;
        }
        if (records++ == 0) {
            r->format_version = (int)version;
            if (parse_into(&rec, map.report, prof_report_fields, prof_n_report_fields, r,
                           rec_line, err, err_size))
                goto fail;
        }
        prof_device probe;
        memset(&probe, 0, sizeof probe);
        for (int i = 0; i < prof_n_device_fields; ++i)
            if (prof_device_fields[i].kind == PROF_FIELD_NUM)
                prof_field_parse(&prof_device_fields[i], &probe, ""); /* absent */
        if (parse_into(&rec, map.device, prof_device_fields, prof_n_device_fields, &probe,
                       rec_line, err, err_size))
            goto fail;
        prof_device *dev = device_for(r, &probe);
        prof_row *row = prof_suite_add_row(prof_device_suite(dev, rec.cells[map.suite]), "");
        if (parse_into(&rec, map.row, prof_row_fields, prof_n_row_fields, row, rec_line, err,
                       err_size))
            goto fail;
        if (prof_status_parse(row->status) < 0) {
            snprintf(err, err_size, "line %d: unknown status \"%s\"", rec_line, row->status);
            goto fail;
        }
    }
    if (rc == 0)
        goto done;
fail:
    prof_report_free(r);
    r = NULL;
done:
    record_clear(&header);
    record_clear(&rec);
    free(header.cells);
    free(rec.cells);
    free(map.report);
    free(map.device);
    free(map.row);
    return r;
}

prof_report *prof_csv_read_file(const char *path, char *err, size_t err_size)
{
    return prof_read_report_file(path, prof_csv_parse, err, err_size);
}
