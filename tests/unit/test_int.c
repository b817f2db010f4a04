// test_int.c - Check suite for vm/obj_int.c and vm/obj_float.c internals:
// big-int arithmetic, string conversion, hashing and float repr. Expected
// values were produced with python3 (CPython 3.11).
#include <check.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "vm.h"

static EddyVM *vm;

static void setup(void) { vm = vm_new(NULL); }
static void teardown(void) {
    vm_free(vm);
    vm = NULL;
}

static Value parse(const char *s) {
    Value v = int_from_string(vm, s, strlen(s), 10, false);
    ck_assert(!IS_NULL(v));
    return v;
}

static void assert_int_str(Value v, const char *want) {
    ck_assert(!IS_NULL(v));
    Value s = int_to_str(vm, v, 10);
    ck_assert(!IS_NULL(s));
    ck_assert_str_eq(AS_STR(s)->data, want);
}

static void assert_float_repr(double d, const char *want) {
    char buf[64];
    float_repr_buf(d, buf, sizeof buf);
    ck_assert_str_eq(buf, want);
}

static const char *A = "265613988875874769338781322035779626829233452653394495974574961739092490901"
                       "302182994384699044001"; // 3**200
static const char *B = "581709293382434316543252400339169116491985964971934053262756720760765685903"
                       "4356995566589707894210757866827613621721127496203594"; // 7**150 + 12345

START_TEST(test_small_and_promotion) {
    assert_int_str(int_add(vm, v_int(INT64_MAX), v_int(1)), "9223372036854775808");
    assert_int_str(int_sub(vm, v_int(INT64_MIN), v_int(1)), "-9223372036854775809");
    assert_int_str(int_mul(vm, v_int(1LL << 32), v_int(1LL << 32)), "18446744073709551616");
    assert_int_str(int_neg(vm, v_int(INT64_MIN)), "9223372036854775808");
    // Results that fit come back unboxed.
    Value big = int_add(vm, v_int(INT64_MAX), v_int(1));
    Value back = int_sub(vm, big, v_int(1));
    ck_assert(IS_INT(back));
    ck_assert_int_eq(AS_INT(back), INT64_MAX);
    ck_assert(IS_INT(int_floordiv(vm, v_int(INT64_MIN), v_int(-1))) == false);
}
END_TEST

START_TEST(test_big_mul_div) {
    Value a = parse(A), b = parse(B);
    assert_int_str(int_mul(vm, a, b),
                   "15451012578147488112867277365725362707064833272971856977938852632773548596527"
                   "06304126519484226947610814588288262599563584166047195890592860013018313528810"
                   "73159396580752486018979305709351701485725930104266449379336866033959"
                   "4");
    assert_int_str(int_floordiv(vm, a, b), "0");
    assert_int_str(int_mod(vm, a, b), A);
    assert_int_str(int_floordiv(vm, int_neg(vm, a), b), "-1");
    assert_int_str(int_mod(vm, int_neg(vm, a), b),
                   "58170929338243431654325240033914255509309837749500017513055314279808276255817"
                   "03601070615132932471665375926311438726742797159593");
    // (a*b) // b == a and (a*b + 5) % b == 5
    Value p = int_mul(vm, a, b);
    assert_int_str(int_floordiv(vm, p, b), A);
    assert_int_str(int_mod(vm, int_add(vm, p, v_int(5)), b), "5");
    // Floor semantics with small operands.
    assert_int_str(int_floordiv(vm, v_int(-7), v_int(2)), "-4");
    assert_int_str(int_mod(vm, v_int(-7), v_int(2)), "1");
    ck_assert(IS_NULL(int_floordiv(vm, a, v_int(0))));
    ck_assert(vm_err_matches(vm, vm->exc_ZeroDivisionError));
    vm_err_clear(vm);
}
END_TEST

START_TEST(test_karatsuba_square) {
    // (10**3000 - 1)**2 == 10**6000 - 2*10**3000 + 1
    vm->int_max_str_digits = 0;
    Value t = int_pow(vm, v_int(10), v_int(3000), VAL_NULL);
    Value x = int_sub(vm, t, v_int(1));
    Value sq = int_mul(vm, x, x);
    Value want = int_add(vm, int_sub(vm, int_mul(vm, t, t), int_mul(vm, v_int(2), t)), v_int(1));
    ck_assert_int_eq(int_compare(sq, want), 0);
    ck_assert_int_eq(int_compare(int_floordiv(vm, sq, x), x), 0);
}
END_TEST

START_TEST(test_string_round_trip) {
    Value a = parse(A);
    Value hex = int_to_str(vm, a, 16);
    ck_assert_str_eq(
        AS_STR(hex)->data,
        "1fd5863c3eb0469ec21a937a76f3432ffd73d97e447606b683ecf6f6e4a7ae225bfaff1eaaf8b0a1");
    Value back = int_from_string(vm, AS_STR(hex)->data, AS_STR(hex)->len, 16, false);
    ck_assert_int_eq(int_compare(a, back), 0);
    Value bin = int_to_str(vm, int_neg(vm, a), 2);
    back = int_from_string(vm, AS_STR(bin)->data, AS_STR(bin)->len, 2, false);
    ck_assert_int_eq(int_compare(int_neg(vm, a), back), 0);
    assert_int_str(int_from_string(vm, "  -12 ", 6, 10, false), "-12");
    assert_int_str(int_from_string(vm, "0x_ff", 5, 0, false), "255");
    assert_int_str(int_from_string(vm, "1_000_000", 9, 10, false), "1000000");
    ck_assert(IS_NULL(int_from_string(vm, "1__0", 4, 10, false)));
    ck_assert(vm_err_matches(vm, vm->exc_ValueError));
    vm_err_clear(vm);
    ck_assert(IS_NULL(int_from_string(vm, "010", 3, 0, false)));
    vm_err_clear(vm);
}
END_TEST

START_TEST(test_str_digit_limit) {
    char buf[5001];
    memset(buf, '1', 5000);
    buf[5000] = 0;
    ck_assert(IS_NULL(int_from_string(vm, buf, 5000, 10, false)));
    ck_assert(vm_err_matches(vm, vm->exc_ValueError));
    vm_err_clear(vm);
    // Power-of-two bases are exempt.
    memset(buf, 'f', 5000);
    ck_assert(!IS_NULL(int_from_string(vm, buf, 5000, 16, false)));
    // A 100,000-digit decimal conversion is fast once the limit is lifted.
    vm->int_max_str_digits = 0;
    Value big = int_pow(vm, v_int(7), v_int(118000), VAL_NULL); // ~99,700 digits
    clock_t t0 = clock();
    Value s = int_to_str(vm, big, 10);
    ck_assert(!IS_NULL(s));
    Value back = int_from_string(vm, AS_STR(s)->data, AS_STR(s)->len, 10, false);
    ck_assert_int_eq(int_compare(big, back), 0);
    ck_assert((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
}
END_TEST

START_TEST(test_hash) {
    Value a = parse(A);
    ck_assert_int_eq(int_hash(a), 424410663027747676LL);
    ck_assert_int_eq(int_hash(int_neg(vm, a)), -424410663027747676LL);
    ck_assert_int_eq(int_hash(v_int(-1)), -2);
    ck_assert_int_eq(int_hash(parse("2305843009213693951")), 0); // 2**61 - 1
    ck_assert_int_eq(int_hash(parse("2305843009213693952")), 1); // 2**61
    ck_assert_int_eq(int_hash(parse("-18446744073709551616")), -8);
    ck_assert_int_eq(float_hash(1.5), 1152921504606846977LL);
    ck_assert_int_eq(float_hash(-0.5), -1152921504606846976LL);
    ck_assert_int_eq(float_hash(1e300), 1224995262755759164LL);
    ck_assert_int_eq(float_hash(-1.0), -2);
    ck_assert_int_eq(float_hash(ldexp(1.0, 61)), int_hash(parse("2305843009213693952")));
}
END_TEST

START_TEST(test_float_conversions) {
    Value a = parse(A), b = parse(B);
    Value q = int_truediv(vm, a, b);
    ck_assert(IS_FLOAT(q));
    assert_float_repr(AS_FLOAT(q), "4.566094987608383e-32");
    bool overflow;
    double d = int_to_double(vm, parse("5316911983139663491615228241121378301"), &overflow);
    assert_float_repr(d, "5.316911983139664e+36");
    Value huge = int_pow(vm, v_int(10), v_int(400), VAL_NULL);
    int_to_double(vm, huge, &overflow);
    ck_assert(overflow);
    ck_assert(vm_err_matches(vm, vm->exc_OverflowError));
    vm_err_clear(vm);
    assert_int_str(int_from_double(vm, 1e20), "100000000000000000000");
    assert_int_str(int_from_double(vm, -3.9), "-3");
}
END_TEST

START_TEST(test_float_repr) {
    assert_float_repr(0.1, "0.1");
    assert_float_repr(0.1 + 0.2, "0.30000000000000004");
    assert_float_repr(1e16, "1e+16");
    assert_float_repr(1.5e-5, "1.5e-05");
    assert_float_repr(1e-4, "0.0001");
    assert_float_repr(123456789012345.0, "123456789012345.0");
    assert_float_repr(1e15, "1000000000000000.0");
    assert_float_repr(-0.0, "-0.0");
    assert_float_repr(5e-324, "5e-324");
    assert_float_repr(1.7976931348623157e308, "1.7976931348623157e+308");
    assert_float_repr(INFINITY, "inf");
    assert_float_repr(-INFINITY, "-inf");
    assert_float_repr(NAN, "nan");
    assert_float_repr(1.0 / 3.0, "0.3333333333333333");
    assert_float_repr(100.0, "100.0");
}
END_TEST

START_TEST(test_bitwise_and_shifts) {
    Value a = parse(A);
    Value na = int_neg(vm, a);
    // ~x == -x - 1, x ^ x == 0, (x & -x) is the lowest set bit of 3**200 (1)
    ck_assert_int_eq(int_compare(int_invert(vm, a), int_sub(vm, na, v_int(1))), 0);
    assert_int_str(int_xor(vm, a, a), "0");
    assert_int_str(int_and(vm, a, na), "1");
    assert_int_str(int_or(vm, na, v_int(0)), "-"
                                             "265613988875874769338781322035779626829233452653394"
                                             "495974574961739092490901302182994384699044001");
    assert_int_str(int_rshift(vm, int_lshift(vm, a, v_int(100)), v_int(100)), A);
    assert_int_str(int_rshift(vm, v_int(-5), v_int(1)), "-3");
    assert_int_str(int_rshift(vm, na, v_int(10000)), "-1");
    ck_assert(IS_NULL(int_lshift(vm, v_int(1), v_int(-1))));
    ck_assert(vm_err_matches(vm, vm->exc_ValueError));
    vm_err_clear(vm);
}
END_TEST

START_TEST(test_pow_mod) {
    assert_int_str(int_pow(vm, v_int(3), v_int(-1), v_int(7)), "5");
    assert_int_str(int_pow(vm, v_int(-3), v_int(5), v_int(7)), "2");
    assert_int_str(int_pow(vm, v_int(3), v_int(5), v_int(-7)), "-2");
    Value r = int_pow(vm, v_int(2), v_int(-1), VAL_NULL);
    ck_assert(IS_FLOAT(r) && AS_FLOAT(r) == 0.5);
    ck_assert(IS_NULL(int_pow(vm, v_int(2), v_int(-1), v_int(4))));
    ck_assert(vm_err_matches(vm, vm->exc_ValueError));
    vm_err_clear(vm);
}
END_TEST

static Suite *int_suite(void) {
    Suite *s = suite_create("int");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_small_and_promotion);
    tcase_add_test(tc, test_big_mul_div);
    tcase_add_test(tc, test_karatsuba_square);
    tcase_add_test(tc, test_string_round_trip);
    tcase_add_test(tc, test_str_digit_limit);
    tcase_add_test(tc, test_hash);
    tcase_add_test(tc, test_float_conversions);
    tcase_add_test(tc, test_float_repr);
    tcase_add_test(tc, test_bitwise_and_shifts);
    tcase_add_test(tc, test_pow_mod);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(int_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
