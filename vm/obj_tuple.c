// obj_tuple.c - tuple and tuple_iterator.
//
// A tuple is a fixed-length array of Values allocated inline with its header
// (one allocation, no finalizer). The empty tuple is a pinned singleton,
// vm->empty_tuple, created here. Hashing follows CPython 3.11's xxHash-based
// algorithm so hash((1, 2)) prints the same number as python3.
#include <string.h>

#include "opcodes.h"
#include "vm.h"

// Set in Obj.obj_flags while the tuple's repr is being built (recursion guard
// against a tuple that contains a list containing the tuple).
#define TUPLE_REPR_RUNNING 0x8000u

typedef struct TupleIterObject {
    Obj hdr;
    TupleObject *tuple; // NULL once exhausted
    size_t index;
} TupleIterObject;

// ---------------------------------------------------------------------------
// Construction

static TupleObject *tuple_alloc(EddyVM *vm, TypeObject *t, size_t len) {
    if (len > (SIZE_MAX - sizeof(TupleObject)) / sizeof(Value) / 2) {
        vm_raise_nomem(vm);
        return NULL;
    }
    size_t base = t == vm->t_tuple ? sizeof(TupleObject) : t->instance_size;
    if (base < sizeof(TupleObject)) base = sizeof(TupleObject);
    TupleObject *tup = (TupleObject *)obj_alloc(vm, t, base + len * sizeof(Value));
    if (!tup) return NULL;
    tup->len = len;
    return tup;
}

TupleObject *tuple_new(EddyVM *vm, size_t len) {
    if (len == 0 && vm->empty_tuple) return vm->empty_tuple;
    TupleObject *t = tuple_alloc(vm, vm->t_tuple, len);
    if (!t) return NULL;
    for (size_t i = 0; i < len; i++) t->items[i] = VAL_NONE;
    return t;
}

TupleObject *tuple_from(EddyVM *vm, const Value *items, size_t len) {
    if (len == 0 && vm->empty_tuple) return vm->empty_tuple;
    TupleObject *t = tuple_alloc(vm, vm->t_tuple, len);
    if (!t) return NULL;
    memcpy(t->items, items, len * sizeof(Value));
    return t;
}

static bool is_tuple(Value v) {
    return IS_OBJ(v) && (OBJ_TYPE(AS_OBJ(v))->flags & TPF_TUPLE_SUBCLASS);
}

// tuple(iterable) / Subclass(iterable)
static Value tuple_new_slot(EddyVM *vm, TypeObject *t, Value *args, int nargs,
                            TupleObject *kwnames) {
    if (t == vm->t_tuple && args_no_kw(vm, "tuple", kwnames) < 0) return VAL_NULL;
    if (args_count(vm, "tuple", nargs, 0, 1) < 0) return VAL_NULL;
    if (t == vm->t_tuple) {
        if (nargs == 0) return v_obj(vm->empty_tuple);
        if (is_exact(args[0], vm->t_tuple)) return args[0];
        return vm_sequence_to_tuple(vm, args[0]);
    }
    // Subclass: build a plain tuple, then copy into an instance of t.
    Value src = nargs == 0 ? v_obj(vm->empty_tuple) : vm_sequence_to_tuple(vm, args[0]);
    if (IS_NULL(src)) return VAL_NULL;
    TupleObject *s = AS_TUPLE(src);
    TupleObject *r = tuple_alloc(vm, t, s->len);
    if (!r) return VAL_NULL;
    memcpy(r->items, s->items, s->len * sizeof(Value));
    return v_obj(r);
}

// ---------------------------------------------------------------------------
// GC

static void tuple_trace(EddyVM *vm, Obj *o) {
    TupleObject *t = (TupleObject *)o;
    for (size_t i = 0; i < t->len; i++) gc_mark_value(vm, t->items[i]);
}

static void tuple_iter_trace(EddyVM *vm, Obj *o) {
    gc_mark_obj(vm, (Obj *)((TupleIterObject *)o)->tuple);
}

// ---------------------------------------------------------------------------
// repr, hash, compare

static Value tuple_repr(EddyVM *vm, Value self) {
    TupleObject *t = AS_TUPLE(self);
    if (t->len == 0) return v_obj(str_from_cstr(vm, "()"));
    if (t->hdr.obj_flags & TUPLE_REPR_RUNNING) return v_obj(str_from_cstr(vm, "(...)"));
    if (vm->c_depth >= vm->recursion_limit) {
        return vm_raise(vm, vm->exc_RecursionError,
                        "maximum recursion depth exceeded while getting the repr of an object");
    }
    StrBuf b;
    strbuf_init(vm, &b);
    vm->c_depth++;
    t->hdr.obj_flags |= TUPLE_REPR_RUNNING;
    strbuf_append_char(&b, '(');
    for (size_t i = 0; i < t->len; i++) {
        if (i > 0) strbuf_append(&b, ", ", 2);
        Value r = vm_repr(vm, t->items[i]);
        if (IS_NULL(r)) goto fail;
        strbuf_append_str(&b, AS_STR(r));
    }
    if (t->len == 1) strbuf_append_char(&b, ',');
    strbuf_append_char(&b, ')');
    t->hdr.obj_flags &= ~TUPLE_REPR_RUNNING;
    vm->c_depth--;
    StrObject *s = strbuf_finish(&b);
    return s ? v_obj(s) : VAL_NULL;
fail:
    t->hdr.obj_flags &= ~TUPLE_REPR_RUNNING;
    vm->c_depth--;
    strbuf_discard(&b);
    return VAL_NULL;
}

#define XXPRIME_1 11400714785074694791ULL
#define XXPRIME_2 14029467366897019727ULL
#define XXPRIME_5 2870177450012600261ULL
#define XXROTATE(x) (((x) << 31) | ((x) >> 33))

static int tuple_hash(EddyVM *vm, Value self, int64_t *out) {
    TupleObject *t = AS_TUPLE(self);
    uint64_t acc = XXPRIME_5;
    for (size_t i = 0; i < t->len; i++) {
        int64_t h;
        if (vm_hash(vm, t->items[i], &h) < 0) return -1;
        acc += (uint64_t)h * XXPRIME_2;
        acc = XXROTATE(acc);
        acc *= XXPRIME_1;
    }
    acc += (uint64_t)t->len ^ (XXPRIME_5 ^ 3527539ULL);
    if (acc == (uint64_t)-1) acc = 1546275796;
    *out = (int64_t)acc;
    return 0;
}

// Lexicographic comparison shared in spirit with list's: find the first
// index where items differ (==), then compare those items with op.
static Value tuple_richcompare(EddyVM *vm, Value a, Value b, int op) {
    if (!is_tuple(a) || !is_tuple(b)) return vm->not_implemented;
    TupleObject *x = AS_TUPLE(a), *y = AS_TUPLE(b);
    if (x->len != y->len && (op == CMP_EQ || op == CMP_NE)) return v_bool(op == CMP_NE);
    if (vm->c_depth >= vm->recursion_limit)
        return vm_raise(vm, vm->exc_RecursionError,
                        "maximum recursion depth exceeded in comparison");
    vm->c_depth++;
    size_t i = 0;
    for (; i < x->len && i < y->len; i++) {
        int eq = vm_eq(vm, x->items[i], y->items[i]);
        if (eq < 0) {
            vm->c_depth--;
            return VAL_NULL;
        }
        if (!eq) break;
    }
    Value r;
    if (i >= x->len || i >= y->len) {
        size_t lx = x->len, ly = y->len;
        bool res = false;
        switch (op) {
        case CMP_LT: res = lx < ly; break;
        case CMP_LE: res = lx <= ly; break;
        case CMP_EQ: res = lx == ly; break;
        case CMP_NE: res = lx != ly; break;
        case CMP_GT: res = lx > ly; break;
        case CMP_GE: res = lx >= ly; break;
        }
        r = v_bool(res);
    } else if (op == CMP_EQ) {
        r = VAL_FALSE;
    } else if (op == CMP_NE) {
        r = VAL_TRUE;
    } else {
        r = vm_compare(vm, x->items[i], y->items[i], op);
    }
    vm->c_depth--;
    return r;
}

// ---------------------------------------------------------------------------
// Sequence protocol

static int64_t tuple_len(EddyVM *vm, Value self) { return (int64_t)AS_TUPLE(self)->len; }

static Value tuple_getitem(EddyVM *vm, Value self, Value key) {
    TupleObject *t = AS_TUPLE(self);
    int64_t i;
    if (EDDY_LIKELY(IS_INT(key))) {
        i = AS_INT(key);
    } else if (is_exact(key, vm->t_slice)) {
        int64_t start, stop, step, n;
        if (slice_indices(vm, key, (int64_t)t->len, &start, &stop, &step, &n) < 0) return VAL_NULL;
        if (step == 1 && n == (int64_t)t->len && is_exact(self, vm->t_tuple)) return self;
        TupleObject *r = tuple_new(vm, (size_t)n);
        if (!r) return VAL_NULL;
        for (int64_t k = 0, j = start; k < n; k++, j += step) r->items[k] = t->items[j];
        return v_obj(r);
    } else if (is_int(vm, key) ||
               !IS_NULL(type_lookup(vm, vm_type_of(vm, key), vm->names.__index__))) {
        if (vm_index_i64(vm, key, &i) < 0) return VAL_NULL;
    } else {
        return vm_raise(vm, vm->exc_TypeError, "tuple indices must be integers or slices, not %T",
                        key);
    }
    if (i < 0) i += (int64_t)t->len;
    if (i < 0 || i >= (int64_t)t->len)
        return vm_raise(vm, vm->exc_IndexError, "tuple index out of range");
    return t->items[i];
}

static int tuple_contains(EddyVM *vm, Value self, Value item) {
    TupleObject *t = AS_TUPLE(self);
    for (size_t i = 0; i < t->len; i++) {
        int eq = vm_eq(vm, t->items[i], item);
        if (eq != 0) return eq;
    }
    return 0;
}

static Value tuple_iter(EddyVM *vm, Value self) {
    TupleIterObject *it =
        (TupleIterObject *)obj_alloc(vm, vm->t_tuple_iterator, sizeof(TupleIterObject));
    if (!it) return VAL_NULL;
    it->tuple = AS_TUPLE(self);
    it->index = 0;
    return v_obj(it);
}

static int tuple_iter_next(EddyVM *vm, Value self, Value *out) {
    TupleIterObject *it = (TupleIterObject *)AS_OBJ(self);
    if (!it->tuple) return 0;
    if (it->index < it->tuple->len) {
        *out = it->tuple->items[it->index++];
        return 1;
    }
    it->tuple = NULL;
    return 0;
}

// ---------------------------------------------------------------------------
// Methods

static Value m_len(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__len__", nargs - 1, 0, 0) < 0) return VAL_NULL;
    return v_int((int64_t)AS_TUPLE(args[0])->len);
}

static Value m_getitem(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__getitem__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    return tuple_getitem(vm, args[0], args[1]);
}

static Value m_contains(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__contains__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    int r = tuple_contains(vm, args[0], args[1]);
    return r < 0 ? VAL_NULL : v_bool(r);
}

static Value m_iter(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return tuple_iter(vm, args[0]);
}

static Value m_repr(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return tuple_repr(vm, args[0]);
}

static Value m_hash(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    int64_t h;
    if (tuple_hash(vm, args[0], &h) < 0) return VAL_NULL;
    return v_int(h);
}

// True when v's class is a script class defining `name` (it may answer a reflected operator).
static bool heap_type_has(EddyVM *vm, Value v, StrObject *name) {
    TypeObject *t = vm_type_of(vm, v);
    return (t->flags & TPF_HEAPTYPE) && !IS_NULL(type_lookup(vm, t, name));
}

static Value m_add(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__add__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    if (!is_tuple(args[1])) {
        // CPython's sq_concat raises this itself unless a script class can answer __radd__.
        if (heap_type_has(vm, args[1], vm->names.__radd__)) return vm->not_implemented;
        return vm_raise(vm, vm->exc_TypeError, "can only concatenate tuple (not \"%T\") to tuple",
                        args[1]);
    }
    TupleObject *a = AS_TUPLE(args[0]), *b = AS_TUPLE(args[1]);
    if (b->len == 0 && is_exact(args[0], vm->t_tuple)) return args[0];
    if (a->len == 0 && is_exact(args[1], vm->t_tuple)) return args[1];
    TupleObject *r = tuple_new(vm, a->len + b->len);
    if (!r) return VAL_NULL;
    memcpy(r->items, a->items, a->len * sizeof(Value));
    memcpy(r->items + a->len, b->items, b->len * sizeof(Value));
    return v_obj(r);
}

static Value m_mul(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__mul__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    Value nv = args[1];
    if (!is_int(vm, nv) && IS_NULL(type_lookup(vm, vm_type_of(vm, nv), vm->names.__index__))) {
        if (heap_type_has(vm, nv, vm->names.__rmul__)) return vm->not_implemented;
        return vm_raise(vm, vm->exc_TypeError, "can't multiply sequence by non-int of type '%T'",
                        nv);
    }
    int64_t n;
    if (vm_index_i64(vm, nv, &n) < 0) {
        if (vm_err_matches(vm, vm->exc_IndexError) || vm_err_matches(vm, vm->exc_OverflowError)) {
            vm_err_clear(vm);
            n = int_sign(nv) < 0 ? 0 : INT64_MAX;
        } else {
            return VAL_NULL;
        }
    }
    TupleObject *a = AS_TUPLE(args[0]);
    if (n <= 0 || a->len == 0) return v_obj(vm->empty_tuple);
    if (n == 1 && is_exact(args[0], vm->t_tuple)) return args[0];
    if ((uint64_t)n > (uint64_t)(INT64_MAX / 16) / a->len) return vm_raise_nomem(vm);
    TupleObject *r = tuple_new(vm, a->len * (size_t)n);
    if (!r) return VAL_NULL;
    for (int64_t k = 0; k < n; k++)
        memcpy(r->items + (size_t)k * a->len, a->items, a->len * sizeof(Value));
    return v_obj(r);
}

static Value m_count(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "tuple.count", kw) < 0) return VAL_NULL;
    if (args_count(vm, "tuple.count", nargs - 1, 1, 1) < 0) return VAL_NULL;
    TupleObject *t = AS_TUPLE(args[0]);
    int64_t n = 0;
    for (size_t i = 0; i < t->len; i++) {
        int eq = vm_eq(vm, t->items[i], args[1]);
        if (eq < 0) return VAL_NULL;
        n += eq;
    }
    return v_int(n);
}

// Clamp an optional start/stop argument of index() to [0, len].
static int index_bound(EddyVM *vm, Value v, int64_t len, int64_t *out) {
    if (IS_NULL(v)) return 0;
    int64_t i;
    if (IS_INT(v)) {
        i = AS_INT(v);
    } else {
        if (!is_int(vm, v) && IS_NULL(type_lookup(vm, vm_type_of(vm, v), vm->names.__index__))) {
            vm_raise(vm, vm->exc_TypeError,
                     "slice indices must be integers or have an __index__ method");
            return -1;
        }
        if (vm_index_i64(vm, v, &i) < 0) {
            if (!vm_err_matches(vm, vm->exc_IndexError) &&
                !vm_err_matches(vm, vm->exc_OverflowError))
                return -1;
            vm_err_clear(vm);
            i = int_sign(v) < 0 ? INT64_MIN / 2 : INT64_MAX / 2;
        }
    }
    if (i < 0) {
        i += len;
        if (i < 0) i = 0;
    } else if (i > len) {
        i = len;
    }
    *out = i;
    return 0;
}

static Value m_index(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "index", kw) < 0) return VAL_NULL;
    if (args_count(vm, "index", nargs - 1, 1, 3) < 0) return VAL_NULL;
    TupleObject *t = AS_TUPLE(args[0]);
    int64_t start = 0, stop = (int64_t)t->len;
    if (nargs > 2 && index_bound(vm, args[2], (int64_t)t->len, &start) < 0) return VAL_NULL;
    if (nargs > 3 && index_bound(vm, args[3], (int64_t)t->len, &stop) < 0) return VAL_NULL;
    for (int64_t i = start; i < stop && i < (int64_t)t->len; i++) {
        int eq = vm_eq(vm, t->items[i], args[1]);
        if (eq < 0) return VAL_NULL;
        if (eq) return v_int(i);
    }
    return vm_raise(vm, vm->exc_ValueError, "tuple.index(x): x not in tuple");
}

static Value m_getnewargs(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    TupleObject *t = AS_TUPLE(args[0]);
    TupleObject *copy = tuple_from(vm, t->items, t->len);
    if (!copy) return VAL_NULL;
    Value v = v_obj(copy);
    TupleObject *r = tuple_from(vm, &v, 1);
    return r ? v_obj(r) : VAL_NULL;
}

// Shared by every iterator type of this file: iter(it) is it.
static Value iter_self(EddyVM *vm, Value self) { return self; }

static Value m_iter_self(EddyVM *vm, Value *args, int nargs, TupleObject *kw) { return args[0]; }

static Value m_iter_next(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    Value out;
    int r = tuple_iter_next(vm, args[0], &out);
    if (r < 0) return VAL_NULL;
    if (r == 0) return vm_raise_value(vm, v_obj(vm->exc_StopIteration));
    return out;
}

static Value m_iter_length_hint(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    TupleIterObject *it = (TupleIterObject *)AS_OBJ(args[0]);
    return v_int(it->tuple ? (int64_t)(it->tuple->len - it->index) : 0);
}

// ---------------------------------------------------------------------------

int tuple_init_types(EddyVM *vm) {
    TypeObject *t = type_new_builtin(vm, vm->t_tuple, vm->t_object, sizeof(TupleObject),
                                     TPF_BASETYPE | TPF_TUPLE_SUBCLASS);
    if (!t) return -1;
    t->trace = tuple_trace;
    t->new_ = tuple_new_slot;
    t->repr = tuple_repr;
    t->hash = tuple_hash;
    t->richcompare = tuple_richcompare;
    t->len = tuple_len;
    t->getitem = tuple_getitem;
    t->contains = tuple_contains;
    t->iter = tuple_iter;
    static const struct {
        const char *name;
        NativeFn fn;
    } methods[] = {
        {"__len__", m_len},   {"__getitem__", m_getitem}, {"__contains__", m_contains},
        {"__iter__", m_iter}, {"__repr__", m_repr},       {"__hash__", m_hash},
        {"__add__", m_add},   {"__mul__", m_mul},         {"__rmul__", m_mul},
        {"count", m_count},   {"index", m_index},         {"__getnewargs__", m_getnewargs},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (type_add_method(vm, t, methods[i].name, methods[i].fn, NATIVE_METHOD) < 0) return -1;

    TypeObject *it =
        type_new_builtin(vm, vm->t_tuple_iterator, vm->t_object, sizeof(TupleIterObject), 0);
    if (!it) return -1;
    it->trace = tuple_iter_trace;
    it->iter = iter_self;
    it->next = tuple_iter_next;
    if (type_add_method(vm, it, "__iter__", m_iter_self, NATIVE_METHOD) < 0 ||
        type_add_method(vm, it, "__next__", m_iter_next, NATIVE_METHOD) < 0 ||
        type_add_method(vm, it, "__length_hint__", m_iter_length_hint, NATIVE_METHOD) < 0)
        return -1;

    // The empty tuple singleton: every () in the VM is this object.
    TupleObject *e = (TupleObject *)obj_alloc(vm, vm->t_tuple, sizeof(TupleObject));
    if (!e) return -1;
    e->hdr.gc_pinned = 1;
    e->len = 0;
    vm->empty_tuple = e;
    return 0;
}
