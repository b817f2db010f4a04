// test_str.c - Check suite for vm/obj_str.c, vm/strbuf.c, vm/format.c and
// vm/obj_bytes.c: creation, interning, hashing, str_format, StrBuf, the
// format-spec mini-language and %-formatting. Expected strings come from
// CPython 3.11.
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

static EddyVM *vm;

static void setup(void) {
    EddyConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    vm = vm_new(&cfg);
    ck_assert_ptr_nonnull(vm);
}

static void teardown(void) {
    vm_free(vm);
    vm = NULL;
}

static StrObject *S(const char *s) {
    StrObject *r = str_from_cstr(vm, s);
    ck_assert_ptr_nonnull(r);
    return r;
}

// The message of the pending exception, cleared.
static const char *take_error(void) {
    static char buf[256];
    Value e = vm_err_fetch(vm);
    ck_assert(!IS_NULL(e));
    Value s = vm_str(vm, e);
    ck_assert(!IS_NULL(s));
    snprintf(buf, sizeof buf, "%s", AS_STR(s)->data);
    return buf;
}

// ---------------------------------------------------------------------------

START_TEST(test_new_counts) {
    StrObject *a = S("hello");
    ck_assert_uint_eq(a->len, 5);
    ck_assert_uint_eq(a->ncp, 5);
    ck_assert(a->ascii);
    StrObject *b = S("h\xc3\xa9llo \xe4\xb8\xad");
    ck_assert_uint_eq(b->len, 10);
    ck_assert_uint_eq(b->ncp, 7);
    ck_assert(!b->ascii);
    ck_assert_int_eq(b->data[b->len], 0);
    // one-character ASCII strings are shared
    ck_assert_ptr_eq(str_new(vm, "x", 1), str_new(vm, "x", 1));
    ck_assert_ptr_eq(str_new(vm, "", 0), vm->names.empty);
}
END_TEST

START_TEST(test_intern) {
    StrObject *a = str_intern(vm, "spam_and_eggs", 13);
    StrObject *b = str_intern_cstr(vm, "spam_and_eggs");
    ck_assert_ptr_eq(a, b);
    ck_assert(a->interned);
    ck_assert_int_eq(a->hdr.gc_pinned, 1);
    StrObject *c = str_from_cstr(vm, "spam_and_eggs");
    ck_assert_ptr_ne(c, a);
    ck_assert_ptr_eq(str_intern_obj(vm, c), a);
    // names.def entries are the interned copies
    ck_assert_ptr_eq(str_intern_cstr(vm, "__init__"), vm->names.__init__);
    // many interned strings force the table to grow
    char buf[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(buf, sizeof buf, "name%d", i);
        ck_assert_ptr_nonnull(str_intern_cstr(vm, buf));
    }
    ck_assert_ptr_eq(str_intern_cstr(vm, "name1234"), str_intern_cstr(vm, "name1234"));
    ck_assert_ptr_eq(str_intern_cstr(vm, "spam_and_eggs"), a);
}
END_TEST

START_TEST(test_hash_eq_compare) {
    StrObject *a = S("abcdefghijklmnopq"), *b = S("abcdefghijklmnopq"), *c = S("abcdefghijklmnopr");
    ck_assert(str_hash(a) != -1);
    ck_assert(str_hash(a) == str_hash(b));
    ck_assert(str_hash(a) != str_hash(c));
    ck_assert(str_eq(a, b));
    ck_assert(!str_eq(a, c));
    ck_assert_int_eq(str_compare(a, c), -1);
    ck_assert_int_eq(str_compare(c, a), 1);
    ck_assert_int_eq(str_compare(a, b), 0);
    ck_assert_int_eq(str_compare(S("ab"), S("abc")), -1);
    // code-point order: U+00E9 > 'z'
    ck_assert_int_eq(str_compare(S("\xc3\xa9"), S("z")), 1);
    ck_assert(str_hash(S("")) != -1);
}
END_TEST

START_TEST(test_concat_index) {
    StrObject *r = str_concat(vm, S("ab"), S("c\xc3\xa9"));
    ck_assert_str_eq(r->data, "abc\xc3\xa9");
    ck_assert_uint_eq(r->ncp, 4);
    Value v = str_getitem_index(vm, r, -1);
    ck_assert_str_eq(AS_STR(v)->data, "\xc3\xa9");
    v = str_getitem_index(vm, r, 1);
    ck_assert_ptr_eq(AS_STR(v), str_new(vm, "b", 1));
    ck_assert(IS_NULL(str_getitem_index(vm, r, 4)));
    ck_assert_str_eq(take_error(), "string index out of range");
}
END_TEST

START_TEST(test_str_format) {
    StrObject *s = str_format(vm, "%d|%s|%zu|%lld|%x|%c|%%|%U", 42, "cstr", (size_t)7, -5LL, 255,
                              0xE9, S("obj"));
    ck_assert_str_eq(s->data, "42|cstr|7|-5|ff|\xc3\xa9|%|obj");
    Value str = v_obj(S("it's"));
    s = str_format(vm, "%R %S %T %V %V", str, str, v_int(3), str, v_int(3));
    ck_assert_str_eq(s->data, "\"it's\" it's int it's 3");
    s = str_format(vm, "%.3s", "abcdef");
    ck_assert_str_eq(s->data, "abc");
    s = str_format(vm, "%.*s|%5d|%-4s|%*d|%.2U", 2, "abc", 7, "x", 3, 1, S("\xc3\xa9t\xc3\xa9"));
    ck_assert_str_eq(s->data, "ab|    7|x   |  1|\xc3\xa9t");
}
END_TEST

START_TEST(test_strbuf) {
    StrBuf b;
    strbuf_init(vm, &b);
    for (int i = 0; i < 1000; i++) ck_assert(strbuf_append_char(&b, 'a'));
    ck_assert(strbuf_append_cstr(&b, "xyz"));
    ck_assert(strbuf_append_codepoint(&b, 0x4E2D));
    ck_assert(strbuf_append_codepoint(&b, 0x1F600));
    ck_assert(strbuf_printf(&b, "%05d", 42));
    StrObject *s = strbuf_finish(&b);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->len, 1000 + 3 + 3 + 4 + 5);
    ck_assert_uint_eq(s->ncp, 1000 + 3 + 1 + 1 + 5);
    ck_assert_str_eq(s->data + 1000, "xyz\xe4\xb8\xad\xf0\x9f\x98\x80"
                                     "00042");
    strbuf_init(vm, &b);
    s = strbuf_finish(&b);
    ck_assert_ptr_eq(s, vm->names.empty);
}
END_TEST

static const char *fmt_int(int64_t v, const char *spec) {
    Value r = format_int(vm, v_int(v), S(spec));
    if (IS_NULL(r)) return take_error();
    return AS_STR(r)->data;
}

static const char *fmt_float(double d, const char *spec) {
    Value r = format_float(vm, d, S(spec));
    if (IS_NULL(r)) return take_error();
    return AS_STR(r)->data;
}

static const char *fmt_str(const char *s, const char *spec) {
    Value r = format_str(vm, S(s), S(spec));
    if (IS_NULL(r)) return take_error();
    return AS_STR(r)->data;
}

START_TEST(test_format_int) {
    ck_assert_str_eq(fmt_int(1234, "010,"), "00,001,234");
    ck_assert_str_eq(fmt_int(1234, "08,"), "0,001,234");
    ck_assert_str_eq(fmt_int(1234567, "_"), "1_234_567");
    ck_assert_str_eq(fmt_int(255, "#x"), "0xff");
    ck_assert_str_eq(fmt_int(255, "#010x"), "0x000000ff");
    ck_assert_str_eq(fmt_int(255, "#07_x"), "0x0_00ff");
    ck_assert_str_eq(fmt_int(255, "_b"), "1111_1111");
    ck_assert_str_eq(fmt_int(-5, "=+8"), "-      5");
    ck_assert_str_eq(fmt_int(-42, "X^+9"), "XXX-42XXX");
    ck_assert_str_eq(fmt_int(65, "c"), "A");
    ck_assert_str_eq(fmt_int(3, ".2f"), "3.00");
    ck_assert_str_eq(fmt_int(3, "%"), "300.000000%");
    ck_assert_str_eq(fmt_int(INT64_MIN, "x"), "-8000000000000000");
    ck_assert_str_eq(fmt_int(1, "abc"), "Invalid format specifier 'abc' for object of type 'int'");
    ck_assert_str_eq(fmt_int(1, ".2d"), "Precision not allowed in integer format specifier");
    ck_assert_str_eq(fmt_int(1, ",x"), "Cannot specify ',' with 'x'.");
    ck_assert_str_eq(fmt_int(1, ",_"), "Cannot specify both ',' and '_'.");
    ck_assert_str_eq(fmt_int(1, "+c"), "Sign not allowed with integer format specifier 'c'");
    ck_assert_str_eq(fmt_int(1, "."), "Format specifier missing precision");
    ck_assert_str_eq(fmt_int(1, "s"), "Unknown format code 's' for object of type 'int'");
    ck_assert_str_eq(fmt_int(1114112, "c"), "%c arg not in range(0x110000)");
}
END_TEST

START_TEST(test_format_float) {
    ck_assert_str_eq(fmt_float(1e16, ""), "1e+16");
    ck_assert_str_eq(fmt_float(1.0, ""), "1.0");
    ck_assert_str_eq(fmt_float(1.5, ".3"), "1.5");
    ck_assert_str_eq(fmt_float(1.0, ".3"), "1.0");
    ck_assert_str_eq(fmt_float(123456789.0, ".3"), "1.23e+08");
    ck_assert_str_eq(fmt_float(123.456, ",.2f"), "123.46");
    ck_assert_str_eq(fmt_float(-0.0, "z.1f"), "0.0");
    ck_assert_str_eq(fmt_float(0.5, "%"), "50.000000%");
    ck_assert_str_eq(fmt_float(12345678.9, ","), "12,345,678.9");
    ck_assert_str_eq(fmt_float(-1234.5, "011,.1f"), "-0,001,234.5");
    ck_assert_str_eq(fmt_float(2.5, "*^11.3e"), "*2.500e+00*");
    ck_assert_str_eq(fmt_float(1.0, "#g"), "1.00000");
    ck_assert_str_eq(fmt_float(2.675, ".2f"), "2.67");
    ck_assert_str_eq(fmt_float(1.0 / 0.0, "010"), "0000000inf");
    ck_assert_str_eq(fmt_float(-1.0 / 0.0, "F"), "-INF");
    ck_assert_str_eq(fmt_float(1.0, "d"), "Unknown format code 'd' for object of type 'float'");
}
END_TEST

START_TEST(test_format_str) {
    ck_assert_str_eq(fmt_str("ab", "^7"), "  ab   ");
    ck_assert_str_eq(fmt_str("abc", ".2"), "ab");
    ck_assert_str_eq(fmt_str("ab", "05"), "ab000");
    ck_assert_str_eq(fmt_str("\xc3\xa9t\xc3\xa9", "\xc3\xa9^5"),
                     "\xc3\xa9\xc3\xa9t\xc3\xa9\xc3\xa9");
    ck_assert_str_eq(fmt_str("a", "d"), "Unknown format code 'd' for object of type 'str'");
    ck_assert_str_eq(fmt_str("a", "+"), "Sign not allowed in string format specifier");
    ck_assert_str_eq(fmt_str("a", ","), "Cannot specify ',' with 's'.");
    ck_assert_str_eq(fmt_str("a", "=5"), "'=' alignment not allowed in string format specifier");
}
END_TEST

static const char *mod(const char *fmt, Value args) {
    Value r = str_mod(vm, v_obj(S(fmt)), args);
    if (IS_NULL(r)) return take_error();
    return AS_STR(r)->data;
}

START_TEST(test_str_mod) {
    Value items[3] = {v_int(42), v_float(3.14159), v_obj(S("x"))};
    TupleObject *t = tuple_from(vm, items, 3);
    ck_assert_str_eq(mod("%05d|%.2f|%r", v_obj(t)), "00042|3.14|'x'");
    // %d truncates a float, as CPython does
    ck_assert_str_eq(mod("%-4s|%+d", v_obj(tuple_from(vm, items, 2))), "42  |+3");
    ck_assert_str_eq(mod("%s %s", v_int(1)), "not enough arguments for format string");
    ck_assert_str_eq(mod("abc", v_int(1)), "not all arguments converted during string formatting");
    ck_assert_str_eq(mod("%z", v_int(1)), "unsupported format character 'z' (0x7a) at index 1");
    ck_assert_str_eq(mod("%d%%", v_int(50)), "50%");
}
END_TEST

START_TEST(test_format_method) {
    Value args[2] = {v_int(5), v_obj(S("ab"))};
    Value r = str_format_method(vm, S("{0:>3}|{1!r}|{{}}|{}"), args, 2, NULL);
    ck_assert(IS_NULL(r));
    ck_assert_str_eq(take_error(),
                     "cannot switch from manual field specification to automatic field numbering");
    r = str_format_method(vm, S("{0:>3}|{1!r}|{{}}|{0:{1}}"), args, 2, NULL);
    ck_assert(IS_NULL(r)); // 'ab' is not a valid spec for an int
    take_error();
    r = str_format_method(vm, S("{:>3}|{!r:^6}|{{}}"), args, 2, NULL);
    ck_assert(!IS_NULL(r));
    ck_assert_str_eq(AS_STR(r)->data, "  5| 'ab' |{}");
}
END_TEST

START_TEST(test_bytes) {
    Value b = bytes_new(vm, "a\0b", 3);
    ck_assert(!IS_NULL(b));
    ck_assert(is_bytes(vm, b));
    size_t len;
    const uint8_t *d = bytes_data(b, &len);
    ck_assert_uint_eq(len, 3);
    ck_assert_int_eq(d[1], 0);
    Value r = vm_repr(vm, b);
    ck_assert_str_eq(AS_STR(r)->data, "b'a\\x00b'");
    ck_assert(!is_bytes(vm, v_obj(S("x"))));
}
END_TEST

START_TEST(test_decode) {
    StrObject *s = str_decode_utf8(vm, "caf\xc3\xa9", 5);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->ncp, 4);
    ck_assert_ptr_null(str_decode_utf8(vm, "a\xff", 2));
    ck_assert_str_eq(take_error(),
                     "'utf-8' codec can't decode byte 0xff in position 1: invalid start byte");
    ck_assert_ptr_null(str_decode_utf8(vm, "\xed\xa0\x80", 3)); // a surrogate
    take_error();
}
END_TEST

static Suite *str_suite(void) {
    Suite *s = suite_create("str");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_new_counts);
    tcase_add_test(tc, test_intern);
    tcase_add_test(tc, test_hash_eq_compare);
    tcase_add_test(tc, test_concat_index);
    tcase_add_test(tc, test_str_format);
    tcase_add_test(tc, test_strbuf);
    tcase_add_test(tc, test_format_int);
    tcase_add_test(tc, test_format_float);
    tcase_add_test(tc, test_format_str);
    tcase_add_test(tc, test_str_mod);
    tcase_add_test(tc, test_format_method);
    tcase_add_test(tc, test_bytes);
    tcase_add_test(tc, test_decode);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(str_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
