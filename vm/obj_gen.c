// obj_gen.c - generator objects: first-class frames, and their protocol
// (send, throw, close, __next__) for native callers.
//
// The frame layout, the linking rules and the dispatch-loop side of resuming
// are described in vm/frame.h; vm/interp.c resumes generators from script
// code without C recursion (FOR_ITER, SEND, CALL of next/send/__next__).
// This file resumes them from native code through a nested dispatch loop.
//
// Coroutines and async generators will reuse GenObject and these helpers
// (a CO_COROUTINE frame is a generator frame whose resumer is an await).
//
// Collection: a generator that becomes garbage while suspended inside a
// try/finally or with block is freed WITHOUT running its finally blocks
// (CPython calls close() from its finalizer; our collector cannot run script
// code). docs/language.md lists the difference.
#include <string.h>

#include "frame.h"
#include "opcodes.h"

typedef struct FrameObject {
    Obj hdr;
    GenObject *gen;
} FrameObject;

// ---------------------------------------------------------------------------
// Frames owned by generators

GenObject *gen_new(EddyVM *vm, Frame *f) {
    CodeObject *co = f->code;
    size_t nvalues = FRAME_HEADER_VALUES + (size_t)f->nlocalsplus + co->stacksize;
    GenObject *g = (GenObject *)obj_alloc(vm, vm->t_generator,
                                          sizeof(GenObject) + nvalues * sizeof(Value));
    if (!g) return NULL;
    g->code = co;
    g->name = co->name;
    g->qualname = f->func ? f->func->qualname : co->qualname;
    if (f->func) g->name = f->func->name;
    g->exc_state = VAL_NULL;
    g->saved_exc = VAL_NULL;
    g->state = GEN_CREATED;
    g->nvalues = (uint32_t)nvalues;
    Frame *gf = gen_frame(g);
    memcpy(gf, f, sizeof(Frame) + (size_t)f->nlocalsplus * sizeof(Value));
    gf->flags = FRAME_HEAP;
    gf->prev = NULL;
    gf->stack = gf->localsplus + gf->nlocalsplus;
    gf->sp = gf->stack + (f->sp - f->stack);
    return g;
}

Frame *gen_link(EddyVM *vm, Fiber *fb, GenObject *g, Value v) {
    if (EDDY_UNLIKELY(fb->depth + vm->native_depth > vm->recursion_limit)) {
        vm_raise(vm, vm->exc_RecursionError, "maximum recursion depth exceeded");
        return NULL;
    }
    Frame *f = gen_frame(g);
    if (!IS_NULL(v)) *f->sp++ = v;
    f->prev = fb->frame;
    fb->frame = f;
    fb->depth++;
    g->state = GEN_RUNNING;
    // The generator sees its own handled exception, else the resumer's.
    g->saved_exc = vm->handled_exc;
    if (!IS_NULL(g->exc_state)) vm->handled_exc = g->exc_state;
    return f;
}

void gen_unlink(EddyVM *vm, Fiber *fb, GenObject *g, bool finished) {
    Frame *f = gen_frame(g);
    fb->frame = f->prev;
    fb->depth--;
    f->prev = NULL;
    g->state = finished ? GEN_CLOSED : GEN_SUSPENDED;
    g->exc_state =
        finished || v_is(vm->handled_exc, g->saved_exc) ? VAL_NULL : vm->handled_exc;
    vm->handled_exc = g->saved_exc;
    g->saved_exc = VAL_NULL;
}

void gen_stopiteration_error(EddyVM *vm) {
    if (!vm_err_matches(vm, vm->exc_StopIteration)) return;
    Value si = vm_err_fetch(vm);
    vm_raise(vm, vm->exc_RuntimeError, "generator raised StopIteration");
    Value rt = vm->exc;
    if (is_exception(vm, rt)) {
        ExceptionObject *e = (ExceptionObject *)AS_OBJ(rt);
        e->cause = si;
        e->context = si;
        e->suppress_context = true;
    }
}

int gen_check_resume(EddyVM *vm, GenObject *g, Value v) {
    switch (g->state) {
    case GEN_RUNNING: vm_raise(vm, vm->exc_ValueError, "generator already executing"); return -1;
    case GEN_CLOSED: return 0;
    case GEN_CREATED:
        if (!IS_NONE(v)) {
            vm_raise(vm, vm->exc_TypeError,
                     "can't send non-None value to a just-started generator");
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
    f->flags |= FRAME_ENTRY | (throw ? FRAME_THROW : 0);
    Value r = interp_run(vm, f);
    f->flags &= ~(uint32_t)(FRAME_ENTRY | FRAME_THROW);
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
    if (INSTR_OP(w) == OP_YIELD_VALUE && INSTR_ARG(w) == 1 && f->sp > f->stack) return f->sp[-1];
    return VAL_NULL;
}

// Close a delegate iterator (gen_close_iter): generators directly, others
// through their close() method if they have one. 0 / -1.
static Value gen_close(EddyVM *vm, GenObject *g);
static int close_iter(EddyVM *vm, Value it) {
    if (is_exact(it, vm->t_generator)) {
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
    if (g->state == GEN_RUNNING)
        return vm_raise(vm, vm->exc_ValueError, "generator already executing");
    if (g->state == GEN_CLOSED) return vm_raise_value(vm, exc);
    Value yf = gen_yieldfrom(g);
    if (!IS_NULL(yf)) {
        // Delegate to the iterator of the suspended `yield from` first.
        g->state = GEN_RUNNING;
        Value ret = VAL_NULL;
        bool delegated = true;
        if (type_is_subtype(vm_type_of(vm, exc), vm->exc_GeneratorExit)) {
            int r = close_iter(vm, yf);
            g->state = GEN_SUSPENDED;
            if (r == 0) vm_raise_value(vm, exc);
        } else if (is_exact(yf, vm->t_generator)) {
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
            if (r > 0) ret = vm_call1(vm, meth, exc);
            else if (r == 0) delegated = false;
        }
        g->state = GEN_SUSPENDED;
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

static Value gen_close(EddyVM *vm, GenObject *g) {
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
    if (!IS_NULL(r)) return vm_raise(vm, vm->exc_RuntimeError, "generator ignored GeneratorExit");
    if (vm_err_matches(vm, vm->exc_GeneratorExit) || vm_err_matches(vm, vm->exc_StopIteration)) {
        vm_err_clear(vm);
        return VAL_NONE;
    }
    return VAL_NULL;
}

// ---------------------------------------------------------------------------
// The generator type

static GenObject *as_gen(Value v) { return (GenObject *)AS_OBJ(v); }

static void gen_trace(EddyVM *vm, Obj *o) {
    GenObject *g = (GenObject *)o;
    gc_mark_obj(vm, (Obj *)g->code);
    gc_mark_obj(vm, (Obj *)g->name);
    gc_mark_obj(vm, (Obj *)g->qualname);
    gc_mark_value(vm, g->exc_state);
    gc_mark_value(vm, g->saved_exc);
    gc_mark_obj(vm, g->frame_obj);
    if (g->state == GEN_CLOSED) return;
    // A suspended frame: every Value in it. (A running one is also reached
    // through the fiber; prev then belongs to the fiber's chain.)
    Frame *f = gen_frame(g);
    gc_mark_obj(vm, (Obj *)f->func);
    gc_mark_obj(vm, (Obj *)f->globals);
    gc_mark_obj(vm, (Obj *)f->builtins);
    gc_mark_obj(vm, (Obj *)f->locals);
    for (uint32_t i = 0; i < f->nlocalsplus; i++) gc_mark_value(vm, f->localsplus[i]);
    for (Value *p = f->stack; p < f->sp; p++) gc_mark_value(vm, *p);
}

static Value gen_repr(EddyVM *vm, Value self) {
    StrObject *s = str_format(vm, "<generator object %U at %p>", as_gen(self)->qualname,
                              (void *)AS_OBJ(self));
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
        return vm_raise(vm, vm->exc_TypeError,
                        "generator.send() takes exactly one argument (%d given)", nargs - 1);
    return gen_send(vm, as_gen(args[0]), args[1]);
}

// throw(exc) / throw(type[, value[, tb]]), normalised as CPython's _gen_throw.
static Value m_throw(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "throw", kw) < 0 || args_count(vm, "throw", nargs - 1, 1, 3) < 0)
        return VAL_NULL;
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
    if (vm_push_root(vm, exc) < 0) return VAL_NULL;
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
    return v_bool(as_gen(args[0])->state == GEN_RUNNING);
}

static Value g_suspended(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_bool(as_gen(args[0])->state == GEN_SUSPENDED);
}

static Value g_code(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_obj(as_gen(args[0])->code);
}

static Value g_yieldfrom(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    Value yf = gen_yieldfrom(as_gen(args[0]));
    return IS_NULL(yf) ? VAL_NONE : yf;
}

static Value g_name(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_obj(as_gen(args[0])->name);
}

static Value g_qualname(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_obj(as_gen(args[0])->qualname);
}

static Value g_frame(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    GenObject *g = as_gen(args[0]);
    if (g->state == GEN_CLOSED) return VAL_NONE;
    if (g->frame_obj) return v_obj(g->frame_obj);
    FrameObject *fo = (FrameObject *)obj_alloc(vm, vm->t_frame, sizeof(FrameObject));
    if (!fo) return VAL_NULL;
    fo->gen = g;
    g->frame_obj = (Obj *)fo;
    return v_obj(fo);
}

// ---------------------------------------------------------------------------
// gi_frame: a minimal frame object (f_code, f_lineno) for a generator's frame

static void frame_trace(EddyVM *vm, Obj *o) { gc_mark_obj(vm, (Obj *)((FrameObject *)o)->gen); }

static Value f_code(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_obj(((FrameObject *)AS_OBJ(args[0]))->gen->code);
}

static Value f_lineno(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    GenObject *g = ((FrameObject *)AS_OBJ(args[0]))->gen;
    Frame *f = gen_frame(g);
    const uint32_t *at = f->instr;
    // Suspended: instr is the resume point, the yield is just before it.
    // (Finished: instr is where it returned or raised.)
    if ((g->state == GEN_CREATED || g->state == GEN_SUSPENDED) && at > g->code->code) at--;
    return v_int(code_line_of(g->code, (uint32_t)(at - g->code->code)));
}

static Value frame_repr(EddyVM *vm, Value self) {
    GenObject *g = ((FrameObject *)AS_OBJ(self))->gen;
    StrObject *s = str_format(vm, "<frame at %p, file '%U', code %U>", (void *)AS_OBJ(self),
                              g->code->filename, g->code->name);
    return s ? v_obj(s) : VAL_NULL;
}

bool gen_resume_call(EddyVM *vm, NativeFunctionObject *nf, Value *args, int nargs, Value *send) {
    if (nargs < 1 || nargs > 2 || !is_exact(args[0], vm->t_generator)) return false;
    if (nf->fn == m_send) {
        *send = nargs == 2 ? args[1] : VAL_NONE;
        return nargs == 2;
    }
    *send = VAL_NONE;
    if (nargs != 1) return false;
    if (nf->fn == m_next) return true;
    // builtins.next(g) (next(g, default) keeps the native path).
    return !nf->owner && !(nf->flags & NATIVE_METHOD) && strcmp(nf->name, "next") == 0 &&
           IS_NULL(nf->self);
}

int gen_init_types(EddyVM *vm) {
    TypeObject *t = type_new_builtin(vm, vm->t_generator, vm->t_object, sizeof(GenObject), 0);
    if (!t) return -1;
    t->trace = gen_trace;
    t->repr = gen_repr;
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
        type_add_getter(vm, t, "__name__", g_name) < 0 ||
        type_add_getter(vm, t, "__qualname__", g_qualname) < 0)
        return -1;
    t = type_new_builtin(vm, vm->t_frame, vm->t_object, sizeof(FrameObject), 0);
    if (!t) return -1;
    t->trace = frame_trace;
    t->repr = frame_repr;
    if (type_add_getter(vm, t, "f_code", f_code) < 0 ||
        type_add_getter(vm, t, "f_lineno", f_lineno) < 0)
        return -1;
    return 0;
}
