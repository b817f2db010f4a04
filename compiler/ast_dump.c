// ast_dump.c - print the AST like CPython's ast.dump(tree).
//
// Used by the parser tests: the corpus compares this output with what
// python3's ast module prints, so every detail (field order, omitted None
// fields, the repr of constants) follows CPython 3.11.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"

typedef struct Out {
    char *data;
    size_t len, cap;
    bool oom;
} Out;

static void put(Out *o, const char *s, size_t n) {
    if (o->oom) return;
    if (o->len + n + 1 > o->cap) {
        size_t ncap = o->cap ? o->cap * 2 : 1024;
        while (ncap < o->len + n + 1) ncap *= 2;
        char *d = realloc(o->data, ncap);
        if (!d) {
            o->oom = true;
            return;
        }
        o->data = d;
        o->cap = ncap;
    }
    memcpy(o->data + o->len, s, n);
    o->len += n;
    o->data[o->len] = '\0';
}

static void puts_(Out *o, const char *s) { put(o, s, strlen(s)); }

static void putf(Out *o, const char *fmt, long long v) {
    char b[64];
    int n = snprintf(b, sizeof b, fmt, v);
    put(o, b, (size_t)n);
}

// ---------------------------------------------------------------------------
// Constants, as Python's repr() writes them

// repr(float): shortest digits that round-trip; exponent form outside
// 1e-4 <= |x| < 1e16.
static void float_repr(Out *o, double d, bool imag) {
    if (isnan(d)) {
        puts_(o, "nan");
        return;
    }
    if (isinf(d)) {
        puts_(o, d < 0 ? "-inf" : "inf");
        return;
    }
    char buf[64];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d) break;
    }
    // buf: [-]D[.DDD]e[+-]XX
    char digits[32];
    int nd = 0;
    const char *q = buf;
    bool neg = false;
    if (*q == '-') {
        neg = true;
        q++;
    }
    for (; *q && *q != 'e'; q++)
        if (*q != '.') digits[nd++] = *q;
    int exp = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    if (neg) puts_(o, "-");
    if (exp >= -4 && exp < 16) {
        if (exp < 0) {
            puts_(o, "0.");
            for (int i = 0; i < -exp - 1; i++) puts_(o, "0");
            put(o, digits, (size_t)nd);
        } else {
            int ip = exp + 1;
            for (int i = 0; i < ip; i++) put(o, i < nd ? &digits[i] : "0", 1);
            if (nd > ip) {
                puts_(o, ".");
                put(o, digits + ip, (size_t)(nd - ip));
            } else if (!imag) {
                puts_(o, ".0");
            }
        }
    } else {
        put(o, digits, 1);
        if (nd > 1) {
            puts_(o, ".");
            put(o, digits + 1, (size_t)(nd - 1));
        }
        char e[16];
        snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        puts_(o, e);
    }
}

static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i) {
    unsigned char c = s[*i];
    uint32_t cp;
    int n;
    if (c < 0x80) {
        cp = c;
        n = 1;
    } else if ((c & 0xE0) == 0xC0) {
        cp = c & 0x1F;
        n = 2;
    } else if ((c & 0xF0) == 0xE0) {
        cp = c & 0x0F;
        n = 3;
    } else {
        cp = c & 0x07;
        n = 4;
    }
    for (int k = 1; k < n; k++) {
        if (*i + (size_t)k >= len) {
            n = k;
            break;
        }
        cp = (cp << 6) | (s[*i + (size_t)k] & 0x3F);
    }
    *i += (size_t)n;
    return cp;
}

// Roughly str.isprintable() for the code points that matter in practice.
static bool printable(uint32_t cp) {
    if (cp < 0x20 || cp == 0x7F) return false;
    if (cp >= 0x80 && cp <= 0xA0) return false;
    if (cp == 0xAD) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;
    if (cp >= 0x2028 && cp <= 0x202E) return false;
    if (cp >= 0x200B && cp <= 0x200F) return false;
    if (cp >= 0x2060 && cp <= 0x2064) return false;
    if ((cp & 0xFFFE) == 0xFFFE || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp >= 0xFFF0 && cp <= 0xFFFB))
        return false;
    if (cp == 0x061C || cp == 0x180E || (cp >= 0x2066 && cp <= 0x206F) || cp == 0x00AD)
        return false;
    if (cp == 0xFEFF || cp == 0x3000 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A))
        return false;
    if (cp == 0x2029 || cp == 0x205F || cp == 0x202F) return false;
    if (cp >= 0xE000 && cp <= 0xF8FF) return false;
    if (cp >= 0xF0000) return false;
    return true;
}

static void str_repr(Out *o, const char *s, size_t len, bool bytes) {
    const unsigned char *u = (const unsigned char *)s;
    bool sq = memchr(s, '\'', len) != NULL, dq = memchr(s, '"', len) != NULL;
    char quote = sq && !dq ? '"' : '\'';
    if (bytes) puts_(o, "b");
    put(o, &quote, 1);
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        char b[16];
        if (c == (unsigned char)quote || c == '\\') {
            b[0] = '\\';
            b[1] = (char)c;
            put(o, b, 2);
            i++;
        } else if (c == '\n') {
            puts_(o, "\\n");
            i++;
        } else if (c == '\r') {
            puts_(o, "\\r");
            i++;
        } else if (c == '\t') {
            puts_(o, "\\t");
            i++;
        } else if (c < 0x20 || c == 0x7F || (bytes && c >= 0x80)) {
            snprintf(b, sizeof b, "\\x%02x", c);
            puts_(o, b);
            i++;
        } else if (c < 0x80) {
            put(o, (const char *)&u[i], 1);
            i++;
        } else {
            size_t st = i;
            uint32_t cp = utf8_next(u, len, &i);
            if (printable(cp)) {
                put(o, (const char *)&u[st], i - st);
            } else {
                if (cp <= 0xFF)
                    snprintf(b, sizeof b, "\\x%02x", cp);
                else if (cp <= 0xFFFF)
                    snprintf(b, sizeof b, "\\u%04x", cp);
                else
                    snprintf(b, sizeof b, "\\U%08x", cp);
                puts_(o, b);
            }
        }
    }
    put(o, &quote, 1);
}

// Python prints ints in decimal whatever the literal's base.
static void bigint_repr(Out *o, const char *text, size_t len) {
    int base = 10;
    const char *d = text;
    if (len > 1 && text[0] == '0') {
        char x = text[1] | 0x20;
        base = x == 'x' ? 16 : x == 'o' ? 8 : x == 'b' ? 2 : 10;
        if (base != 10) d += 2;
    }
    size_t nd = len - (size_t)(d - text);
    if (base == 10) {
        while (nd > 1 && *d == '0') {
            d++;
            nd--;
        }
        put(o, d, nd);
        return;
    }
    // Schoolbook conversion into base 1e9 limbs (little-endian).
    size_t cap = nd / 2 + 2, n = 0;
    uint32_t *limbs = calloc(cap, sizeof(uint32_t));
    if (!limbs) {
        o->oom = true;
        return;
    }
    for (size_t i = 0; i < nd; i++) {
        char c = d[i];
        uint64_t carry = (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        for (size_t k = 0; k < n; k++) {
            uint64_t v = (uint64_t)limbs[k] * (uint64_t)base + carry;
            limbs[k] = (uint32_t)(v % 1000000000u);
            carry = v / 1000000000u;
        }
        while (carry) {
            limbs[n++] = (uint32_t)(carry % 1000000000u);
            carry /= 1000000000u;
        }
    }
    if (n == 0)
        puts_(o, "0");
    else {
        putf(o, "%lld", (long long)limbs[n - 1]);
        for (size_t k = n - 1; k-- > 0;) putf(o, "%09lld", (long long)limbs[k]);
    }
    free(limbs);
}

static void constant(Out *o, const Constant *c) {
    switch (c->kind) {
    case CONST_NONE: puts_(o, "None"); break;
    case CONST_TRUE: puts_(o, "True"); break;
    case CONST_FALSE: puts_(o, "False"); break;
    case CONST_ELLIPSIS: puts_(o, "Ellipsis"); break;
    case CONST_INT: putf(o, "%lld", (long long)c->i); break;
    case CONST_BIGINT: bigint_repr(o, c->text, c->len); break;
    case CONST_FLOAT: float_repr(o, c->f, false); break;
    case CONST_COMPLEX:
        float_repr(o, c->f, true);
        puts_(o, "j");
        break;
    case CONST_STR: str_repr(o, c->text, c->len, false); break;
    case CONST_BYTES: str_repr(o, c->text, c->len, true); break;
    }
}

// ---------------------------------------------------------------------------
// Nodes. Deep trees are bounded by the parser's depth limit, so plain
// recursion is safe here.

static void expr(Out *o, const Expr *e);
static void stmts(Out *o, StmtList l);

static void exprs(Out *o, ExprList l) {
    puts_(o, "[");
    for (int32_t i = 0; i < l.len; i++) {
        if (i) puts_(o, ", ");
        expr(o, l.items[i]);
    }
    puts_(o, "]");
}

static void ctx(Out *o, ExprContext c) {
    puts_(o, c == CTX_LOAD ? "Load()" : c == CTX_STORE ? "Store()" : "Del()");
}

static void field(Out *o, const char *name, const Expr *e) {
    if (!e) return;
    puts_(o, ", ");
    puts_(o, name);
    puts_(o, "=");
    expr(o, e);
}

static void arg(Out *o, const Arg *a) {
    puts_(o, "arg(arg='");
    puts_(o, a->name);
    puts_(o, "'");
    field(o, "annotation", a->annotation);
    puts_(o, ")");
}

static void args_list(Out *o, const Arg *a, int32_t n) {
    puts_(o, "[");
    for (int32_t i = 0; i < n; i++) {
        if (i) puts_(o, ", ");
        arg(o, &a[i]);
    }
    puts_(o, "]");
}

static void arguments(Out *o, const Arguments *a) {
    puts_(o, "arguments(posonlyargs=");
    args_list(o, a->posonlyargs, a->nposonly);
    puts_(o, ", args=");
    args_list(o, a->args, a->nargs);
    if (a->vararg) {
        puts_(o, ", vararg=");
        arg(o, a->vararg);
    }
    puts_(o, ", kwonlyargs=");
    args_list(o, a->kwonlyargs, a->nkwonly);
    puts_(o, ", kw_defaults=[");
    for (int32_t i = 0; i < a->nkwonly; i++) {
        if (i) puts_(o, ", ");
        if (a->kw_defaults[i])
            expr(o, a->kw_defaults[i]);
        else
            puts_(o, "None");
    }
    puts_(o, "]");
    if (a->kwarg) {
        puts_(o, ", kwarg=");
        arg(o, a->kwarg);
    }
    puts_(o, ", defaults=");
    exprs(o, a->defaults);
    puts_(o, ")");
}

static void keywords(Out *o, const Keyword *k, int32_t n) {
    puts_(o, "[");
    for (int32_t i = 0; i < n; i++) {
        if (i) puts_(o, ", ");
        puts_(o, "keyword(");
        if (k[i].arg) {
            puts_(o, "arg='");
            puts_(o, k[i].arg);
            puts_(o, "', ");
        }
        puts_(o, "value=");
        expr(o, k[i].value);
        puts_(o, ")");
    }
    puts_(o, "]");
}

static void comprehensions(Out *o, const Comprehension *c, int32_t n) {
    puts_(o, "[");
    for (int32_t i = 0; i < n; i++) {
        if (i) puts_(o, ", ");
        puts_(o, "comprehension(target=");
        expr(o, c[i].target);
        puts_(o, ", iter=");
        expr(o, c[i].iter);
        puts_(o, ", ifs=");
        exprs(o, c[i].ifs);
        puts_(o, c[i].is_async ? ", is_async=1)" : ", is_async=0)");
    }
    puts_(o, "]");
}

static const char *const binop_names[] = {
    "Add()", "Sub()",    "Mult()",   "MatMult()", "Div()",   "FloorDiv()", "Mod()",
    "Pow()", "LShift()", "RShift()", "BitAnd()",  "BitOr()", "BitXor()",
};
static const char *const unop_names[] = {"Invert()", "Not()", "UAdd()", "USub()"};
static const char *const cmp_names[] = {
    "Lt()", "LtE()", "Eq()", "NotEq()", "Gt()", "GtE()", "Is()", "IsNot()", "In()", "NotIn()",
};

static void expr(Out *o, const Expr *e) {
    switch (e->kind) {
    case E_BOOLOP:
        puts_(o,
              e->v.boolop.op == BOOL_AND ? "BoolOp(op=And(), values=" : "BoolOp(op=Or(), values=");
        exprs(o, e->v.boolop.values);
        puts_(o, ")");
        break;
    case E_NAMEDEXPR:
        puts_(o, "NamedExpr(target=");
        expr(o, e->v.namedexpr.target);
        field(o, "value", e->v.namedexpr.value);
        puts_(o, ")");
        break;
    case E_BINOP:
        puts_(o, "BinOp(left=");
        expr(o, e->v.binop.left);
        puts_(o, ", op=");
        puts_(o, binop_names[e->v.binop.op]);
        field(o, "right", e->v.binop.right);
        puts_(o, ")");
        break;
    case E_UNARYOP:
        puts_(o, "UnaryOp(op=");
        puts_(o, unop_names[e->v.unaryop.op]);
        field(o, "operand", e->v.unaryop.operand);
        puts_(o, ")");
        break;
    case E_LAMBDA:
        puts_(o, "Lambda(args=");
        arguments(o, e->v.lambda.args);
        field(o, "body", e->v.lambda.body);
        puts_(o, ")");
        break;
    case E_IFEXP:
        puts_(o, "IfExp(test=");
        expr(o, e->v.ifexp.test);
        field(o, "body", e->v.ifexp.body);
        field(o, "orelse", e->v.ifexp.orelse);
        puts_(o, ")");
        break;
    case E_DICT:
        puts_(o, "Dict(keys=[");
        for (int32_t i = 0; i < e->v.dict.len; i++) {
            if (i) puts_(o, ", ");
            if (e->v.dict.keys[i])
                expr(o, e->v.dict.keys[i]);
            else
                puts_(o, "None");
        }
        puts_(o, "], values=[");
        for (int32_t i = 0; i < e->v.dict.len; i++) {
            if (i) puts_(o, ", ");
            expr(o, e->v.dict.values[i]);
        }
        puts_(o, "])");
        break;
    case E_SET:
        puts_(o, "Set(elts=");
        exprs(o, e->v.set.elts);
        puts_(o, ")");
        break;
    case E_LISTCOMP:
    case E_SETCOMP:
    case E_GENERATOREXP:
        puts_(o, e->kind == E_LISTCOMP  ? "ListComp(elt="
                 : e->kind == E_SETCOMP ? "SetComp(elt="
                                        : "GeneratorExp(elt=");
        expr(o, e->v.comp.elt);
        puts_(o, ", generators=");
        comprehensions(o, e->v.comp.generators, e->v.comp.ngenerators);
        puts_(o, ")");
        break;
    case E_DICTCOMP:
        puts_(o, "DictComp(key=");
        expr(o, e->v.comp.key);
        field(o, "value", e->v.comp.value);
        puts_(o, ", generators=");
        comprehensions(o, e->v.comp.generators, e->v.comp.ngenerators);
        puts_(o, ")");
        break;
    case E_AWAIT:
        puts_(o, "Await(value=");
        expr(o, e->v.await_.value);
        puts_(o, ")");
        break;
    case E_YIELD:
        puts_(o, "Yield(");
        if (e->v.yield.value) {
            puts_(o, "value=");
            expr(o, e->v.yield.value);
        }
        puts_(o, ")");
        break;
    case E_YIELDFROM:
        puts_(o, "YieldFrom(value=");
        expr(o, e->v.yieldfrom.value);
        puts_(o, ")");
        break;
    case E_COMPARE:
        puts_(o, "Compare(left=");
        expr(o, e->v.compare.left);
        puts_(o, ", ops=[");
        for (int32_t i = 0; i < e->v.compare.comparators.len; i++) {
            if (i) puts_(o, ", ");
            puts_(o, cmp_names[e->v.compare.ops[i]]);
        }
        puts_(o, "], comparators=");
        exprs(o, e->v.compare.comparators);
        puts_(o, ")");
        break;
    case E_CALL:
        puts_(o, "Call(func=");
        expr(o, e->v.call.func);
        puts_(o, ", args=");
        exprs(o, e->v.call.args);
        puts_(o, ", keywords=");
        keywords(o, e->v.call.keywords, e->v.call.nkeywords);
        puts_(o, ")");
        break;
    case E_FORMATTEDVALUE:
        puts_(o, "FormattedValue(value=");
        expr(o, e->v.formatted.value);
        putf(o, ", conversion=%lld", e->v.formatted.conversion);
        field(o, "format_spec", e->v.formatted.format_spec);
        puts_(o, ")");
        break;
    case E_JOINEDSTR:
        puts_(o, "JoinedStr(values=");
        exprs(o, e->v.joinedstr.values);
        puts_(o, ")");
        break;
    case E_CONSTANT:
        puts_(o, "Constant(value=");
        constant(o, &e->v.constant);
        puts_(o, ")");
        break;
    case E_ATTRIBUTE:
        puts_(o, "Attribute(value=");
        expr(o, e->v.attribute.value);
        puts_(o, ", attr='");
        puts_(o, e->v.attribute.attr);
        puts_(o, "', ctx=");
        ctx(o, e->v.attribute.ctx);
        puts_(o, ")");
        break;
    case E_SUBSCRIPT:
        puts_(o, "Subscript(value=");
        expr(o, e->v.subscript.value);
        field(o, "slice", e->v.subscript.slice);
        puts_(o, ", ctx=");
        ctx(o, e->v.subscript.ctx);
        puts_(o, ")");
        break;
    case E_STARRED:
        puts_(o, "Starred(value=");
        expr(o, e->v.starred.value);
        puts_(o, ", ctx=");
        ctx(o, e->v.starred.ctx);
        puts_(o, ")");
        break;
    case E_NAME:
        puts_(o, "Name(id='");
        puts_(o, e->v.name.id);
        puts_(o, "', ctx=");
        ctx(o, e->v.name.ctx);
        puts_(o, ")");
        break;
    case E_LIST:
    case E_TUPLE:
        puts_(o, e->kind == E_LIST ? "List(elts=" : "Tuple(elts=");
        exprs(o, e->v.list.elts);
        puts_(o, ", ctx=");
        ctx(o, e->v.list.ctx);
        puts_(o, ")");
        break;
    case E_SLICE: {
        puts_(o, "Slice(");
        const char *sep = "";
        const Expr *parts[3] = {e->v.slice.lower, e->v.slice.upper, e->v.slice.step};
        const char *names[3] = {"lower=", "upper=", "step="};
        for (int i = 0; i < 3; i++) {
            if (!parts[i]) continue;
            puts_(o, sep);
            puts_(o, names[i]);
            expr(o, parts[i]);
            sep = ", ";
        }
        puts_(o, ")");
        break;
    }
    }
}

static void alias(Out *o, const Alias *a, int32_t n) {
    puts_(o, "[");
    for (int32_t i = 0; i < n; i++) {
        if (i) puts_(o, ", ");
        puts_(o, "alias(name='");
        puts_(o, a[i].name);
        puts_(o, "'");
        if (a[i].asname) {
            puts_(o, ", asname='");
            puts_(o, a[i].asname);
            puts_(o, "'");
        }
        puts_(o, ")");
    }
    puts_(o, "]");
}

static void body_field(Out *o, const char *name, StmtList l) {
    puts_(o, ", ");
    puts_(o, name);
    puts_(o, "=");
    stmts(o, l);
}

static void stmt(Out *o, const Stmt *s) {
    switch (s->kind) {
    case S_FUNCTIONDEF:
    case S_ASYNCFUNCTIONDEF:
        puts_(o, s->kind == S_FUNCTIONDEF ? "FunctionDef(name='" : "AsyncFunctionDef(name='");
        puts_(o, s->v.funcdef.name);
        puts_(o, "', args=");
        arguments(o, s->v.funcdef.args);
        body_field(o, "body", s->v.funcdef.body);
        puts_(o, ", decorator_list=");
        exprs(o, s->v.funcdef.decorators);
        field(o, "returns", s->v.funcdef.returns);
        puts_(o, ")");
        break;
    case S_CLASSDEF:
        puts_(o, "ClassDef(name='");
        puts_(o, s->v.classdef.name);
        puts_(o, "', bases=");
        exprs(o, s->v.classdef.bases);
        puts_(o, ", keywords=");
        keywords(o, s->v.classdef.keywords, s->v.classdef.nkeywords);
        body_field(o, "body", s->v.classdef.body);
        puts_(o, ", decorator_list=");
        exprs(o, s->v.classdef.decorators);
        puts_(o, ")");
        break;
    case S_RETURN:
        puts_(o, "Return(");
        if (s->v.return_.value) {
            puts_(o, "value=");
            expr(o, s->v.return_.value);
        }
        puts_(o, ")");
        break;
    case S_DELETE:
        puts_(o, "Delete(targets=");
        exprs(o, s->v.delete_.targets);
        puts_(o, ")");
        break;
    case S_ASSIGN:
        puts_(o, "Assign(targets=");
        exprs(o, s->v.assign.targets);
        field(o, "value", s->v.assign.value);
        puts_(o, ")");
        break;
    case S_AUGASSIGN:
        puts_(o, "AugAssign(target=");
        expr(o, s->v.augassign.target);
        puts_(o, ", op=");
        puts_(o, binop_names[s->v.augassign.op]);
        field(o, "value", s->v.augassign.value);
        puts_(o, ")");
        break;
    case S_ANNASSIGN:
        puts_(o, "AnnAssign(target=");
        expr(o, s->v.annassign.target);
        field(o, "annotation", s->v.annassign.annotation);
        field(o, "value", s->v.annassign.value);
        puts_(o, s->v.annassign.simple ? ", simple=1)" : ", simple=0)");
        break;
    case S_FOR:
    case S_ASYNCFOR:
        puts_(o, s->kind == S_FOR ? "For(target=" : "AsyncFor(target=");
        expr(o, s->v.for_.target);
        field(o, "iter", s->v.for_.iter);
        body_field(o, "body", s->v.for_.body);
        body_field(o, "orelse", s->v.for_.orelse);
        puts_(o, ")");
        break;
    case S_WHILE:
    case S_IF:
        puts_(o, s->kind == S_WHILE ? "While(test=" : "If(test=");
        expr(o, s->v.if_.test);
        body_field(o, "body", s->v.if_.body);
        body_field(o, "orelse", s->v.if_.orelse);
        puts_(o, ")");
        break;
    case S_WITH:
    case S_ASYNCWITH:
        puts_(o, s->kind == S_WITH ? "With(items=[" : "AsyncWith(items=[");
        for (int32_t i = 0; i < s->v.with.nitems; i++) {
            if (i) puts_(o, ", ");
            puts_(o, "withitem(context_expr=");
            expr(o, s->v.with.items[i].context_expr);
            field(o, "optional_vars", s->v.with.items[i].optional_vars);
            puts_(o, ")");
        }
        puts_(o, "]");
        body_field(o, "body", s->v.with.body);
        puts_(o, ")");
        break;
    case S_MATCH: puts_(o, "Match()"); break;
    case S_RAISE:
        puts_(o, "Raise(");
        if (s->v.raise.exc) {
            puts_(o, "exc=");
            expr(o, s->v.raise.exc);
            field(o, "cause", s->v.raise.cause);
        } else if (s->v.raise.cause) {
            puts_(o, "cause=");
            expr(o, s->v.raise.cause);
        }
        puts_(o, ")");
        break;
    case S_TRY:
    case S_TRYSTAR:
        puts_(o, s->kind == S_TRY ? "Try(body=" : "TryStar(body=");
        stmts(o, s->v.try_.body);
        puts_(o, ", handlers=[");
        for (int32_t i = 0; i < s->v.try_.nhandlers; i++) {
            const ExceptHandler *h = &s->v.try_.handlers[i];
            if (i) puts_(o, ", ");
            puts_(o, "ExceptHandler(");
            if (h->type) {
                puts_(o, "type=");
                expr(o, h->type);
                puts_(o, ", ");
            }
            if (h->name) {
                puts_(o, "name='");
                puts_(o, h->name);
                puts_(o, "', ");
            }
            puts_(o, "body=");
            stmts(o, h->body);
            puts_(o, ")");
        }
        puts_(o, "]");
        body_field(o, "orelse", s->v.try_.orelse);
        body_field(o, "finalbody", s->v.try_.finalbody);
        puts_(o, ")");
        break;
    case S_ASSERT:
        puts_(o, "Assert(test=");
        expr(o, s->v.assert_.test);
        field(o, "msg", s->v.assert_.msg);
        puts_(o, ")");
        break;
    case S_IMPORT:
        puts_(o, "Import(names=");
        alias(o, s->v.import.names, s->v.import.nnames);
        puts_(o, ")");
        break;
    case S_IMPORTFROM:
        puts_(o, "ImportFrom(");
        if (s->v.importfrom.module) {
            puts_(o, "module='");
            puts_(o, s->v.importfrom.module);
            puts_(o, "', ");
        }
        puts_(o, "names=");
        alias(o, s->v.importfrom.names, s->v.importfrom.nnames);
        putf(o, ", level=%lld)", s->v.importfrom.level);
        break;
    case S_GLOBAL:
    case S_NONLOCAL:
        puts_(o, s->kind == S_GLOBAL ? "Global(names=[" : "Nonlocal(names=[");
        for (int32_t i = 0; i < s->v.global.nnames; i++) {
            if (i) puts_(o, ", ");
            puts_(o, "'");
            puts_(o, s->v.global.names[i]);
            puts_(o, "'");
        }
        puts_(o, "])");
        break;
    case S_EXPR:
        puts_(o, "Expr(value=");
        expr(o, s->v.expr.value);
        puts_(o, ")");
        break;
    case S_PASS: puts_(o, "Pass()"); break;
    case S_BREAK: puts_(o, "Break()"); break;
    case S_CONTINUE: puts_(o, "Continue()"); break;
    }
}

static void stmts(Out *o, StmtList l) {
    puts_(o, "[");
    for (int32_t i = 0; i < l.len; i++) {
        if (i) puts_(o, ", ");
        stmt(o, l.items[i]);
    }
    puts_(o, "]");
}

char *ast_dump(const Module *m, ParseMode mode) {
    Out o = {0};
    if (mode == PARSE_EVAL) {
        puts_(&o, "Expression(body=");
        if (m->body.len == 1 && m->body.items[0]->kind == S_EXPR)
            expr(&o, m->body.items[0]->v.expr.value);
        puts_(&o, ")");
    } else if (mode == PARSE_SINGLE) {
        puts_(&o, "Interactive(body=");
        stmts(&o, m->body);
        puts_(&o, ")");
    } else {
        puts_(&o, "Module(body=");
        stmts(&o, m->body);
        puts_(&o, ", type_ignores=[])");
    }
    if (o.oom) {
        free(o.data);
        return NULL;
    }
    return o.data;
}
