// obj_exc.c - exception objects and the builtin exception hierarchy.
//
// Every builtin exception class (exceptions.def) shares one C layout,
// ExceptionObject, with a __dict__; script subclasses keep it. Attributes
// that CPython stores in C fields (OSError.errno, SyntaxError.lineno,
// StopIteration.value, ...) are computed here from `args` unless a value
// was assigned, which is kept in the instance __dict__ under the same name.
// BaseExceptionGroup / ExceptionGroup keep `message` and `exceptions` in
// the instance dict too.
#include <errno.h>
#include <string.h>

#include "vm.h"

#define EXCO(v) ((ExceptionObject *)AS_OBJ(v))

bool is_exception(EddyVM *vm, Value v) {
    return IS_OBJ(v) && (OBJ_TYPE(AS_OBJ(v))->flags & TPF_EXC_SUBCLASS);
}

bool is_exception_type(EddyVM *vm, Value v) {
    return is_type(vm, v) && (AS_TYPE(v)->flags & TPF_EXC_SUBCLASS);
}

static ExceptionObject *exc_alloc(EddyVM *vm, TypeObject *t, TupleObject *args) {
    size_t size =
        t->instance_size >= sizeof(ExceptionObject) ? t->instance_size : sizeof(ExceptionObject);
    ExceptionObject *e = (ExceptionObject *)obj_alloc(vm, t, size);
    if (!e) return NULL;
    e->args = args ? args : vm->empty_tuple;
    e->traceback = VAL_NONE;
    e->cause = VAL_NONE;
    e->context = VAL_NONE;
    e->notes = VAL_NULL;
    return e;
}

static int oserror_fill(EddyVM *vm, Value self, Value *args, int nargs);

Value exc_new(EddyVM *vm, TypeObject *t, TupleObject *args) {
    ExceptionObject *e = exc_alloc(vm, t, args);
    if (!e) return VAL_NULL;
    // OSError(errno, strerror, filename) built from C: same split as OSError().
    if (args && args->len >= 3 && args->len <= 5 && type_is_subtype(t, vm->exc_OSError) &&
        oserror_fill(vm, v_obj(e), args->items, (int)args->len) < 0)
        return VAL_NULL;
    return v_obj(e);
}

Value exc_new_msg(EddyVM *vm, TypeObject *t, StrObject *msg) {
    TupleObject *args = tuple_from(vm, (Value[]){v_obj(msg)}, 1);
    if (!args) return VAL_NULL;
    return exc_new(vm, t, args);
}

static void exc_trace(EddyVM *vm, Obj *self) {
    ExceptionObject *e = (ExceptionObject *)self;
    gc_mark_obj(vm, (Obj *)e->dict);
    gc_mark_obj(vm, (Obj *)e->args);
    gc_mark_value(vm, e->traceback);
    gc_mark_value(vm, e->cause);
    gc_mark_value(vm, e->context);
    gc_mark_value(vm, e->notes);
    gc_mark_value(vm, e->suggestion);
}

// An attribute assigned explicitly (kept in __dict__), or V_NULL.
static Value stored(EddyVM *vm, Value self, const char *name) {
    ExceptionObject *e = EXCO(self);
    if (!e->dict) return VAL_NULL;
    StrObject *k = str_intern_cstr(vm, name);
    return k ? dict_get_str(e->dict, k) : VAL_NULL;
}

static int store(EddyVM *vm, Value self, const char *name, Value v) {
    ExceptionObject *e = EXCO(self);
    if (!e->dict && !(e->dict = dict_new(vm))) return -1;
    StrObject *k = str_intern_cstr(vm, name);
    if (!k) return -1;
    if (IS_NULL(v)) {
        dict_del_str(vm, e->dict, k);
        return 0;
    }
    return dict_set_str(vm, e->dict, k, v);
}

static Value arg_or_none(ExceptionObject *e, size_t i) {
    return e->args && i < e->args->len ? e->args->items[i] : VAL_NONE;
}

// ---------------------------------------------------------------------------
// BaseException

static int check_exc_self(EddyVM *vm, Value *a, int n, const char *name) {
    if (n < 1 || !is_exception(vm, a[0])) {
        vm_raise(vm, vm->exc_TypeError,
                 "descriptor '%s' requires a 'BaseException' object but "
                 "received a '%s'",
                 name, n < 1 ? "nothing" : vm_type_name(vm, a[0]));
        return -1;
    }
    return 0;
}

static Value exc_new_slot(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    TupleObject *tup = tuple_from(vm, args, (size_t)nargs);
    if (!tup) return VAL_NULL;
    return exc_new(vm, t, tup);
}

static Value be_init(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (check_exc_self(vm, a, n, "__init__") < 0) return VAL_NULL;
    if (k && k->len)
        return vm_raise(vm, vm->exc_TypeError, "%s() takes no keyword arguments",
                        vm_type_name(vm, a[0]));
    TupleObject *tup = tuple_from(vm, a + 1, (size_t)(n - 1));
    if (!tup) return VAL_NULL;
    EXCO(a[0])->args = tup;
    return VAL_NONE;
}

static Value exc_str(EddyVM *vm, Value self) {
    TupleObject *args = EXCO(self)->args;
    if (!args || args->len == 0) return v_obj(vm->names.empty);
    if (args->len == 1) return vm_str(vm, args->items[0]);
    return vm_str(vm, v_obj(args));
}

static Value exc_repr(EddyVM *vm, Value self) {
    TupleObject *args = EXCO(self)->args;
    const char *name = vm_type_name(vm, self);
    StrObject *s;
    if (!args || args->len == 0)
        s = str_format(vm, "%s()", name);
    else if (args->len == 1)
        s = str_format(vm, "%s(%R)", name, args->items[0]);
    else
        s = str_format(vm, "%s%R", name, v_obj(args));
    return s ? v_obj(s) : VAL_NULL;
}

static Value be_get_args(EddyVM *vm, Value *a, int n, TupleObject *k) {
    TupleObject *args = EXCO(a[0])->args;
    return v_obj(args ? args : vm->empty_tuple);
}
static Value be_set_args(EddyVM *vm, Value *a, int n, TupleObject *k) {
    Value t = vm_sequence_to_tuple(vm, a[1]);
    if (IS_NULL(t)) return t;
    EXCO(a[0])->args = AS_TUPLE(t);
    return VAL_NONE;
}
static Value be_get_tb(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return EXCO(a[0])->traceback;
}
static Value be_set_tb(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (!IS_NONE(a[1]) && !is_exact(a[1], vm->t_traceback))
        return vm_raise(vm, vm->exc_TypeError, "__traceback__ must be a traceback or None");
    EXCO(a[0])->traceback = a[1];
    return VAL_NONE;
}
static Value be_get_cause(EddyVM *vm, Value *a, int n, TupleObject *k) { return EXCO(a[0])->cause; }
static Value be_set_cause(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (!IS_NONE(a[1]) && !is_exception(vm, a[1]))
        return vm_raise(vm, vm->exc_TypeError,
                        "exception cause must be None or derive from BaseException");
    EXCO(a[0])->cause = a[1];
    EXCO(a[0])->suppress_context = true;
    return VAL_NONE;
}
static Value be_get_context(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return EXCO(a[0])->context;
}
static Value be_set_context(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (!IS_NONE(a[1]) && !is_exception(vm, a[1]))
        return vm_raise(vm, vm->exc_TypeError,
                        "exception context must be None or derive from BaseException");
    EXCO(a[0])->context = a[1];
    return VAL_NONE;
}
static Value be_get_suppress(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_bool(EXCO(a[0])->suppress_context);
}
static Value be_set_suppress(EddyVM *vm, Value *a, int n, TupleObject *k) {
    int t = vm_truthy(vm, a[1]);
    if (t < 0) return VAL_NULL;
    EXCO(a[0])->suppress_context = t;
    return VAL_NONE;
}
static Value be_get_notes(EddyVM *vm, Value *a, int n, TupleObject *k) {
    Value notes = EXCO(a[0])->notes;
    if (IS_NULL(notes))
        return vm_raise(vm, vm->exc_AttributeError, "'%s' object has no attribute '__notes__'",
                        vm_type_name(vm, a[0]));
    return notes;
}
static Value be_set_notes(EddyVM *vm, Value *a, int n, TupleObject *k) {
    EXCO(a[0])->notes = a[1];
    return VAL_NONE;
}
static Value be_del_notes(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (IS_NULL(EXCO(a[0])->notes))
        return vm_raise(vm, vm->exc_AttributeError, "'%s' object has no attribute '__notes__'",
                        vm_type_name(vm, a[0]));
    EXCO(a[0])->notes = VAL_NULL;
    return VAL_NONE;
}

// `del e.__notes__` works as in CPython, where the notes live in __dict__:
// give the property a deleter (property.deleter() returns the new one).
static int add_notes_deleter(EddyVM *vm, TypeObject *t) {
    StrObject *key = str_intern_cstr(vm, "__notes__"), *deleter = str_intern_cstr(vm, "deleter");
    if (!key || !deleter) return -1;
    Value prop = dict_get_str(t->dict, key);
    NativeFunctionObject *fn = native_new(vm, "__notes__", be_del_notes, VAL_NULL, 0);
    if (IS_NULL(prop) || !fn || vm_push_root(vm, v_obj(fn)) < 0) return -1;
    Value with_del = vm_call_method(vm, prop, deleter, (Value[]){v_obj(fn)}, 1);
    vm_pop_roots(vm, 1);
    if (IS_NULL(with_del)) return -1;
    return dict_set_str(vm, t->dict, key, with_del);
}

static Value be_with_traceback(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (check_exc_self(vm, a, n, "with_traceback") < 0) return VAL_NULL;
    if (n != 2)
        return vm_raise(vm, vm->exc_TypeError,
                        "BaseException.with_traceback() takes exactly one "
                        "argument (%d given)",
                        n - 1);
    Value args[2] = {a[0], a[1]};
    if (IS_NULL(be_set_tb(vm, args, 2, NULL))) return VAL_NULL;
    return a[0];
}

static Value be_add_note(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (check_exc_self(vm, a, n, "add_note") < 0) return VAL_NULL;
    if (n != 2)
        return vm_raise(vm, vm->exc_TypeError,
                        "BaseException.add_note() takes exactly one "
                        "argument (%d given)",
                        n - 1);
    if (!is_str(vm, a[1]))
        return vm_raise(vm, vm->exc_TypeError, "note must be a str, not '%s'",
                        vm_type_name(vm, a[1]));
    ExceptionObject *e = EXCO(a[0]);
    if (IS_NULL(e->notes)) {
        ListObject *l = list_new(vm, 1);
        if (!l) return VAL_NULL;
        e->notes = v_obj(l);
    }
    if (!is_exact(e->notes, vm->t_list) &&
        !(IS_OBJ(e->notes) && (OBJ_TYPE(AS_OBJ(e->notes))->flags & TPF_LIST_SUBCLASS)))
        return vm_raise(vm, vm->exc_TypeError, "Cannot add note: __notes__ is not a list");
    if (list_append(vm, AS_LIST(e->notes), a[1]) < 0) return VAL_NULL;
    return VAL_NONE;
}

static Value be_reduce(EddyVM *vm, Value *a, int n, TupleObject *k) {
    ExceptionObject *e = EXCO(a[0]);
    Value items[3] = {v_obj(vm_type_of(vm, a[0])), v_obj(e->args ? e->args : vm->empty_tuple),
                      e->dict ? v_obj(e->dict) : VAL_NONE};
    TupleObject *t = tuple_from(vm, items, e->dict ? 3 : 2);
    return t ? v_obj(t) : VAL_NULL;
}

// ---------------------------------------------------------------------------
// Specialised exceptions

static Value keyerror_str(EddyVM *vm, Value self) {
    TupleObject *args = EXCO(self)->args;
    if (args && args->len == 1) return vm_repr(vm, args->items[0]);
    return exc_str(vm, self);
}

static Value stopiteration_value(EddyVM *vm, Value *a, int n, TupleObject *k) {
    Value v = stored(vm, a[0], "value");
    return IS_NULL(v) ? arg_or_none(EXCO(a[0]), 0) : v;
}
static Value stopiteration_set_value(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return store(vm, a[0], "value", a[1]) < 0 ? VAL_NULL : VAL_NONE;
}

static Value systemexit_code(EddyVM *vm, Value *a, int n, TupleObject *k) {
    Value v = stored(vm, a[0], "code");
    if (!IS_NULL(v)) return v;
    TupleObject *args = EXCO(a[0])->args;
    if (!args || args->len == 0) return VAL_NONE;
    if (args->len == 1) return args->items[0];
    return v_obj(args);
}
static Value systemexit_set_code(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return store(vm, a[0], "code", a[1]) < 0 ? VAL_NULL : VAL_NONE;
}

// Keyword-accepting __init__ of ImportError (name, path), NameError (name)
// and AttributeError (name, obj).
static Value kw_init(EddyVM *vm, Value *a, int n, TupleObject *k, const char *const *allowed,
                     int nallowed) {
    if (check_exc_self(vm, a, n, "__init__") < 0) return VAL_NULL;
    TupleObject *tup = tuple_from(vm, a + 1, (size_t)(n - 1));
    if (!tup) return VAL_NULL;
    EXCO(a[0])->args = tup;
    size_t nkw = k ? k->len : 0;
    for (size_t i = 0; i < nkw; i++) {
        StrObject *kn = AS_STR(k->items[i]);
        int j = 0;
        while (j < nallowed && strcmp(kn->data, allowed[j]) != 0) j++;
        if (j == nallowed)
            return vm_raise(vm, vm->exc_TypeError, "'%U' is an invalid keyword argument for %s()",
                            kn, vm_type_name(vm, a[0]));
        if (store(vm, a[0], allowed[j], a[n + i]) < 0) return VAL_NULL;
    }
    return VAL_NONE;
}
static Value importerror_init(EddyVM *vm, Value *a, int n, TupleObject *k) {
    // 1. Create every class (not ready yet), bases first.
    static const char *const names[] = {"name", "path"};
    return kw_init(vm, a, n, k, names, 2);
}
static Value nameerror_init(EddyVM *vm, Value *a, int n, TupleObject *k) {
    static const char *const names[] = {"name"};
    return kw_init(vm, a, n, k, names, 1);
}
static Value attributeerror_init(EddyVM *vm, Value *a, int n, TupleObject *k) {
    static const char *const names[] = {"name", "obj"};
    return kw_init(vm, a, n, k, names, 2);
}

#define STORED_ATTR(fname, attr)                                                                   \
    static Value get_##fname(EddyVM *vm, Value *a, int n, TupleObject *k) {                        \
        Value v = stored(vm, a[0], attr);                                                          \
        return IS_NULL(v) ? VAL_NONE : v;                                                          \
    }                                                                                              \
    static Value set_##fname(EddyVM *vm, Value *a, int n, TupleObject *k) {                        \
        return store(vm, a[0], attr, a[1]) < 0 ? VAL_NULL : VAL_NONE;                              \
    }
STORED_ATTR(name, "name")
STORED_ATTR(path, "path")
STORED_ATTR(obj, "obj")
STORED_ATTR(filename, "filename")
STORED_ATTR(filename2, "filename2")

static Value importerror_msg(EddyVM *vm, Value *a, int n, TupleObject *k) {
    Value v = stored(vm, a[0], "msg");
    if (!IS_NULL(v)) return v;
    TupleObject *args = EXCO(a[0])->args;
    return args && args->len == 1 ? args->items[0] : VAL_NONE;
}
static Value importerror_set_msg(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return store(vm, a[0], "msg", a[1]) < 0 ? VAL_NULL : VAL_NONE;
}

// OSError: (errno, strerror[, filename[, winerror[, filename2]]]). As in
// CPython, args keeps only (errno, strerror) when a filename is given.
static TypeObject *errno_subclass(EddyVM *vm, int64_t err) {
    switch (err) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EALREADY:
    case EINPROGRESS: return vm->exc_BlockingIOError;
    case ECHILD: return vm->exc_ChildProcessError;
    case EPIPE:
    case ESHUTDOWN: return vm->exc_BrokenPipeError;
    case ECONNABORTED: return vm->exc_ConnectionAbortedError;
    case ECONNREFUSED: return vm->exc_ConnectionRefusedError;
    case ECONNRESET: return vm->exc_ConnectionResetError;
    case EEXIST: return vm->exc_FileExistsError;
    case ENOENT: return vm->exc_FileNotFoundError;
    case EISDIR: return vm->exc_IsADirectoryError;
    case ENOTDIR: return vm->exc_NotADirectoryError;
    case EINTR: return vm->exc_InterruptedError;
    case EACCES:
    case EPERM: return vm->exc_PermissionError;
    case ESRCH: return vm->exc_ProcessLookupError;
    case ETIMEDOUT: return vm->exc_TimeoutError;
    default: return NULL;
    }
}

static int oserror_fill(EddyVM *vm, Value self, Value *args, int nargs) {
    if (nargs >= 3 && nargs <= 5) {
        if (store(vm, self, "filename", args[2]) < 0) return -1;
        if (nargs == 5 && store(vm, self, "filename2", args[4]) < 0) return -1;
        TupleObject *t = tuple_from(vm, args, 2);
        if (!t) return -1;
        EXCO(self)->args = t;
    }
    return 0;
}

static Value oserror_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    if (t == vm->exc_OSError && nargs >= 2 && nargs <= 5 && IS_INT(args[0])) {
        TypeObject *sub = errno_subclass(vm, AS_INT(args[0]));
        if (sub) t = sub;
    }
    Value e = exc_new_slot(vm, t, args, nargs, kw);
    if (IS_NULL(e) || oserror_fill(vm, e, args, nargs) < 0) return VAL_NULL;
    return e;
}

static Value oserror_init(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (check_exc_self(vm, a, n, "__init__") < 0) return VAL_NULL;
    if (k && k->len)
        return vm_raise(vm, vm->exc_TypeError, "%s() takes no keyword arguments",
                        vm_type_name(vm, a[0]));
    TupleObject *tup = tuple_from(vm, a + 1, (size_t)(n - 1));
    if (!tup) return VAL_NULL;
    EXCO(a[0])->args = tup;
    return oserror_fill(vm, a[0], a + 1, n - 1) < 0 ? VAL_NULL : VAL_NONE;
}

static Value os_errno(EddyVM *vm, Value self) {
    Value v = stored(vm, self, "errno");
    if (!IS_NULL(v)) return v;
    TupleObject *args = EXCO(self)->args;
    return args && args->len == 2 ? args->items[0] : VAL_NONE;
}
static Value os_strerror(EddyVM *vm, Value self) {
    Value v = stored(vm, self, "strerror");
    if (!IS_NULL(v)) return v;
    TupleObject *args = EXCO(self)->args;
    return args && args->len == 2 ? args->items[1] : VAL_NONE;
}
static Value get_errno(EddyVM *vm, Value *a, int n, TupleObject *k) { return os_errno(vm, a[0]); }
static Value set_errno(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return store(vm, a[0], "errno", a[1]) < 0 ? VAL_NULL : VAL_NONE;
}
static Value get_strerror(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return os_strerror(vm, a[0]);
}
static Value set_strerror(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return store(vm, a[0], "strerror", a[1]) < 0 ? VAL_NULL : VAL_NONE;
}

static Value oserror_str(EddyVM *vm, Value self) {
    Value err = os_errno(vm, self), msg = os_strerror(vm, self);
    Value fn = stored(vm, self, "filename"), fn2 = stored(vm, self, "filename2");
    StrObject *s;
    if (!IS_NULL(fn) && !IS_NONE(fn)) {
        if (!IS_NULL(fn2) && !IS_NONE(fn2))
            s = str_format(vm, "[Errno %S] %S: %R -> %R", err, msg, fn, fn2);
        else
            s = str_format(vm, "[Errno %S] %S: %R", err, msg, fn);
    } else if (!IS_NONE(err) && !IS_NONE(msg)) {
        s = str_format(vm, "[Errno %S] %S", err, msg);
    } else {
        return exc_str(vm, self);
    }
    return s ? v_obj(s) : VAL_NULL;
}

// SyntaxError(msg, (filename, lineno, offset, text[, end_lineno, end_offset]))
static Value syntax_field(EddyVM *vm, Value self, const char *name, int index) {
    Value v = stored(vm, self, name);
    if (!IS_NULL(v)) return v;
    ExceptionObject *e = EXCO(self);
    if (index < 0) return arg_or_none(e, 0);
    if (e->args && e->args->len == 2) {
        Value info = e->args->items[1];
        if (IS_OBJ(info) && (OBJ_TYPE(AS_OBJ(info))->flags & TPF_TUPLE_SUBCLASS)) {
            TupleObject *t = AS_TUPLE(info);
            if ((size_t)index < t->len) return t->items[index];
        }
    }
    return VAL_NONE;
}

#define SYNTAX_ATTR(fname, index)                                                                  \
    static Value get_se_##fname(EddyVM *vm, Value *a, int n, TupleObject *k) {                     \
        return syntax_field(vm, a[0], #fname, index);                                              \
    }                                                                                              \
    static Value set_se_##fname(EddyVM *vm, Value *a, int n, TupleObject *k) {                     \
        return store(vm, a[0], #fname, a[1]) < 0 ? VAL_NULL : VAL_NONE;                            \
    }
SYNTAX_ATTR(msg, -1)
SYNTAX_ATTR(filename, 0)
SYNTAX_ATTR(lineno, 1)
SYNTAX_ATTR(offset, 2)
SYNTAX_ATTR(text, 3)
SYNTAX_ATTR(end_lineno, 4)
SYNTAX_ATTR(end_offset, 5)
SYNTAX_ATTR(print_file_and_line, 99)

static Value syntaxerror_str(EddyVM *vm, Value self) {
    Value msg = syntax_field(vm, self, "msg", -1);
    Value fn = syntax_field(vm, self, "filename", 0);
    Value line = syntax_field(vm, self, "lineno", 1);
    const char *base = NULL;
    if (is_str(vm, fn)) {
        const char *s = AS_STR(fn)->data, *slash = strrchr(s, '/');
        base = slash ? slash + 1 : s;
    }
    bool have_line = IS_INT(line);
    StrObject *s;
    if (base && have_line)
        s = str_format(vm, "%S (%s, line %lld)", msg, base, (long long)AS_INT(line));
    else if (base)
        s = str_format(vm, "%S (%s)", msg, base);
    else if (have_line)
        s = str_format(vm, "%S (line %lld)", msg, (long long)AS_INT(line));
    else
        return vm_str(vm, msg);
    return s ? v_obj(s) : VAL_NULL;
}

// UnicodeDecodeError(encoding, object, start, end, reason) and
// UnicodeEncodeError(encoding, object, start, end, reason)
static Value unicode_str(EddyVM *vm, Value self) {
    ExceptionObject *e = EXCO(self);
    if (!e->args || e->args->len != 5 || !is_str(vm, e->args->items[0]) ||
        !IS_INT(e->args->items[2]) || !IS_INT(e->args->items[3]))
        return exc_str(vm, self);
    Value enc = e->args->items[0], obj = e->args->items[1], reason = e->args->items[4];
    int64_t start = AS_INT(e->args->items[2]), end = AS_INT(e->args->items[3]);
    bool decode = type_is_subtype(vm_type_of(vm, self), vm->exc_UnicodeDecodeError);
    StrObject *s = NULL;
    if (decode) {
        size_t len = 0;
        const uint8_t *data = is_bytes(vm, obj) ? bytes_data(obj, &len) : NULL;
        if (data && end == start + 1 && start >= 0 && (size_t)start < len)
            s = str_format(vm, "'%U' codec can't decode byte 0x%02x in position %lld: %S",
                           AS_STR(enc), (unsigned)data[start], (long long)start, reason);
        else
            s = str_format(vm, "'%U' codec can't decode bytes in position %lld-%lld: %S",
                           AS_STR(enc), (long long)start, (long long)(end - 1), reason);
    } else {
        if (end == start + 1 && is_str(vm, obj)) {
            Value ch = str_getitem_index(vm, AS_STR(obj), start);
            if (IS_NULL(ch)) return ch;
            const unsigned char *p = (const unsigned char *)AS_STR(ch)->data;
            uint32_t cp = p[0];
            if (cp >= 0xF0)
                cp = ((cp & 7u) << 18) | ((p[1] & 63u) << 12) | ((p[2] & 63u) << 6) | (p[3] & 63u);
            else if (cp >= 0xE0)
                cp = ((cp & 15u) << 12) | ((p[1] & 63u) << 6) | (p[2] & 63u);
            else if (cp >= 0xC0)
                cp = ((cp & 31u) << 6) | (p[1] & 63u);
            const char *fmt =
                cp < 0x100     ? "'%U' codec can't encode character '\\x%02x' in position %lld: %S"
                : cp < 0x10000 ? "'%U' codec can't encode character '\\u%04x' in position %lld: %S"
                               : "'%U' codec can't encode character '\\U%08x' in position %lld: %S";
            s = str_format(vm, fmt, AS_STR(enc), (unsigned)cp, (long long)start, reason);
        } else {
            s = str_format(vm, "'%U' codec can't encode characters in position %lld-%lld: %S",
                           AS_STR(enc), (long long)start, (long long)(end - 1), reason);
        }
    }
    return s ? v_obj(s) : VAL_NULL;
}

#define UNICODE_ATTR(fname, index)                                                                 \
    static Value get_ue_##fname(EddyVM *vm, Value *a, int n, TupleObject *k) {                     \
        Value v = stored(vm, a[0], #fname);                                                        \
        if (!IS_NULL(v)) return v;                                                                 \
        ExceptionObject *e = EXCO(a[0]);                                                           \
        return e->args && e->args->len == 5 ? e->args->items[index] : VAL_NONE;                    \
    }                                                                                              \
    static Value set_ue_##fname(EddyVM *vm, Value *a, int n, TupleObject *k) {                     \
        return store(vm, a[0], #fname, a[1]) < 0 ? VAL_NULL : VAL_NONE;                            \
    }
UNICODE_ATTR(encoding, 0)
UNICODE_ATTR(object, 1)
UNICODE_ATTR(start, 2)
UNICODE_ATTR(end, 3)
UNICODE_ATTR(reason, 4)

// ---------------------------------------------------------------------------
// BaseExceptionGroup / ExceptionGroup

static Value eg_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    if (kw && kw->len)
        return vm_raise(vm, vm->exc_TypeError, "%U() takes no keyword arguments", t->name);
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError,
                        "BaseExceptionGroup.__new__() takes exactly 2 arguments (%d given)", nargs);
    if (!is_str(vm, args[0]))
        return vm_raise(vm, vm->exc_TypeError,
                        "BaseExceptionGroup.__new__() argument 1 must be str, not %s",
                        vm_type_name(vm, args[0]));
    Value seq = args[1];
    TypeObject *st = vm_type_of(vm, seq);
    if (!st->getitem || !st->len || (st->flags & TPF_DICT_SUBCLASS) || st == vm->t_set ||
        st == vm->t_frozenset)
        return vm_raise(vm, vm->exc_TypeError, "second argument (exceptions) must be a sequence");
    Value excs = vm_sequence_to_tuple(vm, seq);
    if (IS_NULL(excs)) return excs;
    if (vm_push_root(vm, excs) < 0) return VAL_NULL;
    TupleObject *et = AS_TUPLE(excs);
    Value result = VAL_NULL;
    if (et->len == 0) {
        vm_raise(vm, vm->exc_ValueError,
                 "second argument (exceptions) must be a non-empty sequence");
        goto done;
    }
    bool all_exceptions = true;
    for (size_t i = 0; i < et->len; i++) {
        if (!is_exception(vm, et->items[i])) {
            vm_raise(vm, vm->exc_ValueError,
                     "Item %zu of second argument (exceptions) is not an "
                     "exception",
                     i);
            goto done;
        }
        if (!type_is_subtype(vm_type_of(vm, et->items[i]), vm->exc_Exception))
            all_exceptions = false;
    }
    if (t == vm->exc_BaseExceptionGroup) {
        if (all_exceptions) t = vm->exc_ExceptionGroup;
    } else if (type_is_subtype(t, vm->exc_Exception) && !all_exceptions) {
        if (t == vm->exc_ExceptionGroup)
            vm_raise(vm, vm->exc_TypeError, "Cannot nest BaseExceptions in an ExceptionGroup");
        else
            vm_raise(vm, vm->exc_TypeError, "Cannot nest BaseExceptions in '%U'", t->name);
        goto done;
    }
    TupleObject *tup = tuple_from(vm, args, 2);
    if (!tup) goto done;
    ExceptionObject *e = exc_alloc(vm, t, tup);
    if (!e) goto done;
    result = v_obj(e);
    StrObject *k1 = str_intern_cstr(vm, "message"), *k2 = str_intern_cstr(vm, "exceptions");
    if (!k1 || !k2 || !(e->dict = dict_new(vm)) || dict_set_str(vm, e->dict, k1, args[0]) < 0 ||
        dict_set_str(vm, e->dict, k2, excs) < 0)
        result = VAL_NULL;
done:
    vm_pop_roots(vm, 1);
    return result;
}

// BaseExceptionGroup.__init__ accepts the constructor's arguments unchanged.
static Value eg_init(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (check_exc_self(vm, a, n, "__init__") < 0) return VAL_NULL;
    if (k && k->len)
        return vm_raise(vm, vm->exc_TypeError, "%s() takes no keyword arguments",
                        vm_type_name(vm, a[0]));
    TupleObject *tup = tuple_from(vm, a + 1, (size_t)(n - 1));
    if (!tup) return VAL_NULL;
    EXCO(a[0])->args = tup;
    return VAL_NONE;
}

static Value eg_field(EddyVM *vm, Value self, const char *name) {
    Value v = stored(vm, self, name);
    return IS_NULL(v) ? VAL_NONE : v;
}

static Value eg_str(EddyVM *vm, Value self) {
    Value msg = eg_field(vm, self, "message"), excs = eg_field(vm, self, "exceptions");
    size_t n = IS_OBJ(excs) && (OBJ_TYPE(AS_OBJ(excs))->flags & TPF_TUPLE_SUBCLASS)
                   ? AS_TUPLE(excs)->len
                   : 0;
    StrObject *s = str_format(vm, "%S (%zu sub-exception%s)", msg, n, n == 1 ? "" : "s");
    return s ? v_obj(s) : VAL_NULL;
}

static Value eg_get_message(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return eg_field(vm, a[0], "message");
}
static Value eg_get_exceptions(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return eg_field(vm, a[0], "exceptions");
}

static bool is_group(EddyVM *vm, Value v) {
    return is_exception(vm, v) && type_is_subtype(vm_type_of(vm, v), vm->exc_BaseExceptionGroup);
}

static bool is_tuple(Value v) {
    return IS_OBJ(v) && (OBJ_TYPE(AS_OBJ(v))->flags & TPF_TUPLE_SUBCLASS);
}

static Value eg_derive(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n != 2)
        return vm_raise(vm, vm->exc_TypeError, "function takes exactly 1 argument (%d given)",
                        n - 1);
    Value args[2] = {eg_field(vm, a[0], "message"), a[1]};
    return eg_new(vm, vm->exc_BaseExceptionGroup, args, 2, NULL);
}

// How a split decides which leaves go to the matching part: split()'s
// condition (an exception type or tuple of them, or a predicate), or, for
// except*, membership in a list of leaves that handlers re-raised.
typedef enum MatcherKind { MATCH_BY_TYPE, MATCH_PREDICATE, MATCH_LEAVES } MatcherKind;
typedef struct Matcher {
    MatcherKind kind;
    Value value; // the type or tuple, the function, or a ListObject of leaves
} Matcher;

// isinstance by type only, as `except` does (no __instancecheck__).
static bool type_matches(EddyVM *vm, Value exc, Value cond) {
    TypeObject *t = vm_type_of(vm, exc);
    if (is_tuple(cond)) {
        TupleObject *tt = AS_TUPLE(cond);
        for (size_t i = 0; i < tt->len; i++)
            if (is_exception_type(vm, tt->items[i]) && type_is_subtype(t, AS_TYPE(tt->items[i])))
                return true;
        return false;
    }
    return is_exception_type(vm, cond) && type_is_subtype(t, AS_TYPE(cond));
}

static int matcher_test(EddyVM *vm, const Matcher *m, Value exc) {
    switch (m->kind) {
    case MATCH_BY_TYPE: return type_matches(vm, exc, m->value);
    case MATCH_PREDICATE: {
        Value r = vm_call1(vm, m->value, exc);
        if (IS_NULL(r) || vm_push_root(vm, r) < 0) return -1;
        int t = vm_truthy(vm, r);
        vm_pop_roots(vm, 1);
        return t;
    }
    case MATCH_LEAVES: {
        if (is_group(vm, exc)) return 0; // groups are rebuilt around their leaves
        ListObject *l = AS_LIST(m->value);
        for (size_t i = 0; i < l->len; i++)
            if (v_is(l->items[i], exc)) return 1;
        return 0;
    }
    }
    return 0;
}

static int matcher_of(EddyVM *vm, Value cond, Matcher *m) {
    m->value = cond;
    // Only a Python function is a predicate: not a builtin, a bound method
    // or another callable object, as in CPython.
    if (is_exact(cond, vm->t_function)) {
        m->kind = MATCH_PREDICATE;
        return 0;
    }
    m->kind = MATCH_BY_TYPE;
    if (is_exception_type(vm, cond)) return 0;
    if (is_exact(cond, vm->t_tuple)) {
        TupleObject *t = AS_TUPLE(cond);
        size_t i = 0;
        while (i < t->len && is_exception_type(vm, t->items[i])) i++;
        if (i == t->len) return 0;
    }
    vm_raise(vm, vm->exc_TypeError,
             "expected a function, exception type or tuple of exception types");
    return -1;
}

// A part of `from` rebuilt by derive() carries its traceback, cause, context
// and a copy of its notes (so the parts' notes are independent). Setting the
// cause suppresses the context, as assigning __cause__ does.
static int copy_meta(EddyVM *vm, Value from, Value to) {
    ExceptionObject *f = EXCO(from), *t = EXCO(to);
    t->traceback = f->traceback;
    t->context = f->context;
    t->cause = f->cause;
    t->suppress_context = true;
    Value notes = f->notes;
    if (IS_NULL(notes)) return 0;
    TypeObject *nt = vm_type_of(vm, notes);
    if (!nt->getitem || (nt->flags & TPF_DICT_SUBCLASS)) return 0; // not a sequence: dropped
    ListObject *l = list_new(vm, 0);
    if (!l) return -1;
    t->notes = v_obj(l); // reachable through `to`, which the caller roots
    return list_extend(vm, l, notes);
}

// The C recursion over nested groups is bounded like other C-recursive
// helpers (vm->c_depth); `where` names the place as CPython's message does.
static bool enter_nested(EddyVM *vm, const char *where) {
    uint32_t limit = vm->recursion_limit ? vm->recursion_limit : 1000;
    if (limit > 10000) limit = 10000;
    if (++vm->c_depth > limit) {
        vm->c_depth--;
        vm_raise(vm, vm->exc_RecursionError, "maximum recursion depth exceeded in %s", where);
        return false;
    }
    return true;
}

// One side of a split group: eg.derive(excs) plus eg's metadata.
static Value derive_part(EddyVM *vm, Value eg, ListObject *excs) {
    StrObject *name = str_intern_cstr(vm, "derive");
    if (!name) return VAL_NULL;
    Value part = vm_call_method(vm, eg, name, (Value[]){v_obj(excs)}, 1);
    if (IS_NULL(part)) return part;
    if (!is_group(vm, part))
        return vm_raise(vm, vm->exc_TypeError,
                        "derive must return an instance of BaseExceptionGroup");
    if (vm_push_root(vm, part) < 0) return VAL_NULL;
    int rc = copy_meta(vm, eg, part);
    vm_pop_roots(vm, 1);
    return rc < 0 ? VAL_NULL : part;
}

// Split exc into its matching and non-matching parts (None when empty). A
// whole match is kept intact; otherwise a group's children are split in
// turn and each side rebuilt with derive_part(). -1 on error.
static int split_rec(EddyVM *vm, Value exc, const Matcher *m, bool want_rest, Value *match,
                     Value *rest) {
    *match = *rest = VAL_NONE;
    int r = matcher_test(vm, m, exc);
    if (r < 0) return -1;
    if (r) {
        *match = exc;
        return 0;
    }
    Value excs = is_group(vm, exc) ? eg_field(vm, exc, "exceptions") : VAL_NONE;
    if (!is_tuple(excs)) {
        if (want_rest) *rest = exc;
        return 0;
    }
    if (!enter_nested(vm, "exceptiongroup_split_recursive")) return -1;
    int status = -1;
    size_t nroots = 0;
    ListObject *ml = list_new(vm, 0);
    if (!ml || vm_push_root(vm, v_obj(ml)) < 0) goto done;
    nroots++;
    ListObject *rl = list_new(vm, 0);
    if (!rl || vm_push_root(vm, v_obj(rl)) < 0) goto done;
    nroots++;
    TupleObject *et = AS_TUPLE(excs);
    for (size_t i = 0; i < et->len; i++) {
        Value sm, sr;
        if (split_rec(vm, et->items[i], m, want_rest, &sm, &sr) < 0) goto done;
        // No script code runs between the child's result and these appends.
        if (!IS_NONE(sm) && list_append(vm, ml, sm) < 0) goto done;
        if (!IS_NONE(sr) && list_append(vm, rl, sr) < 0) goto done;
    }
    if (ml->len) {
        Value part = derive_part(vm, exc, ml);
        if (IS_NULL(part)) goto done;
        *match = part;
        // Keep the match alive while derive() runs for the rest.
        if (vm_push_root(vm, part) < 0) goto done;
        nroots++;
    }
    if (want_rest && rl->len) {
        Value part = derive_part(vm, exc, rl);
        if (IS_NULL(part)) goto done;
        *rest = part;
    }
    status = 0;
done:
    vm_pop_roots(vm, nroots);
    vm->c_depth--;
    return status;
}

static Value eg_split(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n != 2) return vm_raise(vm, vm->exc_TypeError, "split expected 1 argument, got %d", n - 1);
    Matcher m;
    if (matcher_of(vm, a[1], &m) < 0) return VAL_NULL;
    Value match, rest;
    if (split_rec(vm, a[0], &m, true, &match, &rest) < 0) return VAL_NULL;
    TupleObject *t = tuple_from(vm, (Value[]){match, rest}, 2);
    return t ? v_obj(t) : VAL_NULL;
}

static Value eg_subgroup(EddyVM *vm, Value *a, int n, TupleObject *k) {
    if (n != 2)
        return vm_raise(vm, vm->exc_TypeError, "subgroup expected 1 argument, got %d", n - 1);
    Matcher m;
    if (matcher_of(vm, a[1], &m) < 0) return VAL_NULL;
    Value match, rest;
    if (split_rec(vm, a[0], &m, false, &match, &rest) < 0) return VAL_NULL;
    return match;
}

// ---------------------------------------------------------------------------
// except* support (CHECK_EG_MATCH and PREP_RERAISE_STAR in vm/interp.c)

// The type of `except* T` must be an exception class or a tuple of them, and
// none of them an exception group.
static int check_star_type(EddyVM *vm, Value type) {
    bool tuple = is_tuple(type);
    size_t n = tuple ? AS_TUPLE(type)->len : 1;
    for (size_t i = 0; i < n; i++)
        if (!is_exception_type(vm, tuple ? AS_TUPLE(type)->items[i] : type)) {
            vm_raise(vm, vm->exc_TypeError,
                     "catching classes that do not inherit from BaseException is not allowed");
            return -1;
        }
    for (size_t i = 0; i < n; i++)
        if (type_is_subtype(AS_TYPE(tuple ? AS_TUPLE(type)->items[i] : type),
                            vm->exc_BaseExceptionGroup)) {
            vm_raise(vm, vm->exc_TypeError,
                     "catching ExceptionGroup with except* is not allowed. Use except instead.");
            return -1;
        }
    return 0;
}

int exc_group_match(EddyVM *vm, Value exc, Value type, Value *match, Value *rest) {
    if (check_star_type(vm, type) < 0) return -1;
    *match = VAL_NONE;
    *rest = exc;
    if (IS_NONE(exc)) return 0; // an earlier clause took everything
    if (type_matches(vm, exc, type)) {
        *rest = VAL_NONE;
        if (is_group(vm, exc)) {
            *match = exc;
            return 0;
        }
        // A naked exception is handled as a group of one.
        TupleObject *one = tuple_from(vm, &exc, 1);
        if (!one || vm_push_root(vm, v_obj(one)) < 0) return -1;
        Value args[2] = {v_obj(vm->names.empty), v_obj(one)};
        *match = eg_new(vm, vm->exc_BaseExceptionGroup, args, 2, NULL);
        vm_pop_roots(vm, 1);
        return IS_NULL(*match) ? -1 : 0;
    }
    if (!is_group(vm, exc)) return 0;
    StrObject *name = str_intern_cstr(vm, "split");
    if (!name) return -1;
    Value pair = vm_call_method(vm, exc, name, &type, 1);
    if (IS_NULL(pair)) return -1;
    if (!is_exact(pair, vm->t_tuple) || AS_TUPLE(pair)->len != 2) {
        vm_raise(vm, vm->exc_TypeError, "%s.split must return a 2-tuple, got %s",
                 vm_type_name(vm, exc), vm_type_name(vm, pair));
        return -1;
    }
    *match = AS_TUPLE(pair)->items[0];
    if (!IS_NONE(*match)) *rest = AS_TUPLE(pair)->items[1];
    return 0;
}

// Leaves of exc (itself unless it is a group), appended to out.
static int collect_leaves(EddyVM *vm, Value exc, ListObject *out) {
    if (IS_NONE(exc)) return 0;
    Value excs = is_group(vm, exc) ? eg_field(vm, exc, "exceptions") : VAL_NONE;
    if (!is_tuple(excs)) return list_append(vm, out, exc);
    if (!enter_nested(vm, "collect_exception_group_leaf_ids")) return -1;
    int rc = 0;
    TupleObject *t = AS_TUPLE(excs);
    for (size_t i = 0; i < t->len && rc == 0; i++) rc = collect_leaves(vm, t->items[i], out);
    vm->c_depth--;
    return rc;
}

// Same traceback, cause and context: a part of orig that a handler let go
// or re-raised with a bare `raise` (which adds no traceback entry).
static bool same_metadata(Value a, Value b) {
    ExceptionObject *x = EXCO(a), *y = EXCO(b);
    return v_is(x->traceback, y->traceback) && v_is(x->cause, y->cause) &&
           v_is(x->context, y->context);
}

Value exc_prep_reraise_star(EddyVM *vm, Value orig, Value excs) {
    ListObject *all = AS_LIST(excs);
    if (all->len == 0) return VAL_NONE;
    // A naked exception: only one clause can have run.
    if (!is_group(vm, orig)) return all->items[0];
    ListObject *raised = list_new(vm, 0);
    if (!raised || vm_push_root(vm, v_obj(raised)) < 0) return VAL_NULL;
    ListObject *kept = list_new(vm, 0);
    if (!kept || vm_push_root(vm, v_obj(kept)) < 0) {
        vm_pop_roots(vm, 1);
        return VAL_NULL;
    }
    Value result = VAL_NULL;
    for (size_t i = 0; i < all->len; i++) {
        Value e = all->items[i];
        if (IS_NONE(e)) continue;
        if (is_exception(vm, e) && same_metadata(e, orig)) {
            if (collect_leaves(vm, e, kept) < 0) goto done;
        } else if (list_append(vm, raised, e) < 0) {
            goto done;
        }
    }
    // What is re-raised of orig keeps orig's shape: the projection of orig
    // onto the kept leaves.
    Value reraised = VAL_NONE, ignored;
    if (kept->len) {
        Matcher m = {MATCH_LEAVES, v_obj(kept)};
        if (split_rec(vm, orig, &m, false, &reraised, &ignored) < 0) goto done;
    }
    if (raised->len == 0) {
        result = reraised;
        goto done;
    }
    if (!IS_NONE(reraised) && list_append(vm, raised, reraised) < 0) goto done;
    if (raised->len == 1) {
        result = raised->items[0];
        goto done;
    }
    Value args[2] = {v_obj(vm->names.empty), v_obj(raised)};
    result = eg_new(vm, vm->exc_BaseExceptionGroup, args, 2, NULL);
done:
    vm_pop_roots(vm, 2);
    return result;
}

static Value eg_class_getitem(EddyVM *vm, Value *a, int n, TupleObject *k) { return a[0]; }

// ---------------------------------------------------------------------------

typedef struct Attr {
    const char *name;
    NativeFn get, set;
} Attr;

static int add_attrs(EddyVM *vm, TypeObject *t, const Attr *attrs, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (type_add_property(vm, t, attrs[i].name, attrs[i].get, attrs[i].set) < 0) return -1;
    return 0;
}

static TypeObject *make_exc_type(EddyVM *vm, const char *name, TypeObject *base) {
    TypeObject *t = (TypeObject *)obj_alloc(vm, vm->t_type, sizeof(TypeObject));
    if (!t) return NULL;
    t->hdr.gc_pinned = 1;
    if (!(t->name = str_intern_cstr(vm, name))) return NULL;
    t->qualname = t->name;
    t->module = vm->names.builtins;
    if (!type_new_builtin(vm, t, base ? base : vm->t_object, sizeof(ExceptionObject),
                          TPF_BASETYPE | TPF_EXC_SUBCLASS))
        return NULL;
    t->dict_offset = (int32_t)offsetof(ExceptionObject, dict);
    t->layout = vm->exc_BaseException ? vm->exc_BaseException : t;
    return t;
}

int exc_init_types(EddyVM *vm) {
    // 1. Create every class (not ready yet), bases first.
    static const char *const names[] = {
#define EXC(name, base) #name,
#include "exceptions.def"
#undef EXC
    };
    static const char *const bases[] = {
#define EXC(name, base) #base,
#include "exceptions.def"
#undef EXC
    };
    TypeObject **fields[] = {
#define EXC(name, base) &vm->exc_##name,
#include "exceptions.def"
#undef EXC
    };
    size_t count = sizeof(names) / sizeof(names[0]);
    for (size_t i = 0; i < count; i++) {
        TypeObject *base = NULL;
        if (strcmp(bases[i], "_") != 0) {
            for (size_t j = 0; j < i; j++)
                if (strcmp(names[j], bases[i]) == 0) base = *fields[j];
            if (!base) return -1; // exceptions.def lists bases first: cannot happen
        }
        if (!(*fields[i] = make_exc_type(vm, names[i], base))) return -1;
    }

    // 2. BaseException: slots and methods, inherited by everything below.
    TypeObject *be = vm->exc_BaseException;
    be->trace = exc_trace;
    be->new_ = exc_new_slot;
    be->repr = exc_repr;
    be->str = exc_str;
    static const Attr be_attrs[] = {
        {"args", be_get_args, be_set_args},
        {"__traceback__", be_get_tb, be_set_tb},
        {"__cause__", be_get_cause, be_set_cause},
        {"__context__", be_get_context, be_set_context},
        {"__suppress_context__", be_get_suppress, be_set_suppress},
        {"__notes__", be_get_notes, be_set_notes},
    };
    if (add_attrs(vm, be, be_attrs, sizeof(be_attrs) / sizeof(be_attrs[0])) < 0 ||
        add_notes_deleter(vm, be) < 0 ||
        type_add_method(vm, be, "__init__", be_init, NATIVE_METHOD) < 0 ||
        type_add_method(vm, be, "with_traceback", be_with_traceback, NATIVE_METHOD) < 0 ||
        type_add_method(vm, be, "add_note", be_add_note, NATIVE_METHOD) < 0 ||
        type_add_method(vm, be, "__reduce__", be_reduce, NATIVE_METHOD) < 0)
        return -1;

    // 3. The specialised ones.
    vm->exc_KeyError->str = keyerror_str;
    static const Attr si_attrs[] = {{"value", stopiteration_value, stopiteration_set_value}};
    static const Attr se_attrs[] = {{"code", systemexit_code, systemexit_set_code}};
    if (add_attrs(vm, vm->exc_StopIteration, si_attrs, 1) < 0 ||
        add_attrs(vm, vm->exc_StopAsyncIteration, si_attrs, 1) < 0 ||
        add_attrs(vm, vm->exc_SystemExit, se_attrs, 1) < 0)
        return -1;

    static const Attr ie_attrs[] = {
        {"name", get_name, set_name},
        {"path", get_path, set_path},
        {"msg", importerror_msg, importerror_set_msg},
    };
    static const Attr ne_attrs[] = {{"name", get_name, set_name}};
    static const Attr ae_attrs[] = {{"name", get_name, set_name}, {"obj", get_obj, set_obj}};
    if (add_attrs(vm, vm->exc_ImportError, ie_attrs, 3) < 0 ||
        type_add_method(vm, vm->exc_ImportError, "__init__", importerror_init, NATIVE_METHOD) < 0 ||
        add_attrs(vm, vm->exc_NameError, ne_attrs, 1) < 0 ||
        type_add_method(vm, vm->exc_NameError, "__init__", nameerror_init, NATIVE_METHOD) < 0 ||
        add_attrs(vm, vm->exc_AttributeError, ae_attrs, 2) < 0 ||
        type_add_method(vm, vm->exc_AttributeError, "__init__", attributeerror_init,
                        NATIVE_METHOD) < 0)
        return -1;

    TypeObject *os = vm->exc_OSError;
    os->new_ = oserror_new;
    os->str = oserror_str;
    static const Attr os_attrs[] = {
        {"errno", get_errno, set_errno},
        {"strerror", get_strerror, set_strerror},
        {"filename", get_filename, set_filename},
        {"filename2", get_filename2, set_filename2},
    };
    if (add_attrs(vm, os, os_attrs, 4) < 0 ||
        type_add_method(vm, os, "__init__", oserror_init, NATIVE_METHOD) < 0)
        return -1;

    TypeObject *sx = vm->exc_SyntaxError;
    sx->str = syntaxerror_str;
    static const Attr sx_attrs[] = {
        {"msg", get_se_msg, set_se_msg},
        {"filename", get_se_filename, set_se_filename},
        {"lineno", get_se_lineno, set_se_lineno},
        {"offset", get_se_offset, set_se_offset},
        {"text", get_se_text, set_se_text},
        {"end_lineno", get_se_end_lineno, set_se_end_lineno},
        {"end_offset", get_se_end_offset, set_se_end_offset},
        {"print_file_and_line", get_se_print_file_and_line, set_se_print_file_and_line},
    };
    if (add_attrs(vm, sx, sx_attrs, sizeof(sx_attrs) / sizeof(sx_attrs[0])) < 0) return -1;

    static const Attr ue_attrs[] = {
        {"encoding", get_ue_encoding, set_ue_encoding}, {"object", get_ue_object, set_ue_object},
        {"start", get_ue_start, set_ue_start},          {"end", get_ue_end, set_ue_end},
        {"reason", get_ue_reason, set_ue_reason},
    };
    vm->exc_UnicodeDecodeError->str = unicode_str;
    vm->exc_UnicodeEncodeError->str = unicode_str;
    if (add_attrs(vm, vm->exc_UnicodeDecodeError, ue_attrs, 5) < 0 ||
        add_attrs(vm, vm->exc_UnicodeEncodeError, ue_attrs, 5) < 0)
        return -1;

    // ExceptionGroup derives from both BaseExceptionGroup and Exception.
    TypeObject *beg = vm->exc_BaseExceptionGroup, *eg = vm->exc_ExceptionGroup;
    beg->new_ = eg_new;
    beg->str = eg_str;
    static const Attr eg_attrs[] = {
        {"message", eg_get_message, NULL},
        {"exceptions", eg_get_exceptions, NULL},
    };
    if (add_attrs(vm, beg, eg_attrs, 2) < 0 ||
        type_add_method(vm, beg, "__init__", eg_init, NATIVE_METHOD) < 0 ||
        type_add_method(vm, beg, "derive", eg_derive, NATIVE_METHOD) < 0 ||
        type_add_method(vm, beg, "split", eg_split, NATIVE_METHOD) < 0 ||
        type_add_method(vm, beg, "subgroup", eg_subgroup, NATIVE_METHOD) < 0 ||
        type_add_method(vm, beg, "__class_getitem__", eg_class_getitem, NATIVE_CLASSMETHOD) < 0)
        return -1;
    eg->bases = tuple_from(vm, (Value[]){v_obj(beg), v_obj(vm->exc_Exception)}, 2);
    if (!eg->bases) return -1;
    eg->base = beg;

    // 4. Ready them all, bases first (exceptions.def order).
    for (size_t i = 0; i < count; i++)
        if (type_ready(vm, *fields[i]) < 0) return -1;

    // The preallocated MemoryError: raising it never needs memory.
    vm->memory_error = exc_new(vm, vm->exc_MemoryError, NULL);
    if (IS_NULL(vm->memory_error)) return -1;
    AS_OBJ(vm->memory_error)->gc_pinned = 1;
    return 0;
}
