// obj_object.c - the `object` type: the root of every class, and the
// generic attribute algorithms (object.__getattribute__ / __setattr__) that
// every type without its own getattr/setattr slot uses.
//
// Instances of plain classes are InstanceObjects: a header and a lazily
// created __dict__. A class that extends a builtin layout keeps the
// builtin's layout and finds its __dict__ through type->dict_offset
// (object_dict_ptr in obj_type.c).
#include <string.h>

#include "vm.h"

// ---------------------------------------------------------------------------
// AttributeError with .name / .obj set (used for "Did you mean" hints).

static Value attribute_error(EddyVM *vm, Value obj, StrObject *name) {
    vm_raise(vm, vm->exc_AttributeError, "'%s' object has no attribute '%U'", vm_type_name(vm, obj),
             name);
    Value e = vm->exc;
    if (is_exception(vm, e)) {
        ExceptionObject *x = (ExceptionObject *)AS_OBJ(e);
        StrObject *objname = str_intern_cstr(vm, "obj");
        if (!x->dict) x->dict = dict_new(vm);
        if (x->dict && objname && dict_set_str(vm, x->dict, vm->names.name, v_obj(name)) == 0 &&
            dict_set_str(vm, x->dict, objname, obj) == 0)
            return VAL_NULL;
        // Out of memory while decorating: the AttributeError is replaced by
        // MemoryError, which is the truth.
    }
    return VAL_NULL;
}

// ---------------------------------------------------------------------------
// Generic attribute access

// 1 found (*out set), 0 not found (no exception), -1 error. Does not run
// __getattr__; the shim slot of a class that defines it does.
int object_getattr_opt(EddyVM *vm, Value obj, StrObject *name, Value *out) {
    TypeObject *tp = vm_type_of(vm, obj);
    Value descr = type_lookup(vm, tp, name);
    TypeObject *dt = NULL;
    if (!IS_NULL(descr) && IS_OBJ(descr)) {
        dt = OBJ_TYPE(AS_OBJ(descr));
        if (dt->descr_get && dt->descr_set) {
            Value r = dt->descr_get(vm, descr, obj, tp);
            if (!IS_NULL(r)) {
                *out = r;
                return 1;
            }
            if (!vm_err_matches(vm, vm->exc_AttributeError)) return -1;
            vm_err_clear(vm);
            return 0;
        }
    }
    DictObject **dp = object_dict_ptr(vm, obj);
    if (dp && *dp) {
        Value v = dict_get_str(*dp, name);
        if (!IS_NULL(v)) {
            *out = v;
            return 1;
        }
    }
    if (IS_NULL(descr)) return 0;
    if (dt && dt->descr_get) {
        Value r = dt == vm->t_function ? bound_method_new(vm, descr, obj)
                                       : dt->descr_get(vm, descr, obj, tp);
        if (!IS_NULL(r)) {
            *out = r;
            return 1;
        }
        if (!vm_err_matches(vm, vm->exc_AttributeError)) return -1;
        vm_err_clear(vm);
        return 0;
    }
    *out = descr;
    return 1;
}

Value object_generic_getattr(EddyVM *vm, Value obj, StrObject *name) {
    TypeObject *tp = vm_type_of(vm, obj);
    Value descr = type_lookup(vm, tp, name);
    TypeObject *dt = NULL;
    if (!IS_NULL(descr) && IS_OBJ(descr)) {
        dt = OBJ_TYPE(AS_OBJ(descr));
        if (dt->descr_get && dt->descr_set) return dt->descr_get(vm, descr, obj, tp);
    }
    DictObject **dp = object_dict_ptr(vm, obj);
    if (dp && *dp) {
        Value v = dict_get_str(*dp, name);
        if (!IS_NULL(v)) return v;
    }
    if (!IS_NULL(descr)) {
        if (dt && dt->descr_get) {
            // The common case, a method fetched through an instance.
            if (dt == vm->t_function) return bound_method_new(vm, descr, obj);
            return dt->descr_get(vm, descr, obj, tp);
        }
        return descr;
    }
    return attribute_error(vm, obj, name);
}

int object_generic_setattr(EddyVM *vm, Value obj, StrObject *name, Value v) {
    TypeObject *tp = vm_type_of(vm, obj);
    Value descr = type_lookup(vm, tp, name);
    if (!IS_NULL(descr) && IS_OBJ(descr)) {
        TypeObject *dt = OBJ_TYPE(AS_OBJ(descr));
        if (dt->descr_set) return dt->descr_set(vm, descr, obj, v);
    }
    DictObject **dp = object_dict_ptr(vm, obj);
    if (!dp || type_slots_only(tp)) {
        if (!IS_NULL(descr))
            vm_raise(vm, vm->exc_AttributeError, "'%s' object attribute '%U' is read-only",
                     vm_type_name(vm, obj), name);
        else
            attribute_error(vm, obj, name);
        return -1;
    }
    if (IS_NULL(v)) {
        if (!*dp || dict_del_str(vm, *dp, name) == 0) {
            attribute_error(vm, obj, name);
            return -1;
        }
        return 0;
    }
    if (!*dp && !(*dp = dict_new(vm))) return -1;
    return dict_set_str(vm, *dp, name, v);
}

// ---------------------------------------------------------------------------
// Slots

static void object_trace(EddyVM *vm, Obj *self) {
    DictObject **dp = object_dict_ptr(vm, v_obj(self));
    if (dp) gc_mark_obj(vm, (Obj *)*dp);
}

static Value object_init_fn(EddyVM *vm) {
    return dict_get_str(vm->t_object->dict, vm->names.__init__);
}
static Value object_new_fn(EddyVM *vm) {
    return dict_get_str(vm->t_object->dict, vm->names.__new__);
}

static bool overrides(EddyVM *vm, TypeObject *t, StrObject *name, Value base_fn) {
    return !v_is(type_lookup(vm, t, name), base_fn);
}

static Value object_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    bool excess = nargs > 0 || (kw && kw->len > 0);
    if (excess) {
        if (overrides(vm, t, vm->names.__new__, object_new_fn(vm)))
            return vm_raise(
                vm, vm->exc_TypeError,
                "object.__new__() takes exactly one argument (the type to instantiate)");
        if (!overrides(vm, t, vm->names.__init__, object_init_fn(vm)))
            return vm_raise(vm, vm->exc_TypeError, "%U() takes no arguments", t->name);
    }
    if (t->layout && t->layout != vm->t_object && !(t->layout->flags & TPF_HEAPTYPE))
        return vm_raise(vm, vm->exc_TypeError, "object.__new__(%U) is not safe, use %U.__new__()",
                        t->name, t->layout->name);
    if (t != vm->t_object && !(t->flags & TPF_HEAPTYPE))
        return vm_raise(vm, vm->exc_TypeError, "cannot create '%U' instances", t->name);
    if (t->dict) {
        Value am = dict_get_str(t->dict, vm->names.__abstractmethods__);
        if (!IS_NULL(am)) {
            int64_t n = vm_len(vm, am);
            if (n < 0) vm_err_clear(vm);
            if (n > 0)
                return vm_raise(vm, vm->exc_TypeError,
                                "Can't instantiate abstract class %U with abstract method%s",
                                t->name, n > 1 ? "s" : "");
        }
    }
    size_t size =
        t->instance_size >= sizeof(InstanceObject) ? t->instance_size : sizeof(InstanceObject);
    Obj *o = obj_alloc(vm, t, size);
    return o ? v_obj(o) : VAL_NULL;
}

static Value object_repr(EddyVM *vm, Value self) {
    TypeObject *t = vm_type_of(vm, self);
    Value mod = VAL_NULL;
    if ((t->flags & TPF_HEAPTYPE) && t->dict)
        mod = dict_get_str(t->dict, vm->names.__module__);
    else if (t->module)
        mod = v_obj(t->module);
    void *addr = IS_OBJ(self) ? (void *)AS_OBJ(self) : (void *)t;
    StrObject *s;
    if (is_str(vm, mod) && !str_eq(AS_STR(mod), vm->names.builtins))
        s = str_format(vm, "<%U.%U object at %p>", AS_STR(mod), t->qualname, addr);
    else
        s = str_format(vm, "<%U object at %p>", t->qualname, addr);
    return s ? v_obj(s) : VAL_NULL;
}

// object.__str__ runs the repr slot directly, so a bad __repr__ result is
// reported by vm_str as "__str__ returned non-string", as in CPython.
static Value object_str(EddyVM *vm, Value self) {
    TypeObject *t = vm_type_of(vm, self);
    return t->repr ? t->repr(vm, self) : object_repr(vm, self);
}

static int object_hash(EddyVM *vm, Value self, int64_t *out) {
    if (!IS_OBJ(self)) {
        *out = 0;
        return 0;
    }
    uintptr_t p = (uintptr_t)AS_OBJ(self);
    // CPython rotates the address by 4 bits so aligned pointers spread.
    int64_t h = (int64_t)((p >> 4) | (p << (sizeof(p) * 8 - 4)));
    *out = h == -1 ? -2 : h;
    return 0;
}

static Value object_richcompare(EddyVM *vm, Value a, Value b, int op) {
    switch (op) {
    case CMP_EQ: return v_is(a, b) ? VAL_TRUE : vm->not_implemented;
    case CMP_NE: {
        // By default __ne__ delegates to __eq__ and inverts its result.
        TypeObject *t = vm_type_of(vm, a);
        Value r = t->richcompare ? t->richcompare(vm, a, b, CMP_EQ) : vm->not_implemented;
        if (IS_NULL(r) || v_is(r, vm->not_implemented)) return r;
        if (IS_BOOL(r)) return v_bool(!AS_BOOL(r));
        int tr = vm_truthy(vm, r);
        return tr < 0 ? VAL_NULL : v_bool(!tr);
    }
    default: return vm->not_implemented;
    }
}

// ---------------------------------------------------------------------------
// Methods

static Value o_new(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n < 1) return vm_raise(vm, vm->exc_TypeError, "object.__new__(): not enough arguments");
    if (!is_type(vm, a[0]))
        return vm_raise(vm, vm->exc_TypeError, "object.__new__(X): X is not a type object (%s)",
                        vm_type_name(vm, a[0]));
    return object_new(vm, AS_TYPE(a[0]), a + 1, n - 1, k);
}

static Value o_init(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n < 1)
        return vm_raise(vm, vm->exc_TypeError,
                        "descriptor '__init__' of 'object' object needs an argument");
    bool excess = n > 1 || (k && k->len > 0);
    if (excess) {
        TypeObject *t = vm_type_of(vm, a[0]);
        if (overrides(vm, t, vm->names.__init__, object_init_fn(vm)))
            return vm_raise(
                vm, vm->exc_TypeError,
                "object.__init__() takes exactly one argument (the instance to initialize)");
        if (!overrides(vm, t, vm->names.__new__, object_new_fn(vm)))
            return vm_raise(vm, vm->exc_TypeError, "%U() takes no arguments", t->name);
    }
    return VAL_NONE;
}

static int want_args(EddyVM *vm, const char *name, int n, TupleObject *k, int want) {
    if (k && k->len) {
        vm_raise(vm, vm->exc_TypeError, "object.%s() takes no keyword arguments", name);
        return -1;
    }
    if (n < 1) {
        vm_raise(vm, vm->exc_TypeError, "descriptor '%s' of 'object' object needs an argument",
                 name);
        return -1;
    }
    if (n != want) {
        if (want == 1)
            vm_raise(vm, vm->exc_TypeError, "object.%s() takes no arguments (%d given)", name,
                     n - 1);
        else
            vm_raise(vm, vm->exc_TypeError, "object.%s() takes exactly %d argument%s (%d given)",
                     name, want - 1, want == 2 ? "" : "s", n - 1);
        return -1;
    }
    return 0;
}

static Value o_repr(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (want_args(vm, "__repr__", n, k, 1) < 0) return VAL_NULL;
    return object_repr(vm, a[0]);
}
static Value o_str(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (want_args(vm, "__str__", n, k, 1) < 0) return VAL_NULL;
    return vm_repr(vm, a[0]);
}
static Value o_hash(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (want_args(vm, "__hash__", n, k, 1) < 0) return VAL_NULL;
    int64_t h;
    object_hash(vm, a[0], &h);
    return v_int(h);
}
static Value o_cmp(EddyVM *vm, Value *a, int n, TupleObject *k, int op, const char *name) {
    if (want_args(vm, name, n, k, 2) < 0) return VAL_NULL;
    return object_richcompare(vm, a[0], a[1], op);
}
static Value o_eq(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return o_cmp(vm, a, n, k, CMP_EQ, "__eq__");
}
static Value o_ne(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return o_cmp(vm, a, n, k, CMP_NE, "__ne__");
}
static Value o_lt(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return o_cmp(vm, a, n, k, CMP_LT, "__lt__");
}
static Value o_le(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return o_cmp(vm, a, n, k, CMP_LE, "__le__");
}
static Value o_gt(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return o_cmp(vm, a, n, k, CMP_GT, "__gt__");
}
static Value o_ge(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return o_cmp(vm, a, n, k, CMP_GE, "__ge__");
}

static StrObject *name_arg(EddyVM *vm, Value v) {
    if (!is_str(vm, v)) {
        vm_raise(vm, vm->exc_TypeError, "attribute name must be string, not '%s'",
                 vm_type_name(vm, v));
        return NULL;
    }
    return str_intern_obj(vm, AS_STR(v));
}

static Value o_getattribute(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (want_args(vm, "__getattribute__", n, k, 2) < 0) return VAL_NULL;
    StrObject *name = name_arg(vm, a[1]);
    return name ? object_generic_getattr(vm, a[0], name) : VAL_NULL;
}
static Value o_setattr(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (want_args(vm, "__setattr__", n, k, 3) < 0) return VAL_NULL;
    StrObject *name = name_arg(vm, a[1]);
    if (!name) return VAL_NULL;
    if (is_type(vm, a[0]) && !(AS_TYPE(a[0])->flags & TPF_HEAPTYPE))
        return vm_raise(vm, vm->exc_TypeError, "can't apply this __setattr__ to %s object",
                        vm_type_name(vm, a[0]));
    return object_generic_setattr(vm, a[0], name, a[2]) < 0 ? VAL_NULL : VAL_NONE;
}
static Value o_delattr(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (want_args(vm, "__delattr__", n, k, 2) < 0) return VAL_NULL;
    StrObject *name = name_arg(vm, a[1]);
    if (!name) return VAL_NULL;
    return object_generic_setattr(vm, a[0], name, VAL_NULL) < 0 ? VAL_NULL : VAL_NONE;
}

static Value o_format(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (want_args(vm, "__format__", n, k, 2) < 0) return VAL_NULL;
    if (!is_str(vm, a[1]))
        return vm_raise(vm, vm->exc_TypeError, "__format__() argument must be str, not %s",
                        vm_type_name(vm, a[1]));
    if (AS_STR(a[1])->len > 0)
        return vm_raise(vm, vm->exc_TypeError, "unsupported format string passed to %s.__format__",
                        vm_type_name(vm, a[0]));
    return vm_str(vm, a[0]);
}

static Value o_init_subclass(EddyVM *vm, Value *a, int n, TupleObject *k) {
    StrObject *cls = is_type(vm, a[0]) ? AS_TYPE(a[0])->name : vm->names.empty;
    if (k && k->len)
        return vm_raise(vm, vm->exc_TypeError, "%U.__init_subclass__() takes no keyword arguments",
                        cls);
    if (n > 1)
        return vm_raise(vm, vm->exc_TypeError,
                        "%U.__init_subclass__() takes no arguments (%d given)", cls, n - 1);
    return VAL_NONE;
}

static Value o_subclasshook(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return vm->not_implemented;
}

static Value o_get_class(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_obj(vm_type_of(vm, a[0]));
}

static Value o_set_class(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (IS_NULL(a[1])) return vm_raise(vm, vm->exc_TypeError, "can't delete __class__ attribute");
    if (!is_type(vm, a[1]))
        return vm_raise(vm, vm->exc_TypeError, "__class__ must be set to a class, not '%s' object",
                        vm_type_name(vm, a[1]));
    TypeObject *old = vm_type_of(vm, a[0]), *nw = AS_TYPE(a[1]);
    if (!IS_OBJ(a[0]) || !(old->flags & TPF_HEAPTYPE) || !(nw->flags & TPF_HEAPTYPE))
        return vm_raise(vm, vm->exc_TypeError,
                        "__class__ assignment only supported for mutable types or ModuleType "
                        "subclasses");
    if (old->layout != nw->layout || old->instance_size != nw->instance_size ||
        old->dict_offset != nw->dict_offset)
        return vm_raise(vm, vm->exc_TypeError,
                        "__class__ assignment: '%U' object layout differs from '%U'", nw->name,
                        old->name);
    AS_OBJ(a[0])->type = nw;
    return VAL_NONE;
}

static Value o_get_dict(EddyVM *vm, Value *a, int n, TupleObject *k) {
    DictObject **dp = object_dict_ptr(vm, a[0]);
    if (!dp || type_slots_only(vm_type_of(vm, a[0])))
        return attribute_error(vm, a[0], vm->names.__dict__);
    if (!*dp && !(*dp = dict_new(vm))) return VAL_NULL;
    return v_obj(*dp);
}

static Value o_set_dict(EddyVM *vm, Value *a, int n, TupleObject *k) {
    DictObject **dp = object_dict_ptr(vm, a[0]);
    if (!dp || type_slots_only(vm_type_of(vm, a[0])))
        return attribute_error(vm, a[0], vm->names.__dict__);
    if (!IS_OBJ(a[1]) || !(OBJ_TYPE(AS_OBJ(a[1]))->flags & TPF_DICT_SUBCLASS))
        return vm_raise(vm, vm->exc_TypeError, "__dict__ must be set to a dictionary, not a '%s'",
                        vm_type_name(vm, a[1]));
    *dp = AS_DICT(a[1]);
    return VAL_NONE;
}

static Value o_dir(EddyVM *vm, Value *a, int n, TupleObject *k) {
    DictObject *seen = dict_new(vm);
    if (!seen || vm_push_root(vm, v_obj(seen)) < 0) return VAL_NULL;
    DictObject **dp = object_dict_ptr(vm, a[0]);
    size_t pos;
    Value key, val;
    if (dp && *dp) {
        pos = 0;
        while (dict_next(*dp, &pos, &key, &val))
            if (dict_set(vm, seen, key, VAL_NONE) < 0) goto fail;
    }
    TypeObject *t = vm_type_of(vm, a[0]);
    for (size_t i = 0; t->mro && i < t->mro->len; i++) {
        DictObject *d = AS_TYPE(t->mro->items[i])->dict;
        pos = 0;
        while (d && dict_next(d, &pos, &key, &val))
            if (dict_set(vm, seen, key, VAL_NONE) < 0) goto fail;
    }
    ListObject *l = list_new(vm, seen->len);
    if (!l) goto fail;
    pos = 0;
    while (dict_next(seen, &pos, &key, &val))
        if (list_append(vm, l, key) < 0) goto fail;
    vm_pop_roots(vm, 1);
    return v_obj(l);
fail:
    vm_pop_roots(vm, 1);
    return VAL_NULL;
}

static Value o_sizeof(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_int(IS_OBJ(a[0]) ? (int64_t)AS_OBJ(a[0])->size : 16);
}

// ---------------------------------------------------------------------------

int object_init_types(EddyVM *vm) {
    TypeObject *t = type_new_builtin(vm, vm->t_object, NULL, sizeof(InstanceObject), TPF_BASETYPE);
    if (!t) return -1;
    t->layout = t;
    t->trace = object_trace;
    t->new_ = object_new;
    t->repr = object_repr;
    t->str = object_str;
    t->hash = object_hash;
    t->richcompare = object_richcompare;
    t->getattr = object_generic_getattr;
    t->setattr = object_generic_setattr;
    // type_init_types creates the method cache, so it runs before any
    // type_add_method that could bump a version.
    if (type_init_types(vm) < 0 || ops_init_types(vm) < 0) return -1;
    static const struct {
        const char *name;
        NativeFn fn;
        uint32_t flags;
    } methods[] = {
        {"__new__", o_new, NATIVE_STATIC},
        {"__init__", o_init, NATIVE_METHOD},
        {"__repr__", o_repr, NATIVE_METHOD},
        {"__str__", o_str, NATIVE_METHOD},
        {"__hash__", o_hash, NATIVE_METHOD},
        {"__eq__", o_eq, NATIVE_METHOD},
        {"__ne__", o_ne, NATIVE_METHOD},
        {"__lt__", o_lt, NATIVE_METHOD},
        {"__le__", o_le, NATIVE_METHOD},
        {"__gt__", o_gt, NATIVE_METHOD},
        {"__ge__", o_ge, NATIVE_METHOD},
        {"__getattribute__", o_getattribute, NATIVE_METHOD},
        {"__setattr__", o_setattr, NATIVE_METHOD},
        {"__delattr__", o_delattr, NATIVE_METHOD},
        {"__format__", o_format, NATIVE_METHOD},
        {"__dir__", o_dir, NATIVE_METHOD},
        {"__sizeof__", o_sizeof, NATIVE_METHOD},
        {"__init_subclass__", o_init_subclass, NATIVE_CLASSMETHOD},
        {"__subclasshook__", o_subclasshook, NATIVE_CLASSMETHOD},
    };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (type_add_method(vm, t, methods[i].name, methods[i].fn, methods[i].flags) < 0) return -1;
    if (type_add_property(vm, t, "__class__", o_get_class, o_set_class) < 0 ||
        type_add_property(vm, t, "__dict__", o_get_dict, o_set_dict) < 0)
        return -1;
    return 0;
}
