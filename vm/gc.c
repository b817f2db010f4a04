// gc.c - precise, non-moving mark-sweep collector.
//
// Marking uses an explicit gray stack, so deep structures never recurse on
// the C stack. If the gray stack cannot grow (out of memory), the object
// stays marked but untraced and `gray_overflow` is set; marking then
// rescans the heap for such objects until none is left, so running out of
// memory during a collection is slow but still correct.
//
// Collection happens only at interpreter safe points (gc_safepoint), never
// inside an allocation, so C code may hold temporaries between safe points.
#include <string.h>

#include "vm.h"

Obj *obj_alloc(EddyVM *vm, TypeObject *t, size_t size) {
    if (size > UINT32_MAX) {
        vm_raise_nomem(vm);
        return NULL;
    }
    Obj *o = mem_alloc(vm, size);
    if (!o) return NULL;
    memset(o, 0, size);
    o->type = t;
    o->size = (uint32_t)size;
    o->gc_next = vm->objects;
    vm->objects = o;
    return o;
}

void gc_mark_obj(EddyVM *vm, Obj *o) {
    if (!o || o->gc_marked) return;
    o->gc_marked = 1;
    if (vm->gray_len == vm->gray_cap) {
        size_t cap = vm->gray_cap ? vm->gray_cap * 2 : 1024;
        Obj **g = mem_alloc_raw(vm, cap * sizeof(Obj *));
        if (!g) {
            vm->gray_overflow = true;
            return;
        }
        if (vm->gray) {
            memcpy(g, vm->gray, vm->gray_len * sizeof(Obj *));
            mem_free_raw(vm, vm->gray, vm->gray_cap * sizeof(Obj *));
        }
        vm->gray = g;
        vm->gray_cap = cap;
    }
    vm->gray[vm->gray_len++] = o;
}

void gc_mark_value(EddyVM *vm, Value v) {
    if (v.tag == V_OBJ) gc_mark_obj(vm, v.as.o);
}

static void trace(EddyVM *vm, Obj *o) {
    // Every object's type is itself an object the collector must keep.
    gc_mark_obj(vm, (Obj *)o->type);
    if (o->type && o->type->trace) o->type->trace(vm, o);
}

static void drain(EddyVM *vm) {
    for (;;) {
        while (vm->gray_len > 0) trace(vm, vm->gray[--vm->gray_len]);
        if (!vm->gray_overflow) return;
        // Some marked objects were never traced: trace every marked object
        // again (re-marking is idempotent, so this only finds new objects).
        vm->gray_overflow = false;
        for (Obj *o = vm->objects; o; o = o->gc_next)
            if (o->gc_marked) trace(vm, o);
    }
}

static void mark_roots(EddyVM *vm) {
#define TYPE(field, pyname) gc_mark_obj(vm, (Obj *)vm->field);
#include "types.def"
#undef TYPE
#define EXC(name, base) gc_mark_obj(vm, (Obj *)vm->exc_##name);
#include "exceptions.def"
#undef EXC
    gc_mark_value(vm, vm->not_implemented);
    gc_mark_value(vm, vm->ellipsis);
    gc_mark_obj(vm, (Obj *)vm->empty_tuple);
    for (size_t i = 0; i < 128; i++) gc_mark_obj(vm, (Obj *)vm->char_cache[i]);
    gc_mark_value(vm, vm->exc);
    gc_mark_value(vm, vm->memory_error);
    gc_mark_value(vm, vm->handled_exc);
    gc_mark_obj(vm, (Obj *)vm->modules);
    gc_mark_obj(vm, (Obj *)vm->builtins);
    gc_mark_obj(vm, (Obj *)vm->sys);
    gc_mark_obj(vm, (Obj *)vm->builtins_dict);
    gc_mark_obj(vm, (Obj *)vm->path);
    gc_mark_obj(vm, (Obj *)vm->source_cache);
    gc_mark_value(vm, vm->repr_stack);
    for (size_t i = 0; i < vm->roots_len; i++) gc_mark_value(vm, vm->roots[i]);
    interp_mark_roots(vm);
}

// Free one object: its owned C memory first, then the object itself.
static void release(EddyVM *vm, Obj *o) {
    if (o->type && o->type->finalize) o->type->finalize(vm, o);
    mem_free(vm, o, o->size);
}

void gc_collect(EddyVM *vm) {
    if (vm->in_gc) return;
    vm->in_gc = true;
    vm->gc_requested = false;
    mark_roots(vm);
    drain(vm);

    // Sweep. Pinned objects (interned strings, static singletons) survive.
    Obj **link = &vm->objects;
    while (*link) {
        Obj *o = *link;
        if (o->gc_marked || o->gc_pinned) {
            o->gc_marked = 0;
            link = &o->gc_next;
        } else {
            *link = o->gc_next;
            release(vm, o);
        }
    }
    size_t next = vm->bytes_allocated * 2;
    vm->gc_threshold = next < ((size_t)8 << 20) ? ((size_t)32 << 20) : next;
    vm->in_gc = false;
}

// Free every object (VM teardown). Two passes: every finalizer runs while
// all type objects still exist, then the memory goes. Finalizers must not
// allocate or look at other objects.
void gc_free_all(EddyVM *vm) {
    for (Obj *o = vm->objects; o; o = o->gc_next)
        if (o->type && o->type->finalize) o->type->finalize(vm, o);
    Obj *o = vm->objects;
    vm->objects = NULL;
    while (o) {
        Obj *next = o->gc_next;
        mem_free(vm, o, o->size);
        o = next;
    }
    if (vm->gray) mem_free_raw(vm, vm->gray, vm->gray_cap * sizeof(Obj *));
    vm->gray = NULL;
    vm->gray_len = vm->gray_cap = 0;
}

int vm_push_root(EddyVM *vm, Value v) {
    if (vm->roots_len == vm->roots_cap) {
        size_t cap = vm->roots_cap ? vm->roots_cap * 2 : 64;
        Value *r = mem_realloc(vm, vm->roots, vm->roots_cap * sizeof(Value), cap * sizeof(Value));
        if (!r) return -1;
        vm->roots = r;
        vm->roots_cap = cap;
    }
    vm->roots[vm->roots_len++] = v;
    return 0;
}

void vm_pop_roots(EddyVM *vm, size_t n) { vm->roots_len -= n; }
