/* json.c — the report as JSON: a writer, and a small strict reader (RFC 8259
 * syntax, depth-limited, line/column errors) that maps our schema back. */
#include "prof.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- writer ---------------------------------------------------------------- */

static void write_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; ++p) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

static void write_fields(FILE *out, const void *obj, const prof_field *fields, int n,
                         const char *sep)
{
    char buf[600];
    for (int i = 0; i < n; ++i) {
        const prof_field *f = &fields[i];
        fprintf(out, "%s", i ? sep : "");
        write_string(out, f->name);
        fputs(": ", out);
        prof_field_format(f, obj, buf, sizeof buf);
        if (f->kind == PROF_FIELD_TEXT)
            write_string(out, buf);
        else
            fputs(buf[0] ? buf : "null", out);
    }
}

int prof_json_write(const prof_report *r, FILE *out)
{
    fprintf(out, "{\n  \"format_version\": %d,\n  ", PROF_FORMAT_VERSION);
    write_fields(out, r, prof_report_fields, prof_n_report_fields, ",\n  ");
    fputs(",\n  \"devices\": [", out);
    for (int d = 0; d < r->n_devices; ++d) {
        const prof_device *dev = &r->devices[d];
        fprintf(out, "%s\n    {\n      ", d ? "," : "");
        write_fields(out, dev, prof_device_fields, prof_n_device_fields, ",\n      ");
        fputs(",\n      \"suites\": [", out);
        for (int s = 0; s < dev->n_suites; ++s) {
            const prof_suite *suite = &dev->suites[s];
            fprintf(out, "%s\n        {\"name\": ", s ? "," : "");
            write_string(out, suite->name);
            fputs(", \"rows\": [", out);
            for (int i = 0; i < suite->n_rows; ++i) {
                /* one row per line keeps recorded files diffable */
                fprintf(out, "%s\n          {", i ? "," : "");
                write_fields(out, &suite->rows[i], prof_row_fields, prof_n_row_fields, ", ");
                fputc('}', out);
            }
            fputs(suite->n_rows ? "\n        ]}" : "]}", out);
        }
        fputs(dev->n_suites ? "\n      ]\n    }" : "]\n    }", out);
    }
    fputs(r->n_devices ? "\n  ]\n}\n" : "]\n}\n", out);
    return ferror(out) ? -1 : 0;
}

int prof_json_write_file(const prof_report *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = prof_json_write(r, f);
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* ---- reader: text -> value tree --------------------------------------------- */

enum { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

typedef struct jv {
    int type;
    double num;    /* JV_NUM, JV_BOOL */
    char *str;     /* JV_STR */
    int n;         /* JV_ARR, JV_OBJ */
    struct jv *items;
    char **keys;   /* JV_OBJ */
} jv;

#define JSON_MAX_DEPTH 32

typedef struct parser {
    const char *start, *p, *end;
    char *err;
    size_t err_size;
    int failed;
} parser;

static void fail_at(parser *ps, const char *what)
{
    if (ps->failed)
        return;
    ps->failed = 1;
    int line = 1, col = 1;
    for (const char *c = ps->start; c < ps->p && c < ps->end; ++c) {
        if (*c == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    snprintf(ps->err, ps->err_size, "line %d, column %d: %s", line, col, what);
}

static void jv_free(jv *v)
{
    if (v->type == JV_STR)
        free(v->str);
    if (v->type == JV_ARR || v->type == JV_OBJ) {
        for (int i = 0; i < v->n; ++i) {
            jv_free(&v->items[i]);
            if (v->keys)
                free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
    }
    v->type = JV_NULL;
}

static void skip_space(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ++ps->p;
}

static void append_bytes(char **buf, size_t *len, size_t *cap, const unsigned char *b, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*cap + n + 1) * 2;
        *buf = prof_xrealloc(*buf, *cap);
    }
    memcpy(*buf + *len, b, n);
    *len += n;
}

static void put_utf8(char **buf, size_t *len, size_t *cap, unsigned cp)
{
    unsigned char tmp[4];
    int n;
    if (cp < 0x80) {
        tmp[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        tmp[0] = (unsigned char)(0xC0 | (cp >> 6));
        tmp[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (unsigned char)(0xE0 | (cp >> 12));
        tmp[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        tmp[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        tmp[0] = (unsigned char)(0xF0 | (cp >> 18));
        tmp[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        tmp[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        tmp[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    append_bytes(buf, len, cap, tmp, (size_t)n);
}

static int hex4(parser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4) {
        fail_at(ps, "truncated \\u escape");
        return -1;
    }
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
        char c = *ps->p++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else {
            fail_at(ps, "bad hex digit in \\u escape");
            return -1;
        }
    }
    *out = v;
    return 0;
}

/* at the opening quote; returns a malloc'd string or NULL */
static char *parse_string(parser *ps)
{
    size_t len = 0, cap = 32;
    char *buf = prof_xrealloc(NULL, cap);
    ++ps->p;
    for (;;) {
        if (ps->p >= ps->end) {
            fail_at(ps, "unterminated string");
            break;
        }
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"') {
            ++ps->p;
            buf[len] = '\0';
            return buf;
        }
        if (c < 0x20) {
            fail_at(ps, "control character in string");
            break;
        }
        ++ps->p;
        if (c != '\\') {
            append_bytes(&buf, &len, &cap, &c, 1); /* UTF-8 passes through unchanged */
            continue;
        }
        if (ps->p >= ps->end) {
            fail_at(ps, "unterminated escape");
            break;
        }
        char e = *ps->p++;
        unsigned cp;
        switch (e) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (hex4(ps, &cp))
                goto bad;
            if (cp >= 0xD800 && cp < 0xDC00) { /* a surrogate pair makes one code point */
                unsigned lo;
                if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    fail_at(ps, "lone high surrogate");
                    goto bad;
                }
                ps->p += 2;
                if (hex4(ps, &lo))
                    goto bad;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    fail_at(ps, "bad low surrogate");
                    goto bad;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                fail_at(ps, "lone low surrogate");
                goto bad;
            }
            if (cp == 0) {
                fail_at(ps, "NUL in string");
                goto bad;
            }
            break;
        default:
            fail_at(ps, "unknown escape");
            goto bad;
        }
        put_utf8(&buf, &len, &cap, cp);
    }
bad:
    free(buf);
    return NULL;
}

/* JSON's number grammar checked by hand; strtod would also take hex, inf, nan */
static int parse_number(parser *ps, double *out)
{
    const char *s = ps->p, *q = s;
    if (q < ps->end && *q == '-')
        ++q;
    if (q < ps->end && *q == '0')
        ++q;
    else if (q < ps->end && *q >= '1' && *q <= '9')
        while (q < ps->end && *q >= '0' && *q <= '9')
            ++q;
    else
        goto bad;
    if (q < ps->end && *q == '.') {
        ++q;
        if (!(q < ps->end && *q >= '0' && *q <= '9'))
            goto bad;
        while (q < ps->end && *q >= '0' && *q <= '9')
            ++q;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        ++q;
        if (q < ps->end && (*q == '+' || *q == '-'))
            ++q;
        if (!(q < ps->end && *q >= '0' && *q <= '9'))
            goto bad;
        while (q < ps->end && *q >= '0' && *q <= '9')
            ++q;
    }
    char tmp[64];
    if ((size_t)(q - s) >= sizeof tmp) {
        fail_at(ps, "number too long");
        return -1;
    }
    memcpy(tmp, s, (size_t)(q - s));
    tmp[q - s] = '\0';
    *out = strtod(tmp, NULL);
    ps->p = q;
    return 0;
bad:
    fail_at(ps, "bad number");
    return -1;
}

static int literal(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, word, n) == 0) {
        ps->p += n;
        return 1;
    }
    return 0;
}

static int parse_value(parser *ps, jv *out, int depth);

static int parse_container(parser *ps, jv *out, int depth, int is_object)
{
    int cap = 0;
    char close = is_object ? '}' : ']';
    out->type = is_object ? JV_OBJ : JV_ARR;
    ++ps->p;
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ++ps->p;
        return 0;
    }
    for (;;) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 8;
            out->items = prof_xrealloc(out->items, (size_t)cap * sizeof *out->items);
            if (is_object)
                out->keys = prof_xrealloc(out->keys, (size_t)cap * sizeof *out->keys);
        }
        skip_space(ps);
        if (is_object) {
            if (ps->p >= ps->end || *ps->p != '"') {
                fail_at(ps, "expected a key string");
                return -1;
            }
            char *key = parse_string(ps);
            if (!key)
                return -1;
            skip_space(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                fail_at(ps, "expected ':'");
                return -1;
            }
            ++ps->p;
            out->keys[out->n] = key;
        }
        jv *item = &out->items[out->n];
        memset(item, 0, sizeof *item);
        ++out->n; /* counted before parsing so that a failure frees it */
        if (parse_value(ps, item, depth + 1))
            return -1;
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ++ps->p;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ++ps->p;
            return 0;
        }
        fail_at(ps, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
        return -1;
    }
}

static int parse_value(parser *ps, jv *out, int depth)
{
    memset(out, 0, sizeof *out);
    if (depth > JSON_MAX_DEPTH) {
        fail_at(ps, "nested too deeply");
        return -1;
    }
    skip_space(ps);
    if (ps->p >= ps->end) {
        fail_at(ps, "unexpected end of input");
        return -1;
    }
    switch (*ps->p) {
    case '{': return parse_container(ps, out, depth, 1);
    case '[': return parse_container(ps, out, depth, 0);
    case '"':
        out->str = parse_string(ps);
        if (!out->str)
            return -1;
        out->type = JV_STR;
        return 0;
    default:
        if (literal(ps, "null"))
            return out->type = JV_NULL, 0;
        if (literal(ps, "true"))
            return out->type = JV_BOOL, out->num = 1, 0;
        if (literal(ps, "false"))
            return out->type = JV_BOOL, out->num = 0, 0;
        out->type = JV_NUM;
        return parse_number(ps, &out->num);
    }
}

/* ---- value tree -> report -------------------------------------------------- */

static const jv *member(const jv *obj, const char *key)
{
    for (int i = 0; i < obj->n; ++i)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

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
static int read_fields(const jv *o, void *obj, const prof_field *fields, int n, const char *path,
                       char *err, size_t err_size)
{
    for (int i = 0; i < n; ++i) {
        const prof_field *f = &fields[i];
        const jv *v = member(o, f->name);
        if (!v)
            continue;
        char *base = (char *)obj + f->offset;
        if (f->kind == PROF_FIELD_TEXT) {
            if (v->type != JV_STR)
                return schema_fail(err, err_size, "%s.%s: expected a string", path, f->name);
            prof_strlcpy(base, v->str, f->size);
        } else if (v->type == JV_NULL && f->kind == PROF_FIELD_NUM) {
            double nan = NAN;
            memcpy(base, &nan, sizeof nan);
        } else if (v->type != JV_NUM) {
            return schema_fail(err, err_size, "%s.%s: expected a number", path, f->name);
        } else if (f->kind == PROF_FIELD_NUM) {
            memcpy(base, &v->num, sizeof v->num);
        } else {
            if (v->num != floor(v->num) || fabs(v->num) > 2147483647.0)
                return schema_fail(err, err_size, "%s.%s: expected an integer", path, f->name);
            int iv = (int)v->num;
            memcpy(base, &iv, sizeof iv);
        }
    }
    return 0;
}

static const jv *array_member(const jv *o, const char *key, const char *path, char *err,
                              size_t err_size)
{
    const jv *a = member(o, key);
    if (!a || a->type != JV_ARR) {
        schema_fail(err, err_size, "%s.%s: expected an array", path, key);
        return NULL;
    }
    return a;
}

static int read_report(const jv *root, prof_report *r, char *err, size_t err_size)
{
    char path[96];
    if (root->type != JV_OBJ)
        return schema_fail(err, err_size, "top level: expected an object");
    const jv *ver = member(root, "format_version");
    if (!ver || ver->type != JV_NUM || ver->num != floor(ver->num) || ver->num < 1)
        return schema_fail(err, err_size, "format_version: missing or not a positive integer");
    if (ver->num > PROF_FORMAT_VERSION)
        return schema_fail(err, err_size, "format_version %.0f is newer than this reader (%d)",
                           ver->num, PROF_FORMAT_VERSION);
    r->format_version = (int)ver->num;
    if (read_fields(root, r, prof_report_fields, prof_n_report_fields, "report", err, err_size))
        return -1;
    const jv *devices = array_member(root, "devices", "report", err, err_size);
    if (!devices)
        return -1;
    for (int d = 0; d < devices->n; ++d) {
        const jv *jd = &devices->items[d];
        snprintf(path, sizeof path, "devices[%d]", d);
        if (jd->type != JV_OBJ)
            return schema_fail(err, err_size, "%s: expected an object", path);
        prof_device *dev = prof_report_add_device(r);
        if (read_fields(jd, dev, prof_device_fields, prof_n_device_fields, path, err, err_size))
            return -1;
        const jv *suites = array_member(jd, "suites", path, err, err_size);
        if (!suites)
            return -1;
        for (int s = 0; s < suites->n; ++s) {
            const jv *js = &suites->items[s];
            snprintf(path, sizeof path, "devices[%d].suites[%d]", d, s);
            const jv *name = js->type == JV_OBJ ? member(js, "name") : NULL;
            if (!name || name->type != JV_STR)
                return schema_fail(err, err_size, "%s: expected an object with a name", path);
            prof_suite *suite = prof_device_suite(dev, name->str);
            const jv *rows = array_member(js, "rows", path, err, err_size);
            if (!rows)
                return -1;
            for (int i = 0; i < rows->n; ++i) {
                const jv *jr = &rows->items[i];
                snprintf(path, sizeof path, "devices[%d].suites[%d].rows[%d]", d, s, i);
                if (jr->type != JV_OBJ)
                    return schema_fail(err, err_size, "%s: expected an object", path);
                prof_row *row = prof_suite_add_row(suite, "");
                if (read_fields(jr, row, prof_row_fields, prof_n_row_fields, path, err, err_size))
                    return -1;
                if (prof_status_parse(row->status) < 0)
                    return schema_fail(err, err_size, "%s.status: unknown status \"%s\"", path,
                                       row->status);
            }
        }
    }
    return 0;
}

prof_report *prof_json_parse(const char *text, size_t len, char *err, size_t err_size)
{
    parser ps = {text, text, text + len, err, err_size, 0};
    jv root;
    /* a UTF-8 byte order mark is tolerated: some editors add one */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        ps.p += 3;
    int rc = parse_value(&ps, &root, 0);
    if (!rc) {
        skip_space(&ps);
        if (ps.p != ps.end) {
            fail_at(&ps, "trailing characters after the document");
            rc = -1;
        }
    }
    prof_report *r = NULL;
    if (!rc) {
        r = prof_report_new();
        if (read_report(&root, r, err, err_size)) {
            prof_report_free(r);
            r = NULL;
        }
    }
    jv_free(&root);
    return r;
}

char *prof_read_text_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = 0, cap = 1 << 16;
    char *buf = prof_xrealloc(NULL, cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = prof_xrealloc(buf, cap);
        }
    }
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

prof_report *prof_read_report_file(const char *path, prof_parse_fn parse, char *err,
                                   size_t err_size)
{
    size_t len;
    char *text = prof_read_text_file(path, &len);
    if (!text) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char inner[256];
    prof_report *r = parse(text, len, inner, sizeof inner);
    free(text);
    if (!r)
        snprintf(err, err_size, "%s: %s", path, inner);
    else
        prof_strlcpy(r->source, path, sizeof r->source);
    return r;
}

prof_report *prof_json_read_file(const char *path, char *err, size_t err_size)
{
    return prof_read_report_file(path, prof_json_parse, err, err_size);
}
