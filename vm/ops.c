// ops.c - the abstract operations: what `a + b`, `a < b`, `repr(x)`,
// `x.attr`, `x[k]`, `iter(x)`, `isinstance(x, C)` mean for any value.
//
// Everything dispatches through type slots (object.h), except binary and
// unary arithmetic, which look dunders up by name so that the reflected-
// operand rules of Python hold for builtin and script types alike. Small
// ints, floats and exact strs have fast paths here too (the interpreter has
// its own, but natives call these).
//
// GC: operands given to these functions are rooted by the caller. Results
// of script dunders that are then passed to more script code are rooted
// here with vm_push_root.
#include <string.h>

#include "frame.h"
#include "vm.h"
#include "opcodes.h"

// ---------------------------------------------------------------------------
// Types

TypeObject *vm_type_of(EddyVM *vm, Value v) {
    switch (v.tag) {
    case V_OBJ: return v.as.o->type;
    case V_INT: return vm->t_int;
    case V_FLOAT: return vm->t_float;
    case V_BOOL: return vm->t_bool;
    default: return vm->t_nonetype;
    }
}

const char *vm_type_name(EddyVM *vm, Value v) { return vm_type_of(vm, v)->name->data; }

bool type_is_subtype(TypeObject *a, TypeObject *b) {
    if (a == b) return true;
    TupleObject *mro = a->mro;
    if (mro) {
        for (size_t i = 1; i < mro->len; i++)
            if (AS_OBJ(mro->items[i]) == &b->hdr) return true;
        return false;
    }
    for (a = a->base; a; a = a->base)
        if (a == b) return true;
    return false;
}

static bool is_notimpl(EddyVM *vm, Value v) {
    return IS_OBJ(v) && AS_OBJ(v) == AS_OBJ(vm->not_implemented);
}

// ---------------------------------------------------------------------------
// Calling a dunder found on a type

Value vm_call_special(EddyVM *vm, Value descr, Value self, Value *args, int nargs,
                      TupleObject *kwnames) {
    if (IS_OBJ(descr)) {
        TypeObject *dt = OBJ_TYPE(AS_OBJ(descr));
        if (dt == vm->t_function) return func_call_with_self(vm, descr, self, args, nargs, kwnames);
        if (dt == vm->t_builtin_function) {
            NativeFunctionObject *nf = (NativeFunctionObject *)AS_OBJ(descr);
            if (IS_NULL(nf->self) && (nf->flags & NATIVE_METHOD))
                return func_call_with_self(vm, descr, self, args, nargs, kwnames);
        }
        if (dt->descr_get) {
            Value bound = dt->descr_get(vm, descr, self, vm_type_of(vm, self));
            if (IS_NULL(bound)) return VAL_NULL;
            if (vm_push_root(vm, bound) < 0) return VAL_NULL;
            Value r = vm_call(vm, bound, args, nargs, kwnames);
            vm_pop_roots(vm, 1);
            return r;
        }
    }
    return vm_call(vm, descr, args, nargs, kwnames);
}

// Look a dunder up on type(v); None counts as absent.
static Value special(EddyVM *vm, Value v, StrObject *name) {
    Value f = type_lookup(vm, vm_type_of(vm, v), name);
    return IS_NONE(f) ? VAL_NULL : f;
}

// ---------------------------------------------------------------------------
// repr / str / ascii / format

static uint32_t depth_limit(EddyVM *vm) {
    uint32_t lim = vm->recursion_limit ? vm->recursion_limit : 1000;
    return lim > 10000 ? 10000 : lim;
}

static bool enter(EddyVM *vm, const char *what) {
    if (++vm->c_depth > depth_limit(vm)) {
        vm->c_depth--;
        vm_raise(vm, vm->exc_RecursionError, "maximum recursion depth exceeded%s", what);
        return false;
    }
    return true;
}

Value vm_repr(EddyVM *vm, Value v) {
    TypeObject *t = vm_type_of(vm, v);
    if (!enter(vm, " while getting the repr of an object")) return VAL_NULL;
    Value r = t->repr ? t->repr(vm, v) : VAL_NULL;
    vm->c_depth--;
    if (!t->repr) return vm_raise(vm, vm->exc_TypeError, "'%s' object has no repr", t->name->data);
    if (IS_NULL(r)) return r;
    if (!is_str(vm, r))
        return vm_raise(vm, vm->exc_TypeError, "__repr__ returned non-string (type %s)",
                        vm_type_name(vm, r));
    return r;
}

Value vm_str(EddyVM *vm, Value v) {
    // A machine int is exactly an int (no subclass, no __str__ to run).
    if (IS_INT(v)) return int_to_str(vm, v, 10);
    TypeObject *t = vm_type_of(vm, v);
    if (t == vm->t_str) return v;
    if (!t->str) return vm_repr(vm, v);
    if (!enter(vm, " while getting the str of an object")) return VAL_NULL;
    Value r = t->str(vm, v);
    vm->c_depth--;
    if (IS_NULL(r)) return r;
    if (!is_str(vm, r))
        return vm_raise(vm, vm->exc_TypeError, "__str__ returned non-string (type %s)",
                        vm_type_name(vm, r));
    return r;
}

// Decode one UTF-8 sequence (input is valid UTF-8: strs are).
static size_t utf8_next(const unsigned char *s, uint32_t *cp) {
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if ((s[0] & 0xF0) == 0xE0) {
        *cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
          ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    return 4;
}

Value vm_ascii(EddyVM *vm, Value v) {
    Value r = vm_repr(vm, v);
    if (IS_NULL(r)) return r;
    StrObject *s = AS_STR(r);
    if (s->ascii) return r;
    StrBuf b;
    strbuf_init(vm, &b);
    const unsigned char *p = (const unsigned char *)s->data, *end = p + s->len;
    while (p < end) {
        uint32_t cp;
        p += utf8_next(p, &cp);
        if (cp < 0x80)
            strbuf_append_char(&b, (char)cp);
        else if (cp < 0x100)
            strbuf_printf(&b, "\\x%02x", (unsigned)cp);
        else if (cp < 0x10000)
            strbuf_printf(&b, "\\u%04x", (unsigned)cp);
        else
            strbuf_printf(&b, "\\U%08x", (unsigned)cp);
    }
    StrObject *out = strbuf_finish(&b);
    return out ? v_obj(out) : VAL_NULL;
}

Value vm_format(EddyVM *vm, Value v, Value spec) {
    if (!is_str(vm, spec))
        return vm_raise(vm, vm->exc_TypeError, "format() argument 2 must be str, not %s",
                        vm_type_name(vm, spec));
    StrObject *sp = AS_STR(spec);
    if (IS_INT(v)) return format_int(vm, v, sp);
    if (IS_FLOAT(v)) return format_float(vm, AS_FLOAT(v), sp);
    if (is_exact(v, vm->t_str)) return sp->len == 0 ? v : format_str(vm, AS_STR(v), sp);
    Value f = special(vm, v, vm->names.__format__);
    if (IS_NULL(f))
        return vm_raise(vm, vm->exc_TypeError, "Type %s doesn't define __format__",
                        vm_type_name(vm, v));
    Value r = vm_call_special(vm, f, v, &spec, 1, NULL);
    if (IS_NULL(r)) return r;
    if (!is_str(vm, r))
        return vm_raise(vm, vm->exc_TypeError, "__format__ must return a str, not %s",
                        vm_type_name(vm, r));
    return r;
}

// ---------------------------------------------------------------------------
// hash, truth

int vm_hash(EddyVM *vm, Value v, int64_t *out) {
    switch (v.tag) {
    case V_INT: *out = int_hash(v); return 0;
    case V_FLOAT: *out = float_hash(AS_FLOAT(v)); return 0;
    case V_BOOL: *out = AS_BOOL(v); return 0;
    default: break;
    }
    TypeObject *t = vm_type_of(vm, v);
    if (t == vm->t_str) {
        *out = str_hash(AS_STR(v));
        return 0;
    }
    if (!t->hash) {
        vm_raise(vm, vm->exc_TypeError, "unhashable type: '%s'", t->name->data);
        return -1;
    }
    // Tuples hash their items: a deeply nested one must not overflow the C stack.
    if (!enter(vm, "")) return -1;
    int r = t->hash(vm, v, out);
    vm->c_depth--;
    return r;
}

int vm_truthy(EddyVM *vm, Value v) {
    switch (v.tag) {
    case V_BOOL: return AS_BOOL(v);
    case V_INT: return AS_INT(v) != 0;
    case V_FLOAT: return AS_FLOAT(v) != 0.0;
    case V_NONE:
    case V_NULL: return 0;
    default: break;
    }
    TypeObject *t = OBJ_TYPE(AS_OBJ(v));
    if (t == vm->t_str) return AS_STR(v)->len != 0;
    if (t->truthy) return t->truthy(vm, v);
    if (t->len) {
        int64_t n = t->len(vm, v);
        return n < 0 ? -1 : n != 0;
    }
    return 1;
}

// ---------------------------------------------------------------------------
// Comparison

static const char *const cmp_symbol[6] = {"<", "<=", "==", "!=", ">", ">="};
static const int cmp_swap[6] = {CMP_GT, CMP_GE, CMP_EQ, CMP_NE, CMP_LT, CMP_LE};

static bool cmp_result(int c, int op) {
    switch (op) {
    case CMP_LT: return c < 0;
    case CMP_LE: return c <= 0;
    case CMP_EQ: return c == 0;
    case CMP_NE: return c != 0;
    case CMP_GT: return c > 0;
    default: return c >= 0;
    }
}

// Fast paths: 1 handled (*out), 0 not handled.
static int compare_fast(EddyVM *vm, Value a, Value b, int op, bool *out) {
    if (IS_INT(a) && IS_INT(b)) {
        int64_t x = AS_INT(a), y = AS_INT(b);
        *out = cmp_result(x < y ? -1 : x > y, op);
        return 1;
    }
    if (IS_FLOAT(a) && IS_FLOAT(b)) {
        double x = AS_FLOAT(a), y = AS_FLOAT(b);
        switch (op) {
        case CMP_LT: *out = x < y; break;
        case CMP_LE: *out = x <= y; break;
        case CMP_EQ: *out = x == y; break;
        case CMP_NE: *out = x != y; break;
        case CMP_GT: *out = x > y; break;
        default: *out = x >= y; break;
        }
        return 1;
    }
    if (is_exact(a, vm->t_str) && is_exact(b, vm->t_str)) {
        if (op == CMP_EQ || op == CMP_NE)
            *out = str_eq(AS_STR(a), AS_STR(b)) == (op == CMP_EQ);
        else
            *out = cmp_result(str_compare(AS_STR(a), AS_STR(b)), op);
        return 1;
    }
    return 0;
}

Value vm_compare(EddyVM *vm, Value a, Value b, int op) {
    bool fast;
    if (compare_fast(vm, a, b, op, &fast)) return v_bool(fast);
    TypeObject *ta = vm_type_of(vm, a), *tb = vm_type_of(vm, b);
    bool checked_reverse = false;
    Value r;
    if (ta != tb && tb->richcompare && type_is_subtype(tb, ta)) {
        checked_reverse = true;
        r = tb->richcompare(vm, b, a, cmp_swap[op]);
        if (IS_NULL(r) || !is_notimpl(vm, r)) return r;
    }
    if (ta->richcompare) {
        r = ta->richcompare(vm, a, b, op);
        if (IS_NULL(r) || !is_notimpl(vm, r)) return r;
    }
    if (!checked_reverse && tb->richcompare) {
        r = tb->richcompare(vm, b, a, cmp_swap[op]);
        if (IS_NULL(r) || !is_notimpl(vm, r)) return r;
    }
    if (op == CMP_EQ) return v_bool(v_is(a, b));
    if (op == CMP_NE) return v_bool(!v_is(a, b));
    return vm_raise(vm, vm->exc_TypeError, "'%s' not supported between instances of '%s' and '%s'",
                    cmp_symbol[op], ta->name->data, tb->name->data);
}

int vm_compare_bool(EddyVM *vm, Value a, Value b, int op) {
    bool fast;
    if (compare_fast(vm, a, b, op, &fast)) return fast;
    Value r = vm_compare(vm, a, b, op);
    if (IS_NULL(r)) return -1;
    if (IS_BOOL(r)) return AS_BOOL(r);
    if (vm_push_root(vm, r) < 0) return -1;
    int t = vm_truthy(vm, r);
    vm_pop_roots(vm, 1);
    return t;
}

int vm_eq(EddyVM *vm, Value a, Value b) {
    if (v_is(a, b)) return 1;
    return vm_compare_bool(vm, a, b, CMP_EQ);
}

// ---------------------------------------------------------------------------
// Arithmetic

static const char *const binop_symbol[BINOP__COUNT] = {
    "+", "-", "*", "@", "/", "//", "%", "**", "<<", ">>", "&", "|", "^",
};

static StrObject *binop_name(EddyVM *vm, int op, int kind) {
    // kind 0: __add__, 1: __radd__, 2: __iadd__
    Names *n = &vm->names;
    StrObject *const table[BINOP__COUNT][3] = {
        {n->__add__, n->__radd__, n->__iadd__},
        {n->__sub__, n->__rsub__, n->__isub__},
        {n->__mul__, n->__rmul__, n->__imul__},
        {n->__matmul__, n->__rmatmul__, n->__imatmul__},
        {n->__truediv__, n->__rtruediv__, n->__itruediv__},
        {n->__floordiv__, n->__rfloordiv__, n->__ifloordiv__},
        {n->__mod__, n->__rmod__, n->__imod__},
        {n->__pow__, n->__rpow__, n->__ipow__},
        {n->__lshift__, n->__rlshift__, n->__ilshift__},
        {n->__rshift__, n->__rrshift__, n->__irshift__},
        {n->__and__, n->__rand__, n->__iand__},
        {n->__or__, n->__ror__, n->__ior__},
        {n->__xor__, n->__rxor__, n->__ixor__},
    };
    return table[op][kind];
}

static Value int_fast(EddyVM *vm, int op, Value a, Value b) {
    switch (op) {
    case BINOP_ADD: return int_add(vm, a, b);
    case BINOP_SUB: return int_sub(vm, a, b);
    case BINOP_MUL: return int_mul(vm, a, b);
    case BINOP_TRUEDIV: return int_truediv(vm, a, b);
    case BINOP_FLOORDIV: return int_floordiv(vm, a, b);
    case BINOP_MOD: return int_mod(vm, a, b);
    case BINOP_POW: return int_pow(vm, a, b, VAL_NULL);
    case BINOP_LSHIFT: return int_lshift(vm, a, b);
    case BINOP_RSHIFT: return int_rshift(vm, a, b);
    case BINOP_AND: return int_and(vm, a, b);
    case BINOP_OR: return int_or(vm, a, b);
    case BINOP_XOR: return int_xor(vm, a, b);
    default: return VAL_NULL; // @: no fast path
    }
}

// Both operands are floats (or a small int and a float). V_NULL with no
// exception pending means "no fast path".
static Value float_fast(EddyVM *vm, int op, double x, double y, bool *handled) {
    *handled = true;
    switch (op) {
    case BINOP_ADD: return v_float(x + y);
    case BINOP_SUB: return v_float(x - y);
    case BINOP_MUL: return v_float(x * y);
    case BINOP_TRUEDIV:
        if (y == 0.0) return vm_raise(vm, vm->exc_ZeroDivisionError, "float division by zero");
        return v_float(x / y);
    case BINOP_FLOORDIV: return float_floordiv(vm, x, y);
    case BINOP_MOD: return float_mod(vm, x, y);
    case BINOP_POW: return float_pow(vm, x, y);
    default: *handled = false; return VAL_NULL;
    }
}

// Python's binary_op1: returns NotImplemented when neither side handles it.
static Value binary_op1(EddyVM *vm, int op, Value a, Value b) {
    TypeObject *ta = vm_type_of(vm, a), *tb = vm_type_of(vm, b);
    Value fa = special(vm, a, binop_name(vm, op, 0));
    Value fb = VAL_NULL;
    if (ta != tb) fb = special(vm, b, binop_name(vm, op, 1));
    Value r;
    // A subclass on the right that overrides the reflected method goes first.
    if (!IS_NULL(fb) && type_is_subtype(tb, ta) &&
        !v_is(fb, type_lookup(vm, ta, binop_name(vm, op, 1)))) {
        r = vm_call_special(vm, fb, b, &a, 1, NULL);
        if (IS_NULL(r) || !is_notimpl(vm, r)) return r;
        fb = VAL_NULL;
    }
    if (!IS_NULL(fa)) {
        r = vm_call_special(vm, fa, a, &b, 1, NULL);
        if (IS_NULL(r) || !is_notimpl(vm, r)) return r;
    }
    if (!IS_NULL(fb)) {
        r = vm_call_special(vm, fb, b, &a, 1, NULL);
        if (IS_NULL(r) || !is_notimpl(vm, r)) return r;
    }
    return vm->not_implemented;
}

static const char *sequence_kind(EddyVM *vm, TypeObject *t) {
    if (t->flags & TPF_STR_SUBCLASS) return "str";
    if (t->flags & TPF_LIST_SUBCLASS) return "list";
    if (t->flags & TPF_TUPLE_SUBCLASS) return "tuple";
    if (type_is_subtype(t, vm->t_bytes)) return "bytes";
    if (type_is_subtype(t, vm->t_bytearray)) return "bytearray";
    return NULL;
}

// Raises and returns V_NULL when a or b is a builtin sequence; else None.
static Value sequence_op_error(EddyVM *vm, int op, Value a, Value b) {
    TypeObject *ta = vm_type_of(vm, a), *tb = vm_type_of(vm, b);
    const char *ka = sequence_kind(vm, ta);
    if (op == BINOP_ADD) {
        if (!ka) return VAL_NONE;
        if (ka[0] == 'b')
            return vm_raise(vm, vm->exc_TypeError, "can't concat %s to %s", tb->name->data,
                            ta->name->data);
        return vm_raise(vm, vm->exc_TypeError, "can only concatenate %s (not \"%s\") to %s", ka,
                        tb->name->data, ka);
    }
    if (ka)
        return vm_raise(vm, vm->exc_TypeError, "can't multiply sequence by non-int of type '%s'",
                        tb->name->data);
    if (sequence_kind(vm, tb))
        return vm_raise(vm, vm->exc_TypeError, "can't multiply sequence by non-int of type '%s'",
                        ta->name->data);
    return VAL_NONE;
}

Value vm_binary_op(EddyVM *vm, int binop, Value a, Value b) {
    int op = binop & ~BINOP_INPLACE_FLAG;
    bool inplace = (binop & BINOP_INPLACE_FLAG) != 0;
    if (op < 0 || op >= BINOP__COUNT)
        return vm_raise(vm, vm->exc_SystemError, "bad binary operator %d", binop);
    // Fast paths for the unboxed numbers and str concatenation.
    if (IS_INT(a) && IS_INT(b) && op != BINOP_MATMUL) return int_fast(vm, op, a, b);
    if ((IS_FLOAT(a) || IS_INT(a)) && (IS_FLOAT(b) || IS_INT(b))) {
        double x = IS_FLOAT(a) ? AS_FLOAT(a) : (double)AS_INT(a);
        double y = IS_FLOAT(b) ? AS_FLOAT(b) : (double)AS_INT(b);
        // Exactness: small ints beyond 2**53 are not exactly representable;
        // leave such mixes to the types' own methods.
        bool exact = (IS_FLOAT(a) || (AS_INT(a) >= -(1LL << 53) && AS_INT(a) <= (1LL << 53))) &&
                     (IS_FLOAT(b) || (AS_INT(b) >= -(1LL << 53) && AS_INT(b) <= (1LL << 53)));
        if (exact) {
            bool handled;
            Value r = float_fast(vm, op, x, y, &handled);
            if (handled) return r;
        }
    }
    if (op == BINOP_ADD && is_exact(a, vm->t_str) && is_exact(b, vm->t_str)) {
        StrObject *s = str_concat(vm, AS_STR(a), AS_STR(b));
        return s ? v_obj(s) : VAL_NULL;
    }
    Value r;
    if (inplace) {
        Value f = special(vm, a, binop_name(vm, op, 2));
        if (!IS_NULL(f)) {
            r = vm_call_special(vm, f, a, &b, 1, NULL);
            if (IS_NULL(r) || !is_notimpl(vm, r)) return r;
        }
    }
    r = binary_op1(vm, op, a, b);
    if (IS_NULL(r) || !is_notimpl(vm, r)) return r;
    // CPython reports failed sequence concatenation / repetition in its own words.
    if (op == BINOP_ADD || op == BINOP_MUL) {
        Value e = sequence_op_error(vm, op, a, b);
        if (IS_NULL(e)) return e;
    }
    if (op == BINOP_POW && !inplace)
        return vm_raise(vm, vm->exc_TypeError,
                        "unsupported operand type(s) for ** or pow(): '%s' and '%s'",
                        vm_type_name(vm, a), vm_type_name(vm, b));
    return vm_raise(vm, vm->exc_TypeError, "unsupported operand type(s) for %s%s: '%s' and '%s'",
                    binop_symbol[op], inplace ? "=" : "", vm_type_name(vm, a), vm_type_name(vm, b));
}

Value vm_unary_op(EddyVM *vm, int opcode, Value a) {
    StrObject *name;
    const char *sym;
    switch (opcode) {
    case OP_UNARY_NEGATIVE:
        if (IS_INT(a)) return int_neg(vm, a);
        if (IS_FLOAT(a)) return v_float(-AS_FLOAT(a));
        if (IS_BOOL(a)) return v_int(-(int64_t)AS_BOOL(a));
        name = vm->names.__neg__;
        sym = "-";
        break;
    case OP_UNARY_POSITIVE:
        if (IS_INT(a) || IS_FLOAT(a)) return a;
        if (IS_BOOL(a)) return v_int(AS_BOOL(a));
        name = vm->names.__pos__;
        sym = "+";
        break;
    case OP_UNARY_INVERT:
        if (IS_INT(a)) return int_invert(vm, a);
        if (IS_BOOL(a)) return v_int(~(int64_t)AS_BOOL(a));
        name = vm->names.__invert__;
        sym = "~";
        break;
    case OP_UNARY_NOT: {
        int t = vm_truthy(vm, a);
        return t < 0 ? VAL_NULL : v_bool(!t);
    }
    default: return vm_raise(vm, vm->exc_SystemError, "bad unary operator %d", opcode);
    }
    Value f = special(vm, a, name);
    if (IS_NULL(f))
        return vm_raise(vm, vm->exc_TypeError, "bad operand type for unary %s: '%s'", sym,
                        vm_type_name(vm, a));
    return vm_call_special(vm, f, a, NULL, 0, NULL);
}

// ---------------------------------------------------------------------------
// Attributes

Value vm_getattr(EddyVM *vm, Value obj, StrObject *name) {
    TypeObject *t = vm_type_of(vm, obj);
    if (EDDY_LIKELY(t->getattr != NULL)) return t->getattr(vm, obj, name);
    return object_generic_getattr(vm, obj, name);
}

int vm_getattr_opt(EddyVM *vm, Value obj, StrObject *name, Value *out) {
    TypeObject *t = vm_type_of(vm, obj);
    *out = VAL_NULL;
    if (!t->getattr || t->getattr == object_generic_getattr)
        return object_getattr_opt(vm, obj, name, out);
    Value r = t->getattr(vm, obj, name);
    if (!IS_NULL(r)) {
        *out = r;
        return 1;
    }
    if (!vm_err_matches(vm, vm->exc_AttributeError)) return -1;
    vm_err_clear(vm);
    return 0;
}

int vm_setattr(EddyVM *vm, Value obj, StrObject *name, Value v) {
    TypeObject *t = vm_type_of(vm, obj);
    if (EDDY_LIKELY(t->setattr != NULL)) return t->setattr(vm, obj, name, v);
    return object_generic_setattr(vm, obj, name, v);
}

// ---------------------------------------------------------------------------
// Items

Value vm_getitem(EddyVM *vm, Value c, Value k) {
    TypeObject *t = vm_type_of(vm, c);
    if (EDDY_LIKELY(t->getitem != NULL)) return t->getitem(vm, c, k);
    if (is_type(vm, c)) {
        StrObject *cgi = str_intern_cstr(vm, "__class_getitem__");
        if (!cgi) return VAL_NULL;
        // Looked up on the class itself, not its metaclass (type[int] vs int[0]).
        Value f = type_lookup(vm, AS_TYPE(c), cgi);
        if (!IS_NULL(f) && !IS_NONE(f)) {
            TypeObject *ft = vm_type_of(vm, f);
            if (ft->descr_get) f = ft->descr_get(vm, f, VAL_NULL, AS_TYPE(c));
            if (IS_NULL(f)) return f;
            if (vm_push_root(vm, f) < 0) return VAL_NULL;
            Value r = vm_call(vm, f, &k, 1, NULL);
            vm_pop_roots(vm, 1);
            return r;
        }
        return vm_raise(vm, vm->exc_TypeError, "type '%U' is not subscriptable", AS_TYPE(c)->name);
    }
    return vm_raise(vm, vm->exc_TypeError, "'%s' object is not subscriptable", t->name->data);
}

int vm_setitem(EddyVM *vm, Value c, Value k, Value v) {
    TypeObject *t = vm_type_of(vm, c);
    if (EDDY_LIKELY(t->setitem != NULL)) return t->setitem(vm, c, k, v);
    if (IS_NULL(v))
        vm_raise(vm, vm->exc_TypeError, "'%s' object doesn't support item deletion", t->name->data);
    else
        vm_raise(vm, vm->exc_TypeError, "'%s' object does not support item assignment",
                 t->name->data);
    return -1;
}

int vm_contains(EddyVM *vm, Value c, Value item) {
    TypeObject *t = vm_type_of(vm, c);
    if (t->contains) return t->contains(vm, c, item);
    if (!t->iter && !t->getitem) {
        vm_raise(vm, vm->exc_TypeError, "argument of type '%s' is not iterable", t->name->data);
        return -1;
    }
    Value it = vm_iter(vm, c);
    if (IS_NULL(it) && vm_err_matches(vm, vm->exc_TypeError)) {
        // As CPython's _PySequence_IterSearch: any TypeError becomes this one.
        vm_err_clear(vm);
        vm_raise(vm, vm->exc_TypeError, "argument of type '%s' is not iterable", t->name->data);
        return -1;
    }
    if (IS_NULL(it) || vm_push_root(vm, it) < 0) return -1;
    int found = 0;
    for (;;) {
        Value x;
        int r = vm_next(vm, it, &x);
        if (r <= 0) {
            if (r < 0) found = -1;
            break;
        }
        if (vm_push_root(vm, x) < 0) {
            found = -1;
            break;
        }
        int eq = vm_eq(vm, x, item);
        vm_pop_roots(vm, 1);
        if (eq != 0) {
            found = eq;
            break;
        }
    }
    vm_pop_roots(vm, 1);
    return found;
}

// ---------------------------------------------------------------------------
// Iteration

// iter() over an object that only has __getitem__: items 0, 1, 2 ... until
// IndexError or StopIteration.
typedef struct GetitemIterObject {
    Obj hdr;
    Value seq; // V_NULL once exhausted
    int64_t index;
} GetitemIterObject;

static void getitem_iter_trace(EddyVM *vm, Obj *self) {
    gc_mark_value(vm, ((GetitemIterObject *)self)->seq);
}

static Value iter_self(EddyVM *vm, Value self) { return self; }

static int getitem_iter_next(EddyVM *vm, Value self, Value *out) {
    GetitemIterObject *it = (GetitemIterObject *)AS_OBJ(self);
    if (IS_NULL(it->seq)) return 0;
    Value r = vm_getitem(vm, it->seq, v_int(it->index));
    if (IS_NULL(r)) {
        if (vm_err_matches(vm, vm->exc_IndexError) || vm_err_matches(vm, vm->exc_StopIteration)) {
            vm_err_clear(vm);
            it->seq = VAL_NULL;
            return 0;
        }
        return -1;
    }
    it->index++;
    *out = r;
    return 1;
}

Value vm_iter(EddyVM *vm, Value v) {
    TypeObject *t = vm_type_of(vm, v);
    if (t->iter) {
        Value r = t->iter(vm, v);
        if (IS_NULL(r)) return r;
        if (!vm_type_of(vm, r)->next)
            return vm_raise(vm, vm->exc_TypeError, "iter() returned non-iterator of type '%s'",
                            vm_type_name(vm, r));
        return r;
    }
    if (t->getitem && !is_type(vm, v)) {
        GetitemIterObject *it =
            (GetitemIterObject *)obj_alloc(vm, vm->t_getitem_iterator, sizeof(GetitemIterObject));
        if (!it) return VAL_NULL;
        it->seq = v;
        return v_obj(it);
    }
    return vm_raise(vm, vm->exc_TypeError, "'%s' object is not iterable", t->name->data);
}

int vm_next(EddyVM *vm, Value it, Value *out) {
    TypeObject *t = vm_type_of(vm, it);
    if (EDDY_LIKELY(t->next != NULL)) return t->next(vm, it, out);
    vm_raise(vm, vm->exc_TypeError, "'%s' object is not an iterator", t->name->data);
    return -1;
}

int64_t vm_len(EddyVM *vm, Value v) {
    TypeObject *t = vm_type_of(vm, v);
    if (t == vm->t_str) return (int64_t)AS_STR(v)->ncp;
    if (t->len) return t->len(vm, v);
    vm_raise(vm, vm->exc_TypeError, "object of type '%s' has no len()", t->name->data);
    return -1;
}

int vm_foreach(EddyVM *vm, Value iterable, int (*fn)(EddyVM *vm, Value item, void *ud), void *ud) {
    if (is_exact(iterable, vm->t_list)) {
        ListObject *l = AS_LIST(iterable);
        for (size_t i = 0; i < l->len; i++) { // the list may change under fn
            int r = fn(vm, l->items[i], ud);
            if (r) return r < 0 ? -1 : 0;
        }
        return 0;
    }
    if (is_exact(iterable, vm->t_tuple)) {
        TupleObject *t = AS_TUPLE(iterable);
        for (size_t i = 0; i < t->len; i++) {
            int r = fn(vm, t->items[i], ud);
            if (r) return r < 0 ? -1 : 0;
        }
        return 0;
    }
    Value it = vm_iter(vm, iterable);
    if (IS_NULL(it) || vm_push_root(vm, it) < 0) return -1;
    int status = 0;
    if (is_exact(it, vm->t_generator)) {
        // One dispatch loop for the whole generator (frame.h: gen_foreach).
        status = gen_foreach(vm, (GenObject *)AS_OBJ(it), fn, ud) < 0 ? -1 : 0;
        vm_pop_roots(vm, 1);
        return status;
    }
    for (;;) {
        Value x;
        int r = vm_next(vm, it, &x);
        if (r <= 0) {
            status = r;
            break;
        }
        if (vm_push_root(vm, x) < 0) {
            status = -1;
            break;
        }
        r = fn(vm, x, ud);
        vm_pop_roots(vm, 1);
        if (r) {
            status = r < 0 ? -1 : 0;
            break;
        }
    }
    vm_pop_roots(vm, 1);
    return status;
}

static int append_item(EddyVM *vm, Value item, void *ud) {
    return list_append(vm, (ListObject *)ud, item) < 0 ? -1 : 0;
}

Value vm_sequence_to_list(EddyVM *vm, Value iterable) {
    if (is_exact(iterable, vm->t_list) || is_exact(iterable, vm->t_tuple)) {
        bool list = is_exact(iterable, vm->t_list);
        const Value *items = list ? AS_LIST(iterable)->items : AS_TUPLE(iterable)->items;
        size_t n = list ? AS_LIST(iterable)->len : AS_TUPLE(iterable)->len;
        ListObject *l = list_from(vm, items, n);
        return l ? v_obj(l) : VAL_NULL;
    }
    ListObject *l = list_new(vm, 0);
    if (!l || vm_push_root(vm, v_obj(l)) < 0) return VAL_NULL;
    int r = vm_foreach(vm, iterable, append_item, l);
    vm_pop_roots(vm, 1);
    return r < 0 ? VAL_NULL : v_obj(l);
}

Value vm_sequence_to_tuple(EddyVM *vm, Value iterable) {
    if (is_exact(iterable, vm->t_tuple)) return iterable;
    if (is_exact(iterable, vm->t_list)) {
        TupleObject *t = tuple_from(vm, AS_LIST(iterable)->items, AS_LIST(iterable)->len);
        return t ? v_obj(t) : VAL_NULL;
    }
    Value l = vm_sequence_to_list(vm, iterable);
    if (IS_NULL(l)) return l;
    TupleObject *t = tuple_from(vm, AS_LIST(l)->items, AS_LIST(l)->len);
    return t ? v_obj(t) : VAL_NULL;
}

// ---------------------------------------------------------------------------
// isinstance / issubclass

static bool is_default_check(EddyVM *vm, Value f) {
    return is_exact(f, vm->t_builtin_function) &&
           ((NativeFunctionObject *)AS_OBJ(f))->owner == vm->t_type;
}

static bool is_tuple_value(Value v) {
    return IS_OBJ(v) && (OBJ_TYPE(AS_OBJ(v))->flags & TPF_TUPLE_SUBCLASS);
}

// Call meta.__instancecheck__ / __subclasscheck__ (cls, arg) and take its truth.
static int call_check(EddyVM *vm, Value f, Value cls, Value arg) {
    Value r = vm_call_special(vm, f, cls, &arg, 1, NULL);
    if (IS_NULL(r)) return -1;
    if (IS_BOOL(r)) return AS_BOOL(r);
    if (vm_push_root(vm, r) < 0) return -1;
    int t = vm_truthy(vm, r);
    vm_pop_roots(vm, 1);
    return t;
}

int vm_isinstance(EddyVM *vm, Value v, Value cls) {
    TypeObject *vt = vm_type_of(vm, v);
    if (IS_OBJ(cls) && AS_OBJ(cls) == &vt->hdr) return 1;
    if (is_type(vm, cls)) {
        TypeObject *meta = OBJ_TYPE(AS_OBJ(cls));
        if (meta != vm->t_type) {
            Value f = type_lookup(vm, meta, vm->names.__instancecheck__);
            if (!IS_NULL(f) && !IS_NONE(f) && !is_default_check(vm, f))
                return call_check(vm, f, cls, v);
        }
        return type_is_subtype(vt, AS_TYPE(cls));
    }
    if (is_tuple_value(cls)) {
        if (!enter(vm, " in __instancecheck__")) return -1;
        TupleObject *t = AS_TUPLE(cls);
        int r = 0;
        for (size_t i = 0; i < t->len && r == 0; i++) r = vm_isinstance(vm, v, t->items[i]);
        vm->c_depth--;
        return r;
    }
    Value f = special(vm, cls, vm->names.__instancecheck__);
    if (!IS_NULL(f)) return call_check(vm, f, cls, v);
    vm_raise(vm, vm->exc_TypeError,
             "isinstance() arg 2 must be a type, a tuple of types, or a union");
    return -1;
}

int vm_issubclass(EddyVM *vm, Value derived, Value cls) {
    if (is_type(vm, cls)) {
        TypeObject *meta = OBJ_TYPE(AS_OBJ(cls));
        if (meta != vm->t_type) {
            Value f = type_lookup(vm, meta, vm->names.__subclasscheck__);
            if (!IS_NULL(f) && !IS_NONE(f) && !is_default_check(vm, f))
                return call_check(vm, f, cls, derived);
        }
        if (!is_type(vm, derived)) {
            vm_raise(vm, vm->exc_TypeError, "issubclass() arg 1 must be a class");
            return -1;
        }
        return type_is_subtype(AS_TYPE(derived), AS_TYPE(cls));
    }
    if (is_tuple_value(cls)) {
        if (!enter(vm, " in __subclasscheck__")) return -1;
        TupleObject *t = AS_TUPLE(cls);
        int r = 0;
        for (size_t i = 0; i < t->len && r == 0; i++) r = vm_issubclass(vm, derived, t->items[i]);
        vm->c_depth--;
        return r;
    }
    Value f = special(vm, cls, vm->names.__subclasscheck__);
    if (!IS_NULL(f)) return call_check(vm, f, cls, derived);
    if (!is_type(vm, derived)) {
        vm_raise(vm, vm->exc_TypeError, "issubclass() arg 1 must be a class");
        return -1;
    }
    vm_raise(vm, vm->exc_TypeError,
             "issubclass() arg 2 must be a class, a tuple of classes, or a union");
    return -1;
}

// ---------------------------------------------------------------------------
// Integers from arbitrary objects

Value vm_index(EddyVM *vm, Value v) {
    if (IS_INT(v)) return v;
    if (IS_BOOL(v)) return v_int(AS_BOOL(v));
    if (is_int(vm, v)) return v;
    Value f = special(vm, v, vm->names.__index__);
    if (IS_NULL(f))
        return vm_raise(vm, vm->exc_TypeError, "'%s' object cannot be interpreted as an integer",
                        vm_type_name(vm, v));
    Value r = vm_call_special(vm, f, v, NULL, 0, NULL);
    if (IS_NULL(r)) return r;
    if (IS_BOOL(r)) return v_int(AS_BOOL(r));
    if (!is_int(vm, r))
        return vm_raise(vm, vm->exc_TypeError, "__index__ returned non-int (type %s)",
                        vm_type_name(vm, r));
    return r;
}

int vm_index_i64(EddyVM *vm, Value v, int64_t *out) {
    if (IS_INT(v)) {
        *out = AS_INT(v);
        return 0;
    }
    Value r = vm_index(vm, v);
    if (IS_NULL(r)) return -1;
    if (IS_INT(r)) {
        *out = AS_INT(r);
        return 0;
    }
    if (IS_BOOL(r)) {
        *out = AS_BOOL(r);
        return 0;
    }
    // A big int (or an int subclass instance): convert, or it does not fit.
    if (int_to_i64(vm, r, out) == 0) return 0;
    vm_err_clear(vm);
    vm_raise(vm, vm->exc_IndexError, "cannot fit '%s' into an index-sized integer",
             vm_type_name(vm, v));
    return -1;
}

// ---------------------------------------------------------------------------

// The iterator type used by vm_iter's __getitem__ fallback. Called from
// type_init_types' neighbour, object_init_types, through ops_init_types.
int ops_init_types(EddyVM *vm) {
    TypeObject *t =
        type_new_builtin(vm, vm->t_getitem_iterator, vm->t_object, sizeof(GetitemIterObject), 0);
    if (!t) return -1;
    t->trace = getitem_iter_trace;
    t->iter = iter_self;
    t->next = getitem_iter_next;
    return 0;
}
