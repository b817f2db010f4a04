// counting_alloc.h - a host allocator for the unit tests that keeps count of
// the live bytes, to check that freeing a VM returns every one of them.
// Include it once per test program (it defines static functions).
#ifndef EDDY_TEST_COUNTING_ALLOC_H
#define EDDY_TEST_COUNTING_ALLOC_H

#include <stdlib.h>

static size_t live_bytes;

static void *counting_alloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    (void)ud;
    live_bytes -= old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (p)
        live_bytes += new_size;
    else
        live_bytes += old_size;
    return p;
}

#endif
