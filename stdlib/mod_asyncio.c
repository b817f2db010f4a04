// mod_asyncio.c - the native `_asyncio` module: the event loop's entry
// points, Future, Task and the asyncio exception types. The public
// `asyncio` module (stdlib/asyncio.async) builds on it.
#include <string.h>

#include "frame.h"
#include "loop.h"

// class NAME(BASE) with __module__ = "asyncio.exceptions".
static TypeObject *make_exception(EddyVM *vm, const char *name, TypeObject *base) {
    DictObject *ns = dict_new(vm);
    if (!ns || vm_push_root(vm, v_obj(ns)) < 0) return NULL;
    TypeObject *t = NULL;
    StrObject *mod = str_intern_cstr(vm, "asyncio.exceptions");
    Value b = v_obj(base);
    TupleObject *bases = tuple_from(vm, &b, 1);
    StrObject *n = str_intern_cstr(vm, name);
    if (mod && bases && n && dict_set_str(vm, ns, vm->names.__module__, v_obj(mod)) == 0)
        t = type_new_class(vm, vm->t_type, n, bases, ns);
    vm_pop_roots(vm, 1);
    return t;
}

static LoopObject *loop_arg(EddyVM *vm, Value v) {
    if (IS_NULL(v) || IS_NONE(v)) return loop_get_running(vm);
    if (IS_OBJ(v) && type_is_subtype(OBJ_TYPE(AS_OBJ(v)), vm->t_event_loop))
        return (LoopObject *)AS_OBJ(v);
    vm_raise(vm, vm->exc_TypeError, "an event loop was expected, got %R", v);
    return NULL;
}

static Value a_get_running_loop(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)args;
    if (args_no_kw(vm, "get_running_loop", kw) < 0 ||
        args_count(vm, "get_running_loop", nargs, 0, 0) < 0)
        return VAL_NULL;
    LoopObject *l = loop_get_running(vm);
    return l ? v_obj(l) : VAL_NULL;
}

static Value a__get_running_loop(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)args, (void)nargs, (void)kw;
    return vm->running_loop ? v_obj(vm->running_loop) : VAL_NONE;
}

static Value a_get_event_loop(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)args;
    if (args_no_kw(vm, "get_event_loop", kw) < 0 ||
        args_count(vm, "get_event_loop", nargs, 0, 0) < 0)
        return VAL_NULL;
    if (vm->running_loop) return v_obj(vm->running_loop);
    if (!IS_NULL(vm->event_loop)) return vm->event_loop;
    LoopObject *l = loop_new(vm, vm->t_event_loop);
    if (!l) return VAL_NULL;
    vm->event_loop = v_obj(l);
    return v_obj(l);
}

static Value a_new_event_loop(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)args;
    if (args_no_kw(vm, "new_event_loop", kw) < 0 ||
        args_count(vm, "new_event_loop", nargs, 0, 0) < 0)
        return VAL_NULL;
    LoopObject *l = loop_new(vm, vm->t_event_loop);
    return l ? v_obj(l) : VAL_NULL;
}

static Value a_set_event_loop(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "set_event_loop", kw) < 0 ||
        args_count(vm, "set_event_loop", nargs, 1, 1) < 0)
        return VAL_NULL;
    if (IS_NONE(args[0])) {
        vm->event_loop = VAL_NULL;
        return VAL_NONE;
    }
    if (!IS_OBJ(args[0]) || !type_is_subtype(OBJ_TYPE(AS_OBJ(args[0])), vm->t_event_loop))
        return vm_raise(vm, vm->exc_TypeError,
                        "loop must be an instance of AbstractEventLoop or None, not '%T'", args[0]);
    vm->event_loop = args[0];
    return VAL_NONE;
}

static Value a_current_task(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"loop"};
    Value a[1];
    if (args_parse(vm, "current_task", args, nargs, kw, names, 1, 1, 0, a) < 0) return VAL_NULL;
    LoopObject *loop = loop_arg(vm, a[0]);
    if (!loop) return VAL_NULL;
    Value t = vm->current_task;
    if (IS_NULL(t) || as_future(t)->loop != loop) return VAL_NONE;
    return t;
}

static Value a_all_tasks(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"loop"};
    Value a[1];
    if (args_parse(vm, "all_tasks", args, nargs, kw, names, 1, 1, 0, a) < 0) return VAL_NULL;
    LoopObject *loop = loop_arg(vm, a[0]);
    if (!loop) return VAL_NULL;
    Value s = set_new(vm, vm->t_set);
    if (IS_NULL(s) || vm_push_root(vm, s) < 0) return VAL_NULL;
    for (size_t i = 0; i < vm->tasks_len; i++) {
        TaskObject *t = vm->tasks[i];
        if (t->fut.loop != loop || t->fut.state != FUT_PENDING) continue;
        if (set_add(vm, s, v_obj(t)) < 0) {
            vm_pop_roots(vm, 1);
            return VAL_NULL;
        }
    }
    vm_pop_roots(vm, 1);
    return s;
}

static Value a_iscoroutine(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "iscoroutine", kw) < 0 || args_count(vm, "iscoroutine", nargs, 1, 1) < 0)
        return VAL_NULL;
    // CPython counts generators too (generator-based coroutines), and
    // anything implementing collections.abc.Coroutine.
    return v_bool(task_coro_ok(vm, args[0]));
}

static Value a_isfuture(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "isfuture", kw) < 0 || args_count(vm, "isfuture", nargs, 1, 1) < 0)
        return VAL_NULL;
    if (is_future(vm, args[0])) return VAL_TRUE;
    // Duck-typed futures: a class attribute _asyncio_future_blocking not None.
    Value v =
        type_lookup(vm, vm_type_of(vm, args[0]), str_intern_cstr(vm, "_asyncio_future_blocking"));
    return v_bool(!IS_NULL(v) && !IS_NONE(v));
}

// create_task(coro, *, name=None, context=None) on the running loop.
static Value a_create_task(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"coro", "name", "context"};
    Value a[3];
    if (args_parse(vm, "create_task", args, nargs, kw, names, 3, 1, 1, a) < 0) return VAL_NULL;
    LoopObject *loop = loop_get_running(vm);
    if (!loop) {
        // CPython closes the coroutine so it is not reported as never awaited.
        if (is_exact(a[0], vm->t_coroutine)) {
            Value exc = vm_err_fetch(vm);
            if (vm_push_root(vm, exc) < 0) return VAL_NULL;
            Value r = vm_call_method(vm, a[0], str_intern_cstr(vm, "close"), NULL, 0);
            vm_pop_roots(vm, 1);
            if (IS_NULL(r)) return VAL_NULL;
            vm->exc = exc;
        }
        return VAL_NULL;
    }
    return loop_create_task(vm, loop, a[0], a[1], a[2]);
}

// _identity_distinct(items): True when no two items are the same object
// and every item hashes and compares by identity (object's own slots), so a
// dict keyed by them would never find a duplicate. gather() then skips that
// dict: with 100k children it costs 8 MB. False sends it the general way.
static Value a_identity_distinct(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "_identity_distinct", kw) < 0 ||
        args_count(vm, "_identity_distinct", nargs, 1, 1) < 0)
        return VAL_NULL;
    if (!IS_OBJ(args[0]) || OBJ_TYPE(AS_OBJ(args[0])) != vm->t_tuple)
        return vm_raise(vm, vm->exc_TypeError, "_identity_distinct() needs a tuple");
    TupleObject *items = AS_TUPLE(args[0]);
    size_t n = items->len;
    TypeObject *base = vm->t_object;
    for (size_t i = 0; i < n; i++) {
        Value v = items->items[i];
        if (!IS_OBJ(v)) return VAL_FALSE;
        TypeObject *t = OBJ_TYPE(AS_OBJ(v));
        if (t->hash != base->hash || t->richcompare != base->richcompare) return VAL_FALSE;
    }
    if (n < 2) return VAL_TRUE;
    // An open-addressing set of the pointers, at most half full.
    size_t cap = 4;
    while (cap < 2 * n) cap *= 2;
    Obj **set = mem_alloc(vm, cap * sizeof(Obj *));
    if (!set) return VAL_NULL;
    memset(set, 0, cap * sizeof(Obj *));
    bool distinct = true;
    for (size_t i = 0; i < n && distinct; i++) {
        Obj *o = AS_OBJ(items->items[i]);
        size_t h = (size_t)(((uintptr_t)o >> 4) * UINT64_C(0x9E3779B97F4A7C15)) >> 20;
        for (size_t j = h & (cap - 1);; j = (j + 1) & (cap - 1)) {
            if (!set[j]) {
                set[j] = o;
                break;
            }
            if (set[j] == o) {
                distinct = false;
                break;
            }
        }
    }
    mem_free(vm, set, cap * sizeof(Obj *));
    return v_bool(distinct);
}

// _gather_results(children): the list of their results when every child is
// a plain Future or Task that finished with a result, else None (gather's
// general loop then asks each child). Its last callback gathers 100k results.
static Value a_gather_results(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "_gather_results", kw) < 0 ||
        args_count(vm, "_gather_results", nargs, 1, 1) < 0)
        return VAL_NULL;
    if (!is_exact(args[0], vm->t_list))
        return vm_raise(vm, vm->exc_TypeError, "_gather_results() needs a list");
    ListObject *children = AS_LIST(args[0]);
    size_t n = children->len;
    for (size_t i = 0; i < n; i++) {
        Value c = children->items[i];
        if (!is_exact(c, vm->t_future) && !is_exact(c, vm->t_task)) return VAL_NONE;
        FutureObject *f = as_future(c);
        if (f->state != FUT_FINISHED || f->failed) return VAL_NONE;
    }
    ListObject *results = list_new(vm, n);
    if (!results) return VAL_NULL;
    // (list_new made room; nothing above can have changed the children)
    for (size_t i = 0; i < n; i++) results->items[i] = as_future(children->items[i])->result;
    results->len = n;
    return v_obj(results);
}

int asyncio_core_init(EddyVM *vm, ModuleObject *m) {
    if (!vm->exc_CancelledError) {
        vm->exc_CancelledError = make_exception(vm, "CancelledError", vm->exc_BaseException);
        if (!vm->exc_CancelledError) return -1;
        vm->exc_InvalidStateError = make_exception(vm, "InvalidStateError", vm->exc_Exception);
        if (!vm->exc_InvalidStateError) return -1;
    }
    static const struct {
        const char *name;
        NativeFn fn;
    } fns[] = {
        {"get_running_loop", a_get_running_loop},
        {"_get_running_loop", a__get_running_loop},
        {"get_event_loop", a_get_event_loop},
        {"new_event_loop", a_new_event_loop},
        {"set_event_loop", a_set_event_loop},
        {"current_task", a_current_task},
        {"all_tasks", a_all_tasks},
        {"iscoroutine", a_iscoroutine},
        {"isfuture", a_isfuture},
        {"create_task", a_create_task},
        {"sleep", asyncio_sleep},
        {"_identity_distinct", a_identity_distinct},
        {"_gather_results", a_gather_results},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (module_add_function(vm, m, fns[i].name, fns[i].fn) < 0) return -1;
    if (module_add_value(vm, m, "Future", v_obj(vm->t_future)) < 0 ||
        module_add_value(vm, m, "Task", v_obj(vm->t_task)) < 0 ||
        module_add_value(vm, m, "Handle", v_obj(vm->t_handle)) < 0 ||
        module_add_value(vm, m, "TimerHandle", v_obj(vm->t_timer_handle)) < 0 ||
        module_add_value(vm, m, "_EventLoop", v_obj(vm->t_event_loop)) < 0 ||
        module_add_value(vm, m, "CancelledError", v_obj(vm->exc_CancelledError)) < 0 ||
        module_add_value(vm, m, "InvalidStateError", v_obj(vm->exc_InvalidStateError)) < 0)
        return -1;
    return 0;
}
