// api.c - the only implementation of include/eddy.h.
//
// Public entry points translate between the host's world (C strings, status
// codes) and the VM's (values, pending exceptions). An exception escaping a
// run is reported here, CPython-style, and turned into a status code.
#include <string.h>

#include "compile.h"
#include "vm.h"

EDDY_API const char *eddy_version(void) { return EDDY_VERSION_STRING; }

EDDY_API EddyVM *eddy_vm_new(const EddyConfig *config) { return vm_new(config); }

EDDY_API void eddy_vm_free(EddyVM *vm) {
    if (!vm) return;
    // Generators still suspended in a try/with are closed, as CPython does at exit.
    gen_close_all(vm);
    io_flush_std(vm);
    vm_free(vm);
}

// The exit status SystemExit asks for; prints its message when it is not an
// int, as CPython does.
static int system_exit_status(EddyVM *vm, Value exc) {
    ExceptionObject *e = (ExceptionObject *)AS_OBJ(exc);
    Value code = VAL_NONE;
    if (e->args && e->args->len == 1)
        code = e->args->items[0];
    else if (e->args && e->args->len > 1)
        code = v_obj(e->args);
    if (IS_NONE(code)) return 0;
    if (IS_INT(code)) return (int)AS_INT(code);
    if (IS_BOOL(code)) return AS_BOOL(code);
    Value s = vm_str(vm, code);
    io_flush_std(vm);
    if (!IS_NULL(s)) fprintf(stderr, "%s\n", AS_STR(s)->data);
    vm_err_clear(vm);
    return 1;
}

// Turn the outcome of a run into a status, reporting an escaped exception.
static EddyStatus finish(EddyVM *vm, Value result) {
    if (!IS_NULL(result)) {
        io_flush_std(vm);
        return EDDY_OK;
    }
    Value exc = vm_err_fetch(vm);
    if (IS_NULL(exc)) return EDDY_ERROR;
    if (is_exception(vm, exc) && type_is_subtype(OBJ_TYPE(AS_OBJ(exc)), vm->exc_SystemExit)) {
        vm->exit_code = system_exit_status(vm, exc);
        io_flush_std(vm);
        return EDDY_EXIT;
    }
    io_flush_std(vm);
    vm_print_exception(vm, exc, stderr);
    fflush(stderr);
    return EDDY_ERROR;
}

// Between runs no script code is active and every live value is rooted, so
// this is a safe point: collect what an earlier run left (compiling the next
// one allocates without safe points, so a full heap must be emptied first).
static void between_runs(EddyVM *vm) {
    if (vm->gc_requested) gc_collect(vm);
}

EDDY_API EddyStatus eddy_run_string(EddyVM *vm, const char *source, const char *filename) {
    between_runs(vm);
    return finish(vm, vm_run_string(vm, source, filename ? filename : "<string>", "__main__"));
}

EDDY_API EddyStatus eddy_run_file(EddyVM *vm, const char *path) {
    between_runs(vm);
    return finish(vm, vm_run_file(vm, path, "__main__"));
}

// `eddy -m NAME`: find NAME.async (dots as directories) on sys.path and run
// it as __main__.
static Value run_module_as_main(EddyVM *vm, const char *name) {
    char rel[1024];
    size_t n = strlen(name);
    if (n == 0 || n + 7 > sizeof rel) return vm_raise(vm, vm->exc_ValueError, "Empty module name");
    for (size_t i = 0; i <= n; i++) rel[i] = name[i] == '.' ? '/' : name[i];
    memcpy(rel + n, ".async", 7);
    for (size_t i = 0; vm->path && i < vm->path->len; i++) {
        Value dir = vm->path->items[i];
        if (!is_str(vm, dir)) continue;
        char full[4096];
        const char *d = AS_STR(dir)->data;
        int len = snprintf(full, sizeof full, "%s%s%s", d, *d ? "/" : "", rel);
        if (len < 0 || (size_t)len >= sizeof full) continue;
        FILE *f = fopen(full, "rb");
        if (!f) continue;
        fclose(f);
        return vm_run_file(vm, full, "__main__");
    }
    return vm_raise(vm, vm->exc_ModuleNotFoundError, "No module named '%s'", name);
}

EDDY_API EddyStatus eddy_run_module(EddyVM *vm, const char *name) {
    between_runs(vm);
    return finish(vm, run_module_as_main(vm, name));
}

EDDY_API int eddy_exit_code(EddyVM *vm) { return vm->exit_code; }
