// test_interp.c - the dispatch loop, calls and exceptions, driven by code
// objects built by hand (no compiler involved).
#define EDDY_ALLOW_MALLOC // the test uses open_memstream/free
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "opcodes.h"

typedef struct CodeSpec {
    const uint32_t *words;
    uint32_t nwords;
    const Value *consts;
    size_t nconsts;
    const char *const *names;
    size_t nnames;
    const char *const *varnames;
    uint32_t nvarnames;
    uint32_t argcount;
    uint32_t stacksize;
    uint32_t flags;
    const ExcEntry *exc;
    uint32_t nexc;
    const char *name;
} CodeSpec;

static TupleObject *str_tuple(EddyVM *vm, const char *const *s, size_t n) {
    TupleObject *t = tuple_new(vm, n);
    ck_assert_ptr_nonnull(t);
    for (size_t i = 0; i < n; i++) t->items[i] = v_obj(str_intern_cstr(vm, s[i]));
    return t;
}

static CodeObject *make_code(EddyVM *vm, const CodeSpec *spec) {
    CodeObject *c = code_new(vm);
    ck_assert_ptr_nonnull(c);
    c->code = mem_alloc(vm, spec->nwords * sizeof(uint32_t));
    memcpy(c->code, spec->words, spec->nwords * sizeof(uint32_t));
    c->ncode = spec->nwords;
    c->consts = tuple_from(vm, spec->consts, spec->nconsts);
    c->names = str_tuple(vm, spec->names, spec->nnames);
    c->varnames = str_tuple(vm, spec->varnames, spec->nvarnames);
    c->cellvars = vm->empty_tuple;
    c->freevars = vm->empty_tuple;
    c->argcount = spec->argcount;
    c->nlocals = spec->nvarnames;
    c->stacksize = spec->stacksize;
    c->flags = spec->flags;
    c->firstlineno = 1;
    c->lines = mem_alloc(vm, sizeof(LineEntry));
    c->lines[0] = (LineEntry){.pc = 0, .line = 1, .end_line = 1, .col = 0, .end_col = 0};
    c->nlines = 1;
    if (spec->nexc) {
        c->exc_table = mem_alloc(vm, spec->nexc * sizeof(ExcEntry));
        memcpy(c->exc_table, spec->exc, spec->nexc * sizeof(ExcEntry));
        c->nexc = spec->nexc;
    }
    c->filename = str_from_cstr(vm, "<test>");
    c->name = str_intern_cstr(vm, spec->name ? spec->name : "<module>");
    c->qualname = c->name;
    return c;
}

static Value run_module(EddyVM *vm, CodeObject *code) {
    DictObject *globals = dict_new(vm);
    ck_assert_ptr_nonnull(globals);
    ck_assert_int_eq(dict_set_str(vm, globals, vm->names.__builtins__, v_obj(vm->builtins)), 0);
    ck_assert_int_eq(vm_push_root(vm, v_obj(globals)), 0);
    ck_assert_int_eq(vm_push_root(vm, v_obj(code)), 0);
    Value r = vm_exec_code(vm, code, globals, globals);
    vm_pop_roots(vm, 2);
    return r;
}

START_TEST(test_add_consts) {
    EddyVM *vm = vm_new(NULL);
    ck_assert_ptr_nonnull(vm);
    uint32_t words[] = {INSTR(OP_LOAD_CONST, 0), INSTR(OP_LOAD_CONST, 1),
                        INSTR(OP_BINARY_OP, BINOP_ADD), 0, INSTR(OP_RETURN_VALUE, 0)};
    Value consts[] = {v_int(2), v_int(3)};
    CodeSpec spec = {.words = words, .nwords = 5, .consts = consts, .nconsts = 2, .stacksize = 2};
    Value r = run_module(vm, make_code(vm, &spec));
    ck_assert(IS_INT(r));
    ck_assert_int_eq(AS_INT(r), 5);
    ck_assert(!vm_err_occurred(vm));
    ck_assert_ptr_null(vm_current_frame(vm));
    vm_free(vm);
}
END_TEST

START_TEST(test_overflow_promotes) {
    EddyVM *vm = vm_new(NULL);
    ck_assert_ptr_nonnull(vm);
    uint32_t words[] = {INSTR(OP_LOAD_CONST, 0), INSTR(OP_LOAD_CONST, 1),
                        INSTR(OP_BINARY_OP, BINOP_ADD), 0, INSTR(OP_RETURN_VALUE, 0)};
    Value consts[] = {v_int(INT64_MAX), v_int(1)};
    CodeSpec spec = {.words = words, .nwords = 5, .consts = consts, .nconsts = 2, .stacksize = 2};
    Value r = run_module(vm, make_code(vm, &spec));
    ck_assert(!IS_NULL(r));
    ck_assert(is_bigint(r));
    Value s = vm_repr(vm, r);
    ck_assert(is_str(vm, s));
    ck_assert_str_eq(AS_STR(s)->data, "9223372036854775808");
    vm_free(vm);
}
END_TEST

START_TEST(test_exception_handler) {
    EddyVM *vm = vm_new(NULL);
    ck_assert_ptr_nonnull(vm);
    // try: return 1 / 0  except: return 42
    uint32_t words[] = {INSTR(OP_LOAD_CONST, 0), INSTR(OP_LOAD_CONST, 1),
                        INSTR(OP_BINARY_OP, BINOP_TRUEDIV), 0, INSTR(OP_RETURN_VALUE, 0),
                        // handler at 5: [exc]
                        INSTR(OP_POP_TOP, 0), INSTR(OP_LOAD_CONST, 2), INSTR(OP_RETURN_VALUE, 0)};
    Value consts[] = {v_int(1), v_int(0), v_int(42)};
    ExcEntry exc[] = {{.start = 0, .end = 5, .handler = 5, .depth = 0, .push_lasti = 0}};
    CodeSpec spec = {.words = words,
                     .nwords = 8,
                     .consts = consts,
                     .nconsts = 3,
                     .stacksize = 2,
                     .exc = exc,
                     .nexc = 1};
    Value r = run_module(vm, make_code(vm, &spec));
    ck_assert(IS_INT(r));
    ck_assert_int_eq(AS_INT(r), 42);
    ck_assert(!vm_err_occurred(vm));
    vm_free(vm);
}
END_TEST

START_TEST(test_uncaught_exception) {
    EddyVM *vm = vm_new(NULL);
    ck_assert_ptr_nonnull(vm);
    uint32_t words[] = {INSTR(OP_LOAD_CONST, 0), INSTR(OP_LOAD_CONST, 1),
                        INSTR(OP_BINARY_OP, BINOP_FLOORDIV), 0, INSTR(OP_RETURN_VALUE, 0)};
    Value consts[] = {v_int(1), v_int(0)};
    CodeSpec spec = {.words = words, .nwords = 5, .consts = consts, .nconsts = 2, .stacksize = 2};
    Value r = run_module(vm, make_code(vm, &spec));
    ck_assert(IS_NULL(r));
    ck_assert(vm_err_matches(vm, vm->exc_ZeroDivisionError));
    Value e = vm_err_fetch(vm);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    vm_print_exception(vm, e, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "Traceback (most recent call last):\n"));
    ck_assert_ptr_nonnull(strstr(buf, "  File \"<test>\", line 1, in <module>\n"));
    ck_assert_ptr_nonnull(strstr(buf, "ZeroDivisionError: integer division or modulo by zero\n"));
    free(buf);
    vm_free(vm);
}
END_TEST

// def f(): return f()   -- called from the module
START_TEST(test_recursion_error) {
    EddyVM *vm = vm_new(NULL);
    ck_assert_ptr_nonnull(vm);
    uint32_t fwords[] = {
        INSTR(OP_LOAD_GLOBAL, (0 << 1) | 1), 0, 0, INSTR(OP_CALL, 0), 0, INSTR(OP_RETURN_VALUE, 0)};
    const char *fnames[] = {"f"};
    CodeSpec fspec = {.words = fwords,
                      .nwords = 6,
                      .names = fnames,
                      .nnames = 1,
                      .stacksize = 2,
                      .flags = CO_OPTIMIZED | CO_NEWLOCALS,
                      .name = "f"};
    CodeObject *fcode = make_code(vm, &fspec);
    uint32_t words[] = {INSTR(OP_LOAD_CONST, 0),
                        INSTR(OP_MAKE_FUNCTION, 0),
                        INSTR(OP_STORE_NAME, 0),
                        INSTR(OP_LOAD_NAME, 0),
                        INSTR(OP_PUSH_NULL, 0),
                        INSTR(OP_CALL, 0),
                        0,
                        INSTR(OP_RETURN_VALUE, 0)};
    Value consts[] = {v_obj(fcode)};
    const char *names[] = {"f"};
    CodeSpec spec = {.words = words,
                     .nwords = 8,
                     .consts = consts,
                     .nconsts = 1,
                     .names = names,
                     .nnames = 1,
                     .stacksize = 2};
    Value r = run_module(vm, make_code(vm, &spec));
    ck_assert(IS_NULL(r));
    ck_assert(vm_err_matches(vm, vm->exc_RecursionError));
    Value e = vm_err_fetch(vm);
    Value s = vm_str(vm, e);
    ck_assert(is_str(vm, s));
    ck_assert_str_eq(AS_STR(s)->data, "maximum recursion depth exceeded");
    // Every frame was released.
    ck_assert_ptr_null(vm_current_frame(vm));
    ck_assert_uint_eq(vm->fiber->depth, 0);
    ck_assert_ptr_eq(vm->fiber->top, vm->fiber->base);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    vm_print_exception(vm, e, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "  [Previous line repeated 996 more times]\n"));
    free(buf);
    vm_free(vm);
}
END_TEST

// def f(a, b): return a - b  -- argument binding through vm_call
START_TEST(test_call_binding) {
    EddyVM *vm = vm_new(NULL);
    ck_assert_ptr_nonnull(vm);
    uint32_t fwords[] = {INSTR(OP_LOAD_FAST, 0), INSTR(OP_LOAD_FAST, 1),
                         INSTR(OP_BINARY_OP, BINOP_SUB), 0, INSTR(OP_RETURN_VALUE, 0)};
    const char *vars[] = {"a", "b"};
    CodeSpec fspec = {.words = fwords,
                      .nwords = 5,
                      .varnames = vars,
                      .nvarnames = 2,
                      .argcount = 2,
                      .stacksize = 2,
                      .flags = CO_OPTIMIZED | CO_NEWLOCALS,
                      .name = "f"};
    CodeObject *fcode = make_code(vm, &fspec);
    DictObject *globals = dict_new(vm);
    FunctionObject *fn = function_new(vm, fcode, globals);
    ck_assert_ptr_nonnull(fn);
    ck_assert_int_eq(vm_push_root(vm, v_obj(fn)), 0);

    Value r = vm_call2(vm, v_obj(fn), v_int(10), v_int(3));
    ck_assert(IS_INT(r));
    ck_assert_int_eq(AS_INT(r), 7);

    // Keywords: f(b=1, a=5)
    TupleObject *kw = str_tuple(vm, (const char *const[]){"b", "a"}, 2);
    Value args[2] = {v_int(1), v_int(5)};
    r = vm_call(vm, v_obj(fn), args, 0, kw);
    ck_assert(IS_INT(r));
    ck_assert_int_eq(AS_INT(r), 4);

    r = vm_call1(vm, v_obj(fn), v_int(1));
    ck_assert(IS_NULL(r));
    Value e = vm_err_fetch(vm);
    Value s = vm_str(vm, e);
    ck_assert_str_eq(AS_STR(s)->data, "f() missing 1 required positional argument: 'b'");

    Value three[3] = {v_int(1), v_int(2), v_int(3)};
    r = vm_call(vm, v_obj(fn), three, 3, NULL);
    ck_assert(IS_NULL(r));
    s = vm_str(vm, vm_err_fetch(vm));
    ck_assert_str_eq(AS_STR(s)->data, "f() takes 2 positional arguments but 3 were given");

    TupleObject *kw2 = str_tuple(vm, (const char *const[]){"z"}, 1);
    Value a3[3] = {v_int(1), v_int(2), v_int(3)};
    r = vm_call(vm, v_obj(fn), a3, 2, kw2);
    ck_assert(IS_NULL(r));
    s = vm_str(vm, vm_err_fetch(vm));
    ck_assert_str_eq(AS_STR(s)->data, "f() got an unexpected keyword argument 'z'");

    vm_pop_roots(vm, 1);
    vm_free(vm);
}
END_TEST

static Suite *interp_suite(void) {
    Suite *s = suite_create("interp");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_add_consts);
    tcase_add_test(tc, test_overflow_promotes);
    tcase_add_test(tc, test_exception_handler);
    tcase_add_test(tc, test_uncaught_exception);
    tcase_add_test(tc, test_recursion_error);
    tcase_add_test(tc, test_call_binding);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(interp_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
