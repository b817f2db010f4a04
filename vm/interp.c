// interp.c - the dispatch loop.
//
// One loop runs every script frame of a fiber: a script-to-script call
// pushes the callee's frame (call.c) and continues here, a return pops it
// and resumes the caller, an exception unwinds frame by frame through the
// exception tables. Only natives that call back into script code start a
// nested loop (vm_call), whose entry frame returns to C.
//
// Hot state lives in C locals (ip, sp, lp ...) and is written back to the
// Frame ("SYNC") before anything that can raise, run script code or
// collect, so the collector and the traceback machinery always see a
// consistent frame. Collection happens only at safe points: calls, returns
// and backward jumps.
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "frame.h"
#include "loop.h"
#include "opcodes.h"

// Store v with one 16-byte write. A Value built in two general registers is
// otherwise stored as two 8-byte halves, and the next instruction's 16-byte
// load of that slot (LOAD_FAST, POP) then cannot be forwarded from the store
// buffer: a stall of a dozen cycles on every `for i in ...` / `x = a + b`.
static inline void value_put(Value *dst, Value v) {
#if defined(__SSE2__)
    _mm_storeu_si128((__m128i *)(void *)dst, _mm_set_epi64x(v.as.i, (long long)v.tag));
#else
    *dst = v;
#endif
}

// ---------------------------------------------------------------------------
// Helpers (cold paths kept out of the loop)

static Value unbound_local(EddyVM *vm, CodeObject *code, uint32_t i) {
    return vm_raise(vm, vm->exc_UnboundLocalError,
                    "cannot access local variable '%U' where it is not associated with a value",
                    AS_STR(code->varnames->items[i]));
}

static StrObject *deref_name(CodeObject *code, uint32_t i) {
    if (i < code->ncells) return AS_STR(code->cellvars->items[i]);
    return AS_STR(code->freevars->items[i - code->ncells]);
}

static Value unbound_deref(EddyVM *vm, CodeObject *code, uint32_t i) {
    if (i < code->ncells)
        return vm_raise(vm, vm->exc_UnboundLocalError,
                        "cannot access local variable '%U' where it is not associated with a value",
                        deref_name(code, i));
    return vm_raise(vm, vm->exc_NameError,
                    "cannot access free variable '%U' where it is not associated with a value in "
                    "enclosing scope",
                    deref_name(code, i));
}

static Value name_error(EddyVM *vm, StrObject *name, Frame *frame) {
    return vm_raise_name_error(vm, name, frame);
}

// Interrupt and collection at a safe point. 0 / -1 (KeyboardInterrupt).
static int safepoint_slow(EddyVM *vm) {
    if (vm->interrupt) {
        vm->interrupt = 0;
        vm_raise_value(vm, v_obj(vm->exc_KeyboardInterrupt));
        return -1;
    }
    gc_safepoint(vm);
    return 0;
}

// The entry index of `name` (by pointer) in d's entries, or -1.
static int64_t dict_index_of(DictObject *d, StrObject *name) {
    for (size_t i = 0; i < d->nentries; i++) {
        Value k = d->entries[i].key;
        if (IS_OBJ(k) && AS_OBJ(k) == (Obj *)name) return (int64_t)i;
    }
    return -1;
}

// dict_index_of, trying the entry a cache last pointed at (hint, entry + 1;
// 0 for none) first: sites that see several classes usually find the
// attribute at the same position in each class's instances.
static inline int64_t dict_slot_hint(DictObject *d, StrObject *name, uint32_t hint) {
    size_t idx = (size_t)hint - 1;
    if (hint && idx < d->nentries && IS_OBJ(d->entries[idx].key) &&
        AS_OBJ(d->entries[idx].key) == (Obj *)name)
        return (int64_t)idx;
    return dict_index_of(d, name);
}

// Can no data descriptor on t intercept attribute `name` (TYPE_PLAIN_ATTRS)?
static inline bool plain_attr(TypeObject *t, StrObject *name) {
    return (t->hdr.obj_flags & TYPE_PLAIN_ATTRS) && !(name->data[0] == '_' && name->data[1] == '_');
}

// Attribute caches (LOAD_ATTR / STORE_ATTR): CACHE(1) holds an instance
// dict entry + 1, or a __slots__ member's offset with this bit set.
#define SLOT_CACHE 0x80000000u

// The offset of name's __slots__ member in obj (an instance of t with the
// generic getattr/setattr), or -1. A member descriptor found on t is a data
// descriptor, so it wins over everything else.
static int64_t slot_offset(EddyVM *vm, TypeObject *t, StrObject *name, Value obj) {
    if (plain_attr(t, name)) return -1;
    int64_t off = type_member_offset(vm, type_lookup(vm, t, name));
    if (off < 0 || off >= (int64_t)SLOT_CACHE || (uint64_t)off + sizeof(Value) > AS_OBJ(obj)->size)
        return -1;
    return off;
}

// Does instance dict d hold `name`? A small dict is scanned for an entry
// of the same hash, which is cheaper than probing its index.
static inline bool instance_has(DictObject *d, StrObject *name) {
    if (d->len == 0) return false;
    int64_t h = name->hash;
    if (d->nentries <= 8 && h != -1) {
        const DictEntry *e = d->entries;
        bool any = false;
        for (size_t i = 0; i < d->nentries; i++) any |= e[i].hash == h;
        if (!any) return false;
    }
    return !IS_NULL(dict_get_str(d, name));
}

// A key whose hash and equality run no script code of its own (an int
// key may still meet an equal-hash key of another type in the dict, so
// callers sync the frame first).
static inline bool simple_key(EddyVM *vm, Value k) { return IS_INT(k) || is_exact(k, vm->t_str); }

// The instance __dict__ (object_dict_ptr inlined): a negative offset counts
// from the end of variable-sized layouts.
static inline DictObject *instance_dict(Value obj, TypeObject *t) {
    int32_t off = t->dict_offset;
    if (off == 0) return NULL;
    Obj *o = AS_OBJ(obj);
    if (off < 0) return *(DictObject **)(void *)((char *)o + o->size + off);
    return *(DictObject **)(void *)((char *)o + off);
}

// "f()" / "mod.f()" for call error messages (CPython's _PyObject_FunctionStr).
static StrObject *function_str(EddyVM *vm, Value f) {
    if (is_exact(f, vm->t_function)) {
        FunctionObject *fn = (FunctionObject *)AS_OBJ(f);
        if (fn->module && !str_eq(fn->module, vm->names.builtins))
            return str_format(vm, "%U.%U()", fn->module, fn->qualname);
        return str_format(vm, "%U()", fn->qualname);
    }
    if (is_exact(f, vm->t_method)) return function_str(vm, ((BoundMethodObject *)AS_OBJ(f))->func);
    if (is_exact(f, vm->t_builtin_function))
        return str_format(vm, "%s()", ((NativeFunctionObject *)AS_OBJ(f))->name);
    if (is_type(vm, f)) {
        TypeObject *t = AS_TYPE(f);
        if (t->module && !str_eq(t->module, vm->names.builtins))
            return str_format(vm, "%U.%U()", t->module, t->qualname);
        return str_format(vm, "%U()", t->qualname);
    }
    return str_format(vm, "%S", f);
}

// raise exc [from cause]; cause V_NULL when absent. Always returns -1.
static int do_raise(EddyVM *vm, Value exc, Value cause) {
    Value inst = exc;
    if (is_exception_type(vm, exc)) {
        inst = vm_call0(vm, exc);
        if (IS_NULL(inst)) return -1;
        if (!is_exception(vm, inst)) {
            vm_raise(vm, vm->exc_TypeError,
                     "calling %R should have returned an instance of BaseException, not %s", exc,
                     vm_type_name(vm, inst));
            return -1;
        }
    } else if (!is_exception(vm, exc)) {
        vm_raise(vm, vm->exc_TypeError, "exceptions must derive from BaseException");
        return -1;
    }
    if (!IS_NULL(cause)) {
        Value c = cause;
        if (vm_push_root(vm, inst) < 0) return -1;
        if (is_exception_type(vm, cause)) {
            c = vm_call0(vm, cause);
            if (IS_NULL(c)) {
                vm_pop_roots(vm, 1);
                return -1;
            }
        } else if (!IS_NONE(cause) && !is_exception(vm, cause)) {
            vm_pop_roots(vm, 1);
            vm_raise(vm, vm->exc_TypeError, "exception causes must derive from BaseException");
            return -1;
        }
        vm_pop_roots(vm, 1);
        ExceptionObject *e = (ExceptionObject *)AS_OBJ(inst);
        e->cause = c;
        e->suppress_context = true;
    }
    vm_raise_value(vm, inst);
    return -1;
}

// except T: T must be an exception class or a tuple of them. 1/0/-1.
static int exc_match(EddyVM *vm, Value exc, Value t) {
    if (IS_OBJ(t) && (OBJ_TYPE(AS_OBJ(t))->flags & TPF_TUPLE_SUBCLASS)) {
        TupleObject *tt = AS_TUPLE(t);
        for (size_t i = 0; i < tt->len; i++)
            if (!is_exception_type(vm, tt->items[i])) goto bad;
        for (size_t i = 0; i < tt->len; i++)
            if (type_is_subtype(vm_type_of(vm, exc), AS_TYPE(tt->items[i]))) return 1;
        return 0;
    }
    if (!is_exception_type(vm, t)) goto bad;
    return type_is_subtype(vm_type_of(vm, exc), AS_TYPE(t));
bad:
    vm_raise(vm, vm->exc_TypeError,
             "catching classes that do not inherit from BaseException is not allowed");
    return -1;
}

// Call a special method found on the type with obj as self.
static Value call_special(EddyVM *vm, Value meth, Value obj, TypeObject *t) {
    if (IS_OBJ(meth)) {
        TypeObject *mt = OBJ_TYPE(AS_OBJ(meth));
        if (mt == vm->t_function) return vm_call(vm, meth, &obj, 1, NULL);
        if (mt->descr_get) {
            Value bound = mt->descr_get(vm, meth, obj, t);
            if (IS_NULL(bound)) return VAL_NULL;
            if (vm_push_root(vm, bound) < 0) return VAL_NULL;
            Value r = vm_call0(vm, bound);
            vm_pop_roots(vm, 1);
            return r;
        }
    }
    return vm_call0(vm, meth);
}

static Value bind_special(EddyVM *vm, Value meth, Value obj, TypeObject *t) {
    if (IS_OBJ(meth)) {
        TypeObject *mt = OBJ_TYPE(AS_OBJ(meth));
        if (mt == vm->t_function) return bound_method_new(vm, meth, obj);
        if (mt->descr_get) return mt->descr_get(vm, meth, obj, t);
    }
    return meth;
}

// Unpack seq into n values written to out[n-1] .. out[0] (first item at the
// highest address, so that it ends on top of the stack). out must already
// be inside the frame's synced stack. 0 / -1.
static int unpack_iterable(EddyVM *vm, Value seq, Value *out, uint32_t n) {
    TypeObject *t = vm_type_of(vm, seq);
    if (!t->iter && !t->getitem) {
        vm_raise(vm, vm->exc_TypeError, "cannot unpack non-iterable %s object",
                 vm_type_name(vm, seq));
        return -1;
    }
    Value it = vm_iter(vm, seq);
    if (IS_NULL(it)) return -1;
    if (vm_push_root(vm, it) < 0) return -1;
    for (uint32_t i = 0; i < n; i++) {
        Value item;
        int r = vm_next(vm, it, &item);
        if (r <= 0) {
            if (r == 0)
                vm_raise(vm, vm->exc_ValueError,
                         "not enough values to unpack (expected %d, got %d)", (int)n, (int)i);
            vm_pop_roots(vm, 1);
            return -1;
        }
        out[n - 1 - i] = item;
    }
    Value extra;
    int r = vm_next(vm, it, &extra);
    vm_pop_roots(vm, 1);
    if (r < 0) return -1;
    if (r > 0) {
        vm_raise(vm, vm->exc_ValueError, "too many values to unpack (expected %d)", (int)n);
        return -1;
    }
    return 0;
}

// a, *b, c = seq. out has room for before + 1 + after values. 0 / -1.
static int unpack_ex(EddyVM *vm, Value seq, Value *out, uint32_t before, uint32_t after) {
    TypeObject *t = vm_type_of(vm, seq);
    if (!t->iter && !t->getitem) {
        vm_raise(vm, vm->exc_TypeError, "cannot unpack non-iterable %s object",
                 vm_type_name(vm, seq));
        return -1;
    }
    Value lv = vm_sequence_to_list(vm, seq);
    if (IS_NULL(lv)) return -1;
    ListObject *l = AS_LIST(lv);
    size_t n = l->len;
    if (n < (size_t)before + after) {
        vm_raise(vm, vm->exc_ValueError,
                 "not enough values to unpack (expected at least %d, got %zu)",
                 (int)(before + after), n);
        return -1;
    }
    ListObject *mid = list_from(vm, l->items + before, n - before - after);
    if (!mid) return -1;
    // Bottom to top: after items (last first), the middle list, before items (first on top).
    Value *p = out;
    for (uint32_t i = 0; i < after; i++) *p++ = l->items[n - 1 - i];
    *p++ = v_obj(mid);
    for (uint32_t i = 0; i < before; i++) *p++ = l->items[before - 1 - i];
    return 0;
}

// {**m} / f(**m): m must be a mapping.
static bool is_mapping(EddyVM *vm, Value m, int *err) {
    *err = 0;
    if (IS_OBJ(m) && (OBJ_TYPE(AS_OBJ(m))->flags & TPF_DICT_SUBCLASS)) return true;
    Value keys;
    int r = vm_getattr_opt(vm, m, vm->names.keys, &keys);
    if (r < 0) *err = 1;
    return r > 0;
}

static int dict_merge_kwargs(EddyVM *vm, DictObject *d, Value m, Value func) {
    int err;
    if (!is_mapping(vm, m, &err)) {
        if (err) return -1;
        StrObject *fs = function_str(vm, func);
        if (!fs) return -1;
        vm_raise(vm, vm->exc_TypeError, "%U argument after ** must be a mapping, not %s", fs,
                 vm_type_name(vm, m));
        return -1;
    }
    DictObject *src;
    if (is_exact(m, vm->t_dict)) {
        src = AS_DICT(m);
    } else {
        src = dict_new(vm);
        if (!src || vm_push_root(vm, v_obj(src)) < 0) return -1;
        int r = dict_update(vm, src, m);
        vm_pop_roots(vm, 1);
        if (r < 0) return -1;
    }
    if (vm_push_root(vm, v_obj(src)) < 0) return -1;
    size_t pos = 0;
    Value k, v;
    int rc = 0;
    while (dict_next(src, &pos, &k, &v)) {
        Value old;
        int r = dict_get(vm, d, k, &old);
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r > 0) {
            StrObject *fs = function_str(vm, func);
            if (fs)
                vm_raise(vm, vm->exc_TypeError, "%U got multiple values for keyword argument '%S'",
                         fs, k);
            rc = -1;
            break;
        }
        if (dict_set(vm, d, k, v) < 0) {
            rc = -1;
            break;
        }
    }
    vm_pop_roots(vm, 1);
    return rc;
}

// Turn CALL_EX's (argstuple, kwargs dict) into a flat vector: returns a
// tuple of positional + keyword values and sets *kwnames (NULL if none).
static TupleObject *flatten_call_ex(EddyVM *vm, Value func, Value args, Value kwargs,
                                    TupleObject **kwnames, int *npos) {
    TupleObject *pos;
    if (is_exact(args, vm->t_tuple)) {
        pos = AS_TUPLE(args);
    } else {
        TypeObject *t = vm_type_of(vm, args);
        if (!t->iter && !t->getitem) {
            StrObject *fs = function_str(vm, func);
            if (fs)
                vm_raise(vm, vm->exc_TypeError, "%U argument after * must be an iterable, not %s",
                         fs, vm_type_name(vm, args));
            return NULL;
        }
        Value tv = vm_sequence_to_tuple(vm, args);
        if (IS_NULL(tv)) return NULL;
        pos = AS_TUPLE(tv);
    }
    *npos = (int)pos->len;
    *kwnames = NULL;
    bool kw_is_dict = IS_OBJ(kwargs) && (OBJ_TYPE(AS_OBJ(kwargs))->flags & TPF_DICT_SUBCLASS);
    if (!kw_is_dict || AS_DICT(kwargs)->len == 0) {
        if (!IS_NULL(kwargs) && !kw_is_dict) {
            StrObject *fs = function_str(vm, func);
            if (fs)
                vm_raise(vm, vm->exc_TypeError, "%U argument after ** must be a mapping, not %s",
                         fs, vm_type_name(vm, kwargs));
            return NULL;
        }
        return pos;
    }
    DictObject *kw = AS_DICT(kwargs);
    size_t nkw = kw->len;
    TupleObject *all = tuple_new(vm, pos->len + nkw);
    if (!all) return NULL;
    TupleObject *names = tuple_new(vm, nkw);
    if (!names) return NULL;
    for (size_t i = 0; i < pos->len; i++) all->items[i] = pos->items[i];
    size_t pos_i = 0, j = 0;
    Value k, v;
    while (dict_next(kw, &pos_i, &k, &v) && j < nkw) {
        if (!is_str(vm, k)) {
            vm_raise(vm, vm->exc_TypeError, "keywords must be strings");
            return NULL;
        }
        names->items[j] = k;
        all->items[pos->len + j] = v;
        j++;
    }
    *kwnames = names;
    return all;
}

static int import_star(EddyVM *vm, Frame *frame, Value module) {
    if (!frame->locals) {
        vm_raise(vm, vm->exc_SystemError, "no locals found during 'import *'");
        return -1;
    }
    Value all;
    int r = vm_getattr_opt(vm, module, vm->names.__all__, &all);
    if (r < 0) return -1;
    if (r > 0) {
        if (vm_push_root(vm, all) < 0) return -1;
        Value lv = vm_sequence_to_list(vm, all);
        vm_pop_roots(vm, 1);
        if (IS_NULL(lv) || vm_push_root(vm, lv) < 0) return -1;
        ListObject *l = AS_LIST(lv);
        for (size_t i = 0; i < l->len; i++) {
            Value name = l->items[i];
            if (!is_str(vm, name)) {
                vm_pop_roots(vm, 1);
                vm_raise(vm, vm->exc_TypeError, "Item in __all__ must be str, not %s",
                         vm_type_name(vm, name));
                return -1;
            }
            Value v = vm_getattr(vm, module, AS_STR(name));
            if (IS_NULL(v) || dict_set(vm, frame->locals, name, v) < 0) {
                vm_pop_roots(vm, 1);
                return -1;
            }
        }
        vm_pop_roots(vm, 1);
        return 0;
    }
    DictObject **dp = IS_OBJ(module) ? object_dict_ptr(vm, module) : NULL;
    DictObject *md =
        is_exact(module, vm->t_module) ? ((ModuleObject *)AS_OBJ(module))->dict : (dp ? *dp : NULL);
    if (!md) {
        vm_raise(vm, vm->exc_ImportError, "from-import-* object has no __dict__ and no __all__");
        return -1;
    }
    size_t pos = 0;
    Value k, v;
    while (dict_next(md, &pos, &k, &v)) {
        if (!is_str(vm, k) || AS_STR(k)->data[0] == '_') continue;
        if (dict_set(vm, frame->locals, k, v) < 0) return -1;
    }
    return 0;
}

// The __enter__/__exit__ (or __aenter__/__aexit__) of a context manager,
// with CPython's TypeErrors when either is missing. 0 / -1.
static int context_methods(EddyVM *vm, Value mgr, TypeObject *t, bool async, Value *enter,
                           Value *exitm) {
    const char *kind = async ? "asynchronous context manager" : "context manager";
    *enter = type_lookup(vm, t, async ? vm->names.__aenter__ : vm->names.__enter__);
    if (IS_NULL(*enter)) {
        vm_raise(vm, vm->exc_TypeError, "'%s' object does not support the %s protocol",
                 vm_type_name(vm, mgr), kind);
        return -1;
    }
    *exitm = type_lookup(vm, t, async ? vm->names.__aexit__ : vm->names.__exit__);
    if (IS_NULL(*exitm)) {
        vm_raise(vm, vm->exc_TypeError,
                 "'%s' object does not support the %s protocol (missed %s method)",
                 vm_type_name(vm, mgr), kind, async ? "__aexit__" : "__exit__");
        return -1;
    }
    return 0;
}

static Value import_from(EddyVM *vm, Value module, StrObject *name) {
    Value v;
    int r = vm_getattr_opt(vm, module, name, &v);
    if (r != 0) return r > 0 ? v : VAL_NULL;
    // A submodule imported as a side effect lives in sys.modules.
    Value modname = VAL_NULL;
    if (vm_getattr_opt(vm, module, vm->names.__name__, &modname) < 0) return VAL_NULL;
    if (is_str(vm, modname) && vm->modules) {
        StrObject *full = str_format(vm, "%U.%U", AS_STR(modname), name);
        if (!full) return VAL_NULL;
        Value m = dict_get_str(vm->modules, full);
        if (!IS_NULL(m)) return m;
    }
    if (!is_str(vm, modname)) modname = v_obj(vm->names.empty);
    Value file = VAL_NULL;
    if (vm_getattr_opt(vm, module, vm->names.__file__, &file) < 0) return VAL_NULL;
    if (is_str(vm, file) && module_is_initializing(vm, module))
        vm_raise(vm, vm->exc_ImportError,
                 "cannot import name '%U' from partially initialized module '%U' (most "
                 "likely due to a circular import) (%U)",
                 name, AS_STR(modname), AS_STR(file));
    else if (is_str(vm, file))
        vm_raise(vm, vm->exc_ImportError, "cannot import name '%U' from '%U' (%U)", name,
                 AS_STR(modname), AS_STR(file));
    else
        vm_raise(vm, vm->exc_ImportError, "cannot import name '%U' from '%U' (unknown location)",
                 name, AS_STR(modname));
    // CPython sets ImportError.name (the module) and .path (its file, if any).
    Value exc = vm->exc;
    if (is_exception(vm, exc) && AS_STR(modname)->len > 0) {
        vm->exc = VAL_NULL;
        if (vm_setattr(vm, exc, vm->names.name, modname) < 0 ||
            (is_str(vm, file) && vm_setattr(vm, exc, vm->names.path, file) < 0))
            vm_err_clear(vm);
        vm->exc = exc;
    }
    return VAL_NULL;
}

// Python floor division / modulo on int64 (b != 0, no overflow).
static inline int64_t floordiv_i64(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}
static inline int64_t mod_i64(int64_t a, int64_t b) {
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

// Fast int/float/str binary ops. Returns V_NULL with *handled false when the
// generic path must run; V_NULL with *handled true means an error.
static ALWAYS_INLINE Value binary_fast(EddyVM *vm, uint32_t op, Value a, Value b, bool *handled) {
    *handled = true;
    if (IS_INT(a) && IS_INT(b)) {
        int64_t x = AS_INT(a), y = AS_INT(b), r;
        // + and - first, as plain branches: the switch's one shared indirect
        // jump predicts badly when a loop mixes operators.
        if (op == BINOP_ADD && !__builtin_add_overflow(x, y, &r)) return v_int(r);
        if (op == BINOP_SUB && !__builtin_sub_overflow(x, y, &r)) return v_int(r);
        switch (op) {
        case BINOP_ADD:
            if (!__builtin_add_overflow(x, y, &r)) return v_int(r);
            return int_add(vm, a, b);
        case BINOP_SUB:
            if (!__builtin_sub_overflow(x, y, &r)) return v_int(r);
            return int_sub(vm, a, b);
        case BINOP_MUL:
            if (!__builtin_mul_overflow(x, y, &r)) return v_int(r);
            return int_mul(vm, a, b);
        case BINOP_FLOORDIV:
            if (y != 0 && !(y == -1 && x == INT64_MIN)) return v_int(floordiv_i64(x, y));
            return int_floordiv(vm, a, b);
        case BINOP_MOD:
            // A power-of-two divisor: Python's floor modulo is a mask (two's
            // complement), with no division.
            if (y > 0 && (y & (y - 1)) == 0) return v_int(x & (y - 1));
            if (y != 0 && !(y == -1 && x == INT64_MIN)) return v_int(mod_i64(x, y));
            return int_mod(vm, a, b);
        case BINOP_TRUEDIV: return int_truediv(vm, a, b);
        case BINOP_AND: return v_int(x & y);
        case BINOP_OR: return v_int(x | y);
        case BINOP_XOR: return v_int(x ^ y);
        case BINOP_LSHIFT: return int_lshift(vm, a, b);
        case BINOP_RSHIFT:
            if (y >= 0 && y < 64) return v_int(x >> y);
            return int_rshift(vm, a, b);
        case BINOP_POW: return int_pow(vm, a, b, VAL_NULL);
        default: break;
        }
    } else if ((IS_FLOAT(a) || IS_INT(a)) && (IS_FLOAT(b) || IS_INT(b))) {
        // At least one float (both ints handled above).
        double x = IS_FLOAT(a) ? AS_FLOAT(a) : (double)AS_INT(a);
        double y = IS_FLOAT(b) ? AS_FLOAT(b) : (double)AS_INT(b);
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
        default: break;
        }
    } else if (op == BINOP_ADD && is_exact(a, vm->t_str) && is_exact(b, vm->t_str)) {
        StrObject *s = str_concat(vm, AS_STR(a), AS_STR(b));
        return s ? v_obj(s) : VAL_NULL;
    }
    *handled = false;
    return VAL_NULL;
}

// int/float/str comparisons; *handled false -> generic path.
static ALWAYS_INLINE int compare_fast(EddyVM *vm, uint32_t op, Value a, Value b, bool *handled) {
    *handled = true;
    int c;
    if (IS_INT(a) && IS_INT(b)) {
        int64_t x = AS_INT(a), y = AS_INT(b);
        c = x < y ? -1 : x > y;
    } else if (IS_FLOAT(a) && IS_FLOAT(b)) {
        double x = AS_FLOAT(a), y = AS_FLOAT(b);
        switch (op) {
        case CMP_LT: return x < y;
        case CMP_LE: return x <= y;
        case CMP_EQ: return x == y;
        case CMP_NE: return x != y;
        case CMP_GT: return x > y;
        default: return x >= y;
        }
    } else if (is_exact(a, vm->t_str) && is_exact(b, vm->t_str)) {
        if (op == CMP_EQ) return str_eq(AS_STR(a), AS_STR(b));
        if (op == CMP_NE) return !str_eq(AS_STR(a), AS_STR(b));
        c = str_compare(AS_STR(a), AS_STR(b));
    } else {
        *handled = false;
        return 0;
    }
    switch (op) {
    case CMP_LT: return c < 0;
    case CMP_LE: return c <= 0;
    case CMP_EQ: return c == 0;
    case CMP_NE: return c != 0;
    case CMP_GT: return c > 0;
    default: return c >= 0;
    }
}

// The first exception-table row containing pc, or NULL.
static const ExcEntry *find_handler(const CodeObject *code, uint32_t pc) {
    for (uint32_t i = 0; i < code->nexc; i++) {
        const ExcEntry *e = &code->exc_table[i];
        if (pc >= e->start && pc < e->end) return e;
    }
    return NULL;
}

// The common call: a plain function (no cells, no frees, no *args /
// **kwargs / kw-only parameters) called with exactly its positional
// parameters. Pushes the frame inline; NULL means "take the general path"
// (which also raises any error), never an error by itself.
static ALWAYS_INLINE Frame *push_simple(EddyVM *vm, Fiber *fb, FunctionObject *fn, Value *args,
                                        int nargs) {
    CodeObject *co = fn->code;
    if ((uint32_t)nargs != co->argcount || co->ncells != 0 || co->nfrees != 0 ||
        co->kwonlyargcount != 0 || (co->flags & (CO_VARARGS | CO_VARKEYWORDS)))
        return NULL;
    uint32_t nlocals = co->nlocals;
    size_t need = FRAME_HEADER_VALUES + (size_t)nlocals + co->stacksize;
    if (EDDY_UNLIKELY(fb->depth + vm->native_depth > vm->recursion_limit ||
                      (size_t)(fb->limit - fb->top) < need))
        return NULL;
    Frame *f = fiber_frame_at(fb->top);
    f->code = co;
    f->func = fn;
    f->globals = fn->globals;
    f->builtins = fn->builtins;
    f->locals = NULL;
    f->flags = 0;
    f->nlocalsplus = nlocals;
    f->instr = co->code;
    Value *lp = f->localsplus;
    // (Field by field: an argument pushed in two halves still forwards.)
    for (int i = 0; i < nargs; i++) value_put(&lp[i], args[i]);
    for (uint32_t i = (uint32_t)nargs; i < nlocals; i++) lp[i] = VAL_NULL;
    f->sp = lp + nlocals;
    f->prev = fb->frame;
    fb->frame = f;
    fb->top = f->sp + co->stacksize;
    fb->depth++;
    return f;
}

// Can the class-call fast path allocate the instance and run a script
// __init__ directly? Returns the __init__ function or NULL.
static FunctionObject *simple_init(EddyVM *vm, TypeObject *cls) {
    if (!(cls->flags & TPF_HEAPTYPE) || (cls->flags & TPF_ABSTRACT) ||
        cls->layout != vm->t_object || !cls->new_)
        return NULL;
    Value init = type_lookup(vm, cls, vm->names.__init__);
    if (!is_exact(init, vm->t_function)) return NULL;
    Value nw = type_lookup(vm, cls, vm->names.__new__);
    Value onw = type_lookup(vm, vm->t_object, vm->names.__new__);
    if (IS_NULL(nw) || !v_is(nw, onw)) return NULL;
    return (FunctionObject *)AS_OBJ(init);
}

// str(x), int(x), float(x), bool(x) of an unboxed scalar or an exact str:
// what type_call would compute, without its generic __new__ / __init__
// dispatch. *handled false: take the generic call.
static inline Value convert_call1(EddyVM *vm, TypeObject *cls, Value a, bool *handled) {
    *handled = true;
    if (cls == vm->t_str) {
        if (IS_INT(a)) return int_to_str(vm, a, 10);
        if (is_exact(a, vm->t_str)) return a;
        if (IS_FLOAT(a)) return float_repr(vm, AS_FLOAT(a));
    } else if (cls == vm->t_int) {
        if (IS_INT(a)) return a;
        if (IS_FLOAT(a)) return int_from_double(vm, AS_FLOAT(a));
        if (IS_BOOL(a)) return v_int(AS_BOOL(a));
    } else if (cls == vm->t_float) {
        if (IS_FLOAT(a)) return a;
        if (IS_INT(a)) return v_float((double)AS_INT(a));
    } else if (cls == vm->t_bool) {
        if (IS_BOOL(a)) return a;
        if (IS_INT(a)) return v_bool(AS_INT(a) != 0);
        if (IS_NONE(a)) return VAL_FALSE;
    }
    *handled = false;
    return VAL_NULL;
}

// ---------------------------------------------------------------------------
// The loop

#if defined(__GNUC__)
#define USE_COMPUTED_GOTO 1
#endif

// GCC's global common-subexpression elimination and cross-jumping merge the
// DISPATCH tails of all handlers into one shared indirect jump (defeating
// per-opcode branch prediction); turning them off for this one function
// gains about 20% on call-heavy code (CPython's build uses -fno-gcse for the
// same reason). Clang does not need it.
#if defined(__GNUC__) && !defined(__clang__)
#define INTERP_OPTIMIZE __attribute__((optimize("no-gcse", "no-crossjumping")))
#else
#define INTERP_OPTIMIZE
#endif

// Does the sub-iterator v of a SEND drive an async generator (its asend
// awaitable, or GET_ANEXT's stand-in for one: the generator itself)?
static inline bool asend_slot(EddyVM *vm, Value v) {
    return is_exact(v, vm->t_async_gen_asend) || is_exact(v, vm->t_async_generator);
}

// Is the GET_ANEXT at `at` followed by the compiler's await of its result
// (GET_AWAITABLE; LOAD_CONST None; SEND, none with cache words)? Then the
// SEND is at + 3 (what gen_inline_send finds).
static inline bool anext_awaited(const CodeObject *code, const uint32_t *at) {
    return INSTR_OP(at[1]) == OP_GET_AWAITABLE && INSTR_OP(at[2]) == OP_LOAD_CONST &&
           INSTR_OP(at[3]) == OP_SEND && IS_NONE(code->consts->items[INSTR_ARG(at[2])]);
}

// GET_AWAITABLE's TypeError for x without __await__; `what` says which
// protocol produced x (0 await, 1 __aenter__, 2 __aexit__, 3 __anext__).
static void awaitable_error(EddyVM *vm, uint32_t what, Value x) {
    const char *tn = vm_type_name(vm, x);
    switch (what) {
    case 1:
    case 2:
        vm_raise(vm, vm->exc_TypeError,
                 "'async with' received an object from %s that does not implement __await__: %s",
                 what == 1 ? "__aenter__" : "__aexit__", tn);
        break;
    case 3:
        vm_raise(vm, vm->exc_TypeError, "'async for' received an invalid object from __anext__: %s",
                 tn);
        break;
    default: vm_raise(vm, vm->exc_TypeError, "object %s can't be used in 'await' expression", tn);
    }
}

// Aligned to a cache line, so that the dispatch loop's layout does not move
// with the size of whatever the linker puts before it: at offsets 0, 16 and
// 48 the same code measured 269, 251 and 285 ms on bench/loop.async.
INTERP_OPTIMIZE __attribute__((aligned(64))) Value interp_run(EddyVM *vm, Frame *entry) {
    Fiber *fb = vm->fiber;
    Frame *frame = entry;
    CodeObject *code;
    const uint32_t *ip;
    const uint32_t *instr;
    Value *sp;
    Value *lp;
    const Value *consts;
    uint32_t word, arg;
    Value retval; // RETURN_VALUE / RETURN_GENERATOR
    // Call state shared by CALL / CALL_KW / CALL_EX.
    TupleObject *call_kwnames;
    uint32_t call_n;

#ifdef USE_COMPUTED_GOTO
    static const void *const labels[OP__COUNT] = {
#define OP(name, caches) [OP_##name] = &&L_##name,
#include "opcodes.def"
#undef OP
    };
#define TARGET(name) L_##name:
#define DISPATCH()                                                                                 \
    do {                                                                                           \
        instr = ip;                                                                                \
        word = *ip++;                                                                              \
        arg = INSTR_ARG(word);                                                                     \
        goto *labels[INSTR_OP(word)];                                                              \
    } while (0)
#else
#define TARGET(name) case OP_##name:
#define DISPATCH() goto dispatch
#endif

#define LOAD_FRAME()                                                                               \
    do {                                                                                           \
        code = frame->code;                                                                        \
        lp = frame->localsplus;                                                                    \
        consts = code->consts ? code->consts->items : NULL;                                        \
        sp = frame->sp;                                                                            \
        instr = frame->instr;                                                                      \
    } while (0)
#define SYNC()                                                                                     \
    do {                                                                                           \
        frame->sp = sp;                                                                            \
        frame->instr = instr;                                                                      \
    } while (0)
#define PUSH(v) (*sp++ = (v))
#define POP() (*--sp)
#define TOP() (sp[-1])
#define SECOND() (sp[-2])
#define SAFEPOINT()                                                                                \
    do {                                                                                           \
        if (EDDY_UNLIKELY(vm->gc_requested | vm->gc_stress | (vm->interrupt != 0))) {              \
            SYNC();                                                                                \
            if (safepoint_slow(vm) < 0) goto error;                                                \
        }                                                                                          \
    } while (0)
// (Not cached in a local like consts: name operands are rarer, and one
// register less for the loop pays more.)
// FOR_ITER got item v: push it, or store it right away when a STORE_FAST
// follows (`for x in ...`). The inline iterators pass a fresh local rather
// than `item`, whose address the generic path takes: reading that back as
// one 16-byte load after two narrower stores stalls store forwarding.
#define FOR_ITER_DELIVER(v)                                                                        \
    do {                                                                                           \
        SKIP_CACHES(1);                                                                            \
        uint32_t nw_ = *ip;                                                                        \
        if (INSTR_OP(nw_) == OP_STORE_FAST) {                                                      \
            value_put(&lp[INSTR_ARG(nw_)], (v));                                                   \
            ip++;                                                                                  \
            DISPATCH();                                                                            \
        }                                                                                          \
        value_put(sp++, (v));                                                                      \
        DISPATCH();                                                                                \
    } while (0)

// t = the truth of v for the conditional jumps: bool, None and small ints
// inline, anything else through vm_truthy (which may run __bool__/__len__).
#define TRUTH_OF(v, t)                                                                             \
    do {                                                                                           \
        Value tv_ = (v);                                                                           \
        if (IS_BOOL(tv_)) {                                                                        \
            (t) = AS_BOOL(tv_);                                                                    \
        } else if (IS_NONE(tv_)) {                                                                 \
            (t) = 0;                                                                               \
        } else if (IS_INT(tv_)) {                                                                  \
            (t) = AS_INT(tv_) != 0;                                                                \
        } else {                                                                                   \
            SYNC();                                                                                \
            (t) = vm_truthy(vm, tv_);                                                              \
            if ((t) < 0) goto error;                                                               \
        }                                                                                          \
    } while (0)

// Push the bool `test` (an expression of the handler's locals), or, when a
// POP_JUMP_IF_FALSE / POP_JUMP_IF_TRUE follows (`if a < b:`), run that jump
// right here without boxing the bool: a superinstruction, in effect.
#define PUSH_TEST(test)                                                                            \
    do {                                                                                           \
        bool test_ = (test);                                                                       \
        uint32_t nw_ = *ip;                                                                        \
        if (INSTR_OP(nw_) == OP_POP_JUMP_IF_FALSE || INSTR_OP(nw_) == OP_POP_JUMP_IF_TRUE) {       \
            instr = ip++;                                                                          \
            if (test_ == (INSTR_OP(nw_) == OP_POP_JUMP_IF_TRUE)) {                                 \
                ip = code->code + INSTR_ARG(nw_);                                                  \
                if (ip <= instr) SAFEPOINT();                                                      \
            }                                                                                      \
            DISPATCH();                                                                            \
        }                                                                                          \
        PUSH(v_bool(test_));                                                                       \
        DISPATCH();                                                                                \
    } while (0)
#define NAME_AT(i) AS_STR(code->names->items[(i)])
#define CACHE(i) (((uint32_t *)instr)[1 + (i)])
#define SKIP_CACHES(n) (ip += (n))

    LOAD_FRAME();
    ip = instr;
    if (EDDY_UNLIKELY(entry->flags & FRAME_THROW)) {
        // gen.throw(): raise the pending exception at the suspension point.
        entry->flags &= ~(uint32_t)FRAME_THROW;
        instr = ip - 1;
        goto error;
    }
    DISPATCH();

#ifndef USE_COMPUTED_GOTO
dispatch:
    instr = ip;
    word = *ip++;
    arg = INSTR_ARG(word);
    switch (INSTR_OP(word)) {
#endif

        // ---- stack
        TARGET(NOP) { DISPATCH(); }
        TARGET(POP_TOP) {
            sp--;
            DISPATCH();
        }
        TARGET(PUSH_NULL) {
            PUSH(VAL_NULL);
            DISPATCH();
        }
        TARGET(COPY) {
            Value v = sp[-(int)arg];
            PUSH(v);
            DISPATCH();
        }
        TARGET(SWAP) {
            Value t = sp[-1];
            sp[-1] = sp[-(int)arg];
            sp[-(int)arg] = t;
            DISPATCH();
        }

        // ---- constants and variables
        TARGET(LOAD_CONST) {
            PUSH(consts[arg]);
            DISPATCH();
        }
        TARGET(LOAD_FAST) {
            Value v = lp[arg];
            if (EDDY_UNLIKELY(IS_NULL(v))) {
                unbound_local(vm, code, arg);
                goto error;
            }
            PUSH(v);
            DISPATCH();
        }
        TARGET(STORE_FAST) {
            lp[arg] = POP();
            DISPATCH();
        }
        TARGET(DELETE_FAST) {
            if (IS_NULL(lp[arg])) {
                unbound_local(vm, code, arg);
                goto error;
            }
            lp[arg] = VAL_NULL;
            DISPATCH();
        }
        TARGET(LOAD_DEREF) {
            CellObject *c = (CellObject *)AS_OBJ(lp[code->nlocals + arg]);
            if (EDDY_UNLIKELY(IS_NULL(c->value))) {
                unbound_deref(vm, code, arg);
                goto error;
            }
            PUSH(c->value);
            DISPATCH();
        }
        TARGET(STORE_DEREF) {
            CellObject *c = (CellObject *)AS_OBJ(lp[code->nlocals + arg]);
            c->value = POP();
            DISPATCH();
        }
        TARGET(DELETE_DEREF) {
            CellObject *c = (CellObject *)AS_OBJ(lp[code->nlocals + arg]);
            if (IS_NULL(c->value)) {
                unbound_deref(vm, code, arg);
                goto error;
            }
            c->value = VAL_NULL;
            DISPATCH();
        }
        TARGET(LOAD_CLOSURE) {
            PUSH(lp[code->nlocals + arg]);
            DISPATCH();
        }
        TARGET(LOAD_CLASSDEREF) {
            StrObject *name = deref_name(code, arg);
            if (frame->locals) {
                Value v = dict_get_str(frame->locals, name);
                if (!IS_NULL(v)) {
                    PUSH(v);
                    DISPATCH();
                }
            }
            CellObject *c = (CellObject *)AS_OBJ(lp[code->nlocals + arg]);
            if (IS_NULL(c->value)) {
                unbound_deref(vm, code, arg);
                goto error;
            }
            PUSH(c->value);
            DISPATCH();
        }
        TARGET(LOAD_NAME) {
            StrObject *name = NAME_AT(arg);
            Value v = VAL_NULL;
            if (frame->locals) v = dict_get_str(frame->locals, name);
            if (IS_NULL(v)) v = dict_get_str(frame->globals, name);
            if (IS_NULL(v)) v = dict_get_str(frame->builtins, name);
            if (IS_NULL(v)) {
                name_error(vm, name, frame);
                goto error;
            }
            PUSH(v);
            DISPATCH();
        }
        TARGET(STORE_NAME) {
            StrObject *name = NAME_AT(arg);
            if (!frame->locals) {
                vm_raise(vm, vm->exc_SystemError, "no locals found when storing %R", v_obj(name));
                goto error;
            }
            if (dict_set_str(vm, frame->locals, name, TOP()) < 0) goto error;
            sp--;
            DISPATCH();
        }
        TARGET(DELETE_NAME) {
            StrObject *name = NAME_AT(arg);
            if (!frame->locals) {
                vm_raise(vm, vm->exc_SystemError, "no locals when deleting %R", v_obj(name));
                goto error;
            }
            int r = dict_del_str(vm, frame->locals, name);
            if (r < 0) goto error;
            if (r == 0) {
                name_error(vm, name, frame);
                goto error;
            }
            DISPATCH();
        }
        TARGET(LOAD_GLOBAL) {
            // Cache: CACHE(1) = (entry index + 1) << 1 | in_globals; CACHE(0) =
            // the globals version under which a builtins hit was verified.
            StrObject *name = NAME_AT(arg >> 1);
            DictObject *g = frame->globals, *b = frame->builtins;
            uint32_t c1 = CACHE(1);
            Value v = VAL_NULL;
            if (c1) {
                size_t idx = (c1 >> 1) - 1;
                if (c1 & 1) {
                    if (idx < g->nentries && IS_OBJ(g->entries[idx].key) &&
                        AS_OBJ(g->entries[idx].key) == (Obj *)name)
                        v = g->entries[idx].value;
                } else if (b && idx < b->nentries && IS_OBJ(b->entries[idx].key) &&
                           AS_OBJ(b->entries[idx].key) == (Obj *)name) {
                    if (g->version == CACHE(0)) {
                        v = b->entries[idx].value;
                    } else if (IS_NULL(dict_get_str(g, name))) {
                        CACHE(0) = g->version;
                        v = b->entries[idx].value;
                    }
                }
            }
            if (EDDY_UNLIKELY(IS_NULL(v))) {
                v = dict_get_str(g, name);
                if (!IS_NULL(v)) {
                    int64_t idx = dict_index_of(g, name);
                    CACHE(1) = idx >= 0 && idx < 0x7ffffffe ? (uint32_t)((idx + 1) << 1) | 1 : 0;
                } else {
                    if (b) v = dict_get_str(b, name);
                    if (IS_NULL(v)) {
                        name_error(vm, name, frame);
                        goto error;
                    }
                    int64_t idx = dict_index_of(b, name);
                    CACHE(0) = g->version;
                    CACHE(1) = idx >= 0 && idx < 0x7ffffffe ? (uint32_t)((idx + 1) << 1) : 0;
                }
            }
            // CALL's layout is [callable self_or_NULL args], so the NULL goes on
            // top of the global (opcodes.def says "first"; see the report).
            PUSH(v);
            if (arg & 1) PUSH(VAL_NULL);
            SKIP_CACHES(2);
            DISPATCH();
        }
        TARGET(STORE_GLOBAL) {
            if (dict_set_str(vm, frame->globals, NAME_AT(arg), TOP()) < 0) goto error;
            sp--;
            DISPATCH();
        }
        TARGET(DELETE_GLOBAL) {
            int r = dict_del_str(vm, frame->globals, NAME_AT(arg));
            if (r < 0) goto error;
            if (r == 0) {
                name_error(vm, NAME_AT(arg), frame);
                goto error;
            }
            DISPATCH();
        }

        // ---- attributes and items
        TARGET(LOAD_ATTR) {
            // Cache: CACHE(0) = type version, CACHE(1) = instance-dict entry + 1.
            StrObject *name = NAME_AT(arg);
            Value obj = TOP();
            if (IS_OBJ(obj)) {
                TypeObject *t = OBJ_TYPE(AS_OBJ(obj));
                uint32_t c1 = CACHE(1);
                if (c1 && t->version == CACHE(0)) {
                    if (c1 & SLOT_CACHE) {
                        // A __slots__ member: a fixed offset in every instance of t.
                        Value v = *(Value *)(void *)((char *)AS_OBJ(obj) + (c1 & ~SLOT_CACHE));
                        if (!IS_NULL(v)) {
                            sp[-1] = v;
                            SKIP_CACHES(2);
                            DISPATCH();
                        }
                    } else {
                        DictObject *d = instance_dict(obj, t);
                        size_t idx = c1 - 1;
                        if (d && idx < d->nentries && IS_OBJ(d->entries[idx].key) &&
                            AS_OBJ(d->entries[idx].key) == (Obj *)name) {
                            sp[-1] = d->entries[idx].value;
                            SKIP_CACHES(2);
                            DISPATCH();
                        }
                    }
                }
                if (t->getattr == object_generic_getattr && t->version != 0) {
                    int64_t off = slot_offset(vm, t, name, obj);
                    if (off >= 0) {
                        Value v = *(Value *)(void *)((char *)AS_OBJ(obj) + off);
                        if (!IS_NULL(v)) {
                            CACHE(0) = t->version;
                            CACHE(1) = (uint32_t)off | SLOT_CACHE;
                            sp[-1] = v;
                            SKIP_CACHES(2);
                            DISPATCH();
                        }
                    }
                    DictObject *d = instance_dict(obj, t);
                    if (d) {
                        bool data_descr = false;
                        if (!plain_attr(t, name)) {
                            Value tv = type_lookup(vm, t, name);
                            data_descr = IS_OBJ(tv) && OBJ_TYPE(AS_OBJ(tv))->descr_set;
                        }
                        int64_t idx = data_descr ? -1 : dict_slot_hint(d, name, c1);
                        if (idx >= 0 && idx < 0x7ffffffe) {
                            CACHE(0) = t->version;
                            CACHE(1) = (uint32_t)idx + 1;
                            sp[-1] = d->entries[idx].value;
                            SKIP_CACHES(2);
                            DISPATCH();
                        }
                    }
                }
            }
            SYNC();
            Value r = vm_getattr(vm, obj, name);
            if (IS_NULL(r)) goto error;
            sp[-1] = r;
            SKIP_CACHES(2);
            DISPATCH();
        }
        TARGET(STORE_ATTR) {
            StrObject *name = NAME_AT(arg);
            Value obj = TOP();
            Value v = SECOND();
            if (IS_OBJ(obj)) {
                TypeObject *t = OBJ_TYPE(AS_OBJ(obj));
                uint32_t c1 = CACHE(1);
                if (c1 && t->version == CACHE(0)) {
                    if (c1 & SLOT_CACHE) {
                        *(Value *)(void *)((char *)AS_OBJ(obj) + (c1 & ~SLOT_CACHE)) = v;
                        sp -= 2;
                        SKIP_CACHES(2);
                        DISPATCH();
                    }
                    DictObject *d = instance_dict(obj, t);
                    size_t idx = c1 - 1;
                    if (d && idx < d->nentries && IS_OBJ(d->entries[idx].key) &&
                        AS_OBJ(d->entries[idx].key) == (Obj *)name) {
                        d->entries[idx].value = v;
                        d->version++;
                        sp -= 2;
                        SKIP_CACHES(2);
                        DISPATCH();
                    }
                }
                if (t->setattr == object_generic_setattr && t->version != 0) {
                    int64_t off = slot_offset(vm, t, name, obj);
                    if (off >= 0) {
                        CACHE(0) = t->version;
                        CACHE(1) = (uint32_t)off | SLOT_CACHE;
                        *(Value *)(void *)((char *)AS_OBJ(obj) + off) = v;
                        sp -= 2;
                        SKIP_CACHES(2);
                        DISPATCH();
                    }
                }
                // Another type (a polymorphic site) or another slot: overwrite an
                // existing instance attribute when no data descriptor on the
                // type intercepts it, as object.__setattr__ would.
                if (t->setattr == object_generic_setattr && t->version != 0) {
                    DictObject *d = instance_dict(obj, t);
                    if (d) {
                        bool data_descr = false;
                        if (!plain_attr(t, name)) {
                            Value tv = type_lookup(vm, t, name);
                            data_descr = IS_OBJ(tv) && OBJ_TYPE(AS_OBJ(tv))->descr_set;
                        }
                        int64_t idx = data_descr ? -1 : dict_slot_hint(d, name, c1);
                        if (idx >= 0 && idx < 0x7ffffffe) {
                            CACHE(0) = t->version;
                            CACHE(1) = (uint32_t)idx + 1;
                            d->entries[idx].value = v;
                            d->version++;
                            sp -= 2;
                            SKIP_CACHES(2);
                            DISPATCH();
                        }
                    }
                }
            }
            SYNC();
            if (vm_setattr(vm, obj, name, v) < 0) goto error;
            // Cache an existing instance-dict slot for plain objects.
            if (IS_OBJ(obj)) {
                TypeObject *t = OBJ_TYPE(AS_OBJ(obj));
                if (t->setattr == object_generic_setattr && t->version != 0) {
                    DictObject *d = instance_dict(obj, t);
                    if (d) {
                        Value tv = type_lookup(vm, t, name);
                        if (!(IS_OBJ(tv) && OBJ_TYPE(AS_OBJ(tv))->descr_set)) {
                            int64_t idx = dict_index_of(d, name);
                            if (idx >= 0 && idx < 0x7ffffffe) {
                                CACHE(0) = t->version;
                                CACHE(1) = (uint32_t)idx + 1;
                            }
                        }
                    }
                }
            }
            sp -= 2;
            SKIP_CACHES(2);
            DISPATCH();
        }
        TARGET(DELETE_ATTR) {
            SYNC();
            if (vm_setattr(vm, TOP(), NAME_AT(arg), VAL_NULL) < 0) goto error;
            sp--;
            DISPATCH();
        }
        TARGET(LOAD_METHOD) {
            StrObject *name = NAME_AT(arg);
            Value obj = TOP();
            if (IS_OBJ(obj)) {
                TypeObject *t = OBJ_TYPE(AS_OBJ(obj));
                if (t->getattr == object_generic_getattr) {
                    Value m = type_lookup_inline(vm, t, name);
                    bool plain = false;
                    if (IS_OBJ(m)) {
                        TypeObject *mt = OBJ_TYPE(AS_OBJ(m));
                        if (mt == vm->t_function) {
                            plain = true;
                        } else if (mt == vm->t_builtin_function) {
                            NativeFunctionObject *nf = (NativeFunctionObject *)AS_OBJ(m);
                            plain = (nf->flags & NATIVE_METHOD) && IS_NULL(nf->self);
                        }
                    }
                    if (plain) {
                        DictObject *d = instance_dict(obj, t);
                        if (!d || !instance_has(d, name)) {
                            sp[-1] = m;
                            value_put(sp++, obj); // the call copies it as one 16-byte load
                            SKIP_CACHES(2);
                            DISPATCH();
                        }
                    }
                }
            }
            SYNC();
            Value r = vm_getattr(vm, obj, name);
            if (IS_NULL(r)) goto error;
            sp[-1] = r;
            PUSH(VAL_NULL);
            SKIP_CACHES(2);
            DISPATCH();
        }
        TARGET(BINARY_SUBSCR) {
            Value c = SECOND(), k = TOP();
            if (IS_INT(k) && IS_OBJ(c)) {
                TypeObject *t = OBJ_TYPE(AS_OBJ(c));
                int64_t i = AS_INT(k);
                if (t == vm->t_list) {
                    ListObject *l = AS_LIST(c);
                    if (i < 0) i += (int64_t)l->len;
                    if (i >= 0 && (uint64_t)i < l->len) {
                        sp[-2] = l->items[i];
                        sp--;
                        SKIP_CACHES(1);
                        DISPATCH();
                    }
                } else if (t == vm->t_tuple) {
                    TupleObject *tu = AS_TUPLE(c);
                    if (i < 0) i += (int64_t)tu->len;
                    if (i >= 0 && (uint64_t)i < tu->len) {
                        sp[-2] = tu->items[i];
                        sp--;
                        SKIP_CACHES(1);
                        DISPATCH();
                    }
                } else if (t == vm->t_str) {
                    Value r = str_getitem_index(vm, AS_STR(c), i);
                    if (IS_NULL(r)) goto error;
                    sp[-2] = r;
                    sp--;
                    SKIP_CACHES(1);
                    DISPATCH();
                }
            } else if (is_exact(c, vm->t_dict) && is_exact(k, vm->t_str)) {
                Value r = dict_get_str(AS_DICT(c), AS_STR(k));
                if (!IS_NULL(r)) {
                    sp[-2] = r;
                    sp--;
                    SKIP_CACHES(1);
                    DISPATCH();
                }
            }
            SYNC();
            if (IS_INT(k) && is_exact(c, vm->t_dict)) {
                Value r;
                int found = dict_get(vm, AS_DICT(c), k, &r);
                if (found < 0) goto error;
                if (found) {
                    sp[-2] = r;
                    sp--;
                    SKIP_CACHES(1);
                    DISPATCH();
                }
            }
            Value r = vm_getitem(vm, c, k);
            if (IS_NULL(r)) goto error;
            sp[-2] = r;
            sp--;
            SKIP_CACHES(1);
            DISPATCH();
        }
        TARGET(STORE_SUBSCR) {
            Value v = sp[-3], c = sp[-2], k = sp[-1];
            if (IS_INT(k) && is_exact(c, vm->t_list)) {
                ListObject *l = AS_LIST(c);
                int64_t i = AS_INT(k);
                if (i < 0) i += (int64_t)l->len;
                if (i >= 0 && (uint64_t)i < l->len) {
                    l->items[i] = v;
                    sp -= 3;
                    SKIP_CACHES(1);
                    DISPATCH();
                }
            } else if (is_exact(c, vm->t_dict) && is_exact(k, vm->t_str)) {
                if (dict_set_str(vm, AS_DICT(c), AS_STR(k), v) < 0) goto error;
                sp -= 3;
                SKIP_CACHES(1);
                DISPATCH();
            }
            SYNC();
            if (IS_INT(k) && is_exact(c, vm->t_dict)) {
                if (dict_set(vm, AS_DICT(c), k, v) < 0) goto error;
                sp -= 3;
                SKIP_CACHES(1);
                DISPATCH();
            }
            if (vm_setitem(vm, c, k, v) < 0) goto error;
            sp -= 3;
            SKIP_CACHES(1);
            DISPATCH();
        }
        TARGET(DELETE_SUBSCR) {
            SYNC();
            Value c = SECOND(), k = TOP();
            if (is_exact(c, vm->t_dict) && simple_key(vm, k)) {
                int r = dict_del(vm, AS_DICT(c), k);
                if (r < 0) goto error;
                if (r > 0) {
                    sp -= 2;
                    DISPATCH();
                }
                // missing: the generic path raises the KeyError
            }
            if (vm_setitem(vm, c, k, VAL_NULL) < 0) goto error;
            sp -= 2;
            DISPATCH();
        }

        // ---- operators
        TARGET(UNARY_NEGATIVE) {
            Value a = TOP();
            if (IS_INT(a) && AS_INT(a) != INT64_MIN) {
                sp[-1] = v_int(-AS_INT(a));
                DISPATCH();
            }
            if (IS_FLOAT(a)) {
                sp[-1] = v_float(-AS_FLOAT(a));
                DISPATCH();
            }
            SYNC();
            Value r = vm_unary_op(vm, OP_UNARY_NEGATIVE, a);
            if (IS_NULL(r)) goto error;
            sp[-1] = r;
            DISPATCH();
        }
        TARGET(UNARY_POSITIVE) {
            Value a = TOP();
            if (IS_INT(a) || IS_FLOAT(a)) DISPATCH();
            SYNC();
            Value r = vm_unary_op(vm, OP_UNARY_POSITIVE, a);
            if (IS_NULL(r)) goto error;
            sp[-1] = r;
            DISPATCH();
        }
        TARGET(UNARY_INVERT) {
            Value a = TOP();
            if (IS_INT(a)) {
                sp[-1] = v_int(~AS_INT(a));
                DISPATCH();
            }
            SYNC();
            Value r = vm_unary_op(vm, OP_UNARY_INVERT, a);
            if (IS_NULL(r)) goto error;
            sp[-1] = r;
            DISPATCH();
        }
        TARGET(UNARY_NOT) {
            Value a = TOP();
            int t;
            if (IS_BOOL(a))
                t = AS_BOOL(a);
            else if (IS_NONE(a))
                t = 0;
            else if (IS_INT(a))
                t = AS_INT(a) != 0;
            else {
                SYNC();
                t = vm_truthy(vm, a);
                if (t < 0) goto error;
            }
            sp[-1] = v_bool(!t);
            DISPATCH();
        }
        TARGET(BINARY_OP) {
            Value a = SECOND(), b = TOP();
            bool handled;
            Value r = binary_fast(vm, arg & ~(uint32_t)BINOP_INPLACE_FLAG, a, b, &handled);
            if (!handled) {
                SYNC();
                r = vm_binary_op(vm, (int)arg, a, b);
            }
            if (IS_NULL(r)) goto error;
            SKIP_CACHES(1);
            uint32_t nw = *ip;
            if (INSTR_OP(nw) == OP_STORE_FAST) {
                // `x = a + b` / `x += b`: store the result right away.
                value_put(&lp[INSTR_ARG(nw)], r);
                sp -= 2;
                ip++;
                DISPATCH();
            }
            value_put(&sp[-2], r);
            sp--;
            DISPATCH();
        }
        TARGET(COMPARE_OP) {
            Value a = SECOND(), b = TOP();
            bool handled;
            int c = compare_fast(vm, arg, a, b, &handled);
            Value r;
            if (handled) {
                SKIP_CACHES(1);
                sp -= 2;
                PUSH_TEST(c != 0);
            } else {
                SYNC();
                r = vm_compare(vm, a, b, (int)arg);
                if (IS_NULL(r)) goto error;
            }
            sp[-2] = r;
            sp--;
            SKIP_CACHES(1);
            DISPATCH();
        }
        TARGET(IS_OP) {
            bool r = v_is(SECOND(), TOP());
            sp -= 2;
            PUSH_TEST(r != (arg != 0));
        }
        TARGET(CONTAINS_OP) {
            SYNC();
            int r;
            Value c = TOP(), k = SECOND();
            if (is_exact(c, vm->t_dict) && simple_key(vm, k)) {
                Value unused;
                r = dict_get(vm, AS_DICT(c), k, &unused);
            } else {
                r = vm_contains(vm, c, k);
            }
            if (r < 0) goto error;
            sp -= 2;
            PUSH_TEST((r != 0) != (arg != 0));
        }

        // ---- building
        TARGET(BUILD_TUPLE) {
            TupleObject *t = arg ? tuple_from(vm, sp - arg, arg) : vm->empty_tuple;
            if (!t) goto error;
            sp -= arg;
            PUSH(v_obj(t));
            DISPATCH();
        }
        TARGET(BUILD_LIST) {
            ListObject *l = list_from(vm, sp - arg, arg);
            if (!l) goto error;
            sp -= arg;
            PUSH(v_obj(l));
            DISPATCH();
        }
        TARGET(BUILD_SET) {
            Value s = set_new(vm, vm->t_set);
            if (IS_NULL(s)) goto error;
            if (arg) {
                SYNC();
                if (vm_push_root(vm, s) < 0) goto error;
                for (uint32_t i = 0; i < arg; i++) {
                    if (set_add(vm, s, sp[-(int)arg + (int)i]) < 0) {
                        vm_pop_roots(vm, 1);
                        goto error;
                    }
                }
                vm_pop_roots(vm, 1);
            }
            sp -= arg;
            PUSH(s);
            DISPATCH();
        }
        TARGET(BUILD_MAP) {
            DictObject *d = dict_new(vm);
            if (!d) goto error;
            if (arg) {
                SYNC();
                if (vm_push_root(vm, v_obj(d)) < 0) goto error;
                Value *base = sp - 2 * arg;
                for (uint32_t i = 0; i < arg; i++) {
                    if (dict_set(vm, d, base[2 * i], base[2 * i + 1]) < 0) {
                        vm_pop_roots(vm, 1);
                        goto error;
                    }
                }
                vm_pop_roots(vm, 1);
            }
            sp -= 2 * arg;
            PUSH(v_obj(d));
            DISPATCH();
        }
        TARGET(BUILD_STRING) {
            // The pieces are strs: size the result once and copy them in.
            Value *pieces = sp - arg;
            size_t len = 0, ncp = 0;
            for (uint32_t i = 0; i < arg; i++) {
                len += AS_STR(pieces[i])->len;
                ncp += AS_STR(pieces[i])->ncp;
            }
            StrObject *s;
            if (len <= 1) { // "" or one character: str_new shares the cached ones
                const char *src = "";
                for (uint32_t i = 0; i < arg; i++)
                    if (AS_STR(pieces[i])->len) src = AS_STR(pieces[i])->data;
                s = str_new(vm, src, len);
            } else {
                s = str_alloc(vm, len, ncp);
                if (s) {
                    char *d = s->data;
                    for (uint32_t i = 0; i < arg; i++) {
                        StrObject *piece = AS_STR(pieces[i]);
                        memcpy(d, piece->data, piece->len);
                        d += piece->len;
                    }
                }
            }
            if (!s) goto error;
            sp -= arg;
            PUSH(v_obj(s));
            DISPATCH();
        }
        TARGET(BUILD_SLICE) {
            Value step = arg == 3 ? POP() : VAL_NONE;
            Value stop = POP();
            Value start = TOP();
            Value s = slice_new(vm, start, stop, step);
            if (IS_NULL(s)) goto error;
            sp[-1] = s;
            DISPATCH();
        }
        TARGET(LIST_APPEND) {
            Value v = TOP();
            ListObject *l = AS_LIST(sp[-1 - (int)arg]);
            if (list_append(vm, l, v) < 0) goto error;
            sp--;
            DISPATCH();
        }
        TARGET(SET_ADD) {
            SYNC();
            if (set_add(vm, sp[-1 - (int)arg], TOP()) < 0) goto error;
            sp--;
            DISPATCH();
        }
        TARGET(MAP_ADD) {
            SYNC();
            if (dict_set(vm, AS_DICT(sp[-2 - (int)arg]), sp[-2], sp[-1]) < 0) goto error;
            sp -= 2;
            DISPATCH();
        }
        TARGET(LIST_EXTEND) {
            Value it = TOP();
            ListObject *l = AS_LIST(sp[-1 - (int)arg]);
            SYNC();
            if (list_extend(vm, l, it) < 0) {
                TypeObject *t = vm_type_of(vm, it);
                if (vm_err_matches(vm, vm->exc_TypeError) && !t->iter && !t->getitem) {
                    vm_err_clear(vm);
                    vm_raise(vm, vm->exc_TypeError, "Value after * must be an iterable, not %s",
                             vm_type_name(vm, it));
                }
                goto error;
            }
            sp--;
            DISPATCH();
        }
        TARGET(SET_UPDATE) {
            Value it = TOP();
            Value s = sp[-1 - (int)arg];
            SYNC();
            Value lv = vm_sequence_to_list(vm, it);
            if (IS_NULL(lv)) goto error;
            if (vm_push_root(vm, lv) < 0) goto error;
            ListObject *l = AS_LIST(lv);
            for (size_t i = 0; i < l->len; i++) {
                if (set_add(vm, s, l->items[i]) < 0) {
                    vm_pop_roots(vm, 1);
                    goto error;
                }
            }
            vm_pop_roots(vm, 1);
            sp--;
            DISPATCH();
        }
        TARGET(DICT_UPDATE) {
            Value m = TOP();
            DictObject *d = AS_DICT(sp[-1 - (int)arg]);
            SYNC();
            int err;
            if (!is_mapping(vm, m, &err)) {
                if (!err)
                    vm_raise(vm, vm->exc_TypeError, "'%s' object is not a mapping",
                             vm_type_name(vm, m));
                goto error;
            }
            if (dict_update(vm, d, m) < 0) goto error;
            sp--;
            DISPATCH();
        }
        TARGET(DICT_MERGE) {
            Value m = TOP();
            DictObject *d = AS_DICT(sp[-1 - (int)arg]);
            // [callable NULL argstuple map ... m]: the callable names the error.
            Value *fpos = sp - 1 - (int)arg - 3;
            Value func = fpos >= frame_stack(frame) ? *fpos : VAL_NONE;
            SYNC();
            if (dict_merge_kwargs(vm, d, m, func) < 0) goto error;
            sp--;
            DISPATCH();
        }
        TARGET(LIST_TO_TUPLE) {
            ListObject *l = AS_LIST(TOP());
            TupleObject *t = tuple_from(vm, l->items, l->len);
            if (!t) goto error;
            sp[-1] = v_obj(t);
            DISPATCH();
        }
        TARGET(FORMAT_VALUE) {
            if (arg == 0) {
                // f"{x}" of an int or a float is its str (format(x, '')).
                Value x = TOP();
                if (IS_INT(x) || IS_FLOAT(x)) {
                    Value r = IS_INT(x) ? int_to_str(vm, x, 10) : float_repr(vm, AS_FLOAT(x));
                    if (IS_NULL(r)) goto error;
                    sp[-1] = r;
                    DISPATCH();
                }
            }
            bool has_spec = (arg & 4) != 0;
            Value spec = has_spec ? TOP() : VAL_NULL;
            Value *vp = has_spec ? &sp[-2] : &sp[-1];
            SYNC();
            Value v = *vp;
            switch (arg & 3) {
            case 1: v = vm_str(vm, v); break;
            case 2: v = vm_repr(vm, v); break;
            case 3: v = vm_ascii(vm, v); break;
            default: break;
            }
            if (IS_NULL(v)) goto error;
            if (!has_spec && is_exact(v, vm->t_str)) {
                *vp = v;
            } else {
                *vp = v; // keep the converted value rooted during format()
                Value r = vm_format(vm, v, has_spec ? spec : v_obj(vm->names.empty));
                if (IS_NULL(r)) goto error;
                *vp = r;
            }
            if (has_spec) sp--;
            DISPATCH();
        }
        TARGET(UNPACK_SEQUENCE) {
            Value seq = TOP();
            if (IS_OBJ(seq)) {
                TypeObject *t = OBJ_TYPE(AS_OBJ(seq));
                const Value *items = NULL;
                size_t len = 0;
                if (t == vm->t_tuple) {
                    items = AS_TUPLE(seq)->items;
                    len = AS_TUPLE(seq)->len;
                } else if (t == vm->t_list) {
                    items = AS_LIST(seq)->items;
                    len = AS_LIST(seq)->len;
                }
                if (items) {
                    if (len != arg) {
                        if (len < arg)
                            vm_raise(vm, vm->exc_ValueError,
                                     "not enough values to unpack (expected %d, got %d)", (int)arg,
                                     (int)len);
                        else
                            vm_raise(vm, vm->exc_ValueError,
                                     "too many values to unpack (expected %d)", (int)arg);
                        goto error;
                    }
                    sp--;
                    for (size_t i = len; i > 0; i--) PUSH(items[i - 1]);
                    DISPATCH();
                }
            }
            // Generic: the slots seq and above become the targets; fill them
            // with None first so the synced stack is always markable.
            Value *base = sp - 1;
            for (uint32_t i = 1; i < arg; i++) base[i] = VAL_NONE;
            if (vm_push_root(vm, seq) < 0) goto error;
            sp = base + (arg ? arg : 1);
            SYNC();
            int r = unpack_iterable(vm, seq, base, arg);
            vm_pop_roots(vm, 1);
            if (r < 0) goto error;
            sp = base + arg;
            DISPATCH();
        }
        TARGET(UNPACK_EX) {
            uint32_t before = arg & 0xff, after = arg >> 8;
            Value seq = TOP();
            Value *base = sp - 1;
            SYNC();
            if (vm_push_root(vm, seq) < 0) goto error;
            int r = unpack_ex(vm, seq, base, before, after);
            vm_pop_roots(vm, 1);
            if (r < 0) goto error;
            sp = base + before + 1 + after;
            DISPATCH();
        }

        // ---- control flow
        TARGET(JUMP) {
            ip = code->code + arg;
            if (ip <= instr) SAFEPOINT();
            DISPATCH();
        }
        TARGET(POP_JUMP_IF_FALSE) {
            int t;
            TRUTH_OF(TOP(), t);
            sp--;
            if (!t) {
                ip = code->code + arg;
                if (ip <= instr) SAFEPOINT();
            }
            DISPATCH();
        }
        TARGET(POP_JUMP_IF_TRUE) {
            int t;
            TRUTH_OF(TOP(), t);
            sp--;
            if (t) {
                ip = code->code + arg;
                if (ip <= instr) SAFEPOINT();
            }
            DISPATCH();
        }
        TARGET(POP_JUMP_IF_NONE) {
            Value v = POP();
            if (IS_NONE(v)) {
                ip = code->code + arg;
                if (ip <= instr) SAFEPOINT();
            }
            DISPATCH();
        }
        TARGET(POP_JUMP_IF_NOT_NONE) {
            Value v = POP();
            if (!IS_NONE(v)) {
                ip = code->code + arg;
                if (ip <= instr) SAFEPOINT();
            }
            DISPATCH();
        }
        TARGET(JUMP_IF_FALSE_OR_POP) {
            int t;
            TRUTH_OF(TOP(), t);
            if (!t)
                ip = code->code + arg;
            else
                sp--;
            DISPATCH();
        }
        TARGET(JUMP_IF_TRUE_OR_POP) {
            int t;
            TRUTH_OF(TOP(), t);
            if (t)
                ip = code->code + arg;
            else
                sp--;
            DISPATCH();
        }
        TARGET(GET_ITER) {
            SYNC();
            Value it = vm_iter(vm, TOP());
            if (IS_NULL(it)) goto error;
            sp[-1] = it;
            DISPATCH();
        }
        TARGET(FOR_ITER) {
            Value it = TOP();
            Value item;
            int r;
            TypeObject *t = IS_OBJ(it) ? OBJ_TYPE(AS_OBJ(it)) : NULL;
            if (t == vm->t_range_iterator && !((RangeIterObject *)AS_OBJ(it))->big) {
                // range_iter_next inlined for int64 ranges.
                RangeIterObject *ri = (RangeIterObject *)AS_OBJ(it);
                if (ri->left > 0) {
                    Value v = v_int(ri->next);
                    // The value after the last one may overflow; it is never produced.
                    if (--ri->left > 0) ri->next += ri->step;
                    FOR_ITER_DELIVER(v);
                }
                sp--;
                ip = code->code + arg;
                DISPATCH();
            }
            if (t == vm->t_list_iterator) {
                // list_iter_next inlined while items remain (its end goes below).
                ListIterObject *li = (ListIterObject *)AS_OBJ(it);
                ListObject *l = li->list;
                if (l && (uint64_t)li->index < l->len) {
                    Value v = l->items[li->index++];
                    FOR_ITER_DELIVER(v);
                }
            }
            SYNC();
            if (t == vm->t_generator) {
                // Run the generator's frame in this loop; YIELD_VALUE / its
                // return come back to this FOR_ITER (see RETURN_VALUE).
                GenObject *g = (GenObject *)AS_OBJ(it);
                if (EDDY_LIKELY(g->state == GEN_SUSPENDED && !gen_frozen(g) &&
                                fb->depth + vm->native_depth < vm->recursion_limit)) {
                    // The common case inline (gen_link of a started generator).
                    Frame *gf = gen_frame(g);
                    // Resumed with None, which the usual POP_TOP drops at once.
                    if (EDDY_LIKELY(INSTR_OP(*gf->instr) == OP_POP_TOP))
                        gf->instr++;
                    else
                        *gf->sp++ = VAL_NONE;
                    gf->prev = frame;
                    fb->frame = gf;
                    fb->depth++;
                    g->chain = NULL;
                    g->chain_len = 1;
                    g->state = GEN_RUNNING;
                    Obj *own = g->exc_state; // (shares its slot with saved_exc)
                    g->saved_exc = vm->handled_exc;
                    if (own) vm->handled_exc = v_obj(own);
                    frame = gf;
                    LOAD_FRAME();
                    ip = instr;
                    DISPATCH();
                }
                int c = gen_check_resume(vm, g, VAL_NONE);
                if (c < 0) goto error;
                if (c == 0) {
                    sp--;
                    ip = code->code + arg;
                    DISPATCH();
                }
                Frame *gf = gen_link(vm, fb, g, VAL_NONE);
                if (!gf) goto error;
                frame = gf;
                LOAD_FRAME();
                ip = instr;
                DISPATCH();
            }
            if (t && t->next)
                r = t->next(vm, it, &item);
            else
                r = vm_next(vm, it, &item);
            if (r > 0) FOR_ITER_DELIVER(item);
            if (r < 0) goto error;
            sp--;
            ip = code->code + arg;
            DISPATCH();
        }

        // ---- functions and calls
        TARGET(MAKE_FUNCTION) {
            CodeObject *fc = (CodeObject *)AS_OBJ(POP());
            Value closure = (arg & 8) ? POP() : VAL_NULL;
            Value kwdefaults = (arg & 2) ? POP() : VAL_NULL;
            Value defaults = (arg & 1) ? POP() : VAL_NULL;
            FunctionObject *f = function_new(vm, fc, frame->globals);
            if (!f) goto error;
            if (!IS_NULL(closure)) f->closure = AS_TUPLE(closure);
            if (!IS_NULL(kwdefaults)) f->kwdefaults = AS_DICT(kwdefaults);
            if (!IS_NULL(defaults)) f->defaults = AS_TUPLE(defaults);
            PUSH(v_obj(f));
            DISPATCH();
        }
        TARGET(CALL) {
            call_kwnames = NULL;
            call_n = arg;
            goto do_call;
        }
        TARGET(CALL_KW) {
            call_kwnames = AS_TUPLE(POP());
            call_n = arg;
            goto do_call;
        }
        TARGET(CALL_EX) {
            // [callable NULL argstuple kwargs?]: flatten into [callable NULL all kwnames?]
            Value kwargs = (arg & 1) ? TOP() : VAL_NULL;
            Value *argsp = (arg & 1) ? &sp[-2] : &sp[-1];
            Value func = argsp[-2];
            SYNC();
            TupleObject *kwn = NULL;
            int npos = 0;
            TupleObject *all = flatten_call_ex(vm, func, *argsp, kwargs, &kwn, &npos);
            if (!all) goto error;
            // A tuple made here rather than the caller's own (`f(*t) is t`
            // stays false, as in CPython).
            bool fresh = !IS_OBJ(*argsp) || AS_OBJ(*argsp) != &all->hdr;
            *argsp = v_obj(all);
            if (arg & 1) sp[-1] = kwn ? v_obj(kwn) : VAL_NONE;
            // Call directly with the tuple's items as the argument vector.
            Value *base = argsp - 2;
            Value callable = base[0];
            Value *args = all->items;
            int nargs = npos;
            if (is_exact(callable, vm->t_function)) {
                FunctionObject *fn = (FunctionObject *)AS_OBJ(callable);
                Frame *nf = fresh ? frame_push_call_fresh(vm, fb, fn, all, kwn)
                                  : frame_push_call(vm, fb, fn, args, nargs, kwn);
                if (!nf) goto error;
                frame->sp = base;
                frame->instr = instr;
                frame = nf;
                LOAD_FRAME();
                ip = instr;
                SAFEPOINT();
                DISPATCH();
            }
            Value r = vm_call(vm, callable, args, nargs, kwn);
            if (IS_NULL(r)) goto error;
            sp = base;
            PUSH(r);
            SAFEPOINT();
            DISPATCH();
        }
    do_call : {
        Value *base = sp - call_n - 2;
        Value callable = base[0];
        Value *args = base + 2;
        int nargs = (int)call_n;
        if (!IS_NULL(base[1])) {
            args = base + 1;
            nargs++;
        }
        if (call_kwnames) nargs -= (int)call_kwnames->len;
        if (EDDY_LIKELY(IS_OBJ(callable))) {
            TypeObject *ct = OBJ_TYPE(AS_OBJ(callable));
            if (ct == vm->t_method && IS_NULL(base[1])) {
                // Unpack the bound method in place: [func self args...].
                BoundMethodObject *bm = (BoundMethodObject *)AS_OBJ(callable);
                base[0] = callable = bm->func;
                base[1] = bm->self;
                args = base + 1;
                nargs++;
                ct = IS_OBJ(callable) ? OBJ_TYPE(AS_OBJ(callable)) : NULL;
            }
            if (ct == vm->t_function) {
                FunctionObject *fn = (FunctionObject *)AS_OBJ(callable);
                Frame *nf = call_kwnames ? NULL : push_simple(vm, fb, fn, args, nargs);
                if (!nf) nf = frame_push_call(vm, fb, fn, args, nargs, call_kwnames);
                if (EDDY_UNLIKELY(!nf)) goto error;
                frame->sp = base;
                frame->instr = instr;
                frame = nf;
                LOAD_FRAME();
                ip = instr;
                // No safe point here: the callee reaches one at its first
                // backward jump, call or return, and a chain of calls
                // alone is bounded by the recursion limit.
                DISPATCH();
            }
            if (ct == vm->t_builtin_function) {
                NativeFunctionObject *nfn = (NativeFunctionObject *)AS_OBJ(callable);
                bool ok = true;
                if (!IS_NULL(nfn->self)) {
                    if (IS_NULL(base[1])) {
                        base[1] = nfn->self;
                        args = base + 1;
                        nargs++;
                    } else {
                        ok = false;
                    }
                } else if ((nfn->flags & NATIVE_METHOD) && nfn->owner) {
                    // Only LOAD_METHOD's receiver is known to have the right type.
                    ok = !IS_NULL(base[1]) && args == base + 1 && IS_OBJ(base[1]) &&
                         (OBJ_TYPE(AS_OBJ(base[1])) == nfn->owner ||
                          type_is_subtype(OBJ_TYPE(AS_OBJ(base[1])), nfn->owner));
                }
                Value sendv;
                // (gen_like first: most native calls are not on generators.)
                if (ok && !call_kwnames && nargs >= 1 && nargs <= 2 && gen_like(vm, args[0]) &&
                    gen_resume_call(vm, nfn, args, nargs, &sendv)) {
                    // next(g) / g.send(v) / g.__next__(): run g's frame in
                    // this loop; its yield is this call's result.
                    GenObject *g = (GenObject *)AS_OBJ(args[0]);
                    SYNC();
                    int c = gen_check_resume(vm, g, sendv);
                    if (c < 0) goto error;
                    if (c == 0) {
                        vm_raise_value(vm, v_obj(vm->exc_StopIteration));
                        goto error;
                    }
                    Frame *gf = gen_link(vm, fb, g, sendv);
                    if (!gf) goto error;
                    frame->sp = base;
                    frame = gf;
                    LOAD_FRAME();
                    ip = instr;
                    DISPATCH();
                }
                if (ok) {
                    // A native call counts towards the recursion limit, as
                    // in CPython (see frame_push).
                    if (EDDY_UNLIKELY(fb->depth + vm->native_depth > vm->recursion_limit)) {
                        vm_raise(vm, vm->exc_RecursionError,
                                 "maximum recursion depth exceeded while calling a Python object");
                        goto error;
                    }
                    SYNC(); // the arguments stay rooted on the stack during the call
                    vm->native_depth++;
                    Value r = nfn->fn(vm, args, nargs, call_kwnames);
                    vm->native_depth--;
                    if (EDDY_UNLIKELY(IS_NULL(r))) goto error;
                    sp = base;
                    PUSH(r);
                    ip += 1;
                    SAFEPOINT();
                    DISPATCH();
                }
            } else if (ct == vm->t_type && IS_NULL(base[1]) && !call_kwnames) {
                TypeObject *cls = AS_TYPE(callable);
                if (!(cls->flags & TPF_HEAPTYPE) && nargs == 1) {
                    bool handled;
                    Value r = convert_call1(vm, cls, args[0], &handled);
                    if (handled) {
                        if (EDDY_UNLIKELY(IS_NULL(r))) goto error;
                        sp = base;
                        PUSH(r);
                        ip += 1;
                        DISPATCH();
                    }
                }
                FunctionObject *init = simple_init(vm, cls);
                if (init) {
                    SYNC();
                    Value inst = cls->new_(vm, cls, NULL, 0, NULL);
                    if (IS_NULL(inst)) goto error;
                    // [inst inst args...]: the instance is both the call's
                    // eventual result (base[0]) and __init__'s self.
                    base[0] = inst;
                    base[1] = inst;
                    // CPython counts the type call and the __init__ frame
                    // against the recursion limit: the FRAME_INIT frame
                    // holds one native_depth unit until it is popped.
                    vm->native_depth++;
                    Frame *nf = frame_push_call(vm, fb, init, base + 1, nargs + 1, NULL);
                    if (EDDY_UNLIKELY(!nf)) {
                        vm->native_depth--;
                        goto error;
                    }
                    nf->flags |= FRAME_INIT;
                    frame->sp = base + 1;
                    frame->instr = instr;
                    frame = nf;
                    LOAD_FRAME();
                    ip = instr;
                    SAFEPOINT();
                    DISPATCH();
                }
            }
        }
        SYNC();
        Value r = vm_call(vm, callable, args, nargs, call_kwnames);
        if (IS_NULL(r)) goto error;
        sp = base;
        PUSH(r);
        ip += 1;
        SAFEPOINT();
        DISPATCH();
    }
        TARGET(RETURN_VALUE) {
            retval = POP();
        do_return:;
            Frame *done = frame;
            uint32_t flags = done->flags;
            if (EDDY_LIKELY(flags == 0)) {
                // The common case: a plain call returns to the script frame below.
                frame_pop(vm, fb, done);
                frame = fb->frame;
                LOAD_FRAME();
                PUSH(retval);
                ip = instr + 1 + opcode_caches[INSTR_OP(*instr)];
                SAFEPOINT();
                DISPATCH();
            }
            if (EDDY_UNLIKELY(flags & FRAME_HEAP)) {
                // A generator finished. Its resumer's instruction says how
                // the return value is delivered.
                done->instr = instr; // gi_frame.f_lineno of a finished generator
                gen_unlink(vm, fb, gen_of_frame(done), true);
                if (flags & FRAME_ENTRY) return retval;
                frame = fb->frame;
                LOAD_FRAME();
                uint32_t rw = *instr;
                if (INSTR_OP(rw) == OP_FOR_ITER) {
                    sp--; // exhausted: pop the iterator and leave the loop
                    ip = code->code + INSTR_ARG(rw);
                } else if (INSTR_OP(rw) == OP_SEND) {
                    if (EDDY_UNLIKELY(asend_slot(vm, sp[-1]))) {
                        // The async generator finished: the end of iteration.
                        gen_asend_end(vm, sp[-1]);
                        vm_raise_value(vm, v_obj(vm->exc_StopAsyncIteration));
                        goto error;
                    }
                    sp[-1] = retval; // the value of `yield from`
                    ip = code->code + INSTR_ARG(rw);
                } else {
                    gen_raise_stop(vm, retval); // next(g) / g.send(v)
                    goto error;
                }
                SAFEPOINT();
                DISPATCH();
            }
            frame_pop(vm, fb, done);
            if (flags & FRAME_ENTRY) return retval;
            frame = fb->frame;
            LOAD_FRAME();
            if (flags & FRAME_INLINE) {
                // An inline coroutine returned: its value is the await's, at the
                // SEND's exit, in the slot that held the handled exception.
                vm->handled_exc = sp[-1];
                value_put(&sp[-1], retval);
                // (after GET_ANEXT, the SEND is three instructions on)
                const uint32_t *send =
                    INSTR_OP(*instr) == OP_GET_ANEXT ? instr + 3 : gen_inline_send(code, instr);
                ip = code->code + INSTR_ARG(*send);
                SAFEPOINT();
                DISPATCH();
            }
            if (EDDY_UNLIKELY(flags & FRAME_INIT)) {
                vm->native_depth--;
                if (!IS_NONE(retval)) {
                    vm_raise(vm, vm->exc_TypeError, "__init__() should return None, not '%s'",
                             vm_type_name(vm, retval));
                    goto error;
                }
                // The instance is already on top of the caller's stack.
            } else {
                PUSH(retval);
            }
            ip = instr + 1 + opcode_caches[INSTR_OP(*instr)];
            SAFEPOINT();
            DISPATCH();
        }
        TARGET(LOAD_BUILD_CLASS) {
            Value bc = dict_get_str(frame->builtins, vm->names.__build_class__);
            if (IS_NULL(bc)) {
                vm_raise(vm, vm->exc_NameError, "__build_class__ not found");
                goto error;
            }
            PUSH(bc);
            DISPATCH();
        }

        // ---- exceptions
        TARGET(RAISE_VARARGS) {
            if (arg == 0) {
                if (IS_NULL(vm->handled_exc) || IS_NONE(vm->handled_exc)) {
                    vm_raise(vm, vm->exc_RuntimeError, "No active exception to reraise");
                    goto error;
                }
                // A bare raise keeps the traceback as it is.
                vm->exc = vm->handled_exc;
                goto exception_unwind;
            }
            SYNC();
            Value cause = arg == 2 ? TOP() : VAL_NULL;
            Value exc = arg == 2 ? SECOND() : TOP();
            do_raise(vm, exc, cause);
            goto error;
        }
        TARGET(RERAISE) {
            vm->exc = POP();
            goto exception_unwind;
        }
        TARGET(PUSH_EXC_INFO) {
            Value exc = TOP();
            Value prev = vm->handled_exc;
            // A generator saves only what it handles itself: what it inherits
            // from its resumer (saved_exc; an inline coroutine's is in its
            // caller's slot) may differ when it is resumed (obj_gen.c).
            if (EDDY_UNLIKELY(frame->flags & (FRAME_HEAP | FRAME_INLINE))) {
                Value inherited = frame->flags & FRAME_HEAP ? gen_of_frame(frame)->saved_exc
                                                            : frame->prev->sp[-1];
                if (v_is(prev, inherited)) prev = VAL_NULL;
            }
            sp[-1] = IS_NULL(prev) ? VAL_NONE : prev;
            PUSH(exc);
            vm->handled_exc = exc;
            DISPATCH();
        }
        TARGET(POP_EXCEPT) {
            Value prev = POP();
            vm->handled_exc = IS_NONE(prev) ? VAL_NULL : prev;
            if (EDDY_UNLIKELY(frame->flags & (FRAME_HEAP | FRAME_INLINE)) && IS_NONE(prev))
                vm->handled_exc = frame->flags & FRAME_HEAP ? gen_of_frame(frame)->saved_exc
                                                            : frame->prev->sp[-1];
            DISPATCH();
        }
        TARGET(CHECK_EXC_MATCH) {
            SYNC();
            int r = exc_match(vm, SECOND(), TOP());
            if (r < 0) goto error;
            sp[-1] = v_bool(r);
            DISPATCH();
        }
        TARGET(CHECK_EG_MATCH) {
            // except*: [exc type] -> [rest match]; no match leaves [exc None].
            // The matched part becomes the exception being handled.
            SYNC();
            Value match, rest;
            if (exc_group_match(vm, SECOND(), TOP(), &match, &rest) < 0) goto error;
            sp[-2] = rest;
            sp[-1] = match;
            if (!IS_NONE(match)) vm->handled_exc = match;
            DISPATCH();
        }
        TARGET(PREP_RERAISE_STAR) {
            // [orig list] -> [exception to re-raise, or None]
            SYNC();
            Value r = exc_prep_reraise_star(vm, SECOND(), TOP());
            if (IS_NULL(r)) goto error;
            sp--;
            sp[-1] = r;
            DISPATCH();
        }
        TARGET(LOAD_ASSERTION_ERROR) {
            PUSH(v_obj(vm->exc_AssertionError));
            DISPATCH();
        }
        TARGET(BEFORE_WITH) {
            Value mgr = TOP(), enter, exitm;
            TypeObject *t = vm_type_of(vm, mgr);
            if (context_methods(vm, mgr, t, false, &enter, &exitm) < 0) goto error;
            SYNC();
            Value bound_exit = bind_special(vm, exitm, mgr, t);
            if (IS_NULL(bound_exit)) goto error;
            PUSH(bound_exit);
            SYNC();
            Value r = call_special(vm, enter, mgr, t);
            if (IS_NULL(r)) goto error;
            sp[-2] = bound_exit;
            sp[-1] = r;
            DISPATCH();
        }
        TARGET(WITH_EXCEPT_START) {
            Value exitf = sp[-4];
            Value exc = sp[-1];
            Value args[3];
            args[0] = v_obj(vm_type_of(vm, exc));
            args[1] = exc;
            args[2] = VAL_NONE;
            if (is_exception(vm, exc)) {
                Value tb = ((ExceptionObject *)AS_OBJ(exc))->traceback;
                if (!IS_NULL(tb)) args[2] = tb;
            }
            SYNC();
            Value r = vm_call(vm, exitf, args, 3, NULL);
            if (IS_NULL(r)) goto error;
            PUSH(r);
            DISPATCH();
        }

        // ---- modules
        TARGET(IMPORT_NAME) {
            Value fromlist = TOP();
            Value level = SECOND();
            SYNC();
            Value m = vm_import(vm, NAME_AT(arg), fromlist, IS_INT(level) ? (int)AS_INT(level) : 0,
                                frame->globals);
            if (IS_NULL(m)) goto error;
            sp[-2] = m;
            sp--;
            DISPATCH();
        }
        TARGET(IMPORT_FROM) {
            SYNC();
            Value v = import_from(vm, TOP(), NAME_AT(arg));
            if (IS_NULL(v)) goto error;
            PUSH(v);
            DISPATCH();
        }
        TARGET(IMPORT_STAR) {
            SYNC();
            if (import_star(vm, frame, TOP()) < 0) goto error;
            sp--;
            DISPATCH();
        }

        // ---- misc
        TARGET(PRINT_EXPR) {
            Value hook = vm->sys ? dict_get_str(vm->sys->dict, vm->names.displayhook) : VAL_NULL;
            if (IS_NULL(hook)) {
                vm_raise(vm, vm->exc_RuntimeError, "lost sys.displayhook");
                goto error;
            }
            SYNC();
            Value r = vm_call1(vm, hook, TOP());
            if (IS_NULL(r)) goto error;
            sp--;
            DISPATCH();
        }
        TARGET(SETUP_ANNOTATIONS) {
            if (!frame->locals) {
                vm_raise(vm, vm->exc_SystemError, "no locals found when setting up annotations");
                goto error;
            }
            if (IS_NULL(dict_get_str(frame->locals, vm->names.__annotations__))) {
                DictObject *d = dict_new(vm);
                if (!d || dict_set_str(vm, frame->locals, vm->names.__annotations__, v_obj(d)) < 0)
                    goto error;
            }
            DISPATCH();
        }

        // ---- generators (coroutines: next session)
        TARGET(RETURN_GENERATOR) {
            // The frame was built on the fiber by an ordinary call: move it into
            // a new generator (resuming after this instruction) and return that.
            SYNC();
            if ((code->flags & CO_COROUTINE) && frame->flags == 0 && frame->prev &&
                gen_inline_send(frame->prev->code, frame->prev->instr)) {
                // `await f(...)`: run the coroutine in place (frame.h). The
                // caller keeps the handled exception where the coroutine object
                // would be; the first "send" is None, as on a first resume.
                frame->flags = FRAME_INLINE;
                *frame->prev->sp++ = vm->handled_exc;
                PUSH(VAL_NONE);
                DISPATCH();
            }
            frame->instr = ip;
            GenObject *g = gen_new(vm, frame);
            frame->instr = instr;
            if (!g) goto error;
            retval = v_obj(g);
            goto do_return;
        }
        TARGET(YIELD_VALUE) {
            if (EDDY_UNLIKELY(frame->flags & FRAME_CONSUMED)) {
                // gen_foreach: hand the item to the native consumer and go on
                // (frame.h). It runs with the resumer's handled exception, as
                // if the generator were suspended.
                GenConsumer *c = vm->gen_consumer;
                GenObject *g = gen_of_frame(frame);
                SYNC();
                Value mine = vm->handled_exc;
                vm->handled_exc = g->saved_exc;
                int r = c->fn(vm, TOP(), c->ud);
                vm->handled_exc = mine;
                if (r == 0) {
                    // Resumed with None, which the usual POP_TOP drops at once.
                    if (EDDY_LIKELY(INSTR_OP(*ip) == OP_POP_TOP)) {
                        sp--;
                        ip++;
                    } else {
                        sp[-1] = VAL_NONE; // the value "sent" back
                    }
                    DISPATCH();
                }
                c->stopped = r; // suspend here; gen_foreach reports it
            }
            // Suspend: the resume point is the next instruction, and the value
            // goes to the resumer exactly like a return value from its FOR_ITER /
            // SEND / CALL (which then continues after that instruction).
            Value v = POP();
            frame->sp = sp;
            frame->instr = ip;
            if (EDDY_UNLIKELY(frame->flags & FRAME_INLINE)) {
                // An inline coroutine suspends: make it (and the inline frames
                // below it) real coroutines first.
                Frame *nf = gen_materialize(vm, fb);
                if (!nf) {
                    PUSH(v);
                    goto error;
                }
                frame = nf;
            }
            if (frame->flags & FRAME_ITEM) {
                // An async generator's item finishes the awaiting SEND below.
                frame->flags &= ~(uint32_t)FRAME_ITEM;
                gen_unlink(vm, fb, gen_of_frame(frame), false);
                frame = fb->frame;
                LOAD_FRAME();
                gen_asend_end(vm, sp[-1]);
                value_put(&sp[-1], v); // (usually stored at once by STORE_FAST)
                ip = code->code + INSTR_ARG(*instr);
                DISPATCH();
            }
            GenObject *yg = gen_of_frame(frame);
            // (A running frame is not frozen: its chain is its root or NULL.)
            if (!yg->chain && !(frame->flags & FRAME_ENTRY)) {
                // The common case inline (gen_unlink): a generator or a lone
                // coroutine gives the value to the frame that resumed it.
                Frame *resumer = frame->prev;
                fb->frame = resumer;
                fb->depth--;
                frame->prev = NULL;
                yg->state = GEN_SUSPENDED;
                Value saved = yg->saved_exc;
                gen_set_exc_state(yg, v_is(vm->handled_exc, saved) ? VAL_NULL : vm->handled_exc);
                vm->handled_exc = saved;
                frame = resumer;
                LOAD_FRAME();
                if (EDDY_LIKELY(INSTR_OP(*instr) == OP_FOR_ITER)) {
                    ip = instr + 1;
                    FOR_ITER_DELIVER(v); // (with the STORE_FAST that usually follows)
                }
            } else {
                // (an await chain is frozen at once: frame.h, O(1) resume)
                uint32_t flags = gen_suspend(vm, fb, yg)->flags;
                if (flags & FRAME_ENTRY) return v;
                frame = fb->frame;
                LOAD_FRAME();
            }
            if (EDDY_UNLIKELY(INSTR_OP(*instr) == OP_SEND) &&
                is_exact(sp[-1], vm->t_async_generator)) {
                // An await inside an async generator run by GET_ANEXT passes
                // through: this frame suspends too, so it gets a real awaitable
                // in place of the generator (frame.h). Out of memory, the
                // generator stays suspended there and the await raises.
                Value aw = gen_anext_materialize(vm, (GenObject *)AS_OBJ(sp[-1]));
                if (IS_NULL(aw)) {
                    gen_asend_end(vm, sp[-1]);
                    goto error;
                }
                sp[-1] = aw;
            }
            if (EDDY_UNLIKELY(is_exact(v, vm->t_async_gen_wrapped)) &&
                INSTR_OP(*instr) == OP_SEND && asend_slot(vm, sp[-1])) {
                // An async generator's item finishes the awaiting SEND.
                gen_asend_end(vm, sp[-1]);
                sp[-1] = gen_async_unwrap(v);
                ip = code->code + INSTR_ARG(*instr);
                DISPATCH();
            }
            PUSH(v);
            ip = instr + 1 + opcode_caches[INSTR_OP(*instr)];
            DISPATCH();
        }
        TARGET(RESUME) { DISPATCH(); }
        TARGET(GET_YIELD_FROM_ITER) {
            if (!is_exact(TOP(), vm->t_generator)) {
                SYNC();
                Value it = vm_iter(vm, TOP());
                if (IS_NULL(it)) goto error;
                sp[-1] = it;
            }
            DISPATCH();
        }
        TARGET(SEND) {
            Value v = TOP();
            Value sub = SECOND();
            SYNC();
            if (gen_like(vm, sub)) {
                // Delegate to a generator in this loop: its yields pass through
                // the YIELD_VALUE after this SEND, its return comes back here.
                GenObject *g = (GenObject *)AS_OBJ(sub);
                int c = gen_check_resume(vm, g, v);
                bool frozen = gen_frozen(g);
                if (c < 0) goto error;
                sp--;
                if (c == 0) {
                    sp[-1] = VAL_NONE;
                    ip = code->code + arg;
                    DISPATCH();
                }
                frame->sp = sp;
                Frame *gf = gen_link(vm, fb, g, v);
                if (!gf) goto error;
                if (!frozen) gen_chain(vm, frame, g);
                frame = gf;
                LOAD_FRAME();
                ip = instr;
                DISPATCH();
            }
            if (is_exact(sub, vm->t_async_gen_asend)) {
                // __anext__() / asend(v) of an async generator: run its frame
                // in this loop (not chained: its items come back here).
                GenObject *g;
                if (gen_asend_begin(vm, sub, &v, &g) < 0) goto error;
                sp--;
                frame->sp = sp;
                Frame *gf = gen_link(vm, fb, g, v);
                if (!gf) goto error;
                frame = gf;
                LOAD_FRAME();
                ip = instr;
                DISPATCH();
            }
            if (is_exact(sub, vm->t_sleep) && IS_NONE(v)) {
                Value r;
                int n = sleep_step(vm, sub, VAL_NULL, &r);
                if (n < 0) goto error;
                if (n == 0) {
                    sp--;
                    sp[-1] = r;
                    ip = code->code + arg;
                    DISPATCH();
                }
                sp[-1] = r; // yielded: YIELD_VALUE follows
                DISPATCH();
            }
            TypeObject *st = vm_type_of(vm, sub);
            Value r;
            if (IS_NONE(v) && st->next && !(st->flags & TPF_HEAPTYPE)) {
                int n = st->next(vm, sub, &r);
                if (n <= 0) {
                    // Exhausted; a native awaitable (FutureIter) returns its
                    // value as a pending StopIteration.
                    Value value = VAL_NONE;
                    if (n < 0) {
                        if (!vm_err_matches(vm, vm->exc_StopIteration)) goto error;
                        value = gen_fetch_stop_value(vm);
                    }
                    sp--;
                    sp[-1] = value;
                    ip = code->code + arg;
                    DISPATCH();
                }
            } else {
                r = IS_NONE(v) ? vm_call_method(vm, sub, vm->names.__next__, NULL, 0)
                               : vm_call_method(vm, sub, vm->names.send, &v, 1);
                if (IS_NULL(r)) {
                    if (!vm_err_matches(vm, vm->exc_StopIteration)) goto error;
                    sp--;
                    sp[-1] = gen_fetch_stop_value(vm);
                    ip = code->code + arg;
                    DISPATCH();
                }
            }
            sp[-1] = r; // [sub yielded]: the YIELD_VALUE that follows passes it on
            DISPATCH();
        }
        TARGET(GET_AWAITABLE) {
            // [x] -> [iterator to `yield from`]: a coroutine itself, else x.__await__().
            Value x = TOP();
            SYNC();
            if (is_exact(x, vm->t_coroutine)) {
                GenObject *g = (GenObject *)AS_OBJ(x);
                if (g->state == GEN_CLOSED) {
                    vm_raise(vm, vm->exc_RuntimeError, "cannot reuse already awaited coroutine");
                    goto error;
                }
                if (gen_is_awaiting(g)) {
                    vm_raise(vm, vm->exc_RuntimeError, "coroutine is being awaited already");
                    goto error;
                }
                DISPATCH();
            }
            if (is_exact(x, vm->t_async_gen_asend)) DISPATCH(); // its own iterator
            if (is_exact(x, vm->t_sleep)) {                     // asyncio.sleep(): likewise
                if (sleep_check_awaitable(vm, x) < 0) goto error;
                DISPATCH();
            }
            if (is_exact(x, vm->t_future) || is_exact(x, vm->t_task)) {
                Value it = future_await_iter(vm, x);
                if (IS_NULL(it)) goto error;
                sp[-1] = it;
                DISPATCH();
            }
            Value meth = type_lookup(vm, vm_type_of(vm, x), vm->names.__await__);
            if (IS_NULL(meth)) {
                awaitable_error(vm, arg, x);
                goto error;
            }
            Value it = vm_call_method(vm, x, vm->names.__await__, NULL, 0);
            if (IS_NULL(it)) goto error;
            if (is_exact(it, vm->t_coroutine)) {
                vm_raise(vm, vm->exc_TypeError, "__await__() returned a coroutine");
                goto error;
            }
            TypeObject *itt = vm_type_of(vm, it);
            if (!itt->next && IS_NULL(type_lookup(vm, itt, vm->names.__next__))) {
                vm_raise(vm, vm->exc_TypeError, "__await__() returned non-iterator of type '%s'",
                         vm_type_name(vm, it));
                goto error;
            }
            sp[-1] = it;
            DISPATCH();
        }
        TARGET(GET_AITER) {
            Value x = TOP();
            TypeObject *t = vm_type_of(vm, x);
            Value aiter = type_lookup(vm, t, vm->names.__aiter__);
            if (IS_NULL(aiter)) {
                vm_raise(vm, vm->exc_TypeError,
                         "'async for' requires an object with __aiter__ method, got %s",
                         vm_type_name(vm, x));
                goto error;
            }
            SYNC();
            Value it = call_special(vm, aiter, x, t);
            if (IS_NULL(it)) goto error;
            if (IS_NULL(type_lookup(vm, vm_type_of(vm, it), vm->names.__anext__))) {
                vm_raise(vm, vm->exc_TypeError,
                         "'async for' received an object from __aiter__ that does not implement "
                         "__anext__: %s",
                         vm_type_name(vm, it));
                goto error;
            }
            sp[-1] = it;
            DISPATCH();
        }
        TARGET(GET_ANEXT) {
            // [aiter] -> [aiter aiter.__anext__()] (GET_AWAITABLE 3 follows)
            Value it = TOP();
            if (is_exact(it, vm->t_async_generator) && anext_awaited(code, instr)) {
                // `async for` over an async generator: act as the SEND of
                // `await it.__anext__()` without making the awaitable; the
                // generator stands in for it (frame.h).
                GenObject *g = (GenObject *)AS_OBJ(it);
                instr = ip + 2;
                PUSH(it);
                SYNC();
                Frame *gf = gen_anext_link(vm, fb, g);
                if (!gf) goto error;
                frame = gf;
                LOAD_FRAME();
                ip = instr;
                DISPATCH();
            }
            TypeObject *t = vm_type_of(vm, it);
            Value anext = type_lookup(vm, t, vm->names.__anext__);
            if (IS_NULL(anext)) {
                vm_raise(vm, vm->exc_TypeError,
                         "'async for' requires an iterator with __anext__ method, got %s",
                         vm_type_name(vm, it));
                goto error;
            }
            SYNC();
            if (t == vm->t_async_generator) {
                Value aw = gen_anext(vm, (GenObject *)AS_OBJ(it));
                if (IS_NULL(aw)) goto error;
                PUSH(aw);
                DISPATCH();
            }
            if (is_exact(anext, vm->t_function)) {
                // A script __anext__ runs as a frame of this loop: its result is
                // pushed like a call's, and an `async def __anext__` runs in
                // place (FRAME_INLINE) since GET_AWAITABLE + SEND follow.
                FunctionObject *fn = (FunctionObject *)AS_OBJ(anext);
                Frame *nf = push_simple(vm, fb, fn, &it, 1);
                if (!nf) nf = frame_push_call(vm, fb, fn, &it, 1, NULL);
                if (!nf) goto error;
                frame = nf;
                LOAD_FRAME();
                ip = instr;
                SAFEPOINT();
                if ((code->flags & CO_COROUTINE) && INSTR_OP(*ip) == OP_RETURN_GENERATOR &&
                    anext_awaited(frame->prev->code, frame->prev->instr)) {
                    // RETURN_GENERATOR's inline start, done here.
                    frame->flags = FRAME_INLINE;
                    *frame->prev->sp++ = vm->handled_exc;
                    PUSH(VAL_NONE);
                    ip++;
                }
                DISPATCH();
            }
            Value aw = call_special(vm, anext, it, t);
            if (IS_NULL(aw)) goto error;
            PUSH(aw);
            DISPATCH();
        }
        TARGET(END_ASYNC_FOR) {
            // [aiter exc]: StopAsyncIteration ends the loop; anything else goes on.
            Value exc = POP();
            if (type_is_subtype(vm_type_of(vm, exc), vm->exc_StopAsyncIteration)) {
                sp--;
                DISPATCH();
            }
            vm->exc = exc;
            goto exception_unwind;
        }
        TARGET(BEFORE_ASYNC_WITH) {
            // [mgr] -> [bound __aexit__, mgr.__aenter__()] (GET_AWAITABLE 1 follows)
            Value mgr = TOP(), enter, exitm;
            TypeObject *t = vm_type_of(vm, mgr);
            if (context_methods(vm, mgr, t, true, &enter, &exitm) < 0) goto error;
            SYNC();
            Value bound_exit = bind_special(vm, exitm, mgr, t);
            if (IS_NULL(bound_exit)) goto error;
            PUSH(bound_exit);
            SYNC();
            Value r = call_special(vm, enter, mgr, t);
            if (IS_NULL(r)) goto error;
            sp[-2] = bound_exit;
            sp[-1] = r;
            DISPATCH();
        }
        TARGET(ASYNC_GEN_WRAP) {
            // [v] -> [wrapped v]: the YIELD_VALUE that follows is an item, not an await.
            Frame *resumer = frame->prev;
            if (!(frame->flags & FRAME_ENTRY) && resumer && INSTR_OP(*resumer->instr) == OP_SEND &&
                asend_slot(vm, resumer->sp[-1])) {
                // Awaited stackless by a SEND: no wrapper. The YIELD_VALUE that
                // follows finishes that SEND with the item (FRAME_ITEM), done
                // here at once as it would do it (neither flag it checks first,
                // FRAME_CONSUMED or FRAME_INLINE, is an async generator's).
                if (EDDY_LIKELY(INSTR_OP(*ip) == OP_YIELD_VALUE)) {
                    Value v = POP();
                    frame->sp = sp;
                    frame->instr = ip + 1; // resume after the YIELD_VALUE
                    gen_unlink(vm, fb, gen_of_frame(frame), false);
                    frame = fb->frame;
                    LOAD_FRAME();
                    gen_asend_end(vm, sp[-1]);
                    value_put(&sp[-1], v);
                    ip = code->code + INSTR_ARG(*instr);
                    DISPATCH();
                }
                frame->flags |= FRAME_ITEM;
                DISPATCH();
            }
            SYNC();
            Value w = gen_async_wrap(vm, TOP());
            if (IS_NULL(w)) goto error;
            sp[-1] = w;
            DISPATCH();
        }

#ifndef USE_COMPUTED_GOTO
    default:
        vm_raise(vm, vm->exc_SystemError, "unknown opcode %d", (int)INSTR_OP(word));
        goto error;
    }
#endif

error:
    // An instruction of `frame` raised: record where, then unwind.
    frame->instr = instr;
    if (!vm_err_occurred(vm))
        vm_raise(vm, vm->exc_SystemError, "error return without exception set");
    vm_traceback_add(vm, code, (uint32_t)(instr - code->code));

exception_unwind : {
    uint32_t pc = (uint32_t)(instr - code->code);
    const ExcEntry *h = find_handler(code, pc);
    if (h) {
        sp = frame_stack(frame) + h->depth;
        if (h->push_lasti) PUSH(v_int(pc));
        PUSH(vm_err_fetch(vm));
        ip = code->code + h->handler;
        DISPATCH();
    }
    // No handler here: the frame is done; continue in its caller.
    Frame *done = frame;
    uint32_t flags = done->flags;
    if (EDDY_UNLIKELY(flags & FRAME_HEAP)) {
        // The exception leaves a generator: it is finished, and its
        // resumer's instruction raises it (PEP 479 applies first).
        gen_unlink(vm, fb, gen_of_frame(done), true);
        gen_stopiteration_error(vm, gen_of_frame(done));
        if (flags & FRAME_ENTRY) return VAL_NULL;
        frame = fb->frame;
        LOAD_FRAME();
        if (INSTR_OP(*instr) == OP_SEND && asend_slot(vm, sp[-1])) gen_asend_end(vm, sp[-1]);
        goto error;
    }
    frame_pop(vm, fb, done);
    if (flags & FRAME_INIT) vm->native_depth--;
    if (flags & FRAME_ENTRY) return VAL_NULL;
    frame = fb->frame;
    LOAD_FRAME();
    if (flags & FRAME_INLINE) {
        // The exception leaves an inline coroutine: PEP 479 applies, the
        // handled exception is restored, and the caller raises it at its
        // `await` (the SEND), as for a coroutine object.
        gen_inline_stopiteration_error(vm);
        vm->handled_exc = sp[-1];
        instr = gen_inline_send(code, instr);
    }
    goto error;
}

#undef TARGET
#undef DISPATCH
#undef LOAD_FRAME
#undef SYNC
#undef PUSH
#undef POP
#undef TOP
#undef SECOND
#undef SAFEPOINT
#undef TRUTH_OF
#undef NAME_AT
#undef CACHE
#undef SKIP_CACHES
}
