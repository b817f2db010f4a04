// test_dict.c - the dict C API (vm/obj_dict.c): look-ups, deletion order,
// resizing, str fast paths, copy/update, and error reporting.
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "vm.h"

static EddyVM *vm;

static void setup(void) {
    vm = vm_new(NULL);
    ck_assert_ptr_nonnull(vm);
}

static void teardown(void) { vm_free(vm); }

START_TEST(test_insert_lookup_100k) {
    DictObject *d = dict_new(vm);
    ck_assert_ptr_nonnull(d);
    for (int64_t i = 0; i < 100000; i++)
        ck_assert_int_eq(dict_set(vm, d, v_int(i * 3), v_int(i)), 0);
    ck_assert_uint_eq(d->len, 100000);
    for (int64_t i = 0; i < 100000; i++) {
        Value out = VAL_NULL;
        ck_assert_int_eq(dict_get(vm, d, v_int(i * 3), &out), 1);
        ck_assert(IS_INT(out) && AS_INT(out) == i);
    }
    Value out;
    ck_assert_int_eq(dict_get(vm, d, v_int(1), &out), 0);
    ck_assert_int_eq(dict_get(vm, d, v_int(-3), &out), 0);
    // Overwriting keeps the length and the position.
    ck_assert_int_eq(dict_set(vm, d, v_int(0), v_int(-1)), 0);
    ck_assert_uint_eq(d->len, 100000);
    size_t pos = 0;
    Value k, v;
    ck_assert(dict_next(d, &pos, &k, &v));
    ck_assert(AS_INT(k) == 0 && AS_INT(v) == -1);
}
END_TEST

START_TEST(test_delete_100k) {
    DictObject *d = dict_new(vm);
    for (int64_t i = 0; i < 100000; i++) ck_assert_int_eq(dict_set(vm, d, v_int(i), v_int(i)), 0);
    for (int64_t i = 0; i < 100000; i++) ck_assert_int_eq(dict_del(vm, d, v_int(i)), 1);
    ck_assert_uint_eq(d->len, 0);
    ck_assert_int_eq(dict_del(vm, d, v_int(5)), 0);
    size_t pos = 0;
    ck_assert(!dict_next(d, &pos, NULL, NULL));
}
END_TEST

START_TEST(test_order_after_deletes) {
    DictObject *d = dict_new(vm);
    for (int64_t i = 0; i < 1000; i++) ck_assert_int_eq(dict_set(vm, d, v_int(i), v_int(i)), 0);
    for (int64_t i = 0; i < 1000; i += 2) ck_assert_int_eq(dict_del(vm, d, v_int(i)), 1);
    // Re-inserting a deleted key appends it at the end.
    ck_assert_int_eq(dict_set(vm, d, v_int(0), VAL_NONE), 0);
    size_t pos = 0;
    Value k;
    int64_t expect = 1;
    while (dict_next(d, &pos, &k, NULL)) {
        if (expect == 1001) {
            ck_assert_int_eq(AS_INT(k), 0);
            expect = -1;
            continue;
        }
        ck_assert_int_eq(AS_INT(k), expect);
        expect += 2;
    }
    ck_assert_int_eq(expect, -1);
    ck_assert_uint_eq(d->len, 501);
}
END_TEST

START_TEST(test_resize_churn) {
    // Insert/delete cycles must not grow the table without bound.
    DictObject *d = dict_new(vm);
    for (int64_t i = 0; i < 100000; i++) {
        ck_assert_int_eq(dict_set(vm, d, v_int(i), v_int(i)), 0);
        ck_assert_int_eq(dict_del(vm, d, v_int(i)), 1);
    }
    ck_assert_uint_eq(d->len, 0);
    ck_assert_uint_le(d->index_cap, 64);
    // Growth through many resizes, with deletions mixed in, keeps every key reachable.
    for (int64_t i = 0; i < 5000; i++) {
        ck_assert_int_eq(dict_set(vm, d, v_int(i * 1000003), v_int(i)), 0);
        if (i % 3 == 2) ck_assert_int_eq(dict_del(vm, d, v_int((i - 1) * 1000003)), 1);
    }
    for (int64_t i = 0; i < 5000; i++) {
        Value out;
        int r = dict_get(vm, d, v_int(i * 1000003), &out);
        ck_assert_int_eq(r, (i % 3 == 1 && i + 1 < 5000 ? 0 : 1));
        if (r) ck_assert_int_eq(AS_INT(out), i);
    }
}
END_TEST

START_TEST(test_str_keys) {
    DictObject *d = dict_new(vm);
    char buf[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(buf, sizeof buf, "key%d", i);
        StrObject *s = str_from_cstr(vm, buf);
        ck_assert_int_eq(dict_set_str(vm, d, s, v_int(i)), 0);
    }
    for (int i = 0; i < 2000; i++) {
        snprintf(buf, sizeof buf, "key%d", i);
        // A different str object with the same text finds the same entry.
        StrObject *s = str_from_cstr(vm, buf);
        Value r = dict_get_str(d, s);
        ck_assert(IS_INT(r) && AS_INT(r) == i);
        Value out;
        ck_assert_int_eq(dict_get(vm, d, v_obj(s), &out), 1);
        ck_assert_int_eq(AS_INT(out), i);
    }
    ck_assert(IS_NULL(dict_get_str(d, str_from_cstr(vm, "absent"))));
    ck_assert_int_eq(dict_del_str(vm, d, str_from_cstr(vm, "key7")), 1);
    ck_assert_int_eq(dict_del_str(vm, d, str_from_cstr(vm, "key7")), 0);
    ck_assert_uint_eq(d->len, 1999);
    // dict_set with a str Value and dict_get_str agree.
    ck_assert_int_eq(dict_set(vm, d, v_obj(str_from_cstr(vm, "mixed")), v_int(42)), 0);
    ck_assert_int_eq(AS_INT(dict_get_str(d, str_from_cstr(vm, "mixed"))), 42);
}
END_TEST

START_TEST(test_version_bumps) {
    DictObject *d = dict_new(vm);
    uint32_t v0 = d->version;
    ck_assert_int_eq(dict_set(vm, d, v_int(1), v_int(1)), 0);
    uint32_t v1 = d->version;
    ck_assert_uint_ne(v0, v1);
    ck_assert_int_eq(dict_set(vm, d, v_int(1), v_int(2)), 0);
    ck_assert_uint_ne(d->version, v1);
    uint32_t v2 = d->version;
    ck_assert_int_eq(dict_del(vm, d, v_int(1)), 1);
    ck_assert_uint_ne(d->version, v2);
}
END_TEST

START_TEST(test_copy_update) {
    DictObject *d = dict_new(vm);
    for (int64_t i = 0; i < 100; i++) ck_assert_int_eq(dict_set(vm, d, v_int(i), v_int(i * i)), 0);
    for (int64_t i = 0; i < 100; i += 3) ck_assert_int_eq(dict_del(vm, d, v_int(i)), 1);
    DictObject *c = dict_copy(vm, d);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->len, d->len);
    size_t p1 = 0, p2 = 0;
    Value k1, v1, k2, v2;
    while (dict_next(d, &p1, &k1, &v1)) {
        ck_assert(dict_next(c, &p2, &k2, &v2));
        ck_assert(v_is(k1, k2) && v_is(v1, v2));
    }
    DictObject *u = dict_new(vm);
    ck_assert_int_eq(dict_set(vm, u, v_int(1), VAL_NONE), 0);
    ck_assert_int_eq(dict_update(vm, u, v_obj(d)), 0);
    ck_assert_uint_eq(u->len, d->len);
    Value out;
    ck_assert_int_eq(dict_get(vm, u, v_int(1), &out), 1);
    ck_assert_int_eq(AS_INT(out), 1);
}
END_TEST

START_TEST(test_unhashable_key) {
    DictObject *d = dict_new(vm);
    ListObject *l = list_new(vm, 0);
    ck_assert_int_eq(dict_set(vm, d, v_obj(l), v_int(1)), -1);
    ck_assert(vm_err_matches(vm, vm->exc_TypeError));
    vm_err_clear(vm);
    Value out;
    ck_assert_int_eq(dict_get(vm, d, v_obj(l), &out), -1);
    vm_err_clear(vm);
    ck_assert_uint_eq(d->len, 0);
}
END_TEST

START_TEST(test_equal_numbers_share_keys) {
    // 1, 1.0 and True are the same key, as in Python.
    DictObject *d = dict_new(vm);
    ck_assert_int_eq(dict_set(vm, d, v_int(1), v_int(10)), 0);
    ck_assert_int_eq(dict_set(vm, d, VAL_TRUE, v_int(20)), 0);
    ck_assert_uint_eq(d->len, 1);
    Value out;
    ck_assert_int_eq(dict_get(vm, d, v_int(1), &out), 1);
    ck_assert_int_eq(AS_INT(out), 20);
}
END_TEST

static Suite *dict_suite(void) {
    Suite *s = suite_create("dict");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_insert_lookup_100k);
    tcase_add_test(tc, test_delete_100k);
    tcase_add_test(tc, test_order_after_deletes);
    tcase_add_test(tc, test_resize_churn);
    tcase_add_test(tc, test_str_keys);
    tcase_add_test(tc, test_version_bumps);
    tcase_add_test(tc, test_copy_update);
    tcase_add_test(tc, test_unhashable_key);
    tcase_add_test(tc, test_equal_numbers_share_keys);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(dict_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
