// obj_func.c - script functions, native functions, bound methods and cells.
//
// The interpreter calls FunctionObjects itself (vm/call.c pushes a frame);
// the `call` slots here exist so that generic C code going through a type's
// call slot also works. Native functions are called directly through their
// NativeFn; a NativeFunctionObject whose `self` is set is a bound builtin
// method ("<built-in method append of list object at ...>").
#include <string.h>

#include "vm.h"

// ---------------------------------------------------------------------------
// Calling with a prepended receiver

Value func_call_with_self(EddyVM *vm, Value callable, Value self, Value *args, int nargs,
                          TupleObject *kwnames) {
    size_t nkw = kwnames ? kwnames->len : 0;
    size_t total = (size_t)nargs + nkw + 1;
    Value small[16];
    Value *buf = small;
    if (total > sizeof(small) / sizeof(small[0])) {
        buf = mem_alloc(vm, total * sizeof(Value));
        if (!buf) return VAL_NULL;
    }
    buf[0] = self;
    if (total > 1) memcpy(buf + 1, args, (total - 1) * sizeof(Value));
    Value r;
    if (is_exact(callable, vm->t_builtin_function)) {
        NativeFunctionObject *nf = (NativeFunctionObject *)AS_OBJ(callable);
        if (IS_NULL(nf->self))
            r = nf->fn(vm, buf, nargs + 1, kwnames);
        else
            r = vm_call(vm, callable, buf, nargs + 1, kwnames);
    } else {
        r = vm_call(vm, callable, buf, nargs + 1, kwnames);
    }
    if (buf != small) mem_free(vm, buf, total * sizeof(Value));
    return r;
}

// ---------------------------------------------------------------------------
// Script functions

static DictObject *resolve_builtins(EddyVM *vm, DictObject *globals) {
    Value b = dict_get_str(globals, vm->names.__builtins__);
    if (IS_OBJ(b)) {
        if (is_exact(b, vm->t_module)) return ((ModuleObject *)AS_OBJ(b))->dict;
        if (OBJ_TYPE(AS_OBJ(b))->flags & TPF_DICT_SUBCLASS) return AS_DICT(b);
    }
    return vm->builtins_dict;
}

FunctionObject *function_new(EddyVM *vm, CodeObject *code, DictObject *globals) {
    FunctionObject *f = (FunctionObject *)obj_alloc(vm, vm->t_function, sizeof(FunctionObject));
    if (!f) return NULL;
    f->code = code;
    f->globals = globals;
    f->builtins = globals ? resolve_builtins(vm, globals) : vm->builtins_dict;
    f->name = code->name ? code->name : vm->names.lambda;
    f->qualname = code->qualname ? code->qualname : f->name;
    // The compiler follows CPython 3.11: a function's docstring is consts[0]
    // when it is a str (a body without one starts its consts with None).
    f->doc = VAL_NONE;
    if (code->consts && code->consts->len > 0 && is_str(vm, code->consts->items[0]))
        f->doc = code->consts->items[0];
    if (globals) {
        Value m = dict_get_str(globals, vm->names.__name__);
        if (is_str(vm, m)) f->module = AS_STR(m);
    }
    return f;
}

static void function_trace(EddyVM *vm, Obj *self) {
    FunctionObject *f = (FunctionObject *)self;
    gc_mark_obj(vm, (Obj *)f->code);
    gc_mark_obj(vm, (Obj *)f->globals);
    gc_mark_obj(vm, (Obj *)f->builtins);
    gc_mark_obj(vm, (Obj *)f->defaults);
    gc_mark_obj(vm, (Obj *)f->kwdefaults);
    gc_mark_obj(vm, (Obj *)f->closure);
    gc_mark_obj(vm, (Obj *)f->name);
    gc_mark_obj(vm, (Obj *)f->qualname);
    gc_mark_obj(vm, (Obj *)f->module);
    gc_mark_obj(vm, (Obj *)f->dict);
    gc_mark_value(vm, f->doc);
}

static Value function_repr(EddyVM *vm, Value self) {
    FunctionObject *f = (FunctionObject *)AS_OBJ(self);
    StrObject *s = str_format(vm, "<function %U at %p>", f->qualname, (void *)f);
    return s ? v_obj(s) : VAL_NULL;
}

static Value function_descr_get(EddyVM *vm, Value descr, Value obj, TypeObject *owner) {
    if (IS_NULL(obj)) return descr;
    return bound_method_new(vm, descr, obj);
}

// vm_call runs FunctionObjects itself (it must never dispatch them through
// this slot); the slot makes `type(f)->call` usable by generic code.
static Value function_call(EddyVM *vm, Value self, Value *args, int nargs, TupleObject *kw) {
    return vm_call(vm, self, args, nargs, kw);
}

#define FUNC(a) ((FunctionObject *)AS_OBJ((a)[0]))

static Value str_setter_check(EddyVM *vm, Value v, const char *what) {
    if (!is_str(vm, v))
        return vm_raise(vm, vm->exc_TypeError, "%s must be set to a string object", what);
    return v;
}

static Value f_get_name(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_obj(FUNC(a)->name);
}
static Value f_set_name(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (IS_NULL(str_setter_check(vm, a[1], "__name__"))) return VAL_NULL;
    FUNC(a)->name = AS_STR(a[1]);
    return VAL_NONE;
}
static Value f_get_qualname(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_obj(FUNC(a)->qualname);
}
static Value f_set_qualname(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (IS_NULL(str_setter_check(vm, a[1], "__qualname__"))) return VAL_NULL;
    FUNC(a)->qualname = AS_STR(a[1]);
    return VAL_NONE;
}
static Value f_get_module(EddyVM *vm, Value *a, int n, TupleObject *k) {
    FunctionObject *f = FUNC(a);
    if (f->dict) {
        Value m = dict_get_str(f->dict, vm->names.__module__);
        if (!IS_NULL(m)) return m;
    }
    return f->module ? v_obj(f->module) : VAL_NONE;
}
static Value f_set_module(EddyVM *vm, Value *a, int n, TupleObject *k) {
    FunctionObject *f = FUNC(a);
    if (is_str(vm, a[1])) {
        f->module = AS_STR(a[1]);
        return VAL_NONE;
    }
    if (!f->dict && !(f->dict = dict_new(vm))) return VAL_NULL;
    if (dict_set_str(vm, f->dict, vm->names.__module__, a[1]) < 0) return VAL_NULL;
    f->module = NULL;
    return VAL_NONE;
}
static Value f_get_doc(EddyVM *vm, Value *a, int n, TupleObject *k) { return FUNC(a)->doc; }
static Value f_set_doc(EddyVM *vm, Value *a, int n, TupleObject *k) {
    FUNC(a)->doc = a[1];
    return VAL_NONE;
}
static Value f_get_defaults(EddyVM *vm, Value *a, int n, TupleObject *k) {
    FunctionObject *f = FUNC(a);
    return f->defaults && f->defaults->len ? v_obj(f->defaults) : VAL_NONE;
}
static Value f_set_defaults(EddyVM *vm, Value *a, int n, TupleObject *k) {
    FunctionObject *f = FUNC(a);
    if (IS_NONE(a[1]))
        f->defaults = NULL;
    else if (IS_OBJ(a[1]) && (OBJ_TYPE(AS_OBJ(a[1]))->flags & TPF_TUPLE_SUBCLASS))
        f->defaults = AS_TUPLE(a[1]);
    else
        return vm_raise(vm, vm->exc_TypeError, "__defaults__ must be set to a tuple object");
    return VAL_NONE;
}
static Value f_get_kwdefaults(EddyVM *vm, Value *a, int n, TupleObject *k) {
    FunctionObject *f = FUNC(a);
    return f->kwdefaults ? v_obj(f->kwdefaults) : VAL_NONE;
}
static Value f_set_kwdefaults(EddyVM *vm, Value *a, int n, TupleObject *k) {
    FunctionObject *f = FUNC(a);
    if (IS_NONE(a[1]))
        f->kwdefaults = NULL;
    else if (IS_OBJ(a[1]) && (OBJ_TYPE(AS_OBJ(a[1]))->flags & TPF_DICT_SUBCLASS))
        f->kwdefaults = AS_DICT(a[1]);
    else
        return vm_raise(vm, vm->exc_TypeError, "__kwdefaults__ must be set to a dict object");
    return VAL_NONE;
}
static Value f_get_code(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_obj(FUNC(a)->code);
}
static Value f_get_globals(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_obj(FUNC(a)->globals);
}
static Value f_get_builtins(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_obj(FUNC(a)->builtins);
}
static Value f_get_closure(EddyVM *vm, Value *a, int n, TupleObject *k) {
    FunctionObject *f = FUNC(a);
    return f->closure && f->closure->len ? v_obj(f->closure) : VAL_NONE;
}
static Value f_get_annotations(EddyVM *vm, Value *a, int n, TupleObject *k) {
    FunctionObject *f = FUNC(a);
    if (!f->dict && !(f->dict = dict_new(vm))) return VAL_NULL;
    Value v = dict_get_str(f->dict, vm->names.__annotations__);
    if (!IS_NULL(v)) return v;
    DictObject *d = dict_new(vm);
    if (!d || dict_set_str(vm, f->dict, vm->names.__annotations__, v_obj(d)) < 0) return VAL_NULL;
    return v_obj(d);
}
// functools.update_wrapper copies __annotations__ onto the wrapper.
static Value f_set_annotations(EddyVM *vm, Value *a, int n, TupleObject *k) {
    FunctionObject *f = FUNC(a);
    if (!IS_NONE(a[1]) && !(IS_OBJ(a[1]) && (OBJ_TYPE(AS_OBJ(a[1]))->flags & TPF_DICT_SUBCLASS)))
        return vm_raise(vm, vm->exc_TypeError, "__annotations__ must be set to a dict object");
    if (!f->dict && !(f->dict = dict_new(vm))) return VAL_NULL;
    Value v = a[1];
    if (IS_NONE(v)) {
        DictObject *d = dict_new(vm);
        if (!d) return VAL_NULL;
        v = v_obj(d);
    }
    if (dict_set_str(vm, f->dict, vm->names.__annotations__, v) < 0) return VAL_NULL;
    return VAL_NONE;
}

// ---------------------------------------------------------------------------
// Native functions

NativeFunctionObject *native_new(EddyVM *vm, const char *name, NativeFn fn, Value self,
                                 uint32_t flags) {
    NativeFunctionObject *nf =
        (NativeFunctionObject *)obj_alloc(vm, vm->t_builtin_function, sizeof(NativeFunctionObject));
    if (!nf) return NULL;
    nf->name = name;
    nf->fn = fn;
    nf->self = self;
    nf->flags = flags;
    return nf;
}

static void native_trace(EddyVM *vm, Obj *self) {
    NativeFunctionObject *nf = (NativeFunctionObject *)self;
    gc_mark_value(vm, nf->self);
    gc_mark_obj(vm, (Obj *)nf->owner);
}

// CPython shows dunders that implement a type slot as "slot wrapper"s and
// other methods defined in C as "method"s.
static bool is_slot_dunder(const char *name) {
    static const char *const plain[] = {
        "__format__",        "__reduce__",
        "__reduce_ex__",     "__sizeof__",
        "__dir__",           "__getstate__",
        "__init_subclass__", "__subclasshook__",
        "__class_getitem__", "__length_hint__",
        "__reversed__",      "__round__",
        "__trunc__",         "__floor__",
        "__ceil__",          "__getnewargs__",
        "__enter__",         "__exit__",
        "__getitem__",       "__contains__",
        "__instancecheck__", "__subclasscheck__",
        "__subclasses__",    "__prepare__",
        "__set_name__",      "__copy__",
        "__deepcopy__",      "__index__" /* int: slot, but rare in output */,
    };
    size_t n = strlen(name);
    if (n < 5 || name[0] != '_' || name[1] != '_' || name[n - 1] != '_' || name[n - 2] != '_')
        return false;
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (strcmp(name, plain[i]) == 0) return false;
    return true;
}

static Value native_repr(EddyVM *vm, Value self) {
    NativeFunctionObject *nf = (NativeFunctionObject *)AS_OBJ(self);
    StrObject *s;
    if (IS_NULL(nf->self) && nf->owner && (nf->flags & NATIVE_METHOD) && is_slot_dunder(nf->name))
        s = str_format(vm, "<slot wrapper '%s' of '%U' objects>", nf->name, nf->owner->name);
    else if (IS_NULL(nf->self) && nf->owner && (nf->flags & (NATIVE_METHOD | NATIVE_CLASSMETHOD)))
        s = str_format(vm, "<method '%s' of '%U' objects>", nf->name, nf->owner->name);
    else if (IS_NULL(nf->self) || is_exact(nf->self, vm->t_module))
        s = str_format(vm, "<built-in function %s>", nf->name);
    else
        s = str_format(vm, "<built-in method %s of %s object at %p>", nf->name,
                       vm_type_name(vm, nf->self),
                       IS_OBJ(nf->self) ? (void *)AS_OBJ(nf->self) : (void *)nf);
    return s ? v_obj(s) : VAL_NULL;
}

// An unbound method descriptor (list.append) called directly: check the
// receiver's type before the native trusts it.
static int check_receiver(EddyVM *vm, NativeFunctionObject *nf, Value *args, int nargs) {
    if (!nf->owner || !(nf->flags & NATIVE_METHOD)) return 0;
    if (nargs < 1) {
        vm_raise(vm, vm->exc_TypeError, "unbound method %U.%s() needs an argument", nf->owner->name,
                 nf->name);
        return -1;
    }
    if (!type_is_subtype(vm_type_of(vm, args[0]), nf->owner)) {
        vm_raise(vm, vm->exc_TypeError,
                 "descriptor '%s' for '%U' objects doesn't apply to a '%s' object", nf->name,
                 nf->owner->name, vm_type_name(vm, args[0]));
        return -1;
    }
    return 0;
}

static Value native_call(EddyVM *vm, Value self, Value *args, int nargs, TupleObject *kw) {
    NativeFunctionObject *nf = (NativeFunctionObject *)AS_OBJ(self);
    if (IS_NULL(nf->self)) {
        if (check_receiver(vm, nf, args, nargs) < 0) return VAL_NULL;
        return nf->fn(vm, args, nargs, kw);
    }
    size_t nkw = kw ? kw->len : 0;
    size_t total = (size_t)nargs + nkw + 1;
    Value small[16];
    Value *buf = small;
    if (total > sizeof(small) / sizeof(small[0])) {
        buf = mem_alloc(vm, total * sizeof(Value));
        if (!buf) return VAL_NULL;
    }
    buf[0] = nf->self;
    if (total > 1) memcpy(buf + 1, args, (total - 1) * sizeof(Value));
    Value r = nf->fn(vm, buf, nargs + 1, kw);
    if (buf != small) mem_free(vm, buf, total * sizeof(Value));
    return r;
}

static Value native_bind(EddyVM *vm, NativeFunctionObject *nf, Value self) {
    NativeFunctionObject *b = native_new(vm, nf->name, nf->fn, self, nf->flags);
    if (!b) return VAL_NULL;
    b->owner = nf->owner;
    return v_obj(b);
}

static Value native_descr_get(EddyVM *vm, Value descr, Value obj, TypeObject *owner) {
    NativeFunctionObject *nf = (NativeFunctionObject *)AS_OBJ(descr);
    if (!IS_NULL(nf->self)) return descr;
    if (nf->flags & NATIVE_CLASSMETHOD) {
        Value cls = IS_NULL(obj) ? v_obj(owner) : v_obj(vm_type_of(vm, obj));
        return native_bind(vm, nf, cls);
    }
    if ((nf->flags & NATIVE_METHOD) && !IS_NULL(obj)) return native_bind(vm, nf, obj);
    return descr;
}

static int native_hash(EddyVM *vm, Value self, int64_t *out) {
    NativeFunctionObject *nf = (NativeFunctionObject *)AS_OBJ(self);
    int64_t h = (int64_t)((uintptr_t)nf->fn >> 4);
    if (!IS_NULL(nf->self)) {
        int64_t hs;
        if (vm_hash(vm, nf->self, &hs) < 0) {
            vm_err_clear(vm);
            hs = IS_OBJ(nf->self) ? (int64_t)((uintptr_t)AS_OBJ(nf->self) >> 4) : 0;
        }
        h ^= hs;
    }
    *out = h == -1 ? -2 : h;
    return 0;
}

static Value native_richcompare(EddyVM *vm, Value a, Value b, int op) {
    if ((op != CMP_EQ && op != CMP_NE) || !is_exact(b, vm->t_builtin_function))
        return vm->not_implemented;
    NativeFunctionObject *x = (NativeFunctionObject *)AS_OBJ(a);
    NativeFunctionObject *y = (NativeFunctionObject *)AS_OBJ(b);
    bool eq = x->fn == y->fn && v_is(x->self, y->self);
    return v_bool(op == CMP_EQ ? eq : !eq);
}

#define NATIVE(a) ((NativeFunctionObject *)AS_OBJ((a)[0]))

static Value nf_get_name(EddyVM *vm, Value *a, int n, TupleObject *k) {
    StrObject *s = str_from_cstr(vm, NATIVE(a)->name);
    return s ? v_obj(s) : VAL_NULL;
}
static Value nf_get_qualname(EddyVM *vm, Value *a, int n, TupleObject *k) {
    NativeFunctionObject *nf = NATIVE(a);
    StrObject *s;
    if (nf->owner)
        s = str_format(vm, "%U.%s", nf->owner->qualname, nf->name);
    else
        s = str_from_cstr(vm, nf->name);
    return s ? v_obj(s) : VAL_NULL;
}
static Value nf_get_self(EddyVM *vm, Value *a, int n, TupleObject *k) {
    NativeFunctionObject *nf = NATIVE(a);
    return IS_NULL(nf->self) ? VAL_NONE : nf->self;
}
static Value nf_get_module(EddyVM *vm, Value *a, int n, TupleObject *k) {
    NativeFunctionObject *nf = NATIVE(a);
    if (is_exact(nf->self, vm->t_module)) return v_obj(((ModuleObject *)AS_OBJ(nf->self))->name);
    if (IS_NULL(nf->self) && !nf->owner) return v_obj(vm->names.builtins);
    return VAL_NONE;
}
static Value nf_get_doc(EddyVM *vm, Value *a, int n, TupleObject *k) { return VAL_NONE; }

// ---------------------------------------------------------------------------
// Bound methods

Value bound_method_new(EddyVM *vm, Value func, Value self) {
    BoundMethodObject *m =
        (BoundMethodObject *)obj_alloc(vm, vm->t_method, sizeof(BoundMethodObject));
    if (!m) return VAL_NULL;
    m->func = func;
    m->self = self;
    return v_obj(m);
}

static void method_trace(EddyVM *vm, Obj *self) {
    BoundMethodObject *m = (BoundMethodObject *)self;
    gc_mark_value(vm, m->self);
    gc_mark_value(vm, m->func);
}

static Value method_call(EddyVM *vm, Value self, Value *args, int nargs, TupleObject *kw) {
    BoundMethodObject *m = (BoundMethodObject *)AS_OBJ(self);
    return func_call_with_self(vm, m->func, m->self, args, nargs, kw);
}

static Value method_repr(EddyVM *vm, Value self) {
    BoundMethodObject *m = (BoundMethodObject *)AS_OBJ(self);
    Value name = VAL_NULL;
    if (vm_getattr_opt(vm, m->func, vm->names.__qualname__, &name) < 0) return VAL_NULL;
    if (IS_NULL(name) && vm_getattr_opt(vm, m->func, vm->names.__name__, &name) < 0)
        return VAL_NULL;
    if (vm_push_root(vm, name) < 0) return VAL_NULL;
    StrObject *s;
    if (is_str(vm, name))
        s = str_format(vm, "<bound method %U of %R>", AS_STR(name), m->self);
    else
        s = str_format(vm, "<bound method ? of %R>", m->self);
    vm_pop_roots(vm, 1);
    return s ? v_obj(s) : VAL_NULL;
}

static Value method_richcompare(EddyVM *vm, Value a, Value b, int op) {
    if ((op != CMP_EQ && op != CMP_NE) || !is_exact(b, vm->t_method)) return vm->not_implemented;
    BoundMethodObject *x = (BoundMethodObject *)AS_OBJ(a);
    BoundMethodObject *y = (BoundMethodObject *)AS_OBJ(b);
    int eq = 0;
    if (v_is(x->self, y->self)) {
        eq = vm_eq(vm, x->func, y->func);
        if (eq < 0) return VAL_NULL;
    }
    return v_bool(op == CMP_EQ ? eq : !eq);
}

static int method_hash(EddyVM *vm, Value self, int64_t *out) {
    BoundMethodObject *m = (BoundMethodObject *)AS_OBJ(self);
    int64_t hf;
    if (vm_hash(vm, m->func, &hf) < 0) return -1;
    int64_t hs = IS_OBJ(m->self) ? (int64_t)((uintptr_t)AS_OBJ(m->self) >> 4) : 0;
    int64_t h = hs ^ hf;
    *out = h == -1 ? -2 : h;
    return 0;
}

// Attributes not found on the method itself come from the function
// (m.__name__, m.__doc__, function attributes).
static Value method_getattr(EddyVM *vm, Value self, StrObject *name) {
    BoundMethodObject *m = (BoundMethodObject *)AS_OBJ(self);
    TypeObject *t = OBJ_TYPE(AS_OBJ(self));
    Value d = type_lookup(vm, t, name);
    if (!IS_NULL(d)) {
        TypeObject *dt = vm_type_of(vm, d);
        if (dt->descr_get) return dt->descr_get(vm, d, self, t);
        return d;
    }
    return vm_getattr(vm, m->func, name);
}

static Value method_descr_get(EddyVM *vm, Value descr, Value obj, TypeObject *owner) {
    return descr;
}

#define METHOD(a) ((BoundMethodObject *)AS_OBJ((a)[0]))
static Value m_get_self(EddyVM *vm, Value *a, int n, TupleObject *k) { return METHOD(a)->self; }
static Value m_get_func(EddyVM *vm, Value *a, int n, TupleObject *k) { return METHOD(a)->func; }

// ---------------------------------------------------------------------------
// Cells

CellObject *cell_new(EddyVM *vm, Value v) {
    CellObject *c = (CellObject *)obj_alloc(vm, vm->t_cell, sizeof(CellObject));
    if (!c) return NULL;
    c->value = v;
    return c;
}

static void cell_trace(EddyVM *vm, Obj *self) { gc_mark_value(vm, ((CellObject *)self)->value); }

static Value cell_repr(EddyVM *vm, Value self) {
    CellObject *c = (CellObject *)AS_OBJ(self);
    StrObject *s;
    if (IS_NULL(c->value))
        s = str_format(vm, "<cell at %p: empty>", (void *)c);
    else
        s = str_format(vm, "<cell at %p: %s object at %p>", (void *)c, vm_type_name(vm, c->value),
                       IS_OBJ(c->value) ? (void *)AS_OBJ(c->value) : (void *)&c->value);
    return s ? v_obj(s) : VAL_NULL;
}

static Value cell_get_contents(EddyVM *vm, Value *a, int n, TupleObject *k) {
    CellObject *c = (CellObject *)AS_OBJ(a[0]);
    if (IS_NULL(c->value)) return vm_raise(vm, vm->exc_ValueError, "Cell is empty");
    return c->value;
}
static Value cell_set_contents(EddyVM *vm, Value *a, int n, TupleObject *k) {
    ((CellObject *)AS_OBJ(a[0]))->value = a[1];
    return VAL_NONE;
}

static Value cell_richcompare(EddyVM *vm, Value a, Value b, int op) {
    if (!is_exact(b, vm->t_cell)) return vm->not_implemented;
    Value x = ((CellObject *)AS_OBJ(a))->value, y = ((CellObject *)AS_OBJ(b))->value;
    if (IS_NULL(x) || IS_NULL(y)) {
        int c = IS_NULL(x) ? (IS_NULL(y) ? 0 : -1) : 1;
        static const bool table[6][3] = {{1, 0, 0}, {1, 1, 0}, {0, 1, 0},
                                         {1, 0, 1}, {0, 0, 1}, {0, 1, 1}};
        return v_bool(table[op][c + 1]);
    }
    return vm_compare(vm, x, y, op);
}

// ---------------------------------------------------------------------------

int func_init_types(EddyVM *vm) {
    TypeObject *t = type_new_builtin(vm, vm->t_function, vm->t_object, sizeof(FunctionObject), 0);
    if (!t) return -1;
    t->dict_offset = (int32_t)offsetof(FunctionObject, dict);
    t->trace = function_trace;
    t->repr = function_repr;
    t->call = function_call;
    t->descr_get = function_descr_get;
    if (type_add_property(vm, t, "__name__", f_get_name, f_set_name) < 0 ||
        type_add_property(vm, t, "__qualname__", f_get_qualname, f_set_qualname) < 0 ||
        type_add_property(vm, t, "__module__", f_get_module, f_set_module) < 0 ||
        type_add_property(vm, t, "__doc__", f_get_doc, f_set_doc) < 0 ||
        type_add_property(vm, t, "__defaults__", f_get_defaults, f_set_defaults) < 0 ||
        type_add_property(vm, t, "__kwdefaults__", f_get_kwdefaults, f_set_kwdefaults) < 0 ||
        type_add_getter(vm, t, "__code__", f_get_code) < 0 ||
        type_add_getter(vm, t, "__globals__", f_get_globals) < 0 ||
        type_add_getter(vm, t, "__builtins__", f_get_builtins) < 0 ||
        type_add_getter(vm, t, "__closure__", f_get_closure) < 0 ||
        type_add_property(vm, t, "__annotations__", f_get_annotations, f_set_annotations) < 0)
        return -1;

    t = type_new_builtin(vm, vm->t_builtin_function, vm->t_object, sizeof(NativeFunctionObject), 0);
    if (!t) return -1;
    t->trace = native_trace;
    t->repr = native_repr;
    t->call = native_call;
    t->descr_get = native_descr_get;
    t->hash = native_hash;
    t->richcompare = native_richcompare;
    if (type_add_getter(vm, t, "__name__", nf_get_name) < 0 ||
        type_add_getter(vm, t, "__qualname__", nf_get_qualname) < 0 ||
        type_add_getter(vm, t, "__self__", nf_get_self) < 0 ||
        type_add_getter(vm, t, "__module__", nf_get_module) < 0 ||
        type_add_getter(vm, t, "__doc__", nf_get_doc) < 0)
        return -1;

    t = type_new_builtin(vm, vm->t_method, vm->t_object, sizeof(BoundMethodObject), 0);
    if (!t) return -1;
    t->trace = method_trace;
    t->repr = method_repr;
    t->call = method_call;
    t->richcompare = method_richcompare;
    t->hash = method_hash;
    t->getattr = method_getattr;
    t->descr_get = method_descr_get;
    if (type_add_getter(vm, t, "__self__", m_get_self) < 0 ||
        type_add_getter(vm, t, "__func__", m_get_func) < 0)
        return -1;

    t = type_new_builtin(vm, vm->t_cell, vm->t_object, sizeof(CellObject), 0);
    if (!t) return -1;
    t->trace = cell_trace;
    t->repr = cell_repr;
    t->richcompare = cell_richcompare;
    if (type_add_property(vm, t, "cell_contents", cell_get_contents, cell_set_contents) < 0)
        return -1;
    return 0;
}
