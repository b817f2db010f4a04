// vm.c - creating and destroying a VM: the bootstrap order of the core.
//
// Types refer to strings (their names) and strings to their type, so the
// bootstrap first allocates every builtin TypeObject blank, then interns the
// names, then lets each type's own file fill its types in, and finally
// readies them all (MRO, slot inheritance) in types.def order.
#include <stdlib.h>
#include <string.h>

#include "vm.h"

static const char *const type_names[] = {
#define TYPE(field, pyname) pyname,
#include "types.def"
#undef TYPE
};

static TypeObject **type_field(EddyVM *vm, size_t i) {
    TypeObject **fields[] = {
#define TYPE(field, pyname) &vm->field,
#include "types.def"
#undef TYPE
    };
    return fields[i];
}

#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

static int alloc_blank_types(EddyVM *vm) {
    for (size_t i = 0; i < NTYPES; i++) {
        TypeObject *t = (TypeObject *)obj_alloc(vm, NULL, sizeof(TypeObject));
        if (!t) return -1;
        t->hdr.gc_pinned = 1;
        *type_field(vm, i) = t;
    }
    for (size_t i = 0; i < NTYPES; i++) (*type_field(vm, i))->hdr.type = vm->t_type;
    return 0;
}

static int intern_names(EddyVM *vm) {
#define NAME(field, text)                                                                          \
    if (!(vm->names.field = str_intern_cstr(vm, text))) return -1;
#include "names.def"
#undef NAME
    for (size_t i = 0; i < NTYPES; i++) {
        TypeObject *t = *type_field(vm, i);
        if (!(t->name = str_intern_cstr(vm, type_names[i]))) return -1;
        t->qualname = t->name;
        t->module = vm->names.builtins;
    }
    return 0;
}

static int init_types(EddyVM *vm) {
    int (*const inits[])(EddyVM *) = {
        object_init_types,   func_init_types,  code_init_type,   int_init_types,  float_init_type,
        str_init_types,      bytes_init_types, tuple_init_types, list_init_types, dict_init_types,
        set_init_types,      range_init_types, slice_init_type,  iter_init_types, module_init_type,
        traceback_init_type, io_init_types,    gen_init_types,   loop_init_types, future_init_types,
    };
    for (size_t i = 0; i < sizeof(inits) / sizeof(inits[0]); i++)
        if (inits[i](vm) < 0) return -1;
    for (size_t i = 0; i < NTYPES; i++)
        if (type_ready(vm, *type_field(vm, i)) < 0) return -1;
    return 0;
}

EddyVM *vm_new(const EddyConfig *config) {
    EddyAllocFn alloc = config && config->alloc ? config->alloc : mem_default_alloc;
    void *ud = config ? config->alloc_ud : NULL;
    EddyVM *vm = alloc(ud, NULL, 0, sizeof(EddyVM));
    if (!vm) return NULL;
    memset(vm, 0, sizeof *vm);
    vm->alloc_fn = alloc;
    vm->alloc_ud = ud;
    if (config) vm->config = *config;
    vm->mem_limit = vm->config.memory_limit;
    vm->gc_threshold = (size_t)8 << 20;
    vm->recursion_limit = 1000;
    vm->argc = vm->config.argc;
    vm->argv = vm->config.argv;
    vm->exc = VAL_NULL;
    vm->handled_exc = VAL_NULL;
    vm->memory_error = VAL_NULL;
    vm->repr_stack = VAL_NULL;
    vm->event_loop = VAL_NULL;
    vm->current_task = VAL_NULL;

    // Nothing below may collect: collections happen only at safe points of
    // running bytecode, and no bytecode runs until import_init.
    if (alloc_blank_types(vm) < 0 || intern_names(vm) < 0 || init_types(vm) < 0 ||
        exc_init_types(vm) < 0 || interp_init(vm) < 0 || import_init(vm) < 0) {
        vm_free(vm);
        return NULL;
    }
#ifdef EDDY_TESTING
    // EDDY_GC_STRESS=1 collects at every safe point, to flush out missing roots.
    const char *stress = getenv("EDDY_GC_STRESS");
    if (stress && *stress && strcmp(stress, "0") != 0) vm->gc_stress = true;
#endif
    return vm;
}

void vm_free(EddyVM *vm) {
    if (!vm) return;
    interp_free(vm);
    loop_free_all(vm);
    gc_free_all(vm);
    gen_free_pending(vm);
    if (vm->intern) mem_free(vm, vm->intern, vm->intern_cap * sizeof(StrObject *));
    if (vm->roots) mem_free(vm, vm->roots, vm->roots_cap * sizeof(Value));
    mem_release_pools(vm);
    EddyAllocFn alloc = vm->alloc_fn;
    void *ud = vm->alloc_ud;
    alloc(ud, vm, sizeof(EddyVM), 0);
}
