// test_api.c - the public embedding API (include/eddy.h), used as a host
// would: no internal headers.
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eddy.h"

#include "counting_alloc.h"

START_TEST(test_run_string_ok) {
    EddyVM *vm = eddy_vm_new(NULL);
    ck_assert_ptr_nonnull(vm);
    ck_assert_int_eq(
        eddy_run_string(vm, "x = [i * i for i in range(10)]\nassert x[3] == 9\n", "<test>"),
        EDDY_OK);
    eddy_vm_free(vm);
}
END_TEST

START_TEST(test_run_string_error) {
    EddyVM *vm = eddy_vm_new(NULL);
    // The traceback goes to stderr; silence it for the test.
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    EddyStatus st = eddy_run_string(vm, "def f():\n    return 1 / 0\nf()\n", "<test>");
    EddyStatus syn = eddy_run_string(vm, "x = (\n", "<test>");
    fclose(stderr);
    stderr = saved;
    ck_assert_int_eq(st, EDDY_ERROR);
    ck_assert_int_eq(syn, EDDY_ERROR);
    // The VM stays usable after errors.
    ck_assert_int_eq(eddy_run_string(vm, "y = 2 ** 100\n", "<test>"), EDDY_OK);
    eddy_vm_free(vm);
}
END_TEST

START_TEST(test_system_exit) {
    EddyVM *vm = eddy_vm_new(NULL);
    ck_assert_int_eq(eddy_run_string(vm, "import sys\nsys.exit(7)\n", "<test>"), EDDY_EXIT);
    ck_assert_int_eq(eddy_exit_code(vm), 7);
    eddy_vm_free(vm);
}
END_TEST

START_TEST(test_memory_limit_script) {
    EddyConfig config = {0};
    config.memory_limit = 32u << 20;
    EddyVM *vm = eddy_vm_new(&config);
    ck_assert_ptr_nonnull(vm);
    const char *src = "caught = False\n"
                      "try:\n"
                      "    x = [0] * (10 ** 8)\n"
                      "except MemoryError:\n"
                      "    caught = True\n"
                      "assert caught\n"
                      "chunks = []\n"
                      "try:\n"
                      "    while True:\n"
                      "        chunks.append('x' * 100000)\n"
                      "except MemoryError:\n"
                      "    chunks = None\n"
                      "y = list(range(1000))\n";
    ck_assert_int_eq(eddy_run_string(vm, src, "<test>"), EDDY_OK);
    eddy_vm_free(vm);
}
END_TEST

// Garbage left by a MemoryError must be collectable: the handler runs, and
// the next run in the same VM works.
START_TEST(test_memory_limit_recovers) {
    EddyConfig config = {0};
    config.memory_limit = 32u << 20;
    EddyVM *vm = eddy_vm_new(&config);
    ck_assert_ptr_nonnull(vm);
    const char *src = "caught = False\n"
                      "try:\n"
                      "    x = [str(i) for i in range(2000000)]\n"
                      "except MemoryError:\n"
                      "    caught = True\n"
                      "assert caught\n";
    ck_assert_int_eq(eddy_run_string(vm, src, "<test>"), EDDY_OK);
    ck_assert_int_eq(eddy_run_string(vm, "z = [str(i) for i in range(1000)]\n", "<test>"), EDDY_OK);
    eddy_vm_free(vm);
}
END_TEST

START_TEST(test_custom_allocator_balances) {
    live_bytes = 0;
    EddyConfig config = {0};
    config.alloc = counting_alloc;
    EddyVM *vm = eddy_vm_new(&config);
    ck_assert_ptr_nonnull(vm);
    ck_assert_uint_gt(live_bytes, 0);
    ck_assert_int_eq(eddy_run_string(vm, "d = {str(i): [i] for i in range(5000)}\n", "<test>"),
                     EDDY_OK);
    eddy_vm_free(vm);
    ck_assert_uint_eq(live_bytes, 0);
}
END_TEST

START_TEST(test_many_vms) {
    EddyVM *vms[8];
    for (int i = 0; i < 8; i++) {
        vms[i] = eddy_vm_new(NULL);
        ck_assert_ptr_nonnull(vms[i]);
    }
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(eddy_run_string(vms[i], "import math\nv = math.sqrt(16)\n", "<t>"),
                         EDDY_OK);
    for (int i = 0; i < 8; i++) eddy_vm_free(vms[i]);
}
END_TEST

START_TEST(test_version) { ck_assert_str_eq(eddy_version(), EDDY_VERSION_STRING); }
END_TEST

int main(void) {
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_run_string_ok);
    tcase_add_test(tc, test_run_string_error);
    tcase_add_test(tc, test_system_exit);
    tcase_add_test(tc, test_memory_limit_script);
    tcase_add_test(tc, test_memory_limit_recovers);
    tcase_add_test(tc, test_custom_allocator_balances);
    tcase_add_test(tc, test_many_vms);
    tcase_add_test(tc, test_version);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
