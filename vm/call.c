// call.c - calls from C, frames on the fiber stack, and argument binding.
//
// Script-to-script calls made by bytecode never come here for the call
// itself: the dispatch loop (interp.c) pushes the callee's frame with
// frame_push_call() and keeps running. Calls made by native code (vm_call
// and friends) push the frame the same way and run a nested dispatch loop
// whose entry frame returns to C.
#include <string.h>

#include "frame.h"
#include "opcodes.h"

// ---------------------------------------------------------------------------
// Fibers

static Fiber *fiber_new(EddyVM *vm) {
    Fiber *fb = mem_alloc(vm, sizeof(Fiber));
    if (!fb) return NULL;
    size_t nvalues = ((size_t)vm->recursion_limit + FIBER_SLACK_FRAMES) * FIBER_VALUES_PER_FRAME;
    fb->nbytes = nvalues * sizeof(Value);
    fb->base = mem_alloc(vm, fb->nbytes);
    if (!fb->base) {
        mem_free(vm, fb, sizeof(Fiber));
        return NULL;
    }
    fb->limit = fb->base + nvalues;
    fb->top = fb->base;
    fb->frame = NULL;
    fb->depth = 0;
    return fb;
}

static void fiber_free(EddyVM *vm, Fiber *fb) {
    if (!fb) return;
    mem_free(vm, fb->base, fb->nbytes);
    mem_free(vm, fb, sizeof(Fiber));
}

int interp_init(EddyVM *vm) {
    if (vm->main_fiber) return 0;
    Fiber *fb = fiber_new(vm);
    if (!fb) return -1;
    vm->main_fiber = vm->fiber = fb;
    return 0;
}

void interp_free(EddyVM *vm) {
    if (vm->fiber && vm->fiber != vm->main_fiber) fiber_free(vm, vm->fiber);
    fiber_free(vm, vm->main_fiber);
    vm->fiber = vm->main_fiber = NULL;
}

Fiber *fiber_get(EddyVM *vm) {
    if (EDDY_UNLIKELY(!vm->fiber) && interp_init(vm) < 0) return NULL;
    return vm->fiber;
}

Frame *vm_current_frame(EddyVM *vm) { return vm->fiber ? vm->fiber->frame : NULL; }

static void mark_frame(EddyVM *vm, Frame *f) {
    // A running generator's frame lives inside the generator: keep it alive.
    if (f->flags & FRAME_HEAP) gc_mark_obj(vm, (Obj *)gen_of_frame(f));
    gc_mark_obj(vm, (Obj *)f->code);
    gc_mark_obj(vm, (Obj *)f->func);
    gc_mark_obj(vm, (Obj *)f->globals);
    gc_mark_obj(vm, (Obj *)f->builtins);
    gc_mark_obj(vm, (Obj *)f->locals);
    for (uint32_t i = 0; i < f->nlocalsplus; i++) gc_mark_value(vm, f->localsplus[i]);
    for (Value *p = frame_stack(f); p < f->sp; p++) gc_mark_value(vm, *p);
}

void interp_mark_roots(EddyVM *vm) {
    Fiber *fibers[2] = {vm->main_fiber, vm->fiber != vm->main_fiber ? vm->fiber : NULL};
    for (int i = 0; i < 2; i++) {
        if (!fibers[i]) continue;
        for (Frame *f = fibers[i]->frame; f; f = f->prev) mark_frame(vm, f);
    }
}

// ---------------------------------------------------------------------------
// Frames

DictObject *frame_builtins_for(EddyVM *vm, DictObject *globals) {
    Value b = globals ? dict_get_str(globals, vm->names.__builtins__) : VAL_NULL;
    if (IS_OBJ(b)) {
        if (OBJ_TYPE(AS_OBJ(b)) == vm->t_module) return ((ModuleObject *)AS_OBJ(b))->dict;
        if (OBJ_TYPE(AS_OBJ(b))->flags & TPF_DICT_SUBCLASS) return AS_DICT(b);
    }
    return vm->builtins_dict;
}

Frame *frame_push(EddyVM *vm, Fiber *fb, CodeObject *code, FunctionObject *func,
                  DictObject *globals, DictObject *builtins, DictObject *locals) {
    uint32_t nlp = code->nlocals + code->ncells + code->nfrees;
    size_t need = FRAME_HEADER_VALUES + (size_t)nlp + code->stacksize;
    // CPython counts Python frames and C-level calls against one limit; so
    // do we: frames plus native_depth (native calls in progress and nested
    // loops, the outermost loop excluded), which reproduces its depths.
    if (EDDY_UNLIKELY(fb->depth + vm->native_depth > vm->recursion_limit ||
                      (size_t)(fb->limit - fb->top) < need)) {
        vm_raise(vm, vm->exc_RecursionError, "maximum recursion depth exceeded");
        return NULL;
    }
    Frame *f = fiber_frame_at(fb->top);
    f->code = code;
    f->func = func;
    f->globals = globals;
    f->builtins = builtins;
    f->locals = locals;
    f->flags = 0;
    f->nlocalsplus = nlp;
    f->instr = code->code;
    f->sp = frame_stack(f);
    Value *lp = f->localsplus;
    for (uint32_t i = 0; i < code->nlocals; i++) lp[i] = VAL_NULL;
    // Cells are created empty here; cell2arg copies happen after binding.
    for (uint32_t i = 0; i < code->ncells; i++) {
        CellObject *c = cell_new(vm, VAL_NULL);
        if (!c) return NULL;
        lp[code->nlocals + i] = v_obj(c);
    }
    Value *frees = lp + code->nlocals + code->ncells;
    TupleObject *closure = func ? func->closure : NULL;
    for (uint32_t i = 0; i < code->nfrees; i++)
        frees[i] = closure && i < closure->len ? closure->items[i] : VAL_NULL;
    f->prev = fb->frame;
    fb->frame = f;
    fb->top = f->sp + code->stacksize;
    fb->depth++;
    return f;
}

// ---------------------------------------------------------------------------
// Argument binding (CPython 3.11's initialize_locals, same messages)

// "'a'", "'a' and 'b'", "'a', 'b', and 'c'"
static StrObject *join_names(EddyVM *vm, StrObject **names, int n) {
    StrBuf b;
    strbuf_init(vm, &b);
    for (int i = 0; i < n; i++) {
        if (i > 0) strbuf_append_cstr(&b, n == 2 ? " and " : (i == n - 1 ? ", and " : ", "));
        strbuf_append_char(&b, '\'');
        strbuf_append_str(&b, names[i]);
        strbuf_append_char(&b, '\'');
    }
    return strbuf_finish(&b);
}

static void missing_arguments(EddyVM *vm, FunctionObject *func, Value *lp, bool kwonly,
                              uint32_t defcount) {
    CodeObject *co = func->code;
    uint32_t start = kwonly ? co->argcount : 0;
    uint32_t end = kwonly ? co->argcount + co->kwonlyargcount : co->argcount - defcount;
    StrObject *small[16];
    StrObject **names = small;
    size_t cap = end - start;
    if (cap > 16) {
        names = mem_alloc(vm, cap * sizeof(StrObject *));
        if (!names) return;
    }
    int n = 0;
    for (uint32_t i = start; i < end; i++)
        if (IS_NULL(lp[i])) names[n++] = AS_STR(co->varnames->items[i]);
    StrObject *joined = join_names(vm, names, n);
    if (names != small) mem_free(vm, names, cap * sizeof(StrObject *));
    if (!joined) return;
    vm_raise(vm, vm->exc_TypeError, "%U() missing %d required %s argument%s: %U", func->qualname, n,
             kwonly ? "keyword-only" : "positional", n == 1 ? "" : "s", joined);
}

static void too_many_positional(EddyVM *vm, FunctionObject *func, Value *lp, int given,
                                uint32_t defcount) {
    CodeObject *co = func->code;
    int kwonly_given = 0;
    for (uint32_t i = co->argcount; i < co->argcount + co->kwonlyargcount; i++)
        if (!IS_NULL(lp[i])) kwonly_given++;
    char sig[64], kwsig[96];
    bool plural;
    if (defcount) {
        plural = true;
        snprintf(sig, sizeof sig, "from %u to %u", co->argcount - defcount, co->argcount);
    } else {
        plural = co->argcount != 1;
        snprintf(sig, sizeof sig, "%u", co->argcount);
    }
    kwsig[0] = 0;
    if (kwonly_given)
        snprintf(kwsig, sizeof kwsig, " positional argument%s (and %d keyword-only argument%s)",
                 given != 1 ? "s" : "", kwonly_given, kwonly_given != 1 ? "s" : "");
    vm_raise(vm, vm->exc_TypeError, "%U() takes %s positional argument%s but %d%s %s given",
             func->qualname, sig, plural ? "s" : "", given, kwsig,
             given == 1 && !kwonly_given ? "was" : "were");
}

// Raise "got some positional-only arguments passed as keyword arguments"
// if any keyword names a positional-only parameter; returns true if raised.
static bool posonly_as_keyword(EddyVM *vm, FunctionObject *func, TupleObject *kwnames) {
    CodeObject *co = func->code;
    StrBuf b;
    int found = 0;
    strbuf_init(vm, &b);
    for (uint32_t i = 0; i < co->posonlyargcount; i++) {
        StrObject *name = AS_STR(co->varnames->items[i]);
        for (size_t k = 0; k < kwnames->len; k++) {
            Value kn = kwnames->items[k];
            if (is_str(vm, kn) && str_eq(AS_STR(kn), name)) {
                if (found++) strbuf_append_cstr(&b, ", ");
                strbuf_append_str(&b, name);
                break;
            }
        }
    }
    if (!found) {
        strbuf_discard(&b);
        return false;
    }
    StrObject *joined = strbuf_finish(&b);
    if (joined)
        vm_raise(vm, vm->exc_TypeError,
                 "%U() got some positional-only arguments passed as keyword arguments: '%U'",
                 func->qualname, joined);
    return true;
}

// Bind args into lp (all locals V_NULL on entry). `whole`, when not NULL,
// is a tuple nobody else holds whose items are exactly args[0..nargs): it
// becomes the *args tuple itself if every argument goes there. 0 / -1.
static int bind_args(EddyVM *vm, FunctionObject *func, Value *lp, Value *args, int nargs,
                     TupleObject *kwnames, TupleObject *whole) {
    CodeObject *co = func->code;
    uint32_t argcount = co->argcount;
    uint32_t total = argcount + co->kwonlyargcount;
    DictObject *kwdict = NULL;
    if (co->flags & CO_VARKEYWORDS) {
        kwdict = dict_new(vm);
        if (!kwdict) return -1;
        lp[total + ((co->flags & CO_VARARGS) ? 1 : 0)] = v_obj(kwdict);
    }
    uint32_t n = (uint32_t)nargs > argcount ? argcount : (uint32_t)nargs;
    for (uint32_t i = 0; i < n; i++) lp[i] = args[i];
    if (co->flags & CO_VARARGS) {
        TupleObject *t = (uint32_t)nargs <= n ? vm->empty_tuple
                         : n == 0 && whole && !kwnames
                             ? whole
                             : tuple_from(vm, args + n, (size_t)nargs - n);
        if (!t) return -1;
        lp[total] = v_obj(t);
    }
    if (kwnames) {
        for (size_t k = 0; k < kwnames->len; k++) {
            Value kn = kwnames->items[k];
            Value val = args[nargs + (int)k];
            if (!is_str(vm, kn)) {
                vm_raise(vm, vm->exc_TypeError, "%U() keywords must be strings", func->qualname);
                return -1;
            }
            StrObject *key = AS_STR(kn);
            uint32_t j;
            // Interned names match by pointer; fall back to comparing bytes.
            for (j = co->posonlyargcount; j < total; j++)
                if (AS_STR(co->varnames->items[j]) == key) break;
            if (j == total)
                for (j = co->posonlyargcount; j < total; j++)
                    if (str_eq(AS_STR(co->varnames->items[j]), key)) break;
            if (j < total) {
                if (!IS_NULL(lp[j])) {
                    vm_raise(vm, vm->exc_TypeError, "%U() got multiple values for argument '%U'",
                             func->qualname, key);
                    return -1;
                }
                lp[j] = val;
                continue;
            }
            if (!kwdict) {
                if (co->posonlyargcount && posonly_as_keyword(vm, func, kwnames)) return -1;
                vm_raise(vm, vm->exc_TypeError, "%U() got an unexpected keyword argument '%U'",
                         func->qualname, key);
                return -1;
            }
            if (dict_set(vm, kwdict, kn, val) < 0) return -1;
        }
    }
    uint32_t defcount = func->defaults ? (uint32_t)func->defaults->len : 0;
    if ((uint32_t)nargs > argcount && !(co->flags & CO_VARARGS)) {
        too_many_positional(vm, func, lp, nargs, defcount);
        return -1;
    }
    if ((uint32_t)nargs < argcount) {
        uint32_t m = argcount - defcount;
        for (uint32_t i = (uint32_t)nargs; i < m; i++) {
            if (IS_NULL(lp[i])) {
                missing_arguments(vm, func, lp, false, defcount);
                return -1;
            }
        }
        for (uint32_t i = n > m ? n - m : 0; i < defcount; i++)
            if (IS_NULL(lp[m + i])) lp[m + i] = func->defaults->items[i];
    }
    if (co->kwonlyargcount) {
        bool missing = false;
        for (uint32_t i = argcount; i < total; i++) {
            if (!IS_NULL(lp[i])) continue;
            Value d = func->kwdefaults
                          ? dict_get_str(func->kwdefaults, AS_STR(co->varnames->items[i]))
                          : VAL_NULL;
            if (IS_NULL(d))
                missing = true;
            else
                lp[i] = d;
        }
        if (missing) {
            missing_arguments(vm, func, lp, true, defcount);
            return -1;
        }
    }
    return 0;
}

static Frame *push_call(EddyVM *vm, Fiber *fb, FunctionObject *func, Value *args, int nargs,
                        TupleObject *kwnames, TupleObject *whole) {
    CodeObject *co = func->code;
    Frame *f = frame_push(vm, fb, co, func, func->globals, func->builtins, NULL);
    if (!f) return NULL;
    Value *lp = f->localsplus;
    // Fast path: exactly the positional parameters, nothing else.
    if (!kwnames && (uint32_t)nargs == co->argcount && co->kwonlyargcount == 0 &&
        !(co->flags & (CO_VARARGS | CO_VARKEYWORDS))) {
        for (int i = 0; i < nargs; i++) lp[i] = args[i];
    } else if (bind_args(vm, func, lp, args, nargs, kwnames, whole) < 0) {
        frame_pop(vm, fb, f);
        return NULL;
    }
    if (co->cell2arg) {
        for (uint32_t i = 0; i < co->ncells; i++) {
            int32_t a = co->cell2arg[i];
            if (a >= 0) ((CellObject *)AS_OBJ(lp[co->nlocals + i]))->value = lp[a];
        }
    }
    return f;
}

Frame *frame_push_call(EddyVM *vm, Fiber *fb, FunctionObject *func, Value *args, int nargs,
                       TupleObject *kwnames) {
    return push_call(vm, fb, func, args, nargs, kwnames, NULL);
}

Frame *frame_push_call_fresh(EddyVM *vm, Fiber *fb, FunctionObject *func, TupleObject *args,
                             TupleObject *kwnames) {
    int nargs = (int)(args->len - (kwnames ? kwnames->len : 0));
    return push_call(vm, fb, func, args->items, nargs, kwnames, args);
}

// ---------------------------------------------------------------------------
// Calls from C

// Run an already pushed frame in a nested dispatch loop. The caller has
// already counted the loop in native_depth (before pushing, so that the
// recursion check sees it) and this undoes that count.
static Value run_nested(EddyVM *vm, Frame *f) {
    f->flags |= FRAME_ENTRY;
    Value r = interp_run(vm, f);
    vm->native_depth--;
    return r;
}

static bool enter_nested(EddyVM *vm) {
    if (EDDY_UNLIKELY(vm->native_depth >= NATIVE_DEPTH_MAX)) {
        vm_raise(vm, vm->exc_RecursionError,
                 "maximum recursion depth exceeded while calling a Python object");
        return false;
    }
    vm->native_depth++;
    return true;
}

static Value call_function(EddyVM *vm, FunctionObject *func, Value *args, int nargs,
                           TupleObject *kwnames) {
    Fiber *fb = fiber_get(vm);
    if (!fb || !enter_nested(vm)) return VAL_NULL;
    Frame *f = frame_push_call(vm, fb, func, args, nargs, kwnames);
    if (!f) {
        vm->native_depth--;
        return VAL_NULL;
    }
    return run_nested(vm, f);
}

// Call callable with self prepended to args.
static Value call_with_self(EddyVM *vm, Value callable, Value self, Value *args, int nargs,
                            TupleObject *kwnames) {
    int total = nargs + (kwnames ? (int)kwnames->len : 0) + 1;
    Value small[8];
    Value *buf = small;
    if (total > 8) {
        buf = mem_alloc(vm, (size_t)total * sizeof(Value));
        if (!buf) return VAL_NULL;
    }
    buf[0] = self;
    if (total > 1) memcpy(buf + 1, args, (size_t)(total - 1) * sizeof(Value));
    // The copies stay reachable through the caller's rooted args and callable.
    // A native is called directly: its own bound self must not be prepended twice.
    Value r;
    if (IS_OBJ(callable) && OBJ_TYPE(AS_OBJ(callable)) == vm->t_builtin_function)
        r = ((NativeFunctionObject *)AS_OBJ(callable))->fn(vm, buf, nargs + 1, kwnames);
    else
        r = vm_call(vm, callable, buf, nargs + 1, kwnames);
    if (buf != small) mem_free(vm, buf, (size_t)total * sizeof(Value));
    return r;
}

Value vm_call_kw1(EddyVM *vm, Value callable, const Value *args, int nargs, const char *key,
                  Value v) {
    Value argv[8];
    if (nargs < 0 || nargs > 7)
        return vm_raise(vm, vm->exc_SystemError, "vm_call_kw1: too many arguments");
    StrObject *k = str_intern_cstr(vm, key);
    if (!k) return VAL_NULL;
    Value kv = v_obj(k);
    TupleObject *kwnames = tuple_from(vm, &kv, 1);
    if (!kwnames) return VAL_NULL;
    if (nargs) memcpy(argv, args, (size_t)nargs * sizeof(Value));
    argv[nargs] = v;
    return vm_call(vm, callable, argv, nargs, kwnames);
}

Value vm_call(EddyVM *vm, Value callable, Value *args, int nargs, TupleObject *kwnames) {
    if (EDDY_UNLIKELY(!IS_OBJ(callable)))
        return vm_raise(vm, vm->exc_TypeError, "'%s' object is not callable",
                        vm_type_name(vm, callable));
    TypeObject *t = OBJ_TYPE(AS_OBJ(callable));
    if (t == vm->t_function)
        return call_function(vm, (FunctionObject *)AS_OBJ(callable), args, nargs, kwnames);
    if (t == vm->t_builtin_function) {
        NativeFunctionObject *nf = (NativeFunctionObject *)AS_OBJ(callable);
        if (!IS_NULL(nf->self)) return call_with_self(vm, callable, nf->self, args, nargs, kwnames);
        // An unbound method descriptor (list.append) goes through the call
        // slot, which checks the receiver's type before the native trusts it.
        if ((nf->flags & NATIVE_METHOD) && nf->owner && t->call)
            return t->call(vm, callable, args, nargs, kwnames);
        return nf->fn(vm, args, nargs, kwnames);
    }
    if (t == vm->t_method) {
        BoundMethodObject *bm = (BoundMethodObject *)AS_OBJ(callable);
        return call_with_self(vm, bm->func, bm->self, args, nargs, kwnames);
    }
    if (t->call) return t->call(vm, callable, args, nargs, kwnames);
    return vm_raise(vm, vm->exc_TypeError, "'%s' object is not callable",
                    vm_type_name(vm, callable));
}

Value vm_call0(EddyVM *vm, Value callable) { return vm_call(vm, callable, NULL, 0, NULL); }

Value vm_call1(EddyVM *vm, Value callable, Value a) {
    Value args[1] = {a};
    return vm_call(vm, callable, args, 1, NULL);
}

Value vm_call2(EddyVM *vm, Value callable, Value a, Value b) {
    Value args[2] = {a, b};
    return vm_call(vm, callable, args, 2, NULL);
}

Value vm_call_method(EddyVM *vm, Value obj, StrObject *name, Value *args, int nargs) {
    TypeObject *t = vm_type_of(vm, obj);
    Value attr = type_lookup(vm, t, name);
    if (IS_NULL(attr))
        return vm_raise(vm, vm->exc_AttributeError, "'%s' object has no attribute '%U'",
                        vm_type_name(vm, obj), name);
    if (IS_OBJ(attr)) {
        TypeObject *at = OBJ_TYPE(AS_OBJ(attr));
        bool unbound = at == vm->t_function ||
                       (at == vm->t_builtin_function &&
                        (((NativeFunctionObject *)AS_OBJ(attr))->flags & NATIVE_METHOD) &&
                        IS_NULL(((NativeFunctionObject *)AS_OBJ(attr))->self));
        if (unbound) return call_with_self(vm, attr, obj, args, nargs, NULL);
        if (at->descr_get) {
            if (vm_push_root(vm, obj) < 0) return VAL_NULL;
            Value bound = at->descr_get(vm, attr, obj, t);
            if (IS_NULL(bound)) {
                vm_pop_roots(vm, 1);
                return VAL_NULL;
            }
            if (vm_push_root(vm, bound) < 0) {
                vm_pop_roots(vm, 1);
                return VAL_NULL;
            }
            Value r = vm_call(vm, bound, args, nargs, NULL);
            vm_pop_roots(vm, 2);
            return r;
        }
    }
    return vm_call(vm, attr, args, nargs, NULL);
}

Value vm_exec_code(EddyVM *vm, CodeObject *code, DictObject *globals, DictObject *locals) {
    Fiber *fb = fiber_get(vm);
    if (!fb || !enter_nested(vm)) return VAL_NULL;
    DictObject *builtins = frame_builtins_for(vm, globals);
    Frame *f = frame_push(vm, fb, code, NULL, globals, builtins,
                          (code->flags & CO_OPTIMIZED) ? NULL : (locals ? locals : globals));
    if (!f) {
        vm->native_depth--;
        return VAL_NULL;
    }
    return run_nested(vm, f);
}

Value vm_exec_function_with_locals(EddyVM *vm, FunctionObject *func, DictObject *locals) {
    Fiber *fb = fiber_get(vm);
    if (!fb || !enter_nested(vm)) return VAL_NULL;
    Frame *f = frame_push(vm, fb, func->code, func, func->globals, func->builtins, locals);
    if (!f) {
        vm->native_depth--;
        return VAL_NULL;
    }
    return run_nested(vm, f);
}
