// mem.c - the one allocator everything in the core goes through.
//
// Every byte is counted in vm->bytes_allocated so the host's memory limit
// can be enforced (MemoryError instead of a crash) and the collector knows
// when to run. The host may supply its own realloc-like hook.
//
// Small blocks (up to POOL_MAX bytes) come from per-size-class free lists
// carved out of 64 KiB pages obtained from the host hook: most objects are
// small and short-lived, and a free list pop is far cheaper than malloc.
// Callers always pass the block's size to mem_free/mem_realloc, which is
// how a block finds its class without a header. Sanitizer builds bypass
// the pools so AddressSanitizer sees every block, and check that size.
#include <stdlib.h>
#include <string.h>

// The same test as vm.h's, needed here before the system headers.
#if defined(__SANITIZE_ADDRESS__)
#define EDDY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EDDY_ASAN 1
#endif
#endif

#ifdef EDDY_ASAN
// GCC does not ship this header (libasan still exports the functions).
#if defined(__has_include) && __has_include(<sanitizer/allocator_interface.h>)
#include <sanitizer/allocator_interface.h>
#else
int __sanitizer_get_ownership(const volatile void *p);
size_t __sanitizer_get_allocated_size(const volatile void *p);
#endif
#define USE_POOLS 0
#else
#define USE_POOLS 1
#endif

#define EDDY_ALLOW_MALLOC
#include "vm.h"

#define POOL_PAGE ((size_t)64 << 10)

typedef struct PoolPage {
    struct PoolPage *next;
    // blocks follow, aligned to 16 bytes
} PoolPage;

#define PAGE_HEADER ((sizeof(PoolPage) + POOL_GRAIN - 1) & ~(size_t)(POOL_GRAIN - 1))

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

static inline size_t class_of(size_t size) { return (size + POOL_GRAIN - 1) / POOL_GRAIN - 1; }
static inline size_t class_size(size_t cls) { return (cls + 1) * POOL_GRAIN; }

// A block of class `cls` from its free list or the current page.
static void *pool_take(EddyVM *vm, size_t cls) {
    FreeBlock *b = vm->pool_free[cls];
    if (b) {
        vm->pool_free[cls] = b->next;
        __builtin_prefetch(b->skip, 1);
        return b;
    }
    size_t need = class_size(cls);
    if ((size_t)(vm->pool_end - vm->pool_bump) < need) {
        // Hand the rest of the current page to the free lists, then start
        // a new page.
        while ((size_t)(vm->pool_end - vm->pool_bump) >= POOL_GRAIN) {
            size_t rest = (size_t)(vm->pool_end - vm->pool_bump);
            size_t c = rest / POOL_GRAIN - 1;
            if (c >= POOL_CLASSES) c = POOL_CLASSES - 1;
            pool_push(vm, c, vm->pool_bump);
            vm->pool_bump += class_size(c);
        }
        PoolPage *page = vm->alloc_fn(vm->alloc_ud, NULL, 0, POOL_PAGE);
        if (!page) return NULL;
        page->next = vm->pool_pages;
        vm->pool_pages = page;
        vm->pool_bump = (char *)page + PAGE_HEADER;
        vm->pool_end = (char *)page + POOL_PAGE;
    }
    void *p = vm->pool_bump;
    vm->pool_bump += need;
    return p;
}

static inline bool pooled(size_t size) { return USE_POOLS && size <= POOL_MAX; }

void *mem_alloc_raw(EddyVM *vm, size_t size) {
    if (size == 0) size = 1;
    if (pooled(size)) {
        size_t cls = class_of(size);
        if (refuse(vm, class_size(cls))) return NULL;
        void *p = pool_take(vm, cls);
        if (p) account(vm, 0, class_size(cls));
        return p;
    }
    if (refuse(vm, size)) return NULL;
    void *p = vm->alloc_fn(vm->alloc_ud, NULL, 0, size);
    if (p) account(vm, 0, size);
    return p;
}

void mem_free_raw(EddyVM *vm, void *p, size_t size) {
    if (!p) return;
    if (size == 0) size = 1;
    if (pooled(size)) {
        size_t cls = class_of(size);
        pool_push(vm, cls, p);
        vm->bytes_allocated -= class_size(cls);
        return;
    }
#ifdef EDDY_ASAN
    // Every caller must free with the size it allocated: the pools depend on it.
    if (__sanitizer_get_ownership(p) && __sanitizer_get_allocated_size(p) != size) abort();
#endif
    vm->alloc_fn(vm->alloc_ud, p, size, 0);
    vm->bytes_allocated -= size;
}

void *mem_alloc_slow(EddyVM *vm, size_t size) {
    void *p = mem_alloc_raw(vm, size);
    if (!p) vm_raise_nomem(vm);
    return p;
}

void *mem_alloc(EddyVM *vm, size_t size) { return mem_alloc_fast(vm, size); }

void *mem_realloc(EddyVM *vm, void *p, size_t old_size, size_t new_size) {
    if (!p) return mem_alloc(vm, new_size);
    if (old_size == 0) old_size = 1;
    if (new_size == 0) new_size = 1;
    if (pooled(old_size) || pooled(new_size)) {
        if (pooled(old_size) && pooled(new_size) && class_of(old_size) == class_of(new_size))
            return p;
        void *q = mem_alloc(vm, new_size);
        if (!q) return NULL;
        memcpy(q, p, old_size < new_size ? old_size : new_size);
        mem_free_raw(vm, p, old_size);
        return q;
    }
#ifdef EDDY_ASAN
    if (__sanitizer_get_ownership(p) && __sanitizer_get_allocated_size(p) != old_size) abort();
#endif
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

void mem_free_slow(EddyVM *vm, void *p, size_t size) { mem_free_raw(vm, p, size); }

void mem_free(EddyVM *vm, void *p, size_t size) { mem_free_fast(vm, p, size); }

// Return every pool page to the host (VM teardown, after all objects died).
void mem_release_pools(EddyVM *vm) {
    PoolPage *page = vm->pool_pages;
    while (page) {
        PoolPage *next = page->next;
        vm->alloc_fn(vm->alloc_ud, page, POOL_PAGE, 0);
        page = next;
    }
    vm->pool_pages = NULL;
    vm->pool_bump = vm->pool_end = NULL;
    memset(vm->pool_free, 0, sizeof vm->pool_free);
}
