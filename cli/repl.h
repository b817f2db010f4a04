// repl.h - the interactive prompt and developer tools of the eddy executable.
#ifndef EDDY_CLI_REPL_H
#define EDDY_CLI_REPL_H

#include <stddef.h>

#include "eddy.h"

// Run the read-eval-print loop on the terminal until EOF or exit().
// Returns the process exit status.
int repl_run(EddyVM *vm);

// Compile source and print its bytecode (eddy --dis). Returns the exit status.
int cli_disassemble(EddyVM *vm, const char *src, size_t len, const char *filename);

#endif
