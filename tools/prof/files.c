/* files.c — the report on disk: JSON written and read through cJSON (the record,
 * which compare and show read back) and CSV written as a flat export. */
#include "prof.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* cJSON allocates through prof_xrealloc, so a tree is never half built */
static void *json_alloc(size_t n) { return prof_xrealloc(NULL, n); }
static void json_init(void)
{
    cJSON_Hooks hooks = {json_alloc, free};
    cJSON_InitHooks(&hooks);
}

/* ---- JSON out ------------------------------------------------------------------ */

/* Text as strings; numbers as prof_field_format writes them (the shortest text
 * that reads back exactly), absent ones as null. */
static cJSON *add_fields(cJSON *o, const void *obj, const prof_field *fields, int n)
{
    char buf[600];
    for (int i = 0; i < n; ++i) {
        prof_field_format(&fields[i], obj, buf, sizeof buf);
        if (fields[i].kind == PROF_FIELD_TEXT)
            cJSON_AddStringToObject(o, fields[i].name, buf);
        else
            cJSON_AddRawToObject(o, fields[i].name, buf[0] ? buf : "null");
    }
    return o;
}

int prof_json_write(const prof_report *r, FILE *out)
{
    json_init();
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "format_version", PROF_FORMAT_VERSION);
    add_fields(root, r, prof_report_fields, prof_n_report_fields);
    cJSON *devices = cJSON_AddArrayToObject(root, "devices");
    for (int d = 0; d < r->n_devices; ++d) {
        const prof_device *dev = &r->devices[d];
        cJSON *jd = add_fields(cJSON_CreateObject(), dev, prof_device_fields, prof_n_device_fields);
        cJSON_AddItemToArray(devices, jd);
        cJSON *suites = cJSON_AddArrayToObject(jd, "suites");
        for (int s = 0; s < dev->n_suites; ++s) {
            cJSON *js = cJSON_CreateObject();
            cJSON_AddItemToArray(suites, js);
            cJSON_AddStringToObject(js, "name", dev->suites[s].name);
            cJSON *rows = cJSON_AddArrayToObject(js, "rows");
            for (int i = 0; i < dev->suites[s].n_rows; ++i)
                cJSON_AddItemToArray(rows, add_fields(cJSON_CreateObject(), &dev->suites[s].rows[i],
                                                      prof_row_fields, prof_n_row_fields));
        }
    }
    char *text = cJSON_Print(root);
    fprintf(out, "%s\n", text);
    free(text);
    cJSON_Delete(root);
    return ferror(out) ? -1 : 0;
}

/* ---- JSON in ------------------------------------------------------------------- */

static int schema_fail(char *err, size_t err_size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int schema_fail(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return -1;
}

/* Fills obj's fields from the members of o that name them; others are ignored. */
static int read_fields(const cJSON *o, void *obj, const prof_field *fields, int n, const char *path,
                       char *err, size_t err_size)
{
    for (int i = 0; i < n; ++i) {
        const prof_field *f = &fields[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f->name);
        char *base = (char *)obj + f->offset;
        double num = v ? v->valuedouble : 0;
        if (!v)
            continue;
        if (f->kind == PROF_FIELD_TEXT) {
            if (!cJSON_IsString(v))
                return schema_fail(err, err_size, "%s.%s: expected a string", path, f->name);
            prof_strlcpy(base, v->valuestring, f->size);
        } else if (f->kind == PROF_FIELD_NUM && (cJSON_IsNumber(v) || cJSON_IsNull(v))) {
            num = cJSON_IsNull(v) ? NAN : num;
            memcpy(base, &num, sizeof num);
        } else if (!cJSON_IsNumber(v)) {
            return schema_fail(err, err_size, "%s.%s: expected a number", path, f->name);
        } else if (num != floor(num) || fabs(num) > 2147483647.0) {
            return schema_fail(err, err_size, "%s.%s: expected an integer", path, f->name);
        } else {
            int iv = (int)num;
            memcpy(base, &iv, sizeof iv);
        }
    }
    return 0;
}

/* the array member key of o, or NULL with a reason */
static const cJSON *array_member(const cJSON *o, const char *key, const char *path, char *err,
                                 size_t err_size)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsArray(a))
        return a;
    schema_fail(err, err_size, "%s.%s: expected an array", path, key);
    return NULL;
}

static int read_report(const cJSON *root, prof_report *r, char *err, size_t err_size)
{
    char path[96];
    if (!cJSON_IsObject(root))
        return schema_fail(err, err_size, "top level: expected an object");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "format_version");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != floor(ver->valuedouble) || ver->valuedouble < 1)
        return schema_fail(err, err_size, "format_version: missing or not a positive integer");
    if (ver->valuedouble > PROF_FORMAT_VERSION)
        return schema_fail(err, err_size, "format_version %.0f is newer than this reader (%d)",
                           ver->valuedouble, PROF_FORMAT_VERSION);
    r->format_version = (int)ver->valuedouble;
    const cJSON *devices = array_member(root, "devices", "report", err, err_size), *jd, *js, *jr;
    if (!devices || read_fields(root, r, prof_report_fields, prof_n_report_fields, "report", err,
                                err_size))
        return -1;
    int d = 0;
    cJSON_ArrayForEach(jd, devices) {
        snprintf(path, sizeof path, "devices[%d]", d);
        if (!cJSON_IsObject(jd))
            return schema_fail(err, err_size, "%s: expected an object", path);
        prof_device *dev = prof_report_add_device(r);
        const cJSON *suites = array_member(jd, "suites", path, err, err_size);
        if (!suites || read_fields(jd, dev, prof_device_fields, prof_n_device_fields, path, err,
                                   err_size))
            return -1;
        int s = 0;
        cJSON_ArrayForEach(js, suites) {
            snprintf(path, sizeof path, "devices[%d].suites[%d]", d, s);
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(js, "name");
            if (!cJSON_IsString(name))
                return schema_fail(err, err_size, "%s: expected an object with a name", path);
            prof_suite *suite = prof_device_suite(dev, name->valuestring);
            const cJSON *rows = array_member(js, "rows", path, err, err_size);
            if (!rows)
                return -1;
            int i = 0;
            cJSON_ArrayForEach(jr, rows) {
                snprintf(path, sizeof path, "devices[%d].suites[%d].rows[%d]", d, s, i++);
                if (!cJSON_IsObject(jr))
                    return schema_fail(err, err_size, "%s: expected an object", path);
                prof_row *row = prof_suite_add_row(suite, "");
                if (read_fields(jr, row, prof_row_fields, prof_n_row_fields, path, err, err_size))
                    return -1;
                if (prof_status_parse(row->status) < 0)
                    return schema_fail(err, err_size, "%s.status: unknown status \"%s\"", path,
                                       row->status);
            }
            ++s;
        }
        ++d;
    }
    return 0;
}

prof_report *prof_json_parse(const char *text, char *err, size_t err_size)
{
    json_init();
    const char *end = text;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        int line = 1, col = 1;
        for (const char *c = text; c < end && *c; ++c) { /* end: where cJSON stopped */
            col = *c == '\n' ? 1 : col + 1;
            line += *c == '\n';
        }
        snprintf(err, err_size, "line %d, column %d: not valid JSON", line, col);
        return NULL;
    }
    prof_report *r = prof_report_new();
    if (read_report(root, r, err, err_size)) {
        prof_report_free(r);
        r = NULL;
    }
    cJSON_Delete(root);
    return r;
}

char *prof_read_text_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = 0, cap = 1 << 16, got;
    char *buf = prof_xrealloc(NULL, cap);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0)
        if ((n += got) == cap - 1)
            buf = prof_xrealloc(buf, cap *= 2);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

prof_report *prof_json_read_file(const char *path, char *err, size_t err_size)
{
    size_t len;
    char *text = prof_read_text_file(path, &len), inner[256];
    if (!text) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    prof_report *r = strlen(text) == len ? prof_json_parse(text, inner, sizeof inner) : NULL;
    if (!r && strlen(text) != len)
        prof_strlcpy(inner, "a NUL byte: not a JSON report", sizeof inner);
    free(text);
    if (!r)
        snprintf(err, err_size, "%s: %s", path, inner);
    else
        prof_strlcpy(r->source, path, sizeof r->source);
    return r;
}

/* ---- CSV out (RFC 4180) ----------------------------------------------------------- */

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

/* one object's fields as cells; names (with prefix) for the header when obj is NULL */
static void put_fields(FILE *out, const void *obj, const prof_field *fields, int n,
                       const char *prefix)
{
    char buf[600];
    for (int i = 0; i < n; ++i) {
        if (obj)
            prof_field_format(&fields[i], obj, buf, sizeof buf);
        else
            snprintf(buf, sizeof buf, "%s%s", prefix, fields[i].name);
        put_cell(out, buf, 0);
    }
}

int prof_csv_write(const prof_report *r, FILE *out)
{
    char version[16];
    snprintf(version, sizeof version, "%d", PROF_FORMAT_VERSION);
    put_cell(out, "format_version", 1);
    put_fields(out, NULL, prof_report_fields, prof_n_report_fields, "");
    put_fields(out, NULL, prof_device_fields, prof_n_device_fields, "device_");
    put_cell(out, "suite", 0);
    put_fields(out, NULL, prof_row_fields, prof_n_row_fields, "");
    fputs("\r\n", out);
    for (int d = 0; d < r->n_devices; ++d) {
        const prof_device *dev = &r->devices[d];
        for (int s = 0; s < dev->n_suites; ++s)
            for (int k = 0; k < dev->suites[s].n_rows; ++k) {
                put_cell(out, version, 1);
                put_fields(out, r, prof_report_fields, prof_n_report_fields, "");
                put_fields(out, dev, prof_device_fields, prof_n_device_fields, "");
                put_cell(out, dev->suites[s].name, 0);
                put_fields(out, &dev->suites[s].rows[k], prof_row_fields, prof_n_row_fields, "");
                fputs("\r\n", out);
            }
    }
    return ferror(out) ? -1 : 0;
}
