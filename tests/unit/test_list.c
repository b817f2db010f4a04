// test_list.c - the list C API (vm/obj_list.c): growth, extend, sort
// (fast paths, stability, reverse, key, errors), slicing through the type
// slots, and repr of recursive lists.
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

static EddyVM *vm;

static void setup(void) {
    vm = vm_new(NULL);
    ck_assert_ptr_nonnull(vm);
}

static void teardown(void) { vm_free(vm); }

static ListObject *ints(const int64_t *v, size_t n) {
    ListObject *l = list_new(vm, 0);
    ck_assert_ptr_nonnull(l);
    for (size_t i = 0; i < n; i++) ck_assert_int_eq(list_append(vm, l, v_int(v[i])), 0);
    return l;
}

static const char *repr_of(Value v) {
    Value r = vm_repr(vm, v);
    ck_assert(!IS_NULL(r));
    return AS_STR(r)->data;
}

START_TEST(test_append_100k) {
    ListObject *l = list_new(vm, 0);
    for (int64_t i = 0; i < 100000; i++) ck_assert_int_eq(list_append(vm, l, v_int(i)), 0);
    ck_assert_uint_eq(l->len, 100000);
    ck_assert_uint_ge(l->cap, l->len);
    for (int64_t i = 0; i < 100000; i++) ck_assert_int_eq(AS_INT(l->items[i]), i);
}
END_TEST

START_TEST(test_from_extend) {
    Value items[3] = {v_int(1), v_int(2), v_int(3)};
    ListObject *l = list_from(vm, items, 3);
    ck_assert_uint_eq(l->len, 3);
    TupleObject *t = tuple_from(vm, items, 2);
    ck_assert_int_eq(list_extend(vm, l, v_obj(t)), 0);
    ck_assert_int_eq(list_extend(vm, l, v_obj(l)), 0); // extending by itself doubles it
    ck_assert_uint_eq(l->len, 10);
    ck_assert_str_eq(repr_of(v_obj(l)), "[1, 2, 3, 1, 2, 1, 2, 3, 1, 2]");
    ck_assert_int_eq(list_extend(vm, l, v_int(5)), -1); // not iterable
    ck_assert(vm_err_matches(vm, vm->exc_TypeError));
    vm_err_clear(vm);
}
END_TEST

START_TEST(test_sort_ints) {
    ListObject *l = list_new(vm, 0);
    srand(7);
    for (int i = 0; i < 50000; i++)
        ck_assert_int_eq(list_append(vm, l, v_int(rand() % 1000 - 500)), 0);
    ck_assert_int_eq(list_sort(vm, l, VAL_NONE, false), 0);
    for (size_t i = 1; i < l->len; i++)
        ck_assert_int_le(AS_INT(l->items[i - 1]), AS_INT(l->items[i]));
    ck_assert_int_eq(list_sort(vm, l, VAL_NONE, true), 0);
    for (size_t i = 1; i < l->len; i++)
        ck_assert_int_ge(AS_INT(l->items[i - 1]), AS_INT(l->items[i]));
    ck_assert_uint_eq(l->len, 50000);
}
END_TEST

START_TEST(test_sort_stable_tuples) {
    // Tuples compare through the generic path; equal first items keep their order.
    ListObject *l = list_new(vm, 0);
    for (int64_t i = 0; i < 2000; i++) {
        Value pair[2] = {v_int((i * 7919) % 13), v_int(i)};
        ck_assert_int_eq(list_append(vm, l, v_obj(tuple_from(vm, pair, 2))), 0);
    }
    ck_assert_int_eq(list_sort(vm, l, VAL_NONE, false), 0);
    for (size_t i = 1; i < l->len; i++) {
        TupleObject *a = AS_TUPLE(l->items[i - 1]), *b = AS_TUPLE(l->items[i]);
        ck_assert(AS_INT(a->items[0]) < AS_INT(b->items[0]) ||
                  (AS_INT(a->items[0]) == AS_INT(b->items[0]) &&
                   AS_INT(a->items[1]) < AS_INT(b->items[1])));
    }
}
END_TEST

static Value key_mod7(EddyVM *v, Value *args, int nargs, TupleObject *kw) {
    return v_int(AS_INT(args[0]) % 7);
}

START_TEST(test_sort_key_reverse_stable) {
    int64_t src[] = {14, 3, 7, 10, 0, 21, 4, 17};
    ListObject *l = ints(src, 8);
    NativeFunctionObject *key = native_new(vm, "key", key_mod7, VAL_NULL, 0);
    ck_assert_ptr_nonnull(key);
    ck_assert_int_eq(list_sort(vm, l, v_obj(key), false), 0);
    ck_assert_str_eq(repr_of(v_obj(l)), "[14, 7, 0, 21, 3, 10, 17, 4]");
    ListObject *r = ints(src, 8);
    // reverse=True keeps equal keys in their original order (like CPython).
    ck_assert_int_eq(list_sort(vm, r, v_obj(key), true), 0);
    ck_assert_str_eq(repr_of(v_obj(r)), "[4, 3, 10, 17, 14, 7, 0, 21]");
}
END_TEST

START_TEST(test_sort_type_error) {
    ListObject *l = list_new(vm, 0);
    ck_assert_int_eq(list_append(vm, l, v_int(1)), 0);
    ck_assert_int_eq(list_append(vm, l, v_obj(str_from_cstr(vm, "x"))), 0);
    ck_assert_int_eq(list_append(vm, l, v_int(0)), 0);
    ck_assert_int_eq(list_sort(vm, l, VAL_NONE, false), -1);
    ck_assert(vm_err_matches(vm, vm->exc_TypeError));
    vm_err_clear(vm);
    ck_assert_uint_eq(l->len, 3); // every item is still there
}
END_TEST

START_TEST(test_slices) {
    int64_t src[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    ListObject *l = ints(src, 10);
    TypeObject *t = vm->t_list;
    Value s = slice_new(vm, v_int(1), v_int(8), v_int(3));
    ck_assert_str_eq(repr_of(t->getitem(vm, v_obj(l), s)), "[1, 4, 7]");
    ck_assert_int_eq(t->setitem(vm, v_obj(l), s, VAL_NULL), 0);
    ck_assert_str_eq(repr_of(v_obj(l)), "[0, 2, 3, 5, 6, 8, 9]");
    int64_t ins[] = {100, 101, 102};
    Value s2 = slice_new(vm, v_int(2), v_int(4), VAL_NONE);
    ck_assert_int_eq(t->setitem(vm, v_obj(l), s2, v_obj(ints(ins, 3))), 0);
    ck_assert_str_eq(repr_of(v_obj(l)), "[0, 2, 100, 101, 102, 6, 8, 9]");
    Value s3 = slice_new(vm, VAL_NONE, VAL_NONE, v_int(-3));
    ck_assert_int_eq(t->setitem(vm, v_obj(l), s3, v_obj(ints(ins, 2))), -1);
    ck_assert(vm_err_matches(vm, vm->exc_ValueError));
    vm_err_clear(vm);
    ck_assert_int_eq(t->setitem(vm, v_obj(l), s3, v_obj(ints(ins, 3))), 0);
    ck_assert_str_eq(repr_of(v_obj(l)), "[0, 102, 100, 101, 101, 6, 8, 100]");
    ck_assert(IS_NULL(t->getitem(vm, v_obj(l), v_int(8))));
    ck_assert(vm_err_matches(vm, vm->exc_IndexError));
    vm_err_clear(vm);
    ck_assert_int_eq(AS_INT(t->getitem(vm, v_obj(l), v_int(-1))), 100);
}
END_TEST

START_TEST(test_recursive_repr) {
    int64_t src[] = {1, 2};
    ListObject *l = ints(src, 2);
    ck_assert_int_eq(list_append(vm, l, v_obj(l)), 0);
    ck_assert_str_eq(repr_of(v_obj(l)), "[1, 2, [...]]");
    ck_assert_str_eq(repr_of(v_obj(list_new(vm, 0))), "[]");
}
END_TEST

static Suite *list_suite(void) {
    Suite *s = suite_create("list");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_append_100k);
    tcase_add_test(tc, test_from_extend);
    tcase_add_test(tc, test_sort_ints);
    tcase_add_test(tc, test_sort_stable_tuples);
    tcase_add_test(tc, test_sort_key_reverse_stable);
    tcase_add_test(tc, test_sort_type_error);
    tcase_add_test(tc, test_slices);
    tcase_add_test(tc, test_recursive_repr);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(list_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
