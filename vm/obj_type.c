// obj_type.c - type objects and classes: creation, MRO, slot inheritance,
// the attribute cache, `type` itself, __build_class__, super, property,
// classmethod, staticmethod and the None / NotImplemented / Ellipsis types.
//
// Slots and dunders. C code always goes through a type's slots; script code
// looks dunders up by name. The two views are kept consistent in both
// directions:
// - a builtin type gets a native "slot wrapper" in its dict for every slot
//   it defines (int.__repr__, list.__len__ ...), unless its init function
//   registered that dunder itself, so scripts can call list.__len__(x) or
//   super().__init__() on builtins;
// - a class (heap type) whose MRO defines a dunder in a script class gets a
//   shim slot that looks the dunder up and calls it; otherwise it takes the
//   slot of the builtin type that defines the dunder (fixup_slots()).
//
// The method cache (vm->attr_cache) maps (type version, interned name) to
// the result of an MRO look-up. Versions come from one per-VM counter and are
// never reused, so a stale entry can never match again; type_modified()
// gives a type and all its subclasses fresh versions. Cached values are not
// traced: while a version is current its value is held by a type dict.
#include <string.h>

#include "vm.h"
#include "frame.h"

// ---------------------------------------------------------------------------
// The attribute cache

// One pinned heap block: the entries plus the version counter. It is a GC
// object only so that VM teardown frees it with everything else.
typedef struct AttrCache {
    Obj hdr;
    uint32_t next_version;
    AttrCacheEntry entries[ATTR_CACHE_SIZE];
} AttrCache;

// Set in a type's hdr.obj_flags once some class lists it as a base, so that
// type_modified() only scans the heap for subclasses when there can be some.
#define TYPE_HAS_SUBCLASSES 0x1u
// Set in a class's hdr.obj_flags when its instances have no __dict__: every
// class in its MRO declared __slots__ without "__dict__". Slot values live in
// the (hidden) instance dict, reached only through member descriptors.
#define TYPE_SLOTS_ONLY 0x2u

static AttrCache *cache_block(EddyVM *vm) {
    return (AttrCache *)(void *)((char *)vm->attr_cache - offsetof(AttrCache, entries));
}

// Recompute TYPE_PLAIN_ATTRS (vm.h) for a class whose dict or MRO changed.
// Only script classes get it: their instances are the ones with a __dict__.
static void update_plain_attrs(TypeObject *t) {
    bool plain = (t->flags & TPF_HEAPTYPE) && t->mro;
    for (size_t i = 0; plain && i < t->mro->len; i++) {
        DictObject *d = AS_TYPE(t->mro->items[i])->dict;
        if (!d) continue;
        for (size_t k = 0; k < d->nentries; k++) {
            Value key = d->entries[k].key, v = d->entries[k].value;
            if (!IS_OBJ(v) || !OBJ_TYPE(AS_OBJ(v))->descr_set) continue;
            if (IS_OBJ(key) && (OBJ_TYPE(AS_OBJ(key))->flags & TPF_STR_SUBCLASS)) {
                StrObject *s = AS_STR(key);
                if (s->len >= 2 && s->data[0] == '_' && s->data[1] == '_') continue;
            }
            plain = false;
            break;
        }
    }
    if (plain)
        t->hdr.obj_flags |= TYPE_PLAIN_ATTRS;
    else
        t->hdr.obj_flags &= (uint16_t)~TYPE_PLAIN_ATTRS;
}

static void assign_version(EddyVM *vm, TypeObject *t) {
    update_plain_attrs(t);
    if (!vm->attr_cache) {
        t->version = 0;
        return;
    }
    AttrCache *c = cache_block(vm);
    t->version = c->next_version; // 0 once the counter wrapped: never cached
    if (c->next_version) c->next_version++;
}

static void attr_cache_trace(EddyVM *vm, Obj *self) {}

static Value lookup_uncached(TypeObject *t, StrObject *name) {
    TupleObject *mro = t->mro;
    if (mro) {
        for (size_t i = 0; i < mro->len; i++) {
            DictObject *d = AS_TYPE(mro->items[i])->dict;
            if (!d) continue;
            Value v = dict_get_str(d, name);
            if (!IS_NULL(v)) return v;
        }
        return VAL_NULL;
    }
    for (; t; t = t->base) {
        if (!t->dict) continue;
        Value v = dict_get_str(t->dict, name);
        if (!IS_NULL(v)) return v;
    }
    return VAL_NULL;
}

Value type_lookup(EddyVM *vm, TypeObject *t, StrObject *name) {
    uint32_t ver = t->version;
    if (EDDY_LIKELY(ver && name->interned && vm->attr_cache)) {
        AttrCacheEntry *e = &vm->attr_cache[attr_cache_slot(ver, name)];
        if (e->version == ver && e->name == name) return e->value;
        Value v = lookup_uncached(t, name);
        e->version = ver;
        e->name = name;
        e->value = v;
        return v;
    }
    return lookup_uncached(t, name);
}

// Call fn for every class object whose MRO contains t (t excluded).
static void for_each_subclass(EddyVM *vm, TypeObject *t, void (*fn)(EddyVM *, TypeObject *)) {
    if (!(t->hdr.obj_flags & TYPE_HAS_SUBCLASSES)) return;
    for (size_t i = 0; i < vm->objects_len; i++) {
        Obj *o = vm->objects[i];
        if (o == &t->hdr || !o->type || !(o->type->flags & TPF_TYPE_SUBCLASS)) continue;
        TypeObject *s = (TypeObject *)o;
        if (type_is_subtype(s, t)) fn(vm, s);
    }
}

void type_modified(EddyVM *vm, TypeObject *t) {
    assign_version(vm, t);
    for_each_subclass(vm, t, assign_version);
}

// ---------------------------------------------------------------------------
// Small helpers

static bool is_dunder(StrObject *s) {
    return s->len > 4 && s->data[0] == '_' && s->data[1] == '_' && s->data[s->len - 1] == '_' &&
           s->data[s->len - 2] == '_';
}

static Value str_value(EddyVM *vm, const char *s) {
    StrObject *o = str_intern_cstr(vm, s);
    return o ? v_obj(o) : VAL_NULL;
}

static Value type_module_value(EddyVM *vm, TypeObject *t) {
    if ((t->flags & TPF_HEAPTYPE) && t->dict) {
        Value m = dict_get_str(t->dict, vm->names.__module__);
        if (!IS_NULL(m)) return m;
    }
    return v_obj(t->module ? t->module : vm->names.builtins);
}

// ---------------------------------------------------------------------------
// Descriptors created from C: native property (type_add_getter/property)

typedef struct PropertyObject {
    Obj hdr;
    Value fget, fset, fdel, doc; // V_NONE when absent
    StrObject *name;             // from __set_name__ or the C registration; may be NULL
} PropertyObject;

// classmethod and staticmethod share one layout: a wrapped callable.
typedef struct StaticMethodObject {
    Obj hdr;
    Value func;
    DictObject *dict;
} StaticMethodObject;

static PropertyObject *property_alloc(EddyVM *vm, TypeObject *t) {
    PropertyObject *p = (PropertyObject *)obj_alloc(
        vm, t,
        t->instance_size > sizeof(PropertyObject) ? t->instance_size : sizeof(PropertyObject));
    if (!p) return NULL;
    p->fget = p->fset = p->fdel = p->doc = VAL_NONE;
    return p;
}

int type_add_property(EddyVM *vm, TypeObject *t, const char *name, NativeFn getter,
                      NativeFn setter) {
    return type_add_property_del(vm, t, name, getter, setter, NULL);
}

int type_add_property_del(EddyVM *vm, TypeObject *t, const char *name, NativeFn getter,
                          NativeFn setter, NativeFn deleter) {
    StrObject *key = str_intern_cstr(vm, name);
    if (!key) return -1;
    PropertyObject *p = property_alloc(vm, vm->t_property);
    if (!p) return -1;
    p->name = key;
    NativeFunctionObject *g = native_new(vm, name, getter, VAL_NULL, 0);
    if (!g) return -1;
    p->fget = v_obj(g);
    if (setter) {
        NativeFunctionObject *s = native_new(vm, name, setter, VAL_NULL, 0);
        if (!s) return -1;
        p->fset = v_obj(s);
    }
    if (deleter) {
        NativeFunctionObject *d = native_new(vm, name, deleter, VAL_NULL, 0);
        if (!d) return -1;
        p->fdel = v_obj(d);
    }
    if (dict_set_str(vm, t->dict, key, v_obj(p)) < 0) return -1;
    if (t->mro) type_modified(vm, t);
    return 0;
}

int type_add_getter(EddyVM *vm, TypeObject *t, const char *name, NativeFn getter) {
    return type_add_property(vm, t, name, getter, NULL);
}

int type_add_method(EddyVM *vm, TypeObject *t, const char *name, NativeFn fn, uint32_t flags) {
    StrObject *key = str_intern_cstr(vm, name);
    if (!key) return -1;
    NativeFunctionObject *nf = native_new(vm, name, fn, VAL_NULL, flags);
    if (!nf) return -1;
    nf->owner = t;
    if (dict_set_str(vm, t->dict, key, v_obj(nf)) < 0) return -1;
    if (t->mro) type_modified(vm, t);
    return 0;
}

// ---------------------------------------------------------------------------
// Type creation for builtins

TypeObject *type_new_builtin(EddyVM *vm, TypeObject *t, TypeObject *base, size_t instance_size,
                             uint32_t flags) {
    if (!t->dict && !(t->dict = dict_new(vm))) return NULL;
    t->base = base;
    t->flags |= flags;
    t->instance_size = (uint32_t)instance_size;
    if (!t->layout)
        t->layout =
            base && instance_size == base->instance_size && base != vm->t_object ? base->layout : t;
    if (!t->module) t->module = vm->names.builtins;
    return t;
}

// C3 linearisation. Returns a new tuple starting with t, or NULL with
// TypeError (CPython's message, listing the bases whose order conflicts).
static TupleObject *compute_mro(EddyVM *vm, TypeObject *t) {
    TupleObject *bases = t->bases;
    size_t nb = bases ? bases->len : 0;
    if (nb == 0) return tuple_from(vm, (Value[]){v_obj(t)}, 1);
    if (nb == 1) {
        TupleObject *bm = AS_TYPE(bases->items[0])->mro;
        if (!bm) return NULL;
        TupleObject *r = tuple_new(vm, bm->len + 1);
        if (!r) return NULL;
        r->items[0] = v_obj(t);
        memcpy(r->items + 1, bm->items, bm->len * sizeof(Value));
        return r;
    }
    // Sequences to merge: each base's MRO, then the list of bases.
    size_t nseq = nb + 1, total = 1;
    for (size_t i = 0; i < nb; i++) total += AS_TYPE(bases->items[i])->mro->len;
    Value *out = mem_alloc(vm, (total + nb) * sizeof(Value));
    size_t *pos = mem_alloc(vm, nseq * sizeof(size_t));
    TupleObject *result = NULL;
    if (!out || !pos) goto fail;
    memset(pos, 0, nseq * sizeof(size_t));
    size_t n = 0;
    out[n++] = v_obj(t);
#define SEQ_LEN(i) ((i) < nb ? AS_TYPE(bases->items[i])->mro->len : nb)
#define SEQ_AT(i, j) ((i) < nb ? AS_TYPE(bases->items[i])->mro->items[j] : bases->items[j])
    for (;;) {
        bool empty = true;
        Value cand = VAL_NULL;
        for (size_t i = 0; i < nseq; i++) {
            if (pos[i] >= SEQ_LEN(i)) continue;
            empty = false;
            Value c = SEQ_AT(i, pos[i]);
            // c is a good head if it is in no other sequence's tail.
            bool in_tail = false;
            for (size_t k = 0; k < nseq && !in_tail; k++)
                for (size_t j = pos[k] + 1; j < SEQ_LEN(k); j++)
                    if (AS_OBJ(SEQ_AT(k, j)) == AS_OBJ(c)) {
                        in_tail = true;
                        break;
                    }
            if (!in_tail) {
                cand = c;
                break;
            }
        }
        if (empty) break;
        if (IS_NULL(cand)) {
            // Conflict: name the remaining heads of the bases list, in order.
            StrBuf b;
            strbuf_init(vm, &b);
            strbuf_append_cstr(
                &b, "Cannot create a consistent method resolution\norder (MRO) for bases");
            bool first = true;
            for (size_t i = 0; i < nb; i++) {
                if (pos[i] >= SEQ_LEN(i)) continue;
                TypeObject *h = AS_TYPE(SEQ_AT(i, pos[i]));
                bool dup = false;
                for (size_t k = 0; k < i; k++)
                    if (pos[k] < SEQ_LEN(k) && AS_OBJ(SEQ_AT(k, pos[k])) == &h->hdr) dup = true;
                if (dup) continue;
                strbuf_append_cstr(&b, first ? " " : ", ");
                strbuf_append_str(&b, h->name);
                first = false;
            }
            StrObject *msg = strbuf_finish(&b);
            if (msg) vm_raise(vm, vm->exc_TypeError, "%U", msg);
            goto fail;
        }
        out[n++] = cand;
        for (size_t i = 0; i < nseq; i++)
            if (pos[i] < SEQ_LEN(i) && AS_OBJ(SEQ_AT(i, pos[i])) == AS_OBJ(cand)) pos[i]++;
    }
#undef SEQ_LEN
#undef SEQ_AT
    result = tuple_from(vm, out, n);
fail:
    if (out) mem_free(vm, out, (total + nb) * sizeof(Value));
    if (pos) mem_free(vm, pos, nseq * sizeof(size_t));
    return result;
}

// ---------------------------------------------------------------------------
// Slot wrappers: natives that expose a builtin type's slots as dunders.
// A wrapper cannot know which type registered it (NativeFn has no closure),
// so it runs the slot of the first builtin type in the receiver's MRO that
// has one: exactly right for super() calls from classes and for calls like
// list.__len__(x); approximate only for odd calls such as int.__repr__(True).

typedef void (*AnyFn)(void);

static AnyFn builtin_slot(EddyVM *vm, TypeObject *t, size_t off) {
    TupleObject *mro = t->mro;
    size_t n = mro ? mro->len : 0;
    for (size_t i = 0; i < n || (!mro && t); i++) {
        TypeObject *m = mro ? AS_TYPE(mro->items[i]) : t;
        if (!mro) t = t->base;
        if (m->flags & TPF_HEAPTYPE) continue;
        AnyFn f;
        memcpy(&f, (char *)m + off, sizeof f);
        if (f) return f;
    }
    return NULL;
}

#define BUILTIN_SLOT(vm, t, field)                                                                 \
    ((__typeof__(((TypeObject *)0)->field))builtin_slot(vm, t, offsetof(TypeObject, field)))

static int wrap_check(EddyVM *vm, const char *name, int nargs, TupleObject *kw, int want) {
    if (kw && kw->len) {
        vm_raise(vm, vm->exc_TypeError, "wrapper %s() takes no keyword arguments", name);
        return -1;
    }
    if (nargs < 1) {
        vm_raise(vm, vm->exc_TypeError, "descriptor '%s' needs an argument", name);
        return -1;
    }
    if (nargs != want) {
        vm_raise(vm, vm->exc_TypeError, "expected %d argument%s, got %d", want - 1,
                 want - 1 == 1 ? "" : "s", nargs - 1);
        return -1;
    }
    return 0;
}

static Value slot_missing(EddyVM *vm, const char *name, Value self) {
    return vm_raise(vm, vm->exc_TypeError, "'%s' object has no slot for %s", vm_type_name(vm, self),
                    name);
}

#define SELF_TYPE(v) vm_type_of(vm, (v))

static Value w_repr(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__repr__", n, k, 1) < 0) return VAL_NULL;
    Value (*f)(EddyVM *, Value) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), repr);
    return f ? f(vm, a[0]) : slot_missing(vm, "__repr__", a[0]);
}
static Value w_str(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__str__", n, k, 1) < 0) return VAL_NULL;
    Value (*f)(EddyVM *, Value) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), str);
    if (!f) return vm_repr(vm, a[0]);
    return f(vm, a[0]);
}
static Value w_hash(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__hash__", n, k, 1) < 0) return VAL_NULL;
    int (*f)(EddyVM *, Value, int64_t *) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), hash);
    if (!f) return vm_raise(vm, vm->exc_TypeError, "unhashable type: '%s'", vm_type_name(vm, a[0]));
    int64_t h;
    if (f(vm, a[0], &h) < 0) return VAL_NULL;
    return v_int(h);
}
static Value w_rich(EddyVM *vm, Value *a, int n, TupleObject *k, int op, const char *name) {
    if (wrap_check(vm, name, n, k, 2) < 0) return VAL_NULL;
    Value (*f)(EddyVM *, Value, Value, int) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), richcompare);
    if (!f) return vm->not_implemented;
    return f(vm, a[0], a[1], op);
}
static Value w_lt(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return w_rich(vm, a, n, k, CMP_LT, "__lt__");
}
static Value w_le(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return w_rich(vm, a, n, k, CMP_LE, "__le__");
}
static Value w_eq(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return w_rich(vm, a, n, k, CMP_EQ, "__eq__");
}
static Value w_ne(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return w_rich(vm, a, n, k, CMP_NE, "__ne__");
}
static Value w_gt(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return w_rich(vm, a, n, k, CMP_GT, "__gt__");
}
static Value w_ge(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return w_rich(vm, a, n, k, CMP_GE, "__ge__");
}
static Value w_bool(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__bool__", n, k, 1) < 0) return VAL_NULL;
    int (*f)(EddyVM *, Value) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), truthy);
    if (!f) return slot_missing(vm, "__bool__", a[0]);
    int r = f(vm, a[0]);
    return r < 0 ? VAL_NULL : v_bool(r);
}
static Value w_getattribute(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__getattribute__", n, k, 2) < 0) return VAL_NULL;
    if (!is_str(vm, a[1]))
        return vm_raise(vm, vm->exc_TypeError, "attribute name must be string, not '%s'",
                        vm_type_name(vm, a[1]));
    Value (*f)(EddyVM *, Value, StrObject *) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), getattr);
    if (!f) f = object_generic_getattr;
    return f(vm, a[0], AS_STR(a[1]));
}
static Value setattr_common(EddyVM *vm, Value self, Value name, Value v) {
    if (!is_str(vm, name))
        return vm_raise(vm, vm->exc_TypeError, "attribute name must be string, not '%s'",
                        vm_type_name(vm, name));
    int (*f)(EddyVM *, Value, StrObject *, Value) = BUILTIN_SLOT(vm, SELF_TYPE(self), setattr);
    if (!f) f = object_generic_setattr;
    StrObject *s = str_intern_obj(vm, AS_STR(name));
    if (!s) return VAL_NULL;
    return f(vm, self, s, v) < 0 ? VAL_NULL : VAL_NONE;
}
static Value w_setattr(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__setattr__", n, k, 3) < 0) return VAL_NULL;
    return setattr_common(vm, a[0], a[1], a[2]);
}
static Value w_delattr(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__delattr__", n, k, 2) < 0) return VAL_NULL;
    return setattr_common(vm, a[0], a[1], VAL_NULL);
}
static Value w_call(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n < 1) return vm_raise(vm, vm->exc_TypeError, "descriptor '__call__' needs an argument");
    Value (*f)(EddyVM *, Value, Value *, int, TupleObject *) =
        BUILTIN_SLOT(vm, SELF_TYPE(a[0]), call);
    if (!f)
        return vm_raise(vm, vm->exc_TypeError, "'%s' object is not callable",
                        vm_type_name(vm, a[0]));
    return f(vm, a[0], a + 1, n - 1, k);
}
static Value w_iter(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__iter__", n, k, 1) < 0) return VAL_NULL;
    Value (*f)(EddyVM *, Value) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), iter);
    return f ? f(vm, a[0]) : slot_missing(vm, "__iter__", a[0]);
}
static Value w_next(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__next__", n, k, 1) < 0) return VAL_NULL;
    int (*f)(EddyVM *, Value, Value *) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), next);
    if (!f) return slot_missing(vm, "__next__", a[0]);
    Value out = VAL_NULL;
    int r = f(vm, a[0], &out);
    if (r < 0) return VAL_NULL;
    if (r == 0) return vm_raise_value(vm, v_obj(vm->exc_StopIteration));
    return out;
}
static Value w_len(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__len__", n, k, 1) < 0) return VAL_NULL;
    int64_t (*f)(EddyVM *, Value) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), len);
    if (!f) return slot_missing(vm, "__len__", a[0]);
    int64_t r = f(vm, a[0]);
    return r < 0 ? VAL_NULL : v_int(r);
}
static Value w_getitem(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__getitem__", n, k, 2) < 0) return VAL_NULL;
    Value (*f)(EddyVM *, Value, Value) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), getitem);
    return f ? f(vm, a[0], a[1]) : slot_missing(vm, "__getitem__", a[0]);
}
static Value w_setitem(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__setitem__", n, k, 3) < 0) return VAL_NULL;
    int (*f)(EddyVM *, Value, Value, Value) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), setitem);
    if (!f) return slot_missing(vm, "__setitem__", a[0]);
    return f(vm, a[0], a[1], a[2]) < 0 ? VAL_NULL : VAL_NONE;
}
static Value w_delitem(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__delitem__", n, k, 2) < 0) return VAL_NULL;
    int (*f)(EddyVM *, Value, Value, Value) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), setitem);
    if (!f) return slot_missing(vm, "__delitem__", a[0]);
    return f(vm, a[0], a[1], VAL_NULL) < 0 ? VAL_NULL : VAL_NONE;
}
static Value w_contains(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__contains__", n, k, 2) < 0) return VAL_NULL;
    int (*f)(EddyVM *, Value, Value) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), contains);
    int r = f ? f(vm, a[0], a[1]) : vm_contains(vm, a[0], a[1]);
    return r < 0 ? VAL_NULL : v_bool(r);
}
static Value w_get(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n == 2) {
        Value b[3] = {a[0], a[1], VAL_NONE};
        return w_get(vm, b, 3, k);
    }
    if (wrap_check(vm, "__get__", n, k, 3) < 0) return VAL_NULL;
    Value (*f)(EddyVM *, Value, Value, TypeObject *) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), descr_get);
    if (!f) return slot_missing(vm, "__get__", a[0]);
    if (IS_NONE(a[1]) && IS_NONE(a[2]))
        return vm_raise(vm, vm->exc_TypeError, "__get__(None, None) is invalid");
    TypeObject *owner = is_type(vm, a[2]) ? AS_TYPE(a[2]) : vm_type_of(vm, a[1]);
    return f(vm, a[0], IS_NONE(a[1]) ? VAL_NULL : a[1], owner);
}
static Value w_set(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__set__", n, k, 3) < 0) return VAL_NULL;
    int (*f)(EddyVM *, Value, Value, Value) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), descr_set);
    if (!f) return slot_missing(vm, "__set__", a[0]);
    return f(vm, a[0], a[1], a[2]) < 0 ? VAL_NULL : VAL_NONE;
}
static Value w_delete(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (wrap_check(vm, "__delete__", n, k, 2) < 0) return VAL_NULL;
    int (*f)(EddyVM *, Value, Value, Value) = BUILTIN_SLOT(vm, SELF_TYPE(a[0]), descr_set);
    if (!f) return slot_missing(vm, "__delete__", a[0]);
    return f(vm, a[0], a[1], VAL_NULL) < 0 ? VAL_NULL : VAL_NONE;
}
// __new__ is a static method: args[0] is the class to instantiate.
static Value w_new(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n < 1) return vm_raise(vm, vm->exc_TypeError, "__new__(): not enough arguments");
    if (!is_type(vm, a[0]))
        return vm_raise(vm, vm->exc_TypeError, "__new__(X): X is not a type object (%s)",
                        vm_type_name(vm, a[0]));
    TypeObject *t = AS_TYPE(a[0]);
    Value (*f)(EddyVM *, TypeObject *, Value *, int, TupleObject *) = BUILTIN_SLOT(vm, t, new_);
    if (!f) return vm_raise(vm, vm->exc_TypeError, "cannot create '%U' instances", t->name);
    return f(vm, t, a + 1, n - 1, k);
}

typedef struct SlotWrapper {
    size_t offset;
    const char *name;
    NativeFn fn;
    uint32_t flags;
} SlotWrapper;

#define SW(field, name, fn)                                                                        \
    { offsetof(TypeObject, field), name, fn, NATIVE_METHOD }
static const SlotWrapper slot_wrappers[] = {
    SW(repr, "__repr__", w_repr),
    SW(str, "__str__", w_str),
    SW(hash, "__hash__", w_hash),
    SW(richcompare, "__lt__", w_lt),
    SW(richcompare, "__le__", w_le),
    SW(richcompare, "__eq__", w_eq),
    SW(richcompare, "__ne__", w_ne),
    SW(richcompare, "__gt__", w_gt),
    SW(richcompare, "__ge__", w_ge),
    SW(truthy, "__bool__", w_bool),
    SW(getattr, "__getattribute__", w_getattribute),
    SW(setattr, "__setattr__", w_setattr),
    SW(setattr, "__delattr__", w_delattr),
    SW(call, "__call__", w_call),
    SW(iter, "__iter__", w_iter),
    SW(next, "__next__", w_next),
    SW(len, "__len__", w_len),
    SW(getitem, "__getitem__", w_getitem),
    SW(setitem, "__setitem__", w_setitem),
    SW(setitem, "__delitem__", w_delitem),
    SW(contains, "__contains__", w_contains),
    SW(descr_get, "__get__", w_get),
    SW(descr_set, "__set__", w_set),
    SW(descr_set, "__delete__", w_delete),
    {offsetof(TypeObject, new_), "__new__", w_new, NATIVE_STATIC},
};
#undef SW

static int add_slot_wrappers(EddyVM *vm, TypeObject *t) {
    for (size_t i = 0; i < sizeof(slot_wrappers) / sizeof(slot_wrappers[0]); i++) {
        const SlotWrapper *w = &slot_wrappers[i];
        AnyFn mine, inherited = NULL;
        memcpy(&mine, (char *)t + w->offset, sizeof mine);
        if (!mine) continue;
        if (t->base) memcpy(&inherited, (char *)t->base + w->offset, sizeof inherited);
        if (mine == inherited) continue;
        StrObject *key = str_intern_cstr(vm, w->name);
        if (!key) return -1;
        if (!IS_NULL(dict_get_str(t->dict, key))) continue;
        NativeFunctionObject *nf = native_new(vm, w->name, w->fn, VAL_NULL, w->flags);
        if (!nf) return -1;
        nf->owner = t;
        if (dict_set_str(vm, t->dict, key, v_obj(nf)) < 0) return -1;
    }
    return 0;
}

// ---------------------------------------------------------------------------
// Shim slots: C entry points that run the dunders of script classes.

static Value lookup_dunder(EddyVM *vm, Value self, StrObject *name) {
    Value f = type_lookup(vm, vm_type_of(vm, self), name);
    return IS_NONE(f) ? VAL_NULL : f;
}

static Value call_dunder0(EddyVM *vm, Value self, StrObject *name) {
    Value f = lookup_dunder(vm, self, name);
    if (IS_NULL(f))
        return vm_raise(vm, vm->exc_AttributeError, "'%s' object has no attribute '%U'",
                        vm_type_name(vm, self), name);
    return vm_call_special(vm, f, self, NULL, 0, NULL);
}

static Value call_dunder1(EddyVM *vm, Value self, StrObject *name, Value a) {
    Value f = lookup_dunder(vm, self, name);
    if (IS_NULL(f))
        return vm_raise(vm, vm->exc_AttributeError, "'%s' object has no attribute '%U'",
                        vm_type_name(vm, self), name);
    return vm_call_special(vm, f, self, &a, 1, NULL);
}

static Value shim_repr(EddyVM *vm, Value self) {
    return call_dunder0(vm, self, vm->names.__repr__);
}
static Value shim_str(EddyVM *vm, Value self) { return call_dunder0(vm, self, vm->names.__str__); }

static int shim_hash(EddyVM *vm, Value self, int64_t *out) {
    Value f = lookup_dunder(vm, self, vm->names.__hash__);
    if (IS_NULL(f)) {
        vm_raise(vm, vm->exc_TypeError, "unhashable type: '%s'", vm_type_name(vm, self));
        return -1;
    }
    Value r = vm_call_special(vm, f, self, NULL, 0, NULL);
    if (IS_NULL(r)) return -1;
    if (IS_INT(r)) {
        *out = AS_INT(r) == -1 ? -2 : AS_INT(r);
        return 0;
    }
    if (IS_BOOL(r)) {
        *out = AS_BOOL(r);
        return 0;
    }
    if (!is_int(vm, r)) {
        vm_raise(vm, vm->exc_TypeError, "__hash__ method should return an integer");
        return -1;
    }
    int64_t h = int_hash(r);
    *out = h == -1 ? -2 : h;
    return 0;
}

static StrObject *cmp_name(EddyVM *vm, int op) {
    switch (op) {
    case CMP_LT: return vm->names.__lt__;
    case CMP_LE: return vm->names.__le__;
    case CMP_EQ: return vm->names.__eq__;
    case CMP_NE: return vm->names.__ne__;
    case CMP_GT: return vm->names.__gt__;
    default: return vm->names.__ge__;
    }
}

static Value shim_richcompare(EddyVM *vm, Value a, Value b, int op) {
    Value f = lookup_dunder(vm, a, cmp_name(vm, op));
    if (IS_NULL(f)) return vm->not_implemented;
    return vm_call_special(vm, f, a, &b, 1, NULL);
}

static int shim_truthy(EddyVM *vm, Value self) {
    Value r = call_dunder0(vm, self, vm->names.__bool__);
    if (IS_NULL(r)) return -1;
    if (!IS_BOOL(r)) {
        vm_raise(vm, vm->exc_TypeError, "__bool__ should return bool, returned %s",
                 vm_type_name(vm, r));
        return -1;
    }
    return AS_BOOL(r);
}

static Value shim_getattr(EddyVM *vm, Value self, StrObject *name) {
    TypeObject *t = vm_type_of(vm, self);
    Value namev = v_obj(name);
    Value ga = type_lookup(vm, t, vm->names.__getattribute__);
    Value r;
    if (is_exact(ga, vm->t_builtin_function) &&
        ((NativeFunctionObject *)AS_OBJ(ga))->owner == vm->t_object) {
        r = object_generic_getattr(vm, self, name);
    } else if (IS_NULL(ga) || IS_NONE(ga)) {
        r = object_generic_getattr(vm, self, name);
    } else {
        r = vm_call_special(vm, ga, self, &namev, 1, NULL);
    }
    if (!IS_NULL(r)) return r;
    Value g = type_lookup(vm, t, vm->names.__getattr__);
    if (IS_NULL(g) || IS_NONE(g) || !vm_err_matches(vm, vm->exc_AttributeError)) return VAL_NULL;
    vm_err_clear(vm);
    return vm_call_special(vm, g, self, &namev, 1, NULL);
}

static int shim_setattr(EddyVM *vm, Value self, StrObject *name, Value v) {
    Value r;
    if (IS_NULL(v))
        r = call_dunder1(vm, self, vm->names.__delattr__, v_obj(name));
    else {
        Value f = lookup_dunder(vm, self, vm->names.__setattr__);
        if (IS_NULL(f)) return object_generic_setattr(vm, self, name, v);
        Value args[2] = {v_obj(name), v};
        r = vm_call_special(vm, f, self, args, 2, NULL);
    }
    return IS_NULL(r) ? -1 : 0;
}

static Value shim_call(EddyVM *vm, Value self, Value *args, int nargs, TupleObject *kw) {
    Value f = lookup_dunder(vm, self, vm->names.__call__);
    if (IS_NULL(f))
        return vm_raise(vm, vm->exc_TypeError, "'%s' object is not callable",
                        vm_type_name(vm, self));
    return vm_call_special(vm, f, self, args, nargs, kw);
}

static Value shim_iter(EddyVM *vm, Value self) {
    // `__iter__ = None` disables iteration, even the __getitem__ fallback.
    if (IS_NULL(lookup_dunder(vm, self, vm->names.__iter__)))
        return vm_raise(vm, vm->exc_TypeError, "'%s' object is not iterable",
                        vm_type_name(vm, self));
    return call_dunder0(vm, self, vm->names.__iter__);
}

static int shim_next(EddyVM *vm, Value self, Value *out) {
    Value r = call_dunder0(vm, self, vm->names.__next__);
    if (!IS_NULL(r)) {
        *out = r;
        return 1;
    }
    if (vm_err_matches(vm, vm->exc_StopIteration)) {
        vm_err_clear(vm);
        return 0;
    }
    return -1;
}

static int64_t shim_len(EddyVM *vm, Value self) {
    Value r = call_dunder0(vm, self, vm->names.__len__);
    if (IS_NULL(r)) return -1;
    if (vm_push_root(vm, r) < 0) return -1;
    Value i = vm_index(vm, r);
    vm_pop_roots(vm, 1);
    if (IS_NULL(i)) return -1;
    if (!IS_INT(i) && !IS_BOOL(i)) {
        if (int_sign(i) < 0) {
            vm_raise(vm, vm->exc_ValueError, "__len__() should return >= 0");
            return -1;
        }
        vm_raise(vm, vm->exc_OverflowError, "cannot fit 'int' into an index-sized integer");
        return -1;
    }
    int64_t n = IS_BOOL(i) ? AS_BOOL(i) : AS_INT(i);
    if (n < 0) {
        vm_raise(vm, vm->exc_ValueError, "__len__() should return >= 0");
        return -1;
    }
    return n;
}

static Value shim_getitem(EddyVM *vm, Value self, Value key) {
    return call_dunder1(vm, self, vm->names.__getitem__, key);
}

static int shim_setitem(EddyVM *vm, Value self, Value key, Value v) {
    Value r;
    if (IS_NULL(v))
        r = call_dunder1(vm, self, vm->names.__delitem__, key);
    else {
        Value f = lookup_dunder(vm, self, vm->names.__setitem__);
        if (IS_NULL(f)) {
            vm_raise(vm, vm->exc_TypeError, "'%s' object does not support item assignment",
                     vm_type_name(vm, self));
            return -1;
        }
        Value args[2] = {key, v};
        r = vm_call_special(vm, f, self, args, 2, NULL);
    }
    return IS_NULL(r) ? -1 : 0;
}

static int shim_contains(EddyVM *vm, Value self, Value item) {
    Value r = call_dunder1(vm, self, vm->names.__contains__, item);
    if (IS_NULL(r)) return -1;
    return vm_truthy(vm, r);
}

static Value shim_descr_get(EddyVM *vm, Value descr, Value obj, TypeObject *owner) {
    Value f = lookup_dunder(vm, descr, vm->names.__get__);
    if (IS_NULL(f)) return descr;
    Value args[2] = {IS_NULL(obj) ? VAL_NONE : obj, owner ? v_obj(owner) : VAL_NONE};
    return vm_call_special(vm, f, descr, args, 2, NULL);
}

static int shim_descr_set(EddyVM *vm, Value descr, Value obj, Value v) {
    Value r;
    if (IS_NULL(v)) {
        Value f = lookup_dunder(vm, descr, vm->names.__delete__);
        if (IS_NULL(f)) {
            vm_raise(vm, vm->exc_AttributeError, "__delete__");
            return -1;
        }
        r = vm_call_special(vm, f, descr, &obj, 1, NULL);
    } else {
        Value f = lookup_dunder(vm, descr, vm->names.__set__);
        if (IS_NULL(f)) {
            vm_raise(vm, vm->exc_AttributeError, "__set__");
            return -1;
        }
        Value args[2] = {obj, v};
        r = vm_call_special(vm, f, descr, args, 2, NULL);
    }
    return IS_NULL(r) ? -1 : 0;
}

static Value shim_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    Value f = type_lookup(vm, t, vm->names.__new__);
    if (IS_NULL(f) || IS_NONE(f))
        return vm_raise(vm, vm->exc_TypeError, "cannot create '%U' instances", t->name);
    if (type_is_subtype(vm_type_of(vm, f), vm->t_staticmethod))
        f = ((StaticMethodObject *)AS_OBJ(f))->func;
    return func_call_with_self(vm, f, v_obj(t), args, nargs, kw);
}

// Where along t's MRO is `name` defined? 0 absent, 1 in a class (heap type),
// 2 in a class as None (protocol explicitly disabled), 3 in a builtin type
// (*owner is set).
enum { SRC_ABSENT, SRC_HEAP, SRC_NONE, SRC_BUILTIN };

static int slot_source(TypeObject *t, StrObject *name, TypeObject **owner) {
    TupleObject *mro = t->mro;
    for (size_t i = 0; mro && i < mro->len; i++) {
        TypeObject *m = AS_TYPE(mro->items[i]);
        Value v = m->dict ? dict_get_str(m->dict, name) : VAL_NULL;
        if (IS_NULL(v)) continue;
        if (m->flags & TPF_HEAPTYPE) return IS_NONE(v) ? SRC_NONE : SRC_HEAP;
        *owner = m;
        return SRC_BUILTIN;
    }
    return SRC_ABSENT;
}

// Pick one slot: the shim when a class defines the dunder, else the slot of
// the builtin type that defines it.
#define FIX1(field, dunder, shim)                                                                  \
    do {                                                                                           \
        TypeObject *o_ = NULL;                                                                     \
        switch (slot_source(t, vm->names.dunder, &o_)) {                                           \
        case SRC_HEAP: t->field = shim; break;                                                     \
        case SRC_BUILTIN: t->field = o_->field ? o_->field : shim; break;                          \
        default: t->field = NULL; break;                                                           \
        }                                                                                          \
    } while (0)

// A slot served by two dunders (set/delete): a shim if either is defined by
// a class, else the builtin slot found through the first.
#define FIX2(field, d1, d2, shim)                                                                  \
    do {                                                                                           \
        TypeObject *o1_ = NULL, *o2_ = NULL;                                                       \
        int s1_ = slot_source(t, vm->names.d1, &o1_), s2_ = slot_source(t, vm->names.d2, &o2_);    \
        if (s1_ == SRC_HEAP || s2_ == SRC_HEAP)                                                    \
            t->field = shim;                                                                       \
        else if (s1_ == SRC_BUILTIN && o1_->field)                                                 \
            t->field = o1_->field;                                                                 \
        else if (s2_ == SRC_BUILTIN && o2_->field)                                                 \
            t->field = o2_->field;                                                                 \
        else                                                                                       \
            t->field = NULL;                                                                       \
    } while (0)

static void fixup_slots(EddyVM *vm, TypeObject *t) {
    FIX1(repr, __repr__, shim_repr);
    FIX1(str, __str__, shim_str);
    FIX1(hash, __hash__, shim_hash);
    FIX1(truthy, __bool__, shim_truthy);
    FIX1(call, __call__, shim_call);
    FIX1(iter, __iter__, shim_iter);
    if (!t->iter && slot_source(t, vm->names.__iter__, &(TypeObject *){NULL}) == SRC_NONE)
        t->iter = shim_iter; // raises "not iterable" instead of falling back to __getitem__
    FIX1(next, __next__, shim_next);
    FIX1(len, __len__, shim_len);
    FIX1(getitem, __getitem__, shim_getitem);
    FIX1(contains, __contains__, shim_contains);
    FIX1(descr_get, __get__, shim_descr_get);
    FIX1(new_, __new__, shim_new);
    FIX2(setattr, __setattr__, __delattr__, shim_setattr);
    FIX2(setitem, __setitem__, __delitem__, shim_setitem);
    FIX2(descr_set, __set__, __delete__, shim_descr_set);
    FIX2(getattr, __getattribute__, __getattr__, shim_getattr);
    // Rich comparison: one slot, six dunders.
    StrObject *const cmp[6] = {vm->names.__lt__, vm->names.__le__, vm->names.__eq__,
                               vm->names.__ne__, vm->names.__gt__, vm->names.__ge__};
    TypeObject *owner = NULL;
    bool heap = false;
    for (int i = 0; i < 6; i++) {
        TypeObject *o = NULL;
        int s = slot_source(t, cmp[i], &o);
        if (s == SRC_HEAP)
            heap = true;
        else if (s == SRC_BUILTIN && !owner && o->richcompare)
            owner = o;
    }
    t->richcompare = heap ? shim_richcompare : owner ? owner->richcompare : NULL;
    // object's __getattribute__ with a class-defined __getattr__ still needs the shim
    if (t->getattr == NULL) t->getattr = object_generic_getattr;
    if (t->setattr == NULL) t->setattr = object_generic_setattr;
}

#undef FIX1
#undef FIX2

// ---------------------------------------------------------------------------
// type_ready

int type_ready(EddyVM *vm, TypeObject *t) {
    if (t->mro) return 0;
    if (!t->dict && !(t->dict = dict_new(vm))) return -1;
    if (!t->base && t != vm->t_object) t->base = vm->t_object;
    if (!t->bases) {
        t->bases = t->base ? tuple_from(vm, (Value[]){v_obj(t->base)}, 1) : vm->empty_tuple;
        if (!t->bases) return -1;
    }
    for (size_t i = 0; i < t->bases->len; i++) {
        TypeObject *b = AS_TYPE(t->bases->items[i]);
        if (!b->mro && type_ready(vm, b) < 0) return -1;
        b->hdr.obj_flags |= TYPE_HAS_SUBCLASSES;
        t->flags |= b->flags &
                    (TPF_INT_SUBCLASS | TPF_STR_SUBCLASS | TPF_TUPLE_SUBCLASS | TPF_LIST_SUBCLASS |
                     TPF_DICT_SUBCLASS | TPF_EXC_SUBCLASS | TPF_TYPE_SUBCLASS);
    }
    TupleObject *mro = compute_mro(vm, t);
    if (!mro) return -1;
    t->mro = mro;
    if (!t->module) t->module = vm->names.builtins;
    if (!t->qualname) t->qualname = t->name;
    if (!t->layout) t->layout = t->base ? t->base->layout : t;

    TypeObject *b = t->base;
    if (t->flags & TPF_HEAPTYPE) {
        fixup_slots(vm, t);
    } else {
        if (add_slot_wrappers(vm, t) < 0) return -1;
        if (b) {
            // Builtins inherit what they leave NULL from their base.
#define INHERIT(f)                                                                                 \
    if (!t->f) t->f = b->f
            INHERIT(trace);
            INHERIT(finalize);
            INHERIT(new_);
            INHERIT(repr);
            INHERIT(str);
            INHERIT(richcompare);
            INHERIT(getattr);
            INHERIT(setattr);
            INHERIT(call);
            INHERIT(iter);
            INHERIT(next);
            INHERIT(len);
            INHERIT(getitem);
            INHERIT(setitem);
            INHERIT(contains);
            INHERIT(descr_get);
            INHERIT(descr_set);
            INHERIT(truthy);
            // A builtin that defines __eq__ but not __hash__ is unhashable,
            // like CPython's rule (list, dict, set).
            if (!t->hash && !(t->richcompare != b->richcompare)) t->hash = b->hash;
#undef INHERIT
            if (!t->instance_size) t->instance_size = b->instance_size;
            if (!t->dict_offset && b->dict_offset && t->instance_size >= b->instance_size)
                t->dict_offset = b->dict_offset;
        }
        if (!t->getattr) t->getattr = object_generic_getattr;
        if (!t->setattr) t->setattr = object_generic_setattr;
        // An unhashable builtin says so in its dict (list.__hash__ is None),
        // so classes deriving from it stay unhashable.
        if (!t->hash && b && b->hash && IS_NULL(dict_get_str(t->dict, vm->names.__hash__)) &&
            dict_set_str(vm, t->dict, vm->names.__hash__, VAL_NONE) < 0)
            return -1;
    }
    assign_version(vm, t);
    return 0;
}

// ---------------------------------------------------------------------------
// Instances of classes: layout helpers

// Instances of a class whose every level declared __slots__ have no
// visible __dict__ (obj_object.c consults this).
bool type_slots_only(TypeObject *t) { return (t->hdr.obj_flags & TYPE_SLOTS_ONLY) != 0; }

DictObject **object_dict_ptr(EddyVM *vm, Value obj) {
    if (!IS_OBJ(obj)) return NULL;
    Obj *o = AS_OBJ(obj);
    int32_t off = o->type->dict_offset;
    if (off == 0) return NULL;
    // Negative: counted from the end of the object, so that variable-sized
    // layouts (str, tuple) can carry a __dict__ after their items.
    if (off < 0) return (DictObject **)(void *)((char *)o + o->size + off);
    return (DictObject **)(void *)((char *)o + off);
}

// trace for classes that extend a builtin layout with a trailing __dict__.
static void subtype_trace(EddyVM *vm, Obj *self) {
    TypeObject *t = self->type;
    TypeObject *layout = t->layout;
    if (layout && layout->trace && layout->trace != subtype_trace) layout->trace(vm, self);
    DictObject **dp = object_dict_ptr(vm, v_obj(self));
    if (dp) gc_mark_obj(vm, (Obj *)*dp);
}

static void type_trace(EddyVM *vm, Obj *self) {
    TypeObject *t = (TypeObject *)self;
    gc_mark_obj(vm, (Obj *)t->name);
    gc_mark_obj(vm, (Obj *)t->qualname);
    gc_mark_obj(vm, (Obj *)t->module);
    gc_mark_obj(vm, (Obj *)t->base);
    gc_mark_obj(vm, (Obj *)t->bases);
    gc_mark_obj(vm, (Obj *)t->mro);
    gc_mark_obj(vm, (Obj *)t->dict);
    gc_mark_obj(vm, (Obj *)t->layout);
}

// Builtin types that scripts may subclass even when their init function did
// not pass TPF_BASETYPE.
static bool acceptable_base(EddyVM *vm, TypeObject *b) {
    if (b->flags & (TPF_BASETYPE | TPF_HEAPTYPE)) return true;
    TypeObject *const ok[] = {vm->t_object, vm->t_type,     vm->t_int,         vm->t_float,
                              vm->t_str,    vm->t_bytes,    vm->t_bytearray,   vm->t_tuple,
                              vm->t_list,   vm->t_dict,     vm->t_set,         vm->t_frozenset,
                              vm->t_super,  vm->t_property, vm->t_classmethod, vm->t_staticmethod,
                              vm->t_module};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (b == ok[i]) return true;
    return (b->flags & TPF_EXC_SUBCLASS) != 0;
}

static TypeObject *calculate_metaclass(EddyVM *vm, TypeObject *meta, TupleObject *bases) {
    TypeObject *winner = meta;
    for (size_t i = 0; i < bases->len; i++) {
        TypeObject *bt = vm_type_of(vm, bases->items[i]);
        if (type_is_subtype(winner, bt)) continue;
        if (type_is_subtype(bt, winner)) {
            winner = bt;
            continue;
        }
        vm_raise(vm, vm->exc_TypeError,
                 "metaclass conflict: the metaclass of a derived class must be a (non-strict) "
                 "subclass of the metaclasses of all its bases");
        return NULL;
    }
    return winner;
}

static Value wrap_in(EddyVM *vm, TypeObject *wrapper, Value f);

// ---------------------------------------------------------------------------
// __slots__: one member descriptor per slot name.

// Slot values live inside the instance, after its InstanceObject header:
// a class with __slots__ extends its base's instance_size by one Value per
// slot and becomes its own layout (so two unrelated slotted bases conflict,
// as in CPython). Classes whose solid base is not `object` ignore __slots__
// (their instances keep a __dict__).
typedef struct MemberObject {
    Obj hdr;
    StrObject *name;
    TypeObject *owner;
    uint32_t offset; // of the Value inside the instance
} MemberObject;

static void slots_trace(EddyVM *vm, Obj *self) {
    DictObject **dp = object_dict_ptr(vm, v_obj(self));
    if (dp) gc_mark_obj(vm, (Obj *)*dp);
    for (size_t off = sizeof(InstanceObject); off + sizeof(Value) <= self->size;
         off += sizeof(Value))
        gc_mark_value(vm, *(Value *)(void *)((char *)self + off));
}

static void member_trace(EddyVM *vm, Obj *self) {
    MemberObject *m = (MemberObject *)self;
    gc_mark_obj(vm, (Obj *)m->name);
    gc_mark_obj(vm, (Obj *)m->owner);
}

static Value member_repr(EddyVM *vm, Value self) {
    MemberObject *m = (MemberObject *)AS_OBJ(self);
    StrObject *s = str_format(vm, "<member '%U' of '%U' objects>", m->name, m->owner->name);
    return s ? v_obj(s) : VAL_NULL;
}

static Value *member_slot(EddyVM *vm, MemberObject *m, Value obj) {
    if (!IS_OBJ(obj) || !type_is_subtype(vm_type_of(vm, obj), m->owner) ||
        AS_OBJ(obj)->size < m->offset + sizeof(Value)) {
        vm_raise(vm, vm->exc_TypeError,
                 "descriptor '%U' for '%U' objects doesn't apply to a '%s' object", m->name,
                 m->owner->name, vm_type_name(vm, obj));
        return NULL;
    }
    return (Value *)(void *)((char *)AS_OBJ(obj) + m->offset);
}

int64_t type_member_offset(EddyVM *vm, Value descr) {
    if (!is_exact(descr, vm->t_member_descriptor)) return -1;
    return ((MemberObject *)AS_OBJ(descr))->offset;
}

static Value member_get(EddyVM *vm, Value descr, Value obj, TypeObject *owner) {
    if (IS_NULL(obj)) return descr;
    MemberObject *m = (MemberObject *)AS_OBJ(descr);
    Value *slot = member_slot(vm, m, obj);
    if (!slot) return VAL_NULL;
    Value v = *slot;
    if (IS_NULL(v))
        return vm_raise(vm, vm->exc_AttributeError, "'%s' object has no attribute '%U'",
                        vm_type_name(vm, obj), m->name);
    return v;
}

static int member_set(EddyVM *vm, Value descr, Value obj, Value v) {
    MemberObject *m = (MemberObject *)AS_OBJ(descr);
    Value *slot = member_slot(vm, m, obj);
    if (!slot) return -1;
    if (IS_NULL(v) && IS_NULL(*slot)) {
        vm_raise(vm, vm->exc_AttributeError, "%U", m->name);
        return -1;
    }
    *slot = v;
    return 0;
}

// Install the member descriptors of t's __slots__ (already copied into
// t->dict) and decide whether instances keep a visible __dict__. 0 / -1.
static int setup_slots(EddyVM *vm, TypeObject *t) {
    Value slots = dict_get_str(t->dict, vm->names.__slots__);
    if (IS_NULL(slots)) return 0;
    bool plain = t->layout == vm->t_object || (t->layout->flags & TPF_HEAPTYPE);
    Value names;
    if (is_str(vm, slots)) {
        TupleObject *one = tuple_from(vm, &slots, 1);
        if (!one) return -1;
        names = v_obj(one);
    } else {
        names = vm_sequence_to_tuple(vm, slots);
        if (IS_NULL(names)) return -1;
    }
    if (vm_push_root(vm, names) < 0) return -1;
    TupleObject *nt = AS_TUPLE(names);
    bool has_dict = false;
    for (size_t i = 0; i < nt->len; i++) {
        Value nv = nt->items[i];
        if (!is_str(vm, nv)) {
            vm_pop_roots(vm, 1);
            vm_raise(vm, vm->exc_TypeError, "__slots__ items must be strings, not '%s'",
                     vm_type_name(vm, nv));
            return -1;
        }
        StrObject *name = str_intern_obj(vm, AS_STR(nv));
        if (!name) goto fail;
        if (str_eq(name, vm->names.__dict__)) {
            has_dict = true;
            continue;
        }
        if (!strcmp(name->data, "__weakref__")) continue;
        if (!IS_NULL(dict_get_str(t->dict, name))) {
            vm_pop_roots(vm, 1);
            vm_raise(vm, vm->exc_ValueError, "%R in __slots__ conflicts with class variable",
                     v_obj(name));
            return -1;
        }
        if (!plain) continue;
        MemberObject *m =
            (MemberObject *)obj_alloc(vm, vm->t_member_descriptor, sizeof(MemberObject));
        if (!m) goto fail;
        m->name = name;
        m->owner = t;
        m->offset = t->instance_size;
        t->instance_size += (uint32_t)sizeof(Value);
        t->layout = t;
        t->trace = slots_trace;
        if (dict_set_str(vm, t->dict, name, v_obj(m)) < 0) goto fail;
    }
    vm_pop_roots(vm, 1);
    if (has_dict) return 0;
    // No __dict__ only if every class above (except object) also has slots.
    for (size_t i = 0; i < t->bases->len; i++) {
        TypeObject *b = AS_TYPE(t->bases->items[i]);
        if (b != vm->t_object && !(b->hdr.obj_flags & TYPE_SLOTS_ONLY)) return 0;
    }
    if (plain) t->hdr.obj_flags |= TYPE_SLOTS_ONLY;
    return 0;
fail:
    vm_pop_roots(vm, 1);
    return -1;
}

// The body of type.__new__ / the class statement.
static TypeObject *new_class(EddyVM *vm, TypeObject *meta, StrObject *name, TupleObject *bases,
                             DictObject *ns, Value *kwvals, TupleObject *kwnames) {
    TypeObject *t = NULL;
    size_t nroots = 0;
    if (bases->len == 0) {
        bases = tuple_from(vm, (Value[]){v_obj(vm->t_object)}, 1);
        if (!bases) return NULL;
    }
    // The metaclass first (CPython's order: type('X', (1,), {}) is a
    // metaclass conflict), then the bases and the one whose C layout wins.
    meta = calculate_metaclass(vm, meta, bases);
    if (!meta) return NULL;
    TypeObject *best = NULL;
    for (size_t i = 0; i < bases->len; i++) {
        Value bv = bases->items[i];
        if (!is_type(vm, bv)) {
            vm_raise(vm, vm->exc_TypeError, "bases must be types");
            return NULL;
        }
        TypeObject *b = AS_TYPE(bv);
        if (!acceptable_base(vm, b)) {
            vm_raise(vm, vm->exc_TypeError, "type '%U' is not an acceptable base type",
                     b->qualname);
            return NULL;
        }
        for (size_t j = 0; j < i; j++)
            if (AS_OBJ(bases->items[j]) == &b->hdr) {
                vm_raise(vm, vm->exc_TypeError, "duplicate base class %U", b->name);
                return NULL;
            }
        TypeObject *bl = b->layout ? b->layout : b;
        if (!best)
            best = b;
        else {
            TypeObject *wl = best->layout ? best->layout : best;
            if (type_is_subtype(bl, wl)) {
                if (bl != wl || (b->dict_offset && !best->dict_offset)) best = b;
            } else if (!type_is_subtype(wl, bl)) {
                vm_raise(vm, vm->exc_TypeError, "multiple bases have instance lay-out conflict");
                return NULL;
            }
        }
    }
    size_t tsize =
        meta->instance_size > sizeof(TypeObject) ? meta->instance_size : sizeof(TypeObject);
    t = (TypeObject *)obj_alloc(vm, meta, tsize);
    if (!t) return NULL;
    if (vm_push_root(vm, v_obj(t)) < 0) return NULL;
    nroots++;
    t->name = name;
    t->bases = bases;
    t->base = best;
    t->flags = TPF_HEAPTYPE | TPF_BASETYPE;
    if (!(t->dict = dict_copy(vm, ns))) goto fail;

    // Layout: instances of plain classes are InstanceObjects; classes that
    // extend a builtin layout without a __dict__ get one appended.
    TypeObject *layout = best->layout ? best->layout : best;
    t->layout = layout;
    t->finalize = best->finalize;
    if (layout == vm->t_object || (layout->flags & TPF_HEAPTYPE)) {
        // Plain instances; a slotted base contributes its slot area.
        t->instance_size = layout == vm->t_object ? sizeof(InstanceObject) : best->instance_size;
        t->dict_offset = (int32_t)offsetof(InstanceObject, dict);
        t->trace = best->trace;
    } else if (layout == vm->t_type || type_is_subtype(layout, vm->t_type)) {
        t->instance_size = best->instance_size;
        t->dict_offset = 0;
        t->trace = type_trace;
    } else if (best->dict_offset) {
        t->instance_size = best->instance_size;
        t->dict_offset = best->dict_offset;
        t->trace = best->trace;
    } else {
        size_t sz = (best->instance_size + 7u) & ~(size_t)7u;
        t->instance_size = (uint32_t)(sz + sizeof(DictObject *));
        t->dict_offset = -(int32_t)sizeof(DictObject *);
        t->trace = subtype_trace;
    }

    // __qualname__ and __classcell__ are consumed; __module__ / __doc__ get defaults.
    DictObject *d = t->dict;
    Value qn = dict_get_str(d, vm->names.__qualname__);
    if (!IS_NULL(qn)) {
        if (!is_str(vm, qn)) {
            vm_raise(vm, vm->exc_TypeError, "type __qualname__ must be a str, not %s",
                     vm_type_name(vm, qn));
            goto fail;
        }
        t->qualname = AS_STR(qn);
        dict_del_str(vm, d, vm->names.__qualname__);
    } else {
        t->qualname = name;
    }
    Value mod = dict_get_str(d, vm->names.__module__);
    if (IS_NULL(mod)) {
        struct Frame *f = vm_current_frame(vm);
        Value m = f && f->globals ? dict_get_str(f->globals, vm->names.__name__) : VAL_NULL;
        if (IS_NULL(m)) m = v_obj(vm->names.builtins);
        if (dict_set_str(vm, d, vm->names.__module__, m) < 0) goto fail;
        mod = m;
    }
    t->module = is_str(vm, mod) ? AS_STR(mod) : NULL;
    if (IS_NULL(dict_get_str(d, vm->names.__doc__)) &&
        dict_set_str(vm, d, vm->names.__doc__, VAL_NONE) < 0)
        goto fail;
    Value cell = dict_get_str(d, vm->names.__classcell__);
    if (!IS_NULL(cell)) {
        if (!is_exact(cell, vm->t_cell)) {
            vm_raise(vm, vm->exc_TypeError, "__classcell__ must be a nonlocal cell, not %s",
                     vm_type_name(vm, cell));
            goto fail;
        }
        ((CellObject *)AS_OBJ(cell))->value = v_obj(t);
        dict_del_str(vm, d, vm->names.__classcell__);
    }
    // Implicit staticmethod / classmethod wrapping (CPython's type_new).
    Value nv = dict_get_str(d, vm->names.__new__);
    if (is_exact(nv, vm->t_function)) {
        Value w = wrap_in(vm, vm->t_staticmethod, nv);
        if (IS_NULL(w) || dict_set_str(vm, d, vm->names.__new__, w) < 0) goto fail;
    }
    Value is = dict_get_str(d, vm->names.__init_subclass__);
    if (is_exact(is, vm->t_function)) {
        Value w = wrap_in(vm, vm->t_classmethod, is);
        if (IS_NULL(w) || dict_set_str(vm, d, vm->names.__init_subclass__, w) < 0) goto fail;
    }
    StrObject *cgi = str_intern_cstr(vm, "__class_getitem__");
    if (!cgi) goto fail;
    Value cg = dict_get_str(d, cgi);
    if (is_exact(cg, vm->t_function)) {
        Value w = wrap_in(vm, vm->t_classmethod, cg);
        if (IS_NULL(w) || dict_set_str(vm, d, cgi, w) < 0) goto fail;
    }
    // Defining __eq__ without __hash__ makes instances unhashable.
    if (!IS_NULL(dict_get_str(d, vm->names.__eq__)) &&
        IS_NULL(dict_get_str(d, vm->names.__hash__)) &&
        dict_set_str(vm, d, vm->names.__hash__, VAL_NONE) < 0)
        goto fail;

    if (setup_slots(vm, t) < 0) goto fail;
    if (type_ready(vm, t) < 0) goto fail;

    // __set_name__ on every attribute that wants it (on a copy: it may mutate).
    DictObject *copy = dict_copy(vm, d);
    if (!copy || vm_push_root(vm, v_obj(copy)) < 0) goto fail;
    nroots++;
    size_t pos = 0;
    Value k, v;
    while (dict_next(copy, &pos, &k, &v)) {
        if (!IS_OBJ(v)) continue;
        TypeObject *vt = OBJ_TYPE(AS_OBJ(v));
        if (vt == vm->t_function || vt == vm->t_str || vt == vm->t_builtin_function) continue;
        Value sn = type_lookup(vm, vt, vm->names.__set_name__);
        if (IS_NULL(sn) || IS_NONE(sn)) continue;
        Value args[2] = {v_obj(t), k};
        Value r = vm_call_special(vm, sn, v, args, 2, NULL);
        if (IS_NULL(r)) {
            // CPython 3.11 wraps the error: RuntimeError from the original.
            Value cause = vm_err_fetch(vm);
            if (vm_push_root(vm, cause) < 0) goto fail;
            nroots++;
            vm_raise(vm, vm->exc_RuntimeError,
                     "Error calling __set_name__ on '%U' instance %R in '%U'", vt->name, k,
                     t->name);
            Value exc = vm_err_fetch(vm);
            if (!IS_NULL(exc) && is_exception(vm, exc) && is_exception(vm, cause)) {
                ((ExceptionObject *)AS_OBJ(exc))->cause = cause;
                ((ExceptionObject *)AS_OBJ(exc))->context = cause;
                ((ExceptionObject *)AS_OBJ(exc))->suppress_context = true;
            }
            vm_raise_value(vm, IS_NULL(exc) ? cause : exc);
            goto fail;
        }
    }
    // super(t, t).__init_subclass__(**kw)
    TupleObject *mro = t->mro;
    for (size_t i = 1; i < mro->len; i++) {
        TypeObject *m = AS_TYPE(mro->items[i]);
        Value f = dict_get_str(m->dict, vm->names.__init_subclass__);
        if (IS_NULL(f)) continue;
        TypeObject *ft = vm_type_of(vm, f);
        Value bound = ft->descr_get ? ft->descr_get(vm, f, VAL_NULL, t) : f;
        if (IS_NULL(bound)) goto fail;
        if (vm_push_root(vm, bound) < 0) goto fail;
        nroots++;
        int nkw = kwnames ? (int)kwnames->len : 0;
        Value r = vm_call(vm, bound, kwvals, 0, nkw ? kwnames : NULL);
        if (IS_NULL(r)) goto fail;
        break;
    }
    vm_pop_roots(vm, nroots);
    return t;
fail:
    vm_pop_roots(vm, nroots);
    return NULL;
}

TypeObject *type_new_class(EddyVM *vm, TypeObject *metatype, StrObject *name, TupleObject *bases,
                           DictObject *ns) {
    return new_class(vm, metatype, name, bases, ns, NULL, NULL);
}

// ---------------------------------------------------------------------------
// The `type` type

static Value type_repr(EddyVM *vm, Value self) {
    TypeObject *t = AS_TYPE(self);
    Value mod = type_module_value(vm, t);
    StrObject *s;
    if (is_str(vm, mod) && !str_eq(AS_STR(mod), vm->names.builtins))
        s = str_format(vm, "<class '%U.%U'>", AS_STR(mod), t->qualname);
    else
        s = str_format(vm, "<class '%U'>", t->qualname);
    return s ? v_obj(s) : VAL_NULL;
}

static Value object_init_value(EddyVM *vm) {
    return dict_get_str(vm->t_object->dict, vm->names.__init__);
}

Value type_call(EddyVM *vm, Value self, Value *args, int nargs, TupleObject *kw) {
    TypeObject *t = AS_TYPE(self);
    size_t nkw = kw ? kw->len : 0;
    if (t == vm->t_type && nargs == 1 && nkw == 0) return v_obj(vm_type_of(vm, args[0]));
    // A builtin without a constructor of its own (iterators, functions ...).
    if (!t->new_ ||
        (t->new_ == vm->t_object->new_ && t != vm->t_object && !(t->flags & TPF_HEAPTYPE)))
        return vm_raise(vm, vm->exc_TypeError, "cannot create '%U' instances", t->qualname);
    Value obj = t->new_(vm, t, args, nargs, kw);
    if (IS_NULL(obj)) return VAL_NULL;
    TypeObject *ot = vm_type_of(vm, obj);
    if (!type_is_subtype(ot, t)) return obj;
    Value init = type_lookup(vm, ot, vm->names.__init__);
    if (IS_NULL(init) || v_is(init, object_init_value(vm))) return obj;
    if (vm_push_root(vm, obj) < 0) return VAL_NULL;
    Value r = vm_call_special(vm, init, obj, args, nargs, kw);
    vm_pop_roots(vm, 1);
    if (IS_NULL(r)) return VAL_NULL;
    if (!IS_NONE(r))
        return vm_raise(vm, vm->exc_TypeError, "__init__() should return None, not '%s'",
                        vm_type_name(vm, r));
    return obj;
}

static Value type_call_slot(EddyVM *vm, Value self, Value *args, int nargs, TupleObject *kw) {
    return type_call(vm, self, args, nargs, kw);
}

// type.__new__(meta, name, bases, ns, **kw)
static Value type_new_slot(EddyVM *vm, TypeObject *meta, Value *args, int nargs, TupleObject *kw) {
    size_t nkw = kw ? kw->len : 0;
    if (meta == vm->t_type && nargs == 1 && nkw == 0) return v_obj(vm_type_of(vm, args[0]));
    if (nargs != 3) {
        if (meta == vm->t_type)
            return vm_raise(vm, vm->exc_TypeError, "type() takes 1 or 3 arguments");
        return vm_raise(vm, vm->exc_TypeError,
                        "type.__new__() takes exactly 3 arguments (%d given)", nargs);
    }
    if (!is_str(vm, args[0]))
        return vm_raise(vm, vm->exc_TypeError, "type.__new__() argument 1 must be str, not %s",
                        vm_type_name(vm, args[0]));
    if (!IS_OBJ(args[1]) || !(OBJ_TYPE(AS_OBJ(args[1]))->flags & TPF_TUPLE_SUBCLASS))
        return vm_raise(vm, vm->exc_TypeError, "type.__new__() argument 2 must be tuple, not %s",
                        vm_type_name(vm, args[1]));
    if (!IS_OBJ(args[2]) || !(OBJ_TYPE(AS_OBJ(args[2]))->flags & TPF_DICT_SUBCLASS))
        return vm_raise(vm, vm->exc_TypeError, "type.__new__() argument 3 must be dict, not %s",
                        vm_type_name(vm, args[2]));
    TypeObject *t =
        new_class(vm, meta, AS_STR(args[0]), AS_TUPLE(args[1]), AS_DICT(args[2]), args + 3, kw);
    return t ? v_obj(t) : VAL_NULL;
}

static Value type_getattr(EddyVM *vm, Value self, StrObject *name) {
    TypeObject *t = AS_TYPE(self);
    TypeObject *meta = OBJ_TYPE(AS_OBJ(self));
    Value ma = type_lookup(vm, meta, name);
    TypeObject *mat = NULL;
    if (!IS_NULL(ma)) {
        mat = vm_type_of(vm, ma);
        if (mat->descr_get && mat->descr_set) return mat->descr_get(vm, ma, self, meta);
    }
    Value a = type_lookup(vm, t, name);
    if (!IS_NULL(a)) {
        TypeObject *at = vm_type_of(vm, a);
        if (at->descr_get) return at->descr_get(vm, a, VAL_NULL, t);
        return a;
    }
    if (mat) {
        if (mat->descr_get) return mat->descr_get(vm, ma, self, meta);
        return ma;
    }
    Value r = vm_raise(vm, vm->exc_AttributeError, "type object '%U' has no attribute '%U'",
                       t->name, name);
    return r;
}

static void refix(EddyVM *vm, TypeObject *t) {
    if (t->flags & TPF_HEAPTYPE) fixup_slots(vm, t);
}

static int type_setattr(EddyVM *vm, Value self, StrObject *name, Value v) {
    TypeObject *t = AS_TYPE(self);
    TypeObject *meta = OBJ_TYPE(AS_OBJ(self));
    Value ma = type_lookup(vm, meta, name);
    if (!IS_NULL(ma)) {
        TypeObject *mat = vm_type_of(vm, ma);
        if (mat->descr_set) return mat->descr_set(vm, ma, self, v);
    }
    if (!(t->flags & TPF_HEAPTYPE)) {
        vm_raise(vm, vm->exc_TypeError, "cannot set '%U' attribute of immutable type '%U'", name,
                 t->name);
        return -1;
    }
    if (!name->interned && !(name = str_intern_obj(vm, name))) return -1;
    if (IS_NULL(v)) {
        if (dict_del_str(vm, t->dict, name) == 0) {
            vm_raise(vm, vm->exc_AttributeError, "type object '%U' has no attribute '%U'", t->name,
                     name);
            return -1;
        }
    } else if (dict_set_str(vm, t->dict, name, v) < 0) {
        return -1;
    }
    type_modified(vm, t);
    if (is_dunder(name)) {
        refix(vm, t);
        for_each_subclass(vm, t, refix);
    }
    return 0;
}

#define TYPE_ARG(a) AS_TYPE((a)[0])

static Value t_get_name(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_obj(TYPE_ARG(a)->name);
}
static Value t_set_name(EddyVM *vm, Value *a, int n, TupleObject *k) {
    TypeObject *t = TYPE_ARG(a);
    if (!(t->flags & TPF_HEAPTYPE))
        return vm_raise(vm, vm->exc_TypeError,
                        "cannot set '__name__' attribute of immutable type '%U'", t->name);
    if (!is_str(vm, a[1]))
        return vm_raise(vm, vm->exc_TypeError, "can only assign string to %U.__name__, not '%s'",
                        t->name, vm_type_name(vm, a[1]));
    t->name = AS_STR(a[1]);
    return VAL_NONE;
}
static Value t_get_qualname(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_obj(TYPE_ARG(a)->qualname);
}
static Value t_set_qualname(EddyVM *vm, Value *a, int n, TupleObject *k) {
    TypeObject *t = TYPE_ARG(a);
    if (!(t->flags & TPF_HEAPTYPE))
        return vm_raise(vm, vm->exc_TypeError,
                        "cannot set '__qualname__' attribute of immutable type '%U'", t->name);
    if (!is_str(vm, a[1]))
        return vm_raise(vm, vm->exc_TypeError,
                        "can only assign string to %U.__qualname__, not '%s'", t->name,
                        vm_type_name(vm, a[1]));
    t->qualname = AS_STR(a[1]);
    return VAL_NONE;
}
static Value t_get_module(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return type_module_value(vm, TYPE_ARG(a));
}
static Value t_set_module(EddyVM *vm, Value *a, int n, TupleObject *k) {
    TypeObject *t = TYPE_ARG(a);
    if (!(t->flags & TPF_HEAPTYPE))
        return vm_raise(vm, vm->exc_TypeError,
                        "cannot set '__module__' attribute of immutable type '%U'", t->name);
    if (dict_set_str(vm, t->dict, vm->names.__module__, a[1]) < 0) return VAL_NULL;
    t->module = is_str(vm, a[1]) ? AS_STR(a[1]) : NULL;
    type_modified(vm, t);
    return VAL_NONE;
}
static Value t_get_doc(EddyVM *vm, Value *a, int n, TupleObject *k) {
    TypeObject *t = TYPE_ARG(a);
    Value d = t->dict ? dict_get_str(t->dict, vm->names.__doc__) : VAL_NULL;
    if (IS_NULL(d)) return VAL_NONE;
    TypeObject *dt = vm_type_of(vm, d);
    if (dt->descr_get) return dt->descr_get(vm, d, VAL_NULL, t);
    return d;
}
static Value t_set_doc(EddyVM *vm, Value *a, int n, TupleObject *k) {
    TypeObject *t = TYPE_ARG(a);
    if (!(t->flags & TPF_HEAPTYPE))
        return vm_raise(vm, vm->exc_TypeError,
                        "cannot set '__doc__' attribute of immutable type '%U'", t->name);
    if (dict_set_str(vm, t->dict, vm->names.__doc__, a[1]) < 0) return VAL_NULL;
    type_modified(vm, t);
    return VAL_NONE;
}
static Value t_get_mro(EddyVM *vm, Value *a, int n, TupleObject *k) {
    TypeObject *t = TYPE_ARG(a);
    return t->mro ? v_obj(t->mro) : VAL_NONE;
}
static Value t_get_bases(EddyVM *vm, Value *a, int n, TupleObject *k) {
    TypeObject *t = TYPE_ARG(a);
    return v_obj(t->bases ? t->bases : vm->empty_tuple);
}
static Value t_get_base(EddyVM *vm, Value *a, int n, TupleObject *k) {
    TypeObject *t = TYPE_ARG(a);
    return t->base ? v_obj(t->base) : VAL_NONE;
}
// A read-only snapshot stands in for CPython's mappingproxy.
static Value t_get_dict(EddyVM *vm, Value *a, int n, TupleObject *k) {
    DictObject *d = dict_copy(vm, TYPE_ARG(a)->dict);
    return d ? v_obj(d) : VAL_NULL;
}
static Value t_get_abstractmethods(EddyVM *vm, Value *a, int n, TupleObject *k) {
    TypeObject *t = TYPE_ARG(a);
    Value v = t != vm->t_type && t->dict ? dict_get_str(t->dict, vm->names.__abstractmethods__)
                                         : VAL_NULL;
    if (IS_NULL(v)) return vm_raise(vm, vm->exc_AttributeError, "__abstractmethods__");
    return v;
}

static Value t_mro(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n != 1 || !is_type(vm, a[0]))
        return vm_raise(vm, vm->exc_TypeError,
                        "descriptor 'mro' of 'type' object needs an argument");
    TypeObject *t = TYPE_ARG(a);
    if (!t->mro) return v_obj(list_new(vm, 0));
    ListObject *l = list_from(vm, t->mro->items, t->mro->len);
    return l ? v_obj(l) : VAL_NULL;
}

typedef struct SubclassCollect {
    TypeObject *t;
    ListObject *out;
    int err;
} SubclassCollect;

static Value t_subclasses(EddyVM *vm, Value *a, int n, TupleObject *k) {
    TypeObject *t = TYPE_ARG(a);
    ListObject *l = list_new(vm, 0);
    if (!l) return VAL_NULL;
    if (!(t->hdr.obj_flags & TYPE_HAS_SUBCLASSES)) return v_obj(l);
    // Collect direct subclasses; the heap is newest-first, so reverse after.
    for (size_t at = vm->objects_len; at-- > 0;) {
        Obj *o = vm->objects[at];
        if (!o->type || !(o->type->flags & TPF_TYPE_SUBCLASS) || o == &t->hdr) continue;
        TypeObject *s = (TypeObject *)o;
        if (!s->bases || !s->mro) continue;
        for (size_t i = 0; i < s->bases->len; i++)
            if (AS_OBJ(s->bases->items[i]) == &t->hdr) {
                if (list_append(vm, l, v_obj(s)) < 0) return VAL_NULL;
                break;
            }
    }
    for (size_t i = 0, j = l->len ? l->len - 1 : 0; i < j; i++, j--) {
        Value tmp = l->items[i];
        l->items[i] = l->items[j];
        l->items[j] = tmp;
    }
    return v_obj(l);
}

static Value t_instancecheck(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n != 2)
        return vm_raise(vm, vm->exc_TypeError, "__instancecheck__() takes exactly one argument");
    return v_bool(type_is_subtype(vm_type_of(vm, a[1]), TYPE_ARG(a)));
}
static Value t_subclasscheck(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n != 2)
        return vm_raise(vm, vm->exc_TypeError, "__subclasscheck__() takes exactly one argument");
    if (!is_type(vm, a[1]))
        return vm_raise(vm, vm->exc_TypeError, "issubclass() arg 1 must be a class");
    return v_bool(type_is_subtype(AS_TYPE(a[1]), TYPE_ARG(a)));
}
static Value t_prepare(EddyVM *vm, Value *a, int n, TupleObject *k) {
    DictObject *d = dict_new(vm);
    return d ? v_obj(d) : VAL_NULL;
}
static Value t_init(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n != 2 && n != 4)
        return vm_raise(vm, vm->exc_TypeError, "type.__init__() takes 1 or 3 arguments");
    return VAL_NONE;
}
static Value t_dir(EddyVM *vm, Value *a, int n, TupleObject *k) {
    TypeObject *t = TYPE_ARG(a);
    DictObject *seen = dict_new(vm);
    if (!seen || vm_push_root(vm, v_obj(seen)) < 0) return VAL_NULL;
    for (size_t i = 0; t->mro && i < t->mro->len; i++) {
        DictObject *d = AS_TYPE(t->mro->items[i])->dict;
        size_t pos = 0;
        Value key, val;
        while (dict_next(d, &pos, &key, &val))
            if (dict_set(vm, seen, key, VAL_NONE) < 0) goto fail;
    }
    ListObject *l = list_new(vm, seen->len);
    if (!l) goto fail;
    size_t pos = 0;
    Value key, val;
    while (dict_next(seen, &pos, &key, &val))
        if (list_append(vm, l, key) < 0) goto fail;
    vm_pop_roots(vm, 1);
    if (list_sort(vm, l, VAL_NULL, false) < 0) return VAL_NULL;
    return v_obj(l);
fail:
    vm_pop_roots(vm, 1);
    return VAL_NULL;
}

// `list[int]`, `dict[str, int]`: generic aliases are reduced to the class
// itself, which is what annotations need at run time.
static Value t_class_getitem(EddyVM *vm, Value *a, int n, TupleObject *k) { return a[0]; }

static Value t_or(EddyVM *vm, Value *a, int n, TupleObject *k) {
    // X | Y in annotations; a union object is out of scope: return a tuple,
    // which isinstance() accepts.
    if (n != 2) return vm->not_implemented;
    if (!is_type(vm, a[1]) && !IS_NONE(a[1])) return vm->not_implemented;
    Value items[2] = {a[0], IS_NONE(a[1]) ? v_obj(vm->t_nonetype) : a[1]};
    TupleObject *t = tuple_from(vm, items, 2);
    return t ? v_obj(t) : VAL_NULL;
}

// ---------------------------------------------------------------------------
// __build_class__(func, name, *bases, metaclass=None, **kw)

Value builtin_build_class(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (nargs < 2) return vm_raise(vm, vm->exc_TypeError, "__build_class__: not enough arguments");
    if (!is_exact(args[0], vm->t_function))
        return vm_raise(vm, vm->exc_TypeError, "__build_class__: func must be a function");
    if (!is_str(vm, args[1]))
        return vm_raise(vm, vm->exc_TypeError, "__build_class__: name is not a string");
    FunctionObject *func = (FunctionObject *)AS_OBJ(args[0]);
    size_t nroots = 0;
    Value result = VAL_NULL;
    TupleObject *bases = tuple_from(vm, args + 2, (size_t)(nargs - 2));
    if (!bases || vm_push_root(vm, v_obj(bases)) < 0) return VAL_NULL;
    nroots++;

    // Split metaclass= from the other keywords (which go to the metaclass).
    Value meta = VAL_NULL;
    size_t nkw = kwnames ? kwnames->len : 0;
    Value kwvals[64];
    Value kwkeys[64];
    size_t nrest = 0;
    if (nkw > 64) {
        vm_raise(vm, vm->exc_TypeError, "__build_class__: too many keyword arguments");
        goto done;
    }
    for (size_t i = 0; i < nkw; i++) {
        StrObject *kn = AS_STR(kwnames->items[i]);
        if (str_eq(kn, str_intern_cstr(vm, "metaclass")))
            meta = args[nargs + i];
        else {
            kwkeys[nrest] = kwnames->items[i];
            kwvals[nrest++] = args[nargs + i];
        }
    }
    TupleObject *restnames = NULL;
    if (nrest) {
        restnames = tuple_from(vm, kwkeys, nrest);
        if (!restnames || vm_push_root(vm, v_obj(restnames)) < 0) goto done;
        nroots++;
    }
    bool is_class = false;
    if (IS_NULL(meta)) {
        meta = bases->len ? v_obj(vm_type_of(vm, bases->items[0])) : v_obj(vm->t_type);
        is_class = true;
    } else {
        is_class = is_type(vm, meta);
    }
    if (is_class) {
        TypeObject *w = calculate_metaclass(vm, AS_TYPE(meta), bases);
        if (!w) goto done;
        meta = v_obj(w);
    }
    if (vm_push_root(vm, meta) < 0) goto done;
    nroots++;

    // Namespace: meta.__prepare__(name, bases, **kw) when it is not type's.
    DictObject *ns = NULL;
    Value prep = VAL_NULL;
    if (vm_getattr_opt(vm, meta, str_intern_cstr(vm, "__prepare__"), &prep) < 0) goto done;
    if (!IS_NULL(prep) && !(is_exact(prep, vm->t_builtin_function) &&
                            ((NativeFunctionObject *)AS_OBJ(prep))->fn == t_prepare)) {
        if (vm_push_root(vm, prep) < 0) goto done;
        nroots++;
        Value pargs[2 + 64];
        pargs[0] = args[1];
        pargs[1] = v_obj(bases);
        memcpy(pargs + 2, kwvals, nrest * sizeof(Value));
        Value r = vm_call(vm, prep, pargs, 2, restnames);
        if (IS_NULL(r)) goto done;
        if (!IS_OBJ(r) || !(OBJ_TYPE(AS_OBJ(r))->flags & TPF_DICT_SUBCLASS)) {
            vm_raise(vm, vm->exc_TypeError, "%s.__prepare__() must return a mapping, not %s",
                     is_type(vm, meta) ? AS_TYPE(meta)->name->data : "<metaclass>",
                     vm_type_name(vm, r));
            goto done;
        }
        ns = AS_DICT(r);
    } else {
        ns = dict_new(vm);
    }
    if (!ns || vm_push_root(vm, v_obj(ns)) < 0) goto done;
    nroots++;
    if (IS_NULL(dict_get_str(ns, vm->names.__module__)) && func->globals) {
        Value m = dict_get_str(func->globals, vm->names.__name__);
        if (!IS_NULL(m) && dict_set_str(vm, ns, vm->names.__module__, m) < 0) goto done;
    }
    Value body = vm_exec_function_with_locals(vm, func, ns);
    if (IS_NULL(body)) goto done;
    if (IS_NULL(dict_get_str(ns, vm->names.__qualname__)) && func->qualname &&
        !str_eq(func->qualname, AS_STR(args[1])) &&
        dict_set_str(vm, ns, vm->names.__qualname__, v_obj(func->qualname)) < 0)
        goto done;

    Value cargs[3 + 64];
    cargs[0] = args[1];
    cargs[1] = v_obj(bases);
    cargs[2] = v_obj(ns);
    memcpy(cargs + 3, kwvals, nrest * sizeof(Value));
    result = vm_call(vm, meta, cargs, 3, restnames);
done:
    vm_pop_roots(vm, nroots);
    return result;
}

// ---------------------------------------------------------------------------
// super

typedef struct SuperObject {
    Obj hdr;
    TypeObject *type;     // the class after which the look-up starts
    Value obj;            // the instance or class; V_NULL for unbound super(type)
    TypeObject *obj_type; // its type (or itself when obj is a class)
} SuperObject;

static void super_trace(EddyVM *vm, Obj *self) {
    SuperObject *s = (SuperObject *)self;
    gc_mark_obj(vm, (Obj *)s->type);
    gc_mark_value(vm, s->obj);
    gc_mark_obj(vm, (Obj *)s->obj_type);
}

static TypeObject *super_check(EddyVM *vm, TypeObject *type, Value obj) {
    if (is_type(vm, obj) && type_is_subtype(AS_TYPE(obj), type)) return AS_TYPE(obj);
    TypeObject *ot = vm_type_of(vm, obj);
    if (type_is_subtype(ot, type)) return ot;
    // obj.__class__ may differ (proxies); honour it if it is a subtype.
    Value cls = VAL_NULL;
    if (vm_getattr_opt(vm, obj, vm->names.__class__, &cls) < 0) return NULL;
    if (is_type(vm, cls) && type_is_subtype(AS_TYPE(cls), type)) return AS_TYPE(cls);
    vm_raise(vm, vm->exc_TypeError, "super(type, obj): obj must be an instance or subtype of type");
    return NULL;
}

// super() inside a method: the first argument of the calling frame and its
// __class__ cell.
static int super_from_frame(EddyVM *vm, TypeObject **type, Value *obj) {
    Frame *f = vm_current_frame(vm);
    if (!f || !f->code) {
        vm_raise(vm, vm->exc_RuntimeError, "super(): no arguments");
        return -1;
    }
    CodeObject *co = f->code;
    if (co->argcount == 0 || co->nlocals == 0) {
        vm_raise(vm, vm->exc_RuntimeError, "super(): no arguments");
        return -1;
    }
    Value first = f->localsplus[0];
    if (co->cell2arg) {
        for (uint32_t i = 0; i < co->ncells; i++) {
            if (co->cell2arg[i] != 0) continue;
            Value c = f->localsplus[co->nlocals + i];
            if (is_exact(c, vm->t_cell)) first = ((CellObject *)AS_OBJ(c))->value;
            break;
        }
    }
    if (IS_NULL(first)) {
        vm_raise(vm, vm->exc_RuntimeError, "super(): arg[0] deleted");
        return -1;
    }
    TupleObject *fv = co->freevars;
    for (size_t j = 0; fv && j < fv->len; j++) {
        if (!str_eq(AS_STR(fv->items[j]), vm->names.__class__)) continue;
        Value c = f->localsplus[co->nlocals + co->ncells + j];
        Value cls = is_exact(c, vm->t_cell) ? ((CellObject *)AS_OBJ(c))->value : VAL_NULL;
        if (IS_NULL(cls)) {
            vm_raise(vm, vm->exc_RuntimeError, "super(): empty __class__ cell");
            return -1;
        }
        if (!is_type(vm, cls)) {
            vm_raise(vm, vm->exc_RuntimeError, "super(): __class__ is not a type (%s)",
                     vm_type_name(vm, cls));
            return -1;
        }
        *type = AS_TYPE(cls);
        *obj = first;
        return 0;
    }
    vm_raise(vm, vm->exc_RuntimeError, "super(): __class__ cell not found");
    return -1;
}

static Value super_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    if (kw && kw->len) return vm_raise(vm, vm->exc_TypeError, "super() takes no keyword arguments");
    if (nargs > 2)
        return vm_raise(vm, vm->exc_TypeError, "super() takes at most 2 arguments (%d given)",
                        nargs);
    TypeObject *type = NULL;
    Value obj = VAL_NULL;
    if (nargs == 0) {
        if (super_from_frame(vm, &type, &obj) < 0) return VAL_NULL;
    } else {
        if (!is_type(vm, args[0]))
            return vm_raise(vm, vm->exc_TypeError, "super() argument 1 must be a type, not %s",
                            vm_type_name(vm, args[0]));
        type = AS_TYPE(args[0]);
        if (nargs == 2 && !IS_NONE(args[1])) obj = args[1];
    }
    TypeObject *obj_type = NULL;
    if (!IS_NULL(obj) && !(obj_type = super_check(vm, type, obj))) return VAL_NULL;
    SuperObject *s = (SuperObject *)obj_alloc(
        vm, t, t->instance_size > sizeof(SuperObject) ? t->instance_size : sizeof(SuperObject));
    if (!s) return VAL_NULL;
    s->type = type;
    s->obj = obj;
    s->obj_type = obj_type;
    return v_obj(s);
}

static Value super_getattr(EddyVM *vm, Value self, StrObject *name) {
    SuperObject *s = (SuperObject *)AS_OBJ(self);
    if (s->obj_type && !str_eq(name, vm->names.__class__)) {
        TupleObject *mro = s->obj_type->mro;
        size_t n = mro ? mro->len : 0, i = 0;
        while (i < n && AS_OBJ(mro->items[i]) != &s->type->hdr) i++;
        for (i++; i < n; i++) {
            TypeObject *m = AS_TYPE(mro->items[i]);
            Value v = dict_get_str(m->dict, name);
            if (IS_NULL(v)) continue;
            TypeObject *vt = vm_type_of(vm, v);
            if (!vt->descr_get) return v;
            bool on_class = IS_OBJ(s->obj) && AS_OBJ(s->obj) == &s->obj_type->hdr;
            return vt->descr_get(vm, v, on_class ? VAL_NULL : s->obj, s->obj_type);
        }
    }
    Value r = object_generic_getattr(vm, self, name);
    return r;
}

static Value super_repr(EddyVM *vm, Value self) {
    SuperObject *s = (SuperObject *)AS_OBJ(self);
    StrObject *r;
    if (s->obj_type)
        r = str_format(vm, "<super: <class '%U'>, <%U object>>", s->type->name, s->obj_type->name);
    else
        r = str_format(vm, "<super: <class '%U'>, NULL>", s->type->name);
    return r ? v_obj(r) : VAL_NULL;
}

static Value super_descr_get(EddyVM *vm, Value descr, Value obj, TypeObject *owner) {
    SuperObject *s = (SuperObject *)AS_OBJ(descr);
    if (IS_NULL(obj) || !IS_NULL(s->obj)) return descr;
    Value args[2] = {v_obj(s->type), obj};
    return super_new(vm, OBJ_TYPE(AS_OBJ(descr)), args, 2, NULL);
}

static Value su_thisclass(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_obj(((SuperObject *)AS_OBJ(a[0]))->type);
}
static Value su_self(EddyVM *vm, Value *a, int n, TupleObject *k) {
    SuperObject *s = (SuperObject *)AS_OBJ(a[0]);
    return IS_NULL(s->obj) ? VAL_NONE : s->obj;
}
static Value su_self_class(EddyVM *vm, Value *a, int n, TupleObject *k) {
    SuperObject *s = (SuperObject *)AS_OBJ(a[0]);
    return s->obj_type ? v_obj(s->obj_type) : VAL_NONE;
}

// ---------------------------------------------------------------------------
// property

static void property_trace(EddyVM *vm, Obj *self) {
    PropertyObject *p = (PropertyObject *)self;
    gc_mark_value(vm, p->fget);
    gc_mark_value(vm, p->fset);
    gc_mark_value(vm, p->fdel);
    gc_mark_value(vm, p->doc);
    gc_mark_obj(vm, (Obj *)p->name);
    DictObject **dp = object_dict_ptr(vm, v_obj(self));
    if (dp) gc_mark_obj(vm, (Obj *)*dp);
}

static Value property_error(EddyVM *vm, PropertyObject *p, Value obj, const char *what) {
    if (p->name)
        return vm_raise(vm, vm->exc_AttributeError, "property '%U' of '%s' object has no %s",
                        p->name, vm_type_name(vm, obj), what);
    return vm_raise(vm, vm->exc_AttributeError, "property of '%s' object has no %s",
                    vm_type_name(vm, obj), what);
}

// Native accessors registered from C are called directly.
static Value call_accessor(EddyVM *vm, Value f, Value *args, int nargs) {
    if (is_exact(f, vm->t_builtin_function)) {
        NativeFunctionObject *nf = (NativeFunctionObject *)AS_OBJ(f);
        if (IS_NULL(nf->self)) return nf->fn(vm, args, nargs, NULL);
    }
    return vm_call(vm, f, args, nargs, NULL);
}

static Value property_descr_get(EddyVM *vm, Value descr, Value obj, TypeObject *owner) {
    if (IS_NULL(obj)) return descr;
    PropertyObject *p = (PropertyObject *)AS_OBJ(descr);
    if (IS_NONE(p->fget)) return property_error(vm, p, obj, "getter");
    return call_accessor(vm, p->fget, &obj, 1);
}

static int property_descr_set(EddyVM *vm, Value descr, Value obj, Value v) {
    PropertyObject *p = (PropertyObject *)AS_OBJ(descr);
    Value r;
    if (IS_NULL(v)) {
        if (IS_NONE(p->fdel)) {
            property_error(vm, p, obj, "deleter");
            return -1;
        }
        r = call_accessor(vm, p->fdel, &obj, 1);
    } else {
        if (IS_NONE(p->fset)) {
            property_error(vm, p, obj, "setter");
            return -1;
        }
        Value args[2] = {obj, v};
        r = call_accessor(vm, p->fset, args, 2);
    }
    return IS_NULL(r) ? -1 : 0;
}

static int property_fill(EddyVM *vm, PropertyObject *p, Value fget, Value fset, Value fdel,
                         Value doc) {
    p->fget = IS_NULL(fget) ? VAL_NONE : fget;
    p->fset = IS_NULL(fset) ? VAL_NONE : fset;
    p->fdel = IS_NULL(fdel) ? VAL_NONE : fdel;
    p->doc = IS_NULL(doc) ? VAL_NONE : doc;
    if (IS_NONE(p->doc) && !IS_NONE(p->fget)) {
        Value d = VAL_NULL;
        if (vm_getattr_opt(vm, p->fget, vm->names.__doc__, &d) < 0) return -1;
        if (!IS_NULL(d)) p->doc = d;
    }
    return 0;
}

static Value property_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"fget", "fset", "fdel", "doc"};
    Value out[4] = {VAL_NULL, VAL_NULL, VAL_NULL, VAL_NULL};
    if (args_parse(vm, "property", args, nargs, kw, names, 4, 4, 0, out) < 0) return VAL_NULL;
    PropertyObject *p = property_alloc(vm, t);
    if (!p) return VAL_NULL;
    if (property_fill(vm, p, out[0], out[1], out[2], out[3]) < 0) return VAL_NULL;
    return v_obj(p);
}

// property.__init__ is a no-op: property_new already consumed the arguments.
static Value p_init(EddyVM *vm, Value *a, int n, TupleObject *k) { return VAL_NONE; }

static Value property_copy(EddyVM *vm, Value self, int which, Value f) {
    PropertyObject *p = (PropertyObject *)AS_OBJ(self);
    Value parts[3] = {p->fget, p->fset, p->fdel};
    parts[which] = f;
    TypeObject *t = OBJ_TYPE(AS_OBJ(self));
    PropertyObject *q = property_alloc(vm, t);
    if (!q) return VAL_NULL;
    Value doc = p->doc;
    // A doc copied from the old getter follows the new getter.
    if (which == 0) doc = VAL_NULL;
    if (property_fill(vm, q, parts[0], parts[1], parts[2], doc) < 0) return VAL_NULL;
    q->name = p->name;
    return v_obj(q);
}
static Value p_getter(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n != 2) return vm_raise(vm, vm->exc_TypeError, "getter() takes exactly one argument");
    return property_copy(vm, a[0], 0, a[1]);
}
static Value p_setter(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n != 2) return vm_raise(vm, vm->exc_TypeError, "setter() takes exactly one argument");
    return property_copy(vm, a[0], 1, a[1]);
}
static Value p_deleter(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n != 2) return vm_raise(vm, vm->exc_TypeError, "deleter() takes exactly one argument");
    return property_copy(vm, a[0], 2, a[1]);
}
static Value p_set_name(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n != 3)
        return vm_raise(vm, vm->exc_TypeError, "__set_name__() takes 2 positional arguments");
    if (is_str(vm, a[2])) ((PropertyObject *)AS_OBJ(a[0]))->name = AS_STR(a[2]);
    return VAL_NONE;
}
#define PROP(a) ((PropertyObject *)AS_OBJ((a)[0]))
static Value p_fget(EddyVM *vm, Value *a, int n, TupleObject *k) { return PROP(a)->fget; }
static Value p_fset(EddyVM *vm, Value *a, int n, TupleObject *k) { return PROP(a)->fset; }
static Value p_fdel(EddyVM *vm, Value *a, int n, TupleObject *k) { return PROP(a)->fdel; }
static Value p_doc(EddyVM *vm, Value *a, int n, TupleObject *k) { return PROP(a)->doc; }
static Value p_set_doc(EddyVM *vm, Value *a, int n, TupleObject *k) {
    PROP(a)->doc = a[1];
    return VAL_NONE;
}

// ---------------------------------------------------------------------------
// classmethod and staticmethod: one layout, a wrapped callable.

static void sm_trace(EddyVM *vm, Obj *self) {
    StaticMethodObject *s = (StaticMethodObject *)self;
    gc_mark_value(vm, s->func);
    gc_mark_obj(vm, (Obj *)s->dict);
}

static Value wrap_in(EddyVM *vm, TypeObject *wrapper, Value f) {
    size_t sz = wrapper->instance_size > sizeof(StaticMethodObject) ? wrapper->instance_size
                                                                    : sizeof(StaticMethodObject);
    StaticMethodObject *s = (StaticMethodObject *)obj_alloc(vm, wrapper, sz);
    if (!s) return VAL_NULL;
    s->func = f;
    return v_obj(s);
}

static Value sm_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    const char *name = type_is_subtype(t, vm->t_classmethod) ? "classmethod" : "staticmethod";
    if (kw && kw->len)
        return vm_raise(vm, vm->exc_TypeError, "%s() takes no keyword arguments", name);
    if (nargs != 1)
        return vm_raise(vm, vm->exc_TypeError, "%s expected 1 argument, got %d", name, nargs);
    return wrap_in(vm, t, args[0]);
}

static Value sm_init(EddyVM *vm, Value *a, int n, TupleObject *k) { return VAL_NONE; }

static Value staticmethod_descr_get(EddyVM *vm, Value descr, Value obj, TypeObject *owner) {
    return ((StaticMethodObject *)AS_OBJ(descr))->func;
}

static Value staticmethod_call(EddyVM *vm, Value self, Value *args, int nargs, TupleObject *kw) {
    return vm_call(vm, ((StaticMethodObject *)AS_OBJ(self))->func, args, nargs, kw);
}

static Value classmethod_descr_get(EddyVM *vm, Value descr, Value obj, TypeObject *owner) {
    Value cls = owner ? v_obj(owner) : v_obj(vm_type_of(vm, obj));
    if (!owner && IS_NULL(obj)) return descr;
    return bound_method_new(vm, ((StaticMethodObject *)AS_OBJ(descr))->func, cls);
}

static Value sm_repr(EddyVM *vm, Value self) {
    StaticMethodObject *s = (StaticMethodObject *)AS_OBJ(self);
    StrObject *r = str_format(vm, "<%s(%R)>", vm_type_name(vm, self), s->func);
    return r ? v_obj(r) : VAL_NULL;
}

static Value sm_func(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return ((StaticMethodObject *)AS_OBJ(a[0]))->func;
}
static Value sm_isabstract(EddyVM *vm, Value *a, int n, TupleObject *k) {
    Value f = ((StaticMethodObject *)AS_OBJ(a[0]))->func;
    Value r = VAL_NULL;
    StrObject *nm = str_intern_cstr(vm, "__isabstractmethod__");
    if (!nm || vm_getattr_opt(vm, f, nm, &r) < 0) return VAL_NULL;
    if (IS_NULL(r)) return VAL_FALSE;
    int t = vm_truthy(vm, r);
    return t < 0 ? VAL_NULL : v_bool(t);
}

// ---------------------------------------------------------------------------
// None, NotImplemented, Ellipsis

static Value none_repr(EddyVM *vm, Value self) { return str_value(vm, "None"); }
static int none_truthy(EddyVM *vm, Value self) { return 0; }
static int none_hash(EddyVM *vm, Value self, int64_t *out) {
    *out = 0xFCA86420; // a fixed value, as CPython 3.12 does
    return 0;
}
static Value none_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    if (nargs || (kw && kw->len))
        return vm_raise(vm, vm->exc_TypeError, "NoneType takes no arguments");
    return VAL_NONE;
}
static Value notimpl_repr(EddyVM *vm, Value self) { return str_value(vm, "NotImplemented"); }
static Value notimpl_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    if (nargs || (kw && kw->len))
        return vm_raise(vm, vm->exc_TypeError, "NotImplementedType takes no arguments");
    return vm->not_implemented;
}
static Value ellipsis_repr(EddyVM *vm, Value self) { return str_value(vm, "Ellipsis"); }
static Value ellipsis_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    if (nargs || (kw && kw->len))
        return vm_raise(vm, vm->exc_TypeError, "ellipsis takes no arguments");
    return vm->ellipsis;
}
static int identity_hash(EddyVM *vm, Value self, int64_t *out) {
    uintptr_t p = (uintptr_t)AS_OBJ(self);
    *out = (int64_t)((p >> 4) | (p << (sizeof(p) * 8 - 4)));
    if (*out == -1) *out = -2;
    return 0;
}
static Value singleton_reduce(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return vm_repr(vm, a[0]);
}

// ---------------------------------------------------------------------------

typedef struct Getter {
    const char *name;
    NativeFn get, set;
} Getter;

static int add_getters(EddyVM *vm, TypeObject *t, const Getter *g, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (type_add_property(vm, t, g[i].name, g[i].get, g[i].set) < 0) return -1;
    return 0;
}

int type_init_types(EddyVM *vm) {
    // The method cache block comes first: type_ready numbers versions from it.
    TypeObject *ct = type_new_builtin(vm, vm->t_attr_cache, vm->t_object, sizeof(AttrCache), 0);
    if (!ct) return -1;
    ct->trace = attr_cache_trace;
    AttrCache *cache = (AttrCache *)obj_alloc(vm, ct, sizeof(AttrCache));
    if (!cache) return -1;
    cache->hdr.gc_pinned = 1;
    cache->next_version = 1;
    vm->attr_cache = cache->entries;

    // type
    TypeObject *t = type_new_builtin(vm, vm->t_type, vm->t_object, sizeof(TypeObject),
                                     TPF_BASETYPE | TPF_TYPE_SUBCLASS);
    if (!t) return -1;
    t->trace = type_trace;
    t->repr = type_repr;
    t->call = type_call_slot;
    t->new_ = type_new_slot;
    t->getattr = type_getattr;
    t->setattr = type_setattr;
    t->hash = identity_hash;
    static const Getter type_getters[] = {
        {"__name__", t_get_name, t_set_name},
        {"__qualname__", t_get_qualname, t_set_qualname},
        {"__module__", t_get_module, t_set_module},
        {"__doc__", t_get_doc, t_set_doc},
        {"__mro__", t_get_mro, NULL},
        {"__bases__", t_get_bases, NULL},
        {"__base__", t_get_base, NULL},
        {"__dict__", t_get_dict, NULL},
        {"__abstractmethods__", t_get_abstractmethods, NULL},
    };
    if (add_getters(vm, t, type_getters, sizeof(type_getters) / sizeof(type_getters[0])) < 0)
        return -1;
    if (type_add_method(vm, t, "mro", t_mro, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__subclasses__", t_subclasses, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__instancecheck__", t_instancecheck, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__subclasscheck__", t_subclasscheck, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__prepare__", t_prepare, NATIVE_CLASSMETHOD) < 0 ||
        type_add_method(vm, t, "__init__", t_init, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__dir__", t_dir, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__or__", t_or, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__ror__", t_or, NATIVE_METHOD) < 0)
        return -1;
    // list[int] and friends: builtin generic containers.
    TypeObject *const generic[] = {vm->t_list, vm->t_dict,      vm->t_tuple,
                                   vm->t_set,  vm->t_frozenset, vm->t_type};
    for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++) {
        TypeObject *g = generic[i];
        if (!g->dict && !(g->dict = dict_new(vm))) return -1;
        if (type_add_method(vm, g, "__class_getitem__", t_class_getitem, NATIVE_CLASSMETHOD) < 0)
            return -1;
    }

    // member_descriptor (__slots__)
    t = type_new_builtin(vm, vm->t_member_descriptor, vm->t_object, sizeof(MemberObject), 0);
    if (!t) return -1;
    t->trace = member_trace;
    t->repr = member_repr;
    t->descr_get = member_get;
    t->descr_set = member_set;

    // super
    t = type_new_builtin(vm, vm->t_super, vm->t_object, sizeof(SuperObject), TPF_BASETYPE);
    if (!t) return -1;
    t->trace = super_trace;
    t->new_ = super_new;
    t->getattr = super_getattr;
    t->repr = super_repr;
    t->descr_get = super_descr_get;
    static const Getter super_getters[] = {
        {"__thisclass__", su_thisclass, NULL},
        {"__self__", su_self, NULL},
        {"__self_class__", su_self_class, NULL},
    };
    if (add_getters(vm, t, super_getters, 3) < 0) return -1;
    if (type_add_method(vm, t, "__init__", p_init, NATIVE_METHOD) < 0) return -1;

    // property
    t = type_new_builtin(vm, vm->t_property, vm->t_object, sizeof(PropertyObject), TPF_BASETYPE);
    if (!t) return -1;
    t->trace = property_trace;
    t->new_ = property_new;
    t->descr_get = property_descr_get;
    t->descr_set = property_descr_set;
    static const Getter prop_getters[] = {
        {"fget", p_fget, NULL},
        {"fset", p_fset, NULL},
        {"fdel", p_fdel, NULL},
        {"__doc__", p_doc, p_set_doc},
    };
    if (add_getters(vm, t, prop_getters, 4) < 0) return -1;
    if (type_add_method(vm, t, "getter", p_getter, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "setter", p_setter, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "deleter", p_deleter, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__set_name__", p_set_name, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__init__", p_init, NATIVE_METHOD) < 0)
        return -1;

    // classmethod / staticmethod
    TypeObject *const wrappers[2] = {vm->t_classmethod, vm->t_staticmethod};
    for (int i = 0; i < 2; i++) {
        t = type_new_builtin(vm, wrappers[i], vm->t_object, sizeof(StaticMethodObject),
                             TPF_BASETYPE);
        if (!t) return -1;
        t->trace = sm_trace;
        t->new_ = sm_new;
        t->repr = sm_repr;
        t->dict_offset = (int32_t)offsetof(StaticMethodObject, dict);
        t->descr_get = i == 0 ? classmethod_descr_get : staticmethod_descr_get;
        if (i == 1) t->call = staticmethod_call;
        if (type_add_getter(vm, t, "__func__", sm_func) < 0 ||
            type_add_getter(vm, t, "__wrapped__", sm_func) < 0 ||
            type_add_getter(vm, t, "__isabstractmethod__", sm_isabstract) < 0 ||
            type_add_method(vm, t, "__init__", sm_init, NATIVE_METHOD) < 0)
            return -1;
    }

    // NoneType, NotImplementedType, ellipsis and their singletons
    t = type_new_builtin(vm, vm->t_nonetype, vm->t_object, sizeof(Obj), 0);
    if (!t) return -1;
    t->repr = none_repr;
    t->truthy = none_truthy;
    t->hash = none_hash;
    t->new_ = none_new;
    t = type_new_builtin(vm, vm->t_notimplementedtype, vm->t_object, sizeof(Obj), 0);
    if (!t) return -1;
    t->repr = notimpl_repr;
    t->new_ = notimpl_new;
    t->hash = identity_hash;
    if (type_add_method(vm, t, "__reduce__", singleton_reduce, NATIVE_METHOD) < 0) return -1;
    t = type_new_builtin(vm, vm->t_ellipsistype, vm->t_object, sizeof(Obj), 0);
    if (!t) return -1;
    t->repr = ellipsis_repr;
    t->new_ = ellipsis_new;
    t->hash = identity_hash;
    if (type_add_method(vm, t, "__reduce__", singleton_reduce, NATIVE_METHOD) < 0) return -1;
    Obj *ni = obj_alloc(vm, vm->t_notimplementedtype, sizeof(Obj));
    Obj *el = obj_alloc(vm, vm->t_ellipsistype, sizeof(Obj));
    if (!ni || !el) return -1;
    ni->gc_pinned = el->gc_pinned = 1;
    vm->not_implemented = v_obj(ni);
    vm->ellipsis = v_obj(el);
    return 0;
}
