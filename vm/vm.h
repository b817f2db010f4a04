// vm.h - the VM state and the internal API shared between the core's files.
//
// Everything hangs off EddyVM: no global mutable state anywhere in the
// library, so several VMs live in one process.
//
// Conventions (see also value.h):
// - A function returning Value returns V_NULL iff it raised (exception pending
//   in vm->exc). A function returning int uses -1 for "raised".
//   Look-ups return 1 found / 0 not found / -1 raised.
// - Allocation never collects. The collector runs only at safe points in the
//   interpreter (calls, returns, backward jumps), so C code may hold
//   unrooted temporaries freely UNLESS it calls back into script code
//   (vm_call and anything that may run a dunder: vm_repr, vm_eq, vm_hash,
//   vm_getattr, vm_iter/vm_next, ...). Around such calls, keep temporaries
//   reachable: either in rooted places (args arrays given to a native are
//   rooted; objects reachable from them are too) or with vm_push_root() /
//   vm_pop_roots().
// - Each section below names the file that implements it; only that file
//   defines those functions.
#ifndef EDDY_VM_H
#define EDDY_VM_H

#ifndef EDDY_BUILD_CORE
#error "vm/vm.h is internal to the Eddy core"
#endif

#include <stdarg.h>
#include <stdio.h>

#include "eddy.h"
#include "object.h"

#if defined(__GNUC__)
#define EDDY_NODISCARD __attribute__((warn_unused_result))
#define EDDY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define EDDY_LIKELY(x) __builtin_expect(!!(x), 1)
#define EDDY_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define EDDY_NODISCARD
#define EDDY_PRINTF(f, a)
#define EDDY_LIKELY(x) (x)
#define EDDY_UNLIKELY(x) (x)
#endif

struct Fiber; // vm/frame.h
struct Frame; // vm/frame.h
struct StrBuf;

typedef struct Names {
#define NAME(field, text) StrObject *field;
#include "names.def"
#undef NAME
} Names;

struct EddyVM {
    // ---- memory (vm/mem.c, vm/gc.c)
    EddyAllocFn alloc_fn; // realloc-like host hook
    void *alloc_ud;
    size_t bytes_allocated; // live bytes counted through mem.c
    size_t mem_limit;       // 0 = unlimited; exceeding raises MemoryError
    size_t gc_threshold;    // collect at the next safe point once bytes_allocated exceeds it
    bool gc_requested;      // set by the allocator; checked at safe points
    bool gc_stress;         // collect at every safe point (testing)
    bool in_gc;
    size_t early_finalize_live; // live objects that may need early_finalize (0: skip the pass)
    // Hashes of the "never awaited" warnings already shown: like CPython's
    // default filter, each (file, line, name) is reported once. Raw memory.
    uint64_t *warned;
    size_t warned_len, warned_cap;
    bool gray_overflow; // the gray stack could not grow: rescan (gc.c)
    Obj **objects;      // every heap object, oldest first (gc.c)
    size_t objects_len, objects_cap;
    // Small-block pools (mem.c): free list per 16-byte size class.
#define POOL_MAX 1024
#define POOL_GRAIN 16
#define POOL_CLASSES (POOL_MAX / POOL_GRAIN)
    struct FreeBlock *pool_free[POOL_CLASSES];
    struct PoolPage *pool_pages;
    char *pool_bump, *pool_end;
    Obj **gray; // gray stack
#define MARK_RING 8
    Obj *mark_ring[MARK_RING]; // marks waiting for their prefetch (gc.c)
    unsigned mark_ring_pos;
    size_t gray_len, gray_cap;
    Value *roots; // temporary root stack (vm_push_root)
    size_t roots_len, roots_cap;
    uint64_t fail_alloc_at; // testing: fail the Nth allocation (0 = never)
    uint64_t alloc_count;

    // ---- interned strings (vm/obj_str.c): open-addressing set of StrObject*
    StrObject **intern;
    size_t intern_len, intern_cap;
    Names names;

    // ---- builtin types (types.def) and exceptions (exceptions.def)
#define TYPE(field, pyname) TypeObject *field;
#include "types.def"
#undef TYPE
#define EXC(name, base) TypeObject *exc_##name;
#include "exceptions.def"
#undef EXC

    // ---- singletons
    Value not_implemented; // NotImplemented
    Value ellipsis;        // Ellipsis
    TupleObject *empty_tuple;
    StrObject *char_cache[128]; // one-character ASCII strings (obj_str.c)

    // ---- errors (vm/error.c)
    Value exc;          // pending exception (ExceptionObject) or V_NULL
    Value memory_error; // preallocated MemoryError instance
    Value handled_exc;  // exception currently being handled (sys.exc_info) or V_NULL

    // ---- interpreter (vm/interp.c, vm/call.c, vm/frame.h)
    struct Fiber *fiber; // the running fiber (main fiber for now)
    struct Fiber *main_fiber;
    uint32_t recursion_limit; // max frame depth (sys.setrecursionlimit), default 1000
    uint32_t native_depth;    // nested dispatch loops (native -> script calls)
    uint32_t c_depth;         // recursion guard for C-recursive helpers (repr of nested lists ...)
    // Attribute/method cache (vm/obj_type.c): keyed by (type version, name)
    struct AttrCacheEntry *attr_cache; // 4096 entries
    volatile int interrupt;            // host asked to stop (checked at safe points)

    // ---- modules (vm/import.c)
    DictObject *modules;    // sys.modules
    ModuleObject *builtins; // the builtins module
    ModuleObject *sys;      // the sys module
    DictObject *builtins_dict;
    ListObject *path;         // sys.path
    DictObject *source_cache; // filename -> str source, for tracebacks of -c / REPL code
    Value repr_stack;         // list of objects being repr'ed (recursive repr "[...]")
    // import.c: registry of native modules, name -> init function (stored as an
    // int); reached by the GC through the sys module's trace.
    DictObject *native_modules;

    // ---- asyncio (vm/loop.c, vm/obj_future.c, stdlib/mod_asyncio.c)
    struct LoopObject *running_loop;  // the loop inside run_forever(), or NULL
    Value event_loop;                 // set_event_loop()'s loop, or V_NULL
    Value current_task;               // the task whose step is running, or V_NULL
    struct GenConsumer *gen_consumer; // the innermost gen_foreach (vm/frame.h), or NULL
    struct TaskObject **tasks;        // every pending task: the loop keeps them alive
    size_t tasks_len, tasks_cap;
    uint64_t task_counter; // default names Task-1, Task-2, ...
    // Debug mode: where futures, tasks and handles were created, keyed by
    // object (vm/loop.c): a side table, so the objects carry no field for it.
    struct SourceTraceback *source_tbs;
    size_t source_tbs_len, source_tbs_cap;
    // sys.set_coroutine_origin_tracking_depth(): frames kept in cr_origin.
    uint32_t coro_origin_depth;
    TypeObject *exc_CancelledError; // created with the _asyncio_core module
    TypeObject *exc_InvalidStateError;

    // ---- ints (vm/obj_int.c): sys.set_int_max_str_digits(); 0 = no limit.
    // Set to CPython's default 4300 by int_init_types().
    int64_t int_max_str_digits;

    // ---- host configuration
    EddyConfig config;
    // ---- generators the collector found dead while suspended in a try/with
    // (vm/obj_gen.c): kept alive (flagged, resurrected by each collection)
    // until gen_close_pending() closes them after the collection. Raw memory.
    Obj **gen_pending;
    size_t gen_pending_len, gen_pending_cap;
    // ---- objects a collection looks at even when dead (gc_track): every
    // TPF_EARLY_FINALIZE object and every generator, coroutine and async
    // generator, in heap order; the dead ones leave at each collection, so
    // the collector's generator hooks visit these instead of the whole heap.
    // Raw memory.
    Obj **tracked;
    size_t tracked_len, tracked_cap;
    bool gen_closing;    // gen_close_pending() is running
    uint64_t gen_closed; // how many it has closed (gc.collect() repeats while it grows)
    bool gc_disabled;    // gc.disable(): reported by gc.isenabled() only (stdlib/mod_gc.c)

    int exit_code; // set when SystemExit ends a run (api.c)
    int argc;
    char **argv;
};

// ===========================================================================
// vm/mem.c - the one allocator everything goes through
void *mem_alloc(EddyVM *vm, size_t size); // NULL + MemoryError on failure
void *mem_realloc(EddyVM *vm, void *p, size_t old_size, size_t new_size); // NULL + MemoryError
void mem_free(EddyVM *vm, void *p, size_t size);
// The out-of-line paths of mem_alloc_fast and mem_free_fast (below).
void *mem_alloc_slow(EddyVM *vm, size_t size);
void mem_free_slow(EddyVM *vm, void *p, size_t size);
// Allocation without raising (GC internals, error paths): NULL on failure.
void *mem_alloc_raw(EddyVM *vm, size_t size);
void mem_free_raw(EddyVM *vm, void *p, size_t size);
void *mem_default_alloc(void *ud, void *ptr, size_t old_size, size_t new_size);
void mem_release_pools(EddyVM *vm); // teardown, after every object is freed

// Sanitizer builds bypass the pools so AddressSanitizer sees every block.
#if defined(__SANITIZE_ADDRESS__)
#define EDDY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EDDY_ASAN 1
#endif
#endif

// A free small block, linked into its class's free list (mem.c). `skip` is
// next->next, so a pop can prefetch two blocks ahead: freed blocks are
// scattered over the heap, and one pop of warning is too little to hide a
// cache miss.
typedef struct FreeBlock {
    struct FreeBlock *next;
    struct FreeBlock *skip;
} FreeBlock;

static inline void pool_push(EddyVM *vm, size_t cls, void *p) {
    FreeBlock *b = p, *head = vm->pool_free[cls];
    b->next = head;
    b->skip = head ? head->next : NULL; // head is warm: just pushed or prefetched
    vm->pool_free[cls] = b;
}

// mem_alloc and mem_free inlined, for the hottest callers (obj_alloc, the
// sweep): pop or push a pooled block of the right class. A memory limit,
// the testing build's fault injection and sanitizer builds take the
// out-of-line path. (Not inlined everywhere: in interp_run the extra code
// cost more than the calls it saved.)
static inline void *mem_alloc_fast(EddyVM *vm, size_t size) {
#if !defined(EDDY_ASAN) && !defined(EDDY_TESTING)
    size_t cls = (size - 1) / POOL_GRAIN; // size 0 wraps to a huge class
    if (EDDY_LIKELY(cls < POOL_CLASSES && vm->mem_limit == 0)) {
        FreeBlock *b = vm->pool_free[cls];
        if (EDDY_LIKELY(b != NULL)) {
            vm->pool_free[cls] = b->next;
            __builtin_prefetch(b->skip, 1);
            vm->bytes_allocated += (cls + 1) * POOL_GRAIN;
            if (EDDY_UNLIKELY(vm->bytes_allocated > vm->gc_threshold)) vm->gc_requested = true;
            return b;
        }
    }
#endif
    return mem_alloc_slow(vm, size);
}

static inline void mem_free_fast(EddyVM *vm, void *p, size_t size) {
#if !defined(EDDY_ASAN)
    size_t cls = (size - 1) / POOL_GRAIN;
    if (EDDY_LIKELY(cls < POOL_CLASSES && p != NULL)) {
        pool_push(vm, cls, p);
        vm->bytes_allocated -= (cls + 1) * POOL_GRAIN;
        return;
    }
#endif
    mem_free_slow(vm, p, size);
}

// ===========================================================================
// vm/gc.c - precise mark-sweep
// Allocate a zeroed object of `size` bytes with type t, linked into the heap.
// NULL + MemoryError on failure.
Obj *obj_alloc(EddyVM *vm, TypeObject *t, size_t size);
// Added by gc.c: obj_alloc without clearing the body (after the Obj header):
// the caller fills every field before the next safe point (str_alloc).
Obj *obj_alloc_uninit(EddyVM *vm, TypeObject *t, size_t size);
void gc_mark_obj(EddyVM *vm, Obj *o); // o may be NULL
static inline void gc_mark_value(EddyVM *vm, Value v) {
    if (v.tag == V_OBJ) gc_mark_obj(vm, v.as.o);
}
void gc_collect(EddyVM *vm);
void gc_free_all(EddyVM *vm); // teardown: finalize and free every object
// Register o, just allocated (no other object allocated since), in
// vm->tracked: required for TPF_EARLY_FINALIZE objects and generators.
// 0 / -1 MemoryError.
EDDY_NODISCARD int gc_track(EddyVM *vm, Obj *o);
// Called by the interpreter at safe points.
static inline void gc_safepoint(EddyVM *vm) {
    if (EDDY_UNLIKELY(vm->gc_requested || vm->gc_stress)) gc_collect(vm);
}
EDDY_NODISCARD int vm_push_root(EddyVM *vm, Value v); // 0 / -1 MemoryError
void vm_pop_roots(EddyVM *vm, size_t n);

// ===========================================================================
// Type initialisation, called once by vm_new() in this order after every
// TypeObject in types.def exists (blank, named) and names.def is interned.
// Each fills in its types with type_new_builtin()/type_add_method(); vm.c
// then calls type_ready() on all of types.def in order. 0 / -1.
int object_init_types(
    EddyVM *vm);                  // obj_object.c / obj_type.c: object type super property
                                  //   classmethod staticmethod NoneType NotImplementedType ellipsis
int type_init_types(EddyVM *vm);  // obj_type.c, called by object_init_types (added by obj_type.c)
int ops_init_types(EddyVM *vm);   // ops.c, called by object_init_types (added by ops.c)
int func_init_types(EddyVM *vm);  // obj_func.c: function builtin_function method cell
int code_init_type(EddyVM *vm);   // obj_code.c
int int_init_types(EddyVM *vm);   // obj_int.c: int bool
int float_init_type(EddyVM *vm);  // obj_float.c
int str_init_types(EddyVM *vm);   // obj_str.c: str str_iterator
int bytes_init_types(EddyVM *vm); // obj_bytes.c
int tuple_init_types(EddyVM *vm); // obj_tuple.c
int list_init_types(EddyVM *vm);  // obj_list.c
int dict_init_types(EddyVM *vm);  // obj_dict.c
int set_init_types(EddyVM *vm);   // obj_set.c
int range_init_types(EddyVM *vm); // obj_range.c
int slice_init_type(EddyVM *vm);  // obj_slice.c
int iter_init_types(
    EddyVM *vm); // obj_iter.c: enumerate zip map filter reversed iterator callable_iterator
int module_init_type(EddyVM *vm);    // import.c
int traceback_init_type(EddyVM *vm); // error.c
int io_init_types(EddyVM *vm);       // stdlib/mod_io.c
int gen_init_types(EddyVM *vm);      // obj_gen.c: generator frame
// obj_gen.c: anext(aiter, default)'s awaitable. V_NULL + MemoryError.
Value gen_anext_awaitable_new(EddyVM *vm, Value aiter, Value dflt);
// obj_gen.c, for the collector: after marking, keep alive (mark) every dead
// generator, coroutine or async generator (all in vm->tracked) suspended where closing it would
// run code (a try/with around its yield) and queue it; true if any was
// marked (the caller drains again). No script code runs.
bool gen_gc_resurrect(EddyVM *vm);
// Close the queued generators (after a collection, outside the collector);
// an exception from close() is printed as "Exception ignored in: ..." and
// cleared. Runs script code.
void gen_close_pending(EddyVM *vm);
// VM teardown (eddy_vm_free, before anything is freed): close every
// generator still suspended where closing runs code, as CPython does at exit.
void gen_close_all(EddyVM *vm);
// gc.c / vm_free: release the queue's memory.
void gen_free_pending(EddyVM *vm);
int gc_module_init(EddyVM *vm, ModuleObject *m); // stdlib/mod_gc.c: the gc module
int loop_init_types(EddyVM *vm);                 // loop.c: event loop, Handle, TimerHandle
int future_init_types(EddyVM *vm);               // obj_future.c: Future, FutureIter, Task
// `await future` for an exact Future or Task: its FutureIter (obj_future.c).
Value future_await_iter(EddyVM *vm, Value future);
// GC: the running loop, the pending tasks and the asyncio exception types (loop.c).
void loop_mark_roots(EddyVM *vm);
// vm_free: release the task registry and close loops' descriptors (loop.c).
void loop_free_all(EddyVM *vm);
// Called after all type_ready(): creates the exception classes of
// exceptions.def (obj_exc.c) and vm->memory_error.
int exc_init_types(EddyVM *vm);
// Called last: builtins and sys modules, native module registry (import.c).
int import_init(EddyVM *vm);

// ===========================================================================
// vm/vm.c - VM creation and bootstrap
EddyVM *vm_new(const EddyConfig *config); // NULL if out of memory
void vm_free(EddyVM *vm);

// ===========================================================================
// vm/error.c - raising, matching, tracebacks
// Raise an exception of type t with a message built by str_format().
// Always returns V_NULL so callers can `return vm_raise(...)`.
Value vm_raise(EddyVM *vm, TypeObject *t, const char *fmt, ...);
Value vm_raise_value(EddyVM *vm, Value exc); // exc: instance or class (instantiated)
Value vm_raise_nomem(EddyVM *vm);            // the preallocated MemoryError
bool vm_err_occurred(EddyVM *vm);
bool vm_err_matches(EddyVM *vm, TypeObject *t); // pending exception isinstance of t
Value vm_err_fetch(EddyVM *vm);                 // take the pending exception (V_NULL if none)
void vm_err_clear(EddyVM *vm);
// Raise NameError "name 'x' is not defined" from a running frame, with its
// `name` attribute and the "Did you mean" suggestion CPython 3.11 prints.
Value vm_raise_name_error(EddyVM *vm, StrObject *name, struct Frame *frame);
// The closest of n candidate names to `name` by CPython's suggestion rules
// (weighted Levenshtein, at most a third of the characters changed), or NULL.
StrObject *error_suggest(StrObject *name, const Value *candidates, size_t n);
// Append a traceback entry for (code, pc) to the pending exception.
void vm_traceback_add(EddyVM *vm, CodeObject *code, uint32_t pc);
// Print exc with its traceback and chained exceptions, CPython 3.11 style.
void vm_print_exception(EddyVM *vm, Value exc, FILE *out);
// Line number of instruction pc (0 if none).
uint32_t code_line_of(const CodeObject *code, uint32_t pc);
// Print line `lineno` of filename's source, stripped, after prefix and with a
// newline; nothing if unavailable. Allocates no VM objects (safe in the GC).
void vm_print_source_line(EddyVM *vm, FILE *out, StrObject *filename, uint32_t lineno,
                          const char *prefix);
const LineEntry *code_location_of(const CodeObject *code, uint32_t pc);
// A call stack kept for a diagnostic (coroutine.cr_origin, asyncio debug
// mode's _source_traceback): each frame's code and instruction offset.
typedef struct StackEntry {
    CodeObject *code; // the GC must see it while the entry is kept
    uint32_t pc;
} StackEntry;
// The running stack from frame `from` (NULL: the innermost) outwards, at most
// max frames, innermost first into out (NULL: only count). Returns how many.
size_t vm_capture_stack(EddyVM *vm, struct Frame *from, StackEntry *out, size_t max);
// As CPython's traceback.extract_stack() lists it: outermost first, one
// tuple (filename, lineno, name, line) per frame, line stripped ('' when the
// source is unavailable). NULL + MemoryError.
ListObject *vm_stack_summary(EddyVM *vm, const StackEntry *stack, size_t n);
// Append traceback.format_list(summary) to b: "  File ..., line N, in name"
// and the source line per item (4-item tuples or lists), repeats collapsed
// as CPython 3.11 does. -1 (exception pending) if an item is malformed.
int vm_format_stack_summary(EddyVM *vm, struct StrBuf *b, ListObject *summary);
// An exception's last traceback line, without notes or a newline, as
// traceback.format_exception_only gives it ("module.Type: message").
void vm_format_exception_only(EddyVM *vm, struct StrBuf *b, Value exc);

// ===========================================================================
// vm/interp.c, vm/call.c - running code
// Call any callable. args as for NativeFn. Runs a nested dispatch loop when
// callable is script code.
Value vm_call(EddyVM *vm, Value callable, Value *args, int nargs, TupleObject *kwnames);
// callable(*args, key=v), for at most 7 positional arguments.
Value vm_call_kw1(EddyVM *vm, Value callable, const Value *args, int nargs, const char *key,
                  Value v);
Value vm_call0(EddyVM *vm, Value callable);
Value vm_call1(EddyVM *vm, Value callable, Value a);
Value vm_call2(EddyVM *vm, Value callable, Value a, Value b);
// Look up `name` on obj's type and call it with obj as self (plus args).
// Returns V_NULL + AttributeError if missing.
Value vm_call_method(EddyVM *vm, Value obj, StrObject *name, Value *args, int nargs);
// Execute a module-level code object with the given globals (and locals
// dict, which may equal globals). Returns the result (None for modules).
Value vm_exec_code(EddyVM *vm, CodeObject *code, DictObject *globals, DictObject *locals);
// Call a FunctionObject with an explicit locals dict (class bodies).
Value vm_exec_function_with_locals(EddyVM *vm, FunctionObject *f, DictObject *locals);
// Create the main fiber (called by vm_new after the types exist) and free
// every fiber and what interp/call own (vm_free, before objects are freed).
int interp_init(EddyVM *vm);
void interp_free(EddyVM *vm);
// GC: mark every fiber, frame and value stack.
void interp_mark_roots(EddyVM *vm);
// The innermost running script frame's code and function (for super(),
// globals(), locals(), warnings); NULL if none.
struct Frame *vm_current_frame(EddyVM *vm);

// ===========================================================================
// vm/ops.c - abstract operations (dispatch through type slots / dunders)
TypeObject *vm_type_of(EddyVM *vm, Value v);   // never NULL
const char *vm_type_name(EddyVM *vm, Value v); // "int", "MyClass"
Value vm_repr(EddyVM *vm, Value v);            // str or V_NULL
Value vm_str(EddyVM *vm, Value v);             // str or V_NULL
Value vm_ascii(EddyVM *vm, Value v);
Value vm_format(EddyVM *vm, Value v, Value spec); // format(v, spec); spec is a str
int vm_hash(EddyVM *vm, Value v, int64_t *out);   // TypeError "unhashable type: 'list'"
int vm_truthy(EddyVM *vm, Value v);               // 1/0/-1
int vm_eq(EddyVM *vm, Value a, Value b);          // 1/0/-1 (a == b with fallbacks; identity first)
Value vm_compare(
    EddyVM *vm, Value a, Value b,
    int op); // CMP_*; TypeError "'<' not supported between instances of 'int' and 'str'"
int vm_compare_bool(EddyVM *vm, Value a, Value b, int op);   // 1/0/-1
Value vm_binary_op(EddyVM *vm, int binop, Value a, Value b); // BINOP_* incl. inplace variants
Value vm_unary_op(EddyVM *vm, int opcode, Value a);          // OP_UNARY_NEGATIVE/POSITIVE/INVERT
Value vm_getattr(EddyVM *vm, Value obj, StrObject *name);
int vm_getattr_opt(EddyVM *vm, Value obj, StrObject *name,
                   Value *out); // 1/0 (AttributeError swallowed)/-1
int vm_setattr(EddyVM *vm, Value obj, StrObject *name, Value v); // v V_NULL: delete
Value vm_getitem(EddyVM *vm, Value c, Value k);
int vm_setitem(EddyVM *vm, Value c, Value k, Value v); // v V_NULL: delete
int vm_contains(EddyVM *vm, Value c, Value item);      // 1/0/-1
Value vm_iter(EddyVM *vm, Value v);                    // TypeError "'int' object is not iterable"
int vm_next(EddyVM *vm, Value it, Value *out);         // 1 item / 0 exhausted / -1 error
int64_t vm_len(EddyVM *vm, Value v);                   // -1 error
int vm_isinstance(EddyVM *vm, Value v, Value cls); // cls may be a tuple; honours __instancecheck__
int vm_issubclass(EddyVM *vm, Value derived, Value cls);
bool type_is_subtype(TypeObject *a, TypeObject *b);  // MRO walk, no errors
Value vm_index(EddyVM *vm, Value v);                 // __index__ -> int value, TypeError otherwise
int vm_index_i64(EddyVM *vm, Value v, int64_t *out); // IndexError/OverflowError on huge
// Call fn for each item of iterable; stops early when fn returns nonzero.
int vm_foreach(EddyVM *vm, Value iterable, int (*fn)(EddyVM *vm, Value item, void *ud), void *ud);
Value vm_sequence_to_list(EddyVM *vm, Value iterable); // list(iterable)
Value vm_sequence_to_tuple(EddyVM *vm, Value iterable);
// Added by ops.c: call `descr` (a value found on type(self), e.g. by
// type_lookup) as a method of self: functions and native methods get self
// prepended, other descriptors are bound through descr_get first, plain
// callables are called without self. self must be rooted by the caller.
Value vm_call_special(EddyVM *vm, Value descr, Value self, Value *args, int nargs,
                      TupleObject *kwnames);

// ===========================================================================
// vm/obj_type.c, vm/obj_object.c - types, classes, attribute machinery
static inline bool is_type(EddyVM *vm, Value v);
TypeObject *type_new_builtin(EddyVM *vm, TypeObject *t, TypeObject *base, size_t instance_size,
                             uint32_t flags); // fills a blank TypeObject from types.def
int type_ready(EddyVM *vm, TypeObject *t);    // mro, slot inheritance, version; 0/-1
// Register a native method / classmethod / staticmethod / property getter.
int type_add_method(EddyVM *vm, TypeObject *t, const char *name, NativeFn fn, uint32_t flags);
int type_add_getter(EddyVM *vm, TypeObject *t, const char *name, NativeFn getter);
// Create a class (type(name, bases, ns) / class statement). NULL + exception.
TypeObject *type_new_class(EddyVM *vm, TypeObject *metatype, StrObject *name, TupleObject *bases,
                           DictObject *ns);
// Find name in t's MRO (no descriptor binding). V_NULL if absent; never raises.
Value type_lookup(EddyVM *vm, TypeObject *t, StrObject *name);

// type_lookup's cache (obj_type.c): (type version, interned name) -> value,
// direct-mapped. The interpreter reads it inline on its hottest look-ups.
#define ATTR_CACHE_SIZE 4096 // power of two
typedef struct AttrCacheEntry {
    uint32_t version; // 0: empty
    StrObject *name;
    Value value; // V_NULL: cached "not found"
} AttrCacheEntry;
static inline size_t attr_cache_slot(uint32_t version, const StrObject *name) {
    return (((uintptr_t)name >> 4) ^ (version * 2654435761u)) & (ATTR_CACHE_SIZE - 1);
}
// type_lookup with its cache hit inline.
static inline Value type_lookup_inline(EddyVM *vm, TypeObject *t, StrObject *name) {
    uint32_t ver = t->version;
    if (EDDY_LIKELY(ver != 0 && vm->attr_cache != NULL)) {
        AttrCacheEntry *e = &vm->attr_cache[attr_cache_slot(ver, name)];
        if (e->version == ver && e->name == name) return e->value;
    }
    return type_lookup(vm, t, name);
}
// object.__getattribute__ / __setattr__ generic algorithms.
Value object_generic_getattr(EddyVM *vm, Value obj, StrObject *name);
int object_generic_setattr(EddyVM *vm, Value obj, StrObject *name, Value v);
// Added by obj_object.c: object_generic_getattr without raising for a
// missing attribute: 1 found (*out) / 0 missing / -1 other error.
int object_getattr_opt(EddyVM *vm, Value obj, StrObject *name, Value *out);
DictObject **object_dict_ptr(EddyVM *vm, Value obj); // &__dict__ or NULL
// Added by obj_type.c: the instance offset of a __slots__ member descriptor,
// or -1 if descr is not one (the interpreter's attribute caches).
int64_t type_member_offset(EddyVM *vm, Value descr);
// Added by obj_type.c: instances have no visible __dict__ (all levels use __slots__).
bool type_slots_only(TypeObject *t);
// Added by obj_type.c: set in a class's hdr.obj_flags while no class in its
// MRO holds a data descriptor under a name that does not start with "__", so
// such an attribute of an instance is its __dict__ entry whenever that has
// one (the interpreter's attribute fast paths then skip the type look-up).
#define TYPE_PLAIN_ATTRS 0x4u
void type_modified(EddyVM *vm, TypeObject *t); // invalidate caches for t and subclasses
Value builtin_build_class(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames);
// Added by obj_type.c: a property-like descriptor with native accessors. getter is
// called with args [obj]; setter (may be NULL: read-only) with [obj, value].
int type_add_property(EddyVM *vm, TypeObject *t, const char *name, NativeFn getter,
                      NativeFn setter);
// The same with a deleter (called with the instance alone).
int type_add_property_del(EddyVM *vm, TypeObject *t, const char *name, NativeFn getter,
                          NativeFn setter, NativeFn deleter);
// Added by obj_type.c: type.__call__ - t(*args): __new__ then __init__ (what
// calling a class does; the `type` type's call slot).
Value type_call(EddyVM *vm, Value type, Value *args, int nargs, TupleObject *kwnames);

// ===========================================================================
// vm/obj_func.c - functions, methods, cells
FunctionObject *function_new(EddyVM *vm, CodeObject *code, DictObject *globals);
NativeFunctionObject *native_new(EddyVM *vm, const char *name, NativeFn fn, Value self,
                                 uint32_t flags);
Value bound_method_new(EddyVM *vm, Value func, Value self);
CellObject *cell_new(EddyVM *vm, Value v);
// Added by obj_func.c: call callable(self, *args, **kw) (args laid out as for
// NativeFn). self must be reachable by the collector (rooted by the caller).
Value func_call_with_self(EddyVM *vm, Value callable, Value self, Value *args, int nargs,
                          TupleObject *kwnames);
// vm/obj_code.c
CodeObject *code_new(EddyVM *vm); // blank, fields filled by the compiler

// ===========================================================================
// vm/obj_exc.c - exception objects
// Create an instance of exception type t with args (a tuple; NULL = ()).
Value exc_new(EddyVM *vm, TypeObject *t, TupleObject *args);
Value exc_new_msg(EddyVM *vm, TypeObject *t, StrObject *msg);
bool is_exception(EddyVM *vm, Value v);
bool is_exception_type(EddyVM *vm, Value v);
// except* T (CHECK_EG_MATCH): check T, then split exc into the part T matches
// (a naked exception is wrapped in a group of one) and the rest; *match is
// None and *rest is exc when nothing matches. -1 with an exception pending.
int exc_group_match(EddyVM *vm, Value exc, Value type, Value *match, Value *rest);
// End of a try-except* (PREP_RERAISE_STAR): from the original exception and
// the list of what the clauses raised or left unhandled, the exception to
// re-raise, or None.
Value exc_prep_reraise_star(EddyVM *vm, Value orig, Value excs);

// ===========================================================================
// vm/obj_int.c - int (small and big) and bool
bool is_int(EddyVM *vm, Value v); // small or big int, or bool
bool is_bigint(Value v);
Value int_from_i64(EddyVM *vm, int64_t i); // == v_int(i)
Value int_from_u64(EddyVM *vm, uint64_t u);
Value int_from_double(EddyVM *vm, double d); // truncates; OverflowError for inf, ValueError for nan
// Parse digits (underscores allowed as in literals when `literal`); base 0
// detects 0x/0o/0b. ValueError "invalid literal for int() with base 10: 'x'".
Value int_from_string(EddyVM *vm, const char *s, size_t len, int base, bool literal);
int int_to_i64(EddyVM *vm, Value v,
               int64_t *out); // OverflowError "Python int too large to convert to C int64"
double int_to_double(EddyVM *vm, Value v, bool *overflow); // int too large -> *overflow
Value int_to_str(EddyVM *vm, Value v, int base);           // base 2/8/10/16, no prefix; str
int int_sign(Value v);                                     // -1 / 0 / 1
int int_compare(Value a, Value b);                         // both ints: -1/0/1
int64_t int_hash(Value v);
// Arithmetic on ints (small or big); results normalised to V_INT when they fit.
Value int_add(EddyVM *vm, Value a, Value b);
Value int_sub(EddyVM *vm, Value a, Value b);
Value int_mul(EddyVM *vm, Value a, Value b);
Value int_floordiv(EddyVM *vm, Value a,
                   Value b); // ZeroDivisionError "integer division or modulo by zero"
Value int_mod(EddyVM *vm, Value a, Value b);
Value int_pow(EddyVM *vm, Value a, Value b, Value mod); // mod V_NULL: none; negative exp -> float
Value int_neg(EddyVM *vm, Value a);
Value int_lshift(EddyVM *vm, Value a, Value b);
Value int_rshift(EddyVM *vm, Value a, Value b);
Value int_and(EddyVM *vm, Value a, Value b);
Value int_or(EddyVM *vm, Value a, Value b);
Value int_xor(EddyVM *vm, Value a, Value b);
Value int_invert(EddyVM *vm, Value a);
Value int_truediv(EddyVM *vm, Value a, Value b); // float result, correctly rounded
// Added by obj_int.c for the math module and builtins (divmod, abs):
Value int_abs(EddyVM *vm, Value a);
int int_divmod(EddyVM *vm, Value a, Value b, Value *q, Value *r); // floor semantics; 0/-1
int64_t int_bit_length(Value v);
double int_frexp(Value v, int64_t *e); // v = m * 2**e, 0.5 <= |m| < 1 (m correctly rounded)
// vm/obj_float.c
Value float_repr(EddyVM *vm, double d);                 // shortest round-trip, CPython's repr
size_t float_repr_buf(double d, char *buf, size_t cap); // same, into buf (>= 32 bytes)
Value float_floordiv(EddyVM *vm, double a, double b);
Value float_mod(EddyVM *vm, double a, double b);
Value float_pow(EddyVM *vm, double a, double b);
int64_t float_hash(double d);                           // equal to int_hash for integral values
int float_from_value(EddyVM *vm, Value v, double *out); // float(v) for int/float/bool; -1 TypeError
// Added by obj_float.c: parse float() text (whitespace, sign, '_', inf/nan);
// 0, or -1 with ValueError "could not convert string to float: 'abc'".
int float_from_string(EddyVM *vm, const char *s, size_t len, double *out);
// round(x, ndigits) for floats, correctly rounded as CPython's (OverflowError
// "rounded value too large to represent"); huge |ndigits| may be clamped.
Value float_round(EddyVM *vm, double x, int64_t ndigits);

// ===========================================================================
// vm/obj_str.c - str
static inline bool is_str(EddyVM *vm, Value v);
StrObject *str_new(EddyVM *vm, const char *utf8, size_t len); // trusts the UTF-8
StrObject *str_from_cstr(EddyVM *vm, const char *s);
// Validate UTF-8 from outside (files, host); UnicodeDecodeError on bad bytes.
StrObject *str_decode_utf8(EddyVM *vm, const char *bytes, size_t len);
StrObject *str_intern(EddyVM *vm, const char *s, size_t len); // NULL + MemoryError
StrObject *str_intern_cstr(EddyVM *vm, const char *s);
StrObject *str_intern_obj(EddyVM *vm, StrObject *s);
// printf-like: %s (C str) %d %i %u %ld %lld %zu %zd %c %x %% and
//   %U (StrObject*), %R (repr of a Value), %S (str of a Value), %T (type name of a Value)
//   %V (Value: str if it is a str, else repr)
StrObject *str_format(EddyVM *vm, const char *fmt, ...);
StrObject *str_vformat(EddyVM *vm, const char *fmt, va_list ap);
int64_t str_hash(StrObject *s);
bool str_eq(StrObject *a, StrObject *b);
int str_compare(StrObject *a, StrObject *b); // code-point order: -1/0/1
StrObject *str_concat(EddyVM *vm, StrObject *a, StrObject *b);
Value str_getitem_index(EddyVM *vm, StrObject *s, int64_t i); // IndexError
Value str_mod(EddyVM *vm, Value fmt, Value args);             // "fmt" % args
Value str_repr(EddyVM *vm, StrObject *s);
// Added by obj_str.c for format.c, obj_bytes.c and other builders:
// a str of `len` bytes / `ncp` code points whose data the caller fills in
// (data[len] is already NUL; hash not yet computed). NULL + MemoryError.
StrObject *str_alloc(EddyVM *vm, size_t len, size_t ncp);
StrObject *str_from_codepoint(EddyVM *vm, uint32_t cp); // chr(cp); cp must be <= 0x10FFFF
size_t utf8_decode(const char *s, uint32_t *cp);      // one code point of trusted UTF-8; bytes used
int64_t str_hash_bytes(const void *data, size_t len); // the str hash function (never -1)
bool unicode_isspace(uint32_t cp);                    // str.isspace() of one code point
int unicode_decimal(uint32_t cp); // decimal digit value 0-9, or -1 (int("\u0663"))
// Copy s into buf (s->len bytes) with Unicode decimal digits mapped to ASCII
// and Unicode spaces to ' ', as int() and float() parse text. Returns the
// number of bytes written (never more than s->len).
size_t str_to_ascii_decimal(StrObject *s, char *buf);
// bytes -> str with a Python encoding name (utf-8, ascii, latin-1) and errors
// (strict, ignore, replace); V_NULL arguments mean the defaults. NULL + error.
StrObject *str_decode_bytes(EddyVM *vm, const uint8_t *data, size_t len, Value encoding,
                            Value errors);
// str -> bytes (str.encode, bytes(s, encoding)); V_NULL arguments mean the defaults.
Value str_encode_value(EddyVM *vm, StrObject *s, Value encoding, Value errors);

// A growable UTF-8 buffer for building strings (vm/strbuf.c).
typedef struct StrBuf {
    EddyVM *vm;
    char *data;
    size_t len, cap;
    bool failed; // an allocation failed; MemoryError is pending
} StrBuf;
void strbuf_init(EddyVM *vm, StrBuf *b);
bool strbuf_append(StrBuf *b, const char *s, size_t len);
bool strbuf_append_cstr(StrBuf *b, const char *s);
bool strbuf_append_str(StrBuf *b, StrObject *s);
bool strbuf_append_char(StrBuf *b, char c);
bool strbuf_append_codepoint(StrBuf *b, uint32_t cp);
bool strbuf_printf(StrBuf *b, const char *fmt, ...) EDDY_PRINTF(2, 3);
StrObject *strbuf_finish(StrBuf *b); // returns the str and frees the buffer; NULL on failure
void strbuf_discard(StrBuf *b);

// vm/format.c - the format-spec mini-language (format(), f-strings, str.format)
Value format_int(EddyVM *vm, Value v, StrObject *spec);
Value format_float(EddyVM *vm, double d, StrObject *spec);
Value format_str(EddyVM *vm, StrObject *s, StrObject *spec);
Value str_format_method(EddyVM *vm, StrObject *fmt, Value *args, int nargs, TupleObject *kwnames);
Value str_format_map(EddyVM *vm, StrObject *fmt, Value mapping); // added: str.format_map

// vm/obj_bytes.c
Value bytes_new(EddyVM *vm, const void *data, size_t len);
bool is_bytes(EddyVM *vm, Value v);
const uint8_t *bytes_data(Value v, size_t *len);

// ===========================================================================
// vm/obj_tuple.c, obj_list.c, obj_dict.c, obj_set.c, obj_range.c, obj_slice.c
TupleObject *tuple_new(EddyVM *vm, size_t len); // items initialised to None
TupleObject *tuple_from(EddyVM *vm, const Value *items, size_t len);
ListObject *list_new(EddyVM *vm, size_t cap);
ListObject *list_from(EddyVM *vm, const Value *items, size_t len);
// A list iterator (obj_list.c); FOR_ITER steps forward ones inline.
typedef struct ListIterObject {
    Obj hdr;
    ListObject *list; // NULL once exhausted
    int64_t index;    // next index; counts down for the reverse iterator
} ListIterObject;
EDDY_NODISCARD int list_append(EddyVM *vm, ListObject *l, Value v); // 0/-1
int list_extend(EddyVM *vm, ListObject *l, Value iterable);
int list_sort(EddyVM *vm, ListObject *l, Value key, bool reverse); // stable (timsort or merge)
DictObject *dict_new(EddyVM *vm);
int dict_get(EddyVM *vm, DictObject *d, Value key, Value *out);             // 1/0/-1
EDDY_NODISCARD int dict_set(EddyVM *vm, DictObject *d, Value key, Value v); // 0/-1
int dict_del(EddyVM *vm, DictObject *d, Value key); // 1 deleted / 0 missing / -1
// Fast paths for str keys that never run script code (str == str only).
Value dict_get_str(DictObject *d, StrObject *key); // V_NULL if absent
EDDY_NODISCARD int dict_set_str(EddyVM *vm, DictObject *d, StrObject *key, Value v);
int dict_del_str(EddyVM *vm, DictObject *d, StrObject *key); // 1/0
// Iterate: size_t pos = 0; while (dict_next(d, &pos, &k, &v)) ...
bool dict_next(DictObject *d, size_t *pos, Value *key, Value *value);
DictObject *dict_copy(EddyVM *vm, DictObject *d);
int dict_update(EddyVM *vm, DictObject *d, Value mapping_or_pairs);
Value set_new(EddyVM *vm, TypeObject *t); // t: set or frozenset
int set_add(EddyVM *vm, Value set, Value item);
int set_contains(EddyVM *vm, Value set, Value item);
Value range_new(EddyVM *vm, Value start, Value stop, Value step);
// A range iterator (obj_range.c); FOR_ITER steps small ones inline.
typedef struct RangeIterObject {
    Obj hdr;
    // small: next value and how many remain; big: the same as int Values.
    bool big;
    int64_t next, step, left;
    Value bnext, bstep, bleft;
} RangeIterObject;
Value slice_new(EddyVM *vm, Value start, Value stop, Value step);
// Resolve a slice for a sequence of length len (CPython's PySlice_AdjustIndices).
int slice_indices(EddyVM *vm, Value slice, int64_t len, int64_t *start, int64_t *stop,
                  int64_t *step, int64_t *slicelen);
// vm/obj_iter.c (added by the containers owner): the iterators that vm_iter()
// and iter(callable, sentinel) create. iter_seq_new: iter(seq) for an object
// with __getitem__ but no __iter__ (stops at IndexError/StopIteration).
Value iter_seq_new(EddyVM *vm, Value seq);
Value iter_callable_new(EddyVM *vm, Value callable, Value sentinel);

// ===========================================================================
// vm/import.c - modules and import
ModuleObject *module_new(EddyVM *vm, StrObject *name);
// Register a native module (`init` fills the module dict); imported lazily.
int vm_register_native_module(EddyVM *vm, const char *name,
                              int (*init)(EddyVM *vm, ModuleObject *m));
Value vm_import(EddyVM *vm, StrObject *name, Value fromlist, int level, DictObject *globals);
int module_add_function(EddyVM *vm, ModuleObject *m, const char *name, NativeFn fn);
int module_add_value(EddyVM *vm, ModuleObject *m, const char *name, Value v);
// True while m's code is still running (circular imports): IMPORT_FROM then
// says "cannot import name 'x' from partially initialized module 'm' (most
// likely due to a circular import) (path)" as CPython does.
bool module_is_initializing(EddyVM *vm, Value m);
// Compile and run a file / string as module `name` (e.g. "__main__").
Value vm_run_file(EddyVM *vm, const char *path, const char *module_name);
Value vm_run_string(EddyVM *vm, const char *src, const char *filename, const char *module_name);

// ===========================================================================
// stdlib/mod_builtins.c, mod_sys.c, mod_time.c, mod_math.c, mod_io.c
int builtins_init(EddyVM *vm, ModuleObject *m);
int sys_init(EddyVM *vm, ModuleObject *m);
int time_init(EddyVM *vm, ModuleObject *m);
int math_init(EddyVM *vm, ModuleObject *m);
int asyncio_core_init(EddyVM *vm, ModuleObject *m); // stdlib/mod_asyncio.c: `_asyncio`
// Write to sys.stdout / sys.stderr (through their write() methods).
int vm_write_stdout(EddyVM *vm, StrObject *s);
// stdlib/mod_io.c: flush the VM's own stdout/stderr objects (sys.__stdout__,
// sys.__stderr__); call at exit and before writing tracebacks to stderr.
void io_flush_std(EddyVM *vm);
// stdlib/mod_io.c: raise the OSError subclass for errno `err` with args
// (errno, strerror, filename) - "[Errno 2] No such file or directory: 'x'".
// filename may be NULL. Returns V_NULL.
Value io_raise_oserror(EddyVM *vm, int err, const char *filename);
// stdlib/mod_io.c: wrap an fd as a text stream (sys.stdin/stdout/stderr).
Value io_open_fd(EddyVM *vm, int fd, const char *name, const char *mode);
// stdlib/mod_io.c: the builtin open(); and fast paths used by print()/input()
// for the VM's own text files: io_write_text / io_flush_file return 1 done,
// 0 "not a native text file, use its methods", -1 error; io_readline_text
// returns the line, V_NULL on error, or None when the object is not native.
Value io_builtin_open(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames);
int io_write_text(EddyVM *vm, Value file, const char *data, size_t len);
int io_flush_file(EddyVM *vm, Value file);
Value io_readline_text(EddyVM *vm, Value file);
// stdlib/mod_io.c: the io module (open, StringIO, UnsupportedOperation, ...).
int io_module_init(EddyVM *vm, ModuleObject *m);

// Argument parsing helper for natives (stdlib/args.c):
//   "name" list of parameter names; returns 0 or -1 with TypeError set.
// Each out[i] is set to the argument value or left V_NULL when not given.
// npos_max: how many may be given positionally; nrequired: how many are required.
// (args.c) An empty name "" marks a positional-only parameter, as in Argument
// Clinic; checks and messages follow CPython 3.11's _PyArg_UnpackKeywords.
int args_parse(EddyVM *vm, const char *fname, Value *args, int nargs, TupleObject *kwnames,
               const char *const *names, int nnames, int npos_max, int nrequired, Value *out);
int args_no_kw(EddyVM *vm, const char *fname, TupleObject *kwnames);
int args_count(EddyVM *vm, const char *fname, int nargs, int min, int max);

// ===========================================================================
// inline type tests
static inline bool is_type(EddyVM *vm, Value v) {
    (void)vm;
    return IS_OBJ(v) && (OBJ_TYPE(AS_OBJ(v))->flags & TPF_TYPE_SUBCLASS);
}
static inline bool is_str(EddyVM *vm, Value v) {
    (void)vm;
    return IS_OBJ(v) && (OBJ_TYPE(AS_OBJ(v))->flags & TPF_STR_SUBCLASS);
}
static inline bool is_exact(Value v, TypeObject *t) {
    return IS_OBJ(v) && OBJ_TYPE(AS_OBJ(v)) == t;
}
static inline StrObject *AS_STR(Value v) { return (StrObject *)AS_OBJ(v); }
static inline TupleObject *AS_TUPLE(Value v) { return (TupleObject *)AS_OBJ(v); }
static inline ListObject *AS_LIST(Value v) { return (ListObject *)AS_OBJ(v); }
static inline DictObject *AS_DICT(Value v) { return (DictObject *)AS_OBJ(v); }
static inline TypeObject *AS_TYPE(Value v) { return (TypeObject *)AS_OBJ(v); }

// After the system headers: all allocation goes through mem.c.
#if defined(__GNUC__) && !defined(EDDY_ALLOW_MALLOC)
#pragma GCC poison malloc calloc realloc free strdup
#endif

#endif
