/* test_host_abi.c — the public option structs keep their size and layout within a
 * major version: new options take reserved slots (swacl.h), so a program built
 * against an older header passes zeros there and gets the old behaviour. */
#include "swacl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void option_structs_keep_their_layout(void **state)
{
    (void)state;
    /* the reserved slots end each struct, and nothing follows them */
    assert_true(sizeof(swacl_context_options) - offsetof(swacl_context_options, reserved) <
                sizeof(int[8]) + sizeof(void *));
    assert_true(sizeof(swacl_cache_options) - offsetof(swacl_cache_options, reserved) <
                sizeof(int[8]) + sizeof(void *));
#if defined(__x86_64__) || defined(__aarch64__)
    /* LP64: the sizes of version 0.x, pinned */
    assert_int_equal(sizeof(swacl_context_options), 56);
    assert_int_equal(offsetof(swacl_context_options, profiling), 16);
    assert_int_equal(sizeof(swacl_cache_options), 64);
    assert_int_equal(offsetof(swacl_cache_options, max_chunk), 24);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(option_structs_keep_their_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
