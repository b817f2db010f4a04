// obj_range.c - range and range_iterator.
//
// A range keeps its bounds as int Values (any size) plus, when start, step
// and length all fit in int64 (the usual case), `small` copies used by the
// fast paths: O(1) len/contains/getitem and an allocation-free iterator.
// Big ranges fall back to int arithmetic through obj_int.c.
#include <string.h>

#include "vm.h"

typedef struct RangeObject {
    Obj hdr;
    Value start, stop, step, length; // ints
    bool small;                      // the int64 copies below are valid
    int64_t istart, istep, ilen;
} RangeObject;

// RangeIterObject is in vm.h (the interpreter steps it inline).

#define AS_RANGE(v) ((RangeObject *)AS_OBJ(v))

static bool has_index(EddyVM *vm, Value v) {
    return is_int(vm, v) || !IS_NULL(type_lookup(vm, vm_type_of(vm, v), vm->names.__index__));
}

// An int Value for v (bool -> int), via __index__.
static Value as_int(EddyVM *vm, Value v) {
    if (IS_INT(v)) return v;
    if (IS_BOOL(v)) return v_int(AS_BOOL(v));
    if (is_bigint(v)) return v;
    if (!has_index(vm, v)) {
        return vm_raise(vm, vm->exc_TypeError, "'%s' object cannot be interpreted as an integer",
                        vm_type_name(vm, v));
    }
    Value r = vm_index(vm, v);
    if (!IS_NULL(r) && IS_BOOL(r)) r = v_int(AS_BOOL(r));
    return r;
}

// Length of range(start, stop, step), all ints, step != 0.
static Value compute_length(EddyVM *vm, Value start, Value stop, Value step) {
    if (IS_INT(start) && IS_INT(stop) && IS_INT(step)) {
        __int128 a = AS_INT(start), b = AS_INT(stop), s = AS_INT(step), n = 0;
        if (s > 0 && a < b) n = (b - a - 1) / s + 1;
        if (s < 0 && a > b) n = (a - b - 1) / (-s) + 1;
        if (n <= INT64_MAX) return v_int((int64_t)n);
        return int_from_u64(vm, (uint64_t)n);
    }
    bool up = int_sign(step) > 0;
    Value lo = up ? start : stop, hi = up ? stop : start;
    if (int_compare(lo, hi) >= 0) return v_int(0);
    Value diff = int_sub(vm, hi, lo);
    if (IS_NULL(diff)) return VAL_NULL;
    diff = int_sub(vm, diff, v_int(1));
    if (IS_NULL(diff)) return VAL_NULL;
    Value st = up ? step : int_neg(vm, step);
    if (IS_NULL(st)) return VAL_NULL;
    Value q = int_floordiv(vm, diff, st);
    if (IS_NULL(q)) return VAL_NULL;
    return int_add(vm, q, v_int(1));
}

static Value make_range(EddyVM *vm, Value start, Value stop, Value step) {
    Value len = compute_length(vm, start, stop, step);
    if (IS_NULL(len)) return VAL_NULL;
    RangeObject *r = (RangeObject *)obj_alloc(vm, vm->t_range, sizeof(RangeObject));
    if (!r) return VAL_NULL;
    r->start = start;
    r->stop = stop;
    r->step = step;
    r->length = len;
    r->small = IS_INT(start) && IS_INT(step) && IS_INT(len);
    if (r->small) {
        r->istart = AS_INT(start);
        r->istep = AS_INT(step);
        r->ilen = AS_INT(len);
        // The last value must fit too (it does when it lies between start and stop).
        __int128 last = (__int128)r->istart + (__int128)(r->ilen > 0 ? r->ilen - 1 : 0) * r->istep;
        if (last > INT64_MAX || last < INT64_MIN) r->small = false;
    }
    return v_obj(r);
}

Value range_new(EddyVM *vm, Value start, Value stop, Value step) {
    if (IS_NULL(step)) step = v_int(1);
    if (int_sign(step) == 0)
        return vm_raise(vm, vm->exc_ValueError, "range() arg 3 must not be zero");
    return make_range(vm, start, stop, step);
}

static Value range_new_slot(EddyVM *vm, TypeObject *t, Value *args, int nargs,
                            TupleObject *kwnames) {
    if (args_no_kw(vm, "range", kwnames) < 0 || args_count(vm, "range", nargs, 1, 3) < 0)
        return VAL_NULL;
    Value v[3];
    for (int i = 0; i < nargs; i++) {
        v[i] = as_int(vm, args[i]);
        if (IS_NULL(v[i])) return VAL_NULL;
    }
    if (nargs == 1) return range_new(vm, v_int(0), v[0], v_int(1));
    return range_new(vm, v[0], v[1], nargs == 3 ? v[2] : v_int(1));
}

static void range_trace(EddyVM *vm, Obj *o) {
    RangeObject *r = (RangeObject *)o;
    gc_mark_value(vm, r->start);
    gc_mark_value(vm, r->stop);
    gc_mark_value(vm, r->step);
    gc_mark_value(vm, r->length);
}

static void range_iter_trace(EddyVM *vm, Obj *o) {
    RangeIterObject *it = (RangeIterObject *)o;
    if (!it->big) return;
    gc_mark_value(vm, it->bnext);
    gc_mark_value(vm, it->bstep);
    gc_mark_value(vm, it->bleft);
}

// ---------------------------------------------------------------------------

static Value range_repr(EddyVM *vm, Value self) {
    RangeObject *r = AS_RANGE(self);
    StrObject *s = IS_INT(r->step) && AS_INT(r->step) == 1
                       ? str_format(vm, "range(%R, %R)", r->start, r->stop)
                       : str_format(vm, "range(%R, %R, %R)", r->start, r->stop, r->step);
    return s ? v_obj(s) : VAL_NULL;
}

static int64_t range_len(EddyVM *vm, Value self) {
    RangeObject *r = AS_RANGE(self);
    if (IS_INT(r->length)) return AS_INT(r->length);
    vm_raise(vm, vm->exc_OverflowError, "Python int too large to convert to C ssize_t");
    return -1;
}

static int range_truthy(EddyVM *vm, Value self) { return int_sign(AS_RANGE(self)->length) != 0; }

// start + i * step for an int Value i (0 <= i < len).
static Value item_at(EddyVM *vm, RangeObject *r, Value i) {
    if (r->small && IS_INT(i)) return v_int(r->istart + AS_INT(i) * r->istep);
    Value p = int_mul(vm, i, r->step);
    if (IS_NULL(p)) return VAL_NULL;
    return int_add(vm, r->start, p);
}

static Value range_getitem(EddyVM *vm, Value self, Value key) {
    RangeObject *r = AS_RANGE(self);
    if (is_exact(key, vm->t_slice)) {
        // Resolve the slice against the length (int64 lengths; huge ranges clip).
        int64_t len = IS_INT(r->length) ? AS_INT(r->length) : INT64_MAX;
        int64_t start, stop, step, n;
        if (slice_indices(vm, key, len, &start, &stop, &step, &n) < 0) return VAL_NULL;
        Value nstart = item_at(vm, r, v_int(start));
        if (IS_NULL(nstart)) return VAL_NULL;
        Value nstop = item_at(vm, r, v_int(stop));
        if (IS_NULL(nstop)) return VAL_NULL;
        Value nstep = int_mul(vm, r->step, v_int(step));
        if (IS_NULL(nstep)) return VAL_NULL;
        return make_range(vm, nstart, nstop, nstep);
    }
    if (!IS_INT(key) && !has_index(vm, key)) {
        return vm_raise(vm, vm->exc_TypeError, "range indices must be integers or slices, not %T",
                        key);
    }
    Value i = as_int(vm, key);
    if (IS_NULL(i)) return VAL_NULL;
    if (r->small && IS_INT(i)) {
        int64_t k = AS_INT(i);
        if (k < 0) k += r->ilen;
        if (k < 0 || k >= r->ilen)
            return vm_raise(vm, vm->exc_IndexError, "range object index out of range");
        return v_int(r->istart + k * r->istep);
    }
    if (int_sign(i) < 0) {
        i = int_add(vm, i, r->length);
        if (IS_NULL(i)) return VAL_NULL;
    }
    if (int_sign(i) < 0 || int_compare(i, r->length) >= 0)
        return vm_raise(vm, vm->exc_IndexError, "range object index out of range");
    return item_at(vm, r, i);
}

// x in r for an int x: 1/0/-1.
static int contains_int(EddyVM *vm, RangeObject *r, Value x) {
    if (IS_BOOL(x)) x = v_int(AS_BOOL(x));
    if (r->small && IS_INT(x)) {
        if (r->ilen == 0) return 0;
        __int128 d = (__int128)AS_INT(x) - r->istart;
        if (r->istep > 0 ? d < 0 : d > 0) return 0;
        if (d % r->istep != 0) return 0;
        return d / r->istep < r->ilen;
    }
    if (int_sign(r->length) == 0) return 0;
    bool up = int_sign(r->step) > 0;
    if (up ? (int_compare(x, r->start) < 0 || int_compare(x, r->stop) >= 0)
           : (int_compare(x, r->start) > 0 || int_compare(x, r->stop) <= 0))
        return 0;
    Value d = int_sub(vm, x, r->start);
    if (IS_NULL(d)) return -1;
    Value m = int_mod(vm, d, r->step);
    if (IS_NULL(m)) return -1;
    return int_sign(m) == 0;
}

static bool exact_int(EddyVM *vm, Value v) { return IS_INT(v) || IS_BOOL(v) || is_bigint(v); }

static int range_contains(EddyVM *vm, Value self, Value x) {
    RangeObject *r = AS_RANGE(self);
    if (exact_int(vm, x)) return contains_int(vm, r, x);
    // Anything else: sequential search with ==, as CPython does.
    Value it = vm_iter(vm, self);
    if (IS_NULL(it) || vm_push_root(vm, it) < 0) return -1;
    int result = 0;
    for (;;) {
        Value v;
        int n = vm_next(vm, it, &v);
        if (n <= 0) {
            result = n;
            break;
        }
        int eq = vm_eq(vm, v, x);
        if (eq != 0) {
            result = eq;
            break;
        }
    }
    vm_pop_roots(vm, 1);
    return result;
}

static Value make_iter(EddyVM *vm, RangeObject *r, bool reversed) {
    RangeIterObject *it =
        (RangeIterObject *)obj_alloc(vm, vm->t_range_iterator, sizeof(RangeIterObject));
    if (!it) return VAL_NULL;
    if (r->small) {
        it->left = r->ilen;
        it->step = reversed ? -r->istep : r->istep;
        it->next = reversed && r->ilen > 0 ? r->istart + (r->ilen - 1) * r->istep : r->istart;
        // -step could overflow for step == INT64_MIN: use the big path then.
        if (!(reversed && r->istep == INT64_MIN)) return v_obj(it);
    }
    it->big = true;
    it->bleft = r->length;
    it->bstep = reversed ? int_neg(vm, r->step) : r->step;
    if (IS_NULL(it->bstep)) return VAL_NULL;
    if (reversed && int_sign(r->length) > 0) {
        Value last = int_sub(vm, r->length, v_int(1));
        if (IS_NULL(last)) return VAL_NULL;
        it->bnext = item_at(vm, r, last);
        if (IS_NULL(it->bnext)) return VAL_NULL;
    } else {
        it->bnext = r->start;
    }
    return v_obj(it);
}

static Value range_iter(EddyVM *vm, Value self) { return make_iter(vm, AS_RANGE(self), false); }

static int range_iter_next(EddyVM *vm, Value self, Value *out) {
    RangeIterObject *it = (RangeIterObject *)AS_OBJ(self);
    if (EDDY_LIKELY(!it->big)) {
        if (it->left <= 0) return 0;
        *out = v_int(it->next);
        it->left--;
        // The value after the last one may overflow; it is never produced.
        if (it->left > 0) it->next += it->step;
        return 1;
    }
    if (int_sign(it->bleft) <= 0) return 0;
    *out = it->bnext;
    Value left = int_sub(vm, it->bleft, v_int(1));
    if (IS_NULL(left)) return -1;
    it->bleft = left;
    if (int_sign(left) > 0) {
        Value n = int_add(vm, it->bnext, it->bstep);
        if (IS_NULL(n)) return -1;
        it->bnext = n;
    }
    return 1;
}

static Value range_richcompare(EddyVM *vm, Value a, Value b, int op) {
    if (!is_exact(b, vm->t_range) || (op != CMP_EQ && op != CMP_NE)) return vm->not_implemented;
    RangeObject *x = AS_RANGE(a), *y = AS_RANGE(b);
    bool eq;
    if (x == y) {
        eq = true;
    } else if (int_compare(x->length, y->length) != 0) {
        eq = false;
    } else if (int_sign(x->length) == 0) {
        eq = true;
    } else if (int_compare(x->start, y->start) != 0) {
        eq = false;
    } else if (IS_INT(x->length) && AS_INT(x->length) == 1) {
        eq = true;
    } else {
        eq = int_compare(x->step, y->step) == 0;
    }
    return v_bool(op == CMP_EQ ? eq : !eq);
}

// CPython: hash((len, start, step)) with None for what does not matter.
static int range_hash(EddyVM *vm, Value self, int64_t *out) {
    RangeObject *r = AS_RANGE(self);
    Value items[3] = {r->length, VAL_NONE, VAL_NONE};
    if (int_sign(r->length) != 0) {
        items[1] = r->start;
        if (!(IS_INT(r->length) && AS_INT(r->length) == 1)) items[2] = r->step;
    }
    TupleObject *t = tuple_from(vm, items, 3);
    if (!t) return -1;
    return vm_hash(vm, v_obj(t), out);
}

// ---------------------------------------------------------------------------
// Methods

static Value m_len(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    int64_t n = range_len(vm, args[0]);
    return n < 0 ? VAL_NULL : v_int(n);
}
static Value m_getitem(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__getitem__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    return range_getitem(vm, args[0], args[1]);
}
static Value m_contains(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__contains__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    int r = range_contains(vm, args[0], args[1]);
    return r < 0 ? VAL_NULL : v_bool(r);
}
static Value m_iter(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return range_iter(vm, args[0]);
}
static Value m_reversed(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return make_iter(vm, AS_RANGE(args[0]), true);
}
static Value m_repr(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return range_repr(vm, args[0]);
}
static Value m_hash(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    int64_t h;
    return range_hash(vm, args[0], &h) < 0 ? VAL_NULL : v_int(h);
}

static Value m_count(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "range.count", nargs - 1, 1, 1) < 0) return VAL_NULL;
    RangeObject *r = AS_RANGE(args[0]);
    if (exact_int(vm, args[1])) {
        int c = contains_int(vm, r, args[1]);
        return c < 0 ? VAL_NULL : v_int(c);
    }
    Value it = range_iter(vm, args[0]);
    if (IS_NULL(it) || vm_push_root(vm, it) < 0) return VAL_NULL;
    int64_t n = 0;
    Value result = VAL_NULL;
    for (;;) {
        Value v;
        int k = range_iter_next(vm, it, &v);
        if (k < 0) goto done;
        if (k == 0) break;
        int eq = vm_eq(vm, v, args[1]);
        if (eq < 0) goto done;
        n += eq;
    }
    result = v_int(n);
done:
    vm_pop_roots(vm, 1);
    return result;
}

static Value m_index(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "range.index", nargs - 1, 1, 1) < 0) return VAL_NULL;
    RangeObject *r = AS_RANGE(args[0]);
    Value x = args[1];
    if (exact_int(vm, x)) {
        int c = contains_int(vm, r, x);
        if (c < 0) return VAL_NULL;
        if (c) {
            if (IS_BOOL(x)) x = v_int(AS_BOOL(x));
            if (r->small && IS_INT(x)) return v_int((AS_INT(x) - r->istart) / r->istep);
            Value d = int_sub(vm, x, r->start);
            if (IS_NULL(d)) return VAL_NULL;
            return int_floordiv(vm, d, r->step);
        }
        return vm_raise(vm, vm->exc_ValueError, "%R is not in range", args[1]);
    }
    Value it = range_iter(vm, args[0]);
    if (IS_NULL(it) || vm_push_root(vm, it) < 0) return VAL_NULL;
    Value result = VAL_NULL;
    for (int64_t i = 0;; i++) {
        Value v;
        int k = range_iter_next(vm, it, &v);
        if (k < 0) goto done;
        if (k == 0) break;
        int eq = vm_eq(vm, v, x);
        if (eq < 0) goto done;
        if (eq) {
            result = v_int(i);
            goto done;
        }
    }
    vm_raise(vm, vm->exc_ValueError, "%R is not in range", x);
done:
    vm_pop_roots(vm, 1);
    return result;
}

static Value get_start(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return AS_RANGE(args[0])->start;
}
static Value get_stop(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return AS_RANGE(args[0])->stop;
}
static Value get_step(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return AS_RANGE(args[0])->step;
}

static Value iter_self(EddyVM *vm, Value self) { return self; }
static Value m_iter_self(EddyVM *vm, Value *args, int nargs, TupleObject *kw) { return args[0]; }

static Value m_iter_next(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    Value out;
    int r = range_iter_next(vm, args[0], &out);
    if (r < 0) return VAL_NULL;
    if (r == 0) return vm_raise_value(vm, v_obj(vm->exc_StopIteration));
    return out;
}

static Value m_iter_length_hint(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    RangeIterObject *it = (RangeIterObject *)AS_OBJ(args[0]);
    if (!it->big) return v_int(it->left > 0 ? it->left : 0);
    return int_sign(it->bleft) > 0 ? it->bleft : v_int(0);
}

int range_init_types(EddyVM *vm) {
    TypeObject *t = type_new_builtin(vm, vm->t_range, vm->t_object, sizeof(RangeObject), 0);
    if (!t) return -1;
    t->trace = range_trace;
    t->new_ = range_new_slot;
    t->repr = range_repr;
    t->hash = range_hash;
    t->richcompare = range_richcompare;
    t->truthy = range_truthy;
    t->len = range_len;
    t->getitem = range_getitem;
    t->contains = range_contains;
    t->iter = range_iter;
    static const struct {
        const char *name;
        NativeFn fn;
    } methods[] = {
        {"__len__", m_len},   {"__getitem__", m_getitem},   {"__contains__", m_contains},
        {"__iter__", m_iter}, {"__reversed__", m_reversed}, {"__repr__", m_repr},
        {"__hash__", m_hash}, {"count", m_count},           {"index", m_index},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (type_add_method(vm, t, methods[i].name, methods[i].fn, NATIVE_METHOD) < 0) return -1;
    if (type_add_getter(vm, t, "start", get_start) < 0 ||
        type_add_getter(vm, t, "stop", get_stop) < 0 ||
        type_add_getter(vm, t, "step", get_step) < 0)
        return -1;

    TypeObject *it =
        type_new_builtin(vm, vm->t_range_iterator, vm->t_object, sizeof(RangeIterObject), 0);
    if (!it) return -1;
    it->trace = range_iter_trace;
    it->iter = iter_self;
    it->next = range_iter_next;
    if (type_add_method(vm, it, "__iter__", m_iter_self, NATIVE_METHOD) < 0 ||
        type_add_method(vm, it, "__next__", m_iter_next, NATIVE_METHOD) < 0 ||
        type_add_method(vm, it, "__length_hint__", m_iter_length_hint, NATIVE_METHOD) < 0)
        return -1;
    return 0;
}
