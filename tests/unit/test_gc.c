// test_gc.c - the collector and the allocator: garbage is freed, roots are
// kept, deep structures do not overflow the C stack, limits raise
// MemoryError instead of crashing.
#include <check.h>
#include <stdlib.h>

#include "vm.h"

static EddyVM *new_vm(size_t limit) {
    EddyConfig config = {0};
    config.memory_limit = limit;
    EddyVM *vm = vm_new(&config);
    ck_assert_ptr_nonnull(vm);
    return vm;
}

START_TEST(test_garbage_is_freed) {
    EddyVM *vm = new_vm(0);
    gc_collect(vm);
    size_t base = vm->bytes_allocated;
    for (int i = 0; i < 10000; i++) {
        ListObject *l = list_new(vm, 16);
        ck_assert_ptr_nonnull(l);
    }
    ck_assert_uint_gt(vm->bytes_allocated, base);
    gc_collect(vm);
    ck_assert_uint_le(vm->bytes_allocated, base + 1024);
    vm_free(vm);
}
END_TEST

START_TEST(test_roots_are_kept) {
    EddyVM *vm = new_vm(0);
    ListObject *l = list_new(vm, 0);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(vm_push_root(vm, v_obj(l)), 0);
    StrObject *s = str_from_cstr(vm, "kept alive through the list");
    ck_assert_int_eq(list_append(vm, l, v_obj(s)), 0);
    gc_collect(vm);
    gc_collect(vm);
    ck_assert_uint_eq(l->len, 1);
    ck_assert_str_eq(AS_STR(l->items[0])->data, "kept alive through the list");
    vm_pop_roots(vm, 1);
    vm_free(vm);
}
END_TEST

START_TEST(test_deep_structure) {
    // A million nested lists: marking must not recurse on the C stack.
    EddyVM *vm = new_vm(0);
    ListObject *outer = list_new(vm, 1);
    ck_assert_int_eq(vm_push_root(vm, v_obj(outer)), 0);
    ListObject *cur = outer;
    for (int i = 0; i < 1000000; i++) {
        ListObject *next = list_new(vm, 1);
        ck_assert_ptr_nonnull(next);
        ck_assert_int_eq(list_append(vm, cur, v_obj(next)), 0);
        cur = next;
    }
    gc_collect(vm);
    size_t kept = vm->bytes_allocated;
    vm_pop_roots(vm, 1);
    gc_collect(vm);
    ck_assert_uint_lt(vm->bytes_allocated, kept);
    vm_free(vm);
}
END_TEST

START_TEST(test_memory_limit) {
    EddyVM *vm = new_vm(64u << 20);
    void *p = mem_alloc(vm, (size_t)1 << 30);
    ck_assert_ptr_null(p);
    ck_assert(vm_err_matches(vm, vm->exc_MemoryError));
    vm_err_clear(vm);
    // The VM is still usable after the failure.
    ck_assert_ptr_nonnull(list_new(vm, 4));
    vm_free(vm);
}
END_TEST

START_TEST(test_two_vms) {
    EddyVM *a = new_vm(0);
    EddyVM *b = new_vm(0);
    StrObject *sa = str_intern_cstr(a, "shared name");
    StrObject *sb = str_intern_cstr(b, "shared name");
    ck_assert_ptr_ne(sa, sb); // each VM has its own heap and intern table
    vm_free(a);
    ck_assert_str_eq(str_intern_cstr(b, "shared name")->data, "shared name");
    vm_free(b);
}
END_TEST

int main(void) {
    Suite *s = suite_create("gc");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_garbage_is_freed);
    tcase_add_test(tc, test_roots_are_kept);
    tcase_add_test(tc, test_deep_structure);
    tcase_add_test(tc, test_memory_limit);
    tcase_add_test(tc, test_two_vms);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
