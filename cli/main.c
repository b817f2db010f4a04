// main.c - the `eddy` executable: run a script, a -c string, a -m module,
// or start the REPL.
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eddy.h"
#include "repl.h"

static void usage(FILE *out) {
    fputs("usage: eddy [option] ... [-c cmd | -m mod | file | -] [arg] ...\n"
          "Options:\n"
          "  -c cmd     program passed in as string (terminates option list)\n"
          "  -m mod     run library module as a script (terminates option list)\n"
          "  --dis      print the bytecode of the program instead of running it\n"
          "  -h, --help print this help message and exit\n"
          "  -V, --version  print the Eddy version number and exit\n"
          "  file       program read from script file (.async)\n"
          "  -          program read from stdin (default; interactive mode if a tty)\n"
          "  arg ...    arguments passed to program in sys.argv[1:]\n"
          "Environment:\n"
          "  EDDY_PATH  ':'-separated directories prefixed to the module search path\n",
          out);
}

// Read all of a stream into a NUL-terminated heap buffer.
static char *read_all(FILE *f, size_t *len_out) {
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                return NULL;
            }
            buf = b;
            cap *= 2;
        }
    }
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

static int status_to_exit(EddyVM *vm, EddyStatus st) {
    switch (st) {
    case EDDY_OK: return 0;
    case EDDY_EXIT: return eddy_exit_code(vm);
    default: return 1;
    }
}

int main(int argc, char **argv) {
    int i = 1;
    bool dis = false;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            printf("Eddy %s\n", eddy_version());
            return 0;
        }
        if (!strcmp(a, "--dis")) {
            dis = true;
            continue;
        }
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] == '-' && a[1] != '\0' && strcmp(a, "-c") != 0 && strcmp(a, "-m") != 0) {
            fprintf(stderr, "eddy: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        break;
    }

    const char *mode = i < argc ? argv[i] : NULL;
    bool is_c = mode && !strcmp(mode, "-c");
    bool is_m = mode && !strcmp(mode, "-m");
    if ((is_c || is_m) && i + 1 >= argc) {
        fprintf(stderr, "Argument expected for the %s option\n", mode);
        usage(stderr);
        return 2;
    }

    // sys.argv, as CPython builds it: ['-c', args...], [module, args...],
    // [script, args...], or [''] for the REPL and stdin.
    int nargs = argc - i;
    char **sys_argv = calloc((size_t)(nargs > 0 ? nargs : 1) + 1, sizeof(char *));
    if (!sys_argv) return 1;
    int sys_argc = 0;
    if (is_c || is_m) {
        sys_argv[sys_argc++] = is_c ? "-c" : argv[i + 1];
        for (int k = i + 2; k < argc; k++) sys_argv[sys_argc++] = argv[k];
    } else if (mode) {
        for (int k = i; k < argc; k++) sys_argv[sys_argc++] = argv[k];
    } else {
        sys_argv[sys_argc++] = "";
    }
    EddyConfig config = {0};
    config.argc = sys_argc;
    config.argv = sys_argv;

    EddyVM *vm = eddy_vm_new(&config);
    if (!vm) {
        fputs("eddy: out of memory while starting the VM\n", stderr);
        free(sys_argv);
        return 1;
    }
    int code;
    if (is_c) {
        code = dis ? cli_disassemble(vm, argv[i + 1], strlen(argv[i + 1]), "<string>")
                   : status_to_exit(vm, eddy_run_string(vm, argv[i + 1], "<string>"));
    } else if (is_m) {
        code = status_to_exit(vm, eddy_run_module(vm, argv[i + 1]));
    } else if (mode && strcmp(mode, "-") != 0 && !dis) {
        FILE *probe = fopen(mode, "rb");
        if (!probe) { // as CPython: a message and status 2, no traceback
            fprintf(stderr, "eddy: can't open file '%s': [Errno %d] %s\n", mode, errno,
                    strerror(errno));
            code = 2;
        } else {
            fclose(probe);
            code = status_to_exit(vm, eddy_run_file(vm, mode));
        }
    } else if (!mode && !dis && isatty(0)) {
        code = repl_run(vm);
    } else {
        FILE *f = mode && strcmp(mode, "-") != 0 ? fopen(mode, "rb") : stdin;
        size_t len = 0;
        char *src = f ? read_all(f, &len) : NULL;
        if (f && f != stdin) fclose(f);
        if (!src) {
            fprintf(stderr, "eddy: can't open file '%s'\n", mode ? mode : "<stdin>");
            code = 2;
        } else {
            const char *name = mode && strcmp(mode, "-") != 0 ? mode : "<stdin>";
            code = dis ? cli_disassemble(vm, src, len, name)
                       : status_to_exit(vm, eddy_run_string(vm, src, name));
            free(src);
        }
    }
    eddy_vm_free(vm);
    free(sys_argv);
    return code;
}
