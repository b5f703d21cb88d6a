/* test_prof_quickrun.c — a real `swacl-prof --quick` on the tiny shape: every
 * row must come back ok and verified, in JSON and CSV alike (skips without a device);
 * and the e2e suite on a tiny model, when one is given.
 * usage: test_prof_quickrun PATH-TO-swacl-prof OUTPUT-PREFIX [MODEL.gguf] */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "prof.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *tool = "swacl-prof", *prefix = "prof_quick", *model = NULL;

static int total_rows(const prof_report *r)
{
    int n = 0;
    for (int d = 0; d < r->n_devices; ++d)
        for (int s = 0; s < r->devices[d].n_suites; ++s)
            n += r->devices[d].suites[s].n_rows;
    return n;
}

static void test_quick_run(void **state)
{
    (void)state;
    int n_devices = 0;
    if (swacl_devices_list(NULL, 0, &n_devices) != SWACL_OK || n_devices == 0) {
        print_message("no OpenCL device: skipped\n");
        skip();
    }
    char cmd[4096], json[1024], csv[1024], svg[1024], err[512];
    snprintf(json, sizeof json, "%s.json", prefix);
    snprintf(csv, sizeof csv, "%s.csv", prefix);
    snprintf(svg, sizeof svg, "%s.svg", prefix);
    snprintf(cmd, sizeof cmd,
             "'%s' --quick --shapes tiny --n 1024 --no-progress --json '%s' --csv '%s' --plot '%s'"
             " > '%s.txt'",
             tool, json, csv, svg, prefix);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("%s exited with %d (see %s.txt)", cmd, WEXITSTATUS(status), prefix);

    prof_report *r = prof_json_read_file(json, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    assert_int_equal(r->format_version, PROF_FORMAT_VERSION);
    assert_string_equal(r->mode, "quick");
    assert_string_equal(r->library_version, swacl_version_string());
    assert_int_equal(r->n_devices, 1);
    const prof_device *dev = &r->devices[0];
    int no_clblast = 0;
    /* limits and the baselines come first in this order, so no_clblast is known
     * before the swacl rows' speed-ups are looked at */
    static const char *const suites[] = {"limits", "gemm", "naive", "prefill", "chunked", "decode"};
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; ++i) {
        const prof_suite *s = prof_device_find_suite(dev, suites[i]);
        if (!s || s->n_rows == 0)
            fail_msg("suite %s has no rows", suites[i]);
        for (int k = 0; k < s->n_rows; ++k) {
            const prof_row *row = &s->rows[k];
            /* a build without CLBlast says so on its SGEMM and GEMM rows; nothing else may */
            if (prof_row_status(row) == PROF_UNSUPPORTED && strstr(row->reason, "without CLBlast")) {
                no_clblast = 1;
                continue;
            }
            if (prof_row_status(row) != PROF_OK)
                fail_msg("%s / %s: %s: %s", suites[i], row->name, row->status, row->reason);
            if (i == 0) {
                assert_true(row->value > 0);
                continue;
            }
            if (row->verified != 1)
                fail_msg("%s / %s was timed without being verified", suites[i], row->name);
            assert_true(row->max_err >= 0 && row->time_ms > 0 && row->gflops > 0);
            if (i >= 3) /* swacl rows carry their speed-up over both baselines */
                assert_true(row->speedup_naive > 0 && (no_clblast || row->speedup_gemm > 0));
        }
    }
    /* the quick plan: prefill, chunked, decode b=1 and 8, and decode with an fp16 cache */
    assert_non_null(prof_suite_find_row(prof_device_find_suite(dev, "decode"), "tiny b=8 kv=f32"));
    assert_non_null(prof_suite_find_row(prof_device_find_suite(dev, "decode"), "tiny b=1 kv=f16"));

    /* the CSV export: a header and a line per row */
    size_t len;
    char *text = prof_read_text_file(csv, &len);
    assert_non_null(text);
    int lines = 0;
    for (const char *p = text; (p = strstr(p, "\r\n")); p += 2)
        ++lines;
    assert_int_equal(lines, 1 + total_rows(r));
    free(text);
    text = prof_read_text_file(svg, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "<rect x=")); /* single-size panels are bar charts */
    free(text);
    prof_report_free(r);
}

/* --suites e2e on a tiny model: three rows in tokens per second, and compare reads them */
static void test_e2e_run(void **state)
{
    (void)state;
    int n_devices = 0;
    if (!model || swacl_devices_list(NULL, 0, &n_devices) != SWACL_OK || n_devices == 0) {
        print_message("no model or no OpenCL device: skipped\n");
        skip();
    }
    char cmd[4096], json[1024], err[512];
    snprintf(json, sizeof json, "%s_e2e.json", prefix);
    snprintf(cmd, sizeof cmd,
             "'%s' --suites e2e --model '%s' --samples 2 --no-progress --json '%s' > '%s_e2e.txt'"
             " && '%s' compare '%s' '%s' --plot '%s_e2e.svg' >> '%s_e2e.txt'",
             tool, model, json, prefix, tool, json, json, prefix, prefix);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("%s exited with %d (see %s_e2e.txt)", cmd, WEXITSTATUS(status), prefix);
    prof_report *r = prof_json_read_file(json, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    const prof_suite *s = prof_device_find_suite(&r->devices[0], "e2e");
    assert_non_null(s);
    assert_int_equal(s->n_rows, 3);
    assert_null(prof_device_find_suite(&r->devices[0], "prefill")); /* only what was asked */
    static const char *const rows[] = {"prefill 512", "decode b=1", "decode b=8"};
    for (int i = 0; i < 3; ++i) {
        const prof_row *row = prof_suite_find_row(s, rows[i]);
        assert_non_null(row);
        if (prof_row_status(row) != PROF_OK)
            fail_msg("e2e / %s: %s: %s", rows[i], row->status, row->reason);
        assert_string_equal(row->unit, "tokens/s");
        assert_true(row->value > 0 && row->value_min <= row->value && row->value <= row->value_max);
        assert_true(row->time_ms > 0 && row->gbs > 0);
    }
    prof_report_free(r);
    /* the plot has the whole-model decode panel */
    size_t len;
    snprintf(cmd, sizeof cmd, "%s_e2e.svg", prefix);
    char *text = prof_read_text_file(cmd, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "whole-model decode step"));
    free(text);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        tool = argv[1];
    if (argc > 2)
        prefix = argv[2];
    if (argc > 3)
        model = argv[3];
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_quick_run),
                                       cmocka_unit_test(test_e2e_run)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
