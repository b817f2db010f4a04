// host_basic.c - a host program embedding Eddy through the public API only,
// linked against the shared library (so it also checks what is exported).
// Prints one line per check; the test passes when every check does.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eddy.h"

static int failures, passes;

static void check(const char *what, int ok) {
    printf("%s %s\n", ok ? "PASS" : "FAIL", what);
    if (ok)
        passes++;
    else
        failures++;
}

int main(void) {
    EddyVM *vm = eddy_vm_new(NULL);
    check("vm created", vm != NULL);
    if (!vm) return 1;

    check("run ok", eddy_run_string(vm,
                                    "total = sum([n * n for n in range(10)])\n"
                                    "assert total == 285\n",
                                    "<host>") == EDDY_OK);
    // State persists between runs in the same VM's __main__.
    check("state kept", eddy_run_string(vm, "assert total == 285\n", "<host>") == EDDY_OK);
    check("error reported",
          eddy_run_string(vm, "raise ValueError('from the script')\n", "<host>") == EDDY_ERROR);
    check("usable after error", eddy_run_string(vm, "x = 1\n", "<host>") == EDDY_OK);
    check("syntax error", eddy_run_string(vm, "def (:\n", "<host>") == EDDY_ERROR);
    check("exit status", eddy_run_string(vm, "import sys\nsys.exit(4)\n", "<host>") == EDDY_EXIT &&
                             eddy_exit_code(vm) == 4);
    eddy_vm_free(vm);

    // A memory limit turns runaway allocation into MemoryError.
    EddyConfig config;
    memset(&config, 0, sizeof config);
    config.memory_limit = 16u << 20;
    vm = eddy_vm_new(&config);
    check("limited vm", vm != NULL);
    if (vm) {
        check("memory limit",
              eddy_run_string(vm,
                              "try:\n    big = 'x' * (1 << 30)\nexcept MemoryError:\n"
                              "    big = None\nassert big is None\n",
                              "<host>") == EDDY_OK);
        eddy_vm_free(vm);
    }
    check("version", strcmp(eddy_version(), EDDY_VERSION_STRING) == 0);
    printf("%d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
