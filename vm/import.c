// import.c - module objects, the import system, and running files/strings.
//
// Modules are looked up in sys.modules (vm->modules) first; then in the
// registry of native modules (vm_register_native_module: "time", "math" and
// whatever the host adds), which are initialised lazily on first import;
// then in the modules written in Eddy and embedded at build time
// (stdlib/*.async via tools/embed_stdlib.sh: "contextlib", "functools");
// then on the search path: NAME/__init__.async (a package) or NAME.async in
// each directory of sys.path (or of the parent package's __path__).
//
// As in CPython, a module is placed in sys.modules before its code runs, so a
// circular import sees the partially initialised module, and it is removed
// again when its code fails.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compile.h"
#include "embedded.h"
#include "vm.h"

// ModuleObject.hdr.obj_flags bits
enum {
    MODULE_BUILTIN = 1u << 0,      // a native module: repr says "(built-in)"
    MODULE_INITIALIZING = 1u << 1, // its code is running (circular-import message)
};

// ---------------------------------------------------------------------------
// The native-module registry: a dict name -> int holding the init function's
// address. It is reachable from the sys module (see module_trace), so it
// needs no root of its own and is swept with everything else at vm_free.
typedef int (*ModuleInitFn)(EddyVM *vm, ModuleObject *m);

static Value init_fn_to_value(ModuleInitFn fn) {
    int64_t bits = 0;
    _Static_assert(sizeof(fn) <= sizeof(bits), "function pointer wider than 64 bits");
    memcpy(&bits, &fn, sizeof(fn));
    return v_int(bits);
}

static ModuleInitFn value_to_init_fn(Value v) {
    ModuleInitFn fn;
    int64_t bits = AS_INT(v);
    memcpy(&fn, &bits, sizeof(fn));
    return fn;
}

// ---------------------------------------------------------------------------
// The module type

static void module_trace(EddyVM *vm, Obj *self) {
    ModuleObject *m = (ModuleObject *)self;
    gc_mark_obj(vm, (Obj *)m->name);
    gc_mark_obj(vm, (Obj *)m->dict);
    if (m == vm->sys) gc_mark_obj(vm, (Obj *)vm->native_modules);
}

static Value module_repr(EddyVM *vm, Value self) {
    ModuleObject *m = (ModuleObject *)AS_OBJ(self);
    Value name = dict_get_str(m->dict, vm->names.__name__);
    if (IS_NULL(name)) name = v_obj(str_from_cstr(vm, "?"));
    if (IS_NULL(name)) return VAL_NULL;
    Value file = dict_get_str(m->dict, vm->names.__file__);
    StrObject *s;
    if (!IS_NULL(file) && is_str(vm, file)) {
        s = str_format(vm, "<module %R from %R>", name, file);
    } else if (m->hdr.obj_flags & MODULE_BUILTIN) {
        s = str_format(vm, "<module %R (built-in)>", name);
    } else {
        s = str_format(vm, "<module %R>", name);
    }
    return s ? v_obj(s) : VAL_NULL;
}

static Value module_display_name(EddyVM *vm, ModuleObject *m) {
    Value name = dict_get_str(m->dict, vm->names.__name__);
    if (IS_NULL(name) || !is_str(vm, name))
        return m->name ? v_obj(m->name) : v_obj(vm->names.empty);
    return name;
}

static Value module_getattr(EddyVM *vm, Value self, StrObject *name) {
    ModuleObject *m = (ModuleObject *)AS_OBJ(self);
    // Fast path: module globals (math.pi, mod.func) need no descriptor logic.
    Value v = dict_get_str(m->dict, name);
    if (EDDY_LIKELY(!IS_NULL(v))) return v;
    if (name == vm->names.__dict__) return v_obj(m->dict);
    v = object_generic_getattr(vm, self, name);
    if (!IS_NULL(v) || !vm_err_matches(vm, vm->exc_AttributeError)) return v;
    vm_err_clear(vm);
    // PEP 562: a module-level __getattr__(name)
    Value hook = dict_get_str(m->dict, vm->names.__getattr__);
    if (!IS_NULL(hook)) return vm_call1(vm, hook, v_obj(name));
    Value mname = module_display_name(vm, m);
    if (m->hdr.obj_flags & MODULE_INITIALIZING) {
        return vm_raise(vm, vm->exc_AttributeError,
                        "partially initialized module %R has no attribute '%U' (most likely due "
                        "to a circular import)",
                        mname, name);
    }
    return vm_raise(vm, vm->exc_AttributeError, "module %R has no attribute '%U'", mname, name);
}

static int module_setattr(EddyVM *vm, Value self, StrObject *name, Value v) {
    ModuleObject *m = (ModuleObject *)AS_OBJ(self);
    if (!IS_NULL(v)) {
        // A data descriptor on the type (e.g. __class__) wins, as in CPython.
        if (name == vm->names.__class__ || name == vm->names.__dict__)
            return object_generic_setattr(vm, self, name, v);
        return dict_set_str(vm, m->dict, name, v);
    }
    int r = dict_del_str(vm, m->dict, name);
    if (r < 0) return -1;
    if (r == 0) {
        vm_raise(vm, vm->exc_AttributeError, "'module' object has no attribute '%U'", name);
        return -1;
    }
    return 0;
}

// module(name, doc=None): types.ModuleType
static Value module_type_new(EddyVM *vm, TypeObject *t, Value *args, int nargs,
                             TupleObject *kwnames) {
    static const char *const names[] = {"name", "doc"};
    Value a[2];
    if (args_parse(vm, "module", args, nargs, kwnames, names, 2, 2, 1, a) < 0) return VAL_NULL;
    if (!is_str(vm, a[0])) {
        return vm_raise(vm, vm->exc_TypeError,
                        "module.__init__() argument 'name' must be str, not %T", a[0]);
    }
    ModuleObject *m = module_new(vm, AS_STR(a[0]));
    if (!m) return VAL_NULL;
    m->hdr.type = t;
    if (!IS_NULL(a[1]) && dict_set_str(vm, m->dict, vm->names.__doc__, a[1]) < 0) return VAL_NULL;
    return v_obj(m);
}

static Value module_dir(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "__dir__", nargs, 1, 1) < 0) return VAL_NULL;
    if (!IS_OBJ(args[0]) || !type_is_subtype(OBJ_TYPE(AS_OBJ(args[0])), vm->t_module))
        return vm_raise(vm, vm->exc_TypeError, "descriptor '__dir__' requires a 'module' object");
    ModuleObject *m = (ModuleObject *)AS_OBJ(args[0]);
    ListObject *l = list_new(vm, m->dict->len);
    if (!l) return VAL_NULL;
    size_t pos = 0;
    Value k, v;
    while (dict_next(m->dict, &pos, &k, &v)) {
        if (list_append(vm, l, k) < 0) return VAL_NULL;
    }
    return v_obj(l);
}

int module_init_type(EddyVM *vm) {
    TypeObject *t =
        type_new_builtin(vm, vm->t_module, vm->t_object, sizeof(ModuleObject), TPF_BASETYPE);
    if (!t) return -1;
    t->dict_offset = (int32_t)offsetof(ModuleObject, dict);
    t->trace = module_trace;
    t->repr = module_repr;
    t->getattr = module_getattr;
    t->setattr = module_setattr;
    t->new_ = module_type_new;
    if (type_add_method(vm, t, "__dir__", module_dir, NATIVE_METHOD) < 0) return -1;
    return 0;
}

ModuleObject *module_new(EddyVM *vm, StrObject *name) {
    DictObject *d = dict_new(vm);
    if (!d) return NULL;
    ModuleObject *m = (ModuleObject *)obj_alloc(vm, vm->t_module, sizeof(ModuleObject));
    if (!m) return NULL;
    m->name = name;
    m->dict = d;
    // The same first five entries, in the same order, as CPython's modules.
    if (dict_set_str(vm, d, vm->names.__name__, v_obj(name)) < 0 ||
        dict_set_str(vm, d, vm->names.__doc__, VAL_NONE) < 0 ||
        dict_set_str(vm, d, vm->names.__package__, VAL_NONE) < 0 ||
        dict_set_str(vm, d, vm->names.__loader__, VAL_NONE) < 0 ||
        dict_set_str(vm, d, vm->names.__spec__, VAL_NONE) < 0)
        return NULL;
    return m;
}

bool module_is_initializing(EddyVM *vm, Value m) {
    return IS_OBJ(m) && type_is_subtype(OBJ_TYPE(AS_OBJ(m)), vm->t_module) &&
           (AS_OBJ(m)->obj_flags & MODULE_INITIALIZING);
}

int module_add_function(EddyVM *vm, ModuleObject *m, const char *name, NativeFn fn) {
    NativeFunctionObject *f = native_new(vm, name, fn, VAL_NULL, 0);
    if (!f) return -1;
    return module_add_value(vm, m, name, v_obj(f));
}

int module_add_value(EddyVM *vm, ModuleObject *m, const char *name, Value v) {
    StrObject *key = str_intern_cstr(vm, name);
    if (!key) return -1;
    return dict_set_str(vm, m->dict, key, v);
}

int vm_register_native_module(EddyVM *vm, const char *name,
                              int (*init)(EddyVM *vm, ModuleObject *m)) {
    if (!vm->native_modules) {
        vm->native_modules = dict_new(vm);
        if (!vm->native_modules) return -1;
    }
    StrObject *key = str_intern_cstr(vm, name);
    if (!key) return -1;
    return dict_set_str(vm, vm->native_modules, key, init_fn_to_value(init));
}

// ---------------------------------------------------------------------------
// Bootstrap

int import_init(EddyVM *vm) {
    vm->modules = dict_new(vm);
    if (!vm->modules) return -1;
    if (!vm->source_cache) {
        vm->source_cache = dict_new(vm);
        if (!vm->source_cache) return -1;
    }
    ModuleObject *b = module_new(vm, vm->names.builtins);
    if (!b) return -1;
    b->hdr.obj_flags |= MODULE_BUILTIN;
    vm->builtins = b;
    vm->builtins_dict = b->dict;
    if (dict_set_str(vm, vm->modules, vm->names.builtins, v_obj(b)) < 0) return -1;
    if (builtins_init(vm, b) < 0) return -1;

    ModuleObject *s = module_new(vm, vm->names.sys);
    if (!s) return -1;
    s->hdr.obj_flags |= MODULE_BUILTIN;
    vm->sys = s;
    if (dict_set_str(vm, vm->modules, vm->names.sys, v_obj(s)) < 0) return -1;
    if (sys_init(vm, s) < 0) return -1;

    if (vm_register_native_module(vm, "time", time_init) < 0) return -1;
    if (vm_register_native_module(vm, "math", math_init) < 0) return -1;
    if (vm_register_native_module(vm, "io", io_module_init) < 0) return -1;
    if (vm_register_native_module(vm, "gc", gc_module_init) < 0) return -1;
    if (vm_register_native_module(vm, "_asyncio", asyncio_core_init) < 0) return -1;
    return 0;
}

// ---------------------------------------------------------------------------
// Finding and loading modules

static bool is_regular_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_directory(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

// Read a whole file into mem_alloc'ed memory (NUL-terminated); *cap receives
// the allocation size for mem_free. NULL + OSError on failure.
static char *read_file(EddyVM *vm, const char *path, size_t *len, size_t *cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        io_raise_oserror(vm, errno, path);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        io_raise_oserror(vm, EISDIR, path);
        return NULL;
    }
    size_t size = 4096, n = 0;
    if (st.st_size > 0) size = (size_t)st.st_size + 1;
    char *buf = mem_alloc(vm, size);
    if (!buf) {
        close(fd);
        return NULL;
    }
    for (;;) {
        if (n + 1 >= size) {
            char *nb = mem_realloc(vm, buf, size, size * 2);
            if (!nb) {
                mem_free(vm, buf, size);
                close(fd);
                return NULL;
            }
            buf = nb;
            size *= 2;
        }
        ssize_t r = read(fd, buf + n, size - n - 1);
        if (r < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            mem_free(vm, buf, size);
            close(fd);
            io_raise_oserror(vm, err, path);
            return NULL;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    *cap = size;
    return buf;
}

// dir + "/" + name + suffix, with "" meaning the current directory.
static StrObject *join_path(EddyVM *vm, StrObject *dir, StrObject *name, const char *suffix) {
    if (dir->len == 0) return str_format(vm, "%U%s", name, suffix);
    if (dir->data[dir->len - 1] == '/') return str_format(vm, "%U%U%s", dir, name, suffix);
    return str_format(vm, "%U/%U%s", dir, name, suffix);
}

static Value raise_not_found(EddyVM *vm, StrObject *fullname, const char *suffix_fmt,
                             StrObject *parent) {
    StrObject *msg = parent ? str_format(vm, suffix_fmt, fullname, parent)
                            : str_format(vm, suffix_fmt, fullname);
    if (!msg) return VAL_NULL;
    Value exc = exc_new_msg(vm, vm->exc_ModuleNotFoundError, msg);
    if (IS_NULL(exc)) return VAL_NULL;
    // ImportError.name, so `except ModuleNotFoundError as e: e.name` works.
    if (vm_setattr(vm, exc, vm->names.name, v_obj(fullname)) < 0) vm_err_clear(vm);
    return vm_raise_value(vm, exc);
}

// Offset of the first byte that is not valid UTF-8, or len if all are.
static size_t first_bad_utf8(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07;
        else
            return i;
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xc0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        // Overlong forms, surrogates and code points past U+10FFFF.
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += n + 1;
    }
    return len;
}

// Compile a source file's bytes. Like CPython, bytes that are not UTF-8
// (with no encoding declaration) are reported before tokenizing.
static Value compile_file(EddyVM *vm, const char *src, size_t len, const char *path) {
    size_t bad = first_bad_utf8((const unsigned char *)src, len);
    if (bad < len) {
        size_t line = 1;
        for (size_t i = 0; i < bad; i++) line += src[i] == '\n';
        return vm_raise(vm, vm->exc_SyntaxError,
                        "Non-UTF-8 code starting with '\\x%x' in file %s on line %zu, but no "
                        "encoding declared; see https://peps.python.org/pep-0263/ for details",
                        (unsigned)(unsigned char)src[bad], path, line);
    }
    return compile_source(vm, src, len, path, PARSE_FILE);
}

static const EmbeddedModule *find_embedded(StrObject *name) {
    for (const EmbeddedModule *e = embedded_modules; e->name; e++) {
        if (strlen(e->name) == name->len && memcmp(e->name, name->data, name->len) == 0) return e;
    }
    return NULL;
}

// Compile and run an embedded module's source as `m`. The text goes into
// vm->source_cache under its pseudo-path, so tracebacks can show its lines.
static int exec_module_embedded(EddyVM *vm, ModuleObject *m, const EmbeddedModule *e,
                                StrObject *path) {
    StrObject *text = str_decode_utf8(vm, e->source, e->length);
    if (!text || dict_set_str(vm, vm->source_cache, path, v_obj(text)) < 0) return -1;
    Value code = compile_source(vm, e->source, e->length, path->data, PARSE_FILE);
    if (IS_NULL(code)) return -1;
    Value r = vm_exec_code(vm, (CodeObject *)AS_OBJ(code), m->dict, m->dict);
    return IS_NULL(r) ? -1 : 0;
}

// Compile and run a source file as module `m` (already in sys.modules).
static int exec_module_file(EddyVM *vm, ModuleObject *m, const char *path) {
    size_t len = 0, cap = 0;
    char *src = read_file(vm, path, &len, &cap);
    if (!src) return -1;
    Value code = compile_file(vm, src, len, path);
    mem_free(vm, src, cap);
    if (IS_NULL(code)) return -1;
    Value r = vm_exec_code(vm, (CodeObject *)AS_OBJ(code), m->dict, m->dict);
    return IS_NULL(r) ? -1 : 0;
}

// Load fullname (not in sys.modules yet). `search` is a list of directories
// (sys.path or the parent's __path__). Returns the module from sys.modules.
static Value load_module(EddyVM *vm, StrObject *fullname, StrObject *shortname, Value search,
                         StrObject *parent_name) {
    // Native modules (top level only)
    if (!parent_name && vm->native_modules) {
        Value initv = dict_get_str(vm->native_modules, fullname);
        if (!IS_NULL(initv)) {
            ModuleObject *m = module_new(vm, fullname);
            if (!m) return VAL_NULL;
            m->hdr.obj_flags |= MODULE_BUILTIN | MODULE_INITIALIZING;
            if (dict_set_str(vm, m->dict, vm->names.__package__, v_obj(vm->names.empty)) < 0)
                return VAL_NULL;
            if (dict_set_str(vm, vm->modules, fullname, v_obj(m)) < 0) return VAL_NULL;
            if (value_to_init_fn(initv)(vm, m) < 0) {
                m->hdr.obj_flags &= (uint16_t)~MODULE_INITIALIZING;
                Value exc = vm_err_fetch(vm);
                if (dict_del_str(vm, vm->modules, fullname) < 0) vm_err_clear(vm);
                return vm_raise_value(vm, exc);
            }
            m->hdr.obj_flags &= (uint16_t)~MODULE_INITIALIZING;
            return v_obj(m);
        }
    }
    // Embedded Eddy-language modules (top level only), before sys.path so a
    // stray contextlib.async in the current directory does not shadow them.
    StrObject *file = NULL, *pkgdir = NULL;
    const EmbeddedModule *embedded = parent_name ? NULL : find_embedded(fullname);
    if (embedded) {
        file = str_format(vm, "<stdlib>/%U.async", fullname);
        if (!file) return VAL_NULL;
        goto found;
    }
    if (IS_NULL(search) || !IS_OBJ(search) ||
        !type_is_subtype(OBJ_TYPE(AS_OBJ(search)), vm->t_list)) {
        if (parent_name)
            return raise_not_found(vm, fullname, "No module named '%U'; '%U' is not a package",
                                   parent_name);
        return raise_not_found(vm, fullname, "No module named '%U'", NULL);
    }
    // Search the directories. The list may change under us only through
    // script code, which does not run during the search.
    ListObject *dirs = AS_LIST(search);
    for (size_t i = 0; i < dirs->len; i++) {
        Value d = dirs->items[i];
        if (!is_str(vm, d)) continue;
        StrObject *dir = AS_STR(d);
        StrObject *pd = join_path(vm, dir, shortname, "");
        if (!pd) return VAL_NULL;
        if (is_directory(pd->data)) {
            StrObject *init = str_format(vm, "%U/__init__.async", pd);
            if (!init) return VAL_NULL;
            if (is_regular_file(init->data)) {
                file = init;
                pkgdir = pd;
                break;
            }
        }
        StrObject *f = join_path(vm, dir, shortname, ".async");
        if (!f) return VAL_NULL;
        if (is_regular_file(f->data)) {
            file = f;
            break;
        }
    }
    if (!file) return raise_not_found(vm, fullname, "No module named '%U'", NULL);

found:;
    ModuleObject *m = module_new(vm, fullname);
    if (!m) return VAL_NULL;
    Value mv = v_obj(m);
    // The module's code may drop it from sys.modules; keep what we use after.
    if (vm_push_root(vm, mv) < 0) return VAL_NULL;
    if (vm_push_root(vm, v_obj(file)) < 0) {
        vm_pop_roots(vm, 1);
        return VAL_NULL;
    }
    if (vm_push_root(vm, v_obj(fullname)) < 0) {
        vm_pop_roots(vm, 2);
        return VAL_NULL;
    }
    Value result = VAL_NULL;
    StrObject *package = pkgdir ? fullname : (parent_name ? parent_name : vm->names.empty);
    if (dict_set_str(vm, m->dict, vm->names.__package__, v_obj(package)) < 0) goto fail;
    if (pkgdir) {
        Value pv = v_obj(pkgdir);
        ListObject *p = list_from(vm, &pv, 1);
        if (!p) goto fail;
        StrObject *path_key = str_intern_cstr(vm, "__path__");
        if (!path_key || dict_set_str(vm, m->dict, path_key, v_obj(p)) < 0) goto fail;
    }
    if (dict_set_str(vm, m->dict, vm->names.__file__, v_obj(file)) < 0) goto fail;
    if (dict_set_str(vm, m->dict, vm->names.__builtins__, v_obj(vm->builtins_dict)) < 0) goto fail;
    if (dict_set_str(vm, vm->modules, fullname, mv) < 0) goto fail;
    m->hdr.obj_flags |= MODULE_INITIALIZING;
    int rc = embedded ? exec_module_embedded(vm, m, embedded, file)
                      : exec_module_file(vm, m, file->data);
    m->hdr.obj_flags &= (uint16_t)~MODULE_INITIALIZING;
    if (rc < 0) {
        Value exc = vm_err_fetch(vm);
        if (dict_del_str(vm, vm->modules, fullname) < 0) vm_err_clear(vm);
        vm_raise_value(vm, exc);
        goto fail;
    }
    // The module may have replaced itself in sys.modules.
    result = dict_get_str(vm->modules, fullname);
    if (IS_NULL(result)) {
        vm_raise(vm, vm->exc_KeyError, "%R", v_obj(fullname));
    }
fail:
    vm_pop_roots(vm, 3);
    return result;
}

// Import one fully qualified name whose parents are already imported.
static Value import_one(EddyVM *vm, StrObject *fullname) {
    Value m = dict_get_str(vm->modules, fullname);
    if (!IS_NULL(m)) {
        if (IS_NONE(m)) {
            return raise_not_found(vm, fullname, "import of %U halted; None in sys.modules", NULL);
        }
        return m;
    }
    // Split "a.b.c" into parent "a.b" and short name "c".
    const char *dot = NULL;
    for (size_t i = fullname->len; i > 0; i--) {
        if (fullname->data[i - 1] == '.') {
            dot = fullname->data + i - 1;
            break;
        }
    }
    if (!dot) {
        Value search = vm->path ? v_obj(vm->path) : VAL_NULL;
        Value syspath;
        if (vm->sys && !IS_NULL(syspath = dict_get_str(vm->sys->dict, vm->names.path)))
            search = syspath;
        return load_module(vm, fullname, fullname, search, NULL);
    }
    StrObject *parent_name = str_new(vm, fullname->data, (size_t)(dot - fullname->data));
    if (!parent_name) return VAL_NULL;
    StrObject *shortname =
        str_intern(vm, dot + 1, fullname->len - (size_t)(dot + 1 - fullname->data));
    if (!shortname) return VAL_NULL;
    Value parent = dict_get_str(vm->modules, parent_name);
    if (IS_NULL(parent)) {
        return raise_not_found(vm, fullname, "No module named '%U'", NULL);
    }
    Value search = VAL_NULL;
    StrObject *path_key = str_intern_cstr(vm, "__path__");
    if (!path_key) return VAL_NULL;
    if (vm_push_root(vm, parent) < 0) return VAL_NULL;
    if (vm_push_root(vm, v_obj(parent_name)) < 0) {
        vm_pop_roots(vm, 1);
        return VAL_NULL;
    }
    int r = vm_getattr_opt(vm, parent, path_key, &search);
    Value result = VAL_NULL;
    if (r < 0) goto done;
    result = load_module(vm, fullname, shortname, r ? search : VAL_NULL, parent_name);
    if (IS_NULL(result)) goto done;
    // Bind the submodule as an attribute of its parent package.
    if (vm_setattr(vm, parent, shortname, result) < 0) result = VAL_NULL;
done:
    vm_pop_roots(vm, 2);
    return result;
}

// Resolve a relative import against the importing module's package.
static StrObject *resolve_name(EddyVM *vm, StrObject *name, int level, DictObject *globals) {
    Value package = globals ? dict_get_str(globals, vm->names.__package__) : VAL_NULL;
    StrObject *pkg = NULL;
    if (!IS_NULL(package) && !IS_NONE(package)) {
        if (!is_str(vm, package)) {
            vm_raise(vm, vm->exc_TypeError, "package must be a string");
            return NULL;
        }
        pkg = AS_STR(package);
    } else if (globals) {
        Value modname = dict_get_str(globals, vm->names.__name__);
        if (IS_NULL(modname)) {
            vm_raise(vm, vm->exc_KeyError, "'__name__' not in globals");
            return NULL;
        }
        StrObject *path_key = str_intern_cstr(vm, "__path__");
        if (!path_key) return NULL;
        if (!IS_NULL(modname) && is_str(vm, modname)) {
            pkg = AS_STR(modname);
            if (IS_NULL(dict_get_str(globals, path_key))) {
                // Not a package: its parent is the package.
                size_t i = pkg->len;
                while (i > 0 && pkg->data[i - 1] != '.') i--;
                pkg = str_new(vm, pkg->data, i > 0 ? i - 1 : 0);
                if (!pkg) return NULL;
            }
        }
    }
    if (!pkg || pkg->len == 0) {
        vm_raise(vm, vm->exc_ImportError, "attempted relative import with no known parent package");
        return NULL;
    }
    // Drop level-1 trailing components.
    size_t end = pkg->len;
    for (int l = 1; l < level; l++) {
        while (end > 0 && pkg->data[end - 1] != '.') end--;
        if (end == 0) {
            vm_raise(vm, vm->exc_ImportError, "attempted relative import beyond top-level package");
            return NULL;
        }
        end--;
    }
    StrObject *base = str_new(vm, pkg->data, end);
    if (!base) return NULL;
    if (name->len == 0) return base;
    return str_format(vm, "%U.%U", base, name);
}

// Import every prefix of fullname ("a", "a.b", "a.b.c"); returns the last.
static Value import_dotted(EddyVM *vm, StrObject *fullname) {
    Value m = dict_get_str(vm->modules, fullname);
    if (!IS_NULL(m) && !IS_NONE(m)) return m; // fast path: already imported
    Value last = VAL_NULL;
    for (size_t i = 0; i <= fullname->len; i++) {
        if (i < fullname->len && fullname->data[i] != '.') continue;
        if (i == 0) continue; // a leading dot: CPython looks the whole name up
        StrObject *prefix = i == fullname->len ? fullname : str_new(vm, fullname->data, i);
        if (!prefix) return VAL_NULL;
        last = import_one(vm, prefix);
        if (IS_NULL(last)) return VAL_NULL;
    }
    return last;
}

static bool fromlist_empty(EddyVM *vm, Value fromlist) {
    if (IS_NULL(fromlist) || IS_NONE(fromlist)) return true;
    if (IS_OBJ(fromlist) && type_is_subtype(OBJ_TYPE(AS_OBJ(fromlist)), vm->t_tuple))
        return AS_TUPLE(fromlist)->len == 0;
    if (IS_OBJ(fromlist) && type_is_subtype(OBJ_TYPE(AS_OBJ(fromlist)), vm->t_list))
        return AS_LIST(fromlist)->len == 0;
    int t = vm_truthy(vm, fromlist);
    if (t < 0) vm_err_clear(vm);
    return t <= 0;
}

// `from package import name`: import package.name as a submodule when the
// package has no such attribute (CPython's _handle_fromlist).
static int handle_fromlist_item(EddyVM *vm, Value module, StrObject *modname, Value item,
                                bool recursive) {
    if (!is_str(vm, item)) {
        vm_raise(vm, vm->exc_TypeError, "Item in %s.__all__ must be str, not %T", modname->data,
                 item);
        return -1;
    }
    StrObject *s = AS_STR(item);
    if (s->len == 1 && s->data[0] == '*') {
        if (recursive) return 0;
        Value all;
        int r = vm_getattr_opt(vm, module, vm->names.__all__, &all);
        if (r <= 0) return r;
        if (vm_push_root(vm, all) < 0) return -1;
        Value list = vm_sequence_to_list(vm, all);
        vm_pop_roots(vm, 1);
        if (IS_NULL(list)) return -1;
        if (vm_push_root(vm, list) < 0) return -1;
        int rc = 0;
        for (size_t i = 0; i < AS_LIST(list)->len && rc == 0; i++)
            rc = handle_fromlist_item(vm, module, modname, AS_LIST(list)->items[i], true);
        vm_pop_roots(vm, 1);
        return rc;
    }
    Value existing;
    int r = vm_getattr_opt(vm, module, s, &existing);
    if (r != 0) return r < 0 ? -1 : 0;
    StrObject *sub = str_format(vm, "%U.%U", modname, s);
    if (!sub) return -1;
    if (vm_push_root(vm, v_obj(sub)) < 0) return -1;
    Value m = import_one(vm, sub);
    int rc = 0;
    if (IS_NULL(m)) {
        // A missing submodule is not an error here: IMPORT_FROM reports
        // "cannot import name". Other errors (in the submodule's code) are.
        if (vm_err_matches(vm, vm->exc_ModuleNotFoundError)) {
            Value exc = vm_err_fetch(vm);
            Value ename;
            if (vm_push_root(vm, exc) < 0) {
                rc = -1;
            } else {
                int gr = vm_getattr_opt(vm, exc, vm->names.name, &ename);
                if (gr > 0 && is_str(vm, ename) && str_eq(AS_STR(ename), sub)) {
                    rc = 0;
                } else {
                    if (gr < 0) vm_err_clear(vm);
                    vm_raise_value(vm, exc);
                    rc = -1;
                }
                vm_pop_roots(vm, 1);
            }
        } else {
            rc = -1;
        }
    }
    vm_pop_roots(vm, 1);
    return rc;
}

Value vm_import(EddyVM *vm, StrObject *name, Value fromlist, int level, DictObject *globals) {
    if (level < 0) return vm_raise(vm, vm->exc_ValueError, "level must be >= 0");
    StrObject *fullname = name;
    if (level > 0) {
        fullname = resolve_name(vm, name, level, globals);
        if (!fullname) return VAL_NULL;
    } else if (name->len == 0) {
        return vm_raise(vm, vm->exc_ValueError, "Empty module name");
    }
    if (vm_push_root(vm, v_obj(fullname)) < 0) return VAL_NULL;
    Value result = VAL_NULL;
    Value module = import_dotted(vm, fullname);
    if (IS_NULL(module)) goto done;
    if (fromlist_empty(vm, fromlist)) {
        // `import a.b.c` binds `a`: return the top-level package.
        if (level == 0) {
            size_t i = 0;
            while (i < name->len && name->data[i] != '.') i++;
            if (i == name->len) {
                result = module;
                goto done;
            }
            StrObject *top = str_new(vm, name->data, i);
            if (!top) goto done;
            result = dict_get_str(vm->modules, top);
            if (IS_NULL(result)) vm_raise(vm, vm->exc_KeyError, "%R", v_obj(top));
        } else if (name->len == 0) {
            result = module;
        } else {
            size_t cut = 0;
            while (cut < name->len && name->data[cut] != '.') cut++;
            StrObject *top = str_new(vm, fullname->data, fullname->len - name->len + cut);
            if (!top) goto done;
            result = dict_get_str(vm->modules, top);
            if (IS_NULL(result)) vm_raise(vm, vm->exc_KeyError, "%R", v_obj(top));
        }
        goto done;
    }
    // from-import: only a package may hold submodules to import.
    Value path;
    StrObject *path_key = str_intern_cstr(vm, "__path__");
    if (!path_key) goto done;
    if (vm_push_root(vm, module) < 0) goto done;
    int r = vm_getattr_opt(vm, module, path_key, &path);
    if (r > 0) {
        Value list = vm_sequence_to_list(vm, fromlist);
        if (IS_NULL(list) || vm_push_root(vm, list) < 0) {
            vm_pop_roots(vm, 1);
            goto done;
        }
        for (size_t i = 0; i < AS_LIST(list)->len; i++) {
            if (handle_fromlist_item(vm, module, fullname, AS_LIST(list)->items[i], false) < 0) {
                vm_pop_roots(vm, 2);
                goto done;
            }
        }
        vm_pop_roots(vm, 1);
    }
    vm_pop_roots(vm, 1);
    if (r >= 0) result = module;
done:
    vm_pop_roots(vm, 1);
    return result;
}

// ---------------------------------------------------------------------------
// Running files and strings

// The module `module_name` from sys.modules (so the REPL keeps one __main__),
// or a new one registered there, with __builtins__ set.
static ModuleObject *main_module(EddyVM *vm, const char *module_name) {
    StrObject *name = str_intern_cstr(vm, module_name);
    if (!name) return NULL;
    Value existing = dict_get_str(vm->modules, name);
    if (!IS_NULL(existing) && IS_OBJ(existing) &&
        type_is_subtype(OBJ_TYPE(AS_OBJ(existing)), vm->t_module))
        return (ModuleObject *)AS_OBJ(existing);
    ModuleObject *m = module_new(vm, name);
    if (!m) return NULL;
    // __main__ sees the builtins module itself, other modules its dict, and
    // gets an empty __annotations__ (as in CPython).
    bool is_main = name == vm->names.__main__;
    if (is_main) {
        DictObject *ann = dict_new(vm);
        if (!ann || dict_set_str(vm, m->dict, vm->names.__annotations__, v_obj(ann)) < 0)
            return NULL;
    }
    Value b = is_main ? v_obj(vm->builtins) : v_obj(vm->builtins_dict);
    if (dict_set_str(vm, m->dict, vm->names.__builtins__, b) < 0) return NULL;
    if (dict_set_str(vm, vm->modules, name, v_obj(m)) < 0) return NULL;
    return m;
}

// When the script runs as __main__ and sys.path[0] is still "" (no argv
// told sys_init where the script lives), use the script's directory.
static int set_script_dir(EddyVM *vm, const char *path) {
    if (!vm->path || vm->path->len == 0 || !is_str(vm, vm->path->items[0]) ||
        AS_STR(vm->path->items[0])->len != 0)
        return 0;
    char resolved[PATH_MAX];
    if (!realpath(path, resolved)) return 0;
    char *slash = strrchr(resolved, '/');
    if (!slash) return 0;
    size_t n = slash == resolved ? 1 : (size_t)(slash - resolved);
    StrObject *dir = str_decode_utf8(vm, resolved, n);
    if (!dir) {
        vm_err_clear(vm);
        return 0;
    }
    vm->path->items[0] = v_obj(dir);
    return 0;
}

Value vm_run_file(EddyVM *vm, const char *path, const char *module_name) {
    size_t len = 0, cap = 0;
    char *src = read_file(vm, path, &len, &cap);
    if (!src) return VAL_NULL;
    // The main script's path is made absolute, as CPython 3.11 does for
    // __file__ and tracebacks.
    char resolved[PATH_MAX];
    if (strcmp(module_name, "__main__") == 0) {
        set_script_dir(vm, path);
        if (realpath(path, resolved)) path = resolved;
    }
    Value code = compile_file(vm, src, len, path);
    mem_free(vm, src, cap);
    if (IS_NULL(code)) return VAL_NULL;
    ModuleObject *m = main_module(vm, module_name);
    if (!m) return VAL_NULL;
    StrObject *file = str_decode_utf8(vm, path, strlen(path));
    if (!file) return VAL_NULL;
    if (dict_set_str(vm, m->dict, vm->names.__file__, v_obj(file)) < 0) return VAL_NULL;
    StrObject *cached = str_intern_cstr(vm, "__cached__");
    if (!cached || dict_set_str(vm, m->dict, cached, VAL_NONE) < 0) return VAL_NULL;
    return vm_exec_code(vm, (CodeObject *)AS_OBJ(code), m->dict, m->dict);
}

Value vm_run_string(EddyVM *vm, const char *src, const char *filename, const char *module_name) {
    size_t len = strlen(src);
    StrObject *fname = str_decode_utf8(vm, filename, strlen(filename));
    if (!fname) return VAL_NULL;
    StrObject *text = str_decode_utf8(vm, src, len);
    if (!text) return VAL_NULL;
    if (!vm->source_cache) {
        vm->source_cache = dict_new(vm);
        if (!vm->source_cache) return VAL_NULL;
    }
    if (dict_set_str(vm, vm->source_cache, fname, v_obj(text)) < 0) return VAL_NULL;
    Value code = compile_source(vm, src, len, filename, PARSE_FILE);
    if (IS_NULL(code)) return VAL_NULL;
    ModuleObject *m = main_module(vm, module_name);
    if (!m) return VAL_NULL;
    return vm_exec_code(vm, (CodeObject *)AS_OBJ(code), m->dict, m->dict);
}
