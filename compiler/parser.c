// parser.c - tokens -> AST, by hand-written recursive descent.
//
// Follows CPython 3.11's grammar (Grammar/python.gram) rule by rule where it
// matters for the tree's shape; binary operators use precedence climbing.
// Errors reproduce the messages and locations of CPython's "invalid_*"
// rules for the common mistakes. Every recursive entry point goes through
// enter(), so no input can overflow the C stack.
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "lexer.h"

// Deeper than any real program; CPython itself gives up (MemoryError or
// RecursionError) well before inputs get this deep.
enum { MAX_DEPTH = 2500, MAX_FSTRING_NESTING = 2 };

typedef struct Parser {
    Arena *arena;
    Lexer *lx;
    Token *toks;
    int32_t ntoks, cap, pos;
    SyntaxErrorInfo *err;
    bool failed;
    bool lex_failed;  // the error came from the lexer
    Token failed_tok; // returned by peeks once the lexer has failed: kind TK_COUNT matches nothing
    int32_t depth;
    int32_t chain_depth;     // the part of depth that comes from left-nested chains
    int32_t fstring_level;   // > 0 while parsing an f-string replacement field
    const Token *str_err_at; // set while decoding literals: errors point here (as CPython)
    ParseMode mode;
} Parser;

// ---------------------------------------------------------------------------
// Token access

static Token *peek_at(Parser *p, int32_t k) {
    while (p->pos + k >= p->ntoks) {
        if (p->failed) return &p->failed_tok;
        if (p->ntoks == p->cap) {
            int32_t ncap = p->cap ? p->cap * 2 : 256;
            Token *t = realloc(p->toks, (size_t)ncap * sizeof(Token));
            if (!t) {
                lexer_error(p->err, SYNERR_SYNTAX, 0, 0, 0, 0, "out of memory while parsing");
                p->failed = true;
                return &p->failed_tok;
            }
            p->toks = t;
            p->cap = ncap;
        }
        if (!lexer_next(p->lx, &p->toks[p->ntoks])) {
            p->failed = true;
            p->lex_failed = true;
            return &p->failed_tok;
        }
        p->ntoks++;
    }
    return &p->toks[p->pos + k];
}

static inline Token *cur(Parser *p) { return peek_at(p, 0); }
static inline TokKind kind(Parser *p) { return peek_at(p, 0)->kind; }
static inline TokKind kind_at(Parser *p, int32_t k) { return peek_at(p, k)->kind; }

static Token advance(Parser *p) {
    Token t = *cur(p);
    if (t.kind != TK_COUNT && t.kind != TK_EOF) p->pos++;
    return t;
}

static bool accept(Parser *p, TokKind k) {
    if (kind(p) != k) return false;
    p->pos++;
    return true;
}

static Token prev(Parser *p) { return p->pos > 0 ? p->toks[p->pos - 1] : *cur(p); }

static bool is_name(Parser *p, int32_t k, const char *s) {
    Token *t = peek_at(p, k);
    return t->kind == TK_NAME && (size_t)t->len == strlen(s) &&
           memcmp(t->start, s, (size_t)t->len) == 0;
}

// ---------------------------------------------------------------------------
// Errors

static void *verror(Parser *p, SyntaxErrorKind k, int32_t line, int32_t col, int32_t eline,
                    int32_t ecol, const char *fmt, va_list ap) {
    if (!p->failed && !p->err->msg[0]) {
        char msg[256];
        vsnprintf(msg, sizeof msg, fmt, ap);
        if (p->fstring_level > 0 && strncmp(msg, "f-string", 8) != 0) {
            lexer_error(p->err, k, line, col, eline, ecol, "f-string: %s", msg);
        } else {
            lexer_error(p->err, k, line, col, eline, ecol, "%s", msg);
        }
    }
    p->failed = true;
    return NULL;
}

__attribute__((format(printf, 3, 4))) static void *error_tok(Parser *p, const Token *t,
                                                             const char *fmt, ...) {
    if (p->str_err_at) t = p->str_err_at;
    va_list ap;
    va_start(ap, fmt);
    verror(p, SYNERR_SYNTAX, t->line, t->col + 1, t->end_line, t->end_col + 1, fmt, ap);
    va_end(ap);
    return NULL;
}

__attribute__((format(printf, 4, 5))) static void *error_range(Parser *p, Pos a, Pos b,
                                                               const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verror(p, SYNERR_SYNTAX, a.line, a.col + 1, b.end_line, b.end_col + 1, fmt, ap);
    va_end(ap);
    return NULL;
}

#define error_node(p, e, ...) error_range(p, (e)->pos, (e)->pos, __VA_ARGS__)

static void *error_indent(Parser *p, const Token *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    // CPython's INDENT/DEDENT tokens have no column; it reports the
    // indentation width instead (no +1).
    int32_t c = t->kind == TK_INDENT || t->kind == TK_DEDENT ? t->col : t->col + 1;
    verror(p, SYNERR_INDENT, t->line, c, t->end_line, t->end_col + 1, fmt, ap);
    va_end(ap);
    return NULL;
}

// The generic error at the current token, with CPython's special cases:
// EOF inside brackets, stray INDENT/DEDENT, and lexical errors later in the
// file (CPython tokenizes the rest of the source and prefers those).
static void *invalid_syntax(Parser *p) {
    if (p->failed) return NULL;
    Token t = *cur(p);
    if (p->failed) return NULL;
    Lexer *lx = p->lx;
    if (t.kind == TK_EOF || (t.kind == TK_NEWLINE && t.len == 0)) {
        if (lx->level > 0 && !lx->sub) {
            int32_t i = lx->level - 1;
            lexer_error(p->err, SYNERR_SYNTAX, lx->paren_line[i], lx->paren_col[i] + 1,
                        lx->paren_line[i], 0, "'%c' was never closed", lx->paren[i]);
            p->err->incomplete = true;
            p->failed = true;
            return NULL;
        }
    }
    if (t.kind == TK_INDENT) return error_indent(p, &t, "unexpected indent");
    if (t.kind == TK_DEDENT) return error_indent(p, &t, "unexpected unindent");
    return error_tok(p, &t, "invalid syntax");
}

// After a parser error CPython tokenizes the rest of the source: a lexical
// error anywhere later wins, and so does a bracket left open at the end
// when it was opened before the error's line (or right before the end).
static void recheck_tail(Parser *p, Lexer *lx) {
    if (p->lex_failed || !p->err->msg[0] || strncmp(p->err->msg, "too complex", 11) == 0 ||
        strncmp(p->err->msg, "out of memory", 13) == 0 ||
        strncmp(p->err->msg, "unexpected indent", 17) == 0 ||
        strncmp(p->err->msg, "unexpected unindent", 19) == 0)
        return;
    SyntaxErrorInfo saved = *p->err;
    p->err->msg[0] = '\0';
    Token scratch;
    int32_t more = 0;
    while (lexer_next(lx, &scratch) && scratch.kind != TK_EOF) {
        if (scratch.kind != TK_NEWLINE && scratch.kind != TK_DEDENT) more++;
    }
    if (p->err->msg[0]) {
        // Only errors CPython's tokenizer raises as exceptions win;
        // indentation and line-continuation errors end the scan quietly.
        if (p->err->kind == SYNERR_SYNTAX &&
            strncmp(p->err->msg, "unexpected character after line", 31) != 0 &&
            strncmp(p->err->msg, "unexpected EOF", 14) != 0)
            return;
        *p->err = saved;
        return;
    }
    *p->err = saved;
    if (lx->level > 0 && (saved.line > lx->paren_line[lx->level - 1] || more == 0)) {
        int32_t i = lx->level - 1;
        p->err->msg[0] = '\0';
        lexer_error(p->err, SYNERR_SYNTAX, lx->paren_line[i], lx->paren_col[i] + 1,
                    lx->paren_line[i], 0, "'%c' was never closed", lx->paren[i]);
        p->err->incomplete = true;
    }
}

static bool expect(Parser *p, TokKind k) {
    if (accept(p, k)) return true;
    invalid_syntax(p);
    return false;
}

static bool expect_colon(Parser *p) {
    if (accept(p, TK_COLON)) return true;
    if (p->failed) return false;
    // CPython's invalid_*_stmt rules say "expected ':'" only at the line's end.
    if (kind(p) != TK_NEWLINE) {
        invalid_syntax(p);
        return false;
    }
    Token t = *cur(p);
    error_tok(p, &t, "expected ':'");
    return false;
}

// Count one level of tree depth; past MAX_DEPTH the source is rejected with
// the error CPython gives for the same shape (see SyntaxErrorKind).
static bool enter(Parser *p) {
    if (++p->depth > MAX_DEPTH) {
        if (!p->failed) {
            Token t = *cur(p);
            error_tok(p, &t, "too complex to parse (nesting too deep)");
            p->err->kind = p->chain_depth > MAX_DEPTH / 2 ? SYNERR_RECURSION : SYNERR_MEMORY;
        }
        return false;
    }
    return true;
}

// Left-nested chains (trailers, binary operators); the caller undoes both
// counters when the chain ends.
static bool enter_chain(Parser *p) {
    p->chain_depth++;
    return enter(p);
}

static inline void leave(Parser *p) { p->depth--; }

// ---------------------------------------------------------------------------
// Node construction

static void *alloc(Parser *p, size_t n) {
    void *m = arena_alloc(p->arena, n);
    if (!m && !p->failed) {
        lexer_error(p->err, SYNERR_SYNTAX, 0, 0, 0, 0, "out of memory while parsing");
        p->failed = true;
    }
    return m;
}

static Pos tok_pos(const Token *t) { return (Pos){t->line, t->col, t->end_line, t->end_col}; }

// From the start of a to the end of the last token consumed: this takes
// in the closing parenthesis of a parenthesized operand, as CPython does.
static Pos upto(Parser *p, Pos a) {
    const Token *last = p->pos > 0 ? &p->toks[p->pos - 1] : NULL;
    if (!last) return a;
    return (Pos){a.line, a.col, last->end_line, last->end_col};
}

static Pos span(Pos a, Pos b) { return (Pos){a.line, a.col, b.end_line, b.end_col}; }

static Expr *new_expr(Parser *p, ExprKind k, Pos pos) {
    Expr *e = alloc(p, sizeof(Expr));
    if (e) {
        e->kind = k;
        e->pos = pos;
    }
    return e;
}

static Stmt *new_stmt(Parser *p, StmtKind k, Pos pos) {
    Stmt *s = alloc(p, sizeof(Stmt));
    if (s) {
        s->kind = k;
        s->pos = pos;
    }
    return s;
}

static char *tok_str(Parser *p, const Token *t) {
    char *s = arena_strndup(p->arena, t->start, (size_t)t->len);
    if (!s) alloc(p, (size_t)-1 / 2); // records the out-of-memory error
    return s;
}

// Growable arrays built in malloc'ed scratch, then copied to the arena.
typedef struct Vec {
    void **items;
    int32_t len, cap;
} Vec;

static bool vec_push(Parser *p, Vec *v, void *x) {
    if (v->len == v->cap) {
        int32_t ncap = v->cap ? v->cap * 2 : 8;
        void **n = realloc(v->items, (size_t)ncap * sizeof(void *));
        if (!n) {
            lexer_error(p->err, SYNERR_SYNTAX, 0, 0, 0, 0, "out of memory while parsing");
            p->failed = true;
            return false;
        }
        v->items = n;
        v->cap = ncap;
    }
    v->items[v->len++] = x;
    return true;
}

static void vec_free(Vec *v) {
    free(v->items);
    v->items = NULL;
    v->len = v->cap = 0;
}

// Moves the vector's contents into the arena (and frees the scratch).
static void **vec_finish(Parser *p, Vec *v) {
    void **out = NULL;
    if (v->len) {
        out = alloc(p, (size_t)v->len * sizeof(void *));
        if (out) memcpy(out, v->items, (size_t)v->len * sizeof(void *));
    }
    free(v->items);
    v->items = NULL;
    return out;
}

static ExprList expr_list(Parser *p, Vec *v) {
    ExprList l = {0};
    l.len = v->len;
    l.items = (Expr **)vec_finish(p, v);
    return l;
}

static StmtList stmt_list(Parser *p, Vec *v) {
    StmtList l = {0};
    l.len = v->len;
    l.items = (Stmt **)vec_finish(p, v);
    return l;
}

// ---------------------------------------------------------------------------
// Targets: ctx and the "cannot assign to ..." family

static const char *expr_name(const Expr *e) {
    switch (e->kind) {
    case E_ATTRIBUTE: return "attribute";
    case E_SUBSCRIPT: return "subscript";
    case E_STARRED: return "starred";
    case E_NAME: return "name";
    case E_LIST: return "list";
    case E_TUPLE: return "tuple";
    case E_LAMBDA: return "lambda";
    case E_CALL: return "function call";
    case E_BOOLOP:
    case E_BINOP:
    case E_UNARYOP: return "expression";
    case E_GENERATOREXP: return "generator expression";
    case E_YIELD:
    case E_YIELDFROM: return "yield expression";
    case E_AWAIT: return "await expression";
    case E_LISTCOMP: return "list comprehension";
    case E_SETCOMP: return "set comprehension";
    case E_DICTCOMP: return "dict comprehension";
    case E_DICT: return "dict literal";
    case E_SET: return "set display";
    case E_JOINEDSTR:
    case E_FORMATTEDVALUE: return "f-string expression";
    case E_CONSTANT:
        switch (e->v.constant.kind) {
        case CONST_NONE: return "None";
        case CONST_TRUE: return "True";
        case CONST_FALSE: return "False";
        case CONST_ELLIPSIS: return "ellipsis";
        default: return "literal";
        }
    case E_COMPARE: return "comparison";
    case E_IFEXP: return "conditional expression";
    case E_NAMEDEXPR: return "named expression";
    default: return "expression";
    }
}

// Sets ctx on a target tree; returns the first node that cannot be a
// target, or NULL when all is well. Depth is bounded by the parser's.
static Expr *set_context(Expr *e, ExprContext ctx) {
    switch (e->kind) {
    case E_NAME: e->v.name.ctx = ctx; return NULL;
    case E_ATTRIBUTE: e->v.attribute.ctx = ctx; return NULL;
    case E_SUBSCRIPT: e->v.subscript.ctx = ctx; return NULL;
    case E_STARRED:
        if (ctx == CTX_DEL) return e;
        e->v.starred.ctx = ctx;
        return set_context(e->v.starred.value, ctx);
    case E_LIST:
    case E_TUPLE:
        for (int32_t i = 0; i < e->v.list.elts.len; i++) {
            Expr *bad = set_context(e->v.list.elts.items[i], ctx);
            if (bad) return bad;
        }
        e->v.list.ctx = ctx;
        return NULL;
    default: return e;
    }
}

static bool check_target(Parser *p, Expr *e, ExprContext ctx) {
    Expr *bad = set_context(e, ctx);
    if (!bad) return true;
    if (ctx == CTX_DEL)
        error_node(p, bad, "cannot delete %s", expr_name(bad));
    else
        error_node(p, bad, "cannot assign to %s", expr_name(bad));
    return false;
}

// ---------------------------------------------------------------------------
// Expressions

static Expr *parse_expression(Parser *p);
static Expr *parse_named_expression(Parser *p);
static Expr *parse_star_expressions(Parser *p);
static Expr *parse_disjunction(Parser *p);
static Expr *parse_binary(Parser *p, int level);
static Expr *parse_yield(Parser *p);
static Expr *parse_primary(Parser *p);
static Expr *parse_strings(Parser *p);
static bool parse_comprehensions(Parser *p, Comprehension **out, int32_t *n);
static Arguments *parse_parameters(Parser *p, bool lambda, TokKind close);

static bool starts_expression(TokKind k) {
    switch (k) {
    case TK_NAME:
    case TK_NUMBER:
    case TK_STRING:
    case TK_LPAR:
    case TK_LSQB:
    case TK_LBRACE:
    case TK_MINUS:
    case TK_PLUS:
    case TK_TILDE:
    case TK_NOT:
    case TK_LAMBDA:
    case TK_AWAIT:
    case TK_NONE:
    case TK_TRUE:
    case TK_FALSE:
    case TK_ELLIPSIS: return true;
    default: return false;
    }
}

// Inside brackets, `a b` is most likely a missing comma.
static void *maybe_missing_comma(Parser *p, Expr *a) {
    if (p->failed) return NULL;
    // CPython asks whether the second expression sits inside brackets.
    Token *next = cur(p);
    int32_t level = next->level;
    if (next->kind == TK_LPAR || next->kind == TK_LSQB || next->kind == TK_LBRACE) level--;
    if ((level > 0 || p->lx->sub) && starts_expression(kind(p)) && kind(p) != TK_NOT &&
        kind(p) != TK_LAMBDA && a->kind != E_STARRED) {
        Token t = *cur(p);
        return error_range(p, a->pos, tok_pos(&t), "invalid syntax. Perhaps you forgot a comma?");
    }
    return NULL;
}

static Expr *make_name(Parser *p, const Token *t, ExprContext ctx) {
    Expr *e = new_expr(p, E_NAME, tok_pos(t));
    if (!e) return NULL;
    e->v.name.id = tok_str(p, t);
    e->v.name.ctx = ctx;
    return e->v.name.id ? e : NULL;
}

static Expr *make_const(Parser *p, ConstKind k, const Token *t) {
    Expr *e = new_expr(p, E_CONSTANT, tok_pos(t));
    if (e) e->v.constant.kind = k;
    return e;
}

static Expr *parse_number(Parser *p) {
    Token t = advance(p);
    Expr *e = make_const(p, CONST_INT, &t);
    if (!e) return NULL;
    char *s = alloc(p, (size_t)t.len + 1);
    if (!s) return NULL;
    size_t n = 0;
    for (int32_t i = 0; i < t.len; i++)
        if (t.start[i] != '_') s[n++] = t.start[i];
    s[n] = '\0';
    Constant *c = &e->v.constant;
    bool prefixed = n > 1 && s[0] == '0' &&
                    ((s[1] | 0x20) == 'x' || (s[1] | 0x20) == 'o' || (s[1] | 0x20) == 'b');
    if ((s[n - 1] | 0x20) == 'j') {
        s[n - 1] = '\0';
        c->kind = CONST_COMPLEX;
        c->f = strtod(s, NULL);
        return e;
    }
    if (!prefixed && (strchr(s, '.') || strchr(s, 'e') || strchr(s, 'E'))) {
        c->kind = CONST_FLOAT;
        c->f = strtod(s, NULL);
        return e;
    }
    int base = 10;
    const char *d = s;
    if (prefixed) {
        char x = s[1] | 0x20;
        base = x == 'x' ? 16 : x == 'o' ? 8 : 2;
        d = s + 2;
    }
    uint64_t v = 0;
    bool big = false;
    for (; *d; d++) {
        int dv = *d <= '9' ? *d - '0' : (*d | 0x20) - 'a' + 10;
        if (v > (UINT64_C(0x7fffffffffffffff) - (uint64_t)dv) / (uint64_t)base) {
            big = true;
            break;
        }
        v = v * (uint64_t)base + (uint64_t)dv;
    }
    if (big) {
        c->kind = CONST_BIGINT;
        c->text = s;
        c->len = n;
    } else {
        c->i = (int64_t)v;
    }
    return e;
}

static Expr *parse_atom(Parser *p);

// '(' ... ')': group, tuple, generator expression or yield.
static Expr *parse_paren(Parser *p) {
    Token open = advance(p);
    if (kind(p) == TK_RPAR) {
        Token close = advance(p);
        Expr *e = new_expr(p, E_TUPLE, span(tok_pos(&open), tok_pos(&close)));
        if (e) e->v.list.ctx = CTX_LOAD;
        return e;
    }
    if (kind(p) == TK_YIELD) {
        Expr *y = parse_yield(p);
        if (!y) return NULL;
        if (!expect(p, TK_RPAR)) return NULL;
        return y;
    }
    Expr *first;
    if (kind(p) == TK_STAR) {
        Token st = advance(p);
        Expr *v = parse_binary(p, 1);
        if (!v) return NULL;
        first = new_expr(p, E_STARRED, upto(p, tok_pos(&st)));
        if (!first) return NULL;
        first->v.starred.value = v;
    } else {
        first = parse_named_expression(p);
    }
    if (!first) return NULL;
    if (kind(p) == TK_FOR || kind(p) == TK_ASYNC) {
        Expr *g = new_expr(p, E_GENERATOREXP, tok_pos(&open));
        if (!g) return NULL;
        g->v.comp.elt = first;
        if (!parse_comprehensions(p, &g->v.comp.generators, &g->v.comp.ngenerators)) return NULL;
        Token close = *cur(p);
        if (!expect(p, TK_RPAR)) return NULL;
        g->pos = span(tok_pos(&open), tok_pos(&close));
        return g;
    }
    if (kind(p) == TK_RPAR) {
        advance(p);
        if (first->kind == E_STARRED) {
            return error_node(p, first, "cannot use starred expression here");
        }
        return first;
    }
    if (kind(p) != TK_COMMA) {
        if (maybe_missing_comma(p, first) || p->failed) return NULL;
        return invalid_syntax(p);
    }
    Vec v = {0};
    if (!vec_push(p, &v, first)) return NULL;
    while (accept(p, TK_COMMA)) {
        if (kind(p) == TK_RPAR) break;
        Expr *x;
        if (kind(p) == TK_STAR) {
            Token st = advance(p);
            Expr *val = parse_binary(p, 1);
            if (!val) goto fail;
            x = new_expr(p, E_STARRED, upto(p, tok_pos(&st)));
            if (!x) goto fail;
            x->v.starred.value = val;
        } else {
            x = parse_named_expression(p);
        }
        if (!x || !vec_push(p, &v, x)) goto fail;
        if (kind(p) != TK_COMMA && kind(p) != TK_RPAR) {
            maybe_missing_comma(p, x);
            invalid_syntax(p);
            goto fail;
        }
    }
    Token close = *cur(p);
    if (!expect(p, TK_RPAR)) goto fail;
    Expr *t = new_expr(p, E_TUPLE, span(tok_pos(&open), tok_pos(&close)));
    if (!t) goto fail;
    t->v.list.elts = expr_list(p, &v);
    t->v.list.ctx = CTX_LOAD;
    return t;
fail:
    vec_free(&v);
    return NULL;
}

// A list/set display element: '*' bitwise_or or a named expression.
static Expr *parse_star_named(Parser *p) {
    if (kind(p) == TK_STAR) {
        Token st = advance(p);
        Expr *v = parse_binary(p, 1);
        if (!v) return NULL;
        Expr *e = new_expr(p, E_STARRED, upto(p, tok_pos(&st)));
        if (e) e->v.starred.value = v;
        return e;
    }
    return parse_named_expression(p);
}

// Elements up to `close` (after a first element already parsed).
static bool parse_elements(Parser *p, Vec *v, TokKind close) {
    while (kind(p) != close) {
        if (kind(p) != TK_COMMA) {
            if (v->len) maybe_missing_comma(p, v->items[v->len - 1]);
            invalid_syntax(p);
            return false;
        }
        advance(p);
        if (kind(p) == close) break;
        Expr *x = parse_star_named(p);
        if (!x || !vec_push(p, v, x)) return false;
    }
    return true;
}

static Expr *parse_list(Parser *p) {
    Token open = advance(p);
    Vec v = {0};
    Expr *e = NULL;
    if (kind(p) != TK_RSQB) {
        Expr *first = parse_star_named(p);
        if (!first) return NULL;
        if (kind(p) == TK_FOR || kind(p) == TK_ASYNC) {
            e = new_expr(p, E_LISTCOMP, tok_pos(&open));
            if (!e) return NULL;
            e->v.comp.elt = first;
            if (!parse_comprehensions(p, &e->v.comp.generators, &e->v.comp.ngenerators))
                return NULL;
        } else {
            if (!vec_push(p, &v, first) || !parse_elements(p, &v, TK_RSQB)) goto fail;
        }
    }
    Token close = *cur(p);
    if (!expect(p, TK_RSQB)) goto fail;
    if (!e) {
        e = new_expr(p, E_LIST, tok_pos(&open));
        if (!e) goto fail;
        e->v.list.elts = expr_list(p, &v);
        e->v.list.ctx = CTX_LOAD;
    }
    e->pos = span(tok_pos(&open), tok_pos(&close));
    return e;
fail:
    vec_free(&v);
    return NULL;
}

static Expr *parse_brace(Parser *p) {
    Token open = advance(p);
    Vec keys = {0}, vals = {0};
    Expr *e = NULL;
    if (kind(p) == TK_RBRACE) {
        Token close = advance(p);
        e = new_expr(p, E_DICT, span(tok_pos(&open), tok_pos(&close)));
        return e;
    }
    // Decide dict or set by the first element.
    Expr *k1 = NULL, *v1 = NULL;
    bool is_dict;
    if (kind(p) == TK_DOUBLESTAR) {
        advance(p);
        v1 = parse_binary(p, 1);
        if (!v1) return NULL;
        is_dict = true;
    } else {
        k1 = parse_star_named(p);
        if (!k1) return NULL;
        is_dict = kind(p) == TK_COLON;
        if (is_dict) {
            if (k1->kind == E_STARRED) return invalid_syntax(p);
            advance(p);
            v1 = parse_expression(p);
            if (!v1) return NULL;
        }
    }
    if (kind(p) == TK_FOR || kind(p) == TK_ASYNC) {
        if (is_dict && !k1) {
            Token t = *cur(p);
            return error_range(p, v1->pos, tok_pos(&t),
                               "dict unpacking cannot be used in dict comprehension");
        }
        e = new_expr(p, is_dict ? E_DICTCOMP : E_SETCOMP, tok_pos(&open));
        if (!e) return NULL;
        if (is_dict) {
            e->v.comp.key = k1;
            e->v.comp.value = v1;
        } else {
            e->v.comp.elt = k1;
        }
        if (!parse_comprehensions(p, &e->v.comp.generators, &e->v.comp.ngenerators)) return NULL;
        Token close = *cur(p);
        if (!expect(p, TK_RBRACE)) return NULL;
        e->pos = span(tok_pos(&open), tok_pos(&close));
        return e;
    }
    if (!is_dict) {
        if (!vec_push(p, &keys, k1) || !parse_elements(p, &keys, TK_RBRACE)) goto fail;
        Token close = *cur(p);
        if (!expect(p, TK_RBRACE)) goto fail;
        e = new_expr(p, E_SET, span(tok_pos(&open), tok_pos(&close)));
        if (!e) goto fail;
        e->v.set.elts = expr_list(p, &keys);
        return e;
    }
    if (!vec_push(p, &keys, k1) || !vec_push(p, &vals, v1)) goto fail;
    while (kind(p) != TK_RBRACE) {
        if (kind(p) != TK_COMMA) {
            maybe_missing_comma(p, vals.items[vals.len - 1]);
            invalid_syntax(p);
            goto fail;
        }
        advance(p);
        if (kind(p) == TK_RBRACE) break;
        Expr *k = NULL, *v;
        if (accept(p, TK_DOUBLESTAR)) {
            v = parse_binary(p, 1);
        } else {
            k = parse_expression(p);
            if (!k) goto fail;
            if (kind(p) != TK_COLON) {
                if (kind(p) == TK_COMMA || kind(p) == TK_RBRACE) {
                    Token t = *cur(p);
                    error_range(p, k->pos, tok_pos(&t), "':' expected after dictionary key");
                } else {
                    invalid_syntax(p);
                }
                goto fail;
            }
            advance(p);
            v = parse_expression(p);
        }
        if (!v || !vec_push(p, &keys, k) || !vec_push(p, &vals, v)) goto fail;
    }
    Token close = advance(p);
    e = new_expr(p, E_DICT, span(tok_pos(&open), tok_pos(&close)));
    if (!e) goto fail;
    e->v.dict.len = keys.len;
    e->v.dict.keys = (Expr **)vec_finish(p, &keys);
    e->v.dict.values = (Expr **)vec_finish(p, &vals);
    return e;
fail:
    vec_free(&keys);
    vec_free(&vals);
    return NULL;
}

static Expr *parse_atom(Parser *p) {
    Token t = *cur(p);
    switch (t.kind) {
    case TK_NAME: advance(p); return make_name(p, &t, CTX_LOAD);
    case TK_NUMBER: return parse_number(p);
    case TK_STRING: return parse_strings(p);
    case TK_NONE: advance(p); return make_const(p, CONST_NONE, &t);
    case TK_TRUE: advance(p); return make_const(p, CONST_TRUE, &t);
    case TK_FALSE: advance(p); return make_const(p, CONST_FALSE, &t);
    case TK_ELLIPSIS: advance(p); return make_const(p, CONST_ELLIPSIS, &t);
    case TK_LPAR: return parse_paren(p);
    case TK_LSQB: return parse_list(p);
    case TK_LBRACE: return parse_brace(p);
    default: return invalid_syntax(p);
    }
}

// One subscript element: a slice or an expression.
static Expr *parse_slice(Parser *p) {
    Token start = *cur(p);
    Expr *lower = NULL, *upper = NULL, *step = NULL;
    if (kind(p) == TK_STAR) return parse_star_named(p);
    if (kind(p) != TK_COLON) {
        lower = parse_named_expression(p);
        if (!lower) return NULL;
        if (kind(p) != TK_COLON) return lower;
    }
    Token last = advance(p); // ':'
    if (kind(p) != TK_COLON && kind(p) != TK_COMMA && kind(p) != TK_RSQB) {
        upper = parse_expression(p);
        if (!upper) return NULL;
        last = prev(p);
    }
    if (kind(p) == TK_COLON) {
        last = advance(p);
        if (kind(p) != TK_COMMA && kind(p) != TK_RSQB) {
            step = parse_expression(p);
            if (!step) return NULL;
            last = prev(p);
        }
    }
    Expr *e = new_expr(p, E_SLICE, span(tok_pos(&start), tok_pos(&last)));
    if (!e) return NULL;
    e->v.slice.lower = lower;
    e->v.slice.upper = upper;
    e->v.slice.step = step;
    return e;
}

static Expr *parse_subscript(Parser *p) {
    Token open = *cur(p);
    advance(p);
    Pos st0 = tok_pos(cur(p));
    Expr *first = parse_slice(p);
    if (!first) return NULL;
    if (kind(p) != TK_COMMA && first->kind != E_STARRED) {
        if (kind(p) != TK_RSQB) maybe_missing_comma(p, first);
        return first;
    }
    Vec v = {0};
    if (!vec_push(p, &v, first)) return NULL;
    while (accept(p, TK_COMMA)) {
        if (kind(p) == TK_RSQB) break;
        Expr *x = parse_slice(p);
        if (!x || !vec_push(p, &v, x)) goto fail;
    }
    Expr *t = new_expr(p, E_TUPLE, st0);
    if (!t) goto fail;
    t->pos = upto(p, st0);
    (void)open;
    t->v.list.elts = expr_list(p, &v);
    t->v.list.ctx = CTX_LOAD;
    return t;
fail:
    vec_free(&v);
    return NULL;
}

// Call arguments after '('; fills the call node. Ends on ')'.
static bool parse_call_args(Parser *p, Expr *call) {
    Vec args = {0}, kws = {0};
    bool seen_kw = false, seen_dstar = false;
    while (kind(p) != TK_RPAR) {
        Token st = *cur(p);
        if (accept(p, TK_STAR)) {
            Expr *v = parse_expression(p);
            if (!v) goto fail;
            if (seen_dstar) {
                error_range(p, tok_pos(&st), v->pos,
                            "iterable argument unpacking follows keyword argument unpacking");
                goto fail;
            }
            Expr *s = new_expr(p, E_STARRED, upto(p, tok_pos(&st)));
            if (!s) goto fail;
            s->v.starred.value = v;
            if (!vec_push(p, &args, s)) goto fail;
        } else if (accept(p, TK_DOUBLESTAR)) {
            Expr *v = parse_expression(p);
            if (!v) goto fail;
            Keyword *k = alloc(p, sizeof(Keyword));
            if (!k) goto fail;
            k->value = v;
            k->pos = upto(p, tok_pos(&st));
            seen_dstar = true;
            if (!vec_push(p, &kws, k)) goto fail;
        } else if (kind(p) == TK_NAME && kind_at(p, 1) == TK_EQUAL) {
            Token name = advance(p);
            advance(p);
            Expr *v = parse_expression(p);
            if (!v) goto fail;
            Keyword *k = alloc(p, sizeof(Keyword));
            if (!k) goto fail;
            k->arg = tok_str(p, &name);
            k->value = v;
            k->pos = upto(p, tok_pos(&name));
            seen_kw = true;
            if (!vec_push(p, &kws, k)) goto fail;
        } else {
            Expr *a = parse_named_expression(p);
            if (!a) goto fail;
            if (kind(p) == TK_EQUAL) {
                Token t = *cur(p);
                if (a->kind == E_CONSTANT &&
                    (a->v.constant.kind == CONST_TRUE || a->v.constant.kind == CONST_FALSE ||
                     a->v.constant.kind == CONST_NONE)) {
                    error_range(p, a->pos, tok_pos(&t), "cannot assign to %s", expr_name(a));
                } else {
                    error_range(p, a->pos, tok_pos(&t),
                                "expression cannot contain assignment, perhaps you meant \"==\"?");
                }
                goto fail;
            }
            if (kind(p) == TK_FOR || kind(p) == TK_ASYNC) {
                Expr *g = new_expr(p, E_GENERATOREXP, a->pos);
                if (!g) goto fail;
                g->v.comp.elt = a;
                if (!parse_comprehensions(p, &g->v.comp.generators, &g->v.comp.ngenerators))
                    goto fail;
                // A bare generator must be the only argument.
                if (args.len || kws.len || kind(p) != TK_RPAR) {
                    if (!(kind(p) == TK_RPAR && !args.len && !kws.len)) {
                        error_node(p, g, "Generator expression must be parenthesized");
                        goto fail;
                    }
                }
                Token close = *cur(p);
                g->pos = span(call->v.call.func->pos, tok_pos(&close));
                g->pos.line = call->v.call.func->pos.end_line;
                g->pos.col = call->v.call.func->pos.end_col;
                a = g;
            }
            if (seen_dstar || seen_kw) {
                // CPython reports these at the token after the argument.
                Token at = *cur(p);
                error_tok(p, &at,
                          seen_dstar ? "positional argument follows keyword argument unpacking"
                                     : "positional argument follows keyword argument");
                goto fail;
            }
            if (!vec_push(p, &args, a)) goto fail;
        }
        if (kind(p) == TK_RPAR) break;
        if (kind(p) != TK_COMMA) {
            if (args.len && kind(p) != TK_COUNT) maybe_missing_comma(p, args.items[args.len - 1]);
            invalid_syntax(p);
            goto fail;
        }
        advance(p);
    }
    call->v.call.args = expr_list(p, &args);
    call->v.call.nkeywords = kws.len;
    if (kws.len) {
        Keyword *ks = alloc(p, (size_t)kws.len * sizeof(Keyword));
        if (!ks) goto fail;
        for (int32_t i = 0; i < kws.len; i++) ks[i] = *(Keyword *)kws.items[i];
        call->v.call.keywords = ks;
    }
    vec_free(&kws);
    return !p->failed;
fail:
    vec_free(&args);
    vec_free(&kws);
    return false;
}

// atom followed by .name, (args) and [subscript] trailers. Each trailer
// deepens the tree, so it counts toward the depth limit.
static Expr *parse_primary(Parser *p) {
    Pos st0 = tok_pos(cur(p));
    Expr *e = parse_atom(p);
    int32_t extra = 0;
    while (e) {
        TokKind k = kind(p);
        if (k != TK_DOT && k != TK_LPAR && k != TK_LSQB) break;
        if (!enter_chain(p)) {
            e = NULL;
            break;
        }
        extra++;
        if (k == TK_DOT) {
            advance(p);
            Token name = *cur(p);
            if (name.kind != TK_NAME) {
                e = invalid_syntax(p);
                break;
            }
            advance(p);
            Expr *a = new_expr(p, E_ATTRIBUTE, upto(p, st0));
            if (!a) {
                e = NULL;
                break;
            }
            a->v.attribute.value = e;
            a->v.attribute.attr = tok_str(p, &name);
            a->v.attribute.ctx = CTX_LOAD;
            e = a;
        } else if (k == TK_LPAR) {
            advance(p);
            Expr *c = new_expr(p, E_CALL, e->pos);
            if (!c) {
                e = NULL;
                break;
            }
            c->v.call.func = e;
            if (!parse_call_args(p, c)) {
                e = NULL;
                break;
            }
            if (!expect(p, TK_RPAR)) {
                e = NULL;
                break;
            }
            c->pos = upto(p, st0);
            e = c;
        } else {
            Expr *s = new_expr(p, E_SUBSCRIPT, e->pos);
            if (!s) {
                e = NULL;
                break;
            }
            s->v.subscript.value = e;
            s->v.subscript.slice = parse_subscript(p);
            if (!s->v.subscript.slice) {
                e = NULL;
                break;
            }
            if (!expect(p, TK_RSQB)) {
                e = NULL;
                break;
            }
            s->pos = upto(p, st0);
            s->v.subscript.ctx = CTX_LOAD;
            e = s;
        }
    }
    p->depth -= extra;
    p->chain_depth -= extra;
    return e;
}

static Expr *parse_await_primary(Parser *p) {
    if (kind(p) == TK_AWAIT) {
        Token t = advance(p);
        if (!enter(p)) return NULL;
        Expr *v = parse_primary(p);
        leave(p);
        if (!v) return NULL;
        Expr *e = new_expr(p, E_AWAIT, upto(p, tok_pos(&t)));
        if (e) e->v.await_.value = v;
        return e;
    }
    return parse_primary(p);
}

static Expr *parse_factor(Parser *p);

static Expr *parse_power(Parser *p) {
    Pos st0 = tok_pos(cur(p));
    Expr *left = parse_await_primary(p);
    if (!left || kind(p) != TK_DOUBLESTAR) return left;
    advance(p);
    if (!enter(p)) return NULL;
    Expr *right = parse_factor(p);
    leave(p);
    if (!right) return NULL;
    Expr *e = new_expr(p, E_BINOP, upto(p, st0));
    if (!e) return NULL;
    e->v.binop.left = left;
    e->v.binop.op = AST_POW;
    e->v.binop.right = right;
    return e;
}

static Expr *parse_factor(Parser *p) {
    TokKind k = kind(p);
    if (k != TK_PLUS && k != TK_MINUS && k != TK_TILDE) return parse_power(p);
    Token t = advance(p);
    if (!enter(p)) return NULL;
    Expr *v = parse_factor(p);
    leave(p);
    if (!v) return NULL;
    Expr *e = new_expr(p, E_UNARYOP, upto(p, tok_pos(&t)));
    if (!e) return NULL;
    e->v.unaryop.op = k == TK_PLUS ? AST_UADD : k == TK_MINUS ? AST_USUB : AST_INVERT;
    e->v.unaryop.operand = v;
    return e;
}

// Binary operator precedence: 1 |, 2 ^, 3 &, 4 << >>, 5 + -, 6 * / // % @.
static int binop_level(TokKind k, OperatorKind *op) {
    switch (k) {
    case TK_VBAR: *op = AST_BITOR; return 1;
    case TK_CIRCUMFLEX: *op = AST_BITXOR; return 2;
    case TK_AMPER: *op = AST_BITAND; return 3;
    case TK_LEFTSHIFT: *op = AST_LSHIFT; return 4;
    case TK_RIGHTSHIFT: *op = AST_RSHIFT; return 4;
    case TK_PLUS: *op = AST_ADD; return 5;
    case TK_MINUS: *op = AST_SUB; return 5;
    case TK_STAR: *op = AST_MULT; return 6;
    case TK_SLASH: *op = AST_DIV; return 6;
    case TK_DOUBLESLASH: *op = AST_FLOORDIV; return 6;
    case TK_PERCENT: *op = AST_MOD; return 6;
    case TK_AT: *op = AST_MATMULT; return 6;
    default: return 0;
    }
}

static Expr *parse_binary(Parser *p, int level) {
    if (!enter(p)) return NULL;
    Pos st0 = tok_pos(cur(p));
    Expr *left = level >= 6 ? parse_factor(p) : parse_binary(p, level + 1);
    int32_t extra = 0;
    while (left) {
        OperatorKind op = AST_ADD;
        if (binop_level(kind(p), &op) != level) break;
        if (!enter_chain(p)) {
            left = NULL;
            break;
        }
        extra++;
        advance(p);
        Expr *right = level >= 6 ? parse_factor(p) : parse_binary(p, level + 1);
        if (!right) {
            left = NULL;
            break;
        }
        Expr *e = new_expr(p, E_BINOP, upto(p, st0));
        if (!e) {
            left = NULL;
            break;
        }
        e->v.binop.left = left;
        e->v.binop.op = op;
        e->v.binop.right = right;
        left = e;
    }
    p->depth -= extra;
    p->chain_depth -= extra;
    leave(p);
    return left;
}

static bool compare_op(Parser *p, CmpOpKind *op) {
    switch (kind(p)) {
    case TK_LESS: *op = AST_LT; break;
    case TK_LESSEQUAL: *op = AST_LTE; break;
    case TK_EQEQUAL: *op = AST_EQ; break;
    case TK_NOTEQUAL:
        if (cur(p)->start[0] == '<') return false; // `<>` is not Python 3
        *op = AST_NOTEQ;
        break;
    case TK_GREATER: *op = AST_GT; break;
    case TK_GREATEREQUAL: *op = AST_GTE; break;
    case TK_IN: *op = AST_IN; break;
    case TK_IS:
        if (kind_at(p, 1) == TK_NOT) {
            advance(p);
            *op = AST_ISNOT;
        } else
            *op = AST_IS;
        break;
    case TK_NOT:
        if (kind_at(p, 1) != TK_IN) return false;
        advance(p);
        *op = AST_NOTIN;
        break;
    default: return false;
    }
    advance(p);
    return true;
}

static Expr *parse_comparison(Parser *p) {
    Pos st0 = tok_pos(cur(p));
    Expr *left = parse_binary(p, 1);
    if (!left) return NULL;
    CmpOpKind op = AST_EQ;
    if (!compare_op(p, &op)) return left;
    Vec ops = {0}, comps = {0};
    Expr *e = NULL;
    do {
        Expr *r = parse_binary(p, 1);
        if (!r || !vec_push(p, &ops, (void *)(intptr_t)op) || !vec_push(p, &comps, r)) goto fail;
    } while (compare_op(p, &op));
    if (p->failed) goto fail;
    e = new_expr(p, E_COMPARE, upto(p, st0));
    if (!e) goto fail;
    e->v.compare.left = left;
    e->v.compare.ops = alloc(p, (size_t)ops.len * sizeof(CmpOpKind));
    if (!e->v.compare.ops) goto fail;
    for (int32_t i = 0; i < ops.len; i++) e->v.compare.ops[i] = (CmpOpKind)(intptr_t)ops.items[i];
    vec_free(&ops);
    e->v.compare.comparators = expr_list(p, &comps);
    return e;
fail:
    vec_free(&ops);
    vec_free(&comps);
    return NULL;
}

static Expr *parse_inversion(Parser *p) {
    if (kind(p) != TK_NOT) return parse_comparison(p);
    Token t = advance(p);
    if (!enter(p)) return NULL;
    Expr *v = parse_inversion(p);
    leave(p);
    if (!v) return NULL;
    Expr *e = new_expr(p, E_UNARYOP, upto(p, tok_pos(&t)));
    if (!e) return NULL;
    e->v.unaryop.op = AST_NOT;
    e->v.unaryop.operand = v;
    return e;
}

static Expr *parse_boolop(Parser *p, bool is_or) {
    Pos st0 = tok_pos(cur(p));
    Expr *first = is_or ? parse_boolop(p, false) : parse_inversion(p);
    TokKind k = is_or ? TK_OR : TK_AND;
    if (!first || kind(p) != k) return first;
    Vec v = {0};
    if (!vec_push(p, &v, first)) return NULL;
    while (accept(p, k)) {
        Expr *x = is_or ? parse_boolop(p, false) : parse_inversion(p);
        if (!x || !vec_push(p, &v, x)) goto fail;
    }
    Expr *e = new_expr(p, E_BOOLOP, upto(p, st0));
    if (!e) goto fail;
    e->v.boolop.op = is_or ? BOOL_OR : BOOL_AND;
    e->v.boolop.values = expr_list(p, &v);
    return e;
fail:
    vec_free(&v);
    return NULL;
}

static Expr *parse_disjunction(Parser *p) {
    if (!enter(p)) return NULL;
    Expr *e = parse_boolop(p, true);
    leave(p);
    return e;
}

static Expr *parse_lambda(Parser *p) {
    Token t = advance(p);
    Arguments *args = parse_parameters(p, true, TK_COLON);
    if (!args) return NULL;
    if (!expect_colon(p)) return NULL;
    Expr *body = parse_expression(p);
    if (!body) return NULL;
    Expr *e = new_expr(p, E_LAMBDA, upto(p, tok_pos(&t)));
    if (!e) return NULL;
    e->v.lambda.args = args;
    e->v.lambda.body = body;
    return e;
}

static Expr *parse_expression(Parser *p) {
    if (!enter(p)) return NULL;
    Pos st0 = tok_pos(cur(p));
    Expr *e;
    if (kind(p) == TK_LAMBDA) {
        e = parse_lambda(p);
    } else {
        e = parse_disjunction(p);
        if (e && kind(p) == TK_IF) {
            advance(p);
            Expr *test = parse_disjunction(p);
            if (test && kind(p) != TK_ELSE) {
                Token t = *cur(p);
                if (t.kind == TK_COLON) {
                    invalid_syntax(p);
                } else if (t.kind != TK_COUNT) {
                    error_range(p, e->pos, tok_pos(&t), "expected 'else' after 'if' expression");
                }
                test = NULL;
            }
            Expr *orelse = NULL;
            if (test) {
                advance(p);
                orelse = parse_expression(p);
            }
            Expr *x = orelse ? new_expr(p, E_IFEXP, upto(p, st0)) : NULL;
            if (x) {
                x->v.ifexp.test = test;
                x->v.ifexp.body = e;
                x->v.ifexp.orelse = orelse;
            }
            e = x;
        }
    }
    leave(p);
    return e;
}

static Expr *parse_named_expression(Parser *p) {
    if (kind(p) == TK_NAME && kind_at(p, 1) == TK_COLONEQUAL) {
        Token name = advance(p);
        advance(p);
        Expr *v = parse_expression(p);
        if (!v) return NULL;
        Expr *e = new_expr(p, E_NAMEDEXPR, upto(p, tok_pos(&name)));
        if (!e) return NULL;
        e->v.namedexpr.target = make_name(p, &name, CTX_STORE);
        e->v.namedexpr.value = v;
        return e->v.namedexpr.target ? e : NULL;
    }
    Expr *e = parse_expression(p);
    if (e && kind(p) == TK_COLONEQUAL) {
        // CPython's rule reads the value before it complains.
        advance(p);
        if (!parse_expression(p)) return NULL;
        return error_node(p, e, "cannot use assignment expressions with %s", expr_name(e));
    }
    return e;
}

// star_expressions: comma-separated, '*' allowed; a tuple if there is a comma.
static Expr *parse_star_expressions(Parser *p) {
    Pos st0 = tok_pos(cur(p));
    Expr *first;
    if (kind(p) == TK_STAR) {
        Token st = advance(p);
        Expr *v = parse_binary(p, 1);
        if (!v) return NULL;
        first = new_expr(p, E_STARRED, upto(p, tok_pos(&st)));
        if (!first) return NULL;
        first->v.starred.value = v;
    } else {
        first = parse_expression(p);
    }
    if (!first || kind(p) != TK_COMMA) return first;
    Vec v = {0};
    if (!vec_push(p, &v, first)) return NULL;
    Pos last = first->pos;
    while (kind(p) == TK_COMMA) {
        Token comma = advance(p);
        last = span(last, tok_pos(&comma));
        TokKind k = kind(p);
        if (k != TK_STAR && !starts_expression(k)) break;
        Expr *x;
        if (k == TK_STAR) {
            Token st = advance(p);
            Expr *val = parse_binary(p, 1);
            if (!val) goto fail;
            x = new_expr(p, E_STARRED, upto(p, tok_pos(&st)));
            if (!x) goto fail;
            x->v.starred.value = val;
        } else {
            x = parse_expression(p);
        }
        if (!x || !vec_push(p, &v, x)) goto fail;
        last = x->pos;
    }
    Expr *t = new_expr(p, E_TUPLE, upto(p, st0));
    (void)last;
    if (!t) goto fail;
    t->v.list.elts = expr_list(p, &v);
    t->v.list.ctx = CTX_LOAD;
    return t;
fail:
    vec_free(&v);
    return NULL;
}

static Expr *parse_yield(Parser *p) {
    Token t = advance(p);
    if (accept(p, TK_FROM)) {
        Expr *v = parse_expression(p);
        if (!v) return NULL;
        Expr *e = new_expr(p, E_YIELDFROM, upto(p, tok_pos(&t)));
        if (e) e->v.yieldfrom.value = v;
        return e;
    }
    Expr *e = new_expr(p, E_YIELD, tok_pos(&t));
    if (!e) return NULL;
    TokKind k = kind(p);
    if (k == TK_STAR || starts_expression(k)) {
        Expr *v = parse_star_expressions(p);
        if (!v) return NULL;
        e->v.yield.value = v;
        e->pos = upto(p, e->pos);
    }
    return e;
}

// Targets of `for` and comprehensions: stop before `in`.
static Expr *parse_target_list(Parser *p) {
    Pos st0 = tok_pos(cur(p));
    Vec v = {0};
    Expr *first = NULL;
    bool tuple = false;
    for (;;) {
        Expr *x;
        if (kind(p) == TK_STAR) {
            Token st = advance(p);
            Expr *val = parse_binary(p, 1);
            if (!val) goto fail;
            x = new_expr(p, E_STARRED, upto(p, tok_pos(&st)));
            if (!x) goto fail;
            x->v.starred.value = val;
        } else {
            x = parse_binary(p, 1);
        }
        if (!x || !vec_push(p, &v, x)) goto fail;
        if (!first) first = x;
        if (kind(p) != TK_COMMA) break;
        tuple = true;
        advance(p);
        if (kind(p) == TK_IN || kind(p) == TK_EQUAL) break;
    }
    if (!tuple) {
        vec_free(&v);
        return first;
    }
    Expr *t = new_expr(p, E_TUPLE, upto(p, st0));
    if (!t) goto fail;
    t->v.list.elts = expr_list(p, &v);
    return t;
fail:
    vec_free(&v);
    return NULL;
}

static bool parse_comprehensions(Parser *p, Comprehension **out, int32_t *n) {
    Vec v = {0};
    while (kind(p) == TK_FOR || (kind(p) == TK_ASYNC && kind_at(p, 1) == TK_FOR)) {
        Comprehension *c = alloc(p, sizeof(Comprehension));
        if (!c) goto fail;
        if (accept(p, TK_ASYNC)) c->is_async = true;
        advance(p); // for
        c->target = parse_target_list(p);
        if (!c->target || !check_target(p, c->target, CTX_STORE)) goto fail;
        if (kind(p) != TK_IN) {
            invalid_syntax(p);
            goto fail;
        }
        advance(p);
        c->iter = parse_disjunction(p);
        if (!c->iter) goto fail;
        Vec ifs = {0};
        while (accept(p, TK_IF)) {
            Expr *x = parse_disjunction(p);
            if (!x || !vec_push(p, &ifs, x)) {
                vec_free(&ifs);
                goto fail;
            }
        }
        c->ifs = expr_list(p, &ifs);
        if (!vec_push(p, &v, c)) goto fail;
    }
    *n = v.len;
    *out = alloc(p, (size_t)v.len * sizeof(Comprehension));
    if (!*out) goto fail;
    for (int32_t i = 0; i < v.len; i++) (*out)[i] = *(Comprehension *)v.items[i];
    vec_free(&v);
    return true;
fail:
    vec_free(&v);
    return false;
}

// ---------------------------------------------------------------------------
// Parameters (def and lambda)

static bool parse_param(Parser *p, Arg *a, bool lambda, bool allow_star_annotation) {
    Token name = *cur(p);
    if (name.kind != TK_NAME) {
        invalid_syntax(p);
        return false;
    }
    advance(p);
    a->name = tok_str(p, &name);
    a->pos = tok_pos(&name);
    if (!lambda && accept(p, TK_COLON)) {
        a->annotation = parse_expression(p);
        if (!a->annotation) return false;
        a->pos = span(a->pos, a->annotation->pos);
    }
    return a->name != NULL;
}

static Arguments *parse_parameters(Parser *p, bool lambda, TokKind close) {
    Arguments *args = alloc(p, sizeof(Arguments));
    if (!args) return NULL;
    Vec pos = {0}, kwonly = {0}, defaults = {0}, kwdefaults = {0};
    int32_t nposonly = -1;
    bool star = false, seen_default = false;
    Arg *vararg = NULL, *kwarg = NULL;
    while (kind(p) != close) {
        Token t = *cur(p);
        if (kwarg) {
            error_tok(p, &t, "arguments cannot follow var-keyword argument");
            goto fail;
        }
        if (accept(p, TK_SLASH)) {
            if (nposonly >= 0) {
                error_tok(p, &t, "/ may appear only once");
                goto fail;
            }
            if (star) {
                error_tok(p, &t, "/ must be ahead of *");
                goto fail;
            }
            if (pos.len == 0) {
                error_tok(p, &t, "at least one argument must precede /");
                goto fail;
            }
            nposonly = pos.len;
        } else if (accept(p, TK_STAR)) {
            if (star) {
                error_tok(p, &t, "* argument may appear only once");
                goto fail;
            }
            star = true;
            if (kind(p) == TK_COMMA || kind(p) == close) {
                if (kind(p) == close || kind_at(p, 1) == close || kind_at(p, 1) == TK_DOUBLESTAR) {
                    // lambda's rule reports at the last token it looked at
                    if (lambda) t = kind(p) == TK_COMMA ? *peek_at(p, 1) : *cur(p);
                    error_tok(p, &t, "named arguments must follow bare *");
                    goto fail;
                }
            } else {
                vararg = alloc(p, sizeof(Arg));
                if (!vararg || !parse_param(p, vararg, lambda, true)) goto fail;
                if (kind(p) == TK_EQUAL) {
                    Token e = *cur(p);
                    error_tok(p, &e, "var-positional argument cannot have default value");
                    goto fail;
                }
            }
        } else if (accept(p, TK_DOUBLESTAR)) {
            kwarg = alloc(p, sizeof(Arg));
            if (!kwarg || !parse_param(p, kwarg, lambda, false)) goto fail;
            if (kind(p) == TK_EQUAL) {
                Token e = *cur(p);
                error_tok(p, &e, "var-keyword argument cannot have default value");
                goto fail;
            }
        } else {
            Arg *a = alloc(p, sizeof(Arg));
            if (!a || !parse_param(p, a, lambda, false)) goto fail;
            Expr *def = NULL;
            if (accept(p, TK_EQUAL)) {
                def = parse_expression(p);
                if (!def) goto fail;
            }
            if (star) {
                if (!vec_push(p, &kwonly, a) || !vec_push(p, &kwdefaults, def)) goto fail;
            } else {
                if (def) {
                    seen_default = true;
                    if (!vec_push(p, &defaults, def)) goto fail;
                } else if (seen_default) {
                    Pos ap = a->pos;
                    error_range(p, ap, ap, "non-default argument follows default argument");
                    goto fail;
                }
                if (!vec_push(p, &pos, a)) goto fail;
            }
        }
        if (kind(p) == close) break;
        if (kind(p) != TK_COMMA) {
            if (kind(p) == TK_COLON && lambda == false && close == TK_RPAR) {
                invalid_syntax(p);
            } else {
                invalid_syntax(p);
            }
            goto fail;
        }
        advance(p);
    }
    if (nposonly < 0) nposonly = 0;
    args->nposonly = nposonly;
    args->nargs = pos.len - nposonly;
    if (pos.len) {
        Arg *all = alloc(p, (size_t)pos.len * sizeof(Arg));
        if (!all) goto fail;
        for (int32_t i = 0; i < pos.len; i++) all[i] = *(Arg *)pos.items[i];
        args->posonlyargs = all;
        args->args = all + nposonly;
    }
    if (kwonly.len) {
        args->kwonlyargs = alloc(p, (size_t)kwonly.len * sizeof(Arg));
        if (!args->kwonlyargs) goto fail;
        for (int32_t i = 0; i < kwonly.len; i++) args->kwonlyargs[i] = *(Arg *)kwonly.items[i];
    }
    args->nkwonly = kwonly.len;
    args->kw_defaults = (Expr **)vec_finish(p, &kwdefaults);
    args->vararg = vararg;
    args->kwarg = kwarg;
    args->defaults = expr_list(p, &defaults);
    vec_free(&pos);
    vec_free(&kwonly);
    return p->failed ? NULL : args;
fail:
    vec_free(&pos);
    vec_free(&kwonly);
    vec_free(&defaults);
    vec_free(&kwdefaults);
    return NULL;
}

// ---------------------------------------------------------------------------
// String literals and f-strings

typedef struct Buf {
    char *data;
    size_t len, cap;
} Buf;

static bool buf_reserve(Parser *p, Buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return true;
    size_t ncap = b->cap ? b->cap * 2 : 64;
    while (ncap < b->len + extra) ncap *= 2;
    char *n = realloc(b->data, ncap);
    if (!n) {
        lexer_error(p->err, SYNERR_SYNTAX, 0, 0, 0, 0, "out of memory while parsing");
        p->failed = true;
        return false;
    }
    b->data = n;
    b->cap = ncap;
    return true;
}

static bool buf_append(Parser *p, Buf *b, const char *s, size_t n) {
    if (!buf_reserve(p, b, n + 1)) return false;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return true;
}

// Decode a chunk of literal text (escapes unless raw) onto b.
static bool append_decoded(Parser *p, Buf *b, const char *s, size_t n, bool raw, bool bytes,
                           const Token *t) {
    if (!buf_reserve(p, b, n + 1)) return false;
    size_t out;
    if (bytes) {
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)s[i] >= 0x80) {
                const Token *saved = p->str_err_at;
                p->str_err_at = NULL; // this one points at the literal itself
                error_tok(p, t, "bytes can only contain ASCII literal characters");
                p->str_err_at = saved;
                return false;
            }
        }
    }
    if (p->str_err_at) t = p->str_err_at;
    if (!lexer_decode_string(s, n, raw, bytes, b->data + b->len, &out, p->err, t->line, t->col)) {
        p->failed = true;
        return false;
    }
    b->len += out;
    return true;
}

static Expr *str_const(Parser *p, Buf *b, Pos pos) {
    Expr *e = new_expr(p, E_CONSTANT, pos);
    if (!e) return NULL;
    e->v.constant.kind = CONST_STR;
    e->v.constant.text = arena_strndup(p->arena, b->data ? b->data : "", b->len);
    e->v.constant.len = b->len;
    b->len = 0;
    return e->v.constant.text ? e : NULL;
}

// Literal text collected so far becomes a Constant part.
static bool flush_literal(Parser *p, Vec *parts, Buf *lit, Pos pos) {
    if (lit->len == 0) return true;
    Expr *c = str_const(p, lit, pos);
    return c && vec_push(p, parts, c);
}

// Line and column of byte s inside token t (which may span lines).
static void locate(const Token *t, const char *s, int32_t *line, int32_t *col) {
    int32_t l = t->line, c = t->col;
    for (const char *q = t->start; q < s; q++) {
        if (*q == '\n') {
            l++;
            c = 0;
        } else
            c++;
    }
    *line = l;
    *col = c;
}

// Parse the expression text of a replacement field with a sub-lexer.
static Expr *fstring_expr(Parser *p, const char *s, const char *e, const Token *t) {
    int32_t line, col;
    locate(t, s, &line, &col);
    Lexer sub;
    lexer_init_sub(&sub, s, (size_t)(e - s), line, col, p->err);
    Lexer *saved_lx = p->lx;
    Token *saved_toks = p->toks;
    int32_t saved_n = p->ntoks, saved_cap = p->cap, saved_pos = p->pos;
    p->lx = &sub;
    p->toks = NULL;
    p->ntoks = p->cap = p->pos = 0;
    p->fstring_level++;
    const Token *saved_err_at = p->str_err_at;
    p->str_err_at = NULL;
    bool had_error = p->err->msg[0] != 0;
    Expr *x = kind(p) == TK_YIELD ? parse_yield(p) : parse_star_expressions(p);
    if (x && kind(p) != TK_EOF) {
        if (!p->failed) {
            maybe_missing_comma(p, x);
            invalid_syntax(p);
        }
        x = NULL;
    }
    if (!x && !had_error && p->err->msg[0]) {
        // CPython 3.11 compiles the field as "(expr)" on its own, and its
        // error locations are relative to that text.
        if (p->err->line == line) p->err->col = p->err->col - col + 1;
        p->err->end_line = p->err->end_col = 0;
    }
    p->str_err_at = saved_err_at;
    p->fstring_level--;
    free(p->toks);
    p->lx = saved_lx;
    p->toks = saved_toks;
    p->ntoks = saved_n;
    p->cap = saved_cap;
    p->pos = saved_pos;
    return x;
}

static const char *fstring_body(Parser *p, const char *s, const char *end, bool raw, int nest,
                                Vec *parts, Buf *lit, const Token *t);

// One replacement field; s points after '{'. Returns the position after '}'.
static const char *fstring_field(Parser *p, const char *s, const char *end, bool raw, int nest,
                                 Vec *parts, Buf *lit, const Token *t) {
    if (nest >= MAX_FSTRING_NESTING) {
        error_tok(p, t, "f-string: expressions nested too deeply");
        return NULL;
    }
    const char *expr_start = s;
    char stack[LEXER_MAX_PARENS];
    int depth = 0;
    char quote = 0;
    int quote_len = 0;
    for (; s < end; s++) {
        char ch = *s;
        if (ch == '\\') {
            error_tok(p, t, "f-string expression part cannot include a backslash");
            return NULL;
        }
        if (quote) {
            if (ch == quote) {
                if (quote_len == 3) {
                    if (end - s >= 3 && s[1] == quote && s[2] == quote) {
                        s += 2;
                        quote = 0;
                    }
                } else {
                    quote = 0;
                }
            }
            continue;
        }
        if (ch == '\'' || ch == '"') {
            quote = ch;
            quote_len = 1;
            if (end - s >= 3 && s[1] == ch && s[2] == ch) {
                quote_len = 3;
                s += 2;
            }
            continue;
        }
        if (ch == '(' || ch == '[' || ch == '{') {
            if (depth >= LEXER_MAX_PARENS) {
                error_tok(p, t, "f-string: too many nested parenthesis");
                return NULL;
            }
            stack[depth++] = ch;
            continue;
        }
        if (ch == ')' || ch == ']' || ch == '}') {
            if (depth == 0) {
                if (ch == '}') break;
                error_tok(p, t, "f-string: unmatched '%c'", ch);
                return NULL;
            }
            char o = stack[--depth];
            if ((o == '(' && ch != ')') || (o == '[' && ch != ']') || (o == '{' && ch != '}')) {
                error_tok(p, t,
                          "f-string: closing parenthesis '%c' does not match opening "
                          "parenthesis '%c'",
                          ch, o);
                return NULL;
            }
            continue;
        }
        if (ch == '#') {
            error_tok(p, t, "f-string expression part cannot include '#'");
            return NULL;
        }
        if (depth == 0) {
            char nx = s + 1 < end ? s[1] : 0;
            if ((ch == '=' || ch == '!' || ch == '<' || ch == '>') && nx == '=') {
                s++;
                continue;
            }
            if (ch == '!' || ch == ':' || ch == '=') break;
        }
    }
    if (quote) {
        error_tok(p, t, "f-string: unterminated string");
        return NULL;
    }
    if (s >= end || depth > 0) {
        error_tok(p, t, "f-string: expecting '}'");
        return NULL;
    }
    const char *expr_end = s;
    bool blank = true;
    for (const char *q = expr_start; q < expr_end; q++) {
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r' && *q != '\f') blank = false;
    }
    if (blank) {
        error_tok(p, t, "f-string: empty expression not allowed");
        return NULL;
    }
    Expr *value = fstring_expr(p, expr_start, expr_end, t);
    if (!value) return NULL;
    bool debug = false;
    if (*s == '=') {
        debug = true;
        s++;
        while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f')) s++;
        if (!buf_append(p, lit, expr_start, (size_t)(s - expr_start))) return NULL;
    }
    int conversion = -1;
    if (s < end && *s == '!') {
        s++;
        if (s >= end) {
            error_tok(p, t, "f-string: expecting '}'");
            return NULL;
        }
        conversion = (unsigned char)*s++;
        if (conversion != 's' && conversion != 'r' && conversion != 'a') {
            error_tok(p, t, "f-string: invalid conversion character: expected 's', 'r', or 'a'");
            return NULL;
        }
    }
    Expr *spec = NULL;
    if (s < end && *s == ':') {
        s++;
        Vec sparts = {0};
        Buf slit = {0};
        s = fstring_body(p, s, end, raw, nest + 1, &sparts, &slit, t);
        if (s && !flush_literal(p, &sparts, &slit, tok_pos(t))) s = NULL;
        free(slit.data);
        if (!s) {
            vec_free(&sparts);
            return NULL;
        }
        spec = new_expr(p, E_JOINEDSTR, tok_pos(t));
        if (!spec) {
            vec_free(&sparts);
            return NULL;
        }
        spec->v.joinedstr.values = expr_list(p, &sparts);
    }
    if (s >= end || *s != '}') {
        error_tok(p, t, "f-string: expecting '}'");
        return NULL;
    }
    s++;
    if (debug && conversion < 0 && !spec) conversion = 'r';
    if (!flush_literal(p, parts, lit, tok_pos(t))) return NULL;
    Expr *fv = new_expr(p, E_FORMATTEDVALUE, value->pos);
    if (!fv) return NULL;
    fv->v.formatted.value = value;
    fv->v.formatted.conversion = conversion;
    fv->v.formatted.format_spec = spec;
    return vec_push(p, parts, fv) ? s : NULL;
}

// Literal text and fields of an f-string body (nest > 0: a format spec,
// which ends at the '}' closing its field).
static const char *fstring_body(Parser *p, const char *s, const char *end, bool raw, int nest,
                                Vec *parts, Buf *lit, const Token *t) {
    const char *chunk = s;
    while (s < end) {
        char ch = *s;
        if (ch == '\\' && !raw && s + 1 < end) {
            if (s[1] == 'N' && s + 2 < end && s[2] == '{') {
                error_tok(p, t, "(unicode error) \\N{...} escapes are not supported by Eddy yet");
                return NULL;
            }
            s += 2;
            continue;
        }
        if (ch != '{' && ch != '}') {
            s++;
            continue;
        }
        if (!append_decoded(p, lit, chunk, (size_t)(s - chunk), raw, false, t)) return NULL;
        if (nest == 0 && s + 1 < end && s[1] == ch) {
            if (!buf_append(p, lit, s, 1)) return NULL;
            s += 2;
            chunk = s;
            continue;
        }
        if (ch == '}') {
            if (nest > 0) return s;
            error_tok(p, t, "f-string: single '}' is not allowed");
            return NULL;
        }
        s = fstring_field(p, s + 1, end, raw, nest, parts, lit, t);
        if (!s) return NULL;
        chunk = s;
    }
    if (!append_decoded(p, lit, chunk, (size_t)(s - chunk), raw, false, t)) return NULL;
    if (nest > 0) {
        error_tok(p, t, "f-string: expecting '}'");
        return NULL;
    }
    return s;
}

// Adjacent string literals: one Constant (str or bytes) or a JoinedStr.
static Expr *parse_strings(Parser *p) {
    Token first = *cur(p);
    Token last = first;
    Vec parts = {0};
    Buf lit = {0};
    bool any_f = false, any_bytes = false, any_str = false;
    Expr *e = NULL;
    int32_t first_index = p->pos, count = 0;
    while (kind(p) == TK_STRING) {
        advance(p);
        count++;
    }
    // CPython reports errors inside literals at the token that follows them.
    Token after = *cur(p);
    if (p->failed) return NULL;
    for (int32_t i = 0; i < count; i++) {
        Token t = p->toks[first_index + i];
        p->str_err_at = &after;
        last = t;
        const char *s = t.start, *end = t.start + t.len;
        bool raw = false, bytes = false, fstr = false;
        for (; *s != '"' && *s != '\''; s++) {
            char c = *s | 0x20;
            if (c == 'r')
                raw = true;
            else if (c == 'b')
                bytes = true;
            else if (c == 'f')
                fstr = true;
        }
        size_t q = (end - s >= 6 && s[1] == s[0] && s[2] == s[0]) ? 3 : 1;
        const char *body = s + q, *body_end = end - q;
        if (bytes)
            any_bytes = true;
        else
            any_str = true;
        if (any_bytes && any_str) {
            error_tok(p, &after, "cannot mix bytes and nonbytes literals");
            goto fail;
        }
        if (fstr) {
            any_f = true;
            if (!fstring_body(p, body, body_end, raw, 0, &parts, &lit, &t)) goto fail;
        } else {
            if (!append_decoded(p, &lit, body, (size_t)(body_end - body), raw, bytes, &t))
                goto fail;
        }
    }
    p->str_err_at = NULL;
    Pos pos = span(tok_pos(&first), tok_pos(&last));
    if (!any_f) {
        e = str_const(p, &lit, pos);
        if (e && any_bytes) e->v.constant.kind = CONST_BYTES;
    } else {
        if (!flush_literal(p, &parts, &lit, pos)) goto fail;
        e = new_expr(p, E_JOINEDSTR, pos);
        if (e) e->v.joinedstr.values = expr_list(p, &parts);
    }
    free(lit.data);
    vec_free(&parts);
    return e;
fail:
    p->str_err_at = NULL;
    free(lit.data);
    vec_free(&parts);
    return NULL;
}

// ---------------------------------------------------------------------------
// Statements

static bool parse_statement(Parser *p, Vec *out);
static bool parse_simple_stmts(Parser *p, Vec *out);

// A block after ':': an indented suite, or simple statements on the same line.
static bool parse_block(Parser *p, StmtList *body, const char *what, int32_t line) {
    Vec v = {0};
    if (kind(p) == TK_NEWLINE) {
        advance(p);
        if (kind(p) != TK_INDENT) {
            if (p->failed) return false;
            Token t = *cur(p);
            // At the end of input CPython points at the end of the header line.
            if (t.kind == TK_EOF) t = p->toks[p->pos - 1];
            error_indent(p, &t, "expected an indented block after %s on line %d", what, (int)line);
            if (cur(p)->kind == TK_EOF) p->err->incomplete = true;
            if (t.kind == TK_EOF) p->err->incomplete = true;
            return false;
        }
        advance(p);
        while (kind(p) != TK_DEDENT) {
            if (kind(p) == TK_EOF || p->failed) {
                if (!p->failed) invalid_syntax(p);
                goto fail;
            }
            if (!parse_statement(p, &v)) goto fail;
        }
        advance(p);
    } else {
        if (!parse_simple_stmts(p, &v)) goto fail;
    }
    *body = stmt_list(p, &v);
    return !p->failed;
fail:
    vec_free(&v);
    return false;
}

static Stmt *simple_stmt_expr(Parser *p);

static bool is_augassign(TokKind k, OperatorKind *op) {
    switch (k) {
    case TK_PLUSEQUAL: *op = AST_ADD; return true;
    case TK_MINEQUAL: *op = AST_SUB; return true;
    case TK_STAREQUAL: *op = AST_MULT; return true;
    case TK_ATEQUAL: *op = AST_MATMULT; return true;
    case TK_SLASHEQUAL: *op = AST_DIV; return true;
    case TK_PERCENTEQUAL: *op = AST_MOD; return true;
    case TK_AMPEREQUAL: *op = AST_BITAND; return true;
    case TK_VBAREQUAL: *op = AST_BITOR; return true;
    case TK_CIRCUMFLEXEQUAL: *op = AST_BITXOR; return true;
    case TK_LEFTSHIFTEQUAL: *op = AST_LSHIFT; return true;
    case TK_RIGHTSHIFTEQUAL: *op = AST_RSHIFT; return true;
    case TK_DOUBLESTAREQUAL: *op = AST_POW; return true;
    case TK_DOUBLESLASHEQUAL: *op = AST_FLOORDIV; return true;
    default: return false;
    }
}

static Expr *parse_rhs(Parser *p) {
    return kind(p) == TK_YIELD ? parse_yield(p) : parse_star_expressions(p);
}

// Would CPython's invalid_named_expression rule claim `a = b` here?
static bool bitwise_or_level(const Expr *e) {
    switch (e->kind) {
    case E_COMPARE:
    case E_BOOLOP:
    case E_IFEXP:
    case E_LAMBDA:
    case E_NAMEDEXPR:
    case E_STARRED:
    case E_YIELD:
    case E_YIELDFROM: return false;
    case E_UNARYOP: return e->v.unaryop.op != AST_NOT;
    case E_TUPLE: return false;
    default: return true;
    }
}

// Expression statements, assignments of all kinds.
static Stmt *simple_stmt_expr(Parser *p) {
    Token start = *cur(p);
    Expr *first = parse_rhs(p);
    if (!first) return NULL;
    OperatorKind op = AST_ADD;
    if (kind(p) == TK_COLON) {
        Token colon = advance(p);
        if (first->kind == E_TUPLE || first->kind == E_LIST) {
            return error_node(p, first, "only single target (not %s) can be annotated",
                              first->kind == E_TUPLE ? "tuple" : "list");
        }
        if (first->kind != E_NAME && first->kind != E_ATTRIBUTE && first->kind != E_SUBSCRIPT) {
            return error_node(p, first, "illegal target for annotation");
        }
        (void)colon;
        set_context(first, CTX_STORE);
        Expr *ann = parse_expression(p);
        if (!ann) return NULL;
        Expr *value = NULL;
        if (accept(p, TK_EQUAL)) {
            value = parse_rhs(p);
            if (!value) return NULL;
        }
        Stmt *s = new_stmt(p, S_ANNASSIGN, upto(p, tok_pos(&start)));
        if (!s) return NULL;
        s->v.annassign.target = first;
        s->v.annassign.annotation = ann;
        s->v.annassign.value = value;
        s->v.annassign.simple = first->kind == E_NAME && start.kind != TK_LPAR;
        return s;
    }
    if (is_augassign(kind(p), &op)) {
        advance(p);
        if (first->kind != E_NAME && first->kind != E_ATTRIBUTE && first->kind != E_SUBSCRIPT) {
            return error_node(p, first, "'%s' is an illegal expression for augmented assignment",
                              expr_name(first));
        }
        set_context(first, CTX_STORE);
        Expr *value = parse_rhs(p);
        if (!value) return NULL;
        Stmt *s = new_stmt(p, S_AUGASSIGN, upto(p, tok_pos(&start)));
        if (!s) return NULL;
        s->v.augassign.target = first;
        s->v.augassign.op = op;
        s->v.augassign.value = value;
        return s;
    }
    if (kind(p) == TK_EQUAL) {
        Vec targets = {0};
        Expr *value = first;
        while (accept(p, TK_EQUAL)) {
            Expr *t = value;
            if (!vec_push(p, &targets, t)) goto fail;
            // Targets are checked as soon as their '=' is seen, as CPython does.
            if (t->kind == E_YIELD || t->kind == E_YIELDFROM) {
                error_node(p, t, "assignment to yield expression not possible");
                goto fail;
            }
            Expr *bad = set_context(t, CTX_STORE);
            if (bad) {
                bool excluded = t->kind == E_LIST || t->kind == E_TUPLE ||
                                t->kind == E_GENERATOREXP || start.kind == TK_TRUE ||
                                start.kind == TK_FALSE || start.kind == TK_NONE;
                bool here =
                    targets.len == 1 && !excluded && bitwise_or_level(t) &&
                    (starts_expression(kind(p)) || kind(p) == TK_STAR || kind(p) == TK_YIELD);
                if (here) {
                    // `f() = x` is probably a comparison: decide on the value.
                    value = parse_rhs(p);
                    if (!value) goto fail;
                    Expr *v0 = value->kind == E_TUPLE && value->v.list.elts.len > 0 &&
                                       value->pos.line == value->v.list.elts.items[0]->pos.line &&
                                       value->pos.col == value->v.list.elts.items[0]->pos.col
                                   ? value->v.list.elts.items[0]
                                   : value;
                    here = kind(p) != TK_EQUAL && bitwise_or_level(v0);
                }
                if (here) {
                    error_node(p, t,
                               "cannot assign to %s here. Maybe you meant '==' instead of '='?",
                               expr_name(t));
                } else {
                    error_node(p, bad, "cannot assign to %s", expr_name(bad));
                }
                goto fail;
            }
            value = parse_rhs(p);
            if (!value) goto fail;
        }
        Stmt *s = new_stmt(p, S_ASSIGN, upto(p, tok_pos(&start)));
        if (!s) goto fail;
        s->v.assign.targets = expr_list(p, &targets);
        s->v.assign.value = value;
        return s;
    fail:
        vec_free(&targets);
        return NULL;
    }
    // print "x": the Python 2 statement
    if (first->kind == E_NAME &&
        (strcmp(first->v.name.id, "print") == 0 || strcmp(first->v.name.id, "exec") == 0) &&
        starts_expression(kind(p)) && kind(p) != TK_LPAR) {
        Expr *arg = parse_expression(p);
        if (arg) {
            return error_range(p, first->pos, arg->pos,
                               "Missing parentheses in call to '%s'. Did you mean %s(...)?",
                               first->v.name.id, first->v.name.id);
        }
        return NULL;
    }
    Stmt *s = new_stmt(p, S_EXPR, upto(p, tok_pos(&start)));
    if (s) s->v.expr.value = first;
    return s;
}

static const char *dotted_name(Parser *p) {
    Token t = *cur(p);
    if (t.kind != TK_NAME) return invalid_syntax(p);
    Buf b = {0};
    for (;;) {
        advance(p);
        if (!buf_append(p, &b, t.start, (size_t)t.len)) goto fail;
        if (kind(p) != TK_DOT || kind_at(p, 1) != TK_NAME) break;
        advance(p);
        t = *cur(p);
        if (!buf_append(p, &b, ".", 1)) goto fail;
    }
    char *s = arena_strndup(p->arena, b.data, b.len);
    free(b.data);
    return s;
fail:
    free(b.data);
    return NULL;
}

static Stmt *parse_import(Parser *p) {
    Token kw = advance(p);
    Vec names = {0};
    for (;;) {
        Token st = *cur(p);
        Alias *a = alloc(p, sizeof(Alias));
        if (!a) goto fail;
        a->name = dotted_name(p);
        if (!a->name) goto fail;
        a->pos = span(tok_pos(&st), tok_pos(&p->toks[p->pos - 1]));
        if (accept(p, TK_AS)) {
            Token n = *cur(p);
            if (n.kind != TK_NAME) {
                invalid_syntax(p);
                goto fail;
            }
            advance(p);
            a->asname = tok_str(p, &n);
            a->pos = span(a->pos, tok_pos(&n));
        }
        if (!vec_push(p, &names, a)) goto fail;
        if (!accept(p, TK_COMMA)) break;
    }
    Stmt *s = new_stmt(p, S_IMPORT, upto(p, tok_pos(&kw)));
    if (!s) goto fail;
    s->v.import.nnames = names.len;
    s->v.import.names = alloc(p, (size_t)names.len * sizeof(Alias));
    if (!s->v.import.names) goto fail;
    for (int32_t i = 0; i < names.len; i++) s->v.import.names[i] = *(Alias *)names.items[i];
    vec_free(&names);
    return s;
fail:
    vec_free(&names);
    return NULL;
}

static Stmt *parse_from_import(Parser *p) {
    Token kw = advance(p);
    int32_t level = 0;
    for (;;) {
        if (accept(p, TK_DOT))
            level++;
        else if (accept(p, TK_ELLIPSIS))
            level += 3;
        else
            break;
    }
    const char *module = NULL;
    if (kind(p) != TK_IMPORT || level == 0) {
        module = dotted_name(p);
        if (!module) return NULL;
    }
    if (!expect(p, TK_IMPORT)) return NULL;
    Vec names = {0};
    if (kind(p) == TK_STAR) {
        Token st = advance(p);
        Alias *a = alloc(p, sizeof(Alias));
        if (!a || !vec_push(p, &names, a)) goto fail;
        a->name = "*";
        a->pos = tok_pos(&st);
    } else {
        bool paren = accept(p, TK_LPAR);
        for (;;) {
            Token n = *cur(p);
            if (n.kind != TK_NAME) {
                invalid_syntax(p);
                goto fail;
            }
            advance(p);
            Alias *a = alloc(p, sizeof(Alias));
            if (!a) goto fail;
            a->name = tok_str(p, &n);
            a->pos = tok_pos(&n);
            if (accept(p, TK_AS)) {
                Token as = *cur(p);
                if (as.kind != TK_NAME) {
                    invalid_syntax(p);
                    goto fail;
                }
                advance(p);
                a->asname = tok_str(p, &as);
                a->pos = span(a->pos, tok_pos(&as));
            }
            if (!vec_push(p, &names, a)) goto fail;
            if (kind(p) != TK_COMMA) break;
            Token comma = advance(p);
            if (paren && kind(p) == TK_RPAR) break;
            if (!paren && (kind(p) == TK_NEWLINE || kind(p) == TK_SEMI || kind(p) == TK_EOF)) {
                Token at = *cur(p);
                (void)comma;
                error_tok(p, &at, "trailing comma not allowed without surrounding parentheses");
                goto fail;
            }
        }
        if (paren && !expect(p, TK_RPAR)) goto fail;
    }
    Stmt *s = new_stmt(p, S_IMPORTFROM, upto(p, tok_pos(&kw)));
    if (!s) goto fail;
    s->v.importfrom.module = module;
    s->v.importfrom.level = level;
    s->v.importfrom.nnames = names.len;
    s->v.importfrom.names = alloc(p, (size_t)names.len * sizeof(Alias));
    if (!s->v.importfrom.names) goto fail;
    for (int32_t i = 0; i < names.len; i++) s->v.importfrom.names[i] = *(Alias *)names.items[i];
    vec_free(&names);
    return s;
fail:
    vec_free(&names);
    return NULL;
}

static Stmt *parse_simple_stmt(Parser *p) {
    Token t = *cur(p);
    Stmt *s;
    switch (t.kind) {
    case TK_PASS: advance(p); return new_stmt(p, S_PASS, tok_pos(&t));
    case TK_BREAK: advance(p); return new_stmt(p, S_BREAK, tok_pos(&t));
    case TK_CONTINUE: advance(p); return new_stmt(p, S_CONTINUE, tok_pos(&t));
    case TK_RETURN:
        advance(p);
        s = new_stmt(p, S_RETURN, tok_pos(&t));
        if (s && (kind(p) == TK_STAR || starts_expression(kind(p)))) {
            s->v.return_.value = parse_star_expressions(p);
            if (!s->v.return_.value) return NULL;
            s->pos = upto(p, s->pos);
        }
        return s;
    case TK_RAISE:
        advance(p);
        s = new_stmt(p, S_RAISE, tok_pos(&t));
        if (s && starts_expression(kind(p))) {
            s->v.raise.exc = parse_expression(p);
            if (!s->v.raise.exc) return NULL;
            s->pos = upto(p, s->pos);
            if (accept(p, TK_FROM)) {
                s->v.raise.cause = parse_expression(p);
                if (!s->v.raise.cause) return NULL;
                s->pos = upto(p, s->pos);
            }
        }
        return s;
    case TK_GLOBAL:
    case TK_NONLOCAL: {
        advance(p);
        Vec names = {0};
        for (;;) {
            Token n = *cur(p);
            if (n.kind != TK_NAME) {
                invalid_syntax(p);
                vec_free(&names);
                return NULL;
            }
            advance(p);
            char *id = tok_str(p, &n);
            if (!id || !vec_push(p, &names, id)) {
                vec_free(&names);
                return NULL;
            }
            if (!accept(p, TK_COMMA)) break;
        }
        s = new_stmt(p, t.kind == TK_GLOBAL ? S_GLOBAL : S_NONLOCAL, upto(p, tok_pos(&t)));
        if (!s) {
            vec_free(&names);
            return NULL;
        }
        s->v.global.nnames = names.len;
        s->v.global.names = (const char **)vec_finish(p, &names);
        return s;
    }
    case TK_DEL: {
        advance(p);
        Vec targets = {0};
        for (;;) {
            Expr *x;
            if (kind(p) == TK_STAR) {
                x = parse_star_named(p);
            } else {
                x = parse_binary(p, 1);
            }
            if (!x) {
                vec_free(&targets);
                return NULL;
            }
            if (!check_target(p, x, CTX_DEL) || !vec_push(p, &targets, x)) {
                vec_free(&targets);
                return NULL;
            }
            if (kind(p) != TK_COMMA) break;
            advance(p);
            if (!starts_expression(kind(p))) break;
        }
        if (kind(p) != TK_NEWLINE && kind(p) != TK_SEMI && kind(p) != TK_EOF) {
            vec_free(&targets);
            return invalid_syntax(p);
        }
        s = new_stmt(p, S_DELETE, upto(p, tok_pos(&t)));
        if (!s) {
            vec_free(&targets);
            return NULL;
        }
        s->v.delete_.targets = expr_list(p, &targets);
        return s;
    }
    case TK_ASSERT:
        advance(p);
        s = new_stmt(p, S_ASSERT, tok_pos(&t));
        if (!s) return NULL;
        s->v.assert_.test = parse_expression(p);
        if (!s->v.assert_.test) return NULL;
        s->pos = upto(p, s->pos);
        if (accept(p, TK_COMMA)) {
            s->v.assert_.msg = parse_expression(p);
            if (!s->v.assert_.msg) return NULL;
            s->pos = upto(p, s->pos);
        }
        return s;
    case TK_IMPORT: return parse_import(p);
    case TK_FROM: return parse_from_import(p);
    default: return simple_stmt_expr(p);
    }
}

// simple_stmt (';' simple_stmt)* [';'] NEWLINE
static bool parse_simple_stmts(Parser *p, Vec *out) {
    for (;;) {
        Stmt *s = parse_simple_stmt(p);
        if (!s || !vec_push(p, out, s)) return false;
        if (accept(p, TK_SEMI)) {
            if (kind(p) == TK_NEWLINE || kind(p) == TK_EOF) break;
            continue;
        }
        break;
    }
    if (kind(p) == TK_EOF && p->lx->sub) return true;
    if (accept(p, TK_NEWLINE)) return true;
    if (p->failed) return false;
    Stmt *lastst = out->items[out->len - 1];
    if (lastst->kind == S_EXPR) maybe_missing_comma(p, lastst->v.expr.value);
    invalid_syntax(p);
    return false;
}

static Stmt *parse_if(Parser *p, bool elif) {
    Token kw = advance(p);
    Stmt *s = new_stmt(p, S_IF, tok_pos(&kw));
    if (!s) return NULL;
    s->v.if_.test = parse_named_expression(p);
    if (!s->v.if_.test || !expect_colon(p)) return NULL;
    if (!parse_block(p, &s->v.if_.body, elif ? "'elif' statement" : "'if' statement", kw.line))
        return NULL;
    if (kind(p) == TK_ELIF) {
        Stmt *e = parse_if(p, true);
        if (!e) return NULL;
        s->v.if_.orelse.items = alloc(p, sizeof(Stmt *));
        if (!s->v.if_.orelse.items) return NULL;
        s->v.if_.orelse.items[0] = e;
        s->v.if_.orelse.len = 1;
    } else if (kind(p) == TK_ELSE) {
        Token e = advance(p);
        if (!expect_colon(p) || !parse_block(p, &s->v.if_.orelse, "'else' statement", e.line))
            return NULL;
    }
    if (elif) {
        // parse_statement sets the end of the outer `if` only.
        for (int32_t i = p->pos - 1; i >= 0; i--) {
            Token *e = &p->toks[i];
            if (e->kind == TK_NEWLINE || e->kind == TK_DEDENT || e->kind == TK_INDENT) continue;
            s->pos.end_line = e->end_line;
            s->pos.end_col = e->end_col;
            break;
        }
    }
    return s;
}

static bool parse_else(Parser *p, StmtList *orelse) {
    if (kind(p) != TK_ELSE) return true;
    Token e = advance(p);
    return expect_colon(p) && parse_block(p, orelse, "'else' statement", e.line);
}

static Stmt *parse_while(Parser *p) {
    Token kw = advance(p);
    Stmt *s = new_stmt(p, S_WHILE, tok_pos(&kw));
    if (!s) return NULL;
    s->v.while_.test = parse_named_expression(p);
    if (!s->v.while_.test || !expect_colon(p) ||
        !parse_block(p, &s->v.while_.body, "'while' statement", kw.line) ||
        !parse_else(p, &s->v.while_.orelse))
        return NULL;
    return s;
}

static Stmt *parse_for(Parser *p, bool is_async, Token start) {
    Token kw = advance(p);
    Stmt *s = new_stmt(p, is_async ? S_ASYNCFOR : S_FOR, tok_pos(&start));
    if (!s) return NULL;
    s->v.for_.target = parse_target_list(p);
    if (!s->v.for_.target || !check_target(p, s->v.for_.target, CTX_STORE)) return NULL;
    if (!expect(p, TK_IN)) return NULL;
    s->v.for_.iter = parse_star_expressions(p);
    if (!s->v.for_.iter || !expect_colon(p) ||
        !parse_block(p, &s->v.for_.body, "'for' statement", kw.line) ||
        !parse_else(p, &s->v.for_.orelse))
        return NULL;
    return s;
}

static bool parse_with_item(Parser *p, Vec *items) {
    WithItem *w = alloc(p, sizeof(WithItem));
    if (!w) return false;
    w->context_expr = parse_expression(p);
    if (!w->context_expr) return false;
    if (accept(p, TK_AS)) {
        Expr *t;
        if (kind(p) == TK_STAR) {
            Token st = advance(p);
            Expr *v = parse_binary(p, 1);
            if (!v) return false;
            t = new_expr(p, E_STARRED, upto(p, tok_pos(&st)));
            if (!t) return false;
            t->v.starred.value = v;
        } else {
            t = parse_binary(p, 1);
        }
        if (!t || !check_target(p, t, CTX_STORE)) return false;
        w->optional_vars = t;
    }
    return vec_push(p, items, w);
}

static Stmt *parse_with(Parser *p, bool is_async, Token start) {
    Token kw = advance(p);
    Stmt *s = new_stmt(p, is_async ? S_ASYNCWITH : S_WITH, tok_pos(&start));
    if (!s) return NULL;
    Vec items = {0};
    // `with (a, b as c):` lists items in parentheses; `with (a, b) as c:` does not.
    bool paren_items = false;
    if (kind(p) == TK_LPAR) {
        int32_t depth = 0, k = 0;
        for (;; k++) {
            TokKind t = kind_at(p, k);
            if (t == TK_LPAR || t == TK_LSQB || t == TK_LBRACE)
                depth++;
            else if (t == TK_RPAR || t == TK_RSQB || t == TK_RBRACE) {
                if (--depth == 0) break;
            } else if (t == TK_EOF || t == TK_COUNT || t == TK_NEWLINE)
                break;
        }
        paren_items = depth == 0 && kind_at(p, k + 1) == TK_COLON && kind_at(p, 1) != TK_YIELD;
    }
    if (paren_items) {
        advance(p);
        for (;;) {
            if (!parse_with_item(p, &items)) goto fail;
            if (!accept(p, TK_COMMA) || kind(p) == TK_RPAR) break;
        }
        if (!expect(p, TK_RPAR)) goto fail;
    } else {
        for (;;) {
            if (!parse_with_item(p, &items)) goto fail;
            if (!accept(p, TK_COMMA)) break;
        }
    }
    if (!expect_colon(p)) goto fail;
    s->v.with.nitems = items.len;
    s->v.with.items = alloc(p, (size_t)items.len * sizeof(WithItem));
    if (!s->v.with.items) goto fail;
    for (int32_t i = 0; i < items.len; i++) s->v.with.items[i] = *(WithItem *)items.items[i];
    vec_free(&items);
    if (!parse_block(p, &s->v.with.body, "'with' statement", kw.line)) return NULL;
    return s;
fail:
    vec_free(&items);
    return NULL;
}

static Stmt *parse_try(Parser *p) {
    Token kw = advance(p);
    Stmt *s = new_stmt(p, S_TRY, tok_pos(&kw));
    if (!s) return NULL;
    if (!expect_colon(p) || !parse_block(p, &s->v.try_.body, "'try' statement", kw.line))
        return NULL;
    Vec handlers = {0};
    int star_kind = 0; // 1: except, 2: except*
    while (kind(p) == TK_EXCEPT) {
        Token ex = advance(p);
        bool star = accept(p, TK_STAR);
        if (star_kind && star_kind != (star ? 2 : 1)) {
            error_tok(p, &ex, "cannot have both 'except' and 'except*' on the same 'try'");
            goto fail;
        }
        star_kind = star ? 2 : 1;
        ExceptHandler *h = alloc(p, sizeof(ExceptHandler));
        if (!h) goto fail;
        h->pos = tok_pos(&ex);
        if (kind(p) != TK_COLON) {
            if (star_kind == 2 && kind(p) == TK_NEWLINE) {
                Token t = *cur(p);
                error_tok(p, &t, "expected one or more exception types");
                goto fail;
            }
            h->type = parse_expression(p);
            if (!h->type) goto fail;
            if (kind(p) == TK_COMMA) {
                Pos a = h->type->pos;
                Expr *rest = NULL;
                advance(p);
                rest = parse_expression(p);
                if (!rest) goto fail;
                error_range(p, a, rest->pos, "multiple exception types must be parenthesized");
                goto fail;
            }
            if (accept(p, TK_AS)) {
                Token n = *cur(p);
                if (n.kind != TK_NAME) {
                    if (starts_expression(n.kind)) {
                        Expr *bad = parse_expression(p);
                        if (bad)
                            error_node(p, bad, "cannot use %s as exception name", expr_name(bad));
                    } else {
                        invalid_syntax(p);
                    }
                    goto fail;
                }
                advance(p);
                h->name = tok_str(p, &n);
            }
        } else if (star) {
            Token t = *cur(p);
            error_tok(p, &t, "expected one or more exception types");
            goto fail;
        }
        if (!expect_colon(p) ||
            !parse_block(p, &h->body, star ? "'except*' statement" : "'except' statement", ex.line))
            goto fail;
        if (!vec_push(p, &handlers, h)) goto fail;
    }
    if (star_kind == 2) s->kind = S_TRYSTAR;
    if (handlers.len && !parse_else(p, &s->v.try_.orelse)) goto fail;
    if (kind(p) == TK_FINALLY) {
        Token f = advance(p);
        if (!expect_colon(p) ||
            !parse_block(p, &s->v.try_.finalbody, "'finally' statement", f.line))
            goto fail;
    } else if (!handlers.len) {
        if (!p->failed) {
            Token t = *cur(p);
            error_tok(p, &t, "expected 'except' or 'finally' block");
        }
        goto fail;
    }
    s->v.try_.nhandlers = handlers.len;
    if (handlers.len) {
        s->v.try_.handlers = alloc(p, (size_t)handlers.len * sizeof(ExceptHandler));
        if (!s->v.try_.handlers) goto fail;
        for (int32_t i = 0; i < handlers.len; i++)
            s->v.try_.handlers[i] = *(ExceptHandler *)handlers.items[i];
    }
    vec_free(&handlers);
    return s;
fail:
    vec_free(&handlers);
    return NULL;
}

static Stmt *parse_funcdef(Parser *p, bool is_async, Token start, ExprList decorators) {
    Token kw = advance(p);
    Token name = *cur(p);
    if (name.kind != TK_NAME) return invalid_syntax(p);
    advance(p);
    Stmt *s = new_stmt(p, is_async ? S_ASYNCFUNCTIONDEF : S_FUNCTIONDEF, tok_pos(&start));
    if (!s) return NULL;
    s->v.funcdef.name = tok_str(p, &name);
    s->v.funcdef.decorators = decorators;
    if (kind(p) != TK_LPAR) {
        Token t = *cur(p);
        return error_tok(p, &t, "expected '('");
    }
    advance(p);
    s->v.funcdef.args = parse_parameters(p, false, TK_RPAR);
    if (!s->v.funcdef.args || !expect(p, TK_RPAR)) return NULL;
    if (accept(p, TK_RARROW)) {
        s->v.funcdef.returns = parse_expression(p);
        if (!s->v.funcdef.returns) return NULL;
    }
    if (!expect_colon(p) || !parse_block(p, &s->v.funcdef.body, "function definition", kw.line))
        return NULL;
    return s;
}

static Stmt *parse_classdef(Parser *p, Token start, ExprList decorators) {
    Token kw = advance(p);
    Token name = *cur(p);
    if (name.kind != TK_NAME) return invalid_syntax(p);
    advance(p);
    Stmt *s = new_stmt(p, S_CLASSDEF, tok_pos(&start));
    if (!s) return NULL;
    s->v.classdef.name = tok_str(p, &name);
    s->v.classdef.decorators = decorators;
    if (kind(p) == TK_LPAR) {
        Token open = advance(p);
        Expr *call = new_expr(p, E_CALL, tok_pos(&open));
        if (!call) return NULL;
        call->v.call.func = call; // only used for positions of a bare generator
        if (!parse_call_args(p, call) || !expect(p, TK_RPAR)) return NULL;
        s->v.classdef.bases = call->v.call.args;
        s->v.classdef.keywords = call->v.call.keywords;
        s->v.classdef.nkeywords = call->v.call.nkeywords;
    }
    if (!expect_colon(p) || !parse_block(p, &s->v.classdef.body, "class definition", kw.line))
        return NULL;
    return s;
}

static Stmt *parse_decorated(Parser *p) {
    Token start = *cur(p);
    Vec decs = {0};
    while (accept(p, TK_AT)) {
        Expr *d = parse_named_expression(p);
        if (!d || !vec_push(p, &decs, d)) goto fail;
        if (!expect(p, TK_NEWLINE)) goto fail;
    }
    ExprList dl = expr_list(p, &decs);
    // As in CPython, a decorated definition starts at `def`/`class`.
    Token t = *cur(p);
    (void)start;
    if (t.kind == TK_DEF) return parse_funcdef(p, false, t, dl);
    if (t.kind == TK_CLASS) return parse_classdef(p, t, dl);
    if (t.kind == TK_ASYNC && kind_at(p, 1) == TK_DEF) {
        advance(p);
        return parse_funcdef(p, true, t, dl);
    }
    return invalid_syntax(p);
fail:
    vec_free(&decs);
    return NULL;
}

// `match` is a soft keyword: a statement only when `match subject:` is
// followed by an indented block of `case` clauses.
static bool is_match_statement(Parser *p) {
    if (!is_name(p, 0, "match")) return false;
    TokKind k1 = kind_at(p, 1);
    if (k1 == TK_EQUAL || k1 == TK_DOT || k1 == TK_COLON || k1 == TK_NEWLINE || k1 == TK_COMMA ||
        k1 == TK_RPAR || k1 == TK_COUNT)
        return false;
    int32_t depth = 0;
    for (int32_t k = 1; k < 100000; k++) {
        TokKind t = kind_at(p, k);
        if (t == TK_LPAR || t == TK_LSQB || t == TK_LBRACE)
            depth++;
        else if (t == TK_RPAR || t == TK_RSQB || t == TK_RBRACE)
            depth--;
        else if (t == TK_EOF || t == TK_COUNT || t == TK_NEWLINE || t == TK_SEMI)
            return false;
        else if (t == TK_COLON && depth == 0) {
            return kind_at(p, k + 1) == TK_NEWLINE && kind_at(p, k + 2) == TK_INDENT &&
                   is_name(p, k + 3, "case");
        }
    }
    return false;
}

static bool parse_statement(Parser *p, Vec *out) {
    if (!enter(p)) return false;
    Token t = *cur(p);
    Stmt *s = NULL;
    bool ok;
    switch (t.kind) {
    case TK_IF: s = parse_if(p, false); break;
    case TK_WHILE: s = parse_while(p); break;
    case TK_FOR: s = parse_for(p, false, t); break;
    case TK_WITH: s = parse_with(p, false, t); break;
    case TK_TRY: s = parse_try(p); break;
    case TK_DEF: s = parse_funcdef(p, false, t, (ExprList){0}); break;
    case TK_CLASS: s = parse_classdef(p, t, (ExprList){0}); break;
    case TK_AT: s = parse_decorated(p); break;
    case TK_ASYNC:
        advance(p);
        switch (kind(p)) {
        case TK_DEF: s = parse_funcdef(p, true, t, (ExprList){0}); break;
        case TK_FOR: s = parse_for(p, true, t); break;
        case TK_WITH: s = parse_with(p, true, t); break;
        default: invalid_syntax(p); break;
        }
        break;
    case TK_INDENT: error_indent(p, &t, "unexpected indent"); break;
    default:
        if (t.kind == TK_NAME && is_match_statement(p)) {
            error_tok(p, &t, "'match' statements are not supported yet");
            break;
        }
        ok = parse_simple_stmts(p, out);
        leave(p);
        return ok;
    }
    leave(p);
    if (!s) return false;
    // A compound statement ends where its last real token ends.
    for (int32_t i = p->pos - 1; i >= 0; i--) {
        Token *e = &p->toks[i];
        if (e->kind == TK_NEWLINE || e->kind == TK_DEDENT || e->kind == TK_INDENT) continue;
        s->pos.end_line = e->end_line;
        s->pos.end_col = e->end_col;
        break;
    }
    return vec_push(p, out, s);
}

// ---------------------------------------------------------------------------
// Entry point

// CPython decodes the source as UTF-8 before tokenizing; report the first
// bad byte the way its "utf-8" codec does.
static bool check_source(const char *src, size_t len, SyntaxErrorInfo *err, Lexer *lx) {
    int32_t line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)src[i];
        if (c == '\n') {
            line++;
            line_start = i + 1;
            i++;
            continue;
        }
        if (c == 0) {
            lexer_error(err, SYNERR_SYNTAX, line, 0, line, 0,
                        "source code cannot contain null bytes");
            return false;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        const char *why = NULL;
        if (n == 0 || c > 0xF4) {
            why = "invalid start byte";
        } else {
            for (int k = 1; k < n; k++) {
                if (i + (size_t)k >= len) {
                    why = "unexpected end of data";
                    break;
                }
                unsigned char d = (unsigned char)src[i + (size_t)k];
                bool ok = (d & 0xC0) == 0x80;
                if (k == 1) {
                    if (c == 0xE0 && d < 0xA0) ok = false;
                    if (c == 0xED && d > 0x9F) ok = false;
                    if (c == 0xF0 && d < 0x90) ok = false;
                    if (c == 0xF4 && d > 0x8F) ok = false;
                }
                if (!ok) {
                    why = "invalid continuation byte";
                    break;
                }
            }
        }
        if (why) {
            lx->bad_line_start = src + line_start;
            lx->bad_col = (int32_t)(i - line_start);
            snprintf(lx->bad_msg, sizeof lx->bad_msg,
                     "(unicode error) 'utf-8' codec can't decode byte 0x%02x in position 0: %s", c,
                     why);
            return true;
        }
        i += (size_t)n;
    }
    return true;
}

// SyntaxError offsets count characters, not bytes (CPython converts them).
static int32_t char_col(const char *src, size_t len, int32_t line, int32_t col) {
    if (line < 1 || col < 1) return col;
    size_t i = 0;
    int32_t l = 1;
    while (l < line && i < len) {
        if (src[i] == '\n') l++;
        i++;
    }
    if (l != line) return col;
    int32_t chars = 0;
    size_t b = 0;
    for (; b + 1 < (size_t)col && i + b < len && src[i + b] != '\n'; b++) {
        if ((src[i + b] & 0xC0) != 0x80) chars++;
    }
    return chars + 1 + (int32_t)((size_t)col - 1 - b);
}

Module *parse_source(Arena *arena, const char *src, size_t len, ParseMode mode,
                     SyntaxErrorInfo *err) {
    memset(err, 0, sizeof *err);
    if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0) {
        src += 3;
        len -= 3;
    }
    Lexer lx;
    lexer_init(&lx, src, len, err);
    if (!check_source(src, len, err, &lx)) return NULL;
    Parser p = {0};
    p.failed_tok.kind = TK_COUNT;
    p.failed_tok.start = "";
    p.arena = arena;
    p.lx = &lx;
    p.err = err;
    p.mode = mode;
    Module *m = alloc(&p, sizeof(Module));
    Vec body = {0};
    if (!m) goto fail;
    if (mode == PARSE_EVAL) {
        while (accept(&p, TK_INDENT)) {}
        Token st = *cur(&p);
        Expr *e = parse_star_expressions(&p);
        if (!e) goto fail;
        while (accept(&p, TK_NEWLINE) || accept(&p, TK_DEDENT)) {}
        if (kind(&p) != TK_EOF) {
            invalid_syntax(&p);
            goto fail;
        }
        Stmt *s = new_stmt(&p, S_EXPR, e->pos);
        if (!s || !vec_push(&p, &body, s)) goto fail;
        s->v.expr.value = e;
        (void)st;
    } else if (mode == PARSE_SINGLE) {
        while (accept(&p, TK_NEWLINE)) {}
        if (kind(&p) != TK_EOF) {
            if (!parse_statement(&p, &body)) goto fail;
            while (accept(&p, TK_NEWLINE)) {}
            if (kind(&p) != TK_EOF) {
                if (p.failed) goto fail;
                Token t = *cur(&p);
                error_tok(&p, &t, "multiple statements found while compiling a single statement");
                goto fail;
            }
        }
    } else {
        for (;;) {
            TokKind k = kind(&p);
            if (k == TK_EOF) break;
            if (k == TK_COUNT) goto fail;
            if (k == TK_NEWLINE) {
                advance(&p);
                continue;
            }
            if (!parse_statement(&p, &body)) goto fail;
        }
    }
    if (p.failed) goto fail;
    m->body = stmt_list(&p, &body);
    free(p.toks);
    if (p.failed) return NULL;
    return m;
fail:
    vec_free(&body);
    recheck_tail(&p, &lx);
    free(p.toks);
    err->col = char_col(src, len, err->line, err->col);
    if (err->end_line > 0) err->end_col = char_col(src, len, err->end_line, err->end_col);
    if (!err->msg[0]) {
        snprintf(err->msg, sizeof err->msg, "invalid syntax");
        err->kind = SYNERR_SYNTAX;
    }
    // Input that ended inside a bracket can continue (the REPL asks for more).
    if (strstr(err->msg, "was never closed")) err->incomplete = true;
    return NULL;
}
