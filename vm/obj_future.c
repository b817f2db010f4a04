// obj_future.c - asyncio's Future and Task as native objects.
//
// A Future is pending, then finished (with a result or an exception) or
// cancelled; completing it queues its done callbacks on its loop, in the
// order they were added. `await future` is `yield from` of a FutureIter: the
// first step yields the future itself up the await chain to the task, and
// resuming it returns the result (or raises).
//
// A Task is a Future that drives a coroutine. Each step resumes the
// coroutine (gen_step: its await chain resumes at the leaf frame) with
// nothing or with an exception. When the chain yields a future, the task
// registers itself on that future (a CB_TASK_WAKEUP callback, no callable
// object) and waits; when it yields None (sleep(0)) the next step is queued
// at once. The semantics, messages and the order of every queued step are
// CPython 3.11's.
//
// Every pending task is in vm->tasks, so the loop keeps it alive even when
// nothing else refers to it (CPython's "keep a reference" pitfall).
#include <math.h>
#include <string.h>

#include "frame.h"
#include "loop.h"

// The native asyncio.sleep() (below, after Task) as the Future code sees it.
typedef struct SleepObject SleepObject;
static SleepObject *as_sleep(Value v);
static int sleep_cancel(EddyVM *vm, SleepObject *s, Value msg);
static bool format_sleep_waiter(EddyVM *vm, StrBuf *b, SleepObject *s);
static StrObject *task_name(EddyVM *vm, TaskObject *t);

// ---------------------------------------------------------------------------
// Future

static void future_trace(EddyVM *vm, Obj *o) {
    FutureObject *f = (FutureObject *)o;
    gc_mark_obj(vm, (Obj *)f->dict);
    gc_mark_obj(vm, (Obj *)f->loop);
    gc_mark_value(vm, f->result);
    if (f->cancel_message) gc_mark_value(vm, *f->cancel_message);
    if (!f->callbacks) {
        if (f->ncallbacks) gc_mark_value(vm, f->cb0);
        return;
    }
    for (uint32_t i = 0; i < f->ncallbacks; i++) gc_mark_value(vm, f->callbacks[i].fn);
}

static void future_finalize(EddyVM *vm, Obj *o) {
    FutureObject *f = (FutureObject *)o;
    if (f->callbacks) mem_free(vm, f->callbacks, f->callbacks_cap * sizeof(FutureCallback));
    f->callbacks = NULL;
    if (f->cancel_message) mem_free(vm, f->cancel_message, sizeof(Value));
    f->cancel_message = NULL;
    loop_forget_source_tb(vm, o);
}

static void future_init_fields(FutureObject *f, LoopObject *loop) {
    f->loop = loop;
    f->result = VAL_NULL;
    f->state = FUT_PENDING;
}

FutureObject *future_new(EddyVM *vm, LoopObject *loop) {
    FutureObject *f = (FutureObject *)obj_alloc(vm, vm->t_future, sizeof(FutureObject));
    if (!f) return NULL;
    future_init_fields(f, loop);
    // Debug mode: where it was created (CPython keeps the whole stack).
    if (loop->debug) loop_record_source_tb(vm, &f->hdr, SIZE_MAX);
    return f;
}

int future_add_callback(EddyVM *vm, FutureObject *f, Value fn, uint32_t kind) {
    if (f->ncallbacks == 0 && !f->callbacks) {
        f->cb0 = fn;
        f->cb0_kind = (uint8_t)kind;
        f->ncallbacks = 1;
        return 0;
    }
    if (!f->callbacks || f->ncallbacks == f->callbacks_cap) {
        uint32_t cap = f->callbacks ? f->callbacks_cap * 2 : 4;
        FutureCallback *cbs =
            f->callbacks ? mem_realloc(vm, f->callbacks, f->callbacks_cap * sizeof(FutureCallback),
                                       cap * sizeof(FutureCallback))
                         : mem_alloc(vm, cap * sizeof(FutureCallback));
        if (!cbs) return -1;
        if (!f->callbacks) cbs[0] = (FutureCallback){f->cb0, f->cb0_kind};
        f->callbacks = cbs;
        f->callbacks_cap = cap;
    }
    f->callbacks[f->ncallbacks++] = (FutureCallback){fn, kind};
    return 0;
}

// f.cancel_message = msg (None frees the record). 0 / -1 MemoryError.
static int set_cancel_message(EddyVM *vm, FutureObject *f, Value msg) {
    if (IS_NONE(msg)) {
        if (f->cancel_message) mem_free(vm, f->cancel_message, sizeof(Value));
        f->cancel_message = NULL;
        return 0;
    }
    if (!f->cancel_message && !(f->cancel_message = mem_alloc(vm, sizeof(Value)))) return -1;
    *f->cancel_message = msg;
    return 0;
}

// Debug mode: schedule_callbacks, but each done callback is queued as a real
// Handle, which records where the future was completed (CPython's
// call_soon(callback, future)). Out of line, so the common path stays small.
static __attribute__((noinline, cold)) int schedule_callbacks_debug(EddyVM *vm, FutureObject *f) {
    FutureCallback one, *cbs = future_callbacks(f, &one);
    uint32_t n = f->ncallbacks;
    f->ncallbacks = 0;
    for (uint32_t i = 0; i < n; i++) {
        FutureCallback *cb = &cbs[i];
        Value arg = v_obj(f);
        int r = 0;
        if (cb->kind == CB_CALL)
            r = loop_call_soon(vm, f->loop, cb->fn, &arg, 1) ? 0 : -1;
        else
            r = loop_schedule(vm, f->loop,
                              cb->kind == CB_TASK_WAKEUP ? READY_TASK_WAKEUP : READY_STOP, cb->fn,
                              arg);
        if (r < 0) return -1;
    }
    return 0;
}

// Queue every done callback, in order, and forget them.
static int schedule_callbacks(EddyVM *vm, FutureObject *f) {
    if (EDDY_UNLIKELY(f->loop->debug)) return schedule_callbacks_debug(vm, f);
    FutureCallback one, *cbs = future_callbacks(f, &one);
    uint32_t n = f->ncallbacks;
    f->ncallbacks = 0;
    for (uint32_t i = 0; i < n; i++) {
        FutureCallback *cb = &cbs[i];
        uint32_t kind = cb->kind == CB_TASK_WAKEUP ? READY_TASK_WAKEUP
                        : cb->kind == CB_STOP_LOOP ? READY_STOP
                                                   : READY_FUTURE_CALLBACK;
        if (loop_schedule(vm, f->loop, kind, cb->fn, v_obj(f)) < 0) return -1;
    }
    return 0;
}

int future_set_result(EddyVM *vm, FutureObject *f, Value v) {
    f->result = v;
    f->state = FUT_FINISHED;
    return schedule_callbacks(vm, f);
}

// Remember f until its loop closes, to report the exception if nobody
// retrieves it; compacts the list when it has doubled. Only a diagnostic:
// out of memory (a task that hit the memory limit is the usual reason to be
// here) it is skipped, and the future completes all the same.
static void track_unretrieved(EddyVM *vm, FutureObject *f) {
    LoopObject *loop = f->loop;
    if (!loop->unretrieved) {
        loop->unretrieved = list_new(vm, 4);
        if (!loop->unretrieved) {
            vm_err_clear(vm);
            return;
        }
    }
    ListObject *u = loop->unretrieved;
    if (u->len >= 64 && u->len >= 2 * loop->unretrieved_checked) {
        size_t j = 0;
        for (size_t i = 0; i < u->len; i++)
            if (as_future(u->items[i])->log_traceback) u->items[j++] = u->items[i];
        u->len = j;
        loop->unretrieved_checked = j;
    }
    if (list_append(vm, u, v_obj(f)) < 0) vm_err_clear(vm);
}

int future_set_exception(EddyVM *vm, FutureObject *f, Value exc) {
    f->result = exc;
    f->failed = true;
    f->state = FUT_FINISHED;
    f->log_traceback = true;
    track_unretrieved(vm, f);
    return schedule_callbacks(vm, f);
}

bool future_cancel(EddyVM *vm, FutureObject *f, Value msg, int *err) {
    f->log_traceback = false;
    if (f->state != FUT_PENDING) return false;
    if (set_cancel_message(vm, f, msg) < 0) {
        *err = -1;
        return false;
    }
    f->state = FUT_CANCELLED;
    f->result = VAL_NULL;
    if (schedule_callbacks(vm, f) < 0) *err = -1;
    return true;
}

// CPython's CancelledError for a future cancelled with msg (None: no args).
static Value cancelled_error_of(EddyVM *vm, Value msg) {
    TupleObject *args = NULL;
    if (!IS_NONE(msg)) {
        args = tuple_from(vm, &msg, 1);
        if (!args) return VAL_NULL;
    }
    return exc_new(vm, vm->exc_CancelledError, args);
}

Value future_cancelled_error(EddyVM *vm, FutureObject *f) {
    if (f->state == FUT_CANCELLED && !IS_NULL(f->result)) {
        Value exc = f->result;
        f->result = VAL_NULL;
        return exc;
    }
    return cancelled_error_of(vm, future_cancel_message(f));
}

// The outcome of a done future: 0 result in *out, -1 raised (its exception,
// the CancelledError, or InvalidStateError when not done).
static int future_outcome(EddyVM *vm, FutureObject *f, Value *out) {
    if (f->state == FUT_CANCELLED) {
        Value exc = future_cancelled_error(vm, f);
        if (!IS_NULL(exc)) vm_raise_value(vm, exc);
        return -1;
    }
    if (f->state == FUT_PENDING) {
        vm_raise(vm, vm->exc_InvalidStateError, "Result is not set.");
        return -1;
    }
    f->log_traceback = false;
    if (f->failed) {
        vm_raise_value(vm, f->result);
        return -1;
    }
    *out = f->result;
    return 0;
}

static FutureObject *self_future(Value *args) { return as_future(args[0]); }

// Future.__new__ without __init__ leaves no loop: CPython's messages.
static bool future_ready(EddyVM *vm, FutureObject *f) {
    if (f->loop) return true;
    vm_raise(vm, vm->exc_RuntimeError, "Future object is not initialized.");
    return false;
}

static Value m_result(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!as_future(args[0])->loop)
        return vm_raise(vm, vm->exc_InvalidStateError, "Future object is not initialized.");
    if (args_no_kw(vm, "result", kw) < 0 || args_count(vm, "result", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    Value r;
    return future_outcome(vm, self_future(args), &r) < 0 ? VAL_NULL : r;
}

static Value m_exception(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!as_future(args[0])->loop)
        return vm_raise(vm, vm->exc_InvalidStateError, "Future object is not initialized.");
    if (args_no_kw(vm, "exception", kw) < 0 || args_count(vm, "exception", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    FutureObject *f = self_future(args);
    if (f->state == FUT_CANCELLED) {
        Value exc = future_cancelled_error(vm, f);
        return IS_NULL(exc) ? VAL_NULL : vm_raise_value(vm, exc);
    }
    if (f->state == FUT_PENDING)
        return vm_raise(vm, vm->exc_InvalidStateError, "Exception is not set.");
    f->log_traceback = false;
    return f->failed ? f->result : VAL_NONE;
}

static Value m_set_result(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!future_ready(vm, as_future(args[0]))) return VAL_NULL;
    if (args_no_kw(vm, "set_result", kw) < 0 || args_count(vm, "set_result", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    FutureObject *f = self_future(args);
    if (f->state != FUT_PENDING) return vm_raise(vm, vm->exc_InvalidStateError, "invalid state");
    return future_set_result(vm, f, args[1]) < 0 ? VAL_NULL : VAL_NONE;
}

static Value m_set_exception(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!future_ready(vm, as_future(args[0]))) return VAL_NULL;
    if (args_no_kw(vm, "set_exception", kw) < 0 ||
        args_count(vm, "set_exception", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    FutureObject *f = self_future(args);
    if (f->state != FUT_PENDING) return vm_raise(vm, vm->exc_InvalidStateError, "invalid state");
    Value exc = args[1];
    if (is_exception_type(vm, exc)) {
        exc = vm_call0(vm, exc);
        if (IS_NULL(exc)) return VAL_NULL;
        if (!is_exception(vm, exc))
            return vm_raise(vm, vm->exc_TypeError,
                            "exception must be a BaseException subclass instance... not %T", exc);
    }
    if (!is_exception(vm, exc)) return vm_raise(vm, vm->exc_TypeError, "invalid exception object");
    if (is_exact(exc, vm->exc_StopIteration))
        return vm_raise(vm, vm->exc_TypeError,
                        "StopIteration interacts badly with generators and cannot be raised into "
                        "a Future");
    return future_set_exception(vm, f, exc) < 0 ? VAL_NULL : VAL_NONE;
}

// Task.cancel / Future.cancel on any future-like: the native fast path for
// our own types, the method for others (a script subclass may override it).
static int cancel_any(EddyVM *vm, Value fut, Value msg) {
    TypeObject *t = vm_type_of(vm, fut);
    if (t == vm->t_sleep) return sleep_cancel(vm, as_sleep(fut), msg);
    if (t == vm->t_future) {
        int err = 0;
        bool r = future_cancel(vm, as_future(fut), msg, &err);
        return err < 0 ? -1 : r;
    }
    StrObject *name = str_intern_cstr(vm, "cancel");
    if (!name) return -1;
    Value r;
    if (IS_NONE(msg)) {
        r = vm_call_method(vm, fut, name, NULL, 0);
    } else {
        Value meth = vm_getattr(vm, fut, name);
        if (IS_NULL(meth)) return -1;
        r = vm_call_kw1(vm, meth, NULL, 0, "msg", msg);
    }
    if (IS_NULL(r)) return -1;
    return vm_truthy(vm, r);
}

bool task_position(EddyVM *vm, TaskObject *t, CodeObject **code, uint32_t *line) {
    if (!t->coro || !gen_like(vm, v_obj(t->coro))) return false;
    GenObject *g = (GenObject *)t->coro;
    if (gen_leaf(g)) g = gen_leaf(g); // a frozen await chain: its innermost frame
    if (g->state == GEN_CLOSED) return false;
    if (g->state == GEN_CREATED) {
        *code = gen_code(g);
        *line = gen_code(g)->firstlineno;
        return true;
    }
    // The innermost frame outside the library (asyncio.sleep and friends
    // are written in Eddy): walk out along the frozen chain.
    Frame *f = gen_frame(g);
    const uint32_t *at = f->instr;
    if (at > f->code->code) at--; // the suspension point
    while (f->code->filename && strncmp(f->code->filename->data, "<stdlib>", 8) == 0 && f->prev &&
           (f->prev->flags & FRAME_HEAP)) {
        f = f->prev;
        at = f->instr; // a parent waits in its SEND
    }
    *code = f->code;
    *line = code_line_of(f->code, (uint32_t)(at - f->code->code));
    return true;
}

static int task_cancel(EddyVM *vm, TaskObject *t, Value msg) {
    FutureObject *f = &t->fut;
    f->log_traceback = false;
    if (f->state != FUT_PENDING) return 0;
    t->num_cancels_requested++;
    if (t->fut_waiter) {
        int r = cancel_any(vm, v_obj(t->fut_waiter), msg);
        if (r < 0) return -1;
        if (r) return 1;
    }
    if (set_cancel_message(vm, f, msg) < 0) return -1;
    t->fut.must_cancel = true;
    return 1;
}

static Value m_cancel(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!future_ready(vm, as_future(args[0]))) return VAL_NULL;
    static const char *const names[] = {"", "msg"};
    Value a[2];
    if (args_parse(vm, "cancel", args, nargs, kw, names, 2, 2, 1, a) < 0) return VAL_NULL;
    Value msg = IS_NULL(a[1]) ? VAL_NONE : a[1];
    if (is_task(vm, args[0])) {
        int r = task_cancel(vm, (TaskObject *)AS_OBJ(args[0]), msg);
        return r < 0 ? VAL_NULL : v_bool(r);
    }
    int err = 0;
    bool r = future_cancel(vm, self_future(args), msg, &err);
    return err < 0 ? VAL_NULL : v_bool(r);
}

static Value m_cancelled(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_bool(self_future(args)->state == FUT_CANCELLED);
}

static Value m_done(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_bool(self_future(args)->state != FUT_PENDING);
}

static Value m_get_loop(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!future_ready(vm, as_future(args[0]))) return VAL_NULL;
    (void)vm, (void)nargs, (void)kw;
    return v_obj(self_future(args)->loop);
}

static Value m_add_done_callback(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!as_future(args[0])->loop)
        return vm_raise(vm, vm->exc_RuntimeError, "uninitialized Future object");
    static const char *const names[] = {"", "fn", "context"};
    Value a[3];
    if (args_parse(vm, "add_done_callback", args, nargs, kw, names, 3, 2, 2, a) < 0)
        return VAL_NULL;
    FutureObject *f = self_future(args);
    if (f->state != FUT_PENDING) {
        if (loop_schedule(vm, f->loop, READY_FUTURE_CALLBACK, a[1], args[0]) < 0) return VAL_NULL;
        return VAL_NONE;
    }
    return future_add_callback(vm, f, a[1], CB_CALL) < 0 ? VAL_NULL : VAL_NONE;
}

static Value m_remove_done_callback(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!future_ready(vm, as_future(args[0]))) return VAL_NULL;
    if (args_no_kw(vm, "remove_done_callback", kw) < 0 ||
        args_count(vm, "remove_done_callback", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    FutureObject *f = self_future(args);
    int64_t removed = 0;
    uint32_t j = 0;
    for (uint32_t i = 0; i < f->ncallbacks; i++) {
        FutureCallback one, cb = future_callbacks(f, &one)[i];
        int eq = 0;
        if (cb.kind == CB_CALL) {
            eq = vm_eq(vm, cb.fn, args[1]);
            if (eq < 0) return VAL_NULL;
            if (i >= f->ncallbacks) break; // __eq__ changed the list
        }
        if (eq)
            removed++;
        else if (f->callbacks)
            f->callbacks[j++] = cb;
        else
            j++; // the inline one stays
    }
    f->ncallbacks = j;
    return v_int(removed);
}

static Value m_get_blocking(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_bool(self_future(args)->blocking);
}

static Value m_set_blocking(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    int t = vm_truthy(vm, args[1]);
    if (t < 0) return VAL_NULL;
    self_future(args)->blocking = t;
    return VAL_NONE;
}

static Value m_get_log_traceback(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_bool(self_future(args)->log_traceback);
}

static Value m_set_log_traceback(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    int t = vm_truthy(vm, args[1]);
    if (t < 0) return VAL_NULL;
    if (t) return vm_raise(vm, vm->exc_ValueError, "_log_traceback can only be set to False");
    self_future(args)->log_traceback = false;
    return VAL_NONE;
}

static Value m_get_cancel_message(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return future_cancel_message(self_future(args));
}

static Value m_set_cancel_message(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    return set_cancel_message(vm, self_future(args), args[1]) < 0 ? VAL_NULL : VAL_NONE;
}

static Value m_state(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    static const char *const names[] = {"PENDING", "CANCELLED", "FINISHED"};
    return v_obj(str_intern_cstr(vm, names[self_future(args)->state]));
}

// ---------------------------------------------------------------------------
// repr

// CPython's coroutine description: "main() running at file:line" or
// "main() done, defined at file:line".
static bool format_coro(EddyVM *vm, StrBuf *b, Value coro) {
    if (!gen_like(vm, coro) && !is_exact(coro, vm->t_async_generator)) {
        // Another coroutine-like object (an asend() awaitable, a class): its
        // __qualname__ or __name__, else "<type without __name__>", as CPython.
        Value name = VAL_NULL;
        StrObject *keys[2] = {vm->names.__qualname__, vm->names.__name__};
        for (int i = 0; i < 2 && IS_NULL(name); i++) {
            Value v;
            int r = vm_getattr_opt(vm, coro, keys[i], &v);
            if (r < 0) vm_err_clear(vm);
            if (r > 0 && is_str(vm, v) && AS_STR(v)->len > 0) name = v;
        }
        if (IS_NULL(name))
            strbuf_printf(b, "<%s without __name__>", vm_type_name(vm, coro));
        else
            strbuf_append_str(b, AS_STR(name));
        strbuf_append_cstr(b, "()");
        return true;
    }
    GenObject *g = (GenObject *)AS_OBJ(coro);
    strbuf_append_str(b, gen_qualname(g));
    strbuf_append_cstr(b, "()");
    if (g->state == GEN_CLOSED) {
        strbuf_printf(b, " done, defined at %s:%u", gen_code(g)->filename->data,
                      (unsigned)gen_code(g)->firstlineno);
    } else {
        Frame *f = gen_frame(g);
        const uint32_t *at = f->instr;
        if (g->state != GEN_RUNNING && at > gen_code(g)->code) at--;
        strbuf_printf(b, " running at %s:%u", gen_code(g)->filename->data,
                      (unsigned)code_line_of(gen_code(g), (uint32_t)(at - gen_code(g)->code)));
    }
    return true;
}

static bool format_cb(EddyVM *vm, StrBuf *b, FutureCallback *cb) {
    if (cb->kind == CB_TASK_WAKEUP) return strbuf_append_cstr(b, "Task.task_wakeup()");
    if (cb->kind == CB_STOP_LOOP) return strbuf_append_cstr(b, "_run_until_complete_cb()");
    Value target = cb->fn;
    if (is_exact(target, vm->t_method)) target = ((BoundMethodObject *)AS_OBJ(target))->func;
    Value qn;
    if (vm_getattr_opt(vm, target, vm->names.__qualname__, &qn) > 0 && is_str(vm, qn)) {
        strbuf_append_str(b, AS_STR(qn));
        strbuf_append_cstr(b, "()");
    } else {
        vm_err_clear(vm);
        Value r = vm_repr(vm, cb->fn);
        if (IS_NULL(r)) return false;
        strbuf_append_str(b, AS_STR(r));
    }
    if (is_exact(target, vm->t_function)) {
        CodeObject *code = ((FunctionObject *)AS_OBJ(target))->code;
        strbuf_printf(b, " at %s:%u", code->filename->data, (unsigned)code->firstlineno);
    }
    return true;
}

// reprlib.repr(), which CPython uses for a future's result: strings over
// 30 characters, ints over 40 digits and other reprs over 30 characters
// keep their two ends around '...'; containers show at most 6 items (dicts
// 4, keys sorted) and nest 6 levels deep.
static void reprlib_trim(StrBuf *b, StrObject *s, size_t max) {
    if (s->ncp <= max) {
        strbuf_append_str(b, s);
        return;
    }
    size_t i = (max - 3) / 2, j = max - 3 - i;
    // Code points to bytes (reprs are mostly ASCII).
    const char *p = s->data, *end = s->data + s->len;
    size_t cp = 0;
    const char *cut1 = p, *cut2 = end;
    for (const char *q = p; q < end; cp++) {
        if (cp == i) cut1 = q;
        if (cp == s->ncp - j) {
            cut2 = q;
            break;
        }
        uint32_t c;
        q += utf8_decode(q, &c);
    }
    strbuf_append(b, p, (size_t)(cut1 - p));
    strbuf_append_cstr(b, "...");
    strbuf_append(b, cut2, (size_t)(end - cut2));
}

static bool reprlib_value(EddyVM *vm, StrBuf *b, Value v, int level) {
    if (is_exact(v, vm->t_str)) {
        StrObject *s = AS_STR(v);
        Value r;
        if (s->ncp > 30) {
            Value head = vm_getitem(vm, v, slice_new(vm, VAL_NONE, v_int(30), VAL_NONE));
            if (IS_NULL(head)) return false;
            r = vm_repr(vm, head);
        } else {
            r = vm_repr(vm, v);
        }
        if (IS_NULL(r)) return false;
        reprlib_trim(b, AS_STR(r), 30);
        return true;
    }
    bool list = is_exact(v, vm->t_list), tuple = is_exact(v, vm->t_tuple);
    bool dict = is_exact(v, vm->t_dict);
    if (list || tuple || dict) {
        const char *open = list ? "[" : tuple ? "(" : "{", *close = list ? "]" : tuple ? ")" : "}";
        int64_t n = vm_len(vm, v);
        if (n == 0) return strbuf_append_cstr(b, tuple ? "()" : list ? "[]" : "{}");
        if (level <= 0) {
            strbuf_append_cstr(b, open);
            strbuf_append_cstr(b, "...");
            return strbuf_append_cstr(b, close);
        }
        Value items = v;
        if (dict) {
            items = vm_sequence_to_list(vm, v); // the keys
            if (IS_NULL(items)) return false;
            if (list_sort(vm, AS_LIST(items), VAL_NULL, false) < 0) {
                vm_err_clear(vm); // unorderable keys keep insertion order
                items = vm_sequence_to_list(vm, v);
                if (IS_NULL(items)) return false;
            }
        }
        if (vm_push_root(vm, items) < 0) return false;
        Value *it = is_exact(items, vm->t_tuple) ? AS_TUPLE(items)->items : AS_LIST(items)->items;
        int64_t max = dict ? 4 : 6;
        strbuf_append_cstr(b, open);
        bool ok = true;
        for (int64_t i = 0; i < n && i < max && ok; i++) {
            if (i) strbuf_append_cstr(b, ", ");
            ok = reprlib_value(vm, b, it[i], level - 1);
            if (ok && dict) {
                Value val;
                ok = dict_get(vm, AS_DICT(v), it[i], &val) > 0;
                strbuf_append_cstr(b, ": ");
                ok = ok && reprlib_value(vm, b, val, level - 1);
            }
        }
        vm_pop_roots(vm, 1);
        if (!ok) return false;
        if (n > max) strbuf_append_cstr(b, ", ...");
        if (tuple && n == 1) strbuf_append_char(b, ',');
        return strbuf_append_cstr(b, close);
    }
    Value r = vm_repr(vm, v);
    if (IS_NULL(r)) return false;
    reprlib_trim(b, AS_STR(r), is_exact(v, vm->t_int) ? 40 : 30);
    return true;
}

bool future_reprlib(EddyVM *vm, StrBuf *b, Value v) { return reprlib_value(vm, b, v, 6); }

Value future_repr(EddyVM *vm, Value self) {
    if (!future_ready(vm, as_future(self))) return VAL_NULL;
    FutureObject *f = as_future(self);
    StrBuf b;
    strbuf_init(vm, &b);
    bool task = is_task(vm, self);
    TaskObject *t = (TaskObject *)f;
    strbuf_append_char(&b, '<');
    strbuf_append_str(&b, vm_type_of(vm, self)->name);
    static const char *const states[] = {" pending", " cancelled", " finished"};
    strbuf_append_cstr(&b, task && t->num_cancels_requested > 0 && f->state == FUT_PENDING
                               ? " cancelling"
                               : states[f->state]);
    if (task) {
        StrObject *name = task_name(vm, t);
        Value r = name ? vm_repr(vm, v_obj(name)) : VAL_NULL;
        if (IS_NULL(r)) goto fail;
        strbuf_append_cstr(&b, " name=");
        strbuf_append_str(&b, AS_STR(r));
        strbuf_append_cstr(&b, " coro=<");
        if (!format_coro(vm, &b, t->coro ? v_obj(t->coro) : VAL_NONE)) goto fail;
        strbuf_append_char(&b, '>');
    }
    if (f->state == FUT_FINISHED) {
        if (!f->failed) {
            strbuf_append_cstr(&b, " result=");
            if (!reprlib_value(vm, &b, f->result, 6)) goto fail;
        } else {
            Value r = vm_repr(vm, f->result);
            if (IS_NULL(r)) goto fail;
            strbuf_append_cstr(&b, " exception=");
            strbuf_append_str(&b, AS_STR(r));
        }
    }
    if (f->ncallbacks) {
        strbuf_append_cstr(&b, " cb=[");
        uint32_t n = f->ncallbacks;
        FutureCallback one, *cbs = future_callbacks(f, &one);
        if (!format_cb(vm, &b, &cbs[0])) goto fail;
        if (n == 2) {
            strbuf_append_cstr(&b, ", ");
            if (!format_cb(vm, &b, &cbs[1])) goto fail;
        } else if (n > 2) {
            strbuf_printf(&b, ", <%u more>, ", n - 2);
            if (!format_cb(vm, &b, &cbs[n - 1])) goto fail;
        }
        strbuf_append_char(&b, ']');
    }
    if (task && t->fut_waiter && OBJ_TYPE(t->fut_waiter) == vm->t_sleep) {
        strbuf_append_cstr(&b, " wait_for=");
        if (!format_sleep_waiter(vm, &b, (SleepObject *)t->fut_waiter)) goto fail;
    } else if (task && t->fut_waiter) {
        Value r = vm_repr(vm, v_obj(t->fut_waiter));
        if (IS_NULL(r)) goto fail;
        strbuf_append_cstr(&b, " wait_for=");
        strbuf_append_str(&b, AS_STR(r));
    }
    loop_append_created_at(vm, &b, &f->hdr);
    strbuf_append_char(&b, '>');
    StrObject *s = strbuf_finish(&b);
    return s ? v_obj(s) : VAL_NULL;
fail:
    strbuf_discard(&b);
    return VAL_NULL;
}

// ---------------------------------------------------------------------------
// Construction

// The loop a new future belongs to when none is given.
static LoopObject *default_loop(EddyVM *vm) {
    if (vm->running_loop) return vm->running_loop;
    if (!IS_NULL(vm->event_loop) && IS_OBJ(vm->event_loop))
        return (LoopObject *)AS_OBJ(vm->event_loop);
    LoopObject *l = loop_new(vm, vm->t_event_loop);
    if (!l) return NULL;
    vm->event_loop = v_obj(l);
    return l;
}

static Value future_new_slot(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    (void)args, (void)nargs, (void)kw;
    size_t size = t->instance_size > sizeof(FutureObject) ? t->instance_size : sizeof(FutureObject);
    FutureObject *f = (FutureObject *)obj_alloc(vm, t, size);
    if (!f) return VAL_NULL;
    future_init_fields(f, NULL);
    return v_obj(f);
}

static Value future_init(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"", "loop"};
    Value a[2];
    if (args_parse(vm, "Future", args, nargs, kw, names, 2, 1, 1, a) < 0) return VAL_NULL;
    FutureObject *f = self_future(args);
    LoopObject *loop;
    if (IS_NULL(a[1]) || IS_NONE(a[1])) {
        loop = default_loop(vm);
        if (!loop) return VAL_NULL;
    } else if (is_exact(a[1], vm->t_event_loop) ||
               (IS_OBJ(a[1]) && type_is_subtype(OBJ_TYPE(AS_OBJ(a[1])), vm->t_event_loop))) {
        loop = (LoopObject *)AS_OBJ(a[1]);
    } else {
        return vm_raise(vm, vm->exc_TypeError, "loop must be an Eddy event loop, got %R", a[1]);
    }
    f->loop = loop;
    if (loop->debug) loop_record_source_tb(vm, &f->hdr, SIZE_MAX);
    return VAL_NONE;
}

// ---------------------------------------------------------------------------
// FutureIter: `await future`

typedef struct FutureIterObject {
    Obj hdr;
    FutureObject *future;
    bool yielded;
} FutureIterObject;

static void future_iter_trace(EddyVM *vm, Obj *o) {
    gc_mark_obj(vm, (Obj *)((FutureIterObject *)o)->future);
}

// 1 yielded the future / -1 raised (StopIteration(result) when done).
static int future_iter_step(EddyVM *vm, FutureIterObject *it, Value *out) {
    FutureObject *f = it->future;
    if (!f) return 0;
    if (f->state == FUT_PENDING) {
        if (!it->yielded) {
            it->yielded = true;
            f->blocking = true;
            *out = v_obj(f);
            return 1;
        }
        it->future = NULL;
        vm_raise(vm, vm->exc_RuntimeError, "await wasn't used with future");
        return -1;
    }
    it->future = NULL;
    Value r;
    if (future_outcome(vm, f, &r) < 0) return -1;
    gen_raise_stop(vm, r);
    return -1;
}

static int future_iter_next(EddyVM *vm, Value self, Value *out) {
    return future_iter_step(vm, (FutureIterObject *)AS_OBJ(self), out);
}

static Value fi_next(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    Value out;
    int r = future_iter_step(vm, (FutureIterObject *)AS_OBJ(args[0]), &out);
    if (r == 0) return vm_raise_value(vm, v_obj(vm->exc_StopIteration));
    return r < 0 ? VAL_NULL : out;
}

static Value fi_send(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "send", nargs - 1, 1, 1) < 0) return VAL_NULL;
    return fi_next(vm, args, 1, kw);
}

static Value fi_throw(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)kw;
    if (args_count(vm, "throw", nargs - 1, 1, 3) < 0) return VAL_NULL;
    ((FutureIterObject *)AS_OBJ(args[0]))->future = NULL;
    return vm_raise_value(vm, args[1]);
}

static Value fi_close(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    ((FutureIterObject *)AS_OBJ(args[0]))->future = NULL;
    return VAL_NONE;
}

static Value fi_iter(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return args[0];
}

static Value m_await(EddyVM *vm, Value *args, int nargs, TupleObject *kw);

Value future_await_iter(EddyVM *vm, Value future) { return m_await(vm, &future, 1, NULL); }

static Value m_await(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!future_ready(vm, as_future(args[0]))) return VAL_NULL;
    (void)nargs, (void)kw;
    FutureIterObject *it =
        (FutureIterObject *)obj_alloc(vm, vm->t_future_iter, sizeof(FutureIterObject));
    if (!it) return VAL_NULL;
    it->future = self_future(args);
    return v_obj(it);
}

// ---------------------------------------------------------------------------
// Sleep: what asyncio.sleep(delay, result) returns.
//
// CPython's sleep() is a coroutine that makes a Future and a TimerHandle
// that completes it, then awaits the future: with its coroutine and the
// future's iterator, four objects per sleeping task. Eddy's is one native
// coroutine-like object that plays every part. A task that awaits it waits
// on the sleep itself (fut_waiter); the sleep's timer (READY_SLEEP_TIMER)
// "sets the future's result" by queueing the task's wake-up
// (READY_SLEEP_WAKEUP); cancelling the task cancels the sleep the way it
// would cancel the future. The loop sees the same entries in the same order
// as CPython's objects make, so interleavings are the same; the timer also
// counts as cancelled exactly when CPython's `finally: h.cancel()` would
// cancel the handle (when the sleep ends before its timer ran).

enum SleepState {
    SLEEP_NEW,       // not started: the "never awaited" warning if it dies
    SLEEP_YIELDED0,  // delay <= 0: yielded once (a bare yield), returns next
    SLEEP_WAITING,   // the "future" is pending: the timer will complete it
    SLEEP_FIRED,     // the timer ran: the waiter's wake-up is queued
    SLEEP_CANCELLED, // cancelled while waiting (arg holds the message)
    SLEEP_DONE,      // returned, raised or closed
};

// 64 bytes a sleep. obj_flags holds the SLEEPF_ bits and, from bit 8, the
// state. While SLEEP_NEW, `origin` is the code that created it and the
// header's spare word (Obj.reserved) the instruction; once started, `waiter`
// is the task it wakes (NULL until a task waits on it) and the timer is in
// that task's loop (or, driven by hand, the running loop's).
#define SLEEPF_COUNTED 1u         // counted in vm->early_finalize_live (SLEEP_NEW)
#define SLEEPF_IN_HEAP 2u         // its timer is in the loop's heap
#define SLEEPF_TIMER_CANCELLED 4u // the timer will not run (CPython's h.cancel())
#define SLEEPF_RESULT 8u          // has the `result` field (sleep(d, result) not None)
#define SLEEP_STATE_SHIFT 8

struct SleepObject {
    Obj hdr;
    Value arg; // the delay until started; the cancel message once cancelled
    union {
        CodeObject *origin; // SLEEP_NEW: where it was created (the warning), or NULL
        TaskObject *waiter; // started: the task its completion wakes, or NULL
    } u;
    // What it returns, when not None (SLEEPF_RESULT). Without one, the
    // object ends before this field: 48 bytes a sleeping task.
    Value result;
};
#define SLEEP_SIZE_NO_RESULT offsetof(SleepObject, result)

static SleepObject *as_sleep(Value v) { return (SleepObject *)AS_OBJ(v); }

static unsigned sleep_state(const SleepObject *s) {
    return (unsigned)s->hdr.obj_flags >> SLEEP_STATE_SHIFT;
}
static void sleep_set_state(SleepObject *s, unsigned state) {
    s->hdr.obj_flags = (uint16_t)((s->hdr.obj_flags & ((1u << SLEEP_STATE_SHIFT) - 1)) |
                                  state << SLEEP_STATE_SHIFT);
}
static bool sleep_has(const SleepObject *s, unsigned flag) { return s->hdr.obj_flags & flag; }
static void sleep_set(SleepObject *s, unsigned flag, bool on) {
    s->hdr.obj_flags = (uint16_t)(on ? s->hdr.obj_flags | flag : s->hdr.obj_flags & ~flag);
}
static Value sleep_result(const SleepObject *s) {
    return sleep_has(s, SLEEPF_RESULT) ? s->result : VAL_NONE;
}
static LoopObject *sleep_loop(EddyVM *vm, const SleepObject *s) {
    return s->u.waiter ? s->u.waiter->fut.loop : vm->running_loop;
}

static void sleep_trace(EddyVM *vm, Obj *o) {
    SleepObject *s = (SleepObject *)o;
    gc_mark_value(vm, s->arg);
    if (sleep_has(s, SLEEPF_RESULT)) gc_mark_value(vm, s->result);
    gc_mark_obj(vm, (Obj *)s->u.origin); // or u.waiter: an object either way
}

static void sleep_uncount(EddyVM *vm, SleepObject *s) {
    if (!sleep_has(s, SLEEPF_COUNTED)) return;
    sleep_set(s, SLEEPF_COUNTED, false);
    vm->early_finalize_live--;
}

static void sleep_early_finalize(EddyVM *vm, Obj *o) {
    SleepObject *s = (SleepObject *)o;
    if (!sleep_has(s, SLEEPF_COUNTED)) return;
    sleep_uncount(vm, s);
    if (sleep_state(s) == SLEEP_NEW)
        coro_warn_unawaited(vm, s->u.origin, (uint32_t)(uintptr_t)s->hdr.reserved, "sleep", NULL,
                            0);
}

// sleep(delay, result=None): a new, unstarted sleep.
Value asyncio_sleep(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"delay", "result"};
    Value a[2];
    // As CPython words these for its (Python) function.
    if (nargs == 0 && !kw)
        return vm_raise(vm, vm->exc_TypeError,
                        "sleep() missing 1 required positional argument: 'delay'");
    if (nargs > 2)
        return vm_raise(vm, vm->exc_TypeError,
                        "sleep() takes from 1 to 2 positional arguments but %d were given", nargs);
    if (args_parse(vm, "sleep", args, nargs, kw, names, 2, 2, 1, a) < 0) return VAL_NULL;
    bool has_result = !IS_NULL(a[1]) && !IS_NONE(a[1]);
    SleepObject *s = (SleepObject *)obj_alloc(
        vm, vm->t_sleep, has_result ? sizeof(SleepObject) : SLEEP_SIZE_NO_RESULT);
    if (!s) return VAL_NULL;
    s->arg = a[0];
    if (has_result) {
        s->result = a[1];
        sleep_set(s, SLEEPF_RESULT, true);
    }
    // The calling frame's instr is synced at its CALL.
    Frame *caller = vm->fiber ? vm->fiber->frame : NULL;
    if (caller && caller->code && caller->instr && caller->instr >= caller->code->code &&
        caller->instr < caller->code->code + caller->code->ncode) {
        // `await asyncio.sleep(...)`: the next instructions start it, so it
        // can never go unawaited, and the collector need not watch it.
        if (gen_inline_send(caller->code, caller->instr)) return v_obj(s);
        s->u.origin = caller->code;
        s->hdr.reserved = (void *)(uintptr_t)(caller->instr - caller->code->code);
    }
    // Watched for the never-awaited warning (sleep_early_finalize).
    if (gc_track(vm, &s->hdr) < 0) return VAL_NULL;
    sleep_set(s, SLEEPF_COUNTED, true);
    vm->early_finalize_live++;
    return v_obj(s);
}

// The sleep ends before its timer ran: CPython's `finally: h.cancel()`.
static void sleep_finish(EddyVM *vm, SleepObject *s) {
    sleep_set_state(s, SLEEP_DONE);
    if (sleep_has(s, SLEEPF_IN_HEAP) && !sleep_has(s, SLEEPF_TIMER_CANCELLED)) {
        sleep_set(s, SLEEPF_TIMER_CANCELLED, true);
        LoopObject *loop = sleep_loop(vm, s);
        if (loop) loop->timers_cancelled++;
    }
}

// The first step: the body of CPython's sleep() up to its await.
static int sleep_start(EddyVM *vm, SleepObject *s, Value *out) {
    sleep_uncount(vm, s);
    sleep_set_state(s, SLEEP_DONE); // unless it gets further
    Value zero = v_int(0);
    int le = vm_compare_bool(vm, s->arg, zero, CMP_LE);
    if (le < 0) return -1;
    if (le) {
        sleep_set_state(s, SLEEP_YIELDED0);
        *out = VAL_NONE;
        return 1;
    }
    LoopObject *loop = loop_get_running(vm);
    if (!loop) return -1;
    double delay;
    if (float_from_value(vm, s->arg, &delay) < 0) return -1;
    if (loop_schedule_at(vm, loop, loop_time() + delay, READY_SLEEP_TIMER, &s->hdr) < 0) return -1;
    s->u.waiter = NULL;
    s->hdr.reserved = NULL;
    sleep_set(s, SLEEPF_IN_HEAP, true);
    s->arg = VAL_NONE; // now the cancel message
    sleep_set_state(s, SLEEP_WAITING);
    *out = v_obj(s); // to the task, as CPython's yields its future
    return 1;
}

int sleep_step(EddyVM *vm, Value self, Value exc, Value *out) {
    SleepObject *s = as_sleep(self);
    unsigned state = sleep_state(s);
    if (state == SLEEP_DONE) {
        if (!IS_NULL(exc)) {
            vm_raise_value(vm, exc);
            return -1;
        }
        vm_raise(vm, vm->exc_RuntimeError, "cannot reuse already awaited coroutine");
        return -1;
    }
    if (!IS_NULL(exc)) { // thrown in at the await (or before the start)
        sleep_uncount(vm, s);
        sleep_finish(vm, s);
        vm_raise_value(vm, exc);
        return -1;
    }
    switch (state) {
    case SLEEP_NEW: return sleep_start(vm, s, out);
    case SLEEP_WAITING:
        sleep_finish(vm, s);
        vm_raise(vm, vm->exc_RuntimeError, "await wasn't used with future");
        return -1;
    case SLEEP_CANCELLED: {
        sleep_finish(vm, s);
        Value e = cancelled_error_of(vm, s->arg);
        if (!IS_NULL(e)) vm_raise_value(vm, e);
        return -1;
    }
    default: // SLEEP_YIELDED0, SLEEP_FIRED
        sleep_finish(vm, s);
        *out = sleep_result(s);
        return 0;
    }
}

// The timer ran (CPython's _set_result_unless_cancelled on the future).
int sleep_timer_fired(EddyVM *vm, Value self) {
    SleepObject *s = as_sleep(self);
    if (sleep_has(s, SLEEPF_TIMER_CANCELLED) || sleep_state(s) != SLEEP_WAITING) return 0;
    sleep_set_state(s, SLEEP_FIRED);
    if (!s->u.waiter) return 0;
    return loop_schedule(vm, s->u.waiter->fut.loop, READY_SLEEP_WAKEUP, v_obj(s->u.waiter), self);
}

bool sleep_timer_cancelled(Value self) { return sleep_has(as_sleep(self), SLEEPF_TIMER_CANCELLED); }
void sleep_timer_unscheduled(Value self) { sleep_set(as_sleep(self), SLEEPF_IN_HEAP, false); }

// Task t, woken by its sleep: resume it with the outcome of the "future".
int sleep_wakeup(EddyVM *vm, TaskObject *t, Value self) {
    SleepObject *s = as_sleep(self);
    Value exc = VAL_NULL;
    if (sleep_state(s) == SLEEP_CANCELLED) {
        exc = cancelled_error_of(vm, s->arg);
        if (IS_NULL(exc)) return -1;
    }
    return task_run_step(vm, t, exc);
}

// Future.cancel(msg) of the sleep's future: 1 if it was pending.
static int sleep_cancel(EddyVM *vm, SleepObject *s, Value msg) {
    if (sleep_state(s) != SLEEP_WAITING) return 0;
    sleep_set_state(s, SLEEP_CANCELLED);
    s->arg = msg;
    if (s->u.waiter && loop_schedule(vm, s->u.waiter->fut.loop, READY_SLEEP_WAKEUP,
                                     v_obj(s->u.waiter), v_obj(s)) < 0)
        return -1;
    return 1;
}

// The sleep as the future its CPython counterpart awaits (started only):
// how a task waiting on it shows it, and what it yields shows as.
static bool format_sleep_waiter(EddyVM *vm, StrBuf *b, SleepObject *s) {
    switch (sleep_state(s)) {
    case SLEEP_WAITING:
        strbuf_append_cstr(b, s->u.waiter ? "<Future pending cb=[Task.task_wakeup()]>"
                                          : "<Future pending>");
        return true;
    case SLEEP_CANCELLED: strbuf_append_cstr(b, "<Future cancelled>"); return true;
    default:
        strbuf_append_cstr(b, "<Future finished result=");
        if (!reprlib_value(vm, b, sleep_result(s), 6)) return false;
        strbuf_append_char(b, '>');
        return true;
    }
}

// Once started, the sleep also plays its future: what it yields to a task
// (or to a script driving it by hand) shows as CPython's future would.
static Value sleep_repr(EddyVM *vm, Value self) {
    SleepObject *s = as_sleep(self);
    unsigned state = sleep_state(s);
    if (state == SLEEP_WAITING || state == SLEEP_FIRED || state == SLEEP_CANCELLED) {
        StrBuf b;
        strbuf_init(vm, &b);
        if (!format_sleep_waiter(vm, &b, s)) {
            strbuf_discard(&b);
            return VAL_NULL;
        }
        StrObject *r = strbuf_finish(&b);
        return r ? v_obj(r) : VAL_NULL;
    }
    StrObject *r = str_format(vm, "<coroutine object sleep at %p>", (void *)AS_OBJ(self));
    return r ? v_obj(r) : VAL_NULL;
}

// coroutine.send / throw / close / __await__
static Value sleep_result_of(EddyVM *vm, int r, Value out) {
    if (r > 0) return out;
    if (r == 0) gen_raise_stop(vm, out);
    return VAL_NULL;
}

// Resume with a value: a sleep awaits nothing that uses it.
static Value sleep_send_none(EddyVM *vm, Value self) {
    Value out = VAL_NULL;
    int r = sleep_step(vm, self, VAL_NULL, &out);
    return sleep_result_of(vm, r, out);
}

static Value sl_send(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "send", kw) < 0 || args_count(vm, "send", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    if (!IS_NONE(args[1]) && sleep_state(as_sleep(args[0])) == SLEEP_NEW)
        return vm_raise(vm, vm->exc_TypeError,
                        "can't send non-None value to a just-started coroutine");
    return sleep_send_none(vm, args[0]);
}

// `yield from asyncio.sleep(0).__await__()`: __await__ returns the sleep
// itself, so it iterates too.
static Value sl_next(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "__next__", kw) < 0 || args_count(vm, "__next__", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    return sleep_send_none(vm, args[0]);
}

static int sleep_next_slot(EddyVM *vm, Value self, Value *out) {
    Value v = VAL_NULL;
    int r = sleep_step(vm, self, VAL_NULL, &v);
    if (r == 0) {
        gen_raise_stop(vm, v);
        return -1;
    }
    *out = v;
    return r;
}

static Value sleep_iter(EddyVM *vm, Value self) {
    (void)vm;
    return self;
}

static Value sl_throw(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "throw", kw) < 0 || args_count(vm, "throw", nargs - 1, 1, 3) < 0)
        return VAL_NULL;
    Value exc = gen_throw_arg(vm, args, nargs);
    if (IS_NULL(exc) || vm_push_root(vm, exc) < 0) return VAL_NULL;
    Value out = VAL_NULL;
    int r = sleep_step(vm, args[0], exc, &out);
    vm_pop_roots(vm, 1);
    return sleep_result_of(vm, r, out);
}

static Value sl_close(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    SleepObject *s = as_sleep(args[0]);
    sleep_uncount(vm, s);
    if (sleep_state(s) != SLEEP_DONE) sleep_finish(vm, s);
    return VAL_NONE;
}

static Value sl_name(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)args, (void)nargs, (void)kw;
    StrObject *name = str_intern_cstr(vm, "sleep");
    return name ? v_obj(name) : VAL_NULL;
}

int sleep_check_awaitable(EddyVM *vm, Value self) {
    unsigned state = sleep_state(as_sleep(self));
    if (state == SLEEP_NEW) return 0;
    vm_raise(vm, vm->exc_RuntimeError,
             state == SLEEP_DONE ? "cannot reuse already awaited coroutine"
                                 : "coroutine is being awaited already");
    return -1;
}

// ---------------------------------------------------------------------------
// Task

// A pending task is the largest per-task object the loop keeps (sleepers).
_Static_assert(sizeof(TaskObject) <= 144, "TaskObject grew past its pool class");

static int register_task(EddyVM *vm, TaskObject *t) {
    if (vm->tasks_len == vm->tasks_cap) {
        size_t cap = vm->tasks_cap ? vm->tasks_cap * 2 : 16;
        TaskObject **a = mem_realloc(vm, vm->tasks, vm->tasks_cap * sizeof(TaskObject *),
                                     cap * sizeof(TaskObject *));
        if (!a) return -1;
        vm->tasks = a;
        vm->tasks_cap = cap;
    }
    t->registry_index = vm->tasks_len;
    t->fut.registered = true;
    vm->tasks[vm->tasks_len++] = t;
    return 0;
}

void task_unregister(EddyVM *vm, TaskObject *t) {
    if (!t->fut.registered) return;
    t->fut.registered = false;
    TaskObject *last = vm->tasks[--vm->tasks_len];
    vm->tasks[t->registry_index] = last;
    last->registry_index = t->registry_index;
}

static void task_trace(EddyVM *vm, Obj *o) {
    future_trace(vm, o);
    TaskObject *t = (TaskObject *)o;
    gc_mark_obj(vm, t->coro);
    gc_mark_obj(vm, (Obj *)t->name);
    gc_mark_obj(vm, t->fut_waiter);
}

static void task_init_fields(EddyVM *vm, TaskObject *t, LoopObject *loop, Obj *coro) {
    future_init_fields(&t->fut, loop);
    t->fut.is_task = true;
    t->coro = coro;
    t->name = NULL;
    t->fut_waiter = NULL;
    t->number = ++vm->task_counter;
}

// t.set_name(name): str(name), or the default name for None.
static int task_set_name(EddyVM *vm, TaskObject *t, Value name) {
    if (IS_NULL(name) || IS_NONE(name)) {
        t->name = NULL;
        return 0;
    }
    if (!is_str(vm, name)) {
        name = vm_str(vm, name);
        if (IS_NULL(name)) return -1;
    }
    t->name = AS_STR(name);
    return 0;
}

// t's name, "Task-<number>" made now if it has none. NULL + MemoryError.
static StrObject *task_name(EddyVM *vm, TaskObject *t) {
    if (!t->name) t->name = str_format(vm, "Task-%llu", (unsigned long long)t->number);
    return t->name;
}

// Register t and queue its first step (CPython: call_soon(self.__step)).
static int task_start(EddyVM *vm, TaskObject *t) {
    if (register_task(vm, t) < 0) return -1;
    return loop_schedule(vm, t->fut.loop, READY_TASK_STEP, v_obj(t), VAL_NULL);
}

TaskObject *task_new(EddyVM *vm, LoopObject *loop, Value coro, Value name) {
    TaskObject *t = (TaskObject *)obj_alloc(vm, vm->t_task, sizeof(TaskObject));
    if (!t) return NULL;
    task_init_fields(vm, t, loop, AS_OBJ(coro));
    if (loop->debug) loop_record_source_tb(vm, &t->fut.hdr, SIZE_MAX);
    if (vm_push_root(vm, v_obj(t)) < 0) return NULL;
    int r = task_set_name(vm, t, name);
    if (r == 0) r = task_start(vm, t);
    vm_pop_roots(vm, 1);
    return r < 0 ? NULL : t;
}

static Value task_new_slot(EddyVM *vm, TypeObject *tp, Value *args, int nargs, TupleObject *kw) {
    (void)args, (void)nargs, (void)kw;
    size_t size = tp->instance_size > sizeof(TaskObject) ? tp->instance_size : sizeof(TaskObject);
    TaskObject *t = (TaskObject *)obj_alloc(vm, tp, size);
    if (!t) return VAL_NULL;
    task_init_fields(vm, t, NULL, NULL);
    return v_obj(t);
}

// Task(coro, *, loop=None, name=None, context=None)
static Value task_init(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"", "coro", "loop", "name", "context"};
    Value a[5];
    if (args_parse(vm, "Task", args, nargs, kw, names, 5, 2, 2, a) < 0) return VAL_NULL;
    TaskObject *t = (TaskObject *)AS_OBJ(args[0]);
    if (t->fut.loop) return vm_raise(vm, vm->exc_RuntimeError, "Task is already initialized");
    if (!task_coro_ok(vm, a[1]))
        return vm_raise(vm, vm->exc_TypeError, "a coroutine was expected, got %R", a[1]);
    LoopObject *loop;
    if (IS_NULL(a[2]) || IS_NONE(a[2])) {
        loop = default_loop(vm);
        if (!loop) return VAL_NULL;
    } else if (IS_OBJ(a[2]) && type_is_subtype(OBJ_TYPE(AS_OBJ(a[2])), vm->t_event_loop)) {
        loop = (LoopObject *)AS_OBJ(a[2]);
    } else {
        return vm_raise(vm, vm->exc_TypeError, "loop must be an Eddy event loop, got %R", a[2]);
    }
    t->fut.loop = loop;
    t->coro = AS_OBJ(a[1]);
    if (loop->debug) loop_record_source_tb(vm, &t->fut.hdr, SIZE_MAX);
    if (task_set_name(vm, t, IS_NULL(a[3]) ? VAL_NONE : a[3]) < 0) return VAL_NULL;
    if (task_start(vm, t) < 0) return VAL_NULL;
    return VAL_NONE;
}

static TaskObject *self_task(Value *args) { return (TaskObject *)AS_OBJ(args[0]); }

static Value t_get_name(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!future_ready(vm, as_future(args[0]))) return VAL_NULL;
    (void)nargs, (void)kw;
    StrObject *name = task_name(vm, self_task(args));
    return name ? v_obj(name) : VAL_NULL;
}

static Value t_set_name(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!future_ready(vm, as_future(args[0]))) return VAL_NULL;
    if (args_no_kw(vm, "set_name", kw) < 0 || args_count(vm, "set_name", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    // (None too becomes the string 'None', as in CPython.)
    Value name = is_str(vm, args[1]) ? args[1] : vm_str(vm, args[1]);
    if (IS_NULL(name)) return VAL_NULL;
    self_task(args)->name = AS_STR(name);
    return VAL_NONE;
}

static Value t_get_coro(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!future_ready(vm, as_future(args[0]))) return VAL_NULL;
    (void)vm, (void)nargs, (void)kw;
    return v_obj(self_task(args)->coro);
}

static Value t_cancelling(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!future_ready(vm, as_future(args[0]))) return VAL_NULL;
    (void)vm, (void)nargs, (void)kw;
    return v_int(self_task(args)->num_cancels_requested);
}

static Value t_uncancel(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!future_ready(vm, as_future(args[0]))) return VAL_NULL;
    (void)vm, (void)nargs, (void)kw;
    TaskObject *t = self_task(args);
    if (t->num_cancels_requested > 0) t->num_cancels_requested--;
    return v_int(t->num_cancels_requested);
}

// The frames of task t, outermost first, at most `limit` (< 0: all), as
// CPython's _task_get_stack: its coroutine's frame (cr_frame, gi_frame or
// ag_frame) and the callers above it while it has not finished, else the
// frames of the traceback it failed with. NULL + error.
static ListObject *task_stack(EddyVM *vm, TaskObject *t, int64_t limit) {
    ListObject *frames = list_new(vm, 0);
    if (!frames || vm_push_root(vm, v_obj(frames)) < 0) return NULL;
    Value f = VAL_NONE;
    static const char *const attrs[] = {"cr_frame", "gi_frame", "ag_frame"};
    for (size_t i = 0; t->coro && i < 3; i++) {
        StrObject *name = str_intern_cstr(vm, attrs[i]);
        int r = name ? vm_getattr_opt(vm, v_obj(t->coro), name, &f) : -1;
        if (r < 0) goto fail;
        if (r > 0) break;
        f = VAL_NONE;
    }
    StrObject *next_name = str_intern_cstr(vm, IS_NONE(f) ? "tb_next" : "f_back");
    StrObject *frame_name = str_intern_cstr(vm, "tb_frame");
    if (!next_name || !frame_name) goto fail;
    Value at = f;
    if (IS_NONE(f) && t->fut.state == FUT_FINISHED && t->fut.failed) {
        StrObject *tb_name = str_intern_cstr(vm, "__traceback__");
        at = tb_name ? vm_getattr(vm, t->fut.result, tb_name) : VAL_NULL;
        if (IS_NULL(at)) goto fail;
    }
    while (!IS_NONE(at) && limit != 0) {
        if (limit > 0) limit--;
        if (vm_push_root(vm, at) < 0) goto fail;
        Value frame = IS_NONE(f) ? vm_getattr(vm, at, frame_name) : at;
        if (IS_NULL(frame) || list_append(vm, frames, frame) < 0) goto fail_at;
        at = vm_getattr(vm, at, next_name);
        vm_pop_roots(vm, 1);
        if (IS_NULL(at)) goto fail;
    }
    if (!IS_NONE(f)) { // callers were appended after their callees
        for (size_t i = 0, j = frames->len; i + 1 < j; i++, j--) {
            Value tmp = frames->items[i];
            frames->items[i] = frames->items[j - 1];
            frames->items[j - 1] = tmp;
        }
    }
    vm_pop_roots(vm, 1);
    return frames;
fail_at:
    vm_pop_roots(vm, 1);
fail:
    vm_pop_roots(vm, 1);
    return NULL;
}

// The number of frames limit= allows (< 0: all). CPython counts it down
// while it is above 0, so any real number works (1.5 allows two).
static int stack_limit(EddyVM *vm, Value v, int64_t *out) {
    *out = -1;
    if (IS_NULL(v) || IS_NONE(v)) return 0;
    double d;
    if (IS_INT(v) || IS_BOOL(v)) {
        d = IS_INT(v) ? (double)AS_INT(v) : AS_BOOL(v);
    } else if (IS_FLOAT(v)) {
        d = AS_FLOAT(v);
    } else {
        vm_raise(vm, vm->exc_TypeError, "'<=' not supported between instances of '%s' and 'int'",
                 vm_type_name(vm, v));
        return -1;
    }
    *out = !(d > 0) ? 0 : d >= 1e18 ? INT64_MAX : (int64_t)ceil(d);
    return 0;
}

// Task.get_stack(*, limit=None)
static Value t_get_stack(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"", "limit"};
    Value a[2];
    int64_t limit;
    if (args_parse(vm, "get_stack", args, nargs, kw, names, 2, 1, 1, a) < 0 ||
        stack_limit(vm, a[1], &limit) < 0)
        return VAL_NULL;
    ListObject *frames = task_stack(vm, self_task(args), limit);
    return frames ? v_obj(frames) : VAL_NULL;
}

// Task.print_stack(*, limit=None, file=None): CPython's _task_print_stack.
static Value t_print_stack(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"", "limit", "file"};
    Value a[3];
    int64_t limit;
    if (args_parse(vm, "print_stack", args, nargs, kw, names, 3, 1, 1, a) < 0 ||
        stack_limit(vm, a[1], &limit) < 0)
        return VAL_NULL;
    TaskObject *t = self_task(args);
    ListObject *frames = task_stack(vm, t, limit);
    if (!frames || vm_push_root(vm, v_obj(frames)) < 0) return VAL_NULL;
    Value result = VAL_NULL;
    size_t n = frames->len;
    StackEntry *entries = n ? mem_alloc(vm, n * sizeof *entries) : NULL;
    if (n && !entries) goto done;
    for (size_t i = 0; i < n; i++) // innermost first, as vm_stack_summary reads them
        if (!frame_object_entry(vm, frames->items[n - 1 - i], &entries[i])) {
            vm_raise(vm, vm->exc_TypeError, "get_stack() gave a non-frame");
            mem_free(vm, entries, n * sizeof *entries);
            goto done;
        }
    ListObject *summary = vm_stack_summary(vm, entries, n);
    if (entries) mem_free(vm, entries, n * sizeof *entries);
    if (!summary || vm_push_root(vm, v_obj(summary)) < 0) goto done;
    Value exc = t->fut.state == FUT_FINISHED && t->fut.failed ? t->fut.result : VAL_NULL;
    const char *head = n == 0          ? "No stack for %R\n"
                       : !IS_NULL(exc) ? "Traceback for %R (most recent call last):\n"
                                       : "Stack for %R (most recent call last):\n";
    StrObject *h = str_format(vm, head, v_obj(t));
    StrBuf b;
    strbuf_init(vm, &b);
    if (h) strbuf_append_str(&b, h);
    if (!h || vm_format_stack_summary(vm, &b, summary) < 0) {
        strbuf_discard(&b);
        vm_pop_roots(vm, 1);
        goto done;
    }
    if (!IS_NULL(exc)) {
        vm_format_exception_only(vm, &b, exc);
        strbuf_append_char(&b, '\n');
    }
    StrObject *text = strbuf_finish(&b);
    vm_pop_roots(vm, 1);
    if (text) result = loop_write(vm, a[2], text) < 0 ? VAL_NULL : VAL_NONE;
done:
    vm_pop_roots(vm, 1);
    return result;
}

static Value t_set_result(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)args, (void)nargs, (void)kw;
    return vm_raise(vm, vm->exc_RuntimeError, "Task does not support set_result operation");
}

static Value t_set_exception(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)args, (void)nargs, (void)kw;
    return vm_raise(vm, vm->exc_RuntimeError, "Task does not support set_exception operation");
}

static Value t_must_cancel(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_bool(self_task(args)->fut.must_cancel);
}

static Value t_fut_waiter(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    TaskObject *t = self_task(args);
    return t->fut_waiter ? v_obj(t->fut_waiter) : VAL_NONE;
}

static Value t_coro_attr(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return t_get_coro(vm, args, nargs, kw);
}

// Queue a step that throws exc into t (a RuntimeError about what it yielded).
static int step_soon_with_error(EddyVM *vm, TaskObject *t, const char *fmt, Value a, Value b) {
    StrObject *msg = IS_NULL(b) ? str_format(vm, fmt, a) : str_format(vm, fmt, a, b);
    if (!msg) return -1;
    Value exc = exc_new_msg(vm, vm->exc_RuntimeError, msg);
    if (IS_NULL(exc)) return -1;
    return loop_schedule(vm, t->fut.loop, READY_TASK_STEP, v_obj(t), exc);
}

static StrObject *vm_names_add_done_callback(EddyVM *vm) {
    return str_intern_cstr(vm, "add_done_callback");
}

// Does future y's class define its own add_done_callback? 1 / 0 / -1.
static int overrides_add_done_callback(EddyVM *vm, Value y) {
    TypeObject *tp = vm_type_of(vm, y);
    if (tp == vm->t_future || tp == vm->t_task) return 0;
    StrObject *name = vm_names_add_done_callback(vm);
    if (!name) return -1;
    Value m = type_lookup(vm, tp, name);
    if (IS_NULL(m)) return 0;
    return !(is_exact(m, vm->t_builtin_function) &&
             ((NativeFunctionObject *)AS_OBJ(m))->fn == m_add_done_callback);
}

// The callable a task gives an overridden add_done_callback (or a
// future-like object's): wakes the task. A future-like object's result()
// says how, as in CPython: its exception is thrown into the coroutine.
static Value task_wakeup_fn(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "task_wakeup", kw) < 0 || args_count(vm, "task_wakeup", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    TaskObject *t = (TaskObject *)AS_OBJ(args[0]);
    if (is_future(vm, args[1]))
        return task_run_wakeup(vm, t, as_future(args[1])) < 0 ? VAL_NULL : VAL_NONE;
    StrObject *name = str_intern_cstr(vm, "result");
    if (!name) return VAL_NULL;
    Value r = vm_call_method(vm, args[1], name, NULL, 0);
    Value exc = IS_NULL(r) ? vm_err_fetch(vm) : VAL_NULL;
    return task_run_step(vm, t, exc) < 0 ? VAL_NULL : VAL_NONE;
}

// A future-like object's loop: its get_loop(), else its _loop. V_NULL + error.
static Value future_like_loop(EddyVM *vm, Value fut) {
    StrObject *get_loop_name = str_intern_cstr(vm, "get_loop");
    Value get_loop;
    int r = get_loop_name ? vm_getattr_opt(vm, fut, get_loop_name, &get_loop) : -1;
    if (r < 0) return VAL_NULL;
    if (r > 0) return vm_call0(vm, get_loop);
    StrObject *name = str_intern_cstr(vm, "_loop");
    return name ? vm_getattr(vm, fut, name) : VAL_NULL;
}

// A yielded object that is not one of ours but has _asyncio_future_blocking
// (asyncio.isfuture): CPython's Task waits on it through its own
// add_done_callback. 1 the task waits on it, 0 y is not future-like, -1.
static int task_wait_future_like(EddyVM *vm, TaskObject *t, Value y) {
    StrObject *attr = str_intern_cstr(vm, "_asyncio_future_blocking");
    if (!attr) return -1;
    Value b;
    int found = vm_getattr_opt(vm, y, attr, &b);
    if (found <= 0 || IS_NONE(b)) return found < 0 ? -1 : 0;
    int blocking = vm_truthy(vm, b);
    if (blocking < 0) return -1;
    Value loop = future_like_loop(vm, y);
    if (IS_NULL(loop)) return -1;
    const char *why = !IS_OBJ(loop) || AS_OBJ(loop) != &t->fut.loop->hdr
                          ? "Task %R got Future %R attached to a different loop"
                      : !blocking ? "yield was used instead of yield from in task %R with %R"
                                  : NULL;
    if (why) return step_soon_with_error(vm, t, why, v_obj(t), y) < 0 ? -1 : 2;
    if (vm_setattr(vm, y, attr, VAL_FALSE) < 0) return -1;
    // y.add_done_callback(wakeup, context=None): Eddy has no contextvars.
    StrObject *add_name = vm_names_add_done_callback(vm);
    NativeFunctionObject *cb =
        add_name ? native_new(vm, "task_wakeup", task_wakeup_fn, v_obj(t), 0) : NULL;
    if (!cb || vm_push_root(vm, v_obj(cb)) < 0) return -1;
    Value add = vm_getattr(vm, y, add_name);
    Value arg = v_obj(cb);
    Value r = IS_NULL(add) ? VAL_NULL : vm_call_kw1(vm, add, &arg, 1, "context", VAL_NONE);
    vm_pop_roots(vm, 1);
    return IS_NULL(r) ? -1 : 1;
}

// What the coroutine yielded decides how the task waits.
static int task_handle_yield(EddyVM *vm, TaskObject *t, Value y) {
    if (IS_NONE(y)) return loop_schedule(vm, t->fut.loop, READY_TASK_STEP, v_obj(t), VAL_NULL);
    if (is_exact(y, vm->t_sleep)) {
        // Its timer (in the running loop, which is t's) will wake t.
        as_sleep(y)->u.waiter = t;
    } else if (is_future(vm, y)) {
        FutureObject *w = as_future(y);
        if (w->loop != t->fut.loop)
            return step_soon_with_error(vm, t, "Task %R got Future %R attached to a different loop",
                                        v_obj(t), y);
        if (!w->blocking)
            return step_soon_with_error(
                vm, t, "yield was used instead of yield from in task %R with %R", v_obj(t), y);
        if (w == &t->fut)
            return step_soon_with_error(vm, t, "Task cannot await on itself: %R", v_obj(t),
                                        VAL_NULL);
        w->blocking = false;
        int ov = overrides_add_done_callback(vm, y);
        if (ov < 0) return -1;
        if (ov) {
            // A subclass's own add_done_callback is called, as CPython does.
            NativeFunctionObject *cb = native_new(vm, "task_wakeup", task_wakeup_fn, v_obj(t), 0);
            if (!cb) return -1;
            Value arg = v_obj(cb);
            Value r = vm_call_method(vm, y, vm_names_add_done_callback(vm), &arg, 1);
            if (IS_NULL(r)) return -1;
        } else if (w->state != FUT_PENDING) {
            // Already done (e.g. completed by a callback): wake up at once.
            if (loop_schedule(vm, t->fut.loop, READY_TASK_WAKEUP, v_obj(t), y) < 0) return -1;
        } else if (future_add_callback(vm, w, v_obj(t), CB_TASK_WAKEUP) < 0) {
            return -1;
        }
    } else if (is_exact(y, vm->t_generator)) {
        return step_soon_with_error(
            vm, t, "yield was used instead of yield from for generator in task %R with %R",
            v_obj(t), y);
    } else {
        int r = IS_OBJ(y) ? task_wait_future_like(vm, t, y) : 0;
        if (r < 0) return -1;
        if (r == 2) return 0; // a step with the error is queued
        if (r == 0) return step_soon_with_error(vm, t, "Task got bad yield: %R", y, VAL_NULL);
    }
    t->fut_waiter = AS_OBJ(y);
    if (t->fut.must_cancel) {
        int r = cancel_any(vm, y, future_cancel_message(&t->fut));
        if (r < 0) return -1;
        if (r) t->fut.must_cancel = false;
    }
    return 0;
}

bool task_coro_ok(EddyVM *vm, Value v) {
    if (gen_like(vm, v)) return true;
    TypeObject *t = vm_type_of(vm, v);
    static const char *const need[] = {"__await__", "send", "throw", "close"};
    for (size_t i = 0; i < 4; i++) {
        StrObject *name = str_intern_cstr(vm, need[i]);
        if (!name) {
            vm_err_clear(vm);
            return false;
        }
        Value m = type_lookup(vm, t, name);
        if (IS_NULL(m) || IS_NONE(m)) return false;
    }
    return true;
}

// One step of a coroutine-like object that is not a GenObject (an async
// generator's asend(), a class implementing the protocol): its send / throw.
// 1 yielded *out, 0 returned *out, -1 raised.
static int coro_step_generic(EddyVM *vm, Value coro, Value exc, Value *out) {
    Value r;
    if (IS_NULL(exc)) {
        Value none = VAL_NONE;
        r = vm_call_method(vm, coro, vm->names.send, &none, 1);
    } else {
        r = vm_call_method(vm, coro, vm->names.throw, &exc, 1);
    }
    if (!IS_NULL(r)) {
        *out = r;
        return 1;
    }
    if (!vm_err_matches(vm, vm->exc_StopIteration)) return -1;
    *out = gen_fetch_stop_value(vm);
    return 0;
}

static bool exc_is(EddyVM *vm, Value exc, TypeObject *t) {
    return type_is_subtype(vm_type_of(vm, exc), t);
}

int task_run_step(EddyVM *vm, TaskObject *t, Value exc) {
    FutureObject *f = &t->fut;
    if (f->state != FUT_PENDING) {
        vm_raise(vm, vm->exc_InvalidStateError, "_step(): already done: %R", v_obj(t));
        Value e = vm_err_fetch(vm);
        loop_report_error(vm, f->loop, "Exception in callback Task.task_wakeup", VAL_NULL, e);
        return vm_err_occurred(vm) ? -1 : 0;
    }
    if (t->fut.must_cancel) {
        if (IS_NULL(exc) || !exc_is(vm, exc, vm->exc_CancelledError)) {
            exc = future_cancelled_error(vm, f);
            if (IS_NULL(exc)) return -1;
        }
        t->fut.must_cancel = false;
    }
    t->fut_waiter = NULL;
    if (vm_push_root(vm, exc) < 0) return -1;
    Value prev = vm->current_task;
    vm->current_task = v_obj(t);
    Value out = VAL_NULL;
    Value coro = v_obj(t->coro);
    int r = gen_like(vm, coro) ? gen_step(vm, (GenObject *)t->coro, VAL_NONE, exc, &out)
            : OBJ_TYPE(t->coro) == vm->t_sleep ? sleep_step(vm, coro, exc, &out)
                                               : coro_step_generic(vm, coro, exc, &out);
    vm->current_task = prev;
    vm_pop_roots(vm, 1);
    int rc = 0;
    if (r == 1) {
        if (vm_push_root(vm, out) < 0) return -1;
        rc = task_handle_yield(vm, t, out);
        vm_pop_roots(vm, 1);
        if (rc < 0) {
            // Waiting failed (a future-like object's get_loop() or
            // add_done_callback() raised, or memory ran out). CPython
            // reports the step's error and leaves the task pending with
            // nothing to wake it, so that even cancelling it hangs
            // asyncio.run(). Eddy throws the error into the coroutine at
            // its await instead, as it does for a bad yield; only if even
            // that cannot be queued does the loop report it.
            Value e = vm_err_fetch(vm);
            if (exc_is(vm, e, vm->exc_KeyboardInterrupt) || exc_is(vm, e, vm->exc_SystemExit)) {
                vm->exc = e;
                return -1;
            }
            if (vm_push_root(vm, e) < 0) return -1;
            rc = loop_schedule(vm, f->loop, READY_TASK_STEP, v_obj(t), e);
            vm_pop_roots(vm, 1);
            if (rc == 0) return 0;
            e = vm_err_fetch(vm);
            loop_report_error(vm, f->loop, "Exception in callback Task.__step()", VAL_NULL, e);
            return vm_err_occurred(vm) ? -1 : 0;
        }
        return rc;
    }
    task_unregister(vm, t);
    if (r == 0) {
        if (t->fut.must_cancel) {
            t->fut.must_cancel = false;
            int err = 0;
            future_cancel(vm, f, future_cancel_message(f), &err);
            return err;
        }
        return future_set_result(vm, f, out);
    }
    Value e = vm_err_fetch(vm);
    if (exc_is(vm, e, vm->exc_CancelledError)) {
        int err = 0;
        future_cancel(vm, f, VAL_NONE, &err);
        f->result = e; // the cancelled future's CancelledError (future_cancelled_error)
        return err;
    }
    if (future_set_exception(vm, f, e) < 0) return -1;
    if (exc_is(vm, e, vm->exc_KeyboardInterrupt) || exc_is(vm, e, vm->exc_SystemExit)) {
        vm->exc = e;
        return -1;
    }
    return 0;
}

int task_run_wakeup(EddyVM *vm, TaskObject *t, FutureObject *waited) {
    Value exc = VAL_NULL;
    TypeObject *wt = OBJ_TYPE(&waited->hdr);
    Value meth = VAL_NULL;
    if (wt != vm->t_future && wt != vm->t_task) {
        StrObject *name = str_intern_cstr(vm, "result");
        if (!name) return -1;
        meth = type_lookup(vm, wt, name);
        if (!IS_NULL(meth) && is_exact(meth, vm->t_builtin_function) &&
            ((NativeFunctionObject *)AS_OBJ(meth))->fn == m_result)
            meth = VAL_NULL;
    }
    if (!IS_NULL(meth)) {
        // A subclass's own result() decides what the task sees, as in CPython.
        Value r = vm_call_method(vm, v_obj(waited), str_intern_cstr(vm, "result"), NULL, 0);
        if (IS_NULL(r)) exc = vm_err_fetch(vm); // thrown into the coroutine
    } else if (waited->state == FUT_CANCELLED) {
        exc = future_cancelled_error(vm, waited);
        if (IS_NULL(exc)) return -1;
    } else if (waited->failed) {
        waited->log_traceback = false;
        exc = waited->result;
    }
    return task_run_step(vm, t, exc);
}

// CPython's private attributes that code written against it reads: _loop,
// _result and _exception (None unless finished that way), and
// _make_cancelled_error().
static Value m_loop_attr(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    LoopObject *loop = self_future(args)->loop;
    return loop ? v_obj(loop) : VAL_NONE;
}

static Value m_result_attr(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    FutureObject *f = self_future(args);
    return f->state == FUT_FINISHED && !f->failed ? f->result : VAL_NONE;
}

static Value m_exception_attr(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    FutureObject *f = self_future(args);
    return f->state == FUT_FINISHED && f->failed ? f->result : VAL_NONE;
}

static Value m_make_cancelled_error(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "_make_cancelled_error", kw) < 0 ||
        args_count(vm, "_make_cancelled_error", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    return future_cancelled_error(vm, self_future(args));
}

// _source_traceback: where it was created, in debug mode (vm/loop.c).
static Value m_source_traceback(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    return loop_source_tb(vm, AS_OBJ(args[0]));
}

// ---------------------------------------------------------------------------
// Types

int future_init_types(EddyVM *vm) {
    TypeObject *t =
        type_new_builtin(vm, vm->t_future, vm->t_object, sizeof(FutureObject), TPF_BASETYPE);
    if (!t) return -1;
    t->module = str_intern_cstr(vm, "_asyncio");
    if (!t->module) return -1;
    t->dict_offset = (int32_t)offsetof(FutureObject, dict);
    t->trace = future_trace;
    t->finalize = future_finalize;
    t->new_ = future_new_slot;
    t->repr = future_repr;
    static const struct {
        const char *name;
        NativeFn fn;
    } methods[] = {
        {"__init__", future_init},
        {"result", m_result},
        {"exception", m_exception},
        {"set_result", m_set_result},
        {"set_exception", m_set_exception},
        {"cancel", m_cancel},
        {"cancelled", m_cancelled},
        {"done", m_done},
        {"get_loop", m_get_loop},
        {"add_done_callback", m_add_done_callback},
        {"remove_done_callback", m_remove_done_callback},
        {"_make_cancelled_error", m_make_cancelled_error},
        {"__await__", m_await},
        {"__iter__", m_await},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (type_add_method(vm, t, methods[i].name, methods[i].fn, NATIVE_METHOD) < 0) return -1;
    if (type_add_property(vm, t, "_asyncio_future_blocking", m_get_blocking, m_set_blocking) < 0 ||
        type_add_property(vm, t, "_log_traceback", m_get_log_traceback, m_set_log_traceback) < 0 ||
        type_add_property(vm, t, "_cancel_message", m_get_cancel_message, m_set_cancel_message) <
            0 ||
        type_add_getter(vm, t, "_state", m_state) < 0 ||
        type_add_getter(vm, t, "_loop", m_loop_attr) < 0 ||
        type_add_getter(vm, t, "_result", m_result_attr) < 0 ||
        type_add_getter(vm, t, "_exception", m_exception_attr) < 0 ||
        type_add_getter(vm, t, "_source_traceback", m_source_traceback) < 0)
        return -1;

    t = type_new_builtin(vm, vm->t_future_iter, vm->t_object, sizeof(FutureIterObject), 0);
    if (!t) return -1;
    t->trace = future_iter_trace;
    t->next = future_iter_next;
    if (type_add_method(vm, t, "__next__", fi_next, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "send", fi_send, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "throw", fi_throw, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "close", fi_close, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__iter__", fi_iter, NATIVE_METHOD) < 0)
        return -1;

    t = type_new_builtin(vm, vm->t_sleep, vm->t_object, sizeof(SleepObject), TPF_EARLY_FINALIZE);
    if (!t) return -1;
    t->trace = sleep_trace;
    t->early_finalize = sleep_early_finalize;
    t->repr = sleep_repr;
    t->iter = sleep_iter;
    t->next = sleep_next_slot;
    if (type_add_method(vm, t, "send", sl_send, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "throw", sl_throw, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "close", sl_close, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__await__", fi_iter, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__next__", sl_next, NATIVE_METHOD) < 0 ||
        type_add_method(vm, t, "__iter__", fi_iter, NATIVE_METHOD) < 0 ||
        type_add_getter(vm, t, "__name__", sl_name) < 0 ||
        type_add_getter(vm, t, "__qualname__", sl_name) < 0)
        return -1;

    t = type_new_builtin(vm, vm->t_task, vm->t_future, sizeof(TaskObject), TPF_BASETYPE);
    if (!t) return -1;
    t->module = vm->t_future->module;
    t->dict_offset = (int32_t)offsetof(FutureObject, dict);
    t->trace = task_trace;
    t->finalize = future_finalize;
    t->new_ = task_new_slot;
    t->repr = future_repr;
    static const struct {
        const char *name;
        NativeFn fn;
    } task_methods[] = {
        {"__init__", task_init},      {"get_name", t_get_name},
        {"set_name", t_set_name},     {"get_coro", t_get_coro},
        {"cancelling", t_cancelling}, {"uncancel", t_uncancel},
        {"get_stack", t_get_stack},   {"print_stack", t_print_stack},
        {"set_result", t_set_result}, {"set_exception", t_set_exception},
    };
    for (size_t i = 0; i < sizeof task_methods / sizeof task_methods[0]; i++)
        if (type_add_method(vm, t, task_methods[i].name, task_methods[i].fn, NATIVE_METHOD) < 0)
            return -1;
    if (type_add_getter(vm, t, "_must_cancel", t_must_cancel) < 0 ||
        type_add_getter(vm, t, "_fut_waiter", t_fut_waiter) < 0 ||
        type_add_getter(vm, t, "_coro", t_coro_attr) < 0)
        return -1;
    return 0;
}
