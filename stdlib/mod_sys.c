// mod_sys.c - the sys module.
//
// Created eagerly by import_init(). sys.path starts with the script's
// directory (from argv[0]; "" for the REPL and -c), then the EDDY_PATH
// entries, then the host's EddyConfig.module_path. sys.stdout / stderr /
// stdin are native text files (mod_io.c) over fds 1 / 2 / 0, also kept as
// sys.__stdout__ etc. so io_flush_std() can always find them.
#include <float.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"

// A module used as a simple attribute namespace (sys.implementation,
// sys.float_info, sys.flags).
static ModuleObject *namespace_new(EddyVM *vm, const char *name) {
    StrObject *n = str_from_cstr(vm, name);
    return n ? module_new(vm, n) : NULL;
}

static Value sys_exit(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "exit", kwnames) < 0 || args_count(vm, "exit", nargs, 0, 1) < 0)
        return VAL_NULL;
    TupleObject *t = nargs ? tuple_from(vm, args, 1) : vm->empty_tuple;
    if (!t) return VAL_NULL;
    Value exc = exc_new(vm, vm->exc_SystemExit, t);
    if (IS_NULL(exc)) return VAL_NULL;
    return vm_raise_value(vm, exc);
}

static Value sys_getrecursionlimit(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "getrecursionlimit", nargs, 0, 0) < 0) return VAL_NULL;
    return v_int(vm->recursion_limit);
}

static Value sys_get_coroutine_origin_tracking_depth(EddyVM *vm, Value *args, int nargs,
                                                     TupleObject *kwnames) {
    (void)args;
    if (args_no_kw(vm, "sys.get_coroutine_origin_tracking_depth", kwnames) < 0) return VAL_NULL;
    if (nargs)
        return vm_raise(vm, vm->exc_TypeError,
                        "sys.get_coroutine_origin_tracking_depth() takes no arguments (%d given)",
                        nargs);
    return v_int(vm->coro_origin_depth);
}

// How many frames each new coroutine records as cr_origin (vm/obj_gen.c).
static Value sys_set_coroutine_origin_tracking_depth(EddyVM *vm, Value *args, int nargs,
                                                     TupleObject *kwnames) {
    static const char *const names[] = {"depth"};
    Value a[1];
    if (args_parse(vm, "set_coroutine_origin_tracking_depth", args, nargs, kwnames, names, 1, 1, 1,
                   a) < 0)
        return VAL_NULL;
    if (IS_FLOAT(a[0]))
        return vm_raise(vm, vm->exc_TypeError,
                        "'float' object cannot be interpreted as an integer");
    int64_t n;
    if (vm_index_i64(vm, a[0], &n) < 0) {
        if (vm_err_matches(vm, vm->exc_OverflowError) || vm_err_matches(vm, vm->exc_IndexError)) {
            vm_err_clear(vm);
            return vm_raise(vm, vm->exc_OverflowError, "Python int too large to convert to C int");
        }
        return VAL_NULL;
    }
    if (n > INT_MAX || n < INT_MIN)
        return vm_raise(vm, vm->exc_OverflowError, "Python int too large to convert to C int");
    if (n < 0) return vm_raise(vm, vm->exc_ValueError, "depth must be >= 0");
    vm->coro_origin_depth = (uint32_t)n;
    return VAL_NONE;
}

static Value sys_setrecursionlimit(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "setrecursionlimit", kwnames) < 0 ||
        args_count(vm, "setrecursionlimit", nargs, 1, 1) < 0)
        return VAL_NULL;
    if (IS_FLOAT(args[0]))
        return vm_raise(vm, vm->exc_TypeError,
                        "'float' object cannot be interpreted as an integer");
    int64_t n;
    if (vm_index_i64(vm, args[0], &n) < 0) {
        if (vm_err_matches(vm, vm->exc_OverflowError) || vm_err_matches(vm, vm->exc_IndexError)) {
            vm_err_clear(vm);
            return vm_raise(vm, vm->exc_OverflowError, "Python int too large to convert to C int");
        }
        return VAL_NULL;
    }
    if (n > INT_MAX)
        return vm_raise(vm, vm->exc_OverflowError, "Python int too large to convert to C int");
    if (n < 1)
        return vm_raise(vm, vm->exc_ValueError, "recursion limit must be greater or equal than 1");
    vm->recursion_limit = (uint32_t)n;
    return VAL_NONE;
}

static Value sys_exc_info(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "exc_info", nargs, 0, 0) < 0) return VAL_NULL;
    Value items[3] = {VAL_NONE, VAL_NONE, VAL_NONE};
    Value e = vm->handled_exc;
    if (!IS_NULL(e) && !IS_NONE(e)) {
        items[0] = v_obj(vm_type_of(vm, e));
        items[1] = e;
        if (is_exception(vm, e)) items[2] = ((ExceptionObject *)AS_OBJ(e))->traceback;
        if (IS_NULL(items[2])) items[2] = VAL_NONE;
    }
    TupleObject *t = tuple_from(vm, items, 3);
    return t ? v_obj(t) : VAL_NULL;
}

static Value sys_intern(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "intern", nargs, 1, 1) < 0) return VAL_NULL;
    if (!is_exact(args[0], vm->t_str))
        return vm_raise(vm, vm->exc_TypeError, "intern() argument must be str, not %T", args[0]);
    StrObject *s = str_intern_obj(vm, AS_STR(args[0]));
    return s ? v_obj(s) : VAL_NULL;
}

// sys.displayhook(value): the REPL's echo of expression statements.
static Value sys_displayhook(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "displayhook", nargs, 1, 1) < 0) return VAL_NULL;
    Value v = args[0];
    if (IS_NONE(v)) return VAL_NONE;
    StrObject *underscore = str_intern_cstr(vm, "_");
    if (!underscore || dict_set_str(vm, vm->builtins_dict, underscore, VAL_NONE) < 0)
        return VAL_NULL;
    Value r = vm_repr(vm, v);
    if (IS_NULL(r)) return VAL_NULL;
    StrObject *line = str_concat(vm, AS_STR(r), str_intern_cstr(vm, "\n"));
    if (!line || vm_write_stdout(vm, line) < 0) return VAL_NULL;
    if (dict_set_str(vm, vm->builtins_dict, underscore, v) < 0) return VAL_NULL;
    return VAL_NONE;
}

// sys.excepthook(type, value, traceback): print to stderr, CPython style.
static Value sys_excepthook(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "excepthook", nargs, 3, 3) < 0) return VAL_NULL;
    io_flush_std(vm);
    vm_print_exception(vm, args[1], stderr);
    fflush(stderr);
    return VAL_NONE;
}

static Value sys_getdefaultencoding(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "getdefaultencoding", nargs, 0, 0) < 0) return VAL_NULL;
    StrObject *s = str_intern_cstr(vm, "utf-8");
    return s ? v_obj(s) : VAL_NULL;
}

static Value sys_getrefcount(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "getrefcount", nargs, 1, 1) < 0) return VAL_NULL;
    return v_int(2); // no reference counts in a tracing collector
}

static Value sys_getsizeof(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "getsizeof", nargs, 1, 2) < 0) return VAL_NULL;
    if (!IS_OBJ(args[0])) return v_int((int64_t)sizeof(Value));
    return v_int(AS_OBJ(args[0])->size);
}

int vm_write_stdout(EddyVM *vm, StrObject *s) {
    Value out = vm->sys ? dict_get_str(vm->sys->dict, vm->names.stdout) : VAL_NULL;
    if (IS_NULL(out) || IS_NONE(out)) return 0; // CPython: print() to a missing stdout is a no-op
    int r = io_write_text(vm, out, s->data, s->len);
    if (r != 0) return r < 0 ? -1 : 0;
    Value arg = v_obj(s);
    Value m = vm_getattr(vm, out, vm->names.write);
    if (IS_NULL(m)) return -1;
    if (vm_push_root(vm, m) < 0) return -1;
    Value res = vm_call(vm, m, &arg, 1, NULL);
    vm_pop_roots(vm, 1);
    return IS_NULL(res) ? -1 : 0;
}

static int add_str(EddyVM *vm, ModuleObject *m, const char *name, const char *value) {
    StrObject *s = str_decode_utf8(vm, value, strlen(value));
    if (!s) {
        // Bad UTF-8 from the environment: keep it as replacement-free ASCII.
        vm_err_clear(vm);
        s = str_from_cstr(vm, "?");
        if (!s) return -1;
    }
    return module_add_value(vm, m, name, v_obj(s));
}

static int append_path(EddyVM *vm, ListObject *path, const char *dir, size_t len) {
    StrObject *s = str_decode_utf8(vm, dir, len);
    if (!s) {
        vm_err_clear(vm);
        return 0;
    }
    return list_append(vm, path, v_obj(s));
}

static int init_path(EddyVM *vm, ModuleObject *m) {
    ListObject *path = list_new(vm, 4);
    if (!path) return -1;
    vm->path = path;
    // The script's directory (absolute), or "" for the REPL / -c / -m.
    const char *script = vm->argc > 0 && vm->argv ? vm->argv[0] : NULL;
    char resolved[PATH_MAX];
    bool done = false;
    if (script && script[0] && strcmp(script, "-c") != 0 && strcmp(script, "-m") != 0 &&
        realpath(script, resolved)) {
        char *slash = strrchr(resolved, '/');
        if (slash) {
            size_t n = slash == resolved ? 1 : (size_t)(slash - resolved);
            if (append_path(vm, path, resolved, n) < 0) return -1;
            done = true;
        }
    }
    if (!done && append_path(vm, path, "", 0) < 0) return -1;
    const char *env = getenv("EDDY_PATH");
    if (env && *env) {
        const char *p = env;
        for (;;) {
            const char *colon = strchr(p, ':');
            size_t n = colon ? (size_t)(colon - p) : strlen(p);
            if (n > 0 && append_path(vm, path, p, n) < 0) return -1;
            if (!colon) break;
            p = colon + 1;
        }
    }
    if (vm->config.module_path) {
        for (const char *const *d = vm->config.module_path; *d; d++)
            if (append_path(vm, path, *d, strlen(*d)) < 0) return -1;
    }
    return module_add_value(vm, m, "path", v_obj(path));
}

static int init_streams(EddyVM *vm, ModuleObject *m) {
    static const struct {
        int fd;
        const char *name, *mode, *attr, *dunder;
    } streams[] = {
        {0, "<stdin>", "r", "stdin", "__stdin__"},
        {1, "<stdout>", "w", "stdout", "__stdout__"},
        {2, "<stderr>", "w", "stderr", "__stderr__"},
    };
    for (int i = 0; i < 3; i++) {
        Value f = io_open_fd(vm, streams[i].fd, streams[i].name, streams[i].mode);
        if (IS_NULL(f)) return -1;
        if (module_add_value(vm, m, streams[i].attr, f) < 0 ||
            module_add_value(vm, m, streams[i].dunder, f) < 0)
            return -1;
    }
    return 0;
}

static int init_float_info(EddyVM *vm, ModuleObject *sys) {
    ModuleObject *fi = namespace_new(vm, "sys.float_info");
    if (!fi) return -1;
    if (module_add_value(vm, fi, "max", v_float(DBL_MAX)) < 0 ||
        module_add_value(vm, fi, "max_exp", v_int(DBL_MAX_EXP)) < 0 ||
        module_add_value(vm, fi, "max_10_exp", v_int(DBL_MAX_10_EXP)) < 0 ||
        module_add_value(vm, fi, "min", v_float(DBL_MIN)) < 0 ||
        module_add_value(vm, fi, "min_exp", v_int(DBL_MIN_EXP)) < 0 ||
        module_add_value(vm, fi, "min_10_exp", v_int(DBL_MIN_10_EXP)) < 0 ||
        module_add_value(vm, fi, "dig", v_int(DBL_DIG)) < 0 ||
        module_add_value(vm, fi, "mant_dig", v_int(DBL_MANT_DIG)) < 0 ||
        module_add_value(vm, fi, "epsilon", v_float(DBL_EPSILON)) < 0 ||
        module_add_value(vm, fi, "radix", v_int(FLT_RADIX)) < 0 ||
        module_add_value(vm, fi, "rounds", v_int(1)) < 0)
        return -1;
    return module_add_value(vm, sys, "float_info", v_obj(fi));
}

static int init_flags(EddyVM *vm, ModuleObject *sys) {
    ModuleObject *fl = namespace_new(vm, "sys.flags");
    if (!fl) return -1;
    static const char *const zero[] = {"debug",
                                       "inspect",
                                       "interactive",
                                       "optimize",
                                       "dont_write_bytecode",
                                       "no_user_site",
                                       "no_site",
                                       "ignore_environment",
                                       "verbose",
                                       "bytes_warning",
                                       "quiet",
                                       "hash_randomization",
                                       "isolated",
                                       "dev_mode",
                                       "utf8_mode",
                                       "safe_path"};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        if (module_add_value(vm, fl, zero[i], v_int(0)) < 0) return -1;
    return module_add_value(vm, sys, "flags", v_obj(fl));
}

static int init_version(EddyVM *vm, ModuleObject *m) {
    if (add_str(vm, m, "version", "3.11.7 (Eddy " EDDY_VERSION_STRING ")") < 0) return -1;
    StrObject *final = str_intern_cstr(vm, "final");
    if (!final) return -1;
    Value vi[5] = {v_int(3), v_int(11), v_int(7), v_obj(final), v_int(0)};
    TupleObject *t = tuple_from(vm, vi, 5);
    if (!t || module_add_value(vm, m, "version_info", v_obj(t)) < 0) return -1;
    if (module_add_value(vm, m, "hexversion", v_int(0x030B07F0)) < 0) return -1;
    if (module_add_value(vm, m, "api_version", v_int(1013)) < 0) return -1;

    ModuleObject *impl = namespace_new(vm, "sys.implementation");
    if (!impl) return -1;
    if (add_str(vm, impl, "name", "eddy") < 0 || add_str(vm, impl, "cache_tag", "eddy-01") < 0)
        return -1;
    Value ev[5] = {v_int(EDDY_VERSION_MAJOR), v_int(EDDY_VERSION_MINOR), v_int(EDDY_VERSION_PATCH),
                   v_obj(final), v_int(0)};
    TupleObject *et = tuple_from(vm, ev, 5);
    if (!et || module_add_value(vm, impl, "version", v_obj(et)) < 0) return -1;
    if (module_add_value(vm, impl, "hexversion", v_int(0x000100F0)) < 0) return -1;
    return module_add_value(vm, m, "implementation", v_obj(impl));
}

int sys_init(EddyVM *vm, ModuleObject *m) {
    // argv: the script and its arguments, [''] when there is none (REPL).
    ListObject *argv = list_new(vm, vm->argc > 0 ? (size_t)vm->argc : 1);
    if (!argv) return -1;
    for (int i = 0; i < vm->argc && vm->argv; i++) {
        if (append_path(vm, argv, vm->argv[i], strlen(vm->argv[i])) < 0) return -1;
    }
    if (argv->len == 0 && list_append(vm, argv, v_obj(vm->names.empty)) < 0) return -1;
    if (module_add_value(vm, m, "argv", v_obj(argv)) < 0) return -1;
    if (module_add_value(vm, m, "orig_argv", v_obj(argv)) < 0) return -1;

    if (init_path(vm, m) < 0) return -1;
    if (init_streams(vm, m) < 0) return -1;
    if (init_version(vm, m) < 0) return -1;
    if (init_float_info(vm, m) < 0) return -1;
    if (init_flags(vm, m) < 0) return -1;
    if (module_add_value(vm, m, "modules", v_obj(vm->modules)) < 0) return -1;
    if (add_str(vm, m, "platform", "linux") < 0) return -1;
    union {
        uint16_t u;
        uint8_t b[2];
    } probe = {.u = 1};
    if (add_str(vm, m, "byteorder", probe.b[0] ? "little" : "big") < 0) return -1;
    if (module_add_value(vm, m, "maxsize", v_int(INT64_MAX)) < 0) return -1;
    if (module_add_value(vm, m, "maxunicode", v_int(0x10FFFF)) < 0) return -1;
    if (add_str(vm, m, "prefix", "/usr/local") < 0 ||
        add_str(vm, m, "exec_prefix", "/usr/local") < 0)
        return -1;

    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    if (add_str(vm, m, "executable", exe) < 0) return -1;

    StrObject *names[] = {vm->names.builtins, vm->names.sys, NULL, NULL};
    names[2] = str_intern_cstr(vm, "time");
    names[3] = str_intern_cstr(vm, "math");
    if (!names[2] || !names[3]) return -1;
    Value nv[4] = {v_obj(names[0]), v_obj(names[1]), v_obj(names[2]), v_obj(names[3])};
    TupleObject *bmn = tuple_from(vm, nv, 4);
    if (!bmn || module_add_value(vm, m, "builtin_module_names", v_obj(bmn)) < 0) return -1;

    static const struct {
        const char *name;
        NativeFn fn;
    } fns[] = {
        {"exit", sys_exit},
        {"getrecursionlimit", sys_getrecursionlimit},
        {"setrecursionlimit", sys_setrecursionlimit},
        {"get_coroutine_origin_tracking_depth", sys_get_coroutine_origin_tracking_depth},
        {"set_coroutine_origin_tracking_depth", sys_set_coroutine_origin_tracking_depth},
        {"exc_info", sys_exc_info},
        {"intern", sys_intern},
        {"displayhook", sys_displayhook},
        {"__displayhook__", sys_displayhook},
        {"excepthook", sys_excepthook},
        {"__excepthook__", sys_excepthook},
        {"getdefaultencoding", sys_getdefaultencoding},
        {"getfilesystemencoding", sys_getdefaultencoding},
        {"getrefcount", sys_getrefcount},
        {"getsizeof", sys_getsizeof},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        if (module_add_function(vm, m, fns[i].name, fns[i].fn) < 0) return -1;
    }
    return 0;
}
