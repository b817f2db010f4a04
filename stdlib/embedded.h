// embedded.h - modules written in Eddy (stdlib/*.async), compiled into the
// binary by tools/embed_stdlib.sh so that they import from any directory.
#ifndef EDDY_EMBEDDED_H
#define EDDY_EMBEDDED_H

#ifndef EDDY_BUILD_CORE
#error "embedded.h is internal to the Eddy core"
#endif

#include <stddef.h>

typedef struct EmbeddedModule {
    const char *name;   // module name: "contextlib"
    const char *source; // UTF-8 source text, NUL-terminated
    size_t length;      // bytes in source, without the NUL
} EmbeddedModule;

// Terminated by an entry whose name is NULL.
extern const EmbeddedModule embedded_modules[];

#endif
