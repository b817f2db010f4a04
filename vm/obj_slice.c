// obj_slice.c - slice objects and the index arithmetic every sequence uses.
//
// slice_indices() is CPython's PySlice_Unpack + PySlice_AdjustIndices: bounds
// are clipped to int64 (a huge int means "past the end"), None picks the
// natural default for the step's direction, and the result length is
// computed without overflow.
#include <string.h>

#include "vm.h"

typedef struct SliceObject {
    Obj hdr;
    Value start, stop, step; // None when omitted; never V_NULL
} SliceObject;

#define AS_SLICE(v) ((SliceObject *)AS_OBJ(v))

Value slice_new(EddyVM *vm, Value start, Value stop, Value step) {
    SliceObject *s = (SliceObject *)obj_alloc(vm, vm->t_slice, sizeof(SliceObject));
    if (!s) return VAL_NULL;
    s->start = IS_NULL(start) ? VAL_NONE : start;
    s->stop = IS_NULL(stop) ? VAL_NONE : stop;
    s->step = IS_NULL(step) ? VAL_NONE : step;
    return v_obj(s);
}

// An index-like value clipped to int64 (CPython's _PyEval_SliceIndex). 0/-1.
static int clipped_index(EddyVM *vm, Value v, int64_t *out) {
    if (IS_INT(v)) {
        *out = AS_INT(v);
        return 0;
    }
    if (IS_BOOL(v)) {
        *out = AS_BOOL(v);
        return 0;
    }
    if (!is_int(vm, v) && IS_NULL(type_lookup(vm, vm_type_of(vm, v), vm->names.__index__))) {
        vm_raise(vm, vm->exc_TypeError,
                 "slice indices must be integers or None or have an __index__ method");
        return -1;
    }
    Value iv = is_int(vm, v) ? v : vm_index(vm, v);
    if (IS_NULL(iv)) return -1;
    if (IS_INT(iv)) {
        *out = AS_INT(iv);
    } else if (IS_BOOL(iv)) {
        *out = AS_BOOL(iv);
    } else {
        *out = int_sign(iv) < 0 ? INT64_MIN : INT64_MAX;
    }
    return 0;
}

// PySlice_Unpack: raw start/stop/step with None defaults. 0/-1.
static int unpack(EddyVM *vm, SliceObject *s, int64_t *start, int64_t *stop, int64_t *step) {
    if (IS_NONE(s->step)) {
        *step = 1;
    } else {
        if (clipped_index(vm, s->step, step) < 0) return -1;
        if (*step == 0) {
            vm_raise(vm, vm->exc_ValueError, "slice step cannot be zero");
            return -1;
        }
        // So that -step never overflows.
        if (*step < -INT64_MAX) *step = -INT64_MAX;
    }
    if (IS_NONE(s->start)) {
        *start = *step < 0 ? INT64_MAX : 0;
    } else if (clipped_index(vm, s->start, start) < 0) {
        return -1;
    }
    if (IS_NONE(s->stop)) {
        *stop = *step < 0 ? INT64_MIN : INT64_MAX;
    } else if (clipped_index(vm, s->stop, stop) < 0) {
        return -1;
    }
    return 0;
}

// PySlice_AdjustIndices: clamp to [0, len] (or [-1, len-1] going backwards).
static int64_t adjust(int64_t len, int64_t *start, int64_t *stop, int64_t step) {
    if (*start < 0) {
        *start += len;
        if (*start < 0) *start = step < 0 ? -1 : 0;
    } else if (*start >= len) {
        *start = step < 0 ? len - 1 : len;
    }
    if (*stop < 0) {
        *stop += len;
        if (*stop < 0) *stop = step < 0 ? -1 : 0;
    } else if (*stop >= len) {
        *stop = step < 0 ? len - 1 : len;
    }
    if (step < 0) {
        if (*stop < *start) return (*start - *stop - 1) / (-step) + 1;
    } else if (*start < *stop) {
        return (*stop - *start - 1) / step + 1;
    }
    return 0;
}

int slice_indices(EddyVM *vm, Value slice, int64_t len, int64_t *start, int64_t *stop,
                  int64_t *step, int64_t *slicelen) {
    SliceObject *s = AS_SLICE(slice);
    // Fast path: s[a:b] with small ints or None and no step.
    if (IS_NONE(s->step) && (IS_INT(s->start) || IS_NONE(s->start)) &&
        (IS_INT(s->stop) || IS_NONE(s->stop))) {
        *step = 1;
        *start = IS_NONE(s->start) ? 0 : AS_INT(s->start);
        *stop = IS_NONE(s->stop) ? INT64_MAX : AS_INT(s->stop);
    } else if (unpack(vm, s, start, stop, step) < 0) {
        return -1;
    }
    *slicelen = adjust(len, start, stop, *step);
    return 0;
}

// ---------------------------------------------------------------------------

static void slice_trace(EddyVM *vm, Obj *o) {
    SliceObject *s = (SliceObject *)o;
    gc_mark_value(vm, s->start);
    gc_mark_value(vm, s->stop);
    gc_mark_value(vm, s->step);
}

static Value slice_new_slot(EddyVM *vm, TypeObject *t, Value *args, int nargs,
                            TupleObject *kwnames) {
    if (args_no_kw(vm, "slice", kwnames) < 0 || args_count(vm, "slice", nargs, 1, 3) < 0)
        return VAL_NULL;
    if (nargs == 1) return slice_new(vm, VAL_NONE, args[0], VAL_NONE);
    return slice_new(vm, args[0], args[1], nargs == 3 ? args[2] : VAL_NONE);
}

static Value slice_repr(EddyVM *vm, Value self) {
    SliceObject *s = AS_SLICE(self);
    StrObject *r = str_format(vm, "slice(%R, %R, %R)", s->start, s->stop, s->step);
    return r ? v_obj(r) : VAL_NULL;
}

static Value slice_richcompare(EddyVM *vm, Value a, Value b, int op) {
    if (!is_exact(a, vm->t_slice) || !is_exact(b, vm->t_slice)) return vm->not_implemented;
    if (AS_OBJ(a) == AS_OBJ(b) && (op == CMP_EQ || op == CMP_NE)) return v_bool(op == CMP_EQ);
    SliceObject *x = AS_SLICE(a), *y = AS_SLICE(b);
    TupleObject *tx = tuple_from(vm, &x->start, 3);
    if (!tx) return VAL_NULL;
    if (vm_push_root(vm, v_obj(tx)) < 0) return VAL_NULL;
    TupleObject *ty = tuple_from(vm, &y->start, 3);
    Value r = ty ? vm_compare(vm, v_obj(tx), v_obj(ty), op) : VAL_NULL;
    vm_pop_roots(vm, 1);
    return r;
}

static Value get_start(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return AS_SLICE(args[0])->start;
}
static Value get_stop(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return AS_SLICE(args[0])->stop;
}
static Value get_step(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return AS_SLICE(args[0])->step;
}

// slice.indices(length) -> (start, stop, step)
static Value m_indices(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "slice.indices", nargs - 1, 1, 1) < 0) return VAL_NULL;
    Value lv = args[1];
    if (!is_int(vm, lv) && IS_NULL(type_lookup(vm, vm_type_of(vm, lv), vm->names.__index__))) {
        return vm_raise(vm, vm->exc_TypeError, "'%s' object cannot be interpreted as an integer",
                        vm_type_name(vm, lv));
    }
    int64_t len;
    if (vm_index_i64(vm, lv, &len) < 0) return VAL_NULL;
    if (len < 0) return vm_raise(vm, vm->exc_ValueError, "length should not be negative");
    int64_t start, stop, step;
    if (unpack(vm, AS_SLICE(args[0]), &start, &stop, &step) < 0) return VAL_NULL;
    adjust(len, &start, &stop, step);
    Value items[3] = {v_int(start), v_int(stop), v_int(step)};
    TupleObject *t = tuple_from(vm, items, 3);
    return t ? v_obj(t) : VAL_NULL;
}

static Value m_repr(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return slice_repr(vm, args[0]);
}

int slice_init_type(EddyVM *vm) {
    TypeObject *t = type_new_builtin(vm, vm->t_slice, vm->t_object, sizeof(SliceObject), 0);
    if (!t) return -1;
    t->trace = slice_trace;
    t->new_ = slice_new_slot;
    t->repr = slice_repr;
    t->richcompare = slice_richcompare;
    t->hash = NULL; // unhashable in 3.11
    if (type_add_getter(vm, t, "start", get_start) < 0 ||
        type_add_getter(vm, t, "stop", get_stop) < 0 ||
        type_add_getter(vm, t, "step", get_step) < 0 ||
        type_add_method(vm, t, "indices", m_indices, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__repr__", m_repr, NATIVE_METHOD) < 0)
        return -1;
    return 0;
}
