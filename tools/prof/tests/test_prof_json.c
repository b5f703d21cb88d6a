/* test_prof_json.c — swacl-prof's result files: JSON round trips, the schema of
 * a recorded report, the CSV export, and the reader's answers to broken input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "prof.h"

#include <cJSON.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *data_dir = ".";

/* a report with every kind of field, awkward text and absent numbers */
static prof_report *sample_report(void)
{
    prof_report *r = prof_report_new();
    prof_strlcpy(r->library_version, "0.1.0", sizeof r->library_version);
    prof_strlcpy(r->git_revision, "abc123-dirty", sizeof r->git_revision);
    prof_strlcpy(r->created, "2024-01-02T03:04:05Z", sizeof r->created);
    prof_strlcpy(r->command, "swacl-prof --shape \"odd,name\":8/2/64/512\n--quick", sizeof r->command);
    for (int d = 0; d < 2; ++d) {
        prof_device *dev = prof_report_add_device(r);
        snprintf(dev->selector, sizeof dev->selector, "%d:0", d);
        prof_strlcpy(dev->name, d ? "GPU \xc3\xa9t\xc3\xa9 \\ \"quoted\"" : "cpu\tdevice", sizeof dev->name);
        prof_strlcpy(dev->type, d ? "gpu" : "cpu", sizeof dev->type);
        dev->compute_units = 2 + d;
        dev->global_mem_bytes = 4294967296.0 * (d + 1);
        prof_row *lim = prof_suite_add_row(prof_device_suite(dev, "limits"), "read_bw");
        prof_strlcpy(lim->unit, "GB/s", sizeof lim->unit);
        lim->value = 0.1 + d;
        lim->value_min = 1.0 / 3.0;
        lim->value_max = 1e300;
        prof_row *row = prof_suite_add_row(prof_device_suite(dev, "prefill"), "laptop n=4096");
        prof_strlcpy(row->shape, "laptop", sizeof row->shape);
        row->n_heads = 8;
        row->n_tokens = 4096;
        row->verified = 1;
        row->max_err = 1.25e-7;
        row->time_ms = 12.345678901234567;
        row->gflops = -0.0;
        prof_row *bad = prof_suite_add_row(prof_device_suite(dev, "decode"), "mistral b=1 kv=f16");
        prof_row_set_status(bad, d ? PROF_UNSUPPORTED : PROF_ERROR, "why, \"exactly\":\nline two");
    }
    return r;
}

/* every field of every object, as text, the same in both */
static void assert_same_fields(const void *a, const void *b, const prof_field *fields, int n)
{
    char x[600], y[600];
    for (int i = 0; i < n; ++i) {
        prof_field_format(&fields[i], a, x, sizeof x);
        prof_field_format(&fields[i], b, y, sizeof y);
        if (strcmp(x, y) != 0)
            fail_msg("field %s: \"%s\" != \"%s\"", fields[i].name, x, y);
    }
}

static void assert_same_report(const prof_report *a, const prof_report *b)
{
    assert_int_equal(a->format_version, b->format_version);
    assert_same_fields(a, b, prof_report_fields, prof_n_report_fields);
    assert_int_equal(a->n_devices, b->n_devices);
    for (int d = 0; d < a->n_devices; ++d) {
        const prof_device *x = &a->devices[d], *y = &b->devices[d];
        assert_same_fields(x, y, prof_device_fields, prof_n_device_fields);
        assert_int_equal(x->n_suites, y->n_suites);
        for (int s = 0; s < x->n_suites; ++s) {
            assert_string_equal(x->suites[s].name, y->suites[s].name);
            assert_int_equal(x->suites[s].n_rows, y->suites[s].n_rows);
            for (int k = 0; k < x->suites[s].n_rows; ++k)
                assert_same_fields(&x->suites[s].rows[k], &y->suites[s].rows[k], prof_row_fields,
                                   prof_n_row_fields);
        }
    }
}

/* writes with fn into memory and returns the text */
static char *write_text(int (*fn)(const prof_report *, FILE *), const prof_report *r, size_t *len)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(fn(r, f), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *text = malloc((size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return text;
}

static void test_json_round_trip(void **state)
{
    (void)state;
    prof_report *r = sample_report();
    size_t len;
    char *text = write_text(prof_json_write, r, &len);
    char err[256] = "";
    prof_report *back = prof_json_parse(text, err, sizeof err);
    if (!back)
        fail_msg("parse: %s", err);
    assert_same_report(r, back);
    /* a second trip writes the same bytes */
    size_t len2;
    char *again = write_text(prof_json_write, back, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(text, again, len);
    assert_true(isnan(back->devices[0].suites[0].rows[0].time_ms)); /* absent stays absent */
    assert_true(back->devices[0].suites[1].rows[0].time_ms == 12.345678901234567);
    free(again);
    free(text);
    prof_report_free(back);
    prof_report_free(r);
}

/* the CSV export: a header, then one line per row, quoted where RFC 4180 says */
static void test_csv_export(void **state)
{
    (void)state;
    prof_report *r = sample_report();
    size_t len;
    char *text = write_text(prof_csv_write, r, &len);
    assert_true(strncmp(text, "format_version,tool,library_version,", 36) == 0);
    assert_non_null(strstr(text, ",device_selector,device_name,"));
    assert_non_null(strstr(text, ",suite,name,status,reason,"));
    int lines = 0;
    for (const char *p = text; (p = strstr(p, "\r\n")); p += 2)
        ++lines;
    assert_int_equal(lines, 1 + 2 * 3); /* header, 2 devices x 3 rows */
    assert_non_null(strstr(text, ",\"why, \"\"exactly\"\":\nline two\","));
    assert_non_null(strstr(text, ",\"GPU \xc3\xa9t\xc3\xa9 \\ \"\"quoted\"\"\","));
    assert_non_null(strstr(text, ",12.345678901234567,")); /* exact */
    free(text);
    prof_report_free(r);
}

/* the JSON text itself: versioned, nested device -> suites -> rows */
static void test_json_schema(void **state)
{
    (void)state;
    prof_report *r = sample_report();
    size_t len;
    char *text = write_text(prof_json_write, r, &len);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    assert_string_equal(root->child->string, "format_version"); /* first, for any reader */
    assert_int_equal(root->child->valueint, 1);
    const cJSON *dev = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "devices"), 1);
    const cJSON *suite = cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "suites"), 2);
    const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(suite, "rows"), 0);
    assert_string_equal(cJSON_GetObjectItem(dev, "type")->valuestring, "gpu");
    assert_string_equal(cJSON_GetObjectItem(suite, "name")->valuestring, "decode");
    assert_string_equal(cJSON_GetObjectItem(row, "status")->valuestring, "unsupported");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(row, "time_ms")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(row, "n_heads")));
    cJSON_Delete(root);
    free(text);
    prof_report_free(r);
}

static void test_recorded_file(void **state)
{
    (void)state;
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/prof_pocl_quick.json", data_dir);
    prof_report *r = prof_json_read_file(path, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    assert_int_equal(r->format_version, PROF_FORMAT_VERSION);
    assert_string_equal(r->tool, "swacl-prof");
    assert_true(r->library_version[0] && r->git_revision[0] && r->created[0]);
    assert_true(r->n_devices >= 1);
    const prof_device *dev = &r->devices[0];
    assert_true(dev->name[0] && dev->driver_version[0] && dev->type[0]);
    static const char *const suites[] = {"limits", "prefill", "chunked", "decode", "naive", "gemm"};
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; ++i) {
        const prof_suite *s = prof_device_find_suite(dev, suites[i]);
        if (!s)
            fail_msg("suite %s missing", suites[i]);
        for (int k = 0; k < s->n_rows; ++k) {
            const prof_row *row = &s->rows[k];
            assert_true(prof_status_parse(row->status) >= 0);
            if (prof_row_status(row) == PROF_OK && i > 0)
                assert_true(row->verified == 1 && row->time_ms > 0);
        }
    }
    assert_true(prof_device_read_gbs(dev) > 0);
    /* a recorded file written again reads back as the same report */
    size_t len;
    char *text = write_text(prof_json_write, r, &len);
    prof_report *back = prof_json_parse(text, err, sizeof err);
    if (!back)
        fail_msg("%s", err);
    assert_same_report(r, back);
    free(text);
    prof_report_free(back);
    prof_report_free(r);
}

static void expect_json_error(const char *text, const char *needle)
{
    char err[256] = "";
    prof_report *r = prof_json_parse(text, err, sizeof err);
    if (r) {
        prof_report_free(r);
        fail_msg("accepted: %s", text);
    }
    if (!strstr(err, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void test_json_rejects(void **state)
{
    (void)state;
    /* syntax errors say where they are */
    expect_json_error("", "line 1, column 1: not valid JSON");
    expect_json_error("{\"format_version\": 1, \"devices\": [}", "line 1, column 35");
    expect_json_error("{\"format_version\": 1,\n \"devices\": [],}", "line 2, column 17");
    expect_json_error("{\"format_version\": 1, \"devices\": []} x", "column 38");
    expect_json_error("{\"format_version\": 1, \"x\": \"\\q\", \"devices\": []}", "not valid");
    expect_json_error("{\"format_version\": 1, \"x\": \"\\ud800\", \"devices\": []}", "not valid");
    expect_json_error("{\"format_version\": 1, \"x\": nan, \"devices\": []}", "not valid");
    /* schema errors say which field */
    expect_json_error("[1]", "top level: expected an object");
    expect_json_error("{\"format_version\": 2, \"devices\": []}", "newer");
    expect_json_error("{\"devices\": []}", "format_version");
    expect_json_error("{\"format_version\": 1}", "devices");
    expect_json_error("{\"format_version\": 1, \"tool\": 5, \"devices\": []}", "tool: expected a string");
    expect_json_error("{\"format_version\": 1, \"devices\": [{\"suites\": [{\"name\": \"x\", \"rows\": "
                      "[{\"status\": \"fine\"}]}]}]}",
                      "devices[0].suites[0].rows[0].status: unknown status");
    expect_json_error("{\"format_version\": 1, \"devices\": [{\"compute_units\": 1.5, \"suites\": []}]}",
                      "expected an integer");
    expect_json_error("{\"format_version\": 1, \"devices\": [{\"suites\": [{\"rows\": []}]}]}",
                      "with a name");
    /* nesting past cJSON's limit is refused, not recursed into */
    char deep[4002];
    memset(deep, '[', 2000);
    memset(deep + 2000, ']', 2000);
    deep[4000] = '\0';
    expect_json_error(deep, "not valid");
}

static void test_json_accepts(void **state)
{
    (void)state;
    /* unknown keys, escapes, a BOM and surrogate pairs are all fine */
    const char *text = "\xEF\xBB\xBF{\"format_version\": 1, \"future\": {\"a\": [1, true, null]},"
                       " \"host\": \"a\\u00e9\\ud83d\\ude00\\/\\n\", \"devices\": [{\"name\": \"d\","
                       " \"suites\": [{\"name\": \"limits\", \"rows\": [{\"name\": \"read_bw\","
                       " \"value\": 1.5e1, \"value_min\": null, \"extra\": 3}]}]}]}";
    char err[256] = "";
    prof_report *r = prof_json_parse(text, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    assert_string_equal(r->host, "a\xc3\xa9\xf0\x9f\x98\x80/\n");
    assert_true(r->devices[0].suites[0].rows[0].value == 15.0);
    assert_true(isnan(r->devices[0].suites[0].rows[0].value_min));
    assert_string_equal(r->devices[0].suites[0].rows[0].status, "ok");
    prof_report_free(r);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        data_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_round_trip), cmocka_unit_test(test_csv_export),
        cmocka_unit_test(test_json_schema),     cmocka_unit_test(test_recorded_file),
        cmocka_unit_test(test_json_rejects),    cmocka_unit_test(test_json_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
