// compile.h - the compiler's entry points (compiler/compile.c).
//
// The compiler turns source text into code objects. It touches the VM only
// to allocate code objects and constants; it never runs script code, so no
// collection can happen while it works.
#ifndef EDDY_COMPILE_H
#define EDDY_COMPILE_H

#ifndef EDDY_BUILD_CORE
#error "compiler/compile.h is internal to the Eddy core"
#endif

#include "ast.h"
#include "vm.h"

// Parse and compile UTF-8 source. Returns the module's CodeObject (as a
// Value), or V_NULL with a SyntaxError (IndentationError, TabError) pending
// whose attributes msg, filename, lineno, offset, text, end_lineno and
// end_offset are set as CPython sets them. mode PARSE_SINGLE compiles one
// REPL entry (expression statements call sys.displayhook via PRINT_EXPR);
// PARSE_EVAL compiles an expression whose value the code returns.
Value compile_source(EddyVM *vm, const char *src, size_t len, const char *filename, ParseMode mode);

// Raise the SyntaxError described by info (shared by the parser and the
// compiler's own checks). src is used to fill in the `text` attribute.
Value compile_raise_syntax_error(EddyVM *vm, const SyntaxErrorInfo *info, const char *filename,
                                 const char *src, size_t len);

// Print a code object's bytecode (for tests and `eddy --dis`).
void code_disassemble(EddyVM *vm, CodeObject *code, FILE *out);

#endif
