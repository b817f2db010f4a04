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
//
// The heap is an array of object pointers in allocation order rather than a
// linked list through the objects: the sweep then reads the array linearly
// and prefetches the objects a few slots ahead, so the cache misses on dead
// objects overlap instead of forming one long pointer chase.
#include <string.h>

#include "vm.h"

// The least a heap may grow between two collections.
#define GC_MIN_GROWTH ((size_t)1 << 20)

// The largest gray stack kept between collections, in entries.
#define GRAY_KEEP 8192

// The heap array's smallest capacity, in objects (128 KiB: a small program
// never regrows it).
#define OBJECTS_MIN 16384

// Allocate `size` bytes for an object of type t and link it into the heap;
// only the header is initialised.
static inline Obj *alloc_linked(EddyVM *vm, TypeObject *t, size_t size) {
    if (size > UINT32_MAX) {
        vm_raise_nomem(vm);
        return NULL;
    }
    if (EDDY_UNLIKELY(vm->objects_len == vm->objects_cap)) {
        size_t cap = vm->objects_cap ? vm->objects_cap * 2 : OBJECTS_MIN;
        Obj **a =
            mem_realloc(vm, vm->objects, vm->objects_cap * sizeof(Obj *), cap * sizeof(Obj *));
        if (!a) return NULL;
        vm->objects = a;
        vm->objects_cap = cap;
    }
    Obj *o = mem_alloc_fast(vm, size);
    if (!o) return NULL;
    *o = (Obj){.type = t, .size = (uint32_t)size};
    vm->objects[vm->objects_len++] = o;
    return o;
}

Obj *obj_alloc(EddyVM *vm, TypeObject *t, size_t size) {
    Obj *o = alloc_linked(vm, t, size);
    if (!o) return NULL;
    char *body = (char *)o + sizeof(Obj);
    size_t n = size - sizeof(Obj);
#if !defined(EDDY_ASAN)
    if (size <= POOL_MAX) {
        // A pooled block spans whole 16-byte grains: clear the rest of them
        // with a few wide stores instead of a call to memset (the 24-byte
        // header ends in the middle of a grain).
        typedef struct Grain {
            uint64_t a, b;
        } Grain;
        *(uint64_t *)(void *)body = 0;
        Grain *g = (Grain *)(void *)(body + 8);
        for (size_t i = 0, k = (n + POOL_GRAIN - 1 - 8) / POOL_GRAIN; i < k; i++)
            g[i] = (Grain){0, 0};
        return o;
    }
#endif
    memset(body, 0, n);
    return o;
}

Obj *obj_alloc_uninit(EddyVM *vm, TypeObject *t, size_t size) { return alloc_linked(vm, t, size); }

// Mark o now: set its bit and queue it for tracing.
static void mark_now(EddyVM *vm, Obj *o) {
    if (o->gc_marked) return;
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

// Reading an object's mark bit is usually a cache miss (a dict's keys are
// scattered over the heap), so marking goes through a small ring: o is
// prefetched now and its bit is looked at MARK_RING calls later.
void gc_mark_obj(EddyVM *vm, Obj *o) {
    if (!o) return;
    __builtin_prefetch(o, 1);
    unsigned i = vm->mark_ring_pos;
    Obj *due = vm->mark_ring[i];
    vm->mark_ring[i] = o;
    vm->mark_ring_pos = (i + 1) % MARK_RING;
    if (due) mark_now(vm, due);
}

// Mark everything still in the ring; false if it was empty.
static bool flush_ring(EddyVM *vm) {
    bool any = false;
    for (unsigned i = 0; i < MARK_RING; i++) {
        Obj *o = vm->mark_ring[i];
        if (!o) continue;
        vm->mark_ring[i] = NULL;
        mark_now(vm, o);
        any = true;
    }
    return any;
}

static void trace(EddyVM *vm, Obj *o) {
    // Every object's type is itself an object the collector must keep.
    gc_mark_obj(vm, (Obj *)o->type);
    if (o->type && o->type->trace) o->type->trace(vm, o);
}

static void drain(EddyVM *vm) {
    for (;;) {
        while (vm->gray_len > 0) trace(vm, vm->gray[--vm->gray_len]);
        if (flush_ring(vm)) continue;
        if (!vm->gray_overflow) return;
        // Some marked objects were never traced: trace every marked object
        // again (re-marking is idempotent, so this only finds new objects).
        vm->gray_overflow = false;
        for (size_t i = 0; i < vm->objects_len; i++)
            if (vm->objects[i]->gc_marked) trace(vm, vm->objects[i]);
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
    loop_mark_roots(vm);
}

// How many slots ahead the sweep prefetches: enough to cover a memory
// latency with the work of that many objects.
#define SWEEP_PREFETCH 16

// Free one object: its owned C memory first, then the object itself.
static void release(EddyVM *vm, Obj *o) {
    if (o->type && o->type->finalize) o->type->finalize(vm, o);
    mem_free_fast(vm, o, o->size);
}

// After a sweep, give back a heap array that even this cycle (`peak`
// objects before the sweep) used little of, keeping room for half as many
// again: the next cycle usually allocates about as many objects, and
// shrinking below that would regrow (and copy) the array every cycle.
static void shrink_objects(EddyVM *vm, size_t peak) {
    size_t cap = vm->objects_cap, kept = vm->objects_len;
    if (cap <= OBJECTS_MIN || peak > cap / 4) return;
    size_t want = OBJECTS_MIN;
    while (want < peak + peak / 2) want *= 2;
    Obj **a = mem_alloc_raw(vm, want * sizeof(Obj *));
    if (!a) return; // keeping the larger array is fine
    memcpy(a, vm->objects, kept * sizeof(Obj *));
    mem_free_raw(vm, vm->objects, cap * sizeof(Obj *));
    vm->objects = a;
    vm->objects_cap = want;
}

int gc_track(EddyVM *vm, Obj *o) {
    if (EDDY_UNLIKELY(vm->tracked_len == vm->tracked_cap)) {
        size_t cap = vm->tracked_cap ? vm->tracked_cap * 2 : 256;
        Obj **a = mem_alloc_raw(vm, cap * sizeof(Obj *));
        if (!a) {
            vm_raise_nomem(vm);
            return -1;
        }
        if (vm->tracked) {
            memcpy(a, vm->tracked, vm->tracked_len * sizeof(Obj *));
            mem_free_raw(vm, vm->tracked, vm->tracked_cap * sizeof(Obj *));
        }
        vm->tracked = a;
        vm->tracked_cap = cap;
    }
    vm->tracked[vm->tracked_len++] = o;
    return 0;
}

// Give dead TPF_EARLY_FINALIZE objects (all tracked) their hook while every
// object is still intact, in heap order. Skipped while no object needs it.
static void early_finalize_dead(EddyVM *vm) {
    if (!vm->early_finalize_live) return;
    for (size_t i = 0; i < vm->tracked_len; i++) {
        Obj *o = vm->tracked[i];
        if (o->gc_marked | o->gc_pinned) continue;
        TypeObject *t = o->type;
        if (t && (t->flags & TPF_EARLY_FINALIZE) && t->early_finalize) t->early_finalize(vm, o);
    }
}

// Before the sweep: the dead leave vm->tracked (order kept).
static void prune_tracked(EddyVM *vm) {
    size_t kept = 0;
    for (size_t i = 0; i < vm->tracked_len; i++) {
        Obj *o = vm->tracked[i];
        if (o->gc_marked | o->gc_pinned) vm->tracked[kept++] = o;
    }
    vm->tracked_len = kept;
}

void gc_collect(EddyVM *vm) {
    if (vm->in_gc) return;
    vm->in_gc = true;
    vm->gc_requested = false;
    size_t before = vm->bytes_allocated;
    mark_roots(vm);
    drain(vm);
    // Dead generators whose close() would run code survive, queued (obj_gen.c).
    if (vm->early_finalize_live && gen_gc_resurrect(vm)) drain(vm);
    early_finalize_dead(vm);
    prune_tracked(vm);

    // Sweep, compacting the survivors in place (their order is kept).
    // Pinned objects (interned strings, static singletons) survive.
    Obj **objs = vm->objects;
    size_t n = vm->objects_len, kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + SWEEP_PREFETCH < n) __builtin_prefetch(objs[i + SWEEP_PREFETCH], 1);
        Obj *o = objs[i];
        if (o->gc_marked | o->gc_pinned) {
            o->gc_marked = 0;
            objs[kept++] = o;
        } else if (EDDY_UNLIKELY(o->type->flags & TPF_TYPE_SUBCLASS)) {
            // A dead class may be swept before its dead instances (or, after
            // a __class__ assignment, after them), and releasing an instance
            // reads its type: free dead classes only once the sweep is over.
            // The gray stack is empty now and serves as the list; when it is
            // full, the class simply survives until the next collection.
            if (vm->gray_len < vm->gray_cap)
                vm->gray[vm->gray_len++] = o;
            else
                objs[kept++] = o;
        } else {
            release(vm, o);
        }
    }
    vm->objects_len = kept;
    // Finalize every dead class before freeing any (a metaclass may die too).
    for (size_t i = 0; i < vm->gray_len; i++) {
        Obj *o = vm->gray[i];
        if (o->type->finalize) o->type->finalize(vm, o);
    }
    for (size_t i = 0; i < vm->gray_len; i++) mem_free(vm, vm->gray[i], vm->gray[i]->size);
    vm->gray_len = 0;
    // A gray stack that grew large (100k pending tasks are marked from the
    // loop's registry at once) goes back to the allocator until the next
    // collection, rather than staying in the program's peak memory. Not
    // under a memory limit: near the limit, growing it again would be
    // refused mid-collection, and marking would fall back to rescanning the
    // heap (gray_overflow), which is slow.
    if (vm->gray_cap > GRAY_KEEP && !vm->mem_limit) {
        mem_free_raw(vm, vm->gray, vm->gray_cap * sizeof(Obj *));
        vm->gray = NULL;
        vm->gray_cap = 0;
    }
    shrink_objects(vm, n);
    // Collect again after the heap doubles, but at least every GC_MIN_GROWTH
    // bytes. A small nursery pays off: a program with a small live heap then
    // reuses freed blocks while they are still in the cache, and each
    // collection marks little (measured: strings bench 1.20s -> 0.92s going
    // from a 32 MiB to a 1 MiB floor).
    // A collection that freed less than an eighth of the heap finds a
    // program building up long-lived data (100k tasks being created): the
    // next one waits until the heap is four times as large, so that the
    // growth is not marked over and over (task_spawn 0.20 s -> 0.17 s,
    // semaphore 0.30 s -> 0.28 s; peak memory changed by under 5%).
    size_t live = vm->bytes_allocated;
    size_t next = live > before / 8 * 7 ? live * 4 : live * 2;
    vm->gc_threshold = next > live + GC_MIN_GROWTH ? next : live + GC_MIN_GROWTH;
    // Under a memory limit, collect before the limit is reached, or garbage
    // would turn into a MemoryError: halfway to the limit from the live size,
    // but no sooner than limit/8 from now, so that a nearly full heap does not
    // collect on every safe point.
    if (vm->mem_limit && live < vm->mem_limit) {
        size_t gap = (vm->mem_limit - live) / 2;
        if (gap < vm->mem_limit / 8) gap = vm->mem_limit / 8;
        size_t cap = live + gap;
        if (vm->gc_threshold > cap) vm->gc_threshold = cap;
    }
    // The collection's own allocations (a growing gray stack) crossed the
    // old threshold and asked for another collection: that would mark the
    // whole heap again for nothing.
    vm->gc_requested = vm->bytes_allocated > vm->gc_threshold;
    vm->in_gc = false;
    // Script code runs only now that the collection is over.
    if (EDDY_UNLIKELY(vm->gen_pending_len != 0)) gen_close_pending(vm);
}

// Free every object (VM teardown) in one pass over the heap: each object's
// finalizer runs, then it is freed, except that classes are freed only at
// the end, since every later object's finalizer is found through its type.
// Finalizers must not allocate or look at other objects.
void gc_free_all(EddyVM *vm) {
    // Everything is dead now; nothing is marked after a collection (and
    // only tracked objects have early finalizers).
    for (size_t i = 0; i < vm->tracked_len; i++) vm->tracked[i]->gc_marked = 0;
    early_finalize_dead(vm);
    if (vm->tracked) mem_free_raw(vm, vm->tracked, vm->tracked_cap * sizeof(Obj *));
    vm->tracked = NULL;
    vm->tracked_len = vm->tracked_cap = 0;
    if (vm->warned) mem_free_raw(vm, vm->warned, vm->warned_cap * sizeof(uint64_t));
    vm->warned = NULL;
    vm->warned_len = vm->warned_cap = 0;
    size_t types = 0;
    for (size_t i = 0; i < vm->objects_len; i++) {
        if (i + SWEEP_PREFETCH < vm->objects_len)
            __builtin_prefetch(vm->objects[i + SWEEP_PREFETCH], 1);
        Obj *o = vm->objects[i];
        TypeObject *t = o->type;
        if (!t || (t->flags & TPF_TYPE_SUBCLASS)) {
            vm->objects[types++] = o; // a class (or a static type's bootstrap)
            continue;
        }
        if (t->finalize) t->finalize(vm, o);
        mem_free(vm, o, o->size);
    }
    for (size_t i = 0; i < types; i++) {
        Obj *o = vm->objects[i];
        if (o->type && o->type->finalize) o->type->finalize(vm, o);
    }
    for (size_t i = 0; i < types; i++) mem_free(vm, vm->objects[i], vm->objects[i]->size);
    if (vm->objects) mem_free_raw(vm, vm->objects, vm->objects_cap * sizeof(Obj *));
    vm->objects = NULL;
    vm->objects_len = vm->objects_cap = 0;
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
