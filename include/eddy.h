// eddy.h - the public embedding API of the Eddy runtime.
//
// An EddyVM is one isolated interpreter: its own heap, modules and event
// loop. Several VMs may live in one process; a VM must be used by one thread
// at a time. Nothing here exposes raw object pointers.
#ifndef EDDY_H
#define EDDY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define EDDY_API __declspec(dllexport)
#elif defined(__GNUC__)
#define EDDY_API __attribute__((visibility("default")))
#else
#define EDDY_API
#endif

#define EDDY_VERSION_MAJOR 0
#define EDDY_VERSION_MINOR 1
#define EDDY_VERSION_PATCH 0
#define EDDY_VERSION_STRING "0.1.0"

typedef struct EddyVM EddyVM;

// Allocation hook with realloc semantics: (ud, ptr, old_size, new_size).
// new_size 0 frees and returns NULL; otherwise returns the new block or NULL
// on failure. old_size is 0 for a fresh allocation. Blocks must be aligned
// as malloc's are (at least 16 bytes on 64-bit systems); the VM keeps tags
// in the low bits of object pointers.
typedef void *(*EddyAllocFn)(void *ud, void *ptr, size_t old_size, size_t new_size);

// Options for eddy_vm_new. Zero-initialise, then set what you need.
typedef struct EddyConfig {
    EddyAllocFn alloc; // NULL: the C library's allocator
    void *alloc_ud;
    size_t memory_limit;            // bytes; 0 = unlimited. Exceeding it raises MemoryError.
    const char *const *module_path; // NULL-terminated directories searched by import
    int argc;                       // sys.argv
    char **argv;
} EddyConfig;

// Status codes returned by the run functions.
typedef enum EddyStatus {
    EDDY_OK = 0,
    EDDY_ERROR = 1, // an exception escaped; it was printed to stderr
    EDDY_EXIT = 2,  // SystemExit was raised; see eddy_exit_code()
} EddyStatus;

// Create a VM. config may be NULL for defaults. Returns NULL when memory
// cannot be allocated.
EDDY_API EddyVM *eddy_vm_new(const EddyConfig *config);

// Destroy a VM and everything it owns. vm may be NULL.
EDDY_API void eddy_vm_free(EddyVM *vm);

// Compile and run source text as the __main__ module. filename is used in
// tracebacks. An uncaught exception is printed to stderr with its traceback.
EDDY_API EddyStatus eddy_run_string(EddyVM *vm, const char *source, const char *filename);

// Compile and run a file as the __main__ module.
EDDY_API EddyStatus eddy_run_file(EddyVM *vm, const char *path);

// Run module `name` found on the module path as __main__ (eddy -m).
EDDY_API EddyStatus eddy_run_module(EddyVM *vm, const char *name);

// The exit status requested by SystemExit after a run returned EDDY_EXIT.
EDDY_API int eddy_exit_code(EddyVM *vm);

// The version string, e.g. "0.1.0".
EDDY_API const char *eddy_version(void);

#ifdef __cplusplus
}
#endif

#endif
