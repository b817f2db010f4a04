// obj_gen.c - generator objects: first-class frames, and their protocol
// (send, throw, close, __next__) for native callers.
//
// The frame layout, the linking rules and the dispatch-loop side of resuming
// are described in vm/frame.h; vm/interp.c resumes generators from script
// code without C recursion (FOR_ITER, SEND, CALL of next/send/__next__).
// This file resumes them from native code through a nested dispatch loop.
//
// Coroutines and async generators are GenObjects too (a CO_COROUTINE frame
// is a generator frame whose resumer is an await); the async generator's
// awaitables (asend / athrow) are at the end of this file.
//
// Collection: a generator that becomes garbage while suspended inside a
// try/finally or with block is closed after the collection that found it
// (CPython closes it from its finalizer; our collector cannot run script
// code, so it keeps such generators alive and queues them: see "Collection"
// below). docs/language.md describes when that happens.
#include <string.h>

#include "frame.h"
#include "opcodes.h"

// A frame object: a generator's live frame (gen), or a detached one that
// only records where a traceback entry was (code, pc; gen NULL).
typedef struct FrameObject {
    Obj hdr;
    GenObject *gen;
    CodeObject *code;
    uint32_t pc;
} FrameObject;

// ---------------------------------------------------------------------------
// Frames owned by generators

// A coroutine's creation site, for the "never awaited" warning (CPython
// reports where the coroutine was made). It is read only while the coroutine
// has not started (GENF_UNSTARTED), when its operand stack is still empty: it
// is kept in the first stack slot (gen_new reserves one if stacksize is 0),
// which the first resume overwrites. gen_trace marks its code meanwhile.
typedef struct CoroOrigin {
    CodeObject *code; // the creating frame's code, or NULL
    uint32_t pc;
} CoroOrigin;
_Static_assert(sizeof(CoroOrigin) <= sizeof(Value), "CoroOrigin fits in a stack slot");

// cr_origin: while sys.set_coroutine_origin_tracking_depth() is above 0
// (asyncio's debug mode sets 10), the stack that creates a coroutine is kept,
// innermost first. It must outlive the start, so unlike CoroOrigin it cannot
// sit in a stack slot: it follows the frame's Values (gen_frame_size) at the end
// of the object, only in coroutines flagged GENF_ORIGIN. Without tracking it
// takes no room, and GenObject has no field for it.
typedef struct CoroOriginStack {
    uint32_t n;           // entries, at least 1
    StackEntry entries[]; // the GC marks their code (gen_trace)
} CoroOriginStack;

// obj_flags bits. Each one set counts once in vm->early_finalize_live, which
// is what makes the collector look at dead objects (gc.c).
#define GENF_UNSTARTED 1u     // a coroutine not yet started (the "never awaited" warning)
#define GENF_LIVE 2u          // started and not finished: may need closing when it dies
#define GENF_PENDING 4u       // queued in vm->gen_pending for gen_close_pending
#define AGEN_RUNNING_ASYNC 8u // an async generator driven by an awaitable (not counted)
// (16 is GENF_FROZEN, frame.h)
#define GENF_ORIGIN 32u // a coroutine with a CoroOriginStack (not counted)

static CoroOrigin *coro_origin(GenObject *g) {
    return (CoroOrigin *)(void *)frame_stack(gen_frame(g));
}

// A coroutine left GEN_CREATED or died: it no longer needs the warning pass.
static void coro_uncount(EddyVM *vm, GenObject *g) {
    if (!(g->hdr.obj_flags & GENF_UNSTARTED)) return;
    g->hdr.obj_flags &= (uint16_t)~GENF_UNSTARTED;
    vm->early_finalize_live--;
}

// The code's own names, which a generator has unless told otherwise.
static StrObject *code_qualname(CodeObject *co) { return co->qualname ? co->qualname : co->name; }

StrObject *gen_name(GenObject *g) {
    GenExtra *x = gen_extra_of(g);
    return x && x->name ? x->name : gen_code(g)->name;
}

StrObject *gen_qualname(GenObject *g) {
    GenExtra *x = gen_extra_of(g);
    return x && x->qualname ? x->qualname : code_qualname(gen_code(g));
}

// g's side record, allocated on first use. NULL + MemoryError.
static GenExtra *gen_extra(EddyVM *vm, GenObject *g) {
    if (gen_extra_of(g)) return gen_extra_of(g);
    GenExtra *x = mem_alloc(vm, sizeof(GenExtra));
    if (!x) return NULL;
    *x = (GenExtra){NULL, NULL, NULL};
    g->hdr.reserved = x;
    return x;
}

// The names of a generator made by calling func: CPython takes the
// function's at that moment. They are the code's unless func was renamed.
static int gen_init_names(EddyVM *vm, GenObject *g, FunctionObject *func) {
    CodeObject *co = gen_code(g);
    if (!func || (func->name == co->name && func->qualname == code_qualname(co))) return 0;
    GenExtra *x = gen_extra(vm, g);
    if (!x) return -1;
    x->name = func->name;
    x->qualname = func->qualname;
    return 0;
}

// Frame record + localsplus + operand stack, in Values (a coroutine keeps at
// least one stack slot, for its CoroOrigin).
static size_t gen_frame_size(Frame *f, bool coro) {
    size_t stack = f->code->stacksize;
    if (coro && stack == 0) stack = 1;
    return sizeof(Frame) + ((size_t)f->nlocalsplus + stack) * sizeof(Value);
}

// A GENF_ORIGIN coroutine's creation stack, after its frame's Values.
static CoroOriginStack *coro_origin_stack(GenObject *g) {
    return (CoroOriginStack *)(void *)((char *)gen_frame(g) + gen_frame_size(gen_frame(g), true));
}

// Origin tracking (vm->coro_origin_depth > 0): how many frames a coroutine
// created now by the frame `caller` keeps (its room is reserved from that),
// then, once it is allocated (the stack unchanged), the frames themselves.
static size_t coro_origin_count(EddyVM *vm, Frame *caller) {
    return caller ? vm_capture_stack(vm, caller, NULL, vm->coro_origin_depth) : 0;
}

static size_t coro_origin_room(size_t n) {
    return n ? sizeof(CoroOriginStack) + n * sizeof(StackEntry) : 0;
}

static void coro_origin_track(EddyVM *vm, GenObject *g, Frame *caller, size_t n) {
    if (!n) return;
    CoroOriginStack *st = coro_origin_stack(g);
    st->n = (uint32_t)vm_capture_stack(vm, caller, st->entries, n);
    g->hdr.obj_flags |= GENF_ORIGIN;
}

GenObject *gen_new(EddyVM *vm, Frame *f) {
    CodeObject *co = f->code;
    bool coro = co->flags & CO_COROUTINE;
    TypeObject *t = coro                             ? vm->t_coroutine
                    : co->flags & CO_ASYNC_GENERATOR ? vm->t_async_generator
                                                     : vm->t_generator;
    size_t size = sizeof(GenObject) + gen_frame_size(f, coro);
    size_t ntrack = 0;
    if (EDDY_UNLIKELY(vm->coro_origin_depth != 0) && coro) {
        ntrack = coro_origin_count(vm, f->prev);
        size += coro_origin_room(ntrack);
    }
    GenObject *g = (GenObject *)obj_alloc(vm, t, size);
    if (!g || gc_track(vm, &g->hdr) < 0) return NULL;
    // (obj_alloc cleared chain, saved_exc, exc_state, and the header's
    // spare word: no side record)
    g->chain_len = 1;
    g->state = GEN_CREATED;
    Frame *gf = gen_frame(g);
    memcpy(gf, f, sizeof(Frame) + (size_t)f->nlocalsplus * sizeof(Value));
    gf->flags = FRAME_HEAP;
    gf->prev = NULL;
    gf->sp = frame_stack(gf) + (f->sp - frame_stack(f));
    if (gen_init_names(vm, g, f->func) < 0) return NULL; // (g dies at the next collection)
    if (coro) {
        // The caller's instr is synced at its CALL; record it without formatting.
        CoroOrigin *orig = coro_origin(g);
        Frame *caller = f->prev;
        if (caller && caller->code && caller->instr && caller->instr >= caller->code->code &&
            caller->instr < caller->code->code + caller->code->ncode) {
            orig->code = caller->code;
            orig->pc = (uint32_t)(caller->instr - caller->code->code);
        }
        g->hdr.obj_flags |= GENF_UNSTARTED;
        vm->early_finalize_live++;
        if (EDDY_UNLIKELY(ntrack)) coro_origin_track(vm, g, caller, ntrack);
    }
    return g;
}

static bool is_coro(EddyVM *vm, GenObject *g) { return OBJ_TYPE(&g->hdr) == vm->t_coroutine; }
// For messages: "generator", "coroutine" or "async generator".
static const char *gen_kind(EddyVM *vm, GenObject *g) {
    TypeObject *t = OBJ_TYPE(&g->hdr);
    return t == vm->t_coroutine         ? "coroutine"
           : t == vm->t_async_generator ? "async generator"
                                        : "generator";
}

// Handled exceptions in a frozen chain. Each running frame's saved_exc is
// the exception the frames below it handle (what it sees while it handles
// none itself); a frozen root keeps the one its last resumer handled. When
// the chain is resumed by a resumer handling another exception, the frames
// that saw the old one through the chain (every frame up to the lowest one
// handling its own) must see the new one: an O(depth) walk, only then.
static void chain_rebase(GenObject *root, Value now) {
    GenObject *leaf = gen_leaf(root);
    Value old = root->saved_exc;
    // Pass 1: the lowest frame handling its own exception. A frame does when
    // the frame above it was linked seeing something else than it inherits.
    uint32_t lowest_own = UINT32_MAX;
    Value above = gen_exc_value(leaf->chain_exc); // the leaf's saved_exc, kept while frozen
    for (Frame *f = gen_frame(leaf)->prev; f; f = f->prev) {
        GenObject *c = gen_of_frame(f);
        if (!v_is(above, c->saved_exc)) lowest_own = c->chain_len;
        above = c->saved_exc;
        if (c == root) break;
    }
    // Pass 2: the frames above no such frame inherit `now` instead of `old`.
    for (Frame *f = gen_frame(leaf)->prev; f; f = f->prev) {
        GenObject *c = gen_of_frame(f);
        if (c == root) break;
        if (c->chain_len <= lowest_own && v_is(c->saved_exc, old)) c->saved_exc = now;
    }
    if (leaf->chain_len <= lowest_own && v_is(gen_exc_value(leaf->chain_exc), old))
        leaf->chain_exc = gen_exc_obj(now);
}

Frame *gen_link(EddyVM *vm, Fiber *fb, GenObject *g, Value v) {
    GenObject *leaf = gen_leaf(g);
    uint32_t n = leaf ? leaf->chain_len : 1;
    if (EDDY_UNLIKELY(fb->depth + n - 1 + vm->native_depth > vm->recursion_limit)) {
        vm_raise(vm, vm->exc_RecursionError, "maximum recursion depth exceeded");
        return NULL;
    }
    if (leaf) {
        // A frozen await chain: relink its root only and run the leaf (O(1)).
        Frame *rf = gen_frame(g), *lf = gen_frame(leaf);
        if (EDDY_UNLIKELY(!v_is(g->saved_exc, vm->handled_exc))) chain_rebase(g, vm->handled_exc);
        g->hdr.obj_flags &= (uint16_t)~GENF_FROZEN;
        g->chain = NULL;
        rf->prev = fb->frame;
        fb->frame = lf;
        fb->depth += n;
        g->state = GEN_RUNNING;
        g->saved_exc = vm->handled_exc;
        if (!IS_NULL(v)) *lf->sp++ = v;
        // The leaf sees its own handled exception, else the chain's.
        Value inside = gen_exc_value(leaf->chain_exc);
        Obj *own = leaf->exc_state;
        leaf->state = GEN_RUNNING;
        leaf->saved_exc = inside;
        vm->handled_exc = own ? v_obj(own) : inside;
        return lf;
    }
    g->chain = NULL;
    g->chain_len = 1;
    coro_uncount(vm, g);
    if (g->state == GEN_CREATED) {
        g->hdr.obj_flags |= GENF_LIVE;
        vm->early_finalize_live++;
    }
    Frame *f = gen_frame(g);
    if (!IS_NULL(v)) *f->sp++ = v;
    f->prev = fb->frame;
    fb->frame = f;
    fb->depth++;
    g->state = GEN_RUNNING;
    // The generator sees its own handled exception, else the resumer's.
    Obj *own = g->exc_state;
    g->saved_exc = vm->handled_exc;
    if (own) vm->handled_exc = v_obj(own);
    return f;
}

void gen_unlink(EddyVM *vm, Fiber *fb, GenObject *g, bool finished) {
    Frame *f = gen_frame(g);
    fb->frame = f->prev;
    fb->depth--;
    f->prev = NULL;
    g->state = finished ? GEN_CLOSED : GEN_SUSPENDED;
    if (finished && (g->hdr.obj_flags & GENF_LIVE)) {
        g->hdr.obj_flags &= (uint16_t)~GENF_LIVE;
        vm->early_finalize_live--;
    }
    Value saved = g->saved_exc;
    gen_set_exc_state(g, finished || v_is(vm->handled_exc, saved) ? VAL_NULL : vm->handled_exc);
    vm->handled_exc = saved;
}

void gen_chain(EddyVM *vm, Frame *parent, GenObject *g) {
    if (!(parent->flags & FRAME_HEAP)) return;
    GenObject *p = gen_of_frame(parent);
    if (!is_coro(vm, p)) return; // generators keep the plain one-by-one yield from
    g->chain = gen_root(p);
    g->chain_len = p->chain_len + 1;
}

Frame *gen_suspend(EddyVM *vm, Fiber *fb, GenObject *g) {
    GenObject *r = gen_root(g);
    if (r == g) {
        gen_unlink(vm, fb, g, false);
        return gen_frame(g);
    }
    // Freeze the chain: g suspends, r is cut from the fiber, the frames in
    // between stay linked to each other in their SEND. g keeps the chain's
    // view of the handled exception for r (chain_exc).
    Frame *rf = gen_frame(r);
    g->state = GEN_SUSPENDED;
    Value saved = g->saved_exc;
    g->exc_state = v_is(vm->handled_exc, saved) ? NULL : gen_exc_obj(vm->handled_exc);
    g->chain_exc = gen_exc_obj(saved);
    vm->handled_exc = r->saved_exc; // r keeps it: see chain_rebase
    r->state = GEN_SUSPENDED;
    r->chain = g;
    r->hdr.obj_flags |= GENF_FROZEN;
    fb->frame = rf->prev;
    fb->depth -= g->chain_len;
    rf->prev = NULL;
    return rf;
}

void gen_thaw(GenObject *g) {
    // g is the frozen root, or a frame of its chain: running in between, or
    // its suspended leaf (which keeps the root's chain_exc).
    GenObject *r = g;
    if (!gen_frozen(g)) {
        r = g->chain;
        if (!r || g->state == GEN_CLOSED || !gen_frozen(r)) return;
    }
    // Walk from the leaf down to the root: each frame becomes suspended in
    // its `yield from` loop (resume point after SEND's YIELD_VALUE 1).
    GenObject *leaf = gen_leaf(r);
    Value view = gen_exc_value(leaf->chain_exc);
    leaf->chain_exc = NULL;
    leaf->chain = NULL;
    r->hdr.obj_flags &= (uint16_t)~GENF_FROZEN;
    r->chain = NULL;
    Frame *f = gen_frame(leaf)->prev;
    gen_frame(leaf)->prev = NULL;
    while (f) {
        GenObject *c = gen_of_frame(f);
        Frame *below = f->prev;
        f->prev = NULL;
        f->instr += 2;
        // Each frame keeps the exception it handles itself, if any.
        Value saved = c->saved_exc;
        gen_set_exc_state(c, v_is(view, saved) ? VAL_NULL : view);
        view = saved;
        if (c != r) c->state = GEN_SUSPENDED;
        c->chain = NULL;
        if (c == r) break;
        f = below;
    }
}

static void stopiteration_error(EddyVM *vm, const char *kind, bool agen) {
    const char *what;
    if (vm_err_matches(vm, vm->exc_StopIteration))
        what = "StopIteration";
    else if (agen && vm_err_matches(vm, vm->exc_StopAsyncIteration))
        what = "StopAsyncIteration";
    else
        return;
    Value si = vm_err_fetch(vm);
    vm_raise(vm, vm->exc_RuntimeError, "%s raised %s", kind, what);
    Value rt = vm->exc;
    if (is_exception(vm, rt)) {
        ExceptionObject *e = (ExceptionObject *)AS_OBJ(rt);
        e->cause = si;
        e->context = si;
        e->suppress_context = true;
    }
}

void gen_stopiteration_error(EddyVM *vm, GenObject *g) {
    // PEP 479, and PEP 525's StopAsyncIteration for async generators.
    stopiteration_error(vm, gen_kind(vm, g), OBJ_TYPE(&g->hdr) == vm->t_async_generator);
}

void gen_inline_stopiteration_error(EddyVM *vm) { stopiteration_error(vm, "coroutine", false); }

// ---------------------------------------------------------------------------
// Inline coroutine frames (frame.h)

static const uint32_t *next_instr(const uint32_t *ip) {
    return ip + 1 + opcode_caches[INSTR_OP(*ip)];
}

const uint32_t *gen_inline_send(const CodeObject *code, const uint32_t *call) {
    const uint32_t *end = code->code + code->ncode;
    const uint32_t *aw = next_instr(call);
    if (aw >= end || INSTR_OP(*aw) != OP_GET_AWAITABLE) return NULL;
    const uint32_t *none = next_instr(aw);
    if (none >= end || INSTR_OP(*none) != OP_LOAD_CONST || !code->consts ||
        INSTR_ARG(*none) >= code->consts->len || !IS_NONE(code->consts->items[INSTR_ARG(*none)]))
        return NULL;
    const uint32_t *send = next_instr(none);
    if (send >= end || INSTR_OP(*send) != OP_SEND) return NULL;
    return send;
}

// A coroutine owning a copy of the running frame f (state synced).
static GenObject *gen_from_running(EddyVM *vm, Frame *f) {
    size_t size = sizeof(GenObject) + gen_frame_size(f, true);
    // It was created by its caller, which is still the frame below it.
    size_t ntrack = 0;
    if (EDDY_UNLIKELY(vm->coro_origin_depth != 0)) {
        ntrack = coro_origin_count(vm, f->prev);
        size += coro_origin_room(ntrack);
    }
    GenObject *g = (GenObject *)obj_alloc(vm, vm->t_coroutine, size);
    if (!g || gc_track(vm, &g->hdr) < 0) return NULL;
    // (obj_alloc cleared chain, saved_exc, exc_state, and the header's
    // spare word: no side record)
    g->chain_len = 1;
    g->state = GEN_RUNNING;
    Frame *gf = gen_frame(g);
    size_t used = (size_t)(f->sp - f->localsplus);
    memcpy(gf, f, sizeof(Frame) + used * sizeof(Value));
    gf->flags = FRAME_HEAP;
    gf->prev = NULL;
    gf->sp = frame_stack(gf) + (f->sp - frame_stack(f));
    if (EDDY_UNLIKELY(ntrack)) coro_origin_track(vm, g, f->prev, ntrack);
    if (gen_init_names(vm, g, f->func) < 0) return NULL;
    return g;
}

Frame *gen_materialize(EddyVM *vm, Fiber *fb) {
    size_t n = 0;
    for (Frame *f = fb->frame; f && (f->flags & FRAME_INLINE); f = f->prev) n++;
    if (n == 0) return fb->frame;
    // Create every coroutine first, so that running out of memory changes
    // nothing; each is rooted on the temporary root stack meanwhile.
    size_t i = 0;
    for (Frame *f = fb->frame; i < n; f = f->prev, i++) {
        GenObject *g = gen_from_running(vm, f);
        if (!g || vm_push_root(vm, v_obj(g)) < 0) {
            vm_pop_roots(vm, i);
            return NULL;
        }
    }
    // vm->roots[base + i] is the coroutine of the i-th frame from the top.
    size_t base = vm->roots_len - n;
    Frame *outermost = fb->frame;
    for (size_t k = 1; k < n; k++) outermost = outermost->prev;
    Frame *below = outermost->prev;
    Value *old_top = (Value *)(void *)((char *)outermost - FRAME_PAD);
    for (size_t k = n; k-- > 0;) {
        GenObject *g = (GenObject *)AS_OBJ(vm->roots[base + k]);
        Frame *gf = gen_frame(g);
        // The caller is suspended in the SEND of its `await f(...)`, with
        // the coroutine where the handled-exception slot was.
        g->saved_exc = below->sp[-1];
        below->sp[-1] = v_obj(g);
        below->instr = gen_inline_send(below->code, below->instr);
        gf->prev = below;
        g->hdr.obj_flags |= GENF_LIVE;
        vm->early_finalize_live++;
        gen_chain(vm, below, g);
        below = gf;
    }
    vm_pop_roots(vm, n);
    fb->frame = below;
    fb->top = old_top;
    return below;
}

int gen_check_resume(EddyVM *vm, GenObject *g, Value v) {
    // A frozen root itself resumes as it is; a frame of its chain thaws it.
    if (g->state == GEN_RUNNING || (g->chain && !gen_frozen(g))) gen_thaw(g);

    const char *what = gen_kind(vm, g);
    switch (g->state) {
    case GEN_RUNNING: vm_raise(vm, vm->exc_ValueError, "%s already executing", what); return -1;
    case GEN_CLOSED:
        if (is_coro(vm, g)) {
            vm_raise(vm, vm->exc_RuntimeError, "cannot reuse already awaited coroutine");
            return -1;
        }
        return 0;
    case GEN_CREATED:
        if (!IS_NONE(v)) {
            vm_raise(vm, vm->exc_TypeError, "can't send non-None value to a just-started %s", what);
            return -1;
        }
        return 1;
    default: return 1;
    }
}

Value gen_raise_stop(EddyVM *vm, Value value) {
    TupleObject *args = NULL;
    if (!IS_NONE(value)) {
        args = tuple_from(vm, &value, 1);
        if (!args) return VAL_NULL;
    }
    Value e = exc_new(vm, vm->exc_StopIteration, args);
    if (IS_NULL(e)) return VAL_NULL;
    return vm_raise_value(vm, e);
}

Value gen_fetch_stop_value(EddyVM *vm) {
    Value e = vm_err_fetch(vm);
    if (!is_exception(vm, e)) return VAL_NONE;
    TupleObject *args = ((ExceptionObject *)AS_OBJ(e))->args;
    StrObject *name = str_intern_cstr(vm, "value");
    if (!name) return VAL_NONE;
    Value v;
    if (object_getattr_opt(vm, e, name, &v) > 0) return v;
    vm_err_clear(vm);
    return args && args->len ? args->items[0] : VAL_NONE;
}

// ---------------------------------------------------------------------------
// Resuming from native code (nested dispatch loop)

// Resume g (state already checked): push v (V_NULL: nothing), or raise the
// pending exception at the suspension point when `throw`. 1 yielded *out /
// 0 returned *out / -1 raised.
static int gen_resume(EddyVM *vm, GenObject *g, Value v, bool throw, Value *out) {
    Fiber *fb = fiber_get(vm);
    if (!fb) return -1;
    if (EDDY_UNLIKELY(vm->native_depth >= NATIVE_DEPTH_MAX)) {
        vm_raise(vm, vm->exc_RecursionError,
                 "maximum recursion depth exceeded while calling a Python object");
        return -1;
    }
    vm->native_depth++;
    Frame *f = gen_link(vm, fb, g, throw ? VAL_NULL : v);
    if (!f) {
        vm->native_depth--;
        return -1;
    }
    // The entry flag goes on g's own frame (f is the leaf of a frozen chain).
    Frame *gf = gen_frame(g);
    gf->flags |= FRAME_ENTRY | (throw ? FRAME_THROW : 0);
    Value r = interp_run(vm, f);
    gf->flags &= ~(uint32_t)(FRAME_ENTRY | FRAME_THROW);
    vm->native_depth--;
    if (IS_NULL(r)) return -1;
    *out = r;
    return g->state == GEN_CLOSED ? 0 : 1;
}

// send(v): the yielded value, or V_NULL with StopIteration(return value) or
// the generator's exception pending.
static Value gen_send(EddyVM *vm, GenObject *g, Value v) {
    int c = gen_check_resume(vm, g, v);
    if (c < 0) return VAL_NULL;
    if (c == 0) return vm_raise_value(vm, v_obj(vm->exc_StopIteration));
    Value out;
    int r = gen_resume(vm, g, v, false, &out);
    if (r < 0) return VAL_NULL;
    if (r == 0) return gen_raise_stop(vm, out);
    return out;
}

// The iterator a suspended `yield from` delegates to, or V_NULL.
static Value gen_yieldfrom(GenObject *g) {
    if (g->state != GEN_SUSPENDED) return VAL_NULL;
    Frame *f = gen_frame(g);
    uint32_t w = f->instr[-1];
    if (INSTR_OP(w) == OP_YIELD_VALUE && INSTR_ARG(w) == 1 && f->sp > frame_stack(f))
        return f->sp[-1];
    return VAL_NULL;
}

bool gen_is_awaiting(GenObject *g) { return gen_leaf(g) || !IS_NULL(gen_yieldfrom(g)); }

// Close a delegate iterator (gen_close_iter): generators directly, others
// through their close() method if they have one. 0 / -1.
static Value gen_close(EddyVM *vm, GenObject *g);
static int close_iter(EddyVM *vm, Value it) {
    if (gen_like(vm, it)) {
        if (vm->native_depth >= NATIVE_DEPTH_MAX) {
            vm_raise(vm, vm->exc_RecursionError,
                     "maximum recursion depth exceeded while calling a Python object");
            return -1;
        }
        vm->native_depth++;
        Value r = gen_close(vm, (GenObject *)AS_OBJ(it));
        vm->native_depth--;
        return IS_NULL(r) ? -1 : 0;
    }
    Value meth;
    int r = vm_getattr_opt(vm, it, vm->names.close, &meth);
    if (r <= 0) return r;
    return IS_NULL(vm_call0(vm, meth)) ? -1 : 0;
}

// throw(exc) with exc an exception instance (rooted by the caller).
static Value gen_throw_exc(EddyVM *vm, GenObject *g, Value exc) {
    gen_thaw(g);
    if (g->state == GEN_RUNNING)
        return vm_raise(vm, vm->exc_ValueError, "%s already executing", gen_kind(vm, g));
    if (g->state == GEN_CLOSED) return vm_raise_value(vm, exc);
    Value yf = gen_yieldfrom(g);
    if (!IS_NULL(yf)) {
        // Delegate to the iterator of the suspended `yield from` first.
        // Meanwhile g counts as running: its exc_state waits in saved_exc.
        g->state = GEN_RUNNING;
        g->saved_exc = gen_exc_value(g->exc_state);
        Value ret = VAL_NULL;
        bool delegated = true;
        if (type_is_subtype(vm_type_of(vm, exc), vm->exc_GeneratorExit)) {
            int r = close_iter(vm, yf);
            if (r == 0) vm_raise_value(vm, exc);
        } else if (gen_like(vm, yf)) {
            // C recursion down the `yield from` chain: count it like a nested loop.
            if (vm->native_depth >= NATIVE_DEPTH_MAX) {
                vm_raise(vm, vm->exc_RecursionError,
                         "maximum recursion depth exceeded while calling a Python object");
            } else {
                vm->native_depth++;
                ret = gen_throw_exc(vm, (GenObject *)AS_OBJ(yf), exc);
                vm->native_depth--;
            }
        } else {
            Value meth;
            int r = vm_getattr_opt(vm, yf, vm->names.throw, &meth);
            if (r > 0)
                ret = vm_call1(vm, meth, exc);
            else if (r == 0)
                delegated = false;
        }
        g->state = GEN_SUSPENDED;
        gen_set_exc_state(g, g->saved_exc);
        if (!IS_NULL(ret)) return ret; // the delegate yielded: so does g
        if (!delegated) {
            vm_raise_value(vm, exc);
        } else if (vm_err_matches(vm, vm->exc_StopIteration)) {
            // The delegate returned: g continues after its `yield from`
            // with the return value (SEND's exit target).
            Value value = gen_fetch_stop_value(vm);
            Frame *f = gen_frame(g);
            const uint32_t *jump = f->instr; // JUMP back to the SEND
            uint32_t send = f->code->code[INSTR_ARG(*jump)];
            f->sp[-1] = value;
            f->instr = f->code->code + INSTR_ARG(send);
            Value out;
            int r = gen_resume(vm, g, VAL_NULL, false, &out);
            if (r < 0) return VAL_NULL;
            if (r == 0) return gen_raise_stop(vm, out);
            return out;
        }
    } else {
        vm_raise_value(vm, exc);
    }
    // Raise the pending exception inside g at its suspension point.
    Value out;
    int r = gen_resume(vm, g, VAL_NULL, true, &out);
    if (r < 0) return VAL_NULL;
    if (r == 0) return gen_raise_stop(vm, out);
    return out;
}

int gen_foreach(EddyVM *vm, GenObject *g, int (*fn)(EddyVM *vm, Value item, void *ud), void *ud) {
    int c = gen_check_resume(vm, g, VAL_NONE);
    if (c <= 0) return c;
    GenConsumer consumer = {fn, ud, 0};
    GenConsumer *saved = vm->gen_consumer;
    vm->gen_consumer = &consumer;
    Frame *gf = gen_frame(g);
    gf->flags |= FRAME_CONSUMED;
    Value out;
    int r = gen_resume(vm, g, VAL_NONE, false, &out);
    gf->flags &= ~(uint32_t)FRAME_CONSUMED;
    vm->gen_consumer = saved;
    if (r < 0) return -1; // the generator raised
    if (r == 0) return 0; // it returned
    return consumer.stopped < 0 ? -1 : 1;
}

// For the event loop's task step: resume coroutine g with v, or throw exc
// into it when exc is not V_NULL. 1 yielded *out / 0 returned *out / -1 raised.
int gen_step(EddyVM *vm, GenObject *g, Value v, Value exc, Value *out) {
    if (!IS_NULL(exc)) {
        Value r = gen_throw_exc(vm, g, exc);
        if (!IS_NULL(r)) {
            *out = r;
            return 1;
        }
        if (!vm_err_matches(vm, vm->exc_StopIteration)) return -1;
        *out = gen_fetch_stop_value(vm);
        return 0;
    }
    int c = gen_check_resume(vm, g, v);
    if (c < 0) return -1;
    if (c == 0) {
        vm_raise_value(vm, v_obj(vm->exc_StopIteration));
        return -1;
    }
    return gen_resume(vm, g, v, false, out);
}

static Value gen_close(EddyVM *vm, GenObject *g) {
    gen_thaw(g);
    if (g->state == GEN_CREATED || g->state == GEN_CLOSED) {
        g->state = GEN_CLOSED;
        return VAL_NONE;
    }
    if (g->state == GEN_RUNNING)
        return vm_raise(vm, vm->exc_ValueError, "generator already executing");
    Value exc = exc_new(vm, vm->exc_GeneratorExit, NULL);
    if (IS_NULL(exc) || vm_push_root(vm, exc) < 0) return VAL_NULL;
    Value r = gen_throw_exc(vm, g, exc);
    vm_pop_roots(vm, 1);
    if (!IS_NULL(r))
        return vm_raise(vm, vm->exc_RuntimeError, "%s ignored GeneratorExit", gen_kind(vm, g));
    if (vm_err_matches(vm, vm->exc_GeneratorExit) || vm_err_matches(vm, vm->exc_StopIteration)) {
        vm_err_clear(vm);
        return VAL_NONE;
    }
    return VAL_NULL;
}

// ---------------------------------------------------------------------------
// Collection: closing unreachable generators
//
// CPython closes a suspended generator when it becomes garbage, so its
// finally blocks and __exit__ methods run. Our collector must not run script
// code, so it only finds them (gen_gc_resurrect, after marking): a dead
// generator whose close() would run code is marked, with everything it
// references, and queued; gen_close_pending closes the queue once the
// collection is over. Everything else dies silently, as close() would have
// had no visible effect. A queued generator is flagged GENF_PENDING and
// stays counted in early_finalize_live, so a collection that happens before
// it is closed (from a finally block of an earlier one) keeps it alive too.

static Value gen_repr(EddyVM *vm, Value self);

// Would closing g run code? It must be started and suspended, and not an
// inner frame of a frozen await chain (its root closes the chain): then
// either a try/with block covers its yield, or its `yield from` delegates to
// an object that is not a generator (whose close() is called).
static bool gen_needs_close(EddyVM *vm, GenObject *g) {
    if (g->state != GEN_SUSPENDED || gen_root(g) != g) return false;
    if (gen_leaf(g)) return true;
    CodeObject *co = gen_code(g);
    uint32_t pc = (uint32_t)(gen_frame(g)->instr - 1 - co->code);
    for (uint32_t i = 0; i < co->nexc; i++)
        if (co->exc_table[i].start <= pc && pc < co->exc_table[i].end) return true;
    Value yf = gen_yieldfrom(g);
    return !IS_NULL(yf) && !gen_like(vm, yf);
}

// Queue g for closing (no allocation of VM objects: raw memory, safe inside
// the collector). False when out of memory: g then dies without closing.
static bool pending_push(EddyVM *vm, GenObject *g) {
    if (vm->gen_pending_len == vm->gen_pending_cap) {
        size_t cap = vm->gen_pending_cap ? vm->gen_pending_cap * 2 : 16;
        Obj **a = mem_alloc_raw(vm, cap * sizeof(Obj *));
        if (!a) return false;
        if (vm->gen_pending) {
            memcpy(a, vm->gen_pending, vm->gen_pending_len * sizeof(Obj *));
            mem_free_raw(vm, vm->gen_pending, vm->gen_pending_cap * sizeof(Obj *));
        }
        vm->gen_pending = a;
        vm->gen_pending_cap = cap;
    }
    vm->gen_pending[vm->gen_pending_len++] = &g->hdr;
    g->hdr.obj_flags |= GENF_PENDING;
    vm->early_finalize_live++;
    return true;
}

static bool is_gen_type(EddyVM *vm, TypeObject *t) {
    return t == vm->t_generator || t == vm->t_coroutine || t == vm->t_async_generator;
}

bool gen_gc_resurrect(EddyVM *vm) {
    bool any = false;
    for (size_t i = 0; i < vm->tracked_len; i++) {
        Obj *o = vm->tracked[i];
        if (o->gc_marked | o->gc_pinned) continue;
        if (!is_gen_type(vm, o->type) || !(o->obj_flags & (GENF_LIVE | GENF_PENDING))) continue;
        GenObject *g = (GenObject *)o;
        if (!(o->obj_flags & GENF_PENDING) && (!gen_needs_close(vm, g) || !pending_push(vm, g)))
            continue;
        gc_mark_obj(vm, o);
        any = true;
    }
    return any;
}

// Dead generators that were not queued: forget their counts, free the
// side record.
static void gen_finalize(EddyVM *vm, Obj *o) {
    uint16_t counted = o->obj_flags & (GENF_LIVE | GENF_PENDING);
    if (counted & GENF_LIVE) vm->early_finalize_live--;
    if (counted & GENF_PENDING) vm->early_finalize_live--;
    o->obj_flags &= (uint16_t) ~(GENF_LIVE | GENF_PENDING);
    GenObject *g = (GenObject *)o;
    if (gen_extra_of(g)) mem_free(vm, gen_extra_of(g), sizeof(GenExtra));
    g->hdr.reserved = NULL;
}

// CPython's "unraisable exception" report for an exception from a close()
// nobody called: printed to stderr and cleared.
static void report_unraisable(EddyVM *vm, GenObject *g) {
    Value exc = vm_err_fetch(vm);
    if (vm_push_root(vm, exc) < 0) {
        vm_err_clear(vm);
        return;
    }
    Value r = gen_repr(vm, v_obj(g));
    vm_err_clear(vm);
    io_flush_std(vm);
    fprintf(stderr, "Exception ignored in: %s\n", IS_NULL(r) ? "<generator>" : AS_STR(r)->data);
    if (is_exception(vm, exc)) {
        // The report shows this exception alone, without its chain.
        ExceptionObject *e = (ExceptionObject *)AS_OBJ(exc);
        e->cause = VAL_NONE;
        e->context = VAL_NONE;
    }
    if (!IS_NULL(exc)) vm_print_exception(vm, exc, stderr);
    fflush(stderr);
    vm_err_clear(vm);
    vm_pop_roots(vm, 1);
}

// Close one generator for the collector. Async generators: CPython gives
// them to the finalizer of sys.set_asyncgen_hooks() (the running event
// loop's, which schedules aclose()) when one was installed as the
// generator first ran, and closes them like this otherwise. There are no
// asyncgen hooks yet; an event loop would hook in here.
static void close_for_gc(EddyVM *vm, GenObject *g) {
    Value r = gen_close(vm, g);
    if (IS_NULL(r)) report_unraisable(vm, g);
    vm->gen_closed++;
    // One try only: a generator that ignored GeneratorExit now dies silently.
    if (g->hdr.obj_flags & GENF_LIVE) {
        g->hdr.obj_flags &= (uint16_t)~GENF_LIVE;
        vm->early_finalize_live--;
    }
}

void gen_close_pending(EddyVM *vm) {
    if (vm->gen_closing || vm->gen_pending_len == 0) return;
    vm->gen_closing = true;
    Value pending = vm->exc; // normally none at a safe point; kept if there is one
    vm->exc = VAL_NULL;
    bool rooted = vm_push_root(vm, pending) == 0;
    if (!rooted) vm->exc = pending;
    // The queue may grow while it is processed (collections inside finally
    // blocks): read it afresh each time. A gc.collect() in a finally block
    // runs this again (nested): it skips the entries taken already.
    for (size_t i = 0; rooted && i < vm->gen_pending_len; i++) {
        GenObject *g = (GenObject *)vm->gen_pending[i];
        if (!(g->hdr.obj_flags & GENF_PENDING)) continue;
        g->hdr.obj_flags &= (uint16_t)~GENF_PENDING;
        vm->early_finalize_live--;
        if (vm_push_root(vm, v_obj(g)) < 0) {
            vm_err_clear(vm);
            continue; // out of memory: it dies unclosed at the next collection
        }
        close_for_gc(vm, g);
        vm_pop_roots(vm, 1);
    }
    if (rooted) {
        vm->gen_pending_len = 0;
        vm_pop_roots(vm, 1);
        vm->exc = pending;
    }
    vm->gen_closing = false;
}

void gen_close_all(EddyVM *vm) {
    // Closing may leave other generators suspended (a finally that starts
    // one): a few rounds, like CPython's repeated collections at exit.
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < vm->tracked_len; i++) {
            Obj *o = vm->tracked[i];
            if (!is_gen_type(vm, o->type) || !(o->obj_flags & GENF_LIVE) ||
                (o->obj_flags & GENF_PENDING))
                continue;
            if (gen_needs_close(vm, (GenObject *)o)) pending_push(vm, (GenObject *)o);
        }
        if (vm->gen_pending_len == 0) return;
        gen_close_pending(vm);
    }
}

void gen_free_pending(EddyVM *vm) {
    if (vm->gen_pending) mem_free_raw(vm, vm->gen_pending, vm->gen_pending_cap * sizeof(Obj *));
    vm->gen_pending = NULL;
    vm->gen_pending_len = vm->gen_pending_cap = 0;
}

// ---------------------------------------------------------------------------
// The generator type

static GenObject *as_gen(Value v) { return (GenObject *)AS_OBJ(v); }

// The code objects of a coroutine's cr_origin frames.
static __attribute__((noinline)) void mark_origin(EddyVM *vm, GenObject *g) {
    CoroOriginStack *st = coro_origin_stack(g);
    for (uint32_t i = 0; i < st->n; i++) gc_mark_obj(vm, (Obj *)st->entries[i].code);
}

static void gen_trace(EddyVM *vm, Obj *o) {
    GenObject *g = (GenObject *)o;
    Frame *f = gen_frame(g);
    gc_mark_obj(vm, (Obj *)f->code); // (also once closed: gi_code, the names)
    if (g->state == GEN_RUNNING || gen_frozen(g)) {
        gc_mark_value(vm, g->saved_exc);
    } else {
        gc_mark_obj(vm, g->exc_state);
        gc_mark_obj(vm, g->chain_exc);
    }
    gc_mark_obj(vm, (Obj *)g->chain);
    GenExtra *x = gen_extra_of(g);
    if (x) {
        gc_mark_obj(vm, x->frame_obj);
        gc_mark_obj(vm, (Obj *)x->name);
        gc_mark_obj(vm, (Obj *)x->qualname);
    }
    uint16_t flags = g->hdr.obj_flags;
    if (flags & (GENF_UNSTARTED | GENF_ORIGIN)) {
        if (flags & GENF_UNSTARTED) gc_mark_obj(vm, (Obj *)coro_origin(g)->code);
        if (EDDY_UNLIKELY(flags & GENF_ORIGIN)) mark_origin(vm, g);
    }
    if (g->state == GEN_CLOSED) return;
    // A suspended frame: every Value in it. (A running one is also reached
    // through the fiber; prev then belongs to the fiber's chain.)
    gc_mark_obj(vm, (Obj *)f->func);
    gc_mark_obj(vm, (Obj *)f->globals);
    gc_mark_obj(vm, (Obj *)f->builtins);
    gc_mark_obj(vm, (Obj *)f->locals);
    for (uint32_t i = 0; i < f->nlocalsplus; i++) gc_mark_value(vm, f->localsplus[i]);
    for (Value *p = frame_stack(f); p < f->sp; p++) gc_mark_value(vm, *p);
}

static uint64_t fnv1a(uint64_t h, const char *s) {
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (h ^ 0xff) * 1099511628211u; // separator
}

// Has this warning been shown before? Records it if not (when memory allows).
// The creation stack is part of the message, so of what tells warnings apart.
static bool already_warned(EddyVM *vm, const char *file, uint32_t line, const char *name,
                           const StackEntry *origin, uint32_t norigin) {
    uint64_t h = fnv1a(fnv1a(14695981039346656037u, file), name) ^ line;
    for (uint32_t i = 0; i < norigin; i++) {
        h = fnv1a(h, origin[i].code->filename ? origin[i].code->filename->data : "");
        h = (h ^ code_line_of(origin[i].code, origin[i].pc)) * 1099511628211u;
    }
    for (size_t i = 0; i < vm->warned_len; i++)
        if (vm->warned[i] == h) return true;
    if (vm->warned_len == vm->warned_cap) {
        size_t cap = vm->warned_cap ? vm->warned_cap * 2 : 16;
        uint64_t *a = mem_alloc_raw(vm, cap * sizeof(uint64_t));
        if (!a) return false;
        if (vm->warned) {
            memcpy(a, vm->warned, vm->warned_len * sizeof(uint64_t));
            mem_free_raw(vm, vm->warned, vm->warned_cap * sizeof(uint64_t));
        }
        vm->warned = a;
        vm->warned_cap = cap;
    }
    vm->warned[vm->warned_len++] = h;
    return false;
}

static bool same_name(StrObject *a, StrObject *b) { return a == b || (a && b && str_eq(a, b)); }

// The creation stack in the warning, as CPython's warnings module words it
// (traceback.format_list, outermost first). No VM objects are allocated.
static void print_coro_origin(EddyVM *vm, const StackEntry *st, uint32_t n) {
    fputs("Coroutine created at (most recent call last)\n", stderr);
    const StackEntry *last = NULL;
    uint32_t last_line = 0;
    long count = 0;
    for (uint32_t i = n; i-- > 0;) {
        const CodeObject *code = st[i].code;
        uint32_t line = code_line_of(code, st[i].pc);
        // Repeats beyond the third collapse, as in StackSummary.format().
        if (!last || !same_name(last->code->filename, code->filename) || last_line != line ||
            !same_name(last->code->name, code->name)) {
            if (count > 3)
                fprintf(stderr, "  [Previous line repeated %ld more time%s]\n", count - 3,
                        count - 3 > 1 ? "s" : "");
            last = &st[i];
            last_line = line;
            count = 0;
        }
        if (++count > 3) continue;
        fprintf(stderr, "  File \"%s\", line %u, in %s\n",
                code->filename ? code->filename->data : "<unknown>", line,
                code->name ? code->name->data : "<unknown>");
        vm_print_source_line(vm, stderr, code->filename, line, "    ");
    }
    if (count > 3)
        fprintf(stderr, "  [Previous line repeated %ld more time%s]\n", count - 3,
                count - 3 > 1 ? "s" : "");
}

// CPython's RuntimeWarning for a coroutine collected before it ever ran,
// made at code/pc (NULL: unknown), once per place, name and creation stack
// (norigin entries, innermost first; 0 when untracked). It only writes to
// stderr (no objects, no script code), so it can run inside a collection.
void coro_warn_unawaited(EddyVM *vm, CodeObject *code, uint32_t pc, const char *name,
                         const StackEntry *origin, uint32_t norigin) {
    uint32_t line = code ? code_line_of(code, pc) : 0;
    const char *file = code && code->filename ? code->filename->data : "sys";
    if (already_warned(vm, file, line, name, origin, norigin)) return;
    fprintf(stderr, "%s:%u: RuntimeWarning: coroutine '%s' was never awaited\n", file, line, name);
    if (norigin) print_coro_origin(vm, origin, norigin);
    if (code) vm_print_source_line(vm, stderr, code->filename, line, "  ");
    fputs("RuntimeWarning: Enable tracemalloc to get the object allocation traceback\n", stderr);
}

// Runs before anything of the collection is freed, so code and names are
// intact.
static void coro_early_finalize(EddyVM *vm, Obj *o) {
    GenObject *g = (GenObject *)o;
    if (!(g->hdr.obj_flags & GENF_UNSTARTED)) return;
    coro_uncount(vm, g);
    if (g->state != GEN_CREATED) return; // closed or thrown into: no warning
    CoroOrigin *orig = coro_origin(g);
    StrObject *qualname = gen_qualname(g);
    CoroOriginStack *st = g->hdr.obj_flags & GENF_ORIGIN ? coro_origin_stack(g) : NULL;
    coro_warn_unawaited(vm, orig->code, orig->pc, qualname ? qualname->data : "?",
                        st ? st->entries : NULL, st ? st->n : 0);
}

// cr_origin: ((filename, lineno, function name), ...) innermost first, or
// None when the coroutine was created without origin tracking.
static Value g_origin(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    GenObject *g = as_gen(args[0]);
    if (!(g->hdr.obj_flags & GENF_ORIGIN)) return VAL_NONE;
    CoroOriginStack *st = coro_origin_stack(g);
    TupleObject *t = tuple_new(vm, st->n);
    if (!t) return VAL_NULL;
    if (vm_push_root(vm, v_obj(t)) < 0) return VAL_NULL;
    for (uint32_t i = 0; i < st->n; i++) {
        CodeObject *code = st->entries[i].code;
        Value items[3] = {code->filename ? v_obj(code->filename) : VAL_NONE,
                          v_int(code_line_of(code, st->entries[i].pc)),
                          code->name ? v_obj(code->name) : VAL_NONE};
        TupleObject *entry = tuple_from(vm, items, 3);
        if (!entry) {
            vm_pop_roots(vm, 1);
            return VAL_NULL;
        }
        t->items[i] = v_obj(entry);
    }
    vm_pop_roots(vm, 1);
    return v_obj(t);
}

static Value gen_repr(EddyVM *vm, Value self) {
    StrObject *s = str_format(vm, "<%s object %U at %p>", OBJ_TYPE(AS_OBJ(self))->name->data,
                              gen_qualname(as_gen(self)), (void *)AS_OBJ(self));
    return s ? v_obj(s) : VAL_NULL;
}

static Value gen_iter(EddyVM *vm, Value self) {
    (void)vm;
    return self;
}

// The next slot (list(g), sorted(g), zip(g) ...): 1 item / 0 exhausted / -1.
static int gen_next_slot(EddyVM *vm, Value self, Value *out) {
    GenObject *g = as_gen(self);
    int c = gen_check_resume(vm, g, VAL_NONE);
    if (c <= 0) return c;
    int r = gen_resume(vm, g, VAL_NONE, false, out);
    return r < 0 ? -1 : r;
}

static Value m_next(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "__next__", kw) < 0 || args_count(vm, "__next__", nargs, 1, 1) < 0)
        return VAL_NULL;
    return gen_send(vm, as_gen(args[0]), VAL_NONE);
}

static Value m_iter(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return args[0];
}

static Value m_send(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "send", kw) < 0) return VAL_NULL;
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "%s.send() takes exactly one argument (%d given)",
                        gen_kind(vm, as_gen(args[0])), nargs - 1);
    return gen_send(vm, as_gen(args[0]), args[1]);
}

// throw(exc) / throw(type[, value[, tb]]) (args[0] is self), normalised as
// CPython's _gen_throw: the exception instance, or V_NULL.
Value gen_throw_arg(EddyVM *vm, Value *args, int nargs) {
    Value typ = args[1];
    Value val = nargs > 2 ? args[2] : VAL_NONE;
    Value tb = nargs > 3 ? args[3] : VAL_NONE;
    if (!IS_NONE(tb) && !is_exact(tb, vm->t_traceback))
        return vm_raise(vm, vm->exc_TypeError, "throw() third argument must be a traceback object");
    Value exc;
    if (is_exception_type(vm, typ)) {
        if (is_exception(vm, val) && type_is_subtype(vm_type_of(vm, val), AS_TYPE(typ))) {
            exc = val;
        } else if (IS_NONE(val)) {
            exc = vm_call0(vm, typ);
        } else if (is_exact(val, vm->t_tuple)) {
            exc = vm_call(vm, typ, AS_TUPLE(val)->items, (int)AS_TUPLE(val)->len, NULL);
        } else {
            exc = vm_call1(vm, typ, val);
        }
        if (IS_NULL(exc)) return VAL_NULL;
        if (!is_exception(vm, exc))
            return vm_raise(vm, vm->exc_TypeError,
                            "calling %R should have returned an instance of BaseException, not %s",
                            typ, vm_type_name(vm, exc));
    } else if (is_exception(vm, typ)) {
        if (!IS_NONE(val))
            return vm_raise(vm, vm->exc_TypeError,
                            "instance exception may not have a separate value");
        exc = typ;
    } else {
        return vm_raise(vm, vm->exc_TypeError,
                        "exceptions must be classes or instances deriving from BaseException, "
                        "not %s",
                        vm_type_name(vm, typ));
    }
    if (!IS_NONE(tb)) ((ExceptionObject *)AS_OBJ(exc))->traceback = tb;
    return exc;
}

static Value m_throw(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "throw", kw) < 0 || args_count(vm, "throw", nargs - 1, 1, 3) < 0)
        return VAL_NULL;
    Value exc = gen_throw_arg(vm, args, nargs);
    if (IS_NULL(exc) || vm_push_root(vm, exc) < 0) return VAL_NULL;
    Value r = gen_throw_exc(vm, as_gen(args[0]), exc);
    vm_pop_roots(vm, 1);
    return r;
}

static Value m_close(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "close", kw) < 0 || args_count(vm, "close", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    return gen_close(vm, as_gen(args[0]));
}

static Value g_running(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    gen_thaw(as_gen(args[0]));
    GenObject *g = as_gen(args[0]);
    if (OBJ_TYPE(&g->hdr) == vm->t_async_generator)
        return v_bool(g->hdr.obj_flags & AGEN_RUNNING_ASYNC);
    return v_bool(g->state == GEN_RUNNING);
}

static Value g_suspended(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    gen_thaw(as_gen(args[0]));
    return v_bool(as_gen(args[0])->state == GEN_SUSPENDED);
}

static Value g_code(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_obj(gen_code(as_gen(args[0])));
}

static Value g_yieldfrom(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    gen_thaw(as_gen(args[0]));
    Value yf = gen_yieldfrom(as_gen(args[0]));
    return IS_NULL(yf) ? VAL_NONE : yf;
}

static Value g_name(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_obj(gen_name(as_gen(args[0])));
}

static Value g_qualname(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_obj(gen_qualname(as_gen(args[0])));
}

// __name__ / __qualname__ assignment: a str (subclasses too), kept in the
// side record. (Deleting raises, as in CPython.)
static Value set_name(EddyVM *vm, Value *args, const char *what, bool qual) {
    if (IS_NULL(args[1]) || !is_str(vm, args[1]))
        return vm_raise(vm, vm->exc_TypeError, "%s must be set to a string object", what);
    GenExtra *x = gen_extra(vm, as_gen(args[0]));
    if (!x) return VAL_NULL;
    if (qual)
        x->qualname = AS_STR(args[1]);
    else
        x->name = AS_STR(args[1]);
    return VAL_NONE;
}

static Value g_set_name(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    return set_name(vm, args, "__name__", false);
}

static Value g_del_name(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    Value a[2] = {args[0], VAL_NULL};
    return set_name(vm, a, "__name__", false);
}

static Value g_del_qualname(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    Value a[2] = {args[0], VAL_NULL};
    return set_name(vm, a, "__qualname__", true);
}

static Value g_set_qualname(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    return set_name(vm, args, "__qualname__", true);
}

static Value g_frame(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    GenObject *g = as_gen(args[0]);
    if (g->state == GEN_CLOSED) return VAL_NONE;
    GenExtra *x = gen_extra_of(g);
    if (x && x->frame_obj) return v_obj(x->frame_obj);
    FrameObject *fo = (FrameObject *)obj_alloc(vm, vm->t_frame, sizeof(FrameObject));
    if (!fo) return VAL_NULL;
    fo->gen = g;
    if (vm_push_root(vm, v_obj(fo)) < 0) return VAL_NULL;
    x = gen_extra(vm, g);
    vm_pop_roots(vm, 1);
    if (!x) return VAL_NULL;
    x->frame_obj = (Obj *)fo;
    return v_obj(fo);
}

// ---------------------------------------------------------------------------
// gi_frame: a minimal frame object (f_code, f_lineno) for a generator's frame

static void frame_trace(EddyVM *vm, Obj *o) {
    gc_mark_obj(vm, (Obj *)((FrameObject *)o)->gen);
    gc_mark_obj(vm, (Obj *)((FrameObject *)o)->code);
}

Value frame_detached(EddyVM *vm, CodeObject *code, uint32_t pc) {
    FrameObject *fo = (FrameObject *)obj_alloc(vm, vm->t_frame, sizeof(FrameObject));
    if (!fo) return VAL_NULL;
    fo->code = code;
    fo->pc = pc;
    return v_obj(fo);
}

bool frame_object_entry(EddyVM *vm, Value frame, StackEntry *out) {
    if (!is_exact(frame, vm->t_frame)) return false;
    FrameObject *fo = (FrameObject *)AS_OBJ(frame);
    GenObject *g = fo->gen;
    if (!g) {
        *out = (StackEntry){fo->code, fo->pc};
        return true;
    }
    gen_thaw(g);
    const uint32_t *at = gen_frame(g)->instr;
    // Suspended: instr is the resume point, the yield is just before it.
    // (Finished: instr is where it returned or raised.)
    CodeObject *co = gen_code(g);
    if ((g->state == GEN_CREATED || g->state == GEN_SUSPENDED) && at > co->code) at--;
    *out = (StackEntry){co, (uint32_t)(at - co->code)};
    return true;
}

static Value f_code(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    StackEntry e = {NULL, 0};
    frame_object_entry(vm, args[0], &e); // (always a frame: the getter's own type)
    return v_obj(e.code);
}

static Value f_lineno(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    StackEntry e = {NULL, 0};
    frame_object_entry(vm, args[0], &e); // (always a frame: the getter's own type)
    return v_int(code_line_of(e.code, e.pc));
}

// The caller's frame: Eddy keeps none for these (a suspended coroutine's is
// None in CPython too).
static Value f_back(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)args, (void)nargs, (void)kw;
    return VAL_NONE;
}

static Value frame_repr(EddyVM *vm, Value self) {
    StackEntry e = {NULL, 0};
    frame_object_entry(vm, self, &e);
    StrObject *s =
        str_format(vm, "<frame at %p, file '%U', line %u, code %U>", (void *)AS_OBJ(self),
                   e.code->filename, (unsigned)code_line_of(e.code, e.pc), e.code->name);
    return s ? v_obj(s) : VAL_NULL;
}

bool gen_resume_call(EddyVM *vm, NativeFunctionObject *nf, Value *args, int nargs, Value *send) {
    if (nargs < 1 || nargs > 2 || !gen_like(vm, args[0])) return false;
    if (nf->fn == m_send) {
        *send = nargs == 2 ? args[1] : VAL_NONE;
        return nargs == 2;
    }
    if (!is_exact(args[0], vm->t_generator)) return false;
    *send = VAL_NONE;
    if (nargs != 1) return false;
    if (nf->fn == m_next) return true;
    // builtins.next(g) (next(g, default) keeps the native path).
    return !nf->owner && !(nf->flags & NATIVE_METHOD) && strcmp(nf->name, "next") == 0 &&
           IS_NULL(nf->self);
}

// ---------------------------------------------------------------------------
// Async generators. The frame is an ordinary GenObject frame; a real `yield v`
// is ASYNC_GEN_WRAP + YIELD_VALUE, so a wrapped value reaching the awaitable
// below is the next item (StopIteration(v) for its awaiter), while anything
// else is an `await` inside the generator passing a value through to the
// driver. The awaitables resume the generator from native code (nested
// loop), like send()/throw() on generators.

typedef struct WrappedObject {
    Obj hdr;
    Value value;
} WrappedObject;

enum { AW_INIT, AW_ITER, AW_CLOSED };

// asend(v) / __anext__() (throw_exc NULL, closing false), athrow(exc)
// (throw_exc set) and aclose() (closing true).
typedef struct AwaitObject {
    Obj hdr;
    GenObject *agen;
    Value value;    // asend: the value to send first; athrow: the exception
    uint32_t state; // AW_*
    bool closing;   // aclose()
} AwaitObject;

Value gen_async_wrap(EddyVM *vm, Value v) {
    WrappedObject *w =
        (WrappedObject *)obj_alloc(vm, vm->t_async_gen_wrapped, sizeof(WrappedObject));
    if (!w) return VAL_NULL;
    w->value = v;
    return v_obj(w);
}

static void wrapped_trace(EddyVM *vm, Obj *o) { gc_mark_value(vm, ((WrappedObject *)o)->value); }

// One of an async generator's asend()/athrow() awaitables is driving it
// (AGEN_RUNNING_ASYNC, CPython's ag_running_async), from its first step until
// it produces an item or finishes; another awaitable starting then raises.

static void agen_set_running(GenObject *g, bool on) {
    if (on)
        g->hdr.obj_flags |= AGEN_RUNNING_ASYNC;
    else
        g->hdr.obj_flags &= (uint16_t)~AGEN_RUNNING_ASYNC;
}

static bool agen_running(GenObject *g) { return g->hdr.obj_flags & AGEN_RUNNING_ASYNC; }

static void await_trace(EddyVM *vm, Obj *o) {
    AwaitObject *a = (AwaitObject *)o;
    gc_mark_obj(vm, (Obj *)a->agen);
    gc_mark_value(vm, a->value);
}

static Value await_new(EddyVM *vm, TypeObject *t, GenObject *g, Value v, bool closing) {
    AwaitObject *a = (AwaitObject *)obj_alloc(vm, t, sizeof(AwaitObject));
    if (!a) return VAL_NULL;
    a->agen = g;
    a->value = v;
    a->state = AW_INIT;
    a->closing = closing;
    return v_obj(a);
}

// The generator's answer r (a value, or V_NULL + exception) as this
// awaitable's: a wrapped item finishes it with StopIteration(item).
static Value await_result(EddyVM *vm, AwaitObject *a, Value r) {
    if (IS_NULL(r) || is_exact(r, vm->t_async_gen_wrapped)) agen_set_running(a->agen, false);
    if (IS_NULL(r)) {
        a->state = AW_CLOSED;
        if (a->closing) {
            if (vm_err_matches(vm, vm->exc_StopAsyncIteration) ||
                vm_err_matches(vm, vm->exc_GeneratorExit) ||
                vm_err_matches(vm, vm->exc_StopIteration)) {
                vm_err_clear(vm);
                return gen_raise_stop(vm, VAL_NONE);
            }
        } else if (vm_err_matches(vm, vm->exc_StopIteration)) {
            // The generator returned (or was already exhausted).
            vm_err_clear(vm);
            return vm_raise_value(vm, v_obj(vm->exc_StopAsyncIteration));
        }
        return VAL_NULL;
    }
    if (is_exact(r, vm->t_async_gen_wrapped)) {
        a->state = AW_CLOSED;
        if (a->closing)
            return vm_raise(vm, vm->exc_RuntimeError, "async generator ignored GeneratorExit");
        return gen_raise_stop(vm, ((WrappedObject *)AS_OBJ(r))->value);
    }
    return r; // an await inside the generator yielded: pass it to the driver
}

static Value await_send(EddyVM *vm, AwaitObject *a, Value v) {
    GenObject *g = a->agen;
    if (a->state == AW_CLOSED)
        return vm_raise(vm, vm->exc_RuntimeError, "cannot reuse already awaited %s",
                        OBJ_TYPE(&a->hdr) == vm->t_async_gen_asend ? "__anext__()/asend()"
                                                                   : "aclose()/athrow()");
    Value r;
    if (g->state == GEN_CREATED && loop_track_asyncgen(vm, g) < 0) return VAL_NULL;
    if (a->state == AW_INIT) {
        if (agen_running(g)) {
            if (OBJ_TYPE(&a->hdr) == vm->t_async_gen_asend)
                return vm_raise(vm, vm->exc_RuntimeError,
                                "anext(): asynchronous generator is already running");
            a->state = AW_CLOSED;
            return vm_raise(vm, vm->exc_RuntimeError,
                            "%s(): asynchronous generator is already running",
                            a->closing ? "aclose" : "athrow");
        }
        a->state = AW_ITER;
        if (OBJ_TYPE(&a->hdr) == vm->t_async_gen_asend) {
            if (IS_NONE(v)) v = a->value;
            agen_set_running(g, true);
            r = gen_send(vm, g, v);
        } else {
            Value exc = a->value;
            if (a->closing) {
                if (g->state == GEN_CREATED || g->state == GEN_CLOSED) {
                    g->state = GEN_CLOSED;
                    a->state = AW_CLOSED;
                    return gen_raise_stop(vm, VAL_NONE);
                }
                exc = exc_new(vm, vm->exc_GeneratorExit, NULL);
                if (IS_NULL(exc)) return VAL_NULL;
            }
            if (vm_push_root(vm, exc) < 0) return VAL_NULL;
            agen_set_running(g, true);
            r = gen_throw_exc(vm, g, exc);
            vm_pop_roots(vm, 1);
        }
    } else {
        agen_set_running(g, true);
        r = gen_send(vm, g, v);
    }
    return await_result(vm, a, r);
}

static AwaitObject *as_await(Value v) { return (AwaitObject *)AS_OBJ(v); }

static Value aw_send(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "send", kw) < 0 || args_count(vm, "send", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    return await_send(vm, as_await(args[0]), args[1]);
}

static Value aw_next(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "__next__", kw) < 0 || args_count(vm, "__next__", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    return await_send(vm, as_await(args[0]), VAL_NONE);
}

static Value aw_throw(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "throw", kw) < 0 || args_count(vm, "throw", nargs - 1, 1, 3) < 0)
        return VAL_NULL;
    AwaitObject *a = as_await(args[0]);
    if (a->state == AW_CLOSED)
        return vm_raise(vm, vm->exc_RuntimeError, "cannot reuse already awaited %s",
                        OBJ_TYPE(&a->hdr) == vm->t_async_gen_asend ? "__anext__()/asend()"
                                                                   : "aclose()/athrow()");
    Value exc = gen_throw_arg(vm, args, nargs);
    if (IS_NULL(exc) || vm_push_root(vm, exc) < 0) return VAL_NULL;
    a->state = AW_ITER;
    agen_set_running(a->agen, true);
    Value r = gen_throw_exc(vm, a->agen, exc);
    vm_pop_roots(vm, 1);
    return await_result(vm, a, r);
}

static Value aw_close(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    as_await(args[0])->state = AW_CLOSED;
    return VAL_NONE;
}

static Value ag_aiter(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return args[0];
}

// The interpreter's stackless path for async generators (frame.h).
Value gen_anext(EddyVM *vm, GenObject *g) {
    return await_new(vm, vm->t_async_gen_asend, g, VAL_NONE, false);
}

int gen_asend_begin(EddyVM *vm, Value aw, Value *v, GenObject **out) {
    AwaitObject *a = (AwaitObject *)AS_OBJ(aw);
    if (a->state == AW_CLOSED) {
        vm_raise(vm, vm->exc_RuntimeError, "cannot reuse already awaited __anext__()/asend()");
        return -1;
    }
    GenObject *g = a->agen;
    Value send = *v;
    if (a->state == AW_INIT) {
        if (agen_running(g)) {
            vm_raise(vm, vm->exc_RuntimeError,
                     "anext(): asynchronous generator is already running");
            return -1;
        }
        if (IS_NONE(send)) send = a->value;
    }
    a->state = AW_ITER;
    int c = gen_check_resume(vm, g, send);
    if (c <= 0) {
        a->state = AW_CLOSED;
        if (c == 0) vm_raise_value(vm, v_obj(vm->exc_StopAsyncIteration));
        return -1;
    }
    if (g->state == GEN_CREATED && loop_track_asyncgen(vm, g) < 0) return -1;
    agen_set_running(g, true);
    *v = send;
    *out = g;
    return 1;
}

int gen_anext_begin(EddyVM *vm, GenObject *g) {
    // What __anext__() + the SEND's gen_asend_begin check, in the same order.
    if (EDDY_LIKELY(g->state == GEN_SUSPENDED && !agen_running(g))) {
        agen_set_running(g, true);
        return 1;
    }
    if (agen_running(g)) {
        vm_raise(vm, vm->exc_RuntimeError, "anext(): asynchronous generator is already running");
        return -1;
    }
    int c = gen_check_resume(vm, g, VAL_NONE);
    if (c <= 0) {
        if (c == 0) vm_raise_value(vm, v_obj(vm->exc_StopAsyncIteration));
        return -1;
    }
    if (g->state == GEN_CREATED && loop_track_asyncgen(vm, g) < 0) return -1;
    agen_set_running(g, true);
    return 1;
}

Frame *gen_anext_link(EddyVM *vm, Fiber *fb, GenObject *g) {
    if (gen_anext_begin(vm, g) < 0) return NULL;
    Frame *f = gen_link(vm, fb, g, VAL_NONE);
    if (!f) agen_set_running(g, false);
    return f;
}

Value gen_anext_materialize(EddyVM *vm, GenObject *g) {
    Value aw = await_new(vm, vm->t_async_gen_asend, g, VAL_NONE, false);
    if (!IS_NULL(aw)) as_await(aw)->state = AW_ITER;
    return aw;
}

void gen_asend_end(EddyVM *vm, Value aw) {
    if (is_exact(aw, vm->t_async_generator)) {
        // gen_anext_begin's stand-in for the awaitable (frame.h)
        agen_set_running((GenObject *)AS_OBJ(aw), false);
        return;
    }
    AwaitObject *a = (AwaitObject *)AS_OBJ(aw);
    a->state = AW_CLOSED;
    agen_set_running(a->agen, false);
}

Value gen_async_unwrap(Value w) { return ((WrappedObject *)AS_OBJ(w))->value; }

static Value ag_anext(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "__anext__", kw) < 0 || args_count(vm, "__anext__", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    return await_new(vm, vm->t_async_gen_asend, as_gen(args[0]), VAL_NONE, false);
}

static Value ag_asend(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "asend", kw) < 0 || args_count(vm, "asend", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    return await_new(vm, vm->t_async_gen_asend, as_gen(args[0]), args[1], false);
}

static Value ag_athrow(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "athrow", kw) < 0 || args_count(vm, "athrow", nargs - 1, 1, 3) < 0)
        return VAL_NULL;
    Value exc = gen_throw_arg(vm, args, nargs);
    if (IS_NULL(exc)) return VAL_NULL;
    return await_new(vm, vm->t_async_gen_athrow, as_gen(args[0]), exc, false);
}

static Value ag_aclose(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "aclose", kw) < 0 || args_count(vm, "aclose", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    return await_new(vm, vm->t_async_gen_athrow, as_gen(args[0]), VAL_NONE, true);
}

// ---------------------------------------------------------------------------
// anext(aiter, default): an awaitable that awaits aiter.__anext__() and
// answers `default` (StopIteration(default)) when that raises
// StopAsyncIteration. The awaitable's iterator is fetched on first use and
// kept, so an __anext__ that suspends several times is resumed, not redone.

typedef struct AnextObject {
    Obj hdr;
    Value wrapped; // the async iterator
    Value dflt;    // the default value
    Value it;      // the iterator of wrapped.__anext__()'s awaitable; V_NULL until fetched
} AnextObject;

static void anext_trace(EddyVM *vm, Obj *o) {
    AnextObject *a = (AnextObject *)o;
    gc_mark_value(vm, a->wrapped);
    gc_mark_value(vm, a->dflt);
    gc_mark_value(vm, a->it);
}

Value gen_anext_awaitable_new(EddyVM *vm, Value aiter, Value dflt) {
    AnextObject *a = (AnextObject *)obj_alloc(vm, vm->t_anext_awaitable, sizeof(AnextObject));
    if (!a) return VAL_NULL;
    a->wrapped = aiter;
    a->dflt = dflt;
    a->it = VAL_NULL;
    return v_obj(a);
}

// The iterator to delegate to: a coroutine, an async generator's awaitable,
// or what the awaitable's __await__() returns. V_NULL + TypeError.
static Value anext_iter(EddyVM *vm, AnextObject *a) {
    if (!IS_NULL(a->it)) return a->it;
    Value aw = vm_call_method(vm, a->wrapped, vm->names.__anext__, NULL, 0);
    if (IS_NULL(aw)) return VAL_NULL;
    TypeObject *t = vm_type_of(vm, aw);
    if (t == vm->t_coroutine || t == vm->t_async_gen_asend || t == vm->t_async_gen_athrow) {
        a->it = aw;
        return aw;
    }
    if (IS_NULL(type_lookup(vm, t, vm->names.__await__)))
        return vm_raise(vm, vm->exc_TypeError, "'%s' object can't be awaited",
                        vm_type_name(vm, aw));
    if (vm_push_root(vm, aw) < 0) return VAL_NULL;
    Value it = vm_call_method(vm, aw, vm->names.__await__, NULL, 0);
    vm_pop_roots(vm, 1);
    if (IS_NULL(it)) return VAL_NULL;
    if (is_exact(it, vm->t_coroutine))
        return vm_raise(vm, vm->exc_TypeError, "__await__() returned a coroutine");
    TypeObject *itt = vm_type_of(vm, it);
    if (!itt->next && IS_NULL(type_lookup(vm, itt, vm->names.__next__)))
        return vm_raise(vm, vm->exc_TypeError, "__await__() returned non-iterator of type '%s'",
                        vm_type_name(vm, it));
    a->it = it;
    return it;
}

// The delegate's answer r: StopAsyncIteration becomes StopIteration(default).
static Value anext_result(EddyVM *vm, AnextObject *a, Value r) {
    if (IS_NULL(r) && vm_err_matches(vm, vm->exc_StopAsyncIteration)) {
        vm_err_clear(vm);
        return gen_raise_stop(vm, a->dflt);
    }
    return r;
}

static Value anext_send_value(EddyVM *vm, AnextObject *a, Value v) {
    Value it = anext_iter(vm, a);
    if (IS_NULL(it)) return anext_result(vm, a, VAL_NULL);
    Value r;
    if (gen_like(vm, it)) {
        r = gen_send(vm, (GenObject *)AS_OBJ(it), v);
    } else if (is_exact(it, vm->t_async_gen_asend) || is_exact(it, vm->t_async_gen_athrow)) {
        r = await_send(vm, (AwaitObject *)AS_OBJ(it), v);
    } else if (IS_NONE(v)) {
        TypeObject *t = vm_type_of(vm, it);
        if (t->next && !(t->flags & TPF_HEAPTYPE)) {
            int n = t->next(vm, it, &r);
            if (n == 0)
                r = vm_raise_value(vm, v_obj(vm->exc_StopIteration));
            else if (n < 0)
                r = VAL_NULL;
        } else {
            r = vm_call_method(vm, it, vm->names.__next__, NULL, 0);
        }
    } else {
        r = vm_call_method(vm, it, vm->names.send, &v, 1);
    }
    return anext_result(vm, a, r);
}

static AnextObject *as_anext(Value v) { return (AnextObject *)AS_OBJ(v); }

static Value an_send(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "send", kw) < 0 || args_count(vm, "send", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    return anext_send_value(vm, as_anext(args[0]), args[1]);
}

static Value an_next(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "__next__", kw) < 0 || args_count(vm, "__next__", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    return anext_send_value(vm, as_anext(args[0]), VAL_NONE);
}

static Value an_throw(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "throw", kw) < 0 || args_count(vm, "throw", nargs - 1, 1, 3) < 0)
        return VAL_NULL;
    AnextObject *a = as_anext(args[0]);
    Value it = anext_iter(vm, a);
    if (IS_NULL(it)) return anext_result(vm, a, VAL_NULL);
    return anext_result(vm, a, vm_call_method(vm, it, vm->names.throw, args + 1, nargs - 1));
}

static Value an_close(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "close", kw) < 0 || args_count(vm, "close", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    AnextObject *a = as_anext(args[0]);
    Value it = anext_iter(vm, a);
    if (IS_NULL(it)) return anext_result(vm, a, VAL_NULL);
    return anext_result(vm, a, vm_call_method(vm, it, vm->names.close, NULL, 0));
}

static int init_anext_type(EddyVM *vm) {
    TypeObject *t =
        type_new_builtin(vm, vm->t_anext_awaitable, vm->t_object, sizeof(AnextObject), 0);
    if (!t) return -1;
    t->trace = anext_trace;
    if (type_add_method(vm, t, "send", an_send, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__next__", an_next, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "throw", an_throw, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "close", an_close, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__await__", m_iter, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__iter__", m_iter, NATIVE_METHOD) < 0)
        return -1;
    return 0;
}

// ---------------------------------------------------------------------------
// coroutine.__await__(): an iterator over the coroutine (for `yield from`
// in a generator-based __await__, or an __await__ that returns it).

typedef struct CoroWrapperObject {
    Obj hdr;
    GenObject *coro;
} CoroWrapperObject;

static void coro_wrapper_trace(EddyVM *vm, Obj *o) {
    gc_mark_obj(vm, (Obj *)((CoroWrapperObject *)o)->coro);
}

static Value coro_await(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "__await__", kw) < 0 || args_count(vm, "__await__", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    CoroWrapperObject *w =
        (CoroWrapperObject *)obj_alloc(vm, vm->t_coroutine_wrapper, sizeof(CoroWrapperObject));
    if (!w) return VAL_NULL;
    w->coro = as_gen(args[0]);
    return v_obj(w);
}

static int coro_wrapper_next(EddyVM *vm, Value self, Value *out) {
    Value r = gen_send(vm, ((CoroWrapperObject *)AS_OBJ(self))->coro, VAL_NONE);
    if (IS_NULL(r)) return -1; // StopIteration(value) when it returned
    *out = r;
    return 1;
}

// The coroutine's own method, called with the coroutine as self.
static Value cw_delegate(EddyVM *vm, NativeFn fn, Value *args, int nargs, TupleObject *kw) {
    Value a[4];
    if (nargs < 1 || nargs > 4) return vm_raise(vm, vm->exc_TypeError, "wrong number of arguments");
    a[0] = v_obj(((CoroWrapperObject *)AS_OBJ(args[0]))->coro);
    for (int i = 1; i < nargs; i++) a[i] = args[i];
    return fn(vm, a, nargs, kw);
}

static Value cw_next(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return cw_delegate(vm, m_next, args, nargs, kw);
}
static Value cw_send(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return cw_delegate(vm, m_send, args, nargs, kw);
}
static Value cw_throw(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return cw_delegate(vm, m_throw, args, nargs, kw);
}
static Value cw_close(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return cw_delegate(vm, m_close, args, nargs, kw);
}

static int init_coro_wrapper_type(EddyVM *vm) {
    TypeObject *t =
        type_new_builtin(vm, vm->t_coroutine_wrapper, vm->t_object, sizeof(CoroWrapperObject), 0);
    if (!t) return -1;
    t->trace = coro_wrapper_trace;
    t->iter = gen_iter;
    t->next = coro_wrapper_next;
    if (type_add_method(vm, t, "__next__", cw_next, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "send", cw_send, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "throw", cw_throw, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "close", cw_close, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__iter__", m_iter, NATIVE_METHOD) < 0)
        return -1;
    return 0;
}

static int init_async_gen_types(EddyVM *vm) {
    TypeObject *t = type_new_builtin(vm, vm->t_async_generator, vm->t_object, sizeof(GenObject), 0);
    if (!t) return -1;
    t->trace = gen_trace;
    t->repr = gen_repr;
    t->finalize = gen_finalize;
    if (type_add_method(vm, t, "__aiter__", ag_aiter, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__anext__", ag_anext, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "asend", ag_asend, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "athrow", ag_athrow, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "aclose", ag_aclose, NATIVE_METHOD) < 0 ||
        type_add_getter(vm, t, "ag_running", g_running) < 0 ||
        type_add_getter(vm, t, "ag_code", g_code) < 0 ||
        type_add_getter(vm, t, "ag_frame", g_frame) < 0 ||
        type_add_getter(vm, t, "ag_await", g_yieldfrom) < 0 ||
        type_add_property_del(vm, t, "__name__", g_name, g_set_name, g_del_name) < 0 ||
        type_add_property_del(vm, t, "__qualname__", g_qualname, g_set_qualname, g_del_qualname) <
            0)
        return -1;
    TypeObject *types[2] = {vm->t_async_gen_asend, vm->t_async_gen_athrow};
    for (int i = 0; i < 2; i++) {
        t = type_new_builtin(vm, types[i], vm->t_object, sizeof(AwaitObject), 0);
        if (!t) return -1;
        t->trace = await_trace;
        if (type_add_method(vm, t, "send", aw_send, NATIVE_METHOD) < 0 ||
            type_add_method(vm, t, "__next__", aw_next, NATIVE_METHOD) < 0 ||
            type_add_method(vm, t, "throw", aw_throw, NATIVE_METHOD) < 0 ||
            type_add_method(vm, t, "close", aw_close, NATIVE_METHOD) < 0 ||
            type_add_method(vm, t, "__await__", m_iter, NATIVE_METHOD) < 0 ||
            type_add_method(vm, t, "__iter__", m_iter, NATIVE_METHOD) < 0)
            return -1;
    }
    t = type_new_builtin(vm, vm->t_async_gen_wrapped, vm->t_object, sizeof(WrappedObject), 0);
    if (!t) return -1;
    t->trace = wrapped_trace;
    return 0;
}

int gen_init_types(EddyVM *vm) {
    TypeObject *t = type_new_builtin(vm, vm->t_generator, vm->t_object, sizeof(GenObject), 0);
    if (!t) return -1;
    t->trace = gen_trace;
    t->repr = gen_repr;
    t->finalize = gen_finalize;
    t->iter = gen_iter;
    t->next = gen_next_slot;
    if (type_add_method(vm, t, "__iter__", m_iter, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__next__", m_next, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "send", m_send, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "throw", m_throw, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "close", m_close, NATIVE_METHOD) < 0 ||
        type_add_getter(vm, t, "gi_running", g_running) < 0 ||
        type_add_getter(vm, t, "gi_suspended", g_suspended) < 0 ||
        type_add_getter(vm, t, "gi_code", g_code) < 0 ||
        type_add_getter(vm, t, "gi_frame", g_frame) < 0 ||
        type_add_getter(vm, t, "gi_yieldfrom", g_yieldfrom) < 0 ||
        type_add_property_del(vm, t, "__name__", g_name, g_set_name, g_del_name) < 0 ||
        type_add_property_del(vm, t, "__qualname__", g_qualname, g_set_qualname, g_del_qualname) <
            0)
        return -1;
    t = type_new_builtin(vm, vm->t_coroutine, vm->t_object, sizeof(GenObject), 0);
    if (!t) return -1;
    t->trace = gen_trace;
    t->flags |= TPF_EARLY_FINALIZE;
    t->early_finalize = coro_early_finalize;
    t->finalize = gen_finalize;
    t->repr = gen_repr;
    if (type_add_method(vm, t, "send", m_send, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "throw", m_throw, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "close", m_close, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__await__", coro_await, NATIVE_METHOD) < 0 ||
        type_add_getter(vm, t, "cr_running", g_running) < 0 ||
        type_add_getter(vm, t, "cr_suspended", g_suspended) < 0 ||
        type_add_getter(vm, t, "cr_code", g_code) < 0 ||
        type_add_getter(vm, t, "cr_frame", g_frame) < 0 ||
        type_add_getter(vm, t, "cr_await", g_yieldfrom) < 0 ||
        type_add_getter(vm, t, "cr_origin", g_origin) < 0 ||
        type_add_property_del(vm, t, "__name__", g_name, g_set_name, g_del_name) < 0 ||
        type_add_property_del(vm, t, "__qualname__", g_qualname, g_set_qualname, g_del_qualname) <
            0)
        return -1;
    if (init_async_gen_types(vm) < 0) return -1;
    if (init_anext_type(vm) < 0) return -1;
    if (init_coro_wrapper_type(vm) < 0) return -1;
    t = type_new_builtin(vm, vm->t_frame, vm->t_object, sizeof(FrameObject), 0);
    if (!t) return -1;
    t->trace = frame_trace;
    t->repr = frame_repr;
    if (type_add_getter(vm, t, "f_code", f_code) < 0 ||
        type_add_getter(vm, t, "f_lineno", f_lineno) < 0 ||
        type_add_getter(vm, t, "f_back", f_back) < 0)
        return -1;
    return 0;
}
