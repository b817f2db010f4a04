// mod_gc.c - the gc module: collect(), enable(), disable(), isenabled().
//
// Eddy has one precise mark-sweep collector and no reference counting, so
// the collector is what frees every object: gc.disable() only changes what
// gc.isenabled() answers (stopping the collector would let memory grow
// without bound, where CPython would still free acyclic garbage).
// gc.collect() is the place a script can rely on: garbage generators that
// were suspended in a try/with block are closed before it returns (their
// finally blocks run), as CPython closes them when they become unreachable.
#include "vm.h"

// How often collect() collects again while closing generators made more
// garbage (a closed generator releases the ones its frame referenced).
#define COLLECT_ROUNDS 8

static Value gc_collect_fn(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    static const char *const names[] = {"generation"};
    Value generation;
    if (args_parse(vm, "collect", args, nargs, kwnames, names, 1, 1, 0, &generation) < 0)
        return VAL_NULL;
    if (!IS_NULL(generation)) {
        int64_t n;
        if (!is_int(vm, generation))
            return vm_raise(vm, vm->exc_TypeError,
                            "'%T' object cannot be interpreted as an integer", generation);
        if (int_to_i64(vm, generation, &n) < 0 || n < 0 || n > 2) {
            vm_err_clear(vm);
            return vm_raise(vm, vm->exc_ValueError, "invalid generation");
        }
    }
    size_t before = vm->objects_len;
    // Called from a finally block that a collection's close() runs: the
    // generators found now are closed now too (nested), as in CPython.
    bool closing = vm->gen_closing;
    vm->gen_closing = false;
    for (int round = 0; round < COLLECT_ROUNDS; round++) {
        uint64_t closed = vm->gen_closed;
        gc_collect(vm);
        if (vm->gen_closed == closed) break;
    }
    vm->gen_closing = closing;
    // CPython answers how many unreachable objects it found; the number of
    // objects freed is the nearest thing here.
    return v_int(before > vm->objects_len ? (int64_t)(before - vm->objects_len) : 0);
}

static Value gc_enable(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    (void)args;
    if (args_no_kw(vm, "enable", kwnames) < 0 || args_count(vm, "enable", nargs, 0, 0) < 0)
        return VAL_NULL;
    vm->gc_disabled = false;
    return VAL_NONE;
}

static Value gc_disable(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    (void)args;
    if (args_no_kw(vm, "disable", kwnames) < 0 || args_count(vm, "disable", nargs, 0, 0) < 0)
        return VAL_NULL;
    vm->gc_disabled = true;
    return VAL_NONE;
}

static Value gc_isenabled(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    (void)args;
    if (args_no_kw(vm, "isenabled", kwnames) < 0 || args_count(vm, "isenabled", nargs, 0, 0) < 0)
        return VAL_NULL;
    return v_bool(!vm->gc_disabled);
}

int gc_module_init(EddyVM *vm, ModuleObject *m) {
    static const struct {
        const char *name;
        NativeFn fn;
    } fns[] = {
        {"collect", gc_collect_fn},
        {"enable", gc_enable},
        {"disable", gc_disable},
        {"isenabled", gc_isenabled},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (module_add_function(vm, m, fns[i].name, fns[i].fn) < 0) return -1;
    return 0;
}
