// test_compile.c - scope analysis and code generation, checked on the
// structure of the code objects compile_source() builds, and on the
// SyntaxErrors it raises (messages and positions as CPython 3.11 reports).
#define EDDY_ALLOW_MALLOC // open_memstream/free for the disassembly test
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "opcodes.h"

static EddyVM *vm;

static void setup(void) {
    vm = vm_new(NULL);
    ck_assert_ptr_nonnull(vm);
}

static void teardown(void) {
    vm_free(vm);
    vm = NULL;
}

static CodeObject *compile_ok(const char *src) {
    Value v = compile_source(vm, src, strlen(src), "<test>", PARSE_FILE);
    if (IS_NULL(v)) {
        vm_print_exception(vm, vm_err_fetch(vm), stderr);
        ck_abort_msg("compile failed: %s", src);
    }
    return (CodeObject *)AS_OBJ(v);
}

static const char *name_at(TupleObject *t, uint32_t i) {
    ck_assert_uint_lt(i, t->len);
    return AS_STR(t->items[i])->data;
}

// The nested code object whose name is `name`, searched depth-first.
static CodeObject *find_code(CodeObject *co, const char *name) {
    if (strcmp(co->name->data, name) == 0) return co;
    for (size_t i = 0; i < co->consts->len; i++) {
        Value v = co->consts->items[i];
        if (IS_OBJ(v) && OBJ_TYPE(AS_OBJ(v)) == vm->t_code) {
            CodeObject *r = find_code((CodeObject *)AS_OBJ(v), name);
            if (r) return r;
        }
    }
    return NULL;
}

static bool has_op(CodeObject *co, Opcode op) {
    for (uint32_t pc = 0; pc < co->ncode; pc += 1 + opcode_caches[INSTR_OP(co->code[pc])])
        if (INSTR_OP(co->code[pc]) == op) return true;
    return false;
}

static int64_t int_attr(Value exc, const char *name) {
    Value v = vm_getattr(vm, exc, str_intern_cstr(vm, name));
    ck_assert(!IS_NULL(v));
    ck_assert(IS_INT(v));
    return AS_INT(v);
}

// Compile src, expect a SyntaxError with msg at (line, offset).
static void expect_error(const char *src, const char *msg, int64_t line, int64_t offset) {
    Value v = compile_source(vm, src, strlen(src), "<test>", PARSE_FILE);
    ck_assert_msg(IS_NULL(v), "expected an error for %s", src);
    ck_assert(vm_err_matches(vm, vm->exc_SyntaxError));
    Value exc = vm_err_fetch(vm);
    Value m = vm_getattr(vm, exc, str_intern_cstr(vm, "msg"));
    ck_assert(!IS_NULL(m));
    ck_assert_str_eq(AS_STR(m)->data, msg);
    ck_assert_int_eq(int_attr(exc, "lineno"), line);
    ck_assert_int_eq(int_attr(exc, "offset"), offset);
}

START_TEST(test_store_name) {
    CodeObject *co = compile_ok("x = 1\n");
    ck_assert_uint_eq(INSTR_OP(co->code[0]), OP_LOAD_CONST);
    ck_assert_uint_eq(INSTR_OP(co->code[1]), OP_STORE_NAME);
    ck_assert_str_eq(name_at(co->names, INSTR_ARG(co->code[1])), "x");
    ck_assert_uint_eq(co->stacksize, 1);
    ck_assert_str_eq(co->name->data, "<module>");
    ck_assert_uint_eq(co->flags & CO_OPTIMIZED, 0);
}
END_TEST

START_TEST(test_stacksize) {
    CodeObject *co = compile_ok("a + b\n");
    ck_assert_uint_eq(co->stacksize, 2);
    co = compile_ok("f(a, b, c)\n");
    ck_assert_uint_eq(co->stacksize, 5); // f NULL a b c
}
END_TEST

START_TEST(test_function_locals) {
    CodeObject *co = compile_ok("def f(a, b=1, *args, k, **kw):\n    c = a\n    return c\n");
    CodeObject *f = find_code(co, "f");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(f->argcount, 2);
    ck_assert_uint_eq(f->kwonlyargcount, 1);
    ck_assert_uint_eq(f->nlocals, 6);
    ck_assert_str_eq(name_at(f->varnames, 0), "a");
    ck_assert_str_eq(name_at(f->varnames, 1), "b");
    ck_assert_str_eq(name_at(f->varnames, 2), "k");
    ck_assert_str_eq(name_at(f->varnames, 3), "args");
    ck_assert_str_eq(name_at(f->varnames, 4), "kw");
    ck_assert_str_eq(name_at(f->varnames, 5), "c");
    ck_assert_uint_eq(f->flags & (CO_OPTIMIZED | CO_NEWLOCALS | CO_VARARGS | CO_VARKEYWORDS),
                      CO_OPTIMIZED | CO_NEWLOCALS | CO_VARARGS | CO_VARKEYWORDS);
    ck_assert(has_op(f, OP_LOAD_FAST));
    ck_assert(has_op(f, OP_STORE_FAST));
    ck_assert(!has_op(f, OP_LOAD_NAME));
}
END_TEST

START_TEST(test_docstring) {
    CodeObject *co = compile_ok("def f():\n    'doc'\n    return 1\ndef g():\n    return 1\n");
    CodeObject *f = find_code(co, "f"), *g = find_code(co, "g");
    ck_assert(f->flags & CO_HAS_DOCSTRING);
    ck_assert_str_eq(AS_STR(f->consts->items[0])->data, "doc");
    ck_assert(!(g->flags & CO_HAS_DOCSTRING));
    ck_assert(IS_NONE(g->consts->items[0]));
}
END_TEST

START_TEST(test_closure) {
    CodeObject *co =
        compile_ok("def f(x):\n    y = 1\n    def g():\n        return x + y\n    return g\n");
    CodeObject *f = find_code(co, "f"), *g = find_code(co, "g");
    ck_assert_uint_eq(f->ncells, 2);
    ck_assert_str_eq(name_at(f->cellvars, 0), "x");
    ck_assert_str_eq(name_at(f->cellvars, 1), "y");
    ck_assert_ptr_nonnull(f->cell2arg);
    ck_assert_int_eq(f->cell2arg[0], 0);  // x is argument 0
    ck_assert_int_eq(f->cell2arg[1], -1); // y is not an argument
    ck_assert_uint_eq(g->nfrees, 2);
    ck_assert(g->flags & CO_NESTED);
    ck_assert(has_op(g, OP_LOAD_DEREF));
    ck_assert(has_op(f, OP_LOAD_CLOSURE));
    ck_assert_str_eq(g->qualname->data, "f.<locals>.g");
}
END_TEST

START_TEST(test_global_nonlocal) {
    CodeObject *co = compile_ok("def f():\n    global x\n    x = 1\n");
    ck_assert(has_op(find_code(co, "f"), OP_STORE_GLOBAL));
    co = compile_ok("def f():\n    x = 0\n    def g():\n        nonlocal x\n        x += 1\n");
    ck_assert(has_op(find_code(co, "g"), OP_STORE_DEREF));
}
END_TEST

START_TEST(test_class) {
    CodeObject *co =
        compile_ok("class C:\n    'doc'\n    def m(self):\n        return super().m()\n");
    CodeObject *c = find_code(co, "C"), *m = find_code(co, "m");
    ck_assert(has_op(co, OP_LOAD_BUILD_CLASS));
    ck_assert_uint_eq(c->ncells, 1);
    ck_assert_str_eq(name_at(c->cellvars, 0), "__class__");
    ck_assert_uint_eq(m->nfrees, 1);
    ck_assert_str_eq(name_at(m->freevars, 0), "__class__");
    ck_assert_str_eq(m->qualname->data, "C.m");
    ck_assert(has_op(c, OP_STORE_NAME));
}
END_TEST

START_TEST(test_class_free_var) {
    CodeObject *co = compile_ok("def f():\n    x = 1\n    class C:\n        y = x\n");
    ck_assert(has_op(find_code(co, "C"), OP_LOAD_CLASSDEREF));
}
END_TEST

START_TEST(test_comprehension) {
    CodeObject *co = compile_ok("def f(n):\n    return [i * n for i in range(n)]\n");
    CodeObject *lc = find_code(co, "<listcomp>");
    ck_assert_ptr_nonnull(lc);
    ck_assert_uint_eq(lc->argcount, 1);
    ck_assert_str_eq(name_at(lc->varnames, 0), ".0");
    ck_assert_uint_eq(lc->nfrees, 1);
    ck_assert_str_eq(lc->qualname->data, "f.<locals>.<listcomp>");
}
END_TEST

START_TEST(test_try_tables) {
    CodeObject *co = compile_ok("try:\n    a\nexcept E as e:\n    b\nfinally:\n    c\n");
    ck_assert_uint_gt(co->nexc, 0);
    for (uint32_t i = 0; i < co->nexc; i++) {
        ck_assert_uint_lt(co->exc_table[i].start, co->exc_table[i].end);
        ck_assert_uint_lt(co->exc_table[i].handler, co->ncode);
        ck_assert_uint_le(co->exc_table[i].depth, co->stacksize);
    }
    ck_assert(has_op(co, OP_PUSH_EXC_INFO));
    ck_assert(has_op(co, OP_CHECK_EXC_MATCH));
    ck_assert(has_op(co, OP_RERAISE));
    co = compile_ok("with a as b:\n    pass\n");
    ck_assert(has_op(co, OP_BEFORE_WITH));
    ck_assert(has_op(co, OP_WITH_EXCEPT_START));
}
END_TEST

START_TEST(test_line_table) {
    CodeObject *co = compile_ok("x = 1\n\ny = 2\n");
    ck_assert_uint_ge(co->nlines, 2);
    ck_assert_uint_eq(code_line_of(co, 0), 1);
    ck_assert_uint_eq(code_line_of(co, 2), 3);
}
END_TEST

START_TEST(test_syntax_errors) {
    expect_error("x = 1\nreturn\n", "'return' outside function", 2, 1);
    expect_error("break\n", "'break' outside loop", 1, 1);
    expect_error("while 1:\n  def f():\n    continue\n", "'continue' not properly in loop", 3, 5);
    expect_error("def f(a, a): pass\n", "duplicate argument 'a' in function definition", 1, 10);
    expect_error("def f():\n    nonlocal y\n", "no binding for nonlocal 'y' found", 2, 5);
    expect_error("nonlocal x\n", "nonlocal declaration not allowed at module level", 1, 1);
    expect_error("def f(a):\n    global a\n", "name 'a' is parameter and global", 2, 5);
    expect_error("def f():\n    print(x)\n    global x\n",
                 "name 'x' is used prior to global declaration", 3, 5);
    expect_error("def f():\n  from m import *\n", "import * only allowed at module level", 2, 17);
    expect_error("a, *b, *c = d\n", "multiple starred expressions in assignment", 1, 1);
    expect_error("x = *a\n", "can't use starred expression here", 1, 5);
    expect_error("f(a=1, a=2)\n", "keyword argument repeated: a", 1, 8);
    expect_error("[(i:=1) for i in x]\n",
                 "assignment expression cannot rebind comprehension iteration variable 'i'", 1, 3);
    expect_error("x = 1j\n", "complex numbers are not supported yet", 1, 5);
    expect_error("def f():\n  return [(yield x) for x in y]\n", "'yield' inside list comprehension",
                 2, 12);
    expect_error("def f():\n  return ((yield) for x in y)\n", "'yield' inside generator expression",
                 2, 12);
    expect_error("yield 1\n", "'yield' outside function", 1, 1);
    expect_error("def f():\n  await x\n", "'await' outside async function", 2, 3);
}
END_TEST

START_TEST(test_nested_blocks) {
    char src[4096];
    size_t n = 0;
    for (int i = 0; i < 21; i++) {
        n += (size_t)snprintf(src + n, sizeof src - n, "%*sfor a in b:\n", i, "");
    }
    snprintf(src + n, sizeof src - n, "%*spass\n", 21, "");
    Value v = compile_source(vm, src, strlen(src), "<test>", PARSE_FILE);
    ck_assert(IS_NULL(v));
    ck_assert(vm_err_matches(vm, vm->exc_SyntaxError));
    vm_err_clear(vm);
}
END_TEST

START_TEST(test_eval_mode) {
    Value v = compile_source(vm, "1 + 2", 5, "<test>", PARSE_EVAL);
    ck_assert(!IS_NULL(v));
    CodeObject *co = (CodeObject *)AS_OBJ(v);
    ck_assert_uint_eq(INSTR_OP(co->code[co->ncode - 1]), OP_RETURN_VALUE);
    v = compile_source(vm, "1 + 2\n", 6, "<stdin>", PARSE_SINGLE);
    ck_assert(!IS_NULL(v));
    ck_assert(has_op((CodeObject *)AS_OBJ(v), OP_PRINT_EXPR));
}
END_TEST

START_TEST(test_disassemble) {
    CodeObject *co = compile_ok("def f(x):\n    return x + 1\n");
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    code_disassemble(vm, co, out);
    fclose(out);
    ck_assert_ptr_nonnull(strstr(buf, "MAKE_FUNCTION"));
    ck_assert_ptr_nonnull(strstr(buf, "Disassembly of <code object f"));
    ck_assert_ptr_nonnull(strstr(buf, "LOAD_FAST"));
    free(buf);
}
END_TEST

static Suite *compile_suite(void) {
    Suite *s = suite_create("compile");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_store_name);
    tcase_add_test(tc, test_stacksize);
    tcase_add_test(tc, test_function_locals);
    tcase_add_test(tc, test_docstring);
    tcase_add_test(tc, test_closure);
    tcase_add_test(tc, test_global_nonlocal);
    tcase_add_test(tc, test_class);
    tcase_add_test(tc, test_class_free_var);
    tcase_add_test(tc, test_comprehension);
    tcase_add_test(tc, test_try_tables);
    tcase_add_test(tc, test_line_table);
    tcase_add_test(tc, test_syntax_errors);
    tcase_add_test(tc, test_nested_blocks);
    tcase_add_test(tc, test_eval_mode);
    tcase_add_test(tc, test_disassemble);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(compile_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
