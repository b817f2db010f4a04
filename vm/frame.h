// frame.h - fibers and frames: the interpreter's execution state.
//
// A Fiber is one stack of script frames. It owns a fixed-size area of Values
// (allocated once through mem_alloc, never grown, because frames and their
// stack pointers point into it). An ordinary call pushes its Frame record
// and the frame's localsplus + operand stack at fiber->top: no heap
// allocation per call.
//
//   fiber->base                                              fiber->limit
//   | Frame A | A.localsplus .. A.stack | Frame B | B.localsplus .. | free |
//                                                                   ^ top
//
// Frames are linked innermost-first through `prev`; fiber->frame is the
// innermost one. The dispatch loop (vm/interp.c) is driven only by Frame
// pointers and these links, never by C recursion, and keeps every piece of
// per-frame state in the Frame, so that a frame can be suspended and resumed
// later. Next session a generator / coroutine owns a heap copy of a Frame
// (FRAME_HEAP, with its localsplus and stack inside the heap object) that
// the loop links above the resumer; such frames are never released by the
// fiber (top is not moved back below them).
//
// A native that calls script code (vm_call) runs a nested dispatch loop; the
// first frame of that loop carries FRAME_ENTRY: returning from it (or
// unwinding out of it with an exception) leaves the nested loop and hands
// the result (or V_NULL) back to the native caller. Frames of several nested
// loops share one fiber and one prev chain, so the collector sees them all.
#ifndef EDDY_FRAME_H
#define EDDY_FRAME_H

#ifndef EDDY_BUILD_CORE
#error "vm/frame.h is internal to the Eddy core"
#endif

#include <stddef.h>

#include "vm.h"

enum {
    FRAME_ENTRY = 1u << 0,  // first frame of a nested dispatch loop: return to C after it
    FRAME_HEAP = 1u << 1,   // owned by a heap object (generator/coroutine), not by the fiber
    FRAME_INIT = 1u << 2,   // __init__ pushed by the class-call fast path (holds one
                            // native_depth unit until popped, like CPython's type call): the result
                            // must be None and the caller's top of stack already holds
                            // the new instance, which becomes the call's result
    FRAME_THROW = 1u << 3,  // heap frame resumed by throw(): interp_run starts by raising the
                            // pending exception at the suspension point (instr - 1)
    FRAME_INLINE = 1u << 4, // a coroutine run in place by `await f(...)` (see below)
    FRAME_CONSUMED = 1u << 6, // generator driven by gen_foreach: YIELD_VALUE hands each item
                              // to vm->gen_consumer and goes on, without leaving the loop
    FRAME_ITEM = 1u << 5,     // async generator: the next YIELD_VALUE is an item for the
                              // SEND below it (ASYNC_GEN_WRAP without the wrapper object)
};

// A frame. Field validity:
// - code, globals, builtins: always valid (GC-visible).
// - func: the running FunctionObject, or NULL for module / exec code.
// - locals: the locals dict for module and class bodies (non CO_OPTIMIZED
//   code), NULL for functions.
// - instr: the instruction being executed. The loop keeps it in a C local
//   and writes it back ("sync") before anything that can raise, call script
//   code or collect, and whenever the frame stops being the innermost one.
//   A suspended caller's instr is its CALL, so the return resumes after
//   that instruction and its cache words.
// - sp: one past the top of the operand stack; synced like instr. The GC
//   marks stack[0 .. sp) only, so everything live must be below sp at any
//   safe point (or any call that can run script code).
// - localsplus[0 .. nlocalsplus): locals (V_NULL = unbound), cells, frees;
//   always marked. The operand stack follows at frame_stack(f) =
//   localsplus + nlocalsplus and has room for code->stacksize values.
typedef struct Frame {
    CodeObject *code;
    FunctionObject *func;
    DictObject *globals;
    DictObject *builtins;
    struct Frame *prev;    // the caller (towards the fiber's bottom); NULL at the bottom
    const uint32_t *instr; // current instruction (see above)
    // sp is kept apart from instr on purpose: when the two are adjacent GCC
    // vectorizes their paired stores in the dispatch loop and then keeps
    // both in one SSE register, which slows every instruction down.
    DictObject *locals;
    Value *sp;            // operand stack top (see above)
    uint32_t flags;       // FRAME_*
    uint32_t nlocalsplus; // nlocals + ncells + nfrees
    Value localsplus[];   // then the operand stack
} Frame;

// The operand stack's base.
static inline Value *frame_stack(Frame *f) { return f->localsplus + f->nlocalsplus; }

// A fiber: one stack of frames.
typedef struct Fiber {
    Value *base;    // start of the frame area
    Value *limit;   // end of the frame area
    Value *top;     // first free Value: the next frame record goes here
    Frame *frame;   // innermost frame, or NULL when nothing runs
    uint32_t depth; // number of frames linked on this fiber (recursion limit)
    size_t nbytes;  // size of the area, for mem_free
} Fiber;

// Values reserved per allowed frame when a fiber is sized from the
// recursion limit; deeper or fatter call chains raise RecursionError.
#define FIBER_VALUES_PER_FRAME 96
#define FIBER_SLACK_FRAMES 64

// Maximum nesting of native -> script dispatch loops (C stack guard).
#define NATIVE_DEPTH_MAX 1200

// Number of Value slots a Frame record occupies before its localsplus.
#define FRAME_HEADER_VALUES ((sizeof(Frame) + sizeof(Value) - 1) / sizeof(Value))

// A frame on a fiber starts FRAME_PAD bytes into its first slot, so that its
// localsplus begins on a slot boundary: Values that straddle 16-byte (and so
// sometimes cache-line) boundaries made every call measurably slower. A
// generator's frame needs no pad: the GenObject header before it ends on one.
#define FRAME_PAD (FRAME_HEADER_VALUES * sizeof(Value) - sizeof(Frame))
static inline Frame *fiber_frame_at(Value *top) {
    return (Frame *)(void *)((char *)top + FRAME_PAD);
}

static inline Frame *fiber_current_frame(Fiber *fb) { return fb ? fb->frame : NULL; }

// ---------------------------------------------------------------------------
// Shared between vm/call.c and vm/interp.c (not part of vm.h's API).

// The running fiber, creating the main fiber on first use. NULL + MemoryError.
Fiber *fiber_get(EddyVM *vm);
// Push a blank frame for code on the running fiber and link it as the
// innermost frame: locals unbound, empty cells created, closure cells copied
// (func may be NULL for module code). NULL + RecursionError / MemoryError.
Frame *frame_push(EddyVM *vm, Fiber *fb, CodeObject *code, FunctionObject *func,
                  DictObject *globals, DictObject *builtins, DictObject *locals);
// Unlink the innermost frame f and release its fiber space.
static inline void frame_pop(EddyVM *vm, Fiber *fb, Frame *f) {
    (void)vm;
    fb->frame = f->prev;
    fb->depth--;
    if (!(f->flags & FRAME_HEAP)) fb->top = (Value *)(void *)((char *)f - FRAME_PAD);
}
// Push a frame for calling func with args (as NativeFn) and bind them with
// CPython's semantics and messages. NULL + exception (nothing pushed).
Frame *frame_push_call(EddyVM *vm, Fiber *fb, FunctionObject *func, Value *args, int nargs,
                       TupleObject *kwnames);
// The same for f(*args, **kw): `args` is a tuple made for this call (the
// positional values, then those of kwnames), which becomes the callee's
// *args tuple when that takes every positional argument, instead of a copy.
Frame *frame_push_call_fresh(EddyVM *vm, Fiber *fb, FunctionObject *func, TupleObject *args,
                             TupleObject *kwnames);
// The builtins dict for code running with these globals.
DictObject *frame_builtins_for(EddyVM *vm, DictObject *globals);
// ---------------------------------------------------------------------------
// Generators (vm/obj_gen.c). A generator owns its Frame: the record, its
// localsplus and its operand stack live inside the GenObject (frame_storage),
// sized from the code object when the generator is created. The frame is
// built on the fiber like any call (arguments bound by frame_push_call); its
// first instruction, RETURN_GENERATOR, copies it into a new GenObject and
// returns that to the caller.
//
// While suspended the frame is unlinked (prev == NULL) and its instr is the
// RESUME POINT: the instruction to execute next; instr - 1 is the suspension
// point (the YIELD_VALUE, or RETURN_GENERATOR before the first resume) that
// throw() raises at and f_lineno reports. Resuming links the frame above the
// resumer (gen_link: prev = resumer, fiber->frame = it, depth + 1, recursion
// limit checked), pushes the sent value, and runs it in the resumer's dispatch
// loop: FOR_ITER, SEND (yield from) and CALL of next()/send()/__next__ from
// script code switch frames without C recursion; natives resume through a
// nested loop (gen_resume, FRAME_ENTRY). When the frame yields or returns,
// the resumer's current instruction (FOR_ITER / SEND / CALL) says how the
// value is delivered (interp.c). While linked (GEN_RUNNING) the collector
// reaches the GenObject through the frame (mark_frame), so a running
// generator that nothing else references stays alive.
//
// Coroutines (t_coroutine) and async generators (t_async_generator) are
// GenObjects too: `await x` is `yield from` of x's awaitable (GET_AWAITABLE),
// so a running await chain is a run of heap frames joined by prev, each
// parent suspended in its SEND with the child linked above it. Values and
// exceptions reach each parent through its SEND exactly as for generators
// when a child returns or raises.
typedef enum GenState { GEN_CREATED, GEN_SUSPENDED, GEN_RUNNING, GEN_CLOSED } GenState;

//
// Implemented for coroutines (O(1) resume): a coroutine frame resumed by the
// SEND of another coroutine frame inherits that parent's root (the outermost
// coroutine of the await chain, whose resumer is not an await) and
// chain_len (frames from root to it, inclusive). When a frame whose root is
// another object yields, the whole chain is FROZEN instead of unwound: root
// records the yielding frame as its leaf, root's frame alone is cut from
// the fiber, and every frame between keeps its prev link, its SEND and its
// GEN_RUNNING state. gen_link of a frozen root relinks root->prev and makes
// the leaf fiber->frame. Anything else that needs the intermediate frames in
// the ordinary suspended shape (throw, close, cr_await, cr_running, resuming
// an inner coroutine directly) first thaws the chain (gen_thaw: O(depth),
// but rare). chain_exc is the handled exception the frozen frames see.
//
// The object is kept small, as a server may hold a suspended coroutine per
// pending task (64 bytes before the frame):
// - root and leaf share one field, `chain` (gen_root, gen_leaf): a running
//   frame has a root, only a frozen root (GENF_FROZEN) has a leaf.
// - The three handled exceptions share one Value-sized slot, as no more
//   than that is live at a time: a running frame (or a frozen root) needs
//   saved_exc only; a suspended one exc_state, and if it is the leaf of a
//   frozen chain also the chain's chain_exc (kept by the leaf for its root,
//   whose own exc_state is dead: gen_thaw recomputes it). exc_state and
//   chain_exc are exception objects or nothing, so Obj pointers suffice.
// - The code object is the frame's, and __name__ / __qualname__ are the
//   code's unless they differ (the function's were renamed before the call,
//   or the generator's were assigned): then a side record holds them, with
//   the gi_frame object. Both are rare, so it is allocated on demand, and
//   its pointer is the object header's spare word (gen_extra_of).
// - A coroutine's creation site (for the "never awaited" warning) is needed
//   only before it starts, while its operand stack is still empty: it is
//   kept in the first stack slot (obj_gen.c: coro_origin). Its cr_origin
//   stack, kept only while origin tracking is on, must outlive the start: it
//   follows the frame's Values at the end of the object (CoroOriginStack).
typedef struct GenExtra {
    Obj *frame_obj;      // gi_frame's object once created (so gi_frame is gi_frame), or NULL
    StrObject *name;     // __name__ if not the code's, or NULL
    StrObject *qualname; // __qualname__ if not the code's, or NULL
} GenExtra;

// hdr.obj_flags bit (obj_gen.c has the others): a frozen root (chain = leaf).
#define GENF_FROZEN 16u

typedef struct GenObject {
    Obj hdr;
    // A frozen root (GENF_FROZEN): the suspended innermost frame's owner
    // (its leaf). Otherwise, while linked in an await chain: the chain's
    // outermost coroutine (its root), or NULL when that is the object itself.
    struct GenObject *chain;
    // The handled exceptions (see above). Which member is valid: saved_exc
    // while GEN_RUNNING or frozen (GENF_FROZEN), exc_state and chain_exc
    // otherwise (gen_trace marks accordingly; all NULL when created).
    union {
        // Running: the handled exception of the frames below (its resumer's,
        // or in a chain its parent's), which it sees while handling none
        // itself, and which PUSH_EXC_INFO / POP_EXCEPT use to tell its own
        // from inherited ones. A frozen root keeps its last resumer's
        // (obj_gen.c: chain_rebase).
        Value saved_exc;
        struct {
            // The exception handled inside the generator, kept across a
            // suspension (or NULL).
            Obj *exc_state;
            // The leaf of a frozen chain: the handled exception the chain's
            // frames see (its root's view), or NULL.
            Obj *chain_exc;
        };
    };
    uint32_t chain_len;    // frames from root to this one, inclusive (valid while linked)
    uint32_t state;        // GenState
    Value frame_storage[]; // the Frame record, then its localsplus and operand stack
} GenObject;
_Static_assert((sizeof(GenObject) + sizeof(Frame)) % 16 == 0,
               "a generator's localsplus starts on a 16-byte boundary");

// The side record (see above), kept in the header's spare word: NULL until
// needed.
static inline GenExtra *gen_extra_of(const GenObject *g) { return (GenExtra *)g->hdr.reserved; }

static inline Frame *gen_frame(GenObject *g) { return (Frame *)(void *)g->frame_storage; }
static inline GenObject *gen_of_frame(Frame *f) {
    return (GenObject *)(void *)((char *)f - offsetof(GenObject, frame_storage));
}
static inline CodeObject *gen_code(GenObject *g) { return gen_frame(g)->code; }
// Is g a frozen root (frame.h)? A running frame never is.
static inline bool gen_frozen(GenObject *g) { return g->hdr.obj_flags & GENF_FROZEN; }
// The frozen chain's leaf if g is a frozen root, else NULL.
static inline GenObject *gen_leaf(GenObject *g) {
    return (g->hdr.obj_flags & GENF_FROZEN) ? g->chain : NULL;
}
// The root of the await chain g runs in (g itself if none).
static inline GenObject *gen_root(GenObject *g) {
    return g->chain && !(g->hdr.obj_flags & GENF_FROZEN) ? g->chain : g;
}
// A handled exception (an exception object or V_NULL) as exc_state / chain_exc
// hold it, and back.
static inline Obj *gen_exc_obj(Value v) { return IS_OBJ(v) ? AS_OBJ(v) : NULL; }
static inline Value gen_exc_value(Obj *o) { return o ? v_obj(o) : VAL_NULL; }
// The frame stops running or being frozen: its exception slot takes the
// suspended form (exc_state v, no chain_exc).
static inline void gen_set_exc_state(GenObject *g, Value v) {
    g->exc_state = gen_exc_obj(v);
    g->chain_exc = NULL;
}
// __name__ / __qualname__.
StrObject *gen_name(GenObject *g);
StrObject *gen_qualname(GenObject *g);
// RETURN_GENERATOR: a generator owning a copy of f (empty operand stack),
// resuming at f->instr. NULL + MemoryError.
GenObject *gen_new(EddyVM *vm, Frame *f);
// Link g's frame above fb->frame and mark it running; push v unless V_NULL.
// The caller checked the state. NULL + RecursionError (nothing changed).
Frame *gen_link(EddyVM *vm, Fiber *fb, GenObject *g, Value v);
// The innermost frame (g's) yields / finishes: unlink it.
void gen_unlink(EddyVM *vm, Fiber *fb, GenObject *g, bool finished);
// The innermost frame (g's) yields: unlink it, or freeze its await chain up
// to its root. Returns the frame now cut from the fiber (g's or its root's),
// whose flags say whether a nested loop ends.
Frame *gen_suspend(EddyVM *vm, Fiber *fb, GenObject *g);
// SEND in frame parent linked g (normally): join parent's await chain.
void gen_chain(EddyVM *vm, Frame *parent, GenObject *g);
// Put a frozen chain that g belongs to back into the ordinary suspended shape.
void gen_thaw(GenObject *g);
// ASYNC_GEN_WRAP: v wrapped as an async generator's item. V_NULL + MemoryError.
Value gen_async_wrap(EddyVM *vm, Value v);
// Is coroutine g suspended inside an await (so it cannot be awaited again)?
bool gen_is_awaiting(GenObject *g);
// Is v a generator or a coroutine (a GenObject)?
static inline bool gen_like(EddyVM *vm, Value v) {
    return is_exact(v, vm->t_generator) || is_exact(v, vm->t_coroutine);
}
// PEP 479: a pending StopIteration leaving a generator becomes RuntimeError.
void gen_stopiteration_error(EddyVM *vm, GenObject *g);
// Can g be resumed with v? 1 yes, 0 exhausted (closed), -1 raised
// ("generator already executing", "can't send non-None value ...").
int gen_check_resume(EddyVM *vm, GenObject *g, Value v);
// Raise StopIteration(value) (no args when value is None). Returns V_NULL.
Value gen_raise_stop(EddyVM *vm, Value value);
// The "coroutine '<name>' was never awaited" RuntimeWarning for a coroutine
// made at code/pc (code NULL: unknown) by the stack origin (norigin entries,
// innermost first, as cr_origin; 0 when untracked); safe inside a collection.
void coro_warn_unawaited(EddyVM *vm, CodeObject *code, uint32_t pc, const char *name,
                         const StackEntry *origin, uint32_t norigin);
// The value of a pending StopIteration, which is cleared (None if none).
Value gen_fetch_stop_value(EddyVM *vm);

// Inline coroutine frames. `await f(args)` compiles to CALL; GET_AWAITABLE;
// LOAD_CONST None; SEND exit; YIELD_VALUE; ... exit:. When the coroutine
// that CALL created is awaited at once like this, RETURN_GENERATOR does not
// move its frame into a new coroutine object: the frame keeps running on the
// fiber like an ordinary call (FRAME_INLINE), and its return value goes
// straight to the SEND's exit. The caller's stack holds one slot meanwhile:
// the handled exception at the time of the call (what the coroutine must
// restore when it finishes), where the coroutine object would be.
// Only if such a frame suspends (YIELD_VALUE) does it become a real
// coroutine: gen_materialize copies the run of inline frames, outermost
// first, into coroutine objects and links each caller in its SEND, exactly
// as if the await had been executed the ordinary way. Most awaits of a
// coroutine that returns without waiting therefore cost no allocation.
//
// The SEND instruction of the `await f(...)` whose CALL is at `call`, or
// NULL if the instructions after the CALL are not that sequence.
// throw(exc) / throw(type[, value[, tb]]) (args[0] is self), normalised as
// CPython's _gen_throw: the exception instance, or V_NULL + TypeError.
Value gen_throw_arg(EddyVM *vm, Value *args, int nargs);
// A frame object that records only a place (a traceback entry's tb_frame).
Value frame_detached(EddyVM *vm, CodeObject *code, uint32_t pc);
// Where a frame object (gi_frame / cr_frame, or a detached one) stands: false
// if `frame` is not one.
bool frame_object_entry(EddyVM *vm, Value frame, StackEntry *out);
const uint32_t *gen_inline_send(const CodeObject *code, const uint32_t *call);
// Materialize the run of FRAME_INLINE frames that starts at fb->frame (its
// state synced). Returns the new innermost (heap) frame, or NULL +
// MemoryError with nothing changed.
Frame *gen_materialize(EddyVM *vm, Fiber *fb);
// PEP 479 for an inline coroutine frame (the pending StopIteration becomes
// RuntimeError "coroutine raised StopIteration").
void gen_inline_stopiteration_error(EddyVM *vm);

// Async generators run stackless too: `async for` / `await agen.asend(v)`
// link the generator's frame above the awaiting frame (SEND), an item it
// yields (ASYNC_GEN_WRAP) finishes that SEND with the item, and its return
// raises StopAsyncIteration there. athrow()/aclose() use a nested loop.
// gen_anext: agen.__anext__(). gen_asend_begin: can the asend awaitable aw
// resume its generator with *v (replaced by the value to send)? 1 yes
// (*out = the generator), -1 raised. gen_asend_end: aw is finished.
Value gen_anext(EddyVM *vm, GenObject *g);
int gen_asend_begin(EddyVM *vm, Value aw, Value *v, GenObject **out);
void gen_asend_end(EddyVM *vm, Value aw);
// `async for` over an async generator g skips the __anext__() awaitable:
// GET_ANEXT does the checks of __anext__() + SEND (gen_anext_begin: 1 yes,
// -1 raised), leaves the generator itself in the SEND's slot as a stand-in
// for its awaitable, and links g's frame as that SEND would. The stand-in
// lives only while g's frame runs above the SEND: an item, a return or an
// exception finishes the SEND (gen_asend_end accepts it), and a yield of an
// `await` inside g replaces it first by a real awaitable, already started
// (gen_anext_materialize: V_NULL + MemoryError), since the awaiting frame
// then suspends and cr_await, throw() and close() may look at it.
int gen_anext_begin(EddyVM *vm, GenObject *g);
// gen_anext_begin, then gen_link(g, None): g's frame, or NULL + exception
// (g then not running).
Frame *gen_anext_link(EddyVM *vm, Fiber *fb, GenObject *g);
Value gen_anext_materialize(EddyVM *vm, GenObject *g);
Value gen_async_unwrap(Value wrapped); // an item yielded by ASYNC_GEN_WRAP
// An async generator starts: the running loop (if any) remembers it, so
// shutdown_asyncgens() can close it (CPython's firstiter hook). 0 / -1.
// (vm/loop.c)
int loop_track_asyncgen(EddyVM *vm, GenObject *g);

// Natives that consume a whole iterable (sum(), list(), ...) run a generator
// with gen_foreach: its frame is flagged FRAME_CONSUMED, and each YIELD_VALUE
// calls fn(item) in place and continues as if resumed with None, so the
// generator runs in one dispatch loop instead of one per item. fn returns 0
// to go on, 1 to stop, -1 on error (pending); the generator then stays
// suspended at that yield. gen_foreach returns 0 when the generator is
// exhausted, 1 when fn stopped, -1 on error (from the generator or fn).
typedef struct GenConsumer {
    int (*fn)(EddyVM *vm, Value item, void *ud);
    void *ud;
    int stopped; // what fn returned when it did not return 0
} GenConsumer;
int gen_foreach(EddyVM *vm, GenObject *g, int (*fn)(EddyVM *vm, Value item, void *ud), void *ud);

// The event loop's task step (obj_gen.c): resume g with v, or throw exc into
// it when exc is not V_NULL. 1 yielded *out / 0 returned *out / -1 raised.
int gen_step(EddyVM *vm, GenObject *g, Value v, Value exc, Value *out);

// Is this native call next(g) / g.__next__() / g.send(v) on a generator
// (args[0])? Then *send is the value to send and the loop may resume g itself.
bool gen_resume_call(EddyVM *vm, NativeFunctionObject *nf, Value *args, int nargs, Value *send);

// Run the dispatch loop from `entry` (already pushed, flagged FRAME_ENTRY)
// until it returns. Returns its result or V_NULL + exception. (vm/interp.c)
Value interp_run(EddyVM *vm, Frame *entry);

#endif
