// obj_iter.c - the builtin iterator adapters: enumerate, zip, map, filter,
// reversed, the sequence iterator (iter() over __getitem__) and the
// callable iterator (iter(callable, sentinel)).
//
// Each holds the iterators it pulls from; `next` slots return 1 item /
// 0 exhausted / -1 error and allocate nothing but the item they produce.
// Values pulled from an inner iterator are rooted while further script code
// runs (the next inner iterator, the mapped function, the predicate).
#include <string.h>

#include "vm.h"

typedef struct EnumerateObject {
    Obj hdr;
    Value it;    // the underlying iterator
    Value count; // next index (int; big once it passes int64)
} EnumerateObject;

typedef struct ZipObject {
    Obj hdr;
    TupleObject *its; // iterators; NULL once exhausted
    bool strict;
} ZipObject;

typedef struct MapObject {
    Obj hdr;
    Value func;
    TupleObject *its;
} MapObject;

typedef struct FilterObject {
    Obj hdr;
    Value func; // None: truthiness of the item itself
    Value it;
} FilterObject;

// reversed(seq) and iter(seq) over __getitem__ share this layout.
typedef struct SeqIterObject {
    Obj hdr;
    Value seq;     // V_NULL once exhausted
    int64_t index; // next index (reversed: counts down)
} SeqIterObject;

typedef struct CallIterObject {
    Obj hdr;
    Value callable; // V_NULL once exhausted
    Value sentinel;
} CallIterObject;

static size_t instance_size(TypeObject *t, size_t base) {
    return t->instance_size > base ? t->instance_size : base;
}

// ---------------------------------------------------------------------------
// GC

static void enumerate_trace(EddyVM *vm, Obj *o) {
    EnumerateObject *e = (EnumerateObject *)o;
    gc_mark_value(vm, e->it);
    gc_mark_value(vm, e->count);
}
static void zip_trace(EddyVM *vm, Obj *o) { gc_mark_obj(vm, (Obj *)((ZipObject *)o)->its); }
static void map_trace(EddyVM *vm, Obj *o) {
    MapObject *m = (MapObject *)o;
    gc_mark_value(vm, m->func);
    gc_mark_obj(vm, (Obj *)m->its);
}
static void filter_trace(EddyVM *vm, Obj *o) {
    FilterObject *f = (FilterObject *)o;
    gc_mark_value(vm, f->func);
    gc_mark_value(vm, f->it);
}
static void seqiter_trace(EddyVM *vm, Obj *o) { gc_mark_value(vm, ((SeqIterObject *)o)->seq); }
static void calliter_trace(EddyVM *vm, Obj *o) {
    CallIterObject *c = (CallIterObject *)o;
    gc_mark_value(vm, c->callable);
    gc_mark_value(vm, c->sentinel);
}

// iter() of every argument, as a tuple (zip and map).
static TupleObject *iter_all(EddyVM *vm, Value *args, int n) {
    TupleObject *its = tuple_new(vm, (size_t)n);
    if (!its || n == 0) return its;
    if (vm_push_root(vm, v_obj(its)) < 0) return NULL;
    for (int i = 0; i < n; i++) {
        Value it = vm_iter(vm, args[i]);
        if (IS_NULL(it)) {
            vm_pop_roots(vm, 1);
            return NULL;
        }
        its->items[i] = it;
    }
    vm_pop_roots(vm, 1);
    return its;
}

// ---------------------------------------------------------------------------
// enumerate

static Value enumerate_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"iterable", "start"};
    Value a[2];
    if (args_parse(vm, "enumerate", args, nargs, kw, names, 2, 2, 1, a) < 0) return VAL_NULL;
    Value count = v_int(0);
    if (!IS_NULL(a[1])) {
        if (IS_INT(a[1]) || is_bigint(a[1])) {
            count = a[1];
        } else if (IS_BOOL(a[1])) {
            count = v_int(AS_BOOL(a[1]));
        } else if (is_int(vm, a[1]) ||
                   !IS_NULL(type_lookup(vm, vm_type_of(vm, a[1]), vm->names.__index__))) {
            count = vm_index(vm, a[1]);
            if (IS_NULL(count)) return VAL_NULL;
        } else {
            return vm_raise(vm, vm->exc_TypeError,
                            "'%s' object cannot be interpreted as an integer",
                            vm_type_name(vm, a[1]));
        }
    }
    Value it = vm_iter(vm, a[0]);
    if (IS_NULL(it)) return VAL_NULL;
    EnumerateObject *e =
        (EnumerateObject *)obj_alloc(vm, t, instance_size(t, sizeof(EnumerateObject)));
    if (!e) return VAL_NULL;
    e->it = it;
    e->count = count;
    return v_obj(e);
}

static int enumerate_next(EddyVM *vm, Value self, Value *out) {
    EnumerateObject *e = (EnumerateObject *)AS_OBJ(self);
    Value item;
    int r = vm_next(vm, e->it, &item);
    if (r <= 0) return r;
    Value pair[2] = {e->count, item};
    TupleObject *t = tuple_from(vm, pair, 2);
    if (!t) return -1;
    if (EDDY_LIKELY(IS_INT(e->count) && AS_INT(e->count) < INT64_MAX)) {
        e->count.as.i++;
    } else {
        if (vm_push_root(vm, v_obj(t)) < 0) return -1;
        Value n = int_add(vm, e->count, v_int(1));
        vm_pop_roots(vm, 1);
        if (IS_NULL(n)) return -1;
        e->count = n;
    }
    *out = v_obj(t);
    return 1;
}

// ---------------------------------------------------------------------------
// zip

static Value zip_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    bool strict = false;
    if (kw && kw->len > 0) {
        for (size_t i = 0; i < kw->len; i++) {
            StrObject *name = AS_STR(kw->items[i]);
            if (name != vm->names.strict &&
                !(name->len == 6 && memcmp(name->data, "strict", 6) == 0)) {
                return vm_raise(vm, vm->exc_TypeError,
                                "'%U' is an invalid keyword argument for zip()", name);
            }
            int tr = vm_truthy(vm, args[nargs + i]);
            if (tr < 0) return VAL_NULL;
            strict = tr;
        }
    }
    TupleObject *its = iter_all(vm, args, nargs);
    if (!its) return VAL_NULL;
    if (vm_push_root(vm, v_obj(its)) < 0) return VAL_NULL;
    ZipObject *z = (ZipObject *)obj_alloc(vm, t, instance_size(t, sizeof(ZipObject)));
    vm_pop_roots(vm, 1);
    if (!z) return VAL_NULL;
    z->its = its;
    z->strict = strict;
    return v_obj(z);
}

static int zip_next(EddyVM *vm, Value self, Value *out) {
    ZipObject *z = (ZipObject *)AS_OBJ(self);
    TupleObject *its = z->its;
    if (!its || its->len == 0) return 0;
    size_t n = its->len;
    TupleObject *result = tuple_new(vm, n);
    if (!result || vm_push_root(vm, v_obj(result)) < 0) return -1;
    int status = 1;
    for (size_t i = 0; i < n; i++) {
        Value item;
        int r = vm_next(vm, its->items[i], &item);
        if (r < 0) {
            status = -1;
            break;
        }
        if (r == 0) {
            status = 0;
            z->its = NULL;
            if (!z->strict) break;
            if (i > 0) {
                vm_raise(vm, vm->exc_ValueError, "zip() argument %zu is shorter than argument%s%zu",
                         i + 1, i == 1 ? " " : "s 1-", i);
                status = -1;
                break;
            }
            for (size_t j = 1; j < n; j++) {
                r = vm_next(vm, its->items[j], &item);
                if (r < 0) {
                    status = -1;
                    break;
                }
                if (r > 0) {
                    vm_raise(vm, vm->exc_ValueError,
                             "zip() argument %zu is longer than argument%s%zu", j + 1,
                             j == 1 ? " " : "s 1-", j);
                    status = -1;
                    break;
                }
            }
            break;
        }
        result->items[i] = item;
    }
    vm_pop_roots(vm, 1);
    if (status == 1) *out = v_obj(result);
    return status;
}

// ---------------------------------------------------------------------------
// map

static Value map_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    if (t == vm->t_map && args_no_kw(vm, "map", kw) < 0) return VAL_NULL;
    if (nargs < 2)
        return vm_raise(vm, vm->exc_TypeError, "map() must have at least two arguments.");
    TupleObject *its = iter_all(vm, args + 1, nargs - 1);
    if (!its) return VAL_NULL;
    if (vm_push_root(vm, v_obj(its)) < 0) return VAL_NULL;
    MapObject *m = (MapObject *)obj_alloc(vm, t, instance_size(t, sizeof(MapObject)));
    vm_pop_roots(vm, 1);
    if (!m) return VAL_NULL;
    m->func = args[0];
    m->its = its;
    return v_obj(m);
}

static int map_next(EddyVM *vm, Value self, Value *out) {
    MapObject *m = (MapObject *)AS_OBJ(self);
    size_t n = m->its->len;
    Value small[8];
    Value *argv = small;
    TupleObject *holder = NULL;
    if (n > 8) { // many iterables: collect into a rooted tuple instead
        holder = tuple_new(vm, n);
        if (!holder || vm_push_root(vm, v_obj(holder)) < 0) return -1;
        argv = holder->items;
    }
    size_t rooted = 0;
    int status = 1;
    for (size_t i = 0; i < n; i++) {
        int r = vm_next(vm, m->its->items[i], &argv[i]);
        if (r <= 0) {
            status = r;
            break;
        }
        if (!holder) {
            if (vm_push_root(vm, argv[i]) < 0) {
                status = -1;
                break;
            }
            rooted++;
        }
    }
    if (status == 1) {
        Value v = vm_call(vm, m->func, argv, (int)n, NULL);
        if (IS_NULL(v)) {
            status = -1;
        } else {
            *out = v;
        }
    }
    vm_pop_roots(vm, rooted + (holder ? 1 : 0));
    return status;
}

// ---------------------------------------------------------------------------
// filter

static Value filter_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    if (t == vm->t_filter && args_no_kw(vm, "filter", kw) < 0) return VAL_NULL;
    if (args_count(vm, "filter", nargs, 2, 2) < 0) return VAL_NULL;
    Value it = vm_iter(vm, args[1]);
    if (IS_NULL(it)) return VAL_NULL;
    if (vm_push_root(vm, it) < 0) return VAL_NULL;
    FilterObject *f = (FilterObject *)obj_alloc(vm, t, instance_size(t, sizeof(FilterObject)));
    vm_pop_roots(vm, 1);
    if (!f) return VAL_NULL;
    f->func = args[0];
    f->it = it;
    return v_obj(f);
}

static int filter_next(EddyVM *vm, Value self, Value *out) {
    FilterObject *f = (FilterObject *)AS_OBJ(self);
    for (;;) {
        Value item;
        int r = vm_next(vm, f->it, &item);
        if (r <= 0) return r;
        if (vm_push_root(vm, item) < 0) return -1;
        int keep;
        if (IS_NONE(f->func) || (IS_OBJ(f->func) && AS_OBJ(f->func) == (Obj *)vm->t_bool)) {
            keep = vm_truthy(vm, item);
        } else {
            Value v = vm_call1(vm, f->func, item);
            keep = IS_NULL(v) ? -1 : vm_truthy(vm, v);
        }
        vm_pop_roots(vm, 1);
        if (keep < 0) return -1;
        if (keep) {
            *out = item;
            return 1;
        }
    }
}

// ---------------------------------------------------------------------------
// reversed and the sequence iterator

static Value reversed_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    if (t == vm->t_reversed && args_no_kw(vm, "reversed", kw) < 0) return VAL_NULL;
    if (nargs != 1) // PyArg_UnpackTuple's wording, not METH_O's
        return vm_raise(vm, vm->exc_TypeError, "reversed expected 1 argument, got %d", nargs);
    Value seq = args[0];
    TypeObject *st = vm_type_of(vm, seq);
    Value meth = type_lookup(vm, st, vm->names.__reversed__);
    if (!IS_NULL(meth) && !IS_NONE(meth))
        return vm_call_method(vm, seq, vm->names.__reversed__, NULL, 0);
    // A sequence (PySequence_Check): item access and not a mapping.
    if (!IS_NULL(meth) || st->getitem == NULL || (st->flags & TPF_DICT_SUBCLASS))
        return vm_raise(vm, vm->exc_TypeError, "'%s' object is not reversible", st->name->data);
    int64_t n = vm_len(vm, seq);
    if (n < 0) return VAL_NULL;
    SeqIterObject *r = (SeqIterObject *)obj_alloc(vm, t, instance_size(t, sizeof(SeqIterObject)));
    if (!r) return VAL_NULL;
    r->seq = n > 0 ? seq : VAL_NULL;
    r->index = n - 1;
    return v_obj(r);
}

// 1 item, 0 when getitem raised IndexError/StopIteration (cleared), -1 error.
static int get_at(EddyVM *vm, Value seq, int64_t i, Value *out) {
    Value v = vm_getitem(vm, seq, v_int(i));
    if (!IS_NULL(v)) {
        *out = v;
        return 1;
    }
    if (vm_err_matches(vm, vm->exc_IndexError) || vm_err_matches(vm, vm->exc_StopIteration)) {
        vm_err_clear(vm);
        return 0;
    }
    return -1;
}

static int reversed_next(EddyVM *vm, Value self, Value *out) {
    SeqIterObject *r = (SeqIterObject *)AS_OBJ(self);
    if (IS_NULL(r->seq)) return 0;
    if (r->index >= 0) {
        int k = get_at(vm, r->seq, r->index, out);
        if (k != 0) {
            if (k > 0) r->index--;
            if (r->index < 0) r->seq = VAL_NULL;
            return k;
        }
    }
    r->seq = VAL_NULL;
    return 0;
}

static int seqiter_next(EddyVM *vm, Value self, Value *out) {
    SeqIterObject *s = (SeqIterObject *)AS_OBJ(self);
    if (IS_NULL(s->seq)) return 0;
    int k = get_at(vm, s->seq, s->index, out);
    if (k > 0) {
        s->index++;
    } else if (k == 0) {
        s->seq = VAL_NULL;
    }
    return k;
}

Value iter_seq_new(EddyVM *vm, Value seq) {
    SeqIterObject *s = (SeqIterObject *)obj_alloc(vm, vm->t_seq_iterator, sizeof(SeqIterObject));
    if (!s) return VAL_NULL;
    s->seq = seq;
    s->index = 0;
    return v_obj(s);
}

// ---------------------------------------------------------------------------
// callable_iterator

Value iter_callable_new(EddyVM *vm, Value callable, Value sentinel) {
    CallIterObject *c =
        (CallIterObject *)obj_alloc(vm, vm->t_callable_iterator, sizeof(CallIterObject));
    if (!c) return VAL_NULL;
    c->callable = callable;
    c->sentinel = sentinel;
    return v_obj(c);
}

// Not creatable from scripts in CPython; the slots let natives build these
// iterators through the type (builtins' iter(callable, sentinel) does).
static Value calliter_new_slot(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "callable_iterator", kw) < 0 ||
        args_count(vm, "callable_iterator", nargs, 2, 2) < 0)
        return VAL_NULL;
    return iter_callable_new(vm, args[0], args[1]);
}

static Value seqiter_new_slot(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "iterator", kw) < 0 || args_count(vm, "iterator", nargs, 1, 1) < 0)
        return VAL_NULL;
    return iter_seq_new(vm, args[0]);
}

static int calliter_next(EddyVM *vm, Value self, Value *out) {
    CallIterObject *c = (CallIterObject *)AS_OBJ(self);
    if (IS_NULL(c->callable)) return 0;
    Value v = vm_call0(vm, c->callable);
    if (IS_NULL(v)) {
        if (vm_err_matches(vm, vm->exc_StopIteration)) {
            vm_err_clear(vm);
            c->callable = VAL_NULL;
            return 0;
        }
        return -1;
    }
    if (vm_push_root(vm, v) < 0) return -1;
    int eq = vm_eq(vm, v, c->sentinel);
    vm_pop_roots(vm, 1);
    if (eq < 0) return -1;
    if (eq) {
        c->callable = VAL_NULL;
        return 0;
    }
    *out = v;
    return 1;
}

// ---------------------------------------------------------------------------
// Shared iterator methods

static Value iter_self(EddyVM *vm, Value self) { return self; }

static Value m_iter_self(EddyVM *vm, Value *args, int nargs, TupleObject *kw) { return args[0]; }

static Value m_next(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    Value out;
    int r = vm_type_of(vm, args[0])->next(vm, args[0], &out);
    if (r < 0) return VAL_NULL;
    if (r == 0) return vm_raise_value(vm, v_obj(vm->exc_StopIteration));
    return out;
}

static Value m_reversed_length_hint(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    SeqIterObject *r = (SeqIterObject *)AS_OBJ(args[0]);
    if (IS_NULL(r->seq)) return v_int(0);
    int64_t n = vm_len(vm, r->seq);
    if (n < 0) return VAL_NULL;
    return v_int(n < r->index + 1 ? 0 : r->index + 1);
}

static int init_iter_type(EddyVM *vm, TypeObject *t, size_t size, uint32_t flags,
                          void (*trace)(EddyVM *, Obj *),
                          Value (*new_)(EddyVM *, TypeObject *, Value *, int, TupleObject *),
                          int (*next)(EddyVM *, Value, Value *)) {
    if (!type_new_builtin(vm, t, vm->t_object, size, flags)) return -1;
    t->trace = trace;
    t->new_ = new_;
    t->iter = iter_self;
    t->next = next;
    if (type_add_method(vm, t, "__iter__", m_iter_self, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__next__", m_next, NATIVE_METHOD) < 0)
        return -1;
    return 0;
}

int iter_init_types(EddyVM *vm) {
    if (init_iter_type(vm, vm->t_enumerate, sizeof(EnumerateObject), TPF_BASETYPE, enumerate_trace,
                       enumerate_new, enumerate_next) < 0 ||
        init_iter_type(vm, vm->t_zip, sizeof(ZipObject), TPF_BASETYPE, zip_trace, zip_new,
                       zip_next) < 0 ||
        init_iter_type(vm, vm->t_map, sizeof(MapObject), TPF_BASETYPE, map_trace, map_new,
                       map_next) < 0 ||
        init_iter_type(vm, vm->t_filter, sizeof(FilterObject), TPF_BASETYPE, filter_trace,
                       filter_new, filter_next) < 0 ||
        init_iter_type(vm, vm->t_reversed, sizeof(SeqIterObject), TPF_BASETYPE, seqiter_trace,
                       reversed_new, reversed_next) < 0 ||
        init_iter_type(vm, vm->t_seq_iterator, sizeof(SeqIterObject), 0, seqiter_trace,
                       seqiter_new_slot, seqiter_next) < 0 ||
        init_iter_type(vm, vm->t_callable_iterator, sizeof(CallIterObject), 0, calliter_trace,
                       calliter_new_slot, calliter_next) < 0)
        return -1;
    return type_add_method(vm, vm->t_reversed, "__length_hint__", m_reversed_length_hint,
                           NATIVE_METHOD);
}
