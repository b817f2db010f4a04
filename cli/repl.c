// repl.c - the interactive prompt: line editing and history (libedit when
// available), multi-line blocks, and CPython-style echo of expression
// results (the compiler's PARSE_SINGLE mode emits PRINT_EXPR, which calls
// sys.displayhook).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef EDDY_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

// The CLI frees what libedit allocates with the C library.
#define EDDY_ALLOW_MALLOC
#include "compile.h"
#include "repl.h"
#include "vm.h"

// The VM the Ctrl-C handler interrupts. The CLI runs one VM, so one slot
// suffices; the library itself keeps no such state.
static EddyVM *volatile interrupt_target;

static void on_sigint(int sig) {
    (void)sig;
    if (interrupt_target) interrupt_target->interrupt = 1;
}

// Read one line without its newline into a StrBuf-owned string; NULL at EOF.
static char *read_line(const char *prompt, char *fallback, size_t cap) {
#ifdef EDDY_HAVE_LIBEDIT
    (void)fallback;
    (void)cap;
    return readline(prompt);
#else
    fputs(prompt, stdout);
    fflush(stdout);
    if (!fgets(fallback, (int)cap, stdin)) return NULL;
    fallback[strcspn(fallback, "\n")] = '\0';
    return fallback;
#endif
}

static void release_line(char *line, char *fallback) {
#ifdef EDDY_HAVE_LIBEDIT
    if (line && line != fallback) {
        free(line); // allocated by libedit, not by the VM
    }
#else
    (void)line;
    (void)fallback;
#endif
}

// Is `src` a complete entry? 1 yes, 0 needs more lines, -1 a syntax error
// that more input cannot fix (compile_source will report it).
static int entry_state(const char *src, size_t len, bool last_line_blank) {
    Arena *arena = arena_new();
    if (!arena) return -1;
    SyntaxErrorInfo err;
    Module *m = parse_source(arena, src, len, PARSE_SINGLE, &err);
    int state;
    if (!m) {
        state = err.incomplete ? 0 : -1;
    } else if (m->body.len == 1 && !last_line_blank) {
        // A compound statement may still grow: wait for a blank line.
        switch (m->body.items[0]->kind) {
        case S_FUNCTIONDEF:
        case S_ASYNCFUNCTIONDEF:
        case S_CLASSDEF:
        case S_FOR:
        case S_ASYNCFOR:
        case S_WHILE:
        case S_IF:
        case S_WITH:
        case S_ASYNCWITH:
        case S_TRY:
        case S_TRYSTAR:
        case S_MATCH: state = 0; break;
        default: state = 1;
        }
    } else {
        state = 1;
    }
    arena_free(arena);
    return state;
}

static DictObject *main_namespace(EddyVM *vm) {
    Value m;
    if (dict_get(vm, vm->modules, v_obj(vm->names.__main__), &m) == 1)
        return ((ModuleObject *)AS_OBJ(m))->dict;
    ModuleObject *mod = module_new(vm, vm->names.__main__);
    if (!mod) return NULL;
    if (dict_set(vm, vm->modules, v_obj(vm->names.__main__), v_obj(mod)) < 0) return NULL;
    if (dict_set_str(vm, mod->dict, vm->names.__builtins__, v_obj(vm->builtins)) < 0) return NULL;
    return mod->dict;
}

// Report an exception escaping one entry; returns true when it was
// SystemExit (the REPL must end).
static bool report(EddyVM *vm) {
    Value exc = vm_err_fetch(vm);
    if (IS_NULL(exc)) return false;
    io_flush_std(vm);
    if (is_exception(vm, exc) && type_is_subtype(OBJ_TYPE(AS_OBJ(exc)), vm->exc_SystemExit)) {
        ExceptionObject *e = (ExceptionObject *)AS_OBJ(exc);
        Value code = e->args && e->args->len > 0 ? e->args->items[0] : VAL_NONE;
        vm->exit_code = IS_INT(code) ? (int)AS_INT(code) : IS_NONE(code) ? 0 : 1;
        return true;
    }
    vm_print_exception(vm, exc, stderr);
    fflush(stderr);
    return false;
}

int repl_run(EddyVM *vm) {
    printf("Eddy %s (Python 3.11 language) on linux\n"
           "Type \"help\", \"copyright\", \"credits\" or \"license\" for more information.\n",
           eddy_version());
    DictObject *ns = main_namespace(vm);
    if (!ns) {
        report(vm);
        return 1;
    }
    char history[4096] = "";
    const char *home = getenv("HOME");
    if (home) snprintf(history, sizeof history, "%s/.eddy_history", home);
#ifdef EDDY_HAVE_LIBEDIT
    if (history[0]) read_history(history);
#endif
    interrupt_target = vm;
    signal(SIGINT, on_sigint);

    StrBuf entry;
    strbuf_init(vm, &entry);
    char fallback[8192];
    bool done = false;
    while (!done) {
        char *line = read_line(entry.len ? "... " : ">>> ", fallback, sizeof fallback);
        if (!line) {
            putchar('\n');
            break;
        }
        if (vm->interrupt) { // Ctrl-C at the prompt discards the entry
            vm->interrupt = 0;
            entry.len = 0;
            release_line(line, fallback);
            continue;
        }
        bool blank = strspn(line, " \t") == strlen(line);
#ifdef EDDY_HAVE_LIBEDIT
        if (!blank) add_history(line);
#endif
        if (entry.len == 0 && blank) {
            release_line(line, fallback);
            continue;
        }
        if (!strbuf_append_cstr(&entry, line) || !strbuf_append_char(&entry, '\n')) {
            release_line(line, fallback);
            report(vm);
            break;
        }
        release_line(line, fallback);
        int state = entry_state(entry.data, entry.len, blank);
        if (state == 0) continue;

        Value code = compile_source(vm, entry.data, entry.len, "<stdin>", PARSE_SINGLE);
        entry.len = 0;
        if (IS_NULL(code)) {
            done = report(vm);
            continue;
        }
        if (vm_push_root(vm, code) < 0) {
            done = report(vm);
            continue;
        }
        Value r = vm_exec_code(vm, (CodeObject *)AS_OBJ(code), ns, ns);
        vm_pop_roots(vm, 1);
        vm->interrupt = 0;
        if (IS_NULL(r)) done = report(vm);
        io_flush_std(vm);
    }
    strbuf_discard(&entry);
#ifdef EDDY_HAVE_LIBEDIT
    if (history[0]) write_history(history);
#endif
    interrupt_target = NULL;
    return vm->exit_code;
}

int cli_disassemble(EddyVM *vm, const char *src, size_t len, const char *filename) {
    Value code = compile_source(vm, src, len, filename, PARSE_FILE);
    if (IS_NULL(code)) {
        report(vm);
        return 1;
    }
    code_disassemble(vm, (CodeObject *)AS_OBJ(code), stdout);
    return 0;
}
