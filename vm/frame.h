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

#include "vm.h"

enum {
    FRAME_ENTRY = 1u << 0, // first frame of a nested dispatch loop: return to C after it
    FRAME_HEAP = 1u << 1,  // owned by a heap object (generator/coroutine), not by the fiber
    FRAME_INIT = 1u << 2,  // __init__ pushed by the class-call fast path (holds one
                           // native_depth unit until popped, like CPython's type call): the result
                           // must be None and the caller's top of stack already holds
                           // the new instance, which becomes the call's result
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
//   always marked. The operand stack follows at stack = localsplus +
//   nlocalsplus and has room for code->stacksize values.
typedef struct Frame {
    CodeObject *code;
    FunctionObject *func;
    DictObject *globals;
    DictObject *builtins;
    DictObject *locals;
    struct Frame *prev;    // the caller (towards the fiber's bottom); NULL at the bottom
    const uint32_t *instr; // current instruction (see above)
    Value *stack;          // operand stack base
    // sp is kept apart from instr on purpose: when the two are adjacent GCC
    // vectorizes their paired stores in the dispatch loop and then keeps
    // both in one SSE register, which slows every instruction down.
    Value *sp; // operand stack top (see above)
    uint32_t flags;        // FRAME_*
    uint32_t nlocalsplus;  // nlocals + ncells + nfrees
    Value localsplus[];    // then the operand stack
} Frame;

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
    if (!(f->flags & FRAME_HEAP)) fb->top = (Value *)f;
}
// Push a frame for calling func with args (as NativeFn) and bind them with
// CPython's semantics and messages. NULL + exception (nothing pushed).
Frame *frame_push_call(EddyVM *vm, Fiber *fb, FunctionObject *func, Value *args, int nargs,
                       TupleObject *kwnames);
// The builtins dict for code running with these globals.
DictObject *frame_builtins_for(EddyVM *vm, DictObject *globals);
// Run the dispatch loop from `entry` (already pushed, flagged FRAME_ENTRY)
// until it returns. Returns its result or V_NULL + exception. (vm/interp.c)
Value interp_run(EddyVM *vm, Frame *entry);

#endif
