// test_parser.c - Check suite for the compiler front end: lexer tokens and
// positions, INDENT/DEDENT, literals, string escapes, parse modes, the
// REPL's "incomplete" flag and the nesting limits (errors, never crashes).
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "lexer.h"

// Lex src into kinds[]; returns the number of tokens up to and including EOF
// (or -1 on a lexical error).
static int lex_all(const char *src, TokKind *kinds, Token *toks, int max, SyntaxErrorInfo *err) {
    Lexer lx;
    memset(err, 0, sizeof *err);
    lexer_init(&lx, src, strlen(src), err);
    for (int n = 0; n < max; n++) {
        Token t;
        if (!lexer_next(&lx, &t)) return -1;
        if (kinds) kinds[n] = t.kind;
        if (toks) toks[n] = t;
        if (t.kind == TK_EOF) return n + 1;
    }
    return max;
}

START_TEST(test_tokens_positions) {
    Token t[16];
    SyntaxErrorInfo err;
    int n = lex_all("x = foo(1, 'a')\n", NULL, t, 16, &err);
    ck_assert_int_eq(n, 10);
    TokKind want[] = {TK_NAME,  TK_EQUAL,  TK_NAME, TK_LPAR,    TK_NUMBER,
                      TK_COMMA, TK_STRING, TK_RPAR, TK_NEWLINE, TK_EOF};
    for (int i = 0; i < 10; i++) ck_assert_int_eq(t[i].kind, want[i]);
    ck_assert_int_eq(t[2].line, 1);
    ck_assert_int_eq(t[2].col, 4);
    ck_assert_int_eq(t[2].end_col, 7);
    ck_assert_int_eq(t[6].col, 11);
    ck_assert_int_eq(t[6].len, 3);
}
END_TEST

START_TEST(test_operators) {
    TokKind k[32];
    SyntaxErrorInfo err;
    int n = lex_all(":= -> **= //= @= ... != <= >= << >>= ** //\n", k, NULL, 32, &err);
    TokKind want[] = {
        TK_COLONEQUAL,      TK_RARROW,     TK_DOUBLESTAREQUAL, TK_DOUBLESLASHEQUAL, TK_ATEQUAL,
        TK_ELLIPSIS,        TK_NOTEQUAL,   TK_LESSEQUAL,       TK_GREATEREQUAL,     TK_LEFTSHIFT,
        TK_RIGHTSHIFTEQUAL, TK_DOUBLESTAR, TK_DOUBLESLASH,     TK_NEWLINE,          TK_EOF};
    ck_assert_int_eq(n, 15);
    for (int i = 0; i < n; i++) ck_assert_int_eq(k[i], want[i]);
}
END_TEST

START_TEST(test_indent_dedent) {
    TokKind k[64];
    SyntaxErrorInfo err;
    int n = lex_all("if a:\n    if b:\n\n        c\n  # comment\nd\n", k, NULL, 64, &err);
    TokKind want[] = {TK_IF,     TK_NAME,   TK_COLON,   TK_NEWLINE, TK_INDENT, TK_IF,
                      TK_NAME,   TK_COLON,  TK_NEWLINE, TK_INDENT,  TK_NAME,   TK_NEWLINE,
                      TK_DEDENT, TK_DEDENT, TK_NAME,    TK_NEWLINE, TK_EOF};
    ck_assert_int_eq(n, (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < n; i++) ck_assert_int_eq(k[i], want[i]);
}
END_TEST

START_TEST(test_implicit_joining_and_continuation) {
    TokKind k[64];
    SyntaxErrorInfo err;
    int n = lex_all("x = (1,\n     2)\ny = 1 + \\\n  2", k, NULL, 64, &err);
    TokKind want[] = {TK_NAME,   TK_EQUAL, TK_LPAR,    TK_NUMBER,  TK_COMMA,
                      TK_NUMBER, TK_RPAR,  TK_NEWLINE, TK_NAME,    TK_EQUAL,
                      TK_NUMBER, TK_PLUS,  TK_NUMBER,  TK_NEWLINE, TK_EOF};
    ck_assert_int_eq(n, (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < n; i++) ck_assert_int_eq(k[i], want[i]);
}
END_TEST

START_TEST(test_tab_error) {
    SyntaxErrorInfo err;
    ck_assert_int_eq(lex_all("if 1:\n        a\n\tb\n", NULL, NULL, 64, &err), -1);
    ck_assert_int_eq(err.kind, SYNERR_TAB);
    ck_assert_str_eq(err.msg, "inconsistent use of tabs and spaces in indentation");
}
END_TEST

START_TEST(test_number_errors) {
    SyntaxErrorInfo err;
    ck_assert_int_eq(lex_all("0777\n", NULL, NULL, 8, &err), -1);
    ck_assert_str_eq(err.msg, "leading zeros in decimal integer literals are not permitted; "
                              "use an 0o prefix for octal integers");
    ck_assert_int_eq(lex_all("1__0\n", NULL, NULL, 8, &err), -1);
    ck_assert_str_eq(err.msg, "invalid decimal literal");
    ck_assert_int_eq(lex_all("0b12\n", NULL, NULL, 8, &err), -1);
    ck_assert_str_eq(err.msg, "invalid digit '2' in binary literal");
    ck_assert_int_eq(lex_all("0x_\n", NULL, NULL, 8, &err), -1);
    ck_assert_str_eq(err.msg, "invalid hexadecimal literal");
    ck_assert_int_gt(lex_all("1if x else 2\n", NULL, NULL, 16, &err), 0);
}
END_TEST

// Parse one expression statement and return its value.
static Expr *parse_expr(Arena *a, const char *src, SyntaxErrorInfo *err) {
    Module *m = parse_source(a, src, strlen(src), PARSE_FILE, err);
    if (!m || m->body.len != 1 || m->body.items[0]->kind != S_EXPR) return NULL;
    return m->body.items[0]->v.expr.value;
}

START_TEST(test_number_values) {
    Arena *a = arena_new();
    SyntaxErrorInfo err;
    Expr *e = parse_expr(a, "0x_FF", &err);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->v.constant.kind, CONST_INT);
    ck_assert_int_eq(e->v.constant.i, 255);
    e = parse_expr(a, "9223372036854775807", &err);
    ck_assert_int_eq(e->v.constant.kind, CONST_INT);
    ck_assert(e->v.constant.i == INT64_MAX);
    e = parse_expr(a, "9_223_372_036_854_775_808", &err);
    ck_assert_int_eq(e->v.constant.kind, CONST_BIGINT);
    ck_assert_str_eq(e->v.constant.text, "9223372036854775808");
    e = parse_expr(a, "0x1_0000_0000_0000_0000", &err);
    ck_assert_int_eq(e->v.constant.kind, CONST_BIGINT);
    ck_assert_str_eq(e->v.constant.text, "0x10000000000000000");
    e = parse_expr(a, "1_0.5e-1_0", &err);
    ck_assert_int_eq(e->v.constant.kind, CONST_FLOAT);
    ck_assert(e->v.constant.f == 10.5e-10);
    e = parse_expr(a, "2.5j", &err);
    ck_assert_int_eq(e->v.constant.kind, CONST_COMPLEX);
    ck_assert(e->v.constant.f == 2.5);
    arena_free(a);
}
END_TEST

START_TEST(test_string_escapes) {
    Arena *a = arena_new();
    SyntaxErrorInfo err;
    Expr *e = parse_expr(a, "'a\\n\\t\\x41\\u00e9\\U0001F600\\101\\0z' 'q'", &err);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->v.constant.kind, CONST_STR);
    const char want[] = "a\n\tA\xC3\xA9\xF0\x9F\x98\x80"
                        "A\0zq";
    ck_assert_uint_eq(e->v.constant.len, sizeof want - 1);
    ck_assert(memcmp(e->v.constant.text, want, sizeof want - 1) == 0);
    e = parse_expr(a, "b'\\xff\\x00' rb'\\n'", &err);
    ck_assert_int_eq(e->v.constant.kind, CONST_BYTES);
    ck_assert_uint_eq(e->v.constant.len, 4);
    ck_assert(memcmp(e->v.constant.text, "\xff\0\\n", 4) == 0);
    ck_assert_ptr_null(parse_expr(a, "b'a' 'b'", &err));
    ck_assert_str_eq(err.msg, "cannot mix bytes and nonbytes literals");
    ck_assert_ptr_null(parse_expr(a, "'abc", &err));
    ck_assert_str_eq(err.msg, "unterminated string literal (detected at line 1)");
    arena_free(a);
}
END_TEST

START_TEST(test_fstring_parts) {
    Arena *a = arena_new();
    SyntaxErrorInfo err;
    Expr *e = parse_expr(a, "f'a{x!r:>{w}}b{y=}'", &err);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->kind, E_JOINEDSTR);
    ck_assert_int_eq(e->v.joinedstr.values.len, 4);
    Expr *fv = e->v.joinedstr.values.items[1];
    ck_assert_int_eq(fv->kind, E_FORMATTEDVALUE);
    ck_assert_int_eq(fv->v.formatted.conversion, 'r');
    ck_assert_ptr_nonnull(fv->v.formatted.format_spec);
    Expr *dbg = e->v.joinedstr.values.items[2];
    ck_assert_str_eq(dbg->v.constant.text, "by=");
    ck_assert_ptr_null(parse_expr(a, "f'{x'", &err));
    ck_assert_str_eq(err.msg, "f-string: expecting '}'");
    arena_free(a);
}
END_TEST

START_TEST(test_modes) {
    Arena *a = arena_new();
    SyntaxErrorInfo err;
    Module *m = parse_source(a, "1 + 2", 5, PARSE_EVAL, &err);
    ck_assert_ptr_nonnull(m);
    char *s = ast_dump(m, PARSE_EVAL);
    ck_assert_str_eq(s, "Expression(body=BinOp(left=Constant(value=1), op=Add(), "
                        "right=Constant(value=2)))");
    free(s);
    m = parse_source(a, "x = 1; y\n", 9, PARSE_SINGLE, &err);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->body.len, 2);
    ck_assert_ptr_null(parse_source(a, "x = 1\ny = 2\n", 12, PARSE_SINGLE, &err));
    ck_assert_str_eq(err.msg, "multiple statements found while compiling a single statement");
    ck_assert_ptr_null(parse_source(a, "x = 1", 5, PARSE_EVAL, &err));
    arena_free(a);
}
END_TEST

START_TEST(test_incomplete) {
    Arena *a = arena_new();
    SyntaxErrorInfo err;
    const char *open_inputs[] = {"foo(1,\n", "if x:\n", "s = '''abc\n", "x = 1 + \\\n",
                                 "def f():\n"};
    for (size_t i = 0; i < sizeof open_inputs / sizeof open_inputs[0]; i++) {
        ck_assert_ptr_null(
            parse_source(a, open_inputs[i], strlen(open_inputs[i]), PARSE_SINGLE, &err));
        ck_assert_msg(err.incomplete, "not incomplete: %s (%s)", open_inputs[i], err.msg);
    }
    ck_assert_ptr_null(parse_source(a, "x = )\n", 6, PARSE_SINGLE, &err));
    ck_assert(!err.incomplete);
    arena_free(a);
}
END_TEST

START_TEST(test_match_soft_keyword) {
    Arena *a = arena_new();
    SyntaxErrorInfo err;
    const char *ok = "match = 1\nmatch(x)\nmatch[0] = 2\nprint(match)\n";
    ck_assert_ptr_nonnull(parse_source(a, ok, strlen(ok), PARSE_FILE, &err));
    const char *m = "match x:\n    case 1:\n        pass\n";
    ck_assert_ptr_null(parse_source(a, m, strlen(m), PARSE_FILE, &err));
    ck_assert_str_eq(err.msg, "'match' statements are not supported yet");
    arena_free(a);
}
END_TEST

// Deep nesting of every kind ends in an error, never a crash.
static void check_deep(const char *prefix, const char *unit, int n, const char *suffix,
                       const char *want) {
    size_t ul = strlen(unit), pl = strlen(prefix), sl = strlen(suffix);
    char *src = malloc(pl + ul * (size_t)n + sl + 1);
    memcpy(src, prefix, pl);
    for (int i = 0; i < n; i++) memcpy(src + pl + ul * (size_t)i, unit, ul);
    memcpy(src + pl + ul * (size_t)n, suffix, sl + 1);
    Arena *a = arena_new();
    SyntaxErrorInfo err;
    Module *m = parse_source(a, src, strlen(src), PARSE_FILE, &err);
    ck_assert_msg(m == NULL, "deep '%s' parsed", unit);
    ck_assert_str_eq(err.msg, want);
    arena_free(a);
    free(src);
}

START_TEST(test_limits) {
    const char *deep = "too complex to parse (nesting too deep)";
    check_deep("x = ", "-", 100000, "1\n", deep);
    check_deep("x = ", "not ", 100000, "x\n", deep);
    check_deep("x = ", "2**", 100000, "1\n", deep);
    check_deep("x = ", "lambda:", 100000, "1\n", deep);
    check_deep("x = a", ".b", 100000, "\n", deep);
    check_deep("x = a", "[0]", 100000, "\n", deep);
    check_deep("x = a", "()", 100000, "\n", deep);
    check_deep("x = 1", "+1", 100000, "\n", deep);
    check_deep("x = ", "(", 201, "\n", "too many nested parentheses");
    check_deep("x = ", "[", 100000, "\n", "too many nested parentheses");
    check_deep("x = ", "f'{", 10, "\n", "f-string: expecting '}'");
}
END_TEST

START_TEST(test_indent_limit) {
    size_t cap = 200 * 210, len = 0;
    char *src = malloc(cap);
    for (int i = 0; i < 101; i++) {
        memset(src + len, ' ', (size_t)i);
        len += (size_t)i;
        memcpy(src + len, "if 1:\n", 6);
        len += 6;
    }
    memset(src + len, ' ', 101);
    len += 101;
    memcpy(src + len, "pass\n", 5);
    len += 5;
    Arena *a = arena_new();
    SyntaxErrorInfo err;
    ck_assert_ptr_null(parse_source(a, src, len, PARSE_FILE, &err));
    ck_assert_int_eq(err.kind, SYNERR_INDENT);
    ck_assert_str_eq(err.msg, "too many levels of indentation");
    arena_free(a);
    free(src);
}
END_TEST

START_TEST(test_huge_literal_and_bad_bytes) {
    size_t n = 100000;
    char *src = malloc(n + 8);
    memcpy(src, "x = ", 4);
    memset(src + 4, '7', n);
    memcpy(src + 4 + n, "\n", 2);
    Arena *a = arena_new();
    SyntaxErrorInfo err;
    Module *m = parse_source(a, src, strlen(src), PARSE_FILE, &err);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->body.items[0]->v.assign.value->v.constant.kind, CONST_BIGINT);
    ck_assert_uint_eq(m->body.items[0]->v.assign.value->v.constant.len, n);
    ck_assert_ptr_null(parse_source(a, "x = 1\n\xff\n", 8, PARSE_FILE, &err));
    ck_assert_str_eq(err.msg, "(unicode error) 'utf-8' codec can't decode byte 0xff in "
                              "position 0: invalid start byte");
    ck_assert_int_eq(err.line, 2);
    ck_assert_ptr_null(parse_source(a, "x = 1\0", 6, PARSE_FILE, &err));
    ck_assert_str_eq(err.msg, "source code cannot contain null bytes");
    arena_free(a);
    free(src);
}
END_TEST

static Suite *parser_suite(void) {
    Suite *s = suite_create("parser");
    TCase *lex = tcase_create("lexer");
    tcase_add_test(lex, test_tokens_positions);
    tcase_add_test(lex, test_operators);
    tcase_add_test(lex, test_indent_dedent);
    tcase_add_test(lex, test_implicit_joining_and_continuation);
    tcase_add_test(lex, test_tab_error);
    tcase_add_test(lex, test_number_errors);
    suite_add_tcase(s, lex);
    TCase *lit = tcase_create("literals");
    tcase_add_test(lit, test_number_values);
    tcase_add_test(lit, test_string_escapes);
    tcase_add_test(lit, test_fstring_parts);
    suite_add_tcase(s, lit);
    TCase *parse = tcase_create("parse");
    tcase_add_test(parse, test_modes);
    tcase_add_test(parse, test_incomplete);
    tcase_add_test(parse, test_match_soft_keyword);
    suite_add_tcase(s, parse);
    TCase *lim = tcase_create("limits");
    tcase_set_timeout(lim, 60);
    tcase_add_test(lim, test_limits);
    tcase_add_test(lim, test_indent_limit);
    tcase_add_test(lim, test_huge_literal_and_bad_bytes);
    suite_add_tcase(s, lim);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(parser_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
