/* test_prof_compare.c — compare and plot on recorded reports: devices side by
 * side with the right ratios, and a well-formed SVG. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "prof.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *data_dir = ".";

static prof_report *recorded(void)
{
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/prof_pocl_quick.json", data_dir);
    prof_report *r = prof_json_read_file(path, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    return r;
}

static char *capture(int (*fn)(prof_report *const *, int, FILE *), prof_report *const *reps, int n)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    fn(reps, n, f);
    long len = ftell(f);
    rewind(f);
    char *text = malloc((size_t)len + 1);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    fclose(f);
    return text;
}

/* the line of the compare table for (suite, row) */
static const char *table_line(const char *text, const char *suite, const char *row, char *buf,
                              size_t size)
{
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n < size) {
            memcpy(buf, p, n);
            buf[n] = '\0';
            if (strncmp(buf, suite, strlen(suite)) == 0 && strstr(buf, row))
                return buf;
        }
        p += n + (end != NULL);
    }
    fail_msg("no line for %s %s in:\n%s", suite, row, text);
    return NULL;
}

static void test_compare_self(void **state)
{
    (void)state;
    prof_report *r = recorded();
    prof_report *reps[2] = {r, r};
    char *text = capture(prof_compare_print, reps, 2);
    char line[512];
    assert_non_null(strstr(text, "  A  "));
    assert_non_null(strstr(text, "  B  "));
    /* every ok row of a device against itself is exactly even */
    const prof_suite *s = prof_device_find_suite(&r->devices[0], "prefill");
    assert_non_null(s);
    table_line(text, "prefill", s->rows[0].name, line, sizeof line);
    assert_non_null(strstr(line, "1.00x"));
    free(text);
    prof_report_free(r);
}

/* B twice as fast in time and with twice the bandwidth: both ratios read 2.00x,
 * and a latency that doubles reads 0.50x */
static void test_compare_ratios(void **state)
{
    (void)state;
    prof_report *a = recorded(), *b = recorded();
    prof_strlcpy(b->source, "other-machine.json", sizeof b->source);
    prof_device *dev = &b->devices[0];
    for (int s = 0; s < dev->n_suites; ++s)
        for (int k = 0; k < dev->suites[s].n_rows; ++k) {
            prof_row *row = &dev->suites[s].rows[k];
            row->time_ms /= 2;
            row->value *= 2; /* more GB/s and GFLOP/s, but also a longer launch latency */
        }
    prof_report *reps[2] = {a, b};
    char *text = capture(prof_compare_print, reps, 2);
    char line[512];
    assert_non_null(strstr(text, "other-machine.json"));
    table_line(text, "limits", "read_bw", line, sizeof line);
    assert_non_null(strstr(line, "2.00x"));
    table_line(text, "limits", "launch_latency", line, sizeof line);
    assert_non_null(strstr(line, "0.50x"));
    const prof_suite *dec = prof_device_find_suite(&a->devices[0], "decode");
    table_line(text, "decode", dec->rows[0].name, line, sizeof line);
    assert_non_null(strstr(line, "2.00x"));
    free(text);
    prof_report_free(a);
    prof_report_free(b);
}

/* a row one device lacks or failed shows its status, not a ratio */
static void test_compare_missing(void **state)
{
    (void)state;
    prof_report *a = recorded(), *b = prof_report_new();
    prof_device *dev = prof_report_add_device(b);
    prof_strlcpy(dev->name, "empty device", sizeof dev->name);
    prof_row *row = prof_suite_add_row(prof_device_suite(dev, "limits"), "read_bw");
    prof_row_set_status(row, PROF_UNSUPPORTED, "no such thing");
    prof_report *reps[2] = {a, b};
    char *text = capture(prof_compare_print, reps, 2);
    char line[512];
    table_line(text, "limits", "read_bw", line, sizeof line);
    assert_non_null(strstr(line, "unsupported"));
    table_line(text, "limits", "fma", line, sizeof line);
    assert_null(strstr(line, "x "));
    free(text);
    prof_report_free(a);
    prof_report_free(b);
}

static int plot_time(prof_report *const *r, int n, FILE *f) { return prof_plot_svg(r, n, "time", f); }
static int plot_gbs(prof_report *const *r, int n, FILE *f) { return prof_plot_svg(r, n, "gbs", f); }

static void test_plot(void **state)
{
    (void)state;
    prof_report *r = recorded();
    prof_report *reps[2] = {r, r};
    int (*fns[2])(prof_report *const *, int, FILE *) = {plot_time, plot_gbs};
    for (int i = 0; i < 2; ++i) {
        char *svg = capture(fns[i], reps, 2);
        assert_true(strncmp(svg, "<?xml", 5) == 0);
        assert_non_null(strstr(svg, "<svg"));
        /* a quick run's panels have single-point series: bars, not lone dots */
        assert_null(strstr(svg, "<polyline"));
        assert_non_null(strstr(svg, "<rect x="));
        assert_non_null(strstr(svg, "decode at full window"));
        /* devices by their whole name, once each, above the panels */
        assert_non_null(strstr(svg, ">A  prof_pocl_quick.json: pthread-skylake-avx512-Intel(R) Xeon(R) Processor (cpu"));
        assert_non_null(strstr(svg, ">B  prof_pocl_quick.json: pthread-skylake-avx512-Intel(R) Xeon(R) Processor (cpu"));
        assert_non_null(strstr(svg, "</svg>\n"));
        assert_null(strstr(svg, "nan"));
        assert_null(strstr(svg, "inf"));
        /* every element that opens is closed */
        int open = 0;
        for (const char *p = svg; (p = strstr(p, "<g ")); ++p)
            ++open;
        for (const char *p = svg; (p = strstr(p, "</g>")); ++p)
            --open;
        assert_int_equal(open, 0);
        free(svg);
    }
    FILE *f = tmpfile();
    assert_int_equal(prof_plot_svg(reps, 1, "furlongs", f), -1);
    fclose(f);
    prof_report_free(r);
}

/* series of several points are lines through them, on a log2 axis */
static void test_plot_lines(void **state)
{
    (void)state;
    prof_report *r = prof_report_new();
    prof_device *dev = prof_report_add_device(r);
    prof_strlcpy(dev->name, "a device <&> with a long name that no label cuts short", sizeof dev->name);
    for (int i = 0; i < 3; ++i) {
        char name[32];
        snprintf(name, sizeof name, "laptop n=%d", 1024 << (2 * i));
        prof_row *row = prof_suite_add_row(prof_device_suite(dev, "prefill"), name);
        prof_strlcpy(row->shape, "laptop", sizeof row->shape);
        row->n_tokens = 1024 << (2 * i);
        row->time_ms = 2.0 * (i + 1);
    }
    char *svg = capture(plot_time, &r, 1);
    assert_non_null(strstr(svg, "<polyline"));
    assert_int_equal(strstr(svg, "<circle") != NULL, 1);
    assert_null(strstr(svg, "chunked prefill")); /* panels without rows are left out */
    assert_non_null(strstr(svg, "a device &lt;&amp;&gt; with a long name that no label cuts short"));
    free(svg);
    prof_report_free(r);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        data_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare_self),
        cmocka_unit_test(test_compare_ratios),
        cmocka_unit_test(test_compare_missing),
        cmocka_unit_test(test_plot),
        cmocka_unit_test(test_plot_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
