// mem.c - the one allocator everything in the core goes through.
//
// Every byte is counted in vm->bytes_allocated so the host's memory limit
// can be enforced (MemoryError instead of a crash) and the collector knows
// when to run. The host may supply its own realloc-like hook.
#include <stdlib.h>
#include <string.h>

#define EDDY_ALLOW_MALLOC
#include "vm.h"

// The default hook: the C library's allocator.
void *mem_default_alloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    (void)ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, new_size);
}

// Would an allocation growing the heap by `grow` bytes break the limit or a
// test's injected failure?
static bool refuse(EddyVM *vm, size_t grow) {
    if (vm->mem_limit && grow > 0 && vm->bytes_allocated + grow > vm->mem_limit) return true;
#ifdef EDDY_TESTING
    vm->alloc_count++;
    if (vm->fail_alloc_at && vm->alloc_count == vm->fail_alloc_at) return true;
#endif
    return false;
}

static void account(EddyVM *vm, size_t old_size, size_t new_size) {
    vm->bytes_allocated += new_size;
    vm->bytes_allocated -= old_size;
    if (vm->bytes_allocated > vm->gc_threshold) vm->gc_requested = true;
}

void *mem_alloc_raw(EddyVM *vm, size_t size) {
    if (size == 0) size = 1;
    if (refuse(vm, size)) return NULL;
    void *p = vm->alloc_fn(vm->alloc_ud, NULL, 0, size);
    if (p) account(vm, 0, size);
    return p;
}

void mem_free_raw(EddyVM *vm, void *p, size_t size) {
    if (!p) return;
    if (size == 0) size = 1;
    vm->alloc_fn(vm->alloc_ud, p, size, 0);
    vm->bytes_allocated -= size;
}

void *mem_alloc(EddyVM *vm, size_t size) {
    void *p = mem_alloc_raw(vm, size);
    if (!p) vm_raise_nomem(vm);
    return p;
}

void *mem_realloc(EddyVM *vm, void *p, size_t old_size, size_t new_size) {
    if (!p) return mem_alloc(vm, new_size);
    if (old_size == 0) old_size = 1;
    if (new_size == 0) new_size = 1;
    if (new_size > old_size && refuse(vm, new_size - old_size)) {
        vm_raise_nomem(vm);
        return NULL;
    }
    void *q = vm->alloc_fn(vm->alloc_ud, p, old_size, new_size);
    if (!q) {
        vm_raise_nomem(vm);
        return NULL;
    }
    account(vm, old_size, new_size);
    return q;
}

void mem_free(EddyVM *vm, void *p, size_t size) { mem_free_raw(vm, p, size); }
